/* ctl_api_hook.c: endpoints for cache-invalidation hooks (CDN purge templates,
 * webhooks). (Being built: no routes yet.) */
#include "ctl_api_internal.h"

const struct api_route api_hook_routes[1] = { { NULL, NULL, NULL, 0 } };
const size_t api_hook_num_routes = 0;

int api_hook_worker_start(struct ctl_api *api) {
  (void)api;
  return 1;
}

void api_hook_worker_stop(struct ctl_api *api) {
  (void)api;
}
