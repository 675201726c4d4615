#!/usr/bin/env bash
# incident_crash.sh: vigil-control dies (SIGKILL) at every step boundary of
# an incident execution, restarts, and the execution completes exactly once:
# one replacement certificate, one revocation, every step done once, the
# replacement delivered with the original files kept as *.prev, and a
# sealed evidence pack that verifies offline.
#
# The crash is made deterministic with the test-only failpoint of
# ctl_api_incident.c: VIGIL_CONTROL_FAILPOINT=incident.after.<step> makes
# vigil-control SIGKILL itself right after that step committed (and
# incident.before.<step> right before the commit, after the step's outside
# work: the signer signed a certificate that was never recorded, or the
# files were written but the delivery not recorded). Then vigil-control is
# started again without the failpoint.
set -euo pipefail
# shellcheck source=stack_common.bash
source "$(dirname "$0")/stack_common.bash"

step "the stack (file connector into a temp deploy root)"
stack_init incident-crash
stack_signer_start
DEPLOY=$STACK_DIR/deploy
mkdir -p "$DEPLOY"
CONTROL_OPTS=(--incident-deploy-root "$DEPLOY")
stack_control_start "${CONTROL_OPTS[@]}"
stack_edge_start
stack_tenant acme acme-ca
CA=$STACK_CA
AUDIT_PUB=$STACK_DIR/keys/audit.pub

control_gone() { ! _vigil_pid_alive "$STACK_CONTROL_PID"; }
finished() {
  local s
  s=$(psql_q "SELECT status FROM incident_executions WHERE identity = '$1'") || return 1
  [ "$s" = completed ] && return 0
  [ "$s" = failed ] && return 125
  return 1
}
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }

n=0
for point in after.create after.record_evidence before.issue_replacement \
  after.issue_replacement before.deliver after.deliver after.revoke; do
  n=$((n + 1))
  step "crash at incident.$point, restart, complete exactly once"
  dir=$DEPLOY/svc$n
  mkdir -p "$dir"
  vctl certificates create --tenant acme --name "svc$n" --dns "svc$n.acme.test" \
    --key-out "$dir/key.pem" --cert-out "$dir/cert.pem" >/dev/null || fail "issue svc$n"
  cat "$dir/cert.pem" "$CA" >"$dir/fullchain.pem"
  cp "$dir/cert.pem" "$STACK_DIR/orig$n.pem"
  id=$(psql_q "SELECT id FROM certificates WHERE name = 'svc$n'")

  stack_control_kill9
  export VIGIL_CONTROL_FAILPOINT=incident.$point
  stack_control_start "${CONTROL_OPTS[@]}"
  unset VIGIL_CONTROL_FAILPOINT
  API_IDEM_KEY=crash-$n api POST /incidents/executions "{\"identity_id\":\"$id\",\"reason\":\"crash test $point\",\"replacement_name\":\"svc$n-new\",\"connector\":\"file\",\"target\":\"svc$n\"}" \
    >"$STACK_DIR/post$n.out" || true
  [ "$API_STATUS" = 000 ] || fail "$point: the request was answered ($API_STATUS) instead of crashing"
  vigil_wait_for -t "$EDGE_WAIT" -m "vigil-control to die at $point" control_gone ||
    fail "$point: the failpoint did not fire"
  wait "$STACK_CONTROL_PID" 2>/dev/null || true
  grep -q "failpoint incident.$point" "$STACK_DIR/control.log" || fail "$point: no failpoint log line"
  exec_id=$(psql_q "SELECT id FROM incident_executions WHERE identity = '$id'")
  [ -n "$exec_id" ] || fail "$point: the execution was not committed before the crash"
  psql_q "SELECT status FROM incident_executions WHERE id = '$exec_id'" | grep -qx running ||
    fail "$point: not running after the crash"

  stack_control_start "${CONTROL_OPTS[@]}"
  vigil_wait_for -t "$EDGE_WAIT" -m "the execution to complete after the restart" finished "$id" ||
    fail "$point: did not complete: $(psql_q "SELECT step, status, attempts, last_error FROM incident_steps WHERE execution = '$exec_id'")"

  [ "$(psql_q "SELECT count(*) FROM incident_executions WHERE identity = '$id'")" = 1 ] ||
    fail "$point: more than one execution"
  [ "$(psql_q "SELECT count(*) FROM certificates WHERE name = 'svc$n-new'")" = 1 ] ||
    fail "$point: not exactly one replacement certificate"
  [ "$(psql_q "SELECT count(*) FROM revocations WHERE certificate = '$id'")" = 1 ] ||
    fail "$point: not exactly one revocation"
  [ "$(psql_q "SELECT count(*) FROM revocation_queue WHERE certificate = '$id'")" = 1 ] ||
    fail "$point: not exactly one queued publication"
  steps=$(psql_q "SELECT string_agg(step || '=' || status || '/' || attempts, ' ' ORDER BY incident_step_order(step)) FROM incident_steps WHERE execution = '$exec_id'")
  [ "$steps" = "record_evidence=done/1 issue_replacement=done/1 deliver=done/1 revoke=done/1 seal=done/1" ] ||
    fail "$point: steps $steps"
  [ "$(psql_q "SELECT count(*) FROM audit_events WHERE type = 'certificate.issued' AND details->>'name' = 'svc$n-new'")" = 1 ] ||
    fail "$point: not exactly one certificate.issued event for the replacement"
  new_id=$(psql_q "SELECT replacement FROM incident_executions WHERE id = '$exec_id'")
  vctl_json certificates get "$new_id" | jget 'd["certificate_pem"]' >"$STACK_DIR/new$n.pem"
  [ "$(fp "$dir/cert.pem")" = "$(fp "$STACK_DIR/new$n.pem")" ] || fail "$point: cert.pem is not the replacement"
  [ "$(fp "$dir/cert.pem.prev")" = "$(fp "$STACK_DIR/orig$n.pem")" ] ||
    fail "$point: cert.pem.prev is not the original certificate"
  [ "$(stat -c %a "$dir/key.pem")" = 600 ] || fail "$point: key.pem mode"
  vctl certificates get "$id" | grep -q "status: *revoked" || fail "$point: not revoked"
  vctl incidents executions get "$exec_id" --out "$STACK_DIR/pack$n.json" >/dev/null || fail "$point: get"
  vctl evidence verify "$STACK_DIR/pack$n.json" --audit-key "$AUDIT_PUB" >/dev/null ||
    fail "$point: the evidence pack does not verify"
  # A repeated request after the restart returns the same execution, also
  # with the Idempotency-Key whose first request died with the process.
  api POST /incidents/executions "{\"identity_id\":\"$id\",\"reason\":\"crash test $point\",\"replacement_name\":\"svc$n-new\",\"connector\":\"file\",\"target\":\"svc$n\"}" >"$STACK_DIR/again$n.out"
  again=$(jget 'd["id"]' <"$STACK_DIR/again$n.out")
  [ "$API_STATUS" = 200 ] && [ "$again" = "$exec_id" ] || fail "$point: repeat gave $API_STATUS $again"
  API_IDEM_KEY=crash-$n api POST /incidents/executions "{\"identity_id\":\"$id\",\"reason\":\"crash test $point\",\"replacement_name\":\"svc$n-new\",\"connector\":\"file\",\"target\":\"svc$n\"}" >"$STACK_DIR/again$n.out"
  again=$(jget 'd.get("id")' <"$STACK_DIR/again$n.out")
  [ "$API_STATUS" = 200 ] && [ "$again" = "$exec_id" ] ||
    fail "$point: the interrupted Idempotency-Key gave $API_STATUS $(cat "$STACK_DIR/again$n.out")"
done

step "two control processes on one database: each step still runs once"
PORT2=$(vigil_free_port)
"$STACK_CONTROL_BIN" --database-url "$VIGIL_PG_URL" --listen-port "$PORT2" \
  --state-dir "$STACK_DIR/control" --signer-socket "$STACK_SOCK" \
  --redis-url "redis://127.0.0.1:$EDGE_REDIS_PORT" \
  --edge-url "http://127.0.0.1:$EDGE_PORT_WANTED" "${CONTROL_OPTS[@]}" serve \
  >>"$STACK_DIR/control2.log" 2>&1 &
