#!/usr/bin/env bash
# crl_openssl.sh: CRLs from vigil_crl_build (through vigil-test-crl_sign)
# checked by the OpenSSL 3 command line, which we did not write.
#
# For an EC P-256 and an RSA-2048 CA made with `openssl req` (with a
# SubjectKeyIdentifier), and leaf certificates issued by `openssl x509`:
#   - `openssl crl -verify` accepts the signature of a full CRL, an empty
#     CRL, a shard, a CRL with GeneralizedTime dates and a 100k-entry CRL;
#   - `openssl crl -text` shows every entry (serial, revocation date, reason
#     or none), the CRL number, the AKI = the CA's SKI, and for a shard the
#     critical IssuingDistributionPoint with its URI and "Only User
#     Certificates";
#   - `openssl verify -crl_check` says "certificate revoked" for a listed
#     leaf and OK for an unlisted one; with the shard CRL, a leaf whose CRL
#     distribution point is the shard's URI is revoked or OK, and a leaf
#     pointing at another shard is out of the CRL's scope;
#   - the tool refuses certificateHold (BR 7.2.2) and a duplicate serial.
# Expected values come from the inputs (entries files, the CA certificate),
# never from our own output.
set -euo pipefail
export LC_ALL=C

bin="${VIGIL_BUILD_DIR:?}/tests/vigil-test-crl_sign"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
pass() {
  echo "ok: $*"
}

now=$(date +%s)
this=$((now - 60))
next=$((now + 7 * 86400))
uri3="http://crl.example.test/demo/3.crl"

cat >ossl.cnf <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = Vigil CRL Interop CA
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
authorityKeyIdentifier = keyid
[leaf_dp3]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:$uri3
[leaf_dp4]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:http://crl.example.test/demo/4.crl
EOF

# openssl_reason NAME: how `openssl crl -text` prints a reasonCode.
openssl_reason() {
  case "$1" in
    none | unspecified) echo "none" ;;
    keyCompromise) echo "Key Compromise" ;;
    cACompromise) echo "CA Compromise" ;;
    affiliationChanged) echo "Affiliation Changed" ;;
    superseded) echo "Superseded" ;;
    cessationOfOperation) echo "Cessation Of Operation" ;;
    privilegeWithdrawn) echo "Privilege Withdrawn" ;;
    *) fail "no OpenSSL text for $1" ;;
  esac
}

