#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Suite G: snapcowd behind target_core_user and tcm_loop
# (guest-tcmu.sh, guest-tcmu-cow.sh): a user backstore of subtype snapcow
# serving a plain image file, exported as a local SCSI disk; a seeded
# O_DIRECT workload through it survives kill -9 and a restart of the
# daemon with no acknowledged write lost; refused devices fail their
# enable with the daemon's reason.  Then an origin with two snapshots and
# one snapshot served as disks, written at once across another kill -9;
# SIGTERM exits cleanly while those backstores exist; the kernel's
# dm-snapshot loads the COWs and serves the same images, with the status
# snapctl computes.

load helpers

SNAPCOWD=${SNAPCOWD:-$KDIR/../../daemon/snapcowd}

setup_file() {
	[ -x "$SNAPCOWD" ] || skip "snapcowd not built"
	boot_guest guest-tcmu.sh "$(realpath "$SNAPCOWD")"
}

fact() {
	awk -v k="$1" '$1 == k { sub(/^[^ ]+ /, ""); print }' "$SHARE/disk"
}

@test "enable: snapcowd accepts the device, the LUN attaches as an sd disk" {
	[ "$(cat "$SHARE/enable.rc")" = 0 ]
	[ "$(fact size)" = 16384 ]
	[ "$(fact logical_block_size)" = 512 ]
	[ "$(fact vendor)" = SNAPCOW ]
	[ "$(fact model)" = origin ]
	grep -q 'user_1/enable: serving origin=/tmp/tcmu/disk.img (16384 blocks of 512 bytes' "$SHARE/daemon.log"
}

@test "the disk reports its write cache as it is: write back, with FUA" {
	[ "$(fact write_cache)" = "write back" ]
	[ "$(fact fua)" = 1 ]
}

@test "workload across kill -9 and restart: every acknowledged write is there" {
	[ "$(cat "$SHARE/wl.rc")" = 0 ]
	[ "$(wc -l <"$SHARE/wl/acked.txt")" = 300 ]
	# The daemon died mid-workload: writes before and after it.
	[ "$(cat "$SHARE/killed-at")" -ge 100 ]
	[ "$(cat "$SHARE/killed-at")" -lt 300 ]
	# Some writes were FUA (O_DSYNC), some not.
	grep -q ' 1$' "$SHARE/wl/acked.txt"
	grep -q ' 0$' "$SHARE/wl/acked.txt"
	[ "$(total_hash "$SHARE/served.sha256")" = "$(cat "$SHARE/wl/model.sha256")" ]
	[ "$(cat "$SHARE/image.sha256")" = "$(cat "$SHARE/wl/model.sha256")" ]
}

@test "the restarted daemon recovered the ring (block_dev, reset_ring)" {
	# Started, restarted in the plain half, restarted in the COW half.
	[ "$(grep -c ': ready' "$SHARE/daemon.log")" = 3 ]
	# Debian's 6.1 allows io_uring: each start served through it.
	[ "$(grep -c ': ready (.*, io_uring)' "$SHARE/daemon.log")" = 3 ]
	grep -q 'user_1/enable: ring reset (block_dev, reset_ring)' "$SHARE/daemon.log"
}

# refused NAME ERRNO-TEXT LOG-TEXT: enable failed with the errno, logged why.
refused() {
	[ "$(cat "$SHARE/$1.rc")" != 0 ]
	grep -q "$2" "$SHARE/$1.err"
	grep -q "$3" "$SHARE/daemon.log"
}

@test "refusals fail the enable with the daemon's reason" {
	refused refuse-relative 'Invalid argument' 'origin=tmp/tcmu/disk.img: paths must be absolute'
	refused refuse-outside 'Operation not permitted' 'image file /var/tmp/outside.img is outside the allowed directories'
	refused refuse-busy 'Device or resource busy' 'origin /tmp/tcmu/disk.img is already served by user_1/enable: one LUN per origin'
	refused refuse-size 'Invalid argument' "dev_size 8388608 exceeds the origin's 1048576 bytes"
	refused refuse-cow 'Structure needs cleaning' 'cow /tmp/tcmu/disk0.img does not pass snapcheck -n: 1 error, the first: SC001 header-magic'
	refused refuse-key 'Invalid argument' "unknown key 'colour'"
}

@test "SIGTERM with the backstore still configured: exit 0 within 5 s" {
	[ "$(cat "$SHARE/term.rc")" = 0 ]
	[ "$(cat "$SHARE/term.ms")" -lt 5000 ]
	grep -q 'user_1/ovol: released' "$SHARE/daemon.log"
	grep -q 'user_1/svol: released' "$SHARE/daemon.log"
}

@test "no malformed ring entry, broken ring, failed I/O or sanitizer report" {
	! grep -E 'malformed|broken|failed|Sanitizer|runtime error' "$SHARE/daemon.log" || false
}

