-- 0004_approvals.sql: dual control and break-glass (issue 5).
--
-- Dual control: a tenant's policy names the actions that need a second
-- person (certificate.issue, certificate.revoke, incident.execute).  Such
-- an action is refused until the requester holds an approval for exactly
-- that action and identity, decided by a distinct principal with the
-- approver role; using it consumes it (one approval, one action).
--
-- Break-glass: a principal minted by an admin as a break-glass credential
-- may skip the second person, with a stated reason; each use opens a
-- reconciliation item that a different principal must review afterwards.
--
-- Rules the database enforces itself:
--   * an approval is never decided by its requester (CHECK), moves only
--     pending -> approved | denied | expired and approved -> consumed |
--     expired (trigger), cannot be approved or consumed once expired, and
--     its request fields never change; approvals are never deleted.
--   * a reconciliation item is never reviewed by the principal who broke
--     glass (CHECK), moves only open -> reviewed, and is never deleted.

-- ---------------------------------------------------------------------------
-- Policy
-- ---------------------------------------------------------------------------

-- One row per tenant and profile.  profile '' is the tenant-wide policy;
-- other values are room for per-profile policies (certificate profiles do
-- not exist yet, so only '' is consulted today).  No row: no dual control.
CREATE TABLE dual_control_policies (
  tenant      uuid NOT NULL REFERENCES tenants (id),
  profile     text NOT NULL DEFAULT ''
              CHECK (profile = '' OR profile ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  issue       boolean NOT NULL DEFAULT false,  -- certificate.issue
  revoke      boolean NOT NULL DEFAULT false,  -- certificate.revoke
  execute     boolean NOT NULL DEFAULT false,  -- incident.execute
  updated_by  uuid REFERENCES principals (id),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, profile)
);

-- ---------------------------------------------------------------------------
-- Approval requests
-- ---------------------------------------------------------------------------

CREATE TABLE approvals (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant       uuid NOT NULL REFERENCES tenants (id),
  -- What the approval covers: a certificate id (revoke, execute) or, for
  -- an issue, the identity's name.
  identity     text NOT NULL CHECK (octet_length(identity) BETWEEN 1 AND 255),
  action       text NOT NULL
               CHECK (action IN ('certificate.issue', 'certificate.revoke',
                                 'incident.execute')),
  requester    uuid NOT NULL REFERENCES principals (id),
  reason       text CHECK (octet_length(reason) <= 1024),
  status       text NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'approved', 'denied', 'expired',
                                 'consumed')),
  approver     uuid REFERENCES principals (id),
  decided_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  consumed_at  timestamptz,
  CONSTRAINT approvals_not_self CHECK (approver IS NULL
                                       OR approver <> requester),
  CHECK (expires_at > created_at
         AND expires_at <= created_at + interval '1 day'),
  CONSTRAINT approvals_status_consistent CHECK (
    (status = 'pending' AND approver IS NULL AND decided_at IS NULL
     AND consumed_at IS NULL)
    OR (status IN ('approved', 'denied') AND approver IS NOT NULL
        AND decided_at IS NOT NULL AND consumed_at IS NULL)
    OR (status = 'consumed' AND approver IS NOT NULL
        AND decided_at IS NOT NULL AND consumed_at IS NOT NULL)
    OR (status = 'expired' AND consumed_at IS NULL))
);
CREATE INDEX approvals_lookup
  ON approvals (tenant, action, identity, requester)
  WHERE status = 'approved';
CREATE INDEX approvals_open ON approvals (expires_at)
  WHERE status IN ('pending', 'approved');
CREATE INDEX approvals_status ON approvals (status, created_at);

-- New requests start pending and undecided, whatever the client says.
CREATE FUNCTION approvals_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.status := 'pending';
  NEW.approver := NULL;
  NEW.decided_at := NULL;
  NEW.consumed_at := NULL;
  NEW.created_at := now();
  RETURN NEW;
END
$$;
CREATE TRIGGER approvals_insert BEFORE INSERT ON approvals
  FOR EACH ROW EXECUTE FUNCTION approvals_insert();

-- The allowed transitions; the times are the database's own.
CREATE FUNCTION approvals_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.id, NEW.tenant, NEW.identity, NEW.action, NEW.requester,
      NEW.reason, NEW.created_at, NEW.expires_at)
     IS DISTINCT FROM
     (OLD.id, OLD.tenant, OLD.identity, OLD.action, OLD.requester,
      OLD.reason, OLD.created_at, OLD.expires_at) THEN
    RAISE EXCEPTION 'approvals: a request cannot be changed'
      USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.status = OLD.status THEN
    IF (NEW.approver, NEW.decided_at, NEW.consumed_at)
       IS DISTINCT FROM (OLD.approver, OLD.decided_at, OLD.consumed_at) THEN
      RAISE EXCEPTION 'approvals: a decision cannot be changed'
        USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END IF;
  IF OLD.status = 'pending' AND NEW.status IN ('approved', 'denied') THEN
    IF NEW.status = 'approved' AND OLD.expires_at <= now() THEN
      RAISE EXCEPTION 'approvals: request % has expired', OLD.id
        USING ERRCODE = 'check_violation';
    END IF;
    NEW.decided_at := now();
  ELSIF OLD.status = 'approved' AND NEW.status = 'consumed' THEN
    IF OLD.expires_at <= now() THEN
      RAISE EXCEPTION 'approvals: approval % has expired', OLD.id
        USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.approver IS DISTINCT FROM OLD.approver
       OR NEW.decided_at IS DISTINCT FROM OLD.decided_at THEN
      RAISE EXCEPTION 'approvals: a decision cannot be changed'
        USING ERRCODE = 'check_violation';
    END IF;
    NEW.consumed_at := now();
  ELSIF OLD.status IN ('pending', 'approved') AND NEW.status = 'expired' THEN
    IF OLD.expires_at > now() THEN
      RAISE EXCEPTION 'approvals: request % has not expired yet', OLD.id
        USING ERRCODE = 'check_violation';
    END IF;
    NEW.approver := OLD.approver;
    NEW.decided_at := OLD.decided_at;
    NEW.consumed_at := NULL;
  ELSE
    RAISE EXCEPTION 'approvals: % -> % is not allowed', OLD.status,
      NEW.status
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER approvals_guard BEFORE UPDATE ON approvals
  FOR EACH ROW EXECUTE FUNCTION approvals_guard();
