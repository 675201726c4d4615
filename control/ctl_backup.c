/* ctl_backup.c: sealed full backups and their restore (see ctl_backup.h).
 *
 * Sections: helpers (errors, files, digests); child processes (pg_dump,
 * pg_restore: tool lookup, environment, fork/execve); backup; restore. */
#include "ctl_backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "ctl_audit.h"
#include "ctl_loops.h"
#include "ctl_migrate.h"
#include "ctl_seal.h"
#include "vigil/alloc.h"
#include "vigil/b64.h"
#include "vigil/hex.h"
#include "vigil/seal.h"

extern char **environ;

#define DUMP_NAME     "database.dump"
#define MANIFEST_NAME "manifest.json"
#define SEAL_NAME     "manifest.seal.json"

/* Bounds on what a restore reads from a backup directory. */
#define MAX_MANIFEST  (1024 * 1024)
#define MAX_SEAL      (64 * 1024)
#define MAX_KEY_FILE  (16 * 1024)
#define MAX_SPKI      1024
#define MAX_FILES     16
#define MAX_FILE_NAME 64
/* Bounds on the child's environment. */
#define MAX_ENV     4096
#define MAX_PG_VARS 64

/* The key tables whose row counts a manifest records and a restore checks
 * (fixed names: the SQL below is constant). */
static const char *const count_tables[] = {
  "tenants",      "principals",  "api_tokens",  "issuers",
  "certificates", "revocations", "crl_numbers", "audit_events",
};
#define NUM_COUNT_TABLES (sizeof(count_tables) / sizeof(count_tables[0]))

/* ==========================================================================
 * Helpers
 * ========================================================================== */

static void say_err(const char *what, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* say_err prints "vigil-control: WHAT: message" on stderr. */
static void say_err(const char *what, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "vigil-control: %s: ", what);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static const char *errno_text(char *buf, size_t len) {
  return vigil_strerror(errno, buf, len);
}

static enum ctl_backup_result db_failed(const char *what, struct ctl_db *db,
                                        enum ctl_db_status st) {
  say_err(what, "database: %s", ctl_db_last_error(db)->message);
  return st == CTL_DB_UNAVAILABLE ? CTL_BACKUP_UNAVAILABLE : CTL_BACKUP_FAILED;
}

/* write_all writes |len| bytes of |buf| to |fd|. Returns 1 or 0 (errno). */
static int write_all(int fd, const void *buf, size_t len) {
  const uint8_t *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return 0;
    }
    p += n;
    len -= (size_t)n;
  }
  return 1;
}

/* write_new_file creates |name| in |dirfd| (exclusive, 0600), writes
 * |len| bytes and fsyncs it. Returns 1, or 0 with the reason on stderr. */
static int write_new_file(int dirfd, const char *name, const void *data,
                          size_t len) {
  char eb[128];
  int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    say_err("backup", "cannot create %s: %s", name, errno_text(eb, sizeof(eb)));
    return 0;
  }
  int ok = write_all(fd, data, len) && fsync(fd) == 0;
  if (!ok) {
    say_err("backup", "cannot write %s: %s", name, errno_text(eb, sizeof(eb)));
  }
  if (close(fd) != 0 && ok) {
    say_err("backup", "cannot close %s: %s", name, errno_text(eb, sizeof(eb)));
    ok = 0;
  }
  return ok;
}

/* hash_fd reads |fd| from its start to its end, at most |max| bytes,
 * computing SHA-256 into |out| and the byte count into |*out_size|.
 * Returns 1, or 0 on a read error or when the file is longer than |max|. */
static int hash_fd(uint8_t out[32], uint64_t *out_size, int fd, uint64_t max) {
  gnutls_hash_hd_t h;
  uint8_t buf[64 * 1024];
  uint64_t total = 0;
  if (lseek(fd, 0, SEEK_SET) != 0) {
    return 0;
  }
  if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0) {
    return 0;
  }
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 || (uint64_t)n > max - total) {
      gnutls_hash_deinit(h, NULL);
      return 0;
    }
    if (n == 0) {
      break;
    }
    total += (uint64_t)n;
    if (gnutls_hash(h, buf, (size_t)n) < 0) {
      gnutls_hash_deinit(h, NULL);
      return 0;
    }
  }
  gnutls_hash_deinit(h, out);
  *out_size = total;
  return lseek(fd, 0, SEEK_SET) == 0;
}

/* read_small reads regular file |name| in |dirfd| (no symlinks) of at most
 * |max| bytes into a new buffer (*out, NUL-terminated, caller frees with
 * vigil_free). Returns 1, or 0 with the reason on stderr. */
static int read_small(uint8_t **out, size_t *out_len, int dirfd,
                      const char *name, size_t max, const char *what) {
  char eb[128];
  struct stat st;
  uint8_t *buf = NULL;
  size_t len = 0;
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    say_err(what, "cannot open %s: %s", name, errno_text(eb, sizeof(eb)));
    return 0;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    say_err(what, "%s is not a regular file", name);
    goto err;
  }
  if (st.st_size < 0 || (uint64_t)st.st_size > max) {
    say_err(what, "%s is larger than %zu bytes", name, max);
    goto err;
  }
  buf = vigil_malloc((size_t)st.st_size + 1);
  if (buf == NULL) {
    say_err(what, "out of memory");
    goto err;
  }
  while (len < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      say_err(what, "cannot read %s", name);
      goto err;
    }
    len += (size_t)n;
  }
  buf[len] = '\0';
  close(fd);
  *out = buf;
  *out_len = len;
  return 1;

err:
  vigil_free(buf);
  close(fd);
  return 0;
}

/* load_pem_spki reads the PEM "PUBLIC KEY" in |path| into |out| (DER). */
static int load_pem_spki(uint8_t *out, size_t *out_len, size_t max,
                         const char *path) {
  static const char begin[] = "-----BEGIN PUBLIC KEY-----";
  static const char end[] = "-----END PUBLIC KEY-----";
  uint8_t *pem = NULL;
  size_t pem_len = 0;
  char *b64 = NULL;
  size_t n = 0;
  int ok = 0;
  int dirfd = AT_FDCWD;
  if (!read_small(&pem, &pem_len, dirfd, path, MAX_KEY_FILE, "restore")) {
    return 0;
  }
  const char *s = strstr((const char *)pem, begin);
  const char *e = s != NULL ? strstr(s, end) : NULL;
  if (s == NULL || e == NULL) {
    say_err("restore",
            "%s: no PEM \"PUBLIC KEY\" block (expected the "
            "signer's audit.pub)",
            path);
    goto done;
  }
  s += sizeof(begin) - 1;
  b64 = vigil_malloc((size_t)(e - s) + 1);
  if (b64 == NULL) {
    say_err("restore", "out of memory");
    goto done;
  }
  for (; s < e; s++) {
    if (*s != '\n' && *s != '\r' && *s != ' ' && *s != '\t') {
      b64[n++] = *s;
    }
  }
  if (vigil_b64_decode(out, out_len, max, b64, n) != VIGIL_B64_OK) {
    say_err("restore", "%s: the PEM block is not valid base64", path);
    goto done;
  }
  ok = 1;

done:
  vigil_free(b64);
  vigil_free(pem);
  return ok;
}

