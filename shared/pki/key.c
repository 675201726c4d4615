/* key.c: private keys and signatures (see vigil/key.h).
 *
 * Signing avoids BoringSSL's EVP_DigestSign machinery on purpose: the edge
 * live-signs on its hot path, and EVP_DigestSignInit allocates an
 * EVP_PKEY_CTX per call. EC keys hash on the stack and call ECDSA_sign;
 * Ed25519 keys keep the expanded 64-byte private key and call
 * ED25519_sign, which allocates nothing. */
#include "vigil/key.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/bytestring.h>
#include <openssl/curve25519.h>
#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "vigil/alloc.h"
#include "vigil/cert.h"
#include "vigil/file.h"

/* Largest key file or buffer accepted. */
#define KEY_MAX_INPUT 65536

/* Largest DER SubjectPublicKeyInfo (RSA-8192 is about 1.05 KiB). */
#define KEY_MAX_SPKI 1200

struct vigil_key {
  enum vigil_key_type type;             /* which of the supported kinds */
  EVP_PKEY *pkey;                       /* the key (owned) */
  const EC_KEY *ec;                     /* borrowed from pkey for EC keys */
  const RSA *rsa;                       /* borrowed from pkey for RSA keys */
  uint8_t ed25519[64];                  /* expanded Ed25519 private key */
  uint8_t sha1[SHA_DIGEST_LENGTH];      /* SHA-1 of public key bits */
  uint8_t sha256[SHA256_DIGEST_LENGTH]; /* SHA-256 of public key bits */
  size_t max_sig_len;                   /* signature length bound */
  size_t sig_alg_len;                   /* bytes used in sig_alg */
  uint8_t sig_alg[16];                  /* DER AlgorithmIdentifier */
  size_t spki_len;                      /* bytes used in spki */
  uint8_t spki[KEY_MAX_SPKI];           /* DER SubjectPublicKeyInfo */
};

