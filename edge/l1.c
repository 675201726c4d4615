/* l1.c: the edge's in-process response cache (see l1.h for the contract).
 *
 * Layout:
 *  - Table: num_slots 64-bit atomic slots, open addressing with linear
 *    probing in Robin Hood order from a home slot chosen by a keyed hash.
 *    A slot is 0 (empty) or packs
 *      bits 63..52  tag: 12 more hash bits, so most non-matching slots are
 *                   rejected without touching the entry,
 *      bits 51..44  distance from the home slot (0..255; an insert that
 *                   would go further fails, which a keyed hash makes
 *                   astronomically rare at 0.8 load with Robin Hood),
 *      bits 43..0   entry address >> 3 (entries are 8-aligned; segment
 *                   addresses are checked to be below 2^47).
 *    Robin Hood keeps each cluster sorted by home slot, which bounds the
 *    distances (plain linear probing at 0.8 load has clusters of hundreds
 *    of slots in a table of millions) and lets a miss stop early.
 *    Deletion shifts the rest of the cluster back instead of leaving
 *    tombstones, so probe chains do not rot under churn.
 *  - Entries live in segments (bump allocation, one mutable active segment)
 *    and are evicted a segment at a time, oldest first, with a second
 *    chance for entries hit since they were written.
 *  - Reclamation: an evicted segment is retired at a QSBR epoch and goes
 *    back to the free pool once every thread has passed that epoch and no
 *    entry in it has references left.
 *
 * Concurrency: readers only load slots (acquire), compare immutable entry
 * fields and bump the entry's refs / referenced bit. Writers hold l1->lock
 * for everything else, so writers never race each other; the only thing a
 * reader can observe mid-way is a backward shift, bracketed by shift_seq
 * (a seqcount) so that a miss during one is retried. Memory a writer
 * unlinks is never reused before a grace period (QSBR), so a reader that
 * loaded a slot just before a writer changed it still reads valid memory
 * (and may return that entry: its lookup is ordered before the write). */
#include "l1.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "l1_hash.h"
#include "qsbr.h"
#include "vigil/alloc.h"

/* AddressSanitizer: poison free segments, so a reader that kept an entry
 * pointer without a reference trips ASan when the segment is reused. */
#if defined(__SANITIZE_ADDRESS__)
#define L1_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define L1_ASAN 1
#endif
#endif
#ifdef L1_ASAN
#include <sanitizer/asan_interface.h>
#define L1_POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define L1_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define L1_POISON(p, n)   ((void)(p), (void)(n))
#define L1_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define L1_LIKELY(x)   __builtin_expect(!!(x), 1)
#define L1_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* --- Slot encoding -------------------------------------------------------- */

#define SLOT_TAG_SHIFT  52
#define SLOT_DIST_SHIFT 44
#define SLOT_DIST_MASK  UINT64_C(0xff)
#define SLOT_PTR_MASK   ((UINT64_C(1) << SLOT_DIST_SHIFT) - 1)
#define MAX_DIST        255u
/* Entry addresses must fit the 44-bit field after >> 3. */
#define ADDR_LIMIT (UINT64_C(1) << (SLOT_DIST_SHIFT + 3))

/* A lookup that misses while a backward shift ran retries this often
 * before it reports the miss (a writer would have to be preempted in the
 * middle of a shift for the retries to run out). */
#define LOOKUP_TRIES 4

#define ENTRY_HDR offsetof(struct edge_l1_entry, data)

_Static_assert(ENTRY_HDR == 28, "entry header layout");
_Static_assert(sizeof(_Atomic uint32_t) == 4 && sizeof(_Atomic uint8_t) == 1,
               "lock-free atomics of plain size");
_Static_assert(EDGE_L1_MAX_BLOCK <= UINT16_MAX, "block_len is 16 bits");

static inline uint64_t slot_make(uint64_t tag, uint64_t dist,
                                 const struct edge_l1_entry *e) {
  return (tag << SLOT_TAG_SHIFT) | (dist << SLOT_DIST_SHIFT) |
         ((uint64_t)(uintptr_t)e >> 3);
}

static inline struct edge_l1_entry *slot_entry(uint64_t v) {
  return (struct edge_l1_entry *)(uintptr_t)((v & SLOT_PTR_MASK) << 3);
}

static inline uint64_t slot_dist(uint64_t v) {
  return (v >> SLOT_DIST_SHIFT) & SLOT_DIST_MASK;
}

static inline uint64_t slot_with_dist(uint64_t v, uint64_t dist) {
  return (v & ~(SLOT_DIST_MASK << SLOT_DIST_SHIFT)) | (dist << SLOT_DIST_SHIFT);
}

/* --- Structures ----------------------------------------------------------- */

struct segment {
  struct segment *next;  /* link in the FIFO, pending or free list */
  void *raw;             /* the allocation holding the segment */
  uint64_t retire_epoch; /* pending: QSBR epoch it was evicted at */
  uint32_t used;         /* bytes of data holding entries */
  uint32_t cap;          /* bytes of data */
  uint32_t scan_off;     /* pending: entries before this have no refs */
  uint32_t pad;
  uint8_t data[]; /* entries, back to back */
};

_Static_assert(offsetof(struct segment, data) % 8 == 0, "8-aligned entries");

struct seg_list {
  struct segment *head; /* oldest */
  struct segment *tail; /* newest */
  size_t num;
};

/* Counters a worker thread owns (single writer, relaxed). */
struct l1_thread {
  alignas(64) _Atomic uint64_t hits;
  _Atomic uint64_t misses;
  _Atomic uint64_t expired;
};

struct edge_l1 {
  /* Read by every lookup, written only by edge_l1_new (gen: clear). */
  alignas(64) _Atomic uint64_t *slots;
  size_t num_slots;
  uint64_t hash_key[2];
  _Atomic uint32_t gen; /* current generation, never 0 */
  unsigned num_threads;
  struct l1_thread *threads; /* num_threads, in |threads_raw| */
  struct edge_qsbr *qsbr;

