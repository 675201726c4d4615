/* crl.c: X.509 v2 CRL builder (RFC 5280 section 5, CA/B Forum BR 7.2).
 *
 * A CRL can list millions of certificates, so the encoder is built for
 * size rather than convenience:
 *
 *   pass 1  validates every input and computes the exact length of every
 *           DER element (all lengths inside the TBSCertList are known in
 *           advance: serials, times and reason codes have fixed encodings);
 *   dedup   a temporary open-addressing table of entry indexes rejects a
 *           serial listed twice, and is freed before the output exists;
 *   pass 2  writes the TBSCertList into one allocation of the exact size,
 *           signs it where it lies, and appends the signature.
 *
 * Layout of the one allocation (H = header length the outer SEQUENCE
 * needs for the longest possible signature):
 *
 *   [ H bytes reserved | TBSCertList | sigAlg | BIT STRING sig ]
 *
 * Only after signing is the length of an ECDSA signature (and with it the
 * outer length) known. Its header is then written right in front of the
 * TBSCertList. It is shorter than H only when the outer length sits within
 * a few bytes of a DER length-form boundary (128, 256, 64 KiB, 16 MiB);
 * then, and only then, the finished CRL is moved to the buffer's start.
 *
 * Why not CBB: CBB_add_asn1 writes a child with a one-byte length and
 * memmoves the child's contents once it learns the real length - for the
 * revokedCertificates SEQUENCE and the TBSCertList that is two copies of
 * tens of megabytes, and a growing CBB reallocates on top. The small
 * bounds-checked writer below fills the exact-size buffer instead, and a
 * mismatch between computed and written lengths aborts (STYLE.md: an
 * invariant guarding a signed artefact). Tests re-parse the output with
 * CBS and with OpenSSL and python-cryptography. */
#include "vigil/crl.h"

#include <stdlib.h>
#include <string.h>

#include "vigil/alloc.h"
#include "vigil/timeutil.h"

/* 2050-01-01T00:00:00Z: times from here on are GeneralizedTime, earlier
 * ones UTCTime (RFC 5280 5.1.2.4). */
#define GENTIME_FROM INT64_C(2524608000)

/* Encoded TLV lengths of the fixed-size parts. */
#define VERSION_TLV_LEN  3 /* INTEGER 1 (v2) */
#define UTCTIME_TLV_LEN  (2 + VIGIL_UTCTIME_LEN)
#define GENTIME_TLV_LEN  (2 + VIGIL_GENTIME_LEN)
#define OID_TLV_LEN      5 /* every id-ce OID used here: 06 03 55 1d xx */
#define CRITICAL_TLV_LEN 3 /* BOOLEAN TRUE */
/* crlEntryExtensions SEQUENCE { SEQUENCE { id-ce-cRLReasons,
 * OCTET STRING { ENUMERATED r } } } */
#define REASON_EXTS_TLV_LEN 14

/* DER tags. */
#define TAG_BOOLEAN      0x01
#define TAG_INTEGER      0x02
#define TAG_BIT_STRING   0x03
#define TAG_OCTET_STRING 0x04
#define TAG_OID          0x06
#define TAG_ENUMERATED   0x0a
#define TAG_UTCTIME      0x17
#define TAG_GENTIME      0x18
#define TAG_SEQUENCE     0x30
#define TAG_CTX0_CONS    0xa0 /* [0] constructed */
#define TAG_CTX0_PRIM    0x80 /* [0] primitive (keyIdentifier) */
#define TAG_CTX1_PRIM    0x81 /* [1] (onlyContainsUserCerts) */
#define TAG_CTX2_PRIM    0x82 /* [2] (onlyContainsCACerts) */
#define TAG_CTX6_PRIM    0x86 /* [6] (uniformResourceIdentifier) */

/* Last octet of the id-ce (2.5.29) OIDs. */
#define ID_CE_CRL_NUMBER  0x14
#define ID_CE_REASON_CODE 0x15
#define ID_CE_IDP         0x1c
#define ID_CE_AKI         0x23

/* ======================================================================
 * Length arithmetic and the bounds-checked writer
 * ====================================================================== */

/* der_hdr_len returns the length of a DER tag + length for |len| content
 * bytes (lengths up to 2^32 - 1; more cannot occur, see TOO_MANY). */
