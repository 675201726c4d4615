/* l1.h: the edge's in-process response cache (L1).
 *
 * L1 maps (issuer index, certificate serial) to a prebuilt, immutable
 * response block (HTTP header tail + DER OCSPResponse) so that a hit costs
 * one hash, one or two cache lines of table and the entry itself: no lock,
 * no allocation, no copy. It is shared by all worker threads (one io_uring
 * thread per core) and holds millions of entries within a memory budget.
 *
 * Readers (edge_l1_get) never lock and never block. A hit returns the entry
 * with its reference count raised; the caller may keep it for as long as a
 * send is in flight (many event-loop iterations) and then drops it with
 * edge_l1_put_ref. Entries that writers unlink stay readable until every
 * registered thread has passed a quiescent state (edge_l1_quiescent,
 * between event-loop batches; QSBR, qsbr.h) AND their reference count is
 * zero; only then is their memory reused.
 *
 * Writers (insert, remove, clear; any worker thread, at cache-fill or
 * invalidation time, not on the hit path) serialise on one mutex that
 * readers never touch. Writers are rare next to hits (every write follows a
 * miss, a Redis round trip or an event), so one writer lock costs nothing
 * measurable and keeps the table simple: Robin Hood linear probing with
 * backward-shift deletion, no tombstones, so probe chains never rot under
 * churn.
 *
 * Safety promises (what makes "never good after revoke" hold):
 *  - After edge_l1_remove returns, no lookup that starts afterwards returns
 *    the removed entry; after edge_l1_clear returns, none returns any entry
 *    inserted before it.
 *  - A fill races with invalidation: Redis may have been read before a
 *    revocation was written and the insert may land after the remove. So a
 *    filler takes a ticket (edge_l1_ticket) BEFORE it reads Redis or signs,
 *    and edge_l1_insert refuses (EDGE_L1_ERR_STALE) if any remove or clear
 *    ran since.
 *  - A lookup at or after an entry's expires_at (nextUpdate) misses: a
 *    response is never served past its nextUpdate.
 *  - A hit's key is compared in full (issuer index and serial bytes); the
 *    hash only picks where to look.
 * A lookup may miss spuriously while a writer moves the entry between
 * slots (detected by a sequence counter and retried a few times): a miss
 * only costs a trip to L2, never a wrong answer.
 *
 * Memory: entries are packed into fixed-size segments (bump allocation, no
 * per-entry malloc header). Eviction works a whole segment at a time in
 * FIFO order with a second chance: an entry hit since the segment was
 * written (its referenced bit, set on lookup) is copied forward instead of
 * dropped (CLOCK). A replaced or removed entry's bytes are reclaimed when
 * its segment is evicted. Segment memory (segments held x segment size,
 * including evicted segments waiting for quiescence) never exceeds the
 * budget. Per entry, the cache adds a 28-byte header, the serial, rounding
 * to 8 bytes and 8 bytes of table per 0.8 slot: under 64 bytes for
 * 20-byte serials.
 *
 * Threads: every thread that looks up or inserts registers a distinct
 * index below cfg.num_threads (edge_l1_thread_register); remove, clear,
 * ticket and stats may be called from any thread. Between calls a thread
 * must hold no L1 pointer except entries it holds a reference on; that is
 * why any call may itself count as a quiescent state. Reclamation waits
 * for every online thread's next edge_l1_quiescent: a thread about to
 * block in the kernel with nothing to do should go offline
 * (edge_l1_thread_offline) so it does not hold up reuse of evicted memory
 * (inserts then fail with EDGE_L1_ERR_NOSPACE once the few segments kept
 * in reserve are used up), and come back online before its next call. */
#ifndef EDGE_L1_H
#define EDGE_L1_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef EDGE_L1_MUST_CHECK
#define EDGE_L1_MUST_CHECK __attribute__((warn_unused_result))
#endif

/* Longest serial: DER INTEGER contents of a 20-octet serial plus a leading
 * zero octet. */
