/* ctl_api.c: the REST API server: TLS listener, request lifecycle,
 * routing, errors, authentication, idempotency and the simple endpoints
 * (health, tokens, tenants, audit). docs/api.md is the contract. */
#include "ctl_api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <microhttpd.h>

#include "ctl_access.h"
#include "ctl_api_internal.h"
#include "ctl_audit.h"
#include "ctl_metrics.h"
#include "ctl_tls.h"
#include "vigil/alloc.h"
#include "vigil/keyspace.h"

/* ==========================================================================
 * Responses and small helpers
 * ========================================================================== */

static void set_resp(struct api_req *r, unsigned status, char *text) {
  free(r->resp);
  r->resp = text;
  r->status = status;
}

void api_error(struct api_req *r, unsigned status, const char *code,
               const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
  char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  set_resp(r, status, text);
}

void api_json(struct api_req *r, unsigned status, json_t *obj) {
  char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
  json_decref(obj);
  if (text == NULL) {
    api_error(r, 500, "internal", "out of memory");
    return;
  }
  set_resp(r, status, text);
}

void api_db_error(struct api_req *r, enum ctl_db_status st) {
  const struct ctl_db_error *e =
      r->db != NULL ? ctl_db_last_error(r->db) : NULL;
  const char *msg = e != NULL ? e->message : "database error";
  switch (st) {
    case CTL_DB_UNAVAILABLE:
    case CTL_DB_RETRY:
      api_error(r, 503, "unavailable", "database unavailable: %s", msg);
      return;
    case CTL_DB_CONFLICT:
      api_error(r, 409, "conflict", "already exists (%s)",
                e != NULL && e->constraint[0] ? e->constraint : "unique");
      return;
    case CTL_DB_INVALID:
      api_error(r, 422, "invalid_field", "refused by the database: %s", msg);
      return;
    case CTL_DB_REFUSED:
      api_error(r, 403, "forbidden", "refused by the database: %s", msg);
      return;
    default:
      VLOG_ERROR(r->api->log, "%s %s: database: %s", r->method, r->path, msg);
      api_error(r, 500, "internal", "internal error");
      return;
  }
}

int api_need(struct api_req *r, unsigned roles) {
  if ((r->who.roles & roles) != 0) {
    return 1;
  }
  api_error(r, 403, "forbidden", "principal \"%s\" lacks the role this needs",
            r->who.name);
  return 0;
}

json_t *api_body_object(struct api_req *r) {
  json_error_t je;
  if (r->body == NULL || r->body_len == 0) {
    api_error(r, 400, "malformed_json", "request body is empty");
    return NULL;
  }
  json_t *o = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
  if (o == NULL) {
    api_error(r, 400, "malformed_json",
              "malformed JSON at line %d column %d: %s", je.line, je.column,
              je.text);
    return NULL;
  }
  if (!json_is_object(o)) {
    json_decref(o);
    api_error(r, 400, "malformed_json", "request body must be a JSON object");
    return NULL;
  }
  return o;
}

int api_get_string(struct api_req *r, const char **out, json_t *obj,
                   const char *name, int required, size_t min_len,
                   size_t max_len) {
  json_t *v = json_object_get(obj, name);
  *out = NULL;
  if (v == NULL || json_is_null(v)) {
    if (required) {
      api_error(r, 422, "invalid_field", "field \"%s\": required", name);
      return 0;
    }
    return 1;
  }
  if (!json_is_string(v)) {
    api_error(r, 422, "invalid_field", "field \"%s\": must be a string", name);
    return 0;
  }
  size_t len = json_string_length(v);
  const char *s = json_string_value(v);
  if (len < min_len || len > max_len || strlen(s) != len) {
    api_error(r, 422, "invalid_field",
              "field \"%s\": must be %zu..%zu bytes without NUL", name, min_len,
              max_len);
    return 0;
  }
  *out = s;
  return 1;
}

int api_get_int(struct api_req *r, int64_t *out, json_t *obj, const char *name,
                int64_t min, int64_t max) {
  json_t *v = json_object_get(obj, name);
  if (v == NULL || json_is_null(v)) {
    return 1;
  }
  if (!json_is_integer(v) || json_integer_value(v) < min ||
      json_integer_value(v) > max) {
    api_error(r, 422, "invalid_field",
              "field \"%s\": must be an integer in %lld..%lld", name,
              (long long)min, (long long)max);
    return 0;
  }
  *out = json_integer_value(v);
  return 1;
}

const char *api_query(struct api_req *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

int api_fetch_one(struct api_req *r, PGresult **out_res, const char *sql,
                  const char *id) {
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, id);
  ctl_db_param_text(&p, api_scope(r));
  PGresult *res = NULL;
  *out_res = NULL;
  enum ctl_db_status st = ctl_db_exec(r->db, &res, sql, &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return -1;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    return 0;
  }
  *out_res = res;
  return 1;
}

int api_uuid_valid(const char *s) {
  static const char *pat = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
  if (strlen(s) != 36) {
    return 0;
  }
  for (size_t i = 0; i < 36; i++) {
    char c = s[i];
    if (pat[i] == '-') {
      if (c != '-') {
        return 0;
      }
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                 (c >= 'A' && c <= 'F'))) {
      return 0;
    }
  }
  return 1;
}

int api_resolve_tenant(struct api_req *r, char *out_id, const char *name) {
  if (!vigil_ks_name_valid(name, strlen(name))) {
    /* Not echoed: it may not even be UTF-8. */
    api_error(r, 404, "not_found", "no such tenant");
    return 0;
  }
  if (r->who.tenant_id[0] != '\0' && strcmp(name, r->who.tenant_name) != 0) {
    api_error(r, 403, "forbidden", "this token acts only in tenant \"%s\"",
              r->who.tenant_name);
    return 0;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, name);
  PGresult *res = NULL;
  enum ctl_db_status st =
      ctl_db_exec(r->db, &res, "SELECT id FROM tenants WHERE name = $1", &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return 0;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    api_error(r, 404, "not_found", "no tenant \"%s\"", name);
    return 0;
  }
  snprintf(out_id, 37, "%s", PQgetvalue(res, 0, 0));
  PQclear(res);
  return 1;
}

