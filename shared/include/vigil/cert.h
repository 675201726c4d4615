/* cert.h: read-only views of an X.509 certificate (BoringSSL CBS).
 *
 * Issuers and responders are certificates: OCSP needs the issuer's name and
 * key hashes (CertID), CRLs need its subject Name and key identifier (AKI),
 * issuance needs its subject and key. vigil_cert_parse copies the DER once
 * and exposes views into that copy; nothing else is allocated per use. A
 * parsed certificate is immutable and may be shared by threads.
 *
 * This is a strict structural parse (RFC 5280 4.1), not path validation:
 * the signature is not checked here (see vigil_cert_verify_signed_by). */
#ifndef VIGIL_CERT_H
#define VIGIL_CERT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/base.h>
#include <openssl/bytestring.h>

#include "vigil/key.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest certificate accepted, in DER bytes. */
#define VIGIL_CERT_MAX_DER 65536

struct vigil_cert {
  CBS der;             /* the whole Certificate, DER (view into |owned|) */
  CBS tbs;             /* TBSCertificate, full element incl. tag/length */
  CBS serial;          /* serialNumber INTEGER contents (two's complement) */
  CBS issuer;          /* issuer Name, full DER element */
  CBS subject;         /* subject Name, full DER element */
  CBS spki;            /* SubjectPublicKeyInfo, full DER element */
  CBS public_key_bits; /* subjectPublicKey BIT STRING contents w/o pad octet */
  CBS ski;             /* SubjectKeyIdentifier keyIdentifier; empty if absent */
  CBS sig_alg;         /* outer signatureAlgorithm, full DER element */
  CBS signature;       /* signature BIT STRING contents w/o pad octet */
  int64_t not_before;  /* validity, seconds since the Unix epoch */
  int64_t not_after;
  int is_ca;               /* basicConstraints cA is TRUE */
  uint8_t name_sha1[20];   /* SHA-1 of |subject| DER (CertID issuerNameHash
                              for certificates this one issues) */
  uint8_t name_sha256[32]; /* SHA-256 of |subject| DER */
  uint8_t key_sha1[20];    /* SHA-1 of |public_key_bits| (issuerKeyHash,
                              ResponderID byKey) */
  uint8_t key_sha256[32];  /* SHA-256 of |public_key_bits| */
  EVP_PKEY *pubkey;        /* the subject public key (owned) */
  uint8_t *owned;          /* the DER copy all views point into (owned) */
};

enum vigil_cert_err {
  VIGIL_CERT_OK = 0,
  VIGIL_CERT_ERR_IO,        /* file could not be read */
  VIGIL_CERT_ERR_TOO_LARGE, /* over VIGIL_CERT_MAX_DER */
  VIGIL_CERT_ERR_PEM,       /* PEM armour broken or not a CERTIFICATE */
  VIGIL_CERT_ERR_DER,       /* DER structure invalid */
  VIGIL_CERT_ERR_TIME,      /* validity times unparsable */
  VIGIL_CERT_ERR_KEY,       /* public key unparsable or unsupported */
  VIGIL_CERT_ERR_NOMEM,
};

/* vigil_cert_parse parses one certificate from |in| (PEM or DER; for PEM
 * the first CERTIFICATE block). Returns a new object owned by the caller,
 * or NULL with |*out_err| set. */
struct vigil_cert *vigil_cert_parse(enum vigil_cert_err *out_err,
                                    const uint8_t *in,
                                    size_t in_len) VIGIL_MUST_CHECK;

/* vigil_cert_load_file parses the certificate in the file at |path|. */
struct vigil_cert *vigil_cert_load_file(enum vigil_cert_err *out_err,
                                        const char *path) VIGIL_MUST_CHECK;

/* vigil_cert_free releases |cert|. vigil_cert_free(NULL) does nothing. */
void vigil_cert_free(struct vigil_cert *cert);

/* vigil_cert_err_string returns a static description of |err|. */
const char *vigil_cert_err_string(enum vigil_cert_err err);

/* vigil_cert_matches_key returns 1 if |cert|'s public key is |key|'s. */
int vigil_cert_matches_key(const struct vigil_cert *cert,
                           const struct vigil_key *key);

/* vigil_cert_verify_signed_by returns 1 if |cert|'s signature verifies
 * under |issuer|'s public key and |cert|'s issuer Name equals |issuer|'s
 * subject Name byte for byte; 0 otherwise. */
int vigil_cert_verify_signed_by(const struct vigil_cert *cert,
                                const struct vigil_cert *issuer);

/* vigil_cert_write_pem appends |der| as a PEM block with |label| (e.g.
 * "CERTIFICATE", "X509 CRL") to |cbb|. Returns 1 on success, 0 on failure. */
int vigil_pem_encode(CBB *cbb, const char *label, const uint8_t *der,
                     size_t der_len) VIGIL_MUST_CHECK;

/* Outcomes of vigil_der_input_copy. */
enum vigil_der_input {
  VIGIL_DER_INPUT_OK = 0,
  VIGIL_DER_INPUT_NOT_PEM,   /* not DER, and no well-formed PEM block with
                                one of the labels */
  VIGIL_DER_INPUT_TOO_LARGE, /* input over |max_in|, or DER over |max_der| */
  VIGIL_DER_INPUT_NOMEM,
};

/* vigil_der_input_copy takes an object given as DER or PEM: input starting
 * with a SEQUENCE tag is DER and copied; anything else must hold a PEM
 * block labelled with one of |labels| (|num_labels|, tried in order) and
 * is decoded. |in_len| may be at most |max_in| and the DER at most
 * |max_der| bytes. On VIGIL_DER_INPUT_OK |*out| is a new buffer from
 * vigil_malloc (owned by the caller) of |*out_len| bytes; otherwise |*out|
 * is NULL. */
enum vigil_der_input vigil_der_input_copy(uint8_t **out, size_t *out_len,
                                          const uint8_t *in, size_t in_len,
                                          const char *const *labels,
                                          size_t num_labels, size_t max_der,
                                          size_t max_in) VIGIL_MUST_CHECK;

/* vigil_pem_decode finds the first PEM block labelled |label| in |in| and
 * returns its DER in |*out| (new buffer from vigil_malloc, owned by the
 * caller) and |*out_len|. Returns 1 on success; 0 if there is no such block
 * or it is malformed; -1 if memory ran out. On 0 and -1 |*out| is NULL. */
int vigil_pem_decode(uint8_t **out, size_t *out_len, const char *label,
                     const uint8_t *in, size_t in_len) VIGIL_MUST_CHECK;

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CERT_H */
