/* cli_hook.c: vigilctl commands for cache-invalidation hooks (CDN purge,
 * webhooks): hooks create, list, disable, deliveries (docs/cli.md). */
#include <string.h>

#include "cli_common.h"
#include "vigil/alloc.h"

#define HOOK_PATH_MAX 1024
/* A secret file holds the secret on its first line (16..256 bytes). */
#define HOOK_SECRET_FILE_MAX 4096

static int run_hooks_create(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                            const struct cli_parsed *p) {
  char kbuf[33];
  struct cli_reply r = { 0 };
  int rc = CLI_EXIT_USAGE;
  json_t *body = NULL;
  char *secret = NULL;
  const char *kind = cli_args_get(p, "kind");
  const char *url = cli_args_get(p, "hook-url");
  const char *secret_file = cli_args_get(p, "secret-file");
  if (kind == NULL || url == NULL) {
    return cli_args_usage_error(cmd, "--kind and --hook-url are required");
  }
  if (strcmp(kind, "webhook") != 0 && strcmp(kind, "purge") != 0) {
    return cli_args_usage_error(cmd, "--kind must be webhook or purge");
  }
  const char *key = cli_idempotency_key(cmd, p, kbuf);
  if (key == NULL) {
    return CLI_EXIT_USAGE;
  }
  if (secret_file != NULL) {
    secret = cli_read_small_file(secret_file, HOOK_SECRET_FILE_MAX);
    if (secret == NULL) {
      return CLI_EXIT_USAGE;
    }
    secret[strcspn(secret, "\r\n")] = '\0'; /* the first line */
  }
  body = json_object();
  if (body == NULL || !cli_set_str(body, "kind", kind) ||
      !cli_set_str(body, "url", url) ||
      !cli_set_str(body, "tenant", cli_args_get(p, "tenant")) ||
      !cli_set_str(body, "method", cli_args_get(p, "method")) ||
      !cli_set_str(body, "secret", secret) ||
      !cli_set_list(body, "events", p, "event")) {
    rc = cli_oom();
    goto err;
  }
  rc = cli_api_call(ctx, &r, "POST", "/hooks", body, key);
  if (rc != CLI_EXIT_OK) {
    goto err;
  }
  if (secret != NULL) {
    /* The caller has it already: do not print it again. */
    static const char *const skip[] = { "secret", NULL };
    cli_print_reply(ctx, &r, ctx->json ? NULL : skip);
  } else {
    cli_print_reply(ctx, &r, NULL);
    fprintf(stderr,
            "%s: the generated secret is shown only now; store it safely\n",
            PROG);
  }
err:
  if (secret != NULL) {
    memset(secret, 0, strlen(secret));
  }
  vigil_free(secret);
  cli_reply_cleanup(&r);
  json_decref(body);
  return rc;
}

static int run_hooks_list(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                          const struct cli_parsed *p) {
  static const struct cli_column cols[] = {
    { "ID", "id" },         { "TENANT", "tenant" }, { "KIND", "kind" },
    { "METHOD", "method" }, { "EVENTS", "events" }, { "ENABLED", "enabled" },
    { "URL", "url" },
  };
  (void)cmd;
  (void)p;
  return cli_get_list(ctx, "/hooks", cols, sizeof(cols) / sizeof(cols[0]),
                      "before");
}

static int run_hooks_disable(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                             const struct cli_parsed *p) {
  char kbuf[33];
  char path[HOOK_PATH_MAX];
  struct cli_reply r = { 0 };
  const char *key = cli_idempotency_key(cmd, p, kbuf);
  if (key == NULL ||
      !cli_id_path(cmd, path, sizeof(path), "/hooks", p->pos[0], "/disable")) {
    return CLI_EXIT_USAGE;
  }
  int rc = cli_api_call(ctx, &r, "POST", path, NULL, key);
  if (rc == CLI_EXIT_OK) {
    cli_print_reply(ctx, &r, NULL);
  }
  cli_reply_cleanup(&r);
  return rc;
}

