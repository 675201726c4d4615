/* http.h: the edge's strict, bounded, zero-allocation HTTP/1.1 request
 * head parser.
 *
 * It runs once per request on an io_uring server thread, straight over the
 * connection's receive buffer: it never allocates, never copies, never reads
 * the locale and never assumes NUL termination. Every string it returns is
 * a view (pointer + length) into the caller's buffer and stays valid as
 * long as those bytes do.
 *
 * The parser is stateless: the caller accumulates bytes and calls
 * edge_http_parse again over the whole unconsumed input until it stops
 * returning EDGE_HTTP_INCOMPLETE. A request head is short (at most 8 KiB by
 * default) and the scan is linear, so re-scanning a partial head costs less
 * than keeping resumable state per connection.
 *
 * What the parser accepts (RFC 9112, RFC 9110), and the choices made where
 * the RFCs allow leniency -- we take the strict side everywhere:
 *
 *  - Lines end in CRLF. A bare LF (which RFC 9112 2.2 lets a recipient
 *    accept) or a bare CR anywhere in the head is 400: lenient line endings
 *    are how request smuggling between a CDN and an origin starts.
 *  - Empty lines (CRLF) before the request line are skipped (RFC 9112 2.2;
 *    old clients send one after a POST body). They count in head_len and
 *    toward max_head.
 *  - Request line: method SP request-target SP HTTP-version, single spaces.
 *    The method is case-sensitive. GET, HEAD and POST are served; other
 *    methods registered by RFC 9110 (PUT, DELETE, OPTIONS, CONNECT, TRACE)
 *    and PATCH are 405 (the caller sends Allow); any other token is 501, as
 *    RFC 9110 9.1 asks for an unrecognised method.
 *  - request-target: origin-form ("/path?query") or absolute-form
 *    ("http://host/path", which RFC 9112 3.2.2 says a server MUST accept;
 *    the authority is validated and ignored, the path is returned, and may
 *    be empty). "*" only with OPTIONS (which is then 405). Only the bytes
 *    RFC 3986 allows in a path or query; every '%' must start a valid %XX
 *    escape; no '#'. The whole target (path and query) is bounded by
 *    max_target (414).
 *  - HTTP-version: exactly "HTTP/1.0" or "HTTP/1.1"; another well-formed
 *    "HTTP/d.d" is 505 (even 1.2: we do not guess at minor versions),
 *    anything else 400.
 *  - Header lines: token ":" OWS value OWS. Whitespace before the colon,
 *    a line starting with whitespace (obs-fold), an empty name, or a CTL
 *    other than HTAB in a value is 400. Names are matched
 *    case-insensitively; values are trimmed of OWS.
 *  - Host: required in HTTP/1.1 and at most once (RFC 9112 3.2, 400
 *    otherwise); the value must look like uri-host [":" port] (may be
 *    empty).
 *  - Content-Length: 1*DIGIT. Repeated lines or a comma list with equal
 *    values are one value (RFC 9110 8.6); different values, non-digits or
 *    a value that overflows 64 bits are 400. POST without it is 411; a
 *    value above max_body is 413 for every method.
 *  - Transfer-Encoding of any kind is 501 (we accept no chunked uploads);
 *    together with Content-Length it is 400 (RFC 9112 6.1: the classic
 *    smuggling vector).
 *  - Connection: a comma list of tokens, case-insensitive. "close" turns
 *    keep-alive off; "keep-alive" turns it on for HTTP/1.0 (off by
 *    default there); HTTP/1.1 is on by default. "close" wins over both.
 *  - Expect: "100-continue" (case-insensitive) sets expect_100 on
 *    HTTP/1.1 only (RFC 9110 10.1.1: ignore it on 1.0); other expectations
 *    are ignored.
 *  - Content-Type, If-None-Match, If-Modified-Since and Host are returned
 *    as views; a second line of any of them is 400. (If-None-Match is a
 *    list field that could legally be split over lines; merging them would
 *    need a copy, and no client we know splits it.)
 *  - At most max_headers header lines (431 beyond) and max_head bytes of
 *    head including the final CRLFCRLF (431 beyond).
 *
 * Order of outcomes: line-level problems are reported as soon as the line
 * is complete -- even before the rest of the head has arrived -- so a
 * garbage request line is 400 at once, and a request line whose target is
 * already longer than max_target is 414 even before its CRLF. After the
 * final CRLFCRLF the checks run in this order: method (405 / 501),
 * Transfer-Encoding (400 with Content-Length, else 501), missing Host (400),
 * POST without Content-Length (411), Content-Length above max_body (413).
 *
 * Pipelining: after EDGE_HTTP_OK the request body is the content_length
 * bytes at buf + head_len; the next request starts at
 * buf + head_len + content_length. After any result other than OK and
 * INCOMPLETE the caller answers with edge_http_result_status() and closes
 * the connection: the message framing is unknown or untrusted. */
#ifndef EDGE_HTTP_H
#define EDGE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef EDGE_MUST_CHECK
#define EDGE_MUST_CHECK __attribute__((warn_unused_result))
#endif

/* --- Views and limits ---------------------------------------------------- */

/* A byte range inside a caller's buffer. Not NUL-terminated. A header or
 * part that is absent has ptr == NULL and len == 0; a present but empty one
 * has ptr inside the buffer and len == 0. */