  /* Odd while a writer shifts entries backwards; own cache line because
   * writers bump it. */
  alignas(64) _Atomic uint64_t shift_seq;

  /* Writer side: everything below is changed under |lock| only. */
  alignas(64) pthread_mutex_t lock;
  _Atomic uint64_t inval;  /* removes + clears: the fill ticket */
  struct segment *active;  /* segment new entries go to, or NULL */
  struct seg_list fifo;    /* full segments, oldest first */
  struct seg_list pending; /* evicted, oldest epoch first */
  struct seg_list freelist;
  _Atomic size_t num_pending; /* pending.num, for the lock-free check */
  size_t seg_size;            /* bytes per segment (budget unit) */
  size_t max_segments;        /* memory_budget / seg_size */
  size_t num_segments;        /* segments allocated */
  size_t reserve;             /* free + pending segments kept ahead */
  size_t max_entries;

  /* Writer statistics (written under the lock, read relaxed). */
  _Atomic uint64_t entries, bytes, memory_bytes, inserts, replacements,
      insert_failures, evictions, second_chances, removals, clears,
      segments_free;

  void *raw;         /* allocation holding this struct */
  void *threads_raw; /* allocation holding |threads| */
};

/* Single-writer counter update: a plain add, no locked instruction. */
static inline void counter_add(_Atomic uint64_t *c, uint64_t d) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d,
                        memory_order_relaxed);
}

static inline uint64_t counter_get(_Atomic uint64_t *c) {
  return atomic_load_explicit(c, memory_order_relaxed);
}

/* --- Keys ----------------------------------------------------------------- */

size_t edge_l1_entry_size(size_t serial_len, size_t block_len) {
  return (ENTRY_HDR + serial_len + block_len + 7) & ~(size_t)7;
}

static inline size_t entry_size_of(const struct edge_l1_entry *e) {
  return edge_l1_entry_size(e->serial_len, e->block_len);
}

static inline uint64_t key_hash(const struct edge_l1 *l1, uint32_t issuer_idx,
                                const uint8_t *serial, size_t serial_len) {
  uint8_t buf[4 + EDGE_L1_MAX_SERIAL];
  buf[0] = (uint8_t)issuer_idx;
  buf[1] = (uint8_t)(issuer_idx >> 8);
  buf[2] = (uint8_t)(issuer_idx >> 16);
  buf[3] = (uint8_t)(issuer_idx >> 24);
  memcpy(buf + 4, serial, serial_len);
  return edge_l1_siphash(l1->hash_key, 1, 3, buf, 4 + serial_len);
}

/* home_of maps the low 32 hash bits onto [0, num_slots) (multiply-shift;
 * num_slots < 2^32). The tag uses the top 12 bits. */
static inline size_t home_of(const struct edge_l1 *l1, uint64_t h) {
  return (size_t)(((h & UINT32_MAX) * (uint64_t)l1->num_slots) >> 32);
}

static inline int key_eq(const struct edge_l1_entry *e, uint32_t issuer_idx,
                         const uint8_t *serial, size_t serial_len) {
  return e->issuer_idx == issuer_idx && e->serial_len == serial_len &&
         memcmp(e->data, serial, serial_len) == 0;
}

static inline int serial_len_ok(size_t serial_len) {
  return serial_len >= 1 && serial_len <= EDGE_L1_MAX_SERIAL;
}

/* --- Table (writers, under the lock) ------------------------------------- */

static inline uint64_t slot_load(const struct edge_l1 *l1, size_t i) {
  return atomic_load_explicit(&l1->slots[i], memory_order_relaxed);
}

static inline void slot_store(struct edge_l1 *l1, size_t i, uint64_t v) {
  /* Release: a reader that sees the slot sees the entry it points to. */
  atomic_store_explicit(&l1->slots[i], v, memory_order_release);
}

/* shift_begin / shift_end bracket moves of entries between slots
 * (seqlock writer side): a reader that misses while the count is odd or
 * has changed retries. */
static void shift_begin(struct edge_l1 *l1) {
  uint64_t s = atomic_load_explicit(&l1->shift_seq, memory_order_relaxed);
  atomic_store_explicit(&l1->shift_seq, s + 1, memory_order_relaxed);
  /* The odd count is visible before any move. */
  atomic_thread_fence(memory_order_release);
}

static void shift_end(struct edge_l1 *l1) {
  uint64_t s = atomic_load_explicit(&l1->shift_seq, memory_order_relaxed);
  atomic_store_explicit(&l1->shift_seq, s + 1, memory_order_release);
}

static inline size_t slot_next(const struct edge_l1 *l1, size_t i) {
  return i + 1 == l1->num_slots ? 0 : i + 1;
}

static inline size_t slot_prev(const struct edge_l1 *l1, size_t i) {
  return i == 0 ? l1->num_slots - 1 : i - 1;
}

/* table_find looks the key up. Robin Hood order: along a cluster, home
 * slots never decrease, so the key cannot lie past an empty slot or an
 * entry closer to its home than the probe is to ours. Returns 1 with the
 * key's slot in |*out_pos| (and its distance in |*out_dist|), or 0 with
 * the slot where the key belongs: |*out_pos| = the first empty or
 * "richer" slot, |*out_dist| = its distance from home (|*out_pos| =
 * SIZE_MAX if that is beyond MAX_DIST). */
