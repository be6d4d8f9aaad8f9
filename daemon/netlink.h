/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel's TCM-USER generic netlink family (libnl-genl-3): events on
 * the multicast group "config" when a user backstore is added, removed or
 * reconfigured, SET_FEATURES so the kernel waits for our answers, and the
 * *_DONE answers that let an enable (or a reconfiguration) succeed or
 * fail with our status.
 */
#ifndef SNAPCOWD_NETLINK_H
#define SNAPCOWD_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tnl;

struct tnl_event {
	int cmd;			/* TCMU_CMD_ADDED_DEVICE, ... */
	const char *device;		/* uio name; NULL when absent */
	int minor;			/* -1 when absent */
	bool has_dev_id;
	uint32_t dev_id;
	const char *dev_cfg;		/* RECONFIG: new dev_config */
	bool has_dev_size;
	uint64_t dev_size;		/* RECONFIG: new dev_size */
	int write_cache;		/* RECONFIG: 0/1, -1 when absent */
};

/*
 * The handler decides: it returns 1 when the event is not ours (no
 * answer: another handler's subtype), else 0 or -errno, sent back to the
 * kernel in the matching *_DONE.
 */
typedef int (*tnl_handler)(void *arg, const struct tnl_event *ev);

/*
 * Subscribe to the family's "config" group and ask for command replies.
 * Returns 0 or -errno with @err naming what is missing.
 */
int tnl_open(struct tnl **out, tnl_handler fn, void *arg, char *err,
	     size_t len);
void tnl_close(struct tnl *t);
int tnl_fd(const struct tnl *t);
/* Read and handle every queued event; 0 or -errno. */
int tnl_dispatch(struct tnl *t);

#endif /* SNAPCOWD_NETLINK_H */
