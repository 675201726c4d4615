/* l2.c: hiredis asynchronous context on a worker's io_uring (see l2.h).
 *
 * hiredis tells its event library which readiness it wants through the
 * ev.addRead / delRead / addWrite / delWrite hooks. We keep one one-shot
 * POLL_ADD per direction in flight while hiredis wants it, and call
 * redisAsyncHandleRead / HandleWrite when it completes. A context is never
 * freed while a poll for it is in flight: its polls carry the context's
 * generation in the user_data, and completions for an older generation are
 * ignored. */
#include "l2.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "vigil/alloc.h"
#include "vigil/keyspace.h"

/* user_data layout below the caller's base: bit 0 read, bit 1 write, and
 * bits 2..17 the context generation. The caller reserves the low 18 bits. */
#define L2_UD_READ   1u
#define L2_UD_WRITE  2u
#define L2_GEN_SHIFT 2
#define L2_GEN_MASK  0xffffu

#define L2_BACKOFF_MIN_MS 100
#define L2_BACKOFF_MAX_MS 5000
/* Commands in flight with no reply for this long mean a Redis that hangs
 * (stopped, or a partition without a reset): the link is dropped, every
 * waiting request answered tryLater, and the link rebuilt. */
#define L2_STALL_MS 2000

struct edge_l2 {
  struct io_uring *ring;       /* the worker's ring (borrowed) */
  uint64_t ud_base;            /* the worker's tag for our completions */
  const struct vigil_log *log; /* borrowed */
  redisAsyncContext *ac;       /* NULL while disconnected */
  uint32_t gen;                /* generation of |ac| */
  int connected;               /* connect callback said yes */
  int up; /* atomic copy of the link state for other threads (/readyz) */
  int want_read, want_write;   /* what hiredis asked for */
  int read_armed, write_armed; /* polls in flight for the current gen */
  size_t in_flight;            /* commands awaiting replies */
  int64_t progress_ms;         /* last reply, or when in_flight left 0 */
  int64_t reconnect_at_ms;     /* when to try again; 0 = not scheduled */
  int64_t backoff_ms;          /* next backoff */
  int64_t now_ms;              /* last tick time */
  char host[256];              /* NUL-terminated */
  int port;
};

/* Per-command context handed to hiredis. */
struct l2_cmd {
  struct edge_l2 *l2;
  edge_l2_cb cb; /* NULL for fire-and-forget stores */
  void *arg;
  int is_get; /* 1: GET (value); 0: MGET lookup */
};

static void arm(struct edge_l2 *l2, unsigned dir) {
  if (l2->ac == NULL) {
    return;
  }
  struct io_uring_sqe *sqe = io_uring_get_sqe(l2->ring);
  if (sqe == NULL) {
    /* Ring full: submit what is queued and retry once. */
    io_uring_submit(l2->ring);
    sqe = io_uring_get_sqe(l2->ring);
    if (sqe == NULL) {
      return; /* the next tick re-arms (see edge_l2_tick) */
    }
  }
  io_uring_prep_poll_add(sqe, l2->ac->c.fd,
                         dir == L2_UD_READ ? POLLIN : POLLOUT);
  io_uring_sqe_set_data64(
      sqe,
      l2->ud_base | ((uint64_t)(l2->gen & L2_GEN_MASK) << L2_GEN_SHIFT) | dir);
  if (dir == L2_UD_READ) {
    l2->read_armed = 1;
  } else {
    l2->write_armed = 1;
  }
}

/* ======================================================================
 * hiredis event hooks
 * ====================================================================== */

static void ev_add_read(void *data) {
  struct edge_l2 *l2 = data;
  l2->want_read = 1;
  if (!l2->read_armed) {
    arm(l2, L2_UD_READ);
  }
}

static void ev_del_read(void *data) {
  struct edge_l2 *l2 = data;
  l2->want_read = 0; /* an armed poll completes later and is dropped */
}

