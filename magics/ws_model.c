/* ws_model.c — placeholder. */
#include "workspace.h"
