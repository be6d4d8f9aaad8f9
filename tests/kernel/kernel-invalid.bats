#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Suite B: snapshots that run out of COW space (guest-invalid.sh). A COW
# of 64 chunks of 4 KiB holds the header, area 0 and 62 exceptions.

load helpers

setup_file() {
	boot_guest guest-invalid.sh
}

# count_results FILE RESULT: how many writes in FILE ended with RESULT.
count_results() {
	awk -v r="$2" '$2 == r' "$1" | wc -l
}

@test "P: origin writes past the COW's room invalidate the snapshot" {
	[ "$(cat "$SHARE/p/status")" = Invalid ]
	# The origin itself keeps working.
	[ "$(count_results "$SHARE/p/writes.txt" 0)" -eq 100 ]
	grep -q "Invalidating snapshot: Unable to allocate exception" "$SHARE/dmesg"
}

@test "P: an invalidated COW loads again as Invalid" {
	[ "$(cat "$SHARE/p/status-reload")" = Invalid ]
	grep -q "Snapshot is marked invalid" "$SHARE/dmesg"
}

@test "P: the kernel cleared the header's valid field, magic kept" {
	run -0 cowinfo dump --json "$SHARE/p/cow.img"
	[ "$(jq -c '[.magic, .valid, .version, .chunk_size_sectors]' <<<"$output")" = "[1883336275,false,1,8]" ]
	run -0 cowinfo status "$SHARE/p/cow.img"
	[ "$output" = Invalid ]
}

@test "P: snapctl status prints Invalid" {
	need_tool SNAPCTL
	run -0 --separate-stderr "$SNAPCTL" status "$SHARE/p/cow.img"
	[ "$output" = Invalid ]
}

@test "PO: snapshot writes fail with EIO once the COW is full: Overflow" {
	# 62 chunks fit; the rest fail, and the status says Overflow.
	[ "$(count_results "$SHARE/po/snap-writes.txt" 0)" -eq 62 ]
	[ "$(count_results "$SHARE/po/snap-writes.txt" EIO)" -eq 38 ]
	[ "$(head -n 62 "$SHARE/po/snap-writes.txt" | awk '$2 != "0"' | wc -l)" -eq 0 ]
	[ "$(cat "$SHARE/po/status-overflow")" = Overflow ]
	grep -q "Snapshot overflowed: Unable to allocate exception" "$SHARE/dmesg"
}

@test "PO: overflow is memory-only: the COW reloads valid and full" {
	# 64 chunks * 8 sectors allocated of 512; one metadata area.
	[ "$(cat "$SHARE/po/status-overflow-reload")" = "512/512 16" ]
	run -0 cowinfo status "$SHARE/po/cow-overflow.img"
	[ "$output" = "512/512 16" ]
}

@test "PO: snapctl status of the overflowed COW matches the kernel's reload" {
	need_tool SNAPCTL
	run -0 --separate-stderr "$SNAPCTL" status "$SHARE/po/cow-overflow.img"
	[ "$output" = "$(cat "$SHARE/po/status-overflow-reload")" ]
}

@test "PO: an origin write that finds no space invalidates" {
	[ "$(cat "$SHARE/po/snap-write-200.txt")" = "200 EIO" ]
	[ "$(cat "$SHARE/po/status-overflow-2")" = Overflow ]
	[ "$(cat "$SHARE/po/origin-write-300.txt")" = "300 0" ]
	[ "$(cat "$SHARE/po/status-after-origin")" = Invalid ]
	run -0 cowinfo status "$SHARE/po/cow.img"
	[ "$output" = Invalid ]
}

@test "PO: snapctl status of the invalidated COW prints Invalid" {
	need_tool SNAPCTL
	run -0 --separate-stderr "$SNAPCTL" status "$SHARE/po/cow.img"
	[ "$output" = Invalid ]
}

@test "cap: a COW holds the exceptions snapctl create reports, not one more" {
	need_tool SNAPCTL
	# 34 chunks of 512 bytes: the 32nd exception fills area 0, whose
	# successor (chunk 34) lies past the end: its zeroing invalidates.
	[ "$(cat "$SHARE/cap/status-34-31")" = "33/34 2" ]
	[ "$(cat "$SHARE/cap/status-34-32")" = Invalid ]
	[ "$(cat "$SHARE/cap/status-35-32")" = "35/35 3" ]
	[ "$(cat "$SHARE/cap/status-35-33")" = Invalid ]
	truncate -s $((34 * 512)) "$BATS_TEST_TMPDIR/c34"
	truncate -s $((35 * 512)) "$BATS_TEST_TMPDIR/c35"
	run -0 "$SNAPCTL" create --chunk-size 512 "$BATS_TEST_TMPDIR/c34"
	[[ $output == *" room for 31 exceptions" ]]
	run -0 "$SNAPCTL" create --chunk-size 512 "$BATS_TEST_TMPDIR/c35"
	[[ $output == *" room for 32 exceptions" ]]
	run -0 --separate-stderr "$SNAPCTL" status "$SHARE/cap/cow-34-31.img"
	[ "$output" = "$(cat "$SHARE/cap/status-34-31")" ]
}

@test "cut: a metadata area past the end fails activation; snapctl refuses" {
	need_tool SNAPCTL
	[ "$(cat "$SHARE/cap/cut-area-gone.status")" = EIO ]
	[ "$(cat "$SHARE/cap/cut-area-half.status")" = EIO ]
	grep -q "snapshot: Failed to read snapshot metadata (-EIO)" "$SHARE/dmesg"
	run -1 --separate-stderr "$SNAPCTL" status "$SHARE/cap/cut-area-gone.img"
	[ -z "$output" ]
	[[ $stderr == *"offset 17408: metadata area 1 (512 bytes) ends past the device end (17408 bytes): the COW was cut short"* ]]
	run -1 --separate-stderr "$SNAPCTL" status "$SHARE/cap/cut-area-half.img"
	[[ $stderr == *"offset 17408: metadata area 1 (512 bytes) ends past the device end (17664 bytes)"* ]]
}

@test "cut: data past the end: the kernel reports allocated > total and EIO; snapctl refuses" {
	need_tool SNAPCTL
	# The kernel activates it, but the status overruns the device and
	# the chunks past the cut cannot be read.
	[ "$(cat "$SHARE/cap/cut-data.status")" = "33/20 2" ]
	[ "$(cat "$SHARE/cap/cut-data.read")" = EIO ]
	run -1 --separate-stderr "$SNAPCTL" status "$SHARE/cap/cut-data.img"
	[ -z "$output" ]
	[[ $stderr == *"offset 800 (area 0 slot 18): record 18 -> 20: COW chunk 20 ends past the device end (10240 bytes, 20 whole chunks of 512 bytes)"* ]]
}
