// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * More snapshots of an active origin, as lvm2 adds and drops them: with
 * the origin suspended, so that no origin write falls between a new
 * snapshot's start and the origin learning of it, and the origin learns
 * its new split size (the smallest chunk size of its snapshots) when it
 * resumes.  The kernel's tables are the only record of which snapshots
 * an origin has: a snapshot is any device whose live "snapshot" table
 * names the device under the origin's "snapshot-origin" table.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev-storage.h"
#include "array.h"
#include "dm-priv.h"
#include "util.h"

int sc_dm_live_table(const char *name, char *type, size_t tlen,
		     char *params, size_t plen, uint64_t *sectors, char *err,
		     size_t errlen)
{
	char *t = NULL, *p = NULL;
	uint64_t start = 0, length = 0;
	struct dm_task *dmt;
	struct dm_info info;
	int r;

	r = sc_dm_task_on(DM_DEVICE_TABLE, name, "table", &dmt, &info, err,
			  errlen);
	if (r < 0)
		return r;
	dm_get_next_target(dmt, NULL, &start, &length, &t, &p);
	snprintf(type, tlen, "%s", t ? t : "");
	snprintf(params, plen, "%s", p ? p : "");
	if (sectors)
		*sectors = length;
	dm_task_destroy(dmt);
	return 0;
}

int sc_dm_origin_get(struct dm_node *o, const char *name, char *dev,
		     size_t devlen, uint64_t *sectors, bool *merging,
		     char *err, size_t errlen)
{
	char type[32];
	int r;

	sc_dm_snap_node(o, name);
	r = sc_dm_node_get(o, err, errlen);
	if (r < 0)
		return r;
	if (!o->info.exists)
		return sc_errf(err, errlen, -ENXIO, "%s: not active: no "
			       "device-mapper device of that name", name);
	if (strcmp(o->uuid, o->want_uuid))
		return sc_errf(err, errlen, -EPERM, "%s: not activated by "
			       "snapcow (uuid '%s', not '%s'): leaving it "
			       "alone", name, o->uuid, o->want_uuid);
	r = sc_dm_live_table(name, type, sizeof(type), dev, devlen, sectors,
			     err, errlen);
	if (r < 0)
		return r;
	if (merging)
		*merging = !strcmp(type, "snapshot-merge");
	if (merging && *merging) {
		/* "REAL COW P CS": the origin's device comes first. */
		dev[strcspn(dev, " ")] = '\0';
		return 0;
	}
	if (!strcmp(type, "snapshot-merge"))
		return sc_errf(err, errlen, -EBUSY, "%s: merging a snapshot "
			       "(snapshot-merge table): no snapshot can be "
			       "added or removed until the merge ends", name);
	if (strcmp(type, "snapshot-origin"))
		return sc_errf(err, errlen, -EINVAL, "%s: a '%s' table, not "
			       "snapshot-origin", name, type[0] ? type :
			       "missing");
	return 0;
}

struct dm_snaps {
	char (*names)[DM_NAME_LEN];
	size_t n, cap;
};

static int dm_snaps_add(struct dm_snaps *l, const char *name)
{
	if (sc_grow((void **)&l->names, &l->cap, l->n + 1,
		    sizeof(*l->names)))
		return -ENOMEM;
	snprintf(l->names[l->n++], DM_NAME_LEN, "%s", name);
	return 0;
}

/*
 * Is @name's live table a snapshot of the device @dev ("MAJ:MIN")?  Not a
 * snapshot-merge: that is the merging origin itself.
 */
static bool dm_is_snapshot_of(const char *name, const char *dev)
{
	char type[32], params[256];
	size_t len = strlen(dev);

	if (sc_dm_live_table(name, type, sizeof(type), params, sizeof(params),
			     NULL, NULL, 0) < 0)
		return false;
	return !strcmp(type, "snapshot") && !strncmp(params, dev, len) &&
	       params[len] == ' ';
}