/* fingerprint writes "sha256:<hex>" of |spki| to |out| (72 bytes). */
static void fingerprint(char out[72], const uint8_t *spki, size_t len) {
  uint8_t d[32];
  char hex[65];
  if (!vigil_sha256(d, spki, len)) {
    snprintf(out, 72, "(unknown)");
    return;
  }
  vigil_hex_encode(hex, d, 32);
  snprintf(out, 72, "sha256:%s", hex);
}

/* valid_file_name: a manifest may only name plain files of this
 * directory. */
static int valid_file_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > MAX_FILE_NAME || s[0] == '.') {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
      return 0;
    }
  }
  return 1;
}

/* ==========================================================================
 * Child processes: pg_dump and pg_restore
 * ========================================================================== */

/* find_tool sets |out| to the path of |name|: the first executable on PATH,
 * else in CTL_BACKUP_PG_BINDIR. Returns 1, or 0 if neither has it. */
static int find_tool(char *out, size_t out_len, const char *name) {
  const char *path = getenv("PATH");
  while (path != NULL && *path != '\0') {
    const char *colon = strchr(path, ':');
    size_t n = colon != NULL ? (size_t)(colon - path) : strlen(path);
    if (n > 0 && n < 512) {
      int w = snprintf(out, out_len, "%.*s/%s", (int)n, path, name);
      if (w > 0 && (size_t)w < out_len && access(out, X_OK) == 0) {
        return 1;
      }
    }
    path = colon != NULL ? colon + 1 : NULL;
  }
  int w = snprintf(out, out_len, "%s/%s", CTL_BACKUP_PG_BINDIR, name);
  return w > 0 && (size_t)w < out_len && access(out, X_OK) == 0;
}

/* A child's environment: ours, with libpq's variables set from the
 * database URL. */
struct child_env {
  char **envp;              /* NULL-terminated; entries borrowed or owned */
  char *owned[MAX_PG_VARS]; /* the "PGxxx=value" strings we made */
  size_t num_owned;
};

static void child_env_cleanup(struct child_env *ce) {
  for (size_t i = 0; i < ce->num_owned; i++) {
    vigil_free(ce->owned[i]);
  }
  vigil_free(ce->envp);
  memset(ce, 0, sizeof(*ce));
}

/* child_env_init splits |conninfo| (URL or key=value) into libpq's
 * environment variables so that it never appears in a child's argv, and
 * adds PGCONNECT_TIMEOUT when the URL sets none. Returns 1, or 0 with the
 * reason on stderr (|ce| is then empty). */
static int child_env_init(struct child_env *ce, const char *conninfo,
                          int64_t connect_timeout, const char *what) {
  char *perr = NULL;
  PQconninfoOption *opts = NULL;
  size_t num_env = 0;
  int have_timeout = 0;
  memset(ce, 0, sizeof(*ce));
  opts = PQconninfoParse(conninfo, &perr);
  if (opts == NULL) {
    say_err(what, "database-url: %s",
            perr != NULL ? perr : "cannot be parsed (out of memory?)");
    PQfreemem(perr);
    return 0;
  }
  for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
    if (o->val == NULL || o->val[0] == '\0') {
      continue;
    }
    if (o->envvar == NULL) {
      if (strcmp(o->keyword, "fallback_application_name") == 0) {
        continue;
      }
      say_err(what,
              "database-url: option \"%s\" cannot be passed to pg_dump/"
              "pg_restore through the environment",
              o->keyword);
      goto err;
    }
    if (ce->num_owned == MAX_PG_VARS) {
      say_err(what, "database-url: too many options");
      goto err;
    }
    size_t len = strlen(o->envvar) + 1 + strlen(o->val) + 1;
    char *s = vigil_malloc(len);
    if (s == NULL) {
      say_err(what, "out of memory");
      goto err;
    }
    snprintf(s, len, "%s=%s", o->envvar, o->val);
    ce->owned[ce->num_owned++] = s;
    have_timeout |= strcmp(o->envvar, "PGCONNECT_TIMEOUT") == 0;
  }
  if (!have_timeout && ce->num_owned < MAX_PG_VARS) {
    char *s = vigil_malloc(48);
    if (s == NULL) {
      say_err(what, "out of memory");
      goto err;
    }
    snprintf(s, 48, "PGCONNECT_TIMEOUT=%lld", (long long)connect_timeout);
    ce->owned[ce->num_owned++] = s;
  }
  for (char **e = environ; e != NULL && *e != NULL; e++) {
    num_env++;
  }
  if (num_env > MAX_ENV) {
    say_err(what, "the environment has more than %d variables", MAX_ENV);
    goto err;
  }
  ce->envp = vigil_calloc(num_env + ce->num_owned + 1, sizeof(char *));
  if (ce->envp == NULL) {
    say_err(what, "out of memory");
    goto err;
  }
  size_t k = 0;
  for (size_t i = 0; i < num_env; i++) {
    const char *v = environ[i];
    const char *eq = strchr(v, '=');
    size_t name_len = eq != NULL ? (size_t)(eq - v) : strlen(v);
    int overridden = 0;
    for (size_t j = 0; j < ce->num_owned && !overridden; j++) {
      overridden = strncmp(ce->owned[j], v, name_len) == 0 &&
                   ce->owned[j][name_len] == '=';
    }
    if (!overridden) {
      ce->envp[k++] = environ[i];
    }
  }
  for (size_t j = 0; j < ce->num_owned; j++) {
    ce->envp[k++] = ce->owned[j];
  }
  ce->envp[k] = NULL;
  PQconninfoFree(opts);
  return 1;

err:
  PQconninfoFree(opts);
  child_env_cleanup(ce);
  return 0;
}

/* run_child runs |argv| (argv[0] the full path) with |envp|, its stdin
 * from |in_fd| and stdout to |out_fd| (-1: inherited), stderr inherited,
 * and waits for it. Returns 1 if it exited with status 0. */
