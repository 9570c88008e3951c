#!/usr/bin/env python3
"""test/backend.py - a real HTTP/1.1 backend for the end-to-end tests and
the demo (Python stdlib only).

    python3 test/backend.py --listen 127.0.0.1:PORT [--name NAME] [--listen ...]

Every response carries `X-Backend: NAME`. Paths:
    /echo...          text: name, method, path, and every request header
    /bytes/N          N bytes of a repeating pattern, Content-Length
    /chunked/N        N bytes, Transfer-Encoding: chunked (8 KB chunks)
    /close/N          N bytes, no length: ends by closing the connection
    /count            reads the request body (length or chunked) and
                      answers "<bytes> <sha256>"
    /status/N         answers status N (a 5xx counts for the balancer)
    /slow/MS          sleeps MS milliseconds, then answers
    /reset            sends a head and half a body, then resets the TCP connection
    /ws               WebSocket echo (RFC 6455 text and binary frames)
    /cookie           echoes the Cookie header
    /drop-next        answers; the next request on the same connection is
                      read and the connection closed without an answer
    anything else     "NAME PATH" (the cheese demo)
With --fail-file PATH, every answer is 500 while PATH exists (a pod that
starts failing, for the drr tests). With --tls CERT:KEY it speaks HTTPS
only (an HTTPS pod): /echo adds the SNI name the client sent, and
/tls-stats answers "handshakes N resumed M" (sessions the clients resumed).
"""
import argparse
import base64
import hashlib
import http.server
import os
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time

PATTERN = bytes(range(256)) * 64  # 16 KB


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "backend/1"
    disable_nagle_algorithm = True  # head and body are separate writes: no 40 ms delayed-ACK stall

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, body, ctype="text/plain", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", self.server.name)
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_body(self):
        h = hashlib.sha256()
        n = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    d = self.rfile.read(min(left, 65536))
                    if not d:
                        raise ConnectionError("short chunk")
                    h.update(d)
                    n += len(d)
                    left -= len(d)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", "0") or 0)
            while left:
                d = self.rfile.read(min(left, 65536))
                if not d:
                    raise ConnectionError("short body")
                h.update(d)
                n += len(d)
                left -= len(d)
        return n, h.hexdigest()

    def _stream(self, n, chunked=False, close=False):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("X-Backend", self.server.name)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif close:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(n))
        self.end_headers()
        if self.command == "HEAD":
            return
        sent = 0
        while sent < n:
            k = min(8192 if chunked else len(PATTERN), n - sent)
            d = PATTERN[:k]
            if chunked:
                self.wfile.write(b"%x\r\n" % k + d + b"\r\n")
            else:
                self.wfile.write(d)
            sent += k
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _ws(self):
        key = self.headers.get("Sec-WebSocket-Key", "")
        acc = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", acc)
        self.send_header("X-Backend", self.server.name)
        self.end_headers()
        self.wfile.flush()
        r = self.rfile
        while True:
            hdr = r.read(2)
            if len(hdr) < 2:
                return
            op = hdr[0] & 0x0F
            ln = hdr[1] & 0x7F
            if ln == 126:
                ln = struct.unpack(">H", r.read(2))[0]
            elif ln == 127:
                ln = struct.unpack(">Q", r.read(8))[0]
            mask = r.read(4) if hdr[1] & 0x80 else b"\0\0\0\0"
            data = bytearray(r.read(ln))
            for i in range(len(data)):
                data[i] ^= mask[i % 4]
            if op == 8:  # close
                self.wfile.write(b"\x88\x00")
                return
            out = bytes([0x80 | op])
            if len(data) < 126:
                out += bytes([len(data)])
            elif len(data) < 65536:
                out += bytes([126]) + struct.pack(">H", len(data))
            else:
                out += bytes([127]) + struct.pack(">Q", len(data))
            self.wfile.write(out + bytes(data))
            self.wfile.flush()

    def _route(self):
        p = self.path.split("?")[0]
        name = self.server.name
        if self.server.fail_file and os.path.exists(self.server.fail_file):
            return self._send(500, ("%s failing\n" % name).encode())
        if getattr(self, "drop_next", False):  # a keep-alive connection the server gave up on
            self.close_connection = True
            return None
        if p == "/drop-next":
            self.drop_next = True
            return self._send(200, ("%s drop-next\n" % name).encode())
        if p.startswith("/echo"):
            lines = ["backend=%s" % name, "method=%s" % self.command, "path=%s" % self.path,
                     "peer=%s:%d" % self.client_address[:2]]
            if self.server.ctx is not None:
                lines.append("tls-sni=%s" % getattr(self.connection, "sni", None))
            lines += ["%s: %s" % (k, v) for k, v in self.headers.items()]
            return self._send(200, ("\n".join(lines) + "\n").encode())
        if p.startswith("/bytes/"):
            return self._stream(int(p[7:]))
        if p.startswith("/chunked/"):
            return self._stream(int(p[9:]), chunked=True)
        if p.startswith("/close/"):
            return self._stream(int(p[7:]), close=True)
        if p == "/count":
            n, digest = self._read_body()
            return self._send(200, ("%d %s\n" % (n, digest)).encode())
        if p.startswith("/status/"):
            return self._send(int(p[8:]), ("%s status\n" % name).encode())
        if p.startswith("/slow/"):
            time.sleep(int(p[6:]) / 1000.0)
            return self._send(200, ("%s slow\n" % name).encode())
        if p == "/reset":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(PATTERN[:5000])
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return None
        if p == "/ws":
            return self._ws()
        if p == "/tls-stats":
            return self._send(200, ("handshakes %d resumed %d\n" % (self.server.handshakes, self.server.resumed)).encode())
        if p == "/cookie":
            return self._send(200, ("%s cookie=%s\n" % (name, self.headers.get("Cookie", ""))).encode())
        return self._send(200, ("%s %s\n" % (name, self.path)).encode())

    def do_GET(self):
        self._route()

    def do_HEAD(self):
        self._route()

    def do_POST(self):
        if self.path.split("?")[0] != "/count":
            self._read_body()
        self._route()

    do_PUT = do_POST
    do_DELETE = do_GET
    do_OPTIONS = do_GET


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    ctx = None
    handshakes = resumed = 0
    lock = threading.Lock()

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ctx is not None:  # the handshake runs in the connection's thread
            sock = self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request, client_address):
        if self.ctx is not None:
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return
            with self.lock:
                self.handshakes += 1
                self.resumed += 1 if request.session_reused else 0
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", action="append", required=True, help="IP:PORT (repeatable)")
    ap.add_argument("--name", default="backend")
    ap.add_argument("--fail-file", default="", help="answer 500 while this file exists")
    ap.add_argument("--tls", default="", help="CERT:KEY: speak HTTPS only")
    a = ap.parse_args()
    ctx = None
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*a.tls.split(":", 1))
        ctx.sni_callback = lambda sock, name, _ctx: setattr(sock, "sni", name)
    servers = []
    for l in a.listen:
        host, port = l.rsplit(":", 1)
        s = Server((host.strip("[]"), int(port)), Handler)
        s.name = a.name
        s.fail_file = a.fail_file
        s.ctx = ctx
        servers.append(s)
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("backend %s: listening on %s" % (a.name, " ".join(a.listen)), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
