/* ctl_db.c: Postgres connections, statements, transactions (see ctl_db.h). */
#include "ctl_db.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil/alloc.h"
#include "vigil/hex.h"

/* Reconnect backoff after a failed attempt: doubles from the first to the
 * last value. While it runs, statements fail at once with UNAVAILABLE
 * instead of each waiting for a connect timeout. */
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS   5000
/* Attempts of a transaction that fails with a serialization error. */
#define TXN_ATTEMPTS 5

struct ctl_db {
  PGconn *conn;                /* NULL while not connected */
  char *conninfo;              /* owned copy */
  char *app_name;              /* owned copy, NULL if none */
  int connect_timeout;         /* seconds */
  const struct vigil_log *log; /* borrowed */
  int in_txn;                  /* a BEGIN is open on |conn| */
  int txn_lost;                /* the connection broke inside it */
  int down;                    /* the last connect attempt failed */
  unsigned backoff_ms;         /* current reconnect backoff */
  uint64_t next_connect_ms;    /* no new attempt before (monotonic) */
  char conn_msg[256];          /* why the last connect failed */
  struct ctl_db_error err;     /* last error */
};

/* ========================================================================
 * Errors
 * ======================================================================== */

const char *ctl_db_status_name(enum ctl_db_status status) {
  switch (status) {
    case CTL_DB_OK:
      return "ok";
    case CTL_DB_CONFLICT:
      return "conflict";
    case CTL_DB_INVALID:
      return "invalid";
    case CTL_DB_RETRY:
      return "retry";
    case CTL_DB_UNAVAILABLE:
      return "unavailable";
    case CTL_DB_REFUSED:
      return "refused";
    case CTL_DB_ABORTED:
      return "aborted";
    case CTL_DB_ERROR:
      return "error";
  }
  return "error";
}

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* copy_line copies |s| into |out| (|len| bytes) with each run of
 * whitespace (newlines, tabs) turned into one space and the ends trimmed:
 * libpq messages end in newlines and may span lines; logs and JSON errors
 * want one line. */
static void copy_line(char *out, size_t len, const char *s) {
  size_t n = 0;
  int space = 0;
  if (len == 0) {
    return;
  }
  for (; s != NULL && *s != '\0' && n + 1 < len; s++) {
    char c = *s;
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      space = n > 0;
      continue;
    }
    if (space) {
      out[n++] = ' ';
      space = 0;
      if (n + 1 >= len) {
        break;
      }
    }
    out[n++] = c;
  }
  out[n] = '\0';
}

static void clear_err(struct ctl_db *db) {
  memset(&db->err, 0, sizeof(db->err));
}

static enum ctl_db_status set_err(struct ctl_db *db, enum ctl_db_status st,
                                  const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum ctl_db_status set_err(struct ctl_db *db, enum ctl_db_status st,
                                  const char *fmt, ...) {
  char buf[sizeof(db->err.message)];
  va_list ap;
  clear_err(db);
  db->err.status = st;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  copy_line(db->err.message, sizeof(db->err.message), buf);
  return st;
}

/* map_sqlstate maps a SQLSTATE to the outcome the API answers with. */
static enum ctl_db_status map_sqlstate(const char *s) {
  if (s == NULL || strlen(s) != 5) {
    return CTL_DB_ERROR;
  }
  if (strcmp(s, "23505") == 0) {
    return CTL_DB_CONFLICT;
  }
  if (s[0] == '2' && (s[1] == '2' || s[1] == '3')) {
    return CTL_DB_INVALID; /* data exception, integrity violation */
  }
  if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0) {
    return CTL_DB_RETRY;
  }
  if ((s[0] == '0' && s[1] == '8') || /* connection exception */
      (s[0] == '5' && s[1] == '3') || /* insufficient resources */
      (s[0] == '5' && s[1] == '7' && s[2] == 'P') || /* shutdown etc. */
      strcmp(s, "57014") == 0 ||                     /* statement timeout */
      strcmp(s, "55P03") == 0 ||                     /* lock timeout */
      strcmp(s, "55006") == 0) {                     /* object in use */
    return CTL_DB_UNAVAILABLE;
  }
  if (strcmp(s, "42501") == 0) {
    return CTL_DB_REFUSED;
  }
  return CTL_DB_ERROR;
}

