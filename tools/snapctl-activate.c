// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapctl activate / deactivate: put an origin + snapshot pair live in
 * the kernel through the library's dm layer, as lvm2 would, and take it
 * down again.  The COW is loaded offline first: the kernel accepts a
 * damaged store silently and an invalidated one only to report
 * "Invalid", so both are refused here, before any ioctl.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"
#include "snapctl.h"

#define MAPPER_DIR	"/dev/mapper"

static const struct cli activate_cli = {
	.cmd = "snapctl activate",
	.args = "[OPTION...] NAME ORIGIN COW",
	.summary = "Activate a snapshot of ORIGIN on COW with device-mapper: "
		   MAPPER_DIR "/NAME is the origin\n(write through it), "
		   MAPPER_DIR "/NAME" SNAPCOW_DM_SNAP_SUFFIX
		   " the snapshot.  Needs root.",
	.details = "The COW is loaded and checked first; an invalid or "
		   "damaged one is refused.\nThe chunk size defaults to the "
		   "COW header's.\n",
};

static const struct cli deactivate_cli = {
	.cmd = "snapctl deactivate",
	.args = "[OPTION...] NAME",
	.summary = "Remove the devices NAME" SNAPCOW_DM_SNAP_SUFFIX " and NAME "
		   "made by snapctl activate, the snapshot\nfirst.  Needs "
		   "root.",
	.details = NULL,
};

int check_dm_name(const struct cli *cli, const char *name)
{
	const char *why = "invalid name";

	if (snapcow_dm_name_check(name, &why) == 0)
		return 0;
	return usage_error(cli, "'%s': %s", name, why);
}

/*
 * device-mapper ioctls need CAP_SYS_ADMIN and the control node: say so
 * before anything else.
 */
static int need_root(const char *cmd)
{
	if (geteuid() == 0)
		return 0;
	error_msg("%s: must be run as root (device-mapper needs "
		  "CAP_SYS_ADMIN)", cmd);
	return -EPERM;
}

static int need_control(void)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	int r = snapcow_dm_available(err, sizeof(err));

	if (r < 0)
		error_msg("%s", err);
	return r;
}

int need_dm(const char *cmd)
{
	return need_root(cmd) ?: need_control();
}

/* What the kernel would take silently or only to report "Invalid". */
static int check_store(struct snapcow_store *s, const char *cow_path,
		       struct snapcow_dev *origin)
{
	struct snapcow_store_info info;
	const char *why = "invalid chunk size";

	snapcow_store_get_info(s, &info);
	if (info.state == SNAPCOW_STATE_INVALID) {
		error_msg("%s: the COW is invalid (the kernel invalidated it, "
			  "e.g. when it ran out of room): refusing to "
			  "activate it", cow_path);
		return -EINVAL;
	}
	if (info.state == SNAPCOW_STATE_NEW)
		verbose_msg("%s: no header yet: the kernel formats it with "
			    "%" PRIu32 "-sector chunks", cow_path,
			    info.chunk_size);
	if (snapcow_chunk_size_check(info.chunk_size,
				     snapcow_dev_block_size(origin), &why)) {
		error_msg("%s: chunk size %" PRIu32 " sectors refused for the "
			  "origin %s: %s", cow_path, info.chunk_size,
			  snapcow_dev_path(origin), why);
		return -EINVAL;
	}
	return 0;
}

/*
 * The kernel claims a table's devices with one holder for all of
 * device-mapper, so a COW already serving another snapshot would be
 * taken again without a word, and two snapshots would then write one
 * store.  An exclusive open sees every claim.
 */
static int open_cow(const char *path, struct snapcow_dev **devp)
{
	int r = snapcow_dev_open(path, SNAPCOW_DEV_EXCL, devp);

	if (r == -EBUSY) {
		error_msg("%s: in use (the COW of an active snapshot, or "
			  "mounted): refusing to activate it", path);
		*devp = NULL;
		return r;
	}
	if (r < 0) {
		*devp = NULL;
		return open_dev(path, 0, devp);
	}
	return 0;
}

/*
 * Open and load everything read-only and close it again: the kernel
 * claims both devices exclusively once the tables load.  *@cs becomes
 * the chunk size the kernel will use.
 */
static int validate(const struct activate_args *a, uint32_t *cs)
{
	struct snapcow_dev *origin = NULL, *cow = NULL;
	struct snapcow_store *s = NULL;
	int r;

	r = open_dev(a->origin, 0, &origin);
	r = r ?: open_cow(a->cow, &cow);
	r = r ?: check_distinct(origin, "origin", cow, "COW",
				RULE_COW_ON_ORIGIN);
	r = r ?: load_store(cow, a->chunk_sectors, 0, &s);
	r = r ?: check_store(s, a->cow, origin);
	if (r == 0)
		*cs = snapcow_store_chunk_size(s);
	snapcow_store_free(s);
	snapcow_dev_close(cow);
	snapcow_dev_close(origin);
	return r;
}

