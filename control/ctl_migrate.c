/* ctl_migrate.c: apply migrations/NNNN_name.sql in order (see
 * ctl_migrate.h). */
#include "ctl_migrate.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "vigil/alloc.h"

/* Largest migration file read. */
#define MAX_FILE_BYTES (16 * 1024 * 1024)
/* Session advisory lock key shared by every `vigil-control migrate`:
 * the ASCII of "viglmigr" as a big-endian int64. */
#define MIGRATE_LOCK_KEY INT64_C(8532464684419868530)

struct mfile {
  int version;     /* NNNN */
  char name[128];  /* file name without ".sql" */
  char *sql;       /* contents, NUL-terminated (owned) */
  size_t len;      /* bytes of |sql| */
  char sha256[65]; /* lowercase hex, from Postgres */
};

struct applied {
  int version;
  char name[128];
  char sha256[65];
};

static void fail(struct ctl_migrate_report *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail(struct ctl_migrate_report *out, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->error, sizeof(out->error), fmt, ap);
  va_end(ap);
}

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ========================================================================
 * The directory
 * ======================================================================== */

/* parse_name checks |fname| against NNNN_name.sql ([a-z0-9_]+ after the
 * underscore) and extracts the version and the stem. */
static int parse_name(const char *fname, int *out_version, char *out_stem,
                      size_t stem_len) {
  size_t n = strlen(fname);
  if (n < 10 || n - 4 >= stem_len || strcmp(fname + n - 4, ".sql") != 0) {
    return 0;
  }
  int v = 0;
  for (int i = 0; i < 4; i++) {
    if (fname[i] < '0' || fname[i] > '9') {
      return 0;
    }
    v = v * 10 + (fname[i] - '0');
  }
  if (fname[4] != '_' || v == 0) {
    return 0;
  }
  for (size_t i = 5; i < n - 4; i++) {
    char c = fname[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return 0;
    }
  }
  memcpy(out_stem, fname, n - 4);
  out_stem[n - 4] = '\0';
  *out_version = v;
  return 1;
}

static int by_version(const void *a, const void *b) {
  const struct mfile *x = a;
  const struct mfile *y = b;
  return (x->version > y->version) - (x->version < y->version);
}

/* read_file reads |path| (at most MAX_FILE_BYTES, no NUL bytes) into a
 * NUL-terminated heap buffer. */
static int read_file(struct ctl_migrate_report *out, char **out_buf,
                     size_t *out_len, const char *path) {
  char msg[128];
  char *buf = NULL;
  size_t len = 0;
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fail(out, "%s: cannot open: %s", path,
         vigil_strerror(errno, msg, sizeof(msg)));
    return 0;
  }
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    fail(out, "%s: not a regular file", path);
    goto err;
  }
  if (sb.st_size > MAX_FILE_BYTES) {
    fail(out, "%s: larger than %d bytes", path, MAX_FILE_BYTES);
    goto err;
  }
  buf = vigil_malloc((size_t)sb.st_size + 1);
  if (buf == NULL) {
    fail(out, "%s: out of memory", path);
    goto err;
  }
  len = fread(buf, 1, (size_t)sb.st_size, f);
  if (ferror(f) || len != (size_t)sb.st_size) {
    fail(out, "%s: read error", path);
    goto err;
  }
  buf[len] = '\0';
  if (memchr(buf, '\0', len) != NULL) {
    fail(out, "%s: contains a NUL byte", path);
    goto err;
  }
  fclose(f);
  *out_buf = buf;
  *out_len = len;
  return 1;

err:
  vigil_free(buf);
  fclose(f);
  return 0;
}

static void free_files(struct mfile *files, size_t n) {
  for (size_t i = 0; files != NULL && i < n; i++) {
    vigil_free(files[i].sql);
  }
  vigil_free(files);
}

