/* http_response.h: response heads for the edge, written into fixed
 * caller-provided buffers, and the conditional-request (304) decision.
 *
 * Nothing here allocates, reads the clock or the locale. Every writer
 * returns the number of bytes written, or 0 when the output would not fit
 * in |cap| (or an input is unusable, as said per function); after 0 the
 * buffer's contents are unspecified and nothing should be sent.
 *
 * How a cached answer goes out: the server sends it with sendmsg and two
 * iovecs, so per request it only formats a small dynamic head:
 *
 *   iovec 0, per request   edge_http_write_success_head:
 *                          "HTTP/1.1 200 OK", Date, Cache-Control
 *                          (max-age = nextUpdate - now, so it shrinks as
 *                          the answer ages), Connection
 *   iovec 1, per response  edge_http_write_entity_headers, built once when
 *                          the answer enters the cache, followed in the
 *                          same block by the DER body:
 *                          Content-Type, Content-Length, Last-Modified
 *                          (= thisUpdate), Expires (= nextUpdate), ETag,
 *                          Surrogate-Key, and the blank line
 *
 * For HEAD, iovec 1 stops before the body (same Content-Length, RFC 9110
 * 9.3.2). A 304 is written whole by edge_http_write_not_modified: the same
 * validators and caching headers, no Content-Type/Content-Length, no body.
 * OCSP error answers (malformedRequest, unauthorized, tryLater) are HTTP
 * 200 with the unsigned error DER as body (edge_http_write_ocsp_error).
 * HTTP errors carry a one-line text body and always close the connection
 * (edge_http_write_error). All responses say "HTTP/1.1", also to 1.0
 * clients (RFC 9110 6.2). */
#ifndef EDGE_HTTP_RESPONSE_H
#define EDGE_HTTP_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include <vigil/timeutil.h>

#include "http.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- The date ------------------------------------------------------------ */

/* Length of edge_http_clock.ok_prefix: the fixed text around the date. */
#define EDGE_HTTP_OK_PREFIX_LEN                                   \
  (sizeof("HTTP/1.1 200 OK\r\nDate: ") - 1 + VIGIL_HTTPDATE_LEN + \
   sizeof("\r\nCache-Control: max-age=") - 1)

/* A per-thread cache of the Date header value: formatting it once a second
 * instead of once a request. Owned by the caller (no global state). */
struct edge_http_clock {
  int64_t now;                   /* seconds since the epoch of |date| */
  char date[VIGIL_HTTPDATE_LEN]; /* IMF-fixdate of |now|, no NUL */
  uint8_t valid;                 /* 1 once edge_http_clock_set succeeded */
  /* The start of every cached 200 in this second, up to max-age's value:
   * "HTTP/1.1 200 OK\r\nDate: ...\r\nCache-Control: max-age=", no NUL */
  char ok_prefix[EDGE_HTTP_OK_PREFIX_LEN];
};

/* edge_http_clock_set makes |clock| show |now| (reformatting only if the
 * second changed). Returns 1, or 0 if |now| is outside the range
 * vigil_time_format_http handles; |clock| is then invalid and every writer
 * given it returns 0. A zeroed clock is invalid until set. */
int edge_http_clock_set(struct edge_http_clock *clock,
                        int64_t now) EDGE_MUST_CHECK;

/* --- Cached answers ------------------------------------------------------ */

/* The media type of an answer. */
enum edge_http_ctype {
  EDGE_HTTP_CT_OCSP = 0, /* application/ocsp-response */
  EDGE_HTTP_CT_CRL,      /* application/pkix-crl */
};

/* What the headers of one OCSP response or CRL say; lives in the cache
 * entry next to the DER. The strings are borrowed. */
struct edge_http_entity {
  const char *etag;           /* opaque-tag without quotes, e.g. hex digits */
  size_t etag_len;            /* 1..EDGE_HTTP_ETAG_MAX */
  const char *surrogate_key;  /* e.g. "{ikh} {ikh}:{serial}"; may be NULL */
  size_t surrogate_key_len;   /* 0 = no Surrogate-Key header */
  int64_t this_update;        /* Last-Modified */
  int64_t next_update;        /* Expires; bounds max-age */
  size_t body_len;            /* bytes of DER (Content-Length) */
  enum edge_http_ctype ctype; /* Content-Type */
};

/* Longest accepted opaque ETag and Surrogate-Key values. */
#define EDGE_HTTP_ETAG_MAX          128
#define EDGE_HTTP_SURROGATE_KEY_MAX 1024

/* Buffer sizes that always suffice for the writers below, given valid
 * inputs within the maxima above. */
#define EDGE_HTTP_SUCCESS_HEAD_MAX 192
#define EDGE_HTTP_ENTITY_HEAD_MAX \
  (256 + EDGE_HTTP_ETAG_MAX + EDGE_HTTP_SURROGATE_KEY_MAX)
#define EDGE_HTTP_ERROR_HEAD_MAX 384

/* edge_http_write_entity_headers writes the per-response block: the
 * header lines Content-Type, Content-Length, Last-Modified, Expires, ETag
 * (strong, quoted), Surrogate-Key (if given), and the blank line ending
 * the head. The caller appends the DER after it. Returns 0 if it does not
 * fit, if the ETag is empty, too long or has a byte outside etagc or a
 * '"' (RFC 9110 8.8.3), if the Surrogate-Key is too long or has a byte
 * outside VCHAR / SP, or if a time is out of range. */
