#!/usr/bin/env bash
# ctl_hooks.sh: cache-invalidation hooks (issue 5) as an operator and a
# webhook receiver see them. The whole stack (stack_common.bash) plus a
# python3 http.server receiver on a free loopback port that answers 500 to
# the first two webhook requests, then 200, and records every request.
#   * a revocation answers at once and the edge says revoked whatever the
#     receiver does; the webhook arrives exactly once with 200 after two
#     failures, its HMAC (python hmac) verifies over the exact body, and
#     its fields match the certificate (openssl x509 -serial); the delivery
#     log shows the three attempts
#   * a purge hook's template gets the OCSP GET URLs, which decode
#     (base64 -> DER -> openssl ocsp -reqin) to the revoked serial
#   * with the receiver down a revocation still succeeds and the delivery
#     stays pending; vigil-control is killed -9 before it is delivered and,
#     once restarted (receiver back), delivers it: nothing is lost
#   * secrets are never shown again; bad URLs are refused; changes audited
set -euo pipefail
source "$(dirname "$0")/stack_common.bash"

stack_up hooks
W=$STACK_DIR
CA=$STACK_CA
boot() { vctl --token-file "$STACK_BOOT" "$@"; }
boot_json() { vctl_json --token-file "$STACK_BOOT" "$@"; }

