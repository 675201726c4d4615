/* x509_name.c: building and checking X.501 Names (see vigil/x509.h).
 *
 * RFC 5280 4.1.2.6 and BR 7.1.4: new attributes are UTF8String, except
 * countryName, which X.520 fixes as a two-letter PrintableString. Lengths
 * follow the X.520 upper bounds RFC 5280 Appendix A lists (ub-common-name
 * 64 and so on), counted in characters. */
#include "vigil/x509.h"

#include <string.h>

#include <openssl/bytestring.h>

/* Attribute type OIDs 2.5.4.n (DER contents). */
#define ATTR_CN 3
#define ATTR_C  6
#define ATTR_L  7
#define ATTR_ST 8
#define ATTR_O  10
#define ATTR_OU 11

/* Longest attribute string we look at, in bytes (128 characters of up to
 * four bytes each). */
#define MAX_ATTR_BYTES 512

/* utf8_chars validates |s| (|len| bytes) as UTF-8 without control
 * characters (C0, DEL, C1), surrogates, overlong forms or code points past
 * U+10FFFF, and returns the number of characters, or 0 if invalid. */
static size_t utf8_chars(const uint8_t *s, size_t len) {
  size_t chars = 0;
  size_t i = 0;
  while (i < len) {
    uint8_t b = s[i];
    uint32_t cp;
    size_t n;
    if (b < 0x80) {
      cp = b;
      n = 1;
    } else if ((b & 0xe0) == 0xc0) {
      cp = b & 0x1f;
      n = 2;
    } else if ((b & 0xf0) == 0xe0) {
      cp = b & 0x0f;
      n = 3;
    } else if ((b & 0xf8) == 0xf0) {
      cp = b & 0x07;
      n = 4;
    } else {
      return 0;
    }
    if (n > len - i) {
      return 0;
    }
    for (size_t k = 1; k < n; k++) {
      if ((s[i + k] & 0xc0) != 0x80) {
        return 0;
      }
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    static const uint32_t kMin[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
        cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
      return 0;
    }
    i += n;
    chars++;
  }
  return chars;
}

/* add_attr appends RDN SET { SEQUENCE { 2.5.4.|attr|, string } }. */
static int add_attr(CBB *name, uint8_t attr, unsigned string_tag,
                    const char *value, size_t len) {
  CBB rdn, atv, oid, str;
  return CBB_add_asn1(name, &rdn, CBS_ASN1_SET) &&
         CBB_add_asn1(&rdn, &atv, CBS_ASN1_SEQUENCE) &&
         CBB_add_asn1(&atv, &oid, CBS_ASN1_OBJECT) && CBB_add_u8(&oid, 0x55) &&
         CBB_add_u8(&oid, 0x04) && CBB_add_u8(&oid, attr) &&
         CBB_add_asn1(&atv, &str, string_tag) &&
         CBB_add_bytes(&str, (const uint8_t *)value, len) && CBB_flush(name);
}

/* check_string returns the byte length of |s| if it is valid UTF-8 of
 * 1..|max_chars| characters, 0 if absent (NULL or ""), or -1 if invalid. */
static long check_string(const char *s, size_t max_chars) {
  if (s == NULL || s[0] == '\0') {
    return 0;
  }
  size_t len = strnlen(s, MAX_ATTR_BYTES + 1);
  if (len > MAX_ATTR_BYTES) {
    return -1;
  }
  size_t chars = utf8_chars((const uint8_t *)s, len);
  if (chars == 0 || chars > max_chars) {
    return -1;
  }
  return (long)len;
}

enum vigil_x509_err vigil_x509_name_build(CBB *cbb,
                                          const struct vigil_x509_name *name) {
  struct attr {
    uint8_t type;
    size_t max_chars;
    const char *value;
  };
  const struct attr attrs[] = {
    { ATTR_ST, 128, name->state },
    { ATTR_L, 128, name->locality },
    { ATTR_O, 64, name->organization },
    { ATTR_OU, 64, name->organizational_unit },
    { ATTR_CN, 64, name->common_name },
  };
  long lens[sizeof(attrs) / sizeof(attrs[0])];
  CBB seq;

  /* Check everything before writing anything. */
  int has_country = name->country != NULL && name->country[0] != '\0';
  if (has_country) {
    const char *c = name->country;
    if (strnlen(c, 3) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' ||
        c[1] > 'Z') {
      return VIGIL_X509_ERR_NAME;
    }
  }
  for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
    lens[i] = check_string(attrs[i].value, attrs[i].max_chars);
    if (lens[i] < 0) {
      return VIGIL_X509_ERR_NAME;
    }
  }

  if (!CBB_add_asn1(cbb, &seq, CBS_ASN1_SEQUENCE)) {
    return VIGIL_X509_ERR_NOMEM;
  }
  if (has_country &&
      !add_attr(&seq, ATTR_C, CBS_ASN1_PRINTABLESTRING, name->country, 2)) {
    return VIGIL_X509_ERR_NOMEM;
  }
  for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
    if (lens[i] > 0 && !add_attr(&seq, attrs[i].type, CBS_ASN1_UTF8STRING,
                                 attrs[i].value, (size_t)lens[i])) {
      return VIGIL_X509_ERR_NOMEM;
    }
  }
  if (!CBB_flush(cbb)) {
    return VIGIL_X509_ERR_NOMEM;
  }
  return VIGIL_X509_OK;
}

int vigil_x509_name_check(const uint8_t *der, size_t der_len) {
  CBS in, name;
  if (der == NULL) {
    return 0;
  }
  CBS_init(&in, der, der_len);
  if (!CBS_get_asn1(&in, &name, CBS_ASN1_SEQUENCE) || CBS_len(&in) != 0) {
    return 0;
  }
  while (CBS_len(&name) > 0) {
    CBS rdn;
    if (!CBS_get_asn1(&name, &rdn, CBS_ASN1_SET) || CBS_len(&rdn) == 0) {
      return 0;
    }
    while (CBS_len(&rdn) > 0) {
      CBS atv, oid, value;
      unsigned tag;
      if (!CBS_get_asn1(&rdn, &atv, CBS_ASN1_SEQUENCE) ||
          !CBS_get_asn1(&atv, &oid, CBS_ASN1_OBJECT) || CBS_len(&oid) == 0 ||
          !CBS_get_any_asn1(&atv, &value, &tag) || CBS_len(&atv) != 0) {
        return 0;
      }
    }
  }
  return 1;
}
