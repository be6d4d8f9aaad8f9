// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The report field table and the helpers that emit its rows into json-c
 * objects.  Rows are documented in snapcow-reports(7); a test checks the
 * man page and schemas/ against this table.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include <json-c/json.h>

#include "fields.h"
#include "snapcow.h"
#include "util.h"

#define ROW(id, key, t, null, u, text) \
	[SNAPCOW_F_##id] = { .name = key, .type = SNAPCOW_FT_##t, \
			     .nullable = null, .unit = u, .help = text }

static const struct snapcow_field fields[SNAPCOW_FIELD_COUNT] = {
	ROW(COW, "cow", STRING, false, NULL,
	    "The COW device or file, as given."),
	ROW(ORIGIN, "origin", STRING, true, NULL,
	    "The origin device or file; null when none was given."),
	ROW(STATE, "state", STRING, true, NULL,
	    "A COW's state: new, valid, invalid, merging, overflow, "
	    "merge_failed or unknown, null when nothing could be read; "
	    "in an exception row (--all-slots): live, or dead at or after "
	    "the list's end."),
	ROW(VALID, "valid", BOOLEAN, true, NULL,
	    "The header's valid flag: false once the snapshot was "
	    "invalidated; null when there is no header."),
	ROW(STATUS, "status", STRING, false, NULL,
	    "The kernel's status line: \"allocated/total metadata\" in "
	    "sectors, \"Invalid\", \"Overflow\" or \"Merge failed\"."),
	ROW(IMA, "ima", STRING, true, NULL,
	    "The IMA measurement string of the snapshot target; null "
	    "without an origin."),
	ROW(MAGIC, "magic", INTEGER, false, NULL,
	    "The header's magic number (0x70416e53 on a COW, 0 on a new "
	    "one)."),
	ROW(MAGIC_HEX, "magic_hex", STRING, false, NULL,
	    "The magic number in hexadecimal, \"0x70416e53\"."),
	ROW(MAGIC_OK, "magic_ok", BOOLEAN, false, NULL,
	    "Whether the magic number is the COW's."),
	ROW(VERSION, "version", INTEGER, false, NULL,
	    "The on-disk format version (1)."),
	ROW(CHUNK_SIZE_BYTES, "chunk_size_bytes", INTEGER, false, "bytes",
	    "The chunk size."),
	ROW(CHUNK_SIZE_SECTORS, "chunk_size_sectors", INTEGER, true,
	    "sectors", "The chunk size; null when none fits the device."),
	ROW(CHUNK_SIZE_INFERRED, "chunk_size_inferred", BOOLEAN, false, NULL,
	    "Whether the chunk size was inferred from the area layout, the "
	    "header's being unusable."),
	ROW(EXCEPTIONS_PER_AREA, "exceptions_per_area", INTEGER, false, NULL,
	    "Records one metadata area holds: chunk_size_bytes / 16."),
	ROW(EXCEPTION_COUNT, "exception_count", INTEGER, true, NULL,
	    "Exception records on the list; null on an invalid COW, whose "
	    "records the kernel does not read."),
	ROW(AREA_COUNT, "area_count", INTEGER, true, NULL,
	    "Metadata areas holding the list (at least 1)."),
	ROW(CURRENT_AREA, "current_area", INTEGER, true, NULL,
	    "The metadata area holding the list's end."),
	ROW(CURRENT_RECORD_COUNT, "current_record_count", INTEGER, false, NULL,
	    "Records committed in the current area."),
	ROW(NEXT_FREE_CHUNK, "next_free_chunk", INTEGER, true, "chunks",
	    "The chunk the kernel allocates next."),
	ROW(SECTORS_ALLOCATED, "sectors_allocated", INTEGER, true, "sectors",
	    "next_free_chunk times the chunk size: the status line's "
	    "first number."),
	ROW(COW_SECTORS, "cow_sectors", INTEGER, true, "sectors",
	    "The COW's size: the status line's second number."),
	ROW(METADATA_SECTORS, "metadata_sectors", INTEGER, true, "sectors",
	    "(current_area + 2) times the chunk size: the status line's "
	    "third number."),
	ROW(PERCENT_USED, "percent_used", NUMBER, true, "percent",
	    "sectors_allocated of cow_sectors, two decimals, as lvs(8) "
	    "snap_percent: 0.00 only when nothing but metadata is "
	    "allocated, 100.00 only when full."),
	ROW(DEVICES, "devices", ARRAY, false, NULL,
	    "The device-mapper devices made (empty without --activate)."),
	ROW(DM_NAME, "dm_name", STRING, true, NULL,
	    "A device-mapper device's name: NAME, NAME-snap...; null in a "
	    "list row of a snapshot snapcowd serves."),
	ROW(TARGET, "target", STRING, false, NULL,
	    "Its target: snapshot-origin, snapshot or snapshot-merge."),
	ROW(START_SECTOR, "start_sector", INTEGER, false, "sectors",
	    "Where its table line starts."),
	ROW(LENGTH_SECTORS, "length_sectors", INTEGER, false, "sectors",
	    "Its table line's length."),
	ROW(UUID, "uuid", STRING, false, NULL,
	    "Its device-mapper uuid: SNAPCOW- and its name."),
	ROW(HEADER, "header", OBJECT, false, NULL,
	    "snapdump: the header as read from chunk 0."),
	ROW(STATUS_REPORT, "status_report", OBJECT, true, NULL,
	    "snapdump: the status document of snapctl status; null when the "
	    "COW does not load."),
	ROW(AREAS, "areas", ARRAY, true, NULL,
	    "snapdump: one row per metadata area; null on an invalid COW."),
	ROW(EXCEPTIONS, "exceptions", ARRAY, true, NULL,
	    "snapdump: one row per exception record; null on an invalid "
	    "COW."),
	ROW(DIFF, "diff", ARRAY, false, NULL,
	    "snapdump --diff: the chunks in which snapshot and origin "
	    "differ."),
	ROW(AREA, "area", INTEGER, true, NULL,
	    "A metadata area's number; null for a finding about no "
	    "record."),
	ROW(CHUNK, "chunk", INTEGER, false, "chunks",
	    "The chunk a metadata area lives in."),
	ROW(INDEX, "index", INTEGER, true, NULL,
	    "A record's slot in its area."),
	ROW(OFFSET_BYTES, "offset_bytes", INTEGER, true, "bytes",
	    "A byte offset on the COW."),
	ROW(RECORD_COUNT, "record_count", INTEGER, false, NULL,
	    "Records on the list in this area."),
	ROW(FULL, "full", BOOLEAN, false, NULL,
	    "Whether the area holds exceptions_per_area records."),
	ROW(OLD_CHUNK, "old_chunk", INTEGER, true, "chunks",
	    "The origin chunk a record preserves."),
	ROW(NEW_CHUNK, "new_chunk", INTEGER, true, "chunks",
	    "The COW chunk holding it."),
	ROW(FINDINGS, "findings", ARRAY, false, NULL,
	    "snapcheck: one object per finding."),
	ROW(CODE, "code", STRING, false, NULL,
	    "The finding's rule code, see snapcheck(8)."),
	ROW(RULE, "rule", STRING, false, NULL, "The rule's name."),
	ROW(SEVERITY, "severity", STRING, false, NULL,
	    "info, warning, error or fatal."),
	ROW(AFFECTED_COUNT, "affected_count", INTEGER, false, NULL,
	    "Records or chunks the finding concerns."),
	ROW(MESSAGE, "message", STRING, false, NULL, "The rule's message."),
	ROW(DETAIL, "detail", STRING, false, NULL,
	    "This finding's message, with its numbers."),
	ROW(FIXABLE, "fixable", BOOLEAN, false, NULL,
	    "Whether -y can fix this finding."),
	ROW(FIX, "fix", STRING, true, NULL,
	    "What -y does about it; null when not fixable."),
	ROW(SUMMARY, "summary", OBJECT, false, NULL,
	    "snapcheck: what the check found, in numbers."),
	ROW(LEAKED_CHUNK_COUNT, "leaked_chunk_count", INTEGER, false, NULL,
	    "Data chunks below next_free_chunk that no record uses."),
	ROW(DROP_RECORD_COUNT, "drop_record_count", INTEGER, false, NULL,
	    "Records -y would drop."),
	ROW(ERROR_COUNT, "error_count", INTEGER, false, NULL,
	    "Findings of severity error or fatal: what snapcheck fails on; "
	    "in snapcowd's counters, commands that failed."),
	ROW(WARNING_COUNT, "warning_count", INTEGER, false, NULL,
	    "Findings of severity warning."),
	ROW(INFO_COUNT, "info_count", INTEGER, false, NULL,
	    "Findings of severity info."),
	ROW(FIXABLE_COUNT, "fixable_count", INTEGER, false, NULL,
	    "Findings -y can fix."),
	ROW(AFTER_REPAIR, "after_repair", OBJECT, false, NULL,
	    "snapcheck -y: the findings and summary of the check after the "
	    "repair."),
	ROW(WRITTEN_CHUNK_COUNT, "written_chunk_count", INTEGER, false, NULL,
	    "Metadata chunks the repair wrote."),
	ROW(UNDO_FILE, "undo_file", STRING, true, NULL,
	    "The repair's undo file; null when nothing was written."),
	ROW(EXIT_CODE, "exit_code", INTEGER, false, NULL,
	    "snapcheck's exit status (fsck(8))."),
	ROW(BACKUP, "backup", STRING, true, NULL,
	    "The merge's backup of the origin's chunks; null without one."),
	ROW(BACKUP_RESUMED, "backup_resumed", BOOLEAN, false, NULL,
	    "Whether an interrupted merge was resumed from the backup."),
	ROW(OTHER_SNAPSHOTS, "other_snapshots", ARRAY, false, NULL,
	    "Other snapshots of the origin kept valid (--keep), by path."),
	ROW(MERGED_CHUNK_COUNT, "merged_chunk_count", INTEGER, false, NULL,
	    "Exception records merged into the origin."),
	ROW(STEP_COUNT, "step_count", INTEGER, false, NULL,
	    "Runs merged, each in one copy as the kernel's merge."),
	ROW(WRITTEN_BYTES, "written_bytes", INTEGER, false, "bytes",
	    "Bytes written to the origin."),
	ROW(COMPLETE, "complete", BOOLEAN, false, NULL,
	    "Whether the exception list is now empty."),
	ROW(ELAPSED_SECONDS, "elapsed_seconds", NUMBER, false, "seconds",
	    "Wall-clock time the merge took."),
	ROW(SNAPSHOTS, "snapshots", ARRAY, false, NULL,
	    "Every live snapshot on the machine, one row each."),
	ROW(KIND, "kind", STRING, false, NULL,
	    "Who serves the snapshot: dm (activated with device-mapper) or "
	    "served (by snapcowd)."),
	ROW(NAME, "name", STRING, false, NULL,
	    "The snapshot's name: its origin's device-mapper name, or the "
	    "backstore that serves it."),
	ROW(VOL, "vol", STRING, true, NULL,
	    "The backstore that serves the snapshot's image; null for a "
	    "device-mapper snapshot or one not exported."),
	ROW(ORIGIN_VOL, "origin_vol", STRING, true, NULL,
	    "The backstore that serves the origin; null for a "
	    "device-mapper snapshot."),
	ROW(COUNTERS, "counters", OBJECT, false, NULL,
	    "snapcowd's counters of the served snapshot and its backstore."),
	ROW(READ_COUNT, "read_count", INTEGER, false, NULL,
	    "Read commands the backstore served."),
	ROW(WRITE_COUNT, "write_count", INTEGER, false, NULL,
	    "Write commands the backstore served."),
	ROW(COPY_COUNT, "copy_count", INTEGER, false, NULL,
	    "Origin chunks copied into the snapshot's COW before a write."),
	ROW(COMMIT_COUNT, "commit_count", INTEGER, false, NULL,
	    "Metadata commits (area writes) of the snapshot's COW."),
	ROW(RECORDS, "records", ARRAY, false, NULL,
	    "snapdump --metadata: every record on the exception list, in "
	    "allocation order (area by area, slot by slot, up to the list's "
	    "end), also of an invalid COW; snapctl restore writes them "
	    "back."),
};

