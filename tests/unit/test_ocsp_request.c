/* test_ocsp_request.c: unit tests for vigil/ocsp_request.h.
 *
 * Two sources of input: real requests made by OpenSSL and GnuTLS
 * (tests/vectors/ocsp_req_*, see README-ocsp-requests.md), checked against
 * hashes this test computes from the issuer certificate and values those
 * tools printed; and requests built here with CBB, one knob turned per
 * test, for every reject reason. Every parse runs over an exact-size heap
 * copy so ASan sees any over-read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bytestring.h>
#include <openssl/mem.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "vigil/alloc.h"
#include "vigil/ocsp_request.h"

#define VEC(name) VIGIL_TEST_VECTORS "/" name
#define BUF_MAX   16384

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static size_t read_file(uint8_t *out, size_t cap, const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t n = fread(out, 1, cap, f);
  assert_true(n < cap);
  fclose(f);
  return n;
}

static size_t unhex(uint8_t *out, size_t cap, const char *hex) {
  size_t n = strlen(hex) / 2;
  assert_true(n <= cap);
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
    out[i] = (uint8_t)v;
  }
  return n;
}

static void assert_cbs_hex(const CBS *cbs, const char *hex) {
  uint8_t want[256];
  size_t n = unhex(want, sizeof(want), hex);
  assert_int_equal(CBS_len(cbs), n);
  assert_memory_equal(CBS_data(cbs), want, n);
}

static int cbs_inside(const CBS *cbs, const uint8_t *buf, size_t len) {
  const uint8_t *p = CBS_data(cbs);
  if (CBS_len(cbs) == 0) {
    return 1;
  }
  return p >= buf && CBS_len(cbs) <= len &&
         p - buf <= (ptrdiff_t)(len - CBS_len(cbs));
}

#define assert_result_equal(got, want)                   \
  assert_string_equal(vigil_ocsp_req_result_string(got), \
                      vigil_ocsp_req_result_string(want))

static void assert_same_cbs(const CBS *a, const CBS *b) {
  assert_ptr_equal(CBS_data(a), CBS_data(b));
  assert_int_equal(CBS_len(a), CBS_len(b));
}

/* parse_both parses |der| with vigil_ocsp_request_parse (fast path first)
 * and with vigil_ocsp_request_parse_general (the DER walk alone) and
 * asserts that both give the same result and the same views. */
static enum vigil_ocsp_req_result parse_both(struct vigil_ocsp_request *out,
                                             const uint8_t *der, size_t len) {
  struct vigil_ocsp_request general;
  enum vigil_ocsp_req_result r = vigil_ocsp_request_parse(out, der, len);
  assert_result_equal(vigil_ocsp_request_parse_general(&general, der, len), r);
  assert_int_equal(out->num_ids, general.num_ids);
  assert_int_equal(out->has_nonce, general.has_nonce);
  assert_int_equal(out->has_requestor_name, general.has_requestor_name);
  assert_int_equal(out->is_signed, general.is_signed);
  assert_same_cbs(&out->nonce, &general.nonce);
  assert_same_cbs(&out->tbs, &general.tbs);
  for (size_t i = 0; i < out->num_ids; i++) {
    assert_int_equal(out->ids[i].hash, general.ids[i].hash);
    assert_same_cbs(&out->ids[i].der, &general.ids[i].der);
    assert_same_cbs(&out->ids[i].name_hash, &general.ids[i].name_hash);
    assert_same_cbs(&out->ids[i].key_hash, &general.ids[i].key_hash);
    assert_same_cbs(&out->ids[i].serial, &general.ids[i].serial);
  }
  return r;
}

/* parse_copy parses |len| bytes of |der| from an exact-size heap copy
 * (both ways, parse_both) and returns the result; |out| is filled (its
 * views are dangling afterwards, so only scalar fields may be looked at). */
static enum vigil_ocsp_req_result parse_copy(struct vigil_ocsp_request *out,
                                             const uint8_t *der, size_t len) {
  uint8_t *copy = malloc(len == 0 ? 1 : len);
  assert_non_null(copy);
  if (len > 0) {
    memcpy(copy, der, len);
  }
  enum vigil_ocsp_req_result r = parse_both(out, copy, len);
  free(copy);
  return r;
}

static enum vigil_ocsp_req_result parse_r(const uint8_t *der, size_t len) {
  struct vigil_ocsp_request req;
  return parse_copy(&req, der, len);
}

#define assert_result(got, want)                         \
  assert_string_equal(vigil_ocsp_req_result_string(got), \
                      vigil_ocsp_req_result_string(want))

/* Issuer hashes computed from ocsp_req_ca.pem with BoringSSL (not with the
 * parser under test). */
struct issuer_hashes {
  uint8_t name1[SHA_DIGEST_LENGTH], key1[SHA_DIGEST_LENGTH];
  uint8_t name256[SHA256_DIGEST_LENGTH], key256[SHA256_DIGEST_LENGTH];
};

static void issuer_hashes(struct issuer_hashes *h) {
  FILE *f = fopen(VEC("ocsp_req_ca.pem"), "rb");
  assert_non_null(f);
  X509 *ca = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  assert_non_null(ca);
  uint8_t *name = NULL;
  int name_len = i2d_X509_NAME(X509_get_subject_name(ca), &name);
  assert_true(name_len > 0);
  const ASN1_BIT_STRING *key = X509_get0_pubkey_bitstr(ca);
  assert_non_null(key);
  SHA1(name, (size_t)name_len, h->name1);
  SHA256(name, (size_t)name_len, h->name256);
  SHA1(ASN1_STRING_get0_data(key), (size_t)ASN1_STRING_length(key), h->key1);
  SHA256(ASN1_STRING_get0_data(key), (size_t)ASN1_STRING_length(key),
         h->key256);
  OPENSSL_free(name);
  X509_free(ca);
}

/* ------------------------------------------------------------------------ */
/* Request builder                                                           */
/* ------------------------------------------------------------------------ */

enum { PARAMS_NULL, PARAMS_ABSENT, PARAMS_INT, PARAMS_NULL_WITH_CONTENT };

