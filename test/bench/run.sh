#!/bin/bash
# test/bench/run.sh - `make bench`: ingressd measured against nginx and
# HAProxy on loopback, in one run (the Performance sections of issues 3-8).
#
#   D  initial list of 1,000 Ingresses/Services/EndpointSlices + 100 Secrets
#      from the stand-in API server: CPU time and RSS growth to /ready (also
#      against an empty cluster, and with the 100 TLS Secrets deleted);
#      watch-event decode throughput (decode_bench.c, the real decoder) and
#      one routing-table rebuild from that store
#   A  proxy throughput: wrk -t1 -c64 against ingressd, nginx (proxy) and
#      HAProxy in front of one nginx backend; rounds interleaved, medians
#   B  ingressd variants as ratios to plain ingressd (same rounds): sticky
#      cookies (new client / cookie presented), circuit breaker, whitelist,
#      5 custom response headers + HSTS (force-hsts, so over plain HTTP),
#      nginx's limit-rps at a rate that never trips, an entry point with
#      [proxyProtocol] (wrk sends no header; and HAProxy send-proxy-v2 in
#      front of it against HAProxy in front of the plain entry point),
#      basic auth (bcrypt cost 10, cached), access log, /metrics scraped 1/s;
#      the loop stall caused by a burst of 20 wrong passwords; heap
#      allocations per request
#   C  10,000 idle keep-alive client connections: ingressd RSS, and what
#      they cost 64 busy clients (req/s, CPU per request), on the epoll
#      build and on the poll() one; its CPU while they are held and quiet;
#      RSS after they all close at once; then 50,000 on an epoll build
#      with ING_MAX_CONNS raised
#   E  HTTPS: keep-alive req/s over TLS, and full handshakes/s with ECDSA
#      P-256 and RSA-2048 certificates, for ingressd (BearSSL and mbedTLS
#      builds) and nginx (OpenSSL)
#   F  HTTPS to pods: keep-alive both sides, TLS 1.2 from the proxy to an
#      nginx HTTPS backend, for ingressd (insecureSkipVerify; BearSSL and
#      mbedTLS builds), nginx (proxy_pass https://, upstream keepalive,
#      proxy_ssl_session_reuse) and HAProxy (ssl verify none, http-reuse);
#      req/s, p99, and the TLS handshakes per 10,000 requests counted at the
#      backend; rounds interleaved
#   G  forward auth (issue 18): ingressd with a Traefik auth-type forward
#      route against nginx (1 worker) with auth_request, both asking the
#      same fast auth service (nginx, 1 worker, `return 200` on /auth) over
#      kept-alive connections (ingressd's pool; nginx's upstream keepalive
#      64), and both plain again in the same rounds; checked first that a
#      request the auth service denies gets 401 from both; the auth
#      service's requests, accepted connections and CPU counted per run
#
# Prints a markdown table and writes build/bench/results.md; raw numbers
# and every log are kept in build/bench/ (raw.txt, logs/). The machine is
# shared and noisy: compare numbers within one run only.
#
# Knobs (environment):
#   BENCH_SECONDS=10     wrk duration of each A and G run   BENCH_ROUNDS=3 (A, G)
#   BENCH_VAR_SECONDS=4  wrk duration of each B, E and F run
#   BENCH_VAR_ROUNDS=3   rounds of B and F
#   BENCH_WARMUP=2       seconds of wrk warm-up per target
#   BENCH_C_SECONDS=3    wrk duration without / with the idle connections held
#   BENCH_CONNS=64       wrk connections
#   BENCH_IDLE_CONNS=10000   BENCH_BIG_IDLE=50000   BENCH_GENERATE=1000   BENCH_DECODE_N=100000
#   BENCH_PIN=1          pin wrk + backend to CPU 0 and the proxy to CPU 1
#   BENCH_QUICK=1        a short smoke run (numbers meaningless)
#   BENCH_INGRESSD=PATH  the binary to measure (default ./ingressd)
#   BENCH_ONLY="D A B C E F G"  sections to run (BENCH_ONLY=G: forward auth alone)
#   BENCH_KEEP=1         keep the temp dir (configs of nginx/haproxy)
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
export PATH="$PATH:/usr/sbin:/sbin"

SECS=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
VSECS=${BENCH_VAR_SECONDS:-4}
VROUNDS=${BENCH_VAR_ROUNDS:-3}
WARM=${BENCH_WARMUP:-2}
CSECS=${BENCH_C_SECONDS:-3}
CONNS=${BENCH_CONNS:-64}
IDLE=${BENCH_IDLE_CONNS:-10000}
GEN=${BENCH_GENERATE:-1000}
DECODE_N=${BENCH_DECODE_N:-100000}
ONLY=${BENCH_ONLY:-D A B C E F G}
B=${BENCH_INGRESSD:-$ROOT/ingressd}
if [ -n "${BENCH_QUICK:-}" ]; then
	SECS=3 ROUNDS=1 VSECS=2 VROUNDS=1 WARM=1 CSECS=1 IDLE=2000 DECODE_N=10000 BENCH_BIG_IDLE=${BENCH_BIG_IDLE:-4000}
fi

