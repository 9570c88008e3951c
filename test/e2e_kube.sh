#!/bin/sh
# test/e2e_kube.sh - ingressd against the real kube-apiserver (v1.20,
# test/kube-apiserver/): in-cluster configuration over TLS (IP SAN
# 127.0.0.1), Ingresses created, updated and deleted with curl appear in
# ingressd within a second, traffic reaches a local backend through an
# EndpointSlice, an apiserver restart on kept data is survived (reconnect,
# relist), ingress-nginx's security annotations are enforced and an
# unimplemented annotation is reported, the viewer token's 403 is
# reported with the RBAC rule, and the Ingress status ([kubernetes.
# ingressEndpoint] ip, hostname, publishedService) shows in kubectl get
# ingress, follows the Service, leaves other classes alone, is not
# rewritten by a second replica, and a missing status right only logs.
# Skipped (0 passed, 0 failed) when the apiserver binary is missing.
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
B=${1:-./ingressd}
KBIN=${KUBE_APISERVER_BIN:-/var/tmp/kube-apiserver-build/bin/kube-apiserver}
TOOLS=$(pwd)/test/kube-apiserver
if [ ! -x "$KBIN" ] || ! command -v etcd >/dev/null; then
	echo "e2e_kube: skipped: no kube-apiserver at $KBIN (make kube-apiserver) or no etcd"
	echo "e2e_kube: 0 passed, 0 failed"
	exit 0
fi
suite e2e_kube
EVENTUALLY_WAIT=100 # eventually waits up to 10 s by default here (lib.sh)
KOUT=$T_TMP/kube
at_exit "bash '$TOOLS/down.sh' '$KOUT'"
KPORT=$(free_port)
EPORT=$(free_port)
PPORT=$(free_port)
export KUBE_PORT=$KPORT ETCD_PORT=$EPORT ETCD_PEER_PORT=$PPORT
if ! bash "$TOOLS/up.sh" "$KOUT" "$KBIN" >"$T_TMP/up.log" 2>&1; then
	abort "kube-apiserver starts: $(tail -n 5 "$T_TMP/up.log")"
fi
ok "kube-apiserver up on 127.0.0.1:$KPORT"
. "$KOUT/env"
TOKEN=$(cat "$KUBE_TOKEN_FILE")
K() { curl -s --cacert "$KUBE_CA" -H "Authorization: Bearer $TOKEN" "$@"; }
kpost() { # PATH (YAML on stdin)
	K -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/yaml' --data-binary @- "$KUBE_URL$1" | grep -q '^20[01]$'
}
kput() { # PATH (YAML on stdin)
	K -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/yaml' --data-binary @- "$KUBE_URL$1" | grep -q '^200$'
}

HTTP=$(free_port)
WEB=$(free_port)
P1=$(free_port)
backend 127.0.0.1:$P1 b1
wait_port $P1

I=/apis/networking.k8s.io/v1/namespaces/e2e/ingresses
ingress_web() { # the Ingress e2e/web: web.e2e.test to Service web
	kpost $I <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: e2e}
spec:
  rules:
  - host: web.e2e.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
EOF
}
kpost /api/v1/namespaces <<EOF && ok "namespace" || fail "namespace"
apiVersion: v1
kind: Namespace
metadata: {name: e2e}
EOF
kpost /api/v1/namespaces/e2e/services <<EOF && ok "service" || fail "service"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: e2e}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
EOF
# Endpoints refuse loopback addresses; an EndpointSlice (v1beta1 here) takes them
kpost /apis/discovery.k8s.io/v1beta1/namespaces/e2e/endpointslices <<EOF && ok "endpointslice" || fail "endpointslice"
apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata: {name: web-1, namespace: e2e, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: $P1, protocol: TCP}]
endpoints:
- addresses: ["127.0.0.1"]
  conditions: {ready: true}
EOF

