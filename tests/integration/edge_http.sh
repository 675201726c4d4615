#!/usr/bin/env bash
# edge_http.sh: the HTTP side of vigil-edge (DESIGN.md section 4,
# STANDARDS.md "HTTP caching"), seen by curl and raw sockets: RFC 5019
# caching headers that agree with the DER they carry (openssl reads it),
# Surrogate-Key (the CDN purge keys: {ikh} and {ikh}:{serial} on every
# OCSP answer, pre-signed or
# live-signed, GET or POST, 200 or 304), conditional requests (304), HEAD,
# pipelining answered in
# order, HTTP errors for HTTP problems, and cache headers of OCSP errors.
set -euo pipefail
# shellcheck source=edge_common.bash
source "$(dirname "$0")/edge_common.bash"

edge_init edge-http
D=$PKI_DIR
CA=$D/ca.pem

step "PKI, Redis, edge"
edge_ca "$D" "Edge HTTP Test CA" ca1 acme
for n in one two; do
  edge_leaf "$D" "$n"
  pki_r publish --dir "$D" --cert "$D/$n.pem" --status good --issuer-id ca1
done
# live: a status record but no pre-signed response (the edge signs it).
edge_leaf "$D" live
pki_r publish --dir "$D" --cert "$D/live.pem" --status good --issuer-id ca1 --no-resp
pki_r mirror
IKH=$(cert_ikh "$CA")
# The issuer id as the control plane publishes it (the v1:issuers record).
ISS=$(rcli HGET v1:issuers "$IKH" | cut -d' ' -f1)
[ "$ISS" = ca1 ] || fail "v1:issuers record for $IKH names '$ISS'"
edge_start
edge_wait_ready

# reqpath NAME: URL path of the URL-encoded GET request (no nonce) for NAME.
reqpath() {
  openssl ocsp -issuer "$CA" -cert "$D/$1.pem" -no_nonce -reqout "$EDGE_WORK/$1.req" \
    >/dev/null 2>&1 || fail "openssl ocsp -reqout"
  printf '/ocsp/acme/%s\n' "$(urlenc "$(base64 -w0 "$EDGE_WORK/$1.req")")"
}
P1=$(reqpath one)
P2=$(reqpath two)
S1=$(cert_serial "$D/one.pem")
S2=$(cert_serial "$D/two.pem")
# skey SERIAL [SEP]: the purge keys of an OCSP answer (SEP joins them).
# DESIGN.md section 4: "{ikh} {ikh}:{serial}".
skey() { printf '%s%s%s:%s\n' "$IKH" "${2:- }" "$IKH" "$1"; }

# fetch PATH [curl args...]: headers to $EDGE_WORK/h, body to $EDGE_WORK/b.
fetch() {
  local path=$1
  shift
  rm -f "$EDGE_WORK/h" "$EDGE_WORK/b"
  curl -s -m 30 -D "$EDGE_WORK/h" -o "$EDGE_WORK/b" "$@" "$EDGE_URL$path" ||
    fail "curl $path"
}

step "GET: RFC 5019 caching headers that match the response"
t0=$(date +%s)
fetch "$P1"
[ "$(status_code "$EDGE_WORK/h")" = 200 ] || fail "status $(status_code "$EDGE_WORK/h")"
[ "$(header Content-Type "$EDGE_WORK/h")" = application/ocsp-response ] || fail "Content-Type"
[ "$(header Content-Length "$EDGE_WORK/h")" = "$(stat -c %s "$EDGE_WORK/b")" ] || fail "Content-Length"
out=$(ocsp_ok -respin "$EDGE_WORK/b" -issuer "$CA" -cert "$D/one.pem" -no_nonce -CAfile "$CA")
expect_in "$out" "$D/one.pem: good" "GET body"
expect_in "$out" "Response verify OK" "GET body"
this=$(date_epoch "$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*This Update: //p')")
next=$(date_epoch "$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*Next Update: //p')")
lm=$(header Last-Modified "$EDGE_WORK/h")
[ -n "$lm" ] && [ "$(date_epoch "$lm")" = "$this" ] || fail "Last-Modified '$lm' is not thisUpdate"
ex=$(header Expires "$EDGE_WORK/h")
[ -n "$ex" ] && [ "$(date_epoch "$ex")" = "$next" ] || fail "Expires '$ex' is not nextUpdate"
dt=$(header Date "$EDGE_WORK/h")
now=$(date +%s)
[ -n "$dt" ] && [ $(($(date_epoch "$dt") - now)) -le 2 ] && [ $((now - $(date_epoch "$dt"))) -le 5 ] ||
  fail "Date '$dt' is not now"
