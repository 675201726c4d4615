/* test_b64.c: base64 encoders, the strict decoder, the OCSP GET decoder and
 * percent-decoding (vigil/b64.h).
 *
 * Expected encodings come from RFC 4648 section 10 and, for the OCSP GET
 * forms, from tools we did not write: the DER requests were made with
 * `openssl ocsp -issuer tests/vectors/ocsp_req_issuer.pem -serial 0x1234
 * -reqout ocsp_req_sha1.der -no_nonce` (and serials 0x123456, 0x12345678
 * for the padded lengths); their base64 with coreutils `base64 -w0`, the
 * URL forms with Python's base64.urlsafe_b64encode and urllib.parse.quote /
 * quote_plus. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <vigil/b64.h>

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* test_unhex decodes a hex literal (test-local so the b64 tests do not
 * depend on vigil_hex_decode). */
static size_t test_unhex(uint8_t *out, size_t max_out, const char *hex) {
  size_t n = strlen(hex) / 2;
  assert_true(n <= max_out);
  for (size_t i = 0; i < n; i++) {
    unsigned int v = 0;
    assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
    out[i] = (uint8_t)v;
  }
  return n;
}

static enum vigil_b64_err dec_strict(uint8_t *out, size_t *out_len,
                                     size_t max_out, const char *s) {
  return vigil_b64_decode(out, out_len, max_out, s, strlen(s));
}

static enum vigil_b64_err dec_get(uint8_t *out, size_t *out_len, size_t max_out,
                                  const char *s) {
  return vigil_b64_decode_ocsp_get(out, out_len, max_out, s, strlen(s));
}

/* xorshift64: deterministic pseudo-random bytes for round-trip loops. */
static uint64_t next_rand(uint64_t *state) {
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *state = x;
  return x;
}

/* ------------------------------------------------------------------------ */
/* RFC 4648 section 10 vectors                                               */
/* ------------------------------------------------------------------------ */

struct rfc_vector {
  const char *plain;
  const char *b64;
  const char *b64url; /* unpadded */
};

static const struct rfc_vector kRfc4648[] = {
  { "", "", "" },
  { "f", "Zg==", "Zg" },
  { "fo", "Zm8=", "Zm8" },
  { "foo", "Zm9v", "Zm9v" },
  { "foob", "Zm9vYg==", "Zm9vYg" },
  { "fooba", "Zm9vYmE=", "Zm9vYmE" },
  { "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};

static void test_encoded_len(void **state) {
  (void)state;
  static const size_t kWant[] = { 0, 4, 4, 4, 8, 8, 8, 12 };
  for (size_t i = 0; i < sizeof(kWant) / sizeof(kWant[0]); i++) {
    assert_int_equal(vigil_b64_encoded_len(i), kWant[i]);
  }
  /* Absurd lengths saturate instead of wrapping to a small number. */
  assert_true(vigil_b64_encoded_len(SIZE_MAX) == SIZE_MAX);
  assert_true(vigil_b64_encoded_len(SIZE_MAX / 4 * 3 + 3) == SIZE_MAX);
  assert_true(vigil_b64_encoded_len(SIZE_MAX / 4 * 3) == SIZE_MAX / 4 * 4);
}

static void test_rfc4648_encode(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(kRfc4648) / sizeof(kRfc4648[0]); i++) {
    const struct rfc_vector *v = &kRfc4648[i];
    char out[16];
    memset(out, '#', sizeof(out));
    size_t n =
        vigil_b64_encode(out, (const uint8_t *)v->plain, strlen(v->plain));
    assert_int_equal(n, strlen(v->b64));
    assert_int_equal(n, vigil_b64_encoded_len(strlen(v->plain)));
    assert_memory_equal(out, v->b64, n);
    assert_int_equal(out[n], '#'); /* no NUL, nothing past the end */

    memset(out, '#', sizeof(out));
    n = vigil_b64url_encode(out, (const uint8_t *)v->plain, strlen(v->plain));
    assert_int_equal(n, strlen(v->b64url));
    assert_memory_equal(out, v->b64url, n);
    assert_int_equal(out[n], '#');
  }
}

static void test_rfc4648_decode(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(kRfc4648) / sizeof(kRfc4648[0]); i++) {
    const struct rfc_vector *v = &kRfc4648[i];
    uint8_t out[16];
    size_t out_len = 99;
    assert_int_equal(dec_strict(out, &out_len, sizeof(out), v->b64),
                     VIGIL_B64_OK);
    assert_int_equal(out_len, strlen(v->plain));
    assert_memory_equal(out, v->plain, out_len);

    /* The GET decoder takes the padded and the unpadded url form. */
    out_len = 99;
    assert_int_equal(dec_get(out, &out_len, sizeof(out), v->b64), VIGIL_B64_OK);
    assert_int_equal(out_len, strlen(v->plain));
    assert_memory_equal(out, v->plain, out_len);
    out_len = 99;
    assert_int_equal(dec_get(out, &out_len, sizeof(out), v->b64url),
                     VIGIL_B64_OK);
    assert_int_equal(out_len, strlen(v->plain));
    assert_memory_equal(out, v->plain, out_len);
  }
}

