-- 0002_ocsp_presign.sql: when each certificate's pre-signed OCSP response
-- was last signed by the control plane's loops (ctl_loops.c).
--
-- The refresh loop re-signs a response once it is older than refresh-after
-- (CA/B Forum BR 4.9.10: at most 4 days after thisUpdate and at least 8 h
-- before nextUpdate), and `vigil-control resync` records what it signed.
-- The responses themselves live only in Redis (v1:resp:*); this table holds
-- what is needed to schedule the next signing.  A missing row means "not
-- known to be signed": the loop signs it soon.  Safe to delete rows (they
-- are re-signed); certificates are never deleted, so no cascade is needed.

CREATE TABLE ocsp_presign (
  certificate  uuid PRIMARY KEY REFERENCES certificates (id),
  issuer       uuid NOT NULL REFERENCES issuers (id),
  -- The status the response states.
  status       text NOT NULL CHECK (status IN ('good', 'revoked')),
  this_update  timestamptz NOT NULL,
  next_update  timestamptz NOT NULL
               CONSTRAINT ocsp_presign_validity_window
               CHECK (next_update > this_update
                      AND next_update <= this_update + interval '10 days'),
  signed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ocsp_presign_this_update ON ocsp_presign (this_update);
