// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The dm layer: activate an origin + snapshot pair through libdevmapper,
 * take it down again, and read the snapshot target's live status.
 *
 * The order is lvm2's.  Its dev_manager adds an origin's snapshots to the
 * activation tree as children of the origin, and libdm's tree resumes
 * children before parents.  That matters: the kernel's origin_resume()
 * sets the origin's split boundary to the smallest chunk size of the
 * snapshots registered on the origin device at that moment; an origin
 * resumed before its snapshot exists passes writes across chunk
 * boundaries whole and only the first chunk is copied.  So: create the
 * origin node with its table loaded but not live, create and resume the
 * snapshot, then resume the origin.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdevmapper.h>
#include <linux/dm-ioctl.h>

#include "dev-storage.h"
#include "dm-priv.h"
#include "snapcow.h"
#include "util.h"


/*
 * libdm keeps process-wide state (its log function, the node queue, udev
 * cookies), so our calls take dm_lock for their whole length.  The
 * library must not print: while a call runs, libdm's errors land in the
 * calling thread's dm_last_error and end up in that call's own message.
 */
static pthread_mutex_t dm_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local char dm_last_error[256];

static void __attribute__((format(printf, 5, 6)))
dm_log(int level, const char *file, int line, int dm_errno, const char *f,
       ...)
{
	va_list ap;

	(void)file;
	(void)line;
	(void)dm_errno;
	/* The low bits are a syslog-like level; 3 is libdm's _LOG_ERR. */
	if ((level & 7) > 3)
		return;
	va_start(ap, f);
	vsnprintf(dm_last_error, sizeof(dm_last_error), f, ap);
	va_end(ap);
}

/*
 * Without udev nobody would ever answer libdm's udev cookies nor create
 * the /dev/mapper nodes: then libdm must not wait and must make the nodes
 * itself.  /run/udev/control is how libudev tells that udev runs.
 */
void sc_dm_begin(void)
{
	pthread_mutex_lock(&dm_lock);
	dm_last_error[0] = '\0';
	dm_log_with_errno_init(dm_log);
	if (getenv("DM_DISABLE_UDEV") || access("/run/udev/control", F_OK))
		dm_udev_set_sync_support(0);
}

void sc_dm_end(void)
{
	/* Create or remove the /dev/mapper nodes libdm has queued. */
	dm_task_update_nodes();
	dm_lib_release();
	dm_log_with_errno_init(NULL);
	pthread_mutex_unlock(&dm_lock);
}

/* What libdm said about the failure, else the errno's text. */
const char *sc_dm_why(int r)
{
	return dm_last_error[0] ? dm_last_error : strerror(-r);
}


static bool dm_task_wants_cookie(int type, const struct dm_table *t)
{
	/* Only these raise the uevents a udev cookie waits for. */
	return type == DM_DEVICE_RESUME || type == DM_DEVICE_REMOVE ||
	       (type == DM_DEVICE_CREATE && t);
}

static int dm_task_setup(struct dm_task *dmt, const char *name,
			 const char *uuid, const struct dm_table *t)
{
	if (!dm_task_set_name(dmt, name))
		return 0;
	if (uuid && !dm_task_set_uuid(dmt, uuid))
		return 0;
	return !t || dm_task_add_target(dmt, 0, t->sectors, t->target,
					t->params);
}

/*
 * With udev running, its rules make and remove the /dev/mapper links (as
 * dmsetup and lvm2 leave them to it); libdm's own nodes would race them.
 */
static uint16_t dm_udev_flags(void)
{
	return dm_udev_get_sync_support() ? DM_UDEV_DISABLE_LIBRARY_FALLBACK :
					    0;
}

/*
 * Run one task of @type on device @name; @uuid for a create, @t for a
 * create (then libdm also loads and resumes) or a reload.  On failure the
 * message names the device and @step.
 */
