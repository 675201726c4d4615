/* test_csr.c: unit tests for vigil/csr.h (PKCS#10 parsing).
 *
 * Accepted and refused CSRs come from the OpenSSL 3 CLI: committed vectors
 * (tests/vectors/csr/make.sh) and fresh ones made with `openssl req -new`
 * at test time. Fields are cross-checked against BoringSSL's own X509_REQ
 * parser. Structures OpenSSL will not produce (version 1, duplicate
 * extensions, odd attributes) are built here with CBB and signed with a
 * vigil_key. */
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
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/x509.h>

#include "vigil/alloc.h"
#include "vigil/cert.h"
#include "vigil/csr.h"
#include "vigil/key.h"
#include "vigil/x509.h"

#define VEC(name) VIGIL_TEST_VECTORS "/csr/" name
#define MAX_FILE  8192

static size_t read_path(uint8_t *buf, size_t max, const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t n = fread(buf, 1, max, f);
  fclose(f);
  assert_true(n > 0 && n < max);
  return n;
}

/* parse_file parses the CSR file at |path| and returns it (NULL with
 * |*out_err| on refusal). */
static struct vigil_csr *parse_file(enum vigil_csr_err *out_err,
                                    const char *path) {
  uint8_t buf[MAX_FILE];
  size_t n = read_path(buf, sizeof(buf), path);
  return vigil_csr_parse(out_err, buf, n);
}

static enum vigil_csr_err parse_err(const char *path) {
  enum vigil_csr_err err = VIGIL_CSR_OK;
  struct vigil_csr *csr = parse_file(&err, path);
  vigil_csr_free(csr);
  return err;
}

/* boring_req parses the DER of |csr| with BoringSSL's X509_REQ code. */
static X509_REQ *boring_req(const struct vigil_csr *csr) {
  const uint8_t *p = CBS_data(&csr->der);
  X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)CBS_len(&csr->der));
  assert_non_null(req);
  return req;
}

/* check_against_boringssl compares subject and key with BoringSSL. */
static void check_against_boringssl(const struct vigil_csr *csr) {
  X509_REQ *req = boring_req(csr);
  uint8_t *name_der = NULL;
  int name_len = i2d_X509_NAME(X509_REQ_get_subject_name(req), &name_der);
  assert_true(name_len > 0);
  assert_int_equal((size_t)name_len, CBS_len(&csr->subject));
  assert_memory_equal(name_der, CBS_data(&csr->subject), (size_t)name_len);
  OPENSSL_free(name_der);
  EVP_PKEY *pkey = X509_REQ_get_pubkey(req);
  assert_non_null(pkey);
  assert_int_equal(EVP_PKEY_cmp(pkey, csr->pubkey), 1);
  EVP_PKEY_free(pkey);
  X509_REQ_free(req);
}

static void assert_san(const struct vigil_x509_san *san,
                       enum vigil_x509_san_type type, const void *value,
                       size_t len) {
  assert_int_equal(san->type, type);
  assert_int_equal(san->value_len, len);
  assert_memory_equal(san->value, value, len);
}

/* The SANs make.sh asked openssl for, in order. */
static void assert_vector_sans(const struct vigil_csr *csr) {
  static const uint8_t kIp4[] = { 192, 0, 2, 7 };
  static const uint8_t kIp6[] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                  0,    0,    0,    0,    0, 0, 0, 1 };
  assert_int_equal(csr->num_sans, 6);
  assert_san(&csr->sans[0], VIGIL_X509_SAN_DNS, "csr.example", 11);
  assert_san(&csr->sans[1], VIGIL_X509_SAN_DNS, "*.wild.example", 14);
  assert_san(&csr->sans[2], VIGIL_X509_SAN_IP, kIp4, 4);
  assert_san(&csr->sans[3], VIGIL_X509_SAN_IP, kIp6, 16);
  assert_san(&csr->sans[4], VIGIL_X509_SAN_EMAIL, "ops@csr.example", 15);
  assert_san(&csr->sans[5], VIGIL_X509_SAN_URI, "https://csr.example/id", 22);
}

