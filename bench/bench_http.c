/* bench_http.c: what the edge's per-request HTTP work costs.
 *
 * Rows:
 *   parse+route   edge_http_parse + edge_route_parse over a typical head
 *                 (the request heads curl and `openssl ocsp` send, and a
 *                 GET as it arrives through a CDN with its extra headers)
 *   304 decision  edge_http_not_modified with If-None-Match
 *   writers       the per-request success head, a whole 304, an HTTP error,
 *                 and the per-response entity block (built once per cache
 *                 fill, shown for scale)
 * Columns: bytes of input or output, ns per call (best of 5 runs of N
 * calls, CLOCK_MONOTONIC), ns per byte, and "x floor": the time over a
 * memmem for the CRLFCRLF that ends the same head -- a lower bound for
 * any parser that must find the end of the head. For scale, DESIGN.md measured
 * about 10 us of server CPU per request for a null io_uring server on loopback.
 * Measurements, not a test: the exit status does not depend on them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "http_response.h"
#include "route.h"

#define ITERS 400000
#define RUNS  5

#define REQ_PCT                                                      \
  "MEMwQTA%2FMD0wOzAJBgUrDgMCGgUABBQN%2BozQjs5qDWq7VZp69LFi1Zrh8AQU" \
  "a3wnZY9nYwp%2FlvBHq5ZYaoq0p%2FgCAhI0"

/* Heads captured from curl 7.88.1 and OpenSSL 3 `openssl ocsp` on
 * loopback (tests/fuzz/corpus/http/get_curl, post_openssl). */
static const char kGetCurl[] = "GET /ocsp/demo/" REQ_PCT
                               " HTTP/1.1\r\n"
                               "Host: 127.0.0.1:8080\r\n"
                               "User-Agent: curl/7.88.1\r\n"
                               "Accept: */*\r\n"
                               "\r\n";

static const char kPostOpenssl[] =
    "POST /ocsp/demo HTTP/1.0\r\n"
    "Host: 127.0.0.1\r\n"
    "Content-Type: application/ocsp-request\r\n"
    "Content-Length: 69\r\n"
    "\r\n";

static const char kGetCdn[] =
    "GET /ocsp/demo/" REQ_PCT
    " HTTP/1.1\r\n"
    "Host: ocsp.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 "
    "Firefox/115.0\r\n"
    "Accept: */*\r\n"
    "Accept-Encoding: gzip\r\n"
    "X-Forwarded-For: 203.0.113.7, 198.51.100.20\r\n"
    "X-Forwarded-Proto: http\r\n"
    "Via: 1.1 varnish (Varnish/7.1)\r\n"
    "CDN-Loop: Fastly\r\n"
    "If-None-Match: \"5f2a9c01d3e4b786\"\r\n"
    "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";

static volatile size_t g_sink; /* defeats dead-code elimination */

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

enum op {
  OP_FLOOR,
  OP_PARSE_ROUTE,
  OP_NOT_MODIFIED,
  OP_SUCCESS_HEAD,
  OP_304,
  OP_ERROR,
  OP_ENTITY,
};

struct ctx {
  const char *in;
  size_t in_len;
  struct edge_http_request req; /* parsed once, for OP_NOT_MODIFIED */
  struct edge_http_entity entity;
  struct edge_http_clock clock;
  char out[2048];
};

/* once runs |op| one time and returns a byte count (fed to the sink). */
static size_t once(struct ctx *c, enum op op) {
  switch (op) {
    case OP_FLOOR: {
      const char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
      return (size_t)(end - c->in);
    }
    case OP_PARSE_ROUTE: {
      struct edge_http_request req;
      if (edge_http_parse(&req, c->in, c->in_len, NULL) != EDGE_HTTP_OK) {
        abort();
      }
      struct edge_route route;
      return (size_t)edge_route_parse(&route, req.target.ptr, req.target.len) +
             route.request.len + req.head_len;
    }
    case OP_NOT_MODIFIED:
      return (size_t)edge_http_not_modified(&c->req, &c->entity);
    case OP_SUCCESS_HEAD:
      return edge_http_write_success_head(c->out, sizeof(c->out), &c->clock,
                                          c->entity.next_update, 1);
    case OP_304:
      return edge_http_write_not_modified(c->out, sizeof(c->out), &c->clock,
                                          &c->entity, 1);
    case OP_ERROR:
      return edge_http_write_error(c->out, sizeof(c->out), &c->clock, 404, NULL,
                                   0);
    case OP_ENTITY:
      return edge_http_write_entity_headers(c->out, sizeof(c->out), &c->entity);
  }
  return 0;
}