CONTROL2_PID=$!
edge_track "$CONTROL2_PID"
api2_up() { curl -s -o /dev/null --cacert "$VIGIL_CACERT" -m 5 "https://127.0.0.1:$PORT2/api/v1/health"; }
vigil_wait_for -t "$EDGE_WAIT" -m "the second vigil-control" api2_up ||
  fail "second control did not start: $(tail -5 "$STACK_DIR/control2.log")"
pids=()
for k in 1 2 3 4; do
  m=$((n + k))
  mkdir -p "$DEPLOY/svc$m"
  vctl certificates create --tenant acme --name "svc$m" --dns "svc$m.acme.test" \
    --key-out "$DEPLOY/svc$m/key.pem" --cert-out "$DEPLOY/svc$m/cert.pem" >/dev/null || fail "issue svc$m"
  cp "$DEPLOY/svc$m/cert.pem" "$STACK_DIR/orig$m.pem"
  id=$(psql_q "SELECT id FROM certificates WHERE name = 'svc$m'")
  port=$STACK_API_PORT
  [ $((k % 2)) = 0 ] && port=$PORT2
  # The same request twice, at both processes at once.
  for p2 in "$port" "$STACK_API_PORT" "$PORT2"; do
    curl -s -m 90 --cacert "$VIGIL_CACERT" -H "Authorization: Bearer $VIGIL_TOKEN" \
      -H 'Content-Type: application/json' -o "$STACK_DIR/two$m.$p2.out" \
      -d "{\"identity_id\":\"$id\",\"reason\":\"two processes\",\"replacement_name\":\"svc$m-new\",\"connector\":\"file\",\"target\":\"svc$m\"}" \
      "https://127.0.0.1:$p2/api/v1/incidents/executions" &
    pids+=($!)
  done
done
for p in "${pids[@]}"; do wait "$p" || fail "a request failed"; done
for k in 1 2 3 4; do
  m=$((n + k))
  id=$(psql_q "SELECT id FROM certificates WHERE name = 'svc$m'")
  vigil_wait_for -t "$EDGE_WAIT" -m "svc$m completed" finished "$id" || fail "svc$m did not complete"
  [ "$(psql_q "SELECT count(*) FROM incident_executions WHERE identity = '$id'")" = 1 ] ||
    fail "svc$m: more than one execution"
  [ "$(psql_q "SELECT count(*) FROM certificates WHERE name = 'svc$m-new'")" = 1 ] ||
    fail "svc$m: not exactly one replacement"
  [ "$(psql_q "SELECT count(*) FROM revocations WHERE certificate = '$id'")" = 1 ] ||
    fail "svc$m: not exactly one revocation"
  steps=$(psql_q "SELECT string_agg(s.step || '=' || s.status || '/' || s.attempts, ' ' ORDER BY incident_step_order(s.step)) FROM incident_steps s JOIN incident_executions e ON e.id = s.execution WHERE e.identity = '$id'")
  [ "$steps" = "record_evidence=done/1 issue_replacement=done/1 deliver=done/1 revoke=done/1 seal=done/1" ] ||
    fail "svc$m: steps $steps"
done
n=$((n + 4))
worked2=$(grep -c "incident .* committed" "$STACK_DIR/control2.log" || true)
echo "steps committed by the second process: $worked2"

step "the edge answers revoked for every contained certificate"
for i in $(seq 1 "$n"); do
  out=$(ocsp -issuer "$CA" -cert "$STACK_DIR/orig$i.pem" -url "$EDGE_URL/ocsp/acme" -CAfile "$CA" -no_nonce)
  expect_in "$out" "orig$i.pem: revoked" "svc$i at the edge"
done

step "the audit chain verifies; control's log is clean"
"$STACK_CONTROL_BIN" --database-url "$VIGIL_PG_URL" audit-verify >/dev/null || fail "audit-verify"
if grep -q 'Sanitizer\|runtime error:' "$STACK_DIR/control.log"; then
  fail "sanitizer report in the control log"
fi
edge_done incident_crash
