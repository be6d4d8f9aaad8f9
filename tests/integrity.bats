#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Silent wrong results (issue 9): a COW cut short is refused by every
# loader with the offset; snapctl create reports the room the kernel
# gives; snapcheck -y fixes a header whose chunk size was changed and
# keeps every record; garbage is not a "new" COW; merge --backup proves
# a resumed backup is this merge's and sizes a new one right.

bats_require_minimum_version 1.5.0

load helpers

setup() {
	setup_common
	need_tool "$SNAPCTL"
	: "${SNAPCHECK:=$TESTS_SRCDIR/../build/tools/snapcheck}"
}

# unchanged: every file in $T has the hashes recorded in $T/.sums.
remember() {
	(cd "$T" && sha256sum -- * >.sums)
}

unchanged() {
	(cd "$T" && sha256sum --quiet -c .sums) &&
		[ "$(cd "$T" && ls)" = "$(cd "$T" && awk '{ print $2 }' .sums | sort)" ]
}

# A 1 MiB origin and COW with 20 exceptions (chunks 2..21, 4 KiB).
mkpair() {
	mkorigin "$T/origin" $((1 << 20))
	truncate -s 1M "$T/cow"
	"$SNAPCTL" create -q "$T/cow" "$T/origin"
	"$SNAPCTL" write --fill 0x5a --length $((20 * 4096)) "$T/origin" \
		"$T/cow" 0
}

@test "a COW cut inside its data: status, export, merge, write refuse with the offset" {
	mkpair
	truncate -s $((12 * 4096)) "$T/cow"
	remember
	local why=": offset 4256 (area 0 slot 10): record 10 -> 12: COW chunk 12 ends past the device end (49152 bytes, 12 whole chunks of 4096 bytes): the COW was cut short"
	run -1 --separate-stderr "$SNAPCTL" status "$T/cow"
	[ -z "$output" ]
	[[ $stderr == *"$why"* ]]
	# The path once: the library's message does not repeat it.
	[[ $stderr == "snapctl: $T/cow: cannot load the COW$why"* ]]
	run -1 --separate-stderr "$SNAPCTL" export "$T/origin" "$T/cow" "$T/out"
	[[ $stderr == *"$why"* ]]
	run -1 --separate-stderr "$SNAPCTL" merge --yes "$T/origin" "$T/cow"
	[[ $stderr == *"$why"* ]]
	run -1 --separate-stderr "$SNAPCTL" write --fill 1 --length 1 \
		"$T/origin" "$T/cow" 0
	[[ $stderr == *"$why"* ]]
	unchanged
}

@test "a COW cut inside a metadata area: refused as the kernel does" {
	mkorigin "$T/origin" $((1 << 20))
	truncate -s $((258 * 4096 + 4096)) "$T/cow"
	"$SNAPCTL" create -q "$T/cow" "$T/origin"
	# 256 exceptions fill area 0; area 1 (chunk 258) is zeroed.
	"$SNAPCTL" write --fill 0x5a --length $((256 * 4096)) "$T/origin" \
		"$T/cow" 0
	run -0 "$SNAPCTL" status "$T/cow"
	[ "$output" = "2072/2072 24" ]
	truncate -s $((258 * 4096 + 2048)) "$T/cow"
	remember
	run -1 --separate-stderr "$SNAPCTL" status "$T/cow"
	[ -z "$output" ]
	[[ $stderr == *": offset 1056768: metadata area 1 (4096 bytes) ends past the device end (1058816 bytes): the COW was cut short; the kernel fails to activate it (reading its metadata: EIO)" ]]
	run -1 --separate-stderr "$SNAPCTL" export "$T/origin" "$T/cow" "$T/out"
	[[ $stderr == *"offset 1056768: metadata area 1"* ]]
	unchanged
}

