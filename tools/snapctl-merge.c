// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapctl merge: merge a snapshot back into its origin offline, as the
 * kernel's snapshot-merge target does, crash-safe and resumable.  Other
 * snapshots of the origin keep their images; --backup keeps the
 * origin's overwritten chunks in a new COW so the merge can be undone.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "common.h"
#include "fields.h"
#include "snapctl.h"


static const struct cli cli = {
	.cmd = "snapctl merge",
	.args = "[OPTION...] ORIGIN COW | --live NAME [SNAP]",
	.summary = "Merge the snapshot on COW back into ORIGIN, as the "
		   "kernel's snapshot-merge target\ndoes: afterwards ORIGIN "
		   "holds the snapshot's image and COW is empty.  Crash-safe:"
		   "\nrun the same command again to resume an interrupted "
		   "merge.",
	.details = "The merge overwrites the origin's newer data in every "
		   "merged chunk.  Give\n--backup BACKUP_COW to keep it (a "
		   "snapshot of the origin before the merge,\nread back with "
		   "'snapctl export ORIGIN BACKUP_COW OUT'), or --yes to "
		   "merge\nwithout one.  Pass every other snapshot of ORIGIN "
		   "with --keep: merge writes\ncopy into them first, as "
		   "the kernel's origin writes do.\n",
};

struct merge_opts {
	int yes;
	int progress;
	int json;
	char *backup;
	char **keep;		/* POPT_ARG_ARGV: strdup'd, NULL-ended */
	char *batch;		/* --batch SIZE */
	uint64_t batch_bytes;
	int live;		/* --live NAME SNAP */
};

struct merge_devs {
	struct snapcow_dev *origin;
	struct snapcow_dev *cow;
	struct snapcow_store *store;
	struct snapcow_dev *backup_dev;
	struct snapcow_store *backup;
	struct kept kept;		/* --keep */
	bool backup_resumed;
	enum { BACKUP_FOUND, BACKUP_CREATED, BACKUP_SIZED } backup_made;
};

static int open_main(const char **args, struct merge_devs *d)
{
	unsigned int rw = SNAPCOW_DEV_WRITE | SNAPCOW_DEV_EXCL;
	int r;

	r = open_dev(args[0], rw, &d->origin);
	r = r ?: open_dev(args[1], rw, &d->cow);
	r = r ?: check_distinct(d->origin, "origin", d->cow, "COW",
				RULE_COW_ON_ORIGIN);
	r = r ?: load_store(d->cow, 0, SNAPCOW_STORE_WRITE, &d->store);
	if (r < 0 || snapcow_store_valid(d->store))
		return r;
	error_msg("%s: snapshot is invalid: the kernel refuses to merge it, "
		  "its image is lost", args[1]);
	return -EIO;
}

/* Anything but a COW (or nothing) on an existing backup is user data. */
static int check_backup_signature(struct snapcow_dev *dev)
{
	char type[64];
	int r = snapcow_dev_probe(dev, type, sizeof(type));

	if (r <= 0 || !strcmp(type, "DM_snapshot_cow"))
		return r < 0 ? r : 0;
	error_msg("%s: holds a %s signature: refusing to use it as a backup; "
		  "name a new file", snapcow_dev_path(dev), type);
	return -EEXIST;
}

static int format_backup(struct merge_devs *d, const char *path)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	int r;

	r = snapcow_store_format(d->backup_dev,
				 snapcow_store_chunk_size(d->store), err,
				 sizeof(err));
	if (r < 0) {
		lib_error(r, err, "%s: cannot format the backup", path);
		return r;
	}
	snapcow_store_free(d->backup);
	d->backup = NULL;
	return load_store(d->backup_dev, snapcow_store_chunk_size(d->store),
			  SNAPCOW_STORE_WRITE, &d->backup);
}

