/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon/cfgstring.c: the cfgstring grammar, canonical paths, the
 * allow-list (block devices by default, image files only inside allowed
 * folders), and the configuration file; each refusal's exact message.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfgstring.h"
#include "tap.h"

static char top[64], img[128], other[128], link_path[128];
static struct snapcow_cfgstring cfg;
static char err[PATH_MAX + 256];

static int parse(const struct policy *p, const char *fmt, const char *a)
{
	char s[1024];

	snprintf(s, sizeof(s), fmt, a, a);
	err[0] = '\0';
	return cfgstring_parse(p, s, &cfg, err, sizeof(err));
}

static void setup(void)
{
	char dir[128];
	FILE *f;

	snprintf(top, sizeof(top), "/tmp/test-cfg.XXXXXX");
	if (!mkdtemp(top))
		exit(1);
	snprintf(dir, sizeof(dir), "%s/allowed", top);
	mkdir(dir, 0755);
	snprintf(img, sizeof(img), "%s/allowed/a.img", top);
	snprintf(other, sizeof(other), "%s/b.img", top);
	snprintf(link_path, sizeof(link_path), "%s/allowed/link.img", top);
	f = fopen(img, "w");
	fclose(f);
	f = fopen(other, "w");
	fclose(f);
	if (symlink(other, link_path))
		exit(1);
}

static void test_grammar(void)
{
	struct policy p = { 0 };
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/allowed", top);
	ok_eq(policy_allow(&p, dir, err, sizeof(err)), 0, "%s", err);
	ok_eq(parse(&p, "origin=%s", img), 0, "%s", err);
	ok(strcmp(cfg.origin, img) == 0, "origin %s", cfg.origin);
	ok_eq(cfg.n_cows, 0, "no cows");
	ok_eq(parse(&p, "origin=%s;", img), 0, "trailing ';': %s", err);
	ok_eq(parse(&p, "origin=%s;cow=%s", img), 0, "%s", err);
	ok_eq(cfg.n_cows, 1, "one cow");
	ok_eq(parse(&p, "origin=%s;origin=%s", img), -EINVAL, "twice");
	ok(strcmp(err, "origin given twice") == 0, "%s", err);
	ok_eq(parse(&p, "origin=%s;size=1", img), -EINVAL, "unknown key");
	ok(strcmp(err, "unknown key 'size'") == 0, "%s", err);
	ok_eq(parse(&p, "origin%s", img), -EINVAL, "no '='");
	ok_eq(parse(&p, "cow=%s", img), -EINVAL, "no origin");
	ok(strncmp(err, "no origin=PATH in", 17) == 0, "%s", err);
	ok_eq(parse(&p, "snapshot=%s;origin=%s", img), 0, "%s", err);
	ok(strcmp(cfg.snapshot, img) == 0, "snapshot");
	policy_free(&p);
}

static void test_paths(void)
{
	struct policy p = { 0 };
	char dir[128], dotted[160], want[PATH_MAX + 64];

	snprintf(dir, sizeof(dir), "%s/allowed", top);
	ok_eq(parse(&p, "origin=%s", img), -EPERM, "no allow-list");
	snprintf(want, sizeof(want),
		 "origin=%s: image file %s is outside the allowed directories (--allow, allow = in the configuration)",
		 img, img);
	ok(strcmp(err, want) == 0, "%s", err);
	ok_eq(policy_allow(&p, dir, err, sizeof(err)), 0, "%s", err);
	ok_eq(parse(&p, "origin=%s", "tmp/x.img"), -EINVAL, "relative");
	ok(strcmp(err, "origin=tmp/x.img: paths must be absolute") == 0,
	   "%s", err);
	/* A symlink inside the allowed folder to a file outside it. */
	ok_eq(parse(&p, "origin=%s", link_path), -EPERM, "link out");
	/* ".." out of the allowed folder. */
	snprintf(dotted, sizeof(dotted), "%s/allowed/../b.img", top);
	ok_eq(parse(&p, "origin=%s", dotted), -EPERM, "dot-dot out");
	/* A folder whose name only starts like the allowed one. */
	snprintf(dotted, sizeof(dotted), "%s/allowed2", top);
	mkdir(dotted, 0755);
	strcat(dotted, "/c.img");
	fclose(fopen(dotted, "w"));
	ok_eq(parse(&p, "origin=%s", dotted), -EPERM, "prefix only");
	ok_eq(parse(&p, "origin=%s", "/nonexistent/x"), -ENOENT, "missing");
	ok_eq(parse(&p, "origin=%s", "/dev/null"), -ENODEV, "char device");
	ok(strcmp(err, "origin=/dev/null: neither a block device nor a file")
	   == 0, "%s", err);
	policy_free(&p);
}

