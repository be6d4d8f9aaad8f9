#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The JSON reports against their schemas (schemas/*.json): the schemas and
# snapcow-reports(7) are what scripts/gen-reports makes of the field table
# (lib/fields.c), every document the tools print on the golden images, on
# fresh COWs and on the damage corpus validates against its kind's schema
# (python3-jsonschema), and a key has one type in every document.

bats_require_minimum_version 1.5.0

load helpers

TOP="$TESTS_SRCDIR/.."
FIELDS_BIN="${TESTS_BUILDDIR:-$TESTS_SRCDIR/../build/tests}/unit/test-fields"

setup() {
	setup_common
	need_tool "$SNAPCTL"
	need_tool "$SNAPDUMP"
	need_tool "$SNAPCHECK"
	python3 -c 'import jsonschema' 2>/dev/null ||
		skip "python3-jsonschema is not installed (scripts/deps)"
	D=$T/docs
	mkdir -p "$D"
}

teardown() { teardown_common; }

# doc KIND NAME CMD...: save CMD's stdout as document NAME of KIND.
doc() {
	local kind=$1 name=$2
	shift 2
	"$@" >"$D/$kind.$name.json" || [ $? -lt 8 ] || {
		echo "failed: $*" >&2
		return 1
	}
}

# Validate every saved document against schemas/KIND.json; then insist
# that a key has one JSON type wherever it appears (null aside).
validate_docs() {
	python3 - "$TOP/schemas" "$D" <<'PY'
import glob, json, os, sys
from jsonschema import Draft202012Validator

schemas, docs = sys.argv[1], sys.argv[2]
types, bad, n = {}, 0, 0

def walk(v, where):
    if isinstance(v, dict):
        for k, x in v.items():
            if not k.endswith("_hex") and x is not None:
                t = type(x).__name__
                t = "int" if t == "float" and k != "percent_used" and \
                    k != "elapsed_seconds" else t
                types.setdefault(k, {}).setdefault(t, where)
            walk(x, where)
    elif isinstance(v, list):
        for x in v:
            walk(x, where)

for path in sorted(glob.glob(os.path.join(docs, "*.json"))):
    kind = os.path.basename(path).split(".")[0]
    with open(os.path.join(schemas, kind + ".json")) as f:
        schema = json.load(f)
    with open(path, "rb") as f:
        doc = json.loads(f.read().decode("utf-8", "strict"))
    n += 1
    for e in Draft202012Validator(schema).iter_errors(doc):
        print("%s: %s at %s" % (path, e.message, list(e.path)))
        bad = 1
    walk(doc, os.path.basename(path))
for k, ts in sorted(types.items()):
    if len(ts) > 1:
        print("key %s has types %s" % (k, ts))
        bad = 1
print("%d documents" % n)
sys.exit(bad)
PY
}

# validate_n N: the N documents saved all validate.
validate_n() {
	run validate_docs
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$1 documents" ]
}

