/* ctl_api_pki.c: the API's issuer, certificate and revocation endpoints,
 * and publishing to Redis (docs/api.md; DESIGN.md sections 2, 3, 5).
 *
 * Signing happens in vigil-signer (one short connection per operation);
 * the certificate's fields the database keeps (subject, SANs, SPKI) are
 * read with GnuTLS, and SHA-256 is computed by Postgres: vigil-control
 * never links BoringSSL (DESIGN.md section 1). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <hiredis/hiredis.h>

#include "ctl_api_internal.h"
#include "ctl_audit.h"
#include "ctl_incident_pki.h"
#include "vigil/alloc.h"
#include "vigil/b64.h"
#include "vigil/hex.h"
#include "vigil/keyspace.h"
#include "vigil/sgnclient.h"
#include "vigil/sgnproto.h"

#define SGN_TIMEOUT_MS 30000
#define SGN_FRAME_CAP  (256 * 1024)
#define MAX_SANS       100

/* ==========================================================================
 * Signer
 * ========================================================================== */

void api_sgn_cleanup(struct api_sgn_call *sc) {
  vigil_sgn_client_free(sc->c);
  vigil_free(sc->frame);
  memset(sc, 0, sizeof(*sc));
}

/* sgn_begin prepares |w| for an |op| request. Returns 1, or 0 (no memory). */
int api_sgn_begin(struct api_sgn_call *sc, struct vigil_sgn_writer *w,
                  enum vigil_sgn_op op) {
  memset(sc, 0, sizeof(*sc));
  sc->frame = vigil_malloc(SGN_FRAME_CAP);
  if (sc->frame == NULL) {
    return 0;
  }
  vigil_sgn_writer_init(w, sc->frame, SGN_FRAME_CAP, VIGIL_SGN_REQUEST, op,
                        VIGIL_SGN_OK, 0);
  return 1;
}

/* sgn_run sends the request in |w| and waits for the reply. Returns the
 * signer's reply status (VIGIL_SGN_OK: sc->reply holds the fields), or -1
 * when the signer could not be reached or the exchange failed; |err| then
 * says why. */
int api_sgn_run(struct ctl_api *api, struct api_sgn_call *sc,
                struct vigil_sgn_writer *w, char *err, size_t err_len) {
  size_t len = 0;
  enum vigil_sgnc_err ce = VIGIL_SGNC_OK;
  if (!vigil_sgn_writer_finish(w, &len)) {
    snprintf(err, err_len, "request does not fit a signer frame");
    return -1;
  }
  sc->c = vigil_sgn_client_connect(&ce, api->cfg->signer_socket, 2000, 0);
  if (sc->c == NULL) {
    snprintf(err, err_len, "signer unreachable at %.200s: %s",
             api->cfg->signer_socket, vigil_sgnc_err_string(ce));
    return -1;
  }
  ce = vigil_sgn_client_call(sc->c, &sc->reply, sc->frame, len, SGN_TIMEOUT_MS);
  if (ce != VIGIL_SGNC_OK) {
    snprintf(err, err_len, "signer call failed: %s", vigil_sgnc_err_string(ce));
    return -1;
  }
  if (sc->reply.status != VIGIL_SGN_OK) {
    char m[512] = "";
    (void)vigil_sgn_get_text(&sc->reply, m, sizeof(m),
                             VIGIL_SGN_T_ERROR_MESSAGE);
    snprintf(err, err_len, "signer: %s%s%s",
             vigil_sgn_status_string(sc->reply.status), m[0] ? ": " : "", m);
  }
  return (int)sc->reply.status;
}

/* sgn_answer_error answers a failed signer exchange (|st| from sgn_run). */
void api_sgn_answer_error(struct api_req *r, int st, const char *err,
                          const char *field) {
  switch (st) {
    case -1:
    case VIGIL_SGN_E_BUSY:
    case VIGIL_SGN_E_DENIED:
      VLOG_WARN(r->api->log, "%s", err);
      api_error(r, 503, "unavailable", "%s", err);
      return;
    case VIGIL_SGN_E_EXISTS:
      api_error(r, 409, "conflict", "%s", err);
      return;
    case VIGIL_SGN_E_NOT_FOUND:
    case VIGIL_SGN_E_INVALID:
    case VIGIL_SGN_E_CSR:
      api_error(r, 422, "invalid_field", "field \"%s\": %s", field, err);
      return;
    default:
      VLOG_ERROR(r->api->log, "%s", err);
      api_error(r, 502, "signer_error", "%s", err);
      return;
  }
}

int api_signer_ping(struct ctl_api *api) {
  struct api_sgn_call sc;
  struct vigil_sgn_writer w;
  char err[256];
  if (!api_sgn_begin(&sc, &w, VIGIL_SGN_OP_PING)) {
    return 0;
  }
  int st = api_sgn_run(api, &sc, &w, err, sizeof(err));
  api_sgn_cleanup(&sc);
  return st == VIGIL_SGN_OK;
}

/* presign_one asks the signer for one OCSP response for |serial| of
 * |issuer_id|. On success |*out_der| (vigil_malloc'ed) and |*out_next|
 * (nextUpdate) are set. Returns 1, or 0 with |err|. */
static int presign_one(struct ctl_api *api, uint8_t **out_der, size_t *out_len,
                       int64_t *out_next, char *err, size_t err_len,
                       const char *issuer_id, const uint8_t *serial,
                       size_t serial_len, int revoked, int64_t revoked_at,
                       int reason) {
  struct api_sgn_call sc;
  struct vigil_sgn_writer w;
  uint8_t rec[VIGIL_SGN_ENTRY_MAX_LEN];
  int ok = 0;
  *out_der = NULL;
  if (!api_sgn_begin(&sc, &w, VIGIL_SGN_OP_PRESIGN_BATCH)) {
    snprintf(err, err_len, "out of memory");
    return 0;
  }
  struct vigil_sgn_entry e = {
    .serial = serial,
    .serial_len = serial_len,
    .status = (uint8_t)(revoked ? 1 : 0),
    .revoked_at = revoked ? revoked_at : 0,
    .reason = revoked ? reason : -1,
  };
  size_t rl = vigil_sgn_entry_encode(rec, sizeof(rec), &e);
  if (rl == 0) {
    snprintf(err, err_len, "serial not encodable");
    goto done;
  }
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, issuer_id);
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_VALIDITY, api->cfg->ocsp_validity);
  vigil_sgn_put(&w, VIGIL_SGN_T_ENTRIES, rec, rl);
  if (api_sgn_run(api, &sc, &w, err, err_len) != VIGIL_SGN_OK) {
    goto done;
  }
  struct vigil_sgn_field f;
  int64_t next = 0;
  if (!vigil_sgn_find(&sc.reply, &f, VIGIL_SGN_T_OCSP_RESPONSE) ||
      !vigil_sgn_get_i64(&sc.reply, &next, VIGIL_SGN_T_NEXT_UPDATE)) {
    snprintf(err, err_len, "signer reply lacks the response");
    goto done;
  }
  *out_der = vigil_malloc(f.len);
  if (*out_der == NULL) {
    snprintf(err, err_len, "out of memory");
    goto done;
  }
  memcpy(*out_der, f.value, f.len);
  *out_len = f.len;
  *out_next = next;
  ok = 1;

done:
  api_sgn_cleanup(&sc);
  return ok;
}

/* ==========================================================================
 * Redis
 * ========================================================================== */

static redisContext *redis_open(struct ctl_api *api, char *err,
                                size_t err_len) {
  struct timeval tv = { 2, 0 };
  if (api->redis_host[0] == '\0') {
    snprintf(err, err_len, "redis-url is not configured");
    return NULL;
  }
  redisContext *c =
      redisConnectWithTimeout(api->redis_host, api->redis_port, tv);
  if (c == NULL || c->err != 0) {
    snprintf(err, err_len, "redis %s:%d: %s", api->redis_host, api->redis_port,
             c != NULL ? c->errstr : "no memory");
    redisFree(c);
    return NULL;
  }
  (void)redisSetTimeout(c, tv);
  return c;
}

/* redis_ok reads |n| pipelined replies; 1 if none is an error. */
static int redis_ok(redisContext *c, int n, char *err, size_t err_len) {
  int ok = 1;
  for (int i = 0; i < n; i++) {
    redisReply *rep = NULL;
    if (redisGetReply(c, (void **)&rep) != REDIS_OK || rep == NULL) {
      snprintf(err, err_len, "redis: %s", c->errstr);
      return 0;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
      snprintf(err, err_len, "redis: %s", rep->str);
      ok = 0;
    }
    freeReplyObject(rep);
  }
  return ok;
}

