/* test_cert.c: unit tests for vigil/cert.h (views and PEM). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/mem.h>

#include "vigil/alloc.h"
#include "vigil/cert.h"

#define VEC(name) VIGIL_TEST_VECTORS "/" name

static size_t read_vec(uint8_t *buf, size_t max, const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t n = fread(buf, 1, max, f);
  fclose(f);
  assert_true(n > 0 && n < max);
  return n;
}

static void test_parse_ca_pem_and_der(void **state) {
  (void)state;
  enum vigil_cert_err err;
  struct vigil_cert *pem = vigil_cert_load_file(&err, VEC("ca_p256.pem"));
  assert_non_null(pem);
  struct vigil_cert *der = vigil_cert_load_file(&err, VEC("ca_p256.der"));
  assert_non_null(der);
  assert_int_equal(CBS_len(&pem->der), CBS_len(&der->der));
  assert_memory_equal(CBS_data(&pem->der), CBS_data(&der->der),
                      CBS_len(&der->der));
  assert_true(pem->is_ca);
  /* Self-signed: issuer == subject and the signature verifies. */
  assert_int_equal(CBS_len(&pem->issuer), CBS_len(&pem->subject));
  assert_memory_equal(CBS_data(&pem->issuer), CBS_data(&pem->subject),
                      CBS_len(&pem->subject));
  assert_true(vigil_cert_verify_signed_by(pem, pem));
  /* -days 3650 */
  assert_int_equal(pem->not_after - pem->not_before, 3650 * 86400);
  vigil_cert_free(pem);
  vigil_cert_free(der);
}

static void test_leaf_signed_by_ca(void **state) {
  (void)state;
  enum vigil_cert_err err;
  struct vigil_cert *ca = vigil_cert_load_file(&err, VEC("ca_p256.pem"));
  struct vigil_cert *leaf = vigil_cert_load_file(&err, VEC("leaf_ed25519.pem"));
  assert_non_null(ca);
  assert_non_null(leaf);
  assert_false(leaf->is_ca);
  /* -set_serial 0x00ab12: DER INTEGER contents 00 ab 12 (sign octet). */
  static const uint8_t kSerial[] = { 0x00, 0xab, 0x12 };
  assert_int_equal(CBS_len(&leaf->serial), sizeof(kSerial));
  assert_memory_equal(CBS_data(&leaf->serial), kSerial, sizeof(kSerial));
  assert_true(vigil_cert_verify_signed_by(leaf, ca));
  assert_false(vigil_cert_verify_signed_by(leaf, leaf));
  assert_false(vigil_cert_verify_signed_by(ca, leaf));
  assert_int_equal(EVP_PKEY_id(leaf->pubkey), EVP_PKEY_ED25519);
  vigil_cert_free(ca);
  vigil_cert_free(leaf);
}

static void test_tampered_signature(void **state) {
  (void)state;
  uint8_t buf[4096];
  size_t n = read_vec(buf, sizeof(buf), VEC("ca_p256.der"));
  enum vigil_cert_err err;
  /* Flip a bit in the last byte (inside the signature). */
  buf[n - 1] ^= 0x01;
  struct vigil_cert *c = vigil_cert_parse(&err, buf, n);
  assert_non_null(c); /* structure still fine */
  assert_false(vigil_cert_verify_signed_by(c, c));
  vigil_cert_free(c);
  /* Flip a bit inside the TBS (in the subject). */
  buf[n - 1] ^= 0x01;
  c = vigil_cert_parse(&err, buf, n);
  assert_non_null(c);
  size_t off = (size_t)(CBS_data(&c->subject) - CBS_data(&c->der)) + 10;
  vigil_cert_free(c);
  buf[off] ^= 0x01;
  c = vigil_cert_parse(&err, buf, n);
  if (c != NULL) {
    assert_false(vigil_cert_verify_signed_by(c, c));
    vigil_cert_free(c);
  }
}

