/* test_edge_http_response.c: response head writers and the 304 decision
 * (edge/http_response.h).
 *
 * Output is parsed back line by line and checked header by header. The
 * expected dates were computed with coreutils (`date -u -d @784111777`
 * prints Sun Nov 6 08:49:37 UTC 1994, the RFC 9110 example date), not with
 * our own formatter; reason phrases are RFC 9110 section 15's and RFC
 * 6585's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"
#include "http_response.h"

#define NOW       INT64_C(784111777) /* Sun, 06 Nov 1994 08:49:37 GMT */
#define NOW_DATE  "Sun, 06 Nov 1994 08:49:37 GMT"
#define THIS      (NOW - 3600)
#define THIS_DATE "Sun, 06 Nov 1994 07:49:37 GMT"
#define NEXT      (NOW + 345600) /* + 96 h */
#define NEXT_DATE "Thu, 10 Nov 1994 08:49:37 GMT"

#define ETAG "5f2a9c01d3e4b786"
#define SKEY                                  \
  "0d7ea3b2c1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6 " \
  "0d7ea3b2c1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6:1234"

/* ------------------------------------------------------------------------ */
/* A small response parser (test-local)                                      */
/* ------------------------------------------------------------------------ */

#define MAX_LINES 32

struct resp {
  char status[128];
  int num;
  char name[MAX_LINES][64];
  char value[MAX_LINES][2048];
  size_t head_len; /* incl. CRLFCRLF */
};

/* parse_resp parses a response head from |buf|/|len|: every line must end
 * in CRLF, have no other CR or LF, and header lines must be "Name: value".
 */
static void parse_resp(struct resp *r, const char *buf, size_t len) {
  memset(r, 0, sizeof(*r));
  size_t pos = 0;
  int line = 0;
  for (;;) {
    size_t end = pos;
    while (end + 1 < len && !(buf[end] == '\r' && buf[end + 1] == '\n')) {
      if (buf[end] == '\r' || buf[end] == '\n') {
        fail_msg("bare CR/LF at %zu", end);
      }
      end++;
    }
    if (end + 1 >= len) {
      fail_msg("head not terminated by CRLFCRLF");
    }
    size_t n = end - pos;
    if (n == 0) {
      assert_true(line > 0);
      r->head_len = end + 2;
      return;
    }
    if (line == 0) {
      assert_true(n < sizeof(r->status));
      memcpy(r->status, buf + pos, n);
    } else {
      assert_true(r->num < MAX_LINES);
      const char *colon = memchr(buf + pos, ':', n);
      assert_non_null(colon);
      size_t nl = (size_t)(colon - (buf + pos));
      assert_true(nl > 0 && nl < sizeof(r->name[0]));
      assert_true(colon[1] == ' '); /* "Name: value" */
      size_t vl = n - nl - 2;
      assert_true(vl < sizeof(r->value[0]));
      memcpy(r->name[r->num], buf + pos, nl);
      memcpy(r->value[r->num], colon + 2, vl);
      r->num++;
    }
    line++;
    pos = end + 2;
  }
}

/* header returns the value of the only header named |name| (exact case:
 * we write canonical names), or NULL if absent. */
static const char *header(const struct resp *r, const char *name) {
  const char *found = NULL;
  for (int i = 0; i < r->num; i++) {
    if (strcmp(r->name[i], name) == 0) {
      if (found != NULL) {
        fail_msg("header %s twice", name);
      }
      found = r->value[i];
    }
  }
  return found;
}

static void header_is(const struct resp *r, const char *name,
                      const char *want) {
  const char *v = header(r, name);
  if (v == NULL) {
    fail_msg("header %s missing", name);
  }
  if (strcmp(v, want) != 0) {
    fail_msg("header %s is \"%s\", want \"%s\"", name, v, want);
  }
}

static struct edge_http_clock clock_at(int64_t now) {
  struct edge_http_clock c;
  memset(&c, 0, sizeof(c));
  assert_int_equal(edge_http_clock_set(&c, now), 1);
  return c;
}

static struct edge_http_entity ocsp_entity(void) {
  struct edge_http_entity e;
  memset(&e, 0, sizeof(e));
  e.ctype = EDGE_HTTP_CT_OCSP;
  e.body_len = 471;
  e.this_update = THIS;
  e.next_update = NEXT;
  e.etag = ETAG;
  e.etag_len = strlen(ETAG);
  e.surrogate_key = SKEY;
  e.surrogate_key_len = strlen(SKEY);
  return e;
}

