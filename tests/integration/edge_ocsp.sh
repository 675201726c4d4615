#!/usr/bin/env bash
# edge_ocsp.sh: vigil-edge answers OCSP end to end (DESIGN.md section 4),
# judged by `openssl ocsp` (and python3-cryptography for the facts openssl
# does not print): POST with and without tenant, every GET spelling real
# clients and intermediaries produce, revocation through the event feed,
# SHA-256 CertIDs and nonces live-signed by the delegated responder,
# never-issued serials, unknown issuers, garbage, a missing pre-signed
# response (live-signed and written back to Redis) and an expired one
# (never served stale).
set -euo pipefail
# shellcheck source=edge_common.bash
source "$(dirname "$0")/edge_common.bash"

edge_init edge-ocsp
D=$PKI_DIR
CA=$D/ca.pem

step "PKI: two tenants, an unpublished CA, leaves in every state"
edge_ca "$D" "Edge OCSP Test CA" ca1 acme
edge_ca "$EDGE_WORK/other" "Other Tenant CA" ca2 other
pki ca --dir "$EDGE_WORK/stranger" --cn "Unpublished CA"
edge_leaf "$EDGE_WORK/stranger" stray
for n in good rev noresp expired; do
  edge_leaf "$D" "$n"
done
pki_r publish --dir "$D" --cert "$D/good.pem" --status good --issuer-id ca1
pki_r publish --dir "$D" --cert "$D/rev.pem" --status good --issuer-id ca1
pki_r publish --dir "$D" --cert "$D/noresp.pem" --status good --issuer-id ca1 --no-resp
pki_r publish --dir "$D" --cert "$D/expired.pem" --status good --issuer-id ca1 --expired
pki_r mirror
IKH=$(cert_ikh "$CA")
RESPONDER_KH=$(cert_ikh "$D/responder/ca1.pem")
[ "$IKH" != "$RESPONDER_KH" ] || fail "responder and CA share a key"

edge_start
edge_wait_ready

# resp_fact FILE NAME: one fact of a DER response (python cryptography).
resp_fact() {
  edgepy resp "$1" | awk -v n="$2" '$1 == n { print $2 }'
}

# check_resp FILE CERT STATUS [REQ]: openssl verifies FILE against the CA
# and reports STATUS for CERT; with REQ also the nonce echo.
check_resp() {
  local file=$1 cert=$2 want=$3 req=${4:-} out
  out=$(ocsp_ok -respin "$file" -issuer "$CA" -cert "$cert" -no_nonce -CAfile "$CA")
  expect_in "$out" "$cert: $want" "status of $(basename "$cert")"
  expect_in "$out" "Response verify OK" "signature"
  if [ -n "$req" ]; then
    out=$(ocsp_ok -reqin "$req" -respin "$file" -CAfile "$CA")
    expect_in "$out" "Response verify OK" "signature with the request's nonce"
    expect_not_in "$out" "WARNING" "nonce echo"
    expect_not_in "$out" "Nonce Verify error" "nonce echo"
  fi
}

# get PATH OUT: GET PATH from the edge into OUT; HTTP 200 required.
get() {
  local code
  code=$(curl -s -m 30 -o "$2" -w '%{http_code}' "$EDGE_URL$1") || fail "curl GET $1"
  [ "$code" = 200 ] || fail "GET $1: HTTP $code"
}

step "POST /ocsp: good, signature verifies, nonce echoed (openssl sends one)"
out=$(ocsp_ok -issuer "$CA" -cert "$D/good.pem" -url "$EDGE_URL/ocsp" -CAfile "$CA")
expect_in "$out" "$D/good.pem: good" "POST /ocsp"
expect_in "$out" "Response verify OK" "POST /ocsp"
expect_not_in "$out" "WARNING" "POST /ocsp (nonce)"

step "POST /ocsp/acme: good"
out=$(ocsp_ok -issuer "$CA" -cert "$D/good.pem" -url "$EDGE_URL/ocsp/acme" -CAfile "$CA")
expect_in "$out" "$D/good.pem: good" "POST /ocsp/acme"
expect_in "$out" "Response verify OK" "POST /ocsp/acme"
expect_not_in "$out" "WARNING" "POST /ocsp/acme"

step "POST /ocsp/other (the certificate's issuer is in tenant acme): unauthorized"
out=$(ocsp -issuer "$CA" -cert "$D/good.pem" -url "$EDGE_URL/ocsp/other" -CAfile "$CA") || true
expect_in "$out" "Responder Error: unauthorized (6)" "wrong tenant"

