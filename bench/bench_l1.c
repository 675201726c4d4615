/* bench_l1.c: what the edge's L1 cache (edge/l1.h) costs per lookup and
 * per entry, and whether that holds from 10 thousand to 10 million entries.
 *
 * For each size N: N keys (random 20-byte serials over 8 issuers) get a
 * 500-byte block each (a typical header tail + OCSP response); then
 * single-thread lookups (edge_l1_get + edge_l1_put_ref, a quiescent state
 * every 64 lookups as the event loop would) over precomputed key
 * sequences:
 *   uniform   every key equally likely (the worst case for caches)
 *   zipf      P(rank k) ~ 1/k, ranks scattered over memory (a plausible
 *             real-world skew: popular sites' certificates dominate)
 *   miss      keys that are not cached
 *   2 thr     uniform, batches, both cores, aggregate
 * each one key at a time (edge_l1_get) and in batches of 16
 * (edge_l1_get_batch, which overlaps the keys' memory accesses).
 * Memory: "RSS B/entry" = (RSS after the fill - RSS before creating the
 * cache - N x 500) / N, everything the cache costs beyond the blocks
 * (table, headers, keys, padding, segment slack); "struct B/entry" is the
 * same computed from the layout (entry header + serial + padding + table
 * slots per entry).
 * The header line gives the floor: one dependent random DRAM read on this
 * machine. A lookup whose slot and entry are not in the CPU caches needs
 * two in a row, so at 10M entries a single lookup costs about twice that
 * however the table is built; edge_l1_get_batch overlaps the reads of
 * several keys instead.
 * Default sizes: 10k, 1M. `bench_l1 full` (or VIGIL_BENCH_L1_FULL=1) adds
 * 10M (~6 GB, about a minute); `bench_l1 N...` runs the given sizes.
 * Measurements, not a test: the exit status does not depend on them. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "l1.h"

#define BLOCK_LEN   500
#define SERIAL_LEN  20
#define NUM_ISSUERS 8
#define LOOKUPS     (4u * 1000 * 1000)
#define RUNS        3
#define SEGMENT     (2u << 20)
#define BATCH_KEYS  16
#define NOW         1700000000

struct key {
  uint32_t issuer;
  uint8_t serial[SERIAL_LEN];
};

struct result {
  size_t n;
  double insert_per_s;
  double rss_per_entry;
  double struct_per_entry;
  double uniform_ns; /* edge_l1_get */
  double zipf_ns;
  double uniform_batch_ns; /* edge_l1_get_batch, 16 keys */
  double zipf_batch_ns;
  double miss_ns;
  double two_thread_mps; /* batch, both cores */
  double hit_rate;
};

static uint64_t next_rand(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0;
  long resident = 0;
  if (f == NULL) {
    return 0;
  }
  if (fscanf(f, "%ld %ld", &size, &resident) != 2) {
    resident = 0;
  }
  fclose(f);
  return resident * sysconf(_SC_PAGESIZE);
}

static void make_keys(struct key *keys, size_t n, uint64_t seed) {
  uint64_t s = seed;
  for (size_t i = 0; i < n; i++) {
    keys[i].issuer = (uint32_t)(next_rand(&s) % NUM_ISSUERS);
    for (size_t k = 0; k < SERIAL_LEN; k += 8) {
      uint64_t r = next_rand(&s);
      size_t m = SERIAL_LEN - k < 8 ? SERIAL_LEN - k : 8;
      memcpy(keys[i].serial + k, &r, m);
    }
    keys[i].serial[0] &= 0x7f; /* positive INTEGER */
    keys[i].serial[0] |= 0x01;
    /* unique: the index in the last four bytes */
    memcpy(keys[i].serial + SERIAL_LEN - 4, &i, 4);
  }
}

/* lookup_run looks up the |num| keys of |seq| in order on thread |t| (the
 * sequence is materialised, so reading the next key is a sequential read,
 * as a request's key sits in the receive buffer), one by one
 * or |batch| at a time through edge_l1_get_batch; returns seconds and
 * counts hits. */
