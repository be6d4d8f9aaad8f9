# SPDX-License-Identifier: GPL-2.0-or-later
# Common setup for the tool suites: a scratch directory per test, the
# tools under test, hashes to prove a refused command wrote nothing, and
# mkcow, the independent COW image writer in golden/mkcow.py.

: "${TESTS_SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
: "${SNAPCTL:=$TESTS_SRCDIR/../build/tools/snapctl}"
: "${SNAPDUMP:=$TESTS_SRCDIR/../build/tools/snapdump}"
MKCOW_PY="$TESTS_SRCDIR/golden/mkcow.py"

setup_common() {
	T="$(mktemp -d "${BATS_TMPDIR:-/tmp}/snapcow.XXXXXX")"
	export T
	# A leak report must not change a tool's exit status mid-test.
	export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
}

teardown_common() {
	[ -n "${T:-}" ] && rm -rf "$T"
}

setup() { setup_common; }
teardown() { teardown_common; }

need_tool() {
	[ -x "$1" ] || skip "$(basename "$1") is not built"
}

need_cmd() {
	command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"
}

need_jq() {
	command -v jq >/dev/null 2>&1 ||
		skip "jq is not installed (apt-get install jq)"
}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# A file of $2 bytes filled with byte $3 (hex, default 00).
mkfile() {
	local path=$1 size=$2 byte=${3:-00}

	if [ "$byte" = 00 ]; then
		truncate -s "$size" "$path"
	else
		head -c "$size" /dev/zero | tr '\0' "\\$(printf %03o "0x$byte")" \
			>"$path"
	fi
}

# An origin whose every byte tells where it is: 16-byte lines
# "o" + 15-digit offset, so any chunk is recognisable in a dump.
mkorigin() {
	local path=$1 size=$2

	python3 - "$path" "$size" <<'EOF'
import sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.write(b"".join(b"o%015d" % off for off in range(0, size, 16))[:size])
EOF
}

# The bytes of $1 from $2 for $3 bytes, as hex.
hexat() {
	od -An -tx1 -v -j "$2" -N "$3" "$1" | tr -d ' \n'
}

mkcow() {
	python3 "$MKCOW_PY" "$@"
}

# Compare two JSON documents with keys sorted; show both when they differ.
json_eq() {
	local a b
	a=$(jq -S . <<<"$1") || return 1
	b=$(jq -S . <<<"$2") || return 1
	if [ "$a" != "$b" ]; then
		diff <(echo "$a") <(echo "$b") >&2
		return 1
	fi
}

# bats' run, then insist on the exit status.
run_status() {
	local want=$1
	shift
	run "$@"
	if [ "$status" -ne "$want" ]; then
		echo "exit status $status, expected $want: $*" >&2
		echo "$output" >&2
		return 1
	fi
}