int sc_dm_run(int type, const char *name, const char *uuid,
		  const struct dm_table *t, const char *step, char *err,
		  size_t errlen)
{
	bool cookie_set = false;
	uint32_t cookie = 0;
	struct dm_task *dmt;
	int r = 0;

	dm_last_error[0] = '\0';
	dmt = dm_task_create(type);
	if (!dmt)
		return sc_errf(err, errlen, -ENOMEM, "%s: %s: %s", name, step,
			       strerror(ENOMEM));
	if (!dm_task_setup(dmt, name, uuid, t)) {
		r = -ENOMEM;
		goto fail;
	}
	if (dm_task_wants_cookie(type, t)) {
		if (!dm_task_set_cookie(dmt, &cookie, dm_udev_flags())) {
			r = -EIO;
			goto fail;
		}
		cookie_set = true;
	}
	if (!dm_task_run(dmt))
		r = -(dm_task_get_errno(dmt) ?: EIO);
	/* As dmsetup: wait even after a failure, to release the cookie. */
	if (cookie_set)
		dm_udev_wait(cookie);
	if (r == 0)
		goto out;
fail:
	sc_errf(err, errlen, r, "%s: %s: %s", name, step, sc_dm_why(r));
out:
	dm_task_destroy(dmt);
	return r;
}


int sc_dm_node_get(struct dm_node *n, char *err, size_t errlen)
{
	struct dm_task *dmt;
	const char *uuid;
	int r = 0;

	memset(&n->info, 0, sizeof(n->info));
	n->uuid[0] = '\0';
	dmt = dm_task_create(DM_DEVICE_INFO);
	if (!dmt)
		return sc_errf(err, errlen, -ENOMEM, "%s: %s", n->name,
			       strerror(ENOMEM));
	if (!dm_task_set_name(dmt, n->name) || !dm_task_run(dmt) ||
	    !dm_task_get_info(dmt, &n->info)) {
		r = -(dm_task_get_errno(dmt) ?: EIO);
		sc_errf(err, errlen, r, "%s: cannot read its device-mapper "
			"state: %s", n->name, sc_dm_why(r));
		goto out;
	}
	uuid = n->info.exists ? dm_task_get_uuid(dmt) : NULL;
	snprintf(n->uuid, sizeof(n->uuid), "%s", uuid ? uuid : "");
out:
	dm_task_destroy(dmt);
	return r;
}

int sc_dm_each(int (*fn)(void *ctx, const char *name), void *ctx,
	       char *err, size_t errlen)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_LIST);
	struct dm_names *names;
	unsigned int next = 0;
	int r = 0;

	if (!dmt || !dm_task_run(dmt)) {
		r = dmt ? -(dm_task_get_errno(dmt) ?: EIO) : -ENOMEM;
		sc_errf(err, errlen, r, "cannot list device-mapper devices: "
			"%s", sc_dm_why(r));
		goto out;
	}
	names = dm_task_get_names(dmt);
	if (!names || !names->dev)
		goto out;
	do {
		names = (struct dm_names *)((char *)names + next);
		r = fn(ctx, names->name);
		next = names->next;
	} while (!r && next);
out:
	if (dmt)
		dm_task_destroy(dmt);
	return r;
}

static void dm_pair_names(const char *name, struct dm_node *origin,
			  struct dm_node *snap)
{
	snprintf(origin->name, sizeof(origin->name), "%s", name);
	snprintf(snap->name, sizeof(snap->name), "%s" SNAP_SUFFIX, name);
	snprintf(origin->want_uuid, sizeof(origin->want_uuid),
		 UUID_PREFIX "%s", origin->name);
	snprintf(snap->want_uuid, sizeof(snap->want_uuid), UUID_PREFIX "%s",
		 snap->name);
}

SNAPCOW_EXPORT
int snapcow_dm_name_check(const char *name, const char **why)
{
	const char *w = NULL;

	if (!name || !*name)
		w = "the name is empty";
	else if (strlen(name) + sizeof(SNAP_SUFFIX) > DM_NAME_LEN ||
		 strlen(name) + sizeof(UUID_PREFIX SNAP_SUFFIX) > DM_UUID_LEN)
		w = "the name is too long for device-mapper";
	else if (strchr(name, '/') || !strcmp(name, ".") ||
		 !strcmp(name, ".."))
		w = "the name must not contain '/' nor be '.' or '..'";
	else if (strpbrk(name, " \t\n\r"))
		w = "the name must not contain white space";
	if (why && w)
		*why = w;
	return w ? -EINVAL : 0;
}

