/* issuers.c: immutable issuer snapshots built from v1:issuers records, and
 * their lookups (see issuers.h).
 *
 * A build runs on a cold path (start-up, an `issuer` event, SIGHUP), so it
 * may allocate and sort; lookups run per request and only binary-search
 * arrays that never change after the build. With at most EDGE_MAX_ISSUERS
 * entries a search is at most 12 comparisons of a few bytes. */
#include "issuers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "vigil/alloc.h"
#include "vigil/hex.h"

/* How many issuer ids without responder files the build summary names. */
#define SUMMARY_MAX_IDS 8

/* ======================================================================
 * Comparators (qsort) and small helpers
 * ====================================================================== */

static int cmp_item_key_sha1(const void *a, const void *b) {
  const struct edge_issuer *x = a;
  const struct edge_issuer *y = b;
  int c = memcmp(x->key_sha1, y->key_sha1, sizeof(x->key_sha1));
  if (c != 0) {
    return c;
  }
  /* Equal ikh (a caller passing duplicates): order by content so that which
   * one survives does not depend on the input order. */
  c = strcmp(x->issuer_id, y->issuer_id);
  if (c != 0) {
    return c;
  }
  return strcmp(x->tenant, y->tenant);
}

static int cmp_ptr_key_sha256(const void *a, const void *b) {
  const struct edge_issuer *x = *(const struct edge_issuer *const *)a;
  const struct edge_issuer *y = *(const struct edge_issuer *const *)b;
  return memcmp(x->key_sha256, y->key_sha256, sizeof(x->key_sha256));
}

/* Ties (a duplicate issuer id) are ordered by ikh: the lowest one wins. */
static int cmp_ptr_id(const void *a, const void *b) {
  const struct edge_issuer *x = *(const struct edge_issuer *const *)a;
  const struct edge_issuer *y = *(const struct edge_issuer *const *)b;
  int c = strcmp(x->issuer_id, y->issuer_id);
  if (c != 0) {
    return c;
  }
  return memcmp(x->key_sha1, y->key_sha1, sizeof(x->key_sha1));
}

/* Ties (two current issuers of one tenant) are ordered by issuer id. */
static int cmp_ptr_tenant(const void *a, const void *b) {
  const struct edge_issuer *x = *(const struct edge_issuer *const *)a;
  const struct edge_issuer *y = *(const struct edge_issuer *const *)b;
  int c = strcmp(x->tenant, y->tenant);
  if (c != 0) {
    return c;
  }
  return strcmp(x->issuer_id, y->issuer_id);
}

/* cmp_name compares the NUL-terminated |s| with |name| (|len| bytes, no
 * NUL) as strcmp would order them. */
static int cmp_name(const char *s, const char *name, size_t len) {
  size_t s_len = strlen(s);
  size_t n = s_len < len ? s_len : len;
  int c = memcmp(s, name, n);
  if (c != 0) {
    return c;
  }
  if (s_len == len) {
    return 0;
  }
  return s_len < len ? -1 : 1;
}

/* parse_ikh decodes a field name: exactly 40 lowercase hex digits, as
 * DESIGN.md section 3 writes ikh. Returns 1 on success. */
static int parse_ikh(uint8_t out[20], const char *hex) {
  size_t len = strnlen(hex, 41);
  if (len != 40) {
    return 0;
  }
  for (size_t i = 0; i < len; i++) {
    char c = hex[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return 0;
    }
  }
  size_t n = 0;
  return vigil_hex_decode(out, &n, 20, hex, len) && n == 20;
}

static int64_t wall_clock_now(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
    return 0;
  }
  return (int64_t)ts.tv_sec;
}

/* file_exists returns 1 if |path| exists, 0 if it does not (ENOENT or
 * ENOTDIR), -1 if stat failed otherwise (e.g. EACCES on the directory):
 * the file may be there, so that is a problem to report, not "absent". */
static int file_exists(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0) {
    return 1;
  }
  return (errno == ENOENT || errno == ENOTDIR) ? 0 : -1;
}

