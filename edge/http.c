/* http.c: strict zero-allocation HTTP/1.1 request head parser (http.h).
 *
 * One forward pass over the head: memchr finds each line end (vectorised in
 * libc, and bounded by the length we pass), then a table-driven loop checks
 * the line's bytes. Nothing here reads past min(len, max_head) or relies on
 * a NUL terminator. */
#include "http.h"

#include <string.h>

/* ------------------------------------------------------------------------ */
/* Character classes                                                         */
/* ------------------------------------------------------------------------ */

#define C_TCHAR 0x01 /* token character (RFC 9110 5.6.2) */
#define C_PATH  0x02 /* pchar / "/" (RFC 3986 3.3), '%' checked apart */
#define C_QUERY 0x04 /* pchar / "/" / "?" (RFC 3986 3.4) */
#define C_VALUE 0x08 /* field-value byte: VCHAR / obs-text / SP / HTAB */
#define C_HOST  0x10 /* uri-host / port bytes: reg-name, IP-literal, ':' */
#define C_HEX   0x20 /* HEXDIG */

/* kClass[b] holds the C_* flags of byte b. Generated from the ABNF sets
 * named above (a script, not by hand); test_edge_http.c checks each class
 * byte by byte through the parser's behaviour. Read-only. */
static const unsigned char kClass[256] = {
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x00 */
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x10 */
  0x08, 0x1f, 0x08, 0x09, 0x1f, 0x1f, 0x1f, 0x1f,
  0x1e, 0x1e, 0x1f, 0x1f, 0x1e, 0x1f, 0x1f, 0x0e, /* 0x20 */
  0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f,
  0x3f, 0x3f, 0x1e, 0x1e, 0x08, 0x1e, 0x08, 0x0c, /* 0x30 */
  0x0e, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x1f,
  0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, /* 0x40 */
  0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
  0x1f, 0x1f, 0x1f, 0x18, 0x08, 0x18, 0x09, 0x1f, /* 0x50 */
  0x09, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x1f,
  0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, /* 0x60 */
  0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
  0x1f, 0x1f, 0x1f, 0x08, 0x09, 0x08, 0x1f, 0x00, /* 0x70 */
  0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
  0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, /* 0x80 */
  0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
  0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, /* 0x90 */
  0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
  0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, /* 0xa0 */
  0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
  0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, /* 0xb0 */
  0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
  0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, /* 0xc0 */
  0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
  0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, /* 0xd0 */
  0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
  0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, /* 0xe0 */
  0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
  0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, /* 0xf0 */
};

static int has_class(char c, unsigned char flags) {
  return (kClass[(unsigned char)c] & flags) != 0;
}

/* lower maps ASCII A-Z to a-z and leaves every other byte alone (no
 * locale). */
static char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

/* ieq compares |p|/|n| case-insensitively with the lowercase literal
 * |lit|/|lit_len|. */
static int ieq(const char *p, size_t n, const char *lit, size_t lit_len) {
  if (n != lit_len) {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (lower(p[i]) != lit[i]) {
      return 0;
    }
  }
  return 1;
}

#define IEQ(p, n, lit) ieq((p), (n), (lit), sizeof(lit) - 1)

static int is_ows(char c) {
  return c == ' ' || c == '\t';
}

/* ------------------------------------------------------------------------ */
/* Limits, names, statuses                                                   */
/* ------------------------------------------------------------------------ */

void edge_http_limits_default(struct edge_http_limits *out) {
  out->max_head = EDGE_HTTP_DEFAULT_MAX_HEAD;
  out->max_target = EDGE_HTTP_DEFAULT_MAX_TARGET;
  out->max_body = EDGE_HTTP_DEFAULT_MAX_BODY;
  out->max_headers = EDGE_HTTP_DEFAULT_MAX_HEADERS;
}

