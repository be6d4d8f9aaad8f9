#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Every writing verb, every refusal it makes: a refused command exits
# with its exact status, names the device, and leaves every file it was
# given byte-identical (size and sha256), creates nothing and removes
# nothing.  The rule (DESIGN.md): a writing verb takes its exclusive hold
# first, checks everything, and writes only once nothing can refuse.
#
# One line per case:
#   @test "VERB: WHY" { [PREP;] refused EXIT NAME -- COMMAND...; }
# run in a scratch directory holding the fixtures below (see setup_file).
# NAME must appear in the error as a word ("NAME:" or "NAME ").  PREP may
# hold a file or device (hold PATH), make a file read-only for the command
# (readonly_file FILE), cap the size of files it writes (limited CMD...;
# the way to make a write fail after its file was created), or attach a loop device over a file, which is then
# watched too (attach FILE [losetup options]; its name is in $LOOP).

load helpers

# Fixtures, 1 MiB unless said (built once, copied into each test):
#   origin   an origin whose bytes say where they are
#   cow      a valid COW of origin with 16 exceptions (64 KiB at 8 KiB)
#   cow2     another valid, empty COW of 2 MiB ("another COW" to overwrite)
#   new      zeros: a COW the kernel would format (magic 0)
#   garbage  random bytes (a non-zero wrong magic)
#   short    cow cut to 6000 bytes: ends inside its first metadata area
#   invalid  cow with valid = 0 (invalidated by the kernel)
#   damaged  two records for one origin chunk: snapcheck -y repairs it
#   undo.bin the undo file of repairing a copy of damaged
#   repaired that copy, after the repair
#   tiny     4 KiB: too small for any COW
#   ext4     4 MiB ext4 filesystem (when mkfs.ext4 is there)
#   empty    an empty file
#   dir/     a directory
setup_file() {
	local fx="$BATS_FILE_TMPDIR/fx" snapctl snapcheck mkcow_py
	snapctl=${SNAPCTL:-$BATS_TEST_DIRNAME/../build/tools/snapctl}
	snapcheck=${SNAPCHECK:-$BATS_TEST_DIRNAME/../build/tools/snapcheck}
	mkcow_py="$BATS_TEST_DIRNAME/golden/mkcow.py"
	mkdir -p "$fx/dir"
	cd "$fx"
	python3 - <<'EOF'
import random
size = 1 << 20
open("origin", "wb").write(
    b"".join(b"o%015d" % off for off in range(0, size, 16)))
open("garbage", "wb").write(random.Random(9).randbytes(size))
EOF
	truncate -s 1M cow new
	truncate -s 2M cow2
	truncate -s 4K tiny
	: >empty
	"$snapctl" create -q cow origin
	"$snapctl" create -q cow2 origin
	"$snapctl" write --fill 0x5a --length 64K origin cow 8K
	head -c 6000 cow >short
	cp cow invalid
	printf '\0' | dd of=invalid bs=1 seek=4 conv=notrunc status=none
	python3 "$mkcow_py" --chunk-size 8 --size 1048576 \
		--records 5:2,5:3,7:4 damaged
	cp damaged repaired
	"$snapcheck" -q -y --backup undo.bin repaired >/dev/null || [ $? -eq 1 ]
	if command -v mkfs.ext4 >/dev/null 2>&1; then
		truncate -s 4M ext4
		mkfs.ext4 -q -F ext4 >/dev/null 2>&1 || rm -f ext4
	fi
	chmod -R a+rX "$fx"
}

setup() {
	setup_common
	need_tool "$SNAPCTL"
	need_tool "$SNAPCHECK"
	export SNAPCTL SNAPCHECK
	cp -a "$BATS_FILE_TMPDIR/fx/." "$T/"
	chmod a+rx "$T"
	cd "$T"
	HOLDERS=()
	LOOPS=()
	AS_USER=()
}

