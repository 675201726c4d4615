#!/usr/bin/env bash
# stop.sh: what `make stop` does: stop everything `make run` started, by
# PID, leaving the state in $VIGIL_STATE_DIR (.run) for the next `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=${VIGIL_STATE_DIR:-.run}
if [ ! -d "$STATE" ]; then
  echo "nothing to stop ($STATE does not exist)"
  exit 0
fi
STATE=$(cd "$STATE" && pwd)
# shellcheck source=../tests/lib/services.sh
source tests/lib/services.sh
for name in edge control signer; do
  pidfile=$STATE/$name.pid
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "stopped vigil-$name (pid $pid)"
  fi
  rm -f "$pidfile"
done
vigil_stop_all "$STATE"
echo "stopped; state kept in $STATE"
