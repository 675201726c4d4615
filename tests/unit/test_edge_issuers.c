/* test_edge_issuers.c: unit tests for edge/issuers.h (snapshots built from
 * v1:issuers records, lookups, stable L1 indexes, responder files). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "issuers.h"
#include "vigil/alloc.h"
#include "vigil/hex.h"
#include "vigil/x509.h"

#define VEC(name) VIGIL_TEST_VECTORS "/" name

/* ======================================================================
 * Fixtures: records, a log captured in a file, a temp directory
 * ====================================================================== */

/* One issuer as the control plane would publish it. */
struct fake {
  char ikh[41];
  char rec[VIGIL_KS_MAX_RECORD];
  struct vigil_issuer_record r;
  uint8_t key_sha1[20];
};

/* fill makes distinct pseudo-random hashes from |seed| (the edge treats
 * them as opaque bytes). */
static void fill(uint8_t *out, size_t len, uint32_t seed, uint8_t salt) {
  uint32_t x = seed * 2654435761u + salt * 40503u + 1u;
  for (size_t i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = (uint8_t)(x >> 24);
  }
}

/* set_key_order forces the first byte of |f|'s ikh, so a test can decide
 * which of two keys sorts first. */
static void set_key_order(struct fake *f, uint8_t first) {
  f->key_sha1[0] = first;
  vigil_hex_encode(f->ikh, f->key_sha1, 20);
}

static void make_fake(struct fake *f, uint32_t seed, const char *id,
                      const char *tenant, int current) {
  memset(f, 0, sizeof(*f));
  snprintf(f->r.issuer_id, sizeof(f->r.issuer_id), "%s", id);
  snprintf(f->r.tenant, sizeof(f->r.tenant), "%s", tenant);
  fill(f->r.name_sha1, 20, seed, 1);
  fill(f->r.name_sha256, 32, seed, 2);
  fill(f->r.key_sha256, 32, seed, 3);
  fill(f->key_sha1, 20, seed, 4);
  f->r.current = current;
  vigil_hex_encode(f->ikh, f->key_sha1, 20);
  assert_int_not_equal(
      vigil_issuer_record_format(f->rec, sizeof(f->rec), &f->r), 0);
}

/* reformat rewrites the record after a test changed |f->r|. */
static void reformat(struct fake *f) {
  assert_int_not_equal(
      vigil_issuer_record_format(f->rec, sizeof(f->rec), &f->r), 0);
}

struct arrays {
  const char *ikh[16];
  const char *rec[16];
  size_t n;
};

static void add(struct arrays *a, const struct fake *f) {
  assert_true(a->n < 16);
  a->ikh[a->n] = f->ikh;
  a->rec[a->n] = f->rec;
  a->n++;
}

struct env {
  char dir[64];      /* temp dir: responder files */
  char log_path[96]; /* captured log */
  struct vigil_log log;
};

