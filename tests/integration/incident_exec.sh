#!/usr/bin/env bash
# incident_exec.sh: the incident-response journey (issue 5), judged with
# clients we did not write. Real Postgres, Redis, vigil-signer,
# vigil-control serve and vigil-edge, plus Debian's nginx serving the
# compromised certificate from a directory under the deploy root.
#   vigil-control --full-backup-dir (evidence first) -> vigilctl graph
#   blast-radius (read-only) ->
#   vigilctl incidents executions execute (nginx connector) -> nginx now serves the
#   replacement (openssl s_client) -> the edge answers revoked for the old
#   serial and good for the new (openssl ocsp) -> the CRL lists the old
#   serial (openssl crl) -> the evidence pack verifies offline with the
#   pinned audit key; one flipped byte anywhere fails -> a repeated request
#   returns the same execution -> the file connector writes cert/fullchain/
#   key (0600) keeping *.prev -> a delivery that fails rolls back and does
#   not revoke -> targets outside the deploy root are refused.
set -euo pipefail
# shellcheck source=stack_common.bash
source "$(dirname "$0")/stack_common.bash"

command -v nginx >/dev/null || fail "nginx is not installed (Debian nginx-light)"

step "the stack: control with a deploy root, an nginx reload command and a short CRL debounce"
stack_init incident-exec
stack_signer_start
DEPLOY=$STACK_DIR/deploy
NG=$STACK_DIR/nginx
mkdir -p "$DEPLOY/edge/prod/payments" "$DEPLOY/files/app" "$DEPLOY/edge/prod/two" \
  "$NG/tmp" "$NG/logs" "$STACK_DIR/outside"
NGINX_PORT=$(vigil_free_port)
CLOSED_PORT=$(vigil_free_port)
stack_control_start --crl-debounce 1s --incident-deploy-root "$DEPLOY" \
  --incident-nginx-reload "nginx -p $NG -c $NG/nginx.conf -s reload" \
  --incident-nginx-check "127.0.0.1:$NGINX_PORT" \
  --incident-tls-check-timeout 10s
stack_edge_start
stack_tenant acme acme-ca
CA=$STACK_CA
AUDIT_PUB=$STACK_DIR/keys/audit.pub
[ -s "$AUDIT_PUB" ] || fail "the signer wrote no audit.pub"

# issue NAME DIR: a TLS certificate for localhost/127.0.0.1 deployed in DIR
# (cert.pem, fullchain.pem, key.pem); prints its id.
issue() {
  local name=$1 dir=$2 id
  vctl certificates create --tenant acme --name "$name" --dns localhost \
    --ip 127.0.0.1 --key-out "$dir/key.pem" --cert-out "$dir/cert.pem" >/dev/null ||
    fail "issue $name"
  cat "$dir/cert.pem" "$CA" >"$dir/fullchain.pem"
  id=$(psql_q "SELECT id FROM certificates WHERE name = '$name'")
  [ -n "$id" ] || fail "no id for $name"
  printf '%s\n' "$id"
}

step "a compromised certificate, served by nginx"
PAY=$DEPLOY/edge/prod/payments
PAY_ID=$(issue payments-tls "$PAY")
cp "$PAY/cert.pem" "$STACK_DIR/old.pem"
OLD_SERIAL=$(cert_serial "$STACK_DIR/old.pem")
cat >"$NG/nginx.conf" <<EOF
worker_processes 1;
pid $NG/nginx.pid;
error_log $NG/error.log info;
daemon off;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $NG/tmp/body;
  proxy_temp_path $NG/tmp/proxy;
  fastcgi_temp_path $NG/tmp/fastcgi;
  uwsgi_temp_path $NG/tmp/uwsgi;
  scgi_temp_path $NG/tmp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    server_name localhost;
    ssl_certificate $PAY/fullchain.pem;
    ssl_certificate_key $PAY/key.pem;
    location / { return 200 "payments\n"; }
  }
}
EOF
nginx -t -p "$NG" -c "$NG/nginx.conf" >"$NG/t.out" 2>&1 || fail "nginx -t: $(cat "$NG/t.out")"
nginx -p "$NG" -c "$NG/nginx.conf" >"$NG/stdout.log" 2>&1 &
NGINX_PID=$!
edge_track "$NGINX_PID"
# served_serial: the serial of the certificate nginx serves (s_client).
served_serial() {
  local pem
  pem=$(timeout 20 openssl s_client -connect "127.0.0.1:$NGINX_PORT" \
    -servername localhost </dev/null 2>/dev/null | openssl x509 2>/dev/null) || return 1
  printf '%s\n' "$pem" >"$STACK_DIR/served.pem"
  cert_serial "$STACK_DIR/served.pem"
}
nginx_serves() { [ "$(served_serial)" = "$1" ]; }
vigil_wait_for -t "$EDGE_WAIT" -m "nginx serving the compromised certificate" \
  nginx_serves "$OLD_SERIAL" || fail "nginx does not serve $OLD_SERIAL: $(cat "$NG/error.log")"