/* err_from_result fills db->err from a failed |res| (may be NULL). */
static enum ctl_db_status err_from_result(struct ctl_db *db,
                                          const PGresult *res) {
  clear_err(db);
  const char *state =
      res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *primary =
      res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  const char *detail =
      res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
  const char *constraint =
      res != NULL ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
  char buf[sizeof(db->err.message)];
  if (primary == NULL) {
    primary = db->conn != NULL ? PQerrorMessage(db->conn) : "no connection";
  }
  if (detail != NULL) {
    snprintf(buf, sizeof(buf), "%s (%s)", primary, detail);
  } else {
    snprintf(buf, sizeof(buf), "%s", primary);
  }
  copy_line(db->err.message, sizeof(db->err.message), buf);
  if (state != NULL) {
    snprintf(db->err.sqlstate, sizeof(db->err.sqlstate), "%s", state);
  }
  if (constraint != NULL) {
    snprintf(db->err.constraint, sizeof(db->err.constraint), "%s", constraint);
  }
  db->err.status = map_sqlstate(state);
  return db->err.status;
}

/* ========================================================================
 * Connections
 * ======================================================================== */

static void notice_cb(void *arg, const char *message) {
  struct ctl_db *db = arg;
  char line[256];
  copy_line(line, sizeof(line), message);
  VLOG_DEBUG(db->log, "postgres: %s", line);
}

static char *dup_str(const char *s) {
  size_t n = strlen(s);
  char *p = vigil_malloc(n + 1);
  if (p != NULL) {
    memcpy(p, s, n + 1);
  }
  return p;
}

struct ctl_db *ctl_db_new(const struct ctl_db_options *opts) {
  if (opts == NULL || opts->conninfo == NULL || opts->log == NULL) {
    return NULL;
  }
  struct ctl_db *db = vigil_calloc(1, sizeof(*db));
  if (db == NULL) {
    return NULL;
  }
  db->conninfo = dup_str(opts->conninfo);
  if (db->conninfo == NULL) {
    goto err;
  }
  if (opts->application_name != NULL) {
    db->app_name = dup_str(opts->application_name);
    if (db->app_name == NULL) {
      goto err;
    }
  }
  db->connect_timeout = opts->connect_timeout < 2 ? 2 : opts->connect_timeout;
  db->log = opts->log;
  db->backoff_ms = BACKOFF_FIRST_MS;
  return db;

err:
  ctl_db_free(db);
  return NULL;
}

void ctl_db_free(struct ctl_db *db) {
  if (db == NULL) {
    return;
  }
  if (db->conn != NULL) {
    PQfinish(db->conn);
  }
  vigil_free(db->conninfo);
  vigil_free(db->app_name);
  vigil_free(db);
}

/* lost drops a broken connection: its transaction is gone with it. */
static void lost(struct ctl_db *db) {
  if (db->conn != NULL) {
    PQfinish(db->conn);
    db->conn = NULL;
  }
  if (db->in_txn) {
    db->txn_lost = 1;
  }
  db->in_txn = 0;
  VLOG_WARN(db->log, "database connection lost: %s", db->err.message);
}

