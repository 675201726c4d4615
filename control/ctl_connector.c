/* ctl_connector.c: delivery connectors for incident executions (see
 * ctl_connector.h). */
#include "ctl_connector.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "vigil/alloc.h"
#include "vigil/hex.h"
#include "vigil/seal.h"

#define MAX_ARGV        32      /* words of the reload command */
#define MAX_OUTPUT      2048    /* reload output kept in the receipt */
#define MAX_FILE        1048576 /* largest existing file compared */
#define CONNECT_TIMEOUT 5000    /* ms per TLS connection attempt */

/* ==========================================================================
 * Small helpers
 * ========================================================================== */

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* sha256_hex writes the hex SHA-256 of |data| to |out| (65 bytes). */
static void sha256_hex(char out[65], const void *data, size_t len) {
  uint8_t d[32];
  if (!vigil_sha256(d, data, len)) {
    snprintf(out, 65, "unavailable");
    return;
  }
  vigil_hex_encode(out, d, 32);
  out[64] = '\0';
}

/* has_dotdot: |p| has a ".." path segment. */
static int has_dotdot(const char *p) {
  const char *s = p;
  while (*s != '\0') {
    size_t n = strcspn(s, "/");
    if (n == 2 && s[0] == '.' && s[1] == '.') {
      return 1;
    }
    s += n;
    while (*s == '/') {
      s++;
    }
  }
  return 0;
}

/* resolve_dir resolves |target| under the deploy root into |out|
 * (PATH_MAX bytes). Returns 1, or 0 with |err|. */
static int resolve_dir(char *out, char *err, size_t err_len,
                       const struct ctl_connector_cfg *cfg,
                       const char *target) {
  char root[PATH_MAX];
  char cand[PATH_MAX * 2];
  char eb[128];
  struct stat st;
  if (cfg->deploy_root == NULL || cfg->deploy_root[0] == '\0') {
    snprintf(err, err_len,
             "incident-deploy-root is not configured: file and nginx "
             "deliveries are refused");
    return 0;
  }
  if (target[0] == '\0' || has_dotdot(target) || strlen(target) >= PATH_MAX) {
    snprintf(err, err_len, "target \"%.200s\": no \"..\" segments allowed",
             target);
    return 0;
  }
  if (realpath(cfg->deploy_root, root) == NULL) {
    snprintf(err, err_len, "incident-deploy-root %.200s: %s", cfg->deploy_root,
             vigil_strerror(errno, eb, sizeof(eb)));
    return 0;
  }
  if (target[0] == '/') {
    snprintf(cand, sizeof(cand), "%s", target);
  } else {
    snprintf(cand, sizeof(cand), "%s/%s", root, target);
  }
  if (realpath(cand, out) == NULL) {
    snprintf(err, err_len, "target \"%.200s\": %s", target,
             vigil_strerror(errno, eb, sizeof(eb)));
    return 0;
  }
  size_t rl = strlen(root);
  int inside = strncmp(out, root, rl) == 0 &&
               (out[rl] == '/' || (out[rl] == '\0') || strcmp(root, "/") == 0);
  if (!inside) {
    snprintf(err, err_len,
             "target \"%.200s\" resolves to %.200s, outside the deploy root "
             "%.200s",
             target, out, root);
    return 0;
  }
  if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(err, err_len, "target \"%.200s\" is not a directory", target);
    return 0;
  }
  return 1;
}

/* split_address splits "host:port" or "[v6]:port". */
static int split_address(char *host, size_t host_len, char *port,
                         size_t port_len, const char *addr) {
  const char *colon = strrchr(addr, ':');
  if (addr == NULL || colon == NULL || colon == addr || colon[1] == '\0') {
    return 0;
  }
  const char *h = addr;
  size_t hl = (size_t)(colon - addr);
  if (h[0] == '[') {
    if (hl < 3 || h[hl - 1] != ']') {
      return 0;
    }
    h++;
    hl -= 2;
  }
  if (hl >= host_len || strlen(colon + 1) >= port_len) {
    return 0;
  }
  memcpy(host, h, hl);
  host[hl] = '\0';
  snprintf(port, port_len, "%s", colon + 1);
  for (const char *c = port; *c; c++) {
    if (*c < '0' || *c > '9') {
      return 0;
    }
  }
  long pn = strtol(port, NULL, 10);
  return pn >= 1 && pn <= 65535;
}

