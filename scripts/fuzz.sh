#!/usr/bin/env bash
# fuzz.sh: `make fuzz`: build the libFuzzer targets and run each for
# FUZZ_SECONDS (default 300).
set -euo pipefail
cd "$(dirname "$0")/.."
CC=clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DVIGIL_FUZZ=ON -DVIGIL_SANITIZE=ON -DVIGIL_FUZZ_SECONDS="${FUZZ_SECONDS:-300}" >/dev/null
cmake --build build-fuzz -j "$(nproc)"
cd build-fuzz && ctest --output-on-failure -L fuzz
