#!/usr/bin/python3
"""bench_control.py: end-to-end control-plane figures, driven through the
public API like a client (bench/control/run.sh starts the stack).

  issue     certificates/s through POST /certificates with N concurrent
            HTTPS keep-alive clients, from client-made P-256 CSRs (keys and
            CSRs made with python3-cryptography before the clock starts) and
            with server-generated P-256 keys ("generate").
  revoke    a steady stream of revocations (POST .../revoke, no wait) at a
            fixed rate; a second connection to Redis (plain socket, RESP)
            blocks on XREAD v1:events and stamps each revoke entry as it
            arrives. Per revocation: request sent -> event seen, and API
            acknowledgement -> event seen (negative: the event was already
            in Redis when the answer arrived; the API publishes before it
            answers when it can).
  cpu       server CPU per operation from /proc/PID/stat (utime + stime)
            of vigil-control, vigil-signer and Postgres (postmaster and its
            children) around each phase.

Python 3 stdlib only, plus Debian's python3-cryptography for the CSRs.
Prints one table; exit status only reports setup failures.
"""
import argparse
import http.client
import json
import os
import socket
import ssl
import sys
import threading
import time

CLK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return total


def pg_pids(postmaster):
    pids = [postmaster]
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == postmaster:
            pids.append(int(d))
    return pids


class Api:
    def __init__(self, url, token, cafile):
        u = url.split("://", 1)[1]
        self.host, port = u.rsplit(":", 1)
        self.port = int(port)
        self.token = token
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.conn = None

    def call(self, method, path, body=None):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(
                    self.host, self.port, context=self.ctx, timeout=60)
            try:
                data = json.dumps(body).encode() if body is not None else None
                hdr = {"Authorization": "Bearer " + self.token}
                if data is not None:
                    hdr["Content-Type"] = "application/json"
                self.conn.request(method, "/api/v1" + path, data, hdr)
                r = self.conn.getresponse()
                text = r.read()
                return r.status, json.loads(text) if text else None
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        return None


def make_csrs(n):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    out = []
    for i in range(n):
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(
                   NameOID.COMMON_NAME, f"b{i}.bench.test")]))
               .add_extension(x509.SubjectAlternativeName(
                   [x509.DNSName(f"b{i}.bench.test")]), critical=False)
               .sign(key, hashes.SHA256()))
        out.append(csr.public_bytes(serialization.Encoding.PEM).decode())
    return out


def issue_phase(a, label, bodies, clients):
    """Issue every body with |clients| threads; returns (seconds, ids)."""
    ids = []
    errors = []
    lock = threading.Lock()
    it = iter(bodies)

    def worker():
        api = Api(a.url, a.token, a.cacert)
        while True:
            with lock:
                b = next(it, None)
            if b is None:
                return
            st, d = api.call("POST", "/certificates", b)
            with lock:
                if st == 201:
                    ids.append(d["id"])
                else:
                    errors.append((st, d))

    th = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.monotonic()
    for t in th:
        t.start()
    for t in th:
        t.join()
    dt = time.monotonic() - t0
    if errors:
        print(f"{label}: {len(errors)} errors, first {errors[0]}",
              file=sys.stderr)
    return dt, ids


def resp_read(f):
    """One RESP value from the buffered socket file |f|."""
    line = f.readline()
    if not line:
        raise EOFError("redis closed")
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        raise RuntimeError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2].decode()
    if t == b"*":
        n = int(rest)
        return None if n < 0 else [resp_read(f) for _ in range(n)]
    raise RuntimeError(f"bad RESP {line!r}")


def resp_cmd(sock, *args):
    out = [b"*%d\r\n" % len(args)]
    for x in args:
        x = str(x).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(x), x))
    sock.sendall(b"".join(out))


