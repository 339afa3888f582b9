/* cmd_weights.c — placeholder until its commands land. */
#include "command.h"

const dn_command dn_commands_weights[] = {
    { 0 },
};
