/* ctl_api_incident.c: incident executions — replace-then-revoke with a
 * sealed evidence pack (docs/api.md "Incident executions"; DESIGN.md
 * sections 5 and 6; migrations/0005_incidents.sql).
 *
 * POST /incidents/executions records an execution (one committed row plus
 * its five step rows) and the worker thread runs its steps, in this order
 * and never another:
 *
 *   record_evidence -> issue_replacement -> deliver -> revoke -> seal
 *
 * Each step is one transaction that first locks the execution row
 * (SELECT ... FOR UPDATE SKIP LOCKED: two control processes never run one
 * step twice; the loser skips), then does the step's outside work (signer,
 * connector) while holding that lock, then records the result, the step
 * row, the execution's next step and the audit events, and commits. A crash
 * anywhere rolls the step back; the worker of the restarted process (or of
 * another process) picks the execution up at that step. The outside work
 * is safe to repeat: a replacement signed but not recorded was never
 * delivered anywhere and is not a replacement (the replacement's id is
 * recorded in the transaction that inserts the certificate, so there is
 * never a second one); a repeated delivery of the same files does not
 * rotate the rollback copies again; the revocation is a database insert.
 * The database refuses a revoke before a successful delivery.
 *
 * A failed delivery is rolled back by the connector; the revoke step is
 * then skipped and the execution is sealed as failed.
 *
 * The evidence pack is canonical JSON: json_dumps(pack, JSON_COMPACT |
 * JSON_SORT_KEYS) with strings, integers, booleans and null only. Its
 * audit_bundle.digest is the hex SHA-256 of the canonical pack without
 * audit_bundle.digest and audit_bundle.seal; audit_bundle.seal is the
 * signer's seal of that digest with context "vigil-evidence-v1:<id>". The
 * sealed pack is stored once and never changes.
 *
 * Test-only failpoints (inert unless set): the environment variable
 * VIGIL_CONTROL_FAILPOINT=incident.after.<step> (or incident.after.create)
 * makes vigil-control SIGKILL itself right after that step committed;
 * incident.before.<step> right before its commit (after the step's outside
 * work). tests/integration/incident_crash.sh uses them. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "ctl_api_internal.h"
#include "ctl_audit.h"
#include "ctl_connector.h"
#include "ctl_incident_pki.h"
#include "ctl_seal.h"
#include "vigil/alloc.h"
#include "vigil/b64.h"
#include "vigil/hex.h"
#include "vigil/seal.h"
#include "vigil/sgnproto.h"

#define MAX_ISSUE_ATTEMPTS 8    /* then the execution fails at issue */
#define MAX_STEPS_PER_RUN  8    /* steps one run_execution may take */
#define SCAN_BATCH         20   /* executions looked at per scan */
#define IDLE_WAKE_MS       1000 /* scan at least this often */
#define MAX_CHAIN          8    /* issuers above a certificate */

#define READ_ROLES \
  (CTL_ROLE_ISSUER | CTL_ROLE_OPERATOR | CTL_ROLE_AUDITOR | CTL_ROLE_ADMIN)

#define TS_US(col) \
  "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* The worker. */
struct incident_worker {
  struct ctl_api *api;           /* borrowed */
  struct ctl_db *db;             /* the worker's own handle */
  struct ctl_connector_cfg ccfg; /* from api->cfg */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;      /* kicks the worker */
  pthread_cond_t done_cv; /* progress, for waiting requests */
  int stop;               /* 1: exit */
  uint64_t kicks;         /* bumped per kick */
  uint64_t progress;      /* bumped per committed step */
  char failpoint[128];    /* VIGIL_CONTROL_FAILPOINT ("" : none) */
};

/* One execution row, as a step sees it. */
struct exec_row {
  char id[37];
  char tenant[37];
  char tenant_name[64];
  char identity[37];
  char reason[1100];
  char replacement_name[256];
  char connector[16];
  char target[2100];
  char check_address[310];
  char rollback_ref[1100];
  char requested_by[37];
  char next_step[24];
  char replacement[37];
};

enum step_outcome {
  STEP_ADVANCED = 0, /* a step committed: run the next */
  STEP_IDLE,         /* nothing to do now (finished, locked elsewhere) */
  STEP_RETRY,        /* failed for now; retried after a backoff */
};

