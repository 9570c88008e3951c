#!/bin/sh
# test/e2e_deploy.sh - the Kubernetes manifests (deploy/k8s, deploy/examples)
# against a real kube-apiserver (test/kube-apiserver, started
# here on ports of its own and stopped at exit):
#   - every object is created with a server-side dry run (POST ?dryRun=All,
#     the raw YAML), so the API server's schema and validation judge it; and
#     since a 1.20 server silently drops unknown fields, every field sent
#     must come back in the answer (a typo such as `readinesProbe` fails);
#   - broken copies are rejected (the check can fail);
#   - the names that tie the objects together agree (service account,
#     binding, ConfigMap, IngressClass, probe ports, config addresses), the
#     ConfigMap holds deploy/ingressd.conf and `ingressd -t` accepts it, and
#     kustomization.yaml lists every manifest;
#   - RBAC for real: the ServiceAccount, ClusterRole and binding are created
#     and the service account is impersonated: list/watch/get on what
#     ingressd reads are allowed, everything else (pods, writes, status) is
#     403, verb by verb through SubjectAccessReviews;
#   - the DaemonSet's resources against measurements: the static amd64
#     ingressd watches the stand-in API server (TLS) holding the cheese
#     example, serves 10,000 requests to busybox httpd backends, then every
#     I/O buffer is taken by unfinished request heads; RSS must stay under
#     requests.memory and limits.memory respectively.
# Skipped (0 passed, 0 failed) when the kube-apiserver binary is missing.
# Last line: "e2e_deploy: N passed, M failed".
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
suite e2e_deploy

KBIN=${KUBE_APISERVER_BIN:-/var/tmp/kube-apiserver-build/bin/kube-apiserver}
TOOLS=${KUBE_TOOLS:-$(pwd)/test/kube-apiserver}
if [ ! -x "$KBIN" ] || [ ! -f "$TOOLS/up.sh" ] || ! command -v etcd >/dev/null; then
	echo "e2e_deploy: skipped: no kube-apiserver at $KBIN (see $TOOLS/README.md), or no etcd"
	finish
	exit 0
fi
for t in curl jq openssl python3 busybox; do
	command -v $t >/dev/null || fail "$t is installed (make deps)"
done
[ "$T_FAIL" -eq 0 ] || { finish; exit 1; }
B=build/x86_64/ingressd # the binary the amd64 image carries
# built when missing or older than the sources (a stale one would test old code)
{ [ -x $B ] && [ -z "$(find ingressd.c ingressd.h port dashboard -newer $B -type f | head -n 1)" ]; } ||
	make static >"$T_TMP/make.log" 2>&1 || abort "make static: $(tail -n 5 "$T_TMP/make.log")"

# ---------------------------------------------------------------- API server
KOUT=$T_TMP/kube
at_exit "bash '$TOOLS/down.sh' '$KOUT'"
if ! KUBE_PORT=$(free_port) ETCD_PORT=$(free_port) ETCD_PEER_PORT=$(free_port) \
	bash "$TOOLS/up.sh" "$KOUT" "$KBIN" >"$T_TMP/up.log" 2>&1; then
	abort "kube-apiserver starts: $(tail -n 5 "$T_TMP/up.log")"
fi
. "$KOUT/env"
TOKEN=$(cat "$KUBE_TOKEN_FILE")
K() { curl -s --cacert "$KUBE_CA" -H "Authorization: Bearer $TOKEN" "$@"; }
echo "e2e_deploy: kube-apiserver $(K "$KUBE_URL/version" | jq -r .gitVersion) at $KUBE_URL"

