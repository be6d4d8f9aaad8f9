/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Whether the daemon's policy lets a TCMU device's cfgstring (grammar:
 * snapcow_cfgstring_parse, lib/cfgstring.c) be served: paths are
 * absolute and canonicalised (realpath); block devices are served by
 * default, regular files only inside a directory of the allow-list.
 */
#ifndef SNAPCOWD_CFGSTRING_H
#define SNAPCOWD_CFGSTRING_H

#include <stdbool.h>
#include <stddef.h>

#include "snapcow.h"

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
 * Parse and check @s (without the "snapcow/" subtype): the grammar, then
 * every path against @p, canonicalised in @cfg.  Returns 0, or -errno
 * with a message naming the item and the rule it broke.
 */
int cfgstring_parse(const struct policy *p, const char *s,
		    struct snapcow_cfgstring *cfg, char *err, size_t len);

#endif /* SNAPCOWD_CFGSTRING_H */
