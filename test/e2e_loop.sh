#!/bin/sh
# test/e2e_loop.sh [BINARY] - the loop at scale (issue 20), end to end:
# 10,000 idle keep-alive connections held while requests flow on others,
# every one of them answered again afterwards; then idle, read and
# upstream deadlines firing on time while thousands of connections sit in
# the deadline heap. make test runs it on the epoll build and the poll()
# one (build/poll, which checks its registrations every turn).
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
suite e2e_loop
B=${1:-./ingressd}
[ -x "$B" ] || abort "no binary $B"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
N=${LOOP_CONNS:-10000}
[ "$(ulimit -n)" -ge $((N + 1000)) ] || abort "open-file limit $(ulimit -n): $N connections need more"

API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
WEB=$(free_port)
P1=$(free_port)
start_api
backend 127.0.0.1:$P1 b1
wait_port $API && wait_port $CTL && wait_port $P1 || abort "helpers did not start" "$T_TMP/api.log"
namespace t
service_s1
kapply <<'EOF2'
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: loop, namespace: t}
spec:
  rules:
  - host: loop.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: s1, port: {number: 80}}}}
EOF2

# ---- 10,000 held while requests flow
conf_std "$T_TMP/i.conf" $HTTP $WEB "" "[respondingTimeouts]
idleTimeout = \"300s\""
start_ingressd
wait_port $HTTP && eventually "routed" sh -c "curl -s -H 'Host: loop.test' http://127.0.0.1:$HTTP/ | grep -q b1" ||
	abort "not routed" "$T_TMP/ingressd.log"
python3 test/loop_conns.py held --addr 127.0.0.1:$HTTP --host loop.test -n "$N" --flow-conns 32 \
	--flow-requests 3000 >"$T_TMP/held.txt" 2>&1
v() { sed -n "s/^$1=//p" "$T_TMP/held.txt"; }
[ "$(v answered)" = "$N" ] && ok "$N connections opened and answered" ||
	fail "$N connections: $(tr '\n' ' ' <"$T_TMP/held.txt")"
[ "$(v flow_ok)" = 3000 ] && [ "$(v flow_bad)" = 0 ] && ok "3,000 requests on 32 other connections while they are held" ||
	fail "flow while held: $(tr '\n' ' ' <"$T_TMP/held.txt")"
[ "$(v second_ok)" = "$N" ] && ok "every held connection answers again afterwards" ||
	fail "second round: $(tr '\n' ' ' <"$T_TMP/held.txt")"
curl -s "http://127.0.0.1:$WEB/metrics" >"$T_TMP/m.txt"
grep -q '^ingressd_limit_hits_total{limit="ING_MAX_CONNS"} [1-9]' "$T_TMP/m.txt" && fail "ING_MAX_CONNS hit" ||
	ok "no connection limit hit"
kill -0 $IPID 2>/dev/null && ok "ingressd alive after holding $N" || fail "ingressd died (see log)"
grep -q "ev: conn .*a change without" "$T_TMP/ingressd.log" && fail "registration check: $(grep -m1 'a change without' "$T_TMP/ingressd.log")"
kill $IPID
wait $IPID 2>/dev/null

# ---- deadlines with thousands in the heap
conf_std "$T_TMP/i.conf" $HTTP $WEB "" "[respondingTimeouts]
idleTimeout = \"2s\"
readTimeout = \"1500ms\"
[forwardingTimeouts]
responseHeaderTimeout = \"1s\""
start_ingressd
wait_port $HTTP && eventually "routed again" sh -c "curl -s -H 'Host: loop.test' http://127.0.0.1:$HTTP/ | grep -q b1" ||
	abort "not routed" "$T_TMP/ingressd.log"
python3 test/loop_conns.py deadlines --addr 127.0.0.1:$HTTP --host loop.test --idle 3000 --partial 500 --slow 20 \
	--slow-path /slow/4000 --idle-ms 2000 --read-ms 1500 --slow-ms 1000 >"$T_TMP/dl.txt" 2>&1
d() { tr ' ' '\n' <"$T_TMP/dl.txt" | sed -n "s/^$1=//p"; }
for k in idle read slow; do
	n=$(d ${k}_n) early=$(d ${k}_early) late=$(d ${k}_late_ms) miss=$(d ${k}_missing)
	if [ -n "$n" ] && [ "$early" = 0 ] && [ "$miss" = 0 ] && [ "$late" -le 750 ]; then
		ok "$k deadline: $n connections, none early, the latest $late ms after it"
	else
		fail "$k deadline: $(tr '\n' ' ' <"$T_TMP/dl.txt")"
	fi
done
[ "$(d idle_answered)" = 3000 ] && ok "the idle ones were answered first" || fail "idle answers: $(d idle_answered)"
[ "$(d slow_504)" = 20 ] && ok "a pod slower than responseHeaderTimeout: 504" || fail "slow: $(d slow_504) of 20 got 504"
kill -0 $IPID 2>/dev/null && ok "ingressd alive" || fail "ingressd died (see log)"
finish
