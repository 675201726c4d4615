/* admin.c: the admin listener thread (see admin.h).
 *
 * One thread, one poll() loop over an eventfd (the stop signal), the
 * listening socket and at most EDGE_ADMIN_MAX_CONNS client sockets, all
 * non-blocking. A connection goes READ (collect the request head) ->
 * WRITE (send one answer) -> DRAIN (half-closed; wait for the client's
 * EOF so unread request bytes cannot turn our close into a RST that
 * destroys the answer) -> closed. Every state has a deadline. The traffic
 * is a few scrapes a second, so simplicity wins over speed here: the
 * request line is parsed by hand, each answer is one small allocation. */
#include "admin.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vigil/alloc.h"

/* Connections accepted per loop round, so a connect flood cannot starve
 * the connections already open. */
#define ACCEPT_BATCH 16
/* How long a half-closed connection may wait for the client's EOF. */
#define DRAIN_MS 1000
/* Room for the status line and headers of an answer. */
#define HEAD_ROOM 256

enum conn_state {
  CONN_FREE = 0, /* slot unused */
  CONN_READ,     /* collecting the request head */
  CONN_WRITE,    /* sending the answer */
  CONN_DRAIN,    /* answer sent, write side shut: waiting for EOF */
};

struct conn {
  int fd;                /* client socket; -1 when free */
  enum conn_state state; /* see enum conn_state */
  uint64_t deadline_ms;  /* monotonic time at which the connection is cut */
  size_t in_len;         /* bytes in |in| */
  char *out;             /* the answer (vigil_malloc), or NULL */
  size_t out_len;        /* bytes in |out| */
  size_t out_off;        /* bytes of |out| already sent */
  char in[EDGE_ADMIN_MAX_HEAD]; /* request head */
};

struct edge_admin {
  int listen_fd;                 /* listening socket */
  int wake_fd;                   /* eventfd: readable once stop is asked */
  uint16_t port;                 /* bound port */
  unsigned timeout_ms;           /* per-state connection deadline */
  size_t max_metrics;            /* bound of the metrics body */
  struct edge_admin_hooks hooks; /* copied at start */
  const struct vigil_log *log;   /* borrowed */
  pthread_t thread;              /* the admin thread */
  char *metrics;                 /* scratch for the metrics hook (owned) */
  struct conn conns[EDGE_ADMIN_MAX_CONNS];
};

static const char kBusy[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 5\r\n"
    "Connection: close\r\n\r\n"
    "busy\n";

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const char *err_text(int e, char *buf, size_t len) {
  /* _GNU_SOURCE is defined by the build: the GNU strerror_r returns the
   * message (possibly a static string, not |buf|). */
  return strerror_r(e, buf, len);
}

/* ======================================================================
 * Connections
 * ====================================================================== */

static void conn_close(struct conn *c) {
  if (c->fd >= 0) {
    close(c->fd);
  }
  vigil_free(c->out);
  c->fd = -1;
  c->state = CONN_FREE;
  c->out = NULL;
  c->out_len = 0;
  c->out_off = 0;
  c->in_len = 0;
}

static const char *status_text(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
  }
  return "Error";
}

/* set_answer prepares the answer of |c| and moves it to CONN_WRITE.
 * |head_only| (HEAD) sends the headers of the same answer without the body.
 * Returns 0 if no memory was left (the caller closes the connection). */
static int set_answer(struct edge_admin *a, struct conn *c, int status,
                      const char *content_type, const char *body,
                      size_t body_len, int head_only) {
  size_t send_body = head_only ? 0 : body_len;
  char *out = vigil_malloc(HEAD_ROOM + send_body);
  if (out == NULL) {
    VLOG_WARN(a->log, "admin: out of memory for an answer; closing");
    return 0;
  }
  int n = snprintf(out, HEAD_ROOM,
                   "HTTP/1.1 %d %s\r\n"
                   "Content-Type: %s\r\n"
                   "Content-Length: %zu\r\n"
                   "Cache-Control: no-store\r\n"
                   "%s"
                   "Connection: close\r\n\r\n",
                   status, status_text(status), content_type, body_len,
                   status == 405 ? "Allow: GET, HEAD\r\n" : "");
  if (n < 0 || (size_t)n >= HEAD_ROOM) {
    vigil_free(out);
    return 0;
  }
  if (send_body > 0) {
    memcpy(out + n, body, send_body);
  }
  c->out = out;
  c->out_len = (size_t)n + send_body;
  c->out_off = 0;
  c->state = CONN_WRITE;
  c->deadline_ms = now_ms() + a->timeout_ms;
  return 1;
}

