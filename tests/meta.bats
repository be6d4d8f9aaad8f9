#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Metadata dump and restore (issue 10 item 6): snapdump --metadata writes
# the header and every record in allocation order; snapctl restore writes
# them back.  Round trips on COWs golden/mkcow.py writes as the kernel
# does (the kernel's own: kernel/kernel-activate.bats) give the header
# chunk and every area byte for byte; every refusal says which record
# broke which rule, exits 1 and changes nothing; the undo file puts the
# COW back exactly.

bats_require_minimum_version 1.5.0

load helpers

setup() {
	setup_common
	: "${SNAPCHECK:=$TESTS_SRCDIR/../build/tools/snapcheck}"
	need_tool "$SNAPCTL"
	need_tool "$SNAPDUMP"
	need_tool "$SNAPCHECK"
	need_jq
	cd "$T"
}

teardown() {
	local pid
	for pid in "${HOLDERS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	teardown_common
}

# chunk IMG CS N: chunk N of IMG (chunk size CS sectors), as hex.
chunk() {
	hexat "$1" $(($3 * $2 * 512)) $(($2 * 512))
}

# same_metadata A B CS AREAS: the header chunk and areas 0..AREAS-1 of
# A and B are byte-identical.
same_metadata() {
	local a=$1 b=$2 cs=$3 n=$4 epa=$(($3 * 32)) i
	[ "$(chunk "$a" "$cs" 0)" = "$(chunk "$b" "$cs" 0)" ]
	for ((i = 0; i < n; i++)); do
		[ "$(chunk "$a" "$cs" $((1 + i * (epa + 1))))" = \
			"$(chunk "$b" "$cs" $((1 + i * (epa + 1))))" ] || {
			echo "area $i differs" >&2
			return 1
		}
	done
}

# wipe IMG CS AREAS: zero the header chunk and areas 0..AREAS-1.
wipe() {
	local img=$1 cs=$2 n=$3 epa=$(($2 * 32)) i
	dd if=/dev/zero of="$img" bs=$((cs * 512)) count=1 conv=notrunc \
		status=none
	for ((i = 0; i < n; i++)); do
		dd if=/dev/zero of="$img" bs=$((cs * 512)) count=1 \
			seek=$((1 + i * (epa + 1))) conv=notrunc status=none
	done
}

# round_trip IMG CS AREAS: dump IMG, restore onto a wiped copy (all of
# it byte-identical after) and onto a fresh file of its size (header and
# areas identical); both check clean and dump the same again.
round_trip() {
	local img=$1 cs=$2 n=$3 size
	size=$(stat -c %s "$img")
	"$SNAPDUMP" --metadata "$img" >"$T/m.json"
	cp "$img" "$T/wiped.img"
	wipe "$T/wiped.img" "$cs" "$n"
	run -0 "$SNAPCTL" restore --yes --backup "$T/u1.bin" "$T/m.json" \
		"$T/wiped.img"
	cmp "$img" "$T/wiped.img"
	rm -f "$T/fresh.img"
	truncate -s "$size" "$T/fresh.img"
	run -0 "$SNAPCTL" restore --yes --backup "$T/u2.bin" "$T/m.json" \
		"$T/fresh.img"
	same_metadata "$img" "$T/fresh.img" "$cs" "$n"
	run -0 "$SNAPCHECK" -n "$T/wiped.img"
	run -0 "$SNAPCHECK" -n "$T/fresh.img"
	[ "$("$SNAPDUMP" --metadata "$T/fresh.img" | jq -c 'del(.cow)')" = \
		"$(jq -c 'del(.cow)' "$T/m.json")" ]
	[ "$("$SNAPCTL" status "$T/fresh.img")" = "$("$SNAPCTL" status "$img")" ]
	rm -f "$T/u1.bin" "$T/u2.bin"
}

# A small COW: 512-byte chunks (32 records an area), records out of order.
small() {
	mkcow --chunk-size 1 --size 32768 --records 5:2,0:3,9:4 "$T/s.img" \
		>/dev/null
}

@test "snapdump --metadata: the exact document of a small COW" {
	small
	run -0 "$SNAPDUMP" --metadata s.img
	[ "$output" = '{
   "cow": "s.img",
   "header": {
      "magic": 1883336275,
      "magic_hex": "0x70416e53",
      "magic_ok": true,
      "valid": true,
      "version": 1,
      "chunk_size_bytes": 512,
      "chunk_size_sectors": 1,
      "state": "valid"
   },
   "cow_sectors": 64,
   "exceptions_per_area": 32,
   "exception_count": 3,
   "records": [
      {
         "old_chunk": 5,
         "new_chunk": 2
      },{
         "old_chunk": 0,
         "new_chunk": 3
      },{
         "old_chunk": 9,
         "new_chunk": 4
      }
   ]
}' ]
	# --json is what it is anyway.
	[ "$("$SNAPDUMP" --metadata --json s.img)" = "$output" ]
}

