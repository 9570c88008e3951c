#!/bin/sh
# test/e2e_proxy.sh - routing and proxying end to end: the stand-in API
# server (test/fakeapi.py) holds the objects, real backends
# (test/backend.py) serve, real curl asks. Rule types, priorities,
# wildcards, default backend, strip prefixes, conflicts, endpoints changing
# under traffic, 100 MB streams with RSS measured, chunked both ways,
# WebSocket, resets, slow clients, smuggling, timeouts.
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
suite e2e_proxy
B=${1:-./ingressd}

API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
WEB=$(free_port)
P1=$(free_port)
P2=$(free_port)
P3=$(free_port)
DEAD=$(free_port) # nothing listens here

start_api
backend 127.0.0.1:$P1 b1
backend 127.0.0.1:$P2 b2
backend 127.0.0.1:$P3 b3
B3PID=$!
wait_port $API && wait_port $CTL && wait_port $P1 && wait_port $P2 && wait_port $P3 ||
	abort "helpers did not start" "$T_TMP/api.log"

code() {
	h=$1
	p=$2
	shift 2
	curl -s -o /dev/null -w '%{http_code}' -H "Host: $h" "$@" "http://127.0.0.1:$HTTP$p"
}

# A Service with a port "http" 80 and its EndpointSlice (ready addresses).
service() { # NAME PORT [PORT...]
	name=$1
	shift
	eps=""
	for p in "$@"; do eps="$eps  - addresses: [\"127.0.0.1\"]
    conditions: {ready: true}
"; done
	kapply <<EOF
apiVersion: v1
kind: Service
metadata: {name: $name, namespace: t}
spec:
  ports: [{name: http, port: 80}]
EOF
	i=0
	for p in "$@"; do
		kapply <<EOF
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $name-$i
  namespace: t
  labels: {kubernetes.io/service-name: $name}
addressType: IPv4
ports: [{name: http, port: $p}]
endpoints:
- addresses: ["127.0.0.1"]
  conditions: {ready: true}
EOF
		i=$((i + 1))
	done
}

namespace t
service s1 $P1
service s2 $P2
service s3 $P3
service dead $DEAD
kapply <<EOF
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: t}
spec:
  ports: [{name: http, port: 80}]
EOF

kapply <<'EOF'
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: main
  namespace: t
  creationTimestamp: "2026-01-01T00:00:00Z"
spec:
  rules:
  - host: ex.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: s1, port: {number: 80}}}}
      - {path: /api, pathType: Prefix, backend: {service: {name: s2, port: {name: http}}}}
      - {path: /api/v1, pathType: Exact, backend: {service: {name: s3, port: {number: 80}}}}
      - {path: /empty, pathType: Prefix, backend: {service: {name: empty, port: {number: 80}}}}
      - {path: /dead, pathType: Prefix, backend: {service: {name: dead, port: {number: 80}}}}
  - host: "*.wild.test"
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: s2, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: strip
  namespace: t
  annotations: {traefik.frontend.rule.type: PathPrefixStrip}
