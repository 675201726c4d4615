# shellcheck shell=bash
# services.sh: start and stop a real Postgres and Redis for tests and for
# `make run` (DESIGN.md §8).  Source it from bash; it defines functions only
# and never changes the caller's shell options.
#
#   vigil_free_port                 print a free 127.0.0.1 TCP port
#   vigil_wait_for [-t S] [-m WHAT] CMD...   poll CMD until it succeeds
#   vigil_pg_start DIR [PORT]       initdb (first time) + start; exports VIGIL_PG_URL
#   vigil_pg_stop DIR               fast shutdown by PID, then SIGKILL
#   vigil_redis_start DIR [PORT]    start redis-server; exports VIGIL_REDIS_URL
#   vigil_redis_stop DIR            SIGTERM by PID, then SIGKILL
#   vigil_stop_all DIR              both stops
#   vigil_remove_state DIR          stop all, then delete DIR (and the places
#                                   outside DIR that the harness used for it)
#
# Layout of a state directory DIR (a throwaway mktemp dir or a persistent
# .run/; a second start on the same DIR resumes with the same data):
#
#   DIR/pgdata/   Postgres data directory (owned by `postgres` when root)
#   DIR/pgsock/   Postgres unix socket directory
#   DIR/pg.log    Postgres server log
#   DIR/pg.port   DIR/pg.pid      port and postmaster PID of the last start
#   DIR/redis/    Redis data (appendonly AOF in redis/appendonlydir)
#   DIR/redis.conf DIR/redis.log DIR/redis.pid DIR/redis.port
#
# Postgres and its tools refuse to run as root.  As root the harness runs
# them as the `postgres` system user (created by the postgresql-15 package)
# through runuser; the data, socket and log live in postgres-owned entries.
# That user must be able to traverse into DIR: if DIR itself is ours and not
# traversable (mktemp -d makes 0700 dirs) the harness adds o+x (search only,
# no listing).  If a parent of DIR is not traversable (e.g. a repo under
# /root), the Postgres data, socket and log go to
# ${VIGIL_PG_FALLBACK_DIR:-/var/tmp}/vigil-pg-<hash of DIR>/ and DIR/pgdata,
# DIR/pgsock and DIR/pg.log become symlinks to them.  A socket path that
# would exceed the kernel's 107-byte limit is moved to /tmp the same way.
#
# Environment (all optional):
#   VIGIL_PG_BIN          Postgres binaries (default /usr/lib/postgresql/15/bin)
#   VIGIL_WAIT_TIMEOUT    seconds a start waits for readiness (default 60)
#   VIGIL_STOP_TIMEOUT    seconds a stop waits before escalating (default 60)
#   VIGIL_PG_FALLBACK_DIR see above (default /var/tmp)
# Exports after a successful start: VIGIL_PG_URL, VIGIL_PG_PORT,
# VIGIL_REDIS_URL, VIGIL_REDIS_PORT.
#
# Every function returns 0 on success and non-zero after printing a message
# (and the tail of the failing service's log) to stderr.  Concurrent starts
# or stops on the SAME DIR are not supported; different DIRs are independent
# (ports are picked at random and checked, so parallel tests do not collide).

VIGIL_PG_BIN=${VIGIL_PG_BIN:-/usr/lib/postgresql/15/bin}

# The superuser initdb creates; trusted on loopback and the socket only.
_VIGIL_PG_SUPERUSER=vigil
# Exit status a vigil_wait_for probe uses for "this will never succeed".
_VIGIL_WAIT_ABORT=125

# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

_vigil_say() {
  printf 'vigil-services: %s\n' "$*" >&2
}

# _vigil_log_tail FILE [LINES]: print the end of a service log to stderr.
_vigil_log_tail() {
  local file=$1 lines=${2:-30}
  if [ -r "$file" ]; then
    printf -- '----- last %s lines of %s -----\n' "$lines" "$file" >&2
    tail -n "$lines" -- "$file" >&2
    printf -- '----- end of %s -----\n' "$file" >&2
  else
    printf -- '(no log at %s)\n' "$file" >&2
  fi
}