/* ------------------------------------------------------------------------ */
/* Clock                                                                     */
/* ------------------------------------------------------------------------ */

static void test_clock(void **state) {
  (void)state;
  struct edge_http_clock c;
  memset(&c, 0, sizeof(c));
  char buf[512];
  /* A zeroed clock is not set: writers refuse it. */
  assert_int_equal(edge_http_write_success_head(buf, sizeof(buf), &c, NEXT, 1),
                   0);
  assert_int_equal(edge_http_clock_set(&c, NOW), 1);
  assert_memory_equal(c.date, NOW_DATE, VIGIL_HTTPDATE_LEN);
  /* The same second is not formatted again (the date is cached)... */
  c.date[0] = 'X';
  assert_int_equal(edge_http_clock_set(&c, NOW), 1);
  assert_int_equal(c.date[0], 'X');
  /* ...a new second is. */
  assert_int_equal(edge_http_clock_set(&c, NOW + 1), 1);
  assert_memory_equal(c.date, "Sun, 06 Nov 1994 08:49:38 GMT",
                      VIGIL_HTTPDATE_LEN);
  /* Out of range: refused, and the clock is unusable until set again. */
  assert_int_equal(edge_http_clock_set(&c, VIGIL_TIME_MAX + 1), 0);
  assert_int_equal(c.valid, 0);
  assert_int_equal(edge_http_write_error(buf, sizeof(buf), &c, 404, NULL, 0),
                   0);
  assert_int_equal(edge_http_write_error(buf, sizeof(buf), NULL, 404, NULL, 0),
                   0);
  assert_int_equal(edge_http_clock_set(&c, NOW), 1);
  assert_true(edge_http_write_error(buf, sizeof(buf), &c, 404, NULL, 0) > 0);
}

/* ------------------------------------------------------------------------ */
/* Cached answers                                                            */
/* ------------------------------------------------------------------------ */

static void test_entity_headers_exact(void **state) {
  (void)state;
  struct edge_http_entity e = ocsp_entity();
  char buf[EDGE_HTTP_ENTITY_HEAD_MAX];
  size_t n = edge_http_write_entity_headers(buf, sizeof(buf), &e);
  const char *want =
      "Content-Type: application/ocsp-response\r\n"
      "Content-Length: 471\r\n"
      "Last-Modified: " THIS_DATE
      "\r\n"
      "Expires: " NEXT_DATE
      "\r\n"
      "ETag: \"" ETAG
      "\"\r\n"
      "Surrogate-Key: " SKEY
      "\r\n"
      "\r\n";
  assert_int_equal(n, strlen(want));
  assert_memory_equal(buf, want, n);

  /* CRL, no surrogate key. */
  e.ctype = EDGE_HTTP_CT_CRL;
  e.surrogate_key = NULL;
  e.surrogate_key_len = 0;
  e.body_len = 0;
  n = edge_http_write_entity_headers(buf, sizeof(buf), &e);
  assert_true(n > 0);
  /* Parse it back behind a status line. */
  char full[1024];
  memcpy(full, "HTTP/1.1 200 OK\r\n", 17);
  memcpy(full + 17, buf, n);
  struct resp r;
  parse_resp(&r, full, 17 + n);
  assert_int_equal(r.head_len, 17 + n);
  header_is(&r, "Content-Type", "application/pkix-crl");
  header_is(&r, "Content-Length", "0");
  header_is(&r, "ETag", "\"" ETAG "\"");
  assert_null(header(&r, "Surrogate-Key"));
  assert_int_equal(r.num, 5);
}

