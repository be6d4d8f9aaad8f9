#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Errors people can act on and output that cannot mislead (issue 9):
# paths of the wrong type, a snapshot write that invalidates, snapcheck's
# messages, units and plurals, a terminal on stdin, help and manual pages
# that agree, and JSON and IMA output whatever bytes a file name holds.

load helpers

setup() {
	setup_common
	need_tool "$SNAPCTL"
	need_tool "$SNAPDUMP"
	need_tool "$SNAPCHECK"
	MAN="$TESTS_SRCDIR/../man"
	NEEDED="snapcow needs a regular file or a block device"
}

# A 1 MiB COW with exceptions 0 -> 2 and 1 -> 3 of a 64 KiB origin.
pair() {
	mkorigin "$1" 65536
	truncate -s 1M "$2"
	"$SNAPCTL" create -q "$2" "$1"
	"$SNAPCTL" write --fill 1 --length 8K "$1" "$2" 0
}

# ------------------------------------------------------------ path types

@test "a directory, /dev/null, /dev/zero and a FIFO: what they are" {
	mkdir "$T/dir"
	mkfifo "$T/fifo"
	pair "$T/o" "$T/c"
	run_status 1 "$SNAPCTL" status "$T/dir"
	[ "$output" = "snapctl: $T/dir: is a directory; $NEEDED" ]
	run_status 1 "$SNAPCTL" status /dev/null
	[ "$output" = "snapctl: /dev/null: is a character device (1:3); $NEEDED" ]
	run_status 1 "$SNAPCTL" write --fill 1 --length 1 "$T/o" /dev/zero 0
	[ "$output" = "snapctl: /dev/zero: is a character device (1:5); $NEEDED" ]
	run_status 1 "$SNAPCTL" export "$T/o" "$T/c" "$T/dir"
	[ "$output" = "snapctl: $T/dir: is a directory; $NEEDED" ]
	# A FIFO is refused before open(), which would wait for a writer.
	run_status 1 timeout 10 "$SNAPDUMP" "$T/fifo"
	[ "$output" = "snapdump: $T/fifo: is a FIFO; $NEEDED" ]
	run_status 8 "$SNAPCHECK" -n "$T/dir"
	[ "$output" = "snapcheck: $T/dir: is a directory; $NEEDED" ]
	run_status 8 "$SNAPCHECK" -y /dev/null
	[ "$output" = "snapcheck: /dev/null: is a character device (1:3); $NEEDED" ]
}

# --------------------------------------------------- a snapshot write fills

@test "a snapshot write that fills the COW says it invalidated it" {
	mkorigin "$T/o" 65536
	truncate -s 16K "$T/c"
	"$SNAPCTL" create -q "$T/c" "$T/o"
	run_status 1 "$SNAPCTL" write --snapshot --fill 1 --length 16K \
		"$T/o" "$T/c" 0
	[ "$output" = "snapctl: $T/c: snapshot write of 16384 bytes at offset 0 failed: COW is full: snapshot invalidated" ]
	[ "$("$SNAPCTL" status "$T/c")" = Invalid ]
}

# -------------------------------------------------------------- snapcheck

