#!/usr/bin/env python3
"""listbench.py - CPU time and memory of ingressd's initial list (issue 3).

    python3 test/bench/listbench.py --ingressd ./ingressd --conf FILE --web 127.0.0.1:PORT --log FILE

Starts ingressd, reads /proc/PID right after the exec, polls GET /ping on
the admin port every 2 ms until it answers (the process is initialised:
config read, listeners open; the list has just begun) and reads /proc/PID
again (the RSS baseline), then polls GET /ready every 5 ms until it answers
200, reads /proc/PID at that moment, and stops ingressd (SIGTERM). Prints
key=value lines:
  ready_ms          exec -> first 200 from /ready (wall clock)
  cpu_ms            on-CPU time exec -> ready (/proc/PID/schedstat, ns
                    resolution): everything ingressd did to get ready
  cpu_ticks_ms      the same from /proc/PID/stat utime+stime (10 ms ticks)
  rss_exec_kb       VmRSS right after the exec (the loader may not be done)
  rss_start_kb      VmRSS at the first /ping answer
  rss_ready_kb      VmRSS at ready
  hwm_ready_kb      VmHWM at ready
  rss_growth_kb     hwm_ready_kb - rss_start_kb
  polls             admin requests sent
"""
import argparse
import http.client
import os
import signal
import subprocess
import time


def proc(pid):
    r = {}
    with open(f"/proc/{pid}/schedstat") as f:
        r["sched_ns"] = int(f.read().split()[0])
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    hz = os.sysconf("SC_CLK_TCK")
    r["ticks_ms"] = (int(fields[11]) + int(fields[12])) * 1000 / hz  # utime, stime
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                r[k] = int(v.split()[0])
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ingressd", required=True)
    ap.add_argument("--conf", required=True)
    ap.add_argument("--web", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    host, port = a.web.rsplit(":", 1)
    with open(a.log, "ab") as log:
        t0 = time.monotonic()
        p = subprocess.Popen([a.ingressd, "-c", a.conf], stdout=log, stderr=log)
    base = proc(p.pid)
    start, polls, ready = None, 0, None

    def get(path):
        c = http.client.HTTPConnection(host, int(port), timeout=2)
        try:
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            return r.status
        finally:
            c.close()

    try:
        while time.monotonic() - t0 < a.timeout and p.poll() is None:
            polls += 1
            try:
                if start is None:
                    if get("/ping") == 200:
                        start = proc(p.pid)
                        continue
                elif get("/ready") == 200:
                    ready = proc(p.pid)
                    t1 = time.monotonic()
                    break
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.002 if start is None else 0.005)
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    if ready is None:
        print(f"error=not ready within {a.timeout:.0f} s (exit {p.returncode})")
        return 1
    out = {
        "ready_ms": (t1 - t0) * 1000,
        "cpu_ms": (ready["sched_ns"] - base["sched_ns"]) / 1e6,
        "cpu_ticks_ms": ready["ticks_ms"] - base["ticks_ms"],
        "rss_exec_kb": base.get("VmRSS", 0),
        "rss_start_kb": start.get("VmRSS", 0),
        "rss_ready_kb": ready.get("VmRSS", 0),
        "hwm_ready_kb": ready.get("VmHWM", 0),
        "rss_growth_kb": ready.get("VmHWM", 0) - start.get("VmRSS", 0),
        "polls": polls,
    }
    for k, v in out.items():
        print(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
