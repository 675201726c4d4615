/* qsbr.c: quiescent-state-based reclamation (see qsbr.h).
 *
 * Ordering argument, in one place:
 *  - A reader's announcement is a release store of the global epoch it has
 *    just loaded (acquire). Everything the reader read before it happens
 *    before a reclaimer's acquire load that sees the announcement.
 *  - A writer unlinks, then advances the global epoch with a seq_cst RMW
 *    and retires at the new value E. A reader that announces >= E loaded a
 *    global epoch >= E, so it synchronised with the advance and sees the
 *    unlink in every later read: it can never reach the retired memory.
 *  - Coming online is the Dekker case (store own epoch, then read shared
 *    pointers, against unlink, then read the thread's epoch): both sides
 *    put a seq_cst fence between their store and their load. */
#include "qsbr.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/alloc.h"

/* Announced epoch of a thread that is offline or unregistered: never holds
 * up reclamation (every epoch is smaller). */
#define QSBR_OFFLINE UINT64_MAX

/* One cache line per thread, so that announcing never bounces a line
 * between cores. */
struct qsbr_thread {
  alignas(64) _Atomic uint64_t epoch; /* last announced epoch, or OFFLINE */
  _Atomic int registered;             /* 1 while an owner holds the index */
};

struct edge_qsbr {
  alignas(64) _Atomic uint64_t global; /* current epoch, starts at 1 */
  alignas(64) unsigned num_threads;    /* entries in threads */
  void *raw;                           /* allocation holding this struct */
  struct qsbr_thread threads[];        /* num_threads */
};

struct edge_qsbr *edge_qsbr_new(unsigned num_threads) {
  if (num_threads == 0 || num_threads > EDGE_QSBR_MAX_THREADS) {
    return NULL;
  }
  size_t len = sizeof(struct edge_qsbr) +
               (size_t)num_threads * sizeof(struct qsbr_thread) + 63;
  void *raw = vigil_malloc(len);
  if (raw == NULL) {
    return NULL;
  }
  /* vigil_malloc aligns to 16; the cache-line layout needs 64. */
  struct edge_qsbr *q =
      (struct edge_qsbr *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
  q->raw = raw;
  q->num_threads = num_threads;
  atomic_init(&q->global, 1);
  for (unsigned i = 0; i < num_threads; i++) {
    atomic_init(&q->threads[i].epoch, QSBR_OFFLINE);
    atomic_init(&q->threads[i].registered, 0);
  }
  return q;
}

void edge_qsbr_free(struct edge_qsbr *q) {
  if (q == NULL) {
    return;
  }
  vigil_free(q->raw);
}

unsigned edge_qsbr_num_threads(const struct edge_qsbr *q) {
  return q->num_threads;
}

int edge_qsbr_register(struct edge_qsbr *q, unsigned thread_idx) {
  if (thread_idx >= q->num_threads) {
    return 0;
  }
  int expected = 0;
  if (!atomic_compare_exchange_strong(&q->threads[thread_idx].registered,
                                      &expected, 1)) {
    return 0;
  }
  edge_qsbr_online(q, thread_idx);
  return 1;
}

void edge_qsbr_unregister(struct edge_qsbr *q, unsigned thread_idx) {
  if (thread_idx >= q->num_threads) {
    return;
  }
  edge_qsbr_offline(q, thread_idx);
  atomic_store(&q->threads[thread_idx].registered, 0);
}

int edge_qsbr_is_online(const struct edge_qsbr *q, unsigned thread_idx) {
  return thread_idx < q->num_threads &&
         atomic_load_explicit(&q->threads[thread_idx].registered,
                              memory_order_relaxed) &&
         atomic_load_explicit(&q->threads[thread_idx].epoch,
                              memory_order_relaxed) != QSBR_OFFLINE;
}

void edge_qsbr_quiescent(struct edge_qsbr *q, unsigned thread_idx) {
  uint64_t g = atomic_load_explicit(&q->global, memory_order_acquire);
  atomic_store_explicit(&q->threads[thread_idx].epoch, g, memory_order_release);
}

void edge_qsbr_offline(struct edge_qsbr *q, unsigned thread_idx) {
  atomic_store_explicit(&q->threads[thread_idx].epoch, QSBR_OFFLINE,
                        memory_order_release);
}

void edge_qsbr_online(struct edge_qsbr *q, unsigned thread_idx) {
  uint64_t g = atomic_load_explicit(&q->global, memory_order_acquire);
  atomic_store_explicit(&q->threads[thread_idx].epoch, g, memory_order_relaxed);
  /* The announcement must be visible before this thread reads any shared
   * pointer (see the Dekker note at the top). */
  atomic_thread_fence(memory_order_seq_cst);
}

uint64_t edge_qsbr_advance(struct edge_qsbr *q) {
  uint64_t e = atomic_fetch_add(&q->global, 1) + 1;
  atomic_thread_fence(memory_order_seq_cst);
  return e;
}

int edge_qsbr_passed(const struct edge_qsbr *q, uint64_t epoch) {
  atomic_thread_fence(memory_order_seq_cst);
  for (unsigned i = 0; i < q->num_threads; i++) {
    if (atomic_load_explicit(&q->threads[i].epoch, memory_order_acquire) <
        epoch) {
      return 0;
    }
  }
  return 1;
}
