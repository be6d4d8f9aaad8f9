/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a TCMU device's cfgstring asks snapcowd to serve, and whether the
 * daemon's policy lets it.
 *
 *	cfgstring := item [';' item]...
 *	item      := 'origin=' PATH | 'cow=' PATH | 'snapshot=' PATH
 *
 * ';' separates, as in tcmu-runner's handlers: the kernel cuts a configfs
 * control string at ','.  Paths are absolute and canonicalised
 * (realpath); block devices are served by default, regular files only
 * inside a directory of the allow-list.
 */
#ifndef SNAPCOWD_CFGSTRING_H
#define SNAPCOWD_CFGSTRING_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define CFG_COWS_MAX	16

struct cfgstring {
	char origin[PATH_MAX];		/* canonical */
	char snapshot[PATH_MAX];	/* a snapshot's COW; "" for an origin */
	char cows[CFG_COWS_MAX][PATH_MAX];
	int n_cows;
};

struct policy {
	char **allow;			/* canonical directories */
	int n_allow;
};

/* Add a directory to the allow-list (canonicalised; must exist). */
int policy_allow(struct policy *p, const char *dir, char *err, size_t len);
void policy_free(struct policy *p);
/*
 * Read a configuration file: "allow = DIR" lines, '#' comments.  A
 * missing file is not an error (returns 0); a bad line is (-EINVAL).
 */
int policy_load(struct policy *p, const char *file, bool must_exist,
		char *err, size_t len);

/*
 * Parse and check @s (without the "snapcow/" subtype).  Returns 0, or
 * -errno with a message naming the item and the rule it broke.
 */
int cfgstring_parse(const struct policy *p, const char *s,
		    struct cfgstring *cfg, char *err, size_t len);

#endif /* SNAPCOWD_CFGSTRING_H */
