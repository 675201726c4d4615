/* ctl_api_access.c: brokered, short-lived privileged access (issue 5,
 * DESIGN.md section 5) — the /access endpoints.
 *
 * An admin registers targets (POST /access/targets: a Postgres server, the
 * conninfo of a role there that may CREATE ROLE, and the map of session
 * role names to server roles). An operator opens a session
 * (POST /access/sessions): vigil-control creates a login role
 * vigil_s_<16 hex> with a random password, VALID UNTIL the expiry and
 * membership in the mapped roles only, records the session (the password's
 * SHA-256, never the password) and audits pam.session.started in the
 * transaction that activates it, then answers the credential once.
 *
 * Order of a session's start, so that a crash leaves nothing usable
 * behind unnoticed: (1) the session row is committed as "opening" with its
 * expiry; (2) the role is created on the target; (3) one transaction marks
 * it active and appends the audit event; only then is it answered. A crash
 * after (2) leaves an opening row whose role nobody knows the password of;
 * the sweep drops it at expiry like any other.
 *
 * Expiry: every /access request first sweeps up to ACCESS_SWEEP_BATCH
 * sessions past their expiry (drop the role — NOLOGIN, terminate its
 * backends, drop — then mark expired and audit pam.session.expired). The
 * VALID UNTIL on the role stops new logins at expiry even when no sweep
 * runs; the sweep ends connections still open and removes the role.
 * POST /access/sessions/{id}/revoke ends a session early
 * (pam.session.revoked). A role is dropped on the target before the
 * session is marked ended; if the target cannot be reached the session
 * stays open (revoke answers 503; the sweep retries it after
 * ACCESS_RETRY_SECONDS, so an unreachable target does not slow every
 * request). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "ctl_access.h"
#include "ctl_api_internal.h"
#include "ctl_audit.h"
#include "vigil/alloc.h"
#include "vigil/b64.h"
#include "vigil/hex.h"
#include "vigil/seal.h"

#define ACCESS_TTL_DEFAULT  900
#define ACCESS_TTL_MAX      3600
#define ACCESS_REASON_MAX   1024
#define ACCESS_CONNINFO_MAX 1024
#define ACCESS_PAYLOAD_MAX  16384
#define ACCESS_MAX_ROLES    32 /* session role names per target */
/* Expired sessions ended per request before it is handled. */
#define ACCESS_SWEEP_BATCH 5
/* A session whose role could not be dropped is swept again after this. */
#define ACCESS_RETRY_SECONDS 30
/* How often the background sweep looks for expired sessions. */
#define ACCESS_SWEEP_INTERVAL_MS 1000
/* Sessions listed at most. */
#define ACCESS_LIST_MAX 200
/* Stringify a number macro for SQL text. */
#define ACCESS_STR_(x) #x
#define ACCESS_STR(x)  ACCESS_STR_(x)
#define ACCESS_READ_ROLES \
  (CTL_ROLE_ADMIN | CTL_ROLE_OPERATOR | CTL_ROLE_AUDITOR)
#define ACCESS_OPEN_ROLES (CTL_ROLE_ADMIN | CTL_ROLE_OPERATOR)

/* A session role name: [a-z][a-z0-9_]{0,31}. */
static int role_name_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 32 || s[0] < 'a' || s[0] > 'z') {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) {
      return 0;
    }
  }
  return 1;
}

/* A target id: [a-z0-9][a-z0-9._-]{0,62}. */
static int target_id_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 63) {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    int alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
    if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '-'))) {
      return 0;
    }
  }
  return 1;
}

/* ==========================================================================
 * Ending sessions: revoke and the expiry sweep
 * ========================================================================== */

struct session_end {
  const char *id;        /* session uuid */
  const char *state;     /* "expired" | "revoked" */
  const char *principal; /* who revoked; NULL: the sweep */
  const char *error;     /* role drop error text, or NULL */
  int ended;             /* 1: this call ended it */
};

