/* test_crl.c: unit tests for vigil/crl.h.
 *
 * Every CRL built here is re-parsed with an independent strict CBS parser
 * (below) and its signature checked with vigil_key_verify against the
 * issuer certificate's public key. The issuer certificates are made here
 * with CBB and vigil_key_add_signed, so each test can choose key type, CA
 * flag and whether there is a SubjectKeyIdentifier. OpenSSL and
 * python-cryptography check the same output in tests/interop/crl_*.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/bytestring.h>
#include <openssl/mem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "vigil/alloc.h"
#include "vigil/cert.h"
#include "vigil/crl.h"
#include "vigil/key.h"
#include "vigil/ocsp.h"
#include "vigil/timeutil.h"

#define DAY 86400
/* 2026-01-01T00:00:00Z */
#define T0 INT64_C(1767225600)
/* 2050-01-01T00:00:00Z, first GeneralizedTime second */
#define T2050 INT64_C(2524608000)

/* ======================================================================
 * Fixture: keys and issuer certificates
 * ====================================================================== */

struct fixture {
  struct vigil_key *k256;
  struct vigil_key *k384;
  struct vigil_key *krsa;
  struct vigil_key *ked;
  struct vigil_key *other;  /* a P-256 key no certificate here belongs to */
  struct vigil_cert *ca256; /* P-256 CA with SKI */
  struct vigil_cert *ca256_noski; /* same key, no SKI */
  struct vigil_cert *ca384;
  struct vigil_cert *carsa;
  struct vigil_cert *caed;
  struct vigil_cert *leaf256; /* same key as ca256, but not a CA */
};

static void add_name(CBB *parent, const char *cn) {
  static const uint8_t kCommonName[] = { 0x55, 0x04, 0x03 };
  CBB name, set, atv, oid, str;
  assert_true(CBB_add_asn1(parent, &name, CBS_ASN1_SEQUENCE));
  assert_true(CBB_add_asn1(&name, &set, CBS_ASN1_SET));
  assert_true(CBB_add_asn1(&set, &atv, CBS_ASN1_SEQUENCE));
  assert_true(CBB_add_asn1(&atv, &oid, CBS_ASN1_OBJECT));
  assert_true(CBB_add_bytes(&oid, kCommonName, sizeof(kCommonName)));
  assert_true(CBB_add_asn1(&atv, &str, CBS_ASN1_UTF8STRING));
  assert_true(CBB_add_bytes(&str, (const uint8_t *)cn, strlen(cn)));
  assert_true(CBB_flush(parent));
}

static void add_utctime(CBB *parent, int64_t t) {
  CBB c;
  uint8_t buf[VIGIL_UTCTIME_LEN];
  assert_true(vigil_time_format_utctime(buf, t));
  assert_true(CBB_add_asn1(parent, &c, CBS_ASN1_UTCTIME));
  assert_true(CBB_add_bytes(&c, buf, sizeof(buf)));
  assert_true(CBB_flush(parent));
}

/* make_cert returns a self-signed v3 certificate for |key|, with
 * basicConstraints cA=TRUE if |is_ca| and a SubjectKeyIdentifier (a
 * recognisable constant, not the key hash) if |with_ski|. */
static struct vigil_cert *make_cert(const struct vigil_key *key, int is_ca,
                                    int with_ski, const char *cn) {
  static const uint8_t kBasicConstraints[] = { 0x55, 0x1d, 0x13 };
  static const uint8_t kSki[] = { 0x55, 0x1d, 0x0e };
  CBB tbs, seq, c, exts, ext, oid, oct, inner;
  uint8_t *tbs_der = NULL, *der = NULL;
  size_t tbs_len, der_len, spki_len, alg_len;
  const uint8_t *spki = vigil_key_get0_spki(key, &spki_len);
  const uint8_t *alg = vigil_key_get0_sig_alg(key, &alg_len);
  uint8_t ski[20];

  for (size_t i = 0; i < sizeof(ski); i++) {
    ski[i] = (uint8_t)(0xa0 + i);
  }
  assert_true(CBB_init(&tbs, 512));
  assert_true(CBB_add_asn1(&tbs, &seq, CBS_ASN1_SEQUENCE));
  assert_true(CBB_add_asn1(
      &seq, &c, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0));
  assert_true(CBB_add_asn1_uint64(&c, 2));
  assert_true(CBB_add_asn1_uint64(&seq, 0x1234));
  assert_true(CBB_add_bytes(&seq, alg, alg_len));
  add_name(&seq, cn);
  assert_true(CBB_add_asn1(&seq, &c, CBS_ASN1_SEQUENCE));
  add_utctime(&c, T0 - 365 * DAY);
  add_utctime(&c, T0 + 3650 * DAY);
  add_name(&seq, cn);
  assert_true(CBB_add_bytes(&seq, spki, spki_len));
  if (is_ca || with_ski) {
    assert_true(CBB_add_asn1(
        &seq, &c, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 3));
    assert_true(CBB_add_asn1(&c, &exts, CBS_ASN1_SEQUENCE));
    if (is_ca) {
      assert_true(CBB_add_asn1(&exts, &ext, CBS_ASN1_SEQUENCE));
      assert_true(CBB_add_asn1(&ext, &oid, CBS_ASN1_OBJECT));
      assert_true(CBB_add_bytes(&oid, kBasicConstraints, 3));
      assert_true(CBB_add_asn1_bool(&ext, 1));
      assert_true(CBB_add_asn1(&ext, &oct, CBS_ASN1_OCTETSTRING));
      assert_true(CBB_add_asn1(&oct, &inner, CBS_ASN1_SEQUENCE));
      assert_true(CBB_add_asn1_bool(&inner, 1));
      assert_true(CBB_flush(&exts));
    }
    if (with_ski) {
      assert_true(CBB_add_asn1(&exts, &ext, CBS_ASN1_SEQUENCE));
      assert_true(CBB_add_asn1(&ext, &oid, CBS_ASN1_OBJECT));
      assert_true(CBB_add_bytes(&oid, kSki, 3));
      assert_true(CBB_add_asn1(&ext, &oct, CBS_ASN1_OCTETSTRING));
      assert_true(CBB_add_asn1_octet_string(&oct, ski, sizeof(ski)));
      assert_true(CBB_flush(&exts));
    }
  }
  assert_true(CBB_finish(&tbs, &tbs_der, &tbs_len));

  CBB cert;
  assert_true(CBB_init(&cert, tbs_len + 256));
  assert_true(vigil_key_add_signed(key, &cert, tbs_der, tbs_len));
  assert_true(CBB_finish(&cert, &der, &der_len));
  OPENSSL_free(tbs_der);

  enum vigil_cert_err err = VIGIL_CERT_OK;
  struct vigil_cert *out = vigil_cert_parse(&err, der, der_len);
  OPENSSL_free(der);
  assert_non_null(out);
  assert_int_equal(out->is_ca, is_ca);
  assert_int_equal(CBS_len(&out->ski), with_ski ? sizeof(ski) : 0);
  return out;
}

