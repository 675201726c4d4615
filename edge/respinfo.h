/* respinfo.h: what the edge must know about a pre-signed OCSP response.
 *
 * Responses arrive from Redis as opaque DER written by the control plane.
 * Before the edge serves one (and caches it in L1) it checks that it is a
 * successful basic response with exactly one SingleResponse for the
 * certificate that was asked about, and reads its thisUpdate and nextUpdate
 * for the HTTP caching headers and the never-serve-stale rule. The
 * signature is not verified here: Redis is written only by our control
 * plane, and verifying would cost as much as signing. */
#ifndef EDGE_RESPINFO_H
#define EDGE_RESPINFO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bytestring.h>

#include "vigil/ocsp.h"

#ifdef __cplusplus
extern "C" {
#endif

struct edge_respinfo {
  CBS cert_id;                   /* the SingleResponse's CertID element */
  CBS serial;                    /* its serialNumber contents */
  enum vigil_cert_status status; /* good / revoked / unknown */
  int64_t this_update;           /* seconds since the epoch */
  int64_t next_update;           /* 0 if absent (we never serve those) */
};

/* edge_respinfo_parse inspects the DER OCSPResponse |der| (|len| bytes).
 * Returns 1 if it is a successful id-pkix-ocsp-basic response with exactly
 * one SingleResponse that has a nextUpdate, filling |*out| with views into
 * |der|; 0 otherwise. */
int edge_respinfo_parse(struct edge_respinfo *out, const uint8_t *der,
                        size_t len) __attribute__((warn_unused_result));

#ifdef __cplusplus
}
#endif

#endif /* EDGE_RESPINFO_H */
