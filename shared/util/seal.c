/* seal.c: the seal message (see vigil/seal.h). No crypto here. */
#include "vigil/seal.h"

#include <string.h>

static const char kLabel[] = "vigil-seal-v1"; /* + its NUL: 14 bytes */

size_t vigil_seal_message(uint8_t *out, const uint8_t digest[32],
                          const char *context, size_t context_len,
                          int64_t sealed_at) {
  if (context_len > VIGIL_SEAL_MAX_CONTEXT) {
    return 0;
  }
  size_t n = sizeof(kLabel); /* includes the NUL separator */
  memcpy(out, kLabel, n);
  uint64_t t = (uint64_t)sealed_at;
  for (int i = 7; i >= 0; i--) {
    out[n + (size_t)i] = (uint8_t)t;
    t >>= 8;
  }
  n += 8;
  out[n++] = (uint8_t)(context_len >> 8);
  out[n++] = (uint8_t)context_len;
  memcpy(out + n, context, context_len);
  n += context_len;
  memcpy(out + n, digest, 32);
  return n + 32;
}
