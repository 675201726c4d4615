/* sgnclient.c: blocking vigil-signer client (see vigil/sgnclient.h).
 *
 * The socket is non-blocking underneath and every wait goes through poll
 * with the time left until the call's deadline, so a stuck signer costs a
 * caller at most its timeout. Writes use MSG_NOSIGNAL: a signer that went
 * away is an error, not a SIGPIPE. */
#include "vigil/sgnclient.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vigil/alloc.h"

/* A reply buffer larger than this is given back once a reply fits in
 * SHRINK_TO: a long-lived connection should not keep a CRL's worth. */
#define SHRINK_ABOVE (4u * 1024u * 1024u)
#define SHRINK_TO    (256u * 1024u)
#define INITIAL_BUF  (64u * 1024u)

struct vigil_sgn_client {
  int fd;                   /* the connection; -1 once closed */
  size_t max_frame;         /* largest reply accepted */
  uint32_t next_id;         /* id of the next request */
  uint8_t *buf;             /* reply buffer (owned) */
  size_t cap;               /* its size */
  int sys_errno;            /* errno of the last IO failure */
  enum vigil_sgn_err proto; /* why the last reply did not decode */
};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait_fd polls |fd| for |events| until |deadline| (ms, or -1: none).
 * Returns 1 when ready, 0 on timeout, -1 on error (errno set). */
static int wait_fd(int fd, short events, int64_t deadline) {
  for (;;) {
    int t = -1;
    if (deadline >= 0) {
      int64_t left = deadline - now_ms();
      if (left <= 0) {
        return 0;
      }
      t = left > 60000 ? 60000 : (int)left;
    }
    struct pollfd p = { fd, events, 0 };
    int r = poll(&p, 1, t);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r < 0) {
      return -1;
    }
    if (r > 0) {
      return 1;
    }
  }
}

static void close_conn(struct vigil_sgn_client *c) {
  if (c->fd >= 0) {
    close(c->fd);
    c->fd = -1;
  }
}

struct vigil_sgn_client *vigil_sgn_client_connect(enum vigil_sgnc_err *out_err,
                                                  const char *path,
                                                  int timeout_ms,
                                                  size_t max_frame) {
  struct sockaddr_un sa;
  struct vigil_sgn_client *c = NULL;
  int fd = -1;
  int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : -1;
  *out_err = VIGIL_SGNC_ERR_PATH;
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path)) {
    goto err;
  }
  memcpy(sa.sun_path, path, strlen(path) + 1);
  *out_err = VIGIL_SGNC_ERR_NOMEM;
  c = vigil_calloc(1, sizeof(*c));
  if (c == NULL) {
    goto err;
  }
  c->fd = -1;
  c->max_frame = max_frame == 0 || max_frame > VIGIL_SGN_MAX_FRAME
                     ? VIGIL_SGN_MAX_FRAME
                     : max_frame;
  c->next_id = 1;
  *out_err = VIGIL_SGNC_ERR_CONNECT;
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    goto err;
  }
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    /* A Unix socket whose backlog is full says EAGAIN; wait for room. */
    if (errno != EAGAIN && errno != EINPROGRESS) {
      goto err;
    }
    int r = wait_fd(fd, POLLOUT, deadline);
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (r == 0) {
      *out_err = VIGIL_SGNC_ERR_TIMEOUT;
      goto err;
    }
    if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) {
      goto err;
    }
    if (soerr != 0) {
      errno = soerr;
      goto err;
    }
  }
  c->fd = fd;
  *out_err = VIGIL_SGNC_OK;
  return c;

err:
  if (fd >= 0) {
    int saved = errno;
    close(fd);
    errno = saved;
  }
  vigil_free(c);
  return NULL;
}

