#!/bin/sh
# test/e2e_dns.sh [BINARY] - an ExternalName whose DNS server never answers
# must not stall the proxy: ingressd runs in a mount namespace whose
# /etc/resolv.conf names a silent DNS server (a UDP socket that reads and
# drops); while the real resolver waits on it, in a child process, every
# other route answers at once; the name then fails (503) with a log line,
# and the resolver child holds no client connection open; the API server
# named by a host that hangs in DNS stalls nothing either. Needs root (the
# namespace and port 53). Takes about 15 s.
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
if [ "$(id -u)" -ne 0 ]; then
	echo "e2e_dns: skipped (needs root: a mount namespace and port 53)"
	exit 0
fi
suite e2e_dns
BIN=$(realpath "${1:-./ingressd}")

API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
WEB=$(free_port)
P1=$(free_port)
DNS=127.1.53.53

python3 - "$DNS" "$T_TMP/dns.queries" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
while True:
    data, peer = s.recvfrom(4096)  # never answered
    with open(sys.argv[2], "a") as f:
        f.write("%d bytes from %s\n" % (len(data), peer[0]))
EOF
at_exit "kill $!"
start_api
backend 127.0.0.1:$P1 b1
wait_port $API && wait_port $CTL && wait_port $P1 || abort "helpers did not start"

printf 'nameserver %s\noptions timeout:5 attempts:2\n' $DNS >"$T_TMP/resolv.conf"
cat >"$T_TMP/ns-ingressd" <<EOF
#!/bin/sh
mount --bind "$T_TMP/resolv.conf" /etc/resolv.conf || exit 1
exec "$BIN" "\$@"
EOF
chmod +x "$T_TMP/ns-ingressd"
B="unshare -m $T_TMP/ns-ingressd"
conf_std "$T_TMP/i.conf" $HTTP $WEB
namespace t
service_s1
kapply <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: plain, namespace: t}
spec:
  rules:
  - host: plain.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: s1, port: {number: 80}}}}
EOF
start_ingressd
ready
eventually "routes live" sh -c "curl -s --max-time 1 -H 'Host: plain.test' http://127.0.0.1:$HTTP/p | grep -q '^b1 /p'"
# now the ExternalName: its lookup starts with the next rebuild
kapply <<EOF
apiVersion: v1
kind: Service
metadata: {name: slow, namespace: t}
spec: {type: ExternalName, externalName: slow.example.invalid, ports: [{port: $P1}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: slow, namespace: t}
spec:
  rules:
  - host: slow.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: slow, port: {number: $P1}}}}
EOF

WAIT=30 eventually "a resolver child runs" pgrep -P "$IPID"
child=$(pgrep -P "$IPID" | head -n 1)
if [ -n "$child" ]; then
	# no socket of the parent's (listeners, clients) stays open in the child
	shared=0
	for l in $(ls -l /proc/"$child"/fd | sed -n 's/.*-> socket:\[\([0-9]*\)\]$/\1/p'); do
		ls -l /proc/"$IPID"/fd | grep -q "socket:\[$l\]" && shared=$((shared + 1))
	done
	is $shared 0 && ok "the resolver child holds no socket of the proxy's" ||
		fail "the resolver child shares $shared sockets with the proxy"
else
	fail "no resolver child under way"
fi
# While the lookup hangs (5 s: timeout:5; every build has the same resolver), the proxy
# answers at once.
slow=0
i=0
while [ $i -lt 25 ]; do
	get plain.test /p --max-time 1 | grep -q '^b1 /p' || slow=$((slow + 1))
	sleep 0.2
	i=$((i + 1))
done
is $slow 0 && ok "every request answered within 1 s while DNS hangs" || fail "$slow of 25 requests took over 1 s"
check "the resolver did ask the silent DNS server" test -s "$T_TMP/dns.queries"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: slow.test' http://127.0.0.1:$HTTP/)" 503 &&
	ok "the unresolved ExternalName answers 503" || fail "unresolved ExternalName"
WAIT=150 eventually "the name fails with a log line" grep -q 'rb: resolving slow.example.invalid:' "$T_TMP/ingressd.log"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: slow.test' http://127.0.0.1:$HTTP/)" 503 &&
	ok "... and still answers 503" || fail "failed ExternalName"
get plain.test /p --max-time 1 | grep -q '^b1 /p' && ok "... the other route unharmed" || fail "other route"
is "$(ps -o stat= --ppid "$IPID" | grep -c Z)" 0 && ok "no zombie resolver" || fail "zombie resolver processes"

# ---- the API server named by a host name that does not resolve: the
# lookup is off the loop too (the admin listener answers at once), fails
# with a log line, and the watch backs off
WEB2=$(free_port)
HTTP2=$(free_port)
cat >"$T_TMP/i.conf" <<EOF
[entryPoints.http]
address = "127.0.0.1:$HTTP2"
[web]
address = "127.0.0.1:$WEB2"
[kubernetes]
endpoint = "http://api.example.invalid:$API"
EOF
$B -c "$T_TMP/i.conf" 2>"$T_TMP/ingressd2.log" &
at_exit "kill $!"
wait_port $WEB2 || fail "second ingressd starts"
slow=0
i=0
while [ $i -lt 20 ]; do
	curl -s --max-time 1 "http://127.0.0.1:$WEB2/ping" | grep -q OK || slow=$((slow + 1))
	sleep 0.2
	i=$((i + 1))
done
is $slow 0 && ok "API server's name hangs in DNS: the admin listener answers within 1 s" ||
	fail "$slow of 20 /ping took over 1 s while the API server's name was resolved"
WAIT=150 eventually "... the name fails with a log line" grep -q 'rb: resolving api.example.invalid:' "$T_TMP/ingressd2.log"
eventually "... and the watch backs off" grep -q "the API server's name does not resolve; retrying in" "$T_TMP/ingressd2.log"
finish