static double lookup_run(struct edge_l1 *l1, unsigned t, const struct key *seq,
                         size_t num, int batch, size_t *out_hits) {
  size_t hits = 0;
  double t0 = now_s();
  if (!batch) {
    for (size_t i = 0; i < num; i++) {
      const struct key *k = &seq[i];
      const struct edge_l1_entry *e =
          edge_l1_get(l1, t, k->issuer, k->serial, SERIAL_LEN, NOW);
      if (e != NULL) {
        hits += edge_l1_entry_block(e)[0] != 0xff;
        edge_l1_put_ref(l1, e);
      }
      if ((i & 63) == 63) {
        edge_l1_quiescent(l1, t);
      }
    }
  } else {
    struct edge_l1_key bk[BATCH_KEYS];
    const struct edge_l1_entry *out[BATCH_KEYS];
    for (size_t i = 0; i + BATCH_KEYS <= num; i += BATCH_KEYS) {
      for (size_t j = 0; j < BATCH_KEYS; j++) {
        const struct key *k = &seq[i + j];
        bk[j].issuer_idx = k->issuer;
        bk[j].serial_len = SERIAL_LEN;
        bk[j].serial = k->serial;
      }
      edge_l1_get_batch(l1, out, t, bk, BATCH_KEYS, NOW);
      for (size_t j = 0; j < BATCH_KEYS; j++) {
        if (out[j] != NULL) {
          hits += edge_l1_entry_block(out[j])[0] != 0xff;
          edge_l1_put_ref(l1, out[j]);
        }
      }
      if ((i & 63) == 64 - BATCH_KEYS) {
        edge_l1_quiescent(l1, t);
      }
    }
  }
  double dt = now_s() - t0;
  *out_hits = hits;
  return dt;
}

static double best_lookup_ns(struct edge_l1 *l1, const struct key *seq,
                             size_t num, int batch, double *out_hit_rate) {
  double best = 1e30;
  size_t hits = 0;
  for (int r = 0; r < RUNS; r++) {
    double dt = lookup_run(l1, 0, seq, num, batch, &hits);
    if (dt < best) {
      best = dt;
    }
  }
  if (out_hit_rate != NULL) {
    *out_hit_rate = (double)hits / (double)num;
  }
  return best * 1e9 / (double)num;
}

struct thread_arg {
  struct edge_l1 *l1;
  unsigned t;
  const struct key *seq;
  size_t num;
  double secs;
};

static void *lookup_thread(void *p) {
  struct thread_arg *a = p;
  size_t hits;
  if (!edge_l1_thread_register(a->l1, a->t)) {
    return NULL;
  }
  a->secs = lookup_run(a->l1, a->t, a->seq, a->num, 1, &hits);
  edge_l1_thread_unregister(a->l1, a->t);
  return NULL;
}

/* dram_read_ns measures one dependent random read in a 256 MiB buffer on
 * 2 MiB pages (a pointer chase over a random cycle of cache lines): the
 * floor under a lookup that misses the CPU caches, which needs two such
 * reads one after the other (its slot, then its entry). */
static double dram_read_ns(void) {
  const size_t len = (size_t)256 << 20;
  const size_t lines = len / 64;
  uint8_t *buf = aligned_alloc((size_t)2 << 20, len);
  uint32_t *perm = malloc(lines * sizeof(*perm));
  if (buf == NULL || perm == NULL) {
    free(buf);
    free(perm);
    return 0;
  }
  (void)madvise(buf, len, MADV_HUGEPAGE);
  for (size_t i = 0; i < lines; i++) {
    perm[i] = (uint32_t)i;
  }
  uint64_t s = 77;
  for (size_t i = lines - 1; i > 0; i--) {
    size_t j = (size_t)(next_rand(&s) % (i + 1));
    uint32_t x = perm[i];
    perm[i] = perm[j];
    perm[j] = x;
  }
  for (size_t i = 0; i < lines; i++) {
    uint64_t next = (uint64_t)perm[(i + 1) % lines] * 64;
    memcpy(buf + (size_t)perm[i] * 64, &next, sizeof(next));
  }
  const size_t steps = 4000000;
  uint64_t cur = 0;
  double t0 = now_s();
  for (size_t i = 0; i < steps; i++) {
    memcpy(&cur, buf + cur, sizeof(cur));
  }
  double ns = (now_s() - t0) * 1e9 / (double)steps;
  if (cur == 1) { /* keeps the chase from being optimised away */
    ns = 0;
  }
  free(buf);
  free(perm);
  return ns;
}

