/* fuzz_http_b64.c: differential libFuzzer target for the edge's fast OCSP
 * GET decoder (edge/getpath.h) against the definition,
 * vigil_b64_decode_ocsp_get (vigil/b64.h).
 *
 * The first input byte picks the output bound (so the too-large paths are
 * reached); the rest is the {request} text. Checks:
 *   - fast accepts => the library accepts, with the same bytes;
 *   - the library accepts => fast accepts too (it declines only what the
 *     library refuses, so the hot path never pays for two decoders);
 *   - neither writes past the bound (ASan, exact-size buffers). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "getpath.h"
#include "vigil/b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) {
    return 0;
  }
  size_t max_out = data[0] == 0xff ? size : data[0];
  const char *in = (const char *)data + 1;
  size_t in_len = size - 1;
  uint8_t *a = malloc(max_out == 0 ? 1 : max_out);
  uint8_t *b = malloc(max_out == 0 ? 1 : max_out);
  if (a == NULL || b == NULL) {
    abort();
  }
  size_t a_len = 0, b_len = 0;
  int fast = edge_getpath_decode(a, &a_len, max_out, in, in_len);
  enum vigil_b64_err err =
      vigil_b64_decode_ocsp_get(b, &b_len, max_out, in, in_len);
  if (fast != (err == VIGIL_B64_OK)) {
    abort();
  }
  if (fast && (a_len != b_len || a_len > max_out ||
               (a_len > 0 && memcmp(a, b, a_len) != 0))) {
    abort();
  }
  free(a);
  free(b);
  return 0;
}
