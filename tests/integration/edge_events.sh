#!/usr/bin/env bash
# edge_events.sh: the v1:events follower under odd stream states.
#  - XDEL of the newest, unread entry: L1 is dropped once (the entry could
#    have been a revocation), and not again and again afterwards.
#  - v1:events of the wrong type (or a Redis answering errors): the feed
#    retries with backoff instead of spinning, and recovers.
set -euo pipefail
source "$(dirname "$0")/edge_common.bash"

edge_init edge-events
D=$PKI_DIR

step "PKI, Redis, edge"
edge_ca "$D" "Edge Events Test CA" ca1 acme
edge_leaf "$D" one
pki_r publish --dir "$D" --cert "$D/one.pem" --status good --issuer-id ca1
pki_r mirror
edge_start
edge_wait_ready

step "XDEL of an unread entry: one flush, not a flush loop"
f0=$(metric vigil_edge_l1_flushes_total)
# Deleting an entry the edge has not read: add it while the edge cannot
# see it is racy, so delete the newest entry right after adding it.
id=$(rcli XADD v1:events '*' type flush)
rcli XDEL v1:events "$id" >/dev/null
more_flushes() { [ "$(metric vigil_edge_l1_flushes_total)" -gt "$f0" ]; }
# The edge may have read the entry before it was deleted (then a flush
# event was applied: also one flush). Either way: at least one...
vigil_wait_for -t "$EDGE_WAIT" -m "a flush" more_flushes || fail "no flush"
f1=$(metric vigil_edge_l1_flushes_total)
# ...and then no more while nothing changes (the old code flushed ~2/s).
sleep 3 # measuring that nothing happens over an interval
f2=$(metric vigil_edge_l1_flushes_total)
[ "$f2" -le $((f1 + 1)) ] || fail "flush loop: $f1 -> $f2 flushes in 3 s"

step "v1:events of the wrong type: backoff, no spin; recovers"
rcli DEL v1:events >/dev/null
rcli SET v1:events notastream >/dev/null
lines0=$(wc -l < "$EDGE_LOG")
sleep 3 # counting reconnect attempts over an interval
lines1=$(wc -l < "$EDGE_LOG")
[ $((lines1 - lines0)) -lt 200 ] || fail "event feed spinning: $((lines1 - lines0)) log lines in 3 s"
rcli DEL v1:events >/dev/null
feed_up() { [ "$(metric vigil_edge_events_up)" = 1 ]; }
vigil_wait_for -t 20 -m "event feed back" feed_up || fail "the event feed did not recover"
pki_r publish --dir "$D" --cert "$D/one.pem" --status revoked --reason keyCompromise --issuer-id ca1
is_revoked() {
  ocsp -issuer "$D/ca.pem" -cert "$D/one.pem" -url "$EDGE_URL/ocsp/acme" \
    -CAfile "$D/ca.pem" -no_nonce | grep -q "one.pem: revoked"
}
vigil_wait_for -t "$EDGE_WAIT" -m "revoked after recovery" is_revoked ||
  fail "revocation not applied after the feed recovered"

step "the edge stops cleanly"
edge_stop_clean
edge_done edge_events
