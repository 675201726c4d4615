/* ctl_selftest.c: hidden selftests against a real Postgres (see
 * ctl_selftest.h). Each check prints one TAP-like line. */
#include "ctl_selftest.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_audit.h"
#include "vigil/alloc.h"

#define MAX_THREADS 16

struct checks {
  int failed; /* checks that failed */
  int run;    /* checks run */
};

static void check(struct checks *c, int ok, const char *name, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));

static void check(struct checks *c, int ok, const char *name, const char *fmt,
                  ...) {
  c->run++;
  if (ok) {
    printf("ok - %s\n", name);
    return;
  }
  c->failed++;
  char buf[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  printf("not ok - %s: %s\n", name, buf);
}

static int parse_count(long *out, const char *s, long min, long max) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
    return 0;
  }
  *out = v;
  return 1;
}

/* query1 runs |sql| and copies the first column of the first row into |out|
 * ("" for NULL). Returns the status. */
static enum ctl_db_status query1(struct ctl_db *db, char *out, size_t out_len,
                                 const char *sql,
                                 const struct ctl_db_params *p) {
  PGresult *res = NULL;
  out[0] = '\0';
  enum ctl_db_status st = ctl_db_exec(db, &res, sql, p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) > 0 && PQnfields(res) > 0) {
    snprintf(out, out_len, "%s", PQgetvalue(res, 0, 0));
  }
  PQclear(res);
  return CTL_DB_OK;
}

/* ========================================================================
 * selftest db
 * ======================================================================== */

/* A transaction body running the statements in |sql| (NULL-terminated)
 * and returning |final| if all succeed. */
struct script {
  const char *const *sql;
  enum ctl_db_status final;
  int runs; /* how many times the body ran */
};

static enum ctl_db_status run_script(struct ctl_db *db, void *arg) {
  struct script *s = arg;
  s->runs++;
  for (size_t i = 0; s->sql[i] != NULL; i++) {
    enum ctl_db_status st = ctl_db_exec(db, NULL, s->sql[i], NULL);
    if (st != CTL_DB_OK) {
      return st;
    }
  }
  return s->final;
}

/* A body that ignores a failing statement and asks to commit anyway. */
static enum ctl_db_status ignore_error(struct ctl_db *db, void *arg) {
  (void)arg;
  if (ctl_db_exec(db, NULL, "SELECT 1/0", NULL) == CTL_DB_OK) {
    return CTL_DB_ERROR;
  }
  return CTL_DB_OK;
}

static enum ctl_db_status select_one(struct ctl_db *db, void *arg) {
  return query1(db, arg, 8, "SELECT 1", NULL);
}

static enum ctl_db_status append_probe(struct ctl_db *db, void *arg) {
  const struct ctl_audit_event *ev = arg;
  return ctl_audit_append(db, NULL, NULL, ev);
}

static int terminate(struct ctl_db *killer, struct ctl_db *victim) {
  char pid[32];
  char ok[8];
  if (query1(victim, pid, sizeof(pid), "SELECT pg_backend_pid()", NULL) !=
      CTL_DB_OK) {
    return 0;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, pid);
  if (query1(killer, ok, sizeof(ok), "SELECT pg_terminate_backend($1::int)",
             &p) != CTL_DB_OK) {
    return 0;
  }
  /* Wait (bounded by the server) until the backend is really gone. */
  if (query1(killer, ok, sizeof(ok),
             "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int",
             &p) != CTL_DB_OK) {
    return 0;
  }
  for (int i = 0; i < 1000 && strcmp(ok, "0") != 0; i++) {
    if (query1(killer, ok, sizeof(ok),
               "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int "
               "AND pg_sleep(0.01) IS NOT NULL",
               &p) != CTL_DB_OK) {
      return 0;
    }
  }
  return strcmp(ok, "0") == 0;
}

