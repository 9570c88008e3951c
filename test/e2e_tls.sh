#!/bin/sh
# test/e2e_tls.sh [BINARY] - HTTPS termination end to end, with real curl
# and openssl against certificates openssl makes here: SNI (exact,
# wildcard, none), RSA and ECDSA keys in PKCS#1, SEC1 and PKCS#8 form, a
# chain with an intermediate, every bad-Secret case, a Secret rotated
# while a keep-alive connection stays up, protocol and cipher checks,
# forwarded headers, Secure cookies, ssl-redirect. Run once per TLS port
# (make test passes the mbedTLS build as BINARY too).
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
B=${1:-./ingressd}
NAME=e2e_tls
[ -n "$1" ] && NAME=e2e_tls_$(basename "$(dirname "$1")")
suite "$NAME"
EVENTUALLY_WAIT=60 # eventually waits up to 6 s by default here (lib.sh)
[ -x "$B" ] || abort "no binary $B"

API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
HTTPS=$(free_port)
STRICT=$(free_port)
WEB=$(free_port)
P1=$(free_port)
start_api
backend 127.0.0.1:$P1 b1
wait_port $API && wait_port $CTL && wait_port $P1 || abort "helpers did not start"

# ---- certificates
D=$T_TMP/pki
mkdir -p "$D"
(
	cd "$D" || exit 1
	ssl() { openssl "$@" >/dev/null 2>&1 || echo "openssl $1 failed" >&2; }
	ssl req -x509 -newkey rsa:2048 -nodes -days 30 -keyout ca.key -out ca.crt -subj /CN=test-ca \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
	# leaf NAME KEYTYPE DAYS SAN [ISSUER]
	leaf() {
		n=$1
		case $2 in
		rsa) ssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$n.p8" ;;
		p256) ssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$n.p8" ;;
		p384) ssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$n.p8" ;;
		esac
		ssl req -new -key "$n.p8" -out "$n.csr" -subj "/CN=$n"
		printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$4" >"$n.ext"
		iss=${5:-ca}
		if [ "$3" = expired ]; then
			ssl x509 -req -in "$n.csr" -CA "$iss.crt" -CAkey "$iss.key" -CAcreateserial -out "$n.crt" -extfile "$n.ext" \
				-not_before 20200101000000Z -not_after 20200201000000Z
			[ -s "$n.crt" ] || ssl ca -batch -selfsign -in "$n.csr" -keyfile "$n.p8" -out "$n.crt" -startdate 20200101000000Z -enddate 20200201000000Z
		else
			ssl x509 -req -in "$n.csr" -CA "$iss.crt" -CAkey "$iss.key" -CAcreateserial -days "$3" -out "$n.crt" -extfile "$n.ext"
		fi
	}
	leaf a.test rsa 10 DNS:a.test
	leaf a2.test rsa 10 DNS:a.test           # the rotated certificate of a.test
	leaf b.test p256 10 DNS:b.test
	leaf wild p384 10 'DNS:*.w.test'
	leaf default p256 10 DNS:default.test
	leaf other.test rsa 10 DNS:other.test
	# an intermediate CA and a leaf under it
	ssl req -new -newkey rsa:2048 -nodes -keyout inter.key -out inter.csr -subj /CN=test-intermediate
	printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >inter.ext
	ssl x509 -req -in inter.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 10 -out inter.crt -extfile inter.ext
	leaf chain.test p256 10 DNS:chain.test inter
	cat chain.test.crt inter.crt >chain.test.full
	# key forms: PKCS#1 for RSA, SEC1 for EC, PKCS#8 as made
	ssl rsa -in a.test.p8 -traditional -out a.test.key
	ssl rsa -in a2.test.p8 -traditional -out a2.test.key
	ssl ec -in b.test.p8 -out b.test.key
	cp wild.p8 wild.key
	cp chain.test.p8 chain.test.key
	cp default.p8 default.key
	# bad cases
	printf 'not a certificate\n' >garbage.crt
	openssl x509 -in a.test.crt 2>/dev/null | head -c 300 >truncated.crt
) 2>"$T_TMP/pki.log"
# the expired one: openssl 3's x509 has -not_before/-not_after; faketime is not needed
(
	cd "$D" || exit 1
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out exp.key 2>/dev/null
	openssl req -new -key exp.key -out exp.csr -subj /CN=exp.test 2>/dev/null
	printf '[ca]\ndefault_ca=c\n[c]\ndatabase=db\nnew_certs_dir=.\nserial=ser\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n[x]\nsubjectAltName=DNS:exp.test\n' >ca.cnf
	: >db
	echo 01 >ser
	openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in exp.csr -out exp.crt -extensions x \
		-startdate 20200101000000Z -enddate 20200201000000Z >/dev/null 2>&1
)
[ -s "$D/exp.crt" ] && ok "test certificates made" || fail "could not make the expired certificate: $(cat "$T_TMP/pki.log")"

