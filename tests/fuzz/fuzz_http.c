/* fuzz_http.c: libFuzzer target for the edge's request head parser, router
 * and conditional-request logic (edge/http.h, route.h, http_response.h).
 *
 * Parses the input as a stream of pipelined requests with the default
 * limits, and once more with tight limits so the 414/431/413 paths are
 * reached with short inputs. For every OK request it routes the target,
 * runs the 304 decision and writes the answer heads, and checks the
 * invariants the server relies on:
 *   - head_len <= bytes given; every view lies inside the head;
 *   - content_length <= max_body; route views lie inside the target;
 *   - every strict prefix of an accepted head is INCOMPLETE (so a server
 *     never acts on half a request) and reads nothing past its end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_response.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond) {
  if (!cond) {
    abort();
  }
}

static void check_view(const struct edge_http_view *v, const char *lo,
                       const char *hi) {
  if (v->ptr == NULL) {
    check(v->len == 0);
    return;
  }
  check(v->ptr >= lo && v->ptr <= hi && v->len <= (size_t)(hi - v->ptr));
}

/* check_prefix parses an exact-size copy of buf[0..cut) and insists on
 * INCOMPLETE. */
static void check_prefix(const char *buf, size_t cut,
                         const struct edge_http_limits *lim) {
  char *copy = malloc(cut == 0 ? 1 : cut);
  if (copy == NULL) {
    return;
  }
  memcpy(copy, buf, cut);
  struct edge_http_request req;
  check(edge_http_parse(&req, copy, cut, lim) == EDGE_HTTP_INCOMPLETE);
  free(copy);
}

static void use_request(const struct edge_http_request *req, const char *buf,
                        size_t avail, const struct edge_http_limits *lim) {
  const char *end = buf + req->head_len;
  check(req->head_len > 0 && req->head_len <= avail);
  check(req->version == 10 || req->version == 11);
  check(req->method <= EDGE_HTTP_POST);
  check(req->content_length <= lim->max_body);
  check(req->num_headers <= lim->max_headers);
  check(req->head_len <= lim->max_head);
  check(req->version == 10 || req->host.ptr != NULL);
  check(req->method != EDGE_HTTP_POST || req->has_content_length);
  check_view(&req->target, buf, end);
  check_view(&req->query, buf, end);
  check_view(&req->host, buf, end);
  check_view(&req->content_type, buf, end);
  check_view(&req->if_none_match, buf, end);
  check_view(&req->if_modified_since, buf, end);
  check(req->target.ptr != NULL);

  struct edge_route route;
  enum edge_route_kind kind =
      edge_route_parse(&route, req->target.ptr, req->target.len);
  check(kind == route.kind);
  const char *t_end = req->target.ptr + req->target.len;
  check_view(&route.tenant, req->target.ptr, t_end);
  check_view(&route.request, req->target.ptr, t_end);
  check_view(&route.issuer_id, req->target.ptr, t_end);
  if (kind == EDGE_ROUTE_NOT_FOUND) {
    check(route.tenant.ptr == NULL && route.request.ptr == NULL &&
          route.issuer_id.ptr == NULL);
  }
  if (route.tenant.ptr != NULL) {
    check(edge_route_is_tenant(route.tenant.ptr, route.tenant.len));
  }
  if (kind == EDGE_ROUTE_OCSP_GET) {
    check(route.request.len > 0 && route.request.ptr[0] != '/');
  }
  (void)edge_route_admin(req->target.ptr, req->target.len);

  struct edge_http_entity e;
  memset(&e, 0, sizeof(e));
  e.etag = "5f2a9c01d3e4b786";
  e.etag_len = 16;
  e.this_update = 784108177;
  e.next_update = 784457377;
  e.body_len = 471;
  int nm = edge_http_not_modified(req, &e);
  check(nm == 0 || nm == 1);
  check(nm == 0 || req->method != EDGE_HTTP_POST);
  struct edge_http_clock clock;
  memset(&clock, 0, sizeof(clock));
  check(edge_http_clock_set(&clock, 784111777));
  char out[EDGE_HTTP_ENTITY_HEAD_MAX + EDGE_HTTP_SUCCESS_HEAD_MAX];
  check(edge_http_write_not_modified(out, sizeof(out), &clock, &e,
                                     req->keep_alive) > 0);
  if (kind != EDGE_ROUTE_NOT_FOUND &&
      !edge_route_method_allowed(kind, req->method)) {
    check(edge_http_write_error(out, sizeof(out), &clock, 405,
                                edge_route_allow(kind),
                                req->method == EDGE_HTTP_HEAD) > 0);
  }

  /* Strict prefixes of an accepted head: the last byte missing, and a cut
   * in the middle. */
  check_prefix(buf, req->head_len - 1, lim);
  check_prefix(buf, req->head_len / 2, lim);
}

static void run(const char *buf, size_t size,
                const struct edge_http_limits *lim) {
  size_t off = 0;
  /* Bounded: every OK consumes at least one byte. */
  while (off < size) {
    struct edge_http_request req;
    enum edge_http_result r = edge_http_parse(&req, buf + off, size - off, lim);
    if (r != EDGE_HTTP_OK) {
      check(req.head_len == 0 && req.target.ptr == NULL);
      int status = edge_http_result_status(r);
      check(r == EDGE_HTTP_INCOMPLETE ? status == 0 : status >= 400);
      break;
    }
    use_request(&req, buf + off, size - off, lim);
    size_t used = req.head_len;
    if (req.content_length > size - off - used) {
      break; /* the server would wait for the body */
    }
    off += used + req.content_length;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *buf = (const char *)data;
  struct edge_http_limits lim;
  edge_http_limits_default(&lim);
  run(buf, size, &lim);
  struct edge_http_limits tight = { 0 };
  tight.max_head = 256;
  tight.max_target = 64;
  tight.max_body = 16;
  tight.max_headers = 4;
  run(buf, size, &tight);
  return 0;
}
