/* events.c: the v1:events consumer and issuer loader (see events.h).
 *
 * Retired issuer snapshots: workers read the snapshot pointer and use the
 * issuer it returns only within one event-loop iteration (pending answers
 * keep hashes, never pointers, and look the issuer up again). An iteration
 * is bounded (a 100 ms wait plus a bounded batch), so a retired snapshot is
 * freed after a grace time of 10 s, far beyond any iteration. */
#include "events.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "vigil/alloc.h"
#include "vigil/hex.h"
#include "vigil/keyspace.h"

#define RETIRE_GRACE_MS 10000
#define MAX_RETIRED     64
#define BLOCK_MS        1000
#define BACKOFF_MIN_MS  100
#define BACKOFF_MAX_MS  5000

struct retired {
  struct edge_issuers *iss;
  int64_t free_at_ms;
};

struct edge_events {
  struct edge_shared *shared;
  unsigned l1_thread;
  pthread_t thread;
  int stop;          /* atomic */
  int reload;        /* atomic: SIGHUP asked for a reload */
  int up;            /* atomic: feed connected */
  int64_t lag_ms;    /* atomic */
  uint64_t applied;  /* atomic */
  uint64_t flushes;  /* atomic */
  uint32_t next_idx; /* next L1 index for new issuers */
  char last_id[64];  /* last stream id applied ("" = none yet) */
  struct retired retired[MAX_RETIRED];
  size_t num_retired;
};

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* sleep_ms sleeps up to |ms|, waking early when asked to stop. */
static void sleep_ms(struct edge_events *ev, int64_t ms) {
  while (ms > 0 && !__atomic_load_n(&ev->stop, __ATOMIC_ACQUIRE)) {
    int64_t step = ms < 50 ? ms : 50;
    struct timespec ts = { 0, (long)step * 1000000L };
    nanosleep(&ts, NULL);
    ms -= step;
  }
}

static void free_retired(struct edge_events *ev, int all) {
  int64_t now = mono_ms();
  size_t keep = 0;
  for (size_t i = 0; i < ev->num_retired; i++) {
    if (all || ev->retired[i].free_at_ms <= now) {
      edge_issuers_free(ev->retired[i].iss);
    } else {
      ev->retired[keep++] = ev->retired[i];
    }
  }
  ev->num_retired = keep;
}

/* load_issuers reads v1:issuers and swaps in a new snapshot. Returns 1 on
 * success; on failure the old snapshot stays. */
static int load_issuers(struct edge_events *ev, redisContext *rc) {
  struct edge_shared *sh = ev->shared;
  redisReply *r = redisCommand(rc, "HGETALL %s", VIGIL_KS_ISSUERS);
  if (r == NULL) {
    return 0;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) {
    freeReplyObject(r);
    return 0;
  }
  size_t n = r->elements / 2;
  const char **ikh = vigil_calloc(n + 1, sizeof(char *));
  const char **rec = vigil_calloc(n + 1, sizeof(char *));
  int ok = 0;
  if (ikh != NULL && rec != NULL) {
    for (size_t i = 0; i < n; i++) {
      ikh[i] = r->element[2 * i]->str;
      rec[i] = r->element[2 * i + 1]->str;
    }
    const struct edge_issuers *prev = edge_shared_issuers(sh);
    struct edge_issuers *next = edge_issuers_build(
        prev, &ev->next_idx, ikh, rec, n, sh->cfg->responder_dir, sh->log);
    if (next != NULL) {
      struct edge_issuers *old =
          __atomic_exchange_n(&sh->issuers, next, __ATOMIC_ACQ_REL);
      if (old != NULL) {
        free_retired(ev, 0);
        if (ev->num_retired == MAX_RETIRED) {
          /* Reloads faster than the grace time: wait it out. */
          sleep_ms(ev, RETIRE_GRACE_MS);
          free_retired(ev, 0);
        }
        ev->retired[ev->num_retired].iss = old;
        ev->retired[ev->num_retired].free_at_ms = mono_ms() + RETIRE_GRACE_MS;
        ev->num_retired++;
      }
      VLOG_INFO(sh->log, "issuers loaded: %zu", next->num);
      ok = 1;
    }
  }
  vigil_free(ikh);
  vigil_free(rec);
  freeReplyObject(r);
  return ok;
}

