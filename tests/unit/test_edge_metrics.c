/* test_edge_metrics.c: unit tests for edge/metrics.h. The rendered text is
 * checked by a small parser of the Prometheus text format 0.0.4 written
 * here from the format's description, not from the renderer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* The histogram bounds the brief asks for, in microseconds. */
static const uint64_t kBoundsUs[12] = { 50,    100,   250,    500,
                                        1000,  2500,  5000,   10000,
                                        25000, 50000, 100000, 1000000 };

/* ======================================================================
 * A small exposition parser
 * ====================================================================== */

#define MAX_SAMPLES 128

struct sample {
  char name[96];
  char labels[96]; /* raw text between the braces, "" if none */
  double value;
};

struct parsed {
  struct sample s[MAX_SAMPLES];
  size_t n;
  char typed[MAX_SAMPLES][96]; /* family names with a TYPE line */
  char types[MAX_SAMPLES][16];
  size_t num_typed;
};

static int name_char(char c, int first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c == ':' || (!first && c >= '0' && c <= '9');
}

/* family_of returns the TYPE entry the sample |name| belongs to, or -1. */
static int family_of(const struct parsed *p, const char *name) {
  for (size_t i = 0; i < p->num_typed; i++) {
    if (strcmp(p->typed[i], name) == 0) {
      return (int)i;
    }
    size_t fl = strlen(p->typed[i]);
    if (strcmp(p->types[i], "histogram") == 0 &&
        strncmp(name, p->typed[i], fl) == 0 &&
        (strcmp(name + fl, "_bucket") == 0 || strcmp(name + fl, "_sum") == 0 ||
         strcmp(name + fl, "_count") == 0)) {
      return (int)i;
    }
  }
  return -1;
}

/* check_labels checks |l| is label="value"(,label="value")*. */
static void check_labels(const char *l) {
  const char *p = l;
  for (;;) {
    assert_true(name_char(*p, 1));
    while (name_char(*p, 0)) {
      p++;
    }
    assert_int_equal(*p++, '=');
    assert_int_equal(*p++, '"');
    while (*p != '"') {
      assert_true(*p != '\0' && *p != '\n');
      if (*p == '\\') {
        p++;
      }
      p++;
    }
    p++;
    if (*p == '\0') {
      return;
    }
    assert_int_equal(*p++, ',');
  }
}

static void parse(struct parsed *p, const char *text, size_t len) {
  memset(p, 0, sizeof(*p));
  assert_int_equal(strlen(text), len);
  assert_true(len > 0 && text[len - 1] == '\n');
  const char *line = text;
  while (line < text + len) {
    const char *nl = strchr(line, '\n');
    assert_non_null(nl);
    char buf[256];
    size_t ll = (size_t)(nl - line);
    assert_true(ll > 0 && ll < sizeof(buf));
    memcpy(buf, line, ll);
    buf[ll] = '\0';
    line = nl + 1;
    if (strncmp(buf, "# HELP ", 7) == 0) {
      continue;
    }
    if (strncmp(buf, "# TYPE ", 7) == 0) {
      char name[96], type[16];
      assert_int_equal(sscanf(buf + 7, "%95s %15s", name, type), 2);
      assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
                  strcmp(type, "histogram") == 0);
      assert_int_equal(family_of(p, name), -1); /* one TYPE per family */
      assert_true(p->num_typed < MAX_SAMPLES);
      snprintf(p->typed[p->num_typed], 96, "%s", name);
      snprintf(p->types[p->num_typed], 16, "%s", type);
      p->num_typed++;
      continue;
    }
    assert_true(buf[0] != '#');
    /* name{labels} value */
    struct sample *s = &p->s[p->n];
    assert_true(p->n < MAX_SAMPLES);
    size_t i = 0;
    assert_true(name_char(buf[0], 1));
    while (name_char(buf[i], 0)) {
      i++;
    }
    assert_true(i < sizeof(s->name));
    memcpy(s->name, buf, i);
    s->name[i] = '\0';
    if (buf[i] == '{') {
      const char *close = strchr(buf + i, '}');
      assert_non_null(close);
      size_t lab = (size_t)(close - (buf + i + 1));
      assert_true(lab > 0 && lab < sizeof(s->labels));
      memcpy(s->labels, buf + i + 1, lab);
      s->labels[lab] = '\0';
      check_labels(s->labels);
      i = (size_t)(close - buf) + 1;
    }
    assert_int_equal(buf[i], ' ');
    i++;
    char *end = NULL;
    s->value = strtod(buf + i, &end);
    assert_true(end != buf + i && *end == '\0'); /* no timestamp, no junk */
    int fam = family_of(p, s->name);
    assert_true(fam >= 0); /* TYPE came first */
    /* Counters end in _total (the convention Prometheus checks). */
    if (strcmp(p->types[fam], "counter") == 0) {
      size_t nl2 = strlen(s->name);
      assert_true(nl2 > 6 && strcmp(s->name + nl2 - 6, "_total") == 0);
    }
    p->n++;
  }
}