static enum ctl_db_status end_txn(struct ctl_db *db, void *arg) {
  struct session_end *e = arg;
  e->ended = 0;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, e->id);
  ctl_db_param_text(&p, e->state);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "UPDATE access_sessions s SET state = $2, ended_at = now() "
      "FROM access_sessions o WHERE s.id = $1::uuid AND o.id = s.id "
      "AND s.state IN ('opening', 'active') "
      "RETURNING s.target, s.role, s.username, s.tenant, s.principal, "
      "o.state, " API_TS("s.expires_at"),
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    return CTL_DB_OK; /* ended by someone else meanwhile */
  }
  e->ended = 1;
  char subject[64];
  snprintf(subject, sizeof(subject), "access_session:%s", e->id);
  json_t *d = json_pack(
      "{s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "target_type", "postgres", "target_id",
      PQgetvalue(res, 0, 0), "role", PQgetvalue(res, 0, 1), "username",
      PQgetvalue(res, 0, 2), "session_principal", PQgetvalue(res, 0, 4),
      "expires_at", PQgetvalue(res, 0, 6), "started",
      strcmp(PQgetvalue(res, 0, 5), "active") == 0);
  char tenant[37] = "";
  if (!PQgetisnull(res, 0, 3)) {
    snprintf(tenant, sizeof(tenant), "%s", PQgetvalue(res, 0, 3));
  }
  PQclear(res);
  const char *type = strcmp(e->state, "revoked") == 0 ? "pam.session.revoked"
                                                      : "pam.session.expired";
  st = api_audit_take(db, NULL, type, e->principal,
                      tenant[0] != '\0' ? tenant : NULL, subject, d);
  return st;
}

/* session_end drops the role of session |id| on its target, then marks
 * the session |state| and audits it. Returns CTL_ACCESS_OK once ended (or
 * already ended); otherwise the role drop's outcome with |err| set
 * (nothing recorded but last_error), or CTL_ACCESS_REFUSED with
 * *|out_db| set for a failure of our database. */
static enum ctl_access_outcome session_end(
    struct ctl_api *api, struct ctl_db *db, enum ctl_db_status *out_db,
    char *err, size_t err_len, struct session_end *e, const char *username,
    const char *conninfo) {
  *out_db = CTL_DB_OK;
  enum ctl_access_outcome o =
      ctl_access_role_drop(err, err_len, api->log, conninfo, username);
  if (o != CTL_ACCESS_OK) {
    VLOG_WARN(api->log, "access session %s: role %s not dropped: %s", e->id,
              username, err);
    struct ctl_db_params p;
    ctl_db_params_init(&p);
    ctl_db_param_text(&p, e->id);
    ctl_db_param_text(&p, err);
    if (ctl_db_exec(db, NULL,
                    "UPDATE access_sessions SET last_error = $2, retry_at = "
                    "now() + interval '" ACCESS_STR(
                        ACCESS_RETRY_SECONDS) " seconds' WHERE id = $1::uuid",
                    &p) != CTL_DB_OK) {
      VLOG_WARN(api->log, "access session %s: last_error not saved", e->id);
    }
    return o;
  }
  enum ctl_db_status st = ctl_db_txn(db, CTL_DB_READ_COMMITTED, 0, end_txn, e);
  if (st != CTL_DB_OK) {
    *out_db = st;
    snprintf(err, err_len, "%s", ctl_db_last_error(db)->message);
    return CTL_ACCESS_REFUSED;
  }
  return CTL_ACCESS_OK;
}

/* sweep_db ends up to ACCESS_SWEEP_BATCH sessions past their expiry,
 * using |db| (no transaction open). Returns how many it found due; errors
 * are logged and the next sweep tries again. */
static int sweep_db(struct ctl_api *api, struct ctl_db *db) {
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "SELECT s.id, s.username, c.conninfo FROM access_sessions s "
      "JOIN access_target_secrets c ON c.target = s.target "
      "WHERE s.state IN ('opening', 'active') AND s.expires_at <= now() "
      "AND (s.retry_at IS NULL OR s.retry_at <= now()) "
      "ORDER BY s.expires_at LIMIT " ACCESS_STR(ACCESS_SWEEP_BATCH),
      NULL);
  if (st != CTL_DB_OK) {
    return 0;
  }
  int n = PQntuples(res);
  for (int i = 0; i < n; i++) {
    char err[512] = "";
    enum ctl_db_status dst = CTL_DB_OK;
    struct session_end e = {
      .id = PQgetvalue(res, i, 0),
      .state = "expired",
    };
    if (session_end(api, db, &dst, err, sizeof(err), &e, PQgetvalue(res, i, 1),
                    PQgetvalue(res, i, 2)) == CTL_ACCESS_OK &&
        e.ended) {
      VLOG_INFO(api->log, "access session %s expired; role %s dropped", e.id,
                PQgetvalue(res, i, 1));
    }
  }
  PQclear(res);
  return n;
}

/* sweep: the request-time sweep (one batch) on the request's handle. */
static void sweep(struct api_req *r) {
  (void)sweep_db(r->api, r->db);
}

/* The background sweep: a thread with its own database handle that runs
 * sweep_db every ACCESS_SWEEP_INTERVAL_MS (batches back to back while
 * sessions are due), so roles are dropped and connections ended at expiry
 * even when nobody calls /access. */
