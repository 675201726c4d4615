/* bench_revoke_latency.c: how long after a revocation is published the
 * edge serves "revoked" — for bench/edge/run.sh.
 *
 *   bench_revoke_latency --port P [--host ADDR] --ca CA.pem
 *       [--timeout-ms N] [--poll-us N] CERT... -- CMD ARG... ("{}" = CERT)
 *
 * For each certificate: ask the edge (GET, keep-alive) until it answers
 * "good" twice (the second from its in-process cache L1 — the interesting
 * case, since only the event feed can invalidate it), then start CMD with
 * "{}" replaced by the certificate's path (e.g. `vigil-pki publish --status
 * revoked ...`) and poll the edge every --poll-us (default 100) until it
 * answers "revoked". Per certificate it prints the time from the start of
 * CMD to the first revoked answer, the time CMD took to exit (that is when
 * the control plane would acknowledge), and the difference (how long after
 * the acknowledgement the edge still served the old answer; 0 if it was
 * already revoked then). A summary line gives p50/p99/max of the first.
 * Fails (exit 1) if CMD fails or the edge does not answer revoked within
 * --timeout-ms (default 5000).
 *
 * Without arguments (as `make bench` runs every bench program) it prints
 * what it is for and exits 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vigil/alloc.h"
#include "vigil/cert.h"
#include "vigil/ocsp.h"

#include "edgebench_ocsp.h"
#include "respinfo.h"

#define MAX_CERTS 1024
#define MAX_ARGS  64
#define RESP_MAX  65536

extern char **environ;

struct client {
  int fd;
  struct sockaddr_in addr;
  uint8_t buf[RESP_MAX];
};

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_us(long us) {
  struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static int client_connect(struct client *c) {
  if (c->fd >= 0) {
    return 1;
  }
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    return 0;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(c->fd, (const struct sockaddr *)&c->addr, sizeof(c->addr)) != 0) {
    close(c->fd);
    c->fd = -1;
    return 0;
  }
  return 1;
}

static void client_drop(struct client *c) {
  if (c->fd >= 0) {
    close(c->fd);
    c->fd = -1;
  }
}

/* find_header returns the value of header |name| (case-insensitive) in the
 * head |h| (|n| bytes), or NULL; sets |*out_len|. */
static const char *find_header(const char *h, size_t n, const char *name,
                               size_t *out_len) {
  size_t nl = strlen(name);
  const char *p = h;
  const char *end = h + n;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (eol == NULL) {
      break;
    }
    if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 &&
        p[nl] == ':') {
      const char *v = p + nl + 1;
      while (v < eol && *v == ' ') {
        v++;
      }
      const char *ve = eol;
      if (ve > v && ve[-1] == '\r') {
        ve--;
      }
      *out_len = (size_t)(ve - v);
      return v;
    }
    p = eol + 1;
  }
  return NULL;
}

/* ask sends one GET for |path| and returns the certificate status in the
 * answer (0 good, 1 revoked, 2 unknown), or -1 if there was no usable
 * answer (HTTP error, not a successful OCSP response, connection broken). */
