/* main.c: vigilctl, the operator CLI over Vigil's REST API.
 *
 * Thin by design: parse the command line against the command table
 * (cli_args.c, cli_cmds.c), resolve the connection settings (options, then
 * environment, then defaults), run one command, exit with its status.
 * vigilctl links libcurl (OpenSSL 3 underneath) and jansson, and from
 * shared/ only vigil_util: never BoringSSL (DESIGN.md section 1). */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_args.h"
#include "cli_cmds.h"
#include "cli_http.h"
#include "vigil/alloc.h"
#include "vigil/log.h"

#define VIGILCTL_VERSION "0.1.0"
#define DEFAULT_URL      "https://127.0.0.1:8443"
#define TOKEN_MAX        4096

static const char help_text[] =
    "usage: vigilctl [global options] COMMAND [VERB] [ARGS] [options]\n"
    "\n"
    "vigilctl talks to Vigil's control-plane REST API (docs/api.md,\n"
    "docs/cli.md). Output is a short human form; --json prints the "
    "server's JSON\nas-is.\n"
    "\n"
    "Environment:\n"
    "  VIGIL_URL              API server (default " DEFAULT_URL
    ")\n"
    "  VIGIL_TOKEN            bearer token (--token and --token-file win)\n"
    "  VIGIL_TOKEN_FILE       file holding the token (after VIGIL_TOKEN)\n"
    "  VIGIL_CACERT           CA bundle to verify the server with\n"
    "  VIGIL_CONNECT_TIMEOUT  connect + TLS timeout, seconds (default 5)\n"
    "  VIGIL_TIMEOUT          whole-request timeout, seconds (default 30)\n"
    "  VIGIL_STATE_DIR        local stack state (default .run): for a "
    "loopback URL\n"
    "                         with nothing else set, the CA is\n"
    "                         STATE/api-tls/cert.pem and the token\n"
    "                         STATE/vigilctl-token or STATE/bootstrap-token\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  API error (4xx): the server's error code and message on stderr\n"
    "  2  usage error (bad options, unreadable local file)\n"
    "  3  server unavailable: cannot connect, TLS failure, timeout, 5xx\n"
    "  4  authentication or authorization refused (401/403)\n";

/* Option value, else environment variable, else |def|. */
static const char *setting(const struct cli_parsed *p, const char *opt,
                           const char *env, const char *def) {
  const char *v = opt != NULL ? cli_args_get(p, opt) : NULL;
  if (v == NULL && env != NULL) {
    v = getenv(env);
    if (v != NULL && v[0] == '\0') {
      v = NULL;
    }
  }
  return v != NULL ? v : def;
}

/* Whether |url| names this host (the local stack), by its host part. */
static int is_loopback(const char *url) {
  static const char *const hosts[] = { "127.0.0.1", "localhost", "[::1]" };
  const char *h = strstr(url, "://");
  if (h == NULL) {
    return 0;
  }
  h += 3;
  for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
    size_t n = strlen(hosts[i]);
    if (strncmp(h, hosts[i], n) == 0 &&
        (h[n] == '\0' || h[n] == ':' || h[n] == '/')) {
      return 1;
    }
  }
  return 0;
}

/* Sets |out| to |dir|/|name| if that file exists, else to |dir|/|alt|
 * (when |alt| is non-NULL and exists), else to "". */
static void pick_state_file(char *out, size_t out_len, const char *dir,
                            const char *name, const char *alt) {
  const char *names[2] = { name, alt };
  for (size_t i = 0; i < 2; i++) {
    int n =
        names[i] == NULL ? -1 : snprintf(out, out_len, "%s/%s", dir, names[i]);
    if (n > 0 && (size_t)n < out_len && access(out, R_OK) == 0) {
      return;
    }
  }
  out[0] = '\0';
}

/* Reads the first line of |path| into |out| (|out_len| bytes), without
 * trailing whitespace. Returns 1, or 0 after printing why. */
