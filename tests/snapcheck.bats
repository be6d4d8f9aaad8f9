#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# snapcheck against the damage corpus (tests/damage/mkdamage.py): every
# rule's damage gives exactly its codes and exit status, -n never writes,
# -y then -n is clean, --undo puts back the exact bytes, and a crash at
# any write of a repair leaves a COW that can be checked and repaired.

bats_require_minimum_version 1.5.0

setup_file() {
	: "${SNAPCHECK:=$BATS_TEST_DIRNAME/../tools/snapcheck}"
	export SNAPCHECK
	export CORPUS="$BATS_FILE_TMPDIR/corpus"
	python3 "$BATS_TEST_DIRNAME/damage/mkdamage.py" "$CORPUS" \
		--random "${SNAPCHECK_RANDOM:-60}"
}

setup() {
	W="$BATS_TEST_TMPDIR"
}

extra_args() {
	local x
	x=$(awk -F'\t' -v n="$1" '$1 == n { print $4 }' "$CORPUS/MANIFEST")
	echo "${x//@ORIGIN@/$CORPUS/origin.img}"
}

codes_of() {
	python3 -c 'import json, sys
d = json.load(sys.stdin)
print(",".join(sorted({f["code"] for f in d["findings"]})) or "-")'
}

@test "usage errors exit 16" {
	run "$SNAPCHECK"
	[ "$status" -eq 16 ]
	run "$SNAPCHECK" -n -y "$CORPUS/good.img"
	[ "$status" -eq 16 ]
	run "$SNAPCHECK" --bogus "$CORPUS/good.img"
	[ "$status" -eq 16 ]
}

@test "a missing device is an operational error (8)" {
	run "$SNAPCHECK" -n "$W/nope"
	[ "$status" -eq 8 ]
}

@test "a report that cannot be written is an operational error (8), not 'corrected'" {
	[ -w /dev/full ] || skip "no /dev/full"
	run --separate-stderr bash -c '"$0" -n "$1" >/dev/full' \
		"$SNAPCHECK" "$CORPUS/good.img"
	[ "$status" -eq 8 ]
	[ "$stderr" = "snapcheck: write error on standard output: No space left on device" ]
	run --separate-stderr bash -c '"$0" -n --json "$1" >/dev/full' \
		"$SNAPCHECK" "$CORPUS/good.img"
	[ "$status" -eq 8 ]
}

@test "an unwritten report is 8 alone: not 12 with errors, not 9 after -y" {
	[ -w /dev/full ] || skip "no /dev/full"
	run -4 "$SNAPCHECK" -n "$CORPUS/dup-old.img"
	run --separate-stderr bash -c '"$0" -n "$1" >/dev/full' \
		"$SNAPCHECK" "$CORPUS/dup-old.img"
	[ "$status" -eq 8 ]
	run --separate-stderr bash -c '"$0" -n --json "$1" >/dev/full' \
		"$SNAPCHECK" "$CORPUS/dup-old.img"
	[ "$status" -eq 8 ]
	cp "$CORPUS/dup-old.img" "$W/c.img"
	run --separate-stderr bash -c '"$0" -y --backup "$1" "$2" >/dev/full' \
		"$SNAPCHECK" "$W/u.bin" "$W/c.img"
	[ "$status" -eq 8 ]
	# The repair itself happened: only its report was lost.
	run -0 "$SNAPCHECK" -n "$W/c.img"
}

@test "every rule: exact codes, exit status, -n writes nothing" {
	local name codes rc extra
	while IFS=$'\t' read -r name codes rc extra; do
		[ "$codes" = "*" ] && continue
		cp "$CORPUS/$name.img" "$W/c.img"
		"$SNAPCHECK" -n --json $(extra_args "$name") "$W/c.img" \
			> "$W/out.json" || true
		run codes_of < "$W/out.json"
		echo "$name: want $codes got $output"
		[ "$output" = "$codes" ]
		run "$SNAPCHECK" -n $(extra_args "$name") "$W/c.img"
		echo "$name: want exit $rc got $status"
		[ "$status" -eq "$rc" ]
		cmp "$W/c.img" "$CORPUS/$name.img"
	done < "$CORPUS/MANIFEST"
}

