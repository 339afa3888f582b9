/* expr.c — placeholder. */
#include "workspace.h"
