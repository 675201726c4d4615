/* ctl_hook.c: the pure parts of cache-invalidation hooks (see ctl_hook.h):
 * the DER OCSPRequest and GET URLs of a revoked serial, CRL URLs,
 * surrogate keys, and purge template expansion. */
#include "ctl_hook.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vigil/alloc.h"
#include "vigil/b64.h"
#include "vigil/hex.h"
#include "vigil/keyspace.h"

/* ==========================================================================
 * OCSP request
 * ========================================================================== */

/* AlgorithmIdentifier { id-sha1, NULL } */
static const uint8_t sha1_alg[] = { 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                    0x03, 0x02, 0x1a, 0x05, 0x00 };

int ctl_hook_ocsp_request_der(uint8_t *out, size_t *out_len, size_t max_out,
                              const uint8_t name_sha1[20],
                              const uint8_t key_sha1[20], const uint8_t *serial,
                              size_t serial_len) {
  *out_len = 0;
  if (serial == NULL || serial_len < 1 || serial_len > 20) {
    return 0;
  }
  /* Every length below is under 128 (CertID contents <= 11 + 22 + 22 + 22
   * = 77, the whole request <= 87 bytes), so each header is two bytes: the
   * tag and a short-form length. */
  size_t certid = sizeof(sha1_alg) + 22 + 22 + 2 + serial_len; /* contents */
  size_t request = 2 + certid; /* Request contents: the CertID */
  size_t list = 2 + request;   /* requestList contents: one Request */
  size_t tbs = 2 + list;       /* TBSRequest contents: the list */
  size_t ocsp_req = 2 + tbs;   /* OCSPRequest contents: the TBSRequest */
  if (2 + ocsp_req > max_out) {
    return 0;
  }
  size_t n = 0;
  out[n++] = 0x30; /* OCSPRequest */
  out[n++] = (uint8_t)ocsp_req;
  out[n++] = 0x30; /* TBSRequest */
  out[n++] = (uint8_t)tbs;
  out[n++] = 0x30; /* requestList */
  out[n++] = (uint8_t)list;
  out[n++] = 0x30; /* Request */
  out[n++] = (uint8_t)request;
  out[n++] = 0x30; /* CertID */
  out[n++] = (uint8_t)certid;
  memcpy(out + n, sha1_alg, sizeof(sha1_alg));
  n += sizeof(sha1_alg);
  out[n++] = 0x04;
  out[n++] = 20;
  memcpy(out + n, name_sha1, 20);
  n += 20;
  out[n++] = 0x04;
  out[n++] = 20;
  memcpy(out + n, key_sha1, 20);
  n += 20;
  out[n++] = 0x02;
  out[n++] = (uint8_t)serial_len;
  memcpy(out + n, serial, serial_len);
  n += serial_len;
  *out_len = n;
  return 1;
}

