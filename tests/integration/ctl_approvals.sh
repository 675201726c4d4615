#!/usr/bin/env bash
# ctl_approvals.sh: dual control and break-glass (issue 5,
# docs/dual-control.md), end to end against the real stack (Postgres,
# Redis, vigil-signer, vigil-control serve, vigil-edge), driven with
# vigilctl and curl, judged with curl, openssl ocsp and psql.
#
#   dual control for revoke on tenant acme: the requester alone is refused
#   (403 approval_required, the certificate stays active); a self-approval
#   is refused (API 403 self_approval, and the database's CHECK); a
#   distinct approver approves and the requester's revoke proceeds (the
#   edge answers revoked); the spent approval does not revoke another
#   certificate; an approval is the requester's only; expired and denied
#   approvals do not count; break-glass revokes with a credential and a
#   reason, shows in /health until another principal reviews it; issue
#   gating; every step is an audit event and the chain verifies.
set -euo pipefail
source "$(dirname "$0")/stack_common.bash"

stack_up ctl-approvals
W=$STACK_DIR
OPS=$VIGIL_TOKEN # "ops-acme": issuer

# call TOKEN METHOD PATH [JSON [BREAK_GLASS_REASON]]: sets CODE and BODY
# (no subshell, so the caller sees both).
call() {
  local args=(-s -m 30 --cacert "$VIGIL_CACERT" -X "$2" -o "$W/call.out"
    -w '%{http_code}' -H "Authorization: Bearer $1")
  if [ "$#" -ge 4 ] && [ -n "$4" ]; then
    args+=(-H 'Content-Type: application/json' --data-binary "$4")
  fi
  if [ "$#" -ge 5 ] && [ -n "$5" ]; then
    args+=(-H "X-Vigil-Break-Glass: $5")
  elif [ "$#" -ge 5 ]; then
    args+=(-H "X-Vigil-Break-Glass;") # curl's way to send an empty header
  fi
  CODE=$(curl "${args[@]}" "$VIGIL_URL/api/v1$3") || CODE=000
  BODY=$(cat "$W/call.out")
}
expect_code() { # WANT WHAT
  [ "$CODE" = "$1" ] || fail "$2: HTTP $CODE, expected $1: $BODY"
}
err_code() { printf '%s' "$BODY" | jget 'd["error"]["code"]'; }
field() { printf '%s' "$BODY" | jget "d[\"$1\"]"; }
token_for() { # NAME ROLE...
  local name=$1 args=()
  shift
  for r in "$@"; do args+=(--role "$r"); done
  vctl_json --token-file "$STACK_BOOT" tokens create --name "$name" \
    "${args[@]}" | jget 'd["token"]'
}
cert_status() { VIGIL_TOKEN=$OPS vctl_json certificates get "$1" | jget 'd["status"]'; }
issue() { # NAME -> id; PEM in $W/NAME.pem
  VIGIL_TOKEN=$OPS vctl_json certificates create --tenant acme --name "$1" \
    --dns "$1.acme.test" --key-out "$W/$1.key" --cert-out "$W/$1.pem" |
    jget 'd["id"]'
}
revoke_body='{"reason":"keyCompromise"}'
audit_count() { # TYPE
  vctl_json --token-file "$STACK_BOOT" audit list --type "$1" |
    jget 'len(d["items"])'
}

step "principals: alice (issuer+approver), bob (approver), carol (issuer)"
ALICE=$(token_for alice issuer approver)
BOB=$(token_for bob approver)
CAROL=$(token_for carol issuer)
C1=$(issue web1)
C2=$(issue web2)
C3=$(issue web3)

step "dual control for revoke on acme (admin only; audited)"
rc=0
VIGIL_TOKEN=$CAROL vctl dual-control set acme --revoke >/dev/null 2>&1 || rc=$?
[ "$rc" = 4 ] || fail "an issuer could set the policy (exit $rc)"
out=$(vctl_json --token-file "$STACK_BOOT" dual-control set acme --revoke)
[ "$(printf '%s' "$out" | jget '(d["revoke"], d["issue"], d["execute"])')" = \
  "(True, False, False)" ] || fail "policy not set: $out"
[ "$(audit_count dual_control.updated)" = 1 ] || fail "no dual_control.updated event"

step "the requester alone is refused: 403 approval_required; still active"
call "$ALICE" POST "/certificates/$C1/revoke" "$revoke_body"
expect_code 403 "revoke without approval"
[ "$(err_code)" = approval_required ] || fail "wrong error: $BODY"
expect_in "$BODY" "/api/v1/identities/$C1/approvals" "the error names the request"
[ "$(cert_status "$C1")" = active ] || fail "revoked without approval"
rc=0
VIGIL_TOKEN=$ALICE vctl certificates revoke "$C1" --reason keyCompromise \
  >/dev/null 2>"$W/vctl.err" || rc=$?
