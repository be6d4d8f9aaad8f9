/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by the snapcow tools: option handling, messages, size
 * parsing, opening devices (with the fault-injection hook), a progress
 * bar and JSON output.  Tools stay thin; the format lives in lib/.
 */
#ifndef SNAPCOW_TOOLS_COMMON_H
#define SNAPCOW_TOOLS_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include <popt.h>

#include "snapcow.h"

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,		/* refused or failed operation */
	EXIT_USAGE = 2,		/* bad command line */
};

/* popt values of the options every tool has. */
enum {
	OPT_HELP = 0x1000,
	OPT_USAGE,
	OPT_VERSION,
	OPT_QUIET,
	OPT_VERBOSE,
	OPT_STRING,	/* give every POPT_ARG_STRING option this value */
};

extern const char *prog_name;	/* "snapctl", for every message */
extern int verbosity;		/* -1 quiet, 0 normal, > 0 verbose */

/* Include with POPT_ARG_INCLUDE_TABLE in every option table. */
extern struct poptOption common_options[];
#define COMMON_OPTIONS \
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, common_options, 0, \
	  "Common options:", NULL }

struct cli {
	const char *cmd;	/* "snapctl create", for help and errors */
	const char *args;	/* "COW [ORIGIN]" */
	const char *summary;	/* one line shown under the usage */
	const char *details;	/* more text after the options, or NULL */
};

/*
 * Parse the options of @ctx, made from the table @options.  Returns -1
 * when the tool should go on, or the exit code when it is done (--help,
 * --version, a bad option).
 */
int cli_parse(poptContext ctx, const struct cli *cli,
	      const struct poptOption *options);
/* The positional arguments left; *@n gets their count. */
const char **cli_args(poptContext ctx, int *n);
/*
 * cli_parse, then exactly @want positional arguments in *@args (else a
 * usage error naming @expected, "META COW"): -1 to go on, or the exit
 * code.
 */
int cli_parse_args(poptContext ctx, const struct cli *cli,
		   const struct poptOption *options, int want,
		   const char *expected, const char ***args);
/* Print "prog: <msg>" and a hint to --help; returns EXIT_USAGE. */
int usage_error(const struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void error_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* On stderr with -v only. */
void verbose_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: <what>: <detail or strerror(-err)>"; detail is the library's. */
void lib_error(int err, const char *detail, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void print_version(void);
/* Flush stdout and report a failed write; returns the final exit code. */
/* Flush stdout; false (reported unless EPIPE) when it could not be written. */
bool flush_stdout(void);
int finish(int rc);

/* A plain decimal number. */
int parse_u64(const char *s, uint64_t *v);
/* "4096", "4K", "4KiB", "1M", "8s" (sectors) -> bytes.  -EINVAL/-ERANGE. */
int parse_size(const char *s, uint64_t *bytes);
/* A size in bytes that must be a whole number of sectors. */
int parse_sectors(const char *s, uint64_t *sectors);
/*
 * --chunk-size @arg for device @dev in sectors, @def when absent.
 * Returns 0, or the exit code after printing why (EXIT_FAIL for a size
 * the kernel refuses).
 */
int cli_chunk_size(const struct cli *cli, const char *dev, const char *arg,
		   uint32_t def, uint32_t *cs);
/* "0x5a" or "90" -> 0..255. */
int parse_byte(const char *s, uint8_t *byte);
/* "s" unless @n is 1: "%" PRIu64 " byte%s", n, plural(n). */
const char *plural(uint64_t n);
/* "16.0 MiB" */
const char *format_size(uint64_t bytes, char *buf, size_t len);

/*
 * Open @path with SNAPCOW_DEV_* @flags; a device opened for writing gets
 * the SNAPCOW_FAULT_INJECT hook.  Prints the error itself.
 */
int open_dev(const char *path, unsigned int flags, struct snapcow_dev **devp);
#define RULE_COW_ON_ORIGIN	"a snapshot's COW cannot live on its origin"
#define RULE_ONE_ROLE		"each device takes one role only"
#define RULE_OUT_IS_INPUT	"the image would overwrite its own source"

/*
 * Refuse (message naming @rule and the chain, -EINVAL) when @a and @b
 * share storage (snapcow_dev_shares_storage).
 */
int check_distinct(struct snapcow_dev *a, const char *a_role,
		   struct snapcow_dev *b, const char *b_role, const char *rule);
/* The same, on paths: opened read-only and shared, before any lock. */
int check_paths_distinct(const char *a, const char *a_role, const char *b,
			 const char *b_role, const char *rule);
/*
 * Load the store on @cow, as the kernel does with table chunk size
 * @chunk_sectors (0: from the header).  Prints the error itself.
 */
int load_store(struct snapcow_dev *cow, uint32_t chunk_sectors,
	       unsigned int flags, struct snapcow_store **sp);

/*
 * The default undo file of a metadata rewrite, in the current directory:
 * "TOOL-undo-<COW's base name>-<local time>.bin".
 */
const char *undo_file_name(const char *tool, const char *cow, char *buf,
			   size_t len);

struct progress {
	bool enabled;
	const char *label;
	int last;		/* last permille drawn, -1 before the first */
};

/* Enabled only when @want and stderr is a terminal. */
void progress_init(struct progress *p, const char *label, bool want);
/* A snapcow_progress_fn: @ctx is the struct progress. */
void progress_update(void *ctx, uint64_t done, uint64_t total);
void progress_done(struct progress *p);

struct json_object;
/* One pretty-printed document on stdout; takes ownership of @o. */
int print_json(struct json_object *o);
/* Put @o (may be NULL), say the document cannot be built: -ENOMEM. */
int json_failed(struct json_object *o);
/* A device-mapper device's table line into @o: 0 or -errno. */
int json_dm_line(struct json_object *o, const char *dm_name,
		 const char *target, uint64_t start, uint64_t length);

#endif /* SNAPCOW_TOOLS_COMMON_H */
