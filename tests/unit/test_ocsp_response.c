/* test_ocsp_response.c: unit tests for vigil/ocsp_response.h.
 *
 * Every response is parsed back by a hand-written CBS walk of the RFC 6960
 * ASN.1 (not by our own parser) and its signature is checked with
 * vigil_key_verify over the tbsResponseData bytes. Expected encodings are
 * written from the RFCs (tags, OIDs) and from `date -u` for the times; none
 * was produced by the code under test. Keys are made fresh per run; the
 * issuer and responder certificates are minimal v3 certificates built here
 * and signed with vigil_key_add_signed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bytestring.h>
#include <openssl/mem.h>
#include <openssl/sha.h>

#include "vigil/alloc.h"
#include "vigil/cert.h"
#include "vigil/key.h"
#include "vigil/ocsp.h"
#include "vigil/ocsp_response.h"

/* ========================================================================
 * Constants from the RFCs and `date -u -d @T +%Y%m%d%H%M%SZ`
 * ======================================================================== */

#define T_THIS     INT64_C(1700000000) /* 20231114221320Z */
#define T_PRODUCED INT64_C(1700000060) /* 20231114221420Z */
#define T_NEXT     INT64_C(1700345600) /* 20231118221320Z */
#define T_REVOKED  INT64_C(1699000000) /* 20231103082640Z */
#define T_2051     INT64_C(2556144000) /* 20510101000000Z */

#define CTX(n)      (CBS_ASN1_CONTEXT_SPECIFIC | (n))
#define CTX_CONS(n) (CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | (n))

/* id-pkix-ocsp-basic, id-pkix-ocsp-nonce (RFC 6960 4.2.1, 4.4.1). */
static const uint8_t kBasic[] = { 0x2b, 0x06, 0x01, 0x05, 0x05,
                                  0x07, 0x30, 0x01, 0x01 };
static const uint8_t kNonce[] = { 0x2b, 0x06, 0x01, 0x05, 0x05,
                                  0x07, 0x30, 0x01, 0x02 };
/* AlgorithmIdentifier { id-sha1 (1.3.14.3.2.26), NULL } and
 * { id-sha256 (2.16.840.1.101.3.4.2.1), NULL }. */
static const uint8_t kSha1Alg[] = { 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                    0x03, 0x02, 0x1a, 0x05, 0x00 };
static const uint8_t kSha256Alg[] = { 0x30, 0x0d, 0x06, 0x09, 0x60,
                                      0x86, 0x48, 0x01, 0x65, 0x03,
                                      0x04, 0x02, 0x01, 0x05, 0x00 };

static const uint8_t kSerial[] = { 0x12, 0x34, 0xab, 0xcd };
/* 21 octets: 20 value octets with the high bit set need a 0x00. */
static const uint8_t kLongSerial[] = {
  0x00, 0xc0, 0xff, 0xee, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
  0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01
};

/* ========================================================================
 * Fixture: keys and certificates per key type
 * ======================================================================== */

#define NUM_TYPES 4

struct pki {
  enum vigil_key_type type;
  struct vigil_key *ca_key;
  struct vigil_cert *ca;
  struct vigil_key *resp_key;
  struct vigil_cert *resp_cert;
};

struct fixture {
  struct pki pki[NUM_TYPES];
};

/* add_name appends Name = SEQUENCE { SET { SEQUENCE { id-at-commonName,
 * UTF8String cn } } }. */
static int add_name(CBB *cbb, const char *cn) {
  static const uint8_t kCommonName[] = { 0x55, 0x04, 0x03 };
  CBB name, rdn, atv, oid, value;
  return CBB_add_asn1(cbb, &name, CBS_ASN1_SEQUENCE) &&
         CBB_add_asn1(&name, &rdn, CBS_ASN1_SET) &&
         CBB_add_asn1(&rdn, &atv, CBS_ASN1_SEQUENCE) &&
         CBB_add_asn1(&atv, &oid, CBS_ASN1_OBJECT) &&
         CBB_add_bytes(&oid, kCommonName, sizeof(kCommonName)) &&
         CBB_add_asn1(&atv, &value, CBS_ASN1_UTF8STRING) &&
         CBB_add_bytes(&value, (const uint8_t *)cn, strlen(cn)) &&
         CBB_flush(cbb);
}

static int add_utctime(CBB *cbb, const char *t) {
  CBB child;
  return CBB_add_asn1(cbb, &child, CBS_ASN1_UTCTIME) &&
         CBB_add_bytes(&child, (const uint8_t *)t, strlen(t)) && CBB_flush(cbb);
}

/* make_cert builds a minimal v3 certificate for |subject_key| named
 * |subject|, issued and signed by |issuer_key| named |issuer|. */
static struct vigil_cert *make_cert(const struct vigil_key *subject_key,
                                    const char *subject,
                                    const struct vigil_key *issuer_key,
                                    const char *issuer, uint8_t serial) {
  CBB cbb, tbs, version, validity;
  CBB out;
  uint8_t *tbs_der = NULL, *der = NULL;
  size_t tbs_len = 0, der_len = 0, spki_len = 0, alg_len = 0;
  const uint8_t *spki = vigil_key_get0_spki(subject_key, &spki_len);
  const uint8_t *alg = vigil_key_get0_sig_alg(issuer_key, &alg_len);
  struct vigil_cert *cert = NULL;
  enum vigil_cert_err err;

  assert_true(CBB_init(&cbb, 512));
  assert_true(CBB_add_asn1(&cbb, &tbs, CBS_ASN1_SEQUENCE));
  assert_true(CBB_add_asn1(&tbs, &version, CTX_CONS(0)));
  assert_true(CBB_add_asn1_uint64(&version, 2));
  assert_true(CBB_add_asn1_uint64(&tbs, serial));
  assert_true(CBB_add_bytes(&tbs, alg, alg_len));
  assert_true(add_name(&tbs, issuer));
  assert_true(CBB_add_asn1(&tbs, &validity, CBS_ASN1_SEQUENCE));
  assert_true(add_utctime(&validity, "230101000000Z"));
  assert_true(add_utctime(&validity, "330101000000Z"));
  assert_true(add_name(&tbs, subject));
  assert_true(CBB_add_bytes(&tbs, spki, spki_len));
  assert_true(CBB_finish(&cbb, &tbs_der, &tbs_len));

  assert_true(CBB_init(&out, 1024));
  assert_true(vigil_key_add_signed(issuer_key, &out, tbs_der, tbs_len));
  assert_true(CBB_finish(&out, &der, &der_len));
  cert = vigil_cert_parse(&err, der, der_len);
  assert_non_null(cert);
  OPENSSL_free(tbs_der);
  OPENSSL_free(der);
  return cert;
}

