# test/lib.sh - helpers for the shell suites. Source it, call `suite NAME`,
# then ok/fail/check, and `finish` prints "NAME: N passed, M failed".
T_PASS=0
T_FAIL=0
T_NAME=test
T_TMP=
suite() {
	T_NAME=$1
	case $T_NAME in *"${T_SUFFIX:-}") ;; *) T_NAME=$T_NAME$T_SUFFIX ;; esac # make test's second pass: _poll
	T_TMP=$(mktemp -d "/tmp/ingressd-$1.XXXXXX")
	trap 't_cleanup' EXIT INT TERM
}
# Commands to run at exit (kill servers), newest first.
T_CLEANUP=
at_exit() { T_CLEANUP="$*; $T_CLEANUP"; }
t_cleanup() {
	eval "$T_CLEANUP" >/dev/null 2>&1
	[ -n "$T_TMP" ] && [ -z "$KEEP_TMP" ] && rm -rf "$T_TMP"
}
ok() { T_PASS=$((T_PASS + 1)); [ -n "$VERBOSE" ] && echo "ok   $*"; return 0; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL $*"; return 0; }
# check "description" command...: passes when the command succeeds
check() { d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else fail "$d"; fi; }
finish() { echo "$T_NAME: $T_PASS passed, $T_FAIL failed"; [ "$T_FAIL" -eq 0 ]; }
# abort MSG [FILE]: fail MSG (then show FILE) and end the suite here, exit 1.
abort() {
	fail "$1"
	[ -z "$2" ] || cat "$2"
	finish
	exit 1
}
# A free TCP port on 127.0.0.1, below the kernel's ephemeral range (so the
# local end of some outgoing connection - kube-apiserver's to etcd, say -
# cannot take it before the server binds it), not handed out before in
# this suite.
free_port() {
	python3 - "${T_TMP:-/tmp}/.ports" <<'EOF'
import random, socket, sys
lo = 32768
try:
    lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    pass
try:
    used = set(open(sys.argv[1]).read().split())
except OSError:
    used = set()
for _ in range(2000):
    p = random.randint(max(1024, lo - 12000), lo - 1)
    if str(p) in used:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    with open(sys.argv[1], "a") as f:
        f.write("%d\n" % p)
    print(p)
    sys.exit(0)
sys.exit("free_port: no free port found")
EOF
}
# Wait until a TCP port accepts (up to ~5 s).
wait_port() {
	i=0
	while [ $i -lt 100 ]; do
		python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); s.connect(('${2:-127.0.0.1}', $1))" 2>/dev/null && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}
# start_api [fakeapi.py options...]: the stand-in API server (test/fakeapi.py)
# on 127.0.0.1:$API, control port $CTL, output in $T_TMP/api.log; its pid is
# $APID, killed at exit.
start_api() {
	python3 test/fakeapi.py --listen 127.0.0.1:$API --control 127.0.0.1:$CTL "$@" >"$T_TMP/api.log" 2>&1 &
	APID=$!
	at_exit "kill $APID"
}
# backend ADDR:PORT NAME [backend.py options...]: a test backend
# (test/backend.py) answering as NAME; killed at exit ($! is its pid).
backend() {
	b_listen=$1
	b_name=$2
	shift 2
	python3 test/backend.py --listen "$b_listen" --name "$b_name" "$@" >/dev/null 2>&1 &
	at_exit "kill $!"
}
# conf_std FILE HTTP WEB [TOP-LEVEL KEYS] [MORE TABLES]: an ingressd config,
# entry point http on 127.0.0.1:HTTP, admin on 127.0.0.1:WEB, the stand-in
# API server at $API, rebuilds coalesced for 20 ms
conf_std() {
	cat >"$1" <<EOF
$4
[entryPoints.http]
address = "127.0.0.1:$2"
[web]
address = "127.0.0.1:$3"
$5
[kubernetes]
endpoint = "http://127.0.0.1:$API"
throttleDuration = "20ms"
EOF
}
# start_ingressd [options...]: $B -c $T_TMP/i.conf in the background, stderr
# in $T_TMP/ingressd.log; its pid is $IPID, killed at exit.
start_ingressd() {
	$B -c "$T_TMP/i.conf" "$@" 2>"$T_TMP/ingressd.log" &
	IPID=$!
	at_exit "kill $IPID"
}
# start_in_cluster PORT SA: ingressd configured as in a pod: $T_TMP/i.conf
# has the http entry point ($HTTP), the admin listener ($WEB) and no API
# endpoint; the environment names the API server 127.0.0.1:PORT and the
# service-account directory SA. Debug log; see start_ingressd.
start_in_cluster() {
	cat >"$T_TMP/i.conf" <<EOF
[entryPoints.http]
address = "127.0.0.1:$HTTP"
[web]
address = "127.0.0.1:$WEB"
[kubernetes]
throttleDuration = "20ms"
EOF
	KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$1 INGRESSD_SERVICEACCOUNT_DIR=$2 start_ingressd -l DEBUG
}
# The stand-in API server's control port is $CTL: kapply < YAML, kdelete PATH.
kapply() { curl -sf -X POST --data-binary @- -H 'Content-Type: application/yaml' "http://127.0.0.1:$CTL/objects" >/dev/null; }
kdelete() { curl -sf -X DELETE "http://127.0.0.1:$CTL/objects/$1" >/dev/null; }
# service_s1: Service t/s1 (port "http" 80) and its EndpointSlice s1-a,
# 127.0.0.1:$P1
service_s1() {
	kapply <<EOF
apiVersion: v1
kind: Service
metadata: {name: s1, namespace: t}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s1-a, namespace: t, labels: {kubernetes.io/service-name: s1}}
addressType: IPv4
ports: [{name: http, port: $P1}]
endpoints:
- addresses: ["127.0.0.1"]
EOF
}
# namespace NAME: the Namespace object on the stand-in API server
namespace() { printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' "$1" | kapply; }
# ingress_with NAME HOST PATH [PATHTYPE], the annotations as YAML lines on
# stdin: Ingress t/NAME routing HOST PATH (Prefix) to Service s1 port 80
ingress_with() {
	kapply <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: $1
  namespace: t
  annotations:
$(sed 's/^/    /')
spec:
  rules:
  - host: $2
    http:
      paths:
      - {path: "$3", pathType: ${4:-Prefix}, backend: {service: {name: s1, port: {number: 80}}}}
EOF
}
# ingress_s1 NAME HOST [ANNOTATIONS]: Ingress t/NAME routing HOST/ (Prefix)
# to Service s1 port 80; ANNOTATIONS a YAML map, {} by default
ingress_s1() {
	i_ann=${3:-"{}"}
	kapply <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: $1, namespace: t, annotations: $i_ann}
spec:
  rules:
  - host: $2
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: s1, port: {number: 80}}}}
EOF
}
# eventually DESC CMD...: CMD succeeds within WAIT tenths of a second,
# checked every 0.1 s. Without WAIT, the suite's EVENTUALLY_WAIT, else 50
# (rebuilds are coalesced).
eventually() {
	d=$1
	shift
	i=0
	while [ $i -lt "${WAIT:-${EVENTUALLY_WAIT:-50}}" ]; do
		if "$@" >/dev/null 2>&1; then
			ok "$d"
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	fail "$d"
}
# ready [DESC]: eventually the admin listener ($WEB) answers /ready with 200
ready() { eventually "${1:-ready}" sh -c "curl -sf http://127.0.0.1:$WEB/ready"; }
is() { [ "$1" = "$2" ]; }
has() { echo "$1" | grep -q -- "$2"; }
# get HOST PATH [curl args]: the body of http://127.0.0.1:$HTTP PATH for Host HOST
get() {
	h=$1
	p=$2
	shift 2
	curl -s -H "Host: $h" "$@" "http://127.0.0.1:$HTTP$p"
}
