-- 0005_incidents.sql: incident executions, replace-then-revoke (issue 5).
--
-- An execution contains one compromised certificate (the identity): it
-- records evidence, issues a replacement with a new key, delivers it through
-- a connector, revokes the compromised certificate and seals the evidence
-- pack, in this order and never another (docs/api.md, "Incident
-- executions"; ctl_api_incident.c runs the steps).  Each step commits on its
-- own, so a crash resumes at the next step.  The database enforces:
--   * at most one running execution per identity;
--   * steps complete in order; revoke completes only after a successful
--     delivery; a step that ended never changes again;
--   * the replacement, once recorded, never changes (no second one);
--   * once sealed (pack set) an execution and its steps are immutable;
--     nothing here is ever deleted (except the staged replacement key).

CREATE TABLE incident_executions (
  id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant                 uuid NOT NULL REFERENCES tenants (id),
  -- The compromised certificate.
  identity               uuid NOT NULL REFERENCES certificates (id),
  reason                 text NOT NULL
                         CHECK (octet_length(reason) BETWEEN 1 AND 1024),
  replacement_name       text NOT NULL
                         CHECK (octet_length(replacement_name) BETWEEN 1 AND 255),
  connector              text NOT NULL
                         CHECK (connector IN ('nginx', 'file', 'webhook')),
  target                 text NOT NULL
                         CHECK (octet_length(target) BETWEEN 1 AND 2048),
  -- nginx: host:port whose served certificate is checked after the reload.
  check_address          text CHECK (octet_length(check_address) <= 300),
  delivery_rollback_ref  text CHECK (octet_length(delivery_rollback_ref) <= 1024),
  requested_by           uuid NOT NULL REFERENCES principals (id),
  status                 text NOT NULL DEFAULT 'running'
                         CHECK (status IN ('running', 'completed', 'failed')),
  next_step              text NOT NULL DEFAULT 'record_evidence'
                         CHECK (next_step IN ('record_evidence',
                                'issue_replacement', 'deliver', 'revoke',
                                'seal', 'done')),
  failed_step            text CHECK (failed_step IN ('issue_replacement',
                                                     'deliver')),
  replacement            uuid REFERENCES certificates (id),
  -- The audit events of this execution, in order (the evidence pack's
  -- audit bundle).
  audit_ids              bigint[] NOT NULL DEFAULT '{}',
  next_attempt_at        timestamptz NOT NULL DEFAULT now(),
  -- The sealed evidence pack: its canonical JSON text, written once.
  pack                   text,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  finished_at            timestamptz,
  CHECK ((status = 'running') = (pack IS NULL)),
  CHECK ((status = 'running') = (finished_at IS NULL)),
  CHECK ((next_step = 'done') = (status <> 'running')),
  CHECK (status <> 'failed' OR failed_step IS NOT NULL),
  CHECK (identity IS DISTINCT FROM replacement)
);
-- One running execution per identity: a repeated request finds it.
CREATE UNIQUE INDEX incident_executions_one_running
  ON incident_executions (identity) WHERE status = 'running';
CREATE INDEX incident_executions_due
  ON incident_executions (next_attempt_at) WHERE status = 'running';
CREATE INDEX incident_executions_tenant
  ON incident_executions (tenant, created_at);

CREATE FUNCTION incident_step_order(step text) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT array_position(ARRAY['record_evidence', 'issue_replacement',
                              'deliver', 'revoke', 'seal', 'done'], step)
$$;

CREATE FUNCTION incident_executions_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.pack IS NOT NULL THEN
    RAISE EXCEPTION 'incident_executions: a sealed execution is immutable'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF (NEW.id, NEW.tenant, NEW.identity, NEW.reason, NEW.replacement_name,
      NEW.connector, NEW.target, NEW.check_address, NEW.delivery_rollback_ref,
      NEW.requested_by, NEW.created_at)
     IS DISTINCT FROM
     (OLD.id, OLD.tenant, OLD.identity, OLD.reason, OLD.replacement_name,
      OLD.connector, OLD.target, OLD.check_address, OLD.delivery_rollback_ref,
      OLD.requested_by, OLD.created_at) THEN
    RAISE EXCEPTION 'incident_executions: the request cannot change'
      USING ERRCODE = 'check_violation';
  END IF;
  IF OLD.replacement IS NOT NULL
     AND NEW.replacement IS DISTINCT FROM OLD.replacement THEN
    RAISE EXCEPTION 'incident_executions: the replacement cannot change'
      USING ERRCODE = 'check_violation';
  END IF;
  IF incident_step_order(NEW.next_step) < incident_step_order(OLD.next_step)
  THEN
    RAISE EXCEPTION 'incident_executions: steps only move forward (% after %)',
      NEW.next_step, OLD.next_step
      USING ERRCODE = 'check_violation';
  END IF;
  IF OLD.audit_ids <> NEW.audit_ids[1:cardinality(OLD.audit_ids)] THEN
    RAISE EXCEPTION 'incident_executions: audit ids are append-only'
      USING ERRCODE = 'check_violation';
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
CREATE TRIGGER incident_executions_guard BEFORE UPDATE ON incident_executions
  FOR EACH ROW EXECUTE FUNCTION incident_executions_guard();
CREATE TRIGGER incident_executions_no_delete BEFORE DELETE
  ON incident_executions FOR EACH ROW EXECUTE FUNCTION vigil_refuse(
    'incident executions are evidence and are kept');
CREATE TRIGGER incident_executions_no_truncate BEFORE TRUNCATE
  ON incident_executions FOR EACH STATEMENT EXECUTE FUNCTION vigil_refuse(
    'incident executions are evidence and are kept');

-- One row per step of an execution, made with the execution.
CREATE TABLE incident_steps (
  execution    uuid NOT NULL REFERENCES incident_executions (id),
  step         text NOT NULL
               CHECK (step IN ('record_evidence', 'issue_replacement',
                               'deliver', 'revoke', 'seal')),
  status       text NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'done', 'failed', 'skipped')),
  attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error   text CHECK (octet_length(last_error) <= 2048),
  -- What the step produced (evidence snapshot, replacement, receipt, ...).
  result       jsonb CHECK (result IS NULL OR jsonb_typeof(result) = 'object'),
  finished_at  timestamptz,
  PRIMARY KEY (execution, step),
  CHECK ((status = 'pending') = (finished_at IS NULL))
);