enum ctl_db_status api_audit(struct ctl_db *db, int64_t *out_id,
                             const char *type, const char *principal,
                             const char *tenant, const char *subject,
                             const json_t *details) {
  char *text = details != NULL ? json_dumps(details, JSON_COMPACT) : NULL;
  if (details != NULL && text == NULL) {
    return ctl_db_fail(db, CTL_DB_ERROR, "out of memory");
  }
  struct ctl_audit_event ev = {
    .type = type,
    .principal = principal,
    .tenant = tenant,
    .subject = subject,
    .details_json = text,
  };
  enum ctl_db_status st = ctl_audit_append(db, out_id, NULL, &ev);
  free(text); /* jansson's allocation */
  return st;
}

enum ctl_db_status api_audit_take(struct ctl_db *db, int64_t *out_id,
                                  const char *type, const char *principal,
                                  const char *tenant, const char *subject,
                                  json_t *details) {
  if (details == NULL) {
    return ctl_db_fail(db, CTL_DB_ERROR, "out of memory");
  }
  enum ctl_db_status st =
      api_audit(db, out_id, type, principal, tenant, subject, details);
  json_decref(details);
  return st;
}

/* ==========================================================================
 * Simple endpoints
 * ========================================================================== */

static void h_health(struct api_req *r, const char *arg) {
  (void)arg;
  int db_ok = 0;
  if (r->db != NULL) {
    PGresult *res = NULL;
    if (ctl_db_exec(r->db, &res, "SELECT 1", NULL) == CTL_DB_OK) {
      db_ok = 1;
      PQclear(res);
    }
  }
  const char *signer = r->api->cfg->signer_socket[0] == '\0'
                           ? "not_configured"
                           : (api_signer_ping(r->api) ? "ok" : "unavailable");
  const char *redis = r->api->redis_host[0] == '\0'
                          ? "not_configured"
                          : (api_redis_ping(r->api) ? "ok" : "unavailable");
  int all = db_ok && strcmp(signer, "unavailable") != 0 &&
            strcmp(redis, "unavailable") != 0;
  json_t *o =
      json_pack("{s:s,s:s,s:s,s:s}", "status", all ? "ok" : "degraded", "db",
                db_ok ? "ok" : "unavailable", "signer", signer, "redis", redis);
  if (o != NULL && db_ok) {
    api_health_warnings(r, o);
  }
  api_json(r, db_ok ? 200 : 503, o);
}

struct token_txn {
  struct api_req *r;
  const char *name;
  const char *roles_pg; /* "{admin,issuer}" */
  const char *roles_json;
  const char *tenant_id; /* NULL: unscoped */
  const char *tenant_name;
  const char *token;
  int64_t expires_at; /* epoch seconds; 0: never */
  char id[37];
  char expires_at_text[32]; /* RFC 3339, "" never */
};

static enum ctl_db_status token_txn(struct ctl_db *db, void *arg) {
  struct token_txn *t = arg;
  enum ctl_db_status st = ctl_auth_create_token_principal(
      db, t->id, t->expires_at_text, t->name, t->roles_pg, t->tenant_id,
      t->r->who.id, t->token, t->expires_at);
  if (st != CTL_DB_OK) {
    return st;
  }
  char subject[64];
  snprintf(subject, sizeof(subject), "principal:%s", t->id);
  json_t *d = json_pack("{s:s,s:o,s:s?,s:s?}", "name", t->name, "roles",
                        json_loads(t->roles_json, 0, NULL), "tenant",
                        t->tenant_name, "expires_at",
                        t->expires_at_text[0] ? t->expires_at_text : NULL);
  st = api_audit_take(db, NULL, "token.created", t->r->who.id, t->tenant_id,
                      subject, d);
  return st;
}

static void h_tokens_create(struct api_req *r, const char *arg) {
  (void)arg;
  if (!api_need(r, CTL_ROLE_ADMIN)) {
    return;
  }
  json_t *o = api_body_object(r);
  if (o == NULL) {
    return;
  }
  const char *name = NULL;
  const char *tenant = NULL;
  char roles_pg[128] = "{";
  char token[CTL_AUTH_TOKEN_LEN + 1];
  char tenant_id[37] = "";
  json_t *roles_json = json_array();
  if (!api_get_string(r, &name, o, "name", 1, 1, 128) ||
      !api_get_string(r, &tenant, o, "tenant", 0, 1, 63)) {
    goto done;
  }
  if (!ctl_auth_principal_name_valid(name)) {
    api_error(r, 422, "invalid_field",
              "field \"name\": must match [A-Za-z0-9][A-Za-z0-9._@:-]{0,127}");
    goto done;
  }
  /* Expiry: expires_in seconds or expires_at (RFC 3339 UTC), not both. */
  int64_t expires_in = 0;
  int64_t expires_at = 0;
  const char *expires_at_s = NULL;
  if (!api_get_int(r, &expires_in, o, "expires_in", 1, CTL_AUTH_MAX_LIFETIME) ||
      !api_get_string(r, &expires_at_s, o, "expires_at", 0, 1, 32)) {
    goto done;
  }
  int64_t now = (int64_t)time(NULL);
  if (expires_in > 0 && expires_at_s != NULL) {
    api_error(r, 422, "invalid_field",
              "field \"expires_at\": give expires_in or expires_at, not both");
    goto done;
  }
  if (expires_at_s != NULL) {
    if (!ctl_auth_parse_time(&expires_at, expires_at_s)) {
      api_error(r, 422, "invalid_field",
                "field \"expires_at\": must be UTC RFC 3339 "
                "YYYY-MM-DDTHH:MM:SSZ");
      goto done;
    }
    if (expires_at <= now || expires_at - now > CTL_AUTH_MAX_LIFETIME) {
      api_error(r, 422, "invalid_field",
                "field \"expires_at\": must be in the future and at most 10 "
                "years ahead");
      goto done;
    }
  } else if (expires_in > 0) {
    expires_at = now + expires_in;
  }
  json_t *roles = json_object_get(o, "roles");
  if (roles == NULL || !json_is_array(roles) || json_array_size(roles) == 0 ||
      json_array_size(roles) > 5) {
    api_error(r, 422, "invalid_field",
              "field \"roles\": must be a non-empty array of role names");
    goto done;
  }
  unsigned bits = 0;
  for (size_t i = 0; i < json_array_size(roles); i++) {
    json_t *v = json_array_get(roles, i);
    unsigned bit =
        json_is_string(v) ? ctl_auth_role_parse(json_string_value(v)) : 0;
    if (bit == 0) {
      api_error(r, 422, "invalid_field",
                "field \"roles\": element %zu is not one of admin, issuer, "
                "approver, operator, auditor",
                i);
      goto done;
    }
    if ((bits & bit) == 0) {
      size_t n = strlen(roles_pg);
      snprintf(roles_pg + n, sizeof(roles_pg) - n, "%s%s", n > 1 ? "," : "",
               json_string_value(v));
      json_array_append_new(roles_json, json_string(json_string_value(v)));
    }
    bits |= bit;
  }
  size_t n = strlen(roles_pg);
  snprintf(roles_pg + n, sizeof(roles_pg) - n, "}");
  if (tenant == NULL && r->who.tenant_id[0] != '\0') {
    tenant = r->who.tenant_name; /* a scoped admin makes scoped tokens */
  }
  if (tenant != NULL && !api_resolve_tenant(r, tenant_id, tenant)) {
    if (r->status == 404) {
      api_error(r, 422, "invalid_field", "field \"tenant\": no tenant \"%s\"",
                tenant);
    }
    goto done;
  }
  if (!ctl_auth_token_new(token)) {
    api_error(r, 500, "internal", "no randomness");
    goto done;
  }
  char *rj = json_dumps(roles_json, JSON_COMPACT);
  struct token_txn t = {
    .r = r,
    .name = name,
    .roles_pg = roles_pg,
    .roles_json = rj,
    .tenant_id = tenant != NULL ? tenant_id : NULL,
    .tenant_name = tenant,
    .token = token,
    .expires_at = expires_at,
  };
  enum ctl_db_status st =
      rj != NULL ? ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, token_txn, &t)
                 : CTL_DB_ERROR;
  free(rj);
  if (st != CTL_DB_OK) {
    if (st == CTL_DB_CONFLICT) {
      api_error(r, 409, "conflict", "a principal named \"%s\" exists", name);
    } else {
      api_db_error(r, st);
    }
    goto done;
  }
  api_json(
      r, 201,
      json_pack("{s:s,s:s,s:s,s:O,s:s?,s:s?}", "id", t.id, "token", token,
                "name", name, "roles", roles_json, "tenant", tenant,
                "expires_at", t.expires_at_text[0] ? t.expires_at_text : NULL));

