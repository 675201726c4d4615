/* test_sgnclient.c: the blocking vigil-signer client (vigil/sgnclient.h)
 * against a scripted peer on a real Unix socket.
 *
 * The peer is a thread that accepts one connection and behaves as the
 * test says: answers correctly, with a wrong id, with garbage, hangs up,
 * stays silent, refuses the connection (DENIED with op NONE), announces an
 * oversized frame, or sends a large reply. Each outcome of
 * vigil_sgn_client_call and vigil_sgn_client_connect is checked, and that
 * the connection is closed after every failure. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include <vigil/alloc.h>
#include <vigil/sgnclient.h>
#include <vigil/sgnproto.h>

enum mode {
  M_OK,        /* answer each PING correctly, until the client closes */
  M_WRONG_ID,  /* answer with another id */
  M_GARBAGE,   /* answer with bytes that are no frame */
  M_HANGUP,    /* read the request, close */
  M_SILENT,    /* read the request, never answer */
  M_DENY,      /* answer DENIED (op NONE, id 0) at once and close */
  M_TOO_BIG,   /* announce a frame over the client's bound */
  M_BIG_REPLY, /* a 5 MiB reply, then a small one */
};

struct peer {
  char dir[64];
  char path[128];
  int listen_fd;
  enum mode mode;
  pthread_t thread;
};

static int read_exact(int fd, uint8_t *p, size_t len) {
  while (len > 0) {
    ssize_t n = recv(fd, p, len, 0);
    if (n <= 0) {
      return 0;
    }
    p += n;
    len -= (size_t)n;
  }
  return 1;
}

static void send_all(int fd, const uint8_t *p, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n <= 0) {
      return;
    }
    p += n;
    len -= (size_t)n;
  }
}

/* read_request reads one frame; returns its id, or -1 at EOF. */
static int64_t read_request(int fd) {
  uint8_t head[VIGIL_SGN_HEADER_LEN];
  if (!read_exact(fd, head, sizeof(head))) {
    return -1;
  }
  size_t total = 0;
  if (vigil_sgn_frame_len(&total, head, 4, VIGIL_SGN_MAX_FRAME) !=
      VIGIL_SGN_ERR_OK) {
    return -1;
  }
  uint8_t *rest = malloc(total);
  int ok = rest != NULL && read_exact(fd, rest, total - VIGIL_SGN_HEADER_LEN);
  free(rest);
  return ok ? (int64_t)vigil_sgn_frame_get_id(head) : -1;
}

static void send_ping_reply(int fd, uint32_t id, size_t pad) {
  size_t cap = VIGIL_SGN_HEADER_LEN + 64 + pad;
  uint8_t *buf = malloc(cap);
  struct vigil_sgn_writer w;
  size_t len = 0;
  if (buf == NULL) {
    return;
  }
  if (pad > 0) {
    /* A big reply: a CRL reply is the natural carrier of many bytes. */
    vigil_sgn_writer_init(&w, buf, cap, VIGIL_SGN_REPLY, VIGIL_SGN_OP_SIGN_CRL,
                          VIGIL_SGN_OK, id);
    uint8_t *p = vigil_sgn_put_reserve(&w, VIGIL_SGN_T_CRL, pad);
    if (p != NULL) {
      memset(p, 0x5a, pad);
      (void)vigil_sgn_put_commit(&w, pad);
    }
  } else {
    vigil_sgn_writer_init(&w, buf, cap, VIGIL_SGN_REPLY, VIGIL_SGN_OP_PING,
                          VIGIL_SGN_OK, id);
    vigil_sgn_put_i64(&w, VIGIL_SGN_T_TIME, 1234);
  }
  if (vigil_sgn_writer_finish(&w, &len)) {
    send_all(fd, buf, len);
  }
  free(buf);
}