static const struct sample *find(const struct parsed *p, const char *name,
                                 const char *labels) {
  for (size_t i = 0; i < p->n; i++) {
    if (strcmp(p->s[i].name, name) == 0 &&
        strcmp(p->s[i].labels, labels) == 0) {
      return &p->s[i];
    }
  }
  return NULL;
}

static double value(const struct parsed *p, const char *name,
                    const char *labels) {
  const struct sample *s = find(p, name, labels);
  if (s == NULL) {
    fail_msg("missing sample %s{%s}", name, labels);
  }
  return s->value;
}

/* ======================================================================
 * Tests
 * ====================================================================== */

static struct edge_metrics g_workers[3];

static void reset_workers(void) {
  memset(g_workers, 0, sizeof(g_workers));
}

static void default_gauges(struct edge_gauges *g) {
  memset(g, 0, sizeof(*g));
  g->l1_entries = 1234;
  g->l1_bytes = 987654;
  g->l1_evictions = 17;
  g->open_connections = 42;
  g->event_lag_ms = 1500;
  g->events_applied = 77;
  g->l1_flushes = 2;
  g->redis_up = 1;
  g->events_up = 0;
  g->mirror_present = 1;
  g->issuers = 3;
}

static void test_render_and_parse(void **state) {
  (void)state;
  reset_workers();
  /* Latencies observed across the workers, including every boundary. */
  static const uint64_t kObs[] = { 0,      1,       50,      51,     99,
                                   100,    101,     999,     1000,   2500,
                                   2501,   9999,    50000,   100000, 100001,
                                   999999, 1000000, 1000001, 5000000 };
  size_t num_obs = sizeof(kObs) / sizeof(kObs[0]);
  uint64_t sum_us = 0;
  for (size_t i = 0; i < num_obs; i++) {
    edge_metrics_observe_latency(&g_workers[i % 3], kObs[i]);
    sum_us += kObs[i];
  }
  for (int w = 0; w < 3; w++) {
    edge_metrics_add(&g_workers[w].requests, 10u * (uint64_t)(w + 1));
    edge_metrics_add(&g_workers[w].answers[EDGE_ANS_L1_HIT], 5u + (uint64_t)w);
    edge_metrics_add(&g_workers[w].answers[EDGE_ANS_TRY_LATER], 1);
    edge_metrics_add(&g_workers[w].connections_opened, 4);
    edge_metrics_add(&g_workers[w].connections_closed, 3);
    edge_metrics_add(&g_workers[w].bytes_sent, 1000000000000ull);
  }
  edge_metrics_add(&g_workers[1].redis_errors, 9);
  struct edge_gauges g;
  default_gauges(&g);
  const struct edge_metrics *m[3] = { &g_workers[0], &g_workers[1],
                                      &g_workers[2] };
  static char out[32768];
  size_t len = edge_metrics_render(out, sizeof(out), m, 3, &g);
  assert_true(len > 0);
  static struct parsed p;
  parse(&p, out, len);

  assert_true(value(&p, "vigil_edge_requests_total", "") == 60.0);
  assert_true(value(&p, "vigil_edge_answers_total", "kind=\"l1_hit\"") == 18.0);
  assert_true(value(&p, "vigil_edge_answers_total", "kind=\"try_later\"") ==
              3.0);
  assert_true(value(&p, "vigil_edge_answers_total", "kind=\"live_signed\"") ==
              0.0);
  static const char *const kKinds[] = {
    "l1_hit",         "l2_hit",       "live_signed", "not_modified",
    "malformed",      "unauthorized", "try_later",   "internal_error",
    "unknown_signed", "crl",          "http_error"
  };
  for (size_t i = 0; i < sizeof(kKinds) / sizeof(kKinds[0]); i++) {
    char lab[64];
    snprintf(lab, sizeof(lab), "kind=\"%s\"", kKinds[i]);
    assert_non_null(find(&p, "vigil_edge_answers_total", lab));
  }
  assert_true(value(&p, "vigil_edge_connections_opened_total", "") == 12.0);
  assert_true(value(&p, "vigil_edge_connections_closed_total", "") == 9.0);
  assert_true(value(&p, "vigil_edge_connections_refused_total", "") == 0.0);
  assert_true(value(&p, "vigil_edge_redis_errors_total", "") == 9.0);
  assert_true(value(&p, "vigil_edge_bytes_sent_total", "") == 3e12);
  assert_true(value(&p, "vigil_edge_open_connections", "") == 42.0);
  assert_true(value(&p, "vigil_edge_l1_entries", "") == 1234.0);
  assert_true(value(&p, "vigil_edge_l1_bytes", "") == 987654.0);
  assert_true(value(&p, "vigil_edge_l1_evictions_total", "") == 17.0);
  assert_true(fabs(value(&p, "vigil_edge_event_lag_seconds", "") - 1.5) < 1e-9);
  assert_true(value(&p, "vigil_edge_events_applied_total", "") == 77.0);
  assert_true(value(&p, "vigil_edge_l1_flushes_total", "") == 2.0);
  assert_true(value(&p, "vigil_edge_redis_up", "") == 1.0);
  assert_true(value(&p, "vigil_edge_events_up", "") == 0.0);
  assert_true(value(&p, "vigil_edge_mirror_present", "") == 1.0);
  assert_true(value(&p, "vigil_edge_issuers", "") == 3.0);
  assert_non_null(find(&p, "vigil_edge_timeouts_total", ""));
  assert_non_null(find(&p, "vigil_edge_redis_lookups_total", ""));
  assert_non_null(find(&p, "vigil_edge_coalesced_lookups_total", ""));
  assert_non_null(find(&p, "vigil_edge_live_sign_rejected_total", ""));

  /* Histogram: buckets in order of increasing le, cumulative, each equal to
   * the observations at or below its bound; +Inf == _count == all. */
  double prev_le = -1.0;
  double prev_count = 0.0;
  size_t num_buckets = 0;
  for (size_t i = 0; i < p.n; i++) {
    if (strcmp(p.s[i].name, "vigil_edge_request_duration_seconds_bucket") !=
        0) {
      continue;
    }
    const char *l = p.s[i].labels;
    assert_true(strncmp(l, "le=\"", 4) == 0);
    double le;
    if (strcmp(l, "le=\"+Inf\"") == 0) {
      le = INFINITY;
    } else {
      char *end = NULL;
      le = strtod(l + 4, &end);
      assert_string_equal(end, "\"");
    }
    assert_true(le > prev_le);
    assert_true(p.s[i].value >= prev_count);
    size_t expect = 0;
    for (size_t k = 0; k < num_obs; k++) {
      if (num_buckets == 12 || kObs[k] <= kBoundsUs[num_buckets]) {
        expect++;
      }
    }
    if (num_buckets < 12) {
      assert_true(fabs(le - (double)kBoundsUs[num_buckets] / 1e6) < 1e-12);
    }
    assert_true(p.s[i].value == (double)expect);
    prev_le = le;
    prev_count = p.s[i].value;
    num_buckets++;
  }
  assert_int_equal(num_buckets, 13);
  assert_true(isinf(prev_le));
  assert_true(prev_count == (double)num_obs);
  assert_true(value(&p, "vigil_edge_request_duration_seconds_count", "") ==
              (double)num_obs);
  assert_true(fabs(value(&p, "vigil_edge_request_duration_seconds_sum", "") -
                   (double)sum_us / 1e6) < 1e-6);
  /* The bounds read exactly as decimal text. */
  assert_non_null(strstr(out, "_bucket{le=\"0.00005\"} "));
  assert_non_null(strstr(out, "_bucket{le=\"0.0025\"} "));
  assert_non_null(strstr(out, "_bucket{le=\"1\"} "));
  /* HELP precedes TYPE for each family. */
  assert_non_null(strstr(out, "# HELP vigil_edge_requests_total "));
}

