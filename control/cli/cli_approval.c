/* cli_approval.c: vigilctl commands for dual control (docs/cli.md,
 * docs/dual-control.md): approval requests and decisions, the tenant's
 * dual-control policy, break-glass credentials and the reconciliation of
 * break-glass uses. Each command is one REST call (docs/api.md).
 *
 * Using break-glass means sending the X-Vigil-Break-Glass header with the
 * action itself; vigilctl's HTTP layer sends no extra headers, so the
 * documented way is curl (docs/dual-control.md). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli_common.h"

#define PATH_MAX_LEN 2048

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* post_simple POSTs |body| (may be NULL) to |path| and prints the answer. */
static int post_simple(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                       const struct cli_parsed *p, const char *path,
                       const json_t *body) {
  char kbuf[33];
  struct cli_reply r = { 0 };
  const char *key = cli_idempotency_key(cmd, p, kbuf);
  if (key == NULL) {
    return CLI_EXIT_USAGE;
  }
  int rc = cli_api_call(ctx, &r, "POST", path, body, key);
  if (rc == CLI_EXIT_OK) {
    cli_print_reply(ctx, &r, NULL);
  }
  cli_reply_cleanup(&r);
  return rc;
}

/* with_note POSTs {"note": --note} (or nothing) to prefix/ID/suffix. */
static int with_note(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                     const struct cli_parsed *p, const char *prefix,
                     const char *suffix) {
  char path[PATH_MAX_LEN];
  if (!cli_id_path(cmd, path, sizeof(path), prefix, p->pos[0], suffix)) {
    return CLI_EXIT_USAGE;
  }
  json_t *body = json_object();
  if (body == NULL || !cli_set_str(body, "note", cli_args_get(p, "note"))) {
    json_decref(body);
    return cli_oom();
  }
  int rc = post_simple(ctx, cmd, p, path, body);
  json_decref(body);
  return rc;
}

/* ------------------------------------------------------------------------
 * Approvals
 * ------------------------------------------------------------------------ */

static int run_request(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                       const struct cli_parsed *p) {
  char path[PATH_MAX_LEN];
  const char *action = cli_args_get(p, "action");
  if (action == NULL) {
    return cli_args_usage_error(cmd,
                                "--action is required (certificate.issue, "
                                "certificate.revoke or incident.execute)");
  }
  if (!cli_id_path(cmd, path, sizeof(path), "/identities", p->pos[0],
                   "/approvals")) {
    return CLI_EXIT_USAGE;
  }
  json_t *body = json_object();
  int rc = CLI_EXIT_USAGE;
  if (body == NULL || !cli_set_str(body, "action", action) ||
      !cli_set_str(body, "reason", cli_args_get(p, "reason")) ||
      !cli_set_str(body, "tenant", cli_args_get(p, "tenant"))) {
    rc = cli_oom();
    goto err;
  }
  if (!cli_set_int_opt(cmd, body, "ttl_seconds", p, "ttl", 1, 86400)) {
    goto err;
  }
  rc = post_simple(ctx, cmd, p, path, body);
err:
  json_decref(body);
  return rc;
}

static const struct cli_column approval_cols[] = {
  { "ID", "id" },
  { "TENANT", "tenant" },
  { "ACTION", "action" },
  { "IDENTITY", "identity" },
  { "REQUESTER", "requester_name" },
  { "STATUS", "status" },
  { "APPROVER", "approver_name" },
  { "EXPIRES_AT", "expires_at" },
};

static int run_list(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                    const struct cli_parsed *p) {
  char path[PATH_MAX_LEN] = "/approvals";
  long limit = 0;
  const char *lim = cli_args_get(p, "limit");
  if (lim != NULL && !cli_args_parse_long(&limit, lim, 1, 500)) {
    return cli_args_usage_error(cmd, "--limit wants a whole number in 1..500");
  }
  if (!cli_add_query(cmd, path, sizeof(path), "status",
                     cli_args_get(p, "status")) ||
      !cli_add_query(cmd, path, sizeof(path), "action",
                     cli_args_get(p, "action")) ||
      !cli_add_query(cmd, path, sizeof(path), "limit", lim)) {
    return CLI_EXIT_USAGE;
  }
  return cli_get_list(ctx, path, approval_cols,
                      sizeof(approval_cols) / sizeof(approval_cols[0]), NULL);
}