# expected_entries FILE: "SERIAL|DATE|REASON" lines as OpenSSL prints them,
# derived from the entries file (serial: even-length upper-case hex).
expected_entries() {
  while read -r serial when reason; do
    serial=$(echo "$serial" | tr a-f A-F | sed 's/^0*//')
    if [ $((${#serial} % 2)) -eq 1 ]; then serial="0$serial"; fi
    when=$(date -u -d "@$when" '+%b %e %H:%M:%S %Y GMT')
    echo "$serial|$when|$(openssl_reason "$reason")"
  done <"$1"
}

# printed_entries CRL.der: the same triples parsed from `openssl crl -text`.
printed_entries() {
  openssl crl -inform DER -in "$1" -noout -text | awk '
    function flush() { if (s != "") print s "|" d "|" r; s = "" }
    /^ *Serial Number:/ { flush(); s = $3; r = "none"; next }
    /^ *Revocation Date:/ { sub(/^ *Revocation Date: /, ""); d = $0; next }
    /X509v3 CRL Reason Code/ { getline; sub(/^ +/, ""); r = $0; next }
    /^ *Signature Algorithm:/ && s != "" { flush() }
    END { flush() }'
}

verify_sig() { # CRL.der CA.pem what
  local out
  out=$(openssl crl -inform DER -in "$1" -CAfile "$2" -noout -verify 2>&1) ||
    fail "$3: openssl crl -verify failed: $out"
  grep -qx "verify OK" <<<"$out" || fail "$3: no 'verify OK': $out"
  pass "$3: signature verifies"
}

# verify_leaf CRL.der LEAF.pem EXPECT: EXPECT is OK, revoked or scope.
verify_leaf() {
  local out rc=0
  openssl crl -inform DER -in "$1" -out crl.pem
  out=$(openssl verify -crl_check -CAfile ca.pem -CRLfile crl.pem "$2" 2>&1) ||
    rc=$?
  case "$3" in
    OK) [ "$rc" -eq 0 ] && grep -q "^$2: OK$" <<<"$out" ||
      fail "$2 against $1: expected OK, got: $out" ;;
    revoked) [ "$rc" -ne 0 ] && grep -q "certificate revoked" <<<"$out" ||
      fail "$2 against $1: expected revoked, got: $out" ;;
    scope) [ "$rc" -ne 0 ] && grep -q "different CRL scope" <<<"$out" ||
      fail "$2 against $1: expected out of scope, got: $out" ;;
  esac
  pass "openssl verify -crl_check $2 with $1: $3"
}

make_leaf() { # NAME SERIAL SECTION
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$1.key" -subj "/CN=$1" 2>/dev/null |
    openssl x509 -req -CA ca.pem -CAkey ca.key -set_serial "$2" -days 10 \
      -extfile ossl.cnf -extensions "$3" -out "$1.pem" 2>/dev/null
}

sign() { # OUT NUMBERHEX ENTRIES [extra args]
  local out=$1 number=$2 entries=$3
  shift 3
  "$bin" --issuer ca.pem --key ca.key --number "$number" \
    --this-update "$this" --next-update "$next" --entries "$entries" \
    --out "$out" "$@"
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
  ski=$(openssl x509 -in ca.pem -noout -ext subjectKeyIdentifier |
    sed -n '2s/^ *//p')
  [ -n "$ski" ] || fail "CA has no SKI"
  make_leaf leaf1 0x1001 leaf
  make_leaf leaf2 0x1002 leaf
  make_leaf leaf3 0x1003 leaf_dp3
  make_leaf leaf4 0x1004 leaf_dp4
  make_leaf leaf5 0x1005 leaf_dp3

  # --- a full CRL --------------------------------------------------------
  cat >full.txt <<EOF
1001 $((now - 3600)) keyCompromise
a0b1c2 $((now - 86400)) none
7fabcdef0123456789abcdef0123456789abcdef $((now - 120)) superseded
ffabcdef0123456789abcdef0123456789abcdef $((now - 121)) cessationOfOperation
05 $((now - 122)) unspecified
1234 $((now - 123)) affiliationChanged
1235 $((now - 124)) privilegeWithdrawn
EOF
  sign full.der 2a full.txt
  verify_sig full.der ca.pem "full CRL"
  text=$(openssl crl -inform DER -in full.der -noout -text)
  grep -q "Version 2 (0x1)" <<<"$text" || fail "not v2"
  grep -A1 "X509v3 CRL Number:" <<<"$text" | grep -qx " *42" ||
    fail "CRL number 42 not shown"
  grep -A1 "X509v3 Authority Key Identifier:" <<<"$text" |
    grep -q "$ski" || fail "AKI is not the CA's SKI $ski"
  if grep -q "Issuing Distribution Point" <<<"$text"; then
    fail "full CRL has an IDP"
  fi
  grep -q "Last Update: $(date -u -d "@$this" '+%b %e %H:%M:%S %Y GMT')" \
    <<<"$text" || fail "thisUpdate"
  grep -q "Next Update: $(date -u -d "@$next" '+%b %e %H:%M:%S %Y GMT')" \
    <<<"$text" || fail "nextUpdate"
  diff <(expected_entries full.txt) <(printed_entries full.der) ||
    fail "entries differ (expected < > printed)"
  pass "openssl crl -text: $(wc -l <full.txt) entries, reasons, number, AKI"
  verify_leaf full.der leaf1.pem revoked
  verify_leaf full.der leaf2.pem OK
  verify_leaf full.der leaf3.pem OK

  # --- an empty CRL ------------------------------------------------------
  : >empty.txt
  sign empty.der 2b empty.txt
  verify_sig empty.der ca.pem "empty CRL"
  if openssl crl -inform DER -in empty.der -noout -text |
    grep -q "Serial Number"; then
    fail "empty CRL lists something"
  fi
  openssl crl -inform DER -in empty.der -noout -text |
    grep -q "No Revoked Certificates" || fail "empty CRL text"
  verify_leaf empty.der leaf1.pem OK

  # --- a shard -----------------------------------------------------------
  echo "1003 $((now - 90)) keyCompromise" >shard.txt
  sign shard.der 2c shard.txt --idp "$uri3" --user-certs
  verify_sig shard.der ca.pem "shard CRL"
  text=$(openssl crl -inform DER -in shard.der -noout -text)
  grep -q "X509v3 Issuing Distribution Point: critical" <<<"$text" ||
    fail "no critical IDP"
  grep -q "URI:$uri3" <<<"$text" || fail "IDP URI"
  grep -q "Only User Certificates" <<<"$text" || fail "onlyContainsUserCerts"
  pass "openssl crl -text: critical IDP $uri3, only user certs"
  verify_leaf shard.der leaf3.pem revoked
  verify_leaf shard.der leaf5.pem OK
  verify_leaf shard.der leaf4.pem scope

  # --- GeneralizedTime from 2050 -----------------------------------------
  t2051=2556144000 # 2051-01-01T00:00:00Z
  echo "1001 $((t2051 - 3600)) keyCompromise" >y2051.txt
  "$bin" --issuer ca.pem --key ca.key --number 2d --this-update "$t2051" \
    --next-update $((t2051 + 86400)) --entries y2051.txt --out y2051.der
  verify_sig y2051.der ca.pem "2051 CRL"
  openssl asn1parse -inform DER -in y2051.der | grep -c GENERALIZEDTIME |
    grep -qx 3 || fail "expected 3 GeneralizedTimes"
  openssl crl -inform DER -in y2051.der -noout -text |
    grep -q "Last Update: Jan  1 00:00:00 2051 GMT" || fail "2051 date"
  pass "GeneralizedTime dates read back by OpenSSL"

  # --- refusals ----------------------------------------------------------
  echo "1001 $((now - 90)) 6" >hold.txt
  rc=0
  sign hold.der 2e hold.txt 2>/dev/null || rc=$?
  [ "$rc" -eq 2 ] && [ ! -e hold.der ] || fail "certificateHold accepted"
  printf '1001 %s none\n01001 %s superseded\n' "$((now - 99))" \
    "$((now - 98))" >dup.txt
  rc=0
  sign dup.der 2e dup.txt 2>/dev/null || rc=$?
  [ "$rc" -eq 2 ] && [ ! -e dup.der ] || fail "duplicate serial accepted"
  pass "certificateHold and a duplicate serial refused"

  # --- 100,000 entries ---------------------------------------------------
  awk -v now="$now" 'BEGIN {
      split("keyCompromise none superseded cessationOfOperation", r, " ");
      for (i = 1; i <= 100000; i++)
        printf "%x %d %s\n", 1048576 + i, now - 60 - i, r[i % 4 + 1];
      printf "1001 %d keyCompromise\n", now - 70;
    }' >big.txt
  sign big.der 2f big.txt
  verify_sig big.der ca.pem "100,001-entry CRL ($(stat -c %s big.der) bytes)"
  count=$(openssl crl -inform DER -in big.der -noout -text |
    grep -c "Serial Number:")
  [ "$count" -eq 100001 ] || fail "100k CRL shows $count entries"
  pass "openssl crl -text lists all 100,001 entries"
  verify_leaf big.der leaf1.pem revoked
  verify_leaf big.der leaf2.pem OK
done
echo "all CRL OpenSSL interop checks passed"