static void *peer_main(void *arg) {
  struct peer *p = arg;
  int fd = accept(p->listen_fd, NULL, NULL);
  if (fd < 0) {
    return NULL;
  }
  int64_t id;
  uint8_t buf[64];
  size_t len = 0;
  struct vigil_sgn_writer w;
  switch (p->mode) {
    case M_OK:
      for (id = read_request(fd); id >= 0; id = read_request(fd)) {
        send_ping_reply(fd, (uint32_t)id, 0);
      }
      break;
    case M_WRONG_ID:
      id = read_request(fd);
      send_ping_reply(fd, (uint32_t)id + 1, 0);
      break;
    case M_GARBAGE:
      (void)read_request(fd);
      memset(buf, 0xee, sizeof(buf));
      buf[0] = 0;
      buf[1] = 0;
      buf[2] = 0;
      buf[3] = 0x20;
      send_all(fd, buf, 0x24);
      break;
    case M_HANGUP:
      (void)read_request(fd);
      break;
    case M_SILENT:
      (void)read_request(fd);
      (void)read_request(fd); /* returns at the client's close */
      break;
    case M_DENY:
      vigil_sgn_writer_init(&w, buf, sizeof(buf), VIGIL_SGN_REPLY,
                            VIGIL_SGN_OP_NONE, VIGIL_SGN_E_DENIED, 0);
      if (vigil_sgn_writer_finish(&w, &len)) {
        send_all(fd, buf, len);
      }
      break;
    case M_TOO_BIG:
      (void)read_request(fd);
      memset(buf, 0, VIGIL_SGN_HEADER_LEN);
      buf[0] = 0x10; /* 256 MiB */
      send_all(fd, buf, VIGIL_SGN_HEADER_LEN);
      (void)read_request(fd);
      break;
    case M_BIG_REPLY:
      id = read_request(fd);
      send_ping_reply(fd, (uint32_t)id, 5u << 20);
      id = read_request(fd);
      send_ping_reply(fd, (uint32_t)id, 0);
      (void)read_request(fd);
      break;
  }
  close(fd);
  return NULL;
}

static struct peer *peer_start(enum mode mode) {
  struct peer *p = calloc(1, sizeof(*p));
  assert_non_null(p);
  snprintf(p->dir, sizeof(p->dir), "/tmp/vigil-sgnc.XXXXXX");
  assert_non_null(mkdtemp(p->dir));
  snprintf(p->path, sizeof(p->path), "%s/s.sock", p->dir);
  p->mode = mode;
  p->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(p->listen_fd >= 0);
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, p->path, strlen(p->path) + 1);
  assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(listen(p->listen_fd, 4), 0);
  assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
  return p;
}

static void peer_stop(struct peer *p) {
  pthread_join(p->thread, NULL);
  close(p->listen_fd);
  unlink(p->path);
  rmdir(p->dir);
  free(p);
}

/* ping_frame builds a PING request into |buf|. */
static size_t ping_frame(uint8_t *buf, size_t cap) {
  struct vigil_sgn_writer w;
  size_t len = 0;
  vigil_sgn_writer_init(&w, buf, cap, VIGIL_SGN_REQUEST, VIGIL_SGN_OP_PING,
                        VIGIL_SGN_OK, 0);
  assert_int_equal(vigil_sgn_writer_finish(&w, &len), 1);
  return len;
}

static struct vigil_sgn_client *connect_to(struct peer *p) {
  enum vigil_sgnc_err e;
  struct vigil_sgn_client *c = vigil_sgn_client_connect(&e, p->path, 5000, 0);
  assert_non_null(c);
  assert_int_equal(e, VIGIL_SGNC_OK);
  return c;
}

/* expect_closed: after a failure every call says CLOSED. */
static void expect_closed(struct vigil_sgn_client *c) {
  uint8_t req[64];
  struct vigil_sgn_msg m;
  size_t len = ping_frame(req, sizeof(req));
  assert_int_equal(vigil_sgn_client_call(c, &m, req, len, 1000),
                   VIGIL_SGNC_ERR_CLOSED);
}

/* ====================================================================== */

