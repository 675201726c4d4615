#!/usr/bin/env bash
# ctl_backup.sh: `vigil-control backup` / `restore` (issue 5, "Backup and
# restore"; docs/runbooks/disaster-recovery.md) against the real stack.
#
# Issue and revoke certificates, back up; the seal is checked with openssl
# (a client we did not write) from the signer's audit.pub; a flipped byte
# in the dump or the manifest, or a seal checked against another key, is
# refused and changes nothing; a restore into a fresh database brings back
# the certificates, revocations and the whole audit chain with empty
# caches; a forced restore over it after Redis was lost rebuilds Redis, and
# the edge answers revoked again.
set -euo pipefail
source "$(dirname "$0")/stack_common.bash"

stack_up ctl-backup
W=$STACK_DIR
CTL=$STACK_CONTROL_BIN
AUDIT_PUB=$W/keys/audit.pub
[ -s "$AUDIT_PUB" ] || fail "the signer wrote no audit.pub"

step "issue three certificates, revoke one (published)"
for n in alpha beta gamma; do
  vctl certificates create --tenant acme --name "$n" --dns "$n.acme.test" \
    --key-out "$W/$n.key" --cert-out "$W/$n.pem" >/dev/null ||
    fail "issue $n"
done
beta_id=$(vctl_json certificates list --tenant acme |
  jget '[c["id"] for c in d.get("certificates", d.get("items", [])) if c["name"]=="beta"][0]')
vctl certificates revoke "$beta_id" --reason keyCompromise --wait \
  >"$W/revoke.out" || fail "revoke"
grep -q "revocation_queue_status: published" "$W/revoke.out" ||
  fail "revoke not published: $(cat "$W/revoke.out")"

step "backup --dir: a sealed backup, 0700/0600, with a confirmation"
B=$W/backup1
"$CTL" --database-url "$VIGIL_PG_URL" --signer-socket "$STACK_SOCK" \
  backup --dir "$B" >"$W/backup.out" 2>&1 ||
  fail "backup failed: $(cat "$W/backup.out")"
cat "$W/backup.out"
[ "$(stat -c %a "$B")" = 700 ] || fail "backup dir mode $(stat -c %a "$B")"
for f in database.dump manifest.json manifest.seal.json; do
  [ -f "$B/$f" ] || fail "missing $f"
  [ "$(stat -c %a "$B/$f")" = 600 ] || fail "$f mode $(stat -c %a "$B/$f")"
done
fp=$(openssl pkey -pubin -in "$AUDIT_PUB" -outform DER | sha256sum | cut -d' ' -f1)
grep -q "sealed by audit key sha256:$fp" "$W/backup.out" ||
  fail "confirmation does not name the audit key sha256:$fp"
dump_sha=$(sha256sum "$B/database.dump" | cut -d' ' -f1)
grep -q "$dump_sha" "$W/backup.out" || fail "confirmation lacks the dump digest"
grep -q "audit chain   intact" "$W/backup.out" || fail "chain not reported intact"

step "the manifest: digests, audit head and counts match the database"
head_db=$(psql_q "SELECT last_id || ' ' || encode(last_hash, 'hex') FROM audit_head")
certs_db=$(psql_q "SELECT count(*) FROM certificates")
"$EDGE_PY" - "$B" "$head_db" "$certs_db" <<'EOF' || fail "manifest check"
import hashlib, json, os, sys
b, head, certs = sys.argv[1], sys.argv[2].split(), int(sys.argv[3])
m = json.load(open(os.path.join(b, "manifest.json")))
assert m["format"] == "vigil-backup" and m["format_version"] == 1, m
assert m["schema_version"] >= 2, m
assert [m["audit"]["head_id"], m["audit"]["head_hash"]] == [int(head[0]), head[1]], (m["audit"], head)
assert m["audit"]["chain_intact"] is True
assert m["row_counts"]["certificates"] == certs, m["row_counts"]
assert m["row_counts"]["revocations"] == 1, m["row_counts"]
for f in m["files"]:
    data = open(os.path.join(b, f["name"]), "rb").read()
    assert len(data) == f["size"], f
    assert hashlib.sha256(data).hexdigest() == f["sha256"], f
print("manifest ok:", [f["name"] for f in m["files"]])
EOF
toc=$(pg_restore --list "$B/database.dump") || fail "pg_restore --list"
expect_in "$toc" "TABLE DATA public audit_events" "the dump holds the audit log"

