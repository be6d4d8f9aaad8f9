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

/* tools/snapctl-activate.c, shared with create --activate, status --live. */
struct cli;

struct activate_args {
	const char *name;
	const char *origin;
	const char *cow;
	uint32_t chunk_sectors;		/* 0: the COW header's */
	bool overflow;			/* "PO" */
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
/* Root and /dev/mapper/control, or -errno after printing why. */
int need_dm(const char *cmd);

#endif /* SNAPCOW_SNAPCTL_H */