CREATE FUNCTION incident_steps_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  sealed boolean;
  blocking int;
BEGIN
  SELECT pack IS NOT NULL INTO sealed FROM incident_executions
   WHERE id = OLD.execution;
  IF sealed THEN
    RAISE EXCEPTION 'incident_steps: the execution is sealed'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.status <> 'pending' THEN
    RAISE EXCEPTION 'incident_steps: step % already ended (%)', OLD.step,
      OLD.status USING ERRCODE = 'check_violation';
  END IF;
  IF (NEW.execution, NEW.step) IS DISTINCT FROM (OLD.execution, OLD.step) THEN
    RAISE EXCEPTION 'incident_steps: a step cannot move'
      USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.status = 'done' THEN
    -- Every earlier step ended well (done, or revoke skipped).
    SELECT count(*) INTO blocking FROM incident_steps
     WHERE execution = NEW.execution
       AND incident_step_order(step) < incident_step_order(NEW.step)
       AND NOT (status = 'done' OR status = 'skipped'
                OR (status = 'failed' AND NEW.step = 'seal'));
    IF blocking > 0 THEN
      RAISE EXCEPTION 'incident_steps: % before the steps ahead of it',
        NEW.step USING ERRCODE = 'check_violation';
    END IF;
    -- Never revoke before a successful delivery.
    IF NEW.step = 'revoke' AND NOT EXISTS (
         SELECT 1 FROM incident_steps WHERE execution = NEW.execution
            AND step = 'deliver' AND status = 'done') THEN
      RAISE EXCEPTION 'incident_steps: revoke before a successful delivery'
        USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  IF NEW.status = 'skipped' AND NEW.step NOT IN ('deliver', 'revoke') THEN
    RAISE EXCEPTION 'incident_steps: only deliver and revoke may be skipped'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER incident_steps_guard BEFORE UPDATE ON incident_steps
  FOR EACH ROW EXECUTE FUNCTION incident_steps_guard();
CREATE TRIGGER incident_steps_no_delete BEFORE DELETE ON incident_steps
  FOR EACH ROW EXECUTE FUNCTION vigil_refuse(
    'incident steps are evidence and are kept');
CREATE TRIGGER incident_steps_no_truncate BEFORE TRUNCATE ON incident_steps
  FOR EACH STATEMENT EXECUTE FUNCTION vigil_refuse(
    'incident steps are evidence and are kept');

-- The replacement's private key between the issue and the deliver steps
-- (a crash in between must not lose it).  Deleted as soon as the delivery
-- ended, successfully or not; never part of any answer or audit event.
CREATE TABLE incident_keys (
  execution   uuid PRIMARY KEY REFERENCES incident_executions (id),
  key_pem     text NOT NULL CHECK (octet_length(key_pem) BETWEEN 1 AND 16384),
  created_at  timestamptz NOT NULL DEFAULT now()
);