@test "-y then -n is clean, and --undo restores the exact bytes" {
	local name codes rc extra
	while IFS=$'\t' read -r name codes rc extra; do
		cp "$CORPUS/$name.img" "$W/c.img"
		rm -f "$W/u.bin"
		run "$SNAPCHECK" -y --backup "$W/u.bin" $(extra_args "$name") "$W/c.img"
		echo "$name: -y exit $status"
		[ "$status" -ne 8 ] && [ "$status" -lt 16 ]
		local ystatus=$status
		run "$SNAPCHECK" -n $(extra_args "$name") "$W/c.img"
		echo "$name: -n after -y exit $status: $output"
		[ "$status" -eq 0 ] || [ "$status" -eq 4 -a "$ystatus" -eq 4 ]
		if [ -f "$W/u.bin" ]; then
			run "$SNAPCHECK" --undo "$W/u.bin" "$W/c.img"
			[ "$status" -eq 0 ]
			cmp "$W/c.img" "$CORPUS/$name.img"
		fi
	done < "$CORPUS/MANIFEST"
}

@test "-y with no --backup names its undo file in the current directory" {
	cp "$CORPUS/stale-tail.img" "$W/c.img"
	cd "$W"
	run "$SNAPCHECK" -y c.img
	[ "$status" -eq 1 ]
	[[ "$output" == *"undo file: snapcheck-undo-c.img-"*".bin"* ]]
	ls snapcheck-undo-c.img-*.bin
}

@test "--undo refuses a device changed since the repair" {
	cp "$CORPUS/dup-old.img" "$W/c.img"
	run "$SNAPCHECK" -y --backup "$W/u.bin" "$W/c.img"
	[ "$status" -eq 1 ]
	printf '\x01' | dd of="$W/c.img" bs=1 seek=4100 conv=notrunc 2>/dev/null
	run "$SNAPCHECK" --undo "$W/u.bin" "$W/c.img"
	[ "$status" -eq 8 ]
	[[ "$output" == *"neither the saved nor the repaired"* ]]
}

@test "--json is one document with findings and a summary" {
	run "$SNAPCHECK" -n --json "$CORPUS/new-past-end.img"
	[ "$status" -eq 4 ]
	echo "$output" | python3 -c 'import json, sys
d = json.load(sys.stdin)
f = d["findings"][0]
assert f["code"] == "SC011" and f["rule"] == "new-past-end", f
assert f["area"] == 0 and f["offset_bytes"] == 4096 + 16 * f["index"], f
assert d["summary"]["error_count"] >= 1 and d["exit_code"] == 4'
}

@test "--json escapes what it prints: a device name with quotes" {
	cp "$CORPUS/new-past-end.img" "$W/a\"b\\c.img"
	run "$SNAPCHECK" -n --json "$W/a\"b\\c.img"
	[ "$status" -eq 4 ]
	echo "$output" | python3 -c 'import json, sys
d = json.load(sys.stdin)
assert d["cow"].endswith("a\"b\\c.img"), d["cow"]'
}

@test "a progress bar on a terminal's stderr, never on a pipe" {
	cp "$CORPUS/dup-old.img" "$W/p.img"
	run "$SNAPCHECK" -y --backup "$W/p.bin" "$W/p.img"
	[ "$status" -eq 1 ]
	[[ "$output" != *"checking ["* ]]
	[[ "$output" != *"repairing ["* ]]
	command -v script >/dev/null || skip "no script(1)"
	cp "$CORPUS/dup-old.img" "$W/p.img"
	rm -f "$W/p.bin"
	# stderr a terminal, stdout a file: the bar goes to the terminal.
	run script -qec "\"$SNAPCHECK\" -y --backup \"$W/p.bin\" \"$W/p.img\" >\"$W/out\"" \
		"$W/tty"
	[ "$status" -eq 1 ]
	grep -q "checking \[" "$W/tty"
	grep -q "repairing \[" "$W/tty"
	! grep -q "checking \[" "$W/out" || false
	run script -qec "\"$SNAPCHECK\" -q -n \"$W/p.img\"" "$W/tty2"
	[ "$status" -eq 0 ]
	! grep -q "checking \[" "$W/tty2" || false
}

