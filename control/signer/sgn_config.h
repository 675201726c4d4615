/* sgn_config.h: vigil-signer configuration (one declarative table,
 * vigil/conf.h).
 *
 * Loaded once at start into an immutable struct. Bounds keep the signer
 * inside the CA/B Forum rules it enforces: delegated responder
 * certificates are short-lived (1..90 days, default 7) and a pre-signed
 * response may use at most two thirds of a responder's validity, so a
 * responder is never asked to vouch past its own notAfter. */
#ifndef SGN_CONFIG_H
#define SGN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/conf.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sgn_config {
  char socket[108];            /* Unix socket path (sun_path size) */
  char key_dir[512];           /* key directory (docs/signer.md) */
  int64_t allowed_uid;         /* peer uid allowed to connect; -1: our own */
  int64_t max_frame;           /* largest request frame accepted, bytes */
  int64_t max_connections;     /* concurrent client connections */
  int64_t max_batch;           /* entries per PRESIGN_BATCH */
  int64_t max_issuers;         /* issuers the key directory may hold */
  int64_t responder_validity;  /* delegated responder lifetime, s */
  char responder_key_type[16]; /* p256, p384, ed25519, rsa2048 */
  char audit_key_type[16];     /* ed25519 or p256 */
  int64_t io_timeout;          /* seconds to receive or send one frame */
  int64_t idle_timeout;        /* seconds a connection may sit idle */
  char log_level[16];          /* error, warn, info, debug */
  int log_json;                /* JSON log lines */
};

extern const struct vigil_conf_item sgn_config_table[];
extern const size_t sgn_config_table_len;

#ifdef __cplusplus
}
#endif

#endif /* SGN_CONFIG_H */
