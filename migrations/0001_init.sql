-- 0001_init.sql: the control plane's first schema (issue 3).
--
-- Applied by `vigil-control migrate` inside one transaction, together with
-- its row in schema_migrations: it applies completely or not at all.  Do not
-- put BEGIN/COMMIT in a migration.  Never edit a migration once released:
-- the runner records each file's SHA-256 and refuses to continue when an
-- applied file has changed.  Add NNNN_name.sql files instead (issue 5 adds
-- approvals, incident executions and the credential graph).
--
-- Rules the database enforces itself (docs/operations.md explains them):
--   * audit_events is append-only (UPDATE, DELETE, TRUNCATE refused) and
--     hash-chained: a trigger assigns id, time, prev_hash and hash.
--   * a certificate is revoked by inserting into revocations; that updates
--     the certificate's status and enqueues the publication.  Revocations
--     are never undone (no certificateHold).
--   * CRL numbers only grow, per issuer, even across deletes of crl_cache.

DO $$
BEGIN
  -- The audit hash covers text as UTF-8 octets; octet_length() must count
  -- UTF-8 bytes, which holds only in a UTF8 database.
  IF current_setting('server_encoding') <> 'UTF8' THEN
    RAISE EXCEPTION 'vigil needs a UTF8 database (this one is %)',
      current_setting('server_encoding');
  END IF;
  IF current_setting('server_version_num')::int < 130000 THEN
    RAISE EXCEPTION 'vigil needs PostgreSQL 13 or newer (gen_random_uuid)';
  END IF;
END
$$;

-- ---------------------------------------------------------------------------
-- Helpers
-- ---------------------------------------------------------------------------

-- vigil_refuse: a trigger that refuses the operation it guards.
-- TG_ARGV[0] says why (shown to whoever tried).
CREATE FUNCTION vigil_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege',
          DETAIL = TG_ARGV[0];
END
$$;

-- ---------------------------------------------------------------------------
-- Tenants, principals, tokens
-- ---------------------------------------------------------------------------

