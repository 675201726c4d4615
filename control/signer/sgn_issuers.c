/* sgn_issuers.c: issuers and delegated responders (see sgn_issuers.h). */
#include "sgn_issuers.h"

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

struct sgn_registry {
  const struct sgn_keydir *kd;     /* the key directory (borrowed) */
  const struct vigil_log *log;     /* borrowed */
  struct sgn_responder_policy pol; /* how responders are made */
  size_t max;                      /* max-issuers */
  pthread_rwlock_t lock;           /* guards items / num / cap */
  pthread_mutex_t add_lock;        /* serialises sgn_registry_add */
  struct sgn_issuer **items;       /* issuers, in load/creation order */
  size_t num;                      /* entries at |items| */
  size_t cap;                      /* room at |items| */
};

static void set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
}

/* ======================================================================
 * Responders
 * ====================================================================== */

static void responder_free(struct sgn_responder *r) {
  if (r != NULL) {
    vigil_key_free(r->key);
    vigil_cert_free(r->cert);
    vigil_free(r);
  }
}

void sgn_responder_release(struct sgn_responder *r) {
  if (r != NULL && __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0) {
    responder_free(r);
  }
}

/* load_responder loads responder.key/.pem of |iss| if both exist and
 * belong to it; anything else is logged and left for a lazy mint. */
static void load_responder(struct sgn_registry *reg, struct sgn_issuer *iss) {
  char kp[PATH_MAX];
  char cp[PATH_MAX];
  enum vigil_key_err kerr;
  enum vigil_cert_err cerr;
  if (!sgn_keydir_path(reg->kd, kp, sizeof(kp), iss->id, "responder.key") ||
      !sgn_keydir_path(reg->kd, cp, sizeof(cp), iss->id, "responder.pem")) {
    return;
  }
  if (access(kp, F_OK) != 0 && access(cp, F_OK) != 0) {
    VLOG_DEBUG(reg->log, "issuer %s: no responder yet (minted on demand)",
               iss->id);
    return;
  }
  struct vigil_key *key = vigil_key_load_file(&kerr, kp, 1);
  struct vigil_cert *cert =
      key != NULL ? vigil_cert_load_file(&cerr, cp) : NULL;
  struct sgn_responder *r = NULL;
  if (key == NULL) {
    VLOG_WARN(reg->log,
              "issuer %s: responder key %s unusable (%s); a new "
              "responder will be minted",
              iss->id, kp, vigil_key_err_string(kerr));
    goto err;
  }
  if (cert == NULL) {
    VLOG_WARN(reg->log,
              "issuer %s: responder certificate %s unusable (%s); a "
              "new responder will be minted",
              iss->id, cp, vigil_cert_err_string(cerr));
    goto err;
  }
  if (!vigil_cert_matches_key(cert, key) ||
      !vigil_cert_verify_signed_by(cert, iss->cert)) {
    /* E.g. a crash between writing the new key and its certificate. */
    VLOG_WARN(reg->log,
              "issuer %s: responder key and certificate do not "
              "belong together or to this CA; a new responder will be minted",
              iss->id);
    goto err;
  }
  r = vigil_calloc(1, sizeof(*r));
  if (r == NULL) {
    goto err;
  }
  r->refs = 1;
  r->key = key;
  r->cert = cert;
  iss->responder = r;
  return;

err:
  vigil_key_free(key);
  vigil_cert_free(cert);
}