[ "$rc" = 4 ] || fail "vigilctl revoke without approval exited $rc"
expect_in "$(cat "$W/vctl.err")" "approval" "vigilctl says what to ask for"

step "alice opens a request; approving it herself is refused (API and SQL)"
A1=$(VIGIL_TOKEN=$ALICE vctl_json approvals request "$C1" \
  --action certificate.revoke --reason "key on a laptop" | jget 'd["id"]')
[ "$(VIGIL_TOKEN=$BOB vctl_json approvals list --status pending |
  jget "[a['id'] for a in d['items']]")" = "['$A1']" ] ||
  fail "the pending request is not listed"
call "$ALICE" POST "/approvals/$A1/approve"
expect_code 403 "self-approval"
[ "$(err_code)" = self_approval ] || fail "self-approval: $BODY"
rc=0
VIGIL_TOKEN=$ALICE vctl approvals approve "$A1" >/dev/null 2>&1 || rc=$?
[ "$rc" = 4 ] || fail "vigilctl self-approval exited $rc"
call "$CAROL" POST "/approvals/$A1/approve"
expect_code 403 "approval without the approver role"
if psql_q "UPDATE approvals SET status = 'approved', approver = requester
           WHERE id = '$A1'" >/dev/null 2>"$W/psql.err"; then
  fail "the database accepted a self-approval"
fi
expect_in "$(cat "$W/psql.err")" "approvals_not_self" "the CHECK refuses it"
[ "$(VIGIL_TOKEN=$BOB vctl_json approvals get "$A1" | jget 'd["status"]')" = pending ] ||
  fail "the request changed"

step "bob approves; it is alice's: carol still cannot revoke"
out=$(VIGIL_TOKEN=$BOB vctl_json approvals approve "$A1")
[ "$(printf '%s' "$out" | jget '(d["status"], d["approver_name"])')" = \
  "('approved', 'bob')" ] || fail "approve: $out"
call "$CAROL" POST "/certificates/$C1/revoke" "$revoke_body"
expect_code 403 "someone else's approval"
[ "$(cert_status "$C1")" = active ] || fail "revoked on another's approval"

step "alice's revoke proceeds; the edge answers revoked"
VIGIL_TOKEN=$ALICE vctl certificates revoke "$C1" --reason keyCompromise \
  --wait >"$W/revoke.out"
expect_in "$(cat "$W/revoke.out")" "revocation_queue_status: published" "revoke published"
[ "$(cert_status "$C1")" = revoked ] || fail "not revoked"
[ "$(VIGIL_TOKEN=$BOB vctl_json approvals get "$A1" | jget 'd["status"]')" = consumed ] ||
  fail "the approval is not consumed"
out=$(ocsp -issuer "$STACK_CA" -cert "$W/web1.pem" -url "$EDGE_URL/ocsp/acme" \
  -CAfile "$STACK_CA" -no_nonce)
expect_in "$out" "web1.pem: revoked" "the edge after an approved revoke"

step "the spent approval does not revoke another certificate (nor again)"
call "$ALICE" POST "/certificates/$C2/revoke" "$revoke_body"
expect_code 403 "a spent approval"
[ "$(err_code)" = approval_required ] || fail "spent approval: $BODY"
[ "$(cert_status "$C2")" = active ] || fail "revoked with a spent approval"
[ "$(audit_count approval.consumed)" = 1 ] || fail "approval.consumed events"

step "an approval that expires unused is refused"
A2=$(VIGIL_TOKEN=$ALICE vctl_json approvals request "$C2" \
  --action revoke --ttl 12 | jget 'd["id"]')
VIGIL_TOKEN=$BOB vctl approvals approve "$A2" >/dev/null
is_expired() {
  [ "$(VIGIL_TOKEN=$BOB vctl_json approvals get "$A2" | jget 'd["status"]')" = expired ]
}
vigil_wait_for -t "$EDGE_WAIT" -m "approval $A2 expired" is_expired ||
  fail "the approval did not expire"
call "$ALICE" POST "/certificates/$C2/revoke" "$revoke_body"
expect_code 403 "an expired approval"
[ "$(cert_status "$C2")" = active ] || fail "revoked with an expired approval"
A3=$(VIGIL_TOKEN=$ALICE vctl_json approvals request "$C2" \
  --action revoke --ttl 1 | jget 'd["id"]')
A3_expired() {
  VIGIL_TOKEN=$BOB vctl_json approvals list --status expired |
    jget "'$A3' in [a['id'] for a in d['items']]" | grep -qx True
}
vigil_wait_for -t "$EDGE_WAIT" -m "approval $A3 expired" A3_expired ||
  fail "the pending request did not expire"
