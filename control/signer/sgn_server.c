/* sgn_server.c: vigil-signer's Unix-socket server (see sgn_server.h). */
#include "sgn_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vigil/alloc.h"

struct sgn_server {
  const struct sgn_ctx *ctx; /* borrowed */
  int listen_fd;             /* the listening socket */
  int wake[2];               /* pipe: a byte in wake[0] stops the acceptor */
  pthread_t acceptor;        /* the accept loop */
  int acceptor_started;      /* |acceptor| must be joined */
  pthread_mutex_t lock;      /* guards slots, active, stopping, next_id */
  pthread_cond_t idle;       /* signalled when |active| drops */
  int *slots;                /* fd of each connection slot, -1 when free */
  size_t num_slots;          /* max-connections */
  size_t active;             /* connection threads running */
  int stopping;              /* sgn_server_stop was called */
  unsigned long next_id;     /* connection ids for log lines */
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* socket path */
};

/* One client connection; owned by its thread. */
struct conn {
  struct sgn_server *srv; /* the server */
  int fd;                 /* the connection */
  size_t slot;            /* its index in srv->slots */
  unsigned long id;       /* for log lines */
};

static void set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ======================================================================
 * Connection I/O
 * ====================================================================== */

/* Outcomes of frame I/O. */
enum io_result {
  IO_OK = 0,
  IO_CLOSED,  /* peer closed (or reset) */
  IO_TIMEOUT, /* deadline passed */
  IO_ERROR,   /* anything else */
};

/* wait_fd waits for |events| on |fd| until |deadline| (ms). */
static enum io_result wait_fd(int fd, short events, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      return IO_TIMEOUT;
    }
    struct pollfd p = { fd, events, 0 };
    int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
    if (r < 0 && errno != EINTR) {
      return IO_ERROR;
    }
    if (r > 0) {
      return IO_OK;
    }
  }
}

static enum io_result recv_exact(int fd, uint8_t *p, size_t len,
                                 int64_t deadline) {
  while (len > 0) {
    ssize_t n = recv(fd, p, len, 0);
    if (n > 0) {
      p += n;
      len -= (size_t)n;
    } else if (n == 0) {
      return IO_CLOSED;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      enum io_result r = wait_fd(fd, POLLIN, deadline);
      if (r != IO_OK) {
        return r;
      }
    } else if (errno != EINTR) {
      return errno == ECONNRESET ? IO_CLOSED : IO_ERROR;
    }
  }
  return IO_OK;
}

static enum io_result send_all(int fd, const uint8_t *p, size_t len,
                               int64_t deadline) {
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n > 0) {
      p += n;
      len -= (size_t)n;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      enum io_result r = wait_fd(fd, POLLOUT, deadline);
      if (r != IO_OK) {
        return r;
      }
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return n < 0 && (errno == EPIPE || errno == ECONNRESET) ? IO_CLOSED
                                                              : IO_ERROR;
    }
  }
  return IO_OK;
}

/* send_reply sends |r| (if it holds a frame) within the io timeout. */
static enum io_result send_reply(const struct conn *c,
                                 const struct sgn_reply *r) {
  if (r->len == 0) {
    return IO_ERROR;
  }
  int64_t deadline = now_ms() + c->srv->ctx->cfg->io_timeout * 1000;
  return send_all(c->fd, r->buf, r->len, deadline);
}

/* refuse sends a connection-level error reply (op NONE) and gives up on
 * the connection; used for BUSY, DENIED and undecodable frames. */
static void refuse(const struct conn *c, uint32_t id,
                   enum vigil_sgn_status status, uint32_t detail,
                   const char *msg) {
  struct sgn_reply r;
  sgn_reply_init(&r);
  sgn_reply_error(&r, VIGIL_SGN_OP_NONE, id, status, detail, -1, "%s", msg);
  (void)send_reply(c, &r);
  sgn_reply_cleanup(&r);
}

/* ======================================================================
 * Connection thread
 * ====================================================================== */

