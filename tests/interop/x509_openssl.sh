#!/usr/bin/env bash
# x509_openssl.sh: certificates from vigil_x509_issue (through
# vigil-test-x509_issue) checked by clients we did not write.
#
# A root CA (tool-generated P-256 key), an intermediate (openssl-generated
# P-384 key, pathLen 0), a TLS leaf from an `openssl req` CSR (RSA-2048), a
# TLS leaf with an empty subject from a tool-generated P-256 key, and a
# delegated OCSP responder (Ed25519). Then:
#   - openssl verify -x509_strict (root trusted, intermediate untrusted);
#     and a leaf must NOT verify under an unrelated root;
#   - openssl x509 -text shows SANs, EKU, AIA, CRL DP, nocheck, key usage;
#   - python3-cryptography parses everything and checks extensions, serials
#     and signatures (x509_python.py);
#   - TLS handshakes: openssl s_server with each leaf + chain, openssl
#     s_client -verify_return_error with only the root trusted.
set -euo pipefail

bin="${VIGIL_BUILD_DIR:?}/tests/vigil-test-x509_issue"
py="${VIGIL_SOURCE_DIR:?}/tests/interop/x509_python.py"
tmp=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

ocsp="http://127.0.0.1:8080/ocsp/demo"
crl="http://127.0.0.1:8080/crl/demo"
cai="http://127.0.0.1:8080/ca/inter.der"
root_crl="http://127.0.0.1:8080/crl/root"

# --- Issue ------------------------------------------------------------------
"$bin" ca --key root.key --gen p256 --out root.pem --cn "Vigil Interop Root" \
  --o "Vigil Tests" --c DE
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 \
  -out inter.key 2>/dev/null
"$bin" intermediate --ca-cert root.pem --ca-key root.key --key inter.key \
  --out inter.pem --cn "Vigil Interop Intermediate" --o "Vigil Tests" \
  --path-len 0 --eku serverAuth,clientAuth --crl-url "$root_crl" \
  --days 1000
openssl req -new -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr \
  -subj "/O=Vigil Tests/CN=leaf.example" \
  -addext "subjectAltName=DNS:leaf.example,DNS:localhost,IP:127.0.0.1" \
  2>/dev/null
"$bin" leaf --ca-cert inter.pem --ca-key inter.key --csr leaf.csr \
  --out leaf.pem --ocsp-url "$ocsp" --crl-url "$crl" \
  --ca-issuers-url "$cai" --days 30
"$bin" leaf --ca-cert inter.pem --ca-key inter.key --key leaf2.key \
  --gen p256 --out leaf2.pem --dns leaf2.example --ip 127.0.0.1 \
  --ip ::1 --ocsp-url "$ocsp" --crl-url "$crl" --days 30
"$bin" responder --ca-cert inter.pem --ca-key inter.key --key resp.key \
  --gen ed25519 --out resp.pem --cn "Vigil Interop OCSP Responder" --hours 96

# The tool refuses what the library refuses (exit 1, message).
if "$bin" leaf --ca-cert inter.pem --ca-key inter.key --key leaf2.key \
  --out bad.pem --dns ok.example --days 2000 2>err.txt; then
  fail "leaf outliving its issuer was issued"
fi
grep -q "issuer's validity" err.txt || fail "unexpected error: $(cat err.txt)"
if "$bin" leaf --ca-cert inter.pem --ca-key root.key --key leaf2.key \
  --out bad.pem --dns ok.example 2>err.txt; then
  fail "issuer key mismatch was issued"
fi

# --- openssl verify ---------------------------------------------------------
openssl verify -x509_strict -CAfile root.pem root.pem inter.pem
for c in leaf.pem leaf2.pem resp.pem; do
  openssl verify -x509_strict -CAfile root.pem -untrusted inter.pem "$c"
done
openssl verify -x509_strict -purpose sslserver -CAfile root.pem \
  -untrusted inter.pem leaf.pem leaf2.pem
if openssl verify -purpose sslserver -CAfile root.pem -untrusted inter.pem \
  resp.pem >/dev/null 2>&1; then
  fail "OCSP responder certificate verified for sslserver"
fi
"$bin" ca --key other.key --gen p256 --out other.pem --cn "Vigil Interop Root"
if openssl verify -CAfile other.pem -untrusted inter.pem leaf.pem \
  >/dev/null 2>&1; then
  fail "leaf verified under an unrelated root with the same name"
fi