# in-cluster: the service environment and a service-account directory
SA=$T_TMP/sa
mkdir -p "$SA"
cp "$KUBE_CA" "$SA/ca.crt"
cp "$KUBE_TOKEN_FILE" "$SA/token"
start_in_cluster $KPORT "$SA"
ready "synced with the real apiserver over TLS and ready"
grep -q 'trying /apis/discovery.k8s.io/v1beta1/endpointslices' "$T_TMP/ingressd.log" &&
	ok "EndpointSlice discovery.k8s.io/v1 is 404 on 1.20: fell back to v1beta1" || fail "slice fallback"

# ---- create, update, delete: visible within a second
ingress_web && ok "ingress created" || fail "ingress create"
WAIT=10 eventually "created: in the store and routed within a second" sh -c \
	"curl -s -H 'Host: web.e2e.test' http://127.0.0.1:$HTTP/x | grep -qx 'b1 /x'"
grep -q 'kw: ingress e2e/web: stored' "$T_TMP/ingressd.log" && ok "the store logs it (debug)" || fail "store log"
RV=$(K "$KUBE_URL$I/web" | jq -r .metadata.resourceVersion)
kput $I/web <<EOF && ok "ingress updated" || fail "ingress update"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: e2e, resourceVersion: "$RV"}
spec:
  rules:
  - host: web2.e2e.test
    http:
      paths:
      - {path: /v2, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
EOF
WAIT=10 eventually "updated within a second" sh -c "curl -s -H 'Host: web2.e2e.test' http://127.0.0.1:$HTTP/v2/a | grep -qx 'b1 /v2/a'"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: web.e2e.test' http://127.0.0.1:$HTTP/x)" 404 &&
	ok "the old host is gone" || fail "old host"
K -X DELETE -o /dev/null "$KUBE_URL$I/web"
WAIT=10 eventually "deleted within a second" sh -c \
	"curl -s -o /dev/null -w '%{http_code}' -H 'Host: web2.e2e.test' http://127.0.0.1:$HTTP/v2 | grep -qx 404"
ingress_web && ok "ingress created again" || fail "create again"
WAIT=10 eventually "and routed again" sh -c "curl -s -H 'Host: web.e2e.test' http://127.0.0.1:$HTTP/y | grep -qx 'b1 /y'"

# ---- ingress-nginx's security annotations through the real apiserver:
# an allow list, basic auth from an auth-file Secret (real htpasswd), an
# nginx auth-* ingressd does not implement (401), and an annotation it
# does not implement: logged once, on /api/providers, in /metrics
ngx_ingress() { # NAME HOST ANNOTATIONS
	kpost $I <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: $1
  namespace: e2e
  annotations: $3
spec:
  rules:
  - host: $2
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
EOF
}
kpost /api/v1/namespaces/e2e/secrets <<EOF && ok "auth-file Secret" || fail "secret"
apiVersion: v1
kind: Secret
metadata: {name: htp, namespace: e2e}
data:
  auth: $(htpasswd -nbs alice s3cret | head -n 1 | tr -d '\n' | base64 -w0)
EOF
N='nginx.ingress.kubernetes.io'
ngx_ingress ngx-wl wl.e2e.test "{$N/whitelist-source-range: \"10.0.0.0/8\"}" && ok "ingress with whitelist-source-range" ||
	fail "ngx-wl"
ngx_ingress ngx-auth auth.e2e.test "{$N/auth-type: basic, $N/auth-secret: e2e/htp, $N/auth-secret-type: auth-file, $N/auth-realm: kube}" &&
	ok "ingress with nginx basic auth" || fail "ngx-auth"
ngx_ingress ngx-url url.e2e.test "{$N/auth-url: \"http://127.0.0.1:1/auth\"}" && ok "ingress with auth-url" || fail "ngx-url"
ngx_ingress ngx-rw rw.e2e.test "{$N/rewrite-target: /, $N/proxy-buffering: \"on\"}" && ok "ingress with rewrite-target" ||
	fail "ngx-rw"
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
WAIT=10 eventually "whitelist-source-range: 127.0.0.1 is outside 10.0.0.0/8: 403" sh -c \
	"test \$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: wl.e2e.test' http://127.0.0.1:$HTTP/) = 403"
WAIT=10 eventually "auth-type basic: no credentials: 401" sh -c \
	"test \$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: auth.e2e.test' http://127.0.0.1:$HTTP/) = 401"
curl -s -D - -o /dev/null -H 'Host: auth.e2e.test' http://127.0.0.1:$HTTP/ | tr -d '\r' | grep -q '^WWW-Authenticate: Basic realm="kube"' &&
	ok "... with the auth-realm" || fail "realm"
is "$(code -u alice:wrong -H 'Host: auth.e2e.test' http://127.0.0.1:$HTTP/)" 401 && ok "... a wrong password: 401" || fail "wrong pw"
is "$(curl -s -u alice:s3cret -H 'Host: auth.e2e.test' http://127.0.0.1:$HTTP/a)" "b1 /a" &&
	ok "... the Secret's user: served" || fail "auth ok"
WAIT=10 eventually "auth-url to an auth service that refuses connections: 503, never open" sh -c \
	"test \$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: url.e2e.test' http://127.0.0.1:$HTTP/) = 503"
WAIT=10 eventually "nginx rewrite-target / on the regex path /: /r reaches the pod as /" sh -c \
	"curl -s -H 'Host: rw.e2e.test' http://127.0.0.1:$HTTP/r | grep -qx 'b1 /'"
is "$(grep -c "ingress e2e/ngx-rw: annotations ingressd does not implement, ignored: $N/proxy-buffering" "$T_TMP/ingressd.log")" 1 &&
	ok "proxy-buffering (not implemented): logged once with the Ingress" || fail "rw log: $(grep ngx-rw "$T_TMP/ingressd.log")"
curl -s "http://127.0.0.1:$WEB/api/providers" | grep -q "\"unsupportedAnnotations\":\[\"$N/proxy-buffering\"\]" &&
	ok "... listed on /api/providers" || fail "providers"
curl -s "http://127.0.0.1:$WEB/metrics" | grep -q "^ingressd_annotations_unsupported{annotation=\"$N/proxy-buffering\"} 1$" &&
	ok "... counted in /metrics" || fail "metrics"
for n in ngx-wl ngx-auth ngx-url ngx-rw; do K -o /dev/null -X DELETE "$KUBE_URL$I/$n"; done

# ---- the snapshot (issue 21), part 1: a second ingressd, S, reaches the
# apiserver through a relay (test/relay.py) and keeps its snapshot; basic
# auth (the htp Secret) and TLS (a Secret's certificate) on its routes
SNAP=$T_TMP/snapdir/snapshot
mkdir -p "$T_TMP/snapdir"
SHTTP=$(free_port)
SHTTPS=$(free_port)
SWEB=$(free_port)
RPORT=$(free_port)
relay_up() { python3 test/relay.py $RPORT $KPORT >/dev/null 2>&1 & RLPID=$!; at_exit "kill $RLPID"; wait_port $RPORT; }
cat >"$T_TMP/snap.conf" <<EOF
[entryPoints.http]
address = "127.0.0.1:$SHTTP"
[entryPoints.https]
address = "127.0.0.1:$SHTTPS"
  [entryPoints.https.tls]
[web]
address = "127.0.0.1:$SWEB"
[kubernetes]
endpoint = "https://127.0.0.1:$RPORT"
certAuthFilePath = "$KOUT/ca.crt"
token = "$TOKEN"
throttleDuration = "20ms"
snapshotFile = "$SNAP"
EOF
chmod 600 "$T_TMP/snap.conf"
start_snap() { $B -c "$T_TMP/snap.conf" 2>>"$T_TMP/snap.log" & SNPID=$!; at_exit "kill -9 $SNPID"; }
( cd "$T_TMP" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=snap-tls.e2e.test \
	-addext subjectAltName=DNS:snap-tls.e2e.test -keyout snap.key -out snap.crt >/dev/null 2>&1 )
kpost /api/v1/namespaces/e2e/secrets <<EOF && ok "snapshot: a TLS Secret" || fail "snap tls secret"
apiVersion: v1
kind: Secret
metadata: {name: snap-tls, namespace: e2e}
type: kubernetes.io/tls
data:
  tls.crt: $(base64 -w0 "$T_TMP/snap.crt")
  tls.key: $(base64 -w0 "$T_TMP/snap.key")
EOF
ngx_ingress snap-auth snap-auth.e2e.test "{$N/auth-type: basic, $N/auth-secret: htp, $N/auth-secret-type: auth-file}" &&
	ngx_ingress snap-gone snap-gone.e2e.test "{}" && kpost $I <<EOF && ok "snapshot: Ingresses with auth, TLS, and one to delete" ||
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: snap-tls, namespace: e2e}
spec:
  tls: [{hosts: [snap-tls.e2e.test], secretName: snap-tls}]
  rules:
  - host: snap-tls.e2e.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
