/* ctl_metrics.c: Prometheus metrics of vigil-control (see ctl_metrics.h). */
#include "ctl_metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil/alloc.h"

/* Upper bounds of the buckets, microseconds (the last is +Inf). */
static const uint64_t bucket_us[CTL_METRICS_NUM_BUCKETS - 1] = {
  1000,   5000,    10000,   25000,   50000,    100000,   250000,
  500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000,
};
static const char *const bucket_le[CTL_METRICS_NUM_BUCKETS] = {
  "0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
  "1",     "2.5",   "5",    "10",    "30",   "60",  "+Inf",
};

/* The largest exposition text rendered (bounded like everything else). */
#define MAX_TEXT (4u * 1024 * 1024)

/* HTTP status classes counted: 1xx..5xx, [0] for anything else. */
#define NUM_CLASSES 6

struct metrics_route {
  const char *method;  /* borrowed static string */
  const char *pattern; /* borrowed static string */
  uint64_t status[NUM_CLASSES];
  struct ctl_metrics_hist dur;
};

struct ctl_metrics {
  size_t num_routes; /* written before the request threads start */
  struct metrics_route routes[CTL_METRICS_MAX_ROUTES];
};

uint64_t ctl_metrics_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void ctl_metrics_count(uint64_t *counter, uint64_t n) {
  __atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static uint64_t load(const uint64_t *v) {
  return __atomic_load_n(v, __ATOMIC_RELAXED);
}

void ctl_metrics_hist_observe(struct ctl_metrics_hist *h, uint64_t us) {
  size_t i = 0;
  while (i < CTL_METRICS_NUM_BUCKETS - 1 && us > bucket_us[i]) {
    i++;
  }
  ctl_metrics_count(&h->bucket[i], 1);
  ctl_metrics_count(&h->sum_us, us);
  ctl_metrics_count(&h->count, 1);
}

struct ctl_metrics *ctl_metrics_new(void) {
  struct ctl_metrics *m = vigil_calloc(1, sizeof(*m));
  if (m == NULL) {
    return NULL;
  }
  m->routes[CTL_METRICS_ROUTE_NONE].method = "";
  m->routes[CTL_METRICS_ROUTE_NONE].pattern = "none";
  m->routes[CTL_METRICS_ROUTE_METRICS].method = "GET";
  m->routes[CTL_METRICS_ROUTE_METRICS].pattern = "/metrics";
  m->num_routes = 2;
  return m;
}

void ctl_metrics_free(struct ctl_metrics *m) {
  vigil_free(m);
}

int ctl_metrics_add_route(struct ctl_metrics *m, const char *method,
                          const char *pattern) {
  if (m->num_routes >= CTL_METRICS_MAX_ROUTES) {
    return CTL_METRICS_ROUTE_NONE;
  }
  m->routes[m->num_routes].method = method;
  m->routes[m->num_routes].pattern = pattern;
  return (int)m->num_routes++;
}

void ctl_metrics_request(struct ctl_metrics *m, int route, unsigned status,
                         uint64_t us) {
  if (route < 0 || (size_t)route >= m->num_routes) {
    route = CTL_METRICS_ROUTE_NONE;
  }
  struct metrics_route *rt = &m->routes[route];
  unsigned cls = status >= 100 && status < 600 ? status / 100 : 0;
  ctl_metrics_count(&rt->status[cls], 1);
  ctl_metrics_hist_observe(&rt->dur, us);
}

/* ==========================================================================
 * Rendering
 * ========================================================================== */

struct text {
  char *buf;  /* malloc memory */
  size_t len; /* used, without the NUL */
  size_t cap;
  int failed; /* out of memory or over MAX_TEXT */
};

static void put(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...) {
  if (t->failed) {
    return;
  }
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
      t->failed = 1;
      return;
    }
    if ((size_t)n < t->cap - t->len) {
      t->len += (size_t)n;
      return;
    }
    size_t want = t->cap * 2;
    while (want - t->len <= (size_t)n) {
      want *= 2;
    }
    if (want > MAX_TEXT) {
      t->failed = 1;
      return;
    }
    char *nb = vigil_realloc(t->buf, want);
    if (nb == NULL) {
      t->failed = 1;
      return;
    }
    t->buf = nb;
    t->cap = want;
  }
}

