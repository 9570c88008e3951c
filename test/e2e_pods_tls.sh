#!/bin/sh
# test/e2e_pods_tls.sh [BINARY] - HTTPS to pods end to end: real TLS pods
# (test/backend.py --tls, Python's ssl on OpenSSL, and `openssl s_server
# -www`) behind Services found HTTPS by port 443 or an "https..." port
# name, or by the protocol / backend-protocol annotations; rootCAs with the
# right and a wrong CA, insecureSkipVerify and proxy-ssl-verify, the name
# sent as SNI, a pod that never finishes its handshake, keep-alive reuse
# and session resumption counted at the pod, 100 MB each way with RSS
# flat, WebSocket, and the protocols ingressd does not speak (502, never
# plain text to the pod). Run once per TLS port (make test passes the
# mbedTLS build as BINARY too).
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
B=${1:-./ingressd}
NAME=e2e_pods_tls
[ -n "$1" ] && NAME=e2e_pods_tls_$(basename "$(dirname "$1")")
suite "$NAME"
EVENTUALLY_WAIT=60
[ -x "$B" ] || abort "no binary $B"

API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
WEB=$(free_port)
P1=$(free_port)  # TLS pod, certificate from the test CA
P2=$(free_port)  # TLS pod, self-signed
P3=$(free_port)  # plain HTTP pod
P4=$(free_port)  # accepts TCP, never answers the handshake
P5=$(free_port)  # openssl s_server -www

# ---- certificates
D=$T_TMP/pki
mkdir -p "$D"
(
	cd "$D" || exit 1
	ssl() { openssl "$@" >/dev/null 2>&1 || echo "openssl $1 failed" >&2; }
	for ca in ca ca2; do
		ssl req -x509 -newkey rsa:2048 -nodes -days 30 -keyout $ca.key -out $ca.crt -subj /CN=test-$ca \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
	done
	ssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out pod.key
	ssl req -new -key pod.key -out pod.csr -subj /CN=pod
	printf 'subjectAltName=DNS:*.test,DNS:web.t.svc,DNS:custom.example\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >pod.ext
	ssl x509 -req -in pod.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 10 -out pod.crt -extfile pod.ext
	ssl req -x509 -newkey rsa:2048 -nodes -days 10 -keyout self.key -out self.crt -subj /CN=self.test \
		-addext subjectAltName=DNS:self.test
)
[ -s "$D/pod.crt" ] && [ -s "$D/self.crt" ] || abort "openssl could not make the certificates"

start_api
backend 127.0.0.1:$P1 pod1 --tls "$D/pod.crt:$D/pod.key"
backend 127.0.0.1:$P2 self --tls "$D/self.crt:$D/self.key"
backend 127.0.0.1:$P3 plain
python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $P4)); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)
" >/dev/null 2>&1 &
at_exit "kill $!"
openssl s_server -quiet -www -accept $P5 -cert "$D/pod.crt" -key "$D/pod.key" >/dev/null 2>&1 </dev/null &
at_exit "kill $!"
for p in $API $CTL $P1 $P2 $P3 $P4 $P5; do wait_port $p || abort "helper on port $p did not start"; done

conf() {
	conf_std "$T_TMP/i.conf" $HTTP $WEB "$1
[forwardingTimeouts]
dialTimeout = \"1s\"
[accessLog]
filePath = \"$T_TMP/access.log\""
}
conf "rootCAs = [\"$D/ca.crt\"]"
start_ingressd
namespace t

# svc NAME PORT PORTNAME POD-PORT: Service t/NAME and its EndpointSlice
svc() {
	kapply <<EOF
apiVersion: v1
kind: Service
metadata: {name: $1, namespace: t}
spec:
  ports: [{name: $3, port: $2}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: $1-a, namespace: t, labels: {kubernetes.io/service-name: $1}}
addressType: IPv4
ports: [{name: $3, port: $4}]
endpoints:
- addresses: ["127.0.0.1"]
EOF
}
# ing NAME HOST SERVICE PORT [ANNOTATIONS]
ing() {
	kapply <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: $1, namespace: t, annotations: ${5:-"{}"}}