/* DER AlgorithmIdentifiers of the signatures we make. */
static const uint8_t kEcdsaSha256[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                        0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
static const uint8_t kEcdsaSha384[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                        0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 };
static const uint8_t kRsaSha256[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a,
                                      0x86, 0x48, 0x86, 0xf7, 0x0d,
                                      0x01, 0x01, 0x0b, 0x05, 0x00 };
static const uint8_t kEd25519Alg[] = {
  0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70
};

/* ======================================================================
 * Construction
 * ====================================================================== */

/* classify sets |key->type| and the borrowed pointers from |key->pkey|, or
 * returns 0 if the key is not one we support. */
static int classify(struct vigil_key *key) {
  switch (EVP_PKEY_id(key->pkey)) {
    case EVP_PKEY_EC: {
      const EC_KEY *ec = EVP_PKEY_get0_EC_KEY(key->pkey);
      if (ec == NULL || EC_KEY_get0_private_key(ec) == NULL) {
        return 0;
      }
      int nid = EC_GROUP_get_curve_name(EC_KEY_get0_group(ec));
      if (nid == NID_X9_62_prime256v1) {
        key->type = VIGIL_KEY_EC_P256;
      } else if (nid == NID_secp384r1) {
        key->type = VIGIL_KEY_EC_P384;
      } else {
        return 0;
      }
      key->ec = ec;
      key->max_sig_len = ECDSA_size(ec);
      return 1;
    }
    case EVP_PKEY_RSA: {
      const RSA *rsa = EVP_PKEY_get0_RSA(key->pkey);
      if (rsa == NULL) {
        return 0;
      }
      unsigned bits = RSA_bits(rsa);
      if (bits < 2048 || bits > 8192) {
        return 0;
      }
      key->type = VIGIL_KEY_RSA;
      key->rsa = rsa;
      key->max_sig_len = RSA_size(rsa);
      return 1;
    }
    case EVP_PKEY_ED25519: {
      uint8_t seed[32];
      size_t seed_len = sizeof(seed);
      uint8_t pub[32];
      if (!EVP_PKEY_get_raw_private_key(key->pkey, seed, &seed_len) ||
          seed_len != sizeof(seed)) {
        return 0;
      }
      ED25519_keypair_from_seed(pub, key->ed25519, seed);
      OPENSSL_cleanse(seed, sizeof(seed));
      key->type = VIGIL_KEY_ED25519;
      key->max_sig_len = 64;
      return 1;
    }
    default:
      return 0;
  }
}

/* finish_key computes the cached public parts of |key|. Returns 1 on
 * success, 0 on failure. */
static int finish_key(struct vigil_key *key) {
  CBB cbb;
  if (!CBB_init_fixed(&cbb, key->spki, sizeof(key->spki)) ||
      !EVP_marshal_public_key(&cbb, key->pkey) ||
      !CBB_finish(&cbb, NULL, &key->spki_len)) {
    CBB_cleanup(&cbb);
    return 0;
  }
  /* SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey } */
  CBS spki, seq, alg, bits;
  uint8_t unused_bits;
  CBS_init(&spki, key->spki, key->spki_len);
  if (!CBS_get_asn1(&spki, &seq, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&seq, &alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&seq, &bits, CBS_ASN1_BITSTRING) ||
      !CBS_get_u8(&bits, &unused_bits) || unused_bits != 0) {
    return 0;
  }
  SHA1(CBS_data(&bits), CBS_len(&bits), key->sha1);
  SHA256(CBS_data(&bits), CBS_len(&bits), key->sha256);

  const uint8_t *alg_der = NULL;
  size_t alg_len = 0;
  switch (key->type) {
    case VIGIL_KEY_EC_P256:
      alg_der = kEcdsaSha256;
      alg_len = sizeof(kEcdsaSha256);
      break;
    case VIGIL_KEY_EC_P384:
      alg_der = kEcdsaSha384;
      alg_len = sizeof(kEcdsaSha384);
      break;
    case VIGIL_KEY_RSA:
      alg_der = kRsaSha256;
      alg_len = sizeof(kRsaSha256);
      break;
    case VIGIL_KEY_ED25519:
      alg_der = kEd25519Alg;
      alg_len = sizeof(kEd25519Alg);
      break;
  }
  if (alg_der == NULL || alg_len > sizeof(key->sig_alg)) {
    return 0;
  }
  memcpy(key->sig_alg, alg_der, alg_len);
  key->sig_alg_len = alg_len;
  return 1;
}

/* wrap takes ownership of |pkey| (freeing it on failure) and returns a new
 * vigil_key, or NULL with |*out_err| set. */
static struct vigil_key *wrap(enum vigil_key_err *out_err, EVP_PKEY *pkey) {
  struct vigil_key *key = vigil_calloc(1, sizeof(*key));
  if (key == NULL) {
    EVP_PKEY_free(pkey);
    *out_err = VIGIL_KEY_ERR_NOMEM;
    return NULL;
  }
  key->pkey = pkey;
  if (!classify(key)) {
    *out_err = VIGIL_KEY_ERR_UNSUPPORTED;
    vigil_key_free(key);
    return NULL;
  }
  if (!finish_key(key)) {
    *out_err = VIGIL_KEY_ERR_PARSE;
    vigil_key_free(key);
    return NULL;
  }
  *out_err = VIGIL_KEY_OK;
  return key;
}

struct vigil_key *vigil_key_generate(enum vigil_key_type type,
                                     unsigned rsa_bits) {
  EVP_PKEY *pkey = EVP_PKEY_new();
  EC_KEY *ec = NULL;
  RSA *rsa = NULL;
  BIGNUM *e = NULL;
  EVP_PKEY_CTX *ctx = NULL;
  enum vigil_key_err err;

  if (pkey == NULL) {
    goto err;
  }
  switch (type) {
    case VIGIL_KEY_EC_P256:
    case VIGIL_KEY_EC_P384:
      ec = EC_KEY_new_by_curve_name(
          type == VIGIL_KEY_EC_P256 ? NID_X9_62_prime256v1 : NID_secp384r1);
      if (ec == NULL || !EC_KEY_generate_key(ec) ||
          !EVP_PKEY_assign_EC_KEY(pkey, ec)) {
        goto err;
      }
      ec = NULL; /* now owned by pkey */
      break;
    case VIGIL_KEY_RSA:
      if (rsa_bits < 2048 || rsa_bits > 8192 || rsa_bits % 8 != 0) {
        goto err;
      }
      rsa = RSA_new();
      e = BN_new();
      if (rsa == NULL || e == NULL || !BN_set_word(e, RSA_F4) ||
          !RSA_generate_key_ex(rsa, (int)rsa_bits, e, NULL) ||
          !EVP_PKEY_assign_RSA(pkey, rsa)) {
        goto err;
      }
      rsa = NULL;
      break;
    case VIGIL_KEY_ED25519:
      EVP_PKEY_free(pkey);
      pkey = NULL;
      ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
      if (ctx == NULL || !EVP_PKEY_keygen_init(ctx) ||
          !EVP_PKEY_keygen(ctx, &pkey)) {
        goto err;
      }
      break;
    default:
      goto err;
  }
  BN_free(e);
  EVP_PKEY_CTX_free(ctx);
  return wrap(&err, pkey);

err:
  EC_KEY_free(ec);
  RSA_free(rsa);
  BN_free(e);
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return NULL;
}

/* parse_der tries PKCS#8, then SEC 1, then PKCS#1; each must consume the
 * whole input. Returns a new EVP_PKEY or NULL. */
static EVP_PKEY *parse_der(const uint8_t *der, size_t der_len) {
  CBS cbs;
  CBS_init(&cbs, der, der_len);
  EVP_PKEY *pkey = EVP_parse_private_key(&cbs);
  if (pkey != NULL) {
    if (CBS_len(&cbs) == 0) {
      return pkey;
    }
    EVP_PKEY_free(pkey);
    return NULL;
  }
  ERR_clear_error();

  CBS_init(&cbs, der, der_len);
  EC_KEY *ec = EC_KEY_parse_private_key(&cbs, NULL);
  if (ec != NULL) {
    pkey = EVP_PKEY_new();
    if (CBS_len(&cbs) != 0 || pkey == NULL ||
        !EVP_PKEY_assign_EC_KEY(pkey, ec)) {
      EC_KEY_free(ec);
      EVP_PKEY_free(pkey);
      return NULL;
    }
    return pkey;
  }
  ERR_clear_error();

  CBS_init(&cbs, der, der_len);
  RSA *rsa = RSA_parse_private_key(&cbs);
  if (rsa != NULL) {
    pkey = EVP_PKEY_new();
    if (CBS_len(&cbs) != 0 || pkey == NULL || !EVP_PKEY_assign_RSA(pkey, rsa)) {
      RSA_free(rsa);
      EVP_PKEY_free(pkey);
      return NULL;
    }
    return pkey;
  }
  ERR_clear_error();
  return NULL;
}

static int starts_with_pem(const uint8_t *in, size_t in_len) {
  static const char kBegin[] = "-----BEGIN ";
  for (size_t i = 0; i + sizeof(kBegin) - 1 <= in_len; i++) {
    if (memcmp(in + i, kBegin, sizeof(kBegin) - 1) == 0) {
      return 1;
    }
    /* Only whitespace may precede the armour. */
    if (in[i] != ' ' && in[i] != '\t' && in[i] != '\r' && in[i] != '\n') {
      return 0;
    }
  }
  return 0;
}

struct vigil_key *vigil_key_parse(enum vigil_key_err *out_err,
                                  const uint8_t *in, size_t in_len) {
  static const char *const kLabels[] = { "PRIVATE KEY", "EC PRIVATE KEY",
                                         "RSA PRIVATE KEY" };
  if (in_len > KEY_MAX_INPUT) {
    *out_err = VIGIL_KEY_ERR_TOO_LARGE;
    return NULL;
  }
  if (!starts_with_pem(in, in_len)) {
    EVP_PKEY *pkey = parse_der(in, in_len);
    if (pkey == NULL) {
      *out_err = VIGIL_KEY_ERR_PARSE;
      return NULL;
    }
    return wrap(out_err, pkey);
  }
  for (size_t i = 0; i < sizeof(kLabels) / sizeof(kLabels[0]); i++) {
    uint8_t *der = NULL;
    size_t der_len = 0;
    int r = vigil_pem_decode(&der, &der_len, kLabels[i], in, in_len);
    if (r < 0) {
      *out_err = VIGIL_KEY_ERR_NOMEM;
      return NULL;
    }
    if (r == 0) {
      continue;
    }
    EVP_PKEY *pkey = parse_der(der, der_len);
    OPENSSL_cleanse(der, der_len);
    vigil_free(der);
    if (pkey == NULL) {
      *out_err = VIGIL_KEY_ERR_PARSE;
      return NULL;
    }
    return wrap(out_err, pkey);
  }
  *out_err = VIGIL_KEY_ERR_PARSE;
  return NULL;
}

struct vigil_key *vigil_key_load_file(enum vigil_key_err *out_err,
                                      const char *path,
                                      int require_private_mode) {
  uint8_t *buf = NULL;
  size_t len = 0;
  /* A key file someone else owns can be swapped or read by them (they can
   * chmod it at will), whatever its mode says now: vigil_file_read checks
   * the owner as well as the mode. */
  switch (
      vigil_file_read(&buf, &len, path, KEY_MAX_INPUT, require_private_mode)) {
    case VIGIL_FILE_OK:
      break;
    case VIGIL_FILE_ERR_MODE:
      *out_err = VIGIL_KEY_ERR_MODE;
      return NULL;
    case VIGIL_FILE_ERR_TOO_LARGE:
      *out_err = VIGIL_KEY_ERR_TOO_LARGE;
      return NULL;
    case VIGIL_FILE_ERR_NOMEM:
      *out_err = VIGIL_KEY_ERR_NOMEM;
      return NULL;
    default:
      *out_err = VIGIL_KEY_ERR_IO;
      return NULL;
  }
  struct vigil_key *key = vigil_key_parse(out_err, buf, len);
  vigil_file_wipe_free(buf, len);
  return key;
}

int vigil_key_save_pem(const struct vigil_key *key, const char *path) {
  CBB der_cbb, pem_cbb;
  uint8_t *der = NULL;
  uint8_t *pem = NULL;
  size_t der_len = 0;
  size_t pem_len = 0;
  char tmp[PATH_MAX];
  int fd = -1;
  int ok = 0;

  CBB_zero(&der_cbb);
  CBB_zero(&pem_cbb);
  int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof(tmp)) {
    goto err;
  }
  if (!CBB_init(&der_cbb, 256) ||
      !EVP_marshal_private_key(&der_cbb, key->pkey) ||
      !CBB_finish(&der_cbb, &der, &der_len) || !CBB_init(&pem_cbb, 512) ||
      !vigil_pem_encode(&pem_cbb, "PRIVATE KEY", der, der_len) ||
      !CBB_finish(&pem_cbb, &pem, &pem_len)) {
    goto err;
  }
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    goto err;
  }
  /* The mode argument is filtered by umask; make 0600 explicit. */
  if (fchmod(fd, 0600) != 0 || !vigil_file_write_all(fd, pem, pem_len) ||
      fsync(fd) != 0) {
    goto err;
  }
  if (close(fd) != 0) {
    fd = -1;
    goto err;
  }
  fd = -1;
  if (rename(tmp, path) != 0) {
    goto err;
  }
  ok = 1;