static void test_entity_rejects_bad_input(void **state) {
  (void)state;
  char buf[4096];
  struct edge_http_entity e = ocsp_entity();
  static const char *const bad_etags[] = { "",     "a\"b", "a b",  "a\rb",
                                           "a\nb", "a\tb", "a\x7f" };
  for (size_t i = 0; i < sizeof(bad_etags) / sizeof(bad_etags[0]); i++) {
    e = ocsp_entity();
    e.etag = bad_etags[i];
    e.etag_len = strlen(bad_etags[i]);
    assert_int_equal(edge_http_write_entity_headers(buf, sizeof(buf), &e), 0);
    struct edge_http_clock c = clock_at(NOW);
    assert_int_equal(edge_http_write_not_modified(buf, sizeof(buf), &c, &e, 1),
                     0);
  }
  e = ocsp_entity();
  e.etag = NULL;
  assert_int_equal(edge_http_write_entity_headers(buf, sizeof(buf), &e), 0);
  /* obs-text is etagc. */
  e = ocsp_entity();
  e.etag = "caf\xc3\xa9";
  e.etag_len = 5;
  assert_true(edge_http_write_entity_headers(buf, sizeof(buf), &e) > 0);
  /* ETag length bound. */
  char long_tag[EDGE_HTTP_ETAG_MAX + 1];
  memset(long_tag, 'a', sizeof(long_tag));
  e = ocsp_entity();
  e.etag = long_tag;
  e.etag_len = EDGE_HTTP_ETAG_MAX;
  assert_true(edge_http_write_entity_headers(buf, sizeof(buf), &e) > 0);
  e.etag_len = EDGE_HTTP_ETAG_MAX + 1;
  assert_int_equal(edge_http_write_entity_headers(buf, sizeof(buf), &e), 0);
  /* Surrogate keys: no CR, LF or other control (header injection). */
  static const char *const bad_keys[] = { "a\r\nX-Evil: 1", "a\nb",
                                          "a\tb",           "a\x01",
                                          "a\x7f",          "caf\xc3\xa9" };
  for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
    e = ocsp_entity();
    e.surrogate_key = bad_keys[i];
    e.surrogate_key_len = strlen(bad_keys[i]);
    assert_int_equal(edge_http_write_entity_headers(buf, sizeof(buf), &e), 0);
  }
  char long_key[EDGE_HTTP_SURROGATE_KEY_MAX + 1];
  memset(long_key, 'k', sizeof(long_key));
  e = ocsp_entity();
  e.surrogate_key = long_key;
  e.surrogate_key_len = EDGE_HTTP_SURROGATE_KEY_MAX;
  assert_true(edge_http_write_entity_headers(buf, sizeof(buf), &e) > 0);
  e.surrogate_key_len = EDGE_HTTP_SURROGATE_KEY_MAX + 1;
  assert_int_equal(edge_http_write_entity_headers(buf, sizeof(buf), &e), 0);
  e = ocsp_entity();
  e.surrogate_key = NULL;
  e.surrogate_key_len = 3;
  assert_int_equal(edge_http_write_entity_headers(buf, sizeof(buf), &e), 0);
  /* Times out of range. */
  e = ocsp_entity();
  e.next_update = VIGIL_TIME_MAX + 1;
  assert_int_equal(edge_http_write_entity_headers(buf, sizeof(buf), &e), 0);
}

static void test_success_head(void **state) {
  (void)state;
  struct edge_http_clock c = clock_at(NOW);
  char buf[EDGE_HTTP_SUCCESS_HEAD_MAX];
  size_t n = edge_http_write_success_head(buf, sizeof(buf), &c, NEXT, 1);
  const char *want =
      "HTTP/1.1 200 OK\r\n"
      "Date: " NOW_DATE
      "\r\n"
      "Cache-Control: max-age=345600, public, no-transform, must-revalidate\r\n"
      "Connection: keep-alive\r\n";
  assert_int_equal(n, strlen(want));
  assert_memory_equal(buf, want, n);

  /* max-age never exceeds nextUpdate - now, and is never negative. */
  static const struct {
    int64_t next;
    const char *cc;
  } rows[] = {
    { NOW + 1, "max-age=1, public, no-transform, must-revalidate" },
    { NOW, "max-age=0, public, no-transform, must-revalidate" },
    { NOW - 100, "max-age=0, public, no-transform, must-revalidate" },
    { INT64_MIN, "max-age=0, public, no-transform, must-revalidate" },
    { NOW + 864000, "max-age=864000, public, no-transform, must-revalidate" },
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    n = edge_http_write_success_head(buf, sizeof(buf), &c, rows[i].next, 0);
    assert_true(n > 0);
    char full[512];
    memcpy(full, buf, n);
    memcpy(full + n, "\r\n", 2);
    struct resp r;
    parse_resp(&r, full, n + 2);
    assert_string_equal(r.status, "HTTP/1.1 200 OK");
    header_is(&r, "Cache-Control", rows[i].cc);
    header_is(&r, "Connection", "close");
    header_is(&r, "Date", NOW_DATE);
  }

  /* The next second: a new Date, max-age one less. */
  assert_int_equal(edge_http_clock_set(&c, NOW + 1), 1);
  n = edge_http_write_success_head(buf, sizeof(buf), &c, NEXT, 1);
  want =
      "HTTP/1.1 200 OK\r\n"
      "Date: Sun, 06 Nov 1994 08:49:38 GMT\r\n"
      "Cache-Control: max-age=345599, public, no-transform, must-revalidate\r\n"
      "Connection: keep-alive\r\n";
  assert_int_equal(n, strlen(want));
  assert_memory_equal(buf, want, n);
}