step "GET: every spelling of the base64 request"
openssl ocsp -issuer "$CA" -cert "$D/good.pem" -no_nonce -reqout "$EDGE_WORK/get.der" >/dev/null 2>&1 ||
  fail "openssl ocsp -reqout"
b64=$(base64 -w0 "$EDGE_WORK/get.der")
enc=$(urlenc "$b64")
get "/ocsp/$enc" "$EDGE_WORK/r.der"
check_resp "$EDGE_WORK/r.der" "$D/good.pem" good
get "/ocsp/acme/$enc" "$EDGE_WORK/r.der"
check_resp "$EDGE_WORK/r.der" "$D/good.pem" good
get "/ocsp//$enc" "$EDGE_WORK/r.der"
check_resp "$EDGE_WORK/r.der" "$D/good.pem" good
get "/ocsp/acme//$enc" "$EDGE_WORK/r.der"
check_resp "$EDGE_WORK/r.der" "$D/good.pem" good
# A request whose base64 has '+', '/' and '=' padding (python picks a
# nonce that makes it so; the nonce must come back too).  The nonce is
# 17 bytes so that the DER length is not a multiple of 3.
edgepy req "$D/good.pem" "$CA" "$EDGE_WORK/odd.der" sha1 17 '+/='
b64=$(base64 -w0 "$EDGE_WORK/odd.der")
case $b64 in *+*/*=* | */*+*=*) ;; *) fail "base64 '$b64' lacks + / =" ;; esac
# Raw, not URL-encoded at all (about one GET in ten in practice).
get "/ocsp/$b64" "$EDGE_WORK/r.der"
check_resp "$EDGE_WORK/r.der" "$D/good.pem" good "$EDGE_WORK/odd.der"
get "/ocsp/acme/$b64" "$EDGE_WORK/r.der"
check_resp "$EDGE_WORK/r.der" "$D/good.pem" good "$EDGE_WORK/odd.der"
# '+' turned into a space by an intermediary.
get "/ocsp/${b64//+/%20}" "$EDGE_WORK/r.der"
check_resp "$EDGE_WORK/r.der" "$D/good.pem" good "$EDGE_WORK/odd.der"
# ... or into a literal '+' after form decoding, URL-encoded as %2B.
get "/ocsp/$(urlenc "$b64")" "$EDGE_WORK/r.der"
check_resp "$EDGE_WORK/r.der" "$D/good.pem" good "$EDGE_WORK/odd.der"
# base64url (RFC 4648 section 5), with and without padding.
url=$(printf '%s' "$b64" | tr '+/' '-_')
get "/ocsp/$url" "$EDGE_WORK/r.der"
check_resp "$EDGE_WORK/r.der" "$D/good.pem" good "$EDGE_WORK/odd.der"
get "/ocsp/${url%%=*}" "$EDGE_WORK/r.der"
check_resp "$EDGE_WORK/r.der" "$D/good.pem" good "$EDGE_WORK/odd.der"
# Standard alphabet, padding missing.
get "/ocsp/acme/$(urlenc "${b64%%=*}")" "$EDGE_WORK/r.der"
check_resp "$EDGE_WORK/r.der" "$D/good.pem" good "$EDGE_WORK/odd.der"
# '//' join with the raw form.
get "/ocsp//$b64" "$EDGE_WORK/r.der"
check_resp "$EDGE_WORK/r.der" "$D/good.pem" good "$EDGE_WORK/odd.der"

step "nonce: live-signed by the delegated responder and echoed; -no_nonce: the pre-signed answer"
openssl ocsp -issuer "$CA" -cert "$D/good.pem" -reqout "$EDGE_WORK/nonce.der" >/dev/null 2>&1
[ "$(edgepy reqnonce "$EDGE_WORK/nonce.der")" != - ] || fail "openssl sent no nonce"
curl -sf -m 30 --data-binary "@$EDGE_WORK/nonce.der" -H 'Content-Type: application/ocsp-request' \
  -o "$EDGE_WORK/r.der" "$EDGE_URL/ocsp" || fail "POST nonce request"
check_resp "$EDGE_WORK/r.der" "$D/good.pem" good "$EDGE_WORK/nonce.der"
[ "$(resp_fact "$EDGE_WORK/r.der" nonce)" = "$(edgepy reqnonce "$EDGE_WORK/nonce.der")" ] ||
  fail "nonce not echoed"
