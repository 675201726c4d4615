/* ctl_api_graph.c: the credential graph and its blast radius.
 *
 * The graph (migrations/0003_graph.sql) joins what the certificates table
 * already knows (issuer chains, SPKI hashes) with what operators tell us:
 * deployments, services, hosts and targets (graph_nodes) and the edges
 * between them and certificate identities or issuers (graph_edges).
 *
 *   POST   /graph/nodes          create a node (admin, operator; audited)
 *   GET    /graph/nodes          list nodes
 *   DELETE /graph/nodes/{id}     delete a node and its edges (audited)
 *   POST   /graph/edges          create an edge (admin, operator; audited)
 *   GET    /graph/edges          list edges
 *   DELETE /graph/edges/{id}     delete an edge (audited)
 *   GET    /graph/blast-radius?node=cert:NAME|issuer:ID|key:HEX[&tenant=T]
 *
 * The blast radius is read-only: one REPEATABLE READ, read-only
 * transaction with a statement timeout. Certificates sharing a key are
 * found by SPKI hash; an issuer's subtree by a recursive CTE over
 * issuers.parent; deployments and what depends on them by a recursive CTE
 * over the edges, bounded in depth (GRAPH_MAX_DEPTH) and cycle-safe (rows
 * are deduplicated per node and depth). Each affected item carries the
 * path that makes it affected. docs/api.md ("Credential graph") is the
 * contract. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl_api_internal.h"
#include "ctl_audit.h"
#include "vigil/alloc.h"
#include "vigil/keyspace.h"

/* At most this many affected items in one answer (then truncated: true). */
#define GRAPH_MAX_ITEMS 10000
/* Issuer chains and dependency chains are followed this deep. */
#define GRAPH_MAX_DEPTH 16
/* Node names and certificate names (bytes). */
#define GRAPH_NAME_MAX 255
/* A node's attributes as compact JSON text (bytes). The table allows
 * 8192 bytes of jsonb text, which adds a space after each ':' and ',' (at
 * most 1.5 times the compact size). */
#define GRAPH_ATTR_MAX 4096
/* "kind:name" references (bytes). */
#define GRAPH_REF_MAX (16 + GRAPH_NAME_MAX)
/* A blast-radius query may run this long (ms) before it is cancelled. */
#define GRAPH_TIMEOUT_MS "15000"

#define GRAPH_READ_ROLES                                                     \
  (CTL_ROLE_ADMIN | CTL_ROLE_OPERATOR | CTL_ROLE_AUDITOR | CTL_ROLE_ISSUER | \
   CTL_ROLE_APPROVER)
#define GRAPH_WRITE_ROLES (CTL_ROLE_ADMIN | CTL_ROLE_OPERATOR)

/* Node kinds and the blast-radius group each is listed in. */
static const char *const node_kinds[] = { "deployment", "service", "host",
                                          "target" };
static const char *const node_groups[] = { "deployments", "services", "hosts",
                                           "targets" };
#define NUM_NODE_KINDS (sizeof(node_kinds) / sizeof(node_kinds[0]))

/* Placement relations carry exposure from -> to; dependency relations
 * to -> from (the migration's header explains). */
static const char *const relations[] = { "deployed_to", "runs_on", "depends_on",
                                         "uses" };

/* ==========================================================================
 * References ("kind:name")
 * ========================================================================== */

enum ref_kind {
  REF_NODE,   /* a graph node: deployment, service, host, target */
  REF_CERT,   /* cert:NAME, every certificate of that name */
  REF_ISSUER, /* issuer:ID */
  REF_KEY,    /* key:<SHA-256 of the SPKI, hex> */
};

struct ref {
  enum ref_kind kind;
  char type[16];                 /* "deployment", ..., "cert", "issuer" */
  char name[GRAPH_NAME_MAX + 1]; /* after the colon (key: lowercase hex) */
};

/* text_ok: |s| (|len| bytes) is well-formed UTF-8 without control
 * characters (C0, DEL, C1). */
static int text_ok(const char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f) {
      return 0;
    }
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n = 0;
    unsigned cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return 0;
    }
    if (len - i - 1 < n) {
      return 0;
    }
    for (size_t k = 1; k <= n; k++) {
      unsigned char d = (unsigned char)s[i + k];
      if ((d & 0xc0) != 0x80) {
        return 0;
      }
      cp = (cp << 6) | (d & 0x3fu);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f)) {
      return 0;
    }
    i += n + 1;
  }
  return 1;
}

static int in_list(const char *s, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(s, list[i]) == 0) {
      return 1;
    }
  }
  return 0;
}

/* ref_parse parses |s| into |out|. Returns 1, or 0 when it is not a
 * well-formed reference (|out| is then unspecified). */
static int ref_parse(struct ref *out, const char *s) {
  const char *colon = strchr(s, ':');
  if (colon == NULL || colon == s || (size_t)(colon - s) >= sizeof(out->type)) {
    return 0;
  }
  memcpy(out->type, s, (size_t)(colon - s));
  out->type[colon - s] = '\0';
  const char *name = colon + 1;
  size_t len = strlen(name);
  if (len < 1 || len > GRAPH_NAME_MAX || !text_ok(name, len)) {
    return 0;
  }
  memcpy(out->name, name, len + 1);
  if (strcmp(out->type, "cert") == 0) {
    out->kind = REF_CERT;
  } else if (strcmp(out->type, "issuer") == 0) {
    out->kind = REF_ISSUER;
    return vigil_ks_name_valid(name, len);
  } else if (strcmp(out->type, "key") == 0) {
    out->kind = REF_KEY;
    if (len != 64) {
      return 0;
    }
    for (size_t i = 0; i < len; i++) {
      char c = out->name[i];
      if (c >= 'A' && c <= 'F') {
        out->name[i] = (char)(c - 'A' + 'a');
      } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return 0;
      }
    }
  } else if (in_list(out->type, node_kinds, NUM_NODE_KINDS)) {
    out->kind = REF_NODE;
  } else {
    return 0;
  }
  return 1;
}

/* An edge endpoint as SQL text, for listings and the walk. */
#define REF_SQL(side, n, i)                                            \
  "CASE WHEN e." side "_node IS NOT NULL THEN " n ".kind || ':' || " n \
  ".name WHEN e." side "_issuer IS NOT NULL THEN 'issuer:' || " i      \
  ".issuer_id ELSE 'cert:' || e." side "_cert END"
#define EDGE_JOINS                                        \
  "FROM graph_edges e JOIN tenants t ON t.id = e.tenant " \
  "LEFT JOIN graph_nodes fn ON fn.id = e.from_node "      \
  "LEFT JOIN graph_nodes tn ON tn.id = e.to_node "        \
  "LEFT JOIN issuers fi ON fi.id = e.from_issuer "        \
  "LEFT JOIN issuers ti ON ti.id = e.to_issuer "

/* ==========================================================================
 * Small helpers
 * ========================================================================== */

/* append_audit appends an event whose details are |d| (stolen). */
static enum ctl_db_status append_audit(struct ctl_db *db, struct api_req *r,
                                       const char *type, const char *tenant,
                                       const char *subject, json_t *d) {
  enum ctl_db_status st =
      api_audit_take(db, NULL, type, r->who.id, tenant, subject, d);
  return st;
}