/* The two iovecs together make one well-formed response. */
static void test_two_part_response(void **state) {
  (void)state;
  struct edge_http_clock c = clock_at(NOW + 60);
  struct edge_http_entity e = ocsp_entity();
  e.body_len = 4;
  char block[EDGE_HTTP_ENTITY_HEAD_MAX + 4];
  size_t bn = edge_http_write_entity_headers(block, sizeof(block), &e);
  assert_true(bn > 0);
  memcpy(block + bn, "\x30\x03\x0a\x01", 4); /* the DER after the block */
  char head[EDGE_HTTP_SUCCESS_HEAD_MAX];
  size_t hn =
      edge_http_write_success_head(head, sizeof(head), &c, e.next_update, 1);
  assert_true(hn > 0);
  char wire[2048];
  memcpy(wire, head, hn);
  memcpy(wire + hn, block, bn + 4);
  size_t total = hn + bn + 4;
  struct resp r;
  parse_resp(&r, wire, total);
  assert_string_equal(r.status, "HTTP/1.1 200 OK");
  header_is(&r, "Date", "Sun, 06 Nov 1994 08:50:37 GMT");
  header_is(&r, "Cache-Control",
            "max-age=345540, public, no-transform, must-revalidate");
  header_is(&r, "Connection", "keep-alive");
  header_is(&r, "Content-Type", "application/ocsp-response");
  header_is(&r, "Content-Length", "4");
  header_is(&r, "Last-Modified", THIS_DATE);
  header_is(&r, "Expires", NEXT_DATE);
  header_is(&r, "ETag", "\"" ETAG "\"");
  header_is(&r, "Surrogate-Key", SKEY);
  assert_int_equal(r.num, 9);
  assert_int_equal(total - r.head_len, 4);
  assert_memory_equal(wire + r.head_len, "\x30\x03\x0a\x01", 4);
}

static void test_not_modified(void **state) {
  (void)state;
  struct edge_http_clock c = clock_at(NOW);
  struct edge_http_entity e = ocsp_entity();
  char buf[EDGE_HTTP_ENTITY_HEAD_MAX + EDGE_HTTP_SUCCESS_HEAD_MAX];
  size_t n = edge_http_write_not_modified(buf, sizeof(buf), &c, &e, 1);
  assert_true(n > 0);
  struct resp r;
  parse_resp(&r, buf, n);
  assert_int_equal(r.head_len, n); /* no body */
  assert_string_equal(r.status, "HTTP/1.1 304 Not Modified");
  header_is(&r, "Date", NOW_DATE);
  header_is(&r, "Cache-Control",
            "max-age=345600, public, no-transform, must-revalidate");
  header_is(&r, "Expires", NEXT_DATE);
  header_is(&r, "Last-Modified", THIS_DATE);
  header_is(&r, "ETag", "\"" ETAG "\"");
  header_is(&r, "Surrogate-Key", SKEY);
  header_is(&r, "Connection", "keep-alive");
  assert_null(header(&r, "Content-Type"));
  assert_null(header(&r, "Content-Length"));
  assert_int_equal(r.num, 7);
  n = edge_http_write_not_modified(buf, sizeof(buf), &c, &e, 0);
  parse_resp(&r, buf, n);
  header_is(&r, "Connection", "close");
}

/* ------------------------------------------------------------------------ */
/* Error answers                                                             */
/* ------------------------------------------------------------------------ */

static void test_ocsp_error(void **state) {
  (void)state;
  struct edge_http_clock c = clock_at(NOW);
  char buf[EDGE_HTTP_ERROR_HEAD_MAX];
  size_t n = edge_http_write_ocsp_error(buf, sizeof(buf), &c, 0, 5, 1);
  assert_true(n > 0);
  struct resp r;
  parse_resp(&r, buf, n);
  assert_int_equal(r.head_len, n);
  assert_string_equal(r.status, "HTTP/1.1 200 OK");
  header_is(&r, "Content-Type", "application/ocsp-response");
  header_is(&r, "Content-Length", "5");
  header_is(&r, "Cache-Control", "max-age=0, no-cache");
  header_is(&r, "Date", NOW_DATE);
  header_is(&r, "Connection", "keep-alive");
  assert_null(header(&r, "ETag"));
  assert_null(header(&r, "Expires"));
  assert_int_equal(r.num, 5);
  n = edge_http_write_ocsp_error(buf, sizeof(buf), &c, 300, 5, 0);
  parse_resp(&r, buf, n);
  header_is(&r, "Cache-Control", "max-age=300, public, no-transform");
  header_is(&r, "Connection", "close");
}

