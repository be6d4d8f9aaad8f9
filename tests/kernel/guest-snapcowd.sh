# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Running the host's snapcowd in the guest, for the guest scripts that
# serve devices (guest-tcmu.sh, guest-targetcli.sh, guest-coexist.sh,
# bench/bench-peer-guest.sh), and the guest's own system bus, targetcli
# and tcmu-runner for those that need them.  The caller sets $w (the
# allowed image folder) and $LOG ($RLOG for tcmu-runner), then calls
# snapcowd_use.

dpid=
rpid=

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

# owner NAME: the unique name owning NAME on the bus (fails when none).
owner() {
	busctl call org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus GetNameOwner s "$1"
}

# start_runner [OPTION...]: the host's tcmu-runner (with OPTIONs) in the
# background until it owns its name; $rpid, its log in $RLOG, its own
# log files in $w/runner-logs.  Only its qcow handler: the rbd
# handler's libraries (librados) take long to load over 9p under TCG.
# shellcheck disable=SC2120 # the options are optional
start_runner() {
	local _
	mkdir -p "$w/handlers" "$w/runner-logs"
	cp /usr/lib/x86_64-linux-gnu/tcmu-runner/handler_qcow.so "$w/handlers/"
	/usr/bin/tcmu-runner "$@" -l "$w/runner-logs" \
		--handler-path "$w/handlers" >>"$RLOG" 2>&1 &
	rpid=$!
	for _ in $(seq 100); do
		owner org.kernel.TCMUService1 >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "guest: tcmu-runner did not take its name" >&2
	return 1
}

# wait_log PATTERN COUNT: until the daemon's log holds COUNT lines.
wait_log() {
	local _
	for _ in $(seq 200); do
		[ "$(grep -c "$1" "$LOG")" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "guest: no '$1' (x$2) in snapcowd's log" >&2
	return 1
}
