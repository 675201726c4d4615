/* hex.h: hexadecimal encoding, as Redis keys and logs use it (lowercase).
 * No allocation; callers pass buffers. */
#ifndef VIGIL_HEX_H
#define VIGIL_HEX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* vigil_hex_encode writes 2*|in_len| lowercase hex digits and a NUL to
 * |out|, which must hold 2*|in_len|+1 bytes. */
void vigil_hex_encode(char *out, const uint8_t *in, size_t in_len);

/* vigil_hex_decode decodes |in_len| hex digits (either case; even count)
 * into |out| (room for |max_out|) and sets |*out_len|. Returns 1 on
 * success, 0 on an odd count, a non-hex character or too little room. */
int vigil_hex_decode(uint8_t *out, size_t *out_len, size_t max_out,
                     const char *in, size_t in_len);

/* vigil_serial_hex writes the DESIGN.md section 3 form of a certificate
 * serial: lowercase hex of the INTEGER contents |in| (|in_len| bytes, two's
 * complement as in DER) without leading zeros ("0" for zero), plus a NUL.
 * |out| must hold 2*|in_len|+2 bytes. Returns the length written (without
 * the NUL). */
size_t vigil_serial_hex(char *out, const uint8_t *in, size_t in_len);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_HEX_H */