static int run_get(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                   const struct cli_parsed *p) {
  char path[PATH_MAX_LEN];
  struct cli_reply r = { 0 };
  if (!cli_id_path(cmd, path, sizeof(path), "/approvals", p->pos[0], "")) {
    return CLI_EXIT_USAGE;
  }
  int rc = cli_api_call(ctx, &r, "GET", path, NULL, NULL);
  if (rc == CLI_EXIT_OK) {
    cli_print_reply(ctx, &r, NULL);
  }
  cli_reply_cleanup(&r);
  return rc;
}

static int run_approve(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                       const struct cli_parsed *p) {
  return with_note(ctx, cmd, p, "/approvals", "/approve");
}

static int run_deny(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                    const struct cli_parsed *p) {
  return with_note(ctx, cmd, p, "/approvals", "/deny");
}

/* ------------------------------------------------------------------------
 * Policy
 * ------------------------------------------------------------------------ */

static int run_policy_set(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                          const struct cli_parsed *p) {
  char path[PATH_MAX_LEN];
  struct cli_reply r = { 0 };
  if (!cli_id_path(cmd, path, sizeof(path), "/tenants", p->pos[0],
                   "/dual-control")) {
    return CLI_EXIT_USAGE;
  }
  /* "set" states the whole policy: a flag not given turns that off. */
  json_t *body =
      json_pack("{s:b,s:b,s:b}", "issue", cli_args_get(p, "issue") != NULL,
                "revoke", cli_args_get(p, "revoke") != NULL, "execute",
                cli_args_get(p, "execute") != NULL);
  if (body == NULL) {
    return cli_oom();
  }
  int rc = cli_api_call(ctx, &r, "PUT", path, body, NULL);
  if (rc == CLI_EXIT_OK) {
    cli_print_reply(ctx, &r, NULL);
  }
  cli_reply_cleanup(&r);
  json_decref(body);
  return rc;
}

static int run_policy_get(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                          const struct cli_parsed *p) {
  char path[PATH_MAX_LEN];
  struct cli_reply r = { 0 };
  if (!cli_id_path(cmd, path, sizeof(path), "/tenants", p->pos[0],
                   "/dual-control")) {
    return CLI_EXIT_USAGE;
  }
  int rc = cli_api_call(ctx, &r, "GET", path, NULL, NULL);
  if (rc == CLI_EXIT_OK) {
    cli_print_reply(ctx, &r, NULL);
  }
  cli_reply_cleanup(&r);
  return rc;
}

/* ------------------------------------------------------------------------
 * Break-glass and reconciliation
 * ------------------------------------------------------------------------ */

static int run_bg_create(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                         const struct cli_parsed *p) {
  const char *name = cli_args_get(p, "name");
  if (name == NULL) {
    return cli_args_usage_error(cmd, "--name is required");
  }
  json_t *body = json_object();
  int rc = CLI_EXIT_USAGE;
  if (body == NULL || !cli_set_str(body, "name", name) ||
      !cli_set_list(body, "roles", p, "role") ||
      !cli_set_str(body, "tenant", cli_args_get(p, "tenant")) ||
      !cli_set_str(body, "note", cli_args_get(p, "note"))) {
    rc = cli_oom();
    goto err;
  }
  if (!cli_set_int_opt(cmd, body, "ttl_seconds", p, "ttl", 60, 366L * 86400)) {
    goto err;
  }
  rc = post_simple(ctx, cmd, p, "/break-glass/credentials", body);
  if (rc == CLI_EXIT_OK) {
    fprintf(stderr,
            "%s: the break-glass token is shown only now; seal it away\n",
            PROG);
  }
err:
  json_decref(body);
  return rc;
}

static int run_recon_list(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                          const struct cli_parsed *p) {
  static const struct cli_column cols[] = {
    { "ID", "id" },
    { "TENANT", "tenant" },
    { "ACTION", "action" },
    { "IDENTITY", "identity" },
    { "BROKE_GLASS", "principal_name" },
    { "REASON", "reason" },
    { "STATUS", "status" },
    { "CREATED_AT", "created_at" },
  };
  char path[PATH_MAX_LEN] = "/reconciliations";
  if (!cli_add_query(cmd, path, sizeof(path), "status",
                     cli_args_get(p, "status"))) {
    return CLI_EXIT_USAGE;
  }
  return cli_get_list(ctx, path, cols, sizeof(cols) / sizeof(cols[0]), NULL);
}

static int run_recon_review(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                            const struct cli_parsed *p) {
  return with_note(ctx, cmd, p, "/reconciliations", "/review");
}

/* ------------------------------------------------------------------------
 * Tables
 * ------------------------------------------------------------------------ */