#define EDGE_L1_MAX_SERIAL 21
/* Largest response block one entry holds. */
#define EDGE_L1_MAX_BLOCK 32768
/* Segment size bounds (bytes, powers of two). */
#define EDGE_L1_MIN_SEGMENT (64u * 1024)
#define EDGE_L1_MAX_SEGMENT (4u * 1024 * 1024)
/* The table never holds more entries than this. */
#define EDGE_L1_MAX_ENTRIES (UINT32_C(1) << 31)

struct edge_l1;

/* A cached response. The layout is here only so that the accessors below
 * inline on the hit path; treat every field as private. The serial and the
 * block follow the header in the same allocation. */
struct edge_l1_entry {
  int64_t expires_at;         /* nextUpdate, unix seconds */
  _Atomic uint32_t refs;      /* references held by callers */
  _Atomic uint32_t gen;       /* cache generation it belongs to; 0: unlinked */
  uint32_t issuer_idx;        /* key: issuer index */
  uint32_t validity;          /* expires_at - this_update, seconds */
  uint16_t block_len;         /* bytes of block */
  uint8_t serial_len;         /* key: serial bytes (1..EDGE_L1_MAX_SERIAL) */
  _Atomic uint8_t referenced; /* CLOCK bit: hit since last eviction pass */
  uint8_t data[];             /* serial, then block */
};

/* --- Configuration and lifetime --------------------------------------- */

struct edge_l1_config {
  size_t max_entries;      /* most entries held (1..EDGE_L1_MAX_ENTRIES); the
                              table gets 1.25 slots per entry */
  size_t memory_budget;    /* bytes of entry storage (segments); at least four
                              segments */
  unsigned num_threads;    /* thread indexes 0..num_threads-1 (1..1024) */
  size_t segment_size;     /* 0: chosen from the budget (about budget /
                              256, 64 KiB..2 MiB); else a power of two in
                              [EDGE_L1_MIN_SEGMENT, EDGE_L1_MAX_SEGMENT].
                              Segments of 2 MiB or more are backed by
                              transparent huge pages (madvise) */
  const uint8_t *hash_key; /* 16-byte hash key, or NULL for a random one
                              (getrandom); fixed keys are for tests */
};

/* edge_l1_new makes an empty cache: the table (8 bytes x 1.25 x
 * max_entries, zeroed lazily by the kernel) is allocated now, segments as
 * entries arrive. Returns a cache owned by the caller, or NULL if |cfg| is
 * invalid, memory is short or no random key could be read. */
struct edge_l1 *edge_l1_new(const struct edge_l1_config *cfg)
    EDGE_L1_MUST_CHECK;

/* edge_l1_free releases |l1| and every entry. No thread may use it any
 * more and no reference may be outstanding. edge_l1_free(NULL) does
 * nothing. */
void edge_l1_free(struct edge_l1 *l1);

/* --- Threads ------------------------------------------------------------ */

/* edge_l1_thread_register claims |thread_idx| for the calling thread; the
 * thread is online afterwards. Returns 1, or 0 if the index is out of range
 * or taken. */
int edge_l1_thread_register(struct edge_l1 *l1,
                            unsigned thread_idx) EDGE_L1_MUST_CHECK;

/* edge_l1_thread_unregister releases |thread_idx| (the caller's). The
 * thread must hold no unreferenced L1 pointer; references stay valid. */
void edge_l1_thread_unregister(struct edge_l1 *l1, unsigned thread_idx);

/* edge_l1_quiescent announces that the calling thread holds no L1 pointer
 * other than referenced entries: call it between event-loop batches. It
 * also returns evicted segments whose grace period has passed to the free
 * pool (without waiting for the writer lock if it is busy). */
void edge_l1_quiescent(struct edge_l1 *l1, unsigned thread_idx);

/* edge_l1_thread_offline: the calling thread will not call into L1 until
 * edge_l1_thread_online, and does not hold up reclamation meanwhile. */
void edge_l1_thread_offline(struct edge_l1 *l1, unsigned thread_idx);

/* edge_l1_thread_online ends an offline period. */
void edge_l1_thread_online(struct edge_l1 *l1, unsigned thread_idx);

/* --- Lookups (hot path: no lock, no allocation) ------------------------- */