/* send_all writes |len| bytes before |deadline|. */
static enum vigil_sgnc_err send_all(struct vigil_sgn_client *c,
                                    const uint8_t *p, size_t len,
                                    int64_t deadline) {
  while (len > 0) {
    ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
    if (n > 0) {
      p += n;
      len -= (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int r = wait_fd(c->fd, POLLOUT, deadline);
      if (r == 0) {
        return VIGIL_SGNC_ERR_TIMEOUT;
      }
      if (r < 0) {
        c->sys_errno = errno;
        return VIGIL_SGNC_ERR_IO;
      }
      continue;
    }
    c->sys_errno = n < 0 ? errno : 0;
    return n < 0 && errno == EPIPE ? VIGIL_SGNC_ERR_CLOSED : VIGIL_SGNC_ERR_IO;
  }
  return VIGIL_SGNC_OK;
}

/* recv_exact reads exactly |len| bytes into |p| before |deadline|. */
static enum vigil_sgnc_err recv_exact(struct vigil_sgn_client *c, uint8_t *p,
                                      size_t len, int64_t deadline) {
  while (len > 0) {
    ssize_t n = recv(c->fd, p, len, 0);
    if (n > 0) {
      p += n;
      len -= (size_t)n;
      continue;
    }
    if (n == 0) {
      return VIGIL_SGNC_ERR_CLOSED;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      int r = wait_fd(c->fd, POLLIN, deadline);
      if (r == 0) {
        return VIGIL_SGNC_ERR_TIMEOUT;
      }
      if (r < 0) {
        c->sys_errno = errno;
        return VIGIL_SGNC_ERR_IO;
      }
      continue;
    }
    c->sys_errno = errno;
    return errno == ECONNRESET ? VIGIL_SGNC_ERR_CLOSED : VIGIL_SGNC_ERR_IO;
  }
  return VIGIL_SGNC_OK;
}

/* ensure_cap makes the reply buffer exactly fit policy for |need| bytes. */
static int ensure_cap(struct vigil_sgn_client *c, size_t need) {
  size_t want = c->cap;
  if (need > c->cap) {
    want = need < INITIAL_BUF ? INITIAL_BUF : need;
  } else if (c->cap > SHRINK_ABOVE && need <= SHRINK_TO) {
    want = SHRINK_TO;
  }
  if (want == c->cap && c->buf != NULL) {
    return 1;
  }
  uint8_t *nb = vigil_realloc(c->buf, want);
  if (nb == NULL) {
    return need <= c->cap; /* shrinking may fail harmlessly */
  }
  c->buf = nb;
  c->cap = want;
  return 1;
}

/* closes_connection: reply statuses after which the signer hangs up (so
 * do all replies with op NONE). */
static int closes_connection(enum vigil_sgn_status st) {
  return st == VIGIL_SGN_E_MALFORMED || st == VIGIL_SGN_E_VERSION ||
         st == VIGIL_SGN_E_TOO_LARGE || st == VIGIL_SGN_E_BUSY;
}

enum vigil_sgnc_err vigil_sgn_client_call(struct vigil_sgn_client *c,
                                          struct vigil_sgn_msg *out_reply,
                                          uint8_t *req, size_t req_len,
                                          int timeout_ms) {
  enum vigil_sgnc_err e;
  struct vigil_sgn_msg rq;
  size_t total = 0;
  int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : -1;
  memset(out_reply, 0, sizeof(*out_reply));
  c->proto = VIGIL_SGN_ERR_OK;
  if (c->fd < 0) {
    return VIGIL_SGNC_ERR_CLOSED;
  }
  /* A caller bug must not reach the signer as a frame it has to refuse. */
  if (req == NULL || req_len < VIGIL_SGN_HEADER_LEN) {
    return VIGIL_SGNC_ERR_REQUEST;
  }
  uint32_t id = c->next_id++;
  vigil_sgn_frame_set_id(req, id);
  if (vigil_sgn_decode(&rq, req, req_len, VIGIL_SGN_MAX_FRAME) !=
          VIGIL_SGN_ERR_OK ||
      rq.kind != VIGIL_SGN_REQUEST) {
    return VIGIL_SGNC_ERR_REQUEST;
  }
  e = send_all(c, req, req_len, deadline);
  /* A signer that refuses the connection (DENIED, BUSY) answers and hangs
   * up at once, so the send may fail while its reply is waiting to be
   * read: read it, so the caller learns why. */
  if (e != VIGIL_SGNC_OK && e != VIGIL_SGNC_ERR_CLOSED) {
    goto err;
  }
  enum vigil_sgnc_err send_err = e;
  e = VIGIL_SGNC_ERR_NOMEM;
  if (!ensure_cap(c, VIGIL_SGN_HEADER_LEN)) {
    goto err;
  }
  e = recv_exact(c, c->buf, 4, deadline);
  if (e != VIGIL_SGNC_OK) {
    if (send_err != VIGIL_SGNC_OK) {
      e = send_err;
    }
    goto err;
  }
  enum vigil_sgn_err pe = vigil_sgn_frame_len(&total, c->buf, 4, c->max_frame);
  if (pe != VIGIL_SGN_ERR_OK) {
    c->proto = pe;
    e = VIGIL_SGNC_ERR_PROTO;
    goto err;
  }
  /* Keep the 4 bytes read while resizing: realloc preserves them. */
  e = VIGIL_SGNC_ERR_NOMEM;
  if (!ensure_cap(c, total)) {
    goto err;
  }
  e = recv_exact(c, c->buf + 4, total - 4, deadline);
  if (e != VIGIL_SGNC_OK) {
    goto err;
  }
  pe = vigil_sgn_decode(out_reply, c->buf, total, c->max_frame);
  if (pe != VIGIL_SGN_ERR_OK || out_reply->kind != VIGIL_SGN_REPLY) {
    c->proto = pe != VIGIL_SGN_ERR_OK ? pe : VIGIL_SGN_ERR_KIND;
    e = VIGIL_SGNC_ERR_PROTO;
    goto err;
  }
  /* An error about an undecodable frame names no op (NONE) and may carry
   * id 0 when the signer could not read ours. */
  if (out_reply->op == VIGIL_SGN_OP_NONE
          ? out_reply->id != id && out_reply->id != 0
          : (out_reply->id != id || out_reply->op != rq.op)) {
    e = VIGIL_SGNC_ERR_MISMATCH;
    goto err;
  }
  if (send_err != VIGIL_SGNC_OK && out_reply->status == VIGIL_SGN_OK) {
    e = send_err; /* a success cannot answer a request not fully sent */
    goto err;
  }
  if (out_reply->op == VIGIL_SGN_OP_NONE ||
      closes_connection(out_reply->status)) {
    close_conn(c);
  }
  return VIGIL_SGNC_OK;

err:
  memset(out_reply, 0, sizeof(*out_reply));
  close_conn(c);
  return e;
}

void vigil_sgn_client_free(struct vigil_sgn_client *c) {
  if (c == NULL) {
    return;
  }
  close_conn(c);
  vigil_free(c->buf);
  vigil_free(c);
}

int vigil_sgn_client_errno(const struct vigil_sgn_client *c) {
  return c->sys_errno;
}

enum vigil_sgn_err vigil_sgn_client_proto_err(
    const struct vigil_sgn_client *c) {
  return c->proto;
}

const char *vigil_sgnc_err_string(enum vigil_sgnc_err err) {
  switch (err) {
    case VIGIL_SGNC_OK:
      return "ok";
    case VIGIL_SGNC_ERR_PATH:
      return "socket path empty or too long";
    case VIGIL_SGNC_ERR_CONNECT:
      return "cannot connect to the signer";
    case VIGIL_SGNC_ERR_TIMEOUT:
      return "timed out";
    case VIGIL_SGNC_ERR_IO:
      return "I/O error";
    case VIGIL_SGNC_ERR_CLOSED:
      return "connection closed by the signer";
    case VIGIL_SGNC_ERR_PROTO:
      return "reply did not decode";
    case VIGIL_SGNC_ERR_MISMATCH:
      return "reply does not match the request";
    case VIGIL_SGNC_ERR_REQUEST:
      return "request frame invalid";
    case VIGIL_SGNC_ERR_NOMEM:
      return "out of memory";
  }
  return "?";
}
