/* x509.c: X.509 v3 certificate issuance (see vigil/x509.h).
 *
 * Everything is encoded by hand with CBB: BoringSSL's X509 object API is
 * mutable, allocation-heavy and would happily encode templates that
 * RFC 5280 or the Baseline Requirements forbid. Checking the template
 * first and writing a fixed extension set in a fixed order keeps every
 * issued certificate reviewable from this one file. Name building and
 * checking live in x509_name.c. */
#include "vigil/x509.h"

#include <string.h>

#include <openssl/bytestring.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "vigil/alloc.h"
#include "vigil/timeutil.h"

/* ======================================================================
 * Object identifiers (DER contents, without tag and length)
 * ====================================================================== */

static const uint8_t kOidEcPublicKey[] = { 0x2a, 0x86, 0x48, 0xce,
                                           0x3d, 0x02, 0x01 };
static const uint8_t kOidP256[] = { 0x2a, 0x86, 0x48, 0xce,
                                    0x3d, 0x03, 0x01, 0x07 };
static const uint8_t kOidP384[] = { 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t kOidRsaEncryption[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                             0x0d, 0x01, 0x01, 0x01 };
static const uint8_t kOidEd25519[] = { 0x2b, 0x65, 0x70 };

/* Certificate extensions (RFC 5280 4.2). */
static const uint8_t kOidSki[] = { 0x55, 0x1d, 0x0e };
static const uint8_t kOidKeyUsage[] = { 0x55, 0x1d, 0x0f };
static const uint8_t kOidSan[] = { 0x55, 0x1d, 0x11 };
static const uint8_t kOidBasicConstraints[] = { 0x55, 0x1d, 0x13 };
static const uint8_t kOidCrlDp[] = { 0x55, 0x1d, 0x1f };
static const uint8_t kOidPolicies[] = { 0x55, 0x1d, 0x20 };
static const uint8_t kOidAki[] = { 0x55, 0x1d, 0x23 };
static const uint8_t kOidEku[] = { 0x55, 0x1d, 0x25 };
/* id-pe-authorityInfoAccess 1.3.6.1.5.5.7.1.1 */
static const uint8_t kOidAia[] = { 0x2b, 0x06, 0x01, 0x05,
                                   0x05, 0x07, 0x01, 0x01 };
/* id-ad-ocsp 1.3.6.1.5.5.7.48.1, id-ad-caIssuers 1.3.6.1.5.5.7.48.2 */
static const uint8_t kOidAdOcsp[] = { 0x2b, 0x06, 0x01, 0x05,
                                      0x05, 0x07, 0x30, 0x01 };
static const uint8_t kOidAdCaIssuers[] = { 0x2b, 0x06, 0x01, 0x05,
                                           0x05, 0x07, 0x30, 0x02 };
/* id-pkix-ocsp-nocheck 1.3.6.1.5.5.7.48.1.5 */
static const uint8_t kOidOcspNocheck[] = { 0x2b, 0x06, 0x01, 0x05, 0x05,
                                           0x07, 0x30, 0x01, 0x05 };

/* id-kp-* purposes are 1.3.6.1.5.5.7.3.n; listed in VIGIL_X509_EKU_* bit
 * order. */
static const uint8_t kOidKpPrefix[] = {
  0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03
};
static const uint8_t kKpNumbers[] = {
  1, /* serverAuth */
  2, /* clientAuth */
  3, /* codeSigning */
  4, /* emailProtection */
  8, /* timeStamping */
  9, /* OCSPSigning */
};

#define KU_ALL  0x7fu
#define EKU_ALL 0x3fu

/* 2050-01-01T00:00:00Z: from here on Validity uses GeneralizedTime. */
#define GENTIME_FROM INT64_C(2524608000)

/* ======================================================================
 * Subject alternative names
 * ====================================================================== */

static int is_alpha(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(uint8_t c) {
  return c >= '0' && c <= '9';
}

/* check_dns checks a host name: 1..253 bytes of dot-separated LDH labels
 * (1..63 bytes, no leading or trailing hyphen), optionally preceded by one
 * "*." wildcard label, no trailing dot, and a last label that is not all
 * digits (so "192.0.2.1" cannot pass as a DNS name; BR 7.1.2.7.12). */
static int check_dns(const uint8_t *s, size_t len, int allow_wildcard) {
  size_t i = 0;
  if (len == 0 || len > 253) {
    return 0;
  }
  if (allow_wildcard && len >= 2 && s[0] == '*' && s[1] == '.') {
    i = 2;
  }
  if (i == len) {
    return 0;
  }
  int last_all_digits = 0;
  while (i < len) {
    size_t start = i;
    int all_digits = 1;
    while (i < len && s[i] != '.') {
      uint8_t c = s[i];
      if (!is_alpha(c) && !is_digit(c) && c != '-') {
        return 0;
      }
      if (!is_digit(c)) {
        all_digits = 0;
      }
      i++;
    }
    size_t label_len = i - start;
    if (label_len == 0 || label_len > 63 || s[start] == '-' ||
        s[i - 1] == '-') {
      return 0;
    }
    last_all_digits = all_digits;
    if (i < len) {
      i++; /* the dot */
      if (i == len) {
        return 0; /* trailing dot */
      }
    }
  }
  return !last_all_digits;
}

/* check_printable checks for printable ASCII without spaces. */
static int check_printable(const uint8_t *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (s[i] < 0x21 || s[i] > 0x7e) {
      return 0;
    }
  }
  return 1;
}

/* check_email checks "local@domain" with exactly one '@'. */
static int check_email(const uint8_t *s, size_t len) {
  if (len > 254 || !check_printable(s, len)) {
    return 0;
  }
  const uint8_t *at = memchr(s, '@', len);
  if (at == NULL || at == s) {
    return 0;
  }
  size_t local_len = (size_t)(at - s);
  if (memchr(at + 1, '@', len - local_len - 1) != NULL) {
    return 0;
  }
  return check_dns(at + 1, len - local_len - 1, 0);
}

/* check_uri checks "scheme:rest" (RFC 3986 3.1 scheme, non-empty rest). */
static int check_uri(const uint8_t *s, size_t len) {
  if (!check_printable(s, len) || len < 3 || !is_alpha(s[0])) {
    return 0;
  }
  size_t i = 1;
  while (i < len && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' ||
                     s[i] == '-' || s[i] == '.')) {
    i++;
  }
  return i < len - 1 && s[i] == ':';
}

