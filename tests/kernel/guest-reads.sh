# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Guest side of kernel-reads.bats: snapcow wrote the COW, the kernel reads.
#
# Input in /share: origin.img and cow.img (made by snapctl on the host),
# fresh-cow.img (all zeros). Output in /share:
#   status, table, snap.sha256          the COW loaded with 'P 0'
#   status-csN, table-csN, snap-csN.sha256  loaded with a wrong chunk size N
#   status-fresh, table-fresh, fresh-cow-after.img   a zeroed COW, 'P 0'
#   dmesg

# shellcheck source=guest-lib.sh
. "$SNAPCOW_KERNEL_DIR/guest-lib.sh"

load_modules

w=/tmp/reads
mkdir -p "$w"
# Loop devices over tmpfs copies: the kernel may write to a COW it loads
# (it formats a new one), and the host's files must stay as made.
cp "$SHARE/origin.img" "$SHARE/cow.img" "$SHARE/fresh-cow.img" "$w/"
lo=$(losetup -f --show "$w/origin.img")
lc=$(losetup -f --show "$w/cow.img")
sectors=$(blockdev --getsz "$lo")

# load SUFFIX CHUNK: load the snapshot with table chunk size CHUNK and keep
# its status, table and content (hashed per 4 KiB, the COW's chunk size).
load() {
	dm_create reads-snap "0 $sectors snapshot $lo $lc P $2"
	dm_status reads-snap >"$SHARE/status$1"
	dmsetup table reads-snap | cut -d' ' -f4- >"$SHARE/table$1"
	workload hash 4096 /dev/mapper/reads-snap "$SHARE/snap$1.sha256"
	dmsetup remove reads-snap
}

load "" 0
for cs in 4 16 128; do
	load "-cs$cs" "$cs"
done
losetup -d "$lc"

lc=$(losetup -f --show "$w/fresh-cow.img")
dm_create reads-fresh "0 $sectors snapshot $lo $lc P 0"
dm_status reads-fresh >"$SHARE/status-fresh"
dmsetup table reads-fresh | cut -d' ' -f4- >"$SHARE/table-fresh"
dmsetup remove reads-fresh
losetup -d "$lo" "$lc"
copy_out "$w/fresh-cow.img" "$SHARE/fresh-cow-after.img"

dmesg >"$SHARE/dmesg"
