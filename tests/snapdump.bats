#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# snapdump: header, areas, exceptions (live and past the end), raw and
# hexdumped chunks, and the chunks in which snapshot and origin differ,
# on images whose every byte the test knows (mkcow or a known snapctl write sequence).

load helpers

setup() {
	setup_common
	need_tool "$SNAPDUMP"
}

# A COW with exceptions 1 -> 2 and 0 -> 3 after origin writes at 5000
# and 0, and an origin whose chunks 0 and 1 changed.
known_pair() {
	need_tool "$SNAPCTL"
	mkorigin "$T/origin" 65536
	cp "$T/origin" "$T/origin0"
	truncate -s 1M "$T/cow"
	"$SNAPCTL" create -q "$T/cow" "$T/origin"
	"$SNAPCTL" write --fill 1 --length 1 "$T/origin" "$T/cow" 5000
	"$SNAPCTL" write --fill 1 --length 1 "$T/origin" "$T/cow" 0
}

@test "--header: text and JSON" {
	need_jq
	mkcow --chunk-size 128 --size $((4 << 20)) --sequential 3 "$T/c" >/dev/null
	run "$SNAPDUMP" --header "$T/c"
	[ "$status" -eq 0 ]
	[[ "$output" == *"magic:       0x70416e53"* ]]
	[[ "$output" == *"chunk size:  65536 bytes (128 sectors)"* ]]
	[[ "$output" == *"status:      640/8192 256"* ]]
	run "$SNAPDUMP" --json --header "$T/c"
	[ "$status" -eq 0 ]
	json_eq "$(jq .header <<<"$output")" '{"magic": 1883336275,
		"magic_hex": "0x70416e53", "magic_ok": true, "valid": true,
		"version": 1, "chunk_size_bytes": 65536,
		"chunk_size_sectors": 128, "state": "valid"}'
}

@test "--header: a wrong magic is shown, not loaded" {
	need_jq
	mkcow --chunk-size 8 --size 65536 --magic deadbeef "$T/c" >/dev/null || true
	sum=$(sha "$T/c")
	# The header is still dumped; the load failure is the exit status.
	st=0
	out=$("$SNAPDUMP" --json --header "$T/c" 2>"$T/err") || st=$?
	[ "$st" -eq 1 ]
	grep -q "offset 0" "$T/err"
	[ "$(jq -r .header.magic_hex <<<"$out")" = 0xdeadbeef ]
	[ "$(jq -r .header.magic_ok <<<"$out")" = false ]
	[ "$(jq -r .status_report <<<"$out")" = null ]
	[ "$(sha "$T/c")" = "$sum" ]
}

@test "--areas: full areas and the current one" {
	need_jq
	mkcow --chunk-size 1 --size $((200 * 512)) --sequential 70 "$T/c" \
		>/dev/null
	run "$SNAPDUMP" --json --areas "$T/c"
	[ "$status" -eq 0 ]
	# epa 32: 32 + 32 + 6 at chunks 1, 34, 67
	[ "$(jq -c '[.areas[] | [.area, .chunk, .offset_bytes, .record_count,
		.full]]' \
		<<<"$output")" = \
	  '[[0,1,512,32,true],[1,34,17408,32,true],[2,67,34304,6,false]]' ]
	run "$SNAPDUMP" --areas --header "$T/c"
	[[ "$output" == *"areas: 3 (32 exceptions per area)"* ]]
	# One listing alone: the table only, as util-linux prints it.
	run_status 0 "$SNAPDUMP" --areas "$T/c"
	[ "$output" = "$(printf '%s\n' \
		'AREA CHUNK OFFSET_BYTES RECORD_COUNT FULL' \
		'   0     1          512           32 yes' \
		'   1    34        17408           32 yes' \
		'   2    67        34304            6 no')" ]
}

@test "--exceptions: disk order, text and JSON" {
	need_jq
	mkcow --chunk-size 8 --size $((1 << 20)) --records 9:2,4:3,0:4 \
		--exceptions-json "$T/e.json" "$T/c" >/dev/null
	run "$SNAPDUMP" --json --exceptions "$T/c"
	[ "$status" -eq 0 ]
	json_eq "$(jq .exceptions <<<"$output")" "$(cat "$T/e.json")"
	run_status 0 "$SNAPDUMP" --exceptions "$T/c"
	[ "$output" = "$(printf '%s\n' \
		'OLD_CHUNK NEW_CHUNK AREA INDEX' \
		'        9         2    0     0' \
		'        4         3    0     1' \
		'        0         4    0     2')" ]
	run_status 0 "$SNAPDUMP" --exceptions --header "$T/c"
	[[ "$output" == *"exceptions: 3"* ]]
}