static int set_text(struct edge_admin *a, struct conn *c, int status,
                    const char *text, int head_only) {
  return set_answer(a, c, status, "text/plain; charset=utf-8", text,
                    strlen(text), head_only);
}

/* answer_ready asks the readiness hook. */
static int answer_ready(struct edge_admin *a, struct conn *c, int head_only) {
  char reason[EDGE_ADMIN_MAX_REASON];
  char body[EDGE_ADMIN_MAX_REASON + 16];
  reason[0] = '\0';
  if (a->hooks.ready == NULL ||
      a->hooks.ready(a->hooks.ctx, reason, sizeof(reason))) {
    return set_text(a, c, 200, "ready\n", head_only);
  }
  reason[sizeof(reason) - 1] = '\0';
  /* The reason goes into a response body: keep it to one printable line. */
  size_t len = 0;
  for (; reason[len] != '\0'; len++) {
    unsigned char ch = (unsigned char)reason[len];
    if (ch < 0x20 || ch > 0x7e) {
      reason[len] = '?';
    }
  }
  snprintf(body, sizeof(body), "%s\n", len > 0 ? reason : "not ready");
  return set_text(a, c, 503, body, head_only);
}

static int answer_metrics(struct edge_admin *a, struct conn *c, int head_only) {
  if (a->hooks.render_metrics == NULL) {
    return set_text(a, c, 404, "not found\n", head_only);
  }
  size_t n = a->hooks.render_metrics(a->hooks.ctx, a->metrics, a->max_metrics);
  if (n == 0 || n > a->max_metrics) {
    VLOG_WARN(a->log,
              "admin: metrics did not fit in %zu bytes (raise the bound)",
              a->max_metrics);
    return set_text(a, c, 500, "metrics unavailable\n", head_only);
  }
  return set_answer(a, c, 200, "text/plain; version=0.0.4; charset=utf-8",
                    a->metrics, n, head_only);
}

