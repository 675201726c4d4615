/* worker.h: one io_uring event loop per core, and the state they share.
 *
 * vigil-edge runs one worker thread per core. Each worker owns an io_uring
 * ring, a listening socket bound with SO_REUSEPORT (the kernel spreads
 * connections across workers), a provided-buffer ring for multishot recv,
 * a slab of connections, a Redis link (l2.h) and its metrics. Workers share
 * only read-mostly state: the configuration, the L1 cache (lock-free
 * reads), the issuer snapshot (swapped atomically) and the invalidation
 * sequence. Nothing on the request path takes a lock.
 *
 * Request path (answer.c): parse HTTP -> route -> decode and parse the OCSP
 * request -> issuer -> L1 -> L2 (Redis, coalesced) -> live signing from the
 * status mirror (bounded) -> answer. Answers are queued per connection in
 * request order (HTTP/1.1 pipelining) and sent with one sendmsg per batch:
 * a small per-request head from the connection's slot plus, for cached
 * answers, the L1 entry's prebuilt block (entity headers + DER) by
 * reference, never copied. */
#ifndef EDGE_WORKER_H
#define EDGE_WORKER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <liburing.h>

#include "config.h"
#include "http.h"
#include "http_response.h"
#include "issuers.h"
#include "l1.h"
#include "l2.h"
#include "metrics.h"
#include "qsbr.h"
#include "vigil/log.h"
#include "vigil/ocsp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Answers one connection may have queued (pipelining depth). */
#define EDGE_PIPELINE 8
/* Per-request head buffer in a slot: error answers are written whole. The
 * longest head is a 304 with the longest Surrogate-Key (63-character
 * issuer id twice, 21-octet serial): 497 bytes (answer.c checks the bound
 * at compile time, test_edge_http_response.c the length). */
#define EDGE_SLOT_HEAD 512
/* Largest CertID we echo (SHA-256 CertID with a 21-octet serial ~ 110). */
#define EDGE_CERT_ID_MAX 160

/* ======================================================================
 * Process-wide shared state
 * ====================================================================== */

struct edge_shared {
  const struct edge_config *cfg; /* current configuration: an immutable
                                  struct swapped atomically on SIGHUP;
                                  read it with edge_cfg() */
  const struct vigil_log *log;
  struct edge_l1 *l1;           /* shared cache */
  struct edge_issuers *issuers; /* current snapshot (atomic pointer) */
  struct edge_qsbr *rcu;        /* protects issuer snapshots: workers
                                   announce quiescent states in it */
  uint64_t num_issuers;         /* atomic: issuers in the snapshot (for
                                   threads that must not dereference it) */
  uint64_t crl_gen;             /* bumped (atomically) by the events
                                   thread on every `crl` event: workers
                                   drop their cached CRLs */
  int mirror;                   /* last seen v1:mirror state (atomic) */
  int events_up;                /* event feed healthy (atomic) */
  int stopping;                 /* set by the signal handler path */
  unsigned num_workers;
  struct edge_worker **workers; /* [num_workers] */
};

/* ======================================================================
 * Connections
 * ====================================================================== */

enum edge_slot_state {
  EDGE_SLOT_FREE = 0,
  EDGE_SLOT_PENDING, /* waiting for Redis or for a live signature */
  EDGE_SLOT_READY,   /* head (+ body) ready to send */
};

/* What a pending slot needs to finish its answer. */
struct edge_pending_ctx {
  uint8_t cert_id[EDGE_CERT_ID_MAX]; /* the request's CertID, echoed */
  uint8_t nonce[VIGIL_OCSP_NONCE_MAX];
  uint8_t serial[VIGIL_OCSP_MAX_SERIAL];
  uint8_t cert_id_len;
  uint8_t nonce_len; /* 0: no nonce echo */
  uint8_t serial_len;
  uint8_t hash; /* enum vigil_ocsp_hash */
  uint8_t name_hash[32];
  uint8_t key_hash[32];
};

