/* ocsp.h: vocabulary shared by the OCSP request parser, the response
 * builder, the CRL builder and the control plane: CertID hash algorithms,
 * certificate statuses, OCSPResponseStatus values and RFC 5280 CRLReason
 * codes with their API names (DESIGN.md section 5). No crypto, no
 * allocation: vigil-control may use it. */
#ifndef VIGIL_OCSP_H
#define VIGIL_OCSP_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Most single requests one OCSP request may carry (a real client sends 1). */
#define VIGIL_OCSP_MAX_REQUESTS 16
/* Nonce bounds (RFC 8954, RFC 9654 3): 1..128 octets. */
#define VIGIL_OCSP_NONCE_MIN 1
#define VIGIL_OCSP_NONCE_MAX 128
/* Longest certificate serial (RFC 5280 4.1.2.2): 20 octets. We accept a
 * little more on input (some CAs sent 21 with a sign octet) and reject
 * beyond. */
#define VIGIL_OCSP_MAX_SERIAL 21

/* Hash algorithm of a CertID (RFC 6960 4.1.1; SHA-256 per RFC 9919). */
enum vigil_ocsp_hash {
  VIGIL_OCSP_HASH_SHA1 = 1,
  VIGIL_OCSP_HASH_SHA256 = 2,
};

/* CertStatus (RFC 6960 4.2.1). */
enum vigil_cert_status {
  VIGIL_CERT_STATUS_GOOD = 0,
  VIGIL_CERT_STATUS_REVOKED = 1,
  VIGIL_CERT_STATUS_UNKNOWN = 2,
};

/* OCSPResponseStatus (RFC 6960 4.2.1). 4 is not used. */
enum vigil_ocsp_status {
  VIGIL_OCSP_SUCCESSFUL = 0,
  VIGIL_OCSP_MALFORMED_REQUEST = 1,
  VIGIL_OCSP_INTERNAL_ERROR = 2,
  VIGIL_OCSP_TRY_LATER = 3,
  VIGIL_OCSP_SIG_REQUIRED = 5,
  VIGIL_OCSP_UNAUTHORIZED = 6,
};

/* CRLReason (RFC 5280 5.3.1). 7 is not used. */
enum vigil_reason {
  VIGIL_REASON_NONE = -1, /* no reasonCode: omitted from OCSP and CRLs */
  VIGIL_REASON_UNSPECIFIED = 0,
  VIGIL_REASON_KEY_COMPROMISE = 1,
  VIGIL_REASON_CA_COMPROMISE = 2,
  VIGIL_REASON_AFFILIATION_CHANGED = 3,
  VIGIL_REASON_SUPERSEDED = 4,
  VIGIL_REASON_CESSATION_OF_OPERATION = 5,
  VIGIL_REASON_CERTIFICATE_HOLD = 6, /* forbidden by the CA/B Forum BRs */
  VIGIL_REASON_REMOVE_FROM_CRL = 8,  /* delta CRLs only; never issued */
  VIGIL_REASON_PRIVILEGE_WITHDRAWN = 9,
  VIGIL_REASON_AA_COMPROMISE = 10,
};

/* vigil_reason_name returns the camelCase RFC 5280 name of |reason|
 * ("keyCompromise"), or NULL if |reason| is not a defined code. */
const char *vigil_reason_name(enum vigil_reason reason);

/* vigil_reason_from_name parses a camelCase name (exact, case-sensitive).
 * Returns 1 and sets |*out| on success, 0 for an unknown name. */
int vigil_reason_from_name(enum vigil_reason *out, const char *name,
                           size_t name_len);

/* vigil_reason_allowed_by_br returns 1 if the CA/B Forum Baseline
 * Requirements (7.2.2 / 7.3) allow |reason| in a CRL entry or OCSP answer
 * for a subscriber certificate: keyCompromise, affiliationChanged,
 * superseded, cessationOfOperation, privilegeWithdrawn, or none
 * (unspecified is expressed by omitting the reasonCode). cACompromise is
 * allowed only when |for_ca_cert| is non-zero. */
int vigil_reason_allowed_by_br(enum vigil_reason reason, int for_ca_cert);

/* vigil_ocsp_status_name returns "successful", "malformedRequest", ... or
 * NULL for an undefined value. */
const char *vigil_ocsp_status_name(enum vigil_ocsp_status status);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_OCSP_H */