ocsp_status() { # PEM: good / revoked as the edge answers
  ocsp -issuer "$CA" -cert "$1" -url "$EDGE_URL/ocsp/acme" -CAfile "$CA" -no_nonce
}
is_status() { ocsp_status "$1" | grep -q "$1: $2"; }
vigil_wait_for -t "$EDGE_WAIT" -m "good at the edge" is_status "$STACK_DIR/old.pem" good ||
  fail "the edge does not answer good: $(ocsp_status "$STACK_DIR/old.pem")"

step "declare the incident: a sealed full backup first (the forensic record)"
"$STACK_CONTROL_BIN" --database-url "$VIGIL_PG_URL" --signer-socket "$STACK_SOCK" \
  --full-backup-dir="$STACK_DIR/backup-incident" >"$STACK_DIR/backup.out" 2>&1 ||
  fail "backup: $(cat "$STACK_DIR/backup.out")"
expect_in "$(cat "$STACK_DIR/backup.out")" "sealed by audit key" "the backup confirmation"
toc=$(pg_restore --list "$STACK_DIR/backup-incident/database.dump") ||
  fail "pg_restore cannot read the backup"
expect_in "$toc" "TABLE DATA public audit_events" "the backup's contents"

step "scope the blast radius (read-only): the deployment and what depends on it"
vctl --token-file "$STACK_BOOT" graph nodes create --tenant acme --kind deployment --name payments-prod >/dev/null ||
  fail "graph node"
vctl --token-file "$STACK_BOOT" graph nodes create --tenant acme --kind service --name checkout >/dev/null ||
  fail "graph node"
vctl --token-file "$STACK_BOOT" graph edges create --tenant acme --from cert:payments-tls \
  --to deployment:payments-prod --relation deployed_to >/dev/null || fail "graph edge"
vctl --token-file "$STACK_BOOT" graph edges create --tenant acme --from service:checkout \
  --to deployment:payments-prod --relation depends_on >/dev/null || fail "graph edge"
audit_before=$(psql_q "SELECT count(*) FROM audit_events")
vctl graph blast-radius cert:payments-tls >"$STACK_DIR/blast.out" ||
  fail "blast radius: $(cat "$STACK_DIR/blast.out")"
expect_in "$(cat "$STACK_DIR/blast.out")" "payments-prod" "the blast radius"
expect_in "$(cat "$STACK_DIR/blast.out")" "checkout" "the blast radius"
[ "$(psql_q "SELECT count(*) FROM audit_events")" = "$audit_before" ] ||
  fail "the blast-radius read wrote audit events"

step "the bootstrap token cannot run an execution; outside targets are refused"
cat >"$STACK_DIR/incident.json" <<EOF
{ "identity_id": "$PAY_ID", "reason": "private key export detected",
  "replacement_name": "payments-api-incident-replacement", "connector": "nginx",
  "target": "edge/prod/payments", "delivery_rollback_ref": "restore previous fullchain" }
EOF
rc=0
vctl --token-file "$STACK_BOOT" incidents executions execute -f "$STACK_DIR/incident.json" \
  >/dev/null 2>&1 || rc=$?
[ "$rc" = 4 ] || fail "the bootstrap token could execute (exit $rc)"
for bad in "../outside" "edge/../../outside" "$STACK_DIR/outside" "/etc"; do
  api POST /incidents/executions "{\"identity_id\":\"$PAY_ID\",\"reason\":\"x\",\"replacement_name\":\"nope\",\"connector\":\"file\",\"target\":\"$bad\"}" >"$STACK_DIR/bad.out"
  [ "$API_STATUS" = 422 ] || fail "target $bad: HTTP $API_STATUS $(cat "$STACK_DIR/bad.out")"