[ "$(resp_fact "$EDGE_WORK/r.der" responder_key_hash)" = "$RESPONDER_KH" ] ||
  fail "nonce answer not signed by the delegated responder"
out=$(ocsp_ok -issuer "$CA" -cert "$D/good.pem" -no_nonce -url "$EDGE_URL/ocsp" -CAfile "$CA" \
  -respout "$EDGE_WORK/r.der")
expect_in "$out" "$D/good.pem: good" "-no_nonce"
expect_in "$out" "Response verify OK" "-no_nonce"
[ "$(resp_fact "$EDGE_WORK/r.der" nonce)" = - ] || fail "-no_nonce answer has a nonce"
[ "$(resp_fact "$EDGE_WORK/r.der" responder_key_hash)" = "$IKH" ] ||
  fail "-no_nonce answer is not the pre-signed one (signed by the CA)"

step "nonce lengths: 1, 32 and 128 octets echoed; empty and 129 malformedRequest"
for n in 1 32 128; do
  edgepy rawnonce "$D/good.pem" "$CA" "$EDGE_WORK/n$n.der" "$n"
  curl -sf -m 30 --data-binary "@$EDGE_WORK/n$n.der" -H 'Content-Type: application/ocsp-request' \
    -o "$EDGE_WORK/r.der" "$EDGE_URL/ocsp/acme" || fail "POST nonce $n"
  check_resp "$EDGE_WORK/r.der" "$D/good.pem" good "$EDGE_WORK/n$n.der"
  [ "$(resp_fact "$EDGE_WORK/r.der" nonce)" = "$(edgepy reqnonce "$EDGE_WORK/n$n.der")" ] ||
    fail "nonce of $n octets not echoed"
done
for n in 0 129; do
  edgepy rawnonce "$D/good.pem" "$CA" "$EDGE_WORK/n$n.der" "$n"
  curl -sf -m 30 --data-binary "@$EDGE_WORK/n$n.der" -H 'Content-Type: application/ocsp-request' \
    -o "$EDGE_WORK/r.der" "$EDGE_URL/ocsp/acme" || fail "POST nonce $n"
  out=$(ocsp -respin "$EDGE_WORK/r.der" -CAfile "$CA") || true
  expect_in "$out" "Responder Error: malformedrequest (1)" "nonce of $n octets"
done

step "SHA-256 CertID: live-signed by the delegated responder, SHA-256 echoed"
for i in 1 2; do # the second is served from L1 under its own index
  out=$(ocsp_ok -sha256 -issuer "$CA" -cert "$D/good.pem" -no_nonce -url "$EDGE_URL/ocsp/acme" \
    -CAfile "$CA" -respout "$EDGE_WORK/r.der")
  expect_in "$out" "$D/good.pem: good" "SHA-256 CertID ($i)"
  expect_in "$out" "Response verify OK" "SHA-256 CertID ($i)"
  [ "$(resp_fact "$EDGE_WORK/r.der" hash)" = sha256 ] || fail "answer's CertID is not SHA-256"
  [ "$(resp_fact "$EDGE_WORK/r.der" responder_key_hash)" = "$RESPONDER_KH" ] ||
    fail "SHA-256 answer not signed by the delegated responder"
done
out=$(ocsp_ok -sha256 -issuer "$CA" -cert "$D/good.pem" -url "$EDGE_URL/ocsp" -CAfile "$CA")
expect_in "$out" "$D/good.pem: good" "SHA-256 CertID with nonce"
expect_not_in "$out" "WARNING" "SHA-256 CertID with nonce"

step "never-issued serial: unauthorized with v1:mirror, tryLater without"
out=$(ocsp -issuer "$CA" -serial 0x123456 -url "$EDGE_URL/ocsp" -CAfile "$CA") || true
expect_in "$out" "Responder Error: unauthorized (6)" "never-issued serial, mirror set"
pki_r mirror --clear
out=$(ocsp -issuer "$CA" -serial 0x123457 -url "$EDGE_URL/ocsp" -CAfile "$CA") || true
expect_in "$out" "Responder Error: trylater (3)" "never-issued serial, mirror absent"
out=$(ocsp -issuer "$CA" -serial 0x123456 -url "$EDGE_URL/ocsp" -no_nonce -CAfile "$CA") || true
expect_in "$out" "Responder Error: trylater (3)" "never-issued serial, mirror absent, no nonce"
pki_r mirror