CREATE TABLE tenants (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- Appears in URLs (/ocsp/{tenant}); DESIGN.md section 4.
  name        text NOT NULL UNIQUE
              CONSTRAINT tenants_name_format
              CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE principals (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name         text NOT NULL UNIQUE
               CONSTRAINT principals_name_format
               CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$'),
  -- bootstrap: the admin token made at first start (no issuance authority);
  -- system: the control plane's own loops.
  kind         text NOT NULL DEFAULT 'token'
               CHECK (kind IN ('token', 'bootstrap', 'system')),
  roles        text[] NOT NULL
               CONSTRAINT principals_roles_valid
               CHECK (cardinality(roles) >= 1
                      AND array_ndims(roles) = 1
                      AND array_position(roles, NULL) IS NULL
                      AND roles <@ ARRAY['admin', 'issuer', 'approver',
                                         'operator', 'auditor']::text[]),
  -- NULL: acts in every tenant; otherwise only in this one.
  tenant       uuid REFERENCES tenants (id),
  created_by   uuid REFERENCES principals (id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  disabled_at  timestamptz
);
-- At most one bootstrap principal.
CREATE UNIQUE INDEX principals_one_bootstrap ON principals (kind)
  WHERE kind = 'bootstrap';

CREATE TABLE api_tokens (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  principal     uuid NOT NULL REFERENCES principals (id),
  -- Only the hash is stored; the token is shown once.  Look up with
  -- WHERE token_sha256 = sha256($1::bytea).
  token_sha256  bytea NOT NULL UNIQUE
                CHECK (octet_length(token_sha256) = 32),
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz CHECK (expires_at > created_at),
  revoked_at    timestamptz,
  last_used_at  timestamptz
);
CREATE INDEX api_tokens_principal ON api_tokens (principal);

-- Writes accept Idempotency-Key (DESIGN.md section 5): the first request
-- inserts the row (completed_at NULL while it runs), a replay with the same
-- request_hash returns the stored response, a different request_hash under
-- the same key is a conflict.
CREATE TABLE idempotency_keys (
  principal        uuid NOT NULL REFERENCES principals (id),
  key              text NOT NULL
                   CHECK (octet_length(key) BETWEEN 1 AND 255
                          AND key ~ '^[!-~]+$'),
  method           text NOT NULL
                   CHECK (method IN ('POST', 'PUT', 'PATCH', 'DELETE')),
  path             text NOT NULL CHECK (octet_length(path) BETWEEN 1 AND 2048),
  request_hash     bytea NOT NULL CHECK (octet_length(request_hash) = 32),
  response_status  integer CHECK (response_status BETWEEN 100 AND 599),
  response_body    bytea,
  created_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz,
  expires_at       timestamptz NOT NULL DEFAULT now() + interval '24 hours',
  PRIMARY KEY (principal, key),
  CHECK ((completed_at IS NULL) = (response_status IS NULL)),
  CHECK (response_body IS NULL OR response_status IS NOT NULL),
  CHECK (expires_at > created_at)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- ---------------------------------------------------------------------------
-- Issuers and certificates
-- ---------------------------------------------------------------------------

CREATE TABLE issuers (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant       uuid NOT NULL REFERENCES tenants (id),
  -- The keyspace id (v1:crl:{issuer_id}, /crl/{tenant}/{issuer_id}).
  issuer_id    text NOT NULL UNIQUE
               CONSTRAINT issuers_issuer_id_format
               CHECK (issuer_id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  -- NULL: a root CA; otherwise the issuing CA, in the same tenant.
  parent       uuid,
  subject_dn   text NOT NULL,
  cert_der     bytea NOT NULL CHECK (octet_length(cert_der) > 0),
  -- OCSP CertID hashes: issuerKeyHash (SHA-1 = the keyspace's ikh, so it
  -- must be unique) and issuerNameHash, also with SHA-256 (RFC 9919).
  key_sha1     bytea NOT NULL UNIQUE CHECK (octet_length(key_sha1) = 20),
  key_sha256   bytea NOT NULL CHECK (octet_length(key_sha256) = 32),
  name_sha1    bytea NOT NULL CHECK (octet_length(name_sha1) = 20),
  name_sha256  bytea NOT NULL CHECK (octet_length(name_sha256) = 32),
  -- How vigil-signer finds the private key; never the key itself.
  key_ref      text NOT NULL CHECK (octet_length(key_ref) BETWEEN 1 AND 255),
  not_before   timestamptz NOT NULL,
  not_after    timestamptz NOT NULL,
  -- The tenant's current issuer answers GET /crl/{tenant} and signs new
  -- certificates; at most one per tenant.
  current      boolean NOT NULL DEFAULT true,
  created_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant, id),
  FOREIGN KEY (tenant, parent) REFERENCES issuers (tenant, id),
  CHECK (parent IS DISTINCT FROM id),
  CHECK (not_after > not_before)
);
CREATE UNIQUE INDEX issuers_one_current ON issuers (tenant) WHERE current;

CREATE FUNCTION issuers_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.id, NEW.tenant, NEW.issuer_id, NEW.parent, NEW.cert_der,
      NEW.key_sha1, NEW.key_sha256, NEW.name_sha1, NEW.name_sha256,
      NEW.not_before, NEW.not_after, NEW.created_at)
     IS DISTINCT FROM
     (OLD.id, OLD.tenant, OLD.issuer_id, OLD.parent, OLD.cert_der,
      OLD.key_sha1, OLD.key_sha256, OLD.name_sha1, OLD.name_sha256,
      OLD.not_before, OLD.not_after, OLD.created_at) THEN
    RAISE EXCEPTION 'issuers: only current and key_ref may change'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER issuers_guard BEFORE UPDATE ON issuers
  FOR EACH ROW EXECUTE FUNCTION issuers_guard();

CREATE TABLE certificates (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant             uuid NOT NULL REFERENCES tenants (id),
  issuer             uuid NOT NULL,
  -- DER INTEGER contents: positive, minimal, at most 20 octets (RFC 5280).
  serial             bytea NOT NULL
                     CONSTRAINT certificates_serial_der
                     CHECK (octet_length(serial) BETWEEN 1 AND 20
                            AND get_byte(serial, 0) < 128
                            AND NOT (octet_length(serial) > 1
                                     AND get_byte(serial, 0) = 0
                                     AND get_byte(serial, 1) < 128)),
  -- The identity the certificate belongs to (graph node cert:NAME).
  name               text NOT NULL
                     CHECK (octet_length(name) BETWEEN 1 AND 255),
  subject_dn         text NOT NULL,
  sans               jsonb NOT NULL DEFAULT '[]'
                     CHECK (jsonb_typeof(sans) = 'array'),
  -- SHA-256 of the SubjectPublicKeyInfo: finds every certificate of a
  -- compromised key (blast radius).
  spki_sha256        bytea NOT NULL CHECK (octet_length(spki_sha256) = 32),
  cert_der           bytea NOT NULL CHECK (octet_length(cert_der) > 0),
  not_before         timestamptz NOT NULL,
  not_after          timestamptz NOT NULL,
  -- Maintained by the revocations table (insert there to revoke).
  status             text NOT NULL DEFAULT 'active'
                     CHECK (status IN ('active', 'revoked')),
  revoked_at         timestamptz,
  revocation_reason  text
                     CONSTRAINT certificates_revocation_reason_valid
                     CHECK (revocation_reason IN (
                       'unspecified', 'keyCompromise', 'affiliationChanged',
                       'superseded', 'cessationOfOperation',
                       'privilegeWithdrawn')),
  created_at         timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant, issuer) REFERENCES issuers (tenant, id),
  UNIQUE (issuer, serial),
  CHECK (not_after > not_before),
  CONSTRAINT certificates_status_consistent CHECK (
    (status = 'active' AND revoked_at IS NULL AND revocation_reason IS NULL)
    OR (status = 'revoked' AND revoked_at IS NOT NULL
        AND revocation_reason IS NOT NULL))
);
CREATE INDEX certificates_tenant_name ON certificates (tenant, name);
CREATE INDEX certificates_spki ON certificates (spki_sha256);
CREATE INDEX certificates_issuer_expiry ON certificates (issuer, not_after);

-- Certificates are the system of record: their content never changes, they
-- are never deleted, and status changes only through revocations.
CREATE FUNCTION certificates_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.id, NEW.tenant, NEW.issuer, NEW.serial, NEW.name, NEW.subject_dn,
      NEW.sans, NEW.spki_sha256, NEW.cert_der, NEW.not_before, NEW.not_after,
      NEW.created_at)
     IS DISTINCT FROM
     (OLD.id, OLD.tenant, OLD.issuer, OLD.serial, OLD.name, OLD.subject_dn,
      OLD.sans, OLD.spki_sha256, OLD.cert_der, OLD.not_before, OLD.not_after,
      OLD.created_at) THEN
    RAISE EXCEPTION 'certificates: issued certificates are immutable'
      USING ERRCODE = 'check_violation';
  END IF;
  -- Depth 1 is a statement from a client; the revocations trigger runs
  -- its UPDATE at depth 2.
  IF (NEW.status, NEW.revoked_at, NEW.revocation_reason)
     IS DISTINCT FROM (OLD.status, OLD.revoked_at, OLD.revocation_reason)
     AND pg_trigger_depth() < 2 THEN
    RAISE EXCEPTION 'certificates: revoke by inserting into revocations'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER certificates_guard BEFORE UPDATE ON certificates
  FOR EACH ROW EXECUTE FUNCTION certificates_guard();
