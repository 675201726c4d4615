/* admin.h: the edge's admin listener (DESIGN.md section 4): /healthz,
 * /readyz and /metrics on a port of its own.
 *
 * Its clients are health checkers and Prometheus scrapers, a few requests
 * a second at most, so it runs on one small dedicated thread with poll()
 * over non-blocking sockets, away from the io_uring workers; a slow or
 * hostile admin client can never delay an OCSP answer. Everything is
 * bounded: at most EDGE_ADMIN_MAX_CONNS connections (one more is answered
 * 503 and closed at once), a request head of at most 4 KiB (431 beyond),
 * a read timeout per connection (5 s by default), and a response of at most
 * |max_metrics| bytes of metrics. Each answer is HTTP/1.1 with
 * "Connection: close".
 *
 * Routes (query strings are ignored):
 *   GET|HEAD /healthz  200 "ok\n" while the process runs
 *   GET|HEAD /readyz   200 "ready\n", or 503 with the reason from the
 *                      readiness hook
 *   GET|HEAD /metrics  200, Content-Type "text/plain; version=0.0.4", the
 *                      body from the metrics hook
 *   other paths        404; other methods 405 (with Allow: GET, HEAD)
 *
 * The hooks run on the admin thread, one call at a time; they must be safe
 * to call concurrently with the workers (read atomics, take the snapshot
 * pointer with an acquire load). */
#ifndef EDGE_ADMIN_H
#define EDGE_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most admin connections open at once. */
#define EDGE_ADMIN_MAX_CONNS 64
/* Largest request head (request line + headers + CRLFCRLF), in bytes. */
#define EDGE_ADMIN_MAX_HEAD 4096
/* Default per-connection read timeout, in milliseconds. */
#define EDGE_ADMIN_DEFAULT_TIMEOUT_MS 5000
/* Default bound of the metrics body, in bytes. */
#define EDGE_ADMIN_DEFAULT_MAX_METRICS (256 * 1024)
/* Longest readiness reason shown, in bytes (longer ones are cut). */
#define EDGE_ADMIN_MAX_REASON 256

/* What the listener asks the rest of the edge. */
struct edge_admin_hooks {
  void *ctx; /* passed to both hooks; borrowed, must outlive the listener */
  /* ready returns 1 if the edge is ready to serve. When it returns 0 it may
   * write a short NUL-terminated reason (e.g. "redis down") into |reason|
   * (|reason_len| bytes, pre-set to ""). NULL: always ready. */
  int (*ready)(void *ctx, char *reason, size_t reason_len);
  /* render_metrics writes the Prometheus text into |out| (|cap| bytes) and
   * returns its length, or 0 if it did not fit (answered 500). NULL:
   * /metrics is 404. */
  size_t (*render_metrics)(void *ctx, char *out, size_t cap);
};

/* How the listener is set up. Start from edge_admin_options_init. */
struct edge_admin_options {
  const char *listen_addr; /* numeric IPv4 or IPv6 address; NULL or "":
                              127.0.0.1 (borrowed during start only) */
  uint16_t port;           /* TCP port; 0: the kernel picks a free one */
  unsigned timeout_ms;     /* a connection that has not sent its whole
                              request head, or not taken its whole answer,
                              within this many ms is closed (>= 1) */
  size_t max_metrics;      /* bound of the metrics body in bytes (>= 1) */
};

struct edge_admin;

/* edge_admin_options_init sets |opts| to listen on 127.0.0.1, port 0, with
 * EDGE_ADMIN_DEFAULT_TIMEOUT_MS and EDGE_ADMIN_DEFAULT_MAX_METRICS. */
void edge_admin_options_init(struct edge_admin_options *opts);

/* edge_admin_start binds |listen_addr|:|port| with the default options and
 * starts the admin thread; see edge_admin_start_opts. */
struct edge_admin *edge_admin_start(const char *listen_addr, uint16_t port,
                                    const struct edge_admin_hooks *hooks,
                                    const struct vigil_log *log);

/* edge_admin_start_opts binds the listening socket described by |opts|
 * (SO_REUSEADDR, so a restart does not wait for TIME_WAIT), allocates
 * every buffer it needs except each response, and starts the admin thread
 * with all signals blocked (signals stay with the main thread). |hooks| is
 * copied; |log| is borrowed and must outlive the listener. Returns a new
 * listener owned by the caller (stop it with edge_admin_stop), or NULL
 * after logging why (bad address, port in use, no memory, no thread);
 * nothing is left open then. */
struct edge_admin *edge_admin_start_opts(const struct edge_admin_options *opts,
                                         const struct edge_admin_hooks *hooks,
                                         const struct vigil_log *log);

/* edge_admin_port returns the port |admin| is bound to (the one the kernel
 * chose when 0 was asked for). */
uint16_t edge_admin_port(const struct edge_admin *admin);

/* edge_admin_stop wakes the admin thread, waits for it to finish, closes
 * the listening socket and every client connection (clients see EOF), and
 * frees |admin|. In-progress answers are not completed. No hook runs after
 * it returns. edge_admin_stop(NULL) does nothing. */
void edge_admin_stop(struct edge_admin *admin);

#ifdef __cplusplus
}
#endif

#endif /* EDGE_ADMIN_H */
