/* worker.c: the io_uring event loop of one vigil-edge worker.
 *
 * Completions are tagged in user_data as (op << 56) | (gen << 24) | idx so
 * a completion for a connection slot that has since been reused is
 * recognised and dropped. Completions are handled in batches and the
 * completion queue advanced once per batch (liburing examples/proxy.c);
 * submissions go out with the next io_uring_submit_and_wait_timeout. */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "answer.h"
#include "vigil/alloc.h"

/* ======================================================================
 * user_data encoding
 * ====================================================================== */

enum op {
  OP_ACCEPT = 1,
  OP_RECV = 2,
  OP_SEND = 3,
  OP_CLOSE = 4,
  OP_TIMER = 5,
  OP_L2 = 6, /* low 18 bits belong to l2.c */
  OP_WAKE = 7,
  OP_CANCEL = 8, /* completions of cancel requests: ignored */
};

#define UD_OP_SHIFT  56
#define UD_GEN_SHIFT 24
#define UD_IDX_MASK  0xffffffu
#define UD_GEN_MASK  0xffffffffu

static uint64_t ud(enum op op, uint32_t gen, uint32_t idx) {
  return ((uint64_t)op << UD_OP_SHIFT) |
         ((uint64_t)(gen & UD_GEN_MASK) << UD_GEN_SHIFT) | (idx & UD_IDX_MASK);
}

/* Buffer group id of the provided-buffer ring. */
#define BGID 1

/* use_zc: a send of |bytes| goes out with IORING_OP_SENDMSG_ZC (the kernel
 * pins our pages instead of copying them) when it reaches send-zc-min.
 * That pays off only above a size that depends on the NIC and the kernel:
 * bench/bench_sendzc.c measures it (on this machine's loopback, never:
 * about 30 us of fixed cost per zero-copy send, so the default is 0, off). */
static int use_zc(const struct edge_worker *w, size_t bytes) {
  int64_t min = edge_cfg(w->shared)->send_zc_min;
  return w->zc_supported && min > 0 && bytes >= (uint64_t)min;
}

/* How long a stopping worker lets queued answers finish. */
#define DRAIN_MS 5000

/* A send that makes no progress for this long (a client that does not
 * read) closes the connection: it would otherwise hold cache references
 * and sign buffers forever. */
#define SEND_TIMEOUT_MS 30000

/* The interim answer to "Expect: 100-continue" (RFC 9110 10.1.1). */
static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";

/* ======================================================================
 * Small helpers
 * ====================================================================== */

static struct io_uring_sqe *get_sqe(struct edge_worker *w) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
  if (__builtin_expect(sqe == NULL, 0)) {
    /* The SQ is full: push it to the kernel and take a fresh entry. */
    io_uring_submit(&w->ring);
    sqe = io_uring_get_sqe(&w->ring);
  }
  return sqe;
}

static void refresh_clock(struct edge_worker *w) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  w->now_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
  w->now_ms = (int64_t)(w->now_us / 1000u);
  clock_gettime(CLOCK_REALTIME, &ts);
  if (!w->clock.valid || w->clock.now != ts.tv_sec) {
    if (!edge_http_clock_set(&w->clock, ts.tv_sec)) {
      w->clock.valid = 0;
    }
  }
}

/* ======================================================================
 * Connections
 * ====================================================================== */

struct edge_conn *edge_conn_get(struct edge_worker *w, uint32_t idx,
                                uint32_t gen) {
  if (idx >= w->max_conns) {
    return NULL;
  }
  struct edge_conn *c = &w->conns[idx];
  if (c->gen != gen || c->state != EDGE_CONN_OPEN) {
    return NULL;
  }
  return c;
}

static void arm_recv(struct edge_worker *w, struct edge_conn *c) {
  struct io_uring_sqe *sqe = get_sqe(w);
  if (sqe == NULL) {
    return; /* retried from the timer scan */
  }
  io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = BGID;
  io_uring_sqe_set_data64(sqe, ud(OP_RECV, c->gen, c->idx));
  c->recv_armed = 1;
}

static void spill_put(struct edge_worker *w, struct edge_conn *c) {
  if (c->spill != NULL) {
    w->spill_free[w->spill_free_count++] = c->spill;
    c->spill = NULL;
  }
  c->spill_len = 0;
}

/* release_queue gives back everything the queued slots hold. */
static void release_queue(struct edge_worker *w, struct edge_conn *c) {
  for (unsigned i = 0; i < EDGE_PIPELINE; i++) {
    struct edge_slot *s = &c->slots[i];
    if (s->state != EDGE_SLOT_FREE) {
      edge_answer_release(w, s);
      s->state = EDGE_SLOT_FREE;
    }
  }
  c->q_head = 0;
  c->q_count = 0;
}

