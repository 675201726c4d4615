/* route.c: the edge's URL router (route.h). Pure functions over views. */
#include "route.h"

#include <string.h>

/* is_lower_alnum is [a-z0-9] without the locale. */
static int is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* is_name checks [a-z0-9][a-z0-9-]{0,max-1}. */
static int is_name(const char *p, size_t n, size_t max) {
  if (n == 0 || n > max || !is_lower_alnum(p[0])) {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if (!is_lower_alnum(p[i]) && p[i] != '-') {
      return 0;
    }
  }
  return 1;
}

int edge_route_is_tenant(const char *p, size_t n) {
  return is_name(p, n, EDGE_ROUTE_TENANT_MAX);
}

/* strip_query shortens |*len| to end before the first '?'. */
static void strip_query(const char *path, size_t *len) {
  if (*len == 0) {
    return;
  }
  const char *q = memchr(path, '?', *len);
  if (q != NULL) {
    *len = (size_t)(q - path);
  }
}

/* has_prefix: |path|/|len| starts with the literal |lit|/|lit_len|. */
static int has_prefix(const char *path, size_t len, const char *lit,
                      size_t lit_len) {
  return len >= lit_len && memcmp(path, lit, lit_len) == 0;
}

#define HAS_PREFIX(p, n, lit) has_prefix((p), (n), (lit), sizeof(lit) - 1)

static void set_view(struct edge_http_view *v, const char *p, size_t n) {
  v->ptr = p;
  v->len = n;
}

/* route_ocsp routes |p|/|n|: what follows "/ocsp/". */
static enum edge_route_kind route_ocsp(struct edge_route *out, const char *p,
                                       size_t n) {
  size_t i = 0;
  const char *slash = n == 0 ? NULL : memchr(p, '/', n);
  size_t seg = slash == NULL ? n : (size_t)(slash - p);
  if (edge_route_is_tenant(p, seg)) {
    set_view(&out->tenant, p, seg);
    i = seg;
  }
  while (i < n && p[i] == '/') {
    i++;
  }
  if (i == n) {
    return EDGE_ROUTE_OCSP_POST;
  }
  set_view(&out->request, p + i, n - i);
  return EDGE_ROUTE_OCSP_GET;
}

/* parse_shard reads a canonical decimal 0..EDGE_ROUTE_SHARD_MAX ("0" or
 * no leading zero; nothing else in |p|/|n|). */
static int parse_shard(int32_t *out, const char *p, size_t n) {
  if (n == 0 || n > 6 || (p[0] == '0' && n > 1)) {
    return 0;
  }
  int32_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') {
      return 0;
    }
    v = v * 10 + (p[i] - '0');
  }
  if (v > EDGE_ROUTE_SHARD_MAX) {
    return 0;
  }
  *out = v;
  return 1;
}

/* route_crl routes |p|/|n|: what follows "/crl/". */
static enum edge_route_kind route_crl(struct edge_route *out, const char *p,
                                      size_t n) {
  const char *slash = n == 0 ? NULL : memchr(p, '/', n);
  size_t seg = slash == NULL ? n : (size_t)(slash - p);
  if (!edge_route_is_tenant(p, seg)) {
    return EDGE_ROUTE_NOT_FOUND;
  }
  set_view(&out->tenant, p, seg);
  if (slash == NULL) {
    return EDGE_ROUTE_CRL;
  }
  const char *id = slash + 1;
  size_t rest = n - seg - 1;
  const char *slash2 = rest == 0 ? NULL : memchr(id, '/', rest);
  size_t id_len = slash2 == NULL ? rest : (size_t)(slash2 - id);
  if (!is_name(id, id_len, EDGE_ROUTE_ISSUER_ID_MAX)) {
    return EDGE_ROUTE_NOT_FOUND;
  }
  set_view(&out->issuer_id, id, id_len);
  if (slash2 == NULL) {
    return EDGE_ROUTE_CRL;
  }
  int32_t shard;
  if (!parse_shard(&shard, slash2 + 1, rest - id_len - 1)) {
    return EDGE_ROUTE_NOT_FOUND; /* also rejects a further '/' */
  }
  out->shard = shard;
  return EDGE_ROUTE_CRL;
}

enum edge_route_kind edge_route_parse(struct edge_route *out, const char *path,
                                      size_t len) {
  memset(out, 0, sizeof(*out));
  out->shard = -1;
  strip_query(path, &len);
  enum edge_route_kind kind = EDGE_ROUTE_NOT_FOUND;
  if (HAS_PREFIX(path, len, "/ocsp")) {
    if (len == 5) {
      kind = EDGE_ROUTE_OCSP_POST;
    } else if (path[5] == '/') {
      kind = route_ocsp(out, path + 6, len - 6);
    }
  } else if (HAS_PREFIX(path, len, "/crl/")) {
    kind = route_crl(out, path + 5, len - 5);
  }
  if (kind == EDGE_ROUTE_NOT_FOUND) {
    memset(out, 0, sizeof(*out));
    out->shard = -1;
  }
  out->kind = kind;
  return kind;
}

int edge_route_method_allowed(enum edge_route_kind kind,
                              enum edge_http_method method) {
  switch (kind) {
    case EDGE_ROUTE_OCSP_POST:
      return method == EDGE_HTTP_POST;
    case EDGE_ROUTE_OCSP_GET:
    case EDGE_ROUTE_CRL:
      return method == EDGE_HTTP_GET || method == EDGE_HTTP_HEAD;
    case EDGE_ROUTE_NOT_FOUND:
      break;
  }
  return 0;
}

const char *edge_route_allow(enum edge_route_kind kind) {
  switch (kind) {
    case EDGE_ROUTE_OCSP_POST:
      return "POST";
    case EDGE_ROUTE_OCSP_GET:
    case EDGE_ROUTE_CRL:
      return "GET, HEAD";
    case EDGE_ROUTE_NOT_FOUND:
      break;
  }
  return NULL;
}

/* exact: |path|/|len| equals the literal. */
static int exact(const char *path, size_t len, const char *lit,
                 size_t lit_len) {
  return len == lit_len && memcmp(path, lit, lit_len) == 0;
}

#define EXACT(p, n, lit) exact((p), (n), (lit), sizeof(lit) - 1)

enum edge_admin_route edge_route_admin(const char *path, size_t len) {
  strip_query(path, &len);
  if (EXACT(path, len, "/healthz")) {
    return EDGE_ADMIN_HEALTHZ;
  }
  if (EXACT(path, len, "/readyz")) {
    return EDGE_ADMIN_READYZ;
  }
  if (EXACT(path, len, "/metrics")) {
    return EDGE_ADMIN_METRICS;
  }
  return EDGE_ADMIN_NOT_FOUND;
}