static int setup(void **state) {
  static const enum vigil_key_type types[NUM_TYPES] = {
    VIGIL_KEY_EC_P256, VIGIL_KEY_EC_P384, VIGIL_KEY_RSA, VIGIL_KEY_ED25519
  };
  struct fixture *f = vigil_calloc(1, sizeof(*f));
  assert_non_null(f);
  for (size_t i = 0; i < NUM_TYPES; i++) {
    struct pki *p = &f->pki[i];
    p->type = types[i];
    p->ca_key = vigil_key_generate(types[i], 2048);
    p->resp_key = vigil_key_generate(types[i], 2048);
    assert_non_null(p->ca_key);
    assert_non_null(p->resp_key);
    p->ca = make_cert(p->ca_key, "Test CA", p->ca_key, "Test CA", 1);
    p->resp_cert =
        make_cert(p->resp_key, "Test OCSP responder", p->ca_key, "Test CA", 2);
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  for (size_t i = 0; i < NUM_TYPES; i++) {
    vigil_key_free(f->pki[i].ca_key);
    vigil_key_free(f->pki[i].resp_key);
    vigil_cert_free(f->pki[i].ca);
    vigil_cert_free(f->pki[i].resp_cert);
  }
  vigil_free(f);
  return 0;
}

/* ========================================================================
 * A hand-written walk of the RFC 6960 4.2.1 ASN.1
 * ======================================================================== */

struct parsed {
  CBS tbs;          /* tbsResponseData, full element */
  int has_version;  /* version [0] present (it must not be) */
  CBS responder_kh; /* byKey KeyHash contents */
  CBS produced_at;  /* GeneralizedTime contents */
  CBS responses;    /* SEQUENCE OF SingleResponse contents */
  int has_exts;     /* responseExtensions [1] present */
  CBS exts;         /* Extensions SEQUENCE contents */
  CBS sig_alg;      /* signatureAlgorithm, full element */
  CBS sig;          /* signature BIT STRING contents after the pad octet */
  int has_certs;    /* certs [0] present */
  CBS certs;        /* SEQUENCE OF Certificate contents */
};

struct parsed_single {
  CBS cert_id;  /* CertID, full element */
  unsigned tag; /* certStatus tag */
  CBS status;   /* certStatus contents */
  CBS this_upd; /* thisUpdate contents */
  int has_next; /* nextUpdate present */
  CBS next_upd; /* nextUpdate contents */
  int has_exts; /* singleExtensions present */
};

/* parse_response fails the test unless |der| is exactly one successful
 * OCSPResponse of type id-pkix-ocsp-basic. */
static void parse_response(struct parsed *p, const uint8_t *der, size_t len) {
  CBS in, resp, status, rb_explicit, rb, oid, octets, basic_seq, basic, tbs,
      rid, exp;
  uint8_t pad;
  memset(p, 0, sizeof(*p));
  CBS_init(&in, der, len);
  assert_true(CBS_get_asn1(&in, &resp, CBS_ASN1_SEQUENCE));
  assert_int_equal(CBS_len(&in), 0);
  assert_true(CBS_get_asn1(&resp, &status, CBS_ASN1_ENUMERATED));
  assert_int_equal(CBS_len(&status), 1);
  assert_int_equal(CBS_data(&status)[0], 0); /* successful */
  assert_true(CBS_get_asn1(&resp, &rb_explicit, CTX_CONS(0)));
  assert_int_equal(CBS_len(&resp), 0);
  assert_true(CBS_get_asn1(&rb_explicit, &rb, CBS_ASN1_SEQUENCE));
  assert_int_equal(CBS_len(&rb_explicit), 0);
  assert_true(CBS_get_asn1(&rb, &oid, CBS_ASN1_OBJECT));
  assert_true(CBS_mem_equal(&oid, kBasic, sizeof(kBasic)));
  assert_true(CBS_get_asn1(&rb, &octets, CBS_ASN1_OCTETSTRING));
  assert_int_equal(CBS_len(&rb), 0);

  assert_true(CBS_get_asn1(&octets, &basic_seq, CBS_ASN1_SEQUENCE));
  assert_int_equal(CBS_len(&octets), 0);
  basic = basic_seq;
  assert_true(CBS_get_asn1_element(&basic, &p->tbs, CBS_ASN1_SEQUENCE));
  assert_true(CBS_get_asn1_element(&basic, &p->sig_alg, CBS_ASN1_SEQUENCE));
  assert_true(CBS_get_asn1(&basic, &p->sig, CBS_ASN1_BITSTRING));
  assert_true(CBS_get_u8(&p->sig, &pad));
  assert_int_equal(pad, 0);
  if (CBS_peek_asn1_tag(&basic, CTX_CONS(0))) {
    assert_true(CBS_get_asn1(&basic, &exp, CTX_CONS(0)));
    assert_true(CBS_get_asn1(&exp, &p->certs, CBS_ASN1_SEQUENCE));
    assert_int_equal(CBS_len(&exp), 0);
    p->has_certs = 1;
  }
  assert_int_equal(CBS_len(&basic), 0);

  CBS tbs_element = p->tbs;
  assert_true(CBS_get_asn1(&tbs_element, &tbs, CBS_ASN1_SEQUENCE));
  p->has_version = CBS_peek_asn1_tag(&tbs, CTX_CONS(0));
  assert_true(CBS_get_asn1(&tbs, &rid, CTX_CONS(2))); /* byKey */
  assert_true(CBS_get_asn1(&rid, &p->responder_kh, CBS_ASN1_OCTETSTRING));
  assert_int_equal(CBS_len(&rid), 0);
  assert_true(CBS_get_asn1(&tbs, &p->produced_at, CBS_ASN1_GENERALIZEDTIME));
  assert_true(CBS_get_asn1(&tbs, &p->responses, CBS_ASN1_SEQUENCE));
  if (CBS_peek_asn1_tag(&tbs, CTX_CONS(1))) {
    assert_true(CBS_get_asn1(&tbs, &exp, CTX_CONS(1)));
    assert_true(CBS_get_asn1(&exp, &p->exts, CBS_ASN1_SEQUENCE));
    assert_int_equal(CBS_len(&exp), 0);
    p->has_exts = 1;
  }
  assert_int_equal(CBS_len(&tbs), 0);
}

/* next_single takes one SingleResponse off |responses|. */
static void next_single(struct parsed_single *s, CBS *responses) {
  CBS single, exp;
  memset(s, 0, sizeof(*s));
  assert_true(CBS_get_asn1(responses, &single, CBS_ASN1_SEQUENCE));
  assert_true(CBS_get_asn1_element(&single, &s->cert_id, CBS_ASN1_SEQUENCE));
  assert_true(CBS_get_any_asn1(&single, &s->status, &s->tag));
  assert_true(CBS_get_asn1(&single, &s->this_upd, CBS_ASN1_GENERALIZEDTIME));
  if (CBS_peek_asn1_tag(&single, CTX_CONS(0))) {
    assert_true(CBS_get_asn1(&single, &exp, CTX_CONS(0)));
    assert_true(CBS_get_asn1(&exp, &s->next_upd, CBS_ASN1_GENERALIZEDTIME));
    assert_int_equal(CBS_len(&exp), 0);
    s->has_next = 1;
  }
  s->has_exts = CBS_len(&single) != 0;
}

static void assert_cbs_str(const CBS *cbs, const char *want) {
  assert_int_equal(CBS_len(cbs), strlen(want));
  assert_memory_equal(CBS_data(cbs), want, strlen(want));
}

static void assert_cbs_mem(const CBS *cbs, const uint8_t *want, size_t len) {
  assert_int_equal(CBS_len(cbs), len);
  assert_memory_equal(CBS_data(cbs), want, len);
}

/* verify_with returns vigil_key_verify of |p|'s signature under |key|. */
static int verify_with(const struct parsed *p, const struct vigil_key *key) {
  return vigil_key_verify(
      vigil_key_get0_evp(key), CBS_data(&p->sig_alg), CBS_len(&p->sig_alg),
      CBS_data(&p->sig), CBS_len(&p->sig), CBS_data(&p->tbs), CBS_len(&p->tbs));
}

/* expect_cert_id checks a CertID built from hashes (RFC 6960 4.1.1). */
static void expect_cert_id(const CBS *cert_id, enum vigil_ocsp_hash hash,
                           const struct vigil_cert *issuer,
                           const uint8_t *serial, size_t serial_len) {
  CBS in = *cert_id, seq, alg, name_hash, key_hash, ser;
  uint8_t want_name[32], want_key[32];
  size_t n = 20;
  if (hash == VIGIL_OCSP_HASH_SHA1) {
    SHA1(CBS_data(&issuer->subject), CBS_len(&issuer->subject), want_name);
    SHA1(CBS_data(&issuer->public_key_bits), CBS_len(&issuer->public_key_bits),
         want_key);
  } else {
    n = 32;
    SHA256(CBS_data(&issuer->subject), CBS_len(&issuer->subject), want_name);
    SHA256(CBS_data(&issuer->public_key_bits),
           CBS_len(&issuer->public_key_bits), want_key);
  }
  assert_true(CBS_get_asn1(&in, &seq, CBS_ASN1_SEQUENCE));
  assert_int_equal(CBS_len(&in), 0);
  assert_true(CBS_get_asn1_element(&seq, &alg, CBS_ASN1_SEQUENCE));
  if (hash == VIGIL_OCSP_HASH_SHA1) {
    assert_cbs_mem(&alg, kSha1Alg, sizeof(kSha1Alg));
  } else {
    assert_cbs_mem(&alg, kSha256Alg, sizeof(kSha256Alg));
  }
  assert_true(CBS_get_asn1(&seq, &name_hash, CBS_ASN1_OCTETSTRING));
  assert_cbs_mem(&name_hash, want_name, n);
  assert_true(CBS_get_asn1(&seq, &key_hash, CBS_ASN1_OCTETSTRING));
  assert_cbs_mem(&key_hash, want_key, n);
  assert_true(CBS_get_asn1(&seq, &ser, CBS_ASN1_INTEGER));
  assert_cbs_mem(&ser, serial, serial_len);
  assert_int_equal(CBS_len(&seq), 0);
}

/* good_single fills a good SingleResponse for |issuer| and |kSerial|. */
static struct vigil_ocsp_single good_single(const struct vigil_cert *issuer,
                                            enum vigil_ocsp_hash hash) {
  struct vigil_ocsp_single s;
  memset(&s, 0, sizeof(s));
  s.hash = hash;
  assert_true(vigil_ocsp_cert_id_hashes(&s.issuer_name_hash, &s.issuer_key_hash,
                                        issuer, hash));
  s.serial = kSerial;
  s.serial_len = sizeof(kSerial);
  s.status = VIGIL_CERT_STATUS_GOOD;
  s.reason = VIGIL_REASON_NONE;
  s.this_update = T_THIS;
  s.next_update = T_NEXT;
  return s;
}

/* build runs vigil_ocsp_response_build into |buf| (a fixed CBB sized by
 * vigil_ocsp_response_max_len, as the edge does) and returns the length. */
static size_t build(uint8_t *buf, size_t buf_len,
                    const struct vigil_ocsp_responder *r,
                    const struct vigil_ocsp_single *singles, size_t n,
                    const uint8_t *nonce, size_t nonce_len) {
  CBB cbb;
  uint8_t *out = NULL;
  size_t out_len = 0;
  size_t max = vigil_ocsp_response_max_len(r, n, nonce_len);
  assert_true(max > 0);
  assert_true(max <= buf_len);
  assert_true(CBB_init_fixed(&cbb, buf, max));
  assert_true(vigil_ocsp_response_build(&cbb, r, T_PRODUCED, singles, n, nonce,
                                        nonce_len));
  assert_true(CBB_finish(&cbb, &out, &out_len));
  assert_ptr_equal(out, buf);
  return out_len;
}

static uint8_t g_buf[65536];

/* ========================================================================
 * Tests
 * ======================================================================== */

/* Error responses are OCSPResponse { responseStatus } only, byte-exact:
 * SEQUENCE(3) { ENUMERATED(1) code } (RFC 6960 4.2.1). */
static void test_error_responses(void **state) {
  (void)state;
  static const struct {
    enum vigil_ocsp_status status;
    uint8_t der[5];
  } cases[] = {
    { VIGIL_OCSP_MALFORMED_REQUEST, { 0x30, 0x03, 0x0a, 0x01, 0x01 } },
    { VIGIL_OCSP_INTERNAL_ERROR, { 0x30, 0x03, 0x0a, 0x01, 0x02 } },
    { VIGIL_OCSP_TRY_LATER, { 0x30, 0x03, 0x0a, 0x01, 0x03 } },
    { VIGIL_OCSP_SIG_REQUIRED, { 0x30, 0x03, 0x0a, 0x01, 0x05 } },
    { VIGIL_OCSP_UNAUTHORIZED, { 0x30, 0x03, 0x0a, 0x01, 0x06 } },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t len = 99;
    const uint8_t *der = vigil_ocsp_error_response(&len, cases[i].status);
    assert_non_null(der);
    assert_int_equal(len, 5);
    assert_memory_equal(der, cases[i].der, 5);
  }
  size_t len = 99;
  assert_null(vigil_ocsp_error_response(&len, VIGIL_OCSP_SUCCESSFUL));
  assert_int_equal(len, 0);
  assert_null(vigil_ocsp_error_response(&len, (enum vigil_ocsp_status)4));
  assert_null(vigil_ocsp_error_response(&len, (enum vigil_ocsp_status)7));
}

/* A good answer signed by the CA itself, for each key type: every field of
 * RFC 6960 4.2.1 as expected, the signature verifies, no certs. */
static void test_good_ca_signed(void **state) {
  struct fixture *f = *state;
  for (size_t i = 0; i < NUM_TYPES; i++) {
    struct pki *p = &f->pki[i];
    struct vigil_ocsp_responder r = { p->ca_key, NULL };
    struct vigil_ocsp_single s = good_single(p->ca, VIGIL_OCSP_HASH_SHA1);
    size_t len = build(g_buf, sizeof(g_buf), &r, &s, 1, NULL, 0);
    struct parsed pr;
    struct parsed_single ps;
    parse_response(&pr, g_buf, len);

    assert_false(pr.has_version); /* v1 is DEFAULT: omitted in DER */
    assert_cbs_mem(&pr.responder_kh, p->ca->key_sha1, 20);
    assert_cbs_str(&pr.produced_at, "20231114221420Z");
    assert_false(pr.has_exts);
    assert_false(pr.has_certs);
    size_t alg_len = 0;
    const uint8_t *alg = vigil_key_get0_sig_alg(p->ca_key, &alg_len);
    assert_cbs_mem(&pr.sig_alg, alg, alg_len);

    next_single(&ps, &pr.responses);
    assert_int_equal(CBS_len(&pr.responses), 0);
    expect_cert_id(&ps.cert_id, VIGIL_OCSP_HASH_SHA1, p->ca, kSerial,
                   sizeof(kSerial));
    assert_int_equal(ps.tag, CTX(0)); /* good [0] IMPLICIT NULL */
    assert_int_equal(CBS_len(&ps.status), 0);
    assert_cbs_str(&ps.this_upd, "20231114221320Z");
    assert_true(ps.has_next);
    assert_cbs_str(&ps.next_upd, "20231118221320Z");
    assert_false(ps.has_exts);

    assert_true(verify_with(&pr, p->ca_key));
    assert_false(verify_with(&pr, p->resp_key));
  }
}

/* Flipping any one bit of tbsResponseData or of the signature makes the
 * verification fail: the check above is not vacuous. */
static void test_tamper_detected(void **state) {
  struct fixture *f = *state;
  struct pki *p = &f->pki[0];
  struct vigil_ocsp_responder r = { p->ca_key, NULL };
  struct vigil_ocsp_single s = good_single(p->ca, VIGIL_OCSP_HASH_SHA1);
  size_t len = build(g_buf, sizeof(g_buf), &r, &s, 1, NULL, 0);
  struct parsed pr;
  parse_response(&pr, g_buf, len);
  assert_true(verify_with(&pr, p->ca_key));
  /* The last seconds digit of producedAt: the DER stays well-formed. */
  uint8_t *tbs_byte = (uint8_t *)CBS_data(&pr.produced_at) + 13;
  *tbs_byte ^= 0x01;
  assert_false(verify_with(&pr, p->ca_key));
  *tbs_byte ^= 0x01;
  uint8_t *sig_byte = (uint8_t *)CBS_data(&pr.sig) + CBS_len(&pr.sig) - 1;
  *sig_byte ^= 0x01;
  assert_false(verify_with(&pr, p->ca_key));
  *sig_byte ^= 0x01;
  assert_true(verify_with(&pr, p->ca_key));
}

/* Revoked with a reason, by a delegated responder: RevokedInfo is
 * [1] { revocationTime, [0] EXPLICIT ENUMERATED reason }, byKey is the
 * responder's key, certs [0] holds exactly the responder certificate. */
static void test_revoked_delegated(void **state) {
  struct fixture *f = *state;
  for (size_t i = 0; i < NUM_TYPES; i++) {
    struct pki *p = &f->pki[i];
    struct vigil_ocsp_responder r = { p->resp_key, p->resp_cert };
    struct vigil_ocsp_single s = good_single(p->ca, VIGIL_OCSP_HASH_SHA1);
    s.serial = kLongSerial;
    s.serial_len = sizeof(kLongSerial);
    s.status = VIGIL_CERT_STATUS_REVOKED;
    s.revocation_time = T_REVOKED;
    s.reason = VIGIL_REASON_KEY_COMPROMISE;
    size_t len = build(g_buf, sizeof(g_buf), &r, &s, 1, NULL, 0);
    struct parsed pr;
    struct parsed_single ps;
    parse_response(&pr, g_buf, len);

    assert_cbs_mem(&pr.responder_kh, p->resp_cert->key_sha1, 20);
    assert_true(pr.has_certs);
    CBS cert;
    assert_true(CBS_get_asn1_element(&pr.certs, &cert, CBS_ASN1_SEQUENCE));
    assert_int_equal(CBS_len(&pr.certs), 0);
    assert_cbs_mem(&cert, CBS_data(&p->resp_cert->der),
                   CBS_len(&p->resp_cert->der));

    next_single(&ps, &pr.responses);
    expect_cert_id(&ps.cert_id, VIGIL_OCSP_HASH_SHA1, p->ca, kLongSerial,
                   sizeof(kLongSerial));
    assert_int_equal(ps.tag, CTX_CONS(1));
    CBS rev_time, reason_exp, reason;
    assert_true(CBS_get_asn1(&ps.status, &rev_time, CBS_ASN1_GENERALIZEDTIME));
    assert_cbs_str(&rev_time, "20231103082640Z");
    assert_true(CBS_get_asn1(&ps.status, &reason_exp, CTX_CONS(0)));
    assert_int_equal(CBS_len(&ps.status), 0);
    assert_true(CBS_get_asn1(&reason_exp, &reason, CBS_ASN1_ENUMERATED));
    assert_int_equal(CBS_len(&reason_exp), 0);
    static const uint8_t kKeyCompromise[] = { 0x01 };
    assert_cbs_mem(&reason, kKeyCompromise, 1);

    assert_true(verify_with(&pr, p->resp_key));
    assert_false(verify_with(&pr, p->ca_key));
  }
}

/* Revoked without a reason omits the [0] reason; unknown is [2] NULL. */
static void test_revoked_no_reason_and_unknown(void **state) {
  struct fixture *f = *state;
  struct pki *p = &f->pki[0];
  struct vigil_ocsp_responder r = { p->resp_key, p->resp_cert };
  struct vigil_ocsp_single s[3];
  s[0] = good_single(p->ca, VIGIL_OCSP_HASH_SHA1);
  s[0].status = VIGIL_CERT_STATUS_REVOKED;
  s[0].revocation_time = T_REVOKED;
  s[1] = good_single(p->ca, VIGIL_OCSP_HASH_SHA1);
  s[1].status = VIGIL_CERT_STATUS_UNKNOWN;
  s[2] = good_single(p->ca, VIGIL_OCSP_HASH_SHA1);
  s[2].status = VIGIL_CERT_STATUS_REVOKED;
  s[2].revocation_time = T_REVOKED;
  s[2].reason = VIGIL_REASON_AA_COMPROMISE; /* 10: largest code */
  size_t len = build(g_buf, sizeof(g_buf), &r, s, 3, NULL, 0);
  struct parsed pr;
  struct parsed_single ps;
  parse_response(&pr, g_buf, len);

  next_single(&ps, &pr.responses);
  assert_int_equal(ps.tag, CTX_CONS(1));
  CBS rev_time;
  assert_true(CBS_get_asn1(&ps.status, &rev_time, CBS_ASN1_GENERALIZEDTIME));
  assert_int_equal(CBS_len(&ps.status), 0);

  next_single(&ps, &pr.responses);
  assert_int_equal(ps.tag, CTX(2));
  assert_int_equal(CBS_len(&ps.status), 0);

  next_single(&ps, &pr.responses);
  assert_int_equal(ps.tag, CTX_CONS(1));
  static const uint8_t kAaCompromise[] = { 0x18, 0x0f, '2',  '0', '2', '3',
                                           '1',  '1',  '0',  '3', '0', '8',
                                           '2',  '6',  '4',  '0', 'Z', 0xa0,
                                           0x03, 0x0a, 0x01, 0x0a };
  assert_cbs_mem(&ps.status, kAaCompromise, sizeof(kAaCompromise));
  assert_int_equal(CBS_len(&pr.responses), 0);
  assert_true(verify_with(&pr, p->resp_key));
}

/* The nonce is echoed as responseExtensions [1] { Extension {
 * id-pkix-ocsp-nonce, (critical omitted), OCTET STRING { OCTET STRING
 * nonce } } } (RFC 8954 2.1), for lengths 1, 32 and 128. */
static void test_nonce(void **state) {
  struct fixture *f = *state;
  struct pki *p = &f->pki[3];
  struct vigil_ocsp_responder r = { p->resp_key, p->resp_cert };
  struct vigil_ocsp_single s = good_single(p->ca, VIGIL_OCSP_HASH_SHA1);
  uint8_t nonce[VIGIL_OCSP_NONCE_MAX];
  for (size_t i = 0; i < sizeof(nonce); i++) {
    nonce[i] = (uint8_t)(0xa5 ^ i);
  }
  static const size_t lens[] = { 1, 32, VIGIL_OCSP_NONCE_MAX };
  for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
    size_t len = build(g_buf, sizeof(g_buf), &r, &s, 1, nonce, lens[k]);
    struct parsed pr;
    parse_response(&pr, g_buf, len);
    assert_true(pr.has_exts);
    CBS ext, oid, value, inner;
    assert_true(CBS_get_asn1(&pr.exts, &ext, CBS_ASN1_SEQUENCE));
    assert_int_equal(CBS_len(&pr.exts), 0);
    assert_true(CBS_get_asn1(&ext, &oid, CBS_ASN1_OBJECT));
    assert_cbs_mem(&oid, kNonce, sizeof(kNonce));
    assert_false(CBS_peek_asn1_tag(&ext, CBS_ASN1_BOOLEAN));
    assert_true(CBS_get_asn1(&ext, &value, CBS_ASN1_OCTETSTRING));
    assert_int_equal(CBS_len(&ext), 0);
    assert_true(CBS_get_asn1(&value, &inner, CBS_ASN1_OCTETSTRING));
    assert_int_equal(CBS_len(&value), 0);
    assert_cbs_mem(&inner, nonce, lens[k]);
    assert_true(verify_with(&pr, p->resp_key));
  }
}