/* conn_finish frees the slot once nothing is in flight for it. */
static void conn_maybe_free(struct edge_worker *w, struct edge_conn *c) {
  if (c->state != EDGE_CONN_CLOSING || c->recv_armed || c->send_inflight) {
    return;
  }
  struct io_uring_sqe *sqe = get_sqe(w);
  if (sqe != NULL) {
    io_uring_prep_close(sqe, c->fd);
    io_uring_sqe_set_data64(sqe, ud(OP_CLOSE, c->gen, c->idx));
  } else {
    close(c->fd);
  }
  release_queue(w, c);
  spill_put(w, c);
  c->state = EDGE_CONN_FREE;
  c->fd = -1;
  c->gen++;
  c->next_free = w->free_head;
  w->free_head = c->idx;
  __atomic_sub_fetch(&w->open_conns, 1, __ATOMIC_RELAXED);
  edge_metrics_add(&w->metrics.connections_closed, 1);
}

/* conn_close starts closing |c|: shut the socket down so in-flight
 * operations complete, then free the slot when they have. */
static void conn_close(struct edge_worker *w, struct edge_conn *c) {
  if (c->state != EDGE_CONN_OPEN) {
    return;
  }
  c->state = EDGE_CONN_CLOSING;
  if (c->send_inflight || c->zc_wait) {
    /* The slot is freed when the send completes, and a zero-copy send
     * completes only once the peer has taken the data: bound the wait of
     * a peer that stops reading (zero window) so it cannot hold the
     * connection and the answer's memory for ever. */
    unsigned int ms = 1000;
    setsockopt(c->fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
  }
  shutdown(c->fd, SHUT_RDWR);
  conn_maybe_free(w, c);
}

static void arm_accept(struct edge_worker *w) {
  struct io_uring_sqe *sqe = get_sqe(w);
  if (sqe == NULL) {
    w->accept_paused = 1; /* retried from the timer scan */
    return;
  }
  io_uring_prep_multishot_accept(sqe, w->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, ud(OP_ACCEPT, 0, 0));
  w->accept_paused = 0;
}

static void on_accept(struct edge_worker *w, int res, uint32_t flags) {
  if (!(flags & IORING_CQE_F_MORE)) {
    /* The multishot accept ended. Out of file descriptors or memory, an
     * immediate re-arm would fail again at once and spin the CPU: wait for
     * the next timer scan instead (connections meanwhile queue in the
     * listen backlog). */
    if (res == -EMFILE || res == -ENFILE || res == -ENOMEM || res == -ENOBUFS) {
      w->accept_paused = 1;
      edge_metrics_add(&w->metrics.connections_refused, 1);
    } else {
      arm_accept(w);
    }
  }
  if (res < 0) {
    return;
  }
  int fd = res;
  if (w->free_head == UINT32_MAX) {
    edge_metrics_add(&w->metrics.connections_refused, 1);
    close(fd);
    return;
  }
  struct edge_conn *c = &w->conns[w->free_head];
  w->free_head = c->next_free;
  int one = 1;
  /* Answers are written whole; Nagle would only delay pipelined ones. */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  c->fd = fd;
  c->state = EDGE_CONN_OPEN;
  c->recv_armed = 0;
  c->send_inflight = 0;
  c->close_after = 0;
  c->paused = 0;
  c->head_started = 0;
  c->sent_100 = 0;
  c->q_head = 0;
  c->q_count = 0;
  c->spill = NULL;
  c->spill_len = 0;
  c->deadline_ms = w->now_ms + edge_cfg(w->shared)->header_timeout * 1000;
  __atomic_add_fetch(&w->open_conns, 1, __ATOMIC_RELAXED);
  edge_metrics_add(&w->metrics.connections_opened, 1);
  arm_recv(w, c);
}

/* ======================================================================
 * Sending
 * ====================================================================== */

void edge_conn_try_send(struct edge_worker *w, struct edge_conn *c) {
  if (c->send_inflight || c->state != EDGE_CONN_OPEN) {
    return;
  }
  unsigned n_iov = 0;
  size_t total = 0;
  for (unsigned i = 0; i < c->q_count; i++) {
    struct edge_slot *s = &c->slots[(c->q_head + i) % EDGE_PIPELINE];
    if (s->state != EDGE_SLOT_READY) {
      break; /* answers leave in request order */
    }
    c->iov[n_iov].iov_base = s->head;
    c->iov[n_iov].iov_len = s->head_len;
    total += s->head_len;
    n_iov++;
    if (s->body_len > 0) {
      c->iov[n_iov].iov_base = (void *)s->body;
      c->iov[n_iov].iov_len = s->body_len;
      total += s->body_len;
      n_iov++;
    }
  }
  if (n_iov == 0) {
    if (c->q_count == 0 && c->close_after) {
      conn_close(w, c);
    }
    return;
  }
  struct io_uring_sqe *sqe = get_sqe(w);
  if (sqe == NULL) {
    return;
  }
  memset(&c->msg, 0, sizeof(c->msg));
  c->msg.msg_iov = c->iov;
  c->msg.msg_iovlen = n_iov;
  c->send_total = total;
  c->sent = 0;
  if (use_zc(w, total)) {
    /* Zero copy: the buffers stay ours to keep alive until the kernel's
     * notification completion (IORING_CQE_F_NOTIF) says it is done. */
    io_uring_prep_sendmsg_zc(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
    edge_metrics_add(&w->metrics.sends_zero_copy, 1);
  } else {
    io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
  }
  io_uring_sqe_set_data64(sqe, ud(OP_SEND, c->gen, c->idx));
  c->send_inflight = 1;
  c->send_deadline_ms = w->now_ms + SEND_TIMEOUT_MS;
}

static void conn_process(struct edge_worker *w, struct edge_conn *c,
                         const uint8_t *data, size_t len);

static void on_send(struct edge_worker *w, struct edge_conn *c, int res) {
  c->send_inflight = 0;
  if (c->state != EDGE_CONN_OPEN) {
    conn_maybe_free(w, c);
    return;
  }
  if (res < 0) {
    if (res == -EINTR || res == -EAGAIN) {
      /* Nothing of this send went out: submit the same msghdr again (it
       * already points past what earlier partial sends delivered). */
      struct io_uring_sqe *sqe = get_sqe(w);
      if (sqe == NULL) {
        conn_close(w, c);
        return;
      }
      io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
      io_uring_sqe_set_data64(sqe, ud(OP_SEND, c->gen, c->idx));
      c->send_inflight = 1;
      return;
    }
    conn_close(w, c);
    return;
  }
  edge_metrics_add(&w->metrics.bytes_sent, (uint64_t)res);
  c->sent += (size_t)res;
  c->send_deadline_ms = w->now_ms + SEND_TIMEOUT_MS;
  if (c->sent < c->send_total) {
    /* Partial send: advance the iovecs and send the rest. */
    size_t skip = (size_t)res;
    struct iovec *iov = c->msg.msg_iov;
    size_t n = c->msg.msg_iovlen;
    while (n > 0 && skip >= iov->iov_len) {
      skip -= iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (uint8_t *)iov->iov_base + skip;
      iov->iov_len -= skip;
    }
    c->msg.msg_iov = iov;
    c->msg.msg_iovlen = n;
    struct io_uring_sqe *sqe = get_sqe(w);
    if (sqe == NULL) {
      conn_close(w, c);
      return;
    }
    if (use_zc(w, c->send_total - c->sent)) {
      io_uring_prep_sendmsg_zc(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
      edge_metrics_add(&w->metrics.sends_zero_copy, 1);
    } else {
      io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
    }
    io_uring_sqe_set_data64(sqe, ud(OP_SEND, c->gen, c->idx));
    c->send_inflight = 1;
    return;
  }
  /* Everything sent: release the slots that made up this send. */
  size_t done = c->send_total;
  while (c->q_count > 0 && done > 0) {
    struct edge_slot *s = &c->slots[c->q_head];
    size_t n = (size_t)s->head_len + s->body_len;
    if (n > done) {
      break;
    }
    done -= n;
    if (s->start_us != 0) {
      edge_metrics_observe_latency(&w->metrics, w->now_us - s->start_us);
    }
    if (!s->keep_alive) {
      c->close_after = 1;
    }
    edge_answer_release(w, s);
    s->state = EDGE_SLOT_FREE;
    c->q_head = (uint8_t)((c->q_head + 1) % EDGE_PIPELINE);
    c->q_count--;
  }
  if (c->q_count == 0) {
    /* Nothing queued (so nothing refers to a slot by index): start over at
     * slot 0, so that a client asking one thing at a time keeps using the
     * same, cached, slot instead of walking through all of them. */
    c->q_head = 0;
  }
  if (c->close_after && c->q_count == 0) {
    conn_close(w, c);
    return;
  }
  if (c->q_count == 0 && c->spill_len == 0) {
    c->deadline_ms = w->now_ms + edge_cfg(w->shared)->idle_timeout * 1000;
  }
  if (c->paused && c->q_count < EDGE_PIPELINE) {
    c->paused = 0;
    if (c->spill_len > 0) {
      conn_process(w, c, NULL, 0); /* resume parsing the spilled bytes */
    }
    if (!c->paused && !c->recv_armed && !c->close_after &&
        c->state == EDGE_CONN_OPEN) {
      arm_recv(w, c); /* reading was stopped while the queue was full */
    }
  }
  edge_conn_try_send(w, c);
}

/* ======================================================================
 * Receiving and parsing
 * ====================================================================== */

/* slot_reset clears a slot's scalar fields for a new answer; the copied
 * header values and the pending context are valid only through their
 * lengths, which it zeroes. */
static void slot_reset(struct edge_slot *s) {
  memset(s, 0, offsetof(struct edge_slot, if_none_match));
}

/* queue_error queues an HTTP error answer and stops reading: after a
 * framing error the rest of the stream cannot be trusted. */
static void queue_error(struct edge_worker *w, struct edge_conn *c, int status,
                        const char *allow, int head_only) {
  if (c->q_count >= EDGE_PIPELINE) {
    /* No room to say why: deliver what is queued, then close. */
    c->close_after = 1;
    edge_conn_try_send(w, c);
    return;
  }
  struct edge_slot *s = &c->slots[(c->q_head + c->q_count) % EDGE_PIPELINE];
  slot_reset(s);
  s->state = EDGE_SLOT_READY;
  s->keep_alive = 0;
  size_t n = edge_http_write_error(s->head, sizeof(s->head), &w->clock, status,
                                   allow, head_only);
  if (n == 0) {
    conn_close(w, c);
    return;
  }
  s->head_len = (uint16_t)n;
  c->q_count++;
  c->close_after = 1;
  edge_metrics_add(&w->metrics.answers[EDGE_ANS_HTTP_ERROR], 1);
  edge_conn_try_send(w, c);
}

/* pause_reading stops reading from |c| while its answer queue is full:
 * the multishot recv is cancelled so that further bytes wait in the
 * kernel's socket buffer (TCP flow control) instead of piling up here.
 * Reading resumes when answers have been sent (on_send). */
static void pause_reading(struct edge_worker *w, struct edge_conn *c) {
  if (c->paused) {
    return;
  }
  c->paused = 1;
  if (c->recv_armed) {
    struct io_uring_sqe *sqe = get_sqe(w);
    if (sqe != NULL) {
      io_uring_prep_cancel64(sqe, ud(OP_RECV, c->gen, c->idx), 0);
      io_uring_sqe_set_data64(sqe, ud(OP_CANCEL, c->gen, c->idx));
    }
  }
}

/* handle_requests parses and answers whole requests at the start of
 * |buf|; returns the number of bytes consumed. Stops at an incomplete
 * request, a full queue, or an error (then the connection is closing). */
static size_t handle_requests(struct edge_worker *w, struct edge_conn *c,
                              const uint8_t *buf, size_t len) {
  size_t off = 0;
  while (off < len && c->state == EDGE_CONN_OPEN && !c->close_after) {
    if (c->q_count >= EDGE_PIPELINE) {
      pause_reading(w, c);
      break;
    }
    struct edge_http_request req;
    enum edge_http_result r =
        edge_http_parse(&req, (const char *)buf + off, len - off, &w->limits);
    if (r == EDGE_HTTP_INCOMPLETE) {
      break;
    }
    if (r != EDGE_HTTP_OK) {
      const char *allow =
          r == EDGE_HTTP_METHOD_NOT_ALLOWED ? "GET, HEAD, POST" : NULL;
      queue_error(w, c, edge_http_result_status(r), allow,
                  req.method == EDGE_HTTP_HEAD);
      return len;
    }
    if (req.content_length > len - off - req.head_len) {
      /* Body not all here yet. A client that asked for "100 Continue"
       * waits for it before sending the body. */
      if (req.expect_100 && !c->sent_100) {
        struct edge_slot *s =
            &c->slots[(c->q_head + c->q_count) % EDGE_PIPELINE];
        slot_reset(s);
        memcpy(s->head, kContinue, sizeof(kContinue) - 1);
        s->head_len = (uint16_t)(sizeof(kContinue) - 1);
        s->keep_alive = 1;
        s->state = EDGE_SLOT_READY;
        c->q_count++;
        c->sent_100 = 1;
      }
      break;
    }
    c->sent_100 = 0;
    struct edge_slot *s = &c->slots[(c->q_head + c->q_count) % EDGE_PIPELINE];
    slot_reset(s);
    s->start_us = w->now_us;
    c->q_count++;
    edge_metrics_add(&w->metrics.requests, 1);
    edge_answer_request(w, c, s, &req, buf + off + req.head_len);
    off += req.head_len + req.content_length;
    c->deadline_ms = w->now_ms + edge_cfg(w->shared)->header_timeout * 1000;
  }
  return off;
}

/* conn_process handles received bytes |data| (|len|), or with data ==
 * NULL resumes the spilled bytes. */
static void conn_process(struct edge_worker *w, struct edge_conn *c,
                         const uint8_t *data, size_t len) {
  size_t cap = w->spill_size;
  if (c->spill_len == 0 && data != NULL) {
    /* Fast path: whole requests straight from the receive buffer. */
    size_t used = handle_requests(w, c, data, len);
    if (used == len || c->state != EDGE_CONN_OPEN) {
      edge_conn_try_send(w, c);
      return;
    }
    data += used;
    len -= used;
  }
  if (data != NULL && len > 0) {
    if (c->spill == NULL) {
      if (w->spill_free_count == 0) {
        queue_error(w, c, 503, NULL, 0);
        return;
      }
      c->spill = w->spill_free[--w->spill_free_count];
    }
    if (c->spill_len + len > cap) {
      if (c->paused) {
        /* Pipelined bytes that arrived before reading stopped and do not
         * fit: answer what is queued, then close; the client retries the
         * rest on a new connection. */
        c->close_after = 1;
        edge_conn_try_send(w, c);
        return;
      }
      /* One request larger than any valid head + body. */
      queue_error(w, c, 431, NULL, 0);
      return;
    }
    memcpy(c->spill + c->spill_len, data, len);
    c->spill_len += (uint32_t)len;
  }
  if (c->spill_len > 0 && !c->paused) {
    size_t used = handle_requests(w, c, c->spill, c->spill_len);
    if (c->state != EDGE_CONN_OPEN || c->spill == NULL) {
      edge_conn_try_send(w, c);
      return;
    }
    memmove(c->spill, c->spill + used, c->spill_len - used);
    c->spill_len -= (uint32_t)used;
    if (c->spill_len == 0) {
      spill_put(w, c);
    }
  }
  /* A request has started but not finished: it gets header-timeout, on
   * every request of a keep-alive connection, not only the first. */
  if (c->spill_len > 0 && !c->head_started) {
    c->head_started = 1;
    c->deadline_ms = w->now_ms + edge_cfg(w->shared)->header_timeout * 1000;
  } else if (c->spill_len == 0) {
    c->head_started = 0;
  }
  edge_conn_try_send(w, c);
}

static void recycle_buffer(struct edge_worker *w, unsigned bid) {
  io_uring_buf_ring_add(w->br, w->bufs + (size_t)bid * w->buf_size, w->buf_size,
                        (unsigned short)bid,
                        io_uring_buf_ring_mask(w->num_bufs), 0);
  io_uring_buf_ring_advance(w->br, 1);
}

static void on_recv(struct edge_worker *w, struct edge_conn *c, int res,
                    uint32_t flags) {
  int has_buf = (flags & IORING_CQE_F_BUFFER) != 0;
  unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
  if (!(flags & IORING_CQE_F_MORE)) {
    c->recv_armed = 0;
  }
  if (c->state != EDGE_CONN_OPEN) {
    if (has_buf) {
      recycle_buffer(w, bid);
    }
    conn_maybe_free(w, c);
    return;
  }
  if (res > 0 && has_buf) {
    conn_process(w, c, w->bufs + (size_t)bid * w->buf_size, (size_t)res);
    recycle_buffer(w, bid);
  } else if (has_buf) {
    recycle_buffer(w, bid);
  }
  if (res == -ECANCELED) {
    /* pause_reading's cancel. If the queue drained before this arrived,
     * on_send saw recv_armed still set and did not re-arm: do it now. */
    if (!c->paused && !c->close_after && !c->recv_armed) {
      arm_recv(w, c);
    }
    return;
  }
  if (res == 0 || (res < 0 && res != -ENOBUFS && res != -EINTR)) {
    /* Peer closed (or error). Answers still queued are sent only if the
     * peer merely half-closed; simplest and safe: close now. */
    if (res == 0 && c->q_count > 0) {
      c->close_after = 1;
      if (c->state == EDGE_CONN_OPEN && !c->recv_armed) {
        return; /* close when the queue drains */
      }
    }
    conn_close(w, c);
    return;
  }
  if (!c->recv_armed && !c->paused && !c->close_after &&
      c->state == EDGE_CONN_OPEN) {
    arm_recv(w, c); /* ENOBUFS or the kernel ended the multishot */
  }
}

/* ======================================================================
 * Timers
 * ====================================================================== */

static void scan_timeouts(struct edge_worker *w) {
  if (w->accept_paused &&
      !__atomic_load_n(&w->shared->stopping, __ATOMIC_ACQUIRE)) {
    arm_accept(w);
  }
  for (uint32_t i = 0; i < w->max_conns; i++) {
    struct edge_conn *c = &w->conns[i];
    if (c->state != EDGE_CONN_OPEN) {
      continue;
    }
    /* Only connections with nothing queued can time out: a slow answer
     * (Redis) is not the client's fault. */
    if (c->q_count == 0 && c->deadline_ms != 0 && w->now_ms >= c->deadline_ms) {
      edge_metrics_add(&w->metrics.timeouts, 1);
      conn_close(w, c);
      continue;
    }
    /* A client that stopped reading our answers. */
    if (c->send_inflight && w->now_ms >= c->send_deadline_ms) {
      edge_metrics_add(&w->metrics.timeouts, 1);
      conn_close(w, c);
      continue;
    }
    if (!c->recv_armed && !c->close_after && !c->paused) {
      arm_recv(w, c);
    }
  }
}

/* ======================================================================
 * Setup and the loop
 * ====================================================================== */

static int open_listener(const struct edge_config *cfg,
                         const struct vigil_log *log) {
  struct sockaddr_storage ss;
  socklen_t ss_len;
  memset(&ss, 0, sizeof(ss));
  struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, cfg->listen, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)cfg->port);
    ss_len = sizeof(*sin);
  } else if (inet_pton(AF_INET6, cfg->listen, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)cfg->port);
    ss_len = sizeof(*sin6);
  } else {
    VLOG_ERROR(log, "listen: \"%s\" is not an IPv4 or IPv6 address",
               cfg->listen);
    return -1;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  /* One listening socket per worker; the kernel spreads connections. */
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (bind(fd, (struct sockaddr *)&ss, ss_len) != 0 || listen(fd, 4096) != 0) {
    char msg[128];
    VLOG_ERROR(log, "listen %s:%lld: %s", cfg->listen, (long long)cfg->port,
               vigil_strerror(errno, msg, sizeof(msg)));
    close(fd);
    return -1;
  }
  return fd;
}

