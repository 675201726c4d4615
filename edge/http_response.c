/* http_response.c: response head writers and the 304 decision
 * (http_response.h). Bounded writes into caller buffers; no allocation. */
#include "http_response.h"

#include <string.h>

/* ------------------------------------------------------------------------ */
/* Bounded writer                                                            */
/* ------------------------------------------------------------------------ */

/* A cursor over the caller's buffer. Once a write does not fit, |bad|
 * sticks and the result is 0: callers check once at the end. */
struct wbuf {
  char *p;
  size_t cap;
  size_t len;
  int bad;
};

static void put(struct wbuf *w, const char *s, size_t n) {
  if (w->bad || w->cap - w->len < n) {
    w->bad = 1;
    return;
  }
  if (n > 0) {
    memcpy(w->p + w->len, s, n);
  }
  w->len += n;
}

#define PUT_LIT(w, lit) put((w), (lit), sizeof(lit) - 1)

/* put_cstr writes one of our own static NUL-terminated strings. */
static void put_cstr(struct wbuf *w, const char *s) {
  put(w, s, strlen(s));
}

static void put_u64(struct wbuf *w, uint64_t v) {
  char tmp[20];
  size_t i = sizeof(tmp);
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  put(w, tmp + i, sizeof(tmp) - i);
}

static void put_date(struct wbuf *w, int64_t t) {
  char d[VIGIL_HTTPDATE_LEN];
  if (!vigil_time_format_http(d, t)) {
    w->bad = 1;
    return;
  }
  put(w, d, sizeof(d));
}

static size_t finish(const struct wbuf *w) {
  return w->bad ? 0 : w->len;
}

static void wbuf_init(struct wbuf *w, char *out, size_t cap) {
  w->p = out;
  w->cap = cap;
  w->len = 0;
  w->bad = 0;
}

/* ------------------------------------------------------------------------ */
/* Clock and status lines                                                    */
/* ------------------------------------------------------------------------ */

int edge_http_clock_set(struct edge_http_clock *clock, int64_t now) {
  if (clock->valid && clock->now == now) {
    return 1;
  }
  clock->valid = 0;
  if (!vigil_time_format_http(clock->date, now)) {
    return 0;
  }
  clock->now = now;
  struct wbuf w;
  wbuf_init(&w, clock->ok_prefix, sizeof(clock->ok_prefix));
  PUT_LIT(&w, "HTTP/1.1 200 OK\r\nDate: ");
  put(&w, clock->date, sizeof(clock->date));
  PUT_LIT(&w, "\r\nCache-Control: max-age=");
  if (finish(&w) != EDGE_HTTP_OK_PREFIX_LEN) {
    return 0; /* cannot happen: the sizes are fixed */
  }
  clock->valid = 1;
  return 1;
}

const char *edge_http_reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return NULL;
  }
}

/* put_status_date writes "HTTP/1.1 NNN Reason\r\nDate: ...\r\n". */
static void put_status_date(struct wbuf *w, int status, const char *reason,
                            const struct edge_http_clock *clock) {
  if (clock == NULL || !clock->valid || reason == NULL) {
    w->bad = 1;
    return;
  }
  PUT_LIT(w, "HTTP/1.1 ");
  put_u64(w, (uint64_t)status);
  PUT_LIT(w, " ");
  put_cstr(w, reason);
  PUT_LIT(w, "\r\nDate: ");
  put(w, clock->date, sizeof(clock->date));
  PUT_LIT(w, "\r\n");
}

static void put_connection(struct wbuf *w, int keep_alive) {
  if (keep_alive) {
    PUT_LIT(w, "Connection: keep-alive\r\n");
  } else {
    PUT_LIT(w, "Connection: close\r\n");
  }
}

/* put_success_cache_control writes the RFC 5019 6.2 caching line with
 * max-age never beyond nextUpdate: a cache must not keep the answer past
 * the time the responder would no longer vouch for it. */
static void put_success_cache_control(struct wbuf *w, int64_t now,
                                      int64_t next_update) {
  uint64_t max_age =
      next_update > now ? (uint64_t)next_update - (uint64_t)now : 0;
  PUT_LIT(w, "Cache-Control: max-age=");
  put_u64(w, max_age);
  PUT_LIT(w, ", public, no-transform, must-revalidate\r\n");
}