/* list_dir reads every migration of |dir|, sorted by version. */
static enum ctl_migrate_result list_dir(struct ctl_migrate_report *out,
                                        struct mfile **out_files, size_t *out_n,
                                        const char *dir) {
  char msg[128];
  struct mfile *files = NULL;
  size_t n = 0;
  enum ctl_migrate_result r = CTL_MIGRATE_BAD_DIR;
  DIR *d = opendir(dir);
  if (d == NULL) {
    fail(out, "migrations directory %s: %s", dir,
         vigil_strerror(errno, msg, sizeof(msg)));
    return CTL_MIGRATE_BAD_DIR;
  }
  files = vigil_calloc(CTL_MIGRATE_MAX_FILES, sizeof(*files));
  if (files == NULL) {
    fail(out, "out of memory");
    r = CTL_MIGRATE_ERROR;
    goto err;
  }
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(d);
    if (e == NULL) {
      if (errno != 0) {
        fail(out, "migrations directory %s: %s", dir,
             vigil_strerror(errno, msg, sizeof(msg)));
        goto err;
      }
      break;
    }
    const char *fn = e->d_name;
    size_t fl = strlen(fn);
    /* Dot files, READMEs and editor leftovers are not migrations. */
    if (fn[0] == '.' || fl < 4 || strcmp(fn + fl - 4, ".sql") != 0) {
      continue;
    }
    if (n == CTL_MIGRATE_MAX_FILES) {
      fail(out, "migrations directory %s: more than %d migrations", dir,
           CTL_MIGRATE_MAX_FILES);
      goto err;
    }
    struct mfile *m = &files[n];
    if (!parse_name(fn, &m->version, m->name, sizeof(m->name))) {
      fail(out,
           "%s/%s: not a migration name (expected NNNN_name.sql: four "
           "digits from 0001, '_', then a-z 0-9 _)",
           dir, fn);
      goto err;
    }
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, fn) >=
        sizeof(path)) {
      fail(out, "%s/%s: path too long", dir, fn);
      goto err;
    }
    if (!read_file(out, &m->sql, &m->len, path)) {
      goto err;
    }
    n++;
  }
  if (n == 0) {
    fail(out, "migrations directory %s holds no NNNN_name.sql files", dir);
    goto err;
  }
  qsort(files, n, sizeof(*files), by_version);
  for (size_t i = 1; i < n; i++) {
    if (files[i].version == files[i - 1].version) {
      fail(out, "%s: %s.sql and %s.sql share version %04d", dir,
           files[i - 1].name, files[i].name, files[i].version);
      goto err;
    }
  }
  closedir(d);
  *out_files = files;
  *out_n = n;
  return CTL_MIGRATE_OK;

err:
  closedir(d);
  free_files(files, n);
  return r;
}

/* ========================================================================
 * The database
 * ======================================================================== */

static enum ctl_migrate_result db_result(struct ctl_db *db,
                                         struct ctl_migrate_report *out,
                                         const char *what) {
  const struct ctl_db_error *e = ctl_db_last_error(db);
  fail(out, "%s: %s%s%s%s", what, e->message, e->sqlstate[0] ? " [" : "",
       e->sqlstate, e->sqlstate[0] ? "]" : "");
  return e->status == CTL_DB_UNAVAILABLE ? CTL_MIGRATE_UNAVAILABLE
                                         : CTL_MIGRATE_ERROR;
}

/* char_to_line turns Postgres's 1-based character position in |sql| into
 * a line number (positions count characters, not bytes: UTF-8 aware). */
static int char_to_line(const char *sql, size_t len, int pos) {
  int line = 1;
  int chars = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)sql[i];
    if ((c & 0xC0) != 0x80) {
      chars++;
      if (chars >= pos) {
        break;
      }
    }
    if (c == '\n') {
      line++;
    }
  }
  return line;
}

static enum ctl_migrate_result checksum(struct ctl_db *db,
                                        struct ctl_migrate_report *out,
                                        struct mfile *m) {
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_bytes(&p, (const uint8_t *)m->sql, m->len);
  PGresult *res = NULL;
  if (ctl_db_exec(db, &res, "SELECT encode(sha256($1), 'hex')", &p) !=
      CTL_DB_OK) {
    return db_result(db, out, "computing a migration checksum");
  }
  snprintf(m->sha256, sizeof(m->sha256), "%s", PQgetvalue(res, 0, 0));
  PQclear(res);
  return CTL_MIGRATE_OK;
}

/* lock_still_held checks, inside the migration's transaction, that this
 * is still the session that took the migration lock (backend |lock_pid|)
 * and that it holds the lock. The lock belongs to the session: if the
 * connection dropped after it was taken, ctl_db reconnects transparently
 * (ctl_db_begin retries once on a dropped idle connection) and the new
 * session does not hold it, so a concurrent migrate could be running the
 * same files. Checked in the transaction because that is the connection
 * the migration's statements run on: a drop after this point aborts the
 * transaction too. pg_locks rather than the pid alone, since a pid can be
 * reused by the new backend. */
