/* bench_nullserver.c: the ceiling for bench/edge/run.sh — an HTTP/1.1
 * server on io_uring that does no work: every request (each "\r\n\r\n") is
 * answered with the same fixed bytes, of the size of a typical edge answer
 * (status line, headers and an OCSP response).
 *
 * It is built like the edge's event loop, so the difference between the two
 * is the edge's own work: one thread and one ring per core with its own
 * SO_REUSEPORT listener, IORING_SETUP_SINGLE_ISSUER | COOP_TASKRUN, a
 * multishot accept, a multishot recv per connection into a provided-buffer
 * ring (io_uring_register_buf_ring + io_uring_buf_ring_init: liburing 2.3
 * has no io_uring_setup_buf_ring), sends from one static buffer, and
 * completions handled in batches with one CQ advance per batch.
 *
 *   bench_nullserver --port P [--size BYTES] [--threads N] [--listen ADDR]
 *
 * It runs until killed (SIGTERM/SIGINT end it; there is no state to save).
 * Without arguments (as `make bench` runs every bench program) it prints
 * what it is for and exits 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vigil/alloc.h"

#define RING_ENTRIES  4096
#define NUM_BUFS      1024 /* provided buffers per ring (power of two) */
#define BUF_SIZE      4096
#define BUF_GROUP     0
#define MAX_FD        65536 /* connections are indexed by fd */
#define COPIES        16    /* responses in the send buffer back to back */
#define MAX_RESP_SIZE 16384

/* user_data: operation in the top byte, fd below. */
enum op {
  OP_ACCEPT = 1,
  OP_RECV = 2,
  OP_SEND = 3,
};

struct conn {
  uint64_t owed;   /* response bytes still to send */
  uint64_t sent;   /* response bytes sent so far (position in the stream) */
  uint8_t sending; /* a send is in flight */
  uint8_t closing; /* recv ended: close once the send completes */
  uint8_t match;   /* bytes of "\r\n\r\n" matched at the end of the data */
};

struct server {
  struct sockaddr_in addr;
  const uint8_t *resp; /* COPIES responses back to back */
  size_t resp_len;     /* one response */
};

struct worker {
  const struct server *srv;
  struct io_uring ring;
  struct io_uring_buf_ring *br;
  uint8_t *bufs;
  struct conn *conns; /* MAX_FD */
  int listen_fd;
};

static uint64_t make_ud(enum op op, int fd) {
  return ((uint64_t)op << 56) | (uint32_t)fd;
}

static struct io_uring_sqe *get_sqe(struct io_uring *ring) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
  if (sqe == NULL) {
    io_uring_submit(ring);
    sqe = io_uring_get_sqe(ring);
  }
  return sqe;
}

static void arm_accept(struct worker *w) {
  struct io_uring_sqe *sqe = get_sqe(&w->ring);
  io_uring_prep_multishot_accept(sqe, w->listen_fd, NULL, NULL, 0);
  io_uring_sqe_set_data64(sqe, make_ud(OP_ACCEPT, w->listen_fd));
}

static void arm_recv(struct worker *w, int fd) {
  struct io_uring_sqe *sqe = get_sqe(&w->ring);
  io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = BUF_GROUP;
  io_uring_sqe_set_data64(sqe, make_ud(OP_RECV, fd));
}

/* Send what |fd| owes, from where the byte stream stands. */
static void send_owed(struct worker *w, int fd) {
  struct conn *c = &w->conns[fd];
  size_t rl = w->srv->resp_len;
  size_t off = (size_t)(c->sent % rl);
  size_t len = COPIES * rl - off;
  if (len > c->owed) {
    len = (size_t)c->owed;
  }
  struct io_uring_sqe *sqe = get_sqe(&w->ring);
  io_uring_prep_send(sqe, fd, w->srv->resp + off, len, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, make_ud(OP_SEND, fd));
  c->sending = 1;
}

static void close_conn(struct worker *w, int fd) {
  memset(&w->conns[fd], 0, sizeof(w->conns[fd]));
  close(fd);
}

/* Count request ends ("\r\n\r\n") in |p|, carrying a partial match across
 * buffers in |c->match|. */
static unsigned count_requests(struct conn *c, const uint8_t *p, size_t n) {
  static const char kEnd[4] = { '\r', '\n', '\r', '\n' };
  unsigned found = 0;
  unsigned m = c->match;
  for (size_t i = 0; i < n; i++) {
    if (p[i] == (uint8_t)kEnd[m]) {
      m++;
      if (m == 4) {
        found++;
        m = 0;
      }
    } else {
      m = p[i] == '\r' ? 1 : 0;
    }
  }
  c->match = (uint8_t)m;
  return found;
}

