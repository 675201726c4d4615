#!/usr/bin/env bash
# edge_crl.sh: vigil-edge serves CRLs (DESIGN.md section 4): GET
# /crl/{tenant} (the tenant's current issuer) and /crl/{tenant}/{issuer_id},
# DER that `openssl crl` verifies against the CA, application/pkix-crl,
# caching headers that match the CRL, Surrogate-Key
# "crl {issuer_id}", 304 on If-None-Match, and a
# new CRL served by every worker after the `crl` event (the per-worker CRL
# caches are dropped). Shards of a partitioned CRL (Redis
# v1:crl:{issuer_id}:{shard}) on /crl/{tenant}/{issuer_id}/{shard}, with
# the same headers, 304 and refresh, checked by openssl verify -crl_check
# against a certificate whose CRL distribution point is the shard's URL.
set -euo pipefail
# shellcheck source=edge_common.bash
source "$(dirname "$0")/edge_common.bash"

edge_init edge-crl
D=$PKI_DIR
CA=$D/ca.pem

step "PKI, Redis, edge"
edge_ca "$D" "Edge CRL Test CA" ca1 acme
edge_ca "$EDGE_WORK/other" "Other Tenant CA" ca2 other
for n in one two three; do
  edge_leaf "$D" "$n"
  pki_r publish --dir "$D" --cert "$D/$n.pem" --status good --issuer-id ca1
done
# shardy: a certificate whose CRL distribution point is shard 3's URL
# (the edge's port is not known yet: a fixed host; only the path matters
# to the edge, the whole URI to the relying party).
SHARD_URL=http://crl.example/crl/acme/ca1/3
edge_leaf "$D" shardy --crl-url "$SHARD_URL"
pki_r publish --dir "$D" --cert "$D/shardy.pem" --status good --issuer-id ca1
# The purge keys of this issuer's CRLs, from the v1:issuers record.
ISS=$(rcli HGET v1:issuers "$(cert_ikh "$CA")" | cut -d' ' -f1)
[ "$ISS" = ca1 ] || fail "v1:issuers names '$ISS'"
CRL_SKEY="crl $ISS" # DESIGN.md section 4
pki_r mirror
# Answers of 16 KiB or more (the large CRL below) go out zero-copy.
edge_start --send-zc-min 16K
edge_wait_ready

# fetch PATH [curl args...]: headers to $EDGE_WORK/h, body to $EDGE_WORK/b;
# prints the HTTP status.
fetch() {
  local path=$1
  shift
  rm -f "$EDGE_WORK/h" "$EDGE_WORK/b"
  curl -s -m 30 -D "$EDGE_WORK/h" -o "$EDGE_WORK/b" "$@" "$EDGE_URL$path" ||
    fail "curl $path"
  status_code "$EDGE_WORK/h"
}

# crl_ok FILE: openssl verifies the DER CRL FILE with the CA.
crl_ok() {
  local out
  out=$(openssl crl -inform DER -in "$1" -CAfile "$CA" -noout -verify 2>&1) ||
    fail "openssl crl -verify: $out"
  expect_in "$out" "verify OK" "CRL signature"
}

# crl_lists FILE SERIAL: the CRL lists SERIAL (openssl's upper-case hex).
crl_lists() {
  openssl crl -inform DER -in "$1" -noout -text |
    grep -qi "Serial Number: 0*$2\$"
}

step "no CRL published yet: 404"
[ "$(fetch /crl/acme)" = 404 ] || fail "/crl/acme before any CRL: $(status_code "$EDGE_WORK/h")"

