#!/bin/sh
# test/e2e_resolver.sh - port/posix.c's DNS stub resolver against a real
# DNS exchange: test/dnsd.py answers on 127.53.X.Y:53 (a random address)
# and, when it is free, [::1]:53. First the resolver alone
# (build/test/resolve, given its hosts and resolv.conf files): the search
# list with ndots (Kubernetes' ndots:5), an absolute name, NXDOMAIN and no
# data moving on to the next name, a timeout ending the search, AAAA and
# both families, a CNAME chain, /etc/hosts first, decoy replies from
# another port, with another ID or for another question ignored, truncated
# answers, SERVFAIL and REFUSED, a malformed record, numeric addresses and
# bad names without a query, a dead first nameserver, an IPv6 nameserver;
# port_resolve itself in a mount namespace (the real /etc paths, 8
# addresses at most). Then ingressd (the dynamic build, same resolver) in
# a mount namespace with its own /etc/resolv.conf and /etc/hosts:
# ExternalName Services named short, by a namespaced name and through
# /etc/hosts reach their pods, and the API server named by a host name
# resolved through the search list serves the watch. Needs root (port 53,
# the namespace). About 15 s.
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
if [ "$(id -u)" -ne 0 ]; then
	echo "e2e_resolver: skipped (needs root: port 53 and a mount namespace)"
	echo "e2e_resolver: 0 passed, 0 failed"
	exit 0
