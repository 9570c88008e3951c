#!/bin/sh
# test/e2e_limits.sh - limits end to end: nginx's proxy-body-size (units,
# 0 = none, a bad value refused; 413 before anything is forwarded when
# Content-Length says so, a chunked body cut at the limit), and nginx's
# limit-rps / limit-rpm / limit-burst-multiplier measured over time,
# limit-connections with slow pods, limit-whitelist, and the client table
# on a build with ING_MAX_RATE_KEYS=8 (least recently used idle clients
# evicted; never room made by dropping a client with requests in flight).
# Traefik's rate-limit (YAML; client.ip, request.host and request.header
# keys; several rates; 429 with Retry-After), max-conn-amount and
# buffering's maxrequestbodybytes (Service annotations).
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
B=${1:-./ingressd}
suite e2e_limits
EVENTUALLY_WAIT=60
[ -x "$B" ] || abort "no binary $B"

API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
WEB=$(free_port)
P1=$(free_port)
start_api
backend 127.0.0.1:$P1 b1
wait_port $API && wait_port $CTL && wait_port $P1 || abort "helpers did not start"
conf_std "$T_TMP/i.conf" $HTTP $WEB
start_ingressd
namespace t
service_s1
N=nginx.ingress.kubernetes.io
ingress_s1 small small.test "{$N/proxy-body-size: 1k}"
ingress_s1 mega mega.test "{$N/proxy-body-size: 2M}"
ingress_s1 zero zero.test "{$N/proxy-body-size: '0'}"
ingress_s1 free free.test
ingress_s1 bad bad.test "{$N/proxy-body-size: 12x}"
ingress_s1 rps rps.test "{$N/limit-rps: '10', $N/limit-burst-multiplier: '1'}"
ingress_s1 rpm rpm.test "{$N/limit-rpm: '60', $N/limit-burst-multiplier: '1'}"
ingress_s1 conn conn.test "{$N/limit-connections: '2'}"
ingress_s1 rwl rwl.test "{$N/limit-rps: '1', $N/limit-burst-multiplier: '1', $N/limit-whitelist: 127.0.0.1/32}"
ingress_s1 badl badl.test "{$N/limit-rps: ten}"
ready
eventually "routes built" sh -c "curl -s http://127.0.0.1:$WEB/api/providers | grep -q bad.test"
post() { h=$1; shift; curl -s -o "$T_TMP/out" -w '%{http_code}' -H "Host: $h" "$@" "http://127.0.0.1:$HTTP/count"; }
head -c 1024 /dev/zero >"$T_TMP/1k"
head -c 1025 /dev/zero >"$T_TMP/1k1"
head -c 3000000 /dev/zero >"$T_TMP/3m"
is "$(post small.test --data-binary @"$T_TMP/1k")" 200 && is "$(cut -d' ' -f1 "$T_TMP/out")" 1024 &&
	ok "proxy-body-size 1k: 1024 bytes pass" || fail "1k at the limit"
is "$(post small.test --data-binary @"$T_TMP/1k1")" 413 && ok "1025 bytes with Content-Length: 413" || fail "over the limit"
is "$(post small.test -H 'Transfer-Encoding: chunked' --data-binary @"$T_TMP/1k")" 200 && ok "chunked at the limit: passes" ||
	fail "chunked at the limit"
is "$(post small.test -H 'Transfer-Encoding: chunked' --data-binary @"$T_TMP/3m")" 413 && ok "chunked over the limit: 413" ||
	fail "chunked over: $(cat "$T_TMP/out")"
is "$(post mega.test --data-binary @"$T_TMP/3m")" 413 && is "$(post mega.test --data-binary @"$T_TMP/1k1")" 200 &&
	ok "2M: units (k, m, g) as nginx reads them" || fail "2M"
is "$(post zero.test --data-binary @"$T_TMP/3m")" 200 && is "$(post free.test --data-binary @"$T_TMP/3m")" 200 &&
	ok "0, or no annotation: no limit" || fail "no limit"