static int run_child(char *const argv[], char *const envp[], int in_fd,
                     int out_fd, const char *what) {
  char eb[128];
  int status = 0;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    say_err(what, "fork: %s", errno_text(eb, sizeof(eb)));
    return 0;
  }
  if (pid == 0) {
    /* Only async-signal-safe calls until execve. */
    if ((in_fd >= 0 && dup2(in_fd, STDIN_FILENO) < 0) ||
        (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0)) {
      _exit(126);
    }
    execve(argv[0], argv, envp);
    _exit(127);
  }
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      say_err(what, "waitpid: %s", errno_text(eb, sizeof(eb)));
      return 0;
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    return 1;
  }
  if (WIFEXITED(status)) {
    say_err(what, "%s exited with status %d%s", argv[0], WEXITSTATUS(status),
            WEXITSTATUS(status) == 127 ? " (could not be run)" : "");
  } else {
    say_err(what, "%s was killed by signal %d", argv[0],
            WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }
  return 0;
}

/* ==========================================================================
 * Backup
 * ========================================================================== */

/* What the backup's snapshot says. */
struct snap_info {
  char snapshot[64];                /* pg_export_snapshot() */
  char database[128];               /* current_database() */
  char created_at[32];              /* RFC 3339 UTC */
  int64_t created_unix;             /* epoch seconds */
  char server_version[64];          /* server_version */
  int64_t schema_version;           /* max(schema_migrations.version) */
  int64_t head_id;                  /* audit_head.last_id */
  char head_hash[65];               /* audit_head.last_hash, hex */
  int64_t counts[NUM_COUNT_TABLES]; /* row counts */
};

static void copy_value(char *out, size_t out_len, const PGresult *res,
                       int col) {
  snprintf(out, out_len, "%s", PQgetvalue(res, 0, col));
}

/* read_snapshot exports the open transaction's snapshot and reads what the
 * manifest records, all as of that snapshot. */
static enum ctl_db_status read_snapshot(struct ctl_db *db,
                                        struct snap_info *si) {
  PGresult *res = NULL;
  enum ctl_db_status st =
      ctl_db_exec(db, &res,
                  "SELECT pg_export_snapshot(), current_database(), "
                  "to_char(now(), 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                  "floor(extract(epoch FROM now()))::bigint, "
                  "current_setting('server_version'), "
                  "(SELECT coalesce(max(version), 0) FROM schema_migrations), "
                  "h.last_id, encode(h.last_hash, 'hex') FROM audit_head h",
                  NULL);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) != 1 ||
      !ctl_db_value_int64(&si->created_unix, res, 0, 3) ||
      !ctl_db_value_int64(&si->schema_version, res, 0, 5) ||
      !ctl_db_value_int64(&si->head_id, res, 0, 6)) {
    PQclear(res);
    return ctl_db_fail(db, CTL_DB_ERROR, "unexpected snapshot row");
  }
  copy_value(si->snapshot, sizeof(si->snapshot), res, 0);
  copy_value(si->database, sizeof(si->database), res, 1);
  copy_value(si->created_at, sizeof(si->created_at), res, 2);
  copy_value(si->server_version, sizeof(si->server_version), res, 4);
  copy_value(si->head_hash, sizeof(si->head_hash), res, 7);
  PQclear(res);
  res = NULL;
  st = ctl_db_exec(db, &res,
                   "SELECT (SELECT count(*) FROM tenants), "
                   "(SELECT count(*) FROM principals), "
                   "(SELECT count(*) FROM api_tokens), "
                   "(SELECT count(*) FROM issuers), "
                   "(SELECT count(*) FROM certificates), "
                   "(SELECT count(*) FROM revocations), "
                   "(SELECT count(*) FROM crl_numbers), "
                   "(SELECT count(*) FROM audit_events)",
                   NULL);
  if (st != CTL_DB_OK) {
    return st;
  }
  for (size_t i = 0; i < NUM_COUNT_TABLES; i++) {
    if (!ctl_db_value_int64(&si->counts[i], res, 0, (int)i)) {
      PQclear(res);
      return ctl_db_fail(db, CTL_DB_ERROR, "unexpected count row");
    }
  }
  PQclear(res);
  return CTL_DB_OK;
}

/* make_parents creates the missing ancestors of |dir| (0700), like
 * `mkdir -p $(dirname dir)`: /backups/incident-2026-11-22 works on a
 * machine without /backups yet. Returns 1, or 0 with errno set. */
static int make_parents(const char *dir) {
  char path[PATH_MAX];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof(path)) {
    errno = ENAMETOOLONG;
    return 0;
  }
  memcpy(path, dir, n + 1);
  while (n > 1 && path[n - 1] == '/') {
    path[--n] = '\0';
  }
  for (size_t i = 1; i < n; i++) {
    if (path[i] != '/') {
      continue;
    }
    path[i] = '\0';
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
      return 0;
    }
    path[i] = '/';
  }
  return 1;
}

/* prepare_dir creates |dir| 0700 (or takes an empty directory, set to
 * 0700) and opens it. Returns the directory's fd, or -1 with the reason on
 * stderr. *out_created says whether we created it. */
static int prepare_dir(int *out_created, const char *dir) {
  char eb[128];
  struct stat st;
  *out_created = 0;
  if (!make_parents(dir)) {
    say_err("backup", "cannot create the parents of %s: %s", dir,
            errno_text(eb, sizeof(eb)));
    return -1;
  }
  if (mkdir(dir, 0700) == 0) {
    *out_created = 1;
  } else if (errno != EEXIST) {
    say_err("backup", "cannot create %s: %s", dir, errno_text(eb, sizeof(eb)));
    return -1;
  }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    say_err("backup", "cannot open %s: %s", dir, errno_text(eb, sizeof(eb)));
    return -1;
  }
  if (!*out_created) {
    /* An earlier backup is never overwritten: only an empty directory. */
    int dup_fd = dup(fd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    int empty = d != NULL;
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
      if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
        empty = 0;
      }
    }
    if (d != NULL) {
      closedir(d);
    } else if (dup_fd >= 0) {
      close(dup_fd);
    }
    if (!empty) {
      say_err("backup",
              "%s exists and is not an empty directory: a backup never "
              "overwrites another; choose a new directory",
              dir);
      close(fd);
      return -1;
    }
    if (fstat(fd, &st) != 0 || fchmod(fd, 0700) != 0) {
      say_err("backup", "cannot make %s 0700: %s", dir,
              errno_text(eb, sizeof(eb)));
      close(fd);
      return -1;
    }
  }
  return fd;
}

/* remove_partial undoes a failed backup: our files, and |dir| if we made
 * it. */
static void remove_partial(int dirfd, const char *dir, int created) {
  (void)unlinkat(dirfd, DUMP_NAME, 0);
  (void)unlinkat(dirfd, MANIFEST_NAME, 0);
  (void)unlinkat(dirfd, SEAL_NAME, 0);
  if (created) {
    (void)rmdir(dir);
  }
}

/* dump_database runs pg_dump -Fc in |snapshot| into DUMP_NAME in |dirfd|.
 * Returns 1, or 0 with the reason on stderr. */
