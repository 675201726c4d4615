/* sgn_audit.h: the audit key that seals evidence packs.
 *
 * DESIGN.md section 6: an evidence bundle is sealed — its digest signed by
 * the signer — and verifiable offline. The audit key (Ed25519 by default,
 * or EC P-256) is made at the first start as <key-dir>/audit.key (0600),
 * its public key written beside it as audit.pub (SPKI PEM); it is never
 * replaced. SEAL signs the seal message of vigil/seal.h (domain-separated:
 * the key cannot be made to sign anything but a seal). */
#ifndef SGN_AUDIT_H
#define SGN_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/key.h"
#include "vigil/seal.h"
#include "vigil/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest SEAL context, in bytes. */
#define SGN_AUDIT_MAX_CONTEXT VIGIL_SEAL_MAX_CONTEXT

struct sgn_audit;

/* sgn_audit_open loads <key_dir>/audit.key, or makes one of |type|
 * (VIGIL_KEY_ED25519 or VIGIL_KEY_EC_P256) if there is none and writes
 * audit.key and audit.pub. An existing key of another type is kept (with a
 * warning): a seal key is never replaced silently. Returns a new object,
 * or NULL with a message in |err|. */
struct sgn_audit *sgn_audit_open(char *err, size_t err_len, const char *key_dir,
                                 enum vigil_key_type type,
                                 const struct vigil_log *log) VIGIL_MUST_CHECK;

/* sgn_audit_free releases |a|. NULL does nothing. */
void sgn_audit_free(struct sgn_audit *a);

/* sgn_audit_seal signs the seal message for |digest|, |context| and
 * |sealed_at| into |out_sig| (room for |max_sig| bytes) and sets
 * |*out_sig_len|. Returns 1, or 0 on failure. Thread-safe. */
int sgn_audit_seal(const struct sgn_audit *a, uint8_t *out_sig,
                   size_t *out_sig_len, size_t max_sig,
                   const uint8_t digest[32], const char *context,
                   size_t context_len, int64_t sealed_at) VIGIL_MUST_CHECK;

/* sgn_audit_key returns the audit key (borrowed). */
const struct vigil_key *sgn_audit_key(const struct sgn_audit *a);

#ifdef __cplusplus
}
#endif

#endif /* SGN_AUDIT_H */
