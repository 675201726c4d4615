/* csr.c: PKCS#10 certificate signing requests (see vigil/csr.h).
 *
 * Checks run from cheap to expensive and structure before crypto: DER
 * framing, version, the extensionRequest (so a fuzzer, which cannot forge
 * signatures, still reaches the SAN decoder), the key, the signature
 * algorithm, and last the signature itself. */
#include "vigil/csr.h"

#include <string.h>

#include <openssl/bytestring.h>
#include <openssl/evp.h>

#include "vigil/alloc.h"
#include "vigil/cert.h"

/* pkcs-9-at-extensionRequest 1.2.840.113549.1.9.14 */
static const uint8_t kOidExtensionRequest[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                                0x0d, 0x01, 0x09, 0x0e };
/* id-ce-subjectAltName 2.5.29.17 */
static const uint8_t kOidSan[] = { 0x55, 0x1d, 0x11 };

/* Signature algorithms a CSR may use: those vigil_key_verify accepts. */
struct sig_alg {
  uint8_t oid[9];
  uint8_t oid_len;
  int rsa; /* 1: RSA (parameters NULL or absent); 0: parameters absent */
  enum vigil_key_type key1, key2; /* key types it fits */
};

static const struct sig_alg kSigAlgs[] = {
  /* ecdsa-with-SHA256 / 384 / 512 (1.2.840.10045.4.3.{2,3,4}) */
  { { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 },
    8,
    0,
    VIGIL_KEY_EC_P256,
    VIGIL_KEY_EC_P384 },
  { { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 },
    8,
    0,
    VIGIL_KEY_EC_P256,
    VIGIL_KEY_EC_P384 },
  { { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04 },
    8,
    0,
    VIGIL_KEY_EC_P256,
    VIGIL_KEY_EC_P384 },
  /* sha{256,384,512}WithRSAEncryption (1.2.840.113549.1.1.{11,12,13}) */
  { { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b },
    9,
    1,
    VIGIL_KEY_RSA,
    VIGIL_KEY_RSA },
  { { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c },
    9,
    1,
    VIGIL_KEY_RSA,
    VIGIL_KEY_RSA },
  { { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d },
    9,
    1,
    VIGIL_KEY_RSA,
    VIGIL_KEY_RSA },
  /* Ed25519 (1.3.101.112) */
  { { 0x2b, 0x65, 0x70 }, 3, 0, VIGIL_KEY_ED25519, VIGIL_KEY_ED25519 },
};

/* check_sig_alg returns 1 if the AlgorithmIdentifier element |alg_der| is
 * one we verify and fits |key_type|. */
static int check_sig_alg(const CBS *alg_der, enum vigil_key_type key_type) {
  CBS in = *alg_der;
  CBS alg, oid;
  if (!CBS_get_asn1(&in, &alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&alg, &oid, CBS_ASN1_OBJECT)) {
    return 0;
  }
  for (size_t i = 0; i < sizeof(kSigAlgs) / sizeof(kSigAlgs[0]); i++) {
    const struct sig_alg *a = &kSigAlgs[i];
    if (!CBS_mem_equal(&oid, a->oid, a->oid_len)) {
      continue;
    }
    if (key_type != a->key1 && key_type != a->key2) {
      return 0;
    }
    if (CBS_len(&alg) == 0) {
      return 1;
    }
    CBS null;
    return a->rsa && CBS_get_asn1(&alg, &null, CBS_ASN1_NULL) &&
           CBS_len(&null) == 0 && CBS_len(&alg) == 0;
  }
  return 0;
}

/* parse_sans decodes the subjectAltName extnValue |value| into
 * |csr->sans|. */
