# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Running the host's snapcowd in the guest, for the guest scripts that
# serve devices (guest-tcmu.sh, guest-targetcli.sh, guest-coexist.sh),
# and the guest's own system bus and targetcli for those that need them.  The caller sets
# $w (the allowed image folder) and $LOG, then calls snapcowd_use.

dpid=

# snapcowd_use SNAPCOWD: run the binary a libtool wrapper stands for,
# with the library beside it; $D is the binary, $BUILD the build folder.
snapcowd_use() {
	local bin
	D=$1
	BUILD=$(cd "$(dirname "$D")/.." && pwd)
	bin=$(dirname "$D")/.libs/$(basename "$D")
	if [ -x "$bin" ] && [ -d "$BUILD/lib/.libs" ] &&
		head -c 2 "$D" | grep -q '#!'; then
		D=$bin
		export LD_LIBRARY_PATH=$BUILD/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	fi
}

# host_bin NAME: the host build's tool NAME (the libtool wrapper's binary;
# LD_LIBRARY_PATH already leads to the library).
host_bin() {
	local bin=$BUILD/tools/.libs/$1

	[ -x "$bin" ] || bin=$BUILD/tools/$1
	echo "$bin"
}

# start_daemon: run snapcowd in the background until it logs "ready".
start_daemon() {
	local n i
	touch "$LOG"
	n=$(grep -c ': ready' "$LOG" || true)
	"$D" --allow "$w" --verbose 2>>"$LOG" &
	dpid=$!
	for i in $(seq 100); do
		[ "$(grep -c ': ready' "$LOG")" -gt "$n" ] && return 0
		kill -0 "$dpid" 2>/dev/null || break
		sleep 0.1
	done
	echo "guest: snapcowd did not start" >&2
	cat "$LOG" >&2
	return 1
}

# restart_at PAUSE_FILE ACKED KILLED_AT: once a workload creates
# PAUSE_FILE, kill -9 the daemon, note how many writes ACKED lists then
# in KILLED_AT, and start another daemon (which recovers the rings).
restart_at() {
	wait_file "$1" || true
	kill -9 "$dpid"
	wc -l <"$2" >"$3"
	wait "$dpid" || true
	sleep 0.5
	start_daemon
}

# tcli: one targetcli process for a batch of commands on stdin (a call
# costs seconds under TCG).
tcli() {
	/usr/bin/python3 /usr/bin/targetcli
}

# guest_bus: target_core_user, tcm_loop and sd_mod loaded, and a system
# D-Bus of the guest's own with snapcowd's policy, where nothing is
# started by activation (tcmu-runner would be, for its name).
guest_bus() {
	local m
	for m in target_core_user tcm_loop sd_mod; do
		modprobe "$m" || { echo "guest: cannot load $m" >&2; return 1; }
	done
	mkdir -p /run/dbus
	cp "$SNAPCOW_KERNEL_DIR/../../daemon/snapcowd-dbus.conf" \
		/etc/dbus-1/system.d/
	rm -f /usr/share/dbus-1/system-services/org.kernel.TCMUService1.service
	dbus-daemon --system --fork --nopidfile 2>"$SHARE/dbus.log"
}