spec:
  rules:
  - host: strip.test
    http:
      paths:
      - {path: /foo, pathType: ImplementationSpecific, backend: {service: {name: s1, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: exact
  namespace: t
  annotations: {ingress.kubernetes.io/rule-type: PathStrip, ingress.kubernetes.io/preserve-host: "false"}
spec:
  rules:
  - host: path.test
    http:
      paths:
      - {path: /only, pathType: ImplementationSpecific, backend: {service: {name: s2, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata:
  name: legacy
  namespace: t
  annotations: {traefik.frontend.rule.type: Path}
spec:
  rules:
  - host: legacy.test
    http:
      paths:
      - {path: /x, backend: {serviceName: s3, servicePort: 80}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: catchall, namespace: t}
spec:
  defaultBackend: {service: {name: s3, port: {number: 80}}}
EOF

conf_std "$T_TMP/i.conf" $HTTP $WEB "" '[respondingTimeouts]
readTimeout = "3s"
[forwardingTimeouts]
dialTimeout = "2s"
responseHeaderTimeout = "2s"'
start_ingressd
wait_port $HTTP
ready "ready after the first sync"

# ---- routing
eventually "Prefix /" sh -c "curl -s -H 'Host: ex.test' http://127.0.0.1:$HTTP/zzz | grep -q '^b1 /zzz'"
is "$(get ex.test /api/x)" "b2 /api/x" && ok "longer Prefix wins" || fail "longer Prefix wins"
is "$(get ex.test /apix)" "b1 /apix" && ok "Prefix is element-wise" || fail "Prefix is element-wise"
is "$(get ex.test /api/v1)" "b3 /api/v1" && ok "Exact before Prefix" || fail "Exact before Prefix"
is "$(get ex.test /api/v1/)" "b2 /api/v1/" && ok "Exact is exact" || fail "Exact is exact"
is "$(get EX.Test. /api/x)" "b2 /api/x" && ok "host case and trailing dot" || fail "host case and trailing dot"
is "$(get ex.test:8080 /)" "b1 /" && ok "host port ignored" || fail "host port ignored"
is "$(get a.wild.test /w)" "b2 /w" && ok "wildcard one label" || fail "wildcard one label"
is "$(get a.b.wild.test /w)" "b3 /w" && ok "wildcard not two labels (default backend)" || fail "wildcard two labels"
is "$(get nowhere.test /q?a=1)" "b3 /q?a=1" && ok "default backend, query kept" || fail "default backend"
is "$(get strip.test /foo/bar)" "b1 /bar" && ok "PathPrefixStrip" || fail "PathPrefixStrip"
is "$(get strip.test /foobar)" "b1 /bar" && ok "PathPrefixStrip: Traefik string prefix" || fail "PathPrefixStrip string prefix"
is "$(get strip.test /foo)" "b1 /" && ok "PathPrefixStrip keeps a leading /" || fail "strip keeps /"
has "$(get strip.test /foo/echo)" "X-Forwarded-Prefix: /foo" && ok "X-Forwarded-Prefix" || fail "X-Forwarded-Prefix"
is "$(get path.test /only)" "b2 /" && ok "PathStrip" || fail "PathStrip"
is "$(get path.test /only/x)" "b3 /only/x" && ok "PathStrip is exact" || fail "PathStrip is exact"
is "$(get legacy.test /x)" "b3 /x" && ok "v1beta1 + Path rule" || fail "v1beta1 + Path"
is "$(get ex.test /a/%2e%2e/api/v1)" "b3 /api/v1" && ok "dot-segments resolved before routing" || fail "dot-segments"
is "$(code ex.test /%zz)" 400 && ok "bad percent-encoding: 400" || fail "bad percent-encoding"

# ---- headers
e=$(curl -s -H 'Host: ex.test' -H 'X-Forwarded-For: 1.2.3.4' -H 'X-Real-Ip: 6.6.6.6' -H 'Connection: close, X-Hop' \
	-H 'X-Hop: secret' -H 'Keep-Alive: 5' http://127.0.0.1:$HTTP/echo)
has "$e" "Host: ex.test" && ok "Host passed through" || fail "Host passed through"
has "$e" "X-Forwarded-For: 127.0.0.1$" && ! has "$e" "1.2.3.4" &&
	ok "X-Forwarded-For from an untrusted peer: replaced by the peer (forwardedHeaders)" || fail "X-Forwarded-For replaced"
has "$e" "X-Real-Ip: 127.0.0.1" && ok "X-Real-Ip is the peer" || fail "X-Real-Ip"
has "$e" "X-Forwarded-Proto: http" && ok "X-Forwarded-Proto" || fail "X-Forwarded-Proto"
has "$e" "X-Forwarded-Host: ex.test" && ok "X-Forwarded-Host" || fail "X-Forwarded-Host"
has "$e" "X-Forwarded-Port: $HTTP" && ok "X-Forwarded-Port" || fail "X-Forwarded-Port"
has "$e" "X-Hop" && fail "header named by Connection removed" || ok "header named by Connection removed"
has "$e" "Keep-Alive" && fail "hop-by-hop removed" || ok "hop-by-hop removed"
has "$(get path.test /only/echo)" "Host: 127.0.0.1:$P2" || true
has "$(curl -s -H 'Host: path.test' http://127.0.0.1:$HTTP/only)" "b2" && ok "preserve-host false" || fail "preserve-host false"

# ---- answers of our own
is "$(code nothing.test.invalid /x -H 'Host: x')" 200 || true
kdelete ingresses/t/catchall
eventually "no route: 404" sh -c "curl -s -o /dev/null -w '%{http_code}' -H 'Host: nope' http://127.0.0.1:$HTTP/ | grep -qx 404"
is "$(get nope /)" "404 page not found" && ok "404 body" || fail "404 body"
is "$(code ex.test /empty)" 503 && ok "no ready server: 503" || fail "no ready server: 503"
is "$(code ex.test /dead)" 502 && ok "connect refused: 502" || fail "connect refused: 502"
is "$(code ex.test /slow/4000)" 504 && ok "upstream timeout: 504" || fail "upstream timeout: 504"
is "$(code ex.test /status/204)" 204 && ok "204" || fail "204"
is "$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -I -H 'Host: ex.test' http://127.0.0.1:$HTTP/bytes/77)" "200 0" &&
	ok "HEAD without body" || fail "HEAD without body"

# ---- bodies
out=$(curl -s -H 'Host: ex.test' http://127.0.0.1:$HTTP/chunked/3000000 | wc -c)
is "$out" 3000000 && ok "chunked response" || fail "chunked response ($out)"
out=$(curl -s -0 -H 'Host: ex.test' http://127.0.0.1:$HTTP/chunked/300000 | wc -c)
is "$out" 300000 && ok "chunked response to an HTTP/1.0 client, de-chunked" || fail "HTTP/1.0 de-chunk ($out)"
out=$(curl -s -H 'Host: ex.test' http://127.0.0.1:$HTTP/close/123456 | wc -c)
is "$out" 123456 && ok "close-delimited response" || fail "close-delimited ($out)"
head -c 3000000 /dev/urandom >"$T_TMP/r.bin"
want="$(wc -c <"$T_TMP/r.bin" | tr -d ' ') $(sha256sum "$T_TMP/r.bin" | cut -d' ' -f1)"
is "$(curl -s -H 'Host: ex.test' -H 'Transfer-Encoding: chunked' --data-binary @"$T_TMP/r.bin" http://127.0.0.1:$HTTP/count)" "$want" &&
	ok "chunked upload" || fail "chunked upload"
is "$(curl -s -H 'Host: ex.test' -H 'Expect: 100-continue' --data-binary @"$T_TMP/r.bin" http://127.0.0.1:$HTTP/count)" "$want" &&
	ok "Expect: 100-continue" || fail "Expect: 100-continue"
# 100 MB both ways; RSS stays flat
rss0=$(awk '/VmRSS/{print $2}' /proc/$IPID/status)
n=$(curl -s -H 'Host: ex.test' http://127.0.0.1:$HTTP/bytes/104857600 | wc -c)
is "$n" 104857600 && ok "100 MB download" || fail "100 MB download ($n)"
up=$(head -c 104857600 /dev/zero | curl -s -H 'Host: ex.test' -T - -X POST http://127.0.0.1:$HTTP/count | cut -d' ' -f1)
is "$up" 104857600 && ok "100 MB upload" || fail "100 MB upload ($up)"
rss1=$(awk '/VmRSS/{print $2}' /proc/$IPID/status)
echo "e2e_proxy: RSS before $rss0 kB, after 200 MB streamed $rss1 kB"
[ $((rss1 - rss0)) -lt 4096 ] && ok "RSS flat while streaming (+$((rss1 - rss0)) kB)" || fail "RSS grew by $((rss1 - rss0)) kB"

# ---- WebSocket, reset, keep-alive, pipelining
is "$(python3 test/rawhttp.py ws 127.0.0.1:$HTTP ex.test /ws)" "ws ok" && ok "WebSocket echo through the proxy" || fail "WebSocket"
curl -s -o /dev/null -H 'Host: ex.test' http://127.0.0.1:$HTTP/reset
rc=$?
[ $rc -ne 0 ] && ok "backend reset mid-response: client sees a cut (curl $rc)" || fail "reset mid-response not seen"
is "$(code ex.test /)" 200 && ok "serving after a reset" || fail "serving after a reset"
p1=$(get ex.test /echo | grep '^peer=')
p2=$(get ex.test /echo | grep '^peer=')
is "$p1" "$p2" && ok "upstream connection reused across clients" || fail "upstream keep-alive ($p1 / $p2)"
# the pooled connection the next request takes is closed by the server
# after reading the request: sent again on a fresh connection
is "$(get ex.test /drop-next)" "b1 drop-next" && is "$(get ex.test /after-drop)" "b1 /after-drop" &&
	ok "pooled connection closed by the server mid-request: retried fresh" || fail "stale pooled connection retry"
kill -0 $IPID 2>/dev/null && ok "alive after the retry" || fail "ingressd died on a stale pooled connection"
printf 'GET /p1 HTTP/1.1\r\nHost: ex.test\r\n\r\nGET /p2 HTTP/1.1\r\nHost: ex.test\r\n\r\nGET /p3 HTTP/1.1\r\nHost: ex.test\r\nConnection: close\r\n\r\n' >"$T_TMP/pipe"
out=$(python3 test/rawhttp.py send 127.0.0.1:$HTTP "$T_TMP/pipe" | grep '^b1 ' | tr '\n' ' ')
is "$out" "b1 /p1 b1 /p2 b1 /p3 " && ok "pipelined requests answered in order" || fail "pipelining ($out)"

# ---- smuggling and malformed requests: 400 and closed
smuggle() { # DESC RAW
	printf "$2" >"$T_TMP/sm"
	r=$(python3 test/rawhttp.py status 127.0.0.1:$HTTP "$T_TMP/sm")
	is "$r" "400 closed" && ok "$1: 400, closed" || fail "$1 ($r)"
}
smuggle "CL and TE" 'POST / HTTP/1.1\r\nHost: ex.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
smuggle "two Content-Lengths" 'POST / HTTP/1.1\r\nHost: ex.test\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde'
smuggle "TE not chunked" 'POST / HTTP/1.1\r\nHost: ex.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'
smuggle "obs-fold" 'GET / HTTP/1.1\r\nHost: ex.test\r\nX: a\r\n b\r\n\r\n'
smuggle "bare CR" 'GET / HTTP/1.1\r\nHost: ex.test\r\nX: a\rb\r\n\r\n'
smuggle "NUL in header" 'GET / HTTP/1.1\r\nHost: ex.test\r\nX: a\000b\r\n\r\n'
smuggle "bad chunk size" 'POST /count HTTP/1.1\r\nHost: ex.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'
smuggle "space before colon" 'GET / HTTP/1.1\r\nHost : ex.test\r\n\r\n'
big=$(head -c 13000 /dev/zero | tr '\0' 'a')
printf 'GET / HTTP/1.1\r\nHost: ex.test\r\nX: %s\r\n\r\n' "$big" >"$T_TMP/big"
r=$(python3 test/rawhttp.py status 127.0.0.1:$HTTP "$T_TMP/big")
is "$r" "431 closed" && ok "head over ING_MAX_HEADER_BYTES: 431" || fail "431 ($r)"
# a client that closes its side before its body ended (the head and a part
# of the body, then FIN): 400 and closed at once, not an exchange that waits
# forever with nothing timed (found by fuzz_proxy)
printf 'POST /count HTTP/1.1\r\nHost: ex.test\r\nContent-Length: 100\r\n\r\nonly ten b' >"$T_TMP/fin"
is "$(python3 test/rawhttp.py halfclose 127.0.0.1:$HTTP "$T_TMP/fin")" "400 closed" &&
	ok "client done mid-body: 400, closed" || fail "client done mid-body"
printf 'GET / HTTP/2.0\r\nHost: ex.test\r\n\r\n' >"$T_TMP/v2"
is "$(python3 test/rawhttp.py status 127.0.0.1:$HTTP "$T_TMP/v2")" "505 closed" && ok "HTTP/2.0: 505" || fail "505"

# ---- a slow client does not hold up others, and gets 408
python3 test/rawhttp.py slowloris 127.0.0.1:$HTTP 60 >"$T_TMP/slow" &
SL=$!
sleep 0.5
t0=$(date +%s%N)
for i in 1 2 3 4 5; do code ex.test / >/dev/null; done
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -lt 2000 ] && ok "others served while a slow-loris client dribbles" || fail "slow-loris blocked others"
wait $SL
has "$(cat "$T_TMP/slow")" "408" && ok "slow-loris gets 408 after readTimeout" || fail "slow-loris: $(cat "$T_TMP/slow")"

# ---- two Ingresses, one host+path: the oldest wins, whatever its name
kapply <<'EOF'
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: aaa-younger, namespace: t, creationTimestamp: "2026-06-01T00:00:00Z"}
spec:
  rules:
  - host: ex.test
    http:
      paths:
      - {path: /api, pathType: Prefix, backend: {service: {name: s3, port: {number: 80}}}}
EOF
sleep 0.5
is "$(get ex.test /api/z)" "b2 /api/z" && ok "same host+path: the oldest Ingress wins" || fail "conflict winner"
eventually "the conflict is logged" grep -q 'also claimed by the older ingress t/main' "$T_TMP/ingressd.log"
# ---- priority annotation beats the default order
kapply <<'EOF'
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: prio
  namespace: t
  annotations: {ingress.kubernetes.io/priority: "50"}
spec:
  rules:
  - host: ex.test
    http:
      paths:
      - {path: /api/v1, pathType: Prefix, backend: {service: {name: s2, port: {number: 80}}}}
EOF
eventually "priority annotation first" sh -c "curl -s -H 'Host: ex.test' http://127.0.0.1:$HTTP/api/v1 | grep -q '^b2 '"
kapply <<'EOF'
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: typo
  namespace: t
  annotations: {traefik.frontend.rule.type: PathPrefixStrp}
spec:
  rules:
  - host: typo.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: s2, port: {number: 80}}}}
EOF
eventually "unknown rule type: logged with the reason" grep -q 'unknown rule type "PathPrefixStrp"' "$T_TMP/ingressd.log"
is "$(code typo.test /)" 404 && ok "unknown rule type: not served" || fail "unknown rule type served"

# ---- ExternalName: resolved by the real resolver (localhost: /etc/hosts,
# so no DNS server is needed), off the request path. A name that does not
# resolve is unit-tested with the mock resolver (test_external_name).
kapply <<EOF
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: t}
spec: {type: ExternalName, externalName: localhost, ports: [{port: $P1}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ext, namespace: t}
spec:
  rules:
  - host: ext.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: ext, port: {number: $P1}}}}
EOF
eventually "ExternalName localhost reaches the backend" sh -c "curl -s -H 'Host: ext.test' http://127.0.0.1:$HTTP/e | grep -q '^b1 /e'"

# ---- endpoints change under traffic: nothing lost
service scale $P1 $P2
kapply <<'EOF'
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: scale, namespace: t}
spec:
  rules:
  - host: scale.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: scale, port: {number: 80}}}}
