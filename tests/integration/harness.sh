#!/usr/bin/env bash
# harness.sh: tests tests/lib/services.sh against real Postgres and Redis.
# Start both on a fresh directory, write data with psql and redis-cli (not
# our code), stop by PID, start again on the same directory and find the
# data; kill -9 the postmaster and check crash recovery keeps committed
# rows.  Safe to run in parallel with itself: random ports, own temp dir.
set -euo pipefail

src=${VIGIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../lib/services.sh
source "$src/tests/lib/services.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-harness.XXXXXX")
other=$(mktemp -d "${TMPDIR:-/tmp}/vigil-harness-other.XXXXXX")
cleanup() {
  local rc=$?
  vigil_remove_state "$work" || rc=1
  vigil_remove_state "$other" || rc=1
  exit "$rc"
}
trap cleanup EXIT

step() { printf '== %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}
sql() { psql "$VIGIL_PG_URL" -X -q -v ON_ERROR_STOP=1 -tA "$@"; }
rcli() { redis-cli -u "$VIGIL_REDIS_URL" "$@"; }
postmaster_pid() { head -n 1 "$work/pgdata/postmaster.pid"; }
# The process is gone once kill -0 fails.  PID 1 may reap an orphaned
# daemon a second or two after it exited, so wait (bounded) for that.
gone() { ! kill -0 "$1" 2>/dev/null; }
expect_gone() {
  vigil_wait_for -t 30 -m "$2 (pid $1) to disappear" gone "$1" || fail "$2 pid $1 still exists"
}
# Every listening TCP socket on PORT is on 127.0.0.1 (read from the kernel's
# socket tables, so no iproute2 needed; state 0A is LISTEN).
loopback_only() {
  local port=$1 addrs
  addrs=$(awk -v p="$(printf '%04X' "$port")" \
    'FNR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] == p) print FILENAME ":" a[1] }' \
    /proc/net/tcp /proc/net/tcp6 | sort -u)
  [ "$addrs" = "/proc/net/tcp:0100007F" ] || fail "port $port listens on: $addrs"
}

step "vigil_wait_for gives up with a message"
if msg=$(vigil_wait_for -t 1 -m "the impossible" false 2>&1); then
  fail "vigil_wait_for false succeeded"
fi
grep -q 'timed out after 1s waiting for the impossible' <<<"$msg" || fail "message was: $msg"

step "first start on $work"
vigil_pg_start "$work"
vigil_redis_start "$work"
pg_port=$(cat "$work/pg.port")
redis_port=$(cat "$work/redis.port")
[ "$VIGIL_PG_URL" = "postgresql://vigil@127.0.0.1:$pg_port/vigil" ] || fail "VIGIL_PG_URL=$VIGIL_PG_URL"
[ "$VIGIL_REDIS_URL" = "redis://127.0.0.1:$redis_port" ] || fail "VIGIL_REDIS_URL=$VIGIL_REDIS_URL"
pg_pid=$(postmaster_pid)
[ "$(cat "$work/pg.pid")" = "$pg_pid" ] || fail "pg.pid does not match postmaster.pid"
redis_pid=$(cat "$work/redis.pid")
kill -0 "$pg_pid" || fail "postgres not running"
kill -0 "$redis_pid" || fail "redis-server not running"
loopback_only "$pg_port"
loopback_only "$redis_port"
[ "$(sql -c 'SELECT current_database()')" = vigil ] || fail "database vigil missing"
[ "$(sql -c "SELECT current_setting('fsync')")" = on ] || fail "fsync is not on"
[ "$(rcli CONFIG GET appendonly | sed -n 2p)" = yes ] || fail "Redis AOF is off"

step "write a row and a key"
sql -c 'CREATE TABLE harness (id int PRIMARY KEY, note text NOT NULL)'
sql -c "INSERT INTO harness VALUES (1, 'before restart')"
[ "$(rcli SET vigil:harness survives)" = OK ] || fail "SET failed"
[ "$(rcli GET vigil:harness)" = survives ] || fail "GET failed"

step "starting again while running is a no-op"
vigil_pg_start "$work"
vigil_redis_start "$work"
[ "$(postmaster_pid)" = "$pg_pid" ] || fail "Postgres was restarted"
[ "$(cat "$work/redis.pid")" = "$redis_pid" ] || fail "Redis was restarted"
if vigil_pg_start "$work" "$redis_port" 2>/dev/null; then
  fail "start on a different port while running succeeded"
fi

step "a start on a port in use fails clearly"
if msg=$(vigil_redis_start "$other" "$pg_port" 2>&1); then
  fail "Redis started on Postgres' port"
fi
grep -q "127.0.0.1:$pg_port is in use" <<<"$msg" || fail "message was: $msg"

step "stop both by PID"
vigil_stop_all "$work"
expect_gone "$pg_pid" postgres
expect_gone "$redis_pid" redis-server
if "$VIGIL_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$pg_port"; then
  fail "Postgres still answers on $pg_port"
fi
vigil_stop_all "$work" # stopping what is stopped succeeds

step "second start resumes the same data"
sysid_before=$("$VIGIL_PG_BIN/pg_controldata" "$work/pgdata" | sed -n 's/^Database system identifier: *//p')
vigil_pg_start "$work"
vigil_redis_start "$work"
sysid_after=$("$VIGIL_PG_BIN/pg_controldata" "$work/pgdata" | sed -n 's/^Database system identifier: *//p')
[ -n "$sysid_before" ] || fail "no system identifier"
[ "$sysid_before" = "$sysid_after" ] || fail "cluster was re-initialised"
[ "$(sql -c 'SELECT note FROM harness WHERE id = 1')" = "before restart" ] || fail "row lost"
[ "$(rcli GET vigil:harness)" = survives ] || fail "Redis key lost (AOF)"
[ "$(cat "$work/pg.port")" = "$pg_port" ] || fail "Postgres port changed although it was free"

step "kill -9 of the postmaster, then crash recovery"
sql -c "INSERT INTO harness VALUES (2, 'committed before kill -9')"
# A transaction still open when the server dies must not survive it.
timeout 120 psql "$VIGIL_PG_URL" -X -q \
  -c "BEGIN; INSERT INTO harness VALUES (3, 'open at kill -9'); SELECT pg_sleep(100)" \
  >/dev/null 2>&1 &
open_tx=$!
in_sleep() {
  [ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'")" = 1 ]
}
vigil_wait_for -t 30 -m "the open transaction to reach pg_sleep" in_sleep
pg_pid=$(postmaster_pid)
log_size=$(stat -c %s "$work/pg.log")
kill -9 "$pg_pid"
expect_gone "$pg_pid" postgres
wait "$open_tx" || true
vigil_pg_start "$work"
[ "$(postmaster_pid)" != "$pg_pid" ] || fail "no new postmaster"
recovery_log=$(tail -c +"$((log_size + 1))" "$work/pg.log")
grep -q 'database system was not properly shut down; automatic recovery in progress' \
  <<<"$recovery_log" || fail "no crash recovery in the log"
rows=$(sql -c 'SELECT string_agg(id::text, $$,$$ ORDER BY id) FROM harness')
[ "$rows" = "1,2" ] || fail "rows after recovery: $rows (want 1,2)"

step "final stop"
pg_pid=$(postmaster_pid)
redis_pid=$(cat "$work/redis.pid")
vigil_stop_all "$work"
expect_gone "$pg_pid" postgres
expect_gone "$redis_pid" redis-server
echo "PASS"
