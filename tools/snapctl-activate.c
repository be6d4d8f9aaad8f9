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
	.args = "[OPTION...] NAME ORIGIN COW [COW...]",
	.summary = "Activate a snapshot of ORIGIN on COW with device-mapper: "
		   MAPPER_DIR "/NAME is the origin\n(write through it), "
		   MAPPER_DIR "/NAME" SNAPCOW_DM_SNAP_SUFFIX
		   " the snapshot; further COWs are further snapshots\n"
		   "NAME" SNAPCOW_DM_SNAP_SUFFIX "2, NAME"
		   SNAPCOW_DM_SNAP_SUFFIX "3...  Needs root.",
	.details = "The COW is loaded and checked first; an invalid or "
		   "damaged one is refused.\nThe chunk size defaults to the "
		   "COW header's.\n",
};

static const struct cli deactivate_cli = {
	.cmd = "snapctl deactivate",
	.args = "[OPTION...] NAME",
	.summary = "Remove the origin NAME made by snapctl activate and every "
		   "snapshot of it,\nthe snapshots first.  Needs root.",
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
int activate_validate(const char *origin_path, const char *cow_path,
		      uint32_t chunk_sectors, bool fresh, uint32_t *cs)
{
	struct snapcow_dev *origin = NULL, *cow = NULL;
	struct snapcow_store_info info;
	struct snapcow_store *s = NULL;
	int r;

	r = open_dev(origin_path, 0, &origin);
	r = r ?: open_cow(cow_path, &cow);
	r = r ?: check_distinct(origin, "origin", cow, "COW",
				RULE_COW_ON_ORIGIN);
	r = r ?: load_store(cow, chunk_sectors, 0, &s);
	r = r ?: check_store(s, cow_path, origin);
	if (r == 0 && fresh) {
		snapcow_store_get_info(s, &info);
		if (info.exceptions) {
			error_msg("%s: holds %" PRIu64 " exception%s of an "
				  "earlier snapshot: a new snapshot needs a "
				  "new or empty COW (snapctl create)",
				  cow_path, info.exceptions,
				  plural(info.exceptions));
			r = -EEXIST;
		}
	}
	if (r == 0)
		*cs = snapcow_store_chunk_size(s);
	snapcow_store_free(s);
	snapcow_dev_close(cow);
	snapcow_dev_close(origin);
	return r;
}

void report_snapshot(const char *snap, const char *cow, uint32_t cs,
		     bool overflow)
{
	if (verbosity < 0)
		return;
	printf(MAPPER_DIR "/%s: snapshot (COW %s, chunk size %" PRIu64
	       " bytes, %s)\n", snap, cow,
	       (uint64_t)cs << SNAPCOW_SECTOR_SHIFT, overflow ? "PO" : "P");
}

static void report(const struct activate_args *a, uint32_t cs)
{
	char snap[256];

	if (a->quiet)
		return;
	if (verbosity >= 0)
		printf(MAPPER_DIR "/%s: origin (snapshot-origin over %s)\n",
		       a->name, a->origin);
	snprintf(snap, sizeof(snap), "%s" SNAPCOW_DM_SNAP_SUFFIX, a->name);
	report_snapshot(snap, a->cow, cs, a->overflow);
}

/* The further COWs' chunk sizes, every COW checked before any ioctl. */
static int validate_more(const struct activate_args *a, uint32_t **csp)
{
	uint32_t *cs = calloc(a->nmore + 1, sizeof(*cs));
	unsigned int i;
	int r = cs ? 0 : -ENOMEM;

	for (i = 0; i < a->nmore && !r; i++)
		r = activate_validate(a->origin, a->more_cows[i],
				      a->chunk_sectors, false, &cs[i]);
	if (r < 0) {
		free(cs);
		cs = NULL;
	}
	*csp = cs;
	return r;
}

/*
 * The further snapshots, added one by one (NAME-snap2, ...); on any
 * failure every device goes again.
 */
static int activate_more(const struct activate_args *a, const uint32_t *cs)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	unsigned int i;
	int r = 0;

	for (i = 0; i < a->nmore && !r; i++)
		r = dm_snapshot_added(a->name, a->more_cows[i], NULL, cs[i],
				      a->overflow);
	if (r < 0 && snapcow_dm_deactivate(a->name, err, sizeof(err)) < 0)
		error_msg("%s: could not take the devices down again: %s",
			  a->name, err);
	return r;
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
	uint32_t *more_cs = NULL;
	int r;

	activate_spec(a, &spec);
	r = need_root("activate");
	r = r ?: activate_validate(a->origin, a->cow, a->chunk_sectors, false,
				   &spec.chunk_sectors);
	r = r ?: validate_more(a, &more_cs);
	r = r ?: need_control();
	if (r < 0)
		goto out;
	r = snapcow_dm_activate(&spec, err, sizeof(err));
	if (r < 0) {
		lib_error(r, err, "cannot activate %s", a->name);
		goto out;
	}
	report(a, spec.chunk_sectors);
	r = activate_more(a, more_cs);
out:
	free(more_cs);
	return r;
}