static void test_http_errors(void **state) {
  (void)state;
  static const struct {
    int status;
    const char *line;
    const char *body;
  } rows[] = {
    { 400, "HTTP/1.1 400 Bad Request", "400 Bad Request\n" },
    { 404, "HTTP/1.1 404 Not Found", "404 Not Found\n" },
    { 405, "HTTP/1.1 405 Method Not Allowed", "405 Method Not Allowed\n" },
    { 411, "HTTP/1.1 411 Length Required", "411 Length Required\n" },
    { 413, "HTTP/1.1 413 Content Too Large", "413 Content Too Large\n" },
    { 414, "HTTP/1.1 414 URI Too Long", "414 URI Too Long\n" },
    { 431, "HTTP/1.1 431 Request Header Fields Too Large",
      "431 Request Header Fields Too Large\n" },
    { 500, "HTTP/1.1 500 Internal Server Error",
      "500 Internal Server Error\n" },
    { 501, "HTTP/1.1 501 Not Implemented", "501 Not Implemented\n" },
    { 503, "HTTP/1.1 503 Service Unavailable", "503 Service Unavailable\n" },
    { 505, "HTTP/1.1 505 HTTP Version Not Supported",
      "505 HTTP Version Not Supported\n" },
  };
  struct edge_http_clock c = clock_at(NOW);
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    char buf[EDGE_HTTP_ERROR_HEAD_MAX];
    size_t n =
        edge_http_write_error(buf, sizeof(buf), &c, rows[i].status, NULL, 0);
    assert_true(n > 0);
    struct resp r;
    parse_resp(&r, buf, n);
    assert_string_equal(r.status, rows[i].line);
    header_is(&r, "Date", NOW_DATE);
    header_is(&r, "Connection", "close");
    header_is(&r, "Content-Type", "text/plain; charset=utf-8");
    header_is(&r, "Cache-Control", "no-store");
    char cl[24];
    snprintf(cl, sizeof(cl), "%zu", strlen(rows[i].body));
    header_is(&r, "Content-Length", cl);
    assert_int_equal(n - r.head_len, strlen(rows[i].body));
    assert_memory_equal(buf + r.head_len, rows[i].body, n - r.head_len);
    if (rows[i].status == 405) {
      header_is(&r, "Allow", "GET, HEAD, POST");
    } else {
      assert_null(header(&r, "Allow"));
    }
    /* HEAD: same head, no body. */
    char hbuf[EDGE_HTTP_ERROR_HEAD_MAX];
    size_t hn =
        edge_http_write_error(hbuf, sizeof(hbuf), &c, rows[i].status, NULL, 1);
    assert_int_equal(hn, r.head_len);
    assert_memory_equal(hbuf, buf, hn);
    /* Allow given for another status is ignored. */
    if (rows[i].status != 405) {
      hn = edge_http_write_error(hbuf, sizeof(hbuf), &c, rows[i].status, "POST",
                                 0);
      assert_int_equal(hn, n);
    }
  }
  /* 405 with a route-specific Allow. */
  char buf[EDGE_HTTP_ERROR_HEAD_MAX];
  size_t n = edge_http_write_error(buf, sizeof(buf), &c, 405, "GET, HEAD", 0);
  struct resp r;
  parse_resp(&r, buf, n);
  header_is(&r, "Allow", "GET, HEAD");
  /* Statuses the writer does not know. */
  static const int unknown[] = { 0, -1, 200, 204, 302, 304, 418, 502, 999 };
  for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
    assert_int_equal(
        edge_http_write_error(buf, sizeof(buf), &c, unknown[i], NULL, 0), 0);
  }
  assert_null(edge_http_reason(418));
  assert_string_equal(edge_http_reason(304), "Not Modified");
}

static void test_text_head(void **state) {
  (void)state;
  struct edge_http_clock c = clock_at(NOW);
  char buf[EDGE_HTTP_ERROR_HEAD_MAX];
  size_t n = edge_http_write_text_head(buf, sizeof(buf), &c, 200,
                                       "text/plain; version=0.0.4", 1234, 1);
  struct resp r;
  parse_resp(&r, buf, n);
  assert_int_equal(r.head_len, n);
  assert_string_equal(r.status, "HTTP/1.1 200 OK");
  header_is(&r, "Content-Type", "text/plain; version=0.0.4");
  header_is(&r, "Content-Length", "1234");
  header_is(&r, "Connection", "keep-alive");
  header_is(&r, "Cache-Control", "no-store");
  n = edge_http_write_text_head(buf, sizeof(buf), &c, 503, "text/plain", 0, 0);
  parse_resp(&r, buf, n);
  assert_string_equal(r.status, "HTTP/1.1 503 Service Unavailable");
  header_is(&r, "Connection", "close");
  assert_int_equal(
      edge_http_write_text_head(buf, sizeof(buf), &c, 302, "text/plain", 0, 0),
      0);
  assert_int_equal(
      edge_http_write_text_head(buf, sizeof(buf), &c, 200, NULL, 0, 0), 0);
}