/* Bytes whose encoding uses the two alphabet-specific symbols. */
static void test_alphabet_62_63(void **state) {
  (void)state;
  static const uint8_t kBytes[] = { 0xfb, 0xff, 0xbf };
  char out[8];
  assert_int_equal(vigil_b64_encode(out, kBytes, 3), 4);
  assert_memory_equal(out, "+/+/", 4);
  assert_int_equal(vigil_b64url_encode(out, kBytes, 3), 4);
  assert_memory_equal(out, "-_-_", 4);
  assert_int_equal(vigil_b64_encode(out, kBytes, 2), 4);
  assert_memory_equal(out, "+/8=", 4);
  assert_int_equal(vigil_b64url_encode(out, kBytes, 2), 3);
  assert_memory_equal(out, "-_8", 3);

  uint8_t dec[4];
  size_t dec_len = 0;
  assert_int_equal(dec_strict(dec, &dec_len, sizeof(dec), "+/+/"),
                   VIGIL_B64_OK);
  assert_int_equal(dec_len, 3);
  assert_memory_equal(dec, kBytes, 3);
  /* Strict decoding is standard base64 only. */
  assert_int_equal(dec_strict(dec, &dec_len, sizeof(dec), "-_-_"),
                   VIGIL_B64_ERR_CHAR);
  assert_int_equal(dec_strict(dec, &dec_len, sizeof(dec), "+/8"),
                   VIGIL_B64_ERR_PAD);
}

/* Every byte value survives encode -> strict decode, at every length mod 3,
 * and url encode -> GET decode. */
static void test_round_trip(void **state) {
  (void)state;
  uint64_t seed = 0x9e3779b97f4a7c15u;
  uint8_t in[200];
  char enc[272];
  uint8_t dec[200];
  for (int iter = 0; iter < 2000; iter++) {
    size_t len = (size_t)(next_rand(&seed) % sizeof(in));
    for (size_t i = 0; i < len; i++) {
      in[i] = (uint8_t)next_rand(&seed);
    }
    size_t n = vigil_b64_encode(enc, in, len);
    assert_int_equal(n, vigil_b64_encoded_len(len));
    size_t dec_len = 0;
    assert_int_equal(vigil_b64_decode(dec, &dec_len, len, enc, n),
                     VIGIL_B64_OK);
    assert_int_equal(dec_len, len);
    assert_memory_equal(dec, in, len);

    n = vigil_b64url_encode(enc, in, len);
    assert_int_equal(vigil_b64_decode_ocsp_get(dec, &dec_len, len, enc, n),
                     VIGIL_B64_OK);
    assert_int_equal(dec_len, len);
    assert_memory_equal(dec, in, len);
  }
}

/* ------------------------------------------------------------------------ */
/* Strict decoder errors                                                     */
/* ------------------------------------------------------------------------ */

struct bad_case {
  const char *in;
  size_t in_len; /* 0: strlen(in) */
  enum vigil_b64_err want;
};