EOF
	fail "snap ingresses"
sget() { curl -s -o /dev/null -w '%{http_code}' -H "Host: $1" $2 "http://127.0.0.1:$SHTTP/"; } # HOST [curl option]
stls() { curl -s --max-time 3 --cacert "$T_TMP/snap.crt" --resolve "snap-tls.e2e.test:$SHTTPS:127.0.0.1" \
	"https://snap-tls.e2e.test:$SHTTPS/t"; }
snap_served() { # the routes of part 1, as the API server had them then
	[ "$(sget snap-auth.e2e.test)" = 401 ] && [ "$(sget snap-auth.e2e.test -ualice:s3cret)" = 200 ] &&
		[ "$(sget snap-auth.e2e.test -ualice:wrong)" = 401 ] && [ "$(stls)" = "b1 /t" ] &&
		[ "$(sget snap-gone.e2e.test)" = 200 ] && [ "$(sget snap-new.e2e.test)" = 404 ]
}
relay_up
start_snap
WAIT=100 eventually "snapshot: S routes with basic auth and TLS through the relay" snap_served
eventually "... and writes its snapshot, mode 0600" sh -c "[ \"\$(stat -c %a '$SNAP')\" = 600 ]"
sleep 1.2 # a snapshot of the last build (at most one a second)

