/* test_edge_route.c: the edge's URL router (edge/route.h).
 *
 * Table-driven: each row is a path as a client sends it and the route it
 * must get (DESIGN.md section 4). The OCSP GET paths use the base64 of a
 * real request made by `openssl ocsp -reqout` (tests/vectors/
 * ocsp_req_sha1.der), encoded with coreutils `base64 -w0` and Python's
 * urllib.parse.quote(safe=''). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"
#include "route.h"

/* base64 and percent-encoded base64 of tests/vectors/ocsp_req_sha1.der */
#define REQ_B64                                                  \
  "MEMwQTA/MD0wOzAJBgUrDgMCGgUABBQN+ozQjs5qDWq7VZp69LFi1Zrh8AQU" \
  "a3wnZY9nYwp/lvBHq5ZYaoq0p/gCAhI0"
#define REQ_PCT                                                      \
  "MEMwQTA%2FMD0wOzAJBgUrDgMCGgUABBQN%2BozQjs5qDWq7VZp69LFi1Zrh8AQU" \
  "a3wnZY9nYwp%2FlvBHq5ZYaoq0p%2FgCAhI0"
/* base64url without padding, as some clients send */
#define REQ_URL                                                  \
  "MEMwQTA_MD0wOzAJBgUrDgMCGgUABBQN-ozQjs5qDWq7VZp69LFi1Zrh8AQU" \
  "a3wnZY9nYwp_lvBHq5ZYaoq0p_gCAhI0"

#define T63  "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0"
#define T64  T63 "1"
#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* One routing case; NULL = the view must be absent. */
struct route_case {
  const char *path;
  enum edge_route_kind kind;
  const char *tenant;
  const char *request;
  const char *issuer_id;
};