/* ------------------------------------------------------------------------ */
/* Bounds                                                                    */
/* ------------------------------------------------------------------------ */

enum writer { W_ENTITY, W_SUCCESS, W_304, W_OCSP_ERR, W_ERR, W_TEXT };

static size_t run_writer(enum writer w, char *out, size_t cap,
                         const struct edge_http_clock *c,
                         const struct edge_http_entity *e) {
  switch (w) {
    case W_ENTITY:
      return edge_http_write_entity_headers(out, cap, e);
    case W_SUCCESS:
      return edge_http_write_success_head(out, cap, c, e->next_update, 1);
    case W_304:
      return edge_http_write_not_modified(out, cap, c, e, 1);
    case W_OCSP_ERR:
      return edge_http_write_ocsp_error(out, cap, c, 4294967295u, SIZE_MAX, 1);
    case W_ERR:
      return edge_http_write_error(out, cap, c, 431, NULL, 0);
    case W_TEXT:
      return edge_http_write_text_head(out, cap, c, 431, "text/plain", SIZE_MAX,
                                       1);
  }
  return 0;
}

/* Every writer returns 0 for every buffer one byte too small or smaller,
 * never writes past |cap|, and writes the same bytes when it fits. */
static void test_buffer_too_small(void **state) {
  (void)state;
  struct edge_http_clock c = clock_at(NOW);
  struct edge_http_entity e = ocsp_entity();
  for (int w = W_ENTITY; w <= W_TEXT; w++) {
    char full[4096];
    size_t n = run_writer((enum writer)w, full, sizeof(full), &c, &e);
    assert_true(n > 0);
    for (size_t cap = 0; cap <= n; cap++) {
      char *out = malloc(cap == 0 ? 1 : cap); /* ASan catches overruns */
      assert_non_null(out);
      size_t got =
          run_writer((enum writer)w, cap == 0 ? NULL : out, cap, &c, &e);
      if (cap < n) {
        if (got != 0) {
          fail_msg("writer %d wrote %zu into %zu", w, got, cap);
        }
      } else {
        assert_int_equal(got, n);
        assert_memory_equal(out, full, n);
      }
      free(out);
    }
  }
}

/* The documented buffer sizes hold the largest outputs. */
static void test_max_sizes(void **state) {
  (void)state;
  struct edge_http_clock c = clock_at(VIGIL_TIME_MAX);
  char tag[EDGE_HTTP_ETAG_MAX];
  char key[EDGE_HTTP_SURROGATE_KEY_MAX];
  memset(tag, 'e', sizeof(tag));
  memset(key, 'k', sizeof(key));
  struct edge_http_entity e = ocsp_entity();
  e.etag = tag;
  e.etag_len = sizeof(tag);
  e.surrogate_key = key;
  e.surrogate_key_len = sizeof(key);
  e.body_len = SIZE_MAX;
  e.this_update = VIGIL_TIME_MIN;
  e.next_update = VIGIL_TIME_MAX;
  char buf[EDGE_HTTP_ENTITY_HEAD_MAX];
  assert_true(edge_http_write_entity_headers(buf, sizeof(buf), &e) > 0);
  struct edge_http_clock old = clock_at(VIGIL_TIME_MIN);
  char head[EDGE_HTTP_SUCCESS_HEAD_MAX];
  assert_true(edge_http_write_success_head(head, sizeof(head), &old,
                                           VIGIL_TIME_MAX, 1) > 0);
  char err[EDGE_HTTP_ERROR_HEAD_MAX];
  static const int statuses[] = { 400, 404, 405, 411, 413, 414,
                                  431, 500, 501, 503, 505 };
  for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
    assert_true(edge_http_write_error(err, sizeof(err), &c, statuses[i],
                                      "GET, HEAD, POST", 0) > 0);
  }
  assert_true(edge_http_write_ocsp_error(err, sizeof(err), &c, 4294967295u,
                                         SIZE_MAX, 1) > 0);
  /* A 304 fits in an entity block plus a success head. */
  char nm[EDGE_HTTP_ENTITY_HEAD_MAX + EDGE_HTTP_SUCCESS_HEAD_MAX];
  assert_true(edge_http_write_not_modified(nm, sizeof(nm), &old, &e, 1) > 0);
}

