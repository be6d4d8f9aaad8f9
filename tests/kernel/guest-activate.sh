# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Guest side of kernel-activate.bats: snapctl activates, the kernel serves.
# Argument: the snapctl to run (the host's build, seen through 9p).
#
# Output in /share:
#   create.{rc,out,err}      snapctl create --chunk-size 4K --activate t
#   nodes                    'b' for each /dev/mapper node that is a block dev
#   tables-0, uuids          'dmsetup table' and name/uuid of every device
#   live-0, dm-0             snapctl status --live, 'dmsetup status', fresh
#   list.json, list.txt, list-devs   snapctl list --json and list with
#                            the pair up after the writes and a second
#                            snapshot t-snap2; their loop devices
#   live2, live2.json, watch2.{out,rc}, live-notsnap.{out,rc}
#                            status --live [--json, --watch] t t-snap2;
#                            status --live t t (not a snapshot)
#   ops.txt, model-*.sha256  workload.py's writes through the pair and model
#   live, live.json, dm      the same after the writes
#   snap.sha256, origin.sha256   what /dev/mapper/t-snap and t served
#   X.{rc,out,err}           refusals: exists, cow-busy, busy, foreign,
#                            deactivate, deactivate-missing, invalid,
#                            same, po, create-exists, create-file;
#                            shared storage: lin, lv-pair,
#                            delay, md (md.skip: why md could not be had),
#                            parts (overlapping MBR partitions)
#   fresh.sha256             a zeroed COW after both create refusals
#   lo, lm, lp               the loop devices those name
#   ls-after, ls-end         the dm devices left, from sysfs
#   offline-status, export.sha256   snapctl on the images, after deactivate
#   tables-po, dm-po, live-po    a PO pair on a zeroed COW
#   cj.{rc,out,err}, tables-cj, uuids-cj   create --json --activate cj
#   tables-multi, tables-multi-3   origin m with m-snap (4K), m-snap2
#                            (16K), then m-third (8K) added live
#   mw/, multi-pause-model.sha256  the origin's workload and its model
#                            when m-third was taken
#   multi-{a,b,c,origin}.sha256, multi-m0.sha256   what each served
#   multi*.{rc,out,err}      activate, snapshot, remove, deactivate and
#                            their refusals; ls-multi, ls-multi-end
#   watch.{json,err,rc}      status --live --watch --json t, from before
#                            the writes until deactivate ends it
#   threshold.{out,err,rc}   status --live --watch --threshold 2 t
#   lmerge*                  merge --live m m-snap: refusals (open,
#                            missing), the table when killed, a snapshot
#                            refused meanwhile, the resumed run, tables,
#                            what m and m-third read after, the COW
#   lmerge-offline.*, lmerge-cmp.*   snapctl merge of copies of m and
#                            m-snap's COW taken before the live merge,
#                            and cmp of its origin with what m reads after
#   meta-*                   dump and restore: the kernel's COW (1 KiB
#                            chunks, 4 areas) dumped, wiped, restored,
#                            cmp with the kernel's; the snapshot's hash and
#                            status before and after; meta-kernel.img;
#                            meta-busy: restore onto the active COW;
#                            meta-inv-*: the same for a COW the kernel
#                            invalidated; meta-merged*: the COW the live
#                            merge emptied, restored onto a fresh file
#   udev-{up,down}.*, udev-links, udev-cookies-{up,down}, udev-ls-end
#                            activate/deactivate with systemd-udevd
#   amerge*                  merge --live of m-third stopped, deactivate,
#                            activate --merge, merge --live m to the end
#   cow.img, dmesg, timings
#
# dmsetup and python each cost about a second per start under TCG (a
# libtool wrapper two): every call here earns its place.

# shellcheck source=guest-lib.sh
. "$SNAPCOW_KERNEL_DIR/guest-lib.sh"

S=${1:?usage: guest-activate.sh SNAPCTL}
CS=8
w=/tmp/act

load_modules

# Run the binary a libtool wrapper stands for, with the library beside it.
D=$(dirname "$S")/snapdump
bin=$(dirname "$S")/.libs/$(basename "$S")
libs=$(dirname "$S")/../lib/.libs
if [ -x "$bin" ] && [ -d "$libs" ] && head -c 2 "$S" | grep -q '#!'; then
	S=$bin
	D=$(dirname "$D")/.libs/snapdump
	export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi

# dm_names: the device-mapper devices that exist, one name a line.
dm_names() {
	local f

	for f in /sys/block/dm-*/dm/name; do
		if [ -e "$f" ]; then cat "$f"; fi
	done | sort
}

# md_raid1 DEV: /dev/md0, a one-disk RAID1 over DEV without a superblock,
# made through sysfs (md.rst): mdadm is not installed, it brings udev.
md_raid1() {
	local m=/sys/block/md0/md d=${1#/dev/} kib

	modprobe raid1 || return 1
	printf md0 >/sys/module/md_mod/parameters/new_array || return 1
	kib=$(( $(cat "/sys/block/$d/size") / 2 ))
	echo none >"$m/metadata_version" &&
		echo raid1 >"$m/level" &&
		echo 1 >"$m/raid_disks" &&
		cat "/sys/block/$d/dev" >"$m/new_dev" &&
		echo 0 >"$m/dev-$d/slot" &&
		echo "$kib" >"$m/dev-$d/size" &&
		echo "$kib" >"$m/component_size" &&
		echo active >"$m/array_state" || return 1
	[ -b /dev/md0 ] || mknod /dev/md0 b 9 0
}

# mbr_entry START SECTORS: an MBR entry of a Linux partition (LBAs only).
mbr_entry() {
	printf '\0\0\0\0\x83\0\0\0'
	printf "$(printf '\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) \
		$(($1 >> 16 & 255)) 0 $(($2 & 255)) $(($2 >> 8 & 255)) \
		$(($2 >> 16 & 255)) 0)"
}

# try NAME CMD...: run CMD, keep its exit status and output as NAME.*.
try() {
	local name=$1 rc=0
	shift
	"$@" >"$SHARE/$name.out" 2>"$SHARE/$name.err" || rc=$?
	echo "$rc" >"$SHARE/$name.rc"
}

t0=$(now_ms)
mkdir -p "$w"
workload gen "$w/origin.img" $((4 << 20)) 201
cp "$w/origin.img" "$w/origin0.img"
truncate -s 4M "$w/cow.img"
lo=$(losetup -f --show "$w/origin.img")
lc=$(losetup -f --show "$w/cow.img")

try create "$S" create --chunk-size 4K --activate t "$lc" "$lo"
for n in t t-snap; do
	if [ -b "/dev/mapper/$n" ]; then echo "$n b"; else echo "$n -"; fi
done >"$SHARE/nodes"
dmsetup table >"$SHARE/tables-0"
for d in /sys/block/dm-*/dm; do
	echo "$(cat "$d/name") $(cat "$d/uuid")"
done | sort >"$SHARE/uuids"
"$S" status --live t >"$SHARE/live-0"
dmsetup status >"$SHARE/dm-0"
echo "activate $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# Chunk-crossing O_DIRECT writes through both devices, no suspend/resume
# of ours: activation must have left the origin splitting at 4 KiB.
# Meanwhile status --watch prints every change (until deactivate ends
# it) and --threshold 2 exits once 2% of the COW is allocated.
t0=$(now_ms)
"$S" status --live --watch --json --interval 0.2 t >"$SHARE/watch.json" \
	2>"$SHARE/watch.err" &
watch_pid=$!
"$S" status --live --watch --threshold 2 --interval 0.2 t \
	>"$SHARE/threshold.out" 2>"$SHARE/threshold.err" &
threshold_pid=$!
workload run --origin /dev/mapper/t --snap /dev/mapper/t-snap \
	--image "$w/origin0.img" --chunk-sectors "$CS" --seed 202 --ops 300 \
	--out "$SHARE"
rc=0
wait "$threshold_pid" || rc=$?
echo "$rc" >"$SHARE/threshold.rc"
workload hash 4096 /dev/mapper/t-snap "$SHARE/snap.sha256" \
	/dev/mapper/t "$SHARE/origin.sha256"
"$S" status --live t >"$SHARE/live"
"$S" status --live --json t >"$SHARE/live.json"
dmsetup status >"$SHARE/dm"
# snapctl list: a dm row each for t-snap and a second snapshot t-snap2
# (no D-Bus here: no served rows), which goes again.
truncate -s 1M "$w/cow2.img"
lc2=$(losetup -f --show "$w/cow2.img")
"$S" snapshot -q -c 4K t "$lc2" >"$SHARE/list-snap.out" 2>&1
"$S" list --json >"$SHARE/list.json" 2>&1
"$S" list >"$SHARE/list.txt" 2>&1
# status --live of one snapshot of t by its device name; t itself is not one.
"$S" status --live t t-snap2 >"$SHARE/live2" 2>&1
"$S" status --live --json t t-snap2 >"$SHARE/live2.json" 2>&1
rc=0
"$S" status --live --watch --threshold 0 t t-snap2 >"$SHARE/watch2.out" \
	2>&1 || rc=$?
echo "$rc" >"$SHARE/watch2.rc"
rc=0
"$S" status --live t t >"$SHARE/live-notsnap.out" 2>&1 || rc=$?
echo "$rc" >"$SHARE/live-notsnap.rc"
echo "$lo $lc $lc2" >"$SHARE/list-devs"
"$S" remove t t-snap2 >>"$SHARE/list-snap.out" 2>&1
losetup -d "$lc2"
echo "writes $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# Refusals while the pair is up.
t0=$(now_ms)
truncate -s 1M "$w/other.img"
lc2=$(losetup -f --show "$w/other.img")
try exists "$S" activate t "$lo" "$lc2"
losetup -d "$lc2"
try cow-busy "$S" activate t2 "$lo" "$lc"
# create --activate refused by activation: the COW must stay all zeros.
truncate -s 1M "$w/fresh.img"
lf=$(losetup -f --show "$w/fresh.img")
try create-exists "$S" create --activate t "$lf" "$lo"
losetup -d "$lf"
try create-file "$S" create --activate nb "$w/fresh.img" "$w/origin0.img"
sha256sum <"$w/fresh.img" | cut -d' ' -f1 >"$SHARE/fresh.sha256"
exec 3</dev/mapper/t-snap
try busy "$S" deactivate t
exec 3<&-
dmsetup create foreign --table "0 8 zero"
try foreign "$S" deactivate foreign
dmsetup remove foreign

try deactivate "$S" deactivate t
rc=0
wait "$watch_pid" || rc=$?
echo "$rc" >"$SHARE/watch.rc"
dm_names >"$SHARE/ls-after"
try deactivate-missing "$S" deactivate t
try live-missing "$S" status --live t
losetup -d "$lo" "$lc"
echo "refusals $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# Several snapshots of one origin with different chunk sizes (4 and 16
# KiB from activate, 8 KiB added live with --as while an O_DIRECT
# workload on the origin is paused halfway): each reads its model.
t0=$(now_ms)
mkdir -p "$SHARE/mw"
workload gen "$w/m.img" $((4 << 20)) 301
cp "$w/m.img" "$w/m0.img"
for c in ma:4K mb:16K mc:8K mx:4K my:4K; do
	truncate -s 6M "$w/${c%:*}.img"
	"$S" create -q --chunk-size "${c#*:}" "$w/${c%:*}.img"
done
# mx holds an exception of another snapshot: refused as a new snapshot.
"$S" write -q --fill 1 --length 1 "$w/m0.img" "$w/mx.img" 0 2>/dev/null ||
	true
cp "$w/m.img" "$w/m0.img"
lm=$(losetup -f --show "$w/m.img")
la=$(losetup -f --show "$w/ma.img")
lb=$(losetup -f --show "$w/mb.img")
lc3=$(losetup -f --show "$w/mc.img")
lx=$(losetup -f --show "$w/mx.img")
ly=$(losetup -f --show "$w/my.img")
try multi "$S" activate m "$lm" "$la" "$lb"
dmsetup table | grep '^m' >"$SHARE/tables-multi"
rm -f "$w/m-pause"
workload disk /dev/mapper/m "$w/m0.img" 303 60 "$SHARE/mw" 30 \
	"$w/m-pause" "$SHARE/multi-pause-model.sha256" &
wpid=$!
for i in $(seq 600); do
	[ -e "$w/m-pause" ] && break
	sleep 0.1
done
try multi-add "$S" snapshot --as m-third m "$lc3"
rm -f "$w/m-pause"
wait "$wpid"
try multi-taken "$S" snapshot --as m-snap m "$ly"
try multi-used "$S" snapshot m "$lx"
try multi-cow-busy "$S" snapshot m "$la"
dmsetup table | grep '^m' >"$SHARE/tables-multi-3"
workload hash 4096 /dev/mapper/m-snap "$SHARE/multi-a.sha256" \
	/dev/mapper/m-snap2 "$SHARE/multi-b.sha256" \
	/dev/mapper/m-third "$SHARE/multi-c.sha256" \
	/dev/mapper/m "$SHARE/multi-origin.sha256"
sha256sum <"$w/m0.img" | cut -d' ' -f1 >"$SHARE/multi-m0.sha256"
exec 3</dev/mapper/m-snap2
try multi-remove-busy "$S" remove m m-snap2
exec 3<&-
try multi-remove "$S" remove m m-snap2
try multi-remove-missing "$S" remove m m-snap2
dm_names >"$SHARE/ls-multi"

# merge --live m-snap into m while m-third stays: killed (-9) once the
# kernel merges, a snapshot refused meanwhile, then run again to the end.
exec 3</dev/mapper/m-snap
try lmerge-busy "$S" merge --live m m-snap
exec 3<&-
try lmerge-missing "$S" merge --live m m-snap2
# The offline merge of copies taken now must give the origin the live
# merge gives (issue 10): the workload is over, the files are at rest.
cp "$w/m.img" "$w/m-copy.img"
cp "$w/ma.img" "$w/ma-copy.img"
# Dies (as a kill -9 would) right after the kernel started merging.
rc=0
SNAPCOW_KILL_AFTER_MERGE_START=1 "$S" merge --live --no-progress -v m m-snap \
	>"$SHARE/lmerge-1.out" 2>"$SHARE/lmerge-1.err" || rc=$?
echo "$rc" >"$SHARE/lmerge-1.rc"
dmsetup table m >"$SHARE/lmerge-killed-table"
try lmerge-snap "$S" snapshot m "$ly"
try lmerge "$S" merge --live --no-progress -v m m-snap
dmsetup table | grep '^m' >"$SHARE/tables-lmerge"
dmsetup status m-third >"$SHARE/lmerge-third-status"
workload hash 4096 /dev/mapper/m "$SHARE/lmerge-origin.sha256" \
	/dev/mapper/m-third "$SHARE/lmerge-third.sha256"
try lmerge-offline "$S" merge --yes --no-progress "$w/m-copy.img" \
	"$w/ma-copy.img"
try lmerge-cmp cmp /dev/mapper/m "$w/m-copy.img"
# A merge that deactivate stopped: activate --merge picks it up and
# merge --live NAME (no SNAP) waits for its end.
SNAPCOW_KILL_AFTER_MERGE_START=1 "$S" merge --live --no-progress m m-third \
	>/dev/null 2>&1 || true
try amerge-down "$S" deactivate m
dm_names >"$SHARE/amerge-ls"
try amerge-up "$S" activate --merge m "$lm" "$lc3"
dmsetup table m >"$SHARE/amerge-table"
try amerge "$S" merge --live --no-progress -v m
dmsetup table m >"$SHARE/amerge-table-end"
workload hash 4096 /dev/mapper/m "$SHARE/amerge-origin.sha256"
try multi-down "$S" deactivate m
"$S" status "$w/ma.img" >"$SHARE/lmerge-cow-status"
# The COW the kernel merged (an empty list) round trips through a dump.
"$D" --metadata "$w/ma.img" >"$SHARE/meta-merged.json"
truncate -s 6M "$w/ma-fresh.img"
try meta-merged "$S" restore --yes --backup "$w/meta-undo4.bin" \
	"$SHARE/meta-merged.json" "$w/ma-fresh.img"
try meta-merged-cmp cmp -n 8192 "$w/ma.img" "$w/ma-fresh.img"
dm_names >"$SHARE/ls-multi-end"
losetup -d "$lm" "$la" "$lb" "$lc3" "$lx" "$ly"
echo "multi $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# Offline, on the images the kernel left.
t0=$(now_ms)
"$S" status "$w/cow.img" >"$SHARE/offline-status"
"$S" export --no-progress "$w/origin.img" "$w/cow.img" "$w/export.img"
sha256sum <"$w/export.img" | cut -d' ' -f1 >"$SHARE/export.sha256"
copy_out "$w/cow.img" "$SHARE/cow.img"

# An invalidated COW and a COW on its origin are refused; nothing stays.
cp "$w/cow.img" "$w/bad.img"
printf '\0\0\0\0' | dd of="$w/bad.img" bs=1 seek=4 conv=notrunc status=none
lo=$(losetup -f --show "$w/origin.img")
lc=$(losetup -f --show "$w/bad.img")
try invalid "$S" activate bad "$lo" "$lc"
try same "$S" activate same "$lo" "$lo"
losetup -d "$lc"
echo "refused-invalid $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# Storage shared through device-mapper and md (lib/dev-storage.c): a COW
# that is a linear map of the origin's loop device is refused; linear
# maps of disjoint ranges of one device are a valid pair; any other
# target (delay) or md is taken to use the whole of its devices.  One
# dmsetup call makes all four maps.
t0=$(now_ms)
modprobe dm-delay
echo "$lo" >"$SHARE/lo"
dmsetup create --concise "lin,,,,0 2048 linear $lo 2048;lva,,,,0 2048 linear $lo 0;lvb,,,,0 2048 linear $lo 4096;dly,,,,0 2048 delay $lo 6144 0"
dmsetup mknodes
try lin "$S" activate lin "$lo" /dev/mapper/lin
try lv-pair "$S" create -q --chunk-size 4K /dev/mapper/lvb /dev/mapper/lva
try delay "$S" create --chunk-size 4K /dev/mapper/dly /dev/mapper/lva
dmsetup remove lin lva lvb dly
truncate -s 1M "$w/md.img"
lm=$(losetup -f --show "$w/md.img")
echo "$lm" >"$SHARE/lm"
if md_raid1 "$lm" 2>"$SHARE/md.skip"; then
	try md "$S" create --chunk-size 4K "$lm" /dev/md0
	echo clear >/sys/block/md0/md/array_state
fi
losetup -d "$lm"
# Partitions 1 (sectors 2048-6143) and 2 (4096-8191) overlap: the MBR
# parser reads such a table, which sfdisk and BLKPG refuse to make.
truncate -s 8M "$w/mbr.img"
{ mbr_entry 2048 4096; mbr_entry 4096 4096; } |
	dd of="$w/mbr.img" bs=1 seek=446 conv=notrunc status=none
printf '\x55\xaa' | dd of="$w/mbr.img" bs=1 seek=510 conv=notrunc status=none
lp=$(losetup -f --show -P "$w/mbr.img")
echo "$lp" >"$SHARE/lp"
try parts "$S" create --chunk-size 4K "${lp}p2" "${lp}p1"
losetup -d "$lp"
echo "stacked $(( $(now_ms) - t0 ))" >>"$SHARE/timings"
t0=$(now_ms)

# PO, on a COW the kernel formats itself (zeroed: magic 0).
truncate -s 0 "$w/po.img"
truncate -s 1M "$w/po.img"
lc=$(losetup -f --show "$w/po.img")
try po "$S" activate --overflow po "$lo" "$lc"
dmsetup table >"$SHARE/tables-po"
dmsetup status >"$SHARE/dm-po"
"$S" status --live po >"$SHARE/live-po"
try po-down "$S" deactivate po

# create --json --activate: the COW's facts and the devices made, on the
# same (now free) loop devices (--force: the kernel formatted the COW
# above); dmsetup's view beside it.
try cj "$S" create --json --force --chunk-size 8K --activate cj "$lc" "$lo"
dmsetup table >"$SHARE/tables-cj"
dmsetup info -c --noheadings -o name,uuid >"$SHARE/uuids-cj"
try cj-down "$S" deactivate cj
dm_names >"$SHARE/ls-end"
losetup -d "$lo" "$lc"
echo "offline $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# Metadata dump and restore (snapdump --metadata, snapctl restore): the
# kernel fills several areas (1 KiB chunks: 64 records an area) with
# origin writes out of order, the dump restored over a wiped copy must
# give the kernel's image back byte for byte (data chunks are never
# touched), and the kernel serves the restored COW's snapshot as before.
t0=$(now_ms)
workload gen "$w/r.img" $((2 << 20)) 401
truncate -s 2M "$w/rc.img"
lo=$(losetup -f --show "$w/r.img")
lc=$(losetup -f --show "$w/rc.img")
echo "$lc" >"$SHARE/meta-busy-dev"
try meta-up "$S" create -q --chunk-size 1K --activate r "$lc" "$lo"
for range in 1500:80 40:70 700:50; do
	dd if=/dev/zero of=/dev/mapper/r bs=1K seek="${range%:*}" \
		count="${range#*:}" oflag=direct status=none
done
sha256sum </dev/mapper/r-snap | cut -d' ' -f1 >"$SHARE/meta-snap.sha256"
dmsetup status r-snap >"$SHARE/meta-status"
try meta-down "$S" deactivate r
cp "$w/rc.img" "$w/rc-kernel.img"
try meta-dump "$D" --metadata "$lc"
for a in 0 1 2 3 4; do
	dd if=/dev/zero of="$lc" bs=1K seek=$((1 + a * 65)) count=1 \
		conv=notrunc status=none
done
dd if=/dev/zero of="$lc" bs=1K count=1 conv=notrunc status=none
try meta-restore "$S" restore --yes --backup "$w/meta-undo.bin" \
	"$SHARE/meta-dump.out" "$lc"
try meta-cmp cmp "$w/rc.img" "$w/rc-kernel.img"
try meta-up2 "$S" activate r "$lo" "$lc"
sha256sum </dev/mapper/r-snap | cut -d' ' -f1 >"$SHARE/meta-snap2.sha256"
dmsetup status r-snap >"$SHARE/meta-status2"
# The kernel holds the COW now: restore is refused before anything.
try meta-busy "$S" restore --yes --backup "$w/meta-undo2.bin" \
	"$SHARE/meta-dump.out" "$lc"
if [ -e "$w/meta-undo2.bin" ]; then
	echo "undo file made" >>"$SHARE/meta-busy.err"
fi
try meta-down2 "$S" deactivate r
# A COW the kernel invalidated (62 data chunks, 100 origin chunks
# written) round trips too: its records are dumped, though the kernel
# reads none of them.
truncate -s 64K "$w/ri.img"
li=$(losetup -f --show "$w/ri.img")
try meta-inv-up "$S" create -q --chunk-size 1K --activate ri "$li" "$lo"
dd if=/dev/zero of=/dev/mapper/ri bs=1K count=100 oflag=direct status=none
dmsetup status ri-snap >"$SHARE/meta-inv-status"
try meta-inv-down "$S" deactivate ri
cp "$w/ri.img" "$w/ri-kernel.img"
try meta-inv-dump "$D" --metadata "$li"
dd if=/dev/zero of="$li" bs=1K count=2 conv=notrunc status=none
try meta-inv-restore "$S" restore --yes --backup "$w/meta-undo3.bin" \
	"$SHARE/meta-inv-dump.out" "$li"
try meta-inv-cmp cmp "$w/ri.img" "$w/ri-kernel.img"
losetup -d "$lo" "$lc" "$li"
copy_out "$w/rc-kernel.img" "$SHARE/meta-kernel.img"
echo "meta $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# udev (last: it stays up): with systemd-udevd running and
# DM_DISABLE_UDEV unset, libdm waits on udev cookies and udev's rules
# make the /dev/mapper links; no cookie is left behind.
t0=$(now_ms)
mkdir -p /run/udev
/lib/systemd/systemd-udevd --daemon 2>"$SHARE/udevd.err"
udevadm settle -t 10 || true
for f in u uc1 uc2; do truncate -s 2M "$w/$f.img"; done
lu=$(losetup -f --show "$w/u.img")
luc1=$(losetup -f --show "$w/uc1.img")
luc2=$(losetup -f --show "$w/uc2.img")
(
	unset DM_DISABLE_UDEV
	try udev-up "$S" activate --chunk-size 4K u "$lu" "$luc1" "$luc2"
	for n in u u-snap u-snap2; do
		echo "$n $(readlink "/dev/mapper/$n" || echo none)"
	done >"$SHARE/udev-links"
	dmsetup udevcookies >"$SHARE/udev-cookies-up" 2>&1
	try udev-down "$S" deactivate u
	ls /dev/mapper >"$SHARE/udev-ls-end"
	dmsetup udevcookies >"$SHARE/udev-cookies-down" 2>&1
)
losetup -d "$lu" "$luc1" "$luc2"
echo "udev $(( $(now_ms) - t0 ))" >>"$SHARE/timings"
dmesg >"$SHARE/dmesg"
