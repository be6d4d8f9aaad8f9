# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shared by the kernel suites (tests/kernel/*.bats). Each suite boots the
# VM once in setup_file() with a guest script that leaves artefacts in
# $SHARE; the tests then assert on the host.

bats_require_minimum_version 1.5.0

KDIR=$BATS_TEST_DIRNAME
TOOLS=$KDIR/../../tools
SNAPCTL=${SNAPCTL:-$TOOLS/snapctl}
SNAPDUMP=${SNAPDUMP:-$TOOLS/snapdump}
SNAPCHECK=${SNAPCHECK:-$TOOLS/snapcheck}
CACHE=${SNAPCOW_KERNEL_CACHE:-/var/cache/snapcow-kernel}

# cowinfo: the harness's own reader of the format, an independent check.
cowinfo() {
	python3 "$KDIR/cowinfo.py" "$@"
}

# need_tool VAR: skip unless the tool named by $VAR is built.
need_tool() {
	local path=${!1}
	[ -x "$path" ] || skip "$(basename "$path") not built"
}

# boot_guest SCRIPT [ARG...]: run SCRIPT (in tests/kernel) in the VM once
# for this file, sharing $SHARE. Skips the file when no kernel is set up.
boot_guest() {
	local script=$1 t0 t1
	shift
	[ -s "$CACHE/kernel-version" ] ||
		skip "no kernel in $CACHE: run tests/kernel/setup (or tests/kernel/run-suites)"
	export SHARE=$BATS_FILE_TMPDIR/share
	mkdir -p "$SHARE"
	t0=$(date +%s)
	if ! "$KDIR/vm" "$KDIR/$script" "$SHARE" "$@" \
		>"$BATS_FILE_TMPDIR/vm.log" 2>&1; then
		echo "# guest $script failed; its console:" >&3
		tail -n 60 "$BATS_FILE_TMPDIR/vm.log" | sed 's/^/#   /' >&3
		return 1
	fi
	t1=$(date +%s)
	echo "# $(basename "$BATS_TEST_FILENAME"): VM ran $script in $((t1 - t0)) s" >&3
	# Guest scripts may note their own steps' times (NAME MS per line).
	if [ -s "$SHARE/timings" ]; then
		awk '{ printf "#   %s %.1f s\n", $1, $2 / 1000 }' "$SHARE/timings" >&3
	fi
}

# First line of a hash file written by workload.py hash: the whole device.
total_hash() {
	head -n1 "$1"
}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# same_image FILE HASHFILE CHUNK_BYTES: FILE holds the bytes the kernel
# served (as hashed in HASHFILE). On a mismatch, name the first chunks
# that differ so the failure says where to look.
same_image() {
	python3 - "$@" <<'PY'
import hashlib, sys
path, hashes, cb = sys.argv[1], sys.argv[2], int(sys.argv[3])
want = open(hashes).read().split()
data = open(path, "rb").read()
if hashlib.sha256(data).hexdigest() == want[0]:
    sys.exit(0)
got = [hashlib.sha256(data[i:i + cb]).hexdigest()
       for i in range(0, len(data), cb)]
if len(got) != len(want) - 1:
    print("size differs: %d chunks, kernel served %d" % (len(got), len(want) - 1))
bad = [i for i, (a, b) in enumerate(zip(got, want[1:])) if a != b]
print("%d chunks differ from what the kernel served; first: %s"
      % (len(bad), bad[:10]))
sys.exit(1)
PY
}
