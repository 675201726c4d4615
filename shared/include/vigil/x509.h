/* x509.h: building and signing X.509 v3 certificates (RFC 5280, CA/Browser
 * Forum Baseline Requirements 7.1).
 *
 * The signer issues root and intermediate CAs, TLS server certificates (from
 * a CSR or a server-generated key) and delegated OCSP responder
 * certificates. A caller fills a struct vigil_x509_template — usually
 * starting from one of the vigil_x509_profile_* functions — and calls
 * vigil_x509_issue, which checks the template for consistency (validity,
 * key usage against cA and key type, EKU against the profile, the issuer's
 * key and validity), encodes the TBSCertificate in DER with CBB and signs it
 * with the issuer's key (vigil_key_add_signed). Nothing here reads the
 * clock: the signing time is a parameter.
 *
 * Extensions written (RFC 5280 4.2): basicConstraints (critical, always),
 * keyUsage (critical), extKeyUsage, subjectKeyIdentifier (RFC 5280
 * 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits),
 * authorityKeyIdentifier (keyIdentifier = the issuer's SKI, or the SHA-1 of
 * its key bits when it has none; self-signed: its own SKI),
 * subjectAltName (critical iff the subject is empty), authorityInfoAccess
 * (OCSP, caIssuers), cRLDistributionPoints, certificatePolicies and
 * id-pkix-ocsp-nocheck. */
#ifndef VIGIL_X509_H
#define VIGIL_X509_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/base.h>
#include <openssl/bytestring.h>

#include "vigil/cert.h"
#include "vigil/key.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- Limits and constants ------------------------------------------------ */

/* Length of a generated serial number (INTEGER contents), in bytes. */
#define VIGIL_X509_SERIAL_LEN 16
/* Longest serial accepted in a template (RFC 5280 4.1.2.2), in bytes. */
#define VIGIL_X509_MAX_SERIAL 20
/* Most subjectAltName entries in one certificate or CSR. */
#define VIGIL_X509_MAX_SANS 256
/* Longest SAN value (DNS name 253, email 254, URI / IP shorter), bytes. */
#define VIGIL_X509_MAX_SAN_LEN 1024
/* Longest AIA / CRL distribution point URL, in bytes. */
#define VIGIL_X509_MAX_URL 1024
/* Most certificatePolicies entries. */
#define VIGIL_X509_MAX_POLICIES 8
/* How far the profiles backdate notBefore to absorb clock skew (seconds). */
#define VIGIL_X509_BACKDATE 300
/* BR: an OCSP responder certificate's notBefore is no earlier than one day
 * before it is signed. */
#define VIGIL_X509_RESPONDER_MAX_BACKDATE 86400

/* keyUsage bits (RFC 5280 4.2.1.3); bit n of the BIT STRING is (1u << n).
 * encipherOnly / decipherOnly are not supported. */
#define VIGIL_X509_KU_DIGITAL_SIGNATURE 0x01u
#define VIGIL_X509_KU_NON_REPUDIATION   0x02u /* contentCommitment */
#define VIGIL_X509_KU_KEY_ENCIPHERMENT  0x04u /* RSA only */
#define VIGIL_X509_KU_DATA_ENCIPHERMENT 0x08u /* RSA only */
#define VIGIL_X509_KU_KEY_AGREEMENT     0x10u /* EC only */
#define VIGIL_X509_KU_KEY_CERT_SIGN     0x20u /* CAs only, and required */
#define VIGIL_X509_KU_CRL_SIGN          0x40u /* CAs only */

/* extKeyUsage purposes (RFC 5280 4.2.1.12), written in this order. */
#define VIGIL_X509_EKU_SERVER_AUTH      0x01u /* id-kp-serverAuth */
#define VIGIL_X509_EKU_CLIENT_AUTH      0x02u /* id-kp-clientAuth */
#define VIGIL_X509_EKU_CODE_SIGNING     0x04u /* id-kp-codeSigning */
#define VIGIL_X509_EKU_EMAIL_PROTECTION 0x08u /* id-kp-emailProtection */
#define VIGIL_X509_EKU_TIME_STAMPING    0x10u /* id-kp-timeStamping */
#define VIGIL_X509_EKU_OCSP_SIGNING     0x20u /* id-kp-OCSPSigning */

/* CA/B Forum policy OIDs, for vigil_x509_template.policies. */
#define VIGIL_X509_POLICY_BR_DV "2.23.140.1.2.1"
#define VIGIL_X509_POLICY_BR_OV "2.23.140.1.2.2"
#define VIGIL_X509_POLICY_ANY   "2.5.29.32.0"

