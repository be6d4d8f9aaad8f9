// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapctl restore: write a COW's metadata back from a snapdump
 * --metadata document (thin_restore's job for snapshots).  The document
 * is read whole and every key and type is checked against the field
 * table the dump was written with; the library lays the records out and
 * judges them with snapcheck's rules; only then, and with --yes, is the
 * COW written, undo file first.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common.h"
#include "fields.h"
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
	struct json_object *doc;
	struct json_object *records;
	struct snapcow_header hdr;
	uint64_t cow_sectors;
	uint64_t count;			/* exception_count */
	struct snapcow_dev *cow;
	struct snapcow_restore *m;
};

/* ------------------------------------------------------------ read */

static int read_all(const char *path, char **bufp, size_t *lenp)
{
	FILE *f = fopen(path, "r");
	size_t len = 0, cap = 0, n;
	char *buf = NULL, *p;
	int r = 0;

	if (!f) {
		r = -errno;
		error_msg("%s: %s", path, strerror(-r));
		return r;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? 2 * cap : 1 << 16;
			p = realloc(buf, cap);
			if (!p) {
				r = -ENOMEM;
				break;
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (!n)
			break;
	}
	if (!r && ferror(f))
		r = -EIO;
	fclose(f);
	if (r) {
		free(buf);
		error_msg("%s: cannot read: %s", path, strerror(-r));
		return r;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

static int parse(struct restore *x)
{
	struct json_tokener *tok = json_tokener_new();
	enum json_tokener_error jerr;
	size_t len = 0, end;
	char *buf = NULL;
	int r;

	if (!tok)
		return json_failed(NULL);
	r = read_all(x->file, &buf, &len);
	if (r) {
		json_tokener_free(tok);
		return r;
	}
	x->doc = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	while (!jerr && end < len && strchr(" \t\r\n", buf[end]))
		end++;
	if (jerr == json_tokener_continue)
		error_msg("%s: not JSON: the document ends early (byte %zu)",
			  x->file, len);
	else if (jerr)
		error_msg("%s: not JSON: %s at byte %zu", x->file,
			  json_tokener_error_desc(jerr), end);
	else if (end < len)
		error_msg("%s: not JSON: data after the document at byte %zu",
			  x->file, end);
	json_tokener_free(tok);
	free(buf);
	return jerr || end < len ? -EINVAL : 0;
}

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
		error_msg("%s: %s%s: missing", x->file, where, f->name);
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

static int read_shape(struct restore *x)
{
	int r;

	if (!json_object_is_type(x->doc, json_type_object)) {
		error_msg("%s: not a 'snapdump --metadata' document: %s, not "
			  "an object", x->file, kind(x->doc));
		return -EINVAL;
	}
	r = read_header(x);
	r = r ?: member_u64(x, "", x->doc, SNAPCOW_F_COW_SECTORS, UINT64_MAX,
			    &x->cow_sectors);
	r = r ?: member_u64(x, "", x->doc, SNAPCOW_F_EXCEPTION_COUNT,
			    UINT64_MAX, &x->count);
	if (r)
		return r;
	x->records = member(x, "", x->doc, SNAPCOW_F_RECORDS);
	if (!x->records)
		return -EINVAL;
	if (x->count == json_object_array_length(x->records))
		return 0;
	error_msg("%s: %s: %" PRIu64 ", but %s holds %zu", x->file,
		  snapcow_field_get(SNAPCOW_F_EXCEPTION_COUNT)->name, x->count,
		  snapcow_field_get(SNAPCOW_F_RECORDS)->name,
		  json_object_array_length(x->records));
	return -EINVAL;
}

/* --------------------------------------------------------- records */

static int record_at(const struct restore *x, size_t i,
		     struct snapcow_record *rec)
{
	struct json_object *o = json_object_array_get_idx(x->records, i);
	char where[48];
	int r;

	snprintf(where, sizeof(where), "record %zu: ", i);
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
			 const char *why)
{
	struct snapcow_record rec = { 0 };

	record_at(x, (size_t)i, &rec);
	error_msg("%s: record %" PRIu64 " (old_chunk %" PRIu64 ", new_chunk "
		  "%" PRIu64 "): %s", x->file, i, rec.old_chunk,
		  rec.new_chunk, why);
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

/* Lay every record out and have the library judge them. */
static int build(struct restore *x)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	struct snapcow_record rec;
	uint64_t index;
	size_t i;
	int r;

	r = snapcow_restore_new(x->cow, &x->hdr, &x->m, err, sizeof(err));
	if (r) {
		error_msg("%s: %s", x->file, err);
		return r;
	}
	for (i = 0; i < x->count; i++) {
		r = record_at(x, i, &rec);
		if (r)
			return r;
		r = snapcow_restore_add(x->m, rec.old_chunk, rec.new_chunk,
					err, sizeof(err));
		if (r) {
			record_error(x, i, err);
			return r;
		}
	}
	r = snapcow_restore_check(x->m, &index, err, sizeof(err));
	if (r && index != SNAPCOW_NO_POS)
		record_error(x, index, err);
	else if (r)
		error_msg("%s: %s", x->file, err);
	return r;
}

/* ----------------------------------------------------------- write */

static int write_it(struct restore *x, const struct restore_opts *o)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "", name[4096];
	const char *undo = o->backup;
	int r;

	if (!undo)
		undo = undo_file_name("snapctl-restore", x->cow_path, name,
				      sizeof(name));
	r = snapcow_restore_write(x->m, undo, err, sizeof(err));
	if (r < 0) {
		lib_error(r, err, "%s: restore failed", x->cow_path);
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

	r = parse(&x);
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
