/* ctl_api_internal.h: what the ctl_api*.c files share (not a public
 * contract). ctl_api.c holds the server, routing, errors, auth and the
 * simple endpoints; ctl_api_pki.c the issuer, certificate and revocation
 * endpoints and the publishing to Redis. */
#ifndef VIGIL_CTL_API_INTERNAL_H
#define VIGIL_CTL_API_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ctl_auth.h"
#include "ctl_config.h"
#include "ctl_db.h"
#include "ctl_loops.h"
#include "vigil/sgnclient.h"
#include "vigil/sgnproto.h"
#include "vigil/log.h"

/* The server. */
struct ctl_api {
  const struct ctl_config *cfg; /* borrowed */
  const struct vigil_log *log;  /* borrowed */
  struct ctl_db_pool *pool;     /* request handles */
  char redis_host[256];         /* "" : Redis not configured */
  int redis_port;
  /* publisher thread */
  pthread_mutex_t mu;
  pthread_cond_t cv;       /* kicked by revocations and on stop */
  int stop;                /* 1: the publisher should exit */
  uint64_t kicks;          /* bumped per kick */
  struct ctl_db *pub_db;   /* the publisher's own handle */
  struct ctl_loops *loops; /* CRL and refresh loops (told of revocations) */
  const struct ctl_db_options *db_opts; /* borrowed: for workers' handles */
  void *incident_worker; /* ctl_api_incident.c's state, or NULL */
  void *hook_worker;     /* ctl_api_hook.c's state, or NULL */
};

/* One request. */
struct api_req {
  struct ctl_api *api;
  struct MHD_Connection *conn;
  char method[8];
  char path[512];
  char *body; /* request body (NUL-terminated), heap */
  size_t body_len;
  int too_large;            /* body exceeded api-max-body */
  int authed;               /* who is valid */
  struct ctl_principal who; /* the caller */
  struct ctl_db *db;        /* borrowed from the pool, or NULL */
  unsigned status;          /* response status (0: none yet) */
  char *resp;               /* response body (malloc'ed JSON text) */
  int replayed;             /* the response is an idempotent replay */
};