/* webhook_url_ok: https://..., or http:// to a loopback host. */
static int webhook_url_ok(const char *url) {
  if (strncmp(url, "https://", 8) == 0) {
    return url[8] != '\0';
  }
  static const char *const loop[] = { "http://127.0.0.1:", "http://127.0.0.1/",
                                      "http://localhost:", "http://localhost/",
                                      "http://[::1]:",     "http://[::1]/" };
  for (size_t i = 0; i < sizeof(loop) / sizeof(loop[0]); i++) {
    if (strncmp(url, loop[i], strlen(loop[i])) == 0) {
      return 1;
    }
  }
  return 0;
}

int ctl_connector_check(char *err, size_t err_len,
                        const struct ctl_connector_cfg *cfg,
                        const char *connector, const char *target,
                        const char *check_address) {
  char dir[PATH_MAX];
  char host[256];
  char port[8];
  if (strcmp(connector, "webhook") == 0) {
    for (const char *c = target; *c; c++) {
      if ((unsigned char)*c <= 0x20 || *c == 0x7f) {
        snprintf(err, err_len, "target: a URL has no blanks or controls");
        return 0;
      }
    }
    if (!webhook_url_ok(target)) {
      snprintf(err, err_len,
               "target: the webhook URL must be https:// (plain http only to "
               "a loopback address)");
      return 0;
    }
    return 1;
  }
  if (strcmp(connector, "file") != 0 && strcmp(connector, "nginx") != 0) {
    snprintf(err, err_len, "connector: one of nginx, file, webhook");
    return 0;
  }
  if (!resolve_dir(dir, err, err_len, cfg, target)) {
    return 0;
  }
  if (strcmp(connector, "nginx") == 0) {
    const char *a = check_address != NULL && check_address[0] != '\0'
                        ? check_address
                        : cfg->nginx_check;
    if (cfg->nginx_reload == NULL || cfg->nginx_reload[0] == '\0') {
      snprintf(err, err_len,
               "connector nginx: incident-nginx-reload is not configured");
      return 0;
    }
    if (a == NULL || a[0] == '\0' ||
        !split_address(host, sizeof(host), port, sizeof(port), a)) {
      snprintf(err, err_len,
               "check_address: host:port of the nginx TLS listener is needed "
               "(or configure incident-nginx-check)");
      return 0;
    }
  }
  return 1;
}

/* ==========================================================================
 * Files
 * ========================================================================== */

struct dfile {
  const char *name;    /* "cert.pem" */
  const char *content; /* NUL-terminated */
  mode_t mode;
  int changed;  /* 1: written by this attempt */
  int had_prev; /* 1: a previous file is kept as name.prev */
};

/* read_at reads |name| in |dirfd| if it is a regular file of at most
 * MAX_FILE bytes: returns a vigil_malloc'ed NUL-terminated copy, or NULL. */
static char *read_at(int dirfd, const char *name) {
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return NULL;
  }
  struct stat st;
  char *buf = NULL;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE) {
    goto done;
  }
  buf = vigil_malloc((size_t)st.st_size + 1);
  if (buf == NULL) {
    goto done;
  }
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    got += (size_t)n;
  }
  buf[got] = '\0';

done:
  close(fd);
  return buf;
}

/* write_one installs |f| in |dirfd| atomically (temp file, fsync, rename),
 * keeping what it replaces as name.prev (a hard link taken before the
 * rename, so the name never disappears). Returns 1, or 0 with |err|. */