static void refresh_mirror(struct edge_events *ev, redisContext *rc) {
  redisReply *r = redisCommand(rc, "EXISTS %s", VIGIL_KS_MIRROR);
  if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
    __atomic_store_n(&ev->shared->mirror, r->integer > 0 ? 1 : 0,
                     __ATOMIC_RELAXED);
  }
  if (r != NULL) {
    freeReplyObject(r);
  }
}

/* flush_all drops every cached answer and CRL. */
static void flush_all(struct edge_events *ev) {
  edge_l1_clear(ev->shared->l1);
  __atomic_add_fetch(&ev->shared->crl_gen, 1, __ATOMIC_ACQ_REL);
  __atomic_add_fetch(&ev->flushes, 1, __ATOMIC_RELAXED);
}

/* id_less compares two stream ids "ms-seq". */
static int id_less(const char *a, const char *b) {
  unsigned long long am = 0, as = 0, bm = 0, bs = 0;
  if (sscanf(a, "%llu-%llu", &am, &as) != 2 ||
      sscanf(b, "%llu-%llu", &bm, &bs) != 2) {
    return 1; /* unparsable: assume a gap (safe) */
  }
  return am < bm || (am == bm && as < bs);
}

/* serial_from_hex turns the keyspace serial form back into DER INTEGER
 * contents. Returns the length, 0 on error. */
static size_t serial_from_hex(uint8_t *out, size_t cap, const char *hex,
                              size_t len) {
  char buf[2 * VIGIL_OCSP_MAX_SERIAL + 2];
  size_t off = 0;
  if (len == 0 || len + 2 > sizeof(buf) || hex[0] == '-') {
    return 0;
  }
  if (len % 2 == 1) {
    buf[off++] = '0';
  }
  memcpy(buf + off, hex, len);
  off += len;
  uint8_t tmp[VIGIL_OCSP_MAX_SERIAL + 1];
  size_t n;
  if (!vigil_hex_decode(tmp, &n, sizeof(tmp), buf, off)) {
    return 0;
  }
  size_t pad = (tmp[0] & 0x80) ? 1 : 0; /* keep the INTEGER positive */
  if (n + pad > cap) {
    return 0;
  }
  if (pad) {
    out[0] = 0;
  }
  memcpy(out + pad, tmp, n);
  return n + pad;
}

static const char *field(const redisReply *fields, const char *name,
                         size_t *out_len) {
  for (size_t i = 0; i + 1 < fields->elements; i += 2) {
    if (strcmp(fields->element[i]->str, name) == 0) {
      *out_len = fields->element[i + 1]->len;
      return fields->element[i + 1]->str;
    }
  }
  return NULL;
}

static void apply_event(struct edge_events *ev, redisContext *rc,
                        const redisReply *fields) {
  struct edge_shared *sh = ev->shared;
  size_t tlen = 0;
  const char *type = field(fields, "type", &tlen);
  if (type == NULL) {
    return;
  }
  switch (vigil_event_type_parse(type, tlen)) {
    case VIGIL_EVENT_REVOKE: {
      size_t ikh_len = 0, serial_len = 0;
      const char *ikh = field(fields, "ikh", &ikh_len);
      const char *serial_hex = field(fields, "serial", &serial_len);
      uint8_t key_sha1[20], serial[VIGIL_OCSP_MAX_SERIAL];
      size_t n, slen;
      if (ikh == NULL || serial_hex == NULL ||
          !vigil_hex_decode(key_sha1, &n, sizeof(key_sha1), ikh, ikh_len) ||
          n != 20 ||
          (slen = serial_from_hex(serial, sizeof(serial), serial_hex,
                                  serial_len)) == 0) {
        VLOG_WARN(sh->log, "events: malformed revoke event ignored");
        return;
      }
      const struct edge_issuers *iss = edge_shared_issuers(sh);
      int found = 0;
      for (size_t i = 0; iss != NULL && i < iss->num; i++) {
        if (memcmp(iss->items[i].key_sha1, key_sha1, 20) == 0) {
          uint32_t idx = iss->items[i].l1_idx;
          edge_l1_remove(sh->l1, idx, serial, slen);
          edge_l1_remove(sh->l1, idx | EDGE_L1_IDX_SHA256, serial, slen);
          found = 1;
        }
      }
      if (!found) {
        /* An issuer we have no index for cannot be in L1; but an issuer
         * added since our last load might be: reload to be safe. */
        load_issuers(ev, rc);
      }
      break;
    }
    case VIGIL_EVENT_CRL:
      __atomic_add_fetch(&sh->crl_gen, 1, __ATOMIC_ACQ_REL);
      break;
    case VIGIL_EVENT_ISSUER:
      load_issuers(ev, rc);
      break;
    case VIGIL_EVENT_FLUSH:
      flush_all(ev);
      break;
    default:
      break; /* unknown events are skipped (newer producers) */
  }
}

