/* events.c: the v1:events consumer and issuer loader (see events.h).
 *
 * Where the feed starts. On the first connect the feed starts from a stream
 * id a little before the process started (stream ids are milliseconds), not
 * from "the end of the stream when we got round to asking": a worker may
 * have filled L1 before the feed thread first reached Redis, and a revoke
 * event published in between must not be skipped. Replaying a few seconds
 * of old events only removes entries, which is always safe.
 *
 * Lost events. Events can be lost two ways: the stream is trimmed past our
 * position while we are disconnected (checked on reconnect), or while we
 * are connected but behind (checked after every read through the stream's
 * max-deleted-entry-id). Either way the whole L1 and every cached CRL is
 * dropped before L1 serves again.
 *
 * Issuer snapshots are swapped atomically and the old one is retired through
 * QSBR: workers announce quiescent states between event-loop batches (and go
 * offline while blocked), so a retired snapshot is freed only when no
 * worker can still hold a pointer into it. This thread never sleeps waiting
 * for that: reloads are skipped (and retried) while the retire list is
 * full, and collapsed to at most one per 100 ms. */
#include "events.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "qsbr.h"
#include "vigil/alloc.h"
#include "vigil/hex.h"
#include "vigil/keyspace.h"

#define MAX_RETIRED            64
#define BLOCK_MS               1000
#define BACKOFF_MIN_MS         100
#define BACKOFF_MAX_MS         5000
#define RELOAD_MIN_INTERVAL_MS 100
/* How far before the process start the first read begins. */
#define START_SKEW_MS 5000

struct retired {
  struct edge_issuers *iss; /* unlinked snapshot */
  uint64_t epoch;           /* QSBR epoch it was retired at */
};

/* A stream id "ms-seq". */
struct stream_id {
  uint64_t ms;
  uint64_t seq;
};