static int read_token_file(char *out, size_t out_len, const char *path) {
  char ebuf[128];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "vigilctl: cannot open token file %s: %s\n", path,
            vigil_strerror(errno, ebuf, sizeof(ebuf)));
    return 0;
  }
  size_t len = 0;
  int ok = 1;
  while (len + 1 < out_len) {
    ssize_t n = read(fd, out + len, out_len - 1 - len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      fprintf(stderr, "vigilctl: cannot read token file %s: %s\n", path,
              vigil_strerror(errno, ebuf, sizeof(ebuf)));
      ok = 0;
      break;
    }
    if (n == 0) {
      break;
    }
    len += (size_t)n;
  }
  close(fd);
  out[len] = '\0';
  char *nl = strchr(out, '\n');
  if (nl != NULL) {
    *nl = '\0';
  }
  len = strlen(out);
  while (len > 0 && (out[len - 1] == '\r' || out[len - 1] == ' ' ||
                     out[len - 1] == '\t')) {
    out[--len] = '\0';
  }
  if (ok && len == 0) {
    fprintf(stderr, "vigilctl: token file %s is empty\n", path);
    ok = 0;
  }
  return ok;
}

/* A token goes into a header line: printable ASCII only. */
static int token_ok(const char *t) {
  for (; *t != '\0'; t++) {
    if (*t <= 0x20 || *t >= 0x7f) {
      return 0;
    }
  }
  return 1;
}

static int parse_seconds(long *out_ms, const char *what, const char *s,
                         long max) {
  long v = 0;
  if (!cli_args_parse_long(&v, s, 1, max)) {
    fprintf(stderr, "vigilctl: %s wants whole seconds in 1..%ld, got '%s'\n",
            what, max, s);
    return 0;
  }
  *out_ms = v * 1000;
  return 1;
}

/* Storage that |ctx| may point into: it must outlive the command, so it
 * lives in main's frame. */
struct settings_buf {
  char token[TOKEN_MAX];  /* a token read from a file */
  char state_ca[1024];    /* STATE/api-tls/cert.pem, if used */
  char state_token[1024]; /* STATE/vigilctl-token or bootstrap-token */
};

/* Fills |ctx| from the parsed global options and the environment; |ctx|
 * may point into |buf| afterwards. Returns 1,
 * or 0 after printing a usage error. */
static int build_ctx(struct cli_ctx *ctx, struct settings_buf *buf,
                     const struct cli_parsed *p) {
  memset(ctx, 0, sizeof(*ctx));
  ctx->json = cli_args_get(p, "json") != NULL;
  ctx->http.insecure = cli_args_get(p, "insecure") != NULL;
  ctx->http.max_body = CLI_HTTP_MAX_BODY;
  ctx->http.base_url = setting(p, "url", "VIGIL_URL", DEFAULT_URL);
  /* The API is HTTPS (docs/api.md); plain http:// only to this host (a
   * local TLS-terminating proxy), so a token never crosses a network in
   * clear. */
  if (strncmp(ctx->http.base_url, "https://", 8) != 0 &&
      (strncmp(ctx->http.base_url, "http://", 7) != 0 ||
       !is_loopback(ctx->http.base_url))) {
    fprintf(stderr,
            "vigilctl: the URL must start with https:// (http:// only for "
            "127.0.0.1,\nlocalhost or [::1]); got '%s'\n",
            ctx->http.base_url);
    return 0;
  }
  /* The local stack (DESIGN.md section 8) keeps its API certificate and
   * tokens in the state directory: used for a loopback URL when nothing
   * else is configured, so the documented one-liners need no options. */
  const char *state = setting(p, NULL, "VIGIL_STATE_DIR", ".run");
  int loopback = is_loopback(ctx->http.base_url);
  char *state_ca = buf->state_ca;
  char *state_token = buf->state_token;
  state_ca[0] = '\0';
  state_token[0] = '\0';
  if (loopback) {
    pick_state_file(state_ca, sizeof(buf->state_ca), state, "api-tls/cert.pem",
                    NULL);
    pick_state_file(state_token, sizeof(buf->state_token), state,
                    "vigilctl-token", "bootstrap-token");
  }
  ctx->http.cacert =
      setting(p, "cacert", "VIGIL_CACERT",
              state_ca[0] != '\0' && !ctx->http.insecure ? state_ca : NULL);
  if (ctx->http.cacert != NULL && access(ctx->http.cacert, R_OK) != 0) {
    fprintf(stderr, "vigilctl: cannot read CA file %s\n", ctx->http.cacert);
    return 0;
  }
  if (!parse_seconds(
          &ctx->http.connect_timeout_ms, "--connect-timeout",
          setting(p, "connect-timeout", "VIGIL_CONNECT_TIMEOUT", "5"), 300) ||
      !parse_seconds(&ctx->http.timeout_ms, "--timeout",
                     setting(p, "timeout", "VIGIL_TIMEOUT", "30"), 3600)) {
    return 0;
  }

  const char *token = cli_args_get(p, "token");
  const char *token_file = cli_args_get(p, "token-file");
  if (token != NULL && token_file != NULL) {
    fprintf(stderr, "vigilctl: give --token or --token-file, not both\n");
    return 0;
  }
  if (token == NULL && token_file == NULL) {
    token = getenv("VIGIL_TOKEN");
    if (token == NULL || token[0] == '\0') {
      token = NULL;
      token_file = getenv("VIGIL_TOKEN_FILE");
    }
  }
  if (token == NULL && (token_file == NULL || token_file[0] == '\0') &&
      state_token[0] != '\0') {
    token_file = state_token;
  }
  if (token == NULL && token_file != NULL && token_file[0] != '\0') {
    if (!read_token_file(buf->token, sizeof(buf->token), token_file)) {
      return 0;
    }
    token = buf->token;
  }
  if (token != NULL && !token_ok(token)) {
    fprintf(stderr,
            "vigilctl: the token contains spaces or control "
            "characters\n");
    return 0;
  }
  ctx->http.token = token;
  ctx->http.break_glass = cli_args_get(p, "break-glass");
  if (ctx->http.break_glass != NULL) {
    size_t n = strlen(ctx->http.break_glass);
    int ok = n >= 1 && n <= 512;
    for (size_t i = 0; ok && i < n; i++) {
      unsigned char c = (unsigned char)ctx->http.break_glass[i];
      ok = c >= 0x20 && c != 0x7f;
    }
    if (!ok) {
      fprintf(stderr,
              "vigilctl: --break-glass wants a reason of 1..512 printable "
              "characters\n");
      return 0;
    }
  }
  return 1;
}

