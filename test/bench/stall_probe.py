#!/usr/bin/env python3
"""stall_probe.py - the worst event-loop stall a burst of wrong passwords
causes (issue 6). ingressd has one thread: every bcrypt check it runs on
the loop delays every other connection.

    python3 test/bench/stall_probe.py --addr 127.0.0.1:PORT --probe-host plain.bench \
        --burst-host auth.bench --user bench --burst 20 [--interval 0.01] [--pre 1] [--post 1]

A probe thread sends GET / to --probe-host every --interval seconds over one
keep-alive connection and times each answer. After --pre seconds, --burst
threads each send one request with a wrong password for --user to
--burst-host at the same moment (one connection each): each a different
password (what an attacker sends; no cache can answer it), or with --same
one password for all. The probe goes on
until --post seconds after the last burst answer. Prints key=value lines:
  base_p50_ms base_max_ms      probe latency before the burst
  burst_max_ms burst_p50_ms    probe latency while the burst was answered
  burst_probes                 probes sent in that window
  burst_wall_ms                first burst request sent -> last answered
  burst_codes                  status codes of the burst answers (code:count,...)
  probe_errors                 probes that failed (reconnected)
  burst_cpu_ms                 --pid's on-CPU time from the burst's start to
                               its last answer (bcrypt work done)
"""
import argparse
import base64
import http.client
import os
import statistics
import threading
import time


def cpu_ns(pid):
    """On-CPU nanoseconds of every thread of pid (0 without one)."""
    if not pid:
        return 0
    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{t}/schedstat") as f:
            total += int(f.read().split()[0])
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--probe-host", required=True)
    ap.add_argument("--burst-host", required=True)
    ap.add_argument("--user", default="bench")
    ap.add_argument("--burst", type=int, default=20)
    ap.add_argument("--interval", type=float, default=0.01)
    ap.add_argument("--pre", type=float, default=1.0)
    ap.add_argument("--post", type=float, default=1.0)
    ap.add_argument("--same", action="store_true", help="one wrong password for all (else each its own)")
    ap.add_argument("--pid", type=int, help="the proxy: its CPU time during the burst is reported")
    a = ap.parse_args()
    host, port = a.addr.rsplit(":", 1)
    port = int(port)

    probes = []  # (sent, latency)
    errors = [0]
    stop = threading.Event()

    def probe():
        conn = None
        nxt = time.monotonic()
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=10)
                conn.request("GET", "/", headers={"Host": a.probe_host})
                r = conn.getresponse()
                r.read()
                probes.append((t0, time.monotonic() - t0))
            except (OSError, http.client.HTTPException):
                errors[0] += 1
                probes.append((t0, time.monotonic() - t0))
                conn = None
            nxt += a.interval
            d = nxt - time.monotonic()
            if d > 0:
                time.sleep(d)
            else:
                nxt = time.monotonic()

    codes = {}
    done_at = []
    lock = threading.Lock()
    go = threading.Barrier(a.burst + 1)
    def burst_one(i):
        pw = "wrong-password" if a.same else f"wrong-password-{i}-{time.time()}"
        wrong = base64.b64encode(f"{a.user}:{pw}".encode()).decode()
        c = http.client.HTTPConnection(host, port, timeout=60)
        c.connect()
        go.wait()
        try:
            c.request("GET", f"/burst{i}", headers={"Host": a.burst_host, "Authorization": "Basic " + wrong})
            r = c.getresponse()
            r.read()
            code = str(r.status)
        except (OSError, http.client.HTTPException) as e:
            code = type(e).__name__
        with lock:
            codes[code] = codes.get(code, 0) + 1
            done_at.append(time.monotonic())
        c.close()

    pt = threading.Thread(target=probe, daemon=True)
    pt.start()
    time.sleep(a.pre)
    bts = [threading.Thread(target=burst_one, args=(i,), daemon=True) for i in range(a.burst)]
    for t in bts:
        t.start()
    c0 = cpu_ns(a.pid)
    go.wait()
    b0 = time.monotonic()
    for t in bts:
        t.join()
    c1 = cpu_ns(a.pid)
    b1 = max(done_at) if done_at else time.monotonic()
    time.sleep(a.post)
    stop.set()
    pt.join(timeout=15)

    base = [lat for t0, lat in probes if t0 + lat < b0]
    during = [lat for t0, lat in probes if t0 < b1 and t0 + lat > b0]

    def p50(v):
        return statistics.median(v) * 1000 if v else 0.0

    out = {
        "base_p50_ms": p50(base), "base_max_ms": max(base, default=0) * 1000,
        "burst_p50_ms": p50(during), "burst_max_ms": max(during, default=0) * 1000,
        "burst_probes": len(during), "burst_wall_ms": (b1 - b0) * 1000,
        "burst_codes": ",".join(f"{k}:{v}" for k, v in sorted(codes.items())),
        "probe_errors": errors[0],
        "burst_cpu_ms": (c1 - c0) / 1e6 if a.pid else 0.0,
    }
    for k, v in out.items():
        print(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}")


if __name__ == "__main__":
    main()
