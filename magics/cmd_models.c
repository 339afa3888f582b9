/* cmd_models.c — placeholder until its commands land. */
#include "command.h"

const dn_command dn_commands_models[] = {
    { 0 },
};
