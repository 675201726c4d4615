/* csr.h: PKCS#10 certificate signing requests (RFC 2986), read-only.
 *
 * POST /certificates accepts a CSR from outside: the signer must know the
 * requested subject, public key and names, and that whoever sent it holds
 * the private key. vigil_csr_parse copies the input once, parses it as
 * strict DER with CBS, refuses keys Vigil does not issue for (only EC
 * P-256 / P-384, RSA 2048..8192 and Ed25519) and verifies the
 * self-signature; every way to fail has its own outcome so the API can
 * tell the user which. The result holds views into its own copy and is
 * immutable; it may be shared by threads.
 *
 * From the extensionRequest attribute (PKCS#9, 1.2.840.113549.1.9.14) the
 * subjectAltName entries are decoded (DNS, IP, URI, email); the whole
 * Extensions element is exposed for anything else. Other attributes (e.g.
 * challengePassword) are ignored. */
#ifndef VIGIL_CSR_H
#define VIGIL_CSR_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/base.h>
#include <openssl/bytestring.h>

#include "vigil/key.h"
#include "vigil/x509.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest CSR accepted, in DER bytes; PEM input may be twice as long. */
#define VIGIL_CSR_MAX_DER 65536
/* Most extensions in the extensionRequest attribute. */
#define VIGIL_CSR_MAX_EXTENSIONS 64

/* Why vigil_csr_parse refused a CSR. */
enum vigil_csr_err {
  VIGIL_CSR_OK = 0,
  VIGIL_CSR_ERR_TOO_LARGE,     /* input over the size limit */
  VIGIL_CSR_ERR_PEM,           /* not DER, and no (NEW) CERTIFICATE REQUEST
                                  PEM block */
  VIGIL_CSR_ERR_DER,           /* DER structure invalid (incl. trailing
                                  data, bad subject Name) */
  VIGIL_CSR_ERR_VERSION,       /* version is not v1 (0) */
  VIGIL_CSR_ERR_KEY_PARSE,     /* SubjectPublicKeyInfo unparsable */
  VIGIL_CSR_ERR_KEY_ALGORITHM, /* key algorithm not EC, RSA or Ed25519 */
  VIGIL_CSR_ERR_KEY_CURVE,     /* EC curve not P-256 or P-384 */
  VIGIL_CSR_ERR_KEY_SIZE,      /* RSA modulus not 2048..8192 bits */
  VIGIL_CSR_ERR_SIG_ALG,       /* signature algorithm unknown or not one
                                  the key can make */
  VIGIL_CSR_ERR_BAD_SIGNATURE, /* the self-signature does not verify */
  VIGIL_CSR_ERR_EXTENSIONS,    /* extensionRequest malformed, repeated, a
                                  duplicate extension, or too many */
  VIGIL_CSR_ERR_SAN,           /* a SAN malformed, of a type other than
                                  DNS/IP/URI/email, or too many */
  VIGIL_CSR_ERR_NOMEM,
};

struct vigil_csr {
  CBS der;        /* the whole CertificationRequest, DER */
  CBS info;       /* CertificationRequestInfo, full element (signed part) */
  CBS subject;    /* subject Name, full DER element (may be empty 30 00) */
  CBS spki;       /* SubjectPublicKeyInfo, full DER element */
  CBS sig_alg;    /* signatureAlgorithm, full DER element */
  CBS signature;  /* signature BIT STRING contents without pad octet */
  CBS extensions; /* requested Extensions SEQUENCE, full element; empty if
                     there is no extensionRequest */
  enum vigil_key_type key_type; /* kind of the subject key */
  struct vigil_x509_san *sans;  /* requested SANs, in order; values point
                                   into |owned| (array owned, may be NULL) */
  size_t num_sans;              /* entries at |sans| */
  EVP_PKEY *pubkey;             /* the subject public key (owned) */
  uint8_t *owned;               /* DER copy all views point into (owned) */
};

/* vigil_csr_parse parses one CSR from |in| (|in_len| bytes): DER if it
 * starts with a SEQUENCE tag, else the first PEM block labelled
 * "CERTIFICATE REQUEST" or, failing that, "NEW CERTIFICATE REQUEST".
 * Checks structure, version, key and self-signature. Returns a new object
 * owned by the caller (free with vigil_csr_free), or NULL with |*out_err|
 * set to the reason. */
struct vigil_csr *vigil_csr_parse(enum vigil_csr_err *out_err,
                                  const uint8_t *in,
                                  size_t in_len) VIGIL_MUST_CHECK;

/* vigil_csr_free releases |csr|. vigil_csr_free(NULL) does nothing. */
void vigil_csr_free(struct vigil_csr *csr);

/* vigil_csr_err_string returns a static description of |err|. */
const char *vigil_csr_err_string(enum vigil_csr_err err);

/* vigil_csr_find_extension looks for the requested extension whose OID
 * contents (DER, without tag and length) are |oid| (|oid_len| bytes). If
 * found, returns 1, sets |*out_critical| and points |*out_value| at the
 * extnValue OCTET STRING contents; returns 0 if absent. */
int vigil_csr_find_extension(const struct vigil_csr *csr, int *out_critical,
                             CBS *out_value, const uint8_t *oid,
                             size_t oid_len);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CSR_H */