int api_redis_ping(struct ctl_api *api) {
  char err[256];
  redisContext *c = redis_open(api, err, sizeof(err));
  if (c == NULL) {
    return 0;
  }
  redisAppendCommand(c, "PING");
  int ok = redis_ok(c, 1, err, sizeof(err));
  redisFree(c);
  return ok;
}

static int reason_code(const char *name) {
  static const struct {
    const char *name;
    int code;
  } map[] = {
    { "unspecified", VIGIL_REASON_UNSPECIFIED },
    { "keyCompromise", VIGIL_REASON_KEY_COMPROMISE },
    { "affiliationChanged", VIGIL_REASON_AFFILIATION_CHANGED },
    { "superseded", VIGIL_REASON_SUPERSEDED },
    { "cessationOfOperation", VIGIL_REASON_CESSATION_OF_OPERATION },
    { "privilegeWithdrawn", VIGIL_REASON_PRIVILEGE_WITHDRAWN },
  };
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
    if (strcmp(map[i].name, name) == 0) {
      return map[i].code;
    }
  }
  return -2;
}

/* publish_status pre-signs the response for one certificate and writes
 * v1:resp (expiring at nextUpdate) and v1:status; for a revocation it then
 * appends a revoke event to v1:events (after the data, so an edge that
 * sees the event finds the new answer). Returns 1, or 0 with |err|. */
static int publish_status(struct ctl_api *api, char *err, size_t err_len,
                          const char *issuer_id, const uint8_t ikh[20],
                          const uint8_t *serial, size_t serial_len,
                          int64_t not_after, int revoked, int64_t revoked_at,
                          const char *reason) {
  uint8_t *der = NULL;
  size_t der_len = 0;
  int64_t next = 0;
  int ok = 0;
  redisContext *c = NULL;
  int code = revoked ? reason_code(reason) : -1;
  /* unspecified is sent as no reasonCode (RFC 5280 5.3.1). */
  int entry_reason = code == VIGIL_REASON_UNSPECIFIED ? -1 : code;
  if (revoked && code < 0) {
    snprintf(err, err_len, "unknown reason \"%s\"", reason);
    return 0;
  }
  if (!presign_one(api, &der, &der_len, &next, err, err_len, issuer_id, serial,
                   serial_len, revoked, revoked_at, entry_reason)) {
    return 0;
  }
  char rkey[VIGIL_KS_MAX_KEY];
  char skey[VIGIL_KS_MAX_KEY];
  char rec[VIGIL_KS_MAX_RECORD];
  char ikh_hex[41];
  char serial_hex[2 * VIGIL_SGN_MAX_SERIAL + 2];
  struct vigil_status st = {
    .status = revoked ? VIGIL_CERT_STATUS_REVOKED : VIGIL_CERT_STATUS_GOOD,
    .not_after = not_after,
    .revoked_at = revoked ? revoked_at : 0,
    .reason = revoked ? (enum vigil_reason)entry_reason : VIGIL_REASON_NONE,
  };
  if (vigil_ks_resp_key(rkey, sizeof(rkey), ikh, serial, serial_len) == 0 ||
      vigil_ks_status_key(skey, sizeof(skey), ikh, serial, serial_len) == 0 ||
      vigil_status_format(rec, sizeof(rec), &st) == 0 ||
      vigil_serial_hex(serial_hex, serial, serial_len) == 0) {
    snprintf(err, err_len, "cannot format the Redis records");
    goto done;
  }
  vigil_hex_encode(ikh_hex, ikh, 20);
  ikh_hex[40] = '\0';
  c = redis_open(api, err, err_len);
  if (c == NULL) {
    goto done;
  }
  int64_t ttl = next - (int64_t)time(NULL);
  if (ttl < 1) {
    ttl = 1;
  }
  int n = 0;
  redisAppendCommand(c, "SET %s %b EX %lld", rkey, der, der_len,
                     (long long)ttl);
  n++;
  redisAppendCommand(c, "SET %s %s", skey, rec);
  n++;
  if (revoked) {
    redisAppendCommand(c,
                       "XADD " VIGIL_KS_EVENTS
                       " MAXLEN ~ 1000000 * type revoke ikh %s serial %s "
                       "issuer_id %s",
                       ikh_hex, serial_hex, issuer_id);
    n++;
  }
  ok = redis_ok(c, n, err, err_len);

done:
  redisFree(c);
  vigil_free(der);
  return ok;
}

/* publish_rows publishes pending revocation_queue rows (all due ones, or
 * those of |cert_id| regardless of backoff) and marks them published;
 * failures are recorded with a backoff. Returns how many were published. */
static int publish_rows(struct ctl_api *api, struct ctl_db *db,
                        const char *cert_id, int max) {
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, cert_id);
  ctl_db_param_int64(&p, max);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "SELECT q.id, i.issuer_id, i.key_sha1, c.serial, "
      "extract(epoch FROM c.not_after)::bigint, "
      "extract(epoch FROM c.revoked_at)::bigint, c.revocation_reason "
      "FROM revocation_queue q JOIN certificates c ON c.id = q.certificate "
      "JOIN issuers i ON i.id = q.issuer WHERE q.status = 'pending' AND "
      "CASE WHEN $1::uuid IS NULL THEN q.next_attempt_at <= now() "
      "ELSE q.certificate = $1::uuid END ORDER BY q.id LIMIT $2::int",
      &p);
  if (st != CTL_DB_OK) {
    return 0;
  }
  int done = 0;
  for (int i = 0; i < PQntuples(res); i++) {
    uint8_t ikh[20];
    uint8_t serial[VIGIL_SGN_MAX_SERIAL];
    size_t ikh_len = 0;
    size_t serial_len = 0;
    int64_t qid = 0;
    int64_t not_after = 0;
    int64_t revoked_at = 0;
    char err[512] = "";
    int ok =
        ctl_db_value_int64(&qid, res, i, 0) &&
        ctl_db_value_bytes(ikh, &ikh_len, sizeof(ikh), res, i, 2) &&
        ikh_len == 20 &&
        ctl_db_value_bytes(serial, &serial_len, sizeof(serial), res, i, 3) &&
        ctl_db_value_int64(&not_after, res, i, 4) &&
        ctl_db_value_int64(&revoked_at, res, i, 5);
    if (!ok) {
      snprintf(err, sizeof(err), "bad queue row");
    } else {
      ok = publish_status(api, err, sizeof(err), PQgetvalue(res, i, 1), ikh,
                          serial, serial_len, not_after, 1, revoked_at,
                          PQgetvalue(res, i, 6));
    }
    struct ctl_db_params u;
    ctl_db_params_init(&u);
    ctl_db_param_int64(&u, qid);
    if (ok) {
      st = ctl_db_exec(db, NULL,
                       "UPDATE revocation_queue SET status = 'published', "
                       "published_at = now(), attempts = attempts + 1, "
                       "last_error = NULL WHERE id = $1::bigint AND status = "
                       "'pending'",
                       &u);
      done += st == CTL_DB_OK;
    } else if (cert_id == NULL) {
      /* Only the publisher's own attempts move the backoff: a client
       * waiting with ?wait=published retries on its own clock. */
      VLOG_WARN(api->log, "revocation publish (queue %lld) failed: %s",
                (long long)qid, err);
      ctl_db_param_text(&u, err);
      st = ctl_db_exec(
          db, NULL,
          "UPDATE revocation_queue SET attempts = attempts + 1, "
          "last_error = $2, next_attempt_at = now() + least(interval '30 s', "
          "interval '200 ms' * power(2, least(attempts, 10))) "
          "WHERE id = $1::bigint AND status = 'pending'",
          &u);
    }
  }
  PQclear(res);
  if (done > 0) {
    ctl_loops_crl_soon(api->loops); /* CRL within crl-debounce */
  }
  return done;
}

int api_publish_pending(struct ctl_api *api, struct ctl_db *db, int max) {
  return publish_rows(api, db, NULL, max);
}

/* ==========================================================================
 * Certificates: reading fields with GnuTLS, PEM
 * ========================================================================== */

struct cert_info {
  char subject_dn[1024]; /* RFC 4514 */
  gnutls_datum_t spki;   /* DER SubjectPublicKeyInfo (gnutls_free) */
  json_t *sans;          /* ["DNS:x", "IP:y"] */
};

