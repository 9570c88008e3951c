#!/bin/sh
# test/e2e_admin.sh - the admin listener and the access log: /ping, /ready
# before and after the first sync, /metrics checked by the real promtool
# and against the requests sent, /api/providers, read-only methods,
# oversize requests; the access log parsed back (common and json) and
# reopened on SIGUSR1.
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
suite e2e_admin
B=${1:-./ingressd}

API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
WEB=$(free_port)
P1=$(free_port)
backend 127.0.0.1:$P1 b1
wait_port $P1
acode() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

conf() { # FORMAT
	cat >"$T_TMP/i.conf" <<EOF
[entryPoints.http]
address = "127.0.0.1:$HTTP"
[web]
address = "127.0.0.1:$WEB"
[accessLog]
filePath = "$T_TMP/access.log"
format = "$1"
[kubernetes]
endpoint = "http://127.0.0.1:$API"
throttleDuration = "20ms"
EOF
}
conf common
# ingressd first, the API server later: not ready until it has synced
start_ingressd
wait_port $WEB
is "$(curl -s http://127.0.0.1:$WEB/ping)" OK && ok "/ping answers OK at once" || fail "/ping"
is "$(acode http://127.0.0.1:$WEB/ready)" 503 && ok "/ready is 503 before the first sync" || fail "/ready before sync"
curl -s http://127.0.0.1:$WEB/ready | grep -q 'not listed yet' && ok "... with the reason" || fail "/ready reason"

start_api
wait_port $CTL
kapply <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: t}
---
apiVersion: v1
kind: Service
metadata: {name: s1, namespace: t, annotations: {traefik.backend.circuitbreaker: "NetworkErrorRatio() > 0.5", traefik.backend.loadbalancer.sticky: "true"}}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: s2, namespace: t, annotations: {traefik.backend.circuitbreaker: "NetworkErrorRatio() >"}}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s1-a, namespace: t, labels: {kubernetes.io/service-name: s1}}
addressType: IPv4
ports: [{name: http, port: $P1}]
endpoints:
- addresses: ["127.0.0.1"]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: t, annotations: {ingress.kubernetes.io/whitelist-source-range: "127.0.0.0/8"}}
spec:
  rules:
  - host: web.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: s1, port: {number: 80}}}}
      - {path: /broken, pathType: Prefix, backend: {service: {name: s2, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: typo, namespace: t, annotations: {traefik.frontend.rule.type: PathPrefx}}
spec:
  rules:
  - host: typo.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: s1, port: {number: 80}}}}
EOF
eventually "/ready turns 200 after the first sync" sh -c "curl -sf http://127.0.0.1:$WEB/ready | grep -qx OK"

# ---- traffic, then the counters must say exactly that
for i in 1 2 3 4 5; do curl -s -o /dev/null -H 'Host: web.test' http://127.0.0.1:$HTTP/a$i; done
for i in 1 2 3; do curl -s -o /dev/null -X POST -d x -H 'Host: web.test' http://127.0.0.1:$HTTP/p; done
for i in 1 2; do curl -s -o /dev/null -H 'Host: nope.test' http://127.0.0.1:$HTTP/; done
curl -s -o /dev/null -H 'Host: web.test' -A 'agent "quoted"' -e 'http://ref.test/' http://127.0.0.1:$HTTP/status/503
curl -s -o "$T_TMP/metrics" http://127.0.0.1:$WEB/metrics
if command -v promtool >/dev/null; then
	promtool check metrics <"$T_TMP/metrics" >"$T_TMP/promtool.out" 2>&1
	is $? 0 && ok "promtool check metrics passes" || {
		fail "promtool check metrics"
		head -20 "$T_TMP/promtool.out"
	}
else
	fail "promtool missing (prometheus package; make deps)"
fi
m() { grep -F "$1" "$T_TMP/metrics" | awk '{print $NF}'; }
is "$(m 'ingressd_requests_total{entrypoint="http",backend="t/s1:80",method="GET",code="200"}')" 5 &&
	ok "5 GETs counted" || fail "GET 200 count: $(m 'method="GET",code="200"')"
is "$(m 'ingressd_requests_total{entrypoint="http",backend="t/s1:80",method="POST",code="200"}')" 3 &&
	ok "3 POSTs counted" || fail "POST count"
is "$(m 'ingressd_requests_total{entrypoint="http",backend="",method="GET",code="404"}')" 2 &&
	ok "2 no-route 404s counted" || fail "404 count"