OUT=$ROOT/build/bench
LOGS=$OUT/logs
RAW=$OUT/raw.txt
mkdir -p "$LOGS"
rm -f "$LOGS"/* "$RAW"
TMP=$(mktemp -d /tmp/ingressd-bench.XXXXXX)
T0=$(date +%s)

# ---------------------------------------------------------------- helpers
PIDS=""
cleanup() {
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 30 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null
	done
	[ -n "${BENCH_KEEP:-}" ] && echo "bench: kept $TMP" >&2 || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "bench: $*" >&2; }
# A free TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
# Wait until 127.0.0.1:PORT accepts (up to ~10 s).
wait_port() {
	python3 -c 'import socket, sys, time
for i in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)' "$1"
}
rec() { printf '%s\n' "$*" >>"$RAW"; }
kv() { rec "kv $1 $2"; }
note() { # SECTION TEXT: shown under the table
	rec "note $*"
	say "note: $*"
}
# bg LOG CMD...: start CMD in the background, remember it for cleanup; PID in $LAST
bg() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 &
	LAST=$!
	PIDS="$LAST $PIDS"
}
# stop PID: SIGTERM and wait for it (and forget it: PIDs get reused)
stop() {
	local i=0 p rest=""
	for p in $PIDS; do [ "$p" = "$1" ] || rest="$rest $p"; done
	PIDS=$rest
	kill -TERM "$1" 2>/dev/null
	while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
want() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }
# on-CPU nanoseconds of every thread of PID
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'; }
# until CMD succeeds, up to N tenths of a second
until_ok() {
	local n=$1 i=0
	shift
	while [ $i -lt "$n" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
http_code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

PCLI="" PSRV="" PBACK=""
if [ "${BENCH_PIN:-0}" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	PCLI="taskset -c 0" PSRV="taskset -c 1" PBACK="taskset -c 0"
fi

# wrk_run SECTION NAME ROUND SECONDS PID URL [wrk args]: one measured run;
# PID is the proxy process whose CPU time per request is recorded (or -)
wrk_run() {
	local sec=$1 name=$2 round=$3 d=$4 pid=$5 url=$6 f c0=0 c1=0 res
	shift 6
	f=$LOGS/wrk.$sec.$name.$round.txt
	[ "$pid" != - ] && c0=$(cpu_ns "$pid")
	$PCLI wrk -t1 -c"$CONNS" -d"${d}s" --latency "$@" "$url" >"$f" 2>&1
	[ "$pid" != - ] && c1=$(cpu_ns "$pid")
	res=$(python3 test/bench/wrkparse.py "$f")
	rec "wrk $sec $name $round $res cpu_ns=$((c1 - c0))"
	say "  $sec $name round $round: $(echo "$res" | cut -d' ' -f1-3)"
}
warm() { $PCLI wrk -t1 -c"$CONNS" -d"${WARM}s" "$@" >/dev/null 2>&1; }

# ---------------------------------------------------------------- preflight
missing=""
for t in wrk curl python3 cc nginx; do command -v $t >/dev/null || missing="$missing $t"; done
if [ -n "$missing" ]; then
	echo "bench: missing:$missing (make deps installs them)" >&2
	exit 1
fi
if [ ! -x "$B" ]; then
	make ingressd >&2 || exit 1
fi
ulimit -n 131072 2>/dev/null || ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
kv machine.nofile "$(ulimit -n)"
kv machine.nproc "$(nproc)"
kv machine.cpu "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
kv machine.mem_mb "$(awk '/^MemTotal/ {print int($2 / 1024)}' /proc/meminfo)"
kv machine.kernel "$(uname -r)"
kv machine.date "$(date -u '+%Y-%m-%d %H:%M UTC')"
kv machine.load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
kv version.ingressd "$("$B" -V 2>&1 | head -n 1)"
kv version.commit "$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- ingressd.c ingressd.h port 2>/dev/null || echo '+uncommitted')"
kv version.nginx "$(nginx -v 2>&1 | sed 's/^nginx version: //')"
kv version.haproxy "$(haproxy -v 2>/dev/null | head -n 1 | awk '{print $3}')"
kv version.wrk "$(wrk -v 2>&1 | head -n 1 | awk '{print $2}')"
kv settings "wrk -t1 -c$CONNS; A, G: ${SECS}s x $ROUNDS rounds; B: ${VSECS}s x $VROUNDS rounds; pinning: ${PCLI:+wrk+backend CPU 0, proxy CPU 1}${PCLI:-none}"
if [ "$(ulimit -n)" -lt $((IDLE + 1000)) ]; then
	IDLE=$(($(ulimit -n) - 1000))
	note C "open-file limit is $(ulimit -n): idle connections reduced to $IDLE"
fi

# The helpers build into build/bench against the sources in this tree.
HAVE_DECODE=0
if cc -std=c11 -O2 -o "$OUT/decode_bench" test/bench/decode_bench.c port/mock.c port/tls_bearssl.c \
	-l:libbearssl.a >"$LOGS/decode_bench.build.log" 2>&1; then
	HAVE_DECODE=1
else
	note D "decode_bench did not build (log: build/bench/logs/decode_bench.build.log)"
fi
HAVE_MC=0
cc -std=c11 -O2 -shared -fPIC -o "$OUT/malloc_count.so" test/bench/malloc_count.c >"$LOGS/malloc_count.build.log" 2>&1 &&
	HAVE_MC=1

# ---------------------------------------------------------------- shared pieces
# The nginx backend: 1 worker, a small fixed answer, keep-alive.
# nginx_head DIR: starts $TMP/DIR/nginx.conf (one worker, no access log,
# temp paths of its own), up to inside http {; the caller appends the rest
nginx_head() {
	mkdir -p "$TMP/$1/logs"
	cat >"$TMP/$1/nginx.conf" <<EOF
worker_processes 1;
pid $TMP/$1/nginx.pid;
error_log $TMP/$1/logs/error.log warn;
events { worker_connections 20000; }
http {
    access_log off;
    keepalive_timeout 300s;
    keepalive_requests 1000000;
    client_body_temp_path $TMP/$1/body;
    proxy_temp_path $TMP/$1/proxy;
    fastcgi_temp_path $TMP/$1/fastcgi;
    uwsgi_temp_path $TMP/$1/uwsgi;
    scgi_temp_path $TMP/$1/scgi;
EOF
}
BACK=$(free_port)
nginx_head back
cat >>"$TMP/back/nginx.conf" <<EOF
    server {
        listen 127.0.0.1:$BACK backlog=4096;
        location / {
            default_type text/plain;
            return 200 "hello from the bench backend\n";
        }
        location /rw/ { # where B's rewrite route sends: it says so
            default_type text/plain;
            add_header X-Rewritten \$uri;
            return 200 "hello from the bench backend\n";
        }
    }
}
EOF

# ingressd_conf FILE HTTPPORT WEBPORT APIPORT [extra TOML]
ingressd_conf() {
	cat >"$1" <<EOF
[entryPoints.http]
address = "127.0.0.1:$2"
[web]
address = "127.0.0.1:$3"
[kubernetes]
endpoint = "http://127.0.0.1:$4"
throttleDuration = "20ms"
${5:-}
EOF
}
ready() { [ "$(http_code "http://127.0.0.1:$1/ready")" = 200 ]; }

# ================================================================ D: watch/list
section_D() {
	local which api h w r o n3 ns j n DCTL
	say "D: initial list of $GEN apps, decode throughput"
	DAPI=$(free_port)
	DCTL=$(free_port)
	bg "$LOGS/fakeapi-generate.log" python3 test/fakeapi.py --listen 127.0.0.1:$DAPI --control 127.0.0.1:$DCTL \
		--generate "$GEN" --generate-port 8080
	DFA=$LAST
	if ! until_ok 1200 grep -q 'listening on' "$LOGS/fakeapi-generate.log"; then
		note D "fakeapi --generate $GEN did not start (see logs/fakeapi-generate.log)"
		return
	fi
	# the generated objects as watch events for decode_bench (before the
	# Secrets are deleted below)
	mkdir -p "$TMP/ev"
	python3 test/bench/events.py http://127.0.0.1:$DAPI "$TMP/ev" >"$LOGS/events.txt" 2>&1 ||
		note D "could not fetch the generated objects for decode_bench"
	# Empty cluster first (the fixed cost of starting), then the 1,000 apps.
	EAPI=$(free_port)
	bg "$LOGS/fakeapi-empty.log" python3 test/fakeapi.py --listen 127.0.0.1:$EAPI
	EFA=$LAST
	wait_port $EAPI
	for which in empty list notls; do
		api=$DAPI
		if [ $which = notls ]; then
			# the same cluster without its TLS Secrets: what loading the certificates costs
			for j in $(seq 0 $(((GEN + 9) / 10 - 1))); do
				curl -s -o /dev/null -X DELETE "http://127.0.0.1:$DCTL/objects/secrets/bench/$(printf 'tls-%05d' "$j")"
			done
		fi
		[ $which = empty ] && api=$EAPI
		h=$(free_port) w=$(free_port)
		# default throttleDuration: the rebuilds a real start-up pays
		cat >"$TMP/$which.conf" <<EOF
[entryPoints.http]
address = "127.0.0.1:$h"
[web]
address = "127.0.0.1:$w"
[kubernetes]
endpoint = "http://127.0.0.1:$api"
EOF
		for r in 1 2 3; do
			o=$(python3 test/bench/listbench.py --ingressd "$B" --conf "$TMP/$which.conf" --web 127.0.0.1:$w \
				--log "$LOGS/ingressd-$which.log")
			rec "list $which $r $(echo $o)"
			say "  $which round $r: $(echo $o)"
		done
	done
	stop $EFA
	# Secrets listed before the Ingresses that use them are dropped and fetched
	# one by one later: count the list starts that were ready before that
	n=$(grep -c 'Secret not found; its hosts get the default certificate' "$LOGS/ingressd-list.log")
	[ "$n" -gt 0 ] && note D "$n 'TLS Secret ...: Secret not found' warnings in the 3 list starts although the Secrets exist (logs/ingressd-list.log): a Secret listed before the Ingress naming it is dropped and fetched alone later; /ready can turn 200 before it is loaded"
	if grep -q 'ING_MAX_' "$LOGS/ingressd-list.log"; then
		note D "limit hit during the list: $(grep -o 'ING_MAX_[A-Z_]*' "$LOGS/ingressd-list.log" | sort -u | tr '\n' ' ')"
	fi
	if [ $HAVE_DECODE = 1 ]; then
		# N events in all: Ingress, Service, EndpointSlice share 90 %, Secrets 10 %
		n3=$((DECODE_N * 3 / 10)) ns=$((DECODE_N / 10))
		if "$OUT/decode_bench" ingress="$TMP/ev/ingress.jsonl@$n3" service="$TMP/ev/service.jsonl@$n3" \
			endpointslice="$TMP/ev/endpointslice.jsonl@$n3" secret="$TMP/ev/secret.jsonl@$ns" \
			>"$LOGS/decode_bench.txt" 2>&1; then :; else
			note D "decode_bench reported decode errors (logs/decode_bench.txt)"
		fi
		while read -r line; do rec "$line"; done <"$LOGS/decode_bench.txt"
		sed 's/^/  /' "$LOGS/decode_bench.txt" >&2
	fi
	stop $DFA
}

# ================================================================ A + B setup
# B's header route: these response headers (Traefik 1.7's
# custom-response-headers) and HSTS, forced so it is sent over plain HTTP
HDR_RESP="X-A:1||X-B:2||X-C:3||X-D:4||X-E:5"
HDR_HSTS=31536000
# B's rate-limit route: nginx's limit-rps at a rate wrk never reaches (the
# burst is 5 times it), so every request is checked and none refused
RL_RPS=1000000
# B's Traefik rate-limit route: keyed by a header wrk does not send (one
# key, "", its salted SHA-256 taken on every request), a rate never reached
TRL='{extractorfunc: request.header.X-Key, rateset: {a: {period: 1s, average: 1000000, burst: 1000000}}}'
# B's rewrite route (Traefik's rewrite-target on "/": the target goes
# before the path, X-Replaced-Path added) and redirect route (a
# redirect-regex that never matches: run on scheme://Host+URI every time)
RWT=/rw
# B's canary route: plain, and Service cy (the same pod) as an nginx canary
# chosen by a header wrk does not send, then by weight: half of the requests
CANARY='nginx.ingress.kubernetes.io/canary: "true", nginx.ingress.kubernetes.io/canary-by-header: X-Canary, nginx.ingress.kubernetes.io/canary-weight: "50"'
RWT=/rw
RXR='^https://nowhere\\.example/(.*)'
objects() {
	cat <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: b}
EOF
	for s in plain sticky cb cy; do
		case $s in
		sticky) ann='{traefik.backend.loadbalancer.sticky: "true"}' ;;
		cb) ann='{traefik.backend.circuitbreaker: "NetworkErrorRatio() > 0.5"}' ;;
		*) ann='{}' ;;
		esac
		cat <<EOF
---
apiVersion: v1
kind: Service
metadata: {name: $s, namespace: b, annotations: $ann}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: $s-1, namespace: b, labels: {kubernetes.io/service-name: $s}}
addressType: IPv4
ports: [{name: http, port: $BACK}]
endpoints:
- addresses: ["127.0.0.1"]
  conditions: {ready: true}
EOF
	done
	# ingress NAME HOST SERVICE ANNOTATIONS
	for spec in "plain plain.bench plain {}" "sticky sticky.bench sticky {}" "cb cb.bench cb {}" \
		'wl wl.bench plain {ingress.kubernetes.io/whitelist-source-range: "127.0.0.0/8"}' \
		"hdr hdr.bench plain {ingress.kubernetes.io/custom-response-headers: \"$HDR_RESP\", ingress.kubernetes.io/hsts-max-age: \"$HDR_HSTS\", ingress.kubernetes.io/force-hsts: \"true\"}" \
		"rl rl.bench plain {nginx.ingress.kubernetes.io/limit-rps: \"$RL_RPS\"}" \
		"trl trl.bench plain {ingress.kubernetes.io/rate-limit: \"$TRL\"}" \
		"rw rw.bench plain {ingress.kubernetes.io/rewrite-target: \"$RWT\"}" \
		"rx rx.bench plain {ingress.kubernetes.io/redirect-regex: \"$RXR\", ingress.kubernetes.io/redirect-replacement: \"https://x/\$1\"}" \
		"cy cy.bench plain {}" "cyc cy.bench cy {$CANARY}" \
		'auth auth.bench plain {ingress.kubernetes.io/auth-type: basic, ingress.kubernetes.io/auth-secret: bench-auth}'; do
		set -- $spec
		n=$1 h=$2 s=$3
		shift 3
		cat <<EOF
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: $n, namespace: b, annotations: $*}
spec:
  rules:
  - host: $h
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: $s, port: {number: 80}}}}
EOF
	done
	if [ -s "$TMP/htpasswd" ]; then
		cat <<EOF
---
apiVersion: v1
kind: Secret
metadata: {name: bench-auth, namespace: b}
type: Opaque
data:
  auth: $(base64 -w0 <"$TMP/htpasswd")
EOF
	fi
}

UP=0
setup_proxies() {
	[ $UP = 1 ] && return 0
	UP=1
	say "starting the backend, fakeapi, ingressd, nginx and HAProxy"
	bg "$LOGS/backend.log" $PBACK nginx -p "$TMP/back" -e "$TMP/back/logs/error.log" -c "$TMP/back/nginx.conf" -g 'daemon off;'
	BACKPID=$LAST
	wait_port $BACK || {
		note A "the nginx backend did not start: $(cat "$LOGS/backend.log" "$TMP/back/logs/error.log" 2>/dev/null | tail -n 3)"
		return 1
	}
	if command -v htpasswd >/dev/null; then
		htpasswd -nbB -C 10 bench benchpass >"$TMP/htpasswd" 2>/dev/null
	else
		note B "htpasswd missing (apache2-utils): no basic-auth rows"
	fi
	API=$(free_port) CTL=$(free_port)
	bg "$LOGS/fakeapi.log" python3 test/fakeapi.py --listen 127.0.0.1:$API --control 127.0.0.1:$CTL
	wait_port $API && wait_port $CTL || {
		note A "fakeapi did not start"
		return 1
	}
	objects >"$TMP/objects.yaml"
	curl -sf -X POST --data-binary @"$TMP/objects.yaml" -H 'Content-Type: application/yaml' \
		http://127.0.0.1:$CTL/objects >"$LOGS/objects.txt" || note A "posting the objects failed"

	# ingressd #1: plain, plus entry point pp with the PROXY protocol (B;
	# no defaultEntryPoints, so every route is served on both); #2: the
	# same with the access log on
	IHTTP=$(free_port) IWEB=$(free_port) PPORT=$(free_port)
	ingressd_conf "$TMP/i1.conf" $IHTTP $IWEB $API "[entryPoints.pp]
address = \"127.0.0.1:$PPORT\"
[entryPoints.pp.proxyProtocol]
trustedIPs = [\"127.0.0.1\"]"
	bg "$LOGS/ingressd.log" $PSRV "$B" -c "$TMP/i1.conf"
	IPID=$LAST
	LHTTP=$(free_port) LWEB=$(free_port)
	ingressd_conf "$TMP/i2.conf" $LHTTP $LWEB $API "[accessLog]
filePath = \"$TMP/access.log\""
	LPID=""
	if "$B" -t -c "$TMP/i2.conf" >"$LOGS/ingressd-accesslog-check.log" 2>&1; then
		bg "$LOGS/ingressd-accesslog.log" $PSRV "$B" -c "$TMP/i2.conf"
		LPID=$LAST
	else
		note B "[accessLog] filePath refused by the config check: $(head -n 2 "$LOGS/ingressd-accesslog-check.log")"
	fi

	# nginx as the reverse proxy: 1 worker, upstream keep-alive, the same
	# X-Forwarded-* headers ingressd adds, no access log (ingressd's is off)
	NPORT=$(free_port)
	nginx_head px
	cat >>"$TMP/px/nginx.conf" <<EOF
    upstream backend {
        server 127.0.0.1:$BACK;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$NPORT backlog=4096;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Real-IP \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$host;
            proxy_set_header X-Forwarded-Port \$server_port;
        }
    }
}
EOF
	bg "$LOGS/nginx-proxy.log" $PSRV nginx -p "$TMP/px" -e "$TMP/px/logs/error.log" -c "$TMP/px/nginx.conf" -g 'daemon off;'
	NPID=$LAST

	# HAProxy: nbthread 1, http-reuse always, the same forwarded headers
	HPID=""
	if command -v haproxy >/dev/null; then
		HPORT=$(free_port)
		# HAProxy wants 2 fds per connection under the open-file limit
		HMAXCONN=$((($(ulimit -n) - 200) / 2))
		[ $HMAXCONN -gt 30000 ] && HMAXCONN=30000
		cat >"$TMP/h.cfg" <<EOF
global
    nbthread 1
    maxconn $HMAXCONN
defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
    http-reuse always
    option forwardfor
frontend fe
    bind 127.0.0.1:$HPORT
    http-request set-header X-Real-IP %[src]
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    http-request set-header X-Forwarded-Port %[dst_port]
    default_backend be
backend be
    server b1 127.0.0.1:$BACK maxconn 1000
EOF
		bg "$LOGS/haproxy.log" $PSRV haproxy -f "$TMP/h.cfg" -db
		HPID=$LAST
	else
		note A "haproxy missing: no HAProxy row"
	fi

	wait_port $IHTTP && until_ok 100 ready $IWEB || note A "ingressd not ready (logs/ingressd.log)"
	until_ok 100 sh -c "curl -sf -H 'Host: plain.bench' http://127.0.0.1:$IHTTP/ | grep -q hello" ||
		note A "ingressd does not route plain.bench to the backend"
	[ -n "$LPID" ] && { wait_port $LHTTP && until_ok 100 ready $LWEB || note B "ingressd with the access log not ready"; }
	wait_port $NPORT || note A "nginx proxy did not start: $(tail -n 3 "$TMP/px/logs/error.log")"
	NWPID=$(pgrep -P "$NPID" | head -n 1) # the worker does the work
	[ -n "$NWPID" ] || NWPID=$NPID
	[ -n "$HPID" ] && { wait_port $HPORT || note A "haproxy did not start: $(tail -n 3 "$LOGS/haproxy.log")"; }
	for u in "plain.bench $IHTTP" "x $NPORT" ${HPID:+"x $HPORT"}; do
		set -- $u
		curl -s -H "Host: $1" "http://127.0.0.1:$2/" | grep -q hello || note A "127.0.0.1:$2 does not answer with the backend's body"
	done
	return 0
}

# ================================================================ A: throughput
section_A() {
	local t n r k targets
	say "A: proxy throughput, $ROUNDS rounds of ${SECS}s"
	set -- "ingressd $IPID $IHTTP" "nginx $NWPID $NPORT"
	[ -n "$HPID" ] && set -- "$@" "haproxy $HPID $HPORT"
	targets=("$@")
	for t in "${targets[@]}"; do
		set -- $t
		warm -H 'Host: plain.bench' "http://127.0.0.1:$3/"
	done
	n=${#targets[@]}
	for r in $(seq 1 "$ROUNDS"); do
		for k in $(seq 0 $((n - 1))); do # rotate the order each round
			set -- ${targets[$(((k + r - 1) % n))]}
			wrk_run A "$1" "$r" "$SECS" "$2" "http://127.0.0.1:$3/" -H 'Host: plain.bench'
		done
	done
	kv A.rss.ingressd "$(status_kb $IPID VmHWM)"
	kv A.rss.nginx "$(status_kb $NWPID VmHWM)"
	kv A.rss.nginx_master "$(status_kb $NPID VmHWM)"
	[ -n "$HPID" ] && kv A.rss.haproxy "$(status_kb $HPID VmHWM)"
	kv A.rss.backend "$(status_kb "$(pgrep -P $BACKPID | head -n 1)" VmHWM)"
}

# ================================================================ B: variants
section_B() {
	local U variants sc again c0 c1 c2 t0 t1 t2 mc v n r k vs o h hh m0 m1 reqs MH MW MPID kind d
	local HB1 HB2 HBPID pp0 pp1
	say "B: ingressd variants, $VROUNDS rounds of ${VSECS}s"
	U=http://127.0.0.1:$IHTTP/
	variants="plain sticky sticky_cookie breaker whitelist headers"
	# sticky: is a cookie set, and kept when presented?
	sc=$(curl -s -D - -o /dev/null -H 'Host: sticky.bench' "$U" | tr -d '\r' | awk -F': ' 'tolower($1) == "set-cookie" {print $2; exit}')
	COOKIE=${sc%%;*}
	if [ -z "$COOKIE" ]; then
		note B "sticky.bench set no cookie: the sticky rows measure nothing sticky"
		variants="plain breaker whitelist headers"
	else
		kv B.cookie "${COOKIE%%=*}"
		again=$(curl -s -D - -o /dev/null -H 'Host: sticky.bench' -H "Cookie: $COOKIE" "$U" | tr -d '\r' | grep -ci '^set-cookie')
		[ "$again" = 0 ] || note B "a valid sticky cookie presented still gets Set-Cookie back"
	fi
	[ "$(http_code -H 'Host: wl.bench' "$U")" = 200 ] || note B "wl.bench: not 200 from 127.0.0.1"
	[ "$(http_code -H 'Host: cb.bench' "$U")" = 200 ] || note B "cb.bench: not 200"
	# headers: two requests on one keep-alive connection must each carry the
	# 5 custom headers and HSTS (else the row is marked invalid, not dropped)
	hdr_missing() {
		curl -s -D - -o /dev/null -o /dev/null -H 'Host: hdr.bench' "$U" "$U" | tr -d '\r' >"$LOGS/headers-check.txt"
		awk -v want="$HDR_RESP||Strict-Transport-Security:max-age=$HDR_HSTS" '
			BEGIN { n = split(want, w, /\|\|/) }
			/^HTTP\// { codes = codes " " $2 }
			{ seen[$0]++ }
			END {
				for (i = 1; i <= n; i++) {
					split(w[i], kv, ":")
					h = kv[1] ": " kv[2]
					if (seen[h] != 2) { printf "%s%s (%d of 2)", s, h, seen[h]; s = ", " }
				}
				if (codes != " 200 200") printf "%sstatus%s", s, codes
			}' "$LOGS/headers-check.txt"
	}
	until_ok 50 sh -c "curl -s -D - -o /dev/null -H 'Host: hdr.bench' '$U' | grep -qi '^X-E: 5'"
	o=$(hdr_missing)
	if [ -z "$o" ]; then
		kv B.headers_check "ok: X-A..X-E and Strict-Transport-Security: max-age=$HDR_HSTS on 2 of 2 keep-alive answers over HTTP"
	else
		kv B.headers_check "MISSING $o"
		note B "hdr.bench does not answer with each header exactly once (logs/headers-check.txt): $o; its row is invalid"
	fi
	# rate limit: one request to rl.bench must leave a client record
	# (ingressd_rate_limit_clients counts them; no other route has limits),
	# else the row is marked invalid
	rl_clients() { curl -s "http://127.0.0.1:$IWEB/metrics" | awk '$1 == "ingressd_rate_limit_clients" {print $2}'; }
	c0=$(rl_clients)
	until_ok 50 sh -c "curl -sf -H 'Host: rl.bench' '$U' | grep -q hello"
	c1=$(http_code -H 'Host: rl.bench' "$U")
	o=$(rl_clients)
	if [ "$c1" = 200 ] && [ "${o:-0}" -ge 1 ] 2>/dev/null; then
		kv B.ratelimit_check "ok: limit-rps $RL_RPS; ingressd_rate_limit_clients ${c0:-?} before a request to rl.bench, $o after (200)"
	else
		kv B.ratelimit_check "NO LIMIT: rl.bench answered $c1; ingressd_rate_limit_clients ${c0:-absent} before, ${o:-absent} after"
		note B "rl.bench has no rate-limit state after a request (answer $c1, ingressd_rate_limit_clients ${o:-absent}): its row is invalid"
	fi
	variants="$variants ratelimit"
	# Traefik's rate-limit, the rewrite and the redirect-regex routes: each
	# must answer 200 (the rewrite's pod sees /rw/..., the redirect none)
	c0=$(http_code -H 'Host: trl.bench' "$U")
	c1=$(curl -s -D - -o /dev/null -H 'Host: rw.bench' "${U}echo" | tr -d '\r' | awk 'tolower($1) == "x-rewritten:" {print $2}')
	c2=$(http_code -H 'Host: rx.bench' "$U")
	c3=$(curl -s "http://127.0.0.1:$IWEB/api/providers" | grep -o '"backend":"b/cy:80","weight":1,"servers":1,"canary"')
	kv B.rewrite_check "trl.bench $c0; rw.bench /echo reaches the pod as $c1; rx.bench $c2; cy.bench split: ${c3:-none}"
	[ "$c0" = 200 ] && variants="$variants trl" || note B "trl.bench answered $c0: no Traefik rate-limit row"
	[ "$c1" = "$RWT/echo" ] && variants="$variants rewrite" || note B "rw.bench: the pod saw $c1, not $RWT/echo: no rewrite row"
	[ "$c2" = 200 ] && variants="$variants redirect" || note B "rx.bench answered $c2: no redirect-regex row"
	[ -n "$c3" ] && variants="$variants canary" || note B "cy.bench has no canary in /api/providers: no canary row"
	# PROXY protocol entry point: a request without a header must be
	# served there and counted as result="none" (else the row is invalid);
	# one with a v1 header (curl --haproxy-protocol) counted "trusted"
	pp_count() { curl -s "http://127.0.0.1:$IWEB/metrics" | awk -v k="ingressd_proxy_protocol_headers_total{result=\"$1\"}" '$1 == k {print $2}'; }
	wait_port $PPORT
	pp0=$(pp_count none) t0=$(pp_count trusted)
	c1=$(http_code -H 'Host: plain.bench' "http://127.0.0.1:$PPORT/")
	pp1=$(pp_count none)
	c2=$(http_code --haproxy-protocol -H 'Host: plain.bench' "http://127.0.0.1:$PPORT/")
	t1=$(pp_count trusted)
	if [ "$c1" = 200 ] && [ -n "$pp1" ] && [ "$pp1" -gt "${pp0:-0}" ]; then
		kv B.pp_check "ok: no header: $c1, result=\"none\" $pp0 -> $pp1; curl --haproxy-protocol (v1): $c2, result=\"trusted\" $t0 -> $t1"
	else
		kv B.pp_check "NOT A PROXY ENTRY POINT: no header: $c1, result=\"none\" ${pp0:-absent} -> ${pp1:-absent}"
		note B "127.0.0.1:$PPORT (entry point pp) answered $c1 and did not count a connection without a PROXY header: its row is invalid"
	fi
	variants="$variants pp"
	# HAProxy (mode tcp: one server connection per client connection) in
	# front of the plain entry point and, sending a PROXY v2 header, in
	# front of pp: the header ingressd parses, once per connection
	HBPID=""
	if command -v haproxy >/dev/null; then
		HB1=$(free_port) HB2=$(free_port)
		cat >"$TMP/hpp.cfg" <<EOF
global
    nbthread 1
    maxconn 4000
defaults
    mode tcp
    timeout connect 5s
    timeout client 300s
    timeout server 300s
frontend fe_plain
    bind 127.0.0.1:$HB1
    default_backend be_plain
frontend fe_pp
    bind 127.0.0.1:$HB2
    default_backend be_pp
backend be_plain
    server i 127.0.0.1:$IHTTP
backend be_pp
    server i 127.0.0.1:$PPORT send-proxy-v2
EOF
		bg "$LOGS/haproxy-pp.log" haproxy -f "$TMP/hpp.cfg" -db
		HBPID=$LAST
		t0=$(pp_count trusted) t1=""
		if wait_port $HB1 && wait_port $HB2 &&
			curl -s -H 'Host: plain.bench' "http://127.0.0.1:$HB1/" | grep -q hello &&
			curl -s -H 'Host: plain.bench' "http://127.0.0.1:$HB2/" | grep -q hello &&
			t1=$(pp_count trusted) && [ -n "$t1" ] && [ "$t1" -gt "${t0:-0}" ]; then
			kv B.pp_haproxy_check "ok: through HAProxy send-proxy-v2: 200, result=\"trusted\" $t0 -> $t1"
		else
			kv B.pp_haproxy_check "NO HEADER SEEN: result=\"trusted\" ${t0:-absent} -> ${t1:-absent} (logs/haproxy-pp.log)"
			note B "HAProxy send-proxy-v2 to entry point pp: no trusted PROXY header counted: its row is invalid"
		fi
		variants="$variants pp_haproxy"
	else
		note B "haproxy missing: no row with a real PROXY header (wrk sends none)"
	fi
	pp0="$(pp_count none) $(pp_count trusted)"
	AUTHH=""
	if [ -s "$TMP/htpasswd" ]; then
		AUTHH="Authorization: Basic $(printf 'bench:benchpass' | base64 -w0)"
		c0=$(http_code -H 'Host: auth.bench' "$U")
		t0=$(date +%s%N)
		c1=$(http_code -H 'Host: auth.bench' -H "$AUTHH" "$U")
		t1=$(date +%s%N)
		c2=$(http_code -H 'Host: auth.bench' -H "$AUTHH" "$U")
		t2=$(date +%s%N)
		kv B.auth_first_ms $(((t1 - t0) / 1000000))
		kv B.auth_cached_ms $(((t2 - t1) / 1000000))
		if [ "$c0" = 401 ] && [ "$c1" = 200 ] && [ "$c2" = 200 ]; then
			variants="$variants auth"
		else
			note B "auth.bench: without credentials $c0 (want 401), with them $c1/$c2 (want 200): no auth row"
		fi
	fi
	if [ -n "$LPID" ]; then
		curl -s -o /dev/null -H 'Host: plain.bench' "http://127.0.0.1:$LHTTP/"
		if until_ok 30 test -s "$TMP/access.log"; then
			variants="$variants accesslog"
			kv B.accesslog_line "$(head -n 1 "$TMP/access.log" | cut -c1-200)"
		else
			note B "access log on, but $TMP/access.log stayed empty after a request: no access-log row"
		fi
	fi
	mc=$(http_code "http://127.0.0.1:$IWEB/metrics")
	if [ "$mc" = 200 ]; then
		variants="$variants metrics"
		curl -s "http://127.0.0.1:$IWEB/metrics" >"$LOGS/metrics-before.txt"
		kv B.metrics_bytes "$(wc -c <"$LOGS/metrics-before.txt")"
	else
		note B "GET /metrics answered $mc (not there yet): no /metrics row"
	fi
	echo "wrk.headers[\"Cookie\"] = os.getenv(\"BENCH_COOKIE\")" >"$TMP/cookie.lua"
	export BENCH_COOKIE="$COOKIE"

	# vrun VARIANT ROUND
	vrun() {
		case $1 in
		plain) wrk_run B plain "$2" "$VSECS" $IPID "$U" -H 'Host: plain.bench' ;;
		sticky) wrk_run B sticky "$2" "$VSECS" $IPID "$U" -H 'Host: sticky.bench' ;;
		sticky_cookie) wrk_run B sticky_cookie "$2" "$VSECS" $IPID "$U" -H 'Host: sticky.bench' -s "$TMP/cookie.lua" ;;
		breaker) wrk_run B breaker "$2" "$VSECS" $IPID "$U" -H 'Host: cb.bench' ;;
		whitelist) wrk_run B whitelist "$2" "$VSECS" $IPID "$U" -H 'Host: wl.bench' ;;
		headers) wrk_run B headers "$2" "$VSECS" $IPID "$U" -H 'Host: hdr.bench' ;;
		ratelimit) wrk_run B ratelimit "$2" "$VSECS" $IPID "$U" -H 'Host: rl.bench' ;;
		trl) wrk_run B trl "$2" "$VSECS" $IPID "$U" -H 'Host: trl.bench' ;;
		rewrite) wrk_run B rewrite "$2" "$VSECS" $IPID "$U" -H 'Host: rw.bench' ;;
		redirect) wrk_run B redirect "$2" "$VSECS" $IPID "$U" -H 'Host: rx.bench' ;;
		canary) wrk_run B canary "$2" "$VSECS" $IPID "$U" -H 'Host: cy.bench' ;;
		pp) wrk_run B pp "$2" "$VSECS" $IPID "http://127.0.0.1:$PPORT/" -H 'Host: plain.bench' ;;
		pp_haproxy) # with its base (HAProxy to the plain entry point) back to back, order alternating
			for h in $([ $(($2 % 2)) = 1 ] && echo "$HB1 $HB2" || echo "$HB2 $HB1"); do
				wrk_run B "$([ $h = $HB1 ] && echo haproxy_plain || echo pp_haproxy)" "$2" "$VSECS" $IPID \
					"http://127.0.0.1:$h/" -H 'Host: plain.bench'
			done
			;;
		auth) wrk_run B auth "$2" "$VSECS" $IPID "$U" -H 'Host: auth.bench' -H "$AUTHH" ;;
		accesslog) wrk_run B accesslog "$2" "$VSECS" $LPID "http://127.0.0.1:$LHTTP/" -H 'Host: plain.bench' ;;
		metrics)
			(while :; do
				curl -s -o /dev/null "http://127.0.0.1:$IWEB/metrics"
				sleep 1
			done) &
			scr=$!
			PIDS="$scr $PIDS"
			wrk_run B metrics "$2" "$VSECS" $IPID "$U" -H 'Host: plain.bench'
			stop $scr
			;;
		esac
	}
	for v in $variants; do
		case $v in
		sticky_cookie) warm -H 'Host: sticky.bench' -s "$TMP/cookie.lua" "$U" ;;
		auth) warm -H 'Host: auth.bench' -H "$AUTHH" "$U" ;;
		accesslog) warm -H 'Host: plain.bench' "http://127.0.0.1:$LHTTP/" ;;
		pp) warm -H 'Host: plain.bench' "http://127.0.0.1:$PPORT/" ;;
		pp_haproxy) for h in $HB1 $HB2; do warm -H 'Host: plain.bench' "http://127.0.0.1:$h/"; done ;;
		metrics) ;;
		*) warm -H "Host: $(echo $v | sed 's/breaker/cb/; s/whitelist/wl/; s/headers/hdr/; s/ratelimit/rl/; s/rewrite/rw/; s/redirect/rx/; s/canary/cy/').bench" "$U" ;;
		esac
	done
	# Each round: plain, half the variants, plain again, the other half
	# (rotated each round), so every variant has a plain run nearby.
	set -- ${variants#plain }
	n=$#
	vs=("$@")
	for r in $(seq 1 "$VROUNDS"); do
		vrun plain "$r"
		for k in $(seq 0 $((n - 1))); do
			[ "$k" = $((n / 2)) ] && vrun plain "$r"
			vrun "${vs[$(((k + r - 1) % n))]}" "$r"
		done
	done
	if [ -n "$LPID" ] && [ -s "$TMP/access.log" ]; then
		kv B.accesslog_lines "$(wc -l <"$TMP/access.log")"
		kv B.accesslog_bytes "$(wc -c <"$TMP/access.log")"
	fi
	[ "$mc" = 200 ] && curl -s "http://127.0.0.1:$IWEB/metrics" >"$LOGS/metrics-after.txt"
	# PROXY headers counted over the warm-ups and runs (once per
	# connection), and the rate-limit client records at the end
	set -- $pp0
	kv B.pp_counts "connections to entry point pp in the warm-ups and runs: $(($(pp_count none) - ${1:-0})) without a header, $(($(pp_count trusted) - ${2:-0})) with a trusted one"
	kv B.ratelimit_end "$(curl -s "http://127.0.0.1:$IWEB/metrics" | awk '$1 == "ingressd_rate_limit_clients" {c = $2} $1 == "ingressd_rate_limit_evictions_total" {e = $2} END {printf "ingressd_rate_limit_clients %s, evictions %s after the runs", c, e}')"
	[ -n "$HBPID" ] && stop $HBPID

	# The loop stall of a burst of 20 wrong passwords
	if [ -n "$AUTHH" ]; then
		say "B: stall probe, 20 wrong passwords"
		for kind in distinct same; do
			curl -s "http://127.0.0.1:$IWEB/metrics" | grep '^ingressd_auth_total' >"$LOGS/auth-before.$kind.txt"
			o=$(python3 test/bench/stall_probe.py --addr 127.0.0.1:$IHTTP --probe-host plain.bench \
				--burst-host auth.bench --user bench --burst 20 --pid $IPID $([ $kind = same ] && echo --same))
			curl -s "http://127.0.0.1:$IWEB/metrics" | grep '^ingressd_auth_total' >"$LOGS/auth-after.$kind.txt"
			# what the auth counters say happened: result=delta,...
			d=$(awk 'NR == FNR {a[$1] = $2; next} $2 != a[$1] {
				k = $1; sub(/.*result="/, "", k); sub(/".*/, "", k); printf "%s%s:%d", s, k, $2 - a[$1]; s = ","
			}' "$LOGS/auth-before.$kind.txt" "$LOGS/auth-after.$kind.txt")
			rec "stall $kind $(echo $o) auth_counters=${d:-none}"
			say "  $kind passwords: $(echo $o) auth_counters=${d:-none}"
			sleep 1.5 # the failed-check budget is per second
		done
	fi

	# Heap allocations per request in steady state (LD_PRELOAD counter)
	if [ $HAVE_MC = 1 ] && ldd "$B" 2>/dev/null | grep -q libc.so; then
		say "B: heap allocations per request"
		MH=$(free_port) MW=$(free_port)
		ingressd_conf "$TMP/i4.conf" $MH $MW $API
		# malloc + calloc + realloc + aligned calls so far (malloc_count.c)
		mc_allocs() {
			python3 -c 'import struct, sys; c = struct.unpack("5Q", open(sys.argv[1], "rb").read(40)); print(c[0] + c[1] + c[2] + c[4])' "$TMP/mc.bin"
		}
		bg "$LOGS/ingressd-malloc.log" env MALLOC_COUNT_FILE="$TMP/mc.bin" LD_PRELOAD="$OUT/malloc_count.so" "$B" -c "$TMP/i4.conf"
		MPID=$LAST
		if wait_port $MH && until_ok 100 ready $MW &&
			until_ok 50 sh -c "curl -sf -H 'Host: plain.bench' http://127.0.0.1:$MH/ | grep -q hello"; then
			for h in plain sticky auth; do
				[ $h = auth ] && [ -z "$AUTHH" ] && continue
				hh="Host: $h.bench"
				warm -H "$hh" ${AUTHH:+-H "$AUTHH"} "http://127.0.0.1:$MH/"
				m0=$(mc_allocs)
				$PCLI wrk -t1 -c"$CONNS" -d2s -H "$hh" ${AUTHH:+-H "$AUTHH"} "http://127.0.0.1:$MH/" >"$LOGS/wrk.malloc.$h.txt" 2>&1
				m1=$(mc_allocs)
				reqs=$(python3 test/bench/wrkparse.py "$LOGS/wrk.malloc.$h.txt" | tr ' ' '\n' | awk -F= '$1 == "requests" {print $2}')
				rec "malloc $h allocs=$((m1 - m0)) requests=$reqs"
				say "  $h: $((m1 - m0)) heap allocations in $reqs requests"
			done
		else
			note B "ingressd under LD_PRELOAD did not come up: no heap-allocation row"
		fi
		stop $MPID
	fi
}

