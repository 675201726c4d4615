/* ctl_api_approval.c: endpoints for dual control: approval requests, decisions,
 * break-glass. (Being built: no routes yet.) */
#include "ctl_api_internal.h"

const struct api_route api_approval_routes[1] = { { NULL, NULL, NULL, 0 } };
const size_t api_approval_num_routes = 0;

void api_health_warnings(struct api_req *r, json_t *obj) {
  (void)r;
  (void)obj;
}

int api_approval_gate(struct api_req *r, const char *action,
                      const char *tenant_id, const char *identity) {
  (void)r;
  (void)action;
  (void)tenant_id;
  (void)identity;
  return 1;
}