is "$(m 'ingressd_requests_total{entrypoint="http",backend="t/s1:80",method="GET",code="503"}')" 1 &&
	ok "a backend's 503 counted" || fail "503 count"
is "$(m 'ingressd_own_answers_total{code="404",reason="no_route"}')" 2 &&
	ok "own answers by status and reason: the 2 no-route 404s" || fail "own answers: $(grep own_answers "$T_TMP/metrics")"
grep -q 'reason="-"\|code="503",reason' "$T_TMP/metrics" && fail "a pod's 503 counted as an own answer" ||
	ok "... the pod's 503 is not an own answer"
is "$(m 'ingressd_request_duration_seconds_count{entrypoint="http",backend="t/s1:80"}')" 9 &&
	ok "durations: 9 observations" || fail "duration count"
is "$(m 'ingressd_backend_server_up{backend="t/s1:80",server="127.0.0.1:'$P1'"}')" 1 && ok "server up" || fail "server up"
is "$(m 'ingressd_backend_breaker_state{backend="t/s1:80"}')" 0 && ok "breaker state standby" || fail "breaker state"
grep -q 'ingressd_backend_breaker_invalid{backend="t/s2:80",error="column 22: unexpected end"} 1' "$T_TMP/metrics" &&
	ok "invalid breaker expression shown with its column" || fail "breaker invalid"
is "$(m 'ingressd_store_objects{kind="ingress"}')" 2 && ok "store counts" || fail "store objects"
is "$(m 'ingressd_watch_synced{kind="secret"}')" 1 && ok "watch synced" || fail "watch synced"
grep -q '^ingressd_limit_hits_total{limit="ING_MAX_CONNS"} 0$' "$T_TMP/metrics" && ok "limit hits by macro" || fail "limit hits"
grep -q '^process_resident_memory_bytes [1-9]' "$T_TMP/metrics" && ok "process RSS" || fail "RSS"
grep -q '^process_open_fds [1-9]' "$T_TMP/metrics" && ok "open fds" || fail "fds"
grep -q '^ingressd_config_reloads_total{result="success"} 0$' "$T_TMP/metrics" && ok "reload counters" || fail "reloads"

# ---- /api/providers
curl -s http://127.0.0.1:$WEB/api/providers >"$T_TMP/api.json"
python3 - "$T_TMP/api.json" >"$T_TMP/api.check" 2>&1 <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))["kubernetes"]
b = d["backends"]["t/s1:80"]
assert b["loadBalancer"]["stickiness"]["cookieName"] == "_TRAEFIK_BACKEND", b
assert b["circuitBreaker"]["state"] == "standby", b
assert list(b["servers"].values())[0]["url"].startswith("http://127.0.0.1:"), b
assert "error" in d["backends"]["t/s2:80"]["circuitBreaker"]
fe = [f for f in d["frontends"].values() if f["ingress"] == "t/web"]
assert fe and fe[0]["whiteList"]["sourceRange"] == ["127.0.0.0/8"], fe
assert fe[0]["routes"]["route-0"]["rule"].startswith("Host:web.test"), fe
assert any("unknown rule type" in s["reason"] for s in d["skipped"]), d["skipped"]
print("ok")
EOF
is "$(cat "$T_TMP/api.check")" ok && ok "/api/providers: backends, frontends, skipped paths" || {
	fail "/api/providers"
	cat "$T_TMP/api.check"
}
curl -s http://127.0.0.1:$WEB/api/providers/kubernetes | python3 -c 'import json,sys; json.load(sys.stdin)["frontends"]' &&
	ok "/api/providers/kubernetes" || fail "/api/providers/kubernetes"

# ---- read-only, limits
is "$(acode -X POST http://127.0.0.1:$WEB/ping)" 405 && ok "POST: 405" || fail "POST 405"
is "$(acode -X DELETE http://127.0.0.1:$WEB/metrics)" 405 && ok "DELETE: 405" || fail "DELETE 405"
is "$(acode -I http://127.0.0.1:$WEB/metrics)" 200 && ok "HEAD /metrics" || fail "HEAD"
is "$(acode http://127.0.0.1:$WEB/nope)" 404 && ok "unknown path: 404" || fail "404"
is "$(acode -H "X-Big: $(head -c 13000 /dev/zero | tr '\0' a)" http://127.0.0.1:$WEB/ping)" 431 && ok "oversize head: 431" ||
	fail "431"

