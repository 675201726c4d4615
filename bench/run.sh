#!/usr/bin/env bash
# bench/run.sh BUILD_DIR: `make bench`. Runs every benchmark program built
# from bench/bench_*.c and prints their tables one after another. These are
# measurements, not tests: nothing here passes or fails on a number. On this
# 2-core machine numbers swing; each program reports ratios against a
# baseline measured in the same run (raw sign rate, etc.).
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
shopt -s nullglob
benches=("$build"/bench/bench_*)
if [ ${#benches[@]} -eq 0 ]; then
  echo "no benchmarks built in $build/bench" >&2
  exit 1
fi
echo "Vigil benchmarks — $(date -u +%Y-%m-%dT%H:%M:%SZ) — $(nproc) cores — $(uname -r)"
for b in "${benches[@]}"; do
  [ -x "$b" ] || continue
  echo
  echo "### $(basename "$b")"
  "$b" || echo "($(basename "$b") failed with status $?: its figures are missing)"
done
# The edge against nginx and a null server, under load (wrk, Redis, nginx):
# only where the edge and the publisher tool are built.
if [ -x "$build/edge/vigil-edge" ] && [ -x "$build/control/signer/vigil-pki" ]; then
  echo
  echo "### edge (bench/edge/run.sh)"
  bash bench/edge/run.sh "$build"
fi
if [ -x bench/control/run.sh ]; then echo; echo "### control plane (bench/control/run.sh)"; bash bench/control/run.sh "$build"; fi