/* mint makes, persists and returns a new responder for |iss| (refs 1). */
static struct sgn_responder *mint(struct sgn_registry *reg,
                                  struct sgn_issuer *iss,
                                  enum sgn_mint_result *out_result,
                                  enum vigil_x509_err *out_xerr, int64_t now) {
  struct vigil_x509_template t;
  struct vigil_x509_name n;
  struct sgn_responder *r = NULL;
  struct vigil_key *key = NULL;
  uint8_t *name = NULL;
  size_t name_len = 0;
  uint8_t *der = NULL;
  size_t der_len = 0;
  char kp[PATH_MAX];
  char cp[PATH_MAX];
  char eb[128];
  CBB cbb;
  CBB_zero(&cbb);
  *out_result = SGN_MINT_KEYGEN;
  key = vigil_key_generate(reg->pol.key_type, reg->pol.rsa_bits);
  if (key == NULL) {
    goto err;
  }
  /* CN is fixed and the issuer id goes into OU: an id may be 63
   * characters and CN allows 64. */
  memset(&n, 0, sizeof(n));
  n.organization = "Vigil";
  n.organizational_unit = iss->id;
  n.common_name = "OCSP Responder";
  *out_result = SGN_MINT_ISSUE;
  *out_xerr = VIGIL_X509_ERR_NOMEM;
  if (!CBB_init(&cbb, 128)) {
    goto err;
  }
  *out_xerr = vigil_x509_name_build(&cbb, &n);
  if (*out_xerr != VIGIL_X509_OK || !CBB_finish(&cbb, &name, &name_len)) {
    goto err;
  }
  vigil_x509_profile_ocsp_responder(&t, now, reg->pol.validity);
  /* Never past the CA: its certificate bounds everything it vouches for. */
  if (t.not_after > iss->cert->not_after) {
    t.not_after = iss->cert->not_after;
  }
  t.subject = name;
  t.subject_len = name_len;
  t.spki = vigil_key_get0_spki(key, &t.spki_len);
  *out_xerr =
      vigil_x509_issue_der(&der, &der_len, &t, iss->cert, iss->key, now);
  if (*out_xerr != VIGIL_X509_OK) {
    goto err;
  }
  *out_result = SGN_MINT_IO;
  r = vigil_calloc(1, sizeof(*r));
  if (r == NULL) {
    goto err;
  }
  enum vigil_cert_err cerr;
  r->cert = vigil_cert_parse(&cerr, der, der_len);
  if (r->cert == NULL) {
    goto err;
  }
  /* Key first: a crash before the certificate leaves a mismatched pair,
   * which the next start ignores and re-mints. */
  if (!sgn_keydir_path(reg->kd, kp, sizeof(kp), iss->id, "responder.key") ||
      !sgn_keydir_path(reg->kd, cp, sizeof(cp), iss->id, "responder.pem") ||
      !sgn_write_key(kp, key) || !sgn_write_cert(cp, der, der_len)) {
    VLOG_ERROR(reg->log, "issuer %s: cannot write the responder files: %s",
               iss->id, vigil_strerror(errno, eb, sizeof(eb)));
    goto err;
  }
  r->refs = 1;
  r->key = key;
  key = NULL;
  *out_result = SGN_MINT_OK;
  *out_xerr = VIGIL_X509_OK;
  VLOG_INFO(reg->log, "issuer %s: minted OCSP responder (valid %lld..%lld)",
            iss->id, (long long)r->cert->not_before,
            (long long)r->cert->not_after);
  OPENSSL_free(name);
  vigil_free(der);
  return r;

err:
  CBB_cleanup(&cbb);
  OPENSSL_free(name);
  vigil_free(der);
  vigil_key_free(key);
  responder_free(r);
  return NULL;
}

struct sgn_responder *sgn_issuer_responder(
    struct sgn_registry *reg, struct sgn_issuer *iss, int *out_minted,
    enum sgn_mint_result *out_result, enum vigil_x509_err *out_xerr,
    int64_t now, int64_t need_until, int force) {
  *out_minted = 0;
  *out_result = SGN_MINT_OK;
  *out_xerr = VIGIL_X509_OK;
  if (need_until > iss->cert->not_after) {
    need_until = iss->cert->not_after;
  }
  pthread_mutex_lock(&iss->lock);
  struct sgn_responder *cur = iss->responder;
  int usable = cur != NULL && cur->cert->not_before <= now &&
               cur->cert->not_after >= need_until && cur->cert->not_after > now;
  /* A responder clamped to the CA's notAfter cannot be renewed into a
   * longer one: do not re-mint it on every call near the CA's end. */
  int fresh = usable && (cur->cert->not_after - now >= reg->pol.validity / 3 ||
                         cur->cert->not_after >= iss->cert->not_after);
  struct sgn_responder *out = NULL;
  if (!force && fresh) {
    out = cur;
  } else {
    struct sgn_responder *r = mint(reg, iss, out_result, out_xerr, now);
    if (r != NULL) {
      iss->responder = r;
      sgn_responder_release(cur); /* the issuer's reference */
      out = r;
      *out_minted = 1;
    } else if (!force && usable) {
      VLOG_WARN(reg->log,
                "issuer %s: responder rotation failed; the current "
                "one (notAfter %lld) stays in use",
                iss->id, (long long)cur->cert->not_after);
      out = cur;
    }
  }
  if (out != NULL) {
    __atomic_add_fetch(&out->refs, 1, __ATOMIC_ACQ_REL);
  }
  pthread_mutex_unlock(&iss->lock);
  return out;
}