teardown() {
	local pid dev
	for pid in "${HOLDERS[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for dev in "${LOOPS[@]}"; do
		losetup -d "$dev" 2>/dev/null
	done
	cd /
	teardown_common
}

snapctl() { "${AS_USER[@]}" "$SNAPCTL" "$@"; }
snapcheck() { "${AS_USER[@]}" "$SNAPCHECK" "$@"; }

# Hold FILE as another process would: flock(2) on a regular file (every
# snapcow tool honours it), O_EXCL on a block device (the kernel's claim).
hold() {
	local f=$1 i
	if [ -b "$f" ]; then
		python3 -c 'import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL)
print("held", flush=True)
time.sleep(600)' "$f" 3>&- >"$T.held" &
		HOLDERS+=($!)
		for ((i = 0; i < 100; i++)); do
			grep -q held "$T.held" 2>/dev/null && break
			sleep 0.05
		done
		rm -f "$T.held"
		return
	fi
	need_cmd flock
	(exec 9<"$f" && flock -x 9 && exec sleep 600) 3>&- &
	HOLDERS+=($!)
	for ((i = 0; i < 100; i++)); do
		flock -n "$f" true 2>/dev/null || return 0
		sleep 0.05
	done
	echo "could not hold $f" >&2
	return 1
}

# FILE cannot be written by whoever runs the command: root ignores file
# modes, so then the command runs as nobody (AS_USER).
readonly_file() {
	chmod a-w "$1"
	[ "$(id -u)" -ne 0 ] && return
	need_cmd setpriv
	AS_USER=(setpriv --reuid=65534 --regid=65534 --clear-groups)
}

# A loop device over FILE, its name in $LOOP; it is watched like a file.
attach() {
	local f=$1
	shift
	need_cmd losetup
	[ "$(id -u)" -eq 0 ] || skip "loop devices need root"
	LOOP=$(losetup "$@" -f --show "$f" 2>/dev/null) ||
		skip "no loop device available here"
	LOOPS+=("$LOOP")
}

# Run a command that cannot make a file larger than 2 KiB: its writes
# past that fail with EFBIG (SIGXFSZ ignored), as on a full filesystem.
limited() {
	(trap '' XFSZ && ulimit -f 2 && "$@")
}

need_root() {
	[ "$(id -u)" -eq 0 ] || skip "activate stops at its root check first"
}

need_fixture() {
	[ -e "$1" ] || skip "no $1 fixture (mkfs.ext4 missing?)"
}

# Name, type, mode, size and sha256 of everything under the scratch
# directory and of every attached loop device.
state() {
	local f
	find . -mindepth 1 -printf '%p %y %m %s\n' | LC_ALL=C sort
	find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
	for f in "${LOOPS[@]}"; do
		echo "$f $(blockdev --getsize64 "$f") $(sha "$f")"
	done
}

# refused EXIT NAME -- COMMAND...
refused() {
	local want=$1 name=$2 before after re
	shift 3
	before=$(state)
	run "$@"
	after=$(state)
	echo "exit $status (expected $want): $output"
	[ "$status" -eq "$want" ]
	re="(^|[[:space:]/'])${name//./\\.}[':[:space:]]"
	if ! [[ "$output" =~ $re ]]; then
		echo "the error does not name '$name'"
		return 1
	fi
	if [ "$before" != "$after" ]; then
		diff <(echo "$before") <(echo "$after")
		return 1
	fi
}

