/* test_edge_getpath.c: the edge's single-pass OCSP GET decoder
 * (edge/getpath.h).
 *
 * The truth is the bytes we encoded: random byte strings are base64-encoded
 * and then mangled the ways real clients send them (percent-encoding of
 * '+', '/' and '=' in either case, '+' as a space, base64url, padding
 * dropped or partial); each must decode back to the same bytes, and agree
 * with vigil_b64_decode_ocsp_get. Inputs the library refuses must be
 * declined (0), so the server falls back to the library's error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "getpath.h"
#include "vigil/b64.h"

#define MAX_BYTES 300
#define MAX_TEXT  (3 * 4 * (MAX_BYTES / 3 + 1) + 1)

/* next_rand: a fixed-seed xorshift, so failures reproduce. */
static uint32_t next_rand(uint32_t *state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return x;
}

/* mangle writes |b64| (NUL-terminated, standard alphabet, padded) into
 * |out| the way variant |v| of a client would send it; returns the
 * length. */
static size_t mangle(char *out, const char *b64, unsigned v) {
  size_t o = 0;
  size_t len = strlen(b64);
  if (v == 4 || v == 5) {
    while (len > 0 && b64[len - 1] == '=') {
      len--; /* no padding */
      if (v == 5) {
        break; /* partial padding: one '=' dropped */
      }
    }
  }
  for (size_t i = 0; i < len; i++) {
    char c = b64[i];
    const char *rep = NULL;
    switch (v) {
      case 1: /* RFC 5019 url-encoding, upper-case hex */
        rep = c == '+' ? "%2B" : c == '/' ? "%2F" : c == '=' ? "%3D" : NULL;
        break;
      case 2: /* lower-case hex, everything else plain */
        rep = c == '+' ? "%2b" : c == '/' ? "%2f" : c == '=' ? "%3d" : NULL;
        break;
      case 3: /* '+' turned into a space by a form decoder */
        rep = c == '+' ? " " : NULL;
        break;
      case 4: /* base64url without padding */
        rep = c == '+' ? "-" : c == '/' ? "_" : NULL;
        break;
      case 6: /* every letter percent-encoded too */
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
          out[o++] = '%';
          out[o++] = "0123456789ABCDEF"[(unsigned char)c >> 4];
          out[o++] = "0123456789abcdef"[(unsigned char)c & 15];
          continue;
        }
        break;
      default:
        break;
    }
    if (rep != NULL) {
      size_t n = strlen(rep);
      memcpy(out + o, rep, n);
      o += n;
    } else {
      out[o++] = c;
    }
  }
  return o;
}

static void test_round_trips(void **state) {
  (void)state;
  uint32_t seed = 0x5eed1234u;
  static uint8_t bytes[MAX_BYTES];
  static char b64[MAX_TEXT];
  static char text[3 * MAX_TEXT];
  static uint8_t out[MAX_BYTES + 8];
  static uint8_t ref[MAX_BYTES + 8];
  for (unsigned iter = 0; iter < 3000; iter++) {
    size_t n = next_rand(&seed) % MAX_BYTES;
    for (size_t i = 0; i < n; i++) {
      bytes[i] = (uint8_t)next_rand(&seed);
    }
    size_t b64_len = vigil_b64_encode(b64, bytes, n);
    b64[b64_len] = '\0';
    for (unsigned v = 0; v <= 6; v++) {
      size_t text_len = mangle(text, b64, v);
      size_t got = 0, ref_len = 0;
      if (!edge_getpath_decode(out, &got, sizeof(out), text, text_len)) {
        fail_msg("variant %u of %zu bytes declined: %.*s", v, n, (int)text_len,
                 text);
      }
      assert_int_equal(got, n);
      assert_memory_equal(out, bytes, n);
      assert_int_equal(
          vigil_b64_decode_ocsp_get(ref, &ref_len, sizeof(ref), text, text_len),
          VIGIL_B64_OK);
      assert_int_equal(ref_len, n);
      /* An output bound one byte short: declined (the library says
       * TOO_LARGE), never written past. */
      if (n > 0) {
        uint8_t *tight = malloc(n - 1 == 0 ? 1 : n - 1);
        assert_non_null(tight);
        assert_false(edge_getpath_decode(tight, &got, n - 1, text, text_len));
        free(tight);
      }
    }
  }
}

/* What the library refuses, the fast path declines. */
static void test_declines(void **state) {
  (void)state;
  static const char *const kBad[] = {
    "QQ==QQ==", /* data after padding */
    "QR==",     /* non-zero unused bits */
    "QUJ=",     /* fine */
    "Q",        /* one leftover sextet */
    "QQ===",    /* too much padding */
    "QUJD%2",   /* cut escape */
    "QUJD%G0",  /* bad hex */
    "Q%25Q=",   /* an escaped '%' */
    "QU.D",     /* outside both alphabets */
    "QUJD\n",   /* no whitespace skipping */
    "QU%00D",   /* NUL */
  };
  for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
    uint8_t out[16], ref[16];
    size_t got = 0, ref_len = 0;
    size_t len = strlen(kBad[i]);
    int fast = edge_getpath_decode(out, &got, sizeof(out), kBad[i], len);
    enum vigil_b64_err err =
        vigil_b64_decode_ocsp_get(ref, &ref_len, sizeof(ref), kBad[i], len);
    if (fast != (err == VIGIL_B64_OK)) {
      fail_msg("%s: fast %d, library %d", kBad[i], fast, (int)err);
    }
    if (fast) {
      assert_int_equal(got, ref_len);
      assert_memory_equal(out, ref, got);
    }
  }
  /* Empty: nothing, like the library. */
  size_t got = 1;
  assert_true(edge_getpath_decode(NULL, &got, 0, "", 0));
  assert_int_equal(got, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_round_trips),
    cmocka_unit_test(test_declines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
