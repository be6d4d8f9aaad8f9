#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The text reports, pinned byte for byte as util-linux and e2fsprogs pin
# theirs: tests/expected/ holds what snapctl status, snapcheck and
# snapdump print for the golden images (tests/golden/images), and, for
# every named damage of tests/damage/mkdamage.py, e2fsck's two passes:
# the report of `snapcheck -y`, then of the `snapcheck -n` that follows.
# Each file is standard output, then standard error, then the exit
# status.  After a deliberate change of a report, regenerate them with
#	SNAPCOW_UPDATE_EXPECTED=1 bats tests/expected.bats
# and read the diff before committing it.

load helpers

: "${SNAPCHECK:=$TESTS_SRCDIR/../build/tools/snapcheck}"
EXPECTED=$TESTS_SRCDIR/expected

setup() {
	setup_common
	need_tool "$SNAPCTL"
	need_tool "$SNAPDUMP"
	need_tool "$SNAPCHECK"
	failed=0
}

# report FILE CMD...: run CMD in $T (relative names: no temporary paths
# in a report) and compare its report with expected/FILE.
report() {
	local want=$EXPECTED/$1 rc=0
	shift
	(cd "$T" && "$@" >"$T/.out" 2>"$T/.err") || rc=$?
	cat "$T/.out" "$T/.err" >"$T/.got"
	echo "Exit status is $rc" >>"$T/.got"
	if [ -n "${SNAPCOW_UPDATE_EXPECTED:-}" ]; then
		mkdir -p "$(dirname "$want")"
		cp "$T/.got" "$want"
	elif ! diff -u "$want" "$T/.got" >&2; then
		failed=$((failed + 1))
	fi
}

@test "expected: snapctl status, snapcheck and snapdump on the golden images" {
	local name args
	while read -r name args; do
		[[ -z $name || $name == \#* ]] && continue
		# shellcheck disable=SC2086 # the arguments, word by word
		mkcow $args "$T/$name.img" >/dev/null || true
		report "golden/$name.status" "$SNAPCTL" status "$name.img"
		report "golden/$name.check" "$SNAPCHECK" -n "$name.img"
		report "golden/$name.dump" "$SNAPDUMP" "$name.img"
	done <"$TESTS_SRCDIR/golden/images"
	[ "$failed" -eq 0 ]
}

@test "expected: snapcheck -y, then -n, on every named damage" {
	local name codes rc extra
	python3 "$TESTS_SRCDIR/damage/mkdamage.py" "$T/corpus" --random 0
	mv "$T/corpus/origin.img" "$T/origin.img"
	while IFS=$'\t' read -r name codes rc extra; do
		cp "$T/corpus/$name.img" "$T/$name.img"
		extra=${extra//@ORIGIN@/origin.img}
		# shellcheck disable=SC2086 # no extra argument, or one
		report "repair/$name.y" "$SNAPCHECK" -y --backup "$name.undo" \
			$extra "$name.img"
		# shellcheck disable=SC2086
		report "repair/$name.n" "$SNAPCHECK" -n $extra "$name.img"
	done <"$T/corpus/MANIFEST"
	[ "$failed" -eq 0 ]
}

@test "expected: no expected file is left over" {
	local files
	[ -n "${SNAPCOW_UPDATE_EXPECTED:-}" ] && skip "regenerating"
	python3 "$TESTS_SRCDIR/damage/mkdamage.py" "$T/c" --random 0
	files=$(find "$EXPECTED" -type f | wc -l)
	# 3 reports per golden image, 2 per named damage
	[ "$files" -eq $((3 * $(grep -c '^[a-z]' "$TESTS_SRCDIR/golden/images") +
		2 * $(wc -l <"$T/c/MANIFEST"))) ]
}
