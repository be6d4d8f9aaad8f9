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
#include "fields.h"
#include "snapctl.h"

static const struct cli cli = {
	.cmd = "snapctl status",
	.args = "[OPTION...] COW | --live NAME [SNAP] | --served VOL",
	.summary = "Print the kernel's status line for a snapshot on COW "
		   "(\"used/total metadata\" in\nsectors, or \"Invalid\"), its "
		   "IMA measurement string, or a JSON document.",
	.details = "A new COW (no header yet) reports what the kernel shows "
		   "right after formatting\nit on activation; --chunk-size is "
		   "then the table's chunk size (default: the\nkernel's, "
		   "max(16K, the COW's block size)).\nWith --live, the "
		   "status of the active snapshot NAME"
		   SNAPCOW_DM_SNAP_SUFFIX ", or of SNAP, one\nof the active "
		   "origin NAME's snapshots, as the kernel reports it now (see\n"
		   "snapctl activate and snapshot; needs root).\n",
};

struct status_opts {
	int live;
	int watch;
	char *interval;		/* --interval SECONDS */
	char *threshold;	/* --threshold PCT */
	struct watch_opts w;	/* the two, parsed */
	int served;
	char *cow;
	int json;
	int ima;
	char *origin;
	char *chunk;
};

static int print_status(struct snapcow_store *s,
			const struct snapcow_dev *origin,
			const struct status_opts *o)
{
	char buf[8 * PATH_MAX + 256];	/* names escaped: 4 bytes each */
	struct json_object *j;
	int r;

	if (o->json) {
		j = snapcow_status_json(s, origin);
		if (!j) {
			error_msg("cannot build the JSON status: %s",
				  strerror(ENOMEM));
			return -ENOMEM;
		}
		return print_json(j);
	}
	if (o->ima)
		r = snapcow_status_ima(s, snapcow_dev_name(origin), buf,
				       sizeof(buf));
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
	r = print_status(s, origin, o);
out:
	snapcow_store_free(s);
	snapcow_dev_close(cow);
	snapcow_dev_close(origin);
	return r;
}

static int live_usage(json_object *o, unsigned int id, bool known,
		      uint64_t v)
{
	return known ? snapcow_field_add_u64(o, id, v) :
		       snapcow_field_add_null(o, id);
}

/* The offline document's keys; null where the kernel gives none. */
static int print_live_json(const struct snapcow_dm_status *st)
{
	json_object *o = json_object_new_object();
	bool u = st->has_usage;
	int r = o ? 0 : -ENOMEM;

	r = r ?: json_dm_line(o, st->device, st->target, st->start,
			      st->length);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_STATUS, st->line);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_STATE,
				       snapcow_state_name(st->state));
	if (st->state == SNAPCOW_STATE_UNKNOWN)
		r = r ?: snapcow_field_add_null(o, SNAPCOW_F_VALID);
	else
		r = r ?: snapcow_field_add_bool(o, SNAPCOW_F_VALID,
					st->state != SNAPCOW_STATE_INVALID);
	r = r ?: live_usage(o, SNAPCOW_F_SECTORS_ALLOCATED, u,
			    st->sectors_allocated);
	r = r ?: live_usage(o, SNAPCOW_F_COW_SECTORS, u, st->cow_sectors);
	r = r ?: live_usage(o, SNAPCOW_F_METADATA_SECTORS, u,
			    st->metadata_sectors);
	if (r)
		return json_failed(o);
	return print_json(o);
}

static int run_live(const char *name, const char *snap,
		    const struct status_opts *o)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	struct snapcow_dm_status st;
	int r;

	r = need_dm("status --live");
	if (r < 0)
		return r;
	if (o->watch)
		return watch_live(name, snap, &o->w);
	r = snapcow_dm_status(name, snap, &st, err, sizeof(err));
	if (r < 0) {
		lib_error(r, err, "cannot read the live status of %s",
			  snap ?: name);
		return r;
	}
	return print_live(&st, o->json);
}

int print_live(const struct snapcow_dm_status *st, bool json)
{
	if (json)
		return print_live_json(st);
	puts(st->line);
	return flush_stdout() ? 0 : -EIO;
}

/* *@v from @s, a number in [@min, @max]; false when @s is not one. */
static bool number_in(const char *s, double min, double max, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return !errno && end != s && !*end && *v >= min && *v <= max;
}