struct spec {
  int num_ids;
  int hash;          /* VIGIL_OCSP_HASH_*, or 0 for an unknown OID (MD5) */
  int params;        /* PARAMS_* */
  int name_hash_len; /* -1: the algorithm's length */
  int key_hash_len;
  const uint8_t *serial; /* INTEGER contents */
  size_t serial_len;
  const uint8_t *serial_raw; /* if set: the whole serial element, raw */
  size_t serial_raw_len;
  unsigned serial_tag;
  int certid_extra;           /* an extra INTEGER after the serial */
  int version;                /* -1 absent; else [0] INTEGER version */
  const uint8_t *version_raw; /* if set: [0] contents, raw */
  size_t version_raw_len;
  int requestor; /* 0 none, 1 dNSName, 2 UTF8String, 3 empty, 4 [9] */
  int nonce_len; /* -1: no nonce */
  int nonce_raw; /* nonce bytes directly in extnValue (old clients) */
  int nonce_critical;
  int dup_nonce;
  int unknown_ext;    /* -1 none, 0 non-critical, 1 critical */
  int explicit_false; /* unknown_ext 0 written with critical FALSE */
  int bad_bool;       /* unknown_ext's critical BOOLEAN is 0x01 */
  int bad_oid;        /* unknown_ext's OID has a non-minimal arc */
  int acceptable;     /* -1 none, else acceptable responses, critical? */
  int num_extra_exts; /* distinct unknown non-critical request extensions */
  int empty_exts;     /* requestExtensions present and empty */
  long pad_len;       /* -1 none, else unknown extension of that many octets */
  int single_ext;     /* -1 none, else unknown single ext, critical? */
  int single_nonce;   /* -1 none, else nonce OID in single ext, critical? */
  int signature;      /* 0 none, 1 well-formed, 2 malformed, 3 trailing data */
  int list_empty;     /* requestList present but empty */
};

static const uint8_t kDefaultSerial[] = { 0x0a, 0x1b, 0x2c, 0x3d };

static struct spec spec_default(void) {
  struct spec s;
  memset(&s, 0, sizeof(s));
  s.num_ids = 1;
  s.hash = VIGIL_OCSP_HASH_SHA1;
  s.params = PARAMS_NULL;
  s.name_hash_len = -1;
  s.key_hash_len = -1;
  s.serial = kDefaultSerial;
  s.serial_len = sizeof(kDefaultSerial);
  s.serial_tag = CBS_ASN1_INTEGER;
  s.version = -1;
  s.nonce_len = -1;
  s.unknown_ext = -1;
  s.acceptable = -1;
  s.pad_len = -1;
  s.single_ext = -1;
  s.single_nonce = -1;
  return s;
}

#define CTX(n)         (CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | (n))
#define OID_NONCE      "1.3.6.1.5.5.7.48.1.2"
#define OID_ACCEPTABLE "1.3.6.1.5.5.7.48.1.4"

static void add_oid(CBB *cbb, const char *text) {
  CBB oid;
  assert_true(CBB_add_asn1(cbb, &oid, CBS_ASN1_OBJECT));
  assert_true(CBB_add_asn1_oid_from_text(&oid, text, strlen(text)));
  assert_true(CBB_flush(cbb));
}

/* add_ext adds one Extension. |critical|: -1 omitted, 0 FALSE, 1 TRUE,
 * 2 a BOOLEAN of 0x01 (not DER). */
static void add_ext(CBB *exts, const char *oid, int critical,
                    const uint8_t *value, size_t value_len) {
  CBB ext;
  assert_true(CBB_add_asn1(exts, &ext, CBS_ASN1_SEQUENCE));
  add_oid(&ext, oid);
  if (critical >= 0) {
    CBB b;
    assert_true(CBB_add_asn1(&ext, &b, CBS_ASN1_BOOLEAN));
    assert_true(CBB_add_u8(&b, critical == 0   ? 0x00
                               : critical == 1 ? 0xff
                                               : 0x01));
  }
  assert_true(CBB_add_asn1_octet_string(&ext, value, value_len));
  assert_true(CBB_flush(exts));
}

static void add_nonce(CBB *exts, const struct spec *s) {
  uint8_t nonce[512];
  uint8_t value[600];
  CBB v;
  assert_true(s->nonce_len >= 0 && (size_t)s->nonce_len <= sizeof(nonce));
  for (int i = 0; i < s->nonce_len; i++) {
    nonce[i] = (uint8_t)(0xa0 + i);
  }
  size_t value_len;
  if (s->nonce_raw) {
    memcpy(value, nonce, (size_t)s->nonce_len);
    value_len = (size_t)s->nonce_len;
  } else {
    uint8_t *p;
    assert_true(CBB_init_fixed(&v, value, sizeof(value)));
    assert_true(CBB_add_asn1_octet_string(&v, nonce, (size_t)s->nonce_len));
    assert_true(CBB_finish(&v, &p, &value_len));
  }
  add_ext(exts, OID_NONCE, s->nonce_critical ? 1 : -1, value, value_len);
}

static void add_cert_id(CBB *req, const struct spec *s, int index) {
  static const uint8_t kHash[64] = { 0x11, 0x22, 0x33 };
  CBB cert_id, alg;
  size_t len = s->hash == VIGIL_OCSP_HASH_SHA256 ? 32 : 20;
  size_t name_len = s->name_hash_len < 0 ? len : (size_t)s->name_hash_len;
  size_t key_len = s->key_hash_len < 0 ? len : (size_t)s->key_hash_len;
  assert_true(CBB_add_asn1(req, &cert_id, CBS_ASN1_SEQUENCE));
  assert_true(CBB_add_asn1(&cert_id, &alg, CBS_ASN1_SEQUENCE));
  add_oid(&alg, s->hash == VIGIL_OCSP_HASH_SHA1     ? "1.3.14.3.2.26"
                : s->hash == VIGIL_OCSP_HASH_SHA256 ? "2.16.840.1.101.3.4.2.1"
                                                    : "1.2.840.113549.2.5");
  if (s->params == PARAMS_NULL) {
    assert_true(CBB_add_u8(&alg, 0x05) && CBB_add_u8(&alg, 0x00));
  } else if (s->params == PARAMS_INT) {
    assert_true(CBB_add_asn1_uint64(&alg, 0));
  } else if (s->params == PARAMS_NULL_WITH_CONTENT) {
    assert_true(CBB_add_u8(&alg, 0x05) && CBB_add_u8(&alg, 0x01) &&
                CBB_add_u8(&alg, 0x00));
  }
  assert_true(CBB_add_asn1_octet_string(&cert_id, kHash, name_len));
  assert_true(CBB_add_asn1_octet_string(&cert_id, kHash, key_len));
  if (s->serial_raw != NULL) {
    assert_true(CBB_add_bytes(&cert_id, s->serial_raw, s->serial_raw_len));
  } else if (s->serial_len > 0 && index > 0) {
    /* Distinct serials per entry: vary the last octet. */
    CBB serial;
    assert_true(CBB_add_asn1(&cert_id, &serial, s->serial_tag));
    assert_true(CBB_add_bytes(&serial, s->serial, s->serial_len - 1));
    assert_true(
        CBB_add_u8(&serial, (uint8_t)(s->serial[s->serial_len - 1] + index)));
  } else {
    CBB serial;
    assert_true(CBB_add_asn1(&cert_id, &serial, s->serial_tag));
    assert_true(CBB_add_bytes(&serial, s->serial, s->serial_len));
  }
  if (s->certid_extra) {
    assert_true(CBB_add_asn1_uint64(&cert_id, 7));
  }
  assert_true(CBB_flush(req));
}