static int ask(struct client *c, const char *path, size_t path_len) {
  char req[EB_PATH_MAX + 64];
  int n = snprintf(req, sizeof(req), "GET %.*s HTTP/1.1\r\nHost: edge\r\n\r\n",
                   (int)path_len, path);
  if (n < 0 || (size_t)n >= sizeof(req) || !client_connect(c)) {
    return -1;
  }
  if (send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
    client_drop(c);
    return -1;
  }
  size_t have = 0;
  size_t head_len = 0;
  size_t body_len = 0;
  for (;;) {
    if (have == sizeof(c->buf)) {
      client_drop(c);
      return -1;
    }
    ssize_t r = recv(c->fd, c->buf + have, sizeof(c->buf) - have, 0);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      client_drop(c);
      return -1;
    }
    have += (size_t)r;
    if (head_len == 0) {
      const uint8_t *e = memmem(c->buf, have, "\r\n\r\n", 4);
      if (e == NULL) {
        continue;
      }
      head_len = (size_t)(e - c->buf) + 4;
      size_t vl = 0;
      const char *v =
          find_header((const char *)c->buf, head_len, "Content-Length", &vl);
      if (v == NULL || vl == 0 || vl > 6) {
        client_drop(c);
        return -1;
      }
      for (size_t k = 0; k < vl; k++) {
        if (v[k] < '0' || v[k] > '9') {
          client_drop(c);
          return -1;
        }
        body_len = body_len * 10 + (size_t)(v[k] - '0');
      }
      if (head_len + body_len > sizeof(c->buf)) {
        client_drop(c);
        return -1;
      }
    }
    if (have >= head_len + body_len) {
      break;
    }
  }
  if (have != head_len + body_len) {
    client_drop(c); /* more than one answer: out of step */
    return -1;
  }
  if (memcmp(c->buf, "HTTP/1.1 200", 12) != 0) {
    return -1;
  }
  struct edge_respinfo info;
  if (!edge_respinfo_parse(&info, c->buf + head_len, body_len)) {
    return -1;
  }
  return (int)info.status;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a;
  int64_t y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static int64_t pct(const int64_t *sorted, size_t n, double p) {
  size_t idx = (size_t)(p / 100.0 * (double)n + 0.999999);
  if (idx == 0) {
    idx = 1;
  }
  if (idx > n) {
    idx = n;
  }
  return sorted[idx - 1];
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

/* One sample: warm the edge, publish, poll. Returns 1 and the times, or 0
 * after printing why. */
static int one_sample(struct client *c, const struct vigil_cert *ca,
                      const char *cert_path, char **cmd, int cmd_argc,
                      long timeout_ms, long poll_us, int64_t *out_latency,
                      int64_t *out_exit) {
  enum vigil_cert_err cerr = VIGIL_CERT_OK;
  struct vigil_cert *leaf = vigil_cert_load_file(&cerr, cert_path);
  if (leaf == NULL) {
    fprintf(stderr, "bench_revoke_latency: %s: %s\n", cert_path,
            vigil_cert_err_string(cerr));
    return 0;
  }
  uint8_t req[EB_REQ_MAX];
  char path[EB_PATH_MAX];
  size_t req_len =
      eb_build_request(req, ca->name_sha1, ca->key_sha1,
                       CBS_data(&leaf->serial), CBS_len(&leaf->serial), NULL);
  vigil_cert_free(leaf);
  if (req_len == 0) {
    return 0;
  }
  size_t path_len = eb_path_of(path, req, req_len);

  /* Good twice in a row: the second answer comes from L1. */
  int goods = 0;
  int64_t deadline = now_us() + timeout_ms * 1000;
  while (goods < 2) {
    int st = ask(c, path, path_len);
    goods = st == VIGIL_CERT_STATUS_GOOD ? goods + 1 : 0;
    if (st == VIGIL_CERT_STATUS_REVOKED) {
      fprintf(stderr, "bench_revoke_latency: %s is revoked already\n",
              cert_path);
      return 0;
    }
    if (goods < 2 && now_us() > deadline) {
      fprintf(stderr, "bench_revoke_latency: no good answer for %s\n",
              cert_path);
      return 0;
    }
  }

  char *argv[MAX_ARGS + 1];
  for (int k = 0; k < cmd_argc; k++) {
    argv[k] = strcmp(cmd[k], "{}") == 0 ? (char *)cert_path : cmd[k];
  }
  argv[cmd_argc] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY,
                                   0);
  pid_t pid = -1;
  int64_t t0 = now_us();
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    fprintf(stderr, "bench_revoke_latency: cannot start %s\n", argv[0]);
    return 0;
  }
  int64_t t_exit = -1;
  int64_t t_revoked = -1;
  int status = 0;
  deadline = t0 + timeout_ms * 1000;
  while (t_revoked < 0 && now_us() < deadline) {
    if (t_exit < 0 && waitpid(pid, &status, WNOHANG) == pid) {
      t_exit = now_us();
    }
    if (ask(c, path, path_len) == VIGIL_CERT_STATUS_REVOKED) {
      t_revoked = now_us();
      break;
    }
    sleep_us(poll_us);
  }
  if (t_exit < 0) {
    if (waitpid(pid, &status, 0) == pid) {
      t_exit = now_us();
    }
  }
  if (t_exit < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench_revoke_latency: %s failed for %s\n", argv[0],
            cert_path);
    return 0;
  }
  if (t_revoked < 0) {
    fprintf(stderr,
            "bench_revoke_latency: the edge still did not answer revoked for "
            "%s %ld ms after the publish started\n",
            cert_path, timeout_ms);
    return 0;
  }
  *out_latency = t_revoked - t0;
  *out_exit = t_exit - t0;
  return 1;
}