# ----------------------------------------------------------------- create
@test "create: COW missing" { refused 1 nosuch -- snapctl create nosuch; }
@test "create: COW held by another process" { hold cow2; refused 1 cow2 -- snapctl create -f cow2; }
@test "create: COW is a directory" { refused 1 dir -- snapctl create dir; }
@test "create: COW is a character device" { refused 1 /dev/null -- snapctl create /dev/null; }
@test "create: COW read-only" { readonly_file cow2; refused 1 cow2 -- snapctl create -f cow2; }
@test "create: COW signature without --force" { refused 1 cow -- snapctl create cow; }
@test "create: held COW with a signature" { hold cow; refused 1 cow -- snapctl create cow; }
@test "create: ext4 signature without --force" { need_fixture ext4; refused 1 ext4 -- snapctl create ext4; }
@test "create: COW too small" { refused 1 tiny -- snapctl create tiny; }
@test "create: empty COW" { refused 1 empty -- snapctl create empty; }
@test "create: COW is ORIGIN" { refused 1 origin -- snapctl create origin origin; }
@test "create: COW is ORIGIN through a hard link" { ln new link; refused 1 link -- snapctl create new link; }
@test "create: ORIGIN missing" { refused 1 nosuch -- snapctl create new nosuch; }
@test "create: chunk size not a power of two" { refused 1 new -- snapctl create -c 3K new; }
@test "create: chunk size not whole sectors" { refused 1 new -- snapctl create -c 1000 new; }
@test "create: chunk size past the kernel's maximum" { refused 1 new -- snapctl create -c 2G new; }
@test "create: chunk size not a size" { refused 2 4Q -- snapctl create -c 4Q new; }
@test "create: chunk size below the COW's block size" { attach cow2 -b 4096; refused 1 "$LOOP" -- snapctl create -f -c 512 "$LOOP"; }
@test "create: block COW held exclusively" { attach cow2; hold "$LOOP"; refused 1 "$LOOP" -- snapctl create -f "$LOOP"; }
@test "create --activate: bad name" { refused 2 a/b -- snapctl create --activate a/b new origin; }
@test "create --activate: no ORIGIN" { refused 2 --activate -- snapctl create --activate n new; }
@test "create --overflow without --activate" { refused 2 --overflow -- snapctl create --overflow new; }

# ------------------------------------------------------------------ write
@test "write: ORIGIN missing" { refused 1 nosuch -- snapctl write -f 1 -l 1 nosuch cow 0; }
@test "write: COW missing" { refused 1 nosuch -- snapctl write -f 1 -l 1 origin nosuch 0; }
@test "write: ORIGIN held" { hold origin; refused 1 origin -- snapctl write -f 1 -l 1 origin cow 0; }
@test "write: COW held" { hold cow; refused 1 cow -- snapctl write -f 1 -l 1 origin cow 0; }
@test "write --snapshot: COW held" { hold cow; refused 1 cow -- snapctl write -s -f 1 -l 1 origin cow 0; }
@test "write: ORIGIN is a directory" { refused 1 dir -- snapctl write -f 1 -l 1 dir cow 0; }
@test "write: COW is a directory" { refused 1 dir -- snapctl write -f 1 -l 1 origin dir 0; }
@test "write: ORIGIN read-only" { readonly_file origin; refused 1 origin -- snapctl write -f 1 -l 1 origin cow 0; }
@test "write --snapshot: COW read-only" { readonly_file cow; refused 1 cow -- snapctl write -s -f 1 -l 1 origin cow 0; }
@test "write: COW is ORIGIN" { refused 1 origin -- snapctl write -f 1 -l 1 origin origin 0; }
@test "write --keep: SNAPSHOT missing" { refused 1 nosuch -- snapctl write -f 1 -l 1 --keep nosuch origin cow 0; }
@test "write --keep: SNAPSHOT held" { hold cow2; refused 1 cow2 -- snapctl write -f 1 -l 1 --keep cow2 origin cow 0; }
@test "write --keep: SNAPSHOT is COW" { refused 1 cow -- snapctl write -f 1 -l 1 --keep cow origin cow 0; }
@test "write --keep: SNAPSHOT is ORIGIN" { refused 1 origin -- snapctl write -f 1 -l 1 --keep origin origin cow 0; }
@test "write --keep: SNAPSHOT garbage" { refused 1 garbage -- snapctl write -f 1 -l 1 --keep garbage origin cow 0; }
@test "write: COW is ORIGIN through a symlink" { ln -s origin sym; refused 1 sym -- snapctl write -f 1 -l 1 origin sym 0; }
@test "write: garbage COW" { refused 1 garbage -- snapctl write -f 1 -l 1 origin garbage 0; }
@test "write: COW cut short" { refused 1 short -- snapctl write -f 1 -l 1 origin short 0; }
@test "write: COW too small" { refused 1 tiny -- snapctl write -f 1 -l 1 origin tiny 0; }
@test "write --snapshot: invalid COW" { refused 1 invalid -- snapctl write -s -f 1 -l 1 origin invalid 0; }
@test "write: offset past the origin's end" { refused 1 origin -- snapctl write -f 1 -l 1 origin cow 2M; }
@test "write: length past the origin's end" { refused 1 origin -- snapctl write -f 1 -l 8K origin cow 1020K; }
@test "write: input longer than the room left" { refused 1 origin -- snapctl write -i cow origin cow 4K; }
@test "write: piped input longer than the room left" { refused 1 origin -- sh -c "\"\$SNAPCTL\" write origin cow 1020K <cow"; }
@test "write: input missing" { refused 1 nosuch -- snapctl write -i nosuch origin cow 0; }
@test "write: input is a directory" { refused 1 dir -- snapctl write -i dir origin cow 0; }
@test "write: input shorter than --length" { refused 1 tiny -- snapctl write -i tiny -l 8K origin cow 0; }
@test "write: --input and --fill" { refused 2 --fill -- snapctl write -i tiny -f 1 -l 1 origin cow 0; }
@test "write: --fill without --length" { refused 2 --fill -- snapctl write -f 1 origin cow 0; }
@test "write: offset not a size" { refused 2 OFFSET -- snapctl write -f 1 -l 1 origin cow 12Q; }
@test "write: chunk size past the kernel's maximum" { refused 1 new -- snapctl write -c 2G -f 1 -l 1 origin new 0; }

