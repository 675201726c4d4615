/* keyspace.c: Redis key and value formats (see vigil/keyspace.h). */
#include "vigil/keyspace.h"

#include <stdio.h>
#include <string.h>

#include "vigil/hex.h"

/* ======================================================================
 * Small strict scanners: fields separated by exactly one space, decimal
 * integers without sign (except the reason's "-1"), no leading zeros
 * beyond "0", lowercase hex of a fixed length.
 * ====================================================================== */

struct scan {
  const char *p;   /* next unread byte */
  const char *end; /* one past the last byte */
};

/* next_field sets |*out|/|*out_len| to the next space-separated field and
 * consumes it plus one following space. Returns 0 at the end or on an
 * empty field. */
static int next_field(struct scan *s, const char **out, size_t *out_len) {
  if (s->p >= s->end) {
    return 0;
  }
  const char *start = s->p;
  while (s->p < s->end && *s->p != ' ') {
    s->p++;
  }
  *out = start;
  *out_len = (size_t)(s->p - start);
  if (s->p < s->end) {
    s->p++; /* the separator */
    if (s->p == s->end) {
      return 0; /* trailing space */
    }
  }
  return *out_len > 0;
}

static int at_end(const struct scan *s) {
  return s->p == s->end;
}

/* parse_i64 parses a canonical decimal (optional '-', no leading zeros). */
static int parse_i64(int64_t *out, const char *in, size_t len) {
  int neg = 0;
  if (len > 0 && in[0] == '-') {
    neg = 1;
    in++;
    len--;
  }
  if (len == 0 || len > 19 || (len > 1 && in[0] == '0')) {
    return 0;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < len; i++) {
    if (in[i] < '0' || in[i] > '9') {
      return 0;
    }
    v = v * 10 + (uint64_t)(in[i] - '0');
  }
  if (v > (uint64_t)INT64_MAX) {
    return 0;
  }
  if (neg && v == 0) {
    return 0; /* "-0" is not canonical */
  }
  *out = neg ? -(int64_t)v : (int64_t)v;
  return 1;
}

static int parse_u64(uint64_t *out, const char *in, size_t len) {
  int64_t v;
  if (len > 0 && in[0] == '-') {
    return 0;
  }
  if (!parse_i64(&v, in, len)) {
    return 0;
  }
  *out = (uint64_t)v;
  return 1;
}

/* parse_hex_exact decodes exactly |n| bytes of lowercase hex. */
static int parse_hex_exact(uint8_t *out, size_t n, const char *in, size_t len) {
  size_t got;
  if (len != 2 * n) {
    return 0;
  }
  for (size_t i = 0; i < len; i++) {
    if (in[i] >= 'A' && in[i] <= 'F') {
      return 0;
    }
  }
  return vigil_hex_decode(out, &got, n, in, len) && got == n;
}

/* copy_name copies a valid name field into a NUL-terminated buffer. */
static int copy_name(char out[VIGIL_KS_MAX_NAME + 1], const char *in,
                     size_t len) {
  if (!vigil_ks_name_valid(in, len)) {
    return 0;
  }
  memcpy(out, in, len);
  out[len] = '\0';
  return 1;
}

/* finish_snprintf turns an snprintf result into our length-or-0. */
static size_t finish_snprintf(int n, size_t out_len) {
  if (n < 0 || (size_t)n >= out_len) {
    return 0;
  }
  return (size_t)n;
}

/* ======================================================================
 * Keys
 * ====================================================================== */

int vigil_ks_name_valid(const char *name, size_t len) {
  if (len == 0 || len > VIGIL_KS_MAX_NAME) {
    return 0;
  }
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && !(i > 0 && c == '-')) {
      return 0;
    }
  }
  return 1;
}

static size_t serial_key(char *out, size_t out_len, const char *kind,
                         const uint8_t ikh[20], const uint8_t *serial,
                         size_t serial_len) {
  char ikh_hex[41];
  char serial_hex[2 * VIGIL_OCSP_MAX_SERIAL + 2];
  if (serial_len == 0 || serial_len > VIGIL_OCSP_MAX_SERIAL) {
    return 0;
  }
  vigil_hex_encode(ikh_hex, ikh, 20);
  vigil_serial_hex(serial_hex, serial, serial_len);
  int n = snprintf(out, out_len, "v1:%s:%s:%s", kind, ikh_hex, serial_hex);
  return finish_snprintf(n, out_len);
}