done:
  memset(token, 0, sizeof(token));
  json_decref(roles_json);
  json_decref(o);
}

struct token_revoke_txn {
  struct api_req *r;
  const char *id;
  struct ctl_auth_revoked out;
};

static enum ctl_db_status token_revoke_txn(struct ctl_db *db, void *arg) {
  struct token_revoke_txn *t = arg;
  const char *scope = api_scope(t->r);
  enum ctl_db_status st =
      ctl_auth_revoke_tokens(db, &t->out, t->id, scope, t->r->who.id);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (!t->out.found || t->out.num_revoked == 0) {
    return CTL_DB_ABORTED; /* nothing changed: nothing to audit */
  }
  char subject[64];
  snprintf(subject, sizeof(subject), "principal:%s", t->id);
  json_t *d = json_pack("{s:s,s:I}", "name", t->out.name, "tokens",
                        (json_int_t)t->out.num_revoked);
  st =
      api_audit_take(db, NULL, "token.revoked", t->r->who.id,
                     t->out.tenant_id[0] ? t->out.tenant_id : NULL, subject, d);
  return st;
}

/* POST /tokens/{id}/revoke: revokes the tokens of principal {id} (the id
 * POST /tokens answered); admin; audited; the next use is 401. */
static void h_tokens_revoke(struct api_req *r, const char *arg) {
  if (!api_need(r, CTL_ROLE_ADMIN)) {
    return;
  }
  if (!api_uuid_valid(arg)) {
    api_error(r, 404, "not_found", "no such token");
    return;
  }
  struct token_revoke_txn t = { .r = r, .id = arg };
  enum ctl_db_status st =
      ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, token_revoke_txn, &t);
  if (st == CTL_DB_ABORTED && !t.out.found) {
    api_error(r, 404, "not_found", "no token \"%s\"", arg);
    return;
  }
  if (st == CTL_DB_ABORTED) {
    api_error(r, 409, "conflict", "the tokens of \"%s\" are already revoked",
              t.out.name);
    return;
  }
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return;
  }
  api_json(r, 200,
           json_pack("{s:s,s:s,s:s,s:I}", "id", arg, "name", t.out.name,
                     "revoked_at", t.out.revoked_at, "tokens_revoked",
                     (json_int_t)t.out.num_revoked));
}

struct tenant_txn {
  struct api_req *r;
  const char *name;
  char id[37];
  char created_at[32];
};

static enum ctl_db_status tenant_txn(struct ctl_db *db, void *arg) {
  struct tenant_txn *t = arg;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, t->name);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "INSERT INTO tenants (name) VALUES ($1) RETURNING id, " API_TS(
          "created_at"),
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  snprintf(t->id, sizeof(t->id), "%s", PQgetvalue(res, 0, 0));
  snprintf(t->created_at, sizeof(t->created_at), "%s", PQgetvalue(res, 0, 1));
  PQclear(res);
  char subject[64];
  char details[128];
  snprintf(subject, sizeof(subject), "tenant:%s", t->id);
  snprintf(details, sizeof(details), "{\"name\":\"%s\"}", t->name);
  struct ctl_audit_event ev = {
    .type = "tenant.created",
    .principal = t->r->who.id,
    .tenant = t->id,
    .subject = subject,
    .details_json = details,
  };
  return ctl_audit_append(db, NULL, NULL, &ev);
}

static void h_tenants_create(struct api_req *r, const char *arg) {
  (void)arg;
  if (!api_need(r, CTL_ROLE_ADMIN)) {
    return;
  }
  if (r->who.tenant_id[0] != '\0') {
    api_error(r, 403, "forbidden", "a tenant-scoped token cannot make tenants");
    return;
  }
  json_t *o = api_body_object(r);
  if (o == NULL) {
    return;
  }
  const char *name = NULL;
  if (!api_get_string(r, &name, o, "name", 1, 1, 63)) {
    goto done;
  }
  if (!vigil_ks_name_valid(name, strlen(name))) {
    api_error(r, 422, "invalid_field",
              "field \"name\": must match [a-z0-9][a-z0-9-]{0,62}");
    goto done;
  }
  /* |name| is validated above, so it can go into the details JSON as is. */
  struct tenant_txn t = { .r = r, .name = name };
  enum ctl_db_status st =
      ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, tenant_txn, &t);
  if (st == CTL_DB_CONFLICT) {
    api_error(r, 409, "conflict", "tenant \"%s\" exists", name);
  } else if (st != CTL_DB_OK) {
    api_db_error(r, st);
  } else {
    api_json(r, 201,
             json_pack("{s:s,s:s,s:s}", "id", t.id, "name", name, "created_at",
                       t.created_at));
  }

