#!/bin/sh
# test/e2e_balance.sh - balancing, sticky sessions and circuit breakers end
# to end, from Service annotations (on the stand-in API server) to traffic
# observed by real curl on real backends: wrr spreads evenly; under drr a
# backend that starts answering 500 loses traffic share; sticky requests
# stay on one server and move (with a new cookie) when it is removed;
# NetworkErrorRatio() trips when the backend is killed and recovers after
# it returns; LatencyAtQuantileMS(50.0) trips on a slow backend. The two
# backends of a Service listen on 127.0.0.2 and 127.0.0.3, same port, as
# two pods would. Takes about 40 s (the drr window is 10 s, the breaker's
# fallback and recovery 10 s each).
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
suite e2e_balance
B=${1:-./ingressd}

API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
WEB=$(free_port)
P=$(free_port)  # the pods' port, on 127.0.0.2 and 127.0.0.3
PB=$(free_port) # the breaker's backend, 127.0.0.4
FAIL="$T_TMP/b2-fails"

start_api
backend 127.0.0.2:$P b1
backend 127.0.0.3:$P b2 --fail-file "$FAIL"
start_pb() {
	python3 test/backend.py --listen 127.0.0.4:$PB --name pb >/dev/null 2>&1 &
	PBPID=$!
}
start_pb
at_exit 'kill $PBPID'
wait_port $API && wait_port $CTL && wait_port $P 127.0.0.2 && wait_port $P 127.0.0.3 && wait_port $PB 127.0.0.4 ||
	abort "helpers did not start"

# A Service NAME with annotations ANN ("{...}") whose ready endpoints are
# the addresses ADDR... on port PORT.
service() { # NAME ANN PORT ADDR...
	name=$1 ann=$2 port=$3
	shift 3
	addrs=$(printf '"%s",' "$@" | sed 's/,$//')
	kapply <<EOF
apiVersion: v1
kind: Service
metadata: {name: $name, namespace: t, annotations: $ann}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: $name-x, namespace: t, labels: {kubernetes.io/service-name: $name}}
addressType: IPv4
ports: [{name: http, port: $port}]
endpoints:
- addresses: [$addrs]
  conditions: {ready: true}
EOF
}
# An Ingress routing host NAME.test to Service NAME.
route() {
	kapply <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: $1, namespace: t}
spec:
  rules:
  - host: $1.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: $1, port: {number: 80}}}}
EOF
}
# tally HOST N [PATH [PAUSE]]: N requests, PAUSE seconds apart; prints
# "b1=X b2=Y 500=Z 503=W ..." (backend names for 200s, else the status)
tally() {
	python3 - "$HTTP" "$1" "$2" "${3:-/}" "${4:-0}" <<'EOF'
import http.client, sys, collections, time
port, host, n, path, pause = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
c = collections.Counter()
for _ in range(n):
    time.sleep(pause)
    h = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    h.request("GET", path, headers={"Host": host})
    r = h.getresponse()
    r.read()
    c[r.getheader("X-Backend") if r.status == 200 else str(r.status)] += 1
    h.close()
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))
EOF
}
count_of() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | grep . || echo 0; }
metric() { curl -s "http://127.0.0.1:$WEB/metrics" | grep "^$1" | awk '{print $2}'; }

namespace t
service wrr '{}' $P 127.0.0.2 127.0.0.3
service drr '{traefik.backend.loadbalancer.method: drr}' $P 127.0.0.2 127.0.0.3
service sticky '{traefik.backend.loadbalancer.sticky: "true"}' $P 127.0.0.2 127.0.0.3
service named '{ingress.kubernetes.io/affinity: "true", ingress.kubernetes.io/session-cookie-name: "my cookie"}' $P 127.0.0.2 127.0.0.3
service brk '{traefik.backend.circuitbreaker: "NetworkErrorRatio() > 0.5"}' $PB 127.0.0.4
service slow '{ingress.kubernetes.io/circuit-breaker-expression: "LatencyAtQuantileMS(50.0) > 100"}' $P 127.0.0.2
service bogus '{traefik.backend.loadbalancer.method: random}' $P 127.0.0.2 127.0.0.3
for r in wrr drr sticky named brk slow bogus; do route $r; done