struct ctl_access_worker {
  struct ctl_api *api; /* borrowed */
  struct ctl_db *db;   /* the worker's own handle */
  pthread_t thread;
  pthread_mutex_t mu; /* guards stop and cv waits */
  pthread_cond_t cv;  /* signalled on stop */
  int stop;           /* 1: exit */
};

static void *access_worker_main(void *arg) {
  struct ctl_access_worker *w = arg;
  pthread_mutex_lock(&w->mu);
  while (!w->stop) {
    pthread_mutex_unlock(&w->mu);
    int due = sweep_db(w->api, w->db);
    pthread_mutex_lock(&w->mu);
    if (due >= ACCESS_SWEEP_BATCH || w->stop) {
      continue; /* more may be due */
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ACCESS_SWEEP_INTERVAL_MS / 1000;
    until.tv_nsec += (long)(ACCESS_SWEEP_INTERVAL_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    while (!w->stop &&
           pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT) {
    }
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

struct ctl_access_worker *ctl_access_worker_start(struct ctl_api *api) {
  struct ctl_access_worker *w = vigil_calloc(1, sizeof(*w));
  int mu_ok = 0;
  int cv_ok = 0;
  if (w == NULL) {
    VLOG_ERROR(api->log, "access: out of memory");
    return NULL;
  }
  w->api = api;
  w->db = ctl_db_new(api->db_opts);
  if (w->db == NULL) {
    VLOG_ERROR(api->log, "access: out of memory");
    goto err;
  }
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  mu_ok = pthread_mutex_init(&w->mu, NULL) == 0;
  cv_ok = mu_ok && pthread_cond_init(&w->cv, &ca) == 0;
  pthread_condattr_destroy(&ca);
  if (!cv_ok || pthread_create(&w->thread, NULL, access_worker_main, w) != 0) {
    VLOG_ERROR(api->log, "access: cannot start the expiry sweep");
    goto err;
  }
  return w;

err:
  if (cv_ok) {
    pthread_cond_destroy(&w->cv);
  }
  if (mu_ok) {
    pthread_mutex_destroy(&w->mu);
  }
  ctl_db_free(w->db);
  vigil_free(w);
  return NULL;
}

void ctl_access_worker_stop(struct ctl_access_worker *w) {
  if (w == NULL) {
    return;
  }
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  ctl_db_free(w->db);
  vigil_free(w);
}

/* ==========================================================================
 * Reading sessions
 * ========================================================================== */

#define SESSION_COLS                                                         \
  "s.id, s.target, s.role, s.username, s.state, s.reason, s.method, "        \
  "p.name, " API_TS("s.created_at") ", " API_TS("s.expires_at") ", " API_TS( \
      "s.ended_at") ", s.last_error "
#define SESSION_FROM \
  "FROM access_sessions s JOIN principals p ON p.id = s.principal "

static json_t *session_json(const PGresult *res, int i) {
  return json_pack(
      "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:s,s:s,s:s,s:s?,s:s?}", "id",
      PQgetvalue(res, i, 0), "target_type", "postgres", "target_id",
      PQgetvalue(res, i, 1), "role", PQgetvalue(res, i, 2), "username",
      PQgetvalue(res, i, 3), "state", PQgetvalue(res, i, 4), "reason",
      PQgetvalue(res, i, 5), "method",
      PQgetisnull(res, i, 6) ? NULL : PQgetvalue(res, i, 6), "principal",
      PQgetvalue(res, i, 7), "created_at", PQgetvalue(res, i, 8), "expires_at",
      PQgetvalue(res, i, 9), "ended_at",
      PQgetisnull(res, i, 10) ? NULL : PQgetvalue(res, i, 10), "last_error",
      PQgetisnull(res, i, 11) ? NULL : PQgetvalue(res, i, 11));
}

/* session_load fills |*out| with session |id| visible to the caller.
 * Returns 1, 0 when not found, -1 after answering a database error. */
static int session_load(struct api_req *r, json_t **out, const char *id) {
  *out = NULL;
  if (!api_uuid_valid(id)) {
    return 0;
  }
  PGresult *res = NULL;
  int found = api_fetch_one(
      r, &res,
      "SELECT " SESSION_COLS SESSION_FROM
      "WHERE s.id = $1::uuid AND ($2::uuid IS NULL OR s.tenant = $2::uuid)",
      id);
  if (found == 1) {
    *out = session_json(res, 0);
    PQclear(res);
  }
  return found;
}

static void h_sessions_list(struct api_req *r, const char *arg) {
  (void)arg;
  if (!api_need(r, ACCESS_READ_ROLES)) {
    return;
  }
  sweep(r);
  const char *state = api_query(r, "state");
  if (state != NULL && strcmp(state, "opening") != 0 &&
      strcmp(state, "active") != 0 && strcmp(state, "expired") != 0 &&
      strcmp(state, "revoked") != 0 && strcmp(state, "failed") != 0) {
    api_error(r, 400, "bad_request",
              "state: one of opening, active, expired, revoked, failed");
    return;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, api_scope(r));
  ctl_db_param_text(&p, state);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      r->db, &res,
      "SELECT " SESSION_COLS SESSION_FROM
      "WHERE ($1::uuid IS NULL OR s.tenant = $1::uuid) "
      "AND ($2::text IS NULL OR s.state = $2) "
      "ORDER BY s.created_at DESC, s.id LIMIT " ACCESS_STR(ACCESS_LIST_MAX),
      &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return;
  }
  json_t *items = json_array();
  for (int i = 0; i < PQntuples(res); i++) {
    json_array_append_new(items, session_json(res, i));
  }
  PQclear(res);
  api_json(r, 200, json_pack("{s:o}", "items", items));
}

static void h_sessions_get(struct api_req *r, const char *arg) {
  if (!api_need(r, ACCESS_READ_ROLES)) {
    return;
  }
  sweep(r);
  json_t *out = NULL;
  int found = session_load(r, &out, arg);
  if (found == 1) {
    api_json(r, 200, out);
  } else if (found == 0) {
    api_error(r, 404, "not_found", "no access session \"%s\"", arg);
  }
}

static void h_sessions_revoke(struct api_req *r, const char *arg) {
  if (!api_need(r, ACCESS_OPEN_ROLES)) {
    return;
  }
  sweep(r);
  json_t *out = NULL;
  int found = session_load(r, &out, arg);
  if (found != 1) {
    if (found == 0) {
      api_error(r, 404, "not_found", "no access session \"%s\"", arg);
    }
    return;
  }
  const char *state = json_string_value(json_object_get(out, "state"));
  if (state == NULL ||
      (strcmp(state, "active") != 0 && strcmp(state, "opening") != 0)) {
    api_error(r, 409, "conflict", "access session %s is already %s", arg,
              state != NULL ? state : "ended");
    json_decref(out);
    return;
  }
  json_decref(out);
  out = NULL;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, arg);
  PGresult *res = NULL;
  enum ctl_db_status st =
      ctl_db_exec(r->db, &res,
                  "SELECT s.username, c.conninfo FROM access_sessions s "
                  "JOIN access_target_secrets c ON c.target = s.target "
                  "WHERE s.id = $1::uuid",
                  &p);
  if (st != CTL_DB_OK || PQntuples(res) != 1) {
    PQclear(res);
    if (st == CTL_DB_OK) {
      api_error(r, 404, "not_found", "no access session \"%s\"", arg);
    } else {
      api_db_error(r, st);
    }
    return;
  }
  char err[512] = "";
  enum ctl_db_status dst = CTL_DB_OK;
  struct session_end e = {
    .id = arg,
    .state = "revoked",
    .principal = r->who.id,
  };
  enum ctl_access_outcome o =
      session_end(r->api, r->db, &dst, err, sizeof(err), &e,
                  PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
  PQclear(res);
  if (o == CTL_ACCESS_OK && !e.ended) {
    api_error(r, 409, "conflict", "access session %s already ended", arg);
    return;
  }
  if (o != CTL_ACCESS_OK) {
    if (dst != CTL_DB_OK) {
      api_db_error(r, dst);
    } else {
      api_error(r, 503, "unavailable",
                "the role could not be dropped on the target (the session "
                "stays open until it can; VALID UNTIL still ends logins at "
                "expiry): %s",
                err);
    }
    return;
  }
  if (session_load(r, &out, arg) == 1) {
    api_json(r, 200, out);
  } else if (r->status == 0) {
    api_error(r, 500, "internal", "the revoked session vanished");
  }
}

/* ==========================================================================
 * Opening a session
 * ========================================================================== */

struct session_new {
  struct api_req *r;
  const char *id;         /* session uuid */
  const uint8_t *pw_hash; /* 32 bytes */
  const char *target_id;
  const char *role;
  const char *reason;
  const char *method;
  const char *username;
  const char *expires_at; /* RFC 3339 */
  int64_t ttl;
  int activated; /* 1: the row was still opening */
};

static enum ctl_db_status activate_txn(struct ctl_db *db, void *arg) {
  struct session_new *n = arg;
  n->activated = 0;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, n->id);
  ctl_db_param_bytes(&p, n->pw_hash, 32);
  PGresult *res = NULL;
  enum ctl_db_status st =
      ctl_db_exec(db, &res,
                  "UPDATE access_sessions SET state = 'active', "
                  "password_sha256 = $2::bytea WHERE id = $1::uuid AND "
                  "state = 'opening' RETURNING tenant",
                  &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    return CTL_DB_ABORTED;
  }
  n->activated = 1;
  char tenant[37] = "";
  if (!PQgetisnull(res, 0, 0)) {
    snprintf(tenant, sizeof(tenant), "%s", PQgetvalue(res, 0, 0));
  }
  PQclear(res);
  char subject[64];
  snprintf(subject, sizeof(subject), "access_session:%s", n->id);
  /* Never the password. */
  json_t *d =
      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s?,s:b}", "target_type",
                "postgres", "target_id", n->target_id, "role", n->role,
                "reason", n->reason, "principal", n->r->who.name, "username",
                n->username, "expires_at", n->expires_at, "ttl_seconds",
                (json_int_t)n->ttl, "method", n->method, "method_verified", 0);
  st = api_audit_take(db, NULL, "pam.session.started", n->r->who.id,
                      tenant[0] != '\0' ? tenant : NULL, subject, d);
  return st;
}

