#!/usr/bin/env bash
# ctl_api.sh: `vigil-control serve`, the REST API (docs/api.md), end to end
# against a real Postgres, Redis and vigil-signer, driven with curl (a
# client we did not write); CSRs come from `openssl req`, certificates are
# checked with `openssl x509`, Redis with redis-cli, the database with psql.
# Signer-dependent checks are skipped (with a message) if vigil-signer is
# not built.
set -euo pipefail

src=${VIGIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${VIGIL_BUILD_DIR:-$src/build}
ctl=$build/control/vigil-control
signer=$build/control/signer/vigil-signer
call_bin=$build/tests/vigil-test-sgn_call
# shellcheck source=../lib/services.sh
source "$src/tests/lib/services.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-ctl-api.XXXXXX")
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ] && [ -f "$work/serve.log" ]; then
    tail -30 "$work/serve.log" >&2 || true
  fi
  vigil_remove_state "$work" || rc=1
  exit "$rc"
}
trap cleanup EXIT
trap 'printf "FAIL: line %s: %s\n" "$LINENO" "$BASH_COMMAND" >&2' ERR

step() { printf '== %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}
sql() { psql "$VIGIL_PG_URL" -X -q -v ON_ERROR_STOP=1 -tA "$@"; }
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86

[ -x "$ctl" ] || fail "$ctl not built"
have_signer=0
if [ -x "$signer" ] && [ -x "$call_bin" ]; then
  have_signer=1
else
  echo "NOTE: vigil-signer not built: issuer/certificate checks are SKIPPED"
fi

step "serve with an unreachable database exits 3"
rc=0
"$ctl" serve --database-url="postgresql://vigil@127.0.0.1:$(vigil_free_port)/vigil" \
  --state-dir="$work/down" --listen-port="$(vigil_free_port)" >"$work/down.log" 2>&1 || rc=$?
[ "$rc" = 3 ] || fail "serve without a database exited $rc: $(cat "$work/down.log")"

step "a configured TLS key readable by others is refused"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -keyout "$work/own.key" -out "$work/own.pem" 2>/dev/null
chmod 644 "$work/own.key"
rc=0
"$ctl" serve --database-url="postgresql://vigil@127.0.0.1:1/vigil" --state-dir="$work/own" \
  --tls-cert="$work/own.pem" --tls-key="$work/own.key" >"$work/own.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "serve with a 0644 key exited $rc"
grep -q 'mode 644' "$work/own.log" || fail "message: $(cat "$work/own.log")"

step "start Postgres and Redis; migrate"
vigil_pg_start "$work"
vigil_redis_start "$work"
export VIGIL_CONTROL_DATABASE_URL=$VIGIL_PG_URL
"$ctl" migrate >/dev/null
# serve runs as the least-privileged runtime role of docs/operations.md.
sql <<'SQL'
CREATE ROLE vigil_app LOGIN;
GRANT USAGE ON SCHEMA public TO vigil_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO vigil_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO vigil_app;
REVOKE UPDATE, DELETE ON audit_events FROM vigil_app;
REVOKE INSERT, UPDATE, DELETE ON audit_head, schema_migrations FROM vigil_app;
SQL
# (The harness's pg_hba admits only its superuser, so switch role at login.)
case $VIGIL_PG_URL in *\?*) fail "unexpected URL $VIGIL_PG_URL" ;; esac
app_url="$VIGIL_PG_URL?options=-c%20role%3Dvigil_app"
[ "$(psql "$app_url" -X -tA -c 'SELECT current_user')" = vigil_app ] || fail "role switch failed"

sock="$work/signer.sock"
if [ "$have_signer" = 1 ]; then
  step "start vigil-signer"
  "$signer" --socket="$sock" --key-dir="$work/keys" >>"$work/signer.log" 2>&1 &
  pids+=($!)
  vigil_wait_for -t 30 -m "vigil-signer on $sock" "$call_bin" --socket "$sock" ping ||
    fail "signer did not come up"
fi

