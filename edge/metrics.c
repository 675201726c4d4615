/* metrics.c: latency histogram and Prometheus text rendering (see
 * metrics.h).
 *
 * The workers only ever increment their own counters; everything here
 * except edge_metrics_observe_latency runs on the admin thread when a
 * scraper asks. The output is the Prometheus text exposition format 0.0.4:
 * "# HELP" and "# TYPE" lines per family, then "name{labels} value" lines.
 * Numbers are printed from integers (no floating point), so the histogram
 * bounds read exactly as configured. */
#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const uint32_t edge_metrics_bucket_us[EDGE_METRICS_NUM_BUCKETS] = {
  50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 1000000,
};

/* Label values of enum edge_answer, in order. */
static const char *const kAnswerNames[EDGE_ANS_NUM] = {
  "l1_hit",         "l2_hit",       "live_signed", "not_modified",
  "malformed",      "unauthorized", "try_later",   "internal_error",
  "unknown_signed", "crl",          "http_error",
};

void edge_metrics_observe_latency(struct edge_metrics *m, uint64_t us) {
  size_t i = 0;
  while (i < EDGE_METRICS_NUM_BUCKETS && us > edge_metrics_bucket_us[i]) {
    i++;
  }
  /* Buckets hold per-bound counts (one increment per request); the
   * renderer makes them cumulative as Prometheus wants. */
  edge_metrics_add(&m->latency_buckets[i], 1);
  edge_metrics_add(&m->latency_sum_us, us);
}

/* ======================================================================
 * Bounded output
 * ====================================================================== */

struct out {
  char *buf;  /* caller's buffer */
  size_t cap; /* its size */
  size_t len; /* bytes written (without NUL) */
  int full;   /* 1 once something did not fit */
};

static void put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...) {
  if (o->full) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= o->cap - o->len) {
    o->full = 1;
    return;
  }
  o->len += (size_t)n;
}

