/* ocsp_request.c: strict, bounded, zero-copy OCSPRequest parser (RFC 6960
 * 4.1). The rules it enforces and why are in vigil/ocsp_request.h; this
 * file walks the DER with BoringSSL's CBS, which already refuses BER
 * (indefinite and non-minimal lengths). On a framing failure a cold
 * classifier re-reads the offending header to say which rule broke.
 *
 *   OCSPRequest ::= SEQUENCE {
 *     tbsRequest                  TBSRequest,
 *     optionalSignature   [0]     EXPLICIT Signature OPTIONAL }
 *   TBSRequest ::= SEQUENCE {
 *     version             [0]     EXPLICIT Version DEFAULT v1,
 *     requestorName       [1]     EXPLICIT GeneralName OPTIONAL,
 *     requestList                 SEQUENCE OF Request,
 *     requestExtensions   [2]     EXPLICIT Extensions OPTIONAL }
 *   Request ::= SEQUENCE {
 *     reqCert                     CertID,
 *     singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
 *   CertID ::= SEQUENCE {
 *     hashAlgorithm       AlgorithmIdentifier,
 *     issuerNameHash      OCTET STRING,
 *     issuerKeyHash       OCTET STRING,
 *     serialNumber        CertificateSerialNumber }
 */
#include "vigil/ocsp_request.h"

#include <string.h>

#define UNLIKELY(x) __builtin_expect(!!(x), 0)

#define TAG_CTX_CONS(n) (CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | (n))

/* OID contents (without tag and length). */
static const uint8_t kOidSha1[] = { 0x2b, 0x0e, 0x03, 0x02, 0x1a };
static const uint8_t kOidSha256[] = { 0x60, 0x86, 0x48, 0x01, 0x65,
                                      0x03, 0x04, 0x02, 0x01 };
/* id-pkix-ocsp-nonce 1.3.6.1.5.5.7.48.1.2 */
static const uint8_t kOidNonce[] = { 0x2b, 0x06, 0x01, 0x05, 0x05,
                                     0x07, 0x30, 0x01, 0x02 };
/* id-pkix-ocsp-response 1.3.6.1.5.5.7.48.1.4 (acceptable responses) */
static const uint8_t kOidAcceptable[] = { 0x2b, 0x06, 0x01, 0x05, 0x05,
                                          0x07, 0x30, 0x01, 0x04 };

#define SHA1_LEN   20
#define SHA256_LEN 32

static int cbs_is(const CBS *cbs, const uint8_t *data, size_t len) {
  return CBS_len(cbs) == len && memcmp(CBS_data(cbs), data, len) == 0;
}

/* --- Framing ------------------------------------------------------------- */

/* framing_error says why an element with tag |want| could not be read at
 * |at| (a copy of the CBS taken before the failed read). Only called on
 * failure. Every tag this parser asks for has a number below 31, so it
 * fits the single identifier octet compared here. */
__attribute__((cold, noinline)) static enum vigil_ocsp_req_result framing_error(
    const CBS *at, unsigned want) {
  const uint8_t *p = CBS_data(at);
  size_t n = CBS_len(at);
  if (n == 0) {
    return VIGIL_OCSP_REQ_TRUNCATED;
  }
  uint8_t want_byte = (uint8_t)((want >> CBS_ASN1_TAG_SHIFT) |
                                (want & CBS_ASN1_TAG_NUMBER_MASK));
  if (p[0] != want_byte) {
    return VIGIL_OCSP_REQ_BAD_TAG;
  }
  if (n < 2) {
    return VIGIL_OCSP_REQ_TRUNCATED;
  }
  size_t i = 2;
  size_t len = p[1];
  if (len == 0x80) {
    return VIGIL_OCSP_REQ_BAD_LENGTH; /* indefinite length */
  }
  if (len > 0x80) {
    size_t num_bytes = len & 0x7f;
    if (num_bytes > n - i) {
      return VIGIL_OCSP_REQ_TRUNCATED;
    }
    if (p[i] == 0) {
      return VIGIL_OCSP_REQ_BAD_LENGTH; /* leading zero octet */
    }
    if (num_bytes > 4) {
      return VIGIL_OCSP_REQ_TRUNCATED; /* >= 2^32: far beyond the input */
    }
    len = 0;
    for (size_t k = 0; k < num_bytes; k++) {
      len = (len << 8) | p[i + k];
    }
    i += num_bytes;
    if (len < 0x80) {
      return VIGIL_OCSP_REQ_BAD_LENGTH; /* long form for a short length */
    }
  }
  if (len > n - i) {
    return VIGIL_OCSP_REQ_TRUNCATED;
  }
  /* The header looks sound, yet CBS refused it: count it as a tag fault. */
  return VIGIL_OCSP_REQ_BAD_TAG;
}