static enum ctl_migrate_result lock_still_held(struct ctl_db *db,
                                               struct ctl_migrate_report *out,
                                               const char *dir,
                                               const struct mfile *m,
                                               int64_t lock_pid) {
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_int64(&p, lock_pid);
  ctl_db_param_int64(&p, MIGRATE_LOCK_KEY);
  PGresult *res = NULL;
  if (ctl_db_exec(db, &res,
                  "SELECT pg_backend_pid() = $1::integer AND EXISTS ("
                  " SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                  " AND granted AND pid = pg_backend_pid()"
                  " AND database = (SELECT oid FROM pg_database"
                  "                 WHERE datname = current_database())"
                  " AND classid::bigint = ($2::bigint >> 32)"
                  " AND objid::bigint = ($2::bigint & 4294967295)"
                  " AND objsubid = 1)",
                  &p) != CTL_DB_OK) {
    return db_result(db, out, m->name);
  }
  int held = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
  PQclear(res);
  if (!held) {
    fail(out,
         "the database connection was lost after taking the migration lock "
         "(backend %lld): not applying %s/%s.sql or anything after it "
         "without the lock; run migrate again",
         (long long)lock_pid, dir, m->name);
    return CTL_MIGRATE_UNAVAILABLE;
  }
  return CTL_MIGRATE_OK;
}

static enum ctl_migrate_result apply_one(struct ctl_db *db,
                                         struct ctl_migrate_report *out,
                                         const struct vigil_log *log,
                                         const char *dir, struct mfile *m,
                                         struct ctl_migrate_entry *entry,
                                         int64_t lock_pid) {
  uint64_t t0 = mono_ms();
  if (ctl_db_begin(db, CTL_DB_READ_COMMITTED, 0) != CTL_DB_OK) {
    return db_result(db, out, m->name);
  }
  enum ctl_migrate_result lr = lock_still_held(db, out, dir, m, lock_pid);
  if (lr != CTL_MIGRATE_OK) {
    ctl_db_rollback(db);
    return lr;
  }
  int pos = 0;
  if (ctl_db_exec_script(db, &pos, m->sql) != CTL_DB_OK) {
    const struct ctl_db_error *e = ctl_db_last_error(db);
    enum ctl_migrate_result r = e->status == CTL_DB_UNAVAILABLE
                                    ? CTL_MIGRATE_UNAVAILABLE
                                    : CTL_MIGRATE_FAILED;
    if (pos > 0) {
      fail(out, "%s/%s.sql:%d: %s [%s]; rolled back, nothing recorded", dir,
           m->name, char_to_line(m->sql, m->len, pos), e->message, e->sqlstate);
    } else {
      fail(out, "%s/%s.sql: %s [%s]; rolled back, nothing recorded", dir,
           m->name, e->message, e->sqlstate);
    }
    ctl_db_rollback(db);
    return r;
  }
  PGconn *conn = ctl_db_get0_conn(db);
  if (conn == NULL || PQtransactionStatus(conn) != PQTRANS_INTRANS) {
    fail(out,
         "%s/%s.sql ended the transaction itself (COMMIT or ROLLBACK in the "
         "file?): part of it may be committed without being recorded in "
         "schema_migrations; repair by hand",
         dir, m->name);
    ctl_db_rollback(db);
    return CTL_MIGRATE_FAILED;
  }
  int64_t ms = (int64_t)(mono_ms() - t0);
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_int64(&p, m->version);
  ctl_db_param_text(&p, m->name);
  ctl_db_param_text(&p, m->sha256);
  ctl_db_param_int64(&p, ms);
  if (ctl_db_exec(db, NULL,
                  "INSERT INTO schema_migrations (version, name, checksum, "
                  "duration_ms) VALUES ($1, $2, decode($3, 'hex'), $4)",
                  &p) != CTL_DB_OK) {
    enum ctl_migrate_result r = db_result(db, out, m->name);
    ctl_db_rollback(db);
    return r;
  }
  if (ctl_db_commit(db) != CTL_DB_OK) {
    return db_result(db, out, m->name);
  }
  entry->applied = 1;
  entry->applied_now = 1;
  entry->duration_ms = (int64_t)(mono_ms() - t0);
  VLOG_INFO(log, "applied migration %s (%lld ms)", m->name,
            (long long)entry->duration_ms);
  return CTL_MIGRATE_OK;
}