def pctl(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def revoke_phase(a, ids, rate):
    s = socket.create_connection(("127.0.0.1", a.redis_port))
    f = s.makefile("rb")
    resp_cmd(s, "XREVRANGE", "v1:events", "+", "-", "COUNT", "1")
    last = resp_read(f)
    start_id = last[0][0] if last else "0-0"
    seen = {}  # serial -> monotonic time
    stop = threading.Event()

    def reader():
        cur = start_id
        while not stop.is_set():
            resp_cmd(s, "XREAD", "BLOCK", "500", "COUNT", "1000",
                     "STREAMS", "v1:events", cur)
            r = resp_read(f)
            now = time.monotonic()
            if not r:
                continue
            for _, entries in r:
                for eid, kv in entries:
                    cur = eid
                    d = dict(zip(kv[0::2], kv[1::2]))
                    if d.get("type") == "revoke":
                        k = d["serial"].replace(":", "").lower().lstrip("0")
                        seen.setdefault(k or "0", now)

    rt = threading.Thread(target=reader)
    rt.start()
    api = Api(a.url, a.token, a.cacert)
    sent = {}
    acked = {}
    gap = 1.0 / rate
    t0 = time.monotonic()
    for i, cid in enumerate(ids):
        due = t0 + i * gap
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        ts = time.monotonic()
        st, d = api.call("POST", f"/certificates/{cid}/revoke",
                         {"reason": "superseded"})
        ta = time.monotonic()
        if st != 200:
            print(f"revoke {cid}: {st} {d}", file=sys.stderr)
            continue
        serial = d["serial"].replace(":", "").lower().lstrip("0") or "0"
        sent[serial] = ts
        acked[serial] = ta
    dt = time.monotonic() - t0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(k in seen for k in sent):
        time.sleep(0.05)
    stop.set()
    rt.join()
    s.close()
    req = [(seen[k] - sent[k]) * 1000 for k in sent if k in seen]
    ack = [(seen[k] - acked[k]) * 1000 for k in sent if k in seen]
    api_ms = [(acked[k] - sent[k]) * 1000 for k in sent]
    return dt, len(sent), len(req), req, ack, api_ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--cacert", required=True)
    ap.add_argument("--tenant", default="acme")
    ap.add_argument("--redis-port", type=int, required=True)
    ap.add_argument("--control-pid", type=int, required=True)
    ap.add_argument("--signer-pid", type=int, required=True)
    ap.add_argument("--pg-pid", type=int, required=True)
    ap.add_argument("--issue", type=int, default=200)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--revokes", type=int, default=200)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--raw-sign-rate", type=float, default=0.0)
    a = ap.parse_args()

    def procs():
        return {"control": [a.control_pid], "signer": [a.signer_pid],
                "postgres": pg_pids(a.pg_pid)}

    def cpu():
        return {k: cpu_ticks(v) for k, v in procs().items()}

    def cpu_ms_per(before, after, n):
        return {k: (after[k] - before[k]) * 1000.0 / CLK / max(n, 1)
                for k in before}

    rows = []
    csrs = make_csrs(a.issue)
    csr_bodies = [{"tenant": a.tenant, "name": f"csr-{i}-{os.getpid()}",
                   "csr_pem": c} for i, c in enumerate(csrs)]
    gen_bodies = [{"tenant": a.tenant, "name": f"gen-{i}-{os.getpid()}",
                   "generate": {"dns": [f"g{i}.bench.test"],
                                "key_type": "p256"}}
                  for i in range(max(a.issue, a.revokes))]

    c0 = cpu()
    dt, ids_csr = issue_phase(a, "issue csr", csr_bodies, a.clients)
    c1 = cpu()
    rows.append(("issue, client P-256 CSR", len(ids_csr), dt,
                 cpu_ms_per(c0, c1, len(ids_csr))))
    c0 = cpu()
    dt, ids_gen = issue_phase(a, "issue generate", gen_bodies, a.clients)
    c1 = cpu()
    rows.append(("issue, server-generated P-256", len(ids_gen), dt,
                 cpu_ms_per(c0, c1, len(ids_gen))))

    c0 = cpu()
    rdt, nrev, nseen, req, ack, api_ms = revoke_phase(
        a, ids_gen[:a.revokes], a.rate)
    c1 = cpu()
    rev_cpu = cpu_ms_per(c0, c1, nrev)

    print(f"clients {a.clients}; CPU ms per operation from /proc/PID/stat "
          f"(tick {1000 // CLK} ms)")
    print(f"{'operation':34} {'n':>5} {'ops/s':>8} {'ctl ms':>7} "
          f"{'sgn ms':>7} {'pg ms':>7} {'vs raw sign':>12}")
    for name, n, dt, c in rows:
        rate = n / dt if dt > 0 else 0
        ratio = (f"{rate / a.raw_sign_rate:12.4f}"
                 if a.raw_sign_rate > 0 else f"{'-':>12}")
        print(f"{name:34} {n:5d} {rate:8.1f} {c['control']:7.2f} "
              f"{c['signer']:7.2f} {c['postgres']:7.2f} {ratio}")
    print(f"{'revoke (steady stream)':34} {nrev:5d} {nrev / rdt:8.1f} "
          f"{rev_cpu['control']:7.2f} {rev_cpu['signer']:7.2f} "
          f"{rev_cpu['postgres']:7.2f} {'-':>12}")
    if a.raw_sign_rate > 0:
        print(f"raw P-256 sign rate (bench_ocsp_sign, same run): "
              f"{a.raw_sign_rate:.0f}/s; an issuance signs twice (the "
              f"certificate and its good OCSP response)")
    print()
    print(f"revoke -> v1:events revoke entry, {a.rate:g} revocations/s, "
          f"{nseen}/{nrev} seen (XREAD BLOCK on a separate connection)")
    print(f"{'interval':34} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, xs in (("request sent -> event", req),
                     ("API ack -> event (<0: before ack)", ack),
                     ("request sent -> API ack", api_ms)):
        if xs:
            print(f"{name:34} {pctl(xs, 50):8.2f} {pctl(xs, 99):8.2f} "
                  f"{max(xs):8.2f}")
    if nseen < nrev:
        print(f"WARNING: {nrev - nseen} revocations not seen in v1:events "
              f"within 30 s")


if __name__ == "__main__":
    main()
