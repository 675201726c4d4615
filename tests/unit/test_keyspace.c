/* test_keyspace.c: unit tests for vigil/keyspace.h and vigil/ocsp.h names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vigil/keyspace.h"
#include "vigil/ocsp.h"

static const uint8_t kIkh[20] = { 0x17, 0x1d, 0x06, 0x64, 0x56, 0x45, 0x95,
                                  0x03, 0x65, 0x30, 0xcc, 0x8b, 0x59, 0xa6,
                                  0x99, 0x3c, 0x84, 0xc8, 0x40, 0xa4 };

static void test_keys(void **state) {
  (void)state;
  char key[VIGIL_KS_MAX_KEY];
  static const uint8_t kSerial[] = { 0x00, 0xab, 0x12 };
  size_t n = vigil_ks_resp_key(key, sizeof(key), kIkh, kSerial, 3);
  assert_string_equal(key,
                      "v1:resp:171d0664564595036530cc8b59a6993c84c840a4:ab12");
  assert_int_equal(n, strlen(key));
  n = vigil_ks_status_key(key, sizeof(key), kIkh, kSerial, 3);
  assert_string_equal(
      key, "v1:status:171d0664564595036530cc8b59a6993c84c840a4:ab12");
  /* Zero serial is "0"; too long serials and tiny buffers fail. */
  static const uint8_t kZero[] = { 0x00 };
  vigil_ks_resp_key(key, sizeof(key), kIkh, kZero, 1);
  assert_string_equal(key + strlen(key) - 2, ":0");
  uint8_t long_serial[22] = { 1 };
  assert_int_equal(vigil_ks_resp_key(key, sizeof(key), kIkh, long_serial, 22),
                   0);
  assert_int_equal(vigil_ks_resp_key(key, 20, kIkh, kSerial, 3), 0);

  assert_int_not_equal(vigil_ks_crl_key(key, sizeof(key), "iss-1", -1), 0);
  assert_string_equal(key, "v1:crl:iss-1");
  assert_int_not_equal(vigil_ks_crl_key(key, sizeof(key), "iss-1", 7), 0);
  assert_string_equal(key, "v1:crl:iss-1:7");
  assert_int_not_equal(vigil_ks_crlmeta_key(key, sizeof(key), "iss-1"), 0);
  assert_string_equal(key, "v1:crlmeta:iss-1");
  assert_int_equal(vigil_ks_crl_key(key, sizeof(key), "Bad", -1), 0);
  assert_int_equal(vigil_ks_crl_key(key, sizeof(key), "a:b", -1), 0);
}

static void test_names(void **state) {
  (void)state;
  assert_true(vigil_ks_name_valid("demo", 4));
  assert_true(vigil_ks_name_valid("a", 1));
  assert_true(vigil_ks_name_valid("0-a-b", 5));
  assert_false(vigil_ks_name_valid("", 0));
  assert_false(vigil_ks_name_valid("-a", 2));
  assert_false(vigil_ks_name_valid("Demo", 4));
  assert_false(vigil_ks_name_valid("a_b", 3));
  assert_false(vigil_ks_name_valid("a b", 3));
  char long_name[65];
  memset(long_name, 'a', sizeof(long_name));
  assert_true(vigil_ks_name_valid(long_name, 63));
  assert_false(vigil_ks_name_valid(long_name, 64));
}

static void test_status_roundtrip(void **state) {
  (void)state;
  char buf[VIGIL_KS_MAX_RECORD];
  struct vigil_status st = { VIGIL_CERT_STATUS_GOOD, 1800000000, 0,
                             VIGIL_REASON_NONE };
  assert_int_not_equal(vigil_status_format(buf, sizeof(buf), &st), 0);
  assert_string_equal(buf, "good 1800000000");
  struct vigil_status back;
  assert_true(vigil_status_parse(&back, buf, strlen(buf)));
  assert_int_equal(back.status, VIGIL_CERT_STATUS_GOOD);
  assert_int_equal(back.not_after, 1800000000);

  st.status = VIGIL_CERT_STATUS_REVOKED;
  st.revoked_at = 1790000000;
  st.reason = VIGIL_REASON_KEY_COMPROMISE;
  assert_int_not_equal(vigil_status_format(buf, sizeof(buf), &st), 0);
  assert_string_equal(buf, "revoked 1800000000 1790000000 1");
  assert_true(vigil_status_parse(&back, buf, strlen(buf)));
  assert_int_equal(back.status, VIGIL_CERT_STATUS_REVOKED);
  assert_int_equal(back.revoked_at, 1790000000);
  assert_int_equal(back.reason, VIGIL_REASON_KEY_COMPROMISE);

  st.reason = VIGIL_REASON_NONE;
  assert_int_not_equal(vigil_status_format(buf, sizeof(buf), &st), 0);
  assert_string_equal(buf, "revoked 1800000000 1790000000 -1");
  assert_true(vigil_status_parse(&back, buf, strlen(buf)));
  assert_int_equal(back.reason, VIGIL_REASON_NONE);

  st.reason = (enum vigil_reason)7; /* undefined code */
  assert_int_equal(vigil_status_format(buf, sizeof(buf), &st), 0);
  st.status = VIGIL_CERT_STATUS_UNKNOWN;
  assert_int_equal(vigil_status_format(buf, sizeof(buf), &st), 0);
}

