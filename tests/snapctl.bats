#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# snapctl: every refusal of create leaves the device byte-identical and
# names its rule; write/status/export round trips with status lines
# worked out by hand from the format rules (DESIGN.md):
#   status = <next_free * cs>/<COW sectors> <(current_area + 2) * cs>

load helpers

setup() {
	setup_common
	need_tool "$SNAPCTL"
}

# refuse EXIT PATTERN FILE -- CMD...: exit status, message and bytes.
refuse() {
	local want=$1 pattern=$2 file=$3 before
	shift 4
	before=$(sha "$file")
	run "$@"
	if [ "$status" -ne "$want" ]; then
		echo "exit $status, expected $want: $output" >&2
		return 1
	fi
	if [[ "$output" != *$pattern* ]]; then
		echo "message '$output' does not say '$pattern'" >&2
		return 1
	fi
	[ "$(sha "$file")" = "$before" ]
}

@test "create: formats header and area 0, leaves data chunks alone" {
	mkfile "$T/cow" 1M ff
	run "$SNAPCTL" create --chunk-size 4K "$T/cow"
	[ "$status" -eq 0 ]
	[ "$(hexat "$T/cow" 0 16)" = 536e4170010000000100000008000000 ]
	cmp -s -n 4080 <(head -c 4096 /dev/zero) <(tail -c +17 "$T/cow")
	cmp -s -n 4096 /dev/zero <(tail -c +4097 "$T/cow")
	[ "$(hexat "$T/cow" 8192 4)" = ffffffff ]
	[ "$(hexat "$T/cow" $((1048576 - 4)) 4)" = ffffffff ]
	[ "$("$SNAPCTL" status "$T/cow")" = "16/2048 16" ]
}

@test "create: the default chunk size is 4 KiB" {
	truncate -s 1M "$T/cow"
	"$SNAPCTL" create -q "$T/cow"
	[ "$(hexat "$T/cow" 12 4)" = 08000000 ]
}

@test "create: chunk size suffixes" {
	truncate -s 4M "$T/cow"
	"$SNAPCTL" create -q --chunk-size 64K "$T/cow"
	[ "$(hexat "$T/cow" 12 4)" = 80000000 ]
	"$SNAPCTL" create -q -f --chunk-size 1s "$T/cow"
	[ "$(hexat "$T/cow" 12 4)" = 01000000 ]
	"$SNAPCTL" create -q -f --chunk-size 524288 "$T/cow"
	[ "$(hexat "$T/cow" 12 4)" = 00040000 ]
}

@test "create refuses: a filesystem signature without --force" {
	need_cmd mkfs.ext4
	truncate -s 4M "$T/fs"
	mkfs.ext4 -q -F "$T/fs" >/dev/null 2>&1
	refuse 1 "ext4 signature" "$T/fs" -- "$SNAPCTL" create "$T/fs"
	[[ "$output" == *--force* ]]
	run "$SNAPCTL" create --force "$T/fs"
	[ "$status" -eq 0 ]
	[[ "$output" == *"overwriting its ext4 signature"* ]]
	[ "$("$SNAPCTL" status "$T/fs")" = "16/8192 16" ]
}

@test "create refuses: an existing COW signature without --force" {
	truncate -s 1M "$T/cow"
	"$SNAPCTL" create -q "$T/cow"
	refuse 1 "signature" "$T/cow" -- "$SNAPCTL" create "$T/cow"
}

@test "create refuses: COW is ORIGIN (same path, hard link, symlink)" {
	truncate -s 1M "$T/dev"
	refuse 1 "same device" "$T/dev" -- "$SNAPCTL" create "$T/dev" "$T/dev"
	ln "$T/dev" "$T/hard"
	refuse 1 "same device" "$T/dev" -- "$SNAPCTL" create "$T/dev" "$T/hard"
	ln -s "$T/dev" "$T/sym"
	refuse 1 "same device" "$T/dev" -- "$SNAPCTL" create "$T/sym" "$T/dev"
	[[ "$output" == *"cannot live on its origin"* ]]
}

