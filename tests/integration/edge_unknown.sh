#!/usr/bin/env bash
# edge_unknown.sh: --unknown-signed. A serial this system never issued
# (no status record while v1:mirror is set) gets a signed "unknown" from the
# delegated responder instead of the unsigned "unauthorized" -- and never
# "good" (DESIGN.md section 4).
set -euo pipefail
source "$(dirname "$0")/edge_common.bash"

edge_init edge-unknown
D=$PKI_DIR

step "PKI, Redis, edge with --unknown-signed"
edge_ca "$D" "Edge Unknown Test CA" ca1 acme
edge_leaf "$D" issued
pki_r publish --dir "$D" --cert "$D/issued.pem" --status good --issuer-id ca1
pki_r mirror
edge_start --unknown-signed=true
edge_wait_ready

step "never-issued serial: signed unknown that verifies (no nonce, nonce)"
for nonce in -no_nonce ""; do
  # shellcheck disable=SC2086
  out=$(ocsp -issuer "$D/ca.pem" -serial 0x5eed1234abcd $nonce \
    -url "$EDGE_URL/ocsp/acme" -CAfile "$D/ca.pem")
  expect_in "$out" "Response verify OK" "unknown serial ($nonce): verify"
  expect_in "$out" "0x5eed1234abcd: unknown" "unknown serial ($nonce): status"
  expect_not_in "$out" ": good" "unknown serial ($nonce): never good"
done

step "the issued certificate is still good"
out=$(ocsp -issuer "$D/ca.pem" -cert "$D/issued.pem" -no_nonce \
  -url "$EDGE_URL/ocsp/acme" -CAfile "$D/ca.pem")
expect_in "$out" "Response verify OK" "issued: verify"
expect_in "$out" "issued.pem: good" "issued: good"

step "without v1:mirror the same serial is tryLater, not a guess"
pki_r mirror --clear
ok=""
for _ in $(seq 1 60); do
  out=$(ocsp -issuer "$D/ca.pem" -serial 0x5eed1234abce -no_nonce \
    -url "$EDGE_URL/ocsp/acme" -CAfile "$D/ca.pem" || true)
  if grep -qi "trylater" <<<"$out"; then
    ok=1
    break
  fi
  sleep 0.5
done
[ -n "$ok" ] || fail "no tryLater without the mirror: $out"

step "the edge stops cleanly"
edge_stop_clean
edge_done edge_unknown
