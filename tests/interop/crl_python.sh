#!/usr/bin/env bash
# crl_python.sh: CRLs from vigil_crl_build (through vigil-test-crl_sign)
# checked by python3-cryptography (crl_python.py beside this script): for
# an EC P-256 and an RSA-2048 CA made with the openssl CLI, a full CRL, an
# empty one, a shard with a critical IssuingDistributionPoint, one dated
# 2051 (GeneralizedTime) and one with 100,000 entries. Each must verify
# under the CA's public key (and stop verifying when a signed byte
# changes), list every entry in input order with its date and reason (no
# reasonCode for unspecified), and carry the CRL number and the AKI = the
# CA's SKI. The interpreter is $VIGIL_PYTHON, default python3 (works with
# Debian's python3-cryptography 38 and with newer releases).
set -euo pipefail

bin="${VIGIL_BUILD_DIR:?}/tests/vigil-test-crl_sign"
py="${VIGIL_SOURCE_DIR:?}/tests/interop/crl_python.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

PY=${VIGIL_PYTHON:-python3}
"$PY" -c 'import cryptography' ||
  {
    echo "FAIL: python3 cryptography module missing" >&2
    exit 1
  }

now=$(date +%s)
this=$((now - 60))
next=$((this + 10 * 86400)) # the BR maximum
uri="http://crl.example.test/crl/demo/0007.crl"

cat >ossl.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = Vigil CRL Python CA
O = Vigil Tests
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
EOF

# build NAME NUMBER THIS NEXT [extra crl_sign args]: NAME.txt -> NAME.der,
# then the python check with the same inputs.
build() {
  local name=$1 number=$2 t=$3 n=$4
  shift 4
  "$bin" --issuer ca.pem --key ca.key --number "$(printf '%02x' "$number")" \
    --this-update "$t" --next-update "$n" --entries "$name.txt" \
    --out "$name.der" "$@"
  local pyargs=(--ca ca.pem --crl "$name.der" --entries "$name.txt"
    --number "$number" --this-update "$t" --next-update "$n")
  if [ "${1:-}" = --idp ]; then
    pyargs+=(--idp "$2")
  fi
  if [ "${3:-}" = --user-certs ]; then
    pyargs+=(--user-certs)
  fi
  "$PY" "$py" "${pyargs[@]}"
}

for alg in ec rsa; do
  echo "=== CA key: $alg"
  rm -f ./*.pem ./*.key ./*.der ./*.txt
  if [ "$alg" = ec ]; then
    newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
  else
    newkey=(-newkey rsa:2048)
  fi
  openssl req -x509 -config ossl.cnf -extensions v3_ca "${newkey[@]}" \
    -nodes -keyout ca.key -out ca.pem -days 30 2>/dev/null

  cat >full.txt <<EOF
1001 $((now - 3600)) keyCompromise
a0b1c2 $((now - 86400)) none
7fabcdef0123456789abcdef0123456789abcdef $((now - 120)) superseded
ffabcdef0123456789abcdef0123456789abcdef $((now - 121)) cessationOfOperation
05 $((now - 122)) unspecified
1234 $((now - 123)) affiliationChanged
0100 $((now - 124)) privilegeWithdrawn
EOF
  build full 42 "$this" "$next"

  : >empty.txt
  build empty 43 "$this" "$next"

  printf '1003 %s keyCompromise\n2004 %s none\n' $((now - 90)) $((now - 91)) \
    >shard.txt
  build shard 44 "$this" "$next" --idp "$uri" --user-certs

  printf '1003 %s keyCompromise\n' $((now - 90)) >shard_all.txt
  build shard_all 45 "$this" "$next" --idp "$uri"

  t2051=2556144000 # 2051-01-01T00:00:00Z
  printf '1001 %s keyCompromise\n1002 %s superseded\n' \
    $((t2051 - 1)) 2524607999 >y2051.txt # the latter: 2049-12-31T23:59:59Z
  build y2051 46 "$t2051" $((t2051 + 86400))

  awk -v now="$now" 'BEGIN {
      split("keyCompromise none superseded cessationOfOperation", r, " ");
      for (i = 1; i <= 100000; i++)
        printf "%x%06x %d %s\n", 90 + i % 7, i, now - 60 - i, r[i % 4 + 1];
    }' >big.txt
  build big 47 "$this" "$next"
done
echo "all CRL python-cryptography interop checks passed"
