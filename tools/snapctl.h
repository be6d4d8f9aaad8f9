/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The snapctl commands, one file each: tools/snapctl-<command>.c. */
#ifndef SNAPCOW_SNAPCTL_H
#define SNAPCOW_SNAPCTL_H

/* argv[0] is "snapctl <command>"; each returns the exit code. */
int cmd_create(int argc, const char **argv);
int cmd_status(int argc, const char **argv);
int cmd_write(int argc, const char **argv);
int cmd_export(int argc, const char **argv);
int cmd_merge(int argc, const char **argv);

#endif /* SNAPCOW_SNAPCTL_H */
