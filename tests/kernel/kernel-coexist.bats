#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Suite I: snapcowd beside tcmu-runner (guest-coexist.sh). tcmu-runner
# owns org.kernel.TCMUService1; snapcowd registers its handler with it
# (HandlerManager1), so targetcli lists user:qcow and user:snapcow and
# tcmu-runner forwards CheckConfig to snapcowd. Both daemons answer the
# kernel's netlink events and the kernel takes the first answer: a
# snapcow enable fails with tcmu-runner's ENOENT unless the backstore
# has nl_reply_supported=-1. With that, a qcow disk (tcmu-runner) and a
# snapcow origin (snapcowd) are served and written at once; tcmu-runner
# and then snapcowd restart, snapcowd registers again each time, and
# both disks still read their models.

load helpers

SNAPCOWD=${SNAPCOWD:-$KDIR/../../daemon/snapcowd}

setup_file() {
	[ -x "$SNAPCOWD" ] || skip "snapcowd not built"
	[ -x /usr/bin/targetcli ] || skip "targetcli not installed (tests/kernel/setup installs targetcli-fb)"
	[ -x /usr/bin/tcmu-runner ] || skip "tcmu-runner not installed (tests/kernel/setup installs it)"
	command -v dbus-daemon >/dev/null || skip "dbus-daemon not installed"
	boot_guest guest-coexist.sh "$(realpath "$SNAPCOWD")"
}

@test "tcmu-runner owns the name; snapcowd registers as its handler; targetcli lists both" {
	grep -q 'D-Bus: org.kernel.TCMUService1 is taken (tcmu-runner runs): org.kernel.TCMUService1.HandlerManager1.snapcow owned, registering handler snapcow with it' "$SHARE/daemon.log"
	grep -q 'D-Bus: registered with org.kernel.TCMUService1 (tcmu-runner) as handler org.kernel.TCMUService1.HandlerManager1.snapcow' "$SHARE/daemon.log"
	run ! grep -q 'owned, handler /org/kernel/TCMUService1/snapcow' "$SHARE/daemon.log"
	grep -Eq '^s ":1\.[0-9]+"$' "$SHARE/owner-1"
	grep -q 'o- user:qcow \.*' "$SHARE/create.out"
	grep -q 'o- user:snapcow \.*' "$SHARE/create.out"
}

@test "a bad cfgstring: tcmu-runner forwards CheckConfig, targetcli prints snapcowd's reason" {
	grep -q 'cfgstring invalid: origin=co/ovol.img: paths must be absolute' "$SHARE/bad.out"
	grep -q "D-Bus CheckConfig 'snapcow/origin=co/ovol.img': origin=co/ovol.img: paths must be absolute" "$SHARE/daemon.log"
	run ! grep -q 'user_[0-9]*/bad' "$SHARE/daemon.log"
}

@test "without nl_reply_supported=-1 the kernel takes the first answer: tcmu-runner's ENOENT fails the enable" {
	local n rc err failed=0
	[ "$(wc -l <"$SHARE/race.txt")" = 4 ]
	while read -r n rc err; do
		# 1 and 2: snapcowd stopped during the enable, tcmu-runner's
		# answer surely first; 3 and 4 race.
		if [ "$n" -le 2 ]; then
			[ "$rc" = 1 ]
		fi
		[ "$rc" = 1 ] || continue
		[ "$err" = "No such file or directory" ]
		grep -q "not waiting for our answer to ADDED_DEVICE of tcm-user/9/race$n/snapcow/" "$SHARE/daemon.log"
		failed=$((failed + 1))
	done <"$SHARE/race.txt"
	echo "# $failed of 4 enables failed with tcmu-runner's answer (2 with ours late, 2 racing)" >&3
	# A device whose enable failed is not kept: snapcowd found its uio
	# gone already (1 and 2; refused) or let it go when the kernel
	# dropped it, and held no race device at its stop.
	for n in 1 2 3 4; do
		if grep -q "^$n 1 " "$SHARE/race.txt"; then
			grep -Eq "race$n(/snapcow/origin=/tmp/co/race.img\)|): (refused: |uio[0-9]+ went away without a REMOVED_DEVICE: released)" "$SHARE/daemon.log"
		fi
	done
	run ! grep -q 'user_9/race[0-9]: released$' "$SHARE/daemon.log"
	# Both daemons answered each snapcow add: the kernel refused the
	# later answer of each race, and both of ovol's (nl_reply_supported=-1:
	# it waited for none).
	[ "$(grep -c 'tcmu nl cmd 1/.* completion could not find device' "$SHARE/dmesg")" = 6 ]
}

@test "with nl_reply_supported=-1: a qcow disk and a snapcow origin served and written at once" {
	grep -q "Created user-backed storage object qvol size 4194304." "$SHARE/create.out"
	grep -q "Created user-backed storage object ovol size 4194304." "$SHARE/create.out"
	grep -q 'user_[0-9]*/ovol: serving origin=/tmp/co/ovol.img;cow=/tmp/co/s1.cow' "$SHARE/daemon.log"
	[ "$(cat "$SHARE/wl.rc")" = 0 ]
	[ "$(total_hash "$SHARE/q-1.sha256")" = "$(cat "$SHARE/wlq/model.sha256")" ]
	[ "$(total_hash "$SHARE/o-1.sha256")" = "$(cat "$SHARE/wlo/model.sha256")" ]
}

@test "tcmu-runner restarts: snapcowd registers again, both disks still serve their models" {
	grep -q 'D-Bus: org.kernel.TCMUService1 left the bus (tcmu-runner stopped?)' "$SHARE/daemon.log"
	grep -Eq 'D-Bus: org.kernel.TCMUService1 is now owned by :1\.[0-9]+ \(tcmu-runner restarted\?\): registering again' "$SHARE/daemon.log"
	[ "$(cat "$SHARE/owner-2")" != "$(cat "$SHARE/owner-1")" ]
	grep -q '/org/kernel/TCMUService1/snapcow' "$SHARE/tree-2"
	grep -q 'o- user:snapcow \.*' "$SHARE/ls-2"
	grep -q 'o- user:qcow \.*' "$SHARE/ls-2"
	[ "$(total_hash "$SHARE/q-2.sha256")" = "$(cat "$SHARE/wlq/model.sha256")" ]
	[ "$(total_hash "$SHARE/o-2.sha256")" = "$(cat "$SHARE/wlo/model.sha256")" ]
}

@test "snapcowd restarts: it recovers its ring only, registers again; tcmu-runner's disk goes on" {
	[ "$(grep -c 'D-Bus: registered with org.kernel.TCMUService1 (tcmu-runner)' "$SHARE/daemon.log")" = 3 ]
	grep -q 'user_[0-9]*/ovol: ring reset (block_dev, reset_ring)' "$SHARE/daemon.log"
	run ! grep -q 'qvol' "$SHARE/daemon.log"
	[ "$(total_hash "$SHARE/q-3.sha256")" = "$(cat "$SHARE/wlq/model.sha256")" ]
	[ "$(total_hash "$SHARE/o-3.sha256")" = "$(cat "$SHARE/wlo/model.sha256")" ]
}

@test "SIGTERM at the end: exit 0; no failed I/O or sanitizer report" {
	[ "$(cat "$SHARE/term.rc")" = 0 ]
	run ! grep -E 'malformed|broken|failed|Sanitizer|runtime error' "$SHARE/daemon.log"
}