SNAPCOW_EXPORT
const struct snapcow_field *snapcow_field_get(unsigned int id)
{
	return id < SNAPCOW_FIELD_COUNT ? &fields[id] : NULL;
}

SNAPCOW_EXPORT
const char *snapcow_field_type_name(enum snapcow_field_type type)
{
	static const char *const names[] = {
		[SNAPCOW_FT_INTEGER] = "integer",
		[SNAPCOW_FT_NUMBER] = "number",
		[SNAPCOW_FT_BOOLEAN] = "boolean",
		[SNAPCOW_FT_STRING] = "string",
		[SNAPCOW_FT_ARRAY] = "array",
		[SNAPCOW_FT_OBJECT] = "object",
	};

	return (unsigned int)type < ARRAY_SIZE(names) ? names[type] : NULL;
}

/*
 * The one place a field enters a document.  @v is put on every failure;
 * a NULL @v is JSON null, allowed only where the row says so.
 */
static int field_add(struct json_object *o, unsigned int id,
		     struct json_object *v, enum snapcow_field_type type)
{
	const struct snapcow_field *f = snapcow_field_get(id);
	int r = 0;

	if (!f || (v && f->type != type) || (!v && !f->nullable))
		r = -EINVAL;
	else if (json_object_object_add(o, f->name, v) < 0)
		r = -ENOMEM;
	if (r)
		json_object_put(v);
	return r;
}