call "$BOB" POST "/approvals/$A3/approve"
expect_code 409 "approving an expired request"
[ "$(err_code)" = expired ] || fail "approving an expired request: $BODY"
[ "$(audit_count approval.expired)" = 2 ] || fail "approval.expired events"

step "a denied request does not count"
A4=$(VIGIL_TOKEN=$ALICE vctl_json approvals request "$C2" --action revoke |
  jget 'd["id"]')
out=$(VIGIL_TOKEN=$BOB vctl_json approvals deny "$A4" --note "not convinced")
[ "$(printf '%s' "$out" | jget 'd["status"]')" = denied ] || fail "deny: $out"
call "$BOB" POST "/approvals/$A4/approve"
expect_code 409 "approving a denied request"
call "$ALICE" POST "/certificates/$C2/revoke" "$revoke_body"
expect_code 403 "a denied approval"
[ "$(cert_status "$C2")" = active ] || fail "revoked after a denial"

step "break-glass: a credential and a reason skip the second person"
rc=0
VIGIL_TOKEN=$CAROL vctl break-glass create --name bg-nope >/dev/null 2>&1 || rc=$?
[ "$rc" = 4 ] || fail "an issuer minted a break-glass credential (exit $rc)"
BG=$(vctl_json --token-file "$STACK_BOOT" break-glass create --name glass \
  --note "safe 2, envelope 7" | jget 'd["token"]')
call "$BG" POST "/certificates/$C2/revoke" "$revoke_body"
expect_code 403 "break-glass credential without the header"
[ "$(err_code)" = approval_required ] || fail "without the header: $BODY"
call "$ALICE" POST "/certificates/$C2/revoke" "$revoke_body" "prod is on fire"
expect_code 403 "the header without a credential"
[ "$(err_code)" = break_glass_refused ] || fail "header without credential: $BODY"
call "$BG" POST "/certificates/$C2/revoke" "$revoke_body" ""
expect_code 400 "break-glass without a reason"
call "$BG" POST "/certificates/$C2/revoke" "$revoke_body" "$(printf 'x%.0s' {1..513})"
expect_code 400 "break-glass with a reason over 512 bytes"
[ "$(cert_status "$C2")" = active ] || fail "revoked without a proper break-glass"
call "$BG" POST "/certificates/$C2/revoke" "$revoke_body" "key posted on a pastebin"
expect_code 200 "break-glass revoke"
[ "$(cert_status "$C2")" = revoked ] || fail "break-glass did not revoke"
ev=$(vctl_json --token-file "$STACK_BOOT" audit list --type breakglass.used)
[ "$(printf '%s' "$ev" | jget 'd["items"][0]["details"]["reason"]')" = \
  "key posted on a pastebin" ] || fail "breakglass.used: $ev"
curl -s --cacert "$VIGIL_CACERT" "$VIGIL_URL/api/v1/health" >"$W/health"
[ "$(jget 'd.get("warnings")' <"$W/health")" = \
  "['1 open break-glass reconciliation item(s): GET /api/v1/reconciliations?status=open']" ] ||
  fail "/health does not warn: $(cat "$W/health")"
out=$(VIGIL_TOKEN=$BOB vctl_json reconciliations list --status open)
R1=$(printf '%s' "$out" | jget 'd["items"][0]["id"]')
[ "$(printf '%s' "$out" | jget '(len(d["items"]), d["items"][0]["principal_name"], d["items"][0]["identity"])')" = \
  "(1, 'glass', '$C2')" ] || fail "reconciliation item: $out"

step "reconciliation: not by the one who broke glass; then by bob"
call "$BG" POST "/reconciliations/$R1/review"
expect_code 403 "review by the one who broke glass"
bg_id=$(psql_q "SELECT principal FROM reconciliations WHERE id = '$R1'")
if psql_q "UPDATE reconciliations SET status = 'reviewed', reviewer = '$bg_id'
           WHERE id = '$R1'" >/dev/null 2>"$W/psql.err"; then
  fail "the database accepted a self-review"
fi
expect_in "$(cat "$W/psql.err")" "reconciliations_not_self" "the CHECK refuses it"
out=$(VIGIL_TOKEN=$BOB vctl_json reconciliations review "$R1" --note "confirmed with on-call")
[ "$(printf '%s' "$out" | jget '(d["status"], d["reviewer_name"])')" = \
  "('reviewed', 'bob')" ] || fail "review: $out"
call "$BOB" POST "/reconciliations/$R1/review"
expect_code 409 "a second review"
curl -s --cacert "$VIGIL_CACERT" "$VIGIL_URL/api/v1/health" >"$W/health"
[ "$(jget 'd.get("warnings")' <"$W/health")" = None ] ||
  fail "/health still warns: $(cat "$W/health")"

