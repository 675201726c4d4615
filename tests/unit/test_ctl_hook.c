/* test_ctl_hook.c: the pure parts of cache-invalidation hooks
 * (control/ctl_hook.h): the hand-built DER OCSPRequest (checked with the
 * edge's own strict parser, vigil_ocsp_request_parse, for every serial
 * length), percent-encoding, the event's URLs and surrogate keys, and
 * purge template checks and expansion.
 *
 * ctl_hook.c uses only vigil_util, so it is compiled into this test
 * directly (tests/CMakeLists.txt links unit tests with vigil_pki, never
 * with vigil-control's libpq). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../control/ctl_hook.c"

#include <vigil/b64.h>
#include <vigil/ocsp_request.h>

static const uint8_t kName[20] = { 1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                   11, 12, 13, 14, 15, 16, 17, 18, 19, 20 };
static const uint8_t kKey[20] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
                                  0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad,
                                  0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3 };

static void test_request_der_parses(void **state) {
  (void)state;
  uint8_t serial[20];
  for (size_t i = 0; i < sizeof(serial); i++) {
    serial[i] = (uint8_t)(0x11 * (i + 1));
  }
  serial[0] = 0x5b; /* positive */
  for (size_t len = 1; len <= 20; len++) {
    uint8_t der[CTL_HOOK_OCSP_REQ_MAX];
    size_t der_len = 0;
    assert_int_equal(ctl_hook_ocsp_request_der(der, &der_len, sizeof(der),
                                               kName, kKey, serial, len),
                     1);
    assert_int_equal(der_len, 2 + 2 + 2 + 2 + 2 + 11 + 22 + 22 + 2 + len);
    struct vigil_ocsp_request req;
    assert_int_equal(vigil_ocsp_request_parse(&req, der, der_len),
                     VIGIL_OCSP_REQ_OK);
    assert_int_equal(req.num_ids, 1);
    assert_int_equal(req.has_nonce, 0);
    assert_int_equal(req.ids[0].hash, VIGIL_OCSP_HASH_SHA1);
    assert_int_equal(CBS_len(&req.ids[0].name_hash), 20);
    assert_memory_equal(CBS_data(&req.ids[0].name_hash), kName, 20);
    assert_memory_equal(CBS_data(&req.ids[0].key_hash), kKey, 20);
    assert_int_equal(CBS_len(&req.ids[0].serial), len);
    assert_memory_equal(CBS_data(&req.ids[0].serial), serial, len);
  }
  uint8_t der[CTL_HOOK_OCSP_REQ_MAX];
  size_t der_len = 99;
  assert_int_equal(ctl_hook_ocsp_request_der(der, &der_len, sizeof(der), kName,
                                             kKey, serial, 0),
                   0);
  assert_int_equal(der_len, 0);
  assert_int_equal(ctl_hook_ocsp_request_der(der, &der_len, sizeof(der), kName,
                                             kKey, serial, 21),
                   0);
  assert_int_equal(
      ctl_hook_ocsp_request_der(der, &der_len, 40, kName, kKey, serial, 5), 0);
}

static void test_percent_encode(void **state) {
  (void)state;
  char out[64];
  assert_int_equal(ctl_hook_percent_encode(out, sizeof(out), "aZ09-._~"), 1);
  assert_string_equal(out, "aZ09-._~");
  assert_int_equal(ctl_hook_percent_encode(out, sizeof(out), "a+b/c=d %"), 1);
  assert_string_equal(out, "a%2Bb%2Fc%3Dd%20%25");
  assert_int_equal(ctl_hook_percent_encode(out, sizeof(out), "\xff"), 1);
  assert_string_equal(out, "%FF");
  /* exactly fits: 3 bytes + NUL */
  assert_int_equal(ctl_hook_percent_encode(out, 4, "/"), 1);
  assert_int_equal(ctl_hook_percent_encode(out, 3, "/"), 0);
  assert_string_equal(out, "");
  assert_int_equal(ctl_hook_percent_encode(out, 4, "abcd"), 0);
}