/* resume sets last_id after a (re)connect, flushing if events may have
 * been lost while away. */
static int resume(struct edge_events *ev, redisContext *rc) {
  if (ev->last_id[0] == '\0') {
    /* First start: L1 is empty, nothing to replay; start at the end. */
    redisReply *r =
        redisCommand(rc, "XREVRANGE %s + - COUNT 1", VIGIL_KS_EVENTS);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
      if (r != NULL) {
        freeReplyObject(r);
      }
      return 0;
    }
    snprintf(ev->last_id, sizeof(ev->last_id), "%s",
             r->elements > 0 ? r->element[0]->element[0]->str : "0-0");
    freeReplyObject(r);
    return 1;
  }
  /* Reconnect: if the oldest entry is newer than our last id, entries we
   * never saw may have been trimmed away. */
  redisReply *r = redisCommand(rc, "XRANGE %s - + COUNT 1", VIGIL_KS_EVENTS);
  if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
    if (r != NULL) {
      freeReplyObject(r);
    }
    return 0;
  }
  int gap = 0;
  if (r->elements > 0) {
    const char *first = r->element[0]->element[0]->str;
    gap = id_less(ev->last_id, first) && strcmp(ev->last_id, "0-0") != 0;
  } else {
    /* Empty stream: either never used, or trimmed to nothing. */
    gap = strcmp(ev->last_id, "0-0") != 0;
  }
  freeReplyObject(r);
  if (gap) {
    VLOG_WARN(ev->shared->log,
              "events: stream trimmed past %s while disconnected: dropping "
              "all cached answers",
              ev->last_id);
    flush_all(ev);
  }
  return 1;
}

