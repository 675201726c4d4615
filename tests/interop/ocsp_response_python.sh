#!/usr/bin/env bash
# ocsp_response_python.sh: responses built by vigil_ocsp_response_build
# checked by python3-cryptography (ocsp_response_python.py): every field
# parsed back, the signature verified over tbs_response_bytes with the
# responder's public key, for P-256, P-384, RSA-2048 and Ed25519.
set -euo pipefail
. "$(dirname "$0")/ocsp_response_common.bash"

# Debian's python3 carries python3-cryptography; a pyenv shim may not.
PY=""
for cand in /usr/bin/python3 python3; do
  if command -v "$cand" >/dev/null &&
    "$cand" -c 'import cryptography.x509.ocsp' 2>/dev/null; then
    PY=$cand
    break
  fi
done
[ -n "$PY" ] || fail "no python3 with the cryptography module"
echo "using $PY, cryptography $("$PY" -c 'import cryptography; print(cryptography.__version__)')"

NOW=$(date +%s)
THIS=$((NOW - 300))
NEXT=$((THIS + 96 * 3600))
PRODUCED=$((NOW - 60))
REVOKED_AT=$((NOW - 86400 * 2 - 17))
NONCE=$(openssl rand -hex 32)

for type in p256 p384 rsa2048 ed25519; do
  d="$WORK/$type"
  make_pki "$type" "$d"
  t=(--this-update "$THIS" --next-update "$NEXT" --produced-at "$PRODUCED")
  "$SIGN" --out "$d/good.der" --key "$d/ca.key" --issuer "$d/ca.pem" \
    --serial 0x1234abcd "${t[@]}"
  "$SIGN" --out "$d/revoked.der" --key "$d/responder.key" \
    --cert "$d/responder.pem" --issuer "$d/ca.pem" \
    --serial 0xc0ffee0123456789abcdef0123456789abcdef01 --status revoked \
    --reason keyCompromise --revocation-time "$REVOKED_AT" "${t[@]}"
  "$SIGN" --out "$d/unknown.der" --key "$d/responder.key" \
    --cert "$d/responder.pem" --issuer "$d/ca.pem" --serial 0x1234abcd \
    --hash sha256 --status unknown "${t[@]}"
  "$SIGN" --out "$d/nonce.der" --key "$d/responder.key" \
    --cert "$d/responder.pem" --issuer "$d/ca.pem" --serial 0x1234abcd \
    --nonce "$NONCE" "${t[@]}"
  # Flip one bit of the last signature octet (no certs follow it here).
  "$PY" -c 'import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[-1] ^= 1
open(sys.argv[2], "wb").write(d)' "$d/good.der" "$d/tampered.der"
  for e in malformedRequest internalError tryLater sigRequired unauthorized; do
    "$SIGN" --out "$d/err-$e.der" --error "$e"
  done
  "$PY" "$(dirname "$0")/ocsp_response_python.py" "$d" "$THIS" "$NEXT" \
    "$PRODUCED" "$REVOKED_AT" "$NONCE"
done
echo "PASS"
