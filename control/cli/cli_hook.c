/* cli_hook.c: vigilctl commands for cache-invalidation hooks (CDN purge,
 * webhooks). (Being built: no commands yet.) */
#include "cli_common.h"

const struct cli_cmd cli_hook_cmds[1] = { { 0 } };
const size_t cli_hook_num_cmds = 0;
