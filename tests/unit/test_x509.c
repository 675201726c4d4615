/* test_x509.c: unit tests for vigil/x509.h (certificate issuance).
 *
 * Every issued certificate is read back twice: with vigil_cert_parse (our
 * views) and with BoringSSL's own X509 parser and path builder
 * (d2i_X509, X509_get_ext_d2i, X509_verify_cert), which we did not write.
 * The OpenSSL CLI, python3-cryptography and a TLS handshake check the same
 * certificates in tests/interop/x509_openssl.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bytestring.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/obj.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "vigil/alloc.h"
#include "vigil/cert.h"
#include "vigil/csr.h"
#include "vigil/key.h"
#include "vigil/x509.h"

#define VEC(name) VIGIL_TEST_VECTORS "/" name

/* Signing time of all tests: 2026-01-01T00:00:00Z. */
#define NOW  INT64_C(1767225600)
#define DAY  INT64_C(86400)
#define YEAR (365 * DAY)

/* ======================================================================
 * Helpers
 * ====================================================================== */

/* A certificate we issued, in all three forms. */
struct issued {
  uint8_t *der; /* vigil_malloc'd DER */
  size_t der_len;
  struct vigil_cert *cert; /* our parse */
  X509 *x509;              /* BoringSSL's parse */
};

static void issued_free(struct issued *c) {
  vigil_free(c->der);
  vigil_cert_free(c->cert);
  X509_free(c->x509);
  memset(c, 0, sizeof(*c));
}

static enum vigil_x509_err try_issue(const struct vigil_x509_template *t,
                                     const struct vigil_cert *issuer,
                                     const struct vigil_key *key) {
  uint8_t *der = NULL;
  size_t len = 0;
  enum vigil_x509_err err =
      vigil_x509_issue_der(&der, &len, t, issuer, key, NOW);
  if (err != VIGIL_X509_OK) {
    assert_null(der);
    assert_int_equal(len, 0);
  }
  vigil_free(der);
  return err;
}

static void issue(struct issued *out, const struct vigil_x509_template *t,
                  const struct issued *issuer, const struct vigil_key *key) {
  memset(out, 0, sizeof(*out));
  enum vigil_x509_err err =
      vigil_x509_issue_der(&out->der, &out->der_len, t,
                           issuer == NULL ? NULL : issuer->cert, key, NOW);
  if (err != VIGIL_X509_OK) {
    fail_msg("issue: %s", vigil_x509_err_string(err));
  }
  enum vigil_cert_err cerr;
  out->cert = vigil_cert_parse(&cerr, out->der, out->der_len);
  assert_non_null(out->cert);
  const uint8_t *p = out->der;
  out->x509 = d2i_X509(NULL, &p, (long)out->der_len);
  assert_non_null(out->x509);
  assert_ptr_equal(p, out->der + out->der_len);
  /* The signature verifies under the issuer's key, per BoringSSL. */
  EVP_PKEY *pub = issuer == NULL ? X509_get_pubkey(out->x509)
                                 : X509_get_pubkey(issuer->x509);
  assert_non_null(pub);
  assert_int_equal(X509_verify(out->x509, pub), 1);
  EVP_PKEY_free(pub);
}

/* name_der builds a Name into |buf| and returns its length. */
static size_t name_der(uint8_t *buf, size_t max,
                       const struct vigil_x509_name *name) {
  CBB cbb;
  size_t len = 0;
  assert_true(CBB_init_fixed(&cbb, buf, max));
  assert_int_equal(vigil_x509_name_build(&cbb, name), VIGIL_X509_OK);
  assert_true(CBB_finish(&cbb, NULL, &len));
  return len;
}

static struct vigil_key *load_key(const char *path) {
  enum vigil_key_err err;
  struct vigil_key *key = vigil_key_load_file(&err, path, 0);
  assert_non_null(key);
  return key;
}

static X509_EXTENSION *find_ext(X509 *x, int nid) {
  int pos = X509_get_ext_by_NID(x, nid, -1);
  if (pos < 0) {
    return NULL;
  }
  /* Never twice. */
  assert_true(X509_get_ext_by_NID(x, nid, pos) < 0);
  return X509_get_ext(x, pos);
}

static void assert_ext(X509 *x, int nid, int critical) {
  X509_EXTENSION *ext = find_ext(x, nid);
  assert_non_null(ext);
  assert_int_equal(X509_EXTENSION_get_critical(ext), critical);
}

static void assert_no_ext(X509 *x, int nid) {
  assert_null(find_ext(x, nid));
}

static void assert_octets(const ASN1_OCTET_STRING *s, const uint8_t *want,
                          size_t len) {
  assert_non_null(s);
  assert_int_equal((size_t)ASN1_STRING_length(s), len);
  assert_memory_equal(ASN1_STRING_get0_data(s), want, len);
}

/* assert_uri_name checks a GENERAL_NAME is the URI |want|. */
static void assert_uri_name(const GENERAL_NAME *gn, const char *want) {
  assert_int_equal(gn->type, GEN_URI);
  assert_int_equal((size_t)ASN1_STRING_length(gn->d.uniformResourceIdentifier),
                   strlen(want));
  assert_memory_equal(ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
                      want, strlen(want));
}

/* ======================================================================
 * A root -> intermediate -> {leaf, responder} hierarchy
 * ====================================================================== */

struct pki {
  struct vigil_key *root_key, *inter_key, *leaf_key, *resp_key;
  struct issued root, inter, leaf, resp;
};

static const uint8_t kIp4[] = { 127, 0, 0, 1 };
static const uint8_t kIp6[] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                0,    0,    0,    0,    0, 0, 0, 0x42 };
static const struct vigil_x509_san kLeafSans[] = {
  { VIGIL_X509_SAN_DNS, (const uint8_t *)"a.example", 9 },
  { VIGIL_X509_SAN_DNS, (const uint8_t *)"*.b.example", 11 },
  { VIGIL_X509_SAN_IP, kIp4, 4 },
  { VIGIL_X509_SAN_IP, kIp6, 16 },
  { VIGIL_X509_SAN_URI, (const uint8_t *)"spiffe://example/leaf", 21 },
  { VIGIL_X509_SAN_EMAIL, (const uint8_t *)"ops@a.example", 13 },
};
#define OCSP_URL       "http://127.0.0.1:8080/ocsp/demo"
#define CRL_URL        "http://127.0.0.1:8080/crl/demo"
#define CA_ISSUERS_URL "http://127.0.0.1:8080/ca/demo.der"

static int pki_setup(void **state) {
  struct pki *p = calloc(1, sizeof(*p));
  assert_non_null(p);
  uint8_t name[256];
  struct vigil_x509_template t;

  p->root_key = vigil_key_generate(VIGIL_KEY_EC_P256, 0);
  p->inter_key = vigil_key_generate(VIGIL_KEY_EC_P384, 0);
  p->leaf_key = load_key(VEC("key_rsa2048_pkcs1.pem"));
  p->resp_key = vigil_key_generate(VIGIL_KEY_ED25519, 0);
  assert_non_null(p->root_key);
  assert_non_null(p->inter_key);
  assert_non_null(p->resp_key);

  struct vigil_x509_name rn = { .country = "DE",
                                .organization = "Vigil Tests",
                                .common_name = "Vigil Test Root" };
  vigil_x509_profile_root_ca(&t, NOW - 60 * DAY, 20 * YEAR);
  t.subject = name;
  t.subject_len = name_der(name, sizeof(name), &rn);
  issue(&p->root, &t, NULL, p->root_key);

  struct vigil_x509_name in = { .organization = "Vigil Tests",
                                .common_name = "Vigil Test Intermediate" };
  vigil_x509_profile_intermediate_ca(
      &t, NOW - 30 * DAY, 10 * YEAR, 0,
      VIGIL_X509_EKU_SERVER_AUTH | VIGIL_X509_EKU_CLIENT_AUTH);
  t.subject = name;
  t.subject_len = name_der(name, sizeof(name), &in);
  t.spki = vigil_key_get0_spki(p->inter_key, &t.spki_len);
  t.crl_url = "http://127.0.0.1:8080/crl/root";
  t.ca_issuers_url = "http://127.0.0.1:8080/ca/root.der";
  issue(&p->inter, &t, &p->root, p->root_key);

  struct vigil_x509_name ln = { .common_name = "a.example" };
  vigil_x509_profile_tls_server(&t, NOW, 90 * DAY, VIGIL_KEY_RSA);
  t.subject = name;
  t.subject_len = name_der(name, sizeof(name), &ln);
  t.spki = vigil_key_get0_spki(p->leaf_key, &t.spki_len);
  t.sans = kLeafSans;
  t.num_sans = sizeof(kLeafSans) / sizeof(kLeafSans[0]);
  t.ocsp_url = OCSP_URL;
  t.ca_issuers_url = CA_ISSUERS_URL;
  t.crl_url = CRL_URL;
  issue(&p->leaf, &t, &p->inter, p->inter_key);

  struct vigil_x509_name on = { .common_name = "Vigil OCSP Responder" };
  vigil_x509_profile_ocsp_responder(&t, NOW, 4 * DAY);
  t.subject = name;
  t.subject_len = name_der(name, sizeof(name), &on);
  t.spki = vigil_key_get0_spki(p->resp_key, &t.spki_len);
  issue(&p->resp, &t, &p->inter, p->inter_key);

  *state = p;
  return 0;
}