static void test_event_revoke(void **state) {
  (void)state;
  static const uint8_t serial[] = { 0x00, 0x8a, 0x01 };
  struct ctl_hook_event ev;
  assert_int_equal(
      ctl_hook_event_fill(&ev, "http://edge.test:8080/", "acme", "acme-ca",
                          kName, kKey, serial, sizeof(serial)),
      1);
  assert_string_equal(ev.serial, "8a01");
  assert_int_equal(ev.num_keys, 1);
  /* DESIGN.md section 4: {ikh}:{serial}, as the edge's Surrogate-Key. */
  assert_string_equal(ev.keys[0],
                      "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3:8a01");
  assert_int_equal(ev.num_crl, 2);
  assert_string_equal(ev.crl[0], "http://edge.test:8080/crl/acme/acme-ca");
  assert_string_equal(ev.crl[1], "http://edge.test:8080/crl/acme");
  assert_int_equal(ev.num_ocsp, 2);
  const char *p1 = "http://edge.test:8080/ocsp/acme/";
  const char *p2 = "http://edge.test:8080/ocsp/";
  assert_int_equal(strncmp(ev.ocsp[0], p1, strlen(p1)), 0);
  assert_int_equal(strncmp(ev.ocsp[1], p2, strlen(p2)), 0);
  assert_string_equal(ev.ocsp[0] + strlen(p1), ev.ocsp[1] + strlen(p2));
  /* The GET component decodes (as the edge decodes it) to the request. */
  const char *enc = ev.ocsp[1] + strlen(p2);
  assert_null(strchr(enc, '/'));
  assert_null(strchr(enc, '+'));
  uint8_t der[CTL_HOOK_OCSP_REQ_MAX];
  size_t der_len = 0;
  assert_int_equal(
      vigil_b64_decode_ocsp_get(der, &der_len, sizeof(der), enc, strlen(enc)),
      VIGIL_B64_OK);
  struct vigil_ocsp_request req;
  assert_int_equal(vigil_ocsp_request_parse(&req, der, der_len),
                   VIGIL_OCSP_REQ_OK);
  assert_int_equal(CBS_len(&req.ids[0].serial), sizeof(serial));
  assert_memory_equal(CBS_data(&req.ids[0].serial), serial, sizeof(serial));
}

static void test_event_crl_and_bad(void **state) {
  (void)state;
  struct ctl_hook_event ev;
  assert_int_equal(
      ctl_hook_event_fill(&ev, "", "acme", "acme-ca", NULL, NULL, NULL, 0), 1);
  assert_int_equal(ev.num_ocsp, 0);
  assert_int_equal(ev.num_crl, 0);
  assert_int_equal(ev.num_keys, 1);
  assert_string_equal(ev.keys[0], "acme-ca"); /* crl {issuer_id} */
  assert_string_equal(ev.serial, "");
  /* bad names, serial lengths */
  assert_int_equal(
      ctl_hook_event_fill(&ev, "", "Acme", "acme-ca", NULL, NULL, NULL, 0), 0);
  assert_int_equal(
      ctl_hook_event_fill(&ev, "", "acme", "a/b", NULL, NULL, NULL, 0), 0);
  static const uint8_t s21[21] = { 1 };
  assert_int_equal(ctl_hook_event_fill(&ev, "http://e", "acme", "acme-ca",
                                       kName, kKey, s21, sizeof(s21)),
                   0);
  assert_int_equal(ev.num_keys, 0);
}

static void test_template_check(void **state) {
  (void)state;
  assert_int_equal(ctl_hook_template_check("https://cdn.test/purge"),
                   CTL_HOOK_TMPL_OK);
  assert_int_equal(
      ctl_hook_template_check("https://cdn.test/p?u={ocsp_get_url}&s={serial}"
                              "&i={issuer_id}&t={tenant}&u2={ocsp_get_url}"),
      CTL_HOOK_TMPL_OK);
  assert_int_equal(ctl_hook_template_check("{+ocsp_get_url}"),
                   CTL_HOOK_TMPL_OK);
  assert_int_equal(ctl_hook_template_check("{+crl_url}?x"), CTL_HOOK_TMPL_OK);
  assert_int_equal(ctl_hook_template_check("{+tenant}"), CTL_HOOK_TMPL_SCHEME);
  assert_int_equal(ctl_hook_template_check("ftp://x/"), CTL_HOOK_TMPL_SCHEME);
  assert_int_equal(ctl_hook_template_check("http://x/{nope}"),
                   CTL_HOOK_TMPL_SYNTAX);
  assert_int_equal(ctl_hook_template_check("http://x/{serial"),
                   CTL_HOOK_TMPL_SYNTAX);
  assert_int_equal(ctl_hook_template_check("http://x/serial}"),
                   CTL_HOOK_TMPL_SYNTAX);
  assert_int_equal(ctl_hook_template_check("http://x/{crl_url}{ocsp_get_url}"),
                   CTL_HOOK_TMPL_MIXED);
  assert_int_equal(ctl_hook_template_check("http://x/ y"),
                   CTL_HOOK_TMPL_TOO_LONG);
  char big[CTL_HOOK_URL_MAX + 16];
  memset(big, 'a', sizeof(big));
  memcpy(big, "http://", 7);
  big[sizeof(big) - 1] = '\0';
  assert_int_equal(ctl_hook_template_check(big), CTL_HOOK_TMPL_TOO_LONG);
}