@test "snapdump --metadata: an invalid COW's records too; refusals" {
	mkcow --chunk-size 8 --size 65536 --invalid --sequential 3 inv.img \
		>/dev/null
	run -0 "$SNAPDUMP" --metadata inv.img
	[ "$(jq -c '[.header.valid, .header.state, .exception_count,
		.records[2]]' <<<"$output")" = \
		'[false,"invalid",3,{"old_chunk":2,"new_chunk":4}]' ]
	truncate -s 64K new.img
	run -1 --separate-stderr "$SNAPDUMP" --metadata new.img
	[ "$stderr" = "snapdump: new.img: a new COW (magic 0), formatted on activation: it has no metadata to dump" ]
	run -2 --separate-stderr "$SNAPDUMP" --metadata --exceptions inv.img
	[ "${stderr_lines[0]}" = "snapdump: --metadata dumps the whole metadata as one JSON document: no other selector or table option with it" ]
}

@test "round trip: several areas, a full area, a fresh COW, 4 KiB and 512-byte chunks" {
	# 600 records of 4 KiB chunks: areas 0 and 1 full, 88 in area 2.
	mkcow --chunk-size 8 --size $((4 << 20)) --random 600 --seed 3 \
		r.img >/dev/null
	round_trip r.img 8 4
	# Area 0 exactly full: the list ends in area 1, all zeros.
	mkcow --chunk-size 8 --size $((2 << 20)) --sequential 256 full.img \
		>/dev/null
	round_trip full.img 8 2
	mkcow --chunk-size 1 --size $((64 << 10)) --random 70 --seed 4 \
		tiny.img >/dev/null
	round_trip tiny.img 1 4
	truncate -s 1M empty.img
	"$SNAPCTL" create -q empty.img
	round_trip empty.img 8 1
}

@test "round trip: an invalid COW (valid 0) and a COW after merge" {
	mkcow --chunk-size 8 --size $((2 << 20)) --invalid --sequential 300 \
		inv.img >/dev/null
	round_trip inv.img 8 2
	[ "$("$SNAPCTL" status wiped.img)" = Invalid ]
	mkorigin o.img $((1 << 20))
	truncate -s 2M m.img
	"$SNAPCTL" create -q m.img o.img
	"$SNAPCTL" write -q --fill 0x5a --length 300000 o.img m.img 4096
	"$SNAPCTL" merge -q --yes --no-progress o.img m.img
	round_trip m.img 8 1
	[ "$(jq -c .records m.json)" = "[]" ]
}

@test "round trip: the records of snapctl's own writes, export equal" {
	mkorigin o.img $((2 << 20))
	truncate -s 3M c.img
	"$SNAPCTL" create -q --chunk-size 2K c.img o.img
	"$SNAPCTL" write -q --fill 0x11 --length 700000 o.img c.img 100000
	"$SNAPCTL" write -q --snapshot --fill 0x22 --length 9000 o.img c.img 0
	"$SNAPDUMP" --metadata c.img >c.json
	cp c.img w.img
	wipe w.img 4 4
	run -0 "$SNAPCTL" restore -q --yes --backup u.bin c.json w.img
	[ -z "$output" ]
	cmp c.img w.img
	"$SNAPCTL" export -q --no-progress o.img c.img e1.img
	"$SNAPCTL" export -q --no-progress o.img w.img e2.img
	cmp e1.img e2.img
}

# refuse JQ-EDIT MESSAGE: the small COW's dump, edited, is refused onto
# a copy with MESSAGE and exit 1; the copy is unchanged, no undo file.
refuse() {
	local edit=$1 want=$2 before
	[ -e s.img ] || small
	"$SNAPDUMP" --metadata s.img | jq "$edit" >x.json
	cp s.img t.img
	before=$(sha t.img)
	run -1 --separate-stderr "$SNAPCTL" restore --yes --backup u.bin \
		x.json t.img
	[ "$stderr" = "snapctl: $want" ] || {
		echo "got:      $stderr" >&2
		echo "expected: snapctl: $want" >&2
		return 1
	}
	[ "$(sha t.img)" = "$before" ]
	[ ! -e u.bin ]
}