static int table_find(const struct edge_l1 *l1, size_t *out_pos,
                      uint64_t *out_dist, uint64_t h, uint32_t issuer_idx,
                      const uint8_t *serial, size_t serial_len) {
  size_t i = home_of(l1, h);
  uint64_t tag = h >> SLOT_TAG_SHIFT;
  for (uint64_t d = 0; d <= MAX_DIST; d++) {
    uint64_t v = slot_load(l1, i);
    if (v == 0 || slot_dist(v) < d) {
      *out_pos = i;
      *out_dist = d;
      return 0;
    }
    if ((v >> SLOT_TAG_SHIFT) == tag &&
        key_eq(slot_entry(v), issuer_idx, serial, serial_len)) {
      *out_pos = i;
      *out_dist = d;
      return 1;
    }
    i = slot_next(l1, i);
  }
  *out_pos = SIZE_MAX;
  *out_dist = 0;
  return 0;
}

/* table_find_entry returns the slot that points at |e|, or SIZE_MAX. */
static size_t table_find_entry(const struct edge_l1 *l1,
                               const struct edge_l1_entry *e) {
  uint64_t h = key_hash(l1, e->issuer_idx, e->data, e->serial_len);
  size_t i = home_of(l1, h);
  for (uint64_t d = 0; d <= MAX_DIST; d++) {
    uint64_t v = slot_load(l1, i);
    if (v == 0 || slot_dist(v) < d) {
      break;
    }
    if (slot_entry(v) == e) {
      return i;
    }
    i = slot_next(l1, i);
  }
  return SIZE_MAX;
}

/* table_insert_at stores |v| (distance already set) at |pos|, the place
 * table_find chose, moving the run of entries from |pos| up to the next
 * empty slot one slot right (each one step further from home). There is
 * always an empty slot (num_slots > max_entries). The moves go from the
 * end of the run backwards, so an entry is written at its new slot before
 * its old slot is overwritten: a reader probing forward meets it at least
 * once (and shift_seq covers the early-stop test reading a half-moved run).
 * Returns 1, or 0 with nothing changed if an entry would move past
 * MAX_DIST. */
static int table_insert_at(struct edge_l1 *l1, size_t pos, uint64_t v) {
  uint64_t cur = slot_load(l1, pos);
  if (cur == 0) {
    slot_store(l1, pos, v);
    return 1;
  }
  size_t end = pos;
  while (cur != 0) {
    if (slot_dist(cur) >= MAX_DIST) {
      return 0;
    }
    end = slot_next(l1, end);
    cur = slot_load(l1, end);
  }
  shift_begin(l1);
  for (size_t j = end; j != pos;) {
    size_t p = slot_prev(l1, j);
    uint64_t pv = slot_load(l1, p);
    slot_store(l1, j, slot_with_dist(pv, slot_dist(pv) + 1));
    j = p;
  }
  slot_store(l1, pos, v);
  shift_end(l1);
  return 1;
}

/* table_delete empties slot |pos| and closes the hole (Robin Hood
 * backward shift): following entries not at their home move one slot
 * back, until an empty slot or an entry at its home. The deleted entry is
 * overwritten by the first store. A reader that probed the new slot of a
 * moved entry before the move and its old slot after may miss it:
 * shift_seq makes it retry. */
static void table_delete(struct edge_l1 *l1, size_t pos) {
  size_t hole = pos;
  size_t j = slot_next(l1, pos);
  uint64_t v = slot_load(l1, j);
  int moved = 0;
  while (v != 0 && slot_dist(v) > 0) {
    if (!moved) {
      moved = 1;
      shift_begin(l1);
    }
    slot_store(l1, hole, slot_with_dist(v, slot_dist(v) - 1));
    hole = j;
    j = slot_next(l1, j);
    v = slot_load(l1, j);
  }
  slot_store(l1, hole, 0);
  if (moved) {
    shift_end(l1);
  }
}

/* unlink_entry marks |e| unlinked (lookups that still reach it miss) and
 * takes it out of the accounting. Its slot has been deleted or reused. */
static void unlink_entry(struct edge_l1 *l1, struct edge_l1_entry *e,
                         int count_entry) {
  atomic_store_explicit(&e->gen, 0, memory_order_relaxed);
  counter_add(&l1->bytes, -(uint64_t)entry_size_of(e));
  if (count_entry) {
    counter_add(&l1->entries, -(uint64_t)1);
  }
}

/* --- Segments (under the lock) -------------------------------------------- */

static void list_push(struct seg_list *l, struct segment *s) {
  s->next = NULL;
  if (l->tail != NULL) {
    l->tail->next = s;
  } else {
    l->head = s;
  }
  l->tail = s;
  l->num++;
}

static struct segment *list_pop(struct seg_list *l) {
  struct segment *s = l->head;
  if (s != NULL) {
    l->head = s->next;
    if (l->head == NULL) {
      l->tail = NULL;
    }
    l->num--;
    s->next = NULL;
  }
  return s;
}

static void free_push(struct edge_l1 *l1, struct segment *s) {
  L1_POISON(s->data, s->cap);
  list_push(&l1->freelist, s);
  atomic_store_explicit(&l1->segments_free, l1->freelist.num,
                        memory_order_relaxed);
}

/* Huge page size: segments of at least this size are aligned to it and
 * madvised for transparent huge pages. */
#define HUGE_PAGE ((size_t)2 * 1024 * 1024)

/* seg_new allocates a segment within the budget. Large segments sit on a
 * 2 MiB boundary inside an allocation one huge page larger and are
 * madvised for transparent huge pages: a random entry then costs one TLB
 * entry per 2 MiB instead of per 4 KiB (on this VM kind a random read
 * over 512 MB takes ~500 ns with 4 KiB pages, ~190 ns with 2 MiB ones).
 * The unused head and tail of the allocation are never touched, so they
 * cost address space, not memory. Smaller segments ask for just under
 * seg_size so that malloc's header and page rounding do not add a page.
 * Returns NULL on allocation failure. */