static void check_bad(const struct bad_case *cases, size_t num,
                      enum vigil_b64_err (*fn)(uint8_t *, size_t *, size_t,
                                               const char *, size_t)) {
  for (size_t i = 0; i < num; i++) {
    uint8_t out[64];
    memset(out, 0xa5, sizeof(out));
    size_t out_len = 99;
    size_t in_len =
        cases[i].in_len != 0 ? cases[i].in_len : strlen(cases[i].in);
    enum vigil_b64_err got =
        fn(out, &out_len, sizeof(out), cases[i].in, in_len);
    if (got != cases[i].want) {
      print_error("case %zu \"%s\": got %d (%s), want %d\n", i, cases[i].in,
                  (int)got, vigil_b64_err_string(got), (int)cases[i].want);
      fail();
    }
    assert_int_equal(out_len, 0);
    /* A failed decode leaves the output buffer alone. */
    for (size_t j = 0; j < sizeof(out); j++) {
      assert_int_equal(out[j], 0xa5);
    }
  }
}

static void test_strict_errors(void **state) {
  (void)state;
  static const struct bad_case kCases[] = {
    /* ERR_CHAR: anything outside A-Z a-z 0-9 + / = */
    { "Zm9v!A==", 0, VIGIL_B64_ERR_CHAR },
    { "Zm9v\nYmFy", 0, VIGIL_B64_ERR_CHAR },
    { " Zm9v", 0, VIGIL_B64_ERR_CHAR },
    { "Zm9v ", 0, VIGIL_B64_ERR_CHAR },
    { "Zm9-", 0, VIGIL_B64_ERR_CHAR },
    { "Zm9_", 0, VIGIL_B64_ERR_CHAR },
    { "Zm%2F", 0, VIGIL_B64_ERR_CHAR },
    { "Zm9v\0YmFy", 9, VIGIL_B64_ERR_CHAR },
    { "Zm9v\xc3\xa9", 0, VIGIL_B64_ERR_CHAR },
    { "Zg=\x80", 0, VIGIL_B64_ERR_CHAR },
    /* ERR_PAD: missing, partial, too much, misplaced */
    { "Zg", 0, VIGIL_B64_ERR_PAD },
    { "Zg=", 0, VIGIL_B64_ERR_PAD },
    { "Zm8", 0, VIGIL_B64_ERR_PAD },
    { "Zg===", 0, VIGIL_B64_ERR_PAD },
    { "Zm8==", 0, VIGIL_B64_ERR_PAD },
    { "Zm9v=", 0, VIGIL_B64_ERR_PAD },
    { "Zm9v====", 0, VIGIL_B64_ERR_PAD },
    { "=", 0, VIGIL_B64_ERR_PAD },
    { "====", 0, VIGIL_B64_ERR_PAD },
    { "Zg==Zg==", 0, VIGIL_B64_ERR_PAD },
    { "Zm=9", 0, VIGIL_B64_ERR_PAD },
    { "Z=m9", 0, VIGIL_B64_ERR_PAD },
    /* ERR_LENGTH: a single leftover sextet cannot hold a byte */
    { "Z", 0, VIGIL_B64_ERR_LENGTH },
    { "Zm9vY", 0, VIGIL_B64_ERR_LENGTH },
    { "Z===", 0, VIGIL_B64_ERR_LENGTH },
    { "Zm9vY===", 0, VIGIL_B64_ERR_LENGTH },
    /* ERR_BITS: non-canonical last symbol ("Zh==" would also be 'f') */
    { "Zh==", 0, VIGIL_B64_ERR_BITS },
    { "Zm9=", 0, VIGIL_B64_ERR_BITS },
    { "Zm9vYmF=", 0, VIGIL_B64_ERR_BITS },
    { "Zm9vY/==", 0, VIGIL_B64_ERR_BITS },
  };
  check_bad(kCases, sizeof(kCases) / sizeof(kCases[0]), vigil_b64_decode);
}

/* max_out too small gives TOO_LARGE and no byte at or past max_out is
 * touched; max_out exactly right succeeds. */
