#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Suite H: snapcowd as administrators meet it (guest-targetcli.sh): on
# the guest's system D-Bus as org.kernel.TCMUService1, targetcli lists
# user:snapcow, refuses a bad cfgstring with snapcowd's reason, creates
# an origin with a snapshot and the snapshot, exports them through
# tcm_loop; after clearconfig, a daemon restart and restoreconfig the
# disks serve the same data.

load helpers

SNAPCOWD=${SNAPCOWD:-$KDIR/../../daemon/snapcowd}

setup_file() {
	[ -x "$SNAPCOWD" ] || skip "snapcowd not built"
	[ -x /usr/bin/targetcli ] || skip "targetcli not installed (tests/kernel/setup installs targetcli-fb)"
	command -v dbus-daemon >/dev/null || skip "dbus-daemon not installed"
	boot_guest guest-targetcli.sh "$(realpath "$SNAPCOWD")"
}

@test "snapcowd owns org.kernel.TCMUService1; targetcli lists user:snapcow and its help" {
	grep -q 'D-Bus: org.kernel.TCMUService1 owned, handler /org/kernel/TCMUService1/snapcow' "$SHARE/daemon.log"
	grep -q 'user:snapcow' "$SHARE/ls-backstores"
	grep -q 'origin=PATH\[;cow=COW\]... serves PATH' "$SHARE/ls-backstores"
}

@test "a bad cfgstring: targetcli says snapcowd's reason, nothing is created" {
	grep -q 'cfgstring invalid: origin=tcli/ovol.img: paths must be absolute' "$SHARE/bad.out"
	! grep -q "o- bad " "$SHARE/bad.out"
	! grep -q 'user_[0-9]*/bad' "$SHARE/daemon.log"
}

@test "targetcli creates an origin with its snapshot and the snapshot; both attach" {
	grep -q "Created user-backed storage object ovol size 4194304." "$SHARE/create.out"
	grep -q "Created user-backed storage object svol size 4194304." "$SHARE/create.out"
	grep -q 'user_[0-9]*/ovol: serving origin=/tmp/tcli/ovol.img;cow=/tmp/tcli/s1.cow' "$SHARE/daemon.log"
	grep -q 'user_[0-9]*/svol: serving snapshot=/tmp/tcli/s1.cow;origin=/tmp/tcli/ovol.img' "$SHARE/daemon.log"
	read -r osd ssd <"$SHARE/disks"
	[ -n "$osd" ] && [ -n "$ssd" ]
}

@test "each disk serves its model: the snapshot kept the origin's old data" {
	[ "$(total_hash "$SHARE/before-origin.sha256")" = "$(cat "$SHARE/wlo/model.sha256")" ]
	[ "$(total_hash "$SHARE/before-snap.sha256")" = "$(cat "$SHARE/wls/model.sha256")" ]
}

@test "saveconfig, clearconfig, daemon restart, restoreconfig: the same disks again" {
	grep -q '"config": "snapcow/origin=/tmp/tcli/ovol.img;cow=/tmp/tcli/s1.cow"' "$SHARE/saved.json"
	[ "$(cat "$SHARE/restore.rc")" = 0 ]
	[ "$(grep -c ': ready' "$SHARE/daemon.log")" = 2 ]
	[ "$(total_hash "$SHARE/after-origin.sha256")" = "$(cat "$SHARE/wlo/model.sha256")" ]
	[ "$(total_hash "$SHARE/after-snap.sha256")" = "$(cat "$SHARE/wls/model.sha256")" ]
}

@test "SIGTERM at the end: exit 0; no failed I/O or sanitizer report" {
	[ "$(cat "$SHARE/term.rc")" = 0 ]
	! grep -E 'malformed|broken|failed|Sanitizer|runtime error' "$SHARE/daemon.log"
}
