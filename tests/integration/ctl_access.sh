#!/usr/bin/env bash
# ctl_access.sh: brokered, short-lived access to Postgres (issue 5,
# DESIGN.md section 5: POST /access/sessions) as an on-call operator and
# the database see it. The stack (stack_common.bash) with
# --access-min-ttl 2; the access target is the stack's own Postgres, with
# a database "app" holding a table, and password (scram) logins enabled
# for every role but the harness superuser, so the brokered password and
# VALID UNTIL are really checked by Postgres.
#   * an admin registers the target (its conninfo is never shown again);
#     an operator opens a readonly session: psql with the credential can
#     SELECT, cannot INSERT; a wrong password is refused
#   * audit has pam.session.started with target, role and reason, and the
#     password is nowhere in the vigil database (pg_dump), only its SHA-256,
#     nor in the target's log (log_statement = ddl: a SCRAM verifier is sent);
#     an Idempotency-Key replay returns the same session without password
#   * revoke drops the role, ends an open connection, login then fails;
#     pam.session.revoked audited; a second revoke is a conflict
#   * a 2 s session expires: role dropped, pam.session.expired audited
#   * refusals: unknown role / target type (422 naming the field), ttl
#     out of range, missing reason, auditor token (403), bad JSON (400)
set -euo pipefail
source "$(dirname "$0")/stack_common.bash"

stack_init access
stack_signer_start
stack_control_start --access-min-ttl 2
W=$STACK_DIR
PG_BIN=${VIGIL_PG_BIN:-/usr/lib/postgresql/15/bin}
boot() { vctl --token-file "$STACK_BOOT" "$@"; }
boot_json() { vctl_json --token-file "$STACK_BOOT" "$@"; }
# acall TOKEN METHOD PATH [JSON]: the API as TOKEN; body in BODY, status in
# API_STATUS (not in a subshell, so both are visible afterwards).
acall() {
  local tok=$1
  shift
  VIGIL_TOKEN=$tok api "$@" >"$W/acall.out"
  BODY=$(cat "$W/acall.out")
}