# ---------------------------------------------------------------- COW half

cowfile() {
	echo "$SHARE/cow/$1"
}

@test "cow: origin with two snapshots and a snapshot disk are served" {
	[ "$(cat "$SHARE/ovol.rc")" = 0 ]
	[ "$(cat "$SHARE/svol.rc")" = 0 ]
	grep -q 'user_1/ovol: serving origin=/tmp/tcmu/ovol.img;cow=/tmp/tcmu/s1.cow;cow=/tmp/tcmu/s2.cow (16384 blocks of 512 bytes' "$SHARE/daemon.log"
	grep -q 'user_1/svol: serving snapshot=/tmp/tcmu/s1.cow;origin=/tmp/tcmu/ovol.img (16384 blocks of 512 bytes' "$SHARE/daemon.log"
	read -r osd ssd <"$(cowfile disks)"
	[ -n "$osd" ] && [ -n "$ssd" ] && [ "$osd" != "$ssd" ]
}

@test "cow: the engine's rules refuse the enable with the daemon's reason" {
	refused crefuse-same 'Invalid argument' "user_1/crefuse-same: /tmp/tcmu/other.img (origin) and /tmp/tcmu/other.img (COW) share storage: .*: a snapshot's COW cannot live on its origin"
	refused crefuse-twice 'Device or resource busy' 'user_1/crefuse-twice: cow /tmp/tcmu/s1.cow is a COW of origin /tmp/tcmu/ovol.img (served by user_1/ovol): a COW belongs to one origin'
	refused crefuse-plain 'Device or resource busy' 'user_1/crefuse-plain: origin /tmp/tcmu/ovol.img is already served by user_1/ovol: one LUN per origin'
	refused crefuse-unlisted 'Invalid argument' 'user_1/crefuse-unlisted: snapshot /tmp/tcmu/new.cow: origin /tmp/tcmu/ovol.img is served by user_1/ovol without cow=/tmp/tcmu/new.cow: every origin write must reach a served snapshot'
}

@test "cow: both disks written at once across kill -9: every acknowledged write is there" {
	[ "$(cat "$(cowfile wl.rc)")" = "0 0" ]
	[ "$(wc -l <"$(cowfile wlo/acked.txt)")" = 240 ]
	[ "$(wc -l <"$(cowfile wls/acked.txt)")" = 120 ]
	[ "$(cat "$(cowfile killed-at)")" -ge 80 ]
	[ "$(cat "$(cowfile killed-at)")" -lt 240 ]
	[ "$(total_hash "$(cowfile served-origin.sha256)")" = "$(cat "$(cowfile wlo/model.sha256)")" ]
	[ "$(total_hash "$(cowfile served-snap.sha256)")" = "$(cat "$(cowfile wls/model.sha256)")" ]
	[ "$(sha "$(cowfile ovol.img)")" = "$(cat "$(cowfile wlo/model.sha256)")" ]
}

@test "cow: snapcheck -n finds both COWs clean after the daemon stopped" {
	need_tool SNAPCHECK
	run -0 "$SNAPCHECK" -n "$(cowfile s1.cow)"
	run -0 "$SNAPCHECK" -n "$(cowfile s2.cow)"
}

@test "cow: snapctl export gives each snapshot's image" {
	need_tool SNAPCTL
	run -0 "$SNAPCTL" export -q "$(cowfile ovol.img)" "$(cowfile s1.cow)" "$BATS_TEST_TMPDIR/s1.img"
	[ "$(sha "$BATS_TEST_TMPDIR/s1.img")" = "$(cat "$(cowfile wls/model.sha256)")" ]
	run -0 "$SNAPCTL" export -q "$(cowfile ovol.img)" "$(cowfile s2.cow)" "$BATS_TEST_TMPDIR/s2.img"
	[ "$(sha "$BATS_TEST_TMPDIR/s2.img")" = "$(cat "$(cowfile image0.sha256)")" ]
}

@test "cow: dm-snapshot loads snapcowd's COWs and serves the same images" {
	[ "$(total_hash "$(cowfile dm-s1.sha256)")" = "$(cat "$(cowfile wls/model.sha256)")" ]
	[ "$(total_hash "$(cowfile dm-s2.sha256)")" = "$(cat "$(cowfile image0.sha256)")" ]
}

@test "cow: dmsetup status equals snapctl status for both COWs" {
	need_tool SNAPCTL
	local n
	for n in 1 2; do
		run -0 --separate-stderr "$SNAPCTL" status "$(cowfile "s$n.cow")"
		echo "s$n: snapctl '$output' kernel '$(cat "$(cowfile "dm-s$n.status")")'"
		[ "$output" = "$(cat "$(cowfile "dm-s$n.status")")" ]
	done
}