static void cert_info_cleanup(struct cert_info *ci) {
  gnutls_free(ci->spki.data);
  json_decref(ci->sans);
  memset(ci, 0, sizeof(*ci));
}

static int cert_info_get(struct cert_info *out, const uint8_t *der,
                         size_t len) {
  gnutls_x509_crt_t crt = NULL;
  gnutls_pubkey_t pub = NULL;
  gnutls_datum_t in = { (unsigned char *)der, (unsigned)len };
  gnutls_datum_t dn = { NULL, 0 };
  int ok = 0;
  memset(out, 0, sizeof(*out));
  out->sans = json_array();
  if (out->sans == NULL || gnutls_x509_crt_init(&crt) < 0 ||
      gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_DER) < 0 ||
      gnutls_x509_crt_get_dn3(crt, &dn, 0) < 0 ||
      gnutls_pubkey_init(&pub) < 0 ||
      gnutls_pubkey_import_x509(pub, crt, 0) < 0 ||
      gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &out->spki) < 0) {
    goto done;
  }
  snprintf(out->subject_dn, sizeof(out->subject_dn), "%.*s", (int)dn.size,
           (const char *)dn.data);
  for (unsigned seq = 0; seq < MAX_SANS; seq++) {
    char buf[300];
    size_t size = sizeof(buf) - 1;
    unsigned type = 0;
    int rc = gnutls_x509_crt_get_subject_alt_name2(crt, seq, buf, &size, &type,
                                                   NULL);
    if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
      break;
    }
    if (rc < 0) {
      continue;
    }
    char v[320];
    if (rc == GNUTLS_SAN_DNSNAME) {
      buf[size] = '\0';
      snprintf(v, sizeof(v), "DNS:%s", buf);
    } else if (rc == GNUTLS_SAN_IPADDRESS && (size == 4 || size == 16)) {
      char ip[INET6_ADDRSTRLEN];
      inet_ntop(size == 4 ? AF_INET : AF_INET6, buf, ip, sizeof(ip));
      snprintf(v, sizeof(v), "IP:%s", ip);
    } else {
      continue;
    }
    json_array_append_new(out->sans, json_string(v));
  }
  ok = 1;

done:
  gnutls_free(dn.data);
  if (pub != NULL) {
    gnutls_pubkey_deinit(pub);
  }
  if (crt != NULL) {
    gnutls_x509_crt_deinit(crt);
  }
  if (!ok) {
    cert_info_cleanup(out);
  }
  return ok;
}

/* pem_encode returns a heap PEM "CERTIFICATE" string of |der| (free()). */
static char *pem_encode(const uint8_t *der, size_t len) {
  size_t b64 = vigil_b64_encoded_len(len);
  size_t cap = b64 + b64 / 64 + 80;
  char *out = malloc(cap);
  char *tmp = vigil_malloc(b64 + 1);
  if (out == NULL || tmp == NULL) {
    free(out);
    vigil_free(tmp);
    return NULL;
  }
  size_t n = vigil_b64_encode(tmp, der, len);
  size_t o = (size_t)snprintf(out, cap, "-----BEGIN CERTIFICATE-----\n");
  for (size_t i = 0; i < n; i += 64) {
    size_t k = n - i < 64 ? n - i : 64;
    memcpy(out + o, tmp + i, k);
    o += k;
    out[o++] = '\n';
  }
  snprintf(out + o, cap - o, "-----END CERTIFICATE-----\n");
  vigil_free(tmp);
  return out;
}

/* ==========================================================================
 * Certificate objects
 * ========================================================================== */

#define CERT_COLS \
  "c.id, c.name, t.name, i.issuer_id, c.serial, c.status, " API_TS(       \
      "c.revoked_at") ", c.revocation_reason, " API_TS("c.not_before") ", " \
                      API_TS("c.not_after") ", c.cert_der "

/* cert_row_json makes the certificate object of row |i|. */
static json_t *cert_row_json(const PGresult *res, int i, int with_pem) {
  uint8_t serial[VIGIL_SGN_MAX_SERIAL];
  size_t serial_len = 0;
  char hex[2 * VIGIL_SGN_MAX_SERIAL + 2] = "";
  if (ctl_db_value_bytes(serial, &serial_len, sizeof(serial), res, i, 4)) {
    (void)vigil_serial_hex(hex, serial, serial_len);
  }
  json_t *o = json_pack(
      "{s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:s?,s:s,s:s}", "id",
      PQgetvalue(res, i, 0), "name", PQgetvalue(res, i, 1), "tenant",
      PQgetvalue(res, i, 2), "issuer_id", PQgetvalue(res, i, 3), "serial", hex,
      "status", PQgetvalue(res, i, 5), "revoked_at",
      PQgetisnull(res, i, 6) ? NULL : PQgetvalue(res, i, 6),
      "revocation_reason",
      PQgetisnull(res, i, 7) ? NULL : PQgetvalue(res, i, 7), "not_before",
      PQgetvalue(res, i, 8), "not_after", PQgetvalue(res, i, 9));
  if (o != NULL && with_pem) {
    size_t cap = (size_t)PQgetlength(res, i, 10);
    uint8_t *der = vigil_malloc(cap);
    size_t len = 0;
    char *pem = NULL;
    if (der != NULL && ctl_db_value_bytes(der, &len, cap, res, i, 10)) {
      pem = pem_encode(der, len);
    }
    json_object_set_new(o, "certificate_pem",
                        pem != NULL ? json_string(pem) : json_null());
    free(pem);
    vigil_free(der);
  }
  return o;
}

/* cert_load: the certificate object for |id| visible to the caller.
 * Returns 1 (|*out| set), 0 (not found: 404 answered) or -1 (answered). */
static int cert_load(struct api_req *r, json_t **out, const char *id,
                     int with_pem) {
  *out = NULL;
  if (!api_uuid_valid(id)) {
    api_error(r, 404, "not_found", "no such certificate");
    return 0;
  }
  PGresult *res = NULL;
  int found =
      api_fetch_one(r, &res,
                    "SELECT " CERT_COLS
                    "FROM certificates c JOIN tenants t ON t.id = c.tenant "
                    "JOIN issuers i ON i.id = c.issuer WHERE c.id = $1::uuid "
                    "AND ($2::uuid IS NULL OR c.tenant = $2::uuid)",
                    id);
  if (found == 0) {
    api_error(r, 404, "not_found", "no certificate \"%s\"", id);
  }
  if (found != 1) {
    return found;
  }
  *out = cert_row_json(res, 0, with_pem);
  PQclear(res);
  if (*out == NULL) {
    api_error(r, 500, "internal", "out of memory");
    return -1;
  }
  return 1;
}

#define READ_ROLES \
  (CTL_ROLE_ISSUER | CTL_ROLE_OPERATOR | CTL_ROLE_AUDITOR | CTL_ROLE_ADMIN)

void api_certificates_get(struct api_req *r, const char *id) {
  json_t *o = NULL;
  if (!api_need(r, READ_ROLES)) {
    return;
  }
  if (cert_load(r, &o, id, 1) == 1) {
    api_json(r, 200, o);
  }
}

void api_certificates_list(struct api_req *r) {
  if (!api_need(r, READ_ROLES)) {
    return;
  }
  const char *tenant = api_query(r, "tenant");
  const char *after = api_query(r, "after");
  const char *ls = api_query(r, "limit");
  long limit = 50;
  char tenant_id[37] = "";
  if (ls != NULL) {
    char *end = NULL;
    errno = 0;
    limit = strtol(ls, &end, 10);
    if (errno != 0 || end == ls || *end != '\0' || limit < 1 || limit > 500) {
      api_error(r, 400, "bad_request",
                "query parameter \"limit\": must be an integer in 1..500");
      return;
    }
  }
  if (after != NULL && !api_uuid_valid(after)) {
    api_error(r, 400, "bad_request", "query parameter \"after\": not an id");
    return;
  }
  if (tenant != NULL && !api_resolve_tenant(r, tenant_id, tenant)) {
    return;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, tenant_id[0]
                            ? tenant_id
                            : (r->who.tenant_id[0] ? r->who.tenant_id : NULL));
  ctl_db_param_text(&p, after);
  ctl_db_param_int64(&p, limit);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      r->db, &res,
      "SELECT " CERT_COLS
      "FROM certificates c JOIN tenants t ON t.id = c.tenant "
      "JOIN issuers i ON i.id = c.issuer WHERE "
      "($1::uuid IS NULL OR c.tenant = $1::uuid) AND ($2::uuid IS NULL OR "
      "(c.created_at, c.id) < (SELECT created_at, id FROM certificates "
      "WHERE id = $2::uuid)) ORDER BY c.created_at DESC, c.id DESC "
      "LIMIT $3::int",
      &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return;
  }
  json_t *items = json_array();
  int n = PQntuples(res);
  for (int i = 0; i < n; i++) {
    json_array_append_new(items, cert_row_json(res, i, 0));
  }
  json_t *next = n == limit && n > 0 ? json_string(PQgetvalue(res, n - 1, 0))
                                     : json_null();
  PQclear(res);
  api_json(r, 200, json_pack("{s:o,s:o}", "items", items, "next", next));
}

