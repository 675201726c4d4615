/* main.c: vigil-edge, the internet-facing OCSP/CRL responder.
 *
 * Thin by design: load the configuration, build the shared state (L1,
 * issuers, workers, admin listener, event feed), then wait for signals:
 * SIGTERM/SIGINT stop gracefully (workers close their connections after
 * the current batch), SIGHUP reloads the issuers and responder keys
 * (atomically; a bad key file keeps that issuer without live signing and
 * is logged). Listener addresses and limits need a restart. */
#include <signal.h>
#include <stddef.h>
#include <time.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "config.h"
#include "events.h"
#include "metrics.h"
#include "vigil/alloc.h"
#include "vigil/log.h"
#include "worker.h"

#define VIGIL_VERSION "0.1.0"

struct edge_main {
  struct edge_shared shared;
  struct edge_events *events;
  struct edge_admin *admin;
};

static int ready(void *ctx, char *reason, size_t reason_len) {
  struct edge_main *m = ctx;
  struct edge_shared *sh = &m->shared;
  for (unsigned i = 0; i < sh->num_workers; i++) {
    if (__atomic_load_n(&sh->workers[i]->failed, __ATOMIC_ACQUIRE)) {
      snprintf(reason, reason_len, "worker %u failed to start", i);
      return 0;
    }
    if (!edge_l2_up(sh->workers[i]->l2)) {
      snprintf(reason, reason_len, "redis unreachable from worker %u", i);
      return 0;
    }
  }
  if (!edge_events_up(m->events)) {
    snprintf(reason, reason_len, "event feed down");
    return 0;
  }
  /* The admin thread never dereferences an issuer snapshot (it does not
   * take part in their reclamation): it reads the published count. */
  if (__atomic_load_n(&sh->num_issuers, __ATOMIC_ACQUIRE) == 0) {
    snprintf(reason, reason_len, "no issuers loaded");
    return 0;
  }
  if (!__atomic_load_n(&sh->mirror, __ATOMIC_RELAXED)) {
    snprintf(reason, reason_len,
             "status mirror incomplete (v1:mirror absent): misses answer "
             "tryLater");
    return 0;
  }
  return 1;
}

static size_t render(void *ctx, char *out, size_t cap) {
  struct edge_main *m = ctx;
  struct edge_shared *sh = &m->shared;
  const struct edge_metrics *per[256];
  struct edge_gauges g;
  memset(&g, 0, sizeof(g));
  unsigned n = sh->num_workers < 256 ? sh->num_workers : 256;
  int redis_up = 1;
  for (unsigned i = 0; i < n; i++) {
    per[i] = &sh->workers[i]->metrics;
    g.open_connections +=
        __atomic_load_n(&sh->workers[i]->open_conns, __ATOMIC_RELAXED);
    redis_up &= edge_l2_up(sh->workers[i]->l2);
  }
  struct edge_l1_stats st;
  edge_l1_stats(sh->l1, &st);
  g.l1_entries = st.entries;
  g.l1_bytes = st.bytes;
  g.l1_evictions = st.evictions;
  g.event_lag_ms = edge_events_lag_ms(m->events);
  g.events_applied = edge_events_applied(m->events);
  g.l1_flushes = edge_events_flushes(m->events);
  g.redis_up = redis_up;
  g.events_up = edge_events_up(m->events);
  g.mirror_present = __atomic_load_n(&sh->mirror, __ATOMIC_RELAXED);
  g.issuers = __atomic_load_n(&sh->num_issuers, __ATOMIC_ACQUIRE);
  return edge_metrics_render(out, cap, per, n, &g);
}

/* ======================================================================
 * SIGHUP: configuration reload
 * ====================================================================== */

/* Settings a running edge cannot change (sockets, thread count, memory
 * sized at start, the event feed's Redis): a reload keeps them and says
 * so. Everything else (validity, refresh, nonces, timeouts, limits on
 * live signing, unknown-signed, ...) takes effect at once. */
struct fixed_field {
  const char *key;
  size_t offset;
  size_t size;
};
#define FIXED(name, field)                       \
  {                                              \
    name, offsetof(struct edge_config, field),   \
        sizeof(((struct edge_config *)0)->field) \
  }
static const struct fixed_field kFixed[] = {
  FIXED("listen", listen),
  FIXED("port", port),
  FIXED("admin-listen", admin_listen),
  FIXED("admin-port", admin_port),
  FIXED("threads", threads),
  FIXED("redis-host", redis_host),
  FIXED("redis-port", redis_port),
  FIXED("responder-dir", responder_dir),
  FIXED("max-connections", max_connections),
  FIXED("max-head", max_head),
  FIXED("max-body", max_body),
  FIXED("l1-budget", l1_budget),
  FIXED("l1-max-entries", l1_max_entries),
  FIXED("sign-queue", sign_queue),
  FIXED("max-lookups", max_lookups),
  FIXED("log-level", log_level),
  FIXED("log-json", log_json),
};