# Microseconds since the epoch (EPOCHREALTIME may use a locale comma).
_vigil_now_us() {
  local t=${EPOCHREALTIME//[!0-9]/}
  printf '%s\n' "$t"
}

_vigil_is_root() {
  [ "$(id -u)" -eq 0 ]
}

# _vigil_pid_alive PID: the process exists and is not a zombie.  PID 1 on
# some machines reaps orphans lazily, so a killed daemon can stay a zombie
# (and pass kill -0) for a second or two; it is not running any more.
_vigil_pid_alive() {
  local pid=$1 stat state
  case $pid in '' | *[!0-9]*) return 1 ;; esac
  kill -0 "$pid" 2>/dev/null || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  state=${stat##*) }
  state=${state%% *}
  [ "$state" != Z ] && [ "$state" != X ]
}

# _vigil_pid_in PID DIR: PID is alive and its working directory is DIR.
# Both daemons chdir into their data directory, which tells our process
# from an unrelated one that reused a stale PID.
_vigil_pid_in() {
  local pid=$1 dir=$2 cwd
  _vigil_pid_alive "$pid" || return 1
  cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
  [ "$cwd" = "$dir" ]
}

# _vigil_pids_in DIR: print PIDs of live processes whose cwd is DIR.
_vigil_pids_in() {
  local dir=$1 p pid
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    if [ "$(readlink "$p/cwd" 2>/dev/null)" = "$dir" ] && _vigil_pid_alive "$pid"; then
      printf '%s\n' "$pid"
    fi
  done
}

_vigil_no_pids_in() {
  [ -z "$(_vigil_pids_in "$1")" ]
}

_vigil_pid_gone() {
  ! _vigil_pid_alive "$1"
}

# _vigil_read_int FILE: print the first line of FILE if it is a number.
_vigil_read_int() {
  local v=
  [ -r "$1" ] || return 1
  IFS= read -r v <"$1" || [ -n "$v" ] || return 1
  case $v in '' | *[!0-9]*) return 1 ;; esac
  printf '%s\n' "$v"
}

# _vigil_log_since FILE OFFSET: print what FILE gained after byte OFFSET.
# Callers match on the captured text, not through `| grep -q`, which under
# pipefail can fail when grep exits before the writer is done.
_vigil_log_since() {
  tail -c +"$(($2 + 1))" -- "$1" 2>/dev/null || true
}

# _vigil_hash STRING: 12 hex digits naming places outside DIR.
_vigil_hash() {
  printf '%s' "$1" | sha256sum | cut -c1-12
}

# _vigil_state_dir DIR: create DIR if needed and print its physical path.
_vigil_state_dir() {
  local dir=$1
  if [ -z "$dir" ]; then
    _vigil_say "no state directory given"
    return 1
  fi
  if ! mkdir -p -- "$dir"; then
    _vigil_say "cannot create state directory $dir"
    return 1
  fi
  (cd -- "$dir" && pwd -P)
}

# ---------------------------------------------------------------------------
# Ports and waiting
# ---------------------------------------------------------------------------

# _vigil_port_free PORT: a server could listen on 127.0.0.1:PORT now.  The
# test binds and listens with SO_REUSEADDR, as Postgres and Redis do, so
# connections of a stopped server still in TIME_WAIT do not count.
_vigil_port_free() {
  local port=$1
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$port" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen(1)
except OSError:
    sys.exit(1)
finally:
    s.close()
EOF
    return
  fi
  # No python3: nobody accepting a connection is the best bash can tell.
  # shellcheck disable=SC2016 # $1 expands in the inner bash
  ! timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$port" 2>/dev/null
}

# vigil_free_port: print a free 127.0.0.1 TCP port.  Candidates are random
# in 20000-32767 (below Linux's ephemeral range, so outgoing connections do
# not take them); a later bind can still lose a race, which the start
# functions handle by retrying with another port.
vigil_free_port() {
  local i port
  for ((i = 0; i < 200; i++)); do
    port=$(((RANDOM << 15 | RANDOM) % 12768 + 20000))
    if _vigil_port_free "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  _vigil_say "vigil_free_port: no free port found in 200 tries"
  return 1
}