struct edge_worker *edge_worker_new(struct edge_shared *shared, unsigned idx) {
  const struct edge_config *cfg = shared->cfg;
  struct edge_worker *w = vigil_calloc(1, sizeof(*w));
  if (w == NULL) {
    return NULL;
  }
  w->idx = idx;
  w->shared = shared;
  w->listen_fd = -1;
  edge_http_limits_default(&w->limits);
  w->limits.max_head = (size_t)cfg->max_head;
  w->limits.max_body = (size_t)cfg->max_body;

  struct io_uring_params p;
  memset(&p, 0, sizeof(p));
  /* SINGLE_ISSUER pins the ring to the task that enables it; the ring is
   * made here (main thread) disabled and enabled by the worker thread. */
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
            IORING_SETUP_R_DISABLED;
  w->ring_disabled = 1;
  if (io_uring_queue_init_params(4096, &w->ring, &p) < 0) {
    w->ring_disabled = 0;
    memset(&p, 0, sizeof(p));
    if (io_uring_queue_init_params(4096, &w->ring, &p) < 0) {
      VLOG_ERROR(shared->log, "worker %u: io_uring setup failed", idx);
      vigil_free(w);
      return NULL;
    }
  }
  /* Zero-copy sends (send-zc-min) need IORING_OP_SENDMSG_ZC (Linux 6.1):
   * without it every such send would fail, so they are copied instead. */
  struct io_uring_probe *probe = io_uring_get_probe_ring(&w->ring);
  w->zc_supported =
      probe != NULL && io_uring_opcode_supported(probe, IORING_OP_SENDMSG_ZC);
  if (probe != NULL) {
    io_uring_free_probe(probe);
  }
  if (!w->zc_supported && cfg->send_zc_min > 0 && idx == 0) {
    VLOG_WARN(shared->log,
              "send-zc-min is set but this kernel has no zero-copy sendmsg "
              "for io_uring: answers are copied");
  }
  w->listen_fd = open_listener(cfg, shared->log);
  if (w->listen_fd < 0) {
    goto err;
  }