static const struct route_case kCases[] = {
  /* POST endpoints */
  { "/ocsp", EDGE_ROUTE_OCSP_POST, NULL, NULL, NULL },
  { "/ocsp/", EDGE_ROUTE_OCSP_POST, NULL, NULL, NULL },
  { "/ocsp//", EDGE_ROUTE_OCSP_POST, NULL, NULL, NULL },
  { "/ocsp/demo", EDGE_ROUTE_OCSP_POST, "demo", NULL, NULL },
  { "/ocsp/demo/", EDGE_ROUTE_OCSP_POST, "demo", NULL, NULL },
  { "/ocsp/demo//", EDGE_ROUTE_OCSP_POST, "demo", NULL, NULL },
  { "/ocsp?x=1", EDGE_ROUTE_OCSP_POST, NULL, NULL, NULL },
  { "/ocsp/demo?x=1", EDGE_ROUTE_OCSP_POST, "demo", NULL, NULL },
  { "/ocsp/0", EDGE_ROUTE_OCSP_POST, "0", NULL, NULL },
  { "/ocsp/a-b-1", EDGE_ROUTE_OCSP_POST, "a-b-1", NULL, NULL },
  { "/ocsp/" T63, EDGE_ROUTE_OCSP_POST, T63, NULL, NULL },
  /* GET, default tenant */
  { "/ocsp/" REQ_B64, EDGE_ROUTE_OCSP_GET, NULL, REQ_B64, NULL },
  { "/ocsp/" REQ_PCT, EDGE_ROUTE_OCSP_GET, NULL, REQ_PCT, NULL },
  { "/ocsp/" REQ_URL, EDGE_ROUTE_OCSP_GET, NULL, REQ_URL, NULL },
  { "/ocsp//" REQ_B64, EDGE_ROUTE_OCSP_GET, NULL, REQ_B64, NULL },
  { "/ocsp///" REQ_PCT, EDGE_ROUTE_OCSP_GET, NULL, REQ_PCT, NULL },
  { "/ocsp/" REQ_B64 "?nocache=1", EDGE_ROUTE_OCSP_GET, NULL, REQ_B64, NULL },
  { "/ocsp/MEUw%2B", EDGE_ROUTE_OCSP_GET, NULL, "MEUw%2B", NULL },
  { "/ocsp/%4DEUw", EDGE_ROUTE_OCSP_GET, NULL, "%4DEUw", NULL },
  /* GET with a tenant */
  { "/ocsp/demo/" REQ_B64, EDGE_ROUTE_OCSP_GET, "demo", REQ_B64, NULL },
  { "/ocsp/demo/" REQ_PCT, EDGE_ROUTE_OCSP_GET, "demo", REQ_PCT, NULL },
  { "/ocsp/demo//" REQ_B64, EDGE_ROUTE_OCSP_GET, "demo", REQ_B64, NULL },
  { "/ocsp/demo///" REQ_URL, EDGE_ROUTE_OCSP_GET, "demo", REQ_URL, NULL },
  { "/ocsp/" T63 "/" REQ_B64, EDGE_ROUTE_OCSP_GET, T63, REQ_B64, NULL },
  /* Not tenant names: the segment starts the request */
  { "/ocsp/" T64, EDGE_ROUTE_OCSP_GET, NULL, T64, NULL },
  { "/ocsp/" T64 "/MEUw", EDGE_ROUTE_OCSP_GET, NULL, T64 "/MEUw", NULL },
  { "/ocsp/Demo", EDGE_ROUTE_OCSP_GET, NULL, "Demo", NULL },
  { "/ocsp/Demo/" REQ_B64, EDGE_ROUTE_OCSP_GET, NULL, "Demo/" REQ_B64, NULL },
  { "/ocsp/-demo", EDGE_ROUTE_OCSP_GET, NULL, "-demo", NULL },
  { "/ocsp/de_mo", EDGE_ROUTE_OCSP_GET, NULL, "de_mo", NULL },
  { "/ocsp/de%2Dmo", EDGE_ROUTE_OCSP_GET, NULL, "de%2Dmo", NULL },
  /* CRLs */
  { "/crl/demo", EDGE_ROUTE_CRL, "demo", NULL, NULL },
  { "/crl/demo?x", EDGE_ROUTE_CRL, "demo", NULL, NULL },
  { "/crl/" T63, EDGE_ROUTE_CRL, T63, NULL, NULL },
  { "/crl/demo/1f0e7c4a-8b9d-4e2f-a1b3-c5d7e9f01234", EDGE_ROUTE_CRL, "demo",
    NULL, "1f0e7c4a-8b9d-4e2f-a1b3-c5d7e9f01234" },
  { "/crl/demo/" ID64, EDGE_ROUTE_CRL, "demo", NULL, ID64 },
  { "/crl/demo/7", EDGE_ROUTE_CRL, "demo", NULL, "7" },
  /* Not found */
  { "", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/ocs", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/ocspx", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/ocsp-demo", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/OCSP/demo", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "//ocsp/demo", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "ocsp/demo", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/%6Fcsp", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/crl", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/crl/", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/crl//demo", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/crl/" T64, EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/crl/Demo", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/crl/demo/", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/crl/demo/" ID64 "0", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/crl/demo/ABC", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/crl/demo/-abc", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/crl/demo/a.crl", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/crl/demo/a_b", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/crl/demo/a/b", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/crl/demo/a/", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/crls/demo", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
  { "/healthz", EDGE_ROUTE_NOT_FOUND, NULL, NULL, NULL },
};

/* check_view asserts |v| is absent when |want| is NULL, else that it
 * equals |want| and lies inside path[0..len). */
static void check_view(const struct edge_http_view *v, const char *want,
                       const char *path, size_t len, const char *what) {
  if (want == NULL) {
    if (v->ptr != NULL || v->len != 0) {
      fail_msg("%s: %s should be absent, is \"%.*s\"", path, what, (int)v->len,
               v->ptr);
    }
    return;
  }
  if (v->ptr == NULL || v->len != strlen(want) ||
      memcmp(v->ptr, want, v->len) != 0) {
    fail_msg("%s: %s is \"%.*s\", want \"%s\"", path, what, (int)v->len,
             v->ptr == NULL ? "" : v->ptr, want);
  }
  assert_true(v->ptr >= path && v->ptr + v->len <= path + len);
}

static void test_route_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    const struct route_case *c = &kCases[i];
    size_t len = strlen(c->path);
    /* exact-size copy: ASan catches reads past the path */
    char *path = malloc(len == 0 ? 1 : len);
    assert_non_null(path);
    memcpy(path, c->path, len);
    struct edge_route r;
    memset(&r, 0xa5, sizeof(r)); /* every field must be written */
    enum edge_route_kind k = edge_route_parse(&r, path, len);
    if (k != c->kind || r.kind != c->kind) {
      fail_msg("%s: kind %d, want %d", c->path, (int)k, (int)c->kind);
    }
    check_view(&r.tenant, c->tenant, path, len, "tenant");
    check_view(&r.request, c->request, path, len, "request");
    check_view(&r.issuer_id, c->issuer_id, path, len, "issuer_id");
    if (r.shard != -1) {
      fail_msg("%s: shard %d, want -1 (none)", c->path, (int)r.shard);
    }
    free(path);
  }
  struct edge_route r;
  assert_int_equal(edge_route_parse(&r, NULL, 0), EDGE_ROUTE_NOT_FOUND);
}

