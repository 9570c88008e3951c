#!/bin/sh
# test/arm.sh - the unit tests and fuzz corpora, built static (musl) for
# aarch64 and armhf and run under qemu-user; the static daemon for both,
# run once and held to the size budget.
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
suite arm
LIMITS=${TEST_LIMITS:?run through make test or make test-arm}
for tc in port/toolchain/aarch64-linux-gnu.mk port/toolchain/arm-linux-gnueabihf.mk; do
	arch=$(sed -n 's/^ARCH *= *//p' $tc)
	xcc=$(sed -n 's/^XCC *= *//p' $tc)
	qemu=$(sed -n 's/^QEMU *= *//p' $tc)
	triplet=$(sed -n 's/^TRIPLET *= *//p' $tc)
	mkdir -p build/$arch
	# the daemon itself: it runs, and stays in the size budget (README)
	if ${MAKE:-make} -s cross TOOLCHAIN=$tc >build/$arch/cross.log 2>&1; then
		size=$(wc -c <build/$arch/ingressd)
		check "$arch: the static daemon runs under qemu" sh -c "$qemu build/$arch/ingressd --version | grep -q '^ingressd '"
		[ "$size" -lt 400000 ] && ok "$arch: stripped daemon $size bytes < 400000" ||
			fail "$arch: stripped daemon $size bytes, over the 400 KB budget"
		# musl's printf family (with long double formatting) is ~20 KB: port/fmt.c
		# replaces it, and one stray call (inet_ntop, strftime, ...) brings it back
		nm=$(sed -n 's/^XSTRIP *= *//p' $tc | sed 's/strip$/nm/')
		pf=$($nm build/$arch/ingressd.debug | grep -wE 'printf_core|fmt_fp|vfprintf|vsnprintf' | head -3 | tr '\n' ' ')
		[ -z "$pf" ] && ok "$arch: no printf family from the C library (port/fmt.c)" ||
			fail "$arch: the C library's printf family is linked: $pf"
		# nor its malloc (8.4 KB): ingressd's heap (ing_alloc) and port_map replace it
		ml=$($nm build/$arch/ingressd.debug | grep -E ' (malloc|calloc|realloc|free|mmap|munmap)$' | head -3 | tr '\n' ' ')
		[ -z "$ml" ] && ok "$arch: no malloc from the C library (ing_alloc)" ||
			fail "$arch: the C library's malloc is linked: $ml"
	else
		fail "$arch: make cross"
		tail -20 build/$arch/cross.log
	fi
	# the DNS resolver as musl builds it (port/posix.c through
	# test/resolve.c): /etc/hosts, numeric addresses, a bad name, a
	# nameserver that never answers
	if $xcc -std=c11 -Wall -Wextra -Werror -Wno-unused-function -Os -Ibuild/inc -static -o build/$arch/resolve \
		test/resolve.c 2>build/$arch/resolve.err; then
		printf '127.0.0.1 localhost\nfd00::2 web.example # v6\n10.0.0.1 Web.Example\n' >"$T_TMP/hosts"
		printf 'nameserver 127.54.%d.%d\noptions timeout:1 attempts:1\n' $(($$ % 200)) $(($$ % 250 + 2)) >"$T_TMP/resolv.conf"
		out=$($qemu build/$arch/resolve "$T_TMP/hosts" "$T_TMP/resolv.conf" web.example. 127.0.0.9 fd00::1 a..b nx.example. |
			sed 's/ \[[0-9]* ms\]$//' | tr '\n' '|')
		is "$out" "web.example.: 10.0.0.1 fd00::2|127.0.0.9: 127.0.0.9|fd00::1: fd00::1|a..b: error: not a valid host name|\
nx.example.: error: DNS server timeout (asking for nx.example)|" && ok "$arch: the DNS resolver on musl" ||
			fail "$arch: the DNS resolver on musl: $out"
	else
		fail "$arch: test/resolve.c builds"
		cat build/$arch/resolve.err
	fi
	for src in test/unit*.c; do
		u=$(basename "$src" .c)
		if $xcc -std=c11 -Wall -Wextra -Werror -Wno-unused-function -O1 -g -Ibuild/inc -DING_TEST $LIMITS -static \
			-o build/$arch/$u "$src" port/mock.c port/ev_poll.c port/tls_bearssl.c port/fortify.c \
			/usr/lib/$triplet/libbearssl.a 2>build/$arch/$u.err; then
			ok "$arch: $u builds"
		else
			fail "$arch: $u builds"
			cat build/$arch/$u.err
			continue
		fi
		out=$($qemu build/$arch/$u 2>&1)
		line=$(echo "$out" | tail -n 1)
		if echo "$line" | grep -qE '^[a-z_]+: [0-9]+ passed, 0 failed$'; then
			ok "$arch: $line"
		else
			fail "$arch: $u: $line"
			echo "$out" | grep FAIL | head -20
		fi
	done
done
finish