static void test_lag_unknown_and_no_workers(void **state) {
  (void)state;
  struct edge_gauges g;
  default_gauges(&g);
  g.event_lag_ms = -1;
  static char out[32768];
  size_t len = edge_metrics_render(out, sizeof(out), NULL, 0, &g);
  assert_true(len > 0);
  static struct parsed p;
  parse(&p, out, len);
  assert_null(strstr(out, "vigil_edge_event_lag_seconds"));
  assert_true(value(&p, "vigil_edge_requests_total", "") == 0.0);
  assert_true(value(&p, "vigil_edge_request_duration_seconds_count", "") ==
              0.0);
  assert_true(value(&p, "vigil_edge_request_duration_seconds_sum", "") == 0.0);
  /* Lag 0 is shown (fresh), not dropped. */
  g.event_lag_ms = 0;
  len = edge_metrics_render(out, sizeof(out), NULL, 0, &g);
  parse(&p, out, len);
  assert_true(value(&p, "vigil_edge_event_lag_seconds", "") == 0.0);
  g.event_lag_ms = 12;
  len = edge_metrics_render(out, sizeof(out), NULL, 0, &g);
  parse(&p, out, len);
  assert_true(fabs(value(&p, "vigil_edge_event_lag_seconds", "") - 0.012) <
              1e-12);
}