static void cp(char *dst, size_t n, const PGresult *res, int row, int col) {
  snprintf(dst, n, "%s",
           PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

/* failpoint: SIGKILL ourselves when |name| is the configured failpoint. */
static void failpoint(const struct incident_worker *w, const char *name) {
  if (w != NULL && w->failpoint[0] != '\0' && strcmp(w->failpoint, name) == 0) {
    VLOG_WARN(w->api->log, "failpoint %s: killing vigil-control", name);
    kill(getpid(), SIGKILL);
    _exit(9);
  }
}

static void failpoint_step(const struct incident_worker *w, const char *when,
                           const char *step) {
  char name[96];
  snprintf(name, sizeof(name), "incident.%s.%s", when, step);
  failpoint(w, name);
}

/* pem_of returns a heap PEM block of |der| under |label| (vigil_free). */
static char *pem_of(const uint8_t *der, size_t len, const char *label) {
  size_t b64 = vigil_b64_encoded_len(len);
  size_t cap = b64 + b64 / 64 + 2 * strlen(label) + 64;
  char *out = vigil_malloc(cap);
  char *tmp = vigil_malloc(b64 + 1);
  if (out == NULL || tmp == NULL) {
    vigil_free(out);
    vigil_free(tmp);
    return NULL;
  }
  size_t n = vigil_b64_encode(tmp, der, len);
  size_t o = (size_t)snprintf(out, cap, "-----BEGIN %s-----\n", label);
  for (size_t i = 0; i < n; i += 64) {
    size_t k = n - i < 64 ? n - i : 64;
    memcpy(out + o, tmp + i, k);
    o += k;
    out[o++] = '\n';
  }
  snprintf(out + o, cap - o, "-----END %s-----\n", label);
  vigil_free(tmp);
  return out;
}

/* bytea_at decodes the bytea at |row|, |col| (vigil_malloc). */
static uint8_t *bytea_at(size_t *out_len, const PGresult *res, int row,
                         int col) {
  size_t cap = (size_t)PQgetlength(res, row, col);
  uint8_t *b = vigil_malloc(cap + 1);
  if (b == NULL || !ctl_db_value_bytes(b, out_len, cap + 1, res, row, col)) {
    vigil_free(b);
    return NULL;
  }
  return b;
}

/* ==========================================================================
 * Statements shared by the steps (inside the step's transaction)
 * ========================================================================== */

static enum ctl_db_status audit_event(struct ctl_db *db, int64_t *out_id,
                                      const struct exec_row *ex,
                                      const char *type, json_t *details) {
  char subject[64];
  snprintf(subject, sizeof(subject), "incident:%s", ex->id);
  json_object_set_new(details, "execution", json_string(ex->id));
  char *text = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(details);
  if (text == NULL) {
    return CTL_DB_ERROR;
  }
  struct ctl_audit_event ev = {
    .type = type,
    .principal = ex->requested_by,
    .tenant = ex->tenant,
    .subject = subject,
    .details_json = text,
  };
  enum ctl_db_status st = ctl_audit_append(db, out_id, NULL, &ev);
  free(text);
  return st;
}

/* step_end marks |step| ended with |status| and |result| (stolen, may be
 * NULL) and |error|. */
static enum ctl_db_status step_end(struct ctl_db *db, const char *exec_id,
                                   const char *step, const char *status,
                                   json_t *result, const char *error) {
  char *text =
      result != NULL ? json_dumps(result, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(result);
  if (result != NULL && text == NULL) {
    return CTL_DB_ERROR;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, exec_id);
  ctl_db_param_text(&p, step);
  ctl_db_param_text(&p, status);
  ctl_db_param_text(&p, text);
  ctl_db_param_text(&p, error);
  enum ctl_db_status st = ctl_db_exec(
      db, NULL,
      "UPDATE incident_steps SET status = $3, attempts = attempts + 1, "
      "result = $4::jsonb, last_error = left($5, 2048), finished_at = now() "
      "WHERE execution = $1::uuid AND step = $2 AND status = 'pending'",
      &p);
  free(text);
  return st;
}

/* exec_advance moves the execution to |next| and appends audit ids. */
static enum ctl_db_status exec_advance(struct ctl_db *db, const char *exec_id,
                                       const char *next, const int64_t *ids,
                                       size_t num_ids, const char *failed_step,
                                       const char *replacement) {
  char arr[256] = "{";
  size_t o = 1;
  for (size_t i = 0; i < num_ids && o < sizeof(arr) - 24; i++) {
    o += (size_t)snprintf(arr + o, sizeof(arr) - o, "%s%lld", i ? "," : "",
                          (long long)ids[i]);
  }
  snprintf(arr + o, sizeof(arr) - o, "}");
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, exec_id);
  ctl_db_param_text(&p, next);
  ctl_db_param_text(&p, arr);
  ctl_db_param_text(&p, failed_step);
  ctl_db_param_text(&p, replacement);
  return ctl_db_exec(
      db, NULL,
      "UPDATE incident_executions SET next_step = $2, audit_ids = audit_ids "
      "|| $3::bigint[], failed_step = coalesce($4, failed_step), "
      "replacement = coalesce($5::uuid, replacement), next_attempt_at = now() "
      "WHERE id = $1::uuid",
      &p);
}

/* note_failure records a failed attempt of |step| in its own transaction
 * (the step's was rolled back) and schedules a retry with a backoff; an
 * issue that keeps failing fails the execution. */
static void note_failure(struct incident_worker *w, const char *exec_id,
                         const char *step, const char *error) {
  struct ctl_db *db = w->db;
  struct ctl_db_params p;
  PGresult *res = NULL;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, exec_id);
  ctl_db_param_text(&p, step);
  ctl_db_param_text(&p, error);
  VLOG_WARN(w->api->log, "incident %s: %s failed: %s", exec_id, step, error);
  if (ctl_db_begin(db, CTL_DB_READ_COMMITTED, 0) != CTL_DB_OK) {
    return;
  }
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "UPDATE incident_steps SET attempts = attempts + 1, last_error = "
      "left($3, 2048) WHERE execution = $1::uuid AND step = $2 AND status = "
      "'pending' RETURNING attempts",
      &p);
  int64_t attempts = 0;
  if (st == CTL_DB_OK && PQntuples(res) == 1) {
    if (!ctl_db_value_int64(&attempts, res, 0, 0)) {
      attempts = 0;
    }
  }
  PQclear(res);
  if (st == CTL_DB_OK && strcmp(step, "issue_replacement") == 0 &&
      attempts >= MAX_ISSUE_ATTEMPTS) {
    /* Give up: nothing was issued, nothing is revoked; seal as failed. */
    ctl_db_params_init(&p);
    ctl_db_param_text(&p, exec_id);
    ctl_db_param_text(&p, error);
    st = ctl_db_exec(db, NULL,
                     "UPDATE incident_steps SET status = CASE step WHEN "
                     "'issue_replacement' THEN 'failed' ELSE 'skipped' END, "
                     "finished_at = now() WHERE execution = $1::uuid AND "
                     "step IN ('issue_replacement', 'deliver', 'revoke') AND "
                     "status = 'pending'",
                     &p);
    if (st == CTL_DB_OK) {
      st =
          exec_advance(db, exec_id, "seal", NULL, 0, "issue_replacement", NULL);
    }
  } else if (st == CTL_DB_OK) {
    ctl_db_params_init(&p);
    ctl_db_param_text(&p, exec_id);
    ctl_db_param_int64(&p, attempts);
    st = ctl_db_exec(db, NULL,
                     "UPDATE incident_executions SET next_attempt_at = now() + "
                     "least(interval '30 s', interval '500 ms' * power(2, "
                     "least($2::int, 10))) WHERE id = $1::uuid",
                     &p);
  }
  if (st != CTL_DB_OK) {
    ctl_db_rollback(db);
    return;
  }
  if (ctl_db_commit(db) != CTL_DB_OK) {
    VLOG_WARN(w->api->log, "incident %s: attempt not recorded", exec_id);
  }
}

/* ==========================================================================
 * The evidence pack
 * ========================================================================== */

/* load_json parses |text| (NULL: null). */
static json_t *load_json(const char *text) {
  if (text == NULL) {
    return json_null();
  }
  json_t *j = json_loads(text, 0, NULL);
  return j != NULL ? j : json_null();
}

/* build_pack builds the evidence pack of execution |id| (without digest
 * and seal) from what |db| sees. Returns 1 (|*out| set), 0 (no such
 * execution) or -1 (database error / no memory). */
static int build_pack(struct ctl_db *db, json_t **out, const char *id) {
  struct ctl_db_params p;
  PGresult *res = NULL;
  json_t *pack = NULL;
  *out = NULL;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, id);
  if (ctl_db_exec(
          db, &res,
          "SELECT e.id, e.identity, t.name, e.reason, e.replacement_name, "
          "e.connector, e.target, e.check_address, e.delivery_rollback_ref, "
          "e.requested_by, pr.name, e.status, e.next_step, e.failed_step, "
          "e.replacement, " API_TS("e.created_at") ", " API_TS(
              "e.finished_at") ", e.audit_ids::text, "
                               "(SELECT status FROM revocation_queue q WHERE "
                               "q.certificate = e.identity ORDER BY q.id DESC "
                               "LIMIT 1), c.status "
                               "FROM incident_executions e JOIN tenants t ON "
                               "t.id = e.tenant JOIN principals pr ON pr.id = "
                               "e.requested_by JOIN certificates c ON c.id = "
                               "e.identity WHERE e.id = $1::uuid",
          &p) != CTL_DB_OK) {
    return -1;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    return 0;
  }
#define V(c) (PQgetisnull(res, 0, c) ? NULL : PQgetvalue(res, 0, c))
  pack = json_pack(
      "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:s?,s:{s:s,s:s},s:s,s:s,s:s?,s:s?,"
      "s:s,s:s?,s:s?,s:s}",
      "format", "vigil-evidence-v1", "id", V(0), "identity_id", V(1), "tenant",
      V(2), "reason", V(3), "replacement_name", V(4), "connector", V(5),
      "check_address", V(7), "delivery_rollback_ref", V(8), "requested_by",
      "id", V(9), "name", V(10), "status", V(11), "next_step", V(12),
      "failed_step", V(13), "replacement_id", V(14), "created_at", V(15),
      "finished_at", V(16), "revocation_queue_status",
      V(18) != NULL ? V(18) : "none", "identity_status", V(19));
  if (pack != NULL) {
    json_object_set_new(pack, "target", json_string(V(6)));
  }
  char ids[4096];
  cp(ids, sizeof(ids), res, 0, 17);
