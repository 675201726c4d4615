/* sgn_keydir.c: the signer's key directory (see sgn_keydir.h). */
#include "sgn_keydir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sgn_files.h"
#include "vigil/keyspace.h"

#define TMP_PREFIX ".tmp-"

static void set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s);
  size_t m = strlen(suffix);
  return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* check_dir refuses a directory others could write into (they could
 * plant or swap key files). */
static int check_dir(const char *path, char *err, size_t err_len) {
  struct stat st;
  char eb[128];
  if (stat(path, &st) != 0) {
    set_err(err, err_len, "%s: %s", path,
            vigil_strerror(errno, eb, sizeof(eb)));
    return 0;
  }
  if (!S_ISDIR(st.st_mode)) {
    set_err(err, err_len, "%s is not a directory", path);
    return 0;
  }
  if (st.st_mode & 022) {
    set_err(err, err_len,
            "%s is group- or other-writable (mode %04o); refusing to use it "
            "for keys (chmod go-w)",
            path, (unsigned)(st.st_mode & 07777));
    return 0;
  }
  return 1;
}

/* check_key refuses a key file that is not a private regular file. */
static int check_key(const char *path, char *err, size_t err_len) {
  struct stat st;
  char eb[128];
  if (lstat(path, &st) != 0) {
    set_err(err, err_len, "%s: %s", path,
            vigil_strerror(errno, eb, sizeof(eb)));
    return 0;
  }
  if (S_ISLNK(st.st_mode)) {
    set_err(err, err_len, "key file %s is a symbolic link; refusing it", path);
    return 0;
  }
  if (!S_ISREG(st.st_mode)) {
    set_err(err, err_len, "key file %s is not a regular file", path);
    return 0;
  }
  if (st.st_mode & 077) {
    set_err(err, err_len,
            "key file %s has mode %04o; it must be 0600 (chmod 600)", path,
            (unsigned)(st.st_mode & 07777));
    return 0;
  }
  return 1;
}

/* check_files checks every *.key in |dir| and removes *.tmp leftovers of
 * interrupted atomic writes (they may hold key material). */
static int check_files(const char *dir, char *err, size_t err_len,
                       const struct vigil_log *log) {
  char path[PATH_MAX];
  char eb[128];
  DIR *d = opendir(dir);
  if (d == NULL) {
    set_err(err, err_len, "%s: %s", dir, vigil_strerror(errno, eb, sizeof(eb)));
    return 0;
  }
  int ok = 1;
  for (struct dirent *de = readdir(d); ok && de != NULL; de = readdir(d)) {
    if (!sgn_path(path, sizeof(path), dir, de->d_name)) {
      set_err(err, err_len, "%s/%s: path too long", dir, de->d_name);
      ok = 0;
    } else if (ends_with(de->d_name, ".tmp")) {
      VLOG_WARN(log, "removing %s (left by an interrupted write)", path);
      if (unlink(path) != 0) {
        set_err(err, err_len, "cannot remove %s: %s", path,
                vigil_strerror(errno, eb, sizeof(eb)));
        ok = 0;
      }
    } else if (ends_with(de->d_name, ".key")) {
      ok = check_key(path, err, err_len);
    }
  }
  closedir(d);
  return ok;
}

/* remove_tmp_dir removes an issuer directory whose creation was
 * interrupted (it holds files only). */
static int remove_tmp_dir(const char *path, char *err, size_t err_len,
                          const struct vigil_log *log) {
  char eb[128];
  DIR *d = opendir(path);
  if (d == NULL) {
    set_err(err, err_len, "%s: %s", path,
            vigil_strerror(errno, eb, sizeof(eb)));
    return 0;
  }
  VLOG_WARN(log, "removing %s (an interrupted issuer creation)", path);
  for (struct dirent *de = readdir(d); de != NULL; de = readdir(d)) {
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
      unlinkat(dirfd(d), de->d_name, 0);
    }
  }
  closedir(d);
  if (rmdir(path) != 0) {
    set_err(err, err_len, "cannot remove %s: %s", path,
            vigil_strerror(errno, eb, sizeof(eb)));
    return 0;
  }
  return 1;
}

static int make_dir(const char *path, char *err, size_t err_len) {
  char eb[128];
  if (mkdir(path, 0700) != 0 && errno != EEXIST) {
    set_err(err, err_len, "cannot create %s: %s", path,
            vigil_strerror(errno, eb, sizeof(eb)));
    return 0;
  }
  return 1;
}

