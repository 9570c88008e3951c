#!/usr/bin/env python3
"""test/pods/recorder.py - a strict recording origin for the differential
suite (test/e2e_smuggle.sh): it frames requests itself, by the letter of
RFC 9112 (Content-Length or chunked; both, obs-fold, bare CR, a bad chunk
are 400 and a close), writes one JSON line per request it framed to --log,
and answers what it read.

    recorder.py --listen 127.0.0.1:PORT --log FILE

Paths:
    /early...      answers at once, before reading the body (as Node does),
                   then reads and drops the body
    /badframing    answers naming its own Content-Length in Connection
    /slow/MS       waits MS milliseconds first
    anything else  "REC <method> <target> xri=<X-Real-Ip values>"
"""
import argparse
import json
import socket
import socketserver
import threading
import time

LOCK = threading.Lock()


class Bad(Exception):
    pass


class Conn:
    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError
        self.buf += d

    def line(self):
        while b"\n" not in self.buf:
            if len(self.buf) > 65536:
                raise Bad("line too long")
            self.fill()
        i = self.buf.index(b"\n")
        ln, self.buf = self.buf[:i], self.buf[i + 1:]
        if not ln.endswith(b"\r") or b"\r" in ln[:-1]:
            raise Bad("line not ended by CRLF")
        return ln[:-1]

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d


def head(c):
    rl = c.line()
    while rl == b"":  # leading empty lines
        rl = c.line()
    parts = rl.split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        raise Bad("bad request line %r" % rl)
    hdrs = []
    while True:
        ln = c.line()
        if ln == b"":
            break
        if ln[:1] in (b" ", b"\t"):
            raise Bad("obs-fold")
        k, sep, v = ln.partition(b":")
        if not sep or not k or k != k.strip() or any(ch <= 32 or ch >= 127 for ch in k):
            raise Bad("bad header %r" % ln)
        hdrs.append((k.decode().lower(), v.strip().decode("latin-1")))
    return parts, hdrs


def body(c, hdrs):
    te = [v for k, v in hdrs if k == "transfer-encoding"]
    cl = [v for k, v in hdrs if k == "content-length"]
    if te and cl:
        raise Bad("both Content-Length and Transfer-Encoding")
    if te:
        if te != ["chunked"]:
            raise Bad("Transfer-Encoding %r" % te)
        n = 0
        while True:
            sz = c.line()
            if not sz or any(ch not in b"0123456789abcdefABCDEF" for ch in sz):
                raise Bad("chunk size %r" % sz)
            k = int(sz, 16)
            if k == 0:
                if c.line() != b"":
                    raise Bad("trailer")
                return n
            c.take(k)
            n += k
            if c.take(2) != b"\r\n":
                raise Bad("chunk without CRLF")
    if len(cl) > 1 and len(set(cl)) > 1:
        raise Bad("Content-Lengths differ")
    if cl:
        if not cl[0].isdigit():
            raise Bad("Content-Length %r" % cl[0])
        c.take(int(cl[0]))
        return int(cl[0])
    return 0


def answer(c, status, text, extra=b""):
    b = text.encode()
    c.s.sendall(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n%s\r\n" % (status, len(b), extra) + b)


class H(socketserver.BaseRequestHandler):
    def handle(self):
        c = Conn(self.request)
        cid = "%s:%d" % self.client_address
        n = 0
        try:
            while True:
                try:
                    (meth, target, ver), hdrs = head(c)
                except EOFError:
                    return
                n += 1
                t = target.decode("latin-1")
                xri = [v for k, v in hdrs if k == "x-real-ip"]
                rec = {"pod": "rec", "conn": cid, "n": n, "method": meth.decode(), "target": t,
                       "path": t.split("?")[0], "xri": xri, "host": [v for k, v in hdrs if k == "host"],
                       "auth": [v for k, v in hdrs if k == "authorization"],
                       "hdrs": sorted(set(k for k, v in hdrs))}
                if t.startswith("/early"):  # logged before the body, which may never come
                    with LOCK, open(self.server.log, "a") as f:
                        f.write(json.dumps(rec) + "\n")
                    answer(c, 200, "REC early")
                    body(c, hdrs)
                    continue
                rec["body"] = body(c, hdrs)
                with LOCK, open(self.server.log, "a") as f:
                    f.write(json.dumps(rec) + "\n")
                if t.startswith("/badframing"):
                    answer(c, 200, "hello", b"Connection: Content-Length\r\n")
                    continue
                if t.startswith("/slow/"):
                    time.sleep(int(t[6:].split("?")[0]) / 1000)
                answer(c, 200, "REC %s %s xri=%s" % (rec["method"], t, ",".join(xri)))
        except Bad as e:
            with LOCK, open(self.server.log, "a") as f:
                f.write(json.dumps({"pod": "rec", "conn": cid, "reject": str(e)}) + "\n")
            try:
                answer(c, 400, "bad request")
            except OSError:
                pass
        except (EOFError, OSError):
            return


class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    h, p = a.listen.rsplit(":", 1)
    srv = S((h, int(p)), H)
    srv.log = a.log
    srv.serve_forever()


if __name__ == "__main__":
    main()