/* ==========================================================================
 * POST /tenants/{t}/issuers
 * ========================================================================== */

struct issuer_new {
  struct api_req *r;
  const char *tenant_id;
  const char *issuer_id;
  const char *parent_uuid; /* NULL: root */
  const char *subject_dn;
  const uint8_t *cert;
  size_t cert_len;
  const uint8_t *name_sha1, *name_sha256, *key_sha1, *key_sha256;
  int64_t not_before, not_after;
  char id[37];
};

static enum ctl_db_status issuer_txn(struct ctl_db *db, void *arg) {
  struct issuer_new *n = arg;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, n->tenant_id);
  enum ctl_db_status st = ctl_db_exec(
      db, NULL,
      "UPDATE issuers SET current = false WHERE tenant = $1::uuid AND current",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  char key_ref[80];
  snprintf(key_ref, sizeof(key_ref), "signer:%s", n->issuer_id);
  ctl_db_param_text(&p, n->issuer_id);
  ctl_db_param_text(&p, n->parent_uuid);
  ctl_db_param_text(&p, n->subject_dn);
  ctl_db_param_bytes(&p, n->cert, n->cert_len);
  ctl_db_param_bytes(&p, n->key_sha1, 20);
  ctl_db_param_bytes(&p, n->key_sha256, 32);
  ctl_db_param_bytes(&p, n->name_sha1, 20);
  ctl_db_param_bytes(&p, n->name_sha256, 32);
  ctl_db_param_text(&p, key_ref);
  ctl_db_param_int64(&p, n->not_before);
  ctl_db_param_int64(&p, n->not_after);
  PGresult *res = NULL;
  st = ctl_db_exec(
      db, &res,
      "INSERT INTO issuers (tenant, issuer_id, parent, subject_dn, cert_der, "
      "key_sha1, key_sha256, name_sha1, name_sha256, key_ref, not_before, "
      "not_after, current) VALUES ($1::uuid, $2, $3::uuid, $4, $5::bytea, "
      "$6::bytea, $7::bytea, $8::bytea, $9::bytea, $10, "
      "to_timestamp($11::bigint), to_timestamp($12::bigint), true) "
      "RETURNING id",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  snprintf(n->id, sizeof(n->id), "%s", PQgetvalue(res, 0, 0));
  PQclear(res);
  char subject[64];
  snprintf(subject, sizeof(subject), "issuer:%s", n->id);
  json_t *d =
      json_pack("{s:s,s:s,s:b}", "issuer_id", n->issuer_id, "subject_dn",
                n->subject_dn, "root", n->parent_uuid == NULL);
  char *details = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
  json_decref(d);
  struct ctl_audit_event ev = {
    .type = "issuer.created",
    .principal = n->r->who.id,
    .tenant = n->tenant_id,
    .subject = subject,
    .details_json = details,
  };
  st = details != NULL ? ctl_audit_append(db, NULL, NULL, &ev) : CTL_DB_ERROR;
  free(details);
  return st;
}

/* publish_issuers writes the v1:issuers records of every issuer of the
 * tenant (the current flag moved) and an issuer event for |ikh|. */
static int publish_issuers(struct api_req *r, const char *tenant_id,
                           const char *tenant_name, const uint8_t ikh[20],
                           const char *issuer_id) {
  char err[256];
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, tenant_id);
  PGresult *res = NULL;
  if (ctl_db_exec(r->db, &res,
                  "SELECT issuer_id, key_sha1, name_sha1, name_sha256, "
                  "key_sha256, current FROM issuers WHERE tenant = $1::uuid",
                  &p) != CTL_DB_OK) {
    return 0;
  }
  redisContext *c = redis_open(r->api, err, sizeof(err));
  if (c == NULL) {
    PQclear(res);
    VLOG_WARN(r->api->log, "issuer not published: %s", err);
    return 0;
  }
  int n = 0;
  for (int i = 0; i < PQntuples(res); i++) {
    struct vigil_issuer_record rec;
    uint8_t k1[20];
    size_t l1 = 0;
    size_t l2 = 0;
    size_t l3 = 0;
    size_t l4 = 0;
    memset(&rec, 0, sizeof(rec));
    snprintf(rec.issuer_id, sizeof(rec.issuer_id), "%s", PQgetvalue(res, i, 0));
    snprintf(rec.tenant, sizeof(rec.tenant), "%s", tenant_name);
    rec.current = strcmp(PQgetvalue(res, i, 5), "t") == 0;
    char text[VIGIL_KS_MAX_RECORD];
    char hex[41];
    if (!ctl_db_value_bytes(k1, &l1, 20, res, i, 1) ||
        !ctl_db_value_bytes(rec.name_sha1, &l2, 20, res, i, 2) ||
        !ctl_db_value_bytes(rec.name_sha256, &l3, 32, res, i, 3) ||
        !ctl_db_value_bytes(rec.key_sha256, &l4, 32, res, i, 4) ||
        vigil_issuer_record_format(text, sizeof(text), &rec) == 0) {
      continue;
    }
    vigil_hex_encode(hex, k1, 20);
    hex[40] = '\0';
    redisAppendCommand(c, "HSET " VIGIL_KS_ISSUERS " %s %s", hex, text);
    n++;
  }
  PQclear(res);
  char hex[41];
  vigil_hex_encode(hex, ikh, 20);
  hex[40] = '\0';
  redisAppendCommand(c,
                     "XADD " VIGIL_KS_EVENTS
                     " MAXLEN ~ 1000000 * type issuer ikh %s issuer_id %s",
                     hex, issuer_id);
  n++;
  int ok = redis_ok(c, n, err, sizeof(err));
  if (!ok) {
    VLOG_WARN(r->api->log, "issuer not published: %s", err);
  }
  redisFree(c);
  return ok;
}

static int key_type_parse(const char *s, uint8_t *out_type,
                          uint32_t *out_bits) {
  *out_bits = 0;
  if (s == NULL || strcmp(s, "p256") == 0) {
    *out_type = VIGIL_SGN_KEY_P256;
  } else if (strcmp(s, "p384") == 0) {
    *out_type = VIGIL_SGN_KEY_P384;
  } else if (strcmp(s, "ed25519") == 0) {
    *out_type = VIGIL_SGN_KEY_ED25519;
  } else if (strcmp(s, "rsa2048") == 0) {
    *out_type = VIGIL_SGN_KEY_RSA;
    *out_bits = 2048;
  } else {
    return 0;
  }
  return 1;
}

/* get_fixed copies a fixed-length bytes field of the reply. */
static int get_fixed(const struct vigil_sgn_msg *m, uint16_t tag,
                     const uint8_t **out, size_t len) {
  struct vigil_sgn_field f;
  if (!vigil_sgn_find(m, &f, tag) || f.len != len) {
    return 0;
  }
  *out = f.value;
  return 1;
}

