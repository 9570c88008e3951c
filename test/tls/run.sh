#!/bin/sh
# test/tls/run.sh - the TLS ports against real peers.
#
# Builds test/tls/tls_test.c once per port (BearSSL, mbedTLS) with ASan and
# UBSan and small limits (a pool of ING_TLS_SESSIONS = 4, 4 remembered
# sessions), generates every key and certificate with openssl in a temp
# dir, and checks: the client against `openssl s_server` (verifying, and
# insecureSkipVerify; tls_info's ING_TLS_CERT; tls_handshake), session
# resumption by key against `openssl s_server` and the port's own server,
# the server against `openssl s_client` and curl, tls_cert_load on good and
# bad input, an in-process client/server pair, the session limit, and a
# replay of the PEM fuzz corpus. Loopback only; ports are picked free.
# Last line: "tls: N passed, M failed" (exit 1 when M > 0).
#
#   sh test/tls/run.sh [bearssl|mbedtls]...     (default: both)
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd)
T=$(mktemp -d /tmp/ingressd-tls.XXXXXX) || exit 2
PIDS=""
PASS=0
FAILN=0

cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

CC=${CC:-cc}
WARN="-std=c11 -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes -Wvla -Wformat=2 -Wno-format-nonliteral"
SAN="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
LIMITS="-DING_MAX_TLS_CONNS=2 -DING_MAX_TLS_UPSTREAMS=1 -DING_MAX_WATCHES=1 -DING_MAX_TLS_RESUME=4"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1

PORTS=${*:-bearssl mbedtls}

ok() { PASS=$((PASS + 1)); echo "  ok   $*"; }
bad() { FAILN=$((FAILN + 1)); echo "  FAIL $*"; }

# check DESC CMD...: CMD prints one line and exits 0 on success.
check() {
	d=$1
	shift
	if out=$("$@" 2>"$T/stderr"); then
		ok "$d: ${out#ok }"
	else
		bad "$d: $out"
		sed 's/^/       | /' "$T/stderr" | tail -n 15
	fi
}