static int dump_database(int dirfd, const struct child_env *ce,
                         const char *snapshot) {
  char tool[1024];
  char snap_arg[96];
  char eb[128];
  if (!find_tool(tool, sizeof(tool), "pg_dump")) {
    say_err("backup", "pg_dump not found on PATH nor in %s",
            CTL_BACKUP_PG_BINDIR);
    return 0;
  }
  snprintf(snap_arg, sizeof(snap_arg), "--snapshot=%s", snapshot);
  int fd =
      openat(dirfd, DUMP_NAME, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    say_err("backup", "cannot create %s: %s", DUMP_NAME,
            errno_text(eb, sizeof(eb)));
    return 0;
  }
  char fmt[] = "-Fc";
  char nopw[] = "--no-password";
  char *argv[] = { tool, fmt, nopw, snap_arg, NULL };
  int ok = run_child(argv, ce->envp, -1, fd, "backup");
  if (ok && fsync(fd) != 0) {
    say_err("backup", "fsync %s: %s", DUMP_NAME, errno_text(eb, sizeof(eb)));
    ok = 0;
  }
  close(fd);
  return ok;
}

/* dump_json returns |j| as indented text plus a newline (caller frees with
 * free(), as jansson allocates it), or NULL. */
static char *dump_json(const json_t *j) {
  char *s = json_dumps(j, JSON_INDENT(2));
  if (s == NULL) {
    return NULL;
  }
  size_t n = strlen(s);
  char *t = realloc(s, n + 2);
  if (t == NULL) {
    free(s);
    return NULL;
  }
  t[n] = '\n';
  t[n + 1] = '\0';
  return t;
}

enum ctl_backup_result ctl_backup_write(FILE *out, const struct ctl_config *cfg,
                                        const struct ctl_db_options *db_opts,
                                        const struct vigil_log *log,
                                        const char *dir) {
  enum ctl_backup_result rc = CTL_BACKUP_FAILED;
  struct snap_info si;
  struct ctl_audit_report ar;
  struct child_env ce;
  json_t *manifest = NULL;
  json_t *seal = NULL;
  char *manifest_text = NULL;
  char *seal_text = NULL;
  struct ctl_db *db = NULL;
  int created = 0;
  int dirfd = -1;
  int dumpfd = -1;
  char err[512];
  (void)log;
  memset(&si, 0, sizeof(si));
  memset(&ar, 0, sizeof(ar));
  memset(&ce, 0, sizeof(ce));
  if (dir == NULL || dir[0] == '\0') {
    say_err("backup", "no backup directory given");
    return CTL_BACKUP_USAGE;
  }
  if (!child_env_init(&ce, cfg->database_url, cfg->db_connect_timeout,
                      "backup")) {
    return CTL_BACKUP_USAGE;
  }
  db = ctl_db_new(db_opts);
  if (db == NULL) {
    say_err("backup", "out of memory");
    goto done;
  }
  /* Connect before creating anything: an unreachable database leaves no
   * empty backup directory behind. */
  enum ctl_db_status st = ctl_db_connect(db);
  if (st != CTL_DB_OK) {
    rc = db_failed("backup", db, st);
    goto done;
  }
  dirfd = prepare_dir(&created, dir);
  if (dirfd < 0) {
    goto done;
  }

  /* 1. One snapshot for the dump and the manifest's facts. */
  st = ctl_db_begin(db, CTL_DB_REPEATABLE_READ, 1);
  if (st == CTL_DB_OK) {
    st = read_snapshot(db, &si);
  }
  if (st != CTL_DB_OK) {
    rc = db_failed("backup", db, st);
    ctl_db_rollback(db);
    goto done;
  }
  int dumped = dump_database(dirfd, &ce, si.snapshot);
  ctl_db_rollback(db);
  if (!dumped) {
    goto done;
  }

  /* 2. The audit chain: a broken one is backed up all the same (it is the
   * evidence), and said loudly. */
  st = ctl_audit_verify(db, &ar);
  if (st != CTL_DB_OK) {
    rc = db_failed("backup", db, st);
    goto done;
  }

  /* 3. The dump's size and digest, as written to disk. */
  uint8_t dump_digest[32];
  uint64_t dump_size = 0;
  char dump_hex[65];
  dumpfd = openat(dirfd, DUMP_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (dumpfd < 0 || !hash_fd(dump_digest, &dump_size, dumpfd, UINT64_MAX)) {
    say_err("backup", "cannot read back %s", DUMP_NAME);
    goto done;
  }
  vigil_hex_encode(dump_hex, dump_digest, 32);

  /* 4. The manifest. */
  json_t *counts = json_object();
  for (size_t i = 0; counts != NULL && i < NUM_COUNT_TABLES; i++) {
    if (json_object_set_new(counts, count_tables[i],
                            json_integer((json_int_t)si.counts[i])) != 0) {
      json_decref(counts);
      counts = NULL;
    }
  }
  if (counts == NULL) {
    say_err("backup", "out of memory");
    goto done;
  }
  manifest = json_pack(
      "{s:s,s:i,s:s,s:I,s:s,s:s,s:I,s:{s:I,s:s,s:b,s:I,s:s},s:o,s:[{s:s,s:I,"
      "s:s}]}",
      "format", CTL_BACKUP_FORMAT, "format_version", CTL_BACKUP_FORMAT_VERSION,
      "created_at", si.created_at, "created_at_unix",
      (json_int_t)si.created_unix, "database", si.database, "server_version",
      si.server_version, "schema_version", (json_int_t)si.schema_version,
      "audit", "head_id", (json_int_t)si.head_id, "head_hash", si.head_hash,
      "chain_intact", ar.intact, "broken_at_event", (json_int_t)ar.broken_id,
      "chain_problem", ar.reason, "row_counts", counts, "files", "name",
      DUMP_NAME, "size", (json_int_t)dump_size, "sha256", dump_hex);
  if (manifest == NULL) {
    say_err("backup", "out of memory");
    goto done;
  }
  manifest_text = dump_json(manifest);
  if (manifest_text == NULL) {
    say_err("backup", "out of memory");
    goto done;
  }
  size_t manifest_len = strlen(manifest_text);
  uint8_t manifest_digest[32];
  char manifest_hex[65];
  if (!vigil_sha256(manifest_digest, manifest_text, manifest_len)) {
    say_err("backup", "SHA-256 failed");
    goto done;
  }
  vigil_hex_encode(manifest_hex, manifest_digest, 32);
  if (!write_new_file(dirfd, MANIFEST_NAME, manifest_text, manifest_len)) {
    goto done;
  }

  /* 5. The seal, by the signer's audit key. */
  seal = ctl_seal_make(err, sizeof(err), cfg->signer_socket, manifest_digest,
                       CTL_BACKUP_SEAL_CONTEXT);
  if (seal == NULL) {
    say_err("backup", "the manifest could not be sealed: %s", err);
    goto done;
  }
  seal_text = dump_json(seal);
  if (seal_text == NULL) {
    say_err("backup", "out of memory");
    goto done;
  }
  if (!write_new_file(dirfd, SEAL_NAME, seal_text, strlen(seal_text))) {
    goto done;
  }
  if (fsync(dirfd) != 0) {
    say_err("backup", "fsync %s failed", dir);
    goto done;
  }
  if (created) {
    /* The new directory's entry lives in its parent. */
    char parent[1024];
    snprintf(parent, sizeof(parent), "%s/..", dir);
    int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd >= 0) {
      (void)fsync(pfd);
      close(pfd);
    }
  }

  /* 6. The confirmation. */
  uint8_t spki[MAX_SPKI];
  size_t spki_len = 0;
  char fp[72] = "(unknown)";
  const char *spki_b64 = json_string_value(json_object_get(seal, "audit_spki"));
  if (spki_b64 != NULL &&
      vigil_b64_decode(spki, &spki_len, sizeof(spki), spki_b64,
                       strlen(spki_b64)) == VIGIL_B64_OK) {
    fingerprint(fp, spki, spki_len);
  }
  fprintf(out, "backup written to %s\n", dir);
  fprintf(out, "  database      %s (schema version %" PRId64 ", %s)\n",
          si.database, si.schema_version, si.created_at);
  fprintf(out, "  %-18s %12" PRIu64 " bytes  sha256 %s\n", DUMP_NAME, dump_size,
          dump_hex);
  fprintf(out, "  %-18s %12zu bytes  sha256 %s\n", MANIFEST_NAME, manifest_len,
          manifest_hex);
  fprintf(out, "  %-18s %12zu bytes\n", SEAL_NAME, strlen(seal_text));
  fprintf(out, "  rows          ");
  for (size_t i = 0; i < NUM_COUNT_TABLES; i++) {
    fprintf(out, "%s%s %" PRId64, i ? ", " : "", count_tables[i], si.counts[i]);
  }
  fprintf(out, "\n  audit head    event %" PRId64 ", hash %s\n", si.head_id,
          si.head_hash);
  if (ar.intact) {
    fprintf(out, "  audit chain   intact (%" PRId64 " events verified)\n",
            ar.num_events);
  } else {
    fprintf(
        out,
        "  audit chain   BROKEN at event %" PRId64
        ": %s\n"
        "  !!! WARNING: the audit chain of this database is BROKEN. The\n"
        "  !!! backup was written anyway, as evidence; the manifest records\n"
        "  !!! the break. Investigate before trusting this database.\n",
        ar.broken_id, ar.reason);
    fprintf(stderr,
            "vigil-control: backup: WARNING: audit chain BROKEN at event "
            "%" PRId64 ": %s\n",
            ar.broken_id, ar.reason);
  }
  fprintf(out, "sealed by audit key %s\n", fp);
  rc = CTL_BACKUP_OK;

done:
  if (rc != CTL_BACKUP_OK && dirfd >= 0) {
    /* Nothing half-written is left to be mistaken for a backup. */
    fprintf(stderr,
            "vigil-control: backup: FAILED; the partial files were removed "
            "from %s\n",
            dir);
    remove_partial(dirfd, dir, created);
  }
  if (dumpfd >= 0) {
    close(dumpfd);
  }
  if (dirfd >= 0) {
    close(dirfd);
  }
  free(manifest_text);
  free(seal_text);
  json_decref(manifest);
  json_decref(seal);
  ctl_db_free(db);
  child_env_cleanup(&ce);
  return rc;
}

