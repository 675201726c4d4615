/* ctl_audit.c: append to and verify the audit chain (see ctl_audit.h). */
#include "ctl_audit.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vigil/hex.h"

/* Rows fetched per verification query. */
#define VERIFY_BATCH 1000

#define HEX_LEN (2 * CTL_AUDIT_HASH_LEN)

enum ctl_db_status ctl_audit_append(struct ctl_db *db, int64_t *out_id,
                                    uint8_t *out_hash,
                                    const struct ctl_audit_event *ev) {
  if (out_id != NULL) {
    *out_id = 0;
  }
  if (!ctl_db_in_txn(db)) {
    /* An event committed apart from its action could record an action that
     * never happened, or miss one that did. */
    return ctl_db_fail(db, CTL_DB_ERROR,
                       "ctl_audit_append needs an open transaction");
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, ev->type);
  ctl_db_param_text(&p, ev->principal);
  ctl_db_param_text(&p, ev->tenant);
  ctl_db_param_text(&p, ev->subject);
  ctl_db_param_text(&p, ev->details_json);
  /* id, at, prev_hash and hash are set by the audit_events_chain trigger. */
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "INSERT INTO audit_events (type, principal, tenant, subject, details) "
      "VALUES ($1, $2::uuid, $3::uuid, coalesce($4, ''), "
      "coalesce($5::jsonb, '{}'::jsonb)) RETURNING id, hash",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  int64_t id = 0;
  uint8_t hash[CTL_AUDIT_HASH_LEN];
  size_t hash_len = 0;
  if (PQntuples(res) != 1 || !ctl_db_value_int64(&id, res, 0, 0) ||
      !ctl_db_value_bytes(hash, &hash_len, sizeof(hash), res, 0, 1) ||
      hash_len != sizeof(hash)) {
    PQclear(res);
    return ctl_db_fail(db, CTL_DB_ERROR, "audit insert returned no id/hash");
  }
  PQclear(res);
  if (out_id != NULL) {
    *out_id = id;
  }
  if (out_hash != NULL) {
    memcpy(out_hash, hash, sizeof(hash));
  }
  return CTL_DB_OK;
}

/* The canonical form, spelled out here independently of the database's
 * audit_event_canonical(): netstrings ("<octets>:<value>,") of the version
 * tag, id, time in microseconds since the epoch, type, principal, tenant
 * (uuid text or ""), subject and details::text, as UTF-8. The stored hash
 * must equal SHA-256(prev_hash || that). */
static const char kVerifySql[] =
    "SELECT e.id, encode(e.prev_hash, 'hex'), encode(e.hash, 'hex'), "
    "  encode(sha256(e.prev_hash || convert_to('14:vigil-audit-v1,' || "
    "    (SELECT string_agg(octet_length(f)::text || ':' || f || ',', '' "
    "                       ORDER BY n) "
    "       FROM unnest(ARRAY["
    "         e.id::text, "
    "         ((extract(epoch FROM e.at) * 1000000)::bigint)::text, "
    "         e.type, "
    "         coalesce(e.principal::text, ''), "
    "         coalesce(e.tenant::text, ''), "
    "         e.subject, "
    "         e.details::text]) WITH ORDINALITY AS u(f, n)), "
    "    'UTF8')), 'hex') "
    "FROM audit_events e WHERE e.id > $1 ORDER BY e.id LIMIT $2";

static void broken(struct ctl_audit_report *out, int64_t id, const char *fmt,
                   ...) __attribute__((format(printf, 3, 4)));

static void broken(struct ctl_audit_report *out, int64_t id, const char *fmt,
                   ...) {
  va_list ap;
  out->intact = 0;
  out->broken_id = id;
  va_start(ap, fmt);
  vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
  va_end(ap);
}

/* walk checks the chain inside the open snapshot; returns CTL_DB_OK when
 * it came to a verdict. */
