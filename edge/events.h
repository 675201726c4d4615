/* events.h: the edge's invalidation feed and issuer loader.
 *
 * One thread per edge process reads the v1:events stream (DESIGN.md
 * section 3) with XREAD BLOCK from the last id it applied, so no event is
 * lost while it is connected, and after a reconnect it resumes from that id.
 * If the stream was trimmed past that id while it was away, events may
 * have been lost: it drops the whole L1 and every cached CRL before serving
 * from L1 again (pub/sub alone would lose events silently).
 *
 * Events applied:
 *   revoke  remove (issuer, serial) from L1 (SHA-1 and SHA-256 entries)
 *   crl     workers drop their cached CRLs (they refetch from Redis)
 *   issuer  reload v1:issuers into a new issuer snapshot
 *   flush   drop everything
 *
 * It also loads the issuer snapshot at start and on SIGHUP
 * (edge_events_request_reload), watches v1:mirror, and publishes its
 * health and lag for /readyz and /metrics. While the feed is down the edge
 * keeps serving L1 hits (DESIGN.md section 6) and reports not ready. */
#ifndef EDGE_EVENTS_H
#define EDGE_EVENTS_H

#include <stdint.h>

#include "worker.h"

#ifdef __cplusplus
extern "C" {
#endif

struct edge_events;

/* edge_events_start loads the issuers once (synchronously, so the edge
 * starts with a snapshot when Redis is up) and starts the feed thread,
 * which registers with L1 as thread |l1_thread_idx|. Returns NULL on
 * failure to allocate or start. A Redis that is down is not a failure:
 * the thread retries with backoff. */
struct edge_events *edge_events_start(struct edge_shared *shared,
                                      unsigned l1_thread_idx);

/* edge_events_request_reload asks the thread to reload the issuers and
 * responder keys (SIGHUP). Safe from any thread. */
void edge_events_request_reload(struct edge_events *ev);

/* edge_events_stop stops and joins the thread and frees |ev| and every
 * retired issuer snapshot. */
void edge_events_stop(struct edge_events *ev);

/* Health for /readyz and /metrics. */
int edge_events_up(const struct edge_events *ev);
int64_t edge_events_lag_ms(const struct edge_events *ev);
uint64_t edge_events_applied(const struct edge_events *ev);
uint64_t edge_events_flushes(const struct edge_events *ev);

#ifdef __cplusplus
}
#endif

#endif /* EDGE_EVENTS_H */
