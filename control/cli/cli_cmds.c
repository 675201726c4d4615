/* cli_cmds.c: vigilctl's commands (see cli_cmds.h, docs/cli.md).
 *
 * Every command follows one pattern: check the arguments locally (a usage
 * error costs no round trip), build the JSON body with jansson, make one
 * call through api_call (which maps the answer to an exit status and
 * prints API errors), then print the result. Strings from the server are
 * printed with control characters replaced, since names are free text and
 * must not be able to drive the operator's terminal. */
#include "cli_cmds.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/file.h"
#include "vigil/alloc.h"
#include "vigil/hex.h"
#include "vigil/log.h"

#define PROG         "vigilctl"
#define PATH_MAX_LEN 2048
#define ESC_MAX_LEN  768
/* CSRs are a few KiB; anything near this is not a CSR. */
#define CSR_MAX_LEN (64 * 1024)

/* ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------ */

/* Prints |s| with control characters (and DEL) shown as '?'. */
static void put_safe(FILE *f, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, f);
  }
}

/* Prints a JSON value for humans: strings bare, null as "-", others
 * compact JSON. */
static void put_value(FILE *f, const json_t *v) {
  if (v == NULL || json_is_null(v)) {
    fputs("-", f);
  } else if (json_is_string(v)) {
    put_safe(f, json_string_value(v));
  } else {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s != NULL) {
      put_safe(f, s);
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
static void print_object(const json_t *obj, const char *const *skip) {
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
    put_safe(stdout, key);
    fprintf(stdout, ":%*s ", (int)(width - strlen(key)), "");
    put_value(stdout, v);
    fputc('\n', stdout);
  }
}

/* One column of a list table: header and the member it shows. */
struct column {
  const char *header; /* printed upper case */
  const char *key;    /* member of each item */
};

/* Prints |items| (an array of objects) as a table of |cols|. */
static void print_table(const json_t *items, const struct column *cols,
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
      put_value(stdout, v);
      if (c + 1 < num_cols) {
        fprintf(stdout, "%*s", (int)(width[c] - value_len(v) + 2), "");
      }
    }
    fputc('\n', stdout);
  }
}