# Crash after each write of a full repair, then: check must not crash,
# -y then -n must end clean, and --undo must give back the original.
crash_case() {
	local name=$1 n writes
	cp "$CORPUS/$name.img" "$W/full.img"
	rm -f "$W/full.bin"
	run "$SNAPCHECK" -y --backup "$W/full.bin" "$W/full.img"
	[ "$status" -eq 1 ]
	writes=$(echo "$output" | sed -n 's/.*repaired: \([0-9]*\) metadata.*/\1/p')
	echo "$name: $writes writes"
	[ "$writes" -ge 1 ]
	for ((n = 0; n < writes; n++)); do
		cp "$CORPUS/$name.img" "$W/c.img"
		rm -f "$W/u.bin"
		SNAPCOW_FAULT_INJECT=crash:$n run "$SNAPCHECK" -y \
			--backup "$W/u.bin" "$W/c.img"
		echo "$name crash:$n: $status $output"
		[ "$status" -eq 8 ]
		cp "$W/c.img" "$W/crashed.img"
		run "$SNAPCHECK" -n "$W/c.img"
		[ "$status" -eq 0 ] || [ "$status" -eq 4 ]
		run "$SNAPCHECK" -y --backup "$W/u2.bin" "$W/c.img"
		[ "$status" -le 1 ]
		run "$SNAPCHECK" -n "$W/c.img"
		echo "$name crash:$n then -y, -n: $status $output"
		[ "$status" -eq 0 ]
		rm -f "$W/u2.bin"
		run "$SNAPCHECK" --undo "$W/u.bin" "$W/crashed.img"
		[ "$status" -eq 0 ]
		cmp "$W/crashed.img" "$CORPUS/$name.img"
	done
}

@test "crash at every write of a repair: dropped records" {
	crash_case dup-old
	crash_case new-past-end
}

@test "crash at every write of a repair: header, tail and areas" {
	crash_case header-magic
	crash_case list-truncated
	crash_case end-past-device
	crash_case nothing-left
}

@test "crash at every write of a repair: a large compaction" {
	python3 - "$W/big.img" <<'PY'
import struct, sys
cb, epa = 4096, 256
n = 3 * epa + 40
buf = bytearray((2 + 4 * (epa + 1)) * cb)
struct.pack_into("<IIII", buf, 0, 0x70416E53, 1, 1, 8)
nxt = 2
for g in range(n):
    a, s = divmod(g, epa)
    new = nxt if g != 5 else 10 ** 7       # one bad record early on
    struct.pack_into("<QQ", buf, (1 + a * (epa + 1)) * cb + 16 * s, g, new)
    nxt += 1
    if nxt % (epa + 1) == 1:
        nxt += 1
open(sys.argv[1], "wb").write(buf)
PY
	cp "$W/big.img" "$CORPUS/big.img"
	crash_case big
}

# Found by the fuzzer: rewriting a damaged header (chunk size 0) must not
# set the valid flag of a snapshot the kernel invalidated, which would
# expose records nobody checked.
@test "repairing an invalid COW's header keeps it invalid" {
	local img=$BATS_TEST_TMPDIR/inv.img
	python3 - "$img" <<'PY'
import struct, sys
buf = bytearray(12659)
buf[0:16] = struct.pack("<4I", 0x70416e53, 0, 1, 0)
for i in range(32):			# area 0 at chunk 1 (512-byte chunks)
	struct.pack_into("<QQ", buf, 512 + 16 * i, 100 + i, 2 + i)
open(sys.argv[1], "wb").write(buf)
PY
	run "$SNAPCHECK" -y --backup "$BATS_TEST_TMPDIR/undo" "$img"
	[ "$status" -eq 1 ]
	[ "$(od -An -tu4 -j4 -N4 "$img" | tr -d ' ')" = 0 ]
	[ "$(od -An -tu4 -j12 -N4 "$img" | tr -d ' ')" = 1 ]
	run "$SNAPCHECK" -n "$img"
	[ "$status" -eq 0 ]
	[[ "$output" == *SC005* ]]
}