void api_issuers_create(struct api_req *r, const char *tenant) {
  struct api_sgn_call sc;
  struct vigil_sgn_writer w;
  struct cert_info ci;
  char err[768];
  char tenant_id[37];
  char parent_uuid[37] = "";
  memset(&sc, 0, sizeof(sc));
  memset(&ci, 0, sizeof(ci));
  if (!api_need(r, CTL_ROLE_ADMIN)) {
    return;
  }
  json_t *o = api_body_object(r);
  if (o == NULL) {
    return;
  }
  const char *issuer_id = NULL;
  const char *cn = NULL;
  const char *parent = NULL;
  const char *key_type = NULL;
  int64_t days = 0;
  uint8_t kt = 0;
  uint32_t bits = 0;
  if (!api_get_string(r, &issuer_id, o, "issuer_id", 1, 1, 63) ||
      !api_get_string(r, &cn, o, "common_name", 1, 1, 64) ||
      !api_get_string(r, &parent, o, "parent_issuer_id", 0, 1, 63) ||
      !api_get_string(r, &key_type, o, "key_type", 0, 1, 16) ||
      !api_get_int(r, &days, o, "validity_days", 1, 10950)) {
    goto done;
  }
  if (!vigil_ks_name_valid(issuer_id, strlen(issuer_id))) {
    api_error(r, 422, "invalid_field",
              "field \"issuer_id\": must match [a-z0-9][a-z0-9-]{0,62}");
    goto done;
  }
  for (const char *c = cn; *c; c++) {
    if ((unsigned char)*c < 0x20 || *c == 0x7f) {
      api_error(r, 422, "invalid_field",
                "field \"common_name\": control characters not allowed");
      goto done;
    }
  }
  if (!key_type_parse(key_type, &kt, &bits)) {
    api_error(r, 422, "invalid_field",
              "field \"key_type\": one of p256, p384, ed25519, rsa2048");
    goto done;
  }
  if (!api_resolve_tenant(r, tenant_id, tenant)) {
    goto done;
  }
  /* The id must be new here (it is global), and a parent ours. */
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, issuer_id);
  ctl_db_param_text(&p, parent);
  ctl_db_param_text(&p, tenant_id);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      r->db, &res,
      "SELECT (SELECT count(*) FROM issuers WHERE issuer_id = $1), "
      "(SELECT id FROM issuers WHERE issuer_id = $2 AND tenant = $3::uuid)",
      &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    goto done;
  }
  int exists = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
  if (!PQgetisnull(res, 0, 1)) {
    snprintf(parent_uuid, sizeof(parent_uuid), "%s", PQgetvalue(res, 0, 1));
  }
  PQclear(res);
  if (exists) {
    api_error(r, 409, "conflict", "issuer \"%s\" exists", issuer_id);
    goto done;
  }
  if (parent != NULL && parent_uuid[0] == '\0') {
    api_error(r, 422, "invalid_field",
              "field \"parent_issuer_id\": no issuer \"%s\" in tenant \"%s\"",
              parent, tenant);
    goto done;
  }
  if (days == 0) {
    days = parent != NULL ? 1825 : 3650;
  }
  if (!api_sgn_begin(&sc, &w,
                     parent != NULL ? VIGIL_SGN_OP_CREATE_INTERMEDIATE
                                    : VIGIL_SGN_OP_CREATE_ROOT)) {
    api_error(r, 500, "internal", "out of memory");
    goto done;
  }
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, issuer_id);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_SUBJECT_CN, cn);
  vigil_sgn_put_u8(&w, VIGIL_SGN_T_KEY_TYPE, kt);
  if (bits != 0) {
    vigil_sgn_put_u32(&w, VIGIL_SGN_T_RSA_BITS, bits);
  }
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_VALIDITY, days * 86400);
  if (parent != NULL) {
    vigil_sgn_put_text(&w, VIGIL_SGN_T_PARENT_ID, parent);
    if (r->api->cfg->edge_url[0] != '\0') {
      char url[600];
      snprintf(url, sizeof(url), "%s/ocsp/%s", r->api->cfg->edge_url, tenant);
      vigil_sgn_put_text(&w, VIGIL_SGN_T_OCSP_URL, url);
      snprintf(url, sizeof(url), "%s/crl/%s/%s", r->api->cfg->edge_url, tenant,
               parent);
      vigil_sgn_put_text(&w, VIGIL_SGN_T_CRL_URL, url);
    }
  }
  int sst = api_sgn_run(r->api, &sc, &w, err, sizeof(err));
  if (sst != VIGIL_SGN_OK) {
    api_sgn_answer_error(r, sst, err,
                         parent != NULL ? "parent_issuer_id" : "common_name");
    goto done;
  }
  struct vigil_sgn_field cert;
  struct issuer_new n;
  memset(&n, 0, sizeof(n));
  if (!vigil_sgn_find(&sc.reply, &cert, VIGIL_SGN_T_CERT) ||
      !get_fixed(&sc.reply, VIGIL_SGN_T_NAME_SHA1, &n.name_sha1, 20) ||
      !get_fixed(&sc.reply, VIGIL_SGN_T_NAME_SHA256, &n.name_sha256, 32) ||
      !get_fixed(&sc.reply, VIGIL_SGN_T_KEY_SHA1, &n.key_sha1, 20) ||
      !get_fixed(&sc.reply, VIGIL_SGN_T_KEY_SHA256, &n.key_sha256, 32) ||
      !vigil_sgn_get_i64(&sc.reply, &n.not_before, VIGIL_SGN_T_NOT_BEFORE) ||
      !vigil_sgn_get_i64(&sc.reply, &n.not_after, VIGIL_SGN_T_NOT_AFTER) ||
      !cert_info_get(&ci, cert.value, cert.len)) {
    api_error(r, 502, "signer_error", "incomplete reply from the signer");
    goto done;
  }
  n.r = r;
  n.tenant_id = tenant_id;
  n.issuer_id = issuer_id;
  n.parent_uuid = parent != NULL ? parent_uuid : NULL;
  n.subject_dn = ci.subject_dn;
  n.cert = cert.value;
  n.cert_len = cert.len;
  st = ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, issuer_txn, &n);
  if (st != CTL_DB_OK) {
    VLOG_ERROR(r->api->log,
               "issuer %s was created in the signer but not recorded: %s",
               issuer_id, ctl_db_last_error(r->db)->message);
    api_db_error(r, st);
    goto done;
  }
  int published = publish_issuers(r, tenant_id, tenant, n.key_sha1, issuer_id);
  char ikh[41];
  vigil_hex_encode(ikh, n.key_sha1, 20);
  ikh[40] = '\0';
  char *pem = pem_encode(cert.value, cert.len);
  char nb[32];
  char na[32];
  struct tm tb;
  time_t t1 = (time_t)n.not_before;
  time_t t2 = (time_t)n.not_after;
  strftime(nb, sizeof(nb), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t1, &tb));
  strftime(na, sizeof(na), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t2, &tb));
  api_json(r, 201,
           json_pack("{s:s,s:s,s:s,s:s?,s:s,s:s,s:s,s:s,s:s?,s:b}", "id", n.id,
                     "issuer_id", issuer_id, "tenant", tenant,
                     "parent_issuer_id", parent, "subject_dn", ci.subject_dn,
                     "ikh", ikh, "not_before", nb, "not_after", na,
                     "certificate_pem", pem, "published", published));
  free(pem);

done:
  cert_info_cleanup(&ci);
  api_sgn_cleanup(&sc);
  json_decref(o);
}

/* ==========================================================================
 * POST /certificates
 * ========================================================================== */

/* put_sans validates the arrays "dns" and "ip" of |obj| and adds them to
 * |w|. Returns 1, or 0 after answering 422. |*out_first_dns| is the
 * first DNS name (or NULL). */
static int put_sans(struct api_req *r, struct vigil_sgn_writer *w,
                    const char **out_first_dns, json_t *obj,
                    const char *prefix) {
  json_t *dns = json_object_get(obj, "dns");
  json_t *ip = json_object_get(obj, "ip");
  *out_first_dns = NULL;
  if (dns != NULL && !json_is_null(dns)) {
    if (!json_is_array(dns) || json_array_size(dns) > MAX_SANS) {
      api_error(r, 422, "invalid_field",
                "field \"%sdns\": must be an array of at most %d names", prefix,
                MAX_SANS);
      return 0;
    }
    for (size_t i = 0; i < json_array_size(dns); i++) {
      json_t *v = json_array_get(dns, i);
      const char *s = json_is_string(v) ? json_string_value(v) : NULL;
      size_t n = s != NULL ? strlen(s) : 0;
      int ok = n >= 1 && n <= 253 && n == json_string_length(v);
      for (size_t k = 0; ok && k < n; k++) {
        char c = s[k];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9') || c == '-' || c == '.' ||
             (c == '*' && k == 0);
      }
      if (!ok) {
        api_error(r, 422, "invalid_field",
                  "field \"%sdns\": element %zu is not a DNS name", prefix, i);
        return 0;
      }
      if (*out_first_dns == NULL) {
        *out_first_dns = s;
      }
      vigil_sgn_put_text(w, VIGIL_SGN_T_SAN_DNS, s);
    }
  }
  if (ip != NULL && !json_is_null(ip)) {
    if (!json_is_array(ip) || json_array_size(ip) > MAX_SANS) {
      api_error(r, 422, "invalid_field",
                "field \"%sip\": must be an array of at most %d addresses",
                prefix, MAX_SANS);
      return 0;
    }
    for (size_t i = 0; i < json_array_size(ip); i++) {
      json_t *v = json_array_get(ip, i);
      const char *s = json_is_string(v) ? json_string_value(v) : "";
      uint8_t a[16];
      if (inet_pton(AF_INET, s, a) == 1) {
        vigil_sgn_put(w, VIGIL_SGN_T_SAN_IP, a, 4);
      } else if (inet_pton(AF_INET6, s, a) == 1) {
        vigil_sgn_put(w, VIGIL_SGN_T_SAN_IP, a, 16);
      } else {
        api_error(r, 422, "invalid_field",
                  "field \"%sip\": element %zu is not an IP address", prefix,
                  i);
        return 0;
      }
    }
  }
  return 1;
}

