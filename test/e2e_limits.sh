#!/bin/sh
# test/e2e_limits.sh - limits end to end: nginx's proxy-body-size (units,
# 0 = none, a bad value refused; 413 before anything is forwarded when
# Content-Length says so, a chunked body cut at the limit), and nginx's
# limit-rps / limit-rpm / limit-burst-multiplier measured over time,
# limit-connections with slow pods, limit-whitelist, and the client table
# on a build with ING_MAX_RATE_KEYS=8 (least recently used idle clients
# evicted; never room made by dropping a client with requests in flight).
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

# ---- the client table full (ING_MAX_RATE_KEYS=8)
cc -std=c11 -O1 -DING_MAX_RATE_KEYS=8 -o "$T_TMP/ingressd8" ingressd.c port/posix.c port/tls_bearssl.c -l:libbearssl.a ||
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
