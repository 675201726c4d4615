#!/usr/bin/env bash
# pki_crl_check.sh: certificates we issue, checked by OpenSSL against a CRL
# we sign (issue 2: "issued certificates verified by openssl verify (with
# the chain, and with -crl_check against our CRL)").
#
# Root -> intermediate -> two TLS leaves, all issued by vigil_x509_issue; a
# CRL from the intermediate listing one leaf, built by vigil_crl_build.
# openssl must accept the chain, reject the revoked leaf with
# "certificate revoked", accept the other one, and reject both when the CRL
# is tampered with.
set -euo pipefail
B=${VIGIL_BUILD_DIR:?}/tests
ISSUE=$B/vigil-test-x509_issue
CRL=$B/vigil-test-crl_sign
work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-crlcheck.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

"$ISSUE" ca --key root.key --gen p256 --out root.pem --cn "CRL Check Root" >/dev/null
"$ISSUE" intermediate --ca-cert root.pem --ca-key root.key --key int.key \
  --gen p384 --out int.pem --cn "CRL Check Intermediate" --path-len 0 \
  --eku serverAuth,clientAuth >/dev/null
for n in 1 2; do
  "$ISSUE" leaf --ca-cert int.pem --ca-key int.key --key "leaf$n.key" \
    --gen p256 --out "leaf$n.pem" --dns "leaf$n.example" \
    --ocsp-url http://127.0.0.1:8080/ocsp --crl-url http://127.0.0.1:8080/crl/t \
    >/dev/null
done

# The chain alone verifies.
for n in 1 2; do
  openssl verify -x509_strict -CAfile root.pem -untrusted int.pem "leaf$n.pem" \
    | grep -q ": OK$"
done

# Revoke leaf1 (serial as openssl prints it) with keyCompromise.
serial=$(openssl x509 -in leaf1.pem -noout -serial | cut -d= -f2)
echo "$serial $(( $(date +%s) - 10 )) 1" > entries.txt
"$CRL" --issuer int.pem --key int.key --number 01 --this-update now \
  --next-update now+86400 --entries entries.txt --out int-crl.der
openssl crl -inform DER -in int-crl.der -out int-crl.pem
# A CRL for the root's level too (empty), since -crl_check_all wants one per CA.
"$CRL" --issuer root.pem --key root.key --number 01 --this-update now \
  --next-update now+86400 --out root-crl.der
openssl crl -inform DER -in root-crl.der -out root-crl.pem
cat int-crl.pem root-crl.pem > crls.pem

out=$(openssl verify -crl_check -CAfile root.pem -untrusted int.pem \
  -CRLfile crls.pem leaf1.pem 2>&1 || true)
echo "$out" | grep -q "certificate revoked" || { echo "leaf1 not revoked: $out"; exit 1; }
openssl verify -crl_check -CAfile root.pem -untrusted int.pem \
  -CRLfile crls.pem leaf2.pem | grep -q ": OK$"
openssl verify -crl_check_all -CAfile root.pem -untrusted int.pem \
  -CRLfile crls.pem leaf2.pem | grep -q ": OK$"

# A tampered CRL (one byte of the signature flipped) is not accepted.
python3 - int-crl.der bad.der <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
b[-3] ^= 0x01
open(sys.argv[2], 'wb').write(b)
PY
openssl crl -inform DER -in bad.der -out bad.pem
out=$(openssl verify -crl_check -CAfile root.pem -untrusted int.pem \
  -CRLfile bad.pem leaf2.pem 2>&1 || true)
echo "$out" | grep -q "CRL signature failure" || { echo "tampered CRL accepted: $out"; exit 1; }
echo "pki_crl_check: ok"
