// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A live merge, as lvconvert --merge does it on an active origin: the
 * origin NAME's table becomes "snapshot-merge REAL COW P CS" and the
 * kernel copies the COW's chunks back into REAL while NAME stays usable.
 *
 * The switch is the kernel's snapshot handover (dm-snap.c): the merge
 * table is loaded into NAME while the snapshot SNAP still holds the COW
 * (so it registers as SNAP's handover destination and reads no metadata
 * of its own), SNAP is suspended, and resuming NAME hands SNAP's
 * exceptions over and starts the merge; SNAP is then removed.  Every
 * other snapshot of REAL stays and goes on copying, as in the kernel.
 * When the status says the COW is empty (allocated == metadata sectors),
 * NAME is reloaded as a plain snapshot-origin.  The state between steps
 * is the kernel's tables, so a merge stopped anywhere is picked up again
 * from them.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dm-priv.h"
#include "util.h"

struct dm_merge {
	struct dm_node origin, snap;
	bool merging;			/* NAME's table is snapshot-merge */
	char real[64];			/* "MAJ:MIN" under NAME */
	uint64_t sectors;
	struct dm_table merge_table;	/* snapshot-merge, SNAP's params */
};

static int merge_origin(struct dm_merge *m, const char *name, char *err,
			size_t errlen)
{
	return sc_dm_origin_get(&m->origin, name, m->real, sizeof(m->real),
				&m->sectors, &m->merging, err, errlen);
}

/* SNAP: ours, closed, a valid snapshot of REAL; its table for the merge. */
static int merge_snap(struct dm_merge *m, const char *snap, char *err,
		      size_t errlen)
{
	char type[32], params[sizeof(m->merge_table.params)];
	struct snapcow_dm_status st = { 0 };
	size_t len = strlen(m->real);
	int r;

	sc_dm_snap_node(&m->snap, snap);
	r = sc_dm_node_get(&m->snap, err, errlen);
	if (r < 0)
		return r;
	if (!m->snap.info.exists)
		return sc_errf(err, errlen, -ENXIO, "%s: not active: no "
			       "device-mapper device of that name", snap);
	r = sc_dm_check_removable(&m->snap, err, errlen);
	r = r ?: sc_dm_live_table(snap, type, sizeof(type), params,
				  sizeof(params), NULL, err, errlen);
	if (r < 0)
		return r;
	if (strcmp(type, "snapshot") || strncmp(params, m->real, len) ||
	    params[len] != ' ')
		return sc_errf(err, errlen, -ENXIO, "%s: not a snapshot of %s",
			       snap, m->origin.name);
	snprintf(st.device, sizeof(st.device), "%s", snap);
	r = sc_dm_status_of(&st, err, errlen);
	if (r < 0)
		return r;
	if (st.state != SNAPCOW_STATE_VALID)
		return sc_errf(err, errlen, -EINVAL, "%s: %s: the kernel "
			       "refuses to merge it", snap, st.line);
	m->merge_table.target = "snapshot-merge";
	m->merge_table.sectors = m->sectors;
	memcpy(m->merge_table.params, params, sizeof(params));
	return 0;
}

/* Undo a switch that failed before NAME resumed with the merge table. */
static void merge_undo(struct dm_merge *m)
{
	sc_dm_run(DM_DEVICE_CLEAR, m->origin.name, NULL, NULL, "undo", NULL,
		  0);
	sc_dm_run(DM_DEVICE_RESUME, m->origin.name, NULL, NULL, "undo", NULL,
		  0);
	sc_dm_run(DM_DEVICE_RESUME, m->snap.name, NULL, NULL, "undo", NULL, 0);
}

static int merge_switch(struct dm_merge *m, char *err, size_t errlen)
{
	const char *o = m->origin.name, *s = m->snap.name;
	int r;

	r = sc_dm_run(DM_DEVICE_RELOAD, o, NULL, &m->merge_table,
		      "load the snapshot-merge table (see the kernel log)",
		      err, errlen);
	if (r < 0) {
		sc_dm_run(DM_DEVICE_CLEAR, o, NULL, NULL, "undo", NULL, 0);
		return r;
	}
	r = sc_dm_run(DM_DEVICE_SUSPEND, s, NULL, NULL, "suspend the snapshot",
		      err, errlen);
	r = r ?: sc_dm_run(DM_DEVICE_SUSPEND, o, NULL, NULL,
			   "suspend the origin", err, errlen);
	/* The handover: SNAP's exceptions move to NAME, the merge starts. */
	r = r ?: sc_dm_run(DM_DEVICE_RESUME, o, NULL, NULL,
			   "start the merge (see the kernel log)", err,
			   errlen);
	if (r < 0) {
		merge_undo(m);
		return r;
	}
	return sc_dm_run(DM_DEVICE_REMOVE, s, NULL, NULL,
			 "remove the merged snapshot", err, errlen);
}

