# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Guest side of kernel-tcmu.bats: snapcowd serves a plain image file as a
# TCMU user backstore (subtype snapcow), exported as a local SCSI disk
# through tcm_loop.  Argument: the snapcowd to run (the host's build).
#
# Output in /share:
#   enable.rc                 echo 1 > enable of the served device
#   disk                      the sd disk's sysfs facts after attach
#   wl/acked.txt, wl/model.sha256   the workload's acknowledged writes
#   wl.rc                     the workload's exit status
#   killed-at                 writes acknowledged when kill -9 was sent
#   served.sha256             what /dev/sdX served after the workload
#   image.sha256              the image file after the daemon stopped
#   refuse-X.{rc,err}         enables the daemon refused
#   term.rc, term.ms          SIGTERM with the device still configured
#   daemon.log, dmesg, timings

# shellcheck source=guest-lib.sh
. "$SNAPCOW_KERNEL_DIR/guest-lib.sh"
# shellcheck source=guest-snapcowd.sh
. "$SNAPCOW_KERNEL_DIR/guest-snapcowd.sh"
# shellcheck source=guest-tcmu-cow.sh
. "$SNAPCOW_KERNEL_DIR/guest-tcmu-cow.sh"

D=${1:?usage: guest-tcmu.sh SNAPCOWD}
w=/tmp/tcmu
SIZE=$((8 << 20))
C=/sys/kernel/config/target/core/user_1
L=/sys/kernel/config/target/loopback/naa.5001405000000a01
LOG=$SHARE/daemon.log

snapcowd_use "$D"

t0=$(now_ms)
for m in target_core_user tcm_loop sd_mod; do
	modprobe "$m" || { echo "guest: cannot load $m" >&2; exit 1; }
done
mkdir -p "$w"
workload gen "$w/disk.img" "$SIZE" 7
cp "$w/disk.img" "$w/disk0.img"
echo "setup $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# enable NAME CFG SIZE: a user backstore; its enable's status and error.
enable() {
	local rc=0
	mkdir -p "$C/$1"
	echo -n "dev_config=snapcow/$2" >"$C/$1/control"
	echo -n "dev_size=$3" >"$C/$1/control"
	(echo 1 >"$C/$1/enable") 2>"$SHARE/$1.err" || rc=$?
	echo "$rc" >"$SHARE/$1.rc"
}

t0=$(now_ms)
start_daemon
enable enable "origin=$w/disk.img" "$SIZE"
[ "$(cat "$SHARE/enable.rc")" = 0 ] || { cat "$LOG" >&2; exit 1; }

# Refusals: each enable must fail with the daemon's status.
truncate -s 1M /var/tmp/outside.img
truncate -s 1M "$w/small.img"
enable refuse-relative "origin=tmp/tcmu/disk.img" "$SIZE"
enable refuse-outside "origin=/var/tmp/outside.img" 1048576
enable refuse-busy "origin=$w/disk.img" "$SIZE"
enable refuse-size "origin=$w/small.img" "$SIZE"
enable refuse-cow "origin=$w/small.img;cow=$w/disk0.img" 1048576
enable refuse-key "origin=$w/small.img;colour=blue" 1048576
for d in "$C"/refuse-*; do rmdir "$d"; done
echo "enable $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# Export through tcm_loop; the sd disk appears (devtmpfs, no udev).
t0=$(now_ms)
mkdir -p "$L/tpgt_1/lun/lun_0"
echo -n naa.5001405000000a02 >"$L/tpgt_1/nexus"
ln -s "$C/enable" "$L/tpgt_1/lun/lun_0/snapcow_port"
sd=
for i in $(seq 100); do
	for f in /sys/block/sd*/device/vendor; do
		[ -e "$f" ] && grep -q SNAPCOW "$f" && sd=$(basename "$(dirname "$(dirname "$f")")")
	done
	[ -n "$sd" ] && [ -b "/dev/$sd" ] && break
	sleep 0.1
done
[ -n "$sd" ] || { echo "guest: no sd disk" >&2; dmesg | tail -30 >&2; exit 1; }
q=/sys/block/$sd/queue
{
	echo "size $(cat "/sys/block/$sd/size")"
	echo "logical_block_size $(cat "$q/logical_block_size")"
	echo "write_cache $(cat "$q/write_cache")"
	echo "fua $(cat "$q/fua")"
	echo "vendor $(sed 's/ *$//' "/sys/block/$sd/device/vendor")"
	echo "model $(sed 's/ *$//' "/sys/block/$sd/device/model")"
} >"$SHARE/disk"
echo "attach $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# The workload; kill -9 the daemon a third of the way and start another.
t0=$(now_ms)
mkdir -p "$SHARE/wl"
rm -f "$w/pause"
workload disk "/dev/$sd" "$w/disk0.img" 11 300 "$SHARE/wl" 100 "$w/pause" &
wpid=$!
restart_at "$w/pause" "$SHARE/wl/acked.txt" "$SHARE/killed-at"
rc=0
wait "$wpid" || rc=$?
echo "$rc" >"$SHARE/wl.rc"
workload hash 1048576 "/dev/$sd" "$SHARE/served.sha256"
echo "workload $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# Unexport before stopping the daemon (sd's SYNCHRONIZE CACHE on removal).
rm "$L/tpgt_1/lun/lun_0/snapcow_port"
rmdir "$L/tpgt_1/lun/lun_0" "$L/tpgt_1" "$L"
rmdir "$C/enable"

# The copy-on-write half: an origin with two snapshots, one served.
cow_phase

# SIGTERM while the backstore still exists.
t0=$(now_ms)
kill -TERM "$dpid"
rc=0
wait "$dpid" || rc=$?
echo "$rc" >"$SHARE/term.rc"
echo "$(( $(now_ms) - t0 ))" >"$SHARE/term.ms"
sha256sum "$w/disk.img" | cut -d' ' -f1 >"$SHARE/image.sha256"
for d in ovol svol; do rmdir "$C/$d"; done

# The kernel's dm-snapshot loads the COWs snapcowd wrote.
t0=$(now_ms)
kernel_reads_cows
echo "dm-snapshot $(( $(now_ms) - t0 ))" >>"$SHARE/timings"
dmesg >"$SHARE/dmesg"