static void add_signature(CBB *ocsp, int kind) {
  static const uint8_t kSig[] = { 0x00, 0x30, 0x03, 0x02, 0x01, 0x01 };
  CBB wrap, sig, alg, bits, certs_wrap, certs, cert;
  assert_true(CBB_add_asn1(ocsp, &wrap, CTX(0)));
  assert_true(CBB_add_asn1(&wrap, &sig, CBS_ASN1_SEQUENCE));
  assert_true(CBB_add_asn1(&sig, &alg, CBS_ASN1_SEQUENCE));
  add_oid(&alg, "1.2.840.10045.4.3.2"); /* ecdsa-with-SHA256 */
  if (kind == 1 || kind == 3) {
    assert_true(CBB_add_asn1(&sig, &bits, CBS_ASN1_BITSTRING));
    assert_true(CBB_add_bytes(&bits, kSig, sizeof(kSig)));
    assert_true(CBB_add_asn1(&sig, &certs_wrap, CTX(0)));
    assert_true(CBB_add_asn1(&certs_wrap, &certs, CBS_ASN1_SEQUENCE));
    assert_true(CBB_add_asn1(&certs, &cert, CBS_ASN1_SEQUENCE));
    assert_true(CBB_add_asn1_uint64(&cert, 1));
  }
  if (kind == 3) {
    /* Something after the Signature inside [0]. */
    assert_true(CBB_flush(&wrap));
    assert_true(CBB_add_u8(&wrap, 0x05) && CBB_add_u8(&wrap, 0x00));
  }
  assert_true(CBB_flush(ocsp));
}

/* build writes the request |s| describes into |buf| and returns its length. */
static size_t build(uint8_t *buf, size_t cap, const struct spec *s) {
  CBB cbb, ocsp, tbs, list, req, w, exts;
  uint8_t *out;
  size_t out_len;
  assert_true(CBB_init_fixed(&cbb, buf, cap));
  assert_true(CBB_add_asn1(&cbb, &ocsp, CBS_ASN1_SEQUENCE));
  assert_true(CBB_add_asn1(&ocsp, &tbs, CBS_ASN1_SEQUENCE));
  if (s->version_raw != NULL) {
    assert_true(CBB_add_asn1(&tbs, &w, CTX(0)));
    assert_true(CBB_add_bytes(&w, s->version_raw, s->version_raw_len));
  } else if (s->version >= 0) {
    assert_true(CBB_add_asn1(&tbs, &w, CTX(0)));
    assert_true(CBB_add_asn1_uint64(&w, (uint64_t)s->version));
  }
  if (s->requestor != 0) {
    CBB name;
    assert_true(CBB_add_asn1(&tbs, &w, CTX(1)));
    if (s->requestor == 1) {
      assert_true(CBB_add_asn1(&w, &name, CBS_ASN1_CONTEXT_SPECIFIC | 2));
      assert_true(CBB_add_bytes(&name, (const uint8_t *)"client.example", 14));
    } else if (s->requestor == 4) {
      /* [9]: beyond the GeneralName CHOICE ([0]..[8]) */
      assert_true(CBB_add_asn1(&w, &name, CBS_ASN1_CONTEXT_SPECIFIC | 9));
      assert_true(CBB_add_u8(&name, 0x01));
    } else if (s->requestor == 2) {
      assert_true(CBB_add_asn1(&w, &name, CBS_ASN1_UTF8STRING));
      assert_true(CBB_add_bytes(&name, (const uint8_t *)"client", 6));
    }
  }
  assert_true(CBB_flush(&tbs));
  assert_true(CBB_add_asn1(&tbs, &list, CBS_ASN1_SEQUENCE));
  for (int i = 0; i < (s->list_empty ? 0 : s->num_ids); i++) {
    assert_true(CBB_add_asn1(&list, &req, CBS_ASN1_SEQUENCE));
    add_cert_id(&req, s, i);
    if (s->single_ext >= 0 || s->single_nonce >= 0) {
      static const uint8_t kVal[] = { 0x05, 0x00 };
      CBB sw, sexts;
      assert_true(CBB_add_asn1(&req, &sw, CTX(0)));
      assert_true(CBB_add_asn1(&sw, &sexts, CBS_ASN1_SEQUENCE));
      if (s->single_ext >= 0) {
        add_ext(&sexts, "1.3.6.1.4.1.55555.7", s->single_ext ? 1 : -1, kVal,
                sizeof(kVal));
      }
      if (s->single_nonce >= 0) {
        add_ext(&sexts, OID_NONCE, s->single_nonce ? 1 : -1, kVal,
                sizeof(kVal));
      }
    }
    assert_true(CBB_flush(&list));
  }
  assert_true(CBB_flush(&tbs));
  int any_ext = s->nonce_len >= 0 || s->unknown_ext >= 0 ||
                s->acceptable >= 0 || s->num_extra_exts > 0 || s->empty_exts ||
                s->pad_len >= 0;
  if (any_ext) {
    assert_true(CBB_add_asn1(&tbs, &w, CTX(2)));
    assert_true(CBB_add_asn1(&w, &exts, CBS_ASN1_SEQUENCE));
    if (s->nonce_len >= 0) {
      add_nonce(&exts, s);
      if (s->dup_nonce) {
        add_nonce(&exts, s);
      }
    }
    if (s->acceptable >= 0) {
      /* SEQUENCE { id-pkix-ocsp-basic } */
      static const uint8_t kAcc[] = { 0x30, 0x0b, 0x06, 0x09, 0x2b, 0x06, 0x01,
                                      0x05, 0x05, 0x07, 0x30, 0x01, 0x01 };
      add_ext(&exts, OID_ACCEPTABLE, s->acceptable ? 1 : -1, kAcc,
              sizeof(kAcc));
    }
    if (s->unknown_ext >= 0) {
      static const uint8_t kVal[] = { 0x05, 0x00 };
      int crit = s->bad_bool         ? 2
                 : s->unknown_ext    ? 1
                 : s->explicit_false ? 0
                                     : -1;
      if (s->bad_oid) {
        /* 1.3.6.1.4.1 with the last arc written as 80 01 (non-minimal). */
        static const uint8_t kBad[] = { 0x30, 0x0b, 0x06, 0x05, 0x2b,
                                        0x06, 0x01, 0x80, 0x01, 0x04,
                                        0x02, 0x05, 0x00 };
        assert_true(CBB_add_bytes(&exts, kBad, sizeof(kBad)));
      } else {
        add_ext(&exts, "1.3.6.1.4.1.55555.1", crit, kVal, sizeof(kVal));
      }
    }
    for (int i = 0; i < s->num_extra_exts; i++) {
      char oid[64];
      static const uint8_t kVal[] = { 0x05, 0x00 };
      snprintf(oid, sizeof(oid), "1.3.6.1.4.1.55555.100.%d", i);
      add_ext(&exts, oid, -1, kVal, sizeof(kVal));
    }
    if (s->pad_len >= 0) {
      static uint8_t pad[BUF_MAX];
      assert_true((size_t)s->pad_len <= sizeof(pad));
      add_ext(&exts, "1.3.6.1.4.1.55555.2", -1, pad, (size_t)s->pad_len);
    }
  }
  if (s->signature != 0) {
    assert_true(CBB_flush(&ocsp));
    add_signature(&ocsp, s->signature);
  }
  assert_true(CBB_finish(&cbb, &out, &out_len));
  assert_ptr_equal(out, buf);
  return out_len;
}

