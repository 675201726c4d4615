#!/usr/bin/env bash
# ctl_tokens.sh: API token lifecycle (docs/api.md "Token expiry and
# revocation") against the real stack, judged with curl and psql:
#   expires_in / expires_at on POST /tokens (validated, stored, shown);
#   an expired token gets 401 "token expired"; POST /tokens/{id}/revoke
#   (admin only, audited, 404/409) and the next use is 401 "token
#   revoked"; the database keeps revocation and expiry one-way; vigilctl
#   tokens create --expires-in and tokens revoke.
set -euo pipefail
source "$(dirname "$0")/stack_common.bash"

step "the stack"
stack_up tokens
W=$STACK_DIR
BOOT=$(cat "$STACK_BOOT")

# as TOKEN METHOD PATH [JSON]: api with another token; body on stdout.
as() {
  local tok=$1
  shift
  VIGIL_TOKEN=$tok api "$@"
}
errmsg() { jget 'd["error"]["message"]'; }

step "POST /tokens validates expires_in and expires_at"
as "$BOOT" POST /tokens '{"name": "x1", "roles": ["auditor"], "expires_in": 0}' >"$W/o"
[ "$API_STATUS" = 422 ] && grep -q expires_in "$W/o" || fail "expires_in 0: $API_STATUS $(cat "$W/o")"
as "$BOOT" POST /tokens '{"name": "x1", "roles": ["auditor"], "expires_in": "60"}' >"$W/o"
[ "$API_STATUS" = 422 ] || fail "expires_in string: $API_STATUS"
as "$BOOT" POST /tokens '{"name": "x1", "roles": ["auditor"], "expires_in": 315360001}' >"$W/o"
[ "$API_STATUS" = 422 ] || fail "expires_in over 10 years: $API_STATUS"
as "$BOOT" POST /tokens '{"name": "x1", "roles": ["auditor"], "expires_at": "2020-01-01T00:00:00Z"}' >"$W/o"
[ "$API_STATUS" = 422 ] && grep -q future "$W/o" || fail "past expires_at: $API_STATUS $(cat "$W/o")"
as "$BOOT" POST /tokens '{"name": "x1", "roles": ["auditor"], "expires_at": "tomorrow"}' >"$W/o"
[ "$API_STATUS" = 422 ] && grep -q RFC "$W/o" || fail "bad expires_at: $API_STATUS $(cat "$W/o")"
as "$BOOT" POST /tokens '{"name": "x1", "roles": ["auditor"], "expires_at": "2099-02-30T00:00:00Z"}' >"$W/o"
[ "$API_STATUS" = 422 ] || fail "Feb 30: $API_STATUS"
as "$BOOT" POST /tokens '{"name": "x1", "roles": ["auditor"], "expires_in": 60, "expires_at": "2099-01-01T00:00:00Z"}' >"$W/o"
[ "$API_STATUS" = 422 ] || fail "both: $API_STATUS"
[ "$(psql_q "SELECT count(*) FROM principals WHERE name = 'x1'")" = 0 ] || fail "a refused request wrote a principal"