static void test_connect_errors(void **state) {
  (void)state;
  enum vigil_sgnc_err e;
  char longpath[200];
  memset(longpath, 'a', sizeof(longpath));
  longpath[sizeof(longpath) - 1] = '\0';
  assert_null(vigil_sgn_client_connect(&e, longpath, 100, 0));
  assert_int_equal(e, VIGIL_SGNC_ERR_PATH);
  assert_null(vigil_sgn_client_connect(&e, "", 100, 0));
  assert_int_equal(e, VIGIL_SGNC_ERR_PATH);
  assert_null(vigil_sgn_client_connect(&e, "/nonexistent/vigil.sock", 100, 0));
  assert_int_equal(e, VIGIL_SGNC_ERR_CONNECT);
  assert_int_equal(errno, ENOENT);

  struct peer *p = peer_start(M_OK);
  vigil_alloc_fail_after(0, 0);
  assert_null(vigil_sgn_client_connect(&e, p->path, 100, 0));
  assert_int_equal(e, VIGIL_SGNC_ERR_NOMEM);
  vigil_alloc_fail_reset();
  struct vigil_sgn_client *c = connect_to(p);
  vigil_sgn_client_free(c);
  peer_stop(p);
  vigil_sgn_client_free(NULL);
}

static void test_call_ok(void **state) {
  (void)state;
  struct peer *p = peer_start(M_OK);
  struct vigil_sgn_client *c = connect_to(p);
  uint8_t req[64];
  struct vigil_sgn_msg m;
  uint32_t last_id = 0;
  for (int i = 0; i < 3; i++) {
    size_t len = ping_frame(req, sizeof(req));
    assert_int_equal(vigil_sgn_client_call(c, &m, req, len, 5000),
                     VIGIL_SGNC_OK);
    assert_int_equal(m.kind, VIGIL_SGN_REPLY);
    assert_int_equal(m.op, VIGIL_SGN_OP_PING);
    assert_int_equal(m.status, VIGIL_SGN_OK);
    /* The client numbered the request and the reply echoes it. */
    assert_int_equal(m.id, vigil_sgn_frame_get_id(req));
    assert_true(m.id > last_id);
    last_id = m.id;
    int64_t t = 0;
    assert_int_equal(vigil_sgn_get_i64(&m, &t, VIGIL_SGN_T_TIME), 1);
    assert_int_equal(t, 1234);
  }
  /* A request that is not a valid request is refused before sending and
   * leaves the connection usable. */
  struct vigil_sgn_writer w;
  size_t len = 0;
  vigil_sgn_writer_init(&w, req, sizeof(req), VIGIL_SGN_REQUEST,
                        VIGIL_SGN_OP_ISSUER_INFO, VIGIL_SGN_OK, 0);
  assert_int_equal(vigil_sgn_writer_finish(&w, &len), 1); /* no issuer id */
  assert_int_equal(vigil_sgn_client_call(c, &m, req, len, 5000),
                   VIGIL_SGNC_ERR_REQUEST);
  assert_int_equal(vigil_sgn_client_call(c, &m, req, 3, 5000),
                   VIGIL_SGNC_ERR_REQUEST);
  len = ping_frame(req, sizeof(req));
  assert_int_equal(vigil_sgn_client_call(c, &m, req, len, 5000), VIGIL_SGNC_OK);
  vigil_sgn_client_free(c);
  peer_stop(p);
}

/* call_once connects to a peer in |mode|, makes one call and returns its
 * outcome; checks the connection is closed afterwards when it failed. */
static enum vigil_sgnc_err call_once(enum mode mode, int timeout_ms,
                                     struct vigil_sgn_msg *m,
                                     enum vigil_sgn_err *out_proto) {
  struct peer *p = peer_start(mode);
  struct vigil_sgn_client *c = connect_to(p);
  uint8_t req[64];
  size_t len = ping_frame(req, sizeof(req));
  enum vigil_sgnc_err e = vigil_sgn_client_call(c, m, req, len, timeout_ms);
  *out_proto = vigil_sgn_client_proto_err(c);
  if (e != VIGIL_SGNC_OK) {
    assert_int_equal(m->op, 0);
    assert_int_equal(m->id, 0);
    expect_closed(c);
  }
  vigil_sgn_client_free(c);
  peer_stop(p);
  return e;
}

