/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SNAPCOW_DM_PRIV_H
#define SNAPCOW_DM_PRIV_H

/*
 * What the dm layer's files share (dm.c: pairs and status; dm-snaps.c:
 * more snapshots of an active origin).  Every call between sc_dm_begin
 * and sc_dm_end holds libdm's process-wide state.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libdevmapper.h>
#include <linux/dm-ioctl.h>

#include "snapcow.h"

/* Marks the devices we made, as lvm2 marks its own with "LVM-". */
#define UUID_PREFIX	"SNAPCOW-"
#define SNAP_SUFFIX	SNAPCOW_DM_SNAP_SUFFIX

struct dm_table {
	const char *target;
	uint64_t sectors;
	char params[2 * 24 + 32];	/* "snapshot MAJ:MIN MAJ:MIN PO CS" */
};

/* Sized for any input; snapcow_dm_name_check keeps them within dm's. */
struct dm_node {
	char name[DM_NAME_LEN + sizeof(SNAP_SUFFIX)];
	char want_uuid[sizeof(UUID_PREFIX) + DM_NAME_LEN + sizeof(SNAP_SUFFIX)];
	char uuid[DM_UUID_LEN];
	struct dm_info info;
};

void sc_dm_begin(void);
void sc_dm_end(void);
/* What libdm said about the failure, else the errno's text. */
const char *sc_dm_why(int r);
int sc_dm_run(int type, const char *name, const char *uuid,
	      const struct dm_table *t, const char *step, char *err,
	      size_t errlen);
int sc_dm_node_get(struct dm_node *n, char *err, size_t errlen);
/*
 * @fn for the name of every device-mapper device, until one returns
 * non-zero (returned); -errno with @err when they cannot be listed.
 */
int sc_dm_each(int (*fn)(void *ctx, const char *name), void *ctx,
	       char *err, size_t errlen);
/*
 * A task of @type run on the existing device @name, in *@dmtp for the
 * caller to read and destroy; -ENXIO (with a message that says so) when
 * there is no such device, another -errno when @what cannot be read.
 */
int sc_dm_task_on(int type, const char *name, const char *what,
		  struct dm_task **dmtp, struct dm_info *info, char *err,
		  size_t errlen);
/* The status of @st->device (a snapshot or merge target); -ENXIO when missing. */
int sc_dm_status_of(struct snapcow_dm_status *st, char *err, size_t errlen);
/* The first target of @name's live table: its type and parameters. */
int sc_dm_live_table(const char *name, char *type, size_t tlen,
		     char *params, size_t plen, uint64_t *sectors, char *err,
		     size_t errlen);
/* The status of the device @name, the name's rules checked first. */
int sc_dm_status_named(const char *name, struct snapcow_dm_status *st,
		       char *err, size_t errlen);
/* The name's rules and the control node. */
int sc_dm_check_name(const char *name, char *err, size_t errlen);
int sc_dm_open_block(const char *path, const char *role,
		     struct snapcow_dev **devp, char *err, size_t errlen);
/* -EEXIST when @n exists. */
int sc_dm_check_absent(struct dm_node *n, char *err, size_t errlen);
/* -EPERM when @n was not made by snapcow, -EBUSY when it is open. */
int sc_dm_check_removable(const struct dm_node *n, char *err,
			  size_t errlen);
/*
 * dm-snaps.c: the active origin NAME (ours): its node, the device under
 * it ("MAJ:MIN") and the table's length.  A merging origin (snapshot-
 * merge) is refused with -EBUSY when @merging is NULL, else *@merging
 * says whether it merges.
 */
int sc_dm_origin_get(struct dm_node *o, const char *name, char *dev,
		     size_t devlen, uint64_t *sectors, bool *merging,
		     char *err, size_t errlen);
/*
 * dm-snaps.c: the dm device of the active origin NAME's snapshot @snap,
 * which must be one of its snapshots, or NAME-snap (activate's) when
 * @snap is NULL.
 */
int sc_dm_snap_dev(const char *name, const char *snap, char *dev,
		   size_t len, char *err, size_t errlen);
/* dm-snaps.c: "MAJ:MIN" as /dev/NAME (sysfs uevent's DEVNAME); -errno. */
int sc_dm_dev_path(const char *majmin, char *path, size_t len);
/* A node named @name with our uuid, for a lookup or a create. */
void sc_dm_snap_node(struct dm_node *n, const char *name);
/* Suspend @origin, run @fn, resume it whatever happened. */
int sc_dm_with_origin_suspended(const char *origin,
				int (*fn)(void *ctx, char *err,
					  size_t errlen),
				void *ctx, char *err, size_t errlen);
/* dm-snaps.c: for deactivate, every snapshot of NAME but NAME-snap. */
int sc_dm_remove_other_snaps(const char *origin_name, char *err,
			     size_t errlen);

#endif /* SNAPCOW_DM_PRIV_H */