static int pki_teardown(void **state) {
  struct pki *p = *state;
  issued_free(&p->root);
  issued_free(&p->inter);
  issued_free(&p->leaf);
  issued_free(&p->resp);
  vigil_key_free(p->root_key);
  vigil_key_free(p->inter_key);
  vigil_key_free(p->leaf_key);
  vigil_key_free(p->resp_key);
  free(p);
  return 0;
}

/* verify_chain runs BoringSSL's path validation for |leaf| with the root
 * trusted and the intermediate untrusted, at NOW + 1 hour, for |purpose|
 * (X509_PURPOSE_*, or 0 for none). */
static int verify_chain(struct pki *p, X509 *leaf, int purpose) {
  X509_STORE *store = X509_STORE_new();
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  STACK_OF(X509) *untrusted = sk_X509_new_null();
  assert_non_null(store);
  assert_non_null(ctx);
  assert_non_null(untrusted);
  assert_true(X509_STORE_add_cert(store, p->root.x509));
  assert_true(sk_X509_push(untrusted, p->inter.x509));
  assert_true(X509_STORE_CTX_init(ctx, store, leaf, untrusted));
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx),
                             (time_t)(NOW + 3600));
  if (purpose != 0) {
    assert_true(X509_STORE_CTX_set_purpose(ctx, purpose));
  }
  int ok = X509_verify_cert(ctx);
  if (ok != 1) {
    print_error("verify: %s\n",
                X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
  }
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  X509_STORE_free(store);
  return ok;
}

static void test_chain_validates(void **state) {
  struct pki *p = *state;
  assert_int_equal(verify_chain(p, p->leaf.x509, X509_PURPOSE_SSL_SERVER), 1);
  assert_int_equal(verify_chain(p, p->leaf.x509, X509_PURPOSE_SSL_CLIENT), 1);
  /* (This BoringSSL refuses to set the OCSP-helper purpose; without a
   * purpose it still builds and verifies the path.) */
  assert_int_equal(verify_chain(p, p->resp.x509, 0), 1);
  /* The responder is not a TLS server certificate. */
  assert_int_equal(verify_chain(p, p->resp.x509, X509_PURPOSE_SSL_SERVER), 0);
  /* Host and IP matching through the SANs. */
  assert_int_equal(X509_check_host(p->leaf.x509, "a.example", 9, 0, NULL), 1);
  assert_int_equal(X509_check_host(p->leaf.x509, "x.b.example", 11, 0, NULL),
                   1);
  assert_int_equal(X509_check_host(p->leaf.x509, "c.example", 9, 0, NULL), 0);
  assert_int_equal(X509_check_ip_asc(p->leaf.x509, "127.0.0.1", 0), 1);
  assert_int_equal(X509_check_ip_asc(p->leaf.x509, "2001:db8::42", 0), 1);
  /* Our own view agrees on who signed what. */
  assert_true(vigil_cert_verify_signed_by(p->root.cert, p->root.cert));
  assert_true(vigil_cert_verify_signed_by(p->inter.cert, p->root.cert));
  assert_true(vigil_cert_verify_signed_by(p->leaf.cert, p->inter.cert));
  assert_true(vigil_cert_verify_signed_by(p->resp.cert, p->inter.cert));
  assert_false(vigil_cert_verify_signed_by(p->leaf.cert, p->root.cert));
}

static void test_root(void **state) {
  struct pki *p = *state;
  X509 *x = p->root.x509;
  const struct vigil_cert *c = p->root.cert;
  assert_int_equal(X509_get_version(x), 2); /* v3 */
  assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
  assert_true(c->is_ca);
  assert_int_equal(CBS_len(&c->issuer), CBS_len(&c->subject));
  assert_memory_equal(CBS_data(&c->issuer), CBS_data(&c->subject),
                      CBS_len(&c->subject));
  assert_int_equal(c->not_before, NOW - 60 * DAY - VIGIL_X509_BACKDATE);
  assert_int_equal(c->not_after, NOW - 60 * DAY + 20 * YEAR);
  assert_true(vigil_cert_matches_key(c, p->root_key));

  /* basicConstraints critical, cA, no pathLen; keyUsage critical. */
  assert_ext(x, NID_basic_constraints, 1);
  assert_true(X509_get_extension_flags(x) & EXFLAG_CA);
  assert_int_equal(X509_get_pathlen(x), -1);
  assert_ext(x, NID_key_usage, 1);
  assert_int_equal(X509_get_key_usage(x),
                   KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN | KU_CRL_SIGN);
  /* SKI = SHA-1 of the key bits (RFC 5280 4.2.1.2 (1)); AKI = SKI. */
  const uint8_t *sha1 = vigil_key_get0_sha1(p->root_key);
  assert_ext(x, NID_subject_key_identifier, 0);
  assert_octets(X509_get0_subject_key_id(x), sha1, 20);
  assert_ext(x, NID_authority_key_identifier, 0);
  assert_octets(X509_get0_authority_key_id(x), sha1, 20);
  assert_int_equal(CBS_len(&c->ski), 20);
  assert_memory_equal(CBS_data(&c->ski), sha1, 20);
  /* BR 7.1.2.1: no EKU, no AIA / CRL DP / policies on this root. */
  assert_no_ext(x, NID_ext_key_usage);
  assert_no_ext(x, NID_info_access);
  assert_no_ext(x, NID_crl_distribution_points);
  assert_no_ext(x, NID_certificate_policies);
  assert_no_ext(x, NID_subject_alt_name);

  /* Subject: C (PrintableString), O, CN (UTF8String), in that order. */
  X509_NAME *name = X509_get_subject_name(x);
  assert_int_equal(X509_NAME_entry_count(name), 3);
  static const int kNids[] = { NID_countryName, NID_organizationName,
                               NID_commonName };
  static const int kTypes[] = { V_ASN1_PRINTABLESTRING, V_ASN1_UTF8STRING,
                                V_ASN1_UTF8STRING };
  static const char *const kValues[] = { "DE", "Vigil Tests",
                                         "Vigil Test Root" };
  for (int i = 0; i < 3; i++) {
    X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
    assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)), kNids[i]);
    ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
    assert_int_equal(ASN1_STRING_type(v), kTypes[i]);
    assert_int_equal((size_t)ASN1_STRING_length(v), strlen(kValues[i]));
    assert_memory_equal(ASN1_STRING_get0_data(v), kValues[i],
                        strlen(kValues[i]));
  }
}