/* The parser's target view routes directly, query already split off. */
static void test_route_parsed_request(void **state) {
  (void)state;
  const char *s =
      "GET /ocsp/demo//" REQ_PCT "?x=%2F HTTP/1.1\r\nHost: h\r\n\r\n";
  struct edge_http_request req;
  assert_int_equal(edge_http_parse(&req, s, strlen(s), NULL), EDGE_HTTP_OK);
  struct edge_route r;
  assert_int_equal(edge_route_parse(&r, req.target.ptr, req.target.len),
                   EDGE_ROUTE_OCSP_GET);
  check_view(&r.tenant, "demo", req.target.ptr, req.target.len, "tenant");
  check_view(&r.request, REQ_PCT, req.target.ptr, req.target.len, "request");
  assert_true(edge_route_method_allowed(r.kind, req.method));
}

static void test_is_tenant(void **state) {
  (void)state;
  assert_true(edge_route_is_tenant("demo", 4));
  assert_true(edge_route_is_tenant("a", 1));
  assert_true(edge_route_is_tenant("9-", 2));
  assert_true(edge_route_is_tenant(T63, 63));
  assert_false(edge_route_is_tenant(T64, 64));
  assert_false(edge_route_is_tenant("", 0));
  assert_false(edge_route_is_tenant("-a", 2));
  assert_false(edge_route_is_tenant("dEmo", 4));
  assert_false(edge_route_is_tenant("de.mo", 5));
  assert_false(edge_route_is_tenant("de/mo", 5));
  assert_false(edge_route_is_tenant("M", 1));
  /* length is honoured; no NUL needed */
  assert_true(edge_route_is_tenant("demo/x", 4));
}

static void test_method_allowed(void **state) {
  (void)state;
  assert_true(edge_route_method_allowed(EDGE_ROUTE_OCSP_POST, EDGE_HTTP_POST));
  assert_false(edge_route_method_allowed(EDGE_ROUTE_OCSP_POST, EDGE_HTTP_GET));
  assert_false(edge_route_method_allowed(EDGE_ROUTE_OCSP_POST, EDGE_HTTP_HEAD));
  assert_true(edge_route_method_allowed(EDGE_ROUTE_OCSP_GET, EDGE_HTTP_GET));
  assert_true(edge_route_method_allowed(EDGE_ROUTE_OCSP_GET, EDGE_HTTP_HEAD));
  assert_false(edge_route_method_allowed(EDGE_ROUTE_OCSP_GET, EDGE_HTTP_POST));
  assert_true(edge_route_method_allowed(EDGE_ROUTE_CRL, EDGE_HTTP_GET));
  assert_true(edge_route_method_allowed(EDGE_ROUTE_CRL, EDGE_HTTP_HEAD));
  assert_false(edge_route_method_allowed(EDGE_ROUTE_CRL, EDGE_HTTP_POST));
  assert_false(edge_route_method_allowed(EDGE_ROUTE_NOT_FOUND, EDGE_HTTP_GET));
  assert_string_equal(edge_route_allow(EDGE_ROUTE_OCSP_POST), "POST");
  assert_string_equal(edge_route_allow(EDGE_ROUTE_OCSP_GET), "GET, HEAD");
  assert_string_equal(edge_route_allow(EDGE_ROUTE_CRL), "GET, HEAD");
  assert_null(edge_route_allow(EDGE_ROUTE_NOT_FOUND));
}

/* Shards of a partitioned CRL: /crl/{tenant}/{issuer_id}/{shard}, the
 * shard a canonical decimal (one URL per shard). */