/* resolve_limits copies |in| (may be NULL) with zero fields defaulted. */
static void resolve_limits(struct edge_http_limits *out,
                           const struct edge_http_limits *in) {
  edge_http_limits_default(out);
  if (in == NULL) {
    return;
  }
  if (in->max_head != 0) {
    out->max_head = in->max_head;
  }
  if (in->max_target != 0) {
    out->max_target = in->max_target;
  }
  if (in->max_body != 0) {
    out->max_body = in->max_body;
  }
  if (in->max_headers != 0) {
    out->max_headers = in->max_headers;
  }
}

int edge_http_result_status(enum edge_http_result result) {
  switch (result) {
    case EDGE_HTTP_OK:
    case EDGE_HTTP_INCOMPLETE:
      return 0;
    case EDGE_HTTP_BAD_REQUEST:
      return 400;
    case EDGE_HTTP_METHOD_NOT_ALLOWED:
      return 405;
    case EDGE_HTTP_LENGTH_REQUIRED:
      return 411;
    case EDGE_HTTP_BODY_TOO_LARGE:
      return 413;
    case EDGE_HTTP_URI_TOO_LONG:
      return 414;
    case EDGE_HTTP_HEADERS_TOO_LARGE:
      return 431;
    case EDGE_HTTP_NOT_IMPLEMENTED:
      return 501;
    case EDGE_HTTP_VERSION_NOT_SUPPORTED:
      return 505;
  }
  return 400;
}

const char *edge_http_method_name(enum edge_http_method method) {
  switch (method) {
    case EDGE_HTTP_GET:
      return "GET";
    case EDGE_HTTP_HEAD:
      return "HEAD";
    case EDGE_HTTP_POST:
      return "POST";
  }
  return "GET";
}

/* ------------------------------------------------------------------------ */
/* Request line                                                              */
/* ------------------------------------------------------------------------ */

/* How the method token is treated; decided at the request line, reported
 * once the head is complete. */
enum method_class {
  METHOD_SERVED = 0, /* GET, HEAD, POST */
  METHOD_KNOWN,      /* registered but not served: 405 */
  METHOD_UNKNOWN,    /* any other token: 501 */
};

/* classify_method sets |*out_method| for served methods and returns the
 * class of the token |p|/|n| (already checked to be a token). Methods are
 * case-sensitive (RFC 9110 9.1). */
static enum method_class classify_method(enum edge_http_method *out_method,
                                         const char *p, size_t n) {
  switch (n) {
    case 3:
      if (memcmp(p, "GET", 3) == 0) {
        *out_method = EDGE_HTTP_GET;
        return METHOD_SERVED;
      }
      return memcmp(p, "PUT", 3) == 0 ? METHOD_KNOWN : METHOD_UNKNOWN;
    case 4:
      if (memcmp(p, "HEAD", 4) == 0) {
        *out_method = EDGE_HTTP_HEAD;
        return METHOD_SERVED;
      }
      if (memcmp(p, "POST", 4) == 0) {
        *out_method = EDGE_HTTP_POST;
        return METHOD_SERVED;
      }
      return METHOD_UNKNOWN;
    case 5:
      return (memcmp(p, "TRACE", 5) == 0 || memcmp(p, "PATCH", 5) == 0)
                 ? METHOD_KNOWN
                 : METHOD_UNKNOWN;
    case 6:
      return memcmp(p, "DELETE", 6) == 0 ? METHOD_KNOWN : METHOD_UNKNOWN;
    case 7:
      return (memcmp(p, "OPTIONS", 7) == 0 || memcmp(p, "CONNECT", 7) == 0)
                 ? METHOD_KNOWN
                 : METHOD_UNKNOWN;
    default:
      return METHOD_UNKNOWN;
  }
}

/* scan_uri_part checks every byte of |p|/|n| against class |flags|, with
 * every '%' followed by two hex digits. Returns 1 if all is well. */