@test "create refuses: chunk size not a power of two" {
	truncate -s 1M "$T/cow"
	refuse 1 "not a power of two" "$T/cow" -- \
		"$SNAPCTL" create --chunk-size 3K "$T/cow"
	refuse 1 "not a power of two" "$T/cow" -- \
		"$SNAPCTL" create --chunk-size 24s "$T/cow"
	[ "$(sha "$T/cow")" = "$(truncate -s 1M "$T/z" && sha "$T/z")" ]
}

@test "create refuses: chunk size above the kernel's limit" {
	truncate -s 1M "$T/cow"
	refuse 1 "maximum" "$T/cow" -- "$SNAPCTL" create --chunk-size 2G "$T/cow"
}

@test "create refuses: chunk size below a file's 512-byte block" {
	truncate -s 1M "$T/cow"
	refuse 1 "512-byte sectors" "$T/cow" -- \
		"$SNAPCTL" create --chunk-size 256 "$T/cow"
}

@test "create refuses: chunk size below a 4096-byte loop device's block" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for a loop device"
	need_cmd losetup
	truncate -s 4M "$T/backing"
	loop=$(losetup --find --show --sector-size 4096 "$T/backing" \
		2>/dev/null) || skip "no loop device with 4096-byte sectors"
	[ "$(blockdev --getss "$loop")" -eq 4096 ] || {
		losetup -d "$loop"
		skip "loop device did not take 4096-byte sectors"
	}
	before=$(sha "$T/backing")
	run "$SNAPCTL" create --chunk-size 2K "$loop"
	st=$status
	out=$output
	run "$SNAPCTL" create -q --chunk-size 4K "$loop"
	st2=$status
	losetup -d "$loop"
	[ "$st" -eq 1 ]
	[[ "$out" == *"logical block size"* ]]
	[ "$st2" -eq 0 ]
	[ "$(hexat "$T/backing" 12 4)" = 08000000 ]
	[ "$before" != "$(sha "$T/backing")" ]
}

@test "create refuses: COW too small for header, area and a chunk" {
	truncate -s 8K "$T/cow"
	refuse 1 "too small" "$T/cow" -- "$SNAPCTL" create "$T/cow"
	truncate -s 12K "$T/cow"
	run "$SNAPCTL" create -q "$T/cow"
	[ "$status" -eq 0 ]
	[ "$("$SNAPCTL" status "$T/cow")" = "16/24 16" ]
}

@test "create: usage errors exit 2" {
	truncate -s 1M "$T/cow"
	refuse 2 "no COW" "$T/cow" -- "$SNAPCTL" create
	refuse 2 "unknown option" "$T/cow" -- "$SNAPCTL" create --bogus "$T/cow"
	refuse 2 "" "$T/cow" -- "$SNAPCTL" create "$T/cow" "$T/cow" "$T/cow"
	run "$SNAPCTL" bogus
	[ "$status" -eq 2 ]
	run "$SNAPCTL"
	[ "$status" -eq 2 ]
}

@test "--help and --version exit 0" {
	for cmd in create status write export; do
		run "$SNAPCTL" "$cmd" --help
		[ "$status" -eq 0 ]
		[[ "$output" == *"Usage: snapctl $cmd"* ]]
	done
	run "$SNAPCTL" --version
	[ "$status" -eq 0 ]
}