#undef V
  PQclear(res);
  if (pack == NULL) {
    return -1;
  }
  /* Steps. */
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, id);
  if (ctl_db_exec(
          db, &res,
          "SELECT step, status, attempts, last_error, result::text, " API_TS(
              "finished_at") " FROM incident_steps WHERE execution = "
                             "$1::uuid ORDER BY "
                             "incident_step_order(step)",
          &p) != CTL_DB_OK) {
    json_decref(pack);
    return -1;
  }
  json_t *steps = json_array();
  json_t *receipt = json_null();
  json_t *evidence = json_null();
  json_t *replacement = json_null();
  for (int i = 0; i < PQntuples(res); i++) {
    const char *name = PQgetvalue(res, i, 0);
    int64_t attempts = 0;
    if (!ctl_db_value_int64(&attempts, res, i, 2)) {
      attempts = 0;
    }
    json_array_append_new(
        steps,
        json_pack("{s:s,s:s,s:I,s:s?,s:s?}", "step", name, "status",
                  PQgetvalue(res, i, 1), "attempts", (json_int_t)attempts,
                  "error",
                  PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3),
                  "finished_at",
                  PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5)));
    const char *result = PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4);
    if (strcmp(name, "record_evidence") == 0) {
      json_decref(evidence);
      evidence = load_json(result);
    } else if (strcmp(name, "issue_replacement") == 0) {
      json_decref(replacement);
      replacement = load_json(result);
    } else if (strcmp(name, "deliver") == 0) {
      json_decref(receipt);
      receipt = load_json(result);
    }
  }
  PQclear(res);
  json_t *failed = json_object_get(receipt, "failed_targets");
  json_t *refs = json_object_get(receipt, "rollback_refs");
  json_object_set_new(pack, "steps", steps);
  json_object_set_new(pack, "evidence", evidence);
  json_object_set_new(pack, "replacement", replacement);
  json_object_set_new(
      pack, "failed_targets",
      json_is_array(failed) ? json_incref(failed) : json_array());
  json_object_set_new(pack, "rollback_refs",
                      json_is_array(refs) ? json_incref(refs) : json_array());
  json_object_set_new(pack, "delivery_receipt", receipt);

  /* The audit events of this execution, with what a verifier needs to
   * recompute each hash (docs/operations.md, the audit canonical form). */
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, ids);
  if (ctl_db_exec(
          db, &res,
          "SELECT id, " TS_US("at") ", (extract(epoch FROM at) * 1000000)::"
                                    "bigint, type, principal, tenant, subject, "
                                    "details::text, encode(prev_hash, 'hex'), "
                                    "encode(hash, 'hex') FROM audit_events "
                                    "WHERE id = ANY($1::bigint[]) ORDER BY id",
          &p) != CTL_DB_OK) {
    json_decref(pack);
    return -1;
  }
  json_t *events = json_array();
  for (int i = 0; i < PQntuples(res); i++) {
    int64_t eid = 0;
    int64_t at_us = 0;
    if (!ctl_db_value_int64(&eid, res, i, 0) ||
        !ctl_db_value_int64(&at_us, res, i, 2)) {
      continue;
    }
    const char *dt = PQgetvalue(res, i, 7);
    json_array_append_new(
        events,
        json_pack(
            "{s:I,s:s,s:I,s:s,s:s?,s:s?,s:s,s:o,s:s,s:s,s:s}", "id",
            (json_int_t)eid, "at", PQgetvalue(res, i, 1), "at_us",
            (json_int_t)at_us, "type", PQgetvalue(res, i, 3), "principal",
            PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4), "tenant",
            PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5), "subject",
            PQgetvalue(res, i, 6), "details", load_json(dt), "details_text", dt,
            "prev_hash", PQgetvalue(res, i, 8), "hash", PQgetvalue(res, i, 9)));
  }
  PQclear(res);
  json_object_set_new(pack, "audit_bundle",
                      json_pack("{s:o}", "events", events));
  *out = pack;
  return 1;
}

/* ==========================================================================
 * Steps
 * ========================================================================== */

static enum ctl_db_status step_record_evidence(struct incident_worker *w,
                                               const struct exec_row *ex,
                                               char *err, size_t err_len) {
  struct ctl_db *db = w->db;
  struct ctl_db_params p;
  PGresult *res = NULL;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, ex->identity);
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "SELECT c.id, c.name, c.serial, c.status, " API_TS(
          "c.revoked_at") ", c.revocation_reason, " API_TS("c.not_before") ", " API_TS("c.not_after") ", c.subject_dn, c.sans::text, encode(c.spki_sha256, 'hex'), encode(sha256(c.cert_der), 'hex'), i.issuer_id, c.cert_der "
                                                                                                                                                                                                      "FROM certificates c JOIN issuers i ON i.id = c.issuer WHERE c.id = $1::uuid",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    snprintf(err, err_len, "the compromised certificate is gone");
    return CTL_DB_ERROR;
  }
  uint8_t serial[20];
  size_t sl = 0;
  char hex[48] = "";
  if (ctl_db_value_bytes(serial, &sl, sizeof(serial), res, 0, 2)) {
    (void)vigil_serial_hex(hex, serial, sl);
  }
  size_t der_len = 0;
  uint8_t *der = bytea_at(&der_len, res, 0, 13);
  char *pem = der != NULL ? pem_of(der, der_len, "CERTIFICATE") : NULL;
  vigil_free(der);
#define V(c) (PQgetisnull(res, 0, c) ? NULL : PQgetvalue(res, 0, c))
  json_t *cert = json_pack(
      "{s:s,s:s,s:s,s:s,s:s?,s:s?,s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:s?}", "id",
      V(0), "name", V(1), "serial", hex, "status", V(3), "revoked_at", V(4),
      "revocation_reason", V(5), "not_before", V(6), "not_after", V(7),
      "subject_dn", V(8), "sans", load_json(V(9)), "spki_sha256", V(10),
      "cert_sha256", V(11), "issuer_id", V(12), "certificate_pem", pem);
#undef V
  char spki[65];
  cp(spki, sizeof(spki), res, 0, 10);
  PQclear(res);
  vigil_free(pem);
  if (cert == NULL) {
    return CTL_DB_ERROR;
  }
  /* Blast radius, the part the certificate table knows: every other
   * certificate of the same (leaked) key. */
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, spki);
  ctl_db_param_text(&p, ex->identity);
  st = ctl_db_exec(db, &res,
                   "SELECT id, name, status FROM certificates WHERE "
                   "spki_sha256 = decode($1, 'hex') AND id <> $2::uuid "
                   "ORDER BY created_at LIMIT 100",
                   &p);
  if (st != CTL_DB_OK) {
    json_decref(cert);
    return st;
  }
  json_t *same = json_array();
  for (int i = 0; i < PQntuples(res); i++) {
    json_array_append_new(
        same,
        json_pack("{s:s,s:s,s:s}", "id", PQgetvalue(res, i, 0), "name",
                  PQgetvalue(res, i, 1), "status", PQgetvalue(res, i, 2)));
  }
  PQclear(res);
  json_t *result = json_pack("{s:o,s:o}", "certificate", cert,
                             "same_key_certificates", same);
  int64_t aid = 0;
  st = audit_event(db, &aid, ex, "incident.evidence.recorded",
                   json_pack("{s:s,s:s,s:s}", "certificate", ex->identity,
                             "serial", hex, "spki_sha256", spki));
  if (st == CTL_DB_OK) {
    st = step_end(db, ex->id, "record_evidence", "done", result, NULL);
    result = NULL;
  }
  json_decref(result);
  if (st == CTL_DB_OK) {
    st = exec_advance(db, ex->id, "issue_replacement", &aid, 1, NULL, NULL);
  }
  return st;
}

