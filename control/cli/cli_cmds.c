/* cli_cmds.c: vigilctl's core commands — health, tenants, issuers,
 * certificates, audit, tokens (see cli_cmds.h, docs/cli.md). Each follows
 * the pattern of cli_common.h. */
#include "cli_cmds.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_common.h"
#include "vigil/file.h"
#include "vigil/alloc.h"
#include "vigil/hex.h"
#include "vigil/log.h"

#define PATH_MAX_LEN 2048
/* CSRs are a few KiB; anything near this is not a CSR. */
#define CSR_MAX_LEN (64 * 1024)

/* ------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------ */

static int run_health(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                      const struct cli_parsed *p) {
  struct cli_reply r = { 0 };
  int rc = cli_api_call(ctx, &r, "GET", "/health", NULL, NULL);
  if (rc == CLI_EXIT_OK) {
    cli_print_reply(ctx, &r, NULL);
  } else if (r.http.status == 503 && !ctx->json && json_is_object(r.json)) {
    /* 503 carries the same body: say which part is down. */
    cli_print_object(r.json, NULL);
  }
  cli_reply_cleanup(&r);
  return rc;
}

static int run_tenants_create(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                              const struct cli_parsed *p) {
  char kbuf[33];
  struct cli_reply r = { 0 };
  int rc = CLI_EXIT_USAGE;
  json_t *body = json_object();
  const char *key = cli_idempotency_key(cmd, p, kbuf);
  if (key == NULL) {
    goto err;
  }
  if (body == NULL || !cli_set_str(body, "name", p->pos[0])) {
    rc = cli_oom();
    goto err;
  }
  rc = cli_api_call(ctx, &r, "POST", "/tenants", body, key);
  if (rc == CLI_EXIT_OK) {
    cli_print_reply(ctx, &r, NULL);
  }
err:
  cli_reply_cleanup(&r);
  json_decref(body);
  return rc;
}

