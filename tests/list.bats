#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# snapctl list and snapctl status --served without a kernel: no devices
# (exact output), the refusals when no snapcowd is on the bus, and a
# served origin with its snapshot.  The served devices come from
# unit/test-dbus-status --serve: snapcowd's status object over LUNs
# opened as the daemon opens them, on a private dbus-daemon given as the
# system bus.  DM_DEV_DIR points libdevmapper at an empty directory, so
# device-mapper devices of the machine (other suites') stay out of the
# exact outputs; kernel-activate.bats lists real ones.

load helpers

: "${TESTS_BUILDDIR:=$TESTS_SRCDIR/../build/tests}"
SERVER=$TESTS_BUILDDIR/unit/test-dbus-status

# valid KIND: $output validates against schemas/KIND.json (when
# python3-jsonschema is there: scripts/deps installs it; schemas.bats
# skips without it too).
valid() {
	python3 -c 'import jsonschema' 2>/dev/null || return 0
	python3 -c '
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator(schema).validate(json.load(sys.stdin))
' "$TESTS_SRCDIR/../schemas/$1.json" <<<"$output"
}

setup() {
	setup_common
	need_tool "$SNAPCTL"
	mkdir "$T/nodm"
	export DM_DEV_DIR=$T/nodm
	export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/none
}

teardown() {
	[ -f "$T/server.pid" ] && kill "$(cat "$T/server.pid")" 2>/dev/null
	[ -f "$T/bus.pid" ] && kill "$(cat "$T/bus.pid")" 2>/dev/null
	teardown_common
}

# A dbus-daemon of our own, as the system bus.
start_bus() {
	need_cmd dbus-daemon
	dbus-daemon --session --fork --address="unix:path=$T/bus" \
		--print-address=3 --print-pid=4 3>"$T/bus.addr" 4>"$T/bus.pid" \
		2>/dev/null
	DBUS_SYSTEM_BUS_ADDRESS=$(head -n1 "$T/bus.addr")
}

# The status object serving ovol (origin a.img, cow s.cow) and svol.
start_server() {
	need_tool "$SERVER"
	start_bus
	mkdir "$T/srv"
	"$SERVER" --serve "$T/srv" >"$T/server.out" 2>&1 &
	echo $! >"$T/server.pid"
	for _ in $(seq 100); do
		grep -q serving "$T/server.out" && return 0
		sleep 0.05
	done
	cat "$T/server.out"
	return 1
}

@test "list with no device: no output, exit 0; JSON: an empty list" {
	run "$SNAPCTL" list
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	run "$SNAPCTL" list --json
	[ "$status" -eq 0 ]
	[ "$output" = '{
  "snapshots": [
  ]
}' ]
	run "$SNAPCTL" list -v
	[ "$status" -eq 0 ]
	[ "$output" = "snapctl: no snapcowd on the system bus (unix:path=$T/none): no served devices" ]
}

@test "status --served without a bus, or with no snapcowd on it: exit 1 naming the bus" {
	run "$SNAPCTL" status --served vol
	[ "$status" -eq 1 ]
	[ "$output" = "snapctl: cannot reach snapcowd: no system bus at unix:path=$T/none: No such file or directory" ]
	start_bus
	run "$SNAPCTL" status --served --json vol
	[ "$status" -eq 1 ]
	[ "$output" = "snapctl: snapcowd is not running: nobody owns org.snapcow.Daemon1 on the system bus ($DBUS_SYSTEM_BUS_ADDRESS)" ]
	run "$SNAPCTL" list --json
	[ "$status" -eq 0 ]
	[ "$(jq -c . <<<"$output")" = '{"snapshots":[]}' ]
}