@test "schemas and snapcow-reports(7) are generated from the field table" {
	[ -x "$FIELDS_BIN" ] || skip "unit/test-fields is not built"
	"$FIELDS_BIN" --dump >"$T/fields.tsv"
	[ "$(wc -l <"$T/fields.tsv")" -gt 50 ]
	run python3 "$TOP/scripts/gen-reports" --check "$T/fields.tsv" "$TOP"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "every schema is a valid draft 2020-12 schema" {
	local s
	for s in status create merge check dump list metadata; do
		python3 -c 'import json, sys
from jsonschema import Draft202012Validator
Draft202012Validator.check_schema(json.load(open(sys.argv[1])))' \
			"$TOP/schemas/$s.json"
	done
}

@test "a schema refuses an old key and a wrong type" {
	need_jq
	truncate -s 1M "$T/c"
	"$SNAPCTL" create -q "$T/c"
	"$SNAPCHECK" -n --json "$T/c" |
		jq '.summary.errors = .summary.error_count |
		    del(.summary.error_count)' >"$D/check.renamed.json"
	run ! validate_docs
	echo "$output"
	[[ "$output" == *"'error_count' is a required property"* ]]
	[[ "$output" == *"'errors' does not match any of the regexes"* ]]
	rm "$D/check.renamed.json"
	truncate -s 1M "$T/c2"
	"$SNAPCTL" create --json "$T/c2" | jq '.valid = 1' >"$D/create.x.json"
	run ! validate_docs
	echo "$output"
	[[ "$output" == *"create.x.json: 1 is not of type 'boolean', 'null'"* ]]
	rm "$D/create.x.json"
	"$SNAPCTL" status --json "$T/c" | jq '.valid = 1' >"$D/status.x.json"
	run ! validate_docs
	[[ "$output" == *"is not valid under any of the given schemas"* ]]
}

@test "golden images: status, dump and check documents validate" {
	need_jq
	local name args
	while read -r name args; do
		mkcow $args "$T/$name.img" >/dev/null
		doc status "$name" "$SNAPCTL" status --json "$T/$name.img"
		doc dump "$name" "$SNAPDUMP" --json "$T/$name.img"
		doc dump "$name-all" "$SNAPDUMP" --json --all-slots "$T/$name.img"
		doc check "$name" "$SNAPCHECK" -n --json "$T/$name.img"
		[ "$name" = new ] ||
			doc metadata "$name" "$SNAPDUMP" --metadata "$T/$name.img"
	done <<-EOF
	r4k --chunk-size 8 --size 4194304 --random 100 --seed 1
	full --chunk-size 8 --size 2097152 --sequential 256
	inv --chunk-size 8 --size 1048576 --sequential 10 --invalid
	new --chunk-size 8 --size 1048576 --new
	EOF
	mkcow --chunk-size 8 --size 65536 --magic deadbeef "$T/bad.img" \
		>/dev/null || true
	doc dump bad "$SNAPDUMP" --json --header "$T/bad.img"
	doc check bad "$SNAPCHECK" -n --json "$T/bad.img"
	[ "$(jq -r .status_report "$D/dump.bad.json")" = null ]
	[ "$(jq -r .header.state "$D/dump.bad.json")" = unknown ]
	[ "$(jq -r .summary.state "$D/check.bad.json")" = unknown ]
	validate_n 21
}

@test "metadata: a dump validates; a record with another key or type does not" {
	need_jq
	mkcow --chunk-size 8 --size 1048576 --random 20 --seed 2 "$T/c.img" \
		>/dev/null
	doc metadata c "$SNAPDUMP" --metadata "$T/c.img"
	validate_n 1
	jq '.records[0].old = 1' "$D/metadata.c.json" >"$D/metadata.x.json"
	run ! validate_docs
	[[ "$output" == *"'old' does not match any of the regexes"* ]]
	jq '.records[0].new_chunk = "2"' "$D/metadata.c.json" \
		>"$D/metadata.x.json"
	run ! validate_docs
	[[ "$output" == *"'2' is not of type 'integer', 'null'"* ]]
}

@test "fresh COWs: create, status with an origin, diff, merge" {
	need_jq
	mkorigin "$T/o" $((256 * 1024))
	truncate -s 2M "$T/c" "$T/c2"
	doc create fresh "$SNAPCTL" create --json "$T/c" "$T/o"
	doc create bare "$SNAPCTL" create --json --chunk-size 512 "$T/c2"
	[ "$(jq -c .devices "$D/create.fresh.json")" = "[]" ]
	[ "$(jq -r .origin "$D/create.fresh.json")" = "$T/o" ]
	"$SNAPCTL" write --fill 0x5a --length 20000 "$T/o" "$T/c" 1000
	"$SNAPCTL" write --snapshot --fill 0x33 --length 5000 "$T/o" "$T/c" \
		100000
	doc status origin "$SNAPCTL" status --json --origin "$T/o" "$T/c"
	doc dump diff "$SNAPDUMP" --json --origin "$T/o" --diff "$T/c"
	doc dump sections "$SNAPDUMP" --json "$T/c"
	doc check written "$SNAPCHECK" -n --json --origin "$T/o" "$T/c"
	doc merge m "$SNAPCTL" merge --json --no-progress --backup "$T/b" \
		--keep "$T/c2" "$T/o" "$T/c"
	doc merge empty "$SNAPCTL" merge --json --no-progress "$T/o" "$T/c"
	[ "$(jq -r .complete "$D/merge.m.json")" = true ]
	validate_n 8
}

@test "create --json: the same facts as status --json" {
	need_jq
	truncate -s 1M "$T/c"
	run -0 "$SNAPCTL" create --json --chunk-size 16K "$T/c"
	json_eq "$(jq 'del(.devices)' <<<"$output")" \
		"$("$SNAPCTL" status --json "$T/c")"
	[ "$(jq -c '[.chunk_size_bytes, .chunk_size_sectors, .state]' \
		<<<"$output")" = '[16384,32,"valid"]' ]
}

@test "damage corpus: every check and repair document validates" {
	local img
	python3 "$TESTS_SRCDIR/damage/mkdamage.py" "$T/corpus" --random 0 \
		>/dev/null
	for img in "$T"/corpus/*.img; do
		[ "$(basename "$img")" = origin.img ] && continue
		doc check "n-$(basename "$img" .img)" "$SNAPCHECK" -n --json \
			"$img"
		cp "$img" "$T/y.img"
		doc check "y-$(basename "$img" .img)" "$SNAPCHECK" -y --json \
			--backup "$T/u-$(basename "$img").bin" "$T/y.img"
	done
	grep -l after_repair "$D"/check.y-*.json >/dev/null
	validate_n "$(ls "$D" | wc -l)"
}

@test "shared facts: one key and type in status, create, check and dump" {
	need_jq
	local k
	truncate -s 1M "$T/c"
	"$SNAPCTL" create --json "$T/c" >"$T/create.json"
	"$SNAPCTL" status --json "$T/c" >"$T/status.json"
	"$SNAPCHECK" -n --json "$T/c" >"$T/check.json"
	"$SNAPDUMP" --json "$T/c" >"$T/dump.json"
	for k in state valid chunk_size_sectors exception_count area_count \
		next_free_chunk cow_sectors sectors_allocated \
		metadata_sectors; do
		[ "$(jq -c ".$k" "$T/status.json")" = \
			"$(jq -c ".$k" "$T/create.json")" ]
		[ "$(jq -c ".$k" "$T/status.json")" = \
			"$(jq -c ".summary.$k" "$T/check.json")" ]
		[ "$(jq -c ".$k" "$T/status.json")" = \
			"$(jq -c ".status_report.$k" "$T/dump.json")" ]
	done
	for k in cow; do
		[ "$(jq -r ".$k" "$T/status.json")" = "$T/c" ]
		[ "$(jq -r ".$k" "$T/check.json")" = "$T/c" ]
		[ "$(jq -r ".$k" "$T/dump.json")" = "$T/c" ]
	done
	[ "$(jq -c '[.header.valid, .header.chunk_size_sectors]' \
		"$T/dump.json")" = '[true,8]' ]
}
