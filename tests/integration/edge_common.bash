# shellcheck shell=bash
# edge_common.bash: shared setup for the vigil-edge end-to-end tests
# (tests/integration/edge_*.sh).  Sourced, not run: ctest only picks up
# *.sh files.  Each test gets its own temp dir, its own Redis and its own
# vigil-edge on free loopback ports, and everything it starts is stopped by
# PID from the EXIT trap, so the scripts run in parallel with each other and
# with themselves.
#
# The clients that judge the edge are ones we did not write: the openssl
# CLI (ocsp, crl, s_client, s_server), curl, nginx, redis-cli and python3
# with the Debian `cryptography` module.  vigil-pki (our publisher) only
# plays the control plane: it writes the keyspace the edge reads.
#
#   edge_init NAME            temp dir, EXIT trap, Redis; sets EDGE_WORK,
#                             EDGE_REDIS_PORT, PKI_DIR
#   pki ARGS...               vigil-pki (quiet; output on failure)
#   pki_r ARGS...             vigil-pki with --redis for our Redis
#   edge_ca DIR CN ID TENANT  CA + delegated responder + issuer record
#   edge_leaf DIR NAME [ARGS] leaf certificate (DIR/NAME.pem, .key)
#   edge_start [OPTS...]      start vigil-edge (--threads 2, free ports),
#                             wait for /healthz; sets EDGE_PORT,
#                             EDGE_ADMIN_PORT, EDGE_PID, EDGE_URL, EDGE_LOG
#   edge_wait_ready [SECS]    wait for /readyz 200
#   edge_stop_clean           SIGTERM, wait, require exit 0 and a log free
#                             of sanitizer reports
#   edge_track PID            stop PID (TERM, then KILL) in the EXIT trap
#   readyz_code               HTTP status of /readyz
#   ocsp ARGS... / ocsp_ok    openssl ocsp with timeouts, stdout+stderr
#                             (ocsp_ok: must exit 0)
#   metric NAME               value of a /metrics sample (0 if absent)
#   rcli ARGS...              redis-cli for our Redis
#   cert_serial PEM           serial in keyspace form (openssl)
#   cert_ikh PEM              hex SHA-1 of the public key bits (python)
#   urlenc S / date_epoch D   percent-encoding; date string to epoch
#   header NAME F / status_code F   read a curl -D header dump
#   edgepy CMD ARGS...        python3 helpers (see the heredoc below)
#   step / fail / fail_later / edge_done / expect_in / expect_not_in

EDGE_SRC=${VIGIL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
EDGE_BUILD=${VIGIL_BUILD_DIR:-$EDGE_SRC/build}
EDGE_BIN=$EDGE_BUILD/edge/vigil-edge
PKI_BIN=$EDGE_BUILD/control/signer/vigil-pki
# The Debian python3 has the `cryptography` module (38); a pyenv shim on
# PATH may not.
EDGE_PY=/usr/bin/python3
[ -x "$EDGE_PY" ] || EDGE_PY=python3
# Seconds for every bounded wait.  ASan builds answer several times slower.
EDGE_WAIT=${EDGE_WAIT:-60}

# shellcheck source=../lib/services.sh
source "$EDGE_SRC/tests/lib/services.sh"

EDGE_WORK=
EDGE_PID=
EDGE_TRACKED=()
EDGE_STEP=

step() {
  EDGE_STEP=$*
  printf '== %s\n' "$*"
}

fail() {
  printf 'FAIL [%s]: %s\n' "$EDGE_STEP" "$*" >&2
  exit 1
}

# fail_later MSG: record a failure and go on (for a check whose failure
# does not invalidate the ones after it); edge_done fails the test.
EDGE_FAILED=()
fail_later() {
  printf 'FAIL [%s]: %s (continuing)\n' "$EDGE_STEP" "$*" >&2
  EDGE_FAILED+=("[$EDGE_STEP] $*")
}

# edge_done NAME: the end of a test: exit 1 listing the failures recorded
# by fail_later, else print "NAME: ok".
edge_done() {
  if [ "${#EDGE_FAILED[@]}" -gt 0 ]; then
    printf '%s: %d failure(s):\n' "$1" "${#EDGE_FAILED[@]}" >&2
    printf '  %s\n' "${EDGE_FAILED[@]}" >&2
    exit 1
  fi
  printf '%s: ok\n' "$1"
}

# expect_in TEXT NEEDLE WHAT: TEXT contains the fixed string NEEDLE.
expect_in() {
  case $1 in
    *"$2"*) return 0 ;;
  esac
  printf -- '----- output -----\n%s\n------------------\n' "$1" >&2
  fail "$3: expected to find '$2'"
}