/* A CertID given as DER is echoed byte for byte, whatever its hash; one
 * built for SHA-256 uses the SHA-256 name and key hashes. */
static void test_cert_id(void **state) {
  struct fixture *f = *state;
  struct pki *p = &f->pki[1];
  struct vigil_ocsp_responder r = { p->ca_key, NULL };
  /* SHA-256 CertID with absent (not NULL) parameters, as some clients send
   * it: must come back exactly so or the client won't match it. */
  uint8_t cert_id[2 + 13 + 34 + 34 + 6];
  CBB cbb, seq, alg, oid, ser;
  static const uint8_t kSha256Oid[] = { 0x60, 0x86, 0x48, 0x01, 0x65,
                                        0x03, 0x04, 0x02, 0x01 };
  uint8_t *unused;
  size_t cert_id_len = 0;
  assert_true(CBB_init_fixed(&cbb, cert_id, sizeof(cert_id)));
  assert_true(CBB_add_asn1(&cbb, &seq, CBS_ASN1_SEQUENCE));
  assert_true(CBB_add_asn1(&seq, &alg, CBS_ASN1_SEQUENCE));
  assert_true(CBB_add_asn1(&alg, &oid, CBS_ASN1_OBJECT));
  assert_true(CBB_add_bytes(&oid, kSha256Oid, sizeof(kSha256Oid)));
  assert_true(CBB_add_asn1_octet_string(&seq, p->ca->name_sha256, 32));
  assert_true(CBB_add_asn1_octet_string(&seq, p->ca->key_sha256, 32));
  assert_true(CBB_add_asn1(&seq, &ser, CBS_ASN1_INTEGER));
  assert_true(CBB_add_bytes(&ser, kSerial, sizeof(kSerial)));
  assert_true(CBB_finish(&cbb, &unused, &cert_id_len));

  struct vigil_ocsp_single s[2];
  s[0] = good_single(p->ca, VIGIL_OCSP_HASH_SHA1);
  s[0].cert_id_der = cert_id;
  s[0].cert_id_der_len = cert_id_len;
  s[0].serial = NULL; /* ignored when cert_id_der is set */
  s[1] = good_single(p->ca, VIGIL_OCSP_HASH_SHA256);
  size_t len = build(g_buf, sizeof(g_buf), &r, s, 2, NULL, 0);
  struct parsed pr;
  struct parsed_single ps;
  parse_response(&pr, g_buf, len);
  next_single(&ps, &pr.responses);
  assert_cbs_mem(&ps.cert_id, cert_id, cert_id_len);
  next_single(&ps, &pr.responses);
  expect_cert_id(&ps.cert_id, VIGIL_OCSP_HASH_SHA256, p->ca, kSerial,
                 sizeof(kSerial));
  assert_true(verify_with(&pr, p->ca_key));

  /* vigil_ocsp_cert_id_hashes / vigil_ocsp_hash_len contracts */
  const uint8_t *nh = NULL, *kh = NULL;
  assert_false(
      vigil_ocsp_cert_id_hashes(&nh, &kh, p->ca, (enum vigil_ocsp_hash)3));
  assert_null(nh);
  assert_null(kh);
  assert_int_equal(vigil_ocsp_hash_len(VIGIL_OCSP_HASH_SHA1), 20);
  assert_int_equal(vigil_ocsp_hash_len(VIGIL_OCSP_HASH_SHA256), 32);
  assert_int_equal(vigil_ocsp_hash_len((enum vigil_ocsp_hash)0), 0);
}

