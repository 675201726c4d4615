/* cli_common.c: vigilctl's shared command helpers (see cli_common.h). */
#include "cli_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/alloc.h"
#include "vigil/hex.h"
#include "vigil/log.h"

#define ESC_MAX_LEN 768

/* ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------ */

/* Prints |s| with control characters (and DEL) shown as '?'. */
void cli_put_safe(FILE *f, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, f);
  }
}

/* Prints a JSON value for humans: strings bare, null as "-", others
 * compact JSON. */
void cli_put_value(FILE *f, const json_t *v) {
  if (v == NULL || json_is_null(v)) {
    fputs("-", f);
  } else if (json_is_string(v)) {
    cli_put_safe(f, json_string_value(v));
  } else {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s != NULL) {
      cli_put_safe(f, s);
      vigil_free(s);
    }
  }
}

/* Length of the human form of |v| (as put_value prints it). */
static size_t value_len(const json_t *v) {
  if (v == NULL || json_is_null(v)) {
    return 1;
  }
  if (json_is_string(v)) {
    return strlen(json_string_value(v));
  }
  char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  size_t n = s != NULL ? strlen(s) : 0;
  vigil_free(s);
  return n;
}

static int is_skipped(const char *key, const char *const *skip) {
  for (size_t i = 0; skip != NULL && skip[i] != NULL; i++) {
    if (strcmp(key, skip[i]) == 0) {
      return 1;
    }
  }
  return 0;
}

/* Prints every member of |obj| as "key: value", except those in |skip|
 * (NULL-terminated). */
void cli_print_object(const json_t *obj, const char *const *skip) {
  const char *key;
  json_t *v;
  size_t width = 0;
  json_object_foreach((json_t *)obj, key, v) {
    if (!is_skipped(key, skip) && strlen(key) > width) {
      width = strlen(key);
    }
  }
  json_object_foreach((json_t *)obj, key, v) {
    if (is_skipped(key, skip)) {
      continue;
    }
    cli_put_safe(stdout, key);
    fprintf(stdout, ":%*s ", (int)(width - strlen(key)), "");
    cli_put_value(stdout, v);
    fputc('\n', stdout);
  }
}

/* Prints |items| (an array of objects) as a table of |cols|. */
void cli_print_table(const json_t *items, const struct cli_column *cols,
                     size_t num_cols) {
  size_t width[8] = { 0 };
  for (size_t c = 0; c < num_cols && c < 8; c++) {
    width[c] = strlen(cols[c].header);
  }
  size_t i;
  json_t *it;
  json_array_foreach((json_t *)items, i, it) {
    for (size_t c = 0; c < num_cols && c < 8; c++) {
      size_t n = value_len(json_object_get(it, cols[c].key));
      if (n > width[c]) {
        width[c] = n;
      }
    }
  }
  for (size_t c = 0; c < num_cols && c < 8; c++) {
    fprintf(stdout, "%-*s%s", c + 1 < num_cols ? (int)width[c] : 0,
            cols[c].header, c + 1 < num_cols ? "  " : "\n");
  }
  json_array_foreach((json_t *)items, i, it) {
    for (size_t c = 0; c < num_cols && c < 8; c++) {
      const json_t *v = json_object_get(it, cols[c].key);
      cli_put_value(stdout, v);
      if (c + 1 < num_cols) {
        fprintf(stdout, "%*s", (int)(width[c] - value_len(v) + 2), "");
      }
    }
    fputc('\n', stdout);
  }
}

/* Writes the raw body (the --json form), ending it with a newline. */
void cli_print_raw(const struct cli_http_response *r) {
  fwrite(r->body, 1, r->body_len, stdout);
  if (r->body_len == 0 || r->body[r->body_len - 1] != '\n') {
    fputc('\n', stdout);
  }
}

/* Fills |out| (33 bytes) with 128 random bits in hex: a fresh
 * Idempotency-Key, so a retried write cannot apply twice. */
