#!/usr/bin/env bash
# ocsp_request_openssl.sh: OCSP requests made at test time by clients we did
# not write -- the OpenSSL 3 CLI (`openssl ocsp -reqout`) and GnuTLS
# `ocsptool` (--generate-request, and --nonce --ask against a one-shot
# capture server on loopback) -- parsed by vigil_ocsp_request_parse through
# vigil-test-ocspreq_dump.
#
# For random serials (1..20 octets), SHA-1 / SHA-256, with and without a
# nonce, 1..3 CertIDs, EC and RSA issuers, what we parse must equal
#   - what the client was asked for (hash algorithm, serials in order, a
#     nonce or none, OpenSSL's 16-octet nonce),
#   - what `openssl ocsp -req_text` reads back (hashes, serials, nonce), and
#   - what `ocsptool -i` reads back.
# Limits: a 16-CertID request parses, 17 is too_many_requests; a 21-octet
# serial with the top bit set (22-octet INTEGER) is bad_serial; a signed
# request (openssl -signer) parses with signed=1 and requestor_name=1.
# Random choices are reproducible: VIGIL_TEST_SEED=<n> (printed on each run).
set -euo pipefail
export LC_ALL=C

dump="${VIGIL_BUILD_DIR:?}/tests/vigil-test-ocspreq_dump"
[ -x "$dump" ] || {
  echo "FAIL: $dump not built" >&2
  exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

seed=${VIGIL_TEST_SEED:-$(($(date +%s) % 32768))}
RANDOM=$seed
echo "seed=$seed (rerun with VIGIL_TEST_SEED=$seed)"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
checks=0
pass() {
  checks=$((checks + 1))
}

# rand_hex N: N random octets as lowercase hex.
rand_hex() {
  local out="" i
  for ((i = 0; i < $1; i++)); do
    out+=$(printf '%02x' $((RANDOM % 256)))
  done
  echo "$out"
}

# norm_serial HEX: lowercase, no leading zeros ("0" for zero).
norm_serial() {
  local s=${1,,}
  s=${s#"${s%%[!0]*}"}
  echo "${s:-0}"
}

# --- three views of one request, same canonical form ----------------------
# One line per CertID: "<alg> <name_hash> <key_hash> <serial>", then
# "nonce <hex>" or "nonce -".

ours() { # FILE
  "$dump" "$1" | awk -F= '
    /^id[0-9]+\.hash=/ { alg = $2 }
    /^id[0-9]+\.name_hash=/ { nh = $2 }
    /^id[0-9]+\.key_hash=/ { kh = $2 }
    /^id[0-9]+\.serial=/ { s = $2; sub(/^0+/, "", s); if (s == "") s = "0"
                           print alg, nh, kh, s }
    /^nonce=/ { print "nonce", $2; seen = 1 }
    END { if (!seen) print "nonce -" }'
}

openssl_view() { # FILE
  openssl ocsp -reqin "$1" -req_text | awk '
    /Signature Algorithm:/ { exit }
    /Hash Algorithm:/ { alg = tolower($3) }
    /Issuer Name Hash:/ { nh = tolower($4) }
    /Issuer Key Hash:/ { kh = tolower($4) }
    /Serial Number:/ { s = tolower($3); sub(/^0+/, "", s); if (s == "") s = "0"
                       print alg, nh, kh, s }
    /OCSP Nonce:/ { getline; n = tolower($1); sub(/^04../, "", n)
                    print "nonce", n; seen = 1 }
    END { if (!seen) print "nonce -" }'
}

gnutls_view() { # FILE
  ocsptool -i --load-request "$1" | awk '
    /Hash Algorithm:/ { alg = tolower($3) }
    /Issuer Name Hash:/ { nh = tolower($4) }
    /Issuer Key Hash:/ { kh = tolower($4) }
    /Serial Number:/ { s = tolower($3); sub(/^0+/, "", s); if (s == "") s = "0"
                       print alg, nh, kh, s }
    /Nonce:/ { print "nonce", tolower($2); seen = 1 }
    END { if (!seen) print "nonce -" }'
}

# check FILE ALG NONCE(0|1) NONCE_LEN(or "") SERIAL... : compares the three
# views with each other and with what was asked for.
check() {
  local f=$1 alg=$2 nonce=$3 nonce_len=$4
  shift 4
  "$dump" "$f" >"$f.dump" || fail "$f: refused: $(head -1 "$f.dump")"
  ours "$f" >"$f.ours"
  openssl_view "$f" >"$f.openssl"
  gnutls_view "$f" >"$f.gnutls"
  diff -u "$f.openssl" "$f.ours" >&2 || fail "$f: differs from openssl -req_text"
  diff -u "$f.gnutls" "$f.ours" >&2 || fail "$f: differs from ocsptool -i"
  # What was asked for.
  local want_ids="" s
  for s in "$@"; do
    want_ids+="$alg $(norm_serial "$s")"$'\n'
  done
  local got_ids
  got_ids=$(awk '$1 != "nonce" { print $1, $4 }' "$f.ours")
  [ "$got_ids" = "${want_ids%$'\n'}" ] ||
    fail "$f: asked for [${want_ids//$'\n'/;}] got [${got_ids//$'\n'/;}]"
  local hl=40
  [ "$alg" = sha256 ] && hl=64
  awk -v hl="$hl" '$1 != "nonce" && (length($2) != hl || length($3) != hl) { bad = 1 }
                   END { exit bad }' "$f.ours" || fail "$f: hash lengths"
  local got_len
  got_len=$(sed -n 's/^nonce_len=//p' "$f.dump")
  if [ "$nonce" = 1 ]; then
    [ "$got_len" -ge 1 ] && [ "$got_len" -le 128 ] || fail "$f: nonce_len $got_len"
    [ -z "$nonce_len" ] || [ "$got_len" = "$nonce_len" ] ||
      fail "$f: nonce_len $got_len, want $nonce_len"
  else
    [ "$got_len" = 0 ] || fail "$f: unexpected nonce"
  fi
  pass
}

# expect_refused FILE REASON
expect_refused() {
  local out rc=0
  out=$("$dump" "$1") || rc=$?
  [ "$rc" = 2 ] || fail "$1: exit $rc, want 2 (refused)"
  [ "$(head -1 <<<"$out")" = "result=$2" ] || fail "$1: $(head -1 <<<"$out"), want $2"
  pass
}

# --- issuers and leaf certificates ----------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout ca_ec.key -subj "/CN=Vigil Interop OCSP Request CA EC/O=Vigil" \
  -days 2 -out ca_ec.pem 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca_rsa.key \
  -subj "/CN=Vigil Interop OCSP Request CA RSA" -days 2 -out ca_rsa.pem \
  2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout leaf.key -subj "/CN=leaf.interop.example" -out leaf.csr 2>/dev/null

# issue CA SERIALHEX OUT: a leaf certificate with that serial.
issue() {
  openssl x509 -req -in leaf.csr -CA "ca_$1.pem" -CAkey "ca_$1.key" \
    -set_serial "0x$2" -days 1 -out "$3" 2>/dev/null
}

pick_ca() { if ((RANDOM % 2)); then echo ec; else echo rsa; fi; }
pick_alg() { if ((RANDOM % 2)); then echo sha256; else echo sha1; fi; }

# --- OpenSSL: random serials given with -serial ---------------------------
for ((i = 0; i < 12; i++)); do
  ca=$(pick_ca)
  alg=$(pick_alg)
  nonce=$((RANDOM % 2))
  args=(-issuer "ca_$ca.pem")
  [ "$alg" = sha256 ] && args+=(-sha256)
  serials=()
  for ((k = 0; k < 1 + RANDOM % 3; k++)); do
    s=$(rand_hex $((1 + RANDOM % 20)))
    serials+=("$s")
    args+=(-serial "0x$s")
  done
  if [ "$nonce" = 1 ]; then args+=(-nonce); else args+=(-no_nonce); fi
  openssl ocsp "${args[@]}" -reqout "serial$i.der"
  check "serial$i.der" "$alg" "$nonce" 16 "${serials[@]}"
done

# --- OpenSSL: certificates with random serials given with -cert -----------
for ((i = 0; i < 4; i++)); do
  ca=$(pick_ca)
  alg=$(pick_alg)
  nonce=$((RANDOM % 2))
  s=$(rand_hex $((1 + RANDOM % 20)))
  issue "$ca" "$s" "leaf$i.pem"
  args=(-issuer "ca_$ca.pem")
  [ "$alg" = sha256 ] && args+=(-sha256) # must come before -cert
  args+=(-cert "leaf$i.pem")
  if [ "$nonce" = 1 ]; then args+=(-nonce); else args+=(-no_nonce); fi
  openssl ocsp "${args[@]}" -reqout "cert$i.der"
  check "cert$i.der" "$alg" "$nonce" 16 "$s"
done

# --- GnuTLS ocsptool -------------------------------------------------------
# --generate-request never adds a nonce; --ask does, so its POST body is
# caught by a one-shot HTTP server on loopback (its answer is empty, so
# ocsptool itself then fails: expected).
capture_py='
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(sys.argv[1], "wb") as f:
            f.write(body)
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
s.timeout = 60
print(s.server_address[1], flush=True)
s.handle_request()
'
for ((i = 0; i < 3; i++)); do
  ca=$(pick_ca)
  s=$(rand_hex $((1 + RANDOM % 20)))
  issue "$ca" "$s" "gleaf$i.pem"
  ocsptool --generate-request --load-issuer "ca_$ca.pem" \
    --load-cert "gleaf$i.pem" --no-nonce --outfile "gnutls$i.der" >/dev/null
  check "gnutls$i.der" sha1 0 "" "$s"

  coproc CAP { python3 -c "$capture_py" "gnutls_ask$i.der"; }
  read -r port <&"${CAP[0]}"
  cap_pid=$CAP_PID
  ocsptool --nonce --ask="http://127.0.0.1:$port/" --load-issuer "ca_$ca.pem" \
    --load-cert "gleaf$i.pem" >/dev/null 2>&1 || true
  wait "$cap_pid"
  [ -s "gnutls_ask$i.der" ] || fail "ocsptool --ask: no request captured"
  check "gnutls_ask$i.der" sha1 1 "" "$s"
done

# --- Limits, decided by a client we did not write --------------------------
args=(-issuer ca_ec.pem -no_nonce)
serials=()
for ((k = 0; k < 16; k++)); do
  s=$(rand_hex 8)
  serials+=("$s")
  args+=(-serial "0x$s")
done
openssl ocsp "${args[@]}" -reqout max.der
check max.der sha1 0 "" "${serials[@]}"
openssl ocsp "${args[@]}" -serial 0x01 -reqout over.der
expect_refused over.der too_many_requests

# 20 octets is the RFC 5280 maximum (21 as an INTEGER with its sign octet);
# 21 octets with the top bit set makes a 22-octet INTEGER.
s20="ff$(rand_hex 19)"
openssl ocsp -issuer ca_rsa.pem -serial "0x$s20" -no_nonce -reqout s20.der
check s20.der sha1 0 "" "$s20"
openssl ocsp -issuer ca_rsa.pem -serial "0xff$(rand_hex 20)" -no_nonce \
  -reqout s21.der
expect_refused s21.der bad_serial

# Signed request: requestorName + optionalSignature (with the signer cert).
s=$(rand_hex 9)
issue ec "$s" signed_leaf.pem
openssl ocsp -issuer ca_ec.pem -cert signed_leaf.pem -signer ca_ec.pem \
  -signkey ca_ec.key -nonce -reqout signed.der
check signed.der sha1 1 16 "$s"
grep -qx 'signed=1' signed.der.dump || fail "signed.der: signed != 1"
grep -qx 'requestor_name=1' signed.der.dump || fail "signed.der: no requestor_name"

echo "ok: $checks OCSP requests from openssl and ocsptool checked (seed $seed)"