is "$(post bad.test --data-binary @"$T_TMP/1k")" 500 && grep -q 'proxy-body-size "12x"' "$T_TMP/ingressd.log" &&
	ok "a bad size: 500, logged (never unlimited)" || fail "bad size"
eventually "counted" sh -c "curl -s http://127.0.0.1:$WEB/metrics | grep -q 'ingressd_own_answers_total{code=\"413\",reason=\"body_too_large\"} [1-9]'"

# ---- rate limits: allowed = burst + 1 + rate x time, the rest 503
probe() { # HOST SECONDS [SOURCE]: "allowed refused" over one keep-alive connection
	python3 - "$HTTP" "$1" "$2" "${3:-127.0.0.1}" <<'PY'
import http.client, sys, time
port, host, secs, src = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]
ok = no = 0
c = http.client.HTTPConnection("127.0.0.1", port, source_address=(src, 0))
end = time.time() + secs
while time.time() < end:
    c.request("GET", "/", headers={"Host": host})
    r = c.getresponse(); r.read()
    if r.status == 200: ok += 1
    elif r.status == 503: no += 1
    if r.getheader("Connection", "") == "close":
        c.close(); c = http.client.HTTPConnection("127.0.0.1", port, source_address=(src, 0))
    time.sleep(0.002)
print(ok, no)
PY
}
set -- $(probe rps.test 2)
[ "$1" -ge 28 ] && [ "$1" -le 34 ] && [ "$2" -gt 10 ] && ok "limit-rps 10, burst 10: $1 allowed in 2 s (31 expected), $2 refused (503)" ||
	fail "limit-rps: $1 allowed, $2 refused"
set -- $(probe rpm.test 3)
[ "$1" -ge 61 ] && [ "$1" -le 65 ] && [ "$2" -gt 5 ] && ok "limit-rpm 60, burst 60: $1 allowed in 3 s (64 expected)" ||
	fail "limit-rpm: $1 allowed, $2 refused"
set -- $(probe rwl.test 1)
[ "$2" -eq 0 ] && ok "limit-whitelist: a listed client is not limited ($1 allowed)" || fail "limit-whitelist: $1 $2"
set -- $(probe rwl.test 1 127.0.0.2)
[ "$1" -le 4 ] && [ "$2" -gt 10 ] && ok "limit-whitelist: others are ($1 allowed)" || fail "limit-whitelist others: $1 $2"
for i in 1 2 3; do
	curl -s -o "$T_TMP/c$i" -w '%{http_code}\n' -H 'Host: conn.test' http://127.0.0.1:$HTTP/slow/1500 >"$T_TMP/s$i" &
	eval "p$i=\$!"
	sleep 0.2
done
wait $p1 $p2 $p3
is "$(cat "$T_TMP/s1" "$T_TMP/s2" "$T_TMP/s3" | sort | tr '\n' ' ')" "200 200 503 " && ok "limit-connections 2: the third request in flight gets 503" ||
	fail "limit-connections: $(cat "$T_TMP/s1" "$T_TMP/s2" "$T_TMP/s3" | tr '\n' ' ')"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: conn.test' http://127.0.0.1:$HTTP/)" 200 && ok "... and the count goes down" ||
	fail "connections not released"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: badl.test' http://127.0.0.1:$HTTP/)" 500 && ok "limit-rps not a number: 500" ||
	fail "bad limit"
eventually "counted" sh -c "curl -s http://127.0.0.1:$WEB/metrics | grep -q 'ingressd_own_answers_total{code=\"503\",reason=\"rate_limit\"} [1-9]'"

# ---- Traefik's rate-limit (YAML, per route and extractorfunc key: 429),
# max-conn and buffering (Service annotations)
kapply <<EOF
apiVersion: v1
kind: Service
metadata:
  name: s2
  namespace: t
  annotations:
    ingress.kubernetes.io/max-conn-amount: "2"
    ingress.kubernetes.io/max-conn-extractor-func: client.ip
    ingress.kubernetes.io/buffering: |
      maxrequestbodybytes: 1000
      memrequestbodybytes: 2097152
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s2-a, namespace: t, labels: {kubernetes.io/service-name: s2}}
addressType: IPv4
ports: [{name: http, port: $P1}]
endpoints:
- addresses: ["127.0.0.1"]
---
apiVersion: v1
kind: Service
metadata:
  name: s3
  namespace: t
  annotations: {traefik.ingress.kubernetes.io/max-conn-amount: "5"}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: svclim, namespace: t}
