#!/usr/bin/env python3
"""report.py - the results table of `make bench` from build/bench/raw.txt.

    python3 test/bench/report.py RAW OUT.md

Prints markdown on stdout and writes it to OUT.md. RAW holds one record a
line, written by test/bench/run.sh:
    kv KEY VALUE...                       machine, versions, single numbers
    note SECTION TEXT...                  shown under the tables
    wrk SECTION NAME ROUND k=v...         one wrk run (wrkparse.py + cpu_ns)
    list empty|list ROUND k=v...          listbench.py
    decode KIND k=v... / rebuild k=v...   decode_bench
    stall k=v...                          stall_probe.py
    malloc ROUTE allocs=N requests=M      malloc_count.so
    idle LABEL N k=v...                   idle_conns.py (LABEL: epoll, poll, big)
    upconn SECTION NAME ROUND k=v...      TLS handshakes counted at F's backend
    authsvc SECTION NAME ROUND k=v...     G's auth service during one run
Ratios are medians of per-round ratios (each round runs every target back
to back, so a noisy neighbour hits both sides of a ratio alike).
"""
import statistics
import sys

# goals from the issues: (section, key) -> (label, op, bound)
MB = 1024.0


def kvs(fields):
    d = {}
    for f in fields:
        k, _, v = f.partition("=")
        try:
            d[k] = float(v)
        except ValueError:
            d[k] = v
    return d


def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def fmt(x, nd=2):
    if x is None:
        return "n/a"
    if isinstance(x, str):
        return x
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{nd}f}"


def met(value, op, bound):
    if value is None:
        return "n/a"
    ok = value >= bound if op == ">=" else value <= bound if op == "<=" else value < bound
    return "met" if ok else "**NOT met**"