done:
  json_decref(o);
}

int api_query_int(struct api_req *r, int64_t *out, const char *name,
                  int64_t min, int64_t max) {
  const char *s = api_query(r, name);
  if (s == NULL) {
    return 1;
  }
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
    api_error(r, 400, "bad_request",
              "query parameter \"%s\": must be an integer in %lld..%lld", name,
              (long long)min, (long long)max);
    return 0;
  }
  *out = v;
  return 1;
}

static void h_audit_list(struct api_req *r, const char *arg) {
  (void)arg;
  if (!api_need(r, CTL_ROLE_ADMIN | CTL_ROLE_AUDITOR)) {
    return;
  }
  int64_t limit = 100;
  int64_t after = 0;
  if (!api_query_int(r, &limit, "limit", 1, 1000) ||
      !api_query_int(r, &after, "after", 0, INT64_MAX)) {
    return;
  }
  const char *type = api_query(r, "type");
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, type);
  ctl_db_param_int64(&p, after);
  ctl_db_param_int64(&p, limit);
  ctl_db_param_text(&p, r->who.tenant_id[0] ? r->who.tenant_id : NULL);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      r->db, &res,
      "SELECT id, " API_TS("at") ", type, principal, tenant, subject, "
      "details::text FROM audit_events "
      "WHERE ($1::text IS NULL OR type = $1) AND id > $2::bigint "
      "AND ($4::uuid IS NULL OR tenant = $4::uuid) "
      "ORDER BY id LIMIT $3::bigint",
      &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return;
  }
  json_t *items = json_array();
  int64_t last = 0;
  for (int i = 0; i < PQntuples(res); i++) {
    int64_t id = 0;
    if (!ctl_db_value_int64(&id, res, i, 0)) {
      continue;
    }
    last = id;
    json_t *details = json_loads(PQgetvalue(res, i, 6), 0, NULL);
    json_array_append_new(
        items, json_pack("{s:I,s:s,s:s,s:s?,s:s?,s:s,s:o}", "id",
                         (json_int_t)id, "at", PQgetvalue(res, i, 1), "type",
                         PQgetvalue(res, i, 2), "principal",
                         PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3),
                         "tenant",
                         PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4),
                         "subject", PQgetvalue(res, i, 5), "details",
                         details != NULL ? details : json_object()));
  }
  int full = PQntuples(res) == (int)limit;
  PQclear(res);
  api_json(r, 200,
           json_pack("{s:o,s:o}", "items", items, "next",
                     full ? json_integer(last) : json_null()));
}

/* ==========================================================================
 * Authentication, idempotency, routing
 * ========================================================================== */

static int authenticate(struct api_req *r) {
  const char *h =
      MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
  if (h == NULL || strncmp(h, "Bearer ", 7) != 0) {
    api_error(r, 401, "unauthorized", "missing \"Authorization: Bearer\"");
    return 0;
  }
  enum ctl_db_status st = ctl_auth_lookup(r->db, &r->who, h + 7);
  if (st == CTL_DB_ABORTED) {
    enum ctl_auth_refusal why = CTL_AUTH_UNKNOWN;
    if (ctl_auth_refusal_of(r->db, &why, h + 7) != CTL_DB_OK) {
      why = CTL_AUTH_UNKNOWN;
    }
    static const char *const msg[] = {
      [CTL_AUTH_UNKNOWN] = "unknown token",
      [CTL_AUTH_EXPIRED] = "token expired",
      [CTL_AUTH_REVOKED] = "token revoked",
      [CTL_AUTH_DISABLED] = "the token's principal is disabled",
    };
    api_error(r, 401, "unauthorized", "%s", msg[why]);
    return 0;
  }
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return 0;
  }
  r->authed = 1;
  return 1;
}

/* Idempotency-Key (docs/api.md): returns 1 to run the handler (then
 * idem_finish stores the outcome), 0 when the response is already set (a
 * replay, a conflict, an error). |*out_active| says whether a key row was
 * claimed. */
/* The advisory lock that marks a claimed key as being worked on: held by
 * the claiming request's database session, so it vanishes with a process
 * that dies before answering. */
#define IDEM_LOCK_KEY "hashtextextended($1::text || ' ' || $2, 0)"

/* idem_unlock releases the key's advisory lock (a failure only delays
 * recovery after a crash: the lock goes with the session). */
static void idem_unlock(struct api_req *r, const struct ctl_db_params *p) {
  struct ctl_db_params kp = *p;
  kp.num = 2;
  if (ctl_db_exec(r->db, NULL, "SELECT pg_advisory_unlock(" IDEM_LOCK_KEY ")",
                  &kp) != CTL_DB_OK) {
    VLOG_WARN(r->api->log, "idempotency lock not released: %s",
              ctl_db_last_error(r->db)->message);
  }
}

/* idem_lock tries to take the key's advisory lock (never waits). Returns
 * 1 if this session holds it now. */
static int idem_lock(struct api_req *r, const struct ctl_db_params *p) {
  struct ctl_db_params kp = *p;
  kp.num = 2;
  PGresult *res = NULL;
  if (ctl_db_exec(r->db, &res, "SELECT pg_try_advisory_lock(" IDEM_LOCK_KEY ")",
                  &kp) != CTL_DB_OK) {
    return 0;
  }
  int held = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
  PQclear(res);
  return held;
}

