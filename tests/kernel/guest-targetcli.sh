# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Guest side of kernel-targetcli.bats: snapcowd on a system bus of the
# guest's own, driven by targetcli as an administrator would: the
# backstore type is listed, a bad cfgstring is refused with snapcowd's
# reason, an origin with a snapshot and the snapshot itself are created
# and exported through tcm_loop, a live snapshot is taken with
# `snapctl snapshot --served` in the middle of the origin's workload and
# exported too, and targetcli's saveconfig / restoreconfig bring them
# back after the daemon restarted; then the origin is exported over
# iSCSI and written through open-iscsi's disk while another live
# snapshot is taken (guest-iscsi.sh); at the end the kernel's
# dm-snapshot serves each snapshot's image from its COW.
# Argument: the snapcowd to run (the host's build).
#
# Output in /share:
#   daemon.log, dbus.log          snapcowd's and dbus-daemon's stderr
#   ls-backstores                 `targetcli ls /backstores 1` at start
#   help-create                   `help create` of user:snapcow
#   bad.out, bad.rc               create with a relative path
#   create.out                    the batch that creates and exports
#   disks                         the origin's and the snapshot's sd disks
#   wlo/, wls/                    the workloads on the origin and the
#                                 snapshot disk (model.sha256)
#   live-model.sha256             the origin's model when the live
#                                 snapshot s2 was taken
#   live.out, live.rc             snapctl snapshot --served ovol s2.cow
#   live-config                   ovol's attrib/dev_config after it
#   live2.out, busy.out, busy.rc  exporting s2, then removing it while
#                                 served (refused)
#   s3.out, s3.rc, s3-config      s3 taken then removed live, and
#                                 dev_config after that
#   before-{origin,snap,snap2}.sha256, after-{...}.sha256   what the
#                                 disks served before the restart and
#                                 after restoreconfig
#   restore.out, restore.rc       restoreconfig after the restart
#   saved.json                    targetcli's saved configuration
#   iscsi/                        the iSCSI part (guest-iscsi.sh)
#   dm-s{1,2,4}.{sha256,status}   the kernel's dm-snapshot over s1, s2, s4
#                                 after snapcowd stopped
#   origin.sha256                 the origin image then
#   timings

# shellcheck source=guest-lib.sh
. "$SNAPCOW_KERNEL_DIR/guest-lib.sh"
# shellcheck source=guest-snapcowd.sh
. "$SNAPCOW_KERNEL_DIR/guest-snapcowd.sh"
# shellcheck source=guest-tcmu-cow.sh
. "$SNAPCOW_KERNEL_DIR/guest-tcmu-cow.sh"
# shellcheck source=guest-status.sh
. "$SNAPCOW_KERNEL_DIR/guest-status.sh"
# shellcheck source=guest-iscsi.sh
. "$SNAPCOW_KERNEL_DIR/guest-iscsi.sh"

D=${1:?usage: guest-targetcli.sh SNAPCOWD}
w=/tmp/tcli
SIZE=$((4 << 20))
C=/sys/kernel/config/target/core/user_1
LOG=$SHARE/daemon.log
snapcowd_use "$D"
NAA=naa.5001405000000c01

t0=$(now_ms)
mkdir -p "$w"
# No tcmu-runner: snapcowd must own the name by itself.
guest_bus
workload gen "$w/ovol.img" "$SIZE" 41
cp "$w/ovol.img" "$w/ovol0.img"
truncate -s 8M "$w/s1.cow" "$w/s2.cow" "$w/s3.cow"
sc=$(host_bin snapctl)
"$sc" create -q -c 8K "$w/s1.cow"
echo "setup $(( $(now_ms) - t0 ))" >>"$SHARE/timings"


t0=$(now_ms)
notify_listen
start_daemon
tcli >"$SHARE/ls-backstores" 2>&1 <<EOF
ls /backstores 1
/backstores/user:snapcow help create
EOF
echo "ls $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# A bad cfgstring: targetcli refuses with snapcowd's reason.
t0=$(now_ms)
rc=0
tcli >"$SHARE/bad.out" 2>&1 <<EOF || rc=$?
/backstores/user:snapcow create name=bad size=1M cfgstring=origin=tcli/ovol.img
ls /backstores/user:snapcow
EOF
echo "$rc" >"$SHARE/bad.rc"

# The origin with its snapshot, the snapshot, exported through tcm_loop;
# targetcli's own shell takes the cfgstrings' ";" as is (bash needs quotes).
tcli >"$SHARE/create.out" 2>&1 <<EOF
/backstores/user:snapcow create name=ovol size=$SIZE cfgstring=origin=$w/ovol.img;cow=$w/s1.cow
/backstores/user:snapcow create name=svol size=$SIZE cfgstring=snapshot=$w/s1.cow;origin=$w/ovol.img
/loopback create $NAA
/loopback/$NAA/luns create /backstores/user:snapcow/ovol
/loopback/$NAA/luns create /backstores/user:snapcow/svol
EOF
echo "create $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# The origin's workload pauses after 20 of its 40 writes: a live
# snapshot s2 (a new COW: snapctl formats it) is taken then, and must
# read the model at that point; the svol snapshot disk is written too.
t0=$(now_ms)
osd=$(sd_of origin)
ssd=$(sd_at 1)
echo "$osd $ssd" >"$SHARE/disks"
mkdir -p "$SHARE/wlo" "$SHARE/wls"
rm -f "$w/live-pause"
workload disk "/dev/$osd" "$w/ovol0.img" 51 40 "$SHARE/wlo" 20 \
	"$w/live-pause" "$SHARE/live-model.sha256" &
