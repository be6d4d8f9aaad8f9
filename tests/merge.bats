#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# snapctl merge: refusals leave every device byte-identical; a merge
# leaves the origin equal to the snapshot's exported image and the COW
# empty ("2*cs/size 2*cs"); a merge interrupted by SNAPCOW_FAULT_INJECT
# and run again ends byte for byte where an uninterrupted one does; the
# backup exports the origin as it was; other snapshots keep their images.

load helpers

setup() {
	setup_common
	need_tool "$SNAPCTL"
}

# refuse EXIT PATTERN -- CMD...: exit status, message, and no file in $T
# changed.
refuse() {
	local want=$1 pattern=$2 before
	shift 3
	before=$(cd "$T" && sha256sum -- * 2>/dev/null)
	run "$@"
	if [ "$status" -ne "$want" ]; then
		echo "exit $status, expected $want: $output" >&2
		return 1
	fi
	if [[ "$output" != *$pattern* ]]; then
		echo "message '$output' does not say '$pattern'" >&2
		return 1
	fi
	[ "$(cd "$T" && sha256sum -- * 2>/dev/null)" = "$before" ]
}

# A 256 KiB + 1536 origin (a short last chunk) and a 4 KiB-chunk COW
# with origin writes, snapshot writes and the last chunk changed; the
# snapshot's image in $T/expect, the origin before the merge in $T/pre.
mkscene() {
	local cs=${1:-4K}

	mkorigin "$T/origin" $((256 * 1024 + 1536))
	truncate -s 2M "$T/cow"
	"$SNAPCTL" create -q --chunk-size "$cs" "$T/cow" "$T/origin"
	"$SNAPCTL" write --fill 0x5a --length 20000 "$T/origin" "$T/cow" 1000
	"$SNAPCTL" write --fill 0x5b --length 3000 "$T/origin" "$T/cow" 70000
	"$SNAPCTL" write --snapshot --fill 0x33 --length 5000 "$T/origin" \
		"$T/cow" 100000
	"$SNAPCTL" write --fill 0x11 --length 10 "$T/origin" "$T/cow" 263000
	"$SNAPCTL" write --fill 0x12 --length 8192 "$T/origin" "$T/cow" 200000
	"$SNAPCTL" export --no-progress "$T/origin" "$T/cow" "$T/expect"
	cp "$T/origin" "$T/pre"
	! cmp -s "$T/expect" "$T/pre" || false
}

@test "merge --yes: origin becomes the snapshot image, COW empties" {
	mkscene
	run "$SNAPCTL" merge --yes "$T/origin" "$T/cow"
	[ "$status" -eq 0 ]
	[[ "$output" == *"merged "*" chunks"* ]]
	cmp "$T/origin" "$T/expect"
	[ "$("$SNAPCTL" status "$T/cow")" = "16/4096 16" ]
	# Nothing left: a second run says so and changes nothing.
	refuse 0 "nothing to merge" -- "$SNAPCTL" merge "$T/origin" "$T/cow"
}

@test "merge: 512-byte chunks across areas, with a backup" {
	mkscene 512
	[ "$("$SNAPCTL" status "$T/cow" | cut -d' ' -f2)" -gt 2 ]
	run "$SNAPCTL" merge --backup "$T/backup" "$T/origin" "$T/cow"
	[ "$status" -eq 0 ]
	cmp "$T/origin" "$T/expect"
	[ "$("$SNAPCTL" status "$T/cow")" = "2/4096 2" ]
	"$SNAPCTL" export --no-progress "$T/origin" "$T/backup" "$T/undo"
	cmp "$T/undo" "$T/pre"
}

@test "merge refuses without --yes or --backup, naming --backup" {
	mkscene
	refuse 1 "--backup" -- "$SNAPCTL" merge "$T/origin" "$T/cow"
	[[ "$output" == *"overwritten"* ]]
	[[ "$output" == *"--yes"* ]]
}