static void report(const struct activate_args *a, uint32_t cs)
{
	if (verbosity < 0)
		return;
	printf(MAPPER_DIR "/%s: origin (snapshot-origin over %s)\n",
	       a->name, a->origin);
	printf(MAPPER_DIR "/%s" SNAPCOW_DM_SNAP_SUFFIX ": snapshot (COW %s, "
	       "chunk size %" PRIu64 " bytes, %s)\n", a->name, a->cow,
	       (uint64_t)cs << SNAPCOW_SECTOR_SHIFT,
	       a->overflow ? "PO" : "P");
}

/* The table's spec: chunk size 0 lets the header decide. */
static void activate_spec(const struct activate_args *a,
			  struct snapcow_dm_spec *spec)
{
	spec->name = a->name;
	spec->origin = a->origin;
	spec->cow = a->cow;
	spec->chunk_sectors = a->chunk_sectors;
	spec->overflow = a->overflow;
}

int activate_check(const struct activate_args *a)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	struct snapcow_dm_spec spec;
	int r;

	activate_spec(a, &spec);
	r = need_dm("create --activate");
	if (r < 0)
		return r;
	r = snapcow_dm_activate_check(&spec, err, sizeof(err));
	if (r < 0)
		lib_error(r, err, "cannot activate %s", a->name);
	return r;
}

int activate_pair(const struct activate_args *a)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	struct snapcow_dm_spec spec;
	int r;

	activate_spec(a, &spec);
	r = need_root("activate");
	r = r ?: validate(a, &spec.chunk_sectors);
	r = r ?: need_control();
	if (r < 0)
		return r;
	r = snapcow_dm_activate(&spec, err, sizeof(err));
	if (r < 0) {
		lib_error(r, err, "cannot activate %s", a->name);
		return r;
	}
	report(a, spec.chunk_sectors);
	return 0;
}

int cmd_activate(int argc, const char **argv)
{
	struct activate_args a = { 0 };
	char *chunk_arg = NULL;
	int overflow = 0, n, rc;
	const char **args;
	struct poptOption options[] = {
		{ "chunk-size", 'c', POPT_ARG_STRING, &chunk_arg, OPT_STRING,
		  "the table's chunk size (default: the COW header's)",
		  "SIZE" },
		{ "overflow", 'O', POPT_ARG_NONE, &overflow, 0,
		  "\"PO\": a full COW fails snapshot writes (Overflow) "
		  "rather than invalidating", NULL },
		COMMON_OPTIONS,
		POPT_TABLEEND
	};
	poptContext ctx = poptGetContext(NULL, argc, argv, options, 0);

	rc = cli_parse(ctx, &activate_cli, options);
	if (rc >= 0)
		goto out;
	args = cli_args(ctx, &n);
	if (n != 3) {
		rc = usage_error(&activate_cli, n > 3 ? "too many arguments" :
				 "NAME, ORIGIN and COW are needed");
		goto out;
	}
	rc = check_dm_name(&activate_cli, args[0]);
	rc = rc ?: cli_chunk_size(&activate_cli, args[2], chunk_arg, 0,
				  &a.chunk_sectors);
	if (rc)
		goto out;
	a.name = args[0];
	a.origin = args[1];
	a.cow = args[2];
	a.overflow = overflow;
	rc = activate_pair(&a) < 0 ? EXIT_FAIL : EXIT_OK;
out:
	free(chunk_arg);
	poptFreeContext(ctx);
	return rc;
}

static int deactivate(const char *name)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	int r;

	r = need_dm("deactivate");
	if (r < 0)
		return r;
	r = snapcow_dm_deactivate(name, err, sizeof(err));
	if (r < 0)
		lib_error(r, err, "cannot deactivate %s", name);
	else
		verbose_msg("%s: removed %s" SNAPCOW_DM_SNAP_SUFFIX " and %s",
			    name, name, name);
	return r;
}

int cmd_deactivate(int argc, const char **argv)
{
	const char **args;
	int n, rc;
	struct poptOption options[] = {
		COMMON_OPTIONS,
		POPT_TABLEEND
	};
	poptContext ctx = poptGetContext(NULL, argc, argv, options, 0);

	rc = cli_parse(ctx, &deactivate_cli, options);
	if (rc >= 0)
		goto out;
	args = cli_args(ctx, &n);
	if (n != 1) {
		rc = usage_error(&deactivate_cli, n ? "too many arguments" :
				 "no NAME given");
		goto out;
	}
	rc = check_dm_name(&deactivate_cli, args[0]);
	if (rc)
		goto out;
	rc = deactivate(args[0]) < 0 ? EXIT_FAIL : EXIT_OK;
out:
	poptFreeContext(ctx);
	return rc;
}
