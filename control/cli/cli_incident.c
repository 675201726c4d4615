/* cli_incident.c: vigilctl commands for incident executions and offline
 * evidence-pack verification. (Being built: no commands yet.) */
#include "cli_common.h"

const struct cli_cmd cli_incident_cmds[1] = { { 0 } };
const size_t cli_incident_num_cmds = 0;