static int peer_allowed(const struct conn *c) {
  const struct sgn_ctx *ctx = c->srv->ctx;
  struct ucred cred;
  socklen_t len = sizeof(cred);
  uid_t want =
      ctx->cfg->allowed_uid < 0 ? geteuid() : (uid_t)ctx->cfg->allowed_uid;
  if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      len != sizeof(cred)) {
    VLOG_WARN(ctx->log, "conn %lu: cannot read peer credentials; refused",
              c->id);
    return 0;
  }
  if (cred.uid != want) {
    VLOG_WARN(ctx->log,
              "conn %lu: peer uid %u (pid %d) is not the allowed uid %u; "
              "refused",
              c->id, (unsigned)cred.uid, (int)cred.pid, (unsigned)want);
    return 0;
  }
  VLOG_DEBUG(ctx->log, "conn %lu: peer uid %u pid %d", c->id,
             (unsigned)cred.uid, (int)cred.pid);
  return 1;
}

/* serve_one reads, answers and frees one request. Returns 1 to go on
 * reading, 0 to close the connection. */
static int serve_one(struct conn *c) {
  const struct sgn_ctx *ctx = c->srv->ctx;
  uint8_t head[4];
  uint8_t *frame = NULL;
  size_t total = 0;
  struct vigil_sgn_msg req;
  struct sgn_reply r;
  int keep = 0;
  sgn_reply_init(&r);

  /* Idle wait: a shut-down connection (server stopping) wakes it too. */
  if (wait_fd(c->fd, POLLIN, now_ms() + ctx->cfg->idle_timeout * 1000) !=
      IO_OK) {
    VLOG_DEBUG(ctx->log, "conn %lu: idle timeout", c->id);
    return 0;
  }
  int64_t deadline = now_ms() + ctx->cfg->io_timeout * 1000;
  enum io_result io = recv_exact(c->fd, head, sizeof(head), deadline);
  if (io != IO_OK) {
    if (io != IO_CLOSED) {
      VLOG_WARN(ctx->log, "conn %lu: %s while reading a frame", c->id,
                io == IO_TIMEOUT ? "timeout" : "error");
    }
    return 0;
  }
  enum vigil_sgn_err pe = vigil_sgn_frame_len(&total, head, sizeof(head),
                                              (size_t)ctx->cfg->max_frame);
  if (pe == VIGIL_SGN_ERR_TOO_LARGE) {
    VLOG_WARN(ctx->log, "conn %lu: frame over max-frame (%lld); closed", c->id,
              (long long)ctx->cfg->max_frame);
    refuse(c, 0, VIGIL_SGN_E_TOO_LARGE, 0, "frame larger than max-frame");
    return 0;
  }
  if (pe != VIGIL_SGN_ERR_OK) {
    VLOG_WARN(ctx->log, "conn %lu: bad frame (%s); closed", c->id,
              vigil_sgn_err_string(pe));
    refuse(c, 0, VIGIL_SGN_E_MALFORMED, (uint32_t)pe, vigil_sgn_err_string(pe));
    return 0;
  }
  frame = vigil_malloc(total);
  if (frame == NULL) {
    refuse(c, 0, VIGIL_SGN_E_INTERNAL, 0, "out of memory for the request");
    return 0;
  }
  memcpy(frame, head, sizeof(head));
  io = recv_exact(c->fd, frame + sizeof(head), total - sizeof(head), deadline);
  if (io != IO_OK) {
    VLOG_WARN(ctx->log, "conn %lu: frame cut short (%s); closed", c->id,
              io == IO_TIMEOUT ? "timeout" : "peer closed or error");
    goto done;
  }
  pe = vigil_sgn_decode(&req, frame, total, (size_t)ctx->cfg->max_frame);
  if (pe == VIGIL_SGN_ERR_OK && req.kind != VIGIL_SGN_REQUEST) {
    pe = VIGIL_SGN_ERR_KIND;
  }
  if (pe != VIGIL_SGN_ERR_OK) {
    /* Echo what we could read so the client can match the error. */
    uint32_t id = vigil_sgn_frame_get_id(frame);
    enum vigil_sgn_status st = pe == VIGIL_SGN_ERR_VERSION
                                   ? VIGIL_SGN_E_VERSION
                                   : VIGIL_SGN_E_MALFORMED;
    VLOG_WARN(ctx->log, "conn %lu: request did not decode (%s); closed", c->id,
              vigil_sgn_err_string(pe));
    sgn_reply_error(&r, req.op, id, st, (uint32_t)pe, -1, "%s",
                    vigil_sgn_err_string(pe));
    (void)send_reply(c, &r);
    goto done;
  }
  sgn_ops_handle(ctx, &r, &req, (int64_t)time(NULL));
  io = send_reply(c, &r);
  if (io != IO_OK) {
    VLOG_WARN(ctx->log, "conn %lu: cannot send the %s reply (%s); closed",
              c->id, vigil_sgn_op_name(req.op),
              io == IO_TIMEOUT ? "timeout" : "peer gone");
    goto done;
  }
  keep = 1;

done:
  sgn_reply_cleanup(&r);
  vigil_free(frame);
  return keep;
}