static void test_bounded_output(void **state) {
  (void)state;
  reset_workers();
  edge_metrics_observe_latency(&g_workers[0], 300);
  struct edge_gauges g;
  default_gauges(&g);
  const struct edge_metrics *m[1] = { &g_workers[0] };
  static char full[32768];
  size_t len = edge_metrics_render(full, sizeof(full), m, 1, &g);
  assert_true(len > 0);
  /* Every cap too small for text + NUL gives 0 and never writes past it. */
  static char buf[32768 + 16];
  for (size_t cap = 0; cap <= len; cap++) {
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(edge_metrics_render(buf, cap, m, 1, &g), 0);
    for (size_t i = cap; i < len + 16; i++) {
      assert_int_equal(buf[i], 'X');
    }
    if (cap > 0) {
      assert_int_equal(buf[0], '\0');
    }
  }
  assert_int_equal(edge_metrics_render(buf, len + 1, m, 1, &g), len);
  assert_memory_equal(buf, full, len + 1);
}

static void test_observe_buckets(void **state) {
  (void)state;
  reset_workers();
  struct edge_metrics *w = &g_workers[0];
  edge_metrics_observe_latency(w, 50);                /* <= 50 */
  edge_metrics_observe_latency(w, 51);                /* <= 100 */
  edge_metrics_observe_latency(w, 1000000);           /* <= 1 s */
  edge_metrics_observe_latency(w, UINT64_C(1) << 40); /* +Inf */
  assert_int_equal(w->latency_buckets[0], 1);
  assert_int_equal(w->latency_buckets[1], 1);
  assert_int_equal(w->latency_buckets[11], 1);
  assert_int_equal(w->latency_buckets[12], 1);
  assert_int_equal(w->latency_sum_us, 50 + 51 + 1000000 + (UINT64_C(1) << 40));
  for (size_t i = 0; i < EDGE_METRICS_NUM_BUCKETS; i++) {
    assert_int_equal(edge_metrics_bucket_us[i], kBoundsUs[i]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_render_and_parse),
    cmocka_unit_test(test_lag_unknown_and_no_workers),
    cmocka_unit_test(test_bounded_output),
    cmocka_unit_test(test_observe_buckets),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