static int run_hooks_deliveries(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                                const struct cli_parsed *p) {
  static const struct cli_column cols[] = {
    { "ID", "id" },
    { "HOOK", "hook" },
    { "EVENT", "event" },
    { "STATUS", "status" },
    { "ATTEMPTS", "attempts" },
    { "HTTP", "last_http_status" },
    { "NEXT_ATTEMPT", "next_attempt_at" },
    { "LAST_ERROR", "last_error" },
  };
  char path[HOOK_PATH_MAX] = "/hooks/deliveries";
  long v = 0;
  const char *status = cli_args_get(p, "status");
  const char *lim = cli_args_get(p, "limit");
  if (status != NULL && strcmp(status, "pending") != 0 &&
      strcmp(status, "delivered") != 0 && strcmp(status, "failed") != 0) {
    return cli_args_usage_error(cmd,
                                "--status must be pending, delivered or "
                                "failed");
  }
  if (lim != NULL && !cli_args_parse_long(&v, lim, 1, 500)) {
    return cli_args_usage_error(cmd, "--limit wants a whole number in 1..500");
  }
  if (!cli_add_query(cmd, path, sizeof(path), "status", status) ||
      !cli_add_query(cmd, path, sizeof(path), "hook",
                     cli_args_get(p, "hook")) ||
      !cli_add_query(cmd, path, sizeof(path), "limit", lim) ||
      !cli_add_query(cmd, path, sizeof(path), "before",
                     cli_args_get(p, "before"))) {
    return CLI_EXIT_USAGE;
  }
  return cli_get_list(ctx, path, cols, sizeof(cols) / sizeof(cols[0]),
                      "before");
}

static const struct cli_opt no_opts[] = { CLI_END_OPT };

static const struct cli_opt hooks_create_opts[] = {
  { "kind", CLI_OPT_VALUE, "K", "webhook or purge (required)" },
  { "hook-url", CLI_OPT_VALUE, "U",
    "webhook: the http(s) URL to POST to; purge: a URL template with "
    "{ocsp_get_url}, {crl_url}, {surrogate_key}, {serial}, {issuer_id}, "
    "{tenant} (required)" },
  { "tenant", CLI_OPT_VALUE, "T", "only this tenant's events (default: all)" },
  { "event", CLI_OPT_LIST, "E", "revoke or crl (default: revoke)" },
  { "method", CLI_OPT_VALUE, "M", "purge requests: POST (default) or PURGE" },
  { "secret-file", CLI_OPT_VALUE, "F",
    "HMAC secret from the first line of F, 16..256 printable bytes "
    "(default: generated and shown once)" },
  CLI_IDEMPOTENCY_OPT,
  CLI_END_OPT,
};

static const struct cli_opt hooks_disable_opts[] = { CLI_IDEMPOTENCY_OPT,
                                                     CLI_END_OPT };

static const struct cli_opt hooks_deliveries_opts[] = {
  { "status", CLI_OPT_VALUE, "S", "pending, delivered or failed" },
  { "hook", CLI_OPT_VALUE, "ID", "only this hook's deliveries" },
  { "limit", CLI_OPT_VALUE, "N", "at most N, 1..500 (default 50)" },
  { "before", CLI_OPT_VALUE, "ID", "deliveries older than this id" },
  CLI_END_OPT,
};

const struct cli_cmd cli_hook_cmds[] = {
  { "hooks", "create", "", 0, "register a webhook or CDN purge hook (admin)",
    "Revocations (and, with --event crl, new CRLs) are then delivered to it\n"
    "with retries; webhooks are signed with X-Vigil-Signature (HMAC-SHA256).",
    hooks_create_opts, run_hooks_create, 0 },
  { "hooks", "list", "", 0, "list hooks (never their secrets)", NULL, no_opts,
    run_hooks_list, 0 },
  { "hooks", "disable", "ID", 1,
    "disable a hook; its pending deliveries fail (admin)", NULL,
    hooks_disable_opts, run_hooks_disable, 0 },
  { "hooks", "deliveries", "", 0, "the delivery log, newest first",
    "With --json each delivery includes its payload and attempt_log.",
    hooks_deliveries_opts, run_hooks_deliveries, 0 },
};
const size_t cli_hook_num_cmds =
    sizeof(cli_hook_cmds) / sizeof(cli_hook_cmds[0]);
