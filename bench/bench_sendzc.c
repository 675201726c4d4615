/* bench_sendzc.c: when does a zero-copy send pay off? The measurement
 * behind vigil-edge --send-zc-min: answers at least that large (CRLs) go
 * out with IORING_OP_SENDMSG_ZC, smaller ones are copied.
 *
 * One TCP connection over loopback; a reader thread drains it with
 * blocking recv. The sender sends one buffer of SIZE bytes at a time
 * through io_uring, exactly as the edge does: IORING_OP_SENDMSG (the
 * kernel copies the bytes into socket buffers) or IORING_OP_SENDMSG_ZC
 * (the kernel pins our pages and sends from them; the buffer may be reused
 * only after the notification completion). Both modes alternate in rounds.
 *
 * Columns per size: the sender's CPU time per KiB sent with a copy and
 * with zero copy (CLOCK_THREAD_CPUTIME_ID of the sending thread: what the
 * edge's worker pays), their ratio, and the reader's CPU per KiB. On
 * loopback the receiving side copies zero-copy pages anyway (the kernel
 * cannot hand pinned user pages to another socket), so the reader's column
 * and the total say nothing about a NIC; the sender's column is what the
 * edge saves. The threshold printed is the smallest size where zero copy
 * costs the sender less and, over that size and all larger ones, at
 * least 10 % less in the median.
 *
 *   bench_sendzc [--seconds S] [--connect HOST:PORT]
 *
 * --seconds: per size, mode and round (default 0.3). --connect: send to a
 * sink at HOST:PORT instead of a loopback reader, to measure through a
 * real NIC: start one on another machine that accepts many connections
 * and discards what it reads, e.g. `socat -u TCP-LISTEN:9999,fork,reuseaddr
 * OPEN:/dev/null`; the reader columns are then empty.
 *
 * Measurements, not a test: the exit status only says whether the
 * machine could run it. */
#include <errno.h>
#include <liburing.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 5

static const size_t kSizes[] = { 1024,  4096,   8192,   16384,  32768,
                                 65536, 131072, 262144, 1048576 };
#define NUM_SIZES (sizeof(kSizes) / sizeof(kSizes[0]))
#define MAX_SIZE  1048576

struct reader {
  int fd;
  double cpu_s; /* CPU time of the reader thread when it saw EOF */
  unsigned long long bytes;
};

static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *reader_main(void *arg) {
  struct reader *r = arg;
  static uint8_t buf[MAX_SIZE];
  for (;;) {
    ssize_t n = recv(r->fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) {
        continue;
      }
      break;
    }
    r->bytes += (unsigned long long)n;
  }
  r->cpu_s = thread_cpu_s();
  return NULL;
}

/* A connected loopback TCP pair: |*out_tx| to send on, |*out_rx| to read. */
static int tcp_pair(int *out_tx, int *out_rx) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  if (l < 0) {
    return 0;
  }
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof(a);
  int tx = -1, rx = -1;
  if (bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 1) == 0 &&
      getsockname(l, (struct sockaddr *)&a, &alen) == 0) {
    tx = socket(AF_INET, SOCK_STREAM, 0);
    if (tx >= 0 && connect(tx, (struct sockaddr *)&a, sizeof(a)) == 0) {
      rx = accept(l, NULL, NULL);
    }
  }
  close(l);
  if (rx < 0) {
    if (tx >= 0) {
      close(tx);
    }
    return 0;
  }
  int one = 1;
  setsockopt(tx, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  *out_tx = tx;
  *out_rx = rx;
  return 1;
}

/* connect_to opens a TCP connection to |target| ("HOST:PORT"). Returns
 * the socket or -1. */
static int connect_to(const char *target) {
  char host[256];
  const char *colon = strrchr(target, ':');
  if (colon == NULL || (size_t)(colon - target) >= sizeof(host) ||
      colon == target) {
    return -1;
  }
  memcpy(host, target, (size_t)(colon - target));
  host[colon - target] = '\0';
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, colon + 1, &hints, &res) != 0) {
    return -1;
  }
  int fd = -1;
  for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd >= 0) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  return fd;
}

