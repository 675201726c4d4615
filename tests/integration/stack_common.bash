# shellcheck shell=bash
# stack_common.bash: the whole Vigil stack for a control-plane test — real
# Postgres, Redis, vigil-signer, vigil-control serve and (optionally)
# vigil-edge, each on free loopback ports in the test's own temp dir,
# stopped by PID from the EXIT trap. Sourced, not run. Builds on
# edge_common.bash (step, fail, edge_track, edge_start, ocsp, rcli, ...).
#
#   stack_init NAME           temp dir, EXIT trap, Redis, Postgres, migrate;
#                             sets STACK_DIR (= EDGE_WORK), VIGIL_PG_URL
#   stack_signer_start        start vigil-signer (keys in STACK_DIR/keys);
#                             sets STACK_SIGNER_PID, STACK_SOCK
#   stack_control_start [OPTS...]
#                             start `vigil-control serve` with the stack's
#                             database, signer, Redis and edge URL plus
#                             OPTS (kept in STACK_CONTROL_OPTS for
#                             restarts); waits for /health; sets
#                             STACK_CONTROL_PID, VIGIL_URL, VIGIL_CACERT,
#                             STACK_BOOT (bootstrap token file)
#   stack_control_kill9       SIGKILL vigil-control and wait until it is gone
#   stack_signer_kill9        SIGKILL vigil-signer and wait until it is gone
#   stack_edge_start [OPTS..] start vigil-edge against the stack's Redis
#                             (EDGE_URL etc. from edge_start)
#   stack_up [NAME]           all of the above with defaults, plus
#                             stack_tenant acme acme-ca
#   stack_tenant T ISSUER_ID  tenant T, root CA ISSUER_ID, and an issuer
#                             token exported as VIGIL_TOKEN (principal
#                             "ops"); STACK_CA = the CA's PEM
#   vctl ARGS...              vigilctl with the stack's CA
#   vctl_json ARGS... | jget EXPR
#                             vigilctl --json piped to python: jget 'd["id"]'
#   api METHOD PATH [JSON]    curl the API with VIGIL_TOKEN (and the
#                             Idempotency-Key API_IDEM_KEY if set); prints
#                             the body, sets API_STATUS (HTTP status)
#   psql_q SQL                psql -tA against the stack's database

# shellcheck source=edge_common.bash
source "$(dirname "${BASH_SOURCE[0]}")/edge_common.bash"

STACK_SIGNER_BIN=$EDGE_BUILD/control/signer/vigil-signer
STACK_CONTROL_BIN=$EDGE_BUILD/control/vigil-control
STACK_VCTL_BIN=$EDGE_BUILD/control/cli/vigilctl
STACK_CONTROL_OPTS=()
STACK_CONTROL_PID=
STACK_SIGNER_PID=

stack_init() {
  local bin
  for bin in "$STACK_SIGNER_BIN" "$STACK_CONTROL_BIN" "$STACK_VCTL_BIN"; do
    [ -x "$bin" ] || fail "not built: $bin"
  done
  edge_init "$1"
  STACK_DIR=$EDGE_WORK
  vigil_pg_start "$STACK_DIR" >/dev/null || fail "Postgres did not start"
  "$STACK_CONTROL_BIN" --database-url "$VIGIL_PG_URL" migrate \
    >"$STACK_DIR/migrate.log" 2>&1 ||
    fail "migrate failed: $(tail -5 "$STACK_DIR/migrate.log")"
  STACK_API_PORT=$(vigil_free_port)
  EDGE_PORT_WANTED=$(vigil_free_port)
  STACK_SOCK=$STACK_DIR/signer.sock
  mkdir -p -m 0700 "$STACK_DIR/keys"
}

stack_signer_start() {
  rm -f "$STACK_SOCK"
  "$STACK_SIGNER_BIN" --key-dir "$STACK_DIR/keys" --socket "$STACK_SOCK" \
    >>"$STACK_DIR/signer.log" 2>&1 &
  STACK_SIGNER_PID=$!
  edge_track "$STACK_SIGNER_PID"
  vigil_wait_for -t "$EDGE_WAIT" -m "signer socket" test -S "$STACK_SOCK" ||
    fail "vigil-signer did not start: $(tail -5 "$STACK_DIR/signer.log")"
}

_stack_api_up() {
  _vigil_pid_alive "$STACK_CONTROL_PID" || return 125
  curl -s -o /dev/null --cacert "$VIGIL_CACERT" -m 5 "$VIGIL_URL/api/v1/health"
}

