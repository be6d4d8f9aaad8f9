# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Guest side of kernel-coexist.bats: snapcowd beside tcmu-runner.
# tcmu-runner owns org.kernel.TCMUService1 on the guest's system bus;
# snapcowd, started after it, registers its handler with it. A user:qcow
# backstore (tcmu-runner's qcow handler on a raw image) and a snapcow
# origin with a snapshot are created with targetcli, exported through
# tcm_loop and written at once; enables of snapcow backstores without
# the workaround (control nl_reply_supported=-1) race with tcmu-runner's
# -ENOENT; tcmu-runner and then snapcowd are restarted and both disks
# must still serve their models.
# Argument: the snapcowd to run (the host's build).
#
# Output in /share:
#   daemon.log, runner.log, dbus.log   snapcowd's, tcmu-runner's, the bus's
#   owner-1, owner-2        the owner of org.kernel.TCMUService1 before and after
#                           tcmu-runner's restart
#   ls-2                    `targetcli ls /backstores 1` after the restart
#   tree-2                  `busctl tree` of tcmu-runner after its restart
#   bad.out                 a bad cfgstring: tcmu-runner forwards the check
#   create.out              `ls /backstores 1`, then the batch creating and
#                           exporting qvol and ovol
#   race.txt                enables without the workaround: "N RC ERROR"
#                           (1 and 2 with snapcowd's answer late)
#   wlq/, wlo/              the workloads on the qcow and the origin disk
#   q-{1,2,3}.sha256, o-{1,2,3}.sha256   what the disks served after the
#                           workload, after tcmu-runner's restart and after
#                           snapcowd's
#   timings, dmesg

# shellcheck source=guest-lib.sh
. "$SNAPCOW_KERNEL_DIR/guest-lib.sh"
# shellcheck source=guest-snapcowd.sh
. "$SNAPCOW_KERNEL_DIR/guest-snapcowd.sh"
# shellcheck source=guest-tcmu-cow.sh
. "$SNAPCOW_KERNEL_DIR/guest-tcmu-cow.sh"

D=${1:?usage: guest-coexist.sh SNAPCOWD}
w=/tmp/co
SIZE=$((4 << 20))
CORE=/sys/kernel/config/target/core
LOG=$SHARE/daemon.log
RLOG=$SHARE/runner.log
snapcowd_use "$D"
NAA=naa.5001405000000d01

# race N [late]: a snapcow backstore enabled through configfs without the
# workaround; "N RC ERROR" in race.txt, then it is removed.  late:
# snapcowd is stopped (SIGSTOP) during the enable, so tcmu-runner's
# answer surely comes first; otherwise they race.
race() {
	local b=$CORE/user_9/race$1 rc=0 err
	mkdir -p "$b"
	echo -n "dev_config=snapcow/origin=$w/race.img" >"$b/control"
	echo -n "dev_size=$SIZE" >"$b/control"
	[ "${2:-}" = late ] && kill -STOP "$dpid"
	err=$( { echo 1 >"$b/enable"; } 2>&1) || rc=1
	[ "${2:-}" = late ] && kill -CONT "$dpid"
	echo "$1 $rc ${err##*: }" >>"$SHARE/race.txt"
	# snapcowd answered (and let go of a failed device) before the next.
	wait_log "race$1[/:]" 1
	sleep 0.5
	rmdir "$b"
}

t0=$(now_ms)
mkdir -p "$w/runner-logs"
# tcmu-runner is started by hand below, not by the bus.
guest_bus
workload gen "$w/ovol.img" "$SIZE" 61
workload gen "$w/q.img" "$SIZE" 62
cp "$w/ovol.img" "$w/ovol0.img"
cp "$w/q.img" "$w/q0.img"
truncate -s "$SIZE" "$w/race.img"
truncate -s 8M "$w/s1.cow"
"$(host_bin snapctl)" create -q -c 8K "$w/s1.cow"
echo "setup $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

t0=$(now_ms)
start_runner --debug
start_daemon
wait_log 'D-Bus: registered with' 1
owner org.kernel.TCMUService1 >"$SHARE/owner-1" 2>&1 || true
echo "start $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# Without the workaround the kernel takes the first answer: tcmu-runner's.
t0=$(now_ms)
race 1 late
race 2 late
race 3
race 4
echo "race $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

t0=$(now_ms)
tcli >"$SHARE/bad.out" 2>&1 <<EOF2 || true
/backstores/user:snapcow create name=bad size=1M cfgstring=origin=co/ovol.img
EOF2
# The qcow handler takes a raw image of the backstore's size; snapcow's
# backstores get the workaround.
tcli >"$SHARE/create.out" 2>&1 <<EOF2
ls /backstores 1
/backstores/user:qcow create name=qvol size=$SIZE cfgstring=$w/q.img
/backstores/user:snapcow create name=ovol size=$SIZE cfgstring=origin=$w/ovol.img;cow=$w/s1.cow control=nl_reply_supported=-1
/loopback create $NAA
/loopback/$NAA/luns create /backstores/user:qcow/qvol
/loopback/$NAA/luns create /backstores/user:snapcow/ovol
EOF2
echo "create $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# Both disks written at once.
t0=$(now_ms)
qsd=$(sd_at 0)
osd=$(sd_of origin)
echo "$qsd $osd" >"$SHARE/disks"
mkdir -p "$SHARE/wlq" "$SHARE/wlo"
workload disk "/dev/$qsd" "$w/q0.img" 71 30 "$SHARE/wlq" &
wq=$!
workload disk "/dev/$osd" "$w/ovol0.img" 72 30 "$SHARE/wlo" &
wo=$!
rc=0
wait "$wq" || rc=$?
wait "$wo" || rc=$((rc + $?))
echo "$rc" >"$SHARE/wl.rc"
workload hash 8192 "/dev/$qsd" "$SHARE/q-1.sha256" \
	"/dev/$osd" "$SHARE/o-1.sha256"
echo "workload $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# tcmu-runner restarts: snapcowd registers with the new one.
t0=$(now_ms)
kill -TERM "$rpid"
wait "$rpid" || true
start_runner --debug
wait_log 'D-Bus: registered with' 2
owner org.kernel.TCMUService1 >"$SHARE/owner-2" 2>&1 || true
busctl tree org.kernel.TCMUService1 >"$SHARE/tree-2" 2>&1 || true
echo "ls /backstores 1" | tcli >"$SHARE/ls-2" 2>&1 || true
workload hash 8192 "/dev/$qsd" "$SHARE/q-2.sha256" \
	"/dev/$osd" "$SHARE/o-2.sha256"
echo "runner-restart $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

# snapcowd restarts: it registers again; tcmu-runner's disk goes on.
t0=$(now_ms)
kill -TERM "$dpid"
wait "$dpid" || true
start_daemon
wait_log 'D-Bus: registered with' 3
workload hash 8192 "/dev/$qsd" "$SHARE/q-3.sha256" \
	"/dev/$osd" "$SHARE/o-3.sha256"
echo "snapcowd-restart $(( $(now_ms) - t0 ))" >>"$SHARE/timings"

echo "clearconfig confirm=True" | tcli >"$SHARE/clear.out" 2>&1 || true
kill -TERM "$dpid"
rc=0
wait "$dpid" || rc=$?
echo "$rc" >"$SHARE/term.rc"
kill -TERM "$rpid"
wait "$rpid" || true
cp "$w"/runner-logs/* "$SHARE/" 2>/dev/null || true
dmesg >"$SHARE/dmesg"