spec:
  rules:
  - host: svclim.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s2, port: {number: 80}}}}]}
  - host: lone.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s3, port: {number: 80}}}}]}
EOF
T=ingress.kubernetes.io
ingress_rl() { # NAME ANNOTATION-KEY, the YAML value on stdin: Ingress t/NAME for host NAME.test
	{ echo "$2: |"; sed 's/^/  /'; } | ingress_with "$1" "$1.test" /
}
ingress_rl trate $T/rate-limit <<EOF
extractorfunc: client.ip
rateset:
  r1:
    period: 1s
    average: 10
    burst: 5
EOF
echo '{extractorfunc: request.header.X-Key, rateset: {a: {period: 10s, average: 1, burst: 3}}}' |
	ingress_rl thdr traefik.$T/rate-limit
ingress_rl ttwo $T/rate-limit <<EOF
extractorfunc: request.host
rateset:
  fast: {period: 1s, average: 100, burst: 100}
  slow: {period: 1m, average: 4, burst: 4}
EOF
ingress_rl tbad $T/rate-limit <<EOF
extractorfunc: client.ip
rateset:
  r1:
 period: 1s
EOF
ingress_rl tcamel $T/rate-limit <<EOF
extractorFunc: client.ip
rateSet: {r: {period: 1s, average: 1, burst: 1}}
EOF
eventually "Traefik limits built" sh -c "curl -s http://127.0.0.1:$WEB/api/providers | grep -q tcamel.test"
tprobe() { # HOST SECONDS: "allowed refused" (refused = 429)
	python3 - "$HTTP" "$1" "$2" <<'PY'
import http.client, sys, time
port, host, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
ok = no = 0
c = http.client.HTTPConnection("127.0.0.1", port)
end = time.time() + secs
while time.time() < end:
    c.request("GET", "/", headers={"Host": host})
    r = c.getresponse(); r.read()
    if r.status == 200: ok += 1
    elif r.status == 429: no += 1
    time.sleep(0.002)
print(ok, no)
PY
}
set -- $(tprobe trate.test 3)
[ "$1" -ge 32 ] && [ "$1" -le 38 ] && [ "$2" -gt 10 ] &&
	ok "rate-limit average 10/1s, burst 5: $1 allowed in 3 s (35 expected), $2 refused (429)" ||
	fail "rate-limit: $1 allowed, $2 refused"
for i in $(seq 30); do # until one is refused
	curl -s -D "$T_TMP/h" -o "$T_TMP/b" -H 'Host: trate.test' http://127.0.0.1:$HTTP/
	head -1 "$T_TMP/h" | grep -q ' 429 ' && break
done
grep -qi '^Retry-After: 1' "$T_TMP/h" && grep -qiE '^X-Retry-In: [0-9.]+m?s' "$T_TMP/h" &&
	grep -q '^max rate reached: retry-in ' "$T_TMP/b" && head -1 "$T_TMP/h" | grep -q ' 429 ' &&
	ok "429 with Retry-After, X-Retry-In and Traefik's body" || fail "429 answer: $(cat "$T_TMP/h" "$T_TMP/b")"
