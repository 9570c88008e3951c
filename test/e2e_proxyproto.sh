#!/bin/sh
# test/e2e_proxyproto.sh - the client address end to end: PROXY protocol v1
# and v2 (test/ppclient.py, raw sockets) from trusted and untrusted peers
# (127.0.0.2 is an untrusted source on loopback), over HTTP and before TLS,
# optional, split, malformed and too slow; forwardedHeaders trustedIPs:
# forwarded headers kept from a trusted peer and replaced from anyone
# else; whitelists by the PROXY source and by the right-most untrusted
# X-Forwarded-For address, a spoofed left-most entry refused; the access
# log, X-Real-Ip and the counters.
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
B=${1:-./ingressd}
suite e2e_proxyproto
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
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 10 -subj /CN=pp.test \
	-keyout "$T_TMP/k.pem" -out "$T_TMP/c.pem" >/dev/null 2>&1 || abort "openssl"
cat >"$T_TMP/i.conf" <<EOF
[entryPoints.http]
address = "127.0.0.1:$HTTP"
  [entryPoints.http.proxyProtocol]
  trustedIPs = ["127.0.0.1"]
  [entryPoints.http.forwardedHeaders]
  trustedIPs = ["127.0.0.1", "10.0.0.0/8"]
[entryPoints.https]
address = "127.0.0.1:$HTTPS"
  [entryPoints.https.tls]
  certFile = "$T_TMP/c.pem"
  keyFile = "$T_TMP/k.pem"
  [entryPoints.https.proxyProtocol]
  trustedIPs = ["127.0.0.1"]
[web]
address = "127.0.0.1:$WEB"
[respondingTimeouts]
readTimeout = "1s"
[accessLog]
filePath = "$T_TMP/access.log"
[kubernetes]
endpoint = "http://127.0.0.1:$API"
throttleDuration = "20ms"
EOF
start_ingressd
namespace t
service_s1
ingress_s1 pp pp.test
ingress_s1 wl wl.test '{ingress.kubernetes.io/whitelist-source-range: "203.0.113.0/24"}'
ingress_s1 wlx wlx.test '{ingress.kubernetes.io/whitelist-source-range: "198.51.100.7/32", ingress.kubernetes.io/whitelist-x-forwarded-for: "true"}'
ready
eventually "routes built" sh -c "curl -s http://127.0.0.1:$WEB/api/providers | grep -q wlx.test"
pc() { python3 test/ppclient.py 127.0.0.1 "$@"; }
st() { echo "$1" | head -n 1 | cut -d' ' -f2; }

# ---- PROXY v1 and v2, trusted and not
has "$(pc $HTTP --v1 203.0.113.9,10.0.0.1)" "X-Real-Ip: 203.0.113.9" && ok "v1 from a trusted balancer: its source is the client" ||
	fail "v1 trusted: $(pc $HTTP --v1 203.0.113.9,10.0.0.1)"
out=$(pc $HTTP --v2 203.0.113.10,10.0.0.1)
has "$out" "X-Real-Ip: 203.0.113.10" && has "$out" "X-Forwarded-For: 203.0.113.10$" && ok "v2 (with a TLV) from a trusted balancer" ||
	fail "v2 trusted: $out"
has "$(pc $HTTP --v2 2001:db8::1,2001:db8::2)" "X-Real-Ip: 2001:db8::1" && ok "v2 IPv6 source" || fail "v2 IPv6"
has "$(pc $HTTP --v2-local)" "X-Real-Ip: 127.0.0.1" && ok "v2 LOCAL (a health check): the peer" || fail "v2 LOCAL"
out=$(pc $HTTP --bind 127.0.0.2 --v1 203.0.113.9,10.0.0.1)
has "$out" "X-Real-Ip: 127.0.0.2" && ok "v1 from an untrusted peer: taken, not believed (as Traefik 1.7)" || fail "v1 untrusted: $out"
has "$(pc $HTTP --bind 127.0.0.2 --v2 203.0.113.9,10.0.0.1)" "X-Real-Ip: 127.0.0.2" && ok "v2 from an untrusted peer: not believed" ||
	fail "v2 untrusted"
has "$(curl -s -H 'Host: pp.test' http://127.0.0.1:$HTTP/echo)" "X-Real-Ip: 127.0.0.1" && ok "no header: optional" || fail "no header"
has "$(pc $HTTP --v1 203.0.113.11,10.0.0.1 --split 0.3)" "X-Real-Ip: 203.0.113.11" && ok "a header split across reads" ||
	fail "split header"
has "$(pc $HTTPS --tls --v1 203.0.113.12,10.0.0.1)" "X-Real-Ip: 203.0.113.12" && ok "before TLS: the handshake untouched" ||
	fail "PROXY before TLS: $(pc $HTTPS --tls --v1 203.0.113.12,10.0.0.1)"
