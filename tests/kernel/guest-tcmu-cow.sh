# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# The copy-on-write half of guest-tcmu.sh (sourced by it, after the plain
# half; uses guest-snapcowd.sh, and its enable, $C, $w, $SIZE): snapcowd serves
# an origin with two snapshots (COWs of 8 KiB and 16 KiB chunks, so the
# descending chunk-size order is used) and one of the snapshots as its own
# disk; seeded O_DIRECT workloads write both disks at once, the daemon is
# killed with -9 and started again in the middle; afterwards the kernel's
# dm-snapshot loads each COW and must serve the same snapshot images.
#
# Output in /share:
#   ovol.{rc,err}, svol.{rc,err}   the origin's and the snapshot's enable
#   crefuse-X.{rc,err}          enables the engine's rules refuse
#   cow/disks                   the origin's and the snapshot's sd disk
#   cow/wlo, cow/wls            the origin's / snapshot's workload (acked.txt,
#                               model.sha256), cow/wl.rc "ORIGIN SNAPSHOT"
#   cow/killed-at               origin writes acknowledged at kill -9
#   cow/served-origin.sha256, cow/served-snap.sha256   what the disks served
#   cow/image0.sha256           the origin before the workload
#   cow/sN.cow, cow/ovol.img    the COWs and origin after the daemon stopped
#   cow/dm-sN.sha256, cow/dm-sN.status   dm-snapshot over each COW

LC=/sys/kernel/config/target/loopback/naa.5001405000000b01

# export_luns NAA BACKSTORE...: one tcm_loop target, a LUN per backstore.
export_luns() {
	local naa=$1 n=0 b
	shift
	mkdir -p "$naa/tpgt_1"
	echo -n naa.5001405000000b02 >"$naa/tpgt_1/nexus"
	for b in "$@"; do
		mkdir -p "$naa/tpgt_1/lun/lun_$n"
		ln -s "$C/$b" "$naa/tpgt_1/lun/lun_$n/snapcow_port"
		n=$((n + 1))
	done
}

unexport_luns() {
	local naa=$1 l
	for l in "$naa"/tpgt_1/lun/lun_*; do
		rm "$l/snapcow_port"
		rmdir "$l"
	done
	rmdir "$naa/tpgt_1" "$naa"
}

# sd_of MODEL: the sd disk whose SCSI model is MODEL (waits for it).
sd_of() {
	local i f
	for i in $(seq 100); do
		for f in /sys/block/sd*/device/model; do
			[ -e "$f" ] || continue
			if [ "$(sed 's/ *$//' "$f")" = "$1" ]; then
				f=$(basename "$(dirname "$(dirname "$f")")")
				[ -b "/dev/$f" ] && { echo "$f"; return 0; }
			fi
		done
		sleep 0.1
	done
	echo "guest: no sd disk of model $1" >&2
	return 1
}

# sd_at LUN: the disk at LUN of the one SCSI target (when two disks share
# a model).
sd_at() {
	local i f
	for i in $(seq 100); do
		for f in /sys/block/sd*/device; do
			[ -e "$f" ] || continue
			case $(basename "$(readlink "$f")") in
			*:"$1")
				f=$(basename "$(dirname "$f")")
				[ -b "/dev/$f" ] && { echo "$f"; return 0; }
				;;
			esac
		done
		sleep 0.1
	done
	echo "guest: no sd disk at LUN $1" >&2
	return 1
}

cow_refusals() {
	local o=$w/ovol.img s1=$w/s1.cow
	truncate -s 1M "$w/other.img" "$w/new.cow"
	enable crefuse-same "origin=$w/other.img;cow=$w/other.img" 1048576
	enable crefuse-twice "origin=$w/other.img;cow=$s1" 1048576
	enable crefuse-plain "origin=$o" "$SIZE"
	enable crefuse-unlisted "snapshot=$w/new.cow;origin=$o" "$SIZE"
	for b in "$C"/crefuse-*; do rmdir "$b"; done
}

cow_workload() {
	local osd=$1 ssd=$2 wo ws rco=0 rcs=0
	mkdir -p "$SHARE/cow/wlo" "$SHARE/cow/wls"
	rm -f "$w/cow-pause"
	workload disk "/dev/$osd" "$w/ovol0.img" 31 240 "$SHARE/cow/wlo" 80 \
		"$w/cow-pause" &
	wo=$!
	workload disk "/dev/$ssd" "$w/ovol0.img" 37 120 "$SHARE/cow/wls" &
	ws=$!
	restart_at "$w/cow-pause" "$SHARE/cow/wlo/acked.txt" \
		"$SHARE/cow/killed-at"
	wait "$wo" || rco=$?
	wait "$ws" || rcs=$?
	echo "$rco $rcs" >"$SHARE/cow/wl.rc"
}

cow_phase() {
	local osd ssd sc t0
	t0=$(now_ms)
	mkdir -p "$SHARE/cow"
	sc=$(host_bin snapctl)
	workload gen "$w/ovol.img" "$SIZE" 21
	cp "$w/ovol.img" "$w/ovol0.img"
	sha256sum "$w/ovol0.img" | cut -d' ' -f1 >"$SHARE/cow/image0.sha256"
	truncate -s 10M "$w/s1.cow" "$w/s2.cow"
	"$sc" create -q -c 8K "$w/s1.cow"
	"$sc" create -q -c 16K "$w/s2.cow"
	enable ovol "origin=$w/ovol.img;cow=$w/s1.cow;cow=$w/s2.cow" "$SIZE"
	enable svol "snapshot=$w/s1.cow;origin=$w/ovol.img" "$SIZE"
	cow_refusals
	export_luns "$LC" ovol svol
	osd=$(sd_of origin)
	ssd=$(sd_of snapshot)
	echo "$osd $ssd" >"$SHARE/cow/disks"
	echo "cow-setup $(( $(now_ms) - t0 ))" >>"$SHARE/timings"
	t0=$(now_ms)
	cow_workload "$osd" "$ssd"
	workload hash 8192 "/dev/$osd" "$SHARE/cow/served-origin.sha256" \
		"/dev/$ssd" "$SHARE/cow/served-snap.sha256"
	echo "cow-workload $(( $(now_ms) - t0 ))" >>"$SHARE/timings"
	unexport_luns "$LC"
}

# dm_cow_hash ORIGIN COW CHUNK_SECTORS NAME OUT: the kernel's dm-snapshot
# NAME over ORIGIN and COW (image files, on loop devices) serves the
# snapshot image: its hashes go to OUT.sha256, its status to OUT.status.
dm_cow_hash() {
	local lo lc sectors=$(( $(stat -c %s "$1") / 512 ))
	lo=$(losetup -f --show "$1")
	lc=$(losetup -f --show "$2")
	dm_create "$4" "0 $sectors snapshot $lo $lc P $3"
	dm_status "$4" >"$5.status"
	workload hash 8192 "/dev/mapper/$4" "$5.sha256"
	dmsetup remove "$4"
	losetup -d "$lc"
	losetup -d "$lo"
}

# After the daemon stopped: the kernel reads what snapcowd wrote.
kernel_reads_cows() {
	local n
	load_modules
	for n in 1 2; do
		dm_cow_hash "$w/ovol.img" "$w/s$n.cow" $((n * 16)) "tcmu-s$n" \
			"$SHARE/cow/dm-s$n"
		copy_out "$w/s$n.cow" "$SHARE/cow/s$n.cow"
	done
	copy_out "$w/ovol.img" "$SHARE/cow/ovol.img"
}