static int selftest_db(const struct ctl_db_options *opts) {
  struct checks c = { 0, 0 };
  struct ctl_db *db = ctl_db_new(opts);
  struct ctl_db *db2 = ctl_db_new(opts);
  struct ctl_db *down = NULL;
  struct ctl_db_pool *pool = NULL;
  char out[256];
  char out2[256];
  enum ctl_db_status st;
  const struct ctl_db_error *e;
  int rc = 1;
  if (db == NULL || db2 == NULL) {
    goto err;
  }
  if (ctl_db_connect(db) != CTL_DB_OK) {
    printf("not ok - connect: %s\n", ctl_db_last_error(db)->message);
    rc = 3;
    goto err;
  }

  /* Parameters travel out of line: bytes with NULs, hostile text. */
  {
    static const uint8_t kBytes[] = { 0x00, 0xff, 0x00, 0x41 };
    static const char kText[] = "Z\xc3\xbcrich 'x'); DROP TABLE tenants; --";
    struct ctl_db_params p;
    ctl_db_params_init(&p);
    ctl_db_param_bytes(&p, kBytes, sizeof(kBytes));
    ctl_db_param_text(&p, kText);
    ctl_db_param_int64(&p, INT64_MAX - 1);
    ctl_db_param_null(&p);
    ctl_db_param_bool(&p, 1);
    PGresult *res = NULL;
    st = ctl_db_exec(db, &res,
                     "SELECT encode($1, 'hex'), $2::text, $3::bigint + 1, "
                     "$4::text IS NULL, $5::boolean, $1::bytea",
                     &p);
    int ok = st == CTL_DB_OK && PQntuples(res) == 1 &&
             strcmp(PQgetvalue(res, 0, 0), "00ff0041") == 0 &&
             strcmp(PQgetvalue(res, 0, 1), kText) == 0 &&
             strcmp(PQgetvalue(res, 0, 2), "9223372036854775807") == 0 &&
             strcmp(PQgetvalue(res, 0, 3), "t") == 0 &&
             strcmp(PQgetvalue(res, 0, 4), "t") == 0;
    uint8_t back[8];
    size_t back_len = 0;
    ok = ok && ctl_db_value_bytes(back, &back_len, sizeof(back), res, 0, 5) &&
         back_len == sizeof(kBytes) && memcmp(back, kBytes, back_len) == 0;
    int64_t v = 0;
    ok = ok && ctl_db_value_int64(&v, res, 0, 2) && v == INT64_MAX;
    check(&c, ok, "parameters round-trip", "status %s: %s",
          ctl_db_status_name(st), ctl_db_last_error(db)->message);
    PQclear(res);

    ctl_db_params_init(&p);
    for (int i = 0; i <= CTL_DB_MAX_PARAMS; i++) {
      ctl_db_param_int64(&p, i);
    }
    st = ctl_db_exec(db, NULL, "SELECT 1", &p);
    check(&c, st == CTL_DB_ERROR, "too many parameters refused", "got %s",
          ctl_db_status_name(st));
  }

  /* Error mapping. */
  {
    static const char *const kDup[] = {
      "INSERT INTO tenants (name) VALUES ('selftest-dup')",
      "INSERT INTO tenants (name) VALUES ('selftest-dup')", NULL
    };
    struct script s = { kDup, CTL_DB_OK, 0 };
    st = ctl_db_txn(db, CTL_DB_READ_COMMITTED, 0, run_script, &s);
    e = ctl_db_last_error(db);
    check(&c,
          st == CTL_DB_CONFLICT && strcmp(e->sqlstate, "23505") == 0 &&
              strcmp(e->constraint, "tenants_name_key") == 0,
          "unique violation is a conflict", "got %s [%s] constraint %s: %s",
          ctl_db_status_name(st), e->sqlstate, e->constraint, e->message);
    st = query1(db, out, sizeof(out),
                "SELECT count(*) FROM tenants WHERE name = 'selftest-dup'",
                NULL);
    check(&c, st == CTL_DB_OK && strcmp(out, "0") == 0,
          "failed transaction left nothing", "count %s", out);

    static const char *const kBad[] = {
      "INSERT INTO tenants (name) VALUES ('Not A Tenant')", NULL
    };
    s.sql = kBad;
    st = ctl_db_txn(db, CTL_DB_READ_COMMITTED, 0, run_script, &s);
    e = ctl_db_last_error(db);
    check(&c,
          st == CTL_DB_INVALID &&
              strcmp(e->constraint, "tenants_name_format") == 0,
          "check violation is invalid", "got %s constraint %s: %s",
          ctl_db_status_name(st), e->constraint, e->message);

    st = ctl_db_exec(db, NULL, "SELECT 'x'::uuid", NULL);
    check(&c, st == CTL_DB_INVALID, "bad input is invalid", "got %s",
          ctl_db_status_name(st));

    st = ctl_db_exec(db, NULL, "SELEC 1", NULL);
    e = ctl_db_last_error(db);
    check(&c, st == CTL_DB_ERROR && strcmp(e->sqlstate, "42601") == 0,
          "syntax error is an error", "got %s [%s]", ctl_db_status_name(st),
          e->sqlstate);
  }

  /* The audit log refuses changes, and needs a transaction. */
  {
    struct ctl_audit_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = "selftest.probe";
    st = ctl_db_txn(db, CTL_DB_READ_COMMITTED, 0, append_probe, &ev);
    check(&c, st == CTL_DB_OK, "audit append in a transaction", "got %s: %s",
          ctl_db_status_name(st), ctl_db_last_error(db)->message);
    st =
        query1(db, out, sizeof(out), "SELECT count(*) FROM audit_events", NULL);
    st = ctl_audit_append(db, NULL, NULL, &ev);
    check(&c, st == CTL_DB_ERROR, "audit append outside a transaction refused",
          "got %s", ctl_db_status_name(st));
    if (query1(db, out2, sizeof(out2), "SELECT count(*) FROM audit_events",
               NULL) != CTL_DB_OK) {
      out2[0] = '\0';
    }
    check(&c, strcmp(out, out2) == 0, "nothing appended outside", "%s vs %s",
          out, out2);

    static const char *const kUpd[] = {
      "UPDATE audit_events SET subject = 'changed'", NULL
    };
    struct script s = { kUpd, CTL_DB_OK, 0 };
    st = ctl_db_txn(db, CTL_DB_READ_COMMITTED, 0, run_script, &s);
    e = ctl_db_last_error(db);
    check(&c, st == CTL_DB_REFUSED && strcmp(e->sqlstate, "42501") == 0,
          "UPDATE of audit_events refused", "got %s [%s]: %s",
          ctl_db_status_name(st), e->sqlstate, e->message);
  }

  /* Transactions: abort by the body, commit after an ignored error. */
  {
    static const char *const kIns[] = {
      "INSERT INTO tenants (name) VALUES ('selftest-aborted')", NULL
    };
    struct script s = { kIns, CTL_DB_ABORTED, 0 };
    st = ctl_db_txn(db, CTL_DB_READ_COMMITTED, 0, run_script, &s);
    enum ctl_db_status st2 = query1(
        db, out, sizeof(out),
        "SELECT count(*) FROM tenants WHERE name = 'selftest-aborted'", NULL);
    check(&c, st == CTL_DB_ABORTED && st2 == CTL_DB_OK && strcmp(out, "0") == 0,
          "aborted body rolls back", "got %s, count %s", ctl_db_status_name(st),
          out);
    st = ctl_db_txn(db, CTL_DB_READ_COMMITTED, 0, ignore_error, NULL);
    check(&c, st == CTL_DB_ABORTED && !ctl_db_in_txn(db),
          "commit after a failed statement rolls back", "got %s",
          ctl_db_status_name(st));
    st = ctl_db_commit(db);
    check(&c, st == CTL_DB_ERROR, "commit without a transaction", "got %s",
          ctl_db_status_name(st));
  }

  /* Serialization failure (write skew under SERIALIZABLE) maps to retry. */
  {
    static const char kCount[] =
        "SELECT count(*) FROM tenants WHERE name LIKE 'selftest-ser-%'";
    int ok = ctl_db_begin(db, CTL_DB_SERIALIZABLE, 0) == CTL_DB_OK &&
             ctl_db_begin(db2, CTL_DB_SERIALIZABLE, 0) == CTL_DB_OK &&
             query1(db, out, sizeof(out), kCount, NULL) == CTL_DB_OK &&
             query1(db2, out2, sizeof(out2), kCount, NULL) == CTL_DB_OK &&
             ctl_db_exec(db, NULL,
                         "INSERT INTO tenants (name) VALUES ('selftest-ser-a')",
                         NULL) == CTL_DB_OK &&
             ctl_db_exec(db2, NULL,
                         "INSERT INTO tenants (name) VALUES ('selftest-ser-b')",
                         NULL) == CTL_DB_OK &&
             ctl_db_commit(db) == CTL_DB_OK;
    st = ok ? ctl_db_commit(db2) : CTL_DB_ERROR;
    e = ctl_db_last_error(db2);
    check(&c, st == CTL_DB_RETRY && strcmp(e->sqlstate, "40001") == 0,
          "serialization failure is retry", "got %s [%s]: %s",
          ctl_db_status_name(st), e->sqlstate, e->message);
    ctl_db_rollback(db);
    ctl_db_rollback(db2);
    st = ctl_db_exec(
        db, NULL, "DELETE FROM tenants WHERE name LIKE 'selftest-ser-%'", NULL);
    check(&c, st == CTL_DB_OK, "cleanup", "%s", ctl_db_last_error(db)->message);
  }

  /* Reconnect: a backend killed under an idle connection. */
  {
    int killed = terminate(db2, db);
    st = killed ? ctl_db_exec(db, NULL, "SELECT 1", NULL) : CTL_DB_ERROR;
    check(&c, st == CTL_DB_UNAVAILABLE,
          "statement on a killed connection is unavailable", "got %s: %s",
          ctl_db_status_name(st), ctl_db_last_error(db)->message);
    st = ctl_db_exec(db, NULL, "SELECT 1", NULL);
    check(&c, st == CTL_DB_OK, "next statement reconnects", "got %s: %s",
          ctl_db_status_name(st), ctl_db_last_error(db)->message);
    killed = terminate(db2, db);
    st = killed ? ctl_db_txn(db, CTL_DB_READ_COMMITTED, 1, select_one, out)
                : CTL_DB_ERROR;
    check(&c, st == CTL_DB_OK,
          "transaction on a killed connection reconnects at BEGIN",
          "got %s: %s", ctl_db_status_name(st), ctl_db_last_error(db)->message);
  }

  /* A connection lost inside a transaction: later statements must not
   * run outside it (autocommit), and COMMIT reports nothing committed. */
  {
    int ok = ctl_db_begin(db, CTL_DB_READ_COMMITTED, 0) == CTL_DB_OK &&
             terminate(db2, db);
    enum ctl_db_status s1 =
        ok ? ctl_db_exec(db, NULL, "SELECT 1", NULL) : CTL_DB_ERROR;
    enum ctl_db_status s2 =
        ok ? ctl_db_exec(db, NULL,
                         "INSERT INTO tenants (name) VALUES ('selftest-lost')",
                         NULL)
           : CTL_DB_ERROR;
    st = ok ? ctl_db_commit(db) : CTL_DB_ERROR;
    check(&c,
          s1 == CTL_DB_UNAVAILABLE && s2 == CTL_DB_UNAVAILABLE &&
              st == CTL_DB_UNAVAILABLE && !ctl_db_in_txn(db),
          "statements after a lost transaction are refused",
          "got %s, %s, commit %s", ctl_db_status_name(s1),
          ctl_db_status_name(s2), ctl_db_status_name(st));
    st = query1(db, out, sizeof(out),
                "SELECT count(*) FROM tenants WHERE name = 'selftest-lost'",
                NULL);
    check(&c, st == CTL_DB_OK && strcmp(out, "0") == 0,
          "nothing of the lost transaction was committed", "got %s, count %s",
          ctl_db_status_name(st), out);
  }

  /* Unreachable database: unavailable, then backoff answers at once. */
  {
    struct ctl_db_options o = *opts;
    o.conninfo = "postgresql://vigil@127.0.0.1:1/vigil";
    down = ctl_db_new(&o);
    st =
        down != NULL ? ctl_db_exec(down, NULL, "SELECT 1", NULL) : CTL_DB_ERROR;
    check(&c, st == CTL_DB_UNAVAILABLE, "unreachable database is unavailable",
          "got %s", ctl_db_status_name(st));
    st =
        down != NULL ? ctl_db_exec(down, NULL, "SELECT 1", NULL) : CTL_DB_ERROR;
    check(&c,
          st == CTL_DB_UNAVAILABLE &&
              strstr(ctl_db_last_error(down)->message, "next attempt") != NULL,
          "reconnect backs off", "got %s: %s", ctl_db_status_name(st),
          down != NULL ? ctl_db_last_error(down)->message : "");
  }

  /* Pool: lends each handle once, times out when empty. */
  {
    pool = ctl_db_pool_new(opts, 2);
    struct ctl_db *a = pool != NULL ? ctl_db_pool_acquire(pool, 100) : NULL;
    struct ctl_db *b = pool != NULL ? ctl_db_pool_acquire(pool, 100) : NULL;
    struct ctl_db *none = pool != NULL ? ctl_db_pool_acquire(pool, 50) : NULL;
    int ok = a != NULL && b != NULL && a != b && none == NULL;
    if (a != NULL) {
      ok = ok && ctl_db_begin(a, CTL_DB_READ_COMMITTED, 0) == CTL_DB_OK;
      ctl_db_pool_release(pool, a);
    }
    struct ctl_db *again = pool != NULL ? ctl_db_pool_acquire(pool, 100) : NULL;
    ok = ok && again == a && !ctl_db_in_txn(again);
    check(&c, ok, "pool lends, times out, rolls back on release", "%s",
          "pool misbehaved");
    if (again != NULL) {
      ctl_db_pool_release(pool, again);
    }
    if (b != NULL) {
      ctl_db_pool_release(pool, b);
    }
  }
  rc = c.failed == 0 ? 0 : 1;
  printf("%d checks, %d failed\n", c.run, c.failed);

err:
  ctl_db_pool_free(pool);
  ctl_db_free(down);
  ctl_db_free(db2);
  ctl_db_free(db);
  return rc;
}