@test "merge refuses: the same device twice" {
	mkscene
	cp "$T/cow" "$T/cow2"
	refuse 1 "same device" -- "$SNAPCTL" merge --yes "$T/origin" \
		"$T/origin"
	ln "$T/cow" "$T/hard"
	refuse 1 "same device" -- "$SNAPCTL" merge --yes "$T/hard" "$T/cow"
	refuse 1 "same device" -- "$SNAPCTL" merge --backup "$T/origin" \
		"$T/origin" "$T/cow"
	refuse 1 "same device" -- "$SNAPCTL" merge --backup "$T/hard" \
		"$T/origin" "$T/cow"
	refuse 1 "same device" -- "$SNAPCTL" merge --yes --keep "$T/cow" \
		"$T/origin" "$T/cow"
	refuse 1 "same device" -- "$SNAPCTL" merge --backup "$T/cow2" \
		--keep "$T/cow2" "$T/origin" "$T/cow"
	ln -s "$T/origin" "$T/sym"
	refuse 1 "same device" -- "$SNAPCTL" merge --yes --keep "$T/sym" \
		"$T/origin" "$T/cow"
}

@test "merge refuses an invalid snapshot" {
	mkscene
	printf '\0\0\0\0' | dd of="$T/cow" bs=1 seek=4 conv=notrunc status=none
	refuse 1 "invalid" -- "$SNAPCTL" merge --yes "$T/origin" "$T/cow"
}

@test "merge: a new or empty COW is nothing to do" {
	mkorigin "$T/origin" 65536
	truncate -s 1M "$T/new"
	refuse 0 "nothing to merge" -- "$SNAPCTL" merge "$T/origin" "$T/new"
	"$SNAPCTL" create -q "$T/new"
	refuse 0 "nothing to merge" -- "$SNAPCTL" merge --backup "$T/b" \
		"$T/origin" "$T/new"
	[ ! -e "$T/b" ]
}

@test "merge refuses a backup that holds other data, or is too small" {
	mkscene
	head -c 65536 /dev/urandom >"$T/data"
	printf 'XXXX' | dd of="$T/data" conv=notrunc status=none
	refuse 1 "not a snapshot COW" -- "$SNAPCTL" merge --backup "$T/data" \
		"$T/origin" "$T/cow"
	truncate -s 16K "$T/small"
	"$SNAPCTL" create -q "$T/small"
	refuse 1 "cannot hold" -- "$SNAPCTL" merge --backup "$T/small" \
		"$T/origin" "$T/cow"
}

@test "merge: usage errors exit 2" {
	mkscene
	refuse 2 "expected ORIGIN COW" -- "$SNAPCTL" merge "$T/origin"
	refuse 2 "too many" -- "$SNAPCTL" merge "$T/origin" "$T/cow" "$T/pre"
	refuse 2 "" -- "$SNAPCTL" merge --bogus "$T/origin" "$T/cow"
	run "$SNAPCTL" merge --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: snapctl merge"* ]]
}

@test "merge --keep: other snapshots keep their images" {
	mkscene
	truncate -s 2M "$T/other" "$T/other2"
	"$SNAPCTL" create -q --chunk-size 8K "$T/other"
	"$SNAPCTL" create -q --chunk-size 512 "$T/other2"
	"$SNAPCTL" write --fill 0x77 --length 100 "$T/origin" "$T/other" 5000
	"$SNAPCTL" export --no-progress "$T/origin" "$T/other" "$T/img1"
	cp "$T/origin" "$T/img2"
	"$SNAPCTL" merge -q --yes -k "$T/other" --keep "$T/other2" \
		"$T/origin" "$T/cow"
	cmp "$T/origin" "$T/expect"
	"$SNAPCTL" export --no-progress "$T/origin" "$T/other" "$T/out1"
	"$SNAPCTL" export --no-progress "$T/origin" "$T/other2" "$T/out2"
	cmp "$T/out1" "$T/img1"
	cmp "$T/out2" "$T/img2"
}

@test "merge --json: one summary document" {
	need_jq
	mkscene
	run "$SNAPCTL" merge --json --backup "$T/backup" "$T/origin" "$T/cow"
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.complete, .merged_chunk_count, .chunk_size_sectors, .status,
		.backup, .backup_resumed, .written_bytes]' <<<"$output")" = \
	  "[true,13,8,\"16/4096 16\",\"$T/backup\",false,$((12 * 4096 + 1536))]" ]
	[ "$(jq -r '.step_count' <<<"$output")" -ge 1 ]
}

# The bytes an uninterrupted merge with a backup leaves behind.
reference_merge() {
	mkdir "$T/ref"
	cp "$T/origin" "$T/cow" "$T/ref/"
	"$SNAPCTL" merge -q --backup "$T/ref/backup" "$T/ref/origin" \
		"$T/ref/cow"
	cmp "$T/ref/origin" "$T/expect"
}

