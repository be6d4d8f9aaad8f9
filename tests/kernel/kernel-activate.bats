#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Suite D: snapctl activates through libdevmapper (guest-activate.sh).
# create --activate makes /dev/mapper/t (snapshot-origin) and t-snap
# (snapshot, 4 KiB chunks) as lvm2 would; seeded chunk-crossing writes go
# through both with no suspend/resume of the harness's own, so the
# snapshot only comes out right if activation left the origin splitting
# writes at the chunk size.  Then the live status, deactivation, and
# snapctl's offline view of what the kernel left.  Last, pairs that share
# storage through dm linear maps, other dm targets, md and overlapping
# partitions, which the host cannot make (lib/dev-storage.c).  The live
# merge's origin against snapctl merge of copies; a COW the kernel wrote
# dumped (snapdump --metadata), wiped, restored (snapctl restore) and
# served by the kernel again.

load helpers

setup_file() {
	[ -x "$SNAPCTL" ] || skip "snapctl not built"
	boot_guest guest-activate.sh "$(realpath "$SNAPCTL")"
}

# dm FILE DEVICE: DEVICE's line of a 'dmsetup table' or 'dmsetup status'
# listing of every device, without the name (the status part for status).
dm() {
	awk -v d="$2:" '$1 == d { sub(/^[^ ]+ /, ""); print }' "$SHARE/$1"
}

# dm_status FILE DEVICE: the status part only, as snapctl status prints it.
dm_status() {
	dm "$@" | cut -d' ' -f4-
}

# rc_is NAME CODE: the guest's command NAME exited CODE.
rc_is() {
	local rc
	rc=$(cat "$SHARE/$1.rc")
	if [ "$rc" != "$2" ]; then
		echo "$1: exit $rc, expected $2; stderr:" >&2
		cat "$SHARE/$1.err" >&2
		return 1
	fi
}

@test "create --activate: formats, activates, prints the /dev/mapper paths" {
	rc_is create 0
	grep -q '^/dev/mapper/t: origin' "$SHARE/create.out"
	grep -q '^/dev/mapper/t-snap: snapshot' "$SHARE/create.out"
	[ "$(cat "$SHARE/nodes")" = "$(printf 't b\nt-snap b')" ]
}

@test "tables: snapshot-origin over the origin, snapshot P 8, uuids" {
	[[ $(dm tables-0 t) =~ ^0\ 8192\ snapshot-origin\ 7:[0-9]+$ ]]
	[[ $(dm tables-0 t-snap) =~ ^0\ 8192\ snapshot\ 7:[0-9]+\ 7:[0-9]+\ P\ 8$ ]]
	[ "$(cat "$SHARE/uuids")" = "$(printf 't SNAPCOW-t\nt-snap SNAPCOW-t-snap')" ]
}

@test "status --live equals dmsetup status, fresh and after writes" {
	# A fresh 4 MiB COW: header and area 0 used.
	[ "$(dm_status dm-0 t-snap)" = "16/8192 16" ]
	[ "$(cat "$SHARE/live-0")" = "$(dm_status dm-0 t-snap)" ]
	[ "$(cat "$SHARE/live")" = "$(dm_status dm t-snap)" ]
	[ "$(cat "$SHARE/live")" != "16/8192 16" ]
}

@test "status --live --json" {
	command -v jq >/dev/null || skip "jq not installed"
	local j=$SHARE/live.json
	[ "$(jq -r .status "$j")" = "$(dm_status dm t-snap)" ]
	[ "$(jq -r '.dm_name, .target, .state, .valid' "$j" | tr '\n' ' ')" = \
		"t-snap snapshot valid true " ]
	[ "$(jq -r '"\(.sectors_allocated)/\(.cow_sectors) \(.metadata_sectors)"' "$j")" = \
		"$(dm_status dm t-snap)" ]
}