static struct segment *seg_new(struct edge_l1 *l1) {
  size_t len;
  void *raw;
  struct segment *s;
  if (l1->seg_size >= HUGE_PAGE) {
    len = l1->seg_size;
    raw = vigil_malloc(len + HUGE_PAGE);
    if (raw == NULL) {
      return NULL;
    }
    s = (struct segment *)(((uintptr_t)raw + HUGE_PAGE - 1) &
                           ~(uintptr_t)(HUGE_PAGE - 1));
    (void)madvise(s, len, MADV_HUGEPAGE);
  } else {
    len = l1->seg_size - 64;
    raw = vigil_malloc(len);
    if (raw == NULL) {
      return NULL;
    }
    s = raw;
  }
  if ((uint64_t)(uintptr_t)s + len > ADDR_LIMIT) {
    /* Above the 47-bit range the slot encoding covers (a 5-level paging
     * kernel asked for high addresses): unusable. */
    vigil_free(raw);
    return NULL;
  }
  memset(s, 0, sizeof(*s));
  s->raw = raw;
  s->cap = (uint32_t)(len - sizeof(*s));
  l1->num_segments++;
  counter_add(&l1->memory_bytes, l1->seg_size);
  return s;
}

/* seg_unreferenced returns 1 if no entry of the (evicted, grace period
 * passed) segment |s| is referenced. References can no longer be taken on
 * its entries, so an entry seen at zero stays at zero: scan_off remembers
 * how far that is known. The acquire load pairs with edge_l1_put_ref's
 * release, so the holder's last reads happen before the reuse. */
static int seg_unreferenced(struct segment *s) {
  while (s->scan_off < s->used) {
    struct edge_l1_entry *e = (struct edge_l1_entry *)(s->data + s->scan_off);
    if (atomic_load_explicit(&e->refs, memory_order_acquire) != 0) {
      return 0;
    }
    s->scan_off += (uint32_t)entry_size_of(e);
  }
  return 1;
}

/* reclaim moves pending segments whose grace period has passed and whose
 * entries are unreferenced to the free pool. */
static void reclaim(struct edge_l1 *l1) {
  struct segment **pp = &l1->pending.head;
  struct segment *prev = NULL;
  struct segment *s;
  while ((s = *pp) != NULL) {
    if (!edge_qsbr_passed(l1->qsbr, s->retire_epoch)) {
      break; /* later ones were retired later still */
    }
    if (!seg_unreferenced(s)) {
      prev = s;
      pp = &s->next;
      continue;
    }
    *pp = s->next;
    if (l1->pending.tail == s) {
      l1->pending.tail = prev;
    }
    l1->pending.num--;
    free_push(l1, s);
  }
  atomic_store_explicit(&l1->num_pending, l1->pending.num,
                        memory_order_relaxed);
}

#define EVICT_COPY   1 /* give referenced entries a second chance */
#define EVICT_ACTIVE 2 /* with an empty FIFO, evict the active segment */

/* copy_forward copies |e| to the end of the active segment if it fits and
 * returns the copy (not yet linked), or NULL. */
static struct edge_l1_entry *copy_forward(struct edge_l1 *l1,
                                          const struct edge_l1_entry *e,
                                          size_t size) {
  struct segment *a = l1->active;
  if (a == NULL || a->cap - a->used < size) {
    return NULL;
  }
  struct edge_l1_entry *c = (struct edge_l1_entry *)(a->data + a->used);
  a->used += (uint32_t)size;
  c->expires_at = e->expires_at;
  atomic_init(&c->refs, 0);
  atomic_init(&c->gen, atomic_load_explicit(&e->gen, memory_order_relaxed));
  c->issuer_idx = e->issuer_idx;
  c->validity = e->validity;
  c->block_len = e->block_len;
  c->serial_len = e->serial_len;
  atomic_init(&c->referenced, 0);
  memcpy(c->data, e->data, (size_t)e->serial_len + e->block_len);
  return c;
}

/* evict_one evicts the oldest full segment (or, with EVICT_ACTIVE and no
 * full segment, the active one): every entry still linked is unlinked, or
 * with EVICT_COPY, if it was hit since it was written and of the current
 * generation, copied into the active segment (at most half the segment's
 * bytes, and only into space the active segment already has) and relinked
 * in place. The segment is then retired. Returns 1, or 0 if there was
 * nothing to evict. */
static int evict_one(struct edge_l1 *l1, int flags) {
  struct segment *s = list_pop(&l1->fifo);
  if (s == NULL) {
    if (!(flags & EVICT_ACTIVE) || l1->active == NULL) {
      return 0;
    }
    s = l1->active;
    l1->active = NULL;
    flags &= ~EVICT_COPY;
  }
  uint32_t cur = atomic_load_explicit(&l1->gen, memory_order_relaxed);
  size_t copy_limit = (flags & EVICT_COPY) ? s->used / 2 : 0;
  size_t copied = 0;
  for (uint32_t off = 0; off < s->used;) {
    struct edge_l1_entry *e = (struct edge_l1_entry *)(s->data + off);
    size_t size = entry_size_of(e);
    off += (uint32_t)size;
    uint32_t g = atomic_load_explicit(&e->gen, memory_order_relaxed);
    if (g == 0) {
      continue; /* replaced or removed earlier */
    }
    size_t pos = table_find_entry(l1, e);
    if (pos == SIZE_MAX) {
      /* A linked entry missing from the table means the table is corrupt:
       * retiring the segment could let a reader reach reused memory and
       * serve another key's answer. Never continue. */
      abort();
    }
    struct edge_l1_entry *c = NULL;
    if (g == cur && copied + size <= copy_limit &&
        atomic_load_explicit(&e->referenced, memory_order_relaxed)) {
      c = copy_forward(l1, e, size);
    }
    if (c != NULL) {
      uint64_t v = slot_load(l1, pos);
      slot_store(l1, pos, slot_make(v >> SLOT_TAG_SHIFT, slot_dist(v), c));
      atomic_store_explicit(&e->gen, 0, memory_order_relaxed);
      copied += size;
      counter_add(&l1->second_chances, 1);
    } else {
      table_delete(l1, pos);
      unlink_entry(l1, e, 1);
      counter_add(&l1->evictions, 1);
    }
  }
  s->scan_off = 0;
  s->retire_epoch = edge_qsbr_advance(l1->qsbr);
  list_push(&l1->pending, s);
  atomic_store_explicit(&l1->num_pending, l1->pending.num,
                        memory_order_relaxed);
  return 1;
}

