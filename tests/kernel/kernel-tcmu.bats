#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Suite G: snapcowd behind target_core_user and tcm_loop
# (guest-tcmu.sh): a user backstore of subtype snapcow serving a plain
# image file, exported as a local SCSI disk; a seeded O_DIRECT workload
# through it survives kill -9 and a restart of the daemon with no
# acknowledged write lost; refused devices fail their enable with the
# daemon's reason; SIGTERM exits cleanly while the backstore exists.

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
	[ "$(grep -c ': ready' "$SHARE/daemon.log")" = 2 ]
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
	grep -q 'user_1/enable: released' "$SHARE/daemon.log"
}

@test "no malformed ring entry, broken ring, failed I/O or sanitizer report" {
	! grep -E 'malformed|broken|failed|Sanitizer|runtime error' "$SHARE/daemon.log"
}
