/* test_edge_l1.c: the edge's L1 response cache (edge/l1.h) and its
 * reclamation (edge/qsbr.h), SipHash (edge/l1_hash.h).
 *
 * Every block a test inserts encodes its own key and version and a filler
 * derived from them (make_block), so a reader can tell a right answer from
 * a torn, recycled or misattributed one (check_block) without trusting the
 * cache. The hash is checked against BoringSSL's SipHash-2-4. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <openssl/siphash.h>

#include "l1.h"
#include "l1_hash.h"
#include "qsbr.h"
#include "vigil/alloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

static const uint8_t kHashKey[16] = { 1, 2,  3,  4,  5,  6,  7,  8,
                                      9, 10, 11, 12, 13, 14, 15, 16 };

#define NOW       1700000000
#define THIS_UPD  (NOW - 3600)
#define NEXT_UPD  (NOW + 96 * 3600)
#define BLOCK_MAX 2048

static uint64_t next_rand(uint64_t *state) {
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *state = x;
  return x;
}

/* serial_of writes a |len|-byte serial for number |i| (big-endian counter
 * behind a fixed prefix: the shape sequential serials have). */
static void serial_of(uint8_t *out, size_t len, uint64_t i) {
  for (size_t k = 0; k < len; k++) {
    out[k] = (uint8_t)(0x40 + k);
  }
  for (size_t k = 0; k < 8 && k < len; k++) {
    out[len - 1 - k] = (uint8_t)(i >> (8 * k));
  }
}

/* make_block fills |out| (|len| >= 32 bytes) with: issuer (4), serial
 * length (1), serial (up to 21, zero padded), version (4), then filler
 * from a generator seeded with all of them. */
static void make_block(uint8_t *out, size_t len, uint32_t issuer,
                       const uint8_t *serial, size_t serial_len,
                       uint32_t version) {
  memset(out, 0, 30);
  memcpy(out, &issuer, 4);
  out[4] = (uint8_t)serial_len;
  memcpy(out + 5, serial, serial_len);
  memcpy(out + 26, &version, 4);
  uint64_t st = 0x9e3779b97f4a7c15ull ^ issuer ^ ((uint64_t)version << 32);
  for (size_t k = 0; k < serial_len; k++) {
    st = st * 131 + serial[k] + 1;
  }
  st |= 1;
  for (size_t k = 30; k < len; k++) {
    out[k] = (uint8_t)next_rand(&st);
  }
}

static size_t block_len_for(uint32_t version, const uint8_t *serial) {
  return 32 + (serial[0] * 7u + version * 13u) % 480;
}

/* check_block returns 1 if |e| holds a block made for exactly this key
 * (any version), with the right length; the version goes to |*out_ver|. */
static int check_block(const struct edge_l1_entry *e, uint32_t issuer,
                       const uint8_t *serial, size_t serial_len,
                       uint32_t *out_ver) {
  uint8_t want[BLOCK_MAX];
  const uint8_t *b = edge_l1_entry_block(e);
  size_t len = edge_l1_entry_block_len(e);
  if (len < 32 || len > BLOCK_MAX) {
    return 0;
  }
  uint32_t ver;
  memcpy(&ver, b + 26, 4);
  make_block(want, len, issuer, serial, serial_len, ver);
  size_t got_serial_len = 0;
  const uint8_t *got_serial = edge_l1_entry_serial(&got_serial_len, e);
  if (memcmp(want, b, len) != 0 || edge_l1_entry_issuer_idx(e) != issuer ||
      got_serial_len != serial_len ||
      memcmp(got_serial, serial, serial_len) != 0) {
    return 0;
  }
  if (out_ver != NULL) {
    *out_ver = ver;
  }
  return 1;
}

static struct edge_l1 *new_cache(size_t max_entries, size_t budget,
                                 unsigned threads, size_t seg) {
  struct edge_l1_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.max_entries = max_entries;
  cfg.memory_budget = budget;
  cfg.num_threads = threads;
  cfg.segment_size = seg;
  cfg.hash_key = kHashKey;
  struct edge_l1 *l1 = edge_l1_new(&cfg);
  assert_non_null(l1);
  return l1;
}

/* put inserts version |ver| of key (|issuer|, serial number |i|) and
 * returns edge_l1_insert's result. */
static int put(struct edge_l1 *l1, enum edge_l1_err *err, unsigned t,
               uint32_t issuer, uint64_t i, size_t serial_len, uint32_t ver) {
  uint8_t serial[EDGE_L1_MAX_SERIAL];
  uint8_t block[BLOCK_MAX];
  serial_of(serial, serial_len, i);
  size_t len = block_len_for(ver, serial);
  make_block(block, len, issuer, serial, serial_len, ver);
  return edge_l1_insert(l1, err, t, edge_l1_ticket(l1), issuer, serial,
                        serial_len, block, len, THIS_UPD, NEXT_UPD);
}

/* lookup returns the version cached for the key, 0 on a miss; fails the
 * test on a wrong block. */
static uint32_t lookup(struct edge_l1 *l1, unsigned t, uint32_t issuer,
                       uint64_t i, size_t serial_len, int64_t now) {
  uint8_t serial[EDGE_L1_MAX_SERIAL];
  serial_of(serial, serial_len, i);
  const struct edge_l1_entry *e =
      edge_l1_get(l1, t, issuer, serial, serial_len, now);
  if (e == NULL) {
    return 0;
  }
  uint32_t ver = 0;
  assert_true(check_block(e, issuer, serial, serial_len, &ver));
  edge_l1_put_ref(l1, e);
  return ver;
}

static struct edge_l1_stats stats_of(struct edge_l1 *l1) {
  struct edge_l1_stats st;
  edge_l1_stats(l1, &st);
  return st;
}

/* --- Hash ----------------------------------------------------------------- */

static void test_siphash_matches_boringssl(void **state) {
  (void)state;
  uint64_t rng = 0x1234567;
  uint8_t in[64];
  for (int round = 0; round < 2000; round++) {
    uint64_t key[2] = { next_rand(&rng), next_rand(&rng) };
    size_t len = (size_t)(next_rand(&rng) % sizeof(in));
    for (size_t k = 0; k < len; k++) {
      in[k] = (uint8_t)next_rand(&rng);
    }
    assert_true(edge_l1_siphash(key, 2, 4, in, len) ==
                SIPHASH_24(key, in, len));
  }
  /* Reference vector from the SipHash paper (appendix A): key 00..0f,
   * message 00..0e. */
  uint8_t k[16];
  for (int i = 0; i < 16; i++) {
    k[i] = (uint8_t)i;
  }
  for (int i = 0; i < 15; i++) {
    in[i] = (uint8_t)i;
  }
  uint64_t key[2] = { edge_l1_hash_le64(k), edge_l1_hash_le64(k + 8) };
  assert_true(edge_l1_siphash(key, 2, 4, in, 15) ==
              UINT64_C(0xa129ca6149be45e5));
}