static const struct cli_opt no_opts[] = { CLI_END_OPT };

static const struct cli_opt request_opts[] = {
  { "action", CLI_OPT_VALUE, "A",
    "certificate.issue, certificate.revoke or incident.execute (required)" },
  { "reason", CLI_OPT_VALUE, "TEXT", "why (shown to the approver)" },
  { "tenant", CLI_OPT_VALUE, "T", "tenant (required for certificate.issue)" },
  { "ttl", CLI_OPT_VALUE, "S",
    "the approval expires after S seconds, 1..86400 (default 3600)" },
  CLI_IDEMPOTENCY_OPT,
  CLI_END_OPT,
};

static const struct cli_opt list_opts[] = {
  { "status", CLI_OPT_VALUE, "S",
    "pending, approved, denied, expired or consumed" },
  { "action", CLI_OPT_VALUE, "A", "only this action" },
  { "limit", CLI_OPT_VALUE, "N", "at most N, 1..500 (default 100)" },
  CLI_END_OPT,
};

static const struct cli_opt note_opts[] = {
  { "note", CLI_OPT_VALUE, "TEXT", "a note for the audit log" },
  CLI_IDEMPOTENCY_OPT,
  CLI_END_OPT,
};

static const struct cli_opt policy_set_opts[] = {
  { "issue", CLI_OPT_FLAG, NULL, "issuing needs a second person" },
  { "revoke", CLI_OPT_FLAG, NULL, "revoking needs a second person" },
  { "execute", CLI_OPT_FLAG, NULL, "incident executions need a second person" },
  CLI_END_OPT,
};

static const struct cli_opt bg_create_opts[] = {
  { "name", CLI_OPT_VALUE, "N", "the break-glass principal's name (required)" },
  { "role", CLI_OPT_LIST, "R", "issuer and/or operator (default issuer)" },
  { "tenant", CLI_OPT_VALUE, "T", "limit it to this tenant" },
  { "note", CLI_OPT_VALUE, "TEXT", "where it is kept, who holds it" },
  { "ttl", CLI_OPT_VALUE, "S",
    "the token expires after S seconds (default 30 days, max 366 days)" },
  CLI_IDEMPOTENCY_OPT,
  CLI_END_OPT,
};

static const struct cli_opt recon_list_opts[] = {
  { "status", CLI_OPT_VALUE, "S", "open or reviewed" },
  CLI_END_OPT,
};

const struct cli_cmd cli_approval_cmds[] = {
  { "approvals", "request", "IDENTITY", 1,
    "ask for a second person's approval (issuer, operator)",
    "IDENTITY is the certificate id for certificate.revoke and\n"
    "incident.execute, or the identity's name (with --tenant) for\n"
    "certificate.issue. Once approved by someone else, the same action by\n"
    "you on that identity proceeds once.",
    request_opts, run_request, 0 },
  { "approvals", "list", "", 0, "list approval requests, newest first", NULL,
    list_opts, run_list, 0 },
  { "approvals", "get", "ID", 1, "show one approval request", NULL, no_opts,
    run_get, 0 },
  { "approvals", "approve", "ID", 1,
    "approve a request (approver; never your own)", NULL, note_opts,
    run_approve, 0 },
  { "approvals", "deny", "ID", 1, "deny a request (approver; never your own)",
    NULL, note_opts, run_deny, 0 },
  { "dual-control", "set", "TENANT", 1,
    "set which actions need a second person (admin)",
    "The flags given are turned on, the others off: `dual-control set acme`\n"
    "with no flag turns dual control off.",
    policy_set_opts, run_policy_set, 0 },
  { "dual-control", "get", "TENANT", 1, "show a tenant's dual-control policy",
    NULL, no_opts, run_policy_get, 0 },
  { "break-glass", "create", "", 0,
    "mint a break-glass credential (admin); the token is shown once",
    "Its holder may skip the second person by sending the header\n"
    "X-Vigil-Break-Glass: REASON with the action (see docs/dual-control.md);\n"
    "each use is audited and opens a reconciliation item.",
    bg_create_opts, run_bg_create, 0 },
  { "reconciliations", "list", "", 0,
    "list break-glass uses to review, newest first", NULL, recon_list_opts,
    run_recon_list, 0 },
  { "reconciliations", "review", "ID", 1,
    "close a break-glass reconciliation item (not the one who broke glass)",
    NULL, note_opts, run_recon_review, 0 },
};
const size_t cli_approval_num_cmds =
    sizeof(cli_approval_cmds) / sizeof(cli_approval_cmds[0]);