/* A file this command created or sized: ours to give its size. */
static int size_backup(struct merge_devs *d, const char *path)
{
	uint64_t need = snapcow_merge_backup_bytes(d->store);
	int r = snapcow_dev_resize(d->backup_dev, need);

	if (r < 0) {
		error_msg("%s: cannot make it a %" PRIu64 "-byte backup: %s",
			  path, need, snapcow_dev_error(d->backup_dev));
		return r;
	}
	if (d->backup_made == BACKUP_FOUND)
		d->backup_made = BACKUP_SIZED;
	return format_backup(d, path);
}

/*
 * A backup that does not exist yet is created by the open (which takes
 * no file over that appeared meanwhile); the open is only made once
 * nothing but I/O can refuse the merge.
 */
static int open_backup_dev(const char *path, struct merge_devs *d)
{
	unsigned int i;
	int r;

	r = open_dev(path, SNAPCOW_DEV_WRITE | SNAPCOW_DEV_EXCL |
		     SNAPCOW_DEV_CREATE, &d->backup_dev);
	if (r < 0)
		return r;
	if (snapcow_dev_created(d->backup_dev))
		d->backup_made = BACKUP_CREATED;
	r = check_distinct(d->backup_dev, "backup", d->origin, "origin",
				RULE_ONE_ROLE);
	r = r ?: check_distinct(d->backup_dev, "backup", d->cow, "COW",
				RULE_ONE_ROLE);
	for (i = 0; i < d->kept.n && !r; i++)
		r = check_distinct(d->backup_dev, "backup", d->kept.devs[i],
				   KEPT_ROLE, RULE_ONE_ROLE);
	return r;
}

static int check_backup(const char *path, struct merge_devs *d)
{
	char err[SNAPCOW_ERRBUF_SIZE];
	int r;

	r = snapcow_merge_check_backup(d->origin, d->store, d->backup, err,
				       sizeof(err));
	if (r < 0)
		lib_error(r, err, "%s: refusing the backup", path);
	return r;
}

/*
 * A backup that already holds a COW is the one an interrupted merge
 * left, once the library has proved it (every chunk it holds is one
 * this merge overwrites); it is loaded, never formatted, so the chunks
 * it saved survive.
 */
static int resume_backup(const char *path, struct merge_devs *d)
{
	struct snapcow_store_info info;
	int r;

	snapcow_store_get_info(d->backup, &info);
	if (info.state == SNAPCOW_STATE_INVALID) {
		error_msg("%s: backup COW is invalid: it cannot keep the "
			  "origin's data; name a new file", path);
		return -EIO;
	}
	r = check_backup(path, d);
	if (r < 0)
		return r;
	d->backup_resumed = true;
	if (verbosity >= 0 && info.exceptions)
		fprintf(stderr, "%s: %s: resuming with the backup left by an "
			"interrupted merge (%" PRIu64 " chunk%s saved)\n",
			prog_name, path, info.exceptions,
			plural(info.exceptions));
	return 0;
}

/*
 * The backup is held exclusively before it is sized or written.  A new
 * file is created last, when only I/O can fail; a file this command
 * created or sized is put back (undo_backup) if the merge then fails
 * before saving anything in it.
 */
static int open_backup(const char *path, struct merge_devs *d)
{
	uint32_t cs = snapcow_store_chunk_size(d->store);
	struct snapcow_store_info info;
	int r;

	r = open_backup_dev(path, d);
	if (r < 0)
		return r;
	if (!snapcow_dev_is_block(d->backup_dev) &&
	    !snapcow_dev_size(d->backup_dev))
		return size_backup(d, path);
	r = check_backup_signature(d->backup_dev);
	r = r ?: load_store(d->backup_dev, cs, SNAPCOW_STORE_WRITE,
			    &d->backup);
	if (r < 0)
		return r;
	snapcow_store_get_info(d->backup, &info);
	if (info.state != SNAPCOW_STATE_NEW)
		return resume_backup(path, d);
	r = check_backup(path, d);
	if (r < 0)
		return r;
	return format_backup(d, path);
}

