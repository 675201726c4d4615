/* ctl_api_incident.c: endpoints for incident executions: replace-then-revoke
 * with sealed evidence. (Being built: no routes yet.) */
#include "ctl_api_internal.h"

const struct api_route api_incident_routes[1] = { { NULL, NULL, NULL, 0 } };
const size_t api_incident_num_routes = 0;

int api_incident_worker_start(struct ctl_api *api) {
  (void)api;
  return 1;
}

void api_incident_worker_stop(struct ctl_api *api) {
  (void)api;
}