int vigil_x509_san_check(const struct vigil_x509_san *san) {
  if (san == NULL || san->value == NULL ||
      san->value_len > VIGIL_X509_MAX_SAN_LEN) {
    return 0;
  }
  switch (san->type) {
    case VIGIL_X509_SAN_DNS:
      return check_dns(san->value, san->value_len, 1);
    case VIGIL_X509_SAN_IP:
      return san->value_len == 4 || san->value_len == 16;
    case VIGIL_X509_SAN_URI:
      return check_uri(san->value, san->value_len);
    case VIGIL_X509_SAN_EMAIL:
      return check_email(san->value, san->value_len);
  }
  return 0;
}

/* check_url checks an AIA / CRL DP URL: BR 7.1.2.7.7 / 7.1.2.11.2 want
 * the HTTP scheme. */
static int check_url(const char *url) {
  static const char kHttp[] = "http://";
  size_t len = strnlen(url, VIGIL_X509_MAX_URL + 1);
  if (len > VIGIL_X509_MAX_URL || len <= sizeof(kHttp) - 1 ||
      memcmp(url, kHttp, sizeof(kHttp) - 1) != 0) {
    return 0;
  }
  return check_printable((const uint8_t *)url, len);
}

/* ======================================================================
 * Keys and serials
 * ====================================================================== */

enum vigil_x509_err vigil_x509_spki_check(EVP_PKEY **out_pkey,
                                          enum vigil_key_type *out_type,
                                          const uint8_t *spki,
                                          size_t spki_len) {
  CBS in, seq, alg, oid, bits;
  enum vigil_key_type type;
  if (spki == NULL) {
    return VIGIL_X509_ERR_KEY_PARSE;
  }
  CBS_init(&in, spki, spki_len);
  if (!CBS_get_asn1(&in, &seq, CBS_ASN1_SEQUENCE) || CBS_len(&in) != 0 ||
      !CBS_get_asn1(&seq, &alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&seq, &bits, CBS_ASN1_BITSTRING) || CBS_len(&seq) != 0 ||
      !CBS_get_asn1(&alg, &oid, CBS_ASN1_OBJECT)) {
    return VIGIL_X509_ERR_KEY_PARSE;
  }
  /* Classify by algorithm first so the caller learns *why* a key is
   * refused: a P-521 key is "wrong curve", not "unparsable". */
  if (CBS_mem_equal(&oid, kOidEcPublicKey, sizeof(kOidEcPublicKey))) {
    CBS curve;
    if (!CBS_get_asn1(&alg, &curve, CBS_ASN1_OBJECT) || CBS_len(&alg) != 0) {
      return VIGIL_X509_ERR_KEY_CURVE; /* explicit or implicit parameters */
    }
    if (CBS_mem_equal(&curve, kOidP256, sizeof(kOidP256))) {
      type = VIGIL_KEY_EC_P256;
    } else if (CBS_mem_equal(&curve, kOidP384, sizeof(kOidP384))) {
      type = VIGIL_KEY_EC_P384;
    } else {
      return VIGIL_X509_ERR_KEY_CURVE;
    }
  } else if (CBS_mem_equal(&oid, kOidRsaEncryption,
                           sizeof(kOidRsaEncryption))) {
    type = VIGIL_KEY_RSA;
  } else if (CBS_mem_equal(&oid, kOidEd25519, sizeof(kOidEd25519))) {
    type = VIGIL_KEY_ED25519;
  } else {
    return VIGIL_X509_ERR_KEY_ALGORITHM;
  }

  CBS_init(&in, spki, spki_len);
  EVP_PKEY *pkey = EVP_parse_public_key(&in);
  if (pkey == NULL || CBS_len(&in) != 0) {
    ERR_clear_error();
    EVP_PKEY_free(pkey);
    return VIGIL_X509_ERR_KEY_PARSE;
  }
  if (type == VIGIL_KEY_RSA) {
    const RSA *rsa = EVP_PKEY_get0_RSA(pkey);
    unsigned rsa_bits = rsa == NULL ? 0 : RSA_bits(rsa);
    if (rsa_bits < 2048 || rsa_bits > 8192 || rsa_bits % 8 != 0) {
      EVP_PKEY_free(pkey);
      return VIGIL_X509_ERR_KEY_SIZE;
    }
  }
  *out_type = type;
  if (out_pkey != NULL) {
    *out_pkey = pkey;
  } else {
    EVP_PKEY_free(pkey);
  }
  return VIGIL_X509_OK;
}

/* spki_key_bits points |*out| at the subjectPublicKey BIT STRING contents
 * of the already checked |spki|, without the unused-bits octet. */
static int spki_key_bits(CBS *out, const uint8_t *spki, size_t spki_len) {
  CBS in, seq, alg;
  uint8_t unused;
  CBS_init(&in, spki, spki_len);
  return CBS_get_asn1(&in, &seq, CBS_ASN1_SEQUENCE) &&
         CBS_get_asn1(&seq, &alg, CBS_ASN1_SEQUENCE) &&
         CBS_get_asn1(&seq, out, CBS_ASN1_BITSTRING) &&
         CBS_get_u8(out, &unused) && unused == 0;
}

