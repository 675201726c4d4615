#!/usr/bin/env bash
# edge_nginx.sh: relying parties end to end.  A TLS server certificate
# whose AIA OCSP URL points at vigil-edge; nginx (Debian's) staples the
# edge's answer (ssl_stapling_verify on) and `openssl s_client -status` and
# `curl --cert-status` check the staple; after the revocation nginx, once it
# refetches (reload), never staples a good answer again.  `openssl s_server
# -status_url` (which asks the edge on every handshake) shows the revoked
# status to s_client.
set -euo pipefail
# shellcheck source=edge_common.bash
source "$(dirname "$0")/edge_common.bash"

command -v nginx >/dev/null || fail "nginx is not installed (Debian nginx-light)"
edge_init edge-nginx
D=$PKI_DIR
CA=$D/ca.pem

step "PKI: a TLS leaf for localhost/127.0.0.1 whose AIA names the edge"
EDGE_PORT_WANTED=$(vigil_free_port)
OCSP_URL=http://127.0.0.1:$EDGE_PORT_WANTED/ocsp/acme
edge_ca "$D" "Edge Stapling Test CA" ca1 acme
pki leaf --dir "$D" --name site --dns localhost --ip 127.0.0.1 --ocsp-url "$OCSP_URL"
pki_r publish --dir "$D" --cert "$D/site.pem" --status good --issuer-id ca1
pki_r mirror
aia=$(openssl x509 -in "$D/site.pem" -noout -ocsp_uri)
[ "$aia" = "$OCSP_URL" ] || fail "leaf AIA OCSP '$aia', want '$OCSP_URL' (vigil-pki problem)"
edge_start
edge_wait_ready
[ "$EDGE_URL" = "http://127.0.0.1:$EDGE_PORT_WANTED" ] || fail "edge not on the AIA port"
out=$(ocsp_ok -issuer "$CA" -cert "$D/site.pem" -url "$aia" -CAfile "$CA")
expect_in "$out" "$D/site.pem: good" "the AIA URL answers"

step "nginx with ssl_stapling on, ssl_stapling_verify on"
NG=$EDGE_WORK/nginx
mkdir -p "$NG/tmp" "$NG/logs"
NGINX_PORT=$(vigil_free_port)
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
    ssl_certificate $D/site-fullchain.pem;
    ssl_certificate_key $D/site.key;
    ssl_stapling on;
    ssl_stapling_verify on;
    ssl_trusted_certificate $CA;
    location / { return 200 "stapled\n"; }
  }
}
EOF
nginx -t -p "$NG" -c "$NG/nginx.conf" >"$NG/t.out" 2>&1 || {
  cat "$NG/t.out" >&2
  fail "nginx -t"
}
nginx -p "$NG" -c "$NG/nginx.conf" >"$NG/stdout.log" 2>&1 &
NGINX_PID=$!
edge_track "$NGINX_PID"
nginx_up() {
  _vigil_pid_alive "$NGINX_PID" || return 125
  [ -s "$NG/nginx.pid" ] && curl -sk -m 5 -o /dev/null "https://127.0.0.1:$NGINX_PORT/"
}
vigil_wait_for -t "$EDGE_WAIT" -m "nginx on $NGINX_PORT" nginx_up || {
  cat "$NG/error.log" >&2
  fail "nginx did not start"
}

# s_client_status PORT: what s_client -status sees in the handshake.
s_client_status() {
  timeout 30 openssl s_client -connect "127.0.0.1:$1" -servername localhost -status \
    -CAfile "$CA" </dev/null 2>&1 || true
}
# staple_is PORT STATUS: the stapled answer says STATUS (good/revoked).
staple_is() {
  local out
  out=$(s_client_status "$1")
  case $out in *"OCSP Response Status: successful"*) ;; *) return 1 ;; esac
  case $out in *"Cert Status: $2"*) return 0 ;; esac
  return 1
}

step "nginx staples the edge's good answer (fetched lazily: poll)"
vigil_wait_for -t "$EDGE_WAIT" -m "a good staple from nginx" staple_is "$NGINX_PORT" good || {
  s_client_status "$NGINX_PORT" >&2
  cat "$NG/error.log" >&2
  fail "nginx never stapled a good answer"
}
out=$(s_client_status "$NGINX_PORT")
expect_in "$out" "Verify return code: 0 (ok)" "the chain verifies"
grep -q 'certificate status' "$NG/error.log" && fail "nginx complained: $(grep 'certificate status' "$NG/error.log")"
out=$(curl -s -m 30 --cert-status --cacert "$CA" \
  --resolve "localhost:$NGINX_PORT:127.0.0.1" "https://localhost:$NGINX_PORT/" 2>&1) ||
  fail "curl --cert-status with a good staple: $out"