# vigil_wait_for [-t SECONDS] [-m WHAT] [--] CMD [ARGS...]
# Run CMD until it exits 0 (return 0), exits 125 (it says it will never
# succeed: return 1 at once) or SECONDS pass (default $VIGIL_WAIT_TIMEOUT or
# 60; return 1).  Polls at growing intervals from 20 ms to 250 ms.  On
# failure prints what it waited for and the last output of CMD.
vigil_wait_for() {
  local timeout=${VIGIL_WAIT_TIMEOUT:-60} what='' rc out
  while [ $# -gt 0 ]; do
    case $1 in
      -t) timeout=$2; shift 2 ;;
      -m) what=$2; shift 2 ;;
      --) shift; break ;;
      *) break ;;
    esac
  done
  if [ $# -eq 0 ]; then
    _vigil_say "vigil_wait_for: no command given"
    return 2
  fi
  case $timeout in '' | *[!0-9]*)
    _vigil_say "vigil_wait_for: timeout must be whole seconds, got '$timeout'"
    return 2 ;;
  esac
  [ -n "$what" ] || what="$*"
  local deadline delay_ms=20
  deadline=$(($(_vigil_now_us) + timeout * 1000000))
  while :; do
    rc=0
    out=$("$@" 2>&1) || rc=$?
    if [ "$rc" -eq 0 ]; then
      return 0
    fi
    if [ "$rc" -eq "$_VIGIL_WAIT_ABORT" ]; then
      _vigil_say "gave up waiting for $what: it cannot succeed"
      [ -z "$out" ] || printf '%s\n' "$out" >&2
      return 1
    fi
    if [ "$(_vigil_now_us)" -ge "$deadline" ]; then
      _vigil_say "timed out after ${timeout}s waiting for $what (last exit status $rc)"
      [ -z "$out" ] || printf '%s\n' "$out" >&2
      return 1
    fi
    sleep "$((delay_ms / 1000)).$(printf '%03d' $((delay_ms % 1000)))"
    if [ "$delay_ms" -lt 250 ]; then
      delay_ms=$((delay_ms * 2))
      [ "$delay_ms" -le 250 ] || delay_ms=250
    fi
  done
}

# _vigil_stop_pid NAME PID LOG SIG FORCE_SIG...: send SIG, wait up to
# VIGIL_STOP_TIMEOUT for the process to go, then each FORCE_SIG in turn
# with a 10 s wait.  Returns 1 only if it is still alive at the end.
_vigil_stop_pid() {
  local name=$1 pid=$2 log=$3 sig=$4
  shift 4
  kill -"$sig" "$pid" 2>/dev/null || true
  if vigil_wait_for -t "${VIGIL_STOP_TIMEOUT:-60}" -m "$name (pid $pid) to exit after SIG$sig" \
    _vigil_pid_gone "$pid" 2>/dev/null; then
    return 0
  fi
  local force
  for force in "$@"; do
    _vigil_say "$name (pid $pid) still running after SIG$sig; sending SIG$force"
    _vigil_log_tail "$log" 15
    kill -"$force" "$pid" 2>/dev/null || true
    if vigil_wait_for -t 10 -m "$name (pid $pid) to exit after SIG$force" _vigil_pid_gone "$pid"; then
      return 0
    fi
  done
  _vigil_say "$name (pid $pid) could not be stopped"
  return 1
}

# ---------------------------------------------------------------------------
# Postgres
# ---------------------------------------------------------------------------

