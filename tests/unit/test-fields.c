// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The report field table: every row complete and unique, keys that follow
 * keys.md's rules, and emit helpers that refuse a value of another type.
 * With --dump, print the table as TSV (name, type, nullable, unit, help)
 * for tests/reports.py, which checks schemas/ and snapcow-reports(7)
 * against it.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "fields.h"
#include "snapcow.h"
#include "tap.h"

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && !strcmp(s + n - m, tail);
}

static void test_rows_complete(void)
{
	unsigned int i;
	const struct snapcow_field *f;

	for (i = 0; i < SNAPCOW_FIELD_COUNT; i++) {
		f = snapcow_field_get(i);
		ok(f && f->name && f->help, "row %u filled", i);
		if (!f || !f->name || !f->help)
			continue;
		ok(snapcow_field_type_name(f->type) != NULL, "%s: type",
		   f->name);
		ok(ends_with(f->help, "."), "%s: help is a sentence", f->name);
		ok(strspn(f->name, "abcdefghijklmnopqrstuvwxyz_") ==
		   strlen(f->name), "%s: snake_case", f->name);
	}
	ok(snapcow_field_get(SNAPCOW_FIELD_COUNT) == NULL, "past the end");
}

static void test_names_unique(void)
{
	unsigned int i, j;

	for (i = 0; i < SNAPCOW_FIELD_COUNT; i++)
		for (j = i + 1; j < SNAPCOW_FIELD_COUNT; j++)
			ok(strcmp(snapcow_field_get(i)->name,
				  snapcow_field_get(j)->name), "%s twice",
			   snapcow_field_get(i)->name);
}

/* keys.md: a unit in the name says the unit column, and the reverse. */
static void test_units_named(void)
{
	static const struct { const char *tail, *unit; } units[] = {
		{ "_bytes", "bytes" },
		{ "_sectors", "sectors" },
		{ "_sector", "sectors" },
		{ "_chunk", "chunks" },
		{ "_seconds", "seconds" },
	};
	const struct snapcow_field *f;
	unsigned int i, u;

	for (i = 0; i < SNAPCOW_FIELD_COUNT; i++) {
		f = snapcow_field_get(i);
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			if (ends_with(f->name, units[u].tail))
				ok(f->unit && !strcmp(f->unit, units[u].unit),
				   "%s: unit %s", f->name, units[u].unit);
		if (ends_with(f->name, "_count"))
			ok(f->type == SNAPCOW_FT_INTEGER && !f->unit,
			   "%s: a count", f->name);
	}
}

static void test_types_enforced(void)
{
	json_object *o = json_object_new_object(), *v;

	ok_eq(snapcow_field_add_u64(o, SNAPCOW_F_COW_SECTORS, 8), 0, "int");
	ok_eq(snapcow_field_add_bool(o, SNAPCOW_F_COW_SECTORS, true),
	      -EINVAL, "bool into an integer");
	ok_eq(snapcow_field_add_str(o, SNAPCOW_F_VALID, "yes"), -EINVAL,
	      "string into a boolean");
	ok_eq(snapcow_field_add_null(o, SNAPCOW_F_COW), -EINVAL,
	      "null where the row allows none");
	ok_eq(snapcow_field_add_str(o, SNAPCOW_F_ORIGIN, NULL), 0, "null");
	ok_eq(snapcow_field_add_u64(o, SNAPCOW_FIELD_COUNT, 1), -EINVAL,
	      "no such row");
	ok_eq(snapcow_field_add(o, SNAPCOW_F_HEADER, json_object_new_array()),
	      -EINVAL, "array into an object");
	ok_eq(snapcow_field_add_number(o, SNAPCOW_F_PERCENT_USED, 12.345, 2),
	      0, "number");
	ok(!strcmp(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
		   "{\"cow_sectors\":8,\"origin\":null,"
		   "\"percent_used\":12.35}"), "%s",
	   json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	ok(json_object_object_get_ex(o, "origin", &v) && !v, "null kept");
	json_object_put(o);
}

static void test_state_names(void)
{
	ok(!strcmp(snapcow_state_name(SNAPCOW_STATE_NEW), "new"), "new");
	ok(!strcmp(snapcow_state_name(SNAPCOW_STATE_VALID), "valid"), "v");
	ok(!strcmp(snapcow_state_name(SNAPCOW_STATE_INVALID), "invalid"),
	   "invalid");
	ok(!strcmp(snapcow_state_name(SNAPCOW_STATE_MERGE_FAILED),
		   "merge_failed"), "merge_failed");
	ok(!strcmp(snapcow_state_name((enum snapcow_state)99), "unknown"),
	   "out of range");
}

static int dump(void)
{
	const struct snapcow_field *f;
	unsigned int i;

	for (i = 0; i < SNAPCOW_FIELD_COUNT; i++) {
		f = snapcow_field_get(i);
		printf("%s\t%s\t%s\t%s\t%s\n", f->name,
		       snapcow_field_type_name(f->type),
		       f->nullable ? "null" : "-", f->unit ? f->unit : "-",
		       f->help);
	}
	return ferror(stdout) || fflush(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--dump"))
		return dump();
	plan(5);
	run(test_rows_complete);
	run(test_names_unique);
	run(test_units_named);
	run(test_types_enforced);
	run(test_state_names);
	return done();
}