/* Times past 2049 stay GeneralizedTime (RFC 6960 uses it throughout). */
static void test_generalized_time_after_2049(void **state) {
  struct fixture *f = *state;
  struct pki *p = &f->pki[0];
  struct vigil_ocsp_responder r = { p->ca_key, NULL };
  struct vigil_ocsp_single s = good_single(p->ca, VIGIL_OCSP_HASH_SHA1);
  s.next_update = T_2051;
  size_t len = build(g_buf, sizeof(g_buf), &r, &s, 1, NULL, 0);
  struct parsed pr;
  struct parsed_single ps;
  parse_response(&pr, g_buf, len);
  next_single(&ps, &pr.responses);
  assert_cbs_str(&ps.next_upd, "20510101000000Z");
}

/* Each refused input returns 0 and writes nothing: the CBB is still
 * usable and a valid build afterwards succeeds in it. */
static void test_refusals(void **state) {
  struct fixture *f = *state;
  struct pki *p = &f->pki[0];
  struct vigil_ocsp_responder r = { p->resp_key, p->resp_cert };
  struct vigil_ocsp_responder wrong_cert = { p->ca_key, p->resp_cert };
  struct vigil_ocsp_responder no_key = { NULL, NULL };
  const struct vigil_ocsp_single good =
      good_single(p->ca, VIGIL_OCSP_HASH_SHA1);
  static const uint8_t kNonMinimal[] = { 0x00, 0x12 };
  static const uint8_t kNotSeq[] = { 0x04, 0x01, 0x00 };
  static const uint8_t kTrailing[] = { 0x30, 0x00, 0x00 };
  uint8_t nonce[VIGIL_OCSP_NONCE_MAX + 1] = { 0 };
  uint8_t big_cert_id[VIGIL_OCSP_MAX_CERT_ID_DER + 3];
  memset(big_cert_id, 0, sizeof(big_cert_id));
  big_cert_id[0] = 0x30;
  big_cert_id[1] = 0x81;
  big_cert_id[2] = VIGIL_OCSP_MAX_CERT_ID_DER;

  struct vigil_ocsp_single bad[24];
  size_t nbad = 0;
#define BAD(stmt)                               \
  do {                                          \
    bad[nbad] = good;                           \
    struct vigil_ocsp_single *b = &bad[nbad++]; \
    stmt;                                       \
  } while (0)
  BAD(b->next_update = b->this_update);
  BAD(b->next_update = b->this_update - 1);
  BAD(b->status = (enum vigil_cert_status)3);
  BAD(b->hash = (enum vigil_ocsp_hash)0);
  BAD(b->issuer_key_hash = NULL);
  BAD(b->reason = VIGIL_REASON_KEY_COMPROMISE); /* reason on good */
  BAD(b->status = VIGIL_CERT_STATUS_UNKNOWN;
      b->reason = VIGIL_REASON_UNSPECIFIED);
  BAD(b->status = VIGIL_CERT_STATUS_REVOKED;
      b->reason = VIGIL_REASON_CERTIFICATE_HOLD);
  BAD(b->status = VIGIL_CERT_STATUS_REVOKED;
      b->reason = VIGIL_REASON_REMOVE_FROM_CRL);
  BAD(b->status = VIGIL_CERT_STATUS_REVOKED; b->reason = (enum vigil_reason)7);
  BAD(b->status = VIGIL_CERT_STATUS_REVOKED; b->reason = (enum vigil_reason)11);
  BAD(b->status = VIGIL_CERT_STATUS_REVOKED;
      b->revocation_time = INT64_C(253402300800)); /* year 10000 */
  BAD(b->this_update = INT64_C(-700000000));       /* before 1950 */
  BAD(b->next_update = INT64_C(253402300800));
  BAD(b->serial_len = 0);
  BAD(b->serial = NULL);
  BAD(b->serial = kNonMinimal; b->serial_len = sizeof(kNonMinimal));
  BAD(b->serial = kLongSerial; b->serial_len = VIGIL_OCSP_MAX_SERIAL + 1);
  BAD(b->cert_id_der = kNotSeq; b->cert_id_der_len = sizeof(kNotSeq));
  BAD(b->cert_id_der = kTrailing; b->cert_id_der_len = sizeof(kTrailing));
  BAD(b->cert_id_der = kTrailing; b->cert_id_der_len = 0);
  BAD(b->cert_id_der = big_cert_id; b->cert_id_der_len = sizeof(big_cert_id));
#undef BAD

  CBB cbb;
  assert_true(CBB_init_fixed(&cbb, g_buf, sizeof(g_buf)));
  for (size_t i = 0; i < nbad; i++) {
    /* the refused single may sit after a good one */
    struct vigil_ocsp_single two[2] = { good, bad[i] };
    assert_false(
        vigil_ocsp_response_build(&cbb, &r, T_PRODUCED, &bad[i], 1, NULL, 0));
    assert_false(
        vigil_ocsp_response_build(&cbb, &r, T_PRODUCED, two, 2, NULL, 0));
    assert_int_equal(CBB_len(&cbb), 0);
  }
  /* responder, producedAt, counts and nonce */
  assert_false(vigil_ocsp_response_build(&cbb, &wrong_cert, T_PRODUCED, &good,
                                         1, NULL, 0));
  assert_false(
      vigil_ocsp_response_build(&cbb, &no_key, T_PRODUCED, &good, 1, NULL, 0));
  assert_false(vigil_ocsp_response_build(&cbb, &r, INT64_C(253402300800), &good,
                                         1, NULL, 0));
  assert_false(
      vigil_ocsp_response_build(&cbb, &r, T_PRODUCED, &good, 0, NULL, 0));
  assert_false(
      vigil_ocsp_response_build(&cbb, &r, T_PRODUCED, NULL, 1, NULL, 0));
  struct vigil_ocsp_single many[VIGIL_OCSP_MAX_SINGLES + 1];
  for (size_t i = 0; i < VIGIL_OCSP_MAX_SINGLES + 1; i++) {
    many[i] = good;
  }
  assert_false(vigil_ocsp_response_build(&cbb, &r, T_PRODUCED, many,
                                         VIGIL_OCSP_MAX_SINGLES + 1, NULL, 0));
  assert_false(
      vigil_ocsp_response_build(&cbb, &r, T_PRODUCED, &good, 1, nonce, 0));
  assert_false(vigil_ocsp_response_build(&cbb, &r, T_PRODUCED, &good, 1, nonce,
                                         VIGIL_OCSP_NONCE_MAX + 1));
  assert_false(
      vigil_ocsp_response_build(&cbb, &r, T_PRODUCED, &good, 1, NULL, 8));
  assert_int_equal(CBB_len(&cbb), 0);

  /* The edges of what is accepted. */
  struct vigil_ocsp_single edge = good;
  edge.status = VIGIL_CERT_STATUS_REVOKED;
  edge.reason = VIGIL_REASON_UNSPECIFIED;
  edge.next_update = edge.this_update + 1;
  assert_true(vigil_ocsp_response_build(&cbb, &r, T_PRODUCED, many,
                                        VIGIL_OCSP_MAX_SINGLES, nonce,
                                        VIGIL_OCSP_NONCE_MAX));
  assert_true(
      vigil_ocsp_response_build(&cbb, &r, T_PRODUCED, &edge, 1, nonce, 1));
  assert_true(CBB_len(&cbb) > 0);
  CBB_cleanup(&cbb);
}

