#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# snapctl activate / deactivate / status --live on the host, where there
# is no device-mapper: usage errors exit 2, everything else refuses with
# exit 1 and says why, and nothing is written.  The kernel side is
# tests/kernel/kernel-activate.bats.

load helpers

bats_require_minimum_version 1.5.0

NO_DM="device-mapper not available: no /dev/mapper/control (modprobe dm-mod)"

setup() {
	setup_common
	need_tool "$SNAPCTL"
	truncate -s 4M "$T/origin"
	truncate -s 1M "$T/cow"
	"$SNAPCTL" create -q --chunk-size 4K "$T/cow" "$T/origin"
}

teardown() {
	teardown_common
}

need_no_dm() {
	[ ! -e /dev/mapper/control ] ||
		skip "this host has device-mapper (/dev/mapper/control)"
	[ "$(id -u)" -eq 0 ] || skip "not root: the root check comes first"
}

# usage ARGS...: snapctl exits 2 with a hint to --help.
usage() {
	run "$SNAPCTL" "$@"
	if [ "$status" -ne 2 ]; then
		echo "snapctl $*: exit $status, expected 2: $output" >&2
		return 1
	fi
	[[ $output == *"for more information."* ]]
}

@test "usage errors exit 2" {
	usage activate
	usage activate t "$T/origin"
	usage snapshot t
	usage snapshot t "$T/cow" x
	usage snapshot a/b "$T/cow"
	usage snapshot --as a/b t "$T/cow"
	usage snapshot --remove t "$T/cow"
	usage snapshot --served --as u t "$T/cow"
	usage remove
	usage remove t
	usage remove t u v
	usage remove t a/b
	usage activate a/b "$T/origin" "$T/cow"
	usage activate "" "$T/origin" "$T/cow"
	usage activate "a b" "$T/origin" "$T/cow"
	usage activate "$(printf 'n%.0s' {1..120})" "$T/origin" "$T/cow"
	usage activate --chunk-size lots t "$T/origin" "$T/cow"
	usage activate --bogus t "$T/origin" "$T/cow"
	usage deactivate
	usage deactivate t u
	usage deactivate ..
	usage status --live
	usage status --live t u v
	usage status --live t a/b
	usage status --live --watch t a/b
	usage status --served v w
	usage status "$T/cow" w
	usage status --live --ima t
	usage status --live --origin "$T/origin" t
	usage status --live --chunk-size 4K t
	usage create --overflow "$T/cow"
	usage create --activate t "$T/cow"
	usage create --activate a/b "$T/cow" "$T/origin"
}

@test "help: activate, deactivate, status --live, create --activate" {
	run -0 "$SNAPCTL" --help
	[[ $output == *activate* && $output == *deactivate* ]]
	run -0 "$SNAPCTL" activate --help
	[[ $output == *"NAME ORIGIN COW [COW...]"* && $output == *--overflow* ]]
	run -0 "$SNAPCTL" snapshot --help
	[[ $output == *"NAME COW"* && $output == *--as* ]]
	run -0 "$SNAPCTL" remove --help
	[[ $output == *"NAME SNAP"* ]]
	run -0 "$SNAPCTL" deactivate --help
	[[ $output == *NAME* ]]
	run -0 "$SNAPCTL" status --help
	[[ $output == *"--live NAME [SNAP]"* && $output == *--live* ]]
	run -0 "$SNAPCTL" create --help
	[[ $output == *--activate* ]]
}

