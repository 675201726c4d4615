/* hex.c: lowercase hex encoding, hex decoding, and the serial-number form
 * used in Redis keys (DESIGN.md section 3). */
#include <vigil/hex.h>

#include <stdint.h>

static const char kHexDigits[16] = "0123456789abcdef";

void vigil_hex_encode(char *out, const uint8_t *in, size_t in_len) {
  for (size_t i = 0; i < in_len; i++) {
    out[2 * i] = kHexDigits[in[i] >> 4];
    out[2 * i + 1] = kHexDigits[in[i] & 0x0f];
  }
  out[2 * in_len] = '\0';
}

/* nibble returns the value of hex digit |c| (either case), or -1. */
static int nibble(unsigned char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

int vigil_hex_decode(uint8_t *out, size_t *out_len, size_t max_out,
                     const char *in, size_t in_len) {
  *out_len = 0;
  if (in_len % 2 != 0 || in_len / 2 > max_out) {
    return 0;
  }
  /* Validate everything first so that a failure leaves |out| untouched. */
  for (size_t i = 0; i < in_len; i++) {
    if (nibble((unsigned char)in[i]) < 0) {
      return 0;
    }
  }
  for (size_t i = 0; i < in_len / 2; i++) {
    int hi = nibble((unsigned char)in[2 * i]);
    int lo = nibble((unsigned char)in[2 * i + 1]);
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  *out_len = in_len / 2;
  return 1;
}

/* The key must be injective over integers: two different serials must never
 * share a Redis key. Positive values (the only ones RFC 5280 allows, and the
 * only ones we issue) are the magnitude in hex; DER's 0x00 sign octet and
 * any other leading zero digits are dropped, so "00ff" and "ff" both name
 * 255. A negative value (a broken foreign certificate, or a crafted
 * request) would alias a positive one if printed as raw two's complement
 * (0xff is -1, but "ff" already names 255), so it is written as '-' and
 * its magnitude, the way OpenSSL prints negative INTEGERs. That needs at
 * most 1 + 2*in_len + 1 bytes, the room the header asks for. */
size_t vigil_serial_hex(char *out, const uint8_t *in, size_t in_len) {
  size_t o = 0;
  int negative = in_len > 0 && (in[0] & 0x80) != 0;

  if (negative) {
    out[o++] = '-';
  }
  /* Magnitude of a negative value: two's complement negation (invert, add
   * one). The +1 carries into byte i iff every byte right of it is zero,
   * i.e. iff i is at or after the last non-zero byte. */
  size_t last_nonzero = 0;
  for (size_t i = 0; i < in_len; i++) {
    if (in[i] != 0) {
      last_nonzero = i;
    }
  }
  int started = 0;
  for (size_t i = 0; i < in_len; i++) {
    uint8_t b = in[i];
    if (negative) {
      b = (uint8_t)(~b + (i >= last_nonzero ? 1 : 0));
    }
    uint8_t digits[2] = { (uint8_t)(b >> 4), (uint8_t)(b & 0x0f) };
    for (int k = 0; k < 2; k++) {
      if (!started && digits[k] == 0) {
        continue;
      }
      started = 1;
      out[o++] = kHexDigits[digits[k]];
    }
  }
  if (!started) {
    out[o++] = '0';
  }
  out[o] = '\0';
  return o;
}