# --- the receiver ------------------------------------------------------------
cat >"$W/receiver.py" <<'EOF'
import base64, http.server, json, os, sys, threading
port, log, fails = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
lock = threading.Lock()
seen = {"webhook": 0}
class H(http.server.BaseHTTPRequestHandler):
    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        with lock:
            status = 200
            if self.path.startswith("/hook"):
                seen["webhook"] += 1
                if seen["webhook"] <= fails:
                    status = 500
            rec = {"method": self.command, "path": self.path,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body_b64": base64.b64encode(body).decode(),
                   "answered": status}
            with open(log, "a") as f:
                f.write(json.dumps(rec) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    do_POST = do_PURGE = do_GET = handle_any
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
RPORT=$(vigil_free_port)
RLOG=$W/received.jsonl
: >"$RLOG"
RPID=
receiver_start() { # FAILS: how many webhook requests get 500 first
  "$EDGE_PY" "$W/receiver.py" "$RPORT" "$RLOG" "$1" >>"$W/receiver.log" 2>&1 &
  RPID=$!
  edge_track "$RPID"
  vigil_wait_for -t "$EDGE_WAIT" -m "receiver" \
    curl -s -o /dev/null "http://127.0.0.1:$RPORT/ping" ||
    fail "receiver did not start: $(cat "$W/receiver.log")"
}
receiver_stop() {
  kill "$RPID"
  wait "$RPID" 2>/dev/null || true
  RPID=
}
# rq PYEXPR: evaluate PYEXPR with reqs = the recorded requests (bodies
# decoded into "body").
rq() {
  "$EDGE_PY" - "$RLOG" "$1" <<'EOF'
import base64, json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for r in reqs:
    r["body"] = base64.b64decode(r["body_b64"])
print(eval(sys.argv[2]))
EOF
}

# --- helpers -----------------------------------------------------------------
issue() { # NAME: issue a certificate, print its id
  vctl certificates create --tenant acme --name "$1" --dns "$1.acme.test" \
    --key-out "$W/$1.key" --cert-out "$W/$1.pem" >/dev/null ||
    fail "certificates create $1"
  vctl_json certificates list --tenant acme |
    jget '[c["id"] for c in d["items"] if c["name"]=="'"$1"'"][0]'
}
status_of() {
  ocsp -issuer "$CA" -cert "$W/$1.pem" -url "$EDGE_URL/ocsp/acme" \
    -CAfile "$CA" -no_nonce
}
is_revoked() { status_of "$1" | grep -q "$1.pem: revoked"; }
delivery_of() { # HOOK CERT_ID -> "id status attempts"
  boot_json hooks deliveries --hook "$1" |
    jget '" ".join(str(x) for x in next(([i["id"], i["status"], i["attempts"]] for i in d["items"] if i["payload"].get("certificate_id") == "'"$2"'"), ["none", "none", 0]))'
}
delivery_field() { # HOOK CERT_ID EXPR(i)
  boot_json hooks deliveries --hook "$1" |
    jget '[('"$3"') for i in d["items"] if i["payload"].get("certificate_id")=="'"$2"'"][0]'
}

# --- a webhook with a known secret -------------------------------------------
step "hooks create: webhook with a known secret; it is never shown again"
receiver_start 2
SECRET=whsec-test-0123456789abcdef
printf '%s\n' "$SECRET" >"$W/secret"
boot_json hooks create --kind webhook --tenant acme \
  --hook-url "http://127.0.0.1:$RPORT/hook" --event revoke \
  --secret-file "$W/secret" >"$W/hook.json" || fail "hooks create"
HOOK=$(jget 'd["id"]' <"$W/hook.json")
[ "$(jget 'd["events"]' <"$W/hook.json")" = "['revoke']" ] ||
  fail "events: $(cat "$W/hook.json")"
boot hooks create --kind webhook --hook-url "http://127.0.0.1:$RPORT/hook" \
  --secret-file "$W/secret" | grep -q "$SECRET" &&
  fail "the CLI printed a secret the operator gave it"
boot hooks list >"$W/list.txt"
grep -q "$HOOK" "$W/list.txt" || fail "hooks list lacks $HOOK"
api GET /hooks >"$W/list.json"
[ "$API_STATUS" = 403 ] || fail "GET /hooks (issuer token) answered $API_STATUS"
VIGIL_TOKEN=$(cat "$STACK_BOOT") api GET /hooks >"$W/list.json"
[ "$API_STATUS" = 200 ] || fail "GET /hooks answered $API_STATUS"
grep -q "$SECRET" "$W/list.json" && fail "GET /hooks shows the secret"
grep -q '"secret"' "$W/list.json" && fail "GET /hooks has a secret field"
# the extra unscoped hook above is not needed: disable it (audited)
extra=$(jget '[h["id"] for h in d["items"] if h["id"] != "'"$HOOK"'"][0]' <"$W/list.json")
boot hooks disable "$extra" >/dev/null || fail "hooks disable"
[ "$(psql_q "SELECT enabled FROM hooks WHERE id = '$extra'")" = f ] ||
  fail "the hook is still enabled"

step "bad hooks are refused (422 → exit 1), and not by an issuer token (exit 4)"
for url in "ftp://127.0.0.1/x" "http://a b/" "javascript:alert(1)" \
  "http://127.0.0.1/$(head -c 3000 /dev/zero | tr '\0' a)"; do
  rc=0
  boot hooks create --kind webhook --hook-url "$url" >/dev/null 2>&1 || rc=$?
  [ "$rc" = 1 ] || fail "url $url: exit $rc"
done
rc=0
boot hooks create --kind purge --hook-url "http://x.test/{ocsp_get_url}/{crl_url}" \
  >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "a template mixing two multi-valued placeholders: exit $rc"
rc=0
vctl hooks create --kind webhook --hook-url "http://127.0.0.1:$RPORT/hook" \
  >/dev/null 2>&1 || rc=$?
[ "$rc" = 4 ] || fail "an issuer token created a hook (exit $rc)"

step "a purge hook: PURGE {ocsp_get_url} per target"
boot_json hooks create --kind purge --method PURGE --tenant acme \
  --hook-url "http://127.0.0.1:$RPORT/purge?url={ocsp_get_url}" >"$W/purge.json" ||
  fail "hooks create purge"
PURGE=$(jget 'd["id"]' <"$W/purge.json")

step "a webhook for CRL events"
boot_json hooks create --kind webhook --tenant acme --event crl \
  --hook-url "http://127.0.0.1:$RPORT/crlhook" --secret-file "$W/secret" \
  >"$W/crlhook.json" || fail "hooks create (crl)"

# --- revoke: the receiver fails twice, then accepts ---------------------------
step "issue; the edge answers good"
C1=$(issue web1)
is_good() { status_of web1 | grep -q "web1.pem: good"; }
vigil_wait_for -t "$EDGE_WAIT" -m "good at the edge" is_good ||
  fail "the edge does not answer good: $(status_of web1)"

step "revoke: answered at once; the edge says revoked"
vctl certificates revoke "$C1" --reason keyCompromise >"$W/revoke1.out" ||
  fail "revoke failed: $(cat "$W/revoke1.out")"
grep -Eq "^status: +revoked" "$W/revoke1.out" || fail "$(cat "$W/revoke1.out")"
vigil_wait_for -t "$EDGE_WAIT" -m "revoked at the edge" is_revoked web1 ||
  fail "the edge does not say revoked: $(status_of web1)"

step "the webhook arrives once with 200, after two 500s"
ok_count() {
  rq "len([r for r in reqs if r['path']=='/hook' and r['answered']==200 and json.loads(r['body']).get('certificate_id')=='$1'])"
}
got_ok() { [ "$(ok_count "$1")" -ge 1 ]; }
vigil_wait_for -t "$EDGE_WAIT" -m "the webhook delivery" got_ok "$C1" ||
  fail "no successful delivery: $(cat "$RLOG")"
[ "$(ok_count "$C1")" = 1 ] || fail "delivered $(ok_count "$C1") times"
D1=$(rq "[r['headers']['x-vigil-delivery'] for r in reqs if r['path']=='/hook'][0]")
[ "$(rq "[r['answered'] for r in reqs if r['path']=='/hook' and r['headers']['x-vigil-delivery']=='$D1']")" = "[500, 500, 200]" ] ||
  fail "attempts seen by the receiver: $(rq "[(r['headers'].get('x-vigil-delivery'), r['answered']) for r in reqs]")"

step "the signature verifies over the exact body (python hmac); fields match"
SERIAL=$(openssl x509 -in "$W/web1.pem" -noout -serial | cut -d= -f2)
IKH=$(cert_ikh "$STACK_CA")
"$EDGE_PY" - "$RLOG" "$SECRET" "$D1" "$SERIAL" "$C1" "$EDGE_URL" "$IKH" <<'EOF' ||
import base64, hashlib, hmac, json, sys
log, secret, did, serial, cid, edge, ikh = sys.argv[1:]
reqs = [json.loads(l) for l in open(log) if l.strip()]
mine = [r for r in reqs if r["headers"].get("x-vigil-delivery") == did]
assert len(mine) == 3, len(mine)
for r in mine:
    body = base64.b64decode(r["body_b64"])
    want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(r["headers"]["x-vigil-signature"], want), (r["headers"], want)
    assert r["headers"]["content-type"] == "application/json"
    assert r["headers"]["x-vigil-timestamp"].isdigit()
    d = json.loads(body)
    assert d["event"] == "revoke", d
    assert d["tenant"] == "acme" and d["issuer_id"] == "acme-ca", d
    assert d["certificate_id"] == cid, d
    assert d["reason"] == "keyCompromise", d
    assert int(d["serial"], 16) == int(serial, 16), (d["serial"], serial)
    assert d["revoked_at"].endswith("Z"), d
    assert len(d["ocsp_urls"]) == 2 and all(u.startswith(edge + "/ocsp/") for u in d["ocsp_urls"]), d
    assert edge + "/crl/acme/acme-ca" in d["crl_urls"], d
    # DESIGN.md section 4: the edge's Surrogate-Key {ikh}:{serial}.
    assert d["surrogate_keys"] == ["%s:%x" % (ikh, int(serial, 16))], d
# A tampered body does not verify.
body = base64.b64decode(mine[-1]["body_b64"]).replace(b"keyCompromise", b"superseded")
assert not hmac.compare_digest(mine[-1]["headers"]["x-vigil-signature"],
    "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest())
EOF
  fail "webhook checks failed"

step "the delivery log shows the three attempts"
read -r did dstatus dattempts <<<"$(delivery_of "$HOOK" "$C1")"
[ "$did $dstatus $dattempts" = "$D1 delivered 3" ] ||
  fail "delivery log: $did $dstatus $dattempts"
[ "$(delivery_field "$HOOK" "$C1" '[a["http_status"] for a in i["attempt_log"]]')" = "[500, 500, 200]" ] ||
  fail "attempt_log: $(delivery_field "$HOOK" "$C1" 'i["attempt_log"]')"
boot hooks deliveries --status delivered | grep -q "^$D1 " ||
  fail "hooks deliveries --status delivered lacks $D1"

step "the purge hook got the OCSP GET URLs; they decode to the serial"
purged() {
  rq "len([r for r in reqs if r['method']=='PURGE'])" | grep -qx 2
}
vigil_wait_for -t "$EDGE_WAIT" -m "two PURGE requests" purged ||
  fail "purges: $(rq "[(r['method'], r['path']) for r in reqs if r['path'].startswith('/purge')]")"
rq "'\n'.join(__import__('urllib.parse').parse.parse_qs(__import__('urllib.parse').parse.urlsplit(r['path']).query)['url'][0] for r in reqs if r['method']=='PURGE')" \
  >"$W/purged.txt"
grep -qx "$EDGE_URL/ocsp/acme/[A-Za-z0-9%]*" "$W/purged.txt" ||
  fail "no tenant OCSP GET URL: $(cat "$W/purged.txt")"
i=0
while read -r u; do
  i=$((i + 1))
  "$EDGE_PY" -c 'import base64, sys, urllib.parse
u = sys.argv[1]
sys.stdout.buffer.write(base64.b64decode(urllib.parse.unquote(u.rsplit("/", 1)[1])))' \
    "$u" >"$W/req$i.der"
  openssl ocsp -reqin "$W/req$i.der" -req_text >"$W/req$i.txt" 2>&1 ||
    fail "openssl cannot read the request of $u: $(cat "$W/req$i.txt")"
  grep -qi "Serial Number: $SERIAL" "$W/req$i.txt" ||
    fail "request of $u names another serial: $(cat "$W/req$i.txt")"
  # The URL really is the edge's GET form: the edge answers it revoked.
  curl -s -D "$W/resp$i.h" -o "$W/resp$i.der" "$u" || fail "GET $u"
  openssl ocsp -respin "$W/resp$i.der" -resp_text -noverify 2>&1 |
    grep -q "Cert Status: revoked" || fail "the edge does not answer $u revoked"
  # ... and tags it with the surrogate key the revoke event names.
  grep -qi "^Surrogate-Key: $IKH $IKH:$(cert_serial "$W/web1.pem")"$'\r'"\$" "$W/resp$i.h" ||
    fail "the edge's Surrogate-Key for $u: $(grep -i surrogate "$W/resp$i.h")"
done <"$W/purged.txt"
[ "$i" = 2 ] || fail "purged $i URLs"
purge_delivered() {
  [ "$(delivery_field "$PURGE" "$C1" 'i["status"], i["attempts"]')" = "('delivered', 1)" ]
}
vigil_wait_for -t "$EDGE_WAIT" -m "the purge delivery recorded" purge_delivered ||
  fail "purge delivery: $(delivery_field "$PURGE" "$C1" 'i')"

step "the CRL listing the serial is announced, signed, with its edge URL"
CRL_URL=$EDGE_URL/crl/acme/acme-ca
crl_lists_serial() {
  curl -sf -o "$W/crl.der" "$CRL_URL" &&
    openssl crl -inform DER -in "$W/crl.der" -noout -text |
    grep -qi "Serial Number: $SERIAL"
}
vigil_wait_for -t "$EDGE_WAIT" -m "a CRL listing $SERIAL at the edge" crl_lists_serial ||
  fail "the edge's CRL lacks $SERIAL"
served=$(openssl crl -inform DER -in "$W/crl.der" -noout -crlnumber | cut -d= -f2)
crl_announced() { # a crl webhook naming the served CRL's number
  rq "len([r for r in reqs if r['path']=='/crlhook' and int(json.loads(r['body'])['crl_number']) == int('$served', 16)])" |
    grep -qx 1
}
vigil_wait_for -t "$EDGE_WAIT" -m "the crl webhook of CRL $served" crl_announced ||
  fail "no crl delivery of CRL $served: $(boot hooks deliveries)"
"$EDGE_PY" - "$RLOG" "$SECRET" "$CRL_URL" "$served" <<'EOF' ||
import base64, hashlib, hmac, json, sys
log, secret, url, served = sys.argv[1:]
rs = [json.loads(l) for l in open(log) if '"/crlhook"' in l]
rs = [r for r in rs if int(json.loads(base64.b64decode(r["body_b64"]))["crl_number"]) == int(served, 16)]
assert len(rs) == 1, rs
r = rs[0]
body = base64.b64decode(r["body_b64"])
want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
assert hmac.compare_digest(r["headers"]["x-vigil-signature"], want)
assert r["headers"]["x-vigil-event"] == "crl"
d = json.loads(body)
assert d["event"] == "crl" and d["tenant"] == "acme" and d["issuer_id"] == "acme-ca", d
assert d["next_update"] > d["this_update"], d
assert d["surrogate_keys"] == ["acme-ca"], d  # crl {issuer_id}
assert d["crl_urls"][0] == url and d["ocsp_urls"] == [], d
EOF
  fail "crl webhook checks failed"

# --- receiver down; kill -9 before delivery; restart -------------------------
step "receiver down: a revocation still succeeds; the delivery stays pending"
C2=$(issue web2)
receiver_stop
vctl certificates revoke "$C2" --reason superseded >"$W/revoke2.out" ||
  fail "revoke with the receiver down failed: $(cat "$W/revoke2.out")"
vigil_wait_for -t "$EDGE_WAIT" -m "revoked at the edge" is_revoked web2 ||
  fail "the edge does not say revoked: $(status_of web2)"
attempted() {
  read -r _ s a <<<"$(delivery_of "$HOOK" "$C2")"
  [ "$s" = pending ] && [ "$a" -ge 1 ]
}
vigil_wait_for -t "$EDGE_WAIT" -m "a failed attempt" attempted ||
  fail "delivery: $(delivery_of "$HOOK" "$C2")"
[ -n "$(delivery_field "$HOOK" "$C2" 'i["last_error"]')" ] ||
  fail "no last_error recorded"

step "kill -9 vigil-control before delivery; restart: it is delivered"
stack_control_kill9
D2=$(psql_q "SELECT id FROM hook_deliveries WHERE hook = '$HOOK' AND certificate = '$C2'")
[ "$(psql_q "SELECT status FROM hook_deliveries WHERE id = $D2")" = pending ] ||
  fail "delivery $D2 not pending before the restart"
receiver_start 0
stack_control_start
delivered2() {
  [ "$(psql_q "SELECT status FROM hook_deliveries WHERE id = $D2")" = delivered ]
}
vigil_wait_for -t "$EDGE_WAIT" -m "delivery $D2 after the restart" delivered2 ||
  fail "not delivered: $(psql_q "SELECT status, attempts, last_error FROM hook_deliveries WHERE id = $D2")"
[ "$(rq "len([r for r in reqs if r['headers'].get('x-vigil-delivery')=='$D2' and r['answered']==200])")" = 1 ] ||
  fail "delivery $D2 not received exactly once with 200"

step "tenant filter: another tenant's revocation reaches only global hooks"
boot_json hooks create --kind webhook --hook-url "http://127.0.0.1:$RPORT/global" \
  >"$W/global.json" || fail "hooks create (global)"
GLOBAL=$(jget 'd["id"]' <"$W/global.json")
[ "$(jget 'd["tenant"]' <"$W/global.json")" = None ] || fail "$(cat "$W/global.json")"
stack_tenant beta beta-ca
vctl certificates create --tenant beta --name b1 --dns b1.beta.test \
  --key-out "$W/b1.key" --cert-out "$W/b1.pem" >/dev/null || fail "issue in beta"
CB=$(vctl_json certificates list --tenant beta | jget 'd["items"][0]["id"]')
vctl certificates revoke "$CB" --reason cessationOfOperation >/dev/null ||
  fail "revoke in beta"
# Enqueued in the revocation's own transaction: final once it answered.
[ "$(psql_q "SELECT string_agg(hook::text, ',') FROM hook_deliveries WHERE certificate = '$CB'")" = "$GLOBAL" ] ||
  fail "deliveries of the beta revocation: $(psql_q "SELECT hook, status FROM hook_deliveries WHERE certificate = '$CB'")"
global_got() {
  rq "len([r for r in reqs if r['path']=='/global' and r['answered']==200])" | grep -qx 1
}
vigil_wait_for -t "$EDGE_WAIT" -m "the global webhook" global_got ||
  fail "global webhook: $(boot hooks deliveries --hook "$GLOBAL")"
[ "$(rq "[json.loads(r['body'])['tenant'] for r in reqs if r['path']=='/global']")" = "['beta']" ] ||
  fail "global webhook bodies: $(rq "[r['body'] for r in reqs if r['path']=='/global']")"

step "every hook change is audited; the secret is not in the audit log"
VIGIL_TOKEN=$(cat "$STACK_BOOT") api GET "/audit?type=hook.created" >"$W/audit.json"
[ "$(jget 'len(d["items"])' <"$W/audit.json")" -ge 3 ] ||
  fail "hook.created events: $(cat "$W/audit.json")"
grep -q "$SECRET" "$W/audit.json" && fail "the audit log holds the secret"
VIGIL_TOKEN=$(cat "$STACK_BOOT") api GET "/audit?type=hook.disabled" >"$W/audit2.json"
grep -q "hook:$extra" "$W/audit2.json" || fail "no hook.disabled event"

step "DELETE /hooks/{id} disables a hook (kept for its delivery log)"
CRLHOOK=$(jget 'd["id"]' <"$W/crlhook.json")
VIGIL_TOKEN=$(cat "$STACK_BOOT") api DELETE "/hooks/$CRLHOOK" >"$W/del.json"
[ "$API_STATUS" = 200 ] || fail "DELETE /hooks/$CRLHOOK answered $API_STATUS"
[ "$(jget 'd["enabled"]' <"$W/del.json")" = False ] ||
  fail "still enabled: $(cat "$W/del.json")"
[ "$(psql_q "SELECT count(*) FROM hooks WHERE id = '$CRLHOOK'")" = 1 ] ||
  fail "the hook row is gone"

edge_done ctl_hooks
