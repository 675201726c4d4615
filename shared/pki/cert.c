/* cert.c: certificate views and PEM armour (see vigil/cert.h). */
#include "vigil/cert.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/base64.h>
#include <openssl/bytestring.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/sha.h>

#include "vigil/alloc.h"
#include "vigil/file.h"
#include "vigil/timeutil.h"

/* DER OIDs (contents only) of the extensions we read. */
static const uint8_t kOidSki[] = { 0x55, 0x1d, 0x0e }; /* 2.5.29.14 */
static const uint8_t kOidBasicConstraints[] = { 0x55, 0x1d,
                                                0x13 }; /* 2.5.29.19 */

/* ======================================================================
 * PEM
 * ====================================================================== */

int vigil_pem_encode(CBB *cbb, const char *label, const uint8_t *der,
                     size_t der_len) {
  static const char kDashes[] = "-----";
  size_t label_len = strlen(label);
  if (!CBB_add_bytes(cbb, (const uint8_t *)kDashes, 5) ||
      !CBB_add_bytes(cbb, (const uint8_t *)"BEGIN ", 6) ||
      !CBB_add_bytes(cbb, (const uint8_t *)label, label_len) ||
      !CBB_add_bytes(cbb, (const uint8_t *)kDashes, 5) ||
      !CBB_add_u8(cbb, '\n')) {
    return 0;
  }
  /* 48 input bytes make one 64-character line. */
  for (size_t off = 0; off < der_len; off += 48) {
    size_t chunk = der_len - off < 48 ? der_len - off : 48;
    uint8_t *line;
    uint8_t tmp[65 + 1];
    size_t n = EVP_EncodeBlock(tmp, der + off, chunk);
    if (!CBB_add_space(cbb, &line, n)) {
      return 0;
    }
    memcpy(line, tmp, n);
    if (!CBB_add_u8(cbb, '\n')) {
      return 0;
    }
  }
  if (!CBB_add_bytes(cbb, (const uint8_t *)kDashes, 5) ||
      !CBB_add_bytes(cbb, (const uint8_t *)"END ", 4) ||
      !CBB_add_bytes(cbb, (const uint8_t *)label, label_len) ||
      !CBB_add_bytes(cbb, (const uint8_t *)kDashes, 5) ||
      !CBB_add_u8(cbb, '\n')) {
    return 0;
  }
  return CBB_flush(cbb);
}

/* find returns the offset of |needle| in |hay| at or after |from|, or
 * |hay_len| if absent. */
static size_t find(const uint8_t *hay, size_t hay_len, size_t from,
                   const char *needle, size_t needle_len) {
  if (needle_len > hay_len) {
    return hay_len;
  }
  for (size_t i = from; i + needle_len <= hay_len; i++) {
    if (memcmp(hay + i, needle, needle_len) == 0) {
      return i;
    }
  }
  return hay_len;
}

int vigil_pem_decode(uint8_t **out, size_t *out_len, const char *label,
                     const uint8_t *in, size_t in_len) {
  char begin[96], end[96];
  uint8_t *b64 = NULL;
  uint8_t *der = NULL;
  *out = NULL;
  *out_len = 0;

  size_t label_len = strlen(label);
  if (label_len > 64) {
    return 0;
  }
  /* "-----BEGIN " label "-----" */
  memcpy(begin, "-----BEGIN ", 11);
  memcpy(begin + 11, label, label_len);
  memcpy(begin + 11 + label_len, "-----", 5);
  size_t begin_len = 16 + label_len;
  memcpy(end, "-----END ", 9);
  memcpy(end + 9, label, label_len);
  memcpy(end + 9 + label_len, "-----", 5);
  size_t end_len = 14 + label_len;

  size_t start = find(in, in_len, 0, begin, begin_len);
  if (start == in_len) {
    return 0;
  }
  size_t body = start + begin_len;
  size_t stop = find(in, in_len, body, end, end_len);
  if (stop == in_len) {
    return 0;
  }
  /* Strip whitespace; refuse encrypted PEM headers (Proc-Type etc.). */
  b64 = vigil_malloc(stop - body + 1);
  if (b64 == NULL) {
    return -1;
  }
  size_t b64_len = 0;
  for (size_t i = body; i < stop; i++) {
    uint8_t c = in[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      continue;
    }
    if (c == ':') {
      goto err;
    }
    b64[b64_len++] = c;
  }
  size_t max_der;
  if (!EVP_DecodedLength(&max_der, b64_len)) {
    goto err;
  }
  der = vigil_malloc(max_der + 1);
  if (der == NULL) {
    vigil_free(b64);
    return -1;
  }
  size_t der_len = 0;
  if (!EVP_DecodeBase64(der, &der_len, max_der, b64, b64_len) || der_len == 0) {
    goto err;
  }
  vigil_free(b64);
  *out = der;
  *out_len = der_len;
  return 1;

err:
  vigil_free(b64);
  vigil_free(der);
  return 0;
}