int vigil_x509_serial_generate(uint8_t out[VIGIL_X509_SERIAL_LEN]) {
  if (!RAND_bytes(out, VIGIL_X509_SERIAL_LEN)) {
    return 0;
  }
  out[0] &= 0x7f;
  /* A zero first byte would make the INTEGER non-minimal; redraw it (the
   * chance of 64 zero draws in a row is 2^-448). */
  for (int i = 0; i < 64 && out[0] == 0; i++) {
    if (!RAND_bytes(out, 1)) {
      return 0;
    }
    out[0] &= 0x7f;
  }
  return out[0] != 0;
}

/* check_serial accepts a positive, minimally encoded INTEGER of 1..20
 * octets (RFC 5280 4.1.2.2). */
static int check_serial(const uint8_t *serial, size_t len) {
  CBS cbs;
  int negative;
  if (len == 0 || len > VIGIL_X509_MAX_SERIAL) {
    return 0;
  }
  CBS_init(&cbs, serial, len);
  if (!CBS_is_valid_asn1_integer(&cbs, &negative) || negative) {
    return 0;
  }
  return !(len == 1 && serial[0] == 0);
}

/* ======================================================================
 * Encoding helpers
 * ====================================================================== */

static int add_oid(CBB *cbb, const uint8_t *oid, size_t oid_len) {
  CBB child;
  return CBB_add_asn1(cbb, &child, CBS_ASN1_OBJECT) &&
         CBB_add_bytes(&child, oid, oid_len) && CBB_flush(cbb);
}

static int add_tagged_bytes(CBB *cbb, unsigned tag, const uint8_t *data,
                            size_t len) {
  CBB child;
  return CBB_add_asn1(cbb, &child, tag) && CBB_add_bytes(&child, data, len) &&
         CBB_flush(cbb);
}

/* add_time writes a Time: UTCTime through 2049, GeneralizedTime after
 * (RFC 5280 4.1.2.5). */
static int add_time(CBB *cbb, int64_t t) {
  if (t < GENTIME_FROM) {
    uint8_t buf[VIGIL_UTCTIME_LEN];
    return vigil_time_format_utctime(buf, t) &&
           add_tagged_bytes(cbb, CBS_ASN1_UTCTIME, buf, sizeof(buf));
  }
  uint8_t buf[VIGIL_GENTIME_LEN];
  return vigil_time_format_gentime(buf, t) &&
         add_tagged_bytes(cbb, CBS_ASN1_GENERALIZEDTIME, buf, sizeof(buf));
}

/* An Extension being written: SEQUENCE { extnID, critical, extnValue }.
 * Both CBBs must stay alive until the parent is flushed. */
struct ext_writer {
  CBB ext;   /* the Extension SEQUENCE */
  CBB value; /* extnValue OCTET STRING contents */
};

static int ext_begin(CBB *exts, struct ext_writer *w, const uint8_t *oid,
                     size_t oid_len, int critical) {
  return CBB_add_asn1(exts, &w->ext, CBS_ASN1_SEQUENCE) &&
         add_oid(&w->ext, oid, oid_len) &&
         (!critical || CBB_add_asn1_bool(&w->ext, 1)) &&
         CBB_add_asn1(&w->ext, &w->value, CBS_ASN1_OCTETSTRING);
}

/* add_uri_name writes a GeneralName uniformResourceIdentifier [6]. */
static int add_uri_name(CBB *cbb, const char *uri) {
  return add_tagged_bytes(cbb, CBS_ASN1_CONTEXT_SPECIFIC | 6,
                          (const uint8_t *)uri, strlen(uri));
}

static int add_basic_constraints(CBB *exts,
                                 const struct vigil_x509_template *t) {
  struct ext_writer w;
  CBB seq;
  if (!ext_begin(exts, &w, kOidBasicConstraints, sizeof(kOidBasicConstraints),
                 1) ||
      !CBB_add_asn1(&w.value, &seq, CBS_ASN1_SEQUENCE)) {
    return 0;
  }
  /* cA DEFAULT FALSE: DER omits the default. */
  if (t->is_ca && !CBB_add_asn1_bool(&seq, 1)) {
    return 0;
  }
  if (t->is_ca && t->has_path_len && !CBB_add_asn1_uint64(&seq, t->path_len)) {
    return 0;
  }
  return CBB_flush(exts);
}

static int add_key_usage(CBB *exts, unsigned ku) {
  struct ext_writer w;
  CBB bits;
  /* Named bit list: bit n is 0x80 >> n of the first octet, and DER drops
   * trailing zero bits (X.690 11.2.2); all our bits fit in one octet. */
  uint8_t octet = 0;
  for (unsigned n = 0; n < 7; n++) {
    if (ku & (1u << n)) {
      octet |= (uint8_t)(0x80u >> n);
    }
  }
  uint8_t unused = 0;
  while (unused < 7 && (octet & (1u << unused)) == 0) {
    unused++;
  }
  return ext_begin(exts, &w, kOidKeyUsage, sizeof(kOidKeyUsage), 1) &&
         CBB_add_asn1(&w.value, &bits, CBS_ASN1_BITSTRING) &&
         CBB_add_u8(&bits, unused) && CBB_add_u8(&bits, octet) &&
         CBB_flush(exts);
}

static int add_ext_key_usage(CBB *exts, unsigned eku) {
  struct ext_writer w;
  CBB seq;
  if (!ext_begin(exts, &w, kOidEku, sizeof(kOidEku), 0) ||
      !CBB_add_asn1(&w.value, &seq, CBS_ASN1_SEQUENCE)) {
    return 0;
  }
  for (size_t i = 0; i < sizeof(kKpNumbers); i++) {
    CBB oid;
    if ((eku & (1u << i)) == 0) {
      continue;
    }
    if (!CBB_add_asn1(&seq, &oid, CBS_ASN1_OBJECT) ||
        !CBB_add_bytes(&oid, kOidKpPrefix, sizeof(kOidKpPrefix)) ||
        !CBB_add_u8(&oid, kKpNumbers[i]) || !CBB_flush(&seq)) {
      return 0;
    }
  }
  return CBB_flush(exts);
}