static void test_strict_bounds(void **state) {
  (void)state;
  static const char kIn[] = "Zm9vYmFyYmF6cXV4"; /* "foobarbazqux", 12 */
  for (size_t max_out = 0; max_out <= 12; max_out++) {
    uint8_t out[32];
    memset(out, 0xa5, sizeof(out));
    size_t out_len = 99;
    enum vigil_b64_err err =
        vigil_b64_decode(out, &out_len, max_out, kIn, strlen(kIn));
    for (size_t j = max_out; j < sizeof(out); j++) {
      assert_int_equal(out[j], 0xa5);
    }
    if (max_out < 12) {
      assert_int_equal(err, VIGIL_B64_ERR_TOO_LARGE);
      assert_int_equal(out_len, 0);
    } else {
      assert_int_equal(err, VIGIL_B64_OK);
      assert_int_equal(out_len, 12);
      assert_memory_equal(out, "foobarbazqux", 12);
    }
  }
  /* Empty input needs no buffer at all. */
  size_t out_len = 99;
  assert_int_equal(vigil_b64_decode(NULL, &out_len, 0, "", 0), VIGIL_B64_OK);
  assert_int_equal(out_len, 0);
}

/* ------------------------------------------------------------------------ */
/* OCSP GET                                                                  */
/* ------------------------------------------------------------------------ */

/* openssl ocsp -serial 0x1234 (69 bytes: no padding) */
static const char kReq1234Hex[] =
    "30433041303f303d303b300906052b0e03021a050004140dfa8cd08ece6a0d6abb559a"
    "7af4b162d59ae1f004146b7c27658f67630a7f96f047ab96586a8ab4a7f802021234";
/* openssl ocsp -serial 0x123456 (70 bytes: "==") */
static const char kReq123456Hex[] =
    "304430423040303e303c300906052b0e03021a050004140dfa8cd08ece6a0d6abb559a"
    "7af4b162d59ae1f004146b7c27658f67630a7f96f047ab96586a8ab4a7f80203123456";
/* openssl ocsp -serial 0x12345678 (71 bytes: "=") */
static const char kReq12345678Hex[] =
    "304530433041303f303d300906052b0e03021a050004140dfa8cd08ece6a0d6abb559a"
    "7af4b162d59ae1f004146b7c27658f67630a7f96f047ab96586a8ab4a7f8020412345678";

/* The committed vector is the same request (other tests parse it). */
static void test_vector_file(void **state) {
  (void)state;
  uint8_t want[128];
  size_t want_len = test_unhex(want, sizeof(want), kReq1234Hex);
  FILE *f = fopen(VIGIL_TEST_VECTORS "/ocsp_req_sha1.der", "rb");
  assert_non_null(f);
  uint8_t got[256];
  size_t got_len = fread(got, 1, sizeof(got), f);
  fclose(f);
  assert_int_equal(got_len, want_len);
  assert_memory_equal(got, want, want_len);

  /* Our encoder agrees with coreutils base64. */
  char enc[128];
  size_t n = vigil_b64_encode(enc, want, want_len);
  static const char kCoreutils[] =
      "MEMwQTA/MD0wOzAJBgUrDgMCGgUABBQN+ozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYwp/"
      "lvBHq5ZYaoq0p/gCAhI0";
  assert_int_equal(n, strlen(kCoreutils));
  assert_memory_equal(enc, kCoreutils, n);
}

struct get_variant {
  const char *what;
  const char *in;
};

static void check_variants(const char *der_hex, const struct get_variant *v,
                           size_t num) {
  uint8_t want[128];
  size_t want_len = test_unhex(want, sizeof(want), der_hex);
  for (size_t i = 0; i < num; i++) {
    uint8_t out[128];
    size_t out_len = 0;
    enum vigil_b64_err err = dec_get(out, &out_len, sizeof(out), v[i].in);
    if (err != VIGIL_B64_OK || out_len != want_len ||
        memcmp(out, want, want_len) != 0) {
      print_error("variant \"%s\" (%s): err %s, len %zu\n", v[i].what, v[i].in,
                  vigil_b64_err_string(err), out_len);
      fail();
    }
    /* Exactly enough room is enough; one byte less is TOO_LARGE. */
    assert_int_equal(dec_get(out, &out_len, want_len, v[i].in), VIGIL_B64_OK);
    assert_int_equal(dec_get(out, &out_len, want_len - 1, v[i].in),
                     VIGIL_B64_ERR_TOO_LARGE);
  }
}

