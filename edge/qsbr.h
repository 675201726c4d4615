/* qsbr.h: quiescent-state-based reclamation for the edge's worker threads.
 *
 * Readers of a lock-free structure (the L1 cache) take no lock and write no
 * shared line to say "I am reading". Instead each registered thread
 * announces, between batches of work, that it holds no pointer into the
 * structure any more: a quiescent state. Memory unlinked by a writer is
 * retired at an epoch (edge_qsbr_advance) and may be reused once every
 * registered thread has announced a quiescent state at that epoch or later,
 * or is offline (edge_qsbr_passed). Announcing is one load of a shared,
 * rarely written counter and one store to the thread's own cache line: cheap
 * enough for every event-loop iteration.
 *
 * A thread that is about to block (io_uring_wait_cqe with nothing in
 * flight, a sleep) goes offline first, so that it does not hold up
 * reclamation while it sleeps, and comes back online before it touches the
 * structure again. An unregistered thread index counts as offline.
 *
 * Only reclamation is handled here; what is retired and how it is freed is
 * up to the user (the L1 cache retires whole segments). All functions are
 * thread-safe; thread_idx must be the caller's own index (each index is
 * used by one thread at a time). */
#ifndef EDGE_QSBR_H
#define EDGE_QSBR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef EDGE_QSBR_MUST_CHECK
#define EDGE_QSBR_MUST_CHECK __attribute__((warn_unused_result))
#endif

/* Most threads one domain tracks. */
#define EDGE_QSBR_MAX_THREADS 1024

struct edge_qsbr;

/* --- Lifetime ------------------------------------------------------------ */

/* edge_qsbr_new makes a reclamation domain for thread indexes
 * 0..|num_threads|-1 (1..EDGE_QSBR_MAX_THREADS), all unregistered. Returns a
 * new domain owned by the caller, or NULL on allocation failure or a bad
 * |num_threads|. */
struct edge_qsbr *edge_qsbr_new(unsigned num_threads) EDGE_QSBR_MUST_CHECK;

/* edge_qsbr_free releases |q|. edge_qsbr_free(NULL) does nothing. */
void edge_qsbr_free(struct edge_qsbr *q);

/* edge_qsbr_num_threads returns the number of thread indexes of |q|. */
unsigned edge_qsbr_num_threads(const struct edge_qsbr *q);

/* --- Per-thread state ----------------------------------------------------- */

/* edge_qsbr_register claims |thread_idx| for the calling thread and puts it
 * online. Returns 1, or 0 if the index is out of range or already
 * registered (nothing changes then). */
int edge_qsbr_register(struct edge_qsbr *q,
                       unsigned thread_idx) EDGE_QSBR_MUST_CHECK;

/* edge_qsbr_unregister puts |thread_idx| offline and releases the index so
 * another thread may register it. */
void edge_qsbr_unregister(struct edge_qsbr *q, unsigned thread_idx);

/* edge_qsbr_is_online returns 1 if |thread_idx| is registered and online. */
int edge_qsbr_is_online(const struct edge_qsbr *q, unsigned thread_idx);

/* edge_qsbr_quiescent announces that the calling thread (online, index
 * |thread_idx|) holds no pointer obtained before this call, other than ones
 * it protects otherwise (a reference count). */
void edge_qsbr_quiescent(struct edge_qsbr *q, unsigned thread_idx);

/* edge_qsbr_offline announces an extended quiescent state: until
 * edge_qsbr_online the thread does not hold up reclamation and must not
 * read the protected structure. */
void edge_qsbr_offline(struct edge_qsbr *q, unsigned thread_idx);

/* edge_qsbr_online ends an offline period; on return the thread may read
 * the protected structure again. Costs a full memory fence. */
void edge_qsbr_online(struct edge_qsbr *q, unsigned thread_idx);

/* --- Retiring ------------------------------------------------------------- */

/* edge_qsbr_advance is called by a writer after it has unlinked memory
 * (made it unreachable for new readers). Returns the epoch the memory is
 * retired at: pass it to edge_qsbr_passed. */
uint64_t edge_qsbr_advance(struct edge_qsbr *q);

/* edge_qsbr_passed returns 1 if every registered thread has announced a
 * quiescent state at |epoch| or later (or is offline), so memory retired at
 * |epoch| can no longer be reached by any reader; 0 otherwise. */
int edge_qsbr_passed(const struct edge_qsbr *q, uint64_t epoch);

#ifdef __cplusplus
}
#endif

#endif /* EDGE_QSBR_H */