static int random_key(char out[33]) {
  uint8_t raw[16];
  size_t got = 0;
  while (got < sizeof(raw)) {
    ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return 0;
    }
    got += (size_t)n;
  }
  vigil_hex_encode(out, raw, sizeof(raw));
  return 1;
}

/* Picks the Idempotency-Key for a write: --idempotency-key K (checked
 * against the server's rule: 1..255 printable ASCII) or a random one in
 * |buf|. Returns the key, or NULL after printing a usage error. */
const char *cli_idempotency_key(const struct cli_cmd *cmd,
                                const struct cli_parsed *p, char buf[33]) {
  const char *k = cli_args_get(p, "idempotency-key");
  if (k == NULL) {
    if (!random_key(buf)) {
      fprintf(stderr, "%s: cannot read random bytes for Idempotency-Key\n",
              PROG);
      return NULL;
    }
    return buf;
  }
  size_t n = strlen(k);
  int ok = n >= 1 && n <= 255;
  for (size_t i = 0; ok && i < n; i++) {
    ok = k[i] > 0x20 && k[i] < 0x7f;
  }
  if (!ok) {
    cli_args_usage_error(cmd,
                         "--idempotency-key must be 1..255 printable ASCII "
                         "characters without spaces");
    return NULL;
  }
  return k;
}

/* Reads a whole small file into a NUL-terminated heap buffer (at most
 * |max| bytes). Returns it, or NULL after printing why. */
char *cli_read_small_file(const char *path, size_t max) {
  char ebuf[128];
  char *buf = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "%s: cannot open %s: %s\n", PROG, path,
            vigil_strerror(errno, ebuf, sizeof(ebuf)));
    goto err;
  }
  buf = vigil_malloc(max + 1);
  if (buf == NULL) {
    fprintf(stderr, "%s: out of memory\n", PROG);
    goto err;
  }
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, buf + len, max + 1 - len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      fprintf(stderr, "%s: cannot read %s: %s\n", PROG, path,
              vigil_strerror(errno, ebuf, sizeof(ebuf)));
      goto err;
    }
    if (n == 0) {
      break;
    }
    len += (size_t)n;
    if (len > max) {
      fprintf(stderr, "%s: %s is larger than %zu bytes\n", PROG, path, max);
      goto err;
    }
  }
  buf[len] = '\0';
  close(fd);
  return buf;

err:
  vigil_free(buf);
  if (fd >= 0) {
    close(fd);
  }
  return NULL;
}

/* Writes all of |data| to |fd|. Returns 1, or 0 with errno set. */
/* ------------------------------------------------------------------------
 * The one API call
 * ------------------------------------------------------------------------ */

void cli_reply_cleanup(struct cli_reply *r) {
  cli_http_response_cleanup(&r->http);
  json_decref(r->json);
  r->json = NULL;
}

/* Prints an API error answer: the server's code and message on stderr
 * (and the body as-is on stdout with --json), plus a hint for 401/403. */
static void print_api_error(const struct cli_ctx *ctx,
                            const struct cli_reply *r) {
  const json_t *e = json_object_get(r->json, "error");
  const char *code = json_string_value(json_object_get(e, "code"));
  const char *msg = json_string_value(json_object_get(e, "message"));
  if (ctx->json && r->json != NULL) {
    cli_print_raw(&r->http);
  }
  fprintf(stderr, "%s: error: HTTP %ld", PROG, r->http.status);
  if (code != NULL) {
    fputs(" ", stderr);
    cli_put_safe(stderr, code);
  }
  if (msg != NULL) {
    fputs(": ", stderr);
    cli_put_safe(stderr, msg);
  } else if (code == NULL && r->http.body_len > 0) {
    /* Not our API's error shape (a proxy?): show the start of it. */
    char head[201];
    snprintf(head, sizeof(head), "%s", r->http.body);
    fputs(": ", stderr);
    cli_put_safe(stderr, head);
  }
  fputc('\n', stderr);
  if (r->http.status == 401) {
    fprintf(stderr,
            "%s: hint: give a valid token with --token, --token-file or "
            "VIGIL_TOKEN\n",
            PROG);
  } else if (r->http.status == 403) {
    fprintf(stderr,
            "%s: hint: the token lacks the role or tenant for this (the "
            "bootstrap token\ncannot issue or revoke: make one with `%s "
            "tokens create --name N --role issuer`)\n",
            PROG, PROG);
  }
}

