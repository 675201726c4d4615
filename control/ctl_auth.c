/* ctl_auth.c: tokens, principals, roles (see ctl_auth.h). */
#include "ctl_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "ctl_audit.h"
#include "vigil/b64.h"
#include "vigil/timeutil.h"

static const struct {
  const char *name;
  unsigned bit;
} roles[] = {
  { "admin", CTL_ROLE_ADMIN },       { "issuer", CTL_ROLE_ISSUER },
  { "approver", CTL_ROLE_APPROVER }, { "operator", CTL_ROLE_OPERATOR },
  { "auditor", CTL_ROLE_AUDITOR },
};

unsigned ctl_auth_role_parse(const char *name) {
  for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
    if (strcmp(name, roles[i].name) == 0) {
      return roles[i].bit;
    }
  }
  return 0;
}

unsigned ctl_auth_roles_parse(const char *a) {
  unsigned bits = 0;
  char word[32];
  size_t n = 0;
  if (a == NULL || *a != '{') {
    return 0;
  }
  for (a++; *a != '\0'; a++) {
    if (*a == ',' || *a == '}') {
      word[n] = '\0';
      bits |= ctl_auth_role_parse(word);
      n = 0;
      if (*a == '}') {
        break;
      }
    } else if (n + 1 < sizeof(word)) {
      word[n++] = *a;
    }
  }
  return bits;
}

int ctl_auth_token_new(char out[CTL_AUTH_TOKEN_LEN + 1]) {
  uint8_t raw[32];
  char enc[64];
  size_t got = 0;
  while (got < sizeof(raw)) {
    ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return 0;
    }
    got += (size_t)n;
  }
  size_t len = vigil_b64url_encode(enc, raw, sizeof(raw));
  memset(raw, 0, sizeof(raw));
  if (len != CTL_AUTH_TOKEN_LEN - 4) {
    return 0;
  }
  memcpy(out, CTL_AUTH_TOKEN_PREFIX, 4);
  memcpy(out + 4, enc, len);
  out[CTL_AUTH_TOKEN_LEN] = '\0';
  memset(enc, 0, sizeof(enc));
  return 1;
}

int ctl_auth_principal_name_valid(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > 128) {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    int alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || strchr("._@:-", c) == NULL)) {
      return 0;
    }
  }
  return 1;
}

int ctl_auth_token_wellformed(const char *tok) {
  if (strlen(tok) != CTL_AUTH_TOKEN_LEN ||
      memcmp(tok, CTL_AUTH_TOKEN_PREFIX, 4) != 0) {
    return 0;
  }
  for (size_t i = 4; i < CTL_AUTH_TOKEN_LEN; i++) {
    char c = tok[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '_')) {
      return 0;
    }
  }
  return 1;
}

static void copy_field(char *dst, size_t cap, const PGresult *res, int col) {
  snprintf(dst, cap, "%s",
           PQgetisnull(res, 0, col) ? "" : PQgetvalue(res, 0, col));
}

enum ctl_db_status ctl_auth_lookup(struct ctl_db *db, struct ctl_principal *out,
                                   const char *token) {
  memset(out, 0, sizeof(*out));
  if (!ctl_auth_token_wellformed(token)) {
    return CTL_DB_ABORTED;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_bytes(&p, (const uint8_t *)token, strlen(token));
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "SELECT p.id, p.name, p.kind, p.roles, p.tenant, t.name "
      "FROM api_tokens k JOIN principals p ON p.id = k.principal "
      "LEFT JOIN tenants t ON t.id = p.tenant "
      "WHERE k.token_sha256 = sha256($1::bytea) AND k.revoked_at IS NULL "
      "AND (k.expires_at IS NULL OR k.expires_at > now()) "
      "AND p.disabled_at IS NULL",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    return CTL_DB_ABORTED;
  }
  copy_field(out->id, sizeof(out->id), res, 0);
  copy_field(out->name, sizeof(out->name), res, 1);
  out->bootstrap = strcmp(PQgetvalue(res, 0, 2), "bootstrap") == 0;
  out->roles = ctl_auth_roles_parse(PQgetvalue(res, 0, 3));
  copy_field(out->tenant_id, sizeof(out->tenant_id), res, 4);
  copy_field(out->tenant_name, sizeof(out->tenant_name), res, 5);
  PQclear(res);
  return CTL_DB_OK;
}

enum ctl_db_status ctl_auth_insert_token(struct ctl_db *db,
                                         const char *principal_id,
                                         const char *token) {
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, principal_id);
  ctl_db_param_bytes(&p, (const uint8_t *)token, strlen(token));
  return ctl_db_exec(db, NULL,
                     "INSERT INTO api_tokens (principal, token_sha256) "
                     "VALUES ($1::uuid, sha256($2::bytea))",
                     &p);
}

