/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A TCMU device as the kernel exposes it: /sys/class/uio/uioN (its name
 * "tcm-user/<hba>/<name>/<subtype>/<cfgstring>", map0's size), the
 * character device /dev/uioN (mmap of mailbox, ring and data area; a
 * read() waits for the kernel's kick, a write() kicks the kernel), and the
 * LUN's configfs directory /sys/kernel/config/target/core/user_<hba>/<name>
 * (attributes, and the actions that recover a ring after a restart).
 */
#ifndef SNAPCOWD_UIO_H
#define SNAPCOWD_UIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ring.h"

#define UIO_SUBTYPE	"snapcow"

struct uio_name {
	unsigned int hba;
	char name[256];
	char subtype[64];
	const char *cfgstring;	/* points into the parsed string */
};

struct uio_dev {
	int minor;
	int fd;
	void *map;
	size_t map_size;
	struct ring ring;
	struct uio_name id;
	char uio_name[4096];
	char configfs[512];	/* the LUN's configfs directory */
};

/* Split a uio name; -EINVAL when it is not a tcm-user device's. */
int uio_parse_name(const char *s, struct uio_name *id);

/* Read /sys/class/uio/uio<minor>/name. */
int uio_read_name(int minor, char *buf, size_t len);

/* Call @fn for every uio device present; stops at the first error. */
int uio_scan(int (*fn)(void *arg, int minor, const char *name), void *arg);

/* Open, map and attach uio<minor>; @u->uio_name must be set. */
int uio_open(struct uio_dev *u, int minor, char *err, size_t len);
void uio_close(struct uio_dev *u);

/*
 * Clear the pending event count (after poll says readable).  -EIO: the
 * kernel unregistered the device.
 */
int uio_ack(struct uio_dev *u);
/* Tell the kernel cmd_tail moved. */
int uio_kick(struct uio_dev *u);

/* configfs: read an attribute as a number; write an action. */
int uio_attr_u64(const struct uio_dev *u, const char *attr, uint64_t *val);
int uio_action(const struct uio_dev *u, const char *action, const char *val);

#endif /* SNAPCOWD_UIO_H */
