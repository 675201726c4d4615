/* cli_approval.c: vigilctl commands for dual control: approval requests,
 * decisions, break-glass and reconciliation. (Being built: no commands yet.) */
#include "cli_common.h"

const struct cli_cmd cli_approval_cmds[1] = { { 0 } };
const size_t cli_approval_num_cmds = 0;