# ---------------------------------------------------------------- apply
# split FILE DIR: one file per YAML document (comment-only ones dropped)
split() {
	rm -rf "$2"
	mkdir -p "$2"
	awk -v d="$2" 'BEGIN { n = 0; f = sprintf("%s/%03d.yaml", d, n) }
		/^---[ \t]*(#.*)?$/ { n++; f = sprintf("%s/%03d.yaml", d, n); next }
		{ print > f }' "$1"
	for f in "$2"/*.yaml; do
		grep -qv '^[[:space:]]*\(#.*\)\{0,1\}$' "$f" || rm -f "$f"
	done
}
# collection PATH for apiVersion, kind, namespace (from API discovery)
collection() {
	case $1 in */*) base=/apis/$1 ;; *) base=/api/$1 ;; esac
	r=$(K "$KUBE_URL$base" | jq -r --arg k "$2" '.resources[]? | select(.kind == $k and (.name | contains("/") | not)) |
		"\(.name) \(.namespaced)"' | head -n 1)
	[ -n "$r" ] || return 1
	set -- "$base" "$3" $r
	if [ "$4" = true ]; then echo "$1/namespaces/${2:-default}/$3"; else echo "$1/$3"; fi
}
# apply DOC.yaml [dry|real]: POSTs the raw YAML; the answer is in DOC.out.
# 0 accepted with every field kept; 1 refused (reason in $WHY); 2 accepted
# but fields were dropped (unknown to the schema; listed in $WHY).
apply() {
	doc=$1
	mode=${2:-dry}
	WHY=
	if ! python3 test/yaml2json.py "$doc" >"$doc.json" 2>"$doc.err"; then
		WHY="YAML: $(cat "$doc.err")"
		return 1
	fi
	set -- $(jq -r '.[0] | "\(.apiVersion) \(.kind) \(.metadata.name) \(.metadata.namespace // "")"' "$doc.json")
	KIND=$2 NAME=$3
	if ! path=$(collection "$1" "$2" "$4"); then
		WHY="$1 $2: not served by this API server"
		return 1
	fi
	q=
	[ "$mode" = dry ] && q='?dryRun=All'
	code=$(K -o "$doc.out" -w '%{http_code}' -X POST -H 'Content-Type: application/yaml' --data-binary @"$doc" "$KUBE_URL$path$q")
	case $code in
	200 | 201) ;;
	*)
		WHY="$code $(jq -r .message "$doc.out" 2>/dev/null | head -c 300)"
		return 1
		;;
	esac
	# every scalar sent comes back unchanged (defaults may be added)
	WHY=$(jq -rn --slurpfile a "$doc.json" --slurpfile b "$doc.out" '$a[0][0] as $in | $b[0] as $out |
		[$in | paths(scalars) as $p | select(($out | getpath($p)) != ($in | getpath($p))) |
		 $p | map(tostring) | join(".")] | join(", ")')
	[ -z "$WHY" ] || return 2
	return 0
}

MANIFESTS=
for m in deploy/k8s/*.yaml deploy/examples/*.yaml; do
	[ "$m" = deploy/k8s/kustomization.yaml ] || MANIFESTS="$MANIFESTS${MANIFESTS:+ }$m"
done
D=$T_TMP/docs
i=0
for m in $MANIFESTS; do
	split "$m" "$D/$i"
	i=$((i + 1))
done
# Namespaces first, dry-run then for real: namespaced objects need theirs.
for doc in "$D"/*/*.yaml; do
	grep -q '^kind: Namespace' "$doc" || continue
	apply "$doc" dry && ok "dry run: $KIND $NAME" || fail "dry run: $KIND $NAME: $WHY"
	apply "$doc" real || fail "create $KIND $NAME: $WHY"
