/* ctl_metrics.h: vigil-control's Prometheus metrics (GET /metrics, text
 * exposition format 0.0.4; names and meanings in docs/operations.md).
 *
 * Request counters and histograms are updated by the request threads with
 * relaxed atomic adds (no lock on the request path); the route table is
 * filled once before the threads start and only read afterwards. What the
 * database knows (revocation queue depth, oldest pending row, publish lag,
 * publisher failures) is read with a few indexed queries at scrape time;
 * the CRL and refresh loops keep their own counters (ctl_loops.h). */
#ifndef VIGIL_CTL_METRICS_H
#define VIGIL_CTL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_db.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Histogram buckets (upper bounds in seconds; the last one is +Inf). */
#define CTL_METRICS_NUM_BUCKETS 15
/* Routes the request metrics tell apart (the API's route tables plus the
 * two fixed ones below); more are counted as CTL_METRICS_ROUTE_NONE. */
#define CTL_METRICS_MAX_ROUTES 128
/* Fixed route slots. */
#define CTL_METRICS_ROUTE_NONE    0 /* no route matched (404, early 413) */
#define CTL_METRICS_ROUTE_METRICS 1 /* GET /metrics itself */
/* Publish lag is computed over this many most recent queue rows. */
#define CTL_METRICS_LAG_WINDOW 10000

/* A histogram: per-bucket (not cumulative) counts, count and sum. Update
 * with ctl_metrics_hist_observe only (atomic). */
struct ctl_metrics_hist {
  uint64_t bucket[CTL_METRICS_NUM_BUCKETS];
  uint64_t count;
  uint64_t sum_us; /* microseconds */
};

/* ctl_metrics_hist_observe adds one observation of |us| microseconds.
 * Lock-free; safe from any thread. */
void ctl_metrics_hist_observe(struct ctl_metrics_hist *h, uint64_t us);

/* Counters of the background loops (kept by ctl_loops.c, read here). */
struct ctl_loops_counters {
  uint64_t crl_runs[4];        /* per enum of ctl_loops.c: done, stored
                                  (not published), unavailable, failed */
  struct ctl_metrics_hist crl; /* CRL generation duration */
  uint64_t crl_last_success;   /* Unix time of the last generated CRL */
  uint64_t refresh_passes[2];  /* [0] succeeded, [1] failed */
  uint64_t refresh_signed;     /* responses re-signed by the refresh */
};

/* ctl_metrics_count adds |n| to |*counter| (relaxed atomic). */
void ctl_metrics_count(uint64_t *counter, uint64_t n);

/* The metrics of one server. */
struct ctl_metrics;

/* ctl_metrics_new makes an empty metrics set with the two fixed route
 * slots. Returns NULL when memory ran out. Free with ctl_metrics_free. */
struct ctl_metrics *ctl_metrics_new(void) __attribute__((warn_unused_result));

/* ctl_metrics_free frees |m| (NULL: nothing). */
void ctl_metrics_free(struct ctl_metrics *m);

/* ctl_metrics_add_route registers a route label (|method|, |pattern| as
 * in the API's route tables; both static strings, borrowed). Call before
 * any request thread starts. Returns the route's slot, or
 * CTL_METRICS_ROUTE_NONE when the table is full. */
int ctl_metrics_add_route(struct ctl_metrics *m, const char *method,
                          const char *pattern);

/* ctl_metrics_request records one finished request on route slot
 * |route| with HTTP |status| (0: none sent) that took |us| microseconds.
 * Lock-free; safe from any thread. */
void ctl_metrics_request(struct ctl_metrics *m, int route, unsigned status,
                         uint64_t us);

/* Dependency states for ctl_metrics_render: 1 up, 0 down, -1 not
 * configured (not exported). */
struct ctl_metrics_deps {
  int db;
  int signer;
  int redis;
};

/* ctl_metrics_render writes the whole exposition text: request metrics of
 * |m|, |deps|, the queue and publish-lag figures read from |db| (NULL or
 * failing: those are left out and vigil_control_scrape_db_ok is 0) and
 * the loop counters |lc| (NULL: left out). Returns malloc memory (release
 * with free()) or NULL when memory ran out. */
char *ctl_metrics_render(const struct ctl_metrics *m, struct ctl_db *db,
                         const struct ctl_metrics_deps *deps,
                         const struct ctl_loops_counters *lc)
    __attribute__((warn_unused_result));

/* ctl_metrics_now_us: the monotonic clock in microseconds (for request
 * durations). */
uint64_t ctl_metrics_now_us(void);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CTL_METRICS_H */