/* ==========================================================================
 * Restore
 * ========================================================================== */

/* What a verified manifest promises. */
struct manifest_facts {
  char created_at[32];
  char database[128];
  int64_t schema_version;
  int64_t head_id;
  char head_hash[65];
  int chain_intact;
  int64_t counts[NUM_COUNT_TABLES];
  int have_counts[NUM_COUNT_TABLES];
};

static const char *jstr(const json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

/* verify_backup checks the seal (pinned key), then every file the
 * manifest lists. On success |*out_dump_fd| is the verified dump, open at
 * its start. Returns 1, or 0 with the reason on stderr. */
static int verify_backup(FILE *out, struct manifest_facts *mf, int *out_dump_fd,
                         char manifest_hex[65], int dirfd,
                         const struct ctl_restore_options *ro) {
  uint8_t *mtext = NULL;
  uint8_t *stext = NULL;
  size_t mlen = 0;
  size_t slen = 0;
  json_t *seal = NULL;
  json_t *m = NULL;
  json_error_t je;
  uint8_t spki[MAX_SPKI];
  size_t spki_len = 0;
  uint8_t digest[32];
  char err[512];
  char fp[72];
  int dump_fd = -1;
  int ok = 0;
  if (!load_pem_spki(spki, &spki_len, sizeof(spki), ro->audit_key)) {
    return 0;
  }
  fingerprint(fp, spki, spki_len);
  if (!read_small(&mtext, &mlen, dirfd, MANIFEST_NAME, MAX_MANIFEST,
                  "restore") ||
      !read_small(&stext, &slen, dirfd, SEAL_NAME, MAX_SEAL, "restore")) {
    goto done;
  }
  if (!vigil_sha256(digest, mtext, mlen)) {
    say_err("restore", "SHA-256 failed");
    goto done;
  }
  vigil_hex_encode(manifest_hex, digest, 32);
  seal = json_loadb((const char *)stext, slen, 0, &je);
  if (seal == NULL || !json_is_object(seal)) {
    say_err("restore", "REFUSED: %s is not a JSON object", SEAL_NAME);
    goto done;
  }
  if (!vigil_seal_check_json(err, sizeof(err), seal, digest,
                             CTL_BACKUP_SEAL_CONTEXT, spki, spki_len)) {
    say_err("restore",
            "REFUSED: the seal of %s does not verify with the audit key %s "
            "(%s): %s. The backup was tampered with or sealed by another "
            "key; nothing was changed",
            MANIFEST_NAME, fp, ro->audit_key, err);
    goto done;
  }
  fprintf(out, "seal verified: %s sha256 %s, sealed by audit key %s\n",
          MANIFEST_NAME, manifest_hex, fp);
  m = json_loadb((const char *)mtext, mlen, 0, &je);
  const char *fmt = m != NULL ? jstr(m, "format") : NULL;
  if (fmt == NULL || strcmp(fmt, CTL_BACKUP_FORMAT) != 0 ||
      json_integer_value(json_object_get(m, "format_version")) !=
          CTL_BACKUP_FORMAT_VERSION) {
    say_err("restore", "REFUSED: %s is not a %s version %d manifest",
            MANIFEST_NAME, CTL_BACKUP_FORMAT, CTL_BACKUP_FORMAT_VERSION);
    goto done;
  }
  const json_t *audit = json_object_get(m, "audit");
  const json_t *counts = json_object_get(m, "row_counts");
  const json_t *files = json_object_get(m, "files");
  const char *hh = jstr(audit, "head_hash");
  if (!json_is_array(files) || json_array_size(files) == 0 ||
      json_array_size(files) > MAX_FILES || hh == NULL || strlen(hh) != 64 ||
      !json_is_integer(json_object_get(audit, "head_id"))) {
    say_err("restore", "REFUSED: %s lacks its files or audit head",
            MANIFEST_NAME);
    goto done;
  }
  snprintf(mf->created_at, sizeof(mf->created_at), "%s",
           jstr(m, "created_at") ? jstr(m, "created_at") : "?");
  snprintf(mf->database, sizeof(mf->database), "%s",
           jstr(m, "database") ? jstr(m, "database") : "?");
  mf->schema_version = json_integer_value(json_object_get(m, "schema_version"));
  mf->head_id = json_integer_value(json_object_get(audit, "head_id"));
  snprintf(mf->head_hash, sizeof(mf->head_hash), "%s", hh);
  mf->chain_intact = json_is_true(json_object_get(audit, "chain_intact"));
  for (size_t i = 0; i < NUM_COUNT_TABLES; i++) {
    const json_t *c = json_object_get(counts, count_tables[i]);
    mf->have_counts[i] = json_is_integer(c);
    mf->counts[i] = json_integer_value(c);
  }
  size_t idx;
  const json_t *f;
  json_array_foreach(files, idx, f) {
    const char *name = jstr(f, "name");
    const char *want = jstr(f, "sha256");
    const json_t *size = json_object_get(f, "size");
    struct stat st;
    uint8_t d[32];
    uint64_t got_size = 0;
    char got[65];
    if (name == NULL || !valid_file_name(name) || want == NULL ||
        strlen(want) != 64 || !json_is_integer(size) ||
        json_integer_value(size) < 0) {
      say_err("restore", "REFUSED: file entry %zu of %s is malformed", idx,
              MANIFEST_NAME);
      goto done;
    }
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      say_err("restore",
              "REFUSED: %s (listed in the manifest) is missing "
              "or not a regular file; nothing was changed",
              name);
      if (fd >= 0) {
        close(fd);
      }
      goto done;
    }
    uint64_t want_size = (uint64_t)json_integer_value(size);
    if ((uint64_t)st.st_size != want_size ||
        !hash_fd(d, &got_size, fd, want_size) || got_size != want_size) {
      say_err("restore",
              "REFUSED: %s is %lld bytes, the manifest says %" PRIu64
              "; the backup is damaged or was tampered with; nothing was "
              "changed",
              name, (long long)st.st_size, want_size);
      close(fd);
      goto done;
    }
    vigil_hex_encode(got, d, 32);
    if (strcmp(got, want) != 0) {
      say_err("restore",
              "REFUSED: SHA-256 of %s is %s, the sealed manifest says %s; the "
              "backup is damaged or was tampered with; nothing was changed",
              name, got, want);
      close(fd);
      goto done;
    }
    fprintf(out, "file verified: %s %" PRIu64 " bytes sha256 %s\n", name,
            got_size, got);
    if (strcmp(name, DUMP_NAME) == 0 && dump_fd < 0) {
      dump_fd = fd;
    } else {
      close(fd);
    }
  }
  if (dump_fd < 0) {
    say_err("restore", "REFUSED: the manifest lists no %s", DUMP_NAME);
    goto done;
  }
  *out_dump_fd = dump_fd;
  dump_fd = -1;
  ok = 1;

done:
  if (dump_fd >= 0) {
    close(dump_fd);
  }
  json_decref(seal);
  json_decref(m);
  vigil_free(mtext);
  vigil_free(stext);
  return ok;
}

