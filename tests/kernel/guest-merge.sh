# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Guest side of kernel-merge.bats: the kernel's snapshot-merge.
#
# Arguments: run specs NAME:CHUNK_SECTORS:SEED:OPS:ORIGIN_MIB[:STOP], then
# optionally 'snapctl-made' (the host left a COW that snapctl merge
# stopped with an injected crash in /share/sm). For each run, under
# /share/NAME:
#   origin.img, cow.img   the kernel's origin and COW after seeded origin
#                         and snapshot writes (P); what both merges start
#   status                the snapshot's status after the writes
#   snap.sha256           what the snapshot served then (total, per chunk)
#   status-merge-start    snapshot-merge's status right after loading
#   status-merged         snapshot-merge's status once the merge finished
#   kmerge-origin.sha256  sha256 of the origin the kernel merged
#   kmerge-cow.img        the COW the kernel merged
# With STOP (milliseconds): a merge stopped after STOP ms (the COW behind
# dm-delay so the merge is slow enough to catch), suspended and removed:
#   status-stopped, int-origin.img, int-cow.img
# For snapctl-made: /share/sm/status-merged, kmerge-origin.sha256,
# kmerge-cow.img.

# shellcheck source=guest-lib.sh
. "$SNAPCOW_KERNEL_DIR/guest-lib.sh"

load_modules
HAVE_DELAY=1
modprobe dm-delay 2>/dev/null || HAVE_DELAY=0

# merge_done DEV: 0 once snapshot-merge's list is empty (A == M in A/B M).
merge_done() {
	local a m
	# No /dev/fd in the guest: no process substitution.
	read -r a m <<<"$(dm_status "$1" | sed 's#/[0-9]*##')"
	[ "$a" = "$m" ]
}

# wait_merge DEV: poll until the merge is done (about 60 s at most).
wait_merge() {
	local i
	for ((i = 0; i < 600; i++)); do
		merge_done "$1" && return 0
		sleep 0.1
	done
	echo "guest: merge on $1 did not finish: $(dm_status "$1")" >&2
	return 1
}

# kernel_merge ORIGIN COW SECTORS CS OUTDIR: snapshot-merge to the end.
# snapshot-merge takes snapshot-origin's place (the origin argument is the
# real device, and no snapshot-origin may be loaded over it), as LVM does
# for lvconvert --merge.
kernel_merge() {
	local o=$1 c=$2 sectors=$3 cs=$4 d=$5 lo lc
	lo=$(losetup -f --show "$o")
	lc=$(losetup -f --show "$c")
	dm_create kmerge "0 $sectors snapshot-merge $lo $lc P $cs"
	dm_status kmerge >"$d/status-merge-start"
	wait_merge kmerge
	dm_status kmerge >"$d/status-merged"
	dmsetup remove kmerge
	losetup -d "$lo" "$lc"
	sha256sum "$o" | cut -d' ' -f1 >"$d/kmerge-origin.sha256"
	copy_out "$c" "$d/kmerge-cow.img"
}

# stopped_merge ORIGIN COW SECTORS CS MS OUTDIR: start snapshot-merge with
# the COW behind dm-delay (each COW I/O waits 10 ms), stop it after MS ms
# by suspending (presuspend stops the merge after the chunk in flight),
# keep the status and remove it: a merge the kernel left half done.
stopped_merge() {
	local o=$1 c=$2 sectors=$3 cs=$4 ms=$5 d=$6 lo lc csz dev
	lo=$(losetup -f --show "$o")
	lc=$(losetup -f --show "$c")
	csz=$(blockdev --getsz "$lc")
	dev=$lc
	if [ "$HAVE_DELAY" = 1 ]; then
		dm_create kdelay "0 $csz delay $lc 0 10"
		dev=/dev/mapper/kdelay
	fi
	dm_create kstop "0 $sectors snapshot-merge $lo $dev P $cs"
	sleep "$(awk -v ms="$ms" 'BEGIN { print ms / 1000 }')"
	dmsetup suspend kstop
	dm_status kstop >"$d/status-stopped"
	dmsetup remove kstop
	[ "$HAVE_DELAY" = 1 ] && dmsetup remove kdelay
	losetup -d "$lo" "$lc"
	copy_out "$o" "$d/int-origin.img"
	copy_out "$c" "$d/int-cow.img"
}

