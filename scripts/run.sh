#!/usr/bin/env bash
# run.sh: what `make run` does after building (DESIGN.md section 8).
#
# Starts the local stack in the background under $VIGIL_STATE_DIR (.run):
# Postgres and Redis (real servers, tests/lib/services.sh), vigil-signer,
# vigil-control (migrate, serve), and on first start the demo tenant through
# the API (CA, a TLS certificate for localhost and 127.0.0.1 whose AIA and
# CRL DP point at the edge, an issuer token in .run/vigilctl-token, the
# delegated responder exported to the edge); then vigil-edge, and shows it
# working with `openssl ocsp` and `openssl crl`. A second run resumes with
# the same state. `make stop` stops everything by PID.
#
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD:-build}
STATE=${VIGIL_STATE_DIR:-.run}
EDGE_PORT=${VIGIL_EDGE_PORT:-8080}
ADMIN_PORT=${VIGIL_ADMIN_PORT:-9090}
API_PORT=${VIGIL_API_PORT:-8443}
mkdir -p "$STATE"
# No group/other write on the state dir: vigil-signer refuses a socket in a
# directory others could replace it in (matters under umask 002).
chmod go-w "$STATE"
STATE=$(cd "$STATE" && pwd)
EDGE="$ROOT/$BUILD/edge/vigil-edge"
SIGNER="$ROOT/$BUILD/control/signer/vigil-signer"
CONTROL="$ROOT/$BUILD/control/vigil-control"
DEMO="$STATE/demo"
LOGS="$STATE/logs"
mkdir -p "$DEMO" "$LOGS"
chmod 0700 "$DEMO"

# shellcheck source=../tests/lib/services.sh
source "$ROOT/tests/lib/services.sh"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

say "Postgres and Redis under $STATE"
vigil_pg_start "$STATE" ${VIGIL_PG_PORT:+"$VIGIL_PG_PORT"} >/dev/null
vigil_redis_start "$STATE" ${VIGIL_REDIS_PORT:+"$VIGIL_REDIS_PORT"} >/dev/null
REDIS_PORT=$(cat "$STATE/redis.port")
echo "    postgres  $(cat "$STATE/pg.port")   redis $REDIS_PORT"

# start_bg NAME PIDFILE CMD...: start CMD in the background unless the
# process in PIDFILE is alive; logs to $LOGS/NAME.log.
start_bg() {
  local name=$1 pidfile=$2
  shift 2
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "    $name already running (pid $(cat "$pidfile"))"
    return 0
  fi
  nohup "$@" >>"$LOGS/$name.log" 2>&1 &
  echo $! > "$pidfile"
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
  local n=$(($1 * 10))
  shift
  while [ "$n" -gt 0 ]; do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
    n=$((n - 1))
  done
  return 1
}

say "vigil-signer (CA keys in $STATE/signer, socket $STATE/signer.sock)"
mkdir -p "$STATE/signer"
chmod 0700 "$STATE/signer"
start_bg signer "$STATE/signer.pid" "$SIGNER" --key-dir "$STATE/signer" \
  --socket "$STATE/signer.sock"
wait_for 10 test -S "$STATE/signer.sock" || {
  echo "vigil-signer did not start; see $LOGS/signer.log" >&2
  tail -n 20 "$LOGS/signer.log" >&2
  exit 1
}

say "vigil-control: database migrations"
PG_URL=${VIGIL_PG_URL:?vigil_pg_start did not export VIGIL_PG_URL}
# For operator commands (backup, restore, resync) against the local stack.
(umask 077 && printf '%s\n' "$PG_URL" >"$STATE/database-url")
"$CONTROL" --database-url "$PG_URL" migrate | sed 's/^/    /'
say "vigil-control: REST API on https://127.0.0.1:$API_PORT"
# Incident executions may deliver (file connector) below .run/deploy.
mkdir -p -m 0700 "$STATE/deploy"
start_bg control "$STATE/control.pid" "$CONTROL" --database-url "$PG_URL" \
  --listen-port "$API_PORT" --state-dir "$STATE" \
  --signer-socket "$STATE/signer.sock" \
  --redis-url "redis://127.0.0.1:$REDIS_PORT" \
  --edge-url "http://127.0.0.1:$EDGE_PORT" \
  --incident-deploy-root "$STATE/deploy" serve
wait_for 20 curl -skf "https://127.0.0.1:$API_PORT/api/v1/health" || {
  echo "vigil-control serve did not answer; see $LOGS/control.log" >&2
  tail -n 20 "$LOGS/control.log" >&2
  exit 1
}
echo "    bootstrap token: $STATE/bootstrap-token (admin, no issuance authority)"

VCTL="$ROOT/$BUILD/control/cli/vigilctl"
export VIGIL_URL="https://127.0.0.1:$API_PORT"
export VIGIL_CACERT="$STATE/api-tls/cert.pem"
CTL_ARGS=(--database-url "$PG_URL" --state-dir "$STATE"
  --signer-socket "$STATE/signer.sock" --redis-url "redis://127.0.0.1:$REDIS_PORT"
  --edge-url "http://127.0.0.1:$EDGE_PORT")

