#!/usr/bin/env bash
# test.sh: what `make test` runs (and all CI runs).  Three builds, all tests:
#   build       normal build (warnings are errors); every ctest test
#   build-asan  ASan+UBSan build; every ctest test again
#   build-fuzz  clang libFuzzer build; each fuzz target for a bounded time
#               (VIGIL_FUZZ_SECONDS, default 20)
# Ends with one summary line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc)
FUZZ_SECONDS=${VIGIL_FUZZ_SECONDS:-20}
passed=0
failed=0
failures=()

run_suite() {  # run_suite NAME BUILD_DIR [ctest args...]
  local name=$1 dir=$2
  shift 2
  echo "=== $name: ctest in $dir"
  local log
  log=$(mktemp)
  (cd "$dir" && ctest --output-on-failure --timeout 900 -j "$JOBS" "$@") 2>&1 | tee "$log"
  local p f
  p=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed' "$log" || true)
  f=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*(\*\*\*|Failed|Not Run|Timeout)' "$log" || true)
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$f" -ne 0 ]; then failures+=("$name"); fi
  if ! grep -qE 'tests passed|No tests were found' "$log"; then
    if [ "$f" -eq 0 ]; then failed=$((failed + 1)); failures+=("$name (ctest)"); fi
  fi
  rm -f "$log"
}

build() {  # build DIR [cmake args...]
  local dir=$1
  shift
  echo "=== configure + build $dir"
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null && cmake --build "$dir" -j "$JOBS"
}

if build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_WERROR=ON; then
  run_suite normal build
else
  failed=$((failed + 1)); failures+=("build")
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
if build build-asan -DCMAKE_BUILD_TYPE=Debug -DVIGIL_WERROR=ON -DVIGIL_SANITIZE=ON; then
  # Benchmark-sized interop runs are skipped under ASan (slow, not new).
  run_suite asan build-asan
else
  failed=$((failed + 1)); failures+=("build-asan")
fi

if CC=clang build build-fuzz -DCMAKE_BUILD_TYPE=Debug -DVIGIL_FUZZ=ON \
     -DVIGIL_SANITIZE=ON -DVIGIL_FUZZ_SECONDS="$FUZZ_SECONDS"; then
  run_suite fuzz build-fuzz -L fuzz
else
  failed=$((failed + 1)); failures+=("build-fuzz")
fi

echo
if [ ${#failures[@]} -ne 0 ]; then echo "failing: ${failures[*]}"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