/* ------------------------------------------------------------------------ */
/* Conditional requests                                                      */
/* ------------------------------------------------------------------------ */

struct cond_case {
  enum edge_http_method method;
  const char *inm; /* NULL = absent */
  const char *ims; /* NULL = absent */
  int want;        /* 1 = 304 */
};

static void test_not_modified_table(void **state) {
  (void)state;
  /* entity: ETag "5f2a9c01d3e4b786", Last-Modified THIS_DATE */
  static const struct cond_case rows[] = {
    { EDGE_HTTP_GET, NULL, NULL, 0 },
    { EDGE_HTTP_GET, "\"" ETAG "\"", NULL, 1 },
    { EDGE_HTTP_HEAD, "\"" ETAG "\"", NULL, 1 },
    { EDGE_HTTP_POST, "\"" ETAG "\"", NULL, 0 },
    { EDGE_HTTP_GET, "W/\"" ETAG "\"", NULL, 1 }, /* weak comparison */
    { EDGE_HTTP_GET, "\"x\", \"" ETAG "\"", NULL, 1 },
    { EDGE_HTTP_GET, " \"x\" ,W/\"" ETAG "\" , \"y\" ", NULL, 1 },
    { EDGE_HTTP_GET, ", ,\"" ETAG "\",", NULL, 1 }, /* empty elements */
    { EDGE_HTTP_GET, "*", NULL, 1 },
    { EDGE_HTTP_GET, "  *  ", NULL, 1 },
    { EDGE_HTTP_GET, "\"x\"", NULL, 0 },
    { EDGE_HTTP_GET, "\"5F2A9C01D3E4B786\"", NULL, 0 }, /* case matters */
    { EDGE_HTTP_GET, "\"5f2a9c01d3e4b78\"", NULL, 0 },  /* prefix */
    { EDGE_HTTP_GET, "\"5f2a9c01d3e4b7860\"", NULL, 0 },
    { EDGE_HTTP_GET, "\"\"", NULL, 0 },
    { EDGE_HTTP_GET, "", NULL, 0 },
    { EDGE_HTTP_GET, ETAG, NULL, 0 },                  /* unquoted */
    { EDGE_HTTP_GET, "\"" ETAG, NULL, 0 },             /* unterminated */
    { EDGE_HTTP_GET, "\"" ETAG "\" junk", NULL, 0 },   /* malformed */
    { EDGE_HTTP_GET, "\"" ETAG "\", bogus", NULL, 0 }, /* malformed later */
    { EDGE_HTTP_GET, "w/\"" ETAG "\"", NULL, 0 },      /* W is upper case */
    { EDGE_HTTP_GET, "*, \"" ETAG "\"", NULL, 0 },     /* "*" only alone */
    /* If-Modified-Since */
    { EDGE_HTTP_GET, NULL, THIS_DATE, 1 },                       /* equal */
    { EDGE_HTTP_GET, NULL, NOW_DATE, 1 },                        /* later */
    { EDGE_HTTP_GET, NULL, "Sun, 06 Nov 1994 07:49:36 GMT", 0 }, /* earlier */
    { EDGE_HTTP_HEAD, NULL, NOW_DATE, 1 },
    { EDGE_HTTP_POST, NULL, NOW_DATE, 0 },
    { EDGE_HTTP_GET, NULL, "Sunday, 06-Nov-94 08:49:37 GMT", 0 }, /* 850 */
    { EDGE_HTTP_GET, NULL, "Sun Nov  6 08:49:37 1994", 0 },       /* asctime */
    { EDGE_HTTP_GET, NULL, "yesterday", 0 },
    { EDGE_HTTP_GET, NULL, "", 0 },
    /* If-None-Match present: If-Modified-Since is ignored. */
    { EDGE_HTTP_GET, "\"other\"", NOW_DATE, 0 },
    { EDGE_HTTP_GET, "garbage", NOW_DATE, 0 },
    { EDGE_HTTP_GET, "\"" ETAG "\"", "Sun, 06 Nov 1994 07:49:36 GMT", 1 },
  };
  struct edge_http_entity e = ocsp_entity();
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    struct edge_http_request req;
    memset(&req, 0, sizeof(req));
    req.method = rows[i].method;
    req.version = 11;
    if (rows[i].inm != NULL) {
      req.if_none_match.ptr = rows[i].inm;
      req.if_none_match.len = strlen(rows[i].inm);
    }
    if (rows[i].ims != NULL) {
      req.if_modified_since.ptr = rows[i].ims;
      req.if_modified_since.len = strlen(rows[i].ims);
    }
    int got = edge_http_not_modified(&req, &e);
    if (got != rows[i].want) {
      fail_msg("row %zu (INM %s, IMS %s): got %d", i,
               rows[i].inm ? rows[i].inm : "-", rows[i].ims ? rows[i].ims : "-",
               got);
    }
  }
}

