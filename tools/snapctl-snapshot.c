// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapctl snapshot --served: take (or, with --remove, drop) a live
 * snapshot of an origin that snapcowd serves.  The truth is the
 * backstore's dev_config in configfs: the new snapshot is a cow= item
 * added to it.  Writing dev_config makes the kernel send RECONFIG_DEVICE
 * to snapcowd and wait for its answer, so the write succeeds only once
 * the snapshot has taken effect, and fails with the daemon's errno when
 * it refuses (its log says why).  Nothing is written before every check
 * here has passed; a refused write leaves the old dev_config.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "snapctl.h"

#define CONFIGFS_DEFAULT	"/sys/kernel/config"
#define SUBTYPE			"snapcow/"
/* The kernel's TCMU_CONFIG_LEN: dev_config with its NUL. */
#define DEV_CONFIG_MAX		256

static const struct cli cli = {
	.cmd = "snapctl snapshot",
	.args = "[OPTION...] NAME COW | --served [OPTION...] VOL COW",
	.summary = "Add a snapshot of NAME, an origin put live by snapctl "
		   "activate, on COW (a new\nor empty COW; the device is "
		   "NAME-snap, NAME-snap2... or --as SNAP).  With\n--served: "
		   "take a live snapshot of VOL, an origin served by snapcowd, "
		   "into COW\n(with --remove: drop it).",
	.details = "NAME's origin is suspended while the snapshot's table "
		   "loads, as lvm2 does.\nVOL is a user backstore of subtype snapcow (configfs "
		   "target/core/user_N/VOL).\nA new COW (magic 0) is formatted "
		   "as by 'snapctl create' (COW must not be the\norigin); an "
		   "already formatted, empty COW is taken as it is. Then cow=COW "
		   "is\nadded to VOL's dev_config: snapcowd takes the snapshot "
		   "at one point in the\ncommand stream before the kernel "
		   "answers. When snapcowd refuses, its errno is\nreported and "
		   "its log says why. Serve the snapshot with a backstore of "
		   "its own:\ncfgstring snapshot=COW;origin=ORIGIN. Needs root "
		   "(configfs; SNAPCOW_CONFIGFS\nnames another root for "
		   "tests).\n",
};

/* One served backstore and its dev_config. */
struct served {
	const char *vol;
	char attr[PATH_MAX];		/* .../VOL/attrib/dev_config */
	char cfg[DEV_CONFIG_MAX];	/* without "snapcow/", as read */
	struct snapcow_cfgstring items;	/* @cfg parsed */
};

static const char *configfs_root(void)
{
	const char *root = getenv("SNAPCOW_CONFIGFS");

	return root && *root ? root : CONFIGFS_DEFAULT;
}

static int find_vol(struct served *s)
{
	char pattern[PATH_MAX];
	glob_t g;
	int r;

	snprintf(pattern, sizeof(pattern), "%s/target/core/user_*/%s",
		 configfs_root(), s->vol);
	r = glob(pattern, GLOB_NOSORT, NULL, &g);
	if (r == GLOB_NOMATCH || (!r && g.gl_pathc == 0)) {
		error_msg("%s: no user backstore of that name (%s)", s->vol,
			  pattern);
		r = -ENOENT;
	} else if (r) {
		error_msg("%s: cannot look for it (%s)", s->vol, pattern);
		r = -EIO;
	} else if (g.gl_pathc > 1) {
		error_msg("%s: %zu user backstores of that name (%s, %s)",
			  s->vol, g.gl_pathc, g.gl_pathv[0], g.gl_pathv[1]);
		r = -EEXIST;
	} else {
		snprintf(s->attr, sizeof(s->attr), "%s/attrib/dev_config",
			 g.gl_pathv[0]);
	}
	/* glob() sets @g up on every return, a failed match included. */
	globfree(&g);
	return r;
}