/* edge_l1_get looks up (|issuer_idx|, |serial_len| bytes of |serial|) at
 * time |now| (unix seconds) for registered, online thread |thread_idx|.
 * Returns the entry with one reference taken for the caller, who must
 * release it with edge_l1_put_ref; or NULL on a miss (absent, removed,
 * older than the last clear, expired: now >= expires_at, or a serial
 * length outside 1..EDGE_L1_MAX_SERIAL). The entry and its block stay valid
 * and unchanged until the reference is dropped, whatever writers do. */
const struct edge_l1_entry *edge_l1_get(struct edge_l1 *l1, unsigned thread_idx,
                                        uint32_t issuer_idx,
                                        const uint8_t *serial,
                                        size_t serial_len, int64_t now);

/* One key of a batch lookup. */
struct edge_l1_key {
  uint32_t issuer_idx;   /* issuer index */
  uint32_t serial_len;   /* bytes at serial */
  const uint8_t *serial; /* borrowed */
};

/* edge_l1_get_batch does edge_l1_get for |num| keys and stores each result
 * in |out|[i] (an entry with a reference the caller owns, or NULL). Same
 * results as |num| calls to edge_l1_get, but the keys' memory accesses
 * overlap (hash all, prefetch their slots, then their entries, then look
 * up), which hides most of the DRAM latency when the cache is much larger
 * than the CPU caches: use it when an event-loop batch holds several
 * requests. */
void edge_l1_get_batch(struct edge_l1 *l1, const struct edge_l1_entry **out,
                       unsigned thread_idx, const struct edge_l1_key *keys,
                       size_t num, int64_t now);

/* edge_l1_put_ref drops a reference taken by edge_l1_get or
 * edge_l1_get_batch. Any thread may call it (registered or not); it never
 * blocks or frees. */
void edge_l1_put_ref(struct edge_l1 *l1, const struct edge_l1_entry *e);

/* edge_l1_entry_block returns the entry's response block (borrowed; valid
 * while the reference is held). */
static inline const uint8_t *edge_l1_entry_block(
    const struct edge_l1_entry *e) {
  return e->data + e->serial_len;
}

/* edge_l1_entry_block_len returns the length of the block in bytes. */
static inline size_t edge_l1_entry_block_len(const struct edge_l1_entry *e) {
  return e->block_len;
}

/* edge_l1_entry_expires_at returns the nextUpdate the entry was inserted
 * with (unix seconds). */
static inline int64_t edge_l1_entry_expires_at(const struct edge_l1_entry *e) {
  return e->expires_at;
}

/* edge_l1_entry_this_update returns the thisUpdate the entry was inserted
 * with (unix seconds). */
static inline int64_t edge_l1_entry_this_update(const struct edge_l1_entry *e) {
  return e->expires_at - (int64_t)e->validity;
}

/* edge_l1_entry_issuer_idx returns the issuer index of the entry's key. */
static inline uint32_t edge_l1_entry_issuer_idx(const struct edge_l1_entry *e) {
  return e->issuer_idx;
}

/* edge_l1_entry_serial returns the serial of the entry's key and its
 * length in |*out_len|. */
static inline const uint8_t *edge_l1_entry_serial(
    size_t *out_len, const struct edge_l1_entry *e) {
  *out_len = e->serial_len;
  return e->data;
}

/* --- Writers (cache fill and invalidation) ------------------------------ */

enum edge_l1_err {
  EDGE_L1_ERR_NONE = 0, /* success */
  EDGE_L1_ERR_INVALID,  /* bad argument: serial or block length, thisUpdate
                           after nextUpdate or more than 2^32 s before it,
                           thread not registered */
  EDGE_L1_ERR_STALE,    /* a remove or clear ran after the ticket was
                           taken: the block may predate it */
  EDGE_L1_ERR_NOMEM,    /* a new segment could not be allocated */
  EDGE_L1_ERR_NOSPACE,  /* budget or entry limit reached and the evicted
                           memory is not reusable yet (another thread has
                           not passed a quiescent state), or the key's
                           probe window is full; retry on a later fill */
};