int sc_dm_snap_dev(const char *name, const char *snap, char *dev,
		   size_t len, char *err, size_t errlen)
{
	struct dm_node origin;
	char odev[64];
	bool merging;
	int r = sc_dm_check_name(name, err, errlen);

	if (!r && !snap) {
		snprintf(dev, len, "%s" SNAP_SUFFIX, name);
		return 0;
	}
	r = r ?: sc_dm_check_name(snap, err, errlen);
	if (r < 0)
		return r;
	sc_dm_begin();
	r = sc_dm_origin_get(&origin, name, odev, sizeof(odev), NULL,
			     &merging, err, errlen);
	if (!r && !dm_is_snapshot_of(snap, odev))
		r = sc_errf(err, errlen, -ENXIO, "%s: not a snapshot of %s",
			    snap, name);
	sc_dm_end();
	snprintf(dev, len, "%s", snap);
	return r;
}

struct dm_snaps_walk {
	const char *dev;
	struct dm_snaps *l;
};

static int dm_snaps_one(void *ctx, const char *name)
{
	struct dm_snaps_walk *w = ctx;

	if (dm_is_snapshot_of(name, w->dev) && dm_snaps_add(w->l, name))
		return -ENOMEM;
	return 0;
}

/* Every device that is a snapshot of @dev, by its live table. */
static int dm_snaps_of(const char *dev, struct dm_snaps *l, char *err,
		       size_t errlen)
{
	struct dm_snaps_walk w = { .dev = dev, .l = l };
	int r;

	memset(l, 0, sizeof(*l));
	r = sc_dm_each(dm_snaps_one, &w, err, errlen);
	if (r == -ENOMEM)
		sc_errf(err, errlen, r, "out of memory");
	return r;
}

/* Suspend @origin, run @fn, resume it whatever happened. */
int sc_dm_with_origin_suspended(const char *origin,
				    int (*fn)(void *ctx, char *err,
					      size_t errlen),
				    void *ctx, char *err, size_t errlen)
{
	int r, r2;

	r = sc_dm_run(DM_DEVICE_SUSPEND, origin, NULL, NULL,
		      "suspend the origin", err, errlen);
	if (r < 0)
		return r;
	r = fn(ctx, err, errlen);
	r2 = sc_dm_run(DM_DEVICE_RESUME, origin, NULL, NULL,
		       "resume the origin", r < 0 ? NULL : err, errlen);
	return r ?: r2;
}

/* ---------------------------------------------------------------- add */

struct dm_add {
	struct dm_node snap;
	struct dm_table table;
};

static int dm_add_run(void *ctx, char *err, size_t errlen)
{
	struct dm_add *a = ctx;

	return sc_dm_run(DM_DEVICE_CREATE, a->snap.name, a->snap.want_uuid,
			 &a->table, "create the snapshot (see the kernel log)",
			 err, errlen);
}

/* @name passed snapcow_dm_name_check: both fit. */
void sc_dm_snap_node(struct dm_node *n, const char *name)
{
	int len = (int)sizeof(n->name) - 1;

	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%.*s", len, name);
	snprintf(n->want_uuid, sizeof(n->want_uuid), UUID_PREFIX "%.*s", len,
		 name);
}

/* @want, or the first of NAME-snap, NAME-snap2, ... that is free. */
static int dm_pick_snap_name(const char *origin, const char *want,
			     struct dm_node *n, char *err, size_t errlen)
{
	char name[sizeof(n->name)];
	const char *why = "invalid name";
	int r;