static void *conn_main(void *arg) {
  struct conn *c = arg;
  struct sgn_server *srv = c->srv;
  if (!peer_allowed(c)) {
    refuse(c, 0, VIGIL_SGN_E_DENIED, 0, "peer uid not allowed");
  } else {
    while (serve_one(c)) {
    }
  }
  VLOG_DEBUG(srv->ctx->log, "conn %lu: closed", c->id);
  int fd = c->fd;
  size_t slot = c->slot;
  vigil_free(c);
  /* Close under the lock: sgn_server_stop shuts down the fds in |slots|
   * and must never reach a number already reused by another open. Touch
   * nothing of |srv| after unlocking: stop may free it then. */
  pthread_mutex_lock(&srv->lock);
  srv->slots[slot] = -1;
  close(fd);
  srv->active--;
  pthread_cond_broadcast(&srv->idle);
  pthread_mutex_unlock(&srv->lock);
  return NULL;
}

/* ======================================================================
 * Accepting
 * ====================================================================== */

/* start_conn hands |fd| to a new thread, or refuses it with BUSY. */
static void start_conn(struct sgn_server *srv, int fd) {
  const struct sgn_ctx *ctx = srv->ctx;
  struct conn *c = vigil_calloc(1, sizeof(*c));
  pthread_attr_t attr;
  pthread_t t;
  if (c == NULL) {
    close(fd);
    return;
  }
  c->srv = srv;
  c->fd = fd;
  pthread_mutex_lock(&srv->lock);
  c->id = ++srv->next_id;
  size_t slot = srv->num_slots;
  if (!srv->stopping) {
    for (size_t i = 0; i < srv->num_slots; i++) {
      if (srv->slots[i] < 0) {
        slot = i;
        break;
      }
    }
  }
  if (slot == srv->num_slots) {
    pthread_mutex_unlock(&srv->lock);
    VLOG_WARN(ctx->log, "conn %lu: max-connections (%zu) reached; refused",
              c->id, srv->num_slots);
    refuse(c, 0, VIGIL_SGN_E_BUSY, 0, "too many connections");
    close(fd);
    vigil_free(c);
    return;
  }
  srv->slots[slot] = fd;
  srv->active++;
  c->slot = slot;
  pthread_mutex_unlock(&srv->lock);

  int ok = pthread_attr_init(&attr) == 0;
  if (ok) {
    ok = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
         pthread_create(&t, &attr, conn_main, c) == 0;
    pthread_attr_destroy(&attr);
  }
  if (!ok) {
    VLOG_ERROR(ctx->log, "conn %lu: cannot start a thread; refused", c->id);
    refuse(c, 0, VIGIL_SGN_E_BUSY, 0, "cannot start a connection thread");
    pthread_mutex_lock(&srv->lock);
    srv->slots[slot] = -1;
    close(fd);
    srv->active--;
    pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->lock);
    vigil_free(c);
  }
}

static void *acceptor_main(void *arg) {
  struct sgn_server *srv = arg;
  for (;;) {
    struct pollfd p[2] = { { srv->listen_fd, POLLIN, 0 },
                           { srv->wake[0], POLLIN, 0 } };
    int r = poll(p, 2, -1);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r < 0 || p[1].revents != 0) {
      break;
    }
    if (p[0].revents == 0) {
      continue;
    }
    int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        /* Out of descriptors: back off instead of spinning on poll. */
        char eb[128];
        VLOG_ERROR(srv->ctx->log, "accept: %s",
                   vigil_strerror(errno, eb, sizeof(eb)));
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
      }
      continue;
    }
    start_conn(srv, fd);
  }
  return NULL;
}

