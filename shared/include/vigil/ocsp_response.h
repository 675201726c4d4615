/* ocsp_response.h: building OCSP responses (RFC 6960 4.2, RFC 5019 /
 * RFC 9919 profile).
 *
 * The edge live-signs responses on its hot path and the signer pre-signs
 * them in batches, so the builder makes no heap allocation of its own: the
 * response is written, signed and finished in one pass into a
 * caller-provided CBB (the edge uses CBB_init_fixed over preallocated space
 * sized with vigil_ocsp_response_max_len), the signature is made into a
 * stack buffer.
 *
 * What is built (DER):
 *   OCSPResponse { successful, responseBytes { id-pkix-ocsp-basic,
 *     OCTET STRING (BasicOCSPResponse) } }
 *   BasicOCSPResponse { ResponseData, signatureAlgorithm, signature,
 *     certs [0] EXPLICIT (the responder certificate, if one is given) }
 *   ResponseData { (version v1 omitted: DEFAULT), responderID byKey [2]
 *     (SHA-1 of the responder's public key bits), producedAt,
 *     responses, responseExtensions [1] (nonce echo, if a nonce is given) }
 * Times are GeneralizedTime "YYYYMMDDHHMMSSZ". The nonce extension is
 * non-critical and its extnValue is the DER OCTET STRING of the nonce
 * (RFC 8954 / RFC 9654).
 *
 * Error answers (malformedRequest, internalError, tryLater, sigRequired,
 * unauthorized) are unsigned constants: vigil_ocsp_error_response.
 *
 * Policy is the caller's: which reason codes the CA/B Forum allows
 * (vigil_reason_allowed_by_br), validity windows, whether thisUpdate is
 * back-dated. The builder only refuses what can never be a correct answer
 * (see vigil_ocsp_response_build). Linked by edge, signer and tests. */
#ifndef VIGIL_OCSP_RESPONSE_H
#define VIGIL_OCSP_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/base.h>
#include <openssl/bytestring.h>

#include "vigil/key.h"
#include "vigil/ocsp.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vigil_cert;

/* Longest CertID DER element vigil_ocsp_response_build copies verbatim.
 * The largest valid one (SHA-256 with NULL parameters, a 21-octet serial)
 * is 108 bytes. */
#define VIGIL_OCSP_MAX_CERT_ID_DER 128

/* Most SingleResponses one response may carry (as many as a request may
 * ask for). */
#define VIGIL_OCSP_MAX_SINGLES VIGIL_OCSP_MAX_REQUESTS

/* One SingleResponse: which certificate, its status, and the validity of
 * the answer. Zero it, then fill what the status needs. */
struct vigil_ocsp_single {
  /* The request's CertID as a full DER element (SEQUENCE). If non-NULL it
   * is copied verbatim (RFC 6960 4.2.1: answer with the client's CertID,
   * byte for byte) and |hash|, the hashes and |serial| are ignored. */
  const uint8_t *cert_id_der;
  size_t cert_id_der_len; /* 1..VIGIL_OCSP_MAX_CERT_ID_DER */
  /* Used only when |cert_id_der| is NULL: the CertID is built from these. */
  enum vigil_ocsp_hash hash;       /* SHA-1 or SHA-256 */
  const uint8_t *issuer_name_hash; /* 20 or 32 bytes, per |hash| */
  const uint8_t *issuer_key_hash;  /* 20 or 32 bytes, per |hash| */
  const uint8_t *serial;           /* INTEGER contents, as in the cert */
  size_t serial_len;               /* 1..VIGIL_OCSP_MAX_SERIAL */
  enum vigil_cert_status status;   /* good, revoked or unknown */
  int64_t revocation_time;         /* revoked only: revocationTime */
  enum vigil_reason reason;        /* revoked only; NONE omits it */
  int64_t this_update;             /* thisUpdate */
  int64_t next_update;             /* nextUpdate; must be > this_update */
};

/* Who signs: the CA itself or a delegated responder. */
struct vigil_ocsp_responder {
  const struct vigil_key *key; /* signing key (byKey is its SHA-1) */
  /* Optional: the delegated responder certificate for |key|, sent in
   * certs [0] so relying parties can check it against the CA. NULL when
   * the CA signs directly (RFC 5019 2.2.2: no certs then). */
  const struct vigil_cert *cert;
};

/* --- CertID helpers ------------------------------------------------------ */

