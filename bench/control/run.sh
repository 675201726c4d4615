#!/usr/bin/env bash
# bench/control/run.sh [BUILD_DIR]: control-plane end to end (issue 3):
# issuance rate through the API (client P-256 CSRs and server-generated
# P-256 keys, N concurrent HTTPS clients), revoke -> v1:events latency
# under a steady revocation stream, server CPU per operation from
# /proc/PID/stat, and the ratio against the raw P-256 sign rate measured in
# the same run by bench_ocsp_sign. The stack (Postgres, Redis, vigil-signer,
# vigil-control) is the tests' (tests/integration/stack_common.bash), on
# free loopback ports in a temp dir, stopped at exit.
#
# Knobs (environment): BENCH_ISSUE (200 certificates per issuance mode),
# BENCH_CLIENTS (4), BENCH_REVOKES (200), BENCH_RATE (20 revocations/s).
# Measurements, not a test: the exit status only reports setup failures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$src/$build ;; esac
export VIGIL_BUILD_DIR=$build VIGIL_SOURCE_DIR=$src
for f in "$build/control/vigil-control" "$build/control/signer/vigil-signer" \
  "$build/control/cli/vigilctl" "$build/edge/vigil-edge"; do
  if [ ! -x "$f" ]; then
    echo "bench/control: $f not built; skipped"
    exit 0
  fi
done
/usr/bin/python3 -c 'import cryptography' 2>/dev/null || {
  echo "bench/control: python3-cryptography missing; skipped"
  exit 0
}
# shellcheck source=../../tests/integration/stack_common.bash
source "$src/tests/integration/stack_common.bash"

raw=0
if [ -x "$build/bench/bench_ocsp_sign" ]; then
  raw=$("$build/bench/bench_ocsp_sign" |
    awk '$1 == "P-256" && $2 == "raw" { print $(NF-3); exit }') || raw=0
fi

stack_init control-bench >/dev/null
stack_signer_start
stack_control_start --log-level warn
stack_tenant acme acme-ca
pg_pid=$(cat "$STACK_DIR/pg.pid")
echo "Control plane end to end — $(date -u +%Y-%m-%dT%H:%M:%SZ) — $(nproc) cores;" \
  "loaded/shared machine: figures are indicative, compare ratios, not absolutes"
/usr/bin/python3 "$here/bench_control.py" --url "$VIGIL_URL" --token "$VIGIL_TOKEN" \
  --cacert "$VIGIL_CACERT" --redis-port "$EDGE_REDIS_PORT" \
  --control-pid "$STACK_CONTROL_PID" --signer-pid "$STACK_SIGNER_PID" \
  --pg-pid "$pg_pid" --issue "${BENCH_ISSUE:-200}" --clients "${BENCH_CLIENTS:-4}" \
  --revokes "${BENCH_REVOKES:-200}" --rate "${BENCH_RATE:-20}" \
  --raw-sign-rate "${raw:-0}"