/* Put back a backup this command created or sized and nothing saved in. */
static void undo_backup(const char *path, struct merge_devs *d)
{
	struct snapcow_store_info info = { 0 };

	if (d->backup_made == BACKUP_FOUND)
		return;
	if (d->backup)
		snapcow_store_get_info(d->backup, &info);
	if (info.exceptions)
		return;
	if (d->backup_made == BACKUP_CREATED) {
		snapcow_store_free(d->backup);
		d->backup = NULL;
		snapcow_dev_discard(d->backup_dev);
		d->backup_dev = NULL;
		return;
	}
	if (d->backup_dev && snapcow_dev_resize(d->backup_dev, 0) < 0)
		warn_msg("%s: cannot empty it again: %s", path,
			 snapcow_dev_error(d->backup_dev));
}

static void close_all(struct merge_devs *d)
{
	kept_close(&d->kept);
	snapcow_store_free(d->backup);
	snapcow_dev_close(d->backup_dev);
	snapcow_store_free(d->store);
	snapcow_dev_close(d->cow);
	snapcow_dev_close(d->origin);
}

/* The bar counts bytes: chunks times the chunk size. */
struct merge_bar {
	struct progress bar;
	uint64_t chunk_bytes;
};

static void merge_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct merge_bar *mb = ctx;

	progress_update(&mb->bar, done * mb->chunk_bytes,
			total * mb->chunk_bytes);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void warn_invalidated(const struct merge_devs *d, const bool *before)
{
	unsigned int i;

	for (i = 0; i < d->kept.n; i++)
		if (before[i] && !snapcow_store_valid(d->kept.stores[i]))
			warn_msg("%s: COW full: snapshot invalidated, as the "
				 "kernel does on overflow",
				 snapcow_dev_path(d->kept.devs[i]));
}

static int do_merge(struct merge_devs *d, const struct merge_opts *o,
		    struct snapcow_merge_result *res)
{
	struct merge_bar mb = {
		.chunk_bytes = (uint64_t)snapcow_store_chunk_size(d->store) *
			       SNAPCOW_SECTOR_SIZE,
	};
	struct snapcow_merge_opts mo = {
		.others = d->kept.stores, .nothers = d->kept.n,
		.backup = d->backup, .progress = merge_progress, .ctx = &mb,
		.batch_bytes = o->batch_bytes,
	};
	bool *valid = calloc(d->kept.n + 1, sizeof(*valid));
	char err[SNAPCOW_ERRBUF_SIZE];
	unsigned int i;
	int r;

