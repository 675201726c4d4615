/* seal.h: seals — a digest signed by vigil-signer's audit key — and their
 * offline verification (DESIGN.md section 6: evidence bundles and backup
 * manifests are sealed and verifiable offline).
 *
 * The signer signs, with domain separation so the audit key cannot be made
 * to sign anything but a seal, the message
 *
 *   "vigil-seal-v1" 0x00 | u64 sealed_at | u16 len(context) | context
 *   | digest (32 bytes)
 *
 * (integers big-endian; sealed_at in Unix seconds). Ed25519 signs the
 * message itself; P-256 signs its SHA-256 (ecdsa-with-SHA256, DER
 * signature). The context names what was sealed, e.g.
 * "vigil-backup-manifest-v1" or "vigil-evidence-v1:<execution id>", so a
 * seal over one kind of document cannot be passed off as another.
 *
 * A seal travels as JSON (vigil-control writes it, vigilctl and
 * vigil-control read it):
 *
 *   {"context": "...", "digest": "<64 hex>", "sealed_at": <int>,
 *    "key_type": "ed25519" | "p256", "signature": "<base64>",
 *    "audit_spki": "<base64 DER SubjectPublicKeyInfo>"}
 *
 * A verifier should pin the audit key (the signer writes it as
 * <key-dir>/audit.pub) rather than trust audit_spki from the document.
 *
 * vigil_seal_message is in vigil_util (no crypto: the signer uses it);
 * vigil_seal_verify and vigil_sha256 are in vigil_gnutls (GnuTLS, for
 * vigil-control and vigilctl, which must not link BoringSSL). */
#ifndef VIGIL_SEAL_H
#define VIGIL_SEAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest context, in bytes. */
#define VIGIL_SEAL_MAX_CONTEXT 256
/* Longest seal message. */
#define VIGIL_SEAL_MAX_MESSAGE (14 + 8 + 2 + VIGIL_SEAL_MAX_CONTEXT + 32)

/* vigil_seal_message writes the seal message for |digest|, |context| and
 * |sealed_at| to |out| (room for VIGIL_SEAL_MAX_MESSAGE bytes). Returns its
 * length, or 0 if |context_len| is over VIGIL_SEAL_MAX_CONTEXT. */
size_t vigil_seal_message(uint8_t *out, const uint8_t digest[32],
                          const char *context, size_t context_len,
                          int64_t sealed_at);

/* vigil_seal_verify checks |sig| (|sig_len| bytes) over the seal message
 * for |digest|, |context| and |sealed_at| with the public key |spki| (DER
 * SubjectPublicKeyInfo, Ed25519 or EC P-256). Returns 1 if the signature
 * is valid, 0 otherwise (bad signature, unsupported or malformed key, bad
 * context length). */
int vigil_seal_verify(const uint8_t *spki, size_t spki_len, const uint8_t *sig,
                      size_t sig_len, const uint8_t digest[32],
                      const char *context, size_t context_len,
                      int64_t sealed_at) __attribute__((warn_unused_result));

struct json_t; /* jansson's json_t */

/* vigil_seal_check_json verifies a seal in its JSON form (above) over
 * |digest|: the seal's "digest" must equal |digest|, its "context" must
 * equal |want_context|, and the signature must verify with the pinned key
 * |pin_spki| (DER SPKI, |pin_len| bytes) — or, when |pin_spki| is NULL,
 * with the seal's own audit_spki (which only proves integrity against
 * accidents, not against someone who can re-seal: say so to the user).
 * When a pin is given, audit_spki must match it. Returns 1 if valid, else
 * 0 with the first reason in |err|. (vigil_gnutls; links jansson.) */
int vigil_seal_check_json(char *err, size_t err_len, const struct json_t *seal,
                          const uint8_t digest[32], const char *want_context,
                          const uint8_t *pin_spki, size_t pin_len)
    __attribute__((warn_unused_result));

/* vigil_sha256 writes SHA-256(|data|) to |out|. Returns 1, or 0 if the
 * hash could not be computed. */
int vigil_sha256(uint8_t out[32], const void *data, size_t len)
    __attribute__((warn_unused_result));

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_SEAL_H */