static int idem_begin(struct api_req *r, int *out_active,
                      unsigned route_flags) {
  *out_active = 0;
  const char *key =
      MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Idempotency-Key");
  if (key == NULL) {
    return 1;
  }
  size_t n = strlen(key);
  int ok = n >= 1 && n <= 255;
  for (size_t i = 0; ok && i < n; i++) {
    ok = key[i] >= '!' && key[i] <= '~';
  }
  if (!ok) {
    api_error(r, 400, "bad_request",
              "Idempotency-Key must be 1..255 printable ASCII characters");
    return 0;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, r->who.id);
  ctl_db_param_text(&p, key);
  PGresult *res = NULL;
  /* An expired row gives way; then claim the key, or read the first
   * answer. */
  enum ctl_db_status st =
      ctl_db_exec(r->db, NULL,
                  "DELETE FROM idempotency_keys WHERE principal = $1::uuid "
                  "AND key = $2 AND expires_at < now()",
                  &p);
  ctl_db_param_text(&p, r->path);
  ctl_db_param_bytes(&p, (const uint8_t *)(r->body ? r->body : ""),
                     r->body_len);
  if (st == CTL_DB_OK) {
    st = ctl_db_exec(
        r->db, &res,
        "INSERT INTO idempotency_keys (principal, key, method, path, "
        "request_hash) VALUES ($1::uuid, $2, 'POST', $3, "
        "sha256(convert_to($3, 'UTF8') || '\\x00'::bytea || $4::bytea)) "
        "ON CONFLICT (principal, key) DO NOTHING RETURNING 1",
        &p);
  }
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return 0;
  }
  int claimed = PQntuples(res) == 1;
  PQclear(res);
  res = NULL;
  if (claimed) {
    (void)idem_lock(r, &p);
    *out_active = 1;
    return 1;
  }
  st = ctl_db_exec(
      r->db, &res,
      "SELECT request_hash = sha256(convert_to($3, 'UTF8') || '\\x00'::bytea "
      "|| $4::bytea), response_status, convert_from(response_body, 'UTF8') "
      "FROM idempotency_keys WHERE principal = $1::uuid AND key = $2",
      &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return 0;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    api_error(r, 409, "conflict", "Idempotency-Key is being reused; retry");
    return 0;
  }
  if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
    PQclear(res);
    api_error(r, 409, "conflict",
              "Idempotency-Key was used for a different request");
    return 0;
  }
  if (PQgetisnull(res, 0, 1)) {
    PQclear(res);
    if (!idem_lock(r, &p)) {
      api_error(r, 409, "conflict",
                "a request with this Idempotency-Key is still in progress");
      return 0;
    }
    /* Nobody holds the key's lock: the process that claimed it died before
     * answering. */
    if (route_flags & API_ROUTE_RERUN) {
      *out_active = 1; /* run again; the handler finds what was done */
      return 1;
    }
    idem_unlock(r, &p);
    api_error(r, 409, "interrupted",
              "the first request with this Idempotency-Key was interrupted "
              "(the server restarted before answering); its outcome is "
              "unknown: check the resource before retrying with a new key");
    return 0;
  }
  int64_t status = 0;
  if (!ctl_db_value_int64(&status, res, 0, 1)) {
    status = 500;
  }
  size_t len = (size_t)PQgetlength(res, 0, 2);
  char *text = malloc(len + 1);
  if (text == NULL) {
    PQclear(res);
    api_error(r, 500, "internal", "out of memory");
    return 0;
  }
  memcpy(text, PQgetvalue(res, 0, 2), len);
  text[len] = '\0';
  PQclear(res);
  set_resp(r, (unsigned)status, text);
  r->replayed = 1;
  return 0;
}

/* Members of an answer that hold a secret shown only once. */
static const char *const kSecretMembers[] = {
  "token", "secret", "password", "private_key_pem", "credential",
};

/* redact replaces every secret member of |v| (at any depth) with a note. */
static void redact(json_t *v, int depth) {
  if (depth > 8) {
    return;
  }
  if (json_is_array(v)) {
    size_t i;
    json_t *it;
    json_array_foreach(v, i, it) {
      redact(it, depth + 1);
    }
    return;
  }
  if (!json_is_object(v)) {
    return;
  }
  for (size_t i = 0; i < sizeof(kSecretMembers) / sizeof(kSecretMembers[0]);
       i++) {
    if (json_object_get(v, kSecretMembers[i]) != NULL) {
      json_object_set_new(
          v, kSecretMembers[i],
          json_string("(shown once; not kept for idempotent replays)"));
    }
  }
  const char *k;
  json_t *m;
  json_object_foreach(v, k, m) {
    redact(m, depth + 1);
  }
}

/* redacted_copy returns |text| with secret members redacted (malloc'ed;
 * free()), or NULL if it is not JSON or memory ran out. */
static char *redacted_copy(const char *text) {
  json_t *doc = json_loads(text, 0, NULL);
  if (doc == NULL) {
    return NULL;
  }
  redact(doc, 0);
  char *out = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  return out;
}

static void idem_finish(struct api_req *r) {
  const char *key =
      MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Idempotency-Key");
  if (key == NULL) {
    return;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, r->who.id);
  ctl_db_param_text(&p, key);
  enum ctl_db_status st;
  if (r->status >= 500 || r->resp == NULL) {
    /* Transient failures are not remembered: a retry runs again. */
    st = ctl_db_exec(r->db, NULL,
                     "DELETE FROM idempotency_keys WHERE principal = $1::uuid "
                     "AND key = $2",
                     &p);
  } else {
    /* Secrets shown once (tokens, generated keys, hook secrets, access
     * credentials) are not kept: a replay answers without them. */
    char *stored = redacted_copy(r->resp);
    const char *body = stored != NULL ? stored : "{}";
    ctl_db_param_int64(&p, r->status);
    ctl_db_param_bytes(&p, (const uint8_t *)body, strlen(body));
    st = ctl_db_exec(r->db, NULL,
                     "UPDATE idempotency_keys SET response_status = $3::int, "
                     "response_body = $4::bytea, completed_at = now() "
                     "WHERE principal = $1::uuid AND key = $2",
                     &p);
    free(stored);
  }
  if (st != CTL_DB_OK) {
    VLOG_WARN(r->api->log, "idempotency record not saved: %s",
              ctl_db_last_error(r->db)->message);
  }
  idem_unlock(r, &p);
}

/* Wrappers giving every handler the route shape. */
static void h_issuers(struct api_req *r, const char *arg) {
  api_issuers_create(r, arg);
}
static void h_certs_post(struct api_req *r, const char *arg) {
  (void)arg;
  api_certificates_create(r);
}
static void h_certs_list(struct api_req *r, const char *arg) {
  (void)arg;
  api_certificates_list(r);
}
static void h_cert_get(struct api_req *r, const char *arg) {
  api_certificates_get(r, arg);
}
static void h_cert_revoke(struct api_req *r, const char *arg) {
  api_certificates_revoke(r, arg);
}

/* The core routes; the feature files (ctl_api_<feature>.c) export theirs
 * and dispatch walks them all. */