/* ======================================================================
 * Responder key and certificate
 * ====================================================================== */

enum load_outcome {
  LOAD_OK = 0,  /* key and certificate loaded and checked */
  LOAD_ABSENT,  /* neither file exists: no live signing (normal) */
  LOAD_REFUSED, /* files present but unusable (logged): no live signing */
  LOAD_NOMEM,   /* out of memory: the build fails */
};

/* cert_belongs_to checks that |cert| can answer for issuer |it|: either it
 * is a delegated responder certificate issued by the issuer (its issuer
 * Name is the issuer's subject Name, whose SHA-1 the record carries), or
 * it is the issuer's own certificate (same subject Name and key). The
 * signature cannot be checked: the edge does not have the CA certificate. */
static int cert_belongs_to(const struct vigil_cert *cert,
                           const struct edge_issuer *it) {
  uint8_t issuer_name_sha1[SHA_DIGEST_LENGTH];
  SHA1(CBS_data(&cert->issuer), CBS_len(&cert->issuer), issuer_name_sha1);
  if (memcmp(issuer_name_sha1, it->name_sha1, 20) == 0) {
    return 1;
  }
  return memcmp(cert->name_sha1, it->name_sha1, 20) == 0 &&
         memcmp(cert->key_sha1, it->key_sha1, 20) == 0;
}

/* load_responder loads {dir}/{issuer_id}.key and .pem into |it| if both
 * exist and pass the checks. On any outcome but LOAD_OK, |it| holds no key
 * or certificate. */
/* responder_profile_ok returns 1 if |cert| is a delegated OCSP responder
 * certificate: EKU id-kp-OCSPSigning (RFC 6960 4.2.2.2) and
 * id-pkix-ocsp-nocheck (4.2.2.2.1, STANDARDS.md). Relying parties reject
 * answers signed by anything else. */
static int responder_profile_ok(const struct vigil_cert *cert) {
  const uint8_t *der = CBS_data(&cert->der);
  X509 *x = d2i_X509(NULL, &der, (long)CBS_len(&cert->der));
  if (x == NULL) {
    return 0;
  }
  int ok = (X509_get_extended_key_usage(x) & XKU_OCSP_SIGN) != 0 &&
           X509_get_ext_by_NID(x, NID_id_pkix_OCSP_noCheck, -1) >= 0;
  X509_free(x);
  return ok;
}

