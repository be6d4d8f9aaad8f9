/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The LUNs snapcowd serves: a uio device and its ring joined to a device
 * (device.h), created when the kernel adds a user backstore of subtype
 * snapcow (or when the daemon finds one at start), served on every kick,
 * flushed and released when the kernel removes it or the daemon stops.
 */
#ifndef SNAPCOWD_LUN_H
#define SNAPCOWD_LUN_H

#include <stdbool.h>

#include "cfgstring.h"
#include "device.h"
#include "netlink.h"
#include "pool.h"
#include "uio.h"

struct lun {
	struct uio_dev uio;
	struct device *dev;
	struct pool_ring pr;	/* the ring's commands, run by the pool */
	bool stopped;		/* ring broken: no longer polled */
	struct lun *next;
};

struct luns {
	const struct policy *policy;
	struct pool *pool;	/* runs every LUN's commands */
	int epfd;		/* uio fds are added here, data.ptr = lun */
	struct lun *list;
};

/*
 * Serve uio<minor> named @name.  Returns 1 when it is not a snapcow
 * device, 0 when served (or already served), else -errno, logged with
 * the reason.  @recover: the device may have had a previous daemon, so
 * its ring is reset first through the kernel's configfs actions.
 */
int lun_add(struct luns *ls, int minor, const char *name, bool recover);
/* Hand what the kernel queued to the pool (answers kick the kernel). */
void lun_serve(struct luns *ls, struct lun *l);
/*
 * Take what is queued in every ring, wait for every command in flight to
 * be answered, then flush and release every LUN.
 */
void lun_stop_all(struct luns *ls);
unsigned int lun_count(const struct luns *ls);
/* A ring has new entries or io_uring completions wait (polling). */
bool lun_ready(void *ls);
/* Start: every snapcow device already present, with ring recovery. */
int lun_scan(struct luns *ls);
/* netlink events (tnl_handler). */
int lun_event(void *arg, const struct tnl_event *ev);

#endif /* SNAPCOWD_LUN_H */