/* get_asn1 reads one element with tag |tag| from |cbs| into |out|
 * (contents only), or says why not. */
static enum vigil_ocsp_req_result get_asn1(CBS *cbs, CBS *out, unsigned tag) {
  CBS at = *cbs;
  if (UNLIKELY(!CBS_get_asn1(cbs, out, tag))) {
    return framing_error(&at, tag);
  }
  return VIGIL_OCSP_REQ_OK;
}

/* get_asn1_element is get_asn1 keeping the header in |out_element| and
 * the contents in |out_contents|, in one pass over the header. */
static enum vigil_ocsp_req_result get_asn1_element(CBS *cbs, CBS *out_element,
                                                   CBS *out_contents,
                                                   unsigned tag) {
  CBS at = *cbs;
  unsigned got;
  size_t header_len;
  if (UNLIKELY(!CBS_get_any_asn1_element(cbs, out_element, &got, &header_len) ||
               got != tag)) {
    return framing_error(&at, tag);
  }
  *out_contents = *out_element;
  if (!CBS_skip(out_contents, header_len)) {
    return framing_error(&at, tag); /* cannot happen: the header was read */
  }
  return VIGIL_OCSP_REQ_OK;
}

/* oid_valid checks OID contents: non-empty, last arc terminated, and no
 * arc with a leading 0x80 octet (non-minimal), so that equal OIDs are equal
 * bytes and the duplicate check cannot be dodged. */
static int oid_valid(const CBS *oid) {
  const uint8_t *p = CBS_data(oid);
  size_t n = CBS_len(oid);
  if (n == 0 || (p[n - 1] & 0x80) != 0) {
    return 0;
  }
  int arc_start = 1;
  for (size_t i = 0; i < n; i++) {
    if (arc_start && p[i] == 0x80) {
      return 0;
    }
    arc_start = (p[i] & 0x80) == 0;
  }
  return 1;
}

/* --- Extensions ---------------------------------------------------------- */

static enum vigil_ocsp_req_result parse_nonce(struct vigil_ocsp_request *req,
                                              CBS *value) {
  CBS nonce;
  if (CBS_len(value) == 0) {
    return VIGIL_OCSP_REQ_NONCE_EMPTY;
  }
  if (!CBS_get_asn1(value, &nonce, CBS_ASN1_OCTETSTRING) ||
      CBS_len(value) != 0) {
    return VIGIL_OCSP_REQ_BAD_NONCE;
  }
  if (CBS_len(&nonce) < VIGIL_OCSP_NONCE_MIN) {
    return VIGIL_OCSP_REQ_NONCE_EMPTY;
  }
  if (CBS_len(&nonce) > VIGIL_OCSP_NONCE_MAX) {
    return VIGIL_OCSP_REQ_NONCE_TOO_LONG;
  }
  req->has_nonce = 1;
  req->nonce = nonce;
  return VIGIL_OCSP_REQ_OK;
}

/* parse_extensions walks the contents of an Extensions SEQUENCE. |req| is
 * the request for requestExtensions (where the nonce lives) and NULL for
 * singleRequestExtensions (where we know no extension). */
