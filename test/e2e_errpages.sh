#!/bin/sh
# test/e2e_errpages.sh - error pages end to end: Traefik's error-pages
# (status ranges, query with {status}), nginx's custom-http-errors with
# default-backend (GET / with X-Code and the rest) and default-backend for
# a Service without endpoints, [kubernetes] defaultBackend for ingressd's
# own 404 and 503; the original code kept, never replaced twice, and
# ingressd's own short answer when the page's backend fails.
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
B=${1:-./ingressd}
suite e2e_errpages
EVENTUALLY_WAIT=60
[ -x "$B" ] || abort "no binary $B"

API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
WEB=$(free_port)
P1=$(free_port)
PE=$(free_port)
DEAD=$(free_port)
start_api
backend 127.0.0.1:$P1 pod
# the error-page server: says what it was asked; /loop.html answers 500
python3 - "$PE" >/dev/null 2>&1 <<'EOF' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        h = self.headers
        b = ("page %s code=%s fmt=%s ns=%s ing=%s host=%s\n" % (self.path, h.get("X-Code"), h.get("X-Format"),
             h.get("X-Namespace"), h.get("X-Ingress-Name"), h.get("Host"))).encode()
        self.send_response(500 if self.path == "/loop.html" else 200)
        self.send_header("Content-Type", "text/html")
        self.send_header("X-Page", "yes")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
at_exit "kill $!"
wait_port $API && wait_port $CTL && wait_port $P1 && wait_port $PE || abort "helpers did not start"
cat >"$T_TMP/i.conf" <<EOF
[entryPoints.http]
address = "127.0.0.1:$HTTP"
[web]
address = "127.0.0.1:$WEB"
[kubernetes]
endpoint = "http://127.0.0.1:$API"
throttleDuration = "20ms"
defaultBackend = "t/errsvc"
EOF
start_ingressd
namespace t
service_s1
# svc NAME PORT|none
svc() {
	{
		printf 'apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: t}\nspec:\n  ports: [{port: 80}]\n' "$1"
		[ "$2" = none ] || printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: %s-a, namespace: t, labels: {kubernetes.io/service-name: %s}}\naddressType: IPv4\nports: [{port: %s}]\nendpoints:\n- addresses: ["127.0.0.1"]\n' "$1" "$1" "$2"
	} | kapply
}
svc errsvc $PE
svc empty none
svc errdead $DEAD
# route NAME HOST SERVICE ANNOTATIONS
route() {
	kapply <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: $1, namespace: t, annotations: $4}
spec:
  rules:
  - host: $2
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: $3, port: {number: 80}}}}
EOF
}
T=ingress.kubernetes.io
N=nginx.ingress.kubernetes.io
route tp tp.test s1 "{$T/error-pages: \"e5:\\n  status: ['500-599']\\n  backend: errsvc\\n  query: /{status}.html\\nnf:\\n  status: ['404', '410-411']\\n  backend: errsvc\\n  query: nf.html\\n\"}"
route ng ng.test s1 "{$N/custom-http-errors: '404,500', $N/default-backend: errsvc}"
route ngglob ngglob.test s1 "{$N/custom-http-errors: '503'}"
route ngdef ngdef.test empty "{$N/default-backend: errsvc}"
route plainempty plainempty.test empty "{}"
route loop loop.test s1 "{$T/error-pages: '{l: {status: [\"500\"], backend: errsvc, query: /loop.html}}'}"
route dead dead.test s1 "{$T/error-pages: '{d: {status: [\"500\"], backend: errdead, query: /x}}'}"
route gone gone.test s1 "{$T/error-pages: '{d: {status: [\"500\"], backend: nosuch, query: /x}}'}"
route bad bad.test s1 "{$T/error-pages: '{d: {status: [\"5xx\"], backend: errsvc}}'}"
ready
eventually "routes built" sh -c "curl -s http://127.0.0.1:$WEB/api/providers | grep -q bad.test"

req() {
	h=$1
	p=$2
	shift 2
	curl -s -o "$T_TMP/b" -D "$T_TMP/h" -w '%{http_code}' -H "Host: $h" "$@" "http://127.0.0.1:$HTTP$p"
}
body() { cat "$T_TMP/b"; }