# ---- restart the apiserver on kept data: reconnect and relist (410)
bash "$TOOLS/down.sh" "$KOUT" --keep-data >"$T_TMP/down.log" 2>&1
is "$(curl -s -H 'Host: web.e2e.test' http://127.0.0.1:$HTTP/z)" "b1 /z" && ok "apiserver down: the last table serves" ||
	fail "outage"
# the snapshot, part 2: with the apiserver down, S is killed (-9); the
# snapshot it left is whole
kill $RLPID
kill -9 $SNPID
wait $SNPID 2>/dev/null
SUM1=$(sha256sum <"$SNAP")
head -c 8 "$SNAP" | grep -q '^ingsnap$' && [ ! -e "$SNAP.tmp" ] && ok "snapshot: left whole by kill -9" || fail "snapshot file"
KUBE_DATA_DIR=$(cat "$KOUT/datadir") KUBE_TOKEN=$TOKEN bash "$TOOLS/up.sh" "$KOUT" "$KBIN" >"$T_TMP/up2.log" 2>&1 &&
	ok "apiserver restarted on its data" || fail "restart: $(tail -n 3 "$T_TMP/up2.log")"
cp "$KOUT/ca.crt" "$SA/ca.crt" 2>/dev/null
K -o /dev/null -X DELETE "$KUBE_URL$I/web"
WAIT=400 eventually "reconnected: a delete made after the restart is seen" sh -c \
	"curl -s -o /dev/null -w '%{http_code}' -H 'Host: web.e2e.test' http://127.0.0.1:$HTTP/ | grep -qx 404"
grep -qE 'relisting|after an outage' "$T_TMP/ingressd.log" && ok "relisted after the restart" || fail "relist"
kill -TERM $IPID
wait $IPID
is $? 0 && ok "SIGTERM: exit 0" || fail "exit"

