#!/usr/bin/env bash
# ctl_graph.sh: the credential graph and its blast radius (issue 5), on the
# real stack (Postgres, Redis, vigil-signer, vigil-control serve), driven
# with vigilctl and curl, keys and CSRs made and hashed with openssl.
#   two certificates from ONE CSR (same key) and one with another key; an
#   intermediate CA with certificates under it; a deployment on a host and
#   services depending on it (with a dependency cycle). Blast radius of the
#   first certificate reaches the same-key certificate through the key, the
#   deployment, the host and the dependent services, each with its path,
#   and not the other-key certificate; the intermediate reaches every
#   certificate below it. Unknown node 404, bad syntax 400 naming "node";
#   reads write no audit event; an auditor reads but cannot write; names
#   with SQL metacharacters come back verbatim; revoked certificates are
#   listed but not exposed; a chain deeper than max_depth is cut and says
#   truncated; a same-key certificate in another tenant is seen by an
#   unscoped token and hidden from a tenant-scoped one.
set -euo pipefail
source "$(dirname "$0")/stack_common.bash"

stack_init ctl-graph
stack_signer_start
stack_control_start
stack_tenant acme acme-ca
W=$STACK_DIR
ISSUER_TOKEN=$VIGIL_TOKEN

step "an operator token (graph writes) and an auditor token"
OP_TOKEN=$(vctl_json --token-file "$STACK_BOOT" tokens create --name graph-op \
  --role operator | jget 'd["token"]')
AUD_TOKEN=$(vctl_json --token-file "$STACK_BOOT" tokens create --name graph-aud \
  --role auditor | jget 'd["token"]')

step "certificates: A and B from one CSR (same key), C with another key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
  -out "$W/k1.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
  -out "$W/k2.pem" 2>/dev/null
openssl req -new -key "$W/k1.pem" -subj "/CN=payments.acme.test" \
  -out "$W/k1.csr"
openssl req -new -key "$W/k2.pem" -subj "/CN=other.acme.test" -out "$W/k2.csr"
# The SPKI hashes, computed by openssl (not by us).
K1=$(openssl pkey -in "$W/k1.pem" -pubout -outform DER | sha256sum | cut -c1-64)
K2=$(openssl pkey -in "$W/k2.pem" -pubout -outform DER | sha256sum | cut -c1-64)
issue() { # NAME CSR [ISSUER] -> certificate id
  vctl_json certificates create --tenant acme --name "$1" --csr "$2" \
    --issuer-id "${3:-acme-ca}" --dns "$1.acme.test" | jget 'd["id"]'
}
A=$(issue payments-tls "$W/k1.csr")
B=$(issue payments-tls-backup "$W/k1.csr")
C=$(issue other-tls "$W/k2.csr")

step "an intermediate CA and two certificates under it"
vctl --token-file "$STACK_BOOT" issuers create --tenant acme \
  --issuer-id acme-int --cn "Acme Intermediate" --parent acme-ca >/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
  -out "$W/k3.pem" 2>/dev/null
openssl req -new -key "$W/k3.pem" -subj "/CN=int.acme.test" -out "$W/k3.csr"
I1=$(issue int-leaf-1 "$W/k3.csr" acme-int)
I2=$(issue int-leaf-2 "$W/k3.csr" acme-int)

step "graph nodes and edges through vigilctl (operator)"
META="x'); DROP TABLE graph_nodes; -- \"%_\\*"
gvctl() { vctl --token "$OP_TOKEN" "$@"; }
gvctl graph nodes create --tenant acme --kind deployment --name payments-prod \
  --attributes '{"env":"prod"}' >/dev/null
gvctl graph nodes create --tenant acme --kind host --name web-1 >/dev/null
gvctl graph nodes create --tenant acme --kind service --name checkout >/dev/null
gvctl graph nodes create --tenant acme --kind service --name "$META" >/dev/null
gvctl graph nodes create --tenant acme --kind deployment --name other-prod \
  >/dev/null
gvctl graph nodes create --tenant acme --kind host --name web-2 >/dev/null
gvctl graph edges create --tenant acme --from cert:payments-tls \
  --relation deployed_to --to deployment:payments-prod >/dev/null
gvctl graph edges create --tenant acme --from deployment:payments-prod \
  --relation runs_on --to host:web-1 >/dev/null