static void test_intermediate(void **state) {
  struct pki *p = *state;
  X509 *x = p->inter.x509;
  assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
  assert_true(p->inter.cert->is_ca);
  assert_int_equal(X509_get_pathlen(x), 0);
  assert_int_equal(X509_get_key_usage(x),
                   KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN | KU_CRL_SIGN);
  assert_int_equal(X509_get_extended_key_usage(x),
                   XKU_SSL_SERVER | XKU_SSL_CLIENT);
  assert_octets(X509_get0_subject_key_id(x), vigil_key_get0_sha1(p->inter_key),
                20);
  assert_octets(X509_get0_authority_key_id(x), vigil_key_get0_sha1(p->root_key),
                20);
  /* Issuer Name is the root's subject, byte for byte. */
  assert_int_equal(CBS_len(&p->inter.cert->issuer),
                   CBS_len(&p->root.cert->subject));
  assert_memory_equal(CBS_data(&p->inter.cert->issuer),
                      CBS_data(&p->root.cert->subject),
                      CBS_len(&p->root.cert->subject));
  /* anyPolicy. */
  CERTIFICATEPOLICIES *pol =
      X509_get_ext_d2i(x, NID_certificate_policies, NULL, NULL);
  assert_non_null(pol);
  assert_int_equal(sk_POLICYINFO_num(pol), 1);
  assert_int_equal(OBJ_obj2nid(sk_POLICYINFO_value(pol, 0)->policyid),
                   NID_any_policy);
  sk_POLICYINFO_pop_free(pol, POLICYINFO_free);
}

static void test_leaf(void **state) {
  struct pki *p = *state;
  X509 *x = p->leaf.x509;
  assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA384);
  assert_false(p->leaf.cert->is_ca);
  assert_int_equal(p->leaf.cert->not_before, NOW - VIGIL_X509_BACKDATE);
  assert_int_equal(p->leaf.cert->not_after, NOW + 90 * DAY);

  /* basicConstraints critical with cA FALSE (empty SEQUENCE). */
  assert_ext(x, NID_basic_constraints, 1);
  assert_false(X509_get_extension_flags(x) & EXFLAG_CA);
  /* RSA key: digitalSignature + keyEncipherment; TLS EKUs. */
  assert_ext(x, NID_key_usage, 1);
  assert_int_equal(X509_get_key_usage(x),
                   KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
  assert_ext(x, NID_ext_key_usage, 0);
  assert_int_equal(X509_get_extended_key_usage(x),
                   XKU_SSL_SERVER | XKU_SSL_CLIENT);
  /* BR: no SKI on subscriber certificates; AKI = the intermediate's SKI. */
  assert_no_ext(x, NID_subject_key_identifier);
  assert_octets(X509_get0_authority_key_id(x), CBS_data(&p->inter.cert->ski),
                CBS_len(&p->inter.cert->ski));

  /* SANs, in order, non-critical (the subject is not empty). */
  assert_ext(x, NID_subject_alt_name, 0);
  GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
  assert_non_null(gens);
  size_t num = sizeof(kLeafSans) / sizeof(kLeafSans[0]);
  assert_int_equal(sk_GENERAL_NAME_num(gens), num);
  static const int kGenTypes[] = { GEN_DNS,   GEN_DNS, GEN_IPADD,
                                   GEN_IPADD, GEN_URI, GEN_EMAIL };
  for (size_t i = 0; i < num; i++) {
    GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
    assert_int_equal(gn->type, kGenTypes[i]);
    const ASN1_STRING *s = gn->type == GEN_IPADD ? gn->d.iPAddress : gn->d.ia5;
    assert_int_equal((size_t)ASN1_STRING_length(s), kLeafSans[i].value_len);
    assert_memory_equal(ASN1_STRING_get0_data(s), kLeafSans[i].value,
                        kLeafSans[i].value_len);
  }
  GENERAL_NAMES_free(gens);

  /* AIA: OCSP then caIssuers. */
  AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
  assert_non_null(aia);
  assert_int_equal(sk_ACCESS_DESCRIPTION_num(aia), 2);
  ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, 0);
  assert_int_equal(OBJ_obj2nid(ad->method), NID_ad_OCSP);
  assert_uri_name(ad->location, OCSP_URL);
  ad = sk_ACCESS_DESCRIPTION_value(aia, 1);
  assert_int_equal(OBJ_obj2nid(ad->method), NID_ad_ca_issuers);
  assert_uri_name(ad->location, CA_ISSUERS_URL);
  AUTHORITY_INFO_ACCESS_free(aia);

  /* CRL distribution point: one fullName URI. */
  CRL_DIST_POINTS *dps =
      X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
  assert_non_null(dps);
  assert_int_equal(sk_DIST_POINT_num(dps), 1);
  DIST_POINT *dp = sk_DIST_POINT_value(dps, 0);
  assert_non_null(dp->distpoint);
  assert_int_equal(dp->distpoint->type, 0); /* fullName */
  assert_int_equal(sk_GENERAL_NAME_num(dp->distpoint->name.fullname), 1);
  assert_uri_name(sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0),
                  CRL_URL);
  assert_null(dp->reasons);
  assert_null(dp->CRLissuer);
  sk_DIST_POINT_pop_free(dps, DIST_POINT_free);

  /* BR domain-validated policy. */
  CERTIFICATEPOLICIES *pol =
      X509_get_ext_d2i(x, NID_certificate_policies, NULL, NULL);
  assert_non_null(pol);
  assert_int_equal(sk_POLICYINFO_num(pol), 1);
  char oid[64];
  assert_true(OBJ_obj2txt(oid, sizeof(oid),
                          sk_POLICYINFO_value(pol, 0)->policyid, 1) > 0);
  assert_string_equal(oid, "2.23.140.1.2.1");
  sk_POLICYINFO_pop_free(pol, POLICYINFO_free);
  assert_no_ext(x, NID_id_pkix_OCSP_noCheck);
}

static void test_responder(void **state) {
  struct pki *p = *state;
  X509 *x = p->resp.x509;
  assert_false(p->resp.cert->is_ca);
  assert_int_equal(EVP_PKEY_id(p->resp.cert->pubkey), EVP_PKEY_ED25519);
  assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
  assert_int_equal(X509_get_extended_key_usage(x), XKU_OCSP_SIGN);
  /* id-pkix-ocsp-nocheck with a NULL value (RFC 6960 4.2.2.2.1). */
  X509_EXTENSION *ext = find_ext(x, NID_id_pkix_OCSP_noCheck);
  assert_non_null(ext);
  static const uint8_t kNull[] = { 0x05, 0x00 };
  assert_octets(X509_EXTENSION_get_data(ext), kNull, sizeof(kNull));
  assert_no_ext(x, NID_info_access);
  assert_no_ext(x, NID_crl_distribution_points);
  assert_no_ext(x, NID_certificate_policies);
  assert_octets(X509_get0_authority_key_id(x),
                vigil_key_get0_sha1(p->inter_key), 20);
  assert_int_equal(p->resp.cert->not_before, NOW - VIGIL_X509_BACKDATE);
}

/* ======================================================================
 * Templates: what is refused
 * ====================================================================== */

/* leaf_template fills |t| with a valid TLS leaf for the intermediate. */
static void leaf_template(struct vigil_x509_template *t, struct pki *p,
                          const struct vigil_key *subject_key) {
  static const uint8_t kName[] = { 0x30, 0x14, 0x31, 0x12, 0x30, 0x10,
                                   0x06, 0x03, 0x55, 0x04, 0x03, 0x0c,
                                   0x09, 'a',  '.',  'e',  'x',  'a',
                                   'm',  'p',  'l',  'e' };
  (void)p;
  vigil_x509_profile_tls_server(t, NOW, 30 * DAY,
                                vigil_key_get_type(subject_key));
  t->subject = kName;
  t->subject_len = sizeof(kName);
  t->spki = vigil_key_get0_spki(subject_key, &t->spki_len);
  t->sans = kLeafSans;
  t->num_sans = 1;
}