/* ======================================================================
 * Registry
 * ====================================================================== */

static void issuer_free(struct sgn_issuer *iss) {
  if (iss != NULL) {
    vigil_key_free(iss->key);
    vigil_cert_free(iss->cert);
    sgn_responder_release(iss->responder);
    pthread_mutex_destroy(&iss->lock);
    vigil_free(iss);
  }
}

static struct sgn_issuer *issuer_new(const char *id) {
  struct sgn_issuer *iss = vigil_calloc(1, sizeof(*iss));
  if (iss == NULL) {
    return NULL;
  }
  if (pthread_mutex_init(&iss->lock, NULL) != 0) {
    vigil_free(iss);
    return NULL;
  }
  memcpy(iss->id, id, strlen(id) + 1);
  return iss;
}

/* append adds |iss| (caller holds the write lock or is single-threaded). */
static int append(struct sgn_registry *reg, struct sgn_issuer *iss) {
  if (reg->num == reg->cap) {
    size_t ncap = reg->cap == 0 ? 16 : reg->cap * 2;
    struct sgn_issuer **n = vigil_realloc(reg->items, ncap * sizeof(*n));
    if (n == NULL) {
      return 0;
    }
    reg->items = n;
    reg->cap = ncap;
  }
  reg->items[reg->num++] = iss;
  return 1;
}

static int load_one(void *arg, const char *id, char *err, size_t err_len) {
  struct sgn_registry *reg = arg;
  char kp[PATH_MAX];
  char cp[PATH_MAX];
  enum vigil_key_err kerr;
  enum vigil_cert_err cerr;
  if (reg->num >= reg->max) {
    set_err(err, err_len, "more than max-issuers (%zu) issuers in %s", reg->max,
            reg->kd->issuers);
    return 0;
  }
  struct sgn_issuer *iss = issuer_new(id);
  if (iss == NULL) {
    set_err(err, err_len, "out of memory");
    return 0;
  }
  if (!sgn_keydir_path(reg->kd, kp, sizeof(kp), id, "ca.key") ||
      !sgn_keydir_path(reg->kd, cp, sizeof(cp), id, "ca.pem")) {
    set_err(err, err_len, "issuer %s: path too long", id);
    goto err;
  }
  iss->key = vigil_key_load_file(&kerr, kp, 1);
  if (iss->key == NULL) {
    set_err(err, err_len, "issuer %s: %s: %s", id, kp,
            vigil_key_err_string(kerr));
    goto err;
  }
  iss->cert = vigil_cert_load_file(&cerr, cp);
  if (iss->cert == NULL) {
    set_err(err, err_len, "issuer %s: %s: %s", id, cp,
            vigil_cert_err_string(cerr));
    goto err;
  }
  if (!vigil_cert_matches_key(iss->cert, iss->key) || !iss->cert->is_ca) {
    set_err(err, err_len,
            "issuer %s: %s is not a CA certificate for the key in %s", id, cp,
            kp);
    goto err;
  }
  load_responder(reg, iss);
  if (!append(reg, iss)) {
    set_err(err, err_len, "out of memory");
    goto err;
  }
  VLOG_DEBUG(reg->log, "issuer %s loaded", id);
  return 1;

err:
  issuer_free(iss);
  return 0;
}

struct sgn_registry *sgn_registry_load(char *err, size_t err_len,
                                       const struct sgn_keydir *kd,
                                       size_t max_issuers,
                                       const struct sgn_responder_policy *pol,
                                       const struct vigil_log *log) {
  struct sgn_registry *reg = vigil_calloc(1, sizeof(*reg));
  if (reg == NULL) {
    set_err(err, err_len, "out of memory");
    return NULL;
  }
  reg->kd = kd;
  reg->log = log;
  reg->pol = *pol;
  reg->max = max_issuers;
  if (pthread_rwlock_init(&reg->lock, NULL) != 0) {
    vigil_free(reg);
    set_err(err, err_len, "cannot initialise a lock");
    return NULL;
  }
  if (pthread_mutex_init(&reg->add_lock, NULL) != 0) {
    pthread_rwlock_destroy(&reg->lock);
    vigil_free(reg);
    set_err(err, err_len, "cannot initialise a lock");
    return NULL;
  }
  if (!sgn_keydir_list(kd, err, err_len, load_one, reg, log)) {
    sgn_registry_free(reg);
    return NULL;
  }
  return reg;
}