enum ctl_db_status ctl_db_connect(struct ctl_db *db) {
  if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK) {
    return CTL_DB_OK;
  }
  if (db->in_txn) {
    return set_err(db, CTL_DB_ERROR,
                   "connection broke inside a transaction: roll back first");
  }
  uint64_t now = mono_ms();
  if (db->down && now < db->next_connect_ms) {
    return set_err(db, CTL_DB_UNAVAILABLE,
                   "database unavailable: %s (next attempt in %llu ms)",
                   db->conn_msg,
                   (unsigned long long)(db->next_connect_ms - now));
  }
  if (db->conn != NULL) {
    PQfinish(db->conn);
    db->conn = NULL;
  }
  char timeout[16];
  snprintf(timeout, sizeof(timeout), "%d", db->connect_timeout);
  /* Later entries override earlier ones, so the defaults come first and
   * the operator's URL (expanded from dbname) can override any of them. */
  const char *keys[8];
  const char *vals[8];
  int n = 0;
  keys[n] = "connect_timeout";
  vals[n++] = timeout;
  keys[n] = "keepalives";
  vals[n++] = "1";
  keys[n] = "keepalives_idle";
  vals[n++] = "30";
  keys[n] = "keepalives_interval";
  vals[n++] = "10";
  keys[n] = "keepalives_count";
  vals[n++] = "3";
  if (db->app_name != NULL) {
    keys[n] = "application_name";
    vals[n++] = db->app_name;
  }
  keys[n] = "dbname";
  vals[n++] = db->conninfo;
  keys[n] = NULL;
  vals[n] = NULL;

  PGconn *conn = PQconnectdbParams(keys, vals, 1);
  PGresult *res = NULL;
  if (conn == NULL) {
    snprintf(db->conn_msg, sizeof(db->conn_msg), "out of memory");
    goto fail;
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    copy_line(db->conn_msg, sizeof(db->conn_msg), PQerrorMessage(conn));
    goto fail;
  }
  PQsetNoticeProcessor(conn, notice_cb, db);
  /* Times leave the database in UTC, whatever the server's default. */
  res = PQexecParams(conn, "SELECT set_config('TimeZone', 'UTC', false)", 0,
                     NULL, NULL, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    copy_line(db->conn_msg, sizeof(db->conn_msg), PQerrorMessage(conn));
    goto fail;
  }
  PQclear(res);
  db->conn = conn;
  if (db->down) {
    VLOG_INFO(db->log, "database connection restored");
  }
  db->down = 0;
  db->backoff_ms = BACKOFF_FIRST_MS;
  clear_err(db);
  return CTL_DB_OK;

fail:
  PQclear(res);
  if (conn != NULL) {
    PQfinish(conn);
  }
  if (!db->down) {
    VLOG_WARN(db->log, "cannot connect to the database: %s", db->conn_msg);
  } else {
    VLOG_DEBUG(db->log, "cannot connect to the database: %s", db->conn_msg);
  }
  db->down = 1;
  db->next_connect_ms = mono_ms() + db->backoff_ms;
  db->backoff_ms = db->backoff_ms >= BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS
                                                        : db->backoff_ms * 2;
  return set_err(db, CTL_DB_UNAVAILABLE, "database unavailable: %s",
                 db->conn_msg);
}

const struct ctl_db_error *ctl_db_last_error(const struct ctl_db *db) {
  return &db->err;
}

enum ctl_db_status ctl_db_fail(struct ctl_db *db, enum ctl_db_status st,
                               const char *fmt, ...) {
  char buf[sizeof(db->err.message)];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return set_err(db, st, "%s", buf);
}

int ctl_db_in_txn(const struct ctl_db *db) {
  return db->in_txn;
}

PGconn *ctl_db_get0_conn(struct ctl_db *db) {
  return db->conn;
}

/* ========================================================================
 * Parameters
 * ======================================================================== */

void ctl_db_params_init(struct ctl_db_params *p) {
  memset(p, 0, sizeof(*p));
}

/* slot returns the index of a new parameter, or -1 (and marks overflow). */
static int slot(struct ctl_db_params *p) {
  if (p->num >= CTL_DB_MAX_PARAMS) {
    p->overflow = 1;
    return -1;
  }
  int i = p->num++;
  p->values[i] = NULL;
  p->lengths[i] = 0;
  p->formats[i] = 0;
  p->types[i] = 0;
  return i;
}

void ctl_db_param_text(struct ctl_db_params *p, const char *s) {
  int i = slot(p);
  if (i >= 0) {
    p->values[i] = s;
  }
}

void ctl_db_param_bytes(struct ctl_db_params *p, const uint8_t *b, size_t len) {
  static const char kEmpty[1] = { 0 };
  int i = slot(p);
  if (i < 0) {
    return;
  }
  if (len > INT32_MAX) {
    p->overflow = 1;
    return;
  }
  p->values[i] = b != NULL ? (const char *)b : kEmpty;
  p->lengths[i] = (int)len;
  p->formats[i] = 1;
  p->types[i] = 17; /* BYTEAOID: binary input needs the type */
}

void ctl_db_param_int64(struct ctl_db_params *p, int64_t v) {
  int i = slot(p);
  if (i >= 0) {
    snprintf(p->numbuf[i], sizeof(p->numbuf[i]), "%lld", (long long)v);
    p->values[i] = p->numbuf[i];
  }
}