static void test_hash_is_keyed(void **state) {
  (void)state;
  struct edge_l1 *a = new_cache(100000, 1 << 20, 1, 0);
  struct edge_l1 *b = new_cache(100000, 1 << 20, 1, 0);
  struct edge_l1_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.max_entries = 100000;
  cfg.memory_budget = 1 << 20;
  cfg.num_threads = 1;
  struct edge_l1 *r1 = edge_l1_new(&cfg); /* random keys */
  struct edge_l1 *r2 = edge_l1_new(&cfg);
  assert_non_null(r1);
  assert_non_null(r2);
  int same_fixed = 0;
  int same_random = 0;
  for (uint64_t i = 0; i < 1000; i++) {
    uint8_t s[16];
    serial_of(s, sizeof(s), i);
    same_fixed +=
        edge_l1_home_slot(a, 7, s, 16) == edge_l1_home_slot(b, 7, s, 16);
    same_random +=
        edge_l1_home_slot(r1, 7, s, 16) == edge_l1_home_slot(r2, 7, s, 16);
  }
  assert_int_equal(same_fixed, 1000);
  assert_true(same_random < 10); /* ~1000/125001 expected by chance */
  edge_l1_free(a);
  edge_l1_free(b);
  edge_l1_free(r1);
  edge_l1_free(r2);
}

/* --- Basic semantics ------------------------------------------------------ */

static void test_insert_get_replace_remove(void **state) {
  (void)state;
  struct edge_l1 *l1 = new_cache(1000, 1 << 20, 1, 0);
  assert_int_equal(edge_l1_thread_register(l1, 0), 1);
  assert_int_equal(edge_l1_thread_register(l1, 0), 0); /* taken */
  assert_int_equal(edge_l1_thread_register(l1, 1), 0); /* out of range */

  enum edge_l1_err err = EDGE_L1_ERR_NOMEM;
  assert_int_equal(put(l1, &err, 0, 3, 42, 16, 1), 1);
  assert_int_equal(err, EDGE_L1_ERR_NONE);

  uint8_t serial[16];
  serial_of(serial, 16, 42);
  const struct edge_l1_entry *e = edge_l1_get(l1, 0, 3, serial, 16, NOW);
  assert_non_null(e);
  uint32_t ver = 0;
  assert_true(check_block(e, 3, serial, 16, &ver));
  assert_int_equal(ver, 1);
  assert_int_equal(edge_l1_entry_block_len(e), block_len_for(1, serial));
  assert_true(edge_l1_entry_this_update(e) == THIS_UPD);
  assert_true(edge_l1_entry_expires_at(e) == NEXT_UPD);
  edge_l1_put_ref(l1, e);

  /* Same serial under another issuer, or one byte shorter: different
   * keys. */
  assert_int_equal(lookup(l1, 0, 4, 42, 16, NOW), 0);
  assert_null(edge_l1_get(l1, 0, 3, serial, 15, NOW));
  assert_int_equal(lookup(l1, 0, 3, 43, 16, NOW), 0);

  /* Replace: the new version, one entry. */
  assert_int_equal(put(l1, &err, 0, 3, 42, 16, 2), 1);
  assert_int_equal(lookup(l1, 0, 3, 42, 16, NOW), 2);
  struct edge_l1_stats st = stats_of(l1);
  assert_int_equal(st.entries, 1);
  assert_int_equal(st.replacements, 1);
  assert_int_equal(st.inserts, 2);
  assert_int_equal(st.bytes, edge_l1_entry_size(16, block_len_for(2, serial)));

  /* Remove: gone at once, and only once. */
  assert_int_equal(edge_l1_remove(l1, 3, serial, 16), 1);
  assert_int_equal(lookup(l1, 0, 3, 42, 16, NOW), 0);
  assert_int_equal(edge_l1_remove(l1, 3, serial, 16), 0);
  st = stats_of(l1);
  assert_int_equal(st.entries, 0);
  assert_int_equal(st.bytes, 0);
  assert_int_equal(st.removals, 1);
  assert_int_equal(st.hits, 2);
  assert_int_equal(st.misses, 4);

  /* Serial lengths 1 and 21 work; 0 and 22 are refused / miss. */
  assert_int_equal(put(l1, &err, 0, 3, 7, 1, 1), 1);
  assert_int_equal(put(l1, &err, 0, 3, 7, 21, 2), 1);
  assert_int_equal(lookup(l1, 0, 3, 7, 1, NOW), 1);
  assert_int_equal(lookup(l1, 0, 3, 7, 21, NOW), 2);
  uint8_t big[EDGE_L1_MAX_SERIAL + 1] = { 0 };
  assert_int_equal(edge_l1_insert(l1, &err, 0, edge_l1_ticket(l1), 3, big, 22,
                                  big, 8, THIS_UPD, NEXT_UPD),
                   0);
  assert_int_equal(err, EDGE_L1_ERR_INVALID);
  assert_int_equal(edge_l1_insert(l1, &err, 0, edge_l1_ticket(l1), 3, big, 0,
                                  big, 8, THIS_UPD, NEXT_UPD),
                   0);
  assert_int_equal(err, EDGE_L1_ERR_INVALID);
  assert_null(edge_l1_get(l1, 0, 3, big, 22, NOW));
  assert_null(edge_l1_get(l1, 0, 3, big, 0, NOW));

  edge_l1_thread_unregister(l1, 0);
  edge_l1_free(l1);
  edge_l1_free(NULL);
}

