/* keyspace.h: the Redis keyspace shared by vigil-control and vigil-edge.
 *
 * DESIGN.md section 3 fixes the key names; this header fixes the key
 * *formats* and the *value* formats, so that the control plane (which writes)
 * and the edge (which reads) cannot drift apart. Every key carries the "v1:"
 * prefix; a change of any value format below bumps it.
 *
 *   v1:resp:{ikh}:{serial}     DER OCSPResponse (SHA-1 CertID), TTL = until
 *                              its nextUpdate
 *   v1:status:{ikh}:{serial}   status record (vigil_status_format)
 *   v1:crl:{issuer_id}         DER CRL (":{shard}" suffix for partitions)
 *   v1:crlmeta:{issuer_id}     CRL metadata (vigil_crlmeta_format)
 *   v1:issuers                 hash: field ikh -> issuer record
 *                              (vigil_issuer_record_format)
 *   v1:events                  stream; fields "type" plus per-type fields
 *   v1:mirror                  marker: status mirror complete; value = epoch
 *
 * ikh is the lowercase hex SHA-1 of the issuer's public key bits (the
 * CertID issuerKeyHash); serial is lowercase hex without leading zeros
 * (vigil_serial_hex). Values are short ASCII records of space-separated
 * fields, so they are readable in redis-cli and parse without allocation.
 * No crypto here: vigil-control links this. */
#ifndef VIGIL_KEYSPACE_H
#define VIGIL_KEYSPACE_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/ocsp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VIGIL_KS_PREFIX  "v1:"
#define VIGIL_KS_ISSUERS "v1:issuers"
#define VIGIL_KS_EVENTS  "v1:events"
#define VIGIL_KS_MIRROR  "v1:mirror"

/* Longest key any function here writes, including the NUL. */
#define VIGIL_KS_MAX_KEY 128
/* Longest record any function here writes, including the NUL. */
#define VIGIL_KS_MAX_RECORD 512
/* Issuer ids and tenant names: [a-z0-9][a-z0-9-]{0,62}. */
#define VIGIL_KS_MAX_NAME 63

/* --- Keys ------------------------------------------------------------------
 * Each writes a NUL-terminated key into |out| (|out_len| bytes) and returns
 * its length, or 0 if it does not fit or an input is invalid. |ikh| is the
 * 20-byte SHA-1 key hash; |serial| the INTEGER contents. */

size_t vigil_ks_resp_key(char *out, size_t out_len, const uint8_t ikh[20],
                         const uint8_t *serial, size_t serial_len);
size_t vigil_ks_status_key(char *out, size_t out_len, const uint8_t ikh[20],
                           const uint8_t *serial, size_t serial_len);
/* |shard| < 0 means the full (unpartitioned) CRL. */
size_t vigil_ks_crl_key(char *out, size_t out_len, const char *issuer_id,
                        int shard);
size_t vigil_ks_crlmeta_key(char *out, size_t out_len, const char *issuer_id);

/* vigil_ks_name_valid returns 1 if |name| (|len| bytes) is a valid tenant
 * name or issuer id: [a-z0-9][a-z0-9-]{0,62}. */
int vigil_ks_name_valid(const char *name, size_t len);

/* --- Status record: v1:status:{ikh}:{serial} --------------------------------
 *   "good {not_after}"
 *   "revoked {not_after} {revoked_at} {reason}"
 * Times are decimal Unix seconds; reason is the RFC 5280 code (-1: none). */

struct vigil_status {
  enum vigil_cert_status status; /* GOOD or REVOKED (never UNKNOWN) */
  int64_t not_after;             /* the certificate's notAfter */
  int64_t revoked_at;            /* REVOKED only */
  enum vigil_reason reason;      /* REVOKED only; VIGIL_REASON_NONE if none */
};

/* vigil_status_format writes |st| as a NUL-terminated record; returns its
 * length, or 0 if |st| is invalid or |out_len| too small. */
size_t vigil_status_format(char *out, size_t out_len,
                           const struct vigil_status *st);

/* vigil_status_parse parses a record (|len| bytes, no NUL needed). Returns 1
 * on success, 0 on any deviation from the format. */
int vigil_status_parse(struct vigil_status *out, const char *in, size_t len);

/* --- Issuer record: field {ikh} of v1:issuers --------------------------------
 *   "{issuer_id} {tenant} {name_sha1} {name_sha256} {key_sha256} {current}"
 * Hashes in lowercase hex; current is 1 if this is the tenant's current
 * issuer (what GET /crl/{tenant} serves), else 0. */

struct vigil_issuer_record {
  char issuer_id[VIGIL_KS_MAX_NAME + 1]; /* NUL-terminated */
  char tenant[VIGIL_KS_MAX_NAME + 1];    /* NUL-terminated */
  uint8_t name_sha1[20];   /* SHA-1 of the issuer's subject Name DER */
  uint8_t name_sha256[32]; /* SHA-256 of the same */
  uint8_t key_sha256[32];  /* SHA-256 of the public key bits */
  int current;             /* 1: the tenant's current issuer */
};

size_t vigil_issuer_record_format(char *out, size_t out_len,
                                  const struct vigil_issuer_record *rec);
int vigil_issuer_record_parse(struct vigil_issuer_record *out, const char *in,
                              size_t len);

/* --- CRL metadata: v1:crlmeta:{issuer_id}
 * --------------------------------------
 *   "{this_update} {next_update} {crl_number_hex} {num_entries}" */

struct vigil_crlmeta {
  int64_t this_update;
  int64_t next_update;
  char number_hex[41]; /* CRL number, lowercase hex, NUL-terminated */
  uint64_t num_entries;
};

size_t vigil_crlmeta_format(char *out, size_t out_len,
                            const struct vigil_crlmeta *meta);
int vigil_crlmeta_parse(struct vigil_crlmeta *out, const char *in, size_t len);

/* --- Events: entries of the v1:events stream
 * ---------------------------------- Field "type" is one of the names below;
 * other fields by type: revoke  ikh, serial (hex as in keys), issuer_id crl
 * issuer_id issuer  ikh, issuer_id     (issuer added/changed: reload
 * v1:issuers) flush   (none)             (drop every cached answer)
 */
enum vigil_event_type {
  VIGIL_EVENT_UNKNOWN = 0,
  VIGIL_EVENT_REVOKE,
  VIGIL_EVENT_CRL,
  VIGIL_EVENT_ISSUER,
  VIGIL_EVENT_FLUSH,
};

/* vigil_event_type_name returns "revoke", "crl", "issuer", "flush" or NULL. */
const char *vigil_event_type_name(enum vigil_event_type type);

/* vigil_event_type_parse maps a name (|len| bytes) to its type;
 * VIGIL_EVENT_UNKNOWN for anything else (readers skip unknown events). */
enum vigil_event_type vigil_event_type_parse(const char *name, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_KEYSPACE_H */