void ctl_db_param_bool(struct ctl_db_params *p, int v) {
  ctl_db_param_text(p, v ? "true" : "false");
}

void ctl_db_param_null(struct ctl_db_params *p) {
  ctl_db_param_text(p, NULL);
}

/* ========================================================================
 * Statements
 * ======================================================================== */

/* finish maps the outcome of a statement and hands |res| over or frees it. */
static enum ctl_db_status finish(struct ctl_db *db, PGresult *res,
                                 PGresult **out_res) {
  ExecStatusType rs = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK ||
      rs == PGRES_EMPTY_QUERY) {
    clear_err(db);
    if (out_res != NULL) {
      *out_res = res;
    } else {
      PQclear(res);
    }
    return CTL_DB_OK;
  }
  enum ctl_db_status st = err_from_result(db, res);
  PQclear(res);
  if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
    db->err.status = CTL_DB_UNAVAILABLE;
    st = CTL_DB_UNAVAILABLE;
    lost(db);
  } else if (rs != PGRES_FATAL_ERROR && rs != PGRES_NONFATAL_ERROR) {
    /* COPY and pipeline states: not something this layer issues. */
    st = set_err(db, CTL_DB_ERROR, "unexpected result status %s",
                 PQresStatus(rs));
  }
  return st;
}

enum ctl_db_status ctl_db_exec(struct ctl_db *db, PGresult **out_res,
                               const char *sql,
                               const struct ctl_db_params *params) {
  if (out_res != NULL) {
    *out_res = NULL;
  }
  if (params != NULL && params->overflow) {
    return set_err(db, CTL_DB_ERROR, "more than %d statement parameters",
                   CTL_DB_MAX_PARAMS);
  }
  if (db->txn_lost) {
    /* Running on would autocommit what was meant to be atomic. */
    return set_err(db, CTL_DB_UNAVAILABLE,
                   "connection lost during the transaction; roll back");
  }
  if (!db->in_txn) {
    enum ctl_db_status st = ctl_db_connect(db);
    if (st != CTL_DB_OK) {
      return st;
    }
  } else if (db->conn == NULL) {
    return set_err(db, CTL_DB_ERROR, "transaction without a connection");
  }
  int n = params != NULL ? params->num : 0;
  PGresult *res = PQexecParams(db->conn, sql, n, n > 0 ? params->types : NULL,
                               n > 0 ? params->values : NULL,
                               n > 0 ? params->lengths : NULL,
                               n > 0 ? params->formats : NULL, 0);
  return finish(db, res, out_res);
}

enum ctl_db_status ctl_db_exec_script(struct ctl_db *db, int *out_error_pos,
                                      const char *script) {
  if (out_error_pos != NULL) {
    *out_error_pos = 0;
  }
  if (db->txn_lost) {
    return set_err(db, CTL_DB_UNAVAILABLE,
                   "connection lost during the transaction; roll back");
  }
  if (!db->in_txn) {
    enum ctl_db_status st = ctl_db_connect(db);
    if (st != CTL_DB_OK) {
      return st;
    }
  }
  /* The one use of the simple query protocol: a migration file holds many
   * statements, which PQexecParams refuses. It never carries input. */
  PGresult *res = PQexec(db->conn, script);
  if (res != NULL && out_error_pos != NULL) {
    const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
    if (pos != NULL) {
      long v = strtol(pos, NULL, 10);
      *out_error_pos = v > 0 && v < INT32_MAX ? (int)v : 0;
    }
  }
  return finish(db, res, NULL);
}

/* ========================================================================
 * Result helpers
 * ======================================================================== */

int ctl_db_value_int64(int64_t *out, const PGresult *res, int row, int col) {
  if (PQgetisnull(res, row, col)) {
    return 0;
  }
  const char *s = PQgetvalue(res, row, col);
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') {
    return 0;
  }
  *out = (int64_t)v;
  return 1;
}

int ctl_db_value_bytes(uint8_t *out, size_t *out_len, size_t max_out,
                       const PGresult *res, int row, int col) {
  if (PQgetisnull(res, row, col)) {
    return 0;
  }
  const char *s = PQgetvalue(res, row, col);
  size_t n = (size_t)PQgetlength(res, row, col);
  /* bytea_output = hex (the default since PostgreSQL 9.0). */
  if (n < 2 || s[0] != '\\' || s[1] != 'x') {
    return 0;
  }
  return vigil_hex_decode(out, out_len, max_out, s + 2, n - 2);
}