stack_control_start() {
  if [ "$#" -gt 0 ]; then
    STACK_CONTROL_OPTS=("$@")
  fi
  "$STACK_CONTROL_BIN" --database-url "$VIGIL_PG_URL" \
    --listen-port "$STACK_API_PORT" --state-dir "$STACK_DIR/control" \
    --signer-socket "$STACK_SOCK" \
    --redis-url "redis://127.0.0.1:$EDGE_REDIS_PORT" \
    --edge-url "http://127.0.0.1:$EDGE_PORT_WANTED" \
    "${STACK_CONTROL_OPTS[@]}" serve >>"$STACK_DIR/control.log" 2>&1 &
  STACK_CONTROL_PID=$!
  edge_track "$STACK_CONTROL_PID"
  export VIGIL_URL=https://127.0.0.1:$STACK_API_PORT
  export VIGIL_CACERT=$STACK_DIR/control/api-tls/cert.pem
  STACK_BOOT=$STACK_DIR/control/bootstrap-token
  # The certificate appears at first start: wait for it, then for /health.
  vigil_wait_for -t "$EDGE_WAIT" -m "API certificate" test -s "$VIGIL_CACERT" ||
    fail "vigil-control serve did not start: $(tail -5 "$STACK_DIR/control.log")"
  vigil_wait_for -t "$EDGE_WAIT" -m "API /health" _stack_api_up ||
    fail "vigil-control serve did not start: $(tail -5 "$STACK_DIR/control.log")"
}

_stack_kill9() {
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true # reap it (and keep bash quiet about it)
  for ((i = 0; i < EDGE_WAIT * 20; i++)); do
    _vigil_pid_alive "$pid" || return 0
    sleep 0.05
  done
  fail "pid $pid survived SIGKILL"
}

stack_control_kill9() {
  _stack_kill9 "$STACK_CONTROL_PID"
  STACK_CONTROL_PID=
}

stack_signer_kill9() {
  _stack_kill9 "$STACK_SIGNER_PID"
  STACK_SIGNER_PID=
}

# stack_control_stop_clean: stop vigil-control with SIGTERM; it must exit 0
# within the wait bound and its log must hold no sanitizer report (under
# ASan, leaks are reported at exit: a SIGKILL in the EXIT trap would hide
# them). When the test already stopped it, only the log is checked.
stack_control_stop_clean() {
  local pid=$STACK_CONTROL_PID rc=0 i
  [ -n "$pid" ] || return 0
  STACK_CONTROL_PID=
  if _vigil_pid_alive "$pid"; then
    kill -TERM "$pid" || fail "vigil-control (pid $pid) is gone before SIGTERM"
    for ((i = 0; i < EDGE_WAIT * 20; i++)); do
      _vigil_pid_alive "$pid" || break
      sleep 0.05
    done
    _vigil_pid_alive "$pid" && fail "vigil-control did not stop within ${EDGE_WAIT}s of SIGTERM"
    wait "$pid" || rc=$?
    [ "$rc" -eq 0 ] || fail "vigil-control exited with status $rc after SIGTERM"
  fi
  if grep -q 'Sanitizer\|runtime error:' "$STACK_DIR/control.log"; then
    tail -60 "$STACK_DIR/control.log" >&2
    fail "sanitizer report in the control log"
  fi
}

# edge_done (edge_common.bash) for a stack test: vigil-control is stopped
# cleanly first and must have exited 0 without a sanitizer report.
eval "_stack_edge_done_plain() $(declare -f edge_done | tail -n +2)"
edge_done() {
  stack_control_stop_clean
  _stack_edge_done_plain "$@"
}

stack_edge_start() {
  mkdir -p "$PKI_DIR/responder"
  edge_start "$@"
}

vctl() {
  "$STACK_VCTL_BIN" --cacert "$VIGIL_CACERT" "$@"
}

vctl_json() {
  "$STACK_VCTL_BIN" --cacert "$VIGIL_CACERT" --json "$@"
}

# jget EXPR: evaluate EXPR with d = the JSON document on stdin; print it.
jget() {
  "$EDGE_PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# api METHOD PATH [JSON]: body on stdout, status in API_STATUS.
api() {
  local out=$STACK_DIR/api.out code
  local args=(-s -m 30 --cacert "$VIGIL_CACERT" -X "$1" -o "$out"
    -w '%{http_code}' -H "Authorization: Bearer ${VIGIL_TOKEN:-}")
  if [ "$#" -ge 3 ]; then
    args+=(-H 'Content-Type: application/json' --data-binary "$3")
  fi
  if [ -n "${API_IDEM_KEY:-}" ]; then
    args+=(-H "Idempotency-Key: $API_IDEM_KEY")
  fi
  code=$(curl "${args[@]}" "$VIGIL_URL/api/v1$2") || code=000
  API_STATUS=$code
  cat "$out"
}

psql_q() {
  psql "$VIGIL_PG_URL" -v ON_ERROR_STOP=1 -tA -c "$1"
}

stack_tenant() {
  local t=$1 issuer=$2
  vctl --token-file "$STACK_BOOT" tenants create "$t" >/dev/null ||
    fail "tenants create $t"
  vctl --token-file "$STACK_BOOT" issuers create --tenant "$t" \
    --issuer-id "$issuer" --cn "$t test CA" >/dev/null ||
    fail "issuers create $issuer"
  VIGIL_TOKEN=$(vctl_json --token-file "$STACK_BOOT" tokens create \
    --name "ops-$t" --role issuer 2>/dev/null | jget 'd["token"]') ||
    fail "tokens create"
  export VIGIL_TOKEN
  STACK_CA=$STACK_DIR/keys/issuers/$issuer/ca.pem
}

stack_up() {
  stack_init "${1:-stack}"
  stack_signer_start
  stack_control_start
  stack_edge_start
  stack_tenant acme acme-ca
}