CREATE TRIGGER certificates_no_delete BEFORE DELETE ON certificates
  FOR EACH ROW EXECUTE FUNCTION vigil_refuse(
    'issued certificates are kept (revoke instead)');
CREATE TRIGGER certificates_no_truncate BEFORE TRUNCATE ON certificates
  FOR EACH STATEMENT EXECUTE FUNCTION vigil_refuse(
    'issued certificates are kept (revoke instead)');

-- ---------------------------------------------------------------------------
-- Revocation
-- ---------------------------------------------------------------------------

-- One row per revoked certificate; inserting it is THE way to revoke.
-- tenant, issuer, serial and not_after are copied from the certificate by
-- the database (for the CRL generator's scan by issuer).
CREATE TABLE revocations (
  certificate  uuid PRIMARY KEY REFERENCES certificates (id),
  tenant       uuid NOT NULL REFERENCES tenants (id),
  issuer       uuid NOT NULL REFERENCES issuers (id),
  serial       bytea NOT NULL,
  not_after    timestamptz NOT NULL,
  revoked_at   timestamptz NOT NULL DEFAULT now(),
  reason       text NOT NULL
               CONSTRAINT revocations_reason_valid
               CHECK (reason IN (
                 'unspecified', 'keyCompromise', 'affiliationChanged',
                 'superseded', 'cessationOfOperation', 'privilegeWithdrawn')),
  -- Who revoked (NULL: the control plane itself).
  principal    uuid REFERENCES principals (id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz,
  UNIQUE (issuer, serial)
);
CREATE INDEX revocations_issuer_expiry ON revocations (issuer, not_after);

CREATE TABLE revocation_queue (
  id               bigserial PRIMARY KEY,
  certificate      uuid NOT NULL REFERENCES certificates (id),
  issuer           uuid NOT NULL REFERENCES issuers (id),
  enqueued_at      timestamptz NOT NULL DEFAULT now(),
  status           text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'published')),
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- Earliest time of the next attempt (backoff after a failure).
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_error       text,
  published_at     timestamptz,
  CHECK ((status = 'published') = (published_at IS NOT NULL))
);
CREATE INDEX revocation_queue_pending ON revocation_queue (next_attempt_at, id)
  WHERE status = 'pending';
