/* ctl_api_access.c: brokered, short-lived privileged access sessions
 * (POST /access/sessions). (Being built: no routes yet.) */
#include "ctl_api_internal.h"

const struct api_route api_access_routes[1] = { { NULL, NULL, NULL, 0 } };
const size_t api_access_num_routes = 0;