  /* Provided buffers: 16 KiB each holds any request head and body. */
  w->num_bufs = 1024;
  w->buf_size = 16384;
  size_t br_size = w->num_bufs * sizeof(struct io_uring_buf);
  w->br = vigil_calloc(1, br_size + 4096);
  w->bufs = vigil_malloc((size_t)w->num_bufs * w->buf_size);
  if (w->br == NULL || w->bufs == NULL) {
    goto err;
  }
  /* The ring must be page aligned: use an aligned region inside br. */
  {
    void *aligned = NULL;
    if (posix_memalign(&aligned, 4096, br_size) != 0) {
      goto err;
    }
    vigil_free(w->br);
    w->br = aligned;
    memset(w->br, 0, br_size);
  }
  io_uring_buf_ring_init(w->br);
  struct io_uring_buf_reg reg;
  memset(&reg, 0, sizeof(reg));
  reg.ring_addr = (uint64_t)(uintptr_t)w->br;
  reg.ring_entries = w->num_bufs;
  reg.bgid = BGID;
  if (io_uring_register_buf_ring(&w->ring, &reg, 0) != 0) {
    VLOG_ERROR(shared->log, "worker %u: cannot register buffer ring", idx);
    goto err;
  }
  for (uint32_t i = 0; i < w->num_bufs; i++) {
    io_uring_buf_ring_add(w->br, w->bufs + (size_t)i * w->buf_size, w->buf_size,
                          (unsigned short)i,
                          io_uring_buf_ring_mask(w->num_bufs), (int)i);
  }
  io_uring_buf_ring_advance(w->br, (int)w->num_bufs);

