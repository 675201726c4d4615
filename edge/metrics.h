/* metrics.h: the edge's counters and their Prometheus rendering.
 *
 * Each worker thread owns one struct edge_metrics and is its only writer:
 * plain increments through relaxed atomics, no shared cache lines, no
 * locks. The admin thread reads all of them (relaxed loads) when /metrics
 * is scraped and renders the Prometheus text format. Gauges owned by other
 * parts (L1 size, event lag, Redis state) are passed to the renderer. */
#ifndef EDGE_METRICS_H
#define EDGE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Latency histogram bucket upper bounds in microseconds (+Inf implied). */
#define EDGE_METRICS_NUM_BUCKETS 12
extern const uint32_t edge_metrics_bucket_us[EDGE_METRICS_NUM_BUCKETS];

/* How a request was answered (one counter each). */
enum edge_answer {
  EDGE_ANS_L1_HIT = 0,     /* from the in-process cache */
  EDGE_ANS_L2_HIT,         /* pre-signed response from Redis */
  EDGE_ANS_LIVE_SIGNED,    /* signed here from the status mirror */
  EDGE_ANS_NOT_MODIFIED,   /* 304 */
  EDGE_ANS_MALFORMED,      /* OCSP malformedRequest */
  EDGE_ANS_UNAUTHORIZED,   /* OCSP unauthorized (issuer or serial unknown) */
  EDGE_ANS_TRY_LATER,      /* OCSP tryLater (dependency down, limits) */
  EDGE_ANS_INTERNAL_ERROR, /* OCSP internalError */
  EDGE_ANS_UNKNOWN_SIGNED, /* signed "unknown" (when so configured) */
  EDGE_ANS_CRL,            /* a CRL */
  EDGE_ANS_HTTP_ERROR,     /* 4xx/5xx HTTP answer */
  EDGE_ANS_NUM,
};

struct edge_metrics {
  uint64_t answers[EDGE_ANS_NUM];                         /* by kind */
  uint64_t latency_buckets[EDGE_METRICS_NUM_BUCKETS + 1]; /* +Inf last */
  uint64_t latency_sum_us;     /* sum of request latencies */
  uint64_t requests;           /* requests parsed */
  uint64_t connections_opened; /* accepted */
  uint64_t connections_closed;
  uint64_t connections_refused; /* over max-connections */
  uint64_t timeouts;            /* header-read or idle timeouts */
  uint64_t redis_lookups;       /* commands sent to Redis */
  uint64_t redis_errors;        /* failed or disconnected lookups */
  uint64_t coalesced;           /* lookups joined to one in flight */
  uint64_t live_sign_rejected;  /* over the live-sign bound: tryLater */
  uint64_t bytes_sent;
  uint64_t sends_zero_copy; /* sends that went out with SENDMSG_ZC */
} __attribute__((aligned(64)));

/* edge_metrics_add increments |*counter| by |n| (relaxed; single writer). */
static inline void edge_metrics_add(uint64_t *counter, uint64_t n) {
  __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n,
                   __ATOMIC_RELAXED);
}

/* edge_metrics_observe_latency records one request latency of |us|
 * microseconds: one increment of the first bucket whose bound is >= |us|
 * (the +Inf slot beyond the last) plus the sum. Single writer, like
 * edge_metrics_add. */
void edge_metrics_observe_latency(struct edge_metrics *m, uint64_t us);

/* Gauges that the renderer prints as they are given. */
struct edge_gauges {
  uint64_t l1_entries;   /* entries in L1 */
  uint64_t l1_bytes;     /* bytes in L1 */
  uint64_t l1_evictions; /* total */
  uint64_t open_connections;
  int64_t event_lag_ms; /* now - time of the last event applied; -1 unknown */
  uint64_t events_applied; /* total */
  uint64_t l1_flushes;     /* whole-L1 drops after event gaps */
  int redis_up;            /* 1 if the workers' Redis links are up */
  int events_up;           /* 1 if the event feed is connected */
  int mirror_present;      /* 1 if v1:mirror was seen */
  uint64_t issuers;        /* issuers served */
};

/* edge_metrics_render writes the Prometheus text exposition (format
 * 0.0.4) of the sum of |num| per-worker |m| plus |g| into |out| (|cap|
 * bytes), NUL-terminated. Returns the length written (without the NUL), or
 * 0 if it did not fit (|out| then holds an empty string if |cap| > 0).
 * vigil_edge_event_lag_seconds is left out while |g->event_lag_ms| is -1. */
size_t edge_metrics_render(char *out, size_t cap,
                           const struct edge_metrics *const *m, size_t num,
                           const struct edge_gauges *g);

#ifdef __cplusplus
}
#endif

#endif /* EDGE_METRICS_H */