/* ========================================================================
 * selftest audit
 * ======================================================================== */

struct appender {
  const struct ctl_db_options *opts;
  pthread_t thread;
  int index;             /* thread number */
  long txns;             /* transactions to run */
  const char *principal; /* uuid text of the selftest principal */
  const char *tenant;    /* uuid text of the selftest tenant */
  long committed;        /* events committed */
  long rolled_back;      /* events appended then rolled back */
  char error[768];       /* first failure, "" if none */
  /* per transaction */
  long txn;     /* number of the running transaction */
  int appended; /* events appended by the running attempt */
};

static enum ctl_db_status append_some(struct ctl_db *db, void *arg) {
  struct appender *a = arg;
  a->appended = 0;
  /* 1..3 events per transaction; every 7th transaction is rolled back
   * (its events must leave no gap in the ids). */
  int n = 1 + (int)((a->txn + a->index) % 3);
  for (int k = 0; k < n; k++) {
    char subject[128];
    char details[512];
    snprintf(subject, sizeof(subject),
             "selftest:Z\xc3\xbcrich \xe2\x9c\x93 %d/%ld/%d", a->index, a->txn,
             k);
    snprintf(
        details, sizeof(details),
        "{\"thread\": %d, \"txn\": %ld, \"k\": %d, \"q\": \"a\\\"b\\\\c\", "
        "\"u\": \"\\u00e9\\u2713\", \"nested\": {\"z\": [1, 2.50, null, "
        "true], \"empty\": {}}}",
        a->index, a->txn, k);
    struct ctl_audit_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = (k % 2) == 0 ? "selftest.event" : "selftest.other_event";
    ev.principal = (a->txn % 2) == 0 ? a->principal : NULL;
    ev.tenant = (a->txn % 3) == 0 ? NULL : a->tenant;
    ev.subject = (k == 2) ? NULL : subject;
    ev.details_json = (k == 1) ? NULL : details;
    int64_t id = 0;
    uint8_t hash[CTL_AUDIT_HASH_LEN];
    enum ctl_db_status st = ctl_audit_append(db, &id, hash, &ev);
    if (st != CTL_DB_OK) {
      return st;
    }
    if (id <= 0) {
      return CTL_DB_ERROR;
    }
    a->appended++;
  }
  return (a->txn % 7) == 6 ? CTL_DB_ABORTED : CTL_DB_OK;
}

