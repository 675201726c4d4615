/* test_hex.c: hex encoding/decoding and the Redis-key serial form
 * (vigil/hex.h, DESIGN.md section 3).
 *
 * Expected serial strings for negative INTEGERs were computed with Python's
 * int.from_bytes(..., signed=True); the random loop compares with the C
 * library's printf("%llx"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <vigil/hex.h>

static uint64_t next_rand(uint64_t *state) {
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *state = x;
  return x;
}

static void test_encode(void **state) {
  (void)state;
  static const uint8_t kIn[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
  char out[16];
  memset(out, '#', sizeof(out));
  vigil_hex_encode(out, kIn, sizeof(kIn));
  assert_string_equal(out, "00017f80abff");
  assert_int_equal(out[13], '#');

  memset(out, '#', sizeof(out));
  vigil_hex_encode(out, kIn, 0);
  assert_int_equal(out[0], '\0');
  assert_int_equal(out[1], '#');
}

static void test_decode(void **state) {
  (void)state;
  uint8_t out[8];
  size_t out_len = 99;
  assert_int_equal(
      vigil_hex_decode(out, &out_len, sizeof(out), "00017F80aBfF", 12), 1);
  assert_int_equal(out_len, 6);
  static const uint8_t kWant[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
  assert_memory_equal(out, kWant, sizeof(kWant));

  assert_int_equal(vigil_hex_decode(NULL, &out_len, 0, "", 0), 1);
  assert_int_equal(out_len, 0);

  /* Every byte value round-trips through encode and decode. */
  uint8_t all[256];
  for (int i = 0; i < 256; i++) {
    all[i] = (uint8_t)i;
  }
  char enc[513];
  vigil_hex_encode(enc, all, sizeof(all));
  uint8_t back[256];
  assert_int_equal(vigil_hex_decode(back, &out_len, sizeof(back), enc, 512), 1);
  assert_int_equal(out_len, 256);
  assert_memory_equal(back, all, 256);
}

static void test_decode_errors(void **state) {
  (void)state;
  static const char *const kBad[] = { "0",    "abc", "0g", "g0", " 0",
                                      "0x12", "12 ", "-1", "1\n" };
  for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
    uint8_t out[8];
    memset(out, 0xa5, sizeof(out));
    size_t out_len = 99;
    assert_int_equal(
        vigil_hex_decode(out, &out_len, sizeof(out), kBad[i], strlen(kBad[i])),
        0);
    assert_int_equal(out_len, 0);
    for (size_t j = 0; j < sizeof(out); j++) {
      assert_int_equal(out[j], 0xa5);
    }
  }
  /* An embedded NUL is not a digit. */
  size_t out_len = 99;
  uint8_t out[4];
  assert_int_equal(vigil_hex_decode(out, &out_len, sizeof(out), "1\0", 2), 0);

  /* Too little room: refused, nothing written. */
  for (size_t max_out = 0; max_out < 3; max_out++) {
    uint8_t buf[8];
    memset(buf, 0xa5, sizeof(buf));
    assert_int_equal(vigil_hex_decode(buf, &out_len, max_out, "aabbcc", 6), 0);
    assert_int_equal(out_len, 0);
    for (size_t j = 0; j < sizeof(buf); j++) {
      assert_int_equal(buf[j], 0xa5);
    }
  }
  uint8_t buf[3];
  assert_int_equal(vigil_hex_decode(buf, &out_len, 3, "aabbcc", 6), 1);
  assert_int_equal(out_len, 3);
}

struct serial_case {
  const char *der_hex; /* INTEGER contents */
  const char *want;
};

static void test_serial_hex(void **state) {
  (void)state;
  static const struct serial_case kCases[] = {
    { "", "0" },
    { "00", "0" },
    { "0000", "0" },
    { "01", "1" },
    { "0f", "f" },
    { "10", "10" },
    { "7f", "7f" },
    { "00ff", "ff" }, /* DER sign octet dropped */
    { "0080", "80" },
    { "1234", "1234" },
    { "0100", "100" },
    { "000001", "1" }, /* non-minimal input: same integer, same key */
    { "00ab12", "ab12" },
    /* A 20-octet CSPRNG serial, the RFC 5280 maximum, with sign octet. */
    { "00c1d2e3f405162738495a6b7c8d9eafb0c1d2e3f4",
      "c1d2e3f405162738495a6b7c8d9eafb0c1d2e3f4" },
    { "0a1b2c3d4e5f60718293a4b5c6d7e8f9000a0b0c",
      "a1b2c3d4e5f60718293a4b5c6d7e8f9000a0b0c" },
    /* Negative (not RFC 5280 conformant, but a request can carry one): a
     * sign and the magnitude, so they never alias a positive serial. */
    { "ff", "-1" },
    { "80", "-80" },
    { "ff00", "-100" },
    { "8000", "-8000" },
    { "ff7f", "-81" },
    { "feff", "-101" },
    { "80000000000000000000", "-80000000000000000000" },
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    uint8_t der[32];
    size_t der_len = 0;
    assert_int_equal(
        vigil_hex_decode(der, &der_len, sizeof(der), kCases[i].der_hex,
                         strlen(kCases[i].der_hex)),
        1);
    char out[80];
    memset(out, '#', sizeof(out));
    size_t n = vigil_serial_hex(out, der, der_len);
    if (strcmp(out, kCases[i].want) != 0) {
      print_error("serial %s: got \"%s\", want \"%s\"\n", kCases[i].der_hex,
                  out, kCases[i].want);
      fail();
    }
    assert_int_equal(n, strlen(kCases[i].want));
    /* Within the documented 2*in_len+2 bytes. */
    assert_true(n + 1 <= 2 * der_len + 2);
    assert_int_equal(out[2 * der_len + 2], '#');
  }
}

/* Random 1..8-octet INTEGERs against printf of the same value. */
static void test_serial_hex_vs_printf(void **state) {
  (void)state;
  uint64_t seed = 0x243f6a8885a308d3u;
  for (int iter = 0; iter < 20000; iter++) {
    size_t len = 1 + (size_t)(next_rand(&seed) % 8);
    uint8_t der[8];
    uint64_t r = next_rand(&seed);
    /* Bias towards leading zero bytes and 0xff bytes. */
    int shape = (int)(next_rand(&seed) % 4);
    for (size_t i = 0; i < len; i++) {
      der[i] = (uint8_t)(r >> (8 * i));
    }
    if (shape == 1) {
      der[0] = 0x00;
    } else if (shape == 2) {
      der[0] = 0xff;
    } else if (shape == 3 && len > 1) {
      der[0] = 0x00;
      der[1] = 0x00;
    }
    /* Sign-extend the big-endian two's complement value. */
    uint64_t u = (der[0] & 0x80) != 0 ? UINT64_MAX : 0;
    for (size_t i = 0; i < len; i++) {
      u = u << 8 | der[i];
    }
    char want[24];
    if ((u >> 63) != 0) {
      snprintf(want, sizeof(want), "-%llx", (unsigned long long)(0 - u));
    } else {
      snprintf(want, sizeof(want), "%llx", (unsigned long long)u);
    }
    char out[20];
    size_t n = vigil_serial_hex(out, der, len);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_encode),
    cmocka_unit_test(test_decode),
    cmocka_unit_test(test_decode_errors),
    cmocka_unit_test(test_serial_hex),
    cmocka_unit_test(test_serial_hex_vs_printf),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