/* ======================================================================
 * Committed vectors
 * ====================================================================== */

static void test_p256_pem_der_and_new_label(void **state) {
  (void)state;
  enum vigil_csr_err err;
  struct vigil_csr *pem = parse_file(&err, VEC("p256_sans.pem"));
  assert_non_null(pem);
  struct vigil_csr *der = parse_file(&err, VEC("p256_sans.der"));
  assert_non_null(der);
  struct vigil_csr *newl = parse_file(&err, VEC("p256_new_label.pem"));
  assert_non_null(newl);

  assert_int_equal(pem->key_type, VIGIL_KEY_EC_P256);
  assert_int_equal(CBS_len(&pem->der), CBS_len(&der->der));
  assert_memory_equal(CBS_data(&pem->der), CBS_data(&der->der),
                      CBS_len(&der->der));
  assert_int_equal(CBS_len(&pem->der), CBS_len(&newl->der));
  assert_vector_sans(pem);
  assert_vector_sans(der);
  assert_vector_sans(newl);
  check_against_boringssl(pem);

  /* The SAN extension is findable; an absent one is not. */
  static const uint8_t kOidSan[] = { 0x55, 0x1d, 0x11 };
  static const uint8_t kOidEku[] = { 0x55, 0x1d, 0x25 };
  int critical = -1;
  CBS value;
  assert_true(vigil_csr_find_extension(pem, &critical, &value, kOidSan,
                                       sizeof(kOidSan)));
  assert_int_equal(critical, 0);
  assert_true(CBS_len(&value) > 0);
  assert_false(vigil_csr_find_extension(pem, &critical, &value, kOidEku,
                                        sizeof(kOidEku)));

  /* The key matches the committed private key. */
  enum vigil_key_err kerr;
  struct vigil_key *key = vigil_key_load_file(&kerr, VEC("p256.key"), 0);
  assert_non_null(key);
  size_t spki_len;
  const uint8_t *spki = vigil_key_get0_spki(key, &spki_len);
  assert_int_equal(CBS_len(&pem->spki), spki_len);
  assert_memory_equal(CBS_data(&pem->spki), spki, spki_len);
  vigil_key_free(key);

  vigil_csr_free(pem);
  vigil_csr_free(der);
  vigil_csr_free(newl);
}

static void test_supported_key_types(void **state) {
  (void)state;
  static const struct {
    const char *file;
    enum vigil_key_type type;
    const char *dns;
  } kCases[] = {
    { VEC("p384.pem"), VIGIL_KEY_EC_P384, "p384.example" },
    { VEC("rsa2048.pem"), VIGIL_KEY_RSA, "rsa.example" },
    { VEC("ed25519.pem"), VIGIL_KEY_ED25519, "ed.example" },
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    enum vigil_csr_err err;
    struct vigil_csr *csr = parse_file(&err, kCases[i].file);
    assert_non_null(csr);
    assert_int_equal(csr->key_type, kCases[i].type);
    assert_int_equal(csr->num_sans, 1);
    assert_san(&csr->sans[0], VIGIL_X509_SAN_DNS, kCases[i].dns,
               strlen(kCases[i].dns));
    check_against_boringssl(csr);
    vigil_csr_free(csr);
  }
}

static void test_no_san_and_empty_subject(void **state) {
  (void)state;
  enum vigil_csr_err err;
  struct vigil_csr *csr = parse_file(&err, VEC("p256_nosan.pem"));
  assert_non_null(csr);
  assert_int_equal(csr->num_sans, 0);
  assert_null(csr->sans);
  check_against_boringssl(csr);
  vigil_csr_free(csr);

  csr = parse_file(&err, VEC("p256_empty_subject.pem"));
  assert_non_null(csr);
  assert_int_equal(CBS_len(&csr->subject), 2); /* 30 00 */
  assert_int_equal(csr->num_sans, 1);
  check_against_boringssl(csr);
  vigil_csr_free(csr);
}