static int group_setup(void **state) {
  struct fixture *f = calloc(1, sizeof(*f));
  if (f == NULL) {
    return -1;
  }
  f->k256 = vigil_key_generate(VIGIL_KEY_EC_P256, 0);
  f->k384 = vigil_key_generate(VIGIL_KEY_EC_P384, 0);
  f->krsa = vigil_key_generate(VIGIL_KEY_RSA, 2048);
  f->ked = vigil_key_generate(VIGIL_KEY_ED25519, 0);
  f->other = vigil_key_generate(VIGIL_KEY_EC_P256, 0);
  if (!f->k256 || !f->k384 || !f->krsa || !f->ked || !f->other) {
    return -1;
  }
  f->ca256 = make_cert(f->k256, 1, 1, "CRL Test CA P-256");
  f->ca256_noski = make_cert(f->k256, 1, 0, "CRL Test CA P-256 no SKI");
  f->ca384 = make_cert(f->k384, 1, 1, "CRL Test CA P-384");
  f->carsa = make_cert(f->krsa, 1, 1, "CRL Test CA RSA");
  f->caed = make_cert(f->ked, 1, 1, "CRL Test CA Ed25519");
  f->leaf256 = make_cert(f->k256, 0, 1, "not a CA");
  *state = f;
  return 0;
}

static int group_teardown(void **state) {
  struct fixture *f = *state;
  vigil_cert_free(f->ca256);
  vigil_cert_free(f->ca256_noski);
  vigil_cert_free(f->ca384);
  vigil_cert_free(f->carsa);
  vigil_cert_free(f->caed);
  vigil_cert_free(f->leaf256);
  vigil_key_free(f->k256);
  vigil_key_free(f->k384);
  vigil_key_free(f->krsa);
  vigil_key_free(f->ked);
  vigil_key_free(f->other);
  free(f);
  return 0;
}

/* ======================================================================
 * An independent, strict CRL parser (RFC 5280 5.1)
 * ====================================================================== */

struct parsed {
  CBS tbs;       /* TBSCertList element, as signed */
  CBS outer_alg; /* signatureAlgorithm */
  CBS sig;       /* signature bits */
  CBS inner_alg; /* TBSCertList.signature */
  CBS issuer;    /* issuer Name element */
  unsigned this_tag, next_tag;
  int64_t this_update, next_update;
  int has_revoked; /* revokedCertificates present */
  CBS revoked;     /* its contents */
  size_t num_exts;
  int aki_critical;
  CBS aki_keyid;
  int number_critical;
  CBS number; /* CRLNumber INTEGER contents */
  int has_idp, idp_critical, idp_user, idp_ca;
  CBS idp_uri;
};

struct pentry {
  CBS serial; /* INTEGER contents */
  unsigned time_tag;
  int64_t revoked_at;
  int reason; /* -1 when there is no reasonCode */
};

static int parse_time(CBS *in, unsigned *out_tag, int64_t *out) {
  CBS t;
  if (!CBS_get_any_asn1(in, &t, out_tag)) {
    return 0;
  }
  if (*out_tag == CBS_ASN1_UTCTIME) {
    return vigil_time_parse_utctime(out, CBS_data(&t), CBS_len(&t));
  }
  if (*out_tag == CBS_ASN1_GENERALIZEDTIME) {
    return vigil_time_parse_gentime(out, CBS_data(&t), CBS_len(&t));
  }
  return 0;
}

static int oid_is_id_ce(const CBS *oid, uint8_t last) {
  const uint8_t want[3] = { 0x55, 0x1d, last };
  return CBS_mem_equal(oid, want, sizeof(want));
}

/* get_implicit_true reads an optional [tag] IMPLICIT BOOLEAN that DER
 * allows only as TRUE (DEFAULT FALSE). */
static int get_implicit_true(CBS *in, int *out, unsigned tag) {
  CBS b;
  int present = 0;
  if (!CBS_get_optional_asn1(in, &b, &present,
                             CBS_ASN1_CONTEXT_SPECIFIC | tag)) {
    return 0;
  }
  *out = present;
  return !present || (CBS_len(&b) == 1 && CBS_data(&b)[0] == 0xff);
}

