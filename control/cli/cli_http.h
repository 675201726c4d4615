/* cli_http.h: vigilctl's one HTTP exchange with the control-plane API.
 *
 * A thin, bounded layer over libcurl's easy interface: one request, one
 * response, the body capped (CLI_HTTP_MAX_BODY by default), connect and
 * total timeouts always set, redirects never followed (they would carry the
 * bearer token elsewhere), only http and https spoken. TLS is verified
 * against the system store or --cacert unless the caller asks for
 * --insecure (the self-signed certificate of a first start).
 *
 * The caller owns the configuration; this layer keeps no state between
 * requests (curl_global_init is main's job). */
#ifndef CLI_HTTP_H
#define CLI_HTTP_H

#include <stddef.h>

#define CLI_MUST_CHECK __attribute__((warn_unused_result))

/* Response bodies larger than this are refused (curl dynbuf-style cap). */
#define CLI_HTTP_MAX_BODY ((size_t)16 * 1024 * 1024)

/* Where and how to talk to the API. Every pointer is borrowed. */
struct cli_http_config {
  const char *base_url;    /* server root, e.g. https://127.0.0.1:8443 */
  const char *token;       /* bearer token, or NULL to send none */
  const char *cacert;      /* CA bundle (PEM) to verify with, or NULL */
  int insecure;            /* 1: do not verify the server certificate */
  long connect_timeout_ms; /* TCP + TLS handshake bound */
  long timeout_ms;         /* whole-exchange bound */
  size_t max_body;         /* response body cap in bytes */
  const char *break_glass; /* X-Vigil-Break-Glass reason, or NULL */
};

/* One response. |body| is NUL-terminated (not counted in |body_len|). */
struct cli_http_response {
  long status;     /* HTTP status code */
  char *body;      /* owned; release with cli_http_response_cleanup */
  size_t body_len; /* bytes in |body| */
};

enum cli_http_result {
  CLI_HTTP_OK = 0,    /* a complete response arrived (any status) */
  CLI_HTTP_CONNECT,   /* nothing was sent: cannot resolve/connect, TLS */
  CLI_HTTP_TRANSPORT, /* failed later (timeout, reset): may have been acted on
                       */
  CLI_HTTP_TOO_LARGE, /* the body exceeded max_body */
  CLI_HTTP_BAD_URL,   /* the configured URL is not usable */
  CLI_HTTP_NOMEM,     /* allocation failed */
};

/* cli_http_request sends |method| to |base_url| + "/api/v1" + |path|
 * (|path| starts with '/' and is already percent-encoded), with |body| as
 * JSON when non-NULL and an Idempotency-Key header when |idempotency_key|
 * is non-NULL. Returns CLI_HTTP_OK with |out| filled (caller cleans it up);
 * on any other result |out| holds no memory and |err| (|err_len| bytes)
 * says what went wrong in words an operator can act on. */
enum cli_http_result cli_http_request(
    const struct cli_http_config *cfg, struct cli_http_response *out, char *err,
    size_t err_len, const char *method, const char *path, const char *body,
    const char *idempotency_key) CLI_MUST_CHECK;

/* cli_http_response_cleanup frees |resp|'s body and zeroes it. Safe on a
 * zeroed response. */
void cli_http_response_cleanup(struct cli_http_response *resp);

/* cli_http_escape percent-encodes |in| for one path segment or query value
 * into |out| (|out_len| bytes, NUL-terminated): everything except RFC 3986
 * unreserved characters is encoded. Returns 1, or 0 if it does not fit. */
int cli_http_escape(char *out, size_t out_len, const char *in) CLI_MUST_CHECK;

#endif /* CLI_HTTP_H */