static size_t der_hdr_len(size_t len) {
  if (len < 0x80) {
    return 2;
  }
  if (len <= 0xff) {
    return 3;
  }
  if (len <= 0xffff) {
    return 4;
  }
  if (len <= 0xffffff) {
    return 5;
  }
  return 6;
}

static size_t tlv_len(size_t len) {
  return der_hdr_len(len) + len;
}

struct writer {
  uint8_t *p;   /* next byte to write */
  uint8_t *end; /* end of the space */
  int ok;       /* 0 once a write did not fit */
};

static void put_byte(struct writer *w, uint8_t b) {
  if (w->p == w->end) {
    w->ok = 0;
    return;
  }
  *w->p++ = b;
}

static void put_bytes(struct writer *w, const uint8_t *data, size_t len) {
  if ((size_t)(w->end - w->p) < len) {
    w->ok = 0;
    return;
  }
  memcpy(w->p, data, len);
  w->p += len;
}

/* put_hdr writes tag |tag| and the DER length |len|. */
static void put_hdr(struct writer *w, uint8_t tag, size_t len) {
  uint8_t hdr[6];
  size_t n = der_hdr_len(len);
  if (len > 0xffffffff) {
    w->ok = 0;
    return;
  }
  hdr[0] = tag;
  if (n == 2) {
    hdr[1] = (uint8_t)len;
  } else {
    hdr[1] = (uint8_t)(0x80 | (n - 2));
    for (size_t i = 0; i < n - 2; i++) {
      hdr[n - 1 - i] = (uint8_t)(len >> (8 * i));
    }
  }
  put_bytes(w, hdr, n);
}

/* put_id_ce_oid writes the OID 2.5.29.|last|. */
static void put_id_ce_oid(struct writer *w, uint8_t last) {
  const uint8_t oid[OID_TLV_LEN] = { TAG_OID, 3, 0x55, 0x1d, last };
  put_bytes(w, oid, sizeof(oid));
}

static size_t time_tlv_len(int64_t t) {
  return t < GENTIME_FROM ? UTCTIME_TLV_LEN : GENTIME_TLV_LEN;
}

/* put_time writes |t| as UTCTime (before 2050) or GeneralizedTime. |t|
 * was range-checked in pass 1. */
static void put_time(struct writer *w, int64_t t) {
  int ok;
  if (t < GENTIME_FROM) {
    put_hdr(w, TAG_UTCTIME, VIGIL_UTCTIME_LEN);
    if (!w->ok || (size_t)(w->end - w->p) < VIGIL_UTCTIME_LEN) {
      w->ok = 0;
      return;
    }
    ok = vigil_time_format_utctime(w->p, t);
    w->p += VIGIL_UTCTIME_LEN;
  } else {
    put_hdr(w, TAG_GENTIME, VIGIL_GENTIME_LEN);
    if (!w->ok || (size_t)(w->end - w->p) < VIGIL_GENTIME_LEN) {
      w->ok = 0;
      return;
    }
    ok = vigil_time_format_gentime(w->p, t);
    w->p += VIGIL_GENTIME_LEN;
  }
  if (!ok) {
    w->ok = 0;
  }
}

/* ======================================================================
 * Validation
 * ====================================================================== */

/* serial_ok returns 1 if |s| is a minimal, positive DER INTEGER content of
 * at most VIGIL_OCSP_MAX_SERIAL octets. Minimality makes byte equality the
 * same as integer equality, which the duplicate check relies on. */
static int serial_ok(const uint8_t *s, size_t len) {
  if (s == NULL || len == 0 || len > VIGIL_OCSP_MAX_SERIAL) {
    return 0;
  }
  if (s[0] & 0x80) {
    return 0; /* negative */
  }
  if (len == 1) {
    return s[0] != 0; /* zero is not positive */
  }
  /* A leading 0x00 is only allowed as the sign octet of a high bit. */
  if (s[0] == 0) {
    return (s[1] & 0x80) != 0;
  }
  /* 20 octets of magnitude at most (RFC 5280 4.1.2.2): a 21st octet can
   * only be that sign octet. */
  return len < VIGIL_OCSP_MAX_SERIAL;
}

