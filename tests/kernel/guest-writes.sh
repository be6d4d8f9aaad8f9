# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Guest side of kernel-writes.bats: the kernel writes, snapcow reads.
#
# Arguments: run specs NAME:CHUNK_SECTORS:MODE:SEED:OPS:ORIGIN_MIB. For each
# run, under /share/NAME: origin.img and cow.img (after the run), status
# (dmsetup status of the snapshot after the writes, without the target
# prefix), status-reload (after re-creating the snapshot from the COW),
# snap.sha256 and origin.sha256 (what the devices served: total then one
# hash per chunk), chunks.txt, ops.txt, model-*.sha256 (see workload.py).

# shellcheck source=guest-lib.sh
. "$SNAPCOW_KERNEL_DIR/guest-lib.sh"

load_modules

run() {
	local name=$1 cs=$2 mode=$3 seed=$4 ops=$5 mib=$6
	local d=$SHARE/$name w=/tmp/$name t0 lo lc sectors cb chunks epa cow
	t0=$(now_ms)
	mkdir -p "$d" "$w"
	cb=$((cs * 512))
	sectors=$((mib * 2048))
	chunks=$((sectors / cs))
	epa=$((cb / 16))
	# Room for every chunk, its metadata areas, header and a spare: the
	# snapshot must never overflow here (kernel-invalid.bats does that).
	cow=$(((chunks + chunks / epa + 4) * cb))
	workload gen "$w/origin.img" $((mib << 20)) "$seed"
	truncate -s "$cow" "$w/cow.img"
	lo=$(losetup -f --show "$w/origin.img")
	lc=$(losetup -f --show "$w/cow.img")
	dm_create "$name-origin" "0 $sectors snapshot-origin $lo"
	dm_create "$name-snap" "0 $sectors snapshot $lo $lc $mode $cs"
	# snapshot-origin learns the chunk size it must split writes at only
	# on resume: resumed before its snapshot existed, it passes a write
	# spanning two chunks whole and only the first chunk is copied (seen
	# on 6.1). LVM suspends and resumes the origin around a new snapshot;
	# so do we.
	dmsetup suspend "$name-origin"
	dmsetup resume "$name-origin"
	dm_status "$name-snap" >"$d/status-initial"
	# The model needs the origin's content before the first write.
	cp "$w/origin.img" "$w/origin0.img"
	workload run --origin "/dev/mapper/$name-origin" \
		--snap "/dev/mapper/$name-snap" --image "$w/origin0.img" \
		--chunk-sectors "$cs" --seed "$seed" --ops "$ops" --out "$d"
	rm "$w/origin0.img"
	echo "$name-workload $(( $(now_ms) - t0 ))" >>"$SHARE/timings"
	dm_status "$name-snap" >"$d/status"
	dmsetup table "$name-snap" >"$d/table"
	workload hash "$cb" "/dev/mapper/$name-snap" "$d/snap.sha256" \
		"/dev/mapper/$name-origin" "$d/origin.sha256"
	dmsetup remove "$name-snap"
	# Load the COW again: the kernel reading back what it wrote.
	dm_create "$name-snap" "0 $sectors snapshot $lo $lc $mode $cs"
	dm_status "$name-snap" >"$d/status-reload"
	dmsetup remove "$name-snap"
	dmsetup remove "$name-origin"
	losetup -d "$lo" "$lc"
	copy_out "$w/origin.img" "$d/origin.img"
	copy_out "$w/cow.img" "$d/cow.img"
	rm -rf "$w"
	echo "$name $(( $(now_ms) - t0 ))" >>"$SHARE/timings"
	echo "guest: $name done: $(cat "$d/status")"
}

for spec in "$@"; do
	IFS=: read -r name cs mode seed ops mib <<<"$spec"
	run "$name" "$cs" "$mode" "$seed" "$ops" "$mib"
done