/* ======================================================================
 * Socket
 * ====================================================================== */

/* check_socket_dir refuses a socket whose directory others could write
 * to: whoever can write the directory can unlink the socket and bind their
 * own in its place, and clients would hand that impostor their requests
 * (and read the keys it pretends to issue). The directory must be owned
 * by the signer's uid or root and not group- or other-writable, sticky
 * bit or not (the sticky bit does not stop a new name being bound before
 * the signer starts or after it stops). */
static int check_socket_dir(const char *path, char *err, size_t err_len) {
  char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
  struct stat st;
  char eb[128];
  size_t n = strlen(path);
  if (n >= sizeof(dir)) {
    set_err(err, err_len, "socket path too long");
    return 0;
  }
  memcpy(dir, path, n + 1);
  char *slash = strrchr(dir, '/');
  if (slash == NULL) {
    dir[0] = '.';
    dir[1] = '\0';
  } else if (slash == dir) {
    dir[1] = '\0';
  } else {
    *slash = '\0';
  }
  if (stat(dir, &st) != 0) {
    set_err(err, err_len, "socket directory %s: %s", dir,
            vigil_strerror(errno, eb, sizeof(eb)));
    return 0;
  }
  if (!S_ISDIR(st.st_mode)) {
    set_err(err, err_len, "socket directory %s is not a directory", dir);
    return 0;
  }
  if (st.st_uid != geteuid() && st.st_uid != 0) {
    set_err(err, err_len,
            "socket directory %s is owned by uid %lu, not by the signer's "
            "uid %lu or root: its owner could replace the socket",
            dir, (unsigned long)st.st_uid, (unsigned long)geteuid());
    return 0;
  }
  if ((st.st_mode & 022) != 0) {
    set_err(err, err_len,
            "socket directory %s is group- or other-writable (mode %04o): "
            "another user could replace the socket; use a directory only "
            "the signer's user can write",
            dir, (unsigned)(st.st_mode & 07777));
    return 0;
  }
  return 1;
}

/* clear_stale removes a socket file nobody listens on. Refuses anything
 * that is not a socket, and a socket another process still serves. */
static int clear_stale(const char *path, char *err, size_t err_len,
                       const struct vigil_log *log) {
  struct stat st;
  struct sockaddr_un sa;
  if (lstat(path, &st) != 0) {
    return errno == ENOENT;
  }
  if (!S_ISSOCK(st.st_mode)) {
    set_err(err, err_len, "%s exists and is not a socket; not replacing it",
            path);
    return 0;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    char eb[128];
    set_err(err, err_len, "socket: %s", vigil_strerror(errno, eb, sizeof(eb)));
    return 0;
  }
  int live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
  int cerr = errno;
  close(fd);
  if (live || cerr != ECONNREFUSED) {
    set_err(err, err_len,
            "%s is in use (another vigil-signer is listening on it)", path);
    return 0;
  }
  VLOG_INFO(log, "replacing stale socket %s", path);
  if (unlink(path) != 0 && errno != ENOENT) {
    set_err(err, err_len, "cannot remove the stale socket %s", path);
    return 0;
  }
  return 1;
}

static int open_socket(struct sgn_server *srv, char *err, size_t err_len) {
  const struct sgn_ctx *ctx = srv->ctx;
  struct sockaddr_un sa;
  char eb[128];
  const char *path = ctx->cfg->socket;
  if (path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path)) {
    set_err(err, err_len, "socket path empty or too long");
    return 0;
  }
  memcpy(srv->path, path, strlen(path) + 1);
  if (!check_socket_dir(path, err, err_len) ||
      !clear_stale(path, err, err_len, ctx->log)) {
    return 0;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, strlen(path) + 1);
  srv->listen_fd =
      socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (srv->listen_fd < 0) {
    set_err(err, err_len, "socket: %s", vigil_strerror(errno, eb, sizeof(eb)));
    return 0;
  }
  /* bind creates the file with the umask applied: 0177 leaves 0600, so
   * there is no window in which others could connect; chmod makes it
   * exact whatever the file system does. */
  mode_t old = umask(0177);
  int rc = bind(srv->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
  int saved = errno;
  umask(old);
  if (rc != 0) {
    set_err(err, err_len, "bind %s: %s", path,
            vigil_strerror(saved, eb, sizeof(eb)));
    return 0;
  }
  if (chmod(path, 0600) != 0 || listen(srv->listen_fd, 64) != 0) {
    set_err(err, err_len, "%s: %s", path,
            vigil_strerror(errno, eb, sizeof(eb)));
    unlink(path);
    return 0;
  }
  return 1;
}