done
ln -s "$STACK_DIR/outside" "$DEPLOY/escape"
api POST /incidents/executions "{\"identity_id\":\"$PAY_ID\",\"reason\":\"x\",\"replacement_name\":\"nope\",\"connector\":\"file\",\"target\":\"escape\"}" >/dev/null
[ "$API_STATUS" = 422 ] || fail "a symlink out of the deploy root was accepted (HTTP $API_STATUS)"
[ "$(psql_q "SELECT count(*) FROM incident_executions")" = 0 ] || fail "a refused request created an execution"

step "vigilctl incidents executions execute: replace, deliver (nginx), revoke, seal"
vctl incidents executions execute -f "$STACK_DIR/incident.json" \
  --idempotency-key incident-1 >"$STACK_DIR/exec.out" ||
  fail "execute failed: $(cat "$STACK_DIR/exec.out")"
cat "$STACK_DIR/exec.out"
out=$(cat "$STACK_DIR/exec.out")
expect_in "$out" "status: completed" "execute output"
expect_in "$out" "identity_status: revoked" "execute output"
expect_in "$out" "reload_exit_status: 0" "execute output"
expect_in "$out" "seal: digest=" "execute output"
EXEC_ID=$(sed -n 's/^id: //p' "$STACK_DIR/exec.out")
NEW_ID=$(sed -n 's/^replacement_id: //p' "$STACK_DIR/exec.out")
[ -n "$EXEC_ID" ] && [ -n "$NEW_ID" ] || fail "no execution or replacement id"
vctl_json certificates get "$NEW_ID" | jget 'd["certificate_pem"]' >"$STACK_DIR/new.pem"
NEW_SERIAL=$(cert_serial "$STACK_DIR/new.pem")
[ "$NEW_SERIAL" != "$OLD_SERIAL" ] || fail "the replacement has the old serial"
expect_in "$out" "tls_observed_serial: $NEW_SERIAL" "the receipt's TLS check"
expect_in "$out" "revocation_queue_status: published" "execute output"

step "the replacement: a new key, same SANs, same issuer; key.pem 0600; *.prev kept"
old_spki=$(openssl x509 -in "$STACK_DIR/old.pem" -noout -pubkey | openssl sha256)
new_spki=$(openssl x509 -in "$STACK_DIR/new.pem" -noout -pubkey | openssl sha256)
[ "$old_spki" != "$new_spki" ] || fail "the replacement reuses the compromised key"
[ "$(openssl x509 -in "$STACK_DIR/new.pem" -noout -ext subjectAltName | tail -n +2)" = \
  "$(openssl x509 -in "$STACK_DIR/old.pem" -noout -ext subjectAltName | tail -n +2)" ] ||
  fail "the replacement's SANs differ"
openssl verify -CAfile "$CA" "$STACK_DIR/new.pem" >/dev/null || fail "replacement does not chain to the CA"
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
[ "$(fp "$PAY/cert.pem")" = "$(fp "$STACK_DIR/new.pem")" ] || fail "cert.pem is not the replacement"
[ "$(fp "$PAY/cert.pem.prev")" = "$(fp "$STACK_DIR/old.pem")" ] || fail "cert.pem.prev is not the old certificate"
[ "$(stat -c %a "$PAY/key.pem")" = 600 ] || fail "key.pem mode $(stat -c %a "$PAY/key.pem")"
[ "$(openssl pkey -in "$PAY/key.pem" -pubout | openssl sha256)" = "$new_spki" ] ||
  fail "key.pem does not match the replacement"
[ "$(psql_q "SELECT count(*) FROM certificates WHERE name = 'payments-api-incident-replacement'")" = 1 ] ||
  fail "not exactly one replacement"
[ "$(psql_q "SELECT count(*) FROM incident_keys")" = 0 ] || fail "the staged key was kept"