/* load_applied reads schema_migrations (at most CTL_MIGRATE_MAX_FILES). */
static enum ctl_migrate_result load_applied(struct ctl_db *db,
                                            struct ctl_migrate_report *out,
                                            struct applied **out_rows,
                                            size_t *out_n) {
  PGresult *res = NULL;
  if (ctl_db_exec(db, &res,
                  "SELECT version, name, encode(checksum, 'hex') "
                  "FROM schema_migrations ORDER BY version",
                  NULL) != CTL_DB_OK) {
    return db_result(db, out, "reading schema_migrations");
  }
  int rows = PQntuples(res);
  if (rows > CTL_MIGRATE_MAX_FILES) {
    PQclear(res);
    fail(out, "schema_migrations has more than %d rows", CTL_MIGRATE_MAX_FILES);
    return CTL_MIGRATE_MISMATCH;
  }
  struct applied *a = vigil_calloc(rows > 0 ? (size_t)rows : 1, sizeof(*a));
  if (a == NULL) {
    PQclear(res);
    fail(out, "out of memory");
    return CTL_MIGRATE_ERROR;
  }
  for (int i = 0; i < rows; i++) {
    int64_t v = 0;
    if (!ctl_db_value_int64(&v, res, i, 0) || v <= 0 || v > 9999) {
      PQclear(res);
      vigil_free(a);
      fail(out, "schema_migrations: bad version in row %d", i);
      return CTL_MIGRATE_MISMATCH;
    }
    a[i].version = (int)v;
    snprintf(a[i].name, sizeof(a[i].name), "%s", PQgetvalue(res, i, 1));
    snprintf(a[i].sha256, sizeof(a[i].sha256), "%s", PQgetvalue(res, i, 2));
  }
  PQclear(res);
  *out_rows = a;
  *out_n = (size_t)rows;
  return CTL_MIGRATE_OK;
}

/* plan compares the files with what the database recorded. */
static enum ctl_migrate_result plan(struct ctl_migrate_report *out,
                                    const char *dir, struct mfile *files,
                                    size_t nf, const struct applied *a,
                                    size_t na) {
  size_t fi = 0;
  for (size_t ai = 0; ai < na; ai++) {
    if (fi < nf && files[fi].version < a[ai].version) {
      fail(out,
           "%s/%s.sql is not applied but the later migration %04d (%s) is: "
           "migrations must be added after the last applied one",
           dir, files[fi].name, a[ai].version, a[ai].name);
      return CTL_MIGRATE_MISMATCH;
    }
    if (fi == nf || files[fi].version != a[ai].version) {
      fail(out,
           "the database has migration %04d (%s) which is not in %s: is this "
           "vigil-control older than the database schema?",
           a[ai].version, a[ai].name, dir);
      return CTL_MIGRATE_MISMATCH;
    }
    if (strcmp(files[fi].sha256, a[ai].sha256) != 0) {
      fail(out,
           "%s/%s.sql changed after it was applied (applied sha256 %.16s..., "
           "file %.16s...): restore the released file and put changes in a "
           "new migration",
           dir, files[fi].name, a[ai].sha256, files[fi].sha256);
      return CTL_MIGRATE_MISMATCH;
    }
    out->entries[fi].applied = 1;
    out->schema_version = a[ai].version;
    fi++;
  }
  return CTL_MIGRATE_OK;
}