static enum load_outcome load_responder(struct edge_issuer *it, const char *dir,
                                        int64_t now,
                                        const struct vigil_log *log) {
  char key_path[4096];
  char cert_path[4096];
  struct vigil_key *key = NULL;
  struct vigil_cert *cert = NULL;
  enum load_outcome outcome = LOAD_REFUSED;

  int n1 =
      snprintf(key_path, sizeof(key_path), "%s/%s.key", dir, it->issuer_id);
  int n2 =
      snprintf(cert_path, sizeof(cert_path), "%s/%s.pem", dir, it->issuer_id);
  if (n1 < 0 || (size_t)n1 >= sizeof(key_path) || n2 < 0 ||
      (size_t)n2 >= sizeof(cert_path)) {
    VLOG_ERROR(log,
               "issuer %s: responder directory path too long; live signing "
               "disabled",
               it->issuer_id);
    goto err;
  }
  int key_exists = file_exists(key_path);
  int cert_exists = file_exists(cert_path);
  if (key_exists == 0 && cert_exists == 0) {
    VLOG_DEBUG(log, "issuer %s: no responder key/certificate in %s",
               it->issuer_id, dir);
    outcome = LOAD_ABSENT;
    goto err;
  }
  if (key_exists != 1 || cert_exists != 1) {
    VLOG_ERROR(log,
               "issuer %s: responder %s %s is missing or not accessible "
               "(both %s.key and %s.pem are needed); live signing disabled",
               it->issuer_id, key_exists != 1 ? "key" : "certificate",
               key_exists != 1 ? key_path : cert_path, it->issuer_id,
               it->issuer_id);
    goto err;
  }

  enum vigil_key_err key_err = VIGIL_KEY_OK;
  key = vigil_key_load_file(&key_err, key_path, 1);
  if (key == NULL) {
    if (key_err == VIGIL_KEY_ERR_NOMEM) {
      outcome = LOAD_NOMEM;
      goto err;
    }
    if (key_err == VIGIL_KEY_ERR_MODE) {
      VLOG_ERROR(log,
                 "issuer %s: responder key %s is accessible by group or "
                 "others, or not owned by this user (mode 0600 and this "
                 "user's file required); live signing disabled",
                 it->issuer_id, key_path);
    } else {
      VLOG_ERROR(log,
                 "issuer %s: responder key %s refused: %s; live signing "
                 "disabled",
                 it->issuer_id, key_path, vigil_key_err_string(key_err));
    }
    goto err;
  }

  enum vigil_cert_err cert_err = VIGIL_CERT_OK;
  cert = vigil_cert_load_file(&cert_err, cert_path);
  if (cert == NULL) {
    if (cert_err == VIGIL_CERT_ERR_NOMEM) {
      outcome = LOAD_NOMEM;
      goto err;
    }
    VLOG_ERROR(log,
               "issuer %s: responder certificate %s refused: %s; live "
               "signing disabled",
               it->issuer_id, cert_path, vigil_cert_err_string(cert_err));
    goto err;
  }
  if (!vigil_cert_matches_key(cert, key)) {
    VLOG_ERROR(log,
               "issuer %s: responder certificate %s is not for key %s; live "
               "signing disabled",
               it->issuer_id, cert_path, key_path);
    goto err;
  }
  /* Clients reject a response whose signer certificate is outside its
   * validity, so signing with it would only produce unusable answers. */
  if (now < cert->not_before || now > cert->not_after) {
    VLOG_ERROR(log,
               "issuer %s: responder certificate %s is %s (valid %lld..%lld, "
               "now %lld); live signing disabled",
               it->issuer_id, cert_path,
               now < cert->not_before ? "not yet valid" : "expired",
               (long long)cert->not_before, (long long)cert->not_after,
               (long long)now);
    goto err;
  }
  if (!responder_profile_ok(cert)) {
    VLOG_ERROR(log,
               "issuer %s: responder certificate %s lacks EKU OCSPSigning or "
               "id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2); live signing "
               "disabled",
               it->issuer_id, cert_path);
    goto err;
  }
  if (!cert_belongs_to(cert, it)) {
    VLOG_ERROR(log,
               "issuer %s: responder certificate %s was not issued by this "
               "issuer (issuer name differs); live signing disabled",
               it->issuer_id, cert_path);
    goto err;
  }
  it->responder_key = key;
  it->responder_cert = cert;
  return LOAD_OK;

err:
  vigil_key_free(key);
  vigil_cert_free(cert);
  return outcome;
}

/* ======================================================================
 * Build
 * ====================================================================== */

/* release_items frees the keys and certificates of |num| items. */
static void release_items(struct edge_issuer *items, size_t num) {
  for (size_t i = 0; i < num; i++) {
    vigil_key_free(items[i].responder_key);
    vigil_cert_free(items[i].responder_cert);
    items[i].responder_key = NULL;
    items[i].responder_cert = NULL;
  }
}

/* parse_records fills |items| from the records that parse and returns how
 * many did; bad ones are logged and skipped. */
