#!/bin/sh
# test/e2e_headers.sh - header annotations end to end with real curl and an
# echo backend: Traefik 1.7's custom-request-headers and
# custom-response-headers (set, remove, canonical names), the secure
# headers (HSTS on HTTPS only unless forced, frame options, nosniff, XSS,
# CSP, referrer policy, public key), is-development, allowed-hosts with
# proxy-headers, the ssl-redirect family with ssl-proxy-headers, nginx's
# CORS (preflight and simple requests), own answers with the security
# headers, and every refusal: header injection, names ingressd owns,
# malformed security values and the limits (500, logged, counted).
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
B=${1:-./ingressd}
suite e2e_headers
EVENTUALLY_WAIT=60
[ -x "$B" ] || abort "no binary $B"

API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
HTTPS=$(free_port)
WEB=$(free_port)
P1=$(free_port)
start_api
backend 127.0.0.1:$P1 b1
wait_port $API && wait_port $CTL && wait_port $P1 || abort "helpers did not start"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 10 -subj /CN=h.test \
	-keyout "$T_TMP/k.pem" -out "$T_TMP/c.pem" >/dev/null 2>&1 || abort "openssl"
conf_std "$T_TMP/i.conf" $HTTP $WEB "" "[entryPoints.https]
address = \"127.0.0.1:$HTTPS\"
[entryPoints.https.tls]
certFile = \"$T_TMP/c.pem\"
keyFile = \"$T_TMP/k.pem\""
start_ingressd
namespace t
service_s1
kapply <<EOF
apiVersion: v1
kind: Service
metadata: {name: none, namespace: t}
spec:
  ports: [{name: http, port: 80}]
EOF
# ing NAME HOST ANNOTATIONS [SERVICE]: Ingress t/NAME for HOST/ (no host: every host)
ing() {
	kapply <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: $1, namespace: t, annotations: $3}
spec:
  rules:
  - $([ -n "$2" ] && echo "host: $2")
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: ${4:-s1}, port: {number: 80}}}}
EOF
}
T=ingress.kubernetes.io
N=nginx.ingress.kubernetes.io
ing custom custom.test "{$T/custom-request-headers: 'x-script-name:/app||X-Drop:', $T/custom-response-headers: 'X-Resp: one||Server:||x-powered-by:ingressd||X-Backend:override'}"
ing secure secure.test "{$T/hsts-max-age: '31536000', $T/hsts-include-subdomains: 'true', $T/hsts-preload: 'true', $T/frame-deny: 'true', $T/content-type-nosniff: 'true', $T/browser-xss-filter: 'true', $T/content-security-policy: \"default-src 'self'\", $T/referrer-policy: no-referrer, $T/public-key: 'pin-sha256=\"abc\"; max-age=10'}"
ing force force.test "{traefik.ingress.kubernetes.io/hsts-max-age: '600', $T/force-hsts: 'true', $T/frame-deny: 'true', $T/custom-frame-options-value: SAMEORIGIN, $T/custom-browser-xss-value: '0', $T/custom-response-headers: 'X-Frame-Options:ALLOW-FROM x'}"
ing own own.test "{$T/frame-deny: 'true', $T/custom-response-headers: 'X-C:1'}" none
ing dev dev.test "{$T/is-development: 'true', $T/hsts-max-age: '60', $T/force-hsts: 'true', $T/allowed-hosts: nobody.test}"
ing hosts hosts.test "{$T/allowed-hosts: 'hosts.test, Alias.test', $T/proxy-headers: X-Forwarded-Host}"
ing sslr sslr.test "{$T/ssl-redirect: 'true', $T/ssl-host: secure.example, $T/ssl-temporary-redirect: 'true', $T/ssl-proxy-headers: 'X-Forwarded-Proto:https'}"
ing sslf sslf.test "{$T/ssl-redirect: 'true', $T/ssl-host: secure.example, $T/ssl-force-host: 'true'}"
ing sslp sslp.test "{$T/ssl-redirect: 'true'}"
ing inj1 inj1.test "{$T/custom-response-headers: \"X-A:ok\\r\\nSet-Cookie: evil=1\"}"
ing inj2 inj2.test "{$T/custom-request-headers: 'Content-Length:5'}"
ing inj3 inj3.test "{$T/custom-request-headers: 'X_Forwarded_For:1.2.3.4'}"
ing inj4 inj4.test "{$T/custom-request-headers: 'X-Real-Ip:1.2.3.4'}"
ing inj5 inj5.test "{$T/custom-response-headers: 'Transfer-Encoding:chunked'}"
ing badb badb.test "{$T/frame-deny: 'yes'}"
ing badn badn.test "{$T/hsts-max-age: '1y'}"
ing cors1 cors1.test "{$N/enable-cors: 'true'}"
ing cors2 cors2.test "{$N/enable-cors: 'true', $N/cors-allow-origin: 'https://a.example, https://*.b.example, bad', $N/cors-allow-credentials: 'false', $N/cors-allow-methods: 'GET, POST', $N/cors-expose-headers: X-Total, $N/cors-max-age: '60'}"
ing snip snip.test "{$N/configuration-snippet: 'more_set_headers \"X: y\";'}"
many=""
i=0
while [ $i -lt 50 ]; do many="${many}X-H$i:v||"; i=$((i + 1)); done
ing many many.test "{$T/custom-response-headers: '$many'}"
big=$(head -c 9000 /dev/zero | tr '\0' 'a')
ing big big.test "{$T/content-security-policy: '$big'}"
ready
eventually "routes built" sh -c "curl -s http://127.0.0.1:$WEB/api/providers | grep -q big.test"

