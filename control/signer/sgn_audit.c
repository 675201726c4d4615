/* sgn_audit.c: the audit (SEAL) key (see sgn_audit.h). */
#include "sgn_audit.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bytestring.h>
#include <openssl/mem.h>

#include "sgn_files.h"
#include "vigil/alloc.h"
#include "vigil/cert.h"
#include "vigil/seal.h"

struct sgn_audit {
  struct vigil_key *key; /* the audit key (owned) */
};

static void set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
}

static const char *type_name(enum vigil_key_type t) {
  switch (t) {
    case VIGIL_KEY_EC_P256:
      return "p256";
    case VIGIL_KEY_EC_P384:
      return "p384";
    case VIGIL_KEY_RSA:
      return "rsa";
    case VIGIL_KEY_ED25519:
      return "ed25519";
  }
  return "?";
}

/* write_pub writes the SPKI of |key| as a PUBLIC KEY PEM to |path|. */
static int write_pub(const char *path, const struct vigil_key *key) {
  CBB cbb;
  uint8_t *pem = NULL;
  size_t len = 0;
  size_t spki_len = 0;
  const uint8_t *spki = vigil_key_get0_spki(key, &spki_len);
  CBB_zero(&cbb);
  if (!CBB_init(&cbb, 2 * spki_len + 64) ||
      !vigil_pem_encode(&cbb, "PUBLIC KEY", spki, spki_len) ||
      !CBB_finish(&cbb, &pem, &len)) {
    CBB_cleanup(&cbb);
    return 0;
  }
  int ok = sgn_write_atomic(path, pem, len, 0644);
  OPENSSL_free(pem);
  return ok;
}

struct sgn_audit *sgn_audit_open(char *err, size_t err_len, const char *key_dir,
                                 enum vigil_key_type type,
                                 const struct vigil_log *log) {
  char kp[PATH_MAX];
  char pp[PATH_MAX];
  char eb[128];
  enum vigil_key_err kerr;
  struct sgn_audit *a = vigil_calloc(1, sizeof(*a));
  if (a == NULL) {
    set_err(err, err_len, "out of memory");
    return NULL;
  }
  if (!sgn_path(kp, sizeof(kp), key_dir, "audit.key") ||
      !sgn_path(pp, sizeof(pp), key_dir, "audit.pub")) {
    set_err(err, err_len, "key-dir path too long");
    goto err;
  }
  if (access(kp, F_OK) == 0) {
    a->key = vigil_key_load_file(&kerr, kp, 1);
    if (a->key == NULL) {
      set_err(err, err_len, "%s: %s", kp, vigil_key_err_string(kerr));
      goto err;
    }
    if (vigil_key_get_type(a->key) != type) {
      VLOG_WARN(log,
                "audit key %s is %s, not the configured %s; keeping it "
                "(seals stay verifiable with the published key)",
                kp, type_name(vigil_key_get_type(a->key)), type_name(type));
    }
  } else {
    a->key = vigil_key_generate(type, 0);
    if (a->key == NULL) {
      set_err(err, err_len, "cannot generate the audit key");
      goto err;
    }
    if (!sgn_write_key(kp, a->key) || !write_pub(pp, a->key)) {
      set_err(err, err_len, "cannot write %s: %s", kp,
              vigil_strerror(errno, eb, sizeof(eb)));
      goto err;
    }
    VLOG_INFO(log, "made a new %s audit key %s", type_name(type), kp);
  }
  return a;

err:
  sgn_audit_free(a);
  return NULL;
}

void sgn_audit_free(struct sgn_audit *a) {
  if (a != NULL) {
    vigil_key_free(a->key);
    vigil_free(a);
  }
}

int sgn_audit_seal(const struct sgn_audit *a, uint8_t *out_sig,
                   size_t *out_sig_len, size_t max_sig,
                   const uint8_t digest[32], const char *context,
                   size_t context_len, int64_t sealed_at) {
  uint8_t msg[VIGIL_SEAL_MAX_MESSAGE];
  size_t n = vigil_seal_message(msg, digest, context, context_len, sealed_at);
  if (n == 0) {
    return 0;
  }
  return vigil_key_sign(a->key, out_sig, out_sig_len, max_sig, msg, n);
}

const struct vigil_key *sgn_audit_key(const struct sgn_audit *a) {
  return a->key;
}