static int time_in_range(int64_t t) {
  return t >= VIGIL_TIME_MIN && t <= VIGIL_TIME_MAX;
}

/* has_reason_code says whether an entry carries the reasonCode extension:
 * the BRs express "unspecified" by leaving it out. */
static int has_reason_code(enum vigil_reason reason) {
  return reason != VIGIL_REASON_NONE && reason != VIGIL_REASON_UNSPECIFIED;
}

static size_t entry_content_len(const struct vigil_crl_entry *e) {
  return tlv_len(e->serial_len) + time_tlv_len(e->revoked_at) +
         (has_reason_code(e->reason) ? REASON_EXTS_TLV_LEN : 0);
}

/* check_entries validates every entry and sums their encoded lengths into
 * |*out_len|. On failure sets |*out_bad| to the offending index. */
static enum vigil_crl_err check_entries(size_t *out_len, size_t *out_bad,
                                        const struct vigil_crl_params *p,
                                        const struct vigil_crl_entry *entries,
                                        size_t num_entries) {
  size_t total = 0;
  for (size_t i = 0; i < num_entries; i++) {
    const struct vigil_crl_entry *e = &entries[i];
    if (!serial_ok(e->serial, e->serial_len)) {
      *out_bad = i;
      return VIGIL_CRL_ERR_BAD_SERIAL;
    }
    if (e->revoked_at < VIGIL_TIME_MIN || e->revoked_at > p->this_update) {
      *out_bad = i;
      return VIGIL_CRL_ERR_BAD_REVOCATION_TIME;
    }
    if (e->reason != VIGIL_REASON_UNSPECIFIED &&
        !vigil_reason_allowed_by_br(e->reason, p->ca_certs)) {
      *out_bad = i;
      return VIGIL_CRL_ERR_REASON_NOT_ALLOWED;
    }
    /* Never more than 2 + 54 bytes, so no overflow below 2^58 entries. */
    total += tlv_len(entry_content_len(e));
  }
  *out_len = total;
  return VIGIL_CRL_OK;
}

/* serial_hash mixes the serial octets (FNV-1a, then the murmur3 finaliser
 * so that the low bits used as the slot depend on every input bit:
 * sequential serials differ only in their last octet). */
static uint64_t serial_hash(const uint8_t *s, size_t len) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (size_t i = 0; i < len; i++) {
    h = (h ^ s[i]) * UINT64_C(0x100000001b3);
  }
  h ^= h >> 33;
  h *= UINT64_C(0xff51afd7ed558ccd);
  h ^= h >> 33;
  h *= UINT64_C(0xc4ceb9fe1a85ec53);
  h ^= h >> 33;
  return h;
}

/* check_duplicates returns VIGIL_CRL_OK if no serial occurs twice,
 * DUPLICATE_SERIAL (with |*out_bad| = the later index) or NOMEM. Open
 * addressing, at most half full; a slot holds the hash's upper 32 bits and
 * index + 1 (0 = empty), so that a probe touches the entry itself (a cache
 * miss at a million entries) only when the hashes agree. */
static enum vigil_crl_err check_duplicates(
    size_t *out_bad, const struct vigil_crl_entry *entries,
    size_t num_entries) {
  enum vigil_crl_err ret = VIGIL_CRL_OK;
  uint64_t *table = NULL;
  size_t slots = 16;

  if (num_entries < 2) {
    return VIGIL_CRL_OK;
  }
  while (slots < 2 * num_entries) {
    slots *= 2;
  }
  table = vigil_calloc(slots, sizeof(*table));
  if (table == NULL) {
    ret = VIGIL_CRL_ERR_NOMEM;
    goto err;
  }
  for (size_t i = 0; i < num_entries; i++) {
    const struct vigil_crl_entry *e = &entries[i];
    uint64_t h = serial_hash(e->serial, e->serial_len);
    uint64_t tag = h & UINT64_C(0xffffffff00000000);
    size_t slot = (size_t)h & (slots - 1);
    while (table[slot] != 0) {
      if ((table[slot] & UINT64_C(0xffffffff00000000)) == tag) {
        const struct vigil_crl_entry *o =
            &entries[(table[slot] & 0xffffffff) - 1];
        if (o->serial_len == e->serial_len &&
            memcmp(o->serial, e->serial, e->serial_len) == 0) {
          *out_bad = i;
          ret = VIGIL_CRL_ERR_DUPLICATE_SERIAL;
          goto err;
        }
      }
      slot = (slot + 1) & (slots - 1);
    }
    table[slot] = tag | (uint64_t)(i + 1);
  }

err:
  vigil_free(table);
  return ret;
}