# ---- Traefik's error-pages
is "$(req tp.test /status/503)" 503 && has "$(body)" "^page /503.html code=None" && grep -qi '^x-page: yes' "$T_TMP/h" &&
	ok "a pod's 503: the page of 500-599, {status} filled in, code kept" || fail "tp 503: $(body)"
is "$(req tp.test /status/500)" 500 && has "$(body)" "page /500.html" && ok "500 too" || fail "tp 500"
is "$(req tp.test /status/404)" 404 && has "$(body)" "page /nf.html .*host=tp.test" &&
	ok "404: another page, a leading / added, the request's Host" || fail "tp 404: $(body)"
is "$(req tp.test /status/411)" 411 && has "$(body)" "page /nf.html" && ok "a range of codes" || fail "411"
is "$(req tp.test /status/418)" 418 && is "$(body)" "pod status" && ok "another code: the pod's answer" || fail "418"
is "$(req tp.test /x)" 200 && is "$(body)" "pod /x" && ok "a 200: the pod's answer" || fail "200"
is "$(req tp.test /status/503 -X POST -d 'a=1')" 503 && is "$(body)" "pod status" &&
	ok "a request with a body keeps the pod's answer" || fail "POST"
o=$(printf 'HEAD /status/503 HTTP/1.1\r\nHost: tp.test\r\nConnection: close\r\n\r\n' | python3 test/rawhttp.py send 127.0.0.1:$HTTP - | tr -d '\r')
has "$o" "^HTTP/1.1 503" && has "$o" "^X-Page: yes" && ! has "$o" "^page" && ok "HEAD: the page's head with the code, no body" ||
	fail "HEAD: $o"
# ---- nginx's custom-http-errors and default-backend
is "$(req ng.test '/status/500' -H 'Accept: text/html')" 500 &&
	has "$(body)" "^page / code=500 fmt=text/html ns=t ing=ng" && ok "custom-http-errors: GET / with X-Code, X-Format, X-Namespace, X-Ingress-Name" ||
	fail "ng 500: $(body)"
is "$(req ng.test /status/502)" 502 && is "$(body)" "pod status" && ok "a code not listed: the pod's" || fail "ng 502"
is "$(req ng.test /status/404 -H 'X-Code: 999')" 404 && has "$(body)" "code=404" && ok "the client's X-Code is not passed" ||
	fail "x-code: $(body)"
is "$(req ngglob.test /status/503)" 503 && has "$(body)" "code=503" && ok "custom-http-errors with [kubernetes] defaultBackend" ||
	fail "ngglob"
is "$(req ngdef.test '/a?b=1')" 503 && has "$(body)" "^page /a?b=1 code=None" &&
	ok "default-backend: a Service without endpoints, the request sent on, 503 kept" || fail "ngdef: $(body)"
# ---- [kubernetes] defaultBackend for ingressd's own answers
is "$(req nosuch.test /p)" 404 && has "$(body)" "^page /p .*host=nosuch.test" && ok "no route: the default backend, 404 kept" ||
	fail "global 404: $(body)"
is "$(req plainempty.test /q)" 503 && has "$(body)" "page /q" && ok "no endpoints: the default backend, 503 kept" ||
	fail "global 503: $(body)"
# ---- never a loop, and ingressd's own answer when the page fails
is "$(req loop.test /status/500)" 500 && has "$(body)" "page /loop.html" && ok "a page answering 500 is sent, not replaced again" ||
	fail "loop: $(body)"
is "$(req dead.test /status/500)" 500 && is "$(body)" "Internal Server Error" && ok "the page's backend refuses: ingressd's 500" ||
	fail "dead: $(body)"
is "$(req gone.test /status/500)" 500 && is "$(body)" "Internal Server Error" && ok "no such Service: ingressd's 500" ||
	fail "gone: $(body)"
is "$(req bad.test /status/500)" 500 && is "$(body)" "pod status" &&
	grep -q 'ingress t/bad: error pages: status: "5xx" is not a code or a range' "$T_TMP/ingressd.log" &&
	ok "a bad error-pages value: logged, the pod's answer" || fail "bad"
# keep-alive: a replaced answer leaves the client connection usable
o=$(curl -s -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' -H 'Host: tp.test' "http://127.0.0.1:$HTTP/status/503" \
	"http://127.0.0.1:$HTTP/x" | tr '\n' ' ')
is "$o" "503 1 200 0 " && ok "the client connection is kept after an error page" || fail "keep-alive: $o"
finish
