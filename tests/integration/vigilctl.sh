#!/usr/bin/env bash
# vigilctl.sh: the operator CLI, from the outside.
#
# Part 1 (always): --help / --version, usage errors exit 2 without any
# network traffic, an unreachable URL exits 3 with a clear message, the
# timeouts bound a silent peer, a TLS server whose certificate we do not
# trust exits 3, the request on the wire (headers, Idempotency-Key, body)
# as openssl s_server received it, and vigilctl does not link BoringSSL.
#
# Part 2 (when vigil-control is built with `serve`): the real stack
# (Postgres + Redis from tests/lib/services.sh, vigil-signer if built,
# vigil-control migrate + serve on a free port) and the operator's happy
# path: health, tenants create, issuers create, tokens create (issuer role),
# certificates create from an openssl CSR and with a generated key, get,
# list, revoke, audit list — exit codes checked, the issued certificates
# checked with openssl, 401 → exit 4, 403 → exit 4, 409 → exit 1.
# Without `serve` it prints "skipped: vigil-control serve not available".
set -euo pipefail

src=${VIGIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${VIGIL_BUILD_DIR:?}
cli=$build/control/cli/vigilctl
ctl=$build/control/vigil-control
signer=$build/control/signer/vigil-signer
# shellcheck source=../lib/services.sh
source "$src/tests/lib/services.sh"
PY=${VIGIL_PYTHON:-python3}
[ -x /usr/bin/python3 ] && PY=${VIGIL_PYTHON:-/usr/bin/python3}

work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-vigilctl.XXXXXX")
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
    vigil_wait_for -t 10 -m "pid $p to exit" _vigil_pid_gone "$p" 2>/dev/null ||
      kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  vigil_remove_state "$work" || rc=1
  exit "$rc"
}
trap cleanup EXIT
cd "$work"

step() { printf '== %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  for f in serve.log signer.log; do
    [ -f "$work/$f" ] && tail -20 "$work/$f" >&2
  done
  exit 1
}
# In the sanitizer build a report must fail the test even where a non-zero
# exit is expected.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86
# run WANT ARGS...: run vigilctl; stdout in $out, stderr in $err.
run() {
  local want=$1 rc=0
  shift
  out=$("$cli" "$@" 2>"$work/stderr") || rc=$?
  err=$(cat "$work/stderr")
  if [ -n "${VIGIL_TEST_VERBOSE:-}" ]; then
    printf '$ vigilctl %s  [exit %s]\n%s\n%s\n' "$*" "$rc" "$out" "$err" >&2
  fi
  if grep -qE 'Sanitizer|runtime error:' <<<"$err"; then
    fail "vigilctl $*: sanitizer report: $err"
  fi
  [ "$rc" -eq "$want" ] || fail "vigilctl $* exited $rc, expected $want
stdout: $out
stderr: $err"
}
# json_get FIELD: print FIELD of the JSON object in $out (python3 parses).
json_get() {
  "$PY" -c 'import json,sys; v=json.loads(sys.stdin.read())[sys.argv[1]]; print("" if v is None else v)' "$1" <<<"$out"
}

[ -x "$cli" ] || fail "$cli not built"

# A port nobody listens on: usage errors must be found before any
# connection, so they exit 2 (not 3) even against it.
dead=$(vigil_free_port)
export VIGIL_URL=https://127.0.0.1:$dead
unset VIGIL_TOKEN VIGIL_TOKEN_FILE VIGIL_CACERT VIGIL_TIMEOUT VIGIL_CONNECT_TIMEOUT VIGIL_STATE_DIR

step "vigilctl does not link BoringSSL (DESIGN.md section 1)"
if ldd "$cli" | grep -q '/android/'; then
  fail "vigilctl links BoringSSL: $(ldd "$cli")"
fi

step "--help, --version and per-command help"
run 0 --help
for c in health 'tenants create' 'issuers create' 'certificates create' \
  'certificates get' 'certificates list' 'certificates revoke' 'audit list' \
  'tokens create'; do
  grep -qF "  $c" <<<"$out" || fail "--help does not list '$c'"