/* ======================================================================
 * Layout: every length, computed once
 * ====================================================================== */

struct layout {
  const uint8_t *number; /* CRL number without leading zero octets */
  size_t number_len;     /* its length (>= 1) */
  size_t number_int_len; /* INTEGER contents: + 1 sign octet if needed */
  const uint8_t *key_id; /* AKI keyIdentifier */
  size_t key_id_len;
  const uint8_t *sig_alg; /* AlgorithmIdentifier DER */
  size_t sig_alg_len;
  size_t uri_len;     /* 0 for a full CRL */
  size_t revoked_len; /* revokedCertificates contents */
  size_t aki_len;     /* each Extension's contents */
  size_t number_ext_len;
  size_t idp_dp_len;  /* distributionPoint [0] contents */
  size_t idp_seq_len; /* IssuingDistributionPoint SEQUENCE contents */
  size_t idp_ext_len;
  size_t exts_len; /* Extensions SEQUENCE contents */
  size_t tbs_content_len;
  size_t tbs_len;   /* whole TBSCertList element */
  size_t outer_max; /* outer contents with the longest signature */
  size_t reserved;  /* bytes kept in front of the TBSCertList */
};

static void compute_layout(struct layout *l, const struct vigil_crl_params *p,
                           size_t num_entries) {
  /* AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] ... } */
  l->aki_len = OID_TLV_LEN + tlv_len(tlv_len(tlv_len(l->key_id_len)));
  /* CRLNumber ::= INTEGER */
  l->number_ext_len = OID_TLV_LEN + tlv_len(tlv_len(l->number_int_len));
  l->exts_len = tlv_len(l->aki_len) + tlv_len(l->number_ext_len);
  if (p->idp_uri != NULL) {
    /* distributionPoint [0] { fullName [0] { uniformResourceIdentifier } } */
    l->idp_dp_len = tlv_len(tlv_len(l->uri_len));
    l->idp_seq_len = tlv_len(l->idp_dp_len);
    if (p->only_contains_user_certs || p->ca_certs) {
      l->idp_seq_len += CRITICAL_TLV_LEN; /* [1] or [2] BOOLEAN TRUE */
    }
    l->idp_ext_len =
        OID_TLV_LEN + CRITICAL_TLV_LEN + tlv_len(tlv_len(l->idp_seq_len));
    l->exts_len += tlv_len(l->idp_ext_len);
  }
  l->tbs_content_len =
      VERSION_TLV_LEN + l->sig_alg_len + CBS_len(&p->issuer->subject) +
      time_tlv_len(p->this_update) + time_tlv_len(p->next_update) +
      tlv_len(tlv_len(l->exts_len));
  if (num_entries > 0) {
    l->tbs_content_len += tlv_len(l->revoked_len);
  }
  l->tbs_len = tlv_len(l->tbs_content_len);
  l->outer_max = l->tbs_len + l->sig_alg_len +
                 tlv_len(1 + vigil_key_max_sig_len(p->issuer_key));
  l->reserved = der_hdr_len(l->outer_max);
}

/* ======================================================================
 * Pass 2: writing
 * ====================================================================== */

static void put_entry(struct writer *w, const struct vigil_crl_entry *e) {
  put_hdr(w, TAG_SEQUENCE, entry_content_len(e));
  put_hdr(w, TAG_INTEGER, e->serial_len);
  put_bytes(w, e->serial, e->serial_len);
  put_time(w, e->revoked_at);
  if (has_reason_code(e->reason)) {
    const uint8_t exts[REASON_EXTS_TLV_LEN] = {
      TAG_SEQUENCE,
      12,
      TAG_SEQUENCE,
      10,
      TAG_OID,
      3,
      0x55,
      0x1d,
      ID_CE_REASON_CODE,
      TAG_OCTET_STRING,
      3,
      TAG_ENUMERATED,
      1,
      (uint8_t)e->reason,
    };
    put_bytes(w, exts, sizeof(exts));
  }
}