static const struct api_route core_routes[] = {
  { "GET", "health", h_health, API_ROUTE_PUBLIC },
  { "POST", "tokens", h_tokens_create, 0 },
  { "POST", "tokens/*/revoke", h_tokens_revoke, 0 },
  { "POST", "tenants", h_tenants_create, 0 },
  { "POST", "tenants/*/issuers", h_issuers, 0 },
  { "POST", "certificates", h_certs_post, 0 },
  { "GET", "certificates", h_certs_list, 0 },
  { "GET", "certificates/*", h_cert_get, 0 },
  { "POST", "certificates/*/revoke", h_cert_revoke, API_ROUTE_RERUN },
  { "GET", "audit", h_audit_list, 0 },
};

/* match: does |path| (segments after /api/v1/) fit |pattern|? The "*"
 * segment is copied to |arg| (at most |arg_len| - 1 bytes). */
static int match(const char *pattern, const char *path, char *arg,
                 size_t arg_len) {
  arg[0] = '\0';
  while (*pattern != '\0') {
    if (*pattern == '*') {
      size_t n = strcspn(path, "/");
      if (n == 0 || n >= arg_len) {
        return 0;
      }
      memcpy(arg, path, n);
      arg[n] = '\0';
      path += n;
      pattern++;
      continue;
    }
    if (*pattern != *path) {
      return 0;
    }
    pattern++;
    path++;
  }
  return *path == '\0';
}

/* The server as libmicrohttpd's callbacks see it: the API and its
 * metrics. */
struct api_glue {
  struct ctl_api *api;
  struct ctl_metrics *metrics;
};

/* A request with what the metrics need; |r| first, so that a pointer to
 * it is a pointer to the whole. */
struct api_req_m {
  struct api_req r;
  uint64_t t0_us; /* monotonic, at the first callback */
  int route;      /* metrics route slot (CTL_METRICS_ROUTE_NONE: none) */
  int text;       /* 1: the response is the metrics text, not JSON */
};

#define API_NUM_TABLES 6
struct api_table {
  const struct api_route *rows;
  size_t n;
};

/* route_tables fills |out| with every route table, in dispatch order (the
 * metrics route slots follow the same order). */
static void route_tables(struct api_table out[API_NUM_TABLES]) {
  out[0] = (struct api_table){ core_routes,
                               sizeof(core_routes) / sizeof(core_routes[0]) };
  out[1] = (struct api_table){ api_graph_routes, api_graph_num_routes };
  out[2] = (struct api_table){ api_incident_routes, api_incident_num_routes };
  out[3] = (struct api_table){ api_approval_routes, api_approval_num_routes };
  out[4] = (struct api_table){ api_hook_routes, api_hook_num_routes };
  out[5] = (struct api_table){ api_access_routes, api_access_num_routes };
}

/* GET /metrics (docs/api.md): Prometheus text for a token with the admin,
 * operator or auditor role. */
static void h_metrics(struct api_req_m *x, struct api_glue *g) {
  struct api_req *r = &x->r;
  if (strcmp(r->method, "GET") != 0) {
    api_error(r, 405, "method_not_allowed", "%s is not allowed here",
              r->method);
    return;
  }
  r->db = ctl_db_pool_acquire(r->api->pool, 5000);
  if (r->db == NULL) {
    api_error(r, 503, "unavailable", "no database connection free");
    return;
  }
  if (!authenticate(r) ||
      !api_need(r, CTL_ROLE_ADMIN | CTL_ROLE_OPERATOR | CTL_ROLE_AUDITOR)) {
    return;
  }
  struct ctl_metrics_deps deps = { 0, -1, -1 };
  PGresult *res = NULL;
  if (ctl_db_exec(r->db, &res, "SELECT 1", NULL) == CTL_DB_OK) {
    deps.db = 1;
    PQclear(res);
  }
  if (r->api->cfg->signer_socket[0] != '\0') {
    deps.signer = api_signer_ping(r->api);
  }
  if (r->api->redis_host[0] != '\0') {
    deps.redis = api_redis_ping(r->api);
  }
  char *text = ctl_metrics_render(g->metrics, r->db, &deps,
                                  ctl_loops_counters(r->api->loops));
  if (text == NULL) {
    api_error(r, 500, "internal", "out of memory");
    return;
  }
  set_resp(r, 200, text);
  x->text = 1;
}

static void dispatch(struct api_req_m *x, struct api_glue *g) {
  struct api_req *r = &x->r;
  static const char prefix[] = "/api/v1/";
  if (strcmp(r->path, "/metrics") == 0) {
    x->route = CTL_METRICS_ROUTE_METRICS;
    h_metrics(x, g);
    return;
  }
  if (strncmp(r->path, prefix, sizeof(prefix) - 1) != 0) {
    api_error(r, 404, "not_found", "no such endpoint");
    return;
  }
  const char *rest = r->path + sizeof(prefix) - 1;
  char arg[128];
  struct api_table tables[API_NUM_TABLES];
  route_tables(tables);
  const struct api_route *found = NULL;
  int path_known = 0;
  int slot = CTL_METRICS_ROUTE_METRICS + 1;
  for (size_t t = 0; t < API_NUM_TABLES && !found; t++) {
    for (size_t i = 0; i < tables[t].n; i++) {
      if (match(tables[t].rows[i].pattern, rest, arg, sizeof(arg))) {
        path_known = 1;
        if (strcmp(tables[t].rows[i].method, r->method) == 0) {
          found = &tables[t].rows[i];
          x->route = slot + (int)i;
          break;
        }
      }
    }
    slot += (int)tables[t].n;
  }
  if (found == NULL) {
    if (path_known) {
      api_error(r, 405, "method_not_allowed", "%s is not allowed here",
                r->method);
    } else {
      api_error(r, 404, "not_found", "no such endpoint");
    }
    return;
  }
  if (r->too_large) {
    api_error(r, 413, "too_large", "request body over %lld bytes",
              (long long)r->api->cfg->api_max_body);
    return;
  }
  r->db = ctl_db_pool_acquire(r->api->pool, 5000);
  if (r->db == NULL && !(found->flags & API_ROUTE_PUBLIC)) {
    api_error(r, 503, "unavailable", "no database connection free");
    return;
  }
  if (found->flags & API_ROUTE_PUBLIC) {
    found->fn(r, arg);
    return;
  }
  if (!authenticate(r)) {
    return;
  }
  int idem = 0;
  if (strcmp(r->method, "POST") == 0 && !idem_begin(r, &idem, found->flags)) {
    return;
  }
  found->fn(r, arg);
  if (idem) {
    idem_finish(r);
  }
}