# tls_secret NAME CRT KEY [NS]
tls_secret() {
	kapply <<EOF
apiVersion: v1
kind: Secret
metadata: {name: $1, namespace: ${4:-t}}
type: kubernetes.io/tls
data:
  tls.crt: $(base64 -w0 <"$2")
  tls.key: $(base64 -w0 <"$3")
EOF
}
# tls_ingress NAME HOST SECRET [NS] [ANNOTATIONS]
tls_ingress() {
	kapply <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: $1, namespace: ${4:-t}, annotations: ${5:-{\}}}
spec:
  tls:
  - hosts: ["$2"]
    secretName: $3
  rules:
  - host: "$2"
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: s1, port: {number: 80}}}}
EOF
}

for ns in t u; do
	kapply <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: $ns}
---
apiVersion: v1
kind: Service
metadata: {name: s1, namespace: $ns, annotations: {traefik.backend.loadbalancer.sticky: "true"}}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s1-a, namespace: $ns, labels: {kubernetes.io/service-name: s1}}
addressType: IPv4
ports: [{name: http, port: $P1}]
endpoints:
- addresses: ["127.0.0.1"]
EOF
done
tls_secret a-tls "$D/a.test.crt" "$D/a.test.key"
tls_secret b-tls "$D/b.test.crt" "$D/b.test.key"
tls_secret wild-tls "$D/wild.crt" "$D/wild.key"
tls_secret chain-tls "$D/chain.test.full" "$D/chain.test.key"
tls_secret mismatch-tls "$D/a.test.crt" "$D/b.test.key"
tls_secret garbage-tls "$D/garbage.crt" "$D/a.test.key"
tls_secret truncated-tls "$D/truncated.crt" "$D/a.test.key"
tls_secret exp-tls "$D/exp.crt" "$D/exp.key"
tls_secret steal-tls "$D/other.test.crt" "$D/other.test.p8" u
tls_ingress a a.test a-tls t '{ingress.kubernetes.io/ssl-redirect: "true"}'
tls_ingress b b.test b-tls
tls_ingress w "*.w.test" wild-tls
tls_ingress chain chain.test chain-tls
tls_ingress mismatch mismatch.test mismatch-tls
tls_ingress garbage garbage.test garbage-tls
tls_ingress truncated truncated.test truncated-tls
tls_ingress exp exp.test exp-tls
tls_ingress missing missing.test no-such-secret
# another namespace listing a.test with its own certificate: the older one
# in t keeps a.test (and a Secret of t is never read for u)
sleep 1.1
tls_ingress steal a.test steal-tls u

cat >"$T_TMP/i.conf" <<EOF
[entryPoints.http]
address = "127.0.0.1:$HTTP"
[entryPoints.https]
address = "127.0.0.1:$HTTPS"
  [entryPoints.https.tls]
  certFile = "$D/default.crt"
  keyFile = "$D/default.key"
[entryPoints.strict]
address = "127.0.0.1:$STRICT"
  [entryPoints.strict.tls]
  sniStrict = true
  minVersion = "VersionTLS12"
  [entryPoints.strict.tls.defaultCertificate]
  certFile = "$D/default.crt"
  keyFile = "$D/default.key"
[web]
address = "127.0.0.1:$WEB"
[kubernetes]
endpoint = "http://127.0.0.1:$API"
throttleDuration = "20ms"
EOF
start_ingressd
wait_port $HTTPS
ready