static void put_extensions(struct writer *w, const struct layout *l,
                           const struct vigil_crl_params *p) {
  put_hdr(w, TAG_CTX0_CONS, tlv_len(l->exts_len));
  put_hdr(w, TAG_SEQUENCE, l->exts_len);

  /* authorityKeyIdentifier (non-critical, RFC 5280 5.2.1) */
  put_hdr(w, TAG_SEQUENCE, l->aki_len);
  put_id_ce_oid(w, ID_CE_AKI);
  put_hdr(w, TAG_OCTET_STRING, tlv_len(tlv_len(l->key_id_len)));
  put_hdr(w, TAG_SEQUENCE, tlv_len(l->key_id_len));
  put_hdr(w, TAG_CTX0_PRIM, l->key_id_len);
  put_bytes(w, l->key_id, l->key_id_len);

  /* cRLNumber (non-critical, RFC 5280 5.2.3) */
  put_hdr(w, TAG_SEQUENCE, l->number_ext_len);
  put_id_ce_oid(w, ID_CE_CRL_NUMBER);
  put_hdr(w, TAG_OCTET_STRING, tlv_len(l->number_int_len));
  put_hdr(w, TAG_INTEGER, l->number_int_len);
  if (l->number_int_len > l->number_len) {
    put_byte(w, 0x00);
  }
  put_bytes(w, l->number, l->number_len);

  /* issuingDistributionPoint (critical, RFC 5280 5.2.5) */
  if (p->idp_uri != NULL) {
    put_hdr(w, TAG_SEQUENCE, l->idp_ext_len);
    put_id_ce_oid(w, ID_CE_IDP);
    put_hdr(w, TAG_BOOLEAN, 1);
    put_byte(w, 0xff);
    put_hdr(w, TAG_OCTET_STRING, tlv_len(l->idp_seq_len));
    put_hdr(w, TAG_SEQUENCE, l->idp_seq_len);
    put_hdr(w, TAG_CTX0_CONS, l->idp_dp_len);
    put_hdr(w, TAG_CTX0_CONS, tlv_len(l->uri_len));
    put_hdr(w, TAG_CTX6_PRIM, l->uri_len);
    put_bytes(w, (const uint8_t *)p->idp_uri, l->uri_len);
    if (p->only_contains_user_certs) {
      put_hdr(w, TAG_CTX1_PRIM, 1);
      put_byte(w, 0xff);
    } else if (p->ca_certs) {
      put_hdr(w, TAG_CTX2_PRIM, 1);
      put_byte(w, 0xff);
    }
  }
}

/* write_tbs writes the TBSCertList, which must fill [w->p, w->end). */
static void write_tbs(struct writer *w, const struct layout *l,
                      const struct vigil_crl_params *p,
                      const struct vigil_crl_entry *entries,
                      size_t num_entries) {
  put_hdr(w, TAG_SEQUENCE, l->tbs_content_len);
  put_hdr(w, TAG_INTEGER, 1);
  put_byte(w, 1); /* v2 */
  put_bytes(w, l->sig_alg, l->sig_alg_len);
  put_bytes(w, CBS_data(&p->issuer->subject), CBS_len(&p->issuer->subject));
  put_time(w, p->this_update);
  put_time(w, p->next_update);
  if (num_entries > 0) {
    put_hdr(w, TAG_SEQUENCE, l->revoked_len);
    for (size_t i = 0; i < num_entries && w->ok; i++) {
      put_entry(w, &entries[i]);
    }
  }
  put_extensions(w, l, p);
}

/* ======================================================================
 * Entry point
 * ====================================================================== */

/* check_params validates everything but the entries and fills the parts of
 * |l| that come straight from the parameters. */