done
n=0
for doc in "$D"/*/*.yaml; do
	grep -q '^kind: Namespace' "$doc" && continue
	apply "$doc" dry
	case $? in
	0) ok "dry run: $KIND $NAME" ;;
	1) fail "dry run: $KIND $NAME ($doc): refused: $WHY" ;;
	2) fail "dry run: $KIND $NAME ($doc): fields unknown to the API server, dropped: $WHY" ;;
	esac
	cp "$doc.out" "$T_TMP/obj.$KIND.$NAME.json"
	n=$((n + 1))
done
echo "e2e_deploy: $n objects dry-run from: $(echo $MANIFESTS)"

# ---- broken copies must be refused
neg() { # DESC WANT(1|2) SED-EXPR FILE
	mkdir -p "$T_TMP/neg"
	sed "$3" "$4" >"$T_TMP/neg/x.yaml"
	if cmp -s "$T_TMP/neg/x.yaml" "$4"; then
		fail "negative case '$1': the sed expression changed nothing"
		return
	fi
	apply "$T_TMP/neg/x.yaml" dry
	rc=$?
	[ $rc -eq "$2" ] && ok "refused: $1 ($WHY)" || fail "not refused as expected: $1 (result $rc, want $2: $WHY)"
}
neg "a misspelt field (readinesProbe)" 2 's/readinessProbe:/readinesProbe:/' deploy/k8s/daemonset.yaml
neg "hostPort 80000" 1 's/hostPort: 80$/hostPort: 80000/' deploy/k8s/daemonset.yaml
neg "a ClusterRole rule without verbs (verb:)" 1 's/^  verbs:/  verb:/' deploy/k8s/clusterrole.yaml
neg "apiVersion apps/v2" 1 's|^apiVersion: apps/v1|apiVersion: apps/v2|' deploy/k8s/daemonset.yaml
neg "broken YAML" 1 's/^spec:$/spec: {/' deploy/k8s/daemonset.yaml

# ---- the objects agree with each other, the image and the config
o() { jq -r "$2" "$T_TMP/obj.$1.json" 2>/dev/null; }
DS=DaemonSet.ingressd
NS=$(o $DS .metadata.namespace)
SA=$(o $DS .spec.template.spec.serviceAccountName)
CONT='.spec.template.spec.containers[0]'
[ "$(o "ServiceAccount.$SA" .metadata.namespace)" = "$NS" ] && ok "DaemonSet's service account $NS/$SA exists" ||
	fail "DaemonSet's service account $NS/$SA is not among the manifests"
[ "$(o ClusterRoleBinding.ingressd '.subjects[0] | "\(.kind) \(.namespace)/\(.name)"')" = "ServiceAccount $NS/$SA" ] &&
	[ "$(o ClusterRoleBinding.ingressd .roleRef.name)" = "$(o ClusterRole.ingressd .metadata.name)" ] &&
	ok "ClusterRoleBinding binds ClusterRole ingressd to $NS/$SA" || fail "ClusterRoleBinding subject or roleRef"
CM=$(o $DS '.spec.template.spec.volumes[] | select(.name == "config") | .configMap.name')
[ "$(o "ConfigMap.$CM" .metadata.namespace)" = "$NS" ] &&
	[ "$(o $DS "$CONT.volumeMounts[] | select(.name == \"config\") | .mountPath")" = /etc/ingressd ] &&
	ok "ConfigMap $CM is mounted at /etc/ingressd" || fail "ConfigMap $CM / mount path"
jq -j '.data["ingressd.conf"]' "$T_TMP/obj.ConfigMap.$CM.json" >"$T_TMP/cm.conf"
cmp -s "$T_TMP/cm.conf" deploy/ingressd.conf && ok "the ConfigMap holds deploy/ingressd.conf (the image's config)" ||
	fail "ConfigMap and deploy/ingressd.conf differ: $(diff "$T_TMP/cm.conf" deploy/ingressd.conf | head -n 5)"
$B -t -c "$T_TMP/cm.conf" >"$T_TMP/t.out" 2>&1 && ok "ingressd -t accepts the ConfigMap's config" ||
	fail "ingressd -t on the ConfigMap: $(cat "$T_TMP/t.out")"
SNAPF=$(sed -n 's/^ *snapshotFile = "\(.*\)"$/\1/p' "$T_TMP/cm.conf")
SNAPV=$(o $DS "$CONT.volumeMounts[] | select(.mountPath == \"$(dirname "${SNAPF:-/x/y}")\") | .name")
[ -n "$SNAPF" ] && [ "$(o $DS ".spec.template.spec.volumes[] | select(.name == \"$SNAPV\") | .emptyDir.medium")" = Memory ] &&
	ok "snapshotFile $SNAPF is on a memory-backed emptyDir" || fail "snapshotFile '$SNAPF': no emptyDir medium Memory at its directory"
grep -q '^ *address = ":80"$' "$T_TMP/cm.conf" && grep -q '^ *address = ":443"$' "$T_TMP/cm.conf" &&
	grep -q '^ *address = ":8080"$' "$T_TMP/cm.conf" && ! grep -q '^ *user *=' "$T_TMP/cm.conf" &&
	ok "config: entry points :80 and :443, admin :8080, no user" || fail "config addresses or user"
[ "$(o $DS "[$CONT.ports[] | \"\(.name):\(.containerPort):\(.hostPort // \"-\")\"] | join(\" \")")" = "http:80:80 https:443:443 admin:8080:-" ] &&
	ok "ports: 80 and 443 on the host, admin 8080 on the pod only" || fail "ports: $(o $DS "$CONT.ports")"
[ "$(o $DS "$CONT.readinessProbe.httpGet | \"\(.path) \(.port)\"")" = "/ready admin" ] &&
	[ "$(o $DS "$CONT.livenessProbe.httpGet | \"\(.path) \(.port)\"")" = "/ping admin" ] &&
	ok "probes: readiness /ready, liveness /ping on admin" || fail "probes"
[ "$(o $DS "$CONT.securityContext | [.runAsNonRoot, .runAsUser, .allowPrivilegeEscalation, .readOnlyRootFilesystem,
	.capabilities.drop, .capabilities.add] | tostring")" = '[true,65532,false,true,["ALL"],["NET_BIND_SERVICE"]]' ] &&
	ok "securityContext: non-root 65532, no privilege escalation, read-only root, only NET_BIND_SERVICE" ||
	fail "securityContext: $(o $DS "$CONT.securityContext" | tr -d ' \n')"
IC=$(o IngressClass.ingressd .metadata.name)
bad=$(jq -r 'select(.kind == "Ingress") | select(.spec.ingressClassName != "'"$IC"'") | .metadata.name' "$T_TMP"/obj.Ingress.*.json)
[ -z "$bad" ] && ok "the cheese Ingresses use IngressClass $IC" || fail "Ingresses not of class $IC: $bad"
want=$(for m in $MANIFESTS; do echo "$m"; done | sed -n 's|^deploy/k8s/||p' | sort | tr '\n' ' ')
have=$(python3 test/yaml2json.py deploy/k8s/kustomization.yaml | jq -r '.[0].resources[]' | sort | tr '\n' ' ')
[ "$want" = "$have" ] && ok "kustomization.yaml lists every manifest" || fail "kustomization.yaml lists '$have', directory has '$want'"

# ---------------------------------------------------------------- RBAC
for doc in "$D"/*/*.yaml; do
	case $(sed -n 's/^kind: //p' "$doc") in
	ServiceAccount | ClusterRole | ClusterRoleBinding)
		apply "$doc" real && ok "created $KIND $NAME" || fail "create $KIND $NAME: $WHY" ;;
	esac
