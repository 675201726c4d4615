/* cli_access.c: vigilctl commands for brokered access (docs/cli.md):
 * access targets create/list, access open/list/get/revoke. (vigilctl
 * commands have two words, so "access targets create" is spelled
 * "access targets create".) */
#include <string.h>

#include "cli_common.h"
#include "vigil/alloc.h"

#define ACCESS_PATH_MAX 1024
/* A conninfo file holds the conninfo on its first line. */
#define ACCESS_CONNINFO_FILE_MAX 4096
/* --role NAME=G1,G2: at most this long. */
#define ACCESS_ROLE_ARG_MAX 1200

/* add_role_map adds "NAME=G1,G2,..." to |roles|. Returns 1, or 0 after a
 * usage error. */
static int add_role_map(const struct cli_cmd *cmd, json_t *roles,
                        const char *spec) {
  char buf[ACCESS_ROLE_ARG_MAX + 1];
  size_t n = strlen(spec);
  if (n > ACCESS_ROLE_ARG_MAX) {
    cli_args_usage_error(cmd, "--role is too long");
    return 0;
  }
  memcpy(buf, spec, n + 1);
  char *eq = strchr(buf, '=');
  if (eq == NULL || eq == buf || eq[1] == '\0') {
    cli_args_usage_error(cmd, "--role wants NAME=SERVER_ROLE[,SERVER_ROLE...]");
    return 0;
  }
  *eq = '\0';
  json_t *grants = json_array();
  if (grants == NULL || json_object_set_new(roles, buf, grants) != 0) {
    cli_oom();
    return 0;
  }
  char *s = eq + 1;
  for (;;) {
    char *comma = strchr(s, ',');
    if (comma != NULL) {
      *comma = '\0';
    }
    if (s[0] == '\0') {
      cli_args_usage_error(cmd, "--role: empty server role name");
      return 0;
    }
    if (json_array_append_new(grants, json_string(s)) != 0) {
      cli_oom();
      return 0;
    }
    if (comma == NULL) {
      break;
    }
    s = comma + 1;
  }
  return 1;
}

static int run_targets_create(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                              const struct cli_parsed *p) {
  char kbuf[33];
  struct cli_reply r = { 0 };
  int rc = CLI_EXIT_USAGE;
  json_t *body = NULL;
  json_t *roles = NULL;
  char *conninfo = NULL;
  const char *file = cli_args_get(p, "conninfo-file");
  if (file == NULL) {
    return cli_args_usage_error(cmd, "--conninfo-file is required");
  }
  if (cli_args_count(p, "role") == 0) {
    return cli_args_usage_error(cmd, "at least one --role NAME=ROLES");
  }
  const char *key = cli_idempotency_key(cmd, p, kbuf);
  if (key == NULL) {
    return CLI_EXIT_USAGE;
  }
  conninfo = cli_read_small_file(file, ACCESS_CONNINFO_FILE_MAX);
  if (conninfo == NULL) {
    return CLI_EXIT_USAGE;
  }
  conninfo[strcspn(conninfo, "\r\n")] = '\0'; /* the first line */
  roles = json_object();
  body = json_object();
  if (roles == NULL || body == NULL) {
    rc = cli_oom();
    goto err;
  }
  for (size_t i = 0; i < cli_args_count(p, "role"); i++) {
    if (!add_role_map(cmd, roles, cli_args_nth(p, "role", i))) {
      goto err;
    }
  }
  if (!cli_set_str(body, "id", p->pos[0]) ||
      !cli_set_str(body, "type", "postgres") ||
      !cli_set_str(body, "conninfo", conninfo) ||
      !cli_set_str(body, "database", cli_args_get(p, "database")) ||
      json_object_set(body, "roles", roles) != 0) {
    rc = cli_oom();
    goto err;
  }
  rc = cli_api_call(ctx, &r, "POST", "/access/targets", body, key);
  if (rc == CLI_EXIT_OK) {
    cli_print_reply(ctx, &r, NULL);
  }
err:
  if (conninfo != NULL) {
    memset(conninfo, 0, strlen(conninfo));
  }
  vigil_free(conninfo);
  cli_reply_cleanup(&r);
  json_decref(roles);
  json_decref(body);
  return rc;
}

static int run_targets_list(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                            const struct cli_parsed *p) {
  static const struct cli_column cols[] = {
    { "ID", "id" },
    { "TYPE", "type" },
    { "DATABASE", "database" },
    { "ROLES", "roles" },
  };
  (void)cmd;
  (void)p;
  return cli_get_list(ctx, "/access/targets", cols,
                      sizeof(cols) / sizeof(cols[0]), NULL);
}

static int run_sessions_open(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                             const struct cli_parsed *p) {
  char kbuf[33];
  struct cli_reply r = { 0 };
  int rc = CLI_EXIT_USAGE;
  const char *target = cli_args_get(p, "target");
  const char *role = cli_args_get(p, "role");
  const char *reason = cli_args_get(p, "reason");
  if (target == NULL || role == NULL || reason == NULL) {
    return cli_args_usage_error(cmd,
                                "--target, --role and --reason are required");
  }
  const char *key = cli_idempotency_key(cmd, p, kbuf);
  if (key == NULL) {
    return CLI_EXIT_USAGE;
  }
  json_t *body = json_object();
  if (body == NULL) {
    return cli_oom();
  }
  const char *type = cli_args_get(p, "type");
  if (!cli_set_str(body, "target_type", type != NULL ? type : "postgres") ||
      !cli_set_str(body, "target_id", target) ||
      !cli_set_str(body, "role", role) ||
      !cli_set_str(body, "reason", reason)) {
    rc = cli_oom();
    goto err;
  }
  if (!cli_set_int_opt(cmd, body, "ttl_seconds", p, "ttl", 1, 3600)) {
    goto err;
  }
  rc = cli_api_call(ctx, &r, "POST", "/access/sessions", body, key);
  if (rc != CLI_EXIT_OK) {
    goto err;
  }
  if (ctx->json) {
    cli_print_reply(ctx, &r, NULL);
  } else {
    static const char *const skip[] = { "credential", NULL };
    const json_t *cred = json_object_get(r.json, "credential");
    cli_print_reply(ctx, &r, skip);
    if (json_is_object(cred)) {
      cli_print_object(cred, NULL);
    }
  }
  fprintf(stderr,
          "%s: the password is shown only now and stored nowhere; the role "
          "is dropped at expires_at (revoke it earlier with `%s access "
          "revoke ID`)\n",
          PROG, PROG);
err:
  cli_reply_cleanup(&r);
  json_decref(body);
  return rc;
}

