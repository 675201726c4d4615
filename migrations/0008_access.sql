-- 0008_access.sql: brokered, short-lived privileged access (issue 5,
-- DESIGN.md section 5: POST /access/sessions).
--
-- An admin registers an access target (a Postgres server vigil-control may
-- create login roles on) with a map of the role names a session may ask
-- for to the server roles it is then granted.  A session is a login role
-- made for one person and one reason, valid until its expiry (VALID UNTIL
-- on the target stops new logins even if vigil-control is late), dropped
-- at expiry or revocation.  The password is shown once in the answer and
-- stored nowhere: only its SHA-256.

CREATE TABLE access_targets (
  id          text PRIMARY KEY
              CHECK (id ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  type        text NOT NULL CHECK (type IN ('postgres')),
  -- role name -> array of server role names, e.g.
  -- {"readonly": ["pg_read_all_data"]}
  roles       jsonb NOT NULL CHECK (jsonb_typeof(roles) = 'object'),
  -- dbname put in the connection hint (NULL: the conninfo's)
  database    text CHECK (octet_length(database) BETWEEN 1 AND 63),
  created_by  uuid REFERENCES principals (id),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- The admin conninfo of each target, apart from the target so that a
-- reporting role can read access_targets without it.  Only vigil-control
-- reads this table; the API never returns it.
CREATE TABLE access_target_secrets (
  target    text PRIMARY KEY REFERENCES access_targets (id),
  conninfo  text NOT NULL CHECK (octet_length(conninfo) BETWEEN 1 AND 1024)
);

-- One session.  state: opening (row made, role being created), active
-- (credential handed out), expired / revoked (role dropped), failed (the
-- role could not be created).
CREATE TABLE access_sessions (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  target           text NOT NULL REFERENCES access_targets (id),
  role             text NOT NULL CHECK (octet_length(role) BETWEEN 1 AND 63),
  username         text NOT NULL UNIQUE
                   CHECK (username ~ '^vigil_s_[0-9a-f]{16}$'),
  password_sha256  bytea CHECK (octet_length(password_sha256) = 32),
  reason           text NOT NULL
                   CHECK (octet_length(reason) BETWEEN 1 AND 1024),
  method           text CHECK (octet_length(method) BETWEEN 1 AND 64),
  principal        uuid NOT NULL REFERENCES principals (id),
  tenant           uuid REFERENCES tenants (id),
  state            text NOT NULL DEFAULT 'opening'
                   CHECK (state IN ('opening', 'active', 'expired',
                                    'revoked', 'failed')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  expires_at       timestamptz NOT NULL,
  ended_at         timestamptz,
  last_error       text,
  -- after a failed role drop the sweep leaves the session alone until
  -- then (an unreachable target must not slow every request)
  retry_at         timestamptz,
  CHECK (expires_at > created_at),
  CHECK ((ended_at IS NULL) = (state IN ('opening', 'active')))
);
-- The expiry sweep's work list.
CREATE INDEX access_sessions_due ON access_sessions (expires_at)
  WHERE state IN ('opening', 'active');

CREATE TRIGGER access_sessions_no_delete BEFORE DELETE ON access_sessions
  FOR EACH ROW EXECUTE FUNCTION vigil_refuse(
    'access sessions are kept as a record');
CREATE TRIGGER access_targets_no_delete BEFORE DELETE ON access_targets
  FOR EACH ROW EXECUTE FUNCTION vigil_refuse(
    'access targets are kept as a record of their sessions');

-- The one-time password is not kept for Idempotency-Key replays either:
-- vigil-control redacts secret members ("credential") from the answer it
-- stores in idempotency_keys (control/ctl_api.c).
