/* test_edge_admin.c: unit tests for edge/admin.h, over real loopback
 * sockets (and curl, a client we did not write, when it is installed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "vigil/alloc.h"

/* ======================================================================
 * Hooks with state the test flips
 * ====================================================================== */

struct hook_state {
  int ready;        /* read by the admin thread: atomics */
  int metrics_fail; /* render returns 0 */
  int renders;      /* calls to render */
};

static int hook_ready(void *ctx, char *reason, size_t reason_len) {
  struct hook_state *h = ctx;
  if (__atomic_load_n(&h->ready, __ATOMIC_ACQUIRE)) {
    return 1;
  }
  snprintf(reason, reason_len, "redis down\x01");
  return 0;
}

static const char kMetrics[] =
    "# HELP vigil_test_up Test.\n# TYPE vigil_test_up gauge\nvigil_test_up 1\n";

static size_t hook_render(void *ctx, char *out, size_t cap) {
  struct hook_state *h = ctx;
  __atomic_add_fetch(&h->renders, 1, __ATOMIC_RELAXED);
  if (__atomic_load_n(&h->metrics_fail, __ATOMIC_ACQUIRE) ||
      cap < sizeof(kMetrics)) {
    return 0;
  }
  memcpy(out, kMetrics, sizeof(kMetrics));
  return sizeof(kMetrics) - 1;
}

struct env {
  struct hook_state hs;
  struct edge_admin_hooks hooks;
  struct vigil_log log;
  struct edge_admin *admin;
  uint16_t port;
};

static int setup_with_timeout(void **state, unsigned timeout_ms) {
  struct env *e = calloc(1, sizeof(*e));
  if (e == NULL) {
    return -1;
  }
  e->hs.ready = 1;
  e->hooks.ctx = &e->hs;
  e->hooks.ready = hook_ready;
  e->hooks.render_metrics = hook_render;
  vigil_log_init(&e->log, "test");
  e->log.level = VIGIL_LOG_ERROR;
  struct edge_admin_options o;
  edge_admin_options_init(&o);
  o.timeout_ms = timeout_ms;
  e->admin = edge_admin_start_opts(&o, &e->hooks, &e->log);
  if (e->admin == NULL) {
    free(e);
    return -1;
  }
  e->port = edge_admin_port(e->admin);
  *state = e;
  return 0;
}

static int setup(void **state) {
  return setup_with_timeout(state, EDGE_ADMIN_DEFAULT_TIMEOUT_MS);
}

static int setup_short(void **state) {
  return setup_with_timeout(state, 200);
}

static int teardown(void **state) {
  struct env *e = *state;
  edge_admin_stop(e->admin);
  free(e);
  return 0;
}

/* ======================================================================
 * A plain-socket client
 * ====================================================================== */

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int dial(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void send_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    assert_true(n > 0);
    data += n;
    len -= (size_t)n;
  }
}

/* read_to_eof reads until EOF (or a reset) within |timeout_ms|; returns
 * the bytes read, NUL-terminated in |out|. Fails the test on a timeout. */
static size_t read_to_eof(int fd, char *out, size_t cap, int timeout_ms) {
  size_t len = 0;
  uint64_t end = mono_ms() + (uint64_t)timeout_ms;
  for (;;) {
    uint64_t now = mono_ms();
    assert_true(now < end);
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r = poll(&p, 1, (int)(end - now));
    assert_true(r >= 0);
    if (r == 0) {
      continue;
    }
    assert_true(len < cap - 1);
    ssize_t n = recv(fd, out + len, cap - 1 - len, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
      break;
    }
    assert_true(n > 0);
    len += (size_t)n;
  }
  out[len] = '\0';
  return len;
}

struct reply {
  int status;
  char head[1024];
  char body[1024];
  size_t body_len;
};

static void parse_reply(struct reply *r, const char *raw) {
  memset(r, 0, sizeof(*r));
  assert_int_equal(strncmp(raw, "HTTP/1.1 ", 9), 0);
  r->status = (int)strtol(raw + 9, NULL, 10);
  const char *sep = strstr(raw, "\r\n\r\n");
  assert_non_null(sep);
  size_t hl = (size_t)(sep - raw) + 2;
  assert_true(hl < sizeof(r->head));
  memcpy(r->head, raw, hl);
  r->body_len = strlen(sep + 4);
  assert_true(r->body_len < sizeof(r->body));
  memcpy(r->body, sep + 4, r->body_len + 1);
  /* Content-Length is always sent. */
  assert_non_null(strstr(r->head, "\r\nContent-Length: "));
  assert_non_null(strstr(r->head, "\r\nConnection: close\r\n"));
}

