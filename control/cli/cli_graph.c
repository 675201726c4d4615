/* cli_graph.c: vigilctl commands for the credential graph (docs/cli.md):
 *
 *   graph blast-radius NODE [--tenant T]       what a compromise reaches
 *   graph nodes create --tenant T --kind K --name N [--attributes JSON]
 *   graph nodes list [--tenant T] [--kind K]
 *   graph edges create --tenant T --from A --to B --relation R
 *   graph edges list [--tenant T]
 *
 * The table has two words per row, so "nodes create" is the verb "nodes"
 * with the action as its positional argument. Human output of the blast
 * radius is grouped by kind, with the path that makes each item affected;
 * --json prints the server's answer as-is. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli_common.h"

#define PATH_MAX_LEN 2048
/* --attributes is a JSON object of at most this many bytes (the server
 * takes 4 KiB as compact JSON). */
#define ATTRS_MAX_LEN (16 * 1024)

/* Groups of the blast-radius answer, in the order printed. */
static const char *const groups[] = { "certificates", "keys",     "issuers",
                                      "deployments",  "services", "hosts",
                                      "targets" };

/* print_path prints "a -rel-> b <-rel- c" for a path array. */
static void print_path(const json_t *path) {
  size_t i;
  const json_t *step;
  json_array_foreach(path, i, step) {
    const char *rel = json_string_value(json_object_get(step, "relation"));
    const char *node = json_string_value(json_object_get(step, "node"));
    if (rel != NULL) {
      int rev = json_is_true(json_object_get(step, "reverse"));
      fputs(rev ? " <-" : " -", stdout);
      cli_put_safe(stdout, rel);
      fputs(rev ? "- " : "-> ", stdout);
    }
    cli_put_safe(stdout, node != NULL ? node : "?");
  }
}

/* print_item prints one affected item: its label line and its path. */
static void print_item(const char *group, const json_t *item) {
  fputs("  ", stdout);
  if (strcmp(group, "certificates") == 0) {
    cli_put_safe(stdout, json_string_value(json_object_get(item, "name")));
    fputs("  serial ", stdout);
    cli_put_value(stdout, json_object_get(item, "serial"));
    fputs("  ", stdout);
    cli_put_value(stdout, json_object_get(item, "status"));
    fputs(json_is_true(json_object_get(item, "exposed")) ? "  EXPOSED"
                                                         : "  not exposed",
          stdout);
    fputs("  id ", stdout);
    cli_put_value(stdout, json_object_get(item, "id"));
  } else if (strcmp(group, "keys") == 0) {
    fputs("key:", stdout);
    cli_put_value(stdout, json_object_get(item, "spki_sha256"));
    fputs("  certificates ", stdout);
    cli_put_value(stdout, json_object_get(item, "certificates"));
  } else if (strcmp(group, "issuers") == 0) {
    fputs("issuer:", stdout);
    cli_put_value(stdout, json_object_get(item, "issuer_id"));
    fputs("  ", stdout);
    cli_put_value(stdout, json_object_get(item, "subject_dn"));
  } else {
    cli_put_value(stdout, json_object_get(item, "ref"));
  }
  const json_t *tenant = json_object_get(item, "tenant");
  if (json_is_string(tenant)) {
    fputs("  [tenant ", stdout);
    cli_put_value(stdout, tenant);
    fputs("]", stdout);
  }
  fputs("\n    path: ", stdout);
  print_path(json_object_get(item, "path"));
  fputs("\n", stdout);
}

static void print_blast(const json_t *o) {
  fputs("node: ", stdout);
  cli_put_value(stdout, json_object_get(o, "node"));
  fputs("\naffected: ", stdout);
  cli_put_value(stdout, json_object_get(o, "count"));
  fputs(" (exposed certificates: ", stdout);
  cli_put_value(stdout, json_object_get(o, "exposed_certificates"));
  fputs(")\n", stdout);
  const json_t *aff = json_object_get(o, "affected");
  for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
    const json_t *items = json_object_get(aff, groups[g]);
    if (!json_is_array(items)) {
      continue;
    }
    printf("\n%s (%zu):\n", groups[g], json_array_size(items));
    size_t i;
    const json_t *item;
    json_array_foreach(items, i, item) {
      print_item(groups[g], item);
    }
  }
  if (json_is_true(json_object_get(o, "truncated"))) {
    fputs(
        "\nTRUNCATED: a size or depth limit cut this answer; narrow it "
        "with --tenant\n",
        stdout);
  }
}