/* Outcomes of this module's fallible functions. */
enum vigil_x509_err {
  VIGIL_X509_OK = 0,
  VIGIL_X509_ERR_ARG,             /* a required input is missing */
  VIGIL_X509_ERR_SERIAL,          /* serial not a positive minimal INTEGER
                                     of 1..20 octets */
  VIGIL_X509_ERR_VALIDITY,        /* not_after <= not_before, or a time
                                     outside 1950..9999 */
  VIGIL_X509_ERR_ISSUER_VALIDITY, /* validity not within the issuer's */
  VIGIL_X509_ERR_BACKDATED,       /* OCSP responder notBefore more than
                                     one day before the signing time */
  VIGIL_X509_ERR_NAME,            /* subject not a well-formed Name, or a
                                     name builder string invalid */
  VIGIL_X509_ERR_EMPTY_SUBJECT,   /* empty subject with no SAN, or a CA
                                     with an empty subject */
  VIGIL_X509_ERR_KEY_PARSE,       /* SubjectPublicKeyInfo unparsable */
  VIGIL_X509_ERR_KEY_ALGORITHM,   /* key algorithm not EC, RSA or Ed25519 */
  VIGIL_X509_ERR_KEY_CURVE,       /* EC curve not P-256 or P-384 */
  VIGIL_X509_ERR_KEY_SIZE,        /* RSA modulus not 2048..8192 bits, or
                                     not a multiple of 8 */
  VIGIL_X509_ERR_SAN,             /* a SAN malformed, or too many */
  VIGIL_X509_ERR_URL,             /* an AIA / CRL URL not an http:// URL */
  VIGIL_X509_ERR_POLICY,          /* a policy OID invalid, or too many */
  VIGIL_X509_ERR_KEY_USAGE,       /* keyUsage inconsistent with cA or the
                                     key type */
  VIGIL_X509_ERR_EXT_KEY_USAGE,   /* extKeyUsage inconsistent with the
                                     profile */
  VIGIL_X509_ERR_PATH_LEN,        /* pathLenConstraint on a non-CA, or a
                                     sub-CA the issuer's pathLen forbids */
  VIGIL_X509_ERR_NOCHECK,         /* ocsp-nocheck without OCSPSigning, or
                                     the reverse */
  VIGIL_X509_ERR_ISSUER_NOT_CA,   /* issuer certificate has no cA TRUE,
                                     or keyUsage without keyCertSign */
  VIGIL_X509_ERR_ISSUER_KEY,      /* issuer key is not the issuer
                                     certificate's (self-signed: not the
                                     subject key) */
  VIGIL_X509_ERR_SIGN,            /* signing failed */
  VIGIL_X509_ERR_NOMEM,
};

/* --- Subject alternative names ------------------------------------------- */

enum vigil_x509_san_type {
  VIGIL_X509_SAN_DNS = 1, /* dNSName: LDH labels, optional leading "*." */
  VIGIL_X509_SAN_IP,      /* iPAddress: 4 (IPv4) or 16 (IPv6) octets */
  VIGIL_X509_SAN_URI,     /* uniformResourceIdentifier: "scheme:..." */
  VIGIL_X509_SAN_EMAIL,   /* rfc822Name: "local@domain" */
};

/* One subjectAltName entry. The value is borrowed, not NUL-terminated. */
struct vigil_x509_san {
  enum vigil_x509_san_type type; /* which GeneralName */
  const uint8_t *value;          /* ASCII text, or IP address octets */
  size_t value_len;              /* bytes at |value| */
};

/* vigil_x509_san_check returns 1 if |san| is well formed (see the type
 * comments above; text is printable ASCII without spaces and at most
 * VIGIL_X509_MAX_SAN_LEN bytes), 0 otherwise. */
int vigil_x509_san_check(const struct vigil_x509_san *san) VIGIL_MUST_CHECK;

/* --- Names --------------------------------------------------------------- */

/* Attributes for vigil_x509_name_build. NULL or "" omits an attribute. Each
 * becomes its own single-valued RDN, in the order C, ST, L, O, OU, CN, as
 * UTF8String except C, which is a two-letter PrintableString. */
struct vigil_x509_name {
  const char *country;             /* C (2.5.4.6): two letters A-Z */
  const char *state;               /* ST (2.5.4.8): up to 128 characters */
  const char *locality;            /* L (2.5.4.7): up to 128 characters */
  const char *organization;        /* O (2.5.4.10): up to 64 characters */
  const char *organizational_unit; /* OU (2.5.4.11): up to 64 characters */
  const char *common_name;         /* CN (2.5.4.3): up to 64 characters */
};