static enum vigil_ocsp_req_result parse_spec(const struct spec *s) {
  uint8_t buf[BUF_MAX];
  size_t len = build(buf, sizeof(buf), s);
  return parse_r(buf, len);
}

/* ------------------------------------------------------------------------ */
/* Real requests from OpenSSL and GnuTLS                                     */
/* ------------------------------------------------------------------------ */

struct vector {
  const char *file;
  int sha256;
  size_t num_ids;
  const char *nonce; /* hex, as `openssl ocsp -req_text` printed it */
  int is_signed;
};

static const struct vector kVectors[] = {
  { VEC("ocsp_req_openssl_sha1.der"), 0, 1, NULL, 0 },
  { VEC("ocsp_req_openssl_sha1_nonce.der"), 0, 1,
    "E234B620A7AC47AA2B4A3B4D503ED3A3", 0 },
  { VEC("ocsp_req_openssl_sha256.der"), 1, 1, NULL, 0 },
  { VEC("ocsp_req_openssl_sha256_nonce.der"), 1, 1,
    "B85CE25B6FF5816E8B7D485981930A62", 0 },
  { VEC("ocsp_req_openssl_multi.der"), 0, 5, NULL, 0 },
  { VEC("ocsp_req_openssl_signed.der"), 0, 1,
    "67E1CC5208178DC8ED32F48181B661C7", 1 },
  { VEC("ocsp_req_gnutls.der"), 0, 1, NULL, 0 },
  { VEC("ocsp_req_gnutls_nonce.der"), 0, 1,
    "0E5AA97B3EAD194C7393B18723CFD3E1A189B861AF16E8", 0 },
};

static void test_vectors(void **state) {
  (void)state;
  struct issuer_hashes h;
  issuer_hashes(&h);
  for (size_t v = 0; v < sizeof(kVectors) / sizeof(kVectors[0]); v++) {
    const struct vector *vec = &kVectors[v];
    uint8_t file[BUF_MAX];
    size_t len = read_file(file, sizeof(file), vec->file);
    uint8_t *der = malloc(len);
    assert_non_null(der);
    memcpy(der, file, len);
    struct vigil_ocsp_request req;
    enum vigil_ocsp_req_result r = vigil_ocsp_request_parse(&req, der, len);
    if (r != VIGIL_OCSP_REQ_OK) {
      print_error("%s: %s\n", vec->file, vigil_ocsp_req_result_string(r));
    }
    assert_result(r, VIGIL_OCSP_REQ_OK);
    assert_int_equal(req.num_ids, vec->num_ids);
    for (size_t i = 0; i < req.num_ids; i++) {
      const struct vigil_ocsp_cert_id *id = &req.ids[i];
      size_t hl = vec->sha256 ? SHA256_DIGEST_LENGTH : SHA_DIGEST_LENGTH;
      assert_int_equal(id->hash, vec->sha256 ? VIGIL_OCSP_HASH_SHA256
                                             : VIGIL_OCSP_HASH_SHA1);
      assert_int_equal(CBS_len(&id->name_hash), hl);
      assert_int_equal(CBS_len(&id->key_hash), hl);
      assert_memory_equal(CBS_data(&id->name_hash),
                          vec->sha256 ? h.name256 : h.name1, hl);
      assert_memory_equal(CBS_data(&id->key_hash),
                          vec->sha256 ? h.key256 : h.key1, hl);
      /* The CertID view is the whole element, containing the others. */
      assert_int_equal(CBS_data(&id->der)[0], 0x30);
      assert_true(cbs_inside(&id->der, der, len));
      assert_true(
          cbs_inside(&id->serial, CBS_data(&id->der), CBS_len(&id->der)));
    }
    /* Serials the certificate / -serial options carried. */
    assert_cbs_hex(&req.ids[0].serial, "0A1B2C3D4E5F6071");
    if (req.num_ids == 5) {
      assert_cbs_hex(&req.ids[1].serial, "01");
      assert_cbs_hex(&req.ids[2].serial, "7F");
      assert_cbs_hex(&req.ids[3].serial, "0080");
      assert_cbs_hex(&req.ids[4].serial,
                     "00FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
    }
    assert_int_equal(req.has_nonce, vec->nonce != NULL);
    if (vec->nonce != NULL) {
      assert_cbs_hex(&req.nonce, vec->nonce);
      assert_true(cbs_inside(&req.nonce, der, len));
    } else {
      assert_int_equal(CBS_len(&req.nonce), 0);
    }
    assert_int_equal(req.is_signed, vec->is_signed);
    /* OpenSSL names the signer in requestorName when it signs. */
    assert_int_equal(req.has_requestor_name, vec->is_signed);
    /* tbs is the first element inside the outer SEQUENCE. */
    assert_true(cbs_inside(&req.tbs, der, len));
    assert_int_equal(CBS_data(&req.tbs)[0], 0x30);
    assert_true(CBS_len(&req.tbs) < len);
    free(der);
  }
}

/* Every proper prefix of every real request is TRUNCATED, and the output
 * is left all zero. */
static void test_truncated_every_offset(void **state) {
  (void)state;
  for (size_t v = 0; v < sizeof(kVectors) / sizeof(kVectors[0]); v++) {
    uint8_t file[BUF_MAX];
    size_t len = read_file(file, sizeof(file), kVectors[v].file);
    for (size_t cut = 0; cut < len; cut++) {
      struct vigil_ocsp_request req;
      memset(&req, 0xa5, sizeof(req));
      enum vigil_ocsp_req_result r = parse_copy(&req, file, cut);
      assert_result(r, VIGIL_OCSP_REQ_TRUNCATED);
      assert_int_equal(req.num_ids, 0);
      assert_int_equal(req.has_nonce, 0);
      assert_int_equal(req.is_signed, 0);
      assert_int_equal(CBS_len(&req.nonce), 0);
      assert_int_equal(CBS_len(&req.tbs), 0);
      assert_int_equal(req.has_requestor_name, 0);
    }
  }
  assert_result(
      vigil_ocsp_request_parse(&(struct vigil_ocsp_request){ 0 }, NULL, 0),
      VIGIL_OCSP_REQ_TRUNCATED);
}

static void test_trailing_data(void **state) {
  (void)state;
  uint8_t buf[BUF_MAX];
  size_t len = read_file(buf, sizeof(buf), VEC("ocsp_req_openssl_sha1.der"));
  buf[len] = 0x00;
  assert_result(parse_r(buf, len + 1), VIGIL_OCSP_REQ_TRAILING_DATA);
  /* A second complete request after the first. */
  memcpy(buf + len, buf, len);
  assert_result(parse_r(buf, 2 * len), VIGIL_OCSP_REQ_TRAILING_DATA);

  /* Inside structures: an extra field after the serial. */
  struct spec s = spec_default();
  s.certid_extra = 1;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_TRAILING_DATA);
  /* An unknown [3] after requestExtensions / [1] after the signature slot:
   * append to the real request by rewrapping its contents. */
  uint8_t out[BUF_MAX];
  CBS in, seq, tbs;
  CBS_init(&in, buf, len);
  assert_true(CBS_get_asn1(&in, &seq, CBS_ASN1_SEQUENCE));
  CBB cbb, o, t;
  uint8_t *p;
  size_t n;
  assert_true(CBB_init_fixed(&cbb, out, sizeof(out)));
  assert_true(CBB_add_asn1(&cbb, &o, CBS_ASN1_SEQUENCE));
  assert_true(CBB_add_bytes(&o, CBS_data(&seq), CBS_len(&seq)));
  assert_true(CBB_add_u8(&o, 0xa1) && CBB_add_u8(&o, 0x00));
  assert_true(CBB_finish(&cbb, &p, &n));
  assert_result(parse_r(out, n), VIGIL_OCSP_REQ_TRAILING_DATA);
  assert_true(CBS_get_asn1(&seq, &tbs, CBS_ASN1_SEQUENCE));
  assert_true(CBB_init_fixed(&cbb, out, sizeof(out)));
  assert_true(CBB_add_asn1(&cbb, &o, CBS_ASN1_SEQUENCE));
  assert_true(CBB_add_asn1(&o, &t, CBS_ASN1_SEQUENCE));
  assert_true(CBB_add_bytes(&t, CBS_data(&tbs), CBS_len(&tbs)));
  assert_true(CBB_add_u8(&t, 0xa3) && CBB_add_u8(&t, 0x00));
  assert_true(CBB_finish(&cbb, &p, &n));
  assert_result(parse_r(out, n), VIGIL_OCSP_REQ_TRAILING_DATA);
}