@test "write: origin writes copy each chunk once; exact status" {
	mkorigin "$T/origin" 65536
	cp "$T/origin" "$T/origin0"
	truncate -s 1M "$T/cow"
	"$SNAPCTL" create -q --chunk-size 4K "$T/cow" "$T/origin"
	# chunk 1 -> COW chunk 2: next free 3
	"$SNAPCTL" write --fill 0x41 --length 10 "$T/origin" "$T/cow" 5000
	[ "$("$SNAPCTL" status "$T/cow")" = "24/2048 16" ]
	[ "$(hexat "$T/origin" 5000 10)" = 41414141414141414141 ]
	cmp -s <(tail -c +4097 "$T/origin0" | head -c 4096) \
		<(tail -c +8193 "$T/cow" | head -c 4096)
	# the same chunk again: nothing new
	"$SNAPCTL" write --fill 0x42 --length 1 "$T/origin" "$T/cow" 4096
	[ "$("$SNAPCTL" status "$T/cow")" = "24/2048 16" ]
	# two bytes across chunks 3 and 4: two more, next free 5
	"$SNAPCTL" write --fill 0x43 --length 2 "$T/origin" "$T/cow" 16383
	[ "$("$SNAPCTL" status "$T/cow")" = "40/2048 16" ]
	# records on disk: {1,2} {3,3} {4,4}
	[ "$(hexat "$T/cow" 4096 48)" = "$(printf '%s' \
		01000000000000000200000000000000 \
		03000000000000000300000000000000 \
		04000000000000000400000000000000)" ]
}

@test "write: input from a file and from standard input" {
	mkorigin "$T/origin" 65536
	truncate -s 1M "$T/cow"
	"$SNAPCTL" create -q "$T/cow"
	printf 'hello' >"$T/in"
	"$SNAPCTL" write --input "$T/in" "$T/origin" "$T/cow" 100
	[ "$(tail -c +101 "$T/origin" | head -c 5)" = hello ]
	printf 'world' | "$SNAPCTL" write "$T/origin" "$T/cow" 8192
	[ "$(tail -c +8193 "$T/origin" | head -c 5)" = world ]
	"$SNAPCTL" write --input "$T/in" --length 2 "$T/origin" "$T/cow" 0
	[ "$(head -c 2 "$T/origin")" = he ]
	[ "$("$SNAPCTL" status "$T/cow")" = "32/2048 16" ]
}

@test "write: 512-byte chunks across an area boundary" {
	mkorigin "$T/origin" 65536
	truncate -s 100K "$T/cow"
	"$SNAPCTL" create -q --chunk-size 512 "$T/cow"
	# epa 32: 40 chunks go to 2..33 and 35..42; current area 1
	"$SNAPCTL" write --fill 0 --length $((40 * 512)) "$T/origin" "$T/cow" 0
	[ "$("$SNAPCTL" status "$T/cow")" = "43/200 3" ]
	[ "$(hexat "$T/cow" $((34 * 512)) 16)" = \
		20000000000000002300000000000000 ]
}

@test "write: a full COW is invalidated by an origin write" {
	mkorigin "$T/origin" 65536
	cp "$T/origin" "$T/origin0"
	truncate -s 16K "$T/cow"
	"$SNAPCTL" create -q "$T/cow" "$T/origin"
	"$SNAPCTL" write --fill 1 --length 1 "$T/origin" "$T/cow" 0
	"$SNAPCTL" write --fill 1 --length 1 "$T/origin" "$T/cow" 4096
	[ "$("$SNAPCTL" status "$T/cow")" = "32/32 16" ]
	run "$SNAPCTL" write --fill 1 --length 1 "$T/origin" "$T/cow" 8192
	[ "$status" -eq 0 ]
	[[ "$output" == *"invalidated"* ]]
	[ "$("$SNAPCTL" status "$T/cow")" = Invalid ]
	[ "$(hexat "$T/cow" 4 4)" = 00000000 ]
	[ "$(hexat "$T/origin" 8192 1)" = 01 ]
	run "$SNAPCTL" write --snapshot --fill 1 --length 1 "$T/origin" \
		"$T/cow" 0
	[ "$status" -eq 1 ]
	[[ "$output" == *"invalid"* ]]
	run "$SNAPCTL" export "$T/origin" "$T/cow" "$T/out"
	[ "$status" -eq 1 ]
}

