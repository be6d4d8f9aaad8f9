// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Every snapshot snapcow put live with device-mapper, for snapctl list:
 * the devices whose uuid is "SNAPCOW-<name>", a snapshot table's device
 * joined to the active origin (its snapshot-origin table) over the same
 * device, as dm-snaps.c finds an origin's snapshots.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "dm-priv.h"
#include "util.h"

/* One of our devices: an origin or a snapshot, by its table. */
struct dm_ours {
	char name[DM_NAME_LEN];
	bool snapshot;
	char dev[32];			/* the origin device, "MAJ:MIN" */
	char cow[32];
	char mode[8];
	unsigned int cs;
};

struct dm_walk {
	struct dm_ours *v;
	size_t n, cap;
};

/* "253:11" as the node udev or libdm made for it, else unchanged. */
static void dm_dev_path(const char *majmin, char *out, size_t len)
{
	if (sc_dm_dev_path(majmin, out, len) < 0)
		snprintf(out, len, "%s", majmin);
}

/* @d from @name's live table: 1 when it is a table we list, else 0. */
static int dm_ours_table(const char *name, struct dm_ours *d)
{
	char type[32], params[256];

	if (sc_dm_live_table(name, type, sizeof(type), params, sizeof(params),
			     NULL, NULL, 0) < 0)
		return 0;
	snprintf(d->name, sizeof(d->name), "%s", name);
	if (!strcmp(type, "snapshot-origin"))
		return sscanf(params, "%31s", d->dev) == 1;
	d->snapshot = true;
	return (!strcmp(type, "snapshot") || !strcmp(type, "snapshot-merge")) &&
	       sscanf(params, "%31s %31s %7s %u", d->dev, d->cow, d->mode,
		      &d->cs) == 4;
}

static int dm_walk_one(void *ctx, const char *name)
{
	struct dm_walk *w = ctx;
	struct dm_node n;
	struct dm_ours d;

	memset(&d, 0, sizeof(d));
	sc_dm_snap_node(&n, name);
	if (sc_dm_node_get(&n, NULL, 0) < 0 || !n.info.exists ||
	    strcmp(n.uuid, n.want_uuid) || !dm_ours_table(name, &d))
		return 0;		/* not ours, or gone meanwhile */
	if (sc_grow((void **)&w->v, &w->cap, w->n + 1, sizeof(*w->v)))
		return -ENOMEM;
	w->v[w->n++] = d;
	return 0;
}

/* The active origin over @dev: its name, else "". */
static const char *dm_origin_of(const struct dm_walk *w, const char *dev)
{
	for (size_t i = 0; i < w->n; i++)
		if (!w->v[i].snapshot && !strcmp(w->v[i].dev, dev))
			return w->v[i].name;
	return "";
}

static int ours_push(const struct dm_walk *w, const struct dm_ours *d,
		       struct snapcow_dm_snapshot **l, size_t *n, char *err,
		       size_t errlen)
{
	struct snapcow_dm_snapshot *s, *grown;
	int r;

	grown = realloc(*l, (*n + 1) * sizeof(**l));
	if (!grown)
		return sc_errf(err, errlen, -ENOMEM, "out of memory");
	*l = grown;
	s = &grown[*n];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", dm_origin_of(w, d->dev));
	dm_dev_path(d->dev, s->origin, sizeof(s->origin));
	dm_dev_path(d->cow, s->cow, sizeof(s->cow));
	s->chunk_sectors = d->cs;
	s->overflow = !strcmp(d->mode, "PO");
	snprintf(s->status.device, sizeof(s->status.device), "%s", d->name);
	r = sc_dm_status_of(&s->status, err, errlen);
	if (r == -ENXIO)
		return 0;		/* removed meanwhile */
	if (r == 0)
		(*n)++;
	return r;
}

static int ours_cmp(const void *a, const void *b)
{
	const struct snapcow_dm_snapshot *x = a, *y = b;

	return strcmp(x->name, y->name) ?:
	       strcmp(x->status.device, y->status.device);
}

static int ours_list(struct snapcow_dm_snapshot **l, size_t *n, char *err,
		       size_t errlen)
{
	struct dm_walk w = { 0 };
	int r;

	r = sc_dm_each(dm_walk_one, &w, err, errlen);
	if (r == -ENOMEM)
		sc_errf(err, errlen, r, "out of memory");
	for (size_t i = 0; !r && i < w.n; i++)
		if (w.v[i].snapshot)
			r = ours_push(&w, &w.v[i], l, n, err, errlen);
	free(w.v);
	return r;
}

SNAPCOW_EXPORT
int snapcow_dm_list(struct snapcow_dm_snapshot **list, size_t *n, char *err,
		    size_t errlen)
{
	int r;

	*list = NULL;
	*n = 0;
	if (snapcow_dm_available(NULL, 0) < 0)
		return 0;
	sc_dm_begin();
	r = ours_list(list, n, err, errlen);
	sc_dm_end();
	if (r < 0) {
		free(*list);
		*list = NULL;
		*n = 0;
		return r;
	}
	qsort(*list, *n, sizeof(**list), ours_cmp);
	return 0;
}
