/* ocsp_response.c: OCSP response builder (see vigil/ocsp_response.h).
 *
 * One pass, no heap: every input is checked first (so a refused call writes
 * nothing), then the OCSPResponse is written into the caller's CBB down to
 * the end of ResponseData. Flushing BasicOCSPResponse at that point fixes
 * the DER of tbsResponseData in place; it is signed from there into a stack
 * buffer, and the signature and certificates are appended behind it. */
#include "vigil/ocsp_response.h"

#include <string.h>

#include "vigil/cert.h"
#include "vigil/key.h"
#include "vigil/timeutil.h"

/* ========================================================================
 * Constants
 * ======================================================================== */

/* id-pkix-ocsp-basic 1.3.6.1.5.5.7.48.1.1 (OID contents). */
static const uint8_t kOidOcspBasic[] = { 0x2b, 0x06, 0x01, 0x05, 0x05,
                                         0x07, 0x30, 0x01, 0x01 };
/* id-pkix-ocsp-nonce 1.3.6.1.5.5.7.48.1.2 (OID contents). */
static const uint8_t kOidOcspNonce[] = { 0x2b, 0x06, 0x01, 0x05, 0x05,
                                         0x07, 0x30, 0x01, 0x02 };

/* CertID hashAlgorithm AlgorithmIdentifiers, with NULL parameters as
 * OpenSSL, NSS and Windows send them (RFC 6960 4.1.1, RFC 9919). */
static const uint8_t kAlgSha1[] = { 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                    0x03, 0x02, 0x1a, 0x05, 0x00 };
static const uint8_t kAlgSha256[] = { 0x30, 0x0d, 0x06, 0x09, 0x60,
                                      0x86, 0x48, 0x01, 0x65, 0x03,
                                      0x04, 0x02, 0x01, 0x05, 0x00 };

/* OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED } for each error
 * status (RFC 6960 4.2.1: no responseBytes on errors). */
static const uint8_t kErrMalformed[] = { 0x30, 0x03, 0x0a, 0x01, 0x01 };
static const uint8_t kErrInternal[] = { 0x30, 0x03, 0x0a, 0x01, 0x02 };
static const uint8_t kErrTryLater[] = { 0x30, 0x03, 0x0a, 0x01, 0x03 };
static const uint8_t kErrSigRequired[] = { 0x30, 0x03, 0x0a, 0x01, 0x05 };
static const uint8_t kErrUnauthorized[] = { 0x30, 0x03, 0x0a, 0x01, 0x06 };

#define SHA1_LEN    20
#define CTX(n)      (CBS_ASN1_CONTEXT_SPECIFIC | (n))
#define CTX_CONS(n) (CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | (n))

/* ========================================================================
 * CertID helpers
 * ======================================================================== */

size_t vigil_ocsp_hash_len(enum vigil_ocsp_hash hash) {
  switch (hash) {
    case VIGIL_OCSP_HASH_SHA1:
      return 20;
    case VIGIL_OCSP_HASH_SHA256:
      return 32;
  }
  return 0;
}

int vigil_ocsp_cert_id_hashes(const uint8_t **out_name_hash,
                              const uint8_t **out_key_hash,
                              const struct vigil_cert *issuer,
                              enum vigil_ocsp_hash hash) {
  switch (hash) {
    case VIGIL_OCSP_HASH_SHA1:
      *out_name_hash = issuer->name_sha1;
      *out_key_hash = issuer->key_sha1;
      return 1;
    case VIGIL_OCSP_HASH_SHA256:
      *out_name_hash = issuer->name_sha256;
      *out_key_hash = issuer->key_sha256;
      return 1;
  }
  return 0;
}

/* ========================================================================
 * Input checks (all before the first byte is written)
 * ======================================================================== */

static int time_ok(int64_t t) {
  uint8_t buf[VIGIL_GENTIME_LEN];
  return vigil_time_format_gentime(buf, t);
}

/* reason_ok: codes an OCSP answer may carry. certificateHold is refused
 * because Vigil never suspends (and the BRs forbid it); removeFromCRL only
 * means something in a delta CRL. */