/* vigil_ocsp_hash_len returns the digest length of |hash| (20 for SHA-1,
 * 32 for SHA-256), or 0 for an undefined value. */
size_t vigil_ocsp_hash_len(enum vigil_ocsp_hash hash);

/* vigil_ocsp_cert_id_hashes sets |*out_name_hash| and |*out_key_hash| to
 * the CertID issuerNameHash and issuerKeyHash (vigil_ocsp_hash_len(|hash|)
 * bytes each) for certificates issued by |issuer|: the hash of its subject
 * Name and of its public key bits. The pointers borrow |issuer|'s memory.
 * Returns 1, or 0 for an undefined |hash| (outputs then untouched). */
int vigil_ocsp_cert_id_hashes(const uint8_t **out_name_hash,
                              const uint8_t **out_key_hash,
                              const struct vigil_cert *issuer,
                              enum vigil_ocsp_hash hash) VIGIL_MUST_CHECK;

/* --- Signed responses ---------------------------------------------------- */

/* vigil_ocsp_response_max_len returns an upper bound of the bytes
 * vigil_ocsp_response_build appends for |responder|, |num_singles| singles
 * (of any status, CertIDs up to VIGIL_OCSP_MAX_CERT_ID_DER) and a nonce of
 * |nonce_len| bytes (0 = none). Returns 0 if |num_singles| or |nonce_len|
 * is out of range. */
size_t vigil_ocsp_response_max_len(const struct vigil_ocsp_responder *responder,
                                   size_t num_singles, size_t nonce_len);

/* vigil_ocsp_response_build appends to |out| a signed, successful
 * OCSPResponse answering |singles| (|num_singles|, 1..VIGIL_OCSP_MAX_SINGLES,
 * in this order), produced at |produced_at| (seconds since the epoch) by
 * |responder|. If |nonce| is non-NULL, its |nonce_len| bytes
 * (VIGIL_OCSP_NONCE_MIN..MAX) are echoed in a nonce extension; with |nonce|
 * NULL, |nonce_len| must be 0. It makes no heap allocation of its own
 * (inside vigil_key_sign, BoringSSL's ECDSA and RSA code allocates
 * temporaries; Ed25519 allocates nothing).
 *
 * Refused (returns 0, nothing written): a NULL responder, key or
 * |singles|; an undefined status or hash; a CertID that is not one DER
 * SEQUENCE of at most VIGIL_OCSP_MAX_CERT_ID_DER bytes; a serial that is
 * empty, too long or not minimally encoded; next_update <= this_update; a
 * time outside GeneralizedTime's range; a reason on a status other than
 * revoked; reason certificateHold (Vigil never suspends; the BRs forbid
 * it), removeFromCRL (delta CRLs only) or an undefined code; a responder
 * certificate whose key is not |responder->key|. Any other defined reason
 * is accepted: whether the BRs allow it (vigil_reason_allowed_by_br) is the
 * caller's policy, as is any ordering between producedAt, thisUpdate and
 * revocationTime (back-dating, pre-production).
 *
 * Returns 1 on success. On failure returns 0; if it failed after the
 * checks (|out| full, signing failed) |out| must be treated as failed and
 * only cleaned up (CBB_cleanup on its top-level CBB). */
int vigil_ocsp_response_build(CBB *out,
                              const struct vigil_ocsp_responder *responder,
                              int64_t produced_at,
                              const struct vigil_ocsp_single *singles,
                              size_t num_singles, const uint8_t *nonce,
                              size_t nonce_len) VIGIL_MUST_CHECK;

/* --- Unsigned error responses -------------------------------------------- */

/* Length of every error response: 30 03 0a 01 <status>. */
#define VIGIL_OCSP_ERROR_RESPONSE_LEN 5

/* vigil_ocsp_error_response returns the DER OCSPResponse for the error
 * |status| (malformedRequest, internalError, tryLater, sigRequired or
 * unauthorized: no responseBytes, RFC 6960 4.2.1) as a static constant and
 * sets |*out_len| to VIGIL_OCSP_ERROR_RESPONSE_LEN. Returns NULL (and sets
 * |*out_len| to 0) for VIGIL_OCSP_SUCCESSFUL or an undefined value. */
const uint8_t *vigil_ocsp_error_response(size_t *out_len,
                                         enum vigil_ocsp_status status);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_OCSP_RESPONSE_H */