@test "write --keep: every snapshot of the origin keeps its image" {
	mkorigin "$T/origin" 65536
	truncate -s 1M "$T/cow" "$T/cow2"
	"$SNAPCTL" create -q "$T/cow"
	"$SNAPCTL" create -q --chunk-size 512 "$T/cow2"
	cp "$T/origin" "$T/before"
	"$SNAPCTL" write --keep "$T/cow2" --fill 0x42 --length 5000 \
		"$T/origin" "$T/cow" 1000
	# 1000..6000: chunks 0 and 1 of 4 KiB in cow, 1 to 11 of 512 in cow2.
	[ "$("$SNAPCTL" status "$T/cow")" = "32/2048 16" ]
	[ "$("$SNAPCTL" status "$T/cow2")" = "13/2048 2" ]
	"$SNAPCTL" export --no-progress "$T/origin" "$T/cow" "$T/out"
	"$SNAPCTL" export --no-progress "$T/origin" "$T/cow2" "$T/out2"
	cmp "$T/out" "$T/before"
	cmp "$T/out2" "$T/before"
	run_status 2 "$SNAPCTL" write --snapshot --keep "$T/cow2" --fill 1 \
		--length 1 "$T/origin" "$T/cow" 0
	[ "${lines[0]}" = "snapctl: --keep is for origin writes: a write into the snapshot (--snapshot) changes no other snapshot" ]
}

@test "write --snapshot: the origin is untouched; export shows it" {
	mkorigin "$T/origin" 65536
	truncate -s 1M "$T/cow"
	"$SNAPCTL" create -q "$T/cow"
	sum=$(sha "$T/origin")
	"$SNAPCTL" write --snapshot --fill 0x42 --length 4096 "$T/origin" \
		"$T/cow" 32768
	"$SNAPCTL" write --snapshot --fill 0x43 --length 3 "$T/origin" \
		"$T/cow" 100
	[ "$(sha "$T/origin")" = "$sum" ]
	[ "$("$SNAPCTL" status "$T/cow")" = "32/2048 16" ]
	"$SNAPCTL" export --no-progress "$T/origin" "$T/cow" "$T/out"
	python3 - "$T/origin" "$T/expect" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[32768:36864] = b"\x42" * 4096
b[100:103] = b"\x43" * 3
open(sys.argv[2], "wb").write(b)
EOF
	cmp "$T/out" "$T/expect"
}

@test "export: point-in-time image after origin writes" {
	mkorigin "$T/origin" $((256 * 1024 + 1536))
	cp "$T/origin" "$T/origin0"
	truncate -s 2M "$T/cow"
	"$SNAPCTL" create -q --chunk-size 8K "$T/cow" "$T/origin"
	for off in 0 1000 70000 262000 $((256 * 1024 + 900)); do
		"$SNAPCTL" write --fill 0x5a --length 600 "$T/origin" \
			"$T/cow" "$off"
	done
	! cmp -s "$T/origin" "$T/origin0" || false
	"$SNAPCTL" export "$T/origin" "$T/cow" "$T/out"
	cmp "$T/out" "$T/origin0"
	# 8 KiB chunks 0, 8, 31, 32 (the short last one): next free 6
	[ "$("$SNAPCTL" status "$T/cow")" = "96/4096 32" ]
}