/* take_segment returns an empty segment: from the free pool, newly
 * allocated while under budget, or reclaimed (after evicting the oldest
 * segment if need be). |thread_idx| (the caller, inside an L1 call and
 * holding no unreferenced pointer it will use again) announces a
 * quiescent state first, so a single thread can reclaim what it evicted.
 * Returns NULL with |*out_err| set. */
static struct segment *take_segment(struct edge_l1 *l1, unsigned thread_idx,
                                    enum edge_l1_err *out_err) {
  struct segment *s = list_pop(&l1->freelist);
  if (s == NULL && l1->num_segments < l1->max_segments) {
    s = seg_new(l1);
    if (s == NULL) {
      *out_err = EDGE_L1_ERR_NOMEM;
      return NULL;
    }
    return s;
  }
  if (s == NULL) {
    edge_qsbr_quiescent(l1->qsbr, thread_idx);
    reclaim(l1);
    s = list_pop(&l1->freelist);
  }
  /* Evict the oldest segment and reclaim it at once if this thread is the
   * only one online. If its grace period has passed but it is still
   * pending, an entry in it is referenced (a send in flight): try the
   * next one, a few times. If the grace period has not passed, other
   * threads have yet to announce: evicting more would not help now. */
  for (int tries = 0; s == NULL && tries < 8 && evict_one(l1, 0); tries++) {
    uint64_t epoch = l1->pending.tail->retire_epoch;
    edge_qsbr_quiescent(l1->qsbr, thread_idx);
    reclaim(l1);
    s = list_pop(&l1->freelist);
    if (s == NULL && !edge_qsbr_passed(l1->qsbr, epoch)) {
      break;
    }
  }
  if (s == NULL) {
    *out_err = EDGE_L1_ERR_NOSPACE;
    return NULL;
  }
  atomic_store_explicit(&l1->segments_free, l1->freelist.num,
                        memory_order_relaxed);
  L1_UNPOISON(s->data, s->cap);
  s->used = 0;
  s->scan_off = 0;
  return s;
}

/* reserve returns |size| bytes for a new entry in the active segment,
 * opening a new one if needed; once the budget is fully allocated it keeps
 * |reserve| segments free or pending by evicting ahead of need, so that
 * a later fill rarely waits for a grace period. Returns NULL with
 * |*out_err| set. */
static struct edge_l1_entry *reserve(struct edge_l1 *l1, unsigned thread_idx,
                                     size_t size, enum edge_l1_err *out_err) {
  struct segment *a = l1->active;
  if (a == NULL || a->cap - a->used < size) {
    if (a != NULL) {
      list_push(&l1->fifo, a);
      l1->active = NULL;
    }
    a = take_segment(l1, thread_idx, out_err);
    if (a == NULL) {
      return NULL;
    }
    l1->active = a;
    struct edge_l1_entry *e = (struct edge_l1_entry *)(a->data + a->used);
    a->used += (uint32_t)size;
    while (l1->num_segments == l1->max_segments &&
           l1->freelist.num + l1->pending.num < l1->reserve &&
           evict_one(l1, EVICT_COPY)) {
    }
    return e;
  }
  struct edge_l1_entry *e = (struct edge_l1_entry *)(a->data + a->used);
  a->used += (uint32_t)size;
  return e;
}

/* --- Lifetime ------------------------------------------------------------- */

static size_t default_segment_size(size_t budget) {
  size_t s = EDGE_L1_MIN_SEGMENT;
  while (s < HUGE_PAGE && s * 2 <= budget / 256) {
    s *= 2;
  }
  return s;
}

static int read_random(uint8_t *out, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t r = getrandom(out + got, len - got, 0);
    if (r < 0) {
      if (errno == EINTR) {
        continue;
      }
      return 0;
    }
    got += (size_t)r;
  }
  return 1;
}

static void table_hugepages(void *p, size_t len) {
  /* THP is "madvise" on our hosts: a 100 MB table in 2 MiB pages costs a
   * handful of TLB entries instead of tens of thousands. Best effort. */
  const uintptr_t huge = 2 * 1024 * 1024;
  uintptr_t b = ((uintptr_t)p + huge - 1) & ~(huge - 1);
  uintptr_t e = ((uintptr_t)p + len) & ~(huge - 1);
  if (e > b) {
    (void)madvise((void *)b, e - b, MADV_HUGEPAGE);
  }
}

struct edge_l1 *edge_l1_new(const struct edge_l1_config *cfg) {
  struct edge_l1 *l1 = NULL;
  void *raw = NULL;
  if (cfg == NULL || cfg->max_entries == 0 ||
      cfg->max_entries > EDGE_L1_MAX_ENTRIES || cfg->num_threads == 0 ||
      cfg->num_threads > EDGE_QSBR_MAX_THREADS) {
    return NULL;
  }
  size_t seg_size = cfg->segment_size;
  if (seg_size == 0) {
    seg_size = default_segment_size(cfg->memory_budget);
  } else if (seg_size < EDGE_L1_MIN_SEGMENT || seg_size > EDGE_L1_MAX_SEGMENT ||
             (seg_size & (seg_size - 1)) != 0) {
    return NULL;
  }
  size_t max_segments = cfg->memory_budget / seg_size;
  if (max_segments < 4) {
    return NULL;
  }