static int run_blast(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                     const struct cli_parsed *p) {
  char path[PATH_MAX_LEN] = "/graph/blast-radius";
  struct cli_reply r = { 0 };
  if (strchr(p->pos[0], ':') == NULL) {
    return cli_args_usage_error(
        cmd, "NODE is cert:NAME, issuer:ID or key:SHA256_OF_SPKI_HEX");
  }
  if (!cli_add_query(cmd, path, sizeof(path), "node", p->pos[0]) ||
      !cli_add_query(cmd, path, sizeof(path), "tenant",
                     cli_args_get(p, "tenant"))) {
    return CLI_EXIT_USAGE;
  }
  int rc = cli_api_call(ctx, &r, "GET", path, NULL, NULL);
  if (rc == CLI_EXIT_OK) {
    if (ctx->json || !json_is_object(r.json)) {
      cli_print_raw(&r.http);
    } else {
      print_blast(r.json);
    }
  }
  cli_reply_cleanup(&r);
  return rc;
}

/* run_list: GET |base| with --tenant, --kind, --limit, --after. */
static int run_list(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                    const struct cli_parsed *p, const char *base,
                    const struct cli_column *cols, size_t num_cols) {
  char path[PATH_MAX_LEN];
  long limit = 0;
  const char *lim = cli_args_get(p, "limit");
  snprintf(path, sizeof(path), "%s", base);
  if (lim != NULL && !cli_args_parse_long(&limit, lim, 1, 1000)) {
    return cli_args_usage_error(cmd, "--limit wants a whole number in 1..1000");
  }
  if (!cli_add_query(cmd, path, sizeof(path), "tenant",
                     cli_args_get(p, "tenant")) ||
      !cli_add_query(cmd, path, sizeof(path), "kind",
                     cli_args_get(p, "kind")) ||
      !cli_add_query(cmd, path, sizeof(path), "limit", lim) ||
      !cli_add_query(cmd, path, sizeof(path), "after",
                     cli_args_get(p, "after"))) {
    return CLI_EXIT_USAGE;
  }
  return cli_get_list(ctx, path, cols, num_cols, "after");
}

/* run_create: POST |body| (stolen) to |path|. */
static int run_create(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                      const struct cli_parsed *p, const char *path,
                      json_t *body) {
  char kbuf[33];
  struct cli_reply r = { 0 };
  int rc = CLI_EXIT_USAGE;
  const char *key = cli_idempotency_key(cmd, p, kbuf);
  if (key != NULL) {
    rc = cli_api_call(ctx, &r, "POST", path, body, key);
    if (rc == CLI_EXIT_OK) {
      cli_print_reply(ctx, &r, NULL);
    }
  }
  cli_reply_cleanup(&r);
  json_decref(body);
  return rc;
}

/* need: every option in |names| (NULL-terminated) was given. */
static int need(const struct cli_cmd *cmd, const struct cli_parsed *p,
                const char *action, const char *const *names) {
  for (size_t i = 0; names[i] != NULL; i++) {
    if (cli_args_get(p, names[i]) == NULL) {
      cli_args_usage_error(cmd, "%s needs --%s", action, names[i]);
      return 0;
    }
  }
  return 1;
}

static int run_nodes(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                     const struct cli_parsed *p) {
  static const struct cli_column cols[] = {
    { "ID", "id" },     { "TENANT", "tenant" },         { "KIND", "kind" },
    { "NAME", "name" }, { "ATTRIBUTES", "attributes" },
  };
  static const char *const create_needs[] = { "tenant", "kind", "name", NULL };
  if (strcmp(p->pos[0], "list") == 0) {
    return run_list(ctx, cmd, p, "/graph/nodes", cols,
                    sizeof(cols) / sizeof(cols[0]));
  }
  if (strcmp(p->pos[0], "create") != 0) {
    return cli_args_usage_error(cmd, "ACTION is create or list");
  }
  if (!need(cmd, p, "create", create_needs)) {
    return CLI_EXIT_USAGE;
  }
  json_t *attrs = NULL;
  const char *a = cli_args_get(p, "attributes");
  if (a != NULL) {
    json_error_t je;
    if (strlen(a) > ATTRS_MAX_LEN) {
      return cli_args_usage_error(cmd, "--attributes is too long");
    }
    attrs = json_loads(a, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(attrs)) {
      json_decref(attrs);
      return cli_args_usage_error(cmd, "--attributes wants a JSON object");
    }
  }
  json_t *body = json_object();
  if (body == NULL || !cli_set_str(body, "tenant", cli_args_get(p, "tenant")) ||
      !cli_set_str(body, "kind", cli_args_get(p, "kind")) ||
      !cli_set_str(body, "name", cli_args_get(p, "name")) ||
      (attrs != NULL && json_object_set(body, "attributes", attrs) != 0)) {
    json_decref(attrs);
    json_decref(body);
    return cli_oom();
  }
  json_decref(attrs);
  return run_create(ctx, cmd, p, "/graph/nodes", body);
}