@test "export: a regular OUT keeps the origin's holes; --no-sparse fills it" {
	truncate -s 4M "$T/origin"
	printf '\x11%.0s' $(seq 65536) |
		dd of="$T/origin" bs=64K seek=16 conv=notrunc status=none
	truncate -s 1M "$T/cow"
	"$SNAPCTL" create -q --chunk-size 4K "$T/cow" "$T/origin"
	"$SNAPCTL" write --fill 0x22 --length 4096 "$T/origin" "$T/cow" $((1 << 20))
	"$SNAPCTL" write --snapshot --fill 0x33 --length 4096 "$T/origin" \
		"$T/cow" $((3 << 20))
	# An OUT with old data longer than the image: emptied first.
	head -c 8M /dev/zero | tr '\0' '\377' >"$T/out"
	run "$SNAPCTL" export --no-progress "$T/origin" "$T/cow" "$T/out"
	[ "$status" -eq 0 ] && [ -z "$output" ]
	"$SNAPCTL" export --no-progress --no-sparse "$T/origin" "$T/cow" "$T/full"
	cmp "$T/out" "$T/full"
	[ "$(stat -c %s "$T/out")" -eq $((4 << 20)) ]
	# The origin's data before the write, the snapshot write, zeros.
	[ "$(od -An -tx1 -j $((1 << 20)) -N 4 "$T/out")" = " 11 11 11 11" ]
	[ "$(od -An -tx1 -j $((3 << 20)) -N 4 "$T/out")" = " 33 33 33 33" ]
	[ "$(od -An -tx1 -j $((2 << 20)) -N 4 "$T/out")" = " 00 00 00 00" ]
	# 64 KiB of origin data and one 4 KiB chunk allocated, not 4 MiB.
	local used=$(($(stat -c %b "$T/out") * 512))
	echo "allocated: sparse $used, full $(($(stat -c %b "$T/full") * 512))"
	[ "$used" -ge $((68 << 10)) ] && [ "$used" -le $((128 << 10)) ]
	[ "$(($(stat -c %b "$T/full") * 512))" -ge $((4 << 20)) ]
}

@test "status: --json and --ima" {
	need_jq
	mkorigin "$T/origin" 65536
	truncate -s 1M "$T/cow"
	"$SNAPCTL" create -q "$T/cow"
	"$SNAPCTL" write --fill 1 --length 1 "$T/origin" "$T/cow" 0
	run "$SNAPCTL" status --json --origin "$T/origin" "$T/cow"
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.state, .valid, .exception_count, .next_free_chunk,
		.sectors_allocated, .cow_sectors, .metadata_sectors,
		.status, .chunk_size_sectors, .origin]' <<<"$output")" = \
	  "[\"valid\",true,1,3,24,2048,16,\"24/2048 16\",8,\"$T/origin\"]" ]
	[ "$("$SNAPCTL" status --ima --origin "$T/origin" "$T/cow")" = \
"target_name=snapshot,target_version=1.16.0,snap_origin_name=$T/origin,snap_cow_name=$T/cow,snap_valid=y,snap_merge_failed=n,snapshot_overflowed=n;" ]
	run "$SNAPCTL" status --ima "$T/cow"
	[ "$status" -eq 2 ]
}

@test "status: refusals" {
	truncate -s 1M "$T/cow"
	printf 'XXXX' | dd of="$T/cow" conv=notrunc status=none
	refuse 1 "offset 0" "$T/cow" -- "$SNAPCTL" status "$T/cow"
	run "$SNAPCTL" status "$T/missing"
	[ "$status" -eq 1 ]
	run "$SNAPCTL" status
	[ "$status" -eq 2 ]
}

@test "write: usage errors and range" {
	mkorigin "$T/origin" 65536
	truncate -s 1M "$T/cow"
	"$SNAPCTL" create -q "$T/cow"
	sum=$(sha "$T/cow")
	refuse 2 "exclude" "$T/origin" -- "$SNAPCTL" write --fill 1 \
		--input "$T/origin" "$T/origin" "$T/cow" 0
	refuse 2 "" "$T/origin" -- "$SNAPCTL" write "$T/origin" "$T/cow"
	refuse 1 "origin's end" "$T/origin" -- "$SNAPCTL" write --fill 1 \
		--length 2 "$T/origin" "$T/cow" 65535
	refuse 1 "same device" "$T/origin" -- "$SNAPCTL" write --fill 1 \
		--length 1 "$T/origin" "$T/origin" 0
	[ "$(sha "$T/cow")" = "$sum" ]
}
