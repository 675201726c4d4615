/* ctl_api_approval.c: dual control and break-glass (issue 5; the contract
 * is docs/api.md and docs/dual-control.md; the rules the database enforces
 * are in migrations/0004_approvals.sql).
 *
 *   PUT/GET /tenants/{t}/dual-control   the tenant's policy (PUT: admin)
 *   POST    /identities/{id}/approvals  open an approval request
 *   GET     /approvals, /approvals/{id} list and show requests
 *   POST    /approvals/{id}/approve     decide (approver role, never the
 *   POST    /approvals/{id}/deny        requester: 403 self_approval)
 *   POST    /break-glass/credentials    mint a break-glass principal (admin)
 *   GET     /reconciliations            break-glass uses to review
 *   POST    /reconciliations/{id}/review  by another principal
 *
 * api_approval_gate is what issue, revoke and incident executions call
 * before they change anything. It consumes an approval in its own
 * transaction, before the action runs: a consumed approval is spent even
 * if the action then fails (an approval authorises one attempt, it does
 * not travel with the action's outcome), which keeps the action's own
 * transaction free of dual-control logic and makes a retry ask again.
 *
 * Expiry is lazy: every read or decision first marks what has expired (in
 * batches, each with its approval.expired audit event), and lists compute
 * the status from expires_at as well, so an expired approval is shown as
 * such even before the sweep has run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "ctl_api_internal.h"
#include "ctl_audit.h"
#include "vigil/keyspace.h"

/* Bounds on what callers send. */
#define APPROVAL_TTL_DEFAULT 3600         /* seconds */
#define APPROVAL_TTL_MAX     86400        /* one day (also a CHECK) */
#define BG_TTL_DEFAULT       (30 * 86400) /* break-glass token life */
#define BG_TTL_MAX           (366 * 86400)
#define BG_REASON_MAX        512 /* X-Vigil-Break-Glass */
#define NOTE_MAX             1024
#define LIST_LIMIT_DEFAULT   100
#define LIST_LIMIT_MAX       500
#define EXPIRE_BATCH         100

#define BREAK_GLASS_HEADER "X-Vigil-Break-Glass"

/* ==========================================================================
 * Small helpers
 * ========================================================================== */

/* The three gated actions and their policy columns. */
static const struct {
  const char *action; /* stored name */
  const char *shorthand;
  int column; /* index in the policy SELECT */
} actions[] = {
  { "certificate.issue", "issue", 0 },
  { "certificate.revoke", "revoke", 1 },
  { "incident.execute", "execute", 2 },
};

/* action_find maps "certificate.revoke" or "revoke" to its row; -1 if
 * neither. */
static int action_find(const char *s) {
  for (size_t i = 0; s != NULL && i < sizeof(actions) / sizeof(actions[0]);
       i++) {
    if (strcmp(s, actions[i].action) == 0 ||
        strcmp(s, actions[i].shorthand) == 0) {
      return (int)i;
    }
  }
  return -1;
}

/* value: the text at |row|, |col|, or NULL for SQL NULL. */
static const char *value(const PGresult *res, int row, int col) {
  return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* printable: |s| holds no control characters (a header or note shown to
 * operators later). */
static int printable(const char *s) {
  for (; *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;
    if (c < 0x20 || c == 0x7f) {
      return 0;
    }
  }
  return 1;
}

/* query_limit parses ?limit= into |out| (default LIST_LIMIT_DEFAULT).
 * Returns 1, or 0 after answering 400. */
static int query_limit(struct api_req *r, int64_t *out) {
  *out = LIST_LIMIT_DEFAULT;
  return api_query_int(r, out, "limit", 1, LIST_LIMIT_MAX);
}

/* note_body parses the optional body of a decision or review: an object
 * (an empty body counts as {}) with an optional printable "note" of at
 * most NOTE_MAX bytes, set in |*out_note| (NULL when absent; borrowed
 * from the returned object). Returns the object (the caller decrefs it),
 * or NULL after answering 400 or 422. */
static json_t *note_body(struct api_req *r, const char **out_note) {
  *out_note = NULL;
  json_t *o = NULL;
  if (r->body == NULL || r->body_len == 0) {
    o = json_object();
    if (o == NULL) {
      api_error(r, 500, "internal", "out of memory");
      return NULL;
    }
  } else {
    o = api_body_object(r);
    if (o == NULL) {
      return NULL;
    }
  }
  if (!api_get_string(r, out_note, o, "note", 0, 1, NOTE_MAX)) {
    goto err;
  }
  if (*out_note != NULL && !printable(*out_note)) {
    api_error(r, 422, "invalid_field",
              "field \"note\": control characters are not allowed");
    goto err;
  }
  return o;

err:
  *out_note = NULL;
  json_decref(o);
  return NULL;
}

/* get_bool reads an optional boolean field: *out is -1 when absent, else
 * 0/1. Returns 1, or 0 after answering 422. */
static int get_bool(struct api_req *r, int *out, json_t *obj,
                    const char *name) {
  json_t *v = json_object_get(obj, name);
  *out = -1;
  if (v == NULL || json_is_null(v)) {
    return 1;
  }
  if (!json_is_boolean(v)) {
    api_error(r, 422, "invalid_field", "field \"%s\": must be true or false",
              name);
    return 0;
  }
  *out = json_is_true(v) ? 1 : 0;
  return 1;
}

/* ==========================================================================
 * Expiry (lazy, audited)
 * ========================================================================== */

static enum ctl_db_status expire_txn(struct ctl_db *db, void *arg) {
  (void)arg;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_int64(&p, EXPIRE_BATCH);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "UPDATE approvals SET status = 'expired' WHERE id IN ("
      " SELECT id FROM approvals WHERE status IN ('pending', 'approved')"
      " AND expires_at <= now() ORDER BY expires_at LIMIT $1::int"
      " FOR UPDATE SKIP LOCKED) "
      "RETURNING id, tenant, identity, action, requester",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  for (int i = 0; i < PQntuples(res) && st == CTL_DB_OK; i++) {
    char subject[64];
    snprintf(subject, sizeof(subject), "approval:%s", PQgetvalue(res, i, 0));
    json_t *d =
        json_pack("{s:s,s:s,s:s}", "action", PQgetvalue(res, i, 3), "identity",
                  PQgetvalue(res, i, 2), "requester", PQgetvalue(res, i, 4));
    st = api_audit_take(db, NULL, "approval.expired", NULL,
                        PQgetvalue(res, i, 1), subject, d);
  }
  PQclear(res);
  return st;
}

/* expire_sweep marks expired approvals (one batch). Failures are logged
 * and ignored: readers compute the status from expires_at anyway, and the
 * database refuses to approve or consume an expired request. */
static void expire_sweep(struct api_req *r) {
  enum ctl_db_status st =
      ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, expire_txn, NULL);
  if (st != CTL_DB_OK) {
    VLOG_WARN(r->api->log, "approval expiry sweep: %s",
              ctl_db_last_error(r->db)->message);
  }
}