static void test_refusals(void **state) {
  struct pki *p = *state;
  struct vigil_x509_template t;
  const struct vigil_cert *ic = p->inter.cert;
  struct vigil_key *k = p->inter_key;
  struct vigil_key *ec = p->root_key; /* any EC key as a subject key */

  /* Baseline passes. */
  leaf_template(&t, p, ec);
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_OK);

  /* Validity. */
  leaf_template(&t, p, ec);
  t.not_after = t.not_before;
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_VALIDITY);
  leaf_template(&t, p, ec);
  t.not_after = p->inter.cert->not_after + 1;
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_ISSUER_VALIDITY);
  leaf_template(&t, p, ec);
  t.not_before = p->inter.cert->not_before - 1;
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_ISSUER_VALIDITY);

  /* Issuer. */
  leaf_template(&t, p, ec);
  assert_int_equal(try_issue(&t, ic, p->root_key), VIGIL_X509_ERR_ISSUER_KEY);
  assert_int_equal(try_issue(&t, p->leaf.cert, p->leaf_key),
                   VIGIL_X509_ERR_ISSUER_NOT_CA);
  t.spki = NULL; /* only self-signed may omit the subject key */
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_ARG);

  /* Self-signed with someone else's key. */
  vigil_x509_profile_root_ca(&t, NOW, YEAR);
  t.subject = CBS_data(&p->root.cert->subject);
  t.subject_len = CBS_len(&p->root.cert->subject);
  t.spki = vigil_key_get0_spki(p->inter_key, &t.spki_len);
  assert_int_equal(try_issue(&t, NULL, p->root_key), VIGIL_X509_ERR_ISSUER_KEY);

  /* Key usage against cA and key type. */
  vigil_x509_profile_root_ca(&t, NOW, YEAR);
  t.subject = CBS_data(&p->root.cert->subject);
  t.subject_len = CBS_len(&p->root.cert->subject);
  t.key_usage = VIGIL_X509_KU_CRL_SIGN;
  assert_int_equal(try_issue(&t, NULL, p->root_key), VIGIL_X509_ERR_KEY_USAGE);
  t.key_usage = 0;
  assert_int_equal(try_issue(&t, NULL, p->root_key), VIGIL_X509_ERR_KEY_USAGE);
  leaf_template(&t, p, ec);
  t.key_usage |= VIGIL_X509_KU_KEY_CERT_SIGN;
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_KEY_USAGE);
  leaf_template(&t, p, ec);
  t.key_usage |= VIGIL_X509_KU_KEY_ENCIPHERMENT; /* EC key */
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_KEY_USAGE);
  leaf_template(&t, p, p->resp_key);
  t.key_usage |= VIGIL_X509_KU_KEY_AGREEMENT; /* Ed25519 key */
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_KEY_USAGE);
  leaf_template(&t, p, ec);
  t.key_usage |= VIGIL_X509_KU_KEY_AGREEMENT; /* fine for EC */
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_OK);
  leaf_template(&t, p, ec);
  t.key_usage = 0x80; /* encipherOnly: not supported */
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_KEY_USAGE);

  /* EKU. A root with EKU; any CA with OCSPSigning; OCSPSigning mixed
   * with other purposes; unknown bits. */
  vigil_x509_profile_root_ca(&t, NOW, YEAR);
  t.subject = CBS_data(&p->root.cert->subject);
  t.subject_len = CBS_len(&p->root.cert->subject);
  t.ext_key_usage = VIGIL_X509_EKU_SERVER_AUTH;
  assert_int_equal(try_issue(&t, NULL, p->root_key),
                   VIGIL_X509_ERR_EXT_KEY_USAGE);
  vigil_x509_profile_intermediate_ca(&t, NOW, YEAR, -1,
                                     VIGIL_X509_EKU_OCSP_SIGNING);
  t.subject = CBS_data(&p->inter.cert->subject);
  t.subject_len = CBS_len(&p->inter.cert->subject);
  t.spki = vigil_key_get0_spki(ec, &t.spki_len);
  assert_int_equal(try_issue(&t, p->root.cert, p->root_key),
                   VIGIL_X509_ERR_EXT_KEY_USAGE);
  t.ext_key_usage = VIGIL_X509_EKU_SERVER_AUTH; /* BR TLS sub-CA: fine */
  assert_int_equal(try_issue(&t, p->root.cert, p->root_key), VIGIL_X509_OK);
  leaf_template(&t, p, ec);
  t.ext_key_usage = 0x40;
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_EXT_KEY_USAGE);

  /* Responders: OCSPSigning alone, with nocheck, from an issuer, not
   * backdated by more than a day. */
  vigil_x509_profile_ocsp_responder(&t, NOW, 4 * DAY);
  t.subject = CBS_data(&p->resp.cert->subject);
  t.subject_len = CBS_len(&p->resp.cert->subject);
  t.spki = vigil_key_get0_spki(p->resp_key, &t.spki_len);
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_OK);
  t.ext_key_usage |= VIGIL_X509_EKU_SERVER_AUTH;
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_EXT_KEY_USAGE);
  t.ext_key_usage = VIGIL_X509_EKU_OCSP_SIGNING;
  t.ocsp_nocheck = 0;
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_NOCHECK);
  t.ocsp_nocheck = 1;
  t.not_before = NOW - VIGIL_X509_RESPONDER_MAX_BACKDATE;
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_OK);
  t.not_before = NOW - VIGIL_X509_RESPONDER_MAX_BACKDATE - 1;
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_BACKDATED);
  t.not_before = NOW;
  t.spki = NULL; /* self-signed responder: refused */
  assert_int_equal(try_issue(&t, NULL, p->resp_key),
                   VIGIL_X509_ERR_EXT_KEY_USAGE);
  leaf_template(&t, p, ec);
  t.ocsp_nocheck = 1; /* nocheck without OCSPSigning */
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_NOCHECK);

  /* pathLen on a leaf. */
  leaf_template(&t, p, ec);
  t.has_path_len = 1;
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_PATH_LEN);

  /* URLs must be http://. */
  static const char *const kBadUrls[] = { "https://x.example/ocsp",
                                          "ldap://x.example/", "http://",
                                          "http://a b/", "x.example" };
  for (size_t i = 0; i < sizeof(kBadUrls) / sizeof(kBadUrls[0]); i++) {
    leaf_template(&t, p, ec);
    t.ocsp_url = kBadUrls[i];
    assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_URL);
    leaf_template(&t, p, ec);
    t.crl_url = kBadUrls[i];
    assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_URL);
  }

  /* Policies. */
  static const char *const kBadPolicy[] = { "not.an.oid" };
  leaf_template(&t, p, ec);
  t.policies = kBadPolicy;
  t.num_policies = 1;
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_POLICY);

  /* Subject. */
  static const uint8_t kBadName[] = { 0x30, 0x03, 0x31, 0x01, 0x00 };
  static const uint8_t kEmptyName[] = { 0x30, 0x00 };
  leaf_template(&t, p, ec);
  t.subject = kBadName;
  t.subject_len = sizeof(kBadName);
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_NAME);
  t.subject = kEmptyName;
  t.subject_len = sizeof(kEmptyName);
  t.num_sans = 0;
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_EMPTY_SUBJECT);
  vigil_x509_profile_intermediate_ca(&t, NOW, YEAR, -1, 0);
  t.subject = kEmptyName;
  t.subject_len = sizeof(kEmptyName);
  t.spki = vigil_key_get0_spki(ec, &t.spki_len);
  t.sans = kLeafSans;
  t.num_sans = 1;
  assert_int_equal(try_issue(&t, p->root.cert, p->root_key),
                   VIGIL_X509_ERR_EMPTY_SUBJECT);

  /* SANs. */
  leaf_template(&t, p, ec);
  struct vigil_x509_san bad = { VIGIL_X509_SAN_DNS,
                                (const uint8_t *)"bad_name.example", 16 };
  t.sans = &bad;
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_SAN);
  t.sans = NULL;
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_SAN);
  t.num_sans = VIGIL_X509_MAX_SANS + 1;
  t.sans = kLeafSans;
  assert_int_equal(try_issue(&t, ic, k), VIGIL_X509_ERR_SAN);
}