# ----------------------------------------------------------------- export
@test "export: OUT held by another process" { hold cow2; refused 1 cow2 -- snapctl export origin cow cow2; }
@test "export: OUT is ORIGIN" { refused 1 origin -- snapctl export origin cow origin; }
@test "export: OUT is COW" { refused 1 cow -- snapctl export origin cow cow; }
@test "export: OUT is COW through a hard link" { ln cow link; refused 1 link -- snapctl export origin cow link; }
@test "export: OUT is a directory" { refused 1 dir -- snapctl export origin cow dir; }
@test "export: OUT read-only" { readonly_file cow2; refused 1 cow2 -- snapctl export origin cow cow2; }
@test "export: OUT in a missing directory" { refused 1 nosuch/out -- snapctl export origin cow nosuch/out; }
@test "export: OUT a block device too small" { attach tiny; refused 1 "$LOOP" -- snapctl export origin cow "$LOOP"; }
@test "export: OUT a block device held" { attach cow2; hold "$LOOP"; refused 1 "$LOOP" -- snapctl export origin cow "$LOOP"; }
@test "export: OUT cannot grow, OUT not created" { refused 1 out -- limited snapctl export origin cow out; }
@test "export: invalid COW, OUT not created" { refused 1 invalid -- snapctl export origin invalid out; }
@test "export: garbage COW, OUT not created" { refused 1 garbage -- snapctl export origin garbage out; }
@test "export: COW cut short, OUT not created" { refused 1 short -- snapctl export origin short out; }
@test "export: ORIGIN missing, OUT not created" { refused 1 nosuch -- snapctl export nosuch cow out; }
@test "export: COW is ORIGIN, OUT not created" { refused 1 origin -- snapctl export origin origin out; }

