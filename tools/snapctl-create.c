// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapctl create: format a COW device, refusing anything the kernel would
 * refuse and anything that would destroy data without --force.  The COW
 * is held exclusively from the start; nothing is written until every
 * check, --activate's included, has passed.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "common.h"
#include "fields.h"
#include "snapctl.h"

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
	uint64_t need = snapcow_cow_min_bytes(cs);
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

/*
 * Everything that can be decided without writing a byte, on the COW
 * already held: nobody can change it between these checks and the
 * format.
 */
static int check_all(struct snapcow_dev *cow, const char *origin_path,
		     uint32_t cs, bool force)
{
	struct snapcow_dev *origin = NULL;
	int r = 0;

	if (origin_path) {
		r = open_dev(origin_path, 0, &origin);
		r = r ?: check_distinct(cow, "COW", origin, "origin",
					RULE_COW_ON_ORIGIN);
		r = r ?: check_dev_chunk_size(cs, origin);
	}
	r = r ?: check_dev_chunk_size(cs, cow);
	r = r ?: check_size(cow, cs);
	r = r ?: check_signature(cow, force);
	snapcow_dev_close(origin);
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
	       " sector%s), %" PRIu64 " exceptions per area, room for %"
	       PRIu64 " exception%s\n", snapcow_dev_path(cow),
	       format_size(snapcow_dev_size(cow), size, sizeof(size)),
	       bytes, cs, plural(cs), epa, data, plural(data));
}

static int format(struct snapcow_dev *cow, uint32_t cs, bool quiet)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	int r;

	r = snapcow_store_format(cow, cs, err, sizeof(err));
	if (r < 0)
		lib_error(r, err, "%s: cannot format", snapcow_dev_path(cow));
	else if (!quiet)
		report(cow, cs);
	return r;
}

/* The status document of the COW just formatted, as status prints it. */
static int status_doc(struct snapcow_dev *cow, const char *origin_path,
		      uint32_t cs, struct json_object **doc)
{
	struct snapcow_dev *origin = NULL;
	struct snapcow_store *s = NULL;
	int r = 0;

	if (origin_path)
		r = open_dev(origin_path, 0, &origin);
	r = r ?: load_store(cow, cs, 0, &s);
	if (!r) {
		*doc = snapcow_status_json(s, origin);
		r = *doc ? 0 : json_failed(NULL);
	}
	snapcow_store_free(s);
	snapcow_dev_close(origin);
	return r;
}

static int add_device(struct json_object *devs,
		      const struct snapcow_dm_device *dev)
{
	struct json_object *o = json_object_new_object();
	int r = o ? 0 : -ENOMEM;

	r = r ?: json_dm_line(o, dev->dm_name, dev->target, dev->start,
			      dev->length);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_UUID, dev->uuid);
	if (!r && json_object_array_add(devs, o) < 0)
		r = -ENOMEM;
	if (r)
		json_object_put(o);
	return r;
}

/* "devices": what --activate made, read back from device-mapper. */
static int add_devices(struct json_object *doc, const char *name)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	struct snapcow_dm_device devs[2];
	struct json_object *a = json_object_new_array();
	int i, r = a ? 0 : -ENOMEM;

	if (!r && name) {
		r = snapcow_dm_devices(name, devs, err, sizeof(err));
		if (r < 0) {
			lib_error(r, err, "cannot read back %s", name);
			json_object_put(a);
			return r;
		}
	}
	for (i = 0; !r && name && i < 2; i++)
		r = add_device(a, &devs[i]);
	if (r) {
		json_object_put(a);
		return json_failed(NULL);
	}
	r = snapcow_field_add(doc, SNAPCOW_F_DEVICES, a);
	return r < 0 ? json_failed(NULL) : 0;
}

/*
 * The COW is held (locked, or opened exclusively) first, then checked,
 * then formatted; --activate's refusals come before the format too.
 */
static int create(const char *cow_path, const char *origin, uint32_t cs,
		  bool force, const struct activate_args *act,
		  struct json_object **doc)
{
	struct snapcow_dev *cow = NULL;
	int r;

	r = check_chunk_size(cs, cow_path, SNAPCOW_SECTOR_SIZE);
	r = r ?: open_dev(cow_path, SNAPCOW_DEV_WRITE | SNAPCOW_DEV_EXCL, &cow);
	if (r < 0)
		return r;
	r = check_all(cow, origin, cs, force);
	r = r ?: (act ? activate_check(act) : 0);
	r = r ?: format(cow, cs, doc != NULL);
	r = r ?: (doc ? status_doc(cow, origin, cs, doc) : 0);
	/* The kernel claims the COW itself: let go before activating. */
	snapcow_dev_close(cow);
	return r ?: (act ? activate_pair(act) : 0);
}

int create_cow(const char *cow_path, const char *origin, uint32_t cs,
	       bool force, const struct activate_args *act)
{
	return create(cow_path, origin, cs, force, act, NULL);
}

int create_cow_json(const char *cow_path, const char *origin, uint32_t cs,
		    bool force, const struct activate_args *act)
{
	struct json_object *doc = NULL;
	int r;

	r = create(cow_path, origin, cs, force, act, &doc);
	r = r ?: add_devices(doc, act ? act->name : NULL);
	if (r) {
		json_object_put(doc);
		return r;
	}
	return print_json(doc);
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

int cmd_create(int argc, const char **argv)
{
	struct activate_args act = { 0 };
	char *chunk_arg = NULL, *name = NULL;
	int force = 0, overflow = 0, json = 0, n, rc;
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
		{ "json", 'j', POPT_ARG_NONE, &json, 0,
		  "print the new COW's facts (and the devices made) as JSON",
		  NULL },
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
	act.name = name;
	act.origin = n > 1 ? args[1] : NULL;
	act.cow = args[0];
	act.chunk_sectors = cs;
	act.overflow = overflow;
	act.quiet = json;
	rc = (json ? create_cow_json : create_cow)(args[0], act.origin, cs,
						   force, name ? &act : NULL);
	rc = rc < 0 ? EXIT_FAIL : EXIT_OK;
out:
	free(name);
	free(chunk_arg);
	poptFreeContext(ctx);
	return rc;
}
