/* cli_access.c: vigilctl commands for brokered access sessions.
 * (Being built: no commands yet.) */
#include "cli_common.h"

const struct cli_cmd cli_access_cmds[1] = { { 0 } };
const size_t cli_access_num_cmds = 0;