static int scan_uri_part(const char *p, size_t n, unsigned char flags) {
  const unsigned char *u = (const unsigned char *)p;
  size_t i = 0;
  while (i < n) {
    /* Eight bytes at once while all are in the class and none is '%' (a
     * request target is mostly such runs)... */
    if (n - i >= 8) {
      unsigned char all = kClass[u[i]] & kClass[u[i + 1]] & kClass[u[i + 2]] &
                          kClass[u[i + 3]] & kClass[u[i + 4]] &
                          kClass[u[i + 5]] & kClass[u[i + 6]] &
                          kClass[u[i + 7]];
      uint64_t x;
      memcpy(&x, u + i, 8);
      x ^= 0x2525252525252525ull; /* a '%' becomes a zero byte */
      uint64_t has_pct =
          (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
      if ((all & flags) != 0 && has_pct == 0) {
        i += 8;
        continue;
      }
    }
    /* ...else the next eight one by one, an escape as a whole. */
    size_t stop = n - i > 8 ? i + 8 : n;
    while (i < stop) {
      if (!has_class(p[i], flags)) {
        return 0;
      }
      if (p[i] == '%') {
        if (n - i < 3 || !has_class(p[i + 1], C_HEX) ||
            !has_class(p[i + 2], C_HEX)) {
          return 0;
        }
        i += 3;
      } else {
        i++;
      }
    }
  }
  return 1;
}

/* parse_target splits the request-target |t|/|n| (non-empty) into
 * out->target and out->query. Returns 1 if it is a valid origin-form,
 * absolute-form (http/https), or -- with |is_options| -- asterisk-form. */
static int parse_target(struct edge_http_request *out, const char *t, size_t n,
                        int is_options) {
  size_t i = 0;
  if (t[0] != '/') {
    if (n == 1 && t[0] == '*') {
      if (!is_options) {
        return 0;
      }
      out->target.ptr = t;
      out->target.len = 1;
      return 1;
    }
    /* absolute-form: scheme "://" authority path-abempty [ "?" query ] */
    if (n >= 7 && IEQ(t, 7, "http://")) {
      i = 7;
    } else if (n >= 8 && IEQ(t, 8, "https://")) {
      i = 8;
    } else {
      return 0;
    }
    size_t auth = i;
    while (i < n && t[i] != '/' && t[i] != '?') {
      i++;
    }
    /* No userinfo ('@' is not in C_HOST); an http URI needs a host. */
    if (i == auth || !scan_uri_part(t + auth, i - auth, C_HOST)) {
      return 0;
    }
  }
  size_t path = i;
  const char *q = memchr(t + i, '?', n - i);
  size_t path_end = q == NULL ? n : (size_t)(q - t);
  if (!scan_uri_part(t + path, path_end - path, C_PATH)) {
    return 0;
  }
  out->target.ptr = t + path;
  out->target.len = path_end - path;
  if (q != NULL) {
    size_t qs = path_end + 1;
    if (!scan_uri_part(t + qs, n - qs, C_QUERY)) {
      return 0;
    }
    out->query.ptr = t + qs;
    out->query.len = n - qs;
  }
  return 1;
}

/* parse_request_line parses |p|/|n| (the line without its CRLF). On
 * success sets out->method (for served methods), out->version, the target
 * views, and |*out_class|. */
static enum edge_http_result parse_request_line(
    struct edge_http_request *out, enum method_class *out_class, const char *p,
    size_t n, const struct edge_http_limits *lim) {
  const char *sp1 = memchr(p, ' ', n);
  if (sp1 == NULL || sp1 == p) {
    return EDGE_HTTP_BAD_REQUEST;
  }
  size_t mlen = (size_t)(sp1 - p);
  for (size_t i = 0; i < mlen; i++) {
    if (!has_class(p[i], C_TCHAR)) {
      return EDGE_HTTP_BAD_REQUEST;
    }
  }
  const char *t = sp1 + 1;
  size_t rest = n - mlen - 1;
  const char *sp2 = memchr(t, ' ', rest);
  size_t tlen = sp2 == NULL ? rest : (size_t)(sp2 - t);
  if (tlen > lim->max_target) {
    return EDGE_HTTP_URI_TOO_LONG;
  }
  if (sp2 == NULL || tlen == 0) {
    return EDGE_HTTP_BAD_REQUEST; /* no HTTP/0.9, no empty target */
  }
  const char *v = sp2 + 1;
  size_t vlen = (size_t)(p + n - v);
  if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' ||
      v[6] != '.' || v[7] < '0' || v[7] > '9') {
    return EDGE_HTTP_BAD_REQUEST;
  }
  if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) {
    return EDGE_HTTP_VERSION_NOT_SUPPORTED;
  }
  out->version = v[7] == '1' ? 11 : 10;
  *out_class = classify_method(&out->method, p, mlen);
  int is_options = mlen == 7 && memcmp(p, "OPTIONS", 7) == 0;
  if (!parse_target(out, t, tlen, is_options)) {
    return EDGE_HTTP_BAD_REQUEST;
  }
  return EDGE_HTTP_OK;
}