/* Rewraps the contents of the real SHA-1 request under |header|. */
static size_t rewrap(uint8_t *out, const uint8_t *header, size_t header_len,
                     const uint8_t *tail, size_t tail_len) {
  uint8_t file[BUF_MAX];
  size_t len = read_file(file, sizeof(file), VEC("ocsp_req_openssl_sha1.der"));
  assert_int_equal(file[1], len - 2); /* short-form header 30 LL */
  memcpy(out, header, header_len);
  memcpy(out + header_len, file + 2, len - 2);
  if (tail_len > 0) {
    memcpy(out + header_len + len - 2, tail, tail_len);
  }
  return header_len + len - 2 + tail_len;
}

static void test_lengths(void **state) {
  (void)state;
  uint8_t buf[BUF_MAX];
  size_t ll = read_file(buf, sizeof(buf), VEC("ocsp_req_openssl_sha1.der")) - 2;
  const uint8_t zz[2] = { 0, 0 };
  struct {
    uint8_t header[12];
    size_t header_len;
    const uint8_t *tail;
    size_t tail_len;
    enum vigil_ocsp_req_result want;
  } cases[] = {
    { { 0x30, (uint8_t)ll }, 2, NULL, 0, VIGIL_OCSP_REQ_OK },
    /* huge lengths */
    { { 0x30, 0x84, 0xff, 0xff, 0xff, 0xff },
      6,
      NULL,
      0,
      VIGIL_OCSP_REQ_TRUNCATED },
    { { 0x30, 0x84, 0x7f, 0xff, 0xff, 0xff },
      6,
      NULL,
      0,
      VIGIL_OCSP_REQ_TRUNCATED },
    { { 0x30, 0x88, 0x01, 0, 0, 0, 0, 0, 0, (uint8_t)ll },
      10,
      NULL,
      0,
      VIGIL_OCSP_REQ_TRUNCATED },
    { { 0x30, 0xfe }, 2, NULL, 0, VIGIL_OCSP_REQ_TRUNCATED },
    { { 0x30, (uint8_t)(ll + 1) }, 2, NULL, 0, VIGIL_OCSP_REQ_TRUNCATED },
    /* BER, not DER */
    { { 0x30, 0x80 }, 2, zz, 2, VIGIL_OCSP_REQ_BAD_LENGTH },
    { { 0x30, 0x81, (uint8_t)ll }, 3, NULL, 0, VIGIL_OCSP_REQ_BAD_LENGTH },
    { { 0x30, 0x82, 0x00, (uint8_t)ll },
      4,
      NULL,
      0,
      VIGIL_OCSP_REQ_BAD_LENGTH },
    { { 0x30, 0x88, 0, 0, 0, 0, 0, 0, 0, (uint8_t)ll },
      10,
      NULL,
      0,
      VIGIL_OCSP_REQ_BAD_LENGTH },
    /* wrong outer tags */
    { { 0x31, (uint8_t)ll }, 2, NULL, 0, VIGIL_OCSP_REQ_BAD_TAG },
    { { 0x10, (uint8_t)ll }, 2, NULL, 0, VIGIL_OCSP_REQ_BAD_TAG },
    { { 0xa0, (uint8_t)ll }, 2, NULL, 0, VIGIL_OCSP_REQ_BAD_TAG },
    { { 0x3f, 0x30, (uint8_t)ll }, 3, NULL, 0, VIGIL_OCSP_REQ_BAD_TAG },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint8_t out[BUF_MAX];
    size_t n = rewrap(out, cases[i].header, cases[i].header_len, cases[i].tail,
                      cases[i].tail_len);
    enum vigil_ocsp_req_result r = parse_r(out, n);
    if (r != cases[i].want) {
      print_error("case %zu: got %s\n", i, vigil_ocsp_req_result_string(r));
    }
    assert_result(r, cases[i].want);
  }

  /* Huge and non-minimal lengths inside: on the serial. */
  static const uint8_t kHuge[] = { 0x02, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x01 };
  static const uint8_t kLong[] = { 0x02, 0x81, 0x01, 0x01 };
  static const uint8_t kIndef[] = { 0x02, 0x80, 0x01, 0x00, 0x00 };
  struct spec s = spec_default();
  s.serial_raw = kHuge;
  s.serial_raw_len = sizeof(kHuge);
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_TRUNCATED);
  s.serial_raw = kLong;
  s.serial_raw_len = sizeof(kLong);
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_LENGTH);
  s.serial_raw = kIndef;
  s.serial_raw_len = sizeof(kIndef);
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_LENGTH);
}

