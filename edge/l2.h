/* l2.h: the edge's Redis link (L2), driven by a worker's io_uring.
 *
 * Each worker thread owns one edge_l2: a hiredis asynchronous context whose
 * socket readiness is watched with io_uring POLL_ADD requests on the
 * worker's own ring, so Redis traffic is part of the same event loop as
 * client traffic and needs no extra thread or lock. hiredis pipelines every
 * command issued before the socket is flushed, which is what the edge's
 * Redis traffic needs (DESIGN.md section 1: ~30k GET/s unpipelined versus
 * ~490k/s pipelined).
 *
 * One lookup is one MGET of the response key, the status key and v1:mirror:
 * everything the answer logic can need, in one round trip.
 *
 * When the link drops, every outstanding callback is called with ok = 0
 * (the caller answers tryLater) and the link reconnects with exponential
 * backoff (100 ms doubling to 5 s) from edge_l2_tick. hiredis allocates per
 * command; that is the L2 path, not the L1 hot path. */
#ifndef EDGE_L2_H
#define EDGE_L2_H

#include <stddef.h>
#include <stdint.h>

#include <liburing.h>

#include "vigil/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Result of one lookup. Pointers are valid only during the callback. */
struct edge_l2_result {
  int ok;              /* 0: Redis unreachable or error; nothing else set */
  const uint8_t *resp; /* v1:resp value, NULL if absent */
  size_t resp_len;
  const char *status; /* v1:status value, NULL if absent */
  size_t status_len;
  int mirror;           /* 1 if v1:mirror exists */
  const uint8_t *value; /* edge_l2_get: the value, NULL if absent */
  size_t value_len;
};

typedef void (*edge_l2_cb)(void *arg, const struct edge_l2_result *res);

struct edge_l2;

/* edge_l2_new makes a link to Redis at |host|:|port| whose polls are
 * submitted on |ring| with user_data |ud_base| | 1 (read) or | 2 (write);
 * the worker passes completions whose user_data has |ud_base| bits to
 * edge_l2_complete. |ud_base| must have its two low bits clear. Connecting
 * starts at once (non-blocking). Returns NULL on allocation failure. */
struct edge_l2 *edge_l2_new(struct io_uring *ring, uint64_t ud_base,
                            const char *host, int port,
                            const struct vigil_log *log);

/* edge_l2_free disconnects (calling outstanding callbacks with ok = 0) and
 * frees |l2|. edge_l2_free(NULL) does nothing. */
void edge_l2_free(struct edge_l2 *l2);

/* edge_l2_complete handles a poll completion for |l2| (user_data and
 * result |res| from the CQE). */
void edge_l2_complete(struct edge_l2 *l2, uint64_t user_data, int res);

/* edge_l2_tick runs reconnects that are due at |now_ms| (monotonic). */
void edge_l2_tick(struct edge_l2 *l2, int64_t now_ms);

/* edge_l2_up returns 1 if the link is connected. */
int edge_l2_up(const struct edge_l2 *l2);

/* edge_l2_in_flight returns the number of commands awaiting replies. */
size_t edge_l2_in_flight(const struct edge_l2 *l2);

/* edge_l2_lookup issues MGET |resp_key| |status_key| v1:mirror; |cb| is
 * called exactly once with |arg|, later from edge_l2_complete (or from
 * edge_l2_free). Returns 1 if issued; 0 if the link is down or the command
 * could not be queued (|cb| is then never called). */
int edge_l2_lookup(struct edge_l2 *l2, const char *resp_key,
                   const char *status_key, edge_l2_cb cb, void *arg)
    __attribute__((warn_unused_result));

/* edge_l2_get issues GET |key|; the value arrives in res->value. Same
 * contract as edge_l2_lookup. */
int edge_l2_get(struct edge_l2 *l2, const char *key, edge_l2_cb cb, void *arg)
    __attribute__((warn_unused_result));

/* edge_l2_store writes |value| under |key| only if the key is absent (SET
 * NX) with a time to live of |ttl_ms| milliseconds. NX because a
 * pre-signed answer the control plane wrote meanwhile (e.g. a revocation)
 * must win over our write-back. Fire and forget: failures are counted,
 * never reported. */
void edge_l2_store(struct edge_l2 *l2, const char *key, const uint8_t *value,
                   size_t value_len, int64_t ttl_ms);

#ifdef __cplusplus
}
#endif

#endif /* EDGE_L2_H */
