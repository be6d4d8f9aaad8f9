// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Listings: columns chosen by --output, printed by libsmartcols or
 * streamed in its layout (see table-out.h).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "common.h"
#include "table-out.h"

/* libsmartcols' JSON indent, one level. */
#define INDENT	"   "

/* ---------------------------------------------------------- columns */

static int col_id(const struct tout_col *cols, size_t ncols, const char *name,
		  size_t len)
{
	size_t i;

	for (i = 0; i < ncols; i++)
		if (strlen(cols[i].name) == len &&
		    !strncasecmp(cols[i].name, name, len))
			return (int)i;
	return -1;
}

/* The JSON key of a column: its name in lower case, as libsmartcols. */
static void key_of(char key[TOUT_KEY_SIZE], const char *name)
{
	size_t k;

	for (k = 0; name[k] && k + 1 < TOUT_KEY_SIZE; k++)
		key[k] = (char)(name[k] >= 'A' && name[k] <= 'Z' ?
				name[k] - 'A' + 'a' : name[k]);
	key[k] = '\0';
}

static int add_columns(struct tout *t, size_t ncols, const char *list)
{
	const char *p = list, *end;
	int id;

	do {
		end = strchrnul(p, ',');
		id = col_id(t->cols, ncols, p, (size_t)(end - p));
		if (id < 0) {
			error_msg("unknown column: '%.*s'", (int)(end - p), p);
			return -EINVAL;
		}
		if (t->nids == TOUT_MAX_COLS) {
			error_msg("too many columns: %s", list);
			return -EINVAL;
		}
		key_of(t->keys[t->nids], t->cols[id].name);
		t->ids[t->nids++] = id;
		p = end + 1;
	} while (*end);
	return 0;
}

int tout_init(struct tout *t, const char *name, const struct tout_col *cols,
	      size_t ncols, const char *deflt, const struct tout_opts *o,
	      struct tout_doc *doc, FILE *out)
{
	const char *list = o->output;
	int r = 0;

	memset(t, 0, sizeof(*t));
	t->name = name;
	t->cols = cols;
	t->o = o;
	t->doc = o->json ? doc : NULL;
	t->out = out;
	if (!list || *list == '+')
		r = add_columns(t, ncols, deflt);
	if (!r && list && *list == '+')
		r = add_columns(t, ncols, list + 1);
	else if (!r && list)
		r = add_columns(t, ncols, list);
	return r;
}

void tout_free(struct tout *t)
{
	scols_unref_table(t->tb);
	t->tb = NULL;
}

/* ----------------------------------------------------- libsmartcols */

static int table_new(struct tout *t)
{
	const struct tout_col *c;
	struct libscols_column *cl;
	size_t i;

	t->tb = scols_new_table();
	if (!t->tb)
		return -ENOMEM;
	scols_table_set_name(t->tb, t->name);
	scols_table_enable_json(t->tb, t->o->json);
	scols_table_enable_raw(t->tb, t->o->raw);
	scols_table_enable_noheadings(t->tb, t->o->noheadings);
	/* As streamed: never shrunk to a terminal's width. */
	scols_table_set_termforce(t->tb, SCOLS_TERMFORCE_NEVER);
	for (i = 0; i < t->nids; i++) {
		c = &t->cols[t->ids[i]];
		cl = scols_table_new_column(t->tb, c->name, 0,
					    c->right ? SCOLS_FL_RIGHT : 0);
		if (!cl || scols_column_set_json_type(cl, c->json_type))
			return -ENOMEM;
	}
	return 0;
}

int tout_add(struct tout *t, const char *const *cells)
{
	struct libscols_line *ln;
	size_t i;
	int r = t->tb ? 0 : table_new(t);

	ln = r ? NULL : scols_table_new_line(t->tb, NULL);
	for (i = 0; ln && i < t->nids; i++)
		if (scols_line_set_data(ln, i, cells[t->ids[i]]))
			ln = NULL;
	if (ln)
		return 0;
	error_msg("cannot build the table: %s", strerror(ENOMEM));
	return -ENOMEM;
}

static int doc_member(struct tout_doc *doc, const char *text, size_t len)
{
	if (doc->members++)
		fputs(",\n", doc->out);
	return fwrite(text, 1, len, doc->out) == len ? 0 : -EIO;
}

int tout_print(struct tout *t)
{
	char *text = NULL;
	size_t len;
	int r = t->tb ? 0 : table_new(t);

	if (r)
		goto nomem;
	scols_table_set_stream(t->tb, t->out);
	if (!t->doc)
		return scols_print_table(t->tb) ? -EIO : 0;
	if (scols_print_table_to_string(t->tb, &text))
		goto nomem;
	/* The table's member alone: without its document's "{\n", "\n}\n". */
	len = strlen(text);
	r = len > 5 ? doc_member(t->doc, text + 2, len - 5) : -EIO;
	free(text);
	return r;
nomem:
	error_msg("cannot build the table: %s", strerror(ENOMEM));
	return -ENOMEM;
}

/* --------------------------------------------------------- streamed */

void tout_measure(struct tout *t, const char *const *cells)
{
	size_t i, n;

	for (i = 0; i < t->nids; i++) {
		n = strlen(cells[t->ids[i]]);
		if (n > t->width[i])
			t->width[i] = n;
	}
}

/* A row is built here and written once: a million rows stay cheap. */
struct row_buf {
	char b[1024];
	size_t n;
	FILE *out;
};

static void put(struct row_buf *rb, const char *p, size_t len)
{
	if (rb->n + len > sizeof(rb->b)) {
		fwrite(rb->b, 1, rb->n, rb->out);
		rb->n = 0;
	}
	if (len > sizeof(rb->b)) {
		fwrite(p, 1, len, rb->out);
		return;
	}
	memcpy(rb->b + rb->n, p, len);
	rb->n += len;
}