/* key_kind finds the key type of certificate |der| (the replacement gets
 * a new key of the same kind). */
static void key_kind(uint8_t *out_type, uint32_t *out_bits, const uint8_t *der,
                     size_t len) {
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t in = { (unsigned char *)der, (unsigned)len };
  *out_type = VIGIL_SGN_KEY_P256;
  *out_bits = 0;
  if (gnutls_x509_crt_init(&crt) < 0) {
    return;
  }
  if (gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_DER) >= 0) {
    unsigned bits = 0;
    int alg = gnutls_x509_crt_get_pk_algorithm(crt, &bits);
    if (alg == GNUTLS_PK_RSA) {
      *out_type = VIGIL_SGN_KEY_RSA;
      *out_bits = 2048;
    } else if (alg == GNUTLS_PK_EDDSA_ED25519) {
      *out_type = VIGIL_SGN_KEY_ED25519;
    } else if (alg == GNUTLS_PK_ECDSA && bits == 384) {
      *out_type = VIGIL_SGN_KEY_P384;
    }
  }
  gnutls_x509_crt_deinit(crt);
}

static const char *key_kind_name(uint8_t t) {
  switch (t) {
    case VIGIL_SGN_KEY_P384:
      return "p384";
    case VIGIL_SGN_KEY_RSA:
      return "rsa2048";
    case VIGIL_SGN_KEY_ED25519:
      return "ed25519";
    default:
      return "p256";
  }
}

/* Returns CTL_DB_OK, a database failure, or CTL_DB_ABORTED when the
 * signer failed (|err| says why: retry later). */
static enum ctl_db_status step_issue(struct incident_worker *w,
                                     const struct exec_row *ex,
                                     int *out_published_needed,
                                     struct api_pki_issued *issued,
                                     char *issuer_id, uint8_t ikh[20],
                                     char *err, size_t err_len) {
  struct ctl_db *db = w->db;
  struct ctl_db_params p;
  PGresult *res = NULL;
  *out_published_needed = 0;
  if (ex->replacement[0] != '\0') {
    snprintf(err, err_len, "a replacement is already recorded");
    return CTL_DB_ERROR; /* the schema makes this unreachable */
  }
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, ex->identity);
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "SELECT c.sans::text, c.cert_der, i.id, i.issuer_id, i.key_sha1, "
      "extract(epoch FROM c.not_after - c.not_before)::bigint "
      "FROM certificates c JOIN issuers i ON i.id = c.issuer "
      "WHERE c.id = $1::uuid",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    snprintf(err, err_len, "the compromised certificate is gone");
    return CTL_DB_ERROR;
  }
  json_t *sans = load_json(PQgetvalue(res, 0, 0));
  size_t der_len = 0;
  uint8_t *der = bytea_at(&der_len, res, 0, 1);
  char issuer_uuid[37];
  cp(issuer_uuid, sizeof(issuer_uuid), res, 0, 2);
  snprintf(issuer_id, 64, "%s", PQgetvalue(res, 0, 3));
  size_t ikh_len = 0;
  int64_t life = 0;
  int ok = ctl_db_value_bytes(ikh, &ikh_len, 20, res, 0, 4) && ikh_len == 20 &&
           ctl_db_value_int64(&life, res, 0, 5);
  PQclear(res);
  uint8_t kt = VIGIL_SGN_KEY_P256;
  uint32_t bits = 0;
  if (der != NULL) {
    key_kind(&kt, &bits, der, der_len);
  }
  vigil_free(der);
  if (!ok) {
    json_decref(sans);
    snprintf(err, err_len, "cannot read the compromised certificate");
    return CTL_DB_ERROR;
  }
  /* Same lifetime as the compromised certificate, within 1..398 days. */
  if (life < 86400) {
    life = 86400;
  }
  if (life > 398 * 86400) {
    life = 398 * 86400;
  }
  if (!api_pki_sign_generated(w->api, issued, err, err_len, issuer_id,
                              ex->tenant_name, sans, kt, bits, life)) {
    json_decref(sans);
    return CTL_DB_ABORTED;
  }
  json_decref(sans);
  char rid[37] = "";
  int64_t ids[2] = { 0, 0 };
  st = api_pki_cert_record(db, rid, &ids[0], issued, ex->tenant, issuer_uuid,
                           issuer_id, ex->replacement_name, ex->requested_by);
  if (st != CTL_DB_OK) {
    snprintf(err, err_len, "recording the replacement: %s",
             ctl_db_last_error(db)->message);
    return st;
  }
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, ex->id);
  ctl_db_param_text(&p, issued->key_pem);
  st = ctl_db_exec(db, NULL,
                   "INSERT INTO incident_keys (execution, key_pem) VALUES "
                   "($1::uuid, $2)",
                   &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  char hex[48] = "";
  (void)vigil_serial_hex(hex, issued->serial, issued->serial_len);
  char spki[65] = "";
  uint8_t d[32];
  if (vigil_sha256(d, issued->spki, issued->spki_len)) {
    vigil_hex_encode(spki, d, 32);
    spki[64] = '\0';
  }
  st = audit_event(
      db, &ids[1], ex, "incident.replacement.issued",
      json_pack("{s:s,s:s,s:s,s:s,s:s}", "replacement_id", rid, "serial", hex,
                "name", ex->replacement_name, "key_type", key_kind_name(kt),
                "spki_sha256", spki));
  if (st == CTL_DB_OK) {
    st = step_end(
        db, ex->id, "issue_replacement", "done",
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s}", "replacement_id", rid,
                  "serial", hex, "name", ex->replacement_name, "issuer_id",
                  issuer_id, "key_type", key_kind_name(kt), "not_after",
                  (json_int_t)issued->not_after, "spki_sha256", spki),
        NULL);
  }
  if (st == CTL_DB_OK) {
    st = exec_advance(db, ex->id, "deliver", ids, 2, NULL, rid);
  }
  *out_published_needed = st == CTL_DB_OK;
  return st;
}