step "unknown issuer (a CA this system does not serve): unauthorized"
SCA=$EDGE_WORK/stranger/ca.pem
out=$(ocsp -issuer "$SCA" -cert "$EDGE_WORK/stranger/stray.pem" -url "$EDGE_URL/ocsp" -CAfile "$SCA") || true
expect_in "$out" "Responder Error: unauthorized (6)" "unknown issuer"
out=$(ocsp -issuer "$SCA" -cert "$EDGE_WORK/stranger/stray.pem" -url "$EDGE_URL/ocsp/acme" -CAfile "$SCA") || true
expect_in "$out" "Responder Error: unauthorized (6)" "unknown issuer under a tenant"

step "garbage POST body: malformedRequest"
printf 'this is not DER at all' >"$EDGE_WORK/junk"
curl -sf -m 30 --data-binary "@$EDGE_WORK/junk" -H 'Content-Type: application/ocsp-request' \
  -o "$EDGE_WORK/r.der" "$EDGE_URL/ocsp" || fail "POST junk"
out=$(ocsp -respin "$EDGE_WORK/r.der" -CAfile "$CA") || true
expect_in "$out" "Responder Error: malformedrequest (1)" "garbage body"
# A valid request with two CertIDs (RFC 5019: one per request).
openssl ocsp -issuer "$CA" -cert "$D/good.pem" -cert "$D/rev.pem" -no_nonce \
  -reqout "$EDGE_WORK/two.der" >/dev/null 2>&1
curl -sf -m 30 --data-binary "@$EDGE_WORK/two.der" -H 'Content-Type: application/ocsp-request' \
  -o "$EDGE_WORK/r.der" "$EDGE_URL/ocsp" || fail "POST two CertIDs"
out=$(ocsp -respin "$EDGE_WORK/r.der" -CAfile "$CA") || true
expect_in "$out" "Responder Error: malformedrequest (1)" "two CertIDs"
# GET paths that are not base64, or base64 of something else.
for junk in '@@@@' 'AAAA' 'MFEw' "$(printf 'MFEw%.0s' $(seq 1 40))"; do
  get "/ocsp/acme/$junk" "$EDGE_WORK/r.der"
  out=$(ocsp -respin "$EDGE_WORK/r.der" -CAfile "$CA") || true
  expect_in "$out" "Responder Error: malformedrequest (1)" "GET of $junk"
done

step "status but no pre-signed response: live-signed good, written back to Redis"
SERIAL=$(cert_serial "$D/noresp.pem")
[ "$(rcli EXISTS "v1:resp:$IKH:$SERIAL")" = 0 ] || fail "v1:resp exists before the first query"
out=$(ocsp_ok -issuer "$CA" -cert "$D/noresp.pem" -no_nonce -url "$EDGE_URL/ocsp/acme" -CAfile "$CA" \
  -respout "$EDGE_WORK/r.der")
expect_in "$out" "$D/noresp.pem: good" "no pre-signed response"
expect_in "$out" "Response verify OK" "no pre-signed response"
[ "$(resp_fact "$EDGE_WORK/r.der" responder_key_hash)" = "$RESPONDER_KH" ] ||
  fail "not live-signed by the delegated responder"
written_back() { [ "$(rcli EXISTS "v1:resp:$IKH:$SERIAL")" = 1 ]; }
vigil_wait_for -t "$EDGE_WAIT" -m "v1:resp:$IKH:$SERIAL in Redis" written_back ||
  fail "the live-signed answer was not written back"
# The stored DER (redis-cli prints raw bytes plus a newline) verifies too.
rcli GET "v1:resp:$IKH:$SERIAL" | head -c -1 >"$EDGE_WORK/stored.der"
check_resp "$EDGE_WORK/stored.der" "$D/noresp.pem" good
t0=$(date +%s)
ttl=$(rcli PTTL "v1:resp:$IKH:$SERIAL")
[ "$ttl" -gt 0 ] || fail "written-back response has no expiry (PTTL $ttl)"
next=$(resp_fact "$EDGE_WORK/stored.der" next)
[ $((ttl / 1000)) -le $((next - t0 + 1)) ] ||
  fail "written-back response outlives its nextUpdate (PTTL $ttl ms)"