  raw = vigil_malloc(sizeof(struct edge_l1) + 63);
  if (raw == NULL) {
    return NULL;
  }
  l1 = (struct edge_l1 *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
  memset(l1, 0, sizeof(*l1));
  l1->raw = raw;
  int lock_ready = 0;

  l1->num_threads = cfg->num_threads;
  l1->threads_raw =
      vigil_calloc(1, (size_t)cfg->num_threads * sizeof(struct l1_thread) + 63);
  if (l1->threads_raw == NULL) {
    goto err;
  }
  l1->threads =
      (struct l1_thread *)(((uintptr_t)l1->threads_raw + 63) & ~(uintptr_t)63);
  l1->qsbr = edge_qsbr_new(cfg->num_threads);
  if (l1->qsbr == NULL) {
    goto err;
  }
  l1->max_entries = cfg->max_entries;
  l1->num_slots = cfg->max_entries + cfg->max_entries / 4 + 1;
  l1->slots = vigil_calloc(l1->num_slots, sizeof(*l1->slots));
  if (l1->slots == NULL) {
    goto err;
  }
  table_hugepages((void *)l1->slots, l1->num_slots * sizeof(*l1->slots));
  if (cfg->hash_key != NULL) {
    uint8_t k[16];
    memcpy(k, cfg->hash_key, sizeof(k));
    l1->hash_key[0] = edge_l1_hash_le64(k);
    l1->hash_key[1] = edge_l1_hash_le64(k + 8);
  } else {
    uint8_t k[16];
    if (!read_random(k, sizeof(k))) {
      goto err;
    }
    l1->hash_key[0] = edge_l1_hash_le64(k);
    l1->hash_key[1] = edge_l1_hash_le64(k + 8);
  }
  if (pthread_mutex_init(&l1->lock, NULL) != 0) {
    goto err;
  }
  lock_ready = 1;
  atomic_init(&l1->gen, 1);
  l1->seg_size = seg_size;
  l1->max_segments = max_segments;
  l1->reserve = cfg->num_threads + 1;
  if (l1->reserve > max_segments / 4) {
    l1->reserve = max_segments / 4;
  }
  return l1;

err:
  if (lock_ready) {
    pthread_mutex_destroy(&l1->lock);
  }
  vigil_free((void *)l1->slots);
  edge_qsbr_free(l1->qsbr);
  vigil_free(l1->threads_raw);
  vigil_free(raw);
  return NULL;
}

static void free_list_segments(struct seg_list *l) {
  struct segment *s;
  while ((s = list_pop(l)) != NULL) {
    vigil_free(s->raw);
  }
}

void edge_l1_free(struct edge_l1 *l1) {
  if (l1 == NULL) {
    return;
  }
  if (l1->active != NULL) {
    vigil_free(l1->active->raw);
  }
  free_list_segments(&l1->fifo);
  free_list_segments(&l1->pending);
  free_list_segments(&l1->freelist);
  pthread_mutex_destroy(&l1->lock);
  vigil_free((void *)l1->slots);
  edge_qsbr_free(l1->qsbr);
  vigil_free(l1->threads_raw);
  vigil_free(l1->raw);
}

/* --- Threads -------------------------------------------------------------- */

int edge_l1_thread_register(struct edge_l1 *l1, unsigned thread_idx) {
  return edge_qsbr_register(l1->qsbr, thread_idx);
}

void edge_l1_thread_unregister(struct edge_l1 *l1, unsigned thread_idx) {
  edge_qsbr_unregister(l1->qsbr, thread_idx);
}

void edge_l1_quiescent(struct edge_l1 *l1, unsigned thread_idx) {
  edge_qsbr_quiescent(l1->qsbr, thread_idx);
  if (L1_UNLIKELY(
          atomic_load_explicit(&l1->num_pending, memory_order_relaxed) != 0) &&
      pthread_mutex_trylock(&l1->lock) == 0) {
    reclaim(l1);
    pthread_mutex_unlock(&l1->lock);
  }
}

void edge_l1_thread_offline(struct edge_l1 *l1, unsigned thread_idx) {
  edge_qsbr_offline(l1->qsbr, thread_idx);
}

void edge_l1_thread_online(struct edge_l1 *l1, unsigned thread_idx) {
  edge_qsbr_online(l1->qsbr, thread_idx);
}

/* --- Lookups -------------------------------------------------------------- */

/* lookup_hashed is edge_l1_get after the hash (|h|) is known. */
static inline const struct edge_l1_entry *lookup_hashed(
    struct edge_l1 *l1, struct l1_thread *t, uint64_t h, uint32_t issuer_idx,
    const uint8_t *serial, size_t serial_len, int64_t now) {
  size_t n = l1->num_slots;
  size_t home = home_of(l1, h);
  uint64_t tag = h >> SLOT_TAG_SHIFT;
  uint32_t gen = atomic_load_explicit(&l1->gen, memory_order_relaxed);
  for (int attempt = 0; attempt < LOOKUP_TRIES; attempt++) {
    uint64_t seq = atomic_load_explicit(&l1->shift_seq, memory_order_acquire);
    size_t i = home;
    for (uint64_t d = 0; d <= MAX_DIST; d++) {
      uint64_t v = atomic_load_explicit(&l1->slots[i], memory_order_acquire);
      if (v == 0 || slot_dist(v) < d) {
        break; /* Robin Hood order: the key is not further on */
      }
      if ((v >> SLOT_TAG_SHIFT) == tag) {
        struct edge_l1_entry *e = slot_entry(v);
        if (L1_LIKELY(key_eq(e, issuer_idx, serial, serial_len))) {
          /* The key is in the table once: this is the answer. */
          if (atomic_load_explicit(&e->gen, memory_order_relaxed) != gen) {
            counter_add(&t->misses, 1);
            return NULL;
          }
          if (now >= e->expires_at) {
            counter_add(&t->expired, 1);
            counter_add(&t->misses, 1);
            return NULL;
          }
          /* Taken inside the read-side section, so the entry cannot be
           * reclaimed before the count is visible (QSBR). */
          atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
          if (!atomic_load_explicit(&e->referenced, memory_order_relaxed)) {
            atomic_store_explicit(&e->referenced, 1, memory_order_relaxed);
          }
          counter_add(&t->hits, 1);
          return e;
        }
      }
      if (++i == n) {
        i = 0;
      }
    }
    /* Seqlock reader: a miss counts only if no shift ran meanwhile. */
    atomic_thread_fence(memory_order_acquire);
    if (!(seq & 1) &&
        atomic_load_explicit(&l1->shift_seq, memory_order_relaxed) == seq) {
      break;
    }
  }
  counter_add(&t->misses, 1);
  return NULL;
}

const struct edge_l1_entry *edge_l1_get(struct edge_l1 *l1, unsigned thread_idx,
                                        uint32_t issuer_idx,
                                        const uint8_t *serial,
                                        size_t serial_len, int64_t now) {
  assert(edge_qsbr_is_online(l1->qsbr, thread_idx));
  struct l1_thread *t = &l1->threads[thread_idx];
  if (L1_UNLIKELY(!serial_len_ok(serial_len))) {
    counter_add(&t->misses, 1);
    return NULL;
  }
  uint64_t h = key_hash(l1, issuer_idx, serial, serial_len);
  return lookup_hashed(l1, t, h, issuer_idx, serial, serial_len, now);
}

/* prefetch_entry starts fetching the entry of the first slot near home
 * whose tag matches hash |h| (both lines of its key), once the slots have
 * arrived or are on their way. A hint only; the lookup proper re-reads
 * everything in order. */
static inline void prefetch_entry(const struct edge_l1 *l1, uint64_t h) {
  size_t j = home_of(l1, h);
  for (uint64_t d = 0; d < 4; d++) {
    uint64_t v = atomic_load_explicit(&l1->slots[j], memory_order_relaxed);
    if (v == 0 || slot_dist(v) < d) {
      return;
    }
    if ((v >> SLOT_TAG_SHIFT) == (h >> SLOT_TAG_SHIFT)) {
      const uint8_t *e = (const uint8_t *)slot_entry(v);
      __builtin_prefetch(e);
      __builtin_prefetch(e + ENTRY_HDR + EDGE_L1_MAX_SERIAL - 1);
      return;
    }
    j = slot_next(l1, j);
  }
}

/* Keys edge_l1_get_batch works on at once: enough to cover DRAM latency
 * with the ~10-16 misses a core can have outstanding, few enough that the
 * prefetched lines are still cached when used. */
#define L1_BATCH 16

void edge_l1_get_batch(struct edge_l1 *l1, const struct edge_l1_entry **out,
                       unsigned thread_idx, const struct edge_l1_key *keys,
                       size_t num, int64_t now) {
  assert(edge_qsbr_is_online(l1->qsbr, thread_idx));
  struct l1_thread *t = &l1->threads[thread_idx];
  uint64_t h[L1_BATCH];
  for (size_t base = 0; base < num; base += L1_BATCH) {
    size_t m = num - base < L1_BATCH ? num - base : L1_BATCH;
    const struct edge_l1_key *k = keys + base;
    /* 1: hash every key and start fetching its home slot. */
    for (size_t i = 0; i < m; i++) {
      if (serial_len_ok(k[i].serial_len)) {
        h[i] = key_hash(l1, k[i].issuer_idx, k[i].serial, k[i].serial_len);
        __builtin_prefetch((const void *)&l1->slots[home_of(l1, h[i])]);
      }
    }
    /* 2: start fetching the entries the slots point at. */
    for (size_t i = 0; i < m; i++) {
      if (serial_len_ok(k[i].serial_len)) {
        prefetch_entry(l1, h[i]);
      }
    }
    /* 3: look up, in order. */
    for (size_t i = 0; i < m; i++) {
      if (serial_len_ok(k[i].serial_len)) {
        out[base + i] = lookup_hashed(l1, t, h[i], k[i].issuer_idx, k[i].serial,
                                      k[i].serial_len, now);
      } else {
        counter_add(&t->misses, 1);
        out[base + i] = NULL;
      }
    }
  }
}

void edge_l1_put_ref(struct edge_l1 *l1, const struct edge_l1_entry *e) {
  (void)l1;
  /* refs is the entry's one field callers may change, hence the cast; the
   * memory itself is not const. Release: reads of the block happen before
   * the reclaimer's acquire load sees the count drop. */
  struct edge_l1_entry *m = (struct edge_l1_entry *)(uintptr_t)e;
  uint32_t prev = atomic_fetch_sub_explicit(&m->refs, 1, memory_order_release);
  assert(prev != 0);
  (void)prev;
}

/* --- Writers -------------------------------------------------------------- */

uint64_t edge_l1_ticket(struct edge_l1 *l1) {
  return atomic_load_explicit(&l1->inval, memory_order_acquire);
}

int edge_l1_insert(struct edge_l1 *l1, enum edge_l1_err *out_err,
                   unsigned thread_idx, uint64_t ticket, uint32_t issuer_idx,
                   const uint8_t *serial, size_t serial_len,
                   const uint8_t *block, size_t block_len, int64_t this_update,
                   int64_t expires_at) {
  enum edge_l1_err err = EDGE_L1_ERR_INVALID;
  int locked = 0;
  if (!edge_qsbr_is_online(l1->qsbr, thread_idx) ||
      !serial_len_ok(serial_len) || block_len > EDGE_L1_MAX_BLOCK ||
      (block == NULL && block_len != 0) || this_update > expires_at ||
      (uint64_t)expires_at - (uint64_t)this_update > UINT32_MAX) {
    goto err;
  }
  size_t size = edge_l1_entry_size(serial_len, block_len);
  uint64_t h = key_hash(l1, issuer_idx, serial, serial_len);

  pthread_mutex_lock(&l1->lock);
  locked = 1;
  if (atomic_load_explicit(&l1->inval, memory_order_relaxed) != ticket) {
    err = EDGE_L1_ERR_STALE;
    goto err;
  }
  size_t pos;
  uint64_t dist;
  if (!table_find(l1, &pos, &dist, h, issuer_idx, serial, serial_len)) {
    while (counter_get(&l1->entries) >= l1->max_entries) {
      if (!evict_one(l1, EVICT_COPY | EVICT_ACTIVE)) {
        err = EDGE_L1_ERR_NOSPACE;
        goto err;
      }
    }
  }
  struct edge_l1_entry *e = reserve(l1, thread_idx, size, &err);
  if (e == NULL) {
    goto err;
  }
  e->expires_at = expires_at;
  atomic_init(&e->refs, 0);
  atomic_init(&e->gen, atomic_load_explicit(&l1->gen, memory_order_relaxed));
  e->issuer_idx = issuer_idx;
  e->validity = (uint32_t)((uint64_t)expires_at - (uint64_t)this_update);
  e->block_len = (uint16_t)block_len;
  e->serial_len = (uint8_t)serial_len;
  atomic_init(&e->referenced, 0);
  memcpy(e->data, serial, serial_len);
  if (block_len != 0) {
    memcpy(e->data + serial_len, block, block_len);
  }

  /* Evictions on the way may have moved or dropped the key: look again. */
  if (table_find(l1, &pos, &dist, h, issuer_idx, serial, serial_len)) {
    uint64_t v = slot_load(l1, pos);
    struct edge_l1_entry *old = slot_entry(v);
    slot_store(l1, pos, slot_make(v >> SLOT_TAG_SHIFT, slot_dist(v), e));
    unlink_entry(l1, old, 0);
    counter_add(&l1->replacements, 1);
  } else if (pos != SIZE_MAX &&
             table_insert_at(l1, pos,
                             slot_make(h >> SLOT_TAG_SHIFT, dist, e))) {
    counter_add(&l1->entries, 1);
  } else {
    /* The key's probe window (MAX_DIST) is full: leave the copy dead in
     * its segment. */
    atomic_store_explicit(&e->gen, 0, memory_order_relaxed);
    err = EDGE_L1_ERR_NOSPACE;
    goto err;
  }
  counter_add(&l1->bytes, size);
  counter_add(&l1->inserts, 1);
  pthread_mutex_unlock(&l1->lock);
  if (out_err != NULL) {
    *out_err = EDGE_L1_ERR_NONE;
  }
  return 1;

err:
  atomic_fetch_add_explicit(&l1->insert_failures, 1, memory_order_relaxed);
  if (locked) {
    pthread_mutex_unlock(&l1->lock);
  }
  if (out_err != NULL) {
    *out_err = err;
  }
  return 0;
}

int edge_l1_remove(struct edge_l1 *l1, uint32_t issuer_idx,
                   const uint8_t *serial, size_t serial_len) {
  int removed = 0;
  uint64_t h = 0;
  if (serial_len_ok(serial_len)) {
    h = key_hash(l1, issuer_idx, serial, serial_len);
  }
  pthread_mutex_lock(&l1->lock);
  /* Refuse fills that read their data before this point, found or not. */
  atomic_store_explicit(
      &l1->inval, atomic_load_explicit(&l1->inval, memory_order_relaxed) + 1,
      memory_order_release);
  size_t pos;
  uint64_t dist;
  if (serial_len_ok(serial_len) &&
      table_find(l1, &pos, &dist, h, issuer_idx, serial, serial_len)) {
    struct edge_l1_entry *e = slot_entry(slot_load(l1, pos));
    table_delete(l1, pos);
    unlink_entry(l1, e, 1);
    counter_add(&l1->removals, 1);
    removed = 1;
  }
  pthread_mutex_unlock(&l1->lock);
  return removed;
}

void edge_l1_clear(struct edge_l1 *l1) {
  pthread_mutex_lock(&l1->lock);
  atomic_store_explicit(
      &l1->inval, atomic_load_explicit(&l1->inval, memory_order_relaxed) + 1,
      memory_order_release);
  uint32_t g = atomic_load_explicit(&l1->gen, memory_order_relaxed) + 1;
  if (g == 0) {
    g = 1; /* 0 marks unlinked entries */
  }
  atomic_store_explicit(&l1->gen, g, memory_order_release);
  counter_add(&l1->clears, 1);
  pthread_mutex_unlock(&l1->lock);
}

/* --- Statistics ----------------------------------------------------------- */

void edge_l1_stats(struct edge_l1 *l1, struct edge_l1_stats *out) {
  memset(out, 0, sizeof(*out));
  for (unsigned i = 0; i < l1->num_threads; i++) {
    out->hits += counter_get(&l1->threads[i].hits);
    out->misses += counter_get(&l1->threads[i].misses);
    out->expired += counter_get(&l1->threads[i].expired);
  }
  out->entries = counter_get(&l1->entries);
  out->bytes = counter_get(&l1->bytes);
  out->memory_bytes = counter_get(&l1->memory_bytes);
  out->segment_size = l1->seg_size;
  out->segments_free = counter_get(&l1->segments_free);
  out->segments_pending =
      atomic_load_explicit(&l1->num_pending, memory_order_relaxed);
  out->table_slots = l1->num_slots;
  out->generation = atomic_load_explicit(&l1->gen, memory_order_relaxed);
  out->inserts = counter_get(&l1->inserts);
  out->replacements = counter_get(&l1->replacements);
  out->insert_failures = counter_get(&l1->insert_failures);
  out->evictions = counter_get(&l1->evictions);
  out->second_chances = counter_get(&l1->second_chances);
  out->removals = counter_get(&l1->removals);
  out->clears = counter_get(&l1->clears);
}

size_t edge_l1_home_slot(const struct edge_l1 *l1, uint32_t issuer_idx,
                         const uint8_t *serial, size_t serial_len) {
  if (!serial_len_ok(serial_len)) {
    return 0;
  }
  return home_of(l1, key_hash(l1, issuer_idx, serial, serial_len));
}