done
rules=$(K "$KUBE_URL/apis/rbac.authorization.k8s.io/v1/clusterroles/ingressd" |
	jq -c '[.rules[] | {g: .apiGroups, r: .resources, v: .verbs}]')
[ "$rules" = '[{"g":["networking.k8s.io","extensions"],"r":["ingresses","ingressclasses"],"v":["get","list","watch"]},{"g":[""],"r":["services","endpoints","secrets"],"v":["get","list","watch"]},{"g":["discovery.k8s.io"],"r":["endpointslices"],"v":["get","list","watch"]},{"g":["networking.k8s.io","extensions"],"r":["ingresses/status"],"v":["patch"]}]' ] &&
	ok "ClusterRole: get/list/watch on exactly ingresses, ingressclasses, services, endpoints, secrets, endpointslices; patch on ingresses/status" ||
	fail "ClusterRole rules: $rules"
SAUSER=system:serviceaccount:$NS:$SA
AS() { K -H "Impersonate-User: $SAUSER" -H "Impersonate-Group: system:serviceaccounts" \
	-H "Impersonate-Group: system:serviceaccounts:$NS" -H "Impersonate-Group: system:authenticated" "$@"; }
status() { AS -o /dev/null -w '%{http_code}' "$@"; }
# what ingressd does, as the service account: list, watch, get
for p in /apis/networking.k8s.io/v1/ingresses /apis/networking.k8s.io/v1beta1/ingresses /apis/extensions/v1beta1/ingresses \
	/apis/networking.k8s.io/v1/ingressclasses /api/v1/services /api/v1/endpoints /api/v1/secrets \
	/apis/discovery.k8s.io/v1beta1/endpointslices; do
	l=$(status "$KUBE_URL$p")
	w=$(status "$KUBE_URL$p?watch=1&timeoutSeconds=1")
	case $p in
	*/ingressclasses) g=$(status "$KUBE_URL$p/nonexistent") ;;
	*) g=$(status "$KUBE_URL${p%/*}/namespaces/default/${p##*/}/nonexistent") ;;
	esac
	[ "$l $w $g" = "200 200 404" ] && ok "as $SA: list, watch and get $p" || fail "as $SA: $p: list $l, watch $w, get $g (want 200 200 404)"