static int run_edges(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                     const struct cli_parsed *p) {
  static const struct cli_column cols[] = {
    { "ID", "id" },     { "TENANT", "tenant" },
    { "FROM", "from" }, { "RELATION", "relation" },
    { "TO", "to" },
  };
  static const char *const create_needs[] = { "tenant", "from", "to",
                                              "relation", NULL };
  if (strcmp(p->pos[0], "list") == 0) {
    return run_list(ctx, cmd, p, "/graph/edges", cols,
                    sizeof(cols) / sizeof(cols[0]));
  }
  if (strcmp(p->pos[0], "create") != 0) {
    return cli_args_usage_error(cmd, "ACTION is create or list");
  }
  if (!need(cmd, p, "create", create_needs)) {
    return CLI_EXIT_USAGE;
  }
  json_t *body = json_object();
  if (body == NULL || !cli_set_str(body, "tenant", cli_args_get(p, "tenant")) ||
      !cli_set_str(body, "from", cli_args_get(p, "from")) ||
      !cli_set_str(body, "to", cli_args_get(p, "to")) ||
      !cli_set_str(body, "relation", cli_args_get(p, "relation"))) {
    json_decref(body);
    return cli_oom();
  }
  return run_create(ctx, cmd, p, "/graph/edges", body);
}

static const struct cli_opt blast_opts[] = {
  { "tenant", CLI_OPT_VALUE, "T", "look the node up in tenant T only" },
  CLI_END_OPT,
};

static const struct cli_opt nodes_opts[] = {
  { "tenant", CLI_OPT_VALUE, "T", "tenant (create: required; list: filter)" },
  { "kind", CLI_OPT_VALUE, "K", "deployment, service, host or target" },
  { "name", CLI_OPT_VALUE, "N", "node name (create; free text, verbatim)" },
  { "attributes", CLI_OPT_VALUE, "JSON",
    "create: a JSON object stored with the node" },
  { "limit", CLI_OPT_VALUE, "N", "list: at most N (1..1000, default 100)" },
  { "after", CLI_OPT_VALUE, "ID", "list: continue after this node id" },
  CLI_IDEMPOTENCY_OPT,
  CLI_END_OPT,
};

static const struct cli_opt edges_opts[] = {
  { "tenant", CLI_OPT_VALUE, "T", "tenant (create: required; list: filter)" },
  { "from", CLI_OPT_VALUE, "REF",
    "create: KIND:NAME, e.g. cert:payments-tls, deployment:pay" },
  { "to", CLI_OPT_VALUE, "REF", "create: KIND:NAME, e.g. host:web-1" },
  { "relation", CLI_OPT_VALUE, "R",
    "create: deployed_to, runs_on, depends_on or uses" },
  { "limit", CLI_OPT_VALUE, "N", "list: at most N (1..1000, default 100)" },
  { "after", CLI_OPT_VALUE, "ID", "list: continue after this edge id" },
  CLI_IDEMPOTENCY_OPT,
  CLI_END_OPT,
};

const struct cli_cmd cli_graph_cmds[] = {
  { "graph", "blast-radius", "NODE", 1,
    "what a compromised certificate, key or issuer reaches",
    "NODE is cert:NAME (every certificate of that name), key:SHA256 (of the "
    "SubjectPublicKeyInfo, hex) or issuer:ID. Read-only. Lists affected "
    "certificates (same key, or issued below the issuer), keys, issuers, "
    "deployments, services, hosts and targets, each with the path that "
    "makes it affected. Any role may read.",
    blast_opts, run_blast, 0 },
  { "graph", "nodes", "create|list", 1,
    "create or list deployments, services, hosts, targets",
    "create needs --tenant, --kind and --name (admin or operator); list "
    "takes --tenant, --kind, --limit, --after.",
    nodes_opts, run_nodes, 0 },
  { "graph", "edges", "create|list", 1, "create or list graph edges",
    "create needs --tenant, --from, --to and --relation (admin or "
    "operator). deployed_to/runs_on place a credential or node on a node "
    "(exposure flows from -> to); depends_on/uses make a node depend on "
    "another node, cert:NAME or issuer:ID (exposure flows to -> from).",
    edges_opts, run_edges, 0 },
};
const size_t cli_graph_num_cmds =
    sizeof(cli_graph_cmds) / sizeof(cli_graph_cmds[0]);