/* vigil_x509_name_build appends the DER Name for |name| to |cbb|. Strings
 * must be valid UTF-8 without control characters. With every attribute
 * omitted the result is the empty Name (30 00). Returns VIGIL_X509_OK,
 * VIGIL_X509_ERR_NAME for an invalid string, or VIGIL_X509_ERR_NOMEM; on
 * failure |cbb| is unspecified and must be aborted. */
enum vigil_x509_err vigil_x509_name_build(
    CBB *cbb, const struct vigil_x509_name *name) VIGIL_MUST_CHECK;

/* vigil_x509_name_check returns 1 if |der| (|der_len| bytes) is exactly one
 * well-formed DER Name: SEQUENCE OF non-empty SET OF
 * SEQUENCE { OBJECT IDENTIFIER, value }; 0 otherwise. */
int vigil_x509_name_check(const uint8_t *der, size_t der_len) VIGIL_MUST_CHECK;

/* --- Keys and serials ---------------------------------------------------- */

/* vigil_x509_spki_check checks that |spki| (|spki_len| bytes) is exactly one
 * DER SubjectPublicKeyInfo of a supported key: EC P-256 / P-384 (named
 * curve), RSA 2048..8192 bits (multiple of 8), or Ed25519. On success sets
 * |*out_type| and, if |out_pkey| is not NULL, |*out_pkey| to a new EVP_PKEY
 * owned by the caller. Returns VIGIL_X509_OK or one of
 * VIGIL_X509_ERR_KEY_PARSE / _KEY_ALGORITHM / _KEY_CURVE / _KEY_SIZE /
 * _NOMEM; on failure the outputs are untouched. */
enum vigil_x509_err vigil_x509_spki_check(EVP_PKEY **out_pkey,
                                          enum vigil_key_type *out_type,
                                          const uint8_t *spki,
                                          size_t spki_len) VIGIL_MUST_CHECK;

/* vigil_x509_serial_generate writes a fresh serial number (the contents of
 * a DER INTEGER) to |out|: VIGIL_X509_SERIAL_LEN bytes from the CSPRNG
 * with the top bit cleared (positive) and a non-zero first byte (minimal
 * encoding), i.e. about 127 bits of entropy. Returns 1 on success, 0 on
 * failure. */
int vigil_x509_serial_generate(uint8_t out[VIGIL_X509_SERIAL_LEN])
    VIGIL_MUST_CHECK;

/* --- Templates ----------------------------------------------------------- */

/* What to issue. Zero it, or start from a vigil_x509_profile_* function,
 * then set the fields. All pointers are borrowed for the duration of
 * vigil_x509_issue only. */
struct vigil_x509_template {
  const uint8_t *serial;  /* INTEGER contents; NULL / 0 length: generate */
  size_t serial_len;      /* bytes at |serial| (1..20) */
  int64_t not_before;     /* validity, seconds since the Unix epoch; */
  int64_t not_after;      /* encoded as UTCTime through 2049, then
                             GeneralizedTime (RFC 5280 4.1.2.5) */
  const uint8_t *subject; /* subject Name, full DER element (may be the
                             empty Name 30 00 if SANs are given) */
  size_t subject_len;     /* bytes at |subject| */
  const uint8_t *spki;    /* subject SubjectPublicKeyInfo, DER; may be NULL
                             when self-signed (then the issuer key's) */
  size_t spki_len;        /* bytes at |spki| */
  const struct vigil_x509_san *sans; /* subjectAltName entries, in order */
  size_t num_sans;                   /* entries at |sans| (0: no SAN) */
  unsigned key_usage;          /* VIGIL_X509_KU_* bits; 0: no keyUsage (CAs
                                  must have one) */
  unsigned ext_key_usage;      /* VIGIL_X509_EKU_* bits; 0: no extKeyUsage */
  int is_ca;                   /* basicConstraints cA TRUE */
  int has_path_len;            /* CAs only: write pathLenConstraint */
  unsigned path_len;           /* the constraint when |has_path_len| */
  int omit_ski;                /* leave out subjectKeyIdentifier (BR: NOT
                                  RECOMMENDED for subscriber certificates);
                                  ignored for CAs, which always carry one */
  const char *ocsp_url;        /* AIA id-ad-ocsp http:// URL, or NULL */
  const char *ca_issuers_url;  /* AIA id-ad-caIssuers http:// URL, or NULL */
  const char *crl_url;         /* CRL distribution point http:// URL, or NULL */
  int ocsp_nocheck;            /* write id-pkix-ocsp-nocheck (responders) */
  const char *const *policies; /* dotted policy OIDs, e.g.
                                  VIGIL_X509_POLICY_BR_DV */
  size_t num_policies;         /* entries at |policies| (0: none) */
};

