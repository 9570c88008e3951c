#!/bin/sh
# test/e2e_watch.sh [BINARY] - the watch client against the stand-in API
# server over TLS, in-cluster style (service-account directory, IP SAN),
# with every scripted fault: a connection cut mid-line, garbage lines, an
# oversized object, 500s, a stalled stream, a slow drip, a bad chunk, 410
# (compaction), 401/403, API versions missing, a rotated token. After each,
# ingressd must still run, keep its last good state, and converge.
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
B=${1:-./ingressd}
NAME=e2e_watch
[ -n "$1" ] && NAME=e2e_watch_$(basename "$(dirname "$1")")
suite "$NAME"
EVENTUALLY_WAIT=80 # eventually waits up to 8 s by default here (lib.sh)

API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
WEB=$(free_port)
P1=$(free_port)
SA=$T_TMP/sa
mkdir -p "$SA"
(
	cd "$SA" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -keyout ca.key -out ca.crt \
		-subj /CN=watch-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
	openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=apiserver
	printf 'subjectAltName=IP:127.0.0.1,DNS:kubernetes.default.svc\n' >srv.ext
	openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out srv.crt -extfile srv.ext
) >/dev/null 2>&1
echo "token-one-$$" >"$SA/token"
cp "$SA/token" "$T_TMP/tokens"
echo "viewer-$$" >"$T_TMP/viewer"
start_api --tls-cert "$SA/srv.crt" --tls-key "$SA/srv.key" --token-file "$T_TMP/tokens" --viewer-token-file "$T_TMP/viewer"
backend 127.0.0.1:$P1 b1
wait_port $API && wait_port $CTL && wait_port $P1 || abort "helpers did not start"
ctl() { curl -sf -X POST -d "$2" "http://127.0.0.1:$CTL$1" >/dev/null; }
namespace t
service_s1
ingress_s1 first first.test

# in-cluster: the environment and a service-account directory
start_in_cluster $API "$SA"
ready "in-cluster over TLS (IP SAN 127.0.0.1): synced and ready"
is "$(get first.test /a)" "b1 /a" && ok "routes from the watched objects" || fail "first route"
curl -s http://127.0.0.1:$CTL/stats >"$T_TMP/stats"
grep -q '"token"' "$T_TMP/stats" || true
alive() { kill -0 $IPID 2>/dev/null; }

# ---- create, update, delete follow within a second
t0=$(date +%s%N)
ingress_s1 second second.test
WAIT=10 eventually "a new Ingress is routed within a second" sh -c "curl -s -H 'Host: second.test' http://127.0.0.1:$HTTP/ | grep -q b1"
kdelete ingresses/t/second
eventually "a deleted Ingress is gone" sh -c "curl -s -o /dev/null -w '%{http_code}' -H 'Host: second.test' http://127.0.0.1:$HTTP/ | grep -qx 404"

# ---- faults
ctl /fault '{"kind":"drop_mid_line","resource":"ingresses"}'
ingress_s1 drop drop.test
eventually "cut mid-line: reconnects and gets the object" sh -c "curl -s -H 'Host: drop.test' http://127.0.0.1:$HTTP/ | grep -q b1"
ctl /fault '{"kind":"garbage_line","resource":"ingresses"}'
ingress_s1 garbage garbage.test
eventually "garbage line skipped, the event after it applied" sh -c "curl -s -H 'Host: garbage.test' http://127.0.0.1:$HTTP/ | grep -q b1"
grep -q 'not JSON: skipped' "$T_TMP/ingressd.log" && ok "garbage line logged" || fail "garbage log"
ctl /fault '{"kind":"oversized_object","bytes":80000,"namespace":"t","name":"first"}'
eventually "oversized object skipped, logged with its name and the macro" grep -q 'object first over 65536 bytes (ING_MAX_OBJECT_BYTES)' "$T_TMP/ingressd.log"
is "$(get first.test /b)" "b1 /b" && ok "... its previous version still serves" || fail "previous version"
ctl /fault '{"kind":"bad_chunk","resource":"ingresses"}'
ingress_s1 badchunk badchunk.test
eventually "bad chunk size: reconnects" sh -c "curl -s -H 'Host: badchunk.test' http://127.0.0.1:$HTTP/ | grep -q b1"
ctl /fault '{"kind":"status","code":500,"count":3,"resource":"services"}'
ctl /fault '{"kind":"close_all_watches","resource":"services"}'
eventually "500s: backs off and recovers" sh -c "grep -q 'services: HTTP 500; retrying' $T_TMP/ingressd.log"
ctl /fault '{"kind":"stall","resource":"secrets"}'
ctl /fault '{"kind":"close_all_watches","resource":"secrets"}'
alive && ok "still running after a stalled stream" || fail "died"
ctl /fault '{"kind":"drip","bytes_per_sec":2000,"count":2}'
ctl /fault '{"kind":"close_all_watches","resource":"ingresses"}'
ingress_s1 drip drip.test
WAIT=150 eventually "a slow drip of bytes still delivers" sh -c "curl -s -H 'Host: drip.test' http://127.0.0.1:$HTTP/ | grep -q b1"
ctl /fault '{"kind":"compact"}'
ingress_s1 aftercompact aftercompact.test
eventually "410 on compaction: relist" grep -q 'relisting' "$T_TMP/ingressd.log"
eventually "... and converges" sh -c "curl -s -H 'Host: aftercompact.test' http://127.0.0.1:$HTTP/ | grep -q b1"
curl -s http://127.0.0.1:$WEB/metrics | grep -q '^ingressd_watch_relists_total{kind="ingress"} [2-9]' && ok "relists counted" ||
	fail "relist metric"