spec:
  rules:
  - host: $2
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: $3, port: {number: $4}}}}
EOF
}
svc web 443 web $P1
svc named 8443 https-api $P1
svc tls80 80 http $P1
svc self 443 web $P2
svc plain443 443 web $P3
svc silent 443 web $P4
svc ossl 443 web $P5
ing web web.test web 443
ing named named.test named 8443
ing bysvc svcname.test web 443 '{ingress.kubernetes.io/preserve-host: "false"}'
ing custom custom.test web 443 '{nginx.ingress.kubernetes.io/proxy-ssl-name: custom.example}'
ing badname badname.test web 443 '{nginx.ingress.kubernetes.io/proxy-ssl-name: other.example}'
ing tproto tproto.test tls80 80 '{ingress.kubernetes.io/protocol: https}'
ing nproto nproto.test tls80 80 '{nginx.ingress.kubernetes.io/backend-protocol: HTTPS}'
ing plain80 plain80.test tls80 80
ing self self.test self 443
ing selfoff selfoff.test self 443 '{nginx.ingress.kubernetes.io/backend-protocol: HTTPS, nginx.ingress.kubernetes.io/proxy-ssl-verify: "off"}'
ing toplain toplain.test plain443 443 '{traefik.ingress.kubernetes.io/protocol: http}'
ing plainpod plainpod.test plain443 443
ing silent silent.test silent 443
ing ossl ossl.test ossl 443
ing grpc grpc.test web 443 '{nginx.ingress.kubernetes.io/backend-protocol: GRPC}'
ing h2c h2c.test web 443 '{ingress.kubernetes.io/protocol: h2c}'
ing ftp ftp.test web 443 '{ingress.kubernetes.io/protocol: ftp}'
ing badsni badsni.test web 443 '{nginx.ingress.kubernetes.io/proxy-ssl-name: "bad name!"}'
ing clash clash.test web 443 '{ingress.kubernetes.io/protocol: http, nginx.ingress.kubernetes.io/backend-protocol: HTTPS}'
ready
code() { curl -s -o /dev/null -w '%{http_code}' -H "Host: $1" "http://127.0.0.1:$HTTP${2:-/}"; }
stats() { get web.test /tls-stats; }
eventually "routes built" sh -c "curl -s http://127.0.0.1:$WEB/api/providers | grep -q grpc.test"

# ---- the scheme: by port 443, by port name, by annotation
out=$(get web.test /echo)
has "$out" "backend=pod1" && has "$out" "tls-sni=web.test" && has "$out" "X-Forwarded-Proto: http" &&
	ok "Service port 443: HTTPS to the pod, SNI the request's host" || fail "port 443 auto https: $out"
has "$(get named.test /echo)" "tls-sni=named.test" && ok "port named https-api: HTTPS" || fail "https port name"
has "$(get svcname.test /echo)" "tls-sni=web.t.svc" && ok "preserve-host false: SNI and check on svc.namespace.svc" ||
	fail "service name SNI: $(get svcname.test /echo)"
has "$(get custom.test /echo)" "tls-sni=custom.example" && ok "proxy-ssl-name: the name sent and checked" ||
	fail "proxy-ssl-name"
