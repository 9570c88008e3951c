#!/bin/sh
# test/cli.sh - the binary from the outside: options, config checks with
# FILE:LINE errors, a Traefik 1.x traefik.toml, signals.
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
suite cli
B=./ingressd

out=$($B -V)
check "-V names version and TLS port" sh -c "echo '$out' | grep -q 'ingressd .* (TLS: '"
check "-V lists limits" sh -c "echo '$out' | grep -q 'ING_MAX_CONNS='"
check "-h prints usage" sh -c "$B -h | grep -q 'usage: ingressd'"
check "--help too" sh -c "$B --help | grep -q -- '--check'"
$B --bogus >/dev/null 2>&1
check "unknown option exits 2" test $? -eq 2
$B -c >/dev/null 2>&1
check "missing argument exits 2" test $? -eq 2

check "sample ingressd.conf passes -t" $B -t -c ingressd.conf
check "--check --config= form" $B --check --config=ingressd.conf

cat >"$T_TMP/bad.conf" <<'CONF'
logLevel = "INFO"
[entryPoints]
  [entryPoints.http]
  address = ":80"
  adress = ":81"
[web]
address = "nowhere"
[kubernetes]
namespaces = "default"
labelselector = "A and not B"
CONF
out=$($B -t -c "$T_TMP/bad.conf" 2>&1)
rc=$?
check "bad config exits 1" test $rc -eq 1
check "error with line 5" sh -c "echo '$out' | grep -q 'bad.conf:5: unknown key \"adress\" in \[entryPoints.http\]'"
check "error with line 7" sh -c "echo '$out' | grep -q 'bad.conf:7: address: bad address'"
check "error with line 9" sh -c "echo '$out' | grep -q 'bad.conf:9: namespaces: expected array'"
check "error with line 10" sh -c "echo '$out' | grep -q 'bad.conf:10: labelselector'"
check "all four reported" test "$(echo "$out" | grep -c 'bad.conf:[0-9]*:')" -eq 4

out=$($B -t -c "$T_TMP/missing.conf" 2>&1)
check "missing file exits 1" test $? -eq 1
check "missing file named" sh -c "echo '$out' | grep -q 'missing.conf.*No such file'"

cat >"$T_TMP/traefik.toml" <<'CONF'
debug = false
logLevel = "ERROR"
defaultEntryPoints = ["https","http"]
[entryPoints]
  [entryPoints.http]
  address = ":80"
    [entryPoints.http.redirect]
    entryPoint = "https"
  [entryPoints.https]
  address = ":443"
  [entryPoints.https.tls]
[web]
address = ":8080"
[kubernetes]
[docker]
endpoint = "unix:///var/run/docker.sock"
[acme]
email = "you@example.com"
storage = "acme.json"
[[acme.domains]]
  main = "example.com"
CONF
out=$($B -t -c "$T_TMP/traefik.toml" 2>&1)
check "traefik.toml loads" test $? -eq 0
check "one warning for [docker]" sh -c "echo '$out' | grep -c 'Traefik table' | grep -qx 2"
check "warning names line 15" sh -c "echo '$out' | grep -q 'traefik.toml:15: warning: \[docker\]'"

# A running daemon: /ping, SIGHUP with a broken file keeps running, SIGTERM exits 0.
P1=$(free_port)
P2=$(free_port)
P3=$(free_port)
cat >"$T_TMP/nokube.conf" <<CONF
[entryPoints.http]
address = "127.0.0.1:$P1"
[web]
address = "127.0.0.1:$P2"
CONF
out=$(env -u KUBERNETES_SERVICE_HOST -u KUBERNETES_SERVICE_PORT $B -c "$T_TMP/nokube.conf" 2>&1)
check "no API server configured: exit 1" test $? -eq 1
check "... saying both ways to fix it" sh -c "echo '$out' | grep -q 'set \[kubernetes\] endpoint' && echo '$out' | grep -q 'KUBERNETES_SERVICE_HOST'"
# An API server that is not there: ingressd runs, retries, and is not ready.
cat >"$T_TMP/run.conf" <<CONF
[entryPoints.http]
address = "127.0.0.1:$P1"
[web]
address = "127.0.0.1:$P2"
[kubernetes]
endpoint = "http://127.0.0.1:$P3"
CONF
$B -c "$T_TMP/run.conf" 2>"$T_TMP/run.log" &
PID=$!
at_exit "kill $PID"
if wait_port "$P2"; then
	check "/ping answers OK" sh -c "curl -sf http://127.0.0.1:$P2/ping | grep -qx OK"
	check "/ready is 503 before the first sync" sh -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$P2/ready | grep -qx 503"
	check "... and says why" sh -c "curl -s http://127.0.0.1:$P2/ready | grep -q 'not listed yet'"
	check "connect failures retried" sh -c "sleep 0.5; grep -q 'retrying in' '$T_TMP/run.log'"
	check "no route is 404" sh -c "curl -s -o /dev/null -w '%{http_code}' -H 'Host: x' http://127.0.0.1:$P1/ | grep -qx 404"
	echo 'bogus = 1' >>"$T_TMP/run.conf"
	kill -HUP $PID
	sleep 0.3
	check "broken reload is logged" grep -q 'keeping the running config' "$T_TMP/run.log"
	check "still serving after broken reload" sh -c "curl -sf http://127.0.0.1:$P2/ping | grep -qx OK"
	kill -TERM $PID
	wait $PID
	check "SIGTERM exits 0" test $? -eq 0
else
	fail "daemon did not start: $(cat "$T_TMP/run.log")"
fi

# the repository holds no leftovers of merges and editors
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	left=$(git ls-files | grep -E '\.(orig|rej)$|~$' | head -3)
	[ -z "$left" ] && ok "no tracked *.orig, *.rej or *~ files" || fail "tracked leftovers: $left"
fi
finish