static void test_config_file(void)
{
	struct policy p = { 0 };
	char conf[160], want[PATH_MAX + 64];
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/snapcowd.conf", top);
	ok_eq(policy_load(&p, conf, false, err, sizeof(err)), 0,
	      "missing default file");
	ok_eq(policy_load(&p, conf, true, err, sizeof(err)), -ENOENT,
	      "missing named file");
	f = fopen(conf, "w");
	fprintf(f, "# comment\n\n  allow = %s/allowed  # trailing\n", top);
	fclose(f);
	ok_eq(policy_load(&p, conf, true, err, sizeof(err)), 0, "%s", err);
	ok_eq(p.n_allow, 1, "one folder");
	ok_eq(parse(&p, "origin=%s", img), 0, "allowed by the file: %s", err);
	f = fopen(conf, "w");
	fprintf(f, "allow = %s\nallowed = /srv\n", top);
	fclose(f);
	ok_eq(policy_load(&p, conf, true, err, sizeof(err)), -EINVAL, "key");
	snprintf(want, sizeof(want), "%s:2: unknown key 'allowed'", conf);
	ok(strcmp(err, want) == 0, "%s", err);
	f = fopen(conf, "w");
	fprintf(f, "allow %s\n", top);
	fclose(f);
	ok_eq(policy_load(&p, conf, true, err, sizeof(err)), -EINVAL, "no =");
	snprintf(want, sizeof(want), "%s:1: expected KEY = VALUE", conf);
	ok(strcmp(err, want) == 0, "%s", err);
	ok_eq(policy_allow(&p, "relative", err, sizeof(err)), -EINVAL, "rel");
	ok_eq(policy_allow(&p, img, err, sizeof(err)), -ENOTDIR, "file");
	policy_free(&p);
}

/* lib/cfgstring.c alone: items as written, formatted back, edited. */
static void test_format(void)
{
	struct snapcow_cfgstring c;
	char out[256];

	ok_eq(snapcow_cfgstring_parse("cow=/b;origin=/a;cow=/c;", &c, err,
				      sizeof(err)), 0, "%s", err);
	ok_eq(snapcow_cfgstring_format(&c, out, sizeof(out)), 0, "format");
	ok(!strcmp(out, "origin=/a;cow=/b;cow=/c"), "%s", out);
	ok_eq(snapcow_cfgstring_drop_cow(&c, 0), 0, "drop /b");
	ok_eq(snapcow_cfgstring_drop_cow(&c, 1), -ENOENT, "no second cow");
	ok_eq(snapcow_cfgstring_drop_cow(&c, -1), -ENOENT, "no cow -1");
	snapcow_cfgstring_format(&c, out, sizeof(out));
	ok(!strcmp(out, "origin=/a;cow=/c"), "%s", out);
	ok_eq(snapcow_cfgstring_format(&c, out, 16), -ENAMETOOLONG, "short");
	ok_eq(snapcow_cfgstring_parse("snapshot=/s;origin=/a", &c, err,
				      sizeof(err)), 0, "%s", err);
	snapcow_cfgstring_format(&c, out, sizeof(out));
	ok(!strcmp(out, "snapshot=/s;origin=/a"), "%s", out);
	ok_eq(snapcow_cfgstring_parse("origin=;", &c, err, sizeof(err)),
	      -EINVAL, "empty path");
	ok(!strcmp(err, "origin=: empty path"), "%s", err);
}

int main(void)
{
	char cmd[128];

	setup();
	plan(4);
	run(test_grammar);
	run(test_format);
	run(test_paths);
	run(test_config_file);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd))
		return 1;
	return done();
}