hdrs() { curl -s -D - -o "$T_TMP/body" -H "Host: $1" "$@" | tr -d '\r'; }
shdrs() { h=$1; shift; curl -sk -D - -o "$T_TMP/body" --resolve "$h:$HTTPS:127.0.0.1" "$@" "https://$h:$HTTPS/" | tr -d '\r'; }
code() { h=$1; shift; curl -s -o /dev/null -w "%{http_code}" -H "Host: $h" "$@" "http://127.0.0.1:$HTTP/"; }

# ---- custom headers
out=$(curl -s -H 'Host: custom.test' -H 'X-Drop: x' -H 'X-Script-Name: /evil' http://127.0.0.1:$HTTP/echo)
has "$out" "X-Script-Name: /app" && ! has "$out" "/evil" && ! has "$out" "X-Drop" &&
	ok "custom-request-headers: set (replacing the client's), empty value removes" || fail "request headers: $out"
r=$(hdrs custom.test http://127.0.0.1:$HTTP/echo)
has "$r" "^X-Resp: one$" && has "$r" "^X-Powered-By: ingressd$" && ! has "$r" "^Server:" &&
	ok "custom-response-headers: set, canonical names, empty value removes the pod's" || fail "response headers: $r"
is "$(echo "$r" | grep -c '^X-Backend:')" 1 && has "$r" "^X-Backend: override$" && ok "a pod's header of the same name replaced" ||
	fail "X-Backend not replaced: $r"

# ---- secure headers
r=$(hdrs secure.test http://127.0.0.1:$HTTP/)
has "$r" "^X-Frame-Options: DENY$" && has "$r" "^X-Content-Type-Options: nosniff$" &&
	has "$r" "^X-Xss-Protection: 1; mode=block$" && has "$r" "^Content-Security-Policy: default-src 'self'$" &&
	has "$r" "^Referrer-Policy: no-referrer$" && ok "frame-deny, nosniff, XSS filter, CSP, referrer policy" ||
	fail "secure headers: $r"
! has "$r" "Strict-Transport-Security" && ! has "$r" "Public-Key-Pins" && ok "no HSTS or HPKP over plain HTTP" ||
	fail "HSTS over HTTP: $r"
r=$(shdrs secure.test)
has "$r" "^Strict-Transport-Security: max-age=31536000; includeSubDomains; preload$" &&
	has "$r" '^Public-Key-Pins: pin-sha256="abc"; max-age=10$' && ok "HSTS and HPKP over HTTPS" || fail "HSTS over HTTPS: $r"
r=$(hdrs force.test http://127.0.0.1:$HTTP/)
has "$r" "^Strict-Transport-Security: max-age=600$" && ok "force-hsts: over HTTP too" || fail "force-hsts: $r"
has "$r" "^X-Frame-Options: ALLOW-FROM x$" && has "$r" "^X-Xss-Protection: 0$" &&
	ok "custom values, and custom-response-headers win over the secure ones" || fail "custom values: $r"
r=$(hdrs own.test http://127.0.0.1:$HTTP/)
has "$r" "^HTTP/1.1 503" && has "$r" "^X-Frame-Options: DENY$" && ! has "$r" "X-C:" &&
	ok "own answer on the route: the security headers, not the custom ones (as Traefik)" || fail "own answer: $r"
r=$(hdrs dev.test http://127.0.0.1:$HTTP/)
has "$r" "^HTTP/1.1 200" && ! has "$r" "Strict-Transport" && ok "is-development: no HSTS, no allowed-hosts" ||
	fail "is-development: $r"

# ---- allowed-hosts, proxy-headers
is "$(code hosts.test)" 200 && is "$(code hosts.test -H 'X-Forwarded-Host: alias.test')" 200 &&
	ok "allowed-hosts: Host, or the first proxy-header, listed" || fail "allowed-hosts allowed"
is "$(code hosts.test -H 'X-Forwarded-Host: evil.test')" 500 && ok "allowed-hosts: a host not listed gets 500" ||
	fail "allowed-hosts: $(code hosts.test -H 'X-Forwarded-Host: evil.test')"

# ---- the ssl-redirect family
r=$(hdrs sslr.test http://127.0.0.1:$HTTP/a?b=1)
has "$r" "^HTTP/1.1 307" && has "$r" "^Location: https://secure.example/a?b=1$" &&
	ok "ssl-host, ssl-temporary-redirect: 307 to https://ssl-host" || fail "ssl-host redirect: $r"
is "$(code sslr.test -H 'X-Forwarded-Proto: https')" 200 && ok "ssl-proxy-headers: already SSL, no redirect" ||
	fail "ssl-proxy-headers"
has "$(shdrs sslf.test)" "^Location: https://secure.example/$" && ok "ssl-force-host: HTTPS on another host redirects" ||
	fail "ssl-force-host"
r=$(hdrs sslp.test http://127.0.0.1:$HTTP/x)
has "$r" "^HTTP/1.1 301" && has "$r" "^Location: https://sslp.test:$HTTPS/x$" && ok "ssl-redirect alone: 301 to the HTTPS entry point" ||
	fail "ssl-redirect: $r"

# ---- refused: never sent, 500, logged
for h in inj1 inj2 inj3 inj4 inj5 badb badn many big; do
	is "$(code $h.test)" 500 || fail "$h.test not 500: $(code $h.test)"
done
ok "injection, names ingressd owns, malformed values and limits: 500"
! has "$(hdrs inj1.test http://127.0.0.1:$HTTP/)" "evil" && ok "no injected header line" || fail "injected!"
grep -q "custom-response-headers: a value with CR, LF, NUL" "$T_TMP/ingressd.log" && grep -q "Content-Length is set by ingressd" "$T_TMP/ingressd.log" &&
	grep -q "X_forwarded_for is set by ingressd\|X-Forwarded-For is set by ingressd" "$T_TMP/ingressd.log" &&
	grep -q 'frame-deny "yes" is not a boolean' "$T_TMP/ingressd.log" && ok "each refusal logged with its reason" ||
	fail "refusals not logged"
m=$(curl -s http://127.0.0.1:$WEB/metrics)
has "$m" 'ingressd_limit_hits_total{limit="ING_MAX_ROUTE_EDITS"} [1-9]' &&
	has "$m" 'ingressd_limit_hits_total{limit="ING_MAX_HEADER_ANN_BYTES"} [1-9]' &&
	has "$m" 'ingressd_own_answers_total{code="500",reason="route_config"} [1-9]' && ok "limits and refusals counted" ||
	fail "not counted"
has "$(curl -s http://127.0.0.1:$WEB/api/providers)" '"unsupportedAnnotations":\["nginx.ingress.kubernetes.io/configuration-snippet"\]' &&
	ok "configuration-snippet: listed as not implemented" || fail "snippet not listed"

# ---- CORS
r=$(hdrs cors1.test -X OPTIONS http://127.0.0.1:$HTTP/x)
has "$r" "^HTTP/1.1 204" && has "$r" "^Access-Control-Allow-Origin: \*$" &&
	has "$r" "^Access-Control-Allow-Methods: GET, PUT, POST, DELETE, PATCH, OPTIONS$" &&
	has "$r" "^Access-Control-Allow-Headers: DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization$" &&
	has "$r" "^Access-Control-Allow-Credentials: true$" && has "$r" "^Access-Control-Max-Age: 1728000$" &&
	! has "$r" "X-Backend" && ! has "$r" "Content-Length" && ok "enable-cors: preflight answered 204 with nginx's defaults" ||
	fail "preflight: $r"
has "$(hdrs cors1.test -H 'Origin: https://x.test' http://127.0.0.1:$HTTP/)" "^Access-Control-Allow-Origin: \*$" &&
	ok "simple request: CORS headers on the pod's answer" || fail "cors simple"
r=$(hdrs cors2.test -H 'Origin: https://a.example' http://127.0.0.1:$HTTP/)
has "$r" "^Access-Control-Allow-Origin: https://a.example$" && has "$r" "^Access-Control-Expose-Headers: X-Total$" &&
	! has "$r" "Allow-Credentials" && has "$r" "^Access-Control-Allow-Methods: GET, POST$" &&
	ok "a listed origin echoed; credentials off; methods and expose as given" || fail "cors2: $r"
has "$(hdrs cors2.test -H 'Origin: https://x-1.b.example' http://127.0.0.1:$HTTP/)" "^Access-Control-Allow-Origin: https://x-1.b.example$" &&
	ok "wildcard origin: one label" || fail "wildcard origin"
! has "$(hdrs cors2.test -H 'Origin: https://x.y.b.example' http://127.0.0.1:$HTTP/)" "Access-Control" &&
	! has "$(hdrs cors2.test -H 'Origin: https://evil.example' http://127.0.0.1:$HTTP/)" "Access-Control" &&
	ok "other origins: no CORS headers" || fail "origin not listed got CORS"
r=$(hdrs cors2.test -X OPTIONS -H 'Origin: https://evil.example' http://127.0.0.1:$HTTP/)
has "$r" "X-Backend: b1" && ok "OPTIONS from an origin not allowed goes to the pod" || fail "evil preflight: $r"
has "$(hdrs cors2.test -X OPTIONS -H 'Origin: https://a.example' http://127.0.0.1:$HTTP/)" "^Access-Control-Max-Age: 60$" &&
	ok "preflight of an allowed origin: cors-max-age" || fail "max-age"
grep -q 'cors-allow-origin: "bad" is not scheme://host' "$T_TMP/ingressd.log" && ok "a bad origin left out, logged" || fail "bad origin"
finish