static int read_dev_config(struct served *s, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(s->attr, O_RDONLY), r;

	if (fd < 0) {
		r = -errno;
		error_msg("%s: %s", s->attr, strerror(-r));
		return r;
	}
	n = read(fd, buf, len - 1);
	if (n < 0) {
		error_msg("%s: %s", s->attr, strerror(errno));
		close(fd);
		return -EIO;
	}
	close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* VOL exists and serves a snapcow origin. */
static int load_served(struct served *s)
{
	char raw[DEV_CONFIG_MAX + 2], why[PATH_MAX + 64];
	int r;

	r = find_vol(s);
	r = r ?: read_dev_config(s, raw, sizeof(raw));
	if (r)
		return r;
	if (strncmp(raw, SUBTYPE, strlen(SUBTYPE))) {
		error_msg("%s: dev_config '%s' is not snapcowd's (subtype "
			  "snapcow)", s->vol, raw);
		return -EINVAL;
	}
	snprintf(s->cfg, sizeof(s->cfg), "%s", raw + strlen(SUBTYPE));
	r = snapcow_cfgstring_parse(s->cfg, &s->items, why, sizeof(why));
	if (r) {
		error_msg("%s: dev_config '%s': %s", s->vol, raw, why);
		return r;
	}
	if (s->items.snapshot[0]) {
		error_msg("%s: serves snapshot %s: only an origin's backstore "
			  "takes snapshots", s->vol, s->items.snapshot);
		return -EINVAL;
	}
	return 0;
}

/* Whether cfgstring path @item names the same file as canonical @cow. */
static bool same_path(const char *item, const char *cow)
{
	char canon[PATH_MAX];

	if (!strcmp(item, cow))
		return true;
	return realpath(item, canon) && !strcmp(canon, cow);
}

/* The index of @s's cow= item naming @cow, or -1. */
static int find_cow(const struct served *s, const char *cow)
{
	int i;

	for (i = 0; i < s->items.n_cows; i++)
		if (same_path(s->items.cows[i], cow))
			return i;
	return -1;
}

/* The room for @s's items as a cfgstring, one new cow= item included. */
#define NEW_CONFIG_MAX	(DEV_CONFIG_MAX + PATH_MAX + 8)

/* @s's items as the new dev_config ("snapcow/..."), if the kernel takes it. */
static int new_config(const struct served *s, char *buf, size_t len)
{
	char cfg[NEW_CONFIG_MAX];
	int r, n;

	r = snapcow_cfgstring_format(&s->items, cfg, sizeof(cfg));
	n = snprintf(buf, len, SUBTYPE "%s", cfg);
	if (r || n >= DEV_CONFIG_MAX) {
		error_msg("%s: the new dev_config '%s' is %d bytes: the kernel "
			  "keeps at most %d", s->vol, buf, n,
			  DEV_CONFIG_MAX - 1);
		return -ENAMETOOLONG;
	}
	return 0;
}

/*
 * Write @buf to dev_config: snapcowd answers the kernel once it has
 * taken effect, or refuses and the write fails with its errno.
 */
static int write_dev_config(const struct served *s, const char *buf)
{
	size_t n = strlen(buf);
	int fd, r = 0;

	fd = open(s->attr, O_WRONLY | O_TRUNC);
	if (fd < 0) {
		r = -errno;
		error_msg("%s: %s", s->attr, strerror(errno));
		return r;
	}
	errno = 0;
	if (write(fd, buf, n) != (ssize_t)n)
		r = errno ? -errno : -EIO;
	if (close(fd) && !r)
		r = -errno;
	if (r)
		error_msg("%s: the new dev_config '%s' was refused: %s "
			  "(snapcowd's log says why); it still serves '%s'",
			  s->vol, buf, strerror(-r), s->cfg);
	return r;
}

/* A new COW is formatted; a formatted one must be valid and empty. */
static int prepare_cow(const struct served *s, const char *cow, uint32_t cs,
		       bool force)
{
	struct snapcow_store_info info;
	struct snapcow_store *st = NULL;
	struct snapcow_dev *dev = NULL;
	int r;

	r = check_paths_distinct(cow, "COW", s->items.origin, "origin",
				 RULE_COW_ON_ORIGIN);
	r = r ?: open_dev(cow, 0, &dev);
	r = r ?: load_store(dev, 0, 0, &st);
	if (r) {
		snapcow_dev_close(dev);
		return r;
	}
	snapcow_store_get_info(st, &info);
	snapcow_store_free(st);
	snapcow_dev_close(dev);
	if (info.state == SNAPCOW_STATE_NEW)
		return create_cow(cow, s->items.origin, cs, force, NULL);
	if (info.state != SNAPCOW_STATE_VALID) {
		error_msg("%s: an invalidated COW cannot start a snapshot",
			  cow);
		return -EINVAL;
	}
	if (info.exceptions) {
		error_msg("%s: holds %" PRIu64 " exception%s: a new snapshot "
			  "starts from an empty COW", cow, info.exceptions,
			  plural(info.exceptions));
		return -EEXIST;
	}
	return 0;
}

static int take(struct served *s, const char *cow, uint32_t cs, bool force)
{
	char cfg[NEW_CONFIG_MAX + 16];
	int r;

	if (find_cow(s, cow) >= 0) {
		error_msg("%s: already lists cow=%s", s->vol, cow);
		return -EEXIST;
	}
	if (s->items.n_cows == SNAPCOW_CFG_COWS_MAX) {
		error_msg("%s: already lists %d cow items, the most snapcowd "
			  "takes", s->vol, SNAPCOW_CFG_COWS_MAX);
		return -E2BIG;
	}
	snprintf(s->items.cows[s->items.n_cows++], PATH_MAX, "%s", cow);
	/* Every refusal before the COW is formatted. */
	r = new_config(s, cfg, sizeof(cfg));
	r = r ?: prepare_cow(s, cow, cs, force);
	r = r ?: write_dev_config(s, cfg);
	if (!r && verbosity >= 0)
		printf("%s: snapshot %s taken (dev_config %s)\n", s->vol, cow,
		       cfg);
	return r;
}

static int drop(struct served *s, const char *cow)
{
	char cfg[NEW_CONFIG_MAX + 16];
	int r;

	r = snapcow_cfgstring_drop_cow(&s->items, find_cow(s, cow));
	if (r == -ENOENT) {
		error_msg("%s: lists no cow=%s (dev_config %s%s)", s->vol, cow,
			  SUBTYPE, s->cfg);
		return r;
	}
	r = r ?: new_config(s, cfg, sizeof(cfg));
	r = r ?: write_dev_config(s, cfg);
	if (!r && verbosity >= 0)
		printf("%s: snapshot %s removed (dev_config %s)\n", s->vol,
		       cow, cfg);
	return r;
}

static int run(const char *vol, const char *cow_arg, bool remove, uint32_t cs,
	       bool force)
{
	struct served s = { .vol = vol };
	char cow[PATH_MAX];
	int r;

	if (!realpath(cow_arg, cow)) {
		r = -errno;
		error_msg("%s: %s", cow_arg, strerror(-r));
		return r;
	}
	r = load_served(&s);
	if (r)
		return r;
	return remove ? drop(&s, cow) : take(&s, cow, cs, force);
}

static int check_args(const char **args, int n, int served)
{
	if (n != 2)
		return usage_error(&cli, n > 2 ? "too many arguments" :
				   n ? "no COW given" : served ?
				   "no VOL given" : "no NAME given");
	if (!served)
		return check_dm_name(&cli, args[0]);
	/* A configfs directory's name, matched literally by find_vol. */
	if (!args[0][0] || strpbrk(args[0], "/*?[\\") ||
	    !strcmp(args[0], ".") || !strcmp(args[0], ".."))
		return usage_error(&cli, "%s: not a backstore name", args[0]);
	return 0;
}

/* What only one of the two kinds takes. */
static int check_kind(int served, int remove, int force, const char *as,
		      int overflow)
{
	if (served && (as || overflow))
		return usage_error(&cli, "--as and --overflow are for a "
				   "device-mapper origin, not --served");
	if (!served && (remove || force))
		return usage_error(&cli, "--remove and --force are for "
				   "--served (remove a device-mapper "
				   "snapshot with 'snapctl remove')");
	return 0;
}

int cmd_snapshot(int argc, const char **argv)
{
	int served = 0, remove = 0, force = 0, overflow = 0, n, rc;
	char *chunk_arg = NULL, *as = NULL;
	const char **args;
	uint32_t cs = DEFAULT_CHUNK_SECTORS;
	struct poptOption options[] = {
		{ "served", 's', POPT_ARG_NONE, &served, 0,
		  "VOL is a backstore served by snapcowd", NULL },
		{ "as", 'a', POPT_ARG_STRING, &as, OPT_STRING,
		  "the new snapshot device's name (default NAME-snap, "
		  "NAME-snap2...)", "SNAP" },
		{ "overflow", 'O', POPT_ARG_NONE, &overflow, 0,
		  "\"PO\": a full COW fails snapshot writes (Overflow) "
		  "rather than invalidating", NULL },
		{ "remove", 'r', POPT_ARG_NONE, &remove, 0,
		  "drop the snapshot COW from VOL rather than take it", NULL },
		{ "chunk-size", 'c', POPT_ARG_STRING, &chunk_arg, OPT_STRING,
		  "chunk size of a new COW: a power of two from 512 to 1G "
		  "(default 4K)", "SIZE" },
		{ "force", 'f', POPT_ARG_NONE, &force, 0,
		  "format a new COW over a filesystem or partition table",
		  NULL },
		COMMON_OPTIONS,
		POPT_TABLEEND
	};
	poptContext ctx = poptGetContext(NULL, argc, argv, options, 0);

	rc = cli_parse(ctx, &cli, options);
	if (rc >= 0)
		goto out;
	args = cli_args(ctx, &n);
	rc = check_args(args, n, served);
	rc = rc ?: check_kind(served, remove, force, as, overflow);
	rc = rc ?: (as ? check_dm_name(&cli, as) : 0);
	if (!rc && chunk_arg && remove)
		rc = usage_error(&cli, "--chunk-size is for a new snapshot, "
				 "not --remove");
	if (!rc && chunk_arg)
		rc = cli_chunk_size(&cli, args[1], chunk_arg,
				    DEFAULT_CHUNK_SECTORS, &cs);
	if (rc)
		goto out;
	if (!served)
		rc = dm_snapshot(args[0], args[1], as, chunk_arg ? cs : 0,
				 overflow) ? EXIT_FAIL : EXIT_OK;
	else
		rc = run(args[0], args[1], remove, cs, force) ? EXIT_FAIL :
		     EXIT_OK;
out:
	free(as);
	free(chunk_arg);
	poptFreeContext(ctx);
	return rc;
}
