/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A JSON document read member by member and array element by element,
 * never whole (json-scan.c): the scanner only finds where each value
 * ends, json-c parses the value.  snapctl restore reads a dump of
 * millions of records this way in the memory of one.
 */
#ifndef SNAPCOW_TOOLS_JSON_SCAN_H
#define SNAPCOW_TOOLS_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct json_object;

struct jscan {
	FILE *f;
	const char *path;	/* for messages */
	uint64_t pos;		/* bytes consumed */
	char *buf;		/* the value being read */
	size_t len, cap;
};

/* 0, or -errno after saying why. */
int jscan_open(struct jscan *s, const char *path);
void jscan_close(struct jscan *s);
/* Skip white space: the next byte, not consumed, or EOF. */
int jscan_peek(struct jscan *s);
/* Consume the next byte (after white space). */
void jscan_skip(struct jscan *s);
/*
 * The next value, parsed: 0 with *@v (NULL for null; the caller puts
 * it), or -EINVAL after saying where the document is not JSON.
 */
int jscan_value(struct jscan *s, struct json_object **v);
/*
 * Consume @a or @b (after white space): which one, or -EINVAL after
 * saying what was found instead.
 */
int jscan_either(struct jscan *s, char a, char b);
/* -EINVAL after saying the document is not JSON at the next byte. */
int jscan_error_here(struct jscan *s, const char *what);

#endif /* SNAPCOW_TOOLS_JSON_SCAN_H */