/* query_limit parses ?limit= (default 100, 1..1000). Returns 1, or 0 after
 * answering 400. */
static int query_limit(struct api_req *r, long *out) {
  int64_t v = 100;
  if (!api_query_int(r, &v, "limit", 1, 1000)) {
    return 0;
  }
  *out = (long)v;
  return 1;
}

/* list_scope resolves ?tenant= into |out_id| ("" when absent: the caller's
 * scope applies) and checks ?after=. Returns 1, or 0 after answering. */
static int list_scope(struct api_req *r, char *out_id, const char **out_after) {
  const char *tenant = api_query(r, "tenant");
  *out_after = api_query(r, "after");
  out_id[0] = '\0';
  if (*out_after != NULL && !api_uuid_valid(*out_after)) {
    api_error(r, 400, "bad_request", "query parameter \"after\": not an id");
    return 0;
  }
  if (tenant != NULL && !api_resolve_tenant(r, out_id, tenant)) {
    return 0;
  }
  return 1;
}

/* answer_page answers a listing: {"items": [row(res, i)...], "next": the
 * last row's id (column 0) when the page is full, else null}. Takes |res|
 * (cleared here). */
static void answer_page(struct api_req *r, PGresult *res, long limit,
                        json_t *(*row)(const PGresult *res, int i)) {
  json_t *items = json_array();
  int num = PQntuples(res);
  for (int i = 0; items != NULL && i < num; i++) {
    json_array_append_new(items, row(res, i));
  }
  json_t *next = num > 0 && num == limit
                     ? json_string(PQgetvalue(res, num - 1, 0))
                     : json_null();
  PQclear(res);
  api_json(r, 200, json_pack("{s:o,s:o}", "items", items, "next", next));
}

/* ==========================================================================
 * Nodes
 * ========================================================================== */

#define NODE_COLS                                              \
  "n.id, t.name, n.kind, n.name, n.attributes::text, " API_TS( \
      "n.created_at") " "

static json_t *node_row_json(const PGresult *res, int i) {
  json_t *attrs = json_loads(PQgetvalue(res, i, 4), 0, NULL);
  char ref[GRAPH_REF_MAX + 2];
  snprintf(ref, sizeof(ref), "%s:%s", PQgetvalue(res, i, 2),
           PQgetvalue(res, i, 3));
  if (attrs == NULL) {
    attrs = json_object();
  }
  json_t *o =
      json_pack("{s:s,s:s,s:s,s:s,s:s,s:O?,s:s}", "id", PQgetvalue(res, i, 0),
                "tenant", PQgetvalue(res, i, 1), "kind", PQgetvalue(res, i, 2),
                "name", PQgetvalue(res, i, 3), "ref", ref, "attributes", attrs,
                "created_at", PQgetvalue(res, i, 5));
  json_decref(attrs);
  return o;
}

struct node_new {
  struct api_req *r;
  const char *tenant_id;
  const char *kind;
  const char *name;
  const char *attrs; /* JSON object text */
  json_t *out;       /* the created node */
};

static enum ctl_db_status node_txn(struct ctl_db *db, void *arg) {
  struct node_new *n = arg;
  json_decref(n->out);
  n->out = NULL;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, n->tenant_id);
  ctl_db_param_text(&p, n->kind);
  ctl_db_param_text(&p, n->name);
  ctl_db_param_text(&p, n->attrs);
  ctl_db_param_text(&p, n->r->who.id);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "WITH n AS (INSERT INTO graph_nodes (tenant, kind, name, attributes, "
      "created_by) VALUES ($1::uuid, $2, $3, $4::jsonb, $5::uuid) "
      "RETURNING *) SELECT " NODE_COLS
      "FROM n JOIN tenants t ON t.id = n.tenant",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  n->out = node_row_json(res, 0);
  PQclear(res);
  if (n->out == NULL) {
    return ctl_db_fail(db, CTL_DB_ERROR, "out of memory");
  }
  char subject[64];
  snprintf(subject, sizeof(subject), "graph_node:%s",
           json_string_value(json_object_get(n->out, "id")));
  return append_audit(db, n->r, "graph.node.created", n->tenant_id, subject,
                      json_pack("{s:s,s:s}", "kind", n->kind, "name", n->name));
}

static void h_nodes_create(struct api_req *r, const char *arg) {
  (void)arg;
  char tenant_id[37];
  char *attrs = NULL;
  if (!api_need(r, GRAPH_WRITE_ROLES)) {
    return;
  }
  json_t *o = api_body_object(r);
  if (o == NULL) {
    return;
  }
  const char *tenant = NULL;
  const char *kind = NULL;
  const char *name = NULL;
  if (!api_get_string(r, &tenant, o, "tenant", 1, 1, 63) ||
      !api_get_string(r, &kind, o, "kind", 1, 1, 32) ||
      !api_get_string(r, &name, o, "name", 1, 1, GRAPH_NAME_MAX)) {
    goto done;
  }
  if (!in_list(kind, node_kinds, NUM_NODE_KINDS)) {
    api_error(r, 422, "invalid_field",
              "field \"kind\": one of deployment, service, host, target");
    goto done;
  }
  if (!text_ok(name, strlen(name))) {
    api_error(r, 422, "invalid_field",
              "field \"name\": must be UTF-8 text without control characters");
    goto done;
  }
  json_t *a = json_object_get(o, "attributes");
  if (a != NULL && !json_is_null(a) && !json_is_object(a)) {
    api_error(r, 422, "invalid_field",
              "field \"attributes\": must be an object");
    goto done;
  }
  attrs = a != NULL && json_is_object(a) ? json_dumps(a, JSON_COMPACT) : NULL;
  if (attrs != NULL && strlen(attrs) > GRAPH_ATTR_MAX) {
    api_error(r, 422, "invalid_field",
              "field \"attributes\": at most %d bytes of JSON", GRAPH_ATTR_MAX);
    goto done;
  }
  if (!api_resolve_tenant(r, tenant_id, tenant)) {
    goto done;
  }
  struct node_new n = { .r = r,
                        .tenant_id = tenant_id,
                        .kind = kind,
                        .name = name,
                        .attrs = attrs != NULL ? attrs : "{}" };
  enum ctl_db_status st =
      ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, node_txn, &n);
  if (st == CTL_DB_CONFLICT) {
    api_error(r, 409, "conflict", "a %s of that name exists in tenant \"%s\"",
              kind, tenant);
  } else if (st != CTL_DB_OK) {
    api_db_error(r, st);
  } else {
    api_json(r, 201, n.out);
    n.out = NULL;
  }
  json_decref(n.out);

done:
  free(attrs);
  json_decref(o);
}