# ================================================================ C: idle connections
# c_idle LABEL BIN N: ingressd BIN holding N idle keep-alive connections
# while 64 busy clients run (and alone before); its CPU while they are all
# held and nothing else happens; RSS before, holding, after.
c_idle() {
	local label=$1 bin=$2 n=$3 o bh lh ch cw cpid
	ch=$(free_port) cw=$(free_port)
	ingressd_conf "$TMP/c-$label.conf" $ch $cw $API
	bg "$LOGS/ingressd-idle-$label.log" $PSRV "$bin" -c "$TMP/c-$label.conf"
	cpid=$LAST
	if ! { wait_port $ch && until_ok 100 ready $cw &&
		until_ok 50 sh -c "curl -sf -H 'Host: plain.bench' http://127.0.0.1:$ch/ | grep -q hello"; }; then
		note C "ingressd ($label) for the idle test did not come up"
		stop $cpid
		return
	fi
	# throughput of 64 busy clients without and with the idle connections held
	wrk_run C "busy_alone.$label" 1 "$CSECS" $cpid "http://127.0.0.1:$ch/" -H 'Host: plain.bench'
	o=$(python3 test/bench/idle_conns.py --addr 127.0.0.1:$ch --host plain.bench --pid $cpid -n "$n" --sources 4 \
		--quiet "$CSECS" --during "curl -s http://127.0.0.1:$cw/metrics >$LOGS/metrics-idle-held-$label.txt;
			c0=\$(cat /proc/$cpid/task/*/schedstat | awk '{s += \$1} END {printf \"%.0f\", s}');
			$PCLI wrk -t1 -c$CONNS -d${CSECS}s --latency -H 'Host: plain.bench' http://127.0.0.1:$ch/ >$LOGS/wrk.C.busy_held.$label.1.txt 2>&1;
			c1=\$(cat /proc/$cpid/task/*/schedstat | awk '{s += \$1} END {printf \"%.0f\", s}');
			echo \$((c1 - c0)) >$LOGS/cpu.C.busy_held.$label")
	rec "wrk C busy_held.$label 1 $(python3 test/bench/wrkparse.py "$LOGS/wrk.C.busy_held.$label.1.txt") cpu_ns=$(cat "$LOGS/cpu.C.busy_held.$label" 2>/dev/null || echo 0)"
	curl -s "http://127.0.0.1:$cw/metrics" >"$LOGS/metrics-idle-closed-$label.txt"
	# buffers in use while held, and ING_MAX_BUFS hits by the end (when /metrics has them)
	bh=$(awk '$1 == "ingressd_buffers_in_use" {print $2}' "$LOGS/metrics-idle-held-$label.txt" 2>/dev/null)
	lh=$(awk '$1 == "ingressd_limit_hits_total{limit=\"ING_MAX_BUFS\"}" {print $2}' "$LOGS/metrics-idle-closed-$label.txt" 2>/dev/null)
	rec "idle $label $n $(echo $o) buffers_held=${bh:-n/a} bufs_limit_hits=${lh:-n/a}"
	say "  $label: $(echo $o) buffers_held=${bh:-n/a} bufs_limit_hits=${lh:-n/a}"
	if grep -q 'ING_MAX_' "$LOGS/ingressd-idle-$label.log"; then
		note C "$label: limit hit while opening, holding or closing $n connections: $(grep -o 'ING_MAX_[A-Z_]*' "$LOGS/ingressd-idle-$label.log" | sort -u | tr '\n' ' ')"
	fi
	stop $cpid
}
# C: the epoll build (the default) and the poll() one with $IDLE idle
# connections, then a build with room for $BIG (ING_MAX_CONNS raised).
BIG=${BENCH_BIG_IDLE:-50000}
section_C() {
	say "C: $IDLE idle keep-alive connections (epoll, poll), then $BIG (epoll)"
	kv C.quiet_s "$CSECS"
	c_idle epoll "$B" "$IDLE"
	if make -s build/ev-poll/ingressd >"$LOGS/build-poll.log" 2>&1; then
		c_idle poll "$ROOT/build/ev-poll/ingressd" "$IDLE"
	else
		note C "the poll() build failed (logs/build-poll.log)"
	fi
	if [ "$(ulimit -n)" -lt $((BIG + 1000)) ]; then
		note C "open-file limit is $(ulimit -n) (hard: $(ulimit -Hn)): the row asked for $BIG connections holds $(($(ulimit -n) - 1000))"
		BIG=$(($(ulimit -n) - 1000))
	fi
	if cc -std=c11 -O2 -DING_MAX_CONNS=$((BIG + 1024)) -o "$OUT/ingressd-big" ingressd.c port/posix.c port/ev_epoll.c \
		port/tls_bearssl.c -l:libbearssl.a >"$LOGS/build-big.log" 2>&1; then
		c_idle big "$OUT/ingressd-big" "$BIG"
	else
		note C "the ING_MAX_CONNS=$((BIG + 1024)) build failed (logs/build-big.log)"
	fi
}

# ================================================================ E: HTTPS (issue 8)
# An [entryPoints.https.tls] entry point (its default certificate from
# files) on ingressd's BearSSL build and its mbedTLS build, and nginx
# (OpenSSL) terminating TLS in front of the same backend. Keep-alive
# requests/s over TLS with the ECDSA certificate (rounds interleaved), then
# full handshakes/s (openssl s_time -new, TLS 1.2 for all: ingressd speaks
# only 1.2) with an ECDSA P-256 and an RSA-2048 certificate, two rounds
# interleaved; then (mtls) the ECDSA one with a client certificate required
# and verified (tls.ClientCA; nginx: ssl_verify_client on).
MBED=${BENCH_INGRESSD_MBEDTLS:-$ROOT/build/mbedtls/ingressd}
# e_start NAME CERT: starts server NAME (ingressd_tls, ingressd_mbedtls or
# nginx_tls) with $TMP/tls-CERT.{crt,key}; its TLS port in E_PORT[NAME],
# the process to charge CPU to in E_PID[NAME]. 1 when it does not answer.
e_start() {
	local n=$1 k=$2 bin=$B port sw conf c=$2 ngca="" ca=""
	port=$(free_port)
	if [ "$k" = mtls ]; then # the ECDSA certificate, and client certificates of $TMP/tls-cca.crt
		c=ec
		ngca=" ssl_client_certificate $TMP/tls-cca.crt; ssl_verify_client on;"
		ca="
[entryPoints.https.tls.ClientCA]
files = [\"$TMP/tls-cca.crt\"]"
	fi
	if [ "$n" = nginx_tls ]; then
		mkdir -p "$TMP/pxs-$k/logs"
		sed -e "s#$TMP/px/#$TMP/pxs-$k/#g" -e "s#listen 127.0.0.1:$NPORT backlog=4096;#listen 127.0.0.1:$port ssl backlog=4096; ssl_certificate $TMP/tls-$c.crt; ssl_certificate_key $TMP/tls-$c.key; ssl_protocols TLSv1.2 TLSv1.3;$ngca#" \
			"$TMP/px/nginx.conf" >"$TMP/pxs-$k/nginx.conf"
		bg "$LOGS/nginx-tls-$k.log" $PSRV nginx -p "$TMP/pxs-$k" -e "$TMP/pxs-$k/logs/error.log" -c "$TMP/pxs-$k/nginx.conf" -g 'daemon off;'
		E_STOP[$n]=$LAST
		wait_port $port
		E_PID[$n]=$(pgrep -P $LAST | head -n 1)
		E_PID[$n]=${E_PID[$n]:-$LAST}
	else
		[ "$n" = ingressd_mbedtls ] && bin=$MBED
		sw=$(free_port)
		conf=$TMP/$n-$k.conf
		ingressd_conf "$conf" "$(free_port)" $sw $API "[entryPoints.https]
address = \"127.0.0.1:$port\"
[entryPoints.https.tls]
certFile = \"$TMP/tls-$c.crt\"
keyFile = \"$TMP/tls-$c.key\"$ca"
		bg "$LOGS/$n-$k.log" $PSRV "$bin" -c "$conf"
		E_STOP[$n]=$LAST E_PID[$n]=$LAST
		wait_port $port && until_ok 100 ready $sw
	fi
	E_PORT[$n]=$port
	curl -sk --max-time 5 ${ca:+--cert $TMP/tls-client.crt --key $TMP/tls-client.key} \
		--resolve plain.bench:$port:127.0.0.1 "https://plain.bench:$port/" 2>/dev/null | grep -q hello
}
section_E() {
	local r n k o servers="ingressd_tls nginx_tls"
	declare -gA E_PORT E_PID E_STOP
	say "E: HTTPS"
	command -v openssl >/dev/null || {
		note E "openssl missing: HTTPS skipped"
		return
	}
	if [ -x "$MBED" ]; then
		servers="ingressd_tls ingressd_mbedtls nginx_tls"
	else
		note E "no mbedTLS build at $MBED (make build/mbedtls/ingressd): measured BearSSL only"
	fi
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=plain.bench \
		-addext subjectAltName=DNS:plain.bench -keyout "$TMP/tls-ec.key" -out "$TMP/tls-ec.crt" >/dev/null 2>&1
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=plain.bench \
		-addext subjectAltName=DNS:plain.bench -keyout "$TMP/tls-rsa.key" -out "$TMP/tls-rsa.crt" >/dev/null 2>&1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=bench-client-ca \
		-addext basicConstraints=critical,CA:TRUE -keyout "$TMP/tls-cca.key" -out "$TMP/tls-cca.crt" >/dev/null 2>&1
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=bench-client \
		-keyout "$TMP/tls-client.key" -out "$TMP/tls-client.csr" >/dev/null 2>&1
	openssl x509 -req -in "$TMP/tls-client.csr" -CA "$TMP/tls-cca.crt" -CAkey "$TMP/tls-cca.key" -CAcreateserial \
		-days 30 -out "$TMP/tls-client.crt" >/dev/null 2>&1
	for k in ec rsa mtls; do
		for n in $servers; do
			if ! e_start $n $k; then
				note E "SKIPPED: $n with the $k certificate does not answer over TLS (see logs/$n-$k.log)"
				for n in $servers; do [ -n "${E_STOP[$n]:-}" ] && stop ${E_STOP[$n]}; done
				return
			fi
		done
		if [ $k = ec ]; then
			for n in $servers; do warm -H 'Host: plain.bench' "https://127.0.0.1:${E_PORT[$n]}/"; done
			for r in 1 2; do
				for n in $servers; do
					wrk_run E $n "$r" "$VSECS" ${E_PID[$n]} "https://127.0.0.1:${E_PORT[$n]}/" -H 'Host: plain.bench'
				done
			done
		fi
		for r in 1 2; do
			for n in $servers; do
				# shellcheck disable=SC2046
				o=$(openssl s_time -connect 127.0.0.1:${E_PORT[$n]} -tls1_2 -new -time 3 \
					$([ $k = mtls ] && echo "-cert $TMP/tls-client.crt -key $TMP/tls-client.key") 2>&1 |
					awk '/connections in .* real seconds/ && $4 > 0 {printf "%.1f", $1 / $4; exit}')
				rec "kv E.handshakes.$k.$n.$r ${o:-0}"
				say "  E handshakes $k $n round $r: ${o:-0}/s"
			done
		done
		for n in $servers; do stop ${E_STOP[$n]}; done
		E_STOP=()
	done
}

# ================================================================ F: HTTPS to pods
# Keep-alive on both sides, TLS 1.2 from the proxy to the pod: ingressd (a
# Service port 443 found HTTPS, insecureSkipVerify; the BearSSL and the
# mbedTLS build), nginx (proxy_pass https:// to an upstream with keepalive,
# proxy_ssl_session_reuse on) and HAProxy (ssl verify none, http-reuse
# always), in front of one nginx HTTPS backend (ECDSA P-256 self-signed
# certificate, ssl_session_cache) that listens on one port per proxy. The
# backend's access log records each request's connection number and
# $ssl_session_reused, so the handshakes each proxy made in its measured
# runs are counted where they happen: a connection whose first request
# falls in the run is one handshake (resumed when its first line says
# "r"). Rounds interleaved and rotated as in A.
# f_name NAME: the Service, Ingress and host name of proxy NAME's pod
f_name() {
	case $1 in
	ingressd) echo pod-bearssl ;;
	ingressd_mbedtls) echo pod-mbedtls ;;
	*) echo "pod-$1" ;;
	esac
}
# f_start NAME: starts proxy NAME of section F (ports in F_PORT[NAME], its
# backend port F_BPORT[NAME]); 1 when it does not answer with the body.
f_start() {
	local n=$1 bin=$B sw p hmax
	p=$(free_port)
	F_PORT[$n]=$p F_HOST[$n]=$(f_name $n).bench
	case $n in
	ingressd | ingressd_mbedtls)
		[ $n = ingressd_mbedtls ] && bin=$MBED
		sw=$(free_port)
		F_WEB[$n]=$sw
		# insecureSkipVerify is a top-level key: before the first [table]
		ingressd_conf "$TMP/f-$n.body" $p $sw $API
		{
			echo "insecureSkipVerify = true"
			cat "$TMP/f-$n.body"
		} >"$TMP/f-$n.conf"
		bg "$LOGS/f-$n.log" $PSRV "$bin" -c "$TMP/f-$n.conf"
		F_STOP[$n]=$LAST F_PID[$n]=$LAST
		wait_port $p && until_ok 100 ready $sw || return 1
		;;
	nginx)
		nginx_head fpx
		cat >>"$TMP/fpx/nginx.conf" <<EOF
    upstream pod {
        server 127.0.0.1:${F_BPORT[$n]};
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$p backlog=4096;
        location / {
            proxy_pass https://pod;
            proxy_ssl_session_reuse on;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Real-IP \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$host;
            proxy_set_header X-Forwarded-Port \$server_port;
        }
    }
}
EOF
		bg "$LOGS/f-nginx.log" $PSRV nginx -p "$TMP/fpx" -e "$TMP/fpx/logs/error.log" -c "$TMP/fpx/nginx.conf" -g 'daemon off;'
		F_STOP[$n]=$LAST
		wait_port $p || return 1
		F_PID[$n]=$(pgrep -P $LAST | head -n 1) # the worker does the work
		F_PID[$n]=${F_PID[$n]:-$LAST}
		;;
	haproxy)
		# pool-purge-delay: HAProxy closes half its idle server connections
		# every 5 s by default; 60 s is nginx's upstream keepalive_timeout
		# (ingressd keeps them 90 s), so each proxy's pool outlives the
		# other proxies' runs. Two fds per connection under the limit, as in A.
		hmax=$((($(ulimit -n) - 200) / 2))
		[ $hmax -gt 30000 ] && hmax=30000
		cat >"$TMP/f-haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn $hmax
defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
    http-reuse always
    option forwardfor
frontend fe
    bind 127.0.0.1:$p
    http-request set-header X-Real-IP %[src]
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    http-request set-header X-Forwarded-Port %[dst_port]
    default_backend be
backend be
    server pod 127.0.0.1:${F_BPORT[$n]} ssl verify none pool-purge-delay 60s maxconn 1000
EOF
		bg "$LOGS/f-haproxy.log" $PSRV haproxy -f "$TMP/f-haproxy.cfg" -db
		F_STOP[$n]=$LAST F_PID[$n]=$LAST
		wait_port $p || return 1
		;;
	esac
	until_ok 50 sh -c "curl -sf -H 'Host: ${F_HOST[$n]}' http://127.0.0.1:$p/ | grep -q hello"
}
# f_tls_metric NAME: ingressd's own count of its handshakes with pods
f_tls_metric() {
	curl -s "http://127.0.0.1:${F_WEB[$1]}/metrics" |
		awk '/^ingressd_upstream_tls_handshakes_total\{resumed="false"\}/ {f = $2}
			/^ingressd_upstream_tls_handshakes_total\{resumed="true"\}/ {t = $2}
			END {printf "%d full, %d resumed\n", f, t}'
}
section_F() {
	local n r k t listens targets=() FBPID want_t="ingressd"
	local -A m0
	declare -gA F_PORT F_BPORT F_PID F_STOP F_HOST F_WEB
	say "F: HTTPS to pods, $VROUNDS rounds of ${VSECS}s"
	command -v openssl >/dev/null || {
		note F "openssl missing: HTTPS to pods skipped"
		return
	}
	if [ -x "$MBED" ]; then
		want_t="$want_t ingressd_mbedtls"
	else
		note F "no mbedTLS build at $MBED (make build/mbedtls/ingressd): measured BearSSL only"
	fi
	want_t="$want_t nginx"
	if command -v haproxy >/dev/null; then want_t="$want_t haproxy"; else note F "haproxy missing: no HAProxy row"; fi
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=pod.bench \
		-addext subjectAltName=DNS:pod.bench -keyout "$TMP/tls-pod.key" -out "$TMP/tls-pod.crt" >/dev/null 2>&1
	# the HTTPS backend: one worker, one port per proxy, TLS 1.2 (the only
	# version ingressd speaks), an access log buffered (written at the latest
	# when it stops, before the log is read)
	listens=""
	for n in $want_t; do
		F_BPORT[$n]=$(free_port)
		listens="$listens
        listen 127.0.0.1:${F_BPORT[$n]} ssl backlog=4096;"
	done
	nginx_head fback
	cat >>"$TMP/fback/nginx.conf" <<EOF
    log_format conns '\$msec \$server_port \$connection \$ssl_session_reused \$ssl_protocol/\$ssl_cipher \$status';
    server {$listens
        ssl_certificate $TMP/tls-pod.crt;
        ssl_certificate_key $TMP/tls-pod.key;
        ssl_protocols TLSv1.2;
        ssl_session_cache shared:S:1m;
        access_log $TMP/fback/logs/access.log conns buffer=256k flush=1s;
        location / {
            default_type text/plain;
            return 200 "hello from the bench backend\n";
        }
    }
}
EOF
	bg "$LOGS/f-backend.log" $PBACK nginx -p "$TMP/fback" -e "$TMP/fback/logs/error.log" -c "$TMP/fback/nginx.conf" -g 'daemon off;'
	FBPID=$LAST
	for n in $want_t; do
		wait_port ${F_BPORT[$n]} || {
			note F "SKIPPED: the HTTPS backend did not start: $(tail -n 3 "$TMP/fback/logs/error.log" 2>/dev/null)"
			stop $FBPID
			return
		}
	done
	# ingressd's pods: a Service port 443 per build, each to its own backend port
	for n in ingressd ingressd_mbedtls; do
		case " $want_t " in *" $n "*) ;; *) continue ;; esac
		k=$(f_name $n)
		cat <<EOF
