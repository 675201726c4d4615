-- 0007_tokens.sql: API token lifecycle (docs/api.md, "Token expiry and
-- revocation").  api_tokens already has expires_at and revoked_at (0001);
-- this records who revoked a token and makes the lifecycle one-way, in the
-- database: a revoked token stays revoked, an expiry can be set or brought
-- forward but never removed or pushed back, and a token's identity (hash,
-- principal, creation time) never changes.

ALTER TABLE api_tokens ADD COLUMN revoked_by uuid REFERENCES principals (id);
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_revoked_by_with_time
  CHECK (revoked_by IS NULL OR revoked_at IS NOT NULL);

CREATE FUNCTION api_tokens_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.token_sha256 <> OLD.token_sha256 OR NEW.principal <> OLD.principal
     OR NEW.created_at <> OLD.created_at THEN
    RAISE EXCEPTION 'api_tokens: a token''s hash, principal and creation time are fixed'
      USING ERRCODE = 'check_violation';
  END IF;
  IF OLD.revoked_at IS NOT NULL
     AND (NEW.revoked_at IS DISTINCT FROM OLD.revoked_at
          OR NEW.revoked_by IS DISTINCT FROM OLD.revoked_by) THEN
    RAISE EXCEPTION 'api_tokens: a revoked token stays revoked'
      USING ERRCODE = 'check_violation';
  END IF;
  IF OLD.expires_at IS NOT NULL
     AND (NEW.expires_at IS NULL OR NEW.expires_at > OLD.expires_at) THEN
    RAISE EXCEPTION 'api_tokens: an expiry cannot be removed or extended'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER api_tokens_guard BEFORE UPDATE ON api_tokens
  FOR EACH ROW EXECUTE FUNCTION api_tokens_guard();