int main(int argc, char **argv) {
  if (argc == 1) {
    printf(
        "bench_revoke_latency: revoke -> edge-serves-revoked latency for "
        "bench/edge/run.sh;\n"
        "usage: bench_revoke_latency --port P [--host A] --ca CA.pem "
        "[--timeout-ms N] [--poll-us N] CERT... -- CMD ARG... (\"{}\" = "
        "CERT)\n");
    return 0;
  }
  long port = -1;
  long timeout_ms = 5000;
  long poll_us = 100;
  const char *host = "127.0.0.1";
  const char *ca_path = NULL;
  const char *certs[MAX_CERTS];
  size_t num_certs = 0;
  int i = 1;
  while (i < argc) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (strncmp(a, "--", 2) != 0) {
      if (num_certs == MAX_CERTS) {
        fprintf(stderr, "bench_revoke_latency: too many certificates\n");
        return 2;
      }
      certs[num_certs++] = a;
      i++;
      continue;
    }
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int ok = v != NULL;
    if (ok && strcmp(a, "--port") == 0) {
      ok = parse_long(&port, v, 1, 65535);
    } else if (ok && strcmp(a, "--host") == 0) {
      host = v;
    } else if (ok && strcmp(a, "--ca") == 0) {
      ca_path = v;
    } else if (ok && strcmp(a, "--timeout-ms") == 0) {
      ok = parse_long(&timeout_ms, v, 1, 600000);
    } else if (ok && strcmp(a, "--poll-us") == 0) {
      ok = parse_long(&poll_us, v, 0, 1000000);
    } else {
      ok = 0;
    }
    if (!ok) {
      fprintf(stderr, "bench_revoke_latency: bad or unknown option %s\n", a);
      return 2;
    }
    i += 2;
  }
  int cmd_argc = argc - i;
  if (port < 0 || ca_path == NULL || num_certs == 0 || cmd_argc < 1 ||
      cmd_argc > MAX_ARGS) {
    fprintf(stderr,
            "bench_revoke_latency: need --port, --ca, certificates "
            "and a command after --\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);

  int ok = 0;
  int64_t *lat = NULL;
  int64_t *ex = NULL;
  enum vigil_cert_err cerr = VIGIL_CERT_OK;
  struct client *c = vigil_malloc(sizeof(*c));
  struct vigil_cert *ca = vigil_cert_load_file(&cerr, ca_path);
  lat = vigil_calloc(num_certs, sizeof(int64_t));
  ex = vigil_calloc(num_certs, sizeof(int64_t));
  if (c == NULL || ca == NULL || lat == NULL || ex == NULL) {
    fprintf(stderr, "bench_revoke_latency: cannot load %s\n", ca_path);
    goto err;
  }
  memset(&c->addr, 0, sizeof(c->addr));
  c->fd = -1;
  c->addr.sin_family = AF_INET;
  c->addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &c->addr.sin_addr) != 1) {
    fprintf(stderr, "bench_revoke_latency: bad --host\n");
    goto err;
  }
  printf("%-4s %-40s %12s %12s %12s\n", "#", "certificate", "revoked_us",
         "cmd_exit_us", "after_ack_us");
  for (size_t k = 0; k < num_certs; k++) {
    if (!one_sample(c, ca, certs[k], argv + i, cmd_argc, timeout_ms, poll_us,
                    &lat[k], &ex[k])) {
      goto err;
    }
    int64_t after = lat[k] > ex[k] ? lat[k] - ex[k] : 0;
    const char *base = strrchr(certs[k], '/');
    printf("%-4zu %-40.40s %12lld %12lld %12lld\n", k + 1,
           base != NULL ? base + 1 : certs[k], (long long)lat[k],
           (long long)ex[k], (long long)after);
  }
  int64_t *after = vigil_calloc(num_certs, sizeof(int64_t));
  if (after == NULL) {
    goto err;
  }
  for (size_t k = 0; k < num_certs; k++) {
    after[k] = lat[k] > ex[k] ? lat[k] - ex[k] : 0;
  }
  qsort(lat, num_certs, sizeof(int64_t), cmp_i64);
  qsort(ex, num_certs, sizeof(int64_t), cmp_i64);
  qsort(after, num_certs, sizeof(int64_t), cmp_i64);
  printf(
      "REVOKE_RESULT samples=%zu p50_us=%lld p99_us=%lld max_us=%lld "
      "cmd_p50_us=%lld after_ack_p50_us=%lld after_ack_p99_us=%lld\n",
      num_certs, (long long)pct(lat, num_certs, 50),
      (long long)pct(lat, num_certs, 99), (long long)lat[num_certs - 1],
      (long long)pct(ex, num_certs, 50), (long long)pct(after, num_certs, 50),
      (long long)pct(after, num_certs, 99));
  vigil_free(after);
  ok = 1;
err:
  if (c != NULL) {
    client_drop(c);
  }
  vigil_free(c);
  vigil_free(lat);
  vigil_free(ex);
  vigil_cert_free(ca);
  return ok ? 0 : 1;
}