step "the seal verifies with openssl pkeyutl (Ed25519) and audit.pub"
"$EDGE_PY" - "$B" "$W/seal.msg" "$W/seal.sig" <<'EOF' || fail "seal message"
import base64, hashlib, json, os, struct, sys
b, msg_out, sig_out = sys.argv[1:4]
seal = json.load(open(os.path.join(b, "manifest.seal.json")))
digest = hashlib.sha256(open(os.path.join(b, "manifest.json"), "rb").read()).digest()
assert seal["digest"] == digest.hex(), "seal digest is not SHA-256(manifest.json)"
assert seal["context"] == "vigil-backup-manifest-v1", seal["context"]
assert seal["key_type"] == "ed25519", seal["key_type"]
ctx = seal["context"].encode()
msg = (b"vigil-seal-v1\0" + struct.pack(">Q", seal["sealed_at"]) +
       struct.pack(">H", len(ctx)) + ctx + digest)
open(msg_out, "wb").write(msg)
open(sig_out, "wb").write(base64.b64decode(seal["signature"]))
EOF
openssl pkeyutl -verify -pubin -inkey "$AUDIT_PUB" -rawin -in "$W/seal.msg" \
  -sigfile "$W/seal.sig" | grep -q "Signature Verified Successfully" ||
  fail "openssl does not verify the seal"
# A flipped message byte must not verify (the check can fail).
printf '\x01' | dd of="$W/seal.msg" bs=1 seek=30 conv=notrunc status=none
if openssl pkeyutl -verify -pubin -inkey "$AUDIT_PUB" -rawin \
  -in "$W/seal.msg" -sigfile "$W/seal.sig" >/dev/null 2>&1; then
  fail "openssl verified a changed seal message"
fi

step "an earlier backup is never overwritten; --full-backup-dir works too"
rc=0
"$CTL" --database-url "$VIGIL_PG_URL" --signer-socket "$STACK_SOCK" \
  backup --dir "$B" >"$W/again.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "a second backup into $B: exit $rc"
grep -q "never overwrites" "$W/again.out" || fail "$(cat "$W/again.out")"
[ "$(sha256sum "$B/database.dump" | cut -d' ' -f1)" = "$dump_sha" ] ||
  fail "the earlier backup changed"
"$CTL" --database-url "$VIGIL_PG_URL" --signer-socket "$STACK_SOCK" \
  --full-backup-dir="$W/backup2" >"$W/backup2.out" 2>&1 ||
  fail "--full-backup-dir: $(cat "$W/backup2.out")"
grep -q "sealed by audit key sha256:$fp" "$W/backup2.out" ||
  fail "--full-backup-dir: $(cat "$W/backup2.out")"