/* The target database as found before the restore. */
struct target_info {
  char database[128]; /* current_database() */
  char schema[128];   /* current_schema() */
  int has_vigil;      /* 1: schema_migrations or audit_events exists */
};

static enum ctl_db_status read_target(struct ctl_db *db,
                                      struct target_info *ti) {
  PGresult *res = NULL;
  enum ctl_db_status st =
      ctl_db_exec(db, &res,
                  "SELECT current_database(), coalesce(current_schema(), ''), "
                  "(to_regclass('schema_migrations') IS NOT NULL OR "
                  "to_regclass('audit_events') IS NOT NULL)::int",
                  NULL);
  if (st != CTL_DB_OK) {
    return st;
  }
  copy_value(ti->database, sizeof(ti->database), res, 0);
  copy_value(ti->schema, sizeof(ti->schema), res, 1);
  ti->has_vigil = strcmp(PQgetvalue(res, 0, 2), "1") == 0;
  PQclear(res);
  return CTL_DB_OK;
}

/* move_schema renames schema |from| to |to| and creates an empty |from|
 * (or, with |undo|, drops the empty |from| and renames |to| back), in one
 * transaction. Identifiers are quoted by the server's format(%I). */
static enum ctl_db_status move_schema(struct ctl_db *db, const char *from,
                                      const char *to, int undo) {
  struct ctl_db_params p;
  PGresult *res = NULL;
  char s1[600];
  char s2[600];
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, from);
  ctl_db_param_text(&p, to);
  enum ctl_db_status st =
      ctl_db_exec(db, &res,
                  undo ? "SELECT format('DROP SCHEMA %I RESTRICT', $1::text), "
                         "format('ALTER SCHEMA %I RENAME TO %I', $2::text, "
                         "$1::text)"
                       : "SELECT format('ALTER SCHEMA %I RENAME TO %I', "
                         "$1::text, $2::text), "
                         "format('CREATE SCHEMA %I', $1::text)",
                  &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  snprintf(s1, sizeof(s1), "%s", PQgetvalue(res, 0, 0));
  snprintf(s2, sizeof(s2), "%s", PQgetvalue(res, 0, 1));
  PQclear(res);
  st = ctl_db_begin(db, CTL_DB_READ_COMMITTED, 0);
  if (st == CTL_DB_OK) {
    st = ctl_db_exec(db, NULL, s1, NULL);
  }
  if (st == CTL_DB_OK) {
    st = ctl_db_exec(db, NULL, s2, NULL);
  }
  if (st == CTL_DB_OK) {
    return ctl_db_commit(db);
  }
  ctl_db_rollback(db);
  return st;
}

/* restore_dump runs pg_restore of |dump_fd| into |dbname| in a single
 * transaction. */