cc=$(header Cache-Control "$EDGE_WORK/h")
[[ $cc =~ ^max-age=([0-9]+),\ ?public,\ ?no-transform,\ ?must-revalidate$ ]] ||
  fail "Cache-Control '$cc'"
age=${BASH_REMATCH[1]}
[ "$age" -gt 0 ] && [ "$age" -le $((next - t0 + 1)) ] ||
  fail "max-age $age not in (0, nextUpdate - now = $((next - t0))]"
etag=$(header ETag "$EDGE_WORK/h")
[[ $etag =~ ^\"[!#-~]+\"$ ]] || fail "ETag '$etag' is not a strong entity-tag"
sk=$(header Surrogate-Key "$EDGE_WORK/h")
[ "$sk" = "$(skey "$S1")" ] || fail "Surrogate-Key '$sk', want '$(skey "$S1")'"
# The same answer again (an L1 hit): same validators, max-age not larger.
fetch "$P1"
[ "$(header ETag "$EDGE_WORK/h")" = "$etag" ] || fail "ETag changed between two GETs"
[ "$(header Last-Modified "$EDGE_WORK/h")" = "$lm" ] || fail "Last-Modified changed"
# POST answers carry the same entity headers.
curl -s -m 30 -D "$EDGE_WORK/h" -o "$EDGE_WORK/b" --data-binary "@$EDGE_WORK/one.req" \
  -H 'Content-Type: application/ocsp-request' "$EDGE_URL/ocsp" || fail "POST"
[ "$(header ETag "$EDGE_WORK/h")" = "$etag" ] || fail "POST ETag differs from GET"
[ "$(header Surrogate-Key "$EDGE_WORK/h")" = "$sk" ] || fail "POST Surrogate-Key"

step "conditional GET: If-None-Match and If-Modified-Since"
fetch "$P1" -H "If-None-Match: $etag"
[ "$(status_code "$EDGE_WORK/h")" = 304 ] || fail "If-None-Match: $(status_code "$EDGE_WORK/h")"
[ ! -s "$EDGE_WORK/b" ] || fail "304 with a body"
[ "$(header ETag "$EDGE_WORK/h")" = "$etag" ] || fail "304 without the ETag"
[ "$(header Surrogate-Key "$EDGE_WORK/h")" = "$sk" ] || fail "304 without the Surrogate-Key"
# POST with If-None-Match is never 304, and says the same keys.
curl -s -m 30 -D "$EDGE_WORK/h" -o "$EDGE_WORK/b" --data-binary "@$EDGE_WORK/one.req" \
  -H 'Content-Type: application/ocsp-request' -H "If-None-Match: $etag" "$EDGE_URL/ocsp/acme" ||
  fail "POST with If-None-Match"
[ "$(status_code "$EDGE_WORK/h")" = 200 ] || fail "POST 304'd"
[ "$(header Surrogate-Key "$EDGE_WORK/h")" = "$sk" ] || fail "POST (tenant URL) Surrogate-Key"
[[ $(header Cache-Control "$EDGE_WORK/h") =~ ^max-age=[0-9]+, ]] || fail "304 without Cache-Control"
fetch "$P1" -H "If-None-Match: \"nope\", $etag"
[ "$(status_code "$EDGE_WORK/h")" = 304 ] || fail "If-None-Match list: $(status_code "$EDGE_WORK/h")"
fetch "$P1" -H 'If-None-Match: "0123456789abcdef01234567"'
[ "$(status_code "$EDGE_WORK/h")" = 200 ] || fail "other ETag: $(status_code "$EDGE_WORK/h")"
[ -s "$EDGE_WORK/b" ] || fail "200 without body"
fetch "$P1" -H "If-Modified-Since: $(date -u -d "@$((this - 86400))" '+%a, %d %b %Y %H:%M:%S GMT')"
[ "$(status_code "$EDGE_WORK/h")" = 200 ] || fail "If-Modified-Since before thisUpdate: $(status_code "$EDGE_WORK/h")"
# If-Modified-Since must survive into the (possibly pending) answer: the
# edge of commit 2e36a3e kept only If-None-Match in the slot and sent 200.
fetch "$P1" -H "If-Modified-Since: $lm"
[ "$(status_code "$EDGE_WORK/h")" = 304 ] ||
  fail_later "If-Modified-Since = Last-Modified: HTTP $(status_code "$EDGE_WORK/h"), want 304"
fetch "$P1" -H "If-Modified-Since: $dt"
[ "$(status_code "$EDGE_WORK/h")" = 304 ] ||
  fail_later "If-Modified-Since = now: HTTP $(status_code "$EDGE_WORK/h"), want 304"

step "live-signed answers carry the same purge keys (GET, POST, SHA-256 CertID, 304)"
SL=$(cert_serial "$D/live.pem")
PL=$(reqpath live)
fetch "$PL"
[ "$(status_code "$EDGE_WORK/h")" = 200 ] || fail "live GET: HTTP $(status_code "$EDGE_WORK/h")"
out=$(ocsp_ok -respin "$EDGE_WORK/b" -issuer "$CA" -cert "$D/live.pem" -no_nonce -CAfile "$CA")
expect_in "$out" "$D/live.pem: good" "live-signed GET"
[ "$(header Surrogate-Key "$EDGE_WORK/h")" = "$(skey "$SL")" ] ||
  fail "live-signed Surrogate-Key '$(header Surrogate-Key "$EDGE_WORK/h")', want '$(skey "$SL")'"
fetch "$PL" -H "If-None-Match: $(header ETag "$EDGE_WORK/h")"
[ "$(status_code "$EDGE_WORK/h")" = 304 ] || fail "live-signed 304: $(status_code "$EDGE_WORK/h")"
[ "$(header Surrogate-Key "$EDGE_WORK/h")" = "$(skey "$SL")" ] || fail "live-signed 304 Surrogate-Key"
# A SHA-256 CertID is always live-signed (pre-signed answers use SHA-1).
openssl ocsp -sha256 -issuer "$CA" -cert "$D/two.pem" -no_nonce -reqout "$EDGE_WORK/two256.req" \
  >/dev/null 2>&1 || fail "openssl ocsp -sha256 -reqout"
curl -s -m 30 -D "$EDGE_WORK/h" -o "$EDGE_WORK/b" --data-binary "@$EDGE_WORK/two256.req" \
  -H 'Content-Type: application/ocsp-request' "$EDGE_URL/ocsp/acme" || fail "POST SHA-256"
out=$(ocsp_ok -respin "$EDGE_WORK/b" -sha256 -issuer "$CA" -cert "$D/two.pem" -no_nonce -CAfile "$CA")
expect_in "$out" "$D/two.pem: good" "SHA-256 CertID"
[ "$(header Surrogate-Key "$EDGE_WORK/h")" = "$(skey "$S2")" ] ||
  fail "SHA-256 CertID Surrogate-Key '$(header Surrogate-Key "$EDGE_WORK/h")'"

step "HEAD: the headers of GET, no body"
fetch "$P1"
len=$(header Content-Length "$EDGE_WORK/h")
fetch "$P1" -I
[ "$(status_code "$EDGE_WORK/h")" = 200 ] || fail "HEAD status"
[ "$(header Content-Length "$EDGE_WORK/h")" = "$len" ] || fail "HEAD Content-Length"
[ "$(header ETag "$EDGE_WORK/h")" = "$etag" ] || fail "HEAD ETag"
# No body: on a raw connection the next answer starts right after the head.
printf 'HEAD %s HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n' "$P1" \
  >"$EDGE_WORK/head"
out=$(edgepy raw "$EDGE_PORT" "$EDGE_WORK/head" 30 | tr -d '\r' | grep '^HTTP/')
[ "$out" = "$(printf 'HTTP/1.1 200 OK\nHTTP/1.1 404 Not Found')" ] ||
  fail "HEAD then GET on one connection: '$out'"

step "pipelining: four requests in one write are answered in order"
# 1: 'two' (never asked: Redis lookup), 2: 'one' (L1 hit, ready first),
# 3: HEAD 'one', 4: a 404 (closes).  Answers must come in request order,
# framed exactly (a HEAD answer carries no body).
{
  printf 'GET %s HTTP/1.1\r\nHost: x\r\n\r\n' "$P2"
  printf 'GET %s HTTP/1.1\r\nHost: x\r\n\r\n' "$P1"
  printf 'HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n' "$P1"
  printf 'GET /nope HTTP/1.1\r\nHost: x\r\n\r\n'
} >"$EDGE_WORK/pipe"
out=$(edgepy pipeline "$EDGE_PORT" "$EDGE_WORK/pipe" 2) || fail "pipeline: $out"
want="200 $(skey "$S2" '|') $len $len
200 $(skey "$S1" '|') $len $len
200 $(skey "$S1" '|') $len 0
404 - 14 14"
if [ "$(printf '%s\n' "$out" | awk '{ print $1, $2 }')" != "$(printf '%s\n' "$want" | awk '{ print $1, $2 }')" ]; then
  printf 'got:\n%s\nwant (code, surrogate key):\n%s\n' "$out" "$want" >&2
  fail "pipelined answers out of order or misframed"
fi
# Eight more than the pipeline depth, all keep-alive, in one write.
: >"$EDGE_WORK/pipe"
for i in $(seq 1 20); do
  if [ $((i % 2)) = 0 ]; then p=$P1; else p=$P2; fi
  printf 'GET %s HTTP/1.1\r\nHost: x\r\n\r\n' "$p" >>"$EDGE_WORK/pipe"
done
printf 'GET /nope HTTP/1.1\r\nHost: x\r\n\r\n' >>"$EDGE_WORK/pipe"
out=$(edgepy pipeline "$EDGE_PORT" "$EDGE_WORK/pipe" -) || fail "deep pipeline: $out"
[ "$(printf '%s\n' "$out" | wc -l)" = 21 ] || fail "deep pipeline: $(printf '%s\n' "$out" | wc -l) answers, want 21"
i=0
while read -r code key _; do
  i=$((i + 1))
  if [ "$i" = 21 ]; then
    [ "$code" = 404 ] || fail "deep pipeline answer 21: $code"
  elif [ $((i % 2)) = 0 ]; then
    [ "$code $key" = "200 $(skey "$S1" '|')" ] || fail "deep pipeline answer $i: $code $key"
  else
    [ "$code $key" = "200 $(skey "$S2" '|')" ] || fail "deep pipeline answer $i: $code $key"
  fi
done <<<"$out"

# raw_status FILE: the status code the edge sends for the bytes in FILE.
raw_status() {
  edgepy raw "$EDGE_PORT" "$EDGE_WORK/$1" 30 | head -n 1 | awk '{ print $2 }'
}
raw_bytes() { # raw_bytes NAME FORMAT ARGS...: write a raw request file
  local name=$1
  shift
  # shellcheck disable=SC2059
  printf "$@" >"$EDGE_WORK/$name"
}

step "HTTP errors for HTTP problems"
fetch /nope
[ "$(status_code "$EDGE_WORK/h")" = 404 ] || fail "/nope: $(status_code "$EDGE_WORK/h")"
fetch /crl
[ "$(status_code "$EDGE_WORK/h")" = 404 ] || fail "/crl: $(status_code "$EDGE_WORK/h")"
fetch /ocspx
[ "$(status_code "$EDGE_WORK/h")" = 404 ] || fail "/ocspx: $(status_code "$EDGE_WORK/h")"
fetch /ocsp -X PUT --data-binary "@$EDGE_WORK/one.req"
[ "$(status_code "$EDGE_WORK/h")" = 405 ] || fail "PUT /ocsp: $(status_code "$EDGE_WORK/h")"
[ -n "$(header Allow "$EDGE_WORK/h")" ] || fail "405 without Allow"
fetch /ocsp
[ "$(status_code "$EDGE_WORK/h")" = 405 ] || fail "GET /ocsp: $(status_code "$EDGE_WORK/h")"
expect_in "$(header Allow "$EDGE_WORK/h")" POST "Allow of GET /ocsp"
fetch "$P1" -X POST --data-binary "@$EDGE_WORK/one.req"
[ "$(status_code "$EDGE_WORK/h")" = 405 ] || fail "POST to a GET URL: $(status_code "$EDGE_WORK/h")"
head -c 10001 /dev/zero >"$EDGE_WORK/big"
fetch /ocsp --data-binary "@$EDGE_WORK/big" -H 'Content-Type: application/ocsp-request'
[ "$(status_code "$EDGE_WORK/h")" = 413 ] || fail "10001-byte body: $(status_code "$EDGE_WORK/h")"
head -c 10000 /dev/zero >"$EDGE_WORK/big"
fetch /ocsp --data-binary "@$EDGE_WORK/big" -H 'Content-Type: application/ocsp-request'
[ "$(status_code "$EDGE_WORK/h")" = 200 ] || fail "10000-byte body: $(status_code "$EDGE_WORK/h")"
out=$(ocsp -respin "$EDGE_WORK/b" -CAfile "$CA") || true
expect_in "$out" "Responder Error: malformedrequest (1)" "10000 zero bytes"
fetch "$P1" -H "X-Big: $(head -c 8300 /dev/zero | tr '\0' a)"
[ "$(status_code "$EDGE_WORK/h")" = 431 ] || fail "8300-byte header: $(status_code "$EDGE_WORK/h")"
fetch "$P1" -H "X-Big: $(head -c 7000 /dev/zero | tr '\0' a)"
[ "$(status_code "$EDGE_WORK/h")" = 200 ] || fail "7000-byte header: $(status_code "$EDGE_WORK/h")"
raw_bytes nolen 'POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\n\r\n'
[ "$(raw_status nolen)" = 411 ] || fail "POST without Content-Length: $(raw_status nolen)"
raw_bytes garbage 'HELLO THERE\r\n\r\n'
[ "$(raw_status garbage)" = 400 ] || fail "garbage request line: $(raw_status garbage)"
raw_bytes garbage2 '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n'
code=$(raw_status garbage2)
[ "$code" = 400 ] || [ "$code" = 501 ] || fail "TLS hello on the HTTP port: '$code'"
raw_bytes badver 'GET /nope HTTP/2.0\r\nHost: x\r\n\r\n'
[ "$(raw_status badver)" = 505 ] || fail "HTTP/2.0: $(raw_status badver)"
raw_bytes chunked 'POST /ocsp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'
[ "$(raw_status chunked)" = 501 ] || [ "$(raw_status chunked)" = 411 ] ||
  fail "chunked POST: $(raw_status chunked)"
fetch "/ocsp/acme/$(head -c 6000 /dev/zero | tr '\0' A)"
code=$(status_code "$EDGE_WORK/h")
[ "$code" = 414 ] || [ "$code" = 431 ] || fail "6000-byte URL: $code"
# HTTP errors close the connection and are never cached.
fetch /nope
[ "$(header Connection "$EDGE_WORK/h")" = close ] || fail "404 keeps the connection"
expect_in "$(header Cache-Control "$EDGE_WORK/h")" no-store "404 Cache-Control"

step "OCSP error answers: HTTP 200, short or no caching"
# malformedRequest
fetch /ocsp/acme/AAAA
[ "$(status_code "$EDGE_WORK/h")" = 200 ] || fail "malformed: HTTP $(status_code "$EDGE_WORK/h")"
[ "$(header Content-Type "$EDGE_WORK/h")" = application/ocsp-response ] || fail "malformed Content-Type"
[[ $(header Cache-Control "$EDGE_WORK/h") =~ ^max-age=0,\ ?no-cache ]] ||
  fail "malformed Cache-Control '$(header Cache-Control "$EDGE_WORK/h")'"
[ -z "$(header ETag "$EDGE_WORK/h")" ] || fail "malformed answer has an ETag"
# unauthorized (never-issued serial with the mirror set): short public max-age
openssl ocsp -issuer "$CA" -serial 0x4242 -no_nonce -reqout "$EDGE_WORK/never.req" >/dev/null 2>&1
NEVER=/ocsp/acme/$(urlenc "$(base64 -w0 "$EDGE_WORK/never.req")")
fetch "$NEVER"
out=$(ocsp -respin "$EDGE_WORK/b" -CAfile "$CA") || true
expect_in "$out" "Responder Error: unauthorized (6)" "never-issued serial"
cc=$(header Cache-Control "$EDGE_WORK/h")
[[ $cc =~ ^max-age=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] && [ "${BASH_REMATCH[1]}" -le 3600 ] ||
  fail "unauthorized Cache-Control '$cc'"
expect_not_in "$cc" must-revalidate "unauthorized Cache-Control"
# tryLater (mirror absent): no caching
pki_r mirror --clear
fetch "$NEVER"
out=$(ocsp -respin "$EDGE_WORK/b" -CAfile "$CA") || true
expect_in "$out" "Responder Error: trylater (3)" "never-issued serial, no mirror"
[[ $(header Cache-Control "$EDGE_WORK/h") =~ ^max-age=0,\ ?no-cache ]] ||
  fail "tryLater Cache-Control '$(header Cache-Control "$EDGE_WORK/h")'"
pki_r mirror
# A nonce answer is for one client only: not cacheable by a shared cache.
openssl ocsp -issuer "$CA" -cert "$D/one.pem" -reqout "$EDGE_WORK/nonce.req" >/dev/null 2>&1
fetch "/ocsp/acme/$(urlenc "$(base64 -w0 "$EDGE_WORK/nonce.req")")"
[ "$(status_code "$EDGE_WORK/h")" = 200 ] || fail "nonce GET"
cc=$(header Cache-Control "$EDGE_WORK/h")
case $cc in *no-store* | *private* | *no-cache*) ;; *) fail "nonce answer is cacheable: '$cc'" ;; esac
# ... and is live-signed, echoing the nonce, with the same purge keys.
out=$(ocsp_ok -respin "$EDGE_WORK/b" -issuer "$CA" -cert "$D/one.pem" -no_nonce -CAfile "$CA" -resp_text)
expect_in "$out" "$D/one.pem: good" "nonce GET"
expect_in "$out" "OCSP Nonce" "nonce GET (nonce echoed)"
[ "$(header Surrogate-Key "$EDGE_WORK/h")" = "$(skey "$S1")" ] ||
  fail "nonce answer Surrogate-Key '$(header Surrogate-Key "$EDGE_WORK/h")'"

step "keep-alive: many requests on one connection"
args=()
for i in $(seq 1 30); do args+=(-o /dev/null "$EDGE_URL$P1"); done
out=$(curl -s -m 60 -w '%{http_code} %{num_connects}\n' "${args[@]}") || fail "keep-alive curl"
[ "$(printf '%s\n' "$out" | grep -c '^200 ')" = 30 ] || fail "keep-alive: not 30 x 200: $out"
[ "$(printf '%s\n' "$out" | awk '{ s += $2 } END { print s }')" = 1 ] ||
  fail "keep-alive: curl had to reconnect: $out"
# HTTP/1.0 without keep-alive: answered, then closed.
raw_bytes http10 'GET %s HTTP/1.0\r\n\r\n' "$P1"
out=$(edgepy raw "$EDGE_PORT" "$EDGE_WORK/http10" 30 | head -c 200 | tr -d '\r')
expect_in "$out" "HTTP/1.1 200" "HTTP/1.0 request"

step "the edge stops cleanly"
edge_stop_clean
edge_done edge_http