/* Parses --interval and --threshold into @o->w too. */
static int check_watch_opts(struct status_opts *o)
{
	o->w = (struct watch_opts){ .json = o->json, .interval = 1,
				    .threshold = -1 };
	if (o->watch && !o->live)
		return usage_error(&cli, "--watch needs --live");
	if ((o->interval || o->threshold) && !o->watch)
		return usage_error(&cli, "--interval and --threshold need "
				   "--watch");
	if (o->interval && !number_in(o->interval, 0.01, 3600,
				      &o->w.interval))
		return usage_error(&cli, "--interval: expected seconds from "
				   "0.01 to 3600, not '%s'", o->interval);
	if (o->threshold && !number_in(o->threshold, 0, 100,
				       &o->w.threshold))
		return usage_error(&cli, "--threshold: expected a percentage "
				   "from 0 to 100, not '%s'", o->threshold);
	return 0;
}

/* The document's @key (a string) on its own line. */
static int print_member(struct json_object *doc, const char *key)
{
	struct json_object *v;
	int r = 0;

	if (json_object_object_get_ex(doc, key, &v) &&
	    json_object_is_type(v, json_type_string)) {
		puts(json_object_get_string(v));
	} else {
		error_msg("snapcowd's answer has no \"%s\"", key);
		r = -EPROTO;
	}
	json_object_put(doc);
	return r;
}

static int run_served(const char *vol, const struct status_opts *o)
{
	char cow[PATH_MAX];
	struct json_object *doc;
	int r;

	/* snapcowd knows its COWs by their canonical paths. */
	if (o->cow && !realpath(o->cow, cow))
		snprintf(cow, sizeof(cow), "%s", o->cow);
	r = served_status(vol, o->cow ? cow : NULL, &doc);
	if (r < 0)
		return r;
	if (o->json)
		return print_json(doc);
	return print_member(doc, o->ima ? "ima" : "status");
}

/* Usage checks of the options; 0 or EXIT_USAGE. */
static int check_opts(struct status_opts *o)
{
	int rc = check_watch_opts(o);

	if (rc)
		return rc;
	if (o->served && (o->live || o->origin || o->chunk))
		return usage_error(&cli, "--served takes no --live, --origin "
				   "or --chunk-size: snapcowd has them");
	if (o->cow && !o->served)
		return usage_error(&cli, "--cow needs --served");
	if (o->live && (o->ima || o->origin || o->chunk))
		return usage_error(&cli, "--live takes no --ima, --origin "
				   "or --chunk-size: the kernel has them");
	if (o->ima && o->json)
		return usage_error(&cli, "--ima and --json exclude each other "
				   "(the JSON document holds \"ima\")");
	if (o->ima && !o->origin && !o->served)
		return usage_error(&cli, "--ima needs --origin: the IMA string "
				   "names the origin device");
	return 0;
}

int cmd_status(int argc, const char **argv)
{
	struct status_opts o = { 0 };
	const char **args;
	uint32_t cs;
	int n, rc;
	struct poptOption options[] = {
		{ "live", 'L', POPT_ARG_NONE, &o.live, 0,
		  "the live kernel status of the activated snapshot NAME",
		  NULL },
		{ "watch", 'w', POPT_ARG_NONE, &o.watch, 0,
		  "with --live: print the status again on each change of "
		  "usage or state", NULL },
		{ "interval", '\0', POPT_ARG_STRING, &o.interval, OPT_STRING,
		  "with --watch: seconds between samples of the usage "
		  "(default 1)", "SECONDS" },
		{ "threshold", '\0', POPT_ARG_STRING, &o.threshold,
		  OPT_STRING, "with --watch: exit 0 once usage reaches PCT "
		  "percent", "PCT" },
		{ "served", 'S', POPT_ARG_NONE, &o.served, 0,
		  "the status of VOL, a device snapcowd serves", NULL },
		{ "cow", 'C', POPT_ARG_STRING, &o.cow, OPT_STRING,
		  "with --served: which snapshot of the origin VOL", "COW" },
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
	if (n != 1 && !(o.live && n == 2)) {
		rc = usage_error(&cli, n ? "too many arguments" : o.live ?
				 "no NAME given" : o.served ? "no VOL given" :
				 "no COW device given");
		goto out;
	}
	rc = check_opts(&o);
	rc = rc ?: o.live ? check_dm_name(&cli, args[0]) : 0;
	rc = rc ?: n == 2 ? check_dm_name(&cli, args[1]) : 0;
	if (rc)
		goto out;
	if (o.live || o.served) {
		rc = (o.live ? run_live(args[0], n == 2 ? args[1] : NULL, &o) :
			       run_served(args[0], &o)) < 0 ? EXIT_FAIL : EXIT_OK;
		goto out;
	}
	rc = cli_chunk_size(&cli, args[0], o.chunk, 0, &cs);
	if (rc)
		goto out;
	rc = run(args[0], cs, &o) < 0 ? EXIT_FAIL : EXIT_OK;
out:
	free(o.interval);
	free(o.threshold);
	free(o.origin);
	free(o.chunk);
	free(o.cow);
	poptFreeContext(ctx);
	return rc;
}