static void test_empty_subject_makes_san_critical(void **state) {
  struct pki *p = *state;
  struct vigil_x509_template t;
  struct issued c;
  static const uint8_t kEmptyName[] = { 0x30, 0x00 };
  leaf_template(&t, p, p->root_key);
  t.subject = kEmptyName;
  t.subject_len = sizeof(kEmptyName);
  t.num_sans = 2;
  issue(&c, &t, &p->inter, p->inter_key);
  assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(c.x509)), 0);
  assert_ext(c.x509, NID_subject_alt_name, 1);
  /* EC key: digitalSignature only. */
  assert_int_equal(X509_get_key_usage(c.x509), KU_DIGITAL_SIGNATURE);
  assert_int_equal(verify_chain(p, c.x509, X509_PURPOSE_SSL_SERVER), 1);
  issued_free(&c);
}

static void test_path_len(void **state) {
  struct pki *p = *state;
  struct vigil_x509_template t;
  struct issued root1;
  uint8_t name[128];
  struct vigil_x509_name n = { .common_name = "pathLen 1 Root" };

  /* Below the intermediate (pathLen 0) no CA can be issued. */
  vigil_x509_profile_intermediate_ca(&t, NOW, YEAR, -1, 0);
  t.subject = CBS_data(&p->inter.cert->subject);
  t.subject_len = CBS_len(&p->inter.cert->subject);
  t.spki = vigil_key_get0_spki(p->resp_key, &t.spki_len);
  assert_int_equal(try_issue(&t, p->inter.cert, p->inter_key),
                   VIGIL_X509_ERR_PATH_LEN);

  /* Below a pathLen 1 root: a sub-CA with pathLen 1 is refused, 0 and
   * none are fine. */
  vigil_x509_profile_root_ca(&t, NOW, YEAR);
  t.has_path_len = 1;
  t.path_len = 1;
  t.subject = name;
  t.subject_len = name_der(name, sizeof(name), &n);
  issue(&root1, &t, NULL, p->root_key);
  assert_int_equal(X509_get_pathlen(root1.x509), 1);
  vigil_x509_profile_intermediate_ca(&t, NOW, YEAR / 2, 1, 0);
  t.subject = CBS_data(&p->inter.cert->subject);
  t.subject_len = CBS_len(&p->inter.cert->subject);
  t.spki = vigil_key_get0_spki(p->resp_key, &t.spki_len);
  assert_int_equal(try_issue(&t, root1.cert, p->root_key),
                   VIGIL_X509_ERR_PATH_LEN);
  t.path_len = 0;
  assert_int_equal(try_issue(&t, root1.cert, p->root_key), VIGIL_X509_OK);
  t.has_path_len = 0;
  assert_int_equal(try_issue(&t, root1.cert, p->root_key), VIGIL_X509_OK);
  issued_free(&root1);
}

/* load_cert_file parses a certificate file. */
static struct vigil_cert *load_cert(const char *path) {
  enum vigil_cert_err err;
  struct vigil_cert *c = vigil_cert_load_file(&err, path);
  assert_non_null(c);
  return c;
}

static void test_openssl_made_issuers(void **state) {
  struct pki *p = *state;
  struct vigil_x509_template t;
  uint8_t *der = NULL;
  size_t len = 0;

  /* The committed OpenSSL CA: AKI must be the SKI openssl computed, which
   * is also what RFC 5280 method (1) gives for its key. */
  struct vigil_cert *ca = load_cert(VEC("ca_p256.pem"));
  struct vigil_key *ca_key = load_key(VEC("key_p256_pkcs8.pem"));
  assert_int_equal(CBS_len(&ca->ski), 20);
  assert_memory_equal(CBS_data(&ca->ski), vigil_key_get0_sha1(ca_key), 20);
  int64_t now = ca->not_before + DAY;
  leaf_template(&t, p, p->root_key);
  t.not_before = now;
  t.not_after = now + 30 * DAY;
  assert_int_equal(vigil_x509_issue_der(&der, &len, &t, ca, ca_key, now),
                   VIGIL_X509_OK);
  const uint8_t *ptr = der;
  X509 *leaf = d2i_X509(NULL, &ptr, (long)len);
  assert_non_null(leaf);
  assert_octets(X509_get0_authority_key_id(leaf), CBS_data(&ca->ski), 20);
  ptr = CBS_data(&ca->der);
  X509 *root = d2i_X509(NULL, &ptr, (long)CBS_len(&ca->der));
  assert_non_null(root);
  X509_STORE *store = X509_STORE_new();
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  assert_true(X509_STORE_add_cert(store, root));
  assert_true(X509_STORE_CTX_init(ctx, store, leaf, NULL));
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx),
                             (time_t)(now + 3600));
  assert_true(X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER));
  assert_int_equal(X509_verify_cert(ctx), 1);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  X509_free(root);
  X509_free(leaf);
  vigil_free(der);
  vigil_cert_free(ca);
  vigil_key_free(ca_key);

  /* A CA certificate whose keyUsage lacks keyCertSign, made by openssl at
   * test time, cannot issue. */
  char dir[] = "/tmp/vigil-test-x509.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char cmd[1024], cert_path[256], key_path[256];
  assert_true(snprintf(cert_path, sizeof(cert_path), "%s/ca.pem", dir) > 0);
  assert_true(snprintf(key_path, sizeof(key_path), "%s/ca.key", dir) > 0);
  int n = snprintf(cmd, sizeof(cmd),
                   "openssl req -x509 -newkey ec -pkeyopt "
                   "ec_paramgen_curve:P-256 -nodes -keyout %s -out %s "
                   "-subj /CN=NoCertSign -days 30 "
                   "-addext basicConstraints=critical,CA:TRUE "
                   "-addext keyUsage=critical,digitalSignature,cRLSign "
                   ">/dev/null 2>&1",
                   key_path, cert_path);
  assert_true(n > 0 && (size_t)n < sizeof(cmd));
  assert_int_equal(system(cmd), 0);
  ca = load_cert(cert_path);
  ca_key = load_key(key_path);
  assert_true(ca->is_ca);
  now = ca->not_before + 60;
  leaf_template(&t, p, p->root_key);
  t.not_before = now;
  t.not_after = now + DAY;
  der = NULL;
  assert_int_equal(vigil_x509_issue_der(&der, &len, &t, ca, ca_key, now),
                   VIGIL_X509_ERR_ISSUER_NOT_CA);
  assert_null(der);
  vigil_cert_free(ca);
  vigil_key_free(ca_key);
  unlink(cert_path);
  unlink(key_path);
  assert_int_equal(rmdir(dir), 0);
}

/* ======================================================================
 * Serials and times
 * ====================================================================== */

static void test_serials(void **state) {
  struct pki *p = *state;
  struct vigil_x509_template t;
  struct issued c;

  /* Generated serials: 16 octets, positive, minimal, and random in every
   * position (over 64 draws each octet takes more than one value). */
  uint8_t first[VIGIL_X509_SERIAL_LEN], s[VIGIL_X509_SERIAL_LEN];
  int varies[VIGIL_X509_SERIAL_LEN] = { 0 };
  assert_true(vigil_x509_serial_generate(first));
  for (int i = 0; i < 64; i++) {
    assert_true(vigil_x509_serial_generate(s));
    assert_true(s[0] != 0 && s[0] < 0x80);
    for (int j = 0; j < VIGIL_X509_SERIAL_LEN; j++) {
      varies[j] |= s[j] != first[j];
    }
  }
  for (int j = 0; j < VIGIL_X509_SERIAL_LEN; j++) {
    assert_true(varies[j]);
  }

  /* The root (generated serial) as BoringSSL sees it. */
  const ASN1_INTEGER *serial = X509_get0_serialNumber(p->root.x509);
  assert_int_equal(ASN1_STRING_type(serial), V_ASN1_INTEGER); /* positive */
  assert_int_equal(ASN1_STRING_length(serial), 16);
  assert_int_equal(CBS_len(&p->root.cert->serial), 16);

  /* Given serials: written as is when valid. */
  static const uint8_t kOk1[] = { 0x01, 0x02, 0x03 };
  static const uint8_t kOk2[] = { 0x00, 0x80 };
  static const uint8_t kOk20[20] = { 0x7f, 1, 2, 3 };
  static const uint8_t kNeg[] = { 0x80 };
  static const uint8_t kNonMinimal[] = { 0x00, 0x01 };
  static const uint8_t kZero[] = { 0x00 };
  static const uint8_t kLong[21] = { 0x01 };
  static const struct {
    const uint8_t *serial;
    size_t len;
    enum vigil_x509_err want;
  } kCases[] = {
    { kOk1, sizeof(kOk1), VIGIL_X509_OK },
    { kOk2, sizeof(kOk2), VIGIL_X509_OK },
    { kOk20, sizeof(kOk20), VIGIL_X509_OK },
    { kNeg, sizeof(kNeg), VIGIL_X509_ERR_SERIAL },
    { kNonMinimal, sizeof(kNonMinimal), VIGIL_X509_ERR_SERIAL },
    { kZero, sizeof(kZero), VIGIL_X509_ERR_SERIAL },
    { kLong, sizeof(kLong), VIGIL_X509_ERR_SERIAL },
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    leaf_template(&t, p, p->root_key);
    t.serial = kCases[i].serial;
    t.serial_len = kCases[i].len;
    if (kCases[i].want != VIGIL_X509_OK) {
      assert_int_equal(try_issue(&t, p->inter.cert, p->inter_key),
                       kCases[i].want);
      continue;
    }
    issue(&c, &t, &p->inter, p->inter_key);
    assert_int_equal(CBS_len(&c.cert->serial), kCases[i].len);
    assert_memory_equal(CBS_data(&c.cert->serial), kCases[i].serial,
                        kCases[i].len);
    issued_free(&c);
  }
}

