/* test_key.c: unit tests for vigil/key.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/alloc.h"
#include "vigil/cert.h"
#include "vigil/key.h"

#define VEC(name) VIGIL_TEST_VECTORS "/" name

/* copy_to_tmp copies vector |name| into a fresh temp dir with |mode| and
 * writes the new path to |out| (|out_len| bytes). */
static void copy_to_tmp(char *out, size_t out_len, const char *name,
                        mode_t mode) {
  char dir[] = "/tmp/vigil-test-key.XXXXXX";
  assert_non_null(mkdtemp(dir));
  snprintf(out, out_len, "%s/key.pem", dir);
  FILE *in = fopen(VEC("key_p256_pkcs8.pem"), "rb");
  assert_non_null(in);
  (void)name;
  FILE *o = fopen(out, "wb");
  assert_non_null(o);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
    assert_int_equal(fwrite(buf, 1, n, o), n);
  }
  fclose(in);
  fclose(o);
  assert_int_equal(chmod(out, mode), 0);
}

static void remove_tmp(const char *path) {
  char dir[4096];
  snprintf(dir, sizeof(dir), "%s", path);
  char *slash = strrchr(dir, '/');
  assert_non_null(slash);
  unlink(path);
  *slash = '\0';
  rmdir(dir);
}

static void test_load_formats(void **state) {
  static const struct {
    const char *file;
    enum vigil_key_type type;
  } kCases[] = {
    { VEC("key_p256_sec1.pem"), VIGIL_KEY_EC_P256 },
    { VEC("key_p256_pkcs8.pem"), VIGIL_KEY_EC_P256 },
    { VEC("key_p256_pkcs8.der"), VIGIL_KEY_EC_P256 },
    { VEC("key_p256_sec1.der"), VIGIL_KEY_EC_P256 },
    { VEC("key_p384_sec1.pem"), VIGIL_KEY_EC_P384 },
    { VEC("key_rsa2048_pkcs1.pem"), VIGIL_KEY_RSA },
    { VEC("key_ed25519.pem"), VIGIL_KEY_ED25519 },
  };
  (void)state;
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    enum vigil_key_err err = VIGIL_KEY_ERR_IO;
    struct vigil_key *key = vigil_key_load_file(&err, kCases[i].file, 0);
    assert_non_null(key);
    assert_int_equal(err, VIGIL_KEY_OK);
    assert_int_equal(vigil_key_get_type(key), kCases[i].type);
    vigil_key_free(key);
  }
}

static void test_same_key_all_encodings(void **state) {
  (void)state;
  const char *files[] = { VEC("key_p256_sec1.pem"), VEC("key_p256_pkcs8.pem"),
                          VEC("key_p256_pkcs8.der"), VEC("key_p256_sec1.der") };
  enum vigil_key_err err;
  struct vigil_key *first = vigil_key_load_file(&err, files[0], 0);
  assert_non_null(first);
  for (size_t i = 1; i < 4; i++) {
    struct vigil_key *k = vigil_key_load_file(&err, files[i], 0);
    assert_non_null(k);
    assert_memory_equal(vigil_key_get0_sha256(first), vigil_key_get0_sha256(k),
                        32);
    vigil_key_free(k);
  }
  vigil_key_free(first);
}

static void test_rejects(void **state) {
  (void)state;
  enum vigil_key_err err = VIGIL_KEY_OK;
  assert_null(vigil_key_load_file(&err, VEC("key_p521_sec1.pem"), 0));
  assert_int_equal(err, VIGIL_KEY_ERR_UNSUPPORTED);
  assert_null(vigil_key_load_file(&err, VEC("key_rsa1024.pem"), 0));
  assert_int_equal(err, VIGIL_KEY_ERR_UNSUPPORTED);
  assert_null(vigil_key_load_file(&err, VEC("does-not-exist.pem"), 0));
  assert_int_equal(err, VIGIL_KEY_ERR_IO);
  /* A certificate is not a key. */
  assert_null(vigil_key_load_file(&err, VEC("ca_p256.pem"), 0));
  assert_int_equal(err, VIGIL_KEY_ERR_PARSE);

  static const uint8_t kGarbage[] = "not a key at all";
  assert_null(vigil_key_parse(&err, kGarbage, sizeof(kGarbage) - 1));
  assert_int_equal(err, VIGIL_KEY_ERR_PARSE);
  static const uint8_t kBadPem[] =
      "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n";
  assert_null(vigil_key_parse(&err, kBadPem, sizeof(kBadPem) - 1));
  assert_int_equal(err, VIGIL_KEY_ERR_PARSE);

  size_t big_len = 65537;
  uint8_t *big = calloc(1, big_len);
  assert_non_null(big);
  assert_null(vigil_key_parse(&err, big, big_len));
  assert_int_equal(err, VIGIL_KEY_ERR_TOO_LARGE);
  free(big);
}