err:
  if (fd >= 0) {
    close(fd);
  }
  if (!ok) {
    unlink(tmp);
  }
  CBB_cleanup(&der_cbb);
  CBB_cleanup(&pem_cbb);
  if (der != NULL) {
    OPENSSL_cleanse(der, der_len);
    OPENSSL_free(der);
  }
  if (pem != NULL) {
    OPENSSL_cleanse(pem, pem_len);
    OPENSSL_free(pem);
  }
  return ok;
}

void vigil_key_free(struct vigil_key *key) {
  if (key == NULL) {
    return;
  }
  EVP_PKEY_free(key->pkey);
  OPENSSL_cleanse(key, sizeof(*key));
  vigil_free(key);
}

const char *vigil_key_err_string(enum vigil_key_err err) {
  switch (err) {
    case VIGIL_KEY_OK:
      return "ok";
    case VIGIL_KEY_ERR_IO:
      return "key file cannot be read";
    case VIGIL_KEY_ERR_MODE:
      return "key file is accessible by group or others, or not owned by "
             "this user (want mode 0600, owned by the process's uid)";
    case VIGIL_KEY_ERR_TOO_LARGE:
      return "key input larger than 64 KiB";
    case VIGIL_KEY_ERR_PARSE:
      return "not a PEM or DER private key (PKCS#8, SEC 1, PKCS#1)";
    case VIGIL_KEY_ERR_UNSUPPORTED:
      return "unsupported key (want EC P-256/P-384, RSA 2048-8192, Ed25519)";
    case VIGIL_KEY_ERR_NOMEM:
      return "out of memory";
  }
  return "unknown key error";
}

