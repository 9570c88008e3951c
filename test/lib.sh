# test/lib.sh - helpers for the shell suites. Source it, call `suite NAME`,
# then ok/fail/check, and `finish` prints "NAME: N passed, M failed".
T_PASS=0
T_FAIL=0
T_NAME=test
T_TMP=
suite() {
	T_NAME=$1
	T_TMP=$(mktemp -d "/tmp/ingressd-$1.XXXXXX")
	trap 't_cleanup' EXIT INT TERM
}
# Commands to run at exit (kill servers), newest first.
T_CLEANUP=
at_exit() { T_CLEANUP="$*; $T_CLEANUP"; }
t_cleanup() {
	eval "$T_CLEANUP" >/dev/null 2>&1
	[ -n "$T_TMP" ] && [ -z "$KEEP_TMP" ] && rm -rf "$T_TMP"
}
ok() { T_PASS=$((T_PASS + 1)); [ -n "$VERBOSE" ] && echo "ok   $*"; return 0; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL $*"; return 0; }
# check "description" command...: passes when the command succeeds
check() { d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else fail "$d"; fi; }
finish() { echo "$T_NAME: $T_PASS passed, $T_FAIL failed"; [ "$T_FAIL" -eq 0 ]; }
# A free TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# Wait until a TCP port accepts (up to ~5 s).
wait_port() {
	i=0
	while [ $i -lt 100 ]; do
		python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); s.connect(('${2:-127.0.0.1}', $1))" 2>/dev/null && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}
# The stand-in API server's control port is $CTL: kapply < YAML, kdelete PATH.
kapply() { curl -sf -X POST --data-binary @- -H 'Content-Type: application/yaml' "http://127.0.0.1:$CTL/objects" >/dev/null; }
kdelete() { curl -sf -X DELETE "http://127.0.0.1:$CTL/objects/$1" >/dev/null; }
# eventually DESC CMD...: CMD succeeds within WAIT tenths of a second,
# checked every 0.1 s. Without WAIT, the suite's EVENTUALLY_WAIT, else 50
# (rebuilds are coalesced).
eventually() {
	d=$1
	shift
	i=0
	while [ $i -lt "${WAIT:-${EVENTUALLY_WAIT:-50}}" ]; do
		if "$@" >/dev/null 2>&1; then
			ok "$d"
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	fail "$d"
}
is() { [ "$1" = "$2" ]; }
has() { echo "$1" | grep -q -- "$2"; }
# get HOST PATH [curl args]: the body of http://127.0.0.1:$HTTP PATH for Host HOST
get() {
	h=$1
	p=$2
	shift 2
	curl -s -H "Host: $h" "$@" "http://127.0.0.1:$HTTP$p"
}