	if (!valid) {
		error_msg("%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (i = 0; i < d->kept.n; i++)
		valid[i] = snapcow_store_valid(d->kept.stores[i]);
	progress_init(&mb.bar, "merge", o->progress && !o->json);
	r = snapcow_merge(d->origin, d->store, &mo, res, err, sizeof(err));
	progress_done(&mb.bar);
	warn_invalidated(d, valid);
	free(valid);
	if (r < 0) {
		lib_error(r, err, "%s: merge failed",
			  snapcow_dev_path(d->cow));
		error_msg("%s: %" PRIu64 " chunk%s merged before the failure; "
			  "run the same command again to resume",
			  snapcow_dev_path(d->cow), res->chunks,
			  plural(res->chunks));
	}
	return r;
}

static int json_kept(struct json_object *j, const struct merge_devs *d)
{
	struct json_object *a = json_object_new_array(), *v;
	unsigned int i;

	for (i = 0; a && i < d->kept.n; i++) {
		v = json_object_new_string(snapcow_dev_path(d->kept.devs[i]));
		if (!v || json_object_array_add(a, v) < 0) {
			json_object_put(v);
			json_object_put(a);
			return -ENOMEM;
		}
	}
	return a ? snapcow_field_add(j, SNAPCOW_F_OTHER_SNAPSHOTS, a) : -ENOMEM;
}

static int fill_summary(struct json_object *j, const struct merge_devs *d,
			const struct snapcow_merge_result *res,
			const char *status, double secs)
{
	int r = 0;

	r = r ?: snapcow_field_add_str(j, SNAPCOW_F_ORIGIN,
				       snapcow_dev_path(d->origin));
	r = r ?: snapcow_field_add_str(j, SNAPCOW_F_COW,
				       snapcow_dev_path(d->cow));
	r = r ?: snapcow_field_add_str(j, SNAPCOW_F_BACKUP, d->backup_dev ?
				       snapcow_dev_path(d->backup_dev) : NULL);
	r = r ?: snapcow_field_add_bool(j, SNAPCOW_F_BACKUP_RESUMED,
					d->backup_resumed);
	r = r ?: json_kept(j, d);
	r = r ?: snapcow_field_add_u64(j, SNAPCOW_F_CHUNK_SIZE_SECTORS,
				       snapcow_store_chunk_size(d->store));
	r = r ?: snapcow_field_add_u64(j, SNAPCOW_F_MERGED_CHUNK_COUNT,
				       res->chunks);
	r = r ?: snapcow_field_add_u64(j, SNAPCOW_F_STEP_COUNT, res->steps);
	r = r ?: snapcow_field_add_u64(j, SNAPCOW_F_WRITTEN_BYTES,
				       res->bytes);
	r = r ?: snapcow_field_add_bool(j, SNAPCOW_F_COMPLETE, res->complete);
	r = r ?: snapcow_field_add_number(j, SNAPCOW_F_ELAPSED_SECONDS, secs,
					  3);
	r = r ?: snapcow_field_add_str(j, SNAPCOW_F_STATUS, status);
	return r;
}

static int print_summary_json(const struct merge_devs *d,
			      const struct snapcow_merge_result *res,
			      const char *status, double secs)
{
	struct json_object *j = json_object_new_object();

	if (!j || fill_summary(j, d, res, status, secs) < 0)
		return json_failed(j);
	return print_json(j);
}

static int report(const struct merge_devs *d, const struct merge_opts *o,
		  const struct snapcow_merge_result *res, double secs)
{
	char status[128], size[32];

	snapcow_status_line(d->store, status, sizeof(status));
	if (o->json)
		return print_summary_json(d, res, status, secs);
	if (verbosity >= 0)
		printf("%s: merged %" PRIu64 " chunk%s (%s) in %" PRIu64
		       " step%s into %s in %.2f s; status now %s\n",
		       snapcow_dev_path(d->cow), res->chunks,
		       plural(res->chunks),
		       format_size(res->bytes, size, sizeof(size)),
		       res->steps, plural(res->steps),
		       snapcow_dev_path(d->origin), secs, status);
	return 0;
}

/* Nothing to merge: exit 0 and say so. */
static bool nothing_to_do(const struct merge_devs *d,
			  const struct merge_opts *o)
{
	struct snapcow_store_info info;
	struct snapcow_merge_result res = { .complete = true };

	snapcow_store_get_info(d->store, &info);
	if (info.state != SNAPCOW_STATE_NEW && info.exceptions)
		return false;
	if (o->json)
		report(d, o, &res, 0);
	else if (verbosity >= 0)
		printf("%s: %s: nothing to merge\n", snapcow_dev_path(d->cow),
		       info.state == SNAPCOW_STATE_NEW ? "new COW" :
		       "no exceptions");
	return true;
}

static int refuse_without_undo(const struct merge_devs *d)
{
	struct snapcow_store_info info;

	snapcow_store_get_info(d->store, &info);
	error_msg("%s: refusing to merge without --backup or --yes: the "
		  "origin's newer data in the %" PRIu64 " merged chunk%s "
		  "would be overwritten for good.  Give --backup BACKUP_COW "
		  "to keep it (undo with 'snapctl export ORIGIN BACKUP_COW "
		  "OUT'), or --yes to merge anyway",
		  snapcow_dev_path(d->cow), info.exceptions,
		  plural(info.exceptions));
	return -EPERM;
}

static int run(const char **args, const struct merge_opts *o)
{
	struct merge_devs d = { 0 };
	struct snapcow_merge_result res = { 0 };
	double t0 = now();
	int r;

	r = kept_check_paths(args[0], args[1], o->backup, o->keep);
	r = r ?: open_main(args, &d);
	if (r < 0 || nothing_to_do(&d, o))
		goto out;
	if (!o->yes && !o->backup) {
		r = refuse_without_undo(&d);
		goto out;
	}
	r = kept_open(&d.kept, o->keep, d.origin, d.cow);
	r = r ?: (o->backup ? open_backup(o->backup, &d) : 0);
	r = r ?: do_merge(&d, o, &res);
	if (r < 0) {
		if (o->backup)
			undo_backup(o->backup, &d);
		goto out;
	}
	if (o->backup)
		r = snapcow_dev_flush(d.backup_dev);
	r = r ?: report(&d, o, &res, now() - t0);
out:
	close_all(&d);
	return r;
}

/* --live takes none of the offline merge's options. */
static int run_live(const char *name, const char *snap,
		    const struct merge_opts *o)
{
	struct live_merge_opts lo = { .progress = o->progress && !o->json,
				      .interval = 0.5 };
	int rc;

	if (o->yes || o->backup || o->keep || o->batch || o->json)
		return usage_error(&cli, "--live takes no --yes, --backup, "
				   "--keep, --batch or --json: the kernel "
				   "merges");
	rc = check_dm_name(&cli, name);
	rc = rc ?: snap ? check_dm_name(&cli, snap) : 0;
	if (rc)
		return rc;
	return live_merge(name, snap, &lo) < 0 ? EXIT_FAIL : EXIT_OK;
}

int cmd_merge(int argc, const char **argv)
{
	struct merge_opts o = { .progress = 1 };
	const char **args;
	int n, rc;
	struct poptOption options[] = {
		{ "yes", 'y', POPT_ARG_NONE, &o.yes, 0,
		  "merge without a backup: the origin's newer data in the "
		  "merged chunks is lost", NULL },
		{ "backup", 'b', POPT_ARG_STRING, &o.backup, OPT_STRING,
		  "keep the origin's overwritten chunks in a new COW "
		  "(created, or resumed)", "BACKUP_COW" },
		KEEP_OPTION(&o.keep),
		{ "live", 'L', POPT_ARG_NONE, &o.live, 0,
		  "merge the activated snapshot SNAP into the active origin "
		  "NAME in the kernel", NULL },
		{ "batch", '\0', POPT_ARG_STRING, &o.batch, OPT_STRING,
		  "data copied to the origin between two commits (default "
		  "64M; 1: one run per commit, as the kernel)", "SIZE" },
		{ "progress", 'p', POPT_ARG_VAL, &o.progress, 1,
		  "draw a progress bar when stderr is a terminal (default)",
		  NULL },
		{ "no-progress", '\0', POPT_ARG_VAL, &o.progress, 0,
		  "never draw a progress bar", NULL },
		{ "json", 'j', POPT_ARG_NONE, &o.json, 0,
		  "print the summary as a JSON document", NULL },
		COMMON_OPTIONS,
		POPT_TABLEEND
	};
	poptContext ctx = poptGetContext(NULL, argc, argv, options, 0);

	rc = cli_parse(ctx, &cli, options);
	if (rc >= 0)
		goto out;
	args = cli_args(ctx, &n);
	if (n != 2 && !(o.live && n == 1)) {
		rc = usage_error(&cli, n > 2 ? "too many arguments" : o.live ?
				 "expected NAME [SNAP]" : "expected ORIGIN COW");
		goto out;
	}
	if (o.live) {
		rc = run_live(args[0], n == 2 ? args[1] : NULL, &o);
		goto out;
	}
	if (o.batch && (parse_size(o.batch, &o.batch_bytes) < 0 ||
			!o.batch_bytes)) {
		rc = usage_error(&cli, "--batch: expected a size such as "
				 "64M, at least 1");
		goto out;
	}
	rc = run(args, &o) < 0 ? EXIT_FAIL : EXIT_OK;
out:
	kept_free_paths(o.keep);
	free(o.batch);
	free(o.backup);
	poptFreeContext(ctx);
	return rc;
}
