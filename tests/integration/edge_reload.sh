#!/usr/bin/env bash
# edge_reload.sh: SIGHUP reloads the configuration and the responder keys
# atomically; a bad reload keeps the running state and says why
# (DESIGN.md section 6).
set -euo pipefail
source "$(dirname "$0")/edge_common.bash"

edge_init edge-reload
D=$PKI_DIR
CONF=$EDGE_WORK/edge.conf

step "PKI, Redis, edge started with --config (validity 96h)"
edge_ca "$D" "Edge Reload Test CA" ca1 acme
edge_leaf "$D" one
pki_r publish --dir "$D" --cert "$D/one.pem" --status good --issuer-id ca1
pki_r mirror
printf 'validity = 96h\nrefresh = 48h\n' > "$CONF"
edge_start --config "$CONF"
edge_wait_ready

# validity_hours: hours between thisUpdate and nextUpdate of a live-signed
# answer (a nonce request is always signed now, with the current config).
validity_hours() {
  local out this next
  out=$(ocsp -issuer "$D/ca.pem" -cert "$D/one.pem" \
    -url "$EDGE_URL/ocsp/acme" -CAfile "$D/ca.pem") || return 1
  grep -q "Response verify OK" <<<"$out" || return 1
  this=$(date_epoch "$(sed -n 's/^[[:space:]]*This Update: //p' <<<"$out")")
  next=$(date_epoch "$(sed -n 's/^[[:space:]]*Next Update: //p' <<<"$out")")
  echo $(( (next - this) / 3600 ))
}
is_validity() { [ "$(validity_hours)" = "$1" ]; }

[ "$(validity_hours)" = 96 ] || fail "validity before reload: $(validity_hours)h, want 96h"

step "SIGHUP with validity 24h: live-signed answers follow"
printf 'validity = 24h\nrefresh = 12h\n' > "$CONF"
kill -HUP "$EDGE_PID"
vigil_wait_for -t "$EDGE_WAIT" -m "24h validity after reload" is_validity 24 ||
  fail "validity after reload: $(validity_hours)h, want 24h"
grep -q "reload: configuration applied" "$EDGE_LOG" || fail "no reload log line"

step "SIGHUP with a bad file (validity 1h, below the CA/B Forum minimum): kept"
printf 'validity = 1h\n' > "$CONF"
kill -HUP "$EDGE_PID"
vigil_wait_for -t "$EDGE_WAIT" -m "reload error logged" \
  grep -q "the running configuration is kept" "$EDGE_LOG" ||
  fail "a bad reload was not reported"
[ "$(validity_hours)" = 24 ] || fail "a bad reload changed the validity"

step "SIGHUP changing a restart-only setting: reported, not applied"
printf 'validity = 24h\nrefresh = 12h\nmax-head = 16K\n' > "$CONF"
kill -HUP "$EDGE_PID"
vigil_wait_for -t "$EDGE_WAIT" -m "restart-only warning" \
  grep -q "max-head changed; it takes effect after a restart" "$EDGE_LOG" ||
  fail "no restart-only warning"

step "SIGHUP with a responder key readable by others: live signing kept"
chmod 0644 "$D/responder/ca1.key"
kill -HUP "$EDGE_PID"
vigil_wait_for -t "$EDGE_WAIT" -m "refused key reload logged" \
  grep -q "would lose live signing" "$EDGE_LOG" ||
  fail "the broken key file was not reported"
[ "$(validity_hours)" = 24 ] || fail "live signing stopped after a bad key reload"
chmod 0600 "$D/responder/ca1.key"

step "the edge stops cleanly"
edge_stop_clean
edge_done edge_reload