static void test_trailing_data_rejected(void **state) {
  (void)state;
  FILE *f = fopen(VEC("key_p256_pkcs8.der"), "rb");
  assert_non_null(f);
  uint8_t buf[512];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = 0x00;
  enum vigil_key_err err;
  assert_null(vigil_key_parse(&err, buf, n + 1));
  assert_int_equal(err, VIGIL_KEY_ERR_PARSE);
  /* Every truncation fails cleanly. */
  for (size_t i = 0; i < n; i++) {
    assert_null(vigil_key_parse(&err, buf, i));
  }
}

static void test_mode_check(void **state) {
  (void)state;
  char path[4096];
  enum vigil_key_err err;
  copy_to_tmp(path, sizeof(path), "key_p256_pkcs8.pem", 0644);
  assert_null(vigil_key_load_file(&err, path, 1));
  assert_int_equal(err, VIGIL_KEY_ERR_MODE);
  /* Without the requirement the same file loads. */
  struct vigil_key *k = vigil_key_load_file(&err, path, 0);
  assert_non_null(k);
  vigil_key_free(k);
  assert_int_equal(chmod(path, 0640), 0);
  assert_null(vigil_key_load_file(&err, path, 1));
  assert_int_equal(err, VIGIL_KEY_ERR_MODE);
  assert_int_equal(chmod(path, 0600), 0);
  k = vigil_key_load_file(&err, path, 1);
  assert_non_null(k);
  vigil_key_free(k);
  remove_tmp(path);
}

/* The SKI OpenSSL computed for the CA (RFC 5280 method 1) must equal our
 * SHA-1 of the public key bits: an independent check of the hash. */
/* A 0600 key file owned by another user is refused: its owner could
 * have read it or can swap it. Needs root to chown; a non-root run checks
 * only that its own file loads. */
static void test_owner_check(void **state) {
  (void)state;
  char path[4096];
  enum vigil_key_err err;
  copy_to_tmp(path, sizeof(path), "key_p256_pkcs8.pem", 0600);
  struct vigil_key *k = vigil_key_load_file(&err, path, 1);
  assert_non_null(k);
  vigil_key_free(k);
  if (geteuid() == 0) {
    assert_int_equal(chown(path, 65534, 65534), 0);
    assert_int_equal(chmod(path, 0600), 0);
    err = VIGIL_KEY_OK;
    assert_null(vigil_key_load_file(&err, path, 1));
    assert_int_equal(err, VIGIL_KEY_ERR_MODE);
    assert_non_null(strstr(vigil_key_err_string(err), "not owned"));
    /* Without the requirement the same file loads. */
    k = vigil_key_load_file(&err, path, 0);
    assert_non_null(k);
    vigil_key_free(k);
  } else {
    print_message("not root: key owned by another user not tested\n");
  }
  remove_tmp(path);
}

static void test_key_hash_matches_openssl_ski(void **state) {
  (void)state;
  enum vigil_key_err kerr;
  enum vigil_cert_err cerr;
  struct vigil_key *key =
      vigil_key_load_file(&kerr, VEC("key_p256_pkcs8.pem"), 0);
  struct vigil_cert *ca = vigil_cert_load_file(&cerr, VEC("ca_p256.pem"));
  assert_non_null(key);
  assert_non_null(ca);
  assert_int_equal(CBS_len(&ca->ski), 20);
  assert_memory_equal(CBS_data(&ca->ski), vigil_key_get0_sha1(key), 20);
  assert_memory_equal(ca->key_sha1, vigil_key_get0_sha1(key), 20);
  assert_memory_equal(ca->key_sha256, vigil_key_get0_sha256(key), 32);
  assert_true(vigil_cert_matches_key(ca, key));
  size_t spki_len;
  const uint8_t *spki = vigil_key_get0_spki(key, &spki_len);
  assert_int_equal(spki_len, CBS_len(&ca->spki));
  assert_memory_equal(spki, CBS_data(&ca->spki), spki_len);
  vigil_key_free(key);
  vigil_cert_free(ca);
}