static void test_too_large(void **state) {
  (void)state;
  static uint8_t buf[BUF_MAX];
  struct spec s = spec_default();
  s.pad_len = 0;
  size_t base = build(buf, sizeof(buf), &s);
  /* Grow the padding extension until the request is exactly the cap. Each
   * length-form change adds octets, so search rather than compute. */
  long pad = (long)(VIGIL_OCSP_REQUEST_MAX_DER - base) - 16;
  size_t len = 0;
  for (;;) {
    s.pad_len = pad;
    len = build(buf, sizeof(buf), &s);
    if (len >= VIGIL_OCSP_REQUEST_MAX_DER) {
      break;
    }
    pad++;
  }
  assert_int_equal(len, VIGIL_OCSP_REQUEST_MAX_DER);
  assert_result(parse_r(buf, len), VIGIL_OCSP_REQ_OK);
  s.pad_len = pad + 1;
  len = build(buf, sizeof(buf), &s);
  assert_int_equal(len, VIGIL_OCSP_REQUEST_MAX_DER + 1);
  assert_result(parse_r(buf, len), VIGIL_OCSP_REQ_TOO_LARGE);
  /* Checked before anything else: even garbage is TOO_LARGE. */
  memset(buf, 0xff, sizeof(buf));
  assert_result(parse_r(buf, sizeof(buf)), VIGIL_OCSP_REQ_TOO_LARGE);
}

/* ------------------------------------------------------------------------ */
/* One knob per case                                                         */
/* ------------------------------------------------------------------------ */

static void test_builder_baseline(void **state) {
  (void)state;
  uint8_t buf[BUF_MAX];
  struct spec s = spec_default();
  size_t len = build(buf, sizeof(buf), &s);
  struct vigil_ocsp_request req;
  assert_result(parse_both(&req, buf, len), VIGIL_OCSP_REQ_OK);
  assert_int_equal(req.num_ids, 1);
  assert_int_equal(req.ids[0].hash, VIGIL_OCSP_HASH_SHA1);
  assert_cbs_hex(&req.ids[0].serial, "0A1B2C3D");
  assert_int_equal(req.has_nonce, 0);
  assert_int_equal(req.has_requestor_name, 0);
  assert_int_equal(req.is_signed, 0);
}

/* The fast path of vigil_ocsp_request_parse (one CertID, nothing
 * optional) and the general DER walk agree on the plain requests of every
 * hash algorithm, parameter form and serial length, and on every one-bit
 * change of them: the same result (so the same error code) and the same
 * views. */
static void test_fast_path_agrees(void **state) {
  (void)state;
  static const enum vigil_ocsp_hash kHashes[] = { VIGIL_OCSP_HASH_SHA1,
                                                  VIGIL_OCSP_HASH_SHA256 };
  static const int kParams[] = { PARAMS_NULL, PARAMS_ABSENT };
  uint8_t serial[VIGIL_OCSP_MAX_SERIAL + 1];
  uint8_t buf[BUF_MAX];
  size_t ok = 0, checked = 0;
  for (size_t h = 0; h < 2; h++) {
    for (size_t p = 0; p < 2; p++) {
      for (size_t sl = 1; sl <= VIGIL_OCSP_MAX_SERIAL + 1; sl++) {
        for (int lead = 0; lead < 4; lead++) {
          /* Leading octets that DER INTEGER minimality cares about. */
          static const uint8_t kLead[4][2] = {
            { 0x00, 0x80 }, { 0x00, 0x7f }, { 0xff, 0x80 }, { 0x5a, 0x01 }
          };
          memset(serial, 0xa7, sizeof(serial));
          serial[0] = kLead[lead][0];
          if (sl > 1) {
            serial[1] = kLead[lead][1];
          }
          struct spec s = spec_default();
          s.hash = kHashes[h];
          s.params = kParams[p];
          s.serial = serial;
          s.serial_len = sl;
          size_t len = build(buf, sizeof(buf), &s);
          struct vigil_ocsp_request req;
          if (parse_both(&req, buf, len) == VIGIL_OCSP_REQ_OK) {
            ok++;
            /* Every valid request of this shape takes the fast path. */
            assert_true(vigil_ocsp_request_is_plain(buf, len));
          } else {
            assert_false(vigil_ocsp_request_is_plain(buf, len));
          }
          for (size_t i = 0; i < len; i++) {
            for (int bit = 0; bit < 8; bit++) {
              buf[i] ^= (uint8_t)(1u << bit);
              (void)parse_both(&req, buf, len);
              buf[i] ^= (uint8_t)(1u << bit);
              checked++;
            }
          }
          /* And every truncation. */
          for (size_t n = 0; n < len; n++) {
            (void)parse_both(&req, buf, n);
          }
        }
      }
    }
  }
  /* Anything optional present: the general walk only. */
  struct spec s = spec_default();
  s.nonce_len = 16;
  size_t len = build(buf, sizeof(buf), &s);
  struct vigil_ocsp_request req;
  assert_result(parse_both(&req, buf, len), VIGIL_OCSP_REQ_OK);
  assert_false(vigil_ocsp_request_is_plain(buf, len));
  s = spec_default();
  s.num_ids = 2;
  len = build(buf, sizeof(buf), &s);
  assert_result(parse_both(&req, buf, len), VIGIL_OCSP_REQ_OK);
  assert_false(vigil_ocsp_request_is_plain(buf, len));
  /* Serials of 1..21 octets parse, 22 do not; of the four leads, 00 7f
   * and ff 80 are not minimal when there is a second octet. */
  assert_int_equal(ok, 2 * 2 * (4 + 2 * (VIGIL_OCSP_MAX_SERIAL - 1)));
  assert_true(checked > 100000);
}