static int reason_ok(enum vigil_reason reason) {
  switch (reason) {
    case VIGIL_REASON_NONE:
    case VIGIL_REASON_UNSPECIFIED:
    case VIGIL_REASON_KEY_COMPROMISE:
    case VIGIL_REASON_CA_COMPROMISE:
    case VIGIL_REASON_AFFILIATION_CHANGED:
    case VIGIL_REASON_SUPERSEDED:
    case VIGIL_REASON_CESSATION_OF_OPERATION:
    case VIGIL_REASON_PRIVILEGE_WITHDRAWN:
    case VIGIL_REASON_AA_COMPROMISE:
      return 1;
    case VIGIL_REASON_CERTIFICATE_HOLD:
    case VIGIL_REASON_REMOVE_FROM_CRL:
      return 0;
  }
  return 0;
}

static int cert_id_ok(const struct vigil_ocsp_single *s) {
  if (s->cert_id_der != NULL) {
    CBS in, elem;
    if (s->cert_id_der_len == 0 ||
        s->cert_id_der_len > VIGIL_OCSP_MAX_CERT_ID_DER) {
      return 0;
    }
    CBS_init(&in, s->cert_id_der, s->cert_id_der_len);
    return CBS_get_asn1_element(&in, &elem, CBS_ASN1_SEQUENCE) &&
           CBS_len(&in) == 0;
  }
  if (vigil_ocsp_hash_len(s->hash) == 0 || s->issuer_name_hash == NULL ||
      s->issuer_key_hash == NULL || s->serial == NULL || s->serial_len == 0 ||
      s->serial_len > VIGIL_OCSP_MAX_SERIAL) {
    return 0;
  }
  CBS serial;
  CBS_init(&serial, s->serial, s->serial_len);
  int unused_is_negative;
  return CBS_is_valid_asn1_integer(&serial, &unused_is_negative);
}

static int single_ok(const struct vigil_ocsp_single *s) {
  if (!cert_id_ok(s) || !time_ok(s->this_update) || !time_ok(s->next_update) ||
      s->next_update <= s->this_update) {
    return 0;
  }
  switch (s->status) {
    case VIGIL_CERT_STATUS_GOOD:
    case VIGIL_CERT_STATUS_UNKNOWN:
      return s->reason == VIGIL_REASON_NONE;
    case VIGIL_CERT_STATUS_REVOKED:
      return time_ok(s->revocation_time) && reason_ok(s->reason);
  }
  return 0;
}

static int inputs_ok(const struct vigil_ocsp_responder *r, int64_t produced_at,
                     const struct vigil_ocsp_single *singles,
                     size_t num_singles, const uint8_t *nonce,
                     size_t nonce_len) {
  if (r == NULL || r->key == NULL || singles == NULL || num_singles == 0 ||
      num_singles > VIGIL_OCSP_MAX_SINGLES || !time_ok(produced_at)) {
    return 0;
  }
  if (nonce == NULL ? nonce_len != 0
                    : (nonce_len < VIGIL_OCSP_NONCE_MIN ||
                       nonce_len > VIGIL_OCSP_NONCE_MAX)) {
    return 0;
  }
  /* A certificate for another key would make every relying party reject
   * the response; catch the configuration error here. */
  if (r->cert != NULL &&
      memcmp(r->cert->key_sha1, vigil_key_get0_sha1(r->key), SHA1_LEN) != 0) {
    return 0;
  }
  if (vigil_key_max_sig_len(r->key) > VIGIL_KEY_MAX_SIG_LEN) {
    return 0;
  }
  for (size_t i = 0; i < num_singles; i++) {
    if (!single_ok(&singles[i])) {
      return 0;
    }
  }
  return 1;
}

/* ========================================================================
 * Encoding
 * ======================================================================== */

static int add_gentime(CBB *cbb, unsigned tag, int64_t t) {
  uint8_t buf[VIGIL_GENTIME_LEN];
  CBB child;
  return vigil_time_format_gentime(buf, t) && CBB_add_asn1(cbb, &child, tag) &&
         CBB_add_bytes(&child, buf, sizeof(buf)) && CBB_flush(cbb);
}