struct edge_http_view {
  const char *ptr; /* first byte, or NULL when absent */
  size_t len;      /* number of bytes */
};

/* Defaults (DESIGN.md section 4). */
#define EDGE_HTTP_DEFAULT_MAX_HEAD    8192  /* request line + headers */
#define EDGE_HTTP_DEFAULT_MAX_TARGET  4096  /* request-target incl. query */
#define EDGE_HTTP_DEFAULT_MAX_BODY    10000 /* Content-Length cap */
#define EDGE_HTTP_DEFAULT_MAX_HEADERS 64    /* header lines */

/* Bounds the parser enforces. Zero in a field means "use the default". */
struct edge_http_limits {
  size_t max_head;      /* bytes of head incl. final CRLFCRLF (431 beyond) */
  size_t max_target;    /* bytes of request-target (414 beyond) */
  size_t max_body;      /* largest Content-Length accepted (413 beyond) */
  uint32_t max_headers; /* header lines (431 beyond) */
};

/* edge_http_limits_default sets |*out| to the DESIGN.md defaults. */
void edge_http_limits_default(struct edge_http_limits *out);

/* --- Parsing ------------------------------------------------------------- */

/* Outcome of edge_http_parse. Every value but OK and INCOMPLETE is an
 * error the caller answers with edge_http_result_status() and a closed
 * connection. */
enum edge_http_result {
  EDGE_HTTP_OK = 0,                /* a whole head was parsed */
  EDGE_HTTP_INCOMPLETE,            /* valid so far; read more bytes */
  EDGE_HTTP_BAD_REQUEST,           /* 400 */
  EDGE_HTTP_METHOD_NOT_ALLOWED,    /* 405: known method, not served */
  EDGE_HTTP_LENGTH_REQUIRED,       /* 411: POST without Content-Length */
  EDGE_HTTP_BODY_TOO_LARGE,        /* 413: Content-Length > max_body */
  EDGE_HTTP_URI_TOO_LONG,          /* 414: target > max_target */
  EDGE_HTTP_HEADERS_TOO_LARGE,     /* 431: head > max_head, or too many */
  EDGE_HTTP_NOT_IMPLEMENTED,       /* 501: unknown method or any T-E */
  EDGE_HTTP_VERSION_NOT_SUPPORTED, /* 505: HTTP/d.d other than 1.0/1.1 */
};

/* Methods the edge serves. */
enum edge_http_method {
  EDGE_HTTP_GET = 0,
  EDGE_HTTP_HEAD,
  EDGE_HTTP_POST,
};

/* One parsed request head. All views point into the parsed buffer, inside
 * its first head_len bytes. */
struct edge_http_request {
  struct edge_http_view target; /* path, still percent-encoded, no query */
  struct edge_http_view query;  /* bytes after '?'; ptr NULL if no '?' */
  struct edge_http_view host;   /* Host value (ptr NULL only on HTTP/1.0) */
  struct edge_http_view content_type;      /* Content-Type value */
  struct edge_http_view if_none_match;     /* If-None-Match value */
  struct edge_http_view if_modified_since; /* If-Modified-Since value */
  size_t head_len;       /* bytes of head incl. leading CRLFs and CRLFCRLF */
  size_t content_length; /* body bytes after the head (0 if none) */
  uint32_t num_headers;  /* header lines seen */
  enum edge_http_method method; /* GET, HEAD or POST */
  uint8_t version;              /* 10 for HTTP/1.0, 11 for HTTP/1.1 */
  uint8_t keep_alive;         /* 1: the connection may carry another request */
  uint8_t has_content_length; /* 1: a Content-Length header was present */
  uint8_t expect_100;         /* 1: "Expect: 100-continue" on HTTP/1.1 */
};

/* edge_http_parse parses the request head at the start of |buf| (|len|
 * bytes, not NUL-terminated) under |limits| (NULL = defaults).
 *
 * Returns EDGE_HTTP_OK when a whole head was parsed: |*out| is filled and
 * out->head_len says how many bytes it took. Returns EDGE_HTTP_INCOMPLETE
 * when every complete line so far is valid but the head has not ended and
 * is still within max_head: call again with more bytes. Any other value is
 * an error (see the file comment for the order in which they are checked).
 *
 * After an error or INCOMPLETE, |*out| is zeroed except that out->version
 * (and out->method, for GET/HEAD/POST) are kept once the request line has
 * been parsed, so an error answer to HEAD can leave out its body;
 * out->version is 0 before that. Never allocates; reads only
 * buf[0 .. min(len, max_head)); |buf| may be NULL when |len| is 0. */
enum edge_http_result edge_http_parse(
    struct edge_http_request *out, const char *buf, size_t len,
    const struct edge_http_limits *limits) EDGE_MUST_CHECK;

/* edge_http_result_status returns the HTTP status code the caller answers
 * |result| with (400, 405, ...), or 0 for EDGE_HTTP_OK and
 * EDGE_HTTP_INCOMPLETE. */
int edge_http_result_status(enum edge_http_result result);

/* edge_http_method_name returns "GET", "HEAD" or "POST" (static). */
const char *edge_http_method_name(enum edge_http_method method);

#ifdef __cplusplus
}
#endif

#endif /* EDGE_HTTP_H */