/* vigil_ocsp_response_max_len bounds the worst case (16 revoked singles
 * with 128-byte CertIDs, 128-byte nonce, responder cert) for every key
 * type; a buffer too short for the output fails cleanly. */
static void test_max_len(void **state) {
  struct fixture *f = *state;
  uint8_t cert_id[VIGIL_OCSP_MAX_CERT_ID_DER];
  uint8_t nonce[VIGIL_OCSP_NONCE_MAX];
  memset(cert_id, 0x5a, sizeof(cert_id));
  memset(nonce, 0x33, sizeof(nonce));
  cert_id[0] = 0x30; /* SEQUENCE, short-form length 126 */
  cert_id[1] = VIGIL_OCSP_MAX_CERT_ID_DER - 2;
  for (size_t i = 0; i < NUM_TYPES; i++) {
    struct pki *p = &f->pki[i];
    struct vigil_ocsp_responder r = { p->resp_key, p->resp_cert };
    struct vigil_ocsp_single s[VIGIL_OCSP_MAX_SINGLES];
    for (size_t k = 0; k < VIGIL_OCSP_MAX_SINGLES; k++) {
      s[k] = good_single(p->ca, VIGIL_OCSP_HASH_SHA256);
      s[k].cert_id_der = cert_id;
      s[k].cert_id_der_len = sizeof(cert_id);
      s[k].status = VIGIL_CERT_STATUS_REVOKED;
      s[k].revocation_time = T_REVOKED;
      s[k].reason = VIGIL_REASON_AA_COMPROMISE;
    }
    /* build() asserts success inside a CBB of exactly max_len bytes. */
    size_t len = build(g_buf, sizeof(g_buf), &r, s, VIGIL_OCSP_MAX_SINGLES,
                       nonce, sizeof(nonce));
    struct parsed pr;
    parse_response(&pr, g_buf, len);
    assert_true(verify_with(&pr, p->resp_key));
    /* smallest case stays within its own bound too */
    struct vigil_ocsp_responder ca = { p->ca_key, NULL };
    struct vigil_ocsp_single one = good_single(p->ca, VIGIL_OCSP_HASH_SHA1);
    size_t small = build(g_buf, sizeof(g_buf), &ca, &one, 1, NULL, 0);
    assert_true(small <= vigil_ocsp_response_max_len(&ca, 1, 0));

    /* Too small a buffer fails cleanly (ASan watches for overruns). RSA
     * and Ed25519 signatures have a fixed length, so one byte short must
     * fail; an ECDSA signature may come out shorter, so for every type
     * a buffer that cannot hold even the shortest signature is tried. */
    size_t short_lens[2] = { small - vigil_key_max_sig_len(p->ca_key), 0 };
    if (p->type == VIGIL_KEY_RSA || p->type == VIGIL_KEY_ED25519) {
      short_lens[1] = small - 1;
    }
    for (size_t k = 0; k < 2 && short_lens[k] > 0; k++) {
      CBB cbb;
      assert_true(CBB_init_fixed(&cbb, g_buf, short_lens[k]));
      assert_false(
          vigil_ocsp_response_build(&cbb, &ca, T_PRODUCED, &one, 1, NULL, 0));
      CBB_cleanup(&cbb);
    }
  }
  struct vigil_ocsp_responder r = { f->pki[0].ca_key, NULL };
  assert_int_equal(vigil_ocsp_response_max_len(&r, 0, 0), 0);
  assert_int_equal(
      vigil_ocsp_response_max_len(&r, VIGIL_OCSP_MAX_SINGLES + 1, 0), 0);
  assert_int_equal(vigil_ocsp_response_max_len(&r, 1, VIGIL_OCSP_NONCE_MAX + 1),
                   0);
  assert_int_equal(vigil_ocsp_response_max_len(NULL, 1, 0), 0);
}