static void test_request_count(void **state) {
  (void)state;
  uint8_t buf[BUF_MAX];
  struct spec s = spec_default();
  s.list_empty = 1;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_NO_REQUESTS);
  s = spec_default();
  s.num_ids = VIGIL_OCSP_MAX_REQUESTS;
  size_t len = build(buf, sizeof(buf), &s);
  struct vigil_ocsp_request req;
  assert_result(parse_both(&req, buf, len), VIGIL_OCSP_REQ_OK);
  assert_int_equal(req.num_ids, VIGIL_OCSP_MAX_REQUESTS);
  for (size_t i = 0; i < req.num_ids; i++) {
    /* In order: the builder varies the last serial octet by index. */
    assert_int_equal(CBS_data(&req.ids[i].serial)[3], 0x3d + i);
  }
  s.num_ids = VIGIL_OCSP_MAX_REQUESTS + 1;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_TOO_MANY_REQUESTS);
  s.num_ids = 100; /* ~6.5 KB: under the size cap */
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_TOO_MANY_REQUESTS);
}

static void test_hash_algorithms(void **state) {
  (void)state;
  struct spec s = spec_default();
  s.hash = VIGIL_OCSP_HASH_SHA256;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_OK);
  s.params = PARAMS_ABSENT;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_OK);
  s.params = PARAMS_INT;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_HASH_PARAMS);
  s.params = PARAMS_NULL_WITH_CONTENT;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_HASH_PARAMS);
  s = spec_default();
  s.hash = 0; /* MD5 */
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_UNKNOWN_HASH_ALG);

  /* Hash lengths must match the algorithm. */
  s = spec_default();
  s.name_hash_len = 32;
  s.key_hash_len = 32;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_HASH_LEN);
  s = spec_default();
  s.key_hash_len = 19;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_HASH_LEN);
  s = spec_default();
  s.hash = VIGIL_OCSP_HASH_SHA256;
  s.name_hash_len = 20;
  s.key_hash_len = 20;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_HASH_LEN);
  s.name_hash_len = 32;
  s.key_hash_len = 0;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_HASH_LEN);
}

static void test_serials(void **state) {
  (void)state;
  static const uint8_t kZero[] = { 0x00 };
  static const uint8_t kNegative[] = { 0xff };
  static const uint8_t kNonMinimal[] = { 0x00, 0x01 };
  static uint8_t k21[21], k21b[21], k22[22];
  k21[0] = 0x00;
  memset(k21 + 1, 0xff, 20);
  memset(k21b, 0x7f, sizeof(k21b));
  memset(k22, 0x7f, sizeof(k22));
  struct {
    const uint8_t *serial;
    size_t len;
    enum vigil_ocsp_req_result want;
  } cases[] = {
    { kZero, 0, VIGIL_OCSP_REQ_BAD_SERIAL },
    { k22, sizeof(k22), VIGIL_OCSP_REQ_BAD_SERIAL },
    { kNonMinimal, sizeof(kNonMinimal), VIGIL_OCSP_REQ_BAD_SERIAL },
    { k21, sizeof(k21), VIGIL_OCSP_REQ_OK },
    { k21b, sizeof(k21b), VIGIL_OCSP_REQ_OK },
    /* Structurally valid though no CA of ours issues them (see header). */
    { kZero, sizeof(kZero), VIGIL_OCSP_REQ_OK },
    { kNegative, sizeof(kNegative), VIGIL_OCSP_REQ_OK },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct spec s = spec_default();
    s.serial = cases[i].serial;
    s.serial_len = cases[i].len;
    assert_result(parse_spec(&s), cases[i].want);
  }
  struct spec s = spec_default();
  s.serial_tag = CBS_ASN1_OCTETSTRING;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_TAG);
}

static void test_version(void **state) {
  (void)state;
  static const uint8_t kNonMinimal[] = { 0x02, 0x02, 0x00, 0x00 };
  static const uint8_t kOctets[] = { 0x04, 0x01, 0x00 };
  static const uint8_t kTrailing[] = { 0x02, 0x01, 0x00, 0x05, 0x00 };
  struct spec s = spec_default();
  s.version = 0; /* v1 written out although DEFAULT: accepted */
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_OK);
  s.version = 1;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_VERSION);
  s.version = 300;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_VERSION);
  s.version_raw = kNonMinimal;
  s.version_raw_len = sizeof(kNonMinimal);
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_VERSION);
  s.version_raw = kOctets;
  s.version_raw_len = sizeof(kOctets);
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_TAG);
  s.version_raw = kTrailing;
  s.version_raw_len = sizeof(kTrailing);
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_TRAILING_DATA);
}

static void test_nonce(void **state) {
  (void)state;
  uint8_t buf[BUF_MAX];
  struct vigil_ocsp_request req;
  static const int kOk[] = { 1, 16, 32, 128 };
  for (size_t i = 0; i < sizeof(kOk) / sizeof(kOk[0]); i++) {
    struct spec s = spec_default();
    s.nonce_len = kOk[i];
    size_t len = build(buf, sizeof(buf), &s);
    assert_result(parse_both(&req, buf, len), VIGIL_OCSP_REQ_OK);
    assert_int_equal(req.has_nonce, 1);
    assert_int_equal(CBS_len(&req.nonce), kOk[i]);
    assert_int_equal(CBS_data(&req.nonce)[0], 0xa0);
    assert_int_equal(CBS_data(&req.nonce)[kOk[i] - 1],
                     (uint8_t)(0xa0 + kOk[i] - 1));
  }
  struct spec s = spec_default();
  s.nonce_len = 0;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_NONCE_EMPTY);
  s.nonce_raw = 1; /* extnValue itself empty */
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_NONCE_EMPTY);
  s = spec_default();
  s.nonce_len = 129;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_NONCE_TOO_LONG);
  s.nonce_len = 400;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_NONCE_TOO_LONG);
  /* Raw nonce bytes without the inner OCTET STRING (old clients). */
  s = spec_default();
  s.nonce_len = 16;
  s.nonce_raw = 1;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_NONCE);
  s.nonce_raw = 0;
  s.dup_nonce = 1;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_DUPLICATE_EXTENSION);
  /* A critical nonce is understood. */
  s.dup_nonce = 0;
  s.nonce_critical = 1;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_OK);
}