SNAPCOW_EXPORT
int snapcow_dm_available(char *err, size_t errlen)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/control", dm_dir());
	if (access(path, F_OK) == 0)
		return 0;
	return sc_errf(err, errlen, -ENODEV, "device-mapper not available: "
		       "no %s (modprobe dm-mod)", path);
}

/* Name and control node: what every entry point checks first. */
int sc_dm_check_name(const char *name, char *err, size_t errlen)
{
	const char *why = "invalid name";

	if (snapcow_dm_name_check(name, &why) < 0)
		return sc_errf(err, errlen, -EINVAL, "'%s': %s", name ?: "",
			       why);
	return snapcow_dm_available(err, errlen);
}

/* ------------------------------------------------------------ activate */

struct dm_pair {
	struct dm_node origin;
	struct dm_node snap;
	struct dm_table origin_table;
	struct dm_table snap_table;
};

int sc_dm_open_block(const char *path, const char *role,
			 struct snapcow_dev **devp, char *err, size_t errlen)
{
	char why[SNAPCOW_ERRBUF_SIZE] = "";
	int r = snapcow_dev_open_err(path, 0, devp, why, sizeof(why));

	if (r == -ENODEV)
		return sc_errf(err, errlen, r, "%s (%s)", why, role);
	if (r < 0)
		return sc_errf(err, errlen, r, "%s (%s): cannot open: %s",
			       path, role, strerror(-r));
	if (snapcow_dev_is_block(*devp))
		return 0;
	snapcow_dev_close(*devp);
	*devp = NULL;
	return sc_errf(err, errlen, -ENOTBLK, "%s (%s): not a block device: "
		       "device-mapper maps block devices only (attach a file "
		       "with losetup)", path, role);
}

/* The two tables, from the devices' numbers and the origin's size. */
static int dm_pair_tables(const struct snapcow_dm_spec *spec,
			  struct dm_pair *p, char *err, size_t errlen)
{
	struct snapcow_dev *origin = NULL, *cow = NULL;
	uint64_t bytes;
	int r;

	r = sc_dm_open_block(spec->origin, "origin", &origin, err, errlen);
	r = r ?: sc_dm_open_block(spec->cow, "COW", &cow, err, errlen);
	if (r < 0)
		goto out;
	r = sc_storage_refuse(origin, "origin", cow, "COW", "a snapshot's "
			      "COW cannot live on its origin", err, errlen);
	if (r < 0)
		goto out;
	bytes = snapcow_dev_size(origin);
	if (bytes < SNAPCOW_SECTOR_SIZE) {
		r = sc_errf(err, errlen, -EINVAL, "%s (origin): empty device",
			    spec->origin);
		goto out;
	}
	p->origin_table.target = "snapshot-origin";
	p->origin_table.sectors = bytes >> SNAPCOW_SECTOR_SHIFT;
	snprintf(p->origin_table.params, sizeof(p->origin_table.params),
		 "%s", snapcow_dev_name(origin));
	p->snap_table.target = "snapshot";
	p->snap_table.sectors = p->origin_table.sectors;
	snprintf(p->snap_table.params, sizeof(p->snap_table.params),
		 "%s %s %s %" PRIu32, snapcow_dev_name(origin),
		 snapcow_dev_name(cow), spec->overflow ? "PO" : "P",
		 spec->chunk_sectors);
out:
	snapcow_dev_close(cow);
	snapcow_dev_close(origin);
	return r;
}

int sc_dm_check_absent(struct dm_node *n, char *err, size_t errlen)
{
	int r = sc_dm_node_get(n, err, errlen);

	if (r < 0 || !n->info.exists)
		return r;
	return sc_errf(err, errlen, -EEXIST, "%s: a device-mapper device of "
		       "that name already exists", n->name);
}

