// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapdump: show what is on a COW device, read-only: header, metadata
 * areas, exception records (live and, for forensics, dead), raw chunks,
 * and in which chunks the snapshot and the origin differ now.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common.h"
#include "fields.h"
#include "table-out.h"

/* Raw chunks are read and compared this much at a time. */
#define PIECE_BYTES	(1u << 20)

static const struct cli cli = {
	.cmd = "snapdump",
	.args = "[OPTION...] COW",
	.summary = "Dump a dm-snapshot persistent COW device without "
		   "changing it.\nWithout a selector: --header --areas "
		   "--exceptions.",
	.details = "Other forms:\n"
		   "  snapdump --raw-chunk N [--hexdump] COW\n"
		   "                     raw COW chunk N (binary, or hexdump "
		   "-C lines)\n"
		   "  snapdump --metadata [--json] COW\n"
		   "                     header and every record in "
		   "allocation order, as one JSON\n"
		   "                     document that 'snapctl restore' "
		   "writes back\n"
		   "  snapdump --origin ORIGIN --diff COW\n"
		   "                     the chunks in which the snapshot and "
		   "ORIGIN differ now:\n"
		   "                     written on ORIGIN or into the "
		   "snapshot since it was taken\n\n"
		   "Columns (--output; a JSON key is the name in lower "
		   "case):\n"
		   "  --areas       AREA CHUNK OFFSET_BYTES RECORD_COUNT "
		   "FULL\n"
		   "  --exceptions  OLD_CHUNK NEW_CHUNK AREA INDEX, and "
		   "OFFSET_BYTES STATE\n"
		   "  --diff        OLD_CHUNK NEW_CHUNK\n",
};

struct dump_opts {
	struct tout_opts t;	/* --output, --noheadings, --raw, --json */
	int header;
	int areas;
	int exceptions;
	int all_slots;
	char *chunk;
	int hexdump;
	char *origin;
	int diff;
	int metadata;
	char *chunk_size;
};

struct dump {
	const struct dump_opts *o;
	struct snapcow_dev *cow;
	struct snapcow_dev *origin;
	struct snapcow_store *s;	/* NULL when the COW did not load */
	struct snapcow_store_info info;
	struct json_object *root;	/* with --json: members not printed */
	struct tout_doc doc;		/* with --json: the document */
	bool titles;			/* text: several sections, titled */
	uint32_t cs;			/* chunk size used for --raw-chunk */
};

/* ---------------------------------------------------------- helpers */

/* Every key goes through the field table (fields.h). */
static int jcheck(int r)
{
	if (r < 0)
		error_msg("cannot build the JSON document: %s", strerror(-r));
	return r;
}

static int jadd(struct json_object *o, unsigned int id, struct json_object *v)
{
	return jcheck(v ? snapcow_field_add(o, id, v) : -ENOMEM);
}

static int jadd_u64(struct json_object *o, unsigned int id, uint64_t v)
{
	return jcheck(snapcow_field_add_u64(o, id, v));
}

static int jadd_bool(struct json_object *o, unsigned int id, bool v)
{
	return jcheck(snapcow_field_add_bool(o, id, v));
}

static int jadd_null(struct json_object *o, unsigned int id)
{
	return jcheck(snapcow_field_add_null(o, id));
}

/* NULL when the COW did not load and the magic says nothing either. */
static const char *state_name(const struct dump *d,
			      const struct snapcow_header *hdr)
{
	if (!d->s)
		return hdr->magic && hdr->magic != SNAPCOW_MAGIC ?
		       snapcow_state_name(SNAPCOW_STATE_UNKNOWN) : NULL;
	return snapcow_state_name(d->info.state);
}

/* ----------------------------------------------------------- header */

static int read_header(struct snapcow_dev *cow, struct snapcow_header *hdr)
{
	int r = snapcow_header_read(cow, hdr);

	if (r < 0)
		lib_error(r, snapcow_dev_error(cow), "%s: cannot read the "
			  "header", snapcow_dev_path(cow));
	return r;
}