/* mark_failed records that session |id| never started (best effort). */
static void mark_failed(struct api_req *r, const char *id, const char *why) {
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, id);
  ctl_db_param_text(&p, why);
  if (ctl_db_exec(r->db, NULL,
                  "UPDATE access_sessions SET state = 'failed', ended_at = "
                  "now(), last_error = $2 WHERE id = $1::uuid AND state = "
                  "'opening'",
                  &p) != CTL_DB_OK) {
    VLOG_WARN(r->api->log, "access session %s: not marked failed: %s", id,
              ctl_db_last_error(r->db)->message);
  }
}

/* A target as the open handler needs it. */
struct target_row {
  PGresult *res;        /* owns the strings below */
  const char *conninfo; /* admin conninfo */
  const char *database; /* hint dbname, or NULL */
  json_t *roles;        /* the role map (owned) */
};

static void target_row_cleanup(struct target_row *t) {
  PQclear(t->res);
  json_decref(t->roles);
  memset(t, 0, sizeof(*t));
}

/* target_load: 1 found, 0 not found, -1 after answering. */
static int target_load(struct api_req *r, struct target_row *t,
                       const char *id) {
  memset(t, 0, sizeof(*t));
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, id);
  enum ctl_db_status st = ctl_db_exec(
      r->db, &t->res,
      "SELECT c.conninfo, t.database, t.roles::text FROM access_targets t "
      "JOIN access_target_secrets c ON c.target = t.id WHERE t.id = $1",
      &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return -1;
  }
  if (PQntuples(t->res) != 1) {
    return 0;
  }
  t->conninfo = PQgetvalue(t->res, 0, 0);
  t->database = PQgetisnull(t->res, 0, 1) ? NULL : PQgetvalue(t->res, 0, 1);
  t->roles = json_loads(PQgetvalue(t->res, 0, 2), 0, NULL);
  if (!json_is_object(t->roles)) {
    api_error(r, 500, "internal", "target %s has a malformed role map", id);
    return -1;
  }
  return 1;
}