/* ========================================================================
 * Transactions
 * ======================================================================== */

enum ctl_db_status ctl_db_begin(struct ctl_db *db, enum ctl_db_isolation iso,
                                int read_only) {
  if (db->in_txn) {
    return set_err(db, CTL_DB_ERROR, "a transaction is already open");
  }
  db->txn_lost = 0;
  const char *sql;
  switch (iso) {
    case CTL_DB_SERIALIZABLE:
      sql = read_only ? "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY"
                      : "BEGIN ISOLATION LEVEL SERIALIZABLE";
      break;
    case CTL_DB_REPEATABLE_READ:
      sql = read_only ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                      : "BEGIN ISOLATION LEVEL REPEATABLE READ";
      break;
    case CTL_DB_READ_COMMITTED:
    default:
      sql = read_only ? "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY"
                      : "BEGIN ISOLATION LEVEL READ COMMITTED";
      break;
  }
  /* An idle connection the server dropped (restart, failover) is noticed
   * only when used. Nothing has run yet, so one fresh attempt is safe. */
  for (int attempt = 0; attempt < 2; attempt++) {
    int had_conn = db->conn != NULL;
    enum ctl_db_status st = ctl_db_exec(db, NULL, sql, NULL);
    if (st == CTL_DB_OK) {
      db->in_txn = 1;
      db->txn_lost = 0;
      return CTL_DB_OK;
    }
    if (st != CTL_DB_UNAVAILABLE || !had_conn || db->conn != NULL) {
      return st;
    }
    db->down = 0; /* reconnect now, without backoff */
  }
  return db->err.status;
}

void ctl_db_rollback(struct ctl_db *db) {
  db->txn_lost = 0;
  if (!db->in_txn) {
    return;
  }
  db->in_txn = 0;
  if (db->conn == NULL) {
    return;
  }
  /* Keeps db->err: the caller usually rolls back because of it. */
  PGresult *res = PQexec(db->conn, "ROLLBACK");
  PQclear(res);
  if (PQstatus(db->conn) != CONNECTION_OK) {
    PQfinish(db->conn);
    db->conn = NULL;
  }
}

enum ctl_db_status ctl_db_commit(struct ctl_db *db) {
  if (!db->in_txn) {
    if (db->txn_lost) {
      db->txn_lost = 0;
      return set_err(db, CTL_DB_UNAVAILABLE,
                     "connection lost during the transaction; nothing was "
                     "committed");
    }
    return set_err(db, CTL_DB_ERROR, "no transaction to commit");
  }
  if (db->conn == NULL) {
    db->in_txn = 0;
    return set_err(db, CTL_DB_UNAVAILABLE, "connection lost");
  }
  if (PQtransactionStatus(db->conn) == PQTRANS_INERROR) {
    ctl_db_rollback(db);
    return set_err(db, CTL_DB_ABORTED,
                   "the transaction failed earlier and was rolled back");
  }
  PGresult *res = PQexec(db->conn, "COMMIT");
  db->in_txn = 0;
  if (PQresultStatus(res) == PGRES_COMMAND_OK) {
    /* COMMIT of a failed transaction answers ROLLBACK, without error. */
    int rolled_back = strcmp(PQcmdStatus(res), "ROLLBACK") == 0;
    PQclear(res);
    if (rolled_back) {
      return set_err(db, CTL_DB_ABORTED, "the transaction was rolled back");
    }
    clear_err(db);
    return CTL_DB_OK;
  }
  enum ctl_db_status st = finish(db, res, NULL);
  if (st == CTL_DB_UNAVAILABLE) {
    db->err.commit_unknown = 1;
  }
  return st;
}

