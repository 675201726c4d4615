-- 0006_hooks.sql: cache-invalidation hooks (issue 5): webhooks and CDN
-- purge templates, and the log of their deliveries.
--
-- A delivery is enqueued by a trigger in the SAME transaction as what it
-- reports: the revocation (AFTER INSERT ON revocations) or the new CRL
-- (AFTER INSERT OR UPDATE ON crl_cache; the generator upserts crl_cache in
-- the transaction that takes the CRL number, whereas its
-- crl_generation_events row is written after the commit and may be lost in
-- a crash).  So an acknowledged revocation always has its deliveries, and
-- a hook can never block or undo a revocation: the triggers only insert
-- rows; the HTTP requests are made by vigil-control's delivery worker
-- (control/ctl_api_hook.c) after the commit, with retries.

-- One hook.  tenant NULL: it fires for every tenant.
CREATE TABLE hooks (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant       uuid REFERENCES tenants (id),
  kind         text NOT NULL CHECK (kind IN ('webhook', 'purge')),
  -- webhook: the URL to POST to; purge: a template whose placeholders
  -- ({ocsp_get_url}, {crl_url}, {surrogate_key}, {serial}, {issuer_id},
  -- {tenant}) the worker expands per purge target (docs/api.md).
  url          text NOT NULL
               CONSTRAINT hooks_url_format
               CHECK (octet_length(url) BETWEEN 10 AND 2048
                      AND url ~ '^(https?://|\{\+(ocsp_get_url|crl_url)\})'
                      AND url !~ '[[:space:][:cntrl:]]'),
  -- HTTP method of a purge request (webhooks always POST).
  method       text NOT NULL DEFAULT 'POST'
               CHECK (method IN ('POST', 'PURGE')),
  events       text[] NOT NULL
               CONSTRAINT hooks_events_valid
               CHECK (cardinality(events) BETWEEN 1 AND 2
                      AND array_ndims(events) = 1
                      AND array_position(events, NULL) IS NULL
                      AND events <@ ARRAY['revoke', 'crl']::text[]),
  enabled      boolean NOT NULL DEFAULT true,
  created_by   uuid REFERENCES principals (id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  disabled_at  timestamptz,
  CHECK (enabled = (disabled_at IS NULL)),
  CHECK (kind = 'purge' OR method = 'POST')
);
CREATE INDEX hooks_enabled ON hooks (tenant) WHERE enabled;

-- The HMAC key of each hook, apart from the hook so that a reporting role
-- can be granted SELECT on hooks and hook_deliveries without the secrets
-- (docs/operations.md).  The API shows a secret only in the answer that
-- created it; only the delivery worker reads this table.
CREATE TABLE hook_secrets (
  hook    uuid PRIMARY KEY REFERENCES hooks (id),
  secret  bytea NOT NULL CHECK (octet_length(secret) BETWEEN 16 AND 256)
);

-- A hook is disabled, never deleted: its deliveries stay in the log.
CREATE TRIGGER hooks_no_delete BEFORE DELETE ON hooks
  FOR EACH ROW EXECUTE FUNCTION vigil_refuse(
    'hooks are disabled, not deleted (their delivery log is kept)');

CREATE TABLE hook_deliveries (
  id                bigserial PRIMARY KEY,
  hook              uuid NOT NULL REFERENCES hooks (id),
  event             text NOT NULL CHECK (event IN ('revoke', 'crl')),
  tenant            uuid NOT NULL REFERENCES tenants (id),
  issuer            uuid NOT NULL REFERENCES issuers (id),
  -- revoke events: the worker waits until this certificate's revoked
  -- response is published (no pending revocation_queue row), so that a
  -- CDN purged by the hook re-fetches the revoked answer, not the good one.
  certificate       uuid REFERENCES certificates (id),
  -- The event's fields (the worker adds the URLs and surrogate keys).
  payload           jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
  status            text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts          integer NOT NULL DEFAULT 0
                    CHECK (attempts BETWEEN 0 AND 100),
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  last_error        text CHECK (octet_length(last_error) <= 1024),
  last_http_status  integer CHECK (last_http_status BETWEEN 100 AND 599),
  created_at        timestamptz NOT NULL DEFAULT now(),
  delivered_at      timestamptz,
  CHECK ((status = 'delivered') = (delivered_at IS NOT NULL)),
  CHECK ((event = 'revoke') = (certificate IS NOT NULL))
);
CREATE INDEX hook_deliveries_due ON hook_deliveries (next_attempt_at, id)
  WHERE status = 'pending';
CREATE INDEX hook_deliveries_hook ON hook_deliveries (hook, id);
CREATE INDEX hook_deliveries_certificate ON hook_deliveries (certificate)
  WHERE certificate IS NOT NULL;

-- Every attempt of every delivery (at most the worker's attempt bound per
-- delivery).  For a purge hook one attempt covers all its requests.
CREATE TABLE hook_delivery_attempts (
  delivery     bigint NOT NULL REFERENCES hook_deliveries (id),
  attempt      integer NOT NULL CHECK (attempt BETWEEN 1 AND 100),
  at           timestamptz NOT NULL DEFAULT now(),
  http_status  integer CHECK (http_status BETWEEN 100 AND 599),
  error        text CHECK (octet_length(error) <= 1024),
  duration_ms  integer NOT NULL CHECK (duration_ms >= 0),
  PRIMARY KEY (delivery, attempt)
);

-- One delivery per enabled hook of the revocation's tenant (or of every
-- tenant) that asks for revoke events.  A raised reason (UPDATE to
-- keyCompromise) is not a new revocation and enqueues nothing.
CREATE FUNCTION hooks_on_revocation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO hook_deliveries (hook, event, tenant, issuer, certificate,
                               payload)
  SELECT h.id, 'revoke', NEW.tenant, NEW.issuer, NEW.certificate,
         jsonb_build_object(
           'event', 'revoke',
           'tenant', t.name,
           'issuer_id', i.issuer_id,
           -- keyspace form: lowercase hex without leading zeros
           'serial', coalesce(nullif(ltrim(encode(NEW.serial, 'hex'), '0'),
                                     ''), '0'),
           'certificate_id', NEW.certificate,
           'reason', NEW.reason,
           'revoked_at', to_char(NEW.revoked_at AT TIME ZONE 'UTC',
                                 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
    FROM hooks h, tenants t, issuers i
   WHERE h.enabled AND 'revoke' = ANY (h.events)
     AND (h.tenant IS NULL OR h.tenant = NEW.tenant)
     AND t.id = NEW.tenant AND i.id = NEW.issuer;
  RETURN NULL;
EXCEPTION WHEN OTHERS THEN
  -- A hook must never block a revocation: log, and let it commit.
  RAISE WARNING 'hooks: no delivery enqueued for certificate %: %',
    NEW.certificate, SQLERRM;
  RETURN NULL;
END
$$;
CREATE TRIGGER hooks_on_revocation AFTER INSERT ON revocations
  FOR EACH ROW EXECUTE FUNCTION hooks_on_revocation();

-- One delivery per enabled hook asking for crl events, per new CRL.  Due
-- two seconds later: the generator writes the CRL to Redis just after its
-- commit, and a CDN purged before that would re-fetch the old CRL.
CREATE FUNCTION hooks_on_crl() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.crl_number = OLD.crl_number THEN
    RETURN NULL;
  END IF;
  INSERT INTO hook_deliveries (hook, event, tenant, issuer, payload,
                               next_attempt_at)
  SELECT h.id, 'crl', i.tenant, NEW.issuer,
         jsonb_build_object(
           'event', 'crl',
           'tenant', t.name,
           'issuer_id', i.issuer_id,
           'shard', NEW.shard,
           'crl_number', NEW.crl_number::text,
           'this_update', to_char(NEW.this_update AT TIME ZONE 'UTC',
                                  'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
           'next_update', to_char(NEW.next_update AT TIME ZONE 'UTC',
                                  'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
         now() + interval '2 seconds'
    FROM issuers i JOIN tenants t ON t.id = i.tenant, hooks h
   WHERE i.id = NEW.issuer
     AND h.enabled AND 'crl' = ANY (h.events)
     AND (h.tenant IS NULL OR h.tenant = i.tenant);
  RETURN NULL;
EXCEPTION WHEN OTHERS THEN
  RAISE WARNING 'hooks: no delivery enqueued for the CRL of issuer %: %',
    NEW.issuer, SQLERRM;
  RETURN NULL;
END
$$;
CREATE TRIGGER hooks_on_crl AFTER INSERT OR UPDATE ON crl_cache
  FOR EACH ROW EXECUTE FUNCTION hooks_on_crl();
