/* ctl_tls.c: the API server's certificate (see ctl_tls.h). */
#include "ctl_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "vigil/alloc.h"
#include "vigil/log.h"

#define MAX_PEM (1024 * 1024)

static void seterr(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t err_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
}

/* read_file reads a whole (small) file into a NUL-terminated heap string.
 * |private_key|: refuse a file accessible to group or others. */
static char *read_file(char *err, size_t err_len, const char *path,
                       int private_key) {
  char eb[128];
  char *buf = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    seterr(err, err_len, "%s: %s", path, vigil_strerror(errno, eb, sizeof(eb)));
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
      st.st_size > MAX_PEM) {
    seterr(err, err_len, "%s: not a regular file of 1..%d bytes", path,
           MAX_PEM);
    goto err;
  }
  if (private_key && (st.st_mode & 077) != 0) {
    seterr(err, err_len, "%s: key file has mode %03o; must be 0600 or stricter",
           path, (unsigned)(st.st_mode & 0777));
    goto err;
  }
  buf = vigil_malloc((size_t)st.st_size + 1);
  if (buf == NULL) {
    seterr(err, err_len, "out of memory");
    goto err;
  }
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      seterr(err, err_len, "%s: short read", path);
      goto err;
    }
    got += (size_t)n;
  }
  buf[got] = '\0';
  close(fd);
  return buf;

err:
  if (buf != NULL) {
    memset(buf, 0, (size_t)st.st_size);
  }
  vigil_free(buf);
  close(fd);
  return NULL;
}

/* write_file writes |data| to |path| (mode |mode|) through a temporary
 * file, fsync and rename, so a crash leaves the old state or the new. */
static int write_file(char *err, size_t err_len, const char *path,
                      const void *data, size_t len, mode_t mode) {
  char eb[128];
  char tmp[1100];
  if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
    seterr(err, err_len, "%s: path too long", path);
    return 0;
  }
  (void)unlink(tmp);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    seterr(err, err_len, "%s: %s", tmp, vigil_strerror(errno, eb, sizeof(eb)));
    return 0;
  }
  const uint8_t *p = data;
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(fd, p + off, len - off);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      seterr(err, err_len, "%s: write: %s", tmp,
             vigil_strerror(errno, eb, sizeof(eb)));
      close(fd);
      (void)unlink(tmp);
      return 0;
    }
    off += (size_t)n;
  }
  if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
    seterr(err, err_len, "%s: %s", tmp, vigil_strerror(errno, eb, sizeof(eb)));
    close(fd);
    (void)unlink(tmp);
    return 0;
  }
  close(fd);
  if (rename(tmp, path) != 0) {
    seterr(err, err_len, "%s: rename: %s", path,
           vigil_strerror(errno, eb, sizeof(eb)));
    (void)unlink(tmp);
    return 0;
  }
  return 1;
}

/* make_self_signed writes a new P-256 key and a self-signed certificate
 * for localhost, 127.0.0.1 and ::1 (valid 1 year) to |key_path| and
 * |cert_path|. */
