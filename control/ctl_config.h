/* ctl_config.h: vigil-control's configuration, one declarative table
 * (vigil/conf.h) driving defaults, the config file, VIGIL_CONTROL_*
 * environment variables, command-line options, --help and the dump. */
#ifndef VIGIL_CTL_CONFIG_H
#define VIGIL_CTL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/conf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CTL_ENV_PREFIX "VIGIL_CONTROL_"

/* The loaded configuration; immutable once loaded. */
struct ctl_config {
  char database_url[1024];    /* libpq URL or key=value string */
  int64_t db_connect_timeout; /* seconds per connection attempt */
  char migrations_dir[1024];  /* NNNN_name.sql files */
  char log_level[16];         /* error, warn, info, debug */
  int log_json;               /* 1: JSON log lines */
  /* serve (docs/api.md) */
  char listen_address[64];        /* API listen address (IPv4/IPv6 literal) */
  int64_t listen_port;            /* API port (HTTPS) */
  char state_dir[1024];           /* bootstrap-token, api-tls/ */
  char signer_socket[1024];       /* vigil-signer's Unix socket */
  char tls_cert[1024];            /* PEM certificate ("": self-signed) */
  char tls_key[1024];             /* PEM private key ("": self-signed) */
  int64_t api_max_body;           /* largest request body, bytes */
  int64_t api_threads;            /* request threads (and DB handles) */
  int64_t api_max_connections;    /* concurrent connections */
  int64_t api_connection_timeout; /* seconds a connection may idle */
  char redis_url[256];            /* redis://host:port ("": none) */
  char edge_url[256];             /* http://host:port of the edge, for AIA
                                     and CRL DP in issued certs ("": none) */
  int64_t ocsp_validity;          /* seconds a pre-signed response lasts */
  /* background loops (ctl_loops.h, docs/operations.md) */
  int64_t crl_interval;  /* seconds between full CRL runs */
  int64_t crl_debounce;  /* seconds from a revocation to its CRL */
  int64_t crl_validity;  /* seconds from thisUpdate to nextUpdate */
  int64_t refresh_after; /* re-sign responses older than this (seconds) */
  /* incident executions (ctl_api_incident.c, ctl_connector.h) */
  char incident_deploy_root[1024];    /* file/nginx targets live below ("": the
                                         file and nginx connectors are off) */
  char incident_nginx_reload[1024];   /* nginx reload command (argv split on
                                         blanks, no shell) */
  char incident_nginx_check[300];     /* default host:port of the TLS check */
  int64_t incident_reload_timeout;    /* seconds the reload may run */
  int64_t incident_tls_check_timeout; /* seconds to see the new cert served */
  int64_t incident_wait;              /* seconds POST waits for the execution */
  /* brokered access sessions (ctl_api_access.c) */
  int64_t access_min_ttl; /* shortest ttl_seconds accepted */
};

extern const struct vigil_conf_item ctl_config_table[];
extern const size_t ctl_config_table_len;

/* ctl_config_check checks the rules that tie options together (the table
 * checks each alone): CA/B Forum BR 4.9.10 for refresh-after against
 * ocsp-validity (validity >= 16 h: refresh <= 4 days after thisUpdate and
 * >= 8 h before nextUpdate; shorter: before half of it), and crl-interval
 * below crl-validity. Returns 1, or 0 with a message in |err|. */
int ctl_config_check(char *err, size_t err_len, const struct ctl_config *cfg)
    __attribute__((warn_unused_result));

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CTL_CONFIG_H */