static void test_crl_shards(void **state) {
  (void)state;
  static const struct {
    const char *path;
    int32_t shard; /* -2: NOT_FOUND */
  } cases[] = {
    { "/crl/demo/ca1/0", 0 },
    { "/crl/demo/ca1/7", 7 },
    { "/crl/demo/ca1/42?x=1", 42 },
    { "/crl/demo/ca1/999999", 999999 },
    { "/crl/demo/" ID64 "/12", 12 },
    { "/crl/demo/ca1/1000000", -2 },
    { "/crl/demo/ca1/007", -2 },
    { "/crl/demo/ca1/00", -2 },
    { "/crl/demo/ca1/-1", -2 },
    { "/crl/demo/ca1/+1", -2 },
    { "/crl/demo/ca1/1a", -2 },
    { "/crl/demo/ca1/ 1", -2 },
    { "/crl/demo/ca1/", -2 },
    { "/crl/demo/ca1/1/", -2 },
    { "/crl/demo/ca1/1/2", -2 },
    { "/crl/demo/ca1//1", -2 },
    { "/crl/demo//1", -2 },
    { "/crl/demo/CA1/1", -2 },
    { "/crl/demo/ca1/99999999999999999999", -2 },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t len = strlen(cases[i].path);
    char *path = malloc(len);
    assert_non_null(path);
    memcpy(path, cases[i].path, len);
    struct edge_route r;
    memset(&r, 0xa5, sizeof(r));
    enum edge_route_kind k = edge_route_parse(&r, path, len);
    if (cases[i].shard == -2) {
      if (k != EDGE_ROUTE_NOT_FOUND || r.shard != -1 ||
          r.issuer_id.ptr != NULL) {
        fail_msg("%s: routed (kind %d, shard %d), want NOT_FOUND",
                 cases[i].path, (int)k, (int)r.shard);
      }
    } else {
      if (k != EDGE_ROUTE_CRL || r.shard != cases[i].shard) {
        fail_msg("%s: kind %d shard %d, want CRL shard %d", cases[i].path,
                 (int)k, (int)r.shard, (int)cases[i].shard);
      }
      check_view(&r.tenant, "demo", path, len, "tenant");
      assert_true(r.issuer_id.ptr != NULL && r.issuer_id.ptr[0] != '/');
    }
    free(path);
  }
}

static void test_admin_routes(void **state) {
  (void)state;
  static const struct {
    const char *path;
    enum edge_admin_route want;
  } cases[] = {
    { "/healthz", EDGE_ADMIN_HEALTHZ },
    { "/readyz", EDGE_ADMIN_READYZ },
    { "/metrics", EDGE_ADMIN_METRICS },
    { "/metrics?name[]=x", EDGE_ADMIN_METRICS },
    { "/healthz/", EDGE_ADMIN_NOT_FOUND },
    { "/HEALTHZ", EDGE_ADMIN_NOT_FOUND },
    { "/health", EDGE_ADMIN_NOT_FOUND },
    { "/healthzz", EDGE_ADMIN_NOT_FOUND },
    { "healthz", EDGE_ADMIN_NOT_FOUND },
    { "/", EDGE_ADMIN_NOT_FOUND },
    { "", EDGE_ADMIN_NOT_FOUND },
    { "/ocsp", EDGE_ADMIN_NOT_FOUND },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t len = strlen(cases[i].path);
    char *path = malloc(len == 0 ? 1 : len);
    assert_non_null(path);
    memcpy(path, cases[i].path, len);
    if (edge_route_admin(path, len) != cases[i].want) {
      fail_msg("%s: wrong admin route", cases[i].path);
    }
    free(path);
  }
  assert_int_equal(edge_route_admin(NULL, 0), EDGE_ADMIN_NOT_FOUND);
  /* the length is honoured: "/metricsXYZ" cut at 8 is /metrics */
  assert_int_equal(edge_route_admin("/metricsXYZ", 8), EDGE_ADMIN_METRICS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_route_table),
    cmocka_unit_test(test_route_parsed_request),
    cmocka_unit_test(test_is_tenant),
    cmocka_unit_test(test_method_allowed),
    cmocka_unit_test(test_crl_shards),
    cmocka_unit_test(test_admin_routes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