# A fresh, empty database on the same server for the restores.
psql_q "CREATE DATABASE restored" >/dev/null
R_URL=${VIGIL_PG_URL%/*}/restored
rq() { psql "$R_URL" -v ON_ERROR_STOP=1 -tA -c "$1"; }
no_tables() { [ "$(rq "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" = 0 ]; }
audit_live=$(psql_q "SELECT count(*) FROM audit_events")
restore() { # restore DIR KEY [OPTS...] -> exit status in RC, output in $W/r.out
  local dir=$1 key=$2
  shift 2
  RC=0
  "$CTL" --database-url "$R_URL" --signer-socket "$STACK_SOCK" "$@" \
    restore --from "$dir" --audit-key "$key" >"$W/r.out" 2>&1 || RC=$?
}

step "a flipped byte in the dump: refused, nothing changed (even with --force)"
cp -a "$B" "$W/t1"
printf '\x5a' | dd of="$W/t1/database.dump" bs=1 seek=2000 conv=notrunc status=none
cmp -s "$B/database.dump" "$W/t1/database.dump" && fail "byte not flipped"
restore "$W/t1" "$AUDIT_PUB"
[ "$RC" = 1 ] || fail "tampered dump: exit $RC: $(cat "$W/r.out")"
grep -q "REFUSED: SHA-256 of database.dump" "$W/r.out" || fail "$(cat "$W/r.out")"
no_tables || fail "the refused restore created tables"
RC=0
"$CTL" --database-url "$VIGIL_PG_URL" restore --from "$W/t1" \
  --audit-key "$AUDIT_PUB" --force >"$W/r.out" 2>&1 || RC=$?
[ "$RC" = 1 ] || fail "tampered dump with --force on the live DB: exit $RC"
grep -q "REFUSED: SHA-256 of database.dump" "$W/r.out" || fail "$(cat "$W/r.out")"
[ "$(psql_q "SELECT count(*) FROM audit_events")" = "$audit_live" ] ||
  fail "the live database changed"
[ "$(psql_q "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'vigil_replaced_%'")" = 0 ] ||
  fail "the live schema was moved aside"

step "a flipped byte in manifest.json: refused (the seal fails)"
cp -a "$B" "$W/t2"
"$EDGE_PY" - "$W/t2/manifest.json" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
i = b.index(b'"certificates": ') + len(b'"certificates": ')
b[i] = ord("9") if b[i] != ord("9") else ord("8")
open(p, "wb").write(bytes(b))
EOF
restore "$W/t2" "$AUDIT_PUB"
[ "$RC" = 1 ] || fail "tampered manifest: exit $RC: $(cat "$W/r.out")"
grep -q "REFUSED: the seal of manifest.json does not verify" "$W/r.out" ||
  fail "$(cat "$W/r.out")"
no_tables || fail "the refused restore created tables"

step "a seal checked against another key: refused"
openssl genpkey -algorithm ed25519 -out "$W/other.key" 2>/dev/null
openssl pkey -in "$W/other.key" -pubout -out "$W/other.pub"
restore "$B" "$W/other.pub"
[ "$RC" = 1 ] || fail "other key: exit $RC: $(cat "$W/r.out")"
grep -q "REFUSED: the seal of manifest.json does not verify" "$W/r.out" ||
  fail "$(cat "$W/r.out")"
no_tables || fail "the refused restore created tables"
restore "$B" "$W/missing.pub"
[ "$RC" = 1 ] || fail "missing key file: exit $RC"
RC=0
"$CTL" --database-url "$R_URL" restore --from "$B" >"$W/r.out" 2>&1 || RC=$?
[ "$RC" = 2 ] || fail "restore without --audit-key: exit $RC"

step "restore into the live database without --force: refused"
RC=0
"$CTL" --database-url "$VIGIL_PG_URL" restore --from "$B" \
  --audit-key "$AUDIT_PUB" >"$W/r.out" 2>&1 || RC=$?
[ "$RC" = 1 ] || fail "restore over the live DB: exit $RC"
grep -q "already holds Vigil tables" "$W/r.out" || fail "$(cat "$W/r.out")"

step "restore the intact backup into the fresh database"
rq "SELECT 1" >/dev/null
restore "$B" "$AUDIT_PUB"
cat "$W/r.out"
[ "$RC" = 0 ] || fail "restore: exit $RC"
grep -q "restore complete" "$W/r.out" || fail "no completion line"
cmp_q() { # the same query on both databases gives the same rows
  [ "$(psql_q "$1")" = "$(rq "$1")" ] || fail "differs after restore: $1"
}
cmp_q "SELECT id, serial, status FROM certificates ORDER BY id"
cmp_q "SELECT certificate, reason, revoked_at FROM revocations ORDER BY certificate"
head_id=${head_db%% *}
cmp_q "SELECT id, encode(hash, 'hex') FROM audit_events WHERE id <= $head_id ORDER BY id"
[ "$(rq "SELECT type FROM audit_events ORDER BY id DESC LIMIT 1")" = backup.restored ] ||
  fail "the restore is not in the audit chain"
[ "$(rq "SELECT count(*) FROM crl_cache")" = 0 ] || fail "crl_cache not empty"
[ "$(rq "SELECT count(*) FROM ocsp_presign")" = 0 ] || fail "ocsp_presign not empty"
[ "$(rq "SELECT status FROM certificates WHERE id = '$beta_id'")" = revoked ] ||
  fail "beta is not revoked in the restored database"
"$CTL" --database-url "$R_URL" audit-verify >"$W/av.out" ||
  fail "audit-verify on the restored database: $(cat "$W/av.out")"
grep -q "audit chain intact" "$W/av.out" || fail "$(cat "$W/av.out")"

step "Redis lost: --force restore over it with --redis-url rebuilds the mirror"
stack_control_kill9 # its loops would rebuild Redis themselves
rcli FLUSHALL >/dev/null
[ -z "$(rcli --scan --pattern 'v1:status:*')" ] || fail "Redis not empty"
restore "$B" "$AUDIT_PUB" --force --redis-url "redis://127.0.0.1:$EDGE_REDIS_PORT"
cat "$W/r.out"
[ "$RC" = 0 ] || fail "forced restore: exit $RC"
grep -q "moved the existing schema \"public\" aside as \"vigil_replaced_" "$W/r.out" ||
  fail "no schema moved aside"
grep -q "redis resynced" "$W/r.out" || fail "no resync"
[ "$(rq "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'vigil_replaced_%'")" = 1 ] ||
  fail "the replaced schema was not kept"
"$CTL" --database-url "$R_URL" audit-verify >/dev/null || fail "audit-verify after --force"
[ -n "$(rcli GET v1:mirror)" ] || fail "v1:mirror not set"
while IFS='|' read -r serial status; do
  serial=$(printf '%s' "$serial" | sed 's/^0*//')
  key=$(rcli --scan --pattern "v1:status:*:$serial")
  [ -n "$key" ] || fail "no Redis status record for serial $serial"
  [ "$(rcli GET "$key" | cut -d' ' -f1)" = "$status" ] ||
    fail "Redis says $(rcli GET "$key") for $serial, the database $status"
  [ -n "$(rcli --scan --pattern "v1:resp:*:$serial")" ] ||
    fail "no Redis response for serial $serial"
done < <(rq "SELECT encode(serial, 'hex'),
             CASE status WHEN 'revoked' THEN 'revoked' ELSE 'good' END
             FROM certificates")

step "the edge answers from the rebuilt mirror: beta revoked, alpha good"
CA=$STACK_CA
st() { ocsp -issuer "$CA" -cert "$W/$1.pem" -url "$EDGE_URL/ocsp/acme" -CAfile "$CA" -no_nonce; }
is() { st "$1" | grep -q "$1.pem: $2"; }
vigil_wait_for -t "$EDGE_WAIT" -m "beta revoked" is beta revoked ||
  fail "edge: $(st beta)"
vigil_wait_for -t "$EDGE_WAIT" -m "alpha good" is alpha good ||
  fail "edge: $(st alpha)"

step "a broken audit chain is backed up all the same, and said loudly"
# As the superuser (who can disable the guard), rewrite one restored event.
rq "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update;
    UPDATE audit_events SET subject = 'forged' WHERE id = 2;
    ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update" >/dev/null
RC=0
"$CTL" --database-url "$R_URL" --signer-socket "$STACK_SOCK" \
  backup --dir "$W/backup3" >"$W/b3.out" 2>&1 || RC=$?
[ "$RC" = 0 ] || fail "backup of a broken chain: exit $RC: $(cat "$W/b3.out")"
grep -q "audit chain   BROKEN at event 2" "$W/b3.out" || fail "$(cat "$W/b3.out")"
grep -q "WARNING: the audit chain of this database is BROKEN" "$W/b3.out" ||
  fail "not loud: $(cat "$W/b3.out")"
"$EDGE_PY" -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["audit"]["chain_intact"] is False and m["audit"]["broken_at_event"] == 2, m["audit"]' \
  "$W/backup3/manifest.json" || fail "the manifest does not record the break"
psql_q "CREATE DATABASE restored2" >/dev/null
RC=0
"$CTL" --database-url "${VIGIL_PG_URL%/*}/restored2" restore --from "$W/backup3" \
  --audit-key "$AUDIT_PUB" >"$W/r3.out" 2>&1 || RC=$?
[ "$RC" = 1 ] || fail "restore of a broken chain: exit $RC: $(cat "$W/r3.out")"
grep -q "ALREADY BROKEN when this backup was taken" "$W/r3.out" || fail "$(cat "$W/r3.out")"
grep -q "restore complete, but the audit chain is BROKEN" "$W/r3.out" ||
  fail "$(cat "$W/r3.out")"

step "the signer down: the backup fails and leaves nothing behind"
stack_signer_kill9
RC=0
"$CTL" --database-url "$VIGIL_PG_URL" --signer-socket "$STACK_SOCK" \
  backup --dir "$W/backup4" >"$W/b4.out" 2>&1 || RC=$?
[ "$RC" = 1 ] || fail "backup without a signer: exit $RC: $(cat "$W/b4.out")"
grep -q "could not be sealed" "$W/b4.out" || fail "$(cat "$W/b4.out")"
[ ! -e "$W/backup4" ] || fail "an unsealed backup was left: $(ls -la "$W/backup4")"

edge_done ctl_backup
