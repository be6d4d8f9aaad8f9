// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Waiting for a snapshot device's device-mapper events, as dmeventd
 * does: one DM_DEV_WAIT ioctl that returns when the device's event
 * counter passes the one given.  The kernel's dm-snapshot raises an event
 * when it invalidates a snapshot (out of room, an I/O error) and when a
 * merge ends; its usage grows without one, so a watcher also samples the
 * status on a timer of its own, and interrupts the wait with a signal.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dm-priv.h"
#include "util.h"

static int dm_wait(const char *dev, uint32_t *event_nr, char *err,
		   size_t errlen)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_WAITEVENT);
	struct dm_info info;
	int r = 0;

	if (!dmt)
		return sc_errf(err, errlen, -ENOMEM, "%s: %s", dev,
			       strerror(ENOMEM));
	if (!dm_task_set_name(dmt, dev) ||
	    !dm_task_set_event_nr(dmt, *event_nr) || !dm_task_run(dmt) ||
	    !dm_task_get_info(dmt, &info)) {
		r = -(dm_task_get_errno(dmt) ?: EIO);
		if (r == -EINTR)
			goto out;
		sc_errf(err, errlen, r, r == -ENXIO ? "%s: not active: no "
			"device-mapper device of that name" :
			"%s: waiting for an event: %s", dev, sc_dm_why(r));
		goto out;
	}
	if (!info.exists) {
		r = sc_errf(err, errlen, -ENXIO, "%s: not active: no "
			    "device-mapper device of that name", dev);
		goto out;
	}
	*event_nr = info.event_nr;
out:
	dm_task_destroy(dmt);
	return r;
}

SNAPCOW_EXPORT
int snapcow_dm_wait_event(const char *name, const char *snap,
			  uint32_t *event_nr, char *err, size_t errlen)
{
	char dev[DM_NAME_LEN + sizeof(SNAP_SUFFIX)];
	int r = sc_dm_snap_dev(name, snap, dev, sizeof(dev), err, errlen);

	if (r < 0)
		return r;
	sc_dm_begin();
	r = dm_wait(dev, event_nr, err, errlen);
	sc_dm_end();
	return r;
}
