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
MTLS=$(free_port)
MTLSOPT=$(free_port)
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
# client certificates: a client CA, and another CA nobody configured
(
	cd "$D" || exit 1
	ssl() { openssl "$@" >/dev/null 2>&1 || echo "openssl $1 failed" >&2; }
	for ca in cca wca; do
		ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -keyout $ca.key -out $ca.crt \
			-subj "/CN=$ca" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
	done
	# client NAME KEYTYPE ISSUER EKU-LINE [expired]
	client() {
		if [ "$2" = rsa ]; then ssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key"; else
			ssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; fi
		ssl req -new -key "$1.key" -out "$1.csr" -subj "/C=FR/O=Cheese/CN=$1"
		printf '[ca]\ndefault_ca=c\n[c]\ndatabase=%s.db\nnew_certs_dir=.\nserial=%s.ser\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncountryName=optional\norganizationName=optional\ncommonName=supplied\n[x]\nbasicConstraints=CA:FALSE\nsubjectAltName=DNS:%s.client,email:%s@cheese.test\n%s\n' \
			"$1" "$1" "$1" "$1" "$4" >"$1.cnf"
		: >"$1.db"
		echo 01 >"$1.ser"
		if [ "$5" = expired ]; then dates="-startdate 20200101000000Z -enddate 20200201000000Z"; else dates="-days 5"; fi
		# shellcheck disable=SC2086
		ssl ca -batch -config "$1.cnf" -cert "$3.crt" -keyfile "$3.key" -in "$1.csr" -out "$1.crt" -extensions x $dates
	}
	client c-good p256 cca extendedKeyUsage=clientAuth
	client c-rsa rsa cca ''
	client c-server p256 cca extendedKeyUsage=serverAuth
	client c-wrong p256 wca extendedKeyUsage=clientAuth
	client c-old p256 cca extendedKeyUsage=clientAuth expired
	printf 'not a certificate\n' >garbage-ca.crt
) 2>>"$T_TMP/pki.log"
[ -s "$D/c-old.crt" ] && [ -s "$D/c-rsa.crt" ] && ok "client certificates made" || fail "client certificates: $(cat "$T_TMP/pki.log")"

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
# pass-client-tls-cert: everything Traefik 1.7 could pass; and bad YAML
tls_ingress pc pc.test a-tls t '{ingress.kubernetes.io/pass-client-tls-cert: "pem: true\ninfos:\n  notafter: true\n  notbefore: true\n  sans: true\n  subject:\n    country: true\n    province: true\n    organization: true\n    commonname: true\n  issuer:\n    commonname: true\n    domaincomponent: true\n  notAfter: true\n"}'
tls_ingress pcbad pcbad.test a-tls t '{ingress.kubernetes.io/pass-client-tls-cert: "pem: sure"}'
# another namespace listing a.test with its own certificate: the older one
# in t keeps a.test (and a Secret of t is never read for u)
sleep 1.1
tls_ingress steal a.test steal-tls u

conf() { # CA-FILE [LINE]: the client CA of the mTLS entry points, a line for mtlsopt.tls
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
[entryPoints.mtls]
address = "127.0.0.1:$MTLS"
  [entryPoints.mtls.tls]
  certFile = "$D/default.crt"
  keyFile = "$D/default.key"
  [entryPoints.mtls.tls.ClientCA]
  files = ["$1"]
[entryPoints.mtlsopt]
address = "127.0.0.1:$MTLSOPT"
  [entryPoints.mtlsopt.tls]
  $2
  certFile = "$D/default.crt"
  keyFile = "$D/default.key"
  [entryPoints.mtlsopt.tls.ClientCA]
  files = ["$1"]
  optional = true
[web]
address = "127.0.0.1:$WEB"
[kubernetes]
endpoint = "http://127.0.0.1:$API"
throttleDuration = "20ms"
EOF
}
conf "$D/cca.crt" "clientCAFiles = [\"$D/ca.crt\"]"
out=$($B -t -c "$T_TMP/i.conf" 2>&1)
echo "$out" | grep -q "files: the entry point's client CAs are given twice" &&
	ok "-t: clientCAFiles and ClientCA files together: refused" || fail "-t twice: $out"
conf "$D/cca.crt"
$B -t -c "$T_TMP/i.conf" >/dev/null 2>&1 && ok "-t: the config with ClientCA passes" || fail "-t ClientCA config"
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