static void test_time_encoding(void **state) {
  struct pki *p = *state;
  struct vigil_x509_template t;
  struct issued c;
  /* 2049-12-31T23:59:59Z is the last UTCTime; 2050 needs GeneralizedTime
   * (RFC 5280 4.1.2.5). Self-signed, so no issuer bounds apply. */
  static const struct {
    int64_t nb, na;
    int nb_type, na_type;
  } kCases[] = {
    { INT64_C(2524607999), INT64_C(2524608000), V_ASN1_UTCTIME,
      V_ASN1_GENERALIZEDTIME },
    { NOW, INT64_C(253402300799), V_ASN1_UTCTIME,
      V_ASN1_GENERALIZEDTIME }, /* 9999-12-31T23:59:59Z */
    { INT64_C(-631152000), NOW, V_ASN1_UTCTIME, V_ASN1_UTCTIME }, /* 1950 */
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    vigil_x509_profile_root_ca(&t, NOW, YEAR);
    t.subject = CBS_data(&p->root.cert->subject);
    t.subject_len = CBS_len(&p->root.cert->subject);
    t.not_before = kCases[i].nb;
    t.not_after = kCases[i].na;
    issue(&c, &t, NULL, p->root_key);
    assert_int_equal(c.cert->not_before, kCases[i].nb);
    assert_int_equal(c.cert->not_after, kCases[i].na);
    assert_int_equal(ASN1_STRING_type(X509_get0_notBefore(c.x509)),
                     kCases[i].nb_type);
    assert_int_equal(ASN1_STRING_type(X509_get0_notAfter(c.x509)),
                     kCases[i].na_type);
    /* BoringSSL's reading of notAfter, as seconds since the epoch. */
    ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
    assert_non_null(epoch);
    int days = 0, secs = 0;
    assert_true(
        ASN1_TIME_diff(&days, &secs, epoch, X509_get0_notAfter(c.x509)));
    ASN1_TIME_free(epoch);
    assert_int_equal((int64_t)days * DAY + secs, kCases[i].na);
    issued_free(&c);
  }
  /* Out of range. */
  vigil_x509_profile_root_ca(&t, NOW, YEAR);
  t.subject = CBS_data(&p->root.cert->subject);
  t.subject_len = CBS_len(&p->root.cert->subject);
  t.not_before = INT64_C(-631152001);
  assert_int_equal(try_issue(&t, NULL, p->root_key), VIGIL_X509_ERR_VALIDITY);
  t.not_before = NOW;
  t.not_after = INT64_C(253402300800);
  assert_int_equal(try_issue(&t, NULL, p->root_key), VIGIL_X509_ERR_VALIDITY);
}

/* ======================================================================
 * Keys, signature algorithms, CSRs
 * ====================================================================== */

static void test_issuer_key_types(void **state) {
  (void)state;
  static const struct {
    enum vigil_key_type type;
    int nid;
  } kCases[] = {
    { VIGIL_KEY_EC_P256, NID_ecdsa_with_SHA256 },
    { VIGIL_KEY_EC_P384, NID_ecdsa_with_SHA384 },
    { VIGIL_KEY_RSA, NID_sha256WithRSAEncryption },
    { VIGIL_KEY_ED25519, NID_ED25519 },
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    struct vigil_key *key = kCases[i].type == VIGIL_KEY_RSA
                                ? load_key(VEC("key_rsa2048_pkcs1.pem"))
                                : vigil_key_generate(kCases[i].type, 0);
    assert_non_null(key);
    uint8_t name[128];
    struct vigil_x509_name n = { .common_name = "Key Type Root" };
    struct vigil_x509_template t;
    struct issued c;
    vigil_x509_profile_root_ca(&t, NOW, YEAR);
    t.subject = name;
    t.subject_len = name_der(name, sizeof(name), &n);
    issue(&c, &t, NULL, key);
    assert_int_equal(X509_get_signature_nid(c.x509), kCases[i].nid);
    assert_true(vigil_cert_verify_signed_by(c.cert, c.cert));
    issued_free(&c);
    vigil_key_free(key);
  }
}

/* spki_of marshals |pkey|'s SubjectPublicKeyInfo into |buf|. */
static size_t spki_of(uint8_t *buf, size_t max, EVP_PKEY *pkey) {
  CBB cbb;
  size_t len = 0;
  assert_true(CBB_init_fixed(&cbb, buf, max));
  assert_true(EVP_marshal_public_key(&cbb, pkey));
  assert_true(CBB_finish(&cbb, NULL, &len));
  return len;
}

static void test_spki_check(void **state) {
  struct pki *p = *state;
  uint8_t buf[2048];
  size_t len;
  enum vigil_key_type type;
  EVP_PKEY *pkey = NULL;

  /* Supported keys, with the EVP_PKEY handed out. */
  const uint8_t *spki = vigil_key_get0_spki(p->leaf_key, &len);
  assert_int_equal(vigil_x509_spki_check(&pkey, &type, spki, len),
                   VIGIL_X509_OK);
  assert_int_equal(type, VIGIL_KEY_RSA);
  assert_int_equal(EVP_PKEY_id(pkey), EVP_PKEY_RSA);
  EVP_PKEY_free(pkey);
  spki = vigil_key_get0_spki(p->resp_key, &len);
  assert_int_equal(vigil_x509_spki_check(NULL, &type, spki, len),
                   VIGIL_X509_OK);
  assert_int_equal(type, VIGIL_KEY_ED25519);

  /* P-521. */
  EC_KEY *ec = EC_KEY_new_by_curve_name(NID_secp521r1);
  assert_non_null(ec);
  assert_true(EC_KEY_generate_key(ec));
  pkey = EVP_PKEY_new();
  assert_true(EVP_PKEY_assign_EC_KEY(pkey, ec));
  len = spki_of(buf, sizeof(buf), pkey);
  EVP_PKEY_free(pkey);
  assert_int_equal(vigil_x509_spki_check(NULL, &type, buf, len),
                   VIGIL_X509_ERR_KEY_CURVE);

  /* RSA-1024 (committed test key). */
  FILE *f = fopen(VEC("key_rsa1024.pem"), "rb");
  assert_non_null(f);
  uint8_t pem[4096];
  size_t pem_len = fread(pem, 1, sizeof(pem), f);
  fclose(f);
  uint8_t *der = NULL;
  size_t der_len = 0;
  assert_true(vigil_pem_decode(&der, &der_len, "PRIVATE KEY", pem, pem_len));
  CBS cbs;
  CBS_init(&cbs, der, der_len);
  pkey = EVP_parse_private_key(&cbs);
  assert_non_null(pkey);
  vigil_free(der);
  len = spki_of(buf, sizeof(buf), pkey);
  EVP_PKEY_free(pkey);
  assert_int_equal(vigil_x509_spki_check(NULL, &type, buf, len),
                   VIGIL_X509_ERR_KEY_SIZE);

  /* Ed448 (1.3.101.113), 57-byte key. */
  uint8_t ed448[12 + 57] = { 0x30, 0x43, 0x30, 0x05, 0x06, 0x03,
                             0x2b, 0x65, 0x71, 0x03, 0x3a, 0x00 };
  assert_int_equal(vigil_x509_spki_check(NULL, &type, ed448, sizeof(ed448)),
                   VIGIL_X509_ERR_KEY_ALGORITHM);

  /* Broken encodings of a good key. */
  spki = vigil_key_get0_spki(p->root_key, &len);
  memcpy(buf, spki, len);
  assert_int_equal(vigil_x509_spki_check(NULL, &type, buf, len - 1),
                   VIGIL_X509_ERR_KEY_PARSE);
  buf[len] = 0;
  assert_int_equal(vigil_x509_spki_check(NULL, &type, buf, len + 1),
                   VIGIL_X509_ERR_KEY_PARSE);
  buf[len - 1] ^= 0x01; /* point no longer on the curve */
  assert_int_equal(vigil_x509_spki_check(NULL, &type, buf, len),
                   VIGIL_X509_ERR_KEY_PARSE);
  assert_int_equal(vigil_x509_spki_check(NULL, &type, NULL, 0),
                   VIGIL_X509_ERR_KEY_PARSE);

  /* And issuance refuses the same keys. */
  struct vigil_x509_template t;
  leaf_template(&t, p, p->root_key);
  t.spki = ed448;
  t.spki_len = sizeof(ed448);
  assert_int_equal(try_issue(&t, p->inter.cert, p->inter_key),
                   VIGIL_X509_ERR_KEY_ALGORITHM);
}