static void test_invalid_arguments(void **state) {
  (void)state;
  struct edge_l1_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.max_entries = 10;
  cfg.memory_budget = 1 << 20;
  cfg.num_threads = 1;
  cfg.hash_key = kHashKey;
  struct edge_l1_config bad = cfg;
  bad.max_entries = 0;
  assert_null(edge_l1_new(&bad));
  bad = cfg;
  bad.num_threads = 0;
  assert_null(edge_l1_new(&bad));
  bad = cfg;
  bad.memory_budget = 3 * EDGE_L1_MIN_SEGMENT; /* under four segments */
  assert_null(edge_l1_new(&bad));
  bad = cfg;
  bad.segment_size = 100000; /* not a power of two */
  assert_null(edge_l1_new(&bad));
  assert_null(edge_l1_new(NULL));

  struct edge_l1 *l1 = edge_l1_new(&cfg);
  assert_non_null(l1);
  uint8_t serial[4] = { 1, 2, 3, 4 };
  static uint8_t block[EDGE_L1_MAX_BLOCK + 1];
  enum edge_l1_err err;
  /* Thread not registered. */
  assert_int_equal(edge_l1_insert(l1, &err, 0, edge_l1_ticket(l1), 1, serial, 4,
                                  block, 10, THIS_UPD, NEXT_UPD),
                   0);
  assert_int_equal(err, EDGE_L1_ERR_INVALID);
  assert_int_equal(edge_l1_thread_register(l1, 0), 1);
  /* Block too large; the largest allowed works. */
  assert_int_equal(
      edge_l1_insert(l1, &err, 0, edge_l1_ticket(l1), 1, serial, 4, block,
                     EDGE_L1_MAX_BLOCK + 1, THIS_UPD, NEXT_UPD),
      0);
  assert_int_equal(err, EDGE_L1_ERR_INVALID);
  assert_int_equal(edge_l1_insert(l1, &err, 0, edge_l1_ticket(l1), 1, serial, 4,
                                  block, EDGE_L1_MAX_BLOCK, THIS_UPD, NEXT_UPD),
                   1);
  /* thisUpdate after nextUpdate, or too far before it. */
  assert_int_equal(edge_l1_insert(l1, &err, 0, edge_l1_ticket(l1), 1, serial, 4,
                                  block, 10, NEXT_UPD + 1, NEXT_UPD),
                   0);
  assert_int_equal(err, EDGE_L1_ERR_INVALID);
  assert_int_equal(edge_l1_insert(l1, &err, 0, edge_l1_ticket(l1), 1, serial, 4,
                                  block, 10, NEXT_UPD - (1ll << 33), NEXT_UPD),
                   0);
  assert_int_equal(err, EDGE_L1_ERR_INVALID);
  /* The refused inserts left the good one in place. */
  const struct edge_l1_entry *e = edge_l1_get(l1, 0, 1, serial, 4, NOW);
  assert_non_null(e);
  assert_int_equal(edge_l1_entry_block_len(e), EDGE_L1_MAX_BLOCK);
  edge_l1_put_ref(l1, e);
  assert_int_equal(stats_of(l1).insert_failures, 4);
  edge_l1_free(l1);
}

static void test_expiry(void **state) {
  (void)state;
  struct edge_l1 *l1 = new_cache(1000, 1 << 20, 1, 0);
  assert_int_equal(edge_l1_thread_register(l1, 0), 1);
  enum edge_l1_err err;
  assert_int_equal(put(l1, &err, 0, 1, 5, 20, 1), 1);
  assert_int_equal(lookup(l1, 0, 1, 5, 20, NEXT_UPD - 1), 1);
  assert_int_equal(lookup(l1, 0, 1, 5, 20, NEXT_UPD), 0);
  assert_int_equal(lookup(l1, 0, 1, 5, 20, NEXT_UPD + 100000), 0);
  struct edge_l1_stats st = stats_of(l1);
  assert_int_equal(st.expired, 2);
  assert_int_equal(st.misses, 2);
  assert_int_equal(st.hits, 1);
  /* A fresh response replaces the expired one. */
  uint8_t serial[20];
  uint8_t block[64];
  serial_of(serial, 20, 5);
  make_block(block, sizeof(block), 1, serial, 20, 9);
  assert_int_equal(
      edge_l1_insert(l1, &err, 0, edge_l1_ticket(l1), 1, serial, 20, block,
                     sizeof(block), NEXT_UPD, NEXT_UPD + 1000),
      1);
  assert_int_equal(lookup(l1, 0, 1, 5, 20, NEXT_UPD + 999), 9);
  assert_int_equal(lookup(l1, 0, 1, 5, 20, NEXT_UPD + 1000), 0);
  edge_l1_free(l1);
}

static void test_ticket_refuses_stale_fills(void **state) {
  (void)state;
  struct edge_l1 *l1 = new_cache(1000, 1 << 20, 1, 0);
  assert_int_equal(edge_l1_thread_register(l1, 0), 1);
  uint8_t serial[16];
  uint8_t block[100];
  serial_of(serial, 16, 1);
  make_block(block, sizeof(block), 2, serial, 16, 1);
  enum edge_l1_err err;

  /* Fill read Redis, then the revocation's remove ran (even though the
   * key was not cached yet): the fill is refused. */
  uint64_t t = edge_l1_ticket(l1);
  assert_int_equal(edge_l1_remove(l1, 2, serial, 16), 0);
  assert_int_equal(edge_l1_insert(l1, &err, 0, t, 2, serial, 16, block,
                                  sizeof(block), THIS_UPD, NEXT_UPD),
                   0);
  assert_int_equal(err, EDGE_L1_ERR_STALE);
  assert_int_equal(lookup(l1, 0, 2, 1, 16, NOW), 0);

  /* A clear refuses older fills too. */
  t = edge_l1_ticket(l1);
  edge_l1_clear(l1);
  assert_int_equal(edge_l1_insert(l1, &err, 0, t, 2, serial, 16, block,
                                  sizeof(block), THIS_UPD, NEXT_UPD),
                   0);
  assert_int_equal(err, EDGE_L1_ERR_STALE);

  /* A stale fill leaves the cached entry alone. */
  assert_int_equal(put(l1, &err, 0, 2, 1, 16, 5), 1);
  t = edge_l1_ticket(l1);
  assert_int_equal(edge_l1_remove(l1, 2, serial, 15), 0); /* other key */
  make_block(block, sizeof(block), 2, serial, 16, 6);
  assert_int_equal(edge_l1_insert(l1, &err, 0, t, 2, serial, 16, block,
                                  sizeof(block), THIS_UPD, NEXT_UPD),
                   0);
  assert_int_equal(lookup(l1, 0, 2, 1, 16, NOW), 5);

  /* A current ticket works. */
  assert_int_equal(edge_l1_insert(l1, &err, 0, edge_l1_ticket(l1), 2, serial,
                                  16, block, sizeof(block), THIS_UPD, NEXT_UPD),
                   1);
  assert_int_equal(lookup(l1, 0, 2, 1, 16, NOW), 6);
  edge_l1_free(l1);
}

