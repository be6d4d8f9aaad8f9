// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapctl restore: write a COW's metadata back from a snapdump
 * --metadata document (thin_restore's job for snapshots).  The document
 * is read a member and a record at a time (json-scan.c), so a dump of
 * millions of records takes the memory of the metadata, not of a parse
 * tree; every key and type is checked against the field table the dump
 * was written with; the library lays the records out and judges them
 * with snapcheck's rules; only then, and with --yes, is the COW written,
 * undo file first.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "common.h"
#include "fields.h"
#include "json-scan.h"
#include "snapctl.h"

static const struct cli cli = {
	.cmd = "snapctl restore",
	.args = "[OPTION...] META COW",
	.summary = "Rewrite the header and metadata areas of COW from META, "
		   "a 'snapdump --metadata'\ndocument.  Everything is checked "
		   "first: a refused dump changes nothing.",
	.details = "Without --yes, META is checked against COW and nothing "
		   "is written.  With it,\nthe chunks that change are saved "
		   "to an undo file first (--backup FILE, or\n"
		   "snapctl-restore-undo-<name>-<time>.bin in the current "
		   "directory);\n'snapcheck --undo FILE COW' puts them back.\n",
};

struct restore_opts {
	int yes;
	char *backup;
};

struct restore {
	const char *file;		/* META, as given */
	const char *cow_path;
	struct jscan scan;
	struct json_object *doc;	/* the members but the records */
	bool at_records;		/* the scan is at their array */
	struct snapcow_header hdr;
	uint64_t cow_sectors;
	uint64_t count;			/* exception_count */
	uint64_t n;			/* records read */
	struct snapcow_dev *cow;
	struct snapcow_restore *m;
};

/* ----------------------------------------------------------- shape */

static bool type_is(struct json_object *v, enum snapcow_field_type t)
{
	static const enum json_type types[] = {
		[SNAPCOW_FT_INTEGER] = json_type_int,
		[SNAPCOW_FT_NUMBER] = json_type_double,
		[SNAPCOW_FT_BOOLEAN] = json_type_boolean,
		[SNAPCOW_FT_STRING] = json_type_string,
		[SNAPCOW_FT_ARRAY] = json_type_array,
		[SNAPCOW_FT_OBJECT] = json_type_object,
	};

	return json_object_is_type(v, types[t]) ||
	       (t == SNAPCOW_FT_NUMBER && json_object_is_type(v,
							json_type_int));
}

/* "an integer", "a string", "null": what a value is, for a message. */
static const char *kind(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_int:
		return "an integer";
	case json_type_double:
		return "a number";
	case json_type_boolean:
		return "a boolean";
	case json_type_string:
		return "a string";
	case json_type_array:
		return "an array";
	case json_type_object:
		return "an object";
	default:
		return "null";
	}
}

/*
 * Member @id of @o (@where: "header.", "record 3: "), of its field-table
 * type and not null: NULL after saying why.
 */
static struct json_object *member(const struct restore *x, const char *where,
				  struct json_object *o, unsigned int id)
{
	const struct snapcow_field *f = snapcow_field_get(id);
	struct json_object *v;
	const char *type;

	if (!json_object_object_get_ex(o, f->name, &v)) {
		error_msg("%s: %s%s: missing%s", x->file, where, f->name,
			  o == x->doc && x->at_records ? " before records" : "");
		return NULL;
	}
	if (type_is(v, f->type))
		return v;
	type = snapcow_field_type_name(f->type);
	error_msg("%s: %s%s: must be %s %s, not %s", x->file, where, f->name,
		  strchr("aeiou", type[0]) ? "an" : "a", type, kind(v));
	return NULL;
}

