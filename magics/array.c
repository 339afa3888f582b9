/* array.c — placeholder. */
#include "workspace.h"
