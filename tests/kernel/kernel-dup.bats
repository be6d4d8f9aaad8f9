#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Two records for one origin chunk (snapcheck's SC012): which one does the
# kernel serve? mkdup.py builds COWs whose every chunk says where it came
# from; the guest (guest-dup.sh) loads each with 'snapshot ORIGIN COW P 0'
# and reads the whole snapshot. The tests check the kernel against the
# model in lib/kmodel.c, snapcheck's choice and snapctl export.

load helpers

setup_file() {
	export DUP=$BATS_FILE_TMPDIR/share
	mkdir -p "$DUP"
	python3 "$KDIR/mkdup.py" "$DUP"
	# Keep pristine copies: the tests repair and export on the host.
	mkdir -p "$BATS_FILE_TMPDIR/orig"
	cp "$DUP"/*.img "$BATS_FILE_TMPDIR/orig/"
	boot_guest guest-dup.sh
}

# served NAME CHUNK: where the kernel's data for origin chunk CHUNK came
# from: 'cow N' or 'origin N' (the chunks' texts name them).
served() {
	python3 - "$BATS_FILE_TMPDIR/orig" "$SHARE/$1.sha256" "$2" <<'PY'
import hashlib, sys
d, hashes, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3])
want = open(hashes).read().split()[1 + chunk]
cb = 4096
def text(t):
    t = t.encode()
    return (t * (cb // len(t) + 1))[:cb]
for c in range(2, 64):
    if hashlib.sha256(text("COW chunk %d\n" % c)).hexdigest() == want:
        print("cow", c); sys.exit(0)
import os
for c in range(os.path.getsize(d + "/origin.img") // cb):
    if hashlib.sha256(text("origin chunk %d\n" % c)).hexdigest() == want:
        print("origin", c); sys.exit(0)
print("unknown")
PY
}

case_field() {
	awk -v n="$1" -v f="$2" '$1 == n { print $f }' "$SHARE/CASES"
}

check_kernel_serves_model() {
	local chunk winner
	chunk=$(case_field "$1" 2)
	winner=$(case_field "$1" 3)
	run -0 served "$1" "$chunk"
	echo "$1: kernel served '$output' for origin chunk $chunk; model: cow $winner"
	[ "$output" = "cow $winner" ]
	# The table's chunk size 0 took the header's, and the COW loaded.
	[[ "$(cat "$SHARE/$1.table")" =~ \ P\ 8$ ]]
	[ "$(cat "$SHARE/$1.status")" != Invalid ]
}

check_snapcheck() {
	need_tool SNAPCHECK
	need_tool SNAPDUMP
	local chunk winner w=$BATS_TEST_TMPDIR
	chunk=$(case_field "$1" 2)
	winner=$(case_field "$1" 3)
	cp "$BATS_FILE_TMPDIR/orig/$1.img" "$w/c.img"
	run -4 --separate-stderr "$SNAPCHECK" -n --json "$w/c.img"
	jq -r '.findings[] | select(.code == "SC012") | .detail' <<<"$output" \
		>"$w/details"
	cat "$w/details"
	[ "$(wc -l <"$w/details")" -eq 1 ]
	grep -q "origin chunk $chunk -> .*; the kernel serves COW chunk $winner " "$w/details"
	# -y keeps that record and drops the other.
	run -1 "$SNAPCHECK" -y --backup "$w/u.bin" "$w/c.img"
	run -0 --separate-stderr "$SNAPDUMP" --json --exceptions "$w/c.img"
	[ "$(jq -c --argjson c "$chunk" '[.exceptions[] | select(.old_chunk == $c) | .new_chunk]' <<<"$output")" = "[$winner]" ]
	run -0 "$SNAPCHECK" -n "$w/c.img"
}

check_export() {
	need_tool SNAPCTL
	local w=$BATS_TEST_TMPDIR o=$BATS_FILE_TMPDIR/orig
	run -0 "$SNAPCTL" export "$o/origin.img" "$o/$1.img" "$w/snap.img"
	same_image "$w/snap.img" "$SHARE/$1.sha256" 4096
	run -0 --separate-stderr "$SNAPCTL" status "$o/$1.img"
	echo "snapctl: '$output' kernel: '$(cat "$SHARE/$1.status")'"
	[ "$output" = "$(cat "$SHARE/$1.status")" ]
}

check_export_repaired() {
	need_tool SNAPCTL
	need_tool SNAPCHECK
	local w=$BATS_TEST_TMPDIR o=$BATS_FILE_TMPDIR/orig
	cp "$o/$1.img" "$w/c.img"
	run -1 "$SNAPCHECK" -y --backup "$w/u.bin" "$w/c.img"
	run -0 "$SNAPCTL" export "$o/origin.img" "$w/c.img" "$w/snap.img"
	same_image "$w/snap.img" "$SHARE/$1.sha256" 4096
}

@test "later-wins: the kernel serves the later record (1001 -> 3), as the model says" { check_kernel_serves_model later-wins; }
@test "later-wins: snapcheck names the kernel's record and -y keeps it" { check_snapcheck later-wins; }
@test "later-wins: snapctl export gives the image the kernel served, status its status" { check_export later-wins; }
@test "later-wins: after snapcheck -y, export still gives the kernel's image" { check_export_repaired later-wins; }

@test "earlier-wins: the kernel serves the earlier record (500 -> 2), as the model says" { check_kernel_serves_model earlier-wins; }
@test "earlier-wins: snapcheck names the kernel's record and -y keeps it" { check_snapcheck earlier-wins; }
@test "earlier-wins: snapctl export gives the image the kernel served, status its status" { check_export earlier-wins; }
@test "earlier-wins: after snapcheck -y, export still gives the kernel's image" { check_export_repaired earlier-wins; }

@test "later-wins-sorted: the kernel serves the later record (1001 -> 3), as the model says" { check_kernel_serves_model later-wins-sorted; }
@test "later-wins-sorted: snapcheck names the kernel's record and -y keeps it" { check_snapcheck later-wins-sorted; }
@test "later-wins-sorted: snapctl export gives the image the kernel served, status its status" { check_export later-wins-sorted; }
@test "later-wins-sorted: after snapcheck -y, export still gives the kernel's image" { check_export_repaired later-wins-sorted; }

@test "the other chunks: the kernel serves their single records and the origin" {
	# later-wins: 1000 -> COW 2; an untouched chunk comes from the origin.
	run -0 served later-wins 1000
	[ "$output" = "cow 2" ]
	run -0 served later-wins 7
	[ "$output" = "origin 7" ]
	run -0 served earlier-wins 600
	[ "$output" = "cow 3" ]
}