wpid=$!
wait_file "$w/live-pause"
rc=0
"$sc" snapshot --served ovol "$w/s2.cow" >"$SHARE/live.out" 2>&1 || rc=$?
echo "$rc" >"$SHARE/live.rc"
cat "$C"/../user_*/ovol/attrib/dev_config >"$SHARE/live-config"
rm -f "$w/live-pause"
wait "$wpid"
workload disk "/dev/$ssd" "$w/ovol0.img" 53 20 "$SHARE/wls"
echo "workload $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# s2 served with a backstore of its own; then saved, with ovol's new
# dev_config.  Removing s2 from ovol while s2vol serves it is refused.
t0=$(now_ms)
tcli >"$SHARE/live2.out" 2>&1 <<EOF
/backstores/user:snapcow create name=s2vol size=$SIZE cfgstring=snapshot=$w/s2.cow;origin=$w/ovol.img
/loopback/$NAA/luns create /backstores/user:snapcow/s2vol
saveconfig $w/saved.json
EOF
cp "$w/saved.json" "$SHARE/saved.json" 2>/dev/null || true
s2sd=$(sd_at 2)
rc=0
"$sc" snapshot --served --remove ovol "$w/s2.cow" >"$SHARE/busy.out" 2>&1 ||
	rc=$?
echo "$rc" >"$SHARE/busy.rc"
workload hash 8192 "/dev/$osd" "$SHARE/before-origin.sha256" \
	"/dev/$ssd" "$SHARE/before-snap.sha256" \
	"/dev/$s2sd" "$SHARE/before-snap2.sha256"
echo "live $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# Clear the configuration, restart the daemon, restore targetcli's file.
t0=$(now_ms)
echo "clearconfig confirm=True" | tcli >"$SHARE/clear.out" 2>&1
kill -TERM "$dpid"
wait "$dpid" || true
start_daemon
rc=0
echo "restoreconfig $w/saved.json" | tcli >"$SHARE/restore.out" 2>&1 || rc=$?
echo "$rc" >"$SHARE/restore.rc"
osd=$(sd_of origin)
ssd=$(sd_at 1)
s2sd=$(sd_at 2)
workload hash 8192 "/dev/$osd" "$SHARE/after-origin.sha256" \
	"/dev/$ssd" "$SHARE/after-snap.sha256" \
	"/dev/$s2sd" "$SHARE/after-snap2.sha256"
echo "restore $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# A live snapshot taken and removed again: dev_config as it was.  While
# s3 is there, snapctl list and status --served (guest-status.sh).
rc=0
"$sc" snapshot --served ovol "$w/s3.cow" >"$SHARE/s3.out" 2>&1 || rc=$?
t0=$(now_ms)
served_status "$osd" "$ssd"
echo "status $(( $(now_ms) - t0 ))" >>"$SHARE/timings"
[ "$rc" = 0 ] && { "$sc" snapshot --served --remove ovol "$w/s3.cow" \
	>>"$SHARE/s3.out" 2>&1 || rc=$?; }
echo "$rc" >"$SHARE/s3.rc"
cat "$C"/../user_*/ovol/attrib/dev_config >"$SHARE/s3-config"

# The origin exported over iSCSI too: workload and live snapshot s4.
t0=$(now_ms)
iscsi_start
iscsi_run
iscsi_stop
echo "iscsi $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

served_status_last
echo "clearconfig confirm=True" | tcli >>"$SHARE/clear.out" 2>&1
kill -TERM "$dpid"
rc=0
wait "$dpid" || rc=$?
echo "$rc" >"$SHARE/term.rc"
served_status_offline
notify_stop

# The kernel's dm-snapshot over every snapshot's COW, snapcowd gone.
t0=$(now_ms)
load_modules
dm_cow_hash "$w/ovol.img" "$w/s1.cow" 16 tcli-s1 "$SHARE/dm-s1"
dm_cow_hash "$w/ovol.img" "$w/s2.cow" 8 tcli-s2 "$SHARE/dm-s2"
dm_cow_hash "$w/ovol.img" "$w/s4.cow" 8 tcli-s4 "$SHARE/dm-s4"
sha256sum "$w/ovol.img" | cut -d' ' -f1 >"$SHARE/origin.sha256"
echo "dm $(( $(now_ms) - t0 ))" >>"$SHARE/timings"
dmesg >"$SHARE/dmesg"