fi
suite e2e_resolver
R=$(realpath build/test/resolve)
BIN=$(realpath "${1:-./ingressd}")
[ -x "$R" ] || abort "build/test/resolve missing (make build/test/resolve)"
rnd() { od -An -N1 -tu1 /dev/urandom | tr -d ' '; }
NS=127.53.$(rnd).$(($(rnd) % 250 + 2))
DEAD=${NS%.*}.$((${NS##*.} + 1)) # nothing listens there
QLOG=$T_TMP/queries

cat >"$T_TMP/zone" <<'EOF'
web.ns1.svc.cluster.local A 127.0.0.10
db.other.svc.cluster.local A 127.0.0.11
x.example.ns1.svc.cluster.local A 127.0.0.12
quiet.ns1.svc.cluster.local silent
quiet.svc.cluster.local A 127.0.0.13
alias.example CNAME mid.example
mid.example CNAME target.example
target.example A 127.0.0.31
target.example A 127.0.0.32
six.example AAAA fd00::6
dual.example AAAA ::1
dual.example A 127.0.0.21
hosted.example A 127.0.0.78
decoy.example A 127.0.0.41
decoy.example decoy
tc.example A 127.0.0.51
tc.example A 127.0.0.52
tc.example tc
tccut.example A 127.0.0.61
tccut.example A 127.0.0.62
tccut.example tccut
fail.example servfail
refused.example refused
upper.example A 127.0.0.71
upper.example upper
badlen.example A 127.0.0.81
badlen.example badlen
empty.ns1.svc.cluster.local TXT no address here
empty.svc.cluster.local A 127.0.0.91
slow.example A 127.0.0.92
slow.example slow
mapped.example A 127.0.0.33
mapped.example v4only
kubernetes.default.svc.cluster.local A 127.0.0.1
db.other2.svc.cluster.local A 127.0.0.2
web.t.svc.cluster.local A 127.0.0.4
EOF
i=1
while [ $i -le 40 ]; do # 40 records: 652 bytes, cut at 512
	echo "many.example A 127.0.1.$i" >>"$T_TMP/zone"
	i=$((i + 1))
done
python3 test/dnsd.py --listen "$NS" --zone "$T_TMP/zone" --log "$QLOG" >"$T_TMP/dnsd.log" 2>&1 &
at_exit "kill $!"
V6=0
python3 test/dnsd.py --listen ::1 --zone "$T_TMP/zone" --log "$T_TMP/queries6" >"$T_TMP/dnsd6.log" 2>&1 &
at_exit "kill $!"
i=0
while [ $i -lt 50 ] && ! grep -q serving "$T_TMP/dnsd.log"; do
	sleep 0.1
	i=$((i + 1))
done
grep -q serving "$T_TMP/dnsd.log" || abort "dnsd starts on $NS:53" "$T_TMP/dnsd.log"
grep -q serving "$T_TMP/dnsd6.log" && V6=1

H=$T_TMP/hosts
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost\n127.0.0.77 Hosted.Example other # a comment\n' >"$H"
K8S=$T_TMP/k8s.conf # as in a pod
printf '# a pod'"'"'s\nnameserver %s\nsearch ns1.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5 timeout:1 attempts:2\n' \
	"$NS" >"$K8S"

# res CONF NAME: the resolver's line for NAME without its time
res() { "$R" "$H" "$1" "$2" | sed 's/ \[[0-9]* ms\]$//'; }
# expect DESC CONF NAME ANSWER: the line is "NAME: ANSWER"
expect() {
	: >"$QLOG"
	got=$(res "$2" "$3")
	is "$got" "$3: $4" && ok "$1" || fail "$1: got '$got', want '$3: $4'"
}
# asked DESC NAMES: the names asked for since expect (A queries, in order, a
# retry counted once)
asked() {
	got=$(sed -n 's/ A$//p' "$QLOG" | uniq | tr '\n' ' ' | sed 's/ $//')
	is "$got" "$2" && ok "$1" || fail "$1: asked '$got', want '$2'"
}

expect "a short name: the first search domain" "$K8S" web 127.0.0.10
asked "... asked once" web.ns1.svc.cluster.local
expect "ndots:5: a 4-dot name after the search domains" "$K8S" db.other.svc.cluster.local 127.0.0.11
asked "... NXDOMAIN for each domain, then the name itself" "db.other.svc.cluster.local.ns1.svc.cluster.local \
db.other.svc.cluster.local.svc.cluster.local db.other.svc.cluster.local.cluster.local db.other.svc.cluster.local"
grep -q '^db.other.svc.cluster.local AAAA$' "$QLOG" && ok "... A and AAAA asked for each" || fail "no AAAA query"
expect "a namespaced short name: the second search domain" "$K8S" db.other 127.0.0.11
asked "... after NXDOMAIN for the first" "db.other.ns1.svc.cluster.local db.other.svc.cluster.local"
expect "an absolute name that does not exist" "$K8S" nx.example. "error: no such host"
asked "... is not searched" nx.example
expect "a relative one: every name tried" "$K8S" nx "error: no such host"
asked "... in order" "nx.ns1.svc.cluster.local nx.svc.cluster.local nx.cluster.local nx"
expect "no data for one name: the next one (as glibc)" "$K8S" empty 127.0.0.91
expect "a timeout ends the search (as musl)" "$K8S" quiet "error: DNS server timeout (asking for quiet.ns1.svc.cluster.local)"
asked "... no other name asked" quiet.ns1.svc.cluster.local
printf 'nameserver %s\nsearch ns1.svc.cluster.local\n' "$NS" >"$T_TMP/ndots1.conf"
expect "ndots:1: a dotted name as it is first, then searched" "$T_TMP/ndots1.conf" x.example 127.0.0.12
asked "... in that order" "x.example x.example.ns1.svc.cluster.local"
expect "a CNAME chain in one answer" "$K8S" alias.example. "127.0.0.31 127.0.0.32"
expect "AAAA only" "$K8S" six.example. fd00::6
expect "both families: IPv4 first" "$K8S" dual.example. "127.0.0.21 ::1"
expect "/etc/hosts first, case-insensitive" "$K8S" HOSTED.example. 127.0.0.77
asked "... no query" ""
expect "/etc/hosts: both families of localhost" "$K8S" localhost "127.0.0.1 ::1"
expect "decoys from another port, with another ID, for another question: ignored" "$K8S" decoy.example. 127.0.0.41
expect "a truncated answer: its records" "$K8S" tc.example. "127.0.0.51 127.0.0.52"
expect "a truncated answer cut inside a record: the whole ones" "$K8S" tccut.example. 127.0.0.61
expect "an answer over 512 bytes: as truncated, 8 addresses kept" "$K8S" many.example. \
	"127.0.1.1 127.0.1.2 127.0.1.3 127.0.1.4 127.0.1.5 127.0.1.6 127.0.1.7 127.0.1.8"
expect "the question echoed in upper case" "$K8S" upper.example. 127.0.0.71
expect "SERVFAIL" "$K8S" fail.example. "error: DNS server failure (SERVFAIL for fail.example)"
expect "REFUSED" "$K8S" refused.example. "error: DNS server failure (REFUSED for refused.example)"
expect "a record of the wrong length: the answer is ignored" "$K8S" badlen.example. \
	"error: DNS server timeout (asking for badlen.example)"
expect "an IPv4 address: no query" "$K8S" 127.0.0.5 127.0.0.5
asked "..." ""
expect "an IPv6 address" "$K8S" fd00::1:2 fd00::1:2
expect "an empty label" "$K8S" a..b "error: not a valid host name"
L63=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
expect "a 64-character label" "$K8S" "${L63}a.example" "error: not a valid host name"
expect "a 254-character name" "$K8S" "$L63.$L63.$L63.${L63%a}" "error: not a valid host name"
expect "a 253-character name is asked for" "$K8S" "$L63.$L63.$L63.${L63%aa}." "error: no such host"
expect "a blank in a name" "$K8S" "a b" "error: not a valid host name"
printf 'nameserver %s\nnameserver %s\noptions timeout:5\n' "$DEAD" "$NS" >"$T_TMP/two.conf"
: >"$QLOG"
out=$("$R" "$H" "$T_TMP/two.conf" slow.example.)
has "$out" ': 127.0.0.92 \[' && ok "a dead first nameserver: the second answers" || fail "two nameservers: $out"
ms=$(echo "$out" | sed -n 's/.*\[\([0-9]*\) ms\]$/\1/p')
[ "${ms:-9999}" -lt 1500 ] && ok "... asked at once ($ms ms)" || fail "two nameservers took $ms ms"
printf 'nameserver 127.0.0.1\nsearch a. b..c . ns1.svc.cluster.local\noptions ndots:9 attempts:0 timeout:0 rotate\n' >"$T_TMP/odd.conf"
sed -i "s/^nameserver 127.0.0.1/nameserver $NS/" "$T_TMP/odd.conf"
expect "odd search domains are skipped (attempts:0, timeout:0 clamped)" "$T_TMP/odd.conf" web 127.0.0.10
head -c 3000 /dev/urandom >"$T_TMP/garbage"
out=$("$R" "$T_TMP/garbage" "$T_TMP/garbage" 127.0.0.9 2>&1; "$R" "$T_TMP/garbage" "$K8S" web 2>&1)
has "$out" "web: 127.0.0.10" && has "$out" "127.0.0.9: 127.0.0.9" && ok "garbage hosts files are read safely" ||
	fail "garbage: $out"
if [ $V6 -eq 1 ]; then
	printf 'nameserver ::1\n' >"$T_TMP/v6.conf"
	expect "an IPv6 nameserver" "$T_TMP/v6.conf" six.example. fd00::6
	printf 'nameserver ::1\nnameserver %s\noptions timeout:5\n' "$NS" >"$T_TMP/mixed.conf"
	: >"$QLOG"
	out=$("$R" "$H" "$T_TMP/mixed.conf" mapped.example.)
	ms=$(echo "$out" | sed -n 's/.*\[\([0-9]*\) ms\]$/\1/p')
	has "$out" ': 127.0.0.33 \[' && [ "${ms:-9999}" -lt 1500 ] &&
		ok "IPv6 and IPv4 nameservers on one socket: the IPv4 one's answer (as ::ffff:$NS) taken" ||
		fail "mixed nameservers: $out"
else
	echo "e2e_resolver: [::1]:53 taken: the IPv6 nameserver checks skipped"
fi
# port_resolve itself: /etc/hosts and /etc/resolv.conf, at most 8
cat >"$T_TMP/ns-resolve" <<EOF
#!/bin/sh
mount --bind "$K8S" /etc/resolv.conf && mount --bind "$H" /etc/hosts || exit 1
exec "$R" - - many.example. other web nx.example.
EOF
chmod +x "$T_TMP/ns-resolve"
out=$(unshare -m "$T_TMP/ns-resolve" | sed 's/ \[[0-9]* ms\]$//')
has "$out" "many.example.: 127.0.1.1 127.0.1.2 127.0.1.3 127.0.1.4 127.0.1.5 127.0.1.6 127.0.1.7 127.0.1.8$" &&
	ok "port_resolve: 8 addresses at most" || fail "port_resolve: $out"
has "$out" "other: 127.0.0.77$" && has "$out" "web: 127.0.0.10$" && ok "port_resolve: /etc/hosts, /etc/resolv.conf" ||
	fail "port_resolve: $out"
has "$out" "nx.example.: error: resolve nx.example.: no such host$" && ok "port_resolve: the error names the host" ||
	fail "port_resolve: $out"

# ---- ingressd: ExternalName Services and the API server by name
API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
WEB=$(free_port)
P1=$(free_port)
start_api
backend 127.0.0.2:$P1 b2
backend 127.0.0.3:$P1 b3
backend 127.0.0.4:$P1 b4
wait_port $API && wait_port $CTL && wait_port $P1 127.0.0.2 && wait_port $P1 127.0.0.3 && wait_port $P1 127.0.0.4 ||
	abort "helpers did not start"
printf 'nameserver %s\nsearch t.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5 timeout:2\n' \
	"$NS" >"$T_TMP/pod.conf"
printf '127.0.0.1 localhost\n127.0.0.3 pinned.example\n' >"$T_TMP/pod.hosts"
cat >"$T_TMP/ns-ingressd" <<EOF
#!/bin/sh
mount --bind "$T_TMP/pod.conf" /etc/resolv.conf && mount --bind "$T_TMP/pod.hosts" /etc/hosts || exit 1
exec "$BIN" "\$@"
EOF
chmod +x "$T_TMP/ns-ingressd"
B="unshare -m $T_TMP/ns-ingressd"
cat >"$T_TMP/i.conf" <<EOF
[entryPoints.http]
address = "127.0.0.1:$HTTP"
[web]
address = "127.0.0.1:$WEB"
[kubernetes]
endpoint = "http://kubernetes.default:$API"
throttleDuration = "20ms"
EOF
namespace t
for s in "ext-db db.other2" "ext-web web" "ext-pinned pinned.example"; do
	set -- $s
	kapply <<EOF
apiVersion: v1
kind: Service
metadata: {name: $1, namespace: t}
spec: {type: ExternalName, externalName: $2, ports: [{port: $P1}]}
EOF
done
kapply <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ext, namespace: t}
spec:
  rules:
  - host: db.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: ext-db, port: {number: $P1}}}}]}
  - host: web.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: ext-web, port: {number: $P1}}}}]}
  - host: pinned.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: ext-pinned, port: {number: $P1}}}}]}
