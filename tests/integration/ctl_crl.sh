#!/usr/bin/env bash
# ctl_crl.sh: vigil-control's CRL loop and `vigil-control resync`
# (control/ctl_loops.c, docs/operations.md "Loops and resync"), end to end
# against real Postgres, Redis, vigil-signer, vigil-control serve and
# vigil-edge; driven with vigilctl; judged with openssl, redis-cli and psql.
#   revoke -> within the debounce bound the CRL is in Redis, verifies against
#   the CA (openssl crl -verify) and lists the serial with keyCompromise;
#   crl_cache and crl_generation_events rows exist; a second revoke -> a
#   larger CRL number; FLUSHALL + resync -> issuers, statuses, responses,
#   CRL and v1:mirror are back, and a fresh vigil-edge answers revoked /
#   good and serves a CRL that verifies.
set -euo pipefail
source "$(dirname "$0")/edge_common.bash"

B=${VIGIL_BUILD_DIR:?}
SIGNER=$B/control/signer/vigil-signer
CONTROL=$B/control/vigil-control
VCTL=$B/control/cli/vigilctl
for bin in "$SIGNER" "$CONTROL" "$VCTL"; do
  [ -x "$bin" ] || fail "not built: $bin"
done

edge_init ctl-crl
W=$EDGE_WORK
sql() { psql "$VIGIL_PG_URL" -X -q -v ON_ERROR_STOP=1 -tA "$@"; }
# rget KEY FILE: the raw bytes of a Redis string (RESP by hand: binary safe).
rget() {
  "$EDGE_PY" - "$EDGE_REDIS_PORT" "$1" "$2" <<'PY'
import socket, sys
port, key, out = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key))
buf = b""
while b"\r\n" not in buf:
    buf += s.recv(65536)
head, rest = buf.split(b"\r\n", 1)
n = int(head[1:])
if n < 0:
    sys.exit(1)
while len(rest) < n + 2:
    rest += s.recv(65536)
open(out, "wb").write(rest[:n])
PY
}

step "config: refresh-after must leave 8 h before nextUpdate"
rc=0
out=$("$CONTROL" --database-url postgresql://x@127.0.0.1:1/x --ocsp-validity 96h \
  --refresh-after 90h serve 2>&1) || rc=$?
[ "$rc" = 2 ] || fail "refresh-after 90h with 96h validity: exit $rc ($out)"
expect_in "$out" "refresh-after" "the refusal names the option"

step "Postgres, vigil-signer, vigil-control migrate + serve (crl-debounce 1s)"
vigil_pg_start "$W" >/dev/null || fail "Postgres did not start"
mkdir -m 0700 "$W/keys"
"$SIGNER" --key-dir "$W/keys" --socket "$W/signer.sock" >"$W/signer.log" 2>&1 &
edge_track $!
vigil_wait_for -t "$EDGE_WAIT" -m "signer socket" test -S "$W/signer.sock" ||
  fail "vigil-signer did not start: $(tail -5 "$W/signer.log")"
"$CONTROL" --database-url "$VIGIL_PG_URL" migrate >/dev/null
API_PORT=$(vigil_free_port)
CTL_ARGS=(--database-url "$VIGIL_PG_URL" --signer-socket "$W/signer.sock"
  --redis-url "redis://127.0.0.1:$EDGE_REDIS_PORT")
"$CONTROL" "${CTL_ARGS[@]}" --listen-port "$API_PORT" --state-dir "$W/control" \
  --crl-debounce 1s serve >"$W/control.log" 2>&1 &
SERVE_PID=$!
edge_track $SERVE_PID
export VIGIL_URL=https://127.0.0.1:$API_PORT
export VIGIL_CACERT=$W/control/api-tls/cert.pem
api_up() { curl -sf --cacert "$VIGIL_CACERT" "$VIGIL_URL/api/v1/health" >/dev/null; }
vigil_wait_for -t "$EDGE_WAIT" -m "API health" api_up ||
  fail "vigil-control serve did not start: $(tail -5 "$W/control.log")"
BOOT=$W/control/bootstrap-token
vctl() { "$VCTL" --cacert "$VIGIL_CACERT" "$@"; }

step "tenant, CA, issuer token, four certificates"
vctl --token-file "$BOOT" tenants create acme >/dev/null
vctl --token-file "$BOOT" issuers create --tenant acme --issuer-id acme-ca \
  --cn "Acme CRL CA" >/dev/null