/* json-c returns NULL when out of memory: not to be taken for null. */
static int field_add_new(struct json_object *o, unsigned int id,
			 struct json_object *v, enum snapcow_field_type type)
{
	return v ? field_add(o, id, v, type) : -ENOMEM;
}

SNAPCOW_EXPORT
int snapcow_field_add_u64(struct json_object *o, unsigned int id, uint64_t v)
{
	return field_add_new(o, id, json_object_new_uint64(v),
			     SNAPCOW_FT_INTEGER);
}

SNAPCOW_EXPORT
int snapcow_field_add_u64s(struct json_object *o,
			   const struct snapcow_field_u64 *rows, size_t n)
{
	size_t i;
	int r = 0;

	for (i = 0; !r && i < n; i++)
		r = snapcow_field_add_u64(o, rows[i].id, rows[i].v);
	return r;
}

SNAPCOW_EXPORT
int snapcow_field_add_bool(struct json_object *o, unsigned int id, bool v)
{
	return field_add_new(o, id, json_object_new_boolean(v),
			     SNAPCOW_FT_BOOLEAN);
}

SNAPCOW_EXPORT
int snapcow_field_add_str(struct json_object *o, unsigned int id,
			  const char *v)
{
	if (!v)
		return snapcow_field_add_null(o, id);
	return field_add_new(o, id, json_object_new_string(v),
			     SNAPCOW_FT_STRING);
}