static enum ctl_db_status step_deliver(struct incident_worker *w,
                                       const struct exec_row *ex, char *err,
                                       size_t err_len) {
  struct ctl_db *db = w->db;
  struct ctl_db_params p;
  PGresult *res = NULL;
  char *cert_pem = NULL;
  char *chain = NULL;
  char *key = NULL;
  uint8_t *der = NULL;
  size_t der_len = 0;
  char hex[48] = "";
  enum ctl_db_status st = CTL_DB_ERROR;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, ex->replacement);
  ctl_db_param_text(&p, ex->id);
  st = ctl_db_exec(
      db, &res,
      "WITH RECURSIVE chain(id, parent, der, depth) AS ("
      " SELECT i.id, i.parent, i.cert_der, 1 FROM certificates c JOIN "
      " issuers i ON i.id = c.issuer WHERE c.id = $1::uuid "
      " UNION ALL SELECT i.id, i.parent, i.cert_der, chain.depth + 1 FROM "
      " issuers i JOIN chain ON i.id = chain.parent WHERE chain.depth < 8) "
      "SELECT 0, c.cert_der, c.serial, (SELECT key_pem FROM incident_keys "
      "WHERE execution = $2::uuid) FROM certificates c WHERE c.id = $1::uuid "
      "UNION ALL SELECT depth, der, NULL, NULL FROM chain ORDER BY 1",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) < 1 || PQgetisnull(res, 0, 3)) {
    PQclear(res);
    snprintf(err, err_len, "the replacement or its staged key is missing");
    return CTL_DB_ERROR;
  }
  uint8_t serial[20];
  size_t sl = 0;
  if (ctl_db_value_bytes(serial, &sl, sizeof(serial), res, 0, 2)) {
    (void)vigil_serial_hex(hex, serial, sl);
  }
  size_t key_len = strlen(PQgetvalue(res, 0, 3));
  key = vigil_malloc(key_len + 1);
  der = bytea_at(&der_len, res, 0, 1);
  cert_pem = der != NULL ? pem_of(der, der_len, "CERTIFICATE") : NULL;
  size_t cap = 1;
  for (int i = 0; i < PQntuples(res); i++) {
    cap += (size_t)PQgetlength(res, i, 1) * 2 + 128;
  }
  chain = vigil_malloc(cap);
  if (key == NULL || cert_pem == NULL || chain == NULL) {
    PQclear(res);
    snprintf(err, err_len, "out of memory");
    st = CTL_DB_ERROR;
    goto done;
  }
  memcpy(key, PQgetvalue(res, 0, 3), key_len + 1);
  chain[0] = '\0';
  size_t o = 0;
  for (int i = 0; i < PQntuples(res) && i <= MAX_CHAIN; i++) {
    size_t l = 0;
    uint8_t *b = bytea_at(&l, res, i, 1);
    char *pm = b != NULL ? pem_of(b, l, "CERTIFICATE") : NULL;
    if (pm != NULL && o + strlen(pm) < cap) {
      memcpy(chain + o, pm, strlen(pm) + 1);
      o += strlen(pm);
    }
    vigil_free(pm);
    vigil_free(b);
  }
  PQclear(res);
  struct ctl_delivery d = {
    .connector = ex->connector,
    .target = ex->target,
    .check_address = ex->check_address,
    .rollback_ref = ex->rollback_ref,
    .execution_id = ex->id,
    .cert_pem = cert_pem,
    .fullchain_pem = chain,
    .key_pem = key,
    .cert_der = der,
    .cert_der_len = der_len,
    .serial_hex = hex,
  };
  json_t *receipt = NULL;
  char derr[512] = "";
  enum ctl_connector_result cr =
      ctl_connector_deliver(&receipt, derr, sizeof(derr), &w->ccfg, &d);
  if (receipt == NULL) {
    snprintf(err, err_len, "out of memory");
    st = CTL_DB_ERROR;
    goto done;
  }
  int delivered = cr == CTL_CONNECTOR_DELIVERED;
  json_object_set_new(receipt, "serial", json_string(hex));
  json_object_set_new(receipt, "replacement_id", json_string(ex->replacement));
  int64_t aid = 0;
  st = audit_event(
      db, &aid, ex,
      delivered ? "incident.delivery.succeeded" : "incident.delivery.failed",
      json_pack("{s:s,s:s,s:s,s:s,s:O}", "connector", ex->connector, "target",
                ex->target, "serial", hex, "error", derr, "rolled_back",
                json_object_get(receipt, "rolled_back") != NULL
                    ? json_object_get(receipt, "rolled_back")
                    : json_false()));
  if (st == CTL_DB_OK) {
    st = step_end(db, ex->id, "deliver", delivered ? "done" : "failed", receipt,
                  delivered ? NULL : derr);
    receipt = NULL;
  }
  json_decref(receipt);
  /* The key's job is done either way: never keep it longer. */
  if (st == CTL_DB_OK) {
    ctl_db_params_init(&p);
    ctl_db_param_text(&p, ex->id);
    st = ctl_db_exec(
        db, NULL, "DELETE FROM incident_keys WHERE execution = $1::uuid", &p);
  }
  if (st == CTL_DB_OK && !delivered) {
    ctl_db_params_init(&p);
    ctl_db_param_text(&p, ex->id);
    st = ctl_db_exec(db, NULL,
                     "UPDATE incident_steps SET status = 'skipped', "
                     "finished_at = now(), last_error = 'not revoked: the "
                     "delivery failed and was rolled back' WHERE execution = "
                     "$1::uuid AND step = 'revoke' AND status = 'pending'",
                     &p);
  }
  if (st == CTL_DB_OK) {
    st = exec_advance(db, ex->id, delivered ? "revoke" : "seal", &aid, 1,
                      delivered ? NULL : "deliver", NULL);
  }

done:
  if (key != NULL) {
    memset(key, 0, strlen(key));
  }
  vigil_free(key);
  vigil_free(cert_pem);
  vigil_free(chain);
  vigil_free(der);
  return st;
}

static enum ctl_db_status step_revoke(struct incident_worker *w,
                                      const struct exec_row *ex, char *err,
                                      size_t err_len) {
  struct ctl_db *db = w->db;
  int found = 0;
  int already = 0;
  int64_t aid = 0;
  enum ctl_db_status st =
      api_pki_revoke_record(db, &found, &already, &aid, ex->identity,
                            "keyCompromise", ex->requested_by, NULL);
  if (st == CTL_DB_ABORTED && !found) {
    snprintf(err, err_len, "the compromised certificate is gone");
    return CTL_DB_ERROR;
  }
  if (st != CTL_DB_OK && st != CTL_DB_ABORTED) {
    return st;
  }
  st =
      step_end(db, ex->id, "revoke", "done",
               json_pack("{s:s,s:s,s:b}", "certificate", ex->identity, "reason",
                         "keyCompromise", "already_revoked", already),
               NULL);
  if (st == CTL_DB_OK) {
    st = exec_advance(db, ex->id, "seal", &aid, already ? 0 : 1, NULL, NULL);
  }
  return st;
}

/* Returns CTL_DB_OK, a database failure, or CTL_DB_ABORTED when the signer
 * could not seal (retry later). */
static enum ctl_db_status step_seal(struct incident_worker *w,
                                    const struct exec_row *ex, char *err,
                                    size_t err_len) {
  struct ctl_db *db = w->db;
  json_t *pack = NULL;
  char *canon = NULL;
  char *sealed = NULL;
  enum ctl_db_status st = CTL_DB_ERROR;
  int b = build_pack(db, &pack, ex->id);
  if (b != 1) {
    snprintf(err, err_len, "cannot build the evidence pack");
    return b < 0 ? CTL_DB_UNAVAILABLE : CTL_DB_ERROR;
  }
  const char *failed = json_string_value(json_object_get(pack, "failed_step"));
  const char *final = failed != NULL ? "failed" : "completed";
  /* The pack states the outcome it seals. */
  json_object_set_new(pack, "status", json_string(final));
  json_object_set_new(pack, "next_step", json_string("done"));
  canon = json_dumps(pack, JSON_COMPACT | JSON_SORT_KEYS);
  uint8_t digest[32];
  if (canon == NULL || !vigil_sha256(digest, canon, strlen(canon))) {
    snprintf(err, err_len, "out of memory");
    goto done;
  }
  char hex[65];
  vigil_hex_encode(hex, digest, 32);
  hex[64] = '\0';
  char context[96];
  snprintf(context, sizeof(context), "vigil-evidence-v1:%s", ex->id);
  json_t *seal =
      ctl_seal_make(err, err_len, w->api->cfg->signer_socket, digest, context);
  if (seal == NULL) {
    st = CTL_DB_ABORTED;
    goto done;
  }
  json_t *bundle = json_object_get(pack, "audit_bundle");
  json_object_set_new(bundle, "digest", json_string(hex));
  json_object_set_new(bundle, "seal", seal);
  sealed = json_dumps(pack, JSON_COMPACT | JSON_SORT_KEYS);
  if (sealed == NULL) {
    snprintf(err, err_len, "out of memory");
    goto done;
  }
  st =
      step_end(db, ex->id, "seal", "done",
               json_pack("{s:s,s:s}", "digest", hex, "context", context), NULL);
  if (st == CTL_DB_OK) {
    st = audit_event(db, NULL, ex, "incident.execution.sealed",
                     json_pack("{s:s,s:s}", "digest", hex, "status", final));
  }
  if (st == CTL_DB_OK) {
    struct ctl_db_params p;
    ctl_db_params_init(&p);
    ctl_db_param_text(&p, ex->id);
    ctl_db_param_text(&p, final);
    ctl_db_param_text(&p, sealed);
    st = ctl_db_exec(db, NULL,
                     "UPDATE incident_executions SET status = $2, next_step = "
                     "'done', pack = $3, finished_at = now() WHERE id = "
                     "$1::uuid",
                     &p);
  }

done:
  free(canon);
  free(sealed);
  json_decref(pack);
  return st;
}