/* config_check applies the cross-field rules. Returns 1 if |c| is usable,
 * else 0 with |err| set. */
static int config_check(const struct edge_config *c, char *err, size_t len) {
  if (c->refresh > c->validity - 8 * 3600) {
    snprintf(err, len,
             "refresh (%llds) must leave at least 8h before nextUpdate "
             "(validity %llds): CA/B Forum BR 4.9.10",
             (long long)c->refresh, (long long)c->validity);
    return 0;
  }
  enum vigil_log_level lvl;
  if (!vigil_log_parse_level(&lvl, c->log_level)) {
    snprintf(err, len, "log-level: unknown level \"%s\"", c->log_level);
    return 0;
  }
  return 1;
}

/* reload builds a new configuration from the same command line (and so
 * the same --config file) and swaps it in. A bad file keeps the running
 * configuration and logs why. The previous heap copy is freed once every
 * worker has passed a quiescent state. */
static void reload(struct edge_main *m, int argc, char **argv,
                   struct edge_config **owned) {
  struct edge_shared *sh = &m->shared;
  const struct edge_config *cur = edge_cfg(sh);
  struct edge_config *next = vigil_malloc(sizeof(*next));
  char err[512];
  if (next == NULL) {
    VLOG_ERROR(sh->log, "reload: out of memory; configuration unchanged");
    return;
  }
  if (vigil_conf_load(next, sizeof(*next), err, sizeof(err), NULL, 0, NULL,
                      edge_config_table, edge_config_table_len, "VIGIL_EDGE_",
                      argc, argv) != VIGIL_CONF_OK ||
      !config_check(next, err, sizeof(err))) {
    VLOG_ERROR(sh->log, "reload: %s; the running configuration is kept", err);
    vigil_free(next);
    return;
  }
  for (size_t i = 0; i < sizeof(kFixed) / sizeof(kFixed[0]); i++) {
    const uint8_t *a = (const uint8_t *)cur + kFixed[i].offset;
    uint8_t *b = (uint8_t *)next + kFixed[i].offset;
    if (memcmp(a, b, kFixed[i].size) != 0) {
      VLOG_WARN(sh->log, "reload: %s changed; it takes effect after a restart",
                kFixed[i].key);
      memcpy(b, a, kFixed[i].size);
    }
  }
  __atomic_store_n(&sh->cfg, next, __ATOMIC_RELEASE);
  uint64_t epoch = edge_qsbr_advance(sh->rcu);
  VLOG_INFO(sh->log,
            "reload: configuration applied (validity %llds, "
            "refresh %llds, nonces %s)",
            (long long)next->validity, (long long)next->refresh,
            next->nonces ? "on" : "off");
  /* Workers announce quiescent states at least every 100 ms. */
  struct edge_config *old = *owned;
  *owned = next;
  if (old == NULL) {
    return; /* the first configuration lives in main's frame */
  }
  for (int i = 0; i < 500 && !edge_qsbr_passed(sh->rcu, epoch); i++) {
    struct timespec ts = { 0, 10 * 1000000L };
    nanosleep(&ts, NULL);
  }
  if (edge_qsbr_passed(sh->rcu, epoch)) {
    vigil_free(old);
  } else {
    VLOG_WARN(sh->log,
              "reload: a worker is not responding; keeping the old "
              "configuration's memory");
  }
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: vigil-edge [--config FILE] [--option=value ...]\n"
          "\n"
          "vigil-edge answers OCSP (RFC 6960 / RFC 5019) and serves CRLs for\n"
          "the issuers published in Redis by vigil-control. It holds no CA\n"
          "key; it live-signs with delegated responder keys from\n"
          "--responder-dir when no pre-signed answer is cached.\n"
          "\n"
          "Signals: SIGTERM/SIGINT stop gracefully (queued answers finish);\n"
          "SIGHUP reloads the configuration (same command line and --config\n"
          "file; a bad file keeps the running one; listeners, threads and\n"
          "memory sizes need a restart), the issuers and responder keys.\n"
          "\nOptions:\n");
  vigil_conf_help(f, edge_config_table, edge_config_table_len, "VIGIL_EDGE_");
}

