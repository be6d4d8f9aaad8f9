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
#   ops.txt, model-*.sha256  workload.py's writes through the pair and model
#   live, live.json, dm      the same after the writes
#   snap.sha256, origin.sha256   what /dev/mapper/t-snap and t served
#   X.{rc,out,err}           refusals: exists, cow-busy, busy, foreign,
#                            deactivate, deactivate-missing, invalid,
#                            same, po, create-exists, create-file
#   fresh.sha256             a zeroed COW after both create refusals
#   ls-after, ls-end         the dm devices left, from sysfs
#   offline-status, export.sha256   snapctl on the images, after deactivate
#   tables-po, dm-po, live-po    a PO pair on a zeroed COW
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
bin=$(dirname "$S")/.libs/$(basename "$S")
libs=$(dirname "$S")/../lib/.libs
if [ -x "$bin" ] && [ -d "$libs" ] && head -c 2 "$S" | grep -q '#!'; then
	S=$bin
	export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi

# dm_names: the device-mapper devices that exist, one name a line.
dm_names() {
	local f

	for f in /sys/block/dm-*/dm/name; do
		if [ -e "$f" ]; then cat "$f"; fi
	done | sort
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
t0=$(now_ms)
workload run --origin /dev/mapper/t --snap /dev/mapper/t-snap \
	--image "$w/origin0.img" --chunk-sectors "$CS" --seed 202 --ops 300 \
	--out "$SHARE"
workload hash 4096 /dev/mapper/t-snap "$SHARE/snap.sha256" \
	/dev/mapper/t "$SHARE/origin.sha256"
"$S" status --live t >"$SHARE/live"
"$S" status --live --json t >"$SHARE/live.json"
dmsetup status >"$SHARE/dm"
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
dm_names >"$SHARE/ls-after"
try deactivate-missing "$S" deactivate t
try live-missing "$S" status --live t
losetup -d "$lo" "$lc"
echo "refusals $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

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

# PO, on a COW the kernel formats itself (zeroed: magic 0).
truncate -s 0 "$w/po.img"
truncate -s 1M "$w/po.img"
lc=$(losetup -f --show "$w/po.img")
try po "$S" activate --overflow po "$lo" "$lc"
dmsetup table >"$SHARE/tables-po"
dmsetup status >"$SHARE/dm-po"
"$S" status --live po >"$SHARE/live-po"
try po-down "$S" deactivate po
dm_names >"$SHARE/ls-end"
losetup -d "$lo" "$lc"
echo "offline $(( $(now_ms) - t0 ))" >>"$SHARE/timings"
dmesg >"$SHARE/dmesg"