/* run_step runs the next step of execution |id| if it is due and not
 * locked by another runner. */
static enum step_outcome run_step(struct incident_worker *w, const char *id) {
  struct ctl_db *db = w->db;
  struct ctl_db_params p;
  PGresult *res = NULL;
  struct exec_row ex;
  struct api_pki_issued issued;
  char err[768] = "";
  char issuer_id[64] = "";
  uint8_t ikh[20];
  int publish_good = 0;
  memset(&ex, 0, sizeof(ex));
  memset(&issued, 0, sizeof(issued));
  if (ctl_db_begin(db, CTL_DB_READ_COMMITTED, 0) != CTL_DB_OK) {
    return STEP_RETRY;
  }
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, id);
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "SELECT e.id, e.tenant, t.name, e.identity, e.reason, "
      "e.replacement_name, e.connector, e.target, e.check_address, "
      "e.delivery_rollback_ref, e.requested_by, e.next_step, e.replacement "
      "FROM incident_executions e JOIN tenants t ON t.id = e.tenant "
      "WHERE e.id = $1::uuid AND e.status = 'running' AND "
      "e.next_attempt_at <= now() FOR UPDATE OF e SKIP LOCKED",
      &p);
  if (st != CTL_DB_OK || PQntuples(res) != 1) {
    PQclear(res);
    ctl_db_rollback(db);
    return st == CTL_DB_OK ? STEP_IDLE : STEP_RETRY;
  }
  cp(ex.id, sizeof(ex.id), res, 0, 0);
  cp(ex.tenant, sizeof(ex.tenant), res, 0, 1);
  cp(ex.tenant_name, sizeof(ex.tenant_name), res, 0, 2);
  cp(ex.identity, sizeof(ex.identity), res, 0, 3);
  cp(ex.reason, sizeof(ex.reason), res, 0, 4);
  cp(ex.replacement_name, sizeof(ex.replacement_name), res, 0, 5);
  cp(ex.connector, sizeof(ex.connector), res, 0, 6);
  cp(ex.target, sizeof(ex.target), res, 0, 7);
  cp(ex.check_address, sizeof(ex.check_address), res, 0, 8);
  cp(ex.rollback_ref, sizeof(ex.rollback_ref), res, 0, 9);
  cp(ex.requested_by, sizeof(ex.requested_by), res, 0, 10);
  cp(ex.next_step, sizeof(ex.next_step), res, 0, 11);
  cp(ex.replacement, sizeof(ex.replacement), res, 0, 12);
  PQclear(res);

  const char *step = ex.next_step;
  if (strcmp(step, "record_evidence") == 0) {
    st = step_record_evidence(w, &ex, err, sizeof(err));
  } else if (strcmp(step, "issue_replacement") == 0) {
    st = step_issue(w, &ex, &publish_good, &issued, issuer_id, ikh, err,
                    sizeof(err));
  } else if (strcmp(step, "deliver") == 0) {
    st = step_deliver(w, &ex, err, sizeof(err));
  } else if (strcmp(step, "revoke") == 0) {
    st = step_revoke(w, &ex, err, sizeof(err));
  } else if (strcmp(step, "seal") == 0) {
    st = step_seal(w, &ex, err, sizeof(err));
  } else {
    ctl_db_rollback(db);
    return STEP_IDLE;
  }
  if (st == CTL_DB_OK) {
    failpoint_step(w, "before", step);
    st = ctl_db_commit(db);
  } else {
    if (err[0] == '\0') {
      snprintf(err, sizeof(err), "%s", ctl_db_last_error(db)->message);
    }
    ctl_db_rollback(db);
  }
  if (st != CTL_DB_OK) {
    api_pki_issued_cleanup(&issued);
    note_failure(w, ex.id, step, err[0] ? err : "database error");
    return STEP_RETRY;
  }
  VLOG_INFO(w->api->log, "incident %s: %s committed", ex.id, step);
  failpoint_step(w, "after", step);
  /* After the commit: publish what the step changed (best effort; the
   * refresh loop and the publisher cover failures). */
  if (publish_good) {
    char perr[256];
    if (!api_pki_publish_good(w->api, perr, sizeof(perr), issuer_id, ikh,
                              issued.serial, issued.serial_len,
                              issued.not_after)) {
      VLOG_WARN(w->api->log,
                "incident %s: replacement's good response not "
                "published: %s",
                ex.id, perr);
    }
  }
  if (strcmp(step, "revoke") == 0) {
    (void)api_pki_publish_certificate(w->api, db, ex.identity);
  }
  api_pki_issued_cleanup(&issued);
  return STEP_ADVANCED;
}

static void progress(struct incident_worker *w) {
  pthread_mutex_lock(&w->mu);
  w->progress++;
  pthread_cond_broadcast(&w->done_cv);
  pthread_mutex_unlock(&w->mu);
}

/* stopping: serve is shutting down (checked between steps, so that a stop
 * waits for at most the step in progress; the next start resumes). */
static int stopping(struct incident_worker *w) {
  pthread_mutex_lock(&w->mu);
  int s = w->stop;
  pthread_mutex_unlock(&w->mu);
  return s;
}

static void run_execution(struct incident_worker *w, const char *id) {
  for (int i = 0; i < MAX_STEPS_PER_RUN && !stopping(w); i++) {
    enum step_outcome o = run_step(w, id);
    progress(w);
    if (o != STEP_ADVANCED) {
      return;
    }
  }
}

/* run_due runs every due execution (a restarted process resumes those a
 * crash interrupted). */
static void run_due(struct incident_worker *w) {
  PGresult *res = NULL;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_int64(&p, SCAN_BATCH);
  if (ctl_db_exec(w->db, &res,
                  "SELECT id FROM incident_executions WHERE status = "
                  "'running' AND next_attempt_at <= now() ORDER BY "
                  "created_at LIMIT $1::int",
                  &p) != CTL_DB_OK) {
    return;
  }
  for (int i = 0; i < PQntuples(res) && !stopping(w); i++) {
    char id[37];
    cp(id, sizeof(id), res, i, 0);
    run_execution(w, id);
  }
  PQclear(res);
}