CREATE INDEX revocation_queue_certificate ON revocation_queue (certificate, id);

CREATE FUNCTION revocations_fill() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  c certificates%ROWTYPE;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT * INTO c FROM certificates WHERE id = NEW.certificate FOR UPDATE;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'revocations: no certificate %', NEW.certificate
        USING ERRCODE = 'foreign_key_violation';
    END IF;
    NEW.tenant := c.tenant;
    NEW.issuer := c.issuer;
    NEW.serial := c.serial;
    NEW.not_after := c.not_after;
    NEW.updated_at := NULL;
    RETURN NEW;
  END IF;
  -- UPDATE: the only change allowed is the reason, and only to
  -- keyCompromise (CA/B Forum BR 4.9.1.1 lets a reason be raised to it).
  IF (NEW.certificate, NEW.tenant, NEW.issuer, NEW.serial, NEW.not_after,
      NEW.revoked_at, NEW.created_at)
     IS DISTINCT FROM
     (OLD.certificate, OLD.tenant, OLD.issuer, OLD.serial, OLD.not_after,
      OLD.revoked_at, OLD.created_at) THEN
    RAISE EXCEPTION 'revocations: only the reason may change'
      USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.reason IS DISTINCT FROM OLD.reason AND NEW.reason <> 'keyCompromise'
  THEN
    RAISE EXCEPTION 'revocations: a reason may only change to keyCompromise'
      USING ERRCODE = 'check_violation';
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
CREATE TRIGGER revocations_fill BEFORE INSERT OR UPDATE ON revocations
  FOR EACH ROW EXECUTE FUNCTION revocations_fill();

-- Keep the certificate's status in step and enqueue the publication in
-- the same transaction, so an acknowledged revocation is always published.
CREATE FUNCTION revocations_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.reason IS NOT DISTINCT FROM OLD.reason THEN
    RETURN NULL;
  END IF;
  UPDATE certificates
     SET status = 'revoked', revoked_at = NEW.revoked_at,
         revocation_reason = NEW.reason
   WHERE id = NEW.certificate;
  INSERT INTO revocation_queue (certificate, issuer)
    VALUES (NEW.certificate, NEW.issuer);
  RETURN NULL;
END
$$;
CREATE TRIGGER revocations_apply AFTER INSERT OR UPDATE ON revocations
  FOR EACH ROW EXECUTE FUNCTION revocations_apply();
