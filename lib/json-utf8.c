// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Every JSON document snapcow prints must be valid UTF-8, but file names
 * are bytes and json-c copies them through unchanged.  A string that is
 * not valid UTF-8 gets each byte that starts no valid sequence replaced
 * by U+FFFD, so that no reader can mistake it for another, existing
 * name; the exact bytes follow in a sibling member "<key>_hex" (lower
 * case hex of the whole string), or, for strings in an array, in a
 * parallel array "<key>_hex" with null for the elements left alone.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "snapcow.h"
#include "util.h"

#define HEX_SUFFIX	"_hex"

/* Length of the valid UTF-8 sequence at @p (RFC 3629), 0 if none. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

static bool utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0, len;

	while (i < n) {
		len = utf8_seq(p + i, n - i);
		if (!len)
			return false;
		i += len;
	}
	return true;
}

/* @p with every byte that starts no valid sequence as U+FFFD. */
static struct json_object *replaced(const unsigned char *p, size_t n)
{
	static const char fffd[] = "\xef\xbf\xbd";
	struct json_object *o;
	size_t i = 0, k = 0, len;
	char *out = malloc(3 * n + 1);

	if (!out)
		return NULL;
	while (i < n) {
		len = utf8_seq(p + i, n - i);
		if (len) {
			memcpy(out + k, p + i, len);
			k += len;
			i += len;
		} else {
			memcpy(out + k, fffd, 3);
			k += 3;
			i++;
		}
	}
	o = json_object_new_string_len(out, (int)k);
	free(out);
	return o;
}

static struct json_object *hex_of(const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	struct json_object *o;
	char *out = malloc(2 * n + 1);
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	o = json_object_new_string_len(out, (int)(2 * n));
	free(out);
	return o;
}

static int walk(struct json_object *o);

/*
 * A string in need of repair: *@fixed gets its replacement and *@hex its
 * bytes; both stay NULL for a valid string.
 */
static int fix_string(struct json_object *s, struct json_object **fixed,
		      struct json_object **hex)
{
	const char *text = json_object_get_string(s);
	const unsigned char *p = (const unsigned char *)text;
	size_t n = (size_t)json_object_get_string_len(s);

	*fixed = *hex = NULL;
	if (utf8_valid(p, n))
		return 0;
	*fixed = replaced(p, n);
	*hex = hex_of(p, n);
	if (*fixed && *hex)
		return 1;
	json_object_put(*fixed);
	json_object_put(*hex);
	return -ENOMEM;
}

/* Repair the strings of array @a; *@hexes the parallel array, or NULL. */
static int fix_array(struct json_object *a, struct json_object **hexes)
{
	size_t i, n = json_object_array_length(a);
	struct json_object *e, *fixed, *hex;
	int r;

	*hexes = NULL;
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_string)) {
			r = walk(e);
			if (r)
				return r;
			continue;
		}
		r = fix_string(e, &fixed, &hex);
		if (r <= 0) {
			if (r)
				return r;
			continue;
		}
		if (json_object_array_put_idx(a, i, fixed) < 0) {
			json_object_put(fixed);
			json_object_put(hex);
			return -ENOMEM;
		}
		if (!*hexes)
			*hexes = json_object_new_array_ext((int)n);
		if (!*hexes || json_object_array_put_idx(*hexes, i, hex) < 0) {
			json_object_put(hex);
			return -ENOMEM;
		}
	}
	/* Trailing valid elements are nulls too: same length as @a. */
	if (*hexes && json_object_array_length(*hexes) < n &&
	    json_object_array_put_idx(*hexes, n - 1, NULL) < 0)
		return -ENOMEM;
	return 0;
}

/* Add "@key_hex" = @hex to @o (taking @hex). */
static int add_hex(struct json_object *o, const char *key,
		   struct json_object *hex)
{
	size_t len = strlen(key);
	char *name = malloc(len + sizeof(HEX_SUFFIX));
	int r;

	if (!name) {
		json_object_put(hex);
		return -ENOMEM;
	}
	memcpy(name, key, len);
	memcpy(name + len, HEX_SUFFIX, sizeof(HEX_SUFFIX));
	r = json_object_object_add(o, name, hex) < 0 ? -ENOMEM : 0;
	if (r)
		json_object_put(hex);
	free(name);
	return r;
}

/* Fix one member; *@hex is what to add once the iteration is over. */
static int fix_member(struct json_object *o, const char *key,
		      struct json_object *v, struct json_object **hex)
{
	struct json_object *fixed;
	int r;

	*hex = NULL;
	if (json_object_is_type(v, json_type_array))
		return fix_array(v, hex);
	if (!json_object_is_type(v, json_type_string))
		return walk(v);
	r = fix_string(v, &fixed, hex);
	if (r <= 0)
		return r;
	/* Replacing an existing key's value does not disturb the walk. */
	if (json_object_object_add(o, key, fixed) < 0) {
		json_object_put(*hex);
		*hex = NULL;
		return -ENOMEM;
	}
	return 0;
}

struct pending {
	const char *key;
	struct json_object *hex;
};

static int walk_object(struct json_object *o)
{
	size_t n = (size_t)json_object_object_length(o), k = 0, i;
	struct pending *todo = calloc(n ? n : 1, sizeof(*todo));
	int r = 0;

	if (!todo)
		return -ENOMEM;
	json_object_object_foreach(o, key, v) {
		r = fix_member(o, key, v, &todo[k].hex);
		if (r)
			break;
		if (todo[k].hex)
			todo[k++].key = key;
	}
	/* Members are added only after the iteration. */
	for (i = 0; i < k; i++) {
		if (r)
			json_object_put(todo[i].hex);
		else
			r = add_hex(o, todo[i].key, todo[i].hex);
	}
	free(todo);
	return r;
}

static int walk(struct json_object *o)
{
	struct json_object *hex;
	int r;

	if (json_object_is_type(o, json_type_object))
		return walk_object(o);
	if (!json_object_is_type(o, json_type_array))
		return 0;
	r = fix_array(o, &hex);
	/* A top-level array has no key to hang the bytes on. */
	json_object_put(hex);
	return r;
}

SNAPCOW_EXPORT
int snapcow_json_utf8(struct json_object *o)
{
	return o ? walk(o) : 0;
}
