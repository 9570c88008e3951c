#!/bin/sh
# test/arm.sh - the unit tests and fuzz corpora, built static (musl) for
# aarch64 and armhf and run under qemu-user.
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
	for src in test/unit*.c; do
		u=$(basename "$src" .c)
		if $xcc -std=c11 -Wall -Wextra -Werror -Wno-unused-function -O1 -g -Ibuild/inc -DING_TEST $LIMITS -static \
			-o build/$arch/$u "$src" port/mock.c port/tls_bearssl.c port/fortify.c \
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