static int member_u64(const struct restore *x, const char *where,
		      struct json_object *o, unsigned int id, uint64_t max,
		      uint64_t *val)
{
	struct json_object *v = member(x, where, o, id);
	const char *name = snapcow_field_get(id)->name;

	if (!v)
		return -EINVAL;
	/* json-c keeps a number above INT64_MAX unsigned: never negative. */
	if (json_object_get_int64(v) < 0) {
		error_msg("%s: %s%s: must not be negative, not %" PRId64,
			  x->file, where, name, json_object_get_int64(v));
		return -EINVAL;
	}
	*val = json_object_get_uint64(v);
	if (*val <= max)
		return 0;
	error_msg("%s: %s%s: %" PRIu64 " is out of range (at most %" PRIu64
		  ")", x->file, where, name, *val, max);
	return -EINVAL;
}

static int read_header(struct restore *x)
{
	struct json_object *h = member(x, "", x->doc, SNAPCOW_F_HEADER);
	struct json_object *valid;
	uint64_t v[3];
	int r;

	if (!h)
		return -EINVAL;
	r = member_u64(x, "header.", h, SNAPCOW_F_MAGIC, UINT32_MAX, &v[0]);
	r = r ?: member_u64(x, "header.", h, SNAPCOW_F_VERSION, UINT32_MAX,
			    &v[1]);
	r = r ?: member_u64(x, "header.", h, SNAPCOW_F_CHUNK_SIZE_SECTORS,
			    UINT32_MAX, &v[2]);
	if (r)
		return r;
	valid = member(x, "header.", h, SNAPCOW_F_VALID);
	if (!valid)
		return -EINVAL;
	x->hdr.magic = (uint32_t)v[0];
	x->hdr.version = (uint32_t)v[1];
	x->hdr.chunk_size = (uint32_t)v[2];
	x->hdr.valid = json_object_get_boolean(valid) ? 1 : 0;
	return 0;
}

/* What the records are judged by: the members before them. */
static int read_shape(struct restore *x)
{
	int r;

	r = read_header(x);
	r = r ?: member_u64(x, "", x->doc, SNAPCOW_F_COW_SECTORS, UINT64_MAX,
			    &x->cow_sectors);
	r = r ?: member_u64(x, "", x->doc, SNAPCOW_F_EXCEPTION_COUNT,
			    UINT64_MAX, &x->count);
	if (r || x->at_records)
		return r;
	error_msg("%s: %s: missing", x->file,
		  snapcow_field_get(SNAPCOW_F_RECORDS)->name);
	return -EINVAL;
}

/* ---------------------------------------------------------- stream */

/* Members up to the records (left for the stream) or the object's end. */
static int read_members(struct restore *x)
{
	const char *records = snapcow_field_get(SNAPCOW_F_RECORDS)->name;
	struct json_object *key, *v;
	const char *name;
	int r, c;

	for (;;) {
		r = jscan_value(&x->scan, &key);
		if (r)
			return r;
		name = json_object_get_string(key);
		if (!json_object_is_type(key, json_type_string))
			r = jscan_error_here(&x->scan, "a member's name is "
					     "not a string");
		if (!r && (c = jscan_either(&x->scan, ':', ':')) < 0)
			r = c;
		if (!r && !strcmp(name, records) && x->at_records) {
			error_msg("%s: %s: given twice", x->file, records);
			r = -EINVAL;
		} else if (!r && !strcmp(name, records)) {
			x->at_records = true;
			json_object_put(key);
			return 0;
		}
		r = r ?: jscan_value(&x->scan, &v);
		if (!r && json_object_object_add(x->doc, name, v))
			r = json_failed(v);
		json_object_put(key);
		c = r ?: jscan_either(&x->scan, ',', '}');
		if (c < 0 || c == '}')
			return c < 0 ? c : 0;
	}
}

static int open_doc(struct restore *x)
{
	struct json_object *v;
	int r = jscan_open(&x->scan, x->file);

	if (r)
		return r;
	x->doc = json_object_new_object();
	if (!x->doc)
		return json_failed(NULL);
	if (jscan_peek(&x->scan) == '{') {
		jscan_skip(&x->scan);
		if (jscan_peek(&x->scan) != '}')
			return read_members(x);
		jscan_skip(&x->scan);
		return 0;
	}
	r = jscan_value(&x->scan, &v);
	if (!r)
		error_msg("%s: not a 'snapdump --metadata' document: %s, not "
			  "an object", x->file, kind(v));
	json_object_put(v);
	return -EINVAL;
}