---
apiVersion: v1
kind: Service
metadata: {name: $k, namespace: b}
spec:
  ports: [{name: https, port: 443}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: $k-1, namespace: b, labels: {kubernetes.io/service-name: $k}}
addressType: IPv4
ports: [{name: https, port: ${F_BPORT[$n]}}]
endpoints:
- addresses: ["127.0.0.1"]
  conditions: {ready: true}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: $k, namespace: b}
spec:
  rules:
  - host: $k.bench
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: $k, port: {number: 443}}}}
EOF
	done >"$TMP/f-objects.yaml"
	curl -sf -X POST --data-binary @"$TMP/f-objects.yaml" -H 'Content-Type: application/yaml' \
		http://127.0.0.1:$CTL/objects >"$LOGS/f-objects.txt" || note F "posting the HTTPS-pod objects failed"
	for n in $want_t; do
		if f_start $n; then
			targets+=("$n")
		else
			note F "SKIPPED: $n does not answer through the HTTPS backend (logs/f-$n.log)"
		fi
	done
	for n in "${targets[@]}"; do
		warm -H "Host: ${F_HOST[$n]}" "http://127.0.0.1:${F_PORT[$n]}/"
		case $n in ingressd*) m0[$n]=$(f_tls_metric $n) ;; esac
	done
	k=${#targets[@]}
	: >"$TMP/f-windows.txt"
	for r in $(seq 1 "$VROUNDS"); do
		for t in $(seq 0 $((k - 1))); do # rotate the order each round
			n=${targets[$(((t + r - 1) % k))]}
			echo "$n $r ${F_BPORT[$n]} $(date +%s.%N)" >>"$TMP/f-windows.txt"
			wrk_run F "$n" "$r" "$VSECS" "${F_PID[$n]}" "http://127.0.0.1:${F_PORT[$n]}/" -H "Host: ${F_HOST[$n]}"
		done
	done
	for n in "${targets[@]}"; do
		case $n in ingressd*) kv "F.counted.$n" "${m0[$n]} after the warm-up, $(f_tls_metric $n) at the end" ;; esac
		[ -n "${F_PID[$n]}" ] && [ -e /proc/${F_PID[$n]} ] && kv "F.rss.$n" "$(status_kb ${F_PID[$n]} VmHWM)"
	done
	for n in $want_t; do [ -n "${F_STOP[$n]:-}" ] && stop ${F_STOP[$n]}; done
	stop $FBPID # writes out the buffered access log
	[ ${#targets[@]} -gt 0 ] || return
	# per run: requests the backend answered, connections first seen (=
	# handshakes), how many of those were resumed; per proxy over the
	# whole log (warm-up included) the same and the TLS version/cipher
	python3 -c '
import collections, sys
runs = collections.defaultdict(list)  # backend port -> [(start, name, round)]
name = {}
for line in open(sys.argv[2]):
    n, r, p, s = line.split()
    runs[p].append((float(s), n, r))
    name[p] = n
for p in runs:
    runs[p].sort()
seen = set()
st = collections.OrderedDict(((n, r), [0, 0, 0, 0]) for p in runs for _, n, r in runs[p])
alls = collections.defaultdict(lambda: [0, 0, 0])
tls = collections.defaultdict(collections.Counter)
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) < 6 or f[1] not in name:
        continue
    t, p, c, reused, proto, status = float(f[0]), f[1], f[2], f[3], f[4], f[5]
    new = c not in seen
    seen.add(c)
    a = alls[p]
    a[0] += 1
    a[1] += new
    a[2] += new and reused == "r"
    tls[p][proto] += 1
    key = None
    for s, n, r in runs[p]:
        if t < s:
            break
        key = (n, r)
    if key is None:
        continue
    x = st[key]
    x[0] += 1
    x[1] += new
    x[2] += new and reused == "r"
    x[3] += status != "200"
for (n, r), x in st.items():
    print(f"upconn F {n} {r} requests={x[0]} handshakes={x[1]} resumed={x[2]} non200={x[3]}")
for p, a in alls.items():
    print(f"kv F.all.{name[p]} requests={a[0]} handshakes={a[1]} resumed={a[2]}")
    print(f"kv F.tls.{name[p]} " + ",".join(k for k, _ in tls[p].most_common()))
' "$TMP/fback/logs/access.log" "$TMP/f-windows.txt" >"$LOGS/f-handshakes.txt" 2>&1 ||
		note F "counting the backend's handshakes failed (logs/f-handshakes.txt)"
	while read -r line; do
		case $line in upconn* | kv*) rec "$line" ;; esac
		say "  $line"
	done <"$LOGS/f-handshakes.txt"
	cp "$TMP/f-windows.txt" "$LOGS/f-windows.txt"
	gzip -1 -c "$TMP/fback/logs/access.log" >"$LOGS/f-backend-access.log.gz" 2>/dev/null
}