static enum vigil_crl_err check_params(struct layout *l,
                                       const struct vigil_crl_params *p,
                                       size_t num_entries) {
  if (!vigil_cert_matches_key(p->issuer, p->issuer_key)) {
    return VIGIL_CRL_ERR_KEY_MISMATCH;
  }
  if (!p->issuer->is_ca) {
    return VIGIL_CRL_ERR_NOT_CA;
  }

  if (p->crl_number == NULL || p->crl_number_len == 0) {
    return VIGIL_CRL_ERR_BAD_NUMBER;
  }
  l->number = p->crl_number;
  l->number_len = p->crl_number_len;
  while (l->number_len > 1 && l->number[0] == 0) {
    l->number++;
    l->number_len--;
  }
  /* Below 2^159: at most 20 octets, the top bit of a 20th clear. */
  if (l->number_len > VIGIL_CRL_MAX_NUMBER ||
      (l->number_len == VIGIL_CRL_MAX_NUMBER && (l->number[0] & 0x80))) {
    return VIGIL_CRL_ERR_BAD_NUMBER;
  }
  l->number_int_len = l->number_len + (l->number[0] >> 7);

  int64_t max_validity =
      p->ca_certs ? VIGIL_CRL_MAX_VALIDITY_CA : VIGIL_CRL_MAX_VALIDITY;
  if (!time_in_range(p->this_update) || !time_in_range(p->next_update) ||
      p->next_update <= p->this_update ||
      p->next_update - p->this_update > max_validity) {
    return VIGIL_CRL_ERR_BAD_TIMES;
  }

  if (p->only_contains_user_certs && (p->ca_certs || p->idp_uri == NULL)) {
    return VIGIL_CRL_ERR_BAD_IDP;
  }
  if (p->idp_uri != NULL) {
    l->uri_len = strnlen(p->idp_uri, VIGIL_CRL_MAX_URI + 1);
    if (l->uri_len == 0 || l->uri_len > VIGIL_CRL_MAX_URI) {
      return VIGIL_CRL_ERR_BAD_IDP;
    }
    for (size_t i = 0; i < l->uri_len; i++) {
      unsigned char c = (unsigned char)p->idp_uri[i];
      if (c < 0x21 || c > 0x7e) {
        return VIGIL_CRL_ERR_BAD_IDP;
      }
    }
  }

  if (num_entries > VIGIL_CRL_MAX_ENTRIES) {
    return VIGIL_CRL_ERR_TOO_MANY;
  }

  if (CBS_len(&p->issuer->ski) > 0) {
    l->key_id = CBS_data(&p->issuer->ski);
    l->key_id_len = CBS_len(&p->issuer->ski);
  } else {
    l->key_id = p->issuer->key_sha1;
    l->key_id_len = sizeof(p->issuer->key_sha1);
  }
  l->sig_alg = vigil_key_get0_sig_alg(p->issuer_key, &l->sig_alg_len);
  if (vigil_key_max_sig_len(p->issuer_key) > VIGIL_KEY_MAX_SIG_LEN) {
    return VIGIL_CRL_ERR_SIGN;
  }
  return VIGIL_CRL_OK;
}

