// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A device-mapper device's live table, target by target, through
 * libdevmapper: what lib/dev-storage.c needs to map linear targets
 * precisely.  Only called for devices sysfs shows as dm devices.
 *
 * libdm's log function is process-wide: this silences it for the one
 * call and then puts back libdm's default, as lib/dm.c's dm_end() does,
 * so it must not run between lib/dm.c's dm_begin() and dm_end() (the
 * pair's storage is checked before activation begins).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>

#include <libdevmapper.h>

#include "dev-storage.h"

/* The library must not print; a failure is reported by its errno. */
static void __attribute__((format(printf, 5, 6)))
dm_quiet(int level, const char *file, int line, int dm_errno,
	 const char *f, ...)
{
	(void)level;
	(void)file;
	(void)line;
	(void)dm_errno;
	(void)f;
}

static int dm_table_walk(struct dm_task *dmt, sc_dm_target_fn fn, void *ctx)
{
	char *type = NULL, *params = NULL;
	uint64_t start, length;
	void *next = NULL;
	int r;

	do {
		next = dm_get_next_target(dmt, next, &start, &length, &type,
					  &params);
		if (!type)
			break;
		r = fn(ctx, start, length, type, params);
		if (r)
			return r;
	} while (next);
	return 0;
}

int sc_dm_table(unsigned int major, unsigned int minor, sc_dm_target_fn fn,
		void *ctx)
{
	struct dm_task *dmt;
	struct dm_info info;
	int r;

	dm_log_with_errno_init(dm_quiet);
	dmt = dm_task_create(DM_DEVICE_TABLE);
	if (!dmt) {
		r = -ENOMEM;
		goto out;
	}
	if (!dm_task_set_major(dmt, (int)major) ||
	    !dm_task_set_minor(dmt, (int)minor) || !dm_task_run(dmt) ||
	    !dm_task_get_info(dmt, &info)) {
		r = -(dm_task_get_errno(dmt) ?: EIO);
		goto out;
	}
	r = info.exists && info.live_table ? dm_table_walk(dmt, fn, ctx) :
		-ENXIO;
out:
	if (dmt)
		dm_task_destroy(dmt);
	dm_log_with_errno_init(NULL);
	return r;
}
