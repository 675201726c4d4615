#!/usr/bin/env bash
# ctl_durability.sh: a revocation, once acknowledged, is published whatever
# happens to the processes around it. Real Postgres, Redis, vigil-signer,
# vigil-control serve and vigil-edge (stack_common.bash); judged with curl,
# psql, redis-cli and openssl ocsp through the edge.
#   (a) Redis down, revoke acknowledged (pending), kill -9 vigil-control
#       before it could publish, Redis back, control restarted -> published:
#       v1:status says revoked, the edge answers revoked, and the CRL it
#       serves lists them.
#   (b) signer killed -> revocations still acknowledged (committed, pending;
#       /health says the signer is unavailable) -> signer back -> the queue
#       drains, every one published.
#   (c) Redis down -> the API keeps accepting several revocations in a row
#       (ctl_api.sh covers one); Redis back -> all published, no restart.
set -euo pipefail
source "$(dirname "$0")/stack_common.bash"

step "the stack: Postgres, Redis, vigil-signer, vigil-control, vigil-edge"
stack_up durability
W=$STACK_DIR

# issue NAME: a certificate with a generated key; prints its id, keeps the
# PEM in $W/NAME.pem.
issue() {
  vctl_json certificates create --tenant acme --name "$1" --dns "$1.acme.test" \
    --key-out "$W/$1.key" --cert-out "$W/$1.pem" | jget 'd["id"]'
}
serial_of() { psql_q "SELECT encode(serial, 'hex') FROM certificates WHERE id = '$1'" | sed 's/^0*//'; }
ikh=
edge_status() {
  ocsp -issuer "$STACK_CA" -cert "$W/$1.pem" -url "$EDGE_URL/ocsp/acme" \
    -CAfile "$STACK_CA" -no_nonce 2>&1 || true
}
edge_says() { # edge_says NAME good|revoked
  local out
  out=$(edge_status "$1")
  grep -q "$1.pem: $2" <<<"$out" && grep -q "Response verify OK" <<<"$out"
}
queue_of() { psql_q "SELECT status FROM revocation_queue WHERE certificate = '$1'"; }
redis_status() { rcli GET "v1:status:$ikh:$(serial_of "$1")" | cut -d' ' -f1; }
# revoke ID REASON: POST without ?wait; must be acknowledged (200).
revoke() {
  local body
  api POST "/certificates/$1/revoke" "{\"reason\": \"$2\"}" >"$W/revoke.json"
  body=$(cat "$W/revoke.json")
  [ "$API_STATUS" = 200 ] || fail "revoke $1: HTTP $API_STATUS: $body"
  [ "$(jget 'd["status"]' <<<"$body")" = revoked ] || fail "revoke $1: $body"
  printf '%s\n' "$(jget 'd["revocation_queue_status"]' <<<"$body")"
}
health_field() { api GET /health | jget "d[\"$1\"]"; }

declare -A id
for n in a1 c1 c2 b1 b2 b3; do
  id[$n]=$(issue "$n") || fail "issue $n"
done
ikh=$(rcli HKEYS v1:issuers | head -1)
[ -n "$ikh" ] || fail "no issuer in v1:issuers"
for n in a1 c1 b1; do
  vigil_wait_for -t "$EDGE_WAIT" -m "$n good at the edge" edge_says "$n" good ||
    fail "$n is not good at the edge: $(edge_status "$n")"
done

step "(a)+(c) Redis down: revocations are acknowledged as pending"
redis_port=$EDGE_REDIS_PORT
vigil_redis_stop "$W" || fail "Redis did not stop"
[ "$(health_field redis)" = unavailable ] || fail "health: $(api GET /health)"
[ "$(revoke "${id[a1]}" keyCompromise)" = pending ] || fail "a1 was not pending"
[ "$(revoke "${id[c1]}" superseded)" = pending ] || fail "c1 was not pending"
[ "$(revoke "${id[c2]}" affiliationChanged)" = pending ] || fail "c2 was not pending"
for n in a1 c1 c2; do
  [ "$(queue_of "${id[$n]}")" = pending ] || fail "$n: queue row $(queue_of "${id[$n]}")"
done
api GET "/certificates/${id[a1]}" >"$W/a1.json"
[ "$(jget 'd["status"]' <"$W/a1.json")" = revoked ] || fail "GET a1: $(cat "$W/a1.json")"

step "(a) kill -9 vigil-control before it could publish; Redis back"
stack_control_kill9
vigil_redis_start "$W" "$redis_port" >/dev/null || fail "Redis did not restart"
# Nobody published meanwhile: Redis still says good, the queue is pending.
[ "$(redis_status "${id[a1]}")" = good ] || fail "a1 in Redis: $(redis_status "${id[a1]}")"
[ "$(queue_of "${id[a1]}")" = pending ] || fail "a1 queue: $(queue_of "${id[a1]}")"

step "(a) vigil-control restarted: the acknowledged revocations are published"
stack_control_start
all_published() {
  local n
  for n in "$@"; do
    [ "$(queue_of "${id[$n]}")" = published ] || return 1
  done
}
vigil_wait_for -t "$EDGE_WAIT" -m "a1 c1 c2 published" all_published a1 c1 c2 ||
  fail "not published after restart: $(psql_q 'SELECT certificate, status, attempts, last_error FROM revocation_queue')"