# expect_not_in TEXT NEEDLE WHAT: TEXT does not contain NEEDLE.
expect_not_in() {
  case $1 in
    *"$2"*)
      printf -- '----- output -----\n%s\n------------------\n' "$1" >&2
      fail "$3: did not expect '$2'"
      ;;
  esac
  return 0
}

# _edge_kill PID: SIGTERM, wait up to 10 s, then SIGKILL.
_edge_kill() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 200; i++)); do
    _vigil_pid_alive "$pid" || return 0
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
}

_edge_cleanup() {
  local rc=$? pid
  for pid in "${EDGE_TRACKED[@]}"; do
    _edge_kill "$pid"
  done
  if [ -n "$EDGE_PID" ]; then
    _edge_kill "$EDGE_PID"
  fi
  if [ "$rc" -ne 0 ] && [ -n "$EDGE_WORK" ]; then
    local f
    for f in "$EDGE_WORK"/edge*.log; do
      [ -r "$f" ] || continue
      printf -- '----- last 40 lines of %s -----\n' "$f" >&2
      tail -n 40 "$f" >&2
    done
  fi
  if [ -n "$EDGE_WORK" ]; then
    vigil_remove_state "$EDGE_WORK" || true
  fi
  exit "$rc"
}

edge_track() {
  EDGE_TRACKED+=("$1")
}

# edge_init NAME
edge_init() {
  local name=$1
  [ -x "$EDGE_BIN" ] || fail "no vigil-edge at $EDGE_BIN"
  [ -x "$PKI_BIN" ] || fail "no vigil-pki at $PKI_BIN"
  EDGE_WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-$name.XXXXXX")
  trap _edge_cleanup EXIT
  trap 'exit 130' INT TERM
  vigil_redis_start "$EDGE_WORK" >/dev/null || fail "Redis did not start"
  EDGE_REDIS_PORT=$VIGIL_REDIS_PORT
  PKI_DIR=$EDGE_WORK/pki
  _edge_write_py
}

rcli() {
  redis-cli -h 127.0.0.1 -p "$EDGE_REDIS_PORT" "$@"
}

# pki ARGS...: run vigil-pki, keeping its output in $EDGE_WORK/pki.out;
# prints it (and fails the test) if it fails.
pki() {
  if ! "$PKI_BIN" "$@" >"$EDGE_WORK/pki.out" 2>&1; then
    cat "$EDGE_WORK/pki.out" >&2
    fail "vigil-pki $1 failed (a publisher-tool problem, not the edge)"
  fi
}

pki_r() {
  pki "$@" --redis "127.0.0.1:$EDGE_REDIS_PORT"
}

# edge_ca DIR CN ISSUER_ID TENANT [KEYTYPE]: a CA in DIR, its delegated
# responder (DIR/responder/ISSUER_ID.*) and its issuer record in Redis.
edge_ca() {
  local dir=$1 cn=$2 id=$3 tenant=$4 kt=${5:-p256}
  pki ca --dir "$dir" --cn "$cn" --key-type "$kt"
  pki responder --dir "$dir" --issuer-id "$id" --key-type "$kt"
  pki_r issuer --dir "$dir" --issuer-id "$id" --tenant "$tenant"
}

# edge_leaf DIR NAME [vigil-pki leaf options...]
edge_leaf() {
  local dir=$1 name=$2
  shift 2
  pki leaf --dir "$dir" --name "$name" --dns "$name.example" "$@"
}

