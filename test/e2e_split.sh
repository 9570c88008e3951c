#!/bin/sh
# test/e2e_split.sh - several Services on one host and path: Traefik 1.x's
# union (by pods), service-weights (90/10, 33.3/33.3/rest, the errors),
# ingress-nginx's canary (weight over 10,000 requests, header, header
# value, header pattern, cookie, their precedence, no endpoints on either
# side, no main Ingress), sticky sessions inside a split, a split under
# endpoint churn, and what /api/providers and /metrics show of it.
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
B=${1:-./ingressd}
suite e2e_split
EVENTUALLY_WAIT=60
[ -x "$B" ] || abort "no binary $B"

API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
WEB=$(free_port)
PA1=$(free_port)
PA2=$(free_port)
PB=$(free_port)
PC=$(free_port)
PK=$(free_port)
start_api
backend 127.0.0.1:$PA1 a1
backend 127.0.0.1:$PA2 a2
backend 127.0.0.1:$PB b
backend 127.0.0.1:$PC c
backend 127.0.0.1:$PK k
wait_port $API && wait_port $CTL && wait_port $PA1 && wait_port $PA2 && wait_port $PB && wait_port $PC &&
	wait_port $PK || abort "helpers did not start"
conf_std "$T_TMP/i.conf" $HTTP $WEB
start_ingressd
namespace t

# service NAME ANNOTATIONS PORT...: Service t/NAME (port 80) with a pod on
# 127.0.0.1 at each PORT (none: no endpoints)
service() {
	s_name=$1
	s_ann=$2
	shift 2
	{
		cat <<EOF
apiVersion: v1
kind: Service
metadata: {name: $s_name, namespace: t, annotations: $s_ann}
spec:
  ports: [{port: 80}]
EOF
		for p in "$@"; do
			cat <<EOF
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: $s_name-$p, namespace: t, labels: {kubernetes.io/service-name: $s_name}}
addressType: IPv4
ports: [{port: $p}]
endpoints:
- addresses: ["127.0.0.1"]
EOF
		done
	} | kapply
}
# ingress NAME HOST ANNOTATIONS SERVICE...: Ingress t/NAME, HOST/ to each
# SERVICE (one path entry each)
ingress() {
	i_name=$1
	i_host=$2
	i_ann=$3
	shift 3
	{
		cat <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: $i_name, namespace: t, annotations: $i_ann}
spec:
  rules:
  - host: $i_host
    http:
      paths:
EOF
		for s in "$@"; do
			echo "      - {path: /, pathType: Prefix, backend: {service: {name: $s, port: {number: 80}}}}"
		done
	} | kapply
}
# tally HOST N [HEADER...]: N requests on one keep-alive connection;
# prints "a1=X b=Y 500=Z" (X-Backend for a 200, else the status)
tally() {
	python3 - "$HTTP" "$@" <<'EOF'
import http.client, sys, collections
port, host, n, extra = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4:]
hdrs = {"Host": host}
for h in extra:
    k, v = h.split(":", 1)
    hdrs[k.strip()] = v.strip()
c = collections.Counter()
h = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
for _ in range(n):
    h.request("GET", "/", headers=hdrs)
    r = h.getresponse()
    r.read()
    c[r.getheader("X-Backend") if r.status == 200 else str(r.status)] += 1
    if r.getheader("Connection", "").lower() == "close":
        h.close()
        h = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))
EOF
}
count_of() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | grep . || echo 0; }
# within N LOW HIGH
within() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
api() { curl -s "http://127.0.0.1:$WEB/api/providers"; }
N=nginx.ingress.kubernetes.io
W=ingress.kubernetes.io/service-weights

service sa '{}' $PA1 $PA2
service sb '{}' $PB
service sc '{}' $PC
service sk '{}' $PK
service se '{}'
service sticky '{ingress.kubernetes.io/affinity: "true"}' $PA1 $PA2