done
c=$(status "$KUBE_URL/api/v1/namespaces/default/secrets?watch=1&timeoutSeconds=1")
[ "$c" = 200 ] && ok "as $SA: watch secrets in one namespace" || fail "as $SA: namespaced secrets watch: $c"
# and what it must not
for req in "GET /api/v1/pods" "GET /api/v1/configmaps" "GET /api/v1/namespaces" "GET /api/v1/nodes" \
	"GET /apis/apps/v1/daemonsets" "DELETE /api/v1/namespaces/default/services/x"; do
	c=$(status -X "${req% *}" "$KUBE_URL${req#* }")
	[ "$c" = 403 ] && ok "as $SA: $req: 403" || fail "as $SA: $req: $c (want 403)"
done
c=$(status -X POST -H 'Content-Type: application/json' --data '{"metadata":{"name":"x"},"stringData":{"a":"b"}}' \
	"$KUBE_URL/api/v1/namespaces/default/secrets")
[ "$c" = 403 ] && ok "as $SA: create a Secret: 403" || fail "as $SA: create a Secret: $c (want 403)"
c=$(status -X PUT -H 'Content-Type: application/json' --data '{"metadata":{"name":"x"}}' \
	"$KUBE_URL/apis/networking.k8s.io/v1/namespaces/default/ingresses/x/status")
[ "$c" = 403 ] && ok "as $SA: update Ingress status: 403" || fail "as $SA: update Ingress status: $c (want 403)"
for g in networking.k8s.io/v1 extensions/v1beta1; do
	c=$(status -X PATCH -H 'Content-Type: application/merge-patch+json' --data '{"status":{}}' \
		"$KUBE_URL/apis/$g/namespaces/default/ingresses/x/status")
	[ "$c" = 404 ] && ok "as $SA: patch Ingress status ($g): allowed (404: no such Ingress)" ||
		fail "as $SA: patch Ingress status ($g): $c (want 404)"
	c=$(status -X PATCH -H 'Content-Type: application/merge-patch+json' --data '{"metadata":{}}' \
		"$KUBE_URL/apis/$g/namespaces/default/ingresses/x")
	[ "$c" = 403 ] && ok "as $SA: patch an Ingress itself ($g): 403" || fail "as $SA: patch Ingress ($g): $c (want 403)"
