#!/bin/sh
# test/e2e_fwdauth.sh - forward auth end to end with a real auth service
# (test/authd.py, answering as Authelia and oauth2-proxy): Traefik's
# auth-type forward (auth-url by Service name and by IP, auth-trust-headers,
# auth-response-headers) and nginx's auth-url (auth-signin with and without
# rd, auth-method, auth-response-headers, Set-Cookie, $host routed by
# ingressd); every header passed both ways; no body to the auth service and
# the whole body to the pod after a 2xx; WebSocket behind it; pooled
# connections to the auth service; and every way it fails: down, slow, a
# name that does not resolve, a bad answer, bad annotations - never a pass.
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
B=${1:-./ingressd}
suite e2e_fwdauth
EVENTUALLY_WAIT=60
[ -x "$B" ] || abort "no binary $B"

API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
WEB=$(free_port)
P1=$(free_port)
PA=$(free_port)
DEAD=$(free_port)
start_api
backend 127.0.0.1:$P1 pod
python3 test/authd.py --listen 127.0.0.1:$PA >"$T_TMP/authd.log" 2>&1 &
at_exit "kill $!"
wait_port $API && wait_port $CTL && wait_port $P1 && wait_port $PA || abort "helpers did not start"
conf_std "$T_TMP/i.conf" $HTTP $WEB "" '[forwardingTimeouts]
responseHeaderTimeout = "1s"'
start_ingressd
namespace t
namespace sso
service_s1
kapply <<EOF
apiVersion: v1
kind: Service
metadata: {name: auth, namespace: sso}
spec:
  ports: [{port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: auth-a, namespace: sso, labels: {kubernetes.io/service-name: auth}}
addressType: IPv4
ports: [{port: $PA}]
endpoints:
- addresses: ["127.0.0.1"]
EOF
T=ingress.kubernetes.io
N=nginx.ingress.kubernetes.io
SVC=http://auth.sso.svc.cluster.local
ingress_s1 tf tf.test "{$T/auth-type: forward, $T/auth-url: '$SVC/verify', $T/auth-response-headers: 'Remote-User, Remote-Groups, Remote-Name'}"
ingress_s1 tt tt.test "{$T/auth-type: forward, $T/auth-url: 'http://auth.sso/verify', $T/auth-trust-headers: 'true'}"
ingress_s1 tip tip.test "{$T/auth-type: forward, $T/auth-url: 'http://127.0.0.1:$PA/verify'}"
ingress_s1 tchunk tchunk.test "{$T/auth-type: forward, $T/auth-url: '$SVC/chunked-deny'}"
ingress_s1 tclose tclose.test "{$T/auth-type: forward, $T/auth-url: '$SVC/close-deny'}"
ingress_s1 tbig tbig.test "{$T/auth-type: forward, $T/auth-url: '$SVC/big-ok', $T/auth-response-headers: Remote-User}"
ingress_s1 tdown tdown.test "{$T/auth-type: forward, $T/auth-url: 'http://127.0.0.1:$DEAD/verify'}"
ingress_s1 tslow tslow.test "{$T/auth-type: forward, $T/auth-url: '$SVC/slow'}"
ingress_s1 tdns tdns.test "{$T/auth-type: forward, $T/auth-url: 'http://nowhere.invalid/verify'}"
ingress_s1 tnourl tnourl.test "{$T/auth-type: forward}"
ingress_s1 tbadurl tbadurl.test "{$T/auth-type: forward, $T/auth-url: 'ftp://x/'}"
ingress_s1 ttls ttls.test "{$T/auth-type: forward, $T/auth-url: '$SVC/verify', $T/auth-tls-secret: cert}"
ingress_s1 ng ng.test "{$N/auth-url: '$SVC/oauth2/auth', $N/auth-signin: 'https://login.test/start', $N/auth-response-headers: 'X-Auth-Request-User,X-Auth-Request-Email'}"
ingress_s1 ng2 ng2.test "{$N/auth-url: '$SVC/oauth2/auth', $N/auth-signin: 'https://\$host/oauth2/start?rd=\$escaped_request_uri'}"
ingress_s1 ng3 ng3.test "{$N/auth-url: '$SVC/oauth2/auth', $N/auth-method: GET, $N/auth-request-redirect: 'https://back.test/'}"
ingress_s1 ngerr ngerr.test "{$N/auth-url: '$SVC/error'}"
ingress_s1 ngredir ngredir.test "{$N/auth-url: '$SVC/redirect'}"
ingress_s1 ngbad ngbad.test "{$N/auth-url: '$SVC/oauth2/auth', $N/auth-signin: 'https://\$server_name/x'}"
ingress_s1 ngsnip ngsnip.test "{$N/auth-url: '$SVC/oauth2/auth', $N/auth-snippet: 'return 200;'}"
ingress_s1 own own.test "{$N/auth-url: 'http://\$host/oauth2/auth'}"
kapply <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: oauth2, namespace: sso}
spec:
  rules:
  - host: own.test
    http:
      paths:
      - {path: /oauth2, pathType: Prefix, backend: {service: {name: auth, port: {number: 80}}}}