done
grep -q '4  authentication' <<<"$out" || fail "--help lacks the exit codes"
run 0 --version
grep -qE '^vigilctl [0-9]+\.[0-9]+' <<<"$out" || fail "--version: $out"
run 0 certificates revoke --help
grep -q -- '--reason R' <<<"$out" || fail "revoke --help lacks --reason"
grep -q -- '--wait' <<<"$out" || fail "revoke --help lacks --wait"
run 0 help tokens create
grep -q -- '--role R' <<<"$out" || fail "help tokens create lacks --role"
run 0 certificates --help
grep -q 'certificates revoke ID' <<<"$out" || fail "group help: $out"
# Every option a command's help lists is one the parser accepts: a listed
# option never yields "unknown option".
for c in 'health' 'tenants create' 'issuers create' 'certificates create' \
  'certificates get' 'certificates list' 'certificates revoke' 'audit list' \
  'tokens create'; do
  # shellcheck disable=SC2086 # $c is two words on purpose
  help=$("$cli" $c --help)
  while read -r o; do
    # shellcheck disable=SC2086
    e=$("$cli" $c "$o" x 2>&1 >/dev/null) || true
    if grep -q 'unknown option' <<<"$e"; then
      fail "$c: help lists $o but the parser refuses it"
    fi
  done < <(grep -oE '^  --[a-z-]+' <<<"$help")
done

step "usage errors exit 2 and never touch the network"
run 2
run 2 frobnicate
grep -q "unknown command 'frobnicate'" <<<"$err" || fail "$err"
run 2 certificates
run 2 certificates burn 1
run 2 certificates get
grep -q 'missing argument ID' <<<"$err" || fail "$err"
run 2 certificates get a b
run 2 certificates get x --no-such-option
grep -q 'unknown option --no-such-option' <<<"$err" || fail "$err"
run 2 certificates revoke x
run 2 certificates revoke x --reason certificateHold
grep -q 'keyCompromise' <<<"$err" || fail "$err"
run 2 certificates revoke x --reason
grep -q -- '--reason needs a value' <<<"$err" || fail "$err"
run 2 certificates list --limit 0
run 2 certificates list --limit 12x
run 2 audit list --limit 1001
run 2 tokens create --name n
run 2 tenants create
run 2 issuers create --tenant t --cn x
run 2 certificates create --tenant t --name n
grep -q -- '--csr FILE' <<<"$err" || fail "$err"
run 2 certificates create --tenant t --name n --csr "$work/no-such.csr"
grep -q 'no-such.csr' <<<"$err" || fail "$err"
printf 'hello\n' >notacsr.pem
run 2 certificates create --tenant t --name n --csr notacsr.pem
grep -q 'not a PEM certificate request' <<<"$err" || fail "$err"
run 2 certificates create --tenant t --name n --csr notacsr.pem --key-out k.pem
run 2 certificates create --tenant t --name n --dns a.test --days 0
run 2 tenants create t --idempotency-key 'has space'
run 2 --url ftp://127.0.0.1/ health
run 2 --url http://vigil.example.test health # a token must not cross a network in clear
grep -q 'https://' <<<"$err" || fail "$err"
run 2 --timeout abc health
run 2 --token a --token-file /dev/null health
: >empty-token
run 2 --token-file empty-token health
grep -q 'empty' <<<"$err" || fail "$err"
run 2 --token-file "$work/none" health
run 2 --cacert "$work/none.pem" health
run 2 health --json=yes
[ -z "$out" ] || fail "a usage error printed to stdout: $out"

step "an unreachable server exits 3 with a clear message"
run 3 health
grep -q "cannot connect to the server" <<<"$err" || fail "$err"
grep -q "127.0.0.1:$dead" <<<"$err" || fail "message does not name the URL: $err"
run 3 --token t certificates get 00000000-0000-0000-0000-000000000000
VIGIL_URL=https://127.0.0.1:$dead/ run 3 --json audit list

step "a server that accepts but never answers: bounded by the timeouts (exit 3)"
hang_port=$(vigil_free_port)
"$PY" -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
time.sleep(300)' "$hang_port" &
pids+=("$!")
vigil_wait_for -t 20 -m "the silent listener on $hang_port" \
  bash -c "exec 3<>/dev/tcp/127.0.0.1/$hang_port" || fail "listener did not start"
t0=$(date +%s)
run 3 --url "https://127.0.0.1:$hang_port" --connect-timeout 1 health
grep -q 'timed out' <<<"$err" || fail "$err"
VIGIL_CONNECT_TIMEOUT=10 VIGIL_TIMEOUT=1 run 3 --url "https://127.0.0.1:$hang_port" health
grep -q 'timed out' <<<"$err" || fail "$err"
# Nothing was sent (the TLS handshake never finished): no retry advice.
run 3 --url "https://127.0.0.1:$hang_port" --timeout 1 --token t tenants create x
if grep -q 'retry safely' <<<"$err"; then fail "retry advice for an unsent write: $err"; fi
[ $(($(date +%s) - t0)) -le 10 ] || fail "the 1 s timeouts took $(($(date +%s) - t0)) s"

