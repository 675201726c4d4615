/* ctl_access.c: role management on brokered-access targets (see
 * ctl_access.h). */
#include "ctl_access.h"

#include <stdio.h>
#include <string.h>

/* Statements longer than this are refused (16 grants of quoted 63-byte
 * names fit with room to spare). */
#define ACCESS_SQL_MAX 4096

/* target_open connects to |conninfo| and sets short timeouts. Returns the
 * handle (ctl_db_free), or NULL with |err| set and |*out| the outcome. */
static struct ctl_db *target_open(enum ctl_access_outcome *out, char *err,
                                  size_t err_len, const struct vigil_log *log,
                                  const char *conninfo) {
  struct ctl_db_options o = {
    .conninfo = conninfo,
    .connect_timeout = 5,
    .application_name = "vigil-control-access",
    .log = log,
  };
  *out = CTL_ACCESS_UNREACHABLE;
  struct ctl_db *db = ctl_db_new(&o);
  if (db == NULL) {
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  enum ctl_db_status st = ctl_db_connect(db);
  if (st == CTL_DB_OK) {
    st = ctl_db_exec(db, NULL, "SET statement_timeout = '10s'", NULL);
  }
  if (st == CTL_DB_OK) {
    st = ctl_db_exec(db, NULL, "SET lock_timeout = '5s'", NULL);
  }
  if (st != CTL_DB_OK) {
    snprintf(err, err_len, "target: %s", ctl_db_last_error(db)->message);
    *out =
        st == CTL_DB_UNAVAILABLE ? CTL_ACCESS_UNREACHABLE : CTL_ACCESS_REFUSED;
    ctl_db_free(db);
    return NULL;
  }
  *out = CTL_ACCESS_OK;
  return db;
}

static enum ctl_access_outcome fail_of(char *err, size_t err_len,
                                       struct ctl_db *db,
                                       enum ctl_db_status st) {
  snprintf(err, err_len, "target: %s", ctl_db_last_error(db)->message);
  return st == CTL_DB_UNAVAILABLE ? CTL_ACCESS_UNREACHABLE : CTL_ACCESS_REFUSED;
}

/* append_ident appends the quoted identifier |name| to |sql| (of |len|
 * bytes). Returns 1, or 0 when it does not fit or cannot be quoted. */
static int append_ident(char *sql, size_t len, PGconn *c, const char *name) {
  char *q = PQescapeIdentifier(c, name, strlen(name));
  if (q == NULL) {
    return 0;
  }
  size_t used = strlen(sql);
  int n = snprintf(sql + used, len - used, "%s", q);
  PQfreemem(q);
  return n >= 0 && (size_t)n < len - used;
}

static int append_literal(char *sql, size_t len, PGconn *c, const char *s) {
  char *q = PQescapeLiteral(c, s, strlen(s));
  if (q == NULL) {
    return 0;
  }
  size_t used = strlen(sql);
  int n = snprintf(sql + used, len - used, "%s", q);
  PQfreemem(q);
  return n >= 0 && (size_t)n < len - used;
}

static int append_text(char *sql, size_t len, const char *s) {
  size_t used = strlen(sql);
  int n = snprintf(sql + used, len - used, "%s", s);
  return n >= 0 && (size_t)n < len - used;
}

enum ctl_access_outcome ctl_access_check(char *err, size_t err_len,
                                         const struct vigil_log *log,
                                         const char *conninfo,
                                         const char *const *grants,
                                         size_t num_grants) {
  enum ctl_access_outcome out = CTL_ACCESS_OK;
  PGresult *res = NULL;
  struct ctl_db *db = target_open(&out, err, err_len, log, conninfo);
  if (db == NULL) {
    return out;
  }
  enum ctl_db_status st =
      ctl_db_exec(db, &res,
                  "SELECT rolsuper OR rolcreaterole FROM pg_roles "
                  "WHERE rolname = current_user",
                  NULL);
  if (st != CTL_DB_OK) {
    out = fail_of(err, err_len, db, st);
    goto done;
  }
  if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
    snprintf(err, err_len,
             "the conninfo's role may not create roles (needs CREATEROLE)");
    out = CTL_ACCESS_REFUSED;
    goto done;
  }
  for (size_t i = 0; i < num_grants; i++) {
    PQclear(res);
    res = NULL;
    struct ctl_db_params p;
    ctl_db_params_init(&p);
    ctl_db_param_text(&p, grants[i]);
    st = ctl_db_exec(db, &res, "SELECT 1 FROM pg_roles WHERE rolname = $1", &p);
    if (st != CTL_DB_OK) {
      out = fail_of(err, err_len, db, st);
      goto done;
    }
    if (PQntuples(res) != 1) {
      snprintf(err, err_len, "no role \"%.63s\" on the target", grants[i]);
      out = CTL_ACCESS_REFUSED;
      goto done;
    }
  }

done:
  PQclear(res);
  ctl_db_free(db);
  return out;
}