/* Responses. api_error and api_json replace any earlier response. */
void api_error(struct api_req *r, unsigned status, const char *code,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* api_json answers |obj| (stolen, may be NULL: 500). */
void api_json(struct api_req *r, unsigned status, json_t *obj);
/* api_db_error answers for a failed database call on r->db. */
void api_db_error(struct api_req *r, enum ctl_db_status st);
/* api_need: 1 if the caller has any of |roles|; else answers 403, 0. */
int api_need(struct api_req *r, unsigned roles);
/* api_body_object parses the body as a JSON object (400 if not). */
json_t *api_body_object(struct api_req *r);
/* api_get_string: field |name| of |obj|. Returns 1 with *out set (NULL if
 * absent or null and !required); 0 after answering 422. Length in bytes
 * must be within [min_len, max_len]. */
int api_get_string(struct api_req *r, const char **out, json_t *obj,
                   const char *name, int required, size_t min_len,
                   size_t max_len);
/* api_get_int: like api_get_string for an integer in [min, max]; |*out|
 * keeps its default when absent. */
int api_get_int(struct api_req *r, int64_t *out, json_t *obj, const char *name,
                int64_t min, int64_t max);
/* api_query: the query parameter |name|, or NULL. */
const char *api_query(struct api_req *r, const char *name);
/* api_query_int parses the query parameter |name| as a decimal integer in
 * [min, max] into |*out|, which keeps its default when the parameter is
 * absent. Returns 1, or 0 after answering 400 naming the parameter and the
 * range. */
int api_query_int(struct api_req *r, int64_t *out, const char *name,
                  int64_t min, int64_t max);
/* api_resolve_tenant: looks up tenant |name| visible to the caller; fills
 * |out_id| (37 bytes). Returns 1, or 0 after answering (404/503). */
int api_resolve_tenant(struct api_req *r, char *out_id, const char *name);
/* api_uuid_valid: |s| is a canonical lowercase/uppercase uuid. */
int api_uuid_valid(const char *s);
/* api_scope: the caller's tenant uuid when its token is confined to one
 * tenant, or NULL when it acts in every tenant; the value for the
 * "($N::uuid IS NULL OR tenant = $N::uuid)" filter every tenant-scoped
 * query uses. Borrowed from |r|. */
static inline const char *api_scope(const struct api_req *r) {
  return r->who.tenant_id[0] != '\0' ? r->who.tenant_id : NULL;
}

/* api_fetch_one runs |sql| with $1 = |id| and $2 = api_scope(r) (the
 * query filters on both) and, when it returns exactly one row, sets
 * |*out_res| (the caller PQclears it) and returns 1. Returns 0 when no row
 * is visible (nothing answered: the caller says what was not found), or
 * -1 after answering a database error. */
int api_fetch_one(struct api_req *r, PGresult **out_res, const char *sql,
                  const char *id);

/* api_audit appends an audit event inside the open transaction on |db|
 * (ctl_audit_append): |type|, acting |principal| (uuid, or NULL for the
 * control plane), |tenant| (uuid or NULL), |subject|, and |details|
 * (borrowed; NULL: {}) stored as compact JSON. Fills |*out_id| (may be
 * NULL) with the event's id. Returns ctl_audit_append's outcome, or
 * CTL_DB_ERROR (recorded on |db|) when |details| cannot be serialized;
 * after a failure the transaction is aborted. */
enum ctl_db_status api_audit(struct ctl_db *db, int64_t *out_id,
                             const char *type, const char *principal,
                             const char *tenant, const char *subject,
                             const json_t *details) CTL_MUST_CHECK;

/* api_audit_take is api_audit taking ownership of |details| (released
 * whatever happens); NULL details (a failed json_pack) fail the
 * transaction as out of memory. */
enum ctl_db_status api_audit_take(struct ctl_db *db, int64_t *out_id,
                                  const char *type, const char *principal,
                                  const char *tenant, const char *subject,
                                  json_t *details) CTL_MUST_CHECK;

/* Signer calls (ctl_api_pki.c): one short connection per operation. */
struct api_sgn_call {
  struct vigil_sgn_client *c;
  struct vigil_sgn_msg reply; /* valid until api_sgn_cleanup */
  uint8_t *frame;             /* request buffer */
};
/* api_sgn_begin prepares |w| for an |op| request. Returns 1, or 0 (no
 * memory). Call api_sgn_cleanup afterwards either way. */
int api_sgn_begin(struct api_sgn_call *sc, struct vigil_sgn_writer *w,
                  enum vigil_sgn_op op);
/* api_sgn_run sends the request in |w| and waits for the reply. Returns
 * the signer's reply status (VIGIL_SGN_OK: sc->reply holds the fields), or
 * -1 when the signer could not be reached or the exchange failed; |err|
 * then says why. */
int api_sgn_run(struct ctl_api *api, struct api_sgn_call *sc,
                struct vigil_sgn_writer *w, char *err, size_t err_len);
/* api_sgn_cleanup closes the connection and frees the buffers. */
void api_sgn_cleanup(struct api_sgn_call *sc);
/* api_sgn_answer_error answers a failed exchange (|st| from api_sgn_run;
 * |field| names the request field an INVALID answer is about). */
void api_sgn_answer_error(struct api_req *r, int st, const char *err,
                          const char *field);

/* api_approval_gate (ctl_api_approval.c): dual control. Called by a
 * privileged action (|action|: "certificate.issue", "certificate.revoke",
 * "incident.execute") after authentication and validation, before it
 * changes anything. |tenant_id| is the tenant's uuid, or NULL when the
 * gate should find it from |identity| (a certificate id). |identity| is
 * the certificate id, or for an issue the identity's name. Returns 1 when
 * the action may proceed (dual control off for the tenant, a valid
 * approval consumed, or break-glass), or 0 after answering (403 naming the
 * approval to ask for, 503 ...). */
int api_approval_gate(struct api_req *r, const char *action,
                      const char *tenant_id, const char *identity);

/* Endpoints in ctl_api_pki.c. */
void api_issuers_create(struct api_req *r, const char *tenant);
void api_certificates_create(struct api_req *r);
void api_certificates_get(struct api_req *r, const char *id);
void api_certificates_list(struct api_req *r);
void api_certificates_revoke(struct api_req *r, const char *id);
/* api_signer_ping: 1 if the signer answers PING. */
int api_signer_ping(struct ctl_api *api);
/* api_redis_ping: 1 if Redis answers PING. */
int api_redis_ping(struct ctl_api *api);
/* api_publish_pending publishes up to |max| pending queue rows on |db|
 * (revoked responses, status, events); returns how many were published. */
int api_publish_pending(struct ctl_api *api, struct ctl_db *db, int max);

/* Routes. A pattern is the path after /api/v1/ where "*" matches one
 * segment (passed to the handler as |arg|, else ""). Dispatch finds the
 * route, answers 404/405/413, borrows r->db, authenticates (r->who),
 * handles Idempotency-Key on POST, then calls the handler, which answers
 * with api_json or api_error. */
enum {
  API_ROUTE_PUBLIC = 1u << 0, /* no token needed; r->db may be NULL */
  /* The handler is idempotent by itself (a repeat finds what the first
   * attempt did): when the process handling the first request with an
   * Idempotency-Key died before answering, a retry with that key runs the
   * handler again instead of answering 409. */
  API_ROUTE_RERUN = 1u << 1,
};
struct api_route {
  const char *method;  /* "GET", "POST" */
  const char *pattern; /* "certificates/x/revoke" */
  void (*fn)(struct api_req *r, const char *arg);
  unsigned flags; /* API_ROUTE_* */
};

/* Each feature file's routes (ctl_api_<feature>.c). */
extern const struct api_route api_graph_routes[];
extern const size_t api_graph_num_routes;
extern const struct api_route api_incident_routes[];
extern const size_t api_incident_num_routes;
extern const struct api_route api_approval_routes[];
extern const size_t api_approval_num_routes;
extern const struct api_route api_hook_routes[];
extern const size_t api_hook_num_routes;
extern const struct api_route api_access_routes[];
extern const size_t api_access_num_routes;

/* Background workers of feature files, started after the publisher (the
 * API is already listening) and stopped before it. start returns 1, or 0
 * after logging why (serve then stops); stop joins and frees and is only
 * called after a successful start. */
int api_incident_worker_start(struct ctl_api *api);
void api_incident_worker_stop(struct ctl_api *api);
int api_hook_worker_start(struct ctl_api *api);
void api_hook_worker_stop(struct ctl_api *api);

/* api_health_warnings adds warnings to the GET /health answer |obj| (e.g.
 * open break-glass reconciliation items); r->db is usable. Never fails the
 * health answer: on any error it adds nothing. (ctl_api_approval.c) */
void api_health_warnings(struct api_req *r, json_t *obj);

/* Timestamps as RFC 3339 UTC text in SQL (sessions run in UTC). */
#define API_TS(col) "to_char(" col ", 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#endif /* VIGIL_CTL_API_INTERNAL_H */