done
# every verb on every resource, through SubjectAccessReviews
can() { # GROUP RESOURCE VERB [SUBRESOURCE]
	K -X POST -H 'Content-Type: application/json' "$KUBE_URL/apis/authorization.k8s.io/v1/subjectaccessreviews" --data \
		"{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SubjectAccessReview\",\"spec\":{\"user\":\"$SAUSER\",
		\"groups\":[\"system:serviceaccounts\",\"system:serviceaccounts:$NS\",\"system:authenticated\"],
		\"resourceAttributes\":{\"group\":\"$1\",\"resource\":\"$2\",\"verb\":\"$3\",\"subresource\":\"${4:-}\"}}}" |
		jq -r .status.allowed
}
matrix=""
for gr in networking.k8s.io/ingresses extensions/ingresses networking.k8s.io/ingressclasses /services /endpoints /secrets \
	discovery.k8s.io/endpointslices; do
	for v in get list watch create update patch delete deletecollection; do
		a=$(can "${gr%/*}" "${gr#*/}" $v)
		case $v in get | list | watch) w=true ;; *) w=false ;; esac
		[ "$a" = "$w" ] || matrix="$matrix $v:${gr#/}=$a"
	done
done
[ -z "$matrix" ] && ok "SubjectAccessReview: get/list/watch allowed, create/update/patch/delete/deletecollection denied, on all 7" ||
	fail "SubjectAccessReview: unexpected:$matrix"
others=""
for gr in /pods /configmaps /nodes /namespaces /serviceaccounts coordination.k8s.io/leases /events apps/daemonsets; do
	for v in get list watch create; do
		[ "$(can "${gr%/*}" "${gr#*/}" $v)" = false ] || others="$others $v:${gr#/}"
	done
done
[ "$(can networking.k8s.io ingresses update status)" = false ] || others="$others update:ingresses/status"
[ "$(can extensions ingresses update status)" = false ] || others="$others update:extensions/ingresses/status"
[ "$(can networking.k8s.io ingresses patch status)" = true ] || others="$others no-patch:ingresses/status"
[ "$(can extensions ingresses patch status)" = true ] || others="$others no-patch:extensions/ingresses/status"
[ "$(can "" services patch status)" = false ] || others="$others patch:services/status"
[ "$(can "" serviceaccounts create token)" = false ] || others="$others create:serviceaccounts/token"
[ -z "$others" ] && ok "SubjectAccessReview: nothing on pods, configmaps, nodes, namespaces, leases, events, tokens; on ingress status patch only" ||
	fail "SubjectAccessReview: allowed beyond the role:$others"

# ---------------------------------------------------------------- resources
# The DaemonSet's numbers, in bytes
qty() { # 16Mi / 192Mi / 64M -> bytes
	echo "$1" | awk '{ v = $1 + 0; u = $1; sub(/^[0-9.]+/, "", u)
		m["Ki"] = 1024; m["Mi"] = 1048576; m["Gi"] = 1073741824; m["k"] = 1000; m["M"] = 1e6; m["G"] = 1e9; m[""] = 1
		printf "%d\n", v * m[u] }'
}
REQ_MEM=$(qty "$(o $DS "$CONT.resources.requests.memory")")
LIM_MEM=$(qty "$(o $DS "$CONT.resources.limits.memory")")
REQ_CPU=$(o $DS "$CONT.resources.requests.cpu")
echo "e2e_deploy: DaemonSet resources: requests memory $REQ_MEM cpu $REQ_CPU, limits memory $LIM_MEM"

# the stand-in API server over TLS, holding the cheese example
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=fakeapi -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$T_TMP/api.key" -out "$T_TMP/api.crt" >/dev/null 2>&1
API=$(free_port)
CTL=$(free_port)
start_api --tls-cert "$T_TMP/api.crt" --tls-key "$T_TMP/api.key" --load deploy/examples/cheese.yaml
# the cheeses: busybox httpd, as in the example; ready EndpointSlices for them
for c in stilton cheddar wensleydale; do
	mkdir -p "$T_TMP/www/$c"
	echo "$c page" >"$T_TMP/www/$c/index.html"
	p=$(free_port)
	busybox httpd -f -p 127.0.0.1:$p -h "$T_TMP/www/$c" &
	at_exit "kill $!"
	eval "PORT_$c=$p"