static int is_tchar(char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
         (ch >= '0' && ch <= '9') ||
         (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* route parses the request line in |c->in| (a complete head) and prepares
 * the answer. Returns 0 only when no memory was left for it. */
static int route(struct edge_admin *a, struct conn *c) {
  const char *line = c->in;
  const char *nl = memchr(line, '\n', c->in_len);
  size_t line_len = (size_t)(nl - line);
  if (line_len > 0 && line[line_len - 1] == '\r') {
    line_len--;
  }
  const char *sp1 = memchr(line, ' ', line_len);
  if (sp1 == NULL || sp1 == line) {
    return set_text(a, c, 400, "bad request\n", 0);
  }
  size_t method_len = (size_t)(sp1 - line);
  const char *target = sp1 + 1;
  size_t rest = line_len - method_len - 1;
  const char *sp2 = memchr(target, ' ', rest);
  if (sp2 == NULL || sp2 == target) {
    return set_text(a, c, 400, "bad request\n", 0);
  }
  size_t target_len = (size_t)(sp2 - target);
  const char *version = sp2 + 1;
  size_t version_len = rest - target_len - 1;
  if (version_len != 8 || (memcmp(version, "HTTP/1.1", 8) != 0 &&
                           memcmp(version, "HTTP/1.0", 8) != 0)) {
    return set_text(a, c, 400, "bad request\n", 0);
  }
  for (size_t i = 0; i < method_len; i++) {
    if (!is_tchar(line[i])) {
      return set_text(a, c, 400, "bad request\n", 0);
    }
  }
  int head_only = 0;
  if (method_len == 4 && memcmp(line, "HEAD", 4) == 0) {
    head_only = 1;
  } else if (method_len != 3 || memcmp(line, "GET", 3) != 0) {
    return set_text(a, c, 405, "method not allowed\n", 0);
  }
  const char *q = memchr(target, '?', target_len);
  size_t path_len = q != NULL ? (size_t)(q - target) : target_len;
  if (path_len == 8 && memcmp(target, "/healthz", 8) == 0) {
    return set_text(a, c, 200, "ok\n", head_only);
  }
  if (path_len == 7 && memcmp(target, "/readyz", 7) == 0) {
    return answer_ready(a, c, head_only);
  }
  if (path_len == 8 && memcmp(target, "/metrics", 8) == 0) {
    return answer_metrics(a, c, head_only);
  }
  return set_text(a, c, 404, "not found\n", head_only);
}

/* head_complete returns 1 once |c->in| holds the end of a request head:
 * an empty line, CRLF CRLF or (leniently, for hand-typed requests) LF LF. */
static int head_complete(const struct conn *c, size_t from) {
  size_t start = from >= 2 ? from - 2 : 0;
  for (size_t i = start; i + 1 < c->in_len; i++) {
    if (c->in[i] != '\n') {
      continue;
    }
    if (c->in[i + 1] == '\n') {
      return 1;
    }
    if (i + 2 < c->in_len && c->in[i + 1] == '\r' && c->in[i + 2] == '\n') {
      return 1;
    }
  }
  return 0;
}

/* do_write sends what the socket takes; when all is sent, half-closes and
 * moves to CONN_DRAIN. */
static void do_write(struct edge_admin *a, struct conn *c) {
  while (c->out_off < c->out_len) {
    ssize_t n =
        send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    }
    if (n <= 0) {
      conn_close(c);
      return;
    }
    c->out_off += (size_t)n;
  }
  vigil_free(c->out);
  c->out = NULL;
  shutdown(c->fd, SHUT_WR);
  c->state = CONN_DRAIN;
  uint64_t drain = a->timeout_ms < DRAIN_MS ? a->timeout_ms : DRAIN_MS;
  c->deadline_ms = now_ms() + drain;
}

static void do_read(struct edge_admin *a, struct conn *c) {
  for (;;) {
    char discard[512];
    char *dst = c->state == CONN_READ ? c->in + c->in_len : discard;
    size_t room =
        c->state == CONN_READ ? sizeof(c->in) - c->in_len : sizeof(discard);
    ssize_t n = recv(c->fd, dst, room, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    }
    if (n <= 0) {
      conn_close(c); /* EOF or error: nothing more to do for this client */
      return;
    }
    if (c->state != CONN_READ) {
      continue; /* draining */
    }
    size_t from = c->in_len;
    c->in_len += (size_t)n;
    int ok = 1;
    if (head_complete(c, from)) {
      ok = route(a, c);
    } else if (c->in_len == sizeof(c->in)) {
      ok = set_text(a, c, 431, "request head too large\n", 0);
    } else {
      continue;
    }
    if (!ok) {
      conn_close(c);
      return;
    }
    do_write(a, c);
    return;
  }
}

static void do_accept(struct edge_admin *a) {
  for (int i = 0; i < ACCEPT_BATCH; i++) {
    int fd = accept4(a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) {
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        char buf[128];
        VLOG_WARN(a->log, "admin: accept failed: %s",
                  err_text(errno, buf, sizeof(buf)));
      }
      return;
    }
    struct conn *c = NULL;
    for (size_t j = 0; j < EDGE_ADMIN_MAX_CONNS; j++) {
      if (a->conns[j].state == CONN_FREE) {
        c = &a->conns[j];
        break;
      }
    }
    if (c == NULL) {
      /* Best effort: a fresh socket's send buffer is empty, so this short
       * answer fits; if the client already sent bytes, the close may turn
       * into a RST instead. Either way the slot limit holds. */
      VLOG_DEBUG(a->log, "admin: %d connections open; refusing one",
                 EDGE_ADMIN_MAX_CONNS);
      ssize_t ignored =
          send(fd, kBusy, sizeof(kBusy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      (void)ignored;
      close(fd);
      continue;
    }
    c->fd = fd;
    c->state = CONN_READ;
    c->in_len = 0;
    c->deadline_ms = now_ms() + a->timeout_ms;
  }
}

/* ======================================================================
 * The thread
 * ====================================================================== */

static void *admin_main(void *arg) {
  struct edge_admin *a = arg;
  struct pollfd pfd[2 + EDGE_ADMIN_MAX_CONNS];
  size_t slot[EDGE_ADMIN_MAX_CONNS];

  for (;;) {
    size_t num = 0;
    uint64_t now = now_ms();
    uint64_t next_deadline = UINT64_MAX;
    pfd[0] = (struct pollfd){ .fd = a->wake_fd, .events = POLLIN };
    pfd[1] = (struct pollfd){ .fd = a->listen_fd, .events = POLLIN };
    for (size_t i = 0; i < EDGE_ADMIN_MAX_CONNS; i++) {
      struct conn *c = &a->conns[i];
      if (c->state == CONN_FREE) {
        continue;
      }
      short ev = c->state == CONN_WRITE ? POLLOUT : POLLIN;
      pfd[2 + num] = (struct pollfd){ .fd = c->fd, .events = ev };
      slot[num++] = i;
      if (c->deadline_ms < next_deadline) {
        next_deadline = c->deadline_ms;
      }
    }
    int timeout = -1;
    if (next_deadline != UINT64_MAX) {
      uint64_t wait = next_deadline > now ? next_deadline - now : 0;
      timeout = wait > INT_MAX ? INT_MAX : (int)wait;
    }
    int r = poll(pfd, 2 + num, timeout);
    if (r < 0 && errno != EINTR) {
      char buf[128];
      VLOG_ERROR(a->log, "admin: poll failed: %s; admin listener stops",
                 err_text(errno, buf, sizeof(buf)));
      break;
    }
    if (r > 0 && (pfd[0].revents & POLLIN) != 0) {
      break; /* edge_admin_stop */
    }
    for (size_t k = 0; r > 0 && k < num; k++) {
      struct conn *c = &a->conns[slot[k]];
      short rev = pfd[2 + k].revents;
      if (rev == 0) {
        continue;
      }
      if (c->state == CONN_WRITE) {
        do_write(a, c);
      } else {
        do_read(a, c);
      }
    }
    if (r > 0 && (pfd[1].revents & POLLIN) != 0) {
      do_accept(a);
    }
    /* Deadlines: a client that is too slow to send its head, take its
     * answer or close is dropped; that bounds how long a slot stays taken. */
    now = now_ms();
    for (size_t i = 0; i < EDGE_ADMIN_MAX_CONNS; i++) {
      struct conn *c = &a->conns[i];
      if (c->state != CONN_FREE && now >= c->deadline_ms) {
        if (c->state != CONN_DRAIN) {
          VLOG_DEBUG(a->log, "admin: connection timed out; closing");
        }
        conn_close(c);
      }
    }
  }
  return NULL;
}

/* ======================================================================
 * Start and stop
 * ====================================================================== */

void edge_admin_options_init(struct edge_admin_options *opts) {
  memset(opts, 0, sizeof(*opts));
  opts->listen_addr = NULL;
  opts->port = 0;
  opts->timeout_ms = EDGE_ADMIN_DEFAULT_TIMEOUT_MS;
  opts->max_metrics = EDGE_ADMIN_DEFAULT_MAX_METRICS;
}

/* open_listener binds and listens; returns the socket or -1 (logged). */
static int open_listener(const char *addr, uint16_t port,
                         const struct vigil_log *log) {
  struct addrinfo hints;
  struct addrinfo *ai = NULL;
  char port_str[8];
  char buf[128];
  int fd = -1;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  snprintf(port_str, sizeof(port_str), "%u", (unsigned)port);
  int gai = getaddrinfo(addr, port_str, &hints, &ai);
  if (gai != 0 || ai == NULL) {
    VLOG_ERROR(log, "admin: bad listen address %s: %s", addr,
               gai_strerror(gai));
    goto err;
  }
  fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    VLOG_ERROR(log, "admin: socket: %s", err_text(errno, buf, sizeof(buf)));
    goto err;
  }
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0) {
    VLOG_ERROR(log, "admin: cannot listen on %s port %u: %s", addr,
               (unsigned)port, err_text(errno, buf, sizeof(buf)));
    goto err;
  }
  freeaddrinfo(ai);
  return fd;

err:
  if (fd >= 0) {
    close(fd);
  }
  if (ai != NULL) {
    freeaddrinfo(ai);
  }
  return -1;
}