step "nginx serves the replacement (openssl s_client)"
[ "$(served_serial)" = "$NEW_SERIAL" ] || fail "nginx serves $(served_serial), not $NEW_SERIAL"
timeout 20 openssl s_client -connect "127.0.0.1:$NGINX_PORT" -servername localhost \
  -CAfile "$CA" -verify_return_error </dev/null >"$STACK_DIR/sclient.out" 2>&1 ||
  fail "s_client does not verify the served chain: $(tail -5 "$STACK_DIR/sclient.out")"

step "the edge: revoked (keyCompromise) for the old serial, good for the new"
out=$(ocsp_status "$STACK_DIR/old.pem")
expect_in "$out" "$STACK_DIR/old.pem: revoked" "old serial"
expect_in "$out" "Reason: keyCompromise" "old serial"
expect_in "$out" "Response verify OK" "old serial"
vigil_wait_for -t "$EDGE_WAIT" -m "the replacement good at the edge" \
  is_status "$STACK_DIR/new.pem" good || fail "new serial: $(ocsp_status "$STACK_DIR/new.pem")"
vctl certificates get "$PAY_ID" | grep -q "status: *revoked" || fail "API does not show revoked"

step "the CRL lists the old serial"
crl_lists() {
  curl -s -m 10 -o "$STACK_DIR/crl.der" "$EDGE_URL/crl/acme" || return 1
  openssl crl -inform DER -in "$STACK_DIR/crl.der" -noout -text 2>/dev/null |
    grep -qi "Serial Number: 0*$OLD_SERIAL\$"
}
vigil_wait_for -t "$EDGE_WAIT" -m "the old serial on the CRL" crl_lists ||
  fail "the CRL does not list $OLD_SERIAL"
openssl crl -inform DER -in "$STACK_DIR/crl.der" -CAfile "$CA" -noout 2>&1 |
  grep -q "verify OK" || fail "the CRL does not verify"

step "the evidence pack verifies offline with the pinned audit key"
vctl incidents executions get "$EXEC_ID" --out "$STACK_DIR/pack.json" >/dev/null || fail "incidents get --out"
vctl evidence verify "$STACK_DIR/pack.json" --audit-key "$AUDIT_PUB" >"$STACK_DIR/verify.out" ||
  fail "verify failed: $(cat "$STACK_DIR/verify.out")"
cat "$STACK_DIR/verify.out"
expect_in "$(cat "$STACK_DIR/verify.out")" "VERIFIED" "verify"
"$EDGE_PY" - "$STACK_DIR/pack.json" "$EXEC_ID" "$PAY_ID" "$NEW_ID" <<'EOF' || fail "pack content"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["id"] == sys.argv[2] and d["identity_id"] == sys.argv[3], d["id"]
assert d["replacement_id"] == sys.argv[4]
assert d["status"] == "completed" and d["revocation_queue_status"] == "published"
assert d["failed_targets"] == [] and any(r.endswith("cert.pem.prev") for r in d["rollback_refs"])
assert [s["step"] for s in d["steps"]] == ["record_evidence", "issue_replacement", "deliver", "revoke", "seal"]
types = [e["type"] for e in d["audit_bundle"]["events"]]
order = ["incident.execution.created", "incident.evidence.recorded", "certificate.issued",
         "incident.replacement.issued", "incident.delivery.succeeded", "certificate.revoked"]
assert types == order, types
assert d["audit_bundle"]["seal"]["context"] == "vigil-evidence-v1:" + d["id"]
EOF
# The same checks with code we did not write: python's json and hashlib for
# the canonical bytes and the digest, python3-cryptography for the seal and
# every audit event's hash.
"$EDGE_PY" - "$STACK_DIR/pack.json" "$AUDIT_PUB" <<'EOF' || fail "independent verification"
import base64, hashlib, json, struct, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
raw = open(sys.argv[1], "rb").read()
d = json.loads(raw)
canon = lambda o: json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
assert raw == canon(d) + b"\n", "not canonical"
b = d["audit_bundle"]; seal = b["seal"]
u = json.loads(raw); del u["audit_bundle"]["digest"]; del u["audit_bundle"]["seal"]
digest = hashlib.sha256(canon(u)).digest()
assert digest.hex() == b["digest"] == seal["digest"], "digest"
ctx = ("vigil-evidence-v1:" + d["id"]).encode()
assert seal["context"].encode() == ctx
msg = b"vigil-seal-v1\0" + struct.pack(">QH", seal["sealed_at"], len(ctx)) + ctx + digest
key = serialization.load_pem_public_key(open(sys.argv[2], "rb").read())
sig = base64.b64decode(seal["signature"])
if isinstance(key, ed25519.Ed25519PublicKey):
    key.verify(sig, msg)