/* ==========================================================================
 * Rows as JSON
 * ========================================================================== */

#define APPROVAL_STATUS                                                      \
  "CASE WHEN a.status IN ('pending', 'approved') AND a.expires_at <= now() " \
  "THEN 'expired' ELSE a.status END"

#define APPROVAL_SELECT \
  "SELECT a.id, t.name, a.identity, a.action, a.requester, rp.name, "         \
  "a.reason, " APPROVAL_STATUS ", a.approver, ap.name, " API_TS(              \
      "a.decided_at") ", " API_TS("a.created_at") ", " API_TS("a.expires_at") \
      ", " API_TS("a.consumed_at")                                            \
      " FROM approvals a JOIN tenants t ON t.id = a.tenant "                  \
      "JOIN principals rp ON rp.id = a.requester "                            \
      "LEFT JOIN principals ap ON ap.id = a.approver "

static json_t *approval_json(const PGresult *res, int i) {
  return json_pack(
      "{s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:s,s:s?,s:s?,s:s?,s:s,s:s,s:s?}", "id",
      PQgetvalue(res, i, 0), "tenant", PQgetvalue(res, i, 1), "identity",
      PQgetvalue(res, i, 2), "action", PQgetvalue(res, i, 3), "requester",
      PQgetvalue(res, i, 4), "requester_name", PQgetvalue(res, i, 5), "reason",
      value(res, i, 6), "status", PQgetvalue(res, i, 7), "approver",
      value(res, i, 8), "approver_name", value(res, i, 9), "decided_at",
      value(res, i, 10), "created_at", PQgetvalue(res, i, 11), "expires_at",
      PQgetvalue(res, i, 12), "consumed_at", value(res, i, 13));
}

/* answer_approval answers approval |id| (visible to the caller) with
 * |status|. */
static void answer_approval(struct api_req *r, unsigned status,
                            const char *id) {
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, id);
  ctl_db_param_text(&p, api_scope(r));
  PGresult *res = NULL;
  enum ctl_db_status st =
      ctl_db_exec(r->db, &res,
                  APPROVAL_SELECT
                  "WHERE a.id = $1::uuid AND ($2::uuid IS NULL OR "
                  "a.tenant = $2::uuid)",
                  &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    api_error(r, 404, "not_found", "no approval \"%s\"", id);
    return;
  }
  json_t *o = approval_json(res, 0);
  PQclear(res);
  api_json(r, status, o);
}

#define RECON_SELECT \
  "SELECT c.id, t.name, c.principal, pp.name, c.action, c.identity, "      \
  "c.reason, c.audit_event, c.status, c.reviewer, rp.name, " API_TS(       \
      "c.reviewed_at") ", c.review_note, " API_TS("c.created_at")          \
      " FROM reconciliations c JOIN tenants t ON t.id = c.tenant "         \
      "JOIN principals pp ON pp.id = c.principal "                         \
      "LEFT JOIN principals rp ON rp.id = c.reviewer "

static json_t *recon_json(const PGresult *res, int i) {
  int64_t ev = 0;
  if (!ctl_db_value_int64(&ev, res, i, 7)) {
    ev = 0;
  }
  return json_pack(
      "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s?,s:s?,s:s?,s:s?,s:s}", "id",
      PQgetvalue(res, i, 0), "tenant", PQgetvalue(res, i, 1), "principal",
      PQgetvalue(res, i, 2), "principal_name", PQgetvalue(res, i, 3), "action",
      PQgetvalue(res, i, 4), "identity", PQgetvalue(res, i, 5), "reason",
      PQgetvalue(res, i, 6), "audit_event", (json_int_t)ev, "status",
      PQgetvalue(res, i, 8), "reviewer", value(res, i, 9), "reviewer_name",
      value(res, i, 10), "reviewed_at", value(res, i, 11), "review_note",
      value(res, i, 12), "created_at", PQgetvalue(res, i, 13));
}

/* ==========================================================================
 * The gate
 * ========================================================================== */

struct gate_txn {
  struct api_req *r;
  const char *action;
  const char *tenant;
  const char *identity;
  const char *reason; /* break-glass reason, or NULL */
  int refused;        /* break-glass: the caller holds no credential */
  char id[37];        /* consumed approval / opened reconciliation */
};

/* Break-glass: check the credential, audit the use and open the
 * reconciliation item, in one transaction. */