	if (want) {
		if (snapcow_dm_name_check(want, &why) < 0)
			return sc_errf(err, errlen, -EINVAL, "'%s': %s", want,
				       why);
		sc_dm_snap_node(n, want);
		return sc_dm_check_absent(n, err, errlen);
	}
	for (unsigned int i = 1; i < 1000; i++) {
		if (i == 1)
			snprintf(name, sizeof(name), "%s" SNAP_SUFFIX, origin);
		else
			snprintf(name, sizeof(name), "%s" SNAP_SUFFIX "%u",
				 origin, i);
		if (snapcow_dm_name_check(name, &why) < 0)
			return sc_errf(err, errlen, -EINVAL, "'%s': %s", name,
				       why);
		sc_dm_snap_node(n, name);
		r = sc_dm_node_get(n, err, errlen);
		if (r < 0 || !n->info.exists)
			return r;
	}
	return sc_errf(err, errlen, -EEXIST, "%s: no free snapshot name",
		       origin);
}

static int dm_add_table(const struct snapcow_dm_snap_spec *spec,
			const char *dev, uint64_t sectors, struct dm_add *a,
			char *err, size_t errlen)
{
	struct snapcow_dev *cow = NULL;
	int r;

	r = sc_dm_open_block(spec->cow, "COW", &cow, err, errlen);
	if (r < 0)
		return r;
	a->table.target = "snapshot";
	a->table.sectors = sectors;
	snprintf(a->table.params, sizeof(a->table.params),
		 "%s %s %s %" PRIu32, dev, snapcow_dev_name(cow),
		 spec->overflow ? "PO" : "P", spec->chunk_sectors);
	/* The COW must not be the origin's own device. */
	if (!strcmp(snapcow_dev_name(cow), dev))
		r = sc_errf(err, errlen, -EINVAL, "%s (COW): the origin's own "
			    "device: a snapshot's COW cannot live on its "
			    "origin", spec->cow);
	snapcow_dev_close(cow);
	return r;
}

SNAPCOW_EXPORT
int snapcow_dm_snapshot_add(const struct snapcow_dm_snap_spec *spec,
			    char *snap_name, size_t name_len, char *err,
			    size_t errlen)
{
	char dev[64];
	struct dm_node origin;
	struct dm_add a;
	uint64_t sectors = 0;
	int r;

	memset(&a, 0, sizeof(a));
	r = sc_dm_check_name(spec->origin_name, err, errlen);
	if (r < 0)
		return r;
	sc_dm_begin();
	r = sc_dm_origin_get(&origin, spec->origin_name, dev, sizeof(dev),
			     &sectors, NULL, err, errlen);
	r = r ?: dm_pick_snap_name(spec->origin_name, spec->snap_name,
				   &a.snap, err, errlen);
	r = r ?: dm_add_table(spec, dev, sectors, &a, err, errlen);
	r = r ?: sc_dm_with_origin_suspended(origin.name, dm_add_run, &a, err,
					  errlen);
	sc_dm_end();
	if (!r && snap_name)
		snprintf(snap_name, name_len, "%s", a.snap.name);
	return r;
}

/* ------------------------------------------------------------- remove */

struct dm_drop {
	struct dm_snaps *l;
};

static int dm_drop_run(void *ctx, char *err, size_t errlen)
{
	struct dm_drop *d = ctx;
	int r = 0;

	for (size_t i = 0; i < d->l->n && !r; i++)
		r = sc_dm_run(DM_DEVICE_REMOVE, d->l->names[i], NULL, NULL,
			      "remove the snapshot", err, errlen);
	return r;
}

/* Every snapshot in @l must be ours and closed before any goes. */
static int dm_snaps_removable(const struct dm_snaps *l, char *err,
			      size_t errlen)
{
	struct dm_node n;
	int r = 0;

	for (size_t i = 0; i < l->n && !r; i++) {
		sc_dm_snap_node(&n, l->names[i]);
		r = sc_dm_node_get(&n, err, errlen);
		r = r ?: sc_dm_check_removable(&n, err, errlen);
	}
	return r;
}

/*
 * Remove the snapshot @only of the origin (NULL: every snapshot but
 * @keep), with the origin suspended meanwhile; every one must be ours and
 * closed before any goes.  @deactivating: the origin may be merging, and
 * one already gone is nothing to do.
 */
