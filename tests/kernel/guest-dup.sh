# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Guest side of kernel-dup.bats: which of two records for one origin
# chunk the kernel serves. /share holds origin.img, CASES and one COW per
# case (tests/kernel/mkdup.py). For each case NAME the kernel loads
# 'snapshot ORIGIN NAME.img P 0' and reads the whole snapshot; kept in
# /share: NAME.sha256 (total, then one hash per 4 KiB chunk), NAME.status,
# NAME.table; and dmesg.

# shellcheck source=guest-lib.sh
. "$SNAPCOW_KERNEL_DIR/guest-lib.sh"

load_modules

w=/tmp/dup
mkdir -p "$w"
cp "$SHARE/origin.img" "$w/origin.img"
lo=$(losetup -f --show -r "$w/origin.img")
sectors=$(blockdev --getsz "$lo")
args=()
loops=("$lo")
while read -r name chunk winner; do
	cp "$SHARE/$name.img" "$w/$name.img"
	lc=$(losetup -f --show "$w/$name.img")
	loops+=("$lc")
	dm_create "dup-$name" "0 $sectors snapshot $lo $lc P 0"
	dm_status "dup-$name" >"$SHARE/$name.status"
	dmsetup table "dup-$name" >"$SHARE/$name.table"
	args+=("/dev/mapper/dup-$name" "$SHARE/$name.sha256")
	echo "guest: $name: chunk $chunk, model says COW chunk $winner"
done <"$SHARE/CASES"
# One python run hashes every snapshot (python starts slowly under TCG).
workload hash 4096 "${args[@]}"
while read -r name _; do
	dmsetup remove "dup-$name"
done <"$SHARE/CASES"
losetup -d "${loops[@]}"
dmesg >"$SHARE/dmesg"