static void *worker_main(void *arg) {
  struct incident_worker *w = arg;
  pthread_mutex_lock(&w->mu);
  while (!w->stop) {
    uint64_t k = w->kicks;
    pthread_mutex_unlock(&w->mu);
    run_due(w);
    pthread_mutex_lock(&w->mu);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (long)(IDLE_WAKE_MS % 1000) * 1000000L;
    ts.tv_sec += IDLE_WAKE_MS / 1000 + ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    while (!w->stop && w->kicks == k) {
      if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0) {
        break;
      }
    }
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* get_worker: the running worker, or NULL before it started. */
static struct incident_worker *get_worker(struct ctl_api *api) {
  return __atomic_load_n(&api->incident_worker, __ATOMIC_ACQUIRE);
}

static void worker_kick(struct incident_worker *w) {
  pthread_mutex_lock(&w->mu);
  w->kicks++;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

int api_incident_worker_start(struct ctl_api *api) {
  struct incident_worker *w = vigil_calloc(1, sizeof(*w));
  if (w == NULL) {
    VLOG_ERROR(api->log, "incident worker: out of memory");
    return 0;
  }
  w->api = api;
  w->ccfg.deploy_root = api->cfg->incident_deploy_root;
  w->ccfg.nginx_reload = api->cfg->incident_nginx_reload;
  w->ccfg.nginx_check = api->cfg->incident_nginx_check;
  w->ccfg.reload_timeout = api->cfg->incident_reload_timeout;
  w->ccfg.tls_check_timeout = api->cfg->incident_tls_check_timeout;
  w->ccfg.log = api->log;
  const char *fp = getenv("VIGIL_CONTROL_FAILPOINT");
  if (fp != NULL && strncmp(fp, "incident.", 9) == 0) {
    snprintf(w->failpoint, sizeof(w->failpoint), "%s", fp);
    VLOG_WARN(api->log, "TEST FAILPOINT %s is set", w->failpoint);
  }
  w->db = ctl_db_new(api->db_opts);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  int ok = w->db != NULL && pthread_mutex_init(&w->mu, NULL) == 0;
  ok = ok && pthread_cond_init(&w->cv, &ca) == 0;
  ok = ok && pthread_cond_init(&w->done_cv, &ca) == 0;
  pthread_condattr_destroy(&ca);
  if (!ok || pthread_create(&w->thread, NULL, worker_main, w) != 0) {
    VLOG_ERROR(api->log, "incident worker: cannot start");
    ctl_db_free(w->db);
    vigil_free(w);
    return 0;
  }
  /* Request threads are already serving: publish the pointer with release
   * order (they read it with acquire, get_worker). */
  __atomic_store_n(&api->incident_worker, (void *)w, __ATOMIC_RELEASE);
  return 1;
}

void api_incident_worker_stop(struct ctl_api *api) {
  struct incident_worker *w = api->incident_worker;
  if (w == NULL) {
    return;
  }
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  pthread_cond_broadcast(&w->cv);
  pthread_cond_broadcast(&w->done_cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->cv);
  pthread_cond_destroy(&w->done_cv);
  pthread_mutex_destroy(&w->mu);
  ctl_db_free(w->db);
  vigil_free(w);
  api->incident_worker = NULL;
}

/* ==========================================================================
 * Endpoints
 * ========================================================================== */

/* answer_execution answers with the execution |id|: its sealed pack when
 * it has one, else its current state. */
static void answer_execution(struct api_req *r, unsigned status,
                             const char *id) {
  PGresult *res = NULL;
  int found = api_fetch_one(
      r, &res,
      "SELECT pack FROM incident_executions WHERE id = $1::uuid AND "
      "($2::uuid IS NULL OR tenant = $2::uuid)",
      id);
  if (found == 0) {
    api_error(r, 404, "not_found", "no incident execution \"%s\"", id);
  }
  if (found != 1) {
    return;
  }
  if (!PQgetisnull(res, 0, 0)) {
    json_t *pack = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    if (pack == NULL) {
      api_error(r, 500, "internal", "stored evidence pack unreadable");
      return;
    }
    api_json(r, status, pack);
    return;
  }
  PQclear(res);
  json_t *pack = NULL;
  int b = build_pack(r->db, &pack, id);
  if (b != 1) {
    api_error(r, b == 0 ? 404 : 503, b == 0 ? "not_found" : "unavailable",
              "execution %s not readable", id);
    return;
  }
  json_object_set_new(pack, "sealed", json_false());
  /* A POST that could not wait for the outcome says so with 202. */
  api_json(r, strcmp(r->method, "GET") == 0 ? status : 202, pack);
}

/* exec_status reads the status of |id| ("" if unknown). */
static void exec_status(struct api_req *r, char *out, size_t out_len,
                        const char *id) {
  struct ctl_db_params p;
  PGresult *res = NULL;
  out[0] = '\0';
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, id);
  if (ctl_db_exec(r->db, &res,
                  "SELECT status FROM incident_executions WHERE id = $1::uuid",
                  &p) == CTL_DB_OK) {
    if (PQntuples(res) == 1) {
      cp(out, out_len, res, 0, 0);
    }
    PQclear(res);
  }
}

/* wait_finished waits (bounded by incident-wait) until |id| is no longer
 * running. Returns 1 if it finished. */
static int wait_finished(struct api_req *r, const char *id) {
  struct incident_worker *w = get_worker(r->api);
  struct timespec start;
  char status[16];
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    exec_status(r, status, sizeof(status), id);
    if (status[0] != '\0' && strcmp(status, "running") != 0) {
      return 1;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec >= r->api->cfg->incident_wait || w == NULL) {
      return 0;
    }
    struct timespec ts = now;
    ts.tv_nsec += 250 * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&w->mu);
    uint64_t seen = w->progress;
    while (!w->stop && w->progress == seen) {
      if (pthread_cond_timedwait(&w->done_cv, &w->mu, &ts) != 0) {
        break;
      }
    }
    int stop_now = w->stop;
    pthread_mutex_unlock(&w->mu);
    if (stop_now) {
      return 0;
    }
  }
}

struct create_txn {
  struct api_req *r;
  const char *identity;
  const char *tenant;
  const char *reason;
  const char *replacement_name;
  const char *connector;
  const char *target;
  const char *check_address;
  const char *rollback_ref;
  char id[37];  /* the execution (new or existing) */
  int existing; /* 1: an execution already covered this identity */
};

static enum ctl_db_status create_txn(struct ctl_db *db, void *arg) {
  struct create_txn *t = arg;
  struct ctl_db_params p;
  PGresult *res = NULL;
  t->existing = 0;
  t->id[0] = '\0';
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, t->identity);
  ctl_db_param_text(&p, t->tenant);
  ctl_db_param_text(&p, t->reason);
  ctl_db_param_text(&p, t->replacement_name);
  ctl_db_param_text(&p, t->connector);
  ctl_db_param_text(&p, t->target);
  ctl_db_param_text(&p, t->check_address);
  ctl_db_param_text(&p, t->rollback_ref);
  ctl_db_param_text(&p, t->r->who.id);
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "INSERT INTO incident_executions (identity, tenant, reason, "
      "replacement_name, connector, target, check_address, "
      "delivery_rollback_ref, requested_by) VALUES ($1::uuid, $2::uuid, $3, "
      "$4, $5, $6, $7, $8, $9::uuid) RETURNING id",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  cp(t->id, sizeof(t->id), res, 0, 0);
  PQclear(res);
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, t->id);
  st = ctl_db_exec(db, NULL,
                   "INSERT INTO incident_steps (execution, step) SELECT "
                   "$1::uuid, s FROM unnest(ARRAY['record_evidence', "
                   "'issue_replacement', 'deliver', 'revoke', 'seal']) s",
                   &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  struct exec_row ex;
  memset(&ex, 0, sizeof(ex));
  snprintf(ex.id, sizeof(ex.id), "%s", t->id);
  snprintf(ex.tenant, sizeof(ex.tenant), "%s", t->tenant);
  snprintf(ex.requested_by, sizeof(ex.requested_by), "%s", t->r->who.id);
  int64_t aid = 0;
  st = audit_event(
      db, &aid, &ex, "incident.execution.created",
      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?}", "identity_id", t->identity,
                "reason", t->reason, "replacement_name", t->replacement_name,
                "connector", t->connector, "target", t->target,
                "delivery_rollback_ref", t->rollback_ref));
  if (st == CTL_DB_OK) {
    st = exec_advance(db, t->id, "record_evidence", &aid, 1, NULL, NULL);
  }
  return st;
}

