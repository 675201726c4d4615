#!/usr/bin/env bash
# deps.sh: install the Debian 12 packages Vigil needs that are missing.
# Idempotent and quiet when everything is present; uses sudo when not root.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config clang clang-format
  libclang-rt-14-dev
  # libraries (DESIGN.md section 1)
  android-libboringssl-dev liburing-dev libhiredis-dev libpq-dev
  libjansson-dev libcmocka-dev libmicrohttpd-dev libcurl4-openssl-dev libgnutls28-dev jq
  # real services for tests and the local stack
  postgresql-15 redis-server nginx-light
  # clients we did not write, for interop tests
  openssl gnutls-bin python3 python3-cryptography python3-prometheus-client curl wrk procps
  # benchmark plots (make bench)
  gnuplot-nox
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts packaged services on install; Vigil runs its own instances
# on temporary directories and free ports, so the system ones are not needed
# (and nginx would hold port 80).
for svc in nginx redis-server postgresql; do
  $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || \
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
echo "deps: done"
