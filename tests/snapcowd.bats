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