SNAPCOW_EXPORT
int snapcow_field_add_null(struct json_object *o, unsigned int id)
{
	return field_add(o, id, NULL, SNAPCOW_FT_OBJECT);
}

SNAPCOW_EXPORT
int snapcow_field_add_number(struct json_object *o, unsigned int id,
			     double v, int decimals)
{
	char text[64];

	/* Exactly @decimals digits rather than json-c's %.17g. */
	snprintf(text, sizeof(text), "%.*f", decimals, v);
	return field_add_new(o, id, json_object_new_double_s(v, text),
			     SNAPCOW_FT_NUMBER);
}

SNAPCOW_EXPORT
int snapcow_field_add(struct json_object *o, unsigned int id,
		      struct json_object *v)
{
	const struct snapcow_field *f = snapcow_field_get(id);
	enum snapcow_field_type type = SNAPCOW_FT_OBJECT;

	if (v && json_object_is_type(v, json_type_array))
		type = SNAPCOW_FT_ARRAY;
	if (f && !v && f->type != SNAPCOW_FT_ARRAY &&
	    f->type != SNAPCOW_FT_OBJECT)
		return -EINVAL;
	return field_add(o, id, v, type);
}

SNAPCOW_EXPORT
const char *snapcow_state_name(enum snapcow_state state)
{
	static const char *const names[] = {
		[SNAPCOW_STATE_NEW] = "new",
		[SNAPCOW_STATE_VALID] = "valid",
		[SNAPCOW_STATE_INVALID] = "invalid",
		[SNAPCOW_STATE_UNKNOWN] = "unknown",
		[SNAPCOW_STATE_MERGING] = "merging",
		[SNAPCOW_STATE_OVERFLOW] = "overflow",
		[SNAPCOW_STATE_MERGE_FAILED] = "merge_failed",
	};

	if ((unsigned int)state < ARRAY_SIZE(names) && names[state])
		return names[state];
	return "unknown";
}