@test "snapctl list --json: t-snap and a second snapshot of t, as the kernel sees them" {
	command -v jq >/dev/null || skip "jq not installed"
	local j=$SHARE/list.json lo lc lc2
	read -r lo lc lc2 <"$SHARE/list-devs"
	[ "$(jq -c '[.snapshots[] | [.kind, .name, .dm_name, .vol, .origin_vol, .origin, .cow, .chunk_size_sectors, .state]]' "$j")" = \
		"[[\"dm\",\"t\",\"t-snap\",null,null,\"$lo\",\"$lc\",8,\"valid\"],[\"dm\",\"t\",\"t-snap2\",null,null,\"$lo\",\"$lc2\",8,\"valid\"]]" ]
	[ "$(jq -r '.snapshots[0].status' "$j")" = "$(dm_status dm t-snap)" ]
	[ "$(jq -r '.snapshots[0] | "\(.sectors_allocated)/\(.cow_sectors) \(.metadata_sectors)"' "$j")" = \
		"$(dm_status dm t-snap)" ]
	# The new 1 MiB COW: header and area 0.
	[ "$(jq -r '.snapshots[1].status' "$j")" = "16/2048 16" ]
	[ "$(wc -l <"$SHARE/list.txt")" = 3 ]
	grep -qE "^dm +t +$lo +$lc +4K +[0-9.]+ +$(dm_status dm t-snap)\$" "$SHARE/list.txt"
	grep -qE "^dm +t +$lo +$lc2 +4K +0.00 +16/2048 16\$" "$SHARE/list.txt"
}

@test "status --live NAME SNAP: the second snapshot's own status, text, JSON and --watch" {
	command -v jq >/dev/null || skip "jq not installed"
	[ "$(cat "$SHARE/live2")" = "16/2048 16" ]
	[ "$(jq -c '[.dm_name, .target, .status, .state, .valid, .sectors_allocated, .cow_sectors, .metadata_sectors]' "$SHARE/live2.json")" = \
		'["t-snap2","snapshot","16/2048 16","valid",true,16,2048,16]' ]
	[ "$(cat "$SHARE/watch2.rc")" = 0 ]
	[ "$(cat "$SHARE/watch2.out")" = "16/2048 16" ]
	[ "$(cat "$SHARE/live-notsnap.rc")" = 1 ]
	[ "$(cat "$SHARE/live-notsnap.out")" = "snapctl: cannot read the live status of t: t: not a snapshot of t" ]
}

@test "the kernel served the model's images through the activated pair" {
	[ "$(total_hash "$SHARE/snap.sha256")" = "$(cat "$SHARE/model-snap.sha256")" ]
	[ "$(total_hash "$SHARE/origin.sha256")" = "$(cat "$SHARE/model-origin.sha256")" ]
}

@test "deactivate removes both; offline status equals the last live one" {
	rc_is deactivate 0
	[ ! -s "$SHARE/ls-after" ]
	[ "$(cat "$SHARE/offline-status")" = "$(dm_status dm t-snap)" ]
	[ "$(cowinfo status "$SHARE/cow.img")" = "$(dm_status dm t-snap)" ]
}

@test "export equals what /dev/mapper/t-snap served" {
	[ "$(cat "$SHARE/export.sha256")" = "$(total_hash "$SHARE/snap.sha256")" ]
}

@test "refused: a name in use, a COW in use, a busy device, one not ours" {
	rc_is exists 1
	grep -q 't: a device-mapper device of that name already exists' \
		"$SHARE/exists.err"
	rc_is cow-busy 1
	grep -q 'in use (the COW of an active snapshot, or mounted)' \
		"$SHARE/cow-busy.err"
	rc_is busy 1
	grep -q 't-snap: in use (open count 1)' "$SHARE/busy.err"
	rc_is foreign 1
	grep -q "foreign: not activated by snapcow" "$SHARE/foreign.err"
}

# Everything activation refuses is checked before the COW is formatted.
@test "create --activate: a name in use or a file refused, COW untouched" {
	rc_is create-exists 1
	grep -q 't: a device-mapper device of that name already exists' \
		"$SHARE/create-exists.err"
	rc_is create-file 1
	grep -q 'origin0.img (origin): not a block device' \
		"$SHARE/create-file.err"
	[ "$(cat "$SHARE/fresh.sha256")" = \
		"$(head -c 1M /dev/zero | sha256sum | cut -d' ' -f1)" ]
	run ! grep -q '^nb' "$SHARE/ls-end"
}

@test "deactivate and status --live of a missing name exit 1, clearly" {
	rc_is deactivate-missing 1
	grep -q 'cannot deactivate t: t: not active: no device-mapper device t or t-snap' \
		"$SHARE/deactivate-missing.err"
	rc_is live-missing 1
	grep -q 't-snap: not active' "$SHARE/live-missing.err"
}

@test "activation of an invalidated COW is refused, nothing left behind" {
	rc_is invalid 1
	grep -q 'the COW is invalid' "$SHARE/invalid.err"
	run ! grep -q '^bad' "$SHARE/ls-end"
}