static int write_one(char *err, size_t err_len, int dirfd, struct dfile *f) {
  char tmp[128];
  char prev[128];
  char eb[128];
  snprintf(prev, sizeof(prev), "%s.prev", f->name);
  char *old = read_at(dirfd, f->name);
  if (old != NULL && strcmp(old, f->content) == 0) {
    /* Already delivered by an earlier attempt: keep its .prev. */
    vigil_free(old);
    f->had_prev = faccessat(dirfd, prev, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
    return 1;
  }
  int existed =
      old != NULL || faccessat(dirfd, f->name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
  vigil_free(old);
  snprintf(tmp, sizeof(tmp), ".%s.tmp-%ld", f->name, (long)getpid());
  (void)unlinkat(dirfd, tmp, 0);
  int fd =
      openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
             f->mode);
  if (fd < 0) {
    snprintf(err, err_len, "%s: %s", f->name,
             vigil_strerror(errno, eb, sizeof(eb)));
    return 0;
  }
  size_t len = strlen(f->content);
  size_t off = 0;
  int ok = fchmod(fd, f->mode) == 0;
  while (ok && off < len) {
    ssize_t n = write(fd, f->content + off, len - off);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    ok = n > 0;
    off += n > 0 ? (size_t)n : 0;
  }
  ok = ok && fsync(fd) == 0;
  int saved = errno;
  close(fd);
  if (!ok) {
    (void)unlinkat(dirfd, tmp, 0);
    snprintf(err, err_len, "%s: %s", f->name,
             vigil_strerror(saved, eb, sizeof(eb)));
    return 0;
  }
  (void)unlinkat(dirfd, prev, 0);
  if (existed && linkat(dirfd, f->name, dirfd, prev, 0) != 0) {
    saved = errno;
    (void)unlinkat(dirfd, tmp, 0);
    snprintf(err, err_len, "%s: keeping the previous file: %s", f->name,
             vigil_strerror(saved, eb, sizeof(eb)));
    return 0;
  }
  if (renameat(dirfd, tmp, dirfd, f->name) != 0) {
    saved = errno;
    (void)unlinkat(dirfd, tmp, 0);
    snprintf(err, err_len, "%s: %s", f->name,
             vigil_strerror(saved, eb, sizeof(eb)));
    return 0;
  }
  f->changed = 1;
  f->had_prev = existed;
  return 1;
}

/* rollback_files restores every name.prev over name (or removes a file
 * that had no predecessor). Returns 1 if all were restored. */
static int rollback_files(int dirfd, struct dfile *files, size_t n,
                          json_t *restored) {
  int ok = 1;
  for (size_t i = n; i-- > 0;) {
    char prev[128];
    snprintf(prev, sizeof(prev), "%s.prev", files[i].name);
    if (files[i].had_prev) {
      if (renameat(dirfd, prev, dirfd, files[i].name) != 0) {
        ok = 0;
        continue;
      }
      json_array_append_new(restored, json_string(files[i].name));
    } else if (files[i].changed) {
      if (unlinkat(dirfd, files[i].name, 0) != 0 && errno != ENOENT) {
        ok = 0;
        continue;
      }
      json_array_append_new(restored, json_string(files[i].name));
    }
  }
  (void)fsync(dirfd);
  return ok;
}

/* ==========================================================================
 * The reload command
 * ========================================================================== */

/* run_command runs |cmdline| (split on blanks, no shell) with a timeout of
 * |timeout_s|; adds {argv, exit_status, output, timed_out} to |rec|.
 * Returns 1 if it exited with status 0. */
static int run_command(json_t *rec, const char *cmdline, int64_t timeout_s) {
  char buf[1024];
  char *argv[MAX_ARGV + 1];
  size_t argc = 0;
  char out[MAX_OUTPUT + 1];
  size_t out_len = 0;
  int pfd[2] = { -1, -1 };
  int status = -1;
  int timed_out = 0;
  json_t *args = json_array();
  snprintf(buf, sizeof(buf), "%s", cmdline);
  char *p = buf;
  while (*p != '\0' && argc < MAX_ARGV) {
    while (*p == ' ' || *p == '\t') {
      *p++ = '\0';
    }
    if (*p == '\0') {
      break;
    }
    argv[argc++] = p;
    json_array_append_new(args, json_string(p));
    while (*p != '\0' && *p != ' ' && *p != '\t') {
      p++;
    }
  }
  argv[argc] = NULL;
  json_object_set_new(rec, "argv", args);
  if (argc == 0 || pipe2(pfd, O_CLOEXEC) != 0) {
    json_object_set_new(rec, "exit_status", json_integer(-1));
    json_object_set_new(rec, "output", json_string("cannot run"));
    return 0;
  }
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
      dup2(devnull, 0);
    }
    dup2(pfd[1], 1);
    dup2(pfd[1], 2);
    /* The API's listening socket and database connections stay ours. */
    (void)close_range(3, ~0U, 0);
    execvp(argv[0], argv);
    _exit(127);
  }
  close(pfd[1]);
  if (pid < 0) {
    close(pfd[0]);
    json_object_set_new(rec, "exit_status", json_integer(-1));
    json_object_set_new(rec, "output", json_string("fork failed"));
    return 0;
  }
  int64_t deadline = mono_ms() + timeout_s * 1000;
  for (;;) {
    int64_t left = deadline - mono_ms();
    if (left <= 0) {
      timed_out = 1;
      break;
    }
    struct pollfd pf = { pfd[0], POLLIN, 0 };
    int pr = poll(&pf, 1, (int)(left > 200 ? 200 : left));
    if (pr < 0 && errno == EINTR) {
      continue;
    }
    if (pr > 0) {
      char tmp[512];
      ssize_t n = read(pfd[0], tmp, sizeof(tmp));
      if (n == 0) {
        break; /* EOF: the command closed its output */
      }
      if (n > 0) {
        size_t k = (size_t)n;
        if (k > MAX_OUTPUT - out_len) {
          k = MAX_OUTPUT - out_len;
        }
        memcpy(out + out_len, tmp, k);
        out_len += k;
      }
    }
  }
  close(pfd[0]);
  /* Output closed (or time is up): reap it, within the deadline. */
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      break;
    }
    if (timed_out || mono_ms() >= deadline) {
      timed_out = 1;
      kill(pid, SIGKILL);
      (void)waitpid(pid, &status, 0);
      break;
    }
    nap_ms(20);
  }
  out[out_len] = '\0';
  for (size_t i = 0; i < out_len; i++) {
    if ((unsigned char)out[i] < 0x20 && out[i] != '\n') {
      out[i] = '?';
    } else if ((unsigned char)out[i] >= 0x7f) {
      out[i] = '?'; /* keep the receipt valid UTF-8 */
    }
  }
  int code = timed_out             ? -1
             : WIFEXITED(status)   ? WEXITSTATUS(status)
             : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                   : -1;
  json_object_set_new(rec, "exit_status", json_integer(code));
  json_object_set_new(rec, "timed_out", json_boolean(timed_out));
  json_object_set_new(rec, "output", json_string(out));
  return code == 0;
}