static size_t parse_records(struct edge_issuer *items,
                            const char *const *ikh_hex,
                            const char *const *records, size_t num_records,
                            const struct vigil_log *log) {
  size_t n = 0;
  for (size_t i = 0; i < num_records; i++) {
    struct edge_issuer *it = &items[n];
    struct vigil_issuer_record rec;
    memset(it, 0, sizeof(*it));
    if (ikh_hex[i] == NULL || !parse_ikh(it->key_sha1, ikh_hex[i])) {
      VLOG_WARN(log,
                "issuers: skipping record %zu: field is not a 40-digit "
                "lowercase hex key hash",
                i);
      continue;
    }
    if (records[i] == NULL ||
        !vigil_issuer_record_parse(&rec, records[i], strlen(records[i]))) {
      VLOG_WARN(log, "issuers: skipping %s: malformed issuer record",
                ikh_hex[i]);
      continue;
    }
    memcpy(it->ikh_hex, ikh_hex[i], 40);
    it->ikh_hex[40] = '\0';
    memcpy(it->issuer_id, rec.issuer_id, sizeof(it->issuer_id));
    memcpy(it->tenant, rec.tenant, sizeof(it->tenant));
    memcpy(it->name_sha1, rec.name_sha1, sizeof(it->name_sha1));
    memcpy(it->name_sha256, rec.name_sha256, sizeof(it->name_sha256));
    memcpy(it->key_sha256, rec.key_sha256, sizeof(it->key_sha256));
    it->current = rec.current;
    n++;
  }
  return n;
}

/* drop_duplicates sorts |items| by key_sha1 and removes entries that repeat
 * an ikh or an issuer id (keeping, for an id, the lowest ikh), using
 * |scratch| (room for |num| pointers). Returns the new count. The order of
 * the survivors stays sorted by key_sha1. */
static size_t drop_duplicates(struct edge_issuer *items, size_t num,
                              const struct edge_issuer **scratch,
                              const struct vigil_log *log) {
  if (num == 0) {
    return 0;
  }
  qsort(items, num, sizeof(*items), cmp_item_key_sha1);
  size_t n = 1;
  for (size_t i = 1; i < num; i++) {
    if (memcmp(items[i].key_sha1, items[n - 1].key_sha1, 20) == 0) {
      VLOG_WARN(log, "issuers: skipping duplicate record for %s (issuer %s)",
                items[i].ikh_hex, items[i].issuer_id);
      continue;
    }
    if (n != i) {
      items[n] = items[i];
    }
    n++;
  }

  /* An issuer id names one CRL and one key; two keys under one id is a
   * control-plane bug, and answering for both would be a guess. Mark the
   * losers by clearing their ikh_hex, then compact. */
  for (size_t i = 0; i < n; i++) {
    scratch[i] = &items[i];
  }
  qsort(scratch, n, sizeof(*scratch), cmp_ptr_id);
  int any = 0;
  for (size_t i = 1; i < n; i++) {
    if (strcmp(scratch[i]->issuer_id, scratch[i - 1]->issuer_id) == 0) {
      struct edge_issuer *loser = (struct edge_issuer *)scratch[i];
      VLOG_WARN(log,
                "issuers: skipping %s: issuer id %s is already used by "
                "another key",
                loser->ikh_hex, loser->issuer_id);
      loser->ikh_hex[0] = '\0';
      any = 1;
    }
  }
  if (!any) {
    return n;
  }
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (items[i].ikh_hex[0] == '\0') {
      continue;
    }
    if (m != i) {
      items[m] = items[i];
    }
    m++;
  }
  return m;
}

