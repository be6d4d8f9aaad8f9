/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Origins and COWs shared between LUNs.  Every LUN naming one origin
 * uses one object: the origin, held exclusively, its engine
 * (struct snapcow_origin) and the COWs attached to it, each held
 * exclusively with its store loaded.  What keeps it safe (the exact
 * refusals are in snapcowd(8), "SHARING"):
 *  - every origin write goes through the engine, which copies into every
 *    COW attached, and a COW is attached when any LUN serves it: the
 *    origin LUN lists every COW served for its origin, a snapshot LUN's
 *    COW is listed by the origin LUN when there is one;
 *  - an origin served only through snapshot LUNs is held by this object
 *    all the same, so nothing writes it behind their back;
 *  - one LUN per origin and one per snapshot, and a COW belongs to one
 *    origin;
 *  - no two served devices share storage; a COW passes snapcheck -n.
 *
 * The registry is used on the main thread only (LUN add and remove).
 * The data path reads nothing here but the object's engine, its origin
 * device and a COW's store, which live as long as a LUN holds them.
 */
#ifndef SNAPCOWD_SHARED_H
#define SNAPCOWD_SHARED_H

#include <stdbool.h>
#include <stddef.h>

#include "cfgstring.h"

struct device;
struct snapcow_dev;
struct snapcow_origin;
struct snapcow_store;

struct shared_cow {
	struct shared_cow *next;
	struct snapcow_dev *dev;	/* held exclusively */
	struct snapcow_store *store;	/* attached to the engine */
	bool listed;			/* named by the origin LUN */
	struct device *snap_lun;	/* the snapshot LUN serving it */
};

struct shared_origin {
	struct shared_origin *next;
	struct snapcow_dev *dev;	/* held exclusively */
	struct snapcow_origin *eng;
	struct shared_cow *cows;
	struct device *origin_lun;	/* NULL: only snapshots are served */
	unsigned int luns;
};

/* What one LUN holds. */
struct shared_ref {
	struct shared_origin *so;
	struct shared_cow *cow;		/* a snapshot LUN's COW, else NULL */
};

/*
 * Attach LUN @d to what @cfg names (origin LUN without cfg->snapshot,
 * else snapshot LUN), creating, holding and checking what is not served
 * yet.  0, or -errno with @err naming the LUN, the paths and the rule;
 * a refusal changes nothing that is served.
 */
int shared_attach(struct device *d, const struct snapcow_cfgstring *cfg,
		  struct shared_ref *ref, char *err, size_t len);
/*
 * Origin LUN @d (@ref) now serves @cfg: the same origin, with the COWs
 * @cfg lists.  A COW not listed before is held and checked as at add,
 * then taken by the engine at one point in the command stream (writes
 * acknowledged before are in its image, later ones are copied); one no
 * longer listed is dropped from the engine, flushed and released, unless
 * a snapshot LUN serves it (-EBUSY).  0, or -errno with @err as
 * shared_attach's; a refusal changes nothing.  The caller has drained
 * the LUN's commands.
 */
int shared_reconfig(struct device *d, const struct snapcow_cfgstring *cfg,
		    const struct shared_ref *ref, char *err, size_t len);
/* Drop @ref; what no LUN uses any more is flushed and released. */
void shared_detach(struct shared_ref *ref);
/* Every origin served (main thread only), for status reports. */
const struct shared_origin *shared_origins(void);

#endif /* SNAPCOWD_SHARED_H */