token=$(vctl --token-file "$BOOT" --json tokens create --name ops --role issuer |
  "$EDGE_PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])')
export VIGIL_TOKEN=$token
CA=$W/keys/issuers/acme-ca/ca.pem
for n in web1 web2 web3 web4; do
  vctl certificates create --tenant acme --name "$n" --dns "$n.acme.test" \
    --key-out "$W/$n.key" --cert-out "$W/$n.pem" >/dev/null
done
cert_id() {
  vctl --json certificates list --tenant acme |
    "$EDGE_PY" -c 'import json,sys; d=json.load(sys.stdin); print([c["id"] for c in d["items"] if c["name"]==sys.argv[1]][0])' "$1"
}
id1=$(cert_id web1)
id2=$(cert_id web2)
s1=$(cert_serial "$W/web1.pem")
s2=$(cert_serial "$W/web2.pem")
s3=$(cert_serial "$W/web3.pem")
s4=$(cert_serial "$W/web4.pem")
id3=$(cert_id web3)
id4=$(cert_id web4)
ikh=$(cert_ikh "$CA")
iss_uuid=$(sql -c "SELECT id FROM issuers WHERE issuer_id = 'acme-ca'")

# crl_text: the CRL now in Redis, verified against the CA, as text.
crl_text() {
  rget v1:crl:acme-ca "$W/crl.der" || return 1
  openssl crl -inform DER -in "$W/crl.der" -CAfile "$CA" -noout -verify -text 2>&1
}
# crl_lists SERIAL...: the CRL in Redis lists every SERIAL (openssl prints
# serials in upper-case hex, padded to whole octets).
crl_lists() {
  local t s
  t=$(crl_text) || return 1
  for s in "$@"; do
    grep -qi "Serial Number: 0*$s\$" <<<"$t" || return 1
  done
}
crl_number() {
  crl_text | awk '/X509v3 CRL Number/ { getline; gsub(/ /, ""); print; exit }'
}

step "revoke web1 (keyCompromise): the CRL follows within the debounce bound"
t0=$(date +%s)
vctl certificates revoke "$id1" --reason keyCompromise --wait >/dev/null
vigil_wait_for -t 30 -m "v1:crl:acme-ca listing web1" crl_lists "$s1" ||
  fail "no CRL with web1: $(crl_text || true); $(tail -5 "$W/control.log")"
elapsed=$(($(date +%s) - t0))
[ "$elapsed" -le 15 ] || fail "the CRL took ${elapsed}s after the revocation"
txt=$(crl_text)
expect_in "$txt" "verify OK" "openssl crl -verify"
expect_in "$txt" "Key Compromise" "the entry's reason"
expect_in "$txt" "Authority Key Identifier" "AKI present"
n1=$(crl_number)
[[ $n1 =~ ^[0-9]+$ ]] || fail "no CRL number in: $txt"
meta=$(rcli GET v1:crlmeta:acme-ca)
[[ $meta =~ ^[0-9]+\ [0-9]+\ [0-9a-f]+\ 1$ ]] || fail "v1:crlmeta: '$meta'"
[ "$((16#$(cut -d' ' -f3 <<<"$meta")))" = "$n1" ] ||
  fail "v1:crlmeta number $meta is not the CRL's $n1"
rcli XRANGE v1:events - + | grep -qx crl || fail "no crl event on v1:events"
[ "$(sql -c "SELECT crl_number::text || ' ' || revoked_count FROM crl_cache WHERE issuer = '$iss_uuid'")" = "$n1 1" ] ||
  fail "crl_cache: $(sql -c "SELECT crl_number, revoked_count FROM crl_cache")"
[ "$(sql -c "SELECT count(*) FROM crl_generation_events WHERE issuer = '$iss_uuid' AND succeeded AND crl_number = $n1 AND revoked_count = 1 AND duration_ms >= 0")" = 1 ] ||
  fail "crl_generation_events: $(sql -c 'SELECT * FROM crl_generation_events')"

step "revoke web2 (superseded): a new CRL with a larger number"
vctl certificates revoke "$id2" --reason superseded --wait >/dev/null
vigil_wait_for -t 30 -m "v1:crl:acme-ca listing web1 and web2" crl_lists "$s1" "$s2" ||
  fail "no CRL with web2: $(crl_text || true)"
n2=$(crl_number)
[ "$n2" -gt "$n1" ] || fail "CRL number $n2 is not above $n1"
expect_in "$(crl_text)" "Superseded" "web2's reason"
[ "$(sql -c "SELECT count(*) FROM crl_generation_events WHERE issuer = '$iss_uuid' AND succeeded")" -ge 2 ] ||
  fail "fewer than 2 generation events"

step "stop serve; FLUSHALL; vigil-control resync rebuilds the mirror"
kill -TERM "$SERVE_PID"
vigil_wait_for -t "$EDGE_WAIT" -m "serve to stop" _vigil_pid_gone "$SERVE_PID" ||
  fail "serve did not stop"
if grep -q 'Sanitizer\|runtime error' "$W/control.log"; then
  cat "$W/control.log" >&2
  fail "sanitizer report in the serve log"
fi
[ "$(rcli FLUSHALL)" = OK ] || fail "FLUSHALL"
[ "$(rcli EXISTS v1:mirror)" = 0 ] || fail "v1:mirror survived FLUSHALL"
out=$("$CONTROL" "${CTL_ARGS[@]}" resync 2>&1) || fail "resync failed: $out"
expect_in "$out" "mirror rebuilt" "resync output"
expect_not_in "$out" "Sanitizer" "resync output"
rcli HGET v1:issuers "$ikh" | grep -q '^acme-ca acme ' ||
  fail "v1:issuers lacks acme-ca: $(rcli HGETALL v1:issuers)"
[[ $(rcli GET "v1:status:$ikh:$s1") =~ ^revoked\ [0-9]+\ [0-9]+\ 1$ ]] ||
  fail "status of web1: $(rcli GET "v1:status:$ikh:$s1")"
[[ $(rcli GET "v1:status:$ikh:$s2") =~ ^revoked\ [0-9]+\ [0-9]+\ 4$ ]] ||
  fail "status of web2: $(rcli GET "v1:status:$ikh:$s2")"
[[ $(rcli GET "v1:status:$ikh:$s3") =~ ^good\ [0-9]+$ ]] ||
  fail "status of web3: $(rcli GET "v1:status:$ikh:$s3")"
for s in "$s1" "$s2" "$s3"; do
  ttl=$(rcli PTTL "v1:resp:$ikh:$s")
  [ "$ttl" -gt 0 ] || fail "v1:resp:$ikh:$s: PTTL $ttl"
done
[[ $(rcli GET v1:mirror) =~ ^[0-9]+$ ]] || fail "v1:mirror: $(rcli GET v1:mirror)"
crl_lists "$s1" "$s2" || fail "the resynced CRL lacks web1/web2"
[ "$(sql -c "SELECT count(*) FROM ocsp_presign WHERE issuer = '$iss_uuid'")" = 4 ] ||
  fail "ocsp_presign does not record the 4 responses"

step "resync again (idempotent)"
out=$("$CONTROL" "${CTL_ARGS[@]}" resync 2>&1) || fail "second resync failed: $out"
[ "$(crl_number)" = "$n2" ] || fail "a fresh cached CRL was re-signed: $(crl_number) vs $n2"

step "serve again: the refresh loop re-signs what is due, never good over revoked"
# web3: never signed as far as the database knows, and gone from Redis.
# web4: likewise, but Redis holds a revoked record (as if a revocation had
# been published after the loop read the database): the guard must keep it.
sql -c "DELETE FROM ocsp_presign WHERE certificate IN ('$id3', '$id4')"
rcli DEL "v1:resp:$ikh:$s3" "v1:status:$ikh:$s3" "v1:resp:$ikh:$s4" >/dev/null
fake="revoked $(date -d '+30 days' +%s) $(date +%s) 1"
[ "$(rcli SET "v1:status:$ikh:$s4" "$fake")" = OK ] || fail "SET fake status"
"$CONTROL" "${CTL_ARGS[@]}" --listen-port "$API_PORT" --state-dir "$W/control" \
  --crl-debounce 1s serve >>"$W/control.log" 2>&1 &
SERVE_PID=$!
edge_track $SERVE_PID
web3_back() {
  [[ $(rcli GET "v1:status:$ikh:$s3") =~ ^good\ [0-9]+$ ]] &&
    [ "$(rcli PTTL "v1:resp:$ikh:$s3")" -gt 0 ] &&
    [ "$(sql -c "SELECT status FROM ocsp_presign WHERE certificate = '$id3'")" = good ]
}
vigil_wait_for -t 30 -m "the refresh loop to re-sign web3" web3_back ||
  fail "web3 not re-signed: $(rcli GET "v1:status:$ikh:$s3"); $(tail -5 "$W/control.log")"
[ "$(rcli GET "v1:status:$ikh:$s4")" = "$fake" ] ||
  fail "the refresh loop replaced a revoked record with: $(rcli GET "v1:status:$ikh:$s4")"
[ "$(rcli EXISTS "v1:resp:$ikh:$s4")" = 0 ] || fail "a good response was written over revoked"
[ "$(sql -c "SELECT count(*) FROM ocsp_presign WHERE certificate = '$id4'")" = 0 ] ||
  fail "a refused write was recorded as signed"

step "a fresh vigil-edge answers revoked / good and serves the CRL"
mkdir -p "$PKI_DIR/responder"
edge_start
edge_wait_ready
status() {
  ocsp -issuer "$CA" -cert "$W/$1.pem" -url "$EDGE_URL/ocsp/acme" -CAfile "$CA" -no_nonce
}
out=$(status web1)
expect_in "$out" "Response verify OK" "web1 verify"
expect_in "$out" "web1.pem: revoked" "web1 revoked"
expect_in "$out" "Reason: keyCompromise" "web1 reason"
out=$(status web3)
expect_in "$out" "Response verify OK" "web3 verify"
expect_in "$out" "web3.pem: good" "web3 good"
curl -sf -m 10 -o "$W/edge.crl" "$EDGE_URL/crl/acme" || fail "GET /crl/acme"
out=$(openssl crl -inform DER -in "$W/edge.crl" -CAfile "$CA" -noout -verify -text 2>&1)
expect_in "$out" "verify OK" "the edge's CRL verifies"
grep -qi "Serial Number: 0*$s2\$" <<<"$out" || fail "the edge's CRL lacks web2: $out"
edge_stop_clean
edge_done ctl_crl