static int add_cert_id(CBB *cbb, const struct vigil_ocsp_single *s) {
  if (s->cert_id_der != NULL) {
    return CBB_add_bytes(cbb, s->cert_id_der, s->cert_id_der_len);
  }
  size_t hash_len = vigil_ocsp_hash_len(s->hash);
  const uint8_t *alg = kAlgSha1;
  size_t alg_len = sizeof(kAlgSha1);
  if (s->hash == VIGIL_OCSP_HASH_SHA256) {
    alg = kAlgSha256;
    alg_len = sizeof(kAlgSha256);
  }
  CBB cert_id, serial;
  return CBB_add_asn1(cbb, &cert_id, CBS_ASN1_SEQUENCE) &&
         CBB_add_bytes(&cert_id, alg, alg_len) &&
         CBB_add_asn1_octet_string(&cert_id, s->issuer_name_hash, hash_len) &&
         CBB_add_asn1_octet_string(&cert_id, s->issuer_key_hash, hash_len) &&
         CBB_add_asn1(&cert_id, &serial, CBS_ASN1_INTEGER) &&
         CBB_add_bytes(&serial, s->serial, s->serial_len) && CBB_flush(cbb);
}

/* SingleResponse ::= SEQUENCE { certID, certStatus, thisUpdate,
 *   nextUpdate [0] EXPLICIT OPTIONAL, singleExtensions [1] (never) } */
static int add_single(CBB *cbb, const struct vigil_ocsp_single *s) {
  CBB single, status, reason_explicit, reason, next_explicit;
  if (!CBB_add_asn1(cbb, &single, CBS_ASN1_SEQUENCE) ||
      !add_cert_id(&single, s)) {
    return 0;
  }
  switch (s->status) {
    case VIGIL_CERT_STATUS_GOOD:    /* good [0] IMPLICIT NULL */
    case VIGIL_CERT_STATUS_UNKNOWN: /* unknown [2] IMPLICIT NULL */
      if (!CBB_add_asn1(
              &single, &status,
              s->status == VIGIL_CERT_STATUS_GOOD ? CTX(0) : CTX(2))) {
        return 0;
      }
      break;
    case VIGIL_CERT_STATUS_REVOKED: /* revoked [1] IMPLICIT RevokedInfo */
      if (!CBB_add_asn1(&single, &status, CTX_CONS(1)) ||
          !add_gentime(&status, CBS_ASN1_GENERALIZEDTIME, s->revocation_time)) {
        return 0;
      }
      if (s->reason != VIGIL_REASON_NONE &&
          (!CBB_add_asn1(&status, &reason_explicit, CTX_CONS(0)) ||
           !CBB_add_asn1(&reason_explicit, &reason, CBS_ASN1_ENUMERATED) ||
           !CBB_add_u8(&reason, (uint8_t)s->reason))) {
        return 0;
      }
      break;
    default:
      return 0;
  }
  return CBB_flush(&single) &&
         add_gentime(&single, CBS_ASN1_GENERALIZEDTIME, s->this_update) &&
         CBB_add_asn1(&single, &next_explicit, CTX_CONS(0)) &&
         add_gentime(&next_explicit, CBS_ASN1_GENERALIZEDTIME,
                     s->next_update) &&
         CBB_flush(cbb);
}

/* ResponseData ::= SEQUENCE { version [0] DEFAULT v1 (omitted),
 *   responderID, producedAt, responses, responseExtensions [1] OPTIONAL } */