EOF
ready
eventually "routes built" sh -c "curl -s http://127.0.0.1:$WEB/api/providers | grep -q ngsnip.test"
eventually "the auth-url name resolution failed" grep -q "resolving nowhere.invalid" "$T_TMP/ingressd.log"

# req HOST PATH [curl args]: "status" and the headers and body in $T_TMP/h, $T_TMP/b
req() {
	h=$1
	p=$2
	shift 2
	curl -s -o "$T_TMP/b" -D "$T_TMP/h" -w '%{http_code}' -H "Host: $h" "$@" "http://127.0.0.1:$HTTP$p"
}
hdr() { tr -d '\r' <"$T_TMP/h" | awk -v k="$1" 'tolower($1) == tolower(k) ":" {sub(/^[^:]*: /, ""); print}'; }
last() { curl -s "http://127.0.0.1:$PA/_last"; }
# lastget EXPR: a field of the auth service's last request (Python expression on L)
lastget() { last | python3 -c "import json,sys; L=json.load(sys.stdin)['last']; H={k.lower(): v for k, v in L['headers']}; print($1)"; }

# ---- Traefik: denied, as the auth service answered
is "$(req tf.test '/x?y=1')" 302 && is "$(hdr location)" "https://login.test/?rd=http://tf.test/x?y=1" &&
	is "$(hdr set-cookie)" "auth_flow=1" && is "$(hdr x-custom)" kept && is "$(hdr content-type)" text/html &&
	is "$(cat "$T_TMP/b")" "<a>Found</a>" && ok "Traefik: a 302 from the auth service reaches the client as it is" ||
	fail "Traefik 302: $(cat "$T_TMP/h")"
is "$(req tf.test / -H 'Cookie: sess=forbidden')" 403 && is "$(cat "$T_TMP/b")" "forbidden by policy" &&
	ok "Traefik: 403 with its body" || fail "403"
# ---- Traefik: allowed; what the auth service saw and what the pod sees
head -c 100000 /dev/urandom >"$T_TMP/body"
is "$(req tf.test '/count?y=1' -H 'Cookie: sess=ok' -H 'Remote-User: mallory' -H 'Remote-Name: spoofed' \
	-H 'X-Forwarded-Uri: /evil' -H 'X-Forwarded-Host: evil.test' -H 'Authorization: Bearer t0k' --data-binary @"$T_TMP/body")" 200 &&
	is "$(cut -d' ' -f1 "$T_TMP/b")" 100000 && is "$(cut -d' ' -f2 "$T_TMP/b")" "$(sha256sum "$T_TMP/body" | cut -d' ' -f1)" &&
	ok "Traefik: allowed, and the whole body reaches the pod after the auth answer" || fail "allowed POST: $(cat "$T_TMP/b")"
is "$(lastget "L['method'], L['path'], L['body'], H.get('content-length'), H.get('transfer-encoding')")" \
	"GET /verify 0 None None" && ok "the auth request is a GET without a body" || fail "auth request: $(last)"
