/* key.h: private keys and signatures for Vigil's PKI code (BoringSSL).
 *
 * A vigil_key is an immutable private key plus what every signer needs
 * from it, computed once at load: the DER SubjectPublicKeyInfo, the SHA-1
 * and SHA-256 hashes of the public key bits (OCSP ResponderID byKey,
 * CertID issuerKeyHash, SubjectKeyIdentifier) and the signature algorithm
 * it signs with. After construction it is read-only and may be shared by
 * threads.
 *
 * Supported: EC P-256 (ecdsa-with-SHA256), EC P-384 (ecdsa-with-SHA384),
 * RSA 2048..8192 bits (sha256WithRSAEncryption, PKCS#1 v1.5) and Ed25519.
 * Linked only by edge, signer and tests (never by vigil-control). */
#ifndef VIGIL_KEY_H
#define VIGIL_KEY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/base.h>
#include <openssl/bytestring.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VIGIL_MUST_CHECK __attribute__((warn_unused_result))

/* Largest signature any supported key makes (RSA-8192), in bytes. */
#define VIGIL_KEY_MAX_SIG_LEN 1024

enum vigil_key_type {
  VIGIL_KEY_EC_P256 = 1,
  VIGIL_KEY_EC_P384 = 2,
  VIGIL_KEY_RSA = 3,
  VIGIL_KEY_ED25519 = 4,
};

/* Why vigil_key_load_file / vigil_key_parse refused a key. */
enum vigil_key_err {
  VIGIL_KEY_OK = 0,
  VIGIL_KEY_ERR_IO,          /* file could not be opened or read */
  VIGIL_KEY_ERR_MODE,        /* file is readable by group or others */
  VIGIL_KEY_ERR_TOO_LARGE,   /* input over 64 KiB */
  VIGIL_KEY_ERR_PARSE,       /* neither PEM nor DER of a known key format */
  VIGIL_KEY_ERR_UNSUPPORTED, /* parsed, but curve/algorithm/size not allowed */
  VIGIL_KEY_ERR_NOMEM,
};

struct vigil_key;

/* --- Construction -------------------------------------------------------- */

/* vigil_key_generate makes a fresh key of |type| from the CSPRNG.
 * |rsa_bits| is used for VIGIL_KEY_RSA only (2048..8192, multiple of 8).
 * Returns a new key owned by the caller, or NULL. */
struct vigil_key *vigil_key_generate(enum vigil_key_type type,
                                     unsigned rsa_bits) VIGIL_MUST_CHECK;

/* vigil_key_parse reads a private key from |in| (|in_len| bytes): PEM
 * ("PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY") or DER (PKCS#8,
 * SEC 1, PKCS#1). Returns a new key, or NULL with |*out_err| set. */
struct vigil_key *vigil_key_parse(enum vigil_key_err *out_err,
                                  const uint8_t *in,
                                  size_t in_len) VIGIL_MUST_CHECK;

/* vigil_key_load_file reads a private key file as vigil_key_parse does.
 * If |require_private_mode| is non-zero the file must be owned by the
 * effective user and not be accessible by group or others (mode 0600 or
 * stricter), or VIGIL_KEY_ERR_MODE results.
 * Returns a new key, or NULL with |*out_err| set. */
struct vigil_key *vigil_key_load_file(
    enum vigil_key_err *out_err, const char *path,
    int require_private_mode) VIGIL_MUST_CHECK;

/* vigil_key_save_pem writes |key| as PKCS#8 PEM to |path|, atomically
 * (temp file + rename in the same directory) and with mode 0600. Returns 1
 * on success; on failure returns 0 and |path| is untouched. */
int vigil_key_save_pem(const struct vigil_key *key,
                       const char *path) VIGIL_MUST_CHECK;

/* vigil_key_free releases |key|. vigil_key_free(NULL) does nothing. */
void vigil_key_free(struct vigil_key *key);

/* vigil_key_err_string returns a static description of |err|. */
const char *vigil_key_err_string(enum vigil_key_err err);

/* --- Properties (all borrowed; valid while |key| lives) ------------------ */

enum vigil_key_type vigil_key_get_type(const struct vigil_key *key);

/* vigil_key_get0_evp returns the BoringSSL EVP_PKEY inside |key|. The
 * caller must not modify or free it. */
EVP_PKEY *vigil_key_get0_evp(const struct vigil_key *key);

/* vigil_key_get0_spki returns the DER SubjectPublicKeyInfo of |key| and
 * sets |*out_len|. */
const uint8_t *vigil_key_get0_spki(const struct vigil_key *key,
                                   size_t *out_len);

/* vigil_key_get0_sha1 returns the 20-byte SHA-1 of the subjectPublicKey
 * BIT STRING contents (without tag, length and unused-bits octet), as
 * RFC 6960 byKey / CertID issuerKeyHash and RFC 5280 4.2.1.2 (1) use it. */
const uint8_t *vigil_key_get0_sha1(const struct vigil_key *key);

/* vigil_key_get0_sha256 returns the 32-byte SHA-256 of the same bits. */
const uint8_t *vigil_key_get0_sha256(const struct vigil_key *key);

/* vigil_key_get0_sig_alg returns the DER AlgorithmIdentifier of the
 * signature |key| makes (e.g. ecdsa-with-SHA256) and sets |*out_len|. */
const uint8_t *vigil_key_get0_sig_alg(const struct vigil_key *key,
                                      size_t *out_len);

/* vigil_key_max_sig_len returns an upper bound of the signature length. */
size_t vigil_key_max_sig_len(const struct vigil_key *key);

/* --- Signing ------------------------------------------------------------- */

/* vigil_key_sign signs |tbs| (|tbs_len| bytes) with |key| using its
 * signature algorithm (hash + sign; Ed25519 signs the message itself) and
 * writes the signature (DER ECDSA-Sig-Value for EC, raw for RSA and
 * Ed25519) to |out_sig|, which has room for |max_sig_len| bytes; sets
 * |*out_sig_len|. Returns 1 on success, 0 on failure (|out_sig| then holds
 * nothing meaningful). Thread-safe. */
int vigil_key_sign(const struct vigil_key *key, uint8_t *out_sig,
                   size_t *out_sig_len, size_t max_sig_len, const uint8_t *tbs,
                   size_t tbs_len) VIGIL_MUST_CHECK;

/* vigil_key_add_signed appends to |cbb| the X.509-style signed envelope
 * SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING signature } for the
 * already-encoded |tbs| (used for certificates, CRLs and CSRs). Returns 1
 * on success, 0 on failure (|cbb| is then in an unspecified state and must
 * be aborted). */
int vigil_key_add_signed(const struct vigil_key *key, CBB *cbb,
                         const uint8_t *tbs, size_t tbs_len) VIGIL_MUST_CHECK;

/* vigil_key_verify checks |sig| over |msg| with public key |pkey| under
 * the AlgorithmIdentifier |sig_alg| (DER, |sig_alg_len| bytes). Accepts
 * the four algorithms above plus sha384/sha512WithRSAEncryption and
 * ecdsa-with-SHA512. Returns 1 if valid, 0 otherwise. */
int vigil_key_verify(EVP_PKEY *pkey, const uint8_t *sig_alg, size_t sig_alg_len,
                     const uint8_t *sig, size_t sig_len, const uint8_t *msg,
                     size_t msg_len) VIGIL_MUST_CHECK;

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_KEY_H */