static int dm_pair_up(struct dm_pair *p, char *err, size_t errlen)
{
	const char *o = p->origin.name, *s = p->snap.name;
	int r;

	/* The origin node first, its table loaded but not live yet. */
	r = sc_dm_run(DM_DEVICE_CREATE, o, p->origin.want_uuid, NULL,
		   "create the origin device", err, errlen);
	if (r < 0)
		return r;
	r = sc_dm_run(DM_DEVICE_RELOAD, o, NULL, &p->origin_table,
		   "load the snapshot-origin table", err, errlen);
	if (r < 0)
		goto undo_origin;
	/* Created with a table, libdm loads and resumes it at once. */
	r = sc_dm_run(DM_DEVICE_CREATE, s, p->snap.want_uuid, &p->snap_table,
		   "create the snapshot (see the kernel log)", err, errlen);
	if (r < 0)
		goto undo_origin;
	/* Now the origin learns the chunk size to split writes at. */
	r = sc_dm_run(DM_DEVICE_RESUME, o, NULL, NULL, "resume the origin", err,
		   errlen);
	if (r == 0)
		return 0;
	sc_dm_run(DM_DEVICE_REMOVE, s, NULL, NULL, "undo", NULL, 0);
undo_origin:
	sc_dm_run(DM_DEVICE_REMOVE, o, NULL, NULL, "undo", NULL, 0);
	return r;
}

/* Everything activation can refuse, before it creates anything. */
static int dm_pair_check(const struct snapcow_dm_spec *spec,
			 struct dm_pair *p, char *err, size_t errlen)
{
	int r;

	memset(p, 0, sizeof(*p));
	r = sc_dm_check_name(spec->name, err, errlen);
	r = r ?: dm_pair_tables(spec, p, err, errlen);
	if (r < 0)
		return r;
	dm_pair_names(spec->name, &p->origin, &p->snap);
	r = sc_dm_check_absent(&p->origin, err, errlen);
	return r ?: sc_dm_check_absent(&p->snap, err, errlen);
}

SNAPCOW_EXPORT
int snapcow_dm_activate_check(const struct snapcow_dm_spec *spec, char *err,
			      size_t errlen)
{
	struct dm_pair p;
	int r;

	sc_dm_begin();
	r = dm_pair_check(spec, &p, err, errlen);
	sc_dm_end();
	return r;
}

SNAPCOW_EXPORT
int snapcow_dm_activate(const struct snapcow_dm_spec *spec, char *err,
			size_t errlen)
{
	struct dm_pair p;
	int r;

	sc_dm_begin();
	r = dm_pair_check(spec, &p, err, errlen);
	r = r ?: dm_pair_up(&p, err, errlen);
	sc_dm_end();
	return r;
}

/*
 * A merge found on disk, picked up again as lvm2 does when it activates a
 * merging origin: NAME made straight with the snapshot-merge table of
 * ORIGIN and COW (no NAME-snap), and the kernel goes on merging as soon
 * as it resumes.  The checks are activate's.
 */
SNAPCOW_EXPORT
int snapcow_dm_activate_merging(const struct snapcow_dm_spec *spec,
				char *err, size_t errlen)
{
	struct dm_pair p;
	int r;

	sc_dm_begin();
	r = dm_pair_check(spec, &p, err, errlen);
	if (!r) {
		p.snap_table.target = "snapshot-merge";
		r = sc_dm_run(DM_DEVICE_CREATE, p.origin.name,
			      p.origin.want_uuid, &p.snap_table,
			      "create the merging origin (see the kernel log)",
			      err, errlen);
	}
	sc_dm_end();
	return r;
}

/* ---------------------------------------------------------- deactivate */

/* Never take down a device someone else made, nor one in use. */
int sc_dm_check_removable(const struct dm_node *n, char *err,
			      size_t errlen)
{
	if (!n->info.exists)
		return 0;
	if (strcmp(n->uuid, n->want_uuid))
		return sc_errf(err, errlen, -EPERM, "%s: not activated by "
			       "snapcow (uuid '%s', not '%s'): leaving it "
			       "alone", n->name, n->uuid, n->want_uuid);
	if (n->info.open_count > 0)
		return sc_errf(err, errlen, -EBUSY, "%s: in use (open count "
			       "%" PRId32 ")", n->name, n->info.open_count);
	return 0;
}

/*
 * As lvm2 takes a snapshot away: with the origin suspended, so that no
 * origin write is between its copy and its own write meanwhile.
 */
