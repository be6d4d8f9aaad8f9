// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapctl create: format a COW device, refusing anything the kernel would
 * refuse and anything that would destroy data without --force.  Every
 * check runs on read-only handles; the COW is reopened for writing only
 * once all of them have passed.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "snapctl.h"

/* lvcreate's default snapshot chunk size. */
#define DEFAULT_CHUNK_SECTORS	8u

/* Header, one metadata area and one data chunk. */
#define MIN_CHUNKS		3u

static const struct cli cli = {
	.cmd = "snapctl create",
	.args = "[OPTION...] COW [ORIGIN]",
	.summary = "Format COW as an empty persistent snapshot store "
		   "(header and first metadata\narea).",
	.details = "The chunk size defaults to 4K, as lvcreate's. Given "
		   "ORIGIN, the chunk size is\nchecked against its logical "
		   "block size too and COW must not be ORIGIN.\nWith "
		   "--activate NAME (needs ORIGIN and root), the new snapshot "
		   "is then activated\nas by 'snapctl activate NAME ORIGIN "
		   "COW'.\n",
};

/* @bs is the logical block size of @dev (or 512 before any is open). */
static int check_chunk_size(uint32_t cs, const char *dev, unsigned int bs)
{
	const char *why = "invalid chunk size";

	if (snapcow_chunk_size_check(cs, bs, &why) == 0)
		return 0;
	error_msg("%s: chunk size %" PRIu64 " bytes (%" PRIu32 " sectors) "
		  "refused: %s", dev, (uint64_t)cs << SNAPCOW_SECTOR_SHIFT,
		  cs, why);
	return -EINVAL;
}

static int check_dev_chunk_size(uint32_t cs, struct snapcow_dev *dev)
{
	return check_chunk_size(cs, snapcow_dev_path(dev),
				snapcow_dev_block_size(dev));
}

static int check_size(struct snapcow_dev *cow, uint32_t cs)
{
	uint64_t need = (uint64_t)MIN_CHUNKS * cs << SNAPCOW_SECTOR_SHIFT;
	uint64_t size = snapcow_dev_size(cow);

	if (size >= need)
		return 0;
	error_msg("%s: too small: %" PRIu64 " bytes, a COW with %" PRIu64
		  "-byte chunks needs at least %" PRIu64 " bytes (header, "
		  "one metadata area and one data chunk)",
		  snapcow_dev_path(cow), size,
		  (uint64_t)cs << SNAPCOW_SECTOR_SHIFT, need);
	return -ENOSPC;
}

static int check_signature(struct snapcow_dev *cow, bool force)
{
	char type[64] = "";
	int r = snapcow_dev_probe(cow, type, sizeof(type));

	if (r < 0) {
		lib_error(r, snapcow_dev_error(cow), "%s: cannot probe for "
			  "signatures", snapcow_dev_path(cow));
		return r;
	}
	if (r == 0)
		return 0;
	if (force) {
		warn_msg("%s: overwriting its %s signature (--force)",
			 snapcow_dev_path(cow), type);
		return 0;
	}
	error_msg("%s: holds a %s signature: refusing to overwrite it "
		  "without --force", snapcow_dev_path(cow), type);
	return -EEXIST;
}

/* Everything that can be decided without writing a byte. */
static int check_all(const char *cow_path, const char *origin_path,
		     uint32_t cs, bool force)
{
	struct snapcow_dev *cow = NULL, *origin = NULL;
	int r;

	r = check_chunk_size(cs, cow_path, SNAPCOW_SECTOR_SIZE);
	if (r < 0)
		return r;
	r = open_dev(cow_path, 0, &cow);
	if (r < 0)
		return r;
	if (origin_path) {
		r = open_dev(origin_path, 0, &origin);
		if (r < 0)
			goto out;
		r = check_distinct(cow, "COW", origin, "origin",
				   RULE_COW_ON_ORIGIN);
		r = r ?: check_dev_chunk_size(cs, origin);
	}
	r = r ?: check_dev_chunk_size(cs, cow);
	r = r ?: check_size(cow, cs);
	r = r ?: check_signature(cow, force);
out:
	snapcow_dev_close(origin);
	snapcow_dev_close(cow);
	return r;
}

