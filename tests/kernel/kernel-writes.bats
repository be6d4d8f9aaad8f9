#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Suite A: the kernel writes, snapcow reads.
#
# One VM boot (guest-writes.sh) drives dm-snapshot with seeded random
# origin and snapshot writes, O_DIRECT so partial-chunk and chunk-crossing
# bios reach the target, for several chunk sizes, and keeps the images and
# what the kernel said and served. The tests check snapcow's tools against
# that, and cowinfo.py (the harness's own reader) against both.

load helpers

# NAME:CHUNK_SECTORS:MODE:SEED:OPS:ORIGIN_MIB. With 8-sector chunks an
# area holds 256 records: cs8's ~1700 exceptions fill six areas, cs16's
# ~1050 cross into a third of 512. Sized to keep the VM run near two
# minutes on a 2-core host.
RUNS=(
	cs8:8:P:101:1600:32
	cs16:16:P:102:1000:32
	cs128:128:P:103:400:32
	cs1024:1024:P:104:200:32
	po8:8:PO:105:800:32
)

setup_file() {
	boot_guest guest-writes.sh "${RUNS[@]}"
}

# Chunk size in sectors of run $1, from the table the kernel reported.
run_cs() {
	awk '{ print $NF }' "$SHARE/$1/table"
}

check_kernel_status() {
	local d=$SHARE/$1 cs st
	cs=$(run_cs "$1")
	st=$(cat "$d/status")
	# <allocated sectors>/<COW sectors> <metadata sectors>
	[[ $st =~ ^([0-9]+)/([0-9]+)\ ([0-9]+)$ ]]
	[ "${BASH_REMATCH[2]}" -eq $(($(stat -c %s "$d/cow.img") / 512)) ]
	[ $((BASH_REMATCH[1] % cs)) -eq 0 ]
	[ $((BASH_REMATCH[3] % cs)) -eq 0 ]
	# A fresh COW: header + area 0 allocated, one area of metadata.
	[ "$(cat "$d/status-initial")" = "$((2 * cs))/${BASH_REMATCH[2]} $((2 * cs))" ]
	# Loading the COW again gives the same numbers.
	[ "$(cat "$d/status-reload")" = "$st" ]
}

check_model() {
	local d=$SHARE/$1
	# The kernel served the snapshot and origin the workload modelled,
	# and the origin image kept is the origin it served.
	[ "$(total_hash "$d/snap.sha256")" = "$(cat "$d/model-snap.sha256")" ]
	[ "$(total_hash "$d/origin.sha256")" = "$(cat "$d/model-origin.sha256")" ]
	[ "$(sha "$d/origin.img")" = "$(cat "$d/model-origin.sha256")" ]
}

check_cowinfo() {
	local d=$SHARE/$1 cb
	cb=$(($(run_cs "$1") * 512))
	run -0 cowinfo status "$d/cow.img"
	[ "$output" = "$(cat "$d/status")" ]
	cowinfo export "$d/origin.img" "$d/cow.img" "$BATS_TEST_TMPDIR/snap.img"
	same_image "$BATS_TEST_TMPDIR/snap.img" "$d/snap.sha256" "$cb"
	# The kernel allocated in the order chunks were first touched (the
	# workload issues one write at a time), one exception per chunk.
	cowinfo dump --json "$d/cow.img" | jq -r '.exceptions[].old_chunk' \
		>"$BATS_TEST_TMPDIR/old"
	diff -u "$d/chunks.txt" "$BATS_TEST_TMPDIR/old"
}

check_snapctl_status() {
	need_tool SNAPCTL
	local d=$SHARE/$1
	run -0 --separate-stderr "$SNAPCTL" status "$d/cow.img"
	echo "snapctl: '$output' kernel: '$(cat "$d/status")'"
	[ "$output" = "$(cat "$d/status")" ]
}

check_snapctl_export() {
	need_tool SNAPCTL
	local d=$SHARE/$1 cb
	cb=$(($(run_cs "$1") * 512))
	run -0 "$SNAPCTL" export "$d/origin.img" "$d/cow.img" "$BATS_TEST_TMPDIR/snap.img"
	same_image "$BATS_TEST_TMPDIR/snap.img" "$d/snap.sha256" "$cb"
}