static int run_issuers_create(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                              const struct cli_parsed *p) {
  static const char *const skip[] = { "certificate_pem", NULL };
  char kbuf[33];
  char path[PATH_MAX_LEN];
  struct cli_reply r = { 0 };
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
  const char *key = cli_idempotency_key(cmd, p, kbuf);
  if (key == NULL ||
      !cli_id_path(cmd, path, sizeof(path), "/tenants", tenant, "/issuers")) {
    goto err;
  }
  if (body == NULL) {
    rc = cli_oom();
    goto err;
  }
  if (!cli_set_int_opt(cmd, body, "validity_days", p, "days", 1, 36500)) {
    goto err;
  }
  if (!cli_set_str(body, "issuer_id", issuer_id) ||
      !cli_set_str(body, "common_name", cn) ||
      !cli_set_str(body, "parent_issuer_id", cli_args_get(p, "parent")) ||
      !cli_set_str(body, "key_type", cli_args_get(p, "key-type"))) {
    rc = cli_oom();
    goto err;
  }
  rc = cli_api_call(ctx, &r, "POST", path, body, key);
  if (rc != CLI_EXIT_OK) {
    goto err;
  }
  cli_print_reply(ctx, &r, skip);
  const char *pem =
      json_string_value(json_object_get(r.json, "certificate_pem"));
  if (!ctx->json && pem != NULL) {
    fputs(pem, stdout);
  }
err:
  cli_reply_cleanup(&r);
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
                                   const struct cli_cmd *cmd,
                                   const struct cli_parsed *p) {
  static const char *const skip[] = { "certificate_pem", "private_key_pem",
                                      NULL };
  char kbuf[33];
  char ebuf[128];
  struct cli_reply r = { 0 };
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
    rc = cli_oom();
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
  const char *key = cli_idempotency_key(cmd, p, kbuf);
  if (key == NULL) {
    goto err;
  }
  if (!cli_set_int_opt(cmd, body, "validity_days", p, "days", 1, 36500)) {
    goto err;
  }
  if (!cli_set_str(body, "tenant", tenant) ||
      !cli_set_str(body, "name", name) ||
      !cli_set_str(body, "issuer_id", cli_args_get(p, "issuer-id"))) {
    rc = cli_oom();
    goto err;
  }
  if (csr_path != NULL) {
    csr = cli_read_small_file(csr_path, CSR_MAX_LEN);
    if (csr == NULL) {
      goto err;
    }
    if (!looks_like_csr(csr)) {
      rc = cli_args_usage_error(cmd, "%s is not a PEM certificate request",
                                csr_path);
      goto err;
    }
    /* With a CSR, --dns/--ip replace the CSR's SANs (top level). */
    if (!cli_set_str(body, "csr_pem", csr) ||
        !cli_set_list(body, "dns", p, "dns") ||
        !cli_set_list(body, "ip", p, "ip")) {
      rc = cli_oom();
      goto err;
    }
  } else {
    json_t *gen = json_object();
    if (gen == NULL || json_object_set_new(body, "generate", gen) != 0 ||
        !cli_set_str(gen, "key_type", cli_args_get(p, "key-type")) ||
        !cli_set_list(gen, "dns", p, "dns") ||
        !cli_set_list(gen, "ip", p, "ip")) {
      rc = cli_oom();
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
  rc = cli_api_call(ctx, &r, "POST", "/certificates", body, key);
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
  cli_print_reply(ctx, &r, skip);
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
  cli_reply_cleanup(&r);
  json_decref(body);
  return rc;
}

static int run_certificates_get(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                                const struct cli_parsed *p) {
  static const char *const skip[] = { "certificate_pem", NULL };
  char path[PATH_MAX_LEN];
  struct cli_reply r = { 0 };
  if (!cli_id_path(cmd, path, sizeof(path), "/certificates", p->pos[0], "")) {
    return CLI_EXIT_USAGE;
  }
  int rc = cli_api_call(ctx, &r, "GET", path, NULL, NULL);
  if (rc == CLI_EXIT_OK) {
    cli_print_reply(ctx, &r, skip);
    const char *pem =
        json_string_value(json_object_get(r.json, "certificate_pem"));
    if (!ctx->json && pem != NULL && cli_args_get(p, "pem") != NULL) {
      fputs(pem, stdout);
    }
  }
  cli_reply_cleanup(&r);
  return rc;
}

static int run_certificates_list(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                                 const struct cli_parsed *p) {
  static const struct cli_column cols[] = {
    { "ID", "id" },         { "TENANT", "tenant" },
    { "NAME", "name" },     { "SERIAL", "serial" },
    { "STATUS", "status" }, { "NOT_AFTER", "not_after" },
  };
  char path[PATH_MAX_LEN] = "/certificates";
  long limit = 0;
  const char *lim = cli_args_get(p, "limit");
  if (lim != NULL && !cli_args_parse_long(&limit, lim, 1, 500)) {
    return cli_args_usage_error(cmd, "--limit wants a whole number in 1..500");
  }
  if (!cli_add_query(cmd, path, sizeof(path), "tenant",
                     cli_args_get(p, "tenant")) ||
      !cli_add_query(cmd, path, sizeof(path), "limit", lim) ||
      !cli_add_query(cmd, path, sizeof(path), "after",
                     cli_args_get(p, "after"))) {
    return CLI_EXIT_USAGE;
  }
  return cli_get_list(ctx, path, cols, sizeof(cols) / sizeof(cols[0]), "after");
}

static const char *const revocation_reasons[] = {
  "unspecified", "keyCompromise",        "affiliationChanged",
  "superseded",  "cessationOfOperation", "privilegeWithdrawn",
};

static int run_certificates_revoke(struct cli_ctx *ctx,
                                   const struct cli_cmd *cmd,
                                   const struct cli_parsed *p) {
  char kbuf[33];
  char path[PATH_MAX_LEN];
  struct cli_reply r = { 0 };
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
  const char *key = cli_idempotency_key(cmd, p, kbuf);
  if (key == NULL ||
      !cli_id_path(cmd, path, sizeof(path), "/certificates", p->pos[0],
                   cli_args_get(p, "wait") != NULL ? "/revoke?wait=published"
                                                   : "/revoke")) {
    return CLI_EXIT_USAGE;
  }
  body = json_object();
  if (body == NULL || !cli_set_str(body, "reason", reason)) {
    rc = cli_oom();
    goto err;
  }
  rc = cli_api_call(ctx, &r, "POST", path, body, key);
  if (rc == CLI_EXIT_OK) {
    cli_print_reply(ctx, &r, NULL);
  } else if (r.http.status == 504) {
    /* The revocation is committed; only the publishing wait ran out. */
    if (!ctx->json && json_is_object(r.json)) {
      cli_print_object(r.json, NULL);
    }
    fprintf(stderr,
            "%s: the revocation is committed but was not confirmed "
            "published in time;\nit will still publish (check with `%s "
            "certificates get`)\n",
            PROG, PROG);
  }
err:
  cli_reply_cleanup(&r);
  json_decref(body);
  return rc;
}

static int run_audit_list(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                          const struct cli_parsed *p) {
  static const struct cli_column cols[] = {
    { "ID", "id" },
    { "AT", "at" },
    { "TYPE", "type" },
    { "SUBJECT", "subject" },
    { "PRINCIPAL", "principal" },
  };
  char path[PATH_MAX_LEN] = "/audit";
  long limit = 0;
  const char *lim = cli_args_get(p, "limit");
  if (lim != NULL && !cli_args_parse_long(&limit, lim, 1, 1000)) {
    return cli_args_usage_error(cmd, "--limit wants a whole number in 1..1000");
  }
  if (!cli_add_query(cmd, path, sizeof(path), "type",
                     cli_args_get(p, "type")) ||
      !cli_add_query(cmd, path, sizeof(path), "limit", lim) ||
      !cli_add_query(cmd, path, sizeof(path), "after",
                     cli_args_get(p, "after"))) {
    return CLI_EXIT_USAGE;
  }
  return cli_get_list(ctx, path, cols, sizeof(cols) / sizeof(cols[0]), "after");
}

/* parse_lifetime: "N" seconds or N with a unit s, m, h, d; 1s..10 years.
 * Returns 1 with |*out| set, or 0. */
static int parse_lifetime(int64_t *out, const char *s) {
  int64_t v = 0;
  size_t i = 0;
  while (s[i] >= '0' && s[i] <= '9' && i < 12) {
    v = v * 10 + (s[i] - '0');
    i++;
  }
  if (i == 0) {
    return 0;
  }
  int64_t unit = 1;
  if (s[i] != '\0') {
    const char *units = "smhd";
    const int64_t secs[] = { 1, 60, 3600, 86400 };
    const char *u = strchr(units, s[i]);
    if (u == NULL || s[i + 1] != '\0') {
      return 0;
    }
    unit = secs[u - units];
  }
  if (v < 1 || v > INT64_C(315360000) / unit) {
    return 0;
  }
  *out = v * unit;
  return 1;
}

static int run_tokens_create(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                             const struct cli_parsed *p) {
  char kbuf[33];
  struct cli_reply r = { 0 };
  int rc = CLI_EXIT_USAGE;
  json_t *body = NULL;
  const char *name = cli_args_get(p, "name");
  if (name == NULL || cli_args_count(p, "role") == 0) {
    return cli_args_usage_error(cmd,
                                "--name and at least one --role are "
                                "required");
  }
  const char *expires_in = cli_args_get(p, "expires-in");
  const char *expires_at = cli_args_get(p, "expires-at");
  int64_t lifetime = 0;
  if (expires_in != NULL && expires_at != NULL) {
    return cli_args_usage_error(cmd,
                                "give --expires-in or --expires-at, not both");
  }
  if (expires_in != NULL && !parse_lifetime(&lifetime, expires_in)) {
    return cli_args_usage_error(cmd,
                                "--expires-in must be N[s|m|h|d], 1s..10 "
                                "years (e.g. 90d)");
  }
  const char *key = cli_idempotency_key(cmd, p, kbuf);
  if (key == NULL) {
    return CLI_EXIT_USAGE;
  }
  body = json_object();
  if (body == NULL || !cli_set_str(body, "name", name) ||
      !cli_set_list(body, "roles", p, "role") ||
      !cli_set_str(body, "tenant", cli_args_get(p, "tenant")) ||
      !cli_set_str(body, "expires_at", expires_at) ||
      (lifetime > 0 &&
       json_object_set_new(body, "expires_in", json_integer(lifetime)) != 0)) {
    rc = cli_oom();
    goto err;
  }
  rc = cli_api_call(ctx, &r, "POST", "/tokens", body, key);
  if (rc != CLI_EXIT_OK) {
    goto err;
  }
  cli_print_reply(ctx, &r, NULL);
  fprintf(stderr, "%s: the token is shown only now; store it safely\n", PROG);
err:
  cli_reply_cleanup(&r);
  json_decref(body);
  return rc;
}

static int run_tokens_revoke(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                             const struct cli_parsed *p) {
  char kbuf[33];
  char path[PATH_MAX_LEN];
  struct cli_reply r = { 0 };
  const char *key = cli_idempotency_key(cmd, p, kbuf);
  if (key == NULL ||
      !cli_id_path(cmd, path, sizeof(path), "/tokens", p->pos[0], "/revoke")) {
    return CLI_EXIT_USAGE;
  }
  int rc = cli_api_call(ctx, &r, "POST", path, NULL, key);
  if (rc == CLI_EXIT_OK) {
    cli_print_reply(ctx, &r, NULL);
  }
  cli_reply_cleanup(&r);
  return rc;
}

/* ------------------------------------------------------------------------
 * Tables
 * ------------------------------------------------------------------------ */

static const struct cli_opt no_opts[] = { CLI_END_OPT };

static const struct cli_opt tenants_create_opts[] = { CLI_IDEMPOTENCY_OPT,
                                                      CLI_END_OPT };

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
  CLI_IDEMPOTENCY_OPT,
  CLI_END_OPT,
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
  CLI_IDEMPOTENCY_OPT,
  CLI_END_OPT,
};

static const struct cli_opt certificates_get_opts[] = {
  { "pem", CLI_OPT_FLAG, NULL, "also print the certificate PEM" },
  CLI_END_OPT,
};

static const struct cli_opt certificates_list_opts[] = {
  { "tenant", CLI_OPT_VALUE, "T", "only this tenant's certificates" },
  { "limit", CLI_OPT_VALUE, "N", "at most N, 1..500 (default 50)" },
  { "after", CLI_OPT_VALUE, "ID", "the page after this id (from \"more:\")" },
  CLI_END_OPT,
};

static const struct cli_opt certificates_revoke_opts[] = {
  { "reason", CLI_OPT_VALUE, "R",
    "keyCompromise, superseded, cessationOfOperation, affiliationChanged, "
    "privilegeWithdrawn or unspecified (required)" },
  { "wait", CLI_OPT_FLAG, NULL,
    "answer once the revoked response is published (up to 5 s)" },
  CLI_IDEMPOTENCY_OPT,
  CLI_END_OPT,
};

static const struct cli_opt audit_list_opts[] = {
  { "type", CLI_OPT_VALUE, "T", "only events of this type" },
  { "limit", CLI_OPT_VALUE, "N", "at most N, 1..1000 (default 100)" },
  { "after", CLI_OPT_VALUE, "ID", "events after this id" },
  CLI_END_OPT,
};

static const struct cli_opt tokens_create_opts[] = {
  { "name", CLI_OPT_VALUE, "N", "the new principal's name (required)" },
  { "role", CLI_OPT_LIST, "R",
    "admin, issuer, approver, operator or auditor (at least one)" },
  { "tenant", CLI_OPT_VALUE, "T", "limit the token to this tenant" },
  { "expires-in", CLI_OPT_VALUE, "D",
    "the token expires after D: N[s|m|h|d], e.g. 90d (default: never)" },
  { "expires-at", CLI_OPT_VALUE, "TIME",
    "the token expires at TIME, UTC YYYY-MM-DDTHH:MM:SSZ" },
  CLI_IDEMPOTENCY_OPT,
  CLI_END_OPT,
};

static const struct cli_opt tokens_revoke_opts[] = {
  CLI_IDEMPOTENCY_OPT,
  CLI_END_OPT,
};

const struct cli_cmd cli_core_cmds[] = {
  { "health", NULL, "", 0, "check the API and its dependencies (no token)",
    "Exit 0 when the API answers healthy, 3 when it or its database is "
    "unavailable.",
    no_opts, run_health, 0 },
  { "tenants", "create", "NAME", 1, "create a tenant (admin)", NULL,
    tenants_create_opts, run_tenants_create, 0 },
  { "issuers", "create", "", 0, "create a root or intermediate CA (admin)",
    "The signer makes the key and certificate; the certificate PEM is "
    "printed\nafter the fields.",
    issuers_create_opts, run_issuers_create, 0 },
  { "certificates", "create", "", 0,
    "issue a certificate from a CSR or a server-generated key (issuer)",
    "Either --csr FILE, or --dns/--ip (at least one) for a key the server\n"
    "generates; that key is shown once: use --key-out FILE to keep it.",
    certificates_create_opts, run_certificates_create, 0 },
  { "certificates", "get", "ID", 1, "show one certificate and its status", NULL,
    certificates_get_opts, run_certificates_get, 0 },
  { "certificates", "list", "", 0, "list certificates, newest first", NULL,
    certificates_list_opts, run_certificates_list, 0 },
  { "certificates", "revoke", "ID", 1, "revoke a certificate (issuer)",
    "Answers once the revocation is committed; with --wait, once it is\n"
    "published (exit 3 if that takes too long: it stays committed and "
    "will\npublish).",
    certificates_revoke_opts, run_certificates_revoke, 0 },
  { "audit", "list", "", 0, "list audit events, oldest first", NULL,
    audit_list_opts, run_audit_list, 0 },
  { "tokens", "create", "", 0,
    "create an API token (admin); the token is shown once", NULL,
    tokens_create_opts, run_tokens_create, 0 },
  { "tokens", "revoke", "ID", 1, "revoke a token (admin); its next use is 401",
    "ID is the id `tokens create` printed (the token's principal); every\n"
    "token of that principal is revoked, for good.",
    tokens_revoke_opts, run_tokens_revoke, 0 },
};

const size_t cli_core_num_cmds =
    sizeof(cli_core_cmds) / sizeof(cli_core_cmds[0]);

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
  { "break-glass", CLI_OPT_VALUE, "REASON",
    "emergency: skip dual control with a break-glass token; opens a "
    "reconciliation item a second person must review (docs/dual-control.md)" },
  { "connect-timeout", CLI_OPT_VALUE, "S",
    "connect + TLS timeout in seconds (default 5)" },
  { "timeout", CLI_OPT_VALUE, "S",
    "whole-request timeout in seconds (default 30)" },
  CLI_END_OPT,
};
