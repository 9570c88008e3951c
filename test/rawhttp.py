#!/usr/bin/env python3
"""test/rawhttp.py - raw HTTP/1.1 exchanges for the end-to-end tests, where
curl would fix up or refuse the bytes.

    rawhttp.py send HOST:PORT FILE|-     send bytes (\\r\\n escapes allowed),
                                          print everything until close or 3 s
    rawhttp.py status HOST:PORT FILE|-   the first status code, then whether
                                          the server closed ("closed"/"open")
    rawhttp.py halfclose HOST:PORT FILE|- as status, but shut the write side
                                          after sending (the client is done)
    rawhttp.py slowloris HOST:PORT SECS  send a head one byte per 0.5 s;
                                          print the status when it ends
    rawhttp.py ws HOST:PORT HOST PATH [HEADER]  WebSocket echo of a short
                                          and a 70 000-byte message: "ws ok"
                                          or why; HEADER ("Name: value") added
"""
import base64
import os
import socket
import struct
import sys
import time


def conn(hp):
    h, p = hp.rsplit(":", 1)
    return socket.create_connection((h.strip("[]"), int(p)), timeout=10)


def data(arg):
    raw = sys.stdin.buffer.read() if arg == "-" else open(arg, "rb").read()
    return raw.replace(b"\\r\\n", b"\r\n")


def read_all(s, limit=3.0):
    s.settimeout(limit)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return out, True
            out += d
    except socket.timeout:
        return out, False
    except ConnectionResetError:
        return out, True


def main():
    cmd, hp = sys.argv[1], sys.argv[2]
    if cmd in ("send", "status", "halfclose"):
        s = conn(hp)
        s.sendall(data(sys.argv[3]))
        if cmd == "halfclose":
            s.shutdown(socket.SHUT_WR)
            cmd = "status"
        out, closed = read_all(s)
        if cmd == "send":
            sys.stdout.buffer.write(out)
        else:
            first = out.split(b"\r\n", 1)[0].split(b" ")
            print(first[1].decode() if len(first) > 1 else "none", "closed" if closed else "open")
    elif cmd == "slowloris":
        s = conn(hp)
        msg = b"GET / HTTP/1.1\r\nHost: slow\r\nX-Pad: " + b"a" * 200
        end = time.time() + float(sys.argv[3])
        got = b""
        try:
            for b in msg:
                if time.time() > end:
                    break
                s.send(bytes([b]))
                s.settimeout(0.5)
                try:
                    got = s.recv(4096)  # an answer (or a close) ends it
                    break
                except socket.timeout:
                    pass
        except (BrokenPipeError, ConnectionResetError):
            pass
        print(got.split(b"\r\n", 1)[0].decode() or "closed without an answer")
    elif cmd == "ws":
        host, path = sys.argv[3], sys.argv[4]
        extra = sys.argv[5] + "\r\n" if len(sys.argv) > 5 else ""
        s = conn(hp)
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n%s"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, host, extra, key)).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = s.recv(4096)
            if not d:
                print("closed before 101")
                return
            buf += d
        head, rest = buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            print("no 101: " + head.split(b"\r\n")[0].decode())
            return
        for msg in (b"hello", os.urandom(70000)):
            m = os.urandom(4)
            l = len(msg)
            h = bytes([0x82])
            h += bytes([0x80 | l]) if l < 126 else bytes([0x80 | 126]) + struct.pack(">H", l) if l < 65536 else \
                bytes([0x80 | 127]) + struct.pack(">Q", l)
            s.sendall(h + m + bytes(b ^ m[i % 4] for i, b in enumerate(msg)))
            need = l + (2 if l < 126 else 4 if l < 65536 else 10)
            while len(rest) < need:
                d = s.recv(65536)
                if not d:
                    print("closed mid-echo")
                    return
                rest += d
            if rest[need - l:need] != msg:
                print("echo differs")
                return
            rest = rest[need:]
        print("ws ok")


if __name__ == "__main__":
    main()