void sgn_registry_free(struct sgn_registry *reg) {
  if (reg == NULL) {
    return;
  }
  for (size_t i = 0; i < reg->num; i++) {
    issuer_free(reg->items[i]);
  }
  vigil_free(reg->items);
  pthread_rwlock_destroy(&reg->lock);
  pthread_mutex_destroy(&reg->add_lock);
  vigil_free(reg);
}

/* find_locked: caller holds |reg->lock|. */
static struct sgn_issuer *find_locked(struct sgn_registry *reg,
                                      const char *id) {
  /* Linear: issuers number in the thousands at most, and every lookup
   * precedes at least one signature, which costs far more. */
  for (size_t i = 0; i < reg->num; i++) {
    if (strcmp(reg->items[i]->id, id) == 0) {
      return reg->items[i];
    }
  }
  return NULL;
}

struct sgn_issuer *sgn_registry_find(struct sgn_registry *reg, const char *id) {
  pthread_rwlock_rdlock(&reg->lock);
  struct sgn_issuer *iss = find_locked(reg, id);
  pthread_rwlock_unlock(&reg->lock);
  return iss;
}

size_t sgn_registry_count(struct sgn_registry *reg) {
  pthread_rwlock_rdlock(&reg->lock);
  size_t n = reg->num;
  pthread_rwlock_unlock(&reg->lock);
  return n;
}

const struct sgn_responder_policy *sgn_registry_policy(
    const struct sgn_registry *reg) {
  return &reg->pol;
}

enum sgn_add_result sgn_registry_add(struct sgn_registry *reg,
                                     struct sgn_issuer **out, const char *id,
                                     struct vigil_key *key,
                                     const uint8_t *cert_der, size_t cert_len) {
  enum sgn_add_result res = SGN_ADD_NOMEM;
  enum vigil_cert_err cerr;
  *out = NULL;
  pthread_mutex_lock(&reg->add_lock);
  struct sgn_issuer *iss = NULL;
  if (sgn_registry_find(reg, id) != NULL) {
    res = SGN_ADD_EXISTS;
    goto err;
  }
  if (sgn_registry_count(reg) >= reg->max) {
    res = SGN_ADD_FULL;
    goto err;
  }
  iss = issuer_new(id);
  if (iss == NULL) {
    goto err;
  }
  iss->cert = vigil_cert_parse(&cerr, cert_der, cert_len);
  if (iss->cert == NULL) {
    goto err;
  }
  /* Make room first so that nothing can fail after the issuer is on
   * disk. */
  pthread_rwlock_wrlock(&reg->lock);
  int room = 1;
  if (reg->num == reg->cap) {
    size_t ncap = reg->cap == 0 ? 16 : reg->cap * 2;
    struct sgn_issuer **n = vigil_realloc(reg->items, ncap * sizeof(*n));
    if (n != NULL) {
      reg->items = n;
      reg->cap = ncap;
    } else {
      room = 0;
    }
  }
  pthread_rwlock_unlock(&reg->lock);
  if (!room) {
    goto err;
  }
  switch (sgn_keydir_create_issuer(reg->kd, id, key, cert_der, cert_len)) {
    case SGN_KEYDIR_OK:
      break;
    case SGN_KEYDIR_EXISTS:
      res = SGN_ADD_EXISTS;
      goto err;
    case SGN_KEYDIR_IO:
    default:
      res = SGN_ADD_IO;
      goto err;
  }
  iss->key = key;
  pthread_rwlock_wrlock(&reg->lock);
  reg->items[reg->num++] = iss;
  pthread_rwlock_unlock(&reg->lock);
  pthread_mutex_unlock(&reg->add_lock);
  *out = iss;
  return SGN_ADD_OK;

err:
  pthread_mutex_unlock(&reg->add_lock);
  issuer_free(iss);
  return res;
}
