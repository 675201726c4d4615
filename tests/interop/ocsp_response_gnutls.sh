#!/usr/bin/env bash
# ocsp_response_gnutls.sh: responses built by vigil_ocsp_response_build
# checked by GnuTLS `ocsptool`: -e verifies the signature against the CA
# (--load-signer: the CA or a responder it delegated to; --load-trust: the
# CA as trust anchor), -j prints the fields. P-256, P-384, RSA-2048 and
# Ed25519; good / revoked / unknown; nonce; SHA-256 CertID; tampering;
# unsigned error responses.
set -euo pipefail
. "$(dirname "$0")/ocsp_response_common.bash"

NOW=$(date +%s)
THIS=$((NOW - 300))
NEXT=$((THIS + 96 * 3600))
REVOKED_AT=$((NOW - 86400 * 5 - 99))
NONCE=$(openssl rand -hex 20)

# tool ARGS...: run ocsptool, output in $OUT, status in $RC.
tool() {
  set +e
  OUT=$(ocsptool "$@" 2>&1)
  RC=$?
  set -e
}

# field_time LABEL: the epoch of the first "LABEL: <date>" line in $OUT
# (ocsptool prints e.g. "Sun Nov 22 20:57:47 UTC 2026"; GNU date reads it).
field_time() {
  local line
  line=$(printf '%s\n' "$OUT" | sed -n "s/^[[:space:]]*$1: //p" | head -n 1)
  [ -n "$line" ] || fail "no '$1' in ocsptool output"
  date -u -d "$line" +%s
}

check_times() {
  local what=$1
  [ "$(field_time 'This Update')" = "$THIS" ] || fail "$what: This Update"
  [ "$(field_time 'Next Update')" = "$NEXT" ] || fail "$what: Next Update"
}

key_id() {
  openssl x509 -in "$1" -noout -ocspid |
    sed -n 's/^Public key OCSP hash: *//p' | tr -d ' ' | tr 'A-F' 'a-f'
}

check_type() {
  local type=$1 d="$WORK/$1"
  make_pki "$type" "$d"
  local ca="$d/ca.pem" rcert="$d/responder.pem"
  local t=(--this-update "$THIS" --next-update "$NEXT")

  # good, CA-signed
  "$SIGN" --out "$d/good.der" --key "$d/ca.key" --issuer "$ca" \
    --serial 0x1234abcd "${t[@]}"
  tool -e --load-signer "$ca" -S "$d/good.der"
  [ "$RC" -eq 0 ] || { echo "$OUT" >&2; fail "$type good: rc=$RC"; }
  contains "$OUT" "Verifying OCSP Response: Success." "$type good"
  contains "$OUT" "Certificate Status: good" "$type good"
  contains "$OUT" "Serial Number: 1234abcd" "$type good"
  contains "$OUT" "Responder Key ID: $(key_id "$ca")" "$type good"
  check_times "$type good"

  # revoked, delegated responder, nonce; verified with the CA as the only
  # trust anchor and also as the expected signer.
  "$SIGN" --out "$d/revoked.der" --key "$d/responder.key" --cert "$rcert" \
    --issuer "$ca" --serial 0x1234abcd --status revoked \
    --reason keyCompromise --revocation-time "$REVOKED_AT" --nonce "$NONCE" \
    "${t[@]}"
  tool -e --load-trust "$ca" -S "$d/revoked.der"
  [ "$RC" -eq 0 ] || { echo "$OUT" >&2; fail "$type revoked: rc=$RC"; }
  contains "$OUT" "Verifying OCSP Response: Success." "$type revoked"
  contains "$OUT" "Certificate Status: revoked" "$type revoked"
  contains "$OUT" "Nonce: $NONCE" "$type revoked"
  contains "$OUT" "Responder Key ID: $(key_id "$rcert")" "$type revoked"
  [ "$(field_time 'Revocation time')" = "$REVOKED_AT" ] ||
    fail "$type revoked: Revocation time"
  check_times "$type revoked"
  tool -e --load-signer "$ca" -S "$d/revoked.der"
  [ "$RC" -eq 0 ] || { echo "$OUT" >&2; fail "$type revoked/signer: rc=$RC"; }

  # unknown, SHA-256 CertID, delegated
  "$SIGN" --out "$d/unknown.der" --key "$d/responder.key" --cert "$rcert" \
    --issuer "$ca" --serial 0x1234abcd --hash sha256 --status unknown \
    "${t[@]}"
  tool -e --load-trust "$ca" -S "$d/unknown.der"
  [ "$RC" -eq 0 ] || { echo "$OUT" >&2; fail "$type unknown: rc=$RC"; }
  contains "$OUT" "Verifying OCSP Response: Success." "$type unknown"
  contains "$OUT" "Hash Algorithm: SHA256" "$type unknown"
  contains "$OUT" "Certificate Status: unknown" "$type unknown"

  # Controls: a signature by the responder key without its certificate,
  # and a flipped signature bit, must both fail.
  "$SIGN" --out "$d/nocert.der" --key "$d/responder.key" --issuer "$ca" \
    --serial 0x1234abcd "${t[@]}"
  tool -e --load-signer "$ca" -S "$d/nocert.der"
  [ "$RC" -ne 0 ] || fail "$type: response by an unknown signer verified"
  lacks "$OUT" "Verifying OCSP Response: Success." "$type nocert"
  cp "$d/good.der" "$d/tampered.der"
  local size last
  size=$(stat -c %s "$d/tampered.der")
  last=$(od -An -tu1 -j $((size - 1)) -N1 "$d/tampered.der" | tr -d ' ')
  printf "\\$(printf '%03o' $((last ^ 0x01)))" |
    dd of="$d/tampered.der" bs=1 seek=$((size - 1)) conv=notrunc status=none
  tool -e --load-signer "$ca" -S "$d/tampered.der"
  [ "$RC" -ne 0 ] || fail "$type: tampered response verified"
  contains "$OUT" "Verifying OCSP Response: Failure" "$type tampered"

  echo "ok: $type"
}

for type in p256 p384 rsa2048 ed25519; do
  check_type "$type"
done

for name in malformedRequest internalError tryLater sigRequired \
  unauthorized; do
  "$SIGN" --out "$WORK/err.der" --error "$name"
  tool -j -S "$WORK/err.der"
  [ "$RC" -eq 0 ] || { echo "$OUT" >&2; fail "error $name: rc=$RC"; }
  contains "$OUT" "Response Status: $name" "error $name"
done
echo "ok: error responses"
echo "PASS"