else:
    key.verify(sig, msg, ec.ECDSA(hashes.SHA256()))
ns = lambda s: (str(len(s.encode())) + ":").encode() + s.encode() + b","
for e in b["events"]:
    c = b"".join(ns(x) for x in ["vigil-audit-v1", str(e["id"]), str(e["at_us"]), e["type"],
                                 e["principal"] or "", e["tenant"] or "", e["subject"], e["details_text"]])
    assert hashlib.sha256(bytes.fromhex(e["prev_hash"]) + c).hexdigest() == e["hash"], e["id"]
print("independent check: canonical, digest, seal and", len(b["events"]), "event hashes ok")
EOF
out=$(vctl evidence verify "$STACK_DIR/pack.json" 2>&1) || fail "verify without a pin: $out"
expect_in "$out" "WARNING" "verify without --audit-key warns"

step "one flipped byte anywhere fails verification"
size=$(stat -c %s "$STACK_DIR/pack.json")
for off in 1 $((size / 3)) $((size / 2)) $((size - 40)) $((size - 2)); do
  "$EDGE_PY" - "$STACK_DIR/pack.json" "$STACK_DIR/bad.json" "$off" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[int(sys.argv[3])] ^= 0x01
open(sys.argv[2], "wb").write(b)
EOF
  rc=0
  vctl evidence verify "$STACK_DIR/bad.json" --audit-key "$AUDIT_PUB" >"$STACK_DIR/bad.out" 2>&1 || rc=$?
  [ "$rc" = 1 ] || fail "a pack with byte $off flipped: exit $rc: $(cat "$STACK_DIR/bad.out")"