static int run_sessions_list(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                             const struct cli_parsed *p) {
  static const struct cli_column cols[] = {
    { "ID", "id" },
    { "TARGET", "target_id" },
    { "ROLE", "role" },
    { "STATE", "state" },
    { "USER", "username" },
    { "PRINCIPAL", "principal" },
    { "EXPIRES", "expires_at" },
    { "REASON", "reason" },
  };
  char path[ACCESS_PATH_MAX] = "/access/sessions";
  if (!cli_add_query(cmd, path, sizeof(path), "state",
                     cli_args_get(p, "state"))) {
    return CLI_EXIT_USAGE;
  }
  return cli_get_list(ctx, path, cols, sizeof(cols) / sizeof(cols[0]), NULL);
}

static int run_sessions_get(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                            const struct cli_parsed *p) {
  char path[ACCESS_PATH_MAX];
  struct cli_reply r = { 0 };
  if (!cli_id_path(cmd, path, sizeof(path), "/access/sessions", p->pos[0],
                   "")) {
    return CLI_EXIT_USAGE;
  }
  int rc = cli_api_call(ctx, &r, "GET", path, NULL, NULL);
  if (rc == CLI_EXIT_OK) {
    cli_print_reply(ctx, &r, NULL);
  }
  cli_reply_cleanup(&r);
  return rc;
}

static int run_sessions_revoke(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                               const struct cli_parsed *p) {
  char kbuf[33];
  char path[ACCESS_PATH_MAX];
  struct cli_reply r = { 0 };
  const char *key = cli_idempotency_key(cmd, p, kbuf);
  if (key == NULL || !cli_id_path(cmd, path, sizeof(path), "/access/sessions",
                                  p->pos[0], "/revoke")) {
    return CLI_EXIT_USAGE;
  }
  int rc = cli_api_call(ctx, &r, "POST", path, NULL, key);
  if (rc == CLI_EXIT_OK) {
    cli_print_reply(ctx, &r, NULL);
  }
  cli_reply_cleanup(&r);
  return rc;
}

static const struct cli_opt no_opts[] = { CLI_END_OPT };

static const struct cli_opt targets_create_opts[] = {
  { "conninfo-file", CLI_OPT_VALUE, "F",
    "first line of F: libpq URL of a role that may CREATE ROLE on the "
    "target (kept by vigil-control, never shown again) (required)" },
  { "role", CLI_OPT_LIST, "NAME=R1[,R2..]",
    "a session role and the server roles it grants, e.g. "
    "readonly=pg_read_all_data (repeatable; at least one)" },
  { "database", CLI_OPT_VALUE, "DB",
    "dbname in the connection hint (default: the conninfo's)" },
  CLI_IDEMPOTENCY_OPT,
  CLI_END_OPT,
};

static const struct cli_opt sessions_open_opts[] = {
  { "target", CLI_OPT_VALUE, "T", "access target id (required)" },
  { "role", CLI_OPT_VALUE, "R", "one of the target's roles (required)" },
  { "reason", CLI_OPT_VALUE, "TEXT", "why, for the audit log (required)" },
  { "ttl", CLI_OPT_VALUE, "S", "seconds until expiry (default 900, max 3600)" },
  { "type", CLI_OPT_VALUE, "TYPE", "target type (default postgres)" },
  CLI_IDEMPOTENCY_OPT,
  CLI_END_OPT,
};

static const struct cli_opt sessions_list_opts[] = {
  { "state", CLI_OPT_VALUE, "S",
    "opening, active, expired, revoked or failed" },
  CLI_END_OPT,
};

static const struct cli_opt sessions_revoke_opts[] = { CLI_IDEMPOTENCY_OPT,
                                                       CLI_END_OPT };

const struct cli_cmd cli_access_cmds[] = {
  { "access", "targets create", "ID", 1,
    "register a Postgres access target (admin)",
    "vigil-control checks the conninfo's role may create roles and that the\n"
    "mapped server roles exist.",
    targets_create_opts, run_targets_create, 0 },
  { "access", "targets list", "", 0,
    "list access targets (never their conninfo)", NULL, no_opts,
    run_targets_list, 0 },
  { "access", "open", "", 0,
    "open a short-lived session: a login role made now, dropped at expiry",
    "Prints the username, the one-time password and the expiry.",
    sessions_open_opts, run_sessions_open, 0 },
  { "access", "list", "", 0, "list access sessions, newest first", NULL,
    sessions_list_opts, run_sessions_list, 0 },
  { "access", "get", "ID", 1, "show one access session", NULL, no_opts,
    run_sessions_get, 0 },
  { "access", "revoke", "ID", 1,
    "end a session now: its role is dropped and its connections ended", NULL,
    sessions_revoke_opts, run_sessions_revoke, 0 },
};
const size_t cli_access_num_cmds =
    sizeof(cli_access_cmds) / sizeof(cli_access_cmds[0]);