/* The hot path allocates nothing through vigil_malloc: with every
 * allocation set to fail, building still succeeds and no failure fired. */
static void test_no_allocation(void **state) {
  struct fixture *f = *state;
  uint8_t nonce[32] = { 1, 2, 3 };
  for (size_t i = 0; i < NUM_TYPES; i++) {
    struct pki *p = &f->pki[i];
    struct vigil_ocsp_responder r = { p->resp_key, p->resp_cert };
    struct vigil_ocsp_single s = good_single(p->ca, VIGIL_OCSP_HASH_SHA1);
    size_t max = vigil_ocsp_response_max_len(&r, 1, sizeof(nonce));
    CBB cbb;
    assert_true(CBB_init_fixed(&cbb, g_buf, max));
    vigil_alloc_fail_reset();
    vigil_alloc_fail_after(0, 1);
    int ok = vigil_ocsp_response_build(&cbb, &r, T_PRODUCED, &s, 1, nonce,
                                       sizeof(nonce));
    unsigned long failures = vigil_alloc_failures();
    vigil_alloc_fail_reset();
    assert_true(ok);
    assert_int_equal(failures, 0);
    CBB_cleanup(&cbb);
  }
}

/* Building into a growable CBB (the signer's batch path) works too and
 * appends behind what is already there. */