/* ======================================================================
 * Properties
 * ====================================================================== */

enum vigil_key_type vigil_key_get_type(const struct vigil_key *key) {
  return key->type;
}

EVP_PKEY *vigil_key_get0_evp(const struct vigil_key *key) {
  return key->pkey;
}

const uint8_t *vigil_key_get0_spki(const struct vigil_key *key,
                                   size_t *out_len) {
  *out_len = key->spki_len;
  return key->spki;
}

const uint8_t *vigil_key_get0_sha1(const struct vigil_key *key) {
  return key->sha1;
}

const uint8_t *vigil_key_get0_sha256(const struct vigil_key *key) {
  return key->sha256;
}

const uint8_t *vigil_key_get0_sig_alg(const struct vigil_key *key,
                                      size_t *out_len) {
  *out_len = key->sig_alg_len;
  return key->sig_alg;
}

size_t vigil_key_max_sig_len(const struct vigil_key *key) {
  return key->max_sig_len;
}

/* ======================================================================
 * Signing and verification
 * ====================================================================== */

int vigil_key_sign(const struct vigil_key *key, uint8_t *out_sig,
                   size_t *out_sig_len, size_t max_sig_len, const uint8_t *tbs,
                   size_t tbs_len) {
  uint8_t digest[SHA384_DIGEST_LENGTH];
  if (max_sig_len < key->max_sig_len) {
    return 0;
  }
  switch (key->type) {
    case VIGIL_KEY_EC_P256:
    case VIGIL_KEY_EC_P384: {
      size_t digest_len;
      if (key->type == VIGIL_KEY_EC_P256) {
        SHA256(tbs, tbs_len, digest);
        digest_len = SHA256_DIGEST_LENGTH;
      } else {
        SHA384(tbs, tbs_len, digest);
        digest_len = SHA384_DIGEST_LENGTH;
      }
      unsigned sig_len = 0;
      if (!ECDSA_sign(0, digest, digest_len, out_sig, &sig_len,
                      (EC_KEY *)key->ec)) {
        return 0;
      }
      *out_sig_len = sig_len;
      return 1;
    }
    case VIGIL_KEY_RSA: {
      SHA256(tbs, tbs_len, digest);
      unsigned sig_len = 0;
      if (!RSA_sign(NID_sha256, digest, SHA256_DIGEST_LENGTH, out_sig, &sig_len,
                    (RSA *)key->rsa)) {
        return 0;
      }
      *out_sig_len = sig_len;
      return 1;
    }
    case VIGIL_KEY_ED25519:
      if (!ED25519_sign(out_sig, tbs, tbs_len, key->ed25519)) {
        return 0;
      }
      *out_sig_len = 64;
      return 1;
  }
  return 0;
}

