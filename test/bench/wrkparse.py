#!/usr/bin/env python3
"""wrkparse.py - one line of numbers from the output of `wrk --latency`.

    python3 test/bench/wrkparse.py FILE
prints
    rps=R p50_ms=A p99_ms=B max_ms=C requests=N non2xx=K sockerr=E
(0 for what is missing; rps=0 when the file is not wrk output at all).
"""
import re
import sys

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text.strip())
    return float(m.group(1)) * UNITS[m.group(2)] if m else 0.0


def parse(text):
    r = {"rps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "requests": 0, "non2xx": 0, "sockerr": 0}
    m = re.search(r"Requests/sec:\s+([0-9.]+)", text)
    if m:
        r["rps"] = float(m.group(1))
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(r"^[ \t]+%s(?:\.0+)?%%[ \t]+(\S+)" % pct, text, re.M)
        if m:
            r[key] = ms(m.group(1))
    m = re.search(r"^[ \t]+Latency[ \t]+\S+[ \t]+\S+[ \t]+(\S+)", text, re.M)
    if m:
        r["max_ms"] = ms(m.group(1))
    m = re.search(r"(\d+) requests in", text)
    if m:
        r["requests"] = int(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        r["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        r["sockerr"] = sum(int(x) for x in m.groups())
    return r


def main():
    with open(sys.argv[1], errors="replace") as f:
        r = parse(f.read())
    print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()))


if __name__ == "__main__":
    main()