ingress union union.test '{}' sa sb
ingress w9010 w9010.test "{$W: \"sa: 90%\\nsb: 10%\\n\"}" sa sb # block style, as Traefik's docs
ingress w333 w333.test "{$W: '{sa: 33.3%, sb: \"33.3\"}'}" sa sb sc
ingress over over.test "{$W: '{sa: 60%, sb: 50%}'}" sa sb
ingress under under.test "{$W: '{sa: 50%}'}" sa
ingress unknown unknown.test "{$W: '{sx: 10%}'}" sa sb
ingress badw badw.test "{$W: '{sa: ten}'}" sa sb
ingress twice twice.test '{}' sa sa
ingress cw cw.test '{}' sb
ingress cw-canary cw.test "{$N/canary: 'true', $N/canary-weight: '10'}" sk
ingress ct cw1k.test '{}' sb
ingress ct-canary cw1k.test "{$N/canary: 'true', $N/canary-weight: '250', $N/canary-weight-total: '1000'}" sk
ingress ch ch.test '{}' sb
ingress ch-canary ch.test "{$N/canary: 'true', $N/canary-by-header: X-Canary}" sk
ingress chv chv.test '{}' sb
ingress chv-canary chv.test "{$N/canary: 'true', $N/canary-by-header: X-Ver, $N/canary-by-header-value: v2}" sk
ingress chp chp.test '{}' sb
ingress chp-canary chp.test "{$N/canary: 'true', $N/canary-by-header: X-Ver, $N/canary-by-header-pattern: '^(beta|v[2-9])$'}" sk
ingress cc cc.test '{}' sb
ingress cc-canary cc.test "{$N/canary: 'true', $N/canary-by-cookie: canary, $N/canary-weight: '100'}" sk
ingress chc chc.test '{}' sb
ingress chc-canary chc.test "{$N/canary: 'true', $N/canary-by-header: X-C, $N/canary-by-cookie: ck}" sk
ingress cn cn.test '{}' sb
ingress cn-canary cn.test "{$N/canary: 'true', $N/canary-weight: '100', $N/canary-by-header: X-C}" se
ingress cm cm.test '{}' se
ingress cm-canary cm.test "{$N/canary: 'true'}" sk
ingress orphan orphan.test "{$N/canary: 'true', $N/canary-weight: '100'}" sk
ingress two two.test '{}' sb
ingress two-c1 two.test "{$N/canary: 'true', $N/canary-weight: '100'}" sk
ingress two-c2 two.test "{$N/canary: 'true', $N/canary-weight: '100'}" sc
ingress lone lone.test "{$N/canary-weight: '50'}" sb
ingress st st.test '{}' sticky sb
ready
eventually "routes built" sh -c "curl -s http://127.0.0.1:$WEB/api/providers | grep -q st.test"

# ---- Traefik 1.x's union: by pods (sa has two, sb one)
r=$(tally union.test 600)
a=$(($(count_of "$r" a1) + $(count_of "$r" a2)))
within "$a" 340 460 && within "$(count_of "$r" b)" 140 260 && within "$(count_of "$r" a1)" 170 230 &&
	ok "two Services on one path: shared by pods ($r)" || fail "union: $r"
grep -q 'ingress t/union: union.test/: 2 Services share it' "$T_TMP/ingressd.log" &&
	ok "the union is said once at INFO" || fail "union log"
is "$(tally twice.test 50)" "a1=25 a2=25" && ok "a Service listed twice is one Service (not twice the share)" ||
	fail "twice: $(tally twice.test 50)"

# ---- service-weights
r=$(tally w9010.test 2000)
within "$(count_of "$r" b)" 140 260 && ok "service-weights 90/10 ($r)" || fail "90/10: $r"
r=$(tally w333.test 3000)
within "$(count_of "$r" c)" 900 1100 && within "$(count_of "$r" b)" 900 1100 &&
	within "$(($(count_of "$r" a1) + $(count_of "$r" a2)))" 900 1100 &&
	ok "33.3%, 33.3% (a number or a string) and the rest for the unlisted ($r)" || fail "33.3: $r"
has "$(api)" '"backend":"t/sa:80","weight":90000,"servers":2' && has "$(api)" '"backend":"t/sb:80","weight":10000' &&
	ok "/api/providers shows the split with its shares" || fail "api split: $(api | head -c 600)"
is "$(tally over.test 3)" "500=3" && grep -q 'service-weights: the Services of over.test/ add up to 110.000%, over 100%' \
	"$T_TMP/ingressd.log" && ok "over 100%: 500, said" || fail "over 100%"
is "$(tally under.test 3)" "500=3" && grep -q 'under.test/ add up to 50.000%, and no other Service shares the rest' \
	"$T_TMP/ingressd.log" && ok "under 100% with none unlisted: 500, said" || fail "under 100%"
is "$(tally unknown.test 3)" "500=3" && grep -q 'Service sx is not a backend of this Ingress' "$T_TMP/ingressd.log" &&
	ok "a Service the Ingress does not route to: 500, said" || fail "unknown Service"
is "$(tally badw.test 3)" "500=3" && grep -q 'service-weights: "sa": a Service and a percentage' "$T_TMP/ingressd.log" &&
	ok "a bad percentage: 500, said" || fail "bad percentage"

# ---- nginx canary
r=$(tally cw.test 10000)
within "$(count_of "$r" k)" 800 1200 && is "$(($(count_of "$r" k) + $(count_of "$r" b)))" 10000 &&
	ok "canary-weight 10: within 10 +- 2% of 10,000 ($r)" || fail "canary weight: $r"
r=$(tally cw1k.test 2000)
within "$(count_of "$r" k)" 400 600 && ok "canary-weight 250 of canary-weight-total 1000 ($r)" || fail "weight total: $r"
is "$(tally ch.test 20 'X-Canary: always')" "k=20" && is "$(tally ch.test 20 'X-Canary: never')" "b=20" &&
	is "$(tally ch.test 20)" "b=20" && is "$(tally ch.test 20 'X-Canary: yes')" "b=20" &&
	ok "canary-by-header: always, never, absent, another value" || fail "by header"
