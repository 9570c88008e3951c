#!/usr/bin/env python3
"""idle_conns.py - N concurrent idle keep-alive client connections (issue 4:
10,000 held with RSS <= 64 MB).

    python3 test/bench/idle_conns.py --addr 127.0.0.1:PORT --host plain.bench --pid PID [-n 10000]

Opens N connections in batches, sends one keep-alive request on each, reads
its whole answer (Content-Length), and keeps every connection open and
idle. Then, with all of them held, reads the proxy's VmRSS/VmHWM, checks how
many are still open, and times one more request on a fresh connection.
Prints key=value lines:
  rss_before_kb rss_held_kb hwm_kb   /proc/PID/status before and while held
  opened answered held               connections (held: open after --hold s)
  codes                              status codes of the answers
  fresh_ms                           a new request while all are held
  setup_s                            time to open and answer all N
  rss_closed_kb hwm_closed_kb        1 s after closing all N at once
  during_rc                          exit status of --during CMD
  quiet_cpu_ms                       the proxy's CPU over --quiet S seconds
                                     with all held and no other traffic
With --during CMD, CMD (a shell command, e.g. a wrk run) runs while the
connections are held, before they are checked and closed. --sources K
spreads the connections over the source addresses 127.0.0.1..K (one
address has only the ephemeral port range: about 28,000).
"""
import argparse
import selectors
import socket
import subprocess
import time


def cpu_ns(pid):
    import glob
    total = 0
    for f in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        with open(f) as fh:
            total += int(fh.read().split()[0])
    return total


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class Conn:
    __slots__ = ("s", "buf", "state", "code")

    def __init__(self, s):
        self.s, self.buf, self.state, self.code = s, b"", "connect", None


def complete(buf):
    """The status code when buf holds one whole answer, else None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1").split("\r\n")
    length = 0
    for h in head[1:]:
        k, _, v = h.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    if len(buf) - end - 4 < length:
        return None
    return head[0].split(" ")[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--hold", type=float, default=2.0)
    ap.add_argument("--during", help="shell command to run while the connections are held")
    ap.add_argument("--sources", type=int, default=1)
    ap.add_argument("--quiet", type=float, default=0.0)
    a = ap.parse_args()
    host, port = a.addr.rsplit(":", 1)
    port = int(port)
    req = f"GET / HTTP/1.1\r\nHost: {a.host}\r\n\r\n".encode()

    out = {"rss_before_kb": status_kb(a.pid, "VmRSS")}
    sel = selectors.DefaultSelector()
    conns, codes = [], {}
    answered = 0
    t0 = time.monotonic()
    pending = 0

    def pump(timeout):
        nonlocal answered, pending
        for key, ev in sel.select(timeout):
            c = key.data
            try:
                if c.state == "connect":
                    err = c.s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, "connect")
                    c.s.send(req)
                    c.state = "read"
                    sel.modify(c.s, selectors.EVENT_READ, c)
                else:
                    d = c.s.recv(65536)
                    if not d:
                        raise OSError("closed before the answer")
                    c.buf += d
                    code = complete(c.buf)
                    if code is not None:
                        c.code, c.state, c.buf = code, "idle", b""
                        codes[code] = codes.get(code, 0) + 1
                        answered += 1
                        sel.unregister(c.s)
                        pending -= 1
            except OSError:
                codes["error"] = codes.get("error", 0) + 1
                sel.unregister(c.s)
                c.s.close()
                c.state = "dead"
                pending -= 1

    deadline = time.monotonic() + 120
    while len(conns) < a.n and time.monotonic() < deadline:
        for _ in range(min(a.batch, a.n - len(conns))):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            if a.sources > 1:  # the port is chosen at connect, per 4-tuple
                s.setsockopt(socket.IPPROTO_IP, 24, 1)  # IP_BIND_ADDRESS_NO_PORT
                s.bind((f"127.0.0.{1 + len(conns) % a.sources}", 0))
            s.connect_ex((host, port))
            c = Conn(s)
            conns.append(c)
            sel.register(s, selectors.EVENT_WRITE, c)
            pending += 1
        while pending > a.batch // 2 and time.monotonic() < deadline:
            pump(1.0)
    while pending > 0 and time.monotonic() < deadline:
        pump(1.0)
    out["setup_s"] = time.monotonic() - t0
    out["opened"] = len(conns)
    out["answered"] = answered

    # Held: an idle connection the server closed turns readable (EOF).
    time.sleep(a.hold)
    if a.quiet > 0:
        c0 = cpu_ns(a.pid)
        time.sleep(a.quiet)
        out["quiet_cpu_ms"] = (cpu_ns(a.pid) - c0) / 1e6
    if a.during:
        out["during_rc"] = subprocess.run(a.during, shell=True).returncode
    live = [c for c in conns if c.state == "idle"]
    for c in live:
        sel.register(c.s, selectors.EVENT_READ, c)
    closed = len(sel.select(0.2))
    out["held"] = len(live) - closed
    out["rss_held_kb"] = status_kb(a.pid, "VmRSS")
    out["hwm_kb"] = status_kb(a.pid, "VmHWM")
    t1 = time.monotonic()
    try:
        s = socket.create_connection((host, port), timeout=10)
        s.sendall(f"GET / HTTP/1.1\r\nHost: {a.host}\r\nConnection: close\r\n\r\n".encode())
        while s.recv(65536):
            pass
        s.close()
        out["fresh_ms"] = (time.monotonic() - t1) * 1000
    except OSError:
        out["fresh_ms"] = -1.0
    out["codes"] = ",".join(f"{k}:{v}" for k, v in sorted(codes.items()))
    # All at once, as when a client or a load balancer in front goes away.
    for c in conns:
        if c.state != "dead":
            c.s.close()
    time.sleep(1.0)
    out["rss_closed_kb"] = status_kb(a.pid, "VmRSS")
    out["hwm_closed_kb"] = status_kb(a.pid, "VmHWM")
    for k, v in out.items():
        print(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}")


if __name__ == "__main__":
    main()
