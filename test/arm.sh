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
	mkdir -p build/$arch
	if $xcc -std=c11 -Wall -Wextra -Werror -Wno-unused-function -O1 -g -Ibuild/inc -DING_TEST $LIMITS -static \
		-o build/$arch/unit test/unit.c port/mock.c port/tls_none.c 2>build/$arch/unit.err; then
		ok "$arch: unit tests build"
	else
		fail "$arch: unit tests build"
		cat build/$arch/unit.err
		continue
	fi
	out=$($qemu build/$arch/unit 2>&1)
	line=$(echo "$out" | tail -n 1)
	if echo "$line" | grep -qE '^unit: [0-9]+ passed, 0 failed$'; then
		ok "$arch: $line"
	else
		fail "$arch: $line"
		echo "$out" | grep FAIL | head -20
	fi
done
finish
