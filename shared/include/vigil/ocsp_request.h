/* ocsp_request.h: the edge's strict, bounded, zero-copy parser for DER
 * OCSPRequest messages (RFC 6960 4.1; SHA-256 CertIDs per RFC 9919; nonce
 * per RFC 8954 / RFC 9654).
 *
 * It runs once per request on the edge's hot path, so it never allocates:
 * every output is a CBS view into the caller's buffer, valid as long as
 * that buffer is. Input is outside input from anyone on the internet, so
 * every count and length is bounded, and each way a request can be refused
 * has its own result code (the edge counts them in metrics and answers all
 * of them with an unsigned malformedRequest).
 *
 * What is accepted (decisions, each covered by a test):
 *  - Strict DER framing: definite, minimal lengths; no indefinite lengths,
 *    no constructed strings, no data after the request or after the last
 *    field of any SEQUENCE. The whole input is at most
 *    VIGIL_OCSP_REQUEST_MAX_DER bytes (the POST body cap).
 *  - version: absent, or present with the value v1(0). DER says a DEFAULT
 *    value is omitted, but some encoders write it out; the meaning is not in
 *    doubt, so we accept it. Any other value is BAD_VERSION. Likewise an
 *    Extension's critical flag written out as FALSE is accepted.
 *  - requestorName [1]: accepted and skipped after a shape check (one
 *    context-tagged GeneralName); has_requestor_name is set.
 *  - requestList: 1..VIGIL_OCSP_MAX_REQUESTS entries.
 *  - CertID hashAlgorithm: SHA-1 (1.3.14.3.2.26) or SHA-256
 *    (2.16.840.1.101.3.4.2.1); parameters absent or NULL. issuerNameHash and
 *    issuerKeyHash must be exactly 20 (SHA-1) or 32 (SHA-256) octets.
 *  - serialNumber: a valid DER INTEGER (minimal encoding) of
 *    1..VIGIL_OCSP_MAX_SERIAL content octets. Zero and negative serials are
 *    accepted as structure: no certificate we issue has one, so the lookup
 *    simply finds nothing (the edge answers unauthorized / unknown).
 *  - Extensions (request and single-request): 1..VIGIL_OCSP_REQ_MAX_EXTENSIONS
 *    per list (an empty list breaks SIZE (1..MAX): BAD_EXTENSION), OIDs
 *    validly encoded, no OID twice in one list. Unknown
 *    non-critical extensions are ignored, unknown critical ones refused.
 *    Known in requestExtensions: id-pkix-ocsp-nonce (parsed) and
 *    id-pkix-ocsp-response (acceptable response types; we always answer
 *    with the basic type, so it is accepted and ignored). No
 *    singleRequestExtension is known: all are ignored unless critical.
 *  - Nonce (1.3.6.1.5.5.7.48.1.2): as RFC 8954 specifies, extnValue holds a
 *    DER OCTET STRING whose contents are the nonce, 1..128 octets (an
 *    empty extnValue counts as an empty nonce). It may be critical. Some old
 *    clients put the raw bytes in extnValue without the inner OCTET STRING;
 *    we follow the RFC and refuse those (BAD_NONCE), because guessing which
 *    form was meant would echo a different nonce than the client checks.
 *  - optionalSignature [0]: accepted after a shape check; is_signed is set.
 *    The signature is NOT verified (we do not require signed requests and
 *    never authorise on it); tbs lets a later caller verify it.
 *
 * Error classes: faults in the DER framing anywhere are TRUNCATED,
 * BAD_LENGTH, BAD_TAG or TRAILING_DATA; faults in a field's value get that
 * field's code. The contents of the two opaque fields (requestorName,
 * optionalSignature) are only checked for shape, and any fault inside them
 * is BAD_REQUESTOR_NAME / BAD_SIGNATURE. The first fault found, in encoding
 * order, is reported. */
#ifndef VIGIL_OCSP_REQUEST_H
#define VIGIL_OCSP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bytestring.h>

#include "vigil/ocsp.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef VIGIL_OCSP_REQ_MUST_CHECK
#define VIGIL_OCSP_REQ_MUST_CHECK __attribute__((warn_unused_result))
#endif

/* --- Limits -------------------------------------------------------------- */

/* Largest DER OCSPRequest accepted, in bytes: the POST body cap large
 * responders use (STANDARDS.md). A real request is 70..200 bytes. */
#define VIGIL_OCSP_REQUEST_MAX_DER 10000
/* Most extensions in one Extensions list (requestExtensions or one
 * singleRequestExtensions). Real clients send 0..2; the bound keeps the
 * duplicate check (quadratic) cheap on hostile input. */
#define VIGIL_OCSP_REQ_MAX_EXTENSIONS 16

/* --- Results ------------------------------------------------------------- */

