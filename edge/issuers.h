/* issuers.h: the issuers an edge answers for, and their responder keys.
 *
 * The control plane publishes one record per issuer in the Redis hash
 * v1:issuers (vigil/keyspace.h). The edge turns those records into an
 * immutable snapshot: a table it can search by CertID hashes (SHA-1 or
 * SHA-256), by issuer id and by tenant, plus the delegated OCSP responder
 * key and certificate used for live signing, loaded from
 * {responder_dir}/{issuer_id}.key (mode 0600 required) and
 * {responder_dir}/{issuer_id}.pem. An issuer without responder files is
 * still served from pre-signed responses; only live signing is unavailable
 * for it (those requests get tryLater).
 *
 * Snapshots are immutable and shared by every worker thread. A reload (an
 * `issuer` event, SIGHUP) builds a new snapshot and swaps it in; a failed
 * build keeps the old one. Each issuer carries an L1 index that stays the
 * same across snapshots for the same issuer key (so cached entries keyed by
 * it stay valid) and is never reused for a different issuer. */
#ifndef EDGE_ISSUERS_H
#define EDGE_ISSUERS_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/cert.h"
#include "vigil/key.h"
#include "vigil/keyspace.h"
#include "vigil/log.h"
#include "vigil/ocsp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most issuers one edge serves. */
#define EDGE_MAX_ISSUERS 4096

struct edge_issuer {
  uint32_t l1_idx;       /* stable cache index (SHA-1 CertIDs); SHA-256
                            CertIDs use l1_idx | EDGE_L1_IDX_SHA256 */
  int current;           /* 1: the tenant's current issuer (CRL default) */
  uint8_t key_sha1[20];  /* issuerKeyHash for SHA-1 CertIDs ("ikh") */
  uint8_t name_sha1[20]; /* issuerNameHash for SHA-1 CertIDs */
  uint8_t key_sha256[32];
  uint8_t name_sha256[32];
  char ikh_hex[41];                      /* key_sha1 in hex, NUL-terminated */
  char issuer_id[VIGIL_KS_MAX_NAME + 1]; /* NUL-terminated */
  char tenant[VIGIL_KS_MAX_NAME + 1];    /* NUL-terminated */
  struct vigil_key *responder_key;       /* owned; NULL: no live signing */
  struct vigil_cert *responder_cert;     /* owned; NULL if no key */
};

/* Bit set in an L1 index for answers to SHA-256 CertIDs (the pre-signed
 * responses in Redis use SHA-1 CertIDs; SHA-256 answers are live-signed
 * and cached separately). */
#define EDGE_L1_IDX_SHA256 0x80000000u

/* Bit set in the lookup key of an issuer's CRL (worker CRL cache and the
 * coalescing table). Issuer indexes stay below it. */
#define EDGE_L1_IDX_CRL 0x40000000u

struct edge_issuers {
  size_t num;                /* entries in items */
  uint64_t generation;       /* increases with every successful build */
  struct edge_issuer *items; /* owned array of |num| issuers, sorted by
                                key_sha1 (the SHA-1 lookup index) */
  /* Lookup indexes, private to issuers.c: borrowed pointers into |items|
   * in owned arrays, searched by binary search. */
  const struct edge_issuer **by_sha256; /* |num|, sorted by key_sha256 */
  const struct edge_issuer **by_id;     /* |num|, sorted by issuer_id */
  const struct edge_issuer **by_tenant; /* |num_current| current issuers,
                                           sorted by tenant */
  size_t num_current;                   /* entries in by_tenant */
};

/* edge_issuers_build makes a snapshot from |num_records| issuer records
 * (field ikh hex + value, as read from v1:issuers; NUL-terminated
 * strings). |prev| (may be NULL) supplies the L1 indexes of issuers it
 * already knew; |*next_idx| is the next unused index and is advanced for
 * new issuers (only when the build succeeds). Responder keys are loaded
 * from |responder_dir| (NULL or "": none); a responder certificate must
 * match its key, be valid now, and be issued by the issuer (its issuer
 * Name hashes to name_sha1) or be the issuer's own certificate.
 * Problems with one issuer (bad record, duplicate ikh or issuer id,
 * unreadable, group-readable or mismatched key, expired certificate) are
 * logged on |log| and that issuer is skipped or served without live
 * signing; the build fails only on memory exhaustion, more than
 * EDGE_MAX_ISSUERS records or an exhausted index space. Returns a new
 * snapshot owned by the caller, or NULL (|*next_idx| is then unchanged). */
struct edge_issuers *edge_issuers_build(
    const struct edge_issuers *prev, uint32_t *next_idx,
    const char *const *ikh_hex, const char *const *records, size_t num_records,
    const char *responder_dir, const struct vigil_log *log);

/* edge_issuers_free releases |iss| and every key and certificate in it.
 * edge_issuers_free(NULL) does nothing. */
void edge_issuers_free(struct edge_issuers *iss);

/* edge_issuers_find returns the issuer whose name and key hashes (for hash
 * algorithm |hash|) equal |name_hash| and |key_hash|, or NULL. Both hashes
 * must match: a request naming a known key under another name is not ours.
 * The result is borrowed from |iss|. */
const struct edge_issuer *edge_issuers_find(const struct edge_issuers *iss,
                                            enum vigil_ocsp_hash hash,
                                            const uint8_t *name_hash,
                                            const uint8_t *key_hash);

/* edge_issuers_by_ikh returns the issuer whose SHA-1 key hash ("ikh", as
 * in Redis keys and events) is |key_sha1| (20 bytes), or NULL. Borrowed
 * from |iss|. */
const struct edge_issuer *edge_issuers_by_ikh(const struct edge_issuers *iss,
                                              const uint8_t *key_sha1);

/* edge_issuers_by_id returns the issuer with |issuer_id| (|len| bytes), or
 * NULL. */
const struct edge_issuer *edge_issuers_by_id(const struct edge_issuers *iss,
                                             const char *issuer_id, size_t len);

/* edge_issuers_current returns the current issuer of |tenant| (|len|
 * bytes), or NULL. */
const struct edge_issuer *edge_issuers_current(const struct edge_issuers *iss,
                                               const char *tenant, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* EDGE_ISSUERS_H */