step "TLS: an untrusted server certificate exits 3 (openssl s_server as the peer)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,IP:127.0.0.2 -keyout tls.key \
  -out tls.pem 2>/dev/null
tls_port=$(vigil_free_port)
openssl s_server -quiet -accept "$tls_port" -cert tls.pem -key tls.key -www \
  </dev/null >s_server.log 2>&1 &
pids+=("$!")
vigil_wait_for -t 20 -m "openssl s_server on $tls_port" \
  bash -c "exec 3<>/dev/tcp/127.0.0.1/$tls_port" || fail "s_server did not start"
run 3 --url "https://127.0.0.1:$tls_port" health
grep -q 'TLS failure' <<<"$err" || fail "$err"
grep -q -- '--insecure' <<<"$err" || fail "no hint: $err"
# Trusting its certificate gets past TLS: what answers then is not our API.
run 3 --url "https://127.0.0.1:$tls_port" --cacert tls.pem health
grep -q 'not JSON' <<<"$err" || fail "$err"
run 3 --url "https://127.0.0.1:$tls_port" --insecure health
grep -q 'not JSON' <<<"$err" || fail "$err"
# A peer that takes the request and never answers (openssl s_server reading
# a FIFO that never ends): the write's fate is unknown, so vigilctl names
# the Idempotency-Key to retry with. s_server logs what arrived on the wire.
mkfifo never
silent_port=$(vigil_free_port)
openssl s_server -quiet -accept "$silent_port" -cert tls.pem -key tls.key \
  0<>never >wire.log 2>&1 &
pids+=("$!")
vigil_wait_for -t 20 -m "openssl s_server on $silent_port" \
  bash -c "exec 3<>/dev/tcp/127.0.0.1/$silent_port" || fail "s_server did not start"
run 3 --url "https://127.0.0.1:$silent_port" --cacert tls.pem --timeout 1 --token tok-1 \
  tenants create wire-test --idempotency-key key-42
grep -q 'timed out' <<<"$err" || fail "$err"
grep -q 'retry safely with --idempotency-key key-42' <<<"$err" || fail "$err"
vigil_wait_for -t 10 -m "the request in wire.log" grep -q 'wire-test' wire.log || fail "$(cat wire.log)"
for h in 'POST /api/v1/tenants HTTP/1.1' 'Authorization: Bearer tok-1' \
  'Idempotency-Key: key-42' 'Content-Type: application/json' '{"name":"wire-test"}'; do
  grep -qF "$h" wire.log || fail "request lacks '$h': $(cat wire.log)"
done

# The local stack's state directory supplies the CA for loopback URLs only.
mkdir -p st/api-tls
cp tls.pem st/api-tls/cert.pem
VIGIL_STATE_DIR=$work/st run 3 --url "https://127.0.0.1:$tls_port" health
grep -q 'not JSON' <<<"$err" || fail "state-dir CA not used: $err"
VIGIL_STATE_DIR=$work/st run 3 --url "https://127.0.0.2:$tls_port" health
grep -q 'TLS failure' <<<"$err" || fail "state-dir CA used for a non-loopback host: $err"

# ---------------------------------------------------------------------------
# Part 2: the real stack
# ---------------------------------------------------------------------------
if [ ! -x "$ctl" ] || ! "$ctl" --help 2>/dev/null | grep -qE '^  serve( |$)'; then
  echo "skipped: vigil-control serve not available ($ctl)"
  echo "PASS: vigilctl (without server)"
  exit 0
fi

step "start Postgres, Redis, vigil-signer, vigil-control serve"
vigil_pg_start "$work" >/dev/null || fail "postgres did not start"
vigil_redis_start "$work" >/dev/null || fail "redis did not start"
have_signer=0
serve_args=()
if [ -x "$signer" ]; then
  mkdir -m 700 "$work/keys"
  "$signer" --socket="$work/signer.sock" --key-dir="$work/keys" >>signer.log 2>&1 &
  pids+=("$!")
  vigil_wait_for -t 30 -m "the signer socket" test -S "$work/signer.sock" ||
    fail "signer did not start"
  serve_args+=(--signer-socket="$work/signer.sock")
  have_signer=1
fi
"$ctl" migrate --database-url="$VIGIL_PG_URL" >migrate.log 2>&1 || fail "migrate: $(cat migrate.log)"
api_port=$(vigil_free_port)
mkdir -m 700 "$work/state"
"$ctl" serve --database-url="$VIGIL_PG_URL" --redis-url="$VIGIL_REDIS_URL" \
  --listen-port="$api_port" --state-dir="$work/state" "${serve_args[@]}" \
  >>serve.log 2>&1 &