size_t vigil_ks_resp_key(char *out, size_t out_len, const uint8_t ikh[20],
                         const uint8_t *serial, size_t serial_len) {
  return serial_key(out, out_len, "resp", ikh, serial, serial_len);
}

size_t vigil_ks_status_key(char *out, size_t out_len, const uint8_t ikh[20],
                           const uint8_t *serial, size_t serial_len) {
  return serial_key(out, out_len, "status", ikh, serial, serial_len);
}

size_t vigil_ks_crl_key(char *out, size_t out_len, const char *issuer_id,
                        int shard) {
  if (!vigil_ks_name_valid(issuer_id, strlen(issuer_id))) {
    return 0;
  }
  int n = shard < 0 ? snprintf(out, out_len, "v1:crl:%s", issuer_id)
                    : snprintf(out, out_len, "v1:crl:%s:%d", issuer_id, shard);
  return finish_snprintf(n, out_len);
}

size_t vigil_ks_crlmeta_key(char *out, size_t out_len, const char *issuer_id) {
  if (!vigil_ks_name_valid(issuer_id, strlen(issuer_id))) {
    return 0;
  }
  return finish_snprintf(snprintf(out, out_len, "v1:crlmeta:%s", issuer_id),
                         out_len);
}

/* ======================================================================
 * Status records
 * ====================================================================== */

size_t vigil_status_format(char *out, size_t out_len,
                           const struct vigil_status *st) {
  int n;
  if (st->status == VIGIL_CERT_STATUS_GOOD) {
    n = snprintf(out, out_len, "good %lld", (long long)st->not_after);
  } else if (st->status == VIGIL_CERT_STATUS_REVOKED) {
    if (st->reason != VIGIL_REASON_NONE &&
        vigil_reason_name(st->reason) == NULL) {
      return 0;
    }
    n = snprintf(out, out_len, "revoked %lld %lld %d", (long long)st->not_after,
                 (long long)st->revoked_at, (int)st->reason);
  } else {
    return 0;
  }
  return finish_snprintf(n, out_len);
}

int vigil_status_parse(struct vigil_status *out, const char *in, size_t len) {
  struct scan s = { in, in + len };
  const char *f;
  size_t f_len;
  struct vigil_status st;
  memset(&st, 0, sizeof(st));
  st.reason = VIGIL_REASON_NONE;

  if (!next_field(&s, &f, &f_len)) {
    return 0;
  }
  if (f_len == 4 && memcmp(f, "good", 4) == 0) {
    st.status = VIGIL_CERT_STATUS_GOOD;
    if (!next_field(&s, &f, &f_len) || !parse_i64(&st.not_after, f, f_len) ||
        !at_end(&s)) {
      return 0;
    }
  } else if (f_len == 7 && memcmp(f, "revoked", 7) == 0) {
    int64_t reason;
    st.status = VIGIL_CERT_STATUS_REVOKED;
    if (!next_field(&s, &f, &f_len) || !parse_i64(&st.not_after, f, f_len) ||
        !next_field(&s, &f, &f_len) || !parse_i64(&st.revoked_at, f, f_len) ||
        !next_field(&s, &f, &f_len) || !parse_i64(&reason, f, f_len) ||
        !at_end(&s)) {
      return 0;
    }
    if (reason != VIGIL_REASON_NONE &&
        vigil_reason_name((enum vigil_reason)reason) == NULL) {
      return 0;
    }
    st.reason = (enum vigil_reason)reason;
  } else {
    return 0;
  }
  *out = st;
  return 1;
}

/* ======================================================================
 * Issuer records
 * ====================================================================== */

size_t vigil_issuer_record_format(char *out, size_t out_len,
                                  const struct vigil_issuer_record *rec) {
  char n1[41], n256[65], k256[65];
  if (!vigil_ks_name_valid(rec->issuer_id, strlen(rec->issuer_id)) ||
      !vigil_ks_name_valid(rec->tenant, strlen(rec->tenant))) {
    return 0;
  }
  vigil_hex_encode(n1, rec->name_sha1, 20);
  vigil_hex_encode(n256, rec->name_sha256, 32);
  vigil_hex_encode(k256, rec->key_sha256, 32);
  int n = snprintf(out, out_len, "%s %s %s %s %s %d", rec->issuer_id,
                   rec->tenant, n1, n256, k256, rec->current ? 1 : 0);
  return finish_snprintf(n, out_len);
}