# ================================================================ G: forward auth
# A Traefik auth-type forward route on ingressd against nginx's
# auth_request, both asking one fast auth service: nginx (1 worker, pinned
# with the backend) answering `return 200` on /auth, 401 when the request
# carries X-Bench-Deny (so the check before the runs can see both proxies
# really ask it, and deny), and stub_status on /status. nginx under test:
# 1 worker, auth_request to an internal location proxying to an upstream
# with keepalive 64 (no body, Content-Length ""), the X-Forwarded-* headers
# Traefik's forward auth sends; ingressd keeps its own pool to the auth
# service (maxIdleConnsPerHost). Both plain (A's routes) in the same rounds.
# Per run, the auth service's requests, accepted connections and on-CPU time
# are counted (stub_status, schedstat).
# g_auth_counts: "accepts requests" of the auth service so far
g_auth_counts() { curl -s --max-time 5 "http://127.0.0.1:$GAUTH/status" | awk 'NR == 3 {print $1, $3}'; }
# g_run NAME ROUND PID PORT HOST: one measured run of section G, and the
# auth service's share of it (the second status read counted out)
g_run() {
	local a0 a1 c0 c1
	a0=$(g_auth_counts) c0=$(cpu_ns "$GAPID")
	wrk_run G "$1" "$2" "$SECS" "$3" "http://127.0.0.1:$4/" -H "Host: $5"
	c1=$(cpu_ns "$GAPID") a1=$(g_auth_counts)
	set -- "$1" "$2" $a0 $a1
	rec "authsvc G $1 $2 requests=$(($6 - $4 - 1)) accepts=$(($5 - $3 - 1)) cpu_ns=$((c1 - c0))"
}
section_G() {
	local GPORT GNPID GNWPID GASTOP r t o fa0 fa1 ci di cn dn
	say "G: forward auth, $ROUNDS rounds of ${SECS}s"
	GAUTH=$(free_port) GPORT=$(free_port)
	nginx_head gauth
	cat >>"$TMP/gauth/nginx.conf" <<EOG
    server {
        listen 127.0.0.1:$GAUTH backlog=4096;
        location = /auth {
            if (\$http_x_bench_deny) {
                return 401;
            }
            return 200;
        }
        location = /status {
            stub_status;
        }
    }
}
EOG
	bg "$LOGS/g-auth.log" $PBACK nginx -p "$TMP/gauth" -e "$TMP/gauth/logs/error.log" -c "$TMP/gauth/nginx.conf" -g 'daemon off;'
	GASTOP=$LAST
	if ! wait_port $GAUTH || [ -z "$(g_auth_counts)" ]; then
		note G "SKIPPED: the auth service did not start: $(tail -n 3 "$TMP/gauth/logs/error.log" 2>/dev/null)"
		stop $GASTOP
		return
	fi
	GAPID=$(pgrep -P $GASTOP | head -n 1) # its worker
	GAPID=${GAPID:-$GASTOP}
	# ingressd: the plain Service behind a Traefik forward-auth route
	cat >"$TMP/g-objects.yaml" <<EOG
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: fa
  namespace: b
  annotations: {ingress.kubernetes.io/auth-type: forward, ingress.kubernetes.io/auth-url: "http://127.0.0.1:$GAUTH/auth"}