enum ctl_access_outcome ctl_access_role_create(
    char *err, size_t err_len, const struct vigil_log *log,
    const char *conninfo, const char *username, const char *password,
    const char *valid_until, const char *const *grants, size_t num_grants) {
  enum ctl_access_outcome out = CTL_ACCESS_OK;
  char sql[ACCESS_SQL_MAX] = "CREATE ROLE ";
  char *verifier = NULL;
  if (num_grants == 0 || num_grants > CTL_ACCESS_MAX_GRANTS) {
    snprintf(err, err_len, "1..%d roles to grant", CTL_ACCESS_MAX_GRANTS);
    return CTL_ACCESS_REFUSED;
  }
  struct ctl_db *db = target_open(&out, err, err_len, log, conninfo);
  if (db == NULL) {
    return out;
  }
  PGconn *c = ctl_db_get0_conn(db);
  /* Send the SCRAM verifier, not the password: a CREATE ROLE statement
   * may be written to the server's log (log_statement = ddl, or
   * log_min_error_statement when it fails). */
  verifier = c != NULL
                 ? PQencryptPasswordConn(c, password, username, "scram-sha-256")
                 : NULL;
  if (verifier == NULL) {
    snprintf(err, err_len, "cannot compute the SCRAM verifier: %s",
             c != NULL ? PQerrorMessage(c) : "not connected");
    err[strcspn(err, "\n")] = '\0';
    out = CTL_ACCESS_REFUSED;
    goto done;
  }
  int ok = append_ident(sql, sizeof(sql), c, username) &&
           append_text(sql, sizeof(sql),
                       " LOGIN NOSUPERUSER NOCREATEDB "
                       "NOCREATEROLE NOREPLICATION "
                       "NOBYPASSRLS INHERIT PASSWORD ") &&
           append_literal(sql, sizeof(sql), c, verifier) &&
           append_text(sql, sizeof(sql), " VALID UNTIL ") &&
           append_literal(sql, sizeof(sql), c, valid_until) &&
           append_text(sql, sizeof(sql), " IN ROLE ");
  for (size_t i = 0; ok && i < num_grants; i++) {
    ok = (i == 0 || append_text(sql, sizeof(sql), ", ")) &&
         append_ident(sql, sizeof(sql), c, grants[i]);
  }
  if (!ok) {
    snprintf(err, err_len, "cannot build the CREATE ROLE statement");
    out = CTL_ACCESS_REFUSED;
    goto done;
  }
  enum ctl_db_status st = ctl_db_exec(db, NULL, sql, NULL);
  if (st != CTL_DB_OK) {
    out = fail_of(err, err_len, db, st);
  }

done:
  memset(sql, 0, sizeof(sql));
  PQfreemem(verifier);
  ctl_db_free(db);
  return out;
}

enum ctl_access_outcome ctl_access_role_drop(char *err, size_t err_len,
                                             const struct vigil_log *log,
                                             const char *conninfo,
                                             const char *username) {
  enum ctl_access_outcome out = CTL_ACCESS_OK;
  PGresult *res = NULL;
  struct ctl_db *db = target_open(&out, err, err_len, log, conninfo);
  if (db == NULL) {
    return out;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, username);
  enum ctl_db_status st =
      ctl_db_exec(db, &res, "SELECT 1 FROM pg_roles WHERE rolname = $1", &p);
  if (st != CTL_DB_OK) {
    out = fail_of(err, err_len, db, st);
    goto done;
  }
  if (PQntuples(res) == 0) {
    goto done; /* gone already */
  }
  PGconn *c = ctl_db_get0_conn(db);
  /* Order: no new logins, then end the ones there are (DROP ROLE would
   * leave their backends running), then what it owns, then the role. */
  static const char *const steps[][2] = {
    { "ALTER ROLE ", " NOLOGIN" },
    { NULL, NULL }, /* terminate backends (parameterized) */
    { "REASSIGN OWNED BY ", " TO CURRENT_USER" },
    { "DROP OWNED BY ", "" },
    { "DROP ROLE IF EXISTS ", "" },
  };
  for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
    if (steps[i][0] == NULL) {
      st = ctl_db_exec(db, NULL,
                       "SELECT pg_terminate_backend(pid, 5000) FROM "
                       "pg_stat_activity WHERE usename = $1",
                       &p);
    } else {
      char sql[256] = "";
      if (c == NULL || !append_text(sql, sizeof(sql), steps[i][0]) ||
          !append_ident(sql, sizeof(sql), c, username) ||
          !append_text(sql, sizeof(sql), steps[i][1])) {
        snprintf(err, err_len, "cannot build the statement");
        out = CTL_ACCESS_REFUSED;
        goto done;
      }
      st = ctl_db_exec(db, NULL, sql, NULL);
    }
    if (st != CTL_DB_OK) {
      out = fail_of(err, err_len, db, st);
      goto done;
    }
  }

done:
  PQclear(res);
  ctl_db_free(db);
  return out;
}

int ctl_access_conninfo_hint(char *out, size_t out_len, const char *conninfo,
                             const char *dbname, const char *username) {
  char *perr = NULL;
  const char *host = NULL;
  const char *port = NULL;
  const char *db = NULL;
  PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
  if (opts == NULL) {
    PQfreemem(perr);
    return 0;
  }
  for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
    if (o->val == NULL || o->val[0] == '\0') {
      continue;
    }
    if (strcmp(o->keyword, "host") == 0) {
      host = o->val;
    } else if (strcmp(o->keyword, "hostaddr") == 0 && host == NULL) {
      host = o->val;
    } else if (strcmp(o->keyword, "port") == 0) {
      port = o->val;
    } else if (strcmp(o->keyword, "dbname") == 0) {
      db = o->val;
    }
  }
  if (dbname != NULL) {
    db = dbname;
  }
  int n =
      snprintf(out, out_len, "host=%s port=%s dbname=%s user=%s",
               host != NULL ? host : "localhost", port != NULL ? port : "5432",
               db != NULL ? db : "postgres", username);
  PQconninfoFree(opts);
  return n >= 0 && (size_t)n < out_len;
}
