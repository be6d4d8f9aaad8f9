// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapctl merge --live NAME SNAP: what lvconvert --merge does on an
 * active origin.  lib/dm-merge.c switches NAME to the kernel's
 * snapshot-merge target (taking over SNAP's exceptions); the kernel
 * copies the chunks back while NAME stays in use; the progress is read
 * from NAME's status (allocated sectors falling to the metadata's); at
 * the end NAME is reloaded as a plain origin.  Killed anywhere and run
 * again, it picks the merge up from the kernel's tables.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "snapctl.h"

static void nap(double seconds)
{
	struct timespec ts = {
		.tv_sec = (time_t)seconds,
		.tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9),
	};

	nanosleep(&ts, NULL);
}

/* Sectors still to merge; -1 (and why, printed) when the merge failed. */
static int64_t merge_left(const char *name)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	struct snapcow_dm_status st;
	int r = snapcow_dm_merge_status(name, &st, err, sizeof(err));

	if (r < 0) {
		lib_error(r, err, "cannot read the merge's status of %s", name);
		return -1;
	}
	if (!st.has_usage) {
		error_msg("%s: merge stopped: the kernel says '%s'", name,
			  st.line);
		return -1;
	}
	return (int64_t)(st.sectors_allocated - st.metadata_sectors);
}

static int merge_wait(const char *name, const struct live_merge_opts *o)
{
	struct progress bar;
	int64_t left, total;

	total = merge_left(name);
	if (total < 0)
		return -EIO;
	progress_init(&bar, "merge", o->progress);
	for (left = total; left > 0; left = merge_left(name)) {
		progress_update(&bar, (uint64_t)(total - left),
				(uint64_t)total);
		nap(o->interval);
	}
	progress_done(&bar);
	return left < 0 ? -EIO : 0;
}

int live_merge(const char *name, const char *snap,
	       const struct live_merge_opts *o)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	bool resumed;
	int r;

	r = need_dm("merge --live");
	if (r < 0)
		return r;
	r = snapcow_dm_merge_start(name, snap, &resumed, err, sizeof(err));
	if (r < 0) {
		lib_error(r, err, "cannot merge %s into %s", snap ? snap :
			  "a snapshot", name);
		return r;
	}
	/* Without SNAP, NAME merges already (activate --merge). */
	snap = snap ? snap : "its snapshot";
	verbose_msg("%s: %s the merge of %s", name,
		    resumed ? "resuming" : "started", snap);
	/* A testing aid: die here as a kill -9 would, the kernel merging. */
	if (!resumed && getenv("SNAPCOW_KILL_AFTER_MERGE_START"))
		_exit(137);
	r = merge_wait(name, o);
	if (r < 0) {
		error_msg("%s: still merging in the kernel; run the same "
			  "command again to finish", name);
		return r;
	}
	r = snapcow_dm_merge_finish(name, err, sizeof(err));
	if (r < 0) {
		lib_error(r, err, "cannot end the merge into %s", name);
		return r;
	}
	if (verbosity >= 0)
		printf("%s: merged %s; %s is a plain origin again\n", name,
		       snap, name);
	return flush_stdout() ? 0 : -EIO;
}