enum ctl_db_status ctl_auth_refusal_of(struct ctl_db *db,
                                       enum ctl_auth_refusal *out,
                                       const char *token) {
  *out = CTL_AUTH_UNKNOWN;
  if (!ctl_auth_token_wellformed(token)) {
    return CTL_DB_OK;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_bytes(&p, (const uint8_t *)token, strlen(token));
  PGresult *res = NULL;
  enum ctl_db_status st =
      ctl_db_exec(db, &res,
                  "SELECT k.revoked_at IS NOT NULL, "
                  "k.expires_at IS NOT NULL AND k.expires_at <= now(), "
                  "p.disabled_at IS NOT NULL "
                  "FROM api_tokens k JOIN principals p ON p.id = k.principal "
                  "WHERE k.token_sha256 = sha256($1::bytea)",
                  &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) == 1) {
    if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
      *out = CTL_AUTH_REVOKED;
    } else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
      *out = CTL_AUTH_EXPIRED;
    } else if (strcmp(PQgetvalue(res, 0, 2), "t") == 0) {
      *out = CTL_AUTH_DISABLED;
    }
  }
  PQclear(res);
  return CTL_DB_OK;
}

/* digits: |n| decimal digits of |s| as an int, or -1. */
static int digits(const char *s, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') {
      return -1;
    }
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

int ctl_auth_parse_time(int64_t *out, const char *s) {
  /* YYYY-MM-DDTHH:MM:SSZ */
  if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
      s[13] != ':' || s[16] != ':' || s[19] != 'Z') {
    return 0;
  }
  int y = digits(s, 4);
  int mo = digits(s + 5, 2);
  int d = digits(s + 8, 2);
  int h = digits(s + 11, 2);
  int mi = digits(s + 14, 2);
  int se = digits(s + 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || se < 0) {
    return 0;
  }
  return vigil_time_from_civil(out, y, mo, d, h, mi, se);
}

enum ctl_db_status ctl_auth_insert_token_until(struct ctl_db *db,
                                               const char *principal_id,
                                               const char *token,
                                               int64_t expires_at,
                                               char out_expires_at[32]) {
  out_expires_at[0] = '\0';
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, principal_id);
  ctl_db_param_bytes(&p, (const uint8_t *)token, strlen(token));
  if (expires_at > 0) {
    ctl_db_param_int64(&p, expires_at);
  } else {
    ctl_db_param_null(&p);
  }
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "INSERT INTO api_tokens (principal, token_sha256, expires_at) "
      "VALUES ($1::uuid, sha256($2::bytea), to_timestamp($3::bigint)) "
      "RETURNING to_char(expires_at AT TIME ZONE 'UTC', "
      "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
    snprintf(out_expires_at, 32, "%s", PQgetvalue(res, 0, 0));
  }
  PQclear(res);
  return CTL_DB_OK;
}

enum ctl_db_status ctl_auth_create_token_principal(
    struct ctl_db *db, char out_id[37], char out_expires_at[32],
    const char *name, const char *roles_pg, const char *tenant_id,
    const char *created_by, const char *token, int64_t expires_at) {
  out_id[0] = '\0';
  out_expires_at[0] = '\0';
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, name);
  ctl_db_param_text(&p, roles_pg);
  ctl_db_param_text(&p, tenant_id);
  ctl_db_param_text(&p, created_by);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "INSERT INTO principals (name, kind, roles, tenant, created_by) "
      "VALUES ($1, 'token', $2::text[], $3::uuid, $4::uuid) RETURNING id",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  copy_field(out_id, 37, res, 0);
  PQclear(res);
  st = ctl_auth_insert_token_until(db, out_id, token, expires_at,
                                   out_expires_at);
  if (st != CTL_DB_OK) {
    out_id[0] = '\0';
  }
  return st;
}

enum ctl_db_status ctl_auth_revoke_tokens(struct ctl_db *db,
                                          struct ctl_auth_revoked *out,
                                          const char *principal_id,
                                          const char *scope_tenant_id,
                                          const char *by_id) {
  memset(out, 0, sizeof(*out));
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, principal_id);
  ctl_db_param_text(&p, scope_tenant_id);
  PGresult *res = NULL;
  /* Lock the principal: concurrent revocations of it serialize here. */
  enum ctl_db_status st =
      ctl_db_exec(db, &res,
                  "SELECT name, tenant FROM principals WHERE id = $1::uuid "
                  "AND ($2::uuid IS NULL OR tenant = $2::uuid) FOR UPDATE",
                  &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    return CTL_DB_OK;
  }
  out->found = 1;
  copy_field(out->name, sizeof(out->name), res, 0);
  copy_field(out->tenant_id, sizeof(out->tenant_id), res, 1);
  PQclear(res);
  res = NULL;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, principal_id);
  ctl_db_param_text(&p, by_id);
  st = ctl_db_exec(
      db, &res,
      "UPDATE api_tokens SET revoked_at = now(), revoked_by = $2::uuid "
      "WHERE principal = $1::uuid AND revoked_at IS NULL "
      "RETURNING to_char(revoked_at AT TIME ZONE 'UTC', "
      "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  out->num_revoked = PQntuples(res);
  if (out->num_revoked > 0) {
    copy_field(out->revoked_at, sizeof(out->revoked_at), res, 0);
  }
  PQclear(res);
  return CTL_DB_OK;
}