/* After the records: other members, then nothing but white space. */
static int close_doc(struct restore *x)
{
	int c = jscan_either(&x->scan, ',', '}');

	if (c == ',')
		c = read_members(x);
	if (c < 0)
		return c;
	if (jscan_peek(&x->scan) == EOF)
		return 0;
	error_msg("%s: not JSON: data after the document at byte %" PRIu64,
		  x->file, x->scan.pos);
	return -EINVAL;
}

/* --------------------------------------------------------- records */

/* Record @i of the dump, @o: an object of two chunk numbers. */
static int record_of(const struct restore *x, uint64_t i,
		     struct json_object *o, struct snapcow_record *rec)
{
	char where[48];
	int r;

	snprintf(where, sizeof(where), "record %" PRIu64 ": ", i);
	if (!json_object_is_type(o, json_type_object)) {
		error_msg("%s: %smust be an object, not %s", x->file, where,
			  kind(o));
		return -EINVAL;
	}
	r = member_u64(x, where, o, SNAPCOW_F_OLD_CHUNK, UINT64_MAX,
		       &rec->old_chunk);
	return r ?: member_u64(x, where, o, SNAPCOW_F_NEW_CHUNK, UINT64_MAX,
			       &rec->new_chunk);
}

/* "META: record I (old_chunk A, new_chunk B): WHY" */
static void record_error(const struct restore *x, uint64_t i,
			 const struct snapcow_record *rec, const char *why)
{
	error_msg("%s: record %" PRIu64 " (old_chunk %" PRIu64 ", new_chunk "
		  "%" PRIu64 "): %s", x->file, i, rec->old_chunk,
		  rec->new_chunk, why);
}

/* The next record, laid out in the image; its JSON is not kept. */
static int add_record(struct restore *x)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	struct snapcow_record rec;
	struct json_object *o;
	int r;

	r = jscan_value(&x->scan, &o);
	r = r ?: record_of(x, x->n, o, &rec);
	json_object_put(o);
	if (r)
		return r;
	r = snapcow_restore_add(x->m, rec.old_chunk, rec.new_chunk, err,
				sizeof(err));
	if (r)
		record_error(x, x->n, &rec, err);
	x->n++;
	return r;
}

static int stream_records(struct restore *x)
{
	struct json_object *o;
	int r, c;

	if (jscan_peek(&x->scan) != '[') {
		r = jscan_value(&x->scan, &o);
		if (!r)
			error_msg("%s: %s: must be an array, not %s", x->file,
				  snapcow_field_get(SNAPCOW_F_RECORDS)->name,
				  kind(o));
		json_object_put(o);
		return -EINVAL;
	}
	jscan_skip(&x->scan);
	if (jscan_peek(&x->scan) == ']') {
		jscan_skip(&x->scan);
		return 0;
	}
	do {
		r = add_record(x);
		c = r ?: jscan_either(&x->scan, ',', ']');
	} while (c == ',');
	return c < 0 ? c : 0;
}

static int check_size(const struct restore *x)
{
	uint64_t have = snapcow_dev_size(x->cow) >> SNAPCOW_SECTOR_SHIFT;

	if (have >= x->cow_sectors)
		return 0;
	error_msg("%s: %s: the dump is of a COW of %" PRIu64 " sectors; %s "
		  "has %" PRIu64 ": restore needs at least as many", x->file,
		  snapcow_field_get(SNAPCOW_F_COW_SECTORS)->name,
		  x->cow_sectors, x->cow_path, have);
	return -EINVAL;
}

