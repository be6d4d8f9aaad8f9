/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Listings as util-linux prints them: one table definition gives the
 * aligned text, --raw, --noheadings and --json, with the columns that
 * --output chose.  Small tables go through libsmartcols; a listing too
 * big to hold (snapdump's exceptions) is streamed row by row in exactly
 * libsmartcols' layout (tests/unit/test-table-out.c proves it byte for
 * byte).  A tool whose JSON document has other members too prints them
 * around its tables through a struct tout_doc.
 */
#ifndef SNAPCOW_TOOLS_TABLE_OUT_H
#define SNAPCOW_TOOLS_TABLE_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libsmartcols.h>

#define TOUT_MAX_COLS	8
#define TOUT_KEY_SIZE	32

/* A column a listing can show; its JSON key is @name lower-cased. */
struct tout_col {
	const char *name;	/* "OLD_CHUNK" */
	int json_type;		/* SCOLS_JSON_NUMBER, _STRING or _BOOLEAN */
	bool right;		/* numbers are right-aligned */
};

/* The options of every listing, filled by TOUT_OPTIONS. */
struct tout_opts {
	char *output;		/* --output LIST, or +LIST to append */
	int noheadings;
	int raw;
	int json;
};

/* A listing whose JSON is a document of its own: no --json here. */
#define TOUT_TEXT_OPTIONS(o) \
	{ "output", '\0', POPT_ARG_STRING, &(o).output, OPT_STRING, \
	  "the columns to list (+LIST appends to the default)", "LIST" }, \
	{ "noheadings", 'n', POPT_ARG_NONE, &(o).noheadings, 0, \
	  "do not print the column headings", NULL }, \
	{ "raw", 'r', POPT_ARG_NONE, &(o).raw, 0, \
	  "list in raw format (columns separated by one space)", NULL }

#define TOUT_OPTIONS(o) \
	TOUT_TEXT_OPTIONS(o), \
	{ "json", 'J', POPT_ARG_NONE, &(o).json, 0, \
	  "print one JSON document", NULL }

/* One JSON document made of members: tables and json-c objects. */
struct tout_doc {
	FILE *out;
	unsigned int members;
};

/* A listing: its columns, the ones chosen, and where it is printed. */
struct tout {
	const char *name;		/* the JSON key of the rows' array */
	const struct tout_col *cols;	/* every column, by id */
	size_t nids;
	int ids[TOUT_MAX_COLS];		/* the chosen ones, in order */
	char keys[TOUT_MAX_COLS][TOUT_KEY_SIZE];	/* their JSON keys */
	const struct tout_opts *o;
	struct tout_doc *doc;		/* NULL: a document of its own */
	FILE *out;
	struct libscols_table *tb;	/* tout_add and tout_print only */
	size_t width[TOUT_MAX_COLS];	/* streamed text: from tout_measure */
	uint64_t rows;			/* streamed so far */
};

/*
 * Choose the columns of @ncols @cols: @o->output, or @deflt ("A,B")
 * with "+LIST" appended.  Prints why and returns -EINVAL for an unknown
 * column.  @doc may be NULL.
 */
int tout_init(struct tout *t, const char *name, const struct tout_col *cols,
	      size_t ncols, const char *deflt, const struct tout_opts *o,
	      struct tout_doc *doc, FILE *out);
void tout_free(struct tout *t);

/*
 * Held in memory by libsmartcols: @cells has one string per column id
 * (every column, chosen or not).
 */
int tout_add(struct tout *t, const char *const *cells);
int tout_print(struct tout *t);

/*
 * Streamed in constant memory, in libsmartcols' layout: aligned text
 * needs every row measured first (tout_measure over all rows, then
 * tout_begin, tout_row over the same rows, tout_end).  Only numbers and
 * words without spaces or quotes are streamed.
 */
void tout_measure(struct tout *t, const char *const *cells);
int tout_begin(struct tout *t);
int tout_row(struct tout *t, const char *const *cells);
int tout_end(struct tout *t);

/* A document of members: "{", then tables and objects, then "}". */
void tout_doc_begin(struct tout_doc *doc, FILE *out);
/* Member @key: @o (NULL: null) pretty-printed in libsmartcols' indent. */
int tout_doc_object(struct tout_doc *doc, const char *key,
		    struct json_object *o);
int tout_doc_end(struct tout_doc *doc);

#endif /* SNAPCOW_TOOLS_TABLE_OUT_H */