@test "--all-slots: records past the end, flagged" {
	need_jq
	mkcow --chunk-size 1 --size $((100 * 512)) --records 7:2,8:3 "$T/c" \
		>/dev/null
	# junk after the end: slot 3 {9, 40}; the kernel never reads it
	printf '\x09\0\0\0\0\0\0\0\x28\0\0\0\0\0\0\0' |
		dd of="$T/c" bs=1 seek=$((512 + 48)) conv=notrunc status=none
	run "$SNAPDUMP" --json --exceptions "$T/c"
	[ "$(jq '.exceptions | length' <<<"$output")" -eq 2 ]
	run "$SNAPDUMP" --json --all-slots --exceptions "$T/c"
	[ "$status" -eq 0 ]
	[ "$(jq '.exceptions | length' <<<"$output")" -eq 32 ]
	[ "$(jq -c '[.exceptions[] | select(.state == "live") |
		.old_chunk]' <<<"$output")" = '[7,8]' ]
	[ "$(jq -c '[.exceptions[] | .state] | unique' <<<"$output")" = \
		'["dead","live"]' ]
	run_status 0 "$SNAPDUMP" -J -A --output +OFFSET_BYTES "$T/c"
	[ "$(jq -c '.exceptions[3] | [.old_chunk, .new_chunk, .index,
		.offset_bytes, .state]' <<<"$output")" = '[9,40,3,560,"dead"]' ]
	# ... and a status that ignores it: next free 4, area 0
	need_tool "$SNAPCTL"
	[ "$("$SNAPCTL" status "$T/c")" = "4/100 2" ]
}

@test "--raw-chunk: raw bytes of a data chunk" {
	mkcow --chunk-size 8 --size $((1 << 20)) --records 7:2 "$T/c" >/dev/null
	"$SNAPDUMP" --raw-chunk 2 "$T/c" >"$T/chunk"
	[ "$(stat -c %s "$T/chunk")" -eq 4096 ]
	cmp "$T/chunk" <(tail -c +8193 "$T/c" | head -c 4096)
	[ "$(hexat "$T/chunk" 16 16)" = 434f5721010000000700000000000000 ]
	"$SNAPDUMP" --raw-chunk 0 "$T/c" | cmp - <(head -c 4096 "$T/c")
	run "$SNAPDUMP" --raw-chunk 256 "$T/c"
	[ "$status" -eq 1 ]
	[[ "$output" == *"past the device"* ]]
	run "$SNAPDUMP" --hexdump "$T/c"
	[ "$status" -eq 2 ]
}

@test "--raw-chunk --hexdump: hexdump -C lines" {
	mkcow --chunk-size 8 --size $((1 << 20)) --records 7:2 "$T/c" >/dev/null
	run "$SNAPDUMP" --raw-chunk 2 --hexdump "$T/c"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = \
"00000000  43 4f 57 21 00 00 00 00  07 00 00 00 00 00 00 00  |COW!............|" ]
	[ "${lines[1]}" = \
"00000010  43 4f 57 21 01 00 00 00  07 00 00 00 00 00 00 00  |COW!............|" ]
	if command -v hexdump >/dev/null; then
		[ "$output" = "$(tail -c +8193 "$T/c" | head -c 4096 |
			hexdump -C)" ]
	fi
}

@test "--diff: chunks in which the snapshot and the origin differ" {
	need_jq
	known_pair
	run "$SNAPDUMP" --json --origin "$T/origin" --diff "$T/cow"
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.diff[] | [.old_chunk, .new_chunk]]' <<<"$output")" = \
		'[[0,3],[1,2]]' ]
	# chunk 0 written back as it was: saved, but no longer different
	head -c 4096 "$T/origin0" |
		dd of="$T/origin" conv=notrunc status=none
	run "$SNAPDUMP" --json --origin "$T/origin" --diff "$T/cow"
	[ "$(jq -c '[.diff[] | .old_chunk]' <<<"$output")" = '[1]' ]
	run "$SNAPDUMP" --diff "$T/cow"
	[ "$status" -eq 2 ]
}