/* ======================================================================
 * Certificate parsing
 * ====================================================================== */

/* parse_time reads one Time (UTCTime or GeneralizedTime). */
static int parse_time(CBS *cbs, int64_t *out) {
  CBS t;
  unsigned tag;
  if (!CBS_get_any_asn1(cbs, &t, &tag)) {
    return 0;
  }
  if (tag == CBS_ASN1_UTCTIME) {
    return vigil_time_parse_utctime(out, CBS_data(&t), CBS_len(&t));
  }
  if (tag == CBS_ASN1_GENERALIZEDTIME) {
    return vigil_time_parse_gentime(out, CBS_data(&t), CBS_len(&t));
  }
  return 0;
}

/* parse_extensions fills |cert->ski| and |cert->is_ca| from the
 * Extensions SEQUENCE contents in |exts|. */
static int parse_extensions(struct vigil_cert *cert, CBS *exts) {
  CBS list;
  if (!CBS_get_asn1(exts, &list, CBS_ASN1_SEQUENCE) || CBS_len(exts) != 0 ||
      CBS_len(&list) == 0) {
    return 0;
  }
  while (CBS_len(&list) > 0) {
    CBS ext, oid, value;
    if (!CBS_get_asn1(&list, &ext, CBS_ASN1_SEQUENCE) ||
        !CBS_get_asn1(&ext, &oid, CBS_ASN1_OBJECT)) {
      return 0;
    }
    if (CBS_peek_asn1_tag(&ext, CBS_ASN1_BOOLEAN)) {
      int critical;
      if (!CBS_get_asn1_bool(&ext, &critical)) {
        return 0;
      }
    }
    if (!CBS_get_asn1(&ext, &value, CBS_ASN1_OCTETSTRING) ||
        CBS_len(&ext) != 0) {
      return 0;
    }
    if (CBS_mem_equal(&oid, kOidSki, sizeof(kOidSki))) {
      CBS ski;
      if (!CBS_get_asn1(&value, &ski, CBS_ASN1_OCTETSTRING) ||
          CBS_len(&value) != 0) {
        return 0;
      }
      cert->ski = ski;
    } else if (CBS_mem_equal(&oid, kOidBasicConstraints,
                             sizeof(kOidBasicConstraints))) {
      CBS bc;
      if (!CBS_get_asn1(&value, &bc, CBS_ASN1_SEQUENCE) ||
          CBS_len(&value) != 0) {
        return 0;
      }
      if (CBS_peek_asn1_tag(&bc, CBS_ASN1_BOOLEAN)) {
        int ca;
        if (!CBS_get_asn1_bool(&bc, &ca)) {
          return 0;
        }
        cert->is_ca = ca;
      }
    }
  }
  return 1;
}

/* parse_der fills |cert| from the DER in |cert->owned| (|len| bytes). */
static enum vigil_cert_err parse_der(struct vigil_cert *cert, size_t len) {
  CBS in, certificate, tbs, sig_alg, sig, validity, spki, bits;
  uint8_t unused_bits;