static int dm_snaps_drop(const char *origin_name, const char *only,
			 const char *keep, bool deactivating, char *err,
			 size_t errlen)
{
	struct dm_snaps all, drop = { 0 };
	struct dm_drop d = { &drop };
	struct dm_node origin;
	bool merging;
	char dev[64];
	size_t i;
	int r;

	r = sc_dm_origin_get(&origin, origin_name, dev, sizeof(dev), NULL,
			     deactivating ? &merging : NULL, err, errlen);
	if (r == -ENXIO && deactivating)
		return 0;
	r = r ?: dm_snaps_of(dev, &all, err, errlen);
	if (r < 0)
		return r;
	for (i = 0; i < all.n && !r; i++)
		if (only ? !strcmp(all.names[i], only) :
			   !keep || strcmp(all.names[i], keep))
			r = dm_snaps_add(&drop, all.names[i]) ?
			    sc_errf(err, errlen, -ENOMEM, "out of memory") : 0;
	if (!r && only && !drop.n)
		r = sc_errf(err, errlen, -ENXIO, "%s: not a snapshot of %s",
			    only, origin_name);
	r = r ?: dm_snaps_removable(&drop, err, errlen);
	if (!r && drop.n)
		r = sc_dm_with_origin_suspended(origin_name, dm_drop_run, &d,
						err, errlen);
	free(all.names);
	free(drop.names);
	return r;
}

SNAPCOW_EXPORT
int snapcow_dm_snapshot_remove(const char *origin_name, const char *snap,
			       char *err, size_t errlen)
{
	int r = sc_dm_check_name(origin_name, err, errlen);

	if (r < 0)
		return r;
	sc_dm_begin();
	r = dm_snaps_drop(origin_name, snap, NULL, false, err, errlen);
	sc_dm_end();
	return r;
}

/* For deactivate: every snapshot but NAME-snap, which the pair removes. */
int sc_dm_remove_other_snaps(const char *origin_name, char *err,
			     size_t errlen)
{
	char pair_snap[DM_NAME_LEN + sizeof(SNAP_SUFFIX)];

	snprintf(pair_snap, sizeof(pair_snap), "%.*s" SNAP_SUFFIX,
		 DM_NAME_LEN - 1, origin_name);
	return dm_snaps_drop(origin_name, NULL, pair_snap, true, err, errlen);
}

int sc_dm_dev_path(const char *majmin, char *path, size_t len)
{
	char uevent[128], line[256];
	unsigned int major, minor;
	FILE *f;
	int r = -ENOENT;

	if (sscanf(majmin, "%u:%u", &major, &minor) != 2)
		return -EINVAL;
	snprintf(uevent, sizeof(uevent), "/sys/dev/block/%u:%u/uevent", major,
		 minor);
	f = fopen(uevent, "re");
	if (!f)
		return -errno;
	while (r && fgets(line, sizeof(line), f))
		if (!strncmp(line, "DEVNAME=", 8)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(path, len, "/dev/%s", line + 8);
			r = 0;
		}
	fclose(f);
	return r;
}

SNAPCOW_EXPORT
int snapcow_dm_origin_device(const char *name, char *path, size_t len,
			     char *err, size_t errlen)
{
	struct dm_node origin;
	char dev[64];
	int r = sc_dm_check_name(name, err, errlen);

	if (r < 0)
		return r;
	sc_dm_begin();
	r = sc_dm_origin_get(&origin, name, dev, sizeof(dev), NULL, NULL, err,
			     errlen);
	sc_dm_end();
	if (r < 0)
		return r;
	r = sc_dm_dev_path(dev, path, len);
	if (r < 0)
		return sc_errf(err, errlen, r, "%s: origin device %s: no block "
			       "device node named in /sys/dev/block: %s", name,
			       dev, strerror(-r));
	return 0;
}