/* Writes the raw body (the --json form), ending it with a newline. */
static void print_raw(const struct cli_http_response *r) {
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
static const char *idempotency_key(const struct cli_cmd *cmd,
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
static char *read_small_file(const char *path, size_t max) {
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

/* A 2xx answer: the raw response and, when it is JSON, its parse. */
struct reply {
  struct cli_http_response http; /* owned */
  json_t *json;                  /* owned, or NULL if not JSON */
};

static void reply_cleanup(struct reply *r) {
  cli_http_response_cleanup(&r->http);
  json_decref(r->json);
  r->json = NULL;
}

/* Prints an API error answer: the server's code and message on stderr
 * (and the body as-is on stdout with --json), plus a hint for 401/403. */
static void print_api_error(const struct cli_ctx *ctx, const struct reply *r) {
  const json_t *e = json_object_get(r->json, "error");
  const char *code = json_string_value(json_object_get(e, "code"));
  const char *msg = json_string_value(json_object_get(e, "message"));
  if (ctx->json && r->json != NULL) {
    print_raw(&r->http);
  }
  fprintf(stderr, "%s: error: HTTP %ld", PROG, r->http.status);
  if (code != NULL) {
    fputs(" ", stderr);
    put_safe(stderr, code);
  }
  if (msg != NULL) {
    fputs(": ", stderr);
    put_safe(stderr, msg);
  } else if (code == NULL && r->http.body_len > 0) {
    /* Not our API's error shape (a proxy?): show the start of it. */
    char head[201];
    snprintf(head, sizeof(head), "%s", r->http.body);
    fputs(": ", stderr);
    put_safe(stderr, head);
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
static int api_call(struct cli_ctx *ctx, struct reply *out, const char *method,
                    const char *path, const json_t *body,
                    const char *idem_key) {
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
    put_safe(stderr, err);
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
static void print_reply(const struct cli_ctx *ctx, const struct reply *r,
                        const char *const *skip) {
  if (ctx->json || !json_is_object(r->json)) {
    print_raw(&r->http);
    return;
  }
  print_object(r->json, skip);
}

/* Appends "?key=value" or "&key=value" (escaped) to |path|. Returns 1, or
 * 0 after a usage error if it does not fit. */
static int add_query(const struct cli_cmd *cmd, char *path, size_t path_len,
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
static int id_path(const struct cli_cmd *cmd, char *path, size_t path_len,
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
static int set_str(json_t *obj, const char *key, const char *value) {
  if (value == NULL) {
    return 1;
  }
  return json_object_set_new(obj, key, json_string(value)) == 0;
}

/* Adds every value of list option |opt| as a JSON array obj[key] (only if
 * any were given). Returns 1, or 0 on out-of-memory. */
static int set_list(json_t *obj, const char *key, const struct cli_parsed *p,
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
static int set_int_opt(const struct cli_cmd *cmd, json_t *obj, const char *key,
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

static int oom(void) {
  fprintf(stderr, "%s: out of memory\n", PROG);
  return CLI_EXIT_UNAVAILABLE;
}

/* ------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------ */

static const struct cli_cmd *cmd_of(const char *group, const char *verb) {
  for (size_t i = 0; i < cli_num_cmds; i++) {
    if (strcmp(cli_cmds[i].group, group) == 0 &&
        (verb == NULL ||
         (cli_cmds[i].verb != NULL && strcmp(cli_cmds[i].verb, verb) == 0))) {
      return &cli_cmds[i];
    }
  }
  return NULL;
}

static int run_health(struct cli_ctx *ctx, const struct cli_parsed *p) {
  struct reply r = { 0 };
  int rc = api_call(ctx, &r, "GET", "/health", NULL, NULL);
  if (rc == CLI_EXIT_OK) {
    print_reply(ctx, &r, NULL);
  } else if (r.http.status == 503 && !ctx->json && json_is_object(r.json)) {
    /* 503 carries the same body: say which part is down. */
    print_object(r.json, NULL);
  }
  reply_cleanup(&r);
  return rc;
}

static int run_tenants_create(struct cli_ctx *ctx, const struct cli_parsed *p) {
  const struct cli_cmd *cmd = cmd_of("tenants", "create");
  char kbuf[33];
  struct reply r = { 0 };
  int rc = CLI_EXIT_USAGE;
  json_t *body = json_object();
  const char *key = idempotency_key(cmd, p, kbuf);
  if (key == NULL) {
    goto err;
  }
  if (body == NULL || !set_str(body, "name", p->pos[0])) {
    rc = oom();
    goto err;
  }
  rc = api_call(ctx, &r, "POST", "/tenants", body, key);
  if (rc == CLI_EXIT_OK) {
    print_reply(ctx, &r, NULL);
  }
err:
  reply_cleanup(&r);
  json_decref(body);
  return rc;
}

static int run_issuers_create(struct cli_ctx *ctx, const struct cli_parsed *p) {
  static const char *const skip[] = { "certificate_pem", NULL };
  const struct cli_cmd *cmd = cmd_of("issuers", "create");
  char kbuf[33];
  char path[PATH_MAX_LEN];
  struct reply r = { 0 };
  int rc = CLI_EXIT_USAGE;
  json_t *body = json_object();
  const char *tenant = cli_args_get(p, "tenant");
  const char *issuer_id = cli_args_get(p, "issuer-id");
  const char *cn = cli_args_get(p, "cn");
  if (tenant == NULL || issuer_id == NULL || cn == NULL) {
    rc = cli_args_usage_error(cmd,
                              "--tenant, --issuer-id and --cn are "
                              "required");
    goto err;
  }
  const char *key = idempotency_key(cmd, p, kbuf);
  if (key == NULL ||
      !id_path(cmd, path, sizeof(path), "/tenants", tenant, "/issuers")) {
    goto err;
  }
  if (body == NULL) {
    rc = oom();
    goto err;
  }
  if (!set_int_opt(cmd, body, "validity_days", p, "days", 1, 36500)) {
    goto err;
  }
  if (!set_str(body, "issuer_id", issuer_id) ||
      !set_str(body, "common_name", cn) ||
      !set_str(body, "parent_issuer_id", cli_args_get(p, "parent")) ||
      !set_str(body, "key_type", cli_args_get(p, "key-type"))) {
    rc = oom();
    goto err;
  }
  rc = api_call(ctx, &r, "POST", path, body, key);
  if (rc != CLI_EXIT_OK) {
    goto err;
  }
  print_reply(ctx, &r, skip);
  const char *pem =
      json_string_value(json_object_get(r.json, "certificate_pem"));
  if (!ctx->json && pem != NULL) {
    fputs(pem, stdout);
  }
err:
  reply_cleanup(&r);
  json_decref(body);
  return rc;
}

/* The PEM labels we accept for --csr (openssl writes the first; some old
 * tools the second). */
static int looks_like_csr(const char *s) {
  return strstr(s, "-----BEGIN CERTIFICATE REQUEST-----") != NULL ||
         strstr(s, "-----BEGIN NEW CERTIFICATE REQUEST-----") != NULL;
}

static int run_certificates_create(struct cli_ctx *ctx,
                                   const struct cli_parsed *p) {
  static const char *const skip[] = { "certificate_pem", "private_key_pem",
                                      NULL };
  const struct cli_cmd *cmd = cmd_of("certificates", "create");
  char kbuf[33];
  char ebuf[128];
  struct reply r = { 0 };
  int rc = CLI_EXIT_USAGE;
  int key_fd = -1;
  char *csr = NULL;
  json_t *body = json_object();
  const char *tenant = cli_args_get(p, "tenant");
  const char *name = cli_args_get(p, "name");
  const char *csr_path = cli_args_get(p, "csr");
  const char *key_out = cli_args_get(p, "key-out");
  const char *cert_out = cli_args_get(p, "cert-out");
  size_t num_san = cli_args_count(p, "dns") + cli_args_count(p, "ip");
  if (body == NULL) {
    rc = oom();
    goto err;
  }
  if (tenant == NULL || name == NULL) {
    rc = cli_args_usage_error(cmd, "--tenant and --name are required");
    goto err;
  }
  if (csr_path != NULL &&
      (key_out != NULL || cli_args_get(p, "key-type") != NULL)) {
    rc = cli_args_usage_error(cmd,
                              "--key-out and --key-type are for a "
                              "server-generated key, not with --csr");
    goto err;
  }
  if (csr_path == NULL && num_san == 0) {
    rc = cli_args_usage_error(cmd,
                              "give --csr FILE, or at least one --dns "
                              "or --ip for a server-generated key");
    goto err;
  }
  const char *key = idempotency_key(cmd, p, kbuf);
  if (key == NULL) {
    goto err;
  }
  if (!set_int_opt(cmd, body, "validity_days", p, "days", 1, 36500)) {
    goto err;
  }
  if (!set_str(body, "tenant", tenant) || !set_str(body, "name", name) ||
      !set_str(body, "issuer_id", cli_args_get(p, "issuer-id"))) {
    rc = oom();
    goto err;
  }
  if (csr_path != NULL) {
    csr = read_small_file(csr_path, CSR_MAX_LEN);
    if (csr == NULL) {
      goto err;
    }
    if (!looks_like_csr(csr)) {
      rc = cli_args_usage_error(cmd, "%s is not a PEM certificate request",
                                csr_path);
      goto err;
    }
    /* With a CSR, --dns/--ip replace the CSR's SANs (top level). */
    if (!set_str(body, "csr_pem", csr) || !set_list(body, "dns", p, "dns") ||
        !set_list(body, "ip", p, "ip")) {
      rc = oom();
      goto err;
    }
  } else {
    json_t *gen = json_object();
    if (gen == NULL || json_object_set_new(body, "generate", gen) != 0 ||
        !set_str(gen, "key_type", cli_args_get(p, "key-type")) ||
        !set_list(gen, "dns", p, "dns") || !set_list(gen, "ip", p, "ip")) {
      rc = oom();
      goto err;
    }
  }
  /* Create the key file before asking: the key is shown once, so a path we
   * cannot write must fail before the server makes it. O_EXCL: never
   * replace an existing file (or follow a planted symlink). */
  if (key_out != NULL) {
    key_fd = open(key_out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (key_fd < 0) {
      fprintf(stderr, "%s: cannot create %s: %s%s\n", PROG, key_out,
              vigil_strerror(errno, ebuf, sizeof(ebuf)),
              errno == EEXIST ? " (refusing to overwrite a key file)" : "");
      goto err;
    }
  }
  rc = api_call(ctx, &r, "POST", "/certificates", body, key);
  if (rc != CLI_EXIT_OK) {
    goto err;
  }
  const char *pem =
      json_string_value(json_object_get(r.json, "certificate_pem"));
  const char *priv =
      json_string_value(json_object_get(r.json, "private_key_pem"));
  if (key_fd >= 0) {
    if (priv == NULL) {
      fprintf(stderr, "%s: the answer has no private_key_pem\n", PROG);
      rc = CLI_EXIT_API;
      goto err;
    }
    if (!vigil_file_write_all(key_fd, priv, strlen(priv)) ||
        fsync(key_fd) != 0) {
      fprintf(stderr, "%s: writing %s: %s\n", PROG, key_out,
              vigil_strerror(errno, ebuf, sizeof(ebuf)));
      rc = CLI_EXIT_USAGE;
      goto err;
    }
    close(key_fd);
    key_fd = -1;
    key_out = NULL; /* written: keep it */
  }
  if (cert_out != NULL && pem != NULL) {
    int fd = open(cert_out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0 && vigil_file_write_all(fd, pem, strlen(pem));
    if (fd >= 0 && close(fd) != 0) {
      ok = 0;
    }
    if (!ok) {
      fprintf(stderr, "%s: cannot write %s: %s (the certificate was issued)\n",
              PROG, cert_out, vigil_strerror(errno, ebuf, sizeof(ebuf)));
      rc = CLI_EXIT_USAGE;
    }
  }
  print_reply(ctx, &r, skip);
  if (!ctx->json) {
    if (pem != NULL && cert_out == NULL) {
      fputs(pem, stdout);
    }
    if (priv != NULL && key_fd < 0 && cli_args_get(p, "key-out") == NULL) {
      fprintf(stdout, "# private key: shown once, not stored by the server\n");
      fputs(priv, stdout);
    }
  }
err:
  if (key_fd >= 0) {
    /* Nothing (complete) was written: do not leave an empty key file. */
    close(key_fd);
    unlink(key_out);
  }
  vigil_free(csr);
  reply_cleanup(&r);
  json_decref(body);
  return rc;
}

static int run_certificates_get(struct cli_ctx *ctx,
                                const struct cli_parsed *p) {
  static const char *const skip[] = { "certificate_pem", NULL };
  const struct cli_cmd *cmd = cmd_of("certificates", "get");
  char path[PATH_MAX_LEN];
  struct reply r = { 0 };
  if (!id_path(cmd, path, sizeof(path), "/certificates", p->pos[0], "")) {
    return CLI_EXIT_USAGE;
  }
  int rc = api_call(ctx, &r, "GET", path, NULL, NULL);
  if (rc == CLI_EXIT_OK) {
    print_reply(ctx, &r, skip);
    const char *pem =
        json_string_value(json_object_get(r.json, "certificate_pem"));
    if (!ctx->json && pem != NULL && cli_args_get(p, "pem") != NULL) {
      fputs(pem, stdout);
    }
  }
  reply_cleanup(&r);
  return rc;
}

/* Prints a list answer {"items": [...], "next": ...} as a table, and how
 * to fetch the next page. */
static void print_list(const struct cli_ctx *ctx, const struct reply *r,
                       const struct column *cols, size_t num_cols) {
  const json_t *items = json_object_get(r->json, "items");
  if (ctx->json || !json_is_array(items)) {
    print_raw(&r->http);
    return;
  }
  print_table(items, cols, num_cols);
  const json_t *next = json_object_get(r->json, "next");
  if (next != NULL && !json_is_null(next)) {
    fputs("(more: --after ", stdout);
    put_value(stdout, next);
    fputs(")\n", stdout);
  }
}

static int run_certificates_list(struct cli_ctx *ctx,
                                 const struct cli_parsed *p) {
  static const struct column cols[] = {
    { "ID", "id" },         { "TENANT", "tenant" },
    { "NAME", "name" },     { "SERIAL", "serial" },
    { "STATUS", "status" }, { "NOT_AFTER", "not_after" },
  };
  const struct cli_cmd *cmd = cmd_of("certificates", "list");
  char path[PATH_MAX_LEN] = "/certificates";
  struct reply r = { 0 };
  long limit = 0;
  const char *lim = cli_args_get(p, "limit");
  if (lim != NULL && !cli_args_parse_long(&limit, lim, 1, 500)) {
    return cli_args_usage_error(cmd, "--limit wants a whole number in 1..500");
  }
  if (!add_query(cmd, path, sizeof(path), "tenant",
                 cli_args_get(p, "tenant")) ||
      !add_query(cmd, path, sizeof(path), "limit", lim) ||
      !add_query(cmd, path, sizeof(path), "after", cli_args_get(p, "after"))) {
    return CLI_EXIT_USAGE;
  }
  int rc = api_call(ctx, &r, "GET", path, NULL, NULL);
  if (rc == CLI_EXIT_OK) {
    print_list(ctx, &r, cols, sizeof(cols) / sizeof(cols[0]));
  }
  reply_cleanup(&r);
  return rc;
}

static const char *const revocation_reasons[] = {
  "unspecified", "keyCompromise",        "affiliationChanged",
  "superseded",  "cessationOfOperation", "privilegeWithdrawn",
};

static int run_certificates_revoke(struct cli_ctx *ctx,
                                   const struct cli_parsed *p) {
  const struct cli_cmd *cmd = cmd_of("certificates", "revoke");
  char kbuf[33];
  char path[PATH_MAX_LEN];
  struct reply r = { 0 };
  int rc = CLI_EXIT_USAGE;
  json_t *body = NULL;
  const char *reason = cli_args_get(p, "reason");
  int known = 0;
  for (size_t i = 0; reason != NULL && i < sizeof(revocation_reasons) /
                                               sizeof(revocation_reasons[0]);
       i++) {
    known |= strcmp(reason, revocation_reasons[i]) == 0;
  }
  if (!known) {
    return cli_args_usage_error(
        cmd,
        "--reason must be one of unspecified, keyCompromise, "
        "affiliationChanged, superseded, cessationOfOperation, "
        "privilegeWithdrawn");
  }
  const char *key = idempotency_key(cmd, p, kbuf);
  if (key == NULL ||
      !id_path(cmd, path, sizeof(path), "/certificates", p->pos[0],
               cli_args_get(p, "wait") != NULL ? "/revoke?wait=published"
                                               : "/revoke")) {
    return CLI_EXIT_USAGE;
  }
  body = json_object();
  if (body == NULL || !set_str(body, "reason", reason)) {
    rc = oom();
    goto err;
  }
  rc = api_call(ctx, &r, "POST", path, body, key);
  if (rc == CLI_EXIT_OK) {
    print_reply(ctx, &r, NULL);
  } else if (r.http.status == 504) {
    /* The revocation is committed; only the publishing wait ran out. */
    if (!ctx->json && json_is_object(r.json)) {
      print_object(r.json, NULL);
    }
    fprintf(stderr,
            "%s: the revocation is committed but was not confirmed "
            "published in time;\nit will still publish (check with `%s "
            "certificates get`)\n",
            PROG, PROG);
  }
err:
  reply_cleanup(&r);
  json_decref(body);
  return rc;
}

static int run_audit_list(struct cli_ctx *ctx, const struct cli_parsed *p) {
  static const struct column cols[] = {
    { "ID", "id" },
    { "AT", "at" },
    { "TYPE", "type" },
    { "SUBJECT", "subject" },
    { "PRINCIPAL", "principal" },
  };
  const struct cli_cmd *cmd = cmd_of("audit", "list");
  char path[PATH_MAX_LEN] = "/audit";
  struct reply r = { 0 };
  long limit = 0;
  const char *lim = cli_args_get(p, "limit");
  if (lim != NULL && !cli_args_parse_long(&limit, lim, 1, 1000)) {
    return cli_args_usage_error(cmd, "--limit wants a whole number in 1..1000");
  }
  if (!add_query(cmd, path, sizeof(path), "type", cli_args_get(p, "type")) ||
      !add_query(cmd, path, sizeof(path), "limit", lim) ||
      !add_query(cmd, path, sizeof(path), "after", cli_args_get(p, "after"))) {
    return CLI_EXIT_USAGE;
  }
  int rc = api_call(ctx, &r, "GET", path, NULL, NULL);
  if (rc == CLI_EXIT_OK) {
    print_list(ctx, &r, cols, sizeof(cols) / sizeof(cols[0]));
  }
  reply_cleanup(&r);
  return rc;
}

static int run_tokens_create(struct cli_ctx *ctx, const struct cli_parsed *p) {
  const struct cli_cmd *cmd = cmd_of("tokens", "create");
  char kbuf[33];
  struct reply r = { 0 };
  int rc = CLI_EXIT_USAGE;
  json_t *body = NULL;
  const char *name = cli_args_get(p, "name");
  if (name == NULL || cli_args_count(p, "role") == 0) {
    return cli_args_usage_error(cmd,
                                "--name and at least one --role are "
                                "required");
  }
  const char *key = idempotency_key(cmd, p, kbuf);
  if (key == NULL) {
    return CLI_EXIT_USAGE;
  }
  body = json_object();
  if (body == NULL || !set_str(body, "name", name) ||
      !set_list(body, "roles", p, "role") ||
      !set_str(body, "tenant", cli_args_get(p, "tenant"))) {
    rc = oom();
    goto err;
  }
  rc = api_call(ctx, &r, "POST", "/tokens", body, key);
  if (rc != CLI_EXIT_OK) {
    goto err;
  }
  print_reply(ctx, &r, NULL);
  fprintf(stderr, "%s: the token is shown only now; store it safely\n", PROG);
err:
  reply_cleanup(&r);
  json_decref(body);
  return rc;
}

/* ------------------------------------------------------------------------
 * Tables
 * ------------------------------------------------------------------------ */

#define IDEMPOTENCY_OPT                                                   \
  {                                                                       \
    "idempotency-key", CLI_OPT_VALUE, "KEY",                              \
        "Idempotency-Key for this write (default: random); a retry with " \
        "the same key returns the first answer"                           \
  }
#define END_OPT \
  { NULL, CLI_OPT_FLAG, NULL, NULL }

static const struct cli_opt no_opts[] = { END_OPT };

static const struct cli_opt tenants_create_opts[] = { IDEMPOTENCY_OPT,
                                                      END_OPT };

static const struct cli_opt issuers_create_opts[] = {
  { "tenant", CLI_OPT_VALUE, "T", "tenant name (required)" },
  { "issuer-id", CLI_OPT_VALUE, "ID",
    "new issuer's id, [a-z0-9][a-z0-9-]{0,62} (required)" },
  { "cn", CLI_OPT_VALUE, "NAME", "the CA's common name (required)" },
  { "parent", CLI_OPT_VALUE, "ID",
    "parent issuer id: makes an intermediate (default: a root)" },
  { "key-type", CLI_OPT_VALUE, "T", "p256 (default), p384, ed25519, rsa2048" },
  { "days", CLI_OPT_VALUE, "N",
    "validity in days (default 3650 root, 1825 intermediate)" },
  IDEMPOTENCY_OPT,
  END_OPT,
};

static const struct cli_opt certificates_create_opts[] = {
  { "tenant", CLI_OPT_VALUE, "T", "tenant name (required)" },
  { "name", CLI_OPT_VALUE, "N", "the identity's name (required)" },
  { "csr", CLI_OPT_VALUE, "FILE", "PEM certificate request to sign" },
  { "dns", CLI_OPT_LIST, "D",
    "DNS name SAN (generated key; with --csr replaces its SANs)" },
  { "ip", CLI_OPT_LIST, "A", "IP address SAN (as --dns)" },
  { "key-type", CLI_OPT_VALUE, "T",
    "generated key type: p256 (default), p384, ed25519, rsa2048" },
  { "key-out", CLI_OPT_VALUE, "FILE",
    "write the generated private key here (mode 0600, never overwrites)" },
  { "cert-out", CLI_OPT_VALUE, "FILE", "write the certificate PEM here" },
  { "issuer-id", CLI_OPT_VALUE, "ID",
    "issuing CA (default: the tenant's current issuer)" },
  { "days", CLI_OPT_VALUE, "N", "validity in days, 1..398 (default 90)" },
  IDEMPOTENCY_OPT,
  END_OPT,
};

static const struct cli_opt certificates_get_opts[] = {
  { "pem", CLI_OPT_FLAG, NULL, "also print the certificate PEM" },
  END_OPT,
};

static const struct cli_opt certificates_list_opts[] = {
  { "tenant", CLI_OPT_VALUE, "T", "only this tenant's certificates" },
  { "limit", CLI_OPT_VALUE, "N", "at most N, 1..500 (default 50)" },
  { "after", CLI_OPT_VALUE, "ID", "the page after this id (from \"more:\")" },
  END_OPT,
};

static const struct cli_opt certificates_revoke_opts[] = {
  { "reason", CLI_OPT_VALUE, "R",
    "keyCompromise, superseded, cessationOfOperation, affiliationChanged, "
    "privilegeWithdrawn or unspecified (required)" },
  { "wait", CLI_OPT_FLAG, NULL,
    "answer once the revoked response is published (up to 5 s)" },
  IDEMPOTENCY_OPT,
  END_OPT,
};

static const struct cli_opt audit_list_opts[] = {
  { "type", CLI_OPT_VALUE, "T", "only events of this type" },
  { "limit", CLI_OPT_VALUE, "N", "at most N, 1..1000 (default 100)" },
  { "after", CLI_OPT_VALUE, "ID", "events after this id" },
  END_OPT,
};

static const struct cli_opt tokens_create_opts[] = {
  { "name", CLI_OPT_VALUE, "N", "the new principal's name (required)" },
  { "role", CLI_OPT_LIST, "R",
    "admin, issuer, approver, operator or auditor (at least one)" },
  { "tenant", CLI_OPT_VALUE, "T", "limit the token to this tenant" },
  IDEMPOTENCY_OPT,
  END_OPT,
};

const struct cli_cmd cli_cmds[] = {
  { "health", NULL, "", 0, "check the API and its dependencies (no token)",
    "Exit 0 when the API answers healthy, 3 when it or its database is "
    "unavailable.",
    no_opts, run_health },
  { "tenants", "create", "NAME", 1, "create a tenant (admin)", NULL,
    tenants_create_opts, run_tenants_create },
  { "issuers", "create", "", 0, "create a root or intermediate CA (admin)",
    "The signer makes the key and certificate; the certificate PEM is "
    "printed\nafter the fields.",
    issuers_create_opts, run_issuers_create },
  { "certificates", "create", "", 0,
    "issue a certificate from a CSR or a server-generated key (issuer)",
    "Either --csr FILE, or --dns/--ip (at least one) for a key the server\n"
    "generates; that key is shown once: use --key-out FILE to keep it.",
    certificates_create_opts, run_certificates_create },
  { "certificates", "get", "ID", 1, "show one certificate and its status", NULL,
    certificates_get_opts, run_certificates_get },
  { "certificates", "list", "", 0, "list certificates, newest first", NULL,
    certificates_list_opts, run_certificates_list },
  { "certificates", "revoke", "ID", 1, "revoke a certificate (issuer)",
    "Answers once the revocation is committed; with --wait, once it is\n"
    "published (exit 3 if that takes too long: it stays committed and "
    "will\npublish).",
    certificates_revoke_opts, run_certificates_revoke },
  { "audit", "list", "", 0, "list audit events, oldest first", NULL,
    audit_list_opts, run_audit_list },
  { "tokens", "create", "", 0,
    "create an API token (admin); the token is shown once", NULL,
    tokens_create_opts, run_tokens_create },
};

const size_t cli_num_cmds = sizeof(cli_cmds) / sizeof(cli_cmds[0]);

const struct cli_opt cli_global_opts[] = {
  { "url", CLI_OPT_VALUE, "URL",
    "API server (env VIGIL_URL; default https://127.0.0.1:8443)" },
  { "token", CLI_OPT_VALUE, "TOKEN", "bearer token (env VIGIL_TOKEN)" },
  { "token-file", CLI_OPT_VALUE, "FILE",
    "read the token from FILE, e.g. .run/bootstrap-token" },
  { "cacert", CLI_OPT_VALUE, "FILE",
    "verify the server with this CA (env VIGIL_CACERT)" },
  { "insecure", CLI_OPT_FLAG, NULL,
    "do not verify the server certificate (self-signed first start)" },
  { "json", CLI_OPT_FLAG, NULL, "print the server's JSON as-is" },
  { "connect-timeout", CLI_OPT_VALUE, "S",
    "connect + TLS timeout in seconds (default 5)" },
  { "timeout", CLI_OPT_VALUE, "S",
    "whole-request timeout in seconds (default 30)" },
  END_OPT,
};
