// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapctl snapshot NAME COW and snapctl remove NAME SNAP: more snapshots
 * of an origin that snapctl activate put live, added and dropped as
 * lvm2 does (the origin suspended meanwhile, see lib/dm-snaps.c).  The
 * new COW is checked offline against the origin's device first, as
 * activate checks its COW: it must be new or empty.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "snapctl.h"

static const struct cli remove_cli = {
	.cmd = "snapctl remove",
	.args = "[OPTION...] NAME SNAP",
	.summary = "Remove the snapshot device SNAP of the origin NAME (made "
		   "by snapctl activate\nor snapshot), with NAME suspended "
		   "meanwhile.  The COW is left as it is.\nNeeds root.",
	.details = NULL,
};

int dm_snapshot_added(const char *name, const char *cow, const char *as,
		      uint32_t cs, bool overflow)
{
	struct snapcow_dm_snap_spec spec = {
		.origin_name = name, .snap_name = as, .cow = cow,
		.chunk_sectors = cs, .overflow = overflow,
	};
	char err[SNAPCOW_ERRBUF_SIZE] = "", snap[256] = "";
	int r;

	r = snapcow_dm_snapshot_add(&spec, snap, sizeof(snap), err,
				    sizeof(err));
	if (r < 0) {
		lib_error(r, err, "cannot add a snapshot of %s", name);
		return r;
	}
	report_snapshot(snap, cow, cs, overflow);
	return 0;
}

int dm_snapshot(const char *name, const char *cow, const char *as,
		uint32_t chunk_sectors, bool overflow)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "", origin[256];
	uint32_t cs;
	int r;

	r = need_dm("snapshot");
	if (r < 0)
		return r;
	r = snapcow_dm_origin_device(name, origin, sizeof(origin), err,
				     sizeof(err));
	if (r < 0) {
		lib_error(r, err, "cannot add a snapshot of %s", name);
		return r;
	}
	r = activate_validate(origin, cow, chunk_sectors, true, &cs);
	return r ?: dm_snapshot_added(name, cow, as, cs, overflow);
}

static int remove_snapshot(const char *name, const char *snap)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	int r;

	r = need_dm("remove");
	if (r < 0)
		return r;
	r = snapcow_dm_snapshot_remove(name, snap, err, sizeof(err));
	if (r < 0)
		lib_error(r, err, "cannot remove %s", snap);
	else
		verbose_msg("%s: removed %s", name, snap);
	return r;
}

int cmd_remove(int argc, const char **argv)
{
	const char **args;
	int n, rc;
	struct poptOption options[] = {
		COMMON_OPTIONS,
		POPT_TABLEEND
	};
	poptContext ctx = poptGetContext(NULL, argc, argv, options, 0);

	rc = cli_parse(ctx, &remove_cli, options);
	if (rc >= 0)
		goto out;
	args = cli_args(ctx, &n);
	if (n != 2) {
		rc = usage_error(&remove_cli, n > 2 ? "too many arguments" :
				 "NAME and SNAP are needed");
		goto out;
	}
	rc = check_dm_name(&remove_cli, args[0]);
	rc = rc ?: check_dm_name(&remove_cli, args[1]);
	if (rc)
		goto out;
	rc = remove_snapshot(args[0], args[1]) < 0 ? EXIT_FAIL : EXIT_OK;
out:
	poptFreeContext(ctx);
	return rc;
}