@test "activation with origin == COW is refused" {
	rc_is same 1
	grep -q 'are the same device' "$SHARE/same.err"
	run ! grep -q '^same' "$SHARE/ls-end"
}

@test "activate --overflow: PO, a zeroed COW formatted by the kernel" {
	rc_is po 0
	[[ $(dm tables-po po-snap) =~ \ PO\ 32$ ]]
	[ "$(dm_status dm-po po-snap)" = "64/2048 64" ]
	[ "$(cat "$SHARE/live-po")" = "64/2048 64" ]
	rc_is po-down 0
	[ ! -s "$SHARE/ls-end" ]
}

@test "create --json --activate: the COW's facts and the devices made" {
	command -v jq >/dev/null || skip "jq not installed"
	local j=$SHARE/cj.out
	rc_is cj 0
	rc_is cj-down 0
	[ "$(jq -c '[.state, .valid, .chunk_size_sectors, .exception_count,
		.status]' "$j")" = '["valid",true,16,0,"32/2048 32"]' ]
	[ "$(jq -r '.devices | length' "$j")" -eq 2 ]
	[ "$(jq -r '.devices[] | "\(.dm_name) \(.start_sector) \(.length_sectors) \(.target)"' \
		"$j" | tr '\n' ' ')" = \
		"cj 0 8192 snapshot-origin cj-snap 0 8192 snapshot " ]
	[ "$(jq -r '.devices[] | "\(.dm_name) \(.uuid)"' "$j" | sort)" = \
		"$(awk '{ sub(/:/, " "); print $1, $2 }' "$SHARE/uuids-cj" |
		   grep '^cj' | sort)" ]
	[ "$(jq -r '.devices[1].uuid' "$j")" = SNAPCOW-cj-snap ]
	[[ $(dm tables-cj cj-snap) =~ \ P\ 16$ ]]
}

# shared_is NAME CHAIN: the guest's NAME was refused, naming CHAIN.
shared_is() {
	local want="snapctl: $2: a snapshot's COW cannot live on its origin"
	rc_is "$1" 1
	if [ "$(cat "$SHARE/$1.err")" != "$want" ]; then
		printf 'got:  %s\nwant: %s\n' "$(cat "$SHARE/$1.err")" "$want" >&2
		return 1
	fi
}

@test "shared storage: a COW that is a dm linear map of the origin is refused" {
	local lo
	lo=$(cat "$SHARE/lo")
	shared_is lin "$lo (origin) and /dev/mapper/lin (COW) share storage: /dev/mapper/lin (dm lin) maps bytes 0..1048575 linearly onto bytes 1048576..2097151 of $lo, which is $lo (bytes 1048576..2097151)"
	run ! grep -q '^lin' "$SHARE/ls-end"
}

@test "shared storage: linear maps of disjoint ranges are a pair; other targets use all" {
	local lo
	lo=$(cat "$SHARE/lo")
	rc_is lv-pair 0
	shared_is delay "/dev/mapper/dly (COW) and /dev/mapper/lva (origin) share storage: /dev/mapper/dly (dm dly), a delay target, is taken to use all of $lo; /dev/mapper/lva (dm lva) maps bytes 0..1048575 linearly onto bytes 0..1048575 of $lo; both reach bytes 0..1048575 of $lo"
}

# A member of a running md array is held by md: the COW's exclusive hold,
# taken before any check (refusals.bats' rule), refuses it first, so the
# md chain itself is proven in unit/test-dev-storage's fake sysfs.
@test "shared storage: a member of a running md array is refused" {
	local lm
	[ -e "$SHARE/md.rc" ] ||
		skip "no md array in the guest: $(cat "$SHARE/md.skip")"
	lm=$(cat "$SHARE/lm")
	rc_is md 1
	[ "$(cat "$SHARE/md.err")" = "snapctl: $lm: cannot open for writing: Device or resource busy" ]
}

@test "shared storage: overlapping partitions of one disk are refused" {
	local lp
	lp=$(cat "$SHARE/lp")
	shared_is parts "${lp}p2 (COW) and ${lp}p1 (origin) share storage: ${lp}p2 is partition 2 of $lp (bytes 2097152..4194303); ${lp}p1 is partition 1 of $lp (bytes 1048576..3145727); both reach bytes 2097152..3145727 of $lp"
}

# --- several snapshots of one origin (issue 10 item 1)