enum vigil_ocsp_req_result {
  VIGIL_OCSP_REQ_OK = 0,
  VIGIL_OCSP_REQ_TOO_LARGE,     /* input > VIGIL_OCSP_REQUEST_MAX_DER bytes */
  VIGIL_OCSP_REQ_TRUNCATED,     /* empty input, or an element's length runs
                                   past the end of what encloses it */
  VIGIL_OCSP_REQ_BAD_LENGTH,    /* indefinite or non-minimal length (BER) */
  VIGIL_OCSP_REQ_BAD_TAG,       /* an element has an unexpected tag */
  VIGIL_OCSP_REQ_TRAILING_DATA, /* bytes after the request, or after the
                                   last field of a structure */
  VIGIL_OCSP_REQ_BAD_VERSION,   /* version is not a DER INTEGER 0 */
  VIGIL_OCSP_REQ_BAD_REQUESTOR_NAME,  /* requestorName not one GeneralName */
  VIGIL_OCSP_REQ_NO_REQUESTS,         /* requestList is empty */
  VIGIL_OCSP_REQ_TOO_MANY_REQUESTS,   /* > VIGIL_OCSP_MAX_REQUESTS entries */
  VIGIL_OCSP_REQ_UNKNOWN_HASH_ALG,    /* CertID hash neither SHA-1 nor 256 */
  VIGIL_OCSP_REQ_BAD_HASH_PARAMS,     /* hash parameters neither absent nor
                                         NULL */
  VIGIL_OCSP_REQ_BAD_HASH_LEN,        /* a CertID hash has the wrong length */
  VIGIL_OCSP_REQ_BAD_SERIAL,          /* serial not a DER INTEGER, or 0 or
                                         > VIGIL_OCSP_MAX_SERIAL octets */
  VIGIL_OCSP_REQ_BAD_EXTENSION,       /* empty Extensions list, bad OID or
                                         bad critical BOOLEAN */
  VIGIL_OCSP_REQ_TOO_MANY_EXTENSIONS, /* > VIGIL_OCSP_REQ_MAX_EXTENSIONS */
  VIGIL_OCSP_REQ_DUPLICATE_EXTENSION, /* same OID twice in one list */
  VIGIL_OCSP_REQ_UNKNOWN_CRITICAL_EXTENSION, /* critical and not known */
  VIGIL_OCSP_REQ_BAD_NONCE,      /* nonce extnValue is not exactly one DER
                                    OCTET STRING (e.g. raw bytes) */
  VIGIL_OCSP_REQ_NONCE_EMPTY,    /* nonce of 0 octets */
  VIGIL_OCSP_REQ_NONCE_TOO_LONG, /* nonce > VIGIL_OCSP_NONCE_MAX octets */
  VIGIL_OCSP_REQ_BAD_SIGNATURE,  /* optionalSignature is not shaped like a
                                    Signature */
};

/* --- Parsed request ------------------------------------------------------ */

/* One CertID (RFC 6960 4.1.1). All views point into the parsed input. */
struct vigil_ocsp_cert_id {
  CBS der;                   /* the whole CertID element as received: the
                                response echoes it byte for byte */
  enum vigil_ocsp_hash hash; /* hash algorithm of the two hashes */
  CBS name_hash;             /* issuerNameHash contents (20 or 32 octets) */
  CBS key_hash;              /* issuerKeyHash contents (20 or 32 octets) */
  CBS serial;                /* serialNumber INTEGER contents, two's
                                complement, 1..VIGIL_OCSP_MAX_SERIAL octets */
};

/* A parsed OCSPRequest. All views point into the parsed input. */
struct vigil_ocsp_request {
  size_t num_ids;         /* CertIDs in ids[], 1..VIGIL_OCSP_MAX_REQUESTS */
  int has_nonce;          /* 1 if a nonce extension was present */
  CBS nonce;              /* nonce octets (inner OCTET STRING contents),
                             1..VIGIL_OCSP_NONCE_MAX; empty if !has_nonce */
  int has_requestor_name; /* 1 if requestorName was present (its
                             contents are not used) */
  int is_signed;          /* 1 if optionalSignature was present; it is NOT
                             verified */
  CBS tbs;                /* the whole tbsRequest element as received (what
                             a request signature covers) */
  /* requestList in order; only ids[0..num_ids) are meaningful */
  struct vigil_ocsp_cert_id ids[VIGIL_OCSP_MAX_REQUESTS];
};

/* --- Parsing ------------------------------------------------------------- */

/* vigil_ocsp_request_parse parses the DER OCSPRequest in |der| (|der_len|
 * bytes) into |*out| under the rules at the top of this header. It does not
 * allocate. Returns VIGIL_OCSP_REQ_OK on success; then every CBS in |*out|
 * is a view into |der| (the caller keeps |der| alive while it uses them).
 * On any other result num_ids, has_nonce, has_requestor_name and is_signed
 * are 0 and nonce and tbs are empty. After either, ids[num_ids..] are
 * unspecified (not cleared, to keep the hot path short): read only
 * ids[0..num_ids). |der| may be NULL only if |der_len| is 0. */
enum vigil_ocsp_req_result vigil_ocsp_request_parse(
    struct vigil_ocsp_request *out, const uint8_t *der,
    size_t der_len) VIGIL_OCSP_REQ_MUST_CHECK;

/* vigil_ocsp_request_parse_general is vigil_ocsp_request_parse without its
 * fast path: vigil_ocsp_request_parse first compares the octets of the
 * request nearly every client sends (one CertID, nothing optional, short
 * lengths) at fixed places and only walks the DER element by element for
 * anything else. Both give the same result and the same views for every
 * input; this entry point exists so that tests and fuzz_ocsp_request can
 * check that they do. */
enum vigil_ocsp_req_result vigil_ocsp_request_parse_general(
    struct vigil_ocsp_request *out, const uint8_t *der,
    size_t der_len) VIGIL_OCSP_REQ_MUST_CHECK;

/* vigil_ocsp_request_is_plain returns 1 if the fast path of
 * vigil_ocsp_request_parse recognises |der| (a valid request of the plain
 * shape), else 0. For tests: it shows that the fast path is taken. */
int vigil_ocsp_request_is_plain(const uint8_t *der, size_t der_len);

/* vigil_ocsp_req_result_string returns a short, stable, lower-case token
 * for |r| ("ok", "truncated", "nonce_too_long", ...) fit for logs and as a
 * metrics label, or "invalid" for a value outside the enum. Never NULL; the
 * string is static. */
const char *vigil_ocsp_req_result_string(enum vigil_ocsp_req_result r);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_OCSP_REQUEST_H */