static enum vigil_csr_err parse_sans(struct vigil_csr *csr, CBS value) {
  CBS names, scan;
  if (!CBS_get_asn1(&value, &names, CBS_ASN1_SEQUENCE) ||
      CBS_len(&value) != 0 || CBS_len(&names) == 0) {
    return VIGIL_CSR_ERR_SAN;
  }
  /* Count first so the array is allocated once and bounded. */
  size_t count = 0;
  scan = names;
  while (CBS_len(&scan) > 0) {
    CBS name;
    unsigned tag;
    if (!CBS_get_any_asn1(&scan, &name, &tag)) {
      return VIGIL_CSR_ERR_SAN;
    }
    if (++count > VIGIL_X509_MAX_SANS) {
      return VIGIL_CSR_ERR_SAN;
    }
  }
  csr->sans = vigil_calloc(count, sizeof(*csr->sans));
  if (csr->sans == NULL) {
    return VIGIL_CSR_ERR_NOMEM;
  }
  while (CBS_len(&names) > 0) {
    CBS name;
    unsigned tag;
    struct vigil_x509_san *san = &csr->sans[csr->num_sans];
    if (!CBS_get_any_asn1(&names, &name, &tag)) {
      return VIGIL_CSR_ERR_SAN;
    }
    switch (tag) {
      case CBS_ASN1_CONTEXT_SPECIFIC | 1:
        san->type = VIGIL_X509_SAN_EMAIL;
        break;
      case CBS_ASN1_CONTEXT_SPECIFIC | 2:
        san->type = VIGIL_X509_SAN_DNS;
        break;
      case CBS_ASN1_CONTEXT_SPECIFIC | 6:
        san->type = VIGIL_X509_SAN_URI;
        break;
      case CBS_ASN1_CONTEXT_SPECIFIC | 7:
        san->type = VIGIL_X509_SAN_IP;
        break;
      default:
        /* otherName, directoryName, registeredID...: we would not issue
         * them, and silently dropping a requested name is worse. */
        return VIGIL_CSR_ERR_SAN;
    }
    san->value = CBS_data(&name);
    san->value_len = CBS_len(&name);
    if (!vigil_x509_san_check(san)) {
      return VIGIL_CSR_ERR_SAN;
    }
    csr->num_sans++;
  }
  return VIGIL_CSR_OK;
}

/* get_critical reads the optional critical BOOLEAN of an Extension. An
 * explicit FALSE is not DER (it is the default) but some encoders write it;
 * it is harmless, so it is accepted. */
static int get_critical(CBS *ext, int *out_critical) {
  *out_critical = 0;
  if (!CBS_peek_asn1_tag(ext, CBS_ASN1_BOOLEAN)) {
    return 1;
  }
  return CBS_get_asn1_bool(ext, out_critical);
}

/* parse_extensions checks the requested Extensions in |csr->extensions|:
 * each well formed, none repeated, at most VIGIL_CSR_MAX_EXTENSIONS; and
 * decodes the SANs. */
static enum vigil_csr_err parse_extensions(struct vigil_csr *csr) {
  CBS oids[VIGIL_CSR_MAX_EXTENSIONS];
  size_t num = 0;
  CBS in = csr->extensions;
  CBS list;
  if (!CBS_get_asn1(&in, &list, CBS_ASN1_SEQUENCE) || CBS_len(&list) == 0) {
    return VIGIL_CSR_ERR_EXTENSIONS;
  }
  while (CBS_len(&list) > 0) {
    CBS ext, oid, value;
    int critical = 0;
    if (num == VIGIL_CSR_MAX_EXTENSIONS ||
        !CBS_get_asn1(&list, &ext, CBS_ASN1_SEQUENCE) ||
        !CBS_get_asn1(&ext, &oid, CBS_ASN1_OBJECT) || CBS_len(&oid) == 0 ||
        !get_critical(&ext, &critical) ||
        !CBS_get_asn1(&ext, &value, CBS_ASN1_OCTETSTRING) ||
        CBS_len(&ext) != 0) {
      return VIGIL_CSR_ERR_EXTENSIONS;
    }
    for (size_t i = 0; i < num; i++) {
      if (CBS_mem_equal(&oids[i], CBS_data(&oid), CBS_len(&oid))) {
        return VIGIL_CSR_ERR_EXTENSIONS;
      }
    }
    oids[num++] = oid;
    if (CBS_mem_equal(&oid, kOidSan, sizeof(kOidSan))) {
      enum vigil_csr_err err = parse_sans(csr, value);
      if (err != VIGIL_CSR_OK) {
        return err;
      }
    }
  }
  return VIGIL_CSR_OK;
}

/* parse_attributes walks the attributes [0] contents |attrs| and picks up
 * the one extensionRequest. */
static enum vigil_csr_err parse_attributes(struct vigil_csr *csr, CBS attrs) {
  int seen = 0;
  while (CBS_len(&attrs) > 0) {
    CBS attr, type, values;
    if (!CBS_get_asn1(&attrs, &attr, CBS_ASN1_SEQUENCE) ||
        !CBS_get_asn1(&attr, &type, CBS_ASN1_OBJECT) ||
        !CBS_get_asn1(&attr, &values, CBS_ASN1_SET) || CBS_len(&attr) != 0) {
      return VIGIL_CSR_ERR_DER;
    }
    if (!CBS_mem_equal(&type, kOidExtensionRequest,
                       sizeof(kOidExtensionRequest))) {
      continue;
    }
    if (seen ||
        !CBS_get_asn1_element(&values, &csr->extensions, CBS_ASN1_SEQUENCE) ||
        CBS_len(&values) != 0) {
      return VIGIL_CSR_ERR_EXTENSIONS;
    }
    seen = 1;
    enum vigil_csr_err err = parse_extensions(csr);
    if (err != VIGIL_CSR_OK) {
      return err;
    }
  }
  return VIGIL_CSR_OK;
}