/* ==========================================================================
 * TLS check
 * ========================================================================== */

/* tls_fetch connects to |address| and returns the served leaf certificate
 * (DER, vigil_malloc) in |*out|. Returns 1, or 0 with |err|. */
static int tls_fetch(uint8_t **out, size_t *out_len, char *err, size_t err_len,
                     const char *address) {
  char host[256];
  char port[8];
  struct addrinfo hints;
  struct addrinfo *ai = NULL;
  gnutls_session_t s = NULL;
  gnutls_certificate_credentials_t cred = NULL;
  int fd = -1;
  int ok = 0;
  *out = NULL;
  memset(&hints, 0, sizeof(hints));
  hints.ai_socktype = SOCK_STREAM;
  if (!split_address(host, sizeof(host), port, sizeof(port), address)) {
    snprintf(err, err_len, "bad check address \"%.200s\"", address);
    return 0;
  }
  if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
    snprintf(err, err_len, "cannot resolve %.200s", host);
    return 0;
  }
  fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    snprintf(err, err_len, "socket failed");
    goto done;
  }
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
    snprintf(err, err_len, "connect %.200s: refused", address);
    goto done;
  }
  struct pollfd pf = { fd, POLLOUT, 0 };
  int soerr = 0;
  socklen_t sl = sizeof(soerr);
  if (poll(&pf, 1, CONNECT_TIMEOUT) != 1 ||
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
    snprintf(err, err_len, "connect %.200s failed", address);
    goto done;
  }
  int fl = fcntl(fd, F_GETFL);
  (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  struct timeval tv = { CONNECT_TIMEOUT / 1000, 0 };
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
      gnutls_init(&s, GNUTLS_CLIENT) < 0 ||
      gnutls_set_default_priority(s) < 0 ||
      gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0) {
    snprintf(err, err_len, "TLS setup failed");
    goto done;
  }
  struct in6_addr a6;
  if (inet_pton(AF_INET, host, &a6) != 1 &&
      inet_pton(AF_INET6, host, &a6) != 1) {
    (void)gnutls_server_name_set(s, GNUTLS_NAME_DNS, host, strlen(host));
  }
  gnutls_transport_set_int(s, fd);
  gnutls_handshake_set_timeout(s, CONNECT_TIMEOUT);
  int rc;
  do {
    rc = gnutls_handshake(s);
  } while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
  if (rc < 0) {
    snprintf(err, err_len, "TLS handshake with %.200s: %s", address,
             gnutls_strerror(rc));
    goto done;
  }
  unsigned n = 0;
  const gnutls_datum_t *peers = gnutls_certificate_get_peers(s, &n);
  if (peers == NULL || n == 0) {
    snprintf(err, err_len, "%.200s sent no certificate", address);
    goto done;
  }
  *out = vigil_malloc(peers[0].size);
  if (*out == NULL) {
    snprintf(err, err_len, "out of memory");
    goto done;
  }
  memcpy(*out, peers[0].data, peers[0].size);
  *out_len = peers[0].size;
  ok = 1;

