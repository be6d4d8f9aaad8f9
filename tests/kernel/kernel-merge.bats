#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The kernel's snapshot-merge against snapctl merge (guest-merge.sh).
#
# In one boot the kernel writes an origin and a COW (snapshot-origin +
# snapshot P, seeded origin and snapshot writes), then snapshot-merge
# merges a copy to the end and, for m8, another copy is merged for a
# moment and stopped. On the host snapctl merges the same images, resumes
# the merge the kernel stopped, and the kernel finishes (in the same boot)
# a merge that snapctl left after an injected crash. The kernel's COW is
# also the base of a damage corpus for snapcheck (kdamage.py).

load helpers

# NAME:CHUNK_SECTORS:SEED:OPS:ORIGIN_MIB[:STOP_MS]. m8: ~550 exceptions
# of 4 KiB fill three metadata areas; m64: 64 KiB chunks (4096 records an
# area, so one area). STOP_MS: a merge stopped after that long.
RUNS=(
	m8:8:201:600:16:1500
	m64:128:202:100:8
)
# The snapctl-made COW's merge is stopped by a crash at this write.
SM_CRASH=3

# snapctl's half of the snapctl-made case: a COW written by snapctl,
# merged by snapctl until an injected crash; the guest finishes it.
prepare_snapctl_made() {
	local s=$1/sm off len n=0
	mkdir -p "$s"
	python3 "$KDIR/workload.py" gen "$s/origin.img" $((8 << 20)) 41
	truncate -s 2M "$s/cow.img"
	"$SNAPCTL" create -q --chunk-size 4K "$s/cow.img" "$s/origin.img"
	echo 8 >"$s/cs"
	# Random partial writes (single records), then a 1 MiB run whose
	# 257 chunks cross from area 0 into area 1 (merged in long runs).
	while read -r off len; do
		n=$((n + 1))
		python3 "$KDIR/workload.py" gen "$BATS_FILE_TMPDIR/in" "$len" "$n"
		"$SNAPCTL" write -q --input "$BATS_FILE_TMPDIR/in" \
			--length "$len" "$s/origin.img" "$s/cow.img" "$off"
	done < <(python3 -c '
import random
r = random.Random(42)
for i in range(12):
    print(r.randrange(1800) * 4096 + 512 * r.randrange(8), 512 * r.randint(1, 24))
')
	"$SNAPCTL" write -q --fill 90 --length 1M "$s/origin.img" \
		"$s/cow.img" $((5 * 1024 * 1024 + 512))
	"$SNAPCTL" export "$s/origin.img" "$s/cow.img" "$BATS_FILE_TMPDIR/sm-image"
	sha "$BATS_FILE_TMPDIR/sm-image" >"$BATS_FILE_TMPDIR/sm-image.sha256"
	rm "$BATS_FILE_TMPDIR/sm-image"
	"$SNAPDUMP" --json --exceptions "$s/cow.img" |
		jq '.exceptions | length' >"$BATS_FILE_TMPDIR/sm-records-before"
	# --batch 1: a commit per run, so the crash (at the Nth write of
	# each device) leaves some runs merged; a crash inside a batch
	# leaves a prefix of the list too (tests/unit/test-merge).
	SNAPCOW_FAULT_INJECT=crash:$SM_CRASH "$SNAPCTL" merge -q --yes --batch 1 \
		"$s/origin.img" "$s/cow.img" 2>"$BATS_FILE_TMPDIR/sm-crash.err" || true
	"$SNAPDUMP" --json --exceptions "$s/cow.img" |
		jq '.exceptions | length' >"$BATS_FILE_TMPDIR/sm-records-crashed"
}

setup_file() {
	local args=("${RUNS[@]}")
	if [ -x "$SNAPCTL" ] && [ -x "$SNAPDUMP" ]; then
		prepare_snapctl_made "$BATS_FILE_TMPDIR/share"
		args+=(snapctl-made)
	fi
	boot_guest guest-merge.sh "${args[@]}"
}

run_cs() {
	local spec
	for spec in "${RUNS[@]}"; do
		[ "${spec%%:*}" = "$1" ] && { cut -d: -f2 <<<"$spec"; return; }
	done
	return 1
}

cow_sectors() {
	echo $(($(stat -c %s "$1") / 512))
}

# records COW: how many exceptions snapdump lists.
records() {
	"$SNAPDUMP" --json --exceptions "$1" | jq '.exceptions | length'
}

check_kernel_done() {
	local d=$SHARE/$1 cs size
	cs=$(run_cs "$1")
	size=$(cow_sectors "$d/cow.img")
	echo "kernel: before '$(cat "$d/status")' merged '$(cat "$d/status-merged")'"
	[ "$(cat "$d/status-merged")" = "$((2 * cs))/$size $((2 * cs))" ]
	# The origin the kernel merged is the image the snapshot served.
	[ "$(cat "$d/kmerge-origin.sha256")" = "$(total_hash "$d/snap.sha256")" ]
}

check_snapctl_merge() {
	need_tool SNAPCTL
	local d=$SHARE/$1 w=$BATS_TEST_TMPDIR
	cp --sparse=always "$d/origin.img" "$w/origin.img"
	cp --sparse=always "$d/cow.img" "$w/cow.img"
	run -0 "$SNAPCTL" merge -q --yes "$w/origin.img" "$w/cow.img"
	[ "$(sha "$w/origin.img")" = "$(cat "$d/kmerge-origin.sha256")" ]
	run -0 --separate-stderr "$SNAPCTL" status "$w/cow.img"
	echo "snapctl: '$output' kernel: '$(cat "$d/status-merged")'"
	[ "$output" = "$(cat "$d/status-merged")" ]
	# Both merges zero the same records and touch nothing else.
	cmp "$w/cow.img" "$d/kmerge-cow.img"
}

check_status_of_kernel_merged() {
	need_tool SNAPCTL
	local d=$SHARE/$1
	run -0 --separate-stderr "$SNAPCTL" status "$d/kmerge-cow.img"
	[ "$output" = "$(cat "$d/status-merged")" ]
	run -0 cowinfo status "$d/kmerge-cow.img"
	[ "$output" = "$(cat "$d/status-merged")" ]
}

@test "m8: the kernel's COW spans several metadata areas" {
	local meta
	meta=$(cut -d' ' -f2 "$SHARE/m8/status")
	[ $((meta / 8 - 2)) -ge 2 ]
}

@test "m8: kernel merge ends at 2cs/size 2cs with the snapshot's image" { check_kernel_done m8; }
@test "m8: snapctl merge gives the kernel's origin, status and COW" { check_snapctl_merge m8; }
@test "m8: snapctl status of the kernel-merged COW is the kernel's" { check_status_of_kernel_merged m8; }
@test "m64: kernel merge ends at 2cs/size 2cs with the snapshot's image" { check_kernel_done m64; }
@test "m64: snapctl merge gives the kernel's origin, status and COW" { check_snapctl_merge m64; }
@test "m64: snapctl status of the kernel-merged COW is the kernel's" { check_status_of_kernel_merged m64; }

@test "m8: a merge the kernel stopped: snapctl reads its status" {
	need_tool SNAPCTL
	need_tool SNAPDUMP
	local d=$SHARE/m8 before left
	before=$(records "$d/cow.img")
	left=$(records "$d/int-cow.img")
	echo "records: $before before, $left left; kernel stopped at '$(cat "$d/status-stopped")'"
	[ "$left" -gt 0 ] && [ "$left" -lt "$before" ]
	run -0 --separate-stderr "$SNAPCTL" status "$d/int-cow.img"
	[ "$output" = "$(cat "$d/status-stopped")" ]
	run "$SNAPCHECK" -n "$d/int-cow.img"
	[ "$status" -eq 0 ]
}

@test "m8: snapctl merge resumes the kernel's stopped merge to the same origin" {
	need_tool SNAPCTL
	local d=$SHARE/m8 w=$BATS_TEST_TMPDIR
	cp --sparse=always "$d/int-origin.img" "$w/origin.img"
	cp --sparse=always "$d/int-cow.img" "$w/cow.img"
	run -0 "$SNAPCTL" merge -q --yes "$w/origin.img" "$w/cow.img"
	[ "$(sha "$w/origin.img")" = "$(cat "$d/kmerge-origin.sha256")" ]
	run -0 --separate-stderr "$SNAPCTL" status "$w/cow.img"
	[ "$output" = "$(cat "$d/status-merged")" ]
	cmp "$w/cow.img" "$d/kmerge-cow.img"
}

@test "snapctl-made: the kernel finishes a merge snapctl's crash stopped" {
	[ -s "$SHARE/sm/status-merged" ] || skip "snapctl or snapdump not built"
	local before left
	before=$(cat "$BATS_FILE_TMPDIR/sm-records-before")
	left=$(cat "$BATS_FILE_TMPDIR/sm-records-crashed")
	echo "records: $before before, $left after crash:$SM_CRASH"
	grep -q "injected crash" "$BATS_FILE_TMPDIR/sm-crash.err"
	[ "$left" -gt 0 ] && [ "$left" -lt "$before" ]
	[ "$(cat "$SHARE/sm/status-merged")" = "16/4096 16" ]
	[ "$(cat "$SHARE/sm/kmerge-origin.sha256")" = "$(cat "$BATS_FILE_TMPDIR/sm-image.sha256")" ]
	run -0 --separate-stderr "$SNAPCTL" status "$SHARE/sm/kmerge-cow.img"
	[ "$output" = "$(cat "$SHARE/sm/status-merged")" ]
}

# --- snapcheck's damage corpus on the kernel's own COW (m8, pre-merge).

@test "damage on the kernel's COW: every kind gives exactly its codes" {
	need_tool SNAPCHECK
	local c=$BATS_FILE_TMPDIR/kcorpus name codes rc extra got
	python3 "$KDIR/kdamage.py" "$SHARE/m8/cow.img" "$c"
	run -0 "$SNAPCHECK" -n "$SHARE/m8/cow.img"
	while IFS=$'\t' read -r name codes rc extra; do
		extra=${extra//@ORIGIN@/$SHARE/m8/origin.img}
		cp "$c/$name.img" "$BATS_TEST_TMPDIR/c.img"
		# shellcheck disable=SC2086 # extra is a list of options
		run "$SNAPCHECK" -n --json $extra "$BATS_TEST_TMPDIR/c.img"
		got=$(jq -r '[.findings[].code] | unique | join(",") |
			if . == "" then "-" else . end' <<<"$output")
		echo "$name: want $codes exit $rc, got $got exit $status"
		[ "$got" = "$codes" ]
		[ "$status" -eq "$rc" ]
		cmp "$BATS_TEST_TMPDIR/c.img" "$c/$name.img"
		# -y repairs what it can, then -n finds nothing to fix.
		# shellcheck disable=SC2086
		run "$SNAPCHECK" -y --backup "$BATS_TEST_TMPDIR/u-$name.bin" $extra \
			"$BATS_TEST_TMPDIR/c.img"
		[ "$status" -lt 8 ]
		local ystatus=$status
		# shellcheck disable=SC2086
		run "$SNAPCHECK" -n $extra "$BATS_TEST_TMPDIR/c.img"
		echo "$name: -y exit $ystatus, then -n exit $status"
		[ "$status" -eq 0 ] || { [ "$status" -eq 4 ] && [ "$ystatus" -eq 4 ]; }
	done <"$c/MANIFEST"
}

@test "damage on the kernel's COW: mkdamage --from, random damage, no crash" {
	need_tool SNAPCHECK
	local c=$BATS_FILE_TMPDIR/mcorpus name codes rc extra n=0
	python3 "$KDIR/../damage/mkdamage.py" --random 15 \
		--from "$SHARE/m8/cow.img" "$c"
	while IFS=$'\t' read -r name codes rc extra; do
		[[ $name == cow.img-* ]] || continue
		n=$((n + 1))
		cp "$c/$name.img" "$BATS_TEST_TMPDIR/c.img"
		run "$SNAPCHECK" -n --json "$BATS_TEST_TMPDIR/c.img"
		echo "$name: -n exit $status"
		[ "$status" -le 8 ]
		jq -e .summary <<<"$output" >/dev/null || [ "$status" -eq 8 ]
		run "$SNAPCHECK" -y --backup "$BATS_TEST_TMPDIR/u-$n.bin" \
			"$BATS_TEST_TMPDIR/c.img"
		echo "$name: -y exit $status"
		[ "$status" -le 8 ]
		[ "$status" -eq 8 ] && continue
		local ystatus=$status
		run "$SNAPCHECK" -n "$BATS_TEST_TMPDIR/c.img"
		echo "$name: then -n exit $status"
		[ "$status" -eq 0 ] || { [ "$status" -eq 4 ] && [ "$ystatus" -eq 4 ]; }
	done <"$c/MANIFEST"
	[ "$n" -eq 16 ]
}
