#!/usr/bin/env bash
# ctl_migrate.sh: `vigil-control migrate`, the schema's database-enforced
# rules and the audit hash chain, against a real Postgres 15.
#
# Checked with clients we did not write wherever possible: psql looks at
# the schema and tries to break the rules; python3's hashlib recomputes the
# audit hashes from the documented canonical form (docs/operations.md).
# The C side (ctl_db, ctl_audit) is driven through vigil-control's hidden
# `selftest` commands: it links libpq, so it cannot be a cmocka unit test
# (those link BoringSSL; DESIGN.md section 1).
set -euo pipefail

src=${VIGIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${VIGIL_BUILD_DIR:-$src/build}
ctl=$build/control/vigil-control
# shellcheck source=../lib/services.sh
source "$src/tests/lib/services.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-ctl-migrate.XXXXXX")
cleanup() {
  local rc=$?
  vigil_remove_state "$work" || rc=1
  exit "$rc"
}
trap cleanup EXIT

step() { printf '== %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}
sql() { psql "$VIGIL_PG_URL" -X -q -v ON_ERROR_STOP=1 -tA "$@"; }
# expect_sql_error SQL PATTERN: psql must fail and print PATTERN.
expect_sql_error() {
  local out
  if out=$(sql -c "$1" 2>&1); then
    fail "succeeded but should not have: $1"
  fi
  grep -qE -- "$2" <<<"$out" || fail "error for [$1] did not match /$2/: $out"
}
# run_ctl EXPECTED_RC ARGS...: run vigil-control; output in $out.  In the
# sanitizer build a report must fail the test even where exit 1 is expected.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86
run_ctl() {
  local want=$1 rc=0
  shift
  out=$("$ctl" "$@" 2>&1) || rc=$?
  if grep -qE 'Sanitizer|runtime error:' <<<"$out"; then
    fail "vigil-control $*: sanitizer report: $out"
  fi
  [ "$rc" -eq "$want" ] || fail "vigil-control $* exited $rc, expected $want: $out"
}

[ -x "$ctl" ] || fail "$ctl not built"
migrations=$src/migrations
nfiles=$(find "$migrations" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]_*.sql' | wc -l)
[ "$nfiles" -ge 1 ] || fail "no migrations in $migrations"

step "vigil-control does not link BoringSSL (DESIGN.md section 1)"
libs=$(ldd "$ctl")
grep -q 'libpq' <<<"$libs" || fail "vigil-control does not link libpq: $libs"
if grep -q '/android/' <<<"$libs"; then
  fail "vigil-control links BoringSSL: $libs"
fi

step "usage and configuration errors"
run_ctl 0 --help
grep -q 'migrate' <<<"$out" || fail "--help does not mention migrate"
run_ctl 0 --version
unset VIGIL_CONTROL_DATABASE_URL
run_ctl 2 migrate
grep -q 'VIGIL_CONTROL_DATABASE_URL' <<<"$out" || fail "no hint at the URL: $out"
run_ctl 2 frobnicate --database-url=postgresql://x@127.0.0.1:1/x
run_ctl 2 selftest db --database-url=postgresql://x@127.0.0.1:1/x
grep -q 'VIGIL_CONTROL_SELFTEST=1' <<<"$out" || fail "selftest ran without opt-in: $out"

step "an unreachable database is exit 3 with a clear message"
run_ctl 3 migrate --database-url="postgresql://vigil@127.0.0.1:$(vigil_free_port)/vigil"
grep -q 'database unavailable' <<<"$out" || fail "message was: $out"

step "start Postgres"
vigil_pg_start "$work"
export VIGIL_CONTROL_DATABASE_URL=$VIGIL_PG_URL

step "first migrate applies every migration"
run_ctl 0 migrate
grep -q 'applied 0001_init' <<<"$out" || fail "output: $out"
[ "$(sql -c 'SELECT count(*) FROM schema_migrations')" = "$nfiles" ] ||
  fail "schema_migrations does not list $nfiles migrations"
for t in tenants principals api_tokens idempotency_keys issuers certificates \
  revocations revocation_queue ocsp_responder_certs crl_numbers crl_cache \
  crl_generation_events audit_events audit_head schema_migrations; do
  [ "$(sql -c "SELECT to_regclass('public.$t') IS NOT NULL")" = t ] || fail "table $t missing"
done
# The recorded checksum is the file's SHA-256 (computed here by sha256sum).
want=$(sha256sum "$migrations/0001_init.sql" | cut -d' ' -f1)
got=$(sql -c "SELECT encode(checksum, 'hex') FROM schema_migrations WHERE version = 1")
[ "$want" = "$got" ] || fail "checksum $got, file $want"
applied_at=$(sql -c 'SELECT applied_at FROM schema_migrations WHERE version = 1')

step "second migrate is a no-op"
run_ctl 0 migrate
grep -q 'up to date' <<<"$out" || fail "output: $out"
grep -q 'applied 0' <<<"$out" && fail "applied again: $out"
[ "$(sql -c 'SELECT count(*) FROM schema_migrations')" = "$nfiles" ] || fail "rows changed"
[ "$(sql -c 'SELECT applied_at FROM schema_migrations WHERE version = 1')" = "$applied_at" ] ||
  fail "0001 re-applied"
run_ctl 0 migrate status
grep -q '0 pending' <<<"$out" || fail "status: $out"

step "concurrent migrates on a fresh database take turns"
sql -c 'CREATE DATABASE vigil_race'
race_url=${VIGIL_PG_URL%/vigil}/vigil_race
pids=()
for i in 1 2 3; do
  "$ctl" migrate --database-url="$race_url" >"$work/race.$i" 2>&1 &
  pids+=($!)
done
for i in 0 1 2; do
  wait "${pids[$i]}" || fail "concurrent migrate $((i + 1)) failed: $(cat "$work/race.$((i + 1))")"
done
applied=$(cat "$work"/race.? | grep -c '^applied ' || true)
[ "$applied" = "$nfiles" ] || fail "$applied applications for $nfiles migrations: $(cat "$work"/race.?)"
[ "$(psql "$race_url" -XtAq -c 'SELECT count(*) FROM schema_migrations')" = "$nfiles" ] ||
  fail "vigil_race has the wrong number of migrations"

step "a connection lost after taking the lock stops the run (no migration without the lock)"
# The migration lock belongs to the session. gdb stops migrate just before
# its first migration's BEGIN (the lock is held by then) and psql kills
# that session; ctl_db then reconnects for BEGIN, and the new session
# does not hold the lock: nothing may be applied. gdb is the only way to
# land the kill deterministically between two statements.
if command -v gdb >/dev/null 2>&1; then
  sql -c 'CREATE DATABASE vigil_droplock'
  drop_url=${VIGIL_PG_URL%/vigil}/vigil_droplock
  ddir=$work/droplock-migrations
  mkdir "$ddir"
  echo 'CREATE TABLE drop_a (x int);' >"$ddir/0001_drop_a.sql"
  echo 'CREATE TABLE drop_b (x int);' >"$ddir/0002_drop_b.sql"
  kill_sql="SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity WHERE datname = 'vigil_droplock'"
  # LeakSanitizer cannot run under ptrace: leaks are checked by the other runs.
  out=$(ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 gdb -q -batch -iex 'set debuginfod enabled off' -ex 'set breakpoint pending on' \
    -ex 'break ctl_db_begin' -ex run \
    -ex "shell psql '$VIGIL_PG_URL' -XtAq -c \"$kill_sql\" >'$work/killed.txt' 2>&1" \
    -ex delete -ex continue \
    --args "$ctl" migrate --database-url="$drop_url" --migrations-dir="$ddir" 2>&1) || true
  [ "$(cat "$work/killed.txt")" = 1 ] || fail "did not kill migrate's session: $(cat "$work/killed.txt"): $out"
  grep -qE 'exited with code 0?3\]' <<<"$out" || fail "migrate did not exit 3 (unavailable): $out"
  grep -q 'lost after taking the migration lock' <<<"$out" || fail "output: $out"
  [ "$(psql "$drop_url" -XtAq -c 'SELECT count(*) FROM schema_migrations')" = 0 ] ||
    fail "migrations were applied without the lock"
  [ "$(psql "$drop_url" -XtAq -c "SELECT to_regclass('drop_a') IS NULL")" = t ] ||
    fail "drop_a exists: applied without the lock"
  # The next run, undisturbed, applies both.
  run_ctl 0 migrate --database-url="$drop_url" --migrations-dir="$ddir"
  [ "$(psql "$drop_url" -XtAq -c 'SELECT count(*) FROM schema_migrations')" = 2 ] ||
    fail "the rerun did not apply both migrations"
else
  echo "   (no gdb: the lost-lock check is skipped)"
fi

step "a non-UTF8 database is refused and nothing is recorded"
sql -c "CREATE DATABASE vigil_latin1 TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'"
latin_url=${VIGIL_PG_URL%/vigil}/vigil_latin1
run_ctl 1 migrate --database-url="$latin_url"
grep -q 'UTF8' <<<"$out" || fail "output: $out"
[ "$(psql "$latin_url" -XtAq -c 'SELECT count(*) FROM schema_migrations')" = 0 ] ||
  fail "a failed migration was recorded"
[ "$(psql "$latin_url" -XtAq -c "SELECT to_regclass('tenants') IS NULL")" = t ] ||
  fail "a failed migration left tables behind"

step "a migration with a syntax error rolls back completely, unrecorded"
mdir=$work/migrations
mkdir "$mdir"
cp "$migrations"/*.sql "$mdir/"
cat >"$mdir/9000_test_broken.sql" <<'EOF'
-- A migration that fails half-way: the table must not survive.
CREATE TABLE broken_probe (x integer);
INSERT INTO broken_probe VALUES (1);

SELEC 'this line is wrong';
EOF
run_ctl 1 migrate --migrations-dir="$mdir"
grep -q '9000_test_broken.sql:5:' <<<"$out" || fail "error does not point at line 5: $out"
grep -q 'rolled back' <<<"$out" || fail "output: $out"
[ "$(sql -c "SELECT to_regclass('broken_probe') IS NULL")" = t ] || fail "broken_probe survived"
[ "$(sql -c 'SELECT count(*) FROM schema_migrations WHERE version = 9000')" = 0 ] ||
  fail "the failed migration was recorded"
run_ctl 0 migrate --migrations-dir="$mdir" status
grep -qE '9000_test_broken +pending' <<<"$out" || fail "status: $out"

step "the fixed migration applies, once"
sed -i 's/^SELEC /SELECT /' "$mdir/9000_test_broken.sql"
run_ctl 0 migrate --migrations-dir="$mdir"
grep -q 'applied 9000_test_broken' <<<"$out" || fail "output: $out"
[ "$(sql -c 'SELECT x FROM broken_probe')" = 1 ] || fail "broken_probe content"
run_ctl 0 migrate --migrations-dir="$mdir"
grep -q 'up to date' <<<"$out" || fail "output: $out"

step "files and database must agree"
echo '-- edited after release' >>"$mdir/9000_test_broken.sql"
run_ctl 1 migrate --migrations-dir="$mdir"
grep -q '9000_test_broken.sql changed after it was applied' <<<"$out" || fail "output: $out"
rm "$mdir/9000_test_broken.sql"
run_ctl 1 migrate --migrations-dir="$mdir"
grep -q 'has migration 9000 (9000_test_broken) which is not in' <<<"$out" || fail "output: $out"
echo 'SELECT 1;' >"$mdir/9000_test_broken.sql.orig"
echo 'SELECT 1;' >"$mdir/0005-bad-name.sql"
run_ctl 2 migrate --migrations-dir="$mdir"
grep -q 'not a migration name' <<<"$out" || fail "output: $out"
run_ctl 2 migrate --migrations-dir="$work/no-such-dir"

step "a migration may not end the transaction itself"
rdir=$work/race-migrations
mkdir "$rdir"
cp "$migrations"/*.sql "$rdir/"
printf 'CREATE TABLE early_commit (x int);\nCOMMIT;\n' >"$rdir/9001_commits.sql"
run_ctl 1 migrate --migrations-dir="$rdir" --database-url="$race_url"
grep -q 'ended the transaction itself' <<<"$out" || fail "output: $out"
[ "$(psql "$race_url" -XtAq -c 'SELECT count(*) FROM schema_migrations WHERE version = 9001')" = 0 ] ||
  fail "9001 recorded"

step "audit_events is append-only, enforced by the database"
sql -c "INSERT INTO audit_events (type, subject, id, hash) VALUES ('test.psql', 'by psql', 424242, '\\x00')"
# The trigger assigned id 1 and the real hash, whatever the client sent.
[ "$(sql -c "SELECT id, octet_length(hash) FROM audit_events WHERE type = 'test.psql'")" = "1|32" ] ||
  fail "the insert trigger did not assign id and hash"
expect_sql_error "UPDATE audit_events SET subject = 'x'" 'audit_events: UPDATE refused'
expect_sql_error "UPDATE audit_events SET subject = 'x'" 'append-only'
expect_sql_error "DELETE FROM audit_events" 'audit_events: DELETE refused'
expect_sql_error "TRUNCATE audit_events" 'audit_events: TRUNCATE refused'
expect_sql_error "UPDATE audit_head SET last_id = 0" 'audit_head'
expect_sql_error "DELETE FROM audit_head" 'audit_head: DELETE refused'
[ "$(sql -c 'SELECT count(*) FROM audit_events')" = 1 ] || fail "audit rows changed"

step "ctl_db: error mapping, parameters, transactions, reconnect, pool"
VIGIL_CONTROL_SELFTEST=1 run_ctl 0 selftest db
grep -q ', 0 failed' <<<"$out" || fail "selftest db: $out"
printf '%s\n' "$out" | grep -E '^(ok|not ok)' | sed 's/^/   /'

step "ctl_audit: concurrent appenders, then the chain verifies"
VIGIL_CONTROL_SELFTEST=1 run_ctl 0 selftest audit 30 4
printf '%s\n' "$out" | grep -E '^appended' | sed 's/^/   /'
run_ctl 0 audit-verify
grep -q 'audit chain intact' <<<"$out" || fail "output: $out"
total=$(sql -c 'SELECT count(*) FROM audit_events')
[ "$total" -gt 100 ] || fail "only $total events"
[ "$(sql -c 'SELECT max(id) FROM audit_events')" = "$total" ] || fail "ids have gaps"
[ "$(sql -c 'SELECT last_id FROM audit_head')" = "$total" ] || fail "head is not at $total"
grep -q "$total events" <<<"$out" || fail "verify counted differently: $out"

step "python3 hashlib recomputes every hash from the documented form"
sql -F $'\t' -c "SELECT id, (extract(epoch FROM at) * 1000000)::bigint,
    to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), type,
    coalesce(principal::text, ''), coalesce(tenant::text, ''),
    encode(convert_to(subject, 'UTF8'), 'hex'),
    encode(convert_to(details::text, 'UTF8'), 'hex'),
    encode(prev_hash, 'hex'), encode(hash, 'hex')
  FROM audit_events ORDER BY id" >"$work/audit.tsv"
python3 - "$work/audit.tsv" <<'EOF'
import datetime, hashlib, sys

def ns(b):
    return str(len(b)).encode() + b":" + b + b","

epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
prev = bytes(32)
n = 0
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        (i, us, at, typ, principal, tenant, subject, details, prev_hash,
         stored) = line.rstrip("\n").split("\t")
        # The microsecond count must be the timestamp's (checked here with
        # Python's own calendar arithmetic, not Postgres's).
        t = datetime.datetime.fromisoformat(at).replace(tzinfo=datetime.timezone.utc)
        assert (t - epoch) // datetime.timedelta(microseconds=1) == int(us), (i, at, us)
        assert bytes.fromhex(prev_hash) == prev, f"event {i}: prev_hash"
        canon = b"".join([ns(b"vigil-audit-v1"), ns(i.encode()), ns(us.encode()),
                          ns(typ.encode()), ns(principal.encode()),
                          ns(tenant.encode()), ns(bytes.fromhex(subject)),
                          ns(bytes.fromhex(details))])
        h = hashlib.sha256(prev + canon).digest()
        assert h.hex() == stored, f"event {i}: hash {stored} != {h.hex()}"
        prev = h
        n += 1
assert n > 100, n
print(f"   python3 verified {n} hashes")
EOF

step "a runtime role that does not own the tables can append, never rewrite"
# The owner/runtime split and the grants of docs/operations.md ("Roles");
# keep the GRANTs below in step with it.  Roles are taken with the libpq
# option role=..., which also shows the URL's options reach the server.
sql -c 'CREATE ROLE vigil_owner NOLOGIN' -c 'CREATE ROLE vigil_app NOLOGIN' \
  -c 'CREATE DATABASE vigil_roles OWNER vigil_owner'
owner_url="${VIGIL_PG_URL%/vigil}/vigil_roles?options=-c%20role%3Dvigil_owner"
app_url="${VIGIL_PG_URL%/vigil}/vigil_roles?options=-c%20role%3Dvigil_app"
app_sql() { psql "$app_url" -X -q -v ON_ERROR_STOP=1 -tA "$@"; }
run_ctl 0 migrate --database-url="$owner_url"
psql "$owner_url" -X -q -v ON_ERROR_STOP=1 <<'EOF'
GRANT USAGE ON SCHEMA public TO vigil_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO vigil_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO vigil_app;
REVOKE UPDATE, DELETE ON audit_events FROM vigil_app;
REVOKE INSERT, UPDATE, DELETE ON audit_head, schema_migrations FROM vigil_app;
EOF
[ "$(app_sql -c 'SELECT current_user')" = vigil_app ] || fail "role option not applied"
VIGIL_CONTROL_SELFTEST=1 run_ctl 0 selftest audit 3 2 --database-url="$app_url"
run_ctl 0 migrate --database-url="$app_url"
grep -q 'up to date' <<<"$out" || fail "up-to-date migrate as the runtime role: $out"
for bad in "UPDATE audit_events SET subject = 'x'" "DELETE FROM audit_events" \
  "TRUNCATE audit_events" "UPDATE audit_head SET last_id = 0"; do
  if o=$(app_sql -c "$bad" 2>&1); then fail "runtime role could: $bad"; fi
  grep -q 'permission denied' <<<"$o" || fail "$bad: $o"
done
if o=$(app_sql -c 'ALTER TABLE audit_events DISABLE TRIGGER USER' 2>&1); then
  fail "runtime role disabled the audit triggers"
fi
grep -q 'must be owner' <<<"$o" || fail "ALTER TABLE: $o"
# A temporary table cannot stand in for audit_head in the chain trigger.
before=$(app_sql -c 'SELECT last_id FROM audit_head')
app_sql <<'EOF'
CREATE TEMP TABLE audit_head (singleton boolean, last_id bigint, last_hash bytea);
INSERT INTO audit_head VALUES (true, 999, '\x00');
INSERT INTO audit_events (type) VALUES ('test.shadowed_head');
EOF
[ "$(app_sql -c "SELECT id FROM audit_events WHERE type = 'test.shadowed_head'")" = $((before + 1)) ] ||
  fail "the chain trigger used a temporary audit_head"
run_ctl 0 audit-verify --database-url="$app_url"
grep -q 'audit chain intact' <<<"$out" || fail "output: $out"

step "tampering (with the triggers disabled, as a superuser can) is detected"
sql -c 'ALTER TABLE audit_events DISABLE TRIGGER USER'
victim=$((total / 2))
orig=$(sql -c "SELECT details::text FROM audit_events WHERE id = $victim")
sql -c "UPDATE audit_events SET details = '{\"tampered\": true}' WHERE id = $victim"
run_ctl 1 audit-verify
grep -q "BROKEN at event $victim:.*modified" <<<"$out" || fail "output: $out"
# Putting the content back makes it verify again: the check is exact.
sql -v orig="$orig" -v victim="$victim" <<'EOF'
UPDATE audit_events SET details = :'orig'::jsonb WHERE id = :victim;
EOF
run_ctl 0 audit-verify
# An attacker who also recomputes the row's hash breaks the next link.
sql -c "UPDATE audit_events SET details = '{\"tampered\": true}' WHERE id = $victim"
sql -c "UPDATE audit_events SET hash = sha256(prev_hash || audit_event_canonical(id, at, type,
          principal, tenant, subject, details)) WHERE id = $victim"
run_ctl 1 audit-verify
grep -q "BROKEN at event $((victim + 1)):.*prev_hash" <<<"$out" || fail "output: $out"
# Cutting events off the end is caught by the head.
sql -c "DELETE FROM audit_events WHERE id > $((victim - 5))"
run_ctl 1 audit-verify
grep -q "BROKEN at event $((victim - 4)):.*audit_head" <<<"$out" || fail "output: $out"
# Removing one from the middle is a gap.
sql -c "DELETE FROM audit_events WHERE id = 10"
run_ctl 1 audit-verify
grep -q "BROKEN at event 10: event 10 is missing" <<<"$out" || fail "output: $out"
sql -c 'ALTER TABLE audit_events ENABLE TRIGGER USER'

step "revocation goes through the revocations table and is enqueued"
sql <<'EOF'
INSERT INTO tenants (name) VALUES ('demo');
INSERT INTO issuers (tenant, issuer_id, subject_dn, cert_der, key_sha1,
    key_sha256, name_sha1, name_sha256, key_ref, not_before, not_after)
  SELECT id, 'demo-ca', 'CN=Demo CA', '\x3000',
         substr(sha256('k'::bytea), 1, 20), sha256('k'::bytea),
         substr(sha256('n'::bytea), 1, 20), sha256('n'::bytea), 'demo-ca',
         now(), now() + interval '10 years'
    FROM tenants WHERE name = 'demo';
INSERT INTO certificates (tenant, issuer, serial, name, subject_dn,
    spki_sha256, cert_der, not_before, not_after)
  SELECT t.id, i.id, '\x0123456789abcdef', 'leaf', 'CN=localhost',
         sha256('spki'::bytea), '\x3000', now(), now() + interval '90 days'
    FROM tenants t JOIN issuers i ON i.tenant = t.id WHERE t.name = 'demo';
EOF
expect_sql_error "INSERT INTO tenants (name) VALUES ('Demo')" 'tenants_name_format'
expect_sql_error "INSERT INTO certificates (tenant, issuer, serial, name, subject_dn,
    spki_sha256, cert_der, not_before, not_after)
  SELECT tenant, issuer, '\\x8001', 'neg', 'CN=x', spki_sha256, cert_der,
         not_before, not_after FROM certificates" 'certificates_serial_der'
expect_sql_error "UPDATE certificates SET status = 'revoked', revoked_at = now(),
    revocation_reason = 'keyCompromise'" 'revoke by inserting into revocations'
sql -c "INSERT INTO revocations (certificate, reason) SELECT id, 'superseded' FROM certificates"
[ "$(sql -c "SELECT status, revocation_reason, revoked_at IS NOT NULL FROM certificates")" = "revoked|superseded|t" ] ||
  fail "certificate not revoked"
[ "$(sql -c "SELECT count(*), min(status) FROM revocation_queue")" = "1|pending" ] ||
  fail "revocation not enqueued"
expect_sql_error "UPDATE revocations SET reason = 'unspecified'" 'only change to keyCompromise'
sql -c "UPDATE revocations SET reason = 'keyCompromise'"
[ "$(sql -c "SELECT revocation_reason FROM certificates")" = keyCompromise ] || fail "reason not raised"
[ "$(sql -c "SELECT count(*) FROM revocation_queue")" = 2 ] || fail "reason change not enqueued"
expect_sql_error "DELETE FROM revocations" 'revocations: DELETE refused'
expect_sql_error "INSERT INTO revocations (certificate, reason) SELECT id, 'superseded' FROM certificates" \
  'revocations_pkey'
expect_sql_error "INSERT INTO revocations (certificate, reason) SELECT id, 'certificateHold' FROM certificates" \
  'revocations_reason_valid'
expect_sql_error "DELETE FROM certificates" 'certificates: DELETE refused'

step "CRL numbers only increase, across upserts and cache deletes"
upsert() {
  sql -c "INSERT INTO crl_cache (issuer, crl_number, this_update, next_update, der, revoked_count)
            SELECT id, $1, now(), now() + interval '7 days', '\\x30', 1 FROM issuers
            ON CONFLICT (issuer, shard) DO UPDATE SET crl_number = EXCLUDED.crl_number,
              der = EXCLUDED.der, this_update = EXCLUDED.this_update,
              next_update = EXCLUDED.next_update"
}
upsert 5
upsert 6
if upsert 6 2>/dev/null; then fail "CRL number 6 reused"; fi
sql -c 'DELETE FROM crl_cache'
if upsert 3 2>/dev/null; then fail "CRL number went back after a cache delete"; fi
upsert 7
[ "$(sql -c 'SELECT last_number FROM crl_numbers')" = 7 ] || fail "high-water mark"
expect_sql_error "DELETE FROM crl_numbers" 'crl_numbers: DELETE refused'
expect_sql_error "UPDATE crl_numbers SET last_number = 1" 'only increase'
expect_sql_error "UPDATE crl_cache SET next_update = this_update + interval '11 days', crl_number = 8" \
  'crl_cache_validity_window'

step "roles are limited to the five of DESIGN.md section 5"
expect_sql_error "INSERT INTO principals (name, roles) VALUES ('p', '{admin,root}')" 'principals_roles_valid'
expect_sql_error "INSERT INTO principals (name, roles) VALUES ('p', '{}')" 'principals_roles_valid'
sql -c "INSERT INTO principals (name, roles) VALUES ('p', '{issuer,approver}')"

echo "PASS: ctl_migrate"