/* allowed_roles writes the target's session role names, comma separated. */
static void allowed_roles(char *out, size_t out_len, json_t *roles) {
  const char *key;
  json_t *v;
  out[0] = '\0';
  json_object_foreach(roles, key, v) {
    size_t used = strlen(out);
    if (used + 1 >= out_len) {
      break;
    }
    snprintf(out + used, out_len - used, "%s%s", used ? ", " : "", key);
  }
}

static void h_sessions_open(struct api_req *r, const char *arg) {
  (void)arg;
  if (!api_need(r, ACCESS_OPEN_ROLES)) {
    return;
  }
  json_t *o = api_body_object(r);
  if (o == NULL) {
    return;
  }
  struct target_row t = { 0 };
  PGresult *res = NULL;
  const char *target_type = NULL;
  const char *target_id = NULL;
  const char *role = NULL;
  const char *reason = NULL;
  const char *method = NULL;
  const char *payload = NULL;
  int64_t ttl = ACCESS_TTL_DEFAULT;
  uint8_t raw[32];
  char username[32] = "";
  char password[64] = "";
  uint8_t pw_hash[32];
  char id[37] = "";
  char expires_at[40] = "";
  char valid_until[64] = "";
  char hint[512] = "";
  char err[512] = "";
  const char *grants[CTL_ACCESS_MAX_GRANTS];
  size_t num_grants = 0;
  if (!api_get_string(r, &target_type, o, "target_type", 1, 1, 32) ||
      !api_get_string(r, &target_id, o, "target_id", 1, 1, 63) ||
      !api_get_string(r, &role, o, "role", 1, 1, 32) ||
      !api_get_string(r, &reason, o, "reason", 1, 1, ACCESS_REASON_MAX) ||
      !api_get_string(r, &method, o, "method", 0, 1, 64) ||
      !api_get_string(r, &payload, o, "payload_base64", 0, 1,
                      ACCESS_PAYLOAD_MAX) ||
      !api_get_int(r, &ttl, o, "ttl_seconds", r->api->cfg->access_min_ttl,
                   ACCESS_TTL_MAX)) {
    goto done;
  }
  if (strcmp(target_type, "postgres") != 0) {
    api_error(r, 422, "invalid_field",
              "field \"target_type\": \"%s\" is not supported (only "
              "\"postgres\")",
              target_type);
    goto done;
  }
  sweep(r);
  int found = target_load(r, &t, target_id);
  if (found < 0) {
    goto done;
  }
  if (found == 0) {
    api_error(r, 422, "invalid_field",
              "field \"target_id\": no postgres access target \"%s\"",
              target_id);
    goto done;
  }
  json_t *map = json_object_get(t.roles, role);
  if (!json_is_array(map) || json_array_size(map) == 0 ||
      json_array_size(map) > CTL_ACCESS_MAX_GRANTS) {
    char allowed[512];
    allowed_roles(allowed, sizeof(allowed), t.roles);
    api_error(r, 422, "invalid_field",
              "field \"role\": \"%s\" is not a role of target \"%s\" "
              "(allowed: %s)",
              role, target_id, allowed);
    goto done;
  }
  for (size_t i = 0; i < json_array_size(map); i++) {
    const char *g = json_string_value(json_array_get(map, i));
    if (g == NULL) {
      api_error(r, 500, "internal", "target %s: malformed role map", target_id);
      goto done;
    }
    grants[num_grants++] = g;
  }
  /* Username and password from the kernel's CSPRNG. */
  if (getrandom(raw, 8, 0) != 8) {
    api_error(r, 500, "internal", "no randomness");
    goto done;
  }
  memcpy(username, "vigil_s_", 8);
  vigil_hex_encode(username + 8, raw, 8);
  username[24] = '\0';
  if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
    api_error(r, 500, "internal", "no randomness");
    goto done;
  }
  size_t pw_len = vigil_b64url_encode(password, raw, sizeof(raw));
  password[pw_len] = '\0';
  if (!vigil_sha256(pw_hash, password, pw_len)) {
    api_error(r, 500, "internal", "cannot hash the password");
    goto done;
  }
  /* (1) the session row, committed as opening. */
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, target_id);
  ctl_db_param_text(&p, role);
  ctl_db_param_text(&p, username);
  ctl_db_param_text(&p, reason);
  ctl_db_param_text(&p, method);
  ctl_db_param_text(&p, r->who.id);
  ctl_db_param_text(&p, api_scope(r));
  ctl_db_param_int64(&p, ttl);
  enum ctl_db_status st = ctl_db_exec(
      r->db, &res,
      "INSERT INTO access_sessions (target, role, username, reason, method, "
      "principal, tenant, expires_at) VALUES ($1, $2, $3, $4, $5, $6::uuid, "
      "$7::uuid, now() + make_interval(secs => $8::int)) RETURNING id, " API_TS(
          "expires_at") ", to_char(expires_at, 'YYYY-MM-DD HH24:MI:SS+00')",
      &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    goto done;
  }
  snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
  snprintf(expires_at, sizeof(expires_at), "%s", PQgetvalue(res, 0, 1));
  snprintf(valid_until, sizeof(valid_until), "%s", PQgetvalue(res, 0, 2));
  PQclear(res);
  res = NULL;
  /* (2) the role on the target. */
  enum ctl_access_outcome ao = ctl_access_role_create(
      err, sizeof(err), r->api->log, t.conninfo, username, password,
      valid_until, grants, num_grants);
  if (ao != CTL_ACCESS_OK) {
    mark_failed(r, id, err);
    if (ao == CTL_ACCESS_UNREACHABLE) {
      api_error(r, 503, "unavailable", "access target \"%s\": %s", target_id,
                err);
    } else {
      api_error(r, 422, "target_refused", "access target \"%s\": %s", target_id,
                err);
    }
    goto done;
  }
  /* (3) active + audit, then answer. */
  struct session_new n = {
    .r = r,
    .id = id,
    .pw_hash = pw_hash,
    .target_id = target_id,
    .role = role,
    .reason = reason,
    .method = method,
    .username = username,
    .expires_at = expires_at,
    .ttl = ttl,
  };
  st = ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, activate_txn, &n);
  if (st != CTL_DB_OK) {
    char derr[512] = "";
    if (ctl_access_role_drop(derr, sizeof(derr), r->api->log, t.conninfo,
                             username) != CTL_ACCESS_OK) {
      VLOG_WARN(r->api->log, "access session %s: role %s left until expiry: %s",
                id, username, derr);
    } else {
      mark_failed(r, id, "not recorded; role dropped");
    }
    if (st == CTL_DB_ABORTED && !n.activated) {
      api_error(r, 409, "conflict", "access session %s ended before it started",
                id);
    } else {
      api_db_error(r, st);
    }
    goto done;
  }
  if (!ctl_access_conninfo_hint(hint, sizeof(hint), t.conninfo, t.database,
                                username)) {
    snprintf(hint, sizeof(hint), "user=%s", username);
  }
  /* The only time the password is shown. */
  api_json(r, 201,
           json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s}}", "id", id,
                     "state", "active", "target_type", "postgres", "target_id",
                     target_id, "role", role, "expires_at", expires_at,
                     "credential", "username", username, "password", password,
                     "conninfo_hint", hint));