spec:
  rules:
  - host: fa.bench
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: plain, port: {number: 80}}}}
EOG
	curl -sf -X POST --data-binary @"$TMP/g-objects.yaml" -H 'Content-Type: application/yaml' \
		http://127.0.0.1:$CTL/objects >"$LOGS/g-objects.txt" || note G "posting the forward-auth Ingress failed"
	# nginx with auth_request: A's proxy plus the auth location
	nginx_head gpx
	cat >>"$TMP/gpx/nginx.conf" <<EOG
    upstream backend {
        server 127.0.0.1:$BACK;
        keepalive 64;
        keepalive_requests 1000000;
    }
    upstream authsvc {
        server 127.0.0.1:$GAUTH;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$GPORT backlog=4096;
        location / {
            auth_request /_auth;
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Real-IP \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$host;
            proxy_set_header X-Forwarded-Port \$server_port;
        }
        location = /_auth {
            internal;
            proxy_pass http://authsvc/auth;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Method \$request_method;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$host;
            proxy_set_header X-Forwarded-Uri \$request_uri;
        }
    }
}
EOG
	bg "$LOGS/g-nginx.log" $PSRV nginx -p "$TMP/gpx" -e "$TMP/gpx/logs/error.log" -c "$TMP/gpx/nginx.conf" -g 'daemon off;'
	GNPID=$LAST
	wait_port $GPORT || note G "nginx with auth_request did not start: $(tail -n 3 "$TMP/gpx/logs/error.log" 2>/dev/null)"
	GNWPID=$(pgrep -P $GNPID | head -n 1)
	GNWPID=${GNWPID:-$GNPID}
	until_ok 100 sh -c "curl -sf -H 'Host: fa.bench' http://127.0.0.1:$IHTTP/ | grep -q hello"
	# The check: both answer with the backend's body when the auth service
	# says 200, 401 when it says 401, and each request reached it
	o=$(g_auth_counts)
	ci=$(curl -s -H 'Host: fa.bench' "http://127.0.0.1:$IHTTP/" | grep -c hello)
	di=$(http_code -H 'Host: fa.bench' -H 'X-Bench-Deny: 1' "http://127.0.0.1:$IHTTP/")
	cn=$(curl -s -H 'Host: fa.bench' "http://127.0.0.1:$GPORT/" | grep -c hello)
	dn=$(http_code -H 'Host: fa.bench' -H 'X-Bench-Deny: 1' "http://127.0.0.1:$GPORT/")
	set -- $o $(g_auth_counts)
	t=$(($4 - $2 - 1))
	if [ "$ci" = 1 ] && [ "$di" = 401 ] && [ "$cn" = 1 ] && [ "$dn" = 401 ] && [ "$t" = 4 ]; then
		kv G.check "ok: allowed, both answer with the backend's body; denied (X-Bench-Deny: 1, the auth service's 401): ingressd 401, nginx 401; the auth service saw $t requests for the 4"
	else
		kv G.check "FAILED: allowed: ingressd body ${ci:-?}, nginx body ${cn:-?} (want 1 and 1); denied: ingressd $di, nginx $dn (want 401); the auth service saw $t requests for 4"
		note G "the forward-auth check failed (allowed: ingressd ${ci:-?}/nginx ${cn:-?} bodies; denied: ingressd $di, nginx $dn, want 401; auth service saw $t of 4 requests): the forward-auth rows are invalid"
	fi
	fa0=$(curl -s "http://127.0.0.1:$IWEB/metrics" | grep '^ingressd_forward_auth_total' | tr '\n' ' ')
	warm -H 'Host: fa.bench' "http://127.0.0.1:$IHTTP/"
	warm -H 'Host: fa.bench' "http://127.0.0.1:$GPORT/"
	warm -H 'Host: plain.bench' "http://127.0.0.1:$IHTTP/"
	warm -H 'Host: plain.bench' "http://127.0.0.1:$NPORT/"
	# each round: the forward-auth pair back to back, then the plain pair,
	# the order within each pair alternating from round to round
	for r in $(seq 1 "$ROUNDS"); do
		if [ $((r % 2)) = 1 ]; then
			g_run ingressd_fa "$r" $IPID $IHTTP fa.bench
			g_run nginx_fa "$r" $GNWPID $GPORT fa.bench
			g_run nginx "$r" $NWPID $NPORT plain.bench
			g_run ingressd "$r" $IPID $IHTTP plain.bench
		else
			g_run nginx_fa "$r" $GNWPID $GPORT fa.bench
			g_run ingressd_fa "$r" $IPID $IHTTP fa.bench
			g_run ingressd "$r" $IPID $IHTTP plain.bench
			g_run nginx "$r" $NWPID $NPORT plain.bench
		fi
	done
	fa1=$(curl -s "http://127.0.0.1:$IWEB/metrics" | grep '^ingressd_forward_auth_total' | tr '\n' ' ')
	kv G.ingressd_counters "before the warm-ups: ${fa0:-absent}; after the runs: ${fa1:-absent}"
	kv G.rss.nginx_fa "$(status_kb $GNWPID VmHWM)"
	kv G.rss.authsvc "$(status_kb $GAPID VmHWM)"
	stop $GNPID
	stop $GASTOP
}

