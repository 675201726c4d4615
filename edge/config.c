/* config.c: the vigil-edge configuration table (see config.h). */
#include "config.h"

#include <stddef.h>

#define S(field)   offsetof(struct edge_config, field)
#define STR(field) S(field), sizeof(((struct edge_config *)0)->field)

const struct vigil_conf_item edge_config_table[] = {
  { "listen", VIGIL_CONF_STRING, STR(listen), "127.0.0.1", 0, 0,
    "address for OCSP and CRL requests" },
  { "port", VIGIL_CONF_INT, S(port), 0, "8080", 1, 65535,
    "port for OCSP and CRL requests" },
  { "admin-listen", VIGIL_CONF_STRING, STR(admin_listen), "127.0.0.1", 0, 0,
    "address of the admin listener (/healthz, /readyz, /metrics)" },
  { "admin-port", VIGIL_CONF_INT, S(admin_port), 0, "9090", 0, 65535,
    "port of the admin listener (0: any free port)" },
  { "threads", VIGIL_CONF_INT, S(threads), 0, "0", 0, 256,
    "worker threads, one io_uring each (0: one per core)" },
  { "redis-host", VIGIL_CONF_STRING, STR(redis_host), "127.0.0.1", 0, 0,
    "Redis host (L2 cache, status mirror, events)" },
  { "redis-port", VIGIL_CONF_INT, S(redis_port), 0, "6379", 1, 65535,
    "Redis port" },
  { "responder-dir", VIGIL_CONF_STRING, STR(responder_dir), "", 0, 0,
    "directory with {issuer_id}.key (0600) and .pem delegated responder "
    "credentials for live signing (empty: no live signing)" },
  { "max-connections", VIGIL_CONF_INT, S(max_connections), 0, "8192", 16,
    1000000, "open connections per worker; more are refused" },
  { "header-timeout", VIGIL_CONF_DURATION, S(header_timeout), 0, "10s", 1, 3600,
    "time allowed to receive a whole request head" },
  { "idle-timeout", VIGIL_CONF_DURATION, S(idle_timeout), 0, "60s", 1, 86400,
    "time a keep-alive connection may stay idle" },
  { "max-head", VIGIL_CONF_SIZE, S(max_head), 0, "8K", 1024, 65536,
    "bytes of request line and headers (431 beyond)" },
  { "max-body", VIGIL_CONF_SIZE, S(max_body), 0, "10000", 256, 65536,
    "bytes of a POST body (413 beyond)" },
  { "l1-budget", VIGIL_CONF_SIZE, S(l1_budget), 0, "256M", 1048576,
    INT64_C(1) << 40, "memory for the in-process response cache" },
  { "l1-max-entries", VIGIL_CONF_INT, S(l1_max_entries), 0, "1048576", 1024,
    INT64_C(100000000), "entries the in-process cache can index" },
  { "validity", VIGIL_CONF_DURATION, S(validity), 0, "96h", 8 * 3600,
    10 * 86400, "validity of live-signed responses (CA/B Forum: 8h..10d)" },
  { "refresh", VIGIL_CONF_DURATION, S(refresh), 0, "48h", 3600, 4 * 86400,
    "age after which a cached answer is re-fetched or re-signed "
    "(CA/B Forum: <= 4 days, and >= 8h before nextUpdate)" },
  { "nonces", VIGIL_CONF_BOOL, S(nonces), 0, "true", 0, 1,
    "answer requests with a nonce by live signing and echoing it" },
  { "unknown-signed", VIGIL_CONF_BOOL, S(unknown_signed), 0, "false", 0, 1,
    "answer never-issued serials with a signed 'unknown' instead of the "
    "unsigned 'unauthorized'" },
  { "unauthorized-max-age", VIGIL_CONF_DURATION, S(unauthorized_max_age), 0,
    "60s", 0, 3600, "Cache-Control max-age on 'unauthorized' answers" },
  { "sign-budget", VIGIL_CONF_INT, S(sign_budget), 0, "32", 1, 4096,
    "live signatures per event-loop iteration per worker" },
  { "sign-queue", VIGIL_CONF_INT, S(sign_queue), 0, "256", 0, 65536,
    "live signatures allowed to wait per worker; beyond: tryLater" },
  { "max-lookups", VIGIL_CONF_INT, S(max_lookups), 0, "4096", 16, 1048576,
    "Redis lookups in flight per worker; beyond: tryLater" },
  { "send-zc-min", VIGIL_CONF_SIZE, S(send_zc_min), 0, "0", 0, INT64_C(1) << 30,
    "send answers of at least this many bytes (CRLs) zero-copy with "
    "IORING_OP_SENDMSG_ZC; 0: never (bench_sendzc measures where it pays)" },
  { "log-level", VIGIL_CONF_STRING, STR(log_level), "info", 0, 0,
    "error, warn, info or debug" },
  { "log-json", VIGIL_CONF_BOOL, S(log_json), 0, "false", 0, 1,
    "log JSON lines instead of text" },
};

const size_t edge_config_table_len =
    sizeof(edge_config_table) / sizeof(edge_config_table[0]);
