/* sgn_files.c: durable file writes for vigil-signer (see sgn_files.h). */
#include "sgn_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bytestring.h>
#include <openssl/evp.h>
#include <openssl/mem.h>

#include "vigil/file.h"
#include "vigil/alloc.h"
#include "vigil/cert.h"

int sgn_path(char *out, size_t len, const char *dir, const char *name) {
  int n = snprintf(out, len, "%s/%s", dir, name);
  return n > 0 && (size_t)n < len;
}

int sgn_fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return 0;
  }
  int ok = fsync(fd) == 0;
  int saved = errno;
  close(fd);
  errno = saved;
  return ok;
}

int sgn_write_atomic(const char *path, const uint8_t *data, size_t len,
                     mode_t mode) {
  char tmp[PATH_MAX];
  char dir[PATH_MAX];
  int fd = -1;
  int ok = 0;
  int saved = 0;
  int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  if (n < 0 || (size_t)n >= sizeof(tmp) || strlen(path) >= sizeof(dir)) {
    errno = ENAMETOOLONG;
    return 0;
  }
  memcpy(dir, path, strlen(path) + 1);
  char *slash = strrchr(dir, '/');
  if (slash == NULL) {
    dir[0] = '.';
    dir[1] = '\0';
  } else if (slash == dir) {
    dir[1] = '\0';
  } else {
    *slash = '\0';
  }
  /* A leftover temp file from a crash is ours to replace. */
  unlink(tmp);
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    goto err;
  }
  /* open's mode is filtered by the umask: make it exact. */
  if (fchmod(fd, mode) != 0 || !vigil_file_write_all(fd, data, len) ||
      fsync(fd) != 0) {
    goto err;
  }
  if (close(fd) != 0) {
    fd = -1;
    goto err;
  }
  fd = -1;
  if (rename(tmp, path) != 0 || !sgn_fsync_dir(dir)) {
    goto err;
  }
  ok = 1;

err:
  saved = errno;
  if (fd >= 0) {
    close(fd);
  }
  if (!ok) {
    unlink(tmp);
  }
  errno = saved;
  return ok;
}

void sgn_free_secret(uint8_t *p, size_t len) {
  if (p != NULL) {
    OPENSSL_cleanse(p, len);
    vigil_free(p);
  }
}

int sgn_key_pem(uint8_t **out, size_t *out_len, const struct vigil_key *key) {
  CBB der, pem;
  uint8_t *d = NULL;
  size_t d_len = 0;
  uint8_t *p = NULL;
  size_t p_len = 0;
  int ok = 0;
  *out = NULL;
  *out_len = 0;
  CBB_zero(&der);
  CBB_zero(&pem);
  if (!CBB_init(&der, 256) ||
      !EVP_marshal_private_key(&der, vigil_key_get0_evp(key)) ||
      !CBB_finish(&der, &d, &d_len) || !CBB_init(&pem, 2 * d_len + 128) ||
      !vigil_pem_encode(&pem, "PRIVATE KEY", d, d_len) ||
      !CBB_finish(&pem, &p, &p_len)) {
    goto err;
  }
  /* Hand out vigil_malloc memory so one free path (sgn_free_secret)
   * serves every caller. */
  *out = vigil_malloc(p_len);
  if (*out == NULL) {
    goto err;
  }
  memcpy(*out, p, p_len);
  *out_len = p_len;
  ok = 1;

err:
  CBB_cleanup(&der);
  CBB_cleanup(&pem);
  if (d != NULL) {
    OPENSSL_cleanse(d, d_len);
    OPENSSL_free(d);
  }
  if (p != NULL) {
    OPENSSL_cleanse(p, p_len);
    OPENSSL_free(p);
  }
  return ok;
}

int sgn_write_key(const char *path, const struct vigil_key *key) {
  uint8_t *pem = NULL;
  size_t len = 0;
  if (!sgn_key_pem(&pem, &len, key)) {
    errno = ENOMEM;
    return 0;
  }
  int ok = sgn_write_atomic(path, pem, len, 0600);
  int saved = errno;
  sgn_free_secret(pem, len);
  errno = saved;
  return ok;
}

int sgn_write_cert(const char *path, const uint8_t *der, size_t der_len) {
  CBB cbb;
  uint8_t *pem = NULL;
  size_t len = 0;
  CBB_zero(&cbb);
  if (!CBB_init(&cbb, 2 * der_len + 128) ||
      !vigil_pem_encode(&cbb, "CERTIFICATE", der, der_len) ||
      !CBB_finish(&cbb, &pem, &len)) {
    CBB_cleanup(&cbb);
    errno = ENOMEM;
    return 0;
  }
  int ok = sgn_write_atomic(path, pem, len, 0644);
  int saved = errno;
  OPENSSL_free(pem);
  errno = saved;
  return ok;
}