step "expired pre-signed response: never served; freshly live-signed instead"
SERIAL=$(cert_serial "$D/expired.pem")
rcli GET "v1:resp:$IKH:$SERIAL" | head -c -1 >"$EDGE_WORK/stale.der"
stale_next=$(resp_fact "$EDGE_WORK/stale.der" next)
[ "$stale_next" -lt "$(date +%s)" ] || fail "vigil-pki --expired wrote a fresh response (tool problem)"
for nonce in -no_nonce -nonce; do
  out=$(ocsp_ok -issuer "$CA" -cert "$D/expired.pem" $nonce -url "$EDGE_URL/ocsp" -CAfile "$CA" \
    -respout "$EDGE_WORK/r.der")
  expect_in "$out" "$D/expired.pem: good" "expired pre-signed ($nonce)"
  expect_in "$out" "Response verify OK" "expired pre-signed ($nonce)"
  expect_not_in "$out" "WARNING" "expired pre-signed ($nonce)"
  now=$(date +%s)
  next=$(resp_fact "$EDGE_WORK/r.der" next)
  [ "$next" -gt "$now" ] || fail "served a response with nextUpdate $next <= now $now"
  [ "$(resp_fact "$EDGE_WORK/r.der" responder_key_hash)" = "$RESPONDER_KH" ] ||
    fail "stale pre-signed response served instead of a live-signed one"
done

step "revocation: cached good, then revoked through the event feed, and stays revoked"
for i in 1 2 3; do
  out=$(ocsp_ok -issuer "$CA" -cert "$D/rev.pem" -no_nonce -url "$EDGE_URL/ocsp" -CAfile "$CA")
  expect_in "$out" "$D/rev.pem: good" "before revocation"
done
hits=$(metric 'vigil_edge_answers_total{kind="l1_hit"}')
[ "$hits" -ge 2 ] || fail "repeated queries were not L1 hits (l1_hit=$hits)"
revoked_at=$(($(date +%s) - 3600))
pki_r publish --dir "$D" --cert "$D/rev.pem" --status revoked --reason keyCompromise \
  --revoked-at "$revoked_at" --issuer-id ca1
is_revoked() {
  ocsp -issuer "$CA" -cert "$D/rev.pem" -no_nonce -url "$EDGE_URL/ocsp" -CAfile "$CA" |
    grep -q "$D/rev.pem: revoked"
}
vigil_wait_for -t 10 -m "revoked for rev.pem" is_revoked || fail "still not revoked after 10 s"
want_time=$(date -u -d "@$revoked_at" '+%b %e %H:%M:%S %Y GMT')
for i in $(seq 1 25); do
  out=$(ocsp_ok -issuer "$CA" -cert "$D/rev.pem" -no_nonce -url "$EDGE_URL/ocsp" -CAfile "$CA" \
    -respout "$EDGE_WORK/r.der")
  expect_in "$out" "$D/rev.pem: revoked" "after revocation ($i)"
  expect_in "$out" "Response verify OK" "after revocation ($i)"
  expect_in "$out" "Reason: keyCompromise" "revocation reason"
  expect_in "$out" "Revocation Time: $want_time" "revocation time"
done
# Every other way of asking says revoked too: nonce (live), SHA-256, GET.
out=$(ocsp_ok -issuer "$CA" -cert "$D/rev.pem" -url "$EDGE_URL/ocsp/acme" -CAfile "$CA")
expect_in "$out" "$D/rev.pem: revoked" "revoked, nonce"
expect_in "$out" "Reason: keyCompromise" "revoked, nonce"
expect_not_in "$out" "WARNING" "revoked, nonce"
out=$(ocsp_ok -sha256 -issuer "$CA" -cert "$D/rev.pem" -no_nonce -url "$EDGE_URL/ocsp" -CAfile "$CA")
expect_in "$out" "$D/rev.pem: revoked" "revoked, SHA-256"
expect_in "$out" "Revocation Time: $want_time" "revoked, SHA-256"
openssl ocsp -issuer "$CA" -cert "$D/rev.pem" -no_nonce -reqout "$EDGE_WORK/rev.der" >/dev/null 2>&1
get "/ocsp/acme/$(urlenc "$(base64 -w0 "$EDGE_WORK/rev.der")")" "$EDGE_WORK/r.der"
check_resp "$EDGE_WORK/r.der" "$D/rev.pem" revoked
[ "$(resp_fact "$EDGE_WORK/r.der" reason)" = key_compromise ] || fail "GET: reason"
[ "$(resp_fact "$EDGE_WORK/r.der" revocation_time)" = "$revoked_at" ] || fail "GET: revocation time"

step "the edge stops cleanly"
edge_stop_clean
edge_done edge_ocsp
