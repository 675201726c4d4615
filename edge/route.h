/* route.h: the edge's URL router (DESIGN.md section 4).
 *
 * Maps a request path -- the target view from edge_http_parse, still
 * percent-encoded, without the query -- to what is being asked for, as
 * views into the same bytes. No allocation, no copying, no decoding: the
 * OCSP handler decodes the GET request itself with
 * vigil_b64_decode_ocsp_get (vigil/b64.h).
 *
 * Public listener:
 *
 *   /ocsp                         OCSP_POST, default tenant
 *   /ocsp/{tenant}                OCSP_POST
 *   /ocsp/{request}               OCSP_GET, default tenant
 *   /ocsp/{tenant}/{request}      OCSP_GET
 *   /crl/{tenant}                 CRL, the tenant's current issuer
 *   /crl/{tenant}/{issuer_id}     CRL of that issuer
 *   /crl/{tenant}/{issuer_id}/{shard}  one shard of that issuer's
 *                                 partitioned CRL (Redis
 *                                 v1:crl:{issuer_id}:{shard}; the URL the
 *                                 control plane writes into certificates'
 *                                 CRL distribution points)
 *
 * - {tenant} is [a-z0-9][a-z0-9-]{0,62}. Base64 of a DER OCSPRequest (a
 *   SEQUENCE, 0x30) starts with 'M' in both base64 alphabets, and an
 *   encoder that percent-encodes starts with '%', so a first segment that is
 *   a valid tenant name is always a tenant; any other first segment
 *   (upper case, 64 characters, '%', '_', ...) starts the request.
 * - {request} is the rest of the path, '/' included (base64 has '/').
 *   Any number of '/' before it are skipped: naive URL joins produce
 *   "/ocsp//MEUw..." and "/ocsp/demo//MEUw...", and a DER request's base64
 *   never starts with '/'.
 * - An empty request ("/ocsp/", "/ocsp/demo/", "/ocsp//") is the POST
 *   shape: there is nothing to answer by GET there.
 * - {issuer_id} is [a-z0-9][a-z0-9-]{0,63}: lowercase UUIDs (36), hex key
 *   hashes (40 for SHA-1, 64 for SHA-256) and slugs. Upper case, '.', '_'
 *   or a trailing '/' is NOT_FOUND: CRL URLs are copied by machines from
 *   certificates, so there is no reason to be lenient.
 * - {shard} is a decimal number 0..EDGE_ROUTE_SHARD_MAX in canonical form
 *   ("0", or no leading zero): exactly one URL per shard, so a CDN caches
 *   each shard once.
 * - A '?' and everything after it is ignored, so a full request-target may
 *   be passed too.
 *
 * The route kind names the path's shape, independent of the method; the
 * caller checks the method with edge_route_method_allowed and answers 405
 * with edge_route_allow() as the Allow header.
 *
 * Admin listener (separate port): /healthz, /readyz, /metrics exactly. */
#ifndef EDGE_ROUTE_H
#define EDGE_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- Public routes ------------------------------------------------------- */

/* What a public path names. */
enum edge_route_kind {
  EDGE_ROUTE_NOT_FOUND = 0, /* 404 */
  EDGE_ROUTE_OCSP_POST,     /* /ocsp, /ocsp/{tenant}: POST a DER request */
  EDGE_ROUTE_OCSP_GET,      /* /ocsp[/{tenant}]/{request}: GET, HEAD */
  EDGE_ROUTE_CRL,           /* /crl/{tenant}[/{issuer_id}]: GET, HEAD */
};

/* Limits of the path segments. */
#define EDGE_ROUTE_TENANT_MAX    63
#define EDGE_ROUTE_ISSUER_ID_MAX 64
#define EDGE_ROUTE_SHARD_MAX     999999

/* A routed path. Views point into the path passed to edge_route_parse; an
 * absent part has ptr == NULL and len == 0. */
struct edge_route {
  enum edge_route_kind kind;       /* what the path names */
  struct edge_http_view tenant;    /* absent = the default tenant */
  struct edge_http_view request;   /* OCSP_GET: still-encoded request */
  struct edge_http_view issuer_id; /* CRL: absent = tenant's current one */
  int32_t shard; /* CRL: 0..EDGE_ROUTE_SHARD_MAX, or -1 = the full CRL
                    (always -1 for other kinds) */
};

/* edge_route_parse routes |path|/|len| (not NUL-terminated; may be NULL
 * when |len| is 0) and fills |*out|. Returns out->kind. On NOT_FOUND every
 * view in |*out| is absent and shard is -1. Never allocates. */
enum edge_route_kind edge_route_parse(struct edge_route *out, const char *path,
                                      size_t len);

/* edge_route_method_allowed returns 1 if |method| is served on |kind|
 * (POST on OCSP_POST; GET and HEAD on OCSP_GET and CRL), 0 otherwise
 * (always 0 for NOT_FOUND). */
int edge_route_method_allowed(enum edge_route_kind kind,
                              enum edge_http_method method);

/* edge_route_allow returns the static Allow header value for a 405 on
 * |kind| ("POST" or "GET, HEAD"), or NULL for NOT_FOUND. */
const char *edge_route_allow(enum edge_route_kind kind);

/* edge_route_is_tenant returns 1 if |p|/|n| is a valid tenant name. */
int edge_route_is_tenant(const char *p, size_t n);

/* --- Admin routes -------------------------------------------------------- */

/* What an admin-listener path names. */
enum edge_admin_route {
  EDGE_ADMIN_NOT_FOUND = 0,
  EDGE_ADMIN_HEALTHZ, /* /healthz: the process is alive */
  EDGE_ADMIN_READYZ,  /* /readyz: ready to serve (Redis, mirror) */
  EDGE_ADMIN_METRICS, /* /metrics: Prometheus text format */
};

/* edge_route_admin routes an admin-listener |path|/|len| (query ignored).
 * Matching is exact and case-sensitive. */
enum edge_admin_route edge_route_admin(const char *path, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* EDGE_ROUTE_H */
