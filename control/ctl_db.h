/* ctl_db.h: vigil-control's access to Postgres, the source of truth.
 *
 * A struct ctl_db is one libpq connection plus what is needed to use it
 * safely: it (re)connects on demand with a backoff, runs every statement
 * through PQexecParams with out-of-line parameters (never SQL built from
 * input), runs transactions with retries on serialization failures, and
 * maps Postgres errors to the few outcomes the API layer answers with
 * (conflict -> 409, invalid -> 422, unavailable -> 503, ...). One ctl_db
 * belongs to one thread at a time; struct ctl_db_pool hands connections to
 * threads.
 *
 * vigil-control links libpq and never BoringSSL (DESIGN.md section 1); where
 * it needs SHA-256 it asks Postgres (sha256()). */
#ifndef VIGIL_CTL_DB_H
#define VIGIL_CTL_DB_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "vigil/log.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CTL_MUST_CHECK __attribute__((warn_unused_result))
#else
#define CTL_MUST_CHECK
#endif

/* --- Outcomes ------------------------------------------------------------- */

enum ctl_db_status {
  CTL_DB_OK = 0,
  CTL_DB_CONFLICT,    /* unique violation (23505): HTTP 409 */
  CTL_DB_INVALID,     /* data or constraint error (class 22, 23 but 23505):
                         HTTP 422 */
  CTL_DB_RETRY,       /* serialization failure / deadlock (40001, 40P01);
                         ctl_db_txn retries these itself */
  CTL_DB_UNAVAILABLE, /* cannot reach Postgres, connection lost, server
                         shutting down, lock or statement timeout: HTTP 503 */
  CTL_DB_REFUSED,     /* refused by a database rule or privilege (42501),
                         e.g. UPDATE of audit_events */
  CTL_DB_ABORTED,     /* a ctl_db_txn callback asked to roll back */
  CTL_DB_ERROR,       /* anything else (a bug: bad SQL, misuse): HTTP 500 */
};

/* The last error of a connection, for logs and error responses. */
struct ctl_db_error {
  enum ctl_db_status status; /* the mapped outcome (CTL_DB_OK: none) */
  char sqlstate[6];          /* five-character SQLSTATE, "" if none */
  int commit_unknown;        /* 1: the connection broke during COMMIT, so
                                the transaction may or may not have
                                committed */
  char constraint[64];       /* violated constraint's name, "" if none */
  char message[512];         /* primary message (and detail), one line */
};

/* ctl_db_status_name returns a short constant name ("conflict", ...). */
const char *ctl_db_status_name(enum ctl_db_status status);

/* --- Connections ------------------------------------------------------------
 */

struct ctl_db_options {
  const char *conninfo;         /* URL or key=value string (borrowed; copied by
                                   ctl_db_new) */
  int connect_timeout;          /* seconds per connection attempt (>= 2) */
  const char *application_name; /* shown in pg_stat_activity (NULL: none) */
  const struct vigil_log *log;  /* where connection changes are logged
                                   (borrowed, must outlive the ctl_db) */
};

struct ctl_db;

/* ctl_db_new makes a handle for |opts| without connecting (the first
 * statement or ctl_db_connect connects). Returns NULL on allocation failure
 * or if |opts| lacks conninfo or log. Free with ctl_db_free. */
struct ctl_db *ctl_db_new(const struct ctl_db_options *opts);

/* ctl_db_free closes the connection (an open transaction is rolled back by
 * the server) and frees |db|. ctl_db_free(NULL) does nothing. */
void ctl_db_free(struct ctl_db *db);

/* ctl_db_connect makes sure |db| has a working connection: does nothing if
 * it has one, otherwise connects (unless a previous attempt failed less than
 * the backoff ago: 100 ms doubling to 5 s; then it fails at once). Each new
 * session gets TimeZone UTC. Returns CTL_DB_OK or CTL_DB_UNAVAILABLE (details
 * in ctl_db_last_error). Fails with CTL_DB_ERROR inside a transaction whose
 * connection broke: roll back first. */
enum ctl_db_status ctl_db_connect(struct ctl_db *db) CTL_MUST_CHECK;

/* ctl_db_last_error returns the error of the last failed call on |db|
 * (status CTL_DB_OK after a success). Valid until the next call on |db|. */