@test "restore refuses records beyond the device, twice one chunk, in metadata" {
	refuse '.records[1].new_chunk = 64' \
		"x.json: record 1 (old_chunk 0, new_chunk 64): SC011 new-past-end: origin chunk 0 -> COW chunk 64 of 64"
	refuse '.records[2].old_chunk = 5' \
		"x.json: record 2 (old_chunk 5, new_chunk 4): SC012 dup-old: origin chunk 5 -> COW chunk 4; the kernel serves COW chunk 2 (area 0 slot 0)"
	refuse '.records[2].new_chunk = 3' \
		"x.json: record 2 (old_chunk 9, new_chunk 3): SC013 shared-new: origin chunks 0 (area 0 slot 1) and 9 -> COW chunk 3"
	refuse '.records[0].new_chunk = 34' \
		"x.json: record 0 (old_chunk 5, new_chunk 34): SC010 new-in-metadata: origin chunk 5 -> COW chunk 34, a metadata area"
	refuse '.records[0].new_chunk = 0' \
		"x.json: record 0 (old_chunk 5, new_chunk 0): new_chunk 0 ends the list: the kernel would not read the records after it"
	# 32 records fill area 0 of a 34-chunk COW: the list would end in
	# area 1, past the device, and the kernel would fail to load it.
	mkcow --chunk-size 1 --size 32768 --sequential 32 e.img >/dev/null
	"$SNAPDUMP" --metadata e.img | jq '.cow_sectors = 34' >e.json
	truncate -s 17408 e2.img
	run -1 --separate-stderr "$SNAPCTL" restore --yes e.json e2.img
	[ "$stderr" = "snapctl: e.json: record 31 (old_chunk 31, new_chunk 33): SC017 end-past-device: area 1 would start at chunk 34 of 34" ]
	cmp e2.img <(head -c 17408 /dev/zero)
}

@test "restore refuses a bad chunk size, header, size or count" {
	refuse '.header.chunk_size_sectors = 3' \
		"x.json: header: chunk size 3 sectors: chunk size is not a power of two (t.img: 512-byte logical blocks)"
	refuse '.header.chunk_size_sectors = 0' \
		"x.json: header: chunk size 0 sectors: chunk size is zero (t.img: 512-byte logical blocks)"
	refuse '.header.chunk_size_sectors = 64' \
		"x.json: t.img: 32768 bytes cannot hold a header, a metadata area and a data chunk of 32768 bytes"
	refuse '.header.magic = 1' \
		"x.json: header: magic 0x00000001 is not a snapshot COW's (0x70416e53)"
	refuse '.header.version = 2' \
		"x.json: header: version 2 is not supported (only 1)"
	refuse '.cow_sectors = 65' \
		"x.json: cow_sectors: the dump is of a COW of 65 sectors; t.img has 64: restore needs at least as many"
	refuse '.exception_count = 4' \
		"x.json: exception_count: 4, but records holds 3"
}

@test "restore refuses malformed JSON and wrong types, naming the key" {
	refuse '.records[1].old_chunk = "7"' \
		"x.json: record 1: old_chunk: must be an integer, not a string"
	refuse '.records[1].new_chunk = -3' \
		"x.json: record 1: new_chunk: must not be negative, not -3"
	refuse '.records[2] = [9, 4]' \
		"x.json: record 2: must be an object, not an array"
	refuse '.header.valid = 1' \
		"x.json: header.valid: must be a boolean, not an integer"
	refuse '.header.chunk_size_sectors = 4294967296' \
		"x.json: header.chunk_size_sectors: 4294967296 is out of range (at most 4294967295)"
	refuse 'del(.records)' "x.json: records: missing"
	refuse '.records = {}' "x.json: records: must be an array, not an object"
	cp s.img t.img
	printf '{"header": {"magic": 1883336275,' >x.json
	run -1 --separate-stderr "$SNAPCTL" restore --yes x.json t.img
	[ "$stderr" = "snapctl: x.json: not JSON: the document ends early (byte 32)" ]
	printf '{"header": }' >x.json
	run -1 --separate-stderr "$SNAPCTL" restore --yes x.json t.img
	[ "$stderr" = "snapctl: x.json: not JSON: unexpected character at byte 11" ]
	printf '[1]' >x.json
	run -1 --separate-stderr "$SNAPCTL" restore --yes x.json t.img
	[ "$stderr" = "snapctl: x.json: not a 'snapdump --metadata' document: an array, not an object" ]
	"$SNAPDUMP" --metadata s.img >x.json
	echo '{}' >>x.json
	run -1 --separate-stderr "$SNAPCTL" restore --yes x.json t.img
	[[ "$stderr" = "snapctl: x.json: not JSON: data after the document at byte "* ]]
	cmp s.img t.img
}