/* ------------------------------------------------------------------------ */
/* Validators                                                                */
/* ------------------------------------------------------------------------ */

/* is_etagc: %x21 / %x23-7E / obs-text (RFC 9110 8.8.3). */
static int is_etagc(unsigned char c) {
  return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

static int etag_ok(const struct edge_http_entity *e) {
  if (e->etag == NULL || e->etag_len == 0 || e->etag_len > EDGE_HTTP_ETAG_MAX) {
    return 0;
  }
  for (size_t i = 0; i < e->etag_len; i++) {
    if (!is_etagc((unsigned char)e->etag[i])) {
      return 0;
    }
  }
  return 1;
}

/* surrogate_key_ok: VCHAR / SP only -- above all no CR or LF, so a key
 * can never inject a header line. */
static int surrogate_key_ok(const struct edge_http_entity *e) {
  if (e->surrogate_key_len == 0) {
    return 1;
  }
  if (e->surrogate_key == NULL ||
      e->surrogate_key_len > EDGE_HTTP_SURROGATE_KEY_MAX) {
    return 0;
  }
  for (size_t i = 0; i < e->surrogate_key_len; i++) {
    unsigned char c = (unsigned char)e->surrogate_key[i];
    if (c < 0x20 || c > 0x7e) {
      return 0;
    }
  }
  return 1;
}

static void put_etag(struct wbuf *w, const struct edge_http_entity *e) {
  PUT_LIT(w, "ETag: \"");
  put(w, e->etag, e->etag_len);
  PUT_LIT(w, "\"\r\n");
}

static void put_surrogate_key(struct wbuf *w,
                              const struct edge_http_entity *e) {
  if (e->surrogate_key_len == 0) {
    return;
  }
  PUT_LIT(w, "Surrogate-Key: ");
  put(w, e->surrogate_key, e->surrogate_key_len);
  PUT_LIT(w, "\r\n");
}

/* ------------------------------------------------------------------------ */
/* Cached answers                                                            */
/* ------------------------------------------------------------------------ */

size_t edge_http_write_entity_headers(char *out, size_t cap,
                                      const struct edge_http_entity *entity) {
  struct wbuf w;
  wbuf_init(&w, out, cap);
  if (!etag_ok(entity) || !surrogate_key_ok(entity)) {
    return 0;
  }
  if (entity->ctype == EDGE_HTTP_CT_CRL) {
    PUT_LIT(&w, "Content-Type: application/pkix-crl\r\n");
  } else {
    PUT_LIT(&w, "Content-Type: application/ocsp-response\r\n");
  }
  PUT_LIT(&w, "Content-Length: ");
  put_u64(&w, (uint64_t)entity->body_len);
  PUT_LIT(&w, "\r\nLast-Modified: ");
  put_date(&w, entity->this_update);
  PUT_LIT(&w, "\r\nExpires: ");
  put_date(&w, entity->next_update);
  PUT_LIT(&w, "\r\n");
  put_etag(&w, entity);
  put_surrogate_key(&w, entity);
  PUT_LIT(&w, "\r\n");
  return finish(&w);
}

size_t edge_http_write_success_head(char *out, size_t cap,
                                    const struct edge_http_clock *clock,
                                    int64_t next_update, int keep_alive) {
  /* What put_status_date + put_success_cache_control + put_connection
   * write, from the prefix made once a second (the same bytes: see
   * test_edge_http_response). */
  static const char kKeepAlive[] =
      ", public, no-transform, must-revalidate\r\nConnection: keep-alive\r\n";
  static const char kClose[] =
      ", public, no-transform, must-revalidate\r\nConnection: close\r\n";
  if (clock == NULL || !clock->valid) {
    return 0;
  }
  struct wbuf w;
  wbuf_init(&w, out, cap);
  put(&w, clock->ok_prefix, sizeof(clock->ok_prefix));
  put_u64(&w, next_update > clock->now
                  ? (uint64_t)next_update - (uint64_t)clock->now
                  : 0);
  if (keep_alive) {
    PUT_LIT(&w, kKeepAlive);
  } else {
    PUT_LIT(&w, kClose);
  }
  return finish(&w);
}

size_t edge_http_write_not_modified(char *out, size_t cap,
                                    const struct edge_http_clock *clock,
                                    const struct edge_http_entity *entity,
                                    int keep_alive) {
  struct wbuf w;
  wbuf_init(&w, out, cap);
  if (!etag_ok(entity) || !surrogate_key_ok(entity)) {
    return 0;
  }
  put_status_date(&w, 304, "Not Modified", clock);
  if (w.bad) {
    return 0;
  }
  put_success_cache_control(&w, clock->now, entity->next_update);
  PUT_LIT(&w, "Expires: ");
  put_date(&w, entity->next_update);
  PUT_LIT(&w, "\r\nLast-Modified: ");
  put_date(&w, entity->this_update);
  PUT_LIT(&w, "\r\n");
  put_etag(&w, entity);
  put_surrogate_key(&w, entity);
  put_connection(&w, keep_alive);
  PUT_LIT(&w, "\r\n");
  return finish(&w);
}

/* ------------------------------------------------------------------------ */
/* Error answers                                                             */
/* ------------------------------------------------------------------------ */

size_t edge_http_write_ocsp_error(char *out, size_t cap,
                                  const struct edge_http_clock *clock,
                                  uint32_t max_age, size_t body_len,
                                  int keep_alive) {
  struct wbuf w;
  wbuf_init(&w, out, cap);
  put_status_date(&w, 200, "OK", clock);
  PUT_LIT(&w, "Content-Type: application/ocsp-response\r\nContent-Length: ");
  put_u64(&w, (uint64_t)body_len);
  if (max_age == 0) {
    PUT_LIT(&w, "\r\nCache-Control: max-age=0, no-cache\r\n");
  } else {
    PUT_LIT(&w, "\r\nCache-Control: max-age=");
    put_u64(&w, max_age);
    PUT_LIT(&w, ", public, no-transform\r\n");
  }
  put_connection(&w, keep_alive);
  PUT_LIT(&w, "\r\n");
  return finish(&w);
}

/* is_error_status: the statuses edge_http_write_error knows. */
static int is_error_status(int status) {
  switch (status) {
    case 400:
    case 404:
    case 405:
    case 411:
    case 413:
    case 414:
    case 431:
    case 500:
    case 501:
    case 503:
    case 505:
      return 1;
    default:
      return 0;
  }
}

/* put_text_head writes a whole text/plain-ish head; |allow| only for 405.
 */
static void put_text_head(struct wbuf *w, const struct edge_http_clock *clock,
                          int status, const char *content_type, size_t body_len,
                          const char *allow, int keep_alive) {
  put_status_date(w, status, edge_http_reason(status), clock);
  PUT_LIT(w, "Content-Type: ");
  put_cstr(w, content_type);
  PUT_LIT(w, "\r\nContent-Length: ");
  put_u64(w, (uint64_t)body_len);
  PUT_LIT(w, "\r\nCache-Control: no-store\r\n");
  if (allow != NULL) {
    PUT_LIT(w, "Allow: ");
    put_cstr(w, allow);
    PUT_LIT(w, "\r\n");
  }
  put_connection(w, keep_alive);
  PUT_LIT(w, "\r\n");
}

size_t edge_http_write_error(char *out, size_t cap,
                             const struct edge_http_clock *clock, int status,
                             const char *allow, int head_only) {
  struct wbuf w;
  wbuf_init(&w, out, cap);
  if (!is_error_status(status)) {
    return 0;
  }
  const char *reason = edge_http_reason(status);
  /* Body "NNN Reason\n": three digits, a space, the reason, a newline. */
  size_t body_len = 3 + 1 + strlen(reason) + 1;
  if (status == 405 && allow == NULL) {
    allow = "GET, HEAD, POST";
  } else if (status != 405) {
    allow = NULL;
  }
  put_text_head(&w, clock, status, "text/plain; charset=utf-8", body_len, allow,
                0);
  if (!head_only) {
    put_u64(&w, (uint64_t)status);
    PUT_LIT(&w, " ");
    put_cstr(&w, reason);
    PUT_LIT(&w, "\n");
  }
  return finish(&w);
}

size_t edge_http_write_text_head(char *out, size_t cap,
                                 const struct edge_http_clock *clock,
                                 int status, const char *content_type,
                                 size_t body_len, int keep_alive) {
  struct wbuf w;
  wbuf_init(&w, out, cap);
  if ((status != 200 && !is_error_status(status)) || content_type == NULL) {
    return 0;
  }
  put_text_head(&w, clock, status, content_type, body_len, NULL, keep_alive);
  return finish(&w);
}

size_t edge_http_write_nonce_head(char *out, size_t cap,
                                  const struct edge_http_clock *clock,
                                  size_t body_len, const char *surrogate_key,
                                  size_t surrogate_key_len, int keep_alive) {
  struct edge_http_entity ent;
  memset(&ent, 0, sizeof(ent));
  ent.surrogate_key = surrogate_key;
  ent.surrogate_key_len = surrogate_key_len;
  if (!surrogate_key_ok(&ent)) {
    return 0;
  }
  struct wbuf w;
  wbuf_init(&w, out, cap);
  put_status_date(&w, 200, edge_http_reason(200), clock);
  PUT_LIT(&w, "Content-Type: application/ocsp-response\r\nContent-Length: ");
  put_u64(&w, (uint64_t)body_len);
  PUT_LIT(&w, "\r\nCache-Control: no-store\r\n");
  put_surrogate_key(&w, &ent);
  put_connection(&w, keep_alive);
  PUT_LIT(&w, "\r\n");
  return finish(&w);
}

/* ------------------------------------------------------------------------ */
/* Conditional requests                                                      */
/* ------------------------------------------------------------------------ */

static int is_ows(char c) {
  return c == ' ' || c == '\t';
}

/* inm_matches evaluates If-None-Match |v|/|n| against |etag|/|etag_len|:
 * 1 if "*" or a listed entity-tag matches weakly, 0 if none does or the
 * value is malformed. */
static int inm_matches(const char *v, size_t n, const char *etag,
                       size_t etag_len) {
  size_t i = 0;
  while (i < n && is_ows(v[i])) {
    i++;
  }
  while (n > i && is_ows(v[n - 1])) {
    n--;
  }
  if (n - i == 1 && v[i] == '*') {
    return 1;
  }
  int found = 0;
  while (i < n) {
    if (v[i] == ',') { /* empty list element (RFC 9110 5.6.1) */
      i++;
      while (i < n && is_ows(v[i])) {
        i++;
      }
      continue;
    }
    if (n - i >= 2 && v[i] == 'W' && v[i + 1] == '/') {
      i += 2;
    }
    if (i == n || v[i] != '"') {
      return 0;
    }
    i++;
    size_t start = i;
    while (i < n && v[i] != '"') {
      if (!is_etagc((unsigned char)v[i])) {
        return 0;
      }
      i++;
    }
    if (i == n) {
      return 0; /* unterminated */
    }
    if (etag_len > 0 && i - start == etag_len &&
        memcmp(v + start, etag, etag_len) == 0) {
      found = 1;
    }
    i++;
    while (i < n && is_ows(v[i])) {
      i++;
    }
    if (i < n && v[i] != ',') {
      return 0;
    }
  }
  /* The whole list is checked before answering, so a malformed value never
   * produces a 304, whatever it lists first. */
  return found;
}

int edge_http_not_modified(const struct edge_http_request *req,
                           const struct edge_http_entity *entity) {
  if (req->method != EDGE_HTTP_GET && req->method != EDGE_HTTP_HEAD) {
    return 0;
  }
  if (req->if_none_match.ptr != NULL) {
    return inm_matches(req->if_none_match.ptr, req->if_none_match.len,
                       entity->etag, entity->etag_len);
  }
  if (req->if_modified_since.ptr != NULL) {
    int64_t since = 0;
    if (!vigil_time_parse_http(&since, req->if_modified_since.ptr,
                               req->if_modified_since.len)) {
      return 0;
    }
    return entity->this_update <= since;
  }
  return 0;
}