get() { # HOST PATH [curl args]
	h=$1
	p=$2
	shift 2
	curl -s --cacert "$D/ca.crt" --resolve "$h:$HTTPS:127.0.0.1" "$@" "https://$h:$HTTPS$p"
}
subject() { # SNI-or-"" -> the CN of the certificate served
	if [ -n "$1" ]; then sn="-servername $1"; else sn="-noservername"; fi
	# shellcheck disable=SC2086
	echo | openssl s_client -connect 127.0.0.1:$HTTPS $sn 2>/dev/null | openssl x509 -noout -subject 2>/dev/null |
		sed 's/.*CN *= *//'
}
eventually "HTTPS with the Secret's RSA certificate (PKCS#1 key)" sh -c "curl -s --cacert $D/ca.crt --resolve a.test:$HTTPS:127.0.0.1 https://a.test:$HTTPS/x | grep -q '^b1 /x'"
is "$(get b.test /y)" "b1 /y" && ok "ECDSA P-256 certificate (SEC1 key)" || fail "ECDSA"
is "$(get x.w.test /z)" "b1 /z" && ok "wildcard P-384 certificate (PKCS#8 key)" || fail "wildcard"
is "$(get chain.test /c)" "b1 /c" && ok "a chain with an intermediate" || fail "chain"
is "$(subject a.test)" a.test && ok "SNI a.test: its certificate" || fail "SNI a.test: $(subject a.test)"
is "$(subject y.w.test)" wild && ok "SNI x.w.test: the wildcard" || fail "wildcard SNI"
is "$(subject a.b.w.test)" default && ok "wildcard covers one label only: default" || fail "two labels"
is "$(subject unknown.test)" default && ok "unknown SNI: the default certificate" || fail "unknown SNI: $(subject unknown.test)"
is "$(subject "")" default && ok "no SNI: the default certificate" || fail "no SNI"
is "$(subject a.test)" a.test && ok "another namespace cannot take a.test (oldest wins)" || fail "namespace steal"
for bad in mismatch garbage truncated exp missing; do
	is "$(subject $bad.test)" default && ok "bad Secret ($bad): default certificate" || fail "bad Secret $bad"
done
eventually "key mismatch logged" grep -q 'TLS Secret mismatch-tls: .*' "$T_TMP/ingressd.log"
grep -q 'TLS Secret exp-tls: certificate expired' "$T_TMP/ingressd.log" && ok "expired certificate logged" || fail "expired log"
eventually "missing Secret logged" grep -q 'TLS Secret no-such-secret: Secret not found' "$T_TMP/ingressd.log"
is "$(curl -s -H 'Host: exp.test' http://127.0.0.1:$HTTP/h)" "b1 /h" && ok "HTTP routes of an Ingress with a bad TLS Secret work" ||
	fail "HTTP of bad-secret Ingress"

# ---- tls.sniStrict: no certificate for the name, no handshake (the
# default certificate is not a fallback there)
strict() { echo | openssl s_client -connect 127.0.0.1:$STRICT "$@" 2>/dev/null | openssl x509 -noout -subject 2>/dev/null | sed 's/.*CN *= *//'; }
is "$(strict -servername a.test)" a.test && ok "sniStrict: a known name gets its certificate" || fail "sniStrict known"
is "$(strict -servername unknown.test)" "" && ok "sniStrict: an unknown name gets no handshake" || fail "sniStrict unknown"
is "$(strict -noservername)" "" && ok "sniStrict: no name, no handshake" || fail "sniStrict no SNI"

# ---- protocol and ciphers
ossl() { echo | openssl s_client -connect 127.0.0.1:$HTTPS -servername a.test "$@" >/dev/null 2>&1; }
ossl -tls1_2 && ok "TLS 1.2" || fail "TLS 1.2"
ossl -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' && fail "TLS 1.1 accepted" || ok "TLS 1.1 refused"
ossl -tls1 -cipher 'DEFAULT@SECLEVEL=0' && fail "TLS 1.0 accepted" || ok "TLS 1.0 refused"
ossl -tls1_2 -cipher AES128-SHA && fail "CBC + RSA key exchange accepted" || ok "CBC/RSA-kx refused"
ossl -tls1_2 -cipher ECDHE-RSA-AES128-SHA256 && fail "CBC accepted" || ok "ECDHE CBC refused"
ossl -tls1_2 -cipher DES-CBC3-SHA && fail "3DES accepted" || ok "3DES refused"
ossl -tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384 && ok "ECDHE-RSA-AES256-GCM" || fail "AES256-GCM"
ossl -tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305 && ok "ECDHE-RSA-CHACHA20-POLY1305" || fail "ChaCha20"
echo | openssl s_client -connect 127.0.0.1:$HTTPS -servername a.test -tls1_2 -sess_out "$T_TMP/sess" >/dev/null 2>&1
echo | openssl s_client -connect 127.0.0.1:$HTTPS -servername a.test -tls1_2 -sess_in "$T_TMP/sess" 2>/dev/null | grep -q '^Reused' &&
	ok "session resumption" || fail "session resumption"