static const char *magic_note(uint32_t magic)
{
	if (magic == SNAPCOW_MAGIC)
		return "snapshot COW";
	if (!magic)
		return "none: a new COW, formatted on activation";
	return "not a snapshot COW";
}

static int header_json(struct dump *d, const struct snapcow_header *h)
{
	struct json_object *o = json_object_new_object();
	const char *state = state_name(d, h);
	char hex[16];
	int r;

	if (!o)
		return jadd(d->root, SNAPCOW_F_HEADER, NULL);
	snprintf(hex, sizeof(hex), "0x%08" PRIx32, h->magic);
	r = jadd_u64(o, SNAPCOW_F_MAGIC, h->magic);
	r = r ?: jcheck(snapcow_field_add_str(o, SNAPCOW_F_MAGIC_HEX, hex));
	r = r ?: jadd_bool(o, SNAPCOW_F_MAGIC_OK, h->magic == SNAPCOW_MAGIC);
	r = r ?: jadd_bool(o, SNAPCOW_F_VALID, h->valid != 0);
	r = r ?: jadd_u64(o, SNAPCOW_F_VERSION, h->version);
	r = r ?: jadd_u64(o, SNAPCOW_F_CHUNK_SIZE_BYTES,
			  (uint64_t)h->chunk_size << SNAPCOW_SECTOR_SHIFT);
	r = r ?: jadd_u64(o, SNAPCOW_F_CHUNK_SIZE_SECTORS, h->chunk_size);
	r = r ?: jcheck(snapcow_field_add_str(o, SNAPCOW_F_STATE, state));
	if (r) {
		json_object_put(o);
		return r;
	}
	return jadd(d->root, SNAPCOW_F_HEADER, o);
}

static void header_text(struct dump *d, const struct snapcow_header *h)
{
	const char *state = state_name(d, h);
	char line[64];

	printf("header:\n");
	printf("  magic:       0x%08" PRIx32 " (%s)\n", h->magic,
	       magic_note(h->magic));
	printf("  valid:       %" PRIu32 "\n", h->valid);
	printf("  version:     %" PRIu32 "\n", h->version);
	printf("  chunk size:  %" PRIu64 " bytes (%" PRIu32 " sectors)\n",
	       (uint64_t)h->chunk_size << SNAPCOW_SECTOR_SHIFT,
	       h->chunk_size);
	printf("  state:       %s\n", state ? state : "unknown");
	if (!d->s)
		return;
	if (d->info.state == SNAPCOW_STATE_NEW)
		printf("  chunk size on activation: %" PRIu32 " sectors\n",
		       d->info.chunk_size);
	if (snapcow_status_line(d->s, line, sizeof(line)) >= 0)
		printf("  status:      %s\n", line);
}

static int dump_header(struct dump *d, const struct snapcow_header *h)
{
	if (d->root)
		return header_json(d, h);
	header_text(d, h);
	return 0;
}

static int dump_status(struct dump *d)
{
	struct json_object *status;

	if (!d->s)
		return jadd_null(d->root, SNAPCOW_F_STATUS_REPORT);
	status = snapcow_status_json(d->s, d->origin);
	return jadd(d->root, SNAPCOW_F_STATUS_REPORT, status);
}

/* Print the members gathered so far, ahead of a streamed table. */
static int flush_members(struct dump *d)
{
	int r = 0;

	if (!d->root)
		return 0;
	/* A member that is a file name gets its KEY_hex sibling here. */
	r = jcheck(snapcow_json_utf8(d->root));
	json_object_object_foreach(d->root, key, val)
		if (!r)
			r = tout_doc_object(&d->doc, key, val);
	json_object_put(d->root);
	d->root = json_object_new_object();
	if (r || d->root)
		return r;
	error_msg("cannot build the JSON document: %s", strerror(ENOMEM));
	return -ENOMEM;
}

/* ------------------------------------------------------------ areas */

enum { A_AREA, A_CHUNK, A_OFFSET, A_RECORDS, A_FULL, A_NCOLS };

