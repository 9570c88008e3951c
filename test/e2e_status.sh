#!/bin/sh
# test/e2e_status.sh [BINARY] - the Ingress status against the stand-in API
# server, where the faults run: [kubernetes.ingressEndpoint] ip, hostname
# and publishedService (followed when the Service's status changes, and
# after a SIGHUP), only Ingresses of ingressd's class written, a class that
# moves away cleared, no writes once converged (also with a second
# replica), a forced 409, 500s, a missing RBAC right (403) and a slow API
# server never touching routing. test/e2e_kube.sh does the same on the
# real kube-apiserver with kubectl.
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
B=${1:-./ingressd}
suite e2e_status
EVENTUALLY_WAIT=100

API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
WEB=$(free_port)
P1=$(free_port)
TOK=status-token-$$
echo "$TOK" >"$T_TMP/tokens"
start_api --token-file "$T_TMP/tokens"
backend 127.0.0.1:$P1 b1
wait_port $API && wait_port $CTL && wait_port $P1 || abort "helpers did not start"
ctl() { curl -sf -X POST -d "$2" "http://127.0.0.1:$CTL$1" >/dev/null; }
namespace t
service_s1
# the address of Ingress t/NAME as its status has it: "ip,hostname;..."
addr() {
	curl -s -H "Authorization: Bearer $TOK" "http://127.0.0.1:$API/apis/networking.k8s.io/v1/namespaces/t/ingresses/$1" |
		python3 -c 'import json,sys; o=json.load(sys.stdin); print(";".join("%s,%s" % (e.get("ip",""), e.get("hostname","")) for e in o.get("status",{}).get("loadBalancer",{}).get("ingress",[])))'
}
addr_is() { [ "$(addr "$1")" = "$2" ]; }
routed() { get "$1" "$2" | grep -q "$3"; }
# status patches the stand-in received so far
patches() { curl -s "http://127.0.0.1:$CTL/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"].get("patch:ingresses/status", 0))'; }
metric() { curl -s "http://127.0.0.1:$WEB/metrics" | awk -v k="ingressd_status_writes_total{result=\"$1\"}" '$1 == k {print $2}'; }
# the Service kube-system/edge with STATUS (a YAML list) as its load balancer's
edge_status() {
	kapply <<EOF
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: kube-system}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80}]
status: {loadBalancer: {ingress: $1}}
EOF
}
other_class() { # Ingress t/NAME of class CLASS with STATUS (a YAML list)
	kapply <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: $1, namespace: t}
spec:
  ingressClassName: $2
  rules:
  - host: $1.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: s1, port: {number: 80}}}}
status: {loadBalancer: {ingress: $3}}
EOF
}
ingress_s1 a a.test
other_class nginx nginx '[{ip: 203.0.113.9}]'
conf_std "$T_TMP/i.conf" $HTTP $WEB "" '[kubernetes.ingressEndpoint]
ip = "192.0.2.10"'
echo "token = \"$TOK\"" >>"$T_TMP/i.conf"
start_ingressd
ready

# ---- ip
WAIT=20 eventually "ip: the Ingress shows the address within 2 s" addr_is a '192.0.2.10,'
has "$(curl -s "http://127.0.0.1:$WEB/api/providers")" '"ingressStatus":{"source":"ip/hostname","address":\[{"ip":"192.0.2.10"}\]' &&
	ok "/api/providers: the published address" || fail "/api/providers: the published address"
is "$(addr nginx)" "203.0.113.9," && ok "an Ingress of another class is not touched" || fail "other class touched: $(addr nginx)"
n0=$(patches)
# a change of labels through the API (not the control port, which replaces
# the whole object, status included): a MODIFIED event, nothing to write
curl -s -o /dev/null -X PATCH -H "Authorization: Bearer $TOK" -H 'Content-Type: application/merge-patch+json' \
	-d '{"metadata":{"labels":{"touched":"yes"}}}' "http://127.0.0.1:$API/apis/networking.k8s.io/v1/namespaces/t/ingresses/a"
sleep 1
is "$(patches)" "$n0" && is "$(metric written)" 1 && ok "converged: no more writes (1 written)" ||
	fail "writes after convergence: $n0 -> $(patches), written $(metric written)"

# ---- a second replica with the same config makes no write
HTTP2=$(free_port)
WEB2=$(free_port)
sed -e "s/:$HTTP\"/:$HTTP2\"/" -e "s/:$WEB\"/:$WEB2\"/" "$T_TMP/i.conf" >"$T_TMP/i2.conf"
$B -c "$T_TMP/i2.conf" 2>"$T_TMP/ingressd2.log" &
I2=$!
at_exit "kill $I2"
eventually "second replica ready" sh -c "curl -sf http://127.0.0.1:$WEB2/ready"
sleep 1
is "$(patches)" "$n0" && ok "a second replica makes no write" || fail "replicas fight: $n0 -> $(patches) patches"
kill $I2

