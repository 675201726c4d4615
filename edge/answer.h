/* answer.h: how the edge answers an OCSP or CRL request.
 *
 * The decision, in order (DESIGN.md section 4):
 *   1. HTTP route and method; OCSP GET paths decoded (RFC 5019 5, with the
 *      leniencies real clients need), POST bodies taken as DER.
 *   2. Strict OCSP parse; anything wrong is an unsigned malformedRequest.
 *      We follow the RFC 5019 profile: one CertID per request (more is
 *      malformedRequest; no browser or TLS server sends more).
 *   3. Issuer by the CertID's name and key hashes (SHA-1 or SHA-256); an
 *      issuer we do not serve, or one outside the URL's tenant, is an
 *      unsigned unauthorized.
 *   4. L1 (in-process) -> L2 (Redis: pre-signed response, status record and
 *      the v1:mirror marker in one MGET; concurrent misses for one key share
 *      one lookup) -> live signing from the status record with the
 *      issuer's delegated responder key, bounded per worker.
 *   5. No status and v1:mirror present: the serial was never issued here:
 *      unsigned unauthorized (or a signed unknown if configured). No status
 *      and no mirror: tryLater, never a guess. Redis down: tryLater.
 *   6. A request with a nonce (and nonces enabled) is live-signed and echoes
 *      it; SHA-256 CertIDs are live-signed too (the pre-signed responses use
 *      SHA-1 CertIDs) and then cached in L1 under their own index.
 *   7. Never serve past nextUpdate: an expired L1 entry is a miss; an
 *      expired L2 response is re-signed.
 *
 * The block stored in L1 per answer is [struct edge_block][entity headers]
 * [DER], so a hit is sent as two iovecs (per-request head + block) without
 * copying response bytes. */
#ifndef EDGE_ANSWER_H
#define EDGE_ANSWER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Fixed prefix of every L1 block. */
struct edge_block {
  uint32_t entity_len; /* bytes of entity headers after this prefix */
  uint32_t der_len;    /* bytes of DER after the entity headers */
  uint8_t etag_len;    /* bytes used in etag */
  uint8_t is_crl;      /* 1: a CRL, else an OCSP response */
  char etag[32];       /* opaque-tag (hex of a SHA-256 prefix of the DER) */
};

#ifdef __cplusplus
}
#endif

#endif /* EDGE_ANSWER_H */