# --- openssl x509 -text -----------------------------------------------------
expect() { # expect FILE PATTERN...: each fixed-string pattern in the text
  local f=$1
  shift
  openssl x509 -in "$f" -noout -text >"$f.txt"
  for pat in "$@"; do
    grep -qF -- "$pat" "$f.txt" || fail "$f: missing '$pat'"
  done
}
expect_not() {
  local f=$1
  shift
  for pat in "$@"; do
    if grep -qF -- "$pat" "$f.txt"; then fail "$f: unexpected '$pat'"; fi
  done
}
expect root.pem "Version: 3 (0x2)" "X509v3 Basic Constraints: critical" \
  "CA:TRUE" "X509v3 Key Usage: critical" \
  "Digital Signature, Certificate Sign, CRL Sign" \
  "X509v3 Subject Key Identifier" "X509v3 Authority Key Identifier" \
  "Issuer: C = DE, O = Vigil Tests, CN = Vigil Interop Root" \
  "Subject: C = DE, O = Vigil Tests, CN = Vigil Interop Root"
expect_not root.pem "Extended Key Usage" "Authority Information Access"
expect inter.pem "CA:TRUE, pathlen:0" \
  "TLS Web Server Authentication, TLS Web Client Authentication" \
  "URI:$root_crl" "Policy: X509v3 Any Policy"
expect leaf.pem "CA:FALSE" "Digital Signature, Key Encipherment" \
  "TLS Web Server Authentication, TLS Web Client Authentication" \
  "DNS:leaf.example, DNS:localhost, IP Address:127.0.0.1" \
  "OCSP - URI:$ocsp" "CA Issuers - URI:$cai" "X509v3 CRL Distribution Points" \
  "URI:$crl" "Policy: 2.23.140.1.2.1" \
  "Subject: O = Vigil Tests, CN = leaf.example" \
  "Signature Algorithm: ecdsa-with-SHA384"
expect_not leaf.pem "OCSP No Check" "X509v3 Subject Key Identifier"
expect leaf2.pem "X509v3 Subject Alternative Name: critical" \
  "DNS:leaf2.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1" \
  "X509v3 Key Usage: critical"
grep -qE '^ +Digital Signature$' leaf2.pem.txt ||
  fail "leaf2.pem: EC leaf key usage is not digitalSignature alone"
expect resp.pem "OCSP No Check" "OCSP Signing" "CA:FALSE" \
  "Public Key Algorithm: ED25519"
expect_not resp.pem "TLS Web Server" "Authority Information Access" \
  "CRL Distribution Points"

# Serials: positive, 16 octets generated, so at least 64 bits.
for c in root.pem inter.pem leaf.pem leaf2.pem resp.pem; do
  s=$(openssl x509 -in "$c" -noout -serial | cut -d= -f2)
  if [ "${#s}" -lt 16 ] || [ "${#s}" -gt 40 ]; then fail "$c: serial $s"; fi
done

# --- python3-cryptography ---------------------------------------------------
python3 "$py" --ocsp "$ocsp" --crl "$crl" --ca-issuers "$cai" \
  --root-crl "$root_crl"

# --- TLS handshakes ---------------------------------------------------------
free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# handshake CERT KEY NAME: serve CERT (+ intermediate) once; s_client must
# verify it against the root alone, for host NAME and IP 127.0.0.1.
handshake() {
  local cert=$1 key=$2 name=$3 port
  port=$(free_port)
  # -www: answer one HTTP request and never read stdin (a plain s_server
  # quits when its stdin hits EOF, racing the handshake).
  openssl s_server -accept "$port" -cert "$cert" -key "$key" \
    -cert_chain inter.pem -naccept 1 -www </dev/null >"$cert.server.log" 2>&1 &
  server_pid=$!
  # s_server prints ACCEPT once it listens; wait for that (bounded).
  local out="" up=0
  for _ in $(seq 1 100); do
    if grep -q ACCEPT "$cert.server.log" 2>/dev/null; then
      up=1
      break
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ "$up" = 1 ] || fail "s_server did not start: $(cat "$cert.server.log")"
  out=$(printf 'GET / HTTP/1.0\r\n\r\n' | timeout 20 openssl s_client \
    -connect "127.0.0.1:$port" -CAfile root.pem -verify_return_error \
    -verify_hostname "$name" -verify_ip 127.0.0.1 -servername "$name" \
    -ign_eof 2>&1) || fail "s_client failed for $cert: $out"
  grep -q "^Verify return code: 0 (ok)" <<<"$out" ||
    fail "s_client did not verify $cert: $out"
  grep -q "^HTTP/1.0 200 ok" <<<"$out" ||
    fail "no HTTP answer over TLS with $cert: $out"
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  echo "TLS handshake with $cert verified"
}
handshake leaf.pem leaf.key leaf.example
handshake leaf2.pem leaf2.key leaf2.example

echo "x509_openssl: all checks passed"
