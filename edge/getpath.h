/* getpath.h: the fast path for decoding OCSP GET requests.
 *
 * vigil_b64_decode_ocsp_get (vigil/b64.h) is the definition of what an
 * OCSP GET {request} decodes to; it makes two byte-at-a-time passes (count,
 * then write), which is a large share of an L1 hit's CPU time. This is a
 * single table-driven pass that either produces exactly what that function
 * produces for the same input, or declines, and the caller then asks
 * vigil_b64_decode_ocsp_get (which gives the definitive answer, or the
 * error). It declines whenever anything is unusual: a malformed %XX escape,
 * data after padding, too much padding, an impossible length, non-zero
 * unused bits, a byte outside both alphabets, or output that would not fit.
 * tests/fuzz/fuzz_http_b64.c checks the agreement differentially, and that
 * it never declines an input the library accepts within the bound. */
#ifndef EDGE_GETPATH_H
#define EDGE_GETPATH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* edge_getpath_decode decodes |in|/|in_len| (the still-encoded {request}
 * of an OCSP GET path) into |out| (room for |max_out| bytes). Returns 1
 * with |*out_len| set and |out| holding exactly what
 * vigil_b64_decode_ocsp_get would write for the same arguments; returns 0
 * (declined: |out| and |*out_len| unspecified) when the caller must call
 * vigil_b64_decode_ocsp_get instead. Never allocates; reads only
 * in[0..in_len). */
int edge_getpath_decode(uint8_t *out, size_t *out_len, size_t max_out,
                        const char *in, size_t in_len);

#ifdef __cplusplus
}
#endif

#endif /* EDGE_GETPATH_H */