done:
  if (s != NULL) {
    gnutls_deinit(s);
  }
  if (cred != NULL) {
    gnutls_certificate_free_credentials(cred);
  }
  if (fd >= 0) {
    close(fd);
  }
  freeaddrinfo(ai);
  return ok;
}

/* der_serial_hex writes the serial of certificate |der| as lowercase hex
 * without leading zeros ("" if unreadable). */
static void der_serial_hex(char *out, size_t out_len, const uint8_t *der,
                           size_t len) {
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t in = { (unsigned char *)der, (unsigned)len };
  uint8_t serial[64];
  size_t sl = sizeof(serial);
  out[0] = '\0';
  if (gnutls_x509_crt_init(&crt) < 0) {
    return;
  }
  if (gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_DER) >= 0 &&
      gnutls_x509_crt_get_serial(crt, serial, &sl) >= 0 && sl <= 20 &&
      out_len >= 2 * sl + 2) {
    (void)vigil_serial_hex(out, serial, sl);
  }
  gnutls_x509_crt_deinit(crt);
}

/* tls_check polls |address| until it serves |d|'s certificate or the
 * timeout passes; records {address, expected_serial, observed_serial,
 * match, attempts} in |rec|. Returns 1 on a match. */
static int tls_check(json_t *rec, char *err, size_t err_len,
                     const struct ctl_connector_cfg *cfg,
                     const struct ctl_delivery *d, const char *address) {
  int64_t deadline = mono_ms() + cfg->tls_check_timeout * 1000;
  char observed[64] = "";
  int match = 0;
  int attempts = 0;
  char last[512] = "";
  for (;;) {
    uint8_t *der = NULL;
    size_t len = 0;
    attempts++;
    if (tls_fetch(&der, &len, last, sizeof(last), address)) {
      der_serial_hex(observed, sizeof(observed), der, len);
      match = len == d->cert_der_len && memcmp(der, d->cert_der, len) == 0;
      vigil_free(der);
      if (match) {
        break;
      }
      snprintf(last, sizeof(last), "%.200s serves serial %.64s, not %.64s",
               address, observed, d->serial_hex);
    }
    if (mono_ms() + 250 >= deadline) {
      break;
    }
    nap_ms(250);
  }
  json_object_set_new(rec, "address", json_string(address));
  json_object_set_new(rec, "expected_serial", json_string(d->serial_hex));
  json_object_set_new(rec, "observed_serial", json_string(observed));
  json_object_set_new(rec, "match", json_boolean(match));
  json_object_set_new(rec, "attempts", json_integer(attempts));
  if (!match) {
    snprintf(err, err_len, "TLS check failed: %s", last);
    json_object_set_new(rec, "error", json_string(last));
  }
  return match;
}