static enum ctl_db_status breakglass_txn(struct ctl_db *db, void *arg) {
  struct gate_txn *g = arg;
  g->refused = 0;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, g->r->who.id);
  PGresult *res = NULL;
  enum ctl_db_status st =
      ctl_db_exec(db, &res,
                  "SELECT gen_random_uuid() FROM break_glass_credentials "
                  "WHERE principal = $1::uuid AND revoked_at IS NULL",
                  &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    g->refused = 1;
    return CTL_DB_ABORTED;
  }
  snprintf(g->id, sizeof(g->id), "%s", PQgetvalue(res, 0, 0));
  PQclear(res);
  char subject[300];
  snprintf(
      subject, sizeof(subject), "%s:%s",
      strcmp(g->action, "certificate.issue") == 0 ? "identity" : "certificate",
      g->identity);
  json_t *d =
      json_pack("{s:s,s:s,s:s,s:s}", "action", g->action, "identity",
                g->identity, "reason", g->reason, "reconciliation", g->id);
  int64_t ev = 0;
  st = api_audit_take(db, &ev, "breakglass.used", g->r->who.id, g->tenant,
                      subject, d);
  if (st != CTL_DB_OK) {
    return st;
  }
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, g->id);
  ctl_db_param_text(&p, g->tenant);
  ctl_db_param_text(&p, g->r->who.id);
  ctl_db_param_text(&p, g->action);
  ctl_db_param_text(&p, g->identity);
  ctl_db_param_text(&p, g->reason);
  ctl_db_param_int64(&p, ev);
  return ctl_db_exec(db, NULL,
                     "INSERT INTO reconciliations (id, tenant, principal, "
                     "action, identity, reason, audit_event) VALUES "
                     "($1::uuid, $2::uuid, $3::uuid, $4, $5, $6, $7::bigint)",
                     &p);
}

/* Consume one approved, unexpired approval of the caller for exactly this
 * action and identity (CTL_DB_ABORTED: none). */
static enum ctl_db_status consume_txn(struct ctl_db *db, void *arg) {
  struct gate_txn *g = arg;
  g->id[0] = '\0';
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, g->tenant);
  ctl_db_param_text(&p, g->action);
  ctl_db_param_text(&p, g->identity);
  ctl_db_param_text(&p, g->r->who.id);
  PGresult *res = NULL;
  /* SKIP LOCKED: two concurrent actions never spend the same approval;
   * the second finds the next one or none. */
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "UPDATE approvals SET status = 'consumed' WHERE id = ("
      " SELECT id FROM approvals WHERE tenant = $1::uuid AND action = $2"
      " AND identity = $3 AND requester = $4::uuid AND status = 'approved'"
      " AND expires_at > now() ORDER BY decided_at, id LIMIT 1"
      " FOR UPDATE SKIP LOCKED) RETURNING id, approver",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    return CTL_DB_ABORTED;
  }
  snprintf(g->id, sizeof(g->id), "%s", PQgetvalue(res, 0, 0));
  char subject[64];
  snprintf(subject, sizeof(subject), "approval:%s", g->id);
  json_t *d = json_pack("{s:s,s:s,s:s}", "action", g->action, "identity",
                        g->identity, "approver", PQgetvalue(res, 0, 1));
  PQclear(res);
  st = api_audit_take(db, NULL, "approval.consumed", g->r->who.id, g->tenant,
                      subject, d);
  return st;
}

/* answer_required: 403 approval_required, naming the request to open. */
static void answer_required(struct api_req *r, const char *action,
                            const char *identity) {
  char msg[2048];
  snprintf(msg, sizeof(msg),
           "dual control: %s of \"%s\" needs an approval by a second "
           "person: POST /api/v1/identities/%s/approvals "
           "{\"action\":\"%s\"} and ask an approver (or `vigilctl approvals "
           "request %s --action %s`)",
           action, identity, identity, action, identity, action);
  json_t *o = json_pack("{s:{s:s,s:s,s:{s:s,s:s,s:s}}}", "error", "code",
                        "approval_required", "message", msg, "approval",
                        "action", action, "identity", identity, "request",
                        "POST /api/v1/identities/{identity}/approvals");
  api_json(r, 403, o);
}

int api_approval_gate(struct api_req *r, const char *action,
                      const char *tenant_id, const char *identity) {
  char tenant[37];
  char ident[256];
  int ai = action_find(action);
  if (ai < 0 || strchr(action, '.') == NULL || identity == NULL) {
    VLOG_ERROR(r->api->log, "approval gate: unknown action \"%s\"",
               action != NULL ? action : "(null)");
    api_error(r, 500, "internal", "internal error");
    return 0;
  }
  PGresult *res = NULL;
  struct ctl_db_params p;
  enum ctl_db_status st;
  if (tenant_id == NULL) {
    /* |identity| is a certificate id; one the caller cannot see, or that
     * does not exist, is not ours to refuse: the action answers 404. */
    if (!api_uuid_valid(identity)) {
      return 1;
    }
    ctl_db_params_init(&p);
    ctl_db_param_text(&p, identity);
    ctl_db_param_text(&p, api_scope(r));
    st = ctl_db_exec(r->db, &res,
                     "SELECT tenant, id, status FROM certificates WHERE id = "
                     "$1::uuid AND ($2::uuid IS NULL OR tenant = $2::uuid)",
                     &p);
    if (st != CTL_DB_OK) {
      api_db_error(r, st);
      return 0;
    }
    if (PQntuples(res) != 1) {
      PQclear(res);
      return 1;
    }
    /* Revoking a revoked certificate answers 409 without spending an
     * approval. */
    if (ai == 1 && strcmp(PQgetvalue(res, 0, 2), "active") != 0) {
      PQclear(res);
      return 1;
    }
    snprintf(tenant, sizeof(tenant), "%s", PQgetvalue(res, 0, 0));
    snprintf(ident, sizeof(ident), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
  } else {
    if (strlen(identity) >= sizeof(ident)) {
      api_error(r, 422, "invalid_field", "identity over 255 bytes");
      return 0;
    }
    snprintf(tenant, sizeof(tenant), "%s", tenant_id);
    snprintf(ident, sizeof(ident), "%s", identity);
  }
  const char *full = actions[ai].action;

  ctl_db_params_init(&p);
  ctl_db_param_text(&p, tenant);
  st = ctl_db_exec(r->db, &res,
                   "SELECT issue, revoke, execute FROM dual_control_policies "
                   "WHERE tenant = $1::uuid AND profile = ''",
                   &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return 0;
  }
  int required = PQntuples(res) == 1 &&
                 strcmp(PQgetvalue(res, 0, actions[ai].column), "t") == 0;
  PQclear(res);
  if (!required) {
    return 1;
  }

  struct gate_txn g = {
    .r = r, .action = full, .tenant = tenant, .identity = ident
  };
  const char *bg =
      MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, BREAK_GLASS_HEADER);
  if (bg != NULL) {
    size_t n = strlen(bg);
    if (n == 0 || n > BG_REASON_MAX || !printable(bg)) {
      api_error(r, 400, "bad_request",
                "%s: a reason of 1..%d printable characters is required",
                BREAK_GLASS_HEADER, BG_REASON_MAX);
      return 0;
    }
    g.reason = bg;
    st = ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, breakglass_txn, &g);
    if (st == CTL_DB_ABORTED && g.refused) {
      api_error(r, 403, "break_glass_refused",
                "principal \"%s\" holds no break-glass credential; without "
                "one, %s needs an approval (POST /api/v1/identities/%s/"
                "approvals)",
                r->who.name, full, ident);
      return 0;
    }
    if (st != CTL_DB_OK) {
      api_db_error(r, st);
      return 0;
    }
    VLOG_WARN(r->api->log,
              "break-glass: %s used by \"%s\" on %s (reconciliation %s)", full,
              r->who.name, ident, g.id);
    return 1;
  }
  st = ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, consume_txn, &g);
  if (st == CTL_DB_OK) {
    return 1;
  }
  if (st == CTL_DB_ABORTED) {
    answer_required(r, full, ident);
  } else {
    api_db_error(r, st);
  }
  return 0;
}