# ---- headers, cookies, redirects
e=$(get a.test /echo)
echo "$e" | grep -q '^X-Forwarded-Proto: https' && ok "X-Forwarded-Proto: https" || fail "XFP https"
echo "$e" | grep -q "^X-Forwarded-Port: $HTTPS" && ok "X-Forwarded-Port" || fail "XF-Port"
get a.test / -D - -o /dev/null | tr -d '\r' | grep -q '^Set-Cookie: _TRAEFIK_BACKEND=.*; HttpOnly; Secure$' &&
	ok "sticky cookie Secure over HTTPS" || fail "Secure cookie"
curl -s -D - -o /dev/null -H 'Host: b.test' http://127.0.0.1:$HTTP/ | tr -d '\r' | grep -q '^Set-Cookie: .*HttpOnly$' &&
	ok "... and not Secure over HTTP" || fail "cookie over http"
loc=$(curl -s -D - -o /dev/null -H 'Host: a.test' "http://127.0.0.1:$HTTP/p?q=1" | tr -d '\r' | grep '^Location:')
is "$loc" "Location: https://a.test:$HTTPS/p?q=1" && ok "ssl-redirect: 301 to HTTPS" || fail "ssl-redirect ($loc)"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: a.test' http://127.0.0.1:$HTTP/p)" 301 && ok "ssl-redirect status 301" ||
	fail "301"
is "$(curl -s -H 'Host: b.test' http://127.0.0.1:$HTTP/p)" "b1 /p" && ok "no ssl-redirect without the annotation" ||
	fail "plain http"

# ---- rotation while a keep-alive connection stays up
python3 - "$HTTPS" "$D/ca.crt" "$T_TMP/rot" >"$T_TMP/rot.out" 2>&1 <<'EOF' &
import socket, ssl, sys, time
port, ca, flag = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="a.test")
def req(p):
    s.sendall(("GET %s HTTP/1.1\r\nHost: a.test\r\n\r\n" % p).encode())
    d = b""
    while b"\r\n\r\n" not in d:
        d += s.recv(4096)
    head, body = d.split(b"\r\n\r\n", 1)
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < n:
        body += s.recv(4096)
    return body.decode().strip()
cn = s.getpeercert()["subject"][0][0][1]
ok = req("/k1") == "b1 /k1"
open(flag, "w").write("1")
for _ in range(100):  # until the test has rotated the Secret
    time.sleep(0.1)
    try:
        if open(flag).read() == "2":
            break
    except OSError:
        pass
ok = ok and req("/k2") == "b1 /k2"
print("kept", cn, "ok" if ok else "broken")
EOF
RP=$!
eventually "keep-alive TLS connection open" sh -c "test -f $T_TMP/rot"
tls_secret a-tls "$D/a2.test.crt" "$D/a2.test.key"
eventually "rotated certificate served to new connections" sh -c "echo | openssl s_client -connect 127.0.0.1:$HTTPS -servername a.test 2>/dev/null | openssl x509 -noout -subject | grep -q a2.test"
echo 2 >"$T_TMP/rot"
wait $RP
is "$(cat "$T_TMP/rot.out")" "kept a.test ok" && ok "the established connection kept working across the rotation" ||
	fail "rotation broke the connection: $(cat "$T_TMP/rot.out")"

# ---- metrics
curl -s http://127.0.0.1:$WEB/metrics | grep -q '^ingressd_tls_sessions ' && ok "TLS sessions gauge" || fail "tls metric"
kill -TERM $IPID
wait $IPID
is $? 0 && ok "SIGTERM: exit 0" || fail "exit"
grep -E 'AddressSanitizer|runtime error' "$T_TMP/ingressd.log" | head -3
finish
