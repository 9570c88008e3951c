#!/usr/bin/env python3
"""test/loop_conns.py - many client connections at once, for
test/e2e_loop.sh (issue 20: the loop at scale). Python stdlib only.

    loop_conns.py held --addr A --host H -n N [--flow-conns C --flow-requests R]
        N keep-alive connections each make one request and stay open and
        idle; meanwhile C other connections make R requests in all; then
        every one of the N makes a second request. Prints key=value:
        opened answered flow_ok flow_bad second_ok second_bad
    loop_conns.py deadlines --addr A --host H --idle N --partial P
                  --idle-ms I --read-ms T --slow S --slow-path PATH --slow-ms U
        N connections answered once and left idle (three waves, 300 ms
        apart), then P that send half a request head and stall, S requests for
        PATH (a pod that answers late): when the proxy ends each, against
        its own deadline (I after the answer, T after the first byte, U
        after the request: a 504). Prints key=value: *_n, *_early (ended
        more than 50 ms before the deadline), *_late_ms (the latest, after
        the deadline), *_missing (not ended within deadline + 3 s).
"""
import argparse
import selectors
import socket
import sys
import time


def complete(buf):
    """(status, bytes used) when buf starts with one whole answer, else None."""
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
    return int(head[0].split(" ")[1]), end + 4 + length


class Conn:
    def __init__(self, addr, sel, req, kind):
        self.s = socket.socket()
        self.s.setblocking(False)
        self.s.connect_ex(addr)
        self.buf, self.req, self.kind = b"", req, kind
        self.codes, self.ended, self.t_ref, self.sent = [], None, None, False
        sel.register(self.s, selectors.EVENT_WRITE, self)


def pump(sel, timeout, on_answer):
    for key, ev in sel.select(timeout):
        c = key.data
        if ev & selectors.EVENT_WRITE and not c.sent:
            try:
                c.s.send(c.req)
            except OSError:
                c.ended = time.monotonic()
                sel.unregister(c.s)
                continue
            c.sent = True
            if c.t_ref is None:
                c.t_ref = time.monotonic()
            sel.modify(c.s, selectors.EVENT_READ, c)
            continue
        try:
            d = c.s.recv(65536)
        except OSError:
            d = b""
        if not d:  # the proxy closed it (after an answer that ended it: that time stays)
            c.ended = c.ended or time.monotonic()
            sel.unregister(c.s)
            continue
        c.buf += d
        while True:
            r = complete(c.buf)
            if r is None:
                break
            c.codes.append(r[0])
            c.buf = c.buf[r[1]:]
            on_answer(c)


def held(a, addr):
    sel = selectors.DefaultSelector()
    req = f"GET /held HTTP/1.1\r\nHost: {a.host}\r\n\r\n".encode()
    conns = []
    t_end = time.monotonic() + 120
    for i in range(0, a.n, 500):
        conns += [Conn(addr, sel, req, "idle") for _ in range(min(500, a.n - i))]
        while sum(1 for c in conns if not c.codes and c.ended is None) > 250 and time.monotonic() < t_end:
            pump(sel, 0.5, lambda c: None)
    while any(not c.codes and c.ended is None for c in conns) and time.monotonic() < t_end:
        pump(sel, 0.5, lambda c: None)
    out = {"opened": len(conns), "answered": sum(1 for c in conns if c.codes == [200])}
    # requests flow on other connections while the N are held
    flow = [Conn(addr, sel, f"GET /flow HTTP/1.1\r\nHost: {a.host}\r\n\r\n".encode(), "flow")
            for _ in range(a.flow_conns)]
    left = [a.flow_requests - a.flow_conns]

    def again(c):
        if c.kind == "flow" and left[0] > 0:
            left[0] -= 1
            c.s.send(c.req)

    t_end = time.monotonic() + 120
    while sum(len(c.codes) for c in flow) < a.flow_requests and time.monotonic() < t_end:
        if all(c.ended is not None for c in flow):
            break
        pump(sel, 0.5, again)
    out["flow_ok"] = sum(c.codes.count(200) for c in flow)
    out["flow_bad"] = sum(len(c.codes) - c.codes.count(200) for c in flow)
    # every held one is still there and answers again (250 at a time:
    # the test pod is a small Python server)
    t_end = time.monotonic() + 120
    for i in range(0, len(conns), 250):
        for c in conns[i:i + 250]:
            if c.ended is None:
                try:
                    c.s.send(req)
                except OSError:
                    c.ended = time.monotonic()
        while any(len(c.codes) < 2 and c.ended is None for c in conns[:i + 250]) and time.monotonic() < t_end:
            pump(sel, 0.5, lambda c: None)
    out["second_ok"] = sum(1 for c in conns if c.codes == [200, 200])
    out["second_bad"] = len(conns) - out["second_ok"]
    for k, v in out.items():
        print(f"{k}={v}")