static void test_refused_vectors(void **state) {
  (void)state;
  assert_int_equal(parse_err(VEC("p521.pem")), VIGIL_CSR_ERR_KEY_CURVE);
  assert_int_equal(parse_err(VEC("secp256k1.pem")), VIGIL_CSR_ERR_KEY_CURVE);
  assert_int_equal(parse_err(VEC("rsa1024.pem")), VIGIL_CSR_ERR_KEY_SIZE);
  assert_int_equal(parse_err(VEC("ed448.pem")), VIGIL_CSR_ERR_KEY_ALGORITHM);
  assert_int_equal(parse_err(VEC("rsa_pss.pem")), VIGIL_CSR_ERR_KEY_ALGORITHM);
  assert_int_equal(parse_err(VEC("rsa2048_sha1.pem")), VIGIL_CSR_ERR_SIG_ALG);
  assert_int_equal(parse_err(VEC("p256_othername.pem")), VIGIL_CSR_ERR_SAN);
  assert_int_equal(parse_err(VEC("p256_bad_dns.pem")), VIGIL_CSR_ERR_SAN);
}

/* flip_and_parse decodes the PEM at |path|, flips one bit at |offset| from
 * the end of the DER (or from the start if |from_start|) and parses. */
static enum vigil_csr_err flip_and_parse(const char *path, size_t offset,
                                         int from_start) {
  uint8_t buf[MAX_FILE];
  size_t n = read_path(buf, sizeof(buf), path);
  uint8_t *der = NULL;
  size_t der_len = 0;
  assert_true(vigil_pem_decode(&der, &der_len, "CERTIFICATE REQUEST", buf, n));
  assert_true(offset < der_len);
  der[from_start ? offset : der_len - 1 - offset] ^= 0x01;
  enum vigil_csr_err err = VIGIL_CSR_OK;
  struct vigil_csr *csr = vigil_csr_parse(&err, der, der_len);
  assert_null(csr);
  vigil_free(der);
  return err;
}

/* find_offset returns where |needle| starts in the DER of the PEM |path|. */
static size_t find_offset(const char *path, const char *needle) {
  uint8_t buf[MAX_FILE];
  size_t n = read_path(buf, sizeof(buf), path);
  uint8_t *der = NULL;
  size_t der_len = 0;
  assert_true(vigil_pem_decode(&der, &der_len, "CERTIFICATE REQUEST", buf, n));
  size_t len = strlen(needle);
  size_t off = der_len;
  for (size_t i = 0; i + len <= der_len; i++) {
    if (memcmp(der + i, needle, len) == 0) {
      off = i;
      break;
    }
  }
  vigil_free(der);
  assert_true(off < der_len);
  return off;
}

static void test_bad_signature(void **state) {
  (void)state;
  /* A flipped bit in the signature value of each key type. */
  assert_int_equal(flip_and_parse(VEC("p256_sans.pem"), 0, 0),
                   VIGIL_CSR_ERR_BAD_SIGNATURE);
  assert_int_equal(flip_and_parse(VEC("rsa2048.pem"), 0, 0),
                   VIGIL_CSR_ERR_BAD_SIGNATURE);
  assert_int_equal(flip_and_parse(VEC("ed25519.pem"), 0, 0),
                   VIGIL_CSR_ERR_BAD_SIGNATURE);
  assert_int_equal(flip_and_parse(VEC("ed25519.pem"), 20, 0),
                   VIGIL_CSR_ERR_BAD_SIGNATURE);
  /* A changed subject ("csr.example" -> "csr.exampld") keeps the DER valid
   * but breaks the signature. */
  size_t off = find_offset(VEC("p256_sans.pem"), "csr.example");
  assert_int_equal(flip_and_parse(VEC("p256_sans.pem"), off + 10, 1),
                   VIGIL_CSR_ERR_BAD_SIGNATURE);
}