static void *appender_main(void *arg) {
  struct appender *a = arg;
  struct ctl_db *db = ctl_db_new(a->opts);
  if (db == NULL) {
    snprintf(a->error, sizeof(a->error), "out of memory");
    return NULL;
  }
  for (a->txn = 0; a->txn < a->txns; a->txn++) {
    enum ctl_db_status st =
        ctl_db_txn(db, CTL_DB_READ_COMMITTED, 0, append_some, a);
    if (st == CTL_DB_OK) {
      a->committed += a->appended;
    } else if (st == CTL_DB_ABORTED && (a->txn % 7) == 6) {
      a->rolled_back += a->appended;
    } else {
      snprintf(a->error, sizeof(a->error), "transaction %ld: %s: %s", a->txn,
               ctl_db_status_name(st), ctl_db_last_error(db)->message);
      break;
    }
  }
  ctl_db_free(db);
  return NULL;
}

/* setup_ids creates (or finds) the selftest tenant and principal. */
static enum ctl_db_status setup_ids(struct ctl_db *db, char *tenant,
                                    char *principal) {
  enum ctl_db_status st = query1(
      db, tenant, 64,
      "INSERT INTO tenants (name) VALUES ('selftest') ON CONFLICT (name) DO "
      "UPDATE SET name = EXCLUDED.name RETURNING id",
      NULL);
  if (st != CTL_DB_OK) {
    return st;
  }
  return query1(db, principal, 64,
                "INSERT INTO principals (name, roles) VALUES ('selftest', "
                "'{auditor}') ON CONFLICT (name) DO UPDATE SET name = "
                "EXCLUDED.name RETURNING id",
                NULL);
}