  /* Connection slab and free list. */
  w->max_conns = (uint32_t)cfg->max_connections;
  w->conns = vigil_calloc(w->max_conns, sizeof(struct edge_conn));
  if (w->conns == NULL) {
    goto err;
  }
  w->free_head = UINT32_MAX;
  for (uint32_t i = w->max_conns; i-- > 0;) {
    w->conns[i].idx = i;
    w->conns[i].fd = -1;
    w->conns[i].next_free = w->free_head;
    w->free_head = i;
  }

  /* Spill buffers: enough for a maximal head + body. */
  uint32_t num_spill = w->max_conns < 1024 ? w->max_conns : 1024;
  /* Spill buffers hold a maximal request, or two receive buffers of
   * pipelined requests that arrived before reading paused. */
  w->spill_size = (uint32_t)(cfg->max_head + cfg->max_body);
  if (w->spill_size < 2 * w->buf_size) {
    w->spill_size = 2 * w->buf_size;
  }
  w->spill_mem = vigil_malloc((size_t)num_spill * w->spill_size);
  w->spill_free = vigil_calloc(num_spill, sizeof(uint8_t *));
  if (w->spill_mem == NULL || w->spill_free == NULL) {
    goto err;
  }
  for (uint32_t i = 0; i < num_spill; i++) {
    w->spill_free[w->spill_free_count++] =
        w->spill_mem + (size_t)i * w->spill_size;
  }