/* ======================================================================
 * Start and stop
 * ====================================================================== */

struct sgn_server *sgn_server_start(char *err, size_t err_len,
                                    const struct sgn_ctx *ctx) {
  char eb[128];
  struct sgn_server *srv = vigil_calloc(1, sizeof(*srv));
  if (srv == NULL) {
    set_err(err, err_len, "out of memory");
    return NULL;
  }
  srv->ctx = ctx;
  srv->listen_fd = -1;
  srv->wake[0] = -1;
  srv->wake[1] = -1;
  srv->num_slots = (size_t)ctx->cfg->max_connections;
  if (pthread_mutex_init(&srv->lock, NULL) != 0) {
    vigil_free(srv);
    set_err(err, err_len, "cannot initialise a lock");
    return NULL;
  }
  if (pthread_cond_init(&srv->idle, NULL) != 0) {
    pthread_mutex_destroy(&srv->lock);
    vigil_free(srv);
    set_err(err, err_len, "cannot initialise a condition variable");
    return NULL;
  }
  srv->slots = vigil_calloc(srv->num_slots, sizeof(int));
  if (srv->slots == NULL) {
    set_err(err, err_len, "out of memory");
    goto err;
  }
  for (size_t i = 0; i < srv->num_slots; i++) {
    srv->slots[i] = -1;
  }
  if (pipe2(srv->wake, O_CLOEXEC) != 0) {
    set_err(err, err_len, "pipe: %s", vigil_strerror(errno, eb, sizeof(eb)));
    goto err;
  }
  if (!open_socket(srv, err, err_len)) {
    srv->path[0] = '\0'; /* not ours to unlink */
    goto err;
  }
  if (pthread_create(&srv->acceptor, NULL, acceptor_main, srv) != 0) {
    set_err(err, err_len, "cannot start the acceptor thread");
    goto err;
  }
  srv->acceptor_started = 1;
  return srv;

err:
  sgn_server_stop(srv);
  return NULL;
}

void sgn_server_stop(struct sgn_server *srv) {
  if (srv == NULL) {
    return;
  }
  pthread_mutex_lock(&srv->lock);
  srv->stopping = 1;
  pthread_mutex_unlock(&srv->lock);
  if (srv->acceptor_started) {
    ssize_t w;
    do {
      w = write(srv->wake[1], "x", 1);
    } while (w < 0 && errno == EINTR);
    pthread_join(srv->acceptor, NULL);
  }
  if (srv->listen_fd >= 0) {
    close(srv->listen_fd);
  }
  if (srv->path[0] != '\0') {
    unlink(srv->path);
  }
  /* Wake every connection; each finishes the request it is on (a reply
   * cannot be sent any more) and exits. */
  pthread_mutex_lock(&srv->lock);
  for (size_t i = 0; srv->slots != NULL && i < srv->num_slots; i++) {
    if (srv->slots[i] >= 0) {
      shutdown(srv->slots[i], SHUT_RDWR);
    }
  }
  while (srv->active > 0) {
    pthread_cond_wait(&srv->idle, &srv->lock);
  }
  pthread_mutex_unlock(&srv->lock);
  for (int i = 0; i < 2; i++) {
    if (srv->wake[i] >= 0) {
      close(srv->wake[i]);
    }
  }
  pthread_cond_destroy(&srv->idle);
  pthread_mutex_destroy(&srv->lock);
  vigil_free(srv->slots);
  vigil_free(srv);
}