step "serve on a free port"
port=$(vigil_free_port)
state="$work/state"
"$ctl" serve --database-url="$app_url" --listen-port="$port" --state-dir="$state" --signer-socket="$sock" \
  --redis-url="$VIGIL_REDIS_URL" --api-max-body=64K >>"$work/serve.log" 2>&1 &
serve_pid=$!
pids+=("$serve_pid")
base="https://127.0.0.1:$port/api/v1"
vigil_wait_for -t 30 -m "the API on port $port" curl -sk -o /dev/null "$base/health" ||
  fail "API did not come up"

# api METHOD PATH TOKEN [BODY] [extra curl args...]: sets $code and $body.
api() {
  local method=$1 path=$2 tok=$3 data=${4-}
  shift 3
  [ $# -gt 0 ] && shift
  local args=(-sk -X "$method" -o "$work/resp" -w '%{http_code}' "$base$path")
  [ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
  code=$(curl "${args[@]}" "$@")
  body=$(cat "$work/resp")
}
# expect CODE [ERROR_CODE]: the last answer had CODE (and that error code).
expect() {
  [ "$code" = "$1" ] || fail "expected HTTP $1, got $code: $body"
  if [ $# -ge 2 ]; then
    [ "$(jq -r .error.code <<<"$body")" = "$2" ] || fail "expected error $2: $body"
  fi
}
command -v jq >/dev/null || fail "jq is needed (scripts/deps.sh installs it)"

step "TLS: self-signed certificate for localhost/127.0.0.1, key 0600"
[ "$(stat -c %a "$state/api-tls/key.pem")" = 600 ] || fail "key mode $(stat -c %a "$state/api-tls/key.pem")"
openssl x509 -in "$state/api-tls/cert.pem" -noout -ext subjectAltName | grep -q 'IP Address:127.0.0.1' ||
  fail "API cert lacks 127.0.0.1"
curl -s --cacert "$state/api-tls/cert.pem" -o /dev/null "$base/health" ||
  fail "the API certificate does not verify for 127.0.0.1"
plain=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/v1/health" || true)
[ "$plain" != 200 ] || fail "plain HTTP answered 200"

step "health (no auth)"
api GET /health ""
expect 200
[ "$(jq -r .db <<<"$body")" = ok ] || fail "health: $body"
[ "$(jq -r .redis <<<"$body")" = ok ] || fail "health: $body"
if [ "$have_signer" = 1 ]; then
  [ "$(jq -r .signer <<<"$body")" = ok ] || fail "health: $body"
fi

step "bootstrap token: file mode 0600, admin without issuance"
[ "$(stat -c %a "$state/bootstrap-token")" = 600 ] || fail "bootstrap-token mode"
boot=$(cat "$state/bootstrap-token")
[[ $boot =~ ^vgl_[A-Za-z0-9_-]{43}$ ]] || fail "token format: $boot"
[ "$(sql -c "SELECT roles::text, kind FROM principals WHERE name = 'bootstrap'")" = '{admin}|bootstrap' ] ||
  fail "bootstrap principal: $(sql -c 'SELECT name, roles, kind FROM principals')"
[ "$(sql -c "SELECT count(*) FROM api_tokens WHERE token_sha256 = sha256(convert_to('$boot', 'UTF8'))")" = 1 ] ||
  fail "the token's SHA-256 is not what is stored"
[ "$(sql -c "SELECT count(*) FROM api_tokens WHERE position(convert_to('$boot', 'UTF8') in token_sha256) > 0")" = 0 ] ||
  fail "token stored in clear"

step "401 for missing, malformed and unknown tokens"
api GET /audit ""
expect 401 unauthorized
api GET /audit "vgl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
expect 401 unauthorized
api GET /audit "garbage"
expect 401 unauthorized

step "errors: 404, 405, malformed JSON 400, missing field 422, oversize 413"
api GET /nope "$boot"
expect 404 not_found
api DELETE /tenants "$boot"
expect 405 method_not_allowed
api POST /tenants "$boot" '{"name": "demo",'
expect 400 malformed_json
grep -q 'line 1' <<<"$body" || fail "malformed JSON message does not locate the problem: $body"
api POST /tenants "$boot" '[1,2]'
expect 400 malformed_json
api POST /tenants "$boot" '{}'
expect 422 invalid_field
grep -q '"name' <<<"$body" || fail "422 does not name the field: $body"
api POST /tenants "$boot" '{"name": 5}'
expect 422 invalid_field
grep -q 'must be a string' <<<"$body" || fail "$body"
python3 -c 'print("{\"name\":\"" + "a"*70000 + "\"}")' >"$work/big.json"
code=$(curl -sk -o "$work/resp" -w '%{http_code}' -H "Authorization: Bearer $boot" \
  -H 'Content-Type: application/json' --data-binary @"$work/big.json" "$base/tenants")
body=$(cat "$work/resp")
expect 413 too_large

code=$(curl -sk -o "$work/resp" -w '%{http_code}' -H "Authorization: Bearer $boot" \
  -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
  --data-binary @"$work/big.json" "$base/tenants")
body=$(cat "$work/resp")
expect 413 too_large

step "bootstrap creates a tenant (201; duplicate 409; bad name 422)"
api POST /tenants "$boot" '{"name": "demo"}'
expect 201
[ "$(jq -r .name <<<"$body")" = demo ] || fail "$body"
api POST /tenants "$boot" '{"name": "demo"}'
expect 409 conflict
api POST /tenants "$boot" '{"name": "Demo; DROP TABLE tenants;--"}'
expect 422 invalid_field
[ "$(sql -c 'SELECT count(*) FROM tenants')" = 1 ] || fail "tenants changed"

step "bootstrap creates tokens; SQL metacharacters stored verbatim or refused"
api POST /tokens "$boot" '{"name": "ci-issuer", "roles": ["issuer"], "tenant": "demo"}'
expect 201
issuer_tok=$(jq -r .token <<<"$body")
[[ $issuer_tok =~ ^vgl_ ]] || fail "$body"
api POST /tokens "$boot" '{"name": "auditor-1", "roles": ["auditor"]}'
expect 201
auditor_tok=$(jq -r .token <<<"$body")
api POST /tokens "$boot" '{"name": "x'"'"'); DROP TABLE principals;--", "roles": ["issuer"]}'
expect 422 invalid_field
api POST /tokens "$boot" '{"name": "bad-role", "roles": ["root"]}'
expect 422 invalid_field
grep -q 'roles' <<<"$body" || fail "$body"
api POST /tokens "$boot" '{"name": "ci-issuer", "roles": ["issuer"]}'
expect 409 conflict
[ "$(sql -c 'SELECT count(*) FROM principals')" = 3 ] || fail "principals: $(sql -c 'SELECT name FROM principals')"

step "roles: auditor cannot create tenants or tokens (403)"
api POST /tenants "$auditor_tok" '{"name": "other"}'
expect 403 forbidden
api POST /tokens "$issuer_tok" '{"name": "sneaky", "roles": ["admin"]}'
expect 403 forbidden

step "Idempotency-Key: a replay returns the first result"
api POST /tenants "$boot" '{"name": "idem"}' -H 'Idempotency-Key: k-1'
expect 201
first=$body
api POST /tenants "$boot" '{"name": "idem"}' -H 'Idempotency-Key: k-1'
expect 201
[ "$body" = "$first" ] || fail "replay differs: $first vs $body"
api POST /tenants "$boot" '{"name": "idem2"}' -H 'Idempotency-Key: k-1'
expect 409 conflict
[ "$(sql -c "SELECT count(*) FROM tenants WHERE name LIKE 'idem%'")" = 1 ] || fail "replay created twice"

if [ "$have_signer" = 1 ]; then
  step "bootstrap creates a root CA through the signer; published to Redis"
  api POST /tenants/demo/issuers "$boot" '{"issuer_id": "demo-root", "common_name": "Demo Root CA"}'
  expect 201
  jq -r .certificate_pem <<<"$body" >"$work/ca.pem"
  openssl x509 -in "$work/ca.pem" -noout -subject | grep -q 'Demo Root CA' || fail "CA: $body"
  ikh=$(jq -r .ikh <<<"$body")
  [ "$(sql -c "SELECT encode(key_sha1, 'hex') FROM issuers WHERE issuer_id = 'demo-root'")" = "$ikh" ] ||
    fail "issuer row"
  redis-cli -u "$VIGIL_REDIS_URL" HGET v1:issuers "$ikh" | grep -q '^demo-root demo ' ||
    fail "v1:issuers lacks demo-root"
  api POST /tenants/demo/issuers "$issuer_tok" '{"issuer_id": "x", "common_name": "X"}'
  expect 403 forbidden

  step "bootstrap cannot issue or revoke (403)"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/leaf.key" \
    -subj "/CN=web.example.com" -addext "subjectAltName=DNS:web.example.com" -out "$work/leaf.csr" 2>/dev/null
  csr_json=$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$work/leaf.csr")
  req='{"tenant": "demo", "name": "web-1'"'"'; DELETE FROM certificates;--", "csr_pem": '"$csr_json"', "validity_days": 30}'
  api POST /certificates "$boot" "$req"
  expect 403 forbidden

  step "issuer token issues from a CSR; GET shows active; name stored verbatim"
  api POST /certificates "$issuer_tok" "$req"
  expect 201
  cid=$(jq -r .id <<<"$body")
  serial=$(jq -r .serial <<<"$body")
  jq -r .certificate_pem <<<"$body" >"$work/leaf.pem"
  openssl verify -CAfile "$work/ca.pem" "$work/leaf.pem" >/dev/null || fail "leaf does not verify"
  [ "$(openssl x509 -in "$work/leaf.pem" -noout -serial | cut -d= -f2 | tr A-F a-f | sed 's/^0*//')" = "$serial" ] ||
    fail "serial mismatch"
  api GET "/certificates/$cid" "$auditor_tok"
  expect 200
  [ "$(jq -r .status <<<"$body")" = active ] || fail "$body"
  [ "$(jq -r .name <<<"$body")" = "web-1'; DELETE FROM certificates;--" ] || fail "name: $body"
  [ "$(jq -r .revoked_at <<<"$body")" = null ] || fail "$body"
  [ "$(sql -c 'SELECT count(*) FROM certificates')" = 1 ] || fail "certificates count"
  [ "$(redis-cli -u "$VIGIL_REDIS_URL" GET "v1:status:$ikh:$serial" | cut -d' ' -f1)" = good ] ||
    fail "no good status record in Redis"
  api GET "/certificates?tenant=demo&limit=10" "$issuer_tok"
  expect 200
  [ "$(jq -r '.items[0].id' <<<"$body")" = "$cid" ] || fail "list: $body"

  step "issuer token with a generated key"
  api POST /certificates "$issuer_tok" '{"tenant": "demo", "name": "gen-1", "generate": {"key_type": "p256", "dns": ["gen.example.com"], "ip": ["127.0.0.1"]}}'
  expect 201
  jq -r .private_key_pem <<<"$body" | grep -q 'PRIVATE KEY' || fail "no private key: $body"

  step "revoke: bootstrap 403, certificateHold 422, then keyCompromise"
  api POST "/certificates/$cid/revoke" "$boot" '{"reason": "keyCompromise"}'
  expect 403 forbidden
  api POST "/certificates/$cid/revoke" "$issuer_tok" '{"reason": "certificateHold"}'
  expect 422 invalid_field
  grep -q certificateHold <<<"$body" || fail "$body"
  api POST "/certificates/$cid/revoke?wait=published" "$issuer_tok" '{"reason": "keyCompromise"}'
  expect 200
  [ "$(jq -r .revocation_queue_status <<<"$body")" = published ] || fail "$body"
  api GET "/certificates/$cid" "$issuer_tok"
  [ "$(jq -r .status <<<"$body")" = revoked ] || fail "$body"
  [ "$(jq -r .revocation_reason <<<"$body")" = keyCompromise ] || fail "$body"
  [[ $(jq -r .revoked_at <<<"$body") =~ ^20[0-9-]+T[0-9:]+Z$ ]] || fail "revoked_at: $body"
  rec=$(redis-cli -u "$VIGIL_REDIS_URL" GET "v1:status:$ikh:$serial")
  [[ $rec =~ ^revoked\ [0-9]+\ [0-9]+\ 1$ ]] || fail "Redis status record: $rec"
  ttl=$(redis-cli -u "$VIGIL_REDIS_URL" TTL "v1:resp:$ikh:$serial")
  [ "$ttl" -gt 0 ] || fail "v1:resp has no expiry (TTL $ttl)"
  redis-cli -u "$VIGIL_REDIS_URL" XRANGE v1:events - + | grep -q "$serial" || fail "no revoke event"
  [ "$(sql -c "SELECT status FROM revocation_queue WHERE certificate = '$cid'")" = published ] ||
    fail "queue row not published"
  api POST "/certificates/$cid/revoke" "$issuer_tok" '{"reason": "superseded"}'
  expect 409 conflict

  step "8 concurrent revocations of one certificate: one 200, seven 409"
  api POST /certificates "$issuer_tok" '{"tenant": "demo", "name": "race-1", "generate": {"dns": ["r.example.com"]}}'
  expect 201
  race_id=$(jq -r .id <<<"$body")
  racers=()
  for i in 1 2 3 4 5 6 7 8; do
    curl -sk -o /dev/null -w '%{http_code}\n' -X POST -H "Authorization: Bearer $issuer_tok" \
      --data-binary '{"reason": "cessationOfOperation"}' "$base/certificates/$race_id/revoke" >"$work/race.$i" &
    racers+=($!)
  done
  for p in "${racers[@]}"; do wait "$p"; done
  [ "$(grep -c '^200$' "$work"/race.* | awk -F: '{s+=$2} END {print s}')" = 1 ] || fail "200s: $(cat "$work"/race.*)"
  [ "$(grep -c '^409$' "$work"/race.* | awk -F: '{s+=$2} END {print s}')" = 7 ] || fail "409s: $(cat "$work"/race.*)"
  [ "$(sql -c "SELECT count(*) FROM audit_events WHERE type = 'certificate.revoked' AND subject = 'certificate:$race_id'")" = 1 ] ||
    fail "revocation audited more than once"

  step "odd path segments are 404 JSON"
  api GET "/certificates/%ff%fe" "$issuer_tok"
  expect 404 not_found
  api POST "/tenants/%ff/issuers" "$boot" '{"issuer_id": "a", "common_name": "A"}'
  expect 404 not_found

  step "tenant scope: the demo-scoped issuer token cannot act in tenant idem"
  api POST /certificates "$issuer_tok" '{"tenant": "idem", "name": "x", "generate": {"dns": ["x.example.com"]}}'
  expect 403 forbidden

  step "Idempotency-Key on issuance: the replay returns the same certificate"
  api POST /certificates "$issuer_tok" '{"tenant": "demo", "name": "idem-1", "generate": {"dns": ["i.example.com"]}}' -H 'Idempotency-Key: issue-1'
  expect 201
  idem_id=$(jq -r .id <<<"$body")
  api POST /certificates "$issuer_tok" '{"tenant": "demo", "name": "idem-1", "generate": {"dns": ["i.example.com"]}}' -H 'Idempotency-Key: issue-1'
  expect 201
  [ "$(jq -r .id <<<"$body")" = "$idem_id" ] || fail "replay issued another certificate"
  [ "$(sql -c "SELECT count(*) FROM certificates WHERE name = 'idem-1'")" = 1 ] || fail "issued twice"

  step "Redis down: revoke commits (pending; wait=published gives 504), publisher catches up"
  redis_port=$VIGIL_REDIS_PORT
  vigil_redis_stop "$work"
  api POST "/certificates/$idem_id/revoke?wait=published" "$issuer_tok" '{"reason": "superseded"}'
  expect 504
  [ "$(jq -r .revocation_queue_status <<<"$body")" = pending ] || fail "$body"
  [ "$(jq -r .status <<<"$body")" = revoked ] || fail "$body"
  [ "$(sql -c "SELECT status FROM revocation_queue WHERE certificate = '$idem_id'")" = pending ] ||
    fail "queue row not pending"
  vigil_redis_start "$work" "$redis_port"
  queue_published() {
    [ "$(sql -c "SELECT status FROM revocation_queue WHERE certificate = '$1'")" = published ]
  }
  vigil_wait_for -t 60 -m "the publisher to publish the queued revocation" \
    queue_published "$idem_id" ||
    fail "publisher did not publish"
  idem_serial=$(sql -c "SELECT encode(serial, 'hex') FROM certificates WHERE id = '$idem_id'" | sed 's/^0*//')
  rec=$(redis-cli -u "$VIGIL_REDIS_URL" GET "v1:status:$ikh:$idem_serial")
  [[ $rec =~ ^revoked\ [0-9]+\ [0-9]+\ 4$ ]] || fail "Redis status after catch-up: $rec"

  step "the published response says revoked (openssl ocsp)"
  python3 - "$VIGIL_REDIS_PORT" "$ikh" "$serial" "$work/resp.der" <<'PY'
import socket, sys
port, ikh, serial, out = sys.argv[1:]
s = socket.create_connection(("127.0.0.1", int(port)))
key = f"v1:resp:{ikh}:{serial}".encode()
s.sendall(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key))
buf = b""
while b"\r\n" not in buf:
    buf += s.recv(65536)
head, rest = buf.split(b"\r\n", 1)
n = int(head[1:])
while len(rest) < n:
    rest += s.recv(65536)
open(out, "wb").write(rest[:n])
PY
  openssl ocsp -respin "$work/resp.der" -issuer "$work/ca.pem" -cert "$work/leaf.pem" \
    -CAfile "$work/ca.pem" 2>&1 | grep -q "revoked" || fail "OCSP response is not revoked"
fi

step "audit: list by type (auditor), 403 for issuer, events present"
api GET "/audit?type=tenant.created" "$auditor_tok"
expect 200
[ "$(jq -r '.items[0].details.name' <<<"$body")" = demo ] || fail "$body"
api GET "/audit" "$issuer_tok"
expect 403 forbidden
api GET "/audit?limit=1000" "$boot"
expect 200
for t in principal.bootstrap tenant.created token.created; do
  grep -q "\"$t\"" <<<"$body" || fail "audit lacks $t"
done
if [ "$have_signer" = 1 ]; then
  for t in issuer.created certificate.issued certificate.revoked; do
    grep -q "\"$t\"" <<<"$body" || fail "audit lacks $t"
  done
fi
api GET "/audit?limit=0" "$boot"
expect 400 bad_request
"$ctl" audit-verify | grep -q 'intact' || fail "audit chain broken"

step "UPDATE on audit_events is still refused"
if sql -c "UPDATE audit_events SET type = 'x' WHERE id = 1" 2>/dev/null; then
  fail "UPDATE of audit_events succeeded"
fi

if [ "$have_signer" = 1 ]; then
  step "signer down: issuing is 503 JSON, health says so"
  kill -TERM "${pids[0]}"
  wait "${pids[0]}" 2>/dev/null || true
  api POST /certificates "$issuer_tok" '{"tenant": "demo", "name": "down", "generate": {"dns": ["d.example.com"]}}'
  expect 503 unavailable
  api GET /health ""
  expect 200
  [ "$(jq -r .signer <<<"$body")" = unavailable ] || fail "$body"
  [ "$(jq -r .status <<<"$body")" = degraded ] || fail "$body"
fi

step "database down: 503 JSON"
vigil_pg_stop "$work"
api GET /audit "$boot"
expect 503 unavailable
api GET /health ""
expect 503
[ "$(jq -r .db <<<"$body")" = unavailable ] || fail "$body"

step "SIGTERM stops serve with exit 0"
kill -TERM "$serve_pid"
rc=0
wait "$serve_pid" || rc=$?
[ "$rc" = 0 ] || fail "serve exited $rc"
if grep -qE 'Sanitizer|runtime error:' "$work/serve.log"; then
  fail "sanitizer report: $(grep -E -A5 'Sanitizer|runtime error' "$work/serve.log")"
fi
echo "PASS"