/* After a write whose outcome is unknown (sent, but no answer), the same
 * Idempotency-Key makes a retry safe: say which one was used. */
static void retry_hint(const char *idem_key) {
  if (idem_key != NULL) {
    fprintf(stderr,
            "%s: the write may or may not have happened; retry safely with "
            "--idempotency-key %s\n",
            PROG, idem_key);
  }
}

/* api_call makes one request and maps the answer to an exit status:
 * 2xx → CLI_EXIT_OK with |out| filled (caller cleans up); 401/403 →
 * CLI_EXIT_AUTH; other 4xx (and anything unexpected) → CLI_EXIT_API;
 * 5xx, transport failures and oversized answers →
 * CLI_EXIT_UNAVAILABLE. Errors are printed here; on a non-2xx answer
 * |out| still holds the response (the caller may inspect it) and must be
 * cleaned up. */
int cli_api_call(struct cli_ctx *ctx, struct cli_reply *out, const char *method,
                 const char *path, const json_t *body, const char *idem_key) {
  char err[1536];
  char *text = NULL;
  memset(out, 0, sizeof(*out));
  if (body != NULL) {
    text = json_dumps(body, JSON_COMPACT);
    if (text == NULL) {
      fprintf(stderr, "%s: out of memory\n", PROG);
      return CLI_EXIT_UNAVAILABLE;
    }
  }
  enum cli_http_result res = cli_http_request(
      &ctx->http, &out->http, err, sizeof(err), method, path, text, idem_key);
  vigil_free(text);
  if (res != CLI_HTTP_OK) {
    fprintf(stderr, "%s: %s: ", PROG, ctx->http.base_url);
    cli_put_safe(stderr, err);
    fputc('\n', stderr);
    if (res == CLI_HTTP_BAD_URL) {
      return CLI_EXIT_USAGE;
    }
    if (res == CLI_HTTP_TRANSPORT) {
      retry_hint(idem_key);
    }
    return CLI_EXIT_UNAVAILABLE;
  }
  out->json = json_loadb(out->http.body, out->http.body_len, 0, NULL);
  long st = out->http.status;
  if (st >= 200 && st < 300) {
    if (out->json != NULL) {
      return CLI_EXIT_OK;
    }
    /* Whatever answered is not the Vigil API (a proxy, another service). */
    fprintf(stderr,
            "%s: %s: the answer (HTTP %ld) is not JSON; is this the Vigil "
            "API?\n",
            PROG, ctx->http.base_url, st);
    return CLI_EXIT_UNAVAILABLE;
  }
  print_api_error(ctx, out);
  if (st == 401 || st == 403) {
    return CLI_EXIT_AUTH;
  }
  if (st >= 500) {
    return CLI_EXIT_UNAVAILABLE;
  }
  return CLI_EXIT_API;
}

/* Prints a 2xx object answer: as-is with --json, else "key: value"
 * lines without the members in |skip|. */
void cli_print_reply(const struct cli_ctx *ctx, const struct cli_reply *r,
                     const char *const *skip) {
  if (ctx->json || !json_is_object(r->json)) {
    cli_print_raw(&r->http);
    return;
  }
  cli_print_object(r->json, skip);
}

/* Appends "?key=value" or "&key=value" (escaped) to |path|. Returns 1, or
 * 0 after a usage error if it does not fit. */
int cli_add_query(const struct cli_cmd *cmd, char *path, size_t path_len,
                  const char *key, const char *value) {
  char esc[ESC_MAX_LEN];
  if (value == NULL) {
    return 1;
  }
  size_t used = strlen(path);
  int n = -1;
  if (cli_http_escape(esc, sizeof(esc), value)) {
    n = snprintf(path + used, path_len - used, "%c%s=%s",
                 strchr(path, '?') != NULL ? '&' : '?', key, esc);
  }
  if (n < 0 || (size_t)n >= path_len - used) {
    cli_args_usage_error(cmd, "--%s value too long", key);
    return 0;
  }
  return 1;
}