static int parse_idp(struct parsed *p, CBS *value) {
  CBS idp, dp, full, names;
  int user = 0, ca = 0;
  if (!CBS_get_asn1(value, &idp, CBS_ASN1_SEQUENCE) || CBS_len(value) != 0 ||
      !CBS_get_asn1(&idp, &dp,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      !CBS_get_asn1(&dp, &full,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      CBS_len(&dp) != 0) {
    return 0;
  }
  names = full;
  if (!CBS_get_asn1(&names, &p->idp_uri, CBS_ASN1_CONTEXT_SPECIFIC | 6) ||
      CBS_len(&names) != 0) {
    return 0;
  }
  /* IMPLICIT [1] / [2] BOOLEAN, DEFAULT FALSE: present only as TRUE. */
  if (!get_implicit_true(&idp, &user, 1) || !get_implicit_true(&idp, &ca, 2) ||
      CBS_len(&idp) != 0) {
    return 0;
  }
  p->idp_user = user;
  p->idp_ca = ca;
  p->has_idp = 1;
  return 1;
}

static int parse_extensions(struct parsed *p, CBS *exts) {
  while (CBS_len(exts) > 0) {
    CBS ext, oid, value, inner;
    int critical = 0;
    if (!CBS_get_asn1(exts, &ext, CBS_ASN1_SEQUENCE) ||
        !CBS_get_asn1(&ext, &oid, CBS_ASN1_OBJECT)) {
      return 0;
    }
    /* DER: critical DEFAULT FALSE is encoded only when TRUE. */
    if (CBS_peek_asn1_tag(&ext, CBS_ASN1_BOOLEAN) &&
        (!CBS_get_asn1_bool(&ext, &critical) || !critical)) {
      return 0;
    }
    if (!CBS_get_asn1(&ext, &value, CBS_ASN1_OCTETSTRING) ||
        CBS_len(&ext) != 0) {
      return 0;
    }
    p->num_exts++;
    if (oid_is_id_ce(&oid, 0x23)) {
      p->aki_critical = critical;
      if (!CBS_get_asn1(&value, &inner, CBS_ASN1_SEQUENCE) ||
          CBS_len(&value) != 0 ||
          !CBS_get_asn1(&inner, &p->aki_keyid, CBS_ASN1_CONTEXT_SPECIFIC | 0) ||
          CBS_len(&inner) != 0) {
        return 0;
      }
    } else if (oid_is_id_ce(&oid, 0x14)) {
      p->number_critical = critical;
      if (!CBS_get_asn1(&value, &p->number, CBS_ASN1_INTEGER) ||
          CBS_len(&value) != 0 || !CBS_is_unsigned_asn1_integer(&p->number)) {
        return 0;
      }
    } else if (oid_is_id_ce(&oid, 0x1c)) {
      p->idp_critical = critical;
      if (!parse_idp(p, &value)) {
        return 0;
      }
    } else {
      return 0;
    }
  }
  return 1;
}

/* parse_crl parses |der| strictly (DER lengths, no trailing data). */
static int parse_crl(struct parsed *p, const uint8_t *der, size_t len) {
  CBS in, crl, tbs, bits, exts_wrap, exts;
  uint64_t v;
  uint8_t unused;

  memset(p, 0, sizeof(*p));
  CBS_init(&in, der, len);
  if (!CBS_get_asn1(&in, &crl, CBS_ASN1_SEQUENCE) || CBS_len(&in) != 0 ||
      !CBS_get_asn1_element(&crl, &p->tbs, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1_element(&crl, &p->outer_alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&crl, &bits, CBS_ASN1_BITSTRING) || CBS_len(&crl) != 0 ||
      !CBS_get_u8(&bits, &unused) || unused != 0) {
    return 0;
  }
  p->sig = bits;
  tbs = p->tbs;
  if (!CBS_get_asn1(&tbs, &tbs, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1_uint64(&tbs, &v) || v != 1 ||
      !CBS_get_asn1_element(&tbs, &p->inner_alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1_element(&tbs, &p->issuer, CBS_ASN1_SEQUENCE) ||
      !parse_time(&tbs, &p->this_tag, &p->this_update) ||
      !parse_time(&tbs, &p->next_tag, &p->next_update) ||
      !CBS_get_optional_asn1(&tbs, &p->revoked, &p->has_revoked,
                             CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&tbs, &exts_wrap,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      CBS_len(&tbs) != 0 ||
      !CBS_get_asn1(&exts_wrap, &exts, CBS_ASN1_SEQUENCE) ||
      CBS_len(&exts_wrap) != 0) {
    return 0;
  }
  /* An empty revokedCertificates must be omitted, not encoded. */
  if (p->has_revoked && CBS_len(&p->revoked) == 0) {
    return 0;
  }
  return parse_extensions(p, &exts);
}

/* next_entry takes one revokedCertificates entry off |revoked|. */
static int next_entry(CBS *revoked, struct pentry *e) {
  CBS entry, exts, ext, oid, value, reason;
  int has_exts = 0;
  memset(e, 0, sizeof(*e));
  e->reason = -1;
  if (!CBS_get_asn1(revoked, &entry, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&entry, &e->serial, CBS_ASN1_INTEGER) ||
      !CBS_is_valid_asn1_integer(&e->serial, NULL) ||
      !parse_time(&entry, &e->time_tag, &e->revoked_at) ||
      !CBS_get_optional_asn1(&entry, &exts, &has_exts, CBS_ASN1_SEQUENCE) ||
      CBS_len(&entry) != 0) {
    return 0;
  }
  if (!has_exts) {
    return 1;
  }
  /* Exactly one extension: a non-critical reasonCode. */
  if (!CBS_get_asn1(&exts, &ext, CBS_ASN1_SEQUENCE) || CBS_len(&exts) != 0 ||
      !CBS_get_asn1(&ext, &oid, CBS_ASN1_OBJECT) || !oid_is_id_ce(&oid, 0x15) ||
      !CBS_get_asn1(&ext, &value, CBS_ASN1_OCTETSTRING) || CBS_len(&ext) != 0 ||
      !CBS_get_asn1(&value, &reason, CBS_ASN1_ENUMERATED) ||
      CBS_len(&value) != 0 || CBS_len(&reason) != 1) {
    return 0;
  }
  e->reason = CBS_data(&reason)[0];
  return 1;
}

/* check_signed asserts that |p| is signed by |issuer| with |key|'s
 * algorithm and names |issuer|'s subject. */
static void check_signed(const struct parsed *p,
                         const struct vigil_cert *issuer,
                         const struct vigil_key *key) {
  size_t alg_len;
  const uint8_t *alg = vigil_key_get0_sig_alg(key, &alg_len);
  assert_true(CBS_mem_equal(&p->outer_alg, alg, alg_len));
  assert_true(CBS_mem_equal(&p->inner_alg, alg, alg_len));
  assert_true(CBS_mem_equal(&p->issuer, CBS_data(&issuer->subject),
                            CBS_len(&issuer->subject)));
  assert_true(vigil_key_verify(issuer->pubkey, CBS_data(&p->outer_alg),
                               CBS_len(&p->outer_alg), CBS_data(&p->sig),
                               CBS_len(&p->sig), CBS_data(&p->tbs),
                               CBS_len(&p->tbs)));
}

/* ======================================================================
 * Helpers for building
 * ====================================================================== */

static const uint8_t kNumber1[] = { 0x01 };

static struct vigil_crl_params base_params(const struct vigil_cert *issuer,
                                           const struct vigil_key *key) {
  struct vigil_crl_params p;
  memset(&p, 0, sizeof(p));
  p.issuer = issuer;
  p.issuer_key = key;
  p.crl_number = kNumber1;
  p.crl_number_len = sizeof(kNumber1);
  p.this_update = T0;
  p.next_update = T0 + 7 * DAY;
  return p;
}

/* expect_err builds and asserts the outcome |want| with nothing returned. */
static void expect_err(enum vigil_crl_err want,
                       const struct vigil_crl_params *p,
                       const struct vigil_crl_entry *entries, size_t n) {
  uint8_t *der = (uint8_t *)1;
  size_t len = 99;
  assert_int_equal(vigil_crl_build(&der, &len, NULL, p, entries, n), want);
  assert_null(der);
  assert_int_equal(len, 0);
}

/* expect_bad_entry also checks the reported index. */
static void expect_bad_entry(enum vigil_crl_err want, size_t want_index,
                             const struct vigil_crl_params *p,
                             const struct vigil_crl_entry *entries, size_t n) {
  uint8_t *der = NULL;
  size_t len = 0, bad = 12345;
  assert_int_equal(vigil_crl_build(&der, &len, &bad, p, entries, n), want);
  assert_null(der);
  assert_int_equal(bad, want_index);
}

/* build_ok builds, parses and verifies; the caller frees |*out_der|. */
static void build_ok(uint8_t **out_der, struct parsed *out,
                     const struct vigil_crl_params *p,
                     const struct vigil_crl_entry *entries, size_t n) {
  size_t len = 0;
  size_t bad = 777;
  assert_int_equal(vigil_crl_build(out_der, &len, &bad, p, entries, n),
                   VIGIL_CRL_OK);
  assert_non_null(*out_der);
  assert_int_equal(bad, 777); /* untouched on success */
  assert_true(parse_crl(out, *out_der, len));
  check_signed(out, p->issuer, p->issuer_key);
}

/* ======================================================================
 * Tests: structure
 * ====================================================================== */

static void test_full_structure(void **state) {
  struct fixture *f = *state;
  /* Deliberately unsorted, to see that input order is kept. */
  static const uint8_t s0[] = { 0x10, 0x00 };
  static const uint8_t s1[] = { 0x00, 0xff };
  static const uint8_t s2[] = { 0x7f, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                                0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
                                0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13 };
  static const uint8_t s3[] = { 0x00, 0x80, 0x01, 0x02, 0x03, 0x04, 0x05,
                                0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
                                0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13 };
  static const uint8_t s4[] = { 0x05 };
  const struct vigil_crl_entry entries[] = {
    { s0, sizeof(s0), VIGIL_REASON_KEY_COMPROMISE, T0 - 3600 },
    { s1, sizeof(s1), VIGIL_REASON_NONE, T0 - 10 },
    { s2, sizeof(s2), VIGIL_REASON_UNSPECIFIED, T0 },
    { s3, sizeof(s3), VIGIL_REASON_SUPERSEDED, T0 - 5 * DAY },
    { s4, sizeof(s4), VIGIL_REASON_PRIVILEGE_WITHDRAWN, T0 - 1 },
  };
  const int want_reason[] = { 1, -1, -1, 4, 9 };
  static const uint8_t number[] = { 0x00, 0x00, 0x01, 0x02 };
  struct vigil_crl_params p = base_params(f->ca256, f->k256);
  struct parsed c;
  struct pentry e;
  uint8_t *der = NULL;

  p.crl_number = number;
  p.crl_number_len = sizeof(number);
  build_ok(&der, &c, &p, entries, 5);

  assert_int_equal(c.this_tag, CBS_ASN1_UTCTIME);
  assert_int_equal(c.next_tag, CBS_ASN1_UTCTIME);
  assert_int_equal(c.this_update, T0);
  assert_int_equal(c.next_update, T0 + 7 * DAY);
  assert_true(c.has_revoked);
  for (size_t i = 0; i < 5; i++) {
    assert_true(next_entry(&c.revoked, &e));
    assert_true(
        CBS_mem_equal(&e.serial, entries[i].serial, entries[i].serial_len));
    assert_int_equal(e.time_tag, CBS_ASN1_UTCTIME);
    assert_int_equal(e.revoked_at, entries[i].revoked_at);
    assert_int_equal(e.reason, want_reason[i]);
  }
  assert_int_equal(CBS_len(&c.revoked), 0);

  /* A full CRL: AKI (the issuer's SKI) and CRLNumber, both non-critical. */
  assert_int_equal(c.num_exts, 2);
  assert_false(c.has_idp);
  assert_false(c.aki_critical);
  assert_true(CBS_mem_equal(&c.aki_keyid, CBS_data(&f->ca256->ski),
                            CBS_len(&f->ca256->ski)));
  assert_false(c.number_critical);
  static const uint8_t want_number[] = { 0x01, 0x02 };
  assert_true(CBS_mem_equal(&c.number, want_number, sizeof(want_number)));
  vigil_free(der);
}

static void test_empty_crl(void **state) {
  struct fixture *f = *state;
  struct vigil_crl_params p = base_params(f->ca256, f->k256);
  struct parsed c;
  uint8_t *der = NULL;
  build_ok(&der, &c, &p, NULL, 0);
  assert_false(c.has_revoked);
  assert_int_equal(c.num_exts, 2);
  vigil_free(der);
}

static void test_shard_idp(void **state) {
  struct fixture *f = *state;
  static const uint8_t s0[] = { 0x42 };
  const struct vigil_crl_entry entries[] = {
    { s0, sizeof(s0), VIGIL_REASON_CESSATION_OF_OPERATION, T0 - 60 },
  };
  const char *uri = "http://crl.example.test/crl/demo/7.crl";
  struct vigil_crl_params p = base_params(f->ca256, f->k256);
  struct parsed c;
  uint8_t *der = NULL;

  p.idp_uri = uri;
  build_ok(&der, &c, &p, entries, 1);
  assert_true(c.has_idp);
  assert_true(c.idp_critical);
  assert_true(CBS_mem_equal(&c.idp_uri, (const uint8_t *)uri, strlen(uri)));
  assert_false(c.idp_user);
  assert_false(c.idp_ca);
  assert_int_equal(c.num_exts, 3);
  vigil_free(der);

  p.only_contains_user_certs = 1;
  build_ok(&der, &c, &p, entries, 1);
  assert_true(c.idp_user);
  assert_false(c.idp_ca);
  vigil_free(der);

  /* A shard of an ARL: onlyContainsCACerts, cACompromise allowed. */
  const struct vigil_crl_entry ca_entries[] = {
    { s0, sizeof(s0), VIGIL_REASON_CA_COMPROMISE, T0 - 60 },
  };
  p.only_contains_user_certs = 0;
  p.ca_certs = 1;
  build_ok(&der, &c, &p, ca_entries, 1);
  assert_false(c.idp_user);
  assert_true(c.idp_ca);
  struct pentry e;
  assert_true(next_entry(&c.revoked, &e));
  assert_int_equal(e.reason, VIGIL_REASON_CA_COMPROMISE);
  vigil_free(der);
}

static void test_aki_without_ski(void **state) {
  struct fixture *f = *state;
  struct vigil_crl_params p = base_params(f->ca256_noski, f->k256);
  struct parsed c;
  uint8_t *der = NULL;
  uint8_t want[SHA_DIGEST_LENGTH];

  /* RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits. */
  SHA1(CBS_data(&f->ca256_noski->public_key_bits),
       CBS_len(&f->ca256_noski->public_key_bits), want);
  build_ok(&der, &c, &p, NULL, 0);
  assert_true(CBS_mem_equal(&c.aki_keyid, want, sizeof(want)));
  vigil_free(der);
}

static void test_key_types(void **state) {
  struct fixture *f = *state;
  static const uint8_t s0[] = { 0x01, 0x02, 0x03 };
  const struct vigil_crl_entry entries[] = {
    { s0, sizeof(s0), VIGIL_REASON_KEY_COMPROMISE, T0 - 60 },
  };
  const struct vigil_cert *certs[] = { f->ca384, f->carsa, f->caed, f->ca256 };
  const struct vigil_key *keys[] = { f->k384, f->krsa, f->ked, f->k256 };
  for (size_t i = 0; i < 4; i++) {
    struct vigil_crl_params p = base_params(certs[i], keys[i]);
    struct parsed c;
    uint8_t *der = NULL;
    build_ok(&der, &c, &p, entries, 1);
    vigil_free(der);
  }
}

static void test_crl_number_encoding(void **state) {
  struct fixture *f = *state;
  struct vigil_crl_params p = base_params(f->ca256, f->k256);
  struct parsed c;
  uint8_t *der = NULL;
  uint8_t num[21];

  static const uint8_t zero[] = { 0x00 };
  static const uint8_t zeros[] = { 0x00, 0x00, 0x00 };
  static const uint8_t high[] = { 0x80 };
  static const uint8_t high_want[] = { 0x00, 0x80 };
  static const uint8_t lead[] = { 0x00, 0x00, 0x7f, 0xff };
  static const uint8_t lead_want[] = { 0x7f, 0xff };
  struct {
    const uint8_t *in;
    size_t in_len;
    const uint8_t *want;
    size_t want_len;
  } cases[] = {
    { zero, sizeof(zero), zero, sizeof(zero) },
    { zeros, sizeof(zeros), zero, sizeof(zero) },
    { high, sizeof(high), high_want, sizeof(high_want) },
    { lead, sizeof(lead), lead_want, sizeof(lead_want) },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    p.crl_number = cases[i].in;
    p.crl_number_len = cases[i].in_len;
    build_ok(&der, &c, &p, NULL, 0);
    assert_true(CBS_mem_equal(&c.number, cases[i].want, cases[i].want_len));
    vigil_free(der);
  }

  /* 2^159 - 1 is the largest allowed: 20 octets 7f ff .. ff. */
  memset(num, 0xff, sizeof(num));
  num[0] = 0x7f;
  p.crl_number = num;
  p.crl_number_len = 20;
  build_ok(&der, &c, &p, NULL, 0);
  assert_true(CBS_mem_equal(&c.number, num, 20));
  vigil_free(der);
  /* The same with a leading zero octet (21 bytes in). */
  num[0] = 0x00;
  num[1] = 0x7f;
  p.crl_number_len = 21;
  build_ok(&der, &c, &p, NULL, 0);
  assert_true(CBS_mem_equal(&c.number, num + 1, 20));
  vigil_free(der);

  /* 2^159 itself: 80 00 .. 00 (20 octets) is refused. */
  memset(num, 0, sizeof(num));
  num[0] = 0x80;
  p.crl_number_len = 20;
  expect_err(VIGIL_CRL_ERR_BAD_NUMBER, &p, NULL, 0);
  /* 21 significant octets. */
  num[0] = 0x01;
  p.crl_number_len = 21;
  expect_err(VIGIL_CRL_ERR_BAD_NUMBER, &p, NULL, 0);
  p.crl_number_len = 0;
  expect_err(VIGIL_CRL_ERR_BAD_NUMBER, &p, NULL, 0);
  p.crl_number = NULL;
  p.crl_number_len = 1;
  expect_err(VIGIL_CRL_ERR_BAD_NUMBER, &p, NULL, 0);
}

static void test_time_encoding(void **state) {
  struct fixture *f = *state;
  static const uint8_t s0[] = { 0x01 };
  static const uint8_t s1[] = { 0x02 };
  static const uint8_t s2[] = { 0x03 };
  struct vigil_crl_params p = base_params(f->ca256, f->k256);
  struct parsed c;
  struct pentry e;
  uint8_t *der = NULL;

  /* The last UTCTime second and the first GeneralizedTime one. */
  const struct vigil_crl_entry entries[] = {
    { s0, sizeof(s0), VIGIL_REASON_NONE, T2050 - 1 },
    { s1, sizeof(s1), VIGIL_REASON_NONE, T2050 },
    { s2, sizeof(s2), VIGIL_REASON_NONE, INT64_C(-631152000) }, /* 1950 */
  };
  p.this_update = T2050;
  p.next_update = T2050 + DAY;
  build_ok(&der, &c, &p, entries, 3);
  assert_int_equal(c.this_tag, CBS_ASN1_GENERALIZEDTIME);
  assert_int_equal(c.next_tag, CBS_ASN1_GENERALIZEDTIME);
  assert_int_equal(c.this_update, T2050);
  assert_int_equal(c.next_update, T2050 + DAY);
  assert_true(next_entry(&c.revoked, &e));
  assert_int_equal(e.time_tag, CBS_ASN1_UTCTIME);
  assert_int_equal(e.revoked_at, T2050 - 1);
  assert_true(next_entry(&c.revoked, &e));
  assert_int_equal(e.time_tag, CBS_ASN1_GENERALIZEDTIME);
  assert_int_equal(e.revoked_at, T2050);
  assert_true(next_entry(&c.revoked, &e));
  assert_int_equal(e.time_tag, CBS_ASN1_UTCTIME);
  assert_int_equal(e.revoked_at, INT64_C(-631152000));
  vigil_free(der);

  /* thisUpdate in 2049, nextUpdate in 2050: one of each. */
  p.this_update = T2050 - DAY;
  p.next_update = T2050 + DAY;
  build_ok(&der, &c, &p, NULL, 0);
  assert_int_equal(c.this_tag, CBS_ASN1_UTCTIME);
  assert_int_equal(c.next_tag, CBS_ASN1_GENERALIZEDTIME);
  vigil_free(der);
}

/* ======================================================================
 * Tests: refusals
 * ====================================================================== */

static void test_bad_times(void **state) {
  struct fixture *f = *state;
  struct vigil_crl_params p = base_params(f->ca256, f->k256);
  struct parsed c;
  uint8_t *der = NULL;

  p.next_update = p.this_update;
  expect_err(VIGIL_CRL_ERR_BAD_TIMES, &p, NULL, 0);
  p.next_update = p.this_update - 1;
  expect_err(VIGIL_CRL_ERR_BAD_TIMES, &p, NULL, 0);
  /* BR 4.9.7: at most 10 days for subscriber certificates. */
  p.next_update = p.this_update + 10 * DAY + 1;
  expect_err(VIGIL_CRL_ERR_BAD_TIMES, &p, NULL, 0);
  p.next_update = p.this_update + 10 * DAY;
  build_ok(&der, &c, &p, NULL, 0);
  vigil_free(der);
  /* ... and twelve months (365 days) for CA certificates. */
  p.ca_certs = 1;
  p.next_update = p.this_update + 365 * DAY;
  build_ok(&der, &c, &p, NULL, 0);
  vigil_free(der);
  p.next_update = p.this_update + 365 * DAY + 1;
  expect_err(VIGIL_CRL_ERR_BAD_TIMES, &p, NULL, 0);
  p.ca_certs = 0;
  /* Outside 1950..9999. */
  p.this_update = VIGIL_TIME_MIN - 1;
  p.next_update = VIGIL_TIME_MIN + DAY;
  expect_err(VIGIL_CRL_ERR_BAD_TIMES, &p, NULL, 0);
  p.this_update = VIGIL_TIME_MAX - DAY;
  p.next_update = VIGIL_TIME_MAX + 1;
  expect_err(VIGIL_CRL_ERR_BAD_TIMES, &p, NULL, 0);
  p.this_update = INT64_MIN;
  p.next_update = INT64_MIN + 1;
  expect_err(VIGIL_CRL_ERR_BAD_TIMES, &p, NULL, 0);
}

static void test_bad_reasons(void **state) {
  struct fixture *f = *state;
  static const uint8_t s0[] = { 0x01 };
  static const uint8_t s1[] = { 0x02 };
  struct vigil_crl_params p = base_params(f->ca256, f->k256);
  struct vigil_crl_entry entries[] = {
    { s0, sizeof(s0), VIGIL_REASON_KEY_COMPROMISE, T0 },
    { s1, sizeof(s1), VIGIL_REASON_NONE, T0 },
  };
  const int bad[] = { VIGIL_REASON_CERTIFICATE_HOLD,
                      VIGIL_REASON_REMOVE_FROM_CRL,
                      VIGIL_REASON_AA_COMPROMISE,
                      7,
                      11,
                      -2,
                      VIGIL_REASON_CA_COMPROMISE };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    entries[1].reason = (enum vigil_reason)bad[i];
    expect_bad_entry(VIGIL_CRL_ERR_REASON_NOT_ALLOWED, 1, &p, entries, 2);
  }
  /* cACompromise is fine in a CRL of CA certificates; certificateHold is
   * not. */
  p.ca_certs = 1;
  entries[1].reason = VIGIL_REASON_CA_COMPROMISE;
  uint8_t *der = NULL;
  struct parsed c;
  build_ok(&der, &c, &p, entries, 2);
  vigil_free(der);
  entries[1].reason = VIGIL_REASON_CERTIFICATE_HOLD;
  expect_bad_entry(VIGIL_CRL_ERR_REASON_NOT_ALLOWED, 1, &p, entries, 2);
}

static void test_bad_serials(void **state) {
  struct fixture *f = *state;
  static const uint8_t ok[] = { 0x01 };
  static const uint8_t negative[] = { 0x80 };
  static const uint8_t negative2[] = { 0xff, 0x01 };
  static const uint8_t zero[] = { 0x00 };
  static const uint8_t padded[] = { 0x00, 0x7f };
  static const uint8_t padded2[] = { 0x00, 0x00, 0x80 };
  uint8_t too_long[22];
  uint8_t twenty_one[21];
  struct vigil_crl_params p = base_params(f->ca256, f->k256);
  struct vigil_crl_entry entries[] = {
    { ok, sizeof(ok), VIGIL_REASON_NONE, T0 },
    { ok, 1, VIGIL_REASON_NONE, T0 },
  };
  struct {
    const uint8_t *s;
    size_t len;
  } cases[] = {
    { NULL, 1 },
    { ok, 0 },
    { negative, sizeof(negative) },
    { negative2, sizeof(negative2) },
    { zero, sizeof(zero) },
    { padded, sizeof(padded) },
    { padded2, sizeof(padded2) },
    { too_long, sizeof(too_long) },
    { twenty_one, sizeof(twenty_one) },
  };
  memset(too_long, 0x11, sizeof(too_long));
  too_long[0] = 0x00;
  too_long[1] = 0x80;
  /* 21 octets are allowed only as 00 + 20 octets with the top bit set. */
  memset(twenty_one, 0x11, sizeof(twenty_one));
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    entries[1].serial = cases[i].s;
    entries[1].serial_len = (uint8_t)cases[i].len;
    expect_bad_entry(VIGIL_CRL_ERR_BAD_SERIAL, 1, &p, entries, 2);
  }
  twenty_one[0] = 0x00;
  twenty_one[1] = 0x80;
  entries[1].serial = twenty_one;
  entries[1].serial_len = sizeof(twenty_one);
  uint8_t *der = NULL;
  struct parsed c;
  build_ok(&der, &c, &p, entries, 2);
  vigil_free(der);
}

static void test_bad_revocation_time(void **state) {
  struct fixture *f = *state;
  static const uint8_t s0[] = { 0x01 };
  static const uint8_t s1[] = { 0x02 };
  struct vigil_crl_params p = base_params(f->ca256, f->k256);
  struct vigil_crl_entry entries[] = {
    { s0, sizeof(s0), VIGIL_REASON_NONE, T0 },
    { s1, sizeof(s1), VIGIL_REASON_NONE, T0 + 1 },
  };
  expect_bad_entry(VIGIL_CRL_ERR_BAD_REVOCATION_TIME, 1, &p, entries, 2);
  entries[1].revoked_at = VIGIL_TIME_MIN - 1;
  expect_bad_entry(VIGIL_CRL_ERR_BAD_REVOCATION_TIME, 1, &p, entries, 2);
  entries[1].revoked_at = INT64_MIN;
  expect_bad_entry(VIGIL_CRL_ERR_BAD_REVOCATION_TIME, 1, &p, entries, 2);
}

static void test_duplicates(void **state) {
  struct fixture *f = *state;
  static const uint8_t a[] = { 0x01, 0x02 };
  static const uint8_t a_copy[] = { 0x01, 0x02 };
  static const uint8_t b[] = { 0x01 };
  static const uint8_t c3[] = { 0x01, 0x02, 0x00 };
  struct vigil_crl_params p = base_params(f->ca256, f->k256);
  /* Same value in different memory, with different reasons and times. */
  const struct vigil_crl_entry entries[] = {
    { a, sizeof(a), VIGIL_REASON_KEY_COMPROMISE, T0 - 100 },
    { b, sizeof(b), VIGIL_REASON_NONE, T0 },
    { c3, sizeof(c3), VIGIL_REASON_NONE, T0 },
    { a_copy, sizeof(a_copy), VIGIL_REASON_SUPERSEDED, T0 - 1 },
  };
  expect_bad_entry(VIGIL_CRL_ERR_DUPLICATE_SERIAL, 3, &p, entries, 4);
  /* Prefixes of one another are different integers. */
  uint8_t *der = NULL;
  struct parsed c;
  build_ok(&der, &c, &p, entries, 3);
  vigil_free(der);
}

static void test_bad_issuer(void **state) {
  struct fixture *f = *state;
  struct vigil_crl_params p = base_params(f->ca256, f->other);
  expect_err(VIGIL_CRL_ERR_KEY_MISMATCH, &p, NULL, 0);
  p = base_params(f->ca256, f->krsa);
  expect_err(VIGIL_CRL_ERR_KEY_MISMATCH, &p, NULL, 0);
  p = base_params(f->leaf256, f->k256);
  expect_err(VIGIL_CRL_ERR_NOT_CA, &p, NULL, 0);
}

static void test_bad_idp(void **state) {
  struct fixture *f = *state;
  struct vigil_crl_params p = base_params(f->ca256, f->k256);
  char long_uri[VIGIL_CRL_MAX_URI + 2];
  struct parsed c;
  uint8_t *der = NULL;

  p.idp_uri = "";
  expect_err(VIGIL_CRL_ERR_BAD_IDP, &p, NULL, 0);
  p.idp_uri = "http://example.test/a b";
  expect_err(VIGIL_CRL_ERR_BAD_IDP, &p, NULL, 0);
  p.idp_uri = "http://example.test/\x7f";
  expect_err(VIGIL_CRL_ERR_BAD_IDP, &p, NULL, 0);
  p.idp_uri = "http://example.test/\xc3\xa9";
  expect_err(VIGIL_CRL_ERR_BAD_IDP, &p, NULL, 0);
  memset(long_uri, 'a', sizeof(long_uri));
  long_uri[VIGIL_CRL_MAX_URI + 1] = '\0';
  p.idp_uri = long_uri;
  expect_err(VIGIL_CRL_ERR_BAD_IDP, &p, NULL, 0);
  long_uri[VIGIL_CRL_MAX_URI] = '\0'; /* exactly the maximum */
  build_ok(&der, &c, &p, NULL, 0);
  assert_int_equal(CBS_len(&c.idp_uri), VIGIL_CRL_MAX_URI);
  vigil_free(der);
  /* Scope flags. */
  p.idp_uri = NULL;
  p.only_contains_user_certs = 1;
  expect_err(VIGIL_CRL_ERR_BAD_IDP, &p, NULL, 0);
  p.idp_uri = "http://example.test/crl";
  p.ca_certs = 1;
  expect_err(VIGIL_CRL_ERR_BAD_IDP, &p, NULL, 0);
}

static void test_bad_params(void **state) {
  struct fixture *f = *state;
  struct vigil_crl_params p = base_params(f->ca256, f->k256);
  static const uint8_t s0[] = { 0x01 };
  const struct vigil_crl_entry one = { s0, 1, VIGIL_REASON_NONE, T0 };
  uint8_t *der = NULL;
  size_t len = 0;

  assert_int_equal(vigil_crl_build(NULL, &len, NULL, &p, NULL, 0),
                   VIGIL_CRL_ERR_BAD_PARAMS);
  assert_int_equal(vigil_crl_build(&der, NULL, NULL, &p, NULL, 0),
                   VIGIL_CRL_ERR_BAD_PARAMS);
  expect_err(VIGIL_CRL_ERR_BAD_PARAMS, NULL, NULL, 0);
  expect_err(VIGIL_CRL_ERR_BAD_PARAMS, &p, NULL, 1);
  p.issuer = NULL;
  expect_err(VIGIL_CRL_ERR_BAD_PARAMS, &p, NULL, 0);
  p = base_params(f->ca256, NULL);
  expect_err(VIGIL_CRL_ERR_BAD_PARAMS, &p, NULL, 0);
  /* One entry too many (zeroed pages: only touched if read). */
  struct vigil_crl_entry *many =
      calloc(VIGIL_CRL_MAX_ENTRIES + 1, sizeof(*many));
  assert_non_null(many);
  many[0] = one;
  p = base_params(f->ca256, f->k256);
  expect_err(VIGIL_CRL_ERR_TOO_MANY, &p, many, VIGIL_CRL_MAX_ENTRIES + 1);
  free(many);
}

static void test_err_strings(void **state) {
  (void)state;
  for (int e = VIGIL_CRL_OK; e <= VIGIL_CRL_ERR_SIGN; e++) {
    const char *s = vigil_crl_err_string((enum vigil_crl_err)e);
    assert_non_null(s);
    assert_true(strlen(s) > 0);
    assert_string_not_equal(s, "unknown error");
  }
  assert_string_equal(vigil_crl_err_string((enum vigil_crl_err)999),
                      "unknown error");
}

/* ======================================================================
 * Tests: length boundaries, allocation failure, scale
 * ====================================================================== */

/* An ECDSA signature's length is known only after signing, so the outer
 * SEQUENCE's length may fall either side of a DER length-form boundary
 * (256: 2 -> 1 length octets; 65536: 3 -> 2). The builder reserves room
 * for the longest signature and moves the CRL when the header turns out
 * shorter. Walk the CRL size across each boundary (by the IDP URI length,
 * and for 64 KiB with entries), several signatures each, and require
 * every result to parse and verify, and the short-header case to occur. */
static void test_length_boundaries(void **state) {
  struct fixture *f = *state;
  const size_t boundaries[] = { 256, 65536 };
  const size_t max_sig = vigil_key_max_sig_len(f->k256);
  struct vigil_crl_entry *entries = calloc(2000, sizeof(*entries));
  uint8_t(*serials)[3] = calloc(2000, sizeof(*serials));
  char uri[600];
  assert_non_null(entries);
  assert_non_null(serials);
  assert_true(max_sig < 127);
  for (size_t i = 0; i < 2000; i++) {
    serials[i][0] = 0x10;
    serials[i][1] = (uint8_t)(i >> 8);
    serials[i][2] = (uint8_t)i;
    entries[i].serial = serials[i];
    entries[i].serial_len = 3;
    entries[i].reason = VIGIL_REASON_KEY_COMPROMISE;
    entries[i].revoked_at = T0 - 1;
  }

  for (size_t b = 0; b < 2; b++) {
    const size_t boundary = boundaries[b];
    /* 36 bytes per entry; leave ~300 bytes for the rest. */
    const size_t n = boundary < 1000 ? 0 : (boundary - 300) / 36;
    struct vigil_crl_params p = base_params(f->ca256, f->k256);
    int short_seen = 0, long_seen = 0;
    p.idp_uri = uri;

    /* Calibrate: the URI length that puts the outer contents at
     * |boundary| with the longest signature. */
    size_t uri_len = 10;
    for (int round = 0; round < 2; round++) {
      uint8_t *der = NULL;
      size_t len = 0;
      struct parsed c;
      memset(uri, 'u', sizeof(uri));
      uri[uri_len] = '\0';
      assert_int_equal(vigil_crl_build(&der, &len, NULL, &p, entries, n),
                       VIGIL_CRL_OK);
      assert_true(parse_crl(&c, der, len));
      size_t content_max =
          CBS_len(&c.tbs) + CBS_len(&c.outer_alg) + 3 + max_sig;
      vigil_free(der);
      uri_len = uri_len + boundary - content_max;
      assert_true(uri_len > 4 && uri_len + 8 < sizeof(uri));
    }

    for (size_t u = uri_len - 4; u <= uri_len + 4; u++) {
      memset(uri, 'u', sizeof(uri));
      uri[u] = '\0';
      for (int rep = 0; rep < 8; rep++) {
        uint8_t *der = NULL;
        size_t len = 0;
        struct parsed c;
        assert_int_equal(vigil_crl_build(&der, &len, NULL, &p, entries, n),
                         VIGIL_CRL_OK);
        assert_true(parse_crl(&c, der, len));
        check_signed(&c, p.issuer, p.issuer_key);
        assert_int_equal(CBS_len(&c.idp_uri), u);
        size_t content =
            CBS_len(&c.tbs) + CBS_len(&c.outer_alg) + 3 + CBS_len(&c.sig);
        size_t content_max = content - CBS_len(&c.sig) + max_sig;
        if (content_max >= boundary && content < boundary) {
          short_seen = 1; /* room was kept for a longer header */
        }
        if (content >= boundary) {
          long_seen = 1;
        }
        vigil_free(der);
      }
    }
    assert_true(short_seen);
    assert_true(long_seen);
  }
  free(entries);
  free(serials);
}

static void test_alloc_failure(void **state) {
  struct fixture *f = *state;
  static const uint8_t s0[] = { 0x01 };
  static const uint8_t s1[] = { 0x02 };
  static const uint8_t s2[] = { 0x03 };
  const struct vigil_crl_entry entries[] = {
    { s0, sizeof(s0), VIGIL_REASON_KEY_COMPROMISE, T0 },
    { s1, sizeof(s1), VIGIL_REASON_NONE, T0 },
    { s2, sizeof(s2), VIGIL_REASON_SUPERSEDED, T0 },
  };
  struct vigil_crl_params p = base_params(f->ca256, f->k256);
  p.idp_uri = "http://example.test/crl/1";

  for (int persistent = 0; persistent <= 1; persistent++) {
    unsigned long n;
    int failures_seen = 0;
    for (n = 0; n < 100; n++) {
      uint8_t *der = (uint8_t *)1;
      size_t len = 99;
      vigil_alloc_fail_reset();
      vigil_alloc_fail_after(n, persistent);
      enum vigil_crl_err err =
          vigil_crl_build(&der, &len, NULL, &p, entries, 3);
      unsigned long failed = vigil_alloc_failures();
      vigil_alloc_fail_reset();
      if (failed == 0) {
        assert_int_equal(err, VIGIL_CRL_OK);
        struct parsed c;
        assert_true(parse_crl(&c, der, len));
        check_signed(&c, p.issuer, p.issuer_key);
        vigil_free(der);
        break;
      }
      failures_seen++;
      assert_int_equal(err, VIGIL_CRL_ERR_NOMEM);
      assert_null(der);
      assert_int_equal(len, 0);
    }
    assert_true(n < 100);
    /* At least the duplicate-check table and the CRL itself. */
    assert_true(failures_seen >= 2);
  }
}

/* A larger CRL with random serials: every entry comes back, and a
 * duplicate planted at the end is found. */
static void test_many_entries(void **state) {
  struct fixture *f = *state;
  const size_t n = 50000;
  struct vigil_crl_entry *entries = calloc(n + 1, sizeof(*entries));
  uint8_t(*serials)[16] = calloc(n + 1, sizeof(*serials));
  struct vigil_crl_params p = base_params(f->ca256, f->k256);
  struct parsed c;
  struct pentry e;
  uint8_t *der = NULL;

  assert_non_null(entries);
  assert_non_null(serials);
  RAND_bytes((uint8_t *)serials, (n + 1) * sizeof(*serials));
  for (size_t i = 0; i <= n; i++) {
    serials[i][0] = (uint8_t)((serials[i][0] & 0x7f) | 0x01);
    entries[i].serial = serials[i];
    entries[i].serial_len = sizeof(serials[i]);
    entries[i].reason =
        (i % 3 == 0) ? VIGIL_REASON_NONE : VIGIL_REASON_KEY_COMPROMISE;
    entries[i].revoked_at = T0 - (int64_t)(i % 100000);
  }
  build_ok(&der, &c, &p, entries, n);
  for (size_t i = 0; i < n; i++) {
    assert_true(next_entry(&c.revoked, &e));
    assert_true(CBS_mem_equal(&e.serial, serials[i], sizeof(serials[i])));
    assert_int_equal(e.revoked_at, entries[i].revoked_at);
    assert_int_equal(e.reason, i % 3 == 0 ? -1 : 1);
  }
  assert_int_equal(CBS_len(&c.revoked), 0);
  vigil_free(der);

  memcpy(serials[n], serials[n / 2], sizeof(serials[n]));
  expect_bad_entry(VIGIL_CRL_ERR_DUPLICATE_SERIAL, n, &p, entries, n + 1);
  free(entries);
  free(serials);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_full_structure),
    cmocka_unit_test(test_empty_crl),
    cmocka_unit_test(test_shard_idp),
    cmocka_unit_test(test_aki_without_ski),
    cmocka_unit_test(test_key_types),
    cmocka_unit_test(test_crl_number_encoding),
    cmocka_unit_test(test_time_encoding),
    cmocka_unit_test(test_bad_times),
    cmocka_unit_test(test_bad_reasons),
    cmocka_unit_test(test_bad_serials),
    cmocka_unit_test(test_bad_revocation_time),
    cmocka_unit_test(test_duplicates),
    cmocka_unit_test(test_bad_issuer),
    cmocka_unit_test(test_bad_idp),
    cmocka_unit_test(test_bad_params),
    cmocka_unit_test(test_err_strings),
    cmocka_unit_test(test_length_boundaries),
    cmocka_unit_test(test_alloc_failure),
    cmocka_unit_test(test_many_entries),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