step "dual control for issue (revoke off): gated by name, once per approval"
vctl --token-file "$STACK_BOOT" dual-control set acme --issue >/dev/null
gated='{"tenant":"acme","name":"gated","generate":{"key_type":"p256","dns":["gated.acme.test"]}}'
nosan='{"tenant":"acme","name":"gated","generate":{"key_type":"p256"}}'
call "$ALICE" POST /certificates "$gated"
expect_code 403 "issue without approval"
[ "$(err_code)" = approval_required ] || fail "issue without approval: $BODY"
A5=$(VIGIL_TOKEN=$ALICE vctl_json approvals request gated --tenant acme \
  --action certificate.issue | jget 'd["id"]')
VIGIL_TOKEN=$BOB vctl approvals approve "$A5" >/dev/null
# Documented: an approval is spent by the attempt, even one that fails.
call "$ALICE" POST /certificates "$nosan"
expect_code 422 "an issue the signer refuses"
call "$ALICE" POST /certificates "$gated"
expect_code 403 "an approval spent by a failed attempt"
A6=$(VIGIL_TOKEN=$ALICE vctl_json approvals request gated --tenant acme \
  --action issue | jget 'd["id"]')
VIGIL_TOKEN=$BOB vctl approvals approve "$A6" >/dev/null
call "$ALICE" POST /certificates "$gated"
expect_code 201 "issue with approval"
call "$ALICE" POST /certificates "$gated"
expect_code 403 "a second issue on the same approval"
call "$CAROL" POST "/certificates/$C3/revoke" "$revoke_body"
expect_code 200 "revoke once the policy is off"

step "vigilctl --break-glass: the emergency issue skips the approver, opens an item"
open_before=$(vctl_json --token-file "$STACK_BOOT" reconciliations list |
  jget 'len([i for i in d["items"] if i["status"] == "open"])')
rc=0
VIGIL_TOKEN=$BG vctl certificates create --tenant acme --name bg-web \
  --dns bg-web.acme.test --key-out "$W/bgw.key" >/dev/null 2>&1 || rc=$?
[ "$rc" = 4 ] || fail "an ungated issue without --break-glass (exit $rc)"
VIGIL_TOKEN=$BG vctl --break-glass "replacement while the approver sleeps" \
  certificates create --tenant acme --name bg-web --dns bg-web.acme.test \
  --key-out "$W/bgw2.key" >/dev/null || fail "vigilctl --break-glass issue"
open_after=$(vctl_json --token-file "$STACK_BOOT" reconciliations list |
  jget 'len([i for i in d["items"] if i["status"] == "open"])')
[ "$open_after" = $((open_before + 1)) ] ||
  fail "open reconciliation items: $open_before -> $open_after"
rc=0
VIGIL_TOKEN=$BG vctl --break-glass "" certificates list >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "an empty --break-glass reason was accepted (exit $rc)"

step "every step is in the audit log; the chain verifies"
for t in dual_control.updated approval.requested approval.approved \
  approval.denied approval.expired approval.consumed \
  breakglass.credential_created breakglass.used reconciliation.reviewed; do
  [ "$(audit_count "$t")" -ge 1 ] || fail "no audit event $t"
done
[ "$(audit_count approval.requested)" = 6 ] || fail "approval.requested events"
[ "$(audit_count approval.consumed)" = 3 ] || fail "approval.consumed events"
"$STACK_CONTROL_BIN" --database-url "$VIGIL_PG_URL" audit-verify >/dev/null ||
  fail "audit-verify failed"

step "tenant scope: an approver confined to another tenant sees and decides nothing here"
vctl --token-file "$STACK_BOOT" tenants create beta >/dev/null || fail "tenants create beta"
BETA=$(vctl_json --token-file "$STACK_BOOT" tokens create --name beta-approver \
  --role approver --tenant beta | jget 'd["token"]')
A7=$(VIGIL_TOKEN=$ALICE vctl_json approvals request "$C2" --action execute |
  jget 'd["id"]')
call "$BETA" GET "/approvals/$A7"
expect_code 404 "another tenant's approval, read"
call "$BETA" GET /approvals
expect_code 200 "list in another tenant"
[ "$(field items)" = "[]" ] || fail "another tenant's approvals listed: $BODY"
call "$BETA" POST "/approvals/$A7/approve"
expect_code 404 "another tenant's approval, approved"
[ "$(VIGIL_TOKEN=$BOB vctl_json approvals get "$A7" | jget 'd["status"]')" = pending ] ||
  fail "a foreign approver changed the request"
call "$BETA" GET /tenants/acme/dual-control
expect_code 403 "another tenant's policy"
call "$BETA" GET /reconciliations
[ "$(field items)" = "[]" ] || fail "another tenant's reconciliations listed: $BODY"
call "$BETA" POST "/reconciliations/$R1/review"
expect_code 404 "another tenant's reconciliation item"

edge_done ctl_approvals