static void test_growable_cbb_appends(void **state) {
  struct fixture *f = *state;
  struct pki *p = &f->pki[2];
  struct vigil_ocsp_responder r = { p->resp_key, p->resp_cert };
  struct vigil_ocsp_single s = good_single(p->ca, VIGIL_OCSP_HASH_SHA1);
  CBB cbb;
  uint8_t *out = NULL;
  size_t out_len = 0;
  assert_true(CBB_init(&cbb, 1)); /* forces growth, i.e. realloc */
  assert_true(CBB_add_u8(&cbb, 0xee));
  assert_true(vigil_ocsp_response_build(&cbb, &r, T_PRODUCED, &s, 1, NULL, 0));
  assert_true(vigil_ocsp_response_build(&cbb, &r, T_PRODUCED, &s, 1, NULL, 0));
  assert_true(CBB_finish(&cbb, &out, &out_len));
  assert_int_equal(out[0], 0xee);
  CBS in, first, second;
  CBS_init(&in, out + 1, out_len - 1);
  assert_true(CBS_get_asn1_element(&in, &first, CBS_ASN1_SEQUENCE));
  assert_true(CBS_get_asn1_element(&in, &second, CBS_ASN1_SEQUENCE));
  assert_int_equal(CBS_len(&in), 0);
  struct parsed pr;
  parse_response(&pr, CBS_data(&first), CBS_len(&first));
  assert_true(verify_with(&pr, p->resp_key));
  parse_response(&pr, CBS_data(&second), CBS_len(&second));
  assert_true(verify_with(&pr, p->resp_key));
  OPENSSL_free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_error_responses),
    cmocka_unit_test(test_good_ca_signed),
    cmocka_unit_test(test_tamper_detected),
    cmocka_unit_test(test_revoked_delegated),
    cmocka_unit_test(test_revoked_no_reason_and_unknown),
    cmocka_unit_test(test_nonce),
    cmocka_unit_test(test_cert_id),
    cmocka_unit_test(test_generalized_time_after_2049),
    cmocka_unit_test(test_refusals),
    cmocka_unit_test(test_max_len),
    cmocka_unit_test(test_no_allocation),
    cmocka_unit_test(test_growable_cbb_appends),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