static int add_ski(CBB *exts, const uint8_t ski[SHA_DIGEST_LENGTH]) {
  struct ext_writer w;
  return ext_begin(exts, &w, kOidSki, sizeof(kOidSki), 0) &&
         CBB_add_asn1_octet_string(&w.value, ski, SHA_DIGEST_LENGTH) &&
         CBB_flush(exts);
}

static int add_aki(CBB *exts, const uint8_t *keyid, size_t keyid_len) {
  struct ext_writer w;
  CBB seq;
  /* AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT
   * OCTET STRING, ... } */
  return ext_begin(exts, &w, kOidAki, sizeof(kOidAki), 0) &&
         CBB_add_asn1(&w.value, &seq, CBS_ASN1_SEQUENCE) &&
         add_tagged_bytes(&seq, CBS_ASN1_CONTEXT_SPECIFIC | 0, keyid,
                          keyid_len) &&
         CBB_flush(exts);
}

static int add_san(CBB *exts, const struct vigil_x509_san *sans, size_t num,
                   int critical) {
  struct ext_writer w;
  CBB seq;
  if (!ext_begin(exts, &w, kOidSan, sizeof(kOidSan), critical) ||
      !CBB_add_asn1(&w.value, &seq, CBS_ASN1_SEQUENCE)) {
    return 0;
  }
  for (size_t i = 0; i < num; i++) {
    unsigned tag = 0;
    switch (sans[i].type) {
      case VIGIL_X509_SAN_EMAIL:
        tag = 1; /* rfc822Name */
        break;
      case VIGIL_X509_SAN_DNS:
        tag = 2; /* dNSName */
        break;
      case VIGIL_X509_SAN_URI:
        tag = 6; /* uniformResourceIdentifier */
        break;
      case VIGIL_X509_SAN_IP:
        tag = 7; /* iPAddress */
        break;
    }
    if (tag == 0 || !add_tagged_bytes(&seq, CBS_ASN1_CONTEXT_SPECIFIC | tag,
                                      sans[i].value, sans[i].value_len)) {
      return 0;
    }
  }
  return CBB_flush(exts);
}

static int add_access_description(CBB *seq, const uint8_t *method,
                                  size_t method_len, const char *url) {
  CBB ad;
  return CBB_add_asn1(seq, &ad, CBS_ASN1_SEQUENCE) &&
         add_oid(&ad, method, method_len) && add_uri_name(&ad, url) &&
         CBB_flush(seq);
}

static int add_aia(CBB *exts, const char *ocsp_url, const char *ca_issuers) {
  struct ext_writer w;
  CBB seq;
  if (!ext_begin(exts, &w, kOidAia, sizeof(kOidAia), 0) ||
      !CBB_add_asn1(&w.value, &seq, CBS_ASN1_SEQUENCE)) {
    return 0;
  }
  if (ocsp_url != NULL &&
      !add_access_description(&seq, kOidAdOcsp, sizeof(kOidAdOcsp), ocsp_url)) {
    return 0;
  }
  if (ca_issuers != NULL &&
      !add_access_description(&seq, kOidAdCaIssuers, sizeof(kOidAdCaIssuers),
                              ca_issuers)) {
    return 0;
  }
  return CBB_flush(exts);
}

static int add_crl_dp(CBB *exts, const char *url) {
  struct ext_writer w;
  CBB dps, dp, dp_name, full_name;
  /* CRLDistributionPoints ::= SEQUENCE OF DistributionPoint {
   *   distributionPoint [0] DistributionPointName { fullName [0]
   *   GeneralNames } }; both tags are constructed (the first wraps a
   * CHOICE, the second a SEQUENCE OF). */
  return ext_begin(exts, &w, kOidCrlDp, sizeof(kOidCrlDp), 0) &&
         CBB_add_asn1(&w.value, &dps, CBS_ASN1_SEQUENCE) &&
         CBB_add_asn1(&dps, &dp, CBS_ASN1_SEQUENCE) &&
         CBB_add_asn1(&dp, &dp_name,
                      CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) &&
         CBB_add_asn1(&dp_name, &full_name,
                      CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) &&
         add_uri_name(&full_name, url) && CBB_flush(exts);
}

/* add_policy_oid writes one OBJECT IDENTIFIER from dotted text. */
static int add_policy_oid(CBB *cbb, const char *text) {
  CBB oid;
  size_t len = strnlen(text, 128);
  return len > 0 && len < 128 && CBB_add_asn1(cbb, &oid, CBS_ASN1_OBJECT) &&
         CBB_add_asn1_oid_from_text(&oid, text, len) && CBB_flush(cbb);
}

static int add_policies(CBB *exts, const char *const *policies, size_t num) {
  struct ext_writer w;
  CBB seq;
  if (!ext_begin(exts, &w, kOidPolicies, sizeof(kOidPolicies), 0) ||
      !CBB_add_asn1(&w.value, &seq, CBS_ASN1_SEQUENCE)) {
    return 0;
  }
  for (size_t i = 0; i < num; i++) {
    CBB info;
    if (!CBB_add_asn1(&seq, &info, CBS_ASN1_SEQUENCE) ||
        !add_policy_oid(&info, policies[i]) || !CBB_flush(&seq)) {
      return 0;
    }
  }
  return CBB_flush(exts);
}

static int add_ocsp_nocheck(CBB *exts) {
  struct ext_writer w;
  CBB null;
  return ext_begin(exts, &w, kOidOcspNocheck, sizeof(kOidOcspNocheck), 0) &&
         CBB_add_asn1(&w.value, &null, CBS_ASN1_NULL) && CBB_flush(exts);
}

/* ======================================================================
 * Template checks
 * ====================================================================== */