done
wait_port $CTL || fail "fakeapi starts: $(tail -n 3 "$T_TMP/api.log")"
for c in stilton cheddar wensleydale; do
	eval "p=\$PORT_$c"
	wait_port $p
	kapply <<-EOF || fail "EndpointSlice $c"
		apiVersion: discovery.k8s.io/v1
		kind: EndpointSlice
		metadata: {name: $c-abcde, namespace: default, labels: {kubernetes.io/service-name: $c}}
		addressType: IPv4
		ports: [{name: http, port: $p}]
		endpoints:
		- addresses: ["127.0.0.1"]
		  conditions: {ready: true}
	EOF
done
HTTP=$(free_port)
WEB=$(free_port)
cat >"$T_TMP/i.conf" <<EOF
[entryPoints.http]
address = "127.0.0.1:$HTTP"
[web]
address = "127.0.0.1:$WEB"
[kubernetes]
endpoint = "https://127.0.0.1:$API"
certAuthFilePath = "$T_TMP/api.crt"
token = "measure"
EOF
chmod 600 "$T_TMP/i.conf"
LIMITS=$($B -V | sed -n 's/^limits: //p')
lim() { echo "$LIMITS" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
NBUF=$(lim ING_MAX_BUFS)
HEAD=$(lim ING_MAX_HEADER_BYTES)
NEED_FDS=$((NBUF + 600))
# (ulimit -n and -H: not in POSIX, but in dash, bash and busybox sh)
(
	ulimit -n $((NEED_FDS + 100)) 2>/dev/null
	exec $B -c "$T_TMP/i.conf"
) 2>"$T_TMP/ingressd.log" &
IPID=$!
at_exit "kill $IPID"
i=0
until curl -sf "http://127.0.0.1:$WEB/ready" >/dev/null || [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ $i -lt 100 ] && ok "ingressd ready against the stand-in API server (TLS) with the cheese example" ||
	fail "ingressd not ready: $(curl -s "http://127.0.0.1:$WEB/ready") $(tail -n 5 "$T_TMP/ingressd.log")"
sleep 0.5
rss() { awk '/^VmRSS/ { print $2 * 1024 }' /proc/$IPID/status; }
hwm() { awk '/^VmHWM/ { print $2 * 1024 }' /proc/$IPID/status; }
ticks() { awk '{ print $14 + $15 }' /proc/$IPID/stat; }
HZ=$(getconf CLK_TCK)
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1048576 }'; }
RSS0=$(rss)
c0=$(ticks)
sleep 3
IDLE=$(($(ticks) - c0))
is "$(curl -s -H 'Host: stilton.localhost' "http://127.0.0.1:$HTTP/")" "stilton page" &&
	is "$(curl -s -H 'Host: cheeses.localhost' "http://127.0.0.1:$HTTP/wensleydale/")" "wensleydale page" &&
	is "$(curl -s -H 'Host: nothing.localhost' "http://127.0.0.1:$HTTP/")" "stilton page" &&
	ok "cheese example routes: host, PathPrefixStrip, default backend" || fail "cheese example routes"
c0=$(ticks)
t0=$(date +%s%N)
pids=
for h in stilton.localhost:/ cheddar.localhost:/ wensleydale.localhost:/ cheeses.localhost:/cheddar/ other.localhost:/; do
	curl -s -o /dev/null -w '%{http_code}\n' -H "Host: ${h%%:*}" "http://127.0.0.1:$HTTP${h#*:}?[1-2000]" >"$T_TMP/codes.${h%%:*}" &
	pids="$pids $!"
done
wait $pids
ms=$((($(date +%s%N) - t0) / 1000000))
CPU=$(($(ticks) - c0))
n200=$(cat "$T_TMP"/codes.* | grep -c '^200$')
RSS1=$(rss)
HWM1=$(hwm)
[ "$n200" = 10000 ] && ok "10,000 requests through ingressd, all 200 ($ms ms)" || fail "10,000 requests: $n200 were 200"
echo "e2e_deploy: RSS after start-up $(mb $RSS0), after 10,000 requests $(mb $RSS1) (peak $(mb $HWM1));" \
	"cpu $((CPU * 1000 / HZ)) ms for 10,000 requests, $((IDLE * 1000 / HZ)) ms in 3 s idle"