check_snapdump() {
	need_tool SNAPDUMP
	local d=$SHARE/$1
	run -0 --separate-stderr "$SNAPDUMP" --json --exceptions "$d/cow.img"
	# Exactly the chunks the workload touched...
	jq -r '.exceptions[].old_chunk' <<<"$output" | sort -n >"$BATS_TEST_TMPDIR/got"
	sort -n "$d/chunks.txt" >"$BATS_TEST_TMPDIR/want"
	diff -u "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	# ...where the kernel put them: same COW chunk, area and slot.
	jq -c '[.exceptions[] | [.old_chunk, .new_chunk, .area, .index]]' \
		<<<"$output" >"$BATS_TEST_TMPDIR/got"
	cowinfo dump --json "$d/cow.img" |
		jq -c '[.exceptions[] | [.old_chunk, .new_chunk, .area, .index]]' \
		>"$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

check_snapcheck() {
	need_tool SNAPCHECK
	run "$SNAPCHECK" -n "$SHARE/$1/cow.img"
	[ "$status" -eq 0 ]
}

@test "cs8: kernel status line format; reload gives the same" { check_kernel_status cs8; }
@test "cs8: kernel served the modelled snapshot and origin" { check_model cs8; }
@test "cs8: cowinfo reads the kernel's COW as the kernel did" { check_cowinfo cs8; }
@test "cs8: snapctl status prints the kernel's status" { check_snapctl_status cs8; }
@test "cs8: snapctl export gives the bytes the kernel served" { check_snapctl_export cs8; }
@test "cs8: snapdump lists the kernel's exceptions" { check_snapdump cs8; }
@test "cs8: snapcheck -n finds the kernel's COW clean" { check_snapcheck cs8; }

@test "cs16: kernel status line format; reload gives the same" { check_kernel_status cs16; }
@test "cs16: kernel served the modelled snapshot and origin" { check_model cs16; }
@test "cs16: cowinfo reads the kernel's COW as the kernel did" { check_cowinfo cs16; }
@test "cs16: snapctl status prints the kernel's status" { check_snapctl_status cs16; }
@test "cs16: snapctl export gives the bytes the kernel served" { check_snapctl_export cs16; }
@test "cs16: snapdump lists the kernel's exceptions" { check_snapdump cs16; }
@test "cs16: snapcheck -n finds the kernel's COW clean" { check_snapcheck cs16; }

@test "cs128: kernel status line format; reload gives the same" { check_kernel_status cs128; }
@test "cs128: kernel served the modelled snapshot and origin" { check_model cs128; }
@test "cs128: cowinfo reads the kernel's COW as the kernel did" { check_cowinfo cs128; }
@test "cs128: snapctl status prints the kernel's status" { check_snapctl_status cs128; }
@test "cs128: snapctl export gives the bytes the kernel served" { check_snapctl_export cs128; }
@test "cs128: snapdump lists the kernel's exceptions" { check_snapdump cs128; }
@test "cs128: snapcheck -n finds the kernel's COW clean" { check_snapcheck cs128; }

@test "cs1024: kernel status line format; reload gives the same" { check_kernel_status cs1024; }
@test "cs1024: kernel served the modelled snapshot and origin" { check_model cs1024; }
@test "cs1024: cowinfo reads the kernel's COW as the kernel did" { check_cowinfo cs1024; }
@test "cs1024: snapctl status prints the kernel's status" { check_snapctl_status cs1024; }
@test "cs1024: snapctl export gives the bytes the kernel served" { check_snapctl_export cs1024; }
@test "cs1024: snapdump lists the kernel's exceptions" { check_snapdump cs1024; }
@test "cs1024: snapcheck -n finds the kernel's COW clean" { check_snapcheck cs1024; }

@test "po8 (PO): kernel status line format; reload gives the same" { check_kernel_status po8; }
@test "po8 (PO): kernel served the modelled snapshot and origin" { check_model po8; }
@test "po8 (PO): cowinfo reads the kernel's COW as the kernel did" { check_cowinfo po8; }
@test "po8 (PO): snapctl status prints the kernel's status" { check_snapctl_status po8; }
@test "po8 (PO): snapctl export gives the bytes the kernel served" { check_snapctl_export po8; }
@test "po8 (PO): snapdump lists the kernel's exceptions" { check_snapdump po8; }
@test "po8 (PO): snapcheck -n finds the kernel's COW clean" { check_snapcheck po8; }

@test "cs8 filled several metadata areas" {
	# Otherwise the area-crossing paths were not exercised.
	local meta
	meta=$(cut -d' ' -f2 "$SHARE/cs8/status")
	[ $((meta / 8 - 2)) -ge 4 ]
}