# --- the target: database app, password logins -------------------------------
step "target database: app with a table; scram logins for brokered roles"
psql_q 'CREATE DATABASE app' >/dev/null
APP_URL=${VIGIL_PG_URL%/*}/app
psql "$APP_URL" -v ON_ERROR_STOP=1 -q -c \
  "CREATE TABLE findings (id int PRIMARY KEY, note text);
   INSERT INTO findings VALUES (1, 'disk full'), (2, 'key leaked')"
hba=$(psql_q 'SHOW hba_file')
printf 'host all all 127.0.0.1/32 scram-sha-256\n' >>"$hba"
# Log DDL, to check that no password reaches the server's log.
psql_q "ALTER SYSTEM SET log_statement = 'ddl'" >/dev/null
[ "$(psql_q 'SELECT pg_reload_conf()')" = t ] || fail "pg_reload_conf"
printf '%s\n' "$VIGIL_PG_URL" >"$W/target.conninfo"

OPER=$(boot_json tokens create --name oncall --role operator | jget 'd["token"]')
AUDITOR=$(boot_json tokens create --name audit --role auditor | jget 'd["token"]')
{ [ -n "$OPER" ] && [ -n "$AUDITOR" ]; } || fail "tokens"

step "admin registers target pg-main; the conninfo is never shown"
out=$(boot access targets create pg-main --conninfo-file "$W/target.conninfo" \
  --role readonly=pg_read_all_data \
  --role writer=pg_read_all_data,pg_write_all_data --database app)
case $out in *"$VIGIL_PG_URL"* | *conninfo*) fail "conninfo shown: $out" ;; esac
acall "$OPER" GET /access/targets
list=$BODY
[ "$API_STATUS" = 200 ] || fail "GET /access/targets: $API_STATUS $list"
case $list in *pg-main*) ;; *) fail "target not listed: $list" ;; esac
case $list in *"$VIGIL_PG_URL"* | *conninfo*) fail "conninfo listed" ;; esac
rc=0
VIGIL_TOKEN=$OPER vctl access targets create other \
  --conninfo-file "$W/target.conninfo" --role ro=pg_read_all_data \
  >/dev/null 2>&1 || rc=$?
[ "$rc" = 4 ] || fail "an operator could register a target (exit $rc)"
acall "$(cat "$STACK_BOOT")" POST /access/targets \
  '{"id":"bad","type":"postgres","conninfo":"'"$VIGIL_PG_URL"'","roles":{"ro":["no_such_role"]}}'
body=$BODY
[ "$API_STATUS" = 422 ] || fail "unknown server role accepted: $API_STATUS $body"
case $body in *no_such_role*) ;; *) fail "422 does not name the role: $body" ;; esac
dead=$(vigil_free_port)
acall "$(cat "$STACK_BOOT")" POST /access/targets \
  '{"id":"dead","type":"postgres","conninfo":"postgresql://vigil@127.0.0.1:'"$dead"'/vigil?connect_timeout=2","roles":{"ro":["pg_read_all_data"]}}'
[ "$API_STATUS" = 422 ] || fail "unreachable target accepted: $API_STATUS $BODY"
case $BODY in *conninfo*) ;; *) fail "422 does not name conninfo: $BODY" ;; esac

# --- open, use --------------------------------------------------------------
step "operator opens a readonly session; psql can SELECT, not INSERT"
VIGIL_TOKEN=$OPER vctl_json access open --target pg-main --role readonly \
  --reason "production incident 42" --ttl 900 >"$W/s1.json" 2>"$W/s1.err"
grep -q 'shown only now' "$W/s1.err" || fail "no shown-once warning"
S1=$(jget 'd["id"]' <"$W/s1.json")
U1=$(jget 'd["credential"]["username"]' <"$W/s1.json")
P1=$(jget 'd["credential"]["password"]' <"$W/s1.json")
H1=$(jget 'd["credential"]["conninfo_hint"]' <"$W/s1.json")
[ "$(jget 'd["expires_at"]' <"$W/s1.json" | cut -c1-2)" = 20 ] ||
  fail "no expires_at: $(cat "$W/s1.json")"
case $U1 in vigil_s_*) ;; *) fail "username $U1" ;; esac
[ "${#P1}" -ge 40 ] || fail "short password"
case $H1 in *"dbname=app"*"user=$U1"*) ;; *) fail "hint: $H1" ;; esac
n=$(PGPASSWORD=$P1 psql "$H1" -tA -c 'SELECT count(*) FROM findings') ||
  fail "SELECT with the brokered credential failed"
[ "$n" = 2 ] || fail "SELECT saw $n rows"
rc=0
PGPASSWORD=$P1 psql "$H1" -v ON_ERROR_STOP=1 -tA \
  -c "INSERT INTO findings VALUES (3, 'x')" >"$W/ins.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "readonly session could INSERT"
grep -q 'permission denied' "$W/ins.out" || fail "INSERT: $(cat "$W/ins.out")"
rc=0
PGPASSWORD=wrong-password psql "$H1" -tA -c 'SELECT 1' >"$W/bad.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "a wrong password was accepted"
grep -q 'password authentication failed' "$W/bad.out" ||
  fail "wrong password: $(cat "$W/bad.out")"
[ "$(psql_q "SELECT rolvaliduntil IS NOT NULL FROM pg_roles WHERE rolname = '$U1'")" = t ] ||
  fail "the role has no VALID UNTIL"

pglog=$W/pg.log
if [ -L "$W/pgdata" ]; then
  pglog=$(dirname -- "$(readlink -- "$W/pgdata")")/pg.log
fi
grep -q "CREATE ROLE \"$U1\"" "$pglog" || fail "DDL not logged in $pglog"
if grep -qF -- "$P1" "$pglog"; then fail "the password is in the server log"; fi

step "audit: pam.session.started with target, role, reason; no password anywhere"
acall "$AUDITOR" GET '/audit?type=pam.session.started'
ev=$BODY
[ "$API_STATUS" = 200 ] || fail "GET /audit: $API_STATUS"
printf '%s' "$ev" | "$EDGE_PY" -c '
import json, sys
items = json.load(sys.stdin)["items"]
sid = sys.argv[1]
m = [e for e in items if e["subject"] == "access_session:" + sid]
assert len(m) == 1, items
d = m[0]["details"]
assert d["target_id"] == "pg-main" and d["role"] == "readonly", d
assert d["reason"] == "production incident 42", d
assert d["principal"] == "oncall" and d["expires_at"], d
' "$S1" || fail "pam.session.started: $ev"
case $ev in *"$P1"*) fail "the password is in the audit log" ;; esac
"$PG_BIN/pg_dump" "$VIGIL_PG_URL" >"$W/dump.sql" || fail "pg_dump"
if grep -qF -- "$P1" "$W/dump.sql"; then fail "the password is stored"; fi
[ "$(psql_q "SELECT count(*) FROM access_sessions WHERE id = '$S1' AND password_sha256 = sha256(convert_to('$P1', 'UTF8'))")" = 1 ] ||
  fail "the password's SHA-256 is not recorded"

step "Idempotency-Key: a replay returns the same session, not the password"
idem() {
  curl -s -m 30 --cacert "$VIGIL_CACERT" -H "Authorization: Bearer $OPER" \
    -H 'Idempotency-Key: incident-42-db-readonly' \
    -H 'Content-Type: application/json' --data-binary \
    '{"target_type":"postgres","target_id":"pg-main","role":"readonly","reason":"production incident 42","method":"k8s_sat","payload_base64":"eyJ4IjoxfQ==","ttl_seconds":900}' \
    "$VIGIL_URL/api/v1/access/sessions"
}
a=$(idem)
b=$(idem)
ia=$(printf '%s' "$a" | jget 'd["id"]')
ib=$(printf '%s' "$b" | jget 'd["id"]')
[ "$ia" = "$ib" ] || fail "replay opened another session: $a / $b"
pa=$(printf '%s' "$a" | jget 'd["credential"]["password"]')
[ "${#pa}" -ge 40 ] || fail "first answer without password: $a"
case $b in *"$pa"*) fail "the replay carries the password: $b" ;; esac
[ "$(printf '%s' "$b" | jget 'd["expires_at"]')" = "$(printf '%s' "$a" | jget 'd["expires_at"]')" ] ||
  fail "the replay has another expiry: $a / $b"
"$PG_BIN/pg_dump" "$VIGIL_PG_URL" >"$W/dump2.sql" || fail "pg_dump"
if grep -qF -- "$pa" "$W/dump2.sql"; then fail "idempotency store kept the password"; fi

# --- revoke -----------------------------------------------------------------
step "revoke: the role is dropped, its open connection ended, login fails"
PGPASSWORD=$P1 psql "$H1" -tA -c 'SELECT pg_sleep(120)' >"$W/held.out" 2>&1 &
held=$!
edge_track "$held"
held_connected() {
  [ "$(psql_q "SELECT count(*) FROM pg_stat_activity WHERE usename = '$U1' AND query LIKE '%pg_sleep%'")" = 1 ]
}
vigil_wait_for -t "$EDGE_WAIT" -m "brokered connection" held_connected ||
  fail "the held connection did not start"
out=$(VIGIL_TOKEN=$OPER vctl_json access revoke "$S1")
[ "$(printf '%s' "$out" | jget 'd["state"]')" = revoked ] || fail "revoke: $out"
[ "$(psql_q "SELECT count(*) FROM pg_roles WHERE rolname = '$U1'")" = 0 ] ||
  fail "role $U1 still exists after revoke"
held_gone() { ! kill -0 "$held" 2>/dev/null; }
vigil_wait_for -t "$EDGE_WAIT" -m "the held connection to end" held_gone ||
  fail "the open connection survived the revoke"
rc=0
wait "$held" || rc=$?
[ "$rc" != 0 ] || fail "the held query finished normally"
rc=0
PGPASSWORD=$P1 psql "$H1" -tA -c 'SELECT 1' >"$W/after.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "login still works after revoke"
acall "$AUDITOR" GET '/audit?type=pam.session.revoked'
ev=$BODY
case $ev in *"access_session:$S1"*) ;; *) fail "no pam.session.revoked: $ev" ;; esac
acall "$OPER" POST "/access/sessions/$S1/revoke"
body=$BODY
[ "$API_STATUS" = 409 ] || fail "second revoke: $API_STATUS $body"

# --- expiry -----------------------------------------------------------------
step "a 2 s session expires: role dropped, pam.session.expired audited"
VIGIL_TOKEN=$OPER vctl_json access open --target pg-main --role writer \
  --reason "short check" --ttl 2 >"$W/s2.json" 2>/dev/null
S2=$(jget 'd["id"]' <"$W/s2.json")
U2=$(jget 'd["credential"]["username"]' <"$W/s2.json")
[ "$(psql_q "SELECT count(*) FROM pg_roles WHERE rolname = '$U2'")" = 1 ] ||
  fail "no role for the short session"
# The expiry worker drops the role with no API call to prompt it.
role_gone() { [ "$(psql_q "SELECT count(*) FROM pg_roles WHERE rolname = '$U2'")" = 0 ]; }
vigil_wait_for -t "$EDGE_WAIT" -m "role $U2 dropped by the expiry worker" role_gone ||
  fail "the expiry worker did not drop the role"
[ "$(VIGIL_TOKEN=$OPER vctl_json access get "$S2" | jget 'd["state"]')" = expired ] ||
  fail "the session is not marked expired"
[ "$(psql_q "SELECT count(*) FROM pg_roles WHERE rolname = '$U2'")" = 0 ] ||
  fail "role $U2 still exists after expiry"
acall "$AUDITOR" GET '/audit?type=pam.session.expired'
ev=$BODY
case $ev in *"access_session:$S2"*) ;; *) fail "no pam.session.expired: $ev" ;; esac
VIGIL_TOKEN=$OPER vctl access list --state expired | grep -q "$S2" ||
  fail "access list --state expired does not show $S2"

# --- refusals ---------------------------------------------------------------
step "refusals: role, target type, ttl, reason, auditor, bad JSON"
open_as() { acall "$1" POST /access/sessions "$2"; }
open_as "$OPER" '{"target_type":"postgres","target_id":"pg-main","role":"superuser","reason":"r"}'
body=$BODY
[ "$API_STATUS" = 422 ] || fail "unknown role: $API_STATUS $body"
case $body in *'\"role\"'*superuser*readonly*) ;; *) fail "422 does not name role: $body" ;; esac
open_as "$OPER" '{"target_type":"ssh","target_id":"pg-main","role":"readonly","reason":"r"}'
body=$BODY
[ "$API_STATUS" = 422 ] || fail "ssh target: $API_STATUS $body"
case $body in *target_type*) ;; *) fail "422 does not name target_type: $body" ;; esac
open_as "$OPER" '{"target_type":"postgres","target_id":"pg-main","role":"readonly","reason":"r","ttl_seconds":3601}'
body=$BODY
[ "$API_STATUS" = 422 ] || fail "ttl 3601: $API_STATUS $body"
case $body in *ttl_seconds*) ;; *) fail "422 does not name ttl_seconds: $body" ;; esac
open_as "$OPER" '{"target_type":"postgres","target_id":"pg-main","role":"readonly","reason":"r","ttl_seconds":1}'
body=$BODY
[ "$API_STATUS" = 422 ] || fail "ttl 1 below --access-min-ttl: $API_STATUS $body"
open_as "$OPER" '{"target_type":"postgres","target_id":"pg-main","role":"readonly"}'
body=$BODY
[ "$API_STATUS" = 422 ] || fail "no reason: $API_STATUS $body"
case $body in *reason*) ;; *) fail "422 does not name reason: $body" ;; esac
open_as "$OPER" '{"target_type":"postgres","target_id":"nope","role":"readonly","reason":"r"}'
body=$BODY
[ "$API_STATUS" = 422 ] || fail "unknown target: $API_STATUS $body"
open_as "$AUDITOR" '{"target_type":"postgres","target_id":"pg-main","role":"readonly","reason":"r"}'
body=$BODY
[ "$API_STATUS" = 403 ] || fail "auditor opened a session: $API_STATUS $body"
open_as "$OPER" '{"target_type":'
body=$BODY
[ "$API_STATUS" = 400 ] || fail "bad JSON: $API_STATUS $body"
[ "$(psql_q "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'vigil\_s\_%' AND rolname <> '$(printf '%s' "$a" | jget 'd["credential"]["username"]')'")" = 0 ] ||
  fail "a refused request left a role behind"

step "audit chain intact"
"$STACK_CONTROL_BIN" --database-url "$VIGIL_PG_URL" audit-verify >"$W/verify.out" 2>&1 ||
  fail "audit-verify: $(cat "$W/verify.out")"

edge_done ctl_access
