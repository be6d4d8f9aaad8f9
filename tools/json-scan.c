// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Read a JSON document a value at a time (see json-scan.h).  A value is
 * gathered byte by byte up to its end, found by counting brackets
 * outside strings, and handed to json-c; byte offsets in messages are
 * the document's.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common.h"
#include "json-scan.h"

int jscan_open(struct jscan *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	s->path = path;
	s->f = fopen(path, "r");
	if (s->f)
		return 0;
	error_msg("%s: %s", path, strerror(errno));
	return -errno;
}

void jscan_close(struct jscan *s)
{
	if (s->f)
		fclose(s->f);
	free(s->buf);
}

static int get(struct jscan *s)
{
	int c = getc(s->f);

	if (c != EOF)
		s->pos++;
	return c;
}

static void unget(struct jscan *s, int c)
{
	if (c == EOF)
		return;
	ungetc(c, s->f);
	s->pos--;
}

static bool space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int jscan_peek(struct jscan *s)
{
	int c;

	do
		c = get(s);
	while (space(c));
	unget(s, c);
	return c;
}

void jscan_skip(struct jscan *s)
{
	jscan_peek(s);
	get(s);
}

int jscan_error_here(struct jscan *s, const char *what)
{
	if (jscan_peek(s) == EOF)
		error_msg("%s: not JSON: the document ends early (byte %" PRIu64
			  ")", s->path, s->pos);
	else
		error_msg("%s: not JSON: %s at byte %" PRIu64, s->path, what,
			  s->pos);
	return -EINVAL;
}

int jscan_either(struct jscan *s, char a, char b)
{
	int c = jscan_peek(s);

	if (c != a && c != b)
		return jscan_error_here(s, "unexpected character");
	get(s);
	return c;
}

static int append(struct jscan *s, int c)
{
	char *p;

	if (s->len == s->cap) {
		p = realloc(s->buf, s->cap ? 2 * s->cap : 256);
		if (!p)
			return json_failed(NULL);
		s->buf = p;
		s->cap = s->cap ? 2 * s->cap : 256;
	}
	s->buf[s->len++] = (char)c;
	return 0;
}

/*
 * Gather the next value into s->buf: up to its closing bracket or
 * quote, or for a number or word up to what follows it.
 */
static int gather(struct jscan *s)
{
	bool in_string = false, escape = false;
	unsigned int depth = 0;
	int c, r = 0;

	s->len = 0;
	for (;;) {
		c = get(s);
		if (c == EOF)
			return depth || in_string ? 1 : 0;
		if (!in_string && !depth &&
		    (space(c) || strchr(",:]}", c))) {
			unget(s, c);
			return 0;
		}
		r = append(s, c);
		if (r)
			return r;
		if (in_string) {
			if (escape)
				escape = false;
			else if (c == '\\')
				escape = true;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		}
		/* A string or container just closed; a word goes on. */
		if (!in_string && !depth && strchr("\"}]", c))
			return 0;
	}
}

int jscan_value(struct jscan *s, struct json_object **v)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	uint64_t start;
	int r;

	*v = NULL;
	jscan_peek(s);
	start = s->pos;
	r = gather(s);
	if (r < 0)
		return r;
	if (r > 0 || !s->len)
		return jscan_error_here(s, "unexpected character");
	tok = json_tokener_new();
	r = append(s, '\0');
	if (!tok || r) {
		json_tokener_free(tok);
		return json_failed(NULL);
	}
	/* With its NUL: json-c only ends a number it sees followed. */
	*v = json_tokener_parse_ex(tok, s->buf, (int)s->len);
	s->len--;
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue)
		jerr = json_tokener_error_parse_eof;
	if (jerr || json_tokener_get_parse_end(tok) < s->len) {
		error_msg("%s: not JSON: %s at byte %" PRIu64, s->path,
			  jerr ? json_tokener_error_desc(jerr) :
				 "unexpected character",
			  start + json_tokener_get_parse_end(tok));
		json_object_put(*v);
		*v = NULL;
		r = -EINVAL;
	}
	json_tokener_free(tok);
	return r;
}
