// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tools/table-out.c: the streamed listing is byte for byte what
 * libsmartcols prints for the same table (aligned text, --raw,
 * --noheadings, --json, chosen columns), and a document member is the
 * table's own document without its braces.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "table-out.h"
#include "tap.h"

enum { C_OLD, C_NEW, C_AREA, C_STATE, C_FULL, NCOLS };

static const struct tout_col cols[NCOLS] = {
	[C_OLD] = { "OLD_CHUNK", SCOLS_JSON_NUMBER, true },
	[C_NEW] = { "NEW_CHUNK", SCOLS_JSON_NUMBER, true },
	[C_AREA] = { "AREA", SCOLS_JSON_NUMBER, true },
	[C_STATE] = { "STATE", SCOLS_JSON_STRING, false },
	[C_FULL] = { "FULL", SCOLS_JSON_BOOLEAN, false },
};

/* Row i of a small listing: numbers of every width, words, booleans. */
static void cells_of(uint64_t i, char buf[NCOLS][24], const char **cells)
{
	static const uint64_t olds[] = { 0, 7, 123456789012ULL, 42, 5 };

	snprintf(buf[C_OLD], 24, "%llu", (unsigned long long)olds[i % 5]);
	snprintf(buf[C_NEW], 24, "%llu", (unsigned long long)(i * 997 + 2));
	snprintf(buf[C_AREA], 24, "%llu", (unsigned long long)(i / 3));
	strcpy(buf[C_STATE], i % 4 == 3 ? "dead" : "live");
	strcpy(buf[C_FULL], i % 2 ? "yes" : "no");
	for (int c = 0; c < NCOLS; c++)
		cells[c] = buf[c];
}

/* A listing printed into memory. */
struct capture {
	struct tout t;
	char *text;
	size_t len;
	FILE *f;
	char buf[NCOLS][24];
	const char *cells[NCOLS];
};

static int capture_open(struct capture *c, const struct tout_opts *o,
			const char *deflt, struct tout_doc *doc)
{
	c->text = NULL;
	c->f = open_memstream(&c->text, &c->len);
	if (doc)
		doc->out = c->f;
	return tout_init(&c->t, "exceptions", cols, NCOLS, deflt, o, doc,
			 c->f);
}

static char *capture_close(struct capture *c)
{
	tout_free(&c->t);
	fclose(c->f);
	return c->text;
}

enum pass { ADD, MEASURE, ROW };

/* Give every row to the table: held, measured or streamed. */
static void each_row(struct capture *c, uint64_t rows, enum pass pass)
{
	uint64_t i;

	for (i = 0; i < rows; i++) {
		cells_of(i, c->buf, c->cells);
		if (pass == ADD)
			tout_add(&c->t, c->cells);
		else if (pass == MEASURE)
			tout_measure(&c->t, c->cells);
		else
			tout_row(&c->t, c->cells);
	}
}

static char *by_libsmartcols(const struct tout_opts *o, const char *deflt,
			     uint64_t rows, struct tout_doc *doc)
{
	struct capture c;

	if (!capture_open(&c, o, deflt, doc)) {
		each_row(&c, rows, ADD);
		tout_print(&c.t);
	}
	return capture_close(&c);
}

static char *streamed(const struct tout_opts *o, const char *deflt,
		      uint64_t rows, struct tout_doc *doc)
{
	struct capture c;

	if (!capture_open(&c, o, deflt, doc)) {
		/* Aligned text: every row measured first, as snapdump does. */
		if (!o->json)
			each_row(&c, rows, MEASURE);
		tout_begin(&c.t);
		each_row(&c, rows, ROW);
		tout_end(&c.t);
	}
	return capture_close(&c);
}

static void same(const struct tout_opts *o, const char *deflt, uint64_t rows)
{
	char *a = by_libsmartcols(o, deflt, rows, NULL);
	char *b = streamed(o, deflt, rows, NULL);

	ok(a && b && !strcmp(a, b), "output %s, %llu rows, raw %d, "
	   "noheadings %d, json %d:\n--- libsmartcols\n%s--- streamed\n%s",
	   o->output ? o->output : deflt, (unsigned long long)rows, o->raw,
	   o->noheadings, o->json, a, b);
	free(a);
	free(b);
}

/* Every mode on 0, 1, 2 and 9 rows, with the columns in two orders. */
static void test_layouts(void)
{
	static const uint64_t rows[] = { 0, 1, 2, 9 };
	static const char *lists[] = {
		"OLD_CHUNK,NEW_CHUNK,AREA,STATE",
		"STATE,FULL,AREA,OLD_CHUNK",	/* text first, number last */
		"AREA",
	};
	struct tout_opts o = { 0 };
	int mode;
	size_t l, r;

	for (mode = 0; mode < 4; mode++) {
		o.raw = mode == 1;
		o.noheadings = mode == 2;
		o.json = mode == 3;
		for (l = 0; l < 3; l++)
			for (r = 0; r < 4; r++)
				same(&o, lists[l], rows[r]);
	}
	o.json = 0;
	o.raw = o.noheadings = 1;
	same(&o, lists[0], 9);
}

/* --output replaces the default; +LIST appends; names ignore case. */
static void test_output(void)
{
	struct tout_opts o = { .output = "new_chunk,Old_Chunk" };
	struct tout t;

	ok(!tout_init(&t, "x", cols, NCOLS, "AREA", &o, NULL, stdout), "list");
	ok_eq(t.nids, 2, "two columns");
	ok_eq(t.ids[0], C_NEW, "first");
	ok_eq(t.ids[1], C_OLD, "second");
	o.output = "+FULL";
	ok(!tout_init(&t, "x", cols, NCOLS, "AREA,STATE", &o, NULL, stdout),
	   "append");
	ok_eq(t.nids, 3, "default and one");
	ok_eq(t.ids[2], C_FULL, "appended last");
	o.output = "AREA,SLOT";
	ok(tout_init(&t, "x", cols, NCOLS, "AREA", &o, NULL, stdout) < 0,
	   "unknown column refused");
	o.output = "AREA,";
	ok(tout_init(&t, "x", cols, NCOLS, "AREA", &o, NULL, stdout) < 0,
	   "empty column refused");
}

/* A member of a document is the table's document without its braces. */
static void test_document(void)
{
	struct tout_opts o = { .json = 1 };
	struct tout_doc doc = { 0 };
	char *alone = by_libsmartcols(&o, "OLD_CHUNK,STATE", 3, NULL);
	char *member = by_libsmartcols(&o, "OLD_CHUNK,STATE", 3, &doc);
	char *stream = streamed(&o, "OLD_CHUNK,STATE", 3, &doc);
	size_t n = alone ? strlen(alone) : 0;

	ok(n > 5 && member && strlen(member) == n - 5 &&
	   !strncmp(alone + 2, member, n - 5), "member:\n%s\n%s", alone,
	   member);
	ok(stream && member && !strncmp(stream, ",\n", 2) &&
	   !strcmp(stream + 2, member), "streamed member after another:\n%s",
	   stream);
	free(alone);
	free(member);
	free(stream);
}

int main(void)
{
	prog_name = "test-table-out";
	plan(3);
	run(test_layouts);
	run(test_output);
	run(test_document);
	return done();
}
