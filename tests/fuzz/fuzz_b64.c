/* fuzz_b64.c: libFuzzer target for the decoders of vigil/b64.h.
 *
 * The first input byte picks a small output bound (so TOO_LARGE paths get
 * exercised); the rest is the text to decode. Every output buffer is a heap
 * block of exactly the bound, so ASan catches any write past it. Checked
 * invariants:
 *   - out_len <= max_out, always; out_len == 0 on failure;
 *   - the bound only changes OK into TOO_LARGE, never the bytes;
 *   - strict decode is canonical: re-encoding gives back the input;
 *   - whatever strict decode accepts, the OCSP GET decoder accepts too and
 *     yields the same bytes; what the GET decoder accepts re-encodes to
 *     something the strict decoder maps back to the same bytes;
 *   - url_decode in place equals url_decode into a separate buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vigil/b64.h>

#define CHECK(x) \
  do {           \
    if (!(x)) {  \
      abort();   \
    }            \
  } while (0)

typedef enum vigil_b64_err (*decode_fn)(uint8_t *, size_t *, size_t,
                                        const char *, size_t);

/* decode_full decodes with a roomy exact-size buffer; returns the buffer
 * (caller frees) and sets |*out_err| and |*out_len|. */
static uint8_t *decode_full(enum vigil_b64_err *out_err, size_t *out_len,
                            decode_fn fn, const char *in, size_t in_len) {
  size_t cap = in_len / 4 * 3 + 3;
  uint8_t *buf = malloc(cap);
  CHECK(buf != NULL);
  *out_len = 12345;
  *out_err = fn(buf, out_len, cap, in, in_len);
  CHECK(*out_err != VIGIL_B64_ERR_TOO_LARGE);
  CHECK(*out_len <= cap);
  if (*out_err != VIGIL_B64_OK) {
    CHECK(*out_len == 0);
  }
  return buf;
}

/* check_bounded decodes again into exactly |max_out| bytes and checks it
 * agrees with the unbounded result. */
static void check_bounded(decode_fn fn, const char *in, size_t in_len,
                          size_t max_out, enum vigil_b64_err full_err,
                          const uint8_t *full, size_t full_len) {
  uint8_t *buf = malloc(max_out == 0 ? 1 : max_out);
  CHECK(buf != NULL);
  size_t len = 12345;
  enum vigil_b64_err err = fn(buf, &len, max_out, in, in_len);
  CHECK(len <= max_out);
  if (full_err != VIGIL_B64_OK) {
    CHECK(err == full_err);
  } else if (full_len > max_out) {
    CHECK(err == VIGIL_B64_ERR_TOO_LARGE);
    CHECK(len == 0);
  } else {
    CHECK(err == VIGIL_B64_OK);
    CHECK(len == full_len);
    CHECK(len == 0 || memcmp(buf, full, len) == 0);
  }
  free(buf);
}

static void fuzz_strict_and_get(const char *in, size_t in_len, size_t max_out) {
  enum vigil_b64_err s_err;
  size_t s_len;
  uint8_t *s = decode_full(&s_err, &s_len, vigil_b64_decode, in, in_len);
  check_bounded(vigil_b64_decode, in, in_len, max_out, s_err, s, s_len);

  enum vigil_b64_err g_err;
  size_t g_len;
  uint8_t *g =
      decode_full(&g_err, &g_len, vigil_b64_decode_ocsp_get, in, in_len);
  check_bounded(vigil_b64_decode_ocsp_get, in, in_len, max_out, g_err, g,
                g_len);

  if (s_err == VIGIL_B64_OK) {
    /* Canonical: the only encoding of these bytes is the input. */
    char *enc = malloc(vigil_b64_encoded_len(s_len) + 1);
    CHECK(enc != NULL);
    size_t n = vigil_b64_encode(enc, s, s_len);
    CHECK(n == in_len);
    CHECK(memcmp(enc, in, n) == 0);
    free(enc);
    /* The lenient decoder is a superset. */
    CHECK(g_err == VIGIL_B64_OK);
    CHECK(g_len == s_len);
    CHECK(g_len == 0 || memcmp(g, s, g_len) == 0);
  }
  if (g_err == VIGIL_B64_OK) {
    size_t enc_cap = vigil_b64_encoded_len(g_len) + 1;
    char *enc = malloc(enc_cap);
    CHECK(enc != NULL);
    uint8_t *back = malloc(g_len + 1);
    CHECK(back != NULL);
    size_t back_len;
    size_t n = vigil_b64_encode(enc, g, g_len);
    CHECK(vigil_b64_decode(back, &back_len, g_len, enc, n) == VIGIL_B64_OK);
    CHECK(back_len == g_len && memcmp(back, g, g_len) == 0);
    n = vigil_b64url_encode(enc, g, g_len);
    CHECK(vigil_b64_decode_ocsp_get(back, &back_len, g_len, enc, n) ==
          VIGIL_B64_OK);
    CHECK(back_len == g_len && memcmp(back, g, g_len) == 0);
    free(back);
    free(enc);
  }
  free(s);
  free(g);
}

static void fuzz_url_decode(const char *in, size_t in_len, size_t max_out) {
  char *out = malloc(in_len == 0 ? 1 : in_len);
  CHECK(out != NULL);
  size_t len = 12345;
  enum vigil_b64_err err = vigil_url_decode(out, &len, in_len, in, in_len);
  CHECK(err == VIGIL_B64_OK || err == VIGIL_B64_ERR_PERCENT);
  CHECK(len <= in_len);
  if (err != VIGIL_B64_OK) {
    CHECK(len == 0);
  }

  /* In place gives the same answer. */
  char *copy = malloc(in_len == 0 ? 1 : in_len);
  CHECK(copy != NULL);
  if (in_len > 0) {
    memcpy(copy, in, in_len);
  }
  size_t len2 = 12345;
  CHECK(vigil_url_decode(copy, &len2, in_len, copy, in_len) == err);
  CHECK(len2 == len);
  if (err == VIGIL_B64_OK) {
    CHECK(len == 0 || memcmp(copy, out, len) == 0);
  } else if (in_len > 0) {
    CHECK(memcmp(copy, in, in_len) == 0); /* failure leaves it intact */
  }

  /* A small bound. */
  char *small = malloc(max_out == 0 ? 1 : max_out);
  CHECK(small != NULL);
  size_t len3 = 12345;
  enum vigil_b64_err err3 = vigil_url_decode(small, &len3, max_out, in, in_len);
  CHECK(len3 <= max_out);
  if (err != VIGIL_B64_OK) {
    CHECK(err3 == err);
  } else if (len > max_out) {
    CHECK(err3 == VIGIL_B64_ERR_TOO_LARGE);
  } else {
    CHECK(err3 == VIGIL_B64_OK && len3 == len);
    CHECK(len == 0 || memcmp(small, out, len) == 0);
  }
  free(small);
  free(copy);
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) {
    return 0;
  }
  /* 0..127: that many bytes; 128..255: room for everything. */
  size_t max_out = data[0] < 128 ? data[0] : size * 3;
  const char *in = (const char *)data + 1;
  size_t in_len = size - 1;
  fuzz_strict_and_get(in, in_len, max_out);
  fuzz_url_decode(in, in_len, max_out);
  return 0;
}
