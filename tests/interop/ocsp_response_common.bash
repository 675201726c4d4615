# ocsp_response_common.bash: shared setup for the ocsp_response_*.sh
# interop scripts (sourced, not a test itself: ctest only runs *.sh).
#
# Everything here is made with the OpenSSL 3 `openssl` CLI, never with our
# own code: a CA, a delegated OCSP responder certificate (EKU OCSPSigning +
# id-pkix-ocsp-nocheck, issued directly by the CA) and leaf certificates.
# The scripts then sign responses with vigil-test-ocsp_sign and check them
# with clients we did not write.

: "${VIGIL_BUILD_DIR:?VIGIL_BUILD_DIR must be set (ctest sets it)}"
SIGN="$VIGIL_BUILD_DIR/tests/vigil-test-ocsp_sign"
if [ ! -x "$SIGN" ]; then
  echo "missing $SIGN (build first)" >&2
  exit 1
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# genkey TYPE OUT: TYPE is p256, p384, rsa2048 or ed25519.
genkey() {
  case "$1" in
    p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
            -out "$2" 2>/dev/null ;;
    p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 \
            -out "$2" 2>/dev/null ;;
    rsa2048) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
               -out "$2" 2>/dev/null ;;
    ed25519) openssl genpkey -algorithm ED25519 -out "$2" 2>/dev/null ;;
    *) fail "unknown key type $1" ;;
  esac
}

# make_pki TYPE DIR: CA, delegated responder and two leaves in DIR, all
# with keys of TYPE. Leaf serials: 0x1234abcd (leaf1), 0x00c0ffee... (leaf2,
# high bit set so the INTEGER needs a leading zero octet).
make_pki() {
  local type=$1 d=$2
  mkdir -p "$d"
  cat >"$d/ca.ext" <<'EOF'
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
EOF
  cat >"$d/responder.ext" <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=OCSPSigning
noCheck=ignored
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
  cat >"$d/leaf.ext" <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
authorityKeyIdentifier=keyid
EOF
  genkey "$type" "$d/ca.key"
  genkey "$type" "$d/responder.key"
  genkey "$type" "$d/leaf.key"
  openssl req -new -key "$d/ca.key" -subj "/O=Vigil Interop/CN=Interop CA $type" \
    -out "$d/ca.csr" 2>/dev/null
  openssl x509 -req -in "$d/ca.csr" -signkey "$d/ca.key" -days 30 \
    -set_serial 1 -extfile "$d/ca.ext" -out "$d/ca.pem" 2>/dev/null
  openssl req -new -key "$d/responder.key" -subj "/CN=Interop OCSP $type" \
    -out "$d/responder.csr" 2>/dev/null
  openssl x509 -req -in "$d/responder.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
    -days 10 -set_serial 2 -extfile "$d/responder.ext" \
    -out "$d/responder.pem" 2>/dev/null
  openssl req -new -key "$d/leaf.key" -subj "/CN=leaf1.example" \
    -out "$d/leaf.csr" 2>/dev/null
  openssl x509 -req -in "$d/leaf.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
    -days 10 -set_serial 0x1234abcd -extfile "$d/leaf.ext" \
    -out "$d/leaf1.pem" 2>/dev/null
  openssl x509 -req -in "$d/leaf.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
    -days 10 -set_serial 0xc0ffee0123456789abcdef0123456789abcdef01 \
    -extfile "$d/leaf.ext" -out "$d/leaf2.pem" 2>/dev/null
  [ -s "$d/ca.pem" ] && [ -s "$d/responder.pem" ] && [ -s "$d/leaf1.pem" ] &&
    [ -s "$d/leaf2.pem" ] || fail "openssl could not make the $type PKI"
}

# contains HAYSTACK NEEDLE WHAT: fail unless NEEDLE is a substring.
contains() {
  case "$1" in
    *"$2"*) ;;
    *) printf '%s\n' "$1" >&2; fail "$3: expected '$2'" ;;
  esac
}

# lacks HAYSTACK NEEDLE WHAT: fail if NEEDLE is a substring.
lacks() {
  case "$1" in
    *"$2"*) printf '%s\n' "$1" >&2; fail "$3: unexpected '$2'" ;;
    *) ;;
  esac
}
