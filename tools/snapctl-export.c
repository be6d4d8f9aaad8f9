// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapctl export: write the snapshot's point-in-time image (the origin
 * with the COW's saved chunks laid over it) to a file or block device.
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

#include "common.h"
#include "snapctl.h"

static const struct cli cli = {
	.cmd = "snapctl export",
	.args = "[OPTION...] ORIGIN COW OUT",
	.summary = "Write the image a snapshot of ORIGIN on COW shows to "
		   "OUT: a regular file,\ncreated if missing and cut to the "
		   "origin's size, or a block device at least\nas large.",
	.details = "The progress bar is drawn on standard error when it is a "
		   "terminal.\n",
};

struct export_opts {
	int progress;
	int sparse;
	char *chunk;
};

struct export_devs {
	struct snapcow_dev *origin;
	struct snapcow_dev *cow;
	struct snapcow_dev *out;
	struct snapcow_store *store;
	unsigned int flags;		/* SNAPCOW_EXPORT_* */
};

/* OUT must not be either input: checked before it is opened to write. */
static int check_out_distinct(const char *path, struct export_devs *d)
{
	struct snapcow_dev *out;
	struct stat st;
	int r;

	if (stat(path, &st) < 0)
		return 0;
	r = open_dev(path, 0, &out);
	if (r < 0)
		return r;
	r = check_distinct(out, "output", d->origin, "origin",
			   RULE_OUT_IS_INPUT);
	r = r ?: check_distinct(out, "output", d->cow, "COW",
				RULE_OUT_IS_INPUT);
	snapcow_dev_close(out);
	return r;
}

/*
 * OUT is held (locked or opened exclusively) and checked before a byte
 * of it changes: only then is a regular file emptied and grown to the
 * image's size, so it reads as zeros and the export may leave holes.
 * A block device must be large enough.
 */
static int size_out(struct export_devs *d, const char *path, bool sparse)
{
	uint64_t need = snapcow_dev_size(d->origin);
	uint64_t have = snapcow_dev_size(d->out);
	int r;

	if (!snapcow_dev_is_block(d->out)) {
		r = snapcow_dev_resize(d->out, 0);
		r = r ?: snapcow_dev_resize(d->out, need);
		if (r < 0)
			error_msg("%s: cannot make it a %" PRIu64 "-byte "
				  "file: %s", path, need,
				  snapcow_dev_error(d->out));
		if (!r && sparse)
			d->flags |= SNAPCOW_EXPORT_SPARSE;
		return r;
	}
	if (have >= need)
		return 0;
	error_msg("%s: too small: %" PRIu64 " byte%s, the image is %" PRIu64
		  " bytes", path, have, plural(have), need);
	return -ENOSPC;
}

static int open_all(const char **args, uint32_t cs, bool sparse,
		    struct export_devs *d)
{
	int r;

	r = open_dev(args[0], 0, &d->origin);
	r = r ?: open_dev(args[1], 0, &d->cow);
	r = r ?: check_distinct(d->origin, "origin", d->cow, "COW",
				RULE_COW_ON_ORIGIN);
	r = r ?: load_store(d->cow, cs, 0, &d->store);
	if (r < 0)
		return r;
	if (!snapcow_store_valid(d->store)) {
		error_msg("%s: snapshot is invalid: the kernel fails every "
			  "read of it, there is no image to export", args[1]);
		return -EIO;
	}
	r = check_out_distinct(args[2], d);
	r = r ?: open_dev(args[2], SNAPCOW_DEV_WRITE | SNAPCOW_DEV_CREATE |
			  SNAPCOW_DEV_EXCL, &d->out);
	/* Created meanwhile as a link to an input?  Check once more. */
	r = r ?: check_distinct(d->out, "output", d->origin, "origin",
				RULE_OUT_IS_INPUT);
	r = r ?: check_distinct(d->out, "output", d->cow, "COW",
				RULE_OUT_IS_INPUT);
	return r ?: size_out(d, args[2], sparse);
}

static int run(const char **args, uint32_t cs, const struct export_opts *o)
{
	struct export_devs d = { 0 };
	char err[SNAPCOW_ERRBUF_SIZE];
	struct progress bar;
	int r;

	r = open_all(args, cs, o->sparse, &d);
	if (r < 0) {
		/* Refused: an OUT this command created goes again. */
		snapcow_dev_discard(d.out);
		d.out = NULL;
		goto out;
	}
	progress_init(&bar, "export", o->progress);
	r = snapcow_export(d.origin, d.store, d.out, d.flags, progress_update,
			   &bar, err, sizeof(err));
	progress_done(&bar);
	if (r < 0) {
		lib_error(r, err, "%s: export failed", args[2]);
		goto out;
	}
	verbose_msg("%s: exported %" PRIu64 " byte%s", args[2],
		    snapcow_dev_size(d.origin),
		    plural(snapcow_dev_size(d.origin)));
out:
	snapcow_dev_close(d.out);
	snapcow_store_free(d.store);
	snapcow_dev_close(d.cow);
	snapcow_dev_close(d.origin);
	return r;
}

int cmd_export(int argc, const char **argv)
{
	struct export_opts o = { .progress = 1, .sparse = 1 };
	const char **args;
	uint32_t cs;
	int n, rc;
	struct poptOption options[] = {
		{ "progress", 'p', POPT_ARG_VAL, &o.progress, 1,
		  "draw a progress bar when stderr is a terminal (default)",
		  NULL },
		{ "no-progress", '\0', POPT_ARG_VAL, &o.progress, 0,
		  "never draw a progress bar", NULL },
		{ "chunk-size", 'c', POPT_ARG_STRING, &o.chunk, OPT_STRING,
		  "the table's chunk size (default: from the header)",
		  "SIZE" },
		{ "no-sparse", '\0', POPT_ARG_VAL, &o.sparse, 0,
		  "write every block of a regular-file OUT, zeros too "
		  "(default: leave holes)", NULL },
		COMMON_OPTIONS,
		POPT_TABLEEND
	};
	poptContext ctx = poptGetContext(NULL, argc, argv, options, 0);

	rc = cli_parse(ctx, &cli, options);
	if (rc >= 0)
		goto out;
	args = cli_args(ctx, &n);
	if (n != 3) {
		rc = usage_error(&cli, n > 3 ? "too many arguments" :
				 "expected ORIGIN COW OUT");
		goto out;
	}
	rc = cli_chunk_size(&cli, args[1], o.chunk, 0, &cs);
	if (rc)
		goto out;
	rc = run(args, cs, &o) < 0 ? EXIT_FAIL : EXIT_OK;
out:
	free(o.chunk);
	poptFreeContext(ctx);
	return rc;
}