static void h_nodes_list(struct api_req *r, const char *arg) {
  (void)arg;
  char tenant_id[37];
  const char *after = NULL;
  long limit = 0;
  if (!api_need(r, GRAPH_READ_ROLES) || !query_limit(r, &limit) ||
      !list_scope(r, tenant_id, &after)) {
    return;
  }
  const char *kind = api_query(r, "kind");
  if (kind != NULL && !in_list(kind, node_kinds, NUM_NODE_KINDS)) {
    api_error(r, 400, "bad_request",
              "query parameter \"kind\": one of deployment, service, host, "
              "target");
    return;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, tenant_id[0] ? tenant_id : api_scope(r));
  ctl_db_param_text(&p, kind);
  ctl_db_param_text(&p, after);
  ctl_db_param_int64(&p, limit);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      r->db, &res,
      "SELECT " NODE_COLS
      "FROM graph_nodes n JOIN tenants t ON t.id = n.tenant WHERE "
      "($1::uuid IS NULL OR n.tenant = $1::uuid) AND "
      "($2::text IS NULL OR n.kind = $2) AND ($3::uuid IS NULL OR "
      "(n.created_at, n.id) > (SELECT created_at, id FROM graph_nodes "
      "WHERE id = $3::uuid)) ORDER BY n.created_at, n.id LIMIT $4::int",
      &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return;
  }
  answer_page(r, res, limit, node_row_json);
}

struct node_del {
  struct api_req *r;
  const char *id;
  int found;
  json_t *out;
};

static enum ctl_db_status node_del_txn(struct ctl_db *db, void *arg) {
  struct node_del *d = arg;
  d->found = 0;
  json_decref(d->out);
  d->out = NULL;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, d->id);
  ctl_db_param_text(&p, api_scope(d->r));
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "WITH x AS (SELECT count(*) AS n FROM graph_edges WHERE from_node = "
      "$1::uuid OR to_node = $1::uuid), d AS (DELETE FROM graph_nodes WHERE "
      "id = $1::uuid AND ($2::uuid IS NULL OR tenant = $2::uuid) RETURNING "
      "tenant, kind, name) SELECT d.tenant, d.kind, d.name, x.n FROM d, x",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    return CTL_DB_ABORTED;
  }
  d->found = 1;
  char tenant[37];
  snprintf(tenant, sizeof(tenant), "%s", PQgetvalue(res, 0, 0));
  int64_t edges = 0;
  if (!ctl_db_value_int64(&edges, res, 0, 3)) {
    edges = 0;
  }
  d->out = json_pack("{s:s,s:s,s:s,s:b,s:I}", "id", d->id, "kind",
                     PQgetvalue(res, 0, 1), "name", PQgetvalue(res, 0, 2),
                     "deleted", 1, "edges_removed", (json_int_t)edges);
  PQclear(res);
  if (d->out == NULL) {
    return ctl_db_fail(db, CTL_DB_ERROR, "out of memory");
  }
  char subject[64];
  snprintf(subject, sizeof(subject), "graph_node:%s", d->id);
  return append_audit(db, d->r, "graph.node.deleted", tenant, subject,
                      json_deep_copy(d->out));
}

static void h_nodes_delete(struct api_req *r, const char *arg) {
  if (!api_need(r, GRAPH_WRITE_ROLES)) {
    return;
  }
  if (!api_uuid_valid(arg)) {
    api_error(r, 404, "not_found", "no such node");
    return;
  }
  struct node_del d = { .r = r, .id = arg };
  enum ctl_db_status st =
      ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, node_del_txn, &d);
  if (st == CTL_DB_ABORTED && !d.found) {
    api_error(r, 404, "not_found", "no node \"%s\"", arg);
  } else if (st != CTL_DB_OK) {
    api_db_error(r, st);
  } else {
    api_json(r, 200, d.out);
    d.out = NULL;
  }
  json_decref(d.out);
}

/* ==========================================================================
 * Edges
 * ========================================================================== */

#define EDGE_COLS                                                        \
  "e.id, t.name, " REF_SQL("from", "fn", "fi") ", e.relation, " REF_SQL( \
      "to", "tn", "ti") ", " API_TS("e.created_at") " "

static json_t *edge_row_json(const PGresult *res, int i) {
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", PQgetvalue(res, i, 0),
                   "tenant", PQgetvalue(res, i, 1), "from",
                   PQgetvalue(res, i, 2), "relation", PQgetvalue(res, i, 3),
                   "to", PQgetvalue(res, i, 4), "created_at",
                   PQgetvalue(res, i, 5));
}

/* One resolved endpoint. */
struct endpoint {
  struct ref ref;
  char node[37];   /* graph node uuid ("" if not a node) */
  char issuer[37]; /* issuer uuid ("" if not an issuer) */
};

struct edge_new {
  struct api_req *r;
  const char *tenant_id;
  const char *relation;
  struct endpoint from, to;
  const char *missing; /* "from" / "to": that endpoint does not exist */
  json_t *out;
};

/* resolve finds |e| in the tenant. Returns CTL_DB_OK (found),
 * CTL_DB_ABORTED (not found) or the statement's failure. */
static enum ctl_db_status resolve(struct ctl_db *db, struct endpoint *e,
                                  const char *tenant_id) {
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, tenant_id);
  ctl_db_param_text(&p, e->ref.name);
  const char *sql =
      "SELECT id::text FROM graph_nodes WHERE tenant = $1::uuid AND name = $2 "
      "AND kind = $3";
  if (e->ref.kind == REF_CERT) {
    sql =
        "SELECT '' FROM certificates WHERE tenant = $1::uuid AND name = $2 "
        "LIMIT 1";
  } else if (e->ref.kind == REF_ISSUER) {
    sql =
        "SELECT id::text FROM issuers WHERE tenant = $1::uuid AND "
        "issuer_id = $2";
  } else {
    ctl_db_param_text(&p, e->ref.type);
  }
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(db, &res, sql, &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    return CTL_DB_ABORTED;
  }
  if (e->ref.kind == REF_NODE) {
    snprintf(e->node, sizeof(e->node), "%s", PQgetvalue(res, 0, 0));
  } else if (e->ref.kind == REF_ISSUER) {
    snprintf(e->issuer, sizeof(e->issuer), "%s", PQgetvalue(res, 0, 0));
  }
  PQclear(res);
  return CTL_DB_OK;
}

static void param_endpoint(struct ctl_db_params *p, const struct endpoint *e) {
  ctl_db_param_text(p, e->node[0] ? e->node : NULL);
  ctl_db_param_text(p, e->ref.kind == REF_CERT ? e->ref.name : NULL);
  ctl_db_param_text(p, e->issuer[0] ? e->issuer : NULL);
}