int ctl_hook_percent_encode(char *out, size_t out_len, const char *in) {
  static const char hexd[] = "0123456789ABCDEF";
  size_t n = 0;
  for (const char *p = in; *p != '\0'; p++) {
    unsigned char c = (unsigned char)*p;
    int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
               (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
               c == '~';
    size_t need = keep ? 1 : 3;
    if (n + need >= out_len) {
      if (out_len > 0) {
        out[0] = '\0';
      }
      return 0;
    }
    if (keep) {
      out[n++] = (char)c;
    } else {
      out[n++] = '%';
      out[n++] = hexd[c >> 4];
      out[n++] = hexd[c & 15];
    }
  }
  if (n >= out_len) {
    return 0;
  }
  out[n] = '\0';
  return 1;
}

/* ==========================================================================
 * Event targets
 * ========================================================================== */

/* put: formats into |dst| (|len| bytes). Returns 1 if it fit. */
static int put(char *dst, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int put(char *dst, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(dst, len, fmt, ap);
  va_end(ap);
  return n >= 0 && (size_t)n < len;
}
#define PUT(dst, ...) put((dst), sizeof(dst), __VA_ARGS__)

int ctl_hook_event_fill(struct ctl_hook_event *out, const char *edge_url,
                        const char *tenant, const char *issuer_id,
                        const uint8_t *name_sha1, const uint8_t *key_sha1,
                        const uint8_t *serial, size_t serial_len) {
  memset(out, 0, sizeof(*out));
  char base[CTL_HOOK_VALUE_MAX / 2];
  size_t blen = edge_url != NULL ? strlen(edge_url) : 0;
  if (blen >= sizeof(base) || !vigil_ks_name_valid(tenant, strlen(tenant)) ||
      !vigil_ks_name_valid(issuer_id, strlen(issuer_id))) {
    goto err;
  }
  if (blen > 0) {
    memcpy(base, edge_url, blen);
  }
  while (blen > 0 && base[blen - 1] == '/') {
    blen--;
  }
  base[blen] = '\0';
  if (!PUT(out->tenant, "%s", tenant) ||
      !PUT(out->issuer_id, "%s", issuer_id)) {
    goto err;
  }
  if (serial != NULL) {
    if (serial_len < 1 || serial_len > 20 || name_sha1 == NULL ||
        key_sha1 == NULL) {
      goto err;
    }
    vigil_serial_hex(out->serial, serial, serial_len);
    char ikh[41];
    vigil_hex_encode(ikh, key_sha1, 20);
    if (!PUT(out->keys[0], "%s:%s", ikh, out->serial)) {
      goto err;
    }
    out->num_keys = 1;
  } else {
    if (!PUT(out->keys[0], "%s", issuer_id)) {
      goto err;
    }
    out->num_keys = 1;
  }
  if (blen == 0) {
    return 1;
  }
  if (serial != NULL) {
    uint8_t der[CTL_HOOK_OCSP_REQ_MAX];
    size_t der_len = 0;
    char b64[2 * CTL_HOOK_OCSP_REQ_MAX];
    char enc[3 * sizeof(b64)];
    if (!ctl_hook_ocsp_request_der(der, &der_len, sizeof(der), name_sha1,
                                   key_sha1, serial, serial_len) ||
        vigil_b64_encoded_len(der_len) >= sizeof(b64)) {
      goto err;
    }
    size_t n = vigil_b64_encode(b64, der, der_len);
    b64[n] = '\0';
    if (!ctl_hook_percent_encode(enc, sizeof(enc), b64) ||
        !PUT(out->ocsp[0], "%s/ocsp/%s/%s", base, tenant, enc) ||
        !PUT(out->ocsp[1], "%s/ocsp/%s", base, enc)) {
      goto err;
    }
    out->num_ocsp = 2;
  }
  if (!PUT(out->crl[0], "%s/crl/%s/%s", base, tenant, issuer_id) ||
      !PUT(out->crl[1], "%s/crl/%s", base, tenant)) {
    goto err;
  }
  out->num_crl = 2;
  return 1;

err:
  memset(out, 0, sizeof(*out));
  return 0;
}

/* ==========================================================================
 * Templates
 * ========================================================================== */

enum ph {
  PH_NONE = 0,
  PH_OCSP, /* multi-valued */
  PH_CRL,  /* multi-valued */
  PH_KEY,  /* multi-valued */
  PH_SERIAL,
  PH_ISSUER,
  PH_TENANT,
};

static const struct {
  const char *name;
  enum ph ph;
} placeholders[] = {
  { "ocsp_get_url", PH_OCSP }, { "crl_url", PH_CRL },
  { "surrogate_key", PH_KEY }, { "serial", PH_SERIAL },
  { "issuer_id", PH_ISSUER },  { "tenant", PH_TENANT },
};

/* ph_parse: the placeholder at |s| (just after '{') up to '}'. Sets
 * |*out_len| to the bytes consumed including '}', |*out_raw| for '+'.
 * Returns PH_NONE when malformed. */
static enum ph ph_parse(const char *s, size_t *out_len, int *out_raw) {
  const char *end = strchr(s, '}');
  *out_len = 0;
  *out_raw = 0;
  if (end == NULL) {
    return PH_NONE;
  }
  const char *name = s;
  if (*name == '+') {
    *out_raw = 1;
    name++;
  }
  size_t n = (size_t)(end - name);
  for (size_t i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++) {
    if (strlen(placeholders[i].name) == n &&
        memcmp(placeholders[i].name, name, n) == 0) {
      *out_len = (size_t)(end - s) + 1;
      return placeholders[i].ph;
    }
  }
  return PH_NONE;
}

/* tmpl_scan: checks |tmpl|; sets |*out_multi| to its multi-valued
 * placeholder (PH_NONE: none). */
static enum ctl_hook_tmpl tmpl_scan(const char *tmpl, enum ph *out_multi) {
  *out_multi = PH_NONE;
  size_t len = strlen(tmpl);
  if (len > CTL_HOOK_URL_MAX) {
    return CTL_HOOK_TMPL_TOO_LONG;
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)tmpl[i];
    if (c <= 0x20 || c == 0x7f) {
      return CTL_HOOK_TMPL_TOO_LONG;
    }
  }
  if (strncmp(tmpl, "http://", 7) != 0 && strncmp(tmpl, "https://", 8) != 0 &&
      strncmp(tmpl, "{+ocsp_get_url}", 15) != 0 &&
      strncmp(tmpl, "{+crl_url}", 10) != 0) {
    return CTL_HOOK_TMPL_SCHEME;
  }
  for (const char *p = tmpl; *p != '\0';) {
    if (*p == '}') {
      return CTL_HOOK_TMPL_SYNTAX;
    }
    if (*p != '{') {
      p++;
      continue;
    }
    size_t n = 0;
    int raw = 0;
    enum ph ph = ph_parse(p + 1, &n, &raw);
    if (ph == PH_NONE) {
      return CTL_HOOK_TMPL_SYNTAX;
    }
    if (ph == PH_OCSP || ph == PH_CRL || ph == PH_KEY) {
      if (*out_multi != PH_NONE && *out_multi != ph) {
        return CTL_HOOK_TMPL_MIXED;
      }
      *out_multi = ph;
    }
    p += 1 + n;
  }
  return CTL_HOOK_TMPL_OK;
}

enum ctl_hook_tmpl ctl_hook_template_check(const char *tmpl) {
  enum ph multi = PH_NONE;
  return tmpl_scan(tmpl, &multi);
}

struct ctl_hook_targets *ctl_hook_targets_new(void) {
  struct ctl_hook_targets *t = vigil_malloc(sizeof(*t));
  if (t != NULL) {
    t->num = 0;
  }
  return t;
}

void ctl_hook_targets_free(struct ctl_hook_targets *t) {
  vigil_free(t);
}

/* value_of: the value of |ph| for |ev| (index |k| for multi-valued ones);
 * NULL if the event has none. */
static const char *value_of(const struct ctl_hook_event *ev, enum ph ph,
                            size_t k) {
  switch (ph) {
    case PH_OCSP:
      return k < ev->num_ocsp ? ev->ocsp[k] : NULL;
    case PH_CRL:
      return k < ev->num_crl ? ev->crl[k] : NULL;
    case PH_KEY:
      return k < ev->num_keys ? ev->keys[k] : NULL;
    case PH_SERIAL:
      return ev->serial[0] != '\0' ? ev->serial : NULL;
    case PH_ISSUER:
      return ev->issuer_id;
    case PH_TENANT:
      return ev->tenant;
    case PH_NONE:
      break;
  }
  return NULL;
}

/* expand_one writes the expansion of |tmpl| with multi-valued index |k| to
 * |out|. Returns 1, 0 when a value is missing (no URL) or -1 when the
 * result is too long. */
static int expand_one(char *out, const char *tmpl,
                      const struct ctl_hook_event *ev, size_t k) {
  size_t n = 0;
  char enc[3 * CTL_HOOK_VALUE_MAX];
  for (const char *p = tmpl; *p != '\0';) {
    if (*p != '{') {
      if (n >= CTL_HOOK_EXPANDED_MAX) {
        return -1;
      }
      out[n++] = *p++;
      continue;
    }
    size_t used = 0;
    int raw = 0;
    enum ph ph = ph_parse(p + 1, &used, &raw);
    const char *v = value_of(ev, ph, k);
    if (v == NULL) {
      return 0;
    }
    if (!raw) {
      if (!ctl_hook_percent_encode(enc, sizeof(enc), v)) {
        return -1;
      }
      v = enc;
    }
    size_t vl = strlen(v);
    if (vl > CTL_HOOK_EXPANDED_MAX - n) {
      return -1;
    }
    memcpy(out + n, v, vl);
    n += vl;
    p += 1 + used;
  }
  out[n] = '\0';
  if (strncmp(out, "http://", 7) != 0 && strncmp(out, "https://", 8) != 0) {
    return -1;
  }
  return 1;
}

int ctl_hook_expand(struct ctl_hook_targets *out, const char *tmpl,
                    const struct ctl_hook_event *ev) {
  enum ph multi = PH_NONE;
  out->num = 0;
  if (tmpl_scan(tmpl, &multi) != CTL_HOOK_TMPL_OK) {
    return 0;
  }
  size_t count = 1;
  if (multi == PH_OCSP) {
    count = ev->num_ocsp;
  } else if (multi == PH_CRL) {
    count = ev->num_crl;
  } else if (multi == PH_KEY) {
    count = ev->num_keys;
  }
  if (count > CTL_HOOK_MAX_TARGETS) {
    count = CTL_HOOK_MAX_TARGETS;
  }
  for (size_t k = 0; k < count; k++) {
    int rc = expand_one(out->url[out->num], tmpl, ev, k);
    if (rc < 0) {
      out->num = 0;
      return 0;
    }
    if (rc == 1) {
      out->num++;
    }
  }
  return 1;
}