gvctl graph edges create --tenant acme --from service:checkout \
  --relation depends_on --to deployment:payments-prod >/dev/null
gvctl graph edges create --tenant acme --from "service:$META" \
  --relation depends_on --to service:checkout >/dev/null
# A cycle: checkout and META depend on each other.
gvctl graph edges create --tenant acme --from service:checkout \
  --relation uses --to "service:$META" >/dev/null
gvctl graph edges create --tenant acme --from cert:other-tls \
  --relation deployed_to --to deployment:other-prod >/dev/null
gvctl graph edges create --tenant acme --from deployment:other-prod \
  --relation runs_on --to host:web-2 >/dev/null
# A CDN that trusts the intermediate.
gvctl graph nodes create --tenant acme --kind target --name cdn >/dev/null
gvctl graph edges create --tenant acme --from target:cdn --relation uses \
  --to issuer:acme-int >/dev/null

step "SQL metacharacters are stored and returned verbatim"
got=$(vctl_json --token "$OP_TOKEN" graph nodes list --tenant acme --kind service |
  jget '"\n".join(i["name"] for i in d["items"])')
grep -qxF -- "$META" <<<"$got" || fail "node name not verbatim: $got"
[ "$(psql_q "SELECT count(*) FROM graph_nodes WHERE name = \$\$$META\$\$")" = 1 ] ||
  fail "the node name is not stored verbatim"
[ "$(psql_q "SELECT count(*) FROM audit_events WHERE type = 'graph.node.created'")" = 7 ] ||
  fail "node creations are not audited"
[ "$(psql_q "SELECT count(*) FROM audit_events WHERE type = 'graph.edge.created'")" = 8 ] ||
  fail "edge creations are not audited"

step "blast radius of cert:payments-tls (read-only: no audit event)"
audit_before=$(psql_q "SELECT count(*) FROM audit_events")
VIGIL_TOKEN=$ISSUER_TOKEN
api GET "/graph/blast-radius?node=cert:payments-tls" >"$W/br-a.json"
[ "$API_STATUS" = 200 ] || fail "blast radius: $API_STATUS $(cat "$W/br-a.json")"
K1="$K1" K2="$K2" A="$A" B="$B" C="$C" META="$META" "$EDGE_PY" - "$W/br-a.json" <<'EOF' || fail "blast radius of cert:payments-tls is wrong: $(cat "$W/br-a.json")"
import json, os, sys
d = json.load(open(sys.argv[1]))
e = os.environ
aff = d["affected"]
def steps(p):
    return [(s.get("relation"), s["node"], bool(s.get("reverse"))) for s in p]
certs = {c["id"]: c for c in aff["certificates"]}
assert set(certs) == {e["A"], e["B"]}, ("certificates", sorted(certs))
assert e["C"] not in certs
assert steps(certs[e["A"]]["path"]) == [(None, "cert:payments-tls", False)]
assert steps(certs[e["B"]]["path"]) == [
    (None, "cert:payments-tls", False),
    ("has_key", "key:" + e["K1"], False),
    ("key_of", "cert:payments-tls-backup", False)], certs[e["B"]]["path"]
assert certs[e["B"]]["spki_sha256"] == e["K1"]
assert all(c["exposed"] and c["status"] == "active" for c in certs.values())
assert [k["spki_sha256"] for k in aff["keys"]] == [e["K1"]]
assert aff["keys"][0]["certificates"] == 2
dep = {x["ref"]: x for x in aff["deployments"]}
assert set(dep) == {"deployment:payments-prod"}, dep
assert dep["deployment:payments-prod"]["attributes"] == {"env": "prod"}
assert steps(dep["deployment:payments-prod"]["path"]) == [
    (None, "cert:payments-tls", False),
    ("deployed_to", "deployment:payments-prod", False)]
hosts = {x["ref"]: x for x in aff["hosts"]}
assert set(hosts) == {"host:web-1"}, hosts
assert steps(hosts["host:web-1"]["path"])[-1] == ("runs_on", "host:web-1", False)
svc = {x["ref"]: x for x in aff["services"]}
meta = "service:" + e["META"]
assert set(svc) == {"service:checkout", meta}, svc
assert steps(svc["service:checkout"]["path"])[-1] == \
    ("depends_on", "service:checkout", True)