/* partial_request_line decides between INCOMPLETE, 414 and 431 while the
 * request line has no LF yet in buf[pos .. avail): a target already longer
 * than max_target is refused before the client finishes sending it. */
static enum edge_http_result partial_request_line(
    const char *buf, size_t pos, size_t avail, size_t len,
    const struct edge_http_limits *lim) {
  const char *sp = memchr(buf + pos, ' ', avail - pos);
  if (sp != NULL) {
    const char *t = sp + 1;
    size_t rest = (size_t)(buf + avail - t);
    const char *sp2 = memchr(t, ' ', rest);
    size_t tlen = sp2 == NULL ? rest : (size_t)(sp2 - t);
    if (tlen > lim->max_target) {
      return EDGE_HTTP_URI_TOO_LONG;
    }
  }
  return len >= lim->max_head ? EDGE_HTTP_HEADERS_TOO_LARGE
                              : EDGE_HTTP_INCOMPLETE;
}

/* ------------------------------------------------------------------------ */
/* Header fields                                                             */
/* ------------------------------------------------------------------------ */

/* What the header lines told us beyond the views stored in the request. */
struct head_state {
  uint64_t content_length; /* agreed value of every Content-Length */
  uint8_t has_cl;          /* a Content-Length line was seen */
  uint8_t has_te;          /* a Transfer-Encoding line was seen */
  uint8_t conn_close;      /* Connection lists "close" */
  uint8_t conn_keep_alive; /* Connection lists "keep-alive" */
  uint8_t expect_100;      /* Expect: 100-continue */
};

/* parse_content_length folds the value |v|/|n| into |st|: a comma list of
 * 1*DIGIT, all equal to each other and to earlier lines. Returns 0 on a
 * bad element, a disagreement or an overflow past 2^64-1. */
static int parse_content_length(struct head_state *st, const char *v,
                                size_t n) {
  size_t i = 0;
  for (;;) {
    uint64_t val = 0;
    size_t start = i;
    while (i < n && v[i] >= '0' && v[i] <= '9') {
      uint64_t d = (uint64_t)(v[i] - '0');
      if (val > (UINT64_MAX - d) / 10) {
        return 0;
      }
      val = val * 10 + d;
      i++;
    }
    if (i == start) {
      return 0;
    }
    if (st->has_cl && st->content_length != val) {
      return 0;
    }
    st->has_cl = 1;
    st->content_length = val;
    while (i < n && is_ows(v[i])) {
      i++;
    }
    if (i == n) {
      return 1;
    }
    if (v[i] != ',') {
      return 0;
    }
    i++;
    while (i < n && is_ows(v[i])) {
      i++;
    }
  }
}

/* parse_connection reads the token list |v|/|n| (empty elements allowed,
 * RFC 9110 5.6.1) and notes "close" and "keep-alive". Returns 0 if an
 * element is not a token. */
static int parse_connection(struct head_state *st, const char *v, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t start = i;
    while (i < n && has_class(v[i], C_TCHAR)) {
      i++;
    }
    size_t tlen = i - start;
    if (IEQ(v + start, tlen, "close")) {
      st->conn_close = 1;
    } else if (IEQ(v + start, tlen, "keep-alive")) {
      st->conn_keep_alive = 1;
    }
    while (i < n && is_ows(v[i])) {
      i++;
    }
    if (i == n) {
      break;
    }
    if (v[i] != ',') {
      return 0;
    }
    i++;
    while (i < n && is_ows(v[i])) {
      i++;
    }
  }
  return 1;
}