@test "create: the room it reports is what the kernel gives" {
	# 258 chunks: area 0's 256 data chunks fill it, and area 1 would
	# be chunk 258, past the end: the 256th exception invalidates.
	truncate -s $((258 * 4096)) "$T/a"
	run -0 "$SNAPCTL" create "$T/a"
	[ "$output" = "$T/a: formatted: 1.0 MiB, chunk size 4096 bytes (8 sectors), 256 exceptions per area, room for 255 exceptions" ]
	truncate -s $((259 * 4096)) "$T/b"
	run -0 "$SNAPCTL" create "$T/b"
	[[ $output == *", room for 256 exceptions" ]]
}

@test "snapcheck -y: a header chunk size changed to another valid one is fixed, every record kept" {
	need_tool "$SNAPCHECK"
	mkpair
	cp "$T/cow" "$T/good"
	printf '\x10' | dd of="$T/cow" bs=1 seek=12 conv=notrunc status=none
	run -4 "$SNAPCHECK" -n "$T/cow"
	[[ ${lines[0]} == *"SC003 header-chunk-size: error: "*"offset 12: chunk size 16 sectors, but the areas were written with 8 sectors (20 records fit in area 0) [-y would rewrite the header with the chunk size inferred from the areas]" ]]
	run -1 "$SNAPCHECK" -y --backup "$T/undo" "$T/cow"
	cmp "$T/cow" "$T/good"
	run -0 "$SNAPCTL" status "$T/cow"
	[ "$output" = "176/2048 16" ]
}

@test "snapcheck --json: random bytes are state unknown, not new" {
	need_tool "$SNAPCHECK"
	need_jq
	python3 -c 'import random, sys; sys.stdout.buffer.write(random.Random(9).randbytes(1 << 20))' >"$T/junk"
	run -4 --separate-stderr "$SNAPCHECK" -n --json "$T/junk"
	[ "$(jq -r .summary.state <<<"$output")" = unknown ]
	[ "$(jq -c '[.findings[].code]' <<<"$output")" = '["SC001"]' ]
	truncate -s 1M "$T/zero"
	run -0 --separate-stderr "$SNAPCHECK" -n --json "$T/zero"
	[ "$(jq -r .summary.state <<<"$output")" = new ]
}

# A 64 KiB origin (every byte says where it is) and a COW whose
# snapshot changed $1 chunks of 4 KiB; the origin before in $T/pre.
mkmerge() {
	mkorigin "$T/origin" 65536
	truncate -s 1M "$T/cow"
	"$SNAPCTL" create -q "$T/cow" "$T/origin"
	"$SNAPCTL" write --snapshot --fill 0x33 --length $(($1 * 4096)) \
		"$T/origin" "$T/cow" 0
	cp "$T/origin" "$T/pre"
}

