/* ctl_connector.h: delivery connectors for incident executions — how a
 * replacement certificate and its key reach the service that uses them.
 *
 *   file     writes cert.pem, fullchain.pem and key.pem (0600) atomically
 *            into a target directory under incident-deploy-root; the files
 *            they replace are kept as *.prev (the rollback reference).
 *   nginx    file, then runs incident-nginx-reload (argv split on blanks,
 *            executed without a shell, with a timeout), then checks over TLS
 *            (a GnuTLS client handshake to the check address) that the
 *            served certificate is the replacement. Any failure restores the
 *            *.prev files and reloads again.
 *   webhook  POSTs a JSON document (certificate, chain, key) to the target
 *            URL with libcurl; a 2xx answer is success.
 *
 * Targets of file and nginx are directories under the deploy root: a
 * relative path is taken below it, an absolute one must resolve inside it;
 * ".." is refused and the real path is checked, so a symlink cannot lead
 * out. No deploy root configured: file and nginx are refused (secure by
 * default). Every delivery yields a receipt (JSON: what was written where,
 * digests, the reload's exit status, the TLS check's observed serial) whose
 * values are strings, integers and booleans only, so it can be part of a
 * canonical evidence pack. */
#ifndef VIGIL_CTL_CONNECTOR_H
#define VIGIL_CTL_CONNECTOR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "vigil/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Settings (from the configuration; all strings borrowed). */
struct ctl_connector_cfg {
  const char *deploy_root;     /* incident-deploy-root ("": none) */
  const char *nginx_reload;    /* incident-nginx-reload ("": none) */
  const char *nginx_check;     /* default check address host:port ("") */
  int64_t reload_timeout;      /* seconds the reload command may run */
  int64_t tls_check_timeout;   /* seconds to wait for the new certificate */
  const struct vigil_log *log; /* borrowed */
};

/* What to deliver (all borrowed). */
struct ctl_delivery {
  const char *connector;     /* "file", "nginx", "webhook" */
  const char *target;        /* directory (file, nginx) or URL (webhook) */
  const char *check_address; /* nginx: host:port, or NULL/"": the default */
  const char *rollback_ref;  /* the operator's delivery_rollback_ref, or NULL */
  const char *execution_id;  /* for the webhook document */
  const char *cert_pem;      /* the replacement, PEM */
  const char *fullchain_pem; /* the replacement then its issuers, PEM */
  const char *key_pem;       /* its private key, PEM */
  const uint8_t *cert_der;   /* the replacement, DER (TLS check) */
  size_t cert_der_len;       /* bytes of cert_der */
  const char *serial_hex;    /* its serial, lowercase hex */
};

/* Outcomes of a delivery. */
enum ctl_connector_result {
  CTL_CONNECTOR_DELIVERED = 0, /* delivered (and checked, for nginx) */
  CTL_CONNECTOR_FAILED,        /* failed; whatever was changed was rolled
                                  back (the receipt says what) */
};

/* ctl_connector_check validates |connector| and |target| (and for nginx
 * the check address) before an execution is accepted: known connector,
 * target inside the deploy root and an existing directory, or an
 * http(s) URL for webhook (plain http only to loopback). Returns 1, or 0
 * with a message for the operator in |err|. */
int ctl_connector_check(char *err, size_t err_len,
                        const struct ctl_connector_cfg *cfg,
                        const char *connector, const char *target,
                        const char *check_address)
    __attribute__((warn_unused_result));

/* ctl_connector_deliver delivers |d|. Always sets |*out_receipt| (a new
 * object the caller owns; NULL only when out of memory) with at least
 * "connector", "target", "ok", "failed_targets" (array) and
 * "rollback_refs" (array); on failure |err| says why. Idempotent for a
 * repeated delivery of the same certificate: files already holding it are
 * not rotated again, so the *.prev files keep what was there before the
 * first attempt. */
enum ctl_connector_result ctl_connector_deliver(
    json_t **out_receipt, char *err, size_t err_len,
    const struct ctl_connector_cfg *cfg, const struct ctl_delivery *d)
    __attribute__((warn_unused_result));

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CTL_CONNECTOR_H */
