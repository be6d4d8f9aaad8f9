#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Suite C: snapcow writes, the kernel reads. snapctl formats a COW and
# performs origin writes on the host; the guest (guest-reads.sh) loads
# the COW with 'snapshot ORIGIN COW P 0' and reads the snapshot.

load helpers

setup_file() {
	need_tool SNAPCTL
	local s=$BATS_FILE_TMPDIR/share off len n=0
	mkdir -p "$s"
	python3 "$KDIR/workload.py" gen "$s/origin.img" $((16 << 20)) 31
	cp "$s/origin.img" "$BATS_FILE_TMPDIR/origin0.img"
	# 1024 chunks of 4 KiB: room for ~1000 exceptions in 4 areas.
	truncate -s 4M "$s/cow.img"
	truncate -s 1M "$s/fresh-cow.img"
	"$SNAPCTL" create --chunk-size 4K "$s/cow.img" "$s/origin.img"
	# Seeded origin writes: partial chunks, chunk-crossing runs, repeats
	# of chunks already preserved; then one 1 MiB fill whose 257 chunks
	# carry the list from area 0 into area 1.
	while read -r off len; do
		n=$((n + 1))
		python3 "$KDIR/workload.py" gen "$BATS_FILE_TMPDIR/in" "$len" "$n"
		"$SNAPCTL" write --input "$BATS_FILE_TMPDIR/in" --length "$len" \
			"$s/origin.img" "$s/cow.img" "$off"
	done < <(python3 -c '
import random
r = random.Random(32)
for i in range(24):
    chunk = r.randrange(4096) if i % 4 else r.randrange(64)
    print(chunk * 4096 + 512 * r.randrange(8), 512 * r.randint(1, 24))
')
	"$SNAPCTL" write --fill 90 --length 1M "$s/origin.img" "$s/cow.img" \
		$((3 * 1024 * 1024 + 512))
	"$SNAPCTL" status "$s/cow.img" >"$BATS_FILE_TMPDIR/snapctl-status"
	"$SNAPCTL" export "$s/origin.img" "$s/cow.img" "$BATS_FILE_TMPDIR/export.img"
	boot_guest guest-reads.sh
}

@test "kernel serves the point-in-time image snapctl's COW preserves" {
	same_image "$BATS_FILE_TMPDIR/origin0.img" "$SHARE/snap.sha256" 4096
}

@test "snapctl export equals what the kernel served" {
	same_image "$BATS_FILE_TMPDIR/export.img" "$SHARE/snap.sha256" 4096
}

@test "snapctl status equals the kernel's status" {
	echo "snapctl: '$(cat "$BATS_FILE_TMPDIR/snapctl-status")' kernel: '$(cat "$SHARE/status")'"
	[ "$(cat "$BATS_FILE_TMPDIR/snapctl-status")" = "$(cat "$SHARE/status")" ]
}

@test "cowinfo reads snapctl's COW as the kernel did" {
	run -0 cowinfo status "$SHARE/cow.img"
	[ "$output" = "$(cat "$SHARE/status")" ]
	# The 1 MiB write alone needed 257 exceptions: a second area.
	[[ $output =~ \ ([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" -ge 24 ]
}

@test "table chunk size 0 takes the header's" {
	[[ "$(cat "$SHARE/table")" =~ \ P\ 8$ ]]
}

@test "a wrong table chunk size: the header's overrides it, with a warning" {
	local cs
	for cs in 4 16 128; do
		[[ "$(cat "$SHARE/table-cs$cs")" =~ \ P\ 8$ ]]
		[ "$(cat "$SHARE/status-cs$cs")" = "$(cat "$SHARE/status")" ]
		cmp "$SHARE/snap-cs$cs.sha256" "$SHARE/snap.sha256"
		grep -q "chunk size 8 in device metadata overrides table chunk size of $cs\\." \
			"$SHARE/dmesg"
	done
}

@test "a zeroed COW loaded with chunk size 0 is formatted with 32 sectors" {
	# max(32 sectors, the COW's logical block size of 512 bytes)
	[[ "$(cat "$SHARE/table-fresh")" =~ \ P\ 32$ ]]
	[ "$(cat "$SHARE/status-fresh")" = "64/2048 64" ]
	run -0 cowinfo dump --json "$SHARE/fresh-cow-after.img"
	[ "$(jq -c '[.magic, .valid, .version, .chunk_size_sectors, (.exceptions | length)]' <<<"$output")" = "[1883336275,true,1,32,0]" ]
}

@test "snapctl status of the kernel-formatted COW equals the kernel's" {
	need_tool SNAPCTL
	run -0 --separate-stderr "$SNAPCTL" status "$SHARE/fresh-cow-after.img"
	[ "$output" = "$(cat "$SHARE/status-fresh")" ]
}