is "$(lastget "H['host'], H['x-forwarded-method'], H['x-forwarded-proto'], H['x-forwarded-host'], H['x-forwarded-uri'], H['x-forwarded-for']")" \
	"auth.sso.svc.cluster.local POST http tf.test /count?y=1 127.0.0.1" &&
	is "$(lastget "H['authorization'], H['cookie'], 'x-forwarded-port' in H, 'content-type' in H")" "Bearer t0k sess=ok False True" &&
	ok "X-Forwarded-* as ingressd saw the request (the client's replaced); Authorization and Cookie go along" ||
	fail "forwarded headers: $(last)"
is "$(req tf.test /echo -H 'Cookie: sess=ok' -H 'Remote-User: mallory' -H 'Remote-Name: spoofed' -H 'Remote-Email: e@x')" 200 &&
	grep -qx 'Remote-User: alice' "$T_TMP/b" && grep -qx 'Remote-Groups: admins,dev' "$T_TMP/b" &&
	! grep -qi 'mallory\|spoofed' "$T_TMP/b" && grep -qx 'Remote-Email: e@x' "$T_TMP/b" && ! grep -q 'alice@' "$T_TMP/b" &&
	ok "auth-response-headers: the auth's values replace the client's, a listed one it did not send is dropped, others untouched" ||
	fail "response headers to the pod: $(cat "$T_TMP/b")"
is "$(req tt.test '/a' -H 'Cookie: sess=forbidden' -H 'X-Forwarded-Uri: /trusted' -H 'X-Forwarded-For: 10.9.9.9')" 403 &&
	is "$(lastget "H['x-forwarded-uri'], H['x-forwarded-for'], H['host']")" "/trusted 10.9.9.9, 127.0.0.1 auth.sso" &&
	ok "auth-trust-headers: the client's X-Forwarded-* go along, X-Forwarded-For appended (svc.ns name)" || fail "trust: $(last)"
is "$(req tip.test / -H 'Cookie: sess=ok')" 200 && is "$(lastget "H['host']")" "127.0.0.1:$PA" && ok "auth-url by IP" ||
	fail "by IP: $(last)"
is "$(req tchunk.test /)" 401 && is "$(cat "$T_TMP/b")" "denied in chunks" && ok "a chunked denial's body" || fail "chunked: $(cat "$T_TMP/b")"
is "$(req tclose.test /)" 403 && is "$(cat "$T_TMP/b")" "closed body" && ok "a denial ended by the close" || fail "close"
is "$(req tbig.test /echo)" 200 && grep -qx 'Remote-User: big' "$T_TMP/b" && ok "a 2xx with a 64 KB body passes" || fail "big 2xx"
is "$(python3 test/rawhttp.py ws 127.0.0.1:$HTTP tf.test /ws 'Cookie: sess=ok')" "ws ok" &&
	is "$(python3 test/rawhttp.py ws 127.0.0.1:$HTTP tf.test /ws)" "no 101: HTTP/1.1 302 Found" &&
	ok "WebSocket behind forward auth: upgraded when allowed, not when denied" || fail "websocket"
curl -s "http://127.0.0.1:$PA/_reset" >/dev/null
for i in $(seq 1 30); do req tf.test / -H 'Cookie: sess=ok' >/dev/null; done
n=$(curl -s "http://127.0.0.1:$PA/_last" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['requests'], d['conns'])")
set -- $n
[ "$1" = 30 ] && [ "$2" -le 3 ] && ok "the auth service is asked once per request, on kept-alive connections ($2 for 30)" ||
	fail "pool: $n"

# ---- nginx
is "$(req ng.test '/p?q=1' -X POST -d 'x=1')" 302 &&
	is "$(hdr location)" "https://login.test/start?rd=http%3A%2F%2Fng.test%2Fp%3Fq%3D1" && is "$(hdr set-cookie)" "_oauth2_csrf=1" &&
	ok "nginx: 401 with auth-signin is its redirect, rd= added, the auth's Set-Cookie kept" || fail "signin: $(cat "$T_TMP/h")"
is "$(lastget "L['method'], L['body'], H['x-original-url'], H['x-original-method'], H['x-auth-request-redirect'], H['x-sent-from'], H['x-real-ip']")" \
	"POST 0 http://ng.test/p?q=1 POST /p?q=1 nginx-ingress-controller 127.0.0.1" &&
	ok "nginx: the original method without its body, X-Original-URL and the rest" || fail "nginx request: $(last)"
