#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# snapctl snapshot --served without a kernel: a fake configfs root
# (SNAPCOW_CONFIGFS) whose attrib/dev_config is a plain file, so the
# command's checks, the COW's preparation and the dev_config it writes
# are seen exactly.  What snapcowd does with it is proved in
# kernel/kernel-targetcli.bats.

load helpers

setup() {
	setup_common
	need_tool "$SNAPCTL"
	export SNAPCOW_CONFIGFS=$T/cfs
	vol=$T/cfs/target/core/user_3/ovol
	mkdir -p "$vol/attrib"
	mkfile "$T/o.img" 1M 5a
	# The kernel shows dev_config with a newline.
	printf 'snapcow/origin=%s\n' "$T/o.img" >"$vol/attrib/dev_config"
}

teardown() { teardown_common; }

dev_config() {
	cat "$vol/attrib/dev_config"
}

@test "snapshot: usage errors exit 2" {
	run_status 2 "$SNAPCTL" snapshot --remove ovol "$T/c"
	[ "$output" = "snapctl: --remove and --force are for --served (remove a device-mapper snapshot with 'snapctl remove')
Try 'snapctl snapshot --help' for more information." ]
	run_status 2 "$SNAPCTL" snapshot --served ovol
	[[ "${lines[0]}" = "snapctl: no COW given" ]]
	run_status 2 "$SNAPCTL" snapshot --served
	[[ "${lines[0]}" = "snapctl: no VOL given" ]]
	run_status 2 "$SNAPCTL" snapshot --served ovol "$T/c" x
	[[ "${lines[0]}" = "snapctl: too many arguments" ]]
	run_status 2 "$SNAPCTL" snapshot --served a/b "$T/c"
	[[ "${lines[0]}" = "snapctl: a/b: not a backstore name" ]]
	run_status 2 "$SNAPCTL" snapshot --served 'o*' "$T/c"
	[[ "${lines[0]}" = "snapctl: o*: not a backstore name" ]]
	run_status 2 "$SNAPCTL" snapshot --served --remove -c 8K ovol "$T/c"
	[[ "${lines[0]}" = "snapctl: --chunk-size is for a new snapshot, not --remove" ]]
	run_status 0 "$SNAPCTL" snapshot --help
	[[ "$output" = *"--served"*"--remove"* ]]
}

@test "snapshot: a VOL that is not there, not snapcowd's or a snapshot" {
	mkfile "$T/c" 1M
	run_status 1 "$SNAPCTL" snapshot --served nope "$T/c"
	[ "$output" = "snapctl: nope: no user backstore of that name ($T/cfs/target/core/user_*/nope)" ]
	printf 'file/%s\n' "$T/o.img" >"$vol/attrib/dev_config"
	run_status 1 "$SNAPCTL" snapshot --served ovol "$T/c"
	[ "$output" = "snapctl: ovol: dev_config 'file/$T/o.img' is not snapcowd's (subtype snapcow)" ]
	printf 'snapcow/snapshot=%s;origin=%s\n' "$T/s" "$T/o.img" \
		>"$vol/attrib/dev_config"
	run_status 1 "$SNAPCTL" snapshot --served ovol "$T/c"
	[ "$output" = "snapctl: ovol: serves snapshot $T/s: only an origin's backstore takes snapshots" ]
	[ "$(hexat "$T/c" 0 16)" = 00000000000000000000000000000000 ]
	run_status 1 "$SNAPCTL" snapshot --served ovol "$T/missing"
	[ "$output" = "snapctl: $T/missing: No such file or directory" ]
}

@test "snapshot: a new COW is formatted, then cow= is added; --remove drops it" {
	mkfile "$T/c" 1M
	ln -s c "$T/c-link"
	run_status 0 "$SNAPCTL" snapshot --served ovol "$T/c-link"
	[ "$output" = "$T/c: formatted: 1.0 MiB, chunk size 4096 bytes (8 sectors), 256 exceptions per area, room for 254 exceptions
ovol: snapshot $T/c taken (dev_config snapcow/origin=$T/o.img;cow=$T/c)" ]
	[ "$(dev_config)" = "snapcow/origin=$T/o.img;cow=$T/c" ]
	[ "$(hexat "$T/c" 0 16)" = 536e4170010000000100000008000000 ]
	run_status 1 "$SNAPCTL" snapshot --served ovol "$T/c"
	[ "$output" = "snapctl: ovol: already lists cow=$T/c" ]
	# An empty formatted COW is taken as it is, with its chunk size.
	mkfile "$T/d" 1M
	"$SNAPCTL" create -q -c 16K "$T/d"
	before=$(sha "$T/d")
	run_status 0 "$SNAPCTL" snapshot --served -q ovol "$T/d"
	[ "$output" = "" ]
	[ "$(sha "$T/d")" = "$before" ]
	[ "$(dev_config)" = "snapcow/origin=$T/o.img;cow=$T/c;cow=$T/d" ]
	run_status 0 "$SNAPCTL" snapshot --served --remove ovol "$T/c-link"
	[ "$output" = "ovol: snapshot $T/c removed (dev_config snapcow/origin=$T/o.img;cow=$T/d)" ]
	[ "$(dev_config)" = "snapcow/origin=$T/o.img;cow=$T/d" ]
	run_status 1 "$SNAPCTL" snapshot --served --remove ovol "$T/c"
	[ "$output" = "snapctl: ovol: lists no cow=$T/c (dev_config snapcow/origin=$T/o.img;cow=$T/d)" ]
	[ -s "$T/c" ]
}

@test "snapshot: refused COWs leave the COW and dev_config alone" {
	config=$(dev_config)
	mkcow --chunk-size 8 --size 1048576 --sequential 1 "$T/used"
	before=$(sha "$T/used")
	run_status 1 "$SNAPCTL" snapshot --served ovol "$T/used"
	[ "$output" = "snapctl: $T/used: holds 1 exception: a new snapshot starts from an empty COW" ]
	[ "$(sha "$T/used")" = "$before" ]
	run_status 1 "$SNAPCTL" snapshot --served ovol "$T/o.img"
	[[ "$output" = "snapctl: $T/o.img (COW) and $T/o.img (origin) share storage: "*": a snapshot's COW cannot live on its origin" ]]
	[ "$(dev_config)" = "$config" ]
}

@test "snapshot: a dev_config the kernel cannot hold is refused before the COW is formatted" {
	# 255 bytes is the most: with the new cow= item it would not fit.
	long=$T/$(printf 'd%.0s' $(seq 200))
	mkdir -p "$long"
	mkfile "$long/c" 1M
	before=$(sha "$long/c")
	run_status 1 "$SNAPCTL" snapshot --served ovol "$long/c"
	want="snapcow/origin=$T/o.img;cow=$long/c"
	[ "$output" = "snapctl: ovol: the new dev_config '$want' is ${#want} bytes: the kernel keeps at most 255" ]
	[ "$(sha "$long/c")" = "$before" ]
	[ "$(dev_config)" = "snapcow/origin=$T/o.img" ]
}

@test "snapshot: a dev_config that breaks the cfgstring grammar is named with the rule" {
	mkfile "$T/c" 1M
	printf 'snapcow/origin=%s;size=1\n' "$T/o.img" >"$vol/attrib/dev_config"
	run_status 1 "$SNAPCTL" snapshot --served ovol "$T/c"
	[ "$output" = "snapctl: ovol: dev_config 'snapcow/origin=$T/o.img;size=1': unknown key 'size'" ]
	printf 'snapcow/cow=%s\n' "$T/c" >"$vol/attrib/dev_config"
	run_status 1 "$SNAPCTL" snapshot --served ovol "$T/c"
	[ "$output" = "snapctl: ovol: dev_config 'snapcow/cow=$T/c': no origin=PATH in 'cow=$T/c'" ]
	[ "$(hexat "$T/c" 0 16)" = 00000000000000000000000000000000 ]
}
