#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# make install puts every program where administrators look for it:
# the tools and the daemon in sbin (section 8, as e2fsprogs, lvm2 and
# dmsetup), their man pages in man8, snapcow-reports(7) and the JSON
# schemas of the reports, the bash completions.

load helpers

# One install for the file, into a DESTDIR of its own.
setup_file() {
	[ -n "${TOP_BUILDDIR:-}" ] || return 0
	make -s -C "$TOP_BUILDDIR" install DESTDIR="$BATS_FILE_TMPDIR/root" \
		>"$BATS_FILE_TMPDIR/install.log" 2>&1 ||
		{ cat "$BATS_FILE_TMPDIR/install.log" >&3; return 1; }
}

setup() {
	[ -n "${TOP_BUILDDIR:-}" ] || skip "TOP_BUILDDIR not set (run through make check)"
}

teardown() { :; }

# installed PATTERN: the installed files whose path ends in PATTERN.
installed() {
	find "$BATS_FILE_TMPDIR/root" -path "*$1" -print
}

@test "install: snapctl, snapdump, snapcheck and snapcowd in sbin, none in bin" {
	local p
	for p in snapctl snapdump snapcheck snapcowd; do
		[ -x "$(installed "/sbin/$p")" ]
		[ -z "$(installed "/bin/$p" | grep -v /sbin/)" ]
	done
}

@test "install: a man page in section 8 for every program" {
	local p
	for p in snapctl snapdump snapcheck snapcowd; do
		[ -f "$(installed "/man8/$p.8")" ]
	done
}

@test "install: snapcow-reports(7), the report schemas, the field table's header" {
	local s
	[ -f "$(installed "/man7/snapcow-reports.7")" ]
	for s in status create merge check dump; do
		[ -f "$(installed "/share/snapcow/schemas/$s.json")" ]
		cmp "$(installed "/share/snapcow/schemas/$s.json")" \
			"$TESTS_SRCDIR/../schemas/$s.json"
	done
	[ -f "$(installed "/include/snapcow/fields.h")" ]
}

@test "install: bash completions for every program" {
	local p
	for p in snapctl snapdump snapcheck snapcowd; do
		[ -f "$(installed "/completions/$p")" ]
	done
}

@test "install: the systemd unit names the installed snapcowd; the D-Bus policy" {
	local unit
	unit=$(installed "/systemd/system/snapcowd.service")
	[ -f "$unit" ]
	grep -q "^ExecStart=/.*/sbin/snapcowd$" "$unit"
	[ -f "$(installed "/dbus-1/system.d/snapcowd-dbus.conf")" ]
}