@test "usage errors exit 2" {
	run "$SNAPCTL" list extra
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "snapctl: list takes no arguments" ]
	run "$SNAPCTL" status --served
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "snapctl: no VOL given" ]
	run "$SNAPCTL" status --cow "$T/c" "$T/c"
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "snapctl: --cow needs --served" ]
	run "$SNAPCTL" status --served --live vol
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "snapctl: --served takes no --live, --origin or --chunk-size: snapcowd has them" ]
}

@test "a served snapshot: list, status --served in text, IMA and JSON with its counters" {
	start_server
	local o=$T/srv/a.img c=$T/srv/s.cow
	run "$SNAPCTL" list
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$(printf '%-6s %-4s %-*s %-*s %5s %4s %s' KIND NAME "${#o}" ORIGIN "${#c}" COW CHUNK USE% STATUS)" ]
	[ "${lines[1]}" = "$(printf '%-6s %-4s %-*s %-*s %5s %4s %s' served svol "${#o}" "$o" "${#c}" "$c" 16K 6.25 '128/2048 64')" ]
	[ "${#lines[@]}" -eq 2 ]
	# The columns util-linux's way: chosen, appended, raw, no headings.
	run "$SNAPCTL" list --output NAME,VOL,ORIGIN_VOL,DM_NAME,STATE
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'NAME VOL  ORIGIN_VOL DM_NAME STATE\nsvol svol ovol       -       valid')" ]
	run "$SNAPCTL" list -n -r --output +STATE
	[ "$status" -eq 0 ]
	[ "$output" = "served svol $o $c 16K 6.25 128/2048\\x2064 valid" ]
	run "$SNAPCTL" list --output COW,SIZE
	[ "$status" -eq 2 ]
	[ "$output" = "snapctl: unknown column: 'SIZE'" ]
	run "$SNAPCTL" list --json -n
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "snapctl: --json takes no --output, --noheadings or --raw" ]

	run "$SNAPCTL" list --json
	[ "$status" -eq 0 ]
	valid list
	[ "$(jq -c '.snapshots[0] | [.kind, .name, .vol, .origin_vol, .dm_name, .chunk_size_bytes, .status, .cow_sectors, .percent_used]' <<<"$output")" = '["served","svol","svol","ovol",null,16384,"128/2048 64",2048,6.25]' ]
	[ "$(jq -r '.snapshots[0].cow' <<<"$output")" = "$c" ]

	run "$SNAPCTL" status --served svol
	[ "$status" -eq 0 ]
	[ "$output" = "128/2048 64" ]
	run "$SNAPCTL" status --served --ima svol
	[ "$status" -eq 0 ]
	[ "$output" = "target_name=snapshot,target_version=1.16.0,snap_origin_name=$o,snap_cow_name=$c,snap_valid=y,snap_merge_failed=n,snapshot_overflowed=n;" ]
	run "$SNAPCTL" status --served --json svol
	[ "$status" -eq 0 ]
	valid status
	[ "$(jq -c .counters <<<"$output")" = '{"read_count":1,"write_count":0,"copy_count":2,"commit_count":2,"error_count":0}' ]
	svol=$output
	# The origin's VOL with its only COW: the same document, its own I/O.
	run "$SNAPCTL" status --served --json --cow "$c" ovol
	[ "$status" -eq 0 ]
	[ "$(jq -c .counters <<<"$output")" = '{"read_count":1,"write_count":3,"copy_count":2,"commit_count":2,"error_count":0}' ]
	[ "$(jq -S 'del(.counters)' <<<"$output")" = "$(jq -S 'del(.counters)' <<<"$svol")" ]
}

@test "status --served refusals: unknown VOL, a COW VOL does not serve" {
	start_server
	run "$SNAPCTL" status --served nope
	[ "$status" -eq 1 ]
	[ "$output" = "snapctl: nope: snapcowd serves no device of that name" ]
	run "$SNAPCTL" status --served --json --cow "$T/x.cow" ovol
	[ "$status" -eq 1 ]
	[ "$output" = "snapctl: ovol: origin $T/srv/a.img has no snapshot $T/x.cow" ]
}
