// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapctl: create, inspect and drive a dm-snapshot persistent COW device
 * offline.  This file only dispatches to the commands.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>

#include "common.h"
#include "snapctl.h"

struct command {
	const char *name;
	int (*fn)(int argc, const char **argv);
	const char *help;
};

static const struct command commands[] = {
	{ "create", cmd_create, "format a COW device as an empty snapshot" },
	{ "status", cmd_status, "print the kernel's status line, IMA or JSON" },
	{ "write", cmd_write, "write to the origin or snapshot, with COW" },
	{ "export", cmd_export, "write the snapshot's image to a file" },
	{ "merge", cmd_merge, "merge the snapshot back into its origin" },
	{ "activate", cmd_activate, "activate origin and snapshot with "
	  "device-mapper" },
	{ "deactivate", cmd_deactivate, "remove an activated origin and "
	  "its snapshots" },
	{ "snapshot", cmd_snapshot, "add a live snapshot to an active or "
	  "served origin" },
	{ "remove", cmd_remove, "remove one live snapshot of an active "
	  "origin" },
	{ "restore", cmd_restore, "write a COW's metadata back from a "
	  "snapdump --metadata dump" },
	{ "list", cmd_list, "list every live snapshot: device-mapper and "
	  "snapcowd's" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(*commands))

static void print_usage(FILE *f)
{
	fprintf(f, "Usage: snapctl [-hV] COMMAND [OPTION...] ARGS...\n");
}

static void print_help(void)
{
	size_t i;

	print_usage(stdout);
	printf("\nCreate, inspect and drive a dm-snapshot persistent COW "
	       "device offline, or\nactivate it with device-mapper."
	       "\n\nCommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].help);
	printf("\nOptions:\n"
	       "  -h, --help      show this help and exit\n"
	       "  -V, --version   print the version and exit\n"
	       "      --usage     show a short usage message and exit\n"
	       "\nRun 'snapctl COMMAND --help' for the options of a "
	       "command.\nExit status: 0 success, 1 refused or failed, "
	       "2 usage error.\n");
}

static int run_command(const struct command *c, int argc, const char **argv)
{
	char name[32];

	/* popt names the program after argv[0] in --help and --usage. */
	snprintf(name, sizeof(name), "snapctl %s", c->name);
	argv[0] = name;
	return c->fn(argc, argv);
}

int main(int argc, char **argv)
{
	const char *arg = argc > 1 ? argv[1] : NULL;
	size_t i;

	prog_name = "snapctl";
	if (!arg) {
		print_usage(stderr);
		fprintf(stderr, "Try 'snapctl --help' for more information.\n");
		return EXIT_USAGE;
	}
	if (!strcmp(arg, "-h") || !strcmp(arg, "--help") ||
	    !strcmp(arg, "help")) {
		print_help();
		return finish(EXIT_OK);
	}
	if (!strcmp(arg, "--usage")) {
		print_usage(stdout);
		return finish(EXIT_OK);
	}
	if (!strcmp(arg, "-V") || !strcmp(arg, "--version")) {
		print_version();
		return finish(EXIT_OK);
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (!strcmp(arg, commands[i].name))
			return finish(run_command(&commands[i], argc - 1,
						  (const char **)argv + 1));
	error_msg("%s: unknown command", arg);
	fprintf(stderr, "Try 'snapctl --help' for more information.\n");
	return EXIT_USAGE;
}