static void test_ocsp_get_variants_nopad(void **state) {
  (void)state;
  static const struct get_variant kVariants[] = {
    { "raw base64 (not URL-encoded)",
      "MEMwQTA/MD0wOzAJBgUrDgMCGgUABBQN+ozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYwp/"
      "lvBHq5ZYaoq0p/gCAhI0" },
    { "urllib.parse.quote(safe='')",
      "MEMwQTA%2FMD0wOzAJBgUrDgMCGgUABBQN%2BozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9n"
      "Ywp%2FlvBHq5ZYaoq0p%2FgCAhI0" },
    { "quote, lowercase escapes",
      "MEMwQTA%2fMD0wOzAJBgUrDgMCGgUABBQN%2bozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9n"
      "Ywp%2flvBHq5ZYaoq0p%2fgCAhI0" },
    { "quote_plus(safe='/'): '/' raw, '+' escaped",
      "MEMwQTA/MD0wOzAJBgUrDgMCGgUABBQN%2BozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYw"
      "p/lvBHq5ZYaoq0p/gCAhI0" },
    { "'+' turned into ' '",
      "MEMwQTA/MD0wOzAJBgUrDgMCGgUABBQN ozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYwp/"
      "lvBHq5ZYaoq0p/gCAhI0" },
    { "'+' turned into ' ', then encoded as %20",
      "MEMwQTA%2FMD0wOzAJBgUrDgMCGgUABBQN%20ozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9n"
      "Ywp%2FlvBHq5ZYaoq0p%2FgCAhI0" },
    { "base64url (urlsafe_b64encode)",
      "MEMwQTA_MD0wOzAJBgUrDgMCGgUABBQN-ozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYwp_"
      "lvBHq5ZYaoq0p_gCAhI0" },
    { "every character percent-encoded",
      "%4d%45%4d%77%51%54%41%2f%4d%44%30%77%4f%7a%41%4a%42%67%55%72"
      "%44%67%4d%43%47%67%55%41%42%42%51%4e%2b%6f%7a%51%6a%73%35%71"
      "%44%57%71%37%56%5a%70%36%39%4c%46%69%31%5a%72%68%38%41%51%55"
      "%61%33%77%6e%5a%59%39%6e%59%77%70%2f%6c%76%42%48%71%35%5a%59"
      "%61%6f%71%30%70%2f%67%43%41%68%49%30" },
  };
  check_variants(kReq1234Hex, kVariants,
                 sizeof(kVariants) / sizeof(kVariants[0]));
}