  CBS_init(&in, cert->owned, len);
  if (!CBS_get_asn1_element(&in, &cert->der, CBS_ASN1_SEQUENCE) ||
      CBS_len(&in) != 0) {
    return VIGIL_CERT_ERR_DER;
  }
  CBS_init(&certificate, CBS_data(&cert->der), CBS_len(&cert->der));
  if (!CBS_get_asn1(&certificate, &in, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1_element(&in, &cert->tbs, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1_element(&in, &cert->sig_alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&in, &sig, CBS_ASN1_BITSTRING) || CBS_len(&in) != 0 ||
      !CBS_get_u8(&sig, &unused_bits) || unused_bits != 0) {
    return VIGIL_CERT_ERR_DER;
  }
  cert->signature = sig;

  CBS_init(&tbs, CBS_data(&cert->tbs), CBS_len(&cert->tbs));
  if (!CBS_get_asn1(&tbs, &in, CBS_ASN1_SEQUENCE)) {
    return VIGIL_CERT_ERR_DER;
  }
  tbs = in;
  /* version [0] EXPLICIT INTEGER OPTIONAL */
  if (CBS_peek_asn1_tag(&tbs,
                        CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0)) {
    CBS version_wrap;
    uint64_t version;
    if (!CBS_get_asn1(&tbs, &version_wrap,
                      CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
        !CBS_get_asn1_uint64(&version_wrap, &version) ||
        CBS_len(&version_wrap) != 0 || version > 2) {
      return VIGIL_CERT_ERR_DER;
    }
  }
  if (!CBS_get_asn1(&tbs, &cert->serial, CBS_ASN1_INTEGER) ||
      !CBS_is_valid_asn1_integer(&cert->serial, NULL) ||
      !CBS_get_asn1(&tbs, &sig_alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1_element(&tbs, &cert->issuer, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&tbs, &validity, CBS_ASN1_SEQUENCE)) {
    return VIGIL_CERT_ERR_DER;
  }
  if (!parse_time(&validity, &cert->not_before) ||
      !parse_time(&validity, &cert->not_after) || CBS_len(&validity) != 0) {
    return VIGIL_CERT_ERR_TIME;
  }
  if (!CBS_get_asn1_element(&tbs, &cert->subject, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1_element(&tbs, &cert->spki, CBS_ASN1_SEQUENCE)) {
    return VIGIL_CERT_ERR_DER;
  }
  /* issuerUniqueID [1], subjectUniqueID [2]: skipped. */
  for (unsigned tag = 1; tag <= 2; tag++) {
    if (CBS_peek_asn1_tag(&tbs, CBS_ASN1_CONTEXT_SPECIFIC | tag)) {
      CBS skip;
      if (!CBS_get_asn1(&tbs, &skip, CBS_ASN1_CONTEXT_SPECIFIC | tag)) {
        return VIGIL_CERT_ERR_DER;
      }
    }
  }
  if (CBS_peek_asn1_tag(&tbs,
                        CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 3)) {
    CBS exts;
    if (!CBS_get_asn1(&tbs, &exts,
                      CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 3) ||
        !parse_extensions(cert, &exts)) {
      return VIGIL_CERT_ERR_DER;
    }
  }
  if (CBS_len(&tbs) != 0) {
    return VIGIL_CERT_ERR_DER;
  }

  /* The public key and its hashes. */
  CBS_init(&spki, CBS_data(&cert->spki), CBS_len(&cert->spki));
  CBS spki_seq, spki_alg;
  if (!CBS_get_asn1(&spki, &spki_seq, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&spki_seq, &spki_alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&spki_seq, &bits, CBS_ASN1_BITSTRING) ||
      !CBS_get_u8(&bits, &unused_bits) || unused_bits != 0) {
    return VIGIL_CERT_ERR_KEY;
  }
  cert->public_key_bits = bits;
  CBS_init(&spki, CBS_data(&cert->spki), CBS_len(&cert->spki));
  cert->pubkey = EVP_parse_public_key(&spki);
  if (cert->pubkey == NULL) {
    ERR_clear_error();
    return VIGIL_CERT_ERR_KEY;
  }
  SHA1(CBS_data(&cert->subject), CBS_len(&cert->subject), cert->name_sha1);
  SHA256(CBS_data(&cert->subject), CBS_len(&cert->subject), cert->name_sha256);
  SHA1(CBS_data(&bits), CBS_len(&bits), cert->key_sha1);
  SHA256(CBS_data(&bits), CBS_len(&bits), cert->key_sha256);
  return VIGIL_CERT_OK;
}

enum vigil_der_input vigil_der_input_copy(uint8_t **out, size_t *out_len,
                                          const uint8_t *in, size_t in_len,
                                          const char *const *labels,
                                          size_t num_labels, size_t max_der,
                                          size_t max_in) {
  *out = NULL;
  *out_len = 0;
  if (in_len > max_in) {
    return VIGIL_DER_INPUT_TOO_LARGE;
  }
  if (in_len > 0 && in[0] == 0x30) {
    if (in_len > max_der) {
      return VIGIL_DER_INPUT_TOO_LARGE;
    }
    uint8_t *der = vigil_malloc(in_len);
    if (der == NULL) {
      return VIGIL_DER_INPUT_NOMEM;
    }
    memcpy(der, in, in_len);
    *out = der;
    *out_len = in_len;
    return VIGIL_DER_INPUT_OK;
  }
  int oom = 0;
  for (size_t i = 0; i < num_labels; i++) {
    int r = vigil_pem_decode(out, out_len, labels[i], in, in_len);
    if (r == 1) {
      if (*out_len > max_der) {
        vigil_free(*out);
        *out = NULL;
        *out_len = 0;
        return VIGIL_DER_INPUT_TOO_LARGE;
      }
      return VIGIL_DER_INPUT_OK;
    }
    oom |= r < 0;
  }
  return oom ? VIGIL_DER_INPUT_NOMEM : VIGIL_DER_INPUT_NOT_PEM;
}

struct vigil_cert *vigil_cert_parse(enum vigil_cert_err *out_err,
                                    const uint8_t *in, size_t in_len) {
  static const char *const kLabels[] = { "CERTIFICATE" };
  struct vigil_cert *cert = NULL;
  uint8_t *der = NULL;
  size_t der_len = 0;

  switch (vigil_der_input_copy(&der, &der_len, in, in_len, kLabels, 1,
                               VIGIL_CERT_MAX_DER, 4 * VIGIL_CERT_MAX_DER)) {
    case VIGIL_DER_INPUT_OK:
      break;
    case VIGIL_DER_INPUT_TOO_LARGE:
      *out_err = VIGIL_CERT_ERR_TOO_LARGE;
      return NULL;
    case VIGIL_DER_INPUT_NOMEM:
      *out_err = VIGIL_CERT_ERR_NOMEM;
      return NULL;
    default:
      *out_err = VIGIL_CERT_ERR_PEM;
      return NULL;
  }

  cert = vigil_calloc(1, sizeof(*cert));
  if (cert == NULL) {
    vigil_free(der);
    *out_err = VIGIL_CERT_ERR_NOMEM;
    return NULL;
  }
  cert->owned = der;
  *out_err = parse_der(cert, der_len);
  if (*out_err != VIGIL_CERT_OK) {
    vigil_cert_free(cert);
    return NULL;
  }
  return cert;
}

struct vigil_cert *vigil_cert_load_file(enum vigil_cert_err *out_err,
                                        const char *path) {
  uint8_t *buf = NULL;
  size_t len = 0;
  switch (vigil_file_read(&buf, &len, path, 4 * VIGIL_CERT_MAX_DER, 0)) {
    case VIGIL_FILE_OK:
      break;
    case VIGIL_FILE_ERR_TOO_LARGE:
      *out_err = VIGIL_CERT_ERR_TOO_LARGE;
      return NULL;
    case VIGIL_FILE_ERR_NOMEM:
      *out_err = VIGIL_CERT_ERR_NOMEM;
      return NULL;
    default:
      *out_err = VIGIL_CERT_ERR_IO;
      return NULL;
  }
  struct vigil_cert *cert = vigil_cert_parse(out_err, buf, len);
  vigil_free(buf);
  return cert;
}

void vigil_cert_free(struct vigil_cert *cert) {
  if (cert == NULL) {
    return;
  }
  EVP_PKEY_free(cert->pubkey);
  vigil_free(cert->owned);
  vigil_free(cert);
}

const char *vigil_cert_err_string(enum vigil_cert_err err) {
  switch (err) {
    case VIGIL_CERT_OK:
      return "ok";
    case VIGIL_CERT_ERR_IO:
      return "certificate file cannot be read";
    case VIGIL_CERT_ERR_TOO_LARGE:
      return "certificate larger than 64 KiB";
    case VIGIL_CERT_ERR_PEM:
      return "no PEM CERTIFICATE block (and not DER)";
    case VIGIL_CERT_ERR_DER:
      return "certificate DER structure invalid";
    case VIGIL_CERT_ERR_TIME:
      return "certificate validity time invalid";
    case VIGIL_CERT_ERR_KEY:
      return "certificate public key invalid or unsupported";
    case VIGIL_CERT_ERR_NOMEM:
      return "out of memory";
  }
  return "unknown certificate error";
}

int vigil_cert_matches_key(const struct vigil_cert *cert,
                           const struct vigil_key *key) {
  size_t spki_len;
  const uint8_t *spki = vigil_key_get0_spki(key, &spki_len);
  return CBS_mem_equal(&cert->spki, spki, spki_len);
}

int vigil_cert_verify_signed_by(const struct vigil_cert *cert,
                                const struct vigil_cert *issuer) {
  if (!CBS_mem_equal(&cert->issuer, CBS_data(&issuer->subject),
                     CBS_len(&issuer->subject))) {
    return 0;
  }
  return vigil_key_verify(issuer->pubkey, CBS_data(&cert->sig_alg),
                          CBS_len(&cert->sig_alg), CBS_data(&cert->signature),
                          CBS_len(&cert->signature), CBS_data(&cert->tbs),
                          CBS_len(&cert->tbs));
}