CREATE TRIGGER revocations_no_delete BEFORE DELETE ON revocations
  FOR EACH ROW EXECUTE FUNCTION vigil_refuse(
    'a revocation cannot be undone (certificateHold is not supported)');
CREATE TRIGGER revocations_no_truncate BEFORE TRUNCATE ON revocations
  FOR EACH STATEMENT EXECUTE FUNCTION vigil_refuse(
    'a revocation cannot be undone (certificateHold is not supported)');

-- ---------------------------------------------------------------------------
-- OCSP responder certificates and CRLs
-- ---------------------------------------------------------------------------

-- Delegated OCSP responder certificates (id-kp-OCSPSigning + ocsp-nocheck),
-- minted by vigil-signer for one issuer each.
CREATE TABLE ocsp_responder_certs (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  issuer      uuid NOT NULL REFERENCES issuers (id),
  serial      bytea NOT NULL CHECK (octet_length(serial) BETWEEN 1 AND 20),
  cert_der    bytea NOT NULL CHECK (octet_length(cert_der) > 0),
  -- ResponderID byKey: SHA-1 of the responder's public key bits.
  key_sha1    bytea NOT NULL CHECK (octet_length(key_sha1) = 20),
  key_type    text NOT NULL CHECK (key_type IN ('ecdsa-p256', 'ecdsa-p384',
                                                'ed25519', 'rsa')),
  -- Where the edge/signer finds the responder key; never the key itself.
  key_ref     text NOT NULL CHECK (octet_length(key_ref) BETWEEN 1 AND 255),
  not_before  timestamptz NOT NULL,
  not_after   timestamptz NOT NULL,
  current     boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  retired_at  timestamptz,
  UNIQUE (issuer, serial),
  CHECK (not_after > not_before),
  CHECK (NOT (current AND retired_at IS NOT NULL))
);
CREATE UNIQUE INDEX ocsp_responder_certs_one_current
  ON ocsp_responder_certs (issuer) WHERE current;