# the snapshot, part 3: the apiserver is back but S cannot reach it (the
# relay is down) and, meanwhile, snap-gone is deleted and snap-new added.
# S starts: nothing answers, so it serves its snapshot at once, stale
K -o /dev/null -X DELETE "$KUBE_URL$I/snap-gone"
ngx_ingress snap-new snap-new.e2e.test "{}" || fail "snap-new"
T0=$(date +%s%N)
start_snap
WAIT=20 eventually "snapshot: restarted with the API server away, S serves within 2 s: auth and TLS enforced" snap_served
echo "e2e_kube: snapshot: serving $((($(date +%s%N) - T0) / 1000000)) ms after the start"
R=$(curl -s -w '|%{http_code}' "http://127.0.0.1:$SWEB/ready" | tr '\n' ' ')
echo "$R" | grep -Eq '^stale since 20[0-9-]+T[0-9:]+Z: ingresses not listed yet \|200$' && ok "snapshot: /ready 200 \"stale since T\"" ||
	fail "ready: $R"
M=$(curl -s "http://127.0.0.1:$SWEB/metrics")
echo "$M" | grep -qx 'ingressd_snapshot_stale 1' && echo "$M" | grep -Eq '^ingressd_snapshot_age_seconds [0-9]+$' &&
	ok "snapshot: /metrics stale 1 and its age" || fail "metrics: $(echo "$M" | grep snapshot)"
curl -s "http://127.0.0.1:$SWEB/api/providers" | grep -Eq '"staleSince":"20[0-9-]+T[0-9:]+Z"' &&
	ok "snapshot: /api/providers staleSince" || fail "api staleSince"