# On disk an exception made by a snapshot write looks like one made by an
# origin write: --diff lists both, as snapdump(8) says, and nothing else.
@test "--diff: a snapshot write is listed like an origin write" {
	need_tool "$SNAPCTL"
	mkorigin "$T/origin" 65536
	truncate -s 1M "$T/cow"
	"$SNAPCTL" create -q "$T/cow" "$T/origin"
	"$SNAPCTL" write --fill 1 --length 1 "$T/origin" "$T/cow" 0
	"$SNAPCTL" write --snapshot --fill 2 --length 1 "$T/origin" \
		"$T/cow" 8192
	# saved by an origin write of the byte already there: no difference
	"$SNAPCTL" write --input <(tail -c +16385 "$T/origin" | head -c 1) \
		"$T/origin" "$T/cow" 16384
	run_status 0 "$SNAPDUMP" --origin "$T/origin" --diff "$T/cow"
	[ "$output" = "$(printf '%s\n' \
		'OLD_CHUNK NEW_CHUNK' \
		'        0         2' \
		'        2         3')" ]
	run_status 2 "$SNAPDUMP" --origin "$T/origin" --changed "$T/cow"
	grep -q -- '\\-\\-diff' "$TESTS_SRCDIR/../man/snapdump.8"
	grep -q 'the snapshot itself was written' \
		"$TESTS_SRCDIR/../man/snapdump.8"
	! grep -q -- '\\-\\-changed' "$TESTS_SRCDIR/../man/snapdump.8" || false
}

@test "default: header, areas and exceptions; nothing written" {
	known_pair
	sum=$(sha "$T/cow")
	run "$SNAPDUMP" "$T/cow"
	[ "$status" -eq 0 ]
	[[ "$output" == *"header:"* ]]
	[[ "$output" == *"areas: 1 (256 exceptions per area)"* ]]
	[[ "$output" == *"exceptions: 2"* ]]
	grep -qE '^ +1 +2 +0 +0$' <<<"$output"
	grep -qE '^ +0 +3 +0 +1$' <<<"$output"
	[ "$(sha "$T/cow")" = "$sum" ]
}

@test "an invalid COW: exceptions not read" {
	need_jq
	mkcow --chunk-size 8 --size $((1 << 20)) --sequential 4 --invalid \
		"$T/c" >/dev/null
	run "$SNAPDUMP" --json --exceptions "$T/c"
	[ "$status" -eq 0 ]
	[ "$(jq -c .exceptions <<<"$output")" = null ]
	[ "$(jq -r .status_report.status <<<"$output")" = Invalid ]
}

@test "--output, --noheadings, --raw, --json: one table, util-linux style" {
	need_jq
	mkcow --chunk-size 8 --size $((1 << 20)) --records 9:2,4:3,12345:4 \
		"$T/c" >/dev/null
	run_status 0 "$SNAPDUMP" -e -n -r --output new_chunk,OLD_CHUNK "$T/c"
	[ "$output" = "$(printf '%s\n' '2 9' '3 4' '4 12345')" ]
	run_status 0 "$SNAPDUMP" -e -n --output +offset_bytes "$T/c"
	[ "${lines[2]}" = '    12345         4    0     2         4128' ]
	# -J and the -j alias: the same document
	run_status 0 "$SNAPDUMP" -J -e --output AREA "$T/c"
	[ "$(jq -c '.exceptions' <<<"$output")" = \
		'[{"area":0},{"area":0},{"area":0}]' ]
	[ "$output" = "$("$SNAPDUMP" -j -e --output AREA "$T/c")" ]
	run_status 2 "$SNAPDUMP" --output AREA "$T/c"
	[[ "$output" == *"--output chooses the columns of one listing"* ]]
	run_status 1 "$SNAPDUMP" -e --output AREA,SLOT "$T/c"
	[[ "$output" == *"unknown column: 'SLOT'"* ]]
	run_status 2 "$SNAPDUMP" -R 2 -r "$T/c"
	for o in output noheadings raw json; do
		grep -q -- "\\\\-\\\\-$o" "$TESTS_SRCDIR/../man/snapdump.8"
		grep -q -- "--$o" "$TESTS_SRCDIR/../completions/snapdump"
	done
}