static int make_self_signed(char *err, size_t err_len, const char *key_path,
                            const char *cert_path) {
  gnutls_x509_privkey_t key = NULL;
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t key_pem = { NULL, 0 };
  gnutls_datum_t crt_pem = { NULL, 0 };
  int ok = 0;
  int rc;
  uint8_t serial[16];
  static const uint8_t ip4[4] = { 127, 0, 0, 1 };
  static const uint8_t ip6[16] = { 0, 0, 0, 0, 0, 0, 0, 0,
                                   0, 0, 0, 0, 0, 0, 0, 1 };

  if (getrandom(serial, sizeof(serial), 0) != (ssize_t)sizeof(serial)) {
    seterr(err, err_len, "getrandom failed");
    goto err;
  }
  serial[0] &= 0x7f; /* positive */
  serial[0] |= 0x01; /* and minimal */
  time_t now = time(NULL);
  if ((rc = gnutls_x509_privkey_init(&key)) < 0 ||
      (rc = gnutls_x509_privkey_generate(
           key, GNUTLS_PK_ECDSA,
           GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0 ||
      (rc = gnutls_x509_crt_init(&crt)) < 0 ||
      (rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
      (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
      (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                          "localhost", 9)) < 0 ||
      (rc =
           gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME,
                                         0, "Vigil control API", 17)) < 0 ||
      (rc = gnutls_x509_crt_set_activation_time(crt, now - 300)) < 0 ||
      (rc = gnutls_x509_crt_set_expiration_time(crt, now + 365 * 86400)) < 0 ||
      (rc = gnutls_x509_crt_set_key(crt, key)) < 0 ||
      (rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
      (rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) <
          0 ||
      (rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER,
                                                0)) < 0 ||
      (rc = gnutls_x509_crt_set_subject_alt_name(
           crt, GNUTLS_SAN_DNSNAME, "localhost", 9, GNUTLS_FSAN_APPEND)) < 0 ||
      (rc = gnutls_x509_crt_set_subject_alt_name(
           crt, GNUTLS_SAN_IPADDRESS, ip4, sizeof(ip4), GNUTLS_FSAN_APPEND)) <
          0 ||
      (rc = gnutls_x509_crt_set_subject_alt_name(
           crt, GNUTLS_SAN_IPADDRESS, ip6, sizeof(ip6), GNUTLS_FSAN_APPEND)) <
          0 ||
      (rc = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0 ||
      (rc = gnutls_x509_privkey_export2_pkcs8(
           key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &key_pem)) < 0 ||
      (rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &crt_pem)) < 0) {
    seterr(err, err_len, "making the self-signed API certificate: %s",
           gnutls_strerror(rc));
    goto err;
  }
  /* Key first: a crash in between leaves a key without a certificate,
   * which the next start replaces (both are made again). */
  if (!write_file(err, err_len, key_path, key_pem.data, key_pem.size, 0600) ||
      !write_file(err, err_len, cert_path, crt_pem.data, crt_pem.size, 0644)) {
    goto err;
  }
  ok = 1;

err:
  if (key_pem.data != NULL) {
    memset(key_pem.data, 0, key_pem.size);
    gnutls_free(key_pem.data);
  }
  gnutls_free(crt_pem.data);
  if (crt != NULL) {
    gnutls_x509_crt_deinit(crt);
  }
  if (key != NULL) {
    gnutls_x509_privkey_deinit(key);
  }
  return ok;
}

int ctl_tls_load(struct ctl_tls_pem *out, char *err, size_t err_len,
                 const char *state_dir, const char *cert_path,
                 const char *key_path) {
  char eb[128];
  char dir[1100];
  char cpath[1200];
  char kpath[1200];
  memset(out, 0, sizeof(*out));
  if (cert_path[0] != '\0' || key_path[0] != '\0') {
    if (cert_path[0] == '\0' || key_path[0] == '\0') {
      seterr(err, err_len, "tls-cert and tls-key must be set together");
      return 0;
    }
    snprintf(cpath, sizeof(cpath), "%s", cert_path);
    snprintf(kpath, sizeof(kpath), "%s", key_path);
  } else {
    if ((size_t)snprintf(dir, sizeof(dir), "%s/api-tls", state_dir) >=
        sizeof(dir)) {
      seterr(err, err_len, "state-dir too long");
      return 0;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
      seterr(err, err_len, "%s: %s", dir,
             vigil_strerror(errno, eb, sizeof(eb)));
      return 0;
    }
    snprintf(cpath, sizeof(cpath), "%s/cert.pem", dir);
    snprintf(kpath, sizeof(kpath), "%s/key.pem", dir);
    if (access(cpath, F_OK) != 0 || access(kpath, F_OK) != 0) {
      if (!make_self_signed(err, err_len, kpath, cpath)) {
        return 0;
      }
    }
  }
  out->cert_pem = read_file(err, err_len, cpath, 0);
  if (out->cert_pem == NULL) {
    return 0;
  }
  out->key_pem = read_file(err, err_len, kpath, 1);
  if (out->key_pem == NULL) {
    ctl_tls_pem_cleanup(out);
    return 0;
  }
  return 1;
}

void ctl_tls_pem_cleanup(struct ctl_tls_pem *p) {
  if (p->key_pem != NULL) {
    memset(p->key_pem, 0, strlen(p->key_pem));
  }
  vigil_free(p->key_pem);
  vigil_free(p->cert_pem);
  p->key_pem = NULL;
  p->cert_pem = NULL;
}