grep -q 'serving the snapshot' "$T_TMP/snap.log" && ok "snapshot: logged" || fail "snap log"
is "$(sha256sum <"$SNAP")" "$SUM1" && ok "snapshot: not written while stale" || fail "written while stale"
# the relay comes up: S lists, and the lists replace the snapshot's objects
relay_up
WAIT=400 eventually "snapshot: S reaches the apiserver again and syncs" grep -q 'first sync done' "$T_TMP/snap.log"
converged() {
	[ "$(sget snap-gone.e2e.test)" = 404 ] && [ "$(sget snap-new.e2e.test)" = 200 ] &&
		[ "$(sget snap-auth.e2e.test -ualice:s3cret)" = 200 ] && [ "$(stls)" = "b1 /t" ] &&
		[ "$(curl -s "http://127.0.0.1:$SWEB/ready")" = OK ]
}
WAIT=20 eventually "snapshot: within 2 s the table is the API server's (deleted gone, added routed, not stale)" converged
curl -s "http://127.0.0.1:$SWEB/metrics" | grep -qx 'ingressd_snapshot_stale 0' && ok "snapshot: stale 0" || fail "stale 0"
WAIT=30 eventually "snapshot: written again" sh -c "[ \"\$(sha256sum <'$SNAP')\" != '$SUM1' ]"
# a full disk: S's snapshot moves to a small tmpfs, filled up; the write
# fails, the previous snapshot stays whole (test/unit_snap.c: the retry)
SMALL=$T_TMP/small
mkdir -p "$SMALL"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=1m tmpfs "$SMALL" 2>/dev/null; then
	at_exit "umount '$SMALL'"
	sed -i "s|^snapshotFile = .*|snapshotFile = \"$SMALL/snap\"|" "$T_TMP/snap.conf"
	kill -HUP $SNPID
	ngx_ingress snap-fill1 snap-fill1.e2e.test "{}" || fail "fill1"
	WAIT=50 eventually "snapshot: written to the new file after SIGHUP" test -s "$SMALL/snap"
	sleep 1.2
	SUM2=$(sha256sum <"$SMALL/snap")
	dd if=/dev/zero of="$SMALL/fill" bs=4k count=1000 2>/dev/null # until full
	ngx_ingress snap-fill2 snap-fill2.e2e.test "{}" || fail "fill2"
	WAIT=50 eventually "snapshot: disk full: the write fails, logged" grep -q 'kw: snapshot: .*No space left on device; the previous one stays' "$T_TMP/snap.log"
	is "$(sha256sum <"$SMALL/snap")" "$SUM2" && [ ! -e "$SMALL/snap.tmp" ] &&
		ok "snapshot: disk full: the previous one stays whole, no temp file left" || fail "disk full: previous changed"
	rm -f "$SMALL/fill"
else
	echo "e2e_kube: snapshot disk-full check skipped (needs root and a tmpfs mount)"
fi
kill $SNPID
for n in snap-auth snap-tls snap-new snap-fill1 snap-fill2; do K -o /dev/null -X DELETE "$KUBE_URL$I/$n"; done

# ---- the viewer token: 403, with the RBAC rule to add
cat >"$T_TMP/v.conf" <<EOF
[entryPoints.http]
address = "127.0.0.1:$HTTP"
[web]
address = "127.0.0.1:$WEB"
[kubernetes]
endpoint = "$KUBE_URL"
certAuthFilePath = "$KOUT/ca.crt"
token = "$(cat "$KOUT/token.viewer")"
EOF
chmod 600 "$T_TMP/v.conf"
$B -c "$T_TMP/v.conf" 2>"$T_TMP/viewer.log" &
VPID=$!
at_exit "kill $VPID"
eventually "403 from the real apiserver, logged with the rule to grant" grep -q 'forbidden (403): .*cannot list resource.*RBAC: grant get, list and watch' "$T_TMP/viewer.log"
is "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$WEB/ready)" 503 && ok "403: not ready" || fail "viewer ready"
kill $VPID
wait $VPID 2>/dev/null

# ---- the Ingress status, read back with Debian's kubectl
KUBECTL=${KUBECTL:-/var/tmp/kubernetes-client/usr/bin/kubectl}
[ -x "$KUBECTL" ] || KUBECTL=kubectl
kc() { "$KUBECTL" --kubeconfig "$KOUT/kubeconfig" "$@"; }
# the ADDRESS column of kubectl get ingress -n e2e NAME (header-aligned)
address() { kc get ingress -n e2e "$1" | awk 'NR == 1 { i = index($0, "ADDRESS") } NR == 2 { a = substr($0, i); sub(/ .*/, "", a); print a }'; }
addr_is() { [ "$(address "$1")" = "$2" ]; }
status_conf() { # FILE HTTP WEB TOKEN KEYS
	cat >"$1" <<EOF
[entryPoints.http]
address = "127.0.0.1:$2"
[web]
address = "127.0.0.1:$3"
[kubernetes]
endpoint = "$KUBE_URL"
certAuthFilePath = "$KOUT/ca.crt"
token = "$4"
throttleDuration = "20ms"
[kubernetes.ingressEndpoint]
$5
EOF
	chmod 600 "$1"
}
HTTP_S=$(free_port)
WEB_S=$(free_port)
status_conf "$T_TMP/s.conf" $HTTP_S $WEB_S "$TOKEN" 'ip = "192.0.2.10"'
ingress_web >/dev/null
kpost $I <<EOF && ok "an Ingress of another class, with its controller's address" || fail "other-class ingress"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: theirs, namespace: e2e}
spec:
  ingressClassName: nginx
  rules:
  - host: theirs.e2e.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