run() {
	local name=$1 cs=$2 seed=$3 ops=$4 mib=$5 stop=${6:-}
	local d=$SHARE/$name w=/tmp/$name t0 lo lc sectors cb chunks epa cow
	t0=$(now_ms)
	mkdir -p "$d" "$w"
	cb=$((cs * 512))
	sectors=$((mib * 2048))
	chunks=$((sectors / cs))
	epa=$((cb / 16))
	cow=$(((chunks + chunks / epa + 4) * cb))
	workload gen "$w/origin.img" $((mib << 20)) "$seed"
	truncate -s "$cow" "$w/cow.img"
	lo=$(losetup -f --show "$w/origin.img")
	lc=$(losetup -f --show "$w/cow.img")
	dm_create "$name-origin" "0 $sectors snapshot-origin $lo"
	dm_create "$name-snap" "0 $sectors snapshot $lo $lc P $cs"
	# See guest-writes.sh: the origin learns the chunk size on resume.
	dmsetup suspend "$name-origin"
	dmsetup resume "$name-origin"
	cp "$w/origin.img" "$w/origin0.img"
	workload run --origin "/dev/mapper/$name-origin" \
		--snap "/dev/mapper/$name-snap" --image "$w/origin0.img" \
		--chunk-sectors "$cs" --seed "$seed" --ops "$ops" --out "$d"
	rm "$w/origin0.img"
	dm_status "$name-snap" >"$d/status"
	workload hash "$cb" "/dev/mapper/$name-snap" "$d/snap.sha256"
	dmsetup remove "$name-snap" "$name-origin"
	losetup -d "$lo" "$lc"
	copy_out "$w/origin.img" "$d/origin.img"
	copy_out "$w/cow.img" "$d/cow.img"
	echo "$name-writes $(($(now_ms) - t0))" >>"$SHARE/timings"

	t0=$(now_ms)
	cp --sparse=always "$w/origin.img" "$w/a-origin.img"
	cp --sparse=always "$w/cow.img" "$w/a-cow.img"
	kernel_merge "$w/a-origin.img" "$w/a-cow.img" "$sectors" "$cs" "$d"
	echo "$name-merge $(($(now_ms) - t0))" >>"$SHARE/timings"

	if [ -n "$stop" ]; then
		t0=$(now_ms)
		stopped_merge "$w/origin.img" "$w/cow.img" "$sectors" "$cs" \
			"$stop" "$d"
		echo "$name-stopped $(($(now_ms) - t0))" >>"$SHARE/timings"
	fi
	rm -rf "$w"
	echo "guest: $name done: $(cat "$d/status") -> $(cat "$d/status-merged")"
}

# The host's snapctl merge, stopped by an injected crash: the kernel
# finishes it.
snapctl_made() {
	local d=$SHARE/sm w=/tmp/sm t0 cs sectors
	t0=$(now_ms)
	mkdir -p "$w"
	cp --sparse=always "$d/origin.img" "$w/origin.img"
	cp --sparse=always "$d/cow.img" "$w/cow.img"
	cs=$(cat "$d/cs")
	sectors=$(($(stat -c %s "$w/origin.img") / 512))
	kernel_merge "$w/origin.img" "$w/cow.img" "$sectors" "$cs" "$d"
	rm -rf "$w"
	echo "sm-merge $(($(now_ms) - t0))" >>"$SHARE/timings"
	echo "guest: sm done: $(cat "$d/status-merged")"
}

for spec in "$@"; do
	if [ "$spec" = snapctl-made ]; then
		snapctl_made
		continue
	fi
	IFS=: read -r name cs seed ops mib stop <<<"$spec"
	run "$name" "$cs" "$seed" "$ops" "$mib" "$stop"
done
dmesg >"$SHARE/dmesg"