static void test_clear(void **state) {
  (void)state;
  struct edge_l1 *l1 = new_cache(1000, 1 << 20, 1, 0);
  assert_int_equal(edge_l1_thread_register(l1, 0), 1);
  enum edge_l1_err err;
  for (uint64_t i = 0; i < 500; i++) {
    assert_int_equal(put(l1, &err, 0, 1, i, 18, 1), 1);
  }
  uint64_t gen = stats_of(l1).generation;
  edge_l1_clear(l1);
  assert_int_equal(stats_of(l1).generation, gen + 1);
  for (uint64_t i = 0; i < 500; i++) {
    assert_int_equal(lookup(l1, 0, 1, i, 18, NOW), 0);
  }
  /* Refilling the same keys reuses their slots (stale entries are
   * replaced in place, not added). */
  for (uint64_t i = 0; i < 250; i++) {
    assert_int_equal(put(l1, &err, 0, 1, i, 18, 2), 1);
  }
  for (uint64_t i = 0; i < 500; i++) {
    assert_int_equal(lookup(l1, 0, 1, i, 18, NOW), i < 250 ? 2 : 0);
  }
  struct edge_l1_stats st = stats_of(l1);
  assert_int_equal(st.entries, 500);
  assert_int_equal(st.clears, 1);
  /* New keys push the stale ones out as the entry limit is reached. */
  for (uint64_t i = 1000; i < 1750; i++) {
    assert_int_equal(put(l1, &err, 0, 1, i, 18, 3), 1);
  }
  st = stats_of(l1);
  assert_true(st.entries <= 1000);
  for (uint64_t i = 1000; i < 1750; i++) {
    assert_int_equal(lookup(l1, 0, 1, i, 18, NOW), 3);
  }
  edge_l1_free(l1);
}

static void test_get_batch(void **state) {
  (void)state;
  struct edge_l1 *l1 = new_cache(1000, 1 << 20, 1, 0);
  assert_int_equal(edge_l1_thread_register(l1, 0), 1);
  enum edge_l1_err err;
  for (uint64_t i = 0; i < 100; i += 2) {
    assert_int_equal(put(l1, &err, 0, 1, i, 17, (uint32_t)i + 1), 1);
  }
  /* One key that expires earlier than the rest. */
  uint8_t es[17];
  uint8_t eb[64];
  serial_of(es, 17, 1000);
  make_block(eb, sizeof(eb), 1, es, 17, 7);
  assert_int_equal(edge_l1_insert(l1, &err, 0, edge_l1_ticket(l1), 1, es, 17,
                                  eb, sizeof(eb), NOW - 10, NOW),
                   1);
  /* 70 keys (more than one internal batch): present, absent, the expired
   * one, bad serial lengths. */
  enum { N = 70 };
  static uint8_t serials[N][EDGE_L1_MAX_SERIAL + 1];
  struct edge_l1_key keys[N];
  const struct edge_l1_entry *out[N];
  for (int i = 0; i < N; i++) {
    keys[i].issuer_idx = 1;
    keys[i].serial_len = 17;
    keys[i].serial = serials[i];
    serial_of(serials[i], 17, (uint64_t)i);
    out[i] = (const struct edge_l1_entry *)&keys[i]; /* must be replaced */
  }
  memcpy(serials[5], es, 17);
  keys[9].serial_len = 0;
  keys[11].serial_len = EDGE_L1_MAX_SERIAL + 1;
  keys[12].issuer_idx = 2; /* another issuer: absent */
  edge_l1_get_batch(l1, out, 0, keys, N, NOW);
  for (int i = 0; i < N; i++) {
    int want = i % 2 == 0 && i != 12;
    if (!want) {
      assert_null(out[i]);
      continue;
    }
    assert_non_null(out[i]);
    uint32_t ver = 0;
    assert_true(check_block(out[i], 1, serials[i], 17, &ver));
    assert_int_equal(ver, (uint32_t)i + 1);
    /* Same answer as edge_l1_get. */
    const struct edge_l1_entry *e = edge_l1_get(l1, 0, 1, serials[i], 17, NOW);
    assert_ptr_equal(e, out[i]);
    edge_l1_put_ref(l1, e);
    edge_l1_put_ref(l1, out[i]);
  }
  struct edge_l1_stats st = stats_of(l1);
  assert_int_equal(st.hits, 2 * 34);
  assert_int_equal(st.misses, N - 34);
  assert_int_equal(st.expired, 1);
  edge_l1_get_batch(l1, out, 0, keys, 0, NOW); /* nothing */
  assert_int_equal(stats_of(l1).misses, N - 34);
  /* References were counted once per hit: the entries' segments can be
   * reclaimed after eviction (checked by ASan/the pending count). */
  edge_l1_free(l1);
}

/* --- Memory budget and eviction ------------------------------------------ */

static void test_budget_eviction(void **state) {
  (void)state;
  const size_t budget = 16 * EDGE_L1_MIN_SEGMENT; /* 1 MiB */
  struct edge_l1 *l1 = new_cache(100000, budget, 1, 0);
  assert_int_equal(edge_l1_thread_register(l1, 0), 1);
  enum edge_l1_err err;
  const uint64_t n = 20000; /* ~6 MB of entries */
  for (uint64_t i = 0; i < n; i++) {
    assert_int_equal(put(l1, &err, 0, 1, i, 20, 1), 1);
    struct edge_l1_stats st = stats_of(l1);
    assert_true(st.bytes <= budget);
    assert_true(st.memory_bytes <= budget);
    if (i % 64 == 0) {
      edge_l1_quiescent(l1, 0);
    }
  }
  struct edge_l1_stats st = stats_of(l1);
  assert_true(st.evictions > 0);
  assert_true(st.entries + st.evictions == n);
  assert_true(st.bytes > budget / 2); /* the budget is actually used */
  assert_int_equal(st.insert_failures, 0);
  /* The newest entries are there; the oldest are gone. */
  for (uint64_t i = n - 100; i < n; i++) {
    assert_int_equal(lookup(l1, 0, 1, i, 20, NOW), 1);
  }
  for (uint64_t i = 0; i < 100; i++) {
    assert_int_equal(lookup(l1, 0, 1, i, 20, NOW), 0);
  }
  edge_l1_free(l1);
}

static void test_second_chance(void **state) {
  (void)state;
  const size_t budget = 16 * EDGE_L1_MIN_SEGMENT;
  struct edge_l1 *l1 = new_cache(100000, budget, 1, 0);
  assert_int_equal(edge_l1_thread_register(l1, 0), 1);
  enum edge_l1_err err;
  /* 50 hot keys, looked up between every cold insert; 20,000 cold keys
   * cycle the budget several times over. */
  for (uint64_t h = 0; h < 50; h++) {
    assert_int_equal(put(l1, &err, 0, 9, h, 20, 1), 1);
  }
  for (uint64_t i = 0; i < 20000; i++) {
    assert_int_equal(put(l1, &err, 0, 1, i, 20, 1), 1);
    assert_int_equal(lookup(l1, 0, 9, i % 50, 20, NOW), 1);
    if (i % 64 == 0) {
      edge_l1_quiescent(l1, 0);
    }
  }
  struct edge_l1_stats st = stats_of(l1);
  assert_true(st.second_chances > 0);
  assert_true(st.evictions > 10000);
  edge_l1_free(l1);
}

