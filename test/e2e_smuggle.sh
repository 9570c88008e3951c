#!/bin/sh
# test/e2e_smuggle.sh - the differential suite of the December security
# review: every hostile request it tried, sent through ingressd to three
# pods that read HTTP differently - a strict recording origin
# (test/pods/recorder.py), Go's net/http (gopod.go) and Node's http
# (nodepod.js) - checking each answer, then that what each pod parsed is
# what ingressd routed: as many requests, each with one X-Real-Ip (the
# peer's), none for a whitelisted or authenticated path, however the pod
# reads paths (test/pods/smuggle.py).
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
suite e2e_smuggle
B=${1:-./ingressd}
command -v go >/dev/null || abort "go missing (golang-go; make deps)"
command -v node >/dev/null || abort "node missing (nodejs; make deps)"

# Go builds the pod once into build/pods (Debian's Go, standard library only)
mkdir -p build/pods
if [ ! -x build/pods/gopod ] || [ test/pods/gopod.go -nt build/pods/gopod ]; then
	GO111MODULE=off GOCACHE="$PWD/build/gocache" GOPATH="$PWD/build/gopath" go build -o build/pods/gopod test/pods/gopod.go ||
		abort "gopod does not build"
fi

API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
WEB=$(free_port)
PREC=$(free_port)
PGO=$(free_port)
PNODE=$(free_port)
start_api
python3 test/pods/recorder.py --listen 127.0.0.1:$PREC --log "$T_TMP/rec.log" >"$T_TMP/rec.out" 2>&1 &
at_exit "kill $!"
build/pods/gopod -listen 127.0.0.1:$PGO -log "$T_TMP/go.log" >"$T_TMP/go.out" 2>&1 &
at_exit "kill $!"
node test/pods/nodepod.js $PNODE "$T_TMP/node.log" >"$T_TMP/node.out" 2>&1 &
at_exit "kill $!"
wait_port $API && wait_port $CTL && wait_port $PREC && wait_port $PGO && wait_port $PNODE ||
	abort "helpers did not start" "$T_TMP/api.log"
: >"$T_TMP/rec.log"
: >"$T_TMP/go.log"
: >"$T_TMP/node.log"

namespace t
# user u, password p ({SHA}, so the check is quick)
printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: users, namespace: t}\ndata: {auth: %s}\n' \
	"$(printf 'u:{SHA}UWuXg/ylF+7L0dBk2i0WUxCxl1k=\n' | base64 -w0)" | kapply
for pod in rec go node; do
	case $pod in rec) port=$PREC ;; go) port=$PGO ;; node) port=$PNODE ;; esac
	kapply <<YAML
apiVersion: v1
kind: Service
metadata: {name: $pod, namespace: t}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: $pod-a, namespace: t, labels: {kubernetes.io/service-name: $pod}}
addressType: IPv4
ports: [{name: http, port: $port}]
endpoints:
- addresses: ["127.0.0.1"]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: $pod-open, namespace: t}
spec:
  rules:
  - host: $pod.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: $pod, port: {number: 80}}}}]}
  - host: $pod-mix.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: $pod, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: $pod-admin
  namespace: t
  annotations: {ingress.kubernetes.io/whitelist-source-range: "10.0.0.0/8"}
spec:
  rules:
  - host: $pod.test
    http: {paths: [{path: /admin, pathType: Prefix, backend: {service: {name: $pod, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata:
  name: $pod-mix-admin
  namespace: t
  annotations: {ingress.kubernetes.io/whitelist-source-range: "10.0.0.0/8"}
spec:
  rules:
  - host: $pod-mix.test
    http: {paths: [{path: /admin, backend: {serviceName: $pod, servicePort: 80}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: $pod-secret
  namespace: t
  annotations: {ingress.kubernetes.io/auth-type: basic, ingress.kubernetes.io/auth-secret: users}
spec:
  rules:
  - host: $pod.test
    http: {paths: [{path: /secret, pathType: Exact, backend: {service: {name: $pod, port: {number: 80}}}}]}
YAML
done
conf_std "$T_TMP/i.conf" $HTTP $WEB "" "[accessLog]
filePath = \"$T_TMP/access.log\"
format = \"json\"
[forwardingTimeouts]
responseHeaderTimeout = \"3s\""
start_ingressd
wait_port $HTTP
ready
for pod in rec go node; do
	eventually "$pod routes built" sh -c "curl -sf -H 'Host: $pod.test' http://127.0.0.1:$HTTP/ready-probe | grep -q ."
done
# the probes themselves: answers as ingressd should give them
for pod in rec go node; do
	python3 test/pods/smuggle.py probe $HTTP $pod >"$T_TMP/probe.$pod" 2>&1
	while read -r verdict rest; do
		case $verdict in PASS) ok "$rest" ;; FAIL) fail "$rest" ;; *) fail "probe: $verdict $rest" ;; esac
	done <"$T_TMP/probe.$pod"
done
# what the pods parsed against what ingressd routed (the access log is
# written at least once a second)
sleep 1.5
n_rec=$(wc -l <"$T_TMP/rec.log")
eventually "the access log has every routed request" sh -c "[ \$(wc -l <'$T_TMP/access.log') -ge $n_rec ]"
python3 test/pods/smuggle.py check "$T_TMP/access.log" rec=$PREC:"$T_TMP/rec.log" go=$PGO:"$T_TMP/go.log" \
	node=$PNODE:"$T_TMP/node.log" >"$T_TMP/check.out" 2>&1
while read -r verdict rest; do
	case $verdict in PASS) ok "$rest" ;; FAIL) fail "$rest" ;; *) fail "check: $verdict $rest" ;; esac
done <"$T_TMP/check.out"

kill -TERM $IPID
wait $IPID
grep -E 'AddressSanitizer|runtime error' "$T_TMP/ingressd.log" | head -5
finish
