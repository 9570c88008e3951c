#!/bin/sh
# test/e2e_kube.sh - ingressd against the real kube-apiserver (v1.20,
# test/kube-apiserver/): in-cluster configuration over TLS (IP SAN
# 127.0.0.1), Ingresses created, updated and deleted with curl appear in
# ingressd within a second, traffic reaches a local backend through an
# EndpointSlice, an apiserver restart on kept data is survived (reconnect,
# relist), ingress-nginx's security annotations are enforced and an
# unimplemented annotation is reported, and the viewer token's 403 is
# reported with the RBAC rule.
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
ngx_ingress ngx-rw rw.e2e.test "{$N/rewrite-target: /}" && ok "ingress with rewrite-target" || fail "ngx-rw"
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
WAIT=10 eventually "auth-url (not implemented): 401 to everyone, never open" sh -c \
	"test \$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: url.e2e.test' http://127.0.0.1:$HTTP/) = 401"
WAIT=10 eventually "rewrite-target (not implemented): served as if absent" sh -c \
	"curl -s -H 'Host: rw.e2e.test' http://127.0.0.1:$HTTP/r | grep -qx 'b1 /r'"
is "$(grep -c "ingress e2e/ngx-rw: annotations ingressd does not implement, ignored: $N/rewrite-target" "$T_TMP/ingressd.log")" 1 &&
	ok "... logged once with the Ingress" || fail "rw log: $(grep ngx-rw "$T_TMP/ingressd.log")"
curl -s "http://127.0.0.1:$WEB/api/providers" | grep -q "\"unsupportedAnnotations\":\[\"$N/rewrite-target\"\]" &&
	ok "... listed on /api/providers" || fail "providers"
curl -s "http://127.0.0.1:$WEB/metrics" | grep -q "^ingressd_annotations_unsupported{annotation=\"$N/rewrite-target\"} 1$" &&
	ok "... counted in /metrics" || fail "metrics"
for n in ngx-wl ngx-auth ngx-url ngx-rw; do K -o /dev/null -X DELETE "$KUBE_URL$I/$n"; done

# ---- restart the apiserver on kept data: reconnect and relist (410)
bash "$TOOLS/down.sh" "$KOUT" --keep-data >"$T_TMP/down.log" 2>&1
is "$(curl -s -H 'Host: web.e2e.test' http://127.0.0.1:$HTTP/z)" "b1 /z" && ok "apiserver down: the last table serves" ||
	fail "outage"
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
grep -hE 'AddressSanitizer|runtime error' "$T_TMP/ingressd.log" | head -3
finish
