/* b64.c: base64 / base64url encoders, the strict RFC 4648 decoder, the
 * lenient decoder for the {request} part of OCSP GET URLs, and URL
 * percent-decoding.
 *
 * Both decoders share one core that reads symbols through a small reader:
 * the strict reader hands bytes through unchanged, the OCSP GET reader
 * undoes percent-encoding and the damage intermediaries do ('+' turned into
 * ' ', base64url alphabet). The core runs twice: a first pass validates the
 * whole input and counts the output, a second pass writes it. So on any
 * failure |out| is left untouched and |*out_len| is 0, and a success never
 * writes more than the count the first pass checked against |max_out|.
 * Inputs are short (an OCSP request is a few hundred bytes), so the second
 * pass costs nothing that matters. */
#include <vigil/b64.h>

#include <stdint.h>

static const char kStdAlphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char kUrlAlphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ------------------------------------------------------------------------ */
/* Encoding                                                                  */
/* ------------------------------------------------------------------------ */

size_t vigil_b64_encoded_len(size_t in_len) {
  size_t groups = in_len / 3 + (in_len % 3 != 0);
  /* Saturate rather than wrap: a caller sizing a buffer from an absurd
   * length then fails to allocate instead of under-allocating. */
  if (groups > SIZE_MAX / 4) {
    return SIZE_MAX;
  }
  return groups * 4;
}

/* encode writes base64 of |in| in |alphabet|; with |pad| the last group is
 * completed with '='. Returns the number of bytes written. */
static size_t encode(char *out, const uint8_t *in, size_t in_len,
                     const char alphabet[64], int pad) {
  size_t o = 0;
  size_t i = 0;
  while (in_len - i >= 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = alphabet[(v >> 18) & 0x3f];
    out[o++] = alphabet[(v >> 12) & 0x3f];
    out[o++] = alphabet[(v >> 6) & 0x3f];
    out[o++] = alphabet[v & 0x3f];
    i += 3;
  }
  size_t rest = in_len - i;
  if (rest == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o++] = alphabet[(v >> 18) & 0x3f];
    out[o++] = alphabet[(v >> 12) & 0x3f];
    if (pad) {
      out[o++] = '=';
      out[o++] = '=';
    }
  } else if (rest == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    out[o++] = alphabet[(v >> 18) & 0x3f];
    out[o++] = alphabet[(v >> 12) & 0x3f];
    out[o++] = alphabet[(v >> 6) & 0x3f];
    if (pad) {
      out[o++] = '=';
    }
  }
  return o;
}

size_t vigil_b64_encode(char *out, const uint8_t *in, size_t in_len) {
  return encode(out, in, in_len, kStdAlphabet, 1);
}

size_t vigil_b64url_encode(char *out, const uint8_t *in, size_t in_len) {
  return encode(out, in, in_len, kUrlAlphabet, 0);
}

/* ------------------------------------------------------------------------ */
/* Input readers                                                             */
/* ------------------------------------------------------------------------ */

/* hex_value returns the value of hex digit |c| (either case), or -1. */
static int hex_value(unsigned char c) {
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

enum read_result {
  READ_BYTE, /* a byte was produced */
  READ_END,  /* input exhausted */
  READ_BAD,  /* malformed %XX escape */
};

/* read_percent produces the next byte of |in| at |*pos| with %XX escapes
 * undone, and advances |*pos|. */
static enum read_result read_percent(unsigned char *out_c, const char *in,
                                     size_t in_len, size_t *pos) {
  if (*pos >= in_len) {
    return READ_END;
  }
  unsigned char c = (unsigned char)in[*pos];
  if (c != '%') {
    *out_c = c;
    (*pos)++;
    return READ_BYTE;
  }
  if (in_len - *pos < 3) {
    return READ_BAD;
  }
  int hi = hex_value((unsigned char)in[*pos + 1]);
  int lo = hex_value((unsigned char)in[*pos + 2]);
  if (hi < 0 || lo < 0) {
    return READ_BAD;
  }
  *out_c = (unsigned char)(hi << 4 | lo);
  *pos += 3;
  return READ_BYTE;
}

/* ------------------------------------------------------------------------ */
/* Decoding core                                                             */
/* ------------------------------------------------------------------------ */

enum decode_mode {
  MODE_STRICT,   /* RFC 4648 section 4 exactly */
  MODE_OCSP_GET, /* percent-decoding, ' ' = '+', both alphabets, lax '=' */
};

/* symbol_value returns the sextet of |c|, -1 for '=', -2 for a byte outside
 * the alphabet of |mode|. */
static int symbol_value(unsigned char c, enum decode_mode mode) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  if (c == '/') {
    return 63;
  }
  if (c == '=') {
    return -1;
  }
  if (mode == MODE_OCSP_GET) {
    /* A '+' that a form decoder or proxy turned into a space (RFC 5019's
     * url-encoding is skipped by many clients), and the base64url
     * alphabet. Mixing is accepted: the DER parser behind this is strict,
     * so a lenient alphabet cannot smuggle anything through. */
    if (c == ' ' || c == '-') {
      return 62;
    }
    if (c == '_') {
      return 63;
    }
  }
  return -2;
}

/* decode runs one pass over |in|. With |out| NULL it only validates and
 * counts; otherwise it writes the bytes (the caller has checked the count
 * against its buffer). Sets |*out_len| to the decoded length. */