hk() { curl -s -o /dev/null -w '%{http_code} ' -H 'Host: thdr.test' "$@" http://127.0.0.1:$HTTP/; }
is "$(hk -H 'X-Key: a'; hk -H 'X-Key: a'; hk -H 'X-Key: a'; hk -H 'X-Key: a')" "200 200 200 429 " &&
	is "$(hk -H 'X-Key: b'; hk -H 'X-Key: b')" "200 200 " && is "$(hk; hk; hk; hk)" "200 200 200 429 " &&
	ok "request.header.X-Key: a bucket per value (none: one more bucket), flow-style YAML" || fail "header extractor"
set -- $(tprobe ttwo.test 1)
is "$1" 4 && ok "two rates: every one must allow (4 a minute wins over 100 a second)" || fail "rateset of two: $1 allowed"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: tbad.test' http://127.0.0.1:$HTTP/)" 500 &&
	grep -q 'rate-limit: line 4, column 2: bad indentation' "$T_TMP/ingressd.log" &&
	ok "YAML that does not parse: 500, and the log says where (line 4, column 2)" || fail "bad rate-limit YAML"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: tcamel.test' http://127.0.0.1:$HTTP/)" 500 &&
	grep -q 'key "extractorFunc" is not one Traefik read' "$T_TMP/ingressd.log" &&
	ok "a camelCase key (Traefik ignored it: no limit): 500, said" || fail "camelCase key"
for i in 1 2 3; do
	curl -s -o "$T_TMP/m$i" -w '%{http_code}\n' -H 'Host: svclim.test' http://127.0.0.1:$HTTP/slow/1500 >"$T_TMP/n$i" &
	eval "p$i=\$!"
	sleep 0.2
done
wait $p1 $p2 $p3
is "$(cat "$T_TMP/n1" "$T_TMP/n2" "$T_TMP/n3" | sort | tr '\n' ' ')" "200 200 429 " &&
	cat "$T_TMP/m1" "$T_TMP/m2" "$T_TMP/m3" | grep -qx 'max connections reached: 2' &&
	ok "max-conn-amount 2 (client.ip): the third request in flight gets 429" ||
	fail "max-conn: $(cat "$T_TMP/n1" "$T_TMP/n2" "$T_TMP/n3" "$T_TMP/m3" | tr '\n' ' ')"
is "$(post svclim.test --data-binary @"$T_TMP/1k")" 413 &&
	is "$(post svclim.test -H 'Transfer-Encoding: chunked' --data-binary @"$T_TMP/1k")" 413 &&
	is "$(post svclim.test --data-binary "small")" 200 &&
	ok "buffering maxrequestbodybytes 1000: 413 (Content-Length or chunked), smaller bodies pass" ||
	fail "buffering body limit"
grep -q 'buffering: bodies are streamed' "$T_TMP/ingressd.log" && ok "... the memory sizes said not to apply" ||
	fail "buffering note"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: lone.test' http://127.0.0.1:$HTTP/)" 500 &&
	grep -q 'max-conn-extractor-func ""' "$T_TMP/ingressd.log" &&
	ok "max-conn-amount without its extractor (Traefik dropped it): 500, said" || fail "lone max-conn"

# ---- the client table full (ING_MAX_RATE_KEYS=8)
cc -std=c11 -O1 -DING_MAX_RATE_KEYS=8 -o "$T_TMP/ingressd8" ingressd.c port/posix.c port/ev_epoll.c port/tls_bearssl.c -l:libbearssl.a ||
	fail "the small-table build"
kill $IPID
HTTP=$(free_port)
WEB=$(free_port)
conf_std "$T_TMP/i.conf" $HTTP $WEB
B=$T_TMP/ingressd8
start_ingressd
ready "the small-table build is ready"
n=0
for i in $(seq 10 89); do
	is "$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.$i -H 'Host: rps.test' http://127.0.0.1:$HTTP/)" 200 && n=$((n + 1))
done
has "$(curl -s http://127.0.0.1:$WEB/metrics)" 'ingressd_rate_limit_evictions_total 7[2-9]' && is $n 80 &&
	ok "80 clients through a table of 8: each served, idle ones evicted" || fail "eviction: $n served"
for i in $(seq 100 107); do
	curl -s -o /dev/null --interface 127.0.0.$i -H 'Host: conn.test' http://127.0.0.1:$HTTP/slow/1500 &
done
sleep 0.5
is "$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.120 -H 'Host: conn.test' http://127.0.0.1:$HTTP/)" 503 &&
	ok "a table full of clients in flight: a new client gets 503, never unlimited" || fail "full table let a new client in"
grep -q "ING_MAX_RATE_KEYS" "$T_TMP/ingressd.log" && ok "the limit hit is logged naming it" || fail "ING_MAX_RATE_KEYS not logged"
finish