int vigil_issuer_record_parse(struct vigil_issuer_record *out, const char *in,
                              size_t len) {
  struct scan s = { in, in + len };
  const char *f;
  size_t f_len;
  struct vigil_issuer_record rec;
  memset(&rec, 0, sizeof(rec));
  if (!next_field(&s, &f, &f_len) || !copy_name(rec.issuer_id, f, f_len) ||
      !next_field(&s, &f, &f_len) || !copy_name(rec.tenant, f, f_len) ||
      !next_field(&s, &f, &f_len) ||
      !parse_hex_exact(rec.name_sha1, 20, f, f_len) ||
      !next_field(&s, &f, &f_len) ||
      !parse_hex_exact(rec.name_sha256, 32, f, f_len) ||
      !next_field(&s, &f, &f_len) ||
      !parse_hex_exact(rec.key_sha256, 32, f, f_len) ||
      !next_field(&s, &f, &f_len) || f_len != 1 ||
      (f[0] != '0' && f[0] != '1') || !at_end(&s)) {
    return 0;
  }
  rec.current = f[0] == '1';
  *out = rec;
  return 1;
}

/* ======================================================================
 * CRL metadata
 * ====================================================================== */

size_t vigil_crlmeta_format(char *out, size_t out_len,
                            const struct vigil_crlmeta *meta) {
  size_t hex_len = strnlen(meta->number_hex, sizeof(meta->number_hex));
  if (hex_len == 0 || hex_len >= sizeof(meta->number_hex)) {
    return 0;
  }
  int n = snprintf(out, out_len, "%lld %lld %s %llu",
                   (long long)meta->this_update, (long long)meta->next_update,
                   meta->number_hex, (unsigned long long)meta->num_entries);
  return finish_snprintf(n, out_len);
}

int vigil_crlmeta_parse(struct vigil_crlmeta *out, const char *in, size_t len) {
  struct scan s = { in, in + len };
  const char *f;
  size_t f_len;
  struct vigil_crlmeta meta;
  memset(&meta, 0, sizeof(meta));
  if (!next_field(&s, &f, &f_len) || !parse_i64(&meta.this_update, f, f_len) ||
      !next_field(&s, &f, &f_len) || !parse_i64(&meta.next_update, f, f_len) ||
      !next_field(&s, &f, &f_len) || f_len >= sizeof(meta.number_hex)) {
    return 0;
  }
  for (size_t i = 0; i < f_len; i++) {
    char c = f[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return 0;
    }
  }
  memcpy(meta.number_hex, f, f_len);
  meta.number_hex[f_len] = '\0';
  if (!next_field(&s, &f, &f_len) || !parse_u64(&meta.num_entries, f, f_len) ||
      !at_end(&s)) {
    return 0;
  }
  *out = meta;
  return 1;
}

/* ======================================================================
 * Events
 * ====================================================================== */

static const char *const kEventNames[] = {
  [VIGIL_EVENT_REVOKE] = "revoke",
  [VIGIL_EVENT_CRL] = "crl",
  [VIGIL_EVENT_ISSUER] = "issuer",
  [VIGIL_EVENT_FLUSH] = "flush",
};

const char *vigil_event_type_name(enum vigil_event_type type) {
  if (type <= VIGIL_EVENT_UNKNOWN || type > VIGIL_EVENT_FLUSH) {
    return NULL;
  }
  return kEventNames[type];
}

enum vigil_event_type vigil_event_type_parse(const char *name, size_t len) {
  for (int t = VIGIL_EVENT_REVOKE; t <= VIGIL_EVENT_FLUSH; t++) {
    const char *n = kEventNames[t];
    if (strlen(n) == len && memcmp(n, name, len) == 0) {
      return (enum vigil_event_type)t;
    }
  }
  return VIGIL_EVENT_UNKNOWN;
}