/* From the wire: parse a conditional request, decide, write the 304. */
/* The longest Surrogate-Key the edge writes ("{ikh} {ikh}:{serial}" with
 * a 21-octet serial; "crl {id}" with a 63-character id is shorter): its
 * 304 fits a slot's head buffer (worker.h EDGE_SLOT_HEAD, 512). */
static void test_longest_surrogate_key(void **state) {
  (void)state;
  char key[256];
  char ikh[41];
  memset(ikh, 'a', 40);
  ikh[40] = '\0';
  char serial[43];
  memset(serial, 'f', 42);
  serial[42] = '\0';
  int kn = snprintf(key, sizeof(key), "%s %s:%s", ikh, ikh, serial);
  assert_true(kn > 0 && (size_t)kn < sizeof(key));
  struct edge_http_clock c = clock_at(NOW);
  struct edge_http_entity e = ocsp_entity();
  e.surrogate_key = key;
  e.surrogate_key_len = (size_t)kn;
  char buf[512];
  size_t n = edge_http_write_not_modified(buf, sizeof(buf), &c, &e, 1);
  assert_true(n > 0 && n <= 500);
  /* The nonce answer's head carries it too. */
  n = edge_http_write_nonce_head(buf, sizeof(buf), &c, 1234, key, (size_t)kn,
                                 1);
  assert_true(n > 0);
  buf[n] = '\0';
  assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
  assert_non_null(
      strstr(buf, "\r\nContent-Type: application/ocsp-response\r\n"));
  assert_non_null(strstr(buf, "\r\nContent-Length: 1234\r\n"));
  assert_non_null(strstr(buf, "\r\nCache-Control: no-store\r\n"));
  assert_non_null(strstr(buf, "\r\nConnection: keep-alive\r\n\r\n"));
  char want[300];
  snprintf(want, sizeof(want), "\r\nSurrogate-Key: %s\r\n", key);
  assert_non_null(strstr(buf, want));
  /* No key: no header; a key with CR LF: refused. */
  n = edge_http_write_nonce_head(buf, sizeof(buf), &c, 5, NULL, 0, 0);
  assert_true(n > 0);
  buf[n] = '\0';
  assert_null(strstr(buf, "Surrogate-Key"));
  assert_int_equal(
      edge_http_write_nonce_head(buf, sizeof(buf), &c, 5, "a\r\nX: y", 8, 0),
      0);
}

static void test_conditional_end_to_end(void **state) {
  (void)state;
  const char *s =
      "GET /ocsp/MEUw HTTP/1.1\r\nHost: h\r\n"
      "If-None-Match: \"abc\", W/\"" ETAG
      "\"\r\n"
      "If-Modified-Since: Sun, 06 Nov 1994 07:49:36 GMT\r\n\r\n";
  struct edge_http_request req;
  assert_int_equal(edge_http_parse(&req, s, strlen(s), NULL), EDGE_HTTP_OK);
  struct edge_http_entity e = ocsp_entity();
  assert_int_equal(edge_http_not_modified(&req, &e), 1);
  e.etag = "other";
  e.etag_len = 5;
  assert_int_equal(edge_http_not_modified(&req, &e), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_clock),
    cmocka_unit_test(test_entity_headers_exact),
    cmocka_unit_test(test_entity_rejects_bad_input),
    cmocka_unit_test(test_success_head),
    cmocka_unit_test(test_two_part_response),
    cmocka_unit_test(test_not_modified),
    cmocka_unit_test(test_ocsp_error),
    cmocka_unit_test(test_http_errors),
    cmocka_unit_test(test_text_head),
    cmocka_unit_test(test_buffer_too_small),
    cmocka_unit_test(test_max_sizes),
    cmocka_unit_test(test_not_modified_table),
    cmocka_unit_test(test_longest_surrogate_key),
    cmocka_unit_test(test_conditional_end_to_end),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
