/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which storage a device reaches: the internals behind
 * snapcow_dev_shares_storage(), with the sysfs root and the
 * device-mapper table reader injectable so that unit tests can resolve
 * devices against a fake sysfs tree.
 */
#ifndef SNAPCOW_DEV_STORAGE_H
#define SNAPCOW_DEV_STORAGE_H

#include <stdint.h>

#include "snapcow.h"

enum sc_store_kind {
	SC_STORE_FILE,		/* a regular file: (st_dev, inode) */
	SC_STORE_BLOCK,		/* a block device: its dev_t */
	SC_STORE_MEM,		/* caller memory: addresses */
};

/* What a device is before any stacking is followed. */
struct sc_storage_id {
	enum sc_store_kind kind;
	uint64_t dev;		/* FILE: st_dev; BLOCK: rdev; MEM: 0 */
	uint64_t ino;		/* FILE: inode; MEM: the buffer's address */
	uint64_t size;		/* bytes */
	const char *path;	/* as the user named it */
};

/* One target of a live dm table, in sectors, as the kernel prints it. */
typedef int (*sc_dm_target_fn)(void *ctx, uint64_t start, uint64_t length,
			       const char *type, const char *params);

struct sc_storage_env {
	const char *sysfs;	/* "/sys", or a fake tree */
	/*
	 * Call @fn for each target of dm device @major:@minor; 0, or
	 * -errno when the table cannot be read.
	 */
	int (*dm_table)(unsigned int major, unsigned int minor,
			sc_dm_target_fn fn, void *ctx);
};

/* The identity of an opened device (lib/dev.c knows its fields). */
void sc_dev_storage_id(const struct snapcow_dev *dev,
		       struct sc_storage_id *id);

/* The live table through libdevmapper (lib/dev-storage-dm.c). */
int sc_dm_table(unsigned int major, unsigned int minor, sc_dm_target_fn fn,
		void *ctx);

/*
 * 1 when @a and @b reach a common byte of some storage, with the chain
 * that proves it in @chain; 0 when they do not; -errno (reason in
 * @chain) when the stacking cannot be read.
 */
int sc_storage_shared(const struct sc_storage_env *env,
		      const struct sc_storage_id *a,
		      const struct sc_storage_id *b, char *chain, size_t len);

/*
 * 0 when @a and @b share no storage; -EINVAL with "A (role) and B (role)
 * share storage: CHAIN: @rule" in @err when they do; -errno with the
 * reason when it cannot be told.
 */
int sc_storage_refuse(const struct snapcow_dev *a, const char *a_role,
		      const struct snapcow_dev *b, const char *b_role,
		      const char *rule, char *err, size_t errlen);

#endif /* SNAPCOW_DEV_STORAGE_H */