# ------------------------------------------------------------------ merge
@test "merge: ORIGIN missing" { refused 1 nosuch -- snapctl merge -y nosuch cow; }
@test "merge: COW missing" { refused 1 nosuch -- snapctl merge -y origin nosuch; }
@test "merge: ORIGIN held" { hold origin; refused 1 origin -- snapctl merge -y origin cow; }
@test "merge: COW held" { hold cow; refused 1 cow -- snapctl merge -y origin cow; }
@test "merge: COW is ORIGIN" { refused 1 origin -- snapctl merge -y origin origin; }
@test "merge: invalid COW" { refused 1 invalid -- snapctl merge -y origin invalid; }
@test "merge: garbage COW" { refused 1 garbage -- snapctl merge -y origin garbage; }
@test "merge: COW cut short" { refused 1 short -- snapctl merge -y origin short; }
@test "merge: ORIGIN read-only" { readonly_file origin; refused 1 origin -- snapctl merge -y origin cow; }
@test "merge: neither --backup nor --yes" { refused 1 cow -- snapctl merge origin cow; }
@test "merge --backup: BACKUP is ORIGIN" { refused 1 origin -- snapctl merge --backup origin origin cow; }
@test "merge --backup: BACKUP is COW" { refused 1 cow -- snapctl merge --backup cow origin cow; }
@test "merge --backup: BACKUP holds ext4" { need_fixture ext4; refused 1 ext4 -- snapctl merge --backup ext4 origin cow; }
@test "merge --backup: BACKUP holds garbage" { refused 1 garbage -- snapctl merge --backup garbage origin cow; }
@test "merge --backup: BACKUP is invalid" { refused 1 invalid -- snapctl merge --backup invalid origin cow; }
@test "merge --backup: BACKUP in a missing directory" { refused 1 nosuch/b -- snapctl merge --backup nosuch/b origin cow; }
@test "merge --backup: BACKUP held" { hold cow2; refused 1 cow2 -- snapctl merge --backup cow2 origin cow; }
@test "merge --backup: invalid COW, BACKUP not created" { refused 1 invalid -- snapctl merge --backup b origin invalid; }
@test "merge --keep: SNAPSHOT missing" { refused 1 nosuch -- snapctl merge -y --keep nosuch origin cow; }
@test "merge --keep: SNAPSHOT held" { hold cow2; refused 1 cow2 -- snapctl merge -y --keep cow2 origin cow; }
@test "merge --keep: SNAPSHOT is COW" { refused 1 cow -- snapctl merge -y --keep cow origin cow; }
@test "merge --keep: SNAPSHOT garbage" { refused 1 garbage -- snapctl merge -y --keep garbage origin cow; }