static void recycle(struct worker *w, unsigned bid) {
  io_uring_buf_ring_add(w->br, w->bufs + (size_t)bid * BUF_SIZE, BUF_SIZE,
                        (unsigned short)bid, io_uring_buf_ring_mask(NUM_BUFS),
                        0);
  io_uring_buf_ring_advance(w->br, 1);
}

static void on_cqe(struct worker *w, const struct io_uring_cqe *cqe) {
  uint64_t ud = io_uring_cqe_get_data64(cqe);
  enum op op = (enum op)(ud >> 56);
  int fd = (int)(uint32_t)ud;
  int more = (cqe->flags & IORING_CQE_F_MORE) != 0;
  if (op == OP_ACCEPT) {
    if (cqe->res >= 0) {
      int cfd = cqe->res;
      if (cfd >= MAX_FD) {
        close(cfd);
      } else {
        int one = 1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        memset(&w->conns[cfd], 0, sizeof(w->conns[cfd]));
        arm_recv(w, cfd);
      }
    }
    if (!more) {
      arm_accept(w);
    }
    return;
  }
  struct conn *c = &w->conns[fd];
  if (op == OP_RECV) {
    if (cqe->res > 0) {
      unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
      unsigned n =
          count_requests(c, w->bufs + (size_t)bid * BUF_SIZE, (size_t)cqe->res);
      recycle(w, bid);
      c->owed += (uint64_t)n * w->srv->resp_len;
      if (c->owed > 0 && !c->sending) {
        send_owed(w, fd);
      }
      if (!more) {
        arm_recv(w, fd);
      }
      return;
    }
    if (cqe->res == -ENOBUFS) {
      if (!more) {
        arm_recv(w, fd);
      }
      return;
    }
    if (more) {
      return;
    }
    /* EOF or error: the multishot recv has ended. */
    if (c->sending) {
      c->closing = 1;
    } else {
      close_conn(w, fd);
    }
    return;
  }
  /* OP_SEND */
  c->sending = 0;
  if (c->closing) {
    close_conn(w, fd);
    return;
  }
  if (cqe->res <= 0) {
    /* The peer is gone: shutting down ends the armed recv, whose final
     * completion closes the socket. */
    shutdown(fd, SHUT_RDWR);
    c->owed = 0;
    return;
  }
  c->sent += (uint64_t)cqe->res;
  c->owed -= (uint64_t)cqe->res;
  if (c->owed > 0) {
    send_owed(w, fd);
  }
}

static int open_listener(const struct server *srv) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (bind(fd, (const struct sockaddr *)&srv->addr, sizeof(srv->addr)) != 0 ||
      listen(fd, 4096) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void *run_worker(void *arg) {
  struct worker *w = arg;
  struct io_uring_params p;
  memset(&p, 0, sizeof(p));
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
  if (io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p) < 0) {
    memset(&p, 0, sizeof(p));
    if (io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p) < 0) {
      fprintf(stderr, "bench_nullserver: io_uring_queue_init failed\n");
      return NULL;
    }
  }
  size_t br_len = NUM_BUFS * sizeof(struct io_uring_buf);
  void *br = mmap(NULL, br_len, PROT_READ | PROT_WRITE,
                  MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (br == MAP_FAILED) {
    fprintf(stderr, "bench_nullserver: mmap failed\n");
    return NULL;
  }
  w->br = br;
  struct io_uring_buf_reg reg;
  memset(&reg, 0, sizeof(reg));
  reg.ring_addr = (unsigned long)(uintptr_t)br;
  reg.ring_entries = NUM_BUFS;
  reg.bgid = BUF_GROUP;
  if (io_uring_register_buf_ring(&w->ring, &reg, 0) != 0) {
    fprintf(stderr, "bench_nullserver: io_uring_register_buf_ring failed\n");
    return NULL;
  }
  io_uring_buf_ring_init(w->br);
  for (unsigned i = 0; i < NUM_BUFS; i++) {
    io_uring_buf_ring_add(w->br, w->bufs + (size_t)i * BUF_SIZE, BUF_SIZE,
                          (unsigned short)i, io_uring_buf_ring_mask(NUM_BUFS),
                          (int)i);
  }
  io_uring_buf_ring_advance(w->br, NUM_BUFS);
  arm_accept(w);
  for (;;) {
    int rc = io_uring_submit_and_wait(&w->ring, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      fprintf(stderr, "bench_nullserver: io_uring_submit_and_wait: %d\n", rc);
      return NULL;
    }
    struct io_uring_cqe *cqe;
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&w->ring, head, cqe) {
      on_cqe(w, cqe);
      seen++;
    }
    io_uring_cq_advance(&w->ring, seen);
  }
  return NULL;
}