static enum ctl_db_status edge_txn(struct ctl_db *db, void *arg) {
  struct edge_new *n = arg;
  json_decref(n->out);
  n->out = NULL;
  n->missing = NULL;
  enum ctl_db_status st = resolve(db, &n->from, n->tenant_id);
  if (st == CTL_DB_ABORTED) {
    n->missing = "from";
  }
  if (st == CTL_DB_OK) {
    st = resolve(db, &n->to, n->tenant_id);
    if (st == CTL_DB_ABORTED) {
      n->missing = "to";
    }
  }
  if (st != CTL_DB_OK) {
    return st;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, n->tenant_id);
  ctl_db_param_text(&p, n->relation);
  param_endpoint(&p, &n->from);
  param_endpoint(&p, &n->to);
  ctl_db_param_text(&p, n->r->who.id);
  PGresult *res = NULL;
  st = ctl_db_exec(db, &res,
                   "WITH e AS (INSERT INTO graph_edges (tenant, relation, "
                   "from_node, from_cert, from_issuer, to_node, to_cert, "
                   "to_issuer, created_by) VALUES ($1::uuid, $2, $3::uuid, $4, "
                   "$5::uuid, $6::uuid, $7, $8::uuid, $9::uuid) RETURNING *) "
                   "SELECT " EDGE_COLS
                   "FROM e JOIN tenants t ON t.id = e.tenant "
                   "LEFT JOIN graph_nodes fn ON fn.id = e.from_node "
                   "LEFT JOIN graph_nodes tn ON tn.id = e.to_node "
                   "LEFT JOIN issuers fi ON fi.id = e.from_issuer "
                   "LEFT JOIN issuers ti ON ti.id = e.to_issuer",
                   &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  n->out = edge_row_json(res, 0);
  PQclear(res);
  if (n->out == NULL) {
    return ctl_db_fail(db, CTL_DB_ERROR, "out of memory");
  }
  char subject[64];
  snprintf(subject, sizeof(subject), "graph_edge:%s",
           json_string_value(json_object_get(n->out, "id")));
  json_t *d = json_deep_copy(n->out);
  json_object_del(d, "created_at");
  json_object_del(d, "id");
  return append_audit(db, n->r, "graph.edge.created", n->tenant_id, subject, d);
}

/* endpoint_get reads field |field| of |o| as a reference into |out|.
 * Returns 1, or 0 after answering 422. */
static int endpoint_get(struct api_req *r, struct endpoint *out, json_t *o,
                        const char *field) {
  const char *s = NULL;
  memset(out, 0, sizeof(*out));
  if (!api_get_string(r, &s, o, field, 1, 3, GRAPH_REF_MAX)) {
    return 0;
  }
  if (!ref_parse(&out->ref, s) || out->ref.kind == REF_KEY) {
    api_error(r, 422, "invalid_field",
              "field \"%s\": must be KIND:NAME with KIND one of deployment, "
              "service, host, target, cert, issuer",
              field);
    return 0;
  }
  return 1;
}

static void h_edges_create(struct api_req *r, const char *arg) {
  (void)arg;
  char tenant_id[37];
  if (!api_need(r, GRAPH_WRITE_ROLES)) {
    return;
  }
  json_t *o = api_body_object(r);
  if (o == NULL) {
    return;
  }
  struct edge_new n = { .r = r, .tenant_id = tenant_id };
  const char *tenant = NULL;
  if (!api_get_string(r, &tenant, o, "tenant", 1, 1, 63) ||
      !endpoint_get(r, &n.from, o, "from") ||
      !endpoint_get(r, &n.to, o, "to") ||
      !api_get_string(r, &n.relation, o, "relation", 1, 1, 32)) {
    goto done;
  }
  if (!in_list(n.relation, relations,
               sizeof(relations) / sizeof(relations[0]))) {
    api_error(r, 422, "invalid_field",
              "field \"relation\": one of deployed_to, runs_on, depends_on, "
              "uses");
    goto done;
  }
  int placement = strcmp(n.relation, "deployed_to") == 0 ||
                  strcmp(n.relation, "runs_on") == 0;
  if (placement && n.to.ref.kind != REF_NODE) {
    api_error(r, 422, "invalid_field",
              "field \"to\": %s needs a deployment, service, host or target "
              "(a credential is placed on a node)",
              n.relation);
    goto done;
  }
  if (!placement && n.from.ref.kind != REF_NODE) {
    api_error(r, 422, "invalid_field",
              "field \"from\": %s needs a deployment, service, host or target "
              "(a node depends on a credential)",
              n.relation);
    goto done;
  }
  if (strcmp(n.from.ref.type, n.to.ref.type) == 0 &&
      strcmp(n.from.ref.name, n.to.ref.name) == 0) {
    api_error(r, 422, "invalid_field", "field \"to\": an edge needs two nodes");
    goto done;
  }
  if (!api_resolve_tenant(r, tenant_id, tenant)) {
    goto done;
  }
  enum ctl_db_status st =
      ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, edge_txn, &n);
  if (st == CTL_DB_ABORTED && n.missing != NULL) {
    api_error(r, 422, "invalid_field",
              "field \"%s\": no %s of that name in "
              "tenant \"%s\"",
              n.missing,
              strcmp(n.missing, "from") == 0 ? n.from.ref.type : n.to.ref.type,
              tenant);
  } else if (st == CTL_DB_CONFLICT) {
    api_error(r, 409, "conflict", "this edge exists");
  } else if (st != CTL_DB_OK) {
    api_db_error(r, st);
  } else {
    api_json(r, 201, n.out);
    n.out = NULL;
  }
  json_decref(n.out);

done:
  json_decref(o);
}

static void h_edges_list(struct api_req *r, const char *arg) {
  (void)arg;
  char tenant_id[37];
  const char *after = NULL;
  long limit = 0;
  if (!api_need(r, GRAPH_READ_ROLES) || !query_limit(r, &limit) ||
      !list_scope(r, tenant_id, &after)) {
    return;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, tenant_id[0] ? tenant_id : api_scope(r));
  ctl_db_param_text(&p, after);
  ctl_db_param_int64(&p, limit);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      r->db, &res,
      "SELECT " EDGE_COLS EDGE_JOINS
      "WHERE ($1::uuid IS NULL OR e.tenant = $1::uuid) AND ($2::uuid IS NULL "
      "OR (e.created_at, e.id) > (SELECT created_at, id FROM graph_edges "
      "WHERE id = $2::uuid)) ORDER BY e.created_at, e.id LIMIT $3::int",
      &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return;
  }
  answer_page(r, res, limit, edge_row_json);
}

struct edge_del {
  struct api_req *r;
  const char *id;
  int found;
  json_t *out;
};

static enum ctl_db_status edge_del_txn(struct ctl_db *db, void *arg) {
  struct edge_del *d = arg;
  d->found = 0;
  json_decref(d->out);
  d->out = NULL;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, d->id);
  ctl_db_param_text(&p, api_scope(d->r));
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "SELECT " EDGE_COLS ", e.tenant " EDGE_JOINS
      "WHERE e.id = $1::uuid AND ($2::uuid IS NULL OR e.tenant = $2::uuid) "
      "FOR UPDATE OF e",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    return CTL_DB_ABORTED;
  }
  d->found = 1;
  char tenant[37];
  snprintf(tenant, sizeof(tenant), "%s", PQgetvalue(res, 0, 6));
  d->out = edge_row_json(res, 0);
  PQclear(res);
  if (d->out == NULL) {
    return ctl_db_fail(db, CTL_DB_ERROR, "out of memory");
  }
  json_object_set_new(d->out, "deleted", json_true());
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, d->id);
  st = ctl_db_exec(db, NULL, "DELETE FROM graph_edges WHERE id = $1::uuid", &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  char subject[64];
  snprintf(subject, sizeof(subject), "graph_edge:%s", d->id);
  json_t *det = json_deep_copy(d->out);
  json_object_del(det, "created_at");
  json_object_del(det, "id");
  json_object_del(det, "deleted");
  return append_audit(db, d->r, "graph.edge.deleted", tenant, subject, det);
}