static void test_ocsp_get_variants_pad2(void **state) {
  (void)state;
  static const struct get_variant kVariants[] = {
    { "raw base64",
      "MEQwQjBAMD4wPDAJBgUrDgMCGgUABBQN+ozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYwp/"
      "lvBHq5ZYaoq0p/gCAxI0Vg==" },
    { "quote(safe='')",
      "MEQwQjBAMD4wPDAJBgUrDgMCGgUABBQN%2BozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYw"
      "p%2FlvBHq5ZYaoq0p%2FgCAxI0Vg%3D%3D" },
    { "quote(safe='/')",
      "MEQwQjBAMD4wPDAJBgUrDgMCGgUABBQN%2BozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYw"
      "p/lvBHq5ZYaoq0p/gCAxI0Vg%3D%3D" },
    { "no padding",
      "MEQwQjBAMD4wPDAJBgUrDgMCGgUABBQN+ozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYwp/"
      "lvBHq5ZYaoq0p/gCAxI0Vg" },
    { "partial padding",
      "MEQwQjBAMD4wPDAJBgUrDgMCGgUABBQN+ozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYwp/"
      "lvBHq5ZYaoq0p/gCAxI0Vg=" },
    { "partial padding, encoded",
      "MEQwQjBAMD4wPDAJBgUrDgMCGgUABBQN%2BozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYw"
      "p%2FlvBHq5ZYaoq0p%2FgCAxI0Vg%3d" },
    { "base64url, padded",
      "MEQwQjBAMD4wPDAJBgUrDgMCGgUABBQN-ozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYwp_"
      "lvBHq5ZYaoq0p_gCAxI0Vg==" },
    { "base64url, unpadded",
      "MEQwQjBAMD4wPDAJBgUrDgMCGgUABBQN-ozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYwp_"
      "lvBHq5ZYaoq0p_gCAxI0Vg" },
    { "'+' as ' ', unpadded",
      "MEQwQjBAMD4wPDAJBgUrDgMCGgUABBQN ozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYwp/"
      "lvBHq5ZYaoq0p/gCAxI0Vg" },
  };
  check_variants(kReq123456Hex, kVariants,
                 sizeof(kVariants) / sizeof(kVariants[0]));
}

static void test_ocsp_get_variants_pad1(void **state) {
  (void)state;
  static const struct get_variant kVariants[] = {
    { "raw base64",
      "MEUwQzBBMD8wPTAJBgUrDgMCGgUABBQN+ozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYwp/"
      "lvBHq5ZYaoq0p/gCBBI0Vng=" },
    { "quote(safe='')",
      "MEUwQzBBMD8wPTAJBgUrDgMCGgUABBQN%2BozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYw"
      "p%2FlvBHq5ZYaoq0p%2FgCBBI0Vng%3D" },
    { "no padding",
      "MEUwQzBBMD8wPTAJBgUrDgMCGgUABBQN+ozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYwp/"
      "lvBHq5ZYaoq0p/gCBBI0Vng" },
    { "base64url, padded",
      "MEUwQzBBMD8wPTAJBgUrDgMCGgUABBQN-ozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYwp_"
      "lvBHq5ZYaoq0p_gCBBI0Vng=" },
    { "base64url, unpadded",
      "MEUwQzBBMD8wPTAJBgUrDgMCGgUABBQN-ozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYwp_"
      "lvBHq5ZYaoq0p_gCBBI0Vng" },
    { "'+' as ' ', '=' encoded",
      "MEUwQzBBMD8wPTAJBgUrDgMCGgUABBQN ozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYwp/"
      "lvBHq5ZYaoq0p/gCBBI0Vng%3D" },
  };
  check_variants(kReq12345678Hex, kVariants,
                 sizeof(kVariants) / sizeof(kVariants[0]));
}

