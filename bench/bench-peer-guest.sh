# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Guest side of bench-peer.sh (run by tests/kernel/vm): one image file on
# the guest's tmpfs served at once by tcmu-runner (user:qcow, whose raw
# path serves a plain image: Debian ships no user:file) and by snapcowd,
# both exported through tcm_loop, and the same fio jobs (4 KiB random
# O_DIRECT, libaio, queue depth 1 and 16) run on each disk in turn,
# REPS times, alternating which daemon goes first.
#
# Phase a: snapcowd serves origin=IMG; reads and writes over the whole
# disk, on both disks.
# Phase b: snapcowd serves origin=IMG;cow=COW (4 KiB chunks) and
# snapshot=COW;origin=IMG instead.  The image is cut into 2 * REPS + 1
# regions: region 0 is written once through the origin disk before the runs (every
# chunk copied), so writes there are rewrites; each first-write run gets
# a region of its own (1 to 2 * REPS), where no chunk was copied yet.
# tcmu-runner's writes go to region 0 too (chunks already copied: the
# snapshot stays right), its reads and the snapshot's cover the image.
#
# Arguments: SNAPCOWD IMAGE_MIB RUNTIME_MS REPS
# Output in /share: a-N.json, b-N.json (fio's report of repetition N),
# a-N.fio, b-N.fio (its jobs), disks (each disk and its write cache),
# daemon.log, runner.log, runner-logs/, timings, dmesg.

# shellcheck source-path=SCRIPTDIR/../tests/kernel
# shellcheck source=guest-lib.sh
. "$SNAPCOW_KERNEL_DIR/guest-lib.sh"
# shellcheck source=guest-snapcowd.sh
. "$SNAPCOW_KERNEL_DIR/guest-snapcowd.sh"
# shellcheck source=guest-tcmu-cow.sh
. "$SNAPCOW_KERNEL_DIR/guest-tcmu-cow.sh"

D=${1:?usage: bench-peer-guest.sh SNAPCOWD IMAGE_MIB RUNTIME_MS REPS}
MIB=${2:?} MS=${3:?} REPS=${4:?}
w=/tmp/peer
img=$w/image.img
cow=$w/s.cow
SIZE=$((MIB << 20))
# Region 0 and a region per first-write run, in MiB.
REGION=$((MIB / (2 * REPS + 1)))
HBA=/sys/kernel/config/target/core/user_1
L=/sys/kernel/config/target/loopback/naa.5001405000000e01
LOG=$SHARE/daemon.log
RLOG=$SHARE/runner.log
snapcowd_use "$D"

# step NAME T0: how long NAME took, in the timings file.
step() {
	echo "$1 $(( $(now_ms) - $2 ))" >>"$SHARE/timings"
}

# backstore NAME DEV_CONFIG [CONTROL...]: an enabled user backstore of
# the image's size.  snapcowd's get nl_reply_supported=-1 as CONTROL:
# tcmu-runner answers their adds with ENOENT (kernel-coexist.bats).
backstore() {
	local b=$HBA/$1 c

	mkdir -p "$b"
	for c in "${@:3}"; do
		echo -n "$c" >"$b/control"
	done
	echo -n "dev_config=$2" >"$b/control"
	echo -n "dev_size=$SIZE" >"$b/control"
	echo 1 >"$b/enable"
}

# served NAME CFGSTRING: a snapcowd backstore, once snapcowd serves it.
served() {
	backstore "$1" "snapcow/$2" nl_reply_supported=-1
	wait_log "user_1/$1: serving" 1
}

# lun N NAME: backstore NAME exported as LUN N; prints its sd disk.
lun() {
	local sd

	mkdir -p "$L/tpgt_1/lun/lun_$1"
	ln -s "$HBA/$2" "$L/tpgt_1/lun/lun_$1/$2"
	sd=$(sd_at "$1")
	echo "$1 $2 $sd $(cat "/sys/block/$sd/queue/write_cache")" \
		>>"$SHARE/disks"
	echo "$sd"
}

unlun() {
	rm "$L/tpgt_1/lun/lun_$1/$2"
	rmdir "$L/tpgt_1/lun/lun_$1"
}

