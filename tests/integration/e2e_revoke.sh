#!/usr/bin/env bash
# e2e_revoke.sh: the whole system, as an operator and a relying party see
# it. Real Postgres, Redis, vigil-signer, vigil-control serve and
# vigil-edge; driven with vigilctl; judged with openssl.
#   issue through the API -> the edge answers good (pre-signed, published by
#   the control plane) -> vigilctl certificates revoke --wait -> the edge
#   answers revoked (keyCompromise), and never good again; the audit chain
#   verifies.
set -euo pipefail
source "$(dirname "$0")/edge_common.bash"

B=${VIGIL_BUILD_DIR:?}
SIGNER=$B/control/signer/vigil-signer
CONTROL=$B/control/vigil-control
VCTL=$B/control/cli/vigilctl
for bin in "$SIGNER" "$CONTROL" "$VCTL"; do
  [ -x "$bin" ] || fail "not built: $bin"
done

edge_init e2e-revoke
W=$EDGE_WORK

step "Postgres, Redis, vigil-signer, vigil-control (migrate, serve), vigil-edge"
vigil_pg_start "$W" >/dev/null || fail "Postgres did not start"
mkdir -m 0700 "$W/keys"
"$SIGNER" --key-dir "$W/keys" --socket "$W/signer.sock" >"$W/signer.log" 2>&1 &
edge_track $!
vigil_wait_for -t "$EDGE_WAIT" -m "signer socket" test -S "$W/signer.sock" ||
  fail "vigil-signer did not start: $(tail -5 "$W/signer.log")"
"$CONTROL" --database-url "$VIGIL_PG_URL" migrate >/dev/null
API_PORT=$(vigil_free_port)
EDGE_PORT_WANTED=$(vigil_free_port)
"$CONTROL" --database-url "$VIGIL_PG_URL" --listen-port "$API_PORT" \
  --state-dir "$W/control" --signer-socket "$W/signer.sock" \
  --redis-url "redis://127.0.0.1:$EDGE_REDIS_PORT" \
  --edge-url "http://127.0.0.1:$EDGE_PORT_WANTED" serve >"$W/control.log" 2>&1 &
edge_track $!
export VIGIL_URL=https://127.0.0.1:$API_PORT
export VIGIL_CACERT=$W/control/api-tls/cert.pem
api_up() { curl -sf --cacert "$VIGIL_CACERT" "$VIGIL_URL/api/v1/health" >/dev/null; }
vigil_wait_for -t "$EDGE_WAIT" -m "API health" api_up ||
  fail "vigil-control serve did not start: $(tail -5 "$W/control.log")"
mkdir -p "$PKI_DIR/responder" # the edge needs no key to serve pre-signed answers
edge_start
BOOT=$W/control/bootstrap-token
vctl() { "$VCTL" --cacert "$VIGIL_CACERT" "$@"; }

step "bootstrap admin: tenant, CA and an issuer token; it cannot issue itself"
vctl --token-file "$BOOT" tenants create acme >/dev/null
vctl --token-file "$BOOT" issuers create --tenant acme --issuer-id acme-ca \
  --cn "Acme E2E CA" >/dev/null
token=$(vctl --token-file "$BOOT" --json tokens create --name ops --role issuer |
  "$EDGE_PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])')
rc=0
vctl --token-file "$BOOT" certificates create --tenant acme --name nope \
  --dns nope.acme.test --key-out "$W/nope.key" >/dev/null 2>&1 || rc=$?
[ "$rc" = 4 ] || fail "the bootstrap token could issue (exit $rc)"
export VIGIL_TOKEN=$token

step "issue through the API; the edge answers good"
vctl certificates create --tenant acme --name web --dns web.acme.test \
  --key-out "$W/web.key" --cert-out "$W/web.pem" >/dev/null
id=$(vctl --json certificates list --tenant acme |
  "$EDGE_PY" -c 'import json,sys; d=json.load(sys.stdin); print([c["id"] for c in d.get("certificates", d.get("items", [])) if c["name"]=="web"][0])')
CA=$W/keys/issuers/acme-ca/ca.pem
openssl x509 -in "$W/web.pem" -noout -ext authorityInfoAccess |
  grep -q "OCSP - URI:http://127.0.0.1:$EDGE_PORT/ocsp/acme" ||
  fail "the certificate's AIA does not name the edge"
status() {
  ocsp -issuer "$CA" -cert "$W/web.pem" -url "$EDGE_URL/ocsp/acme" \
    -CAfile "$CA" -no_nonce
}
is_good() { status | grep -q "web.pem: good" && status | grep -q "Response verify OK"; }
vigil_wait_for -t "$EDGE_WAIT" -m "good at the edge" is_good ||
  fail "the edge does not answer good: $(status)"

step "vigilctl certificates revoke --wait; the edge answers revoked at once"
vctl certificates revoke "$id" --reason keyCompromise --wait >"$W/revoke.out"
grep -q "revocation_queue_status: published" "$W/revoke.out" ||
  fail "revoke was not published: $(cat "$W/revoke.out")"
out=$(status)
expect_in "$out" "Response verify OK" "after revoke: verify"
expect_in "$out" "web.pem: revoked" "after revoke: revoked at the first query"
expect_in "$out" "Reason: keyCompromise" "after revoke: reason"
for _ in $(seq 1 20); do
  expect_not_in "$(status)" "web.pem: good" "never good again"
done
vctl certificates get "$id" | grep -q "status: *revoked" || fail "API does not show revoked"

step "the audit chain verifies"
"$CONTROL" --database-url "$VIGIL_PG_URL" audit-verify >/dev/null ||
  fail "audit-verify failed"

step "the edge stops cleanly"
edge_stop_clean
edge_done e2e_revoke