static void test_truncated_and_garbage(void **state) {
  (void)state;
  uint8_t der[MAX_FILE];
  size_t n = read_path(der, sizeof(der), VEC("p256_sans.der"));
  enum vigil_csr_err err;
  /* Every proper prefix fails; none crashes (ASan watches). */
  for (size_t len = 0; len < n; len++) {
    uint8_t *copy = malloc(len == 0 ? 1 : len);
    assert_non_null(copy);
    memcpy(copy, der, len);
    struct vigil_csr *csr = vigil_csr_parse(&err, copy, len);
    assert_null(csr);
    assert_true(err == VIGIL_CSR_ERR_DER || err == VIGIL_CSR_ERR_PEM);
    free(copy);
  }
  /* Trailing data after the SEQUENCE. */
  der[n] = 0x00;
  assert_null(vigil_csr_parse(&err, der, n + 1));
  assert_int_equal(err, VIGIL_CSR_ERR_DER);

  /* Truncated PEM. */
  uint8_t pem[MAX_FILE];
  size_t pem_len = read_path(pem, sizeof(pem), VEC("p256_sans.pem"));
  for (size_t len = 0; len < pem_len; len += 7) {
    struct vigil_csr *csr = vigil_csr_parse(&err, pem, len);
    assert_null(csr);
    assert_true(err == VIGIL_CSR_ERR_PEM || err == VIGIL_CSR_ERR_DER);
  }
  /* Garbage, and a certificate instead of a CSR. */
  static const uint8_t kGarbage[] = "hello, this is not a CSR";
  assert_null(vigil_csr_parse(&err, kGarbage, sizeof(kGarbage)));
  assert_int_equal(err, VIGIL_CSR_ERR_PEM);
  uint8_t cert[MAX_FILE];
  size_t cert_len =
      read_path(cert, sizeof(cert), VIGIL_TEST_VECTORS "/ca_p256.der");
  assert_null(vigil_csr_parse(&err, cert, cert_len));
  assert_int_equal(err, VIGIL_CSR_ERR_DER);
  cert_len = read_path(cert, sizeof(cert), VIGIL_TEST_VECTORS "/ca_p256.pem");
  assert_null(vigil_csr_parse(&err, cert, cert_len));
  assert_int_equal(err, VIGIL_CSR_ERR_PEM);
}

static void test_too_large(void **state) {
  (void)state;
  size_t len = VIGIL_CSR_MAX_DER + 1;
  uint8_t *big = calloc(1, 2 * VIGIL_CSR_MAX_DER + 1);
  assert_non_null(big);
  enum vigil_csr_err err;
  big[0] = 0x30;
  assert_null(vigil_csr_parse(&err, big, len));
  assert_int_equal(err, VIGIL_CSR_ERR_TOO_LARGE);
  big[0] = '-';
  assert_null(vigil_csr_parse(&err, big, 2 * VIGIL_CSR_MAX_DER + 1));
  assert_int_equal(err, VIGIL_CSR_ERR_TOO_LARGE);
  free(big);
}

/* ======================================================================
 * Hand-built CSRs
 * ====================================================================== */

static const uint8_t kOidExtReq[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                      0x0d, 0x01, 0x09, 0x0e };
static const uint8_t kOidChallenge[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                         0x0d, 0x01, 0x09, 0x07 };
static const uint8_t kOidSanExt[] = { 0x55, 0x1d, 0x11 };
static const uint8_t kRsaSha256Alg[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a,
                                         0x86, 0x48, 0x86, 0xf7, 0x0d,
                                         0x01, 0x01, 0x0b, 0x05, 0x00 };