# ------------------------------------------------------------- snapcheck -y
@test "snapcheck -y: COW missing" { refused 8 nosuch -- snapcheck -y nosuch; }
@test "snapcheck -y: COW held" { hold damaged; refused 8 damaged -- snapcheck -y --backup u damaged; }
@test "snapcheck -y: COW is a directory" { refused 8 dir -- snapcheck -y dir; }
@test "snapcheck -y: COW read-only" { readonly_file damaged; refused 8 damaged -- snapcheck -y --backup u damaged; }
@test "snapcheck -y: undo file exists and holds data" { refused 8 cow2 -- snapcheck -y --backup cow2 damaged; }
@test "snapcheck -y: undo file is ORIGIN" { refused 8 origin -- snapcheck -y --backup origin damaged; }
@test "snapcheck -y: undo file is an older undo file" { refused 8 undo.bin -- snapcheck -y --backup undo.bin damaged; }
@test "snapcheck -y: undo file is the COW" { refused 8 damaged -- snapcheck -y --backup damaged damaged; }
@test "snapcheck -y: undo file held" { hold empty; refused 8 empty -- snapcheck -y --backup empty damaged; }
@test "snapcheck -y: undo file in a missing directory" { refused 8 nosuch/u -- snapcheck -y --backup nosuch/u damaged; }
@test "snapcheck -y: undo file is a directory" { refused 8 dir -- snapcheck -y --backup dir damaged; }
@test "snapcheck -y: undo file a block device" { attach cow2; refused 8 "$LOOP" -- snapcheck -y --backup "$LOOP" damaged; }
@test "snapcheck -y: undo file cannot grow, none left" { refused 8 u -- limited snapcheck -y --backup u damaged; }
@test "snapcheck -y: default undo file cannot grow, none left" { refused 8 damaged -- limited snapcheck -y damaged; }
@test "snapcheck -y: empty undo file cannot grow, left empty" { refused 8 empty -- limited snapcheck -y --backup empty damaged; }
@test "snapcheck -y: ORIGIN missing" { refused 8 nosuch -- snapcheck -y --origin nosuch --backup u damaged; }
@test "snapcheck -y: garbage is left alone" { refused 4 garbage -- snapcheck -y --backup u garbage; }
@test "snapcheck -y: COW cut short is left alone" { refused 4 short -- snapcheck -y --backup u short; }
@test "snapcheck --backup without -y" { refused 16 u -- snapcheck --backup u damaged; }
@test "snapcheck -n --backup" { refused 16 u -- snapcheck -n --backup u damaged; }
@test "snapcheck -n -y" { refused 16 -y -- snapcheck -n -y damaged; }

# --------------------------------------------------------- snapcheck --undo
@test "snapcheck --undo: undo file missing" { refused 8 nosuch -- snapcheck --undo nosuch repaired; }
@test "snapcheck --undo: COW missing" { refused 8 nosuch -- snapcheck --undo undo.bin nosuch; }
@test "snapcheck --undo: COW held" { hold repaired; refused 8 repaired -- snapcheck --undo undo.bin repaired; }
@test "snapcheck --undo: COW read-only" { readonly_file repaired; refused 8 repaired -- snapcheck --undo undo.bin repaired; }
@test "snapcheck --undo: another COW" { refused 8 cow -- snapcheck --undo undo.bin cow; }
@test "snapcheck --undo: a COW of another size" { refused 8 short -- snapcheck --undo undo.bin short; }
@test "snapcheck --undo: changed since the repair" { printf '\1' | dd of=repaired bs=1 seek=4100 conv=notrunc status=none; refused 8 repaired -- snapcheck --undo undo.bin repaired; }
@test "snapcheck --undo: not an undo file" { refused 8 garbage -- snapcheck --undo garbage repaired; }
@test "snapcheck --undo: undo file cut short" { head -c 4000 undo.bin >cut.bin; refused 8 cut.bin -- snapcheck --undo cut.bin repaired; }
@test "snapcheck --undo: undo data damaged" { printf '\1' | dd of=undo.bin bs=1 seek=100 conv=notrunc status=none; refused 8 undo.bin -- snapcheck --undo undo.bin repaired; }
@test "snapcheck --undo with -y" { refused 16 --undo -- snapcheck -y --undo undo.bin repaired; }

# --------------------------------------------------------------- activate
@test "activate: bad name" { refused 2 a/b -- snapctl activate a/b origin cow; }
@test "activate: ORIGIN missing" { need_root; refused 1 nosuch -- snapctl activate n nosuch cow; }
@test "activate: COW missing" { need_root; refused 1 nosuch -- snapctl activate n origin nosuch; }
@test "activate: COW held" { need_root; hold cow; refused 1 cow -- snapctl activate n origin cow; }
@test "activate: COW is ORIGIN" { need_root; refused 1 origin -- snapctl activate n origin origin; }
@test "activate: invalid COW" { need_root; refused 1 invalid -- snapctl activate n origin invalid; }
@test "activate: garbage COW" { need_root; refused 1 garbage -- snapctl activate n origin garbage; }
@test "activate: COW cut short" { need_root; refused 1 short -- snapctl activate n origin short; }