static enum vigil_ocsp_req_result parse_extensions(
    struct vigil_ocsp_request *req, CBS *exts) {
  CBS seen[VIGIL_OCSP_REQ_MAX_EXTENSIONS];
  size_t num_seen = 0;
  enum vigil_ocsp_req_result r;
  if (CBS_len(exts) == 0) {
    return VIGIL_OCSP_REQ_BAD_EXTENSION; /* SIZE (1..MAX) */
  }
  while (CBS_len(exts) > 0) {
    CBS ext, oid, value;
    int critical = 0;
    if (num_seen == VIGIL_OCSP_REQ_MAX_EXTENSIONS) {
      return VIGIL_OCSP_REQ_TOO_MANY_EXTENSIONS;
    }
    if ((r = get_asn1(exts, &ext, CBS_ASN1_SEQUENCE)) != VIGIL_OCSP_REQ_OK ||
        (r = get_asn1(&ext, &oid, CBS_ASN1_OBJECT)) != VIGIL_OCSP_REQ_OK) {
      return r;
    }
    if (!oid_valid(&oid)) {
      return VIGIL_OCSP_REQ_BAD_EXTENSION;
    }
    if (CBS_peek_asn1_tag(&ext, CBS_ASN1_BOOLEAN)) {
      CBS flag;
      if ((r = get_asn1(&ext, &flag, CBS_ASN1_BOOLEAN)) != VIGIL_OCSP_REQ_OK) {
        return r;
      }
      /* DER BOOLEAN: one octet, 0x00 or 0xff. FALSE written out is
       * tolerated (see the header). */
      if (CBS_len(&flag) != 1 ||
          (CBS_data(&flag)[0] != 0x00 && CBS_data(&flag)[0] != 0xff)) {
        return VIGIL_OCSP_REQ_BAD_EXTENSION;
      }
      critical = CBS_data(&flag)[0] == 0xff;
    }
    if ((r = get_asn1(&ext, &value, CBS_ASN1_OCTETSTRING)) !=
        VIGIL_OCSP_REQ_OK) {
      return r;
    }
    if (CBS_len(&ext) != 0) {
      return VIGIL_OCSP_REQ_TRAILING_DATA;
    }
    for (size_t i = 0; i < num_seen; i++) {
      if (cbs_is(&seen[i], CBS_data(&oid), CBS_len(&oid))) {
        return VIGIL_OCSP_REQ_DUPLICATE_EXTENSION;
      }
    }
    seen[num_seen++] = oid;

    if (req != NULL && cbs_is(&oid, kOidNonce, sizeof(kOidNonce))) {
      if ((r = parse_nonce(req, &value)) != VIGIL_OCSP_REQ_OK) {
        return r;
      }
    } else if (req != NULL &&
               cbs_is(&oid, kOidAcceptable, sizeof(kOidAcceptable))) {
      /* We always answer with id-pkix-ocsp-basic, which RFC 6960 4.4.3
       * requires every client to accept: nothing to do. */
    } else if (critical) {
      return VIGIL_OCSP_REQ_UNKNOWN_CRITICAL_EXTENSION;
    }
  }
  return VIGIL_OCSP_REQ_OK;
}

/* parse_explicit_extensions reads an optional [tag] EXPLICIT Extensions. */
static enum vigil_ocsp_req_result parse_explicit_extensions(
    struct vigil_ocsp_request *req, CBS *cbs, unsigned tag) {
  CBS wrap, exts;
  enum vigil_ocsp_req_result r;
  if (!CBS_peek_asn1_tag(cbs, tag)) {
    return VIGIL_OCSP_REQ_OK;
  }
  if ((r = get_asn1(cbs, &wrap, tag)) != VIGIL_OCSP_REQ_OK ||
      (r = get_asn1(&wrap, &exts, CBS_ASN1_SEQUENCE)) != VIGIL_OCSP_REQ_OK) {
    return r;
  }
  if (CBS_len(&wrap) != 0) {
    return VIGIL_OCSP_REQ_TRAILING_DATA;
  }
  return parse_extensions(req, &exts);
}

/* --- Opaque fields ------------------------------------------------------- */

/* general_name_ok checks the contents of requestorName [1]: exactly one
 * GeneralName, i.e. one element tagged [0]..[8]. */