/* ==========================================================================
 * Webhook
 * ========================================================================== */

static size_t discard(char *p, size_t size, size_t n, void *arg) {
  (void)p;
  (void)arg;
  return size * n;
}

static int webhook_post(json_t *receipt, char *err, size_t err_len,
                        const struct ctl_delivery *d) {
  json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:s}", "execution_id",
                          d->execution_id, "serial", d->serial_hex,
                          "certificate_pem", d->cert_pem, "fullchain_pem",
                          d->fullchain_pem, "private_key_pem", d->key_pem);
  char *body = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if (body == NULL) {
    snprintf(err, err_len, "out of memory");
    return 0;
  }
  char digest[65];
  sha256_hex(digest, body, strlen(body));
  CURL *c = curl_easy_init();
  struct curl_slist *h =
      curl_slist_append(NULL, "Content-Type: application/json");
  long code = 0;
  int ok = 0;
  if (c == NULL || h == NULL) {
    snprintf(err, err_len, "out of memory");
    goto done;
  }
  curl_easy_setopt(c, CURLOPT_URL, d->target);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  CURLcode cc = curl_easy_perform(c);
  if (cc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  }
  ok = cc == CURLE_OK && code >= 200 && code < 300;
  if (!ok) {
    snprintf(
        err, err_len, "webhook %s",
        cc != CURLE_OK ? curl_easy_strerror(cc) : "answered a non-2xx status");
  }
  json_object_set_new(receipt, "http_status", json_integer(code));
  json_object_set_new(receipt, "body_sha256", json_string(digest));

done:
  curl_slist_free_all(h);
  if (c != NULL) {
    curl_easy_cleanup(c);
  }
  memset(body, 0, strlen(body)); /* it held the private key */
  free(body);
  return ok;
}

/* ==========================================================================
 * Delivery
 * ========================================================================== */