int vigil_key_add_signed(const struct vigil_key *key, CBB *cbb,
                         const uint8_t *tbs, size_t tbs_len) {
  uint8_t sig[VIGIL_KEY_MAX_SIG_LEN];
  size_t sig_len = 0;
  CBB seq, bits;
  if (!vigil_key_sign(key, sig, &sig_len, sizeof(sig), tbs, tbs_len) ||
      !CBB_add_asn1(cbb, &seq, CBS_ASN1_SEQUENCE) ||
      !CBB_add_bytes(&seq, tbs, tbs_len) ||
      !CBB_add_bytes(&seq, key->sig_alg, key->sig_alg_len) ||
      !CBB_add_asn1(&seq, &bits, CBS_ASN1_BITSTRING) || !CBB_add_u8(&bits, 0) ||
      !CBB_add_bytes(&bits, sig, sig_len) || !CBB_flush(cbb)) {
    return 0;
  }
  return 1;
}

/* Signature algorithms we verify, by OID contents. */
struct verify_alg {
  uint8_t oid[9];
  uint8_t oid_len;
  int nid_md;      /* digest NID, NID_undef for Ed25519 */
  int pkey_type;   /* EVP_PKEY_* expected */
  int null_params; /* parameters: 1 = must be absent or NULL (RSA) */
};