/* check_policy_text checks that |text| encodes as an OID. */
static int check_policy_text(const char *text) {
  uint8_t buf[64];
  CBB cbb;
  size_t len;
  if (text == NULL || !CBB_init_fixed(&cbb, buf, sizeof(buf))) {
    return 0;
  }
  int ok = add_policy_oid(&cbb, text) && CBB_finish(&cbb, NULL, &len);
  if (!ok) {
    CBB_cleanup(&cbb);
  }
  return ok;
}

/* What an issuer certificate allows that vigil_cert does not expose. */
struct issuer_limits {
  int key_usage_ok; /* keyUsage absent, or present with keyCertSign */
  int has_path_len; /* basicConstraints carries pathLenConstraint */
  uint64_t path_len;
};

/* read_issuer_limits walks |issuer|'s extensions (vigil_cert_parse has
 * already checked the structure). Returns 1 on success, 0 if malformed. */
static int read_issuer_limits(struct issuer_limits *out,
                              const struct vigil_cert *issuer) {
  CBS tbs = issuer->tbs;
  CBS seq, elem;
  unsigned tag;
  memset(out, 0, sizeof(*out));
  out->key_usage_ok = 1;
  if (!CBS_get_asn1(&tbs, &seq, CBS_ASN1_SEQUENCE)) {
    return 0;
  }
  while (CBS_len(&seq) > 0) {
    if (!CBS_get_any_asn1(&seq, &elem, &tag)) {
      return 0;
    }
    if (tag != (CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 3)) {
      continue; /* version .. subjectPublicKeyInfo, unique IDs */
    }
    CBS list;
    if (!CBS_get_asn1(&elem, &list, CBS_ASN1_SEQUENCE)) {
      return 0;
    }
    while (CBS_len(&list) > 0) {
      CBS ext, oid, value;
      int critical;
      if (!CBS_get_asn1(&list, &ext, CBS_ASN1_SEQUENCE) ||
          !CBS_get_asn1(&ext, &oid, CBS_ASN1_OBJECT) ||
          (CBS_peek_asn1_tag(&ext, CBS_ASN1_BOOLEAN) &&
           !CBS_get_asn1_bool(&ext, &critical)) ||
          !CBS_get_asn1(&ext, &value, CBS_ASN1_OCTETSTRING)) {
        return 0;
      }
      if (CBS_mem_equal(&oid, kOidKeyUsage, sizeof(kOidKeyUsage))) {
        CBS bits;
        if (!CBS_get_asn1(&value, &bits, CBS_ASN1_BITSTRING) ||
            !CBS_is_valid_asn1_bitstring(&bits)) {
          return 0;
        }
        out->key_usage_ok = CBS_asn1_bitstring_has_bit(&bits, 5);
      } else if (CBS_mem_equal(&oid, kOidBasicConstraints,
                               sizeof(kOidBasicConstraints))) {
        CBS bc;
        int ca;
        if (!CBS_get_asn1(&value, &bc, CBS_ASN1_SEQUENCE) ||
            (CBS_peek_asn1_tag(&bc, CBS_ASN1_BOOLEAN) &&
             !CBS_get_asn1_bool(&bc, &ca))) {
          return 0;
        }
        if (CBS_len(&bc) > 0) {
          if (!CBS_get_asn1_uint64(&bc, &out->path_len)) {
            return 0;
          }
          out->has_path_len = 1;
        }
      }
    }
  }
  return 1;
}

/* Facts about the request that the encoder needs after checking. */
struct checked {
  const uint8_t *spki; /* subject SPKI (template's or issuer key's) */
  size_t spki_len;
  uint8_t ski[SHA_DIGEST_LENGTH]; /* SHA-1 of the subject key bits */
  const uint8_t *aki;             /* issuer key identifier */
  size_t aki_len;
  const uint8_t *issuer_name; /* issuer Name DER */
  size_t issuer_name_len;
  uint8_t serial[VIGIL_X509_SERIAL_LEN]; /* generated serial, if any */
  const uint8_t *serial_der;             /* serial to write */
  size_t serial_len;
  int subject_empty; /* subject is the empty Name */
};

