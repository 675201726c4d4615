/* cli_http.c: one bounded HTTP exchange over libcurl (see cli_http.h). */
#include "cli_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "vigil/alloc.h"

#define VIGILCTL_USER_AGENT "vigilctl/0.1.0"

/* Accumulates the body; refuses to grow past |cap|. */
struct body_buf {
  char *data;    /* owned, NUL-terminated when non-NULL */
  size_t len;    /* bytes stored */
  size_t alloc;  /* bytes allocated */
  size_t cap;    /* maximum body size */
  int too_large; /* 1: the cap was hit */
  int nomem;     /* 1: an allocation failed */
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
  struct body_buf *b = userdata;
  size_t n = size * nmemb;
  if (n > b->cap - b->len) {
    b->too_large = 1;
    return 0; /* makes curl stop with CURLE_WRITE_ERROR */
  }
  if (b->len + n + 1 > b->alloc) {
    size_t want = b->alloc == 0 ? 4096 : b->alloc;
    while (want < b->len + n + 1) {
      want *= 2;
    }
    if (want > b->cap + 1) {
      want = b->cap + 1;
    }
    char *p = vigil_realloc(b->data, want);
    if (p == NULL) {
      b->nomem = 1;
      return 0;
    }
    b->data = p;
    b->alloc = want;
  }
  memcpy(b->data + b->len, ptr, n);
  b->len += n;
  b->data[b->len] = '\0';
  return n;
}

int cli_http_escape(char *out, size_t out_len, const char *in) {
  static const char hexd[] = "0123456789ABCDEF";
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
    unsigned char c = *p;
    int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                c == '~';
    size_t need = plain ? 1 : 3;
    if (o + need >= out_len) {
      return 0;
    }
    if (plain) {
      out[o++] = (char)c;
    } else {
      out[o++] = '%';
      out[o++] = hexd[c >> 4];
      out[o++] = hexd[c & 15];
    }
  }
  if (o >= out_len) {
    return 0;
  }
  out[o] = '\0';
  return 1;
}

/* Joins the base URL and the API path; tolerates a trailing '/' and a base
 * that already ends in /api/v1. Returns 1, or 0 if it does not fit. */
static int build_url(char *out, size_t out_len, const char *base,
                     const char *path) {
  size_t blen = strlen(base);
  while (blen > 0 && base[blen - 1] == '/') {
    blen--;
  }
  const char *prefix = "/api/v1";
  size_t plen = strlen(prefix);
  if (blen >= plen && memcmp(base + blen - plen, prefix, plen) == 0) {
    prefix = "";
  }
  int n = snprintf(out, out_len, "%.*s%s%s", (int)blen, base, prefix, path);
  return n > 0 && (size_t)n < out_len;
}

static void set_err(char *err, size_t err_len, const char *what,
                    const char *detail) {
  if (err_len == 0) {
    return;
  }
  snprintf(err, err_len, "%s%s%s", what, detail[0] != '\0' ? ": " : "", detail);
}

/* add_header appends the header line |prefix| + |value| to |*headers|.
 * The line is built on the stack, copied by curl and then wiped (it may
 * hold the token). Returns CLI_HTTP_OK; CLI_HTTP_BAD_URL with |too_long|
 * in |err| when the line does not fit; CLI_HTTP_NOMEM. |*headers| is
 * unchanged on failure. */
static enum cli_http_result add_header(struct curl_slist **headers, char *err,
                                       size_t err_len, const char *prefix,
                                       const char *value,
                                       const char *too_long) {
  char line[4352];
  int n = snprintf(line, sizeof(line), "%s%s", prefix, value);
  if (n < 0 || (size_t)n >= sizeof(line)) {
    explicit_bzero(line, sizeof(line));
    set_err(err, err_len, too_long, "");
    return CLI_HTTP_BAD_URL;
  }
  struct curl_slist *tmp = curl_slist_append(*headers, line);
  explicit_bzero(line, sizeof(line));
  if (tmp == NULL) {
    return CLI_HTTP_NOMEM;
  }
  *headers = tmp;
  return CLI_HTTP_OK;
}

/* Maps a curl failure to a result and an operator-facing message. */
static enum cli_http_result transport_error(char *err, size_t err_len,
                                            CURLcode rc, const char *curl_err,
                                            const struct cli_http_config *cfg) {
  const char *detail = curl_err[0] != '\0' ? curl_err : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      set_err(err, err_len, "bad server URL (want https://HOST:PORT)", detail);
      return CLI_HTTP_BAD_URL;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
      if (cfg->insecure) {
        set_err(err, err_len, "TLS failure", detail);
      } else {
        char msg[1024];
        snprintf(msg, sizeof(msg),
                 "%s (pass --cacert FILE to trust the server's CA, or "
                 "--insecure for the self-signed first-start certificate)",
                 detail);
        set_err(err, err_len, "TLS failure", msg);
      }
      return CLI_HTTP_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
      set_err(err, err_len, "timed out", detail);
      return CLI_HTTP_TRANSPORT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
      set_err(err, err_len, "cannot connect to the server", detail);
      return CLI_HTTP_CONNECT;
    case CURLE_OUT_OF_MEMORY:
      set_err(err, err_len, "out of memory", "");
      return CLI_HTTP_NOMEM;
    default:
      set_err(err, err_len, "request failed", detail);
      return CLI_HTTP_TRANSPORT;
  }
}

