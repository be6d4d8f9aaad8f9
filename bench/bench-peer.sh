#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/bench-peer.sh [-m IMAGE_MIB] [-t RUNTIME_MS] [-r REPS] [-o DIR]
#
# snapcowd against its peer, tcmu-runner, on the same image in one boot
# of the kernel harness's VM (tests/kernel/vm; bench-peer-guest.sh does
# the guest's part): fio's 4 KiB random O_DIRECT reads and writes at
# queue depth 1 and 16 through tcm_loop disks, best of REPS runs of
# RUNTIME_MS each, alternating the daemons.  Prints both IOPS and
# snapcowd / tcmu-runner for each workload and depth.  Exits 77 with the
# reason when the VM, tcmu-runner or fio cannot be had.
#
#   -m  image size in MiB (default 256)
#   -t  milliseconds per fio run (default 1500)
#   -r  runs of each job, the best one counts (default 3)
#   -o  keep the guest's output (fio's JSON reports, logs) in DIR
#
# Environment: SNAPCOWD (default ../daemon/snapcowd: run from build/bench),
# and tests/kernel/vm's (SNAPCOW_KERNEL_CACHE, SNAPCOW_VM_MEM, ...).

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${SNAPCOW_KERNEL_CACHE:-/var/cache/snapcow-kernel}
HANDLER=/usr/lib/x86_64-linux-gnu/tcmu-runner/handler_qcow.so
SNAPCOWD=${SNAPCOWD:-../daemon/snapcowd}
MIB=256 MS=1500 REPS=3 OUT=

skip() {
	echo "bench-peer: SKIP: $*" >&2
	exit 77
}

die() {
	echo "bench-peer: $*" >&2
	exit 1
}

usage() {
	echo "usage: bench-peer.sh [-m IMAGE_MIB] [-t RUNTIME_MS] [-r REPS] [-o DIR]" >&2
	exit 2
}

while getopts m:t:r:o: opt; do
	case $opt in
	m) MIB=$OPTARG ;;
	t) MS=$OPTARG ;;
	r) REPS=$OPTARG ;;
	o) OUT=$OPTARG ;;
	*) usage ;;
	esac
done
[ $# -ge "$OPTIND" ] && usage
[[ $MIB =~ ^[0-9]+$ && $MS =~ ^[0-9]+$ && $REPS =~ ^[0-9]+$ ]] || usage
if [ "$REPS" -lt 1 ] || [ "$MS" -lt 100 ]; then
	die "-r must be >= 1, -t >= 100"
fi
[ "$MIB" -ge $((2 * REPS + 1)) ] ||
	die "-m must be >= $((2 * REPS + 1)): a MiB per region"

# What the guest needs, all from the host (its root is the host's).
setup="run tests/kernel/setup as root"
command -v qemu-system-x86_64 >/dev/null ||
	skip "no qemu-system-x86_64 ($setup)"
qemu-system-x86_64 -accel help 2>/dev/null | grep -qx tcg ||
	skip "qemu-system-x86_64 has no TCG accelerator"
[ -s "$CACHE/kernel-version" ] || skip "no kernel in $CACHE ($setup)"
[ -x /usr/bin/tcmu-runner ] || skip "no tcmu-runner ($setup)"
[ -f "$HANDLER" ] || skip "no tcmu-runner qcow handler $HANDLER"
command -v fio >/dev/null || skip "no fio ($setup)"
command -v jq >/dev/null || skip "no jq ($setup)"
command -v dbus-daemon >/dev/null || skip "no dbus-daemon"
[ -x "$SNAPCOWD" ] || skip "no snapcowd at $SNAPCOWD (build it, or set SNAPCOWD)"
SNAPCOWD=$(realpath "$SNAPCOWD")

if [ -n "$OUT" ]; then
	mkdir -p "$OUT"
	share=$(realpath "$OUT")
else
	share=$(mktemp -d "${TMPDIR:-/tmp}/bench-peer.XXXXXX")
	trap 'rm -rf "$share"' EXIT
fi
rm -f "$share"/{a,b}-*.json "$share"/{a,b}-*.fio "$share"/{disks,timings}

echo "bench-peer: $MIB MiB image on the guest's tmpfs, fio 4 KiB random O_DIRECT (libaio), best of $REPS runs of $MS ms, alternating; tcmu-runner $(dpkg-query -W -f='${Version}' tcmu-runner 2>/dev/null || echo '?') user:qcow on the raw image against snapcowd"
t0=$(date +%s)
log=$share/console.log
if ! "$HERE/../tests/kernel/vm" "$HERE/bench-peer-guest.sh" "$share" \
	"$SNAPCOWD" "$MIB" "$MS" "$REPS" >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	die "the guest failed (console above; keep it all with -o DIR)"
fi

# The peer served the plain image: its qcow handler's raw path.
grep -q 'not qcow: will treat as raw' "$share/runner-logs/tcmu-runner.log" ||
	die "tcmu-runner did not log serving the image as raw (-o DIR keeps its log)"

# "PHASE REP JOB IOPS" for every fio run.
for f in "$share"/[ab]-*.json; do
	n=${f##*/}
	n=${n%.json}
	jq -r --arg p "${n%-*}" --arg r "${n#*-}" \
		'.jobs[] | "\($p) \($r) \(.jobname) \(.read.iops + .write.iops)"' "$f"
done >"$share/runs"

# ratio PHASE DEPTH WHAT JOB BASE BASE_JOB: one figure's line: the best
# runs' IOPS and their ratio, then the ratio of each repetition's pair
# (run next to each other, so they share the host's load of the moment).
ratio() {
	awk -v p="$1" -v d="$2" -v w="$3" -v j="$4.$2" -v b="$5" -v bj="$6.$2" '
	$1 != p { next }
	$3 == j { s[$2] = $4; if ($4 > bs) bs = $4 }
	$3 == bj { r[$2] = $4; if ($4 > br) br = $4 }
	END {
		printf "qd%-2u %-26s / %-17s %6.0f / %6.0f IOPS = %5.2f  (each run:", d, w, b, bs, br, bs / br
		for (i = 1; i in s; i++)
			printf " %.2f", s[i] / r[i]
		print ")"
	}' "$share/runs"
}

for d in 1 16; do
	ratio a $d "origin=P read" snapcowd.read "tcmu-runner read" runner.read
	ratio a $d "origin=P write" snapcowd.write "tcmu-runner write" runner.write
	ratio b $d "origin=P;cow=C first write" snapcowd.first-write \
		"tcmu-runner write" runner.write
	ratio b $d "origin=P;cow=C rewrite" snapcowd.rewrite \
		"tcmu-runner write" runner.write
	ratio b $d "snapshot=C;origin=P read" snapcowd.snapshot-read \
		"tcmu-runner read" runner.read
done
echo "bench-peer: $(( $(date +%s) - t0 )) s, the boot included"
