/* test_edge_http.c: the edge's HTTP/1.1 request head parser (edge/http.h).
 *
 * Every input is copied into a heap buffer of exactly its length before it
 * is parsed, so ASan reports any read past the bytes the parser was given
 * (the parser must never rely on a NUL terminator). Expected outcomes come
 * from RFC 9112 / RFC 9110 and the choices documented in http.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* A parse of a private exact-size copy of the input. */
struct parsed {
  char *buf;
  size_t len;
  struct edge_http_request req;
  enum edge_http_result res;
};

/* view_inside asserts that |v| is absent or lies inside buf[0..end). */
static void view_inside(const struct edge_http_view *v, const char *buf,
                        size_t end) {
  if (v->ptr == NULL) {
    assert_int_equal(v->len, 0);
    return;
  }
  assert_true(v->ptr >= buf);
  assert_true(v->ptr + v->len <= buf + end);
}

static void parse_bytes_lim(struct parsed *p, const char *in, size_t len,
                            const struct edge_http_limits *lim) {
  p->len = len;
  p->buf = malloc(len == 0 ? 1 : len);
  assert_non_null(p->buf);
  if (len > 0) {
    memcpy(p->buf, in, len);
  }
  p->res = edge_http_parse(&p->req, p->buf, len, lim);
  if (p->res == EDGE_HTTP_OK) {
    assert_true(p->req.head_len <= len);
    view_inside(&p->req.target, p->buf, p->req.head_len);
    view_inside(&p->req.query, p->buf, p->req.head_len);
    view_inside(&p->req.host, p->buf, p->req.head_len);
    view_inside(&p->req.content_type, p->buf, p->req.head_len);
    view_inside(&p->req.if_none_match, p->buf, p->req.head_len);
    view_inside(&p->req.if_modified_since, p->buf, p->req.head_len);
  } else {
    assert_int_equal(p->req.head_len, 0);
    assert_null(p->req.target.ptr);
    assert_null(p->req.host.ptr);
  }
}

static void parse_str(struct parsed *p, const char *s) {
  parse_bytes_lim(p, s, strlen(s), NULL);
}

static void done(struct parsed *p) {
  free(p->buf);
  p->buf = NULL;
}

/* result_of parses |s| with default limits and returns the outcome. */
static enum edge_http_result result_of(const char *s) {
  struct parsed p;
  parse_str(&p, s);
  enum edge_http_result r = p.res;
  done(&p);
  return r;
}

/* view_is asserts that |v| holds exactly the string |want|. */
static void view_is(const struct edge_http_view *v, const char *want) {
  assert_non_null(v->ptr);
  if (v->len != strlen(want) || memcmp(v->ptr, want, v->len) != 0) {
    fail_msg("view is \"%.*s\", want \"%s\"", (int)v->len, v->ptr, want);
  }
}

/* A growable test string (test code may allocate freely). */
struct sb {
  char *p;
  size_t len;
};