static int dm_remove_snap(struct dm_pair *p, char *err, size_t errlen)
{
	const char *o = p->origin.name;
	bool suspend = p->origin.info.exists && p->origin.info.live_table &&
		       !p->origin.info.suspended;
	int r, r2;

	if (suspend) {
		r = sc_dm_run(DM_DEVICE_SUSPEND, o, NULL, NULL,
			   "suspend the origin", err, errlen);
		if (r < 0)
			return r;
	}
	r = sc_dm_run(DM_DEVICE_REMOVE, p->snap.name, NULL, NULL,
		   "remove the snapshot", err, errlen);
	if (!suspend)
		return r;
	r2 = sc_dm_run(DM_DEVICE_RESUME, o, NULL, NULL, "resume the origin",
		    r < 0 ? NULL : err, errlen);
	return r ?: r2;
}

static int dm_pair_down(struct dm_pair *p, char *err, size_t errlen)
{
	int r = 0;

	if (!p->origin.info.exists && !p->snap.info.exists)
		return sc_errf(err, errlen, -ENXIO, "%s: not active: no "
			       "device-mapper device %s or %s",
			       p->origin.name, p->origin.name, p->snap.name);
	r = sc_dm_check_removable(&p->snap, err, errlen);
	r = r ?: sc_dm_check_removable(&p->origin, err, errlen);
	if (r < 0)
		return r;
	if (p->snap.info.exists)
		r = dm_remove_snap(p, err, errlen);
	if (r == 0 && p->origin.info.exists)
		r = sc_dm_run(DM_DEVICE_REMOVE, p->origin.name, NULL, NULL,
			   "remove the origin", err, errlen);
	return r;
}

SNAPCOW_EXPORT
int snapcow_dm_deactivate(const char *name, char *err, size_t errlen)
{
	struct dm_pair p;
	int r;

	memset(&p, 0, sizeof(p));
	r = sc_dm_check_name(name, err, errlen);
	if (r < 0)
		return r;
	dm_pair_names(name, &p.origin, &p.snap);
	sc_dm_begin();
	r = sc_dm_remove_other_snaps(name, err, errlen);
	r = r ?: sc_dm_node_get(&p.origin, err, errlen);
	r = r ?: sc_dm_node_get(&p.snap, err, errlen);
	r = r ?: dm_pair_down(&p, err, errlen);
	sc_dm_end();
	return r;
}

/* -------------------------------------------------------------- status */

/* The snapshot target's status: "Invalid" or "a/b m", as dm-snap.c. */
static void dm_parse_status(struct snapcow_dm_status *st)
{
	unsigned long long a, b, m;
	char end;

	st->has_usage = false;
	st->state = SNAPCOW_STATE_UNKNOWN;
	if (!strcmp(st->line, "Invalid"))
		st->state = SNAPCOW_STATE_INVALID;
	else if (!strcmp(st->line, "Overflow"))
		st->state = SNAPCOW_STATE_OVERFLOW;
	else if (!strcmp(st->line, "Merge failed"))
		st->state = SNAPCOW_STATE_MERGE_FAILED;
	else if (sscanf(st->line, "%llu/%llu %llu%c", &a, &b, &m, &end) == 3) {
		st->state = strcmp(st->target, "snapshot-merge") ?
			    SNAPCOW_STATE_VALID : SNAPCOW_STATE_MERGING;
		st->has_usage = true;
		st->sectors_allocated = a;
		st->cow_sectors = b;
		st->metadata_sectors = m;
	}
}

static int dm_read_status(struct dm_task *dmt, struct snapcow_dm_status *st,
			  char *err, size_t errlen)
{
	char *type = NULL, *params = NULL;
	uint64_t start = 0, length = 0;

	dm_get_next_target(dmt, NULL, &start, &length, &type, &params);
	if (!type)
		return sc_errf(err, errlen, -ENODATA, "%s: no live table",
			       st->device);
	if (strcmp(type, "snapshot") && strcmp(type, "snapshot-merge"))
		return sc_errf(err, errlen, -EINVAL, "%s: a %s target, not a "
			       "snapshot", st->device, type);
	snprintf(st->target, sizeof(st->target), "%s", type);
	snprintf(st->line, sizeof(st->line), "%s", params ? params : "");
	st->start = start;
	st->length = length;
	dm_parse_status(st);
	return 0;
}