struct edge_events {
  struct edge_shared *shared;
  unsigned l1_thread;
  pthread_t thread;
  int stop;           /* atomic */
  int reload;         /* atomic: SIGHUP asked for a reload */
  int up;             /* atomic: feed connected */
  int64_t lag_ms;     /* atomic */
  uint64_t applied;   /* atomic */
  uint64_t flushes;   /* atomic */
  int reload_pending; /* an issuer event or SIGHUP awaits a reload */
  int strict; /* a SIGHUP reload was refused: every reload keeps the running
                keys until a strict one succeeds */
  int64_t last_load_ms;        /* monotonic time of the last reload */
  uint32_t next_idx;           /* next L1 index for new issuers */
  struct edge_config cfg_copy; /* the settings this thread uses (Redis,
                                responder dir): copied at start, since
                                SIGHUP may swap the shared config and
                                these need a restart anyway */
  struct stream_id last;       /* last stream id applied (or the start point) */
  uint64_t added_at_last; /* entries-added when |last| was the newest entry */
  int added_known;        /* added_at_last is known */
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

/* parse_id parses "ms-seq" (|len| bytes). Returns 1 on success. */
static int parse_id(struct stream_id *out, const char *in, size_t len) {
  uint64_t v[2] = { 0, 0 };
  int part = 0;
  size_t digits = 0;
  for (size_t i = 0; i < len; i++) {
    char c = in[i];
    if (c == '-' && part == 0 && digits > 0) {
      part = 1;
      digits = 0;
      continue;
    }
    if (c < '0' || c > '9' || digits >= 19) {
      return 0;
    }
    v[part] = v[part] * 10 + (uint64_t)(c - '0');
    digits++;
  }
  if (part != 1 || digits == 0) {
    return 0;
  }
  out->ms = v[0];
  out->seq = v[1];
  return 1;
}

static int id_less(const struct stream_id *a, const struct stream_id *b) {
  return a->ms < b->ms || (a->ms == b->ms && a->seq < b->seq);
}

static void format_id(char *out, size_t len, const struct stream_id *id) {
  snprintf(out, len, "%" PRIu64 "-%" PRIu64, id->ms, id->seq);
}

/* ======================================================================
 * Issuer snapshots
 * ====================================================================== */

static void free_retired(struct edge_events *ev, int all) {
  size_t keep = 0;
  for (size_t i = 0; i < ev->num_retired; i++) {
    if (all || edge_qsbr_passed(ev->shared->rcu, ev->retired[i].epoch)) {
      edge_issuers_free(ev->retired[i].iss);
    } else {
      ev->retired[keep++] = ev->retired[i];
    }
  }
  ev->num_retired = keep;
}

/* load_issuers reads v1:issuers and swaps in a new snapshot. Returns 1 on
 * success; on failure the old snapshot stays (and a retry is pending). */
static int load_issuers(struct edge_events *ev, redisContext *rc, int strict) {
  struct edge_shared *sh = ev->shared;
  free_retired(ev, 0);
  if (ev->num_retired == MAX_RETIRED) {
    /* Workers have not yet passed a quiescent state since the last
     * swaps: keep the current snapshot and try again shortly. */
    ev->reload_pending = 1;
    return 0;
  }
  redisReply *r = redisCommand(rc, "HGETALL %s", VIGIL_KS_ISSUERS);
  if (r == NULL) {
    ev->reload_pending = 1;
    return 0;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) {
    freeReplyObject(r);
    ev->reload_pending = 1;
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
        prev, &ev->next_idx, ikh, rec, n, ev->cfg_copy.responder_dir, sh->log);
    if (next != NULL && strict && prev != NULL) {
      /* SIGHUP: the operator changed files. A key that no longer loads
       * must not silently end live signing: keep the running set. */
      for (size_t i = 0; i < prev->num; i++) {
        const struct edge_issuer *p = &prev->items[i];
        const struct edge_issuer *q = edge_issuers_by_ikh(next, p->key_sha1);
        if (p->responder_key != NULL &&
            (q == NULL || q->responder_key == NULL)) {
          VLOG_ERROR(sh->log,
                     "reload: issuer %s would lose live signing (see the "
                     "error above); keeping the running issuers and keys",
                     p->issuer_id);
          edge_issuers_free(next);
          next = NULL;
          /* Stay strict: later reloads (issuer events, reconnects) must not
           * install what was just refused. A pending reload stays pending. */
          ev->strict = 1;
          break;
        }
      }
      if (next == NULL) {
        vigil_free(ikh);
        vigil_free(rec);
        freeReplyObject(r);
        ev->last_load_ms = mono_ms();
        return 0;
      }
    }
    if (next != NULL) {
      __atomic_store_n(&sh->num_issuers, (uint64_t)next->num, __ATOMIC_RELEASE);
      struct edge_issuers *old =
          __atomic_exchange_n(&sh->issuers, next, __ATOMIC_ACQ_REL);
      if (old != NULL) {
        ev->retired[ev->num_retired].iss = old;
        ev->retired[ev->num_retired].epoch = edge_qsbr_advance(sh->rcu);
        ev->num_retired++;
      }
      VLOG_DEBUG(sh->log, "issuers loaded: %zu", next->num);
      if (strict) {
        ev->strict = 0; /* the key files are good again */
      }
      ok = 1;
    }
  }
  vigil_free(ikh);
  vigil_free(rec);
  freeReplyObject(r);
  ev->reload_pending = !ok;
  ev->last_load_ms = mono_ms();
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
static void flush_all(struct edge_events *ev, const char *why) {
  VLOG_WARN(ev->shared->log, "events: %s: dropping all cached answers", why);
  edge_l1_clear(ev->shared->l1);
  __atomic_add_fetch(&ev->shared->crl_gen, 1, __ATOMIC_ACQ_REL);
  __atomic_add_fetch(&ev->flushes, 1, __ATOMIC_RELAXED);
}

/* ======================================================================
 * Applying events
 * ====================================================================== */

/* serial_from_hex turns the keyspace serial form back into DER INTEGER
 * contents. Returns the length, 0 on error. */
static size_t serial_from_hex(uint8_t *out, size_t cap, const char *hex,
                              size_t len) {
  char buf[2 * VIGIL_OCSP_MAX_SERIAL + 2];
  size_t off = 0;
  if (len == 0 || hex[0] == '-') {
    return 0;
  }
  /* The keyspace form has no leading zeros; a producer that writes them
   * must still hit the minimal DER key. */
  while (len > 1 && hex[0] == '0') {
    hex++;
    len--;
  }
  if (len + 2 > sizeof(buf)) {
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

static void apply_event(struct edge_events *ev, const redisReply *fields) {
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
      /* Only this thread swaps snapshots, so an issuer that is not in the
       * current one has no index and so nothing in L1. */
      const struct edge_issuer *iss =
          edge_issuers_by_ikh(edge_shared_issuers(sh), key_sha1);
      if (iss != NULL) {
        edge_l1_remove(sh->l1, iss->l1_idx, serial, slen);
        edge_l1_remove(sh->l1, iss->l1_idx | EDGE_L1_IDX_SHA256, serial, slen);
      }
      break;
    }
    case VIGIL_EVENT_CRL:
      __atomic_add_fetch(&sh->crl_gen, 1, __ATOMIC_ACQ_REL);
      break;
    case VIGIL_EVENT_ISSUER:
      ev->reload_pending = 1;
      break;
    case VIGIL_EVENT_FLUSH:
      flush_all(ev, "flush event");
      break;
    default:
      break; /* unknown events are skipped (newer producers) */
  }
}

/* ======================================================================
 * Gap detection
 * ====================================================================== */

/* What XINFO STREAM says about the stream (Redis 7). */
struct stream_info {
  int exists;                   /* 0: no such stream yet */
  uint64_t length;              /* entries present */
  uint64_t entries_added;       /* entries ever added */
  struct stream_id last_gen;    /* last-generated-id */
  struct stream_id max_deleted; /* max-deleted-entry-id (XDEL only) */
  int has_first;                /* the stream has a first entry */
  struct stream_id first;       /* its id */
};

/* stream_info reads XINFO STREAM. Returns 1, or 0 on a connection error
 * or a reply we do not understand. */
static int stream_info(redisContext *rc, struct stream_info *out) {
  memset(out, 0, sizeof(*out));
  redisReply *r = redisCommand(rc, "XINFO STREAM %s", VIGIL_KS_EVENTS);
  if (r == NULL) {
    return 0;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    /* Only "no such key" means the stream was never used; anything else
     * (-LOADING while Redis restarts, NOPERM, WRONGTYPE) is a failure that
     * the caller retries with backoff. */
    int absent = strstr(r->str, "no such key") != NULL;
    freeReplyObject(r);
    return absent;
  }
  int ok = r->type == REDIS_REPLY_ARRAY;
  int seen = 0;
  for (size_t i = 0; ok && i + 1 < r->elements; i += 2) {
    const redisReply *k = r->element[i];
    const redisReply *v = r->element[i + 1];
    if (k->type != REDIS_REPLY_STRING) {
      continue;
    }
    if (strcmp(k->str, "length") == 0 && v->type == REDIS_REPLY_INTEGER) {
      out->length = (uint64_t)v->integer;
      seen |= 1;
    } else if (strcmp(k->str, "entries-added") == 0 &&
               v->type == REDIS_REPLY_INTEGER) {
      out->entries_added = (uint64_t)v->integer;
      seen |= 2;
    } else if (strcmp(k->str, "last-generated-id") == 0 &&
               v->type == REDIS_REPLY_STRING) {
      ok = parse_id(&out->last_gen, v->str, v->len);
    } else if (strcmp(k->str, "max-deleted-entry-id") == 0 &&
               v->type == REDIS_REPLY_STRING) {
      ok = parse_id(&out->max_deleted, v->str, v->len);
    } else if (strcmp(k->str, "first-entry") == 0 &&
               v->type == REDIS_REPLY_ARRAY && v->elements >= 1 &&
               v->element[0]->type == REDIS_REPLY_STRING) {
      ok = parse_id(&out->first, v->element[0]->str, v->element[0]->len);
      out->has_first = 1;
    }
  }
  freeReplyObject(r);
  out->exists = 1;
  return ok && seen == 3;
}

/* check_gap flushes if entries after our position were deleted before we
 * read them. Two ways to lose them:
 *  - XDEL: Redis records max-deleted-entry-id; newer than our position
 *    means an unread entry was deleted.
 *  - XTRIM/MAXLEN (which does not move max-deleted-entry-id): if the
 *    oldest remaining entry is newer than our position, count: entries
 *    added since our position (entries-added now minus entries-added at
 *    our position) must all still be there (length). Fewer means lost.
 *    When we do not know entries-added at our position (first connect),
 *    we assume the worst.
 * Returns 0 on a connection error. */
static int check_gap(struct edge_events *ev, redisContext *rc) {
  struct stream_info si;
  if (!stream_info(rc, &si)) {
    return 0;
  }
  if (!si.exists) {
    /* No stream: nothing was ever added (or it was deleted whole, and
     * whatever we had not read went with it). */
    if (ev->added_known && ev->added_at_last > 0) {
      flush_all(ev, "the event stream was deleted");
    }
    ev->added_at_last = 0;
    ev->added_known = 1;
    return 1;
  }
  const char *why = NULL;
  /* Nothing was ever deleted from the stream: no event can be lost. */
  int never_deleted = si.entries_added == si.length;
  if (ev->added_known && (si.entries_added < ev->added_at_last ||
                          id_less(&si.last_gen, &ev->last))) {
    /* Checked first: a recreated stream also has nothing deleted. */
    why = "the event stream was deleted and recreated";
  } else if (never_deleted) {
    why = NULL;
  } else if (id_less(&ev->last, &si.max_deleted)) {
    why = "an unread event was deleted (XDEL)";
  } else if (si.has_first && id_less(&ev->last, &si.first)) {
    if (!ev->added_known) {
      why = "the stream was trimmed past our position";
    } else if (si.entries_added - ev->added_at_last > si.length) {
      why = "the stream was trimmed past unread events";
    }
  } else if (!si.has_first && ev->added_known &&
             si.entries_added > ev->added_at_last) {
    why = "the stream was trimmed to nothing past unread events";
  } else if (!si.has_first && !ev->added_known &&
             id_less(&ev->last, &si.last_gen)) {
    /* First connect: events after our start point were added and are all
     * gone; we cannot tell whether we would have needed them. */
    why = "the stream was emptied past our start position";
  }
  if (why != NULL) {
    flush_all(ev, why);
    /* The flush covers every revoke and crl event up to now: continue
     * from the end of the stream (replaying could meet the same deleted
     * entry again and flush forever). Issuer events skipped this way are
     * covered by a reload. */
    ev->last = si.last_gen;
    ev->added_at_last = si.entries_added;
    ev->added_known = 1;
    ev->reload_pending = 1;
    return 1;
  }
  /* At the tail (or the stream is empty, so there is nothing to read):
   * resynchronise the count that belongs to our position. */
  if (!si.has_first || (!id_less(&ev->last, &si.last_gen) &&
                        !id_less(&si.last_gen, &ev->last))) {
    if (id_less(&ev->last, &si.last_gen)) {
      ev->last = si.last_gen;
    }
    ev->added_at_last = si.entries_added;
    ev->added_known = 1;
  }
  return 1;
}

/* ======================================================================
 * The thread
 * ====================================================================== */

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
    redisContext *rc = redisConnectWithTimeout(
        ev->cfg_copy.redis_host, (int)ev->cfg_copy.redis_port, tv);
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
    /* Resume from our position; first make sure nothing after it was
     * trimmed while we were away. */
    int healthy = 0; /* a read succeeded on this connection */
    if (!check_gap(ev, rc)) {
      redisFree(rc);
      goto retry;
    }
    load_issuers(ev, rc, ev->strict);
    refresh_mirror(ev, rc);
    __atomic_store_n(&ev->up, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&sh->events_up, 1, __ATOMIC_RELEASE);
    char pos[48];
    format_id(pos, sizeof(pos), &ev->last);
    VLOG_INFO(sh->log, "events: following %s after %s", VIGIL_KS_EVENTS, pos);