is "$(tally chv.test 20 'X-Ver: v2')" "k=20" && is "$(tally chv.test 20 'X-Ver: v1')" "b=20" &&
	is "$(tally chv.test 20 'X-Ver: always')" "b=20" && ok "canary-by-header-value (then always is just a value)" ||
	fail "by header value"
is "$(tally chp.test 20 'X-Ver: beta')" "k=20" && is "$(tally chp.test 20 'X-Ver: v7')" "k=20" &&
	is "$(tally chp.test 20 'X-Ver: gamma')" "b=20" && is "$(tally chp.test 20 'X-Ver: v10')" "b=20" &&
	ok "canary-by-header-pattern" || fail "by pattern"
is "$(tally cc.test 20 'Cookie: a=1; canary=never')" "b=20" && is "$(tally cc.test 20 'Cookie: canary=always')" "k=20" &&
	is "$(tally cc.test 20)" "k=20" && ok "canary-by-cookie: never beats the weight, always; none: the weight" ||
	fail "by cookie"
is "$(tally chc.test 20 'X-C: never' 'Cookie: ck=always')" "b=20" &&
	is "$(tally chc.test 20 'X-C: always' 'Cookie: ck=never')" "k=20" &&
	is "$(tally chc.test 20 'Cookie: ck=always')" "k=20" && ok "the header comes before the cookie" ||
	fail "header before cookie"
is "$(tally cn.test 20 'X-C: always')" "b=20" && has "$(api)" '"backend":"t/se:80","weight":0,"servers":0,"note":"no ready endpoints' &&
	ok "a canary without endpoints: everything to the main Service, said in /api/providers" || fail "canary no endpoints"
is "$(tally cm.test 20)" "k=20" && ok "a main Service without endpoints: everything to the canary" || fail "main no endpoints"
is "$(tally orphan.test 3)" "404=3" && grep -q 'ingress t/orphan: orphan.test/ is a canary, and no other Ingress routes it' \
	"$T_TMP/ingressd.log" && ok "a canary without a main Ingress: not served, said" || fail "orphan canary"
is "$(tally two.test 20)" "k=20" && grep -q 'ingress t/two-c2: two.test/ is a second canary' "$T_TMP/ingressd.log" &&
	ok "one canary per route: the second is said and not served" || fail "two canaries"
grep -q 'ingress t/lone: canary-\* annotations without canary "true" (canary ""): ignored' "$T_TMP/ingressd.log" &&
	is "$(tally lone.test 3)" "b=3" && ok "canary-* without canary: said, ignored" || fail "lone canary-weight"

# ---- sticky inside a split: the client stays on its pod of the sticky Service
python3 - "$HTTP" >"$T_TMP/sticky" <<'EOF'
import http.client, sys
port = int(sys.argv[1])
def get(cookie=None):
    h = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    hd = {"Host": "st.test"}
    if cookie: hd["Cookie"] = cookie
    h.request("GET", "/", headers=hd)
    r = h.getresponse(); r.read(); h.close()
    return r.getheader("X-Backend"), r.getheader("Set-Cookie")
cookie = None
for _ in range(100):
    b, sc = get()
    if sc:
        cookie = sc.split(";")[0]; first = b; break
seen = set(get(cookie)[0] for _ in range(30))
print(first, " ".join(sorted(seen)))
EOF
read first seen <"$T_TMP/sticky"
case "$first" in a1 | a2) is "$seen" "$first" ;; *) false ;; esac &&
	ok "sticky inside a split: 30 requests with the cookie stay on $first" || fail "sticky in split: $(cat "$T_TMP/sticky")"

# ---- churn: sb loses its pod, then gets it back
kdelete endpointslices/t/sb-$PB
eventually "sb without endpoints: said in /api/providers" sh -c "curl -s http://127.0.0.1:$WEB/api/providers | grep -q '\"backend\":\"t/sb:80\",\"weight\":0,\"servers\":0'"
r=$(tally union.test 100)
is "$(($(count_of "$r" a1) + $(count_of "$r" a2)))" 100 && ok "a Service without endpoints takes none of the split ($r)" ||
	fail "churn down: $r"
service sb '{}' $PB
eventually "sb back" sh -c "curl -s http://127.0.0.1:$WEB/api/providers | grep -q '\"backend\":\"t/sb:80\",\"weight\":1,\"servers\":1'"
r=$(tally union.test 300)
within "$(count_of "$r" b)" 60 140 && ok "and its share again when it is back ($r)" || fail "churn up: $r"

# ---- per-Service counters
m=$(curl -s "http://127.0.0.1:$WEB/metrics")
has "$m" 'ingressd_requests_total{entrypoint="http",backend="t/sk:80",method="GET",code="200"}' &&
	has "$m" 'ingressd_requests_total{entrypoint="http",backend="t/sb:80",method="GET",code="200"}' &&
	ok "/metrics counts each Service of a split" || fail "metrics"
finish