static int add_tbs(CBB *cbb, const struct vigil_ocsp_responder *r,
                   int64_t produced_at, const struct vigil_ocsp_single *singles,
                   size_t num_singles, const uint8_t *nonce, size_t nonce_len) {
  CBB tbs, responder_id, responses, exts_explicit, exts, ext, oid, value, inner;
  if (!CBB_add_asn1(cbb, &tbs, CBS_ASN1_SEQUENCE) ||
      /* byKey [2] EXPLICIT KeyHash (OCTET STRING, SHA-1 of the key bits) */
      !CBB_add_asn1(&tbs, &responder_id, CTX_CONS(2)) ||
      !CBB_add_asn1_octet_string(&responder_id, vigil_key_get0_sha1(r->key),
                                 SHA1_LEN) ||
      !add_gentime(&tbs, CBS_ASN1_GENERALIZEDTIME, produced_at) ||
      !CBB_add_asn1(&tbs, &responses, CBS_ASN1_SEQUENCE)) {
    return 0;
  }
  for (size_t i = 0; i < num_singles; i++) {
    if (!add_single(&responses, &singles[i])) {
      return 0;
    }
  }
  if (!CBB_flush(&tbs)) {
    return 0;
  }
  if (nonce != NULL &&
      (!CBB_add_asn1(&tbs, &exts_explicit, CTX_CONS(1)) ||
       !CBB_add_asn1(&exts_explicit, &exts, CBS_ASN1_SEQUENCE) ||
       !CBB_add_asn1(&exts, &ext, CBS_ASN1_SEQUENCE) ||
       !CBB_add_asn1(&ext, &oid, CBS_ASN1_OBJECT) ||
       !CBB_add_bytes(&oid, kOidOcspNonce, sizeof(kOidOcspNonce)) ||
       /* critical DEFAULT FALSE: omitted. extnValue holds the DER of
        * Nonce ::= OCTET STRING (RFC 8954 2.1). */
       !CBB_add_asn1(&ext, &value, CBS_ASN1_OCTETSTRING) ||
       !CBB_add_asn1(&value, &inner, CBS_ASN1_OCTETSTRING) ||
       !CBB_add_bytes(&inner, nonce, nonce_len))) {
    return 0;
  }
  return CBB_flush(cbb);
}

int vigil_ocsp_response_build(CBB *out,
                              const struct vigil_ocsp_responder *responder,
                              int64_t produced_at,
                              const struct vigil_ocsp_single *singles,
                              size_t num_singles, const uint8_t *nonce,
                              size_t nonce_len) {
  uint8_t sig[VIGIL_KEY_MAX_SIG_LEN];
  size_t sig_len = 0;
  const uint8_t *sig_alg;
  size_t sig_alg_len = 0;
  CBB resp, status, rb_explicit, rb, oid, octets, basic, bits, certs_explicit,
      certs;

  if (!inputs_ok(responder, produced_at, singles, num_singles, nonce,
                 nonce_len)) {
    return 0;
  }
  sig_alg = vigil_key_get0_sig_alg(responder->key, &sig_alg_len);

  /* OCSPResponse { responseStatus successful(0),
   *   responseBytes [0] EXPLICIT { id-pkix-ocsp-basic, OCTET STRING } } */
  if (!CBB_add_asn1(out, &resp, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&resp, &status, CBS_ASN1_ENUMERATED) ||
      !CBB_add_u8(&status, VIGIL_OCSP_SUCCESSFUL) ||
      !CBB_add_asn1(&resp, &rb_explicit, CTX_CONS(0)) ||
      !CBB_add_asn1(&rb_explicit, &rb, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&rb, &oid, CBS_ASN1_OBJECT) ||
      !CBB_add_bytes(&oid, kOidOcspBasic, sizeof(kOidOcspBasic)) ||
      !CBB_add_asn1(&rb, &octets, CBS_ASN1_OCTETSTRING) ||
      !CBB_add_asn1(&octets, &basic, CBS_ASN1_SEQUENCE) ||
      !add_tbs(&basic, responder, produced_at, singles, num_singles, nonce,
               nonce_len) ||
      /* After this flush |basic| holds exactly the final DER of
       * tbsResponseData, which is what gets signed. The pointer stays
       * valid until the next write to the CBB. */
      !CBB_flush(&basic) ||
      !vigil_key_sign(responder->key, sig, &sig_len, sizeof(sig),
                      CBB_data(&basic), CBB_len(&basic))) {
    goto err;
  }

  /* signatureAlgorithm, signature BIT STRING (no unused bits) */
  if (!CBB_add_bytes(&basic, sig_alg, sig_alg_len) ||
      !CBB_add_asn1(&basic, &bits, CBS_ASN1_BITSTRING) ||
      !CBB_add_u8(&bits, 0) || !CBB_add_bytes(&bits, sig, sig_len)) {
    goto err;
  }
  /* certs [0] EXPLICIT SEQUENCE OF Certificate: the delegated responder's
   * certificate, so a relying party can chain it to the CA. */
  if (responder->cert != NULL &&
      (!CBB_add_asn1(&basic, &certs_explicit, CTX_CONS(0)) ||
       !CBB_add_asn1(&certs_explicit, &certs, CBS_ASN1_SEQUENCE) ||
       !CBB_add_bytes(&certs, CBS_data(&responder->cert->der),
                      CBS_len(&responder->cert->der)))) {
    goto err;
  }
  if (!CBB_flush(out)) {
    goto err;
  }
  return 1;

err:
  /* Nothing to release: all scratch is on the stack. */
  return 0;
}