struct edge_issuers *edge_issuers_build(
    const struct edge_issuers *prev, uint32_t *next_idx,
    const char *const *ikh_hex, const char *const *records, size_t num_records,
    const char *responder_dir, const struct vigil_log *log) {
  struct edge_issuers *iss = NULL;
  size_t num_skipped = 0;
  size_t num_live = 0;
  size_t num_absent = 0;
  size_t absent_len = 0;
  char absent_ids[SUMMARY_MAX_IDS * (VIGIL_KS_MAX_NAME + 1) + 8];
  absent_ids[0] = '\0';

  if (num_records > EDGE_MAX_ISSUERS) {
    VLOG_ERROR(log, "issuers: %zu records, more than the %d this edge serves",
               num_records, EDGE_MAX_ISSUERS);
    return NULL;
  }
  iss = vigil_calloc(1, sizeof(*iss));
  if (iss == NULL) {
    goto err;
  }
  /* Every array gets at least one element so that an empty snapshot is an
   * ordinary one (vigil_calloc(0, ...) semantics need not be relied on). */
  size_t cap = num_records > 0 ? num_records : 1;
  iss->items = vigil_calloc(cap, sizeof(*iss->items));
  iss->by_sha256 = vigil_calloc(cap, sizeof(*iss->by_sha256));
  iss->by_id = vigil_calloc(cap, sizeof(*iss->by_id));
  iss->by_tenant = vigil_calloc(cap, sizeof(*iss->by_tenant));
  if (iss->items == NULL || iss->by_sha256 == NULL || iss->by_id == NULL ||
      iss->by_tenant == NULL) {
    goto err;
  }

  size_t n = parse_records(iss->items, ikh_hex, records, num_records, log);
  n = drop_duplicates(iss->items, n, iss->by_id, log);
  num_skipped = num_records - n;

  /* L1 indexes: an issuer key keeps its index for as long as snapshots
   * follow one another; a new key takes a fresh one, never a retired one,
   * so a cache entry can never be mistaken for another issuer's. */
  uint32_t next = *next_idx;
  for (size_t i = 0; i < n; i++) {
    struct edge_issuer *it = &iss->items[i];
    const struct edge_issuer *old = edge_issuers_by_ikh(prev, it->key_sha1);
    if (old != NULL) {
      it->l1_idx = old->l1_idx;
      continue;
    }
    /* Below the CRL bit, which marks CRL keys in the lookup table. */
    if (next >= EDGE_L1_IDX_CRL) {
      VLOG_ERROR(log, "issuers: L1 index space exhausted; restart the edge");
      goto err;
    }
    it->l1_idx = next++;
  }

  int64_t now = wall_clock_now();
  int want_keys = responder_dir != NULL && responder_dir[0] != '\0';
  for (size_t i = 0; want_keys && i < n; i++) {
    struct edge_issuer *it = &iss->items[i];
    enum load_outcome lo = load_responder(it, responder_dir, now, log);
    if (lo == LOAD_NOMEM) {
      /* Keys loaded so far are owned by items[0..i). */
      release_items(iss->items, i);
      goto err;
    }
    if (lo == LOAD_OK) {
      num_live++;
    } else if (lo == LOAD_ABSENT) {
      if (num_absent < SUMMARY_MAX_IDS) {
        int w =
            snprintf(absent_ids + absent_len, sizeof(absent_ids) - absent_len,
                     "%s%s", num_absent > 0 ? " " : "", it->issuer_id);
        if (w > 0 && (size_t)w < sizeof(absent_ids) - absent_len) {
          absent_len += (size_t)w;
        }
      } else if (num_absent == SUMMARY_MAX_IDS) {
        snprintf(absent_ids + absent_len, sizeof(absent_ids) - absent_len,
                 " ...");
      }
      num_absent++;
    }
  }

  /* Indexes. items is already sorted by key_sha1. */
  size_t num_current = 0;
  for (size_t i = 0; i < n; i++) {
    iss->by_sha256[i] = &iss->items[i];
    iss->by_id[i] = &iss->items[i];
    if (iss->items[i].current) {
      iss->by_tenant[num_current++] = &iss->items[i];
    }
  }
  qsort(iss->by_sha256, n, sizeof(*iss->by_sha256), cmp_ptr_key_sha256);
  qsort(iss->by_id, n, sizeof(*iss->by_id), cmp_ptr_id);
  qsort(iss->by_tenant, num_current, sizeof(*iss->by_tenant), cmp_ptr_tenant);
  /* One current issuer per tenant: on conflicting records keep the lowest
   * issuer id in the tenant index (the others still answer OCSP). */
  size_t m = 0;
  for (size_t i = 0; i < num_current; i++) {
    if (m > 0 &&
        strcmp(iss->by_tenant[i]->tenant, iss->by_tenant[m - 1]->tenant) == 0) {
      VLOG_WARN(log,
                "issuers: tenant %s has several current issuers; using %s, "
                "not %s",
                iss->by_tenant[i]->tenant, iss->by_tenant[m - 1]->issuer_id,
                iss->by_tenant[i]->issuer_id);
      continue;
    }
    iss->by_tenant[m++] = iss->by_tenant[i];
  }

  iss->num = n;
  iss->num_current = m;
  iss->generation = prev != NULL ? prev->generation + 1 : 1;
  *next_idx = next;
  if (want_keys) {
    VLOG_INFO(log,
              "issuers: snapshot %llu: %zu issuers (%zu records skipped), "
              "%zu with live signing, %zu without responder files%s%s",
              (unsigned long long)iss->generation, n, num_skipped, num_live,
              num_absent, num_absent > 0 ? ": " : "", absent_ids);
  } else {
    VLOG_INFO(log,
              "issuers: snapshot %llu: %zu issuers (%zu records skipped), no "
              "responder directory: live signing disabled",
              (unsigned long long)iss->generation, n, num_skipped);
  }
  return iss;

err:
  VLOG_ERROR(log, "issuers: building the issuer snapshot failed");
  if (iss != NULL) {
    vigil_free(iss->items);
    vigil_free(iss->by_sha256);
    vigil_free(iss->by_id);
    vigil_free(iss->by_tenant);
    vigil_free(iss);
  }
  return NULL;
}