@test "merge interrupted by a crash at each write resumes to the same bytes" {
	mkscene 512
	reference_merge
	local n crashed=0
	# The backup takes most writes: its crash points come first.  Every
	# fourth one here; tests/unit/test-merge tries each on each device.
	for n in 0 1 2 3 $(seq 5 4 97); do
		rm -rf "$T/run"
		mkdir "$T/run"
		cp "$T/origin" "$T/cow" "$T/run/"
		SNAPCOW_FAULT_INJECT=crash:$n run "$SNAPCTL" merge -q \
			--backup "$T/run/backup" "$T/run/origin" "$T/run/cow"
		[ "$status" -eq 0 ] || crashed=$((crashed + 1))
		run "$SNAPCTL" merge -q --backup "$T/run/backup" \
			"$T/run/origin" "$T/run/cow"
		[ "$status" -eq 0 ] || { echo "crash:$n: $output" >&2; false; }
		[ "$(sha "$T/run/origin")" = "$(sha "$T/ref/origin")" ] ||
			{ echo "crash:$n: origin differs" >&2; false; }
		[ "$(sha "$T/run/cow")" = "$(sha "$T/ref/cow")" ] ||
			{ echo "crash:$n: COW differs" >&2; false; }
		"$SNAPCTL" export --no-progress "$T/run/origin" \
			"$T/run/backup" "$T/run/undo"
		cmp "$T/run/undo" "$T/pre"
	done
	[ "$crashed" -gt 20 ]
}

@test "merge --yes interrupted at each origin write resumes to the same bytes" {
	mkscene 512
	mkdir "$T/ref"
	cp "$T/origin" "$T/cow" "$T/ref/"
	"$SNAPCTL" merge -q --yes "$T/ref/origin" "$T/ref/cow"
	local n
	for n in $(seq 0 8); do
		rm -rf "$T/run"
		mkdir "$T/run"
		cp "$T/origin" "$T/cow" "$T/run/"
		SNAPCOW_FAULT_INJECT=crash:$n run "$SNAPCTL" merge -q --yes \
			"$T/run/origin" "$T/run/cow"
		[ "$status" -eq $((n < 7)) ] || { echo "crash:$n: $status" >&2; false; }
		"$SNAPCTL" merge -q --yes "$T/run/origin" "$T/run/cow"
		cmp "$T/run/origin" "$T/expect"
		[ "$(sha "$T/run/cow")" = "$(sha "$T/ref/cow")" ]
	done
}

@test "merge --batch: one run per commit or one batch, the same bytes" {
	need_jq
	mkscene 512
	refuse 2 "--batch: expected a size" -- "$SNAPCTL" merge --yes \
		--batch 0 "$T/origin" "$T/cow"
	refuse 2 "--batch: expected a size" -- "$SNAPCTL" merge --yes \
		--batch lots "$T/origin" "$T/cow"
	mkdir "$T/one" "$T/all"
	cp "$T/origin" "$T/cow" "$T/one/"
	cp "$T/origin" "$T/cow" "$T/all/"
	run "$SNAPCTL" merge --json --yes --batch 1 "$T/one/origin" "$T/one/cow"
	[ "$status" -eq 0 ]
	local steps_one=$(jq -r .step_count <<<"$output")
	[ "$steps_one" -ge 1 ]
	run "$SNAPCTL" merge --json --yes --batch 1G "$T/all/origin" "$T/all/cow"
	[ "$status" -eq 0 ]
	[ "$(jq -r .step_count <<<"$output")" = "$steps_one" ]
	cmp "$T/one/origin" "$T/expect"
	cmp "$T/all/origin" "$T/expect"
	cmp "$T/one/cow" "$T/all/cow"
}

@test "merge: an interrupted merge resumes with its backup" {
	mkscene
	# The 15th write to a device fails: the origin holds merged chunks.
	SNAPCOW_FAULT_INJECT=crash:14 run "$SNAPCTL" merge \
		--backup "$T/backup" "$T/origin" "$T/cow"
	[ "$status" -eq 1 ]
	[[ "$output" == *"run the same command again to resume"* ]]
	! cmp -s "$T/origin" "$T/pre" || false
	run "$SNAPCTL" merge --backup "$T/backup" "$T/origin" "$T/cow"
	[ "$status" -eq 0 ]
	[[ "$output" == *"resuming with the backup"* ]]
	cmp "$T/origin" "$T/expect"
	"$SNAPCTL" export --no-progress "$T/origin" "$T/backup" "$T/undo"
	cmp "$T/undo" "$T/pre"
}