    while (!__atomic_load_n(&ev->stop, __ATOMIC_ACQUIRE)) {
      if (__atomic_exchange_n(&ev->reload, 0, __ATOMIC_ACQ_REL)) {
        load_issuers(ev, rc, 1); /* SIGHUP: now, and strict */
      }
      if (ev->reload_pending &&
          mono_ms() - ev->last_load_ms >= RELOAD_MIN_INTERVAL_MS) {
        load_issuers(ev, rc, ev->strict);
      }
      free_retired(ev, 0);
      format_id(pos, sizeof(pos), &ev->last);
      /* A short block while a reload waits, so it is retried soon. */
      int block = ev->reload_pending || ev->num_retired > 0 ? 100 : BLOCK_MS;
      edge_l1_thread_offline(sh->l1, ev->l1_thread);
      redisReply *r =
          redisCommand(rc, "XREAD COUNT 1000 BLOCK %d STREAMS %s %s", block,
                       VIGIL_KS_EVENTS, pos);
      edge_l1_thread_online(sh->l1, ev->l1_thread);
      if (r == NULL) {
        VLOG_WARN(sh->log, "events: connection lost: %s", rc->errstr);
        break;
      }
      if (r->type == REDIS_REPLY_NIL || r->type == REDIS_REPLY_ARRAY) {
        healthy = 1;
      }
      if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r); /* timeout: nothing new */
        refresh_mirror(ev, rc);
        __atomic_store_n(&ev->lag_ms, 0, __ATOMIC_RELAXED);
        if (!check_gap(ev, rc)) {
          break;
        }
        continue;
      }
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 1) {
        freeReplyObject(r);
        break;
      }
      /* Before applying: were entries between our position and this
       * batch deleted unread? */
      if (!check_gap(ev, rc)) {
        freeReplyObject(r);
        break;
      }
      const redisReply *entries = r->element[0]->element[1];
      for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        struct stream_id id;
        if (!parse_id(&id, e->element[0]->str, e->element[0]->len)) {
          continue;
        }
        if (!id_less(&ev->last, &id)) {
          continue; /* already covered (e.g. by a gap flush) */
        }
        apply_event(ev, e->element[1]);
        ev->last = id;
        ev->added_at_last++; /* one more entry up to our position */
        __atomic_add_fetch(&ev->applied, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&ev->lag_ms, wall_ms() - (int64_t)id.ms,
                         __ATOMIC_RELAXED);
      }
      freeReplyObject(r);
      edge_l1_quiescent(sh->l1, ev->l1_thread);
    }
    __atomic_store_n(&ev->up, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&sh->events_up, 0, __ATOMIC_RELEASE);
    redisFree(rc);
  retry:
    /* Every way back to a reconnect waits (a Redis that answers errors,
     * e.g. -LOADING while it restarts, must not make this thread spin). */
    if (healthy) {
      backoff = BACKOFF_MIN_MS;
    }
    edge_l1_thread_offline(sh->l1, ev->l1_thread);
    sleep_ms(ev, backoff);
    edge_l1_thread_online(sh->l1, ev->l1_thread);
    backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
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
  ev->cfg_copy = *shared->cfg;
  ev->l1_thread = l1_thread_idx;
  ev->lag_ms = -1;
  ev->next_idx = 1;
  /* The feed's start point is fixed before any worker exists (file
   * comment). */
  int64_t start = wall_ms() - START_SKEW_MS;
  ev->last.ms = start > 0 ? (uint64_t)start : 0;
  ev->last.seq = 0;
  /* First load synchronously so workers start with issuers. */
  struct timeval tv = { 2, 0 };
  redisContext *rc = redisConnectWithTimeout(ev->cfg_copy.redis_host,
                                             (int)ev->cfg_copy.redis_port, tv);
  if (rc != NULL && !rc->err) {
    /* Stream ids are Redis's clock, not ours: if Redis answers, start from
     * its time (a clock of ours that runs ahead would skip events). */
    redisReply *t = redisCommand(rc, "TIME");
    if (t != NULL && t->type == REDIS_REPLY_ARRAY && t->elements == 2 &&
        t->element[0]->type == REDIS_REPLY_STRING) {
      struct stream_id now;
      char buf[48];
      snprintf(buf, sizeof(buf), "%s-0", t->element[0]->str);
      if (parse_id(&now, buf, strlen(buf)) && now.ms > 0) {
        uint64_t ms = now.ms * 1000; /* TIME gives seconds here */
        ev->last.ms = ms > START_SKEW_MS + 1000 ? ms - START_SKEW_MS - 1000 : 0;
        ev->last.seq = 0;
      }
    }
    if (t != NULL) {
      freeReplyObject(t);
    }
    load_issuers(ev, rc, 0);
    refresh_mirror(ev, rc);
  } else {
    VLOG_WARN(shared->log, "redis %s:%lld not reachable at start; retrying",
              ev->cfg_copy.redis_host, (long long)ev->cfg_copy.redis_port);
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
  free_retired(ev, 1); /* the workers have stopped */
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