/* family writes the HELP and TYPE lines of one metric. */
static void family(struct out *o, const char *name, const char *type,
                   const char *help) {
  put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_u64(struct out *o, const char *name, const char *type,
                       const char *help, uint64_t v) {
  family(o, name, type, help);
  put(o, "%s %" PRIu64 "\n", name, v);
}

/* fmt_scaled writes |v| / |scale| (|scale| = 10^|digits|) as a decimal
 * without trailing zeros ("0.00005", "1", "12.5"). */
static void fmt_scaled(char *out, size_t out_len, uint64_t v, uint64_t scale,
                       int digits) {
  int n = snprintf(out, out_len, "%" PRIu64 ".%0*" PRIu64, v / scale, digits,
                   v % scale);
  if (n < 0 || (size_t)n >= out_len) {
    out[0] = '\0';
    return;
  }
  size_t len = (size_t)n;
  while (out[len - 1] == '0') {
    len--;
  }
  if (out[len - 1] == '.') {
    len--;
  }
  out[len] = '\0';
}

static uint64_t load(const uint64_t *p) {
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* ======================================================================
 * Rendering
 * ====================================================================== */

size_t edge_metrics_render(char *out, size_t cap,
                           const struct edge_metrics *const *m, size_t num,
                           const struct edge_gauges *g) {
  struct out o = { out, cap, 0, 0 };
  if (cap == 0) {
    return 0;
  }

  /* Sum the workers. Each counter is read once; the histogram's count is
   * computed from the buckets read, so the exposition is self-consistent
   * even while workers keep counting. */
  struct edge_metrics t;
  memset(&t, 0, sizeof(t));
  for (size_t w = 0; w < num; w++) {
    const struct edge_metrics *x = m[w];
    for (size_t i = 0; i < EDGE_ANS_NUM; i++) {
      t.answers[i] += load(&x->answers[i]);
    }
    for (size_t i = 0; i <= EDGE_METRICS_NUM_BUCKETS; i++) {
      t.latency_buckets[i] += load(&x->latency_buckets[i]);
    }
    t.latency_sum_us += load(&x->latency_sum_us);
    t.requests += load(&x->requests);
    t.connections_opened += load(&x->connections_opened);
    t.connections_closed += load(&x->connections_closed);
    t.connections_refused += load(&x->connections_refused);
    t.timeouts += load(&x->timeouts);
    t.redis_lookups += load(&x->redis_lookups);
    t.redis_errors += load(&x->redis_errors);
    t.coalesced += load(&x->coalesced);
    t.live_sign_rejected += load(&x->live_sign_rejected);
    t.bytes_sent += load(&x->bytes_sent);
    t.sends_zero_copy += load(&x->sends_zero_copy);
  }

  sample_u64(&o, "vigil_edge_requests_total", "counter",
             "HTTP requests parsed.", t.requests);

  family(&o, "vigil_edge_answers_total", "counter",
         "Requests answered, by how the answer was made.");
  for (size_t i = 0; i < EDGE_ANS_NUM; i++) {
    put(&o, "vigil_edge_answers_total{kind=\"%s\"} %" PRIu64 "\n",
        kAnswerNames[i], t.answers[i]);
  }

  family(&o, "vigil_edge_request_duration_seconds", "histogram",
         "Time from request parsed to answer queued.");
  uint64_t cum = 0;
  char num_buf[48];
  for (size_t i = 0; i < EDGE_METRICS_NUM_BUCKETS; i++) {
    cum += t.latency_buckets[i];
    fmt_scaled(num_buf, sizeof(num_buf), edge_metrics_bucket_us[i], 1000000, 6);
    put(&o,
        "vigil_edge_request_duration_seconds_bucket{le=\"%s\"} %" PRIu64 "\n",
        num_buf, cum);
  }
  cum += t.latency_buckets[EDGE_METRICS_NUM_BUCKETS];
  put(&o,
      "vigil_edge_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n",
      cum);
  fmt_scaled(num_buf, sizeof(num_buf), t.latency_sum_us, 1000000, 6);
  put(&o, "vigil_edge_request_duration_seconds_sum %s\n", num_buf);
  put(&o, "vigil_edge_request_duration_seconds_count %" PRIu64 "\n", cum);

  sample_u64(&o, "vigil_edge_connections_opened_total", "counter",
             "Client connections accepted.", t.connections_opened);
  sample_u64(&o, "vigil_edge_connections_closed_total", "counter",
             "Client connections closed.", t.connections_closed);
  sample_u64(&o, "vigil_edge_connections_refused_total", "counter",
             "Client connections refused over the connection limit.",
             t.connections_refused);
  sample_u64(&o, "vigil_edge_open_connections", "gauge",
             "Client connections open now.", g->open_connections);
  sample_u64(&o, "vigil_edge_timeouts_total", "counter",
             "Connections closed by header-read or idle timeouts.", t.timeouts);
  sample_u64(&o, "vigil_edge_redis_lookups_total", "counter",
             "Commands sent to Redis.", t.redis_lookups);
  sample_u64(&o, "vigil_edge_redis_errors_total", "counter",
             "Redis lookups that failed or were cut by a disconnect.",
             t.redis_errors);
  sample_u64(&o, "vigil_edge_coalesced_lookups_total", "counter",
             "Lookups joined to an identical one already in flight.",
             t.coalesced);
  sample_u64(&o, "vigil_edge_live_sign_rejected_total", "counter",
             "Live-signing requests answered tryLater over the bound.",
             t.live_sign_rejected);
  sample_u64(&o, "vigil_edge_bytes_sent_total", "counter",
             "Response bytes sent to clients.", t.bytes_sent);
  sample_u64(&o, "vigil_edge_sends_zero_copy_total", "counter",
             "Zero-copy send operations (answers of send-zc-min bytes or "
             "more; an answer sent in parts counts each part).",
             t.sends_zero_copy);

  sample_u64(&o, "vigil_edge_l1_entries", "gauge",
             "Answers in the in-process cache.", g->l1_entries);
  sample_u64(&o, "vigil_edge_l1_bytes", "gauge",
             "Bytes held by the in-process cache.", g->l1_bytes);
  sample_u64(&o, "vigil_edge_l1_evictions_total", "counter",
             "Entries evicted from the in-process cache.", g->l1_evictions);
  /* An unknown lag (no event applied yet) is left out rather than shown as
   * 0, which would read as "perfectly fresh". */
  if (g->event_lag_ms >= 0) {
    fmt_scaled(num_buf, sizeof(num_buf), (uint64_t)g->event_lag_ms, 1000, 3);
    family(&o, "vigil_edge_event_lag_seconds", "gauge",
           "Age of the last invalidation event applied.");
    put(&o, "vigil_edge_event_lag_seconds %s\n", num_buf);
  }
  sample_u64(&o, "vigil_edge_events_applied_total", "counter",
             "Invalidation events applied.", g->events_applied);
  sample_u64(&o, "vigil_edge_l1_flushes_total", "counter",
             "Whole-cache drops after a gap in the event feed.", g->l1_flushes);
  sample_u64(&o, "vigil_edge_redis_up", "gauge",
             "1 if the workers' Redis connections are up.",
             g->redis_up ? 1 : 0);
  sample_u64(&o, "vigil_edge_events_up", "gauge",
             "1 if the event feed is connected.", g->events_up ? 1 : 0);
  sample_u64(&o, "vigil_edge_mirror_present", "gauge",
             "1 if the status mirror marker v1:mirror was seen.",
             g->mirror_present ? 1 : 0);
  sample_u64(&o, "vigil_edge_issuers", "gauge", "Issuers served.", g->issuers);

  if (o.full) {
    out[0] = '\0';
    return 0;
  }
  return o.len;
}