struct bad_event {
  struct ctl_audit_event ev;
};

static enum ctl_db_status append_bad(struct ctl_db *db, void *arg) {
  struct bad_event *b = arg;
  return ctl_audit_append(db, NULL, NULL, &b->ev);
}

static int selftest_audit(const struct ctl_db_options *opts, size_t num_args,
                          const char **args) {
  long txns = 0;
  long threads = 0;
  if (num_args != 2 || !parse_count(&txns, args[0], 1, 100000) ||
      !parse_count(&threads, args[1], 1, MAX_THREADS)) {
    fprintf(stderr,
            "usage: vigil-control selftest audit TXNS THREADS "
            "(TXNS 1..100000 per thread, THREADS 1..16)\n");
    return 2;
  }
  struct checks c = { 0, 0 };
  char tenant[64];
  char principal[64];
  struct appender *ap = NULL;
  int rc = 1;
  struct ctl_db *db = ctl_db_new(opts);
  if (db == NULL) {
    return 1;
  }
  enum ctl_db_status st = setup_ids(db, tenant, principal);
  if (st != CTL_DB_OK) {
    printf("not ok - setup: %s\n", ctl_db_last_error(db)->message);
    rc = st == CTL_DB_UNAVAILABLE ? 3 : 1;
    goto done;
  }

  /* Bad events are refused by the database. */
  {
    static const struct {
      const char *name;
      struct ctl_audit_event ev;
    } kBad[] = {
      { "bad type refused", { "Not A Type", NULL, NULL, NULL, NULL } },
      { "details must be an object",
        { "selftest.bad", NULL, NULL, NULL, "[1, 2]" } },
      { "details must be JSON", { "selftest.bad", NULL, NULL, NULL, "{" } },
      { "principal must be a uuid",
        { "selftest.bad", "nobody", NULL, NULL, NULL } },
      { "principal must exist",
        { "selftest.bad", "00000000-0000-0000-0000-000000000000", NULL, NULL,
          NULL } },
    };
    for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
      struct bad_event b;
      b.ev = kBad[i].ev;
      st = ctl_db_txn(db, CTL_DB_READ_COMMITTED, 0, append_bad, &b);
      check(&c, st == CTL_DB_INVALID, kBad[i].name, "got %s: %s",
            ctl_db_status_name(st), ctl_db_last_error(db)->message);
    }
  }

  ap = vigil_calloc((size_t)threads, sizeof(*ap));
  if (ap == NULL) {
    goto done;
  }
  long started = 0;
  for (long i = 0; i < threads; i++) {
    ap[i].opts = opts;
    ap[i].index = (int)i;
    ap[i].txns = txns;
    ap[i].principal = principal;
    ap[i].tenant = tenant;
    if (pthread_create(&ap[i].thread, NULL, appender_main, &ap[i]) != 0) {
      snprintf(ap[i].error, sizeof(ap[i].error), "pthread_create failed");
      break;
    }
    started++;
  }
  long committed = 0;
  long rolled_back = 0;
  for (long i = 0; i < started; i++) {
    pthread_join(ap[i].thread, NULL);
  }
  for (long i = 0; i < threads; i++) {
    check(&c, ap[i].error[0] == '\0', "appender thread", "thread %ld: %s", i,
          ap[i].error);
    committed += ap[i].committed;
    rolled_back += ap[i].rolled_back;
  }
  printf("appended %ld events (%ld more rolled back) from %ld threads\n",
         committed, rolled_back, threads);
  rc = c.failed == 0 ? 0 : 1;

done:
  vigil_free(ap);
  ctl_db_free(db);
  return rc;
}

int ctl_selftest_main(const struct ctl_db_options *opts, size_t num_args,
                      const char **args) {
  const char *on = getenv("VIGIL_CONTROL_SELFTEST");
  if (on == NULL || strcmp(on, "1") != 0) {
    fprintf(stderr,
            "vigil-control: selftest writes test rows; it runs only "
            "with VIGIL_CONTROL_SELFTEST=1\n");
    return 2;
  }
  if (num_args == 1 && strcmp(args[0], "db") == 0) {
    return selftest_db(opts);
  }
  if (num_args >= 1 && strcmp(args[0], "audit") == 0) {
    return selftest_audit(opts, num_args - 1, args + 1);
  }
  fprintf(stderr, "usage: vigil-control selftest db | audit TXNS THREADS\n");
  return 2;
}