static enum vigil_x509_err check_extensions(const struct vigil_x509_template *t,
                                            const struct vigil_cert *issuer,
                                            enum vigil_key_type key_type) {
  /* Key usage. */
  if ((t->key_usage & ~KU_ALL) != 0) {
    return VIGIL_X509_ERR_KEY_USAGE;
  }
  if (t->is_ca && (t->key_usage & VIGIL_X509_KU_KEY_CERT_SIGN) == 0) {
    return VIGIL_X509_ERR_KEY_USAGE;
  }
  if (!t->is_ca && (t->key_usage & (VIGIL_X509_KU_KEY_CERT_SIGN |
                                    VIGIL_X509_KU_CRL_SIGN)) != 0) {
    return VIGIL_X509_ERR_KEY_USAGE;
  }
  if ((t->key_usage & (VIGIL_X509_KU_KEY_ENCIPHERMENT |
                       VIGIL_X509_KU_DATA_ENCIPHERMENT)) != 0 &&
      key_type != VIGIL_KEY_RSA) {
    return VIGIL_X509_ERR_KEY_USAGE;
  }
  if ((t->key_usage & VIGIL_X509_KU_KEY_AGREEMENT) != 0 &&
      key_type != VIGIL_KEY_EC_P256 && key_type != VIGIL_KEY_EC_P384) {
    return VIGIL_X509_ERR_KEY_USAGE;
  }

  /* Extended key usage. */
  unsigned eku = t->ext_key_usage;
  if ((eku & ~EKU_ALL) != 0) {
    return VIGIL_X509_ERR_EXT_KEY_USAGE;
  }
  /* BR 7.1.2.1: a root has no extKeyUsage. BR 7.1.2.10.6: no CA has
   * OCSPSigning (a CA signs OCSP by being the issuer, and the EKU would
   * make it a delegated responder for its own parent). */
  if (t->is_ca && issuer == NULL && eku != 0) {
    return VIGIL_X509_ERR_EXT_KEY_USAGE;
  }
  if (t->is_ca && (eku & VIGIL_X509_EKU_OCSP_SIGNING) != 0) {
    return VIGIL_X509_ERR_EXT_KEY_USAGE;
  }
  /* BR 7.1.2.8.5: a responder's EKU is OCSPSigning alone, and RFC 6960
   * 4.2.2.2 wants it issued by the CA it answers for. */
  if ((eku & VIGIL_X509_EKU_OCSP_SIGNING) != 0 &&
      (eku != VIGIL_X509_EKU_OCSP_SIGNING || issuer == NULL)) {
    return VIGIL_X509_ERR_EXT_KEY_USAGE;
  }
  if ((t->ocsp_nocheck != 0) != ((eku & VIGIL_X509_EKU_OCSP_SIGNING) != 0)) {
    return VIGIL_X509_ERR_NOCHECK;
  }
  if (t->has_path_len && !t->is_ca) {
    return VIGIL_X509_ERR_PATH_LEN;
  }

  /* Names and URLs. */
  if (t->num_sans > VIGIL_X509_MAX_SANS ||
      (t->num_sans > 0 && t->sans == NULL)) {
    return VIGIL_X509_ERR_SAN;
  }
  for (size_t i = 0; i < t->num_sans; i++) {
    if (!vigil_x509_san_check(&t->sans[i])) {
      return VIGIL_X509_ERR_SAN;
    }
  }
  if ((t->ocsp_url != NULL && !check_url(t->ocsp_url)) ||
      (t->ca_issuers_url != NULL && !check_url(t->ca_issuers_url)) ||
      (t->crl_url != NULL && !check_url(t->crl_url))) {
    return VIGIL_X509_ERR_URL;
  }
  if (t->num_policies > VIGIL_X509_MAX_POLICIES ||
      (t->num_policies > 0 && t->policies == NULL)) {
    return VIGIL_X509_ERR_POLICY;
  }
  for (size_t i = 0; i < t->num_policies; i++) {
    if (!check_policy_text(t->policies[i])) {
      return VIGIL_X509_ERR_POLICY;
    }
  }
  return VIGIL_X509_OK;
}

static enum vigil_x509_err check_template(struct checked *c,
                                          const struct vigil_x509_template *t,
                                          const struct vigil_cert *issuer,
                                          const struct vigil_key *issuer_key,
                                          int64_t now) {
  enum vigil_x509_err err;
  enum vigil_key_type key_type;
  size_t key_spki_len;
  const uint8_t *key_spki = vigil_key_get0_spki(issuer_key, &key_spki_len);

  /* Subject key. */
  c->spki = t->spki;
  c->spki_len = t->spki_len;
  if (c->spki == NULL) {
    if (issuer != NULL) {
      return VIGIL_X509_ERR_ARG;
    }
    c->spki = key_spki;
    c->spki_len = key_spki_len;
  }
  err = vigil_x509_spki_check(NULL, &key_type, c->spki, c->spki_len);
  if (err != VIGIL_X509_OK) {
    return err;
  }
  CBS bits;
  if (!spki_key_bits(&bits, c->spki, c->spki_len)) {
    return VIGIL_X509_ERR_KEY_PARSE;
  }
  SHA1(CBS_data(&bits), CBS_len(&bits), c->ski);

  /* Issuer. */
  if (issuer == NULL) {
    if (c->spki_len != key_spki_len ||
        memcmp(c->spki, key_spki, key_spki_len) != 0) {
      return VIGIL_X509_ERR_ISSUER_KEY;
    }
    c->aki = c->ski;
    c->aki_len = sizeof(c->ski);
    c->issuer_name = t->subject;
    c->issuer_name_len = t->subject_len;
  } else {
    if (!vigil_cert_matches_key(issuer, issuer_key)) {
      return VIGIL_X509_ERR_ISSUER_KEY;
    }
    struct issuer_limits limits;
    if (!issuer->is_ca || !read_issuer_limits(&limits, issuer) ||
        !limits.key_usage_ok) {
      return VIGIL_X509_ERR_ISSUER_NOT_CA;
    }
    /* RFC 5280 4.2.1.9: below a pathLenConstraint of n there are at most
     * n more CAs; a sub-CA's own constraint must be smaller. */
    if (t->is_ca && limits.has_path_len &&
        (limits.path_len == 0 ||
         (t->has_path_len && t->path_len >= limits.path_len))) {
      return VIGIL_X509_ERR_PATH_LEN;
    }
    if (CBS_len(&issuer->ski) > 0) {
      c->aki = CBS_data(&issuer->ski);
      c->aki_len = CBS_len(&issuer->ski);
    } else {
      c->aki = issuer->key_sha1;
      c->aki_len = sizeof(issuer->key_sha1);
    }
    c->issuer_name = CBS_data(&issuer->subject);
    c->issuer_name_len = CBS_len(&issuer->subject);
  }

  /* Serial. */
  if (t->serial == NULL || t->serial_len == 0) {
    if (!vigil_x509_serial_generate(c->serial)) {
      return VIGIL_X509_ERR_SERIAL;
    }
    c->serial_der = c->serial;
    c->serial_len = sizeof(c->serial);
  } else if (!check_serial(t->serial, t->serial_len)) {
    return VIGIL_X509_ERR_SERIAL;
  } else {
    c->serial_der = t->serial;
    c->serial_len = t->serial_len;
  }

  /* Validity. */
  if (t->not_after <= t->not_before || t->not_before < VIGIL_TIME_MIN ||
      t->not_after > VIGIL_TIME_MAX) {
    return VIGIL_X509_ERR_VALIDITY;
  }
  if (issuer != NULL && (t->not_before < issuer->not_before ||
                         t->not_after > issuer->not_after)) {
    return VIGIL_X509_ERR_ISSUER_VALIDITY;
  }
  if ((t->ext_key_usage & VIGIL_X509_EKU_OCSP_SIGNING) != 0 &&
      t->not_before < now - VIGIL_X509_RESPONDER_MAX_BACKDATE) {
    return VIGIL_X509_ERR_BACKDATED;
  }

  /* Subject. RFC 5280 4.1.2.6: an empty subject needs a critical SAN; a
   * CA's subject (and so a self-signed issuer Name) must not be empty. */
  if (t->subject == NULL ||
      !vigil_x509_name_check(t->subject, t->subject_len)) {
    return VIGIL_X509_ERR_NAME;
  }
  c->subject_empty = t->subject_len == 2;
  if (c->subject_empty && (t->is_ca || issuer == NULL || t->num_sans == 0)) {
    return VIGIL_X509_ERR_EMPTY_SUBJECT;
  }

  return check_extensions(t, issuer, key_type);
}