static int general_name_ok(CBS *name) {
  unsigned tag;
  if (!CBS_get_any_asn1_element(name, NULL, &tag, NULL) || CBS_len(name) != 0) {
    return 0;
  }
  return (tag & CBS_ASN1_CLASS_MASK) == CBS_ASN1_CONTEXT_SPECIFIC &&
         (tag & CBS_ASN1_TAG_NUMBER_MASK) <= 8;
}

/* signature_ok checks the contents of optionalSignature [0]:
 *   Signature ::= SEQUENCE { signatureAlgorithm AlgorithmIdentifier,
 *     signature BIT STRING, certs [0] EXPLICIT SEQUENCE OF Certificate
 *     OPTIONAL }
 * The shape only: the signature is not verified (see the header). */
static int signature_ok(CBS *wrap) {
  CBS sig, alg, oid, bits;
  if (!CBS_get_asn1(wrap, &sig, CBS_ASN1_SEQUENCE) || CBS_len(wrap) != 0 ||
      !CBS_get_asn1(&sig, &alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&alg, &oid, CBS_ASN1_OBJECT) || !oid_valid(&oid)) {
    return 0;
  }
  /* At most one parameters element of any type. */
  if (CBS_len(&alg) != 0 &&
      (!CBS_get_any_asn1_element(&alg, NULL, NULL, NULL) ||
       CBS_len(&alg) != 0)) {
    return 0;
  }
  if (!CBS_get_asn1(&sig, &bits, CBS_ASN1_BITSTRING) ||
      !CBS_is_valid_asn1_bitstring(&bits)) {
    return 0;
  }
  if (CBS_peek_asn1_tag(&sig, TAG_CTX_CONS(0))) {
    CBS certs_wrap, certs;
    if (!CBS_get_asn1(&sig, &certs_wrap, TAG_CTX_CONS(0)) ||
        !CBS_get_asn1(&certs_wrap, &certs, CBS_ASN1_SEQUENCE) ||
        CBS_len(&certs_wrap) != 0) {
      return 0;
    }
    while (CBS_len(&certs) > 0) {
      if (!CBS_get_asn1(&certs, NULL, CBS_ASN1_SEQUENCE)) {
        return 0;
      }
    }
  }
  return CBS_len(&sig) == 0;
}

/* --- CertID and Request -------------------------------------------------- */

static enum vigil_ocsp_req_result parse_cert_id(struct vigil_ocsp_cert_id *id,
                                                CBS *cbs) {
  CBS cert_id, alg, oid;
  size_t hash_len;
  enum vigil_ocsp_req_result r;
  if ((r = get_asn1_element(cbs, &id->der, &cert_id, CBS_ASN1_SEQUENCE)) !=
          VIGIL_OCSP_REQ_OK ||
      (r = get_asn1(&cert_id, &alg, CBS_ASN1_SEQUENCE)) != VIGIL_OCSP_REQ_OK ||
      (r = get_asn1(&alg, &oid, CBS_ASN1_OBJECT)) != VIGIL_OCSP_REQ_OK) {
    return r;
  }
  if (cbs_is(&oid, kOidSha1, sizeof(kOidSha1))) {
    id->hash = VIGIL_OCSP_HASH_SHA1;
    hash_len = SHA1_LEN;
  } else if (cbs_is(&oid, kOidSha256, sizeof(kOidSha256))) {
    id->hash = VIGIL_OCSP_HASH_SHA256;
    hash_len = SHA256_LEN;
  } else {
    return VIGIL_OCSP_REQ_UNKNOWN_HASH_ALG;
  }
  if (CBS_len(&alg) != 0) {
    CBS null;
    if (!CBS_get_asn1(&alg, &null, CBS_ASN1_NULL) || CBS_len(&null) != 0 ||
        CBS_len(&alg) != 0) {
      return VIGIL_OCSP_REQ_BAD_HASH_PARAMS;
    }
  }
  if ((r = get_asn1(&cert_id, &id->name_hash, CBS_ASN1_OCTETSTRING)) !=
      VIGIL_OCSP_REQ_OK) {
    return r;
  }
  if (CBS_len(&id->name_hash) != hash_len) {
    return VIGIL_OCSP_REQ_BAD_HASH_LEN;
  }
  if ((r = get_asn1(&cert_id, &id->key_hash, CBS_ASN1_OCTETSTRING)) !=
      VIGIL_OCSP_REQ_OK) {
    return r;
  }
  if (CBS_len(&id->key_hash) != hash_len) {
    return VIGIL_OCSP_REQ_BAD_HASH_LEN;
  }
  if ((r = get_asn1(&cert_id, &id->serial, CBS_ASN1_INTEGER)) !=
      VIGIL_OCSP_REQ_OK) {
    return r;
  }
  /* Rejects empty and non-minimal INTEGERs; the sign is not checked. */
  if (!CBS_is_valid_asn1_integer(&id->serial, NULL) ||
      CBS_len(&id->serial) > VIGIL_OCSP_MAX_SERIAL) {
    return VIGIL_OCSP_REQ_BAD_SERIAL;
  }
  if (CBS_len(&cert_id) != 0) {
    return VIGIL_OCSP_REQ_TRAILING_DATA;
  }
  return VIGIL_OCSP_REQ_OK;
}

