#!/usr/bin/env python3
"""test/authd.py - a forward-auth service for the end-to-end tests, that
answers as Authelia (Traefik's auth-type forward) and oauth2-proxy (nginx's
auth-url) do. Python stdlib only.

    python3 test/authd.py --listen 127.0.0.1:PORT

Paths (the query is ignored):
    /verify        Authelia-like: Cookie sess=ok -> 200 with Remote-User,
                   Remote-Groups, Remote-Email and a refreshed Set-Cookie;
                   sess=forbidden -> 403; else 302 to the login page with
                   rd=X-Forwarded-Proto://X-Forwarded-Host X-Forwarded-Uri
    /oauth2/auth   oauth2-proxy-like: Cookie _oauth2=ok -> 202 with
                   X-Auth-Request-User, -Email and Set-Cookie; else 401
                   with WWW-Authenticate
    /chunked-deny  401 with a chunked body
    /close-deny    403 with a body ended by the close
    /big-ok        200 with a 64 KB body
    /error         500
    /redirect      302 (nginx maps it to 500)
    /slow          waits 5 s, then 200
    /_last         JSON of the last request above (method, path, headers,
                   body bytes read) and how many connections and requests
                   it has had; /_reset clears them
"""
import argparse
import http.server
import json
import socketserver
import threading
import time

LOCK = threading.Lock()
STATE = {"last": None, "conns": 0, "requests": 0}


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def setup(self):
        super().setup()
        with LOCK:
            STATE["conns"] += 1

    def send(self, code, headers=(), body=b"", chunked=False, close=False):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif close:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if chunked:
            for i in range(0, len(body), 5):
                part = body[i:i + 5]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)

    def handle_one(self):
        path = self.path.split("?")[0]
        if path in ("/_last", "/_reset"):
            with LOCK:
                if path == "/_reset":
                    STATE.update(last=None, conns=0, requests=0)
                out = json.dumps(STATE).encode()
            return self.send(200, [("Content-Type", "application/json")], out)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        with LOCK:
            STATE["requests"] += 1
            STATE["last"] = {"method": self.command, "path": self.path, "body": len(body),
                             "headers": [[k, v] for k, v in self.headers.items()]}
        cookie = self.headers.get("Cookie", "")
        if path == "/verify":
            if "sess=ok" in cookie:
                return self.send(200, [("Remote-User", "alice"), ("Remote-Groups", "admins,dev"),
                                       ("Remote-Email", "alice@example.test"), ("Set-Cookie", "sess=ok2; Path=/")], b"ok")
            if "sess=forbidden" in cookie:
                return self.send(403, [("Content-Type", "text/plain")], b"forbidden by policy\n")
            rd = "%s://%s%s" % (self.headers.get("X-Forwarded-Proto", ""), self.headers.get("X-Forwarded-Host", ""),
                                self.headers.get("X-Forwarded-Uri", ""))
            return self.send(302, [("Location", "https://login.test/?rd=" + rd), ("Set-Cookie", "auth_flow=1"),
                                   ("Content-Type", "text/html"), ("X-Custom", "kept")], b"<a>Found</a>\n")
        if path == "/oauth2/auth":
            if "_oauth2=ok" in cookie:
                return self.send(202, [("X-Auth-Request-User", "bob"), ("X-Auth-Request-Email", "bob@example.test"),
                                       ("Set-Cookie", "_oauth2=refreshed; Path=/")])
            return self.send(401, [("WWW-Authenticate", 'Bearer realm="sso"'), ("Set-Cookie", "_oauth2_csrf=1")],
                             b"unauthorized\n")
        if path == "/chunked-deny":
            return self.send(401, [("Content-Type", "text/plain")], b"denied in chunks\n", chunked=True)
        if path == "/close-deny":
            return self.send(403, [("Content-Type", "text/plain")], b"closed body\n", close=True)
        if path == "/big-ok":
            return self.send(200, [("Remote-User", "big")], b"x" * 65536)
        if path == "/error":
            return self.send(500, [], b"boom\n")
        if path == "/redirect":
            return self.send(302, [("Location", "https://elsewhere.test/")])
        if path == "/slow":
            time.sleep(5)
            return self.send(200)
        return self.send(404, [], b"no such auth path\n")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_one


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    a = ap.parse_args()
    h, p = a.listen.rsplit(":", 1)
    S((h, int(p)), H).serve_forever()


if __name__ == "__main__":
    main()
