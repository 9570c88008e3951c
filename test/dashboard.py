#!/usr/bin/env python3
"""test/dashboard.py WEB CTL OUTDIR - the dashboard in a real browser, for
test/e2e_dashboard.sh: Debian's chromium, headless, driven through the
DevTools protocol over --remote-debugging-pipe (fds 3 and 4: no websocket,
no port, nothing beyond the standard library). Loads
http://127.0.0.1:WEB/dashboard/, reads the rendered DOM, searches, changes
an Ingress on the stand-in API server (control port CTL) and waits for the
page to show it, looks at it phone-sized; screenshots in OUTDIR. Prints
"ok TEXT" or "FAIL TEXT" per check; the console's errors and CSP
violations are checks too."""
import base64
import fcntl
import json
import os
import subprocess
import sys
import time
import urllib.request

WEB, CTL, OUT = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
URL = "http://127.0.0.1:%d/dashboard/" % WEB
REFRESH_MS = 3000  # dashboard/index.html's REFRESH


def say(good, text):
    print(("ok   " if good else "FAIL ") + text, flush=True)
    return good


class Chrome:
    """One headless chromium; send() runs a DevTools command, events are kept."""

    def __init__(self, profile):
        to_c, self.w = os.pipe()
        self.r, from_c = os.pipe()
        # out of the way of 3 and 4, which the child's dup2 makes
        a, b = (fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_c, from_c))
        os.close(to_c)
        os.close(from_c)

        def child():
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.log = open(os.path.join(profile, "chromium.log"), "wb")
        self.p = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--user-data-dir=" + profile, "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars",
             "--window-size=1280,900", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, preexec_fn=child, close_fds=False)
        os.close(a)
        os.close(b)
        self.buf = b""
        self.n = 0
        self.events = []
        self.session = None

    def _read(self, deadline):
        while b"\0" not in self.buf:
            if time.time() > deadline:
                raise TimeoutError("chromium did not answer")
            fcntl.fcntl(self.r, fcntl.F_SETFL, os.O_NONBLOCK)
            try:
                chunk = os.read(self.r, 1 << 20)
            except BlockingIOError:
                time.sleep(0.02)
                continue
            if not chunk:
                raise EOFError("chromium exited")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, browser=False, timeout=30):
        self.n += 1
        m = {"id": self.n, "method": method, "params": params or {}}
        if self.session and not browser:
            m["sessionId"] = self.session
        os.write(self.w, json.dumps(m).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            r = self._read(deadline)
            if r.get("id") == self.n:
                if "error" in r:
                    raise RuntimeError("%s: %s" % (method, r["error"]))
                return r.get("result", {})
            self.events.append(r)

    def pump(self, seconds):
        """Keeps reading events for a while (the page runs meanwhile)."""
        end = time.time() + seconds
        while time.time() < end:
            try:
                self.events.append(self._read(min(end, time.time() + 0.1)))
            except TimeoutError:
                pass

    def js(self, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError("page script: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def close(self):
        try:
            self.send("Browser.close", browser=True, timeout=5)
        except Exception:
            pass
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()


# the rows of a table as [[text, class], ...] per cell
ROWS = """(id) => [...document.querySelectorAll('#' + id + ' tbody tr')].map(
    (tr) => [...tr.cells].map((td) => [td.textContent, td.className]))"""


def rows(c, table):
    return c.js("(%s)(%s)" % (ROWS, json.dumps(table)))


def row(c, table, col, text):
    """The first row whose cell col is text."""
    return next((r for r in rows(c, table) if r[col][0] == text), None)


def fetched(c):
    return int(c.js("(document.body && document.body.dataset.fetched) || 0"))


def settle(c, after_ms, timeout):
    """Waits for a render of data asked for after after_ms (epoch ms)."""
    end = time.time() + timeout
    while time.time() < end:
        if fetched(c) > after_ms:
            return True
        c.pump(0.1)
    return False


def kapply(yaml):
    req = urllib.request.Request("http://127.0.0.1:%d/objects" % CTL, data=yaml.encode(), method="POST",
                                 headers={"Content-Type": "application/yaml"})
    urllib.request.urlopen(req, timeout=5).read()


def api_has(text):
    with urllib.request.urlopen("http://127.0.0.1:%d/api/providers" % WEB, timeout=5) as r:
        return text in r.read().decode()


def shot(c, name):
    m = c.send("Page.getLayoutMetrics")["cssContentSize"]
    png = c.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                            "clip": {"x": 0, "y": 0, "width": m["width"], "height": m["height"],
                                                     "scale": 1}})["data"]
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(base64.b64decode(png))
    return say(os.path.getsize(path) > 10000, "screenshot %s (%d bytes)" % (path, os.path.getsize(path)))


def main():
    profile = os.environ.get("T_TMP", "/tmp") + "/chromium"
    os.makedirs(profile, exist_ok=True)
    c = Chrome(profile)
    try:
        run(c)
    finally:
        c.close()


def run(c):
    t = c.send("Target.createTarget", {"url": "about:blank"}, browser=True)
    c.session = c.send("Target.attachToTarget", {"targetId": t["targetId"], "flatten": True}, browser=True)["sessionId"]
    for d in ("Page", "Runtime", "Log"):
        c.send(d + ".enable")
    # CSP violations as the page sees them (scripts the debugger adds are not under its CSP)
    c.send("Page.addScriptToEvaluateOnNewDocument", {"source": "window.__csp = []; document.addEventListener("
                                                     "'securitypolicyviolation', (e) => __csp.push(e.violatedDirective"
                                                     " + ' ' + e.blockedURI));"})
    t0 = time.time() * 1000
    c.send("Page.navigate", {"url": URL})
    if not say(settle(c, t0, 15), "the page loads and renders the data"):
        print("page text: %r" % c.js("document.body ? document.body.innerText.slice(0, 2000) : ''"))
        for e in c.events:
            if e.get("method") in ("Runtime.exceptionThrown", "Log.entryAdded", "Runtime.consoleAPICalled"):
                print("event: %s" % json.dumps(e.get("params"))[:500])
        return
    say(c.js("document.title") == "ingressd", "title ingressd")
    facts = c.js("document.getElementById('facts').textContent")
    say("v0.1.0" in facts and "RSS" in facts and "up " in facts, "version, uptime, RSS: " + facts)

    # routes: the whitelist, the invalid whitelist, the tripped breaker
    r = row(c, "routes", 0, "web.test")
    say(r is not None and r[3][0] == "t/web" and "whitelist 127.0.0.0/8" in r[7][0] and r[8][1] == "ok",
        "web.test: Ingress t/web, whitelist 127.0.0.0/8, state ok: %s" % r)
    r = row(c, "routes", 0, "badwl.test")
    say(r is not None and "invalid" in r[7][0] and r[8][1] == "bad" and "403" in r[8][0],
        "badwl.test: invalid whitelist, state bad (403): %s" % r)
    r = row(c, "routes", 0, "brk.test")
    say(r is not None and "breaker tripped" in r[8][0] and r[8][1] == "bad", "brk.test: breaker tripped: %s" % r)
    r = row(c, "routes", 0, "secure.test")
    say(r is not None and "unsupported: nginx.ingress.kubernetes.io/proxy-read-timeout" in r[7][0],
        "secure.test: the unsupported annotation: %s" % r)
    r = row(c, "routes", 0, "prio.test")
    say(r is not None and r[2][0] == "PrefixStrip" and r[4][0] == "7", "prio.test: rule type PrefixStrip, priority 7: %s" % r)

    # backends
    b = row(c, "backends", 0, "t/brk:80")
    say(b is not None and b[4][0].startswith("tripped") and b[4][1] == "bad" and "down" in b[9][0],
        "backend t/brk:80: breaker tripped, down: %s" % b)
    b = row(c, "backends", 0, "t/s1:80")
    say(b is not None and "127.0.0.1:" in b[1][0] and "\u00d71" in b[1][0] and b[9][1] == "ok" and "cookie" in b[3][0],
        "backend t/s1:80: its server up with weight 1, sticky: %s" % b)

    # skipped, certificates, watch, problems
    s = row(c, "skipped", 0, "t/broken")
    say(s is not None and "unknown rule type" in s[3][0], "t/broken skipped: unknown rule type: %s" % s)
    k = next((x for x in rows(c, "certs") if "secure.test" in x[1][0]), None)
    say(k is not None and "(5 days)" in k[2][0] and k[2][1] == "bad", "secure.test's certificate: 5 days, warned: %s" % k)
    k = row(c, "certs", 0, "t/missing")
    say(k is not None and "Secret not found" in k[2][0] and "nocert.test" in k[1][0],
        "t/missing: Secret not found, for nocert.test: %s" % k)
    w = rows(c, "watch")
    say(sorted(x[0][0] for x in w) == ["endpoints", "ingress", "secret", "service"] and
        all(x[1][0] == "yes" for x in w) and all(x[4][0].endswith(" ago") for x in w if x[0][0] != "secret"),
        "watch: four kinds, synced, last events: %s" % w)
    prob = c.js("[...document.querySelectorAll('#prob li')].map((li) => li.textContent).join(' | ')")
    say("breaker tripped" in prob and "skipped" in prob and "expires in 5 days" in prob and "Secret not found" in prob,
        "problems listed: " + prob)

    # per-backend rates once two samples are a few seconds apart (traffic runs meanwhile)
    end, b = time.time() + 4 * REFRESH_MS / 1000, None
    while time.time() < end:
        b = row(c, "backends", 0, "t/s1:80")
        if b and b[5][0] not in ("-", "0.00") and b[7][0].endswith("ms"):
            break
        c.pump(0.5)
    say(b is not None and b[5][0] not in ("-", "0.00") and b[6][0] == "0.0%" and b[7][0].endswith("ms") and
        b[8][0].endswith("ms"), "t/s1:80: req/s, error rate, p50, p99: %s" % b[5:9])

    # the search box filters hosts
    c.js("(() => { const q = document.getElementById('q'); q.value = 'badwl'; q.dispatchEvent(new Event('input')); })()")
    say([x[0][0] for x in rows(c, "routes")] == ["badwl.test"], "search 'badwl': only badwl.test")
    c.js("(() => { const q = document.getElementById('q'); q.value = ''; q.dispatchEvent(new Event('input')); })()")
    say(len(rows(c, "routes")) >= 5, "search cleared: every route")
    shot(c, "dashboard.png")

    # a change on the API server shows within one refresh
    kapply("""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: late, namespace: t}
spec:
  rules:
  - host: late.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: s1, port: {number: 80}}}}
""")
    end = time.time() + 5
    while not api_has("late.test") and time.time() < end:
        time.sleep(0.05)
    t0 = time.time() * 1000
    say(api_has("late.test"), "late.test in /api/providers")
    # the first render of data asked for after that must show it
    ok = settle(c, t0, 2 * REFRESH_MS / 1000)
    say(ok and row(c, "routes", 0, "late.test") is not None,
        "late.test on the page at the next refresh, %.1f s after /api/providers had it (refresh %.1f s)" %
        (time.time() - t0 / 1000, REFRESH_MS / 1000))

    csp = c.js("window.__csp")  # this load's; the reload below starts a new list
    # a phone: no sideways scrolling, rows as cards
    c.send("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    t0 = time.time() * 1000
    c.send("Page.reload")
    settle(c, t0, 15)
    wide = c.js("[document.documentElement.scrollWidth, window.innerWidth]")
    say(wide[0] <= wide[1], "phone-sized: no sideways scrolling (%s)" % wide)
    say(c.js("getComputedStyle(document.querySelector('#routes tbody tr')).display") == "block", "phone-sized: rows as cards")
    shot(c, "dashboard-phone.png")

    # the console: no error, no CSP violation
    c.pump(0.5)
    errs = []
    for e in c.events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.exceptionThrown":
            errs.append("exception: %s" % p["exceptionDetails"].get("text"))
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
            errs.append("console.%s: %s" % (p["type"], [a.get("value") for a in p.get("args", [])]))
        elif m == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
            errs.append("%s: %s" % (p["entry"]["source"], p["entry"]["text"]))
    say(not errs, "no console errors or warnings: %s" % errs)
    csp += c.js("window.__csp")
    say(csp == [], "no CSP violation: %s" % csp)


if __name__ == "__main__":
    main()