# a relist must also notice what was deleted meanwhile
kill -STOP $IPID
kdelete ingresses/t/drip
ctl /fault '{"kind":"compact"}'
kill -CONT $IPID
eventually "a delete missed during the outage is noticed by the relist" sh -c "curl -s -o /dev/null -w '%{http_code}' -H 'Host: drip.test' http://127.0.0.1:$HTTP/ | grep -qx 404"

# ---- the API server goes away: the last good table keeps serving
kill $APID
wait $APID 2>/dev/null
sleep 1
is "$(get first.test /c)" "b1 /c" && ok "API server gone: still serving the last table" || fail "outage"
is "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$WEB/ready)" 200 && ok "... and still ready" || fail "ready"
# ---- token rotation: the new token is read at the next connect. The new
# server has other data and resourceVersions; the outage outlasts
# KW_OUTAGE_MS (5 s) so every stream relists rather than re-watching from an
# old resourceVersion (a short blip re-watches, as client-go does).
sleep 5
echo "token-two-$$" >"$SA/token"
echo "token-two-$$" >"$T_TMP/tokens" # the old one is no longer accepted
python3 test/fakeapi.py --listen 127.0.0.1:$API --control 127.0.0.1:$CTL --tls-cert "$SA/srv.crt" --tls-key "$SA/srv.key" \
	--token-file "$T_TMP/tokens" --viewer-token-file "$T_TMP/viewer" >"$T_TMP/api2.log" 2>&1 &
APID=$!
at_exit "kill $APID"
wait_port $CTL
service_s1
ingress_s1 reborn reborn.test
WAIT=400 eventually "reconnected with the rotated token; the new server's objects routed" sh -c "curl -s -H 'Host: reborn.test' http://127.0.0.1:$HTTP/ | grep -q b1"
grep -q 'changed; using the new token' "$T_TMP/ingressd.log" && ok "token re-read on reconnect" || fail "token re-read"
WAIT=50 eventually "objects gone from the new server are swept" sh -c "curl -s -o /dev/null -w '%{http_code}' -H 'Host: first.test' http://127.0.0.1:$HTTP/ | grep -qx 404"
grep -q 'token-one\|token-two' "$T_TMP/ingressd.log" && fail "a token was logged" || ok "tokens never logged"
kill -TERM $IPID
wait $IPID
is $? 0 && ok "SIGTERM: exit 0" || fail "exit"

# ---- 401, 403 and missing API versions, with a second ingressd
run_with() { # TOKEN CONF-EXTRA -> log in $T_TMP/run.log
	echo "$1" >"$T_TMP/sa2token"
	cat >"$T_TMP/j.conf" <<EOF
[entryPoints.http]
address = "127.0.0.1:$HTTP"
[web]
address = "127.0.0.1:$WEB"
[kubernetes]
endpoint = "https://127.0.0.1:$API"
certAuthFilePath = "$SA/ca.crt"
token = "$1"
EOF
	chmod 600 "$T_TMP/j.conf"
	$B -c "$T_TMP/j.conf" 2>"$T_TMP/run.log" &
	JPID=$!
}
run_with "wrong-$$"
eventually "401: logged, retried" grep -q 'unauthorized (401)' "$T_TMP/run.log"
is "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$WEB/ready)" 503 && ok "401: not ready" || fail "401 ready"
kill $JPID
wait $JPID 2>/dev/null
run_with "viewer-$$"
eventually "403: logged with the RBAC rule to add" grep -q 'forbidden (403).*RBAC: grant get, list and watch on ingresses' "$T_TMP/run.log"
kill $JPID
wait $JPID 2>/dev/null
ctl /settings "{\"deny\":{\"token-two-$$\":[\"secrets\"]}}"
run_with "token-two-$$"
ready "403 on Secrets only: the other kinds work and it gets ready"
is "$(get reborn.test /)" "b1 /" && ok "... and routes" || fail "routes without secrets"
kill $JPID
wait $JPID 2>/dev/null
ctl /settings '{"deny":{}}'
ctl /versions '{"preset":"old"}'
run_with "token-two-$$"
ready "an old server: Ingress extensions/v1beta1, core Endpoints"
grep -q 'trying /apis/extensions/v1beta1/ingresses' "$T_TMP/run.log" && grep -q 'trying /api/v1/endpoints' "$T_TMP/run.log" &&
	ok "... found by falling back on 404" || fail "fallback"
kill $JPID
wait $JPID 2>/dev/null
grep -hE 'AddressSanitizer|runtime error' "$T_TMP/ingressd.log" "$T_TMP/run.log" | head -3
finish