  w->scratch_size = (size_t)cfg->max_head + (size_t)cfg->max_body;
  w->scratch = vigil_malloc(w->scratch_size);
  if (w->scratch == NULL) {
    goto err;
  }
  w->l2 = edge_l2_new(&w->ring, ud(OP_L2, 0, 0), cfg->redis_host,
                      (int)cfg->redis_port, shared->log);
  if (w->l2 == NULL || !edge_answer_init(w)) {
    goto err;
  }
  refresh_clock(w);
  return w;

err:
  edge_worker_free(w);
  return NULL;
}

/* dispatch handles one completion. */
static void dispatch(struct edge_worker *w, const struct io_uring_cqe *cqe) {
  uint64_t u = cqe->user_data;
  enum op op = (enum op)(u >> UD_OP_SHIFT);
  uint32_t idx = (uint32_t)(u & UD_IDX_MASK);
  uint32_t gen = (uint32_t)((u >> UD_GEN_SHIFT) & UD_GEN_MASK);
  switch (op) {
    case OP_ACCEPT:
      if (!__atomic_load_n(&w->shared->stopping, __ATOMIC_ACQUIRE)) {
        on_accept(w, cqe->res, cqe->flags);
      } else if (cqe->res >= 0) {
        close(cqe->res); /* draining: no new connections */
      }
      break;
    case OP_RECV:
      if (idx < w->max_conns && w->conns[idx].gen == gen) {
        on_recv(w, &w->conns[idx], cqe->res, cqe->flags);
      } else if (cqe->flags & IORING_CQE_F_BUFFER) {
        recycle_buffer(w, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
      }
      break;
    case OP_SEND:
      if (idx < w->max_conns && w->conns[idx].gen == gen) {
        struct edge_conn *c = &w->conns[idx];
        if (cqe->flags & IORING_CQE_F_NOTIF) {
          /* The zero-copy send's buffers are released by the kernel: now
           * its result counts. */
          c->zc_wait = 0;
          on_send(w, c, c->zc_res);
        } else if (cqe->flags & IORING_CQE_F_MORE) {
          c->zc_res = cqe->res; /* a notification follows */
          c->zc_wait = 1;
        } else {
          on_send(w, c, cqe->res);
        }
      }
      break;
    case OP_L2:
      edge_l2_complete(w->l2, u, cqe->res);
      break;
    default:
      break;
  }
}

/* loop_once waits for completions (at most |wait_ms|) and handles them,
 * then runs queued signatures, timers and the L1 quiescent state. Returns
 * 0 if the ring failed. */
static int loop_once(struct edge_worker *w, int64_t *next_scan_ms,
                     long wait_ms) {
  struct edge_shared *sh = w->shared;
  struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = wait_ms * 1000000L };
  struct io_uring_cqe *cqe = NULL;
  /* Blocked in the ring this thread holds no L1 pointer: offline, so an
   * idle worker does not delay the reuse of evicted cache memory. */
  edge_answer_flush_l1(w); /* nothing parked while blocked */
  edge_l1_thread_offline(sh->l1, w->idx);
  edge_qsbr_offline(sh->rcu, w->idx);
  int r = io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &ts, NULL);
  edge_qsbr_online(sh->rcu, w->idx);
  edge_l1_thread_online(sh->l1, w->idx);
  if (r < 0 && r != -ETIME && r != -EINTR && r != -EBUSY) {
    VLOG_ERROR(sh->log, "worker %u: io_uring wait failed (%d)", w->idx, r);
    return 0;
  }
  refresh_clock(w);
  unsigned head;
  unsigned count = 0;
  io_uring_for_each_cqe(&w->ring, head, cqe) {
    count++;
    dispatch(w, cqe);
  }
  io_uring_cq_advance(&w->ring, count);
  edge_answer_flush_l1(w); /* the batch's L1 hits, memory accesses overlapped */
  edge_answer_run_jobs(w);
  if (w->now_ms >= *next_scan_ms) {
    *next_scan_ms = w->now_ms + 250;
    scan_timeouts(w);
    edge_l2_tick(w->l2, w->now_ms);
  }
  /* Between batches this thread holds no L1 reference it has not recorded
   * in a slot: a quiescent state for reclamation. */
  edge_l1_quiescent(sh->l1, w->idx);
  edge_qsbr_quiescent(sh->rcu, w->idx); /* no issuer pointer held either */
  return 1;
}

