/* edgebench_ocsp.h: OCSP GET requests as a client sends them, for the
 * edge benchmark helpers (bench_edgeload.c, bench_revoke_latency.c).
 *
 * A request is the RFC 6960 4.1.1 OCSPRequest with one SHA-1 CertID (as
 * browsers and OpenSSL send it, AlgorithmIdentifier with NULL parameters)
 * and optionally a nonce extension; its GET path is "/ocsp/" followed by
 * the unpadded base64url of the DER, which the edge accepts (DESIGN.md 4)
 * and which is a safe file name, so nginx can serve the same paths from
 * files. Header-only (static functions): bench/ builds every bench_*.c as
 * its own program and has no library of its own. */
#ifndef EDGEBENCH_OCSP_H
#define EDGEBENCH_OCSP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/bytestring.h>

#include "vigil/b64.h"

/* Largest request built here (one CertID and a nonce: ~110 bytes). */
#define EB_REQ_MAX 256
/* Largest path: "/ocsp/" + base64url of EB_REQ_MAX bytes. */
#define EB_PATH_MAX (8 + 2 * EB_REQ_MAX)
/* Nonce length used by the helpers. */
#define EB_NONCE_LEN 16

/* eb_build_request writes the DER OCSPRequest for the certificate with
 * serial |serial| (INTEGER contents, |serial_len| bytes) issued by the CA
 * whose subject Name and public key bits hash (SHA-1) to |name_sha1| and
 * |key_sha1|, with an EB_NONCE_LEN-byte nonce if |nonce| is non-NULL, to
 * |out| (EB_REQ_MAX bytes). Returns its length, or 0 if it does not fit. */
static inline size_t eb_build_request(uint8_t *out, const uint8_t name_sha1[20],
                                      const uint8_t key_sha1[20],
                                      const uint8_t *serial, size_t serial_len,
                                      const uint8_t *nonce) {
  static const uint8_t kSha1AlgId[] = { 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                        0x03, 0x02, 0x1a, 0x05, 0x00 };
  static const uint8_t kNonceOid[] = { 0x2b, 0x06, 0x01, 0x05, 0x05,
                                       0x07, 0x30, 0x01, 0x02 };
  CBB cbb, req, tbs, list, one, certid, oct, exts0, exts, ext, val, inner;
  size_t len = 0;
  if (!CBB_init_fixed(&cbb, out, EB_REQ_MAX) ||
      !CBB_add_asn1(&cbb, &req, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&req, &tbs, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&tbs, &list, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&list, &one, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&one, &certid, CBS_ASN1_SEQUENCE) ||
      !CBB_add_bytes(&certid, kSha1AlgId, sizeof(kSha1AlgId)) ||
      !CBB_add_asn1(&certid, &oct, CBS_ASN1_OCTETSTRING) ||
      !CBB_add_bytes(&oct, name_sha1, 20) ||
      !CBB_add_asn1(&certid, &oct, CBS_ASN1_OCTETSTRING) ||
      !CBB_add_bytes(&oct, key_sha1, 20) ||
      !CBB_add_asn1(&certid, &oct, CBS_ASN1_INTEGER) ||
      !CBB_add_bytes(&oct, serial, serial_len) || !CBB_flush(&tbs)) {
    goto err;
  }
  if (nonce != NULL) {
    if (!CBB_add_asn1(&tbs, &exts0,
                      CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 2) ||
        !CBB_add_asn1(&exts0, &exts, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&exts, &ext, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&ext, &val, CBS_ASN1_OBJECT) ||
        !CBB_add_bytes(&val, kNonceOid, sizeof(kNonceOid)) ||
        !CBB_add_asn1(&ext, &val, CBS_ASN1_OCTETSTRING) ||
        !CBB_add_asn1(&val, &inner, CBS_ASN1_OCTETSTRING) ||
        !CBB_add_bytes(&inner, nonce, EB_NONCE_LEN)) {
      goto err;
    }
  }
  if (!CBB_finish(&cbb, NULL, &len)) {
    goto err;
  }
  return len;
err:
  CBB_cleanup(&cbb);
  return 0;
}

/* eb_path_of writes "/ocsp/{base64url of |der|}" (no NUL) to |out|
 * (EB_PATH_MAX bytes, |der_len| <= EB_REQ_MAX) and returns its length. */
static inline size_t eb_path_of(char *out, const uint8_t *der, size_t der_len) {
  memcpy(out, "/ocsp/", 6);
  return 6 + vigil_b64url_encode(out + 6, der, der_len);
}

#endif /* EDGEBENCH_OCSP_H */