# job NAME DISK RW DEPTH [OPTION...]: a fio job, run after the one before.
job() {
	printf '[%s]\nstonewall\nfilename=/dev/%s\nrw=%s\niodepth=%s\n' \
		"$1" "$2" "$3" "$4"
	shift 4
	[ $# -eq 0 ] || printf '%s\n' "$@"
}

# run PHASE REP JOBS...: fio runs the jobs (each a line of job arguments)
# in order; its JSON report in /share.
run() {
	local f=$SHARE/$1-$2.fio j t0

	t0=$(now_ms)
	printf '[global]\nioengine=libaio\ndirect=1\nbs=4k\nruntime=%sms\n' \
		"$MS" >"$f"
	for j in "${@:3}"; do
		# shellcheck disable=SC2086 # a job's words
		job $j >>"$f"
	done
	fio --output-format=json --output="$SHARE/$1-$2.json" "$f"
	step "$1-$2" "$t0"
}

# pair FIRST A B: jobs A then B when FIRST is 1, else B then A.
pair() {
	if [ "$1" = 1 ]; then
		jobs+=("$2" "$3")
	else
		jobs+=("$3" "$2")
	fi
}

# phase_a REP: reads and writes over the whole image on both disks.
phase_a() {
	local d first=$(($1 % 2))

	jobs=()
	for d in 1 16; do
		pair $first "runner.read.$d $rsd randread $d" \
			"snapcowd.read.$d $psd randread $d"
		pair $first "runner.write.$d $rsd randwrite $d" \
			"snapcowd.write.$d $psd randwrite $d"
	done
	run a "$1" "${jobs[@]}"
}

# phase_b REP: first writes, each run in a region of its own; rewrites
# and tcmu-runner's writes in region 0; reads over the image.
phase_b() {
	local d k first=$(($1 % 2)) r0="offset=0 size=${REGION}M time_based"

	jobs=()
	for d in 1 16; do
		k=$(( ($1 - 1) * 2 + (d > 1) + 1 ))
		pair $first "runner.write.$d $rsd randwrite $d $r0" \
			"snapcowd.first-write.$d $osd randwrite $d offset=$((k * REGION))M size=${REGION}M"
		jobs+=("snapcowd.rewrite.$d $osd randwrite $d $r0")
		pair $first "runner.read.$d $rsd randread $d" \
			"snapcowd.snapshot-read.$d $ssd randread $d"
	done
	run b "$1" "${jobs[@]}"
}

t0=$(now_ms)
mkdir -p "$w"
guest_bus
# Real pages, not holes: both daemons then copy what a disk would hold.
dd if=/dev/zero of="$img" bs=1M count="$MIB" status=none
truncate -s $((SIZE + SIZE / 8)) "$cow"
"$(host_bin snapctl)" create -q -c 4K "$cow" "$img"
start_runner
start_daemon
wait_log 'D-Bus: registered with' 1
step start "$t0"

t0=$(now_ms)
backstore runner "qcow/$img"
served plain "origin=$img"
mkdir -p "$L/tpgt_1"
echo -n naa.5001405000000e02 >"$L/tpgt_1/nexus"
rsd=$(lun 0 runner)
psd=$(lun 1 plain)
step export-a "$t0"
for r in $(seq "$REPS"); do
	phase_a "$r"
done

# snapcowd's plain origin makes way for the origin with its snapshot.
t0=$(now_ms)
unlun 1 plain
rmdir "$HBA/plain"
served origin "origin=$img;cow=$cow"
served snap "snapshot=$cow;origin=$img"
osd=$(lun 2 origin)
ssd=$(lun 3 snap)
step export-b "$t0"
t0=$(now_ms)
dd if=/dev/zero of="/dev/$osd" bs=1M count="$REGION" oflag=direct \
	status=none
step copy-region-0 "$t0"
for r in $(seq "$REPS"); do
	phase_b "$r"
done

t0=$(now_ms)
unlun 3 snap
unlun 2 origin
unlun 0 runner
rmdir "$L/tpgt_1" "$L"
rmdir "$HBA/snap" "$HBA/origin" "$HBA/runner"
kill -TERM "$dpid"
wait "$dpid"
kill -TERM "$rpid"
wait "$rpid" || true
step stop "$t0"
cp -r "$w/runner-logs" "$SHARE/"
dmesg >"$SHARE/dmesg"
