// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --keep COW2: other snapshots of the origin whose images a verb that
 * writes the origin (write, merge) keeps, by copying into them first as
 * the kernel does for every snapshot of an origin.  One meaning, one
 * name, in every verb; a write *into* a snapshot is write --snapshot.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "snapctl.h"

/* Every device once: compared by inode, before the exclusive opens. */
static int check_all_distinct(const char *const *paths,
			      const char *const *roles, unsigned int n)
{
	struct stat st;
	unsigned int i, j;
	int r = 0;

	for (i = 0; i < n && !r; i++)
		for (j = i + 1; j < n && !r; j++) {
			if (stat(paths[i], &st) < 0 ||
			    stat(paths[j], &st) < 0)
				continue;
			r = check_paths_distinct(paths[i], roles[i], paths[j],
						 roles[j], RULE_ONE_ROLE);
		}
	return r;
}

int kept_check_paths(const char *origin, const char *cow, const char *backup,
		     char *const *keep)
{
	unsigned int n = 0, i;
	const char **paths, **roles;
	int r;

	for (i = 0; keep && keep[i]; i++)
		;
	paths = calloc(i + 3, sizeof(*paths));
	roles = calloc(i + 3, sizeof(*roles));
	if (!paths || !roles) {
		error_msg("%s", strerror(ENOMEM));
		r = -ENOMEM;
		goto out;
	}
	paths[n] = origin;
	roles[n++] = "origin";
	paths[n] = cow;
	roles[n++] = "COW";
	if (backup) {
		paths[n] = backup;
		roles[n++] = "backup";
	}
	for (i = 0; keep && keep[i]; i++) {
		paths[n] = keep[i];
		roles[n++] = KEPT_ROLE;
	}
	r = check_all_distinct(paths, roles, n);
out:
	free(paths);
	free(roles);
	return r;
}

/*
 * Open each of @paths (NULL-ended, may be NULL) exclusively for writing,
 * refuse one that is @origin or @cow, and load its store.  An invalid
 * one is kept open with a warning: nothing is copied into it, as the
 * kernel does.
 */
int kept_open(struct kept *k, char *const *paths, struct snapcow_dev *origin,
	      struct snapcow_dev *cow)
{
	unsigned int n = 0, i;
	int r = 0;

	while (paths && paths[n])
		n++;
	k->devs = calloc(n + 1, sizeof(*k->devs));
	k->stores = calloc(n + 1, sizeof(*k->stores));
	if (!k->devs || !k->stores) {
		error_msg("%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (i = 0; i < n && !r; i++) {
		r = open_dev(paths[i], SNAPCOW_DEV_WRITE | SNAPCOW_DEV_EXCL,
			     &k->devs[i]);
		if (r)
			break;
		k->n++;
		r = check_distinct(k->devs[i], KEPT_ROLE, origin, "origin",
				   RULE_ONE_ROLE);
		r = r ?: check_distinct(k->devs[i], KEPT_ROLE, cow, "COW",
					RULE_ONE_ROLE);
		r = r ?: load_store(k->devs[i], 0, SNAPCOW_STORE_WRITE,
				    &k->stores[i]);
		if (!r && !snapcow_store_valid(k->stores[i]))
			warn_msg("%s: snapshot is invalid: nothing is copied "
				 "into it", paths[i]);
	}
	return r;
}

void kept_close(struct kept *k)
{
	unsigned int i;

	for (i = 0; i < k->n; i++) {
		snapcow_store_free(k->stores[i]);
		snapcow_dev_close(k->devs[i]);
	}
	free(k->devs);
	free(k->stores);
	memset(k, 0, sizeof(*k));
}

void kept_free_paths(char **paths)
{
	unsigned int i;

	for (i = 0; paths && paths[i]; i++)
		free(paths[i]);
	free(paths);
}