void api_health_warnings(struct api_req *r, json_t *obj) {
  if (r->db == NULL || obj == NULL) {
    return;
  }
  PGresult *res = NULL;
  if (ctl_db_exec(r->db, &res,
                  "SELECT count(*) FROM reconciliations WHERE status = 'open'",
                  NULL) != CTL_DB_OK) {
    return;
  }
  int64_t n = 0;
  int ok = PQntuples(res) == 1 && ctl_db_value_int64(&n, res, 0, 0);
  PQclear(res);
  if (!ok || n <= 0) {
    return;
  }
  char msg[128];
  snprintf(msg, sizeof(msg),
           "%lld open break-glass reconciliation item(s): GET "
           "/api/v1/reconciliations?status=open",
           (long long)n);
  json_t *w = json_object_get(obj, "warnings");
  if (w == NULL) {
    w = json_array();
    if (w == NULL || json_object_set_new(obj, "warnings", w) != 0) {
      return;
    }
  }
  if (json_is_array(w)) {
    json_array_append_new(w, json_string(msg));
  }
}

/* ==========================================================================
 * Policy
 * ========================================================================== */

struct policy_txn {
  struct api_req *r;
  const char *tenant_id;
  const char *tenant_name;
  int want[3]; /* -1: keep */
  json_t *out; /* the policy after the change */
};

static json_t *policy_json(const char *tenant, const PGresult *res) {
  int has = PQntuples(res) == 1;
  return json_pack("{s:s,s:b,s:b,s:b,s:s?,s:s?}", "tenant", tenant, "issue",
                   has && strcmp(PQgetvalue(res, 0, 0), "t") == 0, "revoke",
                   has && strcmp(PQgetvalue(res, 0, 1), "t") == 0, "execute",
                   has && strcmp(PQgetvalue(res, 0, 2), "t") == 0, "updated_at",
                   has ? value(res, 0, 3) : NULL, "updated_by",
                   has ? value(res, 0, 4) : NULL);
}

static enum ctl_db_status policy_txn(struct ctl_db *db, void *arg) {
  struct policy_txn *t = arg;
  json_decref(t->out);
  t->out = NULL;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, t->tenant_id);
  for (int i = 0; i < 3; i++) {
    if (t->want[i] < 0) {
      ctl_db_param_null(&p);
    } else {
      ctl_db_param_bool(&p, t->want[i]);
    }
  }
  ctl_db_param_text(&p, t->r->who.id);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "INSERT INTO dual_control_policies AS d (tenant, profile, issue, "
      "revoke, execute, updated_by) VALUES ($1::uuid, '', "
      "coalesce($2::boolean, false), coalesce($3::boolean, false), "
      "coalesce($4::boolean, false), $5::uuid) "
      "ON CONFLICT (tenant, profile) DO UPDATE SET "
      "issue = coalesce($2::boolean, d.issue), "
      "revoke = coalesce($3::boolean, d.revoke), "
      "execute = coalesce($4::boolean, d.execute), "
      "updated_by = $5::uuid, updated_at = now() "
      "RETURNING issue, revoke, execute, " API_TS("updated_at") ", updated_by",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  t->out = policy_json(t->tenant_name, res);
  PQclear(res);
  if (t->out == NULL) {
    return ctl_db_fail(db, CTL_DB_ERROR, "out of memory");
  }
  char subject[64];
  snprintf(subject, sizeof(subject), "tenant:%s", t->tenant_id);
  json_t *d =
      json_pack("{s:O,s:O,s:O}", "issue", json_object_get(t->out, "issue"),
                "revoke", json_object_get(t->out, "revoke"), "execute",
                json_object_get(t->out, "execute"));
  st = api_audit_take(db, NULL, "dual_control.updated", t->r->who.id,
                      t->tenant_id, subject, d);
  return st;
}

static void h_policy_put(struct api_req *r, const char *tenant) {
  if (!api_need(r, CTL_ROLE_ADMIN)) {
    return;
  }
  char tenant_id[37];
  if (!api_resolve_tenant(r, tenant_id, tenant)) {
    return;
  }
  json_t *o = api_body_object(r);
  if (o == NULL) {
    return;
  }
  struct policy_txn t = { .r = r,
                          .tenant_id = tenant_id,
                          .tenant_name = tenant };
  if (!get_bool(r, &t.want[0], o, "issue") ||
      !get_bool(r, &t.want[1], o, "revoke") ||
      !get_bool(r, &t.want[2], o, "execute")) {
    goto done;
  }
  if (t.want[0] < 0 && t.want[1] < 0 && t.want[2] < 0) {
    api_error(r, 422, "invalid_field",
              "give at least one of \"issue\", \"revoke\", \"execute\" "
              "(true or false)");
    goto done;
  }
  enum ctl_db_status st =
      ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, policy_txn, &t);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    goto done;
  }
  api_json(r, 200, t.out);
  t.out = NULL;

