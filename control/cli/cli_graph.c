/* cli_graph.c: vigilctl commands for the credential graph: blast radius
 * (docs/cli.md). (Being built: no commands yet.) */
#include "cli_common.h"

const struct cli_cmd cli_graph_cmds[1] = { { 0 } };
const size_t cli_graph_num_cmds = 0;