static void test_from_csr(void **state) {
  struct pki *p = *state;
  FILE *f = fopen(VEC("csr/p256_sans.pem"), "rb");
  assert_non_null(f);
  uint8_t buf[4096];
  size_t n = fread(buf, 1, sizeof(buf), f);
  fclose(f);
  enum vigil_csr_err cerr;
  struct vigil_csr *csr = vigil_csr_parse(&cerr, buf, n);
  assert_non_null(csr);

  struct vigil_x509_template t;
  struct issued c;
  vigil_x509_profile_tls_server(&t, NOW, 30 * DAY, csr->key_type);
  t.subject = CBS_data(&csr->subject);
  t.subject_len = CBS_len(&csr->subject);
  t.spki = CBS_data(&csr->spki);
  t.spki_len = CBS_len(&csr->spki);
  t.sans = csr->sans;
  t.num_sans = csr->num_sans;
  t.ocsp_url = OCSP_URL;
  issue(&c, &t, &p->inter, p->inter_key);
  assert_int_equal(CBS_len(&c.cert->subject), CBS_len(&csr->subject));
  assert_memory_equal(CBS_data(&c.cert->subject), CBS_data(&csr->subject),
                      CBS_len(&csr->subject));
  assert_int_equal(EVP_PKEY_cmp(c.cert->pubkey, csr->pubkey), 1);
  assert_int_equal(X509_check_host(c.x509, "csr.example", 11, 0, NULL), 1);
  assert_int_equal(X509_check_host(c.x509, "x.wild.example", 14, 0, NULL), 1);
  assert_int_equal(X509_check_ip_asc(c.x509, "192.0.2.7", 0), 1);
  assert_int_equal(X509_check_email(c.x509, "ops@csr.example", 15, 0), 1);
  assert_int_equal(verify_chain(p, c.x509, X509_PURPOSE_SSL_SERVER), 1);
  issued_free(&c);
  vigil_csr_free(csr);
}

/* ======================================================================
 * Names and SANs
 * ====================================================================== */

static void test_name_build(void **state) {
  (void)state;
  uint8_t buf[1024];
  CBB cbb;
  size_t len;

  /* All attributes, UTF-8 included, read back by BoringSSL in order. */
  struct vigil_x509_name n = { .country = "CH",
                               .state = "Zürich",
                               .locality = "Zürich",
                               .organization = "Vigil Tests AG",
                               .organizational_unit = "PKI",
                               .common_name = "Prüfung" };
  len = name_der(buf, sizeof(buf), &n);
  assert_true(vigil_x509_name_check(buf, len));
  const uint8_t *ptr = buf;
  X509_NAME *xn = d2i_X509_NAME(NULL, &ptr, (long)len);
  assert_non_null(xn);
  assert_int_equal(X509_NAME_entry_count(xn), 6);
  static const int kNids[] = {
    NID_countryName,      NID_stateOrProvinceName,    NID_localityName,
    NID_organizationName, NID_organizationalUnitName, NID_commonName
  };
  const char *values[] = {
    n.country,    n.state, n.locality, n.organization, n.organizational_unit,
    n.common_name
  };
  for (int i = 0; i < 6; i++) {
    X509_NAME_ENTRY *e = X509_NAME_get_entry(xn, i);
    assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)), kNids[i]);
    ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
    assert_int_equal(ASN1_STRING_type(v),
                     i == 0 ? V_ASN1_PRINTABLESTRING : V_ASN1_UTF8STRING);
    assert_int_equal((size_t)ASN1_STRING_length(v), strlen(values[i]));
    assert_memory_equal(ASN1_STRING_get0_data(v), values[i], strlen(values[i]));
  }
  X509_NAME_free(xn);

  /* Nothing set: the empty Name. */
  struct vigil_x509_name empty = { .common_name = "" };
  len = name_der(buf, sizeof(buf), &empty);
  assert_int_equal(len, 2);
  assert_int_equal(buf[0], 0x30);
  assert_int_equal(buf[1], 0x00);

  /* 64 characters of CN are fine (even if multi-byte), 65 are not. */
  char cn[2 * 65 + 1];
  for (int i = 0; i < 64; i++) {
    cn[2 * i] = (char)0xc3;
    cn[2 * i + 1] = (char)0xa4; /* ä */
  }
  cn[128] = '\0';
  struct vigil_x509_name longn = { .common_name = cn };
  assert_true(name_der(buf, sizeof(buf), &longn) > 128);
  cn[128] = 'x';
  cn[129] = '\0';

  /* Refused strings. */
  const struct vigil_x509_name kBad[] = {
    { .common_name = cn },                  /* 65 characters */
    { .country = "de" },                    /* lower case */
    { .country = "DEU" },                   /* three letters */
    { .country = "D" },                     /* one letter */
    { .common_name = "\xc0\x80" },          /* overlong NUL */
    { .common_name = "a\x01" },             /* control character */
    { .organization = "\xed\xa0\x80" },     /* surrogate */
    { .organization = "\xf4\x90\x80\x80" }, /* past U+10FFFF */
    { .locality = "\xe2\x82" },             /* truncated sequence */
    { .organizational_unit = "\x80" },      /* stray continuation */
  };
  for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
    assert_true(CBB_init_fixed(&cbb, buf, sizeof(buf)));
    assert_int_equal(vigil_x509_name_build(&cbb, &kBad[i]),
                     VIGIL_X509_ERR_NAME);
    CBB_cleanup(&cbb);
  }
  /* Too little room is reported as NOMEM, not as a bad name. */
  assert_true(CBB_init_fixed(&cbb, buf, 8));
  assert_int_equal(vigil_x509_name_build(&cbb, &n), VIGIL_X509_ERR_NOMEM);
  CBB_cleanup(&cbb);

  /* vigil_x509_name_check. */
  static const uint8_t kEmptySet[] = { 0x30, 0x02, 0x31, 0x00 };
  static const uint8_t kTrailing[] = { 0x30, 0x00, 0x00 };
  static const uint8_t kNoValue[] = { 0x30, 0x09, 0x31, 0x07, 0x30, 0x05,
                                      0x06, 0x03, 0x55, 0x04, 0x03 };
  assert_false(vigil_x509_name_check(kEmptySet, sizeof(kEmptySet)));
  assert_false(vigil_x509_name_check(kTrailing, sizeof(kTrailing)));
  assert_false(vigil_x509_name_check(kNoValue, sizeof(kNoValue)));
  assert_false(vigil_x509_name_check(NULL, 0));
}