static void h_edges_delete(struct api_req *r, const char *arg) {
  if (!api_need(r, GRAPH_WRITE_ROLES)) {
    return;
  }
  if (!api_uuid_valid(arg)) {
    api_error(r, 404, "not_found", "no such edge");
    return;
  }
  struct edge_del d = { .r = r, .id = arg };
  enum ctl_db_status st =
      ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, edge_del_txn, &d);
  if (st == CTL_DB_ABORTED && !d.found) {
    api_error(r, 404, "not_found", "no edge \"%s\"", arg);
  } else if (st != CTL_DB_OK) {
    api_db_error(r, st);
  } else {
    api_json(r, 200, d.out);
    d.out = NULL;
  }
  json_decref(d.out);
}

/* ==========================================================================
 * Blast radius
 * ========================================================================== */

struct blast {
  struct api_req *r;
  struct ref start;
  const char *start_text; /* the node as given */
  const char *tenant_id;  /* where the start node is looked up (NULL: every
                             tenant the caller sees) */
  /* Results of one attempt (ctl_db_txn may retry: reset each time). */
  int found;       /* the start node exists */
  int oom;         /* out of memory */
  int truncated;   /* a limit cut the answer */
  size_t count;    /* items listed */
  int64_t exposed; /* active certificates listed */
  json_t *certs;   /* arrays of items */
  json_t *issuers;
  json_t *keys;
  json_t *nodes[NUM_NODE_KINDS];
  json_t *seed_paths;   /* "tenant|ref" -> path, for the walk's seeds */
  json_t *seeds;        /* [{"t": tenant uuid, "r": ref}] */
  json_t *issuer_paths; /* issuer uuid -> path */
};

static void blast_reset(struct blast *b) {
  json_decref(b->certs);
  json_decref(b->issuers);
  json_decref(b->keys);
  for (size_t i = 0; i < NUM_NODE_KINDS; i++) {
    json_decref(b->nodes[i]);
    b->nodes[i] = NULL;
  }
  json_decref(b->seed_paths);
  json_decref(b->seeds);
  json_decref(b->issuer_paths);
  b->certs = NULL;
  b->issuers = NULL;
  b->keys = NULL;
  b->seed_paths = NULL;
  b->seeds = NULL;
  b->issuer_paths = NULL;
  b->found = 0;
  b->oom = 0;
  b->truncated = 0;
  b->count = 0;
  b->exposed = 0;
}

static int blast_init(struct blast *b) {
  blast_reset(b);
  b->certs = json_array();
  b->issuers = json_array();
  b->keys = json_array();
  b->seed_paths = json_object();
  b->seeds = json_array();
  b->issuer_paths = json_object();
  int ok = b->certs && b->issuers && b->keys && b->seed_paths && b->seeds &&
           b->issuer_paths;
  for (size_t i = 0; i < NUM_NODE_KINDS; i++) {
    b->nodes[i] = json_array();
    ok = ok && b->nodes[i] != NULL;
  }
  return ok;
}

/* add_item appends |item| (stolen) to |arr| unless the answer is full. */
static void add_item(struct blast *b, json_t *arr, json_t *item) {
  if (item == NULL) {
    b->oom = 1;
    return;
  }
  if (b->count >= GRAPH_MAX_ITEMS) {
    b->truncated = 1;
    json_decref(item);
    return;
  }
  if (json_array_append_new(arr, item) != 0) {
    b->oom = 1;
    return;
  }
  b->count++;
}

/* path_step: {"node": N} or {"relation": R, "node": N[, "reverse": true]}. */
static json_t *path_step(const char *relation, const char *node, int reverse) {
  json_t *s = relation != NULL
                  ? json_pack("{s:s,s:s}", "relation", relation, "node", node)
                  : json_pack("{s:s}", "node", node);
  if (s != NULL && reverse) {
    json_object_set_new(s, "reverse", json_true());
  }
  return s;
}

/* path_plus: a copy of |path| (NULL: empty) with one more step. */
static json_t *path_plus(const json_t *path, const char *relation,
                         const char *node, int reverse) {
  json_t *p = path != NULL ? json_copy((json_t *)path) : json_array();
  if (p != NULL &&
      json_array_append_new(p, path_step(relation, node, reverse)) != 0) {
    json_decref(p);
    return NULL;
  }
  return p;
}

/* add_seed records that (tenant, ref) is affected through |path| (the walk
 * starts there). The first path recorded for a seed is kept. */
static void add_seed(struct blast *b, const char *tenant, const char *ref,
                     json_t *path) {
  char key[37 + 1 + GRAPH_REF_MAX + 2];
  snprintf(key, sizeof(key), "%s|%s", tenant, ref);
  if (path == NULL) {
    b->oom = 1;
    return;
  }
  if (json_object_get(b->seed_paths, key) != NULL) {
    return;
  }
  if (json_array_size(b->seeds) >= GRAPH_MAX_ITEMS) {
    b->truncated = 1;
    return;
  }
  if (json_object_set(b->seed_paths, key, path) != 0 ||
      json_array_append_new(
          b->seeds, json_pack("{s:s,s:s}", "t", tenant, "r", ref)) != 0) {
    b->oom = 1;
  }
}

/* Columns of an affected certificate row, then extra ones. */
#define AFFECTED_CERT_COLS \
  "c.id, c.name, t.name, i.issuer_id, coalesce(nullif(ltrim(encode(" \
  "c.serial, 'hex'), '0'), ''), '0'), c.status, " API_TS(            \
      "c.not_after") ", encode(c.spki_sha256, 'hex'), c.tenant, c.issuer, " \
                     "c.status = 'active' AND c.not_after > now() "

/* cert_item makes a certificate item of row |i| with |path| (stolen) and
 * seeds the walk with it when it is exposed: not revoked and not expired
 * (relying parties refuse the others, whoever holds the key). */
static void cert_item(struct blast *b, const PGresult *res, int i,
                      const char *reason, json_t *path) {
  int active = strcmp(PQgetvalue(res, i, 10), "t") == 0;
  char ref[GRAPH_REF_MAX + 8];
  snprintf(ref, sizeof(ref), "cert:%s", PQgetvalue(res, i, 1));
  if (active && path != NULL) {
    add_seed(b, PQgetvalue(res, i, 8), ref, path);
    b->exposed++;
  }
  json_t *o = json_pack(
      "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:O?}", "id",
      PQgetvalue(res, i, 0), "name", PQgetvalue(res, i, 1), "tenant",
      PQgetvalue(res, i, 2), "issuer_id", PQgetvalue(res, i, 3), "serial",
      PQgetvalue(res, i, 4), "status", PQgetvalue(res, i, 5), "not_after",
      PQgetvalue(res, i, 6), "spki_sha256", PQgetvalue(res, i, 7), "exposed",
      active, "reason", reason, "path", path);
  if (o != NULL && path == NULL) {
    json_decref(o);
    o = NULL;
  }
  json_decref(path);
  add_item(b, b->certs, o);
}