static int restore_dump(const struct child_env *ce, int dump_fd,
                        const char *dbname) {
  char tool[1024];
  if (!find_tool(tool, sizeof(tool), "pg_restore")) {
    say_err("restore", "pg_restore not found on PATH nor in %s",
            CTL_BACKUP_PG_BINDIR);
    return 0;
  }
  /* -d takes a connection string too: a name that could be read as one is
   * refused rather than passed. */
  for (const char *c = dbname; *c != '\0'; c++) {
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
          (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.')) {
      say_err("restore",
              "database name \"%s\" has characters pg_restore -d "
              "could misread; rename it",
              dbname);
      return 0;
    }
  }
  char a1[] = "--exit-on-error";
  char a2[] = "--single-transaction";
  char a3[] = "--no-password";
  char a4[] = "-d";
  char dbn[128];
  snprintf(dbn, sizeof(dbn), "%s", dbname);
  char *argv[] = { tool, a1, a2, a3, a4, dbn, NULL };
  return run_child(argv, ce->envp, dump_fd, -1, "restore");
}

/* check_restored compares the restored audit head and row counts with the
 * manifest. Returns CTL_DB_OK and sets *out_match. */
static enum ctl_db_status check_restored(FILE *out, struct ctl_db *db,
                                         const struct manifest_facts *mf,
                                         int *out_match) {
  PGresult *res = NULL;
  *out_match = 1;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "SELECT h.last_id, encode(h.last_hash, 'hex'), "
      "(SELECT count(*) FROM tenants), (SELECT count(*) FROM principals), "
      "(SELECT count(*) FROM api_tokens), (SELECT count(*) FROM issuers), "
      "(SELECT count(*) FROM certificates), "
      "(SELECT count(*) FROM revocations), "
      "(SELECT count(*) FROM crl_numbers), "
      "(SELECT count(*) FROM audit_events) FROM audit_head h",
      NULL);
  if (st != CTL_DB_OK) {
    return st;
  }
  int64_t head = 0;
  if (PQntuples(res) != 1 || !ctl_db_value_int64(&head, res, 0, 0) ||
      head != mf->head_id ||
      strcmp(PQgetvalue(res, 0, 1), mf->head_hash) != 0) {
    fprintf(out,
            "  MISMATCH: restored audit head is not the manifest's "
            "(event %" PRId64 ", hash %s)\n",
            mf->head_id, mf->head_hash);
    *out_match = 0;
  }
  for (size_t i = 0; i < NUM_COUNT_TABLES && PQntuples(res) == 1; i++) {
    int64_t n = 0;
    if (!mf->have_counts[i]) {
      continue;
    }
    if (!ctl_db_value_int64(&n, res, 0, (int)i + 2) || n != mf->counts[i]) {
      fprintf(out,
              "  MISMATCH: %s has %" PRId64 " rows, the manifest says %" PRId64
              "\n",
              count_tables[i], n, mf->counts[i]);
      *out_match = 0;
    }
  }
  PQclear(res);
  return CTL_DB_OK;
}

/* empty_caches empties the caches rebuilt from the truth and records the
 * restore in the audit chain, in one transaction. */
static enum ctl_db_status empty_caches(struct ctl_db *db, int64_t *out_event,
                                       const char *details,
                                       const char *subject) {
  enum ctl_db_status st = ctl_db_begin(db, CTL_DB_READ_COMMITTED, 0);
  if (st != CTL_DB_OK) {
    return st;
  }
  /* Neither table has a guard: both are documented as safe to empty
   * (migrations 0001 and 0002); crl_numbers, the high-water mark, stays. */
  st = ctl_db_exec(db, NULL, "TRUNCATE crl_cache, ocsp_presign", NULL);
  if (st == CTL_DB_OK) {
    struct ctl_audit_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = "backup.restored";
    ev.subject = subject;
    ev.details_json = details;
    st = ctl_audit_append(db, out_event, NULL, &ev);
  }
  if (st != CTL_DB_OK) {
    ctl_db_rollback(db);
    return st;
  }
  return ctl_db_commit(db);
}