/* send_one sends |len| bytes of |buf| on |fd| (partial sends continued)
 * and, for zero copy, waits for every notification, so |buf| is free
 * again on return. Returns 0 on a failed send. */
static int send_one(struct io_uring *ring, int fd, const uint8_t *buf,
                    size_t len, int zc) {
  size_t off = 0;
  unsigned notifs = 0;
  while (off < len) {
    struct iovec iov = { .iov_base = (void *)(buf + off),
                         .iov_len = len - off };
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (zc) {
      io_uring_prep_sendmsg_zc(sqe, fd, &msg, MSG_NOSIGNAL);
    } else {
      io_uring_prep_sendmsg(sqe, fd, &msg, MSG_NOSIGNAL);
    }
    io_uring_submit(ring);
    /* The result; for zero copy a notification follows (F_MORE). */
    struct io_uring_cqe *cqe;
    for (;;) {
      if (io_uring_wait_cqe(ring, &cqe) != 0) {
        return 0;
      }
      if (cqe->flags & IORING_CQE_F_NOTIF) {
        notifs--;
        io_uring_cqe_seen(ring, cqe);
        continue;
      }
      break;
    }
    int res = cqe->res;
    if (cqe->flags & IORING_CQE_F_MORE) {
      notifs++;
    }
    io_uring_cqe_seen(ring, cqe);
    if (res < 0) {
      if (res == -EINTR || res == -EAGAIN) {
        continue;
      }
      return 0;
    }
    off += (size_t)res;
  }
  while (notifs > 0) {
    struct io_uring_cqe *cqe;
    if (io_uring_wait_cqe(ring, &cqe) != 0) {
      return 0;
    }
    if (cqe->flags & IORING_CQE_F_NOTIF) {
      notifs--;
    }
    io_uring_cqe_seen(ring, cqe);
  }
  return 1;
}

struct result {
  double send_ns_per_kib; /* sender CPU */
  double recv_ns_per_kib; /* reader CPU */
};

/* run_one measures one size and mode on a fresh connection for |secs|:
 * to |target| if not NULL, else to a loopback reader thread (whose CPU is
 * then measured too; recv_ns_per_kib is -1 without one). */
