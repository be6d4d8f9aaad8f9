/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lib/status.c and lib/json-utf8.c: the IMA string cannot be forged by a
 * device name, and every JSON document is valid UTF-8 whatever the names,
 * with the exact bytes kept in "<key>_hex".  Expected strings are written
 * out by hand from the rules in snapctl(8).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "snapcow.h"
#include "memdev.h"
#include "tap.h"

#define KIB 1024u

/* A bad name: separators, a backslash, a space, a lone 0xe9, 0xff. */
#define BAD_NAME	"a,b;c=d\\e f\xe9\xff"

static char errbuf[SNAPCOW_ERRBUF_SIZE];

static struct snapcow_store *cow_named(struct memdev **mp, const char *name)
{
	struct memdev *m = memdev_new(64 * KIB, name);
	struct snapcow_store *s = NULL;

	*mp = m;
	if (snapcow_store_format(m->dev, 8, errbuf, sizeof(errbuf)) ||
	    snapcow_store_load(m->dev, 0, 0, &s, errbuf, sizeof(errbuf)))
		printf("# %s\n", errbuf);
	return s;
}

static void test_ima_escapes_names(void)
{
	struct memdev *m;
	struct snapcow_store *s = cow_named(&m, BAD_NAME);
	char buf[1024];
	int n;

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	n = snapcow_status_ima(s, "x=1,y;" BAD_NAME, buf, sizeof(buf));
	ok(n > 0, "formats: %d", n);
	ok(!strcmp(buf, "target_name=snapshot,target_version=1.16.0,"
		   "snap_origin_name=x\\x3d1\\x2cy\\x3ba\\x2cb\\x3bc\\x3dd"
		   "\\x5ce\\x20f\\xe9\\xff,"
		   "snap_cow_name=a\\x2cb\\x3bc\\x3dd\\x5ce\\x20f\\xe9\\xff,"
		   "snap_valid=y,snap_merge_failed=n,snapshot_overflowed=n;"),
	   "escaped: %s", buf);
	/* Block devices are named major:minor and pass unchanged. */
	snapcow_status_ima(s, "253:11", buf, sizeof(buf));
	ok(strstr(buf, ",snap_origin_name=253:11,") != NULL, "%s", buf);
	ok_eq(snapcow_status_ima(s, "253:11", buf, 40), -ENOSPC, "short");
	snapcow_store_free(s);
out:
	memdev_free(m);
}

static json_object *parse(const char *text)
{
	json_object *o = json_tokener_parse(text);

	if (!o)
		abort();
	return o;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return "(absent)";
	if (!v)
		return "(null)";
	return json_object_get_string(v);
}

static void test_status_json_utf8(void)
{
	struct memdev *m;
	struct snapcow_store *s = cow_named(&m, BAD_NAME);
	struct memdev *origin = memdev_new(1 << 20, "ok\xc3\xa9");
	json_object *o;

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	o = snapcow_status_json(s, origin->dev);
	ok(o != NULL, "built");
	if (o) {
		ok(!strcmp(str(o, "cow"), "a,b;c=d\\e f"
			   "\xef\xbf\xbd\xef\xbf\xbd"), "%s",
		   str(o, "cow"));
		ok(!strcmp(str(o, "cow_hex"),
			   "612c623b633d645c652066e9ff"), "%s",
		   str(o, "cow_hex"));
		ok(!strcmp(str(o, "origin"), "ok\xc3\xa9"), "valid kept");
		ok(!strcmp(str(o, "origin_hex"), "(absent)"),
		   "no hex for a valid name");
		json_object_put(o);
	}
	snapcow_store_free(s);
out:
	memdev_free(origin);
	memdev_free(m);
}

struct utf8_case {
	const char *in;
	const char *out;	/* NULL: unchanged, no _hex */
	const char *hex;
};

static void test_utf8_rules(void)
{
	static const struct utf8_case cases[] = {
		{ "plain", NULL, NULL },
		{ "\xf0\x9f\x98\x80 4 bytes", NULL, NULL },
		{ "\xef\xbf\xbd", NULL, NULL },
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", "c0af" },
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
		  "eda080" },
		{ "\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd", "e282" },
		{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		  "\xef\xbf\xbd", "f4908080" },
		{ "a\x80z", "a\xef\xbf\xbdz", "61807a" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "k",
				       json_object_new_string(cases[i].in));
		ok_eq(snapcow_json_utf8(o), 0, "case %zu", i);
		ok(!strcmp(str(o, "k"), cases[i].out ? cases[i].out :
			   cases[i].in), "case %zu: value", i);
		ok(!strcmp(str(o, "k_hex"), cases[i].hex ? cases[i].hex :
			   "(absent)"), "case %zu: hex %s", i,
		   str(o, "k_hex"));
		json_object_put(o);
	}
}

static void test_utf8_nested(void)
{
	json_object *o = parse("{\"n\": 1, \"sub\": {}, \"list\": []}");
	json_object *sub, *list, *hex;
	const char *text;

	json_object_object_get_ex(o, "sub", &sub);
	json_object_object_get_ex(o, "list", &list);
	json_object_object_add(sub, "path", json_object_new_string("x\xfe"));
	json_object_array_add(list, json_object_new_string("good"));
	json_object_array_add(list, json_object_new_string("b\xff"));
	json_object_array_add(list, json_object_new_string("fine"));
	ok_eq(snapcow_json_utf8(o), 0, "walks");
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	ok(!strcmp(text, "{\"n\":1,\"sub\":{\"path\":\"x\xef\xbf\xbd\","
		   "\"path_hex\":\"78fe\"},\"list\":[\"good\","
		   "\"b\xef\xbf\xbd\",\"fine\"],"
		   "\"list_hex\":[null,\"62ff\",null]}"), "%s", text);
	ok(json_object_object_get_ex(o, "list_hex", &hex) &&
	   json_object_array_length(hex) == 3, "parallel array");
	json_object_put(o);
}

int main(void)
{
	plan(4);
	run(test_ima_escapes_names);
	run(test_status_json_utf8);
	run(test_utf8_rules);
	run(test_utf8_nested);
	return done();
}