done:
  json_decref(t.out);
  json_decref(o);
}

static void h_policy_get(struct api_req *r, const char *tenant) {
  char tenant_id[37];
  if (!api_resolve_tenant(r, tenant_id, tenant)) {
    return;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, tenant_id);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      r->db, &res,
      "SELECT issue, revoke, execute, " API_TS("updated_at") ", updated_by "
      "FROM dual_control_policies WHERE tenant = $1::uuid AND profile = ''",
      &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return;
  }
  json_t *o = policy_json(tenant, res);
  PQclear(res);
  api_json(r, 200, o);
}

/* ==========================================================================
 * Approval requests and decisions
 * ========================================================================== */

struct request_txn {
  struct api_req *r;
  const char *tenant_id;
  const char *identity;
  const char *action;
  const char *reason;
  int64_t ttl;
  char id[37];
};

static enum ctl_db_status request_txn(struct ctl_db *db, void *arg) {
  struct request_txn *t = arg;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, t->tenant_id);
  ctl_db_param_text(&p, t->identity);
  ctl_db_param_text(&p, t->action);
  ctl_db_param_text(&p, t->r->who.id);
  ctl_db_param_text(&p, t->reason);
  ctl_db_param_int64(&p, t->ttl);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "INSERT INTO approvals (tenant, identity, action, requester, reason, "
      "expires_at) VALUES ($1::uuid, $2, $3, $4::uuid, $5, "
      "now() + make_interval(secs => $6::int)) RETURNING id",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  snprintf(t->id, sizeof(t->id), "%s", PQgetvalue(res, 0, 0));
  PQclear(res);
  char subject[64];
  snprintf(subject, sizeof(subject), "approval:%s", t->id);
  json_t *d = json_pack("{s:s,s:s,s:s?,s:I}", "action", t->action, "identity",
                        t->identity, "reason", t->reason, "ttl_seconds",
                        (json_int_t)t->ttl);
  st = api_audit_take(db, NULL, "approval.requested", t->r->who.id,
                      t->tenant_id, subject, d);
  return st;
}

static void h_request(struct api_req *r, const char *identity) {
  if (!api_need(r, CTL_ROLE_ISSUER | CTL_ROLE_OPERATOR)) {
    return;
  }
  json_t *o = api_body_object(r);
  if (o == NULL) {
    return;
  }
  const char *action = NULL;
  const char *reason = NULL;
  const char *tenant = NULL;
  char tenant_id[37] = "";
  char ident[256];
  struct request_txn t = { .r = r, .ttl = APPROVAL_TTL_DEFAULT };
  if (!api_get_string(r, &action, o, "action", 1, 1, 64) ||
      !api_get_string(r, &reason, o, "reason", 0, 1, NOTE_MAX) ||
      !api_get_string(r, &tenant, o, "tenant", 0, 1, 63) ||
      !api_get_int(r, &t.ttl, o, "ttl_seconds", 1, APPROVAL_TTL_MAX)) {
    goto done;
  }
  int ai = action_find(action);
  if (ai < 0) {
    api_error(r, 422, "invalid_field",
              "field \"action\": one of certificate.issue, "
              "certificate.revoke, incident.execute");
    goto done;
  }
  if (reason != NULL && !printable(reason)) {
    api_error(r, 422, "invalid_field",
              "field \"reason\": control characters are not allowed");
    goto done;
  }
  if (tenant != NULL && !api_resolve_tenant(r, tenant_id, tenant)) {
    goto done;
  }
  if (ai == 0) {
    /* An issue is approved for a name in a tenant. */
    if (tenant == NULL) {
      api_error(r, 422, "invalid_field",
                "field \"tenant\": required for certificate.issue");
      goto done;
    }
    if (strlen(identity) >= sizeof(ident) || !printable(identity)) {
      api_error(r, 422, "invalid_field", "identity: 1..255 printable bytes");
      goto done;
    }
    snprintf(ident, sizeof(ident), "%s", identity);
  } else {
    /* Revoke and execute are approved for one certificate. */
    if (!api_uuid_valid(identity)) {
      api_error(r, 404, "not_found", "no such certificate");
      goto done;
    }
    struct ctl_db_params p;
    ctl_db_params_init(&p);
    ctl_db_param_text(&p, identity);
    ctl_db_param_text(&p, tenant_id[0] != '\0' ? tenant_id : api_scope(r));
    PGresult *res = NULL;
    enum ctl_db_status st =
        ctl_db_exec(r->db, &res,
                    "SELECT id, tenant FROM certificates WHERE id = $1::uuid "
                    "AND ($2::uuid IS NULL OR tenant = $2::uuid)",
                    &p);
    if (st != CTL_DB_OK) {
      api_db_error(r, st);
      goto done;
    }
    if (PQntuples(res) != 1) {
      PQclear(res);
      api_error(r, 404, "not_found", "no certificate \"%s\"", identity);
      goto done;
    }
    snprintf(ident, sizeof(ident), "%s", PQgetvalue(res, 0, 0));
    snprintf(tenant_id, sizeof(tenant_id), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
  }
  t.tenant_id = tenant_id;
  t.identity = ident;
  t.action = actions[ai].action;
  t.reason = reason;
  enum ctl_db_status st =
      ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, request_txn, &t);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    goto done;
  }
  answer_approval(r, 201, t.id);

done:
  json_decref(o);
}