static void test_entry_limit(void **state) {
  (void)state;
  struct edge_l1 *l1 = new_cache(100, 16 * EDGE_L1_MIN_SEGMENT, 1, 0);
  assert_int_equal(edge_l1_thread_register(l1, 0), 1);
  enum edge_l1_err err;
  for (uint64_t i = 0; i < 2000; i++) {
    assert_int_equal(put(l1, &err, 0, 1, i, 12, 1), 1);
    assert_true(stats_of(l1).entries <= 100);
    assert_int_equal(lookup(l1, 0, 1, i, 12, NOW), 1);
    edge_l1_quiescent(l1, 0);
  }
  edge_l1_free(l1);
}

/* --- References and reclamation ------------------------------------------- */

static void test_reference_outlives_remove(void **state) {
  (void)state;
  const size_t budget = 8 * EDGE_L1_MIN_SEGMENT;
  struct edge_l1 *l1 = new_cache(100000, budget, 2, 0);
  assert_int_equal(edge_l1_thread_register(l1, 0), 1);
  enum edge_l1_err err;
  uint8_t serial[20];
  serial_of(serial, 20, 77);
  assert_int_equal(put(l1, &err, 0, 5, 77, 20, 1), 1);
  const struct edge_l1_entry *held = edge_l1_get(l1, 0, 5, serial, 20, NOW);
  assert_non_null(held);
  assert_int_equal(edge_l1_remove(l1, 5, serial, 20), 1);
  assert_null(edge_l1_get(l1, 0, 5, serial, 20, NOW));

  /* Cycle the whole budget many times: the held entry's segment is
   * evicted but must not be reused while the reference is held. */
  for (uint64_t i = 0; i < 10000; i++) {
    assert_int_equal(put(l1, &err, 0, 1, i, 20, 1), 1);
    edge_l1_quiescent(l1, 0);
  }
  assert_true(stats_of(l1).evictions > 5000);
  assert_true(check_block(held, 5, serial, 20, NULL));
  assert_true(stats_of(l1).segments_pending >= 1);

  /* Dropped: the next quiescent state reclaims the segment. */
  edge_l1_put_ref(l1, held);
  edge_l1_quiescent(l1, 0);
  struct edge_l1_stats st = stats_of(l1);
  assert_int_equal(st.segments_pending, 0);
  assert_true(st.segments_free >= 1);
  assert_true(st.memory_bytes <= budget);

  /* A registered thread that has not announced holds up reclamation:
   * thread 1 registers, then stays silent. */
  assert_int_equal(edge_l1_thread_register(l1, 1), 1);
  uint64_t free_before = stats_of(l1).segments_free;
  for (uint64_t i = 10000; i < 10600; i++) {
    enum edge_l1_err e2;
    int ok = put(l1, &e2, 0, 1, i, 20, 1);
    assert_true(ok || e2 == EDGE_L1_ERR_NOSPACE);
    edge_l1_quiescent(l1, 0);
  }
  st = stats_of(l1);
  assert_true(st.segments_pending > 0);
  assert_true(st.segments_free <= free_before);
  assert_true(st.insert_failures > 0); /* ran out of reusable memory */
  assert_true(st.memory_bytes <= budget);
  /* Going offline (or announcing) releases it. */
  edge_l1_thread_offline(l1, 1);
  edge_l1_quiescent(l1, 0);
  assert_int_equal(stats_of(l1).segments_pending, 0);
  edge_l1_thread_online(l1, 1);
  edge_l1_quiescent(l1, 1);
  /* Inserts work again. */
  assert_int_equal(put(l1, &err, 0, 1, 99999, 20, 1), 1);
  edge_l1_free(l1);
}

static void test_reference_outlives_replace(void **state) {
  (void)state;
  /* 20 held versions pin up to 20 segments; the other 12 cycle. */
  const size_t budget = 32 * EDGE_L1_MIN_SEGMENT;
  struct edge_l1 *l1 = new_cache(100000, budget, 1, 0);
  assert_int_equal(edge_l1_thread_register(l1, 0), 1);
  enum edge_l1_err err;
  uint8_t serial[20];
  serial_of(serial, 20, 3);
  const struct edge_l1_entry *held[20];
  for (uint32_t v = 0; v < 20; v++) {
    assert_int_equal(put(l1, &err, 0, 5, 3, 20, v + 1), 1);
    held[v] = edge_l1_get(l1, 0, 5, serial, 20, NOW);
    assert_non_null(held[v]);
    for (uint64_t i = 0; i < 1000; i++) {
      assert_int_equal(put(l1, &err, 0, 1, v * 1000 + i, 20, 1), 1);
      edge_l1_quiescent(l1, 0);
    }
  }
  for (uint32_t v = 0; v < 20; v++) {
    uint32_t ver = 0;
    assert_true(check_block(held[v], 5, serial, 20, &ver));
    assert_int_equal(ver, v + 1);
    edge_l1_put_ref(l1, held[v]);
  }
  edge_l1_quiescent(l1, 0);
  assert_int_equal(stats_of(l1).segments_pending, 0);
  edge_l1_free(l1);
}

static void test_qsbr(void **state) {
  (void)state;
  assert_null(edge_qsbr_new(0));
  struct edge_qsbr *q = edge_qsbr_new(3);
  assert_non_null(q);
  assert_int_equal(edge_qsbr_num_threads(q), 3);
  /* Nobody registered: everything has passed. */
  uint64_t e1 = edge_qsbr_advance(q);
  assert_int_equal(edge_qsbr_passed(q, e1), 1);
  assert_int_equal(edge_qsbr_register(q, 0), 1);
  assert_int_equal(edge_qsbr_register(q, 2), 1);
  assert_int_equal(edge_qsbr_register(q, 3), 0);
  assert_int_equal(edge_qsbr_is_online(q, 0), 1);
  assert_int_equal(edge_qsbr_is_online(q, 1), 0);
  uint64_t e2 = edge_qsbr_advance(q);
  assert_int_equal(edge_qsbr_passed(q, e2), 0);
  edge_qsbr_quiescent(q, 0);
  assert_int_equal(edge_qsbr_passed(q, e2), 0); /* thread 2 still inside */
  edge_qsbr_quiescent(q, 2);
  assert_int_equal(edge_qsbr_passed(q, e2), 1);
  uint64_t e3 = edge_qsbr_advance(q);
  edge_qsbr_quiescent(q, 0);
  edge_qsbr_offline(q, 2);
  assert_int_equal(edge_qsbr_passed(q, e3), 1);
  edge_qsbr_online(q, 2);
  uint64_t e4 = edge_qsbr_advance(q);
  edge_qsbr_quiescent(q, 0);
  assert_int_equal(edge_qsbr_passed(q, e4), 0);
  edge_qsbr_unregister(q, 2);
  assert_int_equal(edge_qsbr_passed(q, e4), 1);
  assert_int_equal(edge_qsbr_register(q, 2), 1); /* index free again */
  edge_qsbr_free(q);
  edge_qsbr_free(NULL);
}