struct spec {
  uint64_t version;
  int omit_attributes;    /* no [0] at all */
  int ext_requests;       /* number of extensionRequest attributes */
  int empty_extensions;   /* extensionRequest with an empty SEQUENCE */
  int dup_ext;            /* SAN extension twice */
  int san_critical;       /* SAN marked critical */
  int challenge_password; /* add a challengePassword attribute */
  int ip_len;             /* IP SAN length (0: none) */
  size_t num_dns;         /* DNS SANs "hN.example" */
  int wrong_sig_alg;      /* claim sha256WithRSA */
};

static void add_oid(CBB *cbb, const uint8_t *oid, size_t len) {
  CBB c;
  assert_true(CBB_add_asn1(cbb, &c, CBS_ASN1_OBJECT));
  assert_true(CBB_add_bytes(&c, oid, len));
  assert_true(CBB_flush(cbb));
}

static void add_san_ext(CBB *exts, const struct spec *s) {
  CBB ext, value, names;
  assert_true(CBB_add_asn1(exts, &ext, CBS_ASN1_SEQUENCE));
  add_oid(&ext, kOidSanExt, sizeof(kOidSanExt));
  if (s->san_critical) {
    assert_true(CBB_add_asn1_bool(&ext, 1));
  }
  assert_true(CBB_add_asn1(&ext, &value, CBS_ASN1_OCTETSTRING));
  assert_true(CBB_add_asn1(&value, &names, CBS_ASN1_SEQUENCE));
  for (size_t i = 0; i < s->num_dns; i++) {
    char name[32];
    int n = snprintf(name, sizeof(name), "h%zu.example", i);
    CBB dns;
    assert_true(CBB_add_asn1(&names, &dns, CBS_ASN1_CONTEXT_SPECIFIC | 2));
    assert_true(CBB_add_bytes(&dns, (const uint8_t *)name, (size_t)n));
    assert_true(CBB_flush(&names));
  }
  if (s->ip_len > 0) {
    static const uint8_t kIp[32] = { 10, 0, 0, 1 };
    CBB ip;
    assert_true(CBB_add_asn1(&names, &ip, CBS_ASN1_CONTEXT_SPECIFIC | 7));
    assert_true(CBB_add_bytes(&ip, kIp, (size_t)s->ip_len));
  }
  assert_true(CBB_flush(exts));
}