static enum vigil_ocsp_req_result parse_single_request(
    struct vigil_ocsp_cert_id *id, CBS *list) {
  CBS request;
  enum vigil_ocsp_req_result r;
  if ((r = get_asn1(list, &request, CBS_ASN1_SEQUENCE)) != VIGIL_OCSP_REQ_OK ||
      (r = parse_cert_id(id, &request)) != VIGIL_OCSP_REQ_OK ||
      (r = parse_explicit_extensions(NULL, &request, TAG_CTX_CONS(0))) !=
          VIGIL_OCSP_REQ_OK) {
    return r;
  }
  if (CBS_len(&request) != 0) {
    return VIGIL_OCSP_REQ_TRAILING_DATA;
  }
  return VIGIL_OCSP_REQ_OK;
}

/* --- TBSRequest and OCSPRequest ------------------------------------------ */

static enum vigil_ocsp_req_result parse_tbs(struct vigil_ocsp_request *req,
                                            CBS *tbs) {
  CBS list;
  enum vigil_ocsp_req_result r;
  if (CBS_peek_asn1_tag(tbs, TAG_CTX_CONS(0))) {
    CBS wrap, version;
    if ((r = get_asn1(tbs, &wrap, TAG_CTX_CONS(0))) != VIGIL_OCSP_REQ_OK ||
        (r = get_asn1(&wrap, &version, CBS_ASN1_INTEGER)) !=
            VIGIL_OCSP_REQ_OK) {
      return r;
    }
    /* v1(0) is the only version; DER encodes 0 as the single octet 00. */
    if (CBS_len(&version) != 1 || CBS_data(&version)[0] != 0) {
      return VIGIL_OCSP_REQ_BAD_VERSION;
    }
    if (CBS_len(&wrap) != 0) {
      return VIGIL_OCSP_REQ_TRAILING_DATA;
    }
  }
  if (CBS_peek_asn1_tag(tbs, TAG_CTX_CONS(1))) {
    CBS name;
    if ((r = get_asn1(tbs, &name, TAG_CTX_CONS(1))) != VIGIL_OCSP_REQ_OK) {
      return r;
    }
    if (!general_name_ok(&name)) {
      return VIGIL_OCSP_REQ_BAD_REQUESTOR_NAME;
    }
    req->has_requestor_name = 1;
  }
  if ((r = get_asn1(tbs, &list, CBS_ASN1_SEQUENCE)) != VIGIL_OCSP_REQ_OK) {
    return r;
  }
  if (CBS_len(&list) == 0) {
    return VIGIL_OCSP_REQ_NO_REQUESTS;
  }
  while (CBS_len(&list) > 0) {
    if (req->num_ids == VIGIL_OCSP_MAX_REQUESTS) {
      return VIGIL_OCSP_REQ_TOO_MANY_REQUESTS;
    }
    if ((r = parse_single_request(&req->ids[req->num_ids], &list)) !=
        VIGIL_OCSP_REQ_OK) {
      return r;
    }
    req->num_ids++;
  }
  if ((r = parse_explicit_extensions(req, tbs, TAG_CTX_CONS(2))) !=
      VIGIL_OCSP_REQ_OK) {
    return r;
  }
  if (CBS_len(tbs) != 0) {
    return VIGIL_OCSP_REQ_TRAILING_DATA;
  }
  return VIGIL_OCSP_REQ_OK;
}