# ---- tls.ClientCA: client certificates on every host of the entry point
mreq() { # PORT [s_client args] -> the status code, or nothing without a handshake
	port=$1
	shift
	printf 'GET /m HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n' |
		openssl s_client -quiet -connect 127.0.0.1:$port -servername a.test "$@" 2>/dev/null | head -1 | cut -d' ' -f2
}
mcert() { echo "-cert $D/$1.crt -key $D/$1.key"; }
# shellcheck disable=SC2046
{
	is "$(mreq $MTLS $(mcert c-good))" 200 && ok "ClientCA: a valid ECDSA client certificate passes" || fail "mTLS good"
	is "$(mreq $MTLS $(mcert c-rsa))" 200 && ok "ClientCA: a valid RSA one without extendedKeyUsage passes" || fail "mTLS rsa"
	is "$(mreq $MTLS)" "" && ok "ClientCA: no certificate, no handshake" || fail "mTLS none"
	is "$(mreq $MTLS $(mcert c-wrong))" "" && ok "ClientCA: another CA's certificate refused" || fail "mTLS wrong CA"
	is "$(mreq $MTLS $(mcert c-old))" "" && ok "ClientCA: an expired certificate refused" || fail "mTLS expired"
	is "$(mreq $MTLS $(mcert c-server))" "" && ok "ClientCA: a server-only certificate (extendedKeyUsage) refused" ||
		fail "mTLS serverAuth only"
	is "$(mreq $MTLS -cert "$D/c-good.crt" -key "$D/c-wrong.key")" "" && ok "ClientCA: a certificate without its key refused" ||
		fail "mTLS wrong key"
	is "$(mreq $MTLSOPT)" 200 && ok "ClientCA optional: no certificate passes" || fail "optional none"
	is "$(mreq $MTLSOPT $(mcert c-good))" 200 && ok "ClientCA optional: a valid certificate passes" || fail "optional good"
	is "$(mreq $MTLSOPT $(mcert c-wrong))" "" && ok "ClientCA optional: another CA's certificate refused" ||
		fail "optional wrong CA"
	is "$(mreq $MTLSOPT $(mcert c-old))" "" && ok "ClientCA optional: an expired certificate refused" || fail "optional expired"
	is "$(mreq $HTTPS)" 200 && ok "the other HTTPS entry point asks for none" || fail "https without mTLS"
	# a session of the entry point without ClientCA is not resumed here
	echo | openssl s_client -connect 127.0.0.1:$HTTPS -servername a.test -sess_out "$T_TMP/sess0" >/dev/null 2>&1
	is "$(mreq $MTLS -sess_in "$T_TMP/sess0")" "" && ok "ClientCA: another entry point's session does not resume past it" ||
		fail "mTLS resumption bypass"
	echo | openssl s_client -connect 127.0.0.1:$MTLS -servername a.test $(mcert c-good) -sess_out "$T_TMP/sess1" >/dev/null 2>&1
	echo | openssl s_client -connect 127.0.0.1:$MTLS -servername a.test -sess_in "$T_TMP/sess1" 2>/dev/null | grep -q '^Reused' &&
		fail "ClientCA: a session was resumed" || ok "ClientCA: sessions are not resumed"
	# SIGHUP with the other CA: the certificates swap roles
	conf "$D/wca.crt"
	kill -HUP $IPID
	eventually "ClientCA after SIGHUP: the new CA's certificate passes" sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client -quiet -connect 127.0.0.1:$MTLS $(mcert c-wrong) 2>/dev/null | head -1 | grep -q '^HTTP/1.1 404'"
	is "$(mreq $MTLS $(mcert c-good))" "" && ok "ClientCA after SIGHUP: the old CA's certificate refused" || fail "SIGHUP old CA"
	# a CA file that does not load: -t says so; SIGHUP keeps the running CAs
	conf "$D/garbage-ca.crt"
	out=$($B -t -c "$T_TMP/i.conf" 2>&1)
	echo "$out" | grep -q 'entry point mtls: tls.ClientCA files .*garbage-ca.crt' && ok "-t: a bad CA file: exit 1, named" ||
		fail "-t bad CA: $out"
	kill -HUP $IPID
	eventually "SIGHUP with a bad CA file: kept the running config" grep -q 'reload: keeping the running config' "$T_TMP/ingressd.log"
	is "$(mreq $MTLS $(mcert c-wrong))" 200 && ok "... whose CA still lets its certificates in" || fail "SIGHUP bad CA"
	is "$(mreq $MTLS)" "" && ok "... and still refuses no certificate" || fail "SIGHUP bad CA none"
	conf "$D/no-such-ca.crt"
	out=$($B -t -c "$T_TMP/i.conf" 2>&1)
	echo "$out" | grep -q 'no-such-ca.crt' && ok "-t: a missing CA file: named" || fail "-t missing CA: $out"
	conf "$D/cca.crt"
	kill -HUP $IPID
}