/* ======================================================================
 * Issuance
 * ====================================================================== */

static int add_extensions(CBB *tbs, const struct vigil_x509_template *t,
                          const struct checked *c) {
  CBB wrap, exts;
  if (!CBB_add_asn1(tbs, &wrap,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 3) ||
      !CBB_add_asn1(&wrap, &exts, CBS_ASN1_SEQUENCE) ||
      !add_basic_constraints(&exts, t) ||
      (t->key_usage != 0 && !add_key_usage(&exts, t->key_usage)) ||
      (t->ext_key_usage != 0 && !add_ext_key_usage(&exts, t->ext_key_usage)) ||
      ((t->is_ca || !t->omit_ski) && !add_ski(&exts, c->ski)) ||
      !add_aki(&exts, c->aki, c->aki_len) ||
      (t->num_sans > 0 &&
       !add_san(&exts, t->sans, t->num_sans, c->subject_empty)) ||
      ((t->ocsp_url != NULL || t->ca_issuers_url != NULL) &&
       !add_aia(&exts, t->ocsp_url, t->ca_issuers_url)) ||
      (t->crl_url != NULL && !add_crl_dp(&exts, t->crl_url)) ||
      (t->num_policies > 0 &&
       !add_policies(&exts, t->policies, t->num_policies)) ||
      (t->ocsp_nocheck && !add_ocsp_nocheck(&exts))) {
    return 0;
  }
  return CBB_flush(tbs);
}

/* encode_tbs writes the TBSCertificate (RFC 5280 4.1) to |tbs|. */
static int encode_tbs(CBB *tbs, const struct vigil_x509_template *t,
                      const struct checked *c,
                      const struct vigil_key *issuer_key) {
  CBB seq, version, validity;
  size_t sig_alg_len;
  const uint8_t *sig_alg = vigil_key_get0_sig_alg(issuer_key, &sig_alg_len);
  return CBB_add_asn1(tbs, &seq, CBS_ASN1_SEQUENCE) &&
         CBB_add_asn1(&seq, &version,
                      CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) &&
         CBB_add_asn1_uint64(&version, 2) && /* v3 */
         add_tagged_bytes(&seq, CBS_ASN1_INTEGER, c->serial_der,
                          c->serial_len) &&
         CBB_add_bytes(&seq, sig_alg, sig_alg_len) &&
         CBB_add_bytes(&seq, c->issuer_name, c->issuer_name_len) &&
         CBB_add_asn1(&seq, &validity, CBS_ASN1_SEQUENCE) &&
         add_time(&validity, t->not_before) &&
         add_time(&validity, t->not_after) &&
         CBB_add_bytes(&seq, t->subject, t->subject_len) &&
         CBB_add_bytes(&seq, c->spki, c->spki_len) &&
         add_extensions(&seq, t, c) && CBB_flush(tbs);
}

enum vigil_x509_err vigil_x509_issue(CBB *cbb,
                                     const struct vigil_x509_template *tmpl,
                                     const struct vigil_cert *issuer,
                                     const struct vigil_key *issuer_key,
                                     int64_t now) {
  struct checked c;
  CBB tbs;
  uint8_t *tbs_der = NULL;
  size_t tbs_len = 0;
  enum vigil_x509_err err;

  memset(&c, 0, sizeof(c));
  CBB_zero(&tbs);
  if (cbb == NULL || tmpl == NULL || issuer_key == NULL) {
    return VIGIL_X509_ERR_ARG;
  }
  err = check_template(&c, tmpl, issuer, issuer_key, now);
  if (err != VIGIL_X509_OK) {
    goto err;
  }
  if (!CBB_init(&tbs, 1024) || !encode_tbs(&tbs, tmpl, &c, issuer_key) ||
      !CBB_finish(&tbs, &tbs_der, &tbs_len)) {
    err = VIGIL_X509_ERR_NOMEM;
    goto err;
  }
  if (!vigil_key_add_signed(issuer_key, cbb, tbs_der, tbs_len)) {
    err = VIGIL_X509_ERR_SIGN;
    goto err;
  }
  err = VIGIL_X509_OK;

err:
  CBB_cleanup(&tbs);
  OPENSSL_free(tbs_der);
  return err;
}

enum vigil_x509_err vigil_x509_issue_der(uint8_t **out_der, size_t *out_der_len,
                                         const struct vigil_x509_template *tmpl,
                                         const struct vigil_cert *issuer,
                                         const struct vigil_key *issuer_key,
                                         int64_t now) {
  CBB cbb;
  uint8_t *der = NULL;
  size_t der_len = 0;
  enum vigil_x509_err err;

  *out_der = NULL;
  *out_der_len = 0;
  CBB_zero(&cbb);
  if (!CBB_init(&cbb, 2048)) {
    return VIGIL_X509_ERR_NOMEM;
  }
  err = vigil_x509_issue(&cbb, tmpl, issuer, issuer_key, now);
  if (err != VIGIL_X509_OK) {
    goto err;
  }
  if (!CBB_finish(&cbb, &der, &der_len)) {
    err = VIGIL_X509_ERR_NOMEM;
    goto err;
  }
  /* Hand out vigil_malloc memory so callers free everything one way. */
  *out_der = vigil_malloc(der_len);
  if (*out_der == NULL) {
    err = VIGIL_X509_ERR_NOMEM;
    goto err;
  }
  memcpy(*out_der, der, der_len);
  *out_der_len = der_len;

err:
  CBB_cleanup(&cbb);
  OPENSSL_free(der);
  return err;
}