/* activate --merge: the COW checked as for activate, then NAME merging. */
static int activate_merging(const struct activate_args *a)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	struct snapcow_dm_spec spec;
	int r;

	activate_spec(a, &spec);
	r = need_root("activate");
	r = r ?: activate_validate(a->origin, a->cow, a->chunk_sectors, false,
				   &spec.chunk_sectors);
	r = r ?: need_control();
	if (r < 0)
		return r;
	r = snapcow_dm_activate_merging(&spec, err, sizeof(err));
	if (r < 0) {
		lib_error(r, err, "cannot activate %s", a->name);
		return r;
	}
	if (verbosity >= 0)
		printf(MAPPER_DIR "/%s: merging %s into %s (snapshot-merge); "
		       "'snapctl merge --live %s' waits for the end\n",
		       a->name, a->cow, a->origin, a->name);
	return flush_stdout() ? 0 : -EIO;
}

int cmd_activate(int argc, const char **argv)
{
	struct activate_args a = { 0 };
	char *chunk_arg = NULL;
	int overflow = 0, merge = 0, n, rc;
	const char **args;
	struct poptOption options[] = {
		{ "chunk-size", 'c', POPT_ARG_STRING, &chunk_arg, OPT_STRING,
		  "the table's chunk size (default: the COW header's)",
		  "SIZE" },
		{ "overflow", 'O', POPT_ARG_NONE, &overflow, 0,
		  "\"PO\": a full COW fails snapshot writes (Overflow) "
		  "rather than invalidating", NULL },
		{ "merge", 'm', POPT_ARG_NONE, &merge, 0,
		  "NAME merges COW into ORIGIN again (a merge that "
		  "deactivate or a reboot stopped)", NULL },
		COMMON_OPTIONS,
		POPT_TABLEEND
	};
	poptContext ctx = poptGetContext(NULL, argc, argv, options, 0);

	rc = cli_parse(ctx, &activate_cli, options);
	if (rc >= 0)
		goto out;
	args = cli_args(ctx, &n);
	if (n < 3) {
		rc = usage_error(&activate_cli, "NAME, ORIGIN and COW are "
				 "needed");
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
	a.more_cows = args + 3;
	a.nmore = (unsigned int)n - 3;
	a.overflow = overflow;
	if (merge && (n != 3 || overflow)) {
		rc = usage_error(&activate_cli, "--merge takes one COW and no "
				 "--overflow");
		goto out;
	}
	rc = (merge ? activate_merging(&a) : activate_pair(&a)) < 0 ?
	     EXIT_FAIL : EXIT_OK;
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
		verbose_msg("%s: removed it and its snapshots", name);
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
