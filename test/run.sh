#!/bin/sh
# test/run.sh [e2e] - every suite of `make test` (`make e2e`: only the
# end-to-end ones). Each suite prints a last line "NAME: N passed, M
# failed"; this sums them. A suite that dies without that line counts as one
# failure. Last line: "N passed, M failed".
cd "$(dirname "$0")/.." || exit 1
mkdir -p build/test
MODE=${1:-all}
P=0
F=0
run() {
	name=$1
	shift
	log=build/test/$name.log
	"$@" >"$log" 2>&1
	rc=$?
	line=$(grep -E '^[A-Za-z0-9_-]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "$name: no result (exit $rc); last lines of $log:"
		tail -n 30 "$log"
		F=$((F + 1))
		return
	fi
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/')
	f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	P=$((P + p))
	F=$((F + f))
	grep -q 'skipped' "$log" && line="$line ($(grep -m1 'skipped' "$log"))"
	echo "$line"
	if [ "$f" -ne 0 ]; then
		grep -E '^(FAIL|ERROR)|runtime error|AddressSanitizer' "$log" | head -n 40
	fi
}

if [ "$MODE" = all ]; then
	for src in test/unit_*.c; do
		u=$(basename "$src" .c)
		run "$u" "build/test/$u"
	done
	run cli sh test/cli.sh
	run replay sh test/replay.sh
	run yaml_diff python3 test/yaml_diff.py build/test/ymcat
	run regex_diff python3 test/regex_diff.py build/test/rxcat
	run tls sh test/tls/run.sh
fi
run fakeapi sh test/fakeapi_test.sh
for e in test/e2e_*.sh; do
	n=$(basename "$e" .sh)
	run "$n" sh "$e"
done
if [ -x build/mbedtls/ingressd ]; then # the TLS-facing suites on the other port
	run e2e_tls_mbedtls sh test/e2e_tls.sh build/mbedtls/ingressd
	run e2e_watch_mbedtls sh test/e2e_watch.sh build/mbedtls/ingressd
	run e2e_pods_tls_mbedtls sh test/e2e_pods_tls.sh build/mbedtls/ingressd
fi
if [ -x build/poll/ingressd ]; then # the poll() backend, checking its registrations every turn (ING_EV_CHECK)
	export T_SUFFIX=_poll
	for e in test/e2e_*.sh; do
		n=$(basename "$e" .sh)
		[ "$n" = e2e_deploy ] && continue # the images' static binaries: the default backend
		run "${n}_poll" sh "$e" build/poll/ingressd
	done
	unset T_SUFFIX
fi
if [ "$MODE" = all ]; then
	if [ "$(id -u)" -eq 0 ] && [ -z "$SKIP_IMAGE" ]; then
		run image sh test/image.sh
	else
		echo "image: skipped (needs root; SKIP_IMAGE unset)"
	fi
	if [ -z "$SKIP_ARM" ] && command -v qemu-aarch64-static >/dev/null && command -v aarch64-linux-gnu-gcc >/dev/null &&
		command -v arm-linux-gnueabihf-gcc >/dev/null; then
		run arm sh test/arm.sh
	else
		echo "arm: skipped (cross toolchains or qemu-user-static missing; make deps installs them)"
	fi
fi
echo "$P passed, $F failed"
[ "$F" -eq 0 ]