void edge_issuers_free(struct edge_issuers *iss) {
  if (iss == NULL) {
    return;
  }
  release_items(iss->items, iss->num);
  vigil_free(iss->items);
  vigil_free(iss->by_sha256);
  vigil_free(iss->by_id);
  vigil_free(iss->by_tenant);
  vigil_free(iss);
}

/* ======================================================================
 * Lookups (per request: binary search, no allocation)
 * ====================================================================== */

const struct edge_issuer *edge_issuers_by_ikh(const struct edge_issuers *iss,
                                              const uint8_t *key_sha1) {
  if (iss == NULL) {
    return NULL;
  }
  size_t lo = 0;
  size_t hi = iss->num;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = memcmp(key_sha1, iss->items[mid].key_sha1, 20);
    if (c == 0) {
      return &iss->items[mid];
    }
    if (c < 0) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return NULL;
}

static const struct edge_issuer *by_key_sha256(const struct edge_issuers *iss,
                                               const uint8_t *key_sha256) {
  size_t lo = 0;
  size_t hi = iss->num;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = memcmp(key_sha256, iss->by_sha256[mid]->key_sha256, 32);
    if (c == 0) {
      return iss->by_sha256[mid];
    }
    if (c < 0) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return NULL;
}

const struct edge_issuer *edge_issuers_find(const struct edge_issuers *iss,
                                            enum vigil_ocsp_hash hash,
                                            const uint8_t *name_hash,
                                            const uint8_t *key_hash) {
  if (iss == NULL) {
    return NULL;
  }
  const struct edge_issuer *it = NULL;
  switch (hash) {
    case VIGIL_OCSP_HASH_SHA1:
      it = edge_issuers_by_ikh(iss, key_hash);
      if (it != NULL && memcmp(it->name_sha1, name_hash, 20) == 0) {
        return it;
      }
      return NULL;
    case VIGIL_OCSP_HASH_SHA256:
      it = by_key_sha256(iss, key_hash);
      if (it != NULL && memcmp(it->name_sha256, name_hash, 32) == 0) {
        return it;
      }
      return NULL;
  }
  return NULL;
}

const struct edge_issuer *edge_issuers_by_id(const struct edge_issuers *iss,
                                             const char *issuer_id,
                                             size_t len) {
  if (iss == NULL) {
    return NULL;
  }
  size_t lo = 0;
  size_t hi = iss->num;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = cmp_name(iss->by_id[mid]->issuer_id, issuer_id, len);
    if (c == 0) {
      return iss->by_id[mid];
    }
    if (c > 0) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return NULL;
}

const struct edge_issuer *edge_issuers_current(const struct edge_issuers *iss,
                                               const char *tenant, size_t len) {
  if (iss == NULL) {
    return NULL;
  }
  size_t lo = 0;
  size_t hi = iss->num_current;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = cmp_name(iss->by_tenant[mid]->tenant, tenant, len);
    if (c == 0) {
      return iss->by_tenant[mid];
    }
    if (c > 0) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return NULL;
}