is "$(req ng2.test '/a b?c=1')" 302 || is "$(req ng2.test '/a%20b?c=1')" 302
is "$(hdr location)" "https://ng2.test/oauth2/start?rd=%2Fa%2520b%3Fc%3D1" && ok "auth-signin variables; its own rd= kept" ||
	fail "signin vars: $(hdr location)"
is "$(req ng.test /echo -H 'Cookie: _oauth2=ok' -H 'X-Auth-Request-User: eve')" 200 &&
	grep -qx 'X-Auth-Request-User: bob' "$T_TMP/b" && grep -qx 'X-Auth-Request-Email: bob@example.test' "$T_TMP/b" &&
	! grep -q eve "$T_TMP/b" && is "$(hdr set-cookie)" "_oauth2=refreshed; Path=/" &&
	ok "nginx: 202 passes, auth-response-headers to the pod, the auth's Set-Cookie to the client" ||
	fail "nginx allowed: $(cat "$T_TMP/h" "$T_TMP/b")"
is "$(req ng3.test /z)" 401 && is "$(hdr www-authenticate)" 'Bearer realm="sso"' &&
	is "$(lastget "L['method'], H['x-original-uri'], H['x-scheme'], H['x-auth-request-redirect']")" "GET /z http https://back.test/" &&
	ok "nginx: 401 without auth-signin (WWW-Authenticate kept); auth-method, auth-request-redirect" || fail "ng3: $(last)"
is "$(req ngerr.test /)" 500 && is "$(req ngredir.test /)" 500 && ok "nginx: another answer of the auth service is 500" ||
	fail "nginx 500"
is "$(req own.test /x -H 'Cookie: _oauth2=ok')" 200 && is "$(req own.test /x)" 401 &&
	is "$(lastget "H['host'], L['path']")" "own.test /oauth2/auth" && ok "nginx: auth-url on \$host is routed by ingressd" ||
	fail "\$host: $(last)"

# ---- failures: never a pass
is "$(req tdown.test /)" 503 && ok "an auth service that refuses connections: 503" || fail "down"
t0=$(date +%s%N)
is "$(req tslow.test /)" 503 && [ $((($(date +%s%N) - t0) / 1000000)) -lt 3000 ] && ok "a slow auth service: 503 at responseHeaderTimeout" ||
	fail "slow"
is "$(req tdns.test /)" 503 && ok "an auth-url name that does not resolve: 503" || fail "dns"
for h in tnourl tbadurl ttls ngbad ngsnip; do
	is "$(req $h.test /)" 401 || fail "$h: not 401"
done
grep -q 'ingress t/tnourl: auth-type forward without auth-url: every request gets 401' "$T_TMP/ingressd.log" &&
	grep -q 'ingress t/tbadurl: auth-url "ftp://x/" is not http(s)' "$T_TMP/ingressd.log" &&
	grep -q 'ingress t/ttls: forward auth: auth-tls-secret .* is not supported' "$T_TMP/ingressd.log" &&
	grep -q 'ingress t/ngbad: forward auth: auth-signin has a variable' "$T_TMP/ingressd.log" &&
	ok "bad forward-auth annotations: 401 for every request, and why in the log" || fail "bad annotations"
has "$(curl -s "http://127.0.0.1:$WEB/api/providers")" '"forwardAuth":{"address":"http://auth.sso.svc.cluster.local/verify","nginx":false,"trustForwardHeader":false}' &&
	ok "/api/providers shows the forward auth" || fail "api"
m=$(curl -s "http://127.0.0.1:$WEB/metrics")
has "$m" 'ingressd_forward_auth_total{result="allowed"} [1-9]' && has "$m" 'ingressd_forward_auth_total{result="failed"} [1-9]' &&
	has "$m" 'ingressd_own_answers_total{code="503",reason="forward_auth_error"} [1-9]' &&
	ok "/metrics counts forward-auth answers and failures" || fail "metrics"
finish