enum ctl_migrate_result ctl_migrate_run(struct ctl_db *db,
                                        struct ctl_migrate_report *out,
                                        const struct vigil_log *log,
                                        const char *dir, int dry_run) {
  memset(out, 0, sizeof(*out));
  struct mfile *files = NULL;
  size_t nf = 0;
  struct applied *applied = NULL;
  size_t na = 0;
  int locked = 0;
  int64_t lock_pid = 0; /* backend that took the lock */
  enum ctl_migrate_result r;
  PGresult *res = NULL;

  if (ctl_db_in_txn(db)) {
    fail(out, "ctl_migrate_run called inside a transaction");
    return CTL_MIGRATE_ERROR;
  }
  r = list_dir(out, &files, &nf, dir);
  if (r != CTL_MIGRATE_OK) {
    return r;
  }
  out->num_entries = nf;
  for (size_t i = 0; i < nf; i++) {
    out->entries[i].version = files[i].version;
    snprintf(out->entries[i].name, sizeof(out->entries[i].name), "%s",
             files[i].name);
  }

  /* Concurrent runs take turns; the lock is the session's, so it is
   * released by the unlock below or by the connection ending. */
  struct ctl_db_params lp;
  ctl_db_params_init(&lp);
  ctl_db_param_int64(&lp, MIGRATE_LOCK_KEY);
  /* The backend pid comes from the same statement as the lock, so it
   * names the session that holds it (see lock_still_held). */
  if (ctl_db_exec(db, &res, "SELECT pg_try_advisory_lock($1), pg_backend_pid()",
                  &lp) != CTL_DB_OK) {
    r = db_result(db, out, "taking the migration lock");
    goto done;
  }
  locked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
  if (!ctl_db_value_int64(&lock_pid, res, 0, 1)) {
    lock_pid = 0;
  }
  PQclear(res);
  res = NULL;
  if (!locked) {
    VLOG_INFO(log, "another migrate is running; waiting for it");
    if (ctl_db_exec(db, &res, "SELECT pg_advisory_lock($1), pg_backend_pid()",
                    &lp) != CTL_DB_OK) {
      r = db_result(db, out, "waiting for the migration lock");
      goto done;
    }
    locked = 1;
    if (!ctl_db_value_int64(&lock_pid, res, 0, 1)) {
      lock_pid = 0;
    }
    PQclear(res);
    res = NULL;
  }

  /* Created only when missing (and under the lock), so that a role
   * without CREATE privilege can run an up-to-date migrate at start-up. */
  if (ctl_db_exec(db, &res,
                  "SELECT to_regclass('schema_migrations') IS NOT NULL",
                  NULL) != CTL_DB_OK) {
    r = db_result(db, out, "looking for schema_migrations");
    goto done;
  }
  int exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
  PQclear(res);
  res = NULL;
  if (!exists && dry_run) {
    goto checksums; /* nothing applied yet */
  }
  if (!exists &&
      ctl_db_exec(db, NULL,
                  "CREATE TABLE schema_migrations ("
                  " version integer PRIMARY KEY"
                  "   CHECK (version BETWEEN 1 AND 9999),"
                  " name text NOT NULL,"
                  " checksum bytea NOT NULL"
                  "   CHECK (octet_length(checksum) = 32),"
                  " applied_at timestamptz NOT NULL DEFAULT now(),"
                  " duration_ms bigint NOT NULL CHECK (duration_ms >= 0))",
                  NULL) != CTL_DB_OK) {
    r = db_result(db, out, "creating schema_migrations");
    goto done;
  }
  r = load_applied(db, out, &applied, &na);
  if (r != CTL_MIGRATE_OK) {
    goto done;
  }

checksums:
  for (size_t i = 0; i < nf; i++) {
    r = checksum(db, out, &files[i]);
    if (r != CTL_MIGRATE_OK) {
      goto done;
    }
  }
  r = plan(out, dir, files, nf, applied, na);
  if (r != CTL_MIGRATE_OK || dry_run) {
    goto done;
  }
  for (size_t i = 0; i < nf; i++) {
    if (out->entries[i].applied) {
      continue;
    }
    r = apply_one(db, out, log, dir, &files[i], &out->entries[i], lock_pid);
    if (r != CTL_MIGRATE_OK) {
      goto done;
    }
    out->num_applied_now++;
    out->schema_version = files[i].version;
  }
  r = CTL_MIGRATE_OK;

done:
  PQclear(res);
  if (locked && ctl_db_get0_conn(db) != NULL) {
    ctl_db_rollback(db);
    if (ctl_db_exec(db, NULL, "SELECT pg_advisory_unlock($1)", &lp) !=
        CTL_DB_OK) {
      VLOG_WARN(log, "releasing the migration lock: %s",
                ctl_db_last_error(db)->message);
    }
  }
  vigil_free(applied);
  free_files(files, nf);
  return r;
}
