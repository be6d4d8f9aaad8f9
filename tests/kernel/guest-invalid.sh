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
# /share/cap: see the cap section below.
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

# --- cap: the last exception a COW holds, and COWs cut short. 512-byte
# chunks, 32 records an area. 34 chunks: header, area 0, data 2..33; the
# 32nd exception fills area 0 and area 1 (chunk 34) is past the end.
# 35 chunks: area 1 is chunk 34. Keeps status-34-31, status-34-32,
# status-35-32, status-35-33 (chunks, origin writes), cow-34-31.img,
# cow-35-32.img (the COWs after the first count), cut-*.status (status
# or EIO of a snapshot over a cut copy) and cut-data.read (a read of a
# chunk past the cut).
cap_pair() {
	local chunks=$1 n=$2 w=/tmp/cap
	mkdir -p "$w" "$SHARE/cap"
	truncate -s 64K "$w/origin.img"
	rm -f "$w/cow.img"
	truncate -s $((chunks * 512)) "$w/cow.img"
	LO=$(losetup -f --show "$w/origin.img")
	LC=$(losetup -f --show "$w/cow.img")
	dm_create cap-origin "0 128 snapshot-origin $LO"
	dm_create cap-snap "0 128 snapshot $LO $LC P 1"
	dmsetup suspend cap-origin
	dmsetup resume cap-origin
	workload chunks /dev/mapper/cap-origin 512 0 $((n - 1)) >/dev/null
	dm_status cap-snap >"$SHARE/cap/status-$chunks-$n"
	cp "$w/cow.img" "$SHARE/cap/cow-$chunks-$n.img"
	workload chunks /dev/mapper/cap-origin 512 "$n" "$n" >/dev/null
	dm_status cap-snap >"$SHARE/cap/status-$chunks-$((n + 1))"
	dmsetup remove cap-snap cap-origin
	losetup -d "$LO" "$LC"
}

# cut_try NAME IMAGE BYTES: a snapshot over IMAGE cut to BYTES.
cut_try() {
	local w=/tmp/cap
	cp "$2" "$w/$1.img"
	truncate -s "$3" "$w/$1.img"
	cp "$w/$1.img" "$SHARE/cap/cut-$1.img"
	LO=$(losetup -f --show "$w/origin.img")
	LC=$(losetup -f --show "$w/$1.img")
	if dmsetup create "cut-$1" --table "0 128 snapshot $LO $LC P 1"; then
		dmsetup mknodes "cut-$1"
		dm_status "cut-$1" >"$SHARE/cap/cut-$1.status"
		# Origin chunk 25 is kept in COW chunk 27, past a 20-chunk cut.
		dd if="/dev/mapper/cut-$1" of=/dev/null bs=512 skip=25 count=1 \
			iflag=direct 2>/dev/null && echo 0 >"$SHARE/cap/cut-$1.read" ||
			echo EIO >"$SHARE/cap/cut-$1.read"
		dmsetup remove "cut-$1"
	else
		echo EIO >"$SHARE/cap/cut-$1.status"
	fi
	losetup -d "$LO" "$LC"
}

cap_pair 34 31
cap_pair 35 32
cut_try area-gone "$SHARE/cap/cow-35-32.img" $((34 * 512))
cut_try area-half "$SHARE/cap/cow-35-32.img" $((34 * 512 + 256))
cut_try data "$SHARE/cap/cow-34-31.img" $((20 * 512))
rm -rf /tmp/cap

dmesg >"$SHARE/dmesg"