conf_std "$T_TMP/i.conf" $HTTP $WEB 'logLevel = "DEBUG"' '[forwardingTimeouts]
dialTimeout = "2s"'
start_ingressd
wait_port $HTTP
ready
eventually "routes live" sh -c "curl -s -H 'Host: bogus.test' http://127.0.0.1:$HTTP/ | grep -q '^b[12] '"

# ---- wrr: even, alternating, deterministic
t=$(tally wrr.test 20)
is "$t" "b1=10 b2=10" && ok "wrr splits 20 requests 10/10" || fail "wrr split: $t"
seq=$(for i in 1 2 3 4; do curl -s -H 'Host: wrr.test' "http://127.0.0.1:$HTTP/" | cut -c1-2; done | tr -d '\n')
{ is "$seq" "b1b2b1b2" || is "$seq" "b2b1b2b1"; } && ok "wrr alternates (no bursts)" || fail "wrr sequence $seq"
t=$(tally bogus.test 10)
is "$t" "b1=5 b2=5" && ok "unknown method: wrr" || fail "unknown method split: $t"
grep -q 'load-balancer method "random" is not wrr or drr; using wrr' "$T_TMP/ingressd.log" && ok "unknown method logged" ||
	fail "unknown method not logged"

# ---- sticky: one server; moves, with a new cookie, when it is removed
J="$T_TMP/jar"
first=$(curl -s -c "$J" -b "$J" -H 'Host: sticky.test' "http://127.0.0.1:$HTTP/" | cut -c1-2)
grep -q '_TRAEFIK_BACKEND' "$J" && ok "sticky=true: cookie _TRAEFIK_BACKEND" || fail "no _TRAEFIK_BACKEND cookie"
grep -q '#HttpOnly_' "$J" && ok "sticky cookie HttpOnly" || fail "sticky cookie not HttpOnly"
if grep '_TRAEFIK_BACKEND' "$J" | grep -q '127\.0\.0\.'; then fail "sticky cookie leaks the pod address"; else ok "sticky cookie opaque"; fi
same=1
for i in 1 2 3 4 5 6; do
	b=$(curl -s -c "$J" -b "$J" -H 'Host: sticky.test' "http://127.0.0.1:$HTTP/" | cut -c1-2)
	[ "$b" = "$first" ] || same=0
done
[ $same -eq 1 ] && ok "sticky: 6 requests on $first" || fail "sticky requests moved"
old=$(grep '_TRAEFIK_BACKEND' "$J" | awk '{print $7}')
if [ "$first" = b1 ]; then keep=127.0.0.3 other=b2; else keep=127.0.0.2 other=b1; fi
service sticky '{traefik.backend.loadbalancer.sticky: "true"}' $P $keep
eventually "sticky: server removed, request moves" sh -c "curl -s -c '$J' -b '$J' -H 'Host: sticky.test' http://127.0.0.1:$HTTP/ | grep -q '^$other '"
new=$(grep '_TRAEFIK_BACKEND' "$J" | awk '{print $7}')
[ -n "$new" ] && [ "$new" != "$old" ] && ok "sticky: a new cookie for the new server" || fail "sticky cookie not re-set ($old -> $new)"
h=$(curl -s -D - -o /dev/null -H 'Host: named.test' "http://127.0.0.1:$HTTP/" | tr -d '\r' | grep -i '^set-cookie:')
echo "$h" | grep -q 'my_cookie=' && ok "session-cookie-name sanitised to my_cookie" || fail "named cookie: $h"
echo "$h" | grep -q 'Path=/' && ok "cookie Path=/" || fail "cookie path: $h"

# ---- stickyKeyFile: replicas (or a restart) with the same secret honour
# each other's cookies; one without it (a random key) pins the client anew
head -c 32 /dev/urandom | base64 >"$T_TMP/sticky.key"
replica() { # NAME [stickyKeyFile line]: another ingressd on the same API server; its port in $RP
	RP=$(free_port)
	rw=$(free_port)
	conf_std "$T_TMP/$1.conf" $RP $rw "$2"
	$B -c "$T_TMP/$1.conf" 2>"$T_TMP/$1.log" &
	at_exit "kill $!"
	wait_port $RP && WEB=$rw ready "replica $1 ready"
}
replica r1 "stickyKeyFile = \"$T_TMP/sticky.key\""
R1=$RP
replica r2 "stickyKeyFile = \"$T_TMP/sticky.key\""
R2=$RP
replica r3
R3=$RP
J2=$T_TMP/jar2
pinned=$(curl -s -c "$J2" -H 'Host: named.test' "http://127.0.0.1:$R1/" | cut -c1-2)
moved=0 reset=0
for i in 1 2 3 4 5 6; do
	hdrs=$(curl -s -D - -b "$J2" -H 'Host: named.test' "http://127.0.0.1:$R2/" | tr -d '\r')
	echo "$hdrs" | tail -n 1 | grep -q "^$pinned " || moved=$((moved + 1))
	echo "$hdrs" | grep -qi '^set-cookie:' && reset=$((reset + 1))