/* certs_by_key: cert:NAME and key:HEX. The start certificates, then every
 * certificate the caller sees that shares one of their keys. */
static enum ctl_db_status certs_by_key(struct ctl_db *db, struct blast *b) {
  const struct ref *s = &b->start;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, s->kind == REF_CERT ? s->name : NULL);
  ctl_db_param_text(&p, s->kind == REF_KEY ? s->name : NULL);
  ctl_db_param_text(&p, b->tenant_id);
  ctl_db_param_text(&p, api_scope(b->r));
  ctl_db_param_int64(&p, GRAPH_MAX_ITEMS + 1);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "WITH base AS (SELECT c.id, c.spki_sha256 FROM certificates c WHERE "
      "($1::text IS NULL OR c.name = $1) AND ($2::text IS NULL OR "
      "c.spki_sha256 = decode($2, 'hex')) AND ($3::uuid IS NULL OR c.tenant "
      "= $3::uuid)) "
      "SELECT " AFFECTED_CERT_COLS
      ", c.id IN (SELECT id FROM base) AS direct "
      "FROM certificates c JOIN tenants t ON t.id = c.tenant "
      "JOIN issuers i ON i.id = c.issuer "
      "WHERE c.spki_sha256 IN (SELECT spki_sha256 FROM base) "
      "AND ($4::uuid IS NULL OR c.tenant = $4::uuid) "
      "ORDER BY direct DESC, c.spki_sha256, c.created_at, c.id LIMIT $5::int",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  int num = PQntuples(res);
  char start_ref[GRAPH_REF_MAX + 8];
  snprintf(start_ref, sizeof(start_ref), "%s:%s", s->type, s->name);
  json_t *root = path_plus(NULL, NULL, start_ref, 0);
  json_t *key_paths = json_object(); /* hex -> key item */
  if (root == NULL || key_paths == NULL) {
    b->oom = 1;
  }
  for (int i = 0; i < num && !b->oom; i++) {
    int direct = strcmp(PQgetvalue(res, i, 11), "t") == 0;
    const char *hex = PQgetvalue(res, i, 7);
    char key_ref[80];
    char cert_ref[GRAPH_REF_MAX + 8];
    snprintf(key_ref, sizeof(key_ref), "key:%s", hex);
    snprintf(cert_ref, sizeof(cert_ref), "cert:%s", PQgetvalue(res, i, 1));
    if (direct) {
      b->found = 1;
    }
    /* The key's path: cert:START -has_key-> key:HEX, or key:HEX itself. */
    json_t *key_item = json_object_get(key_paths, hex);
    if (key_item == NULL) {
      json_t *kp = s->kind == REF_KEY ? json_incref(root)
                                      : path_plus(root, "has_key", key_ref, 0);
      key_item = kp == NULL ? NULL
                            : json_pack("{s:s,s:i,s:O}", "spki_sha256", hex,
                                        "certificates", 0, "path", kp);
      json_decref(kp);
      if (key_item == NULL ||
          json_object_set_new(key_paths, hex, key_item) != 0) {
        b->oom = 1;
        break;
      }
      add_item(b, b->keys, json_incref(key_item));
    }
    json_object_set_new(
        key_item, "certificates",
        json_integer(
            json_integer_value(json_object_get(key_item, "certificates")) + 1));
    const json_t *kp = json_object_get(key_item, "path");
    json_t *path = NULL;
    if (s->kind == REF_CERT && direct) {
      path = json_incref(root);
    } else {
      path = path_plus(kp, "key_of", cert_ref, 0);
    }
    cert_item(b, res, i, direct && s->kind == REF_CERT ? "named" : "same_key",
              path);
  }
  if (num > GRAPH_MAX_ITEMS) {
    b->truncated = 1;
  }
  json_decref(root);
  json_decref(key_paths);
  PQclear(res);
  return CTL_DB_OK;
}

/* issuer_chain_path: [issuer:A, issued issuer:B, ...] from a JSON array of
 * issuer ids. */
static json_t *issuer_chain_path(const char *ids_json) {
  json_t *ids = json_loads(ids_json, 0, NULL);
  json_t *path = json_array();
  size_t i;
  json_t *v;
  if (!json_is_array(ids) || path == NULL) {
    goto err;
  }
  json_array_foreach(ids, i, v) {
    char ref[96];
    snprintf(ref, sizeof(ref), "issuer:%s", json_string_value(v));
    if (json_array_append_new(
            path, path_step(i == 0 ? NULL : "issued", ref, 0)) != 0) {
      goto err;
    }
  }
  json_decref(ids);
  return path;

err:
  json_decref(ids);
  json_decref(path);
  return NULL;
}

/* certs_by_issuer: issuer:ID. The issuer and every issuer below it
 * (recursive CTE over issuers.parent, bounded and cycle-safe), then every
 * certificate they issued. */
static enum ctl_db_status certs_by_issuer(struct ctl_db *db, struct blast *b) {
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, b->start.name);
  ctl_db_param_text(&p, b->tenant_id);
  ctl_db_param_int64(&p, GRAPH_MAX_DEPTH);
  ctl_db_param_int64(&p, GRAPH_MAX_ITEMS + 1);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "WITH RECURSIVE sub (id, depth, path) AS ("
      " SELECT i.id, 0, ARRAY[i.issuer_id] FROM issuers i"
      " WHERE i.issuer_id = $1 AND ($2::uuid IS NULL OR i.tenant = $2::uuid)"
      " UNION ALL"
      " SELECT i.id, s.depth + 1, s.path || i.issuer_id"
      " FROM issuers i JOIN sub s ON i.parent = s.id"
      " WHERE s.depth <= $3::int AND NOT i.issuer_id = ANY (s.path)) "
      "SELECT s.id, t.name, i.issuer_id, p.issuer_id, s.depth, "
      "array_to_json(s.path)::text, i.subject_dn, i.tenant "
      "FROM sub s JOIN issuers i ON i.id = s.id "
      "JOIN tenants t ON t.id = i.tenant "
      "LEFT JOIN issuers p ON p.id = i.parent "
      "ORDER BY s.depth, i.issuer_id LIMIT $4::int",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  int num = PQntuples(res);
  b->found = num > 0;
  /* The ids as a Postgres uuid[] literal (uuids need no quoting). */
  size_t cap = (size_t)num * 37 + 3;
  char *ids = vigil_malloc(cap);
  size_t used = 0;
  if (ids == NULL) {
    PQclear(res);
    b->oom = 1;
    return CTL_DB_OK;
  }
  ids[used++] = '{';
  for (int i = 0; i < num && !b->oom; i++) {
    int64_t depth = 0;
    if (!ctl_db_value_int64(&depth, res, i, 4) || depth > GRAPH_MAX_DEPTH) {
      b->truncated = 1;
      continue;
    }
    json_t *path = issuer_chain_path(PQgetvalue(res, i, 5));
    if (path == NULL ||
        json_object_set(b->issuer_paths, PQgetvalue(res, i, 0), path) != 0) {
      json_decref(path);
      b->oom = 1;
      break;
    }
    char ref[96];
    snprintf(ref, sizeof(ref), "issuer:%s", PQgetvalue(res, i, 2));
    add_seed(b, PQgetvalue(res, i, 7), ref, path);
    add_item(b, b->issuers,
             json_pack("{s:s,s:s,s:s,s:s?,s:s,s:I,s:O}", "id",
                       PQgetvalue(res, i, 0), "tenant", PQgetvalue(res, i, 1),
                       "issuer_id", PQgetvalue(res, i, 2), "parent_issuer_id",
                       PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3),
                       "subject_dn", PQgetvalue(res, i, 6), "depth",
                       (json_int_t)depth, "path", path));
    json_decref(path);
    used += (size_t)snprintf(ids + used, cap - used, "%s%s",
                             used > 1 ? "," : "", PQgetvalue(res, i, 0));
  }
  ids[used++] = '}';
  ids[used] = '\0';
  if (num > GRAPH_MAX_ITEMS) {
    b->truncated = 1;
  }
  PQclear(res);
  if (b->oom || !b->found) {
    vigil_free(ids);
    return CTL_DB_OK;
  }
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, ids);
  ctl_db_param_int64(&p, GRAPH_MAX_ITEMS + 1);
  st = ctl_db_exec(db, &res,
                   "SELECT " AFFECTED_CERT_COLS
                   "FROM certificates c JOIN tenants t ON t.id = c.tenant "
                   "JOIN issuers i ON i.id = c.issuer "
                   "WHERE c.issuer = ANY ($1::uuid[]) "
                   "ORDER BY c.created_at, c.id LIMIT $2::int",
                   &p);
  vigil_free(ids);
  if (st != CTL_DB_OK) {
    return st;
  }
  num = PQntuples(res);
  for (int i = 0; i < num && !b->oom; i++) {
    char ref[GRAPH_REF_MAX + 8];
    snprintf(ref, sizeof(ref), "cert:%s", PQgetvalue(res, i, 1));
    cert_item(b, res, i, "issued_by",
              path_plus(json_object_get(b->issuer_paths, PQgetvalue(res, i, 9)),
                        "issued", ref, 0));
  }
  if (num > GRAPH_MAX_ITEMS) {
    b->truncated = 1;
  }
  PQclear(res);
  return CTL_DB_OK;
}