# ================================================================ run
# timed SECTION: runs section_SECTION and records its wall time
timed() {
	local t=$(date +%s)
	"section_$1"
	kv "time.$1" $(($(date +%s) - t))
}
want D && timed D
if want A || want B || want C || want E || want F || want G; then
	setup_proxies || true
fi
if [ $UP = 1 ]; then
	want A && timed A
	want B && timed B
	want C && timed C
	want E && timed E
	want F && timed F
	want G && timed G
	kv log_lines.ingressd "$(wc -l <"$LOGS/ingressd.log")"
fi
# S: the stripped static binaries as `make cross` builds them (issue 12;
# make test-arm holds aarch64 to the 400 KB budget)
for tc in aarch64-linux-gnu arm-linux-gnueabihf x86_64-linux-musl; do
	a=$(sed -n 's/^ARCH *= *//p' port/toolchain/$tc.mk)
	if make -s cross TOOLCHAIN=port/toolchain/$tc.mk >"$LOGS/cross.$a.log" 2>&1; then
		kv "size.$a" "$(wc -c <build/$a/ingressd)"
	else
		note S "make cross for $a failed (see logs/cross.$a.log)"
	fi
done
kv machine.load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
kv runtime_s $(($(date +%s) - T0))
python3 test/bench/report.py "$RAW" "$OUT/results.md"