[ "$out" = stapled ] || fail "curl --cert-status: '$out'"

step "openssl s_server -status_url asks the edge: good"
SS_PORT=$(vigil_free_port)
# s_server reads commands from stdin; a pipe that never closes keeps it up.
mkfifo "$EDGE_WORK/ss.in"
openssl s_server -accept "127.0.0.1:$SS_PORT" -cert "$D/site.pem" -key "$D/site.key" \
  -CAfile "$CA" -status_url "$OCSP_URL" -status_verbose -naccept 1000 \
  <>"$EDGE_WORK/ss.in" >"$EDGE_WORK/s_server.log" 2>&1 &
SS_PID=$!
edge_track "$SS_PID"
ss_up() {
  _vigil_pid_alive "$SS_PID" || return 125
  grep -q ACCEPT "$EDGE_WORK/s_server.log"
}
vigil_wait_for -t "$EDGE_WAIT" -m "s_server on $SS_PORT" ss_up || {
  cat "$EDGE_WORK/s_server.log" >&2
  fail "s_server did not start"
}
staple_is "$SS_PORT" good || {
  s_client_status "$SS_PORT" >&2
  fail "s_server did not staple good"
}

step "revoke: the edge answers revoked"
pki_r publish --dir "$D" --cert "$D/site.pem" --status revoked --reason keyCompromise --issuer-id ca1
edge_revoked() {
  ocsp -issuer "$CA" -cert "$D/site.pem" -no_nonce -url "$OCSP_URL" -CAfile "$CA" |
    grep -q "$D/site.pem: revoked"
}
vigil_wait_for -t 10 -m "the edge answers revoked" edge_revoked || fail "edge still not revoked"

step "s_server staples the revoked answer"
vigil_wait_for -t "$EDGE_WAIT" -m "a revoked staple from s_server" staple_is "$SS_PORT" revoked || {
  s_client_status "$SS_PORT" >&2
  fail "s_server does not staple revoked"
}
out=$(s_client_status "$SS_PORT")
expect_in "$out" "Revocation Reason: keyCompromise" "s_server staple"

step "nginx reloaded (SIGHUP): refetches, never staples good again"
# children PID: the PIDs whose parent is PID (nginx's workers).
children() {
  local p
  for p in /proc/[0-9]*/stat; do
    awk -v pp="$1" '{ sub(/^.*\) /, ""); if ($2 == pp) { split(FILENAME, f, "/"); print f[3] } }' "$p" 2>/dev/null || true
  done
}
old_workers=$(children "$NGINX_PID")
[ -n "$old_workers" ] || fail "no nginx worker found"
kill -HUP "$NGINX_PID"
# The old worker finishes gracefully and may still serve its old staple
# meanwhile; from then on only the new worker (a fresh staple) answers.
old_gone() {
  local w
  for w in $old_workers; do
    _vigil_pid_alive "$w" && return 1
  done
  return 0
}
vigil_wait_for -t "$EDGE_WAIT" -m "the old nginx worker to exit" old_gone || fail "old nginx worker still running"
# nginx does not staple a revoked answer: it logs it and staples nothing.
nginx_saw_revoked() {
  staple_is "$NGINX_PORT" good && return 125 # good after the revocation: fatal
  grep -q 'certificate status "revoked" in the OCSP response' "$NG/error.log"
}
vigil_wait_for -t "$EDGE_WAIT" -m "nginx to fetch the revoked answer" nginx_saw_revoked || {
  tail -n 20 "$NG/error.log" >&2
  fail "nginx after reload: no revoked answer fetched, or a good staple served"
}
for i in $(seq 1 10); do
  out=$(s_client_status "$NGINX_PORT")
  expect_not_in "$out" "Cert Status: good" "nginx staple after revocation ($i)"
done
expect_in "$out" "OCSP response: no response sent" "nginx after revocation"
if out=$(curl -s -m 30 --cert-status --cacert "$CA" \
  --resolve "localhost:$NGINX_PORT:127.0.0.1" "https://localhost:$NGINX_PORT/" 2>&1); then
  fail "curl --cert-status accepted the server after the revocation: '$out'"
fi

step "nginx and the edge stop cleanly"
kill -QUIT "$NGINX_PID"
nginx_gone() { ! _vigil_pid_alive "$NGINX_PID"; }
vigil_wait_for -t "$EDGE_WAIT" -m "nginx to stop" nginx_gone || fail "nginx did not stop"
edge_stop_clean
edge_done edge_nginx
