/* sgn_ops.h: vigil-signer's operations — one decoded request in, one
 * encoded reply out.
 *
 * Each handler checks what the codec cannot (issuer ids, key types,
 * validity windows, CA/B Forum rules for OCSP and CRLs, serial encoding),
 * signs, and writes the reply frame. Failures become error replies with a
 * status, a message and, where useful, a detail code (the x509 / CRL / CSR
 * error) and the index of the offending entry (docs/signer.md). Handlers
 * share nothing mutable but the registry (which locks itself), so any
 * number of connections may run them at once. */
#ifndef SGN_OPS_H
#define SGN_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "sgn_audit.h"
#include "sgn_config.h"
#include "sgn_issuers.h"
#include "vigil/log.h"
#include "vigil/sgnproto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What handlers work with; built once in main, read-only afterwards. */
struct sgn_ctx {
  const struct sgn_config *cfg; /* configuration */
  const struct vigil_log *log;  /* logger */
  struct sgn_registry *reg;     /* issuers and responders */
  struct sgn_audit *audit;      /* the SEAL key */
};

/* Room for every error reply (a 1024-byte message plus detail fields). */
#define SGN_SMALL_REPLY 1152

/* An encoded reply. Error replies live in |small| so that they can be
 * made even when memory ran out. */
struct sgn_reply {
  uint8_t *buf; /* the frame: |small| or a vigil_malloc block */
  size_t len;   /* its length */
  size_t cap;   /* size of a heap |buf| (0 when |buf| is |small|) */
  int secret;   /* the frame holds a private key: cleanse when done */
  uint8_t small[SGN_SMALL_REPLY]; /* storage for small replies */
};

/* sgn_reply_init makes |r| empty. */
void sgn_reply_init(struct sgn_reply *r);

/* sgn_reply_cleanup releases |r|'s heap buffer (cleansing it first if it
 * held a secret) and makes it empty again. */
void sgn_reply_cleanup(struct sgn_reply *r);

/* sgn_reply_error replaces |r| with an error reply for |op| / |id|:
 * |status|, |detail| (0 omits it), |index| (< 0 omits it) and a message
 * formatted from |fmt| (truncated to 1024 bytes, control characters
 * replaced). Cannot fail. */
void sgn_reply_error(struct sgn_reply *r, enum vigil_sgn_op op, uint32_t id,
                     enum vigil_sgn_status status, uint32_t detail,
                     int64_t index, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* sgn_ops_handle answers the decoded request |req| at time |now| (Unix
 * seconds) into |r| (initialised, empty). Always produces a reply. */
void sgn_ops_handle(const struct sgn_ctx *ctx, struct sgn_reply *r,
                    const struct vigil_sgn_msg *req, int64_t now);

#ifdef __cplusplus
}
#endif

#endif /* SGN_OPS_H */