EOF
K -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' \
	-d '{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.9"}]}}}' "$KUBE_URL$I/theirs/status"
$B -c "$T_TMP/s.conf" 2>"$T_TMP/status.log" &
SPID=$!
at_exit "kill $SPID"
WAIT=20 eventually "ip: kubectl get ingress shows 192.0.2.10 within 2 s" addr_is web 192.0.2.10
echo "e2e_kube: kubectl get ingress -n e2e:"
kc get ingress -n e2e 2>&1 | sed 's/^/  /'
web_rv() { K "$KUBE_URL$I/web" | jq -r .metadata.resourceVersion; }
RV1=$(web_rv)
# a second replica with the same config: no write once converged
HTTP_S2=$(free_port)
WEB_S2=$(free_port)
status_conf "$T_TMP/s2.conf" $HTTP_S2 $WEB_S2 "$TOKEN" 'ip = "192.0.2.10"'
$B -c "$T_TMP/s2.conf" 2>"$T_TMP/status2.log" &
S2PID=$!
at_exit "kill $S2PID"
eventually "second replica ready" sh -c "curl -sf http://127.0.0.1:$WEB_S2/ready"
sleep 2
is "$(web_rv)" "$RV1" && ok "two replicas, converged: no write (resourceVersion unchanged)" ||
	fail "replicas wrote: $RV1 -> $(web_rv)"
is "$(curl -s "http://127.0.0.1:$WEB_S2/metrics" | awk '$1 == "ingressd_status_writes_total{result=\"written\"}" {print $2}')" 0 &&
	ok "... the second replica counts 0 writes" || fail "second replica wrote"
kill $S2PID
sed -i 's/^ip = .*/hostname = "edge.example.com"/' "$T_TMP/s.conf"
kill -HUP $SPID
WAIT=20 eventually "hostname (after SIGHUP): kubectl shows edge.example.com" addr_is web edge.example.com
kpost /api/v1/namespaces/e2e/services <<EOF && ok "a LoadBalancer Service to publish" || fail "LB service"
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: e2e}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80, targetPort: 8080}]
EOF
lb() { K -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' \
	-d "{\"status\":{\"loadBalancer\":{\"ingress\":$1}}}" "$KUBE_URL/api/v1/namespaces/e2e/services/edge/status"; }
lb '[{"ip":"10.0.0.5"},{"ip":"10.0.0.6"}]'
sed -i 's|^hostname = .*|publishedService = "e2e/edge"|' "$T_TMP/s.conf"
kill -HUP $SPID
WAIT=20 eventually "publishedService: kubectl shows the Service's addresses" addr_is web 10.0.0.5,10.0.0.6
lb '[{"ip":"10.0.0.7"}]'
WAIT=20 eventually "the Service's status changes: every Ingress follows" addr_is web 10.0.0.7
is "$(address theirs)" 203.0.113.9 && ok "the other class's Ingress is never touched" || fail "theirs: $(address theirs)"
K -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"ingressClassName":"nginx"}}' "$KUBE_URL$I/web"
WAIT=20 eventually "a class that moves away: its status is cleared" addr_is web ""
kill $SPID
# a token that reads everything ingressd needs but may not write status
kpost /apis/rbac.authorization.k8s.io/v1/clusterroles <<EOF && ok "read-only role" || fail "read-only role"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ingressd-read}
rules:
- {apiGroups: ["networking.k8s.io", "extensions"], resources: ["ingresses", "ingressclasses"], verbs: ["get", "list", "watch"]}
- {apiGroups: [""], resources: ["services", "endpoints", "secrets"], verbs: ["get", "list", "watch"]}
- {apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"]}
EOF
kpost /apis/rbac.authorization.k8s.io/v1/clusterrolebindings <<EOF && ok "bound to the viewer" || fail "binding"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ingressd-read}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ingressd-read}
subjects: [{kind: User, name: viewer, apiGroup: rbac.authorization.k8s.io}]
EOF
ngx_ingress ro ro.e2e.test "{}" || fail "ingress ro"
status_conf "$T_TMP/ro.conf" $HTTP_S $WEB_S "$(cat "$KOUT/token.viewer")" 'ip = "192.0.2.10"'
$B -c "$T_TMP/ro.conf" 2>"$T_TMP/ro.log" &
RPID=$!
at_exit "kill $RPID"
WAIT=50 eventually "without the status right: routed" sh -c "curl -s -H 'Host: ro.e2e.test' http://127.0.0.1:$HTTP_S/q | grep -qx 'b1 /q'"
eventually "... and the missing right is logged" grep -q 'forbidden (403).*RBAC: grant patch on ingresses/status' "$T_TMP/ro.log"
curl -s "http://127.0.0.1:$WEB_S/metrics" | grep -Eq '^ingressd_status_writes_total\{result="forbidden"\} [1-9]' &&
	ok "... and counted" || fail "forbidden not counted"
is "$(address ro)" "" && ok "... and nothing written" || fail "ro: $(address ro)"
kill $RPID
grep -hE 'AddressSanitizer|runtime error' "$T_TMP/ingressd.log" "$T_TMP/status.log" "$T_TMP/snap.log" | head -3
finish