struct cert_new {
  struct api_req *r;
  const char *tenant_id;
  const char *issuer_uuid;
  const char *issuer_id;
  const char *name;
  const uint8_t *serial;
  size_t serial_len;
  const char *subject_dn;
  const char *sans_json;
  const uint8_t *spki;
  size_t spki_len;
  const uint8_t *cert;
  size_t cert_len;
  int64_t not_before, not_after;
  char id[37];
};

/* cert_insert inserts a certificate and its certificate.issued event in
 * the open transaction on |db|; fills |out_id| (37 bytes) and
 * |*out_audit_id| (may be NULL). */
static enum ctl_db_status cert_insert(
    struct ctl_db *db, char *out_id, int64_t *out_audit_id,
    const char *tenant_id, const char *issuer_uuid, const char *issuer_id,
    const char *name, const uint8_t *serial, size_t serial_len,
    const char *subject_dn, const char *sans_json, const uint8_t *spki,
    size_t spki_len, const uint8_t *cert, size_t cert_len, int64_t not_before,
    int64_t not_after, const char *principal) {
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, tenant_id);
  ctl_db_param_text(&p, issuer_uuid);
  ctl_db_param_bytes(&p, serial, serial_len);
  ctl_db_param_text(&p, name);
  ctl_db_param_text(&p, subject_dn);
  ctl_db_param_text(&p, sans_json);
  ctl_db_param_bytes(&p, spki, spki_len);
  ctl_db_param_bytes(&p, cert, cert_len);
  ctl_db_param_int64(&p, not_before);
  ctl_db_param_int64(&p, not_after);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "INSERT INTO certificates (tenant, issuer, serial, name, subject_dn, "
      "sans, spki_sha256, cert_der, not_before, not_after) VALUES "
      "($1::uuid, $2::uuid, $3::bytea, $4, $5, $6::jsonb, sha256($7::bytea), "
      "$8::bytea, to_timestamp($9::bigint), to_timestamp($10::bigint)) "
      "RETURNING id",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  snprintf(out_id, 37, "%s", PQgetvalue(res, 0, 0));
  PQclear(res);
  char subject[64];
  char hex[2 * VIGIL_SGN_MAX_SERIAL + 2] = "";
  (void)vigil_serial_hex(hex, serial, serial_len);
  snprintf(subject, sizeof(subject), "certificate:%s", out_id);
  json_t *d = json_pack("{s:s,s:s,s:s}", "name", name, "serial", hex,
                        "issuer_id", issuer_id);
  char *details = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
  json_decref(d);
  struct ctl_audit_event ev = {
    .type = "certificate.issued",
    .principal = principal,
    .tenant = tenant_id,
    .subject = subject,
    .details_json = details,
  };
  st = details != NULL ? ctl_audit_append(db, out_audit_id, NULL, &ev)
                       : CTL_DB_ERROR;
  free(details);
  return st;
}

static enum ctl_db_status cert_txn(struct ctl_db *db, void *arg) {
  struct cert_new *n = arg;
  return cert_insert(db, n->id, NULL, n->tenant_id, n->issuer_uuid,
                     n->issuer_id, n->name, n->serial, n->serial_len,
                     n->subject_dn, n->sans_json, n->spki, n->spki_len, n->cert,
                     n->cert_len, n->not_before, n->not_after, n->r->who.id);
}

enum ctl_db_status api_pki_cert_record(struct ctl_db *db, char *out_id,
                                       int64_t *out_audit_id,
                                       const struct api_pki_issued *in,
                                       const char *tenant_id,
                                       const char *issuer_uuid,
                                       const char *issuer_id, const char *name,
                                       const char *principal) {
  return cert_insert(
      db, out_id, out_audit_id, tenant_id, issuer_uuid, issuer_id, name,
      in->serial, in->serial_len, in->subject_dn,
      in->sans_json != NULL ? in->sans_json : "[]", in->spki, in->spki_len,
      in->cert_der, in->cert_len, in->not_before, in->not_after, principal);
}

void api_pki_issued_cleanup(struct api_pki_issued *out) {
  if (out->key_pem != NULL) {
    memset(out->key_pem, 0, strlen(out->key_pem));
  }
  vigil_free(out->key_pem);
  vigil_free(out->cert_der);
  vigil_free(out->spki);
  free(out->sans_json);
  memset(out, 0, sizeof(*out));
}

int api_pki_sign_generated(struct ctl_api *api, struct api_pki_issued *out,
                           char *err, size_t err_len, const char *issuer_id,
                           const char *tenant_name, const json_t *sans,
                           uint8_t key_type, uint32_t rsa_bits,
                           int64_t validity_s) {
  struct api_sgn_call sc;
  struct vigil_sgn_writer w;
  struct cert_info ci;
  int ok = 0;
  const char *first_dns = NULL;
  memset(out, 0, sizeof(*out));
  memset(&ci, 0, sizeof(ci));
  if (!json_is_array(sans) || json_array_size(sans) > MAX_SANS) {
    snprintf(err, err_len, "bad SAN list");
    return 0;
  }
  if (!api_sgn_begin(&sc, &w, VIGIL_SGN_OP_ISSUE_GENERATED)) {
    snprintf(err, err_len, "out of memory");
    return 0;
  }
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, issuer_id);
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_VALIDITY, validity_s);
  vigil_sgn_put_u8(&w, VIGIL_SGN_T_PROFILE, VIGIL_SGN_PROFILE_TLS_SERVER);
  for (size_t i = 0; i < json_array_size(sans); i++) {
    const char *s = json_string_value(json_array_get(sans, i));
    uint8_t a[16];
    if (s == NULL) {
      continue;
    }
    if (strncmp(s, "DNS:", 4) == 0 && s[4] != '\0' && strlen(s + 4) <= 253) {
      vigil_sgn_put_text(&w, VIGIL_SGN_T_SAN_DNS, s + 4);
      if (first_dns == NULL) {
        first_dns = s + 4;
      }
    } else if (strncmp(s, "IP:", 3) == 0 && inet_pton(AF_INET, s + 3, a) == 1) {
      vigil_sgn_put(&w, VIGIL_SGN_T_SAN_IP, a, 4);
    } else if (strncmp(s, "IP:", 3) == 0 &&
               inet_pton(AF_INET6, s + 3, a) == 1) {
      vigil_sgn_put(&w, VIGIL_SGN_T_SAN_IP, a, 16);
    }
  }
  vigil_sgn_put_u8(&w, VIGIL_SGN_T_KEY_TYPE, key_type);
  if (rsa_bits != 0) {
    vigil_sgn_put_u32(&w, VIGIL_SGN_T_RSA_BITS, rsa_bits);
  }
  if (first_dns != NULL && strlen(first_dns) <= 64) {
    vigil_sgn_put_text(&w, VIGIL_SGN_T_SUBJECT_CN, first_dns);
  }
  if (api->cfg->edge_url[0] != '\0') {
    char url[600];
    snprintf(url, sizeof(url), "%s/ocsp/%s", api->cfg->edge_url, tenant_name);
    vigil_sgn_put_text(&w, VIGIL_SGN_T_OCSP_URL, url);
    snprintf(url, sizeof(url), "%s/crl/%s/%s", api->cfg->edge_url, tenant_name,
             issuer_id);
    vigil_sgn_put_text(&w, VIGIL_SGN_T_CRL_URL, url);
  }
  if (api_sgn_run(api, &sc, &w, err, err_len) != VIGIL_SGN_OK) {
    goto done;
  }
  struct vigil_sgn_field cert;
  struct vigil_sgn_field serial;
  struct vigil_sgn_field pk;
  if (!vigil_sgn_find(&sc.reply, &cert, VIGIL_SGN_T_CERT) ||
      !vigil_sgn_find(&sc.reply, &serial, VIGIL_SGN_T_SERIAL) ||
      serial.len == 0 || serial.len > sizeof(out->serial) ||
      !vigil_sgn_find(&sc.reply, &pk, VIGIL_SGN_T_PRIVATE_KEY) ||
      !vigil_sgn_get_i64(&sc.reply, &out->not_before, VIGIL_SGN_T_NOT_BEFORE) ||
      !vigil_sgn_get_i64(&sc.reply, &out->not_after, VIGIL_SGN_T_NOT_AFTER) ||
      !cert_info_get(&ci, cert.value, cert.len)) {
    snprintf(err, err_len, "incomplete reply from the signer");
    goto done;
  }
  out->cert_der = vigil_malloc(cert.len);
  out->spki = vigil_malloc(ci.spki.size);
  out->key_pem = vigil_malloc(pk.len + 1);
  out->sans_json = json_dumps(ci.sans, JSON_COMPACT);
  if (out->cert_der == NULL || out->spki == NULL || out->key_pem == NULL ||
      out->sans_json == NULL) {
    snprintf(err, err_len, "out of memory");
    goto done;
  }
  memcpy(out->cert_der, cert.value, cert.len);
  out->cert_len = cert.len;
  memcpy(out->serial, serial.value, serial.len);
  out->serial_len = serial.len;
  memcpy(out->spki, ci.spki.data, ci.spki.size);
  out->spki_len = ci.spki.size;
  memcpy(out->key_pem, pk.value, pk.len);
  out->key_pem[pk.len] = '\0';
  snprintf(out->subject_dn, sizeof(out->subject_dn), "%s", ci.subject_dn);
  ok = 1;