static void ev_add_write(void *data) {
  struct edge_l2 *l2 = data;
  l2->want_write = 1;
  if (!l2->write_armed) {
    arm(l2, L2_UD_WRITE);
  }
}

static void ev_del_write(void *data) {
  struct edge_l2 *l2 = data;
  l2->want_write = 0;
}

static void ev_cleanup(void *data) {
  struct edge_l2 *l2 = data;
  l2->want_read = 0;
  l2->want_write = 0;
}

static void schedule_reconnect(struct edge_l2 *l2) {
  l2->reconnect_at_ms = l2->now_ms + l2->backoff_ms;
  l2->backoff_ms *= 2;
  if (l2->backoff_ms > L2_BACKOFF_MAX_MS) {
    l2->backoff_ms = L2_BACKOFF_MAX_MS;
  }
}

static void on_connect(const redisAsyncContext *ac, int status) {
  struct edge_l2 *l2 = ac->ev.data;
  if (status != REDIS_OK) {
    VLOG_WARN(l2->log, "redis %s:%d: connect failed: %s", l2->host, l2->port,
              ac->errstr);
    /* hiredis frees the context after this callback. */
    l2->ac = NULL;
    l2->connected = 0;
    __atomic_store_n(&l2->up, 0, __ATOMIC_RELEASE);
    l2->gen++;
    schedule_reconnect(l2);
    return;
  }
  l2->connected = 1;
  __atomic_store_n(&l2->up, 1, __ATOMIC_RELEASE);
  l2->backoff_ms = L2_BACKOFF_MIN_MS;
  VLOG_INFO(l2->log, "redis %s:%d: connected", l2->host, l2->port);
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
  struct edge_l2 *l2 = ac->ev.data;
  if (status != REDIS_OK) {
    VLOG_WARN(l2->log, "redis %s:%d: disconnected: %s", l2->host, l2->port,
              ac->errstr);
  }
  l2->ac = NULL; /* hiredis frees it after this callback */
  l2->connected = 0;
  __atomic_store_n(&l2->up, 0, __ATOMIC_RELEASE);
  l2->gen++;
  schedule_reconnect(l2);
}

static void start_connect(struct edge_l2 *l2) {
  l2->reconnect_at_ms = 0;
  l2->read_armed = 0;
  l2->write_armed = 0;
  redisAsyncContext *ac = redisAsyncConnect(l2->host, l2->port);
  if (ac == NULL) {
    schedule_reconnect(l2);
    return;
  }
  if (ac->err) {
    VLOG_WARN(l2->log, "redis %s:%d: %s", l2->host, l2->port, ac->errstr);
    redisAsyncFree(ac);
    schedule_reconnect(l2);
    return;
  }
  l2->gen++;
  l2->ac = ac;
  ac->ev.data = l2;
  ac->ev.addRead = ev_add_read;
  ac->ev.delRead = ev_del_read;
  ac->ev.addWrite = ev_add_write;
  ac->ev.delWrite = ev_del_write;
  ac->ev.cleanup = ev_cleanup;
  redisAsyncSetConnectCallback(ac, on_connect);
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
  /* A non-blocking connect completes when the socket becomes writable. */
  ev_add_write(l2);
}

/* ======================================================================
 * Lifecycle
 * ====================================================================== */

struct edge_l2 *edge_l2_new(struct io_uring *ring, uint64_t ud_base,
                            const char *host, int port,
                            const struct vigil_log *log) {
  struct edge_l2 *l2 = vigil_calloc(1, sizeof(*l2));
  if (l2 == NULL) {
    return NULL;
  }
  size_t n = strlen(host);
  if (n >= sizeof(l2->host)) {
    vigil_free(l2);
    return NULL;
  }
  memcpy(l2->host, host, n + 1);
  l2->port = port;
  l2->ring = ring;
  l2->ud_base = ud_base;
  l2->log = log;
  l2->backoff_ms = L2_BACKOFF_MIN_MS;
  start_connect(l2);
  return l2;
}

