/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The report fields: every fact a snapcow tool reports in JSON has one
 * row here (key, JSON type, unit, help text), as lvm2's report columns
 * do, so that a key is spelled, typed and documented in one place.  The
 * emit helpers refuse a value of another type than the row's, so no
 * document can drift from the table; schemas/ and snapcow-reports(7) are
 * checked against it by the tests.
 */
#ifndef SNAPCOW_FIELDS_H
#define SNAPCOW_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct json_object;

enum snapcow_field_type {
	SNAPCOW_FT_INTEGER,
	SNAPCOW_FT_NUMBER,
	SNAPCOW_FT_BOOLEAN,
	SNAPCOW_FT_STRING,
	SNAPCOW_FT_ARRAY,
	SNAPCOW_FT_OBJECT,
};

enum snapcow_field_id {
	/* Which COW, which origin, what state: in every document. */
	SNAPCOW_F_COW,
	SNAPCOW_F_ORIGIN,
	SNAPCOW_F_STATE,
	SNAPCOW_F_VALID,
	SNAPCOW_F_STATUS,
	SNAPCOW_F_IMA,
	/* The header and the layout. */
	SNAPCOW_F_MAGIC,
	SNAPCOW_F_MAGIC_HEX,
	SNAPCOW_F_MAGIC_OK,
	SNAPCOW_F_VERSION,
	SNAPCOW_F_CHUNK_SIZE_BYTES,
	SNAPCOW_F_CHUNK_SIZE_SECTORS,
	SNAPCOW_F_CHUNK_SIZE_INFERRED,
	SNAPCOW_F_EXCEPTIONS_PER_AREA,
	/* Usage, as the kernel's status line counts it. */
	SNAPCOW_F_EXCEPTION_COUNT,
	SNAPCOW_F_AREA_COUNT,
	SNAPCOW_F_CURRENT_AREA,
	SNAPCOW_F_CURRENT_RECORD_COUNT,
	SNAPCOW_F_NEXT_FREE_CHUNK,
	SNAPCOW_F_SECTORS_ALLOCATED,
	SNAPCOW_F_COW_SECTORS,
	SNAPCOW_F_METADATA_SECTORS,
	SNAPCOW_F_PERCENT_USED,
	/* Live devices (device-mapper). */
	SNAPCOW_F_DEVICES,
	SNAPCOW_F_DM_NAME,
	SNAPCOW_F_TARGET,
	SNAPCOW_F_START_SECTOR,
	SNAPCOW_F_LENGTH_SECTORS,
	SNAPCOW_F_UUID,
	/* Listings: areas, exception records, differences. */
	SNAPCOW_F_HEADER,
	SNAPCOW_F_STATUS_REPORT,
	SNAPCOW_F_AREAS,
	SNAPCOW_F_EXCEPTIONS,
	SNAPCOW_F_DIFF,
	SNAPCOW_F_AREA,
	SNAPCOW_F_CHUNK,
	SNAPCOW_F_INDEX,
	SNAPCOW_F_OFFSET_BYTES,
	SNAPCOW_F_RECORD_COUNT,
	SNAPCOW_F_FULL,
	SNAPCOW_F_OLD_CHUNK,
	SNAPCOW_F_NEW_CHUNK,
	/* snapcheck. */
	SNAPCOW_F_FINDINGS,
	SNAPCOW_F_CODE,
	SNAPCOW_F_RULE,
	SNAPCOW_F_SEVERITY,
	SNAPCOW_F_AFFECTED_COUNT,
	SNAPCOW_F_MESSAGE,
	SNAPCOW_F_DETAIL,
	SNAPCOW_F_FIXABLE,
	SNAPCOW_F_FIX,
	SNAPCOW_F_SUMMARY,
	SNAPCOW_F_LEAKED_CHUNK_COUNT,
	SNAPCOW_F_DROP_RECORD_COUNT,
	SNAPCOW_F_ERROR_COUNT,
	SNAPCOW_F_WARNING_COUNT,
	SNAPCOW_F_INFO_COUNT,
	SNAPCOW_F_FIXABLE_COUNT,
	SNAPCOW_F_AFTER_REPAIR,
	SNAPCOW_F_WRITTEN_CHUNK_COUNT,
	SNAPCOW_F_UNDO_FILE,
	SNAPCOW_F_EXIT_CODE,
	/* snapctl merge. */
	SNAPCOW_F_BACKUP,
	SNAPCOW_F_BACKUP_RESUMED,
	SNAPCOW_F_OTHER_SNAPSHOTS,
	SNAPCOW_F_MERGED_CHUNK_COUNT,
	SNAPCOW_F_STEP_COUNT,
	SNAPCOW_F_WRITTEN_BYTES,
	SNAPCOW_F_COMPLETE,
	SNAPCOW_F_ELAPSED_SECONDS,
	/* snapctl list, status --served (snapcowd's counters). */
	SNAPCOW_F_SNAPSHOTS,
	SNAPCOW_F_KIND,
	SNAPCOW_F_NAME,
	SNAPCOW_F_VOL,
	SNAPCOW_F_ORIGIN_VOL,
	SNAPCOW_F_COUNTERS,
	SNAPCOW_F_READ_COUNT,
	SNAPCOW_F_WRITE_COUNT,
	SNAPCOW_F_COPY_COUNT,
	SNAPCOW_F_COMMIT_COUNT,
	/* snapdump --metadata, read back by snapctl restore. */
	SNAPCOW_F_RECORDS,

	SNAPCOW_FIELD_COUNT
};

struct snapcow_field {
	const char *name;		/* the JSON key */
	enum snapcow_field_type type;
	bool nullable;			/* null where it is unknown */
	const char *unit;		/* NULL: a count, name or flag */
	const char *help;		/* one sentence for the man page */
};

/* The row of @id; NULL past the end. */
const struct snapcow_field *snapcow_field_get(unsigned int id);
/* "integer", "number", "boolean", "string", "array", "object". */
const char *snapcow_field_type_name(enum snapcow_field_type type);

/*
 * Add field @id to the JSON object @o.  0, -ENOMEM, or -EINVAL when the
 * value is not of the row's type (or null where the row allows none).
 */
int snapcow_field_add_u64(struct json_object *o, unsigned int id,
			  uint64_t v);
int snapcow_field_add_bool(struct json_object *o, unsigned int id, bool v);
/* A NULL @v adds null. */
int snapcow_field_add_str(struct json_object *o, unsigned int id,
			  const char *v);
int snapcow_field_add_null(struct json_object *o, unsigned int id);
/* Several integers at once, in the order given: a report's numbers. */
struct snapcow_field_u64 {
	unsigned int id;
	uint64_t v;
};
int snapcow_field_add_u64s(struct json_object *o,
			   const struct snapcow_field_u64 *rows, size_t n);
/* A number printed with @decimals digits after the point. */
int snapcow_field_add_number(struct json_object *o, unsigned int id,
			     double v, int decimals);
/*
 * An array or object (or NULL: null) that @o then owns; on failure @v
 * is put, so a caller never leaks it.
 */
int snapcow_field_add(struct json_object *o, unsigned int id,
		      struct json_object *v);

#ifdef __cplusplus
}
#endif

#endif /* SNAPCOW_FIELDS_H */