is "$(code badname.test)" 502 && ok "proxy-ssl-name not in the pod's certificate: 502" || fail "proxy-ssl-name mismatch"
has "$(get tproto.test /echo)" "backend=pod1" && ok "protocol: https on port 80" || fail "protocol https"
has "$(get nproto.test /echo)" "backend=pod1" && ok "backend-protocol: HTTPS on port 80" || fail "backend-protocol HTTPS"
is "$(code plain80.test)" 502 && ok "port 80 to a TLS pod without annotation: plain HTTP, 502" || fail "plain80 $(code plain80.test)"
has "$(get toplain.test /echo)" "backend=plain" && ok "protocol: http overrides port 443" || fail "protocol http"
is "$(code plainpod.test)" 502 && ok "port 443 to a plain-HTTP pod: the handshake fails, 502" || fail "plain pod on 443"
has "$(get ossl.test /)" "s_server" && ok "openssl s_server -www behind port 443" || fail "openssl s_server: $(get ossl.test /)"
prov=$(curl -s http://127.0.0.1:$WEB/api/providers)
has "$prov" '"backendScheme":"https","backendTlsVerify":true' && has "$prov" '"url":"https://127.0.0.1' &&
	ok "/api/providers: the scheme and the verification" || fail "/api/providers scheme"

# ---- verification
is "$(code self.test)" 502 && ok "self-signed pod refused (502)" || fail "self-signed pod served"
grep -q "upstream_tls.*TLS handshake with the pod failed" "$T_TMP/ingressd.log" && ok "the reason is logged" ||
	fail "no TLS reason in the log"
eventually "the access log names the reason" grep -q '"GET / HTTP/1.1" 502 .*upstream_tls$' "$T_TMP/access.log"
has "$(get selfoff.test /echo)" "backend=self" && ok "proxy-ssl-verify off: served" || fail "proxy-ssl-verify off"
m=$(curl -s http://127.0.0.1:$WEB/metrics)
has "$m" 'ingressd_upstream_tls_failures_total{reason="certificate"} [1-9]' && ok "certificate failures counted" ||
	fail "certificate failures not counted"

# ---- protocols ingressd does not speak: 502, and nothing reaches the pod
h0=$(stats)
is "$(code grpc.test)" 502 && is "$(code h2c.test)" 502 && ok "GRPC and h2c: 502" || fail "GRPC/h2c"
is "$(stats)" "$h0" && ok "... without a connection to the pod" || fail "unsupported protocol reached the pod"
has "$prov" '"backendSchemeError":"backend-protocol GRPC' && ok "/api/providers: why" || fail "no backendSchemeError"
is "$(code ftp.test)" 404 && has "$prov" 'protocol \\"ftp\\" is not http, https or h2c' &&
	ok "unknown protocol: not served, skipped with the reason" || fail "unknown protocol"
is "$(code badsni.test)" 404 && has "$prov" 'proxy-ssl-name \\"bad name!\\" is neither' &&
	ok "proxy-ssl-name not a name: not served, skipped with the reason" || fail "bad proxy-ssl-name"
is "$(code clash.test)" 404 && ok "protocol and backend-protocol disagreeing: not served" || fail "clash"

# ---- a pod that never finishes its handshake: 504 within dialTimeout, others unaffected
t0=$(date +%s%N)
curl -s -o "$T_TMP/silent.out" -w '%{http_code}' -H 'Host: silent.test' "http://127.0.0.1:$HTTP/" >"$T_TMP/silent.code" &
sp=$!
sleep 0.2
t1=$(date +%s%N)
has "$(get web.test /echo)" "backend=pod1" && [ $((($(date +%s%N) - t1) / 1000000)) -lt 500 ] &&
	ok "others served while a handshake hangs" || fail "others stalled by a silent pod"
wait $sp
ms=$((($(date +%s%N) - t0) / 1000000))
is "$(cat "$T_TMP/silent.code")" 504 && [ "$ms" -lt 2500 ] && ok "silent pod: 504 in $ms ms (dialTimeout 1s)" ||
	fail "silent pod: $(cat "$T_TMP/silent.code") in $ms ms"

# ---- keep-alive reuse and session resumption, counted at the pod
get web.test /echo >/dev/null
h0=$(stats | cut -d' ' -f2)
urls=""
i=0
while [ $i -lt 50 ]; do urls="$urls http://127.0.0.1:$HTTP/echo"; i=$((i + 1)); done
# shellcheck disable=SC2086
curl -s -H 'Host: web.test' $urls | grep -c backend=pod1 >"$T_TMP/n"
h1=$(stats | cut -d' ' -f2)
is "$(cat "$T_TMP/n")" 50 && [ $((h1 - h0)) -le 1 ] && ok "50 requests, $((h1 - h0)) new handshakes at the pod" ||
	fail "keep-alive reuse: $(cat "$T_TMP/n") answers, $((h1 - h0)) handshakes"
# resumption: s_server -www closes after each answer and says whether the
# session was reused (Python's ssl resumes only by ticket, which BearSSL lacks)
get ossl.test / >/dev/null
has "$(get ossl.test /)" "Reused, TLSv1.2" && ok "a new connection resumes the pod's session" || fail "no resumption"
has "$(curl -s http://127.0.0.1:$WEB/metrics)" 'ingressd_upstream_tls_handshakes_total{resumed="true"} [1-9]' &&
	ok "resumed handshakes counted" || fail "resumed handshakes not counted"

# ---- bodies and WebSocket through a TLS pod
head -c 3000000 /dev/urandom >"$T_TMP/r.bin"
want="$(wc -c <"$T_TMP/r.bin" | tr -d ' ') $(sha256sum "$T_TMP/r.bin" | cut -d' ' -f1)"
is "$(curl -s -H 'Host: web.test' --data-binary @"$T_TMP/r.bin" http://127.0.0.1:$HTTP/count)" "$want" &&
	ok "upload through TLS, bytes intact" || fail "upload through TLS"
rss0=$(awk '/VmRSS/{print $2}' /proc/$IPID/status)
n=$(curl -s -H 'Host: web.test' http://127.0.0.1:$HTTP/bytes/104857600 | wc -c)
is "$n" 104857600 && ok "100 MB download from a TLS pod" || fail "100 MB download ($n)"
up=$(head -c 104857600 /dev/zero | curl -s -H 'Host: web.test' -T - -X POST http://127.0.0.1:$HTTP/count | cut -d' ' -f1)
is "$up" 104857600 && ok "100 MB upload to a TLS pod" || fail "100 MB upload ($up)"
rss1=$(awk '/VmRSS/{print $2}' /proc/$IPID/status)
echo "$NAME: RSS before $rss0 kB, after 200 MB through TLS $rss1 kB"
[ $((rss1 - rss0)) -lt 4096 ] && ok "RSS flat (+$((rss1 - rss0)) kB)" || fail "RSS grew by $((rss1 - rss0)) kB"
is "$(python3 test/rawhttp.py ws 127.0.0.1:$HTTP web.test /ws)" "ws ok" && ok "WebSocket through a TLS pod" || fail "WebSocket"

# ---- the config: a wrong CA, then insecureSkipVerify (SIGHUP)
conf "rootCAs = [\"$D/ca2.crt\"]"
kill -HUP $IPID
eventually "rootCAs of another CA: the pod is refused" sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: web.test' http://127.0.0.1:$HTTP/) = 502 ]"
conf "insecureSkipVerify = true"
kill -HUP $IPID
eventually "insecureSkipVerify: the self-signed pod is served" sh -c "curl -s -H 'Host: self.test' http://127.0.0.1:$HTTP/echo | grep -q backend=self"
grep -q "WARN.*insecureSkipVerify" "$T_TMP/ingressd.log" && ok "insecureSkipVerify warned" || fail "no insecureSkipVerify warning"
conf "rootCAs = [\"$D/nonexistent.crt\"]"
kill -HUP $IPID
sleep 0.3
has "$(get self.test /echo)" "backend=self" && grep -q "rootCAs" "$T_TMP/ingressd.log" &&
	ok "unreadable rootCAs: reload refused, the running config stays" || fail "bad rootCAs reload"
$B -t -c "$T_TMP/i.conf" >/dev/null 2>&1 && fail "-t accepted unreadable rootCAs" || ok "-t refuses unreadable rootCAs"

# ---- the pods' share of the TLS pool (ING_MAX_TLS_UPSTREAMS), on a build
# with a share of 2: busy sessions full, a third request gets 503 while a
# plain pod is served; idle pooled sessions give way to new ones
if [ -z "$1" ]; then
	cc -std=c11 -O1 -DING_MAX_TLS_UPSTREAMS=2 -o "$T_TMP/ingressd2" ingressd.c port/posix.c port/ev_epoll.c port/tls_bearssl.c \
		-l:libbearssl.a || fail "the small-share build"
	kill $IPID
	HTTP=$(free_port)
	WEB=$(free_port)
	conf "insecureSkipVerify = true"
	B=$T_TMP/ingressd2
	start_ingressd
	ready "the small-share build is ready"
	get web.test /slow/1500 >/dev/null &
	s1=$!
	get custom.test /slow/1500 >/dev/null &
	s2=$!
	sleep 0.4
	is "$(code named.test /echo)" 503 && ok "TLS share full: 503" || fail "TLS share full: $(code named.test /echo)"
	has "$(get toplain.test /echo)" "backend=plain" && ok "... while plain pods are served" || fail "plain pod blocked"
	wait $s1 $s2
	has "$(get named.test /echo)" "tls-sni=named.test" && ok "idle pooled sessions give way to a new one" ||
		fail "no eviction of idle TLS sessions"
	m=$(curl -s http://127.0.0.1:$WEB/metrics)
	has "$m" 'ingressd_limit_hits_total{limit="ING_MAX_TLS_UPSTREAMS"} [1-9]' &&
		has "$m" 'ingressd_upstream_tls_failures_total{reason="no_slot"} [1-9]' && ok "the limit hit is counted" ||
		fail "limit hit not counted"
	grep -q "ING_MAX_TLS_UPSTREAMS" "$T_TMP/ingressd.log" && ok "the limit hit is logged naming it" || fail "limit not logged"
fi
finish
