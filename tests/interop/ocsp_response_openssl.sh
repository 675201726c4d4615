#!/usr/bin/env bash
# ocsp_response_openssl.sh: responses built by vigil_ocsp_response_build
# (through vigil-test-ocsp_sign) checked by the OpenSSL 3 `openssl ocsp`
# client: signature verification against the CA as the only trust anchor,
# CA-signed and delegated responders, good / revoked (time, reason) /
# unknown, nonce echo, SHA-1 and SHA-256 CertIDs, tampering, and the
# unsigned error responses. Key types: P-256, P-384, RSA-2048, Ed25519.
set -euo pipefail
. "$(dirname "$0")/ocsp_response_common.bash"

NOW=$(date +%s)
THIS=$((NOW - 300))
NEXT=$((THIS + 96 * 3600))
REVOKED_AT=$((NOW - 86400 * 3 - 4321))
SERIAL1=0x1234abcd
SERIAL2=0xc0ffee0123456789abcdef0123456789abcdef01

# openssl prints ASN1 times as "Nov  2 08:49:37 2026 GMT".
ossl_time() { date -u -d "@$1" '+%b %e %H:%M:%S %Y GMT'; }

# ocsp ARGS...: run `openssl ocsp`, capture stdout+stderr in $OUT, and the
# exit status in $RC (never aborts the script).
ocsp() {
  set +e
  OUT=$(openssl ocsp "$@" 2>&1)
  RC=$?
  set -e
}

flip_last_byte() {
  local f=$1 size last
  size=$(stat -c %s "$f")
  last=$(od -An -tu1 -j $((size - 1)) -N1 "$f" | tr -d ' ')
  printf "\\$(printf '%03o' $((last ^ 0x01)))" |
    dd of="$f" bs=1 seek=$((size - 1)) conv=notrunc status=none
}