/* One queued answer. */
struct edge_slot {
  uint8_t state;     /* enum edge_slot_state */
  uint8_t head_only; /* HEAD request: no body */
  uint8_t keep_alive;
  uint8_t is_crl;
  uint16_t head_len;   /* bytes used in head */
  uint32_t body_len;   /* bytes at body */
  const uint8_t *body; /* borrowed: static data, L1 block or sign buffer */
  const struct edge_l1_entry *entry; /* L1 reference held until sent */
  uint8_t *sign_buf;                 /* worker sign buffer held until sent */
  struct edge_crlblock *crl;         /* cached CRL held until sent */
  uint64_t start_us;                 /* for the latency histogram */
  uint8_t method;                    /* enum edge_http_method of the request */
  uint8_t inm_len;                   /* bytes used in if_none_match */
  uint8_t ims_len;                   /* bytes used in if_modified_since */
  char if_none_match[96];       /* copy of If-None-Match (for pending 304s) */
  char if_modified_since[40];   /* copy of If-Modified-Since */
  struct edge_pending_ctx pend; /* valid while PENDING */
  char head[EDGE_SLOT_HEAD];
};

enum edge_conn_state {
  EDGE_CONN_FREE = 0,
  EDGE_CONN_OPEN,
  EDGE_CONN_CLOSING, /* shut down; waiting for in-flight ops to finish */
};

struct edge_conn {
  int fd;
  uint32_t gen;  /* bumped on reuse; guards stale completions */
  uint32_t idx;  /* index in the worker's slab */
  uint8_t state; /* enum edge_conn_state */
  uint8_t recv_armed;
  uint8_t send_inflight;
  uint8_t close_after;      /* close once the queue drains */
  uint8_t q_head;           /* first queued slot */
  uint8_t q_count;          /* queued slots */
  uint8_t paused;           /* queue full: stopped parsing */
  uint8_t zc_wait;          /* a zero-copy send awaits its notification */
  uint8_t head_started;     /* a partial request is buffered (header timer) */
  uint8_t sent_100;         /* "100 Continue" sent for the current request */
  int64_t send_deadline_ms; /* a send in flight must progress by then */
  int32_t zc_res;           /* that send's result, applied on notification */
  uint32_t spill_len;       /* bytes of an unfinished request in spill */
  uint8_t *spill;           /* from the worker's pool, NULL if none */
  int64_t deadline_ms;      /* header-read or idle deadline (monotonic) */
  uint32_t next_free;       /* free-list link */
  size_t send_total;        /* bytes of the sendmsg in flight */
  size_t sent;              /* bytes of it already sent (partial sends) */
  struct msghdr msg;
  struct iovec iov[2 * EDGE_PIPELINE];
  struct edge_slot slots[EDGE_PIPELINE];
};

/* ======================================================================
 * Workers
 * ====================================================================== */

struct edge_lookup;   /* a coalesced Redis lookup (answer.c) */
struct edge_crlblock; /* a cached CRL (answer.c) */
struct edge_signjob;  /* a queued live signature (answer.c) */

struct edge_worker {
  unsigned idx;               /* 0..num_workers-1; also the L1 thread idx */
  struct edge_shared *shared; /* borrowed */
  struct io_uring ring;
  int ring_disabled; /* created disabled; the worker thread enables it */
  int zc_supported;  /* the kernel has IORING_OP_SENDMSG_ZC */
  int accept_paused; /* accept failed for lack of fds: re-armed by timer */
  int failed;        /* atomic: the worker could not run (see /readyz) */
  int listen_fd;
  pthread_t thread;
  int64_t now_ms;               /* monotonic, refreshed per loop iteration */
  uint64_t now_us;              /* monotonic */
  struct edge_http_clock clock; /* wall clock for Date etc. */
  struct edge_http_limits limits;