/* Joins the command files' tables into |out| (CLI_MAX_CMDS rows); returns
 * the row count. */
static size_t join_tables(struct cli_cmd *out) {
  const struct {
    const struct cli_cmd *rows;
    size_t n;
  } tables[] = {
    { cli_core_cmds, cli_core_num_cmds },
    { cli_graph_cmds, cli_graph_num_cmds },
    { cli_incident_cmds, cli_incident_num_cmds },
    { cli_approval_cmds, cli_approval_num_cmds },
    { cli_hook_cmds, cli_hook_num_cmds },
    { cli_access_cmds, cli_access_num_cmds },
  };
  size_t n = 0;
  for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
    for (size_t i = 0; i < tables[t].n && n < CLI_MAX_CMDS; i++) {
      out[n++] = tables[t].rows[i];
    }
  }
  return n;
}

int main(int argc, char **argv) {
  struct cli_cmd cmds[CLI_MAX_CMDS];
  struct cli_parsed parsed = { 0 };
  const struct cli_cmd *cmd = NULL;
  struct cli_ctx ctx = { 0 };
  struct settings_buf buf;
  int rc = CLI_EXIT_USAGE;
  memset(&buf, 0, sizeof(buf));

  json_set_alloc_funcs(vigil_malloc, vigil_free);
  size_t num_cmds = join_tables(cmds);
  enum cli_parse_result pr = cli_args_parse(
      &parsed, &cmd, cmds, num_cmds, cli_global_opts, help_text, argc, argv);
  if (pr == CLI_PARSE_HELP) {
    return CLI_EXIT_OK;
  }
  if (pr == CLI_PARSE_VERSION) {
    curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    printf("vigilctl %s (libcurl %s, %s)\n", VIGILCTL_VERSION,
           v != NULL ? v->version : "?",
           v != NULL && v->ssl_version != NULL ? v->ssl_version : "no TLS");
    return CLI_EXIT_OK;
  }
  if (pr != CLI_PARSE_RUN) {
    return CLI_EXIT_USAGE;
  }
  if (cmd->offline) {
    ctx.json = cli_args_get(&parsed, "json") != NULL;
    rc = cmd->run(&ctx, cmd, &parsed);
    goto flush;
  }
  if (!build_ctx(&ctx, &buf, &parsed)) {
    goto err;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    fprintf(stderr, "vigilctl: cannot initialise libcurl\n");
    rc = CLI_EXIT_UNAVAILABLE;
    goto err;
  }
  rc = cmd->run(&ctx, cmd, &parsed);
  curl_global_cleanup();
flush:
  if (fflush(stdout) != 0 && rc == CLI_EXIT_OK) {
    fprintf(stderr, "vigilctl: cannot write the output\n");
    rc = CLI_EXIT_USAGE;
  }
err:
  explicit_bzero(&buf, sizeof(buf));
  return rc;
}