/* find_existing finds the running execution of |identity|, else its latest
 * completed one. Returns 1 with |out_id|, 0 if none, -1 after answering. */
static int find_existing(struct api_req *r, char *out_id,
                         const char *identity) {
  struct ctl_db_params p;
  PGresult *res = NULL;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, identity);
  enum ctl_db_status st = ctl_db_exec(
      r->db, &res,
      "SELECT id FROM incident_executions WHERE identity = $1::uuid AND "
      "status IN ('running', 'completed') ORDER BY status = 'running' DESC, "
      "created_at DESC LIMIT 1",
      &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return -1;
  }
  int n = PQntuples(res);
  if (n == 1) {
    cp(out_id, 37, res, 0, 0);
  }
  PQclear(res);
  return n == 1;
}

static void h_create(struct api_req *r, const char *arg) {
  (void)arg;
  if (!api_need(r, CTL_ROLE_ISSUER)) {
    return;
  }
  if (r->who.bootstrap) {
    api_error(r, 403, "forbidden",
              "the bootstrap token cannot run incident executions");
    return;
  }
  json_t *o = api_body_object(r);
  if (o == NULL) {
    return;
  }
  const char *identity = NULL;
  const char *reason = NULL;
  const char *rname = NULL;
  const char *connector = NULL;
  const char *target = NULL;
  const char *rollback = NULL;
  const char *check = NULL;
  char err[512];
  char id[37] = "";
  if (!api_get_string(r, &identity, o, "identity_id", 1, 36, 36) ||
      !api_get_string(r, &reason, o, "reason", 1, 1, 1024) ||
      !api_get_string(r, &rname, o, "replacement_name", 1, 1, 255) ||
      !api_get_string(r, &connector, o, "connector", 1, 1, 16) ||
      !api_get_string(r, &target, o, "target", 1, 1, 1024) ||
      !api_get_string(r, &rollback, o, "delivery_rollback_ref", 0, 0, 1024) ||
      !api_get_string(r, &check, o, "check_address", 0, 3, 300)) {
    goto done;
  }
  if (!api_uuid_valid(identity)) {
    api_error(r, 422, "invalid_field", "field \"identity_id\": not an id");
    goto done;
  }
  struct incident_worker *w = get_worker(r->api);
  if (w == NULL) {
    api_error(r, 503, "unavailable", "the incident worker is starting");
    goto done;
  }
  if (!ctl_connector_check(err, sizeof(err), &w->ccfg, connector, target,
                           check)) {
    api_error(r, 422, "invalid_field", "%s", err);
    goto done;
  }
  /* The identity: visible to the caller? */
  PGresult *res = NULL;
  int found = api_fetch_one(
      r, &res,
      "SELECT tenant, status FROM certificates WHERE id = $1::uuid AND "
      "($2::uuid IS NULL OR tenant = $2::uuid)",
      identity);
  if (found == 0) {
    api_error(r, 404, "not_found", "no certificate \"%s\"", identity);
  }
  if (found != 1) {
    goto done;
  }
  char tenant[37];
  char cstatus[16];
  cp(tenant, sizeof(tenant), res, 0, 0);
  cp(cstatus, sizeof(cstatus), res, 0, 1);
  PQclear(res);
  /* A repeated request (or a second one while one runs) gets the same
   * execution. */
  int f = find_existing(r, id, identity);
  if (f < 0) {
    goto done;
  }
  if (f == 1) {
    worker_kick(w);
    (void)wait_finished(r, id);
    answer_execution(r, 200, id);
    goto done;
  }
  if (strcmp(cstatus, "active") != 0) {
    api_error(r, 409, "conflict",
              "certificate %s is already revoked (no execution contained it)",
              identity);
    goto done;
  }
  if (!api_approval_gate(r, "incident.execute", NULL, identity)) {
    goto done;
  }
  struct create_txn t = {
    .r = r,
    .identity = identity,
    .tenant = tenant,
    .reason = reason,
    .replacement_name = rname,
    .connector = connector,
    .target = target,
    .check_address = check,
    .rollback_ref = rollback,
  };
  enum ctl_db_status st =
      ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, create_txn, &t);
  if (st == CTL_DB_CONFLICT) {
    /* Lost a race with an identical request: answer with its execution. */
    if (find_existing(r, id, identity) == 1) {
      (void)wait_finished(r, id);
      answer_execution(r, 200, id);
    } else if (r->resp == NULL) {
      api_error(r, 409, "conflict", "an execution for %s is starting",
                identity);
    }
    goto done;
  }
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    goto done;
  }
  snprintf(id, sizeof(id), "%s", t.id);
  failpoint(w, "incident.after.create");
  worker_kick(w);
  int finished = wait_finished(r, id);
  answer_execution(r, finished ? 201 : 202, id);

done:
  json_decref(o);
}

static void h_get(struct api_req *r, const char *arg) {
  if (!api_need(r, READ_ROLES)) {
    return;
  }
  if (!api_uuid_valid(arg)) {
    api_error(r, 404, "not_found", "no such incident execution");
    return;
  }
  answer_execution(r, 200, arg);
}

static void h_list(struct api_req *r, const char *arg) {
  (void)arg;
  if (!api_need(r, READ_ROLES)) {
    return;
  }
  struct ctl_db_params p;
  PGresult *res = NULL;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, api_scope(r));
  enum ctl_db_status st = ctl_db_exec(
      r->db, &res,
      "SELECT e.id, e.identity, e.status, e.next_step, e.failed_step, "
      "e.replacement, e.connector, e.target, " API_TS(
          "e.created_at") " FROM incident_executions e WHERE ($1::uuid IS "
                          "NULL OR e.tenant = $1::uuid) ORDER BY e.created_at "
                          "DESC LIMIT 100",
      &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return;
  }
  json_t *items = json_array();
  for (int i = 0; i < PQntuples(res); i++) {
#define V(c) (PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c))
    json_array_append_new(
        items,
        json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:s,s:s,s:s}", "id", V(0),
                  "identity_id", V(1), "status", V(2), "next_step", V(3),
                  "failed_step", V(4), "replacement_id", V(5), "connector",
                  V(6), "target", V(7), "created_at", V(8)));
#undef V
  }
  PQclear(res);
  api_json(r, 200, json_pack("{s:o}", "items", items));
}

const struct api_route api_incident_routes[3] = {
  { "POST", "incidents/executions", h_create, API_ROUTE_RERUN },
  { "GET", "incidents/executions", h_list, 0 },
  { "GET", "incidents/executions/*", h_get, 0 },
};
const size_t api_incident_num_routes = 3;
