-- 0003_graph.sql: the credential graph (issue 5, "Blast radius").
--
-- Certificates already carry what ties them together (0001_init.sql): the
-- issuer (and issuers their parent) and the SPKI hash (certificates sharing
-- a key).  This adds what the database cannot know by itself: where
-- credentials are deployed and who depends on whom.
--
--   graph_nodes  a deployment, service, host or target of one tenant,
--                named "kind:name" in the API (e.g. "host:web-1").
--   graph_edges  "from -relation-> to" inside one tenant.  An endpoint is a
--                graph node, a certificate identity (cert:NAME, matched by
--                certificates.name in the same tenant) or an issuer
--                (issuer:ID).
--
-- Relations, and how a compromise travels along them (docs/api.md, "Blast
-- radius"):
--   deployed_to, runs_on   placement: the credential (or what holds it) is
--                          put on the target; exposure flows from -> to.
--   depends_on, uses       dependency: from needs to; exposure flows
--                          to -> from.
-- So a certificate or issuer endpoint may only be the `from` of a placement
-- or the `to` of a dependency (a certificate is never placed on a
-- certificate), which the table checks.
--
-- Nodes and edges are created and deleted through the API only, each with
-- an audit event in the same transaction (graph.node.created/deleted,
-- graph.edge.created/deleted).  Deleting a node deletes its edges.

CREATE TABLE graph_nodes (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant      uuid NOT NULL REFERENCES tenants (id),
  kind        text NOT NULL
              CONSTRAINT graph_nodes_kind_valid
              CHECK (kind IN ('deployment', 'service', 'host', 'target')),
  -- Free text (stored verbatim), without control characters.
  name        text NOT NULL
              CONSTRAINT graph_nodes_name_format
              CHECK (octet_length(name) BETWEEN 1 AND 255
                     AND name !~ '[[:cntrl:]]'),
  attributes  jsonb NOT NULL DEFAULT '{}'
              CONSTRAINT graph_nodes_attributes_object
              CHECK (jsonb_typeof(attributes) = 'object'
                     AND octet_length(attributes::text) <= 8192),
  created_by  uuid REFERENCES principals (id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant, kind, name),
  UNIQUE (tenant, id)
);

CREATE TABLE graph_edges (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant       uuid NOT NULL REFERENCES tenants (id),
  relation     text NOT NULL
               CONSTRAINT graph_edges_relation_valid
               CHECK (relation IN ('deployed_to', 'runs_on', 'depends_on',
                                   'uses')),
  -- Exactly one of each triple is set.
  from_node    uuid,
  from_cert    text CHECK (octet_length(from_cert) BETWEEN 1 AND 255),
  from_issuer  uuid,
  to_node      uuid,
  to_cert      text CHECK (octet_length(to_cert) BETWEEN 1 AND 255),
  to_issuer    uuid,
  created_by   uuid REFERENCES principals (id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant, from_node) REFERENCES graph_nodes (tenant, id)
    ON DELETE CASCADE,
  FOREIGN KEY (tenant, to_node) REFERENCES graph_nodes (tenant, id)
    ON DELETE CASCADE,
  FOREIGN KEY (tenant, from_issuer) REFERENCES issuers (tenant, id),
  FOREIGN KEY (tenant, to_issuer) REFERENCES issuers (tenant, id),
  CONSTRAINT graph_edges_one_from
    CHECK (num_nonnulls(from_node, from_cert, from_issuer) = 1),
  CONSTRAINT graph_edges_one_to
    CHECK (num_nonnulls(to_node, to_cert, to_issuer) = 1),
  -- Credentials are placed on nodes and depended on by nodes.
  CONSTRAINT graph_edges_shape CHECK (
    (relation IN ('deployed_to', 'runs_on') AND to_node IS NOT NULL)
    OR (relation IN ('depends_on', 'uses') AND from_node IS NOT NULL)),
  CONSTRAINT graph_edges_no_self_loop
    CHECK (from_node IS NULL OR from_node <> to_node OR to_node IS NULL)
);
-- One edge per (from, relation, to).
CREATE UNIQUE INDEX graph_edges_unique ON graph_edges (
  tenant, relation,
  (coalesce('n' || from_node::text, 'i' || from_issuer::text,
            'c' || from_cert)),
  (coalesce('n' || to_node::text, 'i' || to_issuer::text, 'c' || to_cert)));
CREATE INDEX graph_edges_from_node ON graph_edges (from_node);
CREATE INDEX graph_edges_to_node ON graph_edges (to_node);
CREATE INDEX graph_edges_certs ON graph_edges (tenant, from_cert, to_cert);
CREATE INDEX graph_edges_from_issuer ON graph_edges (from_issuer);
CREATE INDEX graph_edges_to_issuer ON graph_edges (to_issuer);