static void test_status_rejects(void **state) {
  (void)state;
  static const char *const kBad[] = {
    "",
    "good",
    "good ",
    "good 1 ",
    " good 1",
    "good  1",
    "good 01",
    "good 1x",
    "good -0",
    "good 99999999999999999999",
    "Good 1",
    "unknown 1",
    "revoked 1 2",
    "revoked 1 2 7",
    "revoked 1 2 11",
    "revoked 1 2 3 4",
    "good 1\n",
  };
  struct vigil_status st;
  for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
    assert_false(vigil_status_parse(&st, kBad[i], strlen(kBad[i])));
  }
}

static void test_issuer_record(void **state) {
  (void)state;
  struct vigil_issuer_record rec;
  memset(&rec, 0, sizeof(rec));
  memcpy(rec.issuer_id, "iss-1", 6);
  memcpy(rec.tenant, "demo", 5);
  for (int i = 0; i < 20; i++) {
    rec.name_sha1[i] = (uint8_t)i;
  }
  for (int i = 0; i < 32; i++) {
    rec.name_sha256[i] = (uint8_t)(0xa0 + i);
    rec.key_sha256[i] = (uint8_t)(0x10 * i);
  }
  rec.current = 1;
  char buf[VIGIL_KS_MAX_RECORD];
  size_t n = vigil_issuer_record_format(buf, sizeof(buf), &rec);
  assert_int_not_equal(n, 0);
  assert_memory_equal(buf, "iss-1 demo 000102", 17);
  assert_string_equal(buf + n - 2, " 1");
  struct vigil_issuer_record back;
  assert_true(vigil_issuer_record_parse(&back, buf, n));
  assert_memory_equal(&back, &rec, sizeof(rec));
  /* Upper-case hex, missing fields, bad names are refused. */
  buf[12] = 'A';
  assert_false(vigil_issuer_record_parse(&back, buf, n));
  assert_false(vigil_issuer_record_parse(&back, buf, 20));
  assert_false(vigil_issuer_record_parse(&back, "ISS demo", 8));
  memcpy(rec.tenant, "De", 3);
  assert_int_equal(vigil_issuer_record_format(buf, sizeof(buf), &rec), 0);
}

static void test_crlmeta(void **state) {
  (void)state;
  struct vigil_crlmeta m = { 1700000000, 1700086400, "1f", 1000000 };
  char buf[VIGIL_KS_MAX_RECORD];
  size_t n = vigil_crlmeta_format(buf, sizeof(buf), &m);
  assert_string_equal(buf, "1700000000 1700086400 1f 1000000");
  struct vigil_crlmeta back;
  assert_true(vigil_crlmeta_parse(&back, buf, n));
  assert_int_equal(back.this_update, m.this_update);
  assert_int_equal(back.next_update, m.next_update);
  assert_string_equal(back.number_hex, "1f");
  assert_int_equal(back.num_entries, 1000000);
  assert_false(vigil_crlmeta_parse(&back, "1 2 1F 3", 8));
  assert_false(vigil_crlmeta_parse(&back, "1 2 1f -3", 9));
  assert_false(vigil_crlmeta_parse(&back, "1 2 1f", 6));
}

static void test_events_and_reasons(void **state) {
  (void)state;
  for (int t = VIGIL_EVENT_REVOKE; t <= VIGIL_EVENT_FLUSH; t++) {
    const char *name = vigil_event_type_name((enum vigil_event_type)t);
    assert_non_null(name);
    assert_int_equal(vigil_event_type_parse(name, strlen(name)), t);
  }
  assert_int_equal(vigil_event_type_parse("Revoke", 6), VIGIL_EVENT_UNKNOWN);
  assert_null(vigil_event_type_name(VIGIL_EVENT_UNKNOWN));

  /* Reason names are the DESIGN.md section 5 camelCase ones. */
  enum vigil_reason r;
  assert_true(vigil_reason_from_name(&r, "keyCompromise", 13));
  assert_int_equal(r, VIGIL_REASON_KEY_COMPROMISE);
  assert_true(vigil_reason_from_name(&r, "cessationOfOperation", 20));
  assert_int_equal(r, 5);
  assert_false(vigil_reason_from_name(&r, "keycompromise", 13));
  assert_false(vigil_reason_from_name(&r, "keyCompromis", 12));
  assert_string_equal(vigil_reason_name(VIGIL_REASON_PRIVILEGE_WITHDRAWN),
                      "privilegeWithdrawn");
  assert_null(vigil_reason_name((enum vigil_reason)7));
  /* BR policy: no certificateHold, cACompromise only for CA certs. */
  assert_false(vigil_reason_allowed_by_br(VIGIL_REASON_CERTIFICATE_HOLD, 0));
  assert_false(vigil_reason_allowed_by_br(VIGIL_REASON_CA_COMPROMISE, 0));
  assert_true(vigil_reason_allowed_by_br(VIGIL_REASON_CA_COMPROMISE, 1));
  assert_false(vigil_reason_allowed_by_br(VIGIL_REASON_UNSPECIFIED, 0));
  assert_true(vigil_reason_allowed_by_br(VIGIL_REASON_NONE, 0));
  assert_string_equal(vigil_ocsp_status_name(VIGIL_OCSP_TRY_LATER), "tryLater");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_keys),
    cmocka_unit_test(test_names),
    cmocka_unit_test(test_status_roundtrip),
    cmocka_unit_test(test_status_rejects),
    cmocka_unit_test(test_issuer_record),
    cmocka_unit_test(test_crlmeta),
    cmocka_unit_test(test_events_and_reasons),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