CREATE TRIGGER approvals_no_delete BEFORE DELETE ON approvals
  FOR EACH ROW EXECUTE FUNCTION vigil_refuse(
    'approvals are kept as the record of dual control');
CREATE TRIGGER approvals_no_truncate BEFORE TRUNCATE ON approvals
  FOR EACH STATEMENT EXECUTE FUNCTION vigil_refuse(
    'approvals are kept as the record of dual control');

-- ---------------------------------------------------------------------------
-- Break-glass
-- ---------------------------------------------------------------------------

-- A break-glass credential is a principal (with its token in api_tokens)
-- marked here by the admin who minted it.  Only such a principal may use
-- the X-Vigil-Break-Glass header; revoked_at ends that (the token itself
-- is ended like any other).
CREATE TABLE break_glass_credentials (
  principal   uuid PRIMARY KEY REFERENCES principals (id),
  created_by  uuid NOT NULL REFERENCES principals (id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  note        text CHECK (octet_length(note) <= 1024),
  revoked_at  timestamptz,
  CHECK (created_by <> principal)
);
CREATE TRIGGER break_glass_credentials_no_delete
  BEFORE DELETE ON break_glass_credentials
  FOR EACH ROW EXECUTE FUNCTION vigil_refuse(
    'break-glass credentials are kept (set revoked_at)');

-- One row per break-glass use, opened in the same transaction as the
-- breakglass.used audit event; open until a second principal reviews it.
CREATE TABLE reconciliations (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant       uuid NOT NULL REFERENCES tenants (id),
  principal    uuid NOT NULL REFERENCES principals (id), -- broke glass
  action       text NOT NULL
               CHECK (action IN ('certificate.issue', 'certificate.revoke',
                                 'incident.execute')),
  identity     text NOT NULL CHECK (octet_length(identity) BETWEEN 1 AND 255),
  reason       text NOT NULL CHECK (octet_length(reason) BETWEEN 1 AND 512),
  -- The breakglass.used event (audit_events.id).  Not a foreign key:
  -- audit rows are never deleted anyway, and a reference would make a
  -- TRUNCATE of audit_events fail on it before the audit log's own refusal.
  audit_event  bigint NOT NULL CHECK (audit_event > 0),
  status       text NOT NULL DEFAULT 'open'
               CHECK (status IN ('open', 'reviewed')),
  reviewer     uuid REFERENCES principals (id),
  reviewed_at  timestamptz,
  review_note  text CHECK (octet_length(review_note) <= 1024),
  created_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT reconciliations_not_self CHECK (reviewer IS NULL
                                             OR reviewer <> principal),
  CHECK ((status = 'open') = (reviewer IS NULL)),
  CHECK ((status = 'open') = (reviewed_at IS NULL))
);
CREATE INDEX reconciliations_open ON reconciliations (created_at)
  WHERE status = 'open';

CREATE FUNCTION reconciliations_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.id, NEW.tenant, NEW.principal, NEW.action, NEW.identity,
      NEW.reason, NEW.audit_event, NEW.created_at)
     IS DISTINCT FROM
     (OLD.id, OLD.tenant, OLD.principal, OLD.action, OLD.identity,
      OLD.reason, OLD.audit_event, OLD.created_at) THEN
    RAISE EXCEPTION 'reconciliations: a break-glass record cannot be changed'
      USING ERRCODE = 'check_violation';
  END IF;
  IF NOT (OLD.status = 'open' AND NEW.status = 'reviewed') THEN
    RAISE EXCEPTION 'reconciliations: % -> % is not allowed', OLD.status,
      NEW.status
      USING ERRCODE = 'check_violation';
  END IF;
  NEW.reviewed_at := now();
  RETURN NEW;
END
$$;
CREATE TRIGGER reconciliations_guard BEFORE UPDATE ON reconciliations
  FOR EACH ROW EXECUTE FUNCTION reconciliations_guard();
CREATE TRIGGER reconciliations_no_delete BEFORE DELETE ON reconciliations
  FOR EACH ROW EXECUTE FUNCTION vigil_refuse(
    'break-glass reconciliation items are kept');
CREATE TRIGGER reconciliations_no_truncate BEFORE TRUNCATE ON reconciliations
  FOR EACH STATEMENT EXECUTE FUNCTION vigil_refuse(
    'break-glass reconciliation items are kept');