pids+=("$!")
export VIGIL_URL=https://127.0.0.1:$api_port
vigil_wait_for -t 60 -m "vigil-control serve on $api_port" \
  "$cli" --insecure --connect-timeout 1 health || fail "serve did not come up"
[ -s "$work/state/bootstrap-token" ] || fail "no bootstrap token"
cacert=$work/state/api-tls/cert.pem

step "health: human and --json; TLS verified with --cacert, refused without"
run 0 --insecure health
grep -qE '^status: +ok$' <<<"$out" || fail "health: $out"
run 0 --cacert "$cacert" --json health
[ "$(json_get db)" = ok ] || fail "health json: $out"
run 3 health
grep -q 'TLS failure' <<<"$err" || fail "$err"
export VIGIL_CACERT=$cacert

step "401 and 403 exit 4"
run 4 --token vgl_not-a-real-token tenants create nope
grep -q 'unauthorized' <<<"$err" || fail "$err"
run 4 tenants create nope

step "tenants create (and 409 on a second create, idempotent replay)"
export VIGIL_TOKEN_FILE=$work/state/bootstrap-token
run 0 tenants create acme
grep -qE '^name: +acme$' <<<"$out" || fail "$out"
run 1 tenants create acme
grep -q 'conflict' <<<"$err" || fail "$err"
run 1 --json tenants create acme
[ "$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["error"]["code"])' <<<"$out")" = conflict ] ||
  fail "--json error body not on stdout: $out"
run 4 certificates create --tenant acme --name x --dns x.test # bootstrap: no issuance
grep -q 'forbidden' <<<"$err" || fail "$err"
run 0 --json tenants create acme2 --idempotency-key replay-1
id1=$(json_get id)
run 0 --json tenants create acme2 --idempotency-key replay-1
[ "$(json_get id)" = "$id1" ] || fail "replay returned another tenant: $out"

step "local stack defaults: CA and bootstrap token from VIGIL_STATE_DIR"
(
  unset VIGIL_CACERT VIGIL_TOKEN_FILE
  export VIGIL_STATE_DIR=$work/state
  run 0 tenants create acme3
)

step "tokens create: an issuer token, shown once"
run 0 --json tokens create --name ops-issuer --role issuer
issuer_token=$(json_get token)
[ -n "$issuer_token" ] || fail "no token: $out"
grep -q 'shown only now' <<<"$err" || fail "$err"
run 0 tokens create --name ops-auditor --role auditor --role operator
grep -qE '^token: +vgl_' <<<"$out" || fail "human output lacks the token: $out"