static int run_size(size_t n, struct result *res) {
  memset(res, 0, sizeof(*res));
  res->n = n;
  struct key *keys = malloc(n * sizeof(*keys));
  struct key *absent = malloc(LOOKUPS / 4 * sizeof(*absent));
  struct key *uni = malloc(LOOKUPS * sizeof(*uni));
  struct key *zipf = malloc(LOOKUPS * sizeof(*zipf));
  uint8_t *block = malloc(BLOCK_LEN);
  if (keys == NULL || absent == NULL || uni == NULL || zipf == NULL ||
      block == NULL) {
    fprintf(stderr, "bench_l1: out of memory\n");
    return 0;
  }
  make_keys(keys, n, 0x1234567 + n);
  make_keys(absent, LOOKUPS / 4, 0x7654321 + n);
  uint64_t s = 99;
  /* Zipf-like ranks: log-uniform, P(rank k) ~ 1/k. Pick one of the
   * levels c^j (c = 2^(1/64)) up to n+1 uniformly, then a rank uniformly
   * inside it; no libm needed. Ranks map to key indexes through a
   * multiplicative hash so hot keys are spread over the table and the
   * segments instead of being the first ones inserted. */
  static double level[4096];
  size_t num_levels = 0;
  level[0] = 1.0;
  while (level[num_levels] < (double)n + 1.0 && num_levels + 1 < 4096) {
    level[num_levels + 1] = level[num_levels] * 1.0108892860517005;
    num_levels++;
  }
  for (size_t i = 0; i < LOOKUPS; i++) {
    uni[i] = keys[next_rand(&s) % n];
    size_t j = (size_t)(next_rand(&s) % num_levels);
    double u = (double)(next_rand(&s) >> 11) / 9007199254740992.0;
    double x = level[j] + u * (level[j + 1] - level[j]);
    uint64_t rank = (uint64_t)x - 1;
    if (rank >= n) {
      rank = n - 1;
    }
    zipf[i] = keys[(rank * UINT64_C(0x9e3779b97f4a7c15)) % n];
  }
  for (size_t i = 0; i < BLOCK_LEN; i++) {
    block[i] = (uint8_t)next_rand(&s);
  }
  block[0] = 0x30;

  long rss0 = rss_bytes();
  struct edge_l1_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  size_t esize = edge_l1_entry_size(SERIAL_LEN, BLOCK_LEN);
  size_t per_seg = (SEGMENT - 128) / esize;
  cfg.max_entries = n;
  cfg.memory_budget = ((n + per_seg - 1) / per_seg + 8) * (size_t)SEGMENT;
  cfg.num_threads = 2;
  cfg.segment_size = SEGMENT;
  struct edge_l1 *l1 = edge_l1_new(&cfg);
  if (l1 == NULL || !edge_l1_thread_register(l1, 0)) {
    fprintf(stderr, "bench_l1: cannot create the cache for %zu\n", n);
    return 0;
  }
  double t0 = now_s();
  for (size_t i = 0; i < n; i++) {
    enum edge_l1_err err;
    if (!edge_l1_insert(l1, &err, 0, edge_l1_ticket(l1), keys[i].issuer,
                        keys[i].serial, SERIAL_LEN, block, BLOCK_LEN,
                        NOW - 3600, NOW + 96 * 3600)) {
      fprintf(stderr, "bench_l1: insert %zu failed (%d)\n", i, (int)err);
      return 0;
    }
    if ((i & 63) == 63) {
      edge_l1_quiescent(l1, 0);
    }
  }
  res->insert_per_s = (double)n / (now_s() - t0);
  long rss1 = rss_bytes();
  struct edge_l1_stats st;
  edge_l1_stats(l1, &st);
  if (st.entries != n || st.evictions != 0) {
    fprintf(stderr, "bench_l1: %zu entries expected, %llu held\n", n,
            (unsigned long long)st.entries);
    return 0;
  }
  res->rss_per_entry =
      ((double)(rss1 - rss0) - (double)n * BLOCK_LEN) / (double)n;
  res->struct_per_entry =
      (double)(esize - BLOCK_LEN) + 8.0 * (double)st.table_slots / (double)n;

  res->uniform_ns = best_lookup_ns(l1, uni, LOOKUPS, 0, &res->hit_rate);
  res->zipf_ns = best_lookup_ns(l1, zipf, LOOKUPS, 0, NULL);
  res->uniform_batch_ns = best_lookup_ns(l1, uni, LOOKUPS, 1, NULL);
  res->zipf_batch_ns = best_lookup_ns(l1, zipf, LOOKUPS, 1, NULL);
  res->miss_ns = best_lookup_ns(l1, absent, LOOKUPS / 4, 0, NULL);

  /* Both cores: thread 0 here, thread 1 in a pthread, same sequence
   * halves. */
  edge_l1_thread_unregister(l1, 0);
  struct thread_arg a[2];
  pthread_t th[2];
  for (unsigned t = 0; t < 2; t++) {
    a[t].l1 = l1;
    a[t].t = t;
    a[t].seq = uni + (size_t)t * (LOOKUPS / 2);
    a[t].num = LOOKUPS / 2;
    a[t].secs = 0;
    pthread_create(&th[t], NULL, lookup_thread, &a[t]);
  }
  for (unsigned t = 0; t < 2; t++) {
    pthread_join(th[t], NULL);
  }
  double slowest = a[0].secs > a[1].secs ? a[0].secs : a[1].secs;
  res->two_thread_mps = slowest > 0 ? (double)LOOKUPS / slowest / 1e6 : 0;

  edge_l1_free(l1);
  free(keys);
  free(absent);
  free(uni);
  free(zipf);
  free(block);
  return 1;
}

