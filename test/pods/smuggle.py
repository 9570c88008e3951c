#!/usr/bin/env python3
"""test/pods/smuggle.py - the differential suite's driver (test/e2e_smuggle.sh).

    smuggle.py probe HTTP_PORT POD      send every hostile request of the
                                        December review to POD.test (and
                                        POD-mix.test) and check each answer
    smuggle.py check ACCESS_LOG POD=PORT:LOG ...
                                        what each pod parsed against what
                                        ingressd routed

Each prints "PASS what" or "FAIL what: why" lines. The pods' logs hold one
JSON line per request they framed (recorder.py, gopod.go, nodepod.js).
Every probe is sent from 127.0.0.1, which no whitelist admits, without
credentials unless it says so; so no pod may ever parse a request for
/admin or an unauthenticated /secret, however it reads the path, and
every request a pod parses must be one ingressd routed (same count, one
X-Real-Ip, the peer's).
"""
import json
import re
import socket
import sys
import time
import urllib.parse

AUTH = "Basic dTpw"  # u:p


def exchange(port, raw, wait=3.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(raw)
    s.settimeout(wait)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except socket.timeout:
        pass
    except ConnectionResetError:
        pass
    s.close()
    return out


def status(out):
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", out)
    return int(m.group(1)) if m else None


def probes(h, pod):
    """(name, raw request, expected first status) for host h."""
    smug = b"GET /admin/smuggled HTTP/1.1\r\nHost: " + h + b"\r\nX-Real-Ip: 10.9.9.9\r\nX-Forwarded-For: 10.9.9.9\r\n\r\n"
    chunk = b"%x\r\n%s\r\n0\r\n\r\n" % (len(smug), smug)
    p = [
        ("control: GET /admin", b"GET /admin HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 403),
        ("control: GET /", b"GET / HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 200),
        ("1: Connection: keep-alive, Content-Length", b"POST / HTTP/1.1\r\nHost: H\r\nConnection: keep-alive, Content-Length\r\n"
         b"Content-Length: %d\r\n\r\n%s" % (len(smug), smug), 400),
        ("1: Connection: content-length on a GET", b"GET /x HTTP/1.1\r\nHost: H\r\nConnection: content-length\r\n"
         b"Content-Length: %d\r\n\r\n%s" % (len(smug), smug), 400),
        ("1: Connection: Transfer-Encoding", b"POST / HTTP/1.1\r\nHost: H\r\nConnection: Transfer-Encoding\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n" + chunk, 400),
        ("S04: Content-Length and Transfer-Encoding", b"POST / HTTP/1.1\r\nHost: H\r\nContent-Length: 4\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n" + chunk, 400),
        ("S09: chunked, chunked", b"POST / HTTP/1.1\r\nHost: H\r\nTransfer-Encoding: chunked, chunked\r\n\r\n" + chunk, 400),
        ("S15: obs-fold", b"GET / HTTP/1.1\r\nHost: H\r\nX: a\r\n b\r\n\r\n", 400),
        ("3: fragment /admin#", b"GET /admin# HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 400),
        ("3: fragment /admin#x", b"GET /admin#x HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 400),
        ("3: fragment /secret#a", b"GET /secret#a HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 400),
        ("4: Prefix / does not shadow /admin", b"GET /admin HTTP/1.1\r\nHost: M\r\nConnection: close\r\n\r\n", 403),
        ("4: ... nor /adminx (string prefix)", b"GET /adminx HTTP/1.1\r\nHost: M\r\nConnection: close\r\n\r\n", 403),
        ("9: /ADMIN (case: a different path)", b"GET /ADMIN HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 200),
        ("9: //admin", b"GET //admin HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 403),
        ("9: /admin;x", b"GET /admin;x HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 403),
        ("9: /admin;x/y", b"GET /admin;jsessionid=1/y HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 403),
        ("9: /pub/..;/admin", b"GET /pub/..;/admin HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 400),
        ("9: /admin%2f", b"GET /admin%2f HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 400),
        ("9: /admin%2Fx", b"GET /admin%2Fx HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 403),
        ("9: /%2Fadmin", b"GET /%2Fadmin HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 400),
        ("9: /pub/..%2fadmin", b"GET /pub/..%2fadmin HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 400),
        ("9: backslashes, /pub..admin", b"GET /pub\\..\\admin HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 400),
        ("9: /x/%c0%ae%c0%ae/admin (overlong)", b"GET /x/%c0%ae%c0%ae/admin HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 200),
        ("P03: /%61dmin", b"GET /%61dmin HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 403),
        ("P04: /x/../admin", b"GET /x/../admin HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 403),
        ("P13: absolute-form to /admin", b"GET http://H/admin HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n", 403),
        ("10: Forwarded, X-Original-URL, '_' twins", b"GET / HTTP/1.1\r\nHost: H\r\nForwarded: for=10.0.0.1;proto=https\r\n"
         b"X-Original-URL: /admin\r\nX-Rewrite-URL: /admin\r\nX_Real_Ip: 10.0.0.1\r\nX_Forwarded_For: 10.0.0.1\r\n"
         b"Connection: close\r\n\r\n", 200),
        ("11: trailers are not forwarded", b"POST / HTTP/1.1\r\nHost: H\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
         b"5;ext=\"a\"\r\nhello\r\n0\r\nX-Real-Ip: 10.0.0.1\r\nContent-Length: 50\r\n\r\n", 200),
        ("12: Upgrade: h2c is not tunnelled", b"GET / HTTP/1.1\r\nHost: H\r\nConnection: Upgrade, HTTP2-Settings\r\n"
         b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n" + smug.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"), 200),
        ("secret without credentials", b"GET /secret HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 401),
        ("secret;x without credentials", b"GET /secret;x HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 401),
        ("secret with credentials", b"GET /secret HTTP/1.1\r\nHost: H\r\nAuthorization: " + AUTH.encode() +
         b"\r\nConnection: close\r\n\r\n", 200),
    ]
    if pod == "rec":
        p.append(("8: a pod naming its framing in Connection: 502", b"GET /badframing HTTP/1.1\r\nHost: H\r\nConnection: close\r\n\r\n", 502))
    m = h.replace(b".test", b"-mix.test")
    return [(n, r.replace(b"Host: H", b"Host: " + h).replace(b"Host: M", b"Host: " + m).replace(b"http://H/", b"http://" + h + b"/"), e)
            for n, r, e in p]


def probe(port, pod):
    h = pod.encode() + b".test"
    for name, raw, want in probes(h, pod):
        got = status(exchange(port, raw))
        if got == want:
            print("PASS %s %s: %s" % (pod, name, got))
        else:
            print("FAIL %s %s: %s, want %s" % (pod, name, got, want))
    # Finding 2: the pod answers /early before the body, the client never
    # sends it and goes; the upstream connection must not be reused, or
    # the next request (anyone's) is read as that body
    body = b"GET /admin HTTP/1.1\r\nHost: " + h + b"\r\n\r\n"
    a = exchange(port, b"GET /early HTTP/1.1\r\nHost: " + h + b"\r\nContent-Length: 191\r\n\r\n", wait=1.0)
    t0 = time.time()
    b = exchange(port, b"POST /public HTTP/1.1\r\nHost: " + h + b"\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
                 % (len(body), body), wait=4.0)
    # (Go reads the rest of a body before it answers: no answer to a then)
    ok = status(a) in (200, None) and status(b) == 200 and b"/public" in b and b"/admin" not in b and time.time() - t0 < 3.5
    print(("PASS %s 2: answered before the body ended: not reused" if ok else
           "FAIL %s 2: answered before the body ended: %r then %r") % ((pod,) if ok else (pod, a[:60], b[:200])))


def readings(target):
    """The path as each kind of pod reads it."""
    raw = target.split("?")[0].split("#")[0]
    out = {raw}
    for strip_params in (False, True):
        p = raw
        if strip_params:
            p = "/".join(seg.split(";")[0] for seg in p.split("/"))
        for dec in (lambda x: x, urllib.parse.unquote):
            q = dec(p).replace("\\", "/")
            segs = []
            for seg in q.split("/"):
                if seg in ("", "."):
                    continue
                if seg == "..":
                    if segs:
                        segs.pop()
                    continue
                segs.append(seg)
            out.add("/" + "/".join(segs) + ("/" if q.endswith("/") and segs else ""))
    return out


def check(access, pods):
    routed = {}
    with open(access) as f:
        for ln in f:
            r = json.loads(ln)
            routed[r["BackendURL"]] = routed.get(r["BackendURL"], 0) + 1
    for spec in pods:
        pod, rest = spec.split("=", 1)
        port, log = rest.split(":", 1)
        recs = [json.loads(ln) for ln in open(log)]
        bad = []
        for r in recs:
            if "reject" in r:
                bad.append("the strict origin refused what ingressd sent: %s" % r["reject"])
                continue
            if r["xri"] != ["127.0.0.1"]:
                bad.append("X-Real-Ip %s for %s" % (r["xri"], r["target"]))
            for p in readings(r["target"]) | {r["path"]}:
                if p == "/admin" or p.startswith("/admin/"):
                    bad.append("reached %s (target %s, read as %s)" % (p, r["target"], r["path"]))
                if p == "/secret" and r.get("auth") != [AUTH]:
                    bad.append("reached /secret without credentials (target %s)" % r["target"])
            for hd in ("forwarded", "x-original-url", "x-rewrite-url", "x_real_ip", "x_forwarded_for", "http2-settings", "upgrade"):
                if hd in r.get("hdrs", []):
                    bad.append("header %s passed (target %s)" % (hd, r["target"]))
        print(("PASS %s: %d requests parsed, each routed, one X-Real-Ip, no policy passed" % (pod, len(recs))) if not bad
              else "FAIL %s: %s" % (pod, "; ".join(bad[:5])))
        n = routed.get("http://127.0.0.1:%s" % port, 0)
        print(("PASS %s: parsed as many requests as ingressd routed to it (%d)" % (pod, n)) if n == len(recs)
              else "FAIL %s: parsed %d requests, ingressd routed %d" % (pod, len(recs), n))


if __name__ == "__main__":
    if sys.argv[1] == "probe":
        probe(int(sys.argv[2]), sys.argv[3])
    else:
        check(sys.argv[2], sys.argv[3:])