static void report(struct snapcow_dev *cow, uint32_t cs)
{
	uint64_t epa = snapcow_exceptions_per_area(cs);
	uint64_t bytes = (uint64_t)cs << SNAPCOW_SECTOR_SHIFT;
	uint64_t data = snapcow_cow_capacity(cs, snapcow_dev_size(cow));
	char size[32];

	if (verbosity < 0)
		return;
	printf("%s: formatted: %s, chunk size %" PRIu64 " bytes (%" PRIu32
	       " sectors), %" PRIu64 " exceptions per area, room for %"
	       PRIu64 " exceptions\n", snapcow_dev_path(cow),
	       format_size(snapcow_dev_size(cow), size, sizeof(size)),
	       bytes, cs, epa, data);
}

static int format(const char *cow_path, uint32_t cs)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	struct snapcow_dev *cow;
	int r;

	r = open_dev(cow_path, SNAPCOW_DEV_WRITE | SNAPCOW_DEV_EXCL, &cow);
	if (r < 0)
		return r;
	r = snapcow_store_format(cow, cs, err, sizeof(err));
	if (r < 0)
		lib_error(r, err, "%s: cannot format", cow_path);
	else
		report(cow, cs);
	snapcow_dev_close(cow);
	return r;
}

/* --activate: everything that can be refused before formatting. */
static int check_activate(const char *name, int n, int overflow)
{
	int rc;

	if (!name)
		return overflow ? usage_error(&cli, "--overflow needs "
					      "--activate") : 0;
	if (n < 2)
		return usage_error(&cli, "--activate needs ORIGIN");
	rc = check_dm_name(&cli, name);
	if (rc)
		return rc;
	return need_dm("create --activate") < 0 ? EXIT_FAIL : 0;
}

static int activate(const char *name, const char **args, uint32_t cs,
		    int overflow)
{
	const struct activate_args a = {
		.name = name,
		.origin = args[1],
		.cow = args[0],
		.chunk_sectors = cs,
		.overflow = overflow,
	};

	return activate_pair(&a);
}

int cmd_create(int argc, const char **argv)
{
	char *chunk_arg = NULL, *name = NULL;
	int force = 0, overflow = 0, n, rc;
	const char **args;
	uint32_t cs;
	struct poptOption options[] = {
		{ "chunk-size", 'c', POPT_ARG_STRING, &chunk_arg, OPT_STRING,
		  "chunk size: a power of two from 512 to 1G (default 4K)",
		  "SIZE" },
		{ "force", 'f', POPT_ARG_NONE, &force, 0,
		  "overwrite a filesystem, partition table or COW signature",
		  NULL },
		{ "activate", 'a', POPT_ARG_STRING, &name, OPT_STRING,
		  "then activate it with device-mapper as NAME and "
		  "NAME" SNAPCOW_DM_SNAP_SUFFIX, "NAME" },
		{ "overflow", 'O', POPT_ARG_NONE, &overflow, 0,
		  "with --activate: \"PO\", a full COW fails snapshot writes "
		  "rather than invalidating", NULL },
		COMMON_OPTIONS,
		POPT_TABLEEND
	};
	poptContext ctx = poptGetContext(NULL, argc, argv, options, 0);

	rc = cli_parse(ctx, &cli, options);
	if (rc >= 0)
		goto out;
	args = cli_args(ctx, &n);
	if (n < 1 || n > 2) {
		rc = usage_error(&cli, n ? "too many arguments" :
				 "no COW device given");
		goto out;
	}
	rc = cli_chunk_size(&cli, args[0], chunk_arg, DEFAULT_CHUNK_SECTORS,
			    &cs);
	rc = rc ?: check_activate(name, n, overflow);
	if (rc)
		goto out;
	rc = EXIT_FAIL;
	if (check_all(args[0], n > 1 ? args[1] : NULL, cs, force) < 0)
		goto out;
	if (format(args[0], cs) < 0)
		goto out;
	if (name && activate(name, args, cs, overflow) < 0)
		goto out;
	rc = EXIT_OK;
out:
	free(name);
	free(chunk_arg);
	poptFreeContext(ctx);
	return rc;
}