# ---- the access log
sleep 1.3 # flushed on a timer
n=$(grep -c '' "$T_TMP/access.log")
is "$n" 11 && ok "one access-log line per request ($n)" || fail "access log lines: $n"
python3 - "$T_TMP/access.log" >"$T_TMP/al.check" 2>&1 <<'EOF'
import re, sys
rx = re.compile(r'^(\S+) - (\S+) \[([^\]]+)\] "(\S+) (\S+) (HTTP/1\.\d)" (\d+) (\d+) "([^"]*)" "([^"]*)" (\d+) "([^"]*)" "([^"]*)" (\d+)ms (\S+)$')
lines = [rx.match(l.rstrip("\n")) for l in open(sys.argv[1])]
assert all(lines), [l for l in open(sys.argv[1])]
m = [l.groups() for l in lines]
assert m[0][3:7] == ("GET", "/a1", "HTTP/1.1", "200"), m[0]
assert m[0][0] == "127.0.0.1" and m[0][11] == "web.test/" and m[0][12].startswith("http://127.0.0.1:"), m[0]
assert [x[6] for x in m].count("404") == 2 and [x[3] for x in m].count("POST") == 3
last = m[-1]
assert last[6] == "503" and last[8] == "http://ref.test/" and last[9] == "agent ?quoted?", last
assert [int(x[10]) for x in m] == list(range(int(m[0][10]), int(m[0][10]) + len(m)))
assert sorted(set((x[6], x[14]) for x in m if x[14] != "-")) == [("404", "no_route")], m
assert all(x[14] == "-" for x in m if x[6] != "404"), m
print("ok")
EOF
is "$(cat "$T_TMP/al.check")" ok && ok "access log: Traefik's CLF, fields as sent" || {
	fail "access log format"
	cat "$T_TMP/al.check"
}
grep -q '^.* INFO  rs: 404 no_route: no route (client 127.0.0.1)' "$T_TMP/ingressd.log" &&
	ok "an own answer is logged at INFO with its reason" || fail "no 'rs: 404 no_route' line"
# a burst: at most one line a second per reason, the rest counted in the next
before=$(grep -c 'rs: 404 no_route' "$T_TMP/ingressd.log")
for i in $(seq 1 20); do acode -H 'Host: nowhere.test' http://127.0.0.1:$HTTP/burst >/dev/null; done
sleep 1.1
acode -H 'Host: nowhere.test' http://127.0.0.1:$HTTP/after >/dev/null
lines=$(($(grep -c 'rs: 404 no_route' "$T_TMP/ingressd.log") - before))
[ "$lines" -le 4 ] && ok "21 no-route answers: $lines log lines (rate-limited)" || fail "rate limit: $lines lines for 21 answers"
grep 'rs: 404 no_route' "$T_TMP/ingressd.log" | tail -n 1 | grep -Eq '; [0-9]+ more since the last such line$' &&
	ok "... the next line says how many were not logged" || fail "suppressed count: $(grep 'rs: 404' "$T_TMP/ingressd.log" | tail -n 1)"
sleep 1.3
mv "$T_TMP/access.log" "$T_TMP/access.log.1"
kill -USR1 $IPID
sleep 0.2
curl -s -o /dev/null -H 'Host: web.test' http://127.0.0.1:$HTTP/after-rotate
sleep 1.3
grep -q '/after-rotate' "$T_TMP/access.log" 2>/dev/null && ok "SIGUSR1 reopens the log (rotation)" || fail "reopen"
grep -q '/after-rotate' "$T_TMP/access.log.1" && fail "written to the rotated file" || ok "... not to the old file"

# ---- json format, via SIGHUP
conf json
kill -HUP $IPID
sleep 0.3
curl -s -o /dev/null -H 'Host: web.test' http://127.0.0.1:$HTTP/json?x=1
sleep 1.3
tail -n 1 "$T_TMP/access.log" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
assert d["RequestPath"] == "/json?x=1" and d["DownstreamStatus"] == 200 and d["RequestHost"] == "web.test", d
assert d["BackendURL"].startswith("http://127.0.0.1:") and d["Duration"] >= 0 and d["ClientHost"] == "127.0.0.1", d
assert d["IngressdReason"] == "-", d
' && ok "access log json format" || fail "json access log"
kill -TERM $IPID
wait $IPID
is $? 0 && ok "SIGTERM: exit 0" || fail "exit"
grep -E 'AddressSanitizer|runtime error' "$T_TMP/ingressd.log" | head -3
finish
