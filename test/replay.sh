#!/bin/sh
# test/replay.sh - replay every fuzz corpus through its target (ASan+UBSan).
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
suite replay
for bin in build/test/replay_*; do
	[ -x "$bin" ] || continue
	t=${bin#build/test/replay_}
	if out=$("$bin" "test/fuzz/corpus/$t" 2>&1); then
		ok "$t: $out"
	else
		fail "$t corpus replay"
		echo "$out" | tail -n 20
	fi
done
finish
