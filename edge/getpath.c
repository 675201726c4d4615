/* getpath.c: single-pass OCSP GET request decoding (getpath.h). */
#include "getpath.h"

/* Each byte of the OCSP GET alphabet (vigil/b64.h: base64 and base64url,
 * ' ' for '+') maps to its sextet + 1 (1..64); '=' to PAD, '%' to PCT; any
 * other byte to 0 (BAD). */
#define BAD 0
#define PAD 65
#define PCT 66

static const uint8_t kSextet[256] = {
  ['A'] = 1,  ['B'] = 2,   ['C'] = 3,   ['D'] = 4,  ['E'] = 5,  ['F'] = 6,
  ['G'] = 7,  ['H'] = 8,   ['I'] = 9,   ['J'] = 10, ['K'] = 11, ['L'] = 12,
  ['M'] = 13, ['N'] = 14,  ['O'] = 15,  ['P'] = 16, ['Q'] = 17, ['R'] = 18,
  ['S'] = 19, ['T'] = 20,  ['U'] = 21,  ['V'] = 22, ['W'] = 23, ['X'] = 24,
  ['Y'] = 25, ['Z'] = 26,  ['a'] = 27,  ['b'] = 28, ['c'] = 29, ['d'] = 30,
  ['e'] = 31, ['f'] = 32,  ['g'] = 33,  ['h'] = 34, ['i'] = 35, ['j'] = 36,
  ['k'] = 37, ['l'] = 38,  ['m'] = 39,  ['n'] = 40, ['o'] = 41, ['p'] = 42,
  ['q'] = 43, ['r'] = 44,  ['s'] = 45,  ['t'] = 46, ['u'] = 47, ['v'] = 48,
  ['w'] = 49, ['x'] = 50,  ['y'] = 51,  ['z'] = 52, ['0'] = 53, ['1'] = 54,
  ['2'] = 55, ['3'] = 56,  ['4'] = 57,  ['5'] = 58, ['6'] = 59, ['7'] = 60,
  ['8'] = 61, ['9'] = 62,  ['+'] = 63,  [' '] = 63, ['-'] = 63, ['/'] = 64,
  ['_'] = 64, ['='] = PAD, ['%'] = PCT,
};

/* hex_digit returns the value of a hex digit (either case), or -1. */
static int hex_digit(unsigned char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = (unsigned char)(c | 0x20);
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

int edge_getpath_decode(uint8_t *out, size_t *out_len, size_t max_out,
                        const char *in, size_t in_len) {
  const unsigned char *p = (const unsigned char *)in;
  const unsigned char *end = p + in_len;
  size_t o = 0;
  uint32_t acc = 0;
  unsigned n = 0; /* sextets in acc */
  uint8_t last = 0;
  size_t pads = 0;
  while (p < end) {
    /* Fast groups, at group boundaries before any padding: four plain
     * symbols and room for three bytes. */
    while (n == 0 && pads == 0 && end - p >= 4 && max_out - o >= 3) {
      /* Sextets; BAD (0) wraps to 0xff and PAD/PCT exceed 63. */
      uint8_t a = (uint8_t)(kSextet[p[0]] - 1),
              b = (uint8_t)(kSextet[p[1]] - 1),
              c = (uint8_t)(kSextet[p[2]] - 1),
              d = (uint8_t)(kSextet[p[3]] - 1);
      if ((a | b | c | d) & 0xc0) {
        break;
      }
      uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
      out[o] = (uint8_t)(v >> 16);
      out[o + 1] = (uint8_t)(v >> 8);
      out[o + 2] = (uint8_t)v;
      o += 3;
      p += 4;
    }
    if (p == end) {
      break;
    }
    /* One symbol at a time: escapes, padding, the tail. */
    uint8_t v = kSextet[*p];
    if (v == PCT) {
      if (end - p < 3) {
        return 0;
      }
      int hi = hex_digit(p[1]), lo = hex_digit(p[2]);
      if (hi < 0 || lo < 0) {
        return 0;
      }
      v = kSextet[(unsigned char)(hi << 4 | lo)];
      if (v == PCT) {
        return 0; /* "%25" is a '%' byte: not in the alphabet */
      }
      p += 3;
    } else {
      p++;
    }
    if (v == BAD) {
      return 0;
    }
    if (v == PAD) {
      pads++;
      continue;
    }
    if (pads != 0) {
      return 0; /* data after padding */
    }
    v--; /* the sextet */
    acc = acc << 6 | v;
    last = v;
    if (++n == 4) {
      if (max_out - o < 3) {
        return 0;
      }
      out[o] = (uint8_t)(acc >> 16);
      out[o + 1] = (uint8_t)(acc >> 8);
      out[o + 2] = (uint8_t)acc;
      o += 3;
      acc = 0;
      n = 0;
    }
  }
  /* n sextets are left over (0..3) after the groups. */
  if (n == 1 || pads > (n == 0 ? 0u : 4u - n)) {
    return 0;
  }
  if ((n == 2 && (last & 0x0f) != 0) || (n == 3 && (last & 0x03) != 0)) {
    return 0;
  }
  if (n == 2) {
    if (max_out - o < 1) {
      return 0;
    }
    out[o++] = (uint8_t)(acc >> 4);
  } else if (n == 3) {
    if (max_out - o < 2) {
      return 0;
    }
    out[o] = (uint8_t)(acc >> 10);
    out[o + 1] = (uint8_t)(acc >> 2);
    o += 2;
  }
  *out_len = o;
  return 1;
}