static void test_truncations_and_garbage(void **state) {
  (void)state;
  uint8_t buf[4096];
  size_t n = read_vec(buf, sizeof(buf), VEC("ca_p256.der"));
  enum vigil_cert_err err;
  for (size_t i = 0; i < n; i++) {
    uint8_t *copy = malloc(i == 0 ? 1 : i);
    assert_non_null(copy);
    memcpy(copy, buf, i);
    assert_null(vigil_cert_parse(&err, copy, i));
    free(copy);
  }
  buf[n] = 0x00;
  assert_null(vigil_cert_parse(&err, buf, n + 1));
  assert_int_equal(err, VIGIL_CERT_ERR_DER);

  static const uint8_t kNotPem[] = "hello";
  assert_null(vigil_cert_parse(&err, kNotPem, 5));
  assert_int_equal(err, VIGIL_CERT_ERR_PEM);
  assert_null(vigil_cert_load_file(&err, VEC("missing.pem")));
  assert_int_equal(err, VIGIL_CERT_ERR_IO);
  /* A key file is not a certificate. */
  assert_null(vigil_cert_load_file(&err, VEC("key_p256_pkcs8.pem")));
  assert_int_equal(err, VIGIL_CERT_ERR_PEM);
}

static void test_pem_roundtrip(void **state) {
  (void)state;
  uint8_t der[3000];
  for (size_t len = 1; len < sizeof(der); len += 37) {
    for (size_t i = 0; i < len; i++) {
      der[i] = (uint8_t)(i * 7 + len);
    }
    CBB cbb;
    assert_true(CBB_init(&cbb, 64));
    assert_true(vigil_pem_encode(&cbb, "X509 CRL", der, len));
    uint8_t *pem;
    size_t pem_len;
    assert_true(CBB_finish(&cbb, &pem, &pem_len));
    /* Lines are at most 64 characters. */
    size_t line = 0;
    for (size_t i = 0; i < pem_len; i++) {
      line = pem[i] == '\n' ? 0 : line + 1;
      assert_true(line <= 64 || memchr(pem, '-', 1) != NULL);
    }
    uint8_t *back;
    size_t back_len;
    assert_true(vigil_pem_decode(&back, &back_len, "X509 CRL", pem, pem_len));
    assert_int_equal(back_len, len);
    assert_memory_equal(back, der, len);
    vigil_free(back);
    /* Another label is not found. */
    assert_false(
        vigil_pem_decode(&back, &back_len, "CERTIFICATE", pem, pem_len));
    assert_null(back);
    OPENSSL_free(pem);
  }
}

static void test_pem_rejects(void **state) {
  (void)state;
  uint8_t *out;
  size_t out_len;
  static const char kNoEnd[] = "-----BEGIN CERTIFICATE-----\nMIIB\n";
  assert_false(vigil_pem_decode(&out, &out_len, "CERTIFICATE",
                                (const uint8_t *)kNoEnd, strlen(kNoEnd)));
  static const char kEncrypted[] =
      "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nAAAA\n"
      "-----END RSA PRIVATE KEY-----\n";
  assert_false(vigil_pem_decode(&out, &out_len, "RSA PRIVATE KEY",
                                (const uint8_t *)kEncrypted,
                                strlen(kEncrypted)));
  static const char kEmpty[] =
      "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
  assert_false(vigil_pem_decode(&out, &out_len, "CERTIFICATE",
                                (const uint8_t *)kEmpty, strlen(kEmpty)));
  static const char kBadB64[] =
      "-----BEGIN CERTIFICATE-----\nAB*D\n-----END CERTIFICATE-----\n";
  assert_false(vigil_pem_decode(&out, &out_len, "CERTIFICATE",
                                (const uint8_t *)kBadB64, strlen(kBadB64)));
}

static void test_alloc_failures(void **state) {
  (void)state;
  uint8_t buf[4096];
  size_t n = read_vec(buf, sizeof(buf), VEC("ca_p256.pem"));
  int saw_success = 0;
  for (unsigned long i = 0; i < 20 && !saw_success; i++) {
    vigil_alloc_fail_reset();
    vigil_alloc_fail_after(i, 0);
    enum vigil_cert_err err;
    struct vigil_cert *c = vigil_cert_parse(&err, buf, n);
    if (c != NULL) {
      saw_success = vigil_alloc_failures() == 0;
      vigil_cert_free(c);
    } else {
      assert_int_equal(err, VIGIL_CERT_ERR_NOMEM);
    }
  }
  vigil_alloc_fail_reset();
  assert_true(saw_success);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_ca_pem_and_der),
    cmocka_unit_test(test_leaf_signed_by_ca),
    cmocka_unit_test(test_tampered_signature),
    cmocka_unit_test(test_truncations_and_garbage),
    cmocka_unit_test(test_pem_roundtrip),
    cmocka_unit_test(test_pem_rejects),
    cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