if [ "$have_signer" = 1 ]; then
  step "issuers create"
  run 0 --json issuers create --tenant acme --issuer-id acme-root --cn "Acme Root CA"
  json_get certificate_pem >ca.pem
  openssl x509 -in ca.pem -noout -subject | grep -q 'Acme Root CA' || fail "CA subject"
  run 0 issuers create --tenant acme --issuer-id acme-int --cn "Acme Sub CA" \
    --parent acme-root --key-type p384
  grep -q 'BEGIN CERTIFICATE' <<<"$out" || fail "no PEM in the human output"
  run 1 issuers create --tenant acme --issuer-id acme-root --cn again
  run 1 issuers create --tenant no-such-tenant --issuer-id x-root --cn x

  step "certificates create from an openssl CSR; openssl verifies it"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout web.key \
    -subj /CN=web.acme.test -addext subjectAltName=DNS:web.acme.test -out web.csr 2>/dev/null
  run 0 --token "$issuer_token" certificates create --tenant acme --name web-1 \
    --issuer-id acme-root --csr web.csr --cert-out web.pem --days 30
  grep -qE '^status: +active$' <<<"$out" || fail "$out"
  cert_id=$(awk '$1 == "id:" {print $2}' <<<"$out")
  [ -n "$cert_id" ] || fail "no id: $out"
  openssl verify -CAfile ca.pem web.pem >/dev/null || fail "issued certificate does not verify"
  cmp <(openssl x509 -in web.pem -noout -pubkey) <(openssl pkey -in web.key -pubout) ||
    fail "certificate key is not the CSR's"
  serial=$(openssl x509 -in web.pem -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//')
  grep -qE "^serial: +$serial\$" <<<"$out" || fail "serial differs from openssl's ($serial): $out"

  step "certificates create with a server-generated key (--key-out, 0600)"
  run 0 --token "$issuer_token" --json certificates create --tenant acme --name gen-1 \
    --dns gen.acme.test --ip 127.0.0.1 --key-out gen.key
  json_get certificate_pem >gen.pem
  gen_id=$(json_get id)
  [ "$(stat -c %a gen.key)" = 600 ] || fail "gen.key mode $(stat -c %a gen.key)"
  cmp <(openssl x509 -in gen.pem -noout -pubkey) <(openssl pkey -in gen.key -pubout) ||
    fail "--key-out key does not match the certificate"
  openssl x509 -in gen.pem -noout -ext subjectAltName | grep -q 'DNS:gen.acme.test' ||
    fail "SAN missing"
  # The key file exists now: a second run must refuse before issuing.
  run 2 --token "$issuer_token" certificates create --tenant acme --name gen-2 \
    --dns gen2.acme.test --key-out gen.key
  grep -q 'refusing to overwrite' <<<"$err" || fail "$err"

  step "certificates get / list"
  run 0 --token "$issuer_token" certificates get "$cert_id"
  grep -qE '^status: +active$' <<<"$out" || fail "$out"
  if grep -q 'BEGIN CERTIFICATE' <<<"$out"; then fail "get printed the PEM without --pem"; fi
  run 0 --token "$issuer_token" certificates get "$cert_id" --pem
  grep -q 'BEGIN CERTIFICATE' <<<"$out" || fail "get --pem: $out"
  run 1 --token "$issuer_token" certificates get 00000000-0000-0000-0000-000000000000
  grep -q 'not_found' <<<"$err" || fail "$err"
  run 0 --token "$issuer_token" certificates list --tenant acme --limit 10
  head -1 <<<"$out" | grep -qE '^ID +TENANT +NAME +SERIAL +STATUS +NOT_AFTER$' || fail "$out"
  grep -q "^$cert_id " <<<"$out" || fail "list lacks $cert_id: $out"
  run 0 --token "$issuer_token" certificates list --tenant acme --limit 1
  after=$(sed -n 's/^(more: --after \(.*\))$/\1/p' <<<"$out")
  [ -n "$after" ] || fail "no (more: --after ID) line: $out"
  run 0 --token "$issuer_token" certificates list --tenant acme --limit 1 --after "$after"
  grep -q "^$cert_id " <<<"$out" || fail "second page lacks $cert_id: $out"
  run 0 --token "$issuer_token" --json certificates list --tenant acme --limit 1
  "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert len(d["items"]) == 1 and d["next"]' <<<"$out" ||
    fail "limit/next: $out"

  step "certificates revoke --reason keyCompromise (--wait); then get says revoked"
  run 4 certificates revoke "$cert_id" --reason keyCompromise # bootstrap: no issuance authority
  run 0 --token "$issuer_token" certificates revoke "$cert_id" --reason keyCompromise --wait
  grep -qE '^revocation_queue_status: +(pending|published)$' <<<"$out" || fail "$out"
  run 0 --token "$issuer_token" --json certificates get "$cert_id"
  [ "$(json_get status)" = revoked ] || fail "status: $out"
  [ "$(json_get revocation_reason)" = keyCompromise ] || fail "reason: $out"
  [ -n "$(json_get revoked_at)" ] || fail "revoked_at: $out"
  run 1 --token "$issuer_token" certificates revoke "$cert_id" --reason superseded \
    --idempotency-key other-request
  grep -q 'conflict' <<<"$err" || fail "$err"

  step "the DESIGN.md section 8 one-liner: revoke with no options (state dir token + CA)"
  printf '%s\n' "$issuer_token" >"$work/state/vigilctl-token"
  chmod 600 "$work/state/vigilctl-token"
  (
    unset VIGIL_CACERT VIGIL_TOKEN_FILE
    export VIGIL_STATE_DIR=$work/state
    run 0 certificates revoke "$gen_id" --reason keyCompromise
    run 0 --json certificates get "$gen_id"
    [ "$(json_get status)" = revoked ] || fail "one-liner did not revoke: $out"
  )

  step "audit list"
  run 0 audit list --type certificate.revoked
  head -1 <<<"$out" | grep -qE '^ID +AT +TYPE +SUBJECT' || fail "$out"
  grep -q "certificate:$cert_id" <<<"$out" || fail "audit lacks the revocation: $out"
  run 0 --json audit list --limit 1000
  for t in tenant.created token.created issuer.created certificate.issued certificate.revoked; do
    grep -q "\"$t\"" <<<"$out" || fail "audit lacks $t"
  done
else
  echo "   skipped: issuance, get, list, revoke (vigil-signer not built)"
  run 0 audit list --type tenant.created
  grep -q 'tenant.created' <<<"$out" || fail "$out"
fi

if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' serve.log; then
  fail "sanitizer report in the server log"
fi
echo "PASS: vigilctl"
