#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Golden images: COWs written by golden/mkcow.py (an independent writer
# that knows nothing of libsnapcow) must read back through snapctl and
# snapdump exactly as mkcow says the kernel would report them.

load helpers

setup() {
	setup_common
	need_tool "$SNAPCTL"
	need_tool "$SNAPDUMP"
	need_jq
}

# golden NAME MKCOW-ARGS...: build $T/NAME.img and its expectations, then
# check status, status --json and snapdump --json --exceptions.
golden() {
	local name=$1 img expect got
	shift
	img=$T/$name.img
	expect=$(mkcow "$@" --exceptions-json "$T/$name.exc.json" \
		--status-json "$T/$name.status.json" "$img")
	[ -n "$expect" ]

	got=$("$SNAPCTL" status "$img")
	[ "$got" = "$expect" ] || {
		echo "status: '$got', expected '$expect'" >&2
		return 1
	}

	# Every field mkcow derives; the path-dependent ones separately.
	got=$("$SNAPCTL" status --json "$img")
	json_eq "$(jq 'del(.percent_used, .cow, .origin, .ima)' \
		<<<"$got")" "$(cat "$T/$name.status.json")"
	[ "$(jq -r .cow <<<"$got")" = "$img" ]
	[ "$(jq -r .origin <<<"$got")" = null ]

	got=$("$SNAPDUMP" --json --exceptions "$img")
	json_eq "$(jq .exceptions <<<"$got")" "$(cat "$T/$name.exc.json")"
	json_eq "$(jq 'del(.status_report.percent_used)' <<<"$got" |
		jq .status_report)" \
		"$(jq 'del(.percent_used)' <<<"$(
			"$SNAPCTL" status --json "$img")")"
}

@test "mkcow: the layout of a known list, byte for byte" {
	mkcow --chunk-size 8 --size 65536 --records 7:2,0:3 "$T/k.img"
	# header: magic, valid 1, version 1, 8 sectors
	[ "$(hexat "$T/k.img" 0 16)" = 536e4170010000000100000008000000 ]
	# area 0 at 4096: {7, 2}, {0, 3}, then the end
	[ "$(hexat "$T/k.img" 4096 32)" = \
"07000000000000000200000000000000""00000000000000000300000000000000" ]
	[ "$(hexat "$T/k.img" 4128 16)" = 00000000000000000000000000000000 ]
	# data chunk 2 names origin chunk 7
	[ "$(hexat "$T/k.img" 8192 16)" = 434f572100000000""0700000000000000 ]
}

@test "golden: 4 KiB chunks, 100 random exceptions" {
	golden r4k --chunk-size 8 --size $((4 << 20)) --random 100 --seed 1
	[ "$(cat "$T/r4k.img" | wc -c)" -eq $((4 << 20)) ]
	# 100 exceptions from chunk 2: next free 102; 102 * 8 = 816
	[ "$("$SNAPCTL" status "$T/r4k.img")" = "816/8192 16" ]
}

@test "golden: 4 KiB chunks, 600 exceptions over three areas" {
	golden s4k --chunk-size 8 --size $((4 << 20)) --sequential 600
	# 2..257, 259..514, 516..603 -> next free 604; current area 2
	[ "$("$SNAPCTL" status "$T/s4k.img")" = "4832/8192 32" ]
}

@test "golden: 64 KiB chunks" {
	golden r64k --chunk-size 128 --size $((16 << 20)) --random 40 --seed 7
	# 40 from chunk 2: next free 42; 42 * 128 = 5376; (0 + 2) * 128
	[ "$("$SNAPCTL" status "$T/r64k.img")" = "5376/32768 256" ]
}

@test "golden: 512 KiB chunks" {
	golden r512k --chunk-size 1024 --size $((8 << 20)) --random 12 --seed 3
	[ "$("$SNAPCTL" status "$T/r512k.img")" = "14336/16384 2048" ]
}

@test "golden: the last area exactly full, the next one zeroed" {
	# epa 256: 256 exceptions fill area 0; area 1 (chunk 258) is zero
	# even though everything else was filled with junk first.
	golden full --chunk-size 8 --size $((2 << 20)) --sequential 256 \
		--fill 0xa5
	[ "$(hexat "$T/full.img" $((258 * 4096)) 16)" = \
		00000000000000000000000000000000 ]
	# next free 258 is area 1: skipped to 259; current area 1
	[ "$("$SNAPCTL" status "$T/full.img")" = "2072/4096 24" ]
	run "$SNAPDUMP" --json --areas "$T/full.img"
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.areas[] | [.area, .chunk, .record_count, .full]]' \
		<<<"$output")" = '[[0,1,256,true],[1,258,0,false]]' ]
}

@test "golden: an invalidated store" {
	golden inv --chunk-size 8 --size $((1 << 20)) --sequential 10 \
		--invalid
	[ "$("$SNAPCTL" status "$T/inv.img")" = Invalid ]
	[ "$(jq .exceptions "$T/inv.exc.json")" = null ]
}

@test "golden: an all-zero (new) device" {
	# The table's default chunk size for a new COW: max(32, 512 >> 9).
	golden new --chunk-size 32 --size $((1 << 20)) --new
	[ "$("$SNAPCTL" status "$T/new.img")" = "64/2048 64" ]
	[ "$("$SNAPCTL" status --chunk-size 4K "$T/new.img")" = "16/2048 16" ]
	[ "$(sha "$T/new.img")" = "$(truncate -s 1M "$T/z" && sha "$T/z")" ]
}

@test "golden: a new device is new whatever follows the zero magic" {
	golden newjunk --chunk-size 32 --size $((1 << 20)) --new --fill 0xff
	[ "$(jq -r .state <<<"$("$SNAPCTL" status --json \
		"$T/newjunk.img")")" = new ]
}

@test "golden: explicit records, duplicates and old chunk 0" {
	golden dup --chunk-size 8 --size $((1 << 20)) \
		--records 0:2,5:3,5:4,9:7
	# next free is one past the highest new chunk: 8 * 8 = 64
	[ "$("$SNAPCTL" status "$T/dup.img")" = "64/2048 16" ]
}

@test "golden: wrong magic and version are refused" {
	mkcow --chunk-size 8 --size 65536 --magic 12345678 "$T/m.img"
	sum=$(sha "$T/m.img")
	run "$SNAPCTL" status "$T/m.img"
	[ "$status" -eq 1 ]
	[[ "$output" == *"offset 0"* ]]
	[[ "$output" == *"0x12345678"* ]]
	mkcow --chunk-size 8 --size 65536 --version 2 "$T/v.img"
	run "$SNAPCTL" status "$T/v.img"
	[ "$status" -eq 1 ]
	[[ "$output" == *"version 2"* ]]
	[ "$(sha "$T/m.img")" = "$sum" ]
}
