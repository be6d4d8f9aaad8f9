// SPDX-License-Identifier: GPL-2.0-or-later
/* cfgstring parsing and the allow-list (see cfgstring.h). */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfgstring.h"

static int errf(char *err, size_t len, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int errf(char *err, size_t len, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return ret;
}

int policy_allow(struct policy *p, const char *dir, char *err, size_t len)
{
	char canon[PATH_MAX], **grown;
	struct stat st;

	if (dir[0] != '/')
		return errf(err, len, -EINVAL,
			    "allowed directory %s: not an absolute path", dir);
	if (!realpath(dir, canon) || stat(canon, &st) < 0)
		return errf(err, len, -errno, "allowed directory %s: %s",
			    dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return errf(err, len, -ENOTDIR,
			    "allowed directory %s: not a directory", dir);
	grown = realloc(p->allow, (p->n_allow + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	p->allow = grown;
	p->allow[p->n_allow] = strdup(canon);
	if (!p->allow[p->n_allow])
		return -ENOMEM;
	p->n_allow++;
	return 0;
}

void policy_free(struct policy *p)
{
	int i;

	for (i = 0; i < p->n_allow; i++)
		free(p->allow[i]);
	free(p->allow);
	p->allow = NULL;
	p->n_allow = 0;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int policy_line(struct policy *p, char *line, const char *file,
		       int lineno, char *err, size_t len)
{
	char *key, *val, *eq;
	char why[PATH_MAX + 128];
	int r;

	line[strcspn(line, "#\n")] = '\0';
	key = trim(line);
	if (!*key)
		return 0;
	eq = strchr(key, '=');
	if (!eq)
		return errf(err, len, -EINVAL, "%s:%d: expected KEY = VALUE",
			    file, lineno);
	*eq = '\0';
	key = trim(key);
	val = trim(eq + 1);
	if (strcmp(key, "allow"))
		return errf(err, len, -EINVAL, "%s:%d: unknown key '%s'",
			    file, lineno, key);
	r = policy_allow(p, val, why, sizeof(why));
	if (r)
		return errf(err, len, r, "%s:%d: %s", file, lineno, why);
	return 0;
}

int policy_load(struct policy *p, const char *file, bool must_exist,
		char *err, size_t len)
{
	char line[PATH_MAX + 64];
	int lineno = 0, r = 0;
	FILE *f;

	f = fopen(file, "re");
	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 0;
		return errf(err, len, -errno, "%s: %s", file, strerror(errno));
	}
	while (!r && fgets(line, sizeof(line), f)) {
		lineno++;
		r = policy_line(p, line, file, lineno, err, len);
	}
	fclose(f);
	return r;
}

static bool under(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return true;
	return strncmp(dir, path, n) == 0 && path[n] == '/';
}

/* Absolute, canonical, and a block device or a file in an allowed folder. */
static int check_path(const struct policy *p, const char *key,
		      const char *path, char *out, char *err, size_t len)
{
	struct stat st;
	int i;

	if (path[0] != '/')
		return errf(err, len, -EINVAL,
			    "%s=%s: paths must be absolute", key, path);
	if (!realpath(path, out))
		return errf(err, len, -errno, "%s=%s: %s", key, path,
			    strerror(errno));
	if (stat(out, &st) < 0)
		return errf(err, len, -errno, "%s=%s: %s", key, path,
			    strerror(errno));
	if (S_ISBLK(st.st_mode))
		return 0;
	if (!S_ISREG(st.st_mode))
		return errf(err, len, -ENODEV,
			    "%s=%s: neither a block device nor a file",
			    key, path);
	for (i = 0; i < p->n_allow; i++)
		if (under(p->allow[i], out))
			return 0;
	return errf(err, len, -EPERM,
		    "%s=%s: image file %s is outside the allowed directories (--allow, allow = in the configuration)",
		    key, path, out);
}

/* Check @path (of item @key) in place: canonical on success. */
static int check_item(const struct policy *p, const char *key, char *path,
		      char *err, size_t len)
{
	char given[PATH_MAX];

	snprintf(given, sizeof(given), "%s", path);
	return check_path(p, key, given, path, err, len);
}

int cfgstring_parse(const struct policy *p, const char *s,
		    struct snapcow_cfgstring *cfg, char *err, size_t len)
{
	int i, r;

	r = snapcow_cfgstring_parse(s, cfg, err, len);
	r = r ?: check_item(p, "origin", cfg->origin, err, len);
	if (!r && cfg->snapshot[0])
		r = check_item(p, "snapshot", cfg->snapshot, err, len);
	for (i = 0; i < cfg->n_cows && !r; i++)
		r = check_item(p, "cow", cfg->cows[i], err, len);
	return r;
}