/* drain stops accepting, lets every connection finish the answers it has
 * queued (no new requests are read) for up to DRAIN_MS, then closes. */
static void drain(struct edge_worker *w, int64_t *next_scan_ms) {
  /* A shut-down listening socket fails the pending multishot accept. */
  shutdown(w->listen_fd, SHUT_RD);
  for (uint32_t i = 0; i < w->max_conns; i++) {
    struct edge_conn *c = &w->conns[i];
    if (c->state == EDGE_CONN_OPEN) {
      c->close_after = 1;
      if (c->q_count == 0) {
        conn_close(w, c);
      }
    }
  }
  int64_t deadline = w->now_ms + DRAIN_MS;
  while (w->open_conns > 0 && w->now_ms < deadline) {
    if (!loop_once(w, next_scan_ms, 50)) {
      break;
    }
  }
}

/* worker_failed takes a worker that cannot run out of service: its
 * listening socket is closed so the kernel stops routing connections to
 * it, and /readyz reports it. */
static void worker_failed(struct edge_worker *w) {
  shutdown(w->listen_fd, SHUT_RDWR);
  __atomic_store_n(&w->failed, 1, __ATOMIC_RELEASE);
}

static void *worker_main(void *arg) {
  struct edge_worker *w = arg;
  struct edge_shared *sh = w->shared;
  /* liburing 2.3 declares io_uring_enable_rings but does not export it:
   * issue the register opcode directly. */
  if (w->ring_disabled && syscall(__NR_io_uring_register, w->ring.ring_fd,
                                  IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0) {
    VLOG_ERROR(sh->log, "worker %u: cannot enable the io_uring", w->idx);
    worker_failed(w);
    return NULL;
  }
  arm_accept(w);
  if (!edge_l1_thread_register(sh->l1, w->idx)) {
    VLOG_ERROR(sh->log, "worker %u: cannot register with L1", w->idx);
    worker_failed(w);
    return NULL;
  }
  if (!edge_qsbr_register(sh->rcu, w->idx)) {
    VLOG_ERROR(sh->log, "worker %u: cannot register for issuer snapshots",
               w->idx);
    edge_l1_thread_unregister(sh->l1, w->idx);
    worker_failed(w);
    return NULL;
  }
  int64_t next_scan_ms = 0;
  while (!__atomic_load_n(&sh->stopping, __ATOMIC_ACQUIRE)) {
    if (!loop_once(w, &next_scan_ms, 100)) {
      break;
    }
  }
  drain(w, &next_scan_ms);
  /* Whatever is left after the drain time is closed hard. */
  for (uint32_t i = 0; i < w->max_conns; i++) {
    struct edge_conn *c = &w->conns[i];
    if (c->state != EDGE_CONN_FREE) {
      shutdown(c->fd, SHUT_RDWR);
      close(c->fd);
      release_queue(w, c);
      spill_put(w, c);
      c->state = EDGE_CONN_FREE;
    }
  }
  edge_qsbr_unregister(sh->rcu, w->idx);
  edge_l1_thread_unregister(sh->l1, w->idx);
  return NULL;
}

int edge_worker_start(struct edge_worker *w) {
  return pthread_create(&w->thread, NULL, worker_main, w) == 0;
}

void edge_worker_join(struct edge_worker *w) {
  pthread_join(w->thread, NULL);
}

void edge_worker_free(struct edge_worker *w) {
  if (w == NULL) {
    return;
  }
  /* The Redis link first: freeing it runs the callbacks of lookups still
   * in flight, which use the lookup pool edge_answer_cleanup frees. */
  edge_l2_free(w->l2);
  w->l2 = NULL;
  edge_answer_cleanup(w);
  if (w->ring.ring_fd > 0) {
    io_uring_queue_exit(&w->ring);
  }
  if (w->listen_fd >= 0) {
    close(w->listen_fd);
  }
  free(w->br); /* posix_memalign */
  vigil_free(w->bufs);
  vigil_free(w->conns);
  vigil_free(w->spill_mem);
  vigil_free(w->spill_free);
  vigil_free(w->scratch);
  vigil_free(w);
}