static void test_call_failures(void **state) {
  (void)state;
  struct vigil_sgn_msg m;
  enum vigil_sgn_err pe;
  assert_int_equal(call_once(M_WRONG_ID, 5000, &m, &pe),
                   VIGIL_SGNC_ERR_MISMATCH);
  assert_int_equal(call_once(M_GARBAGE, 5000, &m, &pe), VIGIL_SGNC_ERR_PROTO);
  assert_int_equal(pe, VIGIL_SGN_ERR_MAGIC);
  assert_int_equal(call_once(M_HANGUP, 5000, &m, &pe), VIGIL_SGNC_ERR_CLOSED);
  assert_int_equal(call_once(M_SILENT, 100, &m, &pe), VIGIL_SGNC_ERR_TIMEOUT);
  assert_int_equal(call_once(M_TOO_BIG, 5000, &m, &pe), VIGIL_SGNC_ERR_PROTO);
  assert_int_equal(pe, VIGIL_SGN_ERR_TOO_LARGE);
}

/* A signer that refuses the connection answers with op NONE; the call
 * succeeds with that status and the connection is closed after it. */
static void test_denied(void **state) {
  (void)state;
  struct peer *p = peer_start(M_DENY);
  struct vigil_sgn_client *c = connect_to(p);
  uint8_t req[64];
  struct vigil_sgn_msg m;
  size_t len = ping_frame(req, sizeof(req));
  assert_int_equal(vigil_sgn_client_call(c, &m, req, len, 5000), VIGIL_SGNC_OK);
  assert_int_equal(m.status, VIGIL_SGN_E_DENIED);
  assert_int_equal(m.op, VIGIL_SGN_OP_NONE);
  expect_closed(c);
  vigil_sgn_client_free(c);
  peer_stop(p);
}

/* A reply above the first buffer size is received whole; the next small
 * one still works (the buffer shrinks behind the scenes). */
static void test_big_reply(void **state) {
  (void)state;
  struct peer *p = peer_start(M_BIG_REPLY);
  struct vigil_sgn_client *c = connect_to(p);
  uint8_t req[64];
  struct vigil_sgn_msg m;
  struct vigil_sgn_field f;
  struct vigil_sgn_writer w;
  size_t len = 0;
  /* A SIGN_CRL request, so the reply's op matches. */
  vigil_sgn_writer_init(&w, req, sizeof(req), VIGIL_SGN_REQUEST,
                        VIGIL_SGN_OP_SIGN_CRL, VIGIL_SGN_OK, 0);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "a");
  uint8_t one = 1;
  vigil_sgn_put(&w, VIGIL_SGN_T_CRL_NUMBER, &one, 1);
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_THIS_UPDATE, 1);
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_NEXT_UPDATE, 2);
  assert_int_equal(vigil_sgn_writer_finish(&w, &len), 1);
  assert_int_equal(vigil_sgn_client_call(c, &m, req, len, 10000),
                   VIGIL_SGNC_OK);
  assert_int_equal(vigil_sgn_find(&m, &f, VIGIL_SGN_T_CRL), 1);
  assert_int_equal(f.len, 5u << 20);
  assert_int_equal(f.value[0], 0x5a);
  assert_int_equal(f.value[f.len - 1], 0x5a);
  len = ping_frame(req, sizeof(req));
  assert_int_equal(vigil_sgn_client_call(c, &m, req, len, 10000),
                   VIGIL_SGNC_OK);
  assert_int_equal(m.op, VIGIL_SGN_OP_PING);
  vigil_sgn_client_free(c);
  peer_stop(p);
}

static void test_err_strings(void **state) {
  (void)state;
  for (int a = 0; a <= VIGIL_SGNC_ERR_NOMEM; a++) {
    const char *s = vigil_sgnc_err_string((enum vigil_sgnc_err)a);
    assert_string_not_equal(s, "?");
    for (int b = 0; b < a; b++) {
      assert_string_not_equal(s, vigil_sgnc_err_string((enum vigil_sgnc_err)b));
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_connect_errors), cmocka_unit_test(test_call_ok),
    cmocka_unit_test(test_call_failures),  cmocka_unit_test(test_denied),
    cmocka_unit_test(test_big_reply),      cmocka_unit_test(test_err_strings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
