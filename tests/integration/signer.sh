#!/usr/bin/env bash
# signer.sh: vigil-signer end to end. Starts the daemon on a temp key
# directory and socket, calls every operation through vigil-test-sgn_call
# (our client on the real socket) and checks every output with clients we
# did not write: openssl (CA and leaf chains, OCSP responses good/revoked
# through the delegated responder, CRL signature, responder EKU and
# ocsp-nocheck) and python3-cryptography (the SEAL signature). Also:
# refusal to start on a 0644 key file or a group-writable key directory,
# a socket in a directory others can write, responder export into an
# unsafe or symlinked destination,
# a second signer on the same directory, peer-uid rejection (SO_PEERCRED)
# with the client running as `nobody` and as root against another
# allowed-uid, bad frames, kill -9 + restart keeping issuers, SIGTERM
# cleanup, and a batch of 1000 pre-signed responses (rate printed, not
# asserted).
set -euo pipefail

src=${VIGIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${VIGIL_BUILD_DIR:?}
# shellcheck source=../lib/services.sh
source "$src/tests/lib/services.sh"
signer="$build/control/signer/vigil-signer"
call_bin="$build/tests/vigil-test-sgn_call"
PY=${VIGIL_PYTHON:-python3}
[ -x /usr/bin/python3 ] && PY=${VIGIL_PYTHON:-/usr/bin/python3}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-signer.XXXXXX")
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
cd "$tmp"

step() { printf '== %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  [ -f signer.log ] && tail -20 signer.log >&2
  exit 1
}
sock="$tmp/s.sock"
keys="$tmp/keys"
call() { "$call_bin" --socket "$sock" "$@"; }
# expect_status NAME CMD...: CMD must fail with signer status NAME.
expect_status() {
  local want=$1 out rc=0
  shift
  out=$("$@" 2>&1) || rc=$?
  [ "$rc" -eq 3 ] || fail "expected status $want (exit 3), got exit $rc: $out"
  grep -q "^status $want " <<<"$out" || fail "expected status $want: $out"
}

# start_signer: start on $sock/$keys and wait until it answers.
start_signer() {
  "$signer" --socket="$sock" --key-dir="$keys" >>signer.log 2>&1 &
  pid=$!
  pids+=("$pid")
  vigil_wait_for -t 30 -m "vigil-signer to answer on $sock" \
    "$call_bin" --socket "$sock" ping ||
    fail "signer did not come up"
}

step "--help comes from the config table"
"$signer" --help | grep -q -- 'responder-validity' || fail "--help lacks responder-validity"
"$signer" --help | grep -q -- 'allowed-uid' || fail "--help lacks allowed-uid"

step "start; socket is 0600; ping"
start_signer
[ "$(stat -c %a "$sock")" = 600 ] || fail "socket mode $(stat -c %a "$sock")"
[ "$(stat -c %a "$keys/audit.key")" = 600 ] || fail "audit.key mode"
call ping | grep -q '^num_issuers 0$' || fail "ping"

step "a second signer on the same key directory is refused"
if "$signer" --socket="$tmp/other.sock" --key-dir="$keys" >other.log 2>&1; then
  fail "second signer started"
fi
grep -q 'in use by another vigil-signer' other.log || fail "$(cat other.log)"

step "CREATE_ROOT and CREATE_INTERMEDIATE"
call create-root --issuer root-1 --cn "Vigil Test Root" --o Vigil --c DE \
  --validity $((20 * 365 * 86400)) --out root.pem >/dev/null
openssl verify -CAfile root.pem root.pem >/dev/null || fail "root does not self-verify"
openssl x509 -in root.pem -noout -text >root.txt
grep -q 'CA:TRUE' root.txt || fail "root not a CA"
grep -q 'Certificate Sign' root.txt || fail "root lacks keyCertSign"
call create-intermediate --issuer int-1 --parent root-1 --cn "Vigil Test Sub" \
  --o Vigil --validity $((5 * 365 * 86400)) --path-len 0 \
  --ocsp-url http://127.0.0.1:8080/ocsp/root --crl-url http://127.0.0.1:8080/crl/root \
  --out int.pem >/dev/null
openssl verify -CAfile root.pem int.pem >/dev/null || fail "intermediate does not verify"
openssl x509 -in int.pem -noout -text | grep -q 'pathlen:0' || fail "no pathlen"
cat int.pem root.pem >chain.pem
expect_status exists call create-root --issuer root-1 --cn X --validity 86400
expect_status not_found call create-intermediate --issuer x --parent nope --cn X --validity 86400
expect_status invalid call create-root --issuer Bad_Id --cn X --validity 86400
[ "$(stat -c %a "$keys/issuers/int-1/ca.key")" = 600 ] || fail "ca.key mode"

step "ISSUER_INFO mints a delegated responder (EKU OCSPSigning, ocsp-nocheck, short)"
call issuer-info --issuer int-1 --out int-again.pem --responder-out resp.pem >info.txt
cmp <(openssl x509 -in int.pem -outform DER) <(openssl x509 -in int-again.pem -outform DER) ||
  fail "issuer-info returned another CA certificate"
ikh=$(openssl x509 -in int.pem -noout -pubkey | openssl pkey -pubin -outform DER |
  tail -c 65 | openssl dgst -sha1 -r | cut -d' ' -f1)
grep -q "^key_sha1 $ikh\$" info.txt || fail "key_sha1 is not SHA-1 of the key bits ($ikh)"
openssl x509 -in resp.pem -noout -text >resp.txt
grep -A1 'Extended Key Usage' resp.txt | grep -q 'OCSP Signing' || fail "no OCSPSigning EKU"
grep -q 'OCSP No Check' resp.txt || fail "no ocsp-nocheck"
openssl verify -CAfile root.pem -untrusted int.pem resp.pem >/dev/null || fail "responder does not chain"
nb=$(date -d "$(openssl x509 -in resp.pem -noout -startdate | cut -d= -f2)" +%s)
na=$(date -d "$(openssl x509 -in resp.pem -noout -enddate | cut -d= -f2)" +%s)
[ $((na - nb)) -le $((7 * 86400 + 600)) ] || fail "responder valid $((na - nb)) s"

step "ISSUE_CSR (SANs overridden) and ISSUE_GENERATED; leaves verify against the chain"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout csr.key \
  -subj /CN=csr.example.test -addext subjectAltName=DNS:csr.example.test -out csr.pem 2>/dev/null
call issue-csr --issuer int-1 --csr csr.pem --validity $((90 * 86400)) \
  --dns www.example.test --ip 127.0.0.1 \
  --ocsp-url http://127.0.0.1:8080/ocsp/demo --crl-url http://127.0.0.1:8080/crl/demo \
  --out leaf1.pem >leaf1.txt
openssl verify -CAfile root.pem -untrusted int.pem -purpose sslserver leaf1.pem >/dev/null ||
  fail "CSR leaf does not verify"
openssl x509 -in leaf1.pem -noout -ext subjectAltName | grep -q 'DNS:www.example.test, IP Address:127.0.0.1' ||
  fail "SAN override not applied"
openssl x509 -in leaf1.pem -noout -ocsp_uri | grep -q 'http://127.0.0.1:8080/ocsp/demo' || fail "no AIA OCSP"
cmp <(openssl x509 -in leaf1.pem -noout -pubkey) <(openssl pkey -in csr.key -pubout) ||
  fail "leaf key is not the CSR's"
serial1=$(openssl x509 -in leaf1.pem -noout -serial | cut -d= -f2)
grep -qi "^serial $serial1\$" leaf1.txt || fail "reply serial differs from the certificate's"
call issue-generated --issuer int-1 --cn gen.example.test --dns gen.example.test \
  --key-type p384 --validity $((30 * 86400)) --out leaf2.pem --key-out leaf2.key >/dev/null
openssl verify -CAfile root.pem -untrusted int.pem leaf2.pem >/dev/null || fail "generated leaf does not verify"
cmp <(openssl x509 -in leaf2.pem -noout -pubkey) <(openssl pkey -in leaf2.key -pubout) ||
  fail "returned key does not match the certificate"
serial2=$(openssl x509 -in leaf2.pem -noout -serial | cut -d= -f2)
printf 'not a csr' >junk.csr
expect_status csr call issue-csr --issuer int-1 --csr junk.csr --validity 86400
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout mail.key \
  -subj /CN=mail -addext subjectAltName=DNS:mail.example.test,email:a@example.test \
  -out mail.csr 2>/dev/null
expect_status invalid call issue-csr --issuer int-1 --csr mail.csr --validity 86400
expect_status invalid call issue-generated --issuer int-1 --cn x --validity 86400 # no SAN
expect_status invalid call issue-generated --issuer int-1 --dns a.test --validity $((400 * 86400))

step "PRESIGN_BATCH: good and revoked verify with openssl through the responder"
mkdir -p out
call presign --issuer int-1 --validity $((96 * 3600)) --entry "$serial1:good" \
  --entry "$serial2:revoked:now-120:keyCompromise" --out-dir out >/dev/null
openssl ocsp -respin out/0.der -CAfile chain.pem -issuer int.pem -cert leaf1.pem >ocsp0.txt 2>&1 ||
  fail "openssl ocsp: $(cat ocsp0.txt)"
grep -q 'Response verify OK' ocsp0.txt || fail "response 0 does not verify: $(cat ocsp0.txt)"
grep -q 'leaf1.pem: good' ocsp0.txt || fail "leaf1 not good: $(cat ocsp0.txt)"
openssl ocsp -respin out/1.der -CAfile chain.pem -issuer int.pem -cert leaf2.pem >ocsp1.txt 2>&1 ||
  fail "openssl ocsp: $(cat ocsp1.txt)"
grep -q 'Response verify OK' ocsp1.txt || fail "response 1 does not verify"
grep -q 'leaf2.pem: revoked' ocsp1.txt || fail "leaf2 not revoked: $(cat ocsp1.txt)"
grep -q 'Reason: keyCompromise' ocsp1.txt || fail "no reason: $(cat ocsp1.txt)"
# Signed by the delegated responder (byKey = its key), which is included.
openssl ocsp -respin out/0.der -resp_text -noverify >resp0.txt 2>&1
rkh=$(openssl x509 -in resp.pem -noout -pubkey | openssl pkey -pubin -outform DER |
  tail -c 65 | openssl dgst -sha1 -r | cut -d' ' -f1)
grep -qi "Responder Id: $rkh" resp0.txt || fail "responder id is not the delegated responder's key"
grep -q 'Hash Algorithm: sha1' resp0.txt || fail "CertID is not SHA-1"
expect_status invalid call presign --issuer int-1 --validity 3600 --entry 01:good
expect_status invalid call presign --issuer int-1 --validity 345600 --entry 0001:good
expect_status invalid call presign --issuer int-1 --validity 345600 --entry 01:revoked:now:certificateHold
expect_status not_found call presign --issuer nope --validity 345600 --entry 01:good

step "PRESIGN_BATCH of 1000"
revoked_at=$(($(date +%s) - 60))
for i in $(seq 1 1000); do
  if [ $((i % 10)) -eq 0 ]; then
    printf '1%07x revoked %d superseded\n' "$i" "$revoked_at"
  else
    printf '1%07x good\n' "$i"
  fi
done >batch.txt
mkdir -p batch
call presign --issuer int-1 --validity $((96 * 3600)) --entries batch.txt --out-dir batch >batch.out
grep -q '^responses 1000$' batch.out || fail "batch: $(cat batch.out)"
[ "$(find batch -name '*.der' | wc -l)" -eq 1000 ] || fail "not 1000 files"
echo "   presign rate through the socket: $(awk '/^rate/{print $2}' batch.out) (P-256 responder, one connection)"
for i in 1 500 999; do
  want=good
  [ $(((i + 1) % 10)) -eq 0 ] && want=revoked
  serial=$(printf '1%07x' $((i + 1)))
  openssl ocsp -respin "batch/$i.der" -CAfile chain.pem -issuer int.pem -serial "0x$serial" \
    >b.txt 2>&1 || fail "batch $i: $(cat b.txt)"
  grep -q 'Response verify OK' b.txt || fail "batch $i does not verify"
  grep -q "0x$serial: $want" b.txt || fail "batch $i: want $want: $(cat b.txt)"
done
for i in $(seq 1 10001); do printf '1%07x good\n' "$i"; done >toobig.txt
expect_status batch call presign --issuer int-1 --validity 345600 --entries toobig.txt

step "SIGN_CRL verifies with openssl crl"
call sign-crl --issuer int-1 --number 2a --this-update now --next-update now+604800 \
  --idp http://127.0.0.1:8080/crl/demo --scope user \
  --entry "$serial2:revoked:now-120:keyCompromise" --entry "10000001:revoked:now-60:none" \
  --out crl.der >/dev/null
openssl crl -inform DER -in crl.der -CAfile int.pem -noout 2>&1 | grep -q 'verify OK' ||
  fail "CRL does not verify"
openssl crl -inform DER -in crl.der -noout -text >crl.txt
grep -q "Serial Number: $serial2" crl.txt || fail "CRL lacks leaf2"
grep -q 'Serial Number: 10000001' crl.txt || fail "CRL lacks 10000001"
grep -A1 'CRL Number' crl.txt | grep -q '42' || fail "CRL number"
grep -q 'Issuing Distribution Point' crl.txt || fail "no IDP"
expect_status invalid call sign-crl --issuer int-1 --number 2b --this-update now \
  --next-update now+604800 --entry 05:revoked:now-1:keyCompromise --entry 05:revoked:now-1:keyCompromise
expect_status invalid call sign-crl --issuer int-1 --number 2b --this-update now \
  --next-update now+$((11 * 86400))

step "MINT_RESPONDER --force rotates; ISSUER_INFO then returns the new one"
call mint-responder --issuer int-1 --out resp2.pem >/dev/null
cmp resp.pem resp2.pem || fail "unforced mint replaced a fresh responder"
call mint-responder --issuer int-1 --force --out resp3.pem >/dev/null
cmp -s resp.pem resp3.pem && fail "forced mint kept the old responder"
call issuer-info --issuer int-1 --responder-out resp4.pem >/dev/null
cmp resp3.pem resp4.pem || fail "issuer-info does not return the new responder"

step "EXPORT_RESPONDER needs CONFIRM; writes {id}.key (0600) and {id}.pem"
mkdir -p edge
chmod 755 edge # whatever the umask: export refuses a group-writable directory
expect_status denied call export-responder --issuer int-1 --dest "$tmp/edge"
[ -z "$(ls edge)" ] || fail "unconfirmed export wrote files"
call export-responder --issuer int-1 --dest "$tmp/edge" --confirm --operator alice >/dev/null
[ "$(stat -c %a edge/int-1.key)" = 600 ] || fail "exported key mode"
cmp <(openssl x509 -in edge/int-1.pem -noout -pubkey) <(openssl pkey -in edge/int-1.key -pubout) ||
  fail "exported key and certificate differ"
cmp edge/int-1.pem resp3.pem || fail "exported certificate is not the current responder"
grep -q 'operator "alice" exported' signer.log || fail "export not logged"
expect_status invalid call export-responder --issuer int-1 --dest relative/dir --confirm
# expect_refused PATTERN CMD...: CMD must fail with status invalid and a
# message matching PATTERN.
expect_refused() {
  local want=$1 out rc=0
  shift
  out=$("$@" 2>&1) || rc=$?
  [ "$rc" -eq 3 ] || fail "expected a refusal (exit 3), got exit $rc: $out"
  grep -q '^status invalid ' <<<"$out" || fail "expected status invalid: $out"
  grep -q -- "$want" <<<"$out" || fail "refusal does not say \"$want\": $out"
}
# Anyone who can write the destination could plant a symlink at the key's
# name or swap the directory: refused, and nothing is written.
mkdir gw
chmod 770 gw
expect_refused 'group- or other-writable' call export-responder --issuer int-1 \
  --dest "$tmp/gw" --confirm --operator alice
chmod 707 gw
expect_refused 'group- or other-writable' call export-responder --issuer int-1 \
  --dest "$tmp/gw" --confirm --operator alice
[ -z "$(ls -A gw)" ] || fail "export into a writable directory wrote files"
ln -s "$tmp/edge" edge-link
expect_refused 'symlink' call export-responder --issuer int-1 --dest "$tmp/edge-link" \
  --confirm --operator alice
if [ "$(id -u)" = 0 ]; then
  mkdir theirs
  chown 65534 theirs
  chmod 755 theirs
  expect_refused 'owned by uid 65534' call export-responder --issuer int-1 \
    --dest "$tmp/theirs" --confirm --operator alice
  [ -z "$(ls -A theirs)" ] || fail "export into another user's directory wrote files"
fi
# A good directory: a symlink planted at the key's name (and at its temp
# name) is replaced, never followed.
mkdir good
chmod 755 good
touch target
ln -s "$tmp/target" good/int-1.key
ln -s "$tmp/target" good/int-1.key.tmp
call export-responder --issuer int-1 --dest "$tmp/good" --confirm --operator alice >/dev/null
[ ! -s target ] || fail "export followed a symlink at the key's name"
if [ ! -f good/int-1.key ] || [ -L good/int-1.key ]; then fail "key is not a regular file"; fi
[ "$(stat -c %a good/int-1.key)" = 600 ] || fail "exported key mode $(stat -c %a good/int-1.key)"
[ "$(stat -c %a good/int-1.pem)" = 644 ] || fail "exported cert mode $(stat -c %a good/int-1.pem)"
if [ -e good/int-1.key.tmp ] || [ -e good/int-1.pem.tmp ]; then fail "temp files left behind"; fi
cmp <(openssl x509 -in good/int-1.pem -noout -pubkey) <(openssl pkey -in good/int-1.key -pubout) ||
  fail "exported key and certificate differ"
cmp good/int-1.pem resp3.pem || fail "exported certificate is not the current responder"

step "SEAL verifies with python3-cryptography"
digest=$(printf 'evidence pack' | openssl dgst -sha256 -r | cut -d' ' -f1)
sealed_at=$(call seal --digest "$digest" --context "incident 7" --sig-out seal.sig \
  --pub-out audit.pem | awk '/^sealed_at/{print $2}')
cmp audit.pem "$keys/audit.pub" || fail "SEAL key is not audit.pub"
"$PY" - "$digest" "incident 7" "$sealed_at" <<'EOF' || fail "seal does not verify"
import struct, sys
from cryptography.hazmat.primitives.serialization import load_pem_public_key
digest, ctx, t = bytes.fromhex(sys.argv[1]), sys.argv[2].encode(), int(sys.argv[3])
pub = load_pem_public_key(open("audit.pem", "rb").read())
msg = b"vigil-seal-v1\0" + struct.pack(">QH", t, len(ctx)) + ctx + digest
sig = open("seal.sig", "rb").read()
pub.verify(sig, msg)
try:
    pub.verify(sig, msg[:-1] + bytes([msg[-1] ^ 1]))
except Exception:
    sys.exit(0)
sys.exit("a changed digest still verified")
EOF

step "bad frames get an error reply, then the connection closes"
call raw --frame-hex 0000001056470201000100000000000100000000 | grep -q '^status version' ||
  fail "version 2 not refused"
call raw --frame-hex 0000001047560101000100000000000100000000 | grep -q '^status malformed detail 5 ' ||
  fail "bad magic not refused"
call raw --frame-hex 7fffffff56470101000100000000000100000000 | grep -q '^status too_large' ||
  fail "oversize not refused"
# ISSUER_INFO with an unknown tag 999.
call raw --frame-hex 000000175647010100040000000000090001000003e70000000161 |
  grep -q '^status malformed detail 14 op issuer_info id 9' || fail "unknown tag not refused"
call ping >/dev/null || fail "signer died on bad frames"

step "peer uid: another uid is rejected (SO_PEERCRED)"
other_sock="$tmp/u.sock"
"$signer" --socket="$other_sock" --key-dir="$tmp/keys-u" --allowed-uid=65534 >>signer-u.log 2>&1 &
upid=$!
pids+=("$upid")
vigil_wait_for -t 30 -m "the second signer's socket" test -S "$other_sock"
out=$("$call_bin" --socket "$other_sock" ping 2>&1) && fail "uid $(id -u) accepted: $out"
grep -q '^status denied' <<<"$out" || fail "not denied: $out"
grep -q "peer uid $(id -u) .* refused" signer-u.log || fail "rejection not logged"
kill "$upid"
wait "$upid" || fail "second signer did not exit cleanly"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && [ -x "$(command -v setpriv)" ]; then
  # The 0600 socket alone keeps nobody out...
  chmod 711 "$tmp"
  if setpriv --reuid=nobody --regid=nogroup --clear-groups "$call_bin" --socket "$sock" ping \
    >nobody.txt 2>&1; then
    fail "nobody connected to a 0600 socket"
  fi
  grep -q 'cannot connect' nobody.txt || fail "nobody: $(cat nobody.txt)"
  # ...and with the file opened up, SO_PEERCRED still refuses it.
  chmod 666 "$sock"
  if setpriv --reuid=nobody --regid=nogroup --clear-groups "$call_bin" --socket "$sock" ping \
    >nobody.txt 2>&1; then
    fail "nobody was served"
  fi
  grep -q '^status denied' nobody.txt || fail "nobody: $(cat nobody.txt)"
  grep -q 'peer uid 65534 .* refused' signer.log || fail "nobody's rejection not logged"
  chmod 600 "$sock"
  chmod 700 "$tmp"
else
  echo "   (not root: running the client as nobody skipped)"
fi

step "kill -9 and restart keep the issuers and the responder"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
[ -S "$sock" ] || fail "socket vanished with kill -9 (cannot test stale replacement)"
start_signer
grep -q 'replacing stale socket' signer.log || fail "stale socket not replaced"
call ping | grep -q '^num_issuers 2$' || fail "issuers lost"
call issuer-info --issuer root-1 --out root-again.pem >/dev/null
cmp root.pem root-again.pem || fail "root changed across restart"
call issuer-info --issuer int-1 --responder-out resp5.pem >/dev/null
cmp resp3.pem resp5.pem || fail "responder not kept across restart"
call presign --issuer int-1 --validity 345600 --entry "$serial1:good" --out-dir out >/dev/null
openssl ocsp -respin out/0.der -CAfile chain.pem -issuer int.pem -cert leaf1.pem 2>&1 |
  grep -q 'leaf1.pem: good' || fail "presign after restart"

step "SIGTERM stops cleanly and removes the socket"
kill "$pid"
wait "$pid" || fail "signer exit status $?"
[ ! -e "$sock" ] || fail "socket left behind"

step "refuses to start with its socket in a directory others can write"
# (timeout: a signer that wrongly starts would otherwise serve forever)
mkdir opensock
chmod 777 opensock
if timeout 30 "$signer" --socket="$tmp/opensock/s.sock" --key-dir="$keys" >refuse.log 2>&1; then
  fail "started with the socket in a 0777 directory"
fi
grep -q "socket directory $tmp/opensock is group- or other-writable" refuse.log ||
  fail "message: $(cat refuse.log)"
[ ! -e opensock/s.sock ] || fail "socket created by a refused start"
chmod 1777 opensock
if timeout 30 "$signer" --socket="$tmp/opensock/s.sock" --key-dir="$keys" >refuse.log 2>&1; then
  fail "started with the socket in a 1777 directory"
fi
grep -q "group- or other-writable" refuse.log || fail "message: $(cat refuse.log)"
if [ "$(id -u)" = 0 ]; then
  chmod 755 opensock
  chown 65534 opensock
  if timeout 30 "$signer" --socket="$tmp/opensock/s.sock" --key-dir="$keys" >refuse.log 2>&1; then
    fail "started with the socket in another user's directory"
  fi
  grep -q "socket directory $tmp/opensock is owned by uid 65534" refuse.log ||
    fail "message: $(cat refuse.log)"
fi

step "refuses to start on a 0644 key file and on a group-writable key directory"
chmod 644 "$keys/issuers/int-1/ca.key"
if "$signer" --socket="$sock" --key-dir="$keys" >refuse.log 2>&1; then
  fail "started with a 0644 key"
fi
grep -q "ca.key has mode 0644" refuse.log || fail "message: $(cat refuse.log)"
[ ! -e "$sock" ] || fail "socket created by a refused start"
chmod 600 "$keys/issuers/int-1/ca.key"
# While stopped: root-1 loses its responder, int-1 gets a mismatched pair
# (as a crash between writing a new key and its certificate leaves it).
rm "$keys/issuers/root-1/responder.key" "$keys/issuers/root-1/responder.pem"
cp "$keys/issuers/int-1/responder.pem" int-old-responder.pem
cp "$keys/issuers/root-1/ca.pem" "$keys/issuers/int-1/responder.pem"
chmod 770 "$keys"
if "$signer" --socket="$sock" --key-dir="$keys" >refuse.log 2>&1; then
  fail "started with a group-writable key directory"
fi
grep -q "group- or other-writable" refuse.log || fail "message: $(cat refuse.log)"
chmod 700 "$keys"
start_signer
call ping | grep -q '^num_issuers 2$' || fail "restart after fixing modes"
grep -q 'issuer int-1: responder key and certificate do not belong together' signer.log ||
  fail "mismatched responder pair not reported"

step "missing or mismatched responders are re-minted on demand"
[ ! -e "$keys/issuers/root-1/responder.pem" ] || fail "responder minted before use"
call issuer-info --issuer root-1 --responder-out root-resp.pem | grep -q '^responder yes$' ||
  fail "no responder for root-1"
[ "$(stat -c %a "$keys/issuers/root-1/responder.key")" = 600 ] || fail "responder.key mode"
openssl verify -CAfile root.pem root-resp.pem >/dev/null || fail "re-minted responder does not verify"
call issuer-info --issuer int-1 --responder-out int-resp.pem >/dev/null
cmp -s int-resp.pem int-old-responder.pem && fail "mismatched pair was reused"
openssl verify -CAfile root.pem -untrusted int.pem int-resp.pem >/dev/null ||
  fail "re-minted int-1 responder does not verify"
# Sanitizer builds: any report in the daemon's log fails the test.
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' signer.log signer-u.log; then
  fail "sanitizer report in the signer log"
fi
echo "PASS"
