// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The grammar of snapcowd's device configuration (see snapcow.h), in one
 * place for the daemon (which then checks each path against its policy)
 * and for snapctl snapshot --served (which edits an origin's cow= items).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapcow.h"
#include "util.h"

static int set_path(char *dst, const char *key, const char *val,
		    char *err, size_t len)
{
	if (dst[0])
		return sc_errf(err, len, -EINVAL, "%s given twice", key);
	if (!val[0])
		return sc_errf(err, len, -EINVAL, "%s=: empty path", key);
	if (strlen(val) >= PATH_MAX)
		return sc_errf(err, len, -ENAMETOOLONG, "%s=%.32s...: path "
			       "longer than %d bytes", key, val, PATH_MAX - 1);
	strcpy(dst, val);
	return 0;
}

static int parse_item(char *item, struct snapcow_cfgstring *cfg, char *err,
		      size_t len)
{
	char *eq = strchr(item, '=');
	const char *val;

	if (!eq)
		return sc_errf(err, len, -EINVAL, "'%s': expected KEY=VALUE",
			       item);
	*eq = '\0';
	val = eq + 1;
	if (!strcmp(item, "origin"))
		return set_path(cfg->origin, item, val, err, len);
	if (!strcmp(item, "snapshot"))
		return set_path(cfg->snapshot, item, val, err, len);
	if (strcmp(item, "cow"))
		return sc_errf(err, len, -EINVAL, "unknown key '%s'", item);
	if (cfg->n_cows == SNAPCOW_CFG_COWS_MAX)
		return sc_errf(err, len, -E2BIG, "more than %d cow items",
			       SNAPCOW_CFG_COWS_MAX);
	return set_path(cfg->cows[cfg->n_cows++], item, val, err, len);
}

SNAPCOW_EXPORT
int snapcow_cfgstring_parse(const char *s, struct snapcow_cfgstring *cfg,
			    char *err, size_t len)
{
	char *copy, *item, *save = NULL;
	int r = 0;

	memset(cfg, 0, sizeof(*cfg));
	copy = strdup(s);
	if (!copy)
		return sc_errf(err, len, -ENOMEM, "out of memory");
	for (item = strtok_r(copy, ";", &save); item && !r;
	     item = strtok_r(NULL, ";", &save))
		r = parse_item(item, cfg, err, len);
	free(copy);
	if (r)
		return r;
	if (!cfg->origin[0])
		return sc_errf(err, len, -EINVAL, "no origin=PATH in '%s'", s);
	if (cfg->snapshot[0] && cfg->n_cows)
		return sc_errf(err, len, -EINVAL,
			       "snapshot= and cow= do not go together");
	return 0;
}

SNAPCOW_EXPORT
int snapcow_cfgstring_format(const struct snapcow_cfgstring *cfg, char *out,
			     size_t len)
{
	size_t used;
	int i, n;

	if (cfg->snapshot[0])
		n = snprintf(out, len, "snapshot=%s;origin=%s", cfg->snapshot,
			     cfg->origin);
	else
		n = snprintf(out, len, "origin=%s", cfg->origin);
	for (i = 0, used = n; i < cfg->n_cows && used < len; i++) {
		n = snprintf(out + used, len - used, ";cow=%s", cfg->cows[i]);
		used += n;
	}
	return used < len ? 0 : -ENAMETOOLONG;
}

SNAPCOW_EXPORT
int snapcow_cfgstring_drop_cow(struct snapcow_cfgstring *cfg, int i)
{
	if (i < 0 || i >= cfg->n_cows)
		return -ENOENT;
	memmove(cfg->cows[i], cfg->cows[i + 1],
		(cfg->n_cows - i - 1) * sizeof(cfg->cows[0]));
	cfg->n_cows--;
	return 0;
}
