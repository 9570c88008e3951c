#!/bin/sh
# test/e2e_dashboard.sh - the dashboard (GET /dashboard/ on the admin
# listener): how it is served (gzip only, 406 otherwise, its CSP, the
# redirect from /, read-only), then the page in Debian's headless chromium
# (test/dashboard.py) against ingressd fed by the stand-in API server: a
# whitelisted Ingress, an invalid whitelist, an Ingress skipped for a
# broken annotation, a backend whose breaker tripped, a certificate
# expiring in 5 days, a missing TLS Secret - each shown with its state in
# the rendered DOM; the search box; a new Ingress on the page within one
# refresh; phone-sized; no console error, no CSP violation. Screenshots:
# build/dashboard.png and build/dashboard-phone.png.
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
suite e2e_dashboard
B=${1:-./ingressd}
command -v chromium >/dev/null || abort "chromium is installed (make deps)"

API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
HTTPS=$(free_port)
WEB=$(free_port)
P1=$(free_port)
DEAD=$(free_port) # nothing listens: the breaker's backend
backend 127.0.0.1:$P1 b1
start_api
wait_port $P1 && wait_port $API && wait_port $CTL || abort "helpers did not start"

# a certificate for secure.test that expires in 5 days
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 5 -keyout "$T_TMP/s.key" \
	-out "$T_TMP/s.crt" -subj /CN=secure.test -addext subjectAltName=DNS:secure.test >/dev/null 2>&1 ||
	abort "openssl made no certificate"

namespace t
kapply <<EOF
apiVersion: v1
kind: Service
metadata: {name: s1, namespace: t, annotations: {traefik.backend.loadbalancer.sticky: "true"}}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s1-a, namespace: t, labels: {kubernetes.io/service-name: s1}}
addressType: IPv4
ports: [{name: http, port: $P1}]
endpoints:
- addresses: ["127.0.0.1"]
---
apiVersion: v1
kind: Service
metadata: {name: brk, namespace: t, annotations: {traefik.backend.circuitbreaker: "NetworkErrorRatio() > 0.5"}}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: brk-a, namespace: t, labels: {kubernetes.io/service-name: brk}}
addressType: IPv4
ports: [{name: http, port: $DEAD}]
endpoints:
- addresses: ["127.0.0.1"]
---
apiVersion: v1
kind: Secret
metadata: {name: tls-secure, namespace: t}
type: kubernetes.io/tls
data:
  tls.crt: $(base64 -w0 <"$T_TMP/s.crt")
  tls.key: $(base64 -w0 <"$T_TMP/s.key")
EOF
ingress() { # NAME HOST SERVICE ANNOTATIONS [PATH [TLS-SECRET]]
	kapply <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: $1, namespace: t, annotations: $4}
spec:
  tls: [$([ -n "$6" ] && echo "{hosts: [$2], secretName: $6}")]
  rules:
  - host: $2
    http:
      paths:
      - {path: ${5:-/}, pathType: Prefix, backend: {service: {name: $3, port: {number: 80}}}}
EOF
}
ingress web web.test s1 '{ingress.kubernetes.io/whitelist-source-range: "127.0.0.0/8"}'
ingress badwl badwl.test s1 '{ingress.kubernetes.io/whitelist-source-range: "not-a-cidr"}'
ingress broken broken.test s1 '{traefik.ingress.kubernetes.io/rule-type: Bogus}'
ingress brk brk.test brk '{}'
ingress secure secure.test s1 '{nginx.ingress.kubernetes.io/proxy-read-timeout: "30"}' / tls-secure
ingress nocert nocert.test s1 '{}' / missing
ingress prio prio.test s1 '{traefik.ingress.kubernetes.io/rule-type: PathPrefixStrip, traefik.ingress.kubernetes.io/priority: "7"}' /api

conf_std "$T_TMP/i.conf" $HTTP $WEB '' "[entryPoints.https]
address = \"127.0.0.1:$HTTPS\"
[entryPoints.https.tls]"
start_ingressd
wait_port $WEB || abort "ingressd did not start" "$T_TMP/ingressd.log"
ready
U=http://127.0.0.1:$WEB
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# ---- serving
curl -s -D "$T_TMP/h" -o "$T_TMP/page.gz" -H 'Accept-Encoding: gzip' $U/dashboard/
tr -d '\r' <"$T_TMP/h" >"$T_TMP/hdr"
check "200 with Accept-Encoding: gzip" grep -q '^HTTP/1.1 200' "$T_TMP/hdr"
check "Content-Encoding: gzip" grep -qi '^content-encoding: gzip$' "$T_TMP/hdr"
check "Content-Type: text/html" grep -qi '^content-type: text/html; charset=utf-8$' "$T_TMP/hdr"
check "Vary: Accept-Encoding" grep -qi '^vary: accept-encoding$' "$T_TMP/hdr"
csp=$(sed -n 's/^content-security-policy: //ip' "$T_TMP/hdr")
has "$csp" "default-src 'none'; script-src 'sha256-" && has "$csp" "style-src 'sha256-" && ! has "$csp" unsafe &&
	ok "strict CSP: scripts and styles by hash only" || fail "CSP: $csp"