static int parse_long(long *out, const char *s, long min, long max) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
    return 0;
  }
  *out = v;
  return 1;
}

/* The fixed answer: a status line and headers like the edge's, then
 * filler, |size| bytes in all. */
static size_t build_response(uint8_t *out, size_t cap, size_t size) {
  static const char kHead[] =
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: application/ocsp-response\r\n"
      "Content-Length: ";
  size_t head_len = sizeof(kHead) - 1;
  /* Content-Length digits depend on the body length, which depends on
   * them: try each digit count. */
  for (size_t digits = 1; digits <= 5; digits++) {
    size_t fixed = head_len + digits + 4;
    if (size <= fixed) {
      continue;
    }
    size_t body = size - fixed;
    char num[16];
    int n = snprintf(num, sizeof(num), "%zu", body);
    if (n != (int)digits || size > cap) {
      continue;
    }
    memcpy(out, kHead, head_len);
    memcpy(out + head_len, num, digits);
    memcpy(out + head_len + digits, "\r\n\r\n", 4);
    memset(out + fixed, 'x', body);
    return size;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 1) {
    printf(
        "bench_nullserver: the null io_uring HTTP server (the ceiling) "
        "for bench/edge/run.sh;\n"
        "usage: bench_nullserver --port P [--size BYTES] [--threads N] "
        "[--listen ADDR]\n");
    return 0;
  }
  long port = -1;
  long size = 700;
  long threads = sysconf(_SC_NPROCESSORS_ONLN);
  const char *listen_addr = "127.0.0.1";
  for (int i = 1; i < argc; i += 2) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int ok = v != NULL;
    if (ok && strcmp(a, "--port") == 0) {
      ok = parse_long(&port, v, 1, 65535);
    } else if (ok && strcmp(a, "--size") == 0) {
      ok = parse_long(&size, v, 64, MAX_RESP_SIZE);
    } else if (ok && strcmp(a, "--threads") == 0) {
      ok = parse_long(&threads, v, 1, 256);
    } else if (ok && strcmp(a, "--listen") == 0) {
      listen_addr = v;
    } else {
      ok = 0;
    }
    if (!ok) {
      fprintf(stderr, "bench_nullserver: bad or unknown option %s\n", a);
      return 2;
    }
  }
  if (port < 0 || threads < 1) {
    fprintf(stderr, "bench_nullserver: --port is required\n");
    return 2;
  }

  struct server srv;
  memset(&srv, 0, sizeof(srv));
  srv.addr.sin_family = AF_INET;
  srv.addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, listen_addr, &srv.addr.sin_addr) != 1) {
    fprintf(stderr, "bench_nullserver: bad --listen address\n");
    return 2;
  }
  uint8_t one[MAX_RESP_SIZE];
  size_t rl = build_response(one, sizeof(one), (size_t)size);
  uint8_t *resp = vigil_malloc(COPIES * (size_t)MAX_RESP_SIZE);
  struct worker *ws = vigil_calloc((size_t)threads, sizeof(*ws));
  pthread_t *tids = vigil_calloc((size_t)threads, sizeof(*tids));
  if (rl == 0 || resp == NULL || ws == NULL || tids == NULL) {
    fprintf(stderr, "bench_nullserver: cannot build the response\n");
    return 1;
  }
  for (size_t i = 0; i < COPIES; i++) {
    memcpy(resp + i * rl, one, rl);
  }
  srv.resp = resp;
  srv.resp_len = rl;

  for (long t = 0; t < threads; t++) {
    struct worker *w = &ws[t];
    w->srv = &srv;
    w->listen_fd = open_listener(&srv);
    w->bufs = vigil_malloc((size_t)NUM_BUFS * BUF_SIZE);
    w->conns = vigil_calloc(MAX_FD, sizeof(struct conn));
    if (w->listen_fd < 0 || w->bufs == NULL || w->conns == NULL) {
      fprintf(stderr, "bench_nullserver: cannot listen on %s:%ld\n",
              listen_addr, port);
      return 1;
    }
  }
  for (long t = 0; t < threads; t++) {
    if (pthread_create(&tids[t], NULL, run_worker, &ws[t]) != 0) {
      fprintf(stderr, "bench_nullserver: pthread_create failed\n");
      return 1;
    }
  }
  printf("bench_nullserver: %ld threads on %s:%ld, %zu-byte answers\n", threads,
         listen_addr, port, rl);
  fflush(stdout);
  for (long t = 0; t < threads; t++) {
    pthread_join(tids[t], NULL);
  }
  /* Workers only return on a ring failure. */
  return 1;
}