@test "activate with two COWs: m-snap (4K) and m-snap2 (16K) over one origin" {
	rc_is multi 0
	grep -q '^/dev/mapper/m-snap2: snapshot (COW .*, chunk size 16384 bytes, P)$' \
		"$SHARE/multi.out"
	[ "$(awk '{print $1, $4}' "$SHARE/tables-multi")" = "m: snapshot-origin
m-snap: snapshot
m-snap2: snapshot" ]
	[ "$(awk '$1 == "m-snap:" {print $8} $1 == "m-snap2:" {print $8}' \
		"$SHARE/tables-multi")" = "8
32" ]
}

@test "snapshot --as m-third (8K) added live mid-workload reads the origin at that point" {
	rc_is multi-add 0
	grep -q '^/dev/mapper/m-third: snapshot (COW .*, chunk size 8192 bytes, P)$' \
		"$SHARE/multi-add.out"
	[ "$(awk '$1 == "m-third:" {print $4, $7, $8}' "$SHARE/tables-multi-3")" = "snapshot P 16" ]
	# The workload's model when paused; m-third reads exactly that.
	[ "$(total_hash "$SHARE/multi-c.sha256")" = "$(cat "$SHARE/multi-pause-model.sha256")" ]
	[ "$(cat "$SHARE/multi-pause-model.sha256")" != "$(cat "$SHARE/mw/model.sha256")" ]
}

@test "every snapshot reads its model; the origin the workload's" {
	[ "$(total_hash "$SHARE/multi-a.sha256")" = "$(cat "$SHARE/multi-m0.sha256")" ]
	[ "$(total_hash "$SHARE/multi-b.sha256")" = "$(cat "$SHARE/multi-m0.sha256")" ]
	[ "$(total_hash "$SHARE/multi-origin.sha256")" = "$(cat "$SHARE/mw/model.sha256")" ]
}

@test "snapshot refusals leave the tables as they were" {
	rc_is multi-taken 1
	grep -q 'm-snap: a device-mapper device of that name already exists' \
		"$SHARE/multi-taken.err"
	rc_is multi-used 1
	grep -q 'holds 1 exception of an earlier snapshot: a new snapshot needs a new or empty COW' \
		"$SHARE/multi-used.err"
	rc_is multi-cow-busy 1
	grep -q 'in use (the COW of an active snapshot, or mounted)' \
		"$SHARE/multi-cow-busy.err"
	# Three snapshots and the origin: nothing added by a refusal.
	[ "$(wc -l <"$SHARE/tables-multi-3")" -eq 4 ]
}

@test "remove m m-snap2: refused while open, then gone; deactivate takes the rest" {
	rc_is multi-remove-busy 1
	grep -q 'm-snap2: in use (open count 1)' "$SHARE/multi-remove-busy.err"
	rc_is multi-remove 0
	rc_is multi-remove-missing 1
	grep -q 'm-snap2: not a snapshot of m' "$SHARE/multi-remove-missing.err"
	[ "$(grep '^m' "$SHARE/ls-multi")" = "m
m-snap
m-third" ]
	rc_is multi-down 0
	run ! grep -q '^m' "$SHARE/ls-multi-end"
}

# --- status --live --watch (issue 10 item 4)

@test "status --watch: a document per change, growing, the last the final status" {
	# One JSON document per change, from the fresh pair to the last writes.
	run -0 jq -s -r '.[].status' "$SHARE/watch.json"
	[ "${#lines[@]}" -ge 3 ]
	[ "${lines[0]}" = "16/8192 16" ]
	[ "${lines[-1]}" = "$(cat "$SHARE/live")" ]
	local i prev=0 a
	for i in "${lines[@]}"; do
		a=${i%%/*}
		[ "$a" -gt "$prev" ] || [ "$prev" -eq 0 ]
		prev=$a
	done
	# deactivate took the device away: the watch ends, saying so.
	[ "$(cat "$SHARE/watch.rc")" = 1 ]
	run -0 cat "$SHARE/watch.err"
	[[ $output == "snapctl: stopped watching t: t-snap: not active"* ]]
}

@test "status --watch --threshold 2 exits 0 once 2% is allocated" {
	[ "$(cat "$SHARE/threshold.rc")" = 0 ]
	local last a b
	last=$(tail -n 1 "$SHARE/threshold.out")
	a=${last%%/*}
	b=${last#*/}
	b=${b%% *}
	[ $((a * 100)) -ge $((b * 2)) ]
	# Every line before the last was below 2%.
	run -0 head -n -1 "$SHARE/threshold.out"
	for last in "${lines[@]}"; do
		a=${last%%/*}
		[ $((a * 100)) -lt $((b * 2)) ]
	done
}

# --- merge --live (issue 10 item 2)

@test "merge --live: refused for an open or a missing snapshot" {
	rc_is lmerge-busy 1
	grep -q 'm-snap: in use (open count 1)' "$SHARE/lmerge-busy.err"
	rc_is lmerge-missing 1
	grep -q 'm-snap2: not active' "$SHARE/lmerge-missing.err"
}

@test "merge --live killed while the kernel merges: a snapshot is refused, a second run finishes" {
	rc_is lmerge-1 137
	grep -q 'm: started the merge of m-snap' "$SHARE/lmerge-1.err"
	grep -q ' snapshot-merge ' "$SHARE/lmerge-killed-table"
	rc_is lmerge-snap 1
	grep -q 'm: merging a snapshot (snapshot-merge table)' "$SHARE/lmerge-snap.err"
	rc_is lmerge 0
	grep -q 'm: resuming the merge of m-snap' "$SHARE/lmerge.err"
	grep -q '^m: merged m-snap; m is a plain origin again$' "$SHARE/lmerge.out"
}

@test "merge --live: m reads m-snap's image, m-third its own, m-snap gone" {
	[ "$(awk '{print $1, $4}' "$SHARE/tables-lmerge")" = "m: snapshot-origin
m-third: snapshot" ]
	[ "$(total_hash "$SHARE/lmerge-origin.sha256")" = "$(cat "$SHARE/multi-m0.sha256")" ]
	[ "$(total_hash "$SHARE/lmerge-third.sha256")" = "$(cat "$SHARE/multi-pause-model.sha256")" ]
	run ! grep -q Invalid "$SHARE/lmerge-third-status"
	# The merged COW is empty: only the header and the first area.
	[ "$(cat "$SHARE/lmerge-cow-status")" = "16/12288 16" ]
}

@test "merge --live: the origin equals snapctl merge of copies taken before it" {
	rc_is lmerge-offline 0
	rc_is lmerge-cmp 0
	[ ! -s "$SHARE/lmerge-cmp.out" ]
}

# --- metadata dump and restore (issue 10 item 6)

@test "restore: the kernel's COW (4 areas) dumped, wiped and restored is the kernel's image byte for byte" {
	rc_is meta-up 0
	rc_is meta-down 0
	rc_is meta-dump 0
	[ "$(jq -c '[.header.chunk_size_sectors, .header.valid, .cow_sectors,
		.exceptions_per_area, .exception_count, (.records | length),
		.records[0], .records[199]]' "$SHARE/meta-dump.out")" = \
		'[2,true,4096,64,200,200,{"old_chunk":1500,"new_chunk":2},{"old_chunk":749,"new_chunk":204}]' ]
	rc_is meta-restore 0
	grep -q ': restored 200 records (valid, 2-sector chunks) from .*: 5 metadata chunks written; undo file: ' \
		"$SHARE/meta-restore.out"
	rc_is meta-cmp 0
}

@test "restore: the kernel loads the restored COW and serves the same snapshot" {
	rc_is meta-up2 0
	[ "$(cat "$SHARE/meta-snap2.sha256")" = "$(cat "$SHARE/meta-snap.sha256")" ]
	[ "$(cut -d' ' -f4- "$SHARE/meta-status2")" = "$(cut -d' ' -f4- "$SHARE/meta-status")" ]
	[ "$(cut -d' ' -f4- "$SHARE/meta-status")" = "410/4096 10" ]
	rc_is meta-down2 0
}

@test "restore: a COW the kernel invalidated (valid 0) round trips byte for byte" {
	rc_is meta-inv-up 0
	[ "$(cut -d' ' -f4- "$SHARE/meta-inv-status")" = Invalid ]
	rc_is meta-inv-dump 0
	[ "$(jq -c '[.header.valid, .header.state, .exception_count,
		.records[61]]' "$SHARE/meta-inv-dump.out")" = \
		'[false,"invalid",62,{"old_chunk":61,"new_chunk":63}]' ]
	rc_is meta-inv-restore 0
	rc_is meta-inv-cmp 0
}

@test "restore: the COW the live merge emptied round trips onto a fresh file" {
	[ "$(jq -c '[.header.valid, .exception_count, .records]' \
		"$SHARE/meta-merged.json")" = '[true,0,[]]' ]
	rc_is meta-merged 0
	rc_is meta-merged-cmp 0
}

@test "restore: refused onto a COW the kernel holds, no undo file made" {
	rc_is meta-busy 1
	[ "$(cat "$SHARE/meta-busy.err")" = "snapctl: $(cat "$SHARE/meta-busy-dev"): cannot open for writing: Device or resource busy" ]
}

@test "restore: the kernel's COW onto a fresh device of its size: the same header and areas, snapcheck clean" {
	need_tool SNAPDUMP
	need_tool SNAPCHECK
	local w=$BATS_TEST_TMPDIR a
	run -0 "$SNAPCHECK" -n "$SHARE/meta-kernel.img"
	"$SNAPDUMP" --metadata "$SHARE/meta-kernel.img" >"$w/m.json"
	truncate -s 2M "$w/fresh.img"
	run -0 "$SNAPCTL" restore --yes --backup "$w/u.bin" "$w/m.json" \
		"$w/fresh.img"
	for a in 0 1 2 3 4 5; do
		cmp <(dd if="$SHARE/meta-kernel.img" bs=1K skip=$((a ? 1 + (a - 1) * 65 : 0)) count=1 status=none) \
			<(dd if="$w/fresh.img" bs=1K skip=$((a ? 1 + (a - 1) * 65 : 0)) count=1 status=none)
	done
	run -0 "$SNAPCHECK" -n "$w/fresh.img"
	"$SNAPDUMP" --metadata "$w/fresh.img" | jq 'del(.cow)' >"$w/m2.json"
	[ "$(jq 'del(.cow)' "$w/m.json")" = "$(cat "$w/m2.json")" ]
}

# --- udev (issue 10 item 5)

@test "with systemd-udevd: udev's rules make the /dev/mapper links, no cookie is left" {
	rc_is udev-up 0
	run -0 cat "$SHARE/udev-links"
	[ "${#lines[@]}" -eq 3 ]
	local l
	for l in "${lines[@]}"; do
		[[ $l =~ ^(u|u-snap|u-snap2)\ \.\./dm-[0-9]+$ ]]
	done
	# Only dmsetup's header line: no cookie waits for udev.
	[ "$(wc -l <"$SHARE/udev-cookies-up")" -eq 1 ]
	grep -q '^Cookie' "$SHARE/udev-cookies-up"
	rc_is udev-down 0
	[ "$(cat "$SHARE/udev-ls-end")" = control ]
	[ "$(wc -l <"$SHARE/udev-cookies-down")" -eq 1 ]
}

@test "activate --merge picks up a merge that deactivate stopped; merge --live NAME ends it" {
	rc_is amerge-down 0
	run ! grep -qx m "$SHARE/amerge-ls"
	rc_is amerge-up 0
	grep -q '^/dev/mapper/m: merging ' "$SHARE/amerge-up.out"
	grep -q ' snapshot-merge ' "$SHARE/amerge-table"
	rc_is amerge 0
	grep -q 'm: resuming the merge of its snapshot' "$SHARE/amerge.err"
	grep -q ' snapshot-origin ' "$SHARE/amerge-table-end"
	# m now reads what m-third showed: the origin when it was taken.
	[ "$(total_hash "$SHARE/amerge-origin.sha256")" = "$(cat "$SHARE/multi-pause-model.sha256")" ]
}

# --- the live documents against their schemas (issue 12)

@test "status --live --json, --watch --json and create --json --activate validate against schemas/" {
	python3 -c 'import jsonschema' 2>/dev/null ||
		skip "python3-jsonschema is not installed (scripts/deps)"
	run -0 python3 - "$KDIR/../../schemas" "$SHARE" <<'PY'
import json, sys
from jsonschema import Draft202012Validator

schemas, share = sys.argv[1], sys.argv[2]

def docs(path):
    text, dec, i = open(path).read(), json.JSONDecoder(), 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return
        d, i = dec.raw_decode(text, i)
        yield d

n = 0
for kind, name in (("status", "live.json"), ("status", "watch.json"),
                   ("create", "cj.out")):
    v = Draft202012Validator(json.load(open("%s/%s.json" % (schemas, kind))))
    for d in docs("%s/%s" % (share, name)):
        v.validate(d)
        n += 1
print(n)
PY
	[ "$output" -ge 4 ]
}