/* ======================================================================
 * Profiles
 * ====================================================================== */

static const char *const kPolicyAny[] = { VIGIL_X509_POLICY_ANY };
static const char *const kPolicyDv[] = { VIGIL_X509_POLICY_BR_DV };

static void profile_base(struct vigil_x509_template *out, int64_t now,
                         int64_t lifetime) {
  memset(out, 0, sizeof(*out));
  out->not_before = now - VIGIL_X509_BACKDATE;
  out->not_after = now + lifetime;
}

void vigil_x509_profile_root_ca(struct vigil_x509_template *out, int64_t now,
                                int64_t lifetime) {
  profile_base(out, now, lifetime);
  out->is_ca = 1;
  out->key_usage = VIGIL_X509_KU_KEY_CERT_SIGN | VIGIL_X509_KU_CRL_SIGN |
                   VIGIL_X509_KU_DIGITAL_SIGNATURE;
}

void vigil_x509_profile_intermediate_ca(struct vigil_x509_template *out,
                                        int64_t now, int64_t lifetime,
                                        int path_len, unsigned eku) {
  profile_base(out, now, lifetime);
  out->is_ca = 1;
  out->has_path_len = path_len >= 0;
  out->path_len = path_len >= 0 ? (unsigned)path_len : 0;
  out->key_usage = VIGIL_X509_KU_KEY_CERT_SIGN | VIGIL_X509_KU_CRL_SIGN |
                   VIGIL_X509_KU_DIGITAL_SIGNATURE;
  out->ext_key_usage = eku;
  out->policies = kPolicyAny;
  out->num_policies = 1;
}

void vigil_x509_profile_tls_server(struct vigil_x509_template *out, int64_t now,
                                   int64_t lifetime,
                                   enum vigil_key_type key_type) {
  profile_base(out, now, lifetime);
  out->key_usage = VIGIL_X509_KU_DIGITAL_SIGNATURE;
  if (key_type == VIGIL_KEY_RSA) {
    out->key_usage |= VIGIL_X509_KU_KEY_ENCIPHERMENT;
  }
  out->ext_key_usage = VIGIL_X509_EKU_SERVER_AUTH | VIGIL_X509_EKU_CLIENT_AUTH;
  out->omit_ski = 1;
  out->policies = kPolicyDv;
  out->num_policies = 1;
}

void vigil_x509_profile_ocsp_responder(struct vigil_x509_template *out,
                                       int64_t now, int64_t lifetime) {
  profile_base(out, now, lifetime);
  out->key_usage = VIGIL_X509_KU_DIGITAL_SIGNATURE;
  out->ext_key_usage = VIGIL_X509_EKU_OCSP_SIGNING;
  out->ocsp_nocheck = 1;
}

/* ======================================================================
 * Errors
 * ====================================================================== */

const char *vigil_x509_err_string(enum vigil_x509_err err) {
  switch (err) {
    case VIGIL_X509_OK:
      return "ok";
    case VIGIL_X509_ERR_ARG:
      return "required input missing";
    case VIGIL_X509_ERR_SERIAL:
      return "serial number must be a positive INTEGER of 1..20 octets";
    case VIGIL_X509_ERR_VALIDITY:
      return "notAfter must be after notBefore, both within 1950..9999";
    case VIGIL_X509_ERR_ISSUER_VALIDITY:
      return "validity must lie within the issuer's validity";
    case VIGIL_X509_ERR_BACKDATED:
      return "OCSP responder notBefore more than one day before signing";
    case VIGIL_X509_ERR_NAME:
      return "subject Name malformed or a name attribute invalid";
    case VIGIL_X509_ERR_EMPTY_SUBJECT:
      return "empty subject needs SANs and is not allowed for CAs or "
             "self-signed certificates";
    case VIGIL_X509_ERR_KEY_PARSE:
      return "public key unparsable";
    case VIGIL_X509_ERR_KEY_ALGORITHM:
      return "public key algorithm not supported (want EC, RSA, Ed25519)";
    case VIGIL_X509_ERR_KEY_CURVE:
      return "EC curve not supported (want P-256 or P-384)";
    case VIGIL_X509_ERR_KEY_SIZE:
      return "RSA key size not supported (want 2048..8192 bits)";
    case VIGIL_X509_ERR_SAN:
      return "subjectAltName entry malformed, or too many";
    case VIGIL_X509_ERR_URL:
      return "AIA / CRL URL must be an http:// URL";
    case VIGIL_X509_ERR_POLICY:
      return "certificate policy OID invalid, or too many";
    case VIGIL_X509_ERR_KEY_USAGE:
      return "keyUsage inconsistent with cA or the key type";
    case VIGIL_X509_ERR_EXT_KEY_USAGE:
      return "extKeyUsage inconsistent with the profile";
    case VIGIL_X509_ERR_PATH_LEN:
      return "pathLenConstraint is only for CAs";
    case VIGIL_X509_ERR_NOCHECK:
      return "ocsp-nocheck and OCSPSigning go together";
    case VIGIL_X509_ERR_ISSUER_NOT_CA:
      return "issuer certificate is not a CA";
    case VIGIL_X509_ERR_ISSUER_KEY:
      return "issuer key does not match the issuer certificate";
    case VIGIL_X509_ERR_SIGN:
      return "signing failed";
    case VIGIL_X509_ERR_NOMEM:
      return "out of memory";
  }
  return "unknown x509 error";
}