static void *events_main(void *arg) {
  struct edge_events *ev = arg;
  struct edge_shared *sh = ev->shared;
  int64_t backoff = BACKOFF_MIN_MS;
  if (!edge_l1_thread_register(sh->l1, ev->l1_thread)) {
    VLOG_ERROR(sh->log, "events: cannot register with L1");
    return NULL;
  }
  while (!__atomic_load_n(&ev->stop, __ATOMIC_ACQUIRE)) {
    struct timeval tv = { 2, 0 };
    edge_l1_thread_offline(sh->l1, ev->l1_thread);
    redisContext *rc = redisConnectWithTimeout(sh->cfg->redis_host,
                                               (int)sh->cfg->redis_port, tv);
    edge_l1_thread_online(sh->l1, ev->l1_thread);
    if (rc == NULL || rc->err) {
      if (rc != NULL) {
        redisFree(rc);
      }
      __atomic_store_n(&ev->up, 0, __ATOMIC_RELEASE);
      __atomic_store_n(&sh->events_up, 0, __ATOMIC_RELEASE);
      edge_l1_thread_offline(sh->l1, ev->l1_thread);
      sleep_ms(ev, backoff);
      edge_l1_thread_online(sh->l1, ev->l1_thread);
      backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
      continue;
    }
    struct timeval rtv = { (BLOCK_MS / 1000) + 5, 0 };
    redisSetTimeout(rc, rtv);
    if (!load_issuers(ev, rc) || !resume(ev, rc)) {
      redisFree(rc);
      sleep_ms(ev, backoff);
      continue;
    }
    refresh_mirror(ev, rc);
    backoff = BACKOFF_MIN_MS;
    __atomic_store_n(&ev->up, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&sh->events_up, 1, __ATOMIC_RELEASE);
    VLOG_INFO(sh->log, "events: following %s from %s", VIGIL_KS_EVENTS,
              ev->last_id);

    while (!__atomic_load_n(&ev->stop, __ATOMIC_ACQUIRE)) {
      if (__atomic_exchange_n(&ev->reload, 0, __ATOMIC_ACQ_REL)) {
        load_issuers(ev, rc);
      }
      free_retired(ev, 0);
      edge_l1_thread_offline(sh->l1, ev->l1_thread);
      redisReply *r =
          redisCommand(rc, "XREAD COUNT 1000 BLOCK %d STREAMS %s %s", BLOCK_MS,
                       VIGIL_KS_EVENTS, ev->last_id);
      edge_l1_thread_online(sh->l1, ev->l1_thread);
      if (r == NULL) {
        VLOG_WARN(sh->log, "events: connection lost: %s", rc->errstr);
        break;
      }
      if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r); /* timeout: nothing new */
        refresh_mirror(ev, rc);
        __atomic_store_n(&ev->lag_ms, 0, __ATOMIC_RELAXED);
        continue;
      }
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 1) {
        freeReplyObject(r);
        break;
      }
      const redisReply *entries = r->element[0]->element[1];
      for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        const char *id = e->element[0]->str;
        apply_event(ev, rc, e->element[1]);
        snprintf(ev->last_id, sizeof(ev->last_id), "%s", id);
        __atomic_add_fetch(&ev->applied, 1, __ATOMIC_RELAXED);
        unsigned long long ms = 0;
        if (sscanf(id, "%llu-", &ms) == 1) {
          __atomic_store_n(&ev->lag_ms, wall_ms() - (int64_t)ms,
                           __ATOMIC_RELAXED);
        }
      }
      freeReplyObject(r);
      edge_l1_quiescent(sh->l1, ev->l1_thread);
    }
    __atomic_store_n(&ev->up, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&sh->events_up, 0, __ATOMIC_RELEASE);
    redisFree(rc);
  }
  edge_l1_thread_unregister(sh->l1, ev->l1_thread);
  return NULL;
}

struct edge_events *edge_events_start(struct edge_shared *shared,
                                      unsigned l1_thread_idx) {
  struct edge_events *ev = vigil_calloc(1, sizeof(*ev));
  if (ev == NULL) {
    return NULL;
  }
  ev->shared = shared;
  ev->l1_thread = l1_thread_idx;
  ev->lag_ms = -1;
  ev->next_idx = 1;
  /* First load synchronously so workers start with issuers. */
  struct timeval tv = { 2, 0 };
  redisContext *rc = redisConnectWithTimeout(shared->cfg->redis_host,
                                             (int)shared->cfg->redis_port, tv);
  if (rc != NULL && !rc->err) {
    load_issuers(ev, rc);
    refresh_mirror(ev, rc);
  } else {
    VLOG_WARN(shared->log, "redis %s:%lld not reachable at start; retrying",
              shared->cfg->redis_host, (long long)shared->cfg->redis_port);
  }
  if (rc != NULL) {
    redisFree(rc);
  }
  if (pthread_create(&ev->thread, NULL, events_main, ev) != 0) {
    vigil_free(ev);
    return NULL;
  }
  return ev;
}

void edge_events_request_reload(struct edge_events *ev) {
  __atomic_store_n(&ev->reload, 1, __ATOMIC_RELEASE);
}

void edge_events_stop(struct edge_events *ev) {
  if (ev == NULL) {
    return;
  }
  __atomic_store_n(&ev->stop, 1, __ATOMIC_RELEASE);
  pthread_join(ev->thread, NULL);
  free_retired(ev, 1);
  vigil_free(ev);
}

int edge_events_up(const struct edge_events *ev) {
  return __atomic_load_n(&ev->up, __ATOMIC_ACQUIRE);
}

int64_t edge_events_lag_ms(const struct edge_events *ev) {
  return __atomic_load_n(&ev->lag_ms, __ATOMIC_RELAXED);
}

uint64_t edge_events_applied(const struct edge_events *ev) {
  return __atomic_load_n(&ev->applied, __ATOMIC_RELAXED);
}

uint64_t edge_events_flushes(const struct edge_events *ev) {
  return __atomic_load_n(&ev->flushes, __ATOMIC_RELAXED);
}