static enum vigil_ocsp_req_result parse_request(struct vigil_ocsp_request *req,
                                                const uint8_t *der,
                                                size_t der_len) {
  CBS in, ocsp_req, tbs;
  enum vigil_ocsp_req_result r;
  CBS_init(&in, der, der_len);
  if ((r = get_asn1(&in, &ocsp_req, CBS_ASN1_SEQUENCE)) != VIGIL_OCSP_REQ_OK) {
    return r;
  }
  if (CBS_len(&in) != 0) {
    return VIGIL_OCSP_REQ_TRAILING_DATA;
  }
  if ((r = get_asn1_element(&ocsp_req, &req->tbs, &tbs, CBS_ASN1_SEQUENCE)) !=
          VIGIL_OCSP_REQ_OK ||
      (r = parse_tbs(req, &tbs)) != VIGIL_OCSP_REQ_OK) {
    return r;
  }
  if (CBS_peek_asn1_tag(&ocsp_req, TAG_CTX_CONS(0))) {
    CBS sig;
    if ((r = get_asn1(&ocsp_req, &sig, TAG_CTX_CONS(0))) != VIGIL_OCSP_REQ_OK) {
      return r;
    }
    if (!signature_ok(&sig)) {
      return VIGIL_OCSP_REQ_BAD_SIGNATURE;
    }
    req->is_signed = 1;
  }
  if (CBS_len(&ocsp_req) != 0) {
    return VIGIL_OCSP_REQ_TRAILING_DATA;
  }
  return VIGIL_OCSP_REQ_OK;
}

/* --- The common request, without the general walk ------------------------ */

/* The hashAlgorithm AlgorithmIdentifiers parse_plain recognises, whole
 * (tag, length, OID, and the NULL parameters where present). */
static const uint8_t kAlgSha1Null[] = { 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                        0x03, 0x02, 0x1a, 0x05, 0x00 };
static const uint8_t kAlgSha1[] = { 0x30, 0x07, 0x06, 0x05, 0x2b,
                                    0x0e, 0x03, 0x02, 0x1a };
static const uint8_t kAlgSha256Null[] = { 0x30, 0x0d, 0x06, 0x09, 0x60,
                                          0x86, 0x48, 0x01, 0x65, 0x03,
                                          0x04, 0x02, 0x01, 0x05, 0x00 };
static const uint8_t kAlgSha256[] = { 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48,
                                      0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };

/* One hashAlgorithm form parse_plain knows. */
struct plain_alg {
  const uint8_t *der;        /* the whole AlgorithmIdentifier element */
  size_t len;                /* its length */
  enum vigil_ocsp_hash hash; /* what it names */
};

static const struct plain_alg kPlainAlgs[] = {
  { kAlgSha1Null, sizeof(kAlgSha1Null), VIGIL_OCSP_HASH_SHA1 },
  { kAlgSha1, sizeof(kAlgSha1), VIGIL_OCSP_HASH_SHA1 },
  { kAlgSha256Null, sizeof(kAlgSha256Null), VIGIL_OCSP_HASH_SHA256 },
  { kAlgSha256, sizeof(kAlgSha256), VIGIL_OCSP_HASH_SHA256 },
};

/* Offset of the CertID's contents in a plain request: four SEQUENCE
 * headers (OCSPRequest, TBSRequest, requestList, Request) and the CertID's
 * own, each two octets. */
#define PLAIN_CERT_ID_BODY 10

/* Identifier octets as they appear on the wire (CBS_ASN1_* constants keep
 * the constructed bit elsewhere). */