static void test_ocsp_get_errors(void **state) {
  (void)state;
  static const struct bad_case kCases[] = {
    /* ERR_CHAR: no whitespace skipping, no other punctuation */
    { "Zm9v.", 0, VIGIL_B64_ERR_CHAR },
    { "Zm9v\n", 0, VIGIL_B64_ERR_CHAR },
    { "Zm9v\r\n", 0, VIGIL_B64_ERR_CHAR },
    { "Zm\t9v", 0, VIGIL_B64_ERR_CHAR },
    { "Zm9v%0A", 0, VIGIL_B64_ERR_CHAR },
    { "Zm9v%2E", 0, VIGIL_B64_ERR_CHAR },
    { "Zm9v?x=1", 0, VIGIL_B64_ERR_CHAR },
    { "Zm9v\0", 5, VIGIL_B64_ERR_CHAR },
    { "Zm9v%00", 0, VIGIL_B64_ERR_CHAR },
    { "%25", 0, VIGIL_B64_ERR_CHAR }, /* single level of decoding only */
    /* ERR_PERCENT */
    { "%", 0, VIGIL_B64_ERR_PERCENT },
    { "Zm9v%", 0, VIGIL_B64_ERR_PERCENT },
    { "Zm9v%2", 0, VIGIL_B64_ERR_PERCENT },
    { "Zm9v%2G", 0, VIGIL_B64_ERR_PERCENT },
    { "Zm9v%G2", 0, VIGIL_B64_ERR_PERCENT },
    { "Zm9v% 2", 0, VIGIL_B64_ERR_PERCENT },
    { "Zm9v%+2", 0, VIGIL_B64_ERR_PERCENT },
    /* ERR_PAD: padding is optional, but never too much or misplaced */
    { "Zg===", 0, VIGIL_B64_ERR_PAD },
    { "Zg%3D%3D%3D", 0, VIGIL_B64_ERR_PAD },
    { "Zm8==", 0, VIGIL_B64_ERR_PAD },
    { "Zm9v=", 0, VIGIL_B64_ERR_PAD },
    { "Zg=Zg", 0, VIGIL_B64_ERR_PAD },
    { "Zg==Zm9v", 0, VIGIL_B64_ERR_PAD },
    { "=", 0, VIGIL_B64_ERR_PAD },
    /* ERR_LENGTH */
    { "Z", 0, VIGIL_B64_ERR_LENGTH },
    { "Zm9vY", 0, VIGIL_B64_ERR_LENGTH },
    { "Zm9vY=", 0, VIGIL_B64_ERR_LENGTH },
    { "MEMwQTA/MD0wOzAJBgUrDgMCGgUABBQN+ozQjs5qDWq7VZp69LFi1Zrh8AQUa3wnZY9nYw"
      "p/lvBHq5ZYaoq0p/gCAhI0M",
      0, VIGIL_B64_ERR_LENGTH },
    /* ERR_BITS */
    { "Zh", 0, VIGIL_B64_ERR_BITS },
    { "Zm9", 0, VIGIL_B64_ERR_BITS },
    { "Z_", 0, VIGIL_B64_ERR_BITS },
  };
  check_bad(kCases, sizeof(kCases) / sizeof(kCases[0]),
            vigil_b64_decode_ocsp_get);
}

static void test_ocsp_get_bounds(void **state) {
  (void)state;
  static const char kIn[] = "MEMwQTA%2FMD0wOzAJBgUrDgMCGgUABBQN%2BozQjs5qDWq7";
  uint8_t full[64];
  size_t full_len = 0;
  assert_int_equal(dec_get(full, &full_len, sizeof(full), kIn), VIGIL_B64_OK);
  assert_int_equal(full_len, 33);
  for (size_t max_out = 0; max_out < full_len; max_out++) {
    uint8_t out[64];
    memset(out, 0xa5, sizeof(out));
    size_t out_len = 99;
    assert_int_equal(dec_get(out, &out_len, max_out, kIn),
                     VIGIL_B64_ERR_TOO_LARGE);
    assert_int_equal(out_len, 0);
    for (size_t j = 0; j < sizeof(out); j++) {
      assert_int_equal(out[j], 0xa5);
    }
  }
  size_t out_len = 99;
  assert_int_equal(vigil_b64_decode_ocsp_get(NULL, &out_len, 0, "", 0),
                   VIGIL_B64_OK);
  assert_int_equal(out_len, 0);
}

/* ------------------------------------------------------------------------ */
/* Percent-decoding                                                          */
/* ------------------------------------------------------------------------ */

static void test_url_decode(void **state) {
  (void)state;
  char out[64];
  size_t out_len = 0;
  static const char kIn[] = "a%2Fb%2fc+d%20e%00f%41%7e";
  assert_int_equal(
      vigil_url_decode(out, &out_len, sizeof(out), kIn, strlen(kIn)),
      VIGIL_B64_OK);
  assert_int_equal(out_len, 13);
  assert_memory_equal(out, "a/b/c+d e\0fA~", 13);

  /* Nothing to decode: a copy. */
  assert_int_equal(vigil_url_decode(out, &out_len, sizeof(out), "abc", 3),
                   VIGIL_B64_OK);
  assert_int_equal(out_len, 3);
  assert_memory_equal(out, "abc", 3);
  assert_int_equal(vigil_url_decode(NULL, &out_len, 0, "", 0), VIGIL_B64_OK);
  assert_int_equal(out_len, 0);

  /* In place. */
  char buf[] = "%4D%45%4d%77+x%2F";
  assert_int_equal(
      vigil_url_decode(buf, &out_len, sizeof(buf), buf, strlen(buf)),
      VIGIL_B64_OK);
  assert_int_equal(out_len, 7);
  assert_memory_equal(buf, "MEMw+x/", 7);
}