enum ctl_backup_result ctl_backup_restore(
    FILE *out, const struct ctl_config *cfg,
    const struct ctl_db_options *db_opts, const struct vigil_log *log,
    const struct ctl_restore_options *ro) {
  enum ctl_backup_result rc = CTL_BACKUP_FAILED;
  struct manifest_facts mf;
  struct target_info ti;
  struct child_env ce;
  struct ctl_migrate_report *mrep = NULL;
  struct ctl_db *db = NULL;
  char manifest_hex[65] = "";
  char moved_to[64] = "";
  char *details = NULL;
  int dirfd = -1;
  int dump_fd = -1;
  memset(&mf, 0, sizeof(mf));
  memset(&ti, 0, sizeof(ti));
  memset(&ce, 0, sizeof(ce));
  if (ro->dir == NULL || ro->dir[0] == '\0') {
    say_err("restore", "no backup directory given (--from DIR)");
    return CTL_BACKUP_USAGE;
  }
  if (ro->audit_key == NULL || ro->audit_key[0] == '\0') {
    say_err("restore",
            "--audit-key FILE is required: the signer's audit public key "
            "(<signer key-dir>/audit.pub) that the backup's seal must verify "
            "with");
    return CTL_BACKUP_USAGE;
  }
  if (!child_env_init(&ce, cfg->database_url, cfg->db_connect_timeout,
                      "restore")) {
    return CTL_BACKUP_USAGE;
  }

  /* 1. Verify everything before touching the database. */
  char eb[128];
  dirfd = open(ro->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) {
    say_err("restore", "cannot open %s: %s", ro->dir,
            errno_text(eb, sizeof(eb)));
    goto done;
  }
  if (!verify_backup(out, &mf, &dump_fd, manifest_hex, dirfd, ro)) {
    goto done;
  }
  fprintf(out,
          "backup verified: database %s of %s, schema version %" PRId64
          ", audit head event %" PRId64 "\n",
          mf.database, mf.created_at, mf.schema_version, mf.head_id);
  if (!mf.chain_intact) {
    fprintf(out,
            "!!! WARNING: the manifest records that the audit chain was "
            "ALREADY BROKEN when this backup was taken\n");
  }

  /* 2. The target must be empty of Vigil, unless forced. */
  db = ctl_db_new(db_opts);
  if (db == NULL) {
    say_err("restore", "out of memory");
    goto done;
  }
  enum ctl_db_status st = read_target(db, &ti);
  if (st != CTL_DB_OK) {
    rc = db_failed("restore", db, st);
    goto done;
  }
  if (ti.has_vigil && !ro->force) {
    say_err("restore",
            "REFUSED: database %s already holds Vigil tables "
            "(schema_migrations/audit_events); nothing was changed. Restore "
            "into an empty database, or pass --force to move schema \"%s\" "
            "aside (kept, renamed) and restore in its place "
            "(docs/runbooks/disaster-recovery.md)",
            ti.database, ti.schema);
    goto done;
  }
  if (ti.has_vigil) {
    if (ti.schema[0] == '\0') {
      say_err("restore", "no current schema to move aside");
      goto done;
    }
    /* The damaged schema is kept under a new name, never dropped: its
     * audit_events are evidence too (DROP would get past the triggers). */
    PGresult *res = NULL;
    st = ctl_db_exec(db, &res,
                     "SELECT 'vigil_replaced_' || "
                     "floor(extract(epoch FROM clock_timestamp()))::bigint",
                     NULL);
    if (st != CTL_DB_OK) {
      rc = db_failed("restore", db, st);
      goto done;
    }
    snprintf(moved_to, sizeof(moved_to), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    st = move_schema(db, ti.schema, moved_to, 0);
    if (st != CTL_DB_OK) {
      rc = db_failed("restore", db, st);
      goto done;
    }
    fprintf(out,
            "--force: moved the existing schema \"%s\" aside as \"%s\" "
            "(kept; drop it once it is no longer needed)\n",
            ti.schema, moved_to);
  }

  /* 3. pg_restore, all or nothing. */
  fprintf(out, "restoring %s into database %s ...\n", DUMP_NAME, ti.database);
  if (!restore_dump(&ce, dump_fd, ti.database)) {
    say_err("restore", "pg_restore failed; its transaction was rolled back");
    if (moved_to[0] != '\0') {
      st = move_schema(db, ti.schema, moved_to, 1);
      if (st == CTL_DB_OK) {
        fprintf(stderr,
                "vigil-control: restore: the previous schema was put "
                "back as \"%s\"; the database is as it was\n",
                ti.schema);
      } else {
        say_err("restore",
                "could not put the previous schema back: %s; it is kept as "
                "\"%s\"",
                ctl_db_last_error(db)->message, moved_to);
      }
    }
    goto done;
  }
  int match = 0;
  st = check_restored(out, db, &mf, &match);
  if (st != CTL_DB_OK) {
    rc = db_failed("restore", db, st);
    goto done;
  }
  if (!match) {
    say_err("restore", "the restored database does not match the manifest");
    goto done;
  }
  fprintf(out,
          "restored: audit head event %" PRId64
          " and row counts match the manifest\n",
          mf.head_id);

  /* 4. Newer migrations, if the backup is older than this binary. */
  mrep = vigil_calloc(1, sizeof(*mrep));
  if (mrep == NULL) {
    say_err("restore", "out of memory");
    goto done;
  }
  enum ctl_migrate_result mr =
      ctl_migrate_run(db, mrep, log, cfg->migrations_dir, 0);
  if (mr != CTL_MIGRATE_OK) {
    say_err("restore", "migrate: %s", mrep->error);
    rc = mr == CTL_MIGRATE_UNAVAILABLE ? CTL_BACKUP_UNAVAILABLE
                                       : CTL_BACKUP_FAILED;
    goto done;
  }
  fprintf(out, "migrations: schema at version %d (%zu applied now)\n",
          mrep->schema_version, mrep->num_applied_now);

  /* 5. Caches rebuilt from the truth; the restore is audited. */
  json_t *d = json_pack(
      "{s:s,s:s,s:s,s:I,s:b,s:s?}", "backup_dir", ro->dir, "backup_created_at",
      mf.created_at, "manifest_sha256", manifest_hex, "backup_audit_head",
      (json_int_t)mf.head_id, "forced", ro->force && moved_to[0] != '\0',
      "moved_aside_schema", moved_to[0] != '\0' ? moved_to : NULL);
  details = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
  json_decref(d);
  if (details == NULL) {
    say_err("restore", "out of memory");
    goto done;
  }
  char subject[80];
  snprintf(subject, sizeof(subject), "backup:%s", manifest_hex);
  int64_t event = 0;
  st = empty_caches(db, &event, details, subject);
  if (st != CTL_DB_OK) {
    rc = db_failed("restore", db, st);
    goto done;
  }
  fprintf(out,
          "caches emptied: crl_cache, ocsp_presign (audit event %" PRId64
          " backup.restored)\n",
          event);

  /* 6. The audit chain, restored plus the new event. */
  struct ctl_audit_report ar;
  st = ctl_audit_verify(db, &ar);
  if (st != CTL_DB_OK) {
    rc = db_failed("restore", db, st);
    goto done;
  }
  char hex[2 * CTL_AUDIT_HASH_LEN + 1];
  vigil_hex_encode(hex, ar.last_hash, sizeof(ar.last_hash));
  if (!ar.intact) {
    fprintf(out, "!!! audit chain BROKEN at event %" PRId64 ": %s%s\n",
            ar.broken_id, ar.reason,
            mf.chain_intact ? ""
                            : " (the manifest records it was broken "
                              "when backed up)");
    /* The data is restored; the mirror is still rebuilt from it, and the
     * break is the operator's to investigate (the exit status says so). */
  } else {
    fprintf(out,
            "audit chain intact: %" PRId64 " events, head event %" PRId64
            ", hash %s\n",
            ar.num_events, ar.last_id, hex);
  }

  /* 7. Redis, rebuilt from the restored truth. */
  if (cfg->redis_url[0] == '\0') {
    fprintf(out,
            "redis: no redis-url; run `vigil-control resync` against "
            "each Redis before the edges serve again\n");
  } else {
    struct ctl_resync_report rr;
    enum ctl_resync_result r = ctl_resync(&rr, cfg, db_opts, log);
    if (r != CTL_RESYNC_OK) {
      say_err("restore",
              "the database is restored, but the Redis resync failed: %s; "
              "run `vigil-control resync` once Redis and the signer are up",
              rr.error);
      rc = r == CTL_RESYNC_UNAVAILABLE ? CTL_BACKUP_UNAVAILABLE
           : r == CTL_RESYNC_CONFIG    ? CTL_BACKUP_USAGE
                                       : CTL_BACKUP_FAILED;
      goto done;
    }
    fprintf(out,
            "redis resynced: %" PRIu64 " issuers, %" PRIu64
            " responses, %" PRIu64 " CRLs; v1:mirror %" PRId64 "\n",
            rr.num_issuers, rr.num_responses, rr.num_crls, rr.mirror);
  }
  if (!ar.intact) {
    fprintf(out, "restore complete, but the audit chain is BROKEN\n");
    say_err("restore", "the restored audit chain is BROKEN at event %" PRId64,
            ar.broken_id);
    goto done;
  }
  fprintf(out, "restore complete\n");
  rc = CTL_BACKUP_OK;

done:
  free(details);
  vigil_free(mrep);
  ctl_db_free(db);
  if (dump_fd >= 0) {
    close(dump_fd);
  }
  if (dirfd >= 0) {
    close(dirfd);
  }
  child_env_cleanup(&ce);
  return rc;
}