@test "no /dev/mapper/control: every dm command fails with exit 1, clearly" {
	need_no_dm
	run -1 "$SNAPCTL" activate t "$T/origin" "$T/cow"
	[ "$output" = "snapctl: $NO_DM" ]
	run -1 "$SNAPCTL" deactivate t
	[ "$output" = "snapctl: $NO_DM" ]
	run -1 "$SNAPCTL" status --live t
	[ "$output" = "snapctl: $NO_DM" ]
	run -1 "$SNAPCTL" status --live --json t
	[ "$output" = "snapctl: $NO_DM" ]
	run -1 "$SNAPCTL" status --live t t-snap2
	[ "$output" = "snapctl: $NO_DM" ]
	run -1 "$SNAPCTL" snapshot t "$T/cow"
	[ "$output" = "snapctl: $NO_DM" ]
	run -1 "$SNAPCTL" remove t t-snap2
	[ "$output" = "snapctl: $NO_DM" ]
	# Every COW is checked before device-mapper is asked.
	head -c 1M /dev/zero | tr '\0' X >"$T/bad"
	run -1 "$SNAPCTL" activate t "$T/origin" "$T/cow" "$T/bad"
	[[ $output == *"$T/bad: cannot load the COW"*"not a snapshot COW"* ]]
}

@test "no /dev/mapper/control: create --activate refuses before formatting" {
	need_no_dm
	mkfile "$T/new" 1M ff
	before=$(sha "$T/new")
	run -1 "$SNAPCTL" create --chunk-size 4K --activate t "$T/new" \
		"$T/origin"
	[ "$output" = "snapctl: $NO_DM" ]
	[ "$(sha "$T/new")" = "$before" ]
}

@test "not root: exit 1, must be run as root" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to drop privileges"
	command -v setpriv >/dev/null || skip "no setpriv"
	chmod 755 "$T"
	chmod 644 "$T/origin" "$T/cow"
	as_nobody() {
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	}
	run -1 as_nobody "$SNAPCTL" activate t "$T/origin" "$T/cow"
	[[ $output == *"activate: must be run as root"* ]]
	run -1 as_nobody "$SNAPCTL" deactivate t
	[[ $output == *"deactivate: must be run as root"* ]]
	run -1 as_nobody "$SNAPCTL" status --live t
	[[ $output == *"status --live: must be run as root"* ]]
	run -1 as_nobody "$SNAPCTL" create --activate t "$T/cow" "$T/origin"
	[[ $output == *"create --activate: must be run as root"* ]]
}

@test "an invalidated COW is refused before device-mapper is asked" {
	[ "$(id -u)" -eq 0 ] || skip "not root: the root check comes first"
	printf '\0\0\0\0' | dd of="$T/cow" bs=1 seek=4 conv=notrunc status=none
	before=$(sha "$T/cow")
	run -1 "$SNAPCTL" activate t "$T/origin" "$T/cow"
	[[ $output == *"$T/cow: the COW is invalid"*"refusing to activate it"* ]]
	[ "$(sha "$T/cow")" = "$before" ]
}

@test "a damaged COW is refused" {
	[ "$(id -u)" -eq 0 ] || skip "not root: the root check comes first"
	printf 'XXXX' | dd of="$T/cow" bs=1 seek=0 conv=notrunc status=none
	run -1 "$SNAPCTL" activate t "$T/origin" "$T/cow"
	[[ $output == *"$T/cow: cannot load the COW"*"not a snapshot COW"* ]]
}

@test "a COW another snapcow tool holds is refused" {
	[ "$(id -u)" -eq 0 ] || skip "not root: the root check comes first"
	need_cmd flock
	run -1 flock "$T/cow" "$SNAPCTL" activate t "$T/origin" "$T/cow"
	[[ $output == *"$T/cow: in use (the COW of an active snapshot, or mounted): refusing to activate it"* ]]
}

@test "origin == COW is refused" {
	[ "$(id -u)" -eq 0 ] || skip "not root: the root check comes first"
	run -1 "$SNAPCTL" activate t "$T/cow" "$T/cow"
	[[ $output == *"$T/cow (origin) and $T/cow (COW) share storage: $T/cow and $T/cow are the same device (inode $(stat -c %i "$T/cow") on $(stat -c %Hd:%Ld "$T/cow")): a snapshot's COW cannot live on its origin"* ]]
}

@test "a chunk size the origin cannot take is refused" {
	[ "$(id -u)" -eq 0 ] || skip "not root: the root check comes first"
	run -1 "$SNAPCTL" activate --chunk-size 3K t "$T/origin" "$T/cow"
	[[ $output == *"chunk size"* ]]
}