gzip -dc "$T_TMP/page.gz" | cmp -s - build/dashboard.html && ok "the body is build/dashboard.html (dashboard/index.html less comments), gzip'd" ||
	fail "the body is not build/dashboard.html"
is "$(code $U/dashboard/)" 406 && ok "no Accept-Encoding: 406" || fail "no Accept-Encoding: $(code $U/dashboard/)"
curl -s $U/dashboard/ | grep -q 'gzip-compressed only' && ok "... saying why" || fail "406 text"
is "$(code -H 'Accept-Encoding: gzip;q=0, identity' $U/dashboard/)" 406 && ok "gzip;q=0: 406" || fail "gzip;q=0"
is "$(code -H 'Accept-Encoding: gzip;q=0.000' $U/dashboard/)" 406 && ok "gzip;q=0.000: 406" || fail "gzip;q=0.000"
is "$(code -H 'Accept-Encoding: br, GZIP;q=0.8' $U/dashboard/)" 200 && ok "GZIP;q=0.8: 200" || fail "GZIP;q=0.8"
is "$(code -H 'Accept-Encoding: deflate, gzip' $U/dashboard/)" 200 && ok "deflate, gzip: 200" || fail "deflate, gzip"
is "$(code -H 'Accept-Encoding: gzipx, *' $U/dashboard/)" 406 && ok "gzipx, * (not looked at): 406" || fail "gzipx, *"
is "$(curl -sI -H 'Accept-Encoding: gzip' $U/dashboard/ | tr -d '\r' | sed -n 's/^Content-Length: //ip')" \
	"$(wc -c <"$T_TMP/page.gz" | tr -d ' ')" && ok "HEAD: the length, no body" || fail "HEAD"
is "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' $U/)" "302 $U/dashboard/" && ok "/ redirects to /dashboard/" ||
	fail "/: $(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' $U/)"
is "$(code $U/dashboard)" 302 && ok "/dashboard redirects too" || fail "/dashboard"
is "$(code -X POST -H 'Accept-Encoding: gzip' $U/dashboard/)" 405 && ok "POST: 405 (read-only)" || fail "POST"

# ---- what the page reads
curl -s $U/api/providers >"$T_TMP/api.json"
jq -e '.kubernetes.entryPoints.https.tls == true and (.kubernetes.certificates | map(.secret) | sort) == ["t/missing", "t/tls-secure"]
	and (.kubernetes.now > 1700000000)' "$T_TMP/api.json" >/dev/null && ok "/api/providers: entry points, certificates, now" ||
	fail "/api/providers additions: $(jq -c '.kubernetes | {entryPoints, certificates, now}' "$T_TMP/api.json")"
jq -e '.kubernetes.frontends | to_entries | map(select(.key | startswith("prio.test"))) | .[0].value.policies == []' \
	"$T_TMP/api.json" >/dev/null && ok "policies: [] without any" || fail "policies"
! grep -qF -e PRIVATE -e "$(base64 -w0 <"$T_TMP/s.key" | cut -c 30-70)" -e "$(sed -n 3p "$T_TMP/s.key")" "$T_TMP/api.json" &&
	ok "no key material in /api/providers" || fail "key material in /api/providers"
curl -s $U/metrics >"$T_TMP/metrics"
grep -q '^ingressd_watch_last_event_timestamp_seconds{kind="ingress"} [1-9]' "$T_TMP/metrics" &&
	ok "ingressd_watch_last_event_timestamp_seconds" || fail "last event metric"
if command -v promtool >/dev/null; then
	promtool check metrics <"$T_TMP/metrics" >"$T_TMP/promtool.out" 2>&1 && ok "promtool accepts /metrics" ||
		fail "promtool: $(head -5 "$T_TMP/promtool.out")"
fi

# ---- traffic: the breaker trips on the dead backend and stays so (every
# request in its recovery fails again); web.test gets some for the rates.
# Bounded: 90 s at most, killed at exit.
python3 - "$HTTP" <<'EOF' >"$T_TMP/traffic.log" 2>&1 &
import http.client, sys, time
end = time.time() + 90
while time.time() < end:
    for host in ("brk.test", "web.test", "web.test"):
        try:
            h = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
            h.request("GET", "/", headers={"Host": host})
            h.getresponse().read()
            h.close()
        except OSError:
            pass
    time.sleep(0.1)
EOF
at_exit "kill $!"
WAIT=100 eventually "the breaker of t/brk:80 tripped" sh -c \
	"curl -s $U/metrics | grep -q '^ingressd_backend_breaker_state{backend=\"t/brk:80\"} 1'"

# ---- the page in a browser
mkdir -p build
T_TMP=$T_TMP python3 test/dashboard.py $WEB $CTL build >"$T_TMP/browser.out" 2>&1
while read -r st msg; do
	case $st in
	ok) ok "browser: $msg" ;;
	FAIL) fail "browser: $msg" ;;
	esac
done <"$T_TMP/browser.out"
grep -q '^ok   no CSP violation' "$T_TMP/browser.out" || { fail "the browser run did not finish"; tail -n 20 "$T_TMP/browser.out"; }
[ -n "$VERBOSE" ] && cat "$T_TMP/browser.out"
finish