done:
  if (!ok) {
    api_pki_issued_cleanup(out);
  }
  cert_info_cleanup(&ci);
  api_sgn_cleanup(&sc);
  return ok;
}

int api_pki_publish_good(struct ctl_api *api, char *err, size_t err_len,
                         const char *issuer_id, const uint8_t ikh[20],
                         const uint8_t *serial, size_t serial_len,
                         int64_t not_after) {
  return publish_status(api, err, err_len, issuer_id, ikh, serial, serial_len,
                        not_after, 0, 0, NULL);
}

void api_certificates_create(struct api_req *r) {
  struct api_sgn_call sc;
  struct vigil_sgn_writer w;
  struct cert_info ci;
  char err[768];
  char tenant_id[37];
  char issuer_uuid[37];
  char issuer_id[64];
  uint8_t ikh[20];
  size_t ikh_len = 0;
  char *sans = NULL;
  char *key_pem = NULL;
  memset(&sc, 0, sizeof(sc));
  memset(&ci, 0, sizeof(ci));
  if (!api_need(r, CTL_ROLE_ISSUER)) {
    return;
  }
  if (r->who.bootstrap) {
    api_error(r, 403, "forbidden", "the bootstrap token cannot issue");
    return;
  }
  json_t *o = api_body_object(r);
  if (o == NULL) {
    return;
  }
  const char *tenant = NULL;
  const char *want_issuer = NULL;
  const char *name = NULL;
  const char *csr = NULL;
  int64_t days = 90;
  json_t *gen = json_object_get(o, "generate");
  if (!api_get_string(r, &tenant, o, "tenant", 1, 1, 63) ||
      !api_get_string(r, &want_issuer, o, "issuer_id", 0, 1, 63) ||
      !api_get_string(r, &name, o, "name", 1, 1, 255) ||
      !api_get_string(r, &csr, o, "csr_pem", 0, 1, 131072) ||
      !api_get_int(r, &days, o, "validity_days", 1, 398)) {
    goto done;
  }
  if (gen != NULL && json_is_null(gen)) {
    gen = NULL;
  }
  if (gen != NULL && !json_is_object(gen)) {
    api_error(r, 422, "invalid_field", "field \"generate\": must be an object");
    goto done;
  }
  if ((csr == NULL) == (gen == NULL)) {
    api_error(r, 422, "invalid_field",
              "field \"csr_pem\": exactly one of \"csr_pem\" and \"generate\" "
              "is required");
    goto done;
  }
  const char *key_type = NULL;
  uint8_t kt = 0;
  uint32_t bits = 0;
  if (gen != NULL) {
    json_t *k = json_object_get(gen, "key_type");
    if (k != NULL && !json_is_null(k)) {
      key_type = json_is_string(k) ? json_string_value(k) : "";
    }
    if (!key_type_parse(key_type, &kt, &bits)) {
      api_error(r, 422, "invalid_field",
                "field \"generate.key_type\": one of p256, p384, ed25519, "
                "rsa2048");
      goto done;
    }
  }
  if (!api_resolve_tenant(r, tenant_id, tenant)) {
    goto done;
  }
  if (!api_approval_gate(r, "certificate.issue", tenant_id, name)) {
    goto done;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, tenant_id);
  ctl_db_param_text(&p, want_issuer);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      r->db, &res,
      "SELECT id, issuer_id, key_sha1 FROM issuers WHERE tenant = $1::uuid "
      "AND CASE WHEN $2::text IS NULL THEN current ELSE issuer_id = $2 END",
      &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    goto done;
  }
  if (PQntuples(res) != 1 ||
      !ctl_db_value_bytes(ikh, &ikh_len, sizeof(ikh), res, 0, 2) ||
      ikh_len != 20) {
    PQclear(res);
    api_error(r, 422, "invalid_field",
              "field \"issuer_id\": no %s issuer in tenant \"%s\"",
              want_issuer != NULL ? "such" : "current", tenant);
    goto done;
  }
  snprintf(issuer_uuid, sizeof(issuer_uuid), "%s", PQgetvalue(res, 0, 0));
  snprintf(issuer_id, sizeof(issuer_id), "%s", PQgetvalue(res, 0, 1));
  PQclear(res);

  if (!api_sgn_begin(&sc, &w,
                     csr != NULL ? VIGIL_SGN_OP_ISSUE_CSR
                                 : VIGIL_SGN_OP_ISSUE_GENERATED)) {
    api_error(r, 500, "internal", "out of memory");
    goto done;
  }
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, issuer_id);
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_VALIDITY, days * 86400);
  vigil_sgn_put_u8(&w, VIGIL_SGN_T_PROFILE, VIGIL_SGN_PROFILE_TLS_SERVER);
  const char *first_dns = NULL;
  if (csr != NULL) {
    vigil_sgn_put(&w, VIGIL_SGN_T_CSR, csr, strlen(csr));
    if (!put_sans(r, &w, &first_dns, o, "")) {
      goto done;
    }
  } else {
    if (!put_sans(r, &w, &first_dns, gen, "generate.")) {
      goto done;
    }
    vigil_sgn_put_u8(&w, VIGIL_SGN_T_KEY_TYPE, kt);
    if (bits != 0) {
      vigil_sgn_put_u32(&w, VIGIL_SGN_T_RSA_BITS, bits);
    }
    if (first_dns != NULL && strlen(first_dns) <= 64) {
      vigil_sgn_put_text(&w, VIGIL_SGN_T_SUBJECT_CN, first_dns);
    }
  }
  if (r->api->cfg->edge_url[0] != '\0') {
    char url[600];
    snprintf(url, sizeof(url), "%s/ocsp/%s", r->api->cfg->edge_url, tenant);
    vigil_sgn_put_text(&w, VIGIL_SGN_T_OCSP_URL, url);
    snprintf(url, sizeof(url), "%s/crl/%s/%s", r->api->cfg->edge_url, tenant,
             issuer_id);
    vigil_sgn_put_text(&w, VIGIL_SGN_T_CRL_URL, url);
  }
  int sst = api_sgn_run(r->api, &sc, &w, err, sizeof(err));
  if (sst != VIGIL_SGN_OK) {
    api_sgn_answer_error(r, sst, err, csr != NULL ? "csr_pem" : "generate");
    goto done;
  }
  struct vigil_sgn_field cert;
  struct vigil_sgn_field serial;
  struct vigil_sgn_field pk;
  struct cert_new n;
  memset(&n, 0, sizeof(n));
  if (!vigil_sgn_find(&sc.reply, &cert, VIGIL_SGN_T_CERT) ||
      !vigil_sgn_find(&sc.reply, &serial, VIGIL_SGN_T_SERIAL) ||
      !vigil_sgn_get_i64(&sc.reply, &n.not_before, VIGIL_SGN_T_NOT_BEFORE) ||
      !vigil_sgn_get_i64(&sc.reply, &n.not_after, VIGIL_SGN_T_NOT_AFTER) ||
      !cert_info_get(&ci, cert.value, cert.len)) {
    api_error(r, 502, "signer_error", "incomplete reply from the signer");
    goto done;
  }
  if (vigil_sgn_find(&sc.reply, &pk, VIGIL_SGN_T_PRIVATE_KEY)) {
    key_pem = malloc(pk.len + 1);
    if (key_pem == NULL) {
      api_error(r, 500, "internal", "out of memory");
      goto done;
    }
    memcpy(key_pem, pk.value, pk.len);
    key_pem[pk.len] = '\0';
  }
  sans = json_dumps(ci.sans, JSON_COMPACT);
  n.r = r;
  n.tenant_id = tenant_id;
  n.issuer_uuid = issuer_uuid;
  n.issuer_id = issuer_id;
  n.name = name;
  n.serial = serial.value;
  n.serial_len = serial.len;
  n.subject_dn = ci.subject_dn;
  n.sans_json = sans != NULL ? sans : "[]";
  n.spki = ci.spki.data;
  n.spki_len = ci.spki.size;
  n.cert = cert.value;
  n.cert_len = cert.len;
  st = ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, cert_txn, &n);
  if (st != CTL_DB_OK) {
    char hex[2 * VIGIL_SGN_MAX_SERIAL + 2] = "";
    (void)vigil_serial_hex(hex, serial.value, serial.len);
    VLOG_ERROR(r->api->log,
               "certificate serial %s of issuer %s was signed but not "
               "recorded: %s",
               hex, issuer_id, ctl_db_last_error(r->db)->message);
    api_db_error(r, st);
    goto done;
  }
  /* The good response and status record (DESIGN.md section 2). A failure
   * here is logged: the certificate is committed; the edge answers
   * tryLater for it until a later pre-sign run covers it. */
  int published =
      publish_status(r->api, err, sizeof(err), issuer_id, ikh, serial.value,
                     serial.len, n.not_after, 0, 0, NULL);
  if (!published) {
    VLOG_WARN(r->api->log, "certificate %s: good response not published: %s",
              n.id, err);
  }
  json_t *out = NULL;
  if (cert_load(r, &out, n.id, 1) == 1) {
    json_object_set_new(out, "ocsp_published", json_boolean(published));
    if (key_pem != NULL) {
      json_object_set_new(out, "private_key_pem", json_string(key_pem));
    }
    api_json(r, 201, out);
  }

