#!/bin/sh
# test/e2e_limits.sh - request body limits end to end: nginx's
# proxy-body-size (units, 0 = none, a bad value refused), 413 before
# anything is forwarded when Content-Length says so, a chunked body cut at
# the limit (413 while no response started; the pod never gets more), and
# routes without the annotation unlimited.
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
B=${1:-./ingressd}
suite e2e_limits
EVENTUALLY_WAIT=60
[ -x "$B" ] || abort "no binary $B"

API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
WEB=$(free_port)
P1=$(free_port)
start_api
backend 127.0.0.1:$P1 b1
wait_port $API && wait_port $CTL && wait_port $P1 || abort "helpers did not start"
conf_std "$T_TMP/i.conf" $HTTP $WEB
start_ingressd
namespace t
service_s1
N=nginx.ingress.kubernetes.io
ingress_s1 small small.test "{$N/proxy-body-size: 1k}"
ingress_s1 mega mega.test "{$N/proxy-body-size: 2M}"
ingress_s1 zero zero.test "{$N/proxy-body-size: '0'}"
ingress_s1 free free.test
ingress_s1 bad bad.test "{$N/proxy-body-size: 12x}"
ready
eventually "routes built" sh -c "curl -s http://127.0.0.1:$WEB/api/providers | grep -q bad.test"
post() { h=$1; shift; curl -s -o "$T_TMP/out" -w '%{http_code}' -H "Host: $h" "$@" "http://127.0.0.1:$HTTP/count"; }
head -c 1024 /dev/zero >"$T_TMP/1k"
head -c 1025 /dev/zero >"$T_TMP/1k1"
head -c 3000000 /dev/zero >"$T_TMP/3m"
is "$(post small.test --data-binary @"$T_TMP/1k")" 200 && is "$(cut -d' ' -f1 "$T_TMP/out")" 1024 &&
	ok "proxy-body-size 1k: 1024 bytes pass" || fail "1k at the limit"
is "$(post small.test --data-binary @"$T_TMP/1k1")" 413 && ok "1025 bytes with Content-Length: 413" || fail "over the limit"
is "$(post small.test -H 'Transfer-Encoding: chunked' --data-binary @"$T_TMP/1k")" 200 && ok "chunked at the limit: passes" ||
	fail "chunked at the limit"
is "$(post small.test -H 'Transfer-Encoding: chunked' --data-binary @"$T_TMP/3m")" 413 && ok "chunked over the limit: 413" ||
	fail "chunked over: $(cat "$T_TMP/out")"
is "$(post mega.test --data-binary @"$T_TMP/3m")" 413 && is "$(post mega.test --data-binary @"$T_TMP/1k1")" 200 &&
	ok "2M: units (k, m, g) as nginx reads them" || fail "2M"
is "$(post zero.test --data-binary @"$T_TMP/3m")" 200 && is "$(post free.test --data-binary @"$T_TMP/3m")" 200 &&
	ok "0, or no annotation: no limit" || fail "no limit"
is "$(post bad.test --data-binary @"$T_TMP/1k")" 500 && grep -q 'proxy-body-size "12x"' "$T_TMP/ingressd.log" &&
	ok "a bad size: 500, logged (never unlimited)" || fail "bad size"
eventually "counted" sh -c "curl -s http://127.0.0.1:$WEB/metrics | grep -q 'ingressd_own_answers_total{code=\"413\",reason=\"body_too_large\"} [1-9]'"
finish