static enum vigil_b64_err decode(uint8_t *out, size_t *out_len, const char *in,
                                 size_t in_len, enum decode_mode mode) {
  size_t pos = 0;
  size_t n_sym = 0; /* data symbols seen */
  size_t n_pad = 0; /* '=' seen after the data */
  size_t o = 0;
  uint32_t acc = 0; /* sextets of the current group */
  int last = 0;     /* value of the latest data symbol */

  *out_len = 0;
  for (;;) {
    unsigned char c = 0;
    if (mode == MODE_OCSP_GET) {
      enum read_result r = read_percent(&c, in, in_len, &pos);
      if (r == READ_END) {
        break;
      }
      if (r == READ_BAD) {
        return VIGIL_B64_ERR_PERCENT;
      }
    } else {
      if (pos >= in_len) {
        break;
      }
      c = (unsigned char)in[pos++];
    }
    int v = symbol_value(c, mode);
    if (v == -2) {
      return VIGIL_B64_ERR_CHAR;
    }
    if (v == -1) {
      n_pad++;
      continue;
    }
    if (n_pad != 0) {
      return VIGIL_B64_ERR_PAD; /* data after padding */
    }
    acc = acc << 6 | (uint32_t)v;
    last = v;
    n_sym++;
    if (n_sym % 4 == 0) {
      if (out != NULL) {
        out[o] = (uint8_t)(acc >> 16);
        out[o + 1] = (uint8_t)(acc >> 8);
        out[o + 2] = (uint8_t)acc;
      }
      o += 3;
      acc = 0;
    }
  }

  size_t rest = n_sym % 4;
  if (rest == 1) {
    return VIGIL_B64_ERR_LENGTH;
  }
  size_t want_pad = rest == 0 ? 0 : 4 - rest;
  if (mode == MODE_STRICT ? n_pad != want_pad : n_pad > want_pad) {
    return VIGIL_B64_ERR_PAD;
  }
  /* The unused low bits of the last symbol must be zero (RFC 4648 3.5), so
   * that each byte string has one encoding per alphabet. */
  if ((rest == 2 && (last & 0x0f) != 0) || (rest == 3 && (last & 0x03) != 0)) {
    return VIGIL_B64_ERR_BITS;
  }
  if (rest == 2) {
    if (out != NULL) {
      out[o] = (uint8_t)(acc >> 4);
    }
    o += 1;
  } else if (rest == 3) {
    if (out != NULL) {
      out[o] = (uint8_t)(acc >> 10);
      out[o + 1] = (uint8_t)(acc >> 2);
    }
    o += 2;
  }
  *out_len = o;
  return VIGIL_B64_OK;
}

/* decode_bounded validates and counts, checks the count against |max_out|,
 * then writes. */
static enum vigil_b64_err decode_bounded(uint8_t *out, size_t *out_len,
                                         size_t max_out, const char *in,
                                         size_t in_len, enum decode_mode mode) {
  size_t need = 0;
  *out_len = 0;
  enum vigil_b64_err err = decode(NULL, &need, in, in_len, mode);
  if (err != VIGIL_B64_OK) {
    return err;
  }
  if (need > max_out) {
    return VIGIL_B64_ERR_TOO_LARGE;
  }
  if (need == 0) {
    return VIGIL_B64_OK; /* |out| may be NULL when nothing is written */
  }
  size_t got = 0;
  err = decode(out, &got, in, in_len, mode);
  if (err != VIGIL_B64_OK || got != need) {
    /* Unreachable: the second pass reads the same input. */
    return err != VIGIL_B64_OK ? err : VIGIL_B64_ERR_LENGTH;
  }
  *out_len = got;
  return VIGIL_B64_OK;
}

enum vigil_b64_err vigil_b64_decode(uint8_t *out, size_t *out_len,
                                    size_t max_out, const char *in,
                                    size_t in_len) {
  return decode_bounded(out, out_len, max_out, in, in_len, MODE_STRICT);
}

enum vigil_b64_err vigil_b64_decode_ocsp_get(uint8_t *out, size_t *out_len,
                                             size_t max_out, const char *in,
                                             size_t in_len) {
  return decode_bounded(out, out_len, max_out, in, in_len, MODE_OCSP_GET);
}

/* ------------------------------------------------------------------------ */
/* Percent-decoding                                                          */
/* ------------------------------------------------------------------------ */

enum vigil_b64_err vigil_url_decode(char *out, size_t *out_len, size_t max_out,
                                    const char *in, size_t in_len) {
  size_t pos = 0;
  size_t need = 0;
  unsigned char c = 0;
  enum read_result r;

  *out_len = 0;
  /* Pass 1: validate and count, so a failure leaves |out| untouched (it may
   * be |in| itself). */
  for (;;) {
    r = read_percent(&c, in, in_len, &pos);
    if (r != READ_BYTE) {
      break;
    }
    need++;
  }
  if (r == READ_BAD) {
    return VIGIL_B64_ERR_PERCENT;
  }
  if (need > max_out) {
    return VIGIL_B64_ERR_TOO_LARGE;
  }
  /* Pass 2: the write position never passes the read position, so decoding
   * in place (out == in) is safe. */
  pos = 0;
  size_t o = 0;
  while (o < need && read_percent(&c, in, in_len, &pos) == READ_BYTE) {
    out[o++] = (char)c;
  }
  *out_len = o;
  return VIGIL_B64_OK;
}

const char *vigil_b64_err_string(enum vigil_b64_err err) {
  switch (err) {
    case VIGIL_B64_OK:
      return "ok";
    case VIGIL_B64_ERR_CHAR:
      return "byte outside the base64 alphabet";
    case VIGIL_B64_ERR_PAD:
      return "bad base64 padding";
    case VIGIL_B64_ERR_LENGTH:
      return "impossible base64 length";
    case VIGIL_B64_ERR_BITS:
      return "non-zero unused bits in last base64 symbol";
    case VIGIL_B64_ERR_PERCENT:
      return "bad percent escape";
    case VIGIL_B64_ERR_TOO_LARGE:
      return "decoded data too large for buffer";
  }
  return "unknown base64 error";
}