# then 64 clients at once
out=$(curl -s --no-progress-meter -Z --parallel-max 64 -o /dev/null -w '%{http_code}\n' -H 'Host: stilton.localhost' \
	"http://127.0.0.1:$HTTP/?[1-3000]" | grep -c '^200$')
RSS2=$(rss)
HWM2=$(hwm)
[ "$out" = 3000 ] && ok "3,000 requests from 64 concurrent clients, all 200" || fail "64 concurrent clients: $out of 3000 were 200"
echo "e2e_deploy: after 3,000 requests from 64 concurrent clients: RSS $(mb $RSS2) (peak $(mb $HWM2))"
[ "$HWM2" -lt "$REQ_MEM" ] && ok "peak RSS $(mb $HWM2) is under requests.memory $(mb $REQ_MEM)" ||
	fail "peak RSS $(mb $HWM2) is over requests.memory $(mb $REQ_MEM)"
# requests.cpu in millicores vs idle use over 3 s
m=$(echo "$REQ_CPU" | sed -n 's/^\([0-9]*\)m$/\1/p')
[ -n "$m" ] && [ $((IDLE * 1000 * 1000 / HZ / 3)) -le "$m" ] && ok "idle cpu under requests.cpu $REQ_CPU" ||
	fail "idle cpu $((IDLE * 1000 / HZ)) ms in 3 s vs requests.cpu $REQ_CPU"
# every I/O buffer taken: ING_MAX_BUFS + 500 clients each holding an
# unfinished request head just under ING_MAX_HEADER_BYTES
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt $((NEED_FDS + 100)) ]; then
	echo "e2e_deploy: worst case not measured: needs $NEED_FDS file descriptors, hard limit $(ulimit -Hn)"
else
	python3 - "$HTTP" $((NBUF + 500)) $((HEAD - 200)) "$IPID" "$NEED_FDS" >"$T_TMP/flood.out" 2>&1 <<-'EOF'
		import resource, socket, sys, time
		port, n, size, pid, fds = (int(a) for a in sys.argv[1:6])
		resource.setrlimit(resource.RLIMIT_NOFILE, (fds + 100, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
		head = b"GET / HTTP/1.1\r\nHost: stilton.localhost\r\nX-Pad: " + b"a" * size
		socks = []
		for _ in range(n):
		    s = socket.create_connection(("127.0.0.1", port))
		    s.sendall(head)
		    socks.append(s)
		time.sleep(2)
		print(len(socks))
	EOF
	RSS3=$(rss)
	HWM3=$(hwm)
	hits=$(curl -s "http://127.0.0.1:$WEB/metrics" | sed -n 's/^ingressd_limit_hits_total{limit="ING_MAX_BUFS"} //p')
	echo "e2e_deploy: $((NBUF + 500)) clients holding $((HEAD - 200))-byte heads: RSS $(mb $RSS3) (peak $(mb $HWM3))," \
		"ING_MAX_BUFS hits ${hits:-?}"
	[ "${hits:-0}" -gt 0 ] && ok "the buffer pool ran out (ING_MAX_BUFS counted in /metrics)" ||
		fail "the buffer pool did not run out: $(cat "$T_TMP/flood.out" | tail -n 2)"
	[ "$HWM3" -lt "$LIM_MEM" ] && ok "worst-case RSS $(mb $HWM3) is under limits.memory $(mb $LIM_MEM)" ||
		fail "worst-case RSS $(mb $HWM3) is over limits.memory $(mb $LIM_MEM): the kernel would OOM-kill ingressd"
	is "$(curl -s -H 'Host: stilton.localhost' "http://127.0.0.1:$HTTP/")" "stilton page" &&
		ok "serving again once the flood is gone" || fail "not serving after the flood"
fi
kill -TERM $IPID
wait $IPID
rc=$?
[ $rc -eq 0 ] && ok "SIGTERM: exit 0" || fail "ingressd exit $rc: $(tail -n 5 "$T_TMP/ingressd.log")"
finish