@test "snapcheck: no stray number after a message, units on chunk sizes" {
	python3 - "$T/g" <<'EOF'
import struct, sys
b = bytearray(1 << 20)
b[0:16] = struct.pack('<IIII', 0xdeadbeef, 1, 1, 8)
open(sys.argv[1], 'wb').write(b)
EOF
	run_status 4 "$SNAPCHECK" -n "$T/g"
	[ "${lines[0]}" = "$T/g: SC001 header-magic: error: header magic is not a snapshot COW's: offset 0: magic 0xdeadbeef; no chunk size fits the areas" ]
	pair "$T/o" "$T/c"
	printf '\x03' | dd of="$T/c" bs=1 seek=12 conv=notrunc status=none
	run_status 4 "$SNAPCHECK" -n "$T/c"
	[ "$output" = "$T/c: SC003 header-chunk-size: error: header chunk size is one the kernel refuses, or not the one the areas were written with: offset 12: chunk size 3 sectors: chunk size is not a power of two; areas fit a chunk size of 8 sectors (4096 bytes) [-y would rewrite the header with the chunk size inferred from the areas]
$T/c: valid, chunk size 8 sectors (inferred), 2 exceptions in 1 area, next free chunk 4, 32/2048 sectors allocated, 16 metadata, 0 leaked chunks
$T/c: 1 error, 0 warnings, 1 fixable" ]
}

@test "snapcheck -y: a repair whose undo file fails says 'not fixed'" {
	pair "$T/o" "$T/c"
	printf '\x03' | dd of="$T/c" bs=1 seek=12 conv=notrunc status=none
	sum=$(sha "$T/c")
	status=0
	"$SNAPCHECK" -y --backup "$T/none/undo" "$T/c" >"$T/out" 2>"$T/err" ||
		status=$?
	[ "$status" -eq 8 ]
	output=$(cat "$T/out")
	[ "$(head -n 1 "$T/out")" = "$T/c: SC003 header-chunk-size: error: header chunk size is one the kernel refuses, or not the one the areas were written with: offset 12: chunk size 3 sectors: chunk size is not a power of two; areas fit a chunk size of 8 sectors (4096 bytes) [not fixed: rewrite the header with the chunk size inferred from the areas]" ]
	[ "$(cat "$T/err")" = "snapcheck: $T/c: repair failed: $T/none/undo: cannot create the undo file: No such file or directory" ]
	[[ "$output" != *fixing* ]]
	[ "$(sha "$T/c")" = "$sum" ]
	run_status 1 "$SNAPCHECK" -y --backup "$T/undo" "$T/c"
	[[ "${lines[0]}" == *" [fixed: rewrite the header with the chunk size inferred from the areas]" ]]
	[ "${lines[3]}" = "$T/c: repaired: 1 metadata chunk written" ]
}

# ------------------------------------------------------ units and plurals

@test "the header's chunk size wins: a warning in sectors and bytes" {
	pair "$T/o" "$T/c"
	run_status 0 "$SNAPCTL" status --chunk-size 16K "$T/c"
	[ "$output" = "snapctl: warning: $T/c: chunk size 8 sectors (4096 bytes) in the COW header overrides the given 32 sectors (16384 bytes)
32/2048 16" ]
}

@test "plurals: one exception, one byte" {
	mkorigin "$T/o" 65536
	truncate -s 12K "$T/c"
	run_status 0 "$SNAPCTL" create "$T/c" "$T/o"
	[ "$output" = "$T/c: formatted: 12.0 KiB, chunk size 4096 bytes (8 sectors), 256 exceptions per area, room for 1 exception" ]
	run_status 1 "$SNAPCTL" write --fill 1 --length 1 "$T/o" "$T/c" 64K
	[ "$output" = "snapctl: $T/o: writing 1 byte at offset 65536 would end past the origin's end (65536 bytes)" ]
	printf x >"$T/in"
	run_status 1 "$SNAPCTL" write --input "$T/in" --length 2 "$T/o" "$T/c" 0
	[ "$output" = "snapctl: $T/in: holds 1 byte, --length asks for 2" ]
}

# ------------------------------------------------------- terminal on stdin

@test "snapctl write refuses a terminal on standard input" {
	pair "$T/o" "$T/c"
	sum=$(sha "$T/c")
	run python3 - "$SNAPCTL" "$T/o" "$T/c" <<'EOF'
import pty, subprocess, sys
master, slave = pty.openpty()
p = subprocess.run([sys.argv[1], "write", sys.argv[2], sys.argv[3], "0"],
                   stdin=slave, capture_output=True, timeout=20)
sys.stdout.write(p.stdout.decode() + p.stderr.decode())
sys.exit(p.returncode)
EOF
	[ "$status" -eq 2 ]
	[ "$output" = "snapctl: standard input is a terminal: the data is read from standard input; redirect it, or give --input FILE or --fill BYTE
Try 'snapctl write --help' for more information." ]
	[ "$(sha "$T/c")" = "$sum" ]
}

# ------------------------------------------------------- help, man, README

@test "help: the size footer exactly where a size is taken" {
	footer="Sizes take the suffixes K, M, G, T, P, E in either case (powers of 1024,
optionally followed by iB) or s (512-byte sectors): 4096, 4K, 4k, 4KiB
and 8s are one size."
	for cmd in "$SNAPCTL create" "$SNAPCTL status" "$SNAPCTL write" \
		"$SNAPCTL export" "$SNAPCTL merge" "$SNAPCTL activate" \
		"$SNAPCTL snapshot" "$SNAPDUMP"; do
		out=$($cmd --help)
		[ "${out: -${#footer}}" = "$footer" ] ||
			{ echo "no footer: $cmd" >&2; return 1; }
	done
	for cmd in "$SNAPCTL deactivate" "$SNAPCTL remove" "$SNAPCHECK"; do
		out=$($cmd --help)
		[[ "$out" != *"Sizes take"* ]] ||
			{ echo "footer: $cmd" >&2; return 1; }
	done
	"$SNAPCTL" merge --help | grep -q -- '--keep=COW2 '
	# Every suffix the footer names parses, in either case.
	mkorigin "$T/o" 65536
	for size in 4k 4K 4KiB 4kiB 8s 8S 4096; do
		truncate -s 1M "$T/c$size"
		"$SNAPCTL" create -q --chunk-size "$size" "$T/c$size"
		[ "$("$SNAPCTL" status "$T/c$size")" = "16/2048 16" ]
	done
	for size in 1m 1g 1t 1p 1e; do
		run_status 1 "$SNAPCTL" write --fill 1 --length 1 "$T/o" \
			"$T/c4k" "$size"
		[[ "$output" == *"is past the origin's end"* ]]
	done
}

@test "one name for one option: -c is --chunk-size in every tool" {
	for cmd in "$SNAPCTL create" "$SNAPCTL status" "$SNAPCTL write" \
		"$SNAPCTL export" "$SNAPCTL activate" "$SNAPCTL snapshot" \
		"$SNAPDUMP"; do
		$cmd --help | grep -q -- '-c, --chunk-size=SIZE' ||
			{ echo "$cmd" >&2; return 1; }
	done
	! "$SNAPDUMP" --help | grep -q -- '--chunk=' || false
	! grep -q -- '\\-\\-chunk \|\\-\\-changed' "$MAN"/*.8 || false
}

@test "manual pages: one full date, the sizes, a readable status paragraph" {
	dates=$(sed -n 's/^\.TH [A-Z]* 8 "\([^"]*\)".*/\1/p' "$MAN"/*.8 | sort -u)
	[ "$(wc -l <<<"$dates")" -eq 1 ]
	[[ "$dates" =~ ^(January|February|March|April|May|June|July|August|September|October|November|December)\ 20[0-9][0-9]$ ]]
	grep -q '^in either case (powers of 1024, optionally followed by$' \
		"$MAN/snapctl.8"
	grep -q '^in either case (powers of 1024, optionally followed by$' \
		"$MAN/snapdump.8"
	grep -q '^is the size of$' "$MAN/snapctl.8"
	grep -q '^is the current area.s number plus 2, times the chunk size\.$' \
		"$MAN/snapctl.8"
}

@test "README: every relative link stays in the repository and exists" {
	readme="$TESTS_SRCDIR/../README.md"
	! grep -q '\.\./' "$readme" || false
	grep -o '`[a-z][a-z/._-]*\.\(md\|h\)`' "$readme" | tr -d '`' |
		while read -r f; do
			[ -e "$TESTS_SRCDIR/../$f" ] ||
				{ echo "missing: $f" >&2; return 1; }
		done
}

# ---------------------------------------------------- JSON and IMA names

# Read stdin as strict UTF-8 and parse it as JSON: a malformed byte or
# document fails.
valid_json() {
	python3 -c 'import json, sys
json.loads(sys.stdin.buffer.read().decode("utf-8", "strict"))'
}

hex_of() {
	printf %s "$1" | od -An -tx1 -v | tr -d ' \n'
}

@test "every --json document is valid UTF-8 for any file name" {
	need_jq
	bad=$'x,y;z=w\\ \xe9\xff'
	o="$T/o$bad" c="$T/c$bad" s2="$T/s$bad" b="$T/b$bad"
	pair "$o" "$c"
	truncate -s 1M "$s2"
	"$SNAPCTL" create -q "$s2" "$o"
	# More than a few chunks: a backup for 1 to 4 chunks is another bug.
	"$SNAPCTL" write --fill 2 --length 64K "$o" "$c" 0
	# json-c would print the raw bytes: check the fix, not the parser.
	run_status 0 "$SNAPCTL" status --json --origin "$o" "$c"
	valid_json <<<"$output"
	[ "$(jq -r .cow_hex <<<"$output")" = "$(hex_of "$c")" ]
	[ "$(jq -r .origin_hex <<<"$output")" = "$(hex_of "$o")" ]
	[ "$(jq -r .cow <<<"$output")" = "$T/c"$'x,y;z=w\\ \xef\xbf\xbd\xef\xbf\xbd' ]
	run_status 0 "$SNAPDUMP" --json "$c"
	valid_json <<<"$output"
	[ "$(jq -r .status_report.cow_hex <<<"$output")" = "$(hex_of "$c")" ]
	run_status 0 "$SNAPDUMP" --json --origin "$o" --diff "$c"
	valid_json <<<"$output"
	run_status 0 "$SNAPCHECK" --json -n "$c"
	valid_json <<<"$output"
	[ "$(jq -r .cow_hex <<<"$output")" = "$(hex_of "$c")" ]
	run_status 0 "$SNAPCTL" merge --json --no-progress --backup "$b" \
		--keep "$s2" "$o" "$c"
	valid_json <<<"$output"
	json_eq "$(jq '{origin_hex, cow_hex, backup_hex, other_snapshots,
		other_snapshots_hex}' <<<"$output")" "{
		\"origin_hex\": \"$(hex_of "$o")\",
		\"cow_hex\": \"$(hex_of "$c")\",
		\"backup_hex\": \"$(hex_of "$b")\",
		\"other_snapshots\": [\"$T/sx,y;z=w\\\\ \uFFFD\uFFFD\"],
		\"other_snapshots_hex\": [\"$(hex_of "$s2")\"]}"
}

@test "JSON: the manual pages' example of a name that is not UTF-8" {
	need_jq
	cd "$T"
	mkorigin o 65536
	truncate -s 1M "caf"$'\xe9'".img"
	"$SNAPCTL" create -q "caf"$'\xe9'".img" o
	for page in snapctl snapdump; do
		grep -qF '"cow": "caf\[uFFFD].img",' "$MAN/$page.8"
		grep -qF '"cow_hex": "636166e92e696d67"' "$MAN/$page.8"
	done
	run_status 0 "$SNAPCTL" status --json "caf"$'\xe9'".img"
	[ "$(jq -c '{cow, cow_hex}' <<<"$output")" = \
		'{"cow":"caf'$'\xef\xbf\xbd''.img","cow_hex":"636166e92e696d67"}' ]
}

@test "IMA: a file name cannot forge or split a field" {
	bad=$'a,snap_valid=n;b\\ \xe9'
	pair "$T/o" "$T/$bad"
	run_status 0 "$SNAPCTL" status --ima --origin "$T/o" "$T/$bad"
	[ "$output" = "target_name=snapshot,target_version=1.16.0,snap_origin_name=$T/o,snap_cow_name=$T/a\\x2csnap_valid\\x3dn\\x3bb\\x5c\\x20\\xe9,snap_valid=y,snap_merge_failed=n,snapshot_overflowed=n;" ]
	# Seven fields, one '=' each, one ';' at the end.
	[ "$(tr -cd ',' <<<"$output" | wc -c)" -eq 6 ]
	[ "$(tr -cd '=' <<<"$output" | wc -c)" -eq 7 ]
	[ "$(tr -cd ';' <<<"$output" | wc -c)" -eq 1 ]
	grep -qF 'is written as' "$MAN/snapctl.8"
	grep -qF '.BR a\ex2cb\ex3dc .' "$MAN/snapctl.8"
}
