#!/usr/bin/env bash
# ctl_metrics.sh: GET /metrics on vigil-control (docs/api.md, docs/operations.md)
# against the real stack. The text is parsed with the Debian
# python3-prometheus-client parser (a client we did not write) when it is
# installed, and checked line by line with grep either way.
#   auth: no token 401, issuer 403, auditor 200 (Content-Type 0.0.4);
#   request counters by route pattern and status class move with traffic;
#   duration histograms are cumulative; Redis down -> dependency_up 0 and
#   the revocation queue depth / oldest age show the stuck row; Redis back
#   -> queue 0, publish lag observed; CRL generation counted.
set -euo pipefail
source "$(dirname "$0")/stack_common.bash"

step "the stack"
stack_up metrics
W=$STACK_DIR
auditor=$(vctl_json --token-file "$STACK_BOOT" tokens create --name prom \
  --role auditor | jget 'd["token"]') || fail "auditor token"

# scrape [TOKEN]: body in $W/metrics.txt, status in M_STATUS, content type
# in M_TYPE.
scrape() {
  local args=(-s -m 30 --cacert "$VIGIL_CACERT" -o "$W/metrics.txt"
    -w '%{http_code} %{content_type}')
  [ $# -gt 0 ] && args+=(-H "Authorization: Bearer $1")
  local out
  out=$(curl "${args[@]}" "$VIGIL_URL/metrics") || out="000 none"
  M_STATUS=${out%% *}
  M_TYPE=${out#* }
}
# metric LINE_PREFIX: the value of the first sample line starting with it.
mval() {
  awk -v p="$1" 'index($0, p) == 1 { print $NF; exit }' "$W/metrics.txt"
}
parse_check() {
  "$EDGE_PY" -c 'import prometheus_client' 2>/dev/null || {
    echo "   (python3-prometheus-client not installed: grep checks only)"
    return 0
  }
  "$EDGE_PY" - "$W/metrics.txt" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
need = ["vigil_control_http_requests", "vigil_control_http_request_duration_seconds",
        "vigil_control_dependency_up", "vigil_control_revocation_queue_pending",
        "vigil_control_publish_lag_seconds", "vigil_control_crl_generations",
        "vigil_control_crl_generation_duration_seconds"]
missing = [n for n in need if n not in fams]
assert not missing, f"missing families {missing}"
h = fams["vigil_control_http_request_duration_seconds"]
assert h.type == "histogram", h.type
by = {}
for s in h.samples:
    if s.name.endswith("_bucket"):
        key = (s.labels["method"], s.labels["route"])
        by.setdefault(key, []).append(s.value)
for key, vals in by.items():
    assert vals == sorted(vals), f"{key}: buckets not cumulative {vals}"
    assert vals[-1] > 0, key
print("   parsed:", len(fams), "families")
PY
}

step "auth: no token 401, issuer token 403, auditor 200 with format 0.0.4"
scrape
[ "$M_STATUS" = 401 ] || fail "no token: $M_STATUS"
scrape "$VIGIL_TOKEN"
[ "$M_STATUS" = 403 ] || fail "issuer token: $M_STATUS"
scrape "$auditor"
[ "$M_STATUS" = 200 ] || fail "auditor: $M_STATUS $(cat "$W/metrics.txt")"
case $M_TYPE in "text/plain; version=0.0.4"*) ;; *) fail "Content-Type: $M_TYPE" ;; esac
parse_check || fail "the exposition text does not parse"
curl -s -o /dev/null -w '%{http_code}' --cacert "$VIGIL_CACERT" -X POST \
  -H "Authorization: Bearer $auditor" "$VIGIL_URL/metrics" | grep -qx 405 ||
  fail "POST /metrics is not 405"

step "request counters follow traffic, by route pattern and status class"
before=$(mval 'vigil_control_http_requests_total{method="GET",route="certificates/*",code="4xx"}')
before=${before:-0}
for _ in 1 2 3; do
  api GET /certificates/00000000-0000-0000-0000-000000000000 >/dev/null
  [ "$API_STATUS" = 404 ] || fail "GET unknown certificate: $API_STATUS"
done
cid=$(vctl_json certificates create --tenant acme --name m1 --dns m1.acme.test \
  --key-out "$W/m1.key" | jget 'd["id"]') || fail "issue"
