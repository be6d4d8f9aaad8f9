// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapctl status: what `dmsetup status` (or the IMA log) would show for a
 * snapshot of this COW, without activating anything.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common.h"
#include "snapctl.h"

static const struct cli cli = {
	.cmd = "snapctl status",
	.args = "[OPTION...] COW",
	.summary = "Print the kernel's status line for a snapshot on COW "
		   "(\"used/total metadata\" in\nsectors, or \"Invalid\"), its "
		   "IMA measurement string, or a JSON document.",
	.details = "A new COW (no header yet) reports what the kernel shows "
		   "right after formatting\nit on activation; --chunk-size is "
		   "then the table's chunk size (default: the\nkernel's, "
		   "max(16K, the COW's block size)).\n",
};

struct status_opts {
	int json;
	int ima;
	char *origin;
	char *chunk;
};

static int print_status(struct snapcow_store *s, const char *origin_name,
			const struct status_opts *o)
{
	char buf[2 * PATH_MAX + 256];
	struct json_object *j;
	int r;

	if (o->json) {
		j = snapcow_status_json(s, origin_name);
		if (!j) {
			error_msg("cannot build the JSON status: %s",
				  strerror(ENOMEM));
			return -ENOMEM;
		}
		return print_json(j);
	}
	if (o->ima)
		r = snapcow_status_ima(s, origin_name, buf, sizeof(buf));
	else
		r = snapcow_status_line(s, buf, sizeof(buf));
	if (r < 0) {
		lib_error(r, NULL, "cannot format the status");
		return r;
	}
	puts(buf);
	return 0;
}

static int run(const char *cow_path, uint32_t cs, const struct status_opts *o)
{
	struct snapcow_dev *cow = NULL, *origin = NULL;
	struct snapcow_store *s = NULL;
	int r;

	if (o->origin) {
		r = open_dev(o->origin, 0, &origin);
		if (r < 0)
			return r;
	}
	r = open_dev(cow_path, 0, &cow);
	if (r < 0)
		goto out;
	if (origin) {
		r = check_distinct(origin, "origin", cow, "COW",
				   RULE_COW_ON_ORIGIN);
		if (r < 0)
			goto out;
	}
	r = load_store(cow, cs, 0, &s);
	if (r < 0)
		goto out;
	r = print_status(s, origin ? snapcow_dev_name(origin) : NULL, o);
out:
	snapcow_store_free(s);
	snapcow_dev_close(cow);
	snapcow_dev_close(origin);
	return r;
}

int cmd_status(int argc, const char **argv)
{
	struct status_opts o = { 0 };
	const char **args;
	uint32_t cs;
	int n, rc;
	struct poptOption options[] = {
		{ "json", 'j', POPT_ARG_NONE, &o.json, 0,
		  "print a JSON document (see snapctl(8))", NULL },
		{ "ima", 'i', POPT_ARG_NONE, &o.ima, 0,
		  "print the IMA measurement string (needs --origin)", NULL },
		{ "origin", 'o', POPT_ARG_STRING, &o.origin, OPT_STRING,
		  "the snapshot's origin, for its name in IMA and JSON",
		  "ORIGIN" },
		{ "chunk-size", 'c', POPT_ARG_STRING, &o.chunk, OPT_STRING,
		  "the table's chunk size (default: from the header)",
		  "SIZE" },
		COMMON_OPTIONS,
		POPT_TABLEEND
	};
	poptContext ctx = poptGetContext(NULL, argc, argv, options, 0);

	rc = cli_parse(ctx, &cli, options);
	if (rc >= 0)
		goto out;
	args = cli_args(ctx, &n);
	if (n != 1) {
		rc = usage_error(&cli, n ? "too many arguments" :
				 "no COW device given");
		goto out;
	}
	if (o.ima && o.json) {
		rc = usage_error(&cli, "--ima and --json exclude each other "
				 "(the JSON document holds \"ima\")");
		goto out;
	}
	if (o.ima && !o.origin) {
		rc = usage_error(&cli, "--ima needs --origin: the IMA string "
				 "names the origin device");
		goto out;
	}
	rc = cli_chunk_size(&cli, args[0], o.chunk, 0, &cs);
	if (rc)
		goto out;
	rc = run(args[0], cs, &o) < 0 ? EXIT_FAIL : EXIT_OK;
out:
	free(o.origin);
	free(o.chunk);
	poptFreeContext(ctx);
	return rc;
}
