#!/usr/bin/env python3
"""test/ppclient.py - a client behind a PROXY-protocol balancer, for
test/e2e_proxyproto.sh: sends a PROXY header (v1 text or v2 binary, as
haproxy's proxy-protocol.txt has them), then an HTTP request, over TLS
or not, and prints the response (or "closed" when the connection was
closed without one).

    ppclient.py ADDR PORT [--bind IP] [--v1 SRC,DST] [--v2 SRC,DST]
                [--v2-local] [--raw TEXT] [--split SECONDS] [--tls]
                [--host H] [--path P] [--header 'Name: value' ...] [--stall]
"""
import argparse
import ipaddress
import socket
import ssl
import struct
import sys
import time

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(src, dst, local=False):
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    fam = 0x11 if s.version == 4 else 0x21
    body = s.packed + d.packed + struct.pack(">HH", 40000, 443)
    body += bytes([0x04, 0, 3]) + b"abc"  # a TLV (NOOP), which must be skipped
    return SIG + bytes([0x20 if local else 0x21, fam]) + struct.pack(">H", len(body)) + body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("port", type=int)
    ap.add_argument("--bind", default="")
    ap.add_argument("--v1", default="")
    ap.add_argument("--v2", default="")
    ap.add_argument("--v2-local", action="store_true")
    ap.add_argument("--raw", default="")
    ap.add_argument("--split", type=float, default=0.0)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--host", default="pp.test")
    ap.add_argument("--path", default="/echo")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--stall", action="store_true", help="send the header only, wait for the close")
    a = ap.parse_args()
    hdr = b""
    if a.v1:
        src, dst = a.v1.split(",")
        fam = "TCP4" if ":" not in src else "TCP6"
        hdr = ("PROXY %s %s %s 40000 443\r\n" % (fam, src, dst)).encode()
    elif a.v2 or a.v2_local:
        src, dst = (a.v2 or "127.0.0.1,127.0.0.1").split(",")
        hdr = v2(src, dst, a.v2_local)
    elif a.raw:
        hdr = a.raw.encode().decode("unicode_escape").encode("latin-1")
    s = socket.socket(socket.AF_INET6 if ":" in a.addr else socket.AF_INET)
    if a.bind:
        s.bind((a.bind, 0))
    s.settimeout(5)
    s.connect((a.addr, a.port))
    t0 = time.time()
    try:
        if a.split and hdr:
            s.sendall(hdr[:7])
            time.sleep(a.split)
            s.sendall(hdr[7:])
        elif hdr:
            s.sendall(hdr)
        if a.stall:
            s.settimeout(10)
            while s.recv(4096):
                pass
            raise OSError("closed")
        if a.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(s, server_hostname=a.host)
        req = "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (a.path, a.host)
        req += "".join(h + "\r\n" for h in a.header) + "\r\n"
        s.sendall(req.encode())
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except (OSError, ssl.SSLError):
        out = b""
    sys.stdout.write(out.decode("latin-1") if out else "closed after %.1f s\n" % (time.time() - t0))


if __name__ == "__main__":
    main()