/* Builds "/prefix/{escaped id}suffix" into |path|. Returns 1, or 0 after a
 * usage error. */
int cli_id_path(const struct cli_cmd *cmd, char *path, size_t path_len,
                const char *prefix, const char *id, const char *suffix) {
  char esc[ESC_MAX_LEN];
  if (id[0] == '\0' || !cli_http_escape(esc, sizeof(esc), id)) {
    cli_args_usage_error(cmd, "bad argument '%s'", id);
    return 0;
  }
  int n = snprintf(path, path_len, "%s/%s%s", prefix, esc, suffix);
  if (n < 0 || (size_t)n >= path_len) {
    cli_args_usage_error(cmd, "argument too long");
    return 0;
  }
  return 1;
}

/* Sets body[key] = string |value| when |value| is non-NULL. Returns 1, or
 * 0 on out-of-memory. */
int cli_set_str(json_t *obj, const char *key, const char *value) {
  if (value == NULL) {
    return 1;
  }
  return json_object_set_new(obj, key, json_string(value)) == 0;
}

/* Adds every value of list option |opt| as a JSON array obj[key] (only if
 * any were given). Returns 1, or 0 on out-of-memory. */
int cli_set_list(json_t *obj, const char *key, const struct cli_parsed *p,
                 const char *opt) {
  size_t n = cli_args_count(p, opt);
  if (n == 0) {
    return 1;
  }
  json_t *arr = json_array();
  if (arr == NULL) {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (json_array_append_new(arr, json_string(cli_args_nth(p, opt, i))) != 0) {
      json_decref(arr);
      return 0;
    }
  }
  return json_object_set_new(obj, key, arr) == 0;
}

/* Parses option |name| (if given) as an integer in [min, max] into JSON
 * member |key|. Returns 1, or 0 after a usage error / out of memory. */
int cli_set_int_opt(const struct cli_cmd *cmd, json_t *obj, const char *key,
                    const struct cli_parsed *p, const char *name, long min,
                    long max) {
  const char *s = cli_args_get(p, name);
  long v = 0;
  if (s == NULL) {
    return 1;
  }
  if (!cli_args_parse_long(&v, s, min, max)) {
    cli_args_usage_error(cmd, "--%s wants a whole number in %ld..%ld", name,
                         min, max);
    return 0;
  }
  return json_object_set_new(obj, key, json_integer(v)) == 0;
}

int cli_oom(void) {
  fprintf(stderr, "%s: out of memory\n", PROG);
  return CLI_EXIT_UNAVAILABLE;
}

void cli_print_list(const struct cli_ctx *ctx, const struct cli_reply *r,
                    const struct cli_column *cols, size_t num_cols,
                    const char *page_opt) {
  const json_t *items = json_object_get(r->json, "items");
  if (ctx->json || !json_is_array(items)) {
    cli_print_raw(&r->http);
    return;
  }
  cli_print_table(items, cols, num_cols);
  const json_t *next = json_object_get(r->json, "next");
  if (page_opt != NULL && next != NULL && !json_is_null(next)) {
    fprintf(stdout, "(more: --%s ", page_opt);
    cli_put_value(stdout, next);
    fputs(")\n", stdout);
  }
}

int cli_get_list(struct cli_ctx *ctx, const char *path,
                 const struct cli_column *cols, size_t num_cols,
                 const char *page_opt) {
  struct cli_reply r = { 0 };
  int rc = cli_api_call(ctx, &r, "GET", path, NULL, NULL);
  if (rc == CLI_EXIT_OK) {
    cli_print_list(ctx, &r, cols, num_cols, page_opt);
  }
  cli_reply_cleanup(&r);
  return rc;
}
