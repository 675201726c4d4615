/* ctl_api_graph.c: endpoints for the credential graph and its blast radius (GET
 * /graph/blast-radius). (Being built: no routes yet.) */
#include "ctl_api_internal.h"

const struct api_route api_graph_routes[1] = { { NULL, NULL, NULL, 0 } };
const size_t api_graph_num_routes = 0;
