#!/usr/bin/env bash
# edge_resilience.sh: vigil-edge under failure (DESIGN.md sections 3, 4, 6).
#  - hostile clients: connect-and-close floods, garbage, slowloris (closed
#    after --header-timeout, also on a keep-alive connection), and the edge
#    still answers correctly afterwards;
#  - Redis down: L1 hits still served, misses tryLater, /readyz 503; Redis
#    back on the same port: ready again, misses answered;
#  - event gap: revocation events trimmed from v1:events while the edge was
#    disconnected: the edge must drop its L1 on reconnect, so the revoked
#    certificate is never again answered good from the old cache entry.
set -euo pipefail
# shellcheck source=edge_common.bash
source "$(dirname "$0")/edge_common.bash"

edge_init edge-resilience
D=$PKI_DIR
CA=$D/ca.pem
REDIS_PORT=$EDGE_REDIS_PORT

step "PKI, Redis, edge (header timeout 2 s, idle timeout 30 s)"
edge_ca "$D" "Edge Resilience Test CA" ca1 acme
for n in cached miss gap1 gap2 zero; do
  edge_leaf "$D" "$n"
  pki_r publish --dir "$D" --cert "$D/$n.pem" --status good --issuer-id ca1
done
pki_r mirror
EDGE_OPTS=(--header-timeout 2s --idle-timeout 30s)
edge_start "${EDGE_OPTS[@]}"
edge_wait_ready

# status_of NAME: what `openssl ocsp -no_nonce` says about NAME (good,
# revoked, or the responder error), via the edge.
status_of() {
  local out
  out=$(ocsp -issuer "$CA" -cert "$D/$1.pem" -no_nonce -url "$EDGE_URL/ocsp/acme" -CAfile "$CA") || true
  case $out in
    *"$D/$1.pem: good"*"Response verify OK"* | *"Response verify OK"*"$D/$1.pem: good"*) echo good ;;
    *"$D/$1.pem: revoked"*"Response verify OK"* | *"Response verify OK"*"$D/$1.pem: revoked"*) echo revoked ;;
    *"Responder Error: "*) printf '%s\n' "$out" | sed -n 's/.*Responder Error: \([a-z]*\).*/\1/p' | head -n 1 ;;
    *) printf 'unexpected:%s\n' "$out" | tr '\n' ' ' ;;
  esac
}
want_status() { # want_status NAME STATUS WHAT
  local got
  got=$(status_of "$1")
  [ "$got" = "$2" ] || fail "$3: $1 is '$got', want '$2'"
}
is_status() { [ "$(status_of "$1")" = "$2" ]; }

want_status cached good "first query"
want_status cached good "second query (L1)"

step "hostile clients: 200 empty connections, 30 garbage ones"
opened0=$(metric vigil_edge_connections_opened_total)
out=$(edgepy hostile "$EDGE_PORT" 200 30) || fail "hostile clients: $out"
_vigil_pid_alive "$EDGE_PID" || fail "the edge died"
want_status cached good "after hostile clients"
opened=$(metric vigil_edge_connections_opened_total)
[ $((opened - opened0)) -ge 230 ] || fail "connections_opened_total moved by $((opened - opened0)), want >= 230"

step "slowloris: 50 connections trickling a head are closed after the header timeout"
timeouts0=$(metric vigil_edge_timeouts_total)
out=$(edgepy slowloris "$EDGE_PORT" 50 $((EDGE_WAIT / 2))) ||
  fail "slowloris connections still open after $((EDGE_WAIT / 2)) s: $out"
read -r closed_after _ <<<"$out"
# Not closed before the 2 s timeout (a byte arrives every 0.5 s).
awk -v t="$closed_after" 'BEGIN { exit !(t >= 1.5) }' || fail "slowloris closed after $closed_after s (< 2 s timeout)"
timeouts=$(metric vigil_edge_timeouts_total)
[ $((timeouts - timeouts0)) -ge 50 ] || fail "timeouts_total moved by $((timeouts - timeouts0)), want >= 50"
_vigil_pid_alive "$EDGE_PID" || fail "the edge died"
want_status cached good "after slowloris"

step "slowloris on a keep-alive connection: the next head is bounded by the header timeout too"
# One whole request (an OCSP error answer keeps the connection open), then
# the next head one byte every 0.5 s.  With --header-timeout 2s the edge
# must close within a few seconds, not after --idle-timeout (30 s).
out=$(edgepy keepalive_slow "$EDGE_PORT" /ocsp/acme/AAAA 12) ||
  fail_later "keep-alive connection trickling its next head: $out (header-timeout 2s, idle-timeout 30s)"

step "metrics moved"
hits=$(metric 'vigil_edge_answers_total{kind="l1_hit"}')
[ "$hits" -ge 3 ] || fail "l1_hit=$hits"
[ "$(metric 'vigil_edge_answers_total{kind="http_error"}')" -ge 1 ] || fail "no http_error counted"
[ "$(metric vigil_edge_redis_up)" = 1 ] || fail "redis_up"
[ "$(metric vigil_edge_events_up)" = 1 ] || fail "events_up"