done:
  if (key_pem != NULL) {
    memset(key_pem, 0, strlen(key_pem));
    free(key_pem);
  }
  free(sans);
  cert_info_cleanup(&ci);
  api_sgn_cleanup(&sc);
  json_decref(o);
}

/* ==========================================================================
 * POST /certificates/{id}/revoke
 * ========================================================================== */

enum ctl_db_status api_pki_revoke_record(
    struct ctl_db *db, int *out_found, int *out_already, int64_t *out_audit_id,
    const char *cert_id, const char *reason, const char *principal,
    const char *tenant_scope) {
  *out_found = 0;
  *out_already = 0;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, cert_id);
  ctl_db_param_text(&p, tenant_scope);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "SELECT status, tenant, name FROM certificates WHERE id = $1::uuid AND "
      "($2::uuid IS NULL OR tenant = $2::uuid) FOR UPDATE",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    return CTL_DB_ABORTED;
  }
  *out_found = 1;
  if (strcmp(PQgetvalue(res, 0, 0), "active") != 0) {
    *out_already = 1;
    PQclear(res);
    return CTL_DB_ABORTED;
  }
  char tenant[37];
  snprintf(tenant, sizeof(tenant), "%s", PQgetvalue(res, 0, 1));
  json_t *d =
      json_pack("{s:s,s:s}", "reason", reason, "name", PQgetvalue(res, 0, 2));
  PQclear(res);
  char *details = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
  json_decref(d);
  if (details == NULL) {
    return CTL_DB_ERROR;
  }
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, cert_id);
  ctl_db_param_text(&p, reason);
  ctl_db_param_text(&p, principal);
  /* The schema's triggers set the certificate's status and enqueue the
   * publication in this same transaction. */
  st = ctl_db_exec(db, NULL,
                   "INSERT INTO revocations (certificate, reason, principal) "
                   "VALUES ($1::uuid, $2, $3::uuid)",
                   &p);
  if (st == CTL_DB_OK) {
    char subject[64];
    snprintf(subject, sizeof(subject), "certificate:%s", cert_id);
    struct ctl_audit_event ev = {
      .type = "certificate.revoked",
      .principal = principal,
      .tenant = tenant,
      .subject = subject,
      .details_json = details,
    };
    st = ctl_audit_append(db, out_audit_id, NULL, &ev);
  }
  free(details);
  return st;
}

struct revoke_txn {
  struct api_req *r;
  const char *id;
  const char *reason;
  int found;   /* the certificate is visible to the caller */
  int already; /* it was revoked before */
};

static enum ctl_db_status revoke_txn(struct ctl_db *db, void *arg) {
  struct revoke_txn *t = arg;
  return api_pki_revoke_record(
      db, &t->found, &t->already, NULL, t->id, t->reason, t->r->who.id,
      t->r->who.tenant_id[0] ? t->r->who.tenant_id : NULL);
}

static void publisher_kick(struct ctl_api *api) {
  pthread_mutex_lock(&api->mu);
  api->kicks++;
  pthread_cond_signal(&api->cv);
  pthread_mutex_unlock(&api->mu);
}

int api_pki_publish_certificate(struct ctl_api *api, struct ctl_db *db,
                                const char *cert_id) {
  int published = publish_rows(api, db, cert_id, 1) > 0;
  if (!published) {
    publisher_kick(api);
  }
  return published;
}

void api_certificates_revoke(struct api_req *r, const char *id) {
  if (!api_need(r, CTL_ROLE_ISSUER)) {
    return;
  }
  if (r->who.bootstrap) {
    api_error(r, 403, "forbidden", "the bootstrap token cannot revoke");
    return;
  }
  const char *wait = api_query(r, "wait");
  if (wait != NULL && strcmp(wait, "published") != 0) {
    api_error(r, 400, "bad_request",
              "query parameter \"wait\": only \"published\" is known");
    return;
  }
  json_t *o = api_body_object(r);
  if (o == NULL) {
    return;
  }
  const char *reason = NULL;
  if (!api_get_string(r, &reason, o, "reason", 1, 1, 64)) {
    goto done;
  }
  if (reason_code(reason) < 0) {
    api_error(r, 422, "invalid_field",
              "field \"reason\": %s; one of unspecified, keyCompromise, "
              "affiliationChanged, superseded, cessationOfOperation, "
              "privilegeWithdrawn",
              strcmp(reason, "certificateHold") == 0
                  ? "certificateHold is not supported (revocations are final)"
                  : "unknown reason");
    goto done;
  }
  if (!api_uuid_valid(id)) {
    api_error(r, 404, "not_found", "no such certificate");
    goto done;
  }
  if (!api_approval_gate(r, "certificate.revoke", NULL, id)) {
    goto done;
  }
  struct revoke_txn t = { .r = r, .id = id, .reason = reason };
  enum ctl_db_status st =
      ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, revoke_txn, &t);
  if (st == CTL_DB_ABORTED && !t.found) {
    api_error(r, 404, "not_found", "no certificate \"%s\"", id);
    goto done;
  }
  if (st == CTL_DB_ABORTED && t.already) {
    api_error(r, 409, "conflict", "certificate %s is already revoked", id);
    goto done;
  }
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    goto done;
  }
  /* Committed. Publish now (the publisher thread retries what fails). */
  int published = publish_rows(r->api, r->db, id, 1) > 0;
  if (!published && wait != NULL) {
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
      struct timespec now;
      struct timespec nap = { 0, 100 * 1000000L };
      nanosleep(&nap, NULL);
      published = publish_rows(r->api, r->db, id, 1) > 0;
      clock_gettime(CLOCK_MONOTONIC, &now);
      if (published || now.tv_sec - start.tv_sec >= 5) {
        break;
      }
    }
  }
  if (!published) {
    publisher_kick(r->api);
  }
  json_t *out = NULL;
  if (cert_load(r, &out, id, 0) == 1) {
    json_object_set_new(out, "revocation_queue_status",
                        json_string(published ? "published" : "pending"));
    api_json(r, !published && wait != NULL ? 504 : 200, out);
  }

done:
  json_decref(o);
}