/* request sends |raw| on a fresh connection and parses the answer. */
static void request(struct reply *r, uint16_t port, const char *raw) {
  static char buf[16384];
  int fd = dial(port);
  assert_true(fd >= 0);
  send_all(fd, raw, strlen(raw));
  read_to_eof(fd, buf, sizeof(buf), 5000);
  close(fd);
  parse_reply(r, buf);
}

static long content_length(const struct reply *r) {
  const char *p = strstr(r->head, "\r\nContent-Length: ");
  return strtol(p + 18, NULL, 10);
}

/* ======================================================================
 * Routes
 * ====================================================================== */

static void test_routes(void **state) {
  struct env *e = *state;
  struct reply r;
  assert_true(e->port != 0);

  request(&r, e->port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "ok\n");
  assert_int_equal(content_length(&r), 3);

  /* HEAD: same headers, no body. */
  request(&r, e->port, "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 200);
  assert_int_equal(r.body_len, 0);
  assert_int_equal(content_length(&r), 3);

  request(&r, e->port, "GET /readyz HTTP/1.0\r\n\r\n");
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "ready\n");

  /* Not ready: 503 with the hook's reason (control bytes neutralised). */
  __atomic_store_n(&e->hs.ready, 0, __ATOMIC_RELEASE);
  request(&r, e->port, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 503);
  assert_string_equal(r.body, "redis down?\n");
  request(&r, e->port, "HEAD /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 503);
  assert_int_equal(r.body_len, 0);
  /* Liveness does not depend on readiness. */
  request(&r, e->port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 200);
  __atomic_store_n(&e->hs.ready, 1, __ATOMIC_RELEASE);
  request(&r, e->port, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 200);

  request(&r, e->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, kMetrics);
  assert_int_equal(content_length(&r), (long)strlen(kMetrics));
  assert_non_null(
      strstr(r.head, "\r\nContent-Type: text/plain; version=0.0.4"));
  request(&r, e->port, "GET /metrics?name[]=x HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 200);
  __atomic_store_n(&e->hs.metrics_fail, 1, __ATOMIC_RELEASE);
  request(&r, e->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 500);
  __atomic_store_n(&e->hs.metrics_fail, 0, __ATOMIC_RELEASE);

  request(&r, e->port, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 404);
  request(&r, e->port, "GET /healthz/ HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 404);
  request(&r, e->port, "GET /healthzz HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 404);

  request(&r, e->port,
          "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  assert_int_equal(r.status, 405);
  assert_non_null(strstr(r.head, "\r\nAllow: GET, HEAD\r\n"));
  request(&r, e->port, "DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 405);

  request(&r, e->port, "hello\r\n\r\n");
  assert_int_equal(r.status, 400);
  request(&r, e->port, "GET /healthz HTTP/2.0\r\n\r\n");
  assert_int_equal(r.status, 400);
  request(&r, e->port, "GET  /healthz HTTP/1.1\r\n\r\n");
  assert_int_equal(r.status, 400);
  request(&r, e->port, "G(T /healthz HTTP/1.1\r\n\r\n");
  assert_int_equal(r.status, 400);
  /* Hand-typed LF-only request. */
  request(&r, e->port, "GET /healthz HTTP/1.0\n\n");
  assert_int_equal(r.status, 200);

  /* Over 4 KiB of head: 431. */
  static char big[EDGE_ADMIN_MAX_HEAD + 64];
  int n = snprintf(big, sizeof(big), "GET /healthz HTTP/1.1\r\nX-Pad: ");
  memset(big + n, 'a', sizeof(big) - (size_t)n - 1);
  big[sizeof(big) - 1] = '\0';
  request(&r, e->port, big);
  assert_int_equal(r.status, 431);

  /* A head that arrives in pieces. */
  static char buf[4096];
  int fd = dial(e->port);
  assert_true(fd >= 0);
  send_all(fd, "GET /heal", 9);
  struct pollfd p = { .fd = fd, .events = POLLIN };
  assert_int_equal(poll(&p, 1, 50), 0); /* no answer to half a request */
  send_all(fd, "thz HTTP/1.1\r\nHost: x\r", 22);
  send_all(fd, "\n\r\n", 3);
  read_to_eof(fd, buf, sizeof(buf), 5000);
  close(fd);
  parse_reply(&r, buf);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "ok\n");
  assert_true(__atomic_load_n(&e->hs.renders, __ATOMIC_RELAXED) >= 3);
}

static void test_no_hooks(void **state) {
  (void)state;
  struct vigil_log log;
  vigil_log_init(&log, "test");
  log.level = VIGIL_LOG_ERROR;
  struct edge_admin_hooks hooks;
  memset(&hooks, 0, sizeof(hooks));
  struct edge_admin *a = edge_admin_start("127.0.0.1", 0, &hooks, &log);
  assert_non_null(a);
  struct reply r;
  request(&r, edge_admin_port(a), "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 200);
  request(&r, edge_admin_port(a), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 404);
  edge_admin_stop(a);
  edge_admin_stop(NULL);
}

/* ======================================================================
 * curl
 * ====================================================================== */

/* run_curl runs curl with |args| against |path| and returns its stdout;
 * unless |args| has its own -w, "|" and the status code follow the body. */
static void run_curl(char *out, size_t cap, uint16_t port, const char *args,
                     const char *path) {
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "curl -s -m 5 %s %s 'http://127.0.0.1:%u%s'",
           strstr(args, "-w ") != NULL ? "" : "-w '|%{http_code}'", args,
           (unsigned)port, path);
  FILE *f = popen(cmd, "r");
  assert_non_null(f);
  size_t n = fread(out, 1, cap - 1, f);
  out[n] = '\0';
  assert_int_equal(pclose(f), 0);
}

static void test_curl(void **state) {
  struct env *e = *state;
  if (system("command -v curl >/dev/null 2>&1") != 0) {
    skip();
  }
  char out[4096];
  run_curl(out, sizeof(out), e->port, "", "/healthz");
  assert_string_equal(out, "ok\n|200");
  run_curl(out, sizeof(out), e->port, "", "/readyz");
  assert_string_equal(out, "ready\n|200");
  __atomic_store_n(&e->hs.ready, 0, __ATOMIC_RELEASE);
  run_curl(out, sizeof(out), e->port, "", "/readyz");
  assert_string_equal(out, "redis down?\n|503");
  __atomic_store_n(&e->hs.ready, 1, __ATOMIC_RELEASE);
  run_curl(out, sizeof(out), e->port, "", "/nothing");
  assert_string_equal(out, "not found\n|404");
  run_curl(out, sizeof(out), e->port, "-X PUT", "/healthz");
  assert_true(strstr(out, "|405") != NULL);
  /* HEAD with headers shown; curl must not wait for a body. */
  run_curl(out, sizeof(out), e->port, "-I", "/healthz");
  assert_true(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
  assert_true(strstr(out, "\r\nContent-Length: 3\r\n") != NULL);
  assert_true(strstr(out, "|200") != NULL);
  /* Metrics with its content type, as a scraper sees it. */
  run_curl(out, sizeof(out), e->port, "-w '|%{content_type}|%{http_code}'",
           "/metrics");
  char expect[512];
  snprintf(expect, sizeof(expect),
           "%s|text/plain; version=0.0.4; charset=utf-8|200", kMetrics);
  assert_string_equal(out, expect);
}

/* ======================================================================
 * Bounds: connection limit, timeouts, stop
 * ====================================================================== */

static void test_connection_limit(void **state) {
  struct env *e = *state;
  int fds[EDGE_ADMIN_MAX_CONNS];
  for (size_t i = 0; i < EDGE_ADMIN_MAX_CONNS; i++) {
    fds[i] = dial(e->port);
    assert_true(fds[i] >= 0);
  }
  /* One more is answered 503 and closed at once (the others sent nothing
   * and hold their slots until the 5 s timeout). */
  int extra = dial(e->port);
  assert_true(extra >= 0);
  static char buf[4096];
  read_to_eof(extra, buf, sizeof(buf), 3000);
  close(extra);
  struct reply r;
  parse_reply(&r, buf);
  assert_int_equal(r.status, 503);
  assert_string_equal(r.body, "busy\n");

  /* The held connections still work. */
  send_all(fds[0], "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 35);
  read_to_eof(fds[0], buf, sizeof(buf), 5000);
  parse_reply(&r, buf);
  assert_int_equal(r.status, 200);

  /* Once clients go away their slots come back: poll until a new request
   * is served (bounded; the server sees the EOFs asynchronously). */
  for (size_t i = 0; i < EDGE_ADMIN_MAX_CONNS; i++) {
    close(fds[i]);
  }
  uint64_t end = mono_ms() + 5000;
  for (;;) {
    request(&r, e->port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    if (r.status == 200) {
      break;
    }
    assert_int_equal(r.status, 503);
    assert_true(mono_ms() < end);
    poll(NULL, 0, 10);
  }
  assert_string_equal(r.body, "ok\n");
}

static void test_concurrent_requests(void **state) {
  struct env *e = *state;
  /* A full table of clients, all with a request in flight, all served. */
  int fds[EDGE_ADMIN_MAX_CONNS];
  const char *req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  for (size_t i = 0; i < EDGE_ADMIN_MAX_CONNS; i++) {
    fds[i] = dial(e->port);
    assert_true(fds[i] >= 0);
    send_all(fds[i], req, strlen(req));
  }
  static char buf[4096];
  for (size_t i = 0; i < EDGE_ADMIN_MAX_CONNS; i++) {
    read_to_eof(fds[i], buf, sizeof(buf), 5000);
    close(fds[i]);
    struct reply r;
    parse_reply(&r, buf);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, kMetrics);
  }
}

/* wait_eof waits up to |max_ms| for the server to close |fd| and returns
 * the milliseconds that took; fails the test if it does not happen. */
static uint64_t wait_eof(int fd, uint64_t start, int max_ms) {
  uint64_t end = start + (uint64_t)max_ms;
  char b[64];
  for (;;) {
    uint64_t now = mono_ms();
    assert_true(now < end);
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r = poll(&p, 1, (int)(end - now));
    assert_true(r >= 0);
    if (r == 0) {
      continue;
    }
    ssize_t n = recv(fd, b, sizeof(b), 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
      return mono_ms() - start;
    }
    fail_msg("unexpected data from a timed-out connection");
  }
}

static void test_slow_client_dropped(void **state) {
  struct env *e = *state; /* timeout 200 ms */
  uint64_t start = mono_ms();
  int silent = dial(e->port);
  int partial = dial(e->port);
  assert_true(silent >= 0 && partial >= 0);
  send_all(partial, "GET /healthz HTTP/1.1\r\n", 23);
  uint64_t t1 = wait_eof(silent, start, 5000);
  uint64_t t2 = wait_eof(partial, start, 5000);
  /* Dropped by the timeout, not at once. */
  assert_true(t1 >= 190);
  assert_true(t2 >= 190);
  close(silent);
  close(partial);
  /* The listener keeps serving. */
  struct reply r;
  request(&r, e->port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 200);
}

static void test_stop_with_clients(void **state) {
  (void)state;
  struct env *e = NULL;
  assert_int_equal(setup((void **)&e), 0);
  uint16_t port = e->port;
  int idle = dial(port);
  int partial = dial(port);
  assert_true(idle >= 0 && partial >= 0);
  send_all(partial, "GET /hea", 8);
  /* Make sure the server has accepted both: one full request round trip
   * on a third connection happens after they are in the accept queue. */
  struct reply r;
  request(&r, port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 200);
  uint64_t start = mono_ms();
  edge_admin_stop(e->admin);
  e->admin = NULL;
  /* The clients see their connections closed, long before the 5 s read
   * timeout could have done it. */
  assert_true(wait_eof(idle, start, 2000) < 2000);
  assert_true(wait_eof(partial, start, 2000) < 2000);
  close(idle);
  close(partial);
  /* Nothing listens any more. */
  assert_int_equal(dial(port), -1);
  free(e);
}

/* ======================================================================
 * Start-up errors
 * ====================================================================== */

static void test_start_errors(void **state) {
  struct env *e = *state;
  struct vigil_log log;
  vigil_log_init(&log, "test");
  log.level = VIGIL_LOG_ERROR;
  log.fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  assert_true(log.fd >= 0);
  assert_null(edge_admin_start("not-an-address", 0, &e->hooks, &log));
  assert_null(edge_admin_start("localhost", 0, &e->hooks, &log)); /* no DNS */
  /* The port is taken by the running listener. */
  assert_null(edge_admin_start("127.0.0.1", e->port, &e->hooks, &log));
  struct edge_admin_options o;
  edge_admin_options_init(&o);
  o.timeout_ms = 0;
  assert_null(edge_admin_start_opts(&o, &e->hooks, &log));

  /* IPv6 loopback, where the machine has it. */
  struct edge_admin *a6 = edge_admin_start("::1", 0, &e->hooks, &log);
  if (a6 != NULL) {
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in6 sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(edge_admin_port(a6));
    sa.sin6_addr = in6addr_loopback;
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    send_all(fd, req, strlen(req));
    static char buf[1024];
    read_to_eof(fd, buf, sizeof(buf), 5000);
    close(fd);
    struct reply r;
    parse_reply(&r, buf);
    assert_int_equal(r.status, 200);
    edge_admin_stop(a6);
  }

  /* Allocation failures at start: NULL, nothing leaked (ASan) or left
   * open, until enough allocations succeed. */
  for (unsigned long i = 0; i < 100; i++) {
    vigil_alloc_fail_after(i, 0);
    struct edge_admin *a = edge_admin_start("127.0.0.1", 0, &e->hooks, &log);
    unsigned long failures = vigil_alloc_failures();
    vigil_alloc_fail_reset();
    if (failures == 0) {
      assert_non_null(a);
      edge_admin_stop(a);
      break;
    }
    assert_null(a);
  }
  close(log.fd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
    cmocka_unit_test(test_no_hooks),
    cmocka_unit_test_setup_teardown(test_curl, setup, teardown),
    cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_concurrent_requests, setup, teardown),
    cmocka_unit_test_setup_teardown(test_slow_client_dropped, setup_short,
                                    teardown),
    cmocka_unit_test(test_stop_with_clients),
    cmocka_unit_test_setup_teardown(test_start_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
