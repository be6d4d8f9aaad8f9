#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Two paths to one storage, with real loop devices: a loop device over
# the COW file, loop over loop, loop devices over ranges of one file,
# partitions and their disk.  Every verb taking two devices refuses such
# a pair with the chain that proves it, before it writes anything; pairs
# that only look alike (disjoint ranges of one file, two partitions of
# one disk) are accepted.  Needs root and free loop devices; skips with
# the reason otherwise.  lib/dev-storage.c's own cases (dm, md,
# overlapping partitions) are unit-tested on a fake sysfs
# (unit/test-dev-storage) and in tests/kernel/kernel-activate.bats.

load helpers

bats_require_minimum_version 1.5.0

RULE_COW="a snapshot's COW cannot live on its origin"

setup() {
	setup_common
	need_tool "$SNAPCTL"
	[ "$(id -u)" -eq 0 ] || skip "needs root for loop devices"
	need_cmd losetup
	: >"$T/.loops"
	# A real path: sysfs names the loop's backing file by it.
	T=$(realpath "$T")
}

teardown() {
	# Upper devices first: a loop over a loop holds the lower one.
	if [ -s "${T:-}/.loops" ]; then
		tac "$T/.loops" | while read -r dev; do
			losetup -d "$dev" || true
		done
	fi
	teardown_common
}

# attach VAR [LOSETUP-OPTION...] FILE: a loop device in VAR, detached
# by teardown.  (Not in $(...): skip must run in the test's shell.)
attach() {
	local var=$1 dev
	shift

	dev=$(losetup -f --show "$@" 2>&1) ||
		skip "losetup -f --show $*: $dev"
	echo "$dev" >>"$T/.loops"
	printf -v "$var" %s "$dev"
}

# state: size and sha256 of every file in $T, the loops list aside.
state() {
	(cd "$T" && for f in *; do
		[ -f "$f" ] && echo "$(stat -c %s "$f") $(sha "$f") $f"
	done)
}

# refused CODE MESSAGE CMD...: CMD exits CODE, prints exactly MESSAGE,
# and no file in $T changed size or content.
refused() {
	local code=$1 want=$2 before
	shift 2
	before=$(state)
	run "$@"
	if [ "$status" -ne "$code" ] || [ "$output" != "$want" ]; then
		printf 'exit %s, expected %s\ngot:  %s\nwant: %s\n' \
			"$status" "$code" "$output" "$want" >&2
		return 1
	fi
	[ "$(state)" = "$before" ]
}

# A 4 MiB origin and a 4 MiB COW formatted with 4 KiB chunks.
mkpair() {
	mkorigin "$T/origin.img" $((4 << 20))
	truncate -s 4M "$T/cow.img"
	"$SNAPCTL" create -q --chunk-size 4K "$T/cow.img" "$T/origin.img"
}

@test "write: an origin that is a loop device over the COW is refused" {
	mkpair
	attach lo "$T/cow.img"
	refused 1 "snapctl: $lo (origin) and $T/cow.img (COW) share storage: $lo is a loop device over $T/cow.img (offset 0), which is $T/cow.img (bytes 0..4194303): $RULE_COW" \
		"$SNAPCTL" write --fill 0x5a --length 4096 "$lo" "$T/cow.img" 0
	# The other way round: the COW a loop device over the origin.
	attach lo2 "$T/origin.img"
	refused 1 "snapctl: $T/origin.img (origin) and $lo2 (COW) share storage: $lo2 is a loop device over $T/origin.img (offset 0), which is $T/origin.img (bytes 0..4194303): $RULE_COW" \
		"$SNAPCTL" write --fill 0x5a --length 4096 "$T/origin.img" \
		"$lo2" 0
}

@test "loop over loop over the COW: refused at every level" {
	mkpair
	attach lo "$T/cow.img"
	attach lo2 "$lo"
	refused 1 "snapctl: $lo2 (origin) and $T/cow.img (COW) share storage: $lo2 is a loop device over $lo (offset 0), $lo is a loop device over $T/cow.img (offset 0), which is $T/cow.img (bytes 0..4194303): $RULE_COW" \
		"$SNAPCTL" write --fill 0x5a --length 4096 "$lo2" "$T/cow.img" 0
	refused 1 "snapctl: $lo2 (COW) and $lo (origin) share storage: $lo2 is a loop device over $lo (offset 0), which is $lo (bytes 0..4194303): $RULE_COW" \
		"$SNAPCTL" create --chunk-size 4K "$lo2" "$lo"
}

@test "loop devices over ranges of one file: disjoint accepted, overlapping refused" {
	mkfile "$T/big.img" $((8 << 20))
	attach a --sizelimit 4M "$T/big.img"
	attach b --offset 4M --sizelimit 4M "$T/big.img"
	attach c --offset 2M --sizelimit 4M "$T/big.img"
	# sizelimit honoured: a ends where b starts.
	run_status 0 "$SNAPCTL" create -q --chunk-size 4K "$b" "$a"
	run_status 0 "$SNAPCTL" write -q --fill 0x5a --length 4096 "$a" "$b" 0
	[ "$(hexat "$T/big.img" $((4 << 20)) 16)" = \
		536e4170010000000100000008000000 ]
	[ "$(hexat "$T/big.img" 0 4)" = 5a5a5a5a ]
	refused 1 "snapctl: $a (origin) and $c (COW) share storage: $a is a loop device over $T/big.img (offset 0, sizelimit 4194304); $c is a loop device over $T/big.img (offset 2097152, sizelimit 4194304); both reach bytes 2097152..4194303 of $T/big.img: $RULE_COW" \
		"$SNAPCTL" write --fill 0x5a --length 4096 "$a" "$c" 0
}