/*
 * A merge found running: a kill may have left NAME suspended or SNAP,
 * handed over, still there (suspended): finish those steps.
 */
static int merge_pick_up(struct dm_merge *m, const char *snap, char *err,
			 size_t errlen)
{
	int r = 0;

	if (m->origin.info.suspended)
		r = sc_dm_run(DM_DEVICE_RESUME, m->origin.name, NULL, NULL,
			      "resume the merging origin", err, errlen);
	if (r < 0 || !snap)
		return r;
	sc_dm_snap_node(&m->snap, snap);
	r = sc_dm_node_get(&m->snap, err, errlen);
	if (r < 0 || !m->snap.info.exists || !m->snap.info.suspended ||
	    strcmp(m->snap.uuid, m->snap.want_uuid))
		return r;
	return sc_dm_run(DM_DEVICE_REMOVE, snap, NULL, NULL,
			 "remove the merged snapshot", err, errlen);
}

SNAPCOW_EXPORT
int snapcow_dm_merge_start(const char *name, const char *snap, bool *resumed,
			   char *err, size_t errlen)
{
	struct dm_merge m;
	int r;

	memset(&m, 0, sizeof(m));
	*resumed = false;
	r = sc_dm_check_name(name, err, errlen);
	r = r ?: snap ? sc_dm_check_name(snap, err, errlen) : 0;
	if (r < 0)
		return r;
	sc_dm_begin();
	r = merge_origin(&m, name, err, errlen);
	if (!r && m.merging) {
		*resumed = true;
		r = merge_pick_up(&m, snap, err, errlen);
	} else if (!r && !snap) {
		r = sc_errf(err, errlen, -EINVAL, "%s: not merging: name the "
			    "snapshot to merge", name);
	} else if (!r) {
		/* A load a stopped run left in the inactive slot goes. */
		if (m.origin.info.inactive_table)
			sc_dm_run(DM_DEVICE_CLEAR, name, NULL, NULL,
				  "clear the inactive table", NULL, 0);
		r = merge_snap(&m, snap, err, errlen);
		r = r ?: merge_switch(&m, err, errlen);
	}
	sc_dm_end();
	return r;
}

SNAPCOW_EXPORT
int snapcow_dm_merge_status(const char *name, struct snapcow_dm_status *st,
			    char *err, size_t errlen)
{
	return sc_dm_status_named(name, st, err, errlen);
}

static int merge_reload_origin(void *ctx, char *err, size_t errlen)
{
	struct dm_merge *m = ctx;
	struct dm_table t = { .target = "snapshot-origin",
			      .sectors = m->sectors };

	snprintf(t.params, sizeof(t.params), "%s", m->real);
	return sc_dm_run(DM_DEVICE_RELOAD, m->origin.name, NULL, &t,
			 "load the snapshot-origin table", err, errlen);
}

SNAPCOW_EXPORT
int snapcow_dm_merge_finish(const char *name, char *err, size_t errlen)
{
	struct snapcow_dm_status st = { 0 };
	struct dm_merge m;
	int r;

	memset(&m, 0, sizeof(m));
	r = sc_dm_check_name(name, err, errlen);
	if (r < 0)
		return r;
	sc_dm_begin();
	r = merge_origin(&m, name, err, errlen);
	if (!r && !m.merging)
		r = sc_errf(err, errlen, -EINVAL, "%s: not merging", name);
	snprintf(st.device, sizeof(st.device), "%s", name);
	r = r ?: sc_dm_status_of(&st, err, errlen);
	if (!r && (!st.has_usage ||
		   st.sectors_allocated != st.metadata_sectors))
		r = sc_errf(err, errlen, -EBUSY, "%s: the merge has not "
			    "ended (%s)", name, st.line);
	r = r ?: sc_dm_with_origin_suspended(name, merge_reload_origin, &m,
					     err, errlen);
	sc_dm_end();
	return r;
}
