/* ctl_seal.h: asking vigil-signer to seal a digest (vigil/seal.h).
 *
 * Used for backup manifests (ctl_backup.c) and incident evidence packs
 * (ctl_api_incident.c): the signer signs the seal message with its audit
 * key; the answer is the seal in its JSON form, which anyone can check
 * offline with vigil_seal_check_json (vigilctl evidence verify,
 * vigil-control restore). */
#ifndef VIGIL_CTL_SEAL_H
#define VIGIL_CTL_SEAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ctl_seal_make connects to the signer at |signer_socket| and seals
 * |digest| under |context| (1..VIGIL_SEAL_MAX_CONTEXT bytes). Returns the
 * seal object (caller owns the reference), or NULL with the reason in
 * |err| (signer unreachable, refused, out of memory). The caller should
 * verify nothing: the signer is trusted; the offline verifier is not the
 * producer. */
json_t *ctl_seal_make(char *err, size_t err_len, const char *signer_socket,
                      const uint8_t digest[32], const char *context)
    __attribute__((warn_unused_result));

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CTL_SEAL_H */