const struct ctl_db_error *ctl_db_last_error(const struct ctl_db *db);

/* ctl_db_fail records an error of the caller's own making (|st|, message
 * from |fmt|) as |db|'s last error and returns |st|, so that a module
 * built on ctl_db reports misuse the same way ctl_db does. */
enum ctl_db_status ctl_db_fail(struct ctl_db *db, enum ctl_db_status st,
                               const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ctl_db_in_txn returns 1 if a transaction begun with ctl_db_begin is open. */
int ctl_db_in_txn(const struct ctl_db *db);

/* ctl_db_get0_conn returns the libpq connection (borrowed; NULL when not
 * connected), for what this module does not wrap. Do not close it. */
PGconn *ctl_db_get0_conn(struct ctl_db *db);

/* --- Parameters -------------------------------------------------------------
 */

#define CTL_DB_MAX_PARAMS 32

/* Parameters of one statement, $1..$n in the order they are added. Values
 * are borrowed (strings and byte buffers must stay valid until the statement
 * has run); integers are kept inside the struct. Adding more than
 * CTL_DB_MAX_PARAMS marks the struct overflowed and the statement fails with
 * CTL_DB_ERROR, so adders need no checks. */
struct ctl_db_params {
  int num;                               /* parameters added */
  int overflow;                          /* 1: too many were added */
  const char *values[CTL_DB_MAX_PARAMS]; /* NULL: SQL NULL */
  int lengths[CTL_DB_MAX_PARAMS];        /* binary values: length in bytes */
  int formats[CTL_DB_MAX_PARAMS];        /* 0 text, 1 binary */
  Oid types[CTL_DB_MAX_PARAMS];          /* 0: the server infers the type */
  char numbuf[CTL_DB_MAX_PARAMS][24];    /* storage of integer values */
};

/* ctl_db_params_init empties |p|. */
void ctl_db_params_init(struct ctl_db_params *p);

/* ctl_db_param_text adds text |s| (NUL-terminated; NULL: SQL NULL). */
void ctl_db_param_text(struct ctl_db_params *p, const char *s);

/* ctl_db_param_bytes adds |len| bytes at |b| as a binary bytea (|b| may be
 * NULL only if |len| is 0, giving an empty bytea). */
void ctl_db_param_bytes(struct ctl_db_params *p, const uint8_t *b, size_t len);

/* ctl_db_param_int64 adds |v| (as decimal text; the server infers the type
 * from the statement, e.g. bigint or integer). */
void ctl_db_param_int64(struct ctl_db_params *p, int64_t v);

/* ctl_db_param_bool adds a boolean. */
void ctl_db_param_bool(struct ctl_db_params *p, int v);

/* ctl_db_param_null adds an SQL NULL. */
void ctl_db_param_null(struct ctl_db_params *p);

/* --- Statements -------------------------------------------------------------
 */

/* ctl_db_exec runs the single statement |sql| with |params| (NULL: none)
 * through PQexecParams; results come back in text form. Outside a
 * transaction it first (re)connects as ctl_db_connect does. On CTL_DB_OK,
 * if |out_res| is non-NULL it receives the result, which the caller owns
 * (PQclear); on failure *out_res is NULL. A broken connection gives
 * CTL_DB_UNAVAILABLE and ends the transaction, if any (it is gone on the
 * server too); until ctl_db_rollback or ctl_db_commit, further statements
 * then fail with CTL_DB_UNAVAILABLE rather than run outside it. Any other
 * error inside a transaction leaves it aborted until ctl_db_rollback. */
enum ctl_db_status ctl_db_exec(
    struct ctl_db *db, PGresult **out_res, const char *sql,
    const struct ctl_db_params *params) CTL_MUST_CHECK;

/* ctl_db_exec_script runs |script|, which may hold several statements,
 * through the simple query protocol (PQexec) and discards the results. It
 * takes no parameters and is ONLY for trusted SQL files shipped with vigil
 * (migrations); everything else uses ctl_db_exec. On an error,
 * *|out_error_pos| (if non-NULL) receives the 1-based character position
 * Postgres reported in |script| (0: none). */
enum ctl_db_status ctl_db_exec_script(struct ctl_db *db, int *out_error_pos,
                                      const char *script) CTL_MUST_CHECK;

/* --- Result helpers (text-format results) --------------------------------- */

/* ctl_db_value_int64 parses the value at |row|, |col| of |res| as a decimal
 * integer. Returns 1 on success, 0 for NULL, out of range or not a number. */
int ctl_db_value_int64(int64_t *out, const PGresult *res, int row,
                       int col) CTL_MUST_CHECK;

/* ctl_db_value_bytes decodes the bytea at |row|, |col| of |res| (text form
 * "\x..." ) into |out| (room for |max_out| bytes) and sets |*out_len|.
 * Returns 1 on success, 0 for NULL, a malformed value or too little room. */
int ctl_db_value_bytes(uint8_t *out, size_t *out_len, size_t max_out,
                       const PGresult *res, int row, int col) CTL_MUST_CHECK;

/* --- Transactions -----------------------------------------------------------
 */

enum ctl_db_isolation {
  CTL_DB_READ_COMMITTED = 0,
  CTL_DB_REPEATABLE_READ,
  CTL_DB_SERIALIZABLE,
};

/* ctl_db_begin starts a transaction (connecting first if needed). Returns
 * CTL_DB_OK, CTL_DB_UNAVAILABLE, or CTL_DB_ERROR if one is already open. */
enum ctl_db_status ctl_db_begin(struct ctl_db *db, enum ctl_db_isolation iso,
                                int read_only) CTL_MUST_CHECK;

/* ctl_db_commit commits the open transaction. A transaction aborted by an
 * earlier error is rolled back instead and gives CTL_DB_ABORTED. If the
 * connection breaks during COMMIT the outcome is unknown: CTL_DB_UNAVAILABLE
 * with commit_unknown set in ctl_db_last_error. Afterwards no transaction is
 * open, whatever the outcome. */
enum ctl_db_status ctl_db_commit(struct ctl_db *db) CTL_MUST_CHECK;

/* ctl_db_rollback ends the open transaction without committing (no-op if
 * none is open). Never fails from the caller's point of view: a broken
 * connection has lost the transaction anyway. */
void ctl_db_rollback(struct ctl_db *db);

/* A transaction body for ctl_db_txn: runs statements on |db| and returns
 * CTL_DB_OK to commit, or any other status to roll back (CTL_DB_ABORTED for
 * "my own reasons": record them in |arg|). */
typedef enum ctl_db_status (*ctl_db_txn_fn)(struct ctl_db *db, void *arg);

/* ctl_db_txn runs |fn| in a transaction with isolation |iso| and commits if
 * it returns CTL_DB_OK. On CTL_DB_RETRY (from |fn| or from COMMIT) the
 * whole transaction runs again, up to 5 times, so |fn| must be safe to run
 * more than once (reset |arg| at its start). Returns the outcome: CTL_DB_OK
 * once committed, |fn|'s status, or COMMIT's. Never leaves a transaction
 * open. */
enum ctl_db_status ctl_db_txn(struct ctl_db *db, enum ctl_db_isolation iso,
                              int read_only, ctl_db_txn_fn fn,
                              void *arg) CTL_MUST_CHECK;

/* --- Pool -------------------------------------------------------------------
 */

struct ctl_db_pool;

/* ctl_db_pool_new makes a pool of |size| (1..1024) handles for |opts|
 * (connecting lazily). Returns NULL on bad arguments or no memory. */
struct ctl_db_pool *ctl_db_pool_new(const struct ctl_db_options *opts,
                                    unsigned size);

/* ctl_db_pool_free frees the pool and its handles; all must be released.
 * ctl_db_pool_free(NULL) does nothing. */
void ctl_db_pool_free(struct ctl_db_pool *pool);

/* ctl_db_pool_acquire lends a handle, waiting at most |timeout_ms| for one
 * to be released. Returns NULL on timeout. The handle is not necessarily
 * connected (its first statement connects). Thread-safe. */
struct ctl_db *ctl_db_pool_acquire(struct ctl_db_pool *pool,
                                   unsigned timeout_ms);

/* ctl_db_pool_release returns |db| to |pool|, rolling back a transaction
 * left open. Thread-safe. */
void ctl_db_pool_release(struct ctl_db_pool *pool, struct ctl_db *db);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CTL_DB_H */