/* value_ok checks that every byte of |v|/|n| is a field-value byte: not a
 * CTL other than HTAB. Values are most of a head's bytes (User-Agent,
 * X-Forwarded-For...), so eight bytes are tested at once with the classic
 * SWAR tests ("has a byte < 0x20", "has a byte == 0x7f"); they never miss
 * a bad byte, and a hit (possibly just a HTAB) is settled byte by byte. */
static int value_ok(const char *v, size_t n) {
  const uint64_t ones = UINT64_C(0x0101010101010101);
  const uint64_t highs = UINT64_C(0x8080808080808080);
  size_t i = 0;
  for (; n - i >= 8; i += 8) {
    uint64_t x;
    memcpy(&x, v + i, 8);
    uint64_t below_space = (x - ones * 0x20) & ~x & highs;
    uint64_t y = x ^ (ones * 0x7f);
    uint64_t is_del = (y - ones) & ~y & highs;
    if ((below_space | is_del) != 0) {
      break;
    }
  }
  for (; i < n; i++) {
    if (!has_class(v[i], C_VALUE)) {
      return 0;
    }
  }
  return 1;
}

/* set_once stores a singleton header's value; returns 0 if it was already
 * set (a repeated line). */
static int set_once(struct edge_http_view *dst, const char *v, size_t n) {
  if (dst->ptr != NULL) {
    return 0;
  }
  dst->ptr = v;
  dst->len = n;
  return 1;
}

/* parse_header parses one header line |p|/|n| (non-empty, CRLF removed). */
static enum edge_http_result parse_header(struct edge_http_request *out,
                                          struct head_state *st, const char *p,
                                          size_t n,
                                          const struct edge_http_limits *lim) {
  if (++out->num_headers > lim->max_headers) {
    return EDGE_HTTP_HEADERS_TOO_LARGE;
  }
  /* Name: tokens up to the colon. A leading SP/HTAB (obs-fold, or
   * whitespace after the start line), whitespace before the colon, or a
   * missing colon all stop here. */
  size_t i = 0;
  while (i < n && has_class(p[i], C_TCHAR)) {
    i++;
  }
  if (i == 0 || i == n || p[i] != ':') {
    return EDGE_HTTP_BAD_REQUEST;
  }
  const char *name = p;
  size_t name_len = i;
  i++;
  while (i < n && is_ows(p[i])) {
    i++;
  }
  size_t vs = i;
  size_t ve = n;
  while (ve > vs && is_ows(p[ve - 1])) {
    ve--;
  }
  const char *v = p + vs;
  size_t vlen = ve - vs;
  if (!value_ok(v, vlen)) {
    return EDGE_HTTP_BAD_REQUEST; /* CTL, incl. a bare CR */
  }
  int ok = 1;
  switch (name_len) {
    case 4:
      if (IEQ(name, name_len, "host")) {
        ok = set_once(&out->host, v, vlen);
        for (size_t k = 0; ok && k < vlen; k++) {
          ok = has_class(v[k], C_HOST);
        }
      }
      break;
    case 6:
      if (IEQ(name, name_len, "expect") && IEQ(v, vlen, "100-continue")) {
        st->expect_100 = 1;
      }
      break;
    case 10:
      if (IEQ(name, name_len, "connection")) {
        ok = parse_connection(st, v, vlen);
      }
      break;
    case 12:
      if (IEQ(name, name_len, "content-type")) {
        ok = set_once(&out->content_type, v, vlen);
      }
      break;
    case 13:
      if (IEQ(name, name_len, "if-none-match")) {
        ok = set_once(&out->if_none_match, v, vlen);
      }
      break;
    case 14:
      if (IEQ(name, name_len, "content-length")) {
        ok = parse_content_length(st, v, vlen);
      }
      break;
    case 17:
      if (IEQ(name, name_len, "if-modified-since")) {
        ok = set_once(&out->if_modified_since, v, vlen);
      } else if (IEQ(name, name_len, "transfer-encoding")) {
        st->has_te = 1;
      }
      break;
    default:
      break;
  }
  return ok ? EDGE_HTTP_OK : EDGE_HTTP_BAD_REQUEST;
}