size_t edge_http_write_entity_headers(char *out, size_t cap,
                                      const struct edge_http_entity *entity)
    EDGE_MUST_CHECK;

/* edge_http_write_success_head writes the per-request part of a cached
 * 200: "HTTP/1.1 200 OK", Date, "Cache-Control: max-age=N, public,
 * no-transform, must-revalidate" with N = max(0, next_update - now)
 * (STANDARDS.md: max-age <= nextUpdate - now), and Connection (keep-alive
 * or close). It ends after Connection's CRLF: the entity block carries the
 * blank line. Returns 0 if it does not fit or |clock| is not set. */
size_t edge_http_write_success_head(char *out, size_t cap,
                                    const struct edge_http_clock *clock,
                                    int64_t next_update,
                                    int keep_alive) EDGE_MUST_CHECK;

/* edge_http_write_not_modified writes a whole 304 head: status line, Date,
 * Cache-Control (as for 200), Expires, Last-Modified, ETag, Surrogate-Key
 * (if given), Connection, blank line. No Content-Type, Content-Length or
 * body. Returns 0 on the same conditions as the two writers above. */
size_t edge_http_write_not_modified(char *out, size_t cap,
                                    const struct edge_http_clock *clock,
                                    const struct edge_http_entity *entity,
                                    int keep_alive) EDGE_MUST_CHECK;

/* --- Error answers ------------------------------------------------------- */

/* edge_http_write_ocsp_error writes the whole head of an OCSP error answer
 * (HTTP 200, application/ocsp-response, Content-Length |body_len|, Date).
 * With |max_age| 0 it says "Cache-Control: max-age=0, no-cache"; otherwise
 * "Cache-Control: max-age=|max_age|, public, no-transform" (a short
 * cacheable answer for unauthorized, to shed load). The caller sends the
 * unsigned error DER after it. Returns 0 if it does not fit or |clock| is
 * not set. */
size_t edge_http_write_ocsp_error(char *out, size_t cap,
                                  const struct edge_http_clock *clock,
                                  uint32_t max_age, size_t body_len,
                                  int keep_alive) EDGE_MUST_CHECK;

/* edge_http_write_error writes a whole plain HTTP error answer for
 * |status| (400, 404, 405, 411, 413, 414, 431, 500, 501, 503 or 505):
 * status line, Date, "Content-Type: text/plain", Content-Length,
 * "Cache-Control: no-store", Allow (405 only: |allow|, or
 * "GET, HEAD, POST" when NULL; a static NUL-terminated string of ours, not
 * request input), "Connection: close", the blank line and, unless
 * |head_only| (answering HEAD), the body "<status> <reason>\n". Returns 0
 * for another status, if |clock| is not set, or if it does not fit. */
size_t edge_http_write_error(char *out, size_t cap,
                             const struct edge_http_clock *clock, int status,
                             const char *allow, int head_only) EDGE_MUST_CHECK;

/* edge_http_write_text_head writes the whole head of a small text answer
 * (the admin listener's /healthz, /readyz, /metrics): status line for
 * |status| (200 or one of the error statuses above), Date, Content-Type
 * |content_type| (static NUL-terminated string of ours), Content-Length
 * |body_len|, "Cache-Control: no-store", Connection, blank line. Returns 0
 * for an unknown status, an unset clock, or if it does not fit. */
size_t edge_http_write_text_head(char *out, size_t cap,
                                 const struct edge_http_clock *clock,
                                 int status, const char *content_type,
                                 size_t body_len,
                                 int keep_alive) EDGE_MUST_CHECK;

/* edge_http_write_nonce_head writes the whole head of a live-signed OCSP
 * answer that echoes a nonce (for one client only): HTTP 200, Date,
 * "Content-Type: application/ocsp-response", Content-Length |body_len|,
 * "Cache-Control: no-store", Surrogate-Key |surrogate_key| (if
 * |surrogate_key_len| > 0), Connection, blank line. Returns 0 if it does
 * not fit, |clock| is not set, or the Surrogate-Key is too long or has a
 * byte outside VCHAR / SP. */
size_t edge_http_write_nonce_head(char *out, size_t cap,
                                  const struct edge_http_clock *clock,
                                  size_t body_len, const char *surrogate_key,
                                  size_t surrogate_key_len,
                                  int keep_alive) EDGE_MUST_CHECK;

/* edge_http_reason returns the static reason phrase for |status|, or NULL
 * if the writers do not know it. */
const char *edge_http_reason(int status);

/* --- Conditional requests ------------------------------------------------ */

/* edge_http_not_modified decides whether |req| gets a 304 for |entity|
 * (RFC 9110 13.1.2, 13.1.3, 13.2.2). Returns 1 for 304, 0 for a full
 * answer. Only GET and HEAD can be 304.
 *  - If-None-Match present: 1 if it is "*" or lists an entity-tag whose
 *    opaque-tag equals entity->etag under weak comparison (a "W/" prefix
 *    is ignored). A malformed value is 0 (a full answer is always safe).
 *    If-Modified-Since is then ignored, even if If-None-Match was
 *    malformed.
 *  - Else If-Modified-Since: 1 if it is an IMF-fixdate and this_update is
 *    at or before it; other date forms are ignored (0). */
int edge_http_not_modified(const struct edge_http_request *req,
                           const struct edge_http_entity *entity);

#ifdef __cplusplus
}
#endif

#endif /* EDGE_HTTP_RESPONSE_H */