# _vigil_as_pg CMD...: run a Postgres server tool as a user it accepts.
# From / so that a cwd the postgres user cannot enter does not matter.
_vigil_as_pg() {
  if _vigil_is_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# _vigil_pg_reach PATH: the user running Postgres can traverse into PATH.
_vigil_pg_reach() {
  if _vigil_is_root; then
    (cd / && runuser -u postgres -- test -x "$1")
  else
    test -x "$1"
  fi
}

# _vigil_pg_own PATH...: hand paths to the postgres user (root only).
_vigil_pg_own() {
  if _vigil_is_root; then
    chown postgres:postgres -- "$@"
  fi
}

# _vigil_pg_layout DIR: decide where the data, socket and log live and set
# the caller's locals pg_data, pg_sock, pg_log (physical paths the server
# user can reach).  Creates what is missing; never touches existing data.
_vigil_pg_layout() {
  local dir=$1 home='' h
  h=$(_vigil_hash "$dir")
  if [ -L "$dir/pgdata" ]; then
    # An earlier start chose the fallback home; keep using it.
    home=$(dirname -- "$(readlink -- "$dir/pgdata")")
  elif ! _vigil_pg_reach "$dir"; then
    if [ -O "$dir" ]; then
      chmod o+x -- "$dir" || return 1
    fi
    if ! _vigil_pg_reach "$dir"; then
      if [ -e "$dir/pgdata" ]; then
        _vigil_say "the postgres user cannot reach $dir/pgdata (a parent directory is not traversable)"
        return 1
      fi
      home=${VIGIL_PG_FALLBACK_DIR:-/var/tmp}/vigil-pg-$h
      _vigil_say "note: postgres cannot traverse $dir; keeping its data in $home"
    fi
  fi
  if [ -n "$home" ]; then
    mkdir -p -- "$home" || return 1
    _vigil_pg_own "$home" || return 1
    chmod 0700 -- "$home" || return 1
    [ -e "$dir/pgdata" ] || [ -L "$dir/pgdata" ] || ln -s -- "$home/pgdata" "$dir/pgdata" || return 1
    [ -e "$dir/pg.log" ] || [ -L "$dir/pg.log" ] || ln -s -- "$home/pg.log" "$dir/pg.log" || return 1
    pg_data=$home/pgdata
    pg_log=$home/pg.log
    pg_sock=$home/pgsock
  else
    pg_data=$dir/pgdata
    pg_log=$dir/pg.log
    pg_sock=$dir/pgsock
  fi
  # sun_path holds 107 bytes plus NUL; "/.s.PGSQL.NNNNN" takes 16 of them.
  if [ $((${#pg_sock} + 16)) -gt 107 ]; then
    pg_sock=/tmp/vigil-pgsock-$h
  fi
  if [ ! -d "$pg_data" ]; then
    mkdir -p -- "$pg_data" || return 1
  fi
  if [ "$pg_sock" != "$dir/pgsock" ]; then
    [ -d "$dir/pgsock" ] && [ ! -L "$dir/pgsock" ] && rmdir -- "$dir/pgsock" 2>/dev/null
    ln -sfn -- "$pg_sock" "$dir/pgsock" || return 1
  fi
  mkdir -p -- "$pg_sock" || return 1
  [ -e "$pg_log" ] || : >"$pg_log" || return 1
  _vigil_pg_own "$pg_data" "$pg_sock" "$pg_log" || return 1
  chmod 0700 -- "$pg_data" "$pg_sock" || return 1
  pg_data=$(cd -- "$pg_data" && pwd -P) || return 1
}

# _vigil_pg_quote VALUE: a postgresql.conf single-quoted string.
_vigil_pg_quote() {
  printf "'%s'" "${1//\'/\'\'}"
}

# _vigil_pg_configure DATA SOCK PORT: (re)write the parts of the server
# configuration the harness owns.  Run on every start, so an interrupted
# first start heals itself.
_vigil_pg_configure() {
  local data=$1 sock=$2 port=$3
  if ! grep -qx "include 'vigil.conf'" "$data/postgresql.conf"; then
    printf '\n# Added by tests/lib/services.sh; settings in vigil.conf.\ninclude %s\n' \
      "'vigil.conf'" >>"$data/postgresql.conf" || return 1
  fi
  {
    printf '# Written by tests/lib/services.sh on every start; edits are lost.\n'
    printf 'listen_addresses = %s\n' "'127.0.0.1'"
    printf 'port = %s\n' "$port"
    printf 'unix_socket_directories = %s\n' "$(_vigil_pg_quote "$sock")"
    printf 'unix_socket_permissions = 0700\n'
    # Durability tests kill -9 the server: keep every durability setting on.
    printf 'fsync = on\nsynchronous_commit = on\nfull_page_writes = on\n'
    printf 'logging_collector = off\n'
  } >"$data/vigil.conf" || return 1
  {
    printf '# Written by tests/lib/services.sh: only the harness superuser,\n'
    printf '# only over the socket and 127.0.0.1; everything else is rejected.\n'
    printf 'local all %s trust\n' "$_VIGIL_PG_SUPERUSER"
    printf 'host  all %s 127.0.0.1/32 trust\n' "$_VIGIL_PG_SUPERUSER"
  } >"$data/pg_hba.conf" || return 1
  _vigil_pg_own "$data/vigil.conf" "$data/pg_hba.conf" || return 1
  chmod 0600 -- "$data/vigil.conf" "$data/pg_hba.conf"
}

# _vigil_psql PORT DB ARGS...: the harness's own queries (TCP, superuser).
_vigil_psql() {
  local port=$1 db=$2
  shift 2
  PGCONNECT_TIMEOUT=5 "$VIGIL_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
    -p "$port" -U "$_VIGIL_PG_SUPERUSER" -d "$db" "$@"
}

# _vigil_pg_running DATA: print the postmaster PID if one runs on DATA.
_vigil_pg_running() {
  local data=$1 pid
  pid=$(_vigil_read_int "$data/postmaster.pid") || return 1
  _vigil_pid_in "$pid" "$data" || return 1
  printf '%s\n' "$pid"
}

# _vigil_pg_probe DATA PORT LOG OFFSET STALE: readiness probe for
# vigil_wait_for.  0 = our server accepts queries; 125 = it died or the
# port answers for another server; anything else = not yet.  STALE is the
# PID a crashed server left in postmaster.pid (until the new one rewrites it).
_vigil_pg_probe() {
  local data=$1 port=$2 log=$3 offset=$4 stale=$5 pid dd new
  pid=$(_vigil_read_int "$data/postmaster.pid" 2>/dev/null) || pid=
  [ "$pid" != "$stale" ] || pid=
  if [ -n "$pid" ] && ! _vigil_pid_alive "$pid"; then
    echo "postmaster (pid $pid) exited during start-up"
    return "$_VIGIL_WAIT_ABORT"
  fi
  if [ -z "$pid" ]; then
    # Failures before the lock file (bad configuration) only show in the log.
    # (Not the FATALs a running server logs for pg_isready during start-up.)
    new=$(_vigil_log_since "$log" "$offset" | grep -E '(FATAL|PANIC):' |
      grep -vE 'database system is (starting up|not yet accepting)') || new=
    if [ -n "$new" ]; then
      echo "postgres failed during start-up"
      return "$_VIGIL_WAIT_ABORT"
    fi
    echo "no postmaster.pid yet"
    return 1
  fi
  "$VIGIL_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$_VIGIL_PG_SUPERUSER" -d postgres -t 5 || {
    echo "pg_isready: not accepting connections on 127.0.0.1:$port"
    return 1
  }
  dd=$(_vigil_psql "$port" postgres -tA -c 'SHOW data_directory') || return 1
  if [ "$dd" != "$data" ]; then
    echo "127.0.0.1:$port is served by another Postgres (data_directory $dd)"
    return "$_VIGIL_WAIT_ABORT"
  fi
}

_vigil_pg_export() {
  VIGIL_PG_PORT=$1
  VIGIL_PG_URL="postgresql://$_VIGIL_PG_SUPERUSER@127.0.0.1:$1/vigil"
  export VIGIL_PG_PORT VIGIL_PG_URL
}

# vigil_pg_start DIR [PORT]: start Postgres with state in DIR (see the top
# of this file), initialising it the first time, and create database
# `vigil`.  PORT defaults to the port of the last start if free, else a
# free one.  Already running on DIR: nothing to do (fails if PORT differs).
# On success DIR/pg.port and DIR/pg.pid are written and VIGIL_PG_URL is
# exported; on failure the log tail is printed and nothing is left running.
vigil_pg_start() {
  local dir port=${2:-} pg_data='' pg_sock='' pg_log='' pid old attempt offset stale auto=0
  local b
  for b in initdb pg_ctl postgres pg_isready psql; do
    if [ ! -x "$VIGIL_PG_BIN/$b" ]; then
      _vigil_say "$VIGIL_PG_BIN/$b not found: install postgresql-15 (make deps) or set VIGIL_PG_BIN"
      return 1
    fi
  done
  if _vigil_is_root && ! id -u postgres >/dev/null 2>&1; then
    _vigil_say "running as root needs the 'postgres' system user (package postgresql-15)"
    return 1
  fi
  dir=$(_vigil_state_dir "${1:-}") || return 1
  if ! _vigil_pg_layout "$dir"; then
    _vigil_say "cannot prepare the Postgres directories under $dir"
    return 1
  fi

  if pid=$(_vigil_pg_running "$pg_data"); then
    old=$(_vigil_read_int "$dir/pg.port") || old=
    if [ -z "$old" ]; then
      _vigil_say "Postgres (pid $pid) runs on $pg_data but $dir/pg.port is missing"
      return 1
    fi
    if [ -n "$port" ] && [ "$port" != "$old" ]; then
      _vigil_say "Postgres already runs on $pg_data on port $old, not $port"
      return 1
    fi
    printf '%s\n' "$pid" >"$dir/pg.pid"
    _vigil_pg_export "$old"
    return 0
  fi

  # After a crash (kill -9 of the postmaster) its children notice and exit
  # on their own; a new postmaster refuses to start while they still hold
  # the old shared memory, so wait for them.
  if ! vigil_wait_for -t "${VIGIL_WAIT_TIMEOUT:-60}" -m "old Postgres processes in $pg_data to exit" \
    _vigil_no_pids_in "$pg_data"; then
    return 1
  fi

  if [ ! -f "$pg_data/PG_VERSION" ]; then
    if [ -n "$(ls -A -- "$pg_data")" ]; then
      _vigil_say "$pg_data is not empty but holds no cluster; refusing to initdb over it"
      return 1
    fi
    if ! _vigil_as_pg "$VIGIL_PG_BIN/initdb" -D "$pg_data" -U "$_VIGIL_PG_SUPERUSER" -A trust \
      -E UTF8 --locale=C --no-instructions >>"$pg_log" 2>&1; then
      _vigil_say "initdb failed for $pg_data"
      _vigil_log_tail "$pg_log"
      return 1
    fi
  fi

  if [ -n "$port" ]; then
    case $port in *[!0-9]* | '')
      _vigil_say "bad port '$port'"
      return 1 ;;
    esac
    if ! _vigil_port_free "$port"; then
      _vigil_say "cannot start Postgres: 127.0.0.1:$port is in use"
      return 1
    fi
  else
    auto=1
    port=$(_vigil_read_int "$dir/pg.port") || port=
    if [ -z "$port" ] || ! _vigil_port_free "$port"; then
      port=$(vigil_free_port) || return 1
    fi
  fi

  for attempt in 1 2 3; do
    _vigil_pg_configure "$pg_data" "$pg_sock" "$port" || {
      _vigil_say "cannot write the configuration in $pg_data"
      return 1
    }
    offset=$(stat -c %s -- "$pg_log") || offset=0
    stale=$(_vigil_read_int "$pg_data/postmaster.pid" 2>/dev/null) || stale=
    # shellcheck disable=SC2094 # pg_ctl appends to the log too, reads nothing
    # -W: pg_ctl only launches (detached, own session); we poll below.
    if ! _vigil_as_pg "$VIGIL_PG_BIN/pg_ctl" -D "$pg_data" -l "$pg_log" -W start \
      </dev/null >>"$pg_log" 2>&1; then
      _vigil_say "pg_ctl start failed for $pg_data"
      _vigil_log_tail "$pg_log"
      return 1
    fi
    if vigil_wait_for -m "Postgres on 127.0.0.1:$port ($pg_data)" \
      _vigil_pg_probe "$pg_data" "$port" "$pg_log" "$offset" "$stale"; then
      break
    fi
    pid=$(_vigil_read_int "$pg_data/postmaster.pid" 2>/dev/null) || pid=
    if [ -n "$pid" ] && _vigil_pid_in "$pid" "$pg_data"; then
      _vigil_stop_pid Postgres "$pid" "$pg_log" INT QUIT KILL || true
    fi
    if [ "$auto" -eq 1 ] && [ "$attempt" -lt 3 ] &&
      [[ $(_vigil_log_since "$pg_log" "$offset") == *'Address already in use'* ]]; then
      _vigil_say "port $port was taken meanwhile; retrying with another"
      port=$(vigil_free_port) || return 1
      continue
    fi
    _vigil_say "Postgres did not start on 127.0.0.1:$port"
    _vigil_log_tail "$pg_log"
    return 1
  done

  if ! pid=$(_vigil_pg_running "$pg_data"); then
    _vigil_say "Postgres answered but its postmaster PID is not ours"
    _vigil_log_tail "$pg_log"
    return 1
  fi
  local have
  if ! have=$(_vigil_psql "$port" postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = 'vigil'"); then
    _vigil_say "cannot query Postgres on port $port"
    _vigil_log_tail "$pg_log"
    return 1
  fi
  if [ "$have" != 1 ] && ! _vigil_psql "$port" postgres -c 'CREATE DATABASE vigil'; then
    _vigil_say "cannot create database vigil"
    _vigil_log_tail "$pg_log"
    return 1
  fi
  printf '%s\n' "$port" >"$dir/pg.port"
  printf '%s\n' "$pid" >"$dir/pg.pid"
  _vigil_pg_export "$port"
}

# vigil_pg_stop DIR: stop the Postgres started on DIR, by the PID in
# postmaster.pid: SIGINT (fast shutdown: roll back sessions, checkpoint),
# then after VIGIL_STOP_TIMEOUT SIGQUIT (immediate) and SIGKILL.  Not
# running is success.  Returns 1 if the process survives SIGKILL.
vigil_pg_stop() {
  local dir=${1:-} data pid log
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    _vigil_say "vigil_pg_stop: no state directory '$dir'"
    return 1
  fi
  [ -e "$dir/pgdata" ] || return 0
  data=$(cd -- "$dir/pgdata" 2>/dev/null && pwd -P) || return 0
  log=$dir/pg.log
  if pid=$(_vigil_pg_running "$data"); then
    _vigil_stop_pid Postgres "$pid" "$log" INT QUIT KILL || return 1
  fi
  rm -f -- "$dir/pg.pid"
}

# ---------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------

# _vigil_redis_quote VALUE: a redis.conf double-quoted string.
_vigil_redis_quote() {
  local v=${1//\\/\\\\}
  printf '"%s"' "${v//\"/\\\"}"
}

_vigil_redis_cli() {
  local port=$1
  shift
  timeout 5 redis-cli -h 127.0.0.1 -p "$port" "$@"
}

# _vigil_redis_running DIR: print the PID of the redis-server running with
# its data in DIR/redis.
_vigil_redis_running() {
  local dir=$1 pid data
  data=$(cd -- "$dir/redis" 2>/dev/null && pwd -P) || return 1
  pid=$(_vigil_read_int "$dir/redis.pid" 2>/dev/null) || return 1
  _vigil_pid_in "$pid" "$data" || return 1
  printf '%s\n' "$pid"
}

# _vigil_redis_probe DIR PORT OFFSET: readiness probe for vigil_wait_for.
_vigil_redis_probe() {
  local dir=$1 port=$2 offset=$3 log=$1/redis.log new pid reply
  new=$(_vigil_log_since "$log" "$offset")
  pid=$(printf '%s\n' "$new" | sed -n 's/.*pid=\([0-9][0-9]*\), just started.*/\1/p' | tail -n 1)
  if [ -n "$pid" ] && ! _vigil_pid_alive "$pid"; then
    echo "redis-server (pid $pid) exited during start-up"
    return "$_VIGIL_WAIT_ABORT"
  fi
  if grep -qE 'aborting|Fatal error|FATAL' <<<"$new"; then
    echo "redis-server failed during start-up"
    return "$_VIGIL_WAIT_ABORT"
  fi
  reply=$(_vigil_redis_cli "$port" PING 2>&1) || {
    echo "no answer on 127.0.0.1:$port: $reply"
    return 1
  }
  [ "$reply" = PONG ] || {
    echo "PING answered '$reply'"
    return 1
  }
  reply=$(_vigil_redis_cli "$port" CONFIG GET dir | sed -n 2p)
  if [ "$reply" != "$dir/redis" ]; then
    echo "127.0.0.1:$port is served by another Redis (dir $reply)"
    return "$_VIGIL_WAIT_ABORT"
  fi
  _vigil_redis_running "$dir" >/dev/null || {
    echo "no pid file yet"
    return 1
  }
}

_vigil_redis_export() {
  VIGIL_REDIS_PORT=$1
  VIGIL_REDIS_URL="redis://127.0.0.1:$1"
  export VIGIL_REDIS_PORT VIGIL_REDIS_URL
}

# vigil_redis_start DIR [PORT]: start redis-server (daemonized) with data in
# DIR/redis, AOF on (appendfsync everysec), bound to 127.0.0.1 only.  PORT
# as for vigil_pg_start.  Already running on DIR: nothing to do.  On success
# DIR/redis.port is written and VIGIL_REDIS_URL exported.
vigil_redis_start() {
  local dir port=${2:-} pid old attempt offset auto=0 rc
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    _vigil_say "redis-server/redis-cli not found: install redis-server (make deps)"
    return 1
  fi
  dir=$(_vigil_state_dir "${1:-}") || return 1
  mkdir -p -- "$dir/redis" || return 1

  if pid=$(_vigil_redis_running "$dir"); then
    old=$(_vigil_read_int "$dir/redis.port") || old=
    if [ -z "$old" ]; then
      _vigil_say "Redis (pid $pid) runs on $dir but $dir/redis.port is missing"
      return 1
    fi
    if [ -n "$port" ] && [ "$port" != "$old" ]; then
      _vigil_say "Redis already runs on $dir on port $old, not $port"
      return 1
    fi
    _vigil_redis_export "$old"
    return 0
  fi

  if [ -n "$port" ]; then
    case $port in *[!0-9]* | '')
      _vigil_say "bad port '$port'"
      return 1 ;;
    esac
    if ! _vigil_port_free "$port"; then
      _vigil_say "cannot start Redis: 127.0.0.1:$port is in use"
      return 1
    fi
  else
    auto=1
    port=$(_vigil_read_int "$dir/redis.port") || port=
    if [ -z "$port" ] || ! _vigil_port_free "$port"; then
      port=$(vigil_free_port) || return 1
    fi
  fi

  for attempt in 1 2 3; do
    {
      printf '# Written by tests/lib/services.sh on every start; edits are lost.\n'
      printf 'bind 127.0.0.1\nport %s\n' "$port"
      # Bound to loopback only, so protected mode (which only refuses
      # non-loopback clients without a password) never gets in the way.
      printf 'protected-mode yes\n'
      printf 'daemonize yes\n'
      printf 'pidfile %s\n' "$(_vigil_redis_quote "$dir/redis.pid")"
      printf 'logfile %s\n' "$(_vigil_redis_quote "$dir/redis.log")"
      printf 'dir %s\n' "$(_vigil_redis_quote "$dir/redis")"
      printf 'appendonly yes\nappendfsync everysec\n'
      printf 'save ""\n'
    } >"$dir/redis.conf" || return 1
    [ -e "$dir/redis.log" ] || : >"$dir/redis.log" || return 1
    offset=$(stat -c %s -- "$dir/redis.log") || offset=0
    # Configuration errors are reported before daemonizing, on stderr.
    rc=0
    (cd / && redis-server "$dir/redis.conf") </dev/null >>"$dir/redis.log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
      _vigil_say "redis-server refused to start (exit $rc)"
      _vigil_log_tail "$dir/redis.log"
      return 1
    fi
    if vigil_wait_for -m "Redis on 127.0.0.1:$port ($dir/redis)" \
      _vigil_redis_probe "$dir" "$port" "$offset"; then
      break
    fi
    if pid=$(_vigil_redis_running "$dir"); then
      _vigil_stop_pid Redis "$pid" "$dir/redis.log" TERM KILL || true
    fi
    if [ "$auto" -eq 1 ] && [ "$attempt" -lt 3 ] &&
      [[ $(_vigil_log_since "$dir/redis.log" "$offset") == *'Address already in use'* ]]; then
      _vigil_say "port $port was taken meanwhile; retrying with another"
      port=$(vigil_free_port) || return 1
      continue
    fi
    _vigil_say "Redis did not start on 127.0.0.1:$port"
    _vigil_log_tail "$dir/redis.log"
    return 1
  done
  printf '%s\n' "$port" >"$dir/redis.port"
  _vigil_redis_export "$port"
}

# vigil_redis_stop DIR: SIGTERM by PID (Redis flushes and fsyncs the AOF),
# SIGKILL after VIGIL_STOP_TIMEOUT.  Not running is success.
vigil_redis_stop() {
  local dir=${1:-} pid
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    _vigil_say "vigil_redis_stop: no state directory '$dir'"
    return 1
  fi
  dir=$(cd -- "$dir" && pwd -P) || return 1
  if pid=$(_vigil_redis_running "$dir"); then
    _vigil_stop_pid Redis "$pid" "$dir/redis.log" TERM KILL || return 1
  fi
  return 0
}

# ---------------------------------------------------------------------------
# Both
# ---------------------------------------------------------------------------

# vigil_stop_all DIR: stop Redis and Postgres; tries both, fails if either did.
vigil_stop_all() {
  local rc=0
  vigil_redis_stop "${1:-}" || rc=1
  vigil_pg_stop "${1:-}" || rc=1
  return "$rc"
}

# vigil_remove_state DIR: stop everything on DIR and delete DIR together
# with the fallback Postgres home and socket directory it may point to.
# For throwaway directories (test traps); never for a state dir you keep.
vigil_remove_state() {
  local dir=${1:-} rc=0 link target
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  vigil_stop_all "$dir" || rc=1
  dir=$(cd -- "$dir" && pwd -P) || return 1
  for link in "$dir/pgdata" "$dir/pgsock"; do
    if [ -L "$link" ]; then
      target=$(readlink -- "$link") || continue
      case $link in
        */pgdata) target=$(dirname -- "$target") ;;
      esac
      case $target in
        */vigil-pg-* | /tmp/vigil-pgsock-*) rm -rf -- "$target" || rc=1 ;;
      esac
    fi
  done
  rm -rf -- "$dir" || rc=1
  return "$rc"
}
