/* ctl_api.h: `vigil-control serve`, the operator REST API over HTTPS.
 *
 * The contract is docs/api.md (DESIGN.md section 5). The server is
 * libmicrohttpd with GnuTLS (ctl_tls.h) and a pool of request threads, each
 * borrowing a Postgres handle (ctl_db_pool) per request. Signing goes to
 * vigil-signer (vigil/sgnclient.h); pre-signed responses, status records
 * and events go to Redis (vigil/keyspace.h formats). */
#ifndef VIGIL_CTL_API_H
#define VIGIL_CTL_API_H

#include "ctl_config.h"
#include "ctl_db.h"
#include "vigil/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Outcomes of ctl_api_serve. */
enum ctl_api_result {
  CTL_API_OK = 0,      /* stopped by SIGTERM / SIGINT */
  CTL_API_CONFIG,      /* bad configuration (message logged) */
  CTL_API_UNAVAILABLE, /* the database was unavailable at start */
  CTL_API_FAILED,      /* could not start (TLS, bind, ...) */
};

/* ctl_api_serve runs the API server for |cfg| until SIGTERM or SIGINT:
 * loads or makes the TLS certificate, bootstraps the first principal,
 * listens on cfg->listen_address:listen_port. |db_opts| describes the
 * database (copied into a pool). Blocks those signals in the calling
 * thread (and so in the threads it starts). Returns how it ended. */
enum ctl_api_result ctl_api_serve(const struct ctl_config *cfg,
                                  const struct ctl_db_options *db_opts,
                                  const struct vigil_log *log);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CTL_API_H */
