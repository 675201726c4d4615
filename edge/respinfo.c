/* respinfo.c: inspect pre-signed OCSP responses (see respinfo.h). */
#include "respinfo.h"

#include <string.h>

#include "vigil/timeutil.h"

/* id-pkix-ocsp-basic 1.3.6.1.5.5.7.48.1.1 */
static const uint8_t kOidBasic[] = { 0x2b, 0x06, 0x01, 0x05, 0x05,
                                     0x07, 0x30, 0x01, 0x01 };

static int get_gentime(CBS *cbs, int64_t *out) {
  CBS t;
  return CBS_get_asn1(cbs, &t, CBS_ASN1_GENERALIZEDTIME) &&
         vigil_time_parse_gentime(out, CBS_data(&t), CBS_len(&t));
}

int edge_respinfo_parse(struct edge_respinfo *out, const uint8_t *der,
                        size_t len) {
  CBS in, resp, status, bytes_wrap, bytes, oid, octets, basic, tbs, single;
  CBS responses, responder_id, produced_at, cert_id, cid_copy, hash_alg;
  CBS name_hash, key_hash;
  uint8_t st;
  memset(out, 0, sizeof(*out));

  CBS_init(&in, der, len);
  if (!CBS_get_asn1(&in, &resp, CBS_ASN1_SEQUENCE) || CBS_len(&in) != 0 ||
      !CBS_get_asn1(&resp, &status, CBS_ASN1_ENUMERATED) ||
      CBS_len(&status) != 1 || CBS_data(&status)[0] != 0 ||
      !CBS_get_asn1(&resp, &bytes_wrap,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      CBS_len(&resp) != 0 ||
      !CBS_get_asn1(&bytes_wrap, &bytes, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&bytes, &oid, CBS_ASN1_OBJECT) ||
      !CBS_mem_equal(&oid, kOidBasic, sizeof(kOidBasic)) ||
      !CBS_get_asn1(&bytes, &octets, CBS_ASN1_OCTETSTRING) ||
      CBS_len(&bytes) != 0) {
    return 0;
  }
  /* BasicOCSPResponse ::= SEQUENCE { tbsResponseData, sigAlg, sig, certs } */
  if (!CBS_get_asn1(&octets, &basic, CBS_ASN1_SEQUENCE) ||
      CBS_len(&octets) != 0 || !CBS_get_asn1(&basic, &tbs, CBS_ASN1_SEQUENCE)) {
    return 0;
  }
  /* ResponseData: [0] version OPTIONAL, responderID, producedAt, responses */
  if (CBS_peek_asn1_tag(&tbs,
                        CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0)) {
    CBS version;
    if (!CBS_get_asn1(&tbs, &version,
                      CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0)) {
      return 0;
    }
  }
  unsigned tag;
  if (!CBS_get_any_asn1(&tbs, &responder_id, &tag) ||
      (tag != (CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 1) &&
       tag != (CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 2)) ||
      !CBS_get_asn1(&tbs, &produced_at, CBS_ASN1_GENERALIZEDTIME) ||
      !CBS_get_asn1(&tbs, &responses, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&responses, &single, CBS_ASN1_SEQUENCE) ||
      CBS_len(&responses) != 0) {
    return 0;
  }
  /* SingleResponse ::= SEQUENCE { certID, certStatus, thisUpdate,
   *                               nextUpdate [0] EXPLICIT OPTIONAL, ... } */
  if (!CBS_get_asn1_element(&single, &cert_id, CBS_ASN1_SEQUENCE)) {
    return 0;
  }
  CBS_init(&cid_copy, CBS_data(&cert_id), CBS_len(&cert_id));
  CBS cid;
  if (!CBS_get_asn1(&cid_copy, &cid, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&cid, &hash_alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&cid, &name_hash, CBS_ASN1_OCTETSTRING) ||
      !CBS_get_asn1(&cid, &key_hash, CBS_ASN1_OCTETSTRING) ||
      !CBS_get_asn1(&cid, &out->serial, CBS_ASN1_INTEGER) ||
      CBS_len(&cid) != 0) {
    return 0;
  }
  CBS cert_status;
  if (!CBS_get_any_asn1(&single, &cert_status, &tag)) {
    return 0;
  }
  st = (uint8_t)(tag & 0x1f);
  if ((tag & CBS_ASN1_CONTEXT_SPECIFIC) == 0 || st > 2) {
    return 0;
  }
  out->status = (enum vigil_cert_status)st;
  if (!get_gentime(&single, &out->this_update)) {
    return 0;
  }
  CBS next_wrap;
  if (!CBS_get_asn1(&single, &next_wrap,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      !get_gentime(&next_wrap, &out->next_update) || CBS_len(&next_wrap) != 0 ||
      out->next_update <= out->this_update) {
    return 0;
  }
  out->cert_id = cert_id;
  return 1;
}