/* ==========================================================================
 * libmicrohttpd glue
 * ========================================================================== */

static enum MHD_Result send_response(struct api_req_m *x) {
  struct api_req *r = &x->r;
  if (r->resp == NULL) {
    api_error(r, 500, "internal", "no response");
  }
  if (r->resp == NULL) {
    return MHD_NO;
  }
  size_t len = strlen(r->resp);
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(len, r->resp, MHD_RESPMEM_MUST_FREE);
  if (resp == NULL) {
    return MHD_NO;
  }
  r->resp = NULL; /* owned by the response now */
  MHD_add_response_header(resp, "Content-Type",
                          x->text ? "text/plain; version=0.0.4; charset=utf-8"
                                  : "application/json");
  MHD_add_response_header(resp, "Cache-Control", "no-store");
  if (r->replayed) {
    MHD_add_response_header(resp, "Idempotent-Replayed", "true");
  }
  enum MHD_Result ret = MHD_queue_response(r->conn, r->status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static void req_free(struct api_req *r) {
  if (r == NULL) {
    return;
  }
  if (r->db != NULL) {
    ctl_db_pool_release(r->api->pool, r->db);
  }
  if (r->body != NULL) {
    memset(r->body, 0, r->body_len);
  }
  vigil_free(r->body);
  free(r->resp);
  vigil_free(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
  (void)version;
  struct api_glue *g = cls;
  struct ctl_api *api = g->api;
  struct api_req_m *x = *con_cls;
  struct api_req *r = x != NULL ? &x->r : NULL;
  size_t max = (size_t)api->cfg->api_max_body;
  if (x == NULL) {
    x = vigil_calloc(1, sizeof(*x));
    if (x == NULL) {
      return MHD_NO;
    }
    x->t0_us = ctl_metrics_now_us();
    x->route = CTL_METRICS_ROUTE_NONE;
    r = &x->r;
    r->api = api;
    r->conn = conn;
    snprintf(r->method, sizeof(r->method), "%s", method);
    if (strlen(url) >= sizeof(r->path)) {
      r->path[0] = '\0';
    } else {
      snprintf(r->path, sizeof(r->path), "%s", url);
    }
    *con_cls = x;
    /* A declared length over the limit is refused before reading. */
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    char *end = NULL;
    errno = 0;
    unsigned long long declared = cl != NULL ? strtoull(cl, &end, 10) : 0;
    if (cl != NULL && (errno != 0 || end == cl || declared > max)) {
      api_error(r, 413, "too_large", "request body over %zu bytes", max);
      return send_response(x);
    }
    return MHD_YES;
  }
  if (*upload_size > 0) {
    if (!r->too_large) {
      if (r->body_len + *upload_size > max) {
        r->too_large = 1;
      } else {
        char *nb = vigil_malloc(r->body_len + *upload_size + 1);
        if (nb == NULL) {
          return MHD_NO;
        }
        if (r->body != NULL) {
          memcpy(nb, r->body, r->body_len);
          memset(r->body, 0, r->body_len);
          vigil_free(r->body);
        }
        memcpy(nb + r->body_len, upload, *upload_size);
        r->body = nb;
        r->body_len += *upload_size;
        r->body[r->body_len] = '\0';
      }
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (r->status != 0 && r->resp == NULL) {
    return MHD_YES; /* already answered (early 413) */
  }
  if (r->path[0] == '\0') {
    api_error(r, 404, "not_found", "URL too long");
  } else {
    dispatch(x, g);
  }
  if (r->db != NULL) {
    ctl_db_pool_release(api->pool, r->db);
    r->db = NULL;
  }
  return send_response(x);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  struct api_glue *g = cls;
  struct api_req_m *x = *con_cls;
  (void)conn;
  (void)toe;
  if (x != NULL) {
    uint64_t now = ctl_metrics_now_us();
    ctl_metrics_request(g->metrics, x->route, x->r.status,
                        now > x->t0_us ? now - x->t0_us : 0);
    req_free(&x->r);
  }
  *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
  struct ctl_api *api = cls;
  char msg[512];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  size_t n = strlen(msg);
  while (n > 0 && msg[n - 1] == '\n') {
    msg[--n] = '\0';
  }
  VLOG_DEBUG(api->log, "http: %s", msg);
}

/* ==========================================================================
 * Publisher thread: drains revocation_queue (retries with backoff)
 * ========================================================================== */

static void *publisher_main(void *arg) {
  struct ctl_api *api = arg;
  unsigned backoff_ms = 200;
  pthread_mutex_lock(&api->mu);
  while (!api->stop) {
    pthread_mutex_unlock(&api->mu);
    int n = api_publish_pending(api, api->pub_db, 100);
    pthread_mutex_lock(&api->mu);
    if (n >= 100) {
      continue; /* more waiting */
    }
    backoff_ms = n > 0 ? 200 : (backoff_ms < 1000 ? backoff_ms * 2 : 1000);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += backoff_ms / 1000;
    ts.tv_nsec += (long)(backoff_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    uint64_t k = api->kicks;
    while (!api->stop && api->kicks == k) {
      if (pthread_cond_timedwait(&api->cv, &api->mu, &ts) != 0) {
        break;
      }
    }
  }
  pthread_mutex_unlock(&api->mu);
  return NULL;
}

/* ==========================================================================
 * Start and stop
 * ========================================================================== */

static int parse_redis_url(struct ctl_api *api, const char *url) {
  api->redis_host[0] = '\0';
  api->redis_port = 6379;
  if (url[0] == '\0') {
    return 1;
  }
  if (strncmp(url, "redis://", 8) != 0) {
    return 0;
  }
  const char *h = url + 8;
  const char *colon = strrchr(h, ':');
  size_t hl = colon != NULL ? (size_t)(colon - h) : strcspn(h, "/");
  if (hl == 0 || hl >= sizeof(api->redis_host)) {
    return 0;
  }
  memcpy(api->redis_host, h, hl);
  api->redis_host[hl] = '\0';
  if (colon != NULL) {
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || (*end != '\0' && *end != '/') || p < 1 ||
        p > 65535) {
      return 0;
    }
    api->redis_port = (int)p;
  }
  return 1;
}

enum ctl_api_result ctl_api_serve(const struct ctl_config *cfg,
                                  const struct ctl_db_options *db_opts,
                                  const struct vigil_log *log) {
  char err[512];
  char eb[128];
  enum ctl_api_result rc = CTL_API_FAILED;
  struct ctl_tls_pem tls;
  struct ctl_api api;
  struct MHD_Daemon *mhd = NULL;
  struct ctl_db *boot_db = NULL;
  int sync_ok = 0;
  int pub_started = 0;
  int incident_started = 0;
  int hook_started = 0;
  struct ctl_access_worker *access_worker = NULL;
  pthread_t pub;
  struct api_glue glue = { &api, NULL };
  memset(&tls, 0, sizeof(tls));
  memset(&api, 0, sizeof(api));
  api.cfg = cfg;
  api.log = log;
  api.db_opts = db_opts;

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (!parse_redis_url(&api, cfg->redis_url)) {
    VLOG_ERROR(log, "redis-url: expected redis://host:port, got \"%s\"",
               cfg->redis_url);
    return CTL_API_CONFIG;
  }
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS |
                   MHD_USE_ERROR_LOG | MHD_USE_POLL;
  struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, cfg->listen_address, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)cfg->listen_port);
  } else if (inet_pton(AF_INET6, cfg->listen_address, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)cfg->listen_port);
    flags |= MHD_USE_IPv6;
  } else {
    VLOG_ERROR(log, "listen-address: not an IP address: \"%s\"",
               cfg->listen_address);
    return CTL_API_CONFIG;
  }
  if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST) {
    VLOG_ERROR(log, "state-dir %s: %s", cfg->state_dir,
               vigil_strerror(errno, eb, sizeof(eb)));
    return CTL_API_CONFIG;
  }
  if (!ctl_tls_load(&tls, err, sizeof(err), cfg->state_dir, cfg->tls_cert,
                    cfg->tls_key)) {
    VLOG_ERROR(log, "TLS: %s", err);
    return CTL_API_FAILED;
  }