done:
  memset(raw, 0, sizeof(raw));
  memset(password, 0, sizeof(password));
  PQclear(res);
  target_row_cleanup(&t);
  json_decref(o);
}

/* ==========================================================================
 * Targets
 * ========================================================================== */

struct target_new {
  struct api_req *r;
  const char *id;
  const char *conninfo;
  const char *database;
  const char *roles_text; /* the role map as JSON text */
};

static enum ctl_db_status target_txn(struct ctl_db *db, void *arg) {
  struct target_new *n = arg;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, n->id);
  ctl_db_param_text(&p, n->roles_text);
  ctl_db_param_text(&p, n->database);
  ctl_db_param_text(&p, n->r->who.id);
  enum ctl_db_status st =
      ctl_db_exec(db, NULL,
                  "INSERT INTO access_targets (id, type, roles, database, "
                  "created_by) VALUES ($1, 'postgres', $2::jsonb, $3, "
                  "$4::uuid)",
                  &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, n->id);
  ctl_db_param_text(&p, n->conninfo);
  st = ctl_db_exec(db, NULL,
                   "INSERT INTO access_target_secrets (target, conninfo) "
                   "VALUES ($1, $2)",
                   &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  char subject[96];
  snprintf(subject, sizeof(subject), "access_target:%s", n->id);
  /* Never the conninfo (it may hold a password). */
  json_t *roles = json_loads(n->roles_text, 0, NULL);
  json_t *d = json_pack("{s:s,s:s,s:o?,s:s?}", "id", n->id, "type", "postgres",
                        "roles", roles, "database", n->database);
  st = api_audit_take(db, NULL, "access.target.created", n->r->who.id, NULL,
                      subject, d);
  return st;
}