static void test_expand(void **state) {
  (void)state;
  static const uint8_t serial[] = { 0x12, 0x34 };
  struct ctl_hook_event ev;
  struct ctl_hook_targets *t = ctl_hook_targets_new();
  assert_non_null(t);
  assert_int_equal(ctl_hook_event_fill(&ev, "http://e:1", "acme", "acme-ca",
                                       kName, kKey, serial, sizeof(serial)),
                   1);
  /* one URL per OCSP GET URL, escaped */
  assert_int_equal(ctl_hook_expand(t, "http://cdn/p?u={ocsp_get_url}", &ev), 1);
  assert_int_equal(t->num, 2);
  const char *want = "http://cdn/p?u=http%3A%2F%2Fe%3A1%2Focsp%2Facme%2F";
  assert_int_equal(strncmp(t->url[0], want, strlen(want)), 0);
  /* raw expansion: the target URL itself */
  assert_int_equal(ctl_hook_expand(t, "{+ocsp_get_url}", &ev), 1);
  assert_int_equal(t->num, 2);
  assert_string_equal(t->url[0], ev.ocsp[0]);
  assert_string_equal(t->url[1], ev.ocsp[1]);
  /* single-valued placeholders: one URL */
  assert_int_equal(
      ctl_hook_expand(t, "https://cdn/{tenant}/{issuer_id}/{serial}", &ev), 1);
  assert_int_equal(t->num, 1);
  assert_string_equal(t->url[0], "https://cdn/acme/acme-ca/1234");
  assert_int_equal(ctl_hook_expand(t, "https://cdn/k/{surrogate_key}", &ev), 1);
  assert_int_equal(t->num, 1);
  assert_string_equal(
      t->url[0],
      "https://cdn/k/a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3%3A1234");
  assert_int_equal(ctl_hook_expand(t, "https://cdn/c?u={crl_url}", &ev), 1);
  assert_int_equal(t->num, 2);
  assert_string_equal(t->url[1],
                      "https://cdn/c?u=http%3A%2F%2Fe%3A1%2Fcrl%2Facme");

  /* a CRL event has no serial and no OCSP URL: nothing to purge */
  assert_int_equal(ctl_hook_event_fill(&ev, "http://e:1", "acme", "acme-ca",
                                       NULL, NULL, NULL, 0),
                   1);
  assert_int_equal(ctl_hook_expand(t, "http://cdn/{serial}", &ev), 1);
  assert_int_equal(t->num, 0);
  assert_int_equal(ctl_hook_expand(t, "{+ocsp_get_url}", &ev), 1);
  assert_int_equal(t->num, 0);
  assert_int_equal(ctl_hook_expand(t, "http://cdn/{surrogate_key}", &ev), 1);
  assert_int_equal(t->num, 1);
  assert_string_equal(t->url[0], "http://cdn/acme-ca");
  /* bad templates */
  assert_int_equal(ctl_hook_expand(t, "http://cdn/{x}", &ev), 0);
  assert_int_equal(t->num, 0);
  ctl_hook_targets_free(t);
  ctl_hook_targets_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_request_der_parses),
    cmocka_unit_test(test_percent_encode),
    cmocka_unit_test(test_event_revoke),
    cmocka_unit_test(test_event_crl_and_bad),
    cmocka_unit_test(test_template_check),
    cmocka_unit_test(test_expand),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