if [ ! -f "$DEMO/leaf.id" ]; then
  # The demo tenant is made the way an operator would: through the API.
  say "First start: tenant \"demo\", its CA and a certificate, through the API"
  BOOT="$STATE/bootstrap-token"
  "$VCTL" --token-file "$BOOT" tenants create demo >/dev/null
  "$VCTL" --token-file "$BOOT" issuers create --tenant demo --issuer-id demo-ca \
    --cn "Vigil Demo CA" >/dev/null
  # The bootstrap admin has no issuance authority: an issuer token for the
  # demo tenant, which vigilctl picks up from .run/vigilctl-token.
  token=$("$VCTL" --token-file "$BOOT" --json tokens create --name demo-operator \
    --role issuer --tenant demo 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  (umask 077 && printf '%s\n' "$token" > "$STATE/vigilctl-token")
  "$VCTL" --token-file "$STATE/vigilctl-token" --json certificates create \
    --tenant demo --name demo-leaf --dns localhost --ip 127.0.0.1 \
    --key-out "$DEMO/leaf.key" --cert-out "$DEMO/leaf.pem" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' > "$DEMO/leaf.id.new"
  cp "$STATE/signer/issuers/demo-ca/ca.pem" "$DEMO/ca.pem"
  cat "$DEMO/leaf.pem" "$DEMO/ca.pem" > "$DEMO/fullchain.pem"
  # The edge live-signs (nonces, SHA-256 CertIDs) with a delegated
  # responder: the explicit operator export from the signer.
  mkdir -p "$DEMO/responder"
  chmod 0700 "$DEMO/responder"
  "$SIGNER" --socket "$STATE/signer.sock" export-responder demo-ca \
    "$DEMO/responder" make-run >/dev/null
  # A first CRL and a complete mirror right away (the loops would get there
  # within a minute).
  "$CONTROL" "${CTL_ARGS[@]}" resync >>"$LOGS/control.log" 2>&1
  mv "$DEMO/leaf.id.new" "$DEMO/leaf.id"
fi

if [ -f "$STATE/edge.pid" ] && kill -0 "$(cat "$STATE/edge.pid")" 2>/dev/null; then
  say "vigil-edge already running (pid $(cat "$STATE/edge.pid"))"
else
  say "Starting vigil-edge on 127.0.0.1:$EDGE_PORT (admin $ADMIN_PORT)"
  nohup "$EDGE" --port "$EDGE_PORT" --admin-port "$ADMIN_PORT" \
    --redis-port "$REDIS_PORT" --responder-dir "$DEMO/responder" \
    >>"$LOGS/edge.log" 2>&1 &
  echo $! > "$STATE/edge.pid"
fi
ready=""
for _ in $(seq 1 100); do
  if ! kill -0 "$(cat "$STATE/edge.pid")" 2>/dev/null; then
    echo "vigil-edge exited; last lines of $LOGS/edge.log:" >&2
    tail -n 20 "$LOGS/edge.log" >&2
    exit 1
  fi
  if curl -sf "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null 2>&1; then
    ready=1
    break
  fi
  sleep 0.1
done
if [ -z "$ready" ]; then
  echo "vigil-edge did not become ready: $(curl -s "http://127.0.0.1:$ADMIN_PORT/readyz")" >&2
  exit 1
fi

say "It works: openssl ocsp against the edge"
openssl ocsp -issuer "$DEMO/ca.pem" -cert "$DEMO/leaf.pem" \
  -url "http://127.0.0.1:$EDGE_PORT/ocsp/demo" -CAfile "$DEMO/ca.pem" 2>&1 \
  | sed 's/^/    /'
say "It works: the CRL from the edge"
curl -s "http://127.0.0.1:$EDGE_PORT/crl/demo" \
  | openssl crl -inform DER -CAfile "$DEMO/ca.pem" -noout -verify -nextupdate 2>&1 \
  | sed 's/^/    /'

cat <<EOF

The stack is running (state in $STATE, logs in $LOGS):
  edge   http://127.0.0.1:$EDGE_PORT   admin http://127.0.0.1:$ADMIN_PORT/{healthz,readyz,metrics}
  redis  127.0.0.1:$REDIS_PORT   postgres 127.0.0.1:$(cat "$STATE/pg.port")
    signer $STATE/signer.sock   control API https://127.0.0.1:$API_PORT (token: $STATE/bootstrap-token)

Query the demo certificate (id $(cat "$DEMO/leaf.id")):
  openssl ocsp -issuer $DEMO/ca.pem -cert $DEMO/leaf.pem \\
    -url http://127.0.0.1:$EDGE_PORT/ocsp/demo -CAfile $DEMO/ca.pem
  curl -s http://127.0.0.1:$EDGE_PORT/crl/demo | openssl crl -inform DER -noout -text

Revoke it (the edge answers revoked at once):
  $VCTL certificates revoke \$(cat $DEMO/leaf.id) --reason keyCompromise

Stop everything: make stop
EOF