/* Walk columns. */
enum {
  W_TENANT = 0,
  W_REF,
  W_DEPTH,
  W_PREV,
  W_RELATION,
  W_REVERSE,
  W_NODE,
  W_KIND,
  W_NAME,
  W_ATTRS,
  W_TENANT_NAME,
};

/* walk_path rebuilds the path of walk row |row| by following each row's
 * predecessor (a row at one depth less) back to a seed. Returns a new
 * path, or NULL. */
static json_t *walk_path(struct blast *b, const PGresult *res,
                         const json_t *index, int row) {
  int chain[GRAPH_MAX_DEPTH + 2];
  size_t n = 0;
  int cur = row;
  char key[37 + 1 + GRAPH_REF_MAX + 2];
  for (;;) {
    int64_t depth = 0;
    if (!ctl_db_value_int64(&depth, res, cur, W_DEPTH)) {
      return NULL;
    }
    if (depth == 0) {
      break;
    }
    if (n == sizeof(chain) / sizeof(chain[0])) {
      return NULL;
    }
    chain[n++] = cur;
    snprintf(key, sizeof(key), "%s|%s", PQgetvalue(res, cur, W_TENANT),
             PQgetvalue(res, cur, W_PREV));
    const json_t *prev = json_object_get(index, key);
    if (prev == NULL) {
      return NULL;
    }
    int64_t pdepth = 0;
    int p = (int)json_integer_value(prev);
    if (!ctl_db_value_int64(&pdepth, res, p, W_DEPTH) || pdepth >= depth) {
      return NULL;
    }
    cur = p;
  }
  snprintf(key, sizeof(key), "%s|%s", PQgetvalue(res, cur, W_TENANT),
           PQgetvalue(res, cur, W_REF));
  const json_t *seed = json_object_get(b->seed_paths, key);
  json_t *path = seed != NULL ? json_copy((json_t *)seed) : NULL;
  while (path != NULL && n > 0) {
    int c = chain[--n];
    if (json_array_append_new(
            path,
            path_step(PQgetvalue(res, c, W_RELATION), PQgetvalue(res, c, W_REF),
                      strcmp(PQgetvalue(res, c, W_REVERSE), "t") == 0)) != 0) {
      json_decref(path);
      path = NULL;
    }
  }
  return path;
}

/* walk: every node reached from the seeds along the edges, exposure
 * flowing from -> to along placements and to -> from along dependencies.
 * The recursive CTE keeps one row per (node, depth, predecessor, relation)
 * (UNION deduplicates), so cycles end at the depth bound and the work is
 * at most depth x edges rows. The shortest path per node is kept. */