static enum ctl_db_status walk(struct ctl_db *db,
                               struct ctl_audit_report *out) {
  char prev_hex[HEX_LEN + 1];
  memset(prev_hex, '0', HEX_LEN);
  prev_hex[HEX_LEN] = '\0';
  int64_t prev_id = 0;
  PGresult *res = NULL;
  enum ctl_db_status st;
  for (;;) {
    struct ctl_db_params p;
    ctl_db_params_init(&p);
    ctl_db_param_int64(&p, prev_id);
    ctl_db_param_int64(&p, VERIFY_BATCH);
    st = ctl_db_exec(db, &res, kVerifySql, &p);
    if (st != CTL_DB_OK) {
      return st;
    }
    int rows = PQntuples(res);
    for (int i = 0; i < rows; i++) {
      int64_t id = 0;
      if (!ctl_db_value_int64(&id, res, i, 0) || PQgetisnull(res, i, 1) ||
          PQgetisnull(res, i, 2) || PQgetisnull(res, i, 3)) {
        broken(out, prev_id + 1, "NULL id or hash fields");
        goto verdict;
      }
      const char *prev = PQgetvalue(res, i, 1);
      const char *hash = PQgetvalue(res, i, 2);
      const char *computed = PQgetvalue(res, i, 3);
      if (id != prev_id + 1) {
        broken(out, prev_id + 1,
               "event %lld is missing (the next event is %lld)",
               (long long)(prev_id + 1), (long long)id);
        goto verdict;
      }
      if (strcmp(prev, prev_hex) != 0) {
        broken(out, id,
               "prev_hash %.16s... does not match the hash of event %lld "
               "(%.16s...)",
               prev, (long long)prev_id, prev_hex);
        goto verdict;
      }
      if (strcmp(hash, computed) != 0) {
        broken(out, id,
               "stored hash %.16s... does not match the event's content "
               "(recomputed %.16s...): the event was modified",
               hash, computed);
        goto verdict;
      }
      memcpy(prev_hex, hash, HEX_LEN + 1);
      prev_id = id;
      out->num_events++;
      out->last_id = id;
    }
    PQclear(res);
    res = NULL;
    if (rows < VERIFY_BATCH) {
      break;
    }
  }

  st = ctl_db_exec(db, &res,
                   "SELECT last_id, encode(last_hash, 'hex') FROM audit_head",
                   NULL);
  if (st != CTL_DB_OK) {
    return st;
  }
  int64_t head_id = 0;
  if (PQntuples(res) != 1 || !ctl_db_value_int64(&head_id, res, 0, 0) ||
      PQgetisnull(res, 0, 1)) {
    broken(out, 0, "audit_head is missing or damaged");
    goto verdict;
  }
  if (head_id != prev_id || strcmp(PQgetvalue(res, 0, 1), prev_hex) != 0) {
    broken(out, head_id > prev_id ? prev_id + 1 : 0,
           "audit_head names event %lld (%.16s...) but the chain ends at "
           "event %lld (%.16s...): events were removed from the end or the "
           "head was altered",
           (long long)head_id, PQgetvalue(res, 0, 1), (long long)prev_id,
           prev_hex);
    goto verdict;
  }
  out->intact = 1;

verdict:
  PQclear(res);
  if (out->last_id > 0) {
    size_t len = 0;
    if (!vigil_hex_decode(out->last_hash, &len, sizeof(out->last_hash),
                          prev_hex, HEX_LEN)) {
      memset(out->last_hash, 0, sizeof(out->last_hash));
    }
  }
  return CTL_DB_OK;
}

enum ctl_db_status ctl_audit_verify(struct ctl_db *db,
                                    struct ctl_audit_report *out) {
  memset(out, 0, sizeof(*out));
  if (ctl_db_in_txn(db)) {
    return ctl_db_fail(db, CTL_DB_ERROR,
                       "ctl_audit_verify needs its own transaction");
  }
  /* One snapshot for the whole walk: appenders may continue meanwhile. */
  enum ctl_db_status st = ctl_db_begin(db, CTL_DB_REPEATABLE_READ, 1);
  if (st != CTL_DB_OK) {
    return st;
  }
  st = walk(db, out);
  ctl_db_rollback(db);
  if (st != CTL_DB_OK) {
    memset(out, 0, sizeof(*out));
  }
  return st;
}