static void head(struct text *t, const char *name, const char *type,
                 const char *help) {
  put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* seconds: |us| microseconds as a decimal number of seconds. */
static void put_seconds(struct text *t, uint64_t us) {
  put(t, "%llu.%06llu", (unsigned long long)(us / 1000000u),
      (unsigned long long)(us % 1000000u));
}

/* put_hist writes the _bucket/_sum/_count lines of |h| with |labels|
 * ("" or 'a="b",'-style, ending in a comma). */
static void put_hist(struct text *t, const char *name, const char *labels,
                     const struct ctl_metrics_hist *h) {
  uint64_t cum = 0;
  for (size_t i = 0; i < CTL_METRICS_NUM_BUCKETS; i++) {
    cum += load(&h->bucket[i]);
    put(t, "%s_bucket{%sle=\"%s\"} %llu\n", name, labels, bucket_le[i],
        (unsigned long long)cum);
  }
  /* The labels without their trailing comma, in braces if any. */
  char set[256] = "";
  size_t n = strlen(labels);
  if (n > 0) {
    snprintf(set, sizeof(set), "{%.*s}", (int)(n - 1), labels);
  }
  put(t, "%s_sum%s ", name, set);
  put_seconds(t, load(&h->sum_us));
  put(t, "\n%s_count%s %llu\n", name, set, (unsigned long long)load(&h->count));
}

static void render_requests(struct text *t, const struct ctl_metrics *m) {
  static const char *const cls_name[NUM_CLASSES] = { "other", "1xx", "2xx",
                                                     "3xx",   "4xx", "5xx" };
  head(t, "vigil_control_http_requests_total", "counter",
       "API requests answered, by route pattern and status class");
  for (size_t i = 0; i < m->num_routes; i++) {
    const struct metrics_route *rt = &m->routes[i];
    for (size_t c = 0; c < NUM_CLASSES; c++) {
      uint64_t v = load(&rt->status[c]);
      if (v != 0) {
        put(t,
            "vigil_control_http_requests_total{method=\"%s\",route=\"%s\","
            "code=\"%s\"} %llu\n",
            rt->method, rt->pattern, cls_name[c], (unsigned long long)v);
      }
    }
  }
  head(t, "vigil_control_http_request_duration_seconds", "histogram",
       "time from the request's first byte to the response sent");
  for (size_t i = 0; i < m->num_routes; i++) {
    const struct metrics_route *rt = &m->routes[i];
    if (load(&rt->dur.count) == 0) {
      continue;
    }
    char labels[256];
    snprintf(labels, sizeof(labels), "method=\"%s\",route=\"%s\",", rt->method,
             rt->pattern);
    put_hist(t, "vigil_control_http_request_duration_seconds", labels,
             &rt->dur);
  }
}

static void render_deps(struct text *t, const struct ctl_metrics_deps *d) {
  head(t, "vigil_control_dependency_up", "gauge",
       "1 if the dependency answered during this scrape, else 0");
  const struct {
    const char *name;
    int v;
  } deps[] = { { "db", d->db },
               { "signer", d->signer },
               { "redis", d->redis } };
  for (size_t i = 0; i < sizeof(deps) / sizeof(deps[0]); i++) {
    if (deps[i].v >= 0) {
      put(t, "vigil_control_dependency_up{dependency=\"%s\"} %d\n",
          deps[i].name, deps[i].v ? 1 : 0);
    }
  }
}

/* One row of integers from |sql|; 1 if read. */
static int query_ints(struct ctl_db *db, const char *sql, int64_t *out, int n) {
  PGresult *res = NULL;
  if (ctl_db_exec(db, &res, sql, NULL) != CTL_DB_OK) {
    return 0;
  }
  int ok = PQntuples(res) == 1 && PQnfields(res) == n;
  for (int i = 0; ok && i < n; i++) {
    ok = ctl_db_value_int64(&out[i], res, 0, i);
  }
  PQclear(res);
  return ok;
}

#define STR2(x) #x
#define STR(x)  STR2(x)

/* The queue and the publisher, from Postgres (indexed queries only: the
 * pending partial index and the primary key). Returns 1 if all read. */
static int render_queue(struct text *t, struct ctl_db *db) {
  int64_t q[4] = { 0, 0, 0, 0 };
  int64_t l[6] = { 0, 0, 0, 0, 0, 0 };
  int ok = query_ints(db,
                      "SELECT count(*), COALESCE((extract(epoch FROM now() - "
                      "min(enqueued_at)) * 1e6)::bigint, 0), "
                      "count(*) FILTER (WHERE last_error IS NOT NULL), "
                      "COALESCE(sum(attempts), 0)::bigint "
                      "FROM revocation_queue WHERE status = 'pending'",
                      q, 4);
  ok = ok &&
       query_ints(
           db,
           "WITH w AS (SELECT status, attempts, (extract(epoch FROM "
           "published_at - enqueued_at) * 1e6)::bigint AS lag, published_at "
           "FROM revocation_queue WHERE id > (SELECT COALESCE(max(id), 0) - "
           STR(CTL_METRICS_LAG_WINDOW) " FROM revocation_queue)) "
           "SELECT count(*) FILTER (WHERE status = 'published'), "
           "COALESCE(percentile_disc(0.5) WITHIN GROUP (ORDER BY lag), 0), "
           "COALESCE(percentile_disc(0.99) WITHIN GROUP (ORDER BY lag), 0), "
           "COALESCE(max(lag), 0), "
           "COALESCE((SELECT lag FROM w WHERE status = 'published' "
           "ORDER BY published_at DESC LIMIT 1), 0), "
           "COALESCE(sum(attempts - CASE WHEN status = 'published' THEN 1 "
           "ELSE 0 END), 0)::bigint FROM w",
           l, 6);
  if (!ok) {
    return 0;
  }
  head(t, "vigil_control_revocation_queue_pending", "gauge",
       "revocations committed but not yet published to Redis");
  put(t, "vigil_control_revocation_queue_pending %lld\n", (long long)q[0]);
  head(t, "vigil_control_revocation_queue_oldest_pending_seconds", "gauge",
       "age of the oldest pending revocation (0: none pending)");
  put(t, "vigil_control_revocation_queue_oldest_pending_seconds ");
  put_seconds(t, (uint64_t)(q[1] > 0 ? q[1] : 0));
  put(t, "\n");
  head(t, "vigil_control_revocation_queue_failing", "gauge",
       "pending revocations whose last publish attempt failed");
  put(t, "vigil_control_revocation_queue_failing %lld\n", (long long)q[2]);
  head(t, "vigil_control_publish_failed_attempts", "gauge",
       "failed publish attempts among the last " STR(
           CTL_METRICS_LAG_WINDOW) " queue rows");
  put(t, "vigil_control_publish_failed_attempts %lld\n", (long long)l[5]);
  head(t, "vigil_control_publish_lag_seconds", "gauge",
       "revocation commit to published in Redis, over the last " STR(
           CTL_METRICS_LAG_WINDOW) " queue rows (quantile 1 = max)");
  static const char *const qn[3] = { "0.5", "0.99", "1" };
  for (int i = 0; i < 3; i++) {
    put(t, "vigil_control_publish_lag_seconds{quantile=\"%s\"} ", qn[i]);
    put_seconds(t, (uint64_t)(l[1 + i] > 0 ? l[1 + i] : 0));
    put(t, "\n");
  }
  head(t, "vigil_control_publish_lag_window_published", "gauge",
       "published rows the publish-lag quantiles are computed over");
  put(t, "vigil_control_publish_lag_window_published %lld\n", (long long)l[0]);
  head(t, "vigil_control_publish_last_lag_seconds", "gauge",
       "commit to published of the most recently published revocation");
  put(t, "vigil_control_publish_last_lag_seconds ");
  put_seconds(t, (uint64_t)(l[4] > 0 ? l[4] : 0));
  put(t, "\n");
  return 1;
}

static void render_loops(struct text *t, const struct ctl_loops_counters *lc) {
  static const char *const crl_result[4] = { "done", "stored", "unavailable",
                                             "failed" };
  head(t, "vigil_control_crl_generations_total", "counter",
       "CRL runs per issuer: done (stored and published), stored (Redis "
       "failed), unavailable (signer or database), failed");
  for (int i = 0; i < 4; i++) {
    put(t, "vigil_control_crl_generations_total{result=\"%s\"} %llu\n",
        crl_result[i], (unsigned long long)load(&lc->crl_runs[i]));
  }
  head(t, "vigil_control_crl_generation_duration_seconds", "histogram",
       "time to build, sign and store one issuer's CRL");
  put_hist(t, "vigil_control_crl_generation_duration_seconds", "", &lc->crl);
  head(t, "vigil_control_crl_last_success_timestamp_seconds", "gauge",
       "Unix time of the last CRL generated (0: none since start)");
  put(t, "vigil_control_crl_last_success_timestamp_seconds %llu\n",
      (unsigned long long)load(&lc->crl_last_success));
  head(t, "vigil_control_refresh_passes_total", "counter",
       "pre-sign refresh passes by result");
  put(t, "vigil_control_refresh_passes_total{result=\"ok\"} %llu\n",
      (unsigned long long)load(&lc->refresh_passes[0]));
  put(t, "vigil_control_refresh_passes_total{result=\"failed\"} %llu\n",
      (unsigned long long)load(&lc->refresh_passes[1]));
  head(t, "vigil_control_refresh_signed_total", "counter",
       "OCSP responses re-signed by the refresh loop");
  put(t, "vigil_control_refresh_signed_total %llu\n",
      (unsigned long long)load(&lc->refresh_signed));
}

char *ctl_metrics_render(const struct ctl_metrics *m, struct ctl_db *db,
                         const struct ctl_metrics_deps *deps,
                         const struct ctl_loops_counters *lc) {
  struct text t = { NULL, 0, 16384, 0 };
  t.buf = vigil_malloc(t.cap);
  if (t.buf == NULL) {
    return NULL;
  }
  t.buf[0] = '\0';
  render_requests(&t, m);
  render_deps(&t, deps);
  int db_ok = db != NULL && deps->db == 1 && render_queue(&t, db);
  head(&t, "vigil_control_scrape_db_ok", "gauge",
       "1 if the queue and publish figures could be read from Postgres");
  put(&t, "vigil_control_scrape_db_ok %d\n", db_ok);
  if (lc != NULL) {
    render_loops(&t, lc);
  }
  if (t.failed) {
    vigil_free(t.buf);
    return NULL;
  }
  return t.buf;
}