static uint16_t bound_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
    return 0;
  }
  if (ss.ss_family == AF_INET) {
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  }
  if (ss.ss_family == AF_INET6) {
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  }
  return 0;
}

struct edge_admin *edge_admin_start_opts(const struct edge_admin_options *opts,
                                         const struct edge_admin_hooks *hooks,
                                         const struct vigil_log *log) {
  struct edge_admin *a = NULL;
  const char *addr = opts->listen_addr != NULL && opts->listen_addr[0] != '\0'
                         ? opts->listen_addr
                         : "127.0.0.1";
  char buf[128];

  if (opts->timeout_ms == 0 || opts->max_metrics == 0) {
    VLOG_ERROR(log, "admin: timeout and metrics bound must be positive");
    return NULL;
  }
  a = vigil_calloc(1, sizeof(*a));
  if (a == NULL) {
    VLOG_ERROR(log, "admin: out of memory");
    return NULL;
  }
  a->listen_fd = -1;
  a->wake_fd = -1;
  for (size_t i = 0; i < EDGE_ADMIN_MAX_CONNS; i++) {
    a->conns[i].fd = -1;
  }
  a->timeout_ms = opts->timeout_ms;
  a->max_metrics = opts->max_metrics;
  a->hooks = *hooks;
  a->log = log;
  a->metrics = vigil_malloc(opts->max_metrics);
  if (a->metrics == NULL) {
    VLOG_ERROR(log, "admin: out of memory");
    goto err;
  }
  a->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (a->wake_fd < 0) {
    VLOG_ERROR(log, "admin: eventfd: %s", err_text(errno, buf, sizeof(buf)));
    goto err;
  }
  a->listen_fd = open_listener(addr, opts->port, log);
  if (a->listen_fd < 0) {
    goto err;
  }
  a->port = bound_port(a->listen_fd);

  /* The thread inherits the signal mask: block everything so SIGHUP,
   * SIGTERM and friends go to the threads that handle them. */
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(&a->thread, NULL, admin_main, a);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    VLOG_ERROR(log, "admin: cannot start thread: %s",
               err_text(rc, buf, sizeof(buf)));
    goto err;
  }
  VLOG_INFO(log, "admin: listening on %s port %u", addr, (unsigned)a->port);
  return a;

