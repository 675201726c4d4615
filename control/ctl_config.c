/* ctl_config.c: the vigil-control configuration table (see ctl_config.h). */
#include "ctl_config.h"

#include <stddef.h>
#include <stdio.h>

#ifndef VIGIL_MIGRATIONS_DIR
#define VIGIL_MIGRATIONS_DIR "migrations"
#endif

#define S(field)   offsetof(struct ctl_config, field)
#define STR(field) S(field), sizeof(((struct ctl_config *)0)->field)

const struct vigil_conf_item ctl_config_table[] = {
  { "database-url", VIGIL_CONF_STRING, STR(database_url), "", 0, 0,
    "Postgres connection URL (postgresql://user@host:port/db) or libpq "
    "key=value string; required" },
  { "db-connect-timeout", VIGIL_CONF_DURATION, S(db_connect_timeout), 0, "5s",
    2, 300, "time allowed for one connection attempt" },
  { "migrations-dir", VIGIL_CONF_STRING, STR(migrations_dir),
    VIGIL_MIGRATIONS_DIR, 0, 0,
    "directory of the NNNN_name.sql schema migrations" },
  { "log-level", VIGIL_CONF_STRING, STR(log_level), "info", 0, 0,
    "error, warn, info or debug" },
  { "log-json", VIGIL_CONF_BOOL, S(log_json), 0, "false", 0, 1,
    "log JSON lines instead of text" },
  { "listen-address", VIGIL_CONF_STRING, STR(listen_address), "127.0.0.1", 0, 0,
    "serve: API listen address (IP literal)" },
  { "listen-port", VIGIL_CONF_INT, S(listen_port), 0, "8443", 1, 65535,
    "serve: API port (HTTPS)" },
  { "state-dir", VIGIL_CONF_STRING, STR(state_dir), "/var/lib/vigil/control", 0,
    0, "serve: directory of bootstrap-token and api-tls/" },
  { "signer-socket", VIGIL_CONF_STRING, STR(signer_socket),
    "/run/vigil/signer.sock", 0, 0, "serve: vigil-signer's Unix socket" },
  { "tls-cert", VIGIL_CONF_STRING, STR(tls_cert), "", 0, 0,
    "serve: PEM certificate (empty: self-signed in state-dir/api-tls/)" },
  { "tls-key", VIGIL_CONF_STRING, STR(tls_key), "", 0, 0,
    "serve: PEM private key of tls-cert" },
  { "api-max-body", VIGIL_CONF_SIZE, S(api_max_body), 0, "1M", 1024,
    64 * 1024 * 1024, "serve: largest request body (413 beyond)" },
  { "api-threads", VIGIL_CONF_INT, S(api_threads), 0, "4", 1, 256,
    "serve: request threads (one database connection each)" },
  { "api-max-connections", VIGIL_CONF_INT, S(api_max_connections), 0, "256", 1,
    65536, "serve: concurrent client connections" },
  { "api-connection-timeout", VIGIL_CONF_DURATION, S(api_connection_timeout), 0,
    "30s", 1, 3600, "serve: idle time before a client connection is closed" },
  { "redis-url", VIGIL_CONF_STRING, STR(redis_url), "", 0, 0,
    "serve: redis://host:port where responses and status are published" },
  { "edge-url", VIGIL_CONF_STRING, STR(edge_url), "", 0, 0,
    "serve: http://host:port of the edge, put in issued certificates' AIA "
    "OCSP and CRL DP (empty: none)" },
  { "ocsp-validity", VIGIL_CONF_DURATION, S(ocsp_validity), 0, "96h", 28800,
    864000, "serve: validity of pre-signed OCSP responses (8h..10d)" },
  { "refresh-after", VIGIL_CONF_DURATION, S(refresh_after), 0, "48h", 3600,
    345600,
    "serve: re-sign a pre-signed response once it is this old (1h..4d; at "
    "least 8h before its nextUpdate)" },
  { "crl-interval", VIGIL_CONF_DURATION, S(crl_interval), 0, "1h", 60, 604800,
    "serve: regenerate every issuer's CRL this often (1m..7d)" },
  { "crl-debounce", VIGIL_CONF_DURATION, S(crl_debounce), 0, "5s", 0, 3600,
    "serve: regenerate a CRL at most this long after a revocation" },
  { "crl-validity", VIGIL_CONF_DURATION, S(crl_validity), 0, "7d", 3600, 864000,
    "CRL nextUpdate minus thisUpdate (1h..10d, BR 4.9.7)" },
  { "incident-deploy-root", VIGIL_CONF_STRING, STR(incident_deploy_root), "", 0,
    0,
    "serve: directory under which incident file/nginx targets must lie "
    "(empty: those connectors are refused)" },
  { "incident-nginx-reload", VIGIL_CONF_STRING, STR(incident_nginx_reload), "",
    0, 0,
    "serve: command run after an nginx delivery, split on blanks and run "
    "without a shell (e.g. \"nginx -s reload\")" },
  { "incident-nginx-check", VIGIL_CONF_STRING, STR(incident_nginx_check), "", 0,
    0, "serve: default host:port where an nginx delivery's TLS check looks" },
  { "incident-reload-timeout", VIGIL_CONF_DURATION, S(incident_reload_timeout),
    0, "30s", 1, 600, "serve: how long the nginx reload command may run" },
  { "incident-tls-check-timeout", VIGIL_CONF_DURATION,
    S(incident_tls_check_timeout), 0, "15s", 1, 600,
    "serve: how long an nginx delivery waits to see the new certificate "
    "served" },
  { "incident-wait", VIGIL_CONF_DURATION, S(incident_wait), 0, "60s", 0, 600,
    "serve: how long POST /incidents/executions waits for the execution "
    "before answering 202" },
  { "access-min-ttl", VIGIL_CONF_DURATION, S(access_min_ttl), 0, "60s", 1, 3600,
    "serve: shortest ttl_seconds a brokered access session may ask for "
    "(POST /access/sessions; tests lower it)" },
};

const size_t ctl_config_table_len =
    sizeof(ctl_config_table) / sizeof(ctl_config_table[0]);

int ctl_config_check(char *err, size_t err_len, const struct ctl_config *cfg) {
  const int64_t hour = 3600;
  if (cfg->ocsp_validity >= 16 * hour) {
    if (cfg->refresh_after > cfg->ocsp_validity - 8 * hour) {
      snprintf(err, err_len,
               "refresh-after (%llds) must leave at least 8h before "
               "nextUpdate: at most ocsp-validity - 8h = %llds",
               (long long)cfg->refresh_after,
               (long long)(cfg->ocsp_validity - 8 * hour));
      return 0;
    }
  } else if (cfg->refresh_after > cfg->ocsp_validity / 2) {
    snprintf(err, err_len,
             "refresh-after (%llds) must be at most half of ocsp-validity "
             "(%llds) when that is under 16h",
             (long long)cfg->refresh_after, (long long)cfg->ocsp_validity);
    return 0;
  }
  if (cfg->crl_interval >= cfg->crl_validity) {
    snprintf(err, err_len,
             "crl-interval (%llds) must be shorter than crl-validity (%llds)",
             (long long)cfg->crl_interval, (long long)cfg->crl_validity);
    return 0;
  }
  return 1;
}