/* --- Allocation failure --------------------------------------------------- */

static void test_alloc_failure(void **state) {
  (void)state;
  /* edge_l1_new fails cleanly at every allocation. */
  struct edge_l1_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.max_entries = 1000;
  cfg.memory_budget = 1 << 20;
  cfg.num_threads = 2;
  cfg.hash_key = kHashKey;
  struct edge_l1 *l1 = NULL;
  for (unsigned long n = 0; l1 == NULL; n++) {
    vigil_alloc_fail_after(n, 0);
    l1 = edge_l1_new(&cfg);
    if (l1 == NULL) {
      assert_true(vigil_alloc_failures() > 0);
    }
    assert_true(n < 20);
  }
  vigil_alloc_fail_reset();
  assert_int_equal(edge_l1_thread_register(l1, 0), 1);

  /* Replacing an entry over and over fills the first segment; the insert
   * that needs a new one fails with NOMEM and leaves the last version. */
  enum edge_l1_err err;
  assert_int_equal(put(l1, &err, 0, 1, 10, 20, 1), 1);
  vigil_alloc_fail_after(0, 1);
  uint32_t v = 2;
  for (;; v++) {
    if (!put(l1, &err, 0, 1, 10, 20, v)) {
      break;
    }
    assert_true(v < 1000);
  }
  assert_int_equal(err, EDGE_L1_ERR_NOMEM);
  assert_int_equal(lookup(l1, 0, 1, 10, 20, NOW), v - 1);
  assert_int_equal(stats_of(l1).entries, 1);
  vigil_alloc_fail_reset();
  assert_int_equal(put(l1, &err, 0, 1, 10, 20, v), 1);
  assert_int_equal(lookup(l1, 0, 1, 10, 20, NOW), v);
  edge_l1_free(l1);
}

/* --- Hostile and colliding keys ------------------------------------------- */

static void test_many_keys(void **state) {
  (void)state;
#ifdef TEST_ASAN
  const uint64_t n = 200000;
#else
  const uint64_t n = 1000000;
#endif
  /* Sequential serials under two issuers plus short serials: keys that
   * differ in few bits, the classic worst case for weak hashes. 64-byte
   * blocks keep the test small. */
  struct edge_l1 *l1 = new_cache(2 * n + 1000, (2 * n + 1000) * 128, 1, 0);
  assert_int_equal(edge_l1_thread_register(l1, 0), 1);
  enum edge_l1_err err;
  uint8_t serial[20];
  uint8_t block[64];
  for (uint64_t i = 0; i < n; i++) {
    for (uint32_t iss = 0; iss < 2; iss++) {
      size_t len = (i & 1) ? 20 : 9;
      serial_of(serial, len, i);
      make_block(block, sizeof(block), iss, serial, len, (uint32_t)i);
      assert_int_equal(
          edge_l1_insert(l1, &err, 0, edge_l1_ticket(l1), iss, serial, len,
                         block, sizeof(block), THIS_UPD, NEXT_UPD),
          1);
    }
  }
  struct edge_l1_stats st = stats_of(l1);
  assert_int_equal(st.entries, 2 * n);
  assert_int_equal(st.evictions, 0);
  for (uint64_t i = 0; i < n; i++) {
    for (uint32_t iss = 0; iss < 2; iss++) {
      size_t len = (i & 1) ? 20 : 9;
      serial_of(serial, len, i);
      const struct edge_l1_entry *e = edge_l1_get(l1, 0, iss, serial, len, NOW);
      assert_non_null(e);
      uint32_t ver = 0;
      assert_true(check_block(e, iss, serial, len, &ver));
      assert_int_equal(ver, (uint32_t)i);
      edge_l1_put_ref(l1, e);
    }
    /* Same number with the other serial length, or issuer 2: absent. */
    size_t other = (i & 1) ? 9 : 20;
    serial_of(serial, other, i);
    assert_null(edge_l1_get(l1, 0, 0, serial, other, NOW));
    serial_of(serial, 20, i);
    assert_null(edge_l1_get(l1, 0, 2, serial, 20, NOW));
  }
  edge_l1_free(l1);
}

/* find_colliding fills |out| with |num| serial numbers whose keys all start
 * their probe chain at slot |home|. */
static void find_colliding(struct edge_l1 *l1, uint64_t *out, size_t num,
                           size_t home) {
  uint8_t serial[16];
  size_t found = 0;
  for (uint64_t i = 0; found < num; i++) {
    serial_of(serial, 16, i);
    if (edge_l1_home_slot(l1, 1, serial, 16) == home) {
      out[found++] = i;
    }
  }
}

static void test_colliding_keys(void **state) {
  (void)state;
  /* With a known hash key, 300 serials all hashing to the slot before the
   * end of the table (so the cluster wraps): the first 256 fit (distance
   * 0..255), later ones are refused without harm; removal in the middle of
   * the cluster shifts the rest back and they stay findable. */
  struct edge_l1 *l1 = new_cache(1000, 1 << 20, 1, 0);
  assert_int_equal(edge_l1_thread_register(l1, 0), 1);
  size_t slots = stats_of(l1).table_slots;
  uint64_t ids[300];
  find_colliding(l1, ids, 300, slots - 2);
  enum edge_l1_err err;
  for (int k = 0; k < 300; k++) {
    int ok = put(l1, &err, 0, 1, ids[k], 16, 1);
    if (k < 256) {
      assert_int_equal(ok, 1);
    } else {
      assert_int_equal(ok, 0);
      assert_int_equal(err, EDGE_L1_ERR_NOSPACE);
    }
  }
  assert_int_equal(stats_of(l1).entries, 256);
  for (int k = 0; k < 256; k++) {
    assert_int_equal(lookup(l1, 0, 1, ids[k], 16, NOW), 1);
  }
  /* Remove every third colliding key. */
  for (int k = 0; k < 256; k += 3) {
    uint8_t serial[16];
    serial_of(serial, 16, ids[k]);
    assert_int_equal(edge_l1_remove(l1, 1, serial, 16), 1);
  }
  for (int k = 0; k < 256; k++) {
    assert_int_equal(lookup(l1, 0, 1, ids[k], 16, NOW), k % 3 ? 1 : 0);
  }
  /* The freed room takes the refused keys now. */
  for (int k = 256; k < 300; k++) {
    assert_int_equal(put(l1, &err, 0, 1, ids[k], 16, 2), 1);
  }
  for (int k = 0; k < 300; k++) {
    assert_int_equal(lookup(l1, 0, 1, ids[k], 16, NOW),
                     k >= 256 ? 2 : (k % 3 ? 1 : 0));
  }
  /* Keys with other homes, many inside the cluster: some are refused
   * (their window is full), the rest are found; then the colliding keys
   * go and everything left is still found after the shifts. */
  static int ok2[600];
  int num_ok = 0;
  for (int i = 0; i < 600; i++) {
    ok2[i] = put(l1, &err, 0, 2, 100000 + (uint64_t)i, 16, 3);
    assert_true(ok2[i] || err == EDGE_L1_ERR_NOSPACE);
    num_ok += ok2[i];
  }
  assert_true(num_ok > 500);
  for (int k = 0; k < 300; k++) {
    uint8_t serial[16];
    serial_of(serial, 16, ids[k]);
    assert_int_equal(edge_l1_remove(l1, 1, serial, 16), k >= 256 || k % 3 != 0);
    for (int i = 0; i < 600; i += 7) {
      assert_int_equal(lookup(l1, 0, 2, 100000 + (uint64_t)i, 16, NOW),
                       ok2[i] ? 3 : 0);
    }
  }
  for (int i = 0; i < 600; i++) {
    assert_int_equal(lookup(l1, 0, 2, 100000 + (uint64_t)i, 16, NOW),
                     ok2[i] ? 3 : 0);
  }
  assert_int_equal(stats_of(l1).entries, (uint64_t)num_ok);
  edge_l1_free(l1);
}