/* --- Bootstrap ------------------------------------------------------------ */

struct boot {
  const char *token; /* the new token */
  int created;       /* 1: the principal was made in this run */
};

static enum ctl_db_status boot_txn(struct ctl_db *db, void *arg) {
  struct boot *b = arg;
  b->created = 0;
  PGresult *res = NULL;
  /* Serialize concurrent first starts on the table lock. */
  enum ctl_db_status st = ctl_db_exec(
      db, NULL, "LOCK TABLE principals IN SHARE ROW EXCLUSIVE MODE", NULL);
  if (st != CTL_DB_OK) {
    return st;
  }
  st = ctl_db_exec(db, &res,
                   "SELECT 1 FROM principals WHERE kind <> 'system' LIMIT 1",
                   NULL);
  if (st != CTL_DB_OK) {
    return st;
  }
  int any = PQntuples(res) > 0;
  PQclear(res);
  res = NULL;
  if (any) {
    return CTL_DB_OK;
  }
  st = ctl_db_exec(db, &res,
                   "INSERT INTO principals (name, kind, roles) VALUES "
                   "('bootstrap', 'bootstrap', ARRAY['admin']) RETURNING id",
                   NULL);
  if (st != CTL_DB_OK) {
    return st;
  }
  char id[37];
  snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
  PQclear(res);
  st = ctl_auth_insert_token(db, id, b->token);
  if (st != CTL_DB_OK) {
    return st;
  }
  char subject[64];
  snprintf(subject, sizeof(subject), "principal:%s", id);
  struct ctl_audit_event ev = {
    .type = "principal.bootstrap",
    .principal = id,
    .subject = subject,
    .details_json = "{\"name\":\"bootstrap\",\"roles\":[\"admin\"]}",
  };
  st = ctl_audit_append(db, NULL, NULL, &ev);
  if (st != CTL_DB_OK) {
    return st;
  }
  b->created = 1;
  return CTL_DB_OK;
}

int ctl_auth_bootstrap(struct ctl_db *db, const struct vigil_log *log,
                       const char *state_dir) {
  char eb[128];
  char path[1100];
  char tmp[1100];
  char token[CTL_AUTH_TOKEN_LEN + 2];
  if ((size_t)snprintf(path, sizeof(path), "%s/bootstrap-token", state_dir) >=
          sizeof(path) ||
      (size_t)snprintf(tmp, sizeof(tmp), "%s/bootstrap-token.tmp", state_dir) >=
          sizeof(tmp)) {
    VLOG_ERROR(log, "state-dir too long");
    return 0;
  }
  if (!ctl_auth_token_new(token)) {
    VLOG_ERROR(log, "bootstrap: getrandom failed");
    return 0;
  }
  /* Write the token first (not yet under its final name): if the commit
   * then fails, the file goes; if it succeeds, it is renamed. */
  (void)unlink(tmp);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    VLOG_ERROR(log, "bootstrap: %s: %s", tmp,
               vigil_strerror(errno, eb, sizeof(eb)));
    return 0;
  }
  token[CTL_AUTH_TOKEN_LEN] = '\n';
  ssize_t n = write(fd, token, CTL_AUTH_TOKEN_LEN + 1);
  token[CTL_AUTH_TOKEN_LEN] = '\0';
  if (n != CTL_AUTH_TOKEN_LEN + 1 || fsync(fd) != 0) {
    VLOG_ERROR(log, "bootstrap: writing %s failed", tmp);
    close(fd);
    (void)unlink(tmp);
    return 0;
  }
  close(fd);
  struct boot b = { .token = token, .created = 0 };
  enum ctl_db_status st =
      ctl_db_txn(db, CTL_DB_READ_COMMITTED, 0, boot_txn, &b);
  memset(token, 0, sizeof(token));
  if (st != CTL_DB_OK || !b.created) {
    (void)unlink(tmp);
    if (st != CTL_DB_OK) {
      VLOG_ERROR(log, "bootstrap: %s", ctl_db_last_error(db)->message);
      return 0;
    }
    return 1;
  }
  if (rename(tmp, path) != 0) {
    VLOG_ERROR(log, "bootstrap: rename to %s: %s", path,
               vigil_strerror(errno, eb, sizeof(eb)));
    return 0;
  }
  VLOG_INFO(log, "bootstrap principal created; token in %s (mode 0600)", path);
  return 1;
}