void edge_l2_free(struct edge_l2 *l2) {
  if (l2 == NULL) {
    return;
  }
  if (l2->ac != NULL) {
    /* Calls every pending callback with a NULL reply, then disconnect. */
    redisAsyncContext *ac = l2->ac;
    ac->ev.data = l2;
    redisAsyncFree(ac);
    l2->ac = NULL;
  }
  vigil_free(l2);
}

void edge_l2_complete(struct edge_l2 *l2, uint64_t user_data, int res) {
  unsigned dir = (unsigned)(user_data & 3u);
  uint32_t gen = (uint32_t)((user_data >> L2_GEN_SHIFT) & L2_GEN_MASK);
  if (l2->ac == NULL || gen != (l2->gen & L2_GEN_MASK)) {
    return; /* a poll for a context that is gone */
  }
  if (dir == L2_UD_READ) {
    l2->read_armed = 0;
  } else {
    l2->write_armed = 0;
  }
  (void)res; /* POLLERR/POLLHUP show up as read errors in hiredis */
  uint32_t cur = l2->gen;
  if (dir == L2_UD_READ) {
    if (l2->want_read) {
      redisAsyncHandleRead(l2->ac);
    }
  } else if (l2->want_write) {
    redisAsyncHandleWrite(l2->ac);
  }
  /* The handler may have disconnected (new generation) or changed wishes. */
  if (l2->ac != NULL && l2->gen == cur) {
    if (l2->want_read && !l2->read_armed) {
      arm(l2, L2_UD_READ);
    }
    if (l2->want_write && !l2->write_armed) {
      arm(l2, L2_UD_WRITE);
    }
  }
}

void edge_l2_tick(struct edge_l2 *l2, int64_t now_ms) {
  l2->now_ms = now_ms;
  if (l2->ac != NULL && l2->in_flight > 0 &&
      now_ms - l2->progress_ms > L2_STALL_MS) {
    VLOG_WARN(l2->log,
              "redis %s:%d: no reply for %d ms with %zu commands waiting: "
              "dropping the link",
              l2->host, l2->port, L2_STALL_MS, l2->in_flight);
    redisAsyncContext *ac = l2->ac;
    /* Frees the context and calls every pending callback with no reply
     * (their requests answer tryLater); the disconnect callback, if it
     * runs, schedules the reconnect. */
    redisAsyncFree(ac);
    __atomic_store_n(&l2->up, 0, __ATOMIC_RELEASE);
    if (l2->ac == ac) {
      l2->ac = NULL;
      l2->connected = 0;
      l2->gen++;
      schedule_reconnect(l2);
    }
    l2->in_flight = 0;
    return;
  }
  if (l2->ac == NULL && l2->reconnect_at_ms != 0 &&
      now_ms >= l2->reconnect_at_ms) {
    start_connect(l2);
  } else if (l2->ac == NULL && l2->reconnect_at_ms == 0) {
    schedule_reconnect(l2);
  }
  /* Re-arm polls a full ring may have dropped. */
  if (l2->ac != NULL) {
    if (l2->want_read && !l2->read_armed) {
      arm(l2, L2_UD_READ);
    }
    if (l2->want_write && !l2->write_armed) {
      arm(l2, L2_UD_WRITE);
    }
  }
}

int edge_l2_up(const struct edge_l2 *l2) {
  return __atomic_load_n(&l2->up, __ATOMIC_ACQUIRE);
}

size_t edge_l2_in_flight(const struct edge_l2 *l2) {
  return l2->in_flight;
}

/* ======================================================================
 * Commands
 * ====================================================================== */