void cli_http_response_cleanup(struct cli_http_response *resp) {
  vigil_free(resp->body);
  memset(resp, 0, sizeof(*resp));
}

enum cli_http_result cli_http_request(const struct cli_http_config *cfg,
                                      struct cli_http_response *out, char *err,
                                      size_t err_len, const char *method,
                                      const char *path, const char *body,
                                      const char *idempotency_key) {
  enum cli_http_result res = CLI_HTTP_NOMEM;
  struct body_buf buf = { .cap = cfg->max_body };
  struct curl_slist *headers = NULL;
  CURL *h = NULL;
  char url[4096];
  char curl_err[CURL_ERROR_SIZE];
  memset(out, 0, sizeof(*out));
  curl_err[0] = '\0';
  if (err_len > 0) {
    err[0] = '\0';
  }

  if (!build_url(url, sizeof(url), cfg->base_url, path)) {
    set_err(err, err_len, "server URL too long", "");
    res = CLI_HTTP_BAD_URL;
    goto err;
  }
  h = curl_easy_init();
  if (h == NULL) {
    set_err(err, err_len, "out of memory", "");
    goto err;
  }

  /* Headers. The token line is built on the stack and copied by curl. */
  struct curl_slist *tmp =
      curl_slist_append(headers, "Accept: application/json");
  if (tmp == NULL) {
    res = CLI_HTTP_NOMEM;
    goto err;
  }
  headers = tmp;
  if (body != NULL) {
    tmp = curl_slist_append(headers, "Content-Type: application/json");
    if (tmp == NULL) {
      res = CLI_HTTP_NOMEM;
      goto err;
    }
    headers = tmp;
  }
  res = CLI_HTTP_OK;
  if (cfg->token != NULL && cfg->token[0] != '\0') {
    res = add_header(&headers, err, err_len, "Authorization: Bearer ",
                     cfg->token, "token too long");
  }
  if (res == CLI_HTTP_OK && cfg->break_glass != NULL) {
    res = add_header(&headers, err, err_len,
                     "X-Vigil-Break-Glass: ", cfg->break_glass,
                     "break-glass reason too long");
  }
  if (res == CLI_HTTP_OK && idempotency_key != NULL) {
    res =
        add_header(&headers, err, err_len, "Idempotency-Key: ", idempotency_key,
                   "idempotency key too long");
  }
  if (res != CLI_HTTP_OK) {
    goto err;
  }

  /* curl_easy_setopt only fails here for out-of-memory or an option this
   * libcurl lacks; the transfer then reports the problem. */
  int ok =
      curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_USERAGENT, VIGILCTL_USER_AGENT) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, cfg->connect_timeout_ms) ==
          CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, cfg->timeout_ms) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
                       (curl_off_t)cfg->max_body) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_WRITEDATA, &buf) == CURLE_OK;
  if (ok && body != NULL) {
    ok = curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) == CURLE_OK &&
         curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                          (curl_off_t)strlen(body)) == CURLE_OK;
  }
  if (ok && cfg->insecure) {
    ok = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L) == CURLE_OK &&
         curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L) == CURLE_OK;
  }
  if (ok && cfg->cacert != NULL) {
    ok = curl_easy_setopt(h, CURLOPT_CAINFO, cfg->cacert) == CURLE_OK;
  }
  if (!ok) {
    set_err(err, err_len, "cannot configure libcurl", "");
    res = CLI_HTTP_CONNECT;
    goto err;
  }

  CURLcode rc = curl_easy_perform(h);
  if (buf.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    char msg[64];
    snprintf(msg, sizeof(msg), "more than %zu bytes", cfg->max_body);
    set_err(err, err_len, "response body too large", msg);
    res = CLI_HTTP_TOO_LARGE;
    goto err;
  }
  if (buf.nomem) {
    res = CLI_HTTP_NOMEM;
    goto err;
  }
  if (rc != CURLE_OK) {
    res = transport_error(err, err_len, rc, curl_err, cfg);
    /* A timeout or reset before any request byte left means the server
     * cannot have acted on it. */
    long sent = 0;
    if (res == CLI_HTTP_TRANSPORT &&
        curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK &&
        sent == 0) {
      res = CLI_HTTP_CONNECT;
    }
    goto err;
  }
  long status = 0;
  if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
    set_err(err, err_len, "no HTTP status", "");
    res = CLI_HTTP_TRANSPORT;
    goto err;
  }
  if (buf.data == NULL) {
    buf.data = vigil_malloc(1);
    if (buf.data == NULL) {
      res = CLI_HTTP_NOMEM;
      goto err;
    }
    buf.data[0] = '\0';
  }
  out->status = status;
  out->body = buf.data;
  out->body_len = buf.len;
  buf.data = NULL;
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  return CLI_HTTP_OK;

err:
  if (res == CLI_HTTP_NOMEM && err_len > 0 && err[0] == '\0') {
    set_err(err, err_len, "out of memory", "");
  }
  vigil_free(buf.data);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  return res;
}