done
# A re-serialised pack with a changed value but a "fixed" layout fails too.
"$EDGE_PY" - "$STACK_DIR/pack.json" "$STACK_DIR/bad.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["reason"] = "nothing happened"
open(sys.argv[2], "w").write(json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n")
EOF
rc=0
vctl evidence verify "$STACK_DIR/bad.json" --audit-key "$AUDIT_PUB" >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "an edited pack verified (exit $rc)"

step "a repeated request returns the same execution"
again=$(vctl_json incidents executions execute -f "$STACK_DIR/incident.json" | jget 'd["id"]') ||
  fail "repeat failed"
[ "$again" = "$EXEC_ID" ] || fail "repeat gave $again, not $EXEC_ID"
api POST /incidents/executions "$(cat "$STACK_DIR/incident.json")" >"$STACK_DIR/rep.out"
[ "$API_STATUS" = 200 ] || fail "repeat via the API: HTTP $API_STATUS"
[ "$(jget 'd["id"]' <"$STACK_DIR/rep.out")" = "$EXEC_ID" ] || fail "repeat via the API: other id"
[ "$(psql_q "SELECT count(*) FROM incident_executions")" = 1 ] || fail "a second execution was made"
[ "$(psql_q "SELECT count(*) FROM certificates WHERE name = 'payments-api-incident-replacement'")" = 1 ] ||
  fail "a second replacement was issued"
[ "$(psql_q "SELECT count(*) FROM revocations WHERE certificate = '$PAY_ID'")" = 1 ] ||
  fail "not exactly one revocation"

step "tenant scope: a token of another tenant neither sees nor runs this execution"
vctl --token-file "$STACK_BOOT" tenants create beta >/dev/null || fail "tenants create beta"
BETA=$(vctl_json --token-file "$STACK_BOOT" tokens create --name beta-ops \
  --role issuer --role auditor --tenant beta | jget 'd["token"]') || fail "beta token"
VIGIL_TOKEN=$BETA api GET "/incidents/executions/$EXEC_ID" >/dev/null
[ "$API_STATUS" = 404 ] || fail "another tenant read the execution: HTTP $API_STATUS"
VIGIL_TOKEN=$BETA api GET /incidents/executions >"$STACK_DIR/beta.out"
[ "$API_STATUS" = 200 ] && [ "$(jget 'len(d["items"])' <"$STACK_DIR/beta.out")" = 0 ] ||
  fail "another tenant listed executions: $(cat "$STACK_DIR/beta.out")"
VIGIL_TOKEN=$BETA api POST /incidents/executions "$(cat "$STACK_DIR/incident.json")" >/dev/null
[ "$API_STATUS" = 404 ] || fail "another tenant ran the execution: HTTP $API_STATUS"

step "the sealed execution is immutable in the database"
if psql_q "UPDATE incident_executions SET reason = 'x' WHERE id = '$EXEC_ID'" >/dev/null 2>&1; then
  fail "a sealed execution was updated"
fi
if psql_q "DELETE FROM incident_steps WHERE execution = '$EXEC_ID'" >/dev/null 2>&1; then
  fail "steps were deleted"
fi

step "the file connector: cert.pem, fullchain.pem, key.pem (0600) and *.prev"
APP=$DEPLOY/files/app
APP_ID=$(issue app-tls "$APP")
cp "$APP/cert.pem" "$STACK_DIR/app-old.pem"
api POST /incidents/executions "{\"identity_id\":\"$APP_ID\",\"reason\":\"laptop lost\",\"replacement_name\":\"app-tls-2\",\"connector\":\"file\",\"target\":\"$APP\"}" >"$STACK_DIR/app.json"
[ "$API_STATUS" = 201 ] || fail "file execution: HTTP $API_STATUS $(cat "$STACK_DIR/app.json")"
[ "$(jget 'd["status"]' <"$STACK_DIR/app.json")" = completed ] || fail "file execution not completed"
cmp -s "$APP/cert.pem.prev" "$STACK_DIR/app-old.pem" || fail "file: cert.pem.prev"
[ "$(stat -c %a "$APP/key.pem")" = 600 ] || fail "file: key.pem mode"
openssl verify -CAfile "$CA" "$APP/cert.pem" >/dev/null || fail "file: cert.pem"
head -c 27 "$APP/fullchain.pem" | grep -q "BEGIN CERTIFICATE" || fail "file: fullchain.pem"
"$EDGE_PY" - "$STACK_DIR/app.json" "$APP" <<'EOF' || fail "file receipt"
import hashlib, json, sys
d = json.load(open(sys.argv[1]))
files = {f["name"]: f for f in d["delivery_receipt"]["files"]}
for n in ("cert.pem", "fullchain.pem", "key.pem"):
    got = hashlib.sha256(open(sys.argv[2] + "/" + n, "rb").read()).hexdigest()
    assert files[n]["sha256"] == got, n
EOF

step "the webhook connector: JSON to a loopback receiver; a non-2xx answer fails without revoking"
HOOK_PORT=$(vigil_free_port)
"$EDGE_PY" - "$HOOK_PORT" "$STACK_DIR/hook.body" <<'EOF' >"$STACK_DIR/hook.log" 2>&1 &
import http.server, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/ok":
            open(out, "wb").write(body)
        self.send_response(200 if self.path == "/ok" else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def do_GET(self):
        self.send_response(204)
        self.end_headers()
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
edge_track $!
hook_up() { curl -s -o /dev/null -m 2 "http://127.0.0.1:$HOOK_PORT/"; }
vigil_wait_for -t "$EDGE_WAIT" -m "the webhook receiver" hook_up || fail "receiver did not start"
mkdir -p "$STACK_DIR/hook" "$STACK_DIR/hook2"
HOOK_ID=$(issue hook-tls "$STACK_DIR/hook")
api POST /incidents/executions "{\"identity_id\":\"$HOOK_ID\",\"reason\":\"leak\",\"replacement_name\":\"hook-tls-2\",\"connector\":\"webhook\",\"target\":\"http://127.0.0.1:$HOOK_PORT/ok\"}" >"$STACK_DIR/hook.json"
[ "$API_STATUS" = 201 ] || fail "webhook execution: HTTP $API_STATUS $(cat "$STACK_DIR/hook.json")"
"$EDGE_PY" - "$STACK_DIR/hook.json" "$STACK_DIR/hook.body" <<'EOF' || fail "webhook delivery"
import json, subprocess, sys
d = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert d["status"] == "completed" and d["delivery_receipt"]["http_status"] == 200, d["status"]
assert b["execution_id"] == d["id"] and b["serial"] == d["replacement"]["serial"]
cert = subprocess.run(["openssl", "x509", "-noout", "-pubkey"], input=b["certificate_pem"].encode(), capture_output=True, check=True).stdout
key = subprocess.run(["openssl", "pkey", "-pubout"], input=b["private_key_pem"].encode(), capture_output=True, check=True).stdout
assert cert == key, "the delivered key does not match the certificate"
EOF
HOOK2_ID=$(issue hook2-tls "$STACK_DIR/hook2")
api POST /incidents/executions "{\"identity_id\":\"$HOOK2_ID\",\"reason\":\"leak\",\"replacement_name\":\"hook2-tls-2\",\"connector\":\"webhook\",\"target\":\"http://127.0.0.1:$HOOK_PORT/fail\",\"delivery_rollback_ref\":\"keep the old cert\"}" >"$STACK_DIR/hook2.json"
[ "$API_STATUS" = 201 ] || fail "failing webhook execution: HTTP $API_STATUS"
"$EDGE_PY" - "$STACK_DIR/hook2.json" <<'EOF' || fail "failing webhook"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "failed" and d["failed_step"] == "deliver", d["status"]
assert d["failed_targets"] and d["rollback_refs"] == ["keep the old cert"], d["rollback_refs"]
assert d["identity_status"] == "active" and d["revocation_queue_status"] == "none"
assert [s["status"] for s in d["steps"]][2:4] == ["failed", "skipped"]
EOF
vctl certificates get "$HOOK2_ID" | grep -q "status: *active" || fail "revoked after a failed webhook"

step "a failed delivery rolls back and does not revoke"
TWO=$DEPLOY/edge/prod/two
TWO_ID=$(issue two-tls "$TWO")
cp "$TWO/cert.pem" "$STACK_DIR/two-old.pem"
cp "$TWO/key.pem" "$STACK_DIR/two-old.key"
cat >"$STACK_DIR/two.json" <<EOF
{ "identity_id": "$TWO_ID", "reason": "suspected leak",
  "replacement_name": "two-tls-replacement", "connector": "nginx",
  "target": "edge/prod/two", "check_address": "127.0.0.1:$CLOSED_PORT",
  "delivery_rollback_ref": "ticket OPS-42" }
EOF
rc=0
vctl incidents executions execute -f "$STACK_DIR/two.json" >"$STACK_DIR/two.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "a failed delivery exited $rc: $(cat "$STACK_DIR/two.out")"
out=$(cat "$STACK_DIR/two.out")
expect_in "$out" "status: failed" "failed delivery"
expect_in "$out" "failed_step: deliver" "failed delivery"
expect_in "$out" "NOT revoked" "failed delivery"
expect_in "$out" "ticket OPS-42" "failed delivery: rollback_refs"
expect_in "$out" "rolled_back: true" "failed delivery"
cmp -s "$TWO/cert.pem" "$STACK_DIR/two-old.pem" || fail "cert.pem was not rolled back"
cmp -s "$TWO/key.pem" "$STACK_DIR/two-old.key" || fail "key.pem was not rolled back"
vctl certificates get "$TWO_ID" | grep -q "status: *active" || fail "the identity was revoked"
[ "$(psql_q "SELECT count(*) FROM revocations WHERE certificate = '$TWO_ID'")" = 0 ] ||
  fail "a revocation row exists after a failed delivery"
is_status "$STACK_DIR/two-old.pem" good || fail "the edge does not answer good after a failed delivery"
TWO_EXEC=$(sed -n 's/^id: //p' "$STACK_DIR/two.out")
vctl incidents executions get "$TWO_EXEC" --out "$STACK_DIR/two-pack.json" >/dev/null || fail "get failed pack"
vctl evidence verify "$STACK_DIR/two-pack.json" --audit-key "$AUDIT_PUB" >/dev/null ||
  fail "the failed execution's pack does not verify"
[ "$(served_serial)" = "$NEW_SERIAL" ] || fail "nginx stopped serving the replacement"

step "the audit chain verifies; control stops cleanly with a clean log"
"$STACK_CONTROL_BIN" --database-url "$VIGIL_PG_URL" audit-verify >/dev/null || fail "audit-verify"
stack_control_stop_clean
edge_done incident_exec