@test "export, merge, status, snapdump, snapcheck --undo refuse a loop over the other device" {
	need_tool "$SNAPDUMP"
	need_tool "$SNAPCHECK"
	mkpair
	"$SNAPCTL" write -q --fill 0x5a --length 8192 "$T/origin.img" \
		"$T/cow.img" 0
	cp "$T/cow.img" "$T/out.img"
	attach lc "$T/cow.img"
	attach lo "$T/origin.img"
	attach lx "$T/out.img"
	chain="$lx is a loop device over $T/out.img (offset 0), which is $T/out.img (bytes 0..4194303)"
	refused 1 "snapctl: $T/out.img (output) and $lx (COW) share storage: $chain: the image would overwrite its own source" \
		"$SNAPCTL" export --no-progress "$T/origin.img" "$lx" \
		"$T/out.img"
	chain="$lc is a loop device over $T/cow.img (offset 0), which is $T/cow.img (bytes 0..4194303)"
	refused 1 "snapctl: $T/cow.img (COW) and $lc (backup) share storage: $chain: each device takes one role only" \
		"$SNAPCTL" merge --no-progress --backup "$lc" "$T/origin.img" \
		"$T/cow.img"
	chain="$lo is a loop device over $T/origin.img (offset 0), which is $T/origin.img (bytes 0..4194303)"
	refused 1 "snapctl: $T/origin.img (origin) and $lo (other snapshot) share storage: $chain: each device takes one role only" \
		"$SNAPCTL" merge --no-progress --yes --keep "$lo" \
		"$T/origin.img" "$T/cow.img"
	chain="$lc is a loop device over $T/cow.img (offset 0), which is $T/cow.img (bytes 0..4194303)"
	refused 1 "snapctl: $lc (origin) and $T/cow.img (COW) share storage: $chain: $RULE_COW" \
		"$SNAPCTL" status --origin "$lc" "$T/cow.img"
	refused 1 "snapdump: $lc (origin) and $T/cow.img (COW) share storage: $chain: $RULE_COW" \
		"$SNAPDUMP" --diff --origin "$lc" "$T/cow.img"
	refused 8 "snapcheck: $T/cow.img: cannot undo from $lc: $lc (undo file) and $T/cow.img (COW) share storage: $chain: the undo file is read while the COW is written" \
		"$SNAPCHECK" --undo "$lc" "$T/cow.img"
}

# mbr FILE START SECTORS [START SECTORS]: an 8 MiB disk image whose MBR
# holds Linux partitions at these sectors, written byte by byte: sfdisk
# (and the kernel's BLKPG) refuse to make overlapping ones.
mbr() {
	local f=$1 b=
	shift
	truncate -s 8M "$f"
	while [ $# -gt 0 ]; do
		b+='\0\0\0\0\x83\0\0\0'
		b+=$(printf '\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) \
			$(($1 >> 16 & 255)) 0 $(($2 & 255)) \
			$(($2 >> 8 & 255)) $(($2 >> 16 & 255)) 0)
		shift 2
	done
	# shellcheck disable=SC2059 # the escapes are the point
	printf "$b" | dd of="$f" bs=1 seek=446 conv=notrunc status=none
	printf '\x55\xaa' | dd of="$f" bs=1 seek=510 conv=notrunc status=none
}

# parts VAR FILE: attach FILE with its partitions as VAR; where the
# kernel does not parse MBRs, partx adds them (BLKPG), if it can.
parts() {
	local dev
	attach "$1" -P "$2"
	dev=${!1}
	[ -b "${dev}p2" ] || partx -a "$dev" 2>/dev/null || true
	[ -b "${dev}p2" ] || skip "no partitions on $dev: the kernel did not read its MBR (MSDOS_PARTITION) and partx could not add them"
}

@test "partitions: a partition and its disk refused, two partitions accepted" {
	mbr "$T/disk.img" 2048 2048 6144 4096
	parts d "$T/disk.img"
	refused 1 "snapctl: ${d}p2 (COW) and $d (origin) share storage: ${d}p2 is partition 2 of $d (bytes 3145728..5242879), which is $d (bytes 3145728..5242879): $RULE_COW" \
		"$SNAPCTL" create --chunk-size 4K "${d}p2" "$d"
	refused 1 "snapctl: ${d}p1 (origin) and $T/disk.img (COW) share storage: ${d}p1 is partition 1 of $d (bytes 1048576..2097151), $d is a loop device over $T/disk.img (offset 0), which is $T/disk.img (bytes 1048576..2097151): $RULE_COW" \
		"$SNAPCTL" write --fill 0x5a --length 4096 "${d}p1" \
		"$T/disk.img" 0
	run_status 0 "$SNAPCTL" create -q --chunk-size 4K "${d}p2" "${d}p1"
	run_status 0 "$SNAPCTL" write -q --fill 0x5a --length 4096 "${d}p1" \
		"${d}p2" 0
	[ "$(hexat "$T/disk.img" $((3 << 20)) 4)" = 536e4170 ]
	[ "$(hexat "$T/disk.img" $((1 << 20)) 4)" = 5a5a5a5a ]
}

@test "partitions that overlap on one disk are refused" {
	# Partition 2 starts inside partition 1.
	mbr "$T/mbr.img" 2048 4096 4096 4096
	parts d "$T/mbr.img"
	refused 1 "snapctl: ${d}p2 (COW) and ${d}p1 (origin) share storage: ${d}p2 is partition 2 of $d (bytes 2097152..4194303); ${d}p1 is partition 1 of $d (bytes 1048576..3145727); both reach bytes 2097152..3145727 of $d: $RULE_COW" \
		"$SNAPCTL" create --chunk-size 4K "${d}p2" "${d}p1"
}