# ---- pass-client-tls-cert: the verified client certificate, as Traefik 1.7 passed it
hreq() { # PORT HOST [s_client args] -> the pod's echo of the request
	port=$1
	h=$2
	shift 2
	printf 'GET /echo HTTP/1.1\r\nHost: %s\r\nX-Forwarded-Tls-Client-Cert: forged\r\nX_Forwarded_Tls_Client_Cert_Infos: forged\r\nConnection: close\r\n\r\n' "$h" |
		openssl s_client -quiet -connect 127.0.0.1:$port -servername "$h" "$@" 2>/dev/null | tr -d '\r'
}
# shellcheck disable=SC2046
eventually "pass-client-tls-cert: the certificate passed" sh -c "printf 'GET /echo HTTP/1.1\r\nHost: pc.test\r\nConnection: close\r\n\r\n' | openssl s_client -quiet -connect 127.0.0.1:$MTLSOPT $(mcert c-good) 2>/dev/null | grep -q '^X-Forwarded-Tls-Client-Cert: '"
e=$(hreq $MTLSOPT pc.test $(mcert c-good))
want=$(openssl x509 -in "$D/c-good.crt" -outform DER | base64 -w0 | sed 's/+/%2B/g; s#/#%2F#g; s/=/%3D/g')
is "$(echo "$e" | sed -n 's/^X-Forwarded-Tls-Client-Cert: //p')" "$want" &&
	ok "X-Forwarded-Tls-Client-Cert: the DER, base64, URL-escaped (Traefik's form)" || fail "PEM header: $e"
nb=$(date -u -d "$(openssl x509 -in "$D/c-good.crt" -noout -startdate | cut -d= -f2)" +%s)
na=$(date -u -d "$(openssl x509 -in "$D/c-good.crt" -noout -enddate | cut -d= -f2)" +%s)
infos=$(echo "$e" | sed -n 's/^X-Forwarded-Tls-Client-Cert-Infos: //p' | python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote_plus(sys.stdin.read().strip()))')
is "$infos" "Subject=\"C=FR,O=Cheese,CN=c-good\",Issuer=\"CN=cca\",NB=$nb,NA=$na,SAN=c-good.client,c-good@cheese.test" &&
	ok "X-Forwarded-Tls-Client-Cert-Infos: subject, issuer, dates and SANs in Traefik's format" || fail "infos: $infos"
is "$(echo "$e" | grep -c -i 'forged')" 0 && ok "the client's own copies (and '_' twins) never reach the pod" || fail "forged: $e"
e=$(hreq $MTLSOPT pc.test)
echo "$e" | grep -q "^path=/echo" && ! echo "$e" | grep -qi 'tls-client-cert' &&
	ok "optional ClientCA, no certificate: no headers, served" || fail "pc without cert: $e"
e=$(hreq $HTTPS a.test)
echo "$e" | grep -q "^path=/echo" && ! echo "$e" | grep -qi 'forged' && ok "a route without the annotation: forged headers dropped" ||
	fail "forged on plain route: $e"
e=$(hreq $MTLSOPT pcbad.test $(mcert c-good))
echo "$e" | grep -q "^path=/echo" && ! echo "$e" | grep -qi 'tls-client-cert' && ok "bad pass-client-tls-cert YAML: served without the headers" ||
	fail "pcbad: $e"
grep -q 'ingress t/pcbad: pass-client-tls-cert: a value that is not a boolean' "$T_TMP/ingressd.log" && ok "... and logged" || fail "pcbad log"
grep -q 'ingress t/pc: pass-client-tls-cert: key "notAfter" is not one Traefik read; skipped' "$T_TMP/ingressd.log" &&
	ok "a camelCase key (Traefik ignored it) is logged" || fail "camelCase log"


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

# ---- a slow client, a large answer and a close right after it: the TLS
# records still queued when the exchange ends must reach the client before
# our side shuts. Real send buffers (megabytes) hide the fault, so ingressd
# runs again with a 4 KB one on accepted sockets (test/small_sndbuf.c, an
# LD_PRELOAD shim): without the fix, 13 KB of each answer were cut.
cc -shared -fPIC -O2 -o "$T_TMP/small_sndbuf.so" test/small_sndbuf.c -ldl || fail "shim builds"
kill $IPID
wait $IPID 2>/dev/null
LD_PRELOAD=$T_TMP/small_sndbuf.so start_ingressd
ready "restarted with small send buffers"
python3 -c 'import sys; open(sys.argv[1], "wb").write((bytes(range(256)) * 4000)[:1000000])' "$T_TMP/want.bin"
for p in "/bytes/1000000 -H Connection:close" /close/1000000 "/bytes/1000000 --http1.0"; do
	# shellcheck disable=SC2086
	n=$(get a.test ${p%% *} --limit-rate 1M $(echo "$p" | sed -n 's/^[^ ]* //p') -o "$T_TMP/big" -w '%{size_download}')
	cmp -s "$T_TMP/big" "$T_TMP/want.bin" && ok "slow client, small send buffer, ${p%% *} then close: every byte arrives" ||
		fail "slow client, small send buffer, ${p%% *}: $n of 1000000 bytes"
done

# ---- metrics
curl -s http://127.0.0.1:$WEB/metrics | grep -q '^ingressd_tls_sessions ' && ok "TLS sessions gauge" || fail "tls metric"
kill -TERM $IPID
wait $IPID
is $? 0 && ok "SIGTERM: exit 0" || fail "exit"
grep -E 'AddressSanitizer|runtime error' "$T_TMP/ingressd.log" | head -3
finish