assert svc[meta]["name"] == e["META"]
assert steps(svc[meta]["path"])[-2:] == [
    ("depends_on", "service:checkout", True), ("depends_on", meta, True)], \
    svc[meta]["path"]
assert aff["issuers"] == [] and aff["targets"] == []
assert d["count"] == 2 + 1 + 1 + 1 + 2, d["count"]
assert d["truncated"] is False
EOF
api GET "/graph/blast-radius?node=cert:payments-tls&tenant=acme" >/dev/null
[ "$API_STATUS" = 200 ] || fail "blast radius with tenant: $API_STATUS"
[ "$(psql_q "SELECT count(*) FROM audit_events")" = "$audit_before" ] ||
  fail "a blast-radius read wrote audit events"

step "blast radius by key: the same certificates"
api GET "/graph/blast-radius?node=key:${K1^^}" >"$W/br-k.json"
[ "$API_STATUS" = 200 ] || fail "key blast radius: $API_STATUS"
"$EDGE_PY" -c "
import json,sys
d = json.load(open('$W/br-k.json'))
ids = sorted(c['id'] for c in d['affected']['certificates'])
assert ids == sorted(['$A', '$B']), ids
assert d['affected']['hosts'][0]['ref'] == 'host:web-1'
" || fail "key blast radius wrong: $(cat "$W/br-k.json")"

step "blast radius of the intermediate: every certificate below it, only those"
api GET "/graph/blast-radius?node=issuer:acme-int" >"$W/br-i.json"
[ "$API_STATUS" = 200 ] || fail "issuer blast radius: $API_STATUS"
"$EDGE_PY" -c "
import json,sys
d = json.load(open('$W/br-i.json'))
a = d['affected']
ids = sorted(c['id'] for c in a['certificates'])
assert ids == sorted(['$I1', '$I2']), ids
assert [i['issuer_id'] for i in a['issuers']] == ['acme-int']
for c in a['certificates']:
    assert [s['node'] for s in c['path']] == ['issuer:acme-int', 'cert:' + c['name']], c
assert a['deployments'] == [] and a['hosts'] == []
assert [(t['ref'], [(s.get('relation'), s['node'], bool(s.get('reverse'))) for s in t['path']])
        for t in a['targets']] == [('target:cdn', [(None, 'issuer:acme-int', False),
                                                  ('uses', 'target:cdn', True)])], a['targets']
" || fail "intermediate blast radius wrong: $(cat "$W/br-i.json")"
api GET "/graph/blast-radius?node=issuer:acme-ca" >"$W/br-r.json"
"$EDGE_PY" -c "
import json,sys
d = json.load(open('$W/br-r.json'))
a = d['affected']
assert sorted(c['id'] for c in a['certificates']) == sorted(['$A','$B','$C','$I1','$I2'])
assert [i['issuer_id'] for i in a['issuers']] == ['acme-ca', 'acme-int']
leaf = [c for c in a['certificates'] if c['id'] == '$I1'][0]
assert [s['node'] for s in leaf['path']] == ['issuer:acme-ca', 'issuer:acme-int', 'cert:int-leaf-1'], leaf
assert sorted(x['ref'] for x in a['hosts']) == ['host:web-1', 'host:web-2']
" || fail "root blast radius wrong: $(cat "$W/br-r.json")"

step "revoked certificates are listed but not exposed"
gvctl graph nodes create --tenant acme --kind deployment --name backup-prod \
  >/dev/null
gvctl graph edges create --tenant acme --from cert:payments-tls-backup \
  --relation deployed_to --to deployment:backup-prod >/dev/null
api GET "/graph/blast-radius?node=key:$K1" |
  jget 'sorted(x["ref"] for x in d["affected"]["deployments"])' |
  grep -qxF "['deployment:backup-prod', 'deployment:payments-prod']" ||
  fail "backup-prod not reached through the active same-key certificate"
vctl certificates revoke "$B" --reason keyCompromise >/dev/null
api GET "/graph/blast-radius?node=key:$K1" >"$W/br-k2.json"
"$EDGE_PY" -c "
import json
d = json.load(open('$W/br-k2.json'))
c = {x['id']: x for x in d['affected']['certificates']}
assert c['$B']['status'] == 'revoked' and c['$B']['exposed'] is False
assert c['$A']['exposed'] is True and d['exposed_certificates'] == 1
assert [x['ref'] for x in d['affected']['deployments']] == ['deployment:payments-prod']
" || fail "revoked certificate not flagged: $(cat "$W/br-k2.json")"