static int run_one(struct result *out, struct io_uring *ring,
                   const uint8_t *buf, size_t size, int zc, double secs,
                   const char *target) {
  int tx, rx = -1;
  struct reader r = { .fd = -1, .cpu_s = 0, .bytes = 0 };
  pthread_t t;
  if (target != NULL) {
    tx = connect_to(target);
    if (tx < 0) {
      fprintf(stderr, "bench_sendzc: cannot connect to %s\n", target);
      return 0;
    }
  } else {
    if (!tcp_pair(&tx, &rx)) {
      return 0;
    }
    r.fd = rx;
    /* The reader's CPU clock starts at 0 for its thread. */
    if (pthread_create(&t, NULL, reader_main, &r) != 0) {
      close(tx);
      close(rx);
      return 0;
    }
  }
  unsigned long long sent = 0;
  double c0 = thread_cpu_s();
  double end = mono_s() + secs;
  int ok = 1;
  while (ok && mono_s() < end) {
    ok = send_one(ring, tx, buf, size, zc);
    sent += size;
  }
  double c1 = thread_cpu_s();
  shutdown(tx, SHUT_WR);
  if (rx >= 0) {
    pthread_join(t, NULL);
    close(rx);
  }
  close(tx);
  if (!ok || sent == 0) {
    return 0;
  }
  double kib = (double)sent / 1024.0;
  out->send_ns_per_kib = (c1 - c0) * 1e9 / kib;
  out->recv_ns_per_kib = rx >= 0 ? r.cpu_s * 1e9 / kib : -1;
  return 1;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
  qsort(v, n, sizeof(*v), cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
  double secs = 0.3;
  const char *target = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      char *end = NULL;
      secs = strtod(argv[++i], &end);
      if (end == argv[i] || *end != '\0') {
        secs = -1; /* refused below */
      }
    } else if (strcmp(argv[i], "--connect") == 0 && i + 1 < argc) {
      target = argv[++i];
    } else {
      fprintf(stderr,
              "usage: bench_sendzc [--seconds S] [--connect HOST:PORT]\n");
      return 2;
    }
  }
  if (!(secs > 0 && secs <= 60)) {
    fprintf(stderr, "bench_sendzc: --seconds must be in (0, 60]\n");
    return 2;
  }
  struct io_uring ring;
  if (io_uring_queue_init(64, &ring, 0) != 0) {
    fprintf(stderr, "bench_sendzc: no io_uring here\n");
    return 1;
  }
  uint8_t *buf = aligned_alloc(4096, MAX_SIZE);
  if (buf == NULL) {
    return 1;
  }
  for (size_t i = 0; i < MAX_SIZE; i++) {
    buf[i] = (uint8_t)(i * 131u);
  }
  double send[2][NUM_SIZES][ROUNDS], recv_[2][NUM_SIZES][ROUNDS];
  for (int round = 0; round < ROUNDS; round++) {
    for (size_t s = 0; s < NUM_SIZES; s++) {
      for (int k = 0; k < 2; k++) {
        int zc = (k + round) % 2; /* alternate which mode goes first */
        struct result res;
        if (!run_one(&res, &ring, buf, kSizes[s], zc, secs, target)) {
          fprintf(stderr, "bench_sendzc: %s send of %zu bytes failed\n",
                  zc ? "zero-copy" : "copying", kSizes[s]);
          return 1;
        }
        send[zc][s][round] = res.send_ns_per_kib;
        recv_[zc][s][round] = res.recv_ns_per_kib;
      }
    }
  }
  printf(
      "sender CPU per KiB sent over TCP to %s, io_uring SENDMSG vs "
      "SENDMSG_ZC (median of %d rounds x %.1f s)\n",
      target != NULL ? target : "a loopback reader", ROUNDS, secs);
  printf("%10s %14s %14s %9s %14s %14s\n", "bytes", "copy ns/KiB", "zc ns/KiB",
         "zc/copy", "reader copy", "reader zc");
  double ratio[NUM_SIZES];
  for (size_t s = 0; s < NUM_SIZES; s++) {
    double c = median(send[0][s], ROUNDS), z = median(send[1][s], ROUNDS);
    double rc = median(recv_[0][s], ROUNDS), rz = median(recv_[1][s], ROUNDS);
    ratio[s] = z / c;
    if (target != NULL) {
      printf("%10zu %14.1f %14.1f %9.2f %14s %14s\n", kSizes[s], c, z, ratio[s],
             "-", "-");
    } else {
      printf("%10zu %14.1f %14.1f %9.2f %14.1f %14.1f\n", kSizes[s], c, z,
             ratio[s], rc, rz);
    }
  }
  /* The smallest size at which zero copy costs the sender less and, over
   * it and every larger size, costs at least 10 % less in the median (one
   * noisy size does not decide alone). */
  size_t threshold = 0;
  for (size_t s = 0; s < NUM_SIZES && threshold == 0; s++) {
    double tail[NUM_SIZES];
    size_t n = 0;
    for (size_t k = s; k < NUM_SIZES; k++) {
      tail[n++] = ratio[k];
    }
    if (ratio[s] < 1.0 && median(tail, n) < 0.9) {
      threshold = kSizes[s];
    }
  }
  if (threshold != 0) {
    printf(
        "zero copy costs the sender less from about %zu bytes up "
        "(vigil-edge --send-zc-min)\n",
        threshold);
  } else {
    printf("zero copy never cost the sender less here\n");
  }
  io_uring_queue_exit(&ring);
  free(buf);
  return 0;
}