/* Keys as in snapcow's JSON: chunk numbers, _bytes, _count. */
static const struct tout_col area_cols[A_NCOLS] = {
	[A_AREA] = { "AREA", SCOLS_JSON_NUMBER, true },
	[A_CHUNK] = { "CHUNK", SCOLS_JSON_NUMBER, true },
	[A_OFFSET] = { "OFFSET_BYTES", SCOLS_JSON_NUMBER, true },
	[A_RECORDS] = { "RECORD_COUNT", SCOLS_JSON_NUMBER, true },
	[A_FULL] = { "FULL", SCOLS_JSON_BOOLEAN, false },
};

#define AREA_COLS	"AREA,CHUNK,OFFSET_BYTES,RECORD_COUNT,FULL"

struct area_count {
	uint64_t *records;
	uint64_t nareas;
};

static int count_record(void *ctx, const struct snapcow_record_pos *rec)
{
	struct area_count *c = ctx;

	if (rec->area < c->nareas)
		c->records[rec->area]++;
	return 0;
}

/* The decimal digits of @v in @buf (at least 21 bytes); returns @buf. */
static char *u64_str(char *buf, uint64_t v)
{
	char *p = buf + 20;

	*p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	return memmove(buf, p, (size_t)(buf + 21 - p));
}

static int print_areas(struct dump *d, const struct area_count *c)
{
	char num[A_FULL][21];
	const char *cells[A_NCOLS];
	struct tout t;
	uint64_t a;
	int r, i;

	r = tout_init(&t, snapcow_field_get(SNAPCOW_F_AREAS)->name,
		      area_cols, A_NCOLS, AREA_COLS, &d->o->t,
		      &d->doc, stdout);
	if (r)
		return r;
	if (d->titles)
		printf("%sareas: %" PRIu64 " (%" PRIu64 " exceptions per "
		       "area)\n", d->o->header ? "\n" : "", c->nareas,
		       d->info.exceptions_per_area);
	for (i = 0; i < A_FULL; i++)
		cells[i] = num[i];
	for (a = 0; a < c->nareas && !r; a++) {
		u64_str(num[A_AREA], a);
		u64_str(num[A_CHUNK],
			snapcow_area_chunk(d->info.chunk_size, a));
		u64_str(num[A_OFFSET],
			snapcow_area_offset(d->info.chunk_size, a));
		u64_str(num[A_RECORDS], c->records[a]);
		cells[A_FULL] = c->records[a] == d->info.exceptions_per_area ?
				"yes" : "no";
		r = tout_add(&t, cells);
	}
	r = r ?: tout_print(&t);
	tout_free(&t);
	return r;
}

/* The kernel does not read the areas of an invalid COW: neither do we. */
static int not_read(struct dump *d, unsigned int id)
{
	const char *what = snapcow_field_get(id)->name;

	if (d->o->t.json)
		return jadd_null(d->root, id);
	printf("%s%s: not read: the snapshot is invalid\n",
	       d->o->header || strcmp(what, "areas") ? "\n" : "", what);
	return 0;
}

