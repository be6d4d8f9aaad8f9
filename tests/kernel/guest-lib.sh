# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Helpers for guest scripts (sourced inside the VM; see tests/kernel/vm).

set -euo pipefail

K=${SNAPCOW_KERNEL_DIR:?not in the harness guest}
# shellcheck disable=SC2034 # used by the scripts that source this
SHARE=${SNAPCOW_SHARE:-/share}

# -S: no site module. Its start-up walks the host's dist-packages over 9p
# and costs more than a second per python run under TCG.
workload() {
	python3 -S "$K/workload.py" "$@"
}

# load_modules [MODULE...]: dm-mod, dm-snapshot, loop and MODULEs.
# Modules may be built in (modprobe then succeeds silently) or missing
# (then the suite cannot run at all).
# shellcheck disable=SC2120 # the extra modules are optional
load_modules() {
	local m
	for m in dm-mod dm-snapshot loop "$@"; do
		modprobe "$m" || { echo "guest: cannot load $m" >&2; return 1; }
	done
}

# dm_create NAME TABLE: create a device and its /dev/mapper node (no udev).
dm_create() {
	dmsetup create "$1" --table "$2"
	dmsetup mknodes "$1"
}

# The status line without "START LEN TARGET ".
dm_status() {
	dmsetup status "$1" | cut -d' ' -f4-
}

# wait_file FILE: until FILE exists (a paused workload creates it), at
# most a minute.
wait_file() {
	local _
	for _ in $(seq 600); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# now_ms: milliseconds since boot, for the timings file.
now_ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# copy_out SRC DST: copy an image to the share, keeping holes (the COW is
# mostly unallocated and 9p is slow under TCG).
copy_out() {
	cp --sparse=always "$1" "$2"
}