  boot_db = ctl_db_new(db_opts);
  if (boot_db == NULL) {
    goto done;
  }
  if (!ctl_auth_bootstrap(boot_db, log, cfg->state_dir)) {
    rc = ctl_db_last_error(boot_db)->status == CTL_DB_UNAVAILABLE
             ? CTL_API_UNAVAILABLE
             : CTL_API_FAILED;
    goto done;
  }
  api.pool = ctl_db_pool_new(db_opts, (unsigned)cfg->api_threads + 1);
  api.pub_db = ctl_db_new(db_opts);
  if (api.pool == NULL || api.pub_db == NULL) {
    VLOG_ERROR(log, "out of memory");
    goto done;
  }
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  if (pthread_mutex_init(&api.mu, NULL) != 0 ||
      pthread_cond_init(&api.cv, &ca) != 0) {
    pthread_condattr_destroy(&ca);
    goto done;
  }
  pthread_condattr_destroy(&ca);
  sync_ok = 1;
  /* Before the request threads, which read api.loops. */
  api.loops = ctl_loops_start(cfg, db_opts, log);
  if (api.loops == NULL) {
    VLOG_ERROR(log, "cannot start the CRL and refresh loops");
    goto done;
  }

  /* Metrics route slots, in dispatch order, before any request thread. */
  glue.metrics = ctl_metrics_new();
  if (glue.metrics == NULL) {
    VLOG_ERROR(log, "out of memory");
    goto done;
  }
  struct api_table tables[API_NUM_TABLES];
  route_tables(tables);
  for (size_t t = 0; t < API_NUM_TABLES; t++) {
    for (size_t i = 0; i < tables[t].n; i++) {
      (void)ctl_metrics_add_route(glue.metrics, tables[t].rows[i].method,
                                  tables[t].rows[i].pattern);
    }
  }

  mhd = MHD_start_daemon(
      flags, 0, NULL, NULL, on_request, &glue, MHD_OPTION_SOCK_ADDR,
      (struct sockaddr *)&ss, MHD_OPTION_HTTPS_MEM_CERT, tls.cert_pem,
      MHD_OPTION_HTTPS_MEM_KEY, tls.key_pem, MHD_OPTION_THREAD_POOL_SIZE,
      (unsigned)cfg->api_threads, MHD_OPTION_CONNECTION_LIMIT,
      (unsigned)cfg->api_max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)cfg->api_connection_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      (size_t)(64 * 1024), MHD_OPTION_NOTIFY_COMPLETED, on_completed, &glue,
      MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, &api, MHD_OPTION_END);
  if (mhd == NULL) {
    VLOG_ERROR(log, "cannot listen on %s:%lld (in use, or TLS key refused)",
               cfg->listen_address, (long long)cfg->listen_port);
    goto done;
  }
  if (pthread_create(&pub, NULL, publisher_main, &api) != 0) {
    VLOG_ERROR(log, "cannot start the publisher thread");
    goto done;
  }
  pub_started = 1;
  hook_started = api_hook_worker_start(&api);
  incident_started = hook_started && api_incident_worker_start(&api);
  if (!incident_started) {
    VLOG_ERROR(log, "cannot start the hook and incident workers");
    goto done;
  }
  access_worker = ctl_access_worker_start(&api);
  if (access_worker == NULL) {
    goto done;
  }
  VLOG_INFO(log, "serving https://%s:%lld/api/v1", cfg->listen_address,
            (long long)cfg->listen_port);
  int sig = 0;
  while (sigwait(&sigs, &sig) != 0) {
  }
  VLOG_INFO(log, "signal %d: stopping", sig);
  rc = CTL_API_OK;

done:
  if (mhd != NULL) {
    MHD_stop_daemon(mhd);
  }
  ctl_access_worker_stop(access_worker);
  if (incident_started) {
    api_incident_worker_stop(&api);
  }
  if (hook_started) {
    api_hook_worker_stop(&api);
  }
  if (pub_started) {
    pthread_mutex_lock(&api.mu);
    api.stop = 1;
    pthread_cond_broadcast(&api.cv);
    pthread_mutex_unlock(&api.mu);
    pthread_join(pub, NULL);
  }
  ctl_loops_stop(api.loops);
  if (sync_ok) {
    pthread_cond_destroy(&api.cv);
    pthread_mutex_destroy(&api.mu);
  }
  ctl_db_free(api.pub_db);
  ctl_db_pool_free(api.pool);
  ctl_metrics_free(glue.metrics);
  ctl_db_free(boot_db);
  ctl_tls_pem_cleanup(&tls);
  return rc;
}