#define DER_SEQUENCE     0x30
#define DER_OCTET_STRING 0x04
#define DER_INTEGER      0x02

/* parse_plain recognises the request nearly every client sends -- one
 * CertID, no version, requestorName, extensions or signature, every
 * length in short form -- by comparing octets at fixed places instead of
 * walking the DER. It returns 1 with |req| filled exactly as parse_request
 * would fill it, or 0 without touching |req| for anything else (parse_request
 * then decides, so every error keeps its code). It only accepts what
 * parse_request accepts: each test below is one of parse_request's rules
 * read at a known position (fuzz_ocsp_request checks that they agree). */
static int parse_plain(struct vigil_ocsp_request *req, const uint8_t *p,
                       size_t n) {
  /* Five nested SEQUENCEs, each the only thing in its parent (no
   * signature, no requestExtensions, one Request, no
   * singleRequestExtensions), so each length is what is left. */
  if (n < PLAIN_CERT_ID_BODY || n - 2 >= 0x80) {
    return 0;
  }
  for (size_t i = 0; i < PLAIN_CERT_ID_BODY; i += 2) {
    if (p[i] != DER_SEQUENCE || p[i + 1] != n - i - 2) {
      return 0;
    }
  }
  const uint8_t *q = p + PLAIN_CERT_ID_BODY;
  const uint8_t *end = p + n;
  const struct plain_alg *alg = NULL;
  for (size_t i = 0; i < sizeof(kPlainAlgs) / sizeof(kPlainAlgs[0]); i++) {
    const struct plain_alg *a = &kPlainAlgs[i];
    if ((size_t)(end - q) >= a->len && memcmp(q, a->der, a->len) == 0) {
      alg = a;
      break;
    }
  }
  if (alg == NULL) {
    return 0;
  }
  enum vigil_ocsp_hash hash = alg->hash;
  size_t hash_len = hash == VIGIL_OCSP_HASH_SHA1 ? SHA1_LEN : SHA256_LEN;
  q += alg->len;
  /* issuerNameHash, issuerKeyHash, then the serial's tag and length. */
  if ((size_t)(end - q) < 2 * (2 + hash_len) + 2 || q[0] != DER_OCTET_STRING ||
      q[1] != hash_len || q[2 + hash_len] != DER_OCTET_STRING ||
      q[3 + hash_len] != hash_len) {
    return 0;
  }
  const uint8_t *name_hash = q + 2;
  const uint8_t *key_hash = q + 4 + hash_len;
  q += 2 * (2 + hash_len);
  /* serialNumber: the rest; a minimal DER INTEGER (CBS_is_valid_asn1_integer:
   * not empty, no redundant leading 0x00 or 0xff octet). */
  size_t serial_len = q[1];
  if (q[0] != DER_INTEGER || serial_len != (size_t)(end - q) - 2 ||
      serial_len == 0 || serial_len > VIGIL_OCSP_MAX_SERIAL) {
    return 0;
  }
  const uint8_t *serial = q + 2;
  if (serial_len > 1 && ((serial[0] == 0x00 && !(serial[1] & 0x80)) ||
                         (serial[0] == 0xff && (serial[1] & 0x80)))) {
    return 0;
  }
  struct vigil_ocsp_cert_id *id = &req->ids[0];
  CBS_init(&req->tbs, p + 2, n - 2);
  CBS_init(&id->der, p + 8, n - 8);
  id->hash = hash;
  CBS_init(&id->name_hash, name_hash, hash_len);
  CBS_init(&id->key_hash, key_hash, hash_len);
  CBS_init(&id->serial, serial, serial_len);
  req->num_ids = 1;
  return 1;
}

/* reset clears the fields a caller may look at after any result. ids[] is
 * left alone: zeroing 16 CertIDs (1.2 KiB, a `rep stos`) cost ~15% of a
 * whole parse in bench_ocsp_parse, and only ids[0..num_ids) have meaning. */
static void reset(struct vigil_ocsp_request *req) {
  req->num_ids = 0;
  req->has_nonce = 0;
  CBS_init(&req->nonce, NULL, 0);
  req->has_requestor_name = 0;
  req->is_signed = 0;
  CBS_init(&req->tbs, NULL, 0);
}