step "expires_at is stored and shown; a token without expiry has none"
future=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)
as "$BOOT" POST /tokens "{\"name\": \"later\", \"roles\": [\"auditor\"], \"expires_at\": \"$future\"}" >"$W/o"
[ "$API_STATUS" = 201 ] || fail "expires_at: $API_STATUS $(cat "$W/o")"
[ "$(jget 'd["expires_at"]' <"$W/o")" = "$future" ] || fail "shown expiry: $(cat "$W/o")"
later_tok=$(jget 'd["token"]' <"$W/o")
[ "$(psql_q "SELECT to_char(k.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM api_tokens k JOIN principals p ON p.id = k.principal WHERE p.name = 'later'")" = "$future" ] ||
  fail "stored expiry"
as "$later_tok" GET "/audit?limit=1" >/dev/null
[ "$API_STATUS" = 200 ] || fail "the unexpired token is refused: $API_STATUS"
as "$BOOT" POST /tokens '{"name": "forever", "roles": ["auditor"]}' >"$W/o"
[ "$API_STATUS" = 201 ] || fail "no expiry: $API_STATUS"
[ "$(jget 'd.get("expires_at")' <"$W/o")" = None ] || fail "expiry shown: $(cat "$W/o")"
forever_id=$(jget 'd["id"]' <"$W/o")
forever_tok=$(jget 'd["token"]' <"$W/o")
grep -q '"token.created"' <<<"$(as "$BOOT" GET "/audit?type=token.created&limit=1000")" || fail "no audit"
psql_q "SELECT details::text FROM audit_events WHERE type = 'token.created'" | grep -q "\"expires_at\": \"$future\"" ||
  fail "the expiry is not audited: $(psql_q "SELECT details::text FROM audit_events WHERE type = 'token.created'")"

step "expires_in: works until it expires, then 401 \"token expired\""
as "$BOOT" POST /tokens '{"name": "short", "roles": ["auditor"], "expires_in": 8}' >"$W/o"
[ "$API_STATUS" = 201 ] || fail "expires_in: $API_STATUS $(cat "$W/o")"
short_tok=$(jget 'd["token"]' <"$W/o")
as "$short_tok" GET "/audit?limit=1" >/dev/null
[ "$API_STATUS" = 200 ] || fail "fresh short token refused: $API_STATUS"
expired() {
  as "$short_tok" GET "/audit?limit=1" >"$W/exp"
  [ "$API_STATUS" = 401 ]
}
vigil_wait_for -t 30 -m "the 8 s token to expire" expired || fail "never expired"
[ "$(errmsg <"$W/exp")" = "token expired" ] || fail "message: $(cat "$W/exp")"
as "vgl_$(printf 'A%.0s' $(seq 43))" GET "/audit?limit=1" >"$W/o"
[ "$API_STATUS" = 401 ] && [ "$(errmsg <"$W/o")" = "unknown token" ] || fail "unknown token: $(cat "$W/o")"

step "POST /tokens/{id}/revoke: admin only; the next use is 401 \"token revoked\""
as "$BOOT" POST /tokens '{"name": "victim", "roles": ["issuer"], "tenant": "acme"}' >"$W/o"
victim_id=$(jget 'd["id"]' <"$W/o")
victim_tok=$(jget 'd["token"]' <"$W/o")
as "$victim_tok" GET "/certificates?tenant=acme" >/dev/null
[ "$API_STATUS" = 200 ] || fail "victim cannot list before revocation: $API_STATUS"
as "$later_tok" POST "/tokens/$victim_id/revoke" >"$W/o"
[ "$API_STATUS" = 403 ] || fail "an auditor revoked a token: $API_STATUS"
as "$victim_tok" POST "/tokens/$victim_id/revoke" >"$W/o"
[ "$API_STATUS" = 403 ] || fail "an issuer revoked a token: $API_STATUS"
as "$BOOT" POST "/tokens/00000000-0000-0000-0000-000000000000/revoke" >"$W/o"
[ "$API_STATUS" = 404 ] || fail "unknown id: $API_STATUS"
as "$BOOT" POST "/tokens/not-a-uuid/revoke" >"$W/o"
[ "$API_STATUS" = 404 ] || fail "bad id: $API_STATUS"
as "$BOOT" GET "/tokens/$victim_id/revoke" >"$W/o"
[ "$API_STATUS" = 405 ] || fail "GET revoke: $API_STATUS"
as "$BOOT" POST "/tokens/$victim_id/revoke" >"$W/o"
[ "$API_STATUS" = 200 ] || fail "revoke: $API_STATUS $(cat "$W/o")"
[ "$(jget 'd["tokens_revoked"]' <"$W/o")" = 1 ] || fail "revoke answer: $(cat "$W/o")"
[[ $(jget 'd["revoked_at"]' <"$W/o") =~ ^20[0-9-]+T[0-9:]+Z$ ]] || fail "revoked_at: $(cat "$W/o")"
as "$victim_tok" GET "/certificates?tenant=acme" >"$W/o"
[ "$API_STATUS" = 401 ] && [ "$(errmsg <"$W/o")" = "token revoked" ] || fail "revoked token: $API_STATUS $(cat "$W/o")"
as "$BOOT" POST "/tokens/$victim_id/revoke" >"$W/o"
[ "$API_STATUS" = 409 ] || fail "second revoke: $API_STATUS"
boot_id=$(psql_q "SELECT id FROM principals WHERE kind = 'bootstrap'")
[ "$(psql_q "SELECT count(*) FROM audit_events WHERE type = 'token.revoked' AND subject = 'principal:$victim_id' AND principal = '$boot_id'")" = 1 ] ||
  fail "revocation not audited exactly once"
[ "$(psql_q "SELECT revoked_by FROM api_tokens WHERE principal = '$victim_id'")" = "$boot_id" ] ||
  fail "revoked_by not recorded"

step "a tenant-scoped admin revokes only principals of its tenant"
as "$BOOT" POST /tokens '{"name": "acme-admin", "roles": ["admin"], "tenant": "acme"}' >"$W/o"
[ "$API_STATUS" = 201 ] || fail "scoped admin: $API_STATUS $(cat "$W/o")"
acme_admin=$(jget 'd["token"]' <"$W/o")
as "$acme_admin" POST "/tokens/$forever_id/revoke" >"$W/o"
[ "$API_STATUS" = 404 ] || fail "a scoped admin revoked an unscoped principal: $API_STATUS $(cat "$W/o")"
as "$forever_tok" GET "/audit?limit=1" >/dev/null
[ "$API_STATUS" = 200 ] || fail "the unscoped token stopped working: $API_STATUS"
as "$acme_admin" POST /tokens '{"name": "acme-aud", "roles": ["auditor"]}' >"$W/o"
[ "$API_STATUS" = 201 ] && [ "$(jget 'd["tenant"]' <"$W/o")" = acme ] ||
  fail "a scoped admin made a token outside its tenant: $(cat "$W/o")"
as "$acme_admin" POST "/tokens/$(jget 'd["id"]' <"$W/o")/revoke" >"$W/o"
[ "$API_STATUS" = 200 ] || fail "a scoped admin cannot revoke in its tenant: $API_STATUS $(cat "$W/o")"

step "the database keeps revocation and expiry one-way"
if psql_q "UPDATE api_tokens SET revoked_at = NULL WHERE principal = '$victim_id'" >"$W/o" 2>&1; then
  fail "a revocation was undone"
fi
grep -q "stays revoked" "$W/o" || fail "message: $(cat "$W/o")"
if psql_q "UPDATE api_tokens SET expires_at = expires_at + interval '1 year' WHERE principal = (SELECT id FROM principals WHERE name = 'later')" >"$W/o" 2>&1; then
  fail "an expiry was extended"
fi
as "$later_tok" GET "/audit?limit=1" >/dev/null
[ "$API_STATUS" = 200 ] || fail "later token broke: $API_STATUS"

step "vigilctl: tokens create --expires-in, tokens revoke"
rc=0
vctl --token-file "$STACK_BOOT" tokens create --name bad --role auditor --expires-in 5x >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "bad --expires-in: exit $rc"
vctl_json --token-file "$STACK_BOOT" tokens create --name cli1 --role auditor \
  --expires-in 90d >"$W/cli1.json" 2>/dev/null || fail "tokens create --expires-in"
want=$(date -u -d '+90 days' +%s)
got=$(date -u -d "$(jget 'd["expires_at"]' <"$W/cli1.json")" +%s)
[ $((got - want)) -le 5 ] && [ $((want - got)) -le 60 ] || fail "90d expiry: $(cat "$W/cli1.json")"
cli1_id=$(jget 'd["id"]' <"$W/cli1.json")
cli1_tok=$(jget 'd["token"]' <"$W/cli1.json")
vctl --token-file "$STACK_BOOT" tokens revoke "$cli1_id" >"$W/o" || fail "tokens revoke: $(cat "$W/o")"
grep -q "tokens_revoked: 1" "$W/o" || fail "tokens revoke output: $(cat "$W/o")"
rc=0
VIGIL_TOKEN=$cli1_tok vctl audit list >/dev/null 2>&1 || rc=$?
[ "$rc" = 4 ] || fail "revoked token via vigilctl: exit $rc"
rc=0
vctl --token-file "$STACK_BOOT" tokens revoke "$cli1_id" >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "second vigilctl revoke: exit $rc"
step "a token is shown once: the idempotency record does not keep it"
vctl_json --token-file "$STACK_BOOT" tokens create --name once --role auditor \
  --idempotency-key once-1 >"$W/once.json" 2>/dev/null || fail "tokens create once"
once_tok=$(jget 'd["token"]' <"$W/once.json")
[ "${#once_tok}" -ge 32 ] || fail "no token in the first answer: $(cat "$W/once.json")"
stored=$(psql_q "SELECT convert_from(response_body, 'UTF8') FROM idempotency_keys WHERE key = 'once-1'")
[ -n "$stored" ] || fail "no idempotency record"
expect_not_in "$stored" "$once_tok" "the stored idempotent answer"
vctl_json --token-file "$STACK_BOOT" tokens create --name once --role auditor \
  --idempotency-key once-1 >"$W/once2.json" 2>/dev/null || fail "replay"
[ "$(jget 'd["id"]' <"$W/once2.json")" = "$(jget 'd["id"]' <"$W/once.json")" ] ||
  fail "the replay names another principal: $(cat "$W/once2.json")"
expect_not_in "$(cat "$W/once2.json")" "$once_tok" "the replayed answer"
expect_in "$(cat "$W/once2.json")" "shown once" "the replayed answer"
step "an Idempotency-Key whose first request died unanswered: 409 interrupted, nothing runs"
# The row a claim leaves when its process dies between claiming the key and
# answering: claimed, no response, and no session holding the key's lock.
boot_id=$(psql_q "SELECT id FROM principals WHERE kind = 'bootstrap'")
body='{"name":"orphan","roles":["auditor"]}'
psql_q "INSERT INTO idempotency_keys (principal, key, method, path, request_hash)
  VALUES ('$boot_id', 'died-1', 'POST', '/api/v1/tokens',
          sha256(convert_to('/api/v1/tokens', 'UTF8') || '\x00'::bytea ||
                 convert_to('$body', 'UTF8')))" >/dev/null
VIGIL_TOKEN=$(cat "$STACK_BOOT") API_IDEM_KEY=died-1 api POST /tokens "$body" >"$W/died.json"
[ "$API_STATUS" = 409 ] || fail "interrupted key: HTTP $API_STATUS $(cat "$W/died.json")"
[ "$(jget 'd["error"]["code"]' <"$W/died.json")" = interrupted ] ||
  fail "interrupted key: $(cat "$W/died.json")"
[ "$(psql_q "SELECT count(*) FROM principals WHERE name = 'orphan'")" = 0 ] ||
  fail "the handler ran for an interrupted key"
edge_done ctl_tokens