/* build_csr returns a new DER CSR (OPENSSL_free) for |s|, signed by |key|. */
static uint8_t *build_csr(size_t *out_len, const struct vigil_key *key,
                          const struct spec *s) {
  CBB info, seq, attrs, cbb;
  uint8_t *info_der = NULL, *out = NULL;
  size_t info_len = 0, spki_len = 0;
  const uint8_t *spki = vigil_key_get0_spki(key, &spki_len);
  struct vigil_x509_name name = { .common_name = "built.example" };

  assert_true(CBB_init(&info, 512));
  assert_true(CBB_add_asn1(&info, &seq, CBS_ASN1_SEQUENCE));
  assert_true(CBB_add_asn1_uint64(&seq, s->version));
  assert_int_equal(vigil_x509_name_build(&seq, &name), VIGIL_X509_OK);
  assert_true(CBB_add_bytes(&seq, spki, spki_len));
  if (!s->omit_attributes) {
    assert_true(CBB_add_asn1(
        &seq, &attrs, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0));
    if (s->challenge_password) {
      CBB attr, set, str;
      assert_true(CBB_add_asn1(&attrs, &attr, CBS_ASN1_SEQUENCE));
      add_oid(&attr, kOidChallenge, sizeof(kOidChallenge));
      assert_true(CBB_add_asn1(&attr, &set, CBS_ASN1_SET));
      assert_true(CBB_add_asn1(&set, &str, CBS_ASN1_UTF8STRING));
      assert_true(CBB_add_bytes(&str, (const uint8_t *)"secret", 6));
      assert_true(CBB_flush(&attrs));
    }
    for (int r = 0; r < s->ext_requests; r++) {
      CBB attr, set, exts;
      assert_true(CBB_add_asn1(&attrs, &attr, CBS_ASN1_SEQUENCE));
      add_oid(&attr, kOidExtReq, sizeof(kOidExtReq));
      assert_true(CBB_add_asn1(&attr, &set, CBS_ASN1_SET));
      assert_true(CBB_add_asn1(&set, &exts, CBS_ASN1_SEQUENCE));
      if (!s->empty_extensions) {
        add_san_ext(&exts, s);
        if (s->dup_ext) {
          add_san_ext(&exts, s);
        }
      }
      assert_true(CBB_flush(&attrs));
    }
  }
  assert_true(CBB_finish(&info, &info_der, &info_len));

  assert_true(CBB_init(&cbb, 1024));
  if (s->wrong_sig_alg) {
    CBB outer, bits;
    uint8_t sig[VIGIL_KEY_MAX_SIG_LEN];
    size_t sig_len = 0;
    assert_true(
        vigil_key_sign(key, sig, &sig_len, sizeof(sig), info_der, info_len));
    assert_true(CBB_add_asn1(&cbb, &outer, CBS_ASN1_SEQUENCE));
    assert_true(CBB_add_bytes(&outer, info_der, info_len));
    assert_true(CBB_add_bytes(&outer, kRsaSha256Alg, sizeof(kRsaSha256Alg)));
    assert_true(CBB_add_asn1(&outer, &bits, CBS_ASN1_BITSTRING));
    assert_true(CBB_add_u8(&bits, 0));
    assert_true(CBB_add_bytes(&bits, sig, sig_len));
  } else {
    assert_true(vigil_key_add_signed(key, &cbb, info_der, info_len));
  }
  assert_true(CBB_finish(&cbb, &out, out_len));
  OPENSSL_free(info_der);
  return out;
}

static enum vigil_csr_err built_err(const struct vigil_key *key,
                                    const struct spec *s,
                                    struct vigil_csr **out_csr) {
  size_t len = 0;
  uint8_t *der = build_csr(&len, key, s);
  enum vigil_csr_err err = VIGIL_CSR_OK;
  struct vigil_csr *csr = vigil_csr_parse(&err, der, len);
  OPENSSL_free(der);
  if (out_csr != NULL) {
    *out_csr = csr;
  } else {
    vigil_csr_free(csr);
  }
  return err;
}