static const struct verify_alg kVerifyAlgs[] = {
  /* ecdsa-with-SHA256 / 384 / 512 (1.2.840.10045.4.3.{2,3,4}) */
  { { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 },
    8,
    NID_sha256,
    EVP_PKEY_EC,
    0 },
  { { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 },
    8,
    NID_sha384,
    EVP_PKEY_EC,
    0 },
  { { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04 },
    8,
    NID_sha512,
    EVP_PKEY_EC,
    0 },
  /* sha{256,384,512}WithRSAEncryption (1.2.840.113549.1.1.{11,12,13}) */
  { { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b },
    9,
    NID_sha256,
    EVP_PKEY_RSA,
    1 },
  { { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c },
    9,
    NID_sha384,
    EVP_PKEY_RSA,
    1 },
  { { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d },
    9,
    NID_sha512,
    EVP_PKEY_RSA,
    1 },
  /* Ed25519 (1.3.101.112) */
  { { 0x2b, 0x65, 0x70 }, 3, NID_undef, EVP_PKEY_ED25519, 0 },
};

int vigil_key_verify(EVP_PKEY *pkey, const uint8_t *sig_alg, size_t sig_alg_len,
                     const uint8_t *sig, size_t sig_len, const uint8_t *msg,
                     size_t msg_len) {
  CBS in, alg, oid;
  CBS_init(&in, sig_alg, sig_alg_len);
  if (!CBS_get_asn1(&in, &alg, CBS_ASN1_SEQUENCE) || CBS_len(&in) != 0 ||
      !CBS_get_asn1(&alg, &oid, CBS_ASN1_OBJECT)) {
    return 0;
  }
  const struct verify_alg *found = NULL;
  for (size_t i = 0; i < sizeof(kVerifyAlgs) / sizeof(kVerifyAlgs[0]); i++) {
    if (CBS_mem_equal(&oid, kVerifyAlgs[i].oid, kVerifyAlgs[i].oid_len)) {
      found = &kVerifyAlgs[i];
      break;
    }
  }
  if (found == NULL || EVP_PKEY_id(pkey) != found->pkey_type) {
    return 0;
  }
  /* Parameters: absent for ECDSA and Ed25519; NULL (or absent, which some
   * encoders emit) for RSA. */
  if (CBS_len(&alg) != 0) {
    CBS null;
    if (!found->null_params || !CBS_get_asn1(&alg, &null, CBS_ASN1_NULL) ||
        CBS_len(&null) != 0 || CBS_len(&alg) != 0) {
      return 0;
    }
  }
  const EVP_MD *md = NULL;
  if (found->nid_md != NID_undef) {
    md = EVP_get_digestbynid(found->nid_md);
    if (md == NULL) {
      return 0;
    }
  }
  EVP_MD_CTX ctx;
  EVP_MD_CTX_init(&ctx);
  int ok = EVP_DigestVerifyInit(&ctx, NULL, md, NULL, pkey) &&
           EVP_DigestVerify(&ctx, sig, sig_len, msg, msg_len);
  EVP_MD_CTX_cleanup(&ctx);
  ERR_clear_error();
  return ok ? 1 : 0;
}
