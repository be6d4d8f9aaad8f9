#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Suite H: snapcowd as administrators meet it (guest-targetcli.sh): on
# the guest's system D-Bus as org.kernel.TCMUService1, targetcli lists
# user:snapcow, refuses a bad cfgstring with snapcowd's reason, creates
# an origin with a snapshot and the snapshot, exports them through
# tcm_loop; a live snapshot taken with snapctl snapshot --served in the
# middle of the origin's O_DIRECT workload reads the origin at that point
# and is exported too; after clearconfig, a daemon restart and
# restoreconfig the disks serve the same data; snapctl list and status
# --served report a known workload's counts (guest-status.sh).  The
# origin is then exported over iSCSI on 127.0.0.1 and written through
# open-iscsi's disk while another live snapshot is taken; at the end the
# kernel's dm-snapshot serves every snapshot's image from its COW.

load helpers

SNAPCOWD=${SNAPCOWD:-$KDIR/../../daemon/snapcowd}

setup_file() {
	[ -x "$SNAPCOWD" ] || skip "snapcowd not built"
	[ -x /usr/bin/targetcli ] || skip "targetcli not installed (tests/kernel/setup installs targetcli-fb)"
	command -v dbus-daemon >/dev/null || skip "dbus-daemon not installed"
	[ -x /usr/sbin/iscsiadm ] || skip "open-iscsi not installed (tests/kernel/setup installs it)"
	boot_guest guest-targetcli.sh "$(realpath "$SNAPCOWD")"
}

@test "snapcowd owns org.kernel.TCMUService1; targetcli lists user:snapcow and its help" {
	grep -q 'D-Bus: org.kernel.TCMUService1 owned, handler /org/kernel/TCMUService1/snapcow' "$SHARE/daemon.log"
	grep -q 'user:snapcow' "$SHARE/ls-backstores"
	grep -q 'origin=PATH\[;cow=COW\]... serves PATH' "$SHARE/ls-backstores"
}

@test "a bad cfgstring: targetcli says snapcowd's reason, nothing is created" {
	grep -q 'cfgstring invalid: origin=tcli/ovol.img: paths must be absolute' "$SHARE/bad.out"
	run ! grep -q "o- bad " "$SHARE/bad.out"
	run ! grep -q 'user_[0-9]*/bad' "$SHARE/daemon.log"
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
	grep -q '"config": "snapcow/origin=/tmp/tcli/ovol.img;cow=/tmp/tcli/s1.cow;cow=/tmp/tcli/s2.cow"' "$SHARE/saved.json"
	grep -q '"config": "snapcow/snapshot=/tmp/tcli/s2.cow;origin=/tmp/tcli/ovol.img"' "$SHARE/saved.json"
	[ "$(cat "$SHARE/restore.rc")" = 0 ]
	[ "$(grep -c ': ready' "$SHARE/daemon.log")" = 2 ]
	[ "$(total_hash "$SHARE/after-origin.sha256")" = "$(cat "$SHARE/wlo/model.sha256")" ]
	[ "$(total_hash "$SHARE/after-snap.sha256")" = "$(cat "$SHARE/wls/model.sha256")" ]
	[ "$(total_hash "$SHARE/after-snap2.sha256")" = "$(cat "$SHARE/live-model.sha256")" ]
}

@test "snapctl snapshot --served mid-workload: s2 reads the origin as it was then" {
	local cfg=snapcow/origin=/tmp/tcli/ovol.img\;cow=/tmp/tcli/s1.cow\;cow=/tmp/tcli/s2.cow
	[ "$(cat "$SHARE/live.rc")" = 0 ]
	grep -qx "/tmp/tcli/s2.cow: formatted: 8.0 MiB, chunk size 4096 bytes (8 sectors), 256 exceptions per area, room for 2039 exceptions" "$SHARE/live.out"
	grep -qxF "ovol: snapshot /tmp/tcli/s2.cow taken (dev_config $cfg)" "$SHARE/live.out"
	[ "$(cat "$SHARE/live-config")" = "$cfg" ]
	grep -qF "/ovol: now serving ${cfg#snapcow/} (was origin=/tmp/tcli/ovol.img;cow=/tmp/tcli/s1.cow)" "$SHARE/daemon.log"
	grep -q "Created user-backed storage object s2vol size 4194304." "$SHARE/live2.out"
	# The workload went on after the snapshot: the origin moved on.
	[ "$(cat "$SHARE/live-model.sha256")" != "$(cat "$SHARE/wlo/model.sha256")" ]
	[ "$(total_hash "$SHARE/before-snap2.sha256")" = "$(cat "$SHARE/live-model.sha256")" ]
	[ "$(total_hash "$SHARE/before-origin.sha256")" = "$(cat "$SHARE/wlo/model.sha256")" ]
}

