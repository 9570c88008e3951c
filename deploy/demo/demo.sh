#!/bin/sh
# deploy/demo/demo.sh (make demo) - ingressd routing the cheese example on
# this machine: the stand-in API server (test/fakeapi.py) holds the
# manifests, three tiny local backends play the cheese pods, and ingressd
# listens on unprivileged ports. Ctrl-C stops everything.
#   HTTP_PORT (8000), ADMIN_PORT (8081), API_PORT (18001) override the ports.
cd "$(dirname "$0")/../.." || exit 1
HTTP=${HTTP_PORT:-8000}
ADMIN=${ADMIN_PORT:-8081}
API=${API_PORT:-18001}
CTL=$((API + 1))
T=$(mktemp -d /tmp/ingressd-demo.XXXXXX)
PIDS=""
stop() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
	echo
	echo "demo stopped"
}
trap stop EXIT
trap 'exit 0' INT TERM
busy() { python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1', $1)) != 0)"; }
for p in $HTTP $ADMIN $API $CTL; do
	if busy "$p"; then
		echo "demo: port $p is in use; set HTTP_PORT, ADMIN_PORT or API_PORT" >&2
		exit 1
	fi
done
wait_port() {
	i=0
	until busy "$1"; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "demo: nothing listens on $1" >&2; exit 1; }
		sleep 0.1
	done
}

python3 test/fakeapi.py --listen 127.0.0.1:$API --control 127.0.0.1:$CTL --load deploy/demo/cheese.yaml >"$T/api.log" 2>&1 &
PIDS="$PIDS $!"
n=0
for cheese in stilton cheddar wensleydale; do
	port=$((API + 10 + n))
	python3 test/backend.py --listen 127.0.0.1:$port --name "$cheese" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	wait_port $port
	ports="$ports $cheese:$port"
	n=$((n + 1))
done
wait_port $CTL
for cp in $ports; do
	cheese=${cp%%:*}
	port=${cp#*:}
	curl -sf -X POST -H 'Content-Type: application/yaml' --data-binary @- http://127.0.0.1:$CTL/objects >/dev/null <<Y || exit 1
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: $cheese-demo, namespace: default, labels: {kubernetes.io/service-name: $cheese}}
addressType: IPv4
ports: [{name: http, port: $port}]
endpoints:
- addresses: ["127.0.0.1"]
  conditions: {ready: true}
Y
done
cat >"$T/ingressd.conf" <<C
[entryPoints.http]
address = "127.0.0.1:$HTTP"
[web]
address = "127.0.0.1:$ADMIN"
[kubernetes]
endpoint = "http://127.0.0.1:$API"
C
./ingressd -c "$T/ingressd.conf" 2>"$T/ingressd.log" &
PIDS="$PIDS $!"
i=0
until curl -sf "http://127.0.0.1:$ADMIN/ready" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "demo: ingressd not ready:"; cat "$T/ingressd.log"; exit 1; }
	sleep 0.1
done
cat <<M
ingressd is routing the cheese example (ingressd log: $T/ingressd.log).
Try:
  curl -H 'Host: stilton.local' http://127.0.0.1:$HTTP/
  curl -H 'Host: cheddar.local' http://127.0.0.1:$HTTP/
  curl -H 'Host: wensleydale.local' http://127.0.0.1:$HTTP/
  curl -H 'Host: cheeses.local' http://127.0.0.1:$HTTP/cheddar/some/path   (PathPrefixStrip)
  curl -H 'Host: anything.else' http://127.0.0.1:$HTTP/                  (the default backend)
  curl http://127.0.0.1:$ADMIN/api/providers
  curl http://127.0.0.1:$ADMIN/metrics
Ctrl-C stops the demo.
M
for h in stilton cheddar wensleydale; do
	printf '  %-18s -> %s' "$h.local" "$(curl -s -H "Host: $h.local" "http://127.0.0.1:$HTTP/")"
	echo
done
while :; do sleep 3600; done