/* measure returns the best ns per call over RUNS runs. */
static double measure(struct ctx *c, enum op op) {
  double best = 1e30;
  for (int r = 0; r < RUNS; r++) {
    size_t acc = 0;
    double t0 = now_ns();
    for (int i = 0; i < ITERS; i++) {
      acc += once(c, op);
    }
    double ns = (now_ns() - t0) / ITERS;
    g_sink += acc;
    if (ns < best) {
      best = ns;
    }
  }
  return best;
}

static void setup(struct ctx *c, const char *in, size_t in_len) {
  memset(c, 0, sizeof(*c));
  c->in = in;
  c->in_len = in_len;
  if (edge_http_parse(&c->req, in, in_len, NULL) != EDGE_HTTP_OK) {
    fprintf(stderr, "bench input does not parse\n");
    exit(1);
  }
  c->entity.ctype = EDGE_HTTP_CT_OCSP;
  c->entity.etag = "5f2a9c01d3e4b786";
  c->entity.etag_len = 16;
  c->entity.surrogate_key =
      "0d7ea3b2c1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6 "
      "0d7ea3b2c1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6:1234";
  c->entity.surrogate_key_len = strlen(c->entity.surrogate_key);
  c->entity.body_len = 471;
  c->entity.this_update = 784108177;
  c->entity.next_update = 784457377;
  if (!edge_http_clock_set(&c->clock, 784111777)) {
    exit(1);
  }
}

static void row(const char *name, struct ctx *c, enum op op, double floor_ns) {
  size_t bytes =
      op == OP_PARSE_ROUTE || op == OP_FLOOR ? c->in_len : once(c, op);
  if (op == OP_NOT_MODIFIED) {
    bytes = c->req.if_none_match.len;
  }
  double ns = measure(c, op);
  if (floor_ns > 0) {
    printf("%-34s %6zu %9.1f %8.2f %8.1fx\n", name, bytes, ns,
           bytes ? ns / (double)bytes : 0.0, ns / floor_ns);
  } else {
    printf("%-34s %6zu %9.1f %8.2f %9s\n", name, bytes, ns,
           bytes ? ns / (double)bytes : 0.0, "-");
  }
}

int main(void) {
  static const struct {
    const char *name;
    const char *in;
    size_t len;
  } heads[] = {
    { "parse+route GET (curl)", kGetCurl, sizeof(kGetCurl) - 1 },
    { "parse+route POST (openssl ocsp)", kPostOpenssl,
      sizeof(kPostOpenssl) - 1 },
    { "parse+route GET (via CDN, 13 hdr)", kGetCdn, sizeof(kGetCdn) - 1 },
  };
  printf("%-34s %6s %9s %8s %9s\n", "operation", "bytes", "ns/call", "ns/byte",
         "x floor");
  struct ctx *c = malloc(sizeof(*c));
  if (c == NULL) {
    return 1;
  }
  for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
    setup(c, heads[i].in, heads[i].len);
    double floor_ns = measure(c, OP_FLOOR);
    row(heads[i].name, c, OP_PARSE_ROUTE, floor_ns);
  }
  setup(c, kGetCdn, sizeof(kGetCdn) - 1);
  row("304 decision (If-None-Match)", c, OP_NOT_MODIFIED, 0);
  row("write success head (per request)", c, OP_SUCCESS_HEAD, 0);
  row("write 304 (whole head)", c, OP_304, 0);
  row("write 404 (head + body)", c, OP_ERROR, 0);
  row("write entity block (per fill)", c, OP_ENTITY, 0);
  free(c);
  return g_sink == 42 ? 2 : 0;
}