static void test_san_check(void **state) {
  (void)state;
  static const uint8_t kIp[16] = { 0 };
  static const struct {
    enum vigil_x509_san_type type;
    const char *text; /* NULL: IP of |len| octets */
    size_t len;
    int ok;
  } kCases[] = {
    { VIGIL_X509_SAN_DNS, "a.example", 0, 1 },
    { VIGIL_X509_SAN_DNS, "localhost", 0, 1 },
    { VIGIL_X509_SAN_DNS, "*.example.com", 0, 1 },
    { VIGIL_X509_SAN_DNS, "xn--bcher-kva.example", 0, 1 },
    { VIGIL_X509_SAN_DNS, "A-1.Example", 0, 1 },
    { VIGIL_X509_SAN_DNS, "", 0, 0 },
    { VIGIL_X509_SAN_DNS, "*", 0, 0 },
    { VIGIL_X509_SAN_DNS, "*.", 0, 0 },
    { VIGIL_X509_SAN_DNS, "a.*.example", 0, 0 },
    { VIGIL_X509_SAN_DNS, "*.*.example", 0, 0 },
    { VIGIL_X509_SAN_DNS, "a..example", 0, 0 },
    { VIGIL_X509_SAN_DNS, "a.example.", 0, 0 },
    { VIGIL_X509_SAN_DNS, ".a.example", 0, 0 },
    { VIGIL_X509_SAN_DNS, "-a.example", 0, 0 },
    { VIGIL_X509_SAN_DNS, "a-.example", 0, 0 },
    { VIGIL_X509_SAN_DNS, "a_b.example", 0, 0 },
    { VIGIL_X509_SAN_DNS, "a b.example", 0, 0 },
    { VIGIL_X509_SAN_DNS, "192.0.2.1", 0, 0 },
    { VIGIL_X509_SAN_DNS,
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
      "example",
      0, 0 }, /* 64-byte label */
    { VIGIL_X509_SAN_EMAIL, "ops@a.example", 0, 1 },
    { VIGIL_X509_SAN_EMAIL, "a.b+c@a.example", 0, 1 },
    { VIGIL_X509_SAN_EMAIL, "@a.example", 0, 0 },
    { VIGIL_X509_SAN_EMAIL, "ops@", 0, 0 },
    { VIGIL_X509_SAN_EMAIL, "a@b@c.example", 0, 0 },
    { VIGIL_X509_SAN_EMAIL, "ops a@b.example", 0, 0 },
    { VIGIL_X509_SAN_URI, "https://a.example/x", 0, 1 },
    { VIGIL_X509_SAN_URI, "spiffe://trust/wl", 0, 1 },
    { VIGIL_X509_SAN_URI, "urn:uuid:1", 0, 1 },
    { VIGIL_X509_SAN_URI, "a.example", 0, 0 },
    { VIGIL_X509_SAN_URI, "1http://x", 0, 0 },
    { VIGIL_X509_SAN_URI, "http:", 0, 0 },
    { VIGIL_X509_SAN_URI, "http://a b", 0, 0 },
    { VIGIL_X509_SAN_IP, NULL, 4, 1 },
    { VIGIL_X509_SAN_IP, NULL, 16, 1 },
    { VIGIL_X509_SAN_IP, NULL, 0, 0 },
    { VIGIL_X509_SAN_IP, NULL, 5, 0 },
    { VIGIL_X509_SAN_IP, NULL, 8, 0 },
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    struct vigil_x509_san san = { kCases[i].type, kIp, kCases[i].len };
    if (kCases[i].text != NULL) {
      san.value = (const uint8_t *)kCases[i].text;
      san.value_len = strlen(kCases[i].text);
    }
    if (vigil_x509_san_check(&san) != kCases[i].ok) {
      fail_msg("case %zu (%s): want %d", i,
               kCases[i].text ? kCases[i].text : "ip", kCases[i].ok);
    }
  }
  struct vigil_x509_san unknown = { (enum vigil_x509_san_type)99, kIp, 4 };
  assert_false(vigil_x509_san_check(&unknown));
  assert_false(vigil_x509_san_check(NULL));
}

/* ======================================================================
 * Output forms and failures
 * ====================================================================== */

static void test_cbb_output(void **state) {
  struct pki *p = *state;
  struct vigil_x509_template t;
  CBB cbb;
  uint8_t *der = NULL;
  size_t len = 0;
  static const uint8_t kPrefix[] = "prefix";

  /* vigil_x509_issue appends to what the CBB already holds. */
  leaf_template(&t, p, p->root_key);
  assert_true(CBB_init(&cbb, 64));
  assert_true(CBB_add_bytes(&cbb, kPrefix, 6));
  assert_int_equal(vigil_x509_issue(&cbb, &t, p->inter.cert, p->inter_key, NOW),
                   VIGIL_X509_OK);
  assert_true(CBB_finish(&cbb, &der, &len));
  assert_memory_equal(der, kPrefix, 6);
  enum vigil_cert_err cerr;
  struct vigil_cert *c = vigil_cert_parse(&cerr, der + 6, len - 6);
  assert_non_null(c);
  assert_true(vigil_cert_verify_signed_by(c, p->inter.cert));
  vigil_cert_free(c);
  OPENSSL_free(der);

  /* Missing inputs. */
  assert_true(CBB_init(&cbb, 64));
  assert_int_equal(
      vigil_x509_issue(&cbb, NULL, p->inter.cert, p->inter_key, NOW),
      VIGIL_X509_ERR_ARG);
  assert_int_equal(vigil_x509_issue(&cbb, &t, p->inter.cert, NULL, NOW),
                   VIGIL_X509_ERR_ARG);
  CBB_cleanup(&cbb);
}

static void test_alloc_failures(void **state) {
  struct pki *p = *state;
  struct vigil_x509_template t;
  leaf_template(&t, p, p->root_key);
  int saw_success = 0;
  for (unsigned long i = 0; i < 10 && !saw_success; i++) {
    vigil_alloc_fail_reset();
    vigil_alloc_fail_after(i, 0);
    uint8_t *der = (uint8_t *)1;
    size_t len = 1;
    enum vigil_x509_err err =
        vigil_x509_issue_der(&der, &len, &t, p->inter.cert, p->inter_key, NOW);
    if (err == VIGIL_X509_OK) {
      saw_success = vigil_alloc_failures() == 0;
      assert_non_null(der);
      vigil_free(der);
    } else {
      assert_int_equal(err, VIGIL_X509_ERR_NOMEM);
      assert_null(der);
      assert_int_equal(len, 0);
    }
  }
  vigil_alloc_fail_reset();
  assert_true(saw_success);
}

static void test_err_strings(void **state) {
  (void)state;
  for (int e = VIGIL_X509_OK; e <= VIGIL_X509_ERR_NOMEM; e++) {
    const char *s = vigil_x509_err_string((enum vigil_x509_err)e);
    assert_non_null(s);
    assert_string_not_equal(s, "unknown x509 error");
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_chain_validates),
    cmocka_unit_test(test_root),
    cmocka_unit_test(test_intermediate),
    cmocka_unit_test(test_leaf),
    cmocka_unit_test(test_responder),
    cmocka_unit_test(test_refusals),
    cmocka_unit_test(test_empty_subject_makes_san_critical),
    cmocka_unit_test(test_path_len),
    cmocka_unit_test(test_openssl_made_issuers),
    cmocka_unit_test(test_serials),
    cmocka_unit_test(test_time_encoding),
    cmocka_unit_test(test_issuer_key_types),
    cmocka_unit_test(test_spki_check),
    cmocka_unit_test(test_from_csr),
    cmocka_unit_test(test_name_build),
    cmocka_unit_test(test_san_check),
    cmocka_unit_test(test_cbb_output),
    cmocka_unit_test(test_alloc_failures),
    cmocka_unit_test(test_err_strings),
  };
  return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