done
[ -n "$pinned" ] && [ $moved -eq 0 ] && [ $reset -eq 0 ] &&
	ok "stickyKeyFile: another replica keeps the client on $pinned, no new cookie" ||
	fail "stickyKeyFile: replica moved $moved of 6, set $reset new cookies (pinned ${pinned:-none})"
curl -s -D - -o /dev/null -b "$J2" -H 'Host: named.test' "http://127.0.0.1:$R3/" | tr -d '\r' | grep -qi '^set-cookie: my_cookie=' &&
	ok "... a replica without the key pins the client anew" || fail "a replica without stickyKeyFile accepted the cookie"

# ---- drr: a server that starts failing loses its share
t=$(tally drr.test 10)
is "$t" "b1=5 b2=5" && ok "drr starts even" || fail "drr start: $t"
touch "$FAIL"
# the meters need 10 s of traffic on every server before the first rebalance
python3 - "$HTTP" <<'EOF'
import http.client, sys, time
end = time.time() + 12
while time.time() < end:
    h = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
    h.request("GET", "/", headers={"Host": "drr.test"})
    h.getresponse().read()
    h.close()
    time.sleep(0.02)
EOF
t=$(tally drr.test 50)
good=$(count_of "$t" b1)
[ "$good" -ge 35 ] && ok "drr: the failing server lost its share ($t)" || fail "drr shares after failures: $t"
grep -q 'drr weights rebalanced' "$T_TMP/ingressd.log" && ok "drr rebalance logged" || fail "drr rebalance not logged"
rm -f "$FAIL"

# ---- breaker: NetworkErrorRatio() > 0.5 trips when the backend dies
is "$(tally brk.test 3)" "pb=3" && ok "breaker backend serves" || fail "breaker backend"
kill $PBPID
wait $PBPID 2>/dev/null
t=$(tally brk.test 20 / 0.03) # the expression is checked at most every 100 ms
n503=$(count_of "$t" 503)
[ "$n503" -ge 10 ] && ok "breaker tripped on a dead backend ($t)" || fail "breaker did not trip: $t"
is "$(metric 'ingressd_backend_breaker_state{backend="t/brk:80"}')" 1 && ok "breaker state 1 (tripped) in /metrics" ||
	fail "breaker state: $(metric 'ingressd_backend_breaker_state{backend="t/brk:80"}')"
grep -q 'tripped; answering 503' "$T_TMP/ingressd.log" && ok "trip logged" || fail "trip not logged"
start_pb
wait_port $PB 127.0.0.4
# 10 s tripped, then 10 s of a rising share, then standby
sleep 10
t=$(tally brk.test 60 / 0.1)
{ [ "$(count_of "$t" pb)" -ge 5 ] && [ "$(count_of "$t" 503)" -ge 5 ]; } &&
	ok "recovering: a rising share passes ($t)" || fail "recovery share: $t"
WAIT=150 eventually "breaker back to standby" sh -c "curl -s http://127.0.0.1:$WEB/metrics | grep -q '^ingressd_backend_breaker_state{backend=\"t/brk:80\"} 0'"
is "$(tally brk.test 10)" "pb=10" && ok "recovered: every request passes" || fail "after recovery"

# ---- breaker: LatencyAtQuantileMS(50.0) > 100 trips on a slow backend
t=$(tally slow.test 4 /slow/150)
t=$(tally slow.test 5 /slow/150)
[ "$(count_of "$t" 503)" -ge 4 ] && ok "latency breaker tripped on a slow backend ($t)" || fail "latency breaker: $t"
tr=$(metric 'ingressd_backend_breaker_trips_total{backend="t/slow:80"}')
[ "${tr:-0}" -ge 1 ] && ok "latency trip counted" || fail "latency trips: $tr"

kill $IPID
finish