def main():
    raw, outp = sys.argv[1], sys.argv[2]
    kv, notes, wrk, lists, decode, stall, mallocs, idle = {}, [], {}, {}, {}, None, {}, None
    rebuild = snap = snap_load = None
    upconn = {}
    authsvc = {}
    with open(raw) as f:
        for line in f:
            p = line.rstrip("\n").split(" ")
            if not p or not p[0]:
                continue
            t = p[0]
            if t == "kv":
                kv[p[1]] = " ".join(p[2:])
            elif t == "note":
                notes.append((p[1], " ".join(p[2:])))
            elif t == "wrk":
                d = kvs(p[4:])
                wrk.setdefault((p[1], p[2]), []).append((int(p[3]), d))
            elif t == "list":
                lists.setdefault(p[1], []).append(kvs(p[3:]))
            elif t == "decode":
                decode[p[1]] = kvs(p[2:])
            elif t == "rebuild":
                rebuild = kvs(p[1:])
            elif t == "snapshot":
                snap = kvs(p[1:])
            elif t == "snapshot_load":
                snap_load = kvs(p[1:])
            elif t == "stall":
                stall = stall or {}
                stall[p[1]] = kvs(p[2:])
            elif t == "malloc":
                mallocs[p[1]] = kvs(p[2:])
            elif t == "idle":  # idle LABEL N k=v...
                idle = idle or {}
                idle[p[1]] = kvs(p[3:])
                idle[p[1]]["n"] = int(p[2])
            elif t == "upconn":
                upconn.setdefault((p[1], p[2]), []).append((int(p[3]), kvs(p[4:])))
            elif t == "authsvc":
                authsvc.setdefault((p[1], p[2]), []).append((int(p[3]), kvs(p[4:])))

    out = []
    w = out.append

    def allruns(sec, name):
        return [d for _, d in wrk.get((sec, name), [])]

    def runs(sec, name):
        """round -> the runs of that round averaged (B runs plain twice a round)"""
        by = {}
        for rnd, d in wrk.get((sec, name), []):
            by.setdefault(rnd, []).append(d)
        return {rnd: {k: statistics.mean(x[k] for x in ds) for k in ds[0] if isinstance(ds[0][k], float)}
                for rnd, ds in by.items()}

    def m(sec, name, key):
        return med([r.get(key) for r in allruns(sec, name)])

    def cpu_us(sec, name):
        return med([r["cpu_ns"] / 1000 / r["requests"] for r in allruns(sec, name)
                    if r.get("requests") and r.get("cpu_ns")])

    def paired(sec, a, b, key="rps"):
        ra, rb = runs(sec, a), runs(sec, b)
        v = [ra[k][key] / rb[k][key] for k in sorted(ra) if k in rb and rb[k].get(key)]
        return med(v), v

    def bad(sec, name):
        n2 = sum(int(r.get("non2xx", 0)) for r in allruns(sec, name))
        se = sum(int(r.get("sockerr", 0)) for r in allruns(sec, name))
        s = []
        if n2:
            s.append(f"{n2} non-2xx")
        if se:
            s.append(f"{se} socket errors")
        return ", ".join(s)

    w("# ingressd benchmark (`make bench`)")
    w("")
    w(f"- Machine: {kv.get('machine.nproc', '?')} CPUs, {kv.get('machine.cpu', '?')}, "
      f"{kv.get('machine.mem_mb', '?')} MB RAM, Linux {kv.get('machine.kernel', '?')}; "
      f"load average at start {kv.get('machine.load_start', '?')}, at end {kv.get('machine.load_end', '?')} "
      f"(shared machine: compare within this run only)")
    times = ", ".join(f"{k[5:]} {v} s" for k, v in kv.items() if k.startswith("time."))
    w(f"- Date: {kv.get('machine.date', '?')}; run took {kv.get('runtime_s', '?')} s ({times})")
    w(f"- Versions: {kv.get('version.ingressd', '?')} (commit {kv.get('version.commit', '?')}), "
      f"nginx {kv.get('version.nginx', '?')}, HAProxy {kv.get('version.haproxy', '?')}, wrk {kv.get('version.wrk', '?')}")
    w(f"- Settings: {kv.get('settings', '?')}; everything on 127.0.0.1; backend: nginx, 1 worker, "
      f"30-byte fixed body")
    w("")

    goals = []  # (section, what, value text, goal text, status)

    # ---- A
    if any(s == "A" for s, _ in wrk):
        nr = max(len(runs("A", n)) for n in ("ingressd", "nginx", "haproxy"))
        w(f"## A. Proxy throughput (issue 4): wrk -t1 -c{kv.get('settings', '').split('-c')[1].split(';')[0] if '-c' in kv.get('settings', '') else '64'}, keep-alive, median of {nr} interleaved rounds")
        w("")
        w("| proxy | req/s | p50 ms | p99 ms | CPU µs/request | peak RSS (VmHWM) | req/s of each round | errors |")
        w("|---|---:|---:|---:|---:|---:|---|---|")
        for name, label in (("ingressd", "ingressd"), ("nginx", "nginx (proxy, 1 worker)"), ("haproxy", "HAProxy (nbthread 1)")):
            if not runs("A", name):
                continue
            rss = kv.get(f"A.rss.{name}")
            rs = ", ".join(fmt(runs("A", name)[k]["rps"]) for k in sorted(runs("A", name)))
            w(f"| {label} | {fmt(m('A', name, 'rps'))} | {fmt(m('A', name, 'p50_ms'), 3)} | {fmt(m('A', name, 'p99_ms'), 3)} "
              f"| {fmt(cpu_us('A', name), 1)} | {fmt(float(rss) / MB, 1) + ' MB' if rss else 'n/a'} | {rs} | {bad('A', name)} |")
        w("")
        w("nginx's RSS is its worker (master: "
          f"{fmt(float(kv['A.rss.nginx_master']) / MB, 1) if kv.get('A.rss.nginx_master') else '?'} MB more). "
          "CPU µs/request = the proxy's on-CPU time during the run (schedstat, all threads) / requests: "
          "less sensitive to the neighbours than req/s.")
        w("")
        for other, lab in (("nginx", "nginx"), ("haproxy", "HAProxy")):
            if not runs("A", other):
                continue
            r, v = paired("A", "ingressd", other)
            p, pv = paired("A", "ingressd", other, "p99_ms")
            c = None
            ci, co = cpu_us("A", "ingressd"), cpu_us("A", other)
            if ci and co:
                c = ci / co
            each = ", ".join(fmt(x) for x in v)
            if other == "nginx":
                s1, s2 = met(r, ">=", 1.3), met(1 / c if c else None, ">=", 1.3)
                st = s1 if s1 == s2 else f"unclear (noise): req/s {s1.strip('*')}, CPU {s2.strip('*')}"
                goals.append(("A", "throughput ingressd / nginx", f"{fmt(r)} (rounds: {each}; by CPU/request: "
                              f"{fmt(1 / c if c else None)})", ">= 1.3 (issue 20)", st))
                goals.append(("A", "p99 ingressd / nginx", f"{fmt(p)} (rounds: {', '.join(fmt(x) for x in pv)})", "<= 0.9 (issue 20)", met(p, "<=", 0.9)))
                goals.append(("A", "CPU per request ingressd / nginx", fmt(c), "(reported; < 1 = cheaper)", "-"))
            else:
                goals.append(("A", "throughput ingressd / HAProxy", f"{fmt(r)} (rounds: {each})", "(reported)", "-"))
                goals.append(("A", "p99 ingressd / HAProxy", f"{fmt(p)} (rounds: {', '.join(fmt(x) for x in pv)})", "(reported)", "-"))
                goals.append(("A", "CPU per request ingressd / HAProxy", fmt(c), "(reported)", "-"))

    # ---- B
    if any(s == "B" for s, _ in wrk):
        nr = len(runs("B", "plain"))
        w(f"## B. ingressd variants (issues 5, 6, 7): ratio to plain ingressd, median of {nr} rounds")
        w("")
        w("| variant | req/s | p99 ms | ratio to plain (req/s; each round) | goal | status | CPU µs/request | ratio by CPU (plain CPU / variant CPU) | errors |")
        w("|---|---:|---:|---|---|---|---:|---:|---|")
        rows = [("plain", "plain route", None, None),
                ("sticky", "sticky cookie, new clients (Set-Cookie on every answer)", ">=", 0.95),
                ("sticky_cookie", "sticky cookie presented by the client", ">=", 0.95),
                ("breaker", "circuit breaker `NetworkErrorRatio() > 0.5`", ">=", 0.95),
                ("whitelist", "whitelist 127.0.0.0/8", ">=", 0.9),
                ("headers", "5 custom response headers + HSTS (force-hsts, so over plain HTTP)", ">=", 0.95),
                ("ratelimit", "rate limit that never trips (nginx `limit-rps: \"1000000\"`; a client's bucket checked on every request)", ">=", 0.95),
                ("trl", "Traefik `rate-limit` that never trips (request.header.X-Key: a salted SHA-256 of the value per request)", ">=", 0.95),
                ("rewrite", "Traefik `rewrite-target: /rw` on path / (the path rewritten, normalized again, X-Replaced-Path)", ">=", 0.95),
                ("redirect", "Traefik `redirect-regex` that never matches (the regex run on scheme://Host+URI every request)", ">=", 0.95),
                ("canary", "nginx canary on the route (by a header not sent, then canary-weight 50: a draw per request between two Services)", ">=", 0.95),
                ("pp", "entry point with PROXY protocol on (trustedIPs 127.0.0.1; wrk sends no header: the optional header looked for once per connection)", ">=", 0.95),
                ("haproxy_plain", "HAProxy (mode tcp) in front of the plain entry point: base of the next row", None, None),
                ("pp_haproxy", "HAProxy send-proxy-v2 to the PROXY entry point, ratio to the row above (header parsed once per connection)", ">=", 0.95),
                ("auth", "basic auth, bcrypt cost 10, cached", ">=", 0.9),
                ("accesslog", "access log on (file; second ingressd)", ">=", 0.95),
                ("metrics", "GET /metrics every second during the run", None, None)]
        for name, label, op, bound in rows:
            if not runs("B", name):
                continue
            base = "haproxy_plain" if name == "pp_haproxy" else "plain"
            r, v = paired("B", name, base) if name != "plain" else (1.0, [])
            cv, cp = cpu_us("B", name), cpu_us("B", base)
            cr = cp / cv if cv and cp else None
            status = "-"
            if op:
                s1, s2 = met(r, op, bound), met(cr, op, bound)
                status = s1 if s1 == s2 else f"unclear (noise): req/s {s1.strip('*')}, CPU {s2.strip('*')}"
            e = bad("B", name)
            if e and op:
                status = "**invalid** (errors)"
            if name == "headers" and not kv.get("B.headers_check", "").startswith("ok"):
                status = "**invalid** (headers missing)"
            if name == "ratelimit" and not kv.get("B.ratelimit_check", "").startswith("ok"):
                status = "**invalid** (no rate-limit state)"
            if name == "pp" and not kv.get("B.pp_check", "").startswith("ok"):
                status = "**invalid** (not a PROXY protocol entry point)"
            if name == "pp_haproxy" and not kv.get("B.pp_haproxy_check", "").startswith("ok"):
                status = "**invalid** (no PROXY header seen)"
            w(f"| {label} | {fmt(m('B', name, 'rps'))} | {fmt(m('B', name, 'p99_ms'), 3)} | {fmt(r)} "
              f"{'(' + ', '.join(fmt(x) for x in v) + ')' if v else ''} | {op + ' ' + str(bound) if op else '(reported)' if name != 'plain' else ''} "
              f"| {status} | {fmt(cv, 1)} | {fmt(cr) if name != 'plain' else ''} | {e} |")
            if op:
                goals.append(("B", label, f"{fmt(r)} (by CPU/request: {fmt(cr)})", f"{op} {bound}", status))
            elif name == "metrics":
                goals.append(("B", label, fmt(r), "(reported)", "-"))
        w("")
        w("Each round runs plain, half the variants, plain again, the other half (rotated per round); a variant's ratio "
          "in a round is to the mean of that round's two plain runs. The access-log row runs on a second ingressd "
          "(same binary and routes, `[accessLog] filePath` set). The PROXY protocol rows use a second entry point of the "
          "same ingressd (`[entryPoints.pp.proxyProtocol] trustedIPs = [\"127.0.0.1\"]`); the HAProxy pair runs back to back "
          "within a round, its ratio and CPU ratio to its own base (ingressd's CPU only). 'ratio by CPU' is the cross-check the neighbours on "
          "this shared machine disturb least: the proxy's own on-CPU time per request. Status: met / NOT met when "
          "both agree, else unclear.")
        w("")
        extra = []
        if kv.get("B.auth_first_ms"):
            extra.append(f"first authenticated request (bcrypt) {kv['B.auth_first_ms']} ms, next (cached) {kv.get('B.auth_cached_ms')} ms "
                         "(curl, incl. process start)")
        if kv.get("B.headers_check"):
            extra.append(f"header route checked before the runs (curl, 2 answers on one connection): {kv['B.headers_check']}")
        if kv.get("B.rewrite_check"):
            extra.append(f"Traefik rate-limit, rewrite and redirect routes checked before the runs: {kv['B.rewrite_check']}")
        if kv.get("B.ratelimit_check"):
            extra.append(f"rate-limit route checked before the runs: {kv['B.ratelimit_check']}; {kv.get('B.ratelimit_end', '')}")
        if kv.get("B.pp_check"):
            extra.append(f"PROXY entry point checked before the runs: {kv['B.pp_check']}")
        if kv.get("B.pp_haproxy_check"):
            extra.append(f"HAProxy in front of it: {kv['B.pp_haproxy_check']}")
        if kv.get("B.pp_counts"):
            extra.append(f"{kv['B.pp_counts']} (wrk keeps its {kv.get('settings', '').split('-c')[1].split(';')[0] if '-c' in kv.get('settings', '') else '64'} "
                         "connections open: the header path is per connection, not per request)")
        if kv.get("B.metrics_bytes"):
            extra.append(f"/metrics body {kv['B.metrics_bytes']} bytes")
        if kv.get("B.accesslog_lines"):
            extra.append(f"access log: {kv['B.accesslog_lines']} lines, {kv.get('B.accesslog_bytes')} bytes; first line: "
                         f"`{kv.get('B.accesslog_line', '')}`")
        for x in extra:
            w(f"- {x}")
        if extra:
            w("")
    if stall:
        w("### Loop stall: a burst of 20 wrong passwords (issue 6)")
        w("")
        w("A probe times GET / on a plain route every 10 ms over keep-alive while 20 clients send a wrong "
          "password to the bcrypt-10 route at the same moment: 20 different passwords (an attacker; no cache "
          "helps), then one wrong password 20 times. auth counters: deltas of `ingressd_auth_total` (when /metrics exists).")
        w("")
        w("| burst | probe before p50 / max | probe during p50 / max | probes during | burst answered in | ingressd CPU in the burst | burst answers | auth counters |")
        w("|---|---|---|---:|---:|---:|---|---|")
        for kind, d in stall.items():
            w(f"| {'20 different passwords' if kind == 'distinct' else 'one password 20 times'} "
              f"| {fmt(d.get('base_p50_ms'), 1)} / {fmt(d.get('base_max_ms'), 1)} ms "
              f"| {fmt(d.get('burst_p50_ms'), 1)} / **{fmt(d.get('burst_max_ms'), 1)} ms** "
              f"| {fmt(d.get('burst_probes'), 0)} | {fmt(d.get('burst_wall_ms'), 0)} ms | {fmt(d.get('burst_cpu_ms'), 0)} ms "
              f"| {d.get('burst_codes')} "
              f"| {d.get('auth_counters', '')} |")
        w("")
        for kind, d in stall.items():
            goals.append(("B", f"worst loop stall, 20 wrong passwords ({'different' if kind == 'distinct' else 'same'})",
                          f"{fmt(d.get('burst_max_ms'), 1)} ms max probe latency (baseline max {fmt(d.get('base_max_ms'), 1)} ms)",
                          "(reported)", "-"))
    if mallocs:
        w("### Heap allocations per request in steady state (issue 4: none)")
        w("")
        w("| route | heap allocations | requests | per request |")
        w("|---|---:|---:|---:|")
        worst = 0.0
        for name, d in mallocs.items():
            pr = d["allocs"] / d["requests"] if d.get("requests") else None
            worst = max(worst, pr or 0)
            w(f"| {name}.bench | {fmt(d['allocs'], 0)} | {fmt(d.get('requests'), 0)} | {fmt(pr, 4)} |")
        w("")
        goals.append(("B", "heap allocations per request", fmt(worst, 4), "0 (< 0.001)", met(worst, "<", 0.001)))

    # ---- C
    if idle:
        w("## C. Idle keep-alive client connections (issues 4, 20)")
        w("")
        w("| build | held (opened / answered / still open) | RSS before | RSS holding them | per connection "
          "| CPU while held and quiet | busy req/s alone | busy req/s while held | ratio | CPU µs/request alone / held "
          "| a new request meanwhile | set-up | VmHWM after all closed at once |")
        w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        labels = {"epoll": "epoll (default)", "poll": "poll() (fallback)", "big": "epoll, ING_MAX_CONNS raised"}
        for lab, d in idle.items():
            held_kb = d.get("rss_held_kb")
            per = (held_kb - d["rss_before_kb"]) * 1024 / d["held"] if d.get("held") else None
            a_, h_ = runs("C", f"busy_alone.{lab}"), runs("C", f"busy_held.{lab}")
            a_, h_ = a_.get(1), h_.get(1)
            ratio = h_["rps"] / a_["rps"] if a_ and h_ and a_.get("rps") else None
            cu = lambda r: r["cpu_ns"] / 1000 / r["requests"] if r and r.get("cpu_ns") and r.get("requests") else None
            quiet = d.get("quiet_cpu_ms")
            w(f"| {labels.get(lab, lab)} | {fmt(d['n'], 0)} ({fmt(d.get('opened'), 0)} / {fmt(d.get('answered'), 0)} / "
              f"{fmt(d.get('held'), 0)}; {d.get('codes')}) | {fmt(d['rss_before_kb'] / MB, 1)} MB "
              f"| {fmt(held_kb / MB, 1)} MB | {fmt(per, 0)} bytes "
              f"| {fmt(quiet, 1) + ' ms' if quiet is not None else 'n/a'} "
              f"| {fmt(a_['rps'] if a_ else None)} | {fmt(h_['rps'] if h_ else None)} | {fmt(ratio)} "
              f"| {fmt(cu(a_), 1)} / {fmt(cu(h_), 1)} | {fmt(d.get('fresh_ms'), 1)} ms | {fmt(d.get('setup_s'), 1)} s "
              f"| {fmt(d['hwm_closed_kb'] / MB, 1) + ' MB' if d.get('hwm_closed_kb') else 'n/a'} |")
            n = int(d["n"])
            if lab in ("epoll", "poll"):
                goal, bound = (">= 0.85 (issue 20)", 0.85) if lab == "epoll" else ("(reported: the fallback)", None)
                goals.append(("C", f"busy throughput with {n:,} idle held / without, {lab}", fmt(ratio), goal,
                              met(ratio, ">=", bound) if bound else "-"))
            ok = d.get("held") == d["n"]
            if lab == "epoll":
                st = met(held_kb / MB, "<=", 64.0) if ok else "**NOT met** (not all held)"
                goals.append(("C", f"{n:,} idle connections held, RSS", f"{fmt(held_kb / MB, 1)} MB, "
                              f"{fmt(d.get('held'), 0)} held", "<= 64 MB, all held", st))
            if lab == "big":
                goals.append(("C", f"{n:,} idle connections held: RSS per connection, CPU while quiet",
                              f"{fmt(per, 0)} bytes, {fmt(quiet, 1)} ms of CPU in {kv.get('C.quiet_s', '?')} s; "
                              f"{fmt(d.get('held'), 0)} held", "(reported); all held", "met" if ok else "**NOT met** (not all held)"))
            if d.get("buffers_held") not in (None, "n/a"):
                w("")
                w(f"{labels.get(lab, lab)}: I/O buffers in use while the {n:,} connections were held: "
                  f"{fmt(d['buffers_held'], 0)}; ING_MAX_BUFS limit hits by 1 s after they all closed at once: "
                  f"{fmt(d.get('bufs_limit_hits'), 0)}.")
        w("")
        w("Busy: 64 keep-alive clients (wrk), one short run each without and with the idle connections held "
          "(indicative). CPU while held and quiet: ingressd's on-CPU time over the quiet seconds with every "
          "connection held and no traffic. CPU µs/request: ingressd's on-CPU time during the busy run / requests.")
        w("")

    # ---- D
    if lists or decode:
        w("## D. Watch and list (issue 3)")
        w("")
    if lists:
        def lm(which, key):
            return med([d.get(key) for d in lists.get(which, []) if "error" not in d])
        w("Start to `/ready` = 200 against the stand-in API server (`fakeapi.py --generate 1000`: 1,000 Ingresses, "
          "Services, EndpointSlices with 3 endpoints each, 100 TLS Secrets; default throttleDuration), median of "
          f"{len(lists.get('list', []))} starts; 'empty' is the same start against an empty cluster; the last row is the "
          "1,000 apps again after the 100 TLS Secrets were deleted (the Ingresses still name them).")
        w("")
        w("| cluster | time to ready | CPU exec to ready (schedstat) | CPU (stat ticks) | VmRSS right after exec | VmRSS at first /ping | VmHWM at ready | growth (HWM at ready - RSS at /ping) | each start: CPU ms / growth MB |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for which in ("empty", "list", "notls"):
            if which not in lists:
                continue
            errs = [d for d in lists[which] if "error" in d]
            w(f"| {dict(empty='empty', list='1,000 apps', notls='1,000 apps, TLS Secrets deleted')[which]} | {fmt(lm(which, 'ready_ms'), 0)} ms | {fmt(lm(which, 'cpu_ms'), 1)} ms "
              f"| {fmt(lm(which, 'cpu_ticks_ms'), 0)} ms | {fmt(lm(which, 'rss_exec_kb'), 0)} kB | {fmt(lm(which, 'rss_start_kb'), 0)} kB "
              f"| {fmt(lm(which, 'hwm_ready_kb'), 0)} kB "
              f"| {fmt((lm(which, 'rss_growth_kb') or 0) / MB, 2)} MB "
              f"| {', '.join(fmt(d.get('cpu_ms'), 0) + ' / ' + fmt(d.get('rss_growth_kb', 0) / MB, 1) for d in lists[which] if 'error' not in d)} |"
              + (f" {len(errs)} starts failed" if errs else ""))
        w("")
        cpu, growth = lm("list", "cpu_ms"), lm("list", "rss_growth_kb")
        if cpu is not None:
            goals.append(("D", "initial list: CPU to ready", f"{fmt(cpu, 1)} ms", "< 200 ms", met(cpu, "<", 200)))
            goals.append(("D", "initial list: RSS growth (VmHWM at ready - VmRSS at first /ping)", f"{fmt(growth / MB, 2)} MB",
                          "< 8 MB", met(growth / MB, "<", 8)))
            if "empty" in lists:
                c2 = cpu - (lm("empty", "cpu_ms") or 0)
                g2 = (lm("list", "hwm_ready_kb") - lm("empty", "hwm_ready_kb")) / MB
                goals.append(("D", "  the list alone (minus an empty-cluster start)", f"CPU {fmt(c2, 1)} ms, RSS {fmt(g2, 2)} MB",
                              "< 200 ms, < 8 MB", "met" if c2 < 200 and g2 < 8 else "**NOT met**"))
            if "notls" in lists:
                goals.append(("D", "  the same list without the 100 TLS Secrets", f"CPU {fmt(lm('notls', 'cpu_ms'), 1)} ms, "
                              f"RSS growth {fmt((lm('notls', 'rss_growth_kb') or 0) / MB, 2)} MB", "(reported)", "-"))
    if decode:
        w("Watch-event decode throughput: `test/bench/decode_bench.c` runs ingressd's own framer, jsmn decoder and "
          "store (kw_frame_feed -> kw_value -> kw_apply) over events made from the generated objects, fed in 16 KB "
          "pieces; the first pass ADDED, then MODIFIED.")
        w("")
        w("| kind | events | avg event bytes | events/s | MB/s | objects stored | decode errors |")
        w("|---|---:|---:|---:|---:|---:|---:|")
        tot_e = tot_s = 0.0
        for k, d in decode.items():
            w(f"| {k} | {fmt(d.get('events'), 0)} | {fmt(d.get('avg_bytes'), 0)} | {fmt(d.get('events_per_s'), 0)} "
              f"| {fmt(d.get('mb_per_s'), 1)} | {fmt(d.get('stored'), 0)} | {fmt(d.get('errors'), 0)} |")
            tot_e += d.get("events", 0)
            tot_s += d.get("seconds", 0)
        if tot_s:
            w(f"| all | {fmt(tot_e, 0)} | | {fmt(tot_e / tot_s, 0)} | | | |")
            goals.append(("D", "watch-event decode throughput", f"{fmt(tot_e / tot_s, 0)} events/s", "(reported)", "-"))
        w("")
        if rebuild:
            w(f"One routing-table rebuild from that store ({fmt(rebuild.get('ingresses'), 0)} Ingresses, "
              f"{fmt(rebuild.get('routes'), 0)} routes): **{fmt(rebuild.get('seconds', 0) * 1000, 1)} ms**.")
            w("")
            goals.append(("D", "routing-table rebuild, 1,000 Ingresses", f"{fmt(rebuild.get('seconds', 0) * 1000, 1)} ms", "(reported)", "-"))
        if snap and snap_load:
            ms = snap_load.get("cpu_seconds", 0) * 1000
            w(f"The snapshot of that store (issue 21): {fmt(snap.get('bytes', 0) / 1e3, 0)} KB, encoded in "
              f"{fmt(snap.get('encode_seconds', 0) * 1000, 1)} ms and written in {fmt(snap.get('write_seconds', 0) * 1000, 1)} ms "
              f"(tmpfs); a start from it (read, checked, loaded, table built with its TLS certificates): "
              f"**{fmt(ms, 1)} ms CPU**.")
            w("")
            goals.append(("D", "serving from the snapshot, 1,000 Ingresses", f"{fmt(ms, 1)} ms CPU", "<= 100 ms",
                          met(ms, "<=", 100)))

    # ---- E
    if any(s == "E" for s, _ in wrk) or any(s == "E" for s, _ in notes):
        servers = [n for n in ("ingressd_tls", "ingressd_mbedtls", "nginx_tls") if (("E", n) in wrk)]
        label = {"ingressd_tls": "ingressd (BearSSL)", "ingressd_mbedtls": "ingressd (mbedTLS)",
                 "nginx_tls": "nginx (OpenSSL, 1 worker)"}

        def hs(k, n):
            """handshakes/s of server n with certificate k: median of the rounds"""
            v = [float(kv[x]) for x in kv if x.startswith(f"E.handshakes.{k}.{n}.")]
            return med(v)

        def hs_ratio(k, n):
            """median over rounds of n's handshakes / nginx's in the same round"""
            v = []
            for x in kv:
                if x.startswith(f"E.handshakes.{k}.{n}."):
                    y = x.replace(f".{n}.", ".nginx_tls.")
                    if float(kv.get(y, 0) or 0) > 0:
                        v.append(float(kv[x]) / float(kv[y]))
            return med(v)

        w("## E. HTTPS (issue 8): ingressd's two TLS ports against nginx")
        w("")
        if servers:
            w("An [entryPoints.https.tls] entry point in front of the same backend; keep-alive requests over TLS "
              "(ECDSA P-256 certificate; wrk as in B, 2 interleaved rounds), and full handshakes/s "
              "(`openssl s_time -new -tls1_2`, 3 s a round, 2 interleaved rounds; TLS 1.2 for all, the only "
              "version ingressd speaks), and the same with a client certificate required and verified (mutual TLS: "
              "tls.ClientCA; nginx ssl_verify_client on). Handshake ratios are medians of per-round ratios.")
            w("")
            w("| server | keep-alive req/s over TLS | p99 ms | CPU µs/request | handshakes/s ECDSA P-256 | handshakes/s RSA-2048 | handshakes/s mTLS (ECDSA) |")
            w("|---|---:|---:|---:|---:|---:|---:|")
            for n in servers:
                w(f"| {label[n]} | {fmt(m('E', n, 'rps'))} | {fmt(m('E', n, 'p99_ms'), 3)} | {fmt(cpu_us('E', n), 1)} | "
                  f"{fmt(hs('ec', n), 0)} | {fmt(hs('rsa', n), 0)} | {fmt(hs('mtls', n), 0)} |")
            w("")
            for n in servers:
                if n == "nginx_tls":
                    continue
                r, _ = paired("E", n, "nginx_tls")
                goals.append(("E", f"TLS keep-alive req/s {label[n]} / nginx", fmt(r), ">= 0.8", met(r, ">=", 0.8)))
                hr = hs_ratio("ec", n)
                goals.append(("E", f"ECDSA P-256 handshakes/s {label[n]} / nginx", fmt(hr), ">= 0.5", met(hr, ">=", 0.5)))
                hr = hs_ratio("rsa", n)
                goals.append(("E", f"RSA-2048 handshakes/s {label[n]} / nginx", fmt(hr), "(reported)", "-"))
                hr = hs_ratio("mtls", n)
                goals.append(("E", f"mTLS handshakes/s {label[n]} / nginx", fmt(hr), "(reported)", "-"))
        else:
            w("Skipped (see the notes).")
            w("")
            goals.append(("E", "HTTPS", "skipped", "issue 8", "n/a"))

    # ---- F
    if any(s == "F" for s, _ in wrk) or any(s == "F" for s, _ in notes):
        fnames = [n for n in ("ingressd", "ingressd_mbedtls", "nginx", "haproxy") if ("F", n) in wrk]
        flabel = {"ingressd": "ingressd (BearSSL)", "ingressd_mbedtls": "ingressd (mbedTLS)",
                  "nginx": "nginx (proxy, 1 worker)", "haproxy": "HAProxy (nbthread 1)"}

        def hs10k(n):
            """(handshakes per 10,000 requests, resumed per 10,000, handshakes, resumed, requests) over the
            measured runs of n, as the backend counted them"""
            u = [d for _, d in upconn.get(("F", n), [])]
            req = sum(d.get("requests", 0) for d in u)
            h = sum(d.get("handshakes", 0) for d in u)
            rs = sum(d.get("resumed", 0) for d in u)
            if not req:
                return None, None, h, rs, req
            return h * 1e4 / req, rs * 1e4 / req, h, rs, req

        def fbad(n):
            e = [bad("F", n)] if bad("F", n) else []
            u = [d for _, d in upconn.get(("F", n), [])]
            n200 = sum(int(d.get("non200", 0)) for d in u)
            if n200:
                e.append(f"{n200} non-200 at the backend")
            wreq = sum(int(d.get("requests", 0)) for d in allruns("F", n))
            breq = sum(int(d.get("requests", 0)) for d in u)
            if u and abs(wreq - breq) > max(100, wreq / 100):
                e.append(f"backend saw {breq:,} requests, wrk {wreq:,}")
            return ", ".join(e)

        w("## F. HTTPS to pods: keep-alive on both sides, TLS 1.2 from the proxy to the pod")
        w("")
        if fnames:
            nr = max(len(runs("F", n)) for n in fnames)
            w(f"wrk (as in B, {nr} interleaved rounds, rotated) through each proxy to one nginx HTTPS backend "
              "(1 worker, ECDSA P-256 self-signed certificate, ssl_session_cache, TLS 1.2 - the only version "
              "ingressd speaks - and the same 30-byte body), one backend port per proxy. ingressd: a Service port "
              "443, insecureSkipVerify = true; nginx: proxy_pass https:// to an upstream with keepalive 64, "
              "proxy_http_version 1.1, Connection \"\", proxy_ssl_session_reuse on; HAProxy: ssl verify none, "
              "http-reuse always, pool-purge-delay 60s. Handshakes are counted at the backend from its access log "
              "(`$connection $ssl_session_reused`): a connection whose first request falls in a measured run is "
              "one handshake made in that run (resumed when `$ssl_session_reused` says so); warm-up excluded, "
              "summed over the rounds.")
            w("")
            w("| proxy | req/s | p50 ms | p99 ms | CPU µs/request | handshakes per 10,000 requests (resumed) | handshakes / requests at the backend | peak RSS (VmHWM) | req/s of each round | errors |")
            w("|---|---:|---:|---:|---:|---:|---|---:|---|---|")
            for n in fnames:
                h, hr, hn, rn, req = hs10k(n)
                rs = ", ".join(fmt(runs("F", n)[k]["rps"]) for k in sorted(runs("F", n)))
                w(f"| {flabel[n]} | {fmt(m('F', n, 'rps'))} | {fmt(m('F', n, 'p50_ms'), 3)} | {fmt(m('F', n, 'p99_ms'), 3)} "
                  f"| {fmt(cpu_us('F', n), 1)} | {fmt(h, 2)} ({fmt(hr, 2)}) | {fmt(hn, 0)} / {fmt(float(req), 0)} "
                  f"| {fmt(float(kv[f'F.rss.{n}']) / MB, 1) + ' MB' if kv.get(f'F.rss.{n}') else 'n/a'} | {rs} | {fbad(n)} |")
            w("")
            extra = []
            for n in fnames:
                a = kv.get(f"F.all.{n}")
                if a:
                    d = kvs(a.split(" "))
                    extra.append(f"{flabel[n]}: {fmt(d.get('handshakes'), 0)} handshakes ({fmt(d.get('resumed'), 0)} resumed) "
                                 f"in {fmt(d.get('requests'), 0)} requests, warm-up included; TLS `{kv.get(f'F.tls.{n}', '?')}`")
            if extra:
                w("At the backend over the whole section: " + "; ".join(extra) + ".")
                w("")
            for n in ("ingressd", "ingressd_mbedtls"):
                c = kv.get(f"F.counted.{n}")
                if c:
                    w(f"- {flabel[n]}'s own count, `ingressd_upstream_tls_handshakes_total`: {c}")
            w("")
            fgoal = []
            hn_ng = hs10k("nginx")[0]
            for n in ("ingressd", "ingressd_mbedtls", "haproxy"):
                if n not in fnames or "nginx" not in fnames:
                    continue
                r, v = paired("F", n, "nginx")
                p, pv = paired("F", n, "nginx", "p99_ms")
                ci, cn = cpu_us("F", n), cpu_us("F", "nginx")
                c = cn / ci if ci and cn else None
                h = hs10k(n)[0]
                invalid = bool(fbad(n) or fbad("nginx"))
                each = ", ".join(fmt(x) for x in v)
                if n == "haproxy":
                    goals.append(("F", "HTTPS to pods req/s HAProxy / nginx", f"{fmt(r)} (rounds: {each})", "(reported)", "-"))
                    goals.append(("F", "HTTPS to pods p99 HAProxy / nginx", f"{fmt(p)} (rounds: {', '.join(fmt(x) for x in pv)})", "(reported)", "-"))
                    goals.append(("F", "HTTPS to pods handshakes per 10,000 requests, HAProxy vs nginx",
                                  f"{fmt(h)} vs {fmt(hn_ng)}", "(reported)", "-"))
                    continue
                s1, s2 = met(r, ">=", 1.0), met(c, ">=", 1.0)
                st = s1 if s1 == s2 else f"unclear (noise): req/s {s1.strip('*')}, CPU {s2.strip('*')}"
                sp = met(p, "<=", 1.0)
                sh = met(None if h is None or hn_ng is None else h - hn_ng, "<=", 0)
                if invalid:
                    st = sp = sh = "**invalid** (errors)"
                goals.append(("F", f"HTTPS to pods req/s {flabel[n]} / nginx",
                              f"{fmt(r)} (rounds: {each}; by CPU/request: {fmt(c)})", ">= 1.0", st))
                goals.append(("F", f"HTTPS to pods p99 {flabel[n]} / nginx",
                              f"{fmt(p)} (rounds: {', '.join(fmt(x) for x in pv)})", "<= 1.00", sp))
                goals.append(("F", f"HTTPS to pods handshakes per 10,000 requests, {flabel[n]} vs nginx",
                              f"{fmt(h)} vs {fmt(hn_ng)}", "<= nginx's", sh))
                fgoal.append(f"{flabel[n]}: req/s {fmt(r)}x nginx ({st}), p99 {fmt(p)}x ({sp}), "
                             f"handshakes/10k {fmt(h)} vs {fmt(hn_ng)} ({sh})")
            if "nginx" not in fnames:
                goals.append(("F", "HTTPS to pods against nginx", "no nginx row (see the notes)", ">= 1.0x req/s, p99 <=, handshakes <=", "n/a"))
            if fgoal:
                w("Goal: >= 1.0x nginx's requests/s, p99 <= nginx's, handshakes per 10,000 requests <= nginx's. "
                  + "; ".join(fgoal) + ".")
                w("")
        else:
            w("Skipped (see the notes).")
            w("")
            goals.append(("F", "HTTPS to pods", "skipped", "", "n/a"))

    # ---- G
    if any(s == "G" for s, _ in wrk) or any(s == "G" for s, _ in notes):
        glabel = {"ingressd_fa": "ingressd, Traefik `auth-type: forward`", "nginx_fa": "nginx (1 worker), `auth_request`",
                  "ingressd": "ingressd, plain route", "nginx": "nginx (1 worker), plain proxy"}
        gnames = [n for n in glabel if ("G", n) in wrk]

        def auth_per(n):
            """(auth requests per request, connections accepted by the auth service, its CPU µs per request)
            over n's measured runs"""
            u = [d for _, d in authsvc.get(("G", n), [])]
            req = sum(d.get("requests", 0) for d in allruns("G", n))
            if not u or not req:
                return None, None, None
            return (sum(d.get("requests", 0) for d in u) / req, sum(d.get("accepts", 0) for d in u),
                    sum(d.get("cpu_ns", 0) for d in u) / 1000 / req)

        w("## G. Forward auth (issue 18): ingressd against nginx's auth_request, the same auth service")
        w("")
        if gnames:
            nr = max(len(runs("G", n)) for n in gnames)
            w(f"wrk (as in A, {nr} rounds: the forward-auth pair back to back, then the plain pair, the order within "
              "each pair alternating) in front of A's nginx backend. The auth service is one more nginx (1 worker, "
              "placed with wrk and the backend): `return 200` on /auth. ingressd: an Ingress with "
              "`ingress.kubernetes.io/auth-type: forward` and `auth-url: http://127.0.0.1:PORT/auth` (its own "
              "kept-alive pool to the auth service, maxIdleConnsPerHost 200). nginx: `auth_request /_auth` and an "
              "internal location proxying to an upstream with `keepalive 64` (HTTP/1.1, Connection \"\", "
              "`proxy_pass_request_body off`, Content-Length \"\", the X-Forwarded-Method/-Proto/-Host/-Uri/-For "
              "Traefik's forward auth sends). Both keep their connections to the auth service alive: the 'auth "
              "connections' column counts the connections the auth service accepted during the measured runs "
              "(stub_status), 'auth requests per request' what it answered per request wrk got. The plain rows "
              "(A's routes, same rounds) show what asking costs each proxy.")
            w("")
            w("| proxy | req/s | p50 ms | p99 ms | CPU µs/request | auth requests per request | auth connections opened | auth service CPU µs/request | req/s of each round | errors |")
            w("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
            for n in gnames:
                ap, ac, au = auth_per(n)
                rs = ", ".join(fmt(runs("G", n)[k]["rps"]) for k in sorted(runs("G", n)))
                w(f"| {glabel[n]} | {fmt(m('G', n, 'rps'))} | {fmt(m('G', n, 'p50_ms'), 3)} | {fmt(m('G', n, 'p99_ms'), 3)} "
                  f"| {fmt(cpu_us('G', n), 1)} | {fmt(ap, 3)} | {fmt(ac, 0)} | {fmt(au, 1)} | {rs} | {bad('G', n)} |")
            w("")
            chk = kv.get("G.check", "not run")
            w(f"- Checked before the runs: {chk}")
            if kv.get("G.ingressd_counters"):
                w(f"- ingressd's `ingressd_forward_auth_total`: {kv['G.ingressd_counters']}")
            w("")
            if "ingressd_fa" in gnames and "nginx_fa" in gnames:
                r, v = paired("G", "ingressd_fa", "nginx_fa")
                p, pv = paired("G", "ingressd_fa", "nginx_fa", "p99_ms")
                ci, cn = cpu_us("G", "ingressd_fa"), cpu_us("G", "nginx_fa")
                c = cn / ci if ci and cn else None
                s1, s2 = met(r, ">=", 1.0), met(c, ">=", 1.0)
                st = s1 if s1 == s2 else f"unclear (noise): req/s {s1.strip('*')}, CPU {s2.strip('*')}"
                why = []
                if not chk.startswith("ok"):
                    why.append("the deny check failed")
                if bad("G", "ingressd_fa") or bad("G", "nginx_fa"):
                    why.append("errors")
                for n in ("ingressd_fa", "nginx_fa"):
                    ap = auth_per(n)[0]
                    if ap is None or ap < 0.99:
                        why.append(f"{n}: the auth service answered {fmt(ap, 3)} requests per request")
                if why:
                    st = f"**invalid** ({'; '.join(why)})"
                goals.append(("G", "forward auth req/s ingressd / nginx auth_request",
                              f"{fmt(r)} (rounds: {', '.join(fmt(x) for x in v)}; by CPU/request: {fmt(c)})", ">= 1.0", st))
                goals.append(("G", "forward auth p99 ingressd / nginx auth_request",
                              f"{fmt(p)} (rounds: {', '.join(fmt(x) for x in pv)}; {fmt(m('G', 'ingressd_fa', 'p99_ms'), 3)} "
                              f"vs {fmt(m('G', 'nginx_fa', 'p99_ms'), 3)} ms)", "(reported)", "-"))
                goals.append(("G", "forward auth CPU per request ingressd / nginx auth_request", fmt(ci / cn if ci and cn else None),
                              "(reported; < 1 = cheaper)", "-"))
                if "ingressd" in gnames and "nginx" in gnames:
                    ri, _ = paired("G", "ingressd_fa", "ingressd")
                    rn, _ = paired("G", "nginx_fa", "nginx")
                    goals.append(("G", "forward auth req/s as a share of the plain route's, ingressd vs nginx",
                                  f"{fmt(ri)} vs {fmt(rn)}", "(reported)", "-"))
        else:
            w("Skipped (see the notes).")
            w("")
            goals.append(("G", "forward auth", "skipped", ">= 1.0", "n/a"))

    # ---- size (issue 12)
    sizes = [(a, kv.get("size." + a)) for a in ("aarch64", "armhf", "x86_64")]
    if any(v for _, v in sizes):
        w("## S. Size: stripped static binaries (make cross)")
        w("")
        w("| target | bytes |")
        w("|---|---:|")
        for a, v in sizes:
            w(f"| {a} | {int(v):,} |" if v else f"| {a} | - |")
        w("")
        a64 = kv.get("size.aarch64")
        if a64:
            goals.append(("S", "stripped static aarch64 bytes", f"{int(a64):,}", "< 400,000 (budget)",
                          met(int(a64), "<", 400000)))

    # ---- goals
    w("## Goals")
    w("")
    w("| section | measurement | value | goal | status |")
    w("|---|---|---|---|---|")
    for g in goals:
        w("| " + " | ".join(g) + " |")
    w("")
    if notes:
        w("## Notes")
        w("")
        for s, t in notes:
            w(f"- {s}: {t}")
        w("")
    text = "\n".join(out)
    print(text)
    with open(outp, "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