static int setup(void **state) {
  struct env *e = calloc(1, sizeof(*e));
  if (e == NULL) {
    return -1;
  }
  snprintf(e->dir, sizeof(e->dir), "/tmp/vigil-issuers-XXXXXX");
  if (mkdtemp(e->dir) == NULL) {
    free(e);
    return -1;
  }
  snprintf(e->log_path, sizeof(e->log_path), "%s.log", e->dir);
  vigil_log_init(&e->log, "test");
  e->log.level = VIGIL_LOG_DEBUG;
  e->log.fd = open(e->log_path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
  if (e->log.fd < 0) {
    return -1;
  }
  *state = e;
  return 0;
}

static int teardown(void **state) {
  struct env *e = *state;
  char cmd[160];
  close(e->log.fd);
  unlink(e->log_path);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
  if (system(cmd) != 0) {
    return -1;
  }
  free(e);
  return 0;
}

/* log_has returns 1 if the captured log contains |needle|. */
static int log_has(const struct env *e, const char *needle) {
  static char buf[1 << 16];
  int fd = open(e->log_path, O_RDONLY);
  assert_true(fd >= 0);
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  assert_true(n >= 0);
  buf[n] = '\0';
  return strstr(buf, needle) != NULL;
}

static void copy_file(const char *from, const char *to, mode_t mode) {
  static uint8_t buf[65536];
  int in = open(from, O_RDONLY);
  assert_true(in >= 0);
  ssize_t n = read(in, buf, sizeof(buf));
  close(in);
  assert_true(n > 0);
  int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(out >= 0);
  assert_int_equal(write(out, buf, (size_t)n), n);
  assert_int_equal(fchmod(out, mode), 0);
  close(out);
}

static void write_file(const char *path, const uint8_t *data, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  close(fd);
}

static void path_of(char *out, size_t len, const struct env *e, const char *id,
                    const char *ext) {
  snprintf(out, len, "%s/%s.%s", e->dir, id, ext);
}

/* ======================================================================
 * Lookups
 * ====================================================================== */

static void test_build_and_lookups(void **state) {
  struct env *e = *state;
  struct fake a, b, c;
  make_fake(&a, 1, "iss-a", "acme", 1);
  make_fake(&b, 2, "iss-b", "acme", 0);
  make_fake(&c, 3, "iss-c", "globex", 0);
  struct arrays arr = { { 0 }, { 0 }, 0 };
  add(&arr, &a);
  add(&arr, &b);
  add(&arr, &c);
  uint32_t next = 0;
  struct edge_issuers *iss =
      edge_issuers_build(NULL, &next, arr.ikh, arr.rec, arr.n, NULL, &e->log);
  assert_non_null(iss);
  assert_int_equal(iss->num, 3);
  assert_int_equal(iss->generation, 1);
  assert_int_equal(next, 3);

  /* SHA-1 CertID: both hashes must match. */
  const struct edge_issuer *it =
      edge_issuers_find(iss, VIGIL_OCSP_HASH_SHA1, b.r.name_sha1, b.key_sha1);
  assert_non_null(it);
  assert_string_equal(it->issuer_id, "iss-b");
  assert_string_equal(it->tenant, "acme");
  assert_string_equal(it->ikh_hex, b.ikh);
  assert_memory_equal(it->key_sha256, b.r.key_sha256, 32);
  assert_true(it->l1_idx < 3);
  assert_null(it->responder_key);
  assert_null(it->responder_cert);
  /* Known key under another issuer's name: not ours. */
  assert_null(
      edge_issuers_find(iss, VIGIL_OCSP_HASH_SHA1, a.r.name_sha1, b.key_sha1));
  /* Unknown key. */
  uint8_t other[32];
  fill(other, sizeof(other), 99, 9);
  assert_null(
      edge_issuers_find(iss, VIGIL_OCSP_HASH_SHA1, b.r.name_sha1, other));

  /* SHA-256 CertID. */
  it = edge_issuers_find(iss, VIGIL_OCSP_HASH_SHA256, c.r.name_sha256,
                         c.r.key_sha256);
  assert_non_null(it);
  assert_string_equal(it->issuer_id, "iss-c");
  assert_null(edge_issuers_find(iss, VIGIL_OCSP_HASH_SHA256, a.r.name_sha256,
                                c.r.key_sha256));
  assert_null(
      edge_issuers_find(iss, VIGIL_OCSP_HASH_SHA256, c.r.name_sha256, other));
  /* A SHA-1 key hash (zero-padded to 32 bytes) is not a SHA-256 one. */
  uint8_t padded_key[32] = { 0 };
  uint8_t padded_name[32] = { 0 };
  memcpy(padded_key, a.key_sha1, 20);
  memcpy(padded_name, a.r.name_sha1, 20);
  assert_null(
      edge_issuers_find(iss, VIGIL_OCSP_HASH_SHA256, padded_name, padded_key));

  /* By ikh, by id, by tenant. */
  it = edge_issuers_by_ikh(iss, a.key_sha1);
  assert_non_null(it);
  assert_string_equal(it->issuer_id, "iss-a");
  assert_null(edge_issuers_by_ikh(iss, other));
  it = edge_issuers_by_id(iss, "iss-c", 5);
  assert_non_null(it);
  assert_memory_equal(it->key_sha1, c.key_sha1, 20);
  assert_null(edge_issuers_by_id(iss, "iss-", 4));
  assert_null(edge_issuers_by_id(iss, "iss-cc", 6));
  assert_null(edge_issuers_by_id(iss, "iss-c/", 5 + 1));
  /* Length-delimited: a longer buffer is fine. */
  it = edge_issuers_by_id(iss, "iss-a/extra", 5);
  assert_non_null(it);
  assert_string_equal(it->issuer_id, "iss-a");
  it = edge_issuers_current(iss, "acme", 4);
  assert_non_null(it);
  assert_string_equal(it->issuer_id, "iss-a");
  assert_true(it->current);
  assert_null(edge_issuers_current(iss, "globex", 6)); /* none current */
  assert_null(edge_issuers_current(iss, "acm", 3));
  assert_null(edge_issuers_current(iss, "nobody", 6));

  /* Every index distinct. */
  uint32_t ia = edge_issuers_by_id(iss, "iss-a", 5)->l1_idx;
  uint32_t ib = edge_issuers_by_id(iss, "iss-b", 5)->l1_idx;
  uint32_t ic = edge_issuers_by_id(iss, "iss-c", 5)->l1_idx;
  assert_true(ia != ib && ib != ic && ia != ic);
  assert_true(log_has(e, "no responder directory"));
  edge_issuers_free(iss);
}

static void test_empty_and_null(void **state) {
  struct env *e = *state;
  uint32_t next = 7;
  struct edge_issuers *iss =
      edge_issuers_build(NULL, &next, NULL, NULL, 0, "", &e->log);
  assert_non_null(iss);
  assert_int_equal(iss->num, 0);
  assert_int_equal(next, 7);
  uint8_t h[32] = { 0 };
  assert_null(edge_issuers_find(iss, VIGIL_OCSP_HASH_SHA1, h, h));
  assert_null(edge_issuers_find(iss, VIGIL_OCSP_HASH_SHA256, h, h));
  assert_null(edge_issuers_by_id(iss, "a", 1));
  assert_null(edge_issuers_current(iss, "a", 1));
  assert_null(edge_issuers_by_ikh(iss, h));
  assert_null(edge_issuers_find(NULL, VIGIL_OCSP_HASH_SHA1, h, h));
  assert_null(edge_issuers_by_id(NULL, "a", 1));
  edge_issuers_free(iss);
  edge_issuers_free(NULL);
}

/* ======================================================================
 * L1 index stability
 * ====================================================================== */

static void test_index_stability(void **state) {
  struct env *e = *state;
  struct fake x, y, z;
  make_fake(&x, 10, "x", "t", 1);
  make_fake(&y, 11, "y", "t", 0);
  make_fake(&z, 12, "z", "u", 1);
  uint32_t next = 100;

  struct arrays a1 = { { 0 }, { 0 }, 0 };
  add(&a1, &x);
  add(&a1, &y);
  struct edge_issuers *s1 =
      edge_issuers_build(NULL, &next, a1.ikh, a1.rec, a1.n, NULL, &e->log);
  assert_non_null(s1);
  assert_int_equal(next, 102);
  uint32_t ix = edge_issuers_by_id(s1, "x", 1)->l1_idx;
  uint32_t iy = edge_issuers_by_id(s1, "y", 1)->l1_idx;
  assert_true(ix >= 100 && ix < 102 && iy >= 100 && iy < 102 && ix != iy);

  /* x leaves, z arrives; y's record changes but its key does not. */
  y.r.current = 1;
  snprintf(y.r.tenant, sizeof(y.r.tenant), "t2");
  reformat(&y);
  struct arrays a2 = { { 0 }, { 0 }, 0 };
  add(&a2, &z);
  add(&a2, &y);
  struct edge_issuers *s2 =
      edge_issuers_build(s1, &next, a2.ikh, a2.rec, a2.n, NULL, &e->log);
  assert_non_null(s2);
  assert_int_equal(s2->generation, s1->generation + 1);
  assert_int_equal(edge_issuers_by_id(s2, "y", 1)->l1_idx, iy);
  assert_int_equal(edge_issuers_by_id(s2, "z", 1)->l1_idx, 102);
  assert_string_equal(edge_issuers_current(s2, "t2", 2)->issuer_id, "y");
  assert_null(edge_issuers_by_id(s2, "x", 1));
  assert_int_equal(next, 103);
  edge_issuers_free(s1);

  /* x comes back: a new index, never its old one (cached answers under the
   * old index were dropped with s1's issuer and must not resurface). */
  struct arrays a3 = { { 0 }, { 0 }, 0 };
  add(&a3, &x);
  add(&a3, &y);
  add(&a3, &z);
  struct edge_issuers *s3 =
      edge_issuers_build(s2, &next, a3.ikh, a3.rec, a3.n, NULL, &e->log);
  assert_non_null(s3);
  assert_int_equal(edge_issuers_by_id(s3, "x", 1)->l1_idx, 103);
  assert_int_equal(edge_issuers_by_id(s3, "y", 1)->l1_idx, iy);
  assert_int_equal(edge_issuers_by_id(s3, "z", 1)->l1_idx, 102);
  assert_int_equal(next, 104);

  /* Rebuilding the same set keeps every index and takes none. */
  struct edge_issuers *s4 =
      edge_issuers_build(s3, &next, a3.ikh, a3.rec, a3.n, NULL, &e->log);
  assert_non_null(s4);
  assert_int_equal(next, 104);
  for (size_t i = 0; i < s4->num; i++) {
    const struct edge_issuer *it = &s4->items[i];
    assert_int_equal(it->l1_idx, edge_issuers_by_ikh(s3, it->key_sha1)->l1_idx);
  }
  edge_issuers_free(s2);
  edge_issuers_free(s3);
  edge_issuers_free(s4);
}

/* ======================================================================
 * Bad input
 * ====================================================================== */

static void test_bad_records_skipped(void **state) {
  struct env *e = *state;
  struct fake good, dup_ikh, dup_id, other_tenant_cur, second_cur;
  make_fake(&good, 20, "good", "t", 1);
  make_fake(&dup_ikh, 20, "good-twin", "t", 0); /* same key as good */
  make_fake(&dup_id, 21, "good", "t", 0);       /* same id, other key */
  make_fake(&other_tenant_cur, 22, "o", "other", 1);
  make_fake(&second_cur, 23, "zz", "t", 1); /* second current of "t" */
  /* For a shared issuer id the lowest ikh wins: make that "good". */
  set_key_order(&good, 0x10);
  set_key_order(&dup_ikh, 0x10);
  set_key_order(&dup_id, 0xf0);

  char upper[41];
  snprintf(upper, sizeof(upper), "%s", good.ikh);
  for (char *p = upper; *p; p++) {
    if (*p >= 'a' && *p <= 'f') {
      *p = (char)(*p - 'a' + 'A');
    }
  }
  char shorter[41];
  snprintf(shorter, sizeof(shorter), "%.39s", good.ikh);
  char longer[43];
  snprintf(longer, sizeof(longer), "%s00", good.ikh);
  char nonhex[41];
  snprintf(nonhex, sizeof(nonhex), "%s", good.ikh);
  nonhex[5] = 'g';
  struct fake bad_rec;
  make_fake(&bad_rec, 24, "bad", "t", 0);
  bad_rec.rec[strlen(bad_rec.rec) - 1] = '2'; /* current must be 0 or 1 */

  const char *ikh[] = {
    upper,         shorter,  longer,      nonhex,     bad_rec.ikh,
    NULL,          good.ikh, dup_ikh.ikh, dup_id.ikh, other_tenant_cur.ikh,
    second_cur.ikh
  };
  const char *rec[] = {
    good.rec,      good.rec, good.rec,    good.rec,   bad_rec.rec,
    good.rec,      good.rec, dup_ikh.rec, dup_id.rec, other_tenant_cur.rec,
    second_cur.rec
  };
  size_t n = sizeof(ikh) / sizeof(ikh[0]);
  uint32_t next = 0;
  struct edge_issuers *iss =
      edge_issuers_build(NULL, &next, ikh, rec, n, NULL, &e->log);
  assert_non_null(iss);
  /* good (or its ikh twin: the content-ordered survivor), o, zz. */
  assert_int_equal(iss->num, 3);
  assert_int_equal(next, 3);
  const struct edge_issuer *it = edge_issuers_by_ikh(iss, good.key_sha1);
  assert_non_null(it);
  assert_string_equal(it->issuer_id, "good");
  assert_null(edge_issuers_by_id(iss, "good-twin", 9));
  assert_null(edge_issuers_by_ikh(iss, dup_id.key_sha1));
  assert_null(edge_issuers_by_id(iss, "bad", 3));
  /* Two current issuers for "t": the lower id wins the CRL default, both
   * still answer OCSP. */
  assert_string_equal(edge_issuers_current(iss, "t", 1)->issuer_id, "good");
  assert_non_null(edge_issuers_by_id(iss, "zz", 2));
  assert_string_equal(edge_issuers_current(iss, "other", 5)->issuer_id, "o");
  assert_true(log_has(e, "lowercase hex"));
  assert_true(log_has(e, "malformed issuer record"));
  assert_true(log_has(e, "already used by another key"));
  assert_true(log_has(e, "several current issuers"));
  edge_issuers_free(iss);

  /* The winner does not depend on the input order. */
  const char *ikh_rev[] = { second_cur.ikh, dup_id.ikh, dup_ikh.ikh, good.ikh };
  const char *rec_rev[] = { second_cur.rec, dup_id.rec, dup_ikh.rec, good.rec };
  iss = edge_issuers_build(NULL, &next, ikh_rev, rec_rev, 4, NULL, &e->log);
  assert_non_null(iss);
  assert_int_equal(iss->num, 2);
  assert_string_equal(edge_issuers_by_ikh(iss, good.key_sha1)->issuer_id,
                      "good");
  edge_issuers_free(iss);
}

static void test_max_issuers(void **state) {
  struct env *e = *state;
  size_t n = EDGE_MAX_ISSUERS + 1;
  struct fake *f = calloc(n, sizeof(*f));
  const char **ikh = calloc(n, sizeof(*ikh));
  const char **rec = calloc(n, sizeof(*rec));
  assert_non_null(f);
  assert_non_null(ikh);
  assert_non_null(rec);
  for (size_t i = 0; i < n; i++) {
    char id[32];
    snprintf(id, sizeof(id), "i%zu", i);
    make_fake(&f[i], (uint32_t)i + 1000, id, id, 1);
    ikh[i] = f[i].ikh;
    rec[i] = f[i].rec;
  }
  e->log.level = VIGIL_LOG_WARN; /* keep the captured log small */
  uint32_t next = 5;
  assert_null(edge_issuers_build(NULL, &next, ikh, rec, n, NULL, &e->log));
  assert_int_equal(next, 5);
  assert_true(log_has(e, "more than the 4096"));

  /* Exactly the maximum works, and every issuer is found by every key. */
  struct edge_issuers *iss =
      edge_issuers_build(NULL, &next, ikh, rec, n - 1, NULL, &e->log);
  assert_non_null(iss);
  assert_int_equal(iss->num, EDGE_MAX_ISSUERS);
  assert_int_equal(next, 5 + EDGE_MAX_ISSUERS);
  for (size_t i = 0; i < n - 1; i++) {
    const struct edge_issuer *it = edge_issuers_find(
        iss, VIGIL_OCSP_HASH_SHA1, f[i].r.name_sha1, f[i].key_sha1);
    assert_non_null(it);
    assert_string_equal(it->issuer_id, f[i].r.issuer_id);
    assert_ptr_equal(edge_issuers_find(iss, VIGIL_OCSP_HASH_SHA256,
                                       f[i].r.name_sha256, f[i].r.key_sha256),
                     it);
    assert_ptr_equal(
        edge_issuers_by_id(iss, f[i].r.issuer_id, strlen(f[i].r.issuer_id)),
        it);
    assert_ptr_equal(
        edge_issuers_current(iss, f[i].r.tenant, strlen(f[i].r.tenant)), it);
  }
  assert_null(edge_issuers_find(iss, VIGIL_OCSP_HASH_SHA1, f[n - 1].r.name_sha1,
                                f[n - 1].key_sha1));
  edge_issuers_free(iss);
  free(f);
  free(ikh);
  free(rec);
}

/* ======================================================================
 * Responder files
 * ====================================================================== */

/* issue_self_signed writes to |path| a DER certificate for |key| with the
 * subject Name of |like|, valid from |not_before| for |lifetime| s. */
static void issue_self_signed(const char *path, const struct vigil_key *key,
                              const struct vigil_cert *like, int64_t not_before,
                              int64_t lifetime) {
  struct vigil_x509_template t;
  vigil_x509_profile_root_ca(&t, not_before + VIGIL_X509_BACKDATE, lifetime);
  t.subject = CBS_data(&like->subject);
  t.subject_len = CBS_len(&like->subject);
  uint8_t *der = NULL;
  size_t der_len = 0;
  assert_int_equal(
      vigil_x509_issue_der(&der, &der_len, &t, NULL, key, not_before + 10),
      VIGIL_X509_OK);
  write_file(path, der, der_len);
  vigil_free(der);
}

static void test_responder_files(void **state) {
  struct env *e = *state;
  char path[256];
  enum vigil_cert_err cerr;
  struct vigil_cert *ca = vigil_cert_load_file(&cerr, VEC("ca_p256.pem"));
  assert_non_null(ca);
  int64_t now = (int64_t)time(NULL);

  /* The issuers. The committed responder (issued by ca_p256) signs for them:
   * its issuer Name is ca_p256's subject, so the records use that hash. */
  const char *ids[] = { "live",   "loose",   "absent",  "mismatch", "expired",
                        "future", "halfcfg", "wrongca", "notresp" };
  size_t n = sizeof(ids) / sizeof(ids[0]);
  struct fake f[9];
  struct arrays arr = { { 0 }, { 0 }, 0 };
  for (size_t i = 0; i < n; i++) {
    make_fake(&f[i], 300 + (uint32_t)i, ids[i], "t", 0);
    memcpy(f[i].r.name_sha1, ca->name_sha1, 20);
    reformat(&f[i]);
    add(&arr, &f[i]);
  }
  /* wrongca: same files as "live", but the record names another CA. */
  fill(f[7].r.name_sha1, 20, 77, 7);
  reformat(&f[7]);

  path_of(path, sizeof(path), e, "live", "key");
  copy_file(VEC("responder_p256.key"), path, 0600);
  path_of(path, sizeof(path), e, "live", "pem");
  copy_file(VEC("responder_p256.pem"), path, 0644);

  path_of(path, sizeof(path), e, "loose", "key");
  copy_file(VEC("responder_p256.key"), path, 0644);
  path_of(path, sizeof(path), e, "loose", "pem");
  copy_file(VEC("responder_p256.pem"), path, 0644);

  /* A CA certificate is not a delegated responder (no EKU OCSPSigning,
   * no id-pkix-ocsp-nocheck): refused. */
  path_of(path, sizeof(path), e, "notresp", "key");
  copy_file(VEC("key_p256_pkcs8.pem"), path, 0600);
  path_of(path, sizeof(path), e, "notresp", "pem");
  copy_file(VEC("ca_p256.pem"), path, 0644);

  struct vigil_key *gen = vigil_key_generate(VIGIL_KEY_EC_P256, 0);
  assert_non_null(gen);
  path_of(path, sizeof(path), e, "mismatch", "key");
  assert_true(vigil_key_save_pem(gen, path));
  path_of(path, sizeof(path), e, "mismatch", "pem");
  copy_file(VEC("ca_p256.pem"), path, 0644);

  path_of(path, sizeof(path), e, "expired", "key");
  assert_true(vigil_key_save_pem(gen, path));
  path_of(path, sizeof(path), e, "expired", "pem");
  issue_self_signed(path, gen, ca, now - 400 * 86400, 30 * 86400);

  path_of(path, sizeof(path), e, "future", "key");
  assert_true(vigil_key_save_pem(gen, path));
  path_of(path, sizeof(path), e, "future", "pem");
  issue_self_signed(path, gen, ca, now + 10 * 86400, 30 * 86400);

  path_of(path, sizeof(path), e, "halfcfg", "key");
  assert_true(vigil_key_save_pem(gen, path));

  path_of(path, sizeof(path), e, "wrongca", "key");
  copy_file(VEC("responder_p256.key"), path, 0600);
  path_of(path, sizeof(path), e, "wrongca", "pem");
  copy_file(VEC("responder_p256.pem"), path, 0644);

  uint32_t next = 0;
  struct edge_issuers *iss =
      edge_issuers_build(NULL, &next, arr.ikh, arr.rec, arr.n, e->dir, &e->log);
  assert_non_null(iss);
  /* Every issuer is served; only "live" can sign. */
  assert_int_equal(iss->num, n);
  for (size_t i = 0; i < n; i++) {
    const struct edge_issuer *it =
        edge_issuers_by_id(iss, ids[i], strlen(ids[i]));
    assert_non_null(it);
    if (i == 0) {
      assert_non_null(it->responder_key);
      assert_non_null(it->responder_cert);
      assert_true(
          vigil_cert_matches_key(it->responder_cert, it->responder_key));
      enum vigil_cert_err rerr;
      struct vigil_cert *want =
          vigil_cert_load_file(&rerr, VEC("responder_p256.pem"));
      assert_non_null(want);
      assert_memory_equal(CBS_data(&it->responder_cert->der),
                          CBS_data(&want->der), CBS_len(&want->der));
      vigil_cert_free(want);
    } else {
      assert_null(it->responder_key);
      assert_null(it->responder_cert);
    }
  }
  assert_true(log_has(e, "loose: responder key"));
  assert_true(log_has(e, "mode 0600 and this user's file required"));
  assert_true(log_has(e, "mismatch: responder certificate"));
  assert_true(log_has(e, "is not for key"));
  assert_true(log_has(e, "expired: responder certificate"));
  assert_true(log_has(e, "is expired"));
  assert_true(log_has(e, "is not yet valid"));
  assert_true(log_has(e, "halfcfg: responder certificate"));
  assert_true(log_has(e, "wrongca: responder certificate"));
  assert_true(log_has(e, "not issued by this issuer"));
  assert_true(log_has(e, "notresp: responder certificate"));
  assert_true(log_has(e, "lacks EKU OCSPSigning"));
  /* One summary line names the issuers without files. */
  assert_true(log_has(e,
                      "1 with live signing, 1 without responder files: "
                      "absent"));

  /* A key file tightened to 0600 is picked up by the next build. */
  path_of(path, sizeof(path), e, "loose", "key");
  assert_int_equal(chmod(path, 0600), 0);
  struct edge_issuers *iss2 =
      edge_issuers_build(iss, &next, arr.ikh, arr.rec, arr.n, e->dir, &e->log);
  assert_non_null(iss2);
  assert_non_null(edge_issuers_by_id(iss2, "loose", 5)->responder_key);
  assert_int_equal(next, n);

  edge_issuers_free(iss);
  edge_issuers_free(iss2);
  vigil_key_free(gen);
  vigil_cert_free(ca);
}

/* ======================================================================
 * Allocation failures
 * ====================================================================== */

/* run_oom fails each allocation of a build in turn (once); every failed
 * build must return NULL, leave |next| alone and leak nothing (ASan). With
 * |dir|, a failure inside the shared key/certificate loaders may instead
 * cost only live signing for one issuer (the loaders do not report every
 * allocation failure as one), so then the issuer set is checked. */
static void run_oom(struct env *e, const char *dir) {
  struct fake a, b;
  make_fake(&a, 40, "live", "t", 1);
  make_fake(&b, 41, "b", "t", 0);
  enum vigil_cert_err cerr;
  struct vigil_cert *ca = vigil_cert_load_file(&cerr, VEC("ca_p256.pem"));
  assert_non_null(ca);
  memcpy(a.r.name_sha1, ca->name_sha1, 20);
  memcpy(b.r.name_sha1, ca->name_sha1, 20);
  reformat(&a);
  reformat(&b);
  vigil_cert_free(ca);
  struct arrays arr = { { 0 }, { 0 }, 0 };
  add(&arr, &a);
  add(&arr, &b);
  e->log.level = VIGIL_LOG_ERROR;
  int saw_fail = 0;
  for (unsigned long i = 0; i < 1000; i++) {
    uint32_t next = 9;
    vigil_alloc_fail_after(i, 0);
    struct edge_issuers *iss =
        edge_issuers_build(NULL, &next, arr.ikh, arr.rec, arr.n, dir, &e->log);
    unsigned long failures = vigil_alloc_failures();
    vigil_alloc_fail_reset();
    if (failures == 0) {
      assert_non_null(iss);
      assert_int_equal(next, 11);
      /* Without injected failures the responder loads. */
      assert_true((edge_issuers_by_id(iss, "live", 4)->responder_key != NULL) ==
                  (dir != NULL));
      assert_true((edge_issuers_by_id(iss, "b", 1)->responder_key != NULL) ==
                  (dir != NULL));
      edge_issuers_free(iss);
      assert_true(saw_fail);
      return;
    }
    if (iss == NULL) {
      saw_fail = 1;
      assert_int_equal(next, 9);
      continue;
    }
    assert_non_null(dir);
    assert_int_equal(iss->num, 2);
    assert_int_equal(next, 11);
    edge_issuers_free(iss);
  }
  fail_msg("allocation loop did not end");
}

static void test_alloc_failures(void **state) {
  struct env *e = *state;
  run_oom(e, NULL);
  char path[256];
  /* Both issuers load responder files, so a failure while loading the
   * second one must release the first one's. */
  static const char *const kIds[] = { "live", "b" };
  for (size_t i = 0; i < 2; i++) {
    path_of(path, sizeof(path), e, kIds[i], "key");
    copy_file(VEC("responder_p256.key"), path, 0600);
    path_of(path, sizeof(path), e, kIds[i], "pem");
    copy_file(VEC("responder_p256.pem"), path, 0644);
  }
  run_oom(e, e->dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_build_and_lookups, setup, teardown),
    cmocka_unit_test_setup_teardown(test_empty_and_null, setup, teardown),
    cmocka_unit_test_setup_teardown(test_index_stability, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bad_records_skipped, setup, teardown),
    cmocka_unit_test_setup_teardown(test_max_issuers, setup, teardown),
    cmocka_unit_test_setup_teardown(test_responder_files, setup, teardown),
    cmocka_unit_test_setup_teardown(test_alloc_failures, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