@test "a served snapshot's cow= cannot be removed; another is taken and removed live" {
	[ "$(cat "$SHARE/busy.rc")" = 1 ]
	grep -qF "snapctl: ovol: the new dev_config 'snapcow/origin=/tmp/tcli/ovol.img;cow=/tmp/tcli/s1.cow' was refused: Device or resource busy (snapcowd's log says why); it still serves 'origin=/tmp/tcli/ovol.img;cow=/tmp/tcli/s1.cow;cow=/tmp/tcli/s2.cow'" "$SHARE/busy.out"
	grep -qE "user_[0-9]+/ovol: origin /tmp/tcli/ovol.img: cow=/tmp/tcli/s2.cow cannot be removed: user_[0-9]+/s2vol serves it as a snapshot of this origin \(remove that LUN first\)" "$SHARE/daemon.log"
	[ "$(cat "$SHARE/s3.rc")" = 0 ]
	grep -qF "ovol: snapshot /tmp/tcli/s3.cow removed (dev_config snapcow/origin=/tmp/tcli/ovol.img;cow=/tmp/tcli/s1.cow;cow=/tmp/tcli/s2.cow)" "$SHARE/s3.out"
	[ "$(cat "$SHARE/s3-config")" = "snapcow/origin=/tmp/tcli/ovol.img;cow=/tmp/tcli/s1.cow;cow=/tmp/tcli/s2.cow" ]
	grep -qF "/ovol: now serving origin=/tmp/tcli/ovol.img;cow=/tmp/tcli/s1.cow;cow=/tmp/tcli/s2.cow;cow=/tmp/tcli/s3.cow" "$SHARE/daemon.log"
}

# guest-status.sh: s3 just taken, four 4 KiB origin writes in four of its
# chunks, three 4 KiB reads of svol.
delta() {
	jq -n --slurpfile a "$SHARE/status/$1-0.json" \
		--slurpfile b "$SHARE/status/$1-1.json" \
		"[\$b[0].counters, \$a[0].counters] | [.[0].$2 - .[1].$2]" | jq -c '.[0]'
}

@test "status --served: counters of a known workload; the offline document" {
	local s=$SHARE/status
	grep -q 'D-Bus: org.snapcow.Daemon1 owned, status object /org/snapcow/Daemon1' "$SHARE/daemon.log"
	# s3 is new: absolute copies and commits, one each per write.
	[ "$(jq -c '[.counters.copy_count, .counters.commit_count, .status]' "$s/ovol-0.json")" = '[0,0,"16/16384 16"]' ]
	[ "$(jq -c '[.counters.copy_count, .counters.commit_count, .status]' "$s/ovol-1.json")" = '[4,4,"48/16384 16"]' ]
	[ "$(delta ovol write_count)" = 4 ]
	[ "$(delta ovol read_count)" = 0 ]
	[ "$(delta svol read_count)" = 3 ]
	[ "$(delta svol write_count)" = 0 ]
	[ "$(jq -c '[.counters.error_count]' "$s/ovol-1.json" "$s/svol-1.json" | tr -d '\n')" = '[0][0]' ]
	# Text and IMA are the document's; the IMA names the served files.
	[ "$(cat "$s/svol.txt")" = "$(jq -r .status "$s/svol-1.json")" ]
	[ "$(cat "$s/svol.ima")" = "$(jq -r .ima "$s/svol-1.json")" ]
	[[ $(cat "$s/svol.ima") == "target_name=snapshot,target_version=1.16.0,snap_origin_name=/tmp/tcli/ovol.img,snap_cow_name=/tmp/tcli/s1.cow,snap_valid=y,snap_merge_failed=n,snapshot_overflowed=n;" ]]
	# Less its counters, the last served document is the offline status
	# of s1 once snapcowd let go.
	[ "$(jq -S 'del(.counters)' "$s/svol-2.json")" = "$(jq -S . "$s/s1-offline.json")" ]
	[ "$(cat "$s/nope.rc")" = 1 ]
	[ "$(cat "$s/nope.out")" = "snapctl: nope: snapcowd serves no device of that name" ]
	[ "$(cat "$s/many.rc")" = 1 ]
	[ "$(cat "$s/many.out")" = "snapctl: ovol: origin /tmp/tcli/ovol.img has 3 snapshots: name one with --cow" ]
}