static void sign_verify_roundtrip(struct vigil_key *key,
                                  const uint8_t *alg_oid_prefix,
                                  size_t prefix_len) {
  static const uint8_t kMsg[] = "tbsResponseData stand-in";
  uint8_t sig[VIGIL_KEY_MAX_SIG_LEN];
  size_t sig_len = 0;
  size_t alg_len;
  const uint8_t *alg = vigil_key_get0_sig_alg(key, &alg_len);
  assert_true(alg_len >= prefix_len);
  assert_memory_equal(alg, alg_oid_prefix, prefix_len);

  /* Too small an output buffer is refused, not overrun. */
  assert_false(vigil_key_sign(
      key, sig, &sig_len, vigil_key_max_sig_len(key) - 1, kMsg, sizeof(kMsg)));
  assert_true(
      vigil_key_sign(key, sig, &sig_len, sizeof(sig), kMsg, sizeof(kMsg)));
  assert_true(sig_len > 0 && sig_len <= vigil_key_max_sig_len(key));
  EVP_PKEY *pub = vigil_key_get0_evp(key);
  assert_true(
      vigil_key_verify(pub, alg, alg_len, sig, sig_len, kMsg, sizeof(kMsg)));
  /* Any change to message or signature breaks it. */
  uint8_t msg2[sizeof(kMsg)];
  memcpy(msg2, kMsg, sizeof(kMsg));
  msg2[3] ^= 1;
  assert_false(
      vigil_key_verify(pub, alg, alg_len, sig, sig_len, msg2, sizeof(msg2)));
  sig[sig_len - 1] ^= 0x40;
  assert_false(
      vigil_key_verify(pub, alg, alg_len, sig, sig_len, kMsg, sizeof(kMsg)));
}

