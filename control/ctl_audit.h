/* ctl_audit.h: the audit log, append-only and hash-chained.
 *
 * Every acknowledged action records an audit event in the same Postgres
 * transaction as the action itself, so an action and its event commit or
 * vanish together (DESIGN.md section 6). The database enforces the rest
 * (migrations/0001_init.sql): UPDATE, DELETE and TRUNCATE of audit_events are
 * refused, and an insert trigger serializes appenders on the single
 * audit_head row and assigns each event its id (no gaps), time, prev_hash
 * and hash = SHA-256(prev_hash || canonical form), computed by Postgres's
 * sha256() (vigil-control never links a crypto library of its own).
 *
 * ctl_audit_verify walks the chain and reports the first broken link. It
 * recomputes the hashes with its own copy of the canonical form, so a
 * tampered database function cannot make a tampered chain verify. The
 * canonical form is documented in docs/operations.md so that anyone can
 * check an exported chain without our code. */
#ifndef VIGIL_CTL_AUDIT_H
#define VIGIL_CTL_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_db.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CTL_AUDIT_HASH_LEN 32

/* --- Appending ------------------------------------------------------------ */

/* One event to append. All strings are borrowed. */
struct ctl_audit_event {
  const char *type;         /* dotted lowercase, e.g. "certificate.revoked"
                               ([a-z][a-z0-9_]* segments, <= 100 bytes) */
  const char *principal;    /* acting principal's uuid; NULL: the control
                               plane itself */
  const char *tenant;       /* tenant uuid, or NULL */
  const char *subject;      /* what was acted on, e.g. "certificate:<uuid>";
                               NULL: "" */
  const char *details_json; /* a JSON object as text; NULL: {} */
};

/* ctl_audit_append appends |ev| inside the caller's open transaction on
 * |db| (begun with ctl_db_begin or inside ctl_db_txn): the event commits or
 * rolls back with the caller's work. It holds the chain's lock until that
 * transaction ends, so keep such transactions short. On CTL_DB_OK,
 * *|out_id| (if non-NULL) is the event's id and |out_hash| (if non-NULL,
 * CTL_AUDIT_HASH_LEN bytes) its hash. Returns CTL_DB_INVALID for a bad type,
 * details that are not a JSON object, or an unknown principal or tenant;
 * CTL_DB_ERROR without an open transaction (nothing is written); otherwise
 * the statement's outcome. After a failure the transaction is aborted. */
enum ctl_db_status ctl_audit_append(
    struct ctl_db *db, int64_t *out_id, uint8_t *out_hash,
    const struct ctl_audit_event *ev) CTL_MUST_CHECK;

/* --- Verifying ------------------------------------------------------------ */

/* What ctl_audit_verify found. */
struct ctl_audit_report {
  int64_t num_events; /* events checked (intact ones before a break) */
  int64_t last_id;    /* id of the last intact event (0: none) */
  uint8_t last_hash[CTL_AUDIT_HASH_LEN]; /* its hash (zeros: none) */
  int intact;        /* 1: every link holds and the head matches */
  int64_t broken_id; /* first event whose link fails (0: the head) */
  char reason[256];  /* what failed, one line ("" when intact) */
};

/* ctl_audit_verify walks audit_events in id order in one read-only
 * REPEATABLE READ snapshot (batches of 1000 rows; memory stays bounded)
 * and checks for each event: its id follows the previous one (no gap),
 * its prev_hash equals the previous event's hash (32 zero octets before the
 * first), and its hash equals SHA-256(prev_hash || canonical form) of its
 * stored fields; at the end, that audit_head names the last event and its
 * hash (events cut off the end). Returns CTL_DB_OK when the walk completed,
 * whether the chain is intact or not: see |out|->intact. Any other status
 * means the walk could not be done (|out| is then zeroed). Needs no open
 * transaction on |db| (it is an error to have one). */
enum ctl_db_status ctl_audit_verify(
    struct ctl_db *db, struct ctl_audit_report *out) CTL_MUST_CHECK;

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CTL_AUDIT_H */