EOF
: >"$QLOG"
start_ingressd
WAIT=100 ready "the API server by name (kubernetes.default, through the search list): ready"
grep -q '^kubernetes.default.svc.cluster.local A$' "$QLOG" && ok "... asked as kubernetes.default.svc.cluster.local" ||
	fail "API server's name not asked through the search list"
WAIT=100 eventually "ExternalName db.other2 (the second search domain) reaches its pod" \
	sh -c "curl -s --max-time 1 -H 'Host: db.test' http://127.0.0.1:$HTTP/x | grep -q '^b2 /x'"
WAIT=100 eventually "ExternalName web (the first search domain)" \
	sh -c "curl -s --max-time 1 -H 'Host: web.test' http://127.0.0.1:$HTTP/y | grep -q '^b4 /y'"
WAIT=100 eventually "ExternalName pinned.example (/etc/hosts)" \
	sh -c "curl -s --max-time 1 -H 'Host: pinned.test' http://127.0.0.1:$HTTP/z | grep -q '^b3 /z'"
grep -q '^pinned.example' "$QLOG" && fail "pinned.example went to DNS" || ok "... without a DNS query"
grep -q 'rb: resolving' "$T_TMP/ingressd.log" && fail "a resolve error: $(grep 'rb: resolving' "$T_TMP/ingressd.log")" ||
	ok "no resolve error logged"
finish