static void put_str(struct row_buf *rb, const char *p)
{
	put(rb, p, strlen(p));
}

static void pad(struct row_buf *rb, size_t n)
{
	static const char spaces[] = "                                ";

	for (; n > sizeof(spaces) - 1; n -= sizeof(spaces) - 1)
		put(rb, spaces, sizeof(spaces) - 1);
	put(rb, spaces, n);
}

static void flush_row(struct row_buf *rb)
{
	fwrite(rb->b, 1, rb->n, rb->out);
}

static void text_line(struct tout *t, const char *const *cells, bool by_id)
{
	struct row_buf rb = { .out = t->out };
	bool aligned = !t->o->raw, right;
	const char *cell;
	size_t i, n;

	for (i = 0; i < t->nids; i++) {
		cell = cells[by_id ? (size_t)t->ids[i] : i];
		n = strlen(cell);
		right = t->cols[t->ids[i]].right;
		if (i)
			put(&rb, " ", 1);
		if (aligned && right)
			pad(&rb, t->width[i] - n);
		put(&rb, cell, n);
		/* The last column is not padded. */
		if (aligned && !right && i + 1 < t->nids)
			pad(&rb, t->width[i] - n);
	}
	put(&rb, "\n", 1);
	flush_row(&rb);
}

int tout_begin(struct tout *t)
{
	size_t i, n;

	t->rows = 0;
	if (t->o->json) {
		if (!t->doc)
			fputs("{\n", t->out);
		else if (t->doc->members++)
			fputs(",\n", t->out);
		fprintf(t->out, INDENT "\"%s\": [\n", t->name);
		return 0;
	}
	for (i = 0; i < t->nids; i++) {
		n = strlen(t->cols[t->ids[i]].name);
		if (n > t->width[i])
			t->width[i] = n;
	}
	return 0;
}

/* libsmartcols prints no headings for a table without rows. */
static void text_headings(struct tout *t)
{
	const char *names[TOUT_MAX_COLS];
	size_t i;

	for (i = 0; i < t->nids; i++)
		names[i] = t->cols[t->ids[i]].name;
	text_line(t, names, false);
}

static void json_value(struct row_buf *rb, int type, const char *cell)
{
	switch (type) {
	case SCOLS_JSON_NUMBER:
		put_str(rb, *cell ? cell : "null");
		break;
	case SCOLS_JSON_BOOLEAN:
		put_str(rb, !*cell || *cell == '0' || *cell == 'N' ||
			*cell == 'n' ? "false" : "true");
		break;
	default:
		put(rb, "\"", 1);
		put_str(rb, cell);
		put(rb, "\"", 1);
	}
}

static void json_row(struct tout *t, const char *const *cells)
{
	struct row_buf rb = { .out = t->out };
	size_t i;

	put_str(&rb, t->rows ? INDENT INDENT "},{\n" : INDENT INDENT "{\n");
	for (i = 0; i < t->nids; i++) {
		put_str(&rb, INDENT INDENT INDENT "\"");
		put_str(&rb, t->keys[i]);
		put_str(&rb, "\": ");
		json_value(&rb, t->cols[t->ids[i]].json_type,
			   cells[t->ids[i]]);
		put_str(&rb, i + 1 < t->nids ? ",\n" : "\n");
	}
	flush_row(&rb);
}

int tout_row(struct tout *t, const char *const *cells)
{
	if (t->o->json) {
		json_row(t, cells);
	} else {
		if (!t->rows && !t->o->noheadings)
			text_headings(t);
		text_line(t, cells, true);
	}
	t->rows++;
	return ferror(t->out) ? -EIO : 0;
}

int tout_end(struct tout *t)
{
	if (t->o->json) {
		fputs(t->rows ? INDENT INDENT "}\n" INDENT "]" :
		      "\n" INDENT "]", t->out);
		if (!t->doc)
			fputs("\n}\n", t->out);
	}
	return ferror(t->out) ? -EIO : 0;
}

/* --------------------------------------------------------- document */

void tout_doc_begin(struct tout_doc *doc, FILE *out)
{
	doc->out = out;
	doc->members = 0;
	fputs("{\n", out);
}

/* json-c's pretty print indents by two: re-indent by three, one deeper. */
static void put_reindented(FILE *out, const char *text)
{
	const char *line = text, *nl = text;
	size_t spaces;

	for (; *line; line = *nl ? nl + 1 : nl) {
		nl = strchrnul(line, '\n');
		spaces = strspn(line, " ");
		if (line != text)
			fprintf(out, "\n%*s", (int)(spaces / 2 * 3 + 3), "");
		fwrite(line + spaces, 1, (size_t)(nl - line) - spaces, out);
	}
}

int tout_doc_object(struct tout_doc *doc, const char *key,
		    struct json_object *o)
{
	const char *text = "null";

	/* File names are bytes: the document must still be UTF-8. */
	if (o && snapcow_json_utf8(o) == 0)
		text = json_object_to_json_string_ext(o,
				JSON_C_TO_STRING_PRETTY |
				JSON_C_TO_STRING_SPACED |
				JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text) {
		error_msg("cannot build the JSON document: %s",
			  strerror(ENOMEM));
		return -ENOMEM;
	}
	if (doc->members++)
		fputs(",\n", doc->out);
	fprintf(doc->out, INDENT "\"%s\": ", key);
	put_reindented(doc->out, text);
	return 0;
}

int tout_doc_end(struct tout_doc *doc)
{
	fputs(doc->members ? "\n}\n" : "}\n", doc->out);
	return ferror(doc->out) ? -EIO : 0;
}
