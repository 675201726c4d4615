/* config.h: vigil-edge configuration (one declarative table, conf.h).
 *
 * Loaded once into an immutable struct; SIGHUP builds a new one (see
 * main.c). Bounds come from DESIGN.md section 4: response validity within
 * the CA/B Forum window (8 h .. 10 days), refreshed before half of it. */
#ifndef EDGE_CONFIG_H
#define EDGE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/conf.h"

#ifdef __cplusplus
extern "C" {
#endif

struct edge_config {
  char listen[64];       /* address for OCSP/CRL traffic */
  int64_t port;          /* its port */
  char admin_listen[64]; /* address of the admin listener */
  int64_t admin_port;    /* /healthz, /readyz, /metrics */
  int64_t threads;       /* workers; 0 = one per core */
  char redis_host[128];
  int64_t redis_port;
  char responder_dir[512]; /* {issuer_id}.key/.pem for live signing */
  int64_t max_connections; /* per worker */
  int64_t header_timeout;  /* seconds to receive a whole request head */
  int64_t idle_timeout;    /* seconds a keep-alive connection may idle */
  int64_t max_head;        /* bytes of request line + headers */
  int64_t max_body;        /* bytes of a POST body */
  int64_t l1_budget;       /* bytes of L1 cache */
  int64_t l1_max_entries;  /* slots in the L1 table */
  int64_t validity;        /* seconds a live-signed response is valid */
  int64_t refresh;         /* seconds after thisUpdate an answer is due to
                              be re-signed (must leave >= 8 h before
                              nextUpdate and be <= 4 days: BR 4.9.10) */
  int nonces;              /* echo nonces (live-signed) */
  int unknown_signed;      /* never-issued serial: signed unknown instead of
                              unsigned unauthorized */
  int64_t unauthorized_max_age; /* Cache-Control max-age on unauthorized */
  int64_t sign_budget;          /* live signatures per loop iteration */
  int64_t sign_queue;           /* live signatures allowed to wait */
  int64_t max_lookups;          /* Redis lookups in flight per worker */
  int64_t send_zc_min; /* answers this large go out zero-copy; 0: never */
  char log_level[16];
  int log_json;
};

extern const struct vigil_conf_item edge_config_table[];
extern const size_t edge_config_table_len;

#ifdef __cplusplus
}
#endif

#endif /* EDGE_CONFIG_H */