int sgn_keydir_open(struct sgn_keydir *kd, char *err, size_t err_len,
                    const char *root, const struct vigil_log *log) {
  char path[PATH_MAX];
  char eb[128];
  memset(kd, 0, sizeof(*kd));
  kd->lock_fd = -1;
  if (root == NULL || root[0] == '\0' ||
      strlen(root) + sizeof("/issuers/") + VIGIL_KS_MAX_NAME + 32 >=
          sizeof(kd->root)) {
    set_err(err, err_len, "key-dir is empty or too long");
    return 0;
  }
  memcpy(kd->root, root, strlen(root) + 1);
  if (!sgn_path(kd->issuers, sizeof(kd->issuers), root, "issuers") ||
      !make_dir(root, err, err_len) || !check_dir(root, err, err_len) ||
      !make_dir(kd->issuers, err, err_len) ||
      !check_dir(kd->issuers, err, err_len) ||
      !sgn_path(path, sizeof(path), root, "signer.lock")) {
    return 0;
  }
  kd->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (kd->lock_fd < 0) {
    set_err(err, err_len, "%s: %s", path,
            vigil_strerror(errno, eb, sizeof(eb)));
    return 0;
  }
  if (flock(kd->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    set_err(err, err_len, "%s is in use by another vigil-signer (lock %s held)",
            root, path);
    goto err;
  }
  if (!check_files(root, err, err_len, log)) {
    goto err;
  }
  DIR *d = opendir(kd->issuers);
  if (d == NULL) {
    set_err(err, err_len, "%s: %s", kd->issuers,
            vigil_strerror(errno, eb, sizeof(eb)));
    goto err;
  }
  int ok = 1;
  for (struct dirent *de = readdir(d); ok && de != NULL; de = readdir(d)) {
    struct stat st;
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
      continue;
    }
    if (!sgn_path(path, sizeof(path), kd->issuers, de->d_name)) {
      set_err(err, err_len, "%s/%s: path too long", kd->issuers, de->d_name);
      ok = 0;
    } else if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
      /* Not an issuer; key files here are checked all the same. */
      if (ends_with(de->d_name, ".key")) {
        ok = check_key(path, err, err_len);
      }
    } else if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
      ok = remove_tmp_dir(path, err, err_len, log);
    } else {
      ok =
          check_dir(path, err, err_len) && check_files(path, err, err_len, log);
    }
  }
  closedir(d);
  if (!ok) {
    goto err;
  }
  return 1;

err:
  sgn_keydir_close(kd);
  return 0;
}

void sgn_keydir_close(struct sgn_keydir *kd) {
  if (kd->lock_fd >= 0) {
    close(kd->lock_fd); /* releases the flock */
    kd->lock_fd = -1;
  }
}

int sgn_keydir_path(const struct sgn_keydir *kd, char *out, size_t out_len,
                    const char *id, const char *file) {
  int n = snprintf(out, out_len, "%s/%s/%s", kd->issuers, id, file);
  return n > 0 && (size_t)n < out_len;
}

int sgn_keydir_list(const struct sgn_keydir *kd, char *err, size_t err_len,
                    int (*fn)(void *arg, const char *id, char *err,
                              size_t err_len),
                    void *arg, const struct vigil_log *log) {
  char eb[128];
  char path[PATH_MAX];
  DIR *d = opendir(kd->issuers);
  if (d == NULL) {
    set_err(err, err_len, "%s: %s", kd->issuers,
            vigil_strerror(errno, eb, sizeof(eb)));
    return 0;
  }
  int ok = 1;
  for (struct dirent *de = readdir(d); ok && de != NULL; de = readdir(d)) {
    struct stat st;
    const char *name = de->d_name;
    if (name[0] == '.' || !sgn_path(path, sizeof(path), kd->issuers, name) ||
        lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
      continue;
    }
    if (!vigil_ks_name_valid(name, strlen(name))) {
      VLOG_WARN(log, "ignoring %s: not a valid issuer id", path);
      continue;
    }
    ok = fn(arg, name, err, err_len);
  }
  closedir(d);
  return ok;
}

/* discard removes an issuer directory we made (ca.key, ca.pem, itself),
 * keeping errno. */
static void discard(const char *dir) {
  char path[PATH_MAX];
  int saved = errno;
  if (sgn_path(path, sizeof(path), dir, "ca.key")) {
    unlink(path);
  }
  if (sgn_path(path, sizeof(path), dir, "ca.pem")) {
    unlink(path);
  }
  rmdir(dir);
  errno = saved;
}

enum sgn_keydir_result sgn_keydir_create_issuer(const struct sgn_keydir *kd,
                                                const char *id,
                                                const struct vigil_key *key,
                                                const uint8_t *cert_der,
                                                size_t cert_len) {
  char tmp[PATH_MAX];
  char final[PATH_MAX];
  char path[PATH_MAX];
  int n =
      snprintf(tmp, sizeof(tmp), "%s/" TMP_PREFIX "%s-XXXXXX", kd->issuers, id);
  if (n < 0 || (size_t)n >= sizeof(tmp) ||
      !sgn_path(final, sizeof(final), kd->issuers, id)) {
    errno = ENAMETOOLONG;
    return SGN_KEYDIR_IO;
  }
  if (access(final, F_OK) == 0) {
    return SGN_KEYDIR_EXISTS;
  }
  if (mkdtemp(tmp) == NULL) {
    return SGN_KEYDIR_IO;
  }
  if (!sgn_path(path, sizeof(path), tmp, "ca.key") ||
      !sgn_write_key(path, key) ||
      !sgn_path(path, sizeof(path), tmp, "ca.pem") ||
      !sgn_write_cert(path, cert_der, cert_len)) {
    discard(tmp);
    return SGN_KEYDIR_IO;
  }
  /* RENAME_NOREPLACE: a concurrent or earlier creation of the same id
   * wins and ours is discarded, so an issuer is never overwritten. */
  if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) != 0) {
    int exists = errno == EEXIST || errno == ENOTEMPTY;
    discard(tmp);
    return exists ? SGN_KEYDIR_EXISTS : SGN_KEYDIR_IO;
  }
  /* Only a durable rename may be acknowledged; if it cannot be made
   * durable, take the issuer back out rather than leave it half-known. */
  if (!sgn_fsync_dir(kd->issuers)) {
    discard(final);
    return SGN_KEYDIR_IO;
  }
  return SGN_KEYDIR_OK;
}