has "$(pc $HTTPS --tls --v2 203.0.113.13,10.0.0.1)" "X-Real-Ip: 203.0.113.13" && ok "v2 before TLS" || fail "v2 before TLS"
has "$(pc $HTTPS --tls)" "X-Real-Ip: 127.0.0.1" && ok "TLS without a header" || fail "TLS without a header"

# ---- malformed and slow headers: closed
for raw in 'PROXY TCP4 1.2.3 4.5.6.7 1 2\r\n' 'PROXY TCP4 1.2.3.4 4.5.6.7 1 99999\r\n' 'PROXY TCP6 1.2.3.4 4.5.6.7 1 2\r\n' \
	"PROXY $(head -c 200 /dev/zero | tr '\0' 'x')" '\r\n\r\n\x00\r\nQUIT\n\x31\x11\x00\x0c'; do
	case "$(pc $HTTP --raw "$raw")" in closed*) ;; *) fail "malformed header accepted: $raw" ;; esac
done
ok "malformed v1 and v2 headers: connection closed"
out=$(pc $HTTP --raw 'PROXY TCP4 ' --stall)
case "$out" in "closed after 1."* | "closed after 0.9"*) ok "a stalled header: closed at readTimeout ($out)" ;; *) fail "stalled: $out" ;; esac
out=$(pc $HTTP --raw 'PRO' --stall)
case "$out" in "closed after 1."* | "closed after 0.9"*) ok "a stalled split signature: closed at readTimeout" ;; *) fail "split stall: $out" ;; esac

# ---- whitelists by the PROXY source
is "$(st "$(pc $HTTP --v1 203.0.113.9,10.0.0.1 --host wl.test)")" 200 && ok "whitelist: the PROXY source is checked" ||
	fail "whitelist by PROXY source"
is "$(st "$(pc $HTTP --bind 127.0.0.2 --v1 203.0.113.9,10.0.0.1 --host wl.test)")" 403 &&
	ok "whitelist: an untrusted peer's PROXY source does not pass" || fail "untrusted PROXY passed the whitelist"

# ---- forwarded headers: trusted peer (127.0.0.1), untrusted (127.0.0.2)
fwd() { curl -s "$@" -H 'Host: wlx.test' http://127.0.0.1:$HTTP/echo; }
out=$(fwd -H 'X-Forwarded-For: 6.6.6.6, 198.51.100.7, 10.1.1.1' -H 'X-Forwarded-Proto: https')
has "$out" "backend=b1" && has "$out" "X-Forwarded-For: 6.6.6.6, 198.51.100.7, 10.1.1.1, 127.0.0.1" &&
	has "$out" "X-Forwarded-Proto: https" && has "$out" "X-Real-Ip: 198.51.100.7" &&
	ok "trusted peer: headers kept, the right-most untrusted address is the client" || fail "trusted forwarded: $out"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 198.51.100.7, 6.6.6.6' -H 'Host: wlx.test' http://127.0.0.1:$HTTP/)" 403 &&
	ok "a spoofed left-most entry does not pass the whitelist" || fail "spoofed XFF passed"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 198.51.100.7, nonsense' -H 'Host: wlx.test' http://127.0.0.1:$HTTP/)" 403 &&
	ok "an entry that is not an address: no list allows it" || fail "garbage XFF passed"
is "$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 -H 'X-Forwarded-For: 198.51.100.7' -H 'Host: wlx.test' http://127.0.0.1:$HTTP/)" 403 &&
	ok "untrusted peer: its X-Forwarded-For is not believed by the whitelist" || fail "untrusted XFF believed"
out=$(curl -s --interface 127.0.0.2 -H 'Host: pp.test' -H 'X-Forwarded-For: 198.51.100.7' -H 'X-Forwarded-Proto: https' -H 'X-Real-Ip: 1.1.1.1' http://127.0.0.1:$HTTP/echo)
has "$out" "X-Forwarded-For: 127.0.0.2$" && has "$out" "X-Forwarded-Proto: http$" && has "$out" "X-Real-Ip: 127.0.0.2" &&
	ok "untrusted peer: forwarded headers replaced" || fail "untrusted forwarded: $out"
eventually "the access log has the forwarded client" grep -q '^198.51.100.7 - ' "$T_TMP/access.log"

# ---- counted; config errors
m=$(curl -s http://127.0.0.1:$WEB/metrics)
for r in trusted untrusted none malformed timeout; do
	has "$m" "ingressd_proxy_protocol_headers_total{result=\"$r\"} [1-9]" || fail "not counted: $r"
done
ok "PROXY headers counted by result"
printf '[entryPoints.http]\naddress = ":8000"\n[entryPoints.http.proxyProtocol]\n' >"$T_TMP/bad.conf"
$B -t -c "$T_TMP/bad.conf" 2>&1 | grep -q "trustedIPs or insecure" && ok "proxyProtocol without trustedIPs: a config error" ||
	fail "empty proxyProtocol accepted"
finish