check_type() {
  local type=$1 d="$WORK/$1"
  make_pki "$type" "$d"
  local ca="$d/ca.pem" cakey="$d/ca.key" rkey="$d/responder.key"
  local rcert="$d/responder.pem"
  local common=(--this-update "$THIS" --next-update "$NEXT")

  # 1. good, signed by the CA itself (no certs in the response).
  "$SIGN" --out "$d/good.der" --key "$cakey" --issuer "$ca" \
    --serial "$SERIAL1" --status good "${common[@]}"
  ocsp -respin "$d/good.der" -issuer "$ca" -CAfile "$ca" \
    -cert "$d/leaf1.pem" -no_nonce -resp_text
  [ "$RC" -eq 0 ] || { echo "$OUT" >&2; fail "$type good: openssl ocsp rc=$RC"; }
  contains "$OUT" "Response verify OK" "$type good"
  contains "$OUT" "leaf1.pem: good" "$type good"
  contains "$OUT" "This Update: $(ossl_time "$THIS")" "$type good"
  contains "$OUT" "Next Update: $(ossl_time "$NEXT")" "$type good"
  lacks "$OUT" "Certificate:" "$type good (CA-signed carries no certs)"
  local ca_hash
  ca_hash=$(openssl x509 -in "$ca" -noout -ocspid |
    sed -n 's/^Public key OCSP hash: *//p' | tr -d ' ')
  contains "$OUT" "Responder Id: $ca_hash" "$type good byKey"

  # 2. revoked (keyCompromise), delegated responder, 21-octet serial,
  #    looked up by -serial; the CA is the only trust anchor.
  "$SIGN" --out "$d/revoked.der" --key "$rkey" --cert "$rcert" \
    --issuer "$ca" --serial "$SERIAL2" --status revoked \
    --reason keyCompromise --revocation-time "$REVOKED_AT" "${common[@]}"
  ocsp -respin "$d/revoked.der" -issuer "$ca" -CAfile "$ca" \
    -serial "$SERIAL2" -no_nonce -resp_text
  [ "$RC" -eq 0 ] || { echo "$OUT" >&2; fail "$type revoked: rc=$RC"; }
  contains "$OUT" "Response verify OK" "$type revoked"
  contains "$OUT" "$SERIAL2: revoked" "$type revoked"
  contains "$OUT" "Reason: keyCompromise" "$type revoked"
  contains "$OUT" "Revocation Time: $(ossl_time "$REVOKED_AT")" "$type revoked"
  local r_hash
  r_hash=$(openssl x509 -in "$rcert" -noout -ocspid |
    sed -n 's/^Public key OCSP hash: *//p' | tr -d ' ')
  contains "$OUT" "Responder Id: $r_hash" "$type revoked byKey"
  contains "$OUT" "Subject: CN=Interop OCSP $type" "$type revoked certs [0]"

  # 3. revoked without a reason code: no Reason line.
  "$SIGN" --out "$d/revoked-noreason.der" --key "$rkey" --cert "$rcert" \
    --issuer "$ca" --serial "$SERIAL1" --status revoked \
    --revocation-time "$REVOKED_AT" "${common[@]}"
  ocsp -respin "$d/revoked-noreason.der" -issuer "$ca" -CAfile "$ca" \
    -cert "$d/leaf1.pem" -no_nonce
  [ "$RC" -eq 0 ] || { echo "$OUT" >&2; fail "$type revoked/none: rc=$RC"; }
  contains "$OUT" "leaf1.pem: revoked" "$type revoked/none"
  lacks "$OUT" "Reason:" "$type revoked/none"

  # 4. unknown, delegated.
  "$SIGN" --out "$d/unknown.der" --key "$rkey" --cert "$rcert" \
    --issuer "$ca" --serial "$SERIAL1" --status unknown "${common[@]}"
  ocsp -respin "$d/unknown.der" -issuer "$ca" -CAfile "$ca" \
    -cert "$d/leaf1.pem" -no_nonce
  [ "$RC" -eq 0 ] || { echo "$OUT" >&2; fail "$type unknown: rc=$RC"; }
  contains "$OUT" "Response verify OK" "$type unknown"
  contains "$OUT" "leaf1.pem: unknown" "$type unknown"

  # 5. delegated key without its certificate in the response: a relying
  #    party trusting only the CA cannot find the signer.
  "$SIGN" --out "$d/nocert.der" --key "$rkey" --issuer "$ca" \
    --serial "$SERIAL1" "${common[@]}"
  ocsp -respin "$d/nocert.der" -issuer "$ca" -CAfile "$ca" \
    -cert "$d/leaf1.pem" -no_nonce
  [ "$RC" -ne 0 ] || fail "$type: response by an unknown signer verified"
  contains "$OUT" "Response Verify Failure" "$type nocert"

  # 6. nonce: openssl makes the request, we echo its nonce (extracted by
  #    openssl's own -req_text) and the CertID verbatim.
  openssl ocsp -issuer "$ca" -cert "$d/leaf1.pem" -reqout "$d/req.der"
  local nonce_ext nonce
  nonce_ext=$(openssl ocsp -reqin "$d/req.der" -req_text |
    grep -A1 'OCSP Nonce' | tail -n 1 | tr -d ' \n')
  [ "${nonce_ext:0:2}" = "04" ] || fail "$type: cannot read nonce ($nonce_ext)"
  nonce=${nonce_ext:4}
  [ ${#nonce} -eq 32 ] || fail "$type: unexpected nonce length ($nonce_ext)"
  "$SIGN" --out "$d/nonce.der" --key "$rkey" --cert "$rcert" \
    --issuer "$ca" --request "$d/req.der" --nonce "$nonce" "${common[@]}"
  ocsp -reqin "$d/req.der" -respin "$d/nonce.der" -issuer "$ca" \
    -CAfile "$ca" -resp_text
  [ "$RC" -eq 0 ] || { echo "$OUT" >&2; fail "$type nonce: rc=$RC"; }
  contains "$OUT" "Response verify OK" "$type nonce"
  contains "$OUT" "Cert Status: good" "$type nonce"
  lacks "$OUT" "WARNING: no nonce" "$type nonce"
  lacks "$OUT" "erify error" "$type nonce"
  # Controls: the same check does notice a missing or a different nonce.
  ocsp -reqin "$d/req.der" -respin "$d/good.der" -issuer "$ca" -CAfile "$ca"
  contains "$OUT" "WARNING: no nonce in response" "$type nonce control"
  local bad_nonce="00${nonce:2}"
  [ "${nonce:0:2}" != "00" ] || bad_nonce="01${nonce:2}"
  "$SIGN" --out "$d/nonce-bad.der" --key "$rkey" --cert "$rcert" \
    --issuer "$ca" --request "$d/req.der" --nonce "$bad_nonce" \
    "${common[@]}"
  ocsp -reqin "$d/req.der" -respin "$d/nonce-bad.der" -issuer "$ca" \
    -CAfile "$ca"
  [ "$RC" -ne 0 ] || fail "$type: a wrong nonce was accepted"
  contains "$OUT" "Nonce Verify error" "$type nonce control"

  # 7. SHA-256 CertID: built from the issuer, and echoed from a -sha256
  #    request. A SHA-1 answer must not match a SHA-256 question.
  "$SIGN" --out "$d/sha256.der" --key "$rkey" --cert "$rcert" \
    --issuer "$ca" --serial "$SERIAL1" --hash sha256 "${common[@]}"
  ocsp -sha256 -respin "$d/sha256.der" -issuer "$ca" -CAfile "$ca" \
    -cert "$d/leaf1.pem" -no_nonce -resp_text
  [ "$RC" -eq 0 ] || { echo "$OUT" >&2; fail "$type sha256: rc=$RC"; }
  contains "$OUT" "Hash Algorithm: sha256" "$type sha256"
  contains "$OUT" "leaf1.pem: good" "$type sha256"
  ocsp -sha256 -respin "$d/good.der" -issuer "$ca" -CAfile "$ca" \
    -cert "$d/leaf1.pem" -no_nonce
  lacks "$OUT" "leaf1.pem: good" "$type sha256 control"
  openssl ocsp -sha256 -no_nonce -issuer "$ca" -cert "$d/leaf1.pem" \
    -reqout "$d/req256.der"
  "$SIGN" --out "$d/sha256-echo.der" --key "$cakey" --issuer "$ca" \
    --request "$d/req256.der" "${common[@]}"
  ocsp -reqin "$d/req256.der" -respin "$d/sha256-echo.der" -issuer "$ca" \
    -CAfile "$ca" -no_nonce -resp_text
  [ "$RC" -eq 0 ] || { echo "$OUT" >&2; fail "$type sha256 echo: rc=$RC"; }
  contains "$OUT" "Response verify OK" "$type sha256 echo"
  contains "$OUT" "Hash Algorithm: sha256" "$type sha256 echo"
  ocsp -sha256 -respin "$d/sha256-echo.der" -issuer "$ca" -CAfile "$ca" \
    -cert "$d/leaf1.pem" -no_nonce
  contains "$OUT" "leaf1.pem: good" "$type sha256 echo status"

  # 8. tampering: one bit of the signature flipped.
  cp "$d/good.der" "$d/tampered.der"
  flip_last_byte "$d/tampered.der"
  ocsp -respin "$d/tampered.der" -issuer "$ca" -CAfile "$ca" \
    -cert "$d/leaf1.pem" -no_nonce
  [ "$RC" -ne 0 ] || fail "$type: tampered response verified"
  contains "$OUT" "Response Verify Failure" "$type tampered"

  echo "ok: $type"
}

for type in p256 p384 rsa2048 ed25519; do
  check_type "$type"
done

# Unsigned error responses.
for pair in malformedRequest:1 internalError:2 tryLater:3 sigRequired:5 \
  unauthorized:6; do
  name=${pair%%:*}
  code=${pair##*:}
  "$SIGN" --out "$WORK/err.der" --error "$name"
  ocsp -respin "$WORK/err.der" -resp_text
  lower=$(printf '%s' "$name" | tr 'A-Z' 'a-z')
  contains "$OUT" "Responder Error: $lower ($code)" "error $name"
  [ "$(stat -c %s "$WORK/err.der")" -eq 5 ] || fail "error $name: not 5 bytes"
done
echo "ok: error responses"
echo "PASS"