/* ------------------------------------------------------------------------ */
/* The head                                                                  */
/* ------------------------------------------------------------------------ */

/* parse_head does the work of edge_http_parse; the wrapper below resets
 * |*out| on every result but OK. */
static enum edge_http_result parse_head(struct edge_http_request *out,
                                        const char *buf, size_t len,
                                        const struct edge_http_limits *lim) {
  if (len == 0) {
    return EDGE_HTTP_INCOMPLETE; /* and buf may be NULL */
  }
  size_t avail = len < lim->max_head ? len : lim->max_head;
  size_t pos = 0;
  while (avail - pos >= 2 && buf[pos] == '\r' && buf[pos + 1] == '\n') {
    pos += 2;
  }
  const char *lf = memchr(buf + pos, '\n', avail - pos);
  if (lf == NULL) {
    return partial_request_line(buf, pos, avail, len, lim);
  }
  size_t eol = (size_t)(lf - buf);
  if (eol == pos || buf[eol - 1] != '\r') {
    return EDGE_HTTP_BAD_REQUEST; /* bare LF */
  }
  enum method_class mclass = METHOD_SERVED;
  enum edge_http_result r =
      parse_request_line(out, &mclass, buf + pos, eol - 1 - pos, lim);
  if (r != EDGE_HTTP_OK) {
    return r;
  }
  pos = eol + 1;
  struct head_state st;
  memset(&st, 0, sizeof(st));
  for (;;) {
    lf = memchr(buf + pos, '\n', avail - pos);
    if (lf == NULL) {
      return len >= lim->max_head ? EDGE_HTTP_HEADERS_TOO_LARGE
                                  : EDGE_HTTP_INCOMPLETE;
    }
    eol = (size_t)(lf - buf);
    if (eol == pos || buf[eol - 1] != '\r') {
      return EDGE_HTTP_BAD_REQUEST; /* bare LF */
    }
    if (eol - 1 == pos) {
      break; /* the empty line ending the head */
    }
    r = parse_header(out, &st, buf + pos, eol - 1 - pos, lim);
    if (r != EDGE_HTTP_OK) {
      return r;
    }
    pos = eol + 1;
  }
  out->head_len = eol + 1;

  if (mclass == METHOD_KNOWN) {
    return EDGE_HTTP_METHOD_NOT_ALLOWED;
  }
  if (mclass == METHOD_UNKNOWN) {
    return EDGE_HTTP_NOT_IMPLEMENTED;
  }
  if (st.has_te) {
    return st.has_cl ? EDGE_HTTP_BAD_REQUEST : EDGE_HTTP_NOT_IMPLEMENTED;
  }
  if (out->version == 11 && out->host.ptr == NULL) {
    return EDGE_HTTP_BAD_REQUEST;
  }
  if (out->method == EDGE_HTTP_POST && !st.has_cl) {
    return EDGE_HTTP_LENGTH_REQUIRED;
  }
  if (st.content_length > lim->max_body) {
    return EDGE_HTTP_BODY_TOO_LARGE;
  }
  out->content_length = (size_t)st.content_length;
  out->has_content_length = st.has_cl;
  out->expect_100 = out->version == 11 && st.expect_100;
  if (st.conn_close) {
    out->keep_alive = 0;
  } else if (out->version == 11) {
    out->keep_alive = 1;
  } else {
    out->keep_alive = st.conn_keep_alive;
  }
  return EDGE_HTTP_OK;
}

enum edge_http_result edge_http_parse(struct edge_http_request *out,
                                      const char *buf, size_t len,
                                      const struct edge_http_limits *limits) {
  struct edge_http_limits lim;
  resolve_limits(&lim, limits);
  memset(out, 0, sizeof(*out));
  enum edge_http_result r = parse_head(out, buf, len, &lim);
  if (r != EDGE_HTTP_OK) {
    enum edge_http_method method = out->method;
    uint8_t version = out->version;
    memset(out, 0, sizeof(*out));
    if (version != 0) {
      out->method = method;
      out->version = version;
    }
  }
  return r;
}