/* parse_top is both entry points: the size cap, then (with |plain|) the
 * fast path, then the general walk; any failure resets |out|. */
static enum vigil_ocsp_req_result parse_top(struct vigil_ocsp_request *out,
                                            const uint8_t *der, size_t der_len,
                                            int plain) {
  enum vigil_ocsp_req_result r;
  reset(out);
  if (UNLIKELY(der_len > VIGIL_OCSP_REQUEST_MAX_DER)) {
    return VIGIL_OCSP_REQ_TOO_LARGE;
  }
  if (plain && der_len > 0 && parse_plain(out, der, der_len)) {
    return VIGIL_OCSP_REQ_OK;
  }
  r = parse_request(out, der, der_len);
  if (UNLIKELY(r != VIGIL_OCSP_REQ_OK)) {
    reset(out);
  }
  return r;
}

enum vigil_ocsp_req_result vigil_ocsp_request_parse(
    struct vigil_ocsp_request *out, const uint8_t *der, size_t der_len) {
  return parse_top(out, der, der_len, 1);
}

int vigil_ocsp_request_is_plain(const uint8_t *der, size_t der_len) {
  struct vigil_ocsp_request scratch;
  return der_len > 0 && der_len <= VIGIL_OCSP_REQUEST_MAX_DER &&
         parse_plain(&scratch, der, der_len);
}

enum vigil_ocsp_req_result vigil_ocsp_request_parse_general(
    struct vigil_ocsp_request *out, const uint8_t *der, size_t der_len) {
  return parse_top(out, der, der_len, 0);
}

const char *vigil_ocsp_req_result_string(enum vigil_ocsp_req_result r) {
  switch (r) {
    case VIGIL_OCSP_REQ_OK:
      return "ok";
    case VIGIL_OCSP_REQ_TOO_LARGE:
      return "too_large";
    case VIGIL_OCSP_REQ_TRUNCATED:
      return "truncated";
    case VIGIL_OCSP_REQ_BAD_LENGTH:
      return "bad_length";
    case VIGIL_OCSP_REQ_BAD_TAG:
      return "bad_tag";
    case VIGIL_OCSP_REQ_TRAILING_DATA:
      return "trailing_data";
    case VIGIL_OCSP_REQ_BAD_VERSION:
      return "bad_version";
    case VIGIL_OCSP_REQ_BAD_REQUESTOR_NAME:
      return "bad_requestor_name";
    case VIGIL_OCSP_REQ_NO_REQUESTS:
      return "no_requests";
    case VIGIL_OCSP_REQ_TOO_MANY_REQUESTS:
      return "too_many_requests";
    case VIGIL_OCSP_REQ_UNKNOWN_HASH_ALG:
      return "unknown_hash_alg";
    case VIGIL_OCSP_REQ_BAD_HASH_PARAMS:
      return "bad_hash_params";
    case VIGIL_OCSP_REQ_BAD_HASH_LEN:
      return "bad_hash_len";
    case VIGIL_OCSP_REQ_BAD_SERIAL:
      return "bad_serial";
    case VIGIL_OCSP_REQ_BAD_EXTENSION:
      return "bad_extension";
    case VIGIL_OCSP_REQ_TOO_MANY_EXTENSIONS:
      return "too_many_extensions";
    case VIGIL_OCSP_REQ_DUPLICATE_EXTENSION:
      return "duplicate_extension";
    case VIGIL_OCSP_REQ_UNKNOWN_CRITICAL_EXTENSION:
      return "unknown_critical_extension";
    case VIGIL_OCSP_REQ_BAD_NONCE:
      return "bad_nonce";
    case VIGIL_OCSP_REQ_NONCE_EMPTY:
      return "nonce_empty";
    case VIGIL_OCSP_REQ_NONCE_TOO_LONG:
      return "nonce_too_long";
    case VIGIL_OCSP_REQ_BAD_SIGNATURE:
      return "bad_signature";
  }
  return "invalid";
}