step "first CRL: both URLs serve it; it verifies; headers match it"
pki_r crl --dir "$D" --issuer-id ca1
has_crl() { [ "$(fetch /crl/acme)" = 200 ]; }
vigil_wait_for -t 10 -m "the first CRL on /crl/acme" has_crl || fail "no CRL after vigil-pki crl"
for path in /crl/acme /crl/acme/ca1; do
  t0=$(date +%s)
  [ "$(fetch "$path")" = 200 ] || fail "$path: HTTP $(status_code "$EDGE_WORK/h")"
  crl_ok "$EDGE_WORK/b"
  cmp -s "$EDGE_WORK/b" "$D/crl.der" || fail "$path does not serve the published CRL"
  [ "$(header Content-Type "$EDGE_WORK/h")" = application/pkix-crl ] || fail "$path Content-Type"
  [ "$(header Content-Length "$EDGE_WORK/h")" = "$(stat -c %s "$EDGE_WORK/b")" ] ||
    fail "$path Content-Length"
  [ "$(header Surrogate-Key "$EDGE_WORK/h")" = "$CRL_SKEY" ] ||
    fail "$path Surrogate-Key '$(header Surrogate-Key "$EDGE_WORK/h")', want '$CRL_SKEY'"
  last=$(openssl crl -inform DER -in "$EDGE_WORK/b" -noout -lastupdate | cut -d= -f2)
  nextu=$(openssl crl -inform DER -in "$EDGE_WORK/b" -noout -nextupdate | cut -d= -f2)
  [ "$(date_epoch "$(header Last-Modified "$EDGE_WORK/h")")" = "$(date_epoch "$last")" ] ||
    fail "$path Last-Modified '$(header Last-Modified "$EDGE_WORK/h")' is not lastUpdate '$last'"
  ex=$(date_epoch "$(header Expires "$EDGE_WORK/h")")
  [ "$ex" -le "$(date_epoch "$nextu")" ] || fail "$path Expires after nextUpdate"
  cc=$(header Cache-Control "$EDGE_WORK/h")
  [[ $cc =~ ^max-age=([0-9]+),\ ?public ]] || fail "$path Cache-Control '$cc'"
  [ "${BASH_REMATCH[1]}" -le $(($(date_epoch "$nextu") - t0 + 1)) ] ||
    fail "$path max-age beyond nextUpdate"
  [[ $(header ETag "$EDGE_WORK/h") =~ ^\"[!#-~]+\"$ ]] || fail "$path ETag"
done
etag=$(header ETag "$EDGE_WORK/h")
num1=$(openssl crl -inform DER -in "$EDGE_WORK/b" -noout -crlnumber | cut -d= -f2)

step "ETag: 304; HEAD: no body"
[ "$(fetch /crl/acme -H "If-None-Match: $etag")" = 304 ] ||
  fail "If-None-Match: HTTP $(status_code "$EDGE_WORK/h")"
[ ! -s "$EDGE_WORK/b" ] || fail "304 with a body"
[ "$(header Surrogate-Key "$EDGE_WORK/h")" = "$CRL_SKEY" ] || fail "304 Surrogate-Key"
[ "$(fetch /crl/acme/ca1 -H 'If-None-Match: "other"')" = 200 ] || fail "other ETag"
printf 'HEAD /crl/acme HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n' >"$EDGE_WORK/head"
out=$(edgepy raw "$EDGE_PORT" "$EDGE_WORK/head" 30 | tr -d '\r' | grep '^HTTP/')
[ "$out" = "$(printf 'HTTP/1.1 200 OK\nHTTP/1.1 404 Not Found')" ] ||
  fail "HEAD then GET on one connection: '$out'"

step "unknown tenant, foreign issuer, bad names: 404"
for path in /crl/nobody /crl/nobody/ca1 /crl/acme/ca2 /crl/other/ca1 /crl/acme/nope \
  /crl/ACME /crl/acme/ca1/x /crl/ /crl/-acme; do
  code=$(fetch "$path")
  [ "$code" = 404 ] || fail "$path: HTTP $code, want 404"
done
# The other tenant has no CRL yet: 404 for its own URL too.
[ "$(fetch /crl/other)" = 404 ] || fail "/crl/other without a CRL"
[ "$(fetch /crl/acme -X POST --data x)" = 405 ] || fail "POST /crl/acme"

# Warm the CRL caches of both workers: separate connections are spread
# over the workers by SO_REUSEPORT.
warm() {
  local _
  for _ in $(seq 1 12); do
    curl -sf -m 30 -o /dev/null "$EDGE_URL/crl/acme" || fail "warm /crl/acme"
    curl -sf -m 30 -o /dev/null "$EDGE_URL/crl/acme/ca1" || fail "warm /crl/acme/ca1"
  done
}
warm

# lists_everywhere SERIAL: 20 fresh connections on both URLs all get a CRL
# listing SERIAL (every worker dropped its cached copy).
lists_everywhere() {
  local _ p
  for _ in $(seq 1 10); do
    for p in /crl/acme /crl/acme/ca1; do
      [ "$(fetch "$p")" = 200 ] || return 1
      crl_lists "$EDGE_WORK/b" "$1" || return 1
    done
  done
}

step "revoke one + new CRL: every worker serves the new CRL at once"
S1=$(openssl x509 -in "$D/one.pem" -noout -serial | cut -d= -f2)
[ "$(fetch /crl/acme)" = 200 ] || fail "/crl/acme"
crl_ok "$EDGE_WORK/b"
if crl_lists "$EDGE_WORK/b" "$S1"; then fail "the first CRL already lists $S1"; fi
pki_r publish --dir "$D" --cert "$D/one.pem" --status revoked --reason keyCompromise --issuer-id ca1
pki_r crl --dir "$D" --issuer-id ca1
vigil_wait_for -t 10 -m "the second CRL everywhere" lists_everywhere "$S1" ||
  fail "the new CRL listing $S1 is not served by every worker"
crl_ok "$EDGE_WORK/b"
num2=$(openssl crl -inform DER -in "$EDGE_WORK/b" -noout -crlnumber | cut -d= -f2)
case $num1$num2 in *[!0-9a-fA-Fx]*) fail "CRL numbers '$num1' '$num2'" ;; esac
[ $((num2)) -gt $((num1)) ] || fail "CRL number $num2 not above $num1"
openssl crl -inform DER -in "$EDGE_WORK/b" -noout -text | grep -q "Key Compromise" ||
  fail "CRL entry without reason keyCompromise"
[ "$(header ETag "$EDGE_WORK/h")" != "$etag" ] || fail "new CRL, same ETag"
[ "$(fetch /crl/acme -H "If-None-Match: $etag")" = 200 ] || fail "old ETag still 304"

step "revoke another (one-step vigil-pki revoke): the third CRL everywhere"
warm
S2=$(openssl x509 -in "$D/two.pem" -noout -serial | cut -d= -f2)
pki_r revoke --dir "$D" --cert "$D/two.pem" --issuer-id ca1 --reason superseded
vigil_wait_for -t 10 -m "the third CRL everywhere" lists_everywhere "$S2" ||
  fail "the CRL listing $S2 is not served by every worker"
crl_lists "$EDGE_WORK/b" "$S1" || fail "third CRL lost $S1"
crl_ok "$EDGE_WORK/b"
# ... and OCSP agrees.
out=$(ocsp_ok -issuer "$CA" -cert "$D/two.pem" -url "$EDGE_URL/ocsp/acme" -CAfile "$CA")
expect_in "$out" "$D/two.pem: revoked" "OCSP after vigil-pki revoke"

step "a relying party checks certificates against the served CRL"
fetch /crl/acme >/dev/null
openssl crl -inform DER -in "$EDGE_WORK/b" -out "$EDGE_WORK/crl.pem"
out=$(openssl verify -crl_check -CAfile "$CA" -CRLfile "$EDGE_WORK/crl.pem" "$D/two.pem" 2>&1 || true)
expect_in "$out" "certificate revoked" "openssl verify -crl_check of a revoked leaf"
out=$(openssl verify -crl_check -CAfile "$CA" -CRLfile "$EDGE_WORK/crl.pem" "$D/three.pem" 2>&1) ||
  fail "openssl verify -crl_check of a good leaf: $out"
expect_in "$out" ": OK" "openssl verify -crl_check of a good leaf"

step "sharded CRL: /crl/acme/ca1/{shard} serves v1:crl:ca1:{shard}"
# Shard CRLs made with vigil_crl_build (vigil-test-crl_sign) carrying a
# critical IssuingDistributionPoint = the shard's URL, written to Redis the
# way the control plane publishes them.  Shard 3 lists shardy.
SS=$(openssl x509 -in "$D/shardy.pem" -noout -serial | cut -d= -f2)
SIGN=$EDGE_BUILD/tests/vigil-test-crl_sign
shard_crl() { # shard_crl N NUMBER OUT [entries file]
  local extra=()
  [ $# -lt 4 ] || extra=(--entries "$4")
  "$SIGN" --issuer "$CA" --key "$D/ca.key" --number "$2" --this-update now-60 \
    --next-update now+86400 --idp "http://crl.example/crl/acme/ca1/$1" --user-certs \
    "${extra[@]}" --out "$3" || fail "vigil-test-crl_sign shard $1"
}
printf '%s now-120 keyCompromise\n' "$SS" >"$EDGE_WORK/shard3.txt"
shard_crl 3 a0 "$EDGE_WORK/s3a.der" "$EDGE_WORK/shard3.txt"
shard_crl 0 a0 "$EDGE_WORK/s0a.der"
[ "$(fetch /crl/acme/ca1/3)" = 404 ] || fail "shard 3 before it is published: $(status_code "$EDGE_WORK/h")"
rcli -x SET v1:crl:ca1:3 <"$EDGE_WORK/s3a.der" >/dev/null
rcli -x SET v1:crl:ca1:0 <"$EDGE_WORK/s0a.der" >/dev/null
rcli XADD v1:events '*' type crl issuer_id ca1 >/dev/null
for n in 3 0; do
  t0=$(date +%s)
  path=/crl/acme/ca1/$n
  [ "$(fetch "$path")" = 200 ] || fail "$path: HTTP $(status_code "$EDGE_WORK/h")"
  cmp -s "$EDGE_WORK/b" "$EDGE_WORK/s${n}a.der" || fail "$path is not v1:crl:ca1:$n"
  crl_ok "$EDGE_WORK/b"
  [ "$(header Content-Type "$EDGE_WORK/h")" = application/pkix-crl ] || fail "$path Content-Type"
  [ "$(header Surrogate-Key "$EDGE_WORK/h")" = "$CRL_SKEY" ] ||
    fail "$path Surrogate-Key '$(header Surrogate-Key "$EDGE_WORK/h")'"
  last=$(openssl crl -inform DER -in "$EDGE_WORK/b" -noout -lastupdate | cut -d= -f2)
  nextu=$(openssl crl -inform DER -in "$EDGE_WORK/b" -noout -nextupdate | cut -d= -f2)
  [ "$(date_epoch "$(header Last-Modified "$EDGE_WORK/h")")" = "$(date_epoch "$last")" ] ||
    fail "$path Last-Modified is not lastUpdate"
  [ "$(date_epoch "$(header Expires "$EDGE_WORK/h")")" -le "$(date_epoch "$nextu")" ] ||
    fail "$path Expires after nextUpdate"
  cc=$(header Cache-Control "$EDGE_WORK/h")
  [[ $cc =~ ^max-age=([0-9]+),\ ?public ]] || fail "$path Cache-Control '$cc'"
  [ "${BASH_REMATCH[1]}" -le $(($(date_epoch "$nextu") - t0 + 1)) ] ||
    fail "$path max-age beyond nextUpdate"
done
fetch /crl/acme/ca1/3 >/dev/null
s3etag=$(header ETag "$EDGE_WORK/h")
[[ $s3etag =~ ^\"[!#-~]+\"$ ]] || fail "shard ETag '$s3etag'"
fetch /crl/acme/ca1/0 >/dev/null
[ "$(header ETag "$EDGE_WORK/h")" != "$s3etag" ] || fail "shards 0 and 3 share an ETag"
# The full CRL is still the full CRL (separate cache entries).
[ "$(fetch /crl/acme/ca1)" = 200 ] || fail "/crl/acme/ca1 after shards"
if openssl crl -inform DER -in "$EDGE_WORK/b" -noout -text | grep -q "Issuing Distribution Point"; then
  fail "/crl/acme/ca1 serves a shard"
fi
[ "$(fetch /crl/acme/ca1/3 -H "If-None-Match: $s3etag")" = 304 ] || fail "shard If-None-Match"
[ ! -s "$EDGE_WORK/b" ] || fail "shard 304 with a body"
[ "$(header Surrogate-Key "$EDGE_WORK/h")" = "$CRL_SKEY" ] || fail "shard 304 Surrogate-Key"
[ "$(fetch /crl/acme/ca1/3 -I)" = 200 ] || fail "HEAD shard"
[ "$(header Content-Length "$EDGE_WORK/h")" = "$(stat -c %s "$EDGE_WORK/s3a.der")" ] || fail "HEAD shard length"
for path in /crl/acme/ca1/7 /crl/acme/ca1/03 /crl/acme/ca1/3/ /crl/other/ca1/3 /crl/acme/ca2/3 \
  /crl/acme/ca1/1000000; do
  code=$(fetch "$path")
  [ "$code" = 404 ] || fail "$path: HTTP $code, want 404"
done
[ "$(fetch /crl/acme/ca1/3 -X POST --data x)" = 405 ] || fail "POST shard"
# A relying party: openssl verify -crl_check matches the shard's IDP with
# the certificate's CRL distribution point and finds the revocation.
fetch /crl/acme/ca1/3 >/dev/null
openssl crl -inform DER -in "$EDGE_WORK/b" -out "$EDGE_WORK/s3.pem"
out=$(openssl verify -crl_check -CAfile "$CA" -CRLfile "$EDGE_WORK/s3.pem" "$D/shardy.pem" 2>&1 || true)
expect_in "$out" "certificate revoked" "openssl verify -crl_check of shardy against shard 3"

step "sharded CRL: a new shard is served by every worker after the crl event"
shard_three_everywhere() { # every fresh connection gets the new shard 3
  local _
  for _ in $(seq 1 10); do
    [ "$(fetch /crl/acme/ca1/3)" = 200 ] || return 1
    cmp -s "$EDGE_WORK/b" "$EDGE_WORK/s3b.der" || return 1
  done
}
for _ in $(seq 1 12); do
  curl -sf -m 30 -o /dev/null "$EDGE_URL/crl/acme/ca1/3" || fail "warm shard 3"
done
: >"$EDGE_WORK/shard3b.txt" # shardy taken off (a test-only change)
shard_crl 3 a1 "$EDGE_WORK/s3b.der" "$EDGE_WORK/shard3b.txt"
rcli -x SET v1:crl:ca1:3 <"$EDGE_WORK/s3b.der" >/dev/null
rcli XADD v1:events '*' type crl issuer_id ca1 >/dev/null
vigil_wait_for -t 10 -m "the new shard 3 everywhere" shard_three_everywhere ||
  fail "the new shard 3 is not served by every worker"
[ "$(header ETag "$EDGE_WORK/h")" != "$s3etag" ] || fail "new shard, same ETag"
[ "$(fetch /crl/acme/ca1/3 -H "If-None-Match: $s3etag")" = 200 ] || fail "old shard ETag still 304"
openssl crl -inform DER -in "$EDGE_WORK/b" -out "$EDGE_WORK/s3.pem"
out=$(openssl verify -crl_check -CAfile "$CA" -CRLfile "$EDGE_WORK/s3.pem" "$D/shardy.pem" 2>&1) ||
  fail "openssl verify -crl_check against the new shard 3: $out"
expect_in "$out" ": OK" "openssl verify -crl_check against the new shard 3"

step "a large CRL goes out zero-copy (send-zc-min), byte for byte"
# 4000 revoked serials: ~100 KB, well over send-zc-min (16K); the small
# shard 0 stays under it and is copied.
for i in $(seq 1 4000); do printf '%x now-300 keyCompromise\n' $((0x7a000000 + i)); done \
  >"$EDGE_WORK/big.txt"
shard_crl 7 a0 "$EDGE_WORK/s7.der" "$EDGE_WORK/big.txt"
big=$(stat -c %s "$EDGE_WORK/s7.der")
[ "$big" -gt 65536 ] || fail "the large CRL is only $big bytes"
rcli -x SET v1:crl:ca1:7 <"$EDGE_WORK/s7.der" >/dev/null
rcli XADD v1:events '*' type crl issuer_id ca1 >/dev/null
zc0=$(metric vigil_edge_sends_zero_copy_total)
[ "$(fetch /crl/acme/ca1/0)" = 200 ] || fail "small shard 0"
[ "$(metric vigil_edge_sends_zero_copy_total)" = "$zc0" ] || fail "a small CRL was sent zero-copy"
big_served() { [ "$(fetch /crl/acme/ca1/7)" = 200 ] && cmp -s "$EDGE_WORK/b" "$EDGE_WORK/s7.der"; }
vigil_wait_for -t 10 -m "the large shard 7" big_served || fail "the large CRL is not served intact"
crl_ok "$EDGE_WORK/b"
[ "$(openssl crl -inform DER -in "$EDGE_WORK/b" -noout -text | grep -c 'Serial Number')" = 4000 ] ||
  fail "the large CRL served does not list its 4000 serials"
# Eight clients at once, each on its own connection and each reading the
# whole answer: every copy intact while the pages are shared.
pids=()
for i in $(seq 1 8); do
  curl -sf -m 30 -o "$EDGE_WORK/big$i.der" "$EDGE_URL/crl/acme/ca1/7" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "parallel fetch of the large CRL"; done
for i in $(seq 1 8); do
  cmp -s "$EDGE_WORK/big$i.der" "$EDGE_WORK/s7.der" || fail "parallel fetch $i differs"
done
zc1=$(metric vigil_edge_sends_zero_copy_total)
[ "$zc1" -ge $((zc0 + 9)) ] || fail "zero-copy sends: $zc0 -> $zc1, want at least 9 more"
# HEAD of the large CRL: headers only, under send-zc-min, so copied.
[ "$(fetch /crl/acme/ca1/7 -I)" = 200 ] || fail "HEAD of the large CRL"
[ "$(header Content-Length "$EDGE_WORK/h")" = "$big" ] || fail "HEAD Content-Length"
[ "$(metric vigil_edge_sends_zero_copy_total)" = "$zc1" ] || fail "a HEAD answer was sent zero-copy"

step "the edge stops cleanly"
edge_stop_clean
edge_done edge_crl