# ------------------------------------------------------------------ certs
gen() {
	cd "$T" || exit 2
	cat >cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $ENV::SAN
[cn_ext]
basicConstraints = CA:FALSE
[client_ext]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
subjectAltName = $ENV::SAN
[ca]
default_ca = testca
[testca]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
EOF
	: >index.txt
	echo 1000 >serial
	export SAN=DNS:unused
	q="-quiet"
	rsakey() { openssl genpkey $q -algorithm RSA -pkeyopt "rsa_keygen_bits:${2:-2048}" -out "$1"; }
	eckey() { openssl genpkey $q -algorithm EC -pkeyopt "ec_paramgen_curve:$2" -out "$1"; }
	# NAME CN ISSUER SAN [startdate enddate]: NAME.key must exist
	leaf() {
		SAN=$4 openssl req -new -config cnf -key "$1.key" -subj "/CN=$2" -out "$1.csr" || exit 2
		if [ $# -gt 4 ]; then
			SAN=$4 openssl ca -batch -config cnf -notext -md sha256 -cert "$3.crt" -keyfile "$3.key" \
				-startdate "$5" -enddate "$6" -extfile cnf -extensions leaf_ext -in "$1.csr" -out "$1.crt" \
				2>/dev/null || exit 2
		else
			SAN=$4 openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -days 365 \
				-sha256 -extfile cnf -extensions "${EXT:-leaf_ext}" -out "$1.crt" 2>/dev/null || exit 2
		fi
	}
	rsakey ca.key && openssl req -x509 -config cnf -extensions ca_ext -key ca.key -subj "/CN=ingressd test CA" \
		-days 3650 -sha256 -out ca.crt || exit 2
	eckey ca2.key P-256 && openssl req -x509 -config cnf -extensions ca_ext -key ca2.key \
		-subj "/CN=ingressd other CA" -days 3650 -sha256 -out ca2.crt || exit 2
	eckey inter.key P-256 && openssl req -new -config cnf -key inter.key -subj "/CN=ingressd test intermediate" \
		-out inter.csr && openssl x509 -req -in inter.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
		-sha256 -extfile cnf -extensions ca_ext -out inter.crt 2>/dev/null || exit 2

	# client-side servers
	rsakey rsa.key && leaf rsa localhost ca "DNS:localhost,DNS:*.wild.test,IP:127.0.0.1,IP:::1"
	eckey ec.key P-256 && leaf ec localhost ca "DNS:localhost,IP:127.0.0.1"
	cp rsa.key noip.key && leaf noip localhost ca "DNS:localhost"
	cp rsa.key old.key && leaf old localhost ca "DNS:localhost,IP:127.0.0.1" 20200101000000Z 20210101000000Z
	cp rsa.key new.key && leaf new localhost ca "DNS:localhost,IP:127.0.0.1" 20360101000000Z 20370101000000Z
	eckey chain.key P-384 && leaf chain localhost inter "DNS:localhost,IP:127.0.0.1"
	cat chain.crt inter.crt >chain-full.crt
	cat ca.crt ca2.crt inter.crt >ca-bundle.crt

	# server-side certificates (a: RSA, b: ECDSA)
	rsakey a.key && leaf a a.test ca "DNS:a.test"
	eckey b.key P-256 && leaf b b.test ca "DNS:b.test"
	# client certificates: ca2 is the client CA
	eckey cl-good.key P-256 && EXT=client_ext leaf cl-good client.test ca2 "DNS:client.test"
	cp rsa.key cl-rsa.key && EXT=client_ext leaf cl-rsa client.test ca2 "email:c@client.test"
	cp cl-good.key cl-wrong.key && EXT=client_ext leaf cl-wrong client.test ca "DNS:client.test"
	cp cl-good.key cl-server.key && leaf cl-server client.test ca2 "DNS:client.test"

	# tls_cert_load inputs: every key form
	openssl pkey -in rsa.key -traditional -out rsa.pkcs1 && openssl pkey -in rsa.key -out rsa.pkcs8 || exit 2
	cp rsa.key load-rsa.key && leaf load-rsa load.test ca "DNS:load.test,DNS:www.load.test"
	for c in P-256 P-384; do
		eckey "load-$c.key" "$c" && leaf "load-$c" "$c.test" ca "DNS:$c.test" || exit 2
		openssl pkey -in "load-$c.key" -traditional -out "load-$c.sec1" || exit 2
		openssl pkey -in "load-$c.key" -out "load-$c.pkcs8" || exit 2
	done
	openssl ecparam -genkey -name prime256v1 -out ecparam.key 2>/dev/null || exit 2
	leaf ecparam ecparam.test ca "DNS:ecparam.test"
	eckey cn.key P-256 && openssl req -x509 -config cnf -extensions cn_ext -key cn.key -subj "/CN=cn-only.test" \
		-days 30 -out cn.crt || exit 2
	eckey p521.key P-521 && leaf p521 p521.test ca "DNS:p521.test"
	rsakey r1024.key 1024 && leaf r1024 r1024.test ca "DNS:r1024.test"
	rsakey r4096.key 4096 && leaf r4096 r4096.test ca "DNS:r4096.test"
	names=""
	i=0
	while [ $i -lt 33 ]; do names="${names}${names:+,}DNS:n$i.test"; i=$((i + 1)); done
	cp b.key many.key && leaf many n0.test ca "$names"
	i=0
	: >eleven.crt
	while [ $i -lt 11 ]; do cat a.crt >>eleven.crt; i=$((i + 1)); done
	openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:x -in rsa.key -out enc.pkcs8 || exit 2
	openssl pkey -in rsa.key -traditional -aes256 -passout pass:x -out enc.pkcs1 || exit 2
	head -c 600 rsa.crt >trunc.crt
	sed '3s/./!/5' rsa.crt >b64.crt
	head -c 3000 /dev/urandom >garbage.bin
	# DER that lies: the outer SEQUENCE claims 255 bytes more than there are
	openssl x509 -in ec.crt -outform DER -out ec.der || exit 2
	len=$(($(wc -c <ec.der) - 4 + 255))
	{
		printf '\060\202'
		printf "\\$(printf %o $((len / 256)))\\$(printf %o $((len % 256)))"
		tail -c +5 ec.der
	} >lie.der
	{ echo "-----BEGIN CERTIFICATE-----"; openssl base64 -in lie.der; echo "-----END CERTIFICATE-----"; } >lie.crt
	cd "$ROOT" || exit 2
}

# ------------------------------------------------------------------ helpers
start() { # start NAME CMD...: background process, pid remembered
	name=$1
	shift
	"$@" >"$T/$name.log" 2>&1 &
	LASTPID=$!
	PIDS="$PIDS $!"
}

s_server() { # s_server ADDR PORT CERT KEY [CHAIN]
	chain=""
	[ $# -gt 4 ] && chain="-cert_chain $5"
	# shellcheck disable=SC2086
	start "s_server-$2" openssl s_server -accept "$1:$2" -cert "$3" -key "$4" $chain -www -quiet
}

# s_client PORT EXPECT(ok|fail) DESC ARGS...: a request through openssl s_client
s_client() {
	sp=$1 want=$2 desc=$3
	shift 3
	out=$(printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 openssl s_client -connect "127.0.0.1:$sp" \
		-CAfile "$T/ca.crt" -verify_return_error -ign_eof "$@" 2>&1)
	echo "$out" >"$T/last_s_client.log"
	if [ "$want" = ok ]; then
		if echo "$out" | grep -q "^cert=" && echo "$out" | grep -q "Verify return code: 0"; then
			ok "$desc: $(echo "$out" | grep -m1 -E 'Cipher is|^cert=' | tr -d '\r'), $(echo "$out" | grep '^cert=' | tr -d '\r')"
			return 0
		fi
	else
		if ! echo "$out" | grep -q "^cert="; then
			ok "$desc: refused ($(echo "$out" | grep -m1 -iE 'alert|error|fail' | cut -c1-90))"
			return 0
		fi
	fi
	bad "$desc"
	echo "$out" | tail -n 8 | sed 's/^/       | /'
	return 1
}

# ------------------------------------------------------------------ one port
run_port() {
	port=$1
	B="$T/tls_test_$port"
	case $port in
	bearssl) LIBS="-I/usr/include/bearssl -l:libbearssl.a" ;;
	mbedtls) LIBS="-lmbedtls -lmbedx509 -lmbedcrypto" ;;
	*) echo "unknown port $port"; return ;;
	esac
	echo "== $port"
	# shellcheck disable=SC2086
	if $CC $WARN $SAN $LIMITS -o "$B" test/tls/tls_test.c port/posix.c "port/tls_$port.c" $LIBS \
		2>"$T/build.log"; then
		ok "build $port test ($($B name))"
	else
		bad "build $port test"
		sed 's/^/       | /' "$T/build.log" | head -n 30
		return
	fi

	# --- client against openssl s_server
	# ten distinct free ports (the kernel may hand the same one out twice)
	while :; do
		P1=$($B freeport 4) P2=$($B freeport 4) P3=$($B freeport 4) P4=$($B freeport 4) P5=$($B freeport 4)
		P6=$($B freeport 4) P7=$($B freeport 4) P8=$($B freeport 4) P9=$($B freeport 4) P10=$($B freeport 4)
		[ "$(printf '%s\n' $P1 $P2 $P3 $P4 $P5 $P6 $P7 $P8 $P9 $P10 | sort -u | wc -l)" -eq 10 ] && break
	done
	P6b=$($B freeport 6 2>/dev/null) || P6b=""
	s_server 127.0.0.1 "$P1" "$T/rsa.crt" "$T/rsa.key"
	s_server 127.0.0.1 "$P2" "$T/ec.crt" "$T/ec.key"
	s_server 127.0.0.1 "$P3" "$T/noip.crt" "$T/noip.key"
	s_server 127.0.0.1 "$P4" "$T/old.crt" "$T/old.key"
	s_server 127.0.0.1 "$P5" "$T/new.crt" "$T/new.key"
	s_server 127.0.0.1 "$P6" "$T/chain.crt" "$T/chain.key" "$T/inter.crt"
	s_server 127.0.0.1 "$P7" "$T/chain.crt" "$T/chain.key"
	s_server 127.0.0.1 "$P8" "$T/cn.crt" "$T/cn.key" # self-signed, CN cn-only.test
	s_server 127.0.0.1 "$P9" "$T/rsa.crt" "$T/rsa.key" # P1's twin: its own sessions
	start "s_server-$P10" openssl s_server -accept "127.0.0.1:$P10" -cert "$T/rsa.crt" -key "$T/rsa.key" -www \
		-quiet -no_ticket # resumption by session ID only
	[ -n "$P6b" ] && s_server "[::1]" "$P6b" "$T/rsa.crt" "$T/rsa.key"
	for p in $P1 $P2 $P3 $P4 $P5 $P6 $P7 $P8 $P9 $P10; do $B waitport 127.0.0.1 "$p" >/dev/null; done
	[ -n "$P6b" ] && $B waitport ::1 "$P6b" >/dev/null
	CA=$T/ca.crt
	check "RSA server, DNS SAN" $B client "$CA" localhost 127.0.0.1 "$P1" ok
	check "RSA server, IP SAN 127.0.0.1" $B client "$CA" 127.0.0.1 127.0.0.1 "$P1" ok
	if [ -n "$P6b" ]; then
		check "RSA server, IPv6 IP SAN ::1" $B client "$CA" ::1 ::1 "$P6b" ok
	else
		echo "  skip RSA server, IPv6 IP SAN ::1: no IPv6 loopback here"
	fi
	check "RSA server, wildcard *.wild.test" $B client "$CA" a.wild.test 127.0.0.1 "$P1" ok
	check "wildcard covers one label only" $B client "$CA" a.b.wild.test 127.0.0.1 "$P1" "cert:server name mismatch"
	check "ECDSA server, DNS SAN" $B client "$CA" localhost 127.0.0.1 "$P2" ok
	check "ECDSA server, IP SAN" $B client "$CA" 127.0.0.1 127.0.0.1 "$P2" ok
	check "wrong CA" $B client "$T/ca2.crt" localhost 127.0.0.1 "$P1" "cert:unknown CA"
	check "name mismatch" $B client "$CA" other.test 127.0.0.1 "$P1" "cert:server name mismatch"
	check "IP not in SAN (cert has other IPs)" $B client "$CA" 127.0.0.2 127.0.0.1 "$P1" \
		"cert:server name mismatch: cert has no IP SAN 127.0.0.2"
	check "IP not in SAN (cert has DNS only)" $B client "$CA" 127.0.0.1 127.0.0.1 "$P3" \
		"cert:cert has no IP SAN 127.0.0.1"
	check "DNS-only cert by name" $B client "$CA" localhost 127.0.0.1 "$P3" ok
	check "expired cert" $B client "$CA" localhost 127.0.0.1 "$P4" "cert:certificate expired"
	check "not-yet-valid cert" $B client "$CA" localhost 127.0.0.1 "$P5" "cert:not yet valid"
	check "chain via intermediate (P-384 leaf)" $B client "$CA" 127.0.0.1 127.0.0.1 "$P6" ok
	check "chain without its intermediate" $B client "$CA" localhost 127.0.0.1 "$P7" "cert:unknown CA"
	check "self-signed cert" $B client "$CA" cn-only.test 127.0.0.1 "$P8" "cert:unknown CA"
	check "garbage CA bundle" $B client "$T/garbage.bin" localhost 127.0.0.1 "$P1" "fail:no PEM CERTIFICATE"

	# --- tls_handshake alone, polled on tls_want(t, 0)
	check "tls_handshake: RSA, DNS SAN" $B client "$CA" localhost 127.0.0.1 "$P1" ok hs
	check "tls_handshake: ECDSA, IP SAN" $B client "$CA" 127.0.0.1 127.0.0.1 "$P2" ok hs
	check "tls_handshake: chain" $B client "$CA" localhost 127.0.0.1 "$P6" ok hs
	check "tls_handshake: name mismatch" $B client "$CA" other.test 127.0.0.1 "$P1" "cert:server name mismatch" hs
	check "tls_handshake: expired" $B client "$CA" localhost 127.0.0.1 "$P4" "cert:certificate expired" hs

	# --- insecureSkipVerify (CA "-": tls_client_ctx(NULL)): no check at all
	check "insecure: name mismatch" $B client - other.test 127.0.0.1 "$P1" ok
	check "insecure: IP not in SAN" $B client - 127.0.0.1 127.0.0.1 "$P3" ok
	check "insecure: expired" $B client - localhost 127.0.0.1 "$P4" ok hs
	check "insecure: not yet valid" $B client - localhost 127.0.0.1 "$P5" ok
	check "insecure: chain without its intermediate" $B client - localhost 127.0.0.1 "$P7" ok
	check "insecure: self-signed, other name" $B client - other.test 127.0.0.1 "$P8" ok hs
	check "insecure: self-signed, by IP" $B client - 127.0.0.1 127.0.0.1 "$P8" ok

	# --- resumption by (context, key), LRU of ING_MAX_TLS_RESUME=4. Without
	# ASan's quarantine the context made after a freed one usually gets its
	# address (the ok line says so): the ABA case context serials are for.
	check "resume: s_server, RSA by name, and its twin" \
		env ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0:thread_local_quarantine_size_kb=0" \
		$B resume "$CA" localhost 127.0.0.1 "$P1" "$P9"
	check "resume: s_server -no_ticket (session IDs)" $B resume "$CA" localhost 127.0.0.1 "$P10" "$P1"
	check "resume: s_server, ECDSA by IP" $B resume "$CA" 127.0.0.1 127.0.0.1 "$P2"
	check "resume: s_server, insecure, expired cert" $B resume - localhost 127.0.0.1 "$P4"

	# --- in-process client and server
	check "in-process RSA, IP" $B loop "$CA" "$T/rsa.crt" "$T/rsa.key" 127.0.0.1 ok
	check "in-process RSA, IPv6" $B loop "$CA" "$T/rsa.crt" "$T/rsa.key" "[::1]" ok
	check "in-process ECDSA, DNS" $B loop "$CA" "$T/ec.crt" "$T/ec.key" localhost ok
	check "in-process chain" $B loop "$CA" "$T/chain-full.crt" "$T/chain.key" localhost ok
	check "in-process IP mismatch" $B loop "$CA" "$T/ec.crt" "$T/ec.key" 10.43.0.1 \
		"cert:server name mismatch: cert has no IP SAN 10.43.0.1"
	# --- the heap full (ING_MAX_HEAP_BYTES): every allocation of loading a
	# chain, a key and a CA bundle failing in turn; no room for the pod's
	# certificate fails a handshake that needs it (an IP SAN) and no other
	check "heap full: loading" $B nomem "$T/chain-full.crt" "$T/chain.key" "$T/ca-bundle.crt"
	if [ "$port" = bearssl ]; then
		check "heap full: a peer certificate to check by IP" env NOMEM_WHAT="tls: peer certificate" \
			$B loop "$CA" "$T/rsa.crt" "$T/rsa.key" 127.0.0.1 "fail:no room for the server certificate (ING_MAX_HEAP_BYTES)"
		check "heap full: a peer certificate by DNS name is not needed" env NOMEM_WHAT="tls: peer certificate" \
			$B loop "$CA" "$T/ec.crt" "$T/ec.key" localhost ok
	fi

	# --- server against openssl s_client and curl
	SP=$($B freeport 4)
	start "server-$port" "$B" server "$SP" "$T/a.crt" "$T/a.key" "$T/b.crt" "$T/b.key"
	SPID=$LASTPID
	$B waitport 127.0.0.1 "$SP" >/dev/null
	check "resume: the port's own server" $B resume "$CA" a.test 127.0.0.1 "$SP"
	check "a refused handshake is not ING_TLS_CERT" $B client "$CA" refuse.test 127.0.0.1 "$SP" "fail:" hs
	s_client "$SP" ok "SNI a.test picks the RSA cert" -servername a.test -verify_hostname a.test
	s_client "$SP" ok "SNI b.test picks the ECDSA cert" -servername b.test -verify_hostname b.test
	if printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 openssl s_client -connect "127.0.0.1:$SP" -CAfile "$CA" \
		-noservername -ign_eof 2>&1 | grep -q "^cert=a.crt"; then
		ok "no SNI gets the default cert"
	else
		bad "no SNI gets the default cert"
	fi
	s_client "$SP" fail "pick returning NULL refuses the handshake" -servername refuse.test
	for h in a b; do
		body=$(curl -sS --max-time 10 --cacert "$CA" --resolve "$h.test:$SP:127.0.0.1" "https://$h.test:$SP/" 2>&1)
		if [ "$body" = "cert=$h.crt" ]; then ok "curl https://$h.test/: $body"; else bad "curl https://$h.test/: $body"; fi
	done
	s_client "$SP" ok "TLS 1.2 at SECLEVEL=0 works (control)" -servername a.test -tls1_2 -cipher 'DEFAULT:@SECLEVEL=0'
	s_client "$SP" fail "TLS 1.0 refused" -servername a.test -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
	s_client "$SP" fail "TLS 1.1 refused" -servername a.test -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
	s_client "$SP" fail "AES128-SHA (CBC, RSA key exchange) refused" -servername a.test -tls1_2 -cipher AES128-SHA
	s_client "$SP" fail "ECDHE-RSA-AES128-SHA256 (CBC) refused" -servername a.test -tls1_2 -cipher ECDHE-RSA-AES128-SHA256
	s_client "$SP" ok "ECDHE-ECDSA-AES128-GCM-SHA256" -servername b.test -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256
	s_client "$SP" ok "ECDHE-RSA-CHACHA20-POLY1305" -servername a.test -tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305
	s_client "$SP" ok "ECDHE-RSA-AES256-GCM-SHA384" -servername a.test -tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384
	s_client "$SP" ok "ECDHE-ECDSA-CHACHA20-POLY1305" -servername b.test -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305
	s_client "$SP" ok "session saved" -servername a.test -sess_out "$T/sess.pem"
	if printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 openssl s_client -connect "127.0.0.1:$SP" -CAfile "$CA" \
		-servername a.test -sess_in "$T/sess.pem" -ign_eof 2>&1 | grep -q "^Reused, TLSv1.2"; then
		ok "session resumed (Reused, TLSv1.2)"
	else
		bad "session resumed"
	fi

	# the server ends cleanly on SIGTERM: no sanitizer report, no leak
	kill "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	if grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$T/server-$port.log"; then
		bad "server process: sanitizer report"
		grep -E -A12 "AddressSanitizer|LeakSanitizer|runtime error" "$T/server-$port.log" | head -n 30 | sed 's/^/       | /'
	else
		if grep -q "no certificate for SNI name refuse.test" "$T/server-$port.log"; then
			ok "server process: pick NULL logged, no sanitizer report"
		else
			bad "server process: no \"no certificate for SNI name refuse.test\" in its log"
		fi
	fi

	# --- client certificates: tls_server_client_ca, required then optional
	check "client CA bundle" $B clientca "$T/ca2.crt" ok
	check "client CA: garbage" $B clientca "$T/garbage.bin" "fail:no PEM CERTIFICATE"
	check "client CA: truncated" $B clientca "$T/trunc.crt" "fail:CA bundle"
	check "client CA: a key instead" $B clientca "$T/a.key" "fail:unexpected PEM block"
	check "client CA: DER that lies" $B clientca "$T/lie.crt" "fail:CA bundle"
	for req in 1 0; do
		MP=$($B freeport 4)
		start "mtls$req-$port" env CLIENT_CA="$T/ca2.crt" CLIENT_REQUIRED=$req "$B" server "$MP" "$T/a.crt" "$T/a.key"
		MPID=$LASTPID
		$B waitport 127.0.0.1 "$MP" >/dev/null
		what=required
		[ $req = 0 ] && what=optional
		s_client "$MP" ok "client cert $what: valid ECDSA" -servername a.test -cert "$T/cl-good.crt" -key "$T/cl-good.key"
		grep -q '^cert=a.crt peer=[1-9][0-9]*$' "$T/last_s_client.log" && ok "... kept for tls_peer_cert" ||
			bad "tls_peer_cert: $(grep '^cert=' "$T/last_s_client.log")"
		s_client "$MP" ok "client cert $what: valid RSA" -servername a.test -cert "$T/cl-rsa.crt" -key "$T/cl-rsa.key"
		s_client "$MP" fail "client cert $what: another CA" -servername a.test -cert "$T/cl-wrong.crt" -key "$T/cl-wrong.key"
		s_client "$MP" fail "client cert $what: serverAuth only" -servername a.test -cert "$T/cl-server.crt" \
			-key "$T/cl-server.key"
		if [ $req = 1 ]; then
			s_client "$MP" fail "client cert required: none" -servername a.test
		else
			s_client "$MP" ok "client cert optional: none" -servername a.test
			grep -q '^cert=a.crt peer=0?$' "$T/last_s_client.log" && ok "... no peer certificate" ||
				bad "optional none: $(grep '^cert=' "$T/last_s_client.log")"
		fi
		kill "$MPID" 2>/dev/null
		wait "$MPID" 2>/dev/null
		if grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$T/mtls$req-$port.log"; then
			bad "client cert $what server: sanitizer report"
			grep -E -A12 "AddressSanitizer|LeakSanitizer|runtime error" "$T/mtls$req-$port.log" | head -n 30 | sed 's/^/       | /'
		else
			ok "client cert $what server: no sanitizer report"
		fi
	done

	# --- an unset wall clock: validity is checked against ING_BUILD_EPOCH
	# (built here as 2100-01-01, so every test certificate has expired)
	# shellcheck disable=SC2086
	if $CC $WARN $SAN -DING_BUILD_EPOCH=4102444800 -o "$B-epoch" test/tls/tls_test.c port/posix.c \
		"port/tls_$port.c" $LIBS 2>"$T/build.log"; then
		out=$("$B-epoch" client "$CA" localhost 127.0.0.1 "$P1" "cert:now 2100-01-01" 2>"$T/stderr")
		if [ $? -eq 0 ] && [ "$(grep -c 'tls: wall clock unset; certificate validity checked against the build date' \
			"$T/stderr")" -eq 1 ]; then
			ok "unset wall clock: build date used, warned once: ${out#ok }"
		else
			bad "unset wall clock: $out"
			sed 's/^/       | /' "$T/stderr" | tail -n 5
		fi
	else
		bad "build $port epoch test"
	fi

	# --- tls_cert_load
	L="$B load"
	check "RSA-2048 PKCS#1" $L "$T/load-rsa.crt" "$T/rsa.pkcs1" "ok:R:load.test,www.load.test"
	check "RSA-2048 PKCS#8" $L "$T/load-rsa.crt" "$T/rsa.pkcs8" "ok:R:load.test,www.load.test"
	for c in P-256 P-384; do
		check "EC $c SEC1" $L "$T/load-$c.crt" "$T/load-$c.sec1" "ok:E:$c.test"
		check "EC $c PKCS#8" $L "$T/load-$c.crt" "$T/load-$c.pkcs8" "ok:E:$c.test"
	done
	check "EC with EC PARAMETERS block" $L "$T/ecparam.crt" "$T/ecparam.key" "ok:E:ecparam.test"
	check "no SAN: the CN" $L "$T/cn.crt" "$T/cn.key" "ok:E:cn-only.test"
	check "leaf + intermediate" $L "$T/chain-full.crt" "$T/chain.key" "ok:E:localhost"
	check "mismatched RSA key" $L "$T/load-rsa.crt" "$T/a.key" "fail:does not match"
	check "mismatched EC key" $L "$T/load-P-256.crt" "$T/b.key" "fail:does not match"
	check "RSA cert, EC key" $L "$T/load-rsa.crt" "$T/b.key" "fail:does not match"
	check "garbage certificate" $L "$T/garbage.bin" "$T/rsa.key" "fail:no PEM CERTIFICATE"
	check "garbage key" $L "$T/load-rsa.crt" "$T/garbage.bin" "fail:no PEM private key"
	check "truncated PEM" $L "$T/trunc.crt" "$T/rsa.key" "fail:truncated PEM"
	check "bad base64" $L "$T/b64.crt" "$T/rsa.key" "fail:bad base64"
	check "DER that lies" $L "$T/lie.crt" "$T/ec.key" "fail:cannot decode"
	check "encrypted PKCS#8 key" $L "$T/load-rsa.crt" "$T/enc.pkcs8" "fail:encrypted private keys are not supported"
	check "encrypted PKCS#1 key" $L "$T/load-rsa.crt" "$T/enc.pkcs1" "fail:encrypted private keys are not supported"
	check "P-521 key" $L "$T/p521.crt" "$T/p521.key" "fail:unsupported EC curve"
	check "RSA-4096 key" $L "$T/r4096.crt" "$T/r4096.key" "ok:R:r4096.test"
	check "RSA-1024 key" $L "$T/r1024.crt" "$T/r1024.key" "fail:RSA key of 1024 bits"
	check "33 names" $L "$T/many.crt" "$T/many.key" "fail:ING_MAX_CERT_NAMES"
	check "11 certificates" $L "$T/eleven.crt" "$T/a.key" "fail:more than 10"
	check "key PEM as certificate" $L "$T/rsa.key" "$T/rsa.key" "fail:unexpected PEM block PRIVATE KEY"

	# --- hashes for basic auth and sticky cookies
	check "tls_hash_* known answers" $B hash

	# --- the session limit
	check "pool limit (ING_TLS_SESSIONS=4)" $B pool "$T/a.crt" "$T/a.key"

	# --- fuzz corpus replay
	R="$T/replay_pem_$port"
	# shellcheck disable=SC2086
	if $CC $WARN -Wno-missing-prototypes $SAN -o "$R" test/fuzz/fuzz_pem.c test/fuzz/replay.c port/posix.c \
		"port/tls_$port.c" $LIBS 2>"$T/build.log"; then
		check "replay test/fuzz/corpus/pem" "$R" test/fuzz/corpus/pem
	else
		bad "build $port fuzz replay"
		sed 's/^/       | /' "$T/build.log" | head -n 30
	fi

	for p in $PIDS; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	PIDS=""
}

command -v openssl >/dev/null || { echo "tls: openssl missing"; echo "tls: 0 passed, 1 failed"; exit 1; }
(gen) >"$T/gen.log" 2>&1 || { cat "$T/gen.log"; echo "tls: 0 passed, 1 failed"; exit 1; }
for p in $PORTS; do
	run_port "$p"
done
echo "tls: $PASS passed, $FAILN failed"
[ "$FAILN" -eq 0 ]