@test "restore without --yes checks and writes nothing; a held COW is refused" {
	small
	"$SNAPDUMP" --metadata s.img >m.json
	truncate -s 32K t.img
	run -1 --separate-stderr "$SNAPCTL" restore m.json t.img
	[ "$stderr" = "snapctl: t.img: m.json is a sound dump of 3 records for it; refusing to overwrite its metadata without --yes" ]
	cmp t.img /dev/zero 2>&1 | grep -q EOF
	[ -z "$(ls snapctl-restore-undo-* 2>/dev/null)" ]
	need_cmd flock
	(exec 9<t.img && flock -x 9 && exec sleep 600) 3>&- &
	HOLDERS=($!)
	while flock -n t.img true 2>/dev/null; do sleep 0.05; done
	run -1 --separate-stderr "$SNAPCTL" restore --yes m.json t.img
	[[ "$stderr" == "snapctl: t.img: cannot open for writing: "* ]]
	cmp t.img /dev/zero 2>&1 | grep -q EOF
}

@test "restore writes the undo file first (default name); snapcheck --undo puts the bytes back" {
	mkcow --chunk-size 8 --size $((2 << 20)) --random 300 --seed 7 a.img \
		>/dev/null
	mkcow --chunk-size 8 --size $((2 << 20)) --random 40 --seed 8 b.img \
		>/dev/null
	before=$(sha b.img)
	"$SNAPDUMP" --metadata a.img >a.json
	run -0 "$SNAPCTL" restore --yes a.json b.img
	[[ "$output" =~ ^b.img:\ restored\ 300\ records\ \(valid,\ 8-sector\ chunks\)\ from\ a.json:\ 2\ metadata\ chunks\ written\;\ undo\ file:\ (snapctl-restore-undo-b.img-[0-9T]+.bin)$ ]]
	undo=${BASH_REMATCH[1]}
	[ -s "$undo" ]
	run -0 "$SNAPCTL" restore --yes --backup u.bin a.json b.img
	[ "$output" = "b.img: already holds the metadata of a.json: nothing written" ]
	[ "$("$SNAPDUMP" --metadata b.img | jq -c 'del(.cow)')" = \
		"$(jq -c 'del(.cow)' a.json)" ]
	run -0 "$SNAPCHECK" --undo "$undo" b.img
	[ "$output" = "b.img: restored 2 chunks from $undo" ]
	[ "$(sha b.img)" = "$before" ]
	# An undo file is never written over.
	run -1 --separate-stderr "$SNAPCTL" restore --yes --backup "$undo" \
		a.json b.img
	[[ "$stderr" == "snapctl: b.img: restore failed: $undo: exists and holds "*" bytes: an undo file is only written to a new or empty file, never over another" ]]
	[ "$(sha b.img)" = "$before" ]
}

@test "restore stopped after each write: the header goes last, the undo file puts the bytes back" {
	local n
	mkcow --chunk-size 8 --size $((2 << 20)) --random 300 --seed 7 a.img \
		>/dev/null
	# Invalid: its header changes too, the last of three writes.
	mkcow --chunk-size 8 --size $((2 << 20)) --invalid --random 40 \
		--seed 8 b.img >/dev/null
	"$SNAPDUMP" --metadata a.img >a.json
	for n in 0 1 2; do
		cp b.img c.img
		run -1 --separate-stderr env SNAPCOW_FAULT_INJECT=crash:$n \
			"$SNAPCTL" restore --yes --backup u$n.bin a.json c.img
		[[ "${stderr_lines[0]}" == "snapctl: c.img: restore failed: write $((n + 1)) at offset "*" failed (injected crash)" ]]
		[ "${stderr_lines[1]}" = "snapctl: c.img: what was written is saved in u$n.bin: 'snapcheck --undo u$n.bin c.img' puts it back" ]
		[ "$(chunk c.img 8 0)" = "$(chunk b.img 8 0)" ]
		run -0 "$SNAPCHECK" --undo u$n.bin c.img
		cmp b.img c.img
	done
	cp b.img c.img
	run -0 "$SNAPCTL" restore --yes --backup u.bin a.json c.img
	[[ "$output" == *": 3 metadata chunks written; undo file: u.bin" ]]
	cmp <(head -c 4096 c.img) <(head -c 4096 a.img)
}

@test "restore of a 100k-record dump" {
	mkcow --chunk-size 8 --size $((420 << 20)) --sequential 100000 \
		big.img >/dev/null
	"$SNAPDUMP" --metadata big.img >big.json
	[ "$(jq '.records | length' big.json)" = 100000 ]
	truncate -s 420M fresh.img
	run -0 "$SNAPCTL" restore --yes --backup u.bin big.json fresh.img
	[[ "$output" == *"restored 100000 records"*": 392 metadata chunks written;"* ]]
	[ "$("$SNAPCTL" status fresh.img)" = "$("$SNAPCTL" status big.img)" ]
	same_metadata big.img fresh.img 8 391
}