static void test_built_csrs(void **state) {
  (void)state;
  struct vigil_key *key = vigil_key_generate(VIGIL_KEY_EC_P256, 0);
  assert_non_null(key);
  struct vigil_csr *csr = NULL;

  /* Baseline: the builder makes a CSR we accept, with a critical SAN and a
   * challengePassword that is ignored. */
  struct spec ok = {
    .ext_requests = 1, .num_dns = 2, .san_critical = 1, .challenge_password = 1
  };
  assert_int_equal(built_err(key, &ok, &csr), VIGIL_CSR_OK);
  assert_int_equal(csr->num_sans, 2);
  assert_san(&csr->sans[1], VIGIL_X509_SAN_DNS, "h1.example", 10);
  int critical = 0;
  CBS value;
  assert_true(vigil_csr_find_extension(csr, &critical, &value, kOidSanExt,
                                       sizeof(kOidSanExt)));
  assert_int_equal(critical, 1);
  check_against_boringssl(csr);
  vigil_csr_free(csr);

  /* No attributes at all, and no extensionRequest: accepted. */
  struct spec no_attrs = { .omit_attributes = 1 };
  assert_int_equal(built_err(key, &no_attrs, NULL), VIGIL_CSR_OK);
  struct spec no_req = { .challenge_password = 1 };
  assert_int_equal(built_err(key, &no_req, NULL), VIGIL_CSR_OK);

  /* Version must be 0. */
  struct spec v1 = ok;
  v1.version = 1;
  assert_int_equal(built_err(key, &v1, NULL), VIGIL_CSR_ERR_VERSION);

  /* extensionRequest problems. */
  struct spec two_req = ok;
  two_req.ext_requests = 2;
  assert_int_equal(built_err(key, &two_req, NULL), VIGIL_CSR_ERR_EXTENSIONS);
  struct spec dup = ok;
  dup.dup_ext = 1;
  assert_int_equal(built_err(key, &dup, NULL), VIGIL_CSR_ERR_EXTENSIONS);
  struct spec empty = ok;
  empty.empty_extensions = 1;
  assert_int_equal(built_err(key, &empty, NULL), VIGIL_CSR_ERR_EXTENSIONS);

  /* SAN problems: IP length, count limit (256 fine, 257 not). */
  struct spec ip4 = { .ext_requests = 1, .ip_len = 4 };
  assert_int_equal(built_err(key, &ip4, NULL), VIGIL_CSR_OK);
  struct spec ip5 = { .ext_requests = 1, .ip_len = 5 };
  assert_int_equal(built_err(key, &ip5, NULL), VIGIL_CSR_ERR_SAN);
  struct spec many = { .ext_requests = 1, .num_dns = VIGIL_X509_MAX_SANS };
  assert_int_equal(built_err(key, &many, &csr), VIGIL_CSR_OK);
  assert_int_equal(csr->num_sans, VIGIL_X509_MAX_SANS);
  vigil_csr_free(csr);
  many.num_dns++;
  assert_int_equal(built_err(key, &many, NULL), VIGIL_CSR_ERR_SAN);

  /* A signature algorithm that does not fit the key. */
  struct spec wrong = ok;
  wrong.wrong_sig_alg = 1;
  assert_int_equal(built_err(key, &wrong, NULL), VIGIL_CSR_ERR_SIG_ALG);

  vigil_key_free(key);
}

static void test_non_der_length(void **state) {
  (void)state;
  /* Re-encode the outer SEQUENCE length with a superfluous leading zero
   * octet (83 00 01 72 instead of 82 01 72): valid BER, not DER. */
  uint8_t der[MAX_FILE];
  size_t n = read_path(der, sizeof(der), VEC("p256_sans.der"));
  assert_int_equal(der[0], 0x30);
  assert_int_equal(der[1], 0x82); /* 370 bytes: two length octets */
  uint8_t bad[MAX_FILE];
  bad[0] = 0x30;
  bad[1] = 0x83;
  bad[2] = 0x00;
  memcpy(bad + 3, der + 2, n - 2);
  enum vigil_csr_err err;
  assert_null(vigil_csr_parse(&err, bad, n + 1));
  assert_int_equal(err, VIGIL_CSR_ERR_DER);
}

/* ======================================================================
 * Fresh CSRs from `openssl req -new`
 * ====================================================================== */