static void h_list(struct api_req *r, const char *arg) {
  (void)arg;
  int64_t limit = 0;
  const char *status = api_query(r, "status");
  const char *action = api_query(r, "action");
  if (!query_limit(r, &limit)) {
    return;
  }
  if (status != NULL && strcmp(status, "pending") != 0 &&
      strcmp(status, "approved") != 0 && strcmp(status, "denied") != 0 &&
      strcmp(status, "expired") != 0 && strcmp(status, "consumed") != 0) {
    api_error(r, 400, "bad_request",
              "query parameter \"status\": one of pending, approved, denied, "
              "expired, consumed");
    return;
  }
  int ai = action != NULL ? action_find(action) : -1;
  if (action != NULL && ai < 0) {
    api_error(r, 400, "bad_request",
              "query parameter \"action\": one of certificate.issue, "
              "certificate.revoke, incident.execute");
    return;
  }
  expire_sweep(r);
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, status);
  ctl_db_param_text(&p, api_scope(r));
  ctl_db_param_int64(&p, limit);
  ctl_db_param_text(&p, ai >= 0 ? actions[ai].action : NULL);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      r->db, &res,
      APPROVAL_SELECT "WHERE ($1::text IS NULL OR " APPROVAL_STATUS
                      " = $1) "
                      "AND ($2::uuid IS NULL OR a.tenant = $2::uuid) "
                      "AND ($4::text IS NULL OR a.action = $4) "
                      "ORDER BY a.created_at DESC, a.id LIMIT $3::int",
      &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return;
  }
  json_t *items = json_array();
  for (int i = 0; items != NULL && i < PQntuples(res); i++) {
    json_array_append_new(items, approval_json(res, i));
  }
  PQclear(res);
  api_json(r, 200, items != NULL ? json_pack("{s:o}", "items", items) : NULL);
}

static void h_get(struct api_req *r, const char *id) {
  if (!api_uuid_valid(id)) {
    api_error(r, 404, "not_found", "no such approval");
    return;
  }
  expire_sweep(r);
  answer_approval(r, 200, id);
}

struct decide_txn {
  struct api_req *r;
  const char *id;
  int approve;
  const char *note;
  int found;
  int self;
  char status[16]; /* the status found when not pending */
};

static enum ctl_db_status decide_txn(struct ctl_db *db, void *arg) {
  struct decide_txn *t = arg;
  t->found = 0;
  t->self = 0;
  t->status[0] = '\0';
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, t->id);
  ctl_db_param_text(&p, api_scope(t->r));
  PGresult *res = NULL;
  enum ctl_db_status st =
      ctl_db_exec(db, &res,
                  "SELECT a.tenant, a.requester, " APPROVAL_STATUS
                  ", a.identity, "
                  "a.action FROM approvals a WHERE a.id = $1::uuid AND "
                  "($2::uuid IS NULL OR a.tenant = $2::uuid) FOR UPDATE",
                  &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    return CTL_DB_ABORTED;
  }
  t->found = 1;
  if (strcmp(PQgetvalue(res, 0, 1), t->r->who.id) == 0) {
    t->self = 1;
    PQclear(res);
    return CTL_DB_ABORTED;
  }
  if (strcmp(PQgetvalue(res, 0, 2), "pending") != 0) {
    snprintf(t->status, sizeof(t->status), "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    return CTL_DB_ABORTED;
  }
  char tenant[37];
  snprintf(tenant, sizeof(tenant), "%s", PQgetvalue(res, 0, 0));
  json_t *d = json_pack("{s:s,s:s,s:s,s:s?}", "action", PQgetvalue(res, 0, 4),
                        "identity", PQgetvalue(res, 0, 3), "requester",
                        PQgetvalue(res, 0, 1), "note", t->note);
  PQclear(res);
  if (d == NULL) {
    return ctl_db_fail(db, CTL_DB_ERROR, "out of memory");
  }
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, t->id);
  ctl_db_param_text(&p, t->approve ? "approved" : "denied");
  ctl_db_param_text(&p, t->r->who.id);
  /* The trigger checks the transition and sets decided_at; the CHECK
   * approvals_not_self stands behind the test above. */
  st = ctl_db_exec(db, NULL,
                   "UPDATE approvals SET status = $2, approver = $3::uuid "
                   "WHERE id = $1::uuid",
                   &p);
  if (st == CTL_DB_OK) {
    char subject[64];
    snprintf(subject, sizeof(subject), "approval:%s", t->id);
    st = api_audit(db, NULL,
                   t->approve ? "approval.approved" : "approval.denied",
                   t->r->who.id, tenant, subject, d);
  }
  json_decref(d);
  return st;
}

static void decide(struct api_req *r, const char *id, int approve) {
  if (!api_need(r, CTL_ROLE_APPROVER)) {
    return;
  }
  if (!api_uuid_valid(id)) {
    api_error(r, 404, "not_found", "no such approval");
    return;
  }
  const char *note = NULL;
  json_t *o = note_body(r, &note);
  if (o == NULL) {
    return;
  }
  expire_sweep(r);
  struct decide_txn t = { .r = r, .id = id, .approve = approve, .note = note };
  enum ctl_db_status st =
      ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, decide_txn, &t);
  if (st == CTL_DB_ABORTED && !t.found) {
    api_error(r, 404, "not_found", "no approval \"%s\"", id);
  } else if (st == CTL_DB_ABORTED && t.self) {
    api_error(r, 403, "self_approval",
              "principal \"%s\" requested approval %s and cannot decide it: "
              "a different principal with the approver role must",
              r->who.name, id);
  } else if (st == CTL_DB_ABORTED) {
    api_error(r, 409, strcmp(t.status, "expired") == 0 ? "expired" : "conflict",
              "approval %s is %s, not pending", id, t.status);
  } else if (st != CTL_DB_OK) {
    api_db_error(r, st);
  } else {
    answer_approval(r, 200, id);
  }
  json_decref(o);
}

static void h_approve(struct api_req *r, const char *id) {
  decide(r, id, 1);
}

static void h_deny(struct api_req *r, const char *id) {
  decide(r, id, 0);
}

/* ==========================================================================
 * Break-glass credentials
 * ========================================================================== */