int main(int argc, char **argv) {
  struct edge_config cfg;
  struct vigil_log log;
  char err[512];
  vigil_log_init(&log, "vigil-edge");
  enum vigil_conf_result cr = vigil_conf_load(
      &cfg, sizeof(cfg), err, sizeof(err), NULL, 0, NULL, edge_config_table,
      edge_config_table_len, "VIGIL_EDGE_", argc, argv);
  if (cr == VIGIL_CONF_HELP) {
    usage(stdout);
    return 0;
  }
  if (cr == VIGIL_CONF_VERSION) {
    printf("vigil-edge %s\n", VIGIL_VERSION);
    return 0;
  }
  if (cr != VIGIL_CONF_OK) {
    fprintf(stderr, "vigil-edge: %s\n", err);
    return 2;
  }
  if (!config_check(&cfg, err, sizeof(err))) {
    fprintf(stderr, "vigil-edge: %s\n", err);
    return 2;
  }
  if (!vigil_log_parse_level(&log.level, cfg.log_level)) {
    fprintf(stderr, "vigil-edge: log-level: unknown level \"%s\"\n",
            cfg.log_level);
    return 2;
  }
  log.json = cfg.log_json;

  /* Block the signals we handle in every thread; main waits for them. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);

  /* Each connection is a file descriptor: raise the soft limit to the hard
   * one, and say so if that cannot hold max-connections per worker. */
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
      nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &nofile) != 0) {
      VLOG_WARN(&log, "cannot raise the open-file limit");
    }
  }
  unsigned nworkers = cfg.threads > 0 ? (unsigned)cfg.threads
                                      : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
  if (nworkers == 0) {
    nworkers = 1;
  }
  struct edge_main *m = vigil_calloc(1, sizeof(*m));
  if (m == NULL) {
    return 1;
  }
  int rc = 1;
  struct edge_shared *sh = &m->shared;
  struct edge_config *owned_cfg = NULL; /* heap copies made by reloads */
  sh->cfg = &cfg;
  sh->log = &log;
  sh->num_workers = nworkers;
  struct edge_l1_config l1cfg;
  memset(&l1cfg, 0, sizeof(l1cfg));
  l1cfg.max_entries = (size_t)cfg.l1_max_entries;
  l1cfg.memory_budget = (size_t)cfg.l1_budget;
  l1cfg.num_threads = nworkers + 1; /* + the event feed */
  sh->l1 = edge_l1_new(&l1cfg);
  sh->rcu = edge_qsbr_new(nworkers);
  sh->workers = vigil_calloc(nworkers, sizeof(struct edge_worker *));
  if (sh->l1 == NULL || sh->workers == NULL || sh->rcu == NULL) {
    VLOG_ERROR(&log, "cannot allocate the L1 cache (l1-budget %lld bytes)",
               (long long)cfg.l1_budget);
    goto done;
  }
  m->events = edge_events_start(sh, nworkers);
  if (m->events == NULL) {
    goto done;
  }
  for (unsigned i = 0; i < nworkers; i++) {
    sh->workers[i] = edge_worker_new(sh, i);
    if (sh->workers[i] == NULL || !edge_worker_start(sh->workers[i])) {
      VLOG_ERROR(&log, "cannot start worker %u", i);
      __atomic_store_n(&sh->stopping, 1, __ATOMIC_RELEASE);
      for (unsigned j = 0; j < i; j++) {
        edge_worker_join(sh->workers[j]);
      }
      edge_worker_free(sh->workers[i]);
      sh->workers[i] = NULL;
      for (unsigned j = 0; j < i; j++) {
        edge_worker_free(sh->workers[j]);
        sh->workers[j] = NULL;
      }
      goto done;
    }
  }
  struct edge_admin_hooks hooks = { m, ready, render };
  m->admin = edge_admin_start(cfg.admin_listen, (uint16_t)cfg.admin_port,
                              &hooks, &log);
  if (m->admin == NULL) {
    VLOG_ERROR(&log, "cannot start the admin listener on %s:%lld",
               cfg.admin_listen, (long long)cfg.admin_port);
  }
  VLOG_INFO(&log, "serving OCSP/CRL on %s:%lld with %u workers; admin on %s:%u",
            cfg.listen, (long long)cfg.port, nworkers, cfg.admin_listen,
            m->admin != NULL ? edge_admin_port(m->admin) : 0);

  for (;;) {
    int sig = 0;
    if (sigwait(&sigs, &sig) != 0) {
      continue;
    }
    if (sig == SIGHUP) {
      VLOG_INFO(&log,
                "SIGHUP: reloading configuration, issuers and "
                "responder keys");
      reload(m, argc, argv, &owned_cfg);
      edge_events_request_reload(m->events);
      continue;
    }
    VLOG_INFO(&log, "signal %d: stopping", sig);
    break;
  }
  rc = 0;
  __atomic_store_n(&sh->stopping, 1, __ATOMIC_RELEASE);
  edge_admin_stop(m->admin);
  for (unsigned i = 0; i < nworkers; i++) {
    edge_worker_join(sh->workers[i]);
  }
  for (unsigned i = 0; i < nworkers; i++) {
    edge_worker_free(sh->workers[i]);
    sh->workers[i] = NULL;
  }

done:
  edge_events_stop(m->events);
  edge_issuers_free(sh->issuers);
  vigil_free(sh->workers);
  edge_l1_free(sh->l1);
  edge_qsbr_free(sh->rcu);
  vigil_free(owned_cfg);
  vigil_free(m);
  return rc;
}