enum ctl_db_status ctl_db_txn(struct ctl_db *db, enum ctl_db_isolation iso,
                              int read_only, ctl_db_txn_fn fn, void *arg) {
  enum ctl_db_status st = CTL_DB_ERROR;
  for (int attempt = 1; attempt <= TXN_ATTEMPTS; attempt++) {
    st = ctl_db_begin(db, iso, read_only);
    if (st != CTL_DB_OK) {
      return st;
    }
    st = fn(db, arg);
    if (st == CTL_DB_OK) {
      st = ctl_db_commit(db);
    } else {
      ctl_db_rollback(db);
    }
    if (st != CTL_DB_RETRY) {
      return st;
    }
    VLOG_DEBUG(db->log, "transaction attempt %d: %s; retrying", attempt,
               db->err.message);
  }
  return st;
}

/* ========================================================================
 * Pool
 * ======================================================================== */

struct ctl_db_pool {
  pthread_mutex_t mu;
  pthread_cond_t cv;   /* signalled when a handle is released */
  unsigned size;       /* handles owned */
  unsigned num_free;   /* handles in |free_list| */
  struct ctl_db **all; /* every handle (size) */
  struct ctl_db **free_list;
};

struct ctl_db_pool *ctl_db_pool_new(const struct ctl_db_options *opts,
                                    unsigned size) {
  if (size == 0 || size > 1024) {
    return NULL;
  }
  struct ctl_db_pool *pool = vigil_calloc(1, sizeof(*pool));
  if (pool == NULL) {
    return NULL;
  }
  int have_mu = 0;
  int have_cv = 0;
  pthread_condattr_t ca;
  if (pthread_mutex_init(&pool->mu, NULL) != 0) {
    goto err;
  }
  have_mu = 1;
  if (pthread_condattr_init(&ca) != 0) {
    goto err;
  }
  int ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
           pthread_cond_init(&pool->cv, &ca) == 0;
  pthread_condattr_destroy(&ca);
  if (!ok) {
    goto err;
  }
  have_cv = 1;
  pool->all = vigil_calloc(size, sizeof(*pool->all));
  pool->free_list = vigil_calloc(size, sizeof(*pool->free_list));
  if (pool->all == NULL || pool->free_list == NULL) {
    goto err;
  }
  for (unsigned i = 0; i < size; i++) {
    pool->all[i] = ctl_db_new(opts);
    if (pool->all[i] == NULL) {
      goto err;
    }
    pool->size++;
    pool->free_list[pool->num_free++] = pool->all[i];
  }
  return pool;

err:
  for (unsigned i = 0; pool->all != NULL && i < pool->size; i++) {
    ctl_db_free(pool->all[i]);
  }
  vigil_free(pool->all);
  vigil_free(pool->free_list);
  if (have_cv) {
    pthread_cond_destroy(&pool->cv);
  }
  if (have_mu) {
    pthread_mutex_destroy(&pool->mu);
  }
  vigil_free(pool);
  return NULL;
}

void ctl_db_pool_free(struct ctl_db_pool *pool) {
  if (pool == NULL) {
    return;
  }
  for (unsigned i = 0; i < pool->size; i++) {
    ctl_db_free(pool->all[i]);
  }
  vigil_free(pool->all);
  vigil_free(pool->free_list);
  pthread_cond_destroy(&pool->cv);
  pthread_mutex_destroy(&pool->mu);
  vigil_free(pool);
}

struct ctl_db *ctl_db_pool_acquire(struct ctl_db_pool *pool,
                                   unsigned timeout_ms) {
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  struct ctl_db *db = NULL;
  pthread_mutex_lock(&pool->mu);
  while (pool->num_free == 0) {
    int rc = pthread_cond_timedwait(&pool->cv, &pool->mu, &deadline);
    if (rc == ETIMEDOUT && pool->num_free == 0) {
      goto done;
    }
  }
  db = pool->free_list[--pool->num_free];

done:
  pthread_mutex_unlock(&pool->mu);
  return db;
}

void ctl_db_pool_release(struct ctl_db_pool *pool, struct ctl_db *db) {
  if (db == NULL) {
    return;
  }
  if (db->in_txn) {
    VLOG_WARN(db->log,
              "connection returned to the pool inside a "
              "transaction; rolling back");
  }
  ctl_db_rollback(db); /* also forgets a transaction lost with its
                          connection */
  pthread_mutex_lock(&pool->mu);
  pool->free_list[pool->num_free++] = db;
  pthread_cond_signal(&pool->cv);
  pthread_mutex_unlock(&pool->mu);
}