EOF
eventually "scale route" sh -c "curl -sf -H 'Host: scale.test' http://127.0.0.1:$HTTP/"
(
	n=0
	bad=0
	while [ $n -lt 300 ]; do
		c=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: scale.test' http://127.0.0.1:$HTTP/slow/5)
		[ "$c" = 200 ] || bad=$((bad + 1))
		n=$((n + 1))
	done
	echo "$bad" >"$T_TMP/scale.bad"
) &
LOAD=$!
sleep 0.3
service scale $P1 $P2 $P3 # up
sleep 0.5
kapply <<EOF
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: scale-1, namespace: t, labels: {kubernetes.io/service-name: scale}}
addressType: IPv4
ports: [{name: http, port: $P2}]
endpoints:
- addresses: ["127.0.0.1"]
  conditions: {ready: false}
EOF
sleep 0.5
kdelete endpointslices/t/scale-2 # down (b3 keeps running: draining)
wait $LOAD
is "$(cat "$T_TMP/scale.bad")" 0 && ok "300 requests while endpoints scale up, go not-ready and down: none lost" ||
	fail "requests lost while scaling: $(cat "$T_TMP/scale.bad")"
out=$(for i in 1 2 3 4 5 6; do get scale.test /; done | cut -d' ' -f1 | sort -u | tr '\n' ' ')
is "$out" "b1 " && ok "not-ready and removed endpoints get no new requests" || fail "routing after scale ($out)"

# ---- stops cleanly
kill -TERM $IPID
wait $IPID
is $? 0 && ok "SIGTERM: exit 0" || fail "SIGTERM exit"
grep -E 'ERROR|AddressSanitizer|runtime error' "$T_TMP/ingressd.log" | head -5
finish
