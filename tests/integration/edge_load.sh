#!/usr/bin/env bash
# edge_load.sh: the edge under concurrent load.
#  - 10,000 idle connections are held open while the edge keeps answering.
#  - Revoke under load: client threads hammer one serial over keep-alive
#    connections while it is revoked; once the edge has applied the revoke
#    event, no request sent after that moment may be answered "good".
# Answers are judged by python3-cryptography (a client we did not write).
set -euo pipefail
source "$(dirname "$0")/edge_common.bash"

edge_init edge-load
D=$PKI_DIR

step "PKI, Redis, edge"
edge_ca "$D" "Edge Load Test CA" ca1 acme
edge_leaf "$D" hot
pki_r publish --dir "$D" --cert "$D/hot.pem" --status good --issuer-id ca1
pki_r mirror
edge_start
edge_wait_ready
openssl ocsp -issuer "$D/ca.pem" -cert "$D/hot.pem" -reqout "$EDGE_WORK/req.der" -no_nonce >/dev/null

cat > "$EDGE_WORK/load.py" <<'PY'
import base64, http.client, socket, subprocess, sys, threading, time, urllib.parse, urllib.request
from cryptography.x509 import ocsp

mode, port, admin, reqfile = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
req = open(reqfile, 'rb').read()
path = '/ocsp/acme/' + urllib.parse.quote(base64.b64encode(req).decode(), safe='')

def status_of(body):
    r = ocsp.load_der_ocsp_response(body)
    if r.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return r.response_status.name
    return r.certificate_status.name

def metric(name):
    txt = urllib.request.urlopen('http://127.0.0.1:%d/metrics' % admin, timeout=5).read().decode()
    for line in txt.splitlines():
        if line.startswith(name + ' '):
            return float(line.split()[1])
    return 0.0

if mode == 'idle':
    socks = []
    for i in range(10000):
        s = socket.create_connection(('127.0.0.1', port), timeout=10)
        socks.append(s)
    # The edge still answers while holding them.
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    c.request('GET', path)
    st = status_of(c.getresponse().read())
    deadline = time.time() + 20
    while metric('vigil_edge_open_connections') < 10000 and time.time() < deadline:
        time.sleep(0.1)
    opened = metric('vigil_edge_open_connections')
    for s in socks:
        s.close()
    print('answer', st, 'open', int(opened))
    sys.exit(0 if st == 'GOOD' and opened >= 10000 else 1)

# mode == 'revoke': argv[5..] is the revoke command.
cmd = sys.argv[5:]
base = metric('vigil_edge_events_applied_total')
stop = threading.Event()
results = []  # (sent_at, status)
lock = threading.Lock()

def worker():
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    local = []
    n = 0
    while not stop.is_set() and n < 5000:
        sent = time.monotonic()
        c.request('GET', path)
        st = status_of(c.getresponse().read())
        local.append((sent, st))
        n += 1
    with lock:
        results.extend(local)

applied_at = [None]
def watcher():
    while not stop.is_set():
        if metric('vigil_edge_events_applied_total') > base:
            applied_at[0] = time.monotonic()
            return
        time.sleep(0.005)

threads = [threading.Thread(target=worker) for _ in range(4)]
w = threading.Thread(target=watcher)
for t in threads: t.start()
w.start()
time.sleep(1.0)
subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
w.join(timeout=20)
time.sleep(1.0)
stop.set()
for t in threads: t.join()
if applied_at[0] is None:
    print('the revoke event was never applied'); sys.exit(1)
after = [s for (t, s) in results if t > applied_at[0]]
bad = [s for s in after if s == 'GOOD']
print('answers', len(results), 'after-apply', len(after), 'good-after-apply', len(bad),
      'statuses', sorted(set(s for _, s in results)))
sys.exit(1 if bad or len(after) == 0 or 'REVOKED' not in after else 0)
PY

step "10,000 idle connections held; the edge still answers"
ulimit -n 20000 2>/dev/null || true
/usr/bin/python3 "$EDGE_WORK/load.py" idle "$EDGE_PORT" "$EDGE_ADMIN_PORT" "$EDGE_WORK/req.der" ||
  fail "idle connections"

step "revoke under load: never good after the event was applied"
/usr/bin/python3 "$EDGE_WORK/load.py" revoke "$EDGE_PORT" "$EDGE_ADMIN_PORT" "$EDGE_WORK/req.der" \
  "$PKI_BIN" publish --dir "$D" --cert "$D/hot.pem" --status revoked \
  --reason keyCompromise --issuer-id ca1 --redis "127.0.0.1:$EDGE_REDIS_PORT" ||
  fail "revoke under load"

step "the edge stops cleanly"
edge_stop_clean
edge_done edge_load