static enum ctl_db_status walk(struct ctl_db *db, struct blast *b) {
  if (json_array_size(b->seeds) == 0) {
    return CTL_DB_OK;
  }
  char *seeds = json_dumps(b->seeds, JSON_COMPACT);
  if (seeds == NULL) {
    b->oom = 1;
    return CTL_DB_OK;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, seeds);
  ctl_db_param_int64(&p, GRAPH_MAX_DEPTH);
  ctl_db_param_text(&p, api_scope(b->r));
  ctl_db_param_int64(&p, 2 * GRAPH_MAX_ITEMS + 1);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "WITH RECURSIVE ends AS ("
      " SELECT e.tenant, e.relation, e.from_node, e.to_node, "
      REF_SQL("from", "fn", "fi") " AS f, " REF_SQL("to", "tn", "ti") " AS t"
      " FROM graph_edges e"
      " LEFT JOIN graph_nodes fn ON fn.id = e.from_node"
      " LEFT JOIN graph_nodes tn ON tn.id = e.to_node"
      " LEFT JOIN issuers fi ON fi.id = e.from_issuer"
      " LEFT JOIN issuers ti ON ti.id = e.to_issuer"
      " WHERE $3::uuid IS NULL OR e.tenant = $3::uuid), "
      "arcs AS ("
      " SELECT tenant, f AS a, t AS b, to_node AS b_node, relation,"
      " false AS rev FROM ends WHERE relation IN ('deployed_to', 'runs_on')"
      " UNION ALL"
      " SELECT tenant, t, f, from_node, relation, true FROM ends"
      " WHERE relation IN ('depends_on', 'uses')), "
      "walk (tenant, ref, node, depth, prev, relation, rev) AS ("
      " SELECT (s->>'t')::uuid, s->>'r', NULL::uuid, 0, NULL::text,"
      " NULL::text, false FROM jsonb_array_elements($1::jsonb) s"
      " UNION"
      " SELECT a.tenant, a.b, a.b_node, w.depth + 1, w.ref, a.relation, a.rev"
      " FROM walk w JOIN arcs a ON a.tenant = w.tenant AND a.a = w.ref"
      " WHERE w.depth <= $2::int) "
      "SELECT * FROM (SELECT DISTINCT ON (w.tenant, w.ref) w.tenant, w.ref,"
      " w.depth, w.prev, w.relation, w.rev, n.id, n.kind, n.name,"
      " n.attributes::text, t.name"
      " FROM walk w JOIN tenants t ON t.id = w.tenant"
      " LEFT JOIN graph_nodes n ON n.id = w.node"
      " ORDER BY w.tenant, w.ref, w.depth, w.prev, w.relation, w.rev) x "
      "ORDER BY depth, ref LIMIT $4::int",
      &p);
  free(seeds);
  if (st != CTL_DB_OK) {
    return st;
  }
  int num = PQntuples(res);
  if (num > 2 * GRAPH_MAX_ITEMS) {
    b->truncated = 1;
  }
  json_t *index = json_object();
  char key[37 + 1 + GRAPH_REF_MAX + 2];
  for (int i = 0; i < num && index != NULL; i++) {
    snprintf(key, sizeof(key), "%s|%s", PQgetvalue(res, i, W_TENANT),
             PQgetvalue(res, i, W_REF));
    if (json_object_set_new(index, key, json_integer(i)) != 0) {
      b->oom = 1;
    }
  }
  if (index == NULL) {
    b->oom = 1;
  }
  for (int i = 0; i < num && !b->oom; i++) {
    int64_t depth = 0;
    if (PQgetisnull(res, i, W_NODE) ||
        !ctl_db_value_int64(&depth, res, i, W_DEPTH) || depth == 0) {
      continue;
    }
    if (depth > GRAPH_MAX_DEPTH) {
      b->truncated = 1;
      continue;
    }
    size_t k = 0;
    while (k < NUM_NODE_KINDS &&
           strcmp(node_kinds[k], PQgetvalue(res, i, W_KIND)) != 0) {
      k++;
    }
    if (k == NUM_NODE_KINDS) {
      continue;
    }
    json_t *path = walk_path(b, res, index, i);
    json_t *attrs = json_loads(PQgetvalue(res, i, W_ATTRS), 0, NULL);
    if (attrs == NULL) {
      attrs = json_object();
    }
    add_item(b, b->nodes[k],
             path == NULL
                 ? NULL
                 : json_pack("{s:s,s:s,s:s,s:s,s:s,s:O?,s:I,s:O}", "id",
                             PQgetvalue(res, i, W_NODE), "tenant",
                             PQgetvalue(res, i, W_TENANT_NAME), "kind",
                             node_kinds[k], "name", PQgetvalue(res, i, W_NAME),
                             "ref", PQgetvalue(res, i, W_REF), "attributes",
                             attrs, "depth", (json_int_t)depth, "path", path));
    json_decref(attrs);
    json_decref(path);
  }
  json_decref(index);
  PQclear(res);
  return CTL_DB_OK;
}

static enum ctl_db_status blast_txn(struct ctl_db *db, void *arg) {
  struct blast *b = arg;
  if (!blast_init(b)) {
    b->oom = 1;
    return CTL_DB_ABORTED;
  }
  enum ctl_db_status st = ctl_db_exec(
      db, NULL, "SET LOCAL statement_timeout = " GRAPH_TIMEOUT_MS, NULL);
  if (st != CTL_DB_OK) {
    return st;
  }
  st = b->start.kind == REF_ISSUER ? certs_by_issuer(db, b)
                                   : certs_by_key(db, b);
  if (st == CTL_DB_OK && !b->oom && b->found) {
    st = walk(db, b);
  }
  if (st != CTL_DB_OK) {
    return st;
  }
  return b->oom || !b->found ? CTL_DB_ABORTED : CTL_DB_OK;
}

static void h_blast_radius(struct api_req *r, const char *arg) {
  (void)arg;
  char tenant_id[37] = "";
  if (!api_need(r, GRAPH_READ_ROLES)) {
    return;
  }
  struct blast b = { .r = r };
  const char *node = api_query(r, "node");
  const char *tenant = api_query(r, "tenant");
  if (node == NULL) {
    api_error(r, 400, "bad_request", "query parameter \"node\": required");
    return;
  }
  if (strlen(node) > GRAPH_REF_MAX || !ref_parse(&b.start, node)) {
    api_error(r, 400, "bad_request",
              "query parameter \"node\": must be cert:NAME, issuer:ID or "
              "key:SHA256_OF_SPKI_HEX");
    return;
  }
  if (b.start.kind == REF_NODE) {
    api_error(r, 400, "bad_request",
              "query parameter \"node\": the blast radius starts at a "
              "credential: cert:NAME, issuer:ID or key:SHA256_OF_SPKI_HEX");
    return;
  }
  if (tenant != NULL && !api_resolve_tenant(r, tenant_id, tenant)) {
    return;
  }
  b.start_text = node;
  b.tenant_id = tenant_id[0] ? tenant_id : api_scope(r);
  enum ctl_db_status st =
      ctl_db_txn(r->db, CTL_DB_REPEATABLE_READ, 1, blast_txn, &b);
  if (st == CTL_DB_ABORTED && b.oom) {
    api_error(r, 500, "internal", "out of memory");
    goto done;
  }
  if (st == CTL_DB_ABORTED && !b.found) {
    api_error(r, 404, "not_found", "query parameter \"node\": no %s %s",
              b.start.kind == REF_CERT     ? "certificate named"
              : b.start.kind == REF_ISSUER ? "issuer"
                                           : "certificate with key",
              tenant != NULL ? "in this tenant" : "visible to this token");
    goto done;
  }
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    goto done;
  }
  char start_ref[GRAPH_REF_MAX + 8];
  snprintf(start_ref, sizeof(start_ref), "%s:%s", b.start.type, b.start.name);
  json_t *affected = json_pack("{s:O,s:O,s:O}", "certificates", b.certs,
                               "issuers", b.issuers, "keys", b.keys);
  for (size_t k = 0; affected != NULL && k < NUM_NODE_KINDS; k++) {
    json_object_set(affected, node_groups[k], b.nodes[k]);
  }
  api_json(r, 200,
           affected == NULL
               ? NULL
               : json_pack("{s:s,s:s?,s:O,s:I,s:I,s:b,s:i}", "node", start_ref,
                           "tenant", tenant, "affected", affected, "count",
                           (json_int_t)b.count, "exposed_certificates",
                           (json_int_t)b.exposed, "truncated", b.truncated,
                           "max_depth", GRAPH_MAX_DEPTH));
  json_decref(affected);

done:
  blast_reset(&b);
}

/* ==========================================================================
 * Routes
 * ========================================================================== */

const struct api_route api_graph_routes[] = {
  { "POST", "graph/nodes", h_nodes_create, 0 },
  { "GET", "graph/nodes", h_nodes_list, 0 },
  { "DELETE", "graph/nodes/*", h_nodes_delete, 0 },
  { "POST", "graph/edges", h_edges_create, 0 },
  { "GET", "graph/edges", h_edges_list, 0 },
  { "DELETE", "graph/edges/*", h_edges_delete, 0 },
  { "GET", "graph/blast-radius", h_blast_radius, 0 },
};
const size_t api_graph_num_routes =
    sizeof(api_graph_routes) / sizeof(api_graph_routes[0]);