-- The highest CRL number ever used per issuer.  Kept apart from crl_cache
-- so that deleting a cache row (to force regeneration) cannot make a
-- number go backwards.  Rows are never deleted; numbers only increase.
CREATE TABLE crl_numbers (
  issuer       uuid PRIMARY KEY REFERENCES issuers (id),
  last_number  numeric(49, 0) NOT NULL
               CHECK (last_number >= 0 AND last_number < 2::numeric ^ 159),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION crl_numbers_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.issuer IS DISTINCT FROM OLD.issuer
     OR NEW.last_number <= OLD.last_number THEN
    RAISE EXCEPTION 'crl_numbers: CRL numbers only increase (% after %)',
      NEW.last_number, OLD.last_number
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER crl_numbers_guard BEFORE UPDATE ON crl_numbers
  FOR EACH ROW EXECUTE FUNCTION crl_numbers_guard();
CREATE TRIGGER crl_numbers_no_delete BEFORE DELETE ON crl_numbers
  FOR EACH ROW EXECUTE FUNCTION vigil_refuse(
    'CRL numbers must stay strictly increasing');
CREATE TRIGGER crl_numbers_no_truncate BEFORE TRUNCATE ON crl_numbers
  FOR EACH STATEMENT EXECUTE FUNCTION vigil_refuse(
    'CRL numbers must stay strictly increasing');

-- The current CRL per issuer (and shard, for partitioned CRLs; 0 = the
-- full CRL).  Safe to delete: the generator rebuilds it.
CREATE TABLE crl_cache (
  issuer         uuid NOT NULL REFERENCES issuers (id),
  shard          integer NOT NULL DEFAULT 0 CHECK (shard >= 0),
  crl_number     numeric(49, 0) NOT NULL
                 CHECK (crl_number >= 0 AND crl_number < 2::numeric ^ 159),
  this_update    timestamptz NOT NULL,
  -- CA/B Forum BR: nextUpdate at most 10 days after thisUpdate.
  next_update    timestamptz NOT NULL
                 CONSTRAINT crl_cache_validity_window
                 CHECK (next_update > this_update
                        AND next_update <= this_update + interval '10 days'),
  der            bytea NOT NULL CHECK (octet_length(der) > 0),
  revoked_count  integer NOT NULL CHECK (revoked_count >= 0),
  generated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (issuer, shard)
);

-- Every CRL written to the cache must carry a number above every number
-- this issuer used before (RFC 5280 5.2.3; BR: strictly increasing).  The
-- check runs before the write and the high-water mark moves after it, so
-- an upsert (INSERT ... ON CONFLICT DO UPDATE, which fires the BEFORE
-- INSERT and then the BEFORE UPDATE trigger) is checked twice against the
-- same mark.  The row lock on crl_numbers makes concurrent writers for one
-- issuer take turns.
CREATE FUNCTION crl_cache_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  hw numeric;
BEGIN
  SELECT last_number INTO hw FROM crl_numbers
   WHERE issuer = NEW.issuer FOR UPDATE;
  IF hw IS NOT NULL AND NEW.crl_number <= hw THEN
    RAISE EXCEPTION 'crl_cache: CRL number % is not above % (issuer %)',
      NEW.crl_number, hw, NEW.issuer
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER crl_cache_check BEFORE INSERT OR UPDATE ON crl_cache
  FOR EACH ROW EXECUTE FUNCTION crl_cache_check();

CREATE FUNCTION crl_cache_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO crl_numbers (issuer, last_number)
    VALUES (NEW.issuer, NEW.crl_number)
    ON CONFLICT (issuer)
    DO UPDATE SET last_number = EXCLUDED.last_number, updated_at = now();
  RETURN NULL;
END
$$;
CREATE TRIGGER crl_cache_record AFTER INSERT OR UPDATE ON crl_cache
  FOR EACH ROW EXECUTE FUNCTION crl_cache_record();

CREATE TABLE crl_generation_events (
  id             bigserial PRIMARY KEY,
  issuer         uuid NOT NULL REFERENCES issuers (id),
  shard          integer NOT NULL DEFAULT 0 CHECK (shard >= 0),
  started_at     timestamptz NOT NULL,
  duration_ms    integer NOT NULL CHECK (duration_ms >= 0),
  succeeded      boolean NOT NULL,
  error          text,
  crl_number     numeric(49, 0),
  revoked_count  integer CHECK (revoked_count >= 0),
  CHECK (succeeded = (error IS NULL)),
  CHECK (NOT succeeded OR (crl_number IS NOT NULL
                           AND revoked_count IS NOT NULL))
);
CREATE INDEX crl_generation_events_issuer
  ON crl_generation_events (issuer, started_at DESC);

-- ---------------------------------------------------------------------------
-- Audit log: append-only and hash-chained
-- ---------------------------------------------------------------------------
--
-- Each row's hash = SHA-256(prev_hash || canonical), where prev_hash is the
-- previous row's hash (32 zero octets before the first row) and canonical
-- is the UTF-8 text made of these netstrings ("<octet length>:<value>,"):
--
--   "vigil-audit-v1", id (decimal), at (microseconds since the Unix epoch,
--   decimal), type, principal (uuid text, "" if none), tenant (uuid text,
--   "" if none), subject, details (the jsonb's text form, details::text)
--
-- The insert trigger takes the single audit_head row FOR UPDATE, so
-- concurrent appenders queue and the chain never forks; it assigns the id
-- (head + 1: no gaps), the time, prev_hash and hash.  Whatever a client
-- puts in those columns is overwritten.

CREATE TABLE audit_events (
  id         bigint PRIMARY KEY,
  at         timestamptz NOT NULL,
  type       text NOT NULL
             CONSTRAINT audit_events_type_format
             CHECK (type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'
                    AND octet_length(type) <= 100),
  -- Who acted (NULL: the control plane itself).
  principal  uuid REFERENCES principals (id),
  tenant     uuid REFERENCES tenants (id),
  -- What it acted on, e.g. "certificate:<uuid>" ("" if nothing).
  subject    text NOT NULL DEFAULT ''
             CHECK (octet_length(subject) <= 1024),
  details    jsonb NOT NULL DEFAULT '{}'
             CHECK (jsonb_typeof(details) = 'object'),
  prev_hash  bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
  hash       bytea NOT NULL CHECK (octet_length(hash) = 32)
);
CREATE INDEX audit_events_type ON audit_events (type, id);
CREATE INDEX audit_events_tenant ON audit_events (tenant, id);
CREATE INDEX audit_events_principal ON audit_events (principal, id);
CREATE INDEX audit_events_at ON audit_events (at);

-- The end of the chain: one row, moved only by the audit insert trigger.
CREATE TABLE audit_head (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  last_id    bigint NOT NULL CHECK (last_id >= 0),
  last_hash  bytea NOT NULL CHECK (octet_length(last_hash) = 32)
);
INSERT INTO audit_head (singleton, last_id, last_hash)
  VALUES (true, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- audit_event_canonical: the octets a row's hash covers after prev_hash.
-- ctl_audit.c (the verifier) spells the same expression out on its own,
-- so a changed function here cannot make a tampered chain verify.
CREATE FUNCTION audit_event_canonical(p_id bigint, p_at timestamptz,
                                      p_type text, p_principal uuid,
                                      p_tenant uuid, p_subject text,
                                      p_details jsonb)
RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT convert_to(
    '14:vigil-audit-v1,'
    || octet_length(p_id::text) || ':' || p_id::text || ','
    || octet_length(((extract(epoch FROM p_at) * 1000000)::bigint)::text)
    || ':' || ((extract(epoch FROM p_at) * 1000000)::bigint)::text || ','
    || octet_length(p_type) || ':' || p_type || ','
    || octet_length(coalesce(p_principal::text, '')) || ':'
    || coalesce(p_principal::text, '') || ','
    || octet_length(coalesce(p_tenant::text, '')) || ':'
    || coalesce(p_tenant::text, '') || ','
    || octet_length(p_subject) || ':' || p_subject || ','
    || octet_length(p_details::text) || ':' || p_details::text || ',',
    'UTF8')
$$;

-- SECURITY DEFINER: the runtime role needs INSERT on audit_events only, and
-- no privilege at all on audit_head (docs/operations.md, "Roles"); the
-- search_path is pinned below so a temporary table cannot stand in for
-- audit_head.
CREATE FUNCTION audit_events_chain() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER AS $$
DECLARE
  h audit_head%ROWTYPE;
BEGIN
  SELECT * INTO STRICT h FROM audit_head WHERE singleton FOR UPDATE;
  NEW.id := h.last_id + 1;
  -- After the lock, so times follow the chain order.
  NEW.at := clock_timestamp();
  NEW.subject := coalesce(NEW.subject, '');
  NEW.details := coalesce(NEW.details, '{}'::jsonb);
  NEW.prev_hash := h.last_hash;
  NEW.hash := sha256(h.last_hash || audit_event_canonical(
    NEW.id, NEW.at, NEW.type, NEW.principal, NEW.tenant, NEW.subject,
    NEW.details));
  UPDATE audit_head SET last_id = NEW.id, last_hash = NEW.hash
   WHERE singleton;
  RETURN NEW;
END
$$;
DO $$
BEGIN
  -- The schema this migration creates its tables in, then pg_temp last.
  EXECUTE format('ALTER FUNCTION audit_events_chain() SET search_path = %I, pg_temp',
                 current_schema());
END
$$;
CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_chain();
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION vigil_refuse(
    'audit_events is append-only');
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION vigil_refuse(
    'audit_events is append-only');
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION vigil_refuse(
    'audit_events is append-only');

CREATE FUNCTION audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Depth 1: a client's statement; the chain trigger updates at depth 2.
  IF pg_trigger_depth() < 2 THEN
    RAISE EXCEPTION 'audit_head: moved only by appending to audit_events'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER audit_head_guard BEFORE UPDATE ON audit_head
  FOR EACH ROW EXECUTE FUNCTION audit_head_guard();
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
  FOR EACH ROW EXECUTE FUNCTION vigil_refuse('the audit chain head is kept');
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
  FOR EACH STATEMENT EXECUTE FUNCTION vigil_refuse(
    'the audit chain head is kept');