err:
  if (a->listen_fd >= 0) {
    close(a->listen_fd);
  }
  if (a->wake_fd >= 0) {
    close(a->wake_fd);
  }
  vigil_free(a->metrics);
  vigil_free(a);
  return NULL;
}

struct edge_admin *edge_admin_start(const char *listen_addr, uint16_t port,
                                    const struct edge_admin_hooks *hooks,
                                    const struct vigil_log *log) {
  struct edge_admin_options opts;
  edge_admin_options_init(&opts);
  opts.listen_addr = listen_addr;
  opts.port = port;
  return edge_admin_start_opts(&opts, hooks, log);
}

uint16_t edge_admin_port(const struct edge_admin *admin) {
  return admin->port;
}

void edge_admin_stop(struct edge_admin *admin) {
  if (admin == NULL) {
    return;
  }
  uint64_t one = 1;
  for (;;) {
    ssize_t n = write(admin->wake_fd, &one, sizeof(one));
    /* EAGAIN means the counter is already non-zero: the thread is woken. */
    if (n >= 0 || errno != EINTR) {
      break;
    }
  }
  pthread_join(admin->thread, NULL);
  for (size_t i = 0; i < EDGE_ADMIN_MAX_CONNS; i++) {
    conn_close(&admin->conns[i]);
  }
  close(admin->listen_fd);
  close(admin->wake_fd);
  vigil_free(admin->metrics);
  vigil_free(admin);
}