static void h_targets_create(struct api_req *r, const char *arg) {
  (void)arg;
  if (!api_need(r, CTL_ROLE_ADMIN)) {
    return;
  }
  json_t *o = api_body_object(r);
  if (o == NULL) {
    return;
  }
  const char *id = NULL;
  const char *type = NULL;
  const char *conninfo = NULL;
  const char *database = NULL;
  char *roles_text = NULL;
  const char *all_grants[CTL_ACCESS_MAX_GRANTS * 4];
  size_t num_all = 0;
  char err[512] = "";
  if (!api_get_string(r, &id, o, "id", 1, 1, 63) ||
      !api_get_string(r, &type, o, "type", 1, 1, 32) ||
      !api_get_string(r, &conninfo, o, "conninfo", 1, 1, ACCESS_CONNINFO_MAX) ||
      !api_get_string(r, &database, o, "database", 0, 1, 63)) {
    goto done;
  }
  if (!target_id_ok(id)) {
    api_error(r, 422, "invalid_field",
              "field \"id\": [a-z0-9][a-z0-9._-]{0,62}");
    goto done;
  }
  if (strcmp(type, "postgres") != 0) {
    api_error(r, 422, "invalid_field",
              "field \"type\": \"%s\" is not supported (only \"postgres\")",
              type);
    goto done;
  }
  char *perr = NULL;
  PQconninfoOption *copts = PQconninfoParse(conninfo, &perr);
  if (copts == NULL) {
    PQfreemem(perr);
    api_error(r, 422, "invalid_field",
              "field \"conninfo\": not a libpq URL or key=value string");
    goto done;
  }
  PQconninfoFree(copts);
  json_t *roles = json_object_get(o, "roles");
  if (!json_is_object(roles) || json_object_size(roles) == 0 ||
      json_object_size(roles) > ACCESS_MAX_ROLES) {
    api_error(r, 422, "invalid_field",
              "field \"roles\": an object of 1..%d role names, each mapped "
              "to an array of server roles",
              ACCESS_MAX_ROLES);
    goto done;
  }
  const char *key;
  json_t *v;
  json_object_foreach(roles, key, v) {
    if (!role_name_ok(key)) {
      api_error(r, 422, "invalid_field",
                "field \"roles\": \"%s\" is not a role name "
                "([a-z][a-z0-9_]{0,31})",
                key);
      goto done;
    }
    if (!json_is_array(v) || json_array_size(v) == 0 ||
        json_array_size(v) > CTL_ACCESS_MAX_GRANTS) {
      api_error(r, 422, "invalid_field",
                "field \"roles\": \"%s\" must map to 1..%d server roles", key,
                CTL_ACCESS_MAX_GRANTS);
      goto done;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
      const char *g = json_string_value(json_array_get(v, i));
      if (g == NULL || g[0] == '\0' || strlen(g) > CTL_ACCESS_NAME_MAX) {
        api_error(r, 422, "invalid_field",
                  "field \"roles\": \"%s\"[%zu] must be a role name of 1..%d "
                  "bytes",
                  key, i, CTL_ACCESS_NAME_MAX);
        goto done;
      }
      if (num_all < sizeof(all_grants) / sizeof(all_grants[0])) {
        all_grants[num_all++] = g;
      }
    }
  }
  /* Refuse what cannot work now rather than at the first session. */
  enum ctl_access_outcome ao = ctl_access_check(err, sizeof(err), r->api->log,
                                                conninfo, all_grants, num_all);
  if (ao != CTL_ACCESS_OK) {
    api_error(r, 422, "invalid_field", "field \"conninfo\": %s", err);
    goto done;
  }
  roles_text = json_dumps(roles, JSON_COMPACT | JSON_SORT_KEYS);
  if (roles_text == NULL) {
    api_error(r, 500, "internal", "out of memory");
    goto done;
  }
  struct target_new n = {
    .r = r,
    .id = id,
    .conninfo = conninfo,
    .database = database,
    .roles_text = roles_text,
  };
  enum ctl_db_status st =
      ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, target_txn, &n);
  if (st == CTL_DB_CONFLICT) {
    api_error(r, 409, "conflict", "access target \"%s\" exists", id);
    goto done;
  }
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    goto done;
  }
  api_json(r, 201,
           json_pack("{s:s,s:s,s:O,s:s?}", "id", id, "type", "postgres",
                     "roles", roles, "database", database));