int main(int argc, char **argv) {
  size_t sizes[16];
  size_t num = 0;
  const char *full = getenv("VIGIL_BENCH_L1_FULL");
  int want_full = full != NULL && full[0] == '1';
  for (int i = 1; i < argc && num < 16; i++) {
    if (strcmp(argv[i], "full") == 0) {
      want_full = 1;
    } else {
      char *end = NULL;
      unsigned long long v = strtoull(argv[i], &end, 10);
      if (end == argv[i] || *end != '\0' || v == 0 || v > 100000000ull) {
        fprintf(stderr, "usage: bench_l1 [full] [entries...]\n");
        return 2;
      }
      sizes[num++] = (size_t)v;
    }
  }
  if (num == 0) {
    sizes[num++] = 10000;
    sizes[num++] = 1000000;
    if (want_full) {
      sizes[num++] = 10000000;
    }
  } else if (want_full && num < 16) {
    sizes[num++] = 10000000;
  }

  struct result res[16];
  double dram = dram_read_ns();
  printf(
      "L1 cache: %u-byte blocks, %u-byte serials, %u lookups per run "
      "(best of %d), 1 thread unless noted;\n"
      "get = edge_l1_get one at a time, batch = edge_l1_get_batch of %u; "
      "ns per lookup\n",
      BLOCK_LEN, SERIAL_LEN, LOOKUPS, RUNS, BATCH_KEYS);
  printf(
      "floor: one random DRAM read (256 MiB, 2 MiB pages) = %.0f ns; a "
      "lookup missing the CPU caches needs 2 in a row (slot, entry)\n",
      dram);
  printf("%9s %9s %7s %7s %8s %8s %8s %8s %7s %6s %9s\n", "entries", "insert/s",
         "RSS", "struct", "uniform", "uniform", "zipf", "zipf", "miss", "hit",
         "2 thr");
  printf("%9s %9s %7s %7s %8s %8s %8s %8s %7s %6s %9s\n", "", "", "B/entry",
         "B/entry", "get", "batch", "get", "batch", "get", "rate", "Mlook/s");
  for (size_t i = 0; i < num; i++) {
    if (!run_size(sizes[i], &res[i])) {
      return 1;
    }
    const struct result *r = &res[i];
    printf(
        "%9zu %9.0f %7.1f %7.1f %8.1f %8.1f %8.1f %8.1f %7.1f %6.3f "
        "%9.2f\n",
        r->n, r->insert_per_s, r->rss_per_entry, r->struct_per_entry,
        r->uniform_ns, r->uniform_batch_ns, r->zipf_ns, r->zipf_batch_ns,
        r->miss_ns, r->hit_rate, r->two_thread_mps);
    fflush(stdout);
  }
  if (num >= 2) {
    const struct result *a = &res[0];
    const struct result *b = &res[num - 1];
    printf(
        "\nlookup rate at %zu vs %zu entries (1.00 = no slowdown):\n"
        "  get:   uniform %.2f, zipf %.2f\n"
        "  batch: uniform %.2f, zipf %.2f\n",
        b->n, a->n, a->uniform_ns / b->uniform_ns, a->zipf_ns / b->zipf_ns,
        a->uniform_batch_ns / b->uniform_batch_ns,
        a->zipf_batch_ns / b->zipf_batch_ns);
  }
  return 0;
}