static int dump_areas(struct dump *d)
{
	struct area_count c = { .nareas = d->info.current_area + 1 };
	int r;

	if (d->info.state == SNAPCOW_STATE_INVALID)
		return not_read(d, SNAPCOW_F_AREAS);
	c.records = calloc(c.nareas, sizeof(*c.records));
	if (!c.records) {
		error_msg("%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	r = snapcow_store_foreach_record(d->s, false, count_record, &c);
	if (r < 0)
		lib_error(r, snapcow_store_error(d->s), "%s: cannot read the "
			  "metadata areas", snapcow_dev_path(d->cow));
	else
		r = flush_members(d) ?: print_areas(d, &c);
	free(c.records);
	return r;
}

/* ------------------------------------------------------- exceptions */

enum { E_OLD, E_NEW, E_AREA, E_INDEX, E_OFFSET, E_STATE, E_NCOLS };

static const struct tout_col exception_cols[E_NCOLS] = {
	[E_OLD] = { "OLD_CHUNK", SCOLS_JSON_NUMBER, true },
	[E_NEW] = { "NEW_CHUNK", SCOLS_JSON_NUMBER, true },
	[E_AREA] = { "AREA", SCOLS_JSON_NUMBER, true },
	[E_INDEX] = { "INDEX", SCOLS_JSON_NUMBER, true },
	[E_OFFSET] = { "OFFSET_BYTES", SCOLS_JSON_NUMBER, true },
	[E_STATE] = { "STATE", SCOLS_JSON_STRING, false },
};

#define EXCEPTION_COLS	"OLD_CHUNK,NEW_CHUNK,AREA,INDEX"

/*
 * One row of the exception listing.  Streamed: a million records must
 * not be held (libsmartcols would), text is measured in a first pass.
 */
struct record_row {
	struct tout t;
	char num[E_STATE][21];
	const char *cells[E_NCOLS];
	bool measure;
	bool write_failed;	/* reported by finish(), not as a read */
};

static int record_row(void *ctx, const struct snapcow_record_pos *rec)
{
	struct record_row *row = ctx;

	u64_str(row->num[E_OLD], rec->old_chunk);
	u64_str(row->num[E_NEW], rec->new_chunk);
	u64_str(row->num[E_AREA], rec->area);
	u64_str(row->num[E_INDEX], rec->slot);
	u64_str(row->num[E_OFFSET], rec->offset);
	row->cells[E_STATE] = rec->past_end ? "dead" : "live";
	if (row->measure) {
		tout_measure(&row->t, row->cells);
		return 0;
	}
	if (!tout_row(&row->t, row->cells))
		return 0;
	row->write_failed = true;
	return -EIO;
}

static int stream_exceptions(struct dump *d, struct record_row *row)
{
	bool all = d->o->all_slots;
	int r = 0, i;

	for (i = 0; i < E_STATE; i++)
		row->cells[i] = row->num[i];
	if (!d->o->t.json) {
		row->measure = true;
		r = snapcow_store_foreach_record(d->s, all, record_row, row);
		row->measure = false;
	}
	r = r ?: flush_members(d) ?: tout_begin(&row->t);
	r = r ?: snapcow_store_foreach_record(d->s, all, record_row, row);
	if (r < 0 && !row->write_failed)
		lib_error(r, snapcow_store_error(d->s), "%s: cannot read the "
			  "exception records", snapcow_dev_path(d->cow));
	/* The array is closed even when the listing stopped half way. */
	if (d->o->t.json || !r)
		r = tout_end(&row->t) ?: r;
	return r;
}

static int dump_exceptions(struct dump *d)
{
	struct record_row *row;
	int r;

	if (d->info.state == SNAPCOW_STATE_INVALID)
		return not_read(d, SNAPCOW_F_EXCEPTIONS);
	row = calloc(1, sizeof(*row));
	if (!row) {
		error_msg("%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	r = tout_init(&row->t, snapcow_field_get(SNAPCOW_F_EXCEPTIONS)->name,
		      exception_cols, E_NCOLS,
		      d->o->all_slots ? EXCEPTION_COLS ",STATE" :
					EXCEPTION_COLS,
		      &d->o->t, &d->doc, stdout);
	if (!r && d->titles)
		printf("%sexceptions: %" PRIu64 "%s\n",
		       d->o->header || d->o->areas ? "\n" : "",
		       d->info.exceptions,
		       d->o->all_slots ? " (and every slot past the end)" :
					 "");
	r = r ?: stream_exceptions(d, row);
	free(row);
	return r;
}

/* --------------------------------------------------------- metadata */

/* What restore needs to refuse a device that cannot take the records. */
static int metadata_members(struct dump *d)
{
	const struct snapcow_field_u64 rows[] = {
		{ SNAPCOW_F_COW_SECTORS, d->info.cow_sectors },
		{ SNAPCOW_F_EXCEPTIONS_PER_AREA, d->info.exceptions_per_area },
		{ SNAPCOW_F_EXCEPTION_COUNT, d->info.exceptions },
	};

	return jcheck(snapcow_field_add_u64s(d->root, rows,
					     sizeof(rows) / sizeof(rows[0])));
}

/*
 * The header and every record in allocation order, streamed as the
 * exception listing is: an invalid COW's records too, which the store
 * reads for us (SNAPCOW_STORE_ALL_RECORDS).
 */
static int dump_metadata(struct dump *d)
{
	struct snapcow_header hdr;
	struct record_row *row;
	int r;

	if (!d->s)
		return -EINVAL;
	if (d->info.state == SNAPCOW_STATE_NEW) {
		error_msg("%s: a new COW (magic 0), formatted on activation: "
			  "it has no metadata to dump",
			  snapcow_dev_path(d->cow));
		return -EINVAL;
	}
	r = read_header(d->cow, &hdr);
	r = r ?: header_json(d, &hdr) ?: metadata_members(d);
	if (r)
		return r;
	row = calloc(1, sizeof(*row));
	if (!row) {
		error_msg("%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	r = tout_init(&row->t, snapcow_field_get(SNAPCOW_F_RECORDS)->name,
		      exception_cols, E_NCOLS, "OLD_CHUNK,NEW_CHUNK", &d->o->t,
		      &d->doc, stdout);
	r = r ?: stream_exceptions(d, row);
	free(row);
	return r;
}

/* ------------------------------------------------------------ chunk */

struct hexdump {
	uint64_t offset;	/* of the next line, from the chunk start */
	unsigned char prev[16];
	bool have_prev;
	bool starred;
};

static void hexdump_line(struct hexdump *h, const unsigned char *p, size_t n)
{
	size_t i;

	/* hexdump -C prints a run of equal full lines as one '*'. */
	if (n == 16 && h->have_prev && !memcmp(p, h->prev, 16)) {
		if (!h->starred)
			puts("*");
		h->starred = true;
		h->offset += n;
		return;
	}
	h->starred = false;
	h->have_prev = n == 16;
	memcpy(h->prev, p, n);
	printf("%08" PRIx64 " ", h->offset);
	for (i = 0; i < 16; i++) {
		if (i % 8 == 0)
			putchar(' ');
		if (i < n)
			printf("%02x ", p[i]);
		else
			fputs("   ", stdout);
	}
	fputs(" |", stdout);
	for (i = 0; i < n; i++)
		putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
	puts("|");
	h->offset += n;
}

static int emit_piece(struct hexdump *h, const unsigned char *buf, size_t n)
{
	size_t i;

	if (!h) {
		if (fwrite(buf, 1, n, stdout) == n)
			return 0;
		error_msg("write error on standard output: %s",
			  strerror(errno));
		return -EIO;
	}
	for (i = 0; i < n; i += 16)
		hexdump_line(h, buf + i, n - i < 16 ? n - i : 16);
	return 0;
}

static int chunk_range(struct dump *d, uint64_t n, uint64_t *start,
		       uint64_t *len)
{
	uint64_t size = snapcow_dev_size(d->cow);

	/* A short last chunk is never used, but it is on the device. */
	if (!snapcow_chunk_extent(d->cs, size, n, start, len))
		return 0;
	error_msg("%s: chunk %" PRIu64 " is past the device's end (%" PRIu64
		  " bytes, %" PRIu64 "-byte chunks)", snapcow_dev_path(d->cow),
		  n, size, snapcow_chunk_offset(d->cs, 1));
	return -EINVAL;
}

static int dump_chunk(struct dump *d, uint64_t n)
{
	struct hexdump hd = { 0 };
	uint64_t start, len, done;
	unsigned char *buf;
	size_t piece;
	int r;

	r = chunk_range(d, n, &start, &len);
	if (r < 0)
		return r;
	buf = malloc(PIECE_BYTES);
	if (!buf) {
		error_msg("%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (done = 0; done < len && !r; done += piece) {
		piece = len - done < PIECE_BYTES ? len - done : PIECE_BYTES;
		r = snapcow_dev_read(d->cow, buf, piece, start + done);
		if (r < 0)
			lib_error(r, snapcow_dev_error(d->cow), "%s: cannot "
				  "read chunk %" PRIu64,
				  snapcow_dev_path(d->cow), n);
		else
			r = emit_piece(d->o->hexdump ? &hd : NULL, buf, piece);
	}
	if (!r && d->o->hexdump)
		printf("%08" PRIx64 "\n", len);
	free(buf);
	return r;
}

/* ------------------------------------------------------------- diff */

struct diff {
	struct dump *d;
	struct tout t;		/* columns OLD_CHUNK, NEW_CHUNK */
	unsigned char *a, *b;
	uint64_t saved, differ;
};

static int read_at(struct snapcow_dev *dev, void *buf, size_t n,
		   uint64_t offset, uint64_t chunk)
{
	int r = snapcow_dev_read(dev, buf, n, offset);

	if (r < 0)
		lib_error(r, snapcow_dev_error(dev), "%s: cannot read chunk %"
			  PRIu64, snapcow_dev_path(dev), chunk);
	return r;
}

/*
 * 1 when the COW's chunk for @old_chunk differs from the origin now.  On
 * disk an exception is the same whether an origin write or a snapshot
 * write made it, so a difference is all that can be told.
 */
static int chunk_differs(struct diff *c, uint64_t old_chunk,
			 uint64_t new_chunk)
{
	struct dump *d = c->d;
	uint32_t cs = d->info.chunk_size;
	uint64_t cow_at = snapcow_chunk_offset(cs, new_chunk);
	uint64_t start, len, done;
	size_t n;
	int r;

	/* The origin's last chunk may be short; the rest is not compared. */
	if (snapcow_chunk_extent(cs, snapcow_dev_size(d->origin), old_chunk,
				 &start, &len)) {
		warn_msg("%s: exception for chunk %" PRIu64 " lies past the "
			 "origin's end: skipped", snapcow_dev_path(d->cow),
			 old_chunk);
		return 0;
	}
	for (done = 0; done < len; done += n) {
		n = len - done < PIECE_BYTES ? len - done : PIECE_BYTES;
		r = read_at(d->origin, c->a, n, start + done, old_chunk);
		r = r ?: read_at(d->cow, c->b, n, cow_at + done, new_chunk);
		if (r < 0)
			return r;
		if (memcmp(c->a, c->b, n))
			return 1;
	}
	return 0;
}

static int report_diff(struct diff *c, uint64_t old_chunk,
			  uint64_t new_chunk)
{
	char num[2][21];
	const char *cells[E_NCOLS] = { [E_OLD] = num[0], [E_NEW] = num[1] };

	c->differ++;
	u64_str(num[0], old_chunk);
	u64_str(num[1], new_chunk);
	return tout_add(&c->t, cells);
}

static int diff_run(void *ctx, uint64_t old_chunk, uint64_t new_chunk,
		       uint64_t count)
{
	struct diff *c = ctx;
	uint64_t i;
	int r;

	for (i = 0; i < count; i++) {
		c->saved++;
		r = chunk_differs(c, old_chunk + i, new_chunk + i);
		if (r > 0)
			r = report_diff(c, old_chunk + i, new_chunk + i);
		if (r < 0)
			return r;
	}
	return 0;
}

static int dump_diff(struct dump *d)
{
	struct diff c = { .d = d };
	int r;

	if (d->info.state == SNAPCOW_STATE_INVALID)
		warn_msg("%s: snapshot is invalid: its exceptions are not "
			 "read", snapcow_dev_path(d->cow));
	/* The exception listing's columns: the two that make a diff. */
	r = tout_init(&c.t, snapcow_field_get(SNAPCOW_F_DIFF)->name,
		      exception_cols, E_AREA,
		      "OLD_CHUNK,NEW_CHUNK", &d->o->t, &d->doc, stdout);
	if (r)
		return r;
	c.a = malloc(PIECE_BYTES);
	c.b = malloc(PIECE_BYTES);
	if (!c.a || !c.b) {
		error_msg("%s", strerror(ENOMEM));
		r = -ENOMEM;
		goto out;
	}
	r = snapcow_store_foreach_run(d->s, diff_run, &c);
	if (r < 0)
		goto out;
	verbose_msg("%" PRIu64 " of %" PRIu64 " exceptions hold data that "
		    "differs from the origin", c.differ, c.saved);
	r = flush_members(d) ?: tout_print(&c.t);
out:
	tout_free(&c.t);
	free(c.a);
	free(c.b);
	return r;
}

/* ------------------------------------------------------------- main */

static int dump_sections(struct dump *d)
{
	struct snapcow_header hdr;
	int r;

	r = read_header(d->cow, &hdr);
	if (r < 0)
		return r;
	if (d->o->header)
		r = dump_header(d, &hdr);
	if (!r && d->root)
		r = dump_status(d);
	/* Header first: it shows why a COW that will not load is refused. */
	if (!d->s)
		return -EINVAL;
	if (!r && d->o->areas)
		r = dump_areas(d);
	if (!r && d->o->exceptions)
		r = dump_exceptions(d);
	return r;
}

static int dump_mode(struct dump *d)
{
	uint64_t n;

	if (d->o->diff)
		return d->s ? dump_diff(d) : -EINVAL;
	if (d->o->metadata)
		return dump_metadata(d);
	if (!d->o->chunk)
		return dump_sections(d);
	if (!d->cs) {
		error_msg("%s: no chunk size to find chunk %s by: give "
			  "--chunk-size", snapcow_dev_path(d->cow),
			  d->o->chunk);
		return -EINVAL;
	}
	parse_u64(d->o->chunk, &n);
	return dump_chunk(d, n);
}

static int run(const char *cow_path, uint32_t cs, const struct dump_opts *o)
{
	struct dump d = { .o = o, .cs = cs };
	int r;

	if (o->origin) {
		r = open_dev(o->origin, 0, &d.origin);
		if (r < 0)
			return r;
	}
	r = open_dev(cow_path, 0, &d.cow);
	if (!r && d.origin)
		r = check_distinct(d.origin, "origin", d.cow, "COW",
				   RULE_COW_ON_ORIGIN);
	if (r < 0)
		goto out;
	/* A COW that does not load is still dumped as far as it goes. */
	if (load_store(d.cow, cs, o->metadata ? SNAPCOW_STORE_ALL_RECORDS : 0,
		       &d.s) == 0) {
		snapcow_store_get_info(d.s, &d.info);
		d.cs = d.info.chunk_size;
	}
	d.titles = !o->t.json && o->header + o->areas + o->exceptions > 1;
	if (o->t.json && !o->chunk) {
		d.root = json_object_new_object();
		r = jcheck(d.root ? snapcow_field_add_str(d.root,
					SNAPCOW_F_COW, cow_path) : -ENOMEM);
		if (r < 0)
			goto out;
		tout_doc_begin(&d.doc, stdout);
	}
	r = dump_mode(&d);
	if (d.root) {
		/* One document, even when the dump stopped half way. */
		int w = flush_members(&d) ?: tout_doc_end(&d.doc);

		r = r ?: w;
	}
out:
	json_object_put(d.root);
	snapcow_store_free(d.s);
	snapcow_dev_close(d.cow);
	snapcow_dev_close(d.origin);
	return r;
}

static int check_modes(struct dump_opts *o)
{
	bool sections = o->header || o->areas || o->exceptions ||
			o->all_slots;
	int listings = o->areas + (o->exceptions || o->all_slots) + o->diff;
	bool table = o->t.output || o->t.raw || o->t.noheadings || o->t.json;
	uint64_t n;

	if (o->metadata && (sections || o->diff || o->chunk ||
			    o->t.output || o->t.raw || o->t.noheadings))
		return usage_error(&cli, "--metadata dumps the whole metadata "
				   "as one JSON document: no other selector "
				   "or table option with it");
	if (o->metadata) {
		o->t.json = 1;
		return 0;
	}
	if (o->chunk && (sections || o->diff || table))
		return usage_error(&cli, "--raw-chunk shows one raw chunk: no "
				   "other selector or table option with it");
	if (o->t.output && (listings != 1 || o->header))
		return usage_error(&cli, "--output chooses the columns of one "
				   "listing: give one of --areas, "
				   "--exceptions, --diff");
	if (o->chunk && parse_u64(o->chunk, &n) < 0)
		return usage_error(&cli, "--raw-chunk %s: not a chunk number",
				   o->chunk);
	if (o->hexdump && !o->chunk)
		return usage_error(&cli, "--hexdump needs --raw-chunk");
	if (o->diff && sections)
		return usage_error(&cli, "--diff lists chunks: no other "
				   "selector with it");
	if (!!o->diff != !!o->origin)
		return usage_error(&cli, "--diff and --origin go together");
	if (o->chunk && !o->hexdump && isatty(STDOUT_FILENO)) {
		error_msg("refusing to write a binary chunk to a terminal: "
			  "redirect it or use --hexdump");
		return EXIT_FAIL;
	}
	if (o->all_slots)
		o->exceptions = 1;
	if (!sections)
		o->header = o->areas = o->exceptions = 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct dump_opts o = { 0 };
	const char **args;
	uint32_t cs;
	int n, rc;
	struct poptOption options[] = {
		TOUT_OPTIONS(o.t),
		/* -j, as snapctl has it, besides util-linux's -J. */
		{ NULL, 'j', POPT_ARG_NONE | POPT_ARGFLAG_DOC_HIDDEN,
		  &o.t.json, 0, NULL, NULL },
		{ "header", 'H', POPT_ARG_NONE, &o.header, 0,
		  "show the header", NULL },
		{ "areas", 'a', POPT_ARG_NONE, &o.areas, 0,
		  "show every metadata area up to the current one", NULL },
		{ "exceptions", 'e', POPT_ARG_NONE, &o.exceptions, 0,
		  "show every exception record, in disk order", NULL },
		{ "all-slots", 'A', POPT_ARG_NONE, &o.all_slots, 0,
		  "show the records past the list's end too", NULL },
		{ "raw-chunk", 'R', POPT_ARG_STRING, &o.chunk, OPT_STRING,
		  "write raw COW chunk N to standard output", "N" },
		{ "hexdump", 'C', POPT_ARG_NONE, &o.hexdump, 0,
		  "with --raw-chunk: print hexdump -C lines instead", NULL },
		{ "origin", 'o', POPT_ARG_STRING, &o.origin, OPT_STRING,
		  "the snapshot's origin, for --diff", "ORIGIN" },
		{ "diff", 'd', POPT_ARG_NONE, &o.diff, 0,
		  "list the chunks in which the snapshot and the origin "
		  "differ", NULL },
		{ "metadata", 'm', POPT_ARG_NONE, &o.metadata, 0,
		  "dump the header and the records for 'snapctl restore' "
		  "(JSON)", NULL },
		{ "chunk-size", 'c', POPT_ARG_STRING, &o.chunk_size,
		  OPT_STRING,
		  "the table's chunk size (default: from the header)",
		  "SIZE" },
		COMMON_OPTIONS,
		POPT_TABLEEND
	};
	poptContext ctx;

	prog_name = "snapdump";
	ctx = poptGetContext(NULL, argc, (const char **)argv, options, 0);
	rc = cli_parse(ctx, &cli, options);
	if (rc >= 0)
		goto out;
	args = cli_args(ctx, &n);
	if (n != 1) {
		rc = usage_error(&cli, n ? "too many arguments" :
				 "no COW device given");
		goto out;
	}
	rc = check_modes(&o);
	rc = rc ?: cli_chunk_size(&cli, args[0], o.chunk_size, 0, &cs);
	if (rc)
		goto out;
	rc = run(args[0], cs, &o) < 0 ? EXIT_FAIL : EXIT_OK;
out:
	free(o.t.output);
	free(o.chunk);
	free(o.origin);
	free(o.chunk_size);
	poptFreeContext(ctx);
	return finish(rc);
}