/* --- Profiles ------------------------------------------------------------
 *
 * Each profile zeroes |out| and sets the validity (notBefore = |now| -
 * VIGIL_X509_BACKDATE, notAfter = |now| + |lifetime|) and the profile's
 * extensions. The caller then sets subject, spki, SANs and URLs. */

/* vigil_x509_profile_root_ca: self-signed root. cA TRUE without
 * pathLenConstraint; keyUsage keyCertSign, cRLSign, digitalSignature (to
 * sign OCSP responses directly); no extKeyUsage (BR 7.1.2.1). */
void vigil_x509_profile_root_ca(struct vigil_x509_template *out, int64_t now,
                                int64_t lifetime);

/* vigil_x509_profile_intermediate_ca: subordinate CA. cA TRUE with
 * pathLenConstraint |path_len| if |path_len| >= 0; keyUsage keyCertSign,
 * cRLSign, digitalSignature; extKeyUsage |eku| (VIGIL_X509_EKU_* bits, 0
 * for none; a BR TLS sub-CA uses SERVER_AUTH | CLIENT_AUTH); policy
 * anyPolicy. */
void vigil_x509_profile_intermediate_ca(struct vigil_x509_template *out,
                                        int64_t now, int64_t lifetime,
                                        int path_len, unsigned eku);

/* vigil_x509_profile_tls_server: TLS server (BR 7.1.2.7). keyUsage
 * digitalSignature, plus keyEncipherment if |key_type| is VIGIL_KEY_RSA;
 * extKeyUsage serverAuth + clientAuth; policy BR domain-validated; no
 * subjectKeyIdentifier. Set DNS / IP SANs and the AIA / CRL URLs. */
void vigil_x509_profile_tls_server(struct vigil_x509_template *out, int64_t now,
                                   int64_t lifetime,
                                   enum vigil_key_type key_type);

/* vigil_x509_profile_ocsp_responder: delegated OCSP responder (RFC 6960
 * 4.2.2.2, BR 7.1.2.8), to be issued directly by the CA it answers for.
 * keyUsage digitalSignature; extKeyUsage OCSPSigning only;
 * id-pkix-ocsp-nocheck; no AIA, CRL DP or policies. Keep |lifetime|
 * short (days): such a certificate cannot be revoked usefully. */
void vigil_x509_profile_ocsp_responder(struct vigil_x509_template *out,
                                       int64_t now, int64_t lifetime);

/* --- Issuance ------------------------------------------------------------ */

/* vigil_x509_issue checks |tmpl|, then appends the signed DER Certificate
 * to |cbb|. |issuer| is the issuing CA's certificate and |issuer_key| its
 * private key; |issuer| NULL means self-signed (issuer Name = subject, the
 * subject key must be |issuer_key|'s). |now| is the signing time, used for
 * the BR rule on OCSP responder notBefore. Consistency rules: see the
 * enum vigil_x509_err comments; in short, a CA needs keyCertSign and a
 * non-empty subject, a root has no EKU, no CA has OCSPSigning,
 * OCSPSigning comes alone and with ocsp-nocheck and from an issuer,
 * keyEncipherment / dataEncipherment need RSA and keyAgreement EC, an
 * issued certificate's validity lies within its issuer's, and a sub-CA
 * respects the issuer's pathLenConstraint. Returns
 * VIGIL_X509_OK or the reason; on failure |cbb| is unspecified and must be
 * aborted. Thread-safe (the key is only read). */
enum vigil_x509_err vigil_x509_issue(CBB *cbb,
                                     const struct vigil_x509_template *tmpl,
                                     const struct vigil_cert *issuer,
                                     const struct vigil_key *issuer_key,
                                     int64_t now) VIGIL_MUST_CHECK;

/* vigil_x509_issue_der is vigil_x509_issue into a new buffer: on success
 * |*out_der| (from vigil_malloc, owned by the caller; free with
 * vigil_free) and |*out_der_len| hold the Certificate. On failure
 * |*out_der| is NULL and |*out_der_len| 0. */
enum vigil_x509_err vigil_x509_issue_der(uint8_t **out_der, size_t *out_der_len,
                                         const struct vigil_x509_template *tmpl,
                                         const struct vigil_cert *issuer,
                                         const struct vigil_key *issuer_key,
                                         int64_t now) VIGIL_MUST_CHECK;

/* vigil_x509_err_string returns a static description of |err|. */
const char *vigil_x509_err_string(enum vigil_x509_err err);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_X509_H */