/* Lay every record out as it comes, then have the library judge them. */
static int build(struct restore *x)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	struct snapcow_record rec;
	uint64_t index;
	int r;

	r = snapcow_restore_new(x->cow, &x->hdr, &x->m, err, sizeof(err));
	if (r) {
		error_msg("%s: %s", x->file, err);
		return r;
	}
	r = stream_records(x) ?: close_doc(x);
	if (r)
		return r;
	if (x->count != x->n) {
		error_msg("%s: %s: %" PRIu64 ", but %s holds %" PRIu64,
			  x->file,
			  snapcow_field_get(SNAPCOW_F_EXCEPTION_COUNT)->name,
			  x->count, snapcow_field_get(SNAPCOW_F_RECORDS)->name,
			  x->n);
		return -EINVAL;
	}
	r = snapcow_restore_check(x->m, &index, &rec, err, sizeof(err));
	if (r && index != SNAPCOW_NO_POS)
		record_error(x, index, &rec, err);
	else if (r)
		error_msg("%s: %s", x->file, err);
	return r;
}

/* ----------------------------------------------------------- write */

/* Whether @path holds anything: an undo file is never written over. */
static bool holds_data(const char *path)
{
	struct stat st;

	return !stat(path, &st) && st.st_size;
}

static int write_it(struct restore *x, const struct restore_opts *o)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "", name[4096];
	const char *undo = o->backup;
	bool had;
	int r;

	if (!undo)
		undo = undo_file_name("snapctl-restore", x->cow_path, name,
				      sizeof(name));
	had = holds_data(undo);
	r = snapcow_restore_write(x->m, undo, err, sizeof(err));
	if (r < 0) {
		lib_error(r, err, "%s: restore failed", x->cow_path);
		/* Some chunks may be written: say how to put them back. */
		if (!had && holds_data(undo))
			error_msg("%s: what was written is saved in %s: "
				  "'snapcheck --undo %s %s' puts it back",
				  x->cow_path, undo, undo, x->cow_path);
		return r;
	}
	if (verbosity < 0)
		return 0;
	if (!r) {
		printf("%s: already holds the metadata of %s: nothing "
		       "written\n", x->cow_path, x->file);
		return 0;
	}
	printf("%s: restored %" PRIu64 " record%s (%s, %" PRIu32
	       "-sector chunks) from %s: %d metadata chunk%s written; undo "
	       "file: %s\n", x->cow_path, x->count,
	       plural(x->count), x->hdr.valid ? "valid" : "invalid",
	       x->hdr.chunk_size, x->file, r, plural((uint64_t)r), undo);
	return 0;
}

static int run(const char **args, const struct restore_opts *o)
{
	struct restore x = { .file = args[0], .cow_path = args[1] };
	int r;

	r = open_doc(&x);
	r = r ?: read_shape(&x);
	r = r ?: open_dev(x.cow_path, SNAPCOW_DEV_WRITE | SNAPCOW_DEV_EXCL,
			  &x.cow);
	r = r ?: check_size(&x);
	r = r ?: build(&x);
	if (r)
		goto out;
	if (o->yes) {
		r = write_it(&x, o);
		goto out;
	}
	error_msg("%s: %s is a sound dump of %" PRIu64 " record%s for it; "
		  "refusing to overwrite its metadata without --yes",
		  x.cow_path, x.file, x.count, plural(x.count));
	r = -EPERM;
out:
	snapcow_restore_free(x.m);
	snapcow_dev_close(x.cow);
	json_object_put(x.doc);
	jscan_close(&x.scan);
	return r;
}

int cmd_restore(int argc, const char **argv)
{
	struct restore_opts o = { 0 };
	const char **args;
	int rc;
	struct poptOption options[] = {
		{ "yes", 'y', POPT_ARG_NONE, &o.yes, 0,
		  "write (without it, only check META against COW)", NULL },
		{ "backup", '\0', POPT_ARG_STRING, &o.backup, OPT_STRING,
		  "write the undo file here (new or empty)", "FILE" },
		COMMON_OPTIONS,
		POPT_TABLEEND
	};
	poptContext ctx = poptGetContext(NULL, argc, argv, options, 0);

	rc = cli_parse_args(ctx, &cli, options, 2, "META COW", &args);
	if (rc < 0)
		rc = run(args, &o) < 0 ? EXIT_FAIL : EXIT_OK;
	free(o.backup);
	poptFreeContext(ctx);
	return rc;
}