  /* provided-buffer ring for multishot recv */
  struct io_uring_buf_ring *br;
  uint8_t *bufs;
  uint32_t num_bufs;
  uint32_t buf_size;

  /* connection slab */
  struct edge_conn *conns;
  uint32_t max_conns;
  uint32_t free_head; /* UINT32_MAX: none */
  uint32_t open_conns;

  /* spill buffers for requests that span receive buffers */
  uint8_t *spill_mem;
  uint8_t **spill_free;
  uint32_t spill_free_count;
  uint32_t spill_size;

  /* live-signing buffers and queue (answer.c) */
  uint8_t *sign_mem;
  uint8_t **sign_free;
  uint32_t sign_free_count;
  uint32_t sign_buf_size;
  struct edge_signjob *jobs; /* ring of waiting signatures */
  uint32_t jobs_head, jobs_count, jobs_cap;

  /* Redis */
  struct edge_l2 *l2;
  struct edge_lookup *lookups; /* open-addressing table (answer.c) */
  uint32_t lookups_cap;
  uint32_t lookups_count;

  /* scratch for decoding one GET request (no per-request allocation) */
  uint8_t *scratch;
  size_t scratch_size;

  struct edge_metrics metrics;
};

/* edge_worker_new sets up worker |idx| (ring, listener, buffers). Returns
 * NULL with an error logged on failure. */
struct edge_worker *edge_worker_new(struct edge_shared *shared, unsigned idx);

/* edge_worker_start starts the worker's thread. Returns 1 on success. */
int edge_worker_start(struct edge_worker *w);

/* edge_worker_join waits for the thread (after shared->stopping is set). */
void edge_worker_join(struct edge_worker *w);

/* edge_worker_free releases everything; the thread must have ended. */
void edge_worker_free(struct edge_worker *w);

/* --- Used by answer.c ---------------------------------------------------- */

/* edge_conn_get returns the connection |idx| if its generation is still
 * |gen| and it is open, else NULL. */
struct edge_conn *edge_conn_get(struct edge_worker *w, uint32_t idx,
                                uint32_t gen);

/* edge_conn_try_send queues a sendmsg for the ready head of |c|'s queue
 * if none is in flight. */
void edge_conn_try_send(struct edge_worker *w, struct edge_conn *c);

/* answer.c: handle one parsed request into |slot|. |body| is the request
 * body (content_length bytes) for POST. */
void edge_answer_request(struct edge_worker *w, struct edge_conn *c,
                         struct edge_slot *slot,
                         const struct edge_http_request *req,
                         const uint8_t *body);

/* answer.c: look up, together, the L1 keys of the requests that
 * edge_answer_request parked during this event-loop batch (their slots are
 * PENDING until then), answer each (or start its Redis lookup) and try to
 * send. Call before the thread's next quiescent state and before waiting
 * for completions. */
void edge_answer_flush_l1(struct edge_worker *w);

/* answer.c: release what a sent (or abandoned) slot holds. */
void edge_answer_release(struct edge_worker *w, struct edge_slot *slot);

/* answer.c: run queued live signatures within the per-iteration budget. */
void edge_answer_run_jobs(struct edge_worker *w);

/* answer.c: set up / tear down the worker's answer state. */
int edge_answer_init(struct edge_worker *w);
void edge_answer_cleanup(struct edge_worker *w);

/* edge_cfg returns the current configuration (acquire). A worker may use
 * it until its next quiescent state (the old one is freed after that). */
static inline const struct edge_config *edge_cfg(struct edge_shared *s) {
  return __atomic_load_n(&s->cfg, __ATOMIC_ACQUIRE);
}

/* edge_shared_issuers returns the current issuer snapshot (acquire). */
static inline const struct edge_issuers *edge_shared_issuers(
    struct edge_shared *s) {
  return __atomic_load_n(&s->issuers, __ATOMIC_ACQUIRE);
}

#ifdef __cplusplus
}
#endif

#endif /* EDGE_WORKER_H */