scrape "$auditor"
after=$(mval 'vigil_control_http_requests_total{method="GET",route="certificates/*",code="4xx"}')
[ "$after" = $((before + 3)) ] || fail "4xx on certificates/*: $before -> $after"
[ "$(mval 'vigil_control_http_requests_total{method="POST",route="certificates",code="2xx"}')" = 1 ] ||
  fail "POST certificates 2xx: $(grep 'route="certificates"' "$W/metrics.txt")"
[ "$(mval 'vigil_control_http_requests_total{method="GET",route="/metrics",code="4xx"}')" -ge 2 ] ||
  fail "the refused scrapes are not counted"
[ "$(mval 'vigil_control_http_request_duration_seconds_count{method="POST",route="certificates"}')" = 1 ] ||
  fail "no duration for POST certificates"
[ "$(mval 'vigil_control_http_request_duration_seconds_bucket{method="POST",route="certificates",le="+Inf"}')" = 1 ] ||
  fail "+Inf bucket"
[ "$(mval 'vigil_control_dependency_up{dependency="redis"}')" = 1 ] || fail "redis not up"
[ "$(mval 'vigil_control_dependency_up{dependency="signer"}')" = 1 ] || fail "signer not up"
[ "$(mval 'vigil_control_dependency_up{dependency="db"}')" = 1 ] || fail "db not up"
[ "$(mval 'vigil_control_revocation_queue_pending')" = 0 ] || fail "queue not empty"
parse_check || fail "the exposition text does not parse"

step "Redis down: the stuck revocation shows as queue depth and age"
redis_port=$EDGE_REDIS_PORT
vigil_redis_stop "$W" || fail "Redis did not stop"
api POST "/certificates/$cid/revoke" '{"reason": "keyCompromise"}' >/dev/null
[ "$API_STATUS" = 200 ] || fail "revoke: $API_STATUS"
old_enough() {
  scrape "$auditor"
  awk '$1 == "vigil_control_revocation_queue_oldest_pending_seconds" && $2 >= 1 { ok = 1 } END { exit !ok }' \
    "$W/metrics.txt"
}
vigil_wait_for -t "$EDGE_WAIT" -m "oldest pending >= 1 s" old_enough ||
  fail "oldest pending age: $(grep oldest "$W/metrics.txt")"
[ "$(mval 'vigil_control_revocation_queue_pending')" = 1 ] || fail "queue depth: $(mval vigil_control_revocation_queue_pending)"
[ "$(mval 'vigil_control_dependency_up{dependency="redis"}')" = 0 ] || fail "redis still up"
failing() {
  scrape "$auditor"
  [ "$(mval vigil_control_revocation_queue_failing)" = 1 ]
}
vigil_wait_for -t "$EDGE_WAIT" -m "the publisher's failure to show" failing ||
  fail "failing: $(grep failing "$W/metrics.txt")"

step "Redis back: published; queue 0; the lag is the outage's length"
vigil_redis_start "$W" "$redis_port" >/dev/null || fail "Redis did not restart"
drained() {
  scrape "$auditor"
  [ "$(mval vigil_control_revocation_queue_pending)" = 0 ]
}
vigil_wait_for -t "$EDGE_WAIT" -m "queue drained" drained || fail "queue: $(grep queue "$W/metrics.txt")"
awk '$1 == "vigil_control_publish_last_lag_seconds" && $2 >= 1 { ok = 1 } END { exit !ok }' \
  "$W/metrics.txt" || fail "last lag: $(grep lag "$W/metrics.txt")"
awk '$1 ~ /^vigil_control_publish_lag_seconds\{quantile="1"\}/ && $2 >= 1 { ok = 1 } END { exit !ok }' \
  "$W/metrics.txt" || fail "max lag: $(grep lag "$W/metrics.txt")"
[ "$(mval vigil_control_publish_failed_attempts)" -ge 1 ] || fail "failed attempts not counted"
[ "$(psql_q "SELECT status FROM revocation_queue WHERE certificate = '$cid'")" = published ] ||
  fail "not published in the database"

step "CRL generation is counted with its duration"
crl_done() {
  scrape "$auditor"
  [ "$(mval 'vigil_control_crl_generations_total{result="done"}')" -ge 1 ] &&
    [ "$(mval 'vigil_control_crl_generation_duration_seconds_count')" -ge 1 ]
}
vigil_wait_for -t "$EDGE_WAIT" -m "a CRL run counted" crl_done ||
  fail "CRL metrics: $(grep crl "$W/metrics.txt")"
[ "$(mval vigil_control_crl_last_success_timestamp_seconds)" -gt 1700000000 ] ||
  fail "last CRL time"
parse_check || fail "the exposition text does not parse"
edge_done ctl_metrics