static void test_generate_sign_verify(void **state) {
  (void)state;
  static const uint8_t kEcdsa256[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                       0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
  static const uint8_t kEcdsa384[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                       0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 };
  static const uint8_t kRsa256[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a,
                                     0x86, 0x48, 0x86, 0xf7, 0x0d,
                                     0x01, 0x01, 0x0b, 0x05, 0x00 };
  static const uint8_t kEd[] = { 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70 };

  struct vigil_key *k = vigil_key_generate(VIGIL_KEY_EC_P256, 0);
  assert_non_null(k);
  sign_verify_roundtrip(k, kEcdsa256, sizeof(kEcdsa256));
  vigil_key_free(k);
  k = vigil_key_generate(VIGIL_KEY_EC_P384, 0);
  assert_non_null(k);
  sign_verify_roundtrip(k, kEcdsa384, sizeof(kEcdsa384));
  vigil_key_free(k);
  k = vigil_key_generate(VIGIL_KEY_RSA, 2048);
  assert_non_null(k);
  sign_verify_roundtrip(k, kRsa256, sizeof(kRsa256));
  vigil_key_free(k);
  k = vigil_key_generate(VIGIL_KEY_ED25519, 0);
  assert_non_null(k);
  sign_verify_roundtrip(k, kEd, sizeof(kEd));
  vigil_key_free(k);
  /* Bad sizes are refused. */
  assert_null(vigil_key_generate(VIGIL_KEY_RSA, 1024));
  assert_null(vigil_key_generate(VIGIL_KEY_RSA, 2049));
  assert_null(vigil_key_generate((enum vigil_key_type)99, 0));
}

/* Two generated keys differ (the CSPRNG is used). */
static void test_generate_distinct(void **state) {
  (void)state;
  struct vigil_key *a = vigil_key_generate(VIGIL_KEY_EC_P256, 0);
  struct vigil_key *b = vigil_key_generate(VIGIL_KEY_EC_P256, 0);
  assert_non_null(a);
  assert_non_null(b);
  assert_memory_not_equal(vigil_key_get0_sha256(a), vigil_key_get0_sha256(b),
                          32);
  vigil_key_free(a);
  vigil_key_free(b);
}

static void test_verify_rejects_wrong_alg(void **state) {
  (void)state;
  static const uint8_t kMsg[] = "m";
  static const uint8_t kRsa256[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a,
                                     0x86, 0x48, 0x86, 0xf7, 0x0d,
                                     0x01, 0x01, 0x0b, 0x05, 0x00 };
  static const uint8_t kMd5Rsa[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a,
                                     0x86, 0x48, 0x86, 0xf7, 0x0d,
                                     0x01, 0x01, 0x04, 0x05, 0x00 };
  struct vigil_key *k = vigil_key_generate(VIGIL_KEY_EC_P256, 0);
  assert_non_null(k);
  uint8_t sig[VIGIL_KEY_MAX_SIG_LEN];
  size_t sig_len;
  assert_true(vigil_key_sign(k, sig, &sig_len, sizeof(sig), kMsg, 1));
  /* An EC signature presented as RSA is refused. */
  assert_false(vigil_key_verify(vigil_key_get0_evp(k), kRsa256, sizeof(kRsa256),
                                sig, sig_len, kMsg, 1));
  assert_false(vigil_key_verify(vigil_key_get0_evp(k), kMd5Rsa, sizeof(kMd5Rsa),
                                sig, sig_len, kMsg, 1));
  vigil_key_free(k);
}

static void test_save_and_reload(void **state) {
  (void)state;
  char dir[] = "/tmp/vigil-test-save.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[4096];
  snprintf(path, sizeof(path), "%s/k.pem", dir);
  const enum vigil_key_type types[] = { VIGIL_KEY_EC_P256, VIGIL_KEY_EC_P384,
                                        VIGIL_KEY_ED25519 };
  for (size_t i = 0; i < 3; i++) {
    struct vigil_key *k = vigil_key_generate(types[i], 0);
    assert_non_null(k);
    mode_t old = umask(0);
    assert_true(vigil_key_save_pem(k, path));
    umask(old);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    enum vigil_key_err err;
    struct vigil_key *r = vigil_key_load_file(&err, path, 1);
    assert_non_null(r);
    assert_int_equal(vigil_key_get_type(r), types[i]);
    assert_memory_equal(vigil_key_get0_sha256(k), vigil_key_get0_sha256(r), 32);
    vigil_key_free(r);
    vigil_key_free(k);
  }
  /* A path in a missing directory fails and creates nothing. */
  char bad[4096];
  snprintf(bad, sizeof(bad), "%s/missing/k.pem", dir);
  struct vigil_key *k = vigil_key_generate(VIGIL_KEY_EC_P256, 0);
  assert_non_null(k);
  assert_false(vigil_key_save_pem(k, bad));
  vigil_key_free(k);
  unlink(path);
  assert_int_equal(rmdir(dir), 0); /* no temp file was left behind */
}

/* Every allocation failure during a parse is reported, never a crash or a
 * leak (ASan checks the latter). */
static void test_alloc_failures(void **state) {
  (void)state;
  FILE *f = fopen(VEC("key_p256_pkcs8.pem"), "rb");
  assert_non_null(f);
  uint8_t buf[1024];
  size_t n = fread(buf, 1, sizeof(buf), f);
  fclose(f);
  int saw_success = 0;
  for (unsigned long i = 0; i < 50 && !saw_success; i++) {
    vigil_alloc_fail_reset();
    vigil_alloc_fail_after(i, 0);
    enum vigil_key_err err;
    struct vigil_key *k = vigil_key_parse(&err, buf, n);
    if (k != NULL) {
      saw_success = vigil_alloc_failures() == 0;
      vigil_key_free(k);
    } else {
      assert_int_not_equal(err, VIGIL_KEY_OK);
    }
  }
  vigil_alloc_fail_reset();
  assert_true(saw_success);
}

static void test_err_strings(void **state) {
  (void)state;
  for (int e = VIGIL_KEY_OK; e <= VIGIL_KEY_ERR_NOMEM; e++) {
    const char *s = vigil_key_err_string((enum vigil_key_err)e);
    assert_non_null(s);
    assert_true(strlen(s) > 1);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_load_formats),
    cmocka_unit_test(test_same_key_all_encodings),
    cmocka_unit_test(test_rejects),
    cmocka_unit_test(test_trailing_data_rejected),
    cmocka_unit_test(test_mode_check),
    cmocka_unit_test(test_owner_check),
    cmocka_unit_test(test_key_hash_matches_openssl_ski),
    cmocka_unit_test(test_generate_sign_verify),
    cmocka_unit_test(test_generate_distinct),
    cmocka_unit_test(test_verify_rejects_wrong_alg),
    cmocka_unit_test(test_save_and_reload),
    cmocka_unit_test(test_alloc_failures),
    cmocka_unit_test(test_err_strings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