# ---- hostname, then publishedService, by SIGHUP
sed -i 's/^ip = .*/hostname = "lb.example.com"/' "$T_TMP/i.conf"
kill -HUP $IPID
WAIT=20 eventually "hostname: the Ingress follows a reload" addr_is a ',lb.example.com'
edge_status '[{ip: 10.0.0.5}, {ip: 10.0.0.6}]'
sed -i 's|^hostname = .*|publishedService = "kube-system/edge"|' "$T_TMP/i.conf"
kill -HUP $IPID
WAIT=20 eventually "publishedService: every address of the Service's status" addr_is a '10.0.0.5,;10.0.0.6,'
edge_status '[{ip: 10.0.0.7}]'
WAIT=20 eventually "the Service's status changes: the Ingress follows" addr_is a '10.0.0.7,'
# hostile entries (JSON in an address, a bad name) never reach the patch
edge_status '[{ip: "10.0.0.8\", \"x"}, {hostname: "Evil..x"}, {ip: 10.0.0.9}]'
WAIT=20 eventually "a Service status with malformed entries: only the valid address is published" addr_is a '10.0.0.9,'
grep -q 'kw: Service kube-system/edge: 2 load-balancer address(es) malformed: not published' "$T_TMP/ingressd.log" &&
	ok "... and the malformed ones are logged" || fail "malformed Service status not logged"
edge_status '[{ip: 10.0.0.7}]'
WAIT=20 eventually "and back" addr_is a '10.0.0.7,'

# ---- a class that moves away is cleared; another class's status stays
ingress_s1 b b.test
WAIT=20 eventually "a new Ingress gets the address" addr_is b '10.0.0.7,'
other_class b nginx '[{ip: 10.0.0.7}]'
WAIT=20 eventually "its class moved away: the status is cleared" addr_is b ''
is "$(addr nginx)" "203.0.113.9," && ok "the other class's status stays" || fail "other class touched: $(addr nginx)"

# ---- faults: 409, 500, 403, slow
ctl /fault '{"kind":"status","code":409,"resource":"ingresses","verb":"patch","count":2}'
ingress_s1 c c.test
WAIT=30 eventually "a forced 409 converges" addr_is c '10.0.0.7,'
[ "$(metric conflict)" -ge 2 ] && ok "conflicts counted" || fail "conflicts: $(metric conflict)"
ctl /fault '{"kind":"status","code":500,"resource":"ingresses","verb":"patch","count":2}'
ingress_s1 d d.test
WAIT=50 eventually "500s: retried with back-off and written" addr_is d '10.0.0.7,'
[ "$(metric error)" -ge 2 ] && ok "errors counted" || fail "errors: $(metric error)"
ctl /settings "{\"deny\":{\"$TOK\":[\"ingresses/status\"]}}"
ingress_s1 e e.test
WAIT=10 eventually "without the status right the Ingress is routed" routed e.test /x 'b1 /x'
WAIT=30 eventually "the missing right is logged with the RBAC rule" grep -q 'forbidden (403).*grant patch on ingresses/status' "$T_TMP/ingressd.log"
[ "$(metric forbidden)" -ge 1 ] && ok "forbidden writes counted" || fail "forbidden: $(metric forbidden)"
is "$(addr e)" "" && ok "nothing written without the right" || fail "written: $(addr e)"
ctl /settings '{"deny":{}}'
WAIT=400 eventually "the right granted: written after the back-off" addr_is e '10.0.0.7,'
ctl /fault '{"kind":"drip","bytes_per_sec":400,"resource":"ingresses","verb":"patch","count":2}'
ingress_s1 f f.test
ingress_s1 g g.test
WAIT=10 eventually "a slow status write does not delay routing" routed g.test /y 'b1 /y'
WAIT=300 eventually "slow writes complete" addr_is g '10.0.0.7,'
ctl /fault '{"kind":"reset"}'
kill -0 $IPID && ok "alive" || fail "ingressd died"

# ---- an old server (Ingress extensions/v1beta1 only): written there
kill $IPID
wait $IPID 2>/dev/null
ctl /versions '{"preset":"old"}'
start_ingressd
ready "on an old server"
ingress_s1 old old.test
old_addr() {
	curl -s -H "Authorization: Bearer $TOK" "http://127.0.0.1:$API/apis/extensions/v1beta1/namespaces/t/ingresses/old" |
		jq -r '[.status.loadBalancer.ingress[]?.ip] | join(",")'
}
old_is() { [ "$(old_addr)" = "$1" ]; }
WAIT=20 eventually "extensions/v1beta1: the status is written through the old API" old_is 10.0.0.7
grep -hE 'AddressSanitizer|runtime error' "$T_TMP/ingressd.log" | head -3
finish