static void sb_add(struct sb *b, const char *s, size_t n) {
  b->p = realloc(b->p, b->len + n + 1);
  assert_non_null(b->p);
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_str(struct sb *b, const char *s) {
  sb_add(b, s, strlen(s));
}

static void sb_rep(struct sb *b, char c, size_t n) {
  for (size_t i = 0; i < n; i++) {
    sb_add(b, &c, 1);
  }
}

#define REQ_GET "GET /ocsp/MEUw HTTP/1.1\r\nHost: ocsp.example.com\r\n\r\n"

/* ------------------------------------------------------------------------ */
/* Well-formed requests                                                      */
/* ------------------------------------------------------------------------ */

static void test_get_minimal(void **state) {
  (void)state;
  struct parsed p;
  parse_str(&p, REQ_GET);
  assert_int_equal(p.res, EDGE_HTTP_OK);
  assert_int_equal(p.req.method, EDGE_HTTP_GET);
  assert_int_equal(p.req.version, 11);
  assert_int_equal(p.req.keep_alive, 1);
  assert_int_equal(p.req.head_len, strlen(REQ_GET));
  assert_int_equal(p.req.content_length, 0);
  assert_int_equal(p.req.has_content_length, 0);
  assert_int_equal(p.req.num_headers, 1);
  assert_int_equal(p.req.expect_100, 0);
  view_is(&p.req.target, "/ocsp/MEUw");
  assert_null(p.req.query.ptr);
  view_is(&p.req.host, "ocsp.example.com");
  assert_null(p.req.content_type.ptr);
  assert_null(p.req.if_none_match.ptr);
  assert_null(p.req.if_modified_since.ptr);
  done(&p);
}

static void test_post_with_body(void **state) {
  (void)state;
  const char *s =
      "POST /ocsp/demo HTTP/1.1\r\n"
      "Host: 127.0.0.1:8080\r\n"
      "User-Agent: curl/7.88.1\r\n"
      "Accept: */*\r\n"
      "Content-Type: application/ocsp-request\r\n"
      "Content-Length: 5\r\n"
      "\r\n"
      "\x30\x03\x02\x01\x05";
  struct parsed p;
  parse_str(&p, s);
  assert_int_equal(p.res, EDGE_HTTP_OK);
  assert_int_equal(p.req.method, EDGE_HTTP_POST);
  assert_int_equal(p.req.head_len, strlen(s) - 5);
  assert_int_equal(p.req.content_length, 5);
  assert_int_equal(p.req.has_content_length, 1);
  assert_int_equal(p.req.num_headers, 5);
  view_is(&p.req.target, "/ocsp/demo");
  view_is(&p.req.host, "127.0.0.1:8080");
  view_is(&p.req.content_type, "application/ocsp-request");
  done(&p);
}

static void test_head_and_http10(void **state) {
  (void)state;
  struct parsed p;
  parse_str(&p, "HEAD /crl/demo HTTP/1.0\r\n\r\n");
  assert_int_equal(p.res, EDGE_HTTP_OK);
  assert_int_equal(p.req.method, EDGE_HTTP_HEAD);
  assert_int_equal(p.req.version, 10);
  assert_int_equal(p.req.keep_alive, 0);
  assert_null(p.req.host.ptr); /* HTTP/1.0 needs no Host */
  assert_int_equal(p.req.num_headers, 0);
  done(&p);
}

static void test_query_split(void **state) {
  (void)state;
  struct parsed p;
  parse_str(&p, "GET /ocsp/MEUw?x=1&y=/a?b HTTP/1.1\r\nHost: h\r\n\r\n");
  assert_int_equal(p.res, EDGE_HTTP_OK);
  view_is(&p.req.target, "/ocsp/MEUw");
  view_is(&p.req.query, "x=1&y=/a?b");
  done(&p);

  parse_str(&p, "GET /crl/demo? HTTP/1.1\r\nHost: h\r\n\r\n");
  assert_int_equal(p.res, EDGE_HTTP_OK);
  view_is(&p.req.target, "/crl/demo");
  view_is(&p.req.query, ""); /* present but empty */
  done(&p);
}

static void test_percent_encoding(void **state) {
  (void)state;
  struct parsed p;
  parse_str(&p, "GET /ocsp/MEMwQTA%2FMD0w%2bAB%3D HTTP/1.1\r\nHost: h\r\n\r\n");
  assert_int_equal(p.res, EDGE_HTTP_OK);
  view_is(&p.req.target, "/ocsp/MEMwQTA%2FMD0w%2bAB%3D"); /* not decoded */
  done(&p);
  assert_int_equal(result_of("GET /a%2 HTTP/1.1\r\nHost: h\r\n\r\n"),
                   EDGE_HTTP_BAD_REQUEST);
  assert_int_equal(result_of("GET /a% HTTP/1.1\r\nHost: h\r\n\r\n"),
                   EDGE_HTTP_BAD_REQUEST);
  assert_int_equal(result_of("GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n"),
                   EDGE_HTTP_BAD_REQUEST);
  assert_int_equal(result_of("GET /a?q=%g0 HTTP/1.1\r\nHost: h\r\n\r\n"),
                   EDGE_HTTP_BAD_REQUEST);
  assert_int_equal(result_of("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n"),
                   EDGE_HTTP_BAD_REQUEST);
}

static void test_absolute_form(void **state) {
  (void)state;
  struct parsed p;
  parse_str(&p,
            "GET http://ocsp.example.com:80/ocsp/MEUw?x HTTP/1.1\r\n"
            "Host: ignored.example\r\n\r\n");
  assert_int_equal(p.res, EDGE_HTTP_OK);
  view_is(&p.req.target, "/ocsp/MEUw");
  view_is(&p.req.query, "x");
  done(&p);

  parse_str(&p, "GET HTTPS://[::1]:8443/crl/demo HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(p.res, EDGE_HTTP_OK);
  view_is(&p.req.target, "/crl/demo");
  done(&p);

  /* An empty path stays empty; the router then says 404. */
  parse_str(&p, "GET http://h HTTP/1.1\r\nHost: h\r\n\r\n");
  assert_int_equal(p.res, EDGE_HTTP_OK);
  assert_non_null(p.req.target.ptr);
  assert_int_equal(p.req.target.len, 0);
  done(&p);

  assert_int_equal(result_of("GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n"),
                   EDGE_HTTP_BAD_REQUEST); /* userinfo */
  assert_int_equal(result_of("GET http:/// HTTP/1.1\r\nHost: h\r\n\r\n"),
                   EDGE_HTTP_BAD_REQUEST); /* no host */
  assert_int_equal(result_of("GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n"),
                   EDGE_HTTP_BAD_REQUEST);
  assert_int_equal(result_of("GET ocsp/x HTTP/1.1\r\nHost: h\r\n\r\n"),
                   EDGE_HTTP_BAD_REQUEST);
  assert_int_equal(result_of("GET * HTTP/1.1\r\nHost: h\r\n\r\n"),
                   EDGE_HTTP_BAD_REQUEST); /* asterisk only with OPTIONS */
  assert_int_equal(result_of("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"),
                   EDGE_HTTP_METHOD_NOT_ALLOWED);
}

static void test_leading_empty_lines(void **state) {
  (void)state;
  struct parsed p;
  const char *s = "\r\n\r\n" REQ_GET;
  parse_str(&p, s);
  assert_int_equal(p.res, EDGE_HTTP_OK);
  assert_int_equal(p.req.head_len, strlen(s));
  view_is(&p.req.target, "/ocsp/MEUw");
  done(&p);
  assert_int_equal(result_of("\r\n"), EDGE_HTTP_INCOMPLETE);
  assert_int_equal(result_of("\n" REQ_GET), EDGE_HTTP_BAD_REQUEST);
  assert_int_equal(result_of("\r\r\n" REQ_GET), EDGE_HTTP_BAD_REQUEST);
}

static void test_ows_trimmed(void **state) {
  (void)state;
  struct parsed p;
  parse_str(&p,
            "POST /ocsp HTTP/1.1\r\n"
            "Host:h\r\n"
            "Content-Type: \t application/ocsp-request \t \r\n"
            "Content-Length:\t0 \r\n"
            "If-None-Match:    \r\n"
            "\r\n");
  assert_int_equal(p.res, EDGE_HTTP_OK);
  view_is(&p.req.host, "h");
  view_is(&p.req.content_type, "application/ocsp-request");
  assert_int_equal(p.req.content_length, 0);
  assert_int_equal(p.req.has_content_length, 1);
  view_is(&p.req.if_none_match, ""); /* present, empty */
  done(&p);
}

static void test_case_insensitive_names(void **state) {
  (void)state;
  struct parsed p;
  parse_str(&p,
            "POST /ocsp HTTP/1.1\r\n"
            "hOsT: h\r\n"
            "CONTENT-LENGTH: 3\r\n"
            "content-type: application/ocsp-request\r\n"
            "iF-nOnE-mAtCh: \"abc\"\r\n"
            "IF-MODIFIED-SINCE: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "CONNECTION: CLOSE\r\n"
            "eXpEcT: 100-CONTINUE\r\n"
            "\r\nabc");
  assert_int_equal(p.res, EDGE_HTTP_OK);
  view_is(&p.req.host, "h");
  assert_int_equal(p.req.content_length, 3);
  view_is(&p.req.content_type, "application/ocsp-request");
  view_is(&p.req.if_none_match, "\"abc\"");
  view_is(&p.req.if_modified_since, "Sun, 06 Nov 1994 08:49:37 GMT");
  assert_int_equal(p.req.keep_alive, 0);
  assert_int_equal(p.req.expect_100, 1);
  done(&p);
  /* Transfer-Encoding is recognised in any case too. */
  assert_int_equal(
      result_of("POST /ocsp HTTP/1.1\r\nHost: h\r\ntRaNsFeR-eNcOdInG: "
                "chunked\r\n\r\n"),
      EDGE_HTTP_NOT_IMPLEMENTED);
  /* Methods are case-sensitive: "get" is an unknown method. */
  assert_int_equal(result_of("get / HTTP/1.1\r\nHost: h\r\n\r\n"),
                   EDGE_HTTP_NOT_IMPLEMENTED);
}

/* ------------------------------------------------------------------------ */
/* Connection management                                                     */
/* ------------------------------------------------------------------------ */

static int keep_alive_of(const char *s) {
  struct parsed p;
  parse_str(&p, s);
  assert_int_equal(p.res, EDGE_HTTP_OK);
  int ka = p.req.keep_alive;
  done(&p);
  return ka;
}

static void test_keep_alive(void **state) {
  (void)state;
  assert_int_equal(keep_alive_of("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 1);
  assert_int_equal(
      keep_alive_of("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
      0);
  assert_int_equal(keep_alive_of("GET / HTTP/1.1\r\nHost: h\r\n"
                                 "Connection: keep-alive\r\n\r\n"),
                   1);
  assert_int_equal(keep_alive_of("GET / HTTP/1.0\r\n\r\n"), 0);
  assert_int_equal(keep_alive_of("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n"
                                 "\r\n"),
                   1);
  assert_int_equal(keep_alive_of("GET / HTTP/1.0\r\nConnection: close\r\n\r\n"),
                   0);
  /* Token lists: empty elements allowed; close wins. */
  assert_int_equal(keep_alive_of("GET / HTTP/1.0\r\n"
                                 "Connection: , TE ,keep-alive,\r\n\r\n"),
                   1);
  assert_int_equal(keep_alive_of("GET / HTTP/1.0\r\n"
                                 "Connection: keep-alive, close\r\n\r\n"),
                   0);
  assert_int_equal(keep_alive_of("GET / HTTP/1.1\r\nHost: h\r\n"
                                 "Connection: Upgrade\r\nConnection: CLOSE\r\n"
                                 "\r\n"),
                   0);
  /* "closed" and "keep-alive2" are other tokens. */
  assert_int_equal(keep_alive_of("GET / HTTP/1.1\r\nHost: h\r\n"
                                 "Connection: closed\r\n\r\n"),
                   1);
  assert_int_equal(keep_alive_of("GET / HTTP/1.0\r\n"
                                 "Connection: keep-alive2\r\n\r\n"),
                   0);
  assert_int_equal(result_of("GET / HTTP/1.1\r\nHost: h\r\n"
                             "Connection: close keep-alive\r\n\r\n"),
                   EDGE_HTTP_BAD_REQUEST);
  assert_int_equal(result_of("GET / HTTP/1.1\r\nHost: h\r\n"
                             "Connection: \"close\"\r\n\r\n"),
                   EDGE_HTTP_BAD_REQUEST);
}

static void test_expect(void **state) {
  (void)state;
  struct parsed p;
  parse_str(&p,
            "POST /ocsp HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
            "Expect: 100-continue\r\n\r\n");
  assert_int_equal(p.res, EDGE_HTTP_OK);
  assert_int_equal(p.req.expect_100, 1);
  done(&p);
  /* RFC 9110 10.1.1: ignore 100-continue from an HTTP/1.0 client. */
  parse_str(&p,
            "POST /ocsp HTTP/1.0\r\nContent-Length: 1\r\n"
            "Expect: 100-continue\r\n\r\n");
  assert_int_equal(p.res, EDGE_HTTP_OK);
  assert_int_equal(p.req.expect_100, 0);
  done(&p);
  parse_str(&p, "GET / HTTP/1.1\r\nHost: h\r\nExpect: something\r\n\r\n");
  assert_int_equal(p.res, EDGE_HTTP_OK);
  assert_int_equal(p.req.expect_100, 0);
  done(&p);
}

/* ------------------------------------------------------------------------ */
/* Every result code                                                         */
/* ------------------------------------------------------------------------ */

struct result_case {
  const char *in;
  enum edge_http_result want;
  int status;
};

static void test_every_result_code(void **state) {
  (void)state;
  static const struct result_case cases[] = {
    { "GET / HTTP/1.1\r\nHost: h\r\n\r\n", EDGE_HTTP_OK, 0 },
    { "GET / HTTP/1.1\r\nHost: h\r\n", EDGE_HTTP_INCOMPLETE, 0 },
    { "GET / HTTP/1.1\r\nHost: h\r\n\n", EDGE_HTTP_BAD_REQUEST, 400 },
    { "PUT / HTTP/1.1\r\nHost: h\r\n\r\n", EDGE_HTTP_METHOD_NOT_ALLOWED, 405 },
    { "POST / HTTP/1.1\r\nHost: h\r\n\r\n", EDGE_HTTP_LENGTH_REQUIRED, 411 },
    { "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10001\r\n\r\n",
      EDGE_HTTP_BODY_TOO_LARGE, 413 },
    { "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
      EDGE_HTTP_NOT_IMPLEMENTED, 501 },
    { "BREW / HTTP/1.1\r\nHost: h\r\n\r\n", EDGE_HTTP_NOT_IMPLEMENTED, 501 },
    { "GET / HTTP/2.0\r\nHost: h\r\n\r\n", EDGE_HTTP_VERSION_NOT_SUPPORTED,
      505 },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    enum edge_http_result r = result_of(cases[i].in);
    if (r != cases[i].want) {
      fail_msg("case %zu: got %d want %d", i, (int)r, (int)cases[i].want);
    }
    assert_int_equal(edge_http_result_status(r), cases[i].status);
  }
  /* 414 and 431 need long inputs: see the bound tests. */
  assert_int_equal(edge_http_result_status(EDGE_HTTP_URI_TOO_LONG), 414);
  assert_int_equal(edge_http_result_status(EDGE_HTTP_HEADERS_TOO_LARGE), 431);
}

static void test_request_line_errors(void **state) {
  (void)state;
  static const struct result_case cases[] = {
    { "garbage\r\n", EDGE_HTTP_BAD_REQUEST, 400 },   /* before the head ends */
    { "GET /\r\n\r\n", EDGE_HTTP_BAD_REQUEST, 400 }, /* HTTP/0.9 */
    { "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", EDGE_HTTP_BAD_REQUEST, 400 },
    { "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", EDGE_HTTP_BAD_REQUEST, 400 },
    { " GET / HTTP/1.1\r\nHost: h\r\n\r\n", EDGE_HTTP_BAD_REQUEST, 400 },
    { "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", EDGE_HTTP_BAD_REQUEST, 400 },
    { "GET / http/1.1\r\nHost: h\r\n\r\n", EDGE_HTTP_BAD_REQUEST, 400 },
    { "GET / HTTP/1.10\r\nHost: h\r\n\r\n", EDGE_HTTP_BAD_REQUEST, 400 },
    { "GET / HTTP/1\r\nHost: h\r\n\r\n", EDGE_HTTP_BAD_REQUEST, 400 },
    { "GET / HTTP/a.1\r\nHost: h\r\n\r\n", EDGE_HTTP_BAD_REQUEST, 400 },
    { "GET / HTTP/1.1\rX\r\nHost: h\r\n\r\n", EDGE_HTTP_BAD_REQUEST, 400 },
    { "GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", EDGE_HTTP_BAD_REQUEST, 400 },
    { "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", EDGE_HTTP_BAD_REQUEST, 400 },
    { "GET / HTTP/1.2\r\nHost: h\r\n\r\n", EDGE_HTTP_VERSION_NOT_SUPPORTED,
      505 },
    { "GET / HTTP/0.9\r\n\r\n", EDGE_HTTP_VERSION_NOT_SUPPORTED, 505 },
    { "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", EDGE_HTTP_VERSION_NOT_SUPPORTED,
      505 },
    { "DELETE / HTTP/1.1\r\nHost: h\r\n\r\n", EDGE_HTTP_METHOD_NOT_ALLOWED,
      405 },
    { "OPTIONS / HTTP/1.1\r\nHost: h\r\n\r\n", EDGE_HTTP_METHOD_NOT_ALLOWED,
      405 },
    { "PATCH / HTTP/1.1\r\nHost: h\r\n\r\n", EDGE_HTTP_METHOD_NOT_ALLOWED,
      405 },
    { "TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", EDGE_HTTP_METHOD_NOT_ALLOWED,
      405 },
    { "CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n", EDGE_HTTP_METHOD_NOT_ALLOWED,
      405 },
    { "Get / HTTP/1.1\r\nHost: h\r\n\r\n", EDGE_HTTP_NOT_IMPLEMENTED, 501 },
    { "GETS / HTTP/1.1\r\nHost: h\r\n\r\n", EDGE_HTTP_NOT_IMPLEMENTED, 501 },
    { "PROPFIND / HTTP/1.1\r\nHost: h\r\n\r\n", EDGE_HTTP_NOT_IMPLEMENTED,
      501 },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    enum edge_http_result r = result_of(cases[i].in);
    if (r != cases[i].want) {
      fail_msg("case %zu (%s): got %d want %d", i, cases[i].in, (int)r,
               (int)cases[i].want);
    }
  }
}

static void test_header_syntax_errors(void **state) {
  (void)state;
  static const char *const bad[] = {
    "GET / HTTP/1.1\r\nHost : h\r\n\r\n",              /* SP before colon */
    "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n",             /* HTAB before colon */
    "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", /* obs-fold */
    "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n",
    "GET / HTTP/1.1\r\n Host: h\r\n\r\n",            /* SP after start line */
    "GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n",      /* empty name */
    "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n",  /* no colon */
    "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",  /* bare CR */
    "GET / HTTP/1.1\r\nHost: h\r\nX: a\nb\r\n\r\n",  /* bare LF */
    "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n", /* CTL */
    "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n", /* DEL */
    "GET / HTTP/1.1\r\nHost: h\r\nX\x80: a\r\n\r\n", /* non-token */
    "GET / HTTP/1.1\r\nHost: h\r\n\r\r\n",           /* CR CR LF */
    "GET / HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n",  /* two Hosts */
    "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",           /* bad Host */
    "GET / HTTP/1.1\r\nHost: u@h\r\n\r\n",           /* userinfo */
    "GET / HTTP/1.1\r\n\r\n",                        /* no Host */
    "GET / HTTP/1.1\r\nHost: h\r\nContent-Type: a\r\n"
    "Content-Type: b\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"a\"\r\n"
    "If-None-Match: \"b\"\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nIf-Modified-Since: x\r\n"
    "If-Modified-Since: y\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    if (result_of(bad[i]) != EDGE_HTTP_BAD_REQUEST) {
      fail_msg("case %zu: not 400: %s", i, bad[i]);
    }
  }
  /* A NUL byte in a value (the parser never stops at a NUL). */
  static const char nul[] = "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";
  struct parsed p;
  parse_bytes_lim(&p, nul, sizeof(nul) - 1, NULL);
  assert_int_equal(p.res, EDGE_HTTP_BAD_REQUEST);
  done(&p);
  /* Host may be empty (RFC 9112 3.2) or an IP literal with a port. */
  assert_int_equal(result_of("GET / HTTP/1.1\r\nHost:\r\n\r\n"), EDGE_HTTP_OK);
  assert_int_equal(result_of("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"),
                   EDGE_HTTP_OK);
  /* Unknown headers may repeat; obs-text is allowed in values. */
  assert_int_equal(result_of("GET / HTTP/1.1\r\nHost: h\r\nX: 1\r\nX: 2\r\n"
                             "Y: caf\xc3\xa9\r\n\r\n"),
                   EDGE_HTTP_OK);
}

static void test_content_length_rules(void **state) {
  (void)state;
  struct parsed p;
  /* Repeated lines or a list with equal values are one value. */
  parse_str(&p,
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n"
            "Content-Length: 7\r\n\r\n");
  assert_int_equal(p.res, EDGE_HTTP_OK);
  assert_int_equal(p.req.content_length, 7);
  done(&p);
  parse_str(&p,
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 7 ,7,  7\r\n\r\n");
  assert_int_equal(p.res, EDGE_HTTP_OK);
  assert_int_equal(p.req.content_length, 7);
  done(&p);
  parse_str(&p, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0010\r\n\r\n");
  assert_int_equal(p.res, EDGE_HTTP_OK);
  assert_int_equal(p.req.content_length, 10);
  done(&p);
  /* A GET may carry a (bounded) body; the caller skips it. */
  parse_str(&p, "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab");
  assert_int_equal(p.res, EDGE_HTTP_OK);
  assert_int_equal(p.req.content_length, 2);
  done(&p);

  static const char *const bad_values[] = {
    "7\r\nContent-Length: 8",  /* different values on two lines */
    "7, 8",                    /* different values in a list */
    "",                        /* empty */
    "abc",                     /* not digits */
    "+7",                      /* sign */
    "-1",                      /* negative */
    "7.0",                     /* not an integer */
    "0x10",                    /* hex */
    "7,",                      /* empty list element */
    ",7",                      /* empty list element */
    "7 7",                     /* two numbers, no comma */
    "18446744073709551616",    /* 2^64: overflows */
    "99999999999999999999999", /* overflows */
  };
  for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
    char req[256];
    int n = snprintf(req, sizeof(req),
                     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %s\r\n\r\n",
                     bad_values[i]);
    assert_true(n > 0 && (size_t)n < sizeof(req));
    if (result_of(req) != EDGE_HTTP_BAD_REQUEST) {
      fail_msg("Content-Length \"%s\" accepted", bad_values[i]);
    }
  }
  /* The largest 64-bit value parses, and is then too large. */
  assert_int_equal(result_of("POST / HTTP/1.1\r\nHost: h\r\n"
                             "Content-Length: 18446744073709551615\r\n\r\n"),
                   EDGE_HTTP_BODY_TOO_LARGE);
}

static void test_transfer_encoding(void **state) {
  (void)state;
  assert_int_equal(result_of("POST /ocsp HTTP/1.1\r\nHost: h\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"),
                   EDGE_HTTP_NOT_IMPLEMENTED);
  assert_int_equal(result_of("POST /ocsp HTTP/1.1\r\nHost: h\r\n"
                             "Transfer-Encoding: gzip, chunked\r\n\r\n"),
                   EDGE_HTTP_NOT_IMPLEMENTED);
  assert_int_equal(result_of("POST /ocsp HTTP/1.0\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"),
                   EDGE_HTTP_NOT_IMPLEMENTED);
  /* TE + CL in either order: request smuggling, 400 (RFC 9112 6.1). */
  assert_int_equal(result_of("POST /ocsp HTTP/1.1\r\nHost: h\r\n"
                             "Content-Length: 5\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"),
                   EDGE_HTTP_BAD_REQUEST);
  assert_int_equal(result_of("POST /ocsp HTTP/1.1\r\nHost: h\r\n"
                             "Transfer-Encoding: chunked\r\n"
                             "Content-Length: 5\r\n\r\n"),
                   EDGE_HTTP_BAD_REQUEST);
}

static void test_outcome_order(void **state) {
  (void)state;
  /* Method before framing; framing before Host; Host before 411/413. */
  assert_int_equal(result_of("PUT / HTTP/1.1\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"),
                   EDGE_HTTP_METHOD_NOT_ALLOWED);
  assert_int_equal(result_of("POST / HTTP/1.1\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"),
                   EDGE_HTTP_NOT_IMPLEMENTED);
  assert_int_equal(result_of("POST / HTTP/1.1\r\n\r\n"), EDGE_HTTP_BAD_REQUEST);
  assert_int_equal(result_of("POST / HTTP/1.0\r\n\r\n"),
                   EDGE_HTTP_LENGTH_REQUIRED);
  /* A line-level error is reported before the head is complete. */
  assert_int_equal(result_of("GET / HTTP/1.1\r\nBad Name: v\r\nHost"),
                   EDGE_HTTP_BAD_REQUEST);
}

static void test_out_after_error(void **state) {
  (void)state;
  struct parsed p;
  /* HEAD is kept after an error so the answer can omit its body. */
  parse_str(&p, "HEAD / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999\r\n\r\n");
  assert_int_equal(p.res, EDGE_HTTP_BODY_TOO_LARGE);
  assert_int_equal(p.req.method, EDGE_HTTP_HEAD);
  assert_int_equal(p.req.version, 11);
  assert_int_equal(p.req.content_length, 0);
  done(&p);
  parse_str(&p, "HEAD / HTTP/1.0\r\nHost: h\r\n");
  assert_int_equal(p.res, EDGE_HTTP_INCOMPLETE);
  assert_int_equal(p.req.method, EDGE_HTTP_HEAD);
  assert_int_equal(p.req.version, 10);
  done(&p);
  parse_str(&p, "HEAD / HTTP/1.");
  assert_int_equal(p.res, EDGE_HTTP_INCOMPLETE);
  assert_int_equal(p.req.version, 0); /* no request line yet */
  done(&p);
  /* NULL with length 0 is an empty read. */
  struct edge_http_request req;
  assert_int_equal(edge_http_parse(&req, NULL, 0, NULL), EDGE_HTTP_INCOMPLETE);
}

/* ------------------------------------------------------------------------ */
/* Bounds                                                                    */
/* ------------------------------------------------------------------------ */

/* make_head builds "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: aaa...\r\n\r\n"
 * of exactly |total| bytes (total >= 40). */
static void make_head(struct sb *b, size_t total) {
  const char *start = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
  const char *end = "\r\n\r\n";
  size_t fixed = strlen(start) + strlen(end);
  assert_true(total > fixed);
  sb_str(b, start);
  sb_rep(b, 'a', total - fixed);
  sb_str(b, end);
  assert_int_equal(b->len, total);
}

static void test_head_limit_boundary(void **state) {
  (void)state;
  struct sb b = { 0 };
  make_head(&b, 8192);
  struct parsed p;
  parse_bytes_lim(&p, b.p, b.len, NULL);
  assert_int_equal(p.res, EDGE_HTTP_OK);
  assert_int_equal(p.req.head_len, 8192);
  done(&p);
  /* The same head with a pipelined request after it still parses. */
  sb_str(&b, REQ_GET);
  parse_bytes_lim(&p, b.p, b.len, NULL);
  assert_int_equal(p.res, EDGE_HTTP_OK);
  assert_int_equal(p.req.head_len, 8192);
  done(&p);
  /* One byte short of its end: still waiting. */
  parse_bytes_lim(&p, b.p, 8191, NULL);
  assert_int_equal(p.res, EDGE_HTTP_INCOMPLETE);
  done(&p);
  free(b.p);

  b = (struct sb){ 0 };
  make_head(&b, 8193);
  parse_bytes_lim(&p, b.p, b.len, NULL);
  assert_int_equal(p.res, EDGE_HTTP_HEADERS_TOO_LARGE);
  done(&p);
  /* 8192 bytes without the end of the head are already too many... */
  parse_bytes_lim(&p, b.p, 8192, NULL);
  assert_int_equal(p.res, EDGE_HTTP_HEADERS_TOO_LARGE);
  done(&p);
  /* ...8191 are not yet. */
  parse_bytes_lim(&p, b.p, 8191, NULL);
  assert_int_equal(p.res, EDGE_HTTP_INCOMPLETE);
  done(&p);
  free(b.p);

  /* Empty lines before the request line count toward the limit. */
  b = (struct sb){ 0 };
  for (int i = 0; i < 4096; i++) {
    sb_str(&b, "\r\n");
  }
  parse_bytes_lim(&p, b.p, b.len, NULL);
  assert_int_equal(p.res, EDGE_HTTP_HEADERS_TOO_LARGE);
  done(&p);
  free(b.p);

  /* A configured limit. */
  struct edge_http_limits lim = { 0 };
  lim.max_head = strlen(REQ_GET);
  parse_bytes_lim(&p, REQ_GET, strlen(REQ_GET), &lim);
  assert_int_equal(p.res, EDGE_HTTP_OK);
  done(&p);
  lim.max_head = strlen(REQ_GET) - 1;
  parse_bytes_lim(&p, REQ_GET, strlen(REQ_GET), &lim);
  assert_int_equal(p.res, EDGE_HTTP_HEADERS_TOO_LARGE);
  done(&p);
}

static void test_body_limit_boundary(void **state) {
  (void)state;
  assert_int_equal(result_of("POST /ocsp HTTP/1.1\r\nHost: h\r\n"
                             "Content-Length: 10000\r\n\r\n"),
                   EDGE_HTTP_OK);
  assert_int_equal(result_of("POST /ocsp HTTP/1.1\r\nHost: h\r\n"
                             "Content-Length: 10001\r\n\r\n"),
                   EDGE_HTTP_BODY_TOO_LARGE);
  struct edge_http_limits lim = { 0 };
  lim.max_body = 5;
  const char *ok =
      "POST /ocsp HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
  const char *big =
      "POST /ocsp HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\n";
  struct parsed p;
  parse_bytes_lim(&p, ok, strlen(ok), &lim);
  assert_int_equal(p.res, EDGE_HTTP_OK);
  done(&p);
  parse_bytes_lim(&p, big, strlen(big), &lim);
  assert_int_equal(p.res, EDGE_HTTP_BODY_TOO_LARGE);
  done(&p);
}

static void test_target_limit_boundary(void **state) {
  (void)state;
  struct parsed p;
  for (size_t tlen = 4095; tlen <= 4097; tlen++) {
    struct sb b = { 0 };
    sb_str(&b, "GET /");
    sb_rep(&b, 'a', tlen - 1);
    size_t line_part = b.len;
    sb_str(&b, " HTTP/1.1\r\nHost: h\r\n\r\n");
    parse_bytes_lim(&p, b.p, b.len, NULL);
    assert_int_equal(p.res,
                     tlen <= 4096 ? EDGE_HTTP_OK : EDGE_HTTP_URI_TOO_LONG);
    if (p.res == EDGE_HTTP_OK) {
      assert_int_equal(p.req.target.len, tlen);
    }
    done(&p);
    /* Before the request line ends: 414 as soon as the target is too long,
     * INCOMPLETE until then. */
    parse_bytes_lim(&p, b.p, line_part, NULL);
    assert_int_equal(
        p.res, tlen <= 4096 ? EDGE_HTTP_INCOMPLETE : EDGE_HTTP_URI_TOO_LONG);
    done(&p);
    free(b.p);
  }
  /* The query counts toward the target. */
  struct sb b = { 0 };
  sb_str(&b, "GET /x?");
  sb_rep(&b, 'q', 4094);
  sb_str(&b, " HTTP/1.1\r\nHost: h\r\n\r\n");
  parse_bytes_lim(&p, b.p, b.len, NULL);
  assert_int_equal(p.res, EDGE_HTTP_URI_TOO_LONG);
  done(&p);
  free(b.p);
}

static void test_header_count_boundary(void **state) {
  (void)state;
  for (int count = 63; count <= 65; count++) {
    struct sb b = { 0 };
    sb_str(&b, "GET / HTTP/1.1\r\nHost: h\r\n");
    for (int i = 1; i < count; i++) { /* Host is one */
      sb_str(&b, "X-A: b\r\n");
    }
    sb_str(&b, "\r\n");
    struct parsed p;
    parse_bytes_lim(&p, b.p, b.len, NULL);
    assert_int_equal(p.res,
                     count <= 64 ? EDGE_HTTP_OK : EDGE_HTTP_HEADERS_TOO_LARGE);
    if (p.res == EDGE_HTTP_OK) {
      assert_int_equal(p.req.num_headers, count);
    }
    done(&p);
    free(b.p);
  }
}

static void test_limits_defaults(void **state) {
  (void)state;
  struct edge_http_limits lim;
  edge_http_limits_default(&lim);
  assert_int_equal(lim.max_head, 8192);
  assert_int_equal(lim.max_target, 4096);
  assert_int_equal(lim.max_body, 10000);
  assert_int_equal(lim.max_headers, 64);
  /* Zero fields mean the default: a zeroed struct behaves like NULL. */
  struct edge_http_limits zero = { 0 };
  struct parsed p;
  const char *s =
      "POST /ocsp HTTP/1.1\r\nHost: h\r\nContent-Length: 10001\r\n\r\n";
  parse_bytes_lim(&p, s, strlen(s), &zero);
  assert_int_equal(p.res, EDGE_HTTP_BODY_TOO_LARGE);
  done(&p);
  struct edge_http_limits few = { 0 };
  few.max_headers = 1;
  s = "GET / HTTP/1.1\r\nHost: h\r\nX: y\r\n\r\n";
  parse_bytes_lim(&p, s, strlen(s), &few);
  assert_int_equal(p.res, EDGE_HTTP_HEADERS_TOO_LARGE);
  done(&p);
}

/* ------------------------------------------------------------------------ */
/* Streaming                                                                 */
/* ------------------------------------------------------------------------ */

/* Every strict prefix of a valid request's head is INCOMPLETE, never OK,
 * never an error, and (ASan) never read past its end. */
static void test_every_truncation_incomplete(void **state) {
  (void)state;
  static const char *const valid[] = {
    REQ_GET,
    "\r\nPOST /ocsp/demo HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
    "User-Agent: openssl\r\nContent-Type: application/ocsp-request\r\n"
    "Accept: */*\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    "GET http://ocsp.example.com/ocsp/MEMwQTA%2FMD0w?x=y HTTP/1.1\r\n"
    "Host: ocsp.example.com\r\nIf-None-Match: W/\"a\", \"b\"\r\n"
    "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
    "HEAD /crl/demo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "GET /x HTTP/1.1\r\nHost:\r\nX-Empty:\r\nX-Tab:\t\tv\t\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
    struct parsed full;
    parse_str(&full, valid[i]);
    assert_int_equal(full.res, EDGE_HTTP_OK);
    size_t head_len = full.req.head_len;
    done(&full);
    for (size_t cut = 0; cut < head_len; cut++) {
      struct parsed p;
      parse_bytes_lim(&p, valid[i], cut, NULL);
      if (p.res != EDGE_HTTP_INCOMPLETE) {
        fail_msg("request %zu cut at %zu: got %d", i, cut, (int)p.res);
      }
      done(&p);
    }
  }
}

static void test_pipelined(void **state) {
  (void)state;
  const char *s =
      "GET /ocsp/MEUw HTTP/1.1\r\nHost: h\r\n\r\n"
      "POST /ocsp/demo HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n"
      "\x30\x02\x05\x05"
      "\r\n" /* stray CRLF after a body, as old clients send */
      "HEAD /crl/demo HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  size_t len = strlen(s);
  char *buf = malloc(len);
  assert_non_null(buf);
  memcpy(buf, s, len);
  static const enum edge_http_method methods[] = { EDGE_HTTP_GET,
                                                   EDGE_HTTP_POST,
                                                   EDGE_HTTP_HEAD };
  static const char *const targets[] = { "/ocsp/MEUw", "/ocsp/demo",
                                         "/crl/demo" };
  size_t off = 0;
  for (int i = 0; i < 3; i++) {
    struct edge_http_request req;
    assert_int_equal(edge_http_parse(&req, buf + off, len - off, NULL),
                     EDGE_HTTP_OK);
    assert_int_equal(req.method, methods[i]);
    view_is(&req.target, targets[i]);
    if (i == 1) {
      assert_int_equal(req.content_length, 4);
      assert_memory_equal(buf + off + req.head_len, "\x30\x02\x05\x05", 4);
    }
    assert_int_equal(req.keep_alive, i < 2);
    assert_true(req.head_len + req.content_length <= len - off);
    off += req.head_len + req.content_length;
  }
  assert_int_equal(off, len);
  /* Nothing left: an empty read. */
  struct edge_http_request req;
  assert_int_equal(edge_http_parse(&req, buf + off, 0, NULL),
                   EDGE_HTTP_INCOMPLETE);
  free(buf);
}

/* ------------------------------------------------------------------------ */
/* Character classes, byte by byte                                           */
/* ------------------------------------------------------------------------ */

static int in_set(int c, const char *set) {
  return c != 0 && strchr(set, c) != NULL;
}

static int is_alnum_ascii(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

/* RFC 9110 5.6.2 tchar. */
static int rfc_tchar(int c) {
  return is_alnum_ascii(c) || in_set(c, "!#$%&'*+-.^_`|~");
}

/* RFC 3986 pchar minus '%' (tested apart), plus '/' and '?'. */
static int rfc_target_char(int c) {
  return is_alnum_ascii(c) || in_set(c, "-._~!$&'()*+,;=:@/?");
}

/* RFC 9110 5.5 field-vchar / SP / HTAB inside a value. */
static int rfc_value_char(int c) {
  return c == ' ' || c == '\t' || (c >= 0x21 && c <= 0x7e) || c >= 0x80;
}

static enum edge_http_result parse_with_byte(const char *pre, int c,
                                             const char *post) {
  struct sb b = { 0 };
  sb_str(&b, pre);
  char ch = (char)c;
  sb_add(&b, &ch, 1);
  sb_str(&b, post);
  struct parsed p;
  parse_bytes_lim(&p, b.p, b.len, NULL);
  enum edge_http_result r = p.res;
  done(&p);
  free(b.p);
  return r;
}

static void test_byte_classes(void **state) {
  (void)state;
  for (int c = 0; c < 256; c++) {
    /* Header names: tokens only (':' would end the name early). */
    if (c != ':') {
      enum edge_http_result r =
          parse_with_byte("GET / HTTP/1.1\r\nHost: h\r\nA", c, "B: v\r\n\r\n");
      if ((r == EDGE_HTTP_OK) != rfc_tchar(c)) {
        fail_msg("name byte 0x%02x: got %d", c, (int)r);
      }
    }
    /* Methods: any token is a method (501 if unknown). */
    enum edge_http_result r =
        parse_with_byte("G", c, "T / HTTP/1.1\r\nHost: h\r\n\r\n");
    if (c == 'E') {
      assert_int_equal(r, EDGE_HTTP_OK); /* "GET" */
    } else if ((r == EDGE_HTTP_NOT_IMPLEMENTED) != rfc_tchar(c)) {
      fail_msg("method byte 0x%02x: got %d", c, (int)r);
    }
    /* Values. */
    r = parse_with_byte("GET / HTTP/1.1\r\nHost: h\r\nX: a", c, "b\r\n\r\n");
    if ((r == EDGE_HTTP_OK) != rfc_value_char(c)) {
      fail_msg("value byte 0x%02x: got %d", c, (int)r);
    }
    /* Targets ('%' needs hex digits after it: tested elsewhere). */
    if (c != '%') {
      r = parse_with_byte("GET /a", c, "b HTTP/1.1\r\nHost: h\r\n\r\n");
      if ((r == EDGE_HTTP_OK) != rfc_target_char(c)) {
        fail_msg("target byte 0x%02x: got %d", c, (int)r);
      }
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_get_minimal),
    cmocka_unit_test(test_post_with_body),
    cmocka_unit_test(test_head_and_http10),
    cmocka_unit_test(test_query_split),
    cmocka_unit_test(test_percent_encoding),
    cmocka_unit_test(test_absolute_form),
    cmocka_unit_test(test_leading_empty_lines),
    cmocka_unit_test(test_ows_trimmed),
    cmocka_unit_test(test_case_insensitive_names),
    cmocka_unit_test(test_keep_alive),
    cmocka_unit_test(test_expect),
    cmocka_unit_test(test_every_result_code),
    cmocka_unit_test(test_request_line_errors),
    cmocka_unit_test(test_header_syntax_errors),
    cmocka_unit_test(test_content_length_rules),
    cmocka_unit_test(test_transfer_encoding),
    cmocka_unit_test(test_outcome_order),
    cmocka_unit_test(test_out_after_error),
    cmocka_unit_test(test_head_limit_boundary),
    cmocka_unit_test(test_body_limit_boundary),
    cmocka_unit_test(test_target_limit_boundary),
    cmocka_unit_test(test_header_count_boundary),
    cmocka_unit_test(test_limits_defaults),
    cmocka_unit_test(test_every_truncation_incomplete),
    cmocka_unit_test(test_pipelined),
    cmocka_unit_test(test_byte_classes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
