#!/usr/bin/env bash
# run.sh TARGET CORPUS SECONDS: fuzz TARGET for SECONDS starting from a copy
# of the seed CORPUS (the committed corpus is never written by a test run).
# Fails on any crash, leak or UB report; the crasher is left in the work
# directory and its path printed so it can be added to the corpus.
set -euo pipefail
target=$1 corpus=$2 seconds=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-fuzz.XXXXXX")
trap 'rm -rf "$work/corpus"' EXIT
mkdir -p "$work/corpus"
if [ -d "$corpus" ]; then cp -r "$corpus/." "$work/corpus/"; fi
cd "$work"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
"$target" -max_total_time="$seconds" -max_len=16384 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 "$work/corpus" 2>&1 | tail -25
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
  echo "fuzz target $target failed (rc=$rc); artefacts in $work" >&2
  exit 1
fi
rm -rf "$work"
