# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Guest side of kernel-invalid.bats: snapshots that run out of COW space.
#
# /share/p (persistent, P): origin writes past the COW's room. Keeps
#   status (after the writes), status-reload (the invalid COW loaded again),
#   writes.txt (result per origin write: 'CHUNK 0|ERRNO'), origin.img, cow.img.
# /share/po (PO): snapshot writes past the room, then one origin write to
#   a fresh chunk. Keeps status-overflow (after the snapshot writes),
#   snap-writes.txt, cow-overflow.img + status-overflow-reload (the COW as
#   the overflow left it, loaded again), status-after-origin, cow.img.
# /share/dmesg: the kernel log.

# shellcheck source=guest-lib.sh
. "$SNAPCOW_KERNEL_DIR/guest-lib.sh"

load_modules

CS=8            # 4 KiB chunks
COW_CHUNKS=64   # header, area 0 and room for 62 exceptions
ORIGIN_MIB=8

# setup_pair NAME MODE: origin + snapshot over fresh loop devices.
setup_pair() {
	local name=$1 mode=$2 w=/tmp/$1
	mkdir -p "$w" "$SHARE/$name"
	workload gen "$w/origin.img" $((ORIGIN_MIB << 20)) 7
	truncate -s $((COW_CHUNKS * CS * 512)) "$w/cow.img"
	LO=$(losetup -f --show "$w/origin.img")
	LC=$(losetup -f --show "$w/cow.img")
	SECTORS=$((ORIGIN_MIB * 2048))
	dm_create "$name-origin" "0 $SECTORS snapshot-origin $LO"
	dm_create "$name-snap" "0 $SECTORS snapshot $LO $LC $mode $CS"
	# See guest-writes.sh: the origin learns the chunk size on resume.
	dmsetup suspend "$name-origin"
	dmsetup resume "$name-origin"
}

# write_chunks DEV FIRST [LAST]: one direct 4 KiB write per chunk; prints
# 'CHUNK 0' or 'CHUNK EIO' (etc.) for each.
write_chunks() {
	workload chunks "$1" $((CS * 512)) "$2" "${3:-$2}"
}

# --- P: origin writes overflow: the kernel invalidates the snapshot.
setup_pair p P
write_chunks /dev/mapper/p-origin 0 99 >"$SHARE/p/writes.txt"
dm_status p-snap >"$SHARE/p/status"
dmsetup remove p-snap
dm_create p-snap "0 $SECTORS snapshot $LO $LC P $CS"
dm_status p-snap >"$SHARE/p/status-reload"
dmsetup remove p-snap p-origin
losetup -d "$LO" "$LC"
copy_out /tmp/p/origin.img "$SHARE/p/origin.img"
copy_out /tmp/p/cow.img "$SHARE/p/cow.img"
rm -rf /tmp/p

# --- PO: snapshot writes overflow: "Overflow", nothing written to disk.
setup_pair po PO
write_chunks /dev/mapper/po-snap 0 99 >"$SHARE/po/snap-writes.txt"
dm_status po-snap >"$SHARE/po/status-overflow"
dmsetup remove po-snap
copy_out /tmp/po/cow.img "$SHARE/po/cow-overflow.img"
dm_create po-snap "0 $SECTORS snapshot $LO $LC PO $CS"
dm_status po-snap >"$SHARE/po/status-overflow-reload"
dmsetup remove po-snap
# Overflow again in memory, then an origin write to a chunk with no
# exception: that must find no space and invalidate the snapshot.
dm_create po-snap "0 $SECTORS snapshot $LO $LC PO $CS"
dmsetup suspend po-origin
dmsetup resume po-origin
write_chunks /dev/mapper/po-snap 200 >"$SHARE/po/snap-write-200.txt"
dm_status po-snap >"$SHARE/po/status-overflow-2"
write_chunks /dev/mapper/po-origin 300 >"$SHARE/po/origin-write-300.txt"
dm_status po-snap >"$SHARE/po/status-after-origin"
dmsetup remove po-snap po-origin
losetup -d "$LO" "$LC"
copy_out /tmp/po/cow.img "$SHARE/po/cow.img"
rm -rf /tmp/po

dmesg >"$SHARE/dmesg"
