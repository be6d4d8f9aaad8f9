/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The snapctl commands, one file each: tools/snapctl-<command>.c. */
#ifndef SNAPCOW_SNAPCTL_H
#define SNAPCOW_SNAPCTL_H

#include <stdbool.h>
#include <stdint.h>

/* argv[0] is "snapctl <command>"; each returns the exit code. */
int cmd_create(int argc, const char **argv);
int cmd_status(int argc, const char **argv);
int cmd_write(int argc, const char **argv);
int cmd_export(int argc, const char **argv);
int cmd_merge(int argc, const char **argv);
int cmd_activate(int argc, const char **argv);
int cmd_deactivate(int argc, const char **argv);
int cmd_snapshot(int argc, const char **argv);
int cmd_list(int argc, const char **argv);
int cmd_restore(int argc, const char **argv);

/* tools/snapctl-served.c: snapcowd's status object on the system bus. */
struct json_object;

/*
 * The rows of every snapshot snapcowd serves (a JSON array; empty when
 * no snapcowd is on the bus).  0 or -errno after printing why.
 */
int served_list(struct json_object **rows);
/*
 * The status document of VOL (its COW @cow, NULL: its only one), as
 * `snapctl status --json` prints it plus "counters".  0 or -errno after
 * printing why: the daemon's refusal, or which bus has no snapcowd.
 */
int served_status(const char *vol, const char *cow, struct json_object **doc);

/* tools/snapctl-activate.c, shared with create --activate, status --live. */
struct cli;

struct activate_args {
	const char *name;
	const char *origin;
	const char *cow;
	const char *const *more_cows;	/* further snapshots: NAME-snap2... */
	unsigned int nmore;
	uint32_t chunk_sectors;		/* 0: the COW header's */
	bool overflow;			/* "PO" */
	bool quiet;			/* no text report (--json) */
};

/*
 * What activate_pair would refuse before the COW is loaded (root,
 * device-mapper, block devices, free names): 0 or -errno after printing
 * why.  create --activate asks before it formats.
 */
int activate_check(const struct activate_args *a);
/* Validate the COW offline, activate, print the paths; 0 or -errno. */
int activate_pair(const struct activate_args *a);
/* 0, or the usage error's exit code after printing why. */
int check_dm_name(const struct cli *cli, const char *name);
/*
 * Load COW against ORIGIN offline as activation does; @fresh: it must
 * hold no exception (a new snapshot).  *@cs: the chunk size the kernel
 * will use.  0 or -errno after printing why.
 */
int activate_validate(const char *origin, const char *cow,
		      uint32_t chunk_sectors, bool fresh, uint32_t *cs);
/* "/dev/mapper/SNAP: snapshot (COW ..., chunk size ..., P)" */
void report_snapshot(const char *snap, const char *cow, uint32_t cs,
		     bool overflow);
/*
 * tools/snapctl-dmsnap.c: snapshot NAME COW (no --served), remove.
 * dm_snapshot_added adds a COW already validated (@cs its chunk size).
 */
int dm_snapshot(const char *name, const char *cow, const char *as,
		uint32_t chunk_sectors, bool overflow);
int dm_snapshot_added(const char *name, const char *cow, const char *as,
		      uint32_t cs, bool overflow);
int cmd_remove(int argc, const char **argv);

/* tools/snapctl-livemerge.c: merge --live NAME SNAP. */
struct live_merge_opts {
	bool progress;
	double interval;		/* seconds between status reads */
};
int live_merge(const char *name, const char *snap,
	       const struct live_merge_opts *o);

/* tools/snapctl-watch.c: status --live --watch. */
struct snapcow_dm_status;
struct watch_opts {
	bool json;
	double interval;		/* seconds between samples */
	double threshold;		/* percent; < 0: none */
};
/* @snap: one of NAME's snapshots, or NULL for NAME-snap. */
int watch_live(const char *name, const char *snap, const struct watch_opts *o);
/* One live status, as status --live prints it (flushed). */
int print_live(const struct snapcow_dm_status *st, bool json);
/* lvcreate's default snapshot chunk size, snapctl create's. */
#define DEFAULT_CHUNK_SECTORS	8u

/*
 * snapctl create's work (tools/snapctl-create.c): hold COW, check it
 * (against ORIGIN when given), format it with @cs-sector chunks, then
 * activate the pair when @act is given.  0 or -errno after printing why.
 */
int create_cow(const char *cow, const char *origin, uint32_t cs, bool force,
	       const struct activate_args *act);
/* The same, printing the create document (snapcow-reports(7)). */
int create_cow_json(const char *cow, const char *origin, uint32_t cs,
		    bool force, const struct activate_args *act);
/* Root and /dev/mapper/control, or -errno after printing why. */
int need_dm(const char *cmd);

/* tools/snapctl-keep.c: --keep COW2, in write and merge. */
struct snapcow_dev;
struct snapcow_store;

#define KEPT_ROLE	"other snapshot"
#define KEEP_OPTION(paths) \
	{ "keep", 'k', POPT_ARG_ARGV, (paths), 0, \
	  "another snapshot of ORIGIN whose image is kept: copied into " \
	  "first (repeatable)", "=COW2" }

struct kept {
	struct snapcow_dev **devs;
	struct snapcow_store **stores;	/* NULL where not loaded */
	unsigned int n;			/* devices opened */
};

/*
 * Before any exclusive open: no two of ORIGIN, COW, BACKUP (may be NULL)
 * and the kept COWs are one device.  0 or -errno after printing which.
 */
int kept_check_paths(const char *origin, const char *cow, const char *backup,
		     char *const *keep);
int kept_open(struct kept *k, char *const *paths, struct snapcow_dev *origin,
	      struct snapcow_dev *cow);
void kept_close(struct kept *k);
/* Free a POPT_ARG_ARGV list. */
void kept_free_paths(char **paths);

#endif /* SNAPCOW_SNAPCTL_H */
