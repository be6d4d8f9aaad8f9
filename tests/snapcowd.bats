#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# snapcowd's command line and configuration, without a kernel: options,
# the configuration file's errors (file and line), the allow-list's
# errors, and the message when target_core_user is not there.  Serving
# devices is tested in the guest (tests/kernel/kernel-tcmu.bats).

load helpers

: "${SNAPCOWD:=$TESTS_SRCDIR/../build/daemon/snapcowd}"

setup() {
	setup_common
	need_tool "$SNAPCOWD"
}

teardown() { teardown_common; }

@test "--help and --version" {
	run "$SNAPCOWD" --help
	[ "$status" -eq 0 ]
	[[ $output == *"--config=FILE"* ]]
	[[ $output == *"--allow=DIR"* ]]
	[[ $output == *"--verbose"* ]]
	[[ $output == *"--workers=N"* ]]
	[[ $output == *"--no-io-uring"* ]]
	[[ $output == *"--poll"* ]]
	run "$SNAPCOWD" --version
	[ "$status" -eq 0 ]
	[[ $output =~ ^snapcowd\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "usage errors exit 2" {
	run "$SNAPCOWD" --no-such-option
	[ "$status" -eq 2 ]
	[ "$output" = "snapcowd: --no-such-option: unknown option" ]
	run "$SNAPCOWD" extra
	[ "$status" -eq 2 ]
	[ "$output" = "snapcowd: unexpected argument 'extra'" ]
	run "$SNAPCOWD" --allow "$T/missing"
	[ "$status" -eq 2 ]
	[ "$output" = "snapcowd: --allow: allowed directory $T/missing: No such file or directory" ]
	run "$SNAPCOWD" --allow relative
	[ "$status" -eq 2 ]
	[ "$output" = "snapcowd: --allow: allowed directory relative: not an absolute path" ]
	for n in -1 1025 x 4x ''; do
		run "$SNAPCOWD" --workers "$n"
		[ "$status" -eq 2 ]
		[ "$output" = "snapcowd: --workers $n: not a number from 0 to 1024" ]
	done
}

@test "a bad configuration file stops the daemon, naming file and line" {
	printf '# snapcowd\nallow = %s\ncolour = blue\n' "$T" >"$T/c.conf"
	run "$SNAPCOWD" --config "$T/c.conf"
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "<3>snapcowd: $T/c.conf:3: unknown key 'colour'" ]
	run "$SNAPCOWD" --config "$T/none.conf"
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "<3>snapcowd: $T/none.conf: No such file or directory" ]
}

@test "without target_core_user: says what to load, exits 1" {
	[ ! -d /sys/module/target_core_user ] ||
		skip "target_core_user is loaded here"
	printf 'allow = %s\n' "$T" >"$T/c.conf"
	run "$SNAPCOWD" --config "$T/c.conf"
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "<3>snapcowd: netlink family TCM-USER not found: is target_core_user loaded (modprobe target_core_user)?" ]
	[ "${lines[1]}" = "<3>snapcowd: exiting: No such file or directory" ]
}

@test "snapcowd.service: systemd-analyze verify passes with no warning" {
	need_cmd systemd-analyze
	need_cmd man
	local unit=${TOP_BUILDDIR:-$TESTS_SRCDIR/../build}/daemon/snapcowd.service
	[ -f "$unit" ]
	# ExecStart and the man page of the build, as the installed ones.
	mkdir -p "$T/man/man8"
	cp "$TESTS_SRCDIR/../man/snapcowd.8" "$T/man/man8/"
	sed "s|^ExecStart=.*|ExecStart=$SNAPCOWD|" "$unit" >"$T/snapcowd.service"
	run env MANPATH="$T/man" systemd-analyze verify --man=yes "$T/snapcowd.service"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# What the daemon relies on: notify, a watchdog, no BusName (tcmu-runner's).
	grep -qx 'Type=notify' "$unit"
	grep -qx 'WatchdogSec=30' "$unit"
	grep -qx 'NoNewPrivileges=yes' "$unit"
	! grep -q '^BusName=' "$unit" || false
}

@test "the D-Bus policy lets root alone own and call org.kernel.TCMUService1, org.snapcow.Daemon1 and the handler name registered with tcmu-runner" {
	run python3 - "$TESTS_SRCDIR/../daemon/snapcowd-dbus.conf" <<'PY'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
for p in root.findall("policy"):
    who = p.get("user") or p.get("context")
    for rule in p:
        print(who, rule.tag, " ".join("%s=%s" % kv for kv in sorted(rule.attrib.items())))
PY
	[ "$status" -eq 0 ]
	[ "$output" = "root allow own=org.kernel.TCMUService1
root allow send_destination=org.kernel.TCMUService1
root allow own=org.snapcow.Daemon1
root allow send_destination=org.snapcow.Daemon1
root allow own=org.kernel.TCMUService1.HandlerManager1.snapcow
root allow send_destination=org.kernel.TCMUService1.HandlerManager1.snapcow
default deny send_destination=org.kernel.TCMUService1
default deny send_destination=org.snapcow.Daemon1
default deny send_destination=org.kernel.TCMUService1.HandlerManager1.snapcow" ]
}