step "vigilctl graph blast-radius: grouped by kind, with paths"
vctl graph blast-radius cert:payments-tls >"$W/br.txt"
grep -q '^deployments (1):' "$W/br.txt" || fail "no deployments group: $(cat "$W/br.txt")"
grep -qF 'path: cert:payments-tls -deployed_to-> deployment:payments-prod -runs_on-> host:web-1' \
  "$W/br.txt" || fail "host path missing: $(cat "$W/br.txt")"
grep -qF "service:checkout <-depends_on- service:$META" "$W/br.txt" ||
  fail "dependent service path missing: $(cat "$W/br.txt")"
vctl_json graph blast-radius cert:payments-tls --tenant acme |
  jget 'd["node"]' | grep -qx 'cert:payments-tls' || fail "--json output"

step "errors: unknown node 404, bad syntax 400 naming node, bad edges 422"
api GET "/graph/blast-radius?node=cert:no-such-cert" >"$W/e.json"
[ "$API_STATUS" = 404 ] || fail "unknown node: $API_STATUS"
api GET "/graph/blast-radius?node=issuer:no-such-ca" >/dev/null
[ "$API_STATUS" = 404 ] || fail "unknown issuer: $API_STATUS"
for bad in "payments-tls" "key:zz" "cert:" "host:web-1" "bogus:x"; do
  api GET "/graph/blast-radius?node=$bad" >"$W/e.json"
  [ "$API_STATUS" = 400 ] || fail "node=$bad: $API_STATUS"
  grep -q '\\"node\\"' "$W/e.json" || fail "node=$bad: error does not name node"
done
api GET "/graph/blast-radius" >"$W/e.json"
[ "$API_STATUS" = 400 ] || fail "missing node: $API_STATUS"
rc=0
vctl graph blast-radius cert:no-such-cert >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "vigilctl on an unknown node exited $rc"
VIGIL_TOKEN=$OP_TOKEN
api POST /graph/edges '{"tenant":"acme","from":"service:checkout","to":"host:nope","relation":"runs_on"}' >"$W/e.json"
[ "$API_STATUS" = 422 ] && grep -q '\\"to\\"' "$W/e.json" ||
  fail "edge to an unknown node: $API_STATUS $(cat "$W/e.json")"
api POST /graph/edges '{"tenant":"acme","from":"host:web-1","to":"cert:payments-tls","relation":"deployed_to"}' >"$W/e.json"
[ "$API_STATUS" = 422 ] && grep -q '\\"to\\"' "$W/e.json" ||
  fail "placement onto a certificate: $API_STATUS $(cat "$W/e.json")"
api POST /graph/edges '{"tenant":"acme","from":"host:web-1","to":"host:web-2","relation":"owns"}' >"$W/e.json"
[ "$API_STATUS" = 422 ] && grep -q '\\"relation\\"' "$W/e.json" ||
  fail "unknown relation: $API_STATUS $(cat "$W/e.json")"
api POST /graph/nodes '{"tenant":"acme","kind":"router","name":"r1"}' >"$W/e.json"
[ "$API_STATUS" = 422 ] && grep -q '\\"kind\\"' "$W/e.json" ||
  fail "unknown kind: $API_STATUS $(cat "$W/e.json")"
api POST /graph/nodes '{"tenant":"acme","kind":"host","name":"web-1"}' >/dev/null
[ "$API_STATUS" = 409 ] || fail "duplicate node: $API_STATUS"

step "auditor: reads 200, writes 403"
VIGIL_TOKEN=$AUD_TOKEN
api GET "/graph/blast-radius?node=cert:payments-tls" >/dev/null
[ "$API_STATUS" = 200 ] || fail "auditor read: $API_STATUS"
api GET "/graph/nodes?tenant=acme" >/dev/null
[ "$API_STATUS" = 200 ] || fail "auditor list: $API_STATUS"
api POST /graph/nodes '{"tenant":"acme","kind":"host","name":"web-9"}' >/dev/null
[ "$API_STATUS" = 403 ] || fail "auditor write: $API_STATUS"
VIGIL_TOKEN=$ISSUER_TOKEN
api POST /graph/nodes '{"tenant":"acme","kind":"host","name":"web-9"}' >/dev/null
[ "$API_STATUS" = 403 ] || fail "issuer-only token wrote the graph: $API_STATUS"