/* edge_l1_ticket returns the cache's invalidation count. Take it before
 * reading the data that will be inserted (Redis read, live signing) and
 * pass it to edge_l1_insert. */
uint64_t edge_l1_ticket(struct edge_l1 *l1);

/* edge_l1_insert stores a copy of |block| (|block_len| bytes, at most
 * EDGE_L1_MAX_BLOCK) under (|issuer_idx|, |serial|), valid from
 * |this_update| until |expires_at| (unix seconds), replacing any entry with
 * that key in one atomic step (lookups see the old entry or the new one,
 * never neither). Called by registered, online thread |thread_idx|; may
 * evict entries to stay within the budget and the entry limit. Returns 1 on
 * success. On failure returns 0, sets |*out_err| (if not NULL) and leaves
 * the cache as it was (an entry with this key stays in place), except that
 * evictions made on the way may have happened. */
int edge_l1_insert(struct edge_l1 *l1, enum edge_l1_err *out_err,
                   unsigned thread_idx, uint64_t ticket, uint32_t issuer_idx,
                   const uint8_t *serial, size_t serial_len,
                   const uint8_t *block, size_t block_len, int64_t this_update,
                   int64_t expires_at) EDGE_L1_MUST_CHECK;

/* edge_l1_remove unlinks the entry for (|issuer_idx|, |serial|). Whether
 * or not one was cached, fills with an older ticket are refused afterwards.
 * Any thread may call it (writers are serialised by the writer lock and
 * need no read-side protection). Returns 1 if an entry was unlinked, 0 if
 * there was none. Cannot fail. */
int edge_l1_remove(struct edge_l1 *l1, uint32_t issuer_idx,
                   const uint8_t *serial, size_t serial_len);

/* edge_l1_clear makes every cached entry a miss (the event feed lost
 * events). O(1): it starts a new generation; older entries are reclaimed
 * lazily as eviction reaches them. Fills with an older ticket are refused.
 * Any thread may call it. */
void edge_l1_clear(struct edge_l1 *l1);

/* --- Statistics and diagnostics ----------------------------------------- */

struct edge_l1_stats {
  uint64_t entries;          /* entries in the table (after a clear, older
                                ones count until eviction reclaims them) */
  uint64_t bytes;            /* their size: header + serial + block, each
                                rounded up to 8 bytes */
  uint64_t memory_bytes;     /* segment memory held (<= memory_budget) */
  uint64_t segment_size;     /* bytes per segment */
  uint64_t segments_free;    /* reclaimed segments ready for reuse */
  uint64_t segments_pending; /* evicted, waiting for quiescence/references */
  uint64_t table_slots;      /* hash table slots */
  uint64_t generation;       /* current generation (advanced by clear) */
  uint64_t hits;             /* lookups that returned an entry */
  uint64_t misses;           /* lookups that did not (includes expired) */
  uint64_t expired;          /* lookups that found the key past nextUpdate */
  uint64_t inserts;          /* successful inserts (new keys + replacements) */
  uint64_t replacements;     /* inserts that replaced an entry */
  uint64_t insert_failures;  /* inserts that returned 0 */
  uint64_t evictions;        /* entries dropped to make room */
  uint64_t second_chances;   /* entries copied forward on eviction */
  uint64_t removals;         /* entries unlinked by edge_l1_remove */
  uint64_t clears;           /* edge_l1_clear calls */
};

/* edge_l1_stats fills |out| with counters read without locking (each is
 * exact; together they are a near-instant snapshot). */
void edge_l1_stats(struct edge_l1 *l1, struct edge_l1_stats *out);

/* edge_l1_home_slot returns the table slot where the key's probe chain
 * starts (tests use it with a fixed hash key to build collisions). */
size_t edge_l1_home_slot(const struct edge_l1 *l1, uint32_t issuer_idx,
                         const uint8_t *serial, size_t serial_len);

/* edge_l1_entry_size returns the bytes an entry with these lengths takes
 * in a segment (header + serial + block, rounded up to 8). */
size_t edge_l1_entry_size(size_t serial_len, size_t block_len);

#ifdef __cplusplus
}
#endif

#endif /* EDGE_L1_H */