enum ctl_connector_result ctl_connector_deliver(
    json_t **out_receipt, char *err, size_t err_len,
    const struct ctl_connector_cfg *cfg, const struct ctl_delivery *d) {
  char dir[PATH_MAX];
  char eb[128];
  int dirfd = -1;
  int ok = 0;
  struct dfile files[] = {
    { "key.pem", d->key_pem, 0600, 0, 0 },
    { "cert.pem", d->cert_pem, 0644, 0, 0 },
    { "fullchain.pem", d->fullchain_pem, 0644, 0, 0 },
  };
  const size_t nf = sizeof(files) / sizeof(files[0]);
  size_t written = 0;
  json_t *r = json_object();
  json_t *failed = json_array();
  json_t *refs = json_array();
  json_t *flist = json_array();
  *out_receipt = r;
  err[0] = '\0';
  if (r == NULL || failed == NULL || refs == NULL || flist == NULL) {
    json_decref(failed);
    json_decref(refs);
    json_decref(flist);
    snprintf(err, err_len, "out of memory");
    return CTL_CONNECTOR_FAILED;
  }
  json_object_set_new(r, "connector", json_string(d->connector));
  json_object_set_new(r, "target", json_string(d->target));
  json_object_set_new(r, "failed_targets", failed);
  json_object_set_new(r, "rollback_refs", refs);

  if (strcmp(d->connector, "webhook") == 0) {
    json_decref(flist);
    if (!ctl_connector_check(err, err_len, cfg, d->connector, d->target,
                             NULL)) {
      json_array_append_new(failed, json_string(d->target));
    } else if (!webhook_post(r, err, err_len, d)) {
      json_array_append_new(failed, json_string(d->target));
    } else {
      ok = 1;
    }
    if (d->rollback_ref != NULL && d->rollback_ref[0] != '\0') {
      json_array_append_new(refs, json_string(d->rollback_ref));
    }
    json_object_set_new(r, "rolled_back", json_boolean(0));
    goto out;
  }

  json_object_set_new(r, "files", flist);
  if (!resolve_dir(dir, err, err_len, cfg, d->target)) {
    json_array_append_new(failed, json_string(d->target));
    goto out;
  }
  json_object_set_new(r, "directory", json_string(dir));
  dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) {
    snprintf(err, err_len, "%s: %s", dir,
             vigil_strerror(errno, eb, sizeof(eb)));
    json_array_append_new(failed, json_string(dir));
    goto out;
  }
  for (written = 0; written < nf; written++) {
    if (!write_one(err, err_len, dirfd, &files[written])) {
      break;
    }
  }
  (void)fsync(dirfd);
  for (size_t i = 0; i < nf; i++) {
    char path[PATH_MAX + 64];
    char prev[PATH_MAX + 80];
    char digest[65];
    snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
    snprintf(prev, sizeof(prev), "%s.prev", path);
    sha256_hex(digest, files[i].content, strlen(files[i].content));
    json_array_append_new(flist, json_pack("{s:s,s:s,s:I,s:i,s:s,s:b}", "name",
                                           files[i].name, "path", path, "bytes",
                                           (json_int_t)strlen(files[i].content),
                                           "mode", (int)files[i].mode, "sha256",
                                           digest, "written", i < written));
    if (files[i].had_prev) {
      json_array_append_new(refs, json_string(prev));
    }
  }
  if (d->rollback_ref != NULL && d->rollback_ref[0] != '\0') {
    json_array_append_new(refs, json_string(d->rollback_ref));
  }
  int delivered = written == nf;
  if (delivered && strcmp(d->connector, "nginx") == 0) {
    json_t *reload = json_object();
    json_t *check = json_object();
    json_object_set_new(r, "reload", reload);
    json_object_set_new(r, "tls_check", check);
    const char *addr = d->check_address != NULL && d->check_address[0] != '\0'
                           ? d->check_address
                           : cfg->nginx_check;
    if (cfg->nginx_reload == NULL || cfg->nginx_reload[0] == '\0') {
      snprintf(err, err_len, "incident-nginx-reload is not configured");
      delivered = 0;
    } else if (!run_command(reload, cfg->nginx_reload, cfg->reload_timeout)) {
      snprintf(err, err_len, "the reload command failed (exit status %lld)",
               (long long)json_integer_value(
                   json_object_get(reload, "exit_status")));
      delivered = 0;
    } else if (!tls_check(check, err, err_len, cfg, d, addr)) {
      delivered = 0;
    }
  }
  if (!delivered) {
    json_t *restored = json_array();
    int rb = rollback_files(dirfd, files, nf, restored);
    json_object_set_new(r, "restored_files", restored);
    json_object_set_new(r, "rolled_back", json_boolean(rb));
    json_array_append_new(failed, json_string(dir));
    if (strcmp(d->connector, "nginx") == 0 && cfg->nginx_reload != NULL &&
        cfg->nginx_reload[0] != '\0') {
      json_t *again = json_object();
      (void)run_command(again, cfg->nginx_reload, cfg->reload_timeout);
      json_object_set_new(r, "rollback_reload", again);
    }
    goto out;
  }
  json_object_set_new(r, "rolled_back", json_boolean(0));
  ok = 1;

out:
  if (dirfd >= 0) {
    close(dirfd);
  }
  json_object_set_new(r, "ok", json_boolean(ok));
  if (!ok) {
    json_object_set_new(r, "error", json_string(err));
    if (cfg->log != NULL) {
      VLOG_WARN(cfg->log, "incident delivery %s to %s failed: %s", d->connector,
                d->target, err);
    }
  }
  return ok ? CTL_CONNECTOR_DELIVERED : CTL_CONNECTOR_FAILED;
}