struct bg_txn {
  struct api_req *r;
  const char *name;
  const char *roles_pg;
  json_t *roles; /* borrowed */
  const char *tenant_id;
  const char *tenant_name;
  const char *note;
  int64_t ttl;
  const char *token;
  char id[37];
  char expires_at[32];
};

static enum ctl_db_status bg_txn(struct ctl_db *db, void *arg) {
  struct bg_txn *t = arg;
  /* The same principal and expiring token as POST /tokens (ctl_auth.h). */
  enum ctl_db_status st = ctl_auth_create_token_principal(
      db, t->id, t->expires_at, t->name, t->roles_pg, t->tenant_id,
      t->r->who.id, t->token, (int64_t)time(NULL) + t->ttl);
  if (st != CTL_DB_OK) {
    return st;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, t->id);
  ctl_db_param_text(&p, t->r->who.id);
  ctl_db_param_text(&p, t->note);
  st = ctl_db_exec(db, NULL,
                   "INSERT INTO break_glass_credentials (principal, "
                   "created_by, note) VALUES ($1::uuid, $2::uuid, $3)",
                   &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  char subject[64];
  snprintf(subject, sizeof(subject), "principal:%s", t->id);
  json_t *d = json_pack("{s:s,s:O,s:s?,s:s?,s:s}", "name", t->name, "roles",
                        t->roles, "tenant", t->tenant_name, "note", t->note,
                        "expires_at", t->expires_at);
  st = api_audit_take(db, NULL, "breakglass.credential_created", t->r->who.id,
                      t->tenant_id, subject, d);
  return st;
}

static void h_bg_create(struct api_req *r, const char *arg) {
  (void)arg;
  if (!api_need(r, CTL_ROLE_ADMIN)) {
    return;
  }
  json_t *o = api_body_object(r);
  if (o == NULL) {
    return;
  }
  const char *name = NULL;
  const char *tenant = NULL;
  const char *note = NULL;
  char tenant_id[37] = "";
  char roles_pg[64] = "{";
  char token[CTL_AUTH_TOKEN_LEN + 1];
  json_t *roles_out = json_array();
  struct bg_txn t = { .r = r, .ttl = BG_TTL_DEFAULT };
  memset(token, 0, sizeof(token));
  if (roles_out == NULL) {
    api_error(r, 500, "internal", "out of memory");
    goto done;
  }
  if (!api_get_string(r, &name, o, "name", 1, 1, 128) ||
      !api_get_string(r, &tenant, o, "tenant", 0, 1, 63) ||
      !api_get_string(r, &note, o, "note", 0, 1, NOTE_MAX) ||
      !api_get_int(r, &t.ttl, o, "ttl_seconds", 60, BG_TTL_MAX)) {
    goto done;
  }
  if (!ctl_auth_principal_name_valid(name)) {
    api_error(r, 422, "invalid_field",
              "field \"name\": must match [A-Za-z0-9][A-Za-z0-9._@:-]{0,127}");
    goto done;
  }
  if (note != NULL && !printable(note)) {
    api_error(r, 422, "invalid_field",
              "field \"note\": control characters are not allowed");
    goto done;
  }
  /* A break-glass principal acts (issuer, operator); it never decides or
   * administers: that would let one person both skip and review. */
  json_t *roles = json_object_get(o, "roles");
  unsigned bits = 0;
  if (roles == NULL || json_is_null(roles)) {
    bits = CTL_ROLE_ISSUER;
  } else if (!json_is_array(roles) || json_array_size(roles) == 0 ||
             json_array_size(roles) > 2) {
    api_error(r, 422, "invalid_field",
              "field \"roles\": an array of issuer and/or operator");
    goto done;
  } else {
    for (size_t i = 0; i < json_array_size(roles); i++) {
      json_t *v = json_array_get(roles, i);
      unsigned bit =
          json_is_string(v) ? ctl_auth_role_parse(json_string_value(v)) : 0;
      if (bit != CTL_ROLE_ISSUER && bit != CTL_ROLE_OPERATOR) {
        api_error(r, 422, "invalid_field",
                  "field \"roles\": element %zu is not issuer or operator", i);
        goto done;
      }
      bits |= bit;
    }
  }
  if (bits & CTL_ROLE_ISSUER) {
    json_array_append_new(roles_out, json_string("issuer"));
  }
  if (bits & CTL_ROLE_OPERATOR) {
    json_array_append_new(roles_out, json_string("operator"));
  }
  snprintf(roles_pg, sizeof(roles_pg), "{%s%s%s}",
           (bits & CTL_ROLE_ISSUER) ? "issuer" : "",
           (bits & CTL_ROLE_ISSUER) && (bits & CTL_ROLE_OPERATOR) ? "," : "",
           (bits & CTL_ROLE_OPERATOR) ? "operator" : "");
  if (tenant == NULL && r->who.tenant_id[0] != '\0') {
    tenant = r->who.tenant_name; /* a scoped admin mints scoped ones */
  }
  if (tenant != NULL && !api_resolve_tenant(r, tenant_id, tenant)) {
    goto done;
  }
  if (!ctl_auth_token_new(token)) {
    api_error(r, 500, "internal", "no randomness");
    goto done;
  }
  t.name = name;
  t.roles_pg = roles_pg;
  t.roles = roles_out;
  t.tenant_id = tenant != NULL ? tenant_id : NULL;
  t.tenant_name = tenant;
  t.note = note;
  t.token = token;
  enum ctl_db_status st =
      ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, bg_txn, &t);
  if (st == CTL_DB_CONFLICT) {
    api_error(r, 409, "conflict", "a principal named \"%s\" exists", name);
    goto done;
  }
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    goto done;
  }
  api_json(r, 201,
           json_pack("{s:s,s:s,s:s,s:O,s:s?,s:s,s:b}", "id", t.id, "token",
                     token, "name", name, "roles", roles_out, "tenant", tenant,
                     "expires_at", t.expires_at, "break_glass", 1));