/* ========================================================================
 * Size bound
 * ======================================================================== */

/* der_len returns the size of a DER element with |content| bytes. */
static size_t der_len(size_t content) {
  size_t len_octets = 1;
  if (content > 127) {
    for (size_t n = content; n != 0; n >>= 8) {
      len_octets++;
    }
  }
  return 1 + len_octets + content;
}

size_t vigil_ocsp_response_max_len(const struct vigil_ocsp_responder *responder,
                                   size_t num_singles, size_t nonce_len) {
  size_t sig_alg_len = 0;
  if (responder == NULL || responder->key == NULL || num_singles == 0 ||
      num_singles > VIGIL_OCSP_MAX_SINGLES ||
      (nonce_len != 0 && (nonce_len < VIGIL_OCSP_NONCE_MIN ||
                          nonce_len > VIGIL_OCSP_NONCE_MAX))) {
    return 0;
  }
  (void)vigil_key_get0_sig_alg(responder->key, &sig_alg_len);

  const size_t gentime = der_len(VIGIL_GENTIME_LEN);
  /* revoked [1] { revocationTime, [0] { ENUMERATED } } is the largest
   * certStatus. */
  const size_t status = der_len(gentime + der_len(der_len(1)));
  const size_t single =
      der_len(VIGIL_OCSP_MAX_CERT_ID_DER + status + gentime + der_len(gentime));
  size_t tbs =
      der_len(der_len(SHA1_LEN)) + gentime + der_len(num_singles * single);
  if (nonce_len != 0) {
    tbs += der_len(der_len(
        der_len(der_len(sizeof(kOidOcspNonce)) + der_len(der_len(nonce_len)))));
  }
  tbs = der_len(tbs);
  size_t basic =
      tbs + sig_alg_len + der_len(1 + vigil_key_max_sig_len(responder->key));
  if (responder->cert != NULL) {
    basic += der_len(der_len(CBS_len(&responder->cert->der)));
  }
  basic = der_len(basic);
  const size_t rb = der_len(der_len(sizeof(kOidOcspBasic)) + der_len(basic));
  return der_len(der_len(1) + der_len(rb));
}

/* ========================================================================
 * Error responses
 * ======================================================================== */

const uint8_t *vigil_ocsp_error_response(size_t *out_len,
                                         enum vigil_ocsp_status status) {
  const uint8_t *der = NULL;
  switch (status) {
    case VIGIL_OCSP_MALFORMED_REQUEST:
      der = kErrMalformed;
      break;
    case VIGIL_OCSP_INTERNAL_ERROR:
      der = kErrInternal;
      break;
    case VIGIL_OCSP_TRY_LATER:
      der = kErrTryLater;
      break;
    case VIGIL_OCSP_SIG_REQUIRED:
      der = kErrSigRequired;
      break;
    case VIGIL_OCSP_UNAUTHORIZED:
      der = kErrUnauthorized;
      break;
    case VIGIL_OCSP_SUCCESSFUL:
      break;
  }
  *out_len = der == NULL ? 0 : VIGIL_OCSP_ERROR_RESPONSE_LEN;
  return der;
}