static void test_extensions(void **state) {
  (void)state;
  struct spec s = spec_default();
  s.unknown_ext = 0;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_OK);
  s.explicit_false = 1;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_OK);
  s.bad_bool = 1;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_EXTENSION);
  s = spec_default();
  s.unknown_ext = 0;
  s.bad_oid = 1;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_EXTENSION);
  s = spec_default();
  s.unknown_ext = 1;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_UNKNOWN_CRITICAL_EXTENSION);
  s.nonce_len = 16; /* a good nonce does not excuse it */
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_UNKNOWN_CRITICAL_EXTENSION);

  /* Acceptable response types: known, fine even when critical. */
  s = spec_default();
  s.acceptable = 1;
  s.nonce_len = 32;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_OK);

  s = spec_default();
  s.empty_exts = 1;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_EXTENSION);
  s = spec_default();
  s.num_extra_exts = VIGIL_OCSP_REQ_MAX_EXTENSIONS;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_OK);
  s.num_extra_exts = VIGIL_OCSP_REQ_MAX_EXTENSIONS + 1;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_TOO_MANY_EXTENSIONS);

  /* singleRequestExtensions: ignored unless critical; the nonce OID means
   * nothing there. */
  s = spec_default();
  s.num_ids = 3;
  s.single_ext = 0;
  s.single_nonce = 0;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_OK);
  s.single_ext = 1;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_UNKNOWN_CRITICAL_EXTENSION);
  s.single_ext = -1;
  s.single_nonce = 1;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_UNKNOWN_CRITICAL_EXTENSION);
}

static void test_requestor_and_signature(void **state) {
  (void)state;
  uint8_t buf[BUF_MAX];
  struct vigil_ocsp_request req;
  struct spec s = spec_default();
  s.requestor = 1;
  s.signature = 1;
  s.nonce_len = 8;
  size_t len = build(buf, sizeof(buf), &s);
  assert_result(parse_both(&req, buf, len), VIGIL_OCSP_REQ_OK);
  assert_int_equal(req.has_requestor_name, 1);
  assert_int_equal(req.is_signed, 1);
  assert_int_equal(CBS_len(&req.nonce), 8);
  s.requestor = 2;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_REQUESTOR_NAME);
  s.requestor = 3;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_REQUESTOR_NAME);
  s.requestor = 4;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_REQUESTOR_NAME);
  s.requestor = 0;
  s.signature = 2;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_SIGNATURE);
  s.signature = 3;
  assert_result(parse_spec(&s), VIGIL_OCSP_REQ_BAD_SIGNATURE);
}

/* On failure the fields a caller may look at are reset, whatever they held
 * and however far the walk got (here: 3 CertIDs and a nonce parsed before
 * the bad extension; a signature and requestorName present). */
static void test_failure_resets_output(void **state) {
  (void)state;
  uint8_t buf[BUF_MAX];
  struct vigil_ocsp_request req;
  struct spec s = spec_default();
  s.num_ids = 3;
  s.nonce_len = 16;
  s.requestor = 1;
  s.signature = 1;
  size_t len = build(buf, sizeof(buf), &s);
  assert_result(parse_both(&req, buf, len), VIGIL_OCSP_REQ_OK);
  assert_int_equal(req.num_ids, 3);
  s.unknown_ext = 1;
  len = build(buf, sizeof(buf), &s);
  assert_result(parse_both(&req, buf, len),
                VIGIL_OCSP_REQ_UNKNOWN_CRITICAL_EXTENSION);
  assert_int_equal(req.num_ids, 0);
  assert_int_equal(req.has_nonce, 0);
  assert_int_equal(CBS_len(&req.nonce), 0);
  assert_int_equal(req.has_requestor_name, 0);
  assert_int_equal(req.is_signed, 0);
  assert_int_equal(CBS_len(&req.tbs), 0);
  /* Also from garbage in the struct, and for a failure after the
   * signature (the last thing parsed). */
  s.unknown_ext = -1;
  s.signature = 2;
  len = build(buf, sizeof(buf), &s);
  memset(&req, 0x5a, sizeof(req));
  assert_result(parse_both(&req, buf, len), VIGIL_OCSP_REQ_BAD_SIGNATURE);
  assert_int_equal(req.num_ids, 0);
  assert_int_equal(req.has_nonce, 0);
  assert_int_equal(CBS_len(&req.nonce), 0);
  assert_int_equal(req.has_requestor_name, 0);
  assert_int_equal(req.is_signed, 0);
  assert_int_equal(CBS_len(&req.tbs), 0);
}

/* The parser never allocates: it succeeds with every allocation failing. */
static void test_no_allocation(void **state) {
  (void)state;
  uint8_t buf[BUF_MAX];
  size_t len = read_file(buf, sizeof(buf), VEC("ocsp_req_openssl_signed.der"));
  struct vigil_ocsp_request req;
  vigil_alloc_fail_after(0, 1);
  enum vigil_ocsp_req_result r = parse_both(&req, buf, len);
  unsigned long failures = vigil_alloc_failures();
  vigil_alloc_fail_reset();
  assert_result(r, VIGIL_OCSP_REQ_OK);
  assert_int_equal(failures, 0);
}

static void test_result_strings(void **state) {
  (void)state;
  const char *seen[VIGIL_OCSP_REQ_BAD_SIGNATURE + 1];
  for (int i = 0; i <= VIGIL_OCSP_REQ_BAD_SIGNATURE; i++) {
    seen[i] = vigil_ocsp_req_result_string((enum vigil_ocsp_req_result)i);
    assert_non_null(seen[i]);
    assert_string_not_equal(seen[i], "invalid");
    for (int j = 0; j < i; j++) {
      assert_string_not_equal(seen[i], seen[j]);
    }
  }
  assert_string_equal(vigil_ocsp_req_result_string(VIGIL_OCSP_REQ_OK), "ok");
  assert_string_equal(
      vigil_ocsp_req_result_string((enum vigil_ocsp_req_result)999), "invalid");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_vectors),
    cmocka_unit_test(test_truncated_every_offset),
    cmocka_unit_test(test_trailing_data),
    cmocka_unit_test(test_lengths),
    cmocka_unit_test(test_too_large),
    cmocka_unit_test(test_builder_baseline),
    cmocka_unit_test(test_fast_path_agrees),
    cmocka_unit_test(test_request_count),
    cmocka_unit_test(test_hash_algorithms),
    cmocka_unit_test(test_serials),
    cmocka_unit_test(test_version),
    cmocka_unit_test(test_nonce),
    cmocka_unit_test(test_extensions),
    cmocka_unit_test(test_requestor_and_signature),
    cmocka_unit_test(test_failure_resets_output),
    cmocka_unit_test(test_no_allocation),
    cmocka_unit_test(test_result_strings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