def deadlines(a, addr):
    sel = selectors.DefaultSelector()
    now = time.monotonic
    groups = {"idle": [], "read": [], "slow": []}
    idle_req = f"GET /d HTTP/1.1\r\nHost: {a.host}\r\n\r\n".encode()
    answered = lambda c: setattr(c, "t_ref", now()) if c.kind == "idle" else setattr(c, "ended", now())
    for wave in range(3):  # 200 at a time (a small Python pod), then a pause
        want = a.idle // 3 + (wave < a.idle % 3)
        while want > 0:
            if sum(1 for c in groups["idle"] if not c.codes and c.ended is None) < 200:
                groups["idle"].append(Conn(addr, sel, idle_req, "idle"))
                want -= 1
                continue
            pump(sel, 0.05, answered)
        t_wave = now() + 0.3
        while now() < t_wave:
            pump(sel, 0.05, answered)
    groups["read"] = [Conn(addr, sel, f"GET /d HTTP/1.1\r\nHost: {a.host}\r\nX-Half:".encode(), "read")
                      for _ in range(a.partial)]
    groups["slow"] = [Conn(addr, sel, f"GET {a.slow_path} HTTP/1.1\r\nHost: {a.host}\r\n\r\n".encode(), "slow")
                      for _ in range(a.slow)]
    limit = {"idle": a.idle_ms, "read": a.read_ms, "slow": a.slow_ms}
    t_end = now() + max(limit.values()) / 1000 + 3
    while now() < t_end and any(c.ended is None for g in groups.values() for c in g):
        pump(sel, 0.05, answered)
    for name, cs in groups.items():
        late, early, missing = 0.0, 0, 0
        for c in cs:
            if c.ended is None or c.t_ref is None:
                missing += 1
                continue
            d = (c.ended - c.t_ref) * 1000 - limit[name]
            early += d < -200  # the answer is timed when this client reads it: later than sent
            late = max(late, d)
        if name == "slow":
            print(f"slow_504={sum(1 for c in cs if c.codes == [504])}")
        if name == "idle":
            print(f"idle_answered={sum(1 for c in cs if c.codes == [200])}")
        print(f"{name}_n={len(cs)} {name}_early={early} {name}_late_ms={late:.0f} {name}_missing={missing}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("held", "deadlines"))
    ap.add_argument("--addr", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--flow-conns", type=int, default=32)
    ap.add_argument("--flow-requests", type=int, default=3000)
    ap.add_argument("--idle", type=int, default=3000)
    ap.add_argument("--partial", type=int, default=500)
    ap.add_argument("--slow", type=int, default=20)
    ap.add_argument("--slow-path", default="/slow/5000")
    ap.add_argument("--idle-ms", type=int, default=2000)
    ap.add_argument("--read-ms", type=int, default=1500)
    ap.add_argument("--slow-ms", type=int, default=1000)
    a = ap.parse_args()
    host, port = a.addr.rsplit(":", 1)
    (held if a.mode == "held" else deadlines)(a, (host, int(port)))


if __name__ == "__main__":
    sys.exit(main())