done:
  free(roles_text);
  json_decref(o);
}

static void h_targets_list(struct api_req *r, const char *arg) {
  (void)arg;
  if (!api_need(r, ACCESS_READ_ROLES)) {
    return;
  }
  PGresult *res = NULL;
  enum ctl_db_status st =
      ctl_db_exec(r->db, &res,
                  "SELECT id, type, roles::text, database, " API_TS(
                      "created_at") " FROM access_targets ORDER BY id "
                                    "LIMIT 1000",
                  NULL);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return;
  }
  json_t *items = json_array();
  for (int i = 0; i < PQntuples(res); i++) {
    json_t *roles = json_loads(PQgetvalue(res, i, 2), 0, NULL);
    json_array_append_new(
        items, json_pack("{s:s,s:s,s:o,s:s?,s:s}", "id", PQgetvalue(res, i, 0),
                         "type", PQgetvalue(res, i, 1), "roles",
                         roles != NULL ? roles : json_object(), "database",
                         PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3),
                         "created_at", PQgetvalue(res, i, 4)));
  }
  PQclear(res);
  api_json(r, 200, json_pack("{s:o}", "items", items));
}

const struct api_route api_access_routes[] = {
  { "POST", "access/targets", h_targets_create, 0 },
  { "GET", "access/targets", h_targets_list, 0 },
  { "POST", "access/sessions", h_sessions_open, 0 },
  { "GET", "access/sessions", h_sessions_list, 0 },
  { "GET", "access/sessions/*", h_sessions_get, 0 },
  { "POST", "access/sessions/*/revoke", h_sessions_revoke, 0 },
};
const size_t api_access_num_routes =
    sizeof(api_access_routes) / sizeof(api_access_routes[0]);