static void on_reply(redisAsyncContext *ac, void *reply_ptr, void *privdata) {
  struct l2_cmd *cmd = privdata;
  struct edge_l2 *l2 = cmd->l2;
  redisReply *r = reply_ptr;
  struct edge_l2_result res;
  memset(&res, 0, sizeof(res));
  (void)ac;
  if (l2->in_flight > 0) {
    l2->in_flight--;
  }
  l2->progress_ms = l2->now_ms;
  if (cmd->cb == NULL) {
    vigil_free(cmd);
    return;
  }
  if (r != NULL && cmd->is_get) {
    if (r->type == REDIS_REPLY_STRING) {
      res.ok = 1;
      res.value = (const uint8_t *)r->str;
      res.value_len = r->len;
    } else if (r->type == REDIS_REPLY_NIL) {
      res.ok = 1;
    }
  } else if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
    redisReply *resp = r->element[0];
    redisReply *status = r->element[1];
    redisReply *mirror = r->element[2];
    res.ok = 1;
    if (resp->type == REDIS_REPLY_STRING) {
      res.resp = (const uint8_t *)resp->str;
      res.resp_len = resp->len;
    } else if (resp->type != REDIS_REPLY_NIL) {
      res.ok = 0;
    }
    if (status->type == REDIS_REPLY_STRING) {
      res.status = status->str;
      res.status_len = status->len;
    } else if (status->type != REDIS_REPLY_NIL) {
      res.ok = 0;
    }
    res.mirror = mirror->type == REDIS_REPLY_STRING;
  }
  if (!res.ok) {
    memset(&res, 0, sizeof(res));
  }
  edge_l2_cb cb = cmd->cb;
  void *arg = cmd->arg;
  vigil_free(cmd);
  cb(arg, &res);
}

static int issue(struct edge_l2 *l2, struct l2_cmd *cmd, int argc,
                 const char **argv, const size_t *argvlen) {
  if (!edge_l2_up(l2)) {
    vigil_free(cmd);
    return 0;
  }
  if (redisAsyncCommandArgv(l2->ac, on_reply, cmd, argc, argv, argvlen) !=
      REDIS_OK) {
    vigil_free(cmd);
    return 0;
  }
  if (l2->in_flight == 0) {
    l2->progress_ms = l2->now_ms;
  }
  l2->in_flight++;
  return 1;
}

int edge_l2_lookup(struct edge_l2 *l2, const char *resp_key,
                   const char *status_key, edge_l2_cb cb, void *arg) {
  struct l2_cmd *cmd = vigil_malloc(sizeof(*cmd));
  if (cmd == NULL) {
    return 0;
  }
  cmd->l2 = l2;
  cmd->cb = cb;
  cmd->arg = arg;
  cmd->is_get = 0;
  const char *argv[4] = { "MGET", resp_key, status_key, VIGIL_KS_MIRROR };
  size_t argvlen[4] = { 4, strlen(resp_key), strlen(status_key),
                        strlen(VIGIL_KS_MIRROR) };
  return issue(l2, cmd, 4, argv, argvlen);
}

int edge_l2_get(struct edge_l2 *l2, const char *key, edge_l2_cb cb, void *arg) {
  struct l2_cmd *cmd = vigil_malloc(sizeof(*cmd));
  if (cmd == NULL) {
    return 0;
  }
  cmd->l2 = l2;
  cmd->cb = cb;
  cmd->arg = arg;
  cmd->is_get = 1;
  const char *argv[2] = { "GET", key };
  size_t argvlen[2] = { 3, strlen(key) };
  return issue(l2, cmd, 2, argv, argvlen);
}

void edge_l2_store(struct edge_l2 *l2, const char *key, const uint8_t *value,
                   size_t value_len, int64_t ttl_ms) {
  if (ttl_ms <= 0) {
    return;
  }
  struct l2_cmd *cmd = vigil_malloc(sizeof(*cmd));
  if (cmd == NULL) {
    return;
  }
  cmd->l2 = l2;
  cmd->cb = NULL;
  cmd->arg = NULL;
  cmd->is_get = 0;
  char ttl[24];
  int n = snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
  const char *argv[6] = { "SET", key, (const char *)value, "PX", ttl, "NX" };
  size_t argvlen[6] = { 3, strlen(key), value_len, 2, (size_t)n, 2 };
  (void)issue(l2, cmd, 6, argv, argvlen);
}