static enum vigil_csr_err map_key_err(enum vigil_x509_err err) {
  switch (err) {
    case VIGIL_X509_ERR_KEY_ALGORITHM:
      return VIGIL_CSR_ERR_KEY_ALGORITHM;
    case VIGIL_X509_ERR_KEY_CURVE:
      return VIGIL_CSR_ERR_KEY_CURVE;
    case VIGIL_X509_ERR_KEY_SIZE:
      return VIGIL_CSR_ERR_KEY_SIZE;
    case VIGIL_X509_ERR_NOMEM:
      return VIGIL_CSR_ERR_NOMEM;
    default:
      return VIGIL_CSR_ERR_KEY_PARSE;
  }
}

/* parse_der fills |csr| from |csr->owned| (|len| bytes). */
static enum vigil_csr_err parse_der(struct vigil_csr *csr, size_t len) {
  CBS in, body, info, sig;
  uint8_t unused_bits;
  uint64_t version;
  enum vigil_csr_err err;

  /* CertificationRequest ::= SEQUENCE { certificationRequestInfo,
   *   signatureAlgorithm, signature BIT STRING } */
  CBS_init(&in, csr->owned, len);
  if (!CBS_get_asn1_element(&in, &csr->der, CBS_ASN1_SEQUENCE) ||
      CBS_len(&in) != 0) {
    return VIGIL_CSR_ERR_DER;
  }
  in = csr->der;
  if (!CBS_get_asn1(&in, &body, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1_element(&body, &csr->info, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1_element(&body, &csr->sig_alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&body, &sig, CBS_ASN1_BITSTRING) || CBS_len(&body) != 0 ||
      !CBS_get_u8(&sig, &unused_bits) || unused_bits != 0) {
    return VIGIL_CSR_ERR_DER;
  }
  csr->signature = sig;

  /* CertificationRequestInfo ::= SEQUENCE { version INTEGER, subject Name,
   *   subjectPKInfo, attributes [0] IMPLICIT SET OF Attribute } */
  in = csr->info;
  if (!CBS_get_asn1(&in, &info, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1_uint64(&info, &version)) {
    return VIGIL_CSR_ERR_DER;
  }
  if (version != 0) {
    return VIGIL_CSR_ERR_VERSION;
  }
  if (!CBS_get_asn1_element(&info, &csr->subject, CBS_ASN1_SEQUENCE) ||
      !vigil_x509_name_check(CBS_data(&csr->subject), CBS_len(&csr->subject)) ||
      !CBS_get_asn1_element(&info, &csr->spki, CBS_ASN1_SEQUENCE)) {
    return VIGIL_CSR_ERR_DER;
  }
  /* RFC 2986 makes attributes mandatory, but some encoders omit an empty
   * set; accepting that costs nothing. */
  if (CBS_len(&info) > 0) {
    CBS attrs;
    if (!CBS_get_asn1(&info, &attrs,
                      CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
        CBS_len(&info) != 0) {
      return VIGIL_CSR_ERR_DER;
    }
    err = parse_attributes(csr, attrs);
    if (err != VIGIL_CSR_OK) {
      return err;
    }
  }

  enum vigil_x509_err key_err = vigil_x509_spki_check(
      &csr->pubkey, &csr->key_type, CBS_data(&csr->spki), CBS_len(&csr->spki));
  if (key_err != VIGIL_X509_OK) {
    return map_key_err(key_err);
  }
  if (!check_sig_alg(&csr->sig_alg, csr->key_type)) {
    return VIGIL_CSR_ERR_SIG_ALG;
  }
  if (!vigil_key_verify(csr->pubkey, CBS_data(&csr->sig_alg),
                        CBS_len(&csr->sig_alg), CBS_data(&csr->signature),
                        CBS_len(&csr->signature), CBS_data(&csr->info),
                        CBS_len(&csr->info))) {
    return VIGIL_CSR_ERR_BAD_SIGNATURE;
  }
  return VIGIL_CSR_OK;
}

struct vigil_csr *vigil_csr_parse(enum vigil_csr_err *out_err,
                                  const uint8_t *in, size_t in_len) {
  static const char *const kLabels[] = { "CERTIFICATE REQUEST",
                                         "NEW CERTIFICATE REQUEST" };
  struct vigil_csr *csr = NULL;
  uint8_t *der = NULL;
  size_t der_len = 0;

  switch (vigil_der_input_copy(&der, &der_len, in, in_len, kLabels,
                               sizeof(kLabels) / sizeof(kLabels[0]),
                               VIGIL_CSR_MAX_DER, 2 * VIGIL_CSR_MAX_DER)) {
    case VIGIL_DER_INPUT_OK:
      break;
    case VIGIL_DER_INPUT_TOO_LARGE:
      *out_err = VIGIL_CSR_ERR_TOO_LARGE;
      return NULL;
    case VIGIL_DER_INPUT_NOMEM:
      *out_err = VIGIL_CSR_ERR_NOMEM;
      return NULL;
    default:
      *out_err = VIGIL_CSR_ERR_PEM;
      return NULL;
  }

  csr = vigil_calloc(1, sizeof(*csr));
  if (csr == NULL) {
    vigil_free(der);
    *out_err = VIGIL_CSR_ERR_NOMEM;
    return NULL;
  }
  csr->owned = der;
  *out_err = parse_der(csr, der_len);
  if (*out_err != VIGIL_CSR_OK) {
    vigil_csr_free(csr);
    return NULL;
  }
  return csr;
}

void vigil_csr_free(struct vigil_csr *csr) {
  if (csr == NULL) {
    return;
  }
  EVP_PKEY_free(csr->pubkey);
  vigil_free(csr->sans);
  vigil_free(csr->owned);
  vigil_free(csr);
}

int vigil_csr_find_extension(const struct vigil_csr *csr, int *out_critical,
                             CBS *out_value, const uint8_t *oid,
                             size_t oid_len) {
  CBS in = csr->extensions;
  CBS list;
  /* Already validated by vigil_csr_parse. */
  if (CBS_len(&in) == 0 || !CBS_get_asn1(&in, &list, CBS_ASN1_SEQUENCE)) {
    return 0;
  }
  while (CBS_len(&list) > 0) {
    CBS ext, ext_oid, value;
    int critical = 0;
    if (!CBS_get_asn1(&list, &ext, CBS_ASN1_SEQUENCE) ||
        !CBS_get_asn1(&ext, &ext_oid, CBS_ASN1_OBJECT) ||
        !get_critical(&ext, &critical) ||
        !CBS_get_asn1(&ext, &value, CBS_ASN1_OCTETSTRING)) {
      return 0;
    }
    if (CBS_mem_equal(&ext_oid, oid, oid_len)) {
      *out_critical = critical;
      *out_value = value;
      return 1;
    }
  }
  return 0;
}

const char *vigil_csr_err_string(enum vigil_csr_err err) {
  switch (err) {
    case VIGIL_CSR_OK:
      return "ok";
    case VIGIL_CSR_ERR_TOO_LARGE:
      return "CSR larger than 64 KiB";
    case VIGIL_CSR_ERR_PEM:
      return "no PEM CERTIFICATE REQUEST block (and not DER)";
    case VIGIL_CSR_ERR_DER:
      return "CSR DER structure invalid";
    case VIGIL_CSR_ERR_VERSION:
      return "CSR version is not v1 (0)";
    case VIGIL_CSR_ERR_KEY_PARSE:
      return "CSR public key unparsable";
    case VIGIL_CSR_ERR_KEY_ALGORITHM:
      return "CSR key algorithm not supported (want EC, RSA, Ed25519)";
    case VIGIL_CSR_ERR_KEY_CURVE:
      return "CSR EC curve not supported (want P-256 or P-384)";
    case VIGIL_CSR_ERR_KEY_SIZE:
      return "CSR RSA key size not supported (want 2048..8192 bits)";
    case VIGIL_CSR_ERR_SIG_ALG:
      return "CSR signature algorithm not supported for its key";
    case VIGIL_CSR_ERR_BAD_SIGNATURE:
      return "CSR signature does not verify";
    case VIGIL_CSR_ERR_EXTENSIONS:
      return "CSR extensionRequest malformed or repeats an extension";
    case VIGIL_CSR_ERR_SAN:
      return "CSR subjectAltName malformed, unsupported type, or too many";
    case VIGIL_CSR_ERR_NOMEM:
      return "out of memory";
  }
  return "unknown CSR error";
}