# cert_serial PEM: the serial as the keyspace writes it (lowercase hex, no
# leading zeros), from openssl.
cert_serial() {
  local s
  s=$(openssl x509 -in "$1" -noout -serial) || fail "openssl x509 -serial $1"
  s=${s#serial=}
  s=$(printf '%s' "$s" | tr 'A-F' 'a-f' | sed 's/^0*//')
  printf '%s\n' "${s:-0}"
}

# cert_ikh PEM: hex SHA-1 of the certificate's public key bits (the
# CertID issuerKeyHash when PEM is the issuer), from python cryptography.
cert_ikh() {
  edgepy keyhash "$1"
}

# edge_start [vigil-edge options...]: start the edge on free ports with
# --threads 2 and the responder dir of $PKI_DIR (override with later
# options), wait until /healthz answers.
edge_start() {
  EDGE_PORT=${EDGE_PORT_WANTED:-$(vigil_free_port)}
  EDGE_ADMIN_PORT=$(vigil_free_port)
  while [ "$EDGE_ADMIN_PORT" = "$EDGE_PORT" ]; do
    EDGE_ADMIN_PORT=$(vigil_free_port)
  done
  EDGE_URL=http://127.0.0.1:$EDGE_PORT
  EDGE_ADMIN_URL=http://127.0.0.1:$EDGE_ADMIN_PORT
  EDGE_LOG=$EDGE_WORK/edge.$EDGE_PORT.log
  "$EDGE_BIN" --threads 2 --port "$EDGE_PORT" --admin-port "$EDGE_ADMIN_PORT" \
    --redis-port "$EDGE_REDIS_PORT" --responder-dir "$PKI_DIR/responder" \
    "$@" >"$EDGE_LOG" 2>&1 &
  EDGE_PID=$!
  vigil_wait_for -t "$EDGE_WAIT" -m "vigil-edge /healthz on $EDGE_ADMIN_PORT" \
    _edge_healthy || fail "vigil-edge did not start"
}

_edge_healthy() {
  _vigil_pid_alive "$EDGE_PID" || return 125
  curl -sf -m 5 -o /dev/null "$EDGE_ADMIN_URL/healthz" || return 1
  # The OCSP port accepts too (workers are up).
  curl -s -m 5 -o /dev/null "$EDGE_URL/nope" || return 1
}

_edge_ready() {
  _vigil_pid_alive "$EDGE_PID" || return 125
  curl -sf -m 5 "$EDGE_ADMIN_URL/readyz"
}

# edge_wait_ready [SECONDS]
edge_wait_ready() {
  vigil_wait_for -t "${1:-$EDGE_WAIT}" -m "vigil-edge /readyz 200" _edge_ready ||
    fail "edge not ready: $(curl -s -m 5 "$EDGE_ADMIN_URL/readyz" || true)"
}

# readyz_code: the HTTP status of /readyz.
readyz_code() {
  curl -s -m 5 -o /dev/null -w '%{http_code}' "$EDGE_ADMIN_URL/readyz" || true
}

# edge_stop_clean: stop the edge with SIGTERM; it must exit 0 within the
# wait bound and its log must hold no sanitizer report.
edge_stop_clean() {
  local pid=$EDGE_PID rc=0 i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" || fail "vigil-edge (pid $pid) is gone before SIGTERM"
  for ((i = 0; i < EDGE_WAIT * 20; i++)); do
    _vigil_pid_alive "$pid" || break
    sleep 0.05
  done
  _vigil_pid_alive "$pid" && fail "vigil-edge did not stop within ${EDGE_WAIT}s of SIGTERM"
  wait "$pid" || rc=$?
  EDGE_PID=
  [ "$rc" -eq 0 ] || fail "vigil-edge exited with status $rc after SIGTERM"
  if grep -q 'Sanitizer\|runtime error:' "$EDGE_LOG"; then
    cat "$EDGE_LOG" >&2
    fail "sanitizer report in the edge log"
  fi
}

# ocsp ARGS...: openssl ocsp with bounded time; prints stdout and stderr
# together; returns openssl's status.
ocsp() {
  timeout 60 openssl ocsp -timeout 30 "$@" 2>&1
}

# ocsp_ok ARGS...: ocsp that must exit 0; prints its output.
ocsp_ok() {
  local out rc=0
  out=$(ocsp "$@") || rc=$?
  [ "$rc" -eq 0 ] || {
    printf '%s\n' "$out" >&2
    fail "openssl ocsp $* exited $rc"
  }
  printf '%s\n' "$out"
}

# metric NAME: the value of one sample line of /metrics (0 if missing).
metric() {
  local out
  out=$(curl -sf -m 10 "$EDGE_ADMIN_URL/metrics") || fail "GET /metrics failed"
  printf '%s\n' "$out" | awk -v n="$1" '$1 == n { v = $2 } END { print (v == "" ? 0 : v) }'
}

# urlenc STRING: percent-encode everything but unreserved characters.
urlenc() {
  "$EDGE_PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}

# date_epoch DATE: epoch seconds of an HTTP / openssl date string.
date_epoch() {
  date -u -d "$1" +%s || fail "cannot parse date '$1'"
}

# header NAME FILE: value of the first header NAME in a curl -D dump.
header() {
  awk -v n="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" '
    { sub(/\r$/, "") }
    index(tolower($0), n ":") == 1 { sub(/^[^:]*:[ \t]*/, ""); print; exit }' "$2"
}

# status_code FILE: the status code of a curl -D dump.
status_code() {
  awk 'NR == 1 { print $2; exit }' "$1"
}

edgepy() {
  "$EDGE_PY" "$EDGE_WORK/edgepy.py" "$@"
}

# The python helpers.  Only the Debian cryptography module and the standard
# library: no code of ours.
_edge_write_py() {
  cat >"$EDGE_WORK/edgepy.py" <<'PY'
import base64, os, socket, sys, time
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

def load_cert(path):
    with open(path, 'rb') as f:
        return x509.load_pem_x509_certificate(f.read())

def cmd_keyhash(args):
    """keyhash CERT: SHA-1 of the public key bits, lowercase hex."""
    c = load_cert(args[0])
    print(x509.SubjectKeyIdentifier.from_public_key(c.public_key()).digest.hex())

def cmd_req(args):
    """req CERT ISSUER OUT [sha1|sha256] [NONCE_LEN|-] [NEED]: write a DER
    OCSPRequest; with NEED (characters such as '+/='), retry random nonces
    until the standard base64 of the request contains all of them."""
    cert, issuer, out = load_cert(args[0]), load_cert(args[1]), args[2]
    alg = hashes.SHA256() if len(args) > 3 and args[3] == 'sha256' else hashes.SHA1()
    nlen = None if len(args) <= 4 or args[4] == '-' else int(args[4])
    need = args[5] if len(args) > 5 else ''
    for _ in range(10000):
        b = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, alg)
        if nlen is not None:
            b = b.add_extension(x509.OCSPNonce(os.urandom(nlen)), critical=False)
        der = b.build().public_bytes(serialization.Encoding.DER)
        b64 = base64.b64encode(der).decode()
        if all(ch in b64 for ch in need):
            with open(out, 'wb') as f:
                f.write(der)
            return
    sys.exit('no request with %r in its base64 after 10000 tries' % need)

def cmd_rawnonce(args):
    """rawnonce CERT ISSUER OUT LEN: a request whose nonce extension value is
    an OCTET STRING of LEN bytes (LEN may be 0: an empty nonce), DER built
    by hand around cryptography's CertID."""
    cert, issuer, out, n = load_cert(args[0]), load_cert(args[1]), args[2], int(args[3])
    plain = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()
    der = plain.public_bytes(serialization.Encoding.DER)
    def tlv(tag, body):
        l = len(body)
        if l < 0x80:
            hdr = bytes([l])
        elif l < 0x100:
            hdr = bytes([0x81, l])
        else:
            hdr = bytes([0x82, l >> 8, l & 0xff])
        return bytes([tag]) + hdr + body
    def parse(b):
        # returns (tag, body, rest) for one TLV
        tag, l, i = b[0], b[1], 2
        if l & 0x80:
            k = l & 0x7f
            l = int.from_bytes(b[2:2 + k], 'big')
            i = 2 + k
        return tag, b[i:i + l], b[i + l:]
    _, req, _ = parse(der)          # OCSPRequest
    _, tbs, _ = parse(req)          # TBSRequest
    _, reqlist, _ = parse(tbs)      # requestList (first element of tbs)
    nonce_oid = bytes.fromhex('06092b0601050507300102')
    ext = tlv(0x30, nonce_oid + tlv(0x04, tlv(0x04, os.urandom(n))))
    exts = tlv(0xa2, tlv(0x30, ext))
    new = tlv(0x30, tlv(0x30, tlv(0x30, reqlist) + exts))
    with open(out, 'wb') as f:
        f.write(new)

def cmd_resp(args):
    """resp FILE: facts of a DER OCSPResponse, one per line:
    status, cert_status, responder_key_hash, hash, this, next, produced,
    nonce (hex), revocation_time, reason, serial."""
    with open(args[0], 'rb') as f:
        r = ocsp.load_der_ocsp_response(f.read())
    print('status', r.response_status.name)
    if r.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return
    print('cert_status', r.certificate_status.name)
    rkh = r.responder_key_hash
    print('responder_key_hash', rkh.hex() if rkh else '-')
    print('hash', r.hash_algorithm.name)
    print('this', int(r.this_update.replace(tzinfo=__import__('datetime').timezone.utc).timestamp()))
    print('next', int(r.next_update.replace(tzinfo=__import__('datetime').timezone.utc).timestamp()) if r.next_update else '-')
    print('produced', int(r.produced_at.replace(tzinfo=__import__('datetime').timezone.utc).timestamp()))
    nonce = '-'
    for e in r.extensions:
        if isinstance(e.value, x509.OCSPNonce):
            nonce = e.value.nonce.hex()
    print('nonce', nonce)
    if r.certificate_status == ocsp.OCSPCertStatus.REVOKED:
        print('revocation_time', int(r.revocation_time.replace(tzinfo=__import__('datetime').timezone.utc).timestamp()))
        print('reason', r.revocation_reason.name if r.revocation_reason else '-')
    print('serial', format(r.serial_number, 'x'))

def cmd_reqnonce(args):
    """reqnonce FILE: the nonce of a DER OCSPRequest, hex ('-' if none)."""
    with open(args[0], 'rb') as f:
        r = ocsp.load_der_ocsp_request(f.read())
    for e in r.extensions:
        if isinstance(e.value, x509.OCSPNonce):
            print(e.value.nonce.hex())
            return
    print('-')

def read_all(s, deadline):
    data = b''
    while time.time() < deadline:
        s.settimeout(max(0.05, deadline - time.time()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data

def cmd_raw(args):
    """raw PORT FILE [SECONDS]: send FILE's bytes in one write, print what
    comes back until the server closes (or SECONDS pass)."""
    port, path = int(args[0]), args[1]
    secs = float(args[2]) if len(args) > 2 else 30
    with open(path, 'rb') as f:
        payload = f.read()
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    s.sendall(payload)
    data = read_all(s, time.time() + secs)
    s.close()
    sys.stdout.buffer.write(data)

def parse_responses(data, heads_only_for=()):
    """Split a byte stream into HTTP responses using Content-Length (no body
    for 304 and for indexes listed in heads_only_for: HEAD answers)."""
    out = []
    while data:
        end = data.find(b'\r\n\r\n')
        if end < 0:
            raise SystemExit('unterminated head: %r' % data[:200])
        head = data[:end].decode('latin-1')
        data = data[end + 4:]
        lines = head.split('\r\n')
        code = int(lines[0].split()[1])
        hdrs = {}
        for l in lines[1:]:
            k, v = l.split(':', 1)
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get('content-length', '0'))
        if code == 304 or len(out) in heads_only_for:
            n = 0
        body, data = data[:n], data[n:]
        if len(body) != n:
            raise SystemExit('short body in response %d' % len(out))
        out.append((code, hdrs, body))
    return out

def cmd_pipeline(args):
    """pipeline PORT FILE HEADIDX: send FILE (several requests) in one write;
    print 'code surrogate-key content-length bodylen' per response, in the
    order they arrived.  HEADIDX: comma list of response indexes that
    answer HEAD requests ('-' for none)."""
    port, path = int(args[0]), args[1]
    heads = () if args[2] == '-' else tuple(int(x) for x in args[2].split(','))
    with open(path, 'rb') as f:
        payload = f.read()
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    s.sendall(payload)
    data = read_all(s, time.time() + 30)
    s.close()
    for code, h, body in parse_responses(data, heads):
        print(code, h.get('surrogate-key', '-').replace(' ', '|'),
              h.get('content-length', '-'), len(body))

def cmd_hostile(args):
    """hostile PORT N_EMPTY N_GARBAGE: N_EMPTY connections that connect and
    close without a byte, N_GARBAGE that send random bytes and must get an
    answer or a close (never a hang)."""
    port, n_empty, n_garbage = int(args[0]), int(args[1]), int(args[2])
    for _ in range(n_empty):
        s = socket.create_connection(('127.0.0.1', port), timeout=10)
        s.close()
    answered = 0
    for i in range(n_garbage):
        s = socket.create_connection(('127.0.0.1', port), timeout=10)
        junk = os.urandom(64 + 97 * i % 3000)
        if i % 3 == 0:
            junk = b'\r\n' + junk            # binary after a blank line
        elif i % 3 == 1:
            junk = b'GET /ocsp/' + junk      # binary in the target
        try:
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        data = read_all(s, time.time() + 20)
        s.close()
        if data == b'' or data.startswith(b'HTTP/1.1 4') or data.startswith(b'HTTP/1.1 5'):
            answered += 1
        else:
            sys.exit('garbage connection %d got %r' % (i, data[:80]))
    print('ok', n_empty, answered)

def cmd_slowloris(args):
    """slowloris PORT N LIMIT: N connections that send one byte of a request
    head every 0.5 s.  Prints the seconds until the last one was closed by
    the server and how many stayed open; exits 1 if any is still open after
    LIMIT seconds."""
    port, n, limit = int(args[0]), int(args[1]), float(args[2])
    head = b'GET /ocsp/MFEw HTTP/1.1\r\nHost: x\r\nX-Slow: ' + b'a' * 200
    socks = [socket.create_connection(('127.0.0.1', port), timeout=10)
             for _ in range(n)]
    start = time.time()
    open_ = dict(enumerate(socks))
    pos = 0
    closed_at = 0
    while open_ and time.time() - start < limit:
        for i, s in list(open_.items()):
            try:
                s.settimeout(0.001)
                try:
                    if s.recv(4096) == b'':
                        raise ConnectionResetError
                except socket.timeout:
                    pass
                s.send(head[pos % len(head):pos % len(head) + 1])
            except OSError:
                del open_[i]
                s.close()
                closed_at = time.time() - start
        pos += 1
        time.sleep(0.5)
    for s in open_.values():
        s.close()
    print('%.1f %d' % (closed_at, len(open_)))
    sys.exit(1 if open_ else 0)

def cmd_keepalive_slow(args):
    """keepalive_slow PORT PATH LIMIT: one connection sends a whole GET for
    PATH (a keep-alive answer), reads the answer, then trickles the next
    request head one byte every 0.5 s.  Prints seconds from the first
    trickled byte until the server closed; exits 1 if still open after
    LIMIT seconds."""
    port, path, limit = int(args[0]), args[1], float(args[2])
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    s.sendall(b'GET ' + path.encode() + b' HTTP/1.1\r\nHost: x\r\n\r\n')
    buf = b''
    while b'\r\n\r\n' not in buf:
        d = s.recv(65536)
        if not d:
            sys.exit('closed before the first answer')
        buf += d
    head, rest = buf.split(b'\r\n\r\n', 1)
    if b'Connection: close' in head:
        sys.exit('first answer closes the connection: %r' % head)
    n = [int(l.split(b':')[1]) for l in head.split(b'\r\n') if l.lower().startswith(b'content-length')][0]
    while len(rest) < n:
        rest += s.recv(65536)
    trickle = b'GET /ocsp/MFEw HTTP/1.1\r\nHost: x\r\nX-Slow: ' + b'a' * 500
    start = time.time()
    i = 0
    while time.time() - start < limit:
        try:
            s.settimeout(0.001)
            try:
                if s.recv(4096) == b'':
                    raise ConnectionResetError
            except socket.timeout:
                pass
            s.send(trickle[i:i + 1])
        except OSError:
            print('%.1f' % (time.time() - start))
            return
        i += 1
        time.sleep(0.5)
    print('still open after %.0f s' % limit)
    sys.exit(1)

def main():
    cmds = {k[4:]: v for k, v in globals().items() if k.startswith('cmd_')}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit('usage: edgepy.py {%s} ...' % ','.join(sorted(cmds)))
    cmds[sys.argv[1]](sys.argv[2:])

main()
PY
}