done:
  memset(token, 0, sizeof(token));
  json_decref(roles_out);
  json_decref(o);
}

/* ==========================================================================
 * Reconciliation
 * ========================================================================== */

static void h_recon_list(struct api_req *r, const char *arg) {
  (void)arg;
  int64_t limit = 0;
  const char *status = api_query(r, "status");
  if (!query_limit(r, &limit)) {
    return;
  }
  if (status != NULL && strcmp(status, "open") != 0 &&
      strcmp(status, "reviewed") != 0) {
    api_error(r, 400, "bad_request",
              "query parameter \"status\": open or reviewed");
    return;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, status);
  ctl_db_param_text(&p, api_scope(r));
  ctl_db_param_int64(&p, limit);
  PGresult *res = NULL;
  enum ctl_db_status st =
      ctl_db_exec(r->db, &res,
                  RECON_SELECT
                  "WHERE ($1::text IS NULL OR c.status = $1) "
                  "AND ($2::uuid IS NULL OR c.tenant = $2::uuid) "
                  "ORDER BY c.created_at DESC, c.id LIMIT $3::int",
                  &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return;
  }
  json_t *items = json_array();
  for (int i = 0; items != NULL && i < PQntuples(res); i++) {
    json_array_append_new(items, recon_json(res, i));
  }
  PQclear(res);
  api_json(r, 200, items != NULL ? json_pack("{s:o}", "items", items) : NULL);
}

struct review_txn {
  struct api_req *r;
  const char *id;
  const char *note;
  int found;
  int self;
  int closed;
};

static enum ctl_db_status review_txn(struct ctl_db *db, void *arg) {
  struct review_txn *t = arg;
  t->found = 0;
  t->self = 0;
  t->closed = 0;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, t->id);
  ctl_db_param_text(&p, api_scope(t->r));
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "SELECT tenant, principal, status, action, identity FROM "
      "reconciliations WHERE id = $1::uuid AND ($2::uuid IS NULL OR "
      "tenant = $2::uuid) FOR UPDATE",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    return CTL_DB_ABORTED;
  }
  t->found = 1;
  if (strcmp(PQgetvalue(res, 0, 1), t->r->who.id) == 0) {
    t->self = 1;
  } else if (strcmp(PQgetvalue(res, 0, 2), "open") != 0) {
    t->closed = 1;
  }
  if (t->self || t->closed) {
    PQclear(res);
    return CTL_DB_ABORTED;
  }
  char tenant[37];
  snprintf(tenant, sizeof(tenant), "%s", PQgetvalue(res, 0, 0));
  json_t *d = json_pack("{s:s,s:s,s:s,s:s?}", "action", PQgetvalue(res, 0, 3),
                        "identity", PQgetvalue(res, 0, 4), "broke_glass",
                        PQgetvalue(res, 0, 1), "note", t->note);
  PQclear(res);
  if (d == NULL) {
    return ctl_db_fail(db, CTL_DB_ERROR, "out of memory");
  }
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, t->id);
  ctl_db_param_text(&p, t->r->who.id);
  ctl_db_param_text(&p, t->note);
  st = ctl_db_exec(db, NULL,
                   "UPDATE reconciliations SET status = 'reviewed', "
                   "reviewer = $2::uuid, review_note = $3 WHERE id = $1::uuid",
                   &p);
  if (st == CTL_DB_OK) {
    char subject[64];
    snprintf(subject, sizeof(subject), "reconciliation:%s", t->id);
    st = api_audit(db, NULL, "reconciliation.reviewed", t->r->who.id, tenant,
                   subject, d);
  }
  json_decref(d);
  return st;
}

static void h_recon_review(struct api_req *r, const char *id) {
  if (!api_need(r, CTL_ROLE_APPROVER | CTL_ROLE_ADMIN | CTL_ROLE_AUDITOR)) {
    return;
  }
  if (!api_uuid_valid(id)) {
    api_error(r, 404, "not_found", "no such reconciliation item");
    return;
  }
  const char *note = NULL;
  json_t *o = note_body(r, &note);
  if (o == NULL) {
    return;
  }
  struct review_txn t = { .r = r, .id = id, .note = note };
  enum ctl_db_status st =
      ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, review_txn, &t);
  if (st == CTL_DB_ABORTED && !t.found) {
    api_error(r, 404, "not_found", "no reconciliation item \"%s\"", id);
    goto done;
  }
  if (st == CTL_DB_ABORTED && t.self) {
    api_error(r, 403, "self_review",
              "principal \"%s\" broke glass here and cannot review it: a "
              "different principal must",
              r->who.name);
    goto done;
  }
  if (st == CTL_DB_ABORTED) {
    api_error(r, 409, "conflict", "reconciliation item %s is already reviewed",
              id);
    goto done;
  }
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    goto done;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, id);
  PGresult *res = NULL;
  st = ctl_db_exec(r->db, &res, RECON_SELECT "WHERE c.id = $1::uuid", &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    goto done;
  }
  json_t *out = PQntuples(res) == 1 ? recon_json(res, 0) : NULL;
  PQclear(res);
  api_json(r, 200, out);

done:
  json_decref(o);
}

/* ==========================================================================
 * Routes
 * ========================================================================== */

const struct api_route api_approval_routes[] = {
  { "PUT", "tenants/*/dual-control", h_policy_put, 0 },
  { "GET", "tenants/*/dual-control", h_policy_get, 0 },
  { "POST", "identities/*/approvals", h_request, 0 },
  { "GET", "approvals", h_list, 0 },
  { "GET", "approvals/*", h_get, 0 },
  { "POST", "approvals/*/approve", h_approve, 0 },
  { "POST", "approvals/*/deny", h_deny, 0 },
  { "POST", "break-glass/credentials", h_bg_create, 0 },
  { "GET", "reconciliations", h_recon_list, 0 },
  { "POST", "reconciliations/*/review", h_recon_review, 0 },
};
const size_t api_approval_num_routes =
    sizeof(api_approval_routes) / sizeof(api_approval_routes[0]);