static void test_url_decode_errors(void **state) {
  (void)state;
  static const char *const kBad[] = { "%",   "ab%",  "ab%4", "%4g",
                                      "%g4", "%%41", "% 41", "%-1" };
  for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
    char out[16];
    memset(out, 'Q', sizeof(out));
    size_t out_len = 99;
    assert_int_equal(
        vigil_url_decode(out, &out_len, sizeof(out), kBad[i], strlen(kBad[i])),
        VIGIL_B64_ERR_PERCENT);
    assert_int_equal(out_len, 0);
    for (size_t j = 0; j < sizeof(out); j++) {
      assert_int_equal(out[j], 'Q');
    }
  }

  /* A failed in-place decode leaves the input intact. */
  char buf[] = "%41%42%4";
  size_t out_len = 99;
  assert_int_equal(
      vigil_url_decode(buf, &out_len, sizeof(buf), buf, strlen(buf)),
      VIGIL_B64_ERR_PERCENT);
  assert_string_equal(buf, "%41%42%4");

  /* Bounds: "a%41b" decodes to 3 bytes. */
  for (size_t max_out = 0; max_out <= 3; max_out++) {
    char out[8];
    memset(out, 'Q', sizeof(out));
    enum vigil_b64_err err =
        vigil_url_decode(out, &out_len, max_out, "a%41b", 5);
    for (size_t j = max_out; j < sizeof(out); j++) {
      assert_int_equal(out[j], 'Q');
    }
    if (max_out < 3) {
      assert_int_equal(err, VIGIL_B64_ERR_TOO_LARGE);
      assert_int_equal(out_len, 0);
    } else {
      assert_int_equal(err, VIGIL_B64_OK);
      assert_int_equal(out_len, 3);
      assert_memory_equal(out, "aAb", 3);
    }
  }
}

static void test_err_string(void **state) {
  (void)state;
  static const enum vigil_b64_err kAll[] = {
    VIGIL_B64_OK,
    VIGIL_B64_ERR_CHAR,
    VIGIL_B64_ERR_PAD,
    VIGIL_B64_ERR_LENGTH,
    VIGIL_B64_ERR_BITS,
    VIGIL_B64_ERR_PERCENT,
    VIGIL_B64_ERR_TOO_LARGE,
  };
  size_t num = sizeof(kAll) / sizeof(kAll[0]);
  for (size_t i = 0; i < num; i++) {
    const char *s = vigil_b64_err_string(kAll[i]);
    assert_non_null(s);
    assert_true(strlen(s) > 0);
    for (size_t j = 0; j < i; j++) {
      assert_string_not_equal(s, vigil_b64_err_string(kAll[j]));
    }
  }
  assert_non_null(vigil_b64_err_string((enum vigil_b64_err)1000));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_encoded_len),
    cmocka_unit_test(test_rfc4648_encode),
    cmocka_unit_test(test_rfc4648_decode),
    cmocka_unit_test(test_alphabet_62_63),
    cmocka_unit_test(test_round_trip),
    cmocka_unit_test(test_strict_errors),
    cmocka_unit_test(test_strict_bounds),
    cmocka_unit_test(test_vector_file),
    cmocka_unit_test(test_ocsp_get_variants_nopad),
    cmocka_unit_test(test_ocsp_get_variants_pad2),
    cmocka_unit_test(test_ocsp_get_variants_pad1),
    cmocka_unit_test(test_ocsp_get_errors),
    cmocka_unit_test(test_ocsp_get_bounds),
    cmocka_unit_test(test_url_decode),
    cmocka_unit_test(test_url_decode_errors),
    cmocka_unit_test(test_err_string),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