static void test_fresh_openssl_csrs(void **state) {
  (void)state;
  static const struct {
    const char *keyopts;
    enum vigil_key_type type;
  } kCases[] = {
    { "-newkey ec -pkeyopt ec_paramgen_curve:P-256", VIGIL_KEY_EC_P256 },
    { "-newkey ec -pkeyopt ec_paramgen_curve:P-384", VIGIL_KEY_EC_P384 },
    { "-newkey rsa:3072", VIGIL_KEY_RSA },
    { "-newkey ed25519", VIGIL_KEY_ED25519 },
  };
  char dir[] = "/tmp/vigil-test-csr.XXXXXX";
  assert_non_null(mkdtemp(dir));
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    char cmd[1024], path[256], keypath[256];
    int n = snprintf(path, sizeof(path), "%s/req%zu.pem", dir, i);
    assert_true(n > 0 && (size_t)n < sizeof(path));
    n = snprintf(keypath, sizeof(keypath), "%s/key%zu.pem", dir, i);
    assert_true(n > 0 && (size_t)n < sizeof(keypath));
    n = snprintf(cmd, sizeof(cmd),
                 "openssl req -new %s -nodes -keyout %s -out %s "
                 "-subj '/O=Fresh/CN=fresh%zu.example' "
                 "-addext 'subjectAltName=DNS:fresh%zu.example,IP:::1' "
                 ">/dev/null 2>&1",
                 kCases[i].keyopts, keypath, path, i, i);
    assert_true(n > 0 && (size_t)n < sizeof(cmd));
    assert_int_equal(system(cmd), 0);

    enum vigil_csr_err err;
    struct vigil_csr *csr = parse_file(&err, path);
    if (csr == NULL) {
      fail_msg("%s: %s", kCases[i].keyopts, vigil_csr_err_string(err));
    }
    assert_int_equal(csr->key_type, kCases[i].type);
    assert_int_equal(csr->num_sans, 2);
    char dns[32];
    n = snprintf(dns, sizeof(dns), "fresh%zu.example", i);
    assert_san(&csr->sans[0], VIGIL_X509_SAN_DNS, dns, (size_t)n);
    static const uint8_t kLoop6[16] = { [15] = 1 };
    assert_san(&csr->sans[1], VIGIL_X509_SAN_IP, kLoop6, 16);
    check_against_boringssl(csr);

    /* The CSR's key is the private key openssl wrote. */
    enum vigil_key_err kerr;
    struct vigil_key *key = vigil_key_load_file(&kerr, keypath, 0);
    assert_non_null(key);
    size_t spki_len;
    const uint8_t *spki = vigil_key_get0_spki(key, &spki_len);
    assert_int_equal(CBS_len(&csr->spki), spki_len);
    assert_memory_equal(CBS_data(&csr->spki), spki, spki_len);
    vigil_key_free(key);
    vigil_csr_free(csr);
    unlink(path);
    unlink(keypath);
  }
  assert_int_equal(rmdir(dir), 0);
}

/* ======================================================================
 * Allocation failures
 * ====================================================================== */

static void test_alloc_failures(void **state) {
  (void)state;
  uint8_t buf[MAX_FILE];
  size_t n = read_path(buf, sizeof(buf), VEC("p256_sans.pem"));
  int saw_success = 0;
  for (unsigned long i = 0; i < 30 && !saw_success; i++) {
    vigil_alloc_fail_reset();
    vigil_alloc_fail_after(i, 0);
    enum vigil_csr_err err;
    struct vigil_csr *csr = vigil_csr_parse(&err, buf, n);
    if (csr != NULL) {
      saw_success = vigil_alloc_failures() == 0;
      assert_int_equal(csr->num_sans, 6);
      vigil_csr_free(csr);
    } else {
      /* A failed PEM decode cannot tell "no memory" from "no block". */
      assert_true(err == VIGIL_CSR_ERR_NOMEM || err == VIGIL_CSR_ERR_PEM);
    }
  }
  vigil_alloc_fail_reset();
  assert_true(saw_success);
}

static void test_err_strings(void **state) {
  (void)state;
  for (int e = VIGIL_CSR_OK; e <= VIGIL_CSR_ERR_NOMEM; e++) {
    const char *s = vigil_csr_err_string((enum vigil_csr_err)e);
    assert_non_null(s);
    assert_string_not_equal(s, "unknown CSR error");
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_p256_pem_der_and_new_label),
    cmocka_unit_test(test_supported_key_types),
    cmocka_unit_test(test_no_san_and_empty_subject),
    cmocka_unit_test(test_refused_vectors),
    cmocka_unit_test(test_bad_signature),
    cmocka_unit_test(test_truncated_and_garbage),
    cmocka_unit_test(test_too_large),
    cmocka_unit_test(test_built_csrs),
    cmocka_unit_test(test_non_der_length),
    cmocka_unit_test(test_fresh_openssl_csrs),
    cmocka_unit_test(test_alloc_failures),
    cmocka_unit_test(test_err_strings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