/* Random operations against a model, on a small table (long clusters,
 * wrap-around, many backward shifts). With |evicting|, the budget is small
 * enough that eviction drops entries the model does not know about: a
 * lookup may then miss (and the key stays gone), but must never return a
 * version other than the last one inserted. */
static void random_model(int evicting) {
  enum { KEYS = 600 };
  size_t budget = evicting ? 8 * EDGE_L1_MIN_SEGMENT : 128u << 20;
  struct edge_l1 *l1 = new_cache(KEYS, budget, 1, 0);
  assert_int_equal(edge_l1_thread_register(l1, 0), 1);
  static uint32_t model[KEYS]; /* version cached, 0 = absent */
  memset(model, 0, sizeof(model));
  uint64_t rng = 42 + (uint64_t)evicting;
  enum edge_l1_err err;
#ifdef TEST_ASAN
  const int rounds = 60000;
#else
  const int rounds = 300000;
#endif
  for (int r = 0; r < rounds; r++) {
    uint64_t x = next_rand(&rng);
    uint64_t k = (x >> 8) % KEYS;
    size_t len = 1 + k % 21;
    uint32_t issuer = (uint32_t)(k & 3);
    switch (x & 7) {
      case 0:
      case 1:
      case 2: {
        uint32_t ver = (uint32_t)r + 1;
        assert_int_equal(put(l1, &err, 0, issuer, k, len, ver), 1);
        model[k] = ver;
        break;
      }
      case 3:
      case 4: {
        uint8_t serial[EDGE_L1_MAX_SERIAL];
        serial_of(serial, len, k);
        int removed = edge_l1_remove(l1, issuer, serial, len);
        if (evicting) {
          assert_true(!removed || model[k] != 0);
        } else {
          assert_int_equal(removed, model[k] != 0);
        }
        model[k] = 0;
        break;
      }
      default: {
        uint32_t got = lookup(l1, 0, issuer, k, len, NOW);
        if (evicting && got == 0) {
          model[k] = 0; /* evicted */
        }
        assert_int_equal(got, model[k]);
        break;
      }
    }
    if (r % 128 == 0) {
      edge_l1_quiescent(l1, 0);
    }
  }
  struct edge_l1_stats st = stats_of(l1);
  size_t live = 0;
  for (int k = 0; k < KEYS; k++) {
    uint32_t got =
        lookup(l1, 0, (uint32_t)(k & 3), (uint64_t)k, 1 + (size_t)k % 21, NOW);
    if (evicting && got == 0) {
      model[k] = 0;
    }
    assert_int_equal(got, model[k]);
    live += model[k] != 0;
  }
  assert_int_equal(st.entries, live);
  if (evicting) {
    assert_true(st.evictions > 0);
    assert_true(st.memory_bytes <= budget);
  } else {
    assert_int_equal(st.evictions, 0);
  }
  edge_l1_free(l1);
}

static void test_random_model(void **state) {
  (void)state;
  random_model(0);
}

static void test_random_model_evicting(void **state) {
  (void)state;
  random_model(1);
}

/* --- Threads -------------------------------------------------------------- */

#define ST_THREADS 4
#define ST_KEYS    3000
#define ST_REVOKED 200 /* keys 0..ST_REVOKED-1 get revoked during the run */
#define ST_HELD    8

struct stress {
  struct edge_l1 *l1;
  int iterations;
  atomic_int revoked[ST_REVOKED]; /* 1: "Redis" says revoked (set first) */
  atomic_int done[ST_REVOKED];    /* 1: edge_l1_remove has returned */
  atomic_int failures;
  atomic_long hits;
  atomic_long stale_refusals;
  char first_failure[128];
  atomic_flag failure_noted;
};

struct stress_arg {
  struct stress *s;
  unsigned idx;
};

static void stress_fail(struct stress *s, const char *what, uint64_t key) {
  atomic_fetch_add(&s->failures, 1);
  if (!atomic_flag_test_and_set(&s->failure_noted)) {
    snprintf(s->first_failure, sizeof(s->first_failure), "%s (key %llu)", what,
             (unsigned long long)key);
  }
}

static size_t st_len(uint64_t k) {
  return 8 + k % 14;
}