@test "snapctl list --json: the three served snapshots, by COW" {
	local s=$SHARE/status
	[ "$(jq -c '[.snapshots[] | [.kind, .name, .vol, .origin_vol, .origin, .cow, .chunk_size_sectors]]' "$s/list.json")" = '[["served","svol","svol","ovol","/tmp/tcli/ovol.img","/tmp/tcli/s1.cow",16],["served","s2vol","s2vol","ovol","/tmp/tcli/ovol.img","/tmp/tcli/s2.cow",8],["served","ovol",null,"ovol","/tmp/tcli/ovol.img","/tmp/tcli/s3.cow",8]]' ]
	[ "$(jq -c '.snapshots[2] | [.state, .status, .sectors_allocated, .cow_sectors, .metadata_sectors, .percent_used]' "$s/list.json")" = '["valid","48/16384 16",48,16384,16,0.29]' ]
	[ "$(jq -r '.snapshots[0].status' "$s/list.json")" = "$(jq -r .status "$s/svol-1.json")" ]
	[ "$(wc -l <"$s/list.txt")" = 4 ]
	grep -qE '^KIND +NAME +ORIGIN +COW +CHUNK +USE% +STATUS$' "$s/list.txt"
	grep -qE '^served +ovol +/tmp/tcli/ovol.img +/tmp/tcli/s3.cow +4K +0.29 +48/16384 16$' "$s/list.txt"
}

@test "sd_notify: READY=1, then STATUS=serving N devices whenever N changes" {
	local n=$SHARE/status/notify
	[ "$(sed -n 2,3p "$n" | tr '\n' '|')" = "READY=1|STATUS=serving 0 devices|" ]
	[ "$(grep -c '^READY=1$' "$n")" = 2 ]
	grep -qx 'STATUS=serving 1 device' "$n"
	grep -qx 'STATUS=serving 2 devices' "$n"
	grep -qx 'STATUS=serving 3 devices' "$n"
	# Only changes: no message repeats the one before it.
	[ -z "$(uniq -d "$n")" ]
}

@test "iSCSI: targetcli exports the origin on 127.0.0.1, open-iscsi logs in, the disk serves the workload" {
	local I=$SHARE/iscsi
	grep -q "Created target iqn.2026-12.org.snapcow:ovol." "$I/target.out"
	grep -q "Created network portal 127.0.0.1:3260." "$I/target.out"
	grep -q "Created LUN 0." "$I/target.out"
	grep -qx "127.0.0.1:3260,1 iqn.2026-12.org.snapcow:ovol" "$I/discovery.out"
	[ "$(cat "$I/login.rc")" = 0 ]
	grep -q "Login to \[iface: default, target: iqn.2026-12.org.snapcow:ovol, portal: 127.0.0.1,3260\] successful." "$I/login.out"
	read -r disk driver <"$I/disk"
	[ -n "$disk" ] && [ "$driver" = iscsi_tcp ]
	[ "$(cat "$I/wl.rc")" = 0 ]
	[ "$(total_hash "$I/served.sha256")" = "$(cat "$I/wl/model.sha256")" ]
	[ "$(cat "$I/logout.rc")" = 0 ]
	grep -q "Logout of \[sid: [0-9]*, target: iqn.2026-12.org.snapcow:ovol, portal: 127.0.0.1,3260\] successful." "$I/logout.out"
}

@test "iSCSI: a live snapshot taken mid-workload reads the origin as it was then" {
	local I=$SHARE/iscsi
	[ "$(cat "$I/live.rc")" = 0 ]
	grep -qF "ovol: snapshot /tmp/tcli/s4.cow taken (dev_config snapcow/origin=/tmp/tcli/ovol.img;cow=/tmp/tcli/s1.cow;cow=/tmp/tcli/s2.cow;cow=/tmp/tcli/s4.cow)" "$I/live.out"
	[ "$(cat "$I/live-model.sha256")" != "$(cat "$I/wl/model.sha256")" ]
	[ "$(total_hash "$SHARE/dm-s4.sha256")" = "$(cat "$I/live-model.sha256")" ]
}

@test "the kernel's dm-snapshot loads every COW snapcowd served and serves the same images" {
	[ "$(cat "$SHARE/origin.sha256")" = "$(cat "$SHARE/iscsi/wl/model.sha256")" ]
	[ "$(total_hash "$SHARE/dm-s1.sha256")" = "$(cat "$SHARE/wls/model.sha256")" ]
	[ "$(total_hash "$SHARE/dm-s2.sha256")" = "$(cat "$SHARE/live-model.sha256")" ]
	[ "$(total_hash "$SHARE/dm-s4.sha256")" = "$(cat "$SHARE/iscsi/live-model.sha256")" ]
	local n
	for n in 1 2 4; do
		grep -Eqx '[0-9]+/16384 [0-9]+' "$SHARE/dm-s$n.status"
	done
}

@test "SIGTERM at the end: exit 0; no failed I/O or sanitizer report" {
	[ "$(cat "$SHARE/term.rc")" = 0 ]
	run ! grep -E 'malformed|broken|failed|Sanitizer|runtime error' "$SHARE/daemon.log"
}