step "Redis down: L1 hits served, misses tryLater, /readyz 503"
vigil_redis_stop "$EDGE_WORK"
not_ready() { [ "$(readyz_code)" = 503 ]; }
vigil_wait_for -t "$EDGE_WAIT" -m "/readyz 503" not_ready || fail "/readyz still $(readyz_code)"
hits0=$(metric 'vigil_edge_answers_total{kind="l1_hit"}')
for i in $(seq 1 10); do
  want_status cached good "Redis down, cached ($i)"
done
hits=$(metric 'vigil_edge_answers_total{kind="l1_hit"}')
[ $((hits - hits0)) -ge 10 ] || fail "l1_hit moved by $((hits - hits0)) while Redis was down"
want_status miss trylater "Redis down, never cached"
[ "$(metric vigil_edge_redis_up)" = 0 ] || fail "redis_up not 0"
out=$(curl -s -m 10 "$EDGE_ADMIN_URL/readyz") || true
[ -n "$out" ] || fail "/readyz 503 without a reason"

step "Redis back on the same port: ready again, misses answered"
vigil_redis_start "$EDGE_WORK" "$REDIS_PORT" >/dev/null || fail "Redis restart"
edge_wait_ready
vigil_wait_for -t "$EDGE_WAIT" -m "miss answered good" is_status miss good ||
  fail "miss after Redis came back: $(status_of miss)"
want_status cached good "after Redis came back"

# lose_events NAME MAXLEN: revoke NAME while the edge cannot reach Redis and
# trim the stream so that the revoke event is gone before the edge
# reconnects.  Redis is stopped; a second Redis on the same data but another
# port (the edge does not know it) takes the writes; then Redis comes back
# on the edge's port.  The revoked response and status are in Redis, the
# event that would have told the edge is not.
lose_events() {
  local name=$1 maxlen=$2 alt i
  vigil_redis_stop "$EDGE_WORK"
  vigil_wait_for -t "$EDGE_WAIT" -m "/readyz 503" not_ready || fail "/readyz still $(readyz_code)"
  alt=$(vigil_free_port)
  vigil_redis_start "$EDGE_WORK" "$alt" >/dev/null || fail "Redis on port $alt"
  EDGE_REDIS_PORT=$alt
  pki_r publish --dir "$D" --cert "$D/$name.pem" --status revoked --reason keyCompromise --issuer-id ca1
  for i in $(seq 1 50); do
    rcli XADD v1:events '*' type noop n "$i" >/dev/null
  done
  rcli XTRIM v1:events MAXLEN "$maxlen" >/dev/null
  [ "$(rcli XLEN v1:events)" = "$maxlen" ] || fail "XTRIM left $(rcli XLEN v1:events) entries"
  vigil_redis_stop "$EDGE_WORK"
  EDGE_REDIS_PORT=$REDIS_PORT
  vigil_redis_start "$EDGE_WORK" "$REDIS_PORT" >/dev/null || fail "Redis back on $REDIS_PORT"
}

# revoked_for_good NAME: once revoked, 20 more queries all say revoked.
revoked_for_good() {
  local i
  for i in $(seq 1 20); do
    want_status "$1" revoked "after the gap ($i)"
  done
}

# gap_case NAME MAXLEN: NAME is cached good, its revocation event is lost
# in a trimmed gap (lose_events); once the edge is ready again (the feed has
# reconnected and checked for a gap) NAME must be revoked and stay so, and
# the flush must be counted.  A failure is recorded and the test goes on.
gap_case() {
  local name=$1 maxlen=$2 flushes0
  want_status "$name" good "$name before"
  want_status "$name" good "$name before (L1)"
  flushes0=$(metric vigil_edge_l1_flushes_total)
  lose_events "$name" "$maxlen"
  edge_wait_ready
  # The feed checks for a gap before it reports ready; allow for a worker
  # lookup racing with the flush.
  if ! vigil_wait_for -t 15 -m "$name revoked after the trimmed gap" is_status "$name" revoked; then
    fail_later "$name still '$(status_of "$name")' from L1 after its revoke event was trimmed away (XTRIM MAXLEN $maxlen) while the edge was disconnected"
    return 0
  fi
  revoked_for_good "$name"
  [ "$(metric vigil_edge_l1_flushes_total)" -gt "$flushes0" ] ||
    fail_later "vigil_edge_l1_flushes_total did not move over the gap (MAXLEN $maxlen)"
}

step "event gap (revoke event trimmed, stream left empty): L1 dropped on reconnect"
gap_case gap1 0
want_status cached good "cached after the gap"

step "event gap (revoke event trimmed, 5 newer entries left): L1 dropped on reconnect"
gap_case gap2 5

step "the edge stops cleanly"
edge_stop_clean

step "event gap for an edge that started on an empty stream"
# An edge that starts while v1:events is empty (or absent) has applied no
# event yet; events added and trimmed while it is disconnected are just as
# lost, and it must drop its L1 then too.
rcli XTRIM v1:events MAXLEN 0 >/dev/null
edge_start "${EDGE_OPTS[@]}"
edge_wait_ready
gap_case zero 0

step "the edge stops cleanly"
edge_stop_clean
edge_done edge_resilience