rec=$(rcli GET "v1:status:$ikh:$(serial_of "${id[a1]}")")
[[ $rec =~ ^revoked\ [0-9]+\ [0-9]+\ 1$ ]] || fail "a1 status record: $rec"
rec=$(rcli GET "v1:status:$ikh:$(serial_of "${id[c1]}")")
[[ $rec =~ ^revoked\ [0-9]+\ [0-9]+\ 4$ ]] || fail "c1 status record: $rec"
rec=$(rcli GET "v1:status:$ikh:$(serial_of "${id[c2]}")")
[[ $rec =~ ^revoked\ [0-9]+\ [0-9]+\ 3$ ]] || fail "c2 status record: $rec"
rcli XRANGE v1:events - + | grep -q "$(serial_of "${id[a1]}")" || fail "no revoke event for a1"
vigil_wait_for -t "$EDGE_WAIT" -m "a1 revoked at the edge" edge_says a1 revoked ||
  fail "the edge does not say a1 is revoked: $(edge_status a1)"
expect_in "$(edge_status a1)" "Reason: keyCompromise" "a1 reason at the edge"
vigil_wait_for -t "$EDGE_WAIT" -m "c1 revoked at the edge" edge_says c1 revoked ||
  fail "the edge does not say c1 is revoked: $(edge_status c1)"

# ... and the CRL the edge serves lists them, verified by openssl.
crl_lists() {
  local t s
  curl -sf -m 10 -o "$W/crl.der" "$EDGE_URL/crl/acme/acme-ca" || return 1
  t=$(openssl crl -inform DER -in "$W/crl.der" -CAfile "$STACK_CA" -noout \
    -verify -text 2>&1) || return 1
  grep -q "verify OK" <<<"$t" || return 1
  for s in "$@"; do
    grep -qi "Serial Number: 0*$s\$" <<<"$t" || return 1
  done
}
vigil_wait_for -t "$EDGE_WAIT" -m "the edge's CRL listing a1 c1 c2" crl_lists \
  "$(serial_of "${id[a1]}")" "$(serial_of "${id[c1]}")" "$(serial_of "${id[c2]}")" ||
  fail "CRL at the edge: $(openssl crl -inform DER -in "$W/crl.der" -noout -text 2>&1 | head -30)"

step "(b) signer killed: revocations are still acknowledged, and wait"
stack_signer_kill9
[ "$(health_field signer)" = unavailable ] || fail "health: $(api GET /health)"
[ "$(health_field status)" = degraded ] || fail "health: $(api GET /health)"
for n in b1 b2 b3; do
  [ "$(revoke "${id[$n]}" cessationOfOperation)" = pending ] || fail "$n was not pending"
done
# The publisher tries, fails, and keeps the rows pending (not lost, not
# published without a signature).
tried() {
  [ "$(psql_q "SELECT count(*) FROM revocation_queue WHERE status = 'pending' AND attempts > 0 AND last_error IS NOT NULL")" = 3 ]
}
vigil_wait_for -t "$EDGE_WAIT" -m "the publisher to try the queue" tried ||
  fail "queue: $(psql_q 'SELECT certificate, status, attempts, last_error FROM revocation_queue')"
[ "$(redis_status "${id[b1]}")" = good ] || fail "b1 in Redis: $(redis_status "${id[b1]}")"
edge_says b1 good || fail "the edge changed its answer for b1 without a signer: $(edge_status b1)"

step "(b) signer back: the queue drains, every revocation published"
stack_signer_start
vigil_wait_for -t "$EDGE_WAIT" -m "b1 b2 b3 published" all_published b1 b2 b3 ||
  fail "not drained: $(psql_q 'SELECT certificate, status, attempts, last_error FROM revocation_queue')"
[ "$(psql_q "SELECT count(*) FROM revocation_queue WHERE status = 'pending'")" = 0 ] ||
  fail "rows left pending"
for n in b1 b2 b3; do
  rec=$(rcli GET "v1:status:$ikh:$(serial_of "${id[$n]}")")
  [[ $rec =~ ^revoked\ [0-9]+\ [0-9]+\ 5$ ]] || fail "$n status record: $rec"
done
vigil_wait_for -t "$EDGE_WAIT" -m "b1 revoked at the edge" edge_says b1 revoked ||
  fail "the edge does not say b1 is revoked: $(edge_status b1)"
[ "$(health_field status)" = ok ] || fail "health: $(api GET /health)"

step "every acknowledged revocation is audited once; the chain verifies"
[ "$(psql_q "SELECT count(*) FROM audit_events WHERE type = 'certificate.revoked'")" = 6 ] ||
  fail "audit: $(psql_q "SELECT type, subject FROM audit_events WHERE type LIKE 'certificate.%'")"
"$STACK_CONTROL_BIN" --database-url "$VIGIL_PG_URL" audit-verify >/dev/null ||
  fail "audit-verify failed"
edge_done ctl_durability