@test "merge --backup NEW: one to four chunks, sized to hold them" {
	local n
	for n in 1 2 3 4 300; do
		rm -rf "$T"/*
		mkorigin "$T/origin" $((2 << 20))
		truncate -s 4M "$T/cow"
		"$SNAPCTL" create -q "$T/cow" "$T/origin"
		"$SNAPCTL" write --snapshot --fill 0x33 --length $((n * 4096)) \
			"$T/origin" "$T/cow" 0
		cp "$T/origin" "$T/pre"
		run -0 "$SNAPCTL" merge -q --backup "$T/backup" "$T/origin" "$T/cow"
		# Header, areas, the chunks, and the room the kernel gives.
		[ "$(stat -c %s "$T/backup")" -eq $(((n + n / 256 + 3) * 4096)) ]
		"$SNAPCTL" export --no-progress "$T/origin" "$T/backup" "$T/undo"
		cmp "$T/undo" "$T/pre"
	done
}

@test "merge --backup NEW: a refused or failed merge leaves no file behind" {
	mkmerge 3
	remember
	run -1 "$SNAPCTL" merge --backup "$T/backup" --keep "$T/none" \
		"$T/origin" "$T/cow"
	unchanged
	# The backup's first write fails: the file it made is removed.
	SNAPCOW_FAULT_INJECT=fail:1 run -1 "$SNAPCTL" merge \
		--backup "$T/backup" "$T/origin" "$T/cow"
	[[ $output == *"cannot format the backup"* ]]
	unchanged
	# An empty file given as the backup is put back empty.
	touch "$T/empty"
	remember
	SNAPCOW_FAULT_INJECT=fail:1 run -1 "$SNAPCTL" merge \
		--backup "$T/empty" "$T/origin" "$T/cow"
	unchanged
}

@test "merge --backup: another origin's snapshot is refused, naming chunk and offsets" {
	mkmerge 5
	mkfile "$T/o2" 65536 5a
	truncate -s 1M "$T/other"
	"$SNAPCTL" create -q "$T/other" "$T/o2"
	"$SNAPCTL" write --fill 0x44 --length 8192 "$T/o2" "$T/other" 4096
	remember
	run -1 --separate-stderr "$SNAPCTL" merge --backup "$T/other" \
		"$T/origin" "$T/cow"
	[ "$stderr" = "snapctl: $T/other: refusing the backup: backup holds origin chunk 1 (origin offset 4096, backup offset 8192), but the origin there holds neither the backup's copy nor data merged from the COW: not the backup of this merge of $T/cow; give --backup a new file" ]
	unchanged
}

@test "merge --backup: an interrupted merge's backup is proved, then resumed" {
	mkorigin "$T/origin" 65536
	truncate -s 1M "$T/cow"
	"$SNAPCTL" create -q --chunk-size 512 "$T/cow" "$T/origin"
	# Separate runs: several merge steps.
	local c
	for c in 3 9 20 40 77; do
		"$SNAPCTL" write --snapshot --fill 0x33 --length 1024 \
			"$T/origin" "$T/cow" $((c * 512))
	done
	cp "$T/origin" "$T/pre"
	"$SNAPCTL" export --no-progress "$T/origin" "$T/cow" "$T/expect"
	# The first crash point (each device stops after its Nth write)
	# that leaves runs {77, 78} and {40, 41} merged.
	local n
	cp "$T/origin" "$T/o0"
	cp "$T/cow" "$T/c0"
	for n in $(seq 3 40); do
		cp "$T/o0" "$T/origin"
		cp "$T/c0" "$T/cow"
		rm -f "$T/backup"
		SNAPCOW_FAULT_INJECT=crash:$n run -1 "$SNAPCTL" merge \
			--backup "$T/backup" "$T/origin" "$T/cow"
		[ "$("$SNAPCTL" status "$T/cow")" != "8/2048 2" ] || break
	done
	[ "$("$SNAPCTL" status "$T/cow")" = "8/2048 2" ]
	rm "$T/o0" "$T/c0"
	cp "$T/origin" "$T/crashed"
	# Chunk 77 was merged first: the origin must still hold its data.
	printf 'X' | dd of="$T/origin" bs=1 seek=$((77 * 512 + 9)) \
		conv=notrunc status=none
	remember
	run -1 --separate-stderr "$SNAPCTL" merge --backup "$T/backup" \
		"$T/origin" "$T/cow"
	[[ $stderr == *"backup holds origin chunk 77 (origin offset 39424, backup offset 1024), but the origin there holds neither the backup's copy nor data merged from the COW"* ]]
	unchanged
	cp "$T/crashed" "$T/origin"
	run -0 --separate-stderr "$SNAPCTL" merge --backup "$T/backup" \
		"$T/origin" "$T/cow"
	[[ $stderr == *"resuming with the backup left by an interrupted merge"* ]]
	cmp "$T/origin" "$T/expect"
	"$SNAPCTL" export --no-progress "$T/origin" "$T/backup" "$T/undo"
	cmp "$T/undo" "$T/pre"
}

@test "merge --backup: a backup held by another process is not sized or written" {
	need_cmd flock
	mkmerge 3
	touch "$T/held"
	remember
	local fd
	exec {fd}>>"$T/held"
	flock -x "$fd"
	run -1 "$SNAPCTL" merge --backup "$T/held" "$T/origin" "$T/cow"
	exec {fd}>&-
	[[ $output == *"held"* ]]
	unchanged
}
