/* test_seal.c: seals made the signer's way (vigil_key_sign, BoringSSL)
 * verify with the offline verifier (vigil_seal_verify, GnuTLS) — two
 * independent implementations — and nothing altered verifies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "vigil/b64.h"
#include "vigil/hex.h"
#include "vigil/key.h"
#include "vigil/seal.h"

static const char kCtx[] = "vigil-evidence-v1:test";

struct sealed {
  uint8_t digest[32];
  uint8_t sig[VIGIL_KEY_MAX_SIG_LEN];
  size_t sig_len;
  const uint8_t *spki;
  size_t spki_len;
  int64_t at;
};

static void make(struct sealed *s, const struct vigil_key *key) {
  uint8_t msg[VIGIL_SEAL_MAX_MESSAGE];
  assert_true(vigil_sha256(s->digest, "evidence", 8));
  s->at = 1795000000;
  size_t n = vigil_seal_message(msg, s->digest, kCtx, strlen(kCtx), s->at);
  assert_true(n > 0);
  assert_true(vigil_key_sign(key, s->sig, &s->sig_len, sizeof(s->sig), msg, n));
  s->spki = vigil_key_get0_spki(key, &s->spki_len);
}

static int verify(const struct sealed *s) {
  return vigil_seal_verify(s->spki, s->spki_len, s->sig, s->sig_len, s->digest,
                           kCtx, strlen(kCtx), s->at);
}

static void check_key(enum vigil_key_type type) {
  struct vigil_key *key = vigil_key_generate(type, 0);
  assert_non_null(key);
  struct sealed s;
  make(&s, key);
  assert_true(verify(&s));
  /* Every single-bit change of the signature, digest or time fails. */
  for (size_t i = 0; i < s.sig_len; i++) {
    s.sig[i] ^= 0x01;
    assert_false(verify(&s));
    s.sig[i] ^= 0x01;
  }
  for (size_t i = 0; i < 32; i++) {
    s.digest[i] ^= 0x80;
    assert_false(verify(&s));
    s.digest[i] ^= 0x80;
  }
  s.at++;
  assert_false(verify(&s));
  s.at--;
  assert_false(vigil_seal_verify(s.spki, s.spki_len, s.sig, s.sig_len, s.digest,
                                 "other", 5, s.at));
  /* Another key's seal does not verify with this key. */
  struct vigil_key *other = vigil_key_generate(type, 0);
  assert_non_null(other);
  size_t olen = 0;
  const uint8_t *ospki = vigil_key_get0_spki(other, &olen);
  assert_false(vigil_seal_verify(ospki, olen, s.sig, s.sig_len, s.digest, kCtx,
                                 strlen(kCtx), s.at));
  assert_true(verify(&s));
  vigil_key_free(other);
  vigil_key_free(key);
}

static void test_ed25519(void **state) {
  (void)state;
  check_key(VIGIL_KEY_ED25519);
}

static void test_p256(void **state) {
  (void)state;
  check_key(VIGIL_KEY_EC_P256);
}

static json_t *b64(const uint8_t *in, size_t len) {
  char buf[4096];
  assert_true(vigil_b64_encoded_len(len) < sizeof(buf));
  buf[vigil_b64_encode(buf, in, len)] = '\0';
  return json_string(buf);
}

static void test_json(void **state) {
  (void)state;
  char err[256];
  char hex[65];
  struct vigil_key *key = vigil_key_generate(VIGIL_KEY_ED25519, 0);
  assert_non_null(key);
  struct sealed s;
  make(&s, key);
  vigil_hex_encode(hex, s.digest, 32);
  json_t *seal = json_pack(
      "{s:s,s:s,s:I,s:s,s:o,s:o}", "context", kCtx, "digest", hex, "sealed_at",
      (json_int_t)s.at, "key_type", "ed25519", "signature",
      b64(s.sig, s.sig_len), "audit_spki", b64(s.spki, s.spki_len));
  assert_non_null(seal);
  assert_true(vigil_seal_check_json(err, sizeof(err), seal, s.digest, kCtx,
                                    s.spki, s.spki_len));
  assert_true(
      vigil_seal_check_json(err, sizeof(err), seal, s.digest, kCtx, NULL, 0));
  /* Content changed after sealing. */
  uint8_t d2[32];
  memcpy(d2, s.digest, 32);
  d2[0] ^= 1;
  assert_false(
      vigil_seal_check_json(err, sizeof(err), seal, d2, kCtx, NULL, 0));
  assert_non_null(strstr(err, "digest"));
  /* Wrong kind of document. */
  assert_false(vigil_seal_check_json(err, sizeof(err), seal, s.digest,
                                     "vigil-backup-manifest-v1", NULL, 0));
  /* A seal by another key is refused when the audit key is pinned. */
  struct vigil_key *other = vigil_key_generate(VIGIL_KEY_ED25519, 0);
  assert_non_null(other);
  size_t olen = 0;
  const uint8_t *ospki = vigil_key_get0_spki(other, &olen);
  assert_false(vigil_seal_check_json(err, sizeof(err), seal, s.digest, kCtx,
                                     ospki, olen));
  assert_non_null(strstr(err, "pinned"));
  /* A changed sealed_at breaks the signature. */
  json_object_set_new(seal, "sealed_at", json_integer(s.at + 1));
  assert_false(
      vigil_seal_check_json(err, sizeof(err), seal, s.digest, kCtx, NULL, 0));
  assert_non_null(strstr(err, "signature"));
  json_decref(seal);
  vigil_key_free(other);
  vigil_key_free(key);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ed25519),
    cmocka_unit_test(test_p256),
    cmocka_unit_test(test_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