static void *stress_thread(void *arg) {
  struct stress_arg *a = arg;
  struct stress *s = a->s;
  struct edge_l1 *l1 = s->l1;
  unsigned t = a->idx;
  if (!edge_l1_thread_register(l1, t)) {
    stress_fail(s, "register", t);
    return NULL;
  }
  uint64_t rng = 0x5eed + t * 7919;
  struct {
    const struct edge_l1_entry *e;
    uint64_t key;
  } held[ST_HELD];
  memset(held, 0, sizeof(held));
  unsigned held_next = 0;
  uint8_t serial[EDGE_L1_MAX_SERIAL];
  uint8_t block[BLOCK_MAX];
  long hits = 0;

  for (int it = 0; it < s->iterations; it++) {
    uint64_t x = next_rand(&rng);
    uint64_t k = (x >> 16) % ST_KEYS;
    size_t len = st_len(k);
    uint32_t issuer = (uint32_t)(k % 3);
    serial_of(serial, len, k);
    unsigned op = (unsigned)(x & 1023);

    if (t == 0 && it > 0 && it % 50 == 0 && it / 50 <= ST_REVOKED) {
      /* The revocation: the new answer is in "Redis" first, then the
       * edge hears the event and removes. */
      uint64_t rk = (uint64_t)(it / 50 - 1);
      uint8_t rs[EDGE_L1_MAX_SERIAL];
      serial_of(rs, st_len(rk), rk);
      atomic_store(&s->revoked[rk], 1);
      (void)edge_l1_remove(l1, (uint32_t)(rk % 3), rs, st_len(rk));
      atomic_store(&s->done[rk], 1);
    }

    if (op < 700) {
      /* Lookup. For a revoked key whose remove returned, a hit is the
       * bug this cache must never have. */
      int after_remove = k < ST_REVOKED && atomic_load(&s->done[k]);
      const struct edge_l1_entry *e =
          edge_l1_get(l1, t, issuer, serial, len, NOW);
      if (e == NULL) {
        continue;
      }
      hits++;
      if (after_remove) {
        stress_fail(s, "hit after remove returned", k);
      }
      if (!check_block(e, issuer, serial, len, NULL)) {
        stress_fail(s, "wrong block on lookup", k);
      }
      /* Keep it like an in-flight send; drop the oldest held. */
      if (held[held_next].e != NULL) {
        uint64_t hk = held[held_next].key;
        uint8_t hs[EDGE_L1_MAX_SERIAL];
        serial_of(hs, st_len(hk), hk);
        if (!check_block(held[held_next].e, (uint32_t)(hk % 3), hs, st_len(hk),
                         NULL)) {
          stress_fail(s, "held block changed", hk);
        }
        edge_l1_put_ref(l1, held[held_next].e);
      }
      held[held_next].e = e;
      held[held_next].key = k;
      held_next = (held_next + 1) % ST_HELD;
    } else if (op < 960) {
      /* Fill: ticket, then "read Redis", then insert. */
      uint64_t ticket = edge_l1_ticket(l1);
      if (k < ST_REVOKED && atomic_load(&s->revoked[k])) {
        continue; /* Redis would hand us the revoked answer */
      }
      uint32_t ver = (uint32_t)it + 1;
      size_t blen = block_len_for(ver, serial);
      make_block(block, blen, issuer, serial, len, ver);
      enum edge_l1_err err;
      if (!edge_l1_insert(l1, &err, t, ticket, issuer, serial, len, block, blen,
                          THIS_UPD, NEXT_UPD)) {
        if (err == EDGE_L1_ERR_STALE) {
          atomic_fetch_add(&s->stale_refusals, 1);
        } else if (err != EDGE_L1_ERR_NOSPACE) {
          stress_fail(s, "insert failed", k);
        }
      }
    } else if (op < 1022) {
      if (k >= ST_REVOKED) {
        (void)edge_l1_remove(l1, issuer, serial, len);
      }
    } else {
      edge_l1_clear(l1);
    }
    if (it % 16 == 0) {
      edge_l1_quiescent(l1, t);
    }
    if (t == 1 && it % 4096 == 0) {
      /* An idle period in the kernel. */
      edge_l1_thread_offline(l1, t);
      edge_l1_thread_online(l1, t);
    }
  }
  for (unsigned i = 0; i < ST_HELD; i++) {
    if (held[i].e != NULL) {
      edge_l1_put_ref(l1, held[i].e);
    }
  }
  edge_l1_quiescent(l1, t);
  atomic_fetch_add(&s->hits, hits);
  edge_l1_thread_unregister(l1, t);
  return NULL;
}

static void test_threads(void **state) {
  (void)state;
  static struct stress s;
  memset(&s, 0, sizeof(s));
  const size_t budget = 16 * EDGE_L1_MIN_SEGMENT; /* forces eviction */
  s.l1 = new_cache(ST_KEYS, budget, ST_THREADS, 0);
#ifdef TEST_ASAN
  s.iterations = 60000;
#else
  s.iterations = 400000;
#endif
  atomic_flag_clear(&s.failure_noted);
  enum edge_l1_err err;
  /* Everything present at the start, revocable keys included. */
  assert_int_equal(edge_l1_thread_register(s.l1, 0), 1);
  for (uint64_t k = 0; k < ST_KEYS; k++) {
    (void)put(s.l1, &err, 0, (uint32_t)(k % 3), k, st_len(k), 1);
  }
  edge_l1_thread_unregister(s.l1, 0);

  pthread_t th[ST_THREADS];
  struct stress_arg args[ST_THREADS];
  for (unsigned i = 0; i < ST_THREADS; i++) {
    args[i].s = &s;
    args[i].idx = i;
    assert_int_equal(pthread_create(&th[i], NULL, stress_thread, &args[i]), 0);
  }
  for (unsigned i = 0; i < ST_THREADS; i++) {
    pthread_join(th[i], NULL);
  }
  if (atomic_load(&s.failures) != 0) {
    fail_msg("%d failures, first: %s", atomic_load(&s.failures),
             s.first_failure);
  }
  struct edge_l1_stats st = stats_of(s.l1);
  assert_true(atomic_load(&s.hits) > 1000);
  assert_true(st.evictions > 0);
  assert_true(st.bytes <= budget);
  assert_true(st.memory_bytes <= budget);
  assert_true(st.clears > 0);
  /* After the run every revoked key misses. */
  assert_int_equal(edge_l1_thread_register(s.l1, 0), 1);
  for (uint64_t k = 0; k < ST_REVOKED; k++) {
    if (atomic_load(&s.done[k])) {
      assert_int_equal(lookup(s.l1, 0, (uint32_t)(k % 3), k, st_len(k), NOW),
                       0);
    }
  }
  /* All references are back: one quiescent state reclaims everything. */
  edge_l1_quiescent(s.l1, 0);
  assert_int_equal(stats_of(s.l1).segments_pending, 0);
  edge_l1_free(s.l1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_siphash_matches_boringssl),
    cmocka_unit_test(test_hash_is_keyed),
    cmocka_unit_test(test_insert_get_replace_remove),
    cmocka_unit_test(test_invalid_arguments),
    cmocka_unit_test(test_expiry),
    cmocka_unit_test(test_get_batch),
    cmocka_unit_test(test_ticket_refuses_stale_fills),
    cmocka_unit_test(test_clear),
    cmocka_unit_test(test_budget_eviction),
    cmocka_unit_test(test_second_chance),
    cmocka_unit_test(test_entry_limit),
    cmocka_unit_test(test_reference_outlives_remove),
    cmocka_unit_test(test_reference_outlives_replace),
    cmocka_unit_test(test_qsbr),
    cmocka_unit_test(test_alloc_failure),
    cmocka_unit_test(test_many_keys),
    cmocka_unit_test(test_colliding_keys),
    cmocka_unit_test(test_random_model),
    cmocka_unit_test(test_random_model_evicting),
    cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