step "deleting a node removes its edges, audited"
VIGIL_TOKEN=$OP_TOKEN
nid=$(api GET "/graph/nodes?tenant=acme&kind=host" |
  jget '[i["id"] for i in d["items"] if i["name"] == "web-1"][0]')
api DELETE "/graph/nodes/$nid" >"$W/del.json"
[ "$API_STATUS" = 200 ] || fail "delete node: $API_STATUS"
jget 'd["edges_removed"]' <"$W/del.json" | grep -qx 1 || fail "edges_removed"
[ "$(psql_q "SELECT count(*) FROM audit_events WHERE type = 'graph.node.deleted'")" = 1 ] ||
  fail "node deletion not audited"
VIGIL_TOKEN=$ISSUER_TOKEN
api GET "/graph/blast-radius?node=cert:payments-tls" | jget 'd["affected"]["hosts"]' |
  grep -qx '\[\]' || fail "a deleted host still in the blast radius"

step "depth bound: a dependency chain longer than max_depth is cut, truncated"
VIGIL_TOKEN=$OP_TOKEN
prev=deployment:payments-prod
for i in $(seq 1 17); do
  api POST /graph/nodes "{\"tenant\":\"acme\",\"kind\":\"service\",\"name\":\"chain-$i\"}" >/dev/null
  [ "$API_STATUS" = 201 ] || fail "chain node $i: $API_STATUS"
  api POST /graph/edges "{\"tenant\":\"acme\",\"from\":\"service:chain-$i\",\"to\":\"$prev\",\"relation\":\"depends_on\"}" >/dev/null
  [ "$API_STATUS" = 201 ] || fail "chain edge $i: $API_STATUS"
  prev=service:chain-$i
done
VIGIL_TOKEN=$ISSUER_TOKEN
api GET "/graph/blast-radius?node=cert:payments-tls" >"$W/br-d.json"
"$EDGE_PY" -c "
import json
d = json.load(open('$W/br-d.json'))
names = {s['name'] for s in d['affected']['services']}
depth = d['max_depth']
# chain-i sits at depth i + 1 (the deployment is at depth 1).
assert {'chain-%d' % i for i in range(1, depth)} <= names, names
assert 'chain-%d' % depth not in names and 'chain-17' not in names, names
assert d['truncated'] is True
" || fail "depth bound: $(cat "$W/br-d.json")"

step "tenant visibility: a same-key certificate in another tenant"
stack_tenant beta beta-ca # VIGIL_TOKEN: a new unscoped issuer token
BETA=$(vctl_json certificates create --tenant beta --name beta-pay \
  --csr "$W/k1.csr" --dns beta.test | jget 'd["id"]')
api GET "/graph/blast-radius?node=cert:payments-tls&tenant=acme" >"$W/br-t.json"
"$EDGE_PY" -c "
import json
d = json.load(open('$W/br-t.json'))
c = {x['id']: x for x in d['affected']['certificates']}
assert '$BETA' in c and c['$BETA']['tenant'] == 'beta', c
assert [s['node'] for s in c['$BETA']['path']][-1] == 'cert:beta-pay'
" || fail "unscoped caller misses the other tenant: $(cat "$W/br-t.json")"
VIGIL_TOKEN=$(vctl_json --token-file "$STACK_BOOT" tokens create \
  --name acme-aud --role auditor --tenant acme | jget 'd["token"]')
api GET "/graph/blast-radius?node=cert:payments-tls" >"$W/br-s.json"
[ "$API_STATUS" = 200 ] || fail "scoped read: $API_STATUS"
grep -q "$BETA" "$W/br-s.json" && fail "an acme-only token sees tenant beta"
api GET "/graph/blast-radius?node=cert:beta-pay" >/dev/null
[ "$API_STATUS" = 404 ] || fail "an acme-only token found beta's cert: $API_STATUS"
api GET "/graph/blast-radius?node=cert:beta-pay&tenant=beta" >/dev/null
[ "$API_STATUS" = 403 ] || fail "an acme-only token asked for tenant beta: $API_STATUS"

step "vigil-control stops cleanly on SIGTERM, no sanitizer report in its log"
stack_control_stop_clean

edge_done ctl_graph