enum vigil_crl_err vigil_crl_build(uint8_t **out_der, size_t *out_len,
                                   size_t *out_bad_entry,
                                   const struct vigil_crl_params *params,
                                   const struct vigil_crl_entry *entries,
                                   size_t num_entries) {
  enum vigil_crl_err ret;
  struct layout l;
  uint8_t *buf = NULL;
  size_t bad = 0;
  uint8_t sig[VIGIL_KEY_MAX_SIG_LEN];
  size_t sig_len = 0;
  size_t alloc_len, outer_len, start;
  uint8_t *tbs;
  struct writer w, hw;

  memset(&l, 0, sizeof(l));
  if (out_der == NULL || out_len == NULL) {
    return VIGIL_CRL_ERR_BAD_PARAMS;
  }
  *out_der = NULL;
  *out_len = 0;
  if (params == NULL || params->issuer == NULL || params->issuer_key == NULL ||
      (entries == NULL && num_entries > 0)) {
    return VIGIL_CRL_ERR_BAD_PARAMS;
  }

  /* Pass 1. */
  ret = check_params(&l, params, num_entries);
  if (ret != VIGIL_CRL_OK) {
    goto err;
  }
  ret = check_entries(&l.revoked_len, &bad, params, entries, num_entries);
  if (ret != VIGIL_CRL_OK) {
    goto err;
  }
  ret = check_duplicates(&bad, entries, num_entries);
  if (ret != VIGIL_CRL_OK) {
    goto err;
  }
  compute_layout(&l, params, num_entries);

  /* Pass 2: the TBSCertList, then the signature over it in place. */
  alloc_len = l.reserved + l.outer_max;
  buf = vigil_malloc(alloc_len);
  if (buf == NULL) {
    ret = VIGIL_CRL_ERR_NOMEM;
    goto err;
  }
  tbs = buf + l.reserved;
  w.p = tbs;
  w.end = tbs + l.tbs_len;
  w.ok = 1;
  write_tbs(&w, &l, params, entries, num_entries);
  if (!w.ok || w.p != w.end) {
    abort(); /* the layout and the writer disagree: never sign that */
  }

  if (!vigil_key_sign(params->issuer_key, sig, &sig_len, sizeof(sig), tbs,
                      l.tbs_len) ||
      sig_len > vigil_key_max_sig_len(params->issuer_key)) {
    ret = VIGIL_CRL_ERR_SIGN;
    goto err;
  }
  w.end = buf + alloc_len;
  put_bytes(&w, l.sig_alg, l.sig_alg_len);
  put_hdr(&w, TAG_BIT_STRING, 1 + sig_len);
  put_byte(&w, 0); /* no unused bits */
  put_bytes(&w, sig, sig_len);
  if (!w.ok) {
    abort();
  }

  /* The outer SEQUENCE header goes right before the TBSCertList. */
  outer_len = (size_t)(w.p - tbs);
  start = l.reserved - der_hdr_len(outer_len);
  hw.p = buf + start;
  hw.end = tbs;
  hw.ok = 1;
  put_hdr(&hw, TAG_SEQUENCE, outer_len);
  if (!hw.ok || hw.p != tbs) {
    abort();
  }
  if (start > 0) {
    /* Rare: a shorter signature moved the length across a DER length-form
     * boundary. */
    memmove(buf, buf + start, (size_t)(w.p - (buf + start)));
  }
  *out_len = (size_t)(w.p - (buf + start));
  *out_der = buf;
  buf = NULL;
  ret = VIGIL_CRL_OK;

err:
  if (ret != VIGIL_CRL_OK && out_bad_entry != NULL &&
      (ret == VIGIL_CRL_ERR_BAD_SERIAL ||
       ret == VIGIL_CRL_ERR_BAD_REVOCATION_TIME ||
       ret == VIGIL_CRL_ERR_REASON_NOT_ALLOWED ||
       ret == VIGIL_CRL_ERR_DUPLICATE_SERIAL)) {
    *out_bad_entry = bad;
  }
  vigil_free(buf);
  return ret;
}

const char *vigil_crl_err_string(enum vigil_crl_err err) {
  switch (err) {
    case VIGIL_CRL_OK:
      return "ok";
    case VIGIL_CRL_ERR_BAD_PARAMS:
      return "missing issuer, key, output or entries";
    case VIGIL_CRL_ERR_NOT_CA:
      return "issuer certificate is not a CA";
    case VIGIL_CRL_ERR_KEY_MISMATCH:
      return "key does not belong to the issuer certificate";
    case VIGIL_CRL_ERR_BAD_NUMBER:
      return "CRL number empty or not below 2^159";
    case VIGIL_CRL_ERR_BAD_TIMES:
      return "nextUpdate not after thisUpdate, beyond the BR limit, or a "
             "time out of range";
    case VIGIL_CRL_ERR_BAD_IDP:
      return "invalid issuing distribution point";
    case VIGIL_CRL_ERR_TOO_MANY:
      return "too many entries";
    case VIGIL_CRL_ERR_BAD_SERIAL:
      return "serial number not a minimal positive INTEGER of <= 21 octets";
    case VIGIL_CRL_ERR_BAD_REVOCATION_TIME:
      return "revocation time after thisUpdate or out of range";
    case VIGIL_CRL_ERR_REASON_NOT_ALLOWED:
      return "revocation reason not allowed by the Baseline Requirements";
    case VIGIL_CRL_ERR_DUPLICATE_SERIAL:
      return "serial number listed twice";
    case VIGIL_CRL_ERR_NOMEM:
      return "out of memory";
    case VIGIL_CRL_ERR_SIGN:
      return "signing failed";
  }
  return "unknown error";
}