int sc_dm_task_on(int type, const char *name, const char *what,
		  struct dm_task **dmtp, struct dm_info *info, char *err,
		  size_t errlen)
{
	struct dm_task *dmt = dm_task_create(type);
	int r = 0;

	if (!dmt)
		return sc_errf(err, errlen, -ENOMEM, "%s: %s", name,
			       strerror(ENOMEM));
	if (!dm_task_set_name(dmt, name) || !dm_task_run(dmt) ||
	    !dm_task_get_info(dmt, info))
		r = -(dm_task_get_errno(dmt) ?: EIO);
	else if (!info->exists)
		r = -ENXIO;
	if (r == -ENXIO)
		sc_errf(err, errlen, r, "%s: not active: no device-mapper "
			"device of that name", name);
	else if (r)
		sc_errf(err, errlen, r, "%s: cannot read its %s: %s", name,
			what, sc_dm_why(r));
	if (r)
		dm_task_destroy(dmt);
	else
		*dmtp = dmt;
	return r;
}

int sc_dm_status_of(struct snapcow_dm_status *st, char *err, size_t errlen)
{
	struct dm_task *dmt;
	struct dm_info info;
	int r;

	r = sc_dm_task_on(DM_DEVICE_STATUS, st->device, "status", &dmt, &info,
		       err, errlen);
	if (r < 0)
		return r;
	st->event_nr = info.event_nr;
	r = dm_read_status(dmt, st, err, errlen);
	dm_task_destroy(dmt);
	return r;
}

/* @dev's table line and uuid; @dev->dm_name names it. */
static int dm_device_of(struct snapcow_dm_device *dev, char *err,
			size_t errlen)
{
	char *type = NULL, *params = NULL;
	struct dm_task *dmt;
	struct dm_info info;
	const char *uuid;
	int r;

	r = sc_dm_task_on(DM_DEVICE_TABLE, dev->dm_name, "table", &dmt, &info,
		       err, errlen);
	if (r < 0)
		return r;
	dm_get_next_target(dmt, NULL, &dev->start, &dev->length, &type,
			   &params);
	snprintf(dev->target, sizeof(dev->target), "%s", type ? type : "");
	uuid = dm_task_get_uuid(dmt);
	snprintf(dev->uuid, sizeof(dev->uuid), "%s", uuid ? uuid : "");
	dm_task_destroy(dmt);
	return 0;
}

SNAPCOW_EXPORT
int snapcow_dm_devices(const char *name, struct snapcow_dm_device devs[2],
		       char *err, size_t errlen)
{
	int r;

	memset(devs, 0, 2 * sizeof(*devs));
	r = sc_dm_check_name(name, err, errlen);
	if (r < 0)
		return r;
	snprintf(devs[0].dm_name, sizeof(devs[0].dm_name), "%s", name);
	snprintf(devs[1].dm_name, sizeof(devs[1].dm_name), "%s" SNAP_SUFFIX,
		 name);
	sc_dm_begin();
	r = dm_device_of(&devs[0], err, errlen);
	r = r ?: dm_device_of(&devs[1], err, errlen);
	sc_dm_end();
	return r;
}

int sc_dm_status_named(const char *name, struct snapcow_dm_status *st,
		       char *err, size_t errlen)
{
	int r;

	memset(st, 0, sizeof(*st));
	r = sc_dm_check_name(name, err, errlen);
	if (r < 0)
		return r;
	snprintf(st->device, sizeof(st->device), "%s", name);
	sc_dm_begin();
	r = sc_dm_status_of(st, err, errlen);
	sc_dm_end();
	return r;
}

SNAPCOW_EXPORT
int snapcow_dm_status(const char *name, const char *snap,
		      struct snapcow_dm_status *st, char *err, size_t errlen)
{
	char dev[DM_NAME_LEN + sizeof(SNAP_SUFFIX)];
	int r;

	memset(st, 0, sizeof(*st));
	r = sc_dm_snap_dev(name, snap, dev, sizeof(dev), err, errlen);
	return r ?: sc_dm_status_named(dev, st, err, errlen);
}
