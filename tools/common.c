// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Helpers shared by the snapcow tools.  Every message a tool prints goes
 * through here so that all of them read "prog: device: rule: detail".
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common.h"
#include "fields.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define FAULT_ENV	"SNAPCOW_FAULT_INJECT"

const char *prog_name = "snapcow";
int verbosity;

struct poptOption common_options[] = {
	{ "quiet", 'q', POPT_ARG_NONE, NULL, OPT_QUIET,
	  "print errors only", NULL },
	{ "verbose", 'v', POPT_ARG_NONE, NULL, OPT_VERBOSE,
	  "print more about what is done", NULL },
	{ "version", 'V', POPT_ARG_NONE, NULL, OPT_VERSION,
	  "print the version and exit", NULL },
	{ "help", 'h', POPT_ARG_NONE, NULL, OPT_HELP,
	  "show this help and exit", NULL },
	{ "usage", '\0', POPT_ARG_NONE, NULL, OPT_USAGE,
	  "show a short usage message and exit", NULL },
	POPT_TABLEEND
};

static void vmsg(FILE *f, const char *prefix, const char *fmt, va_list ap)
{
	fprintf(f, "%s: %s", prog_name, prefix);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
}

void error_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(stderr, "", fmt, ap);
	va_end(ap);
}

void warn_msg(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < 0)
		return;
	va_start(ap, fmt);
	vmsg(stderr, "warning: ", fmt, ap);
	va_end(ap);
}

void verbose_msg(const char *fmt, ...)
{
	va_list ap;

	if (verbosity <= 0)
		return;
	va_start(ap, fmt);
	vmsg(stderr, "", fmt, ap);
	va_end(ap);
}

/*
 * Where @msg and @detail both start with the same "path: ", the length of
 * that prefix in @detail: the path is said once.
 */
static size_t same_subject(const char *msg, const char *detail)
{
	const char *colon = strstr(msg, ": ");
	size_t n = colon ? (size_t)(colon - msg) + 2 : 0;

	return n && !strncmp(msg, detail, n) ? n : 0;
}

void lib_error(int err, const char *detail, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The library's message names the offset and rule: prefer it. */
	if (detail && *detail)
		fprintf(stderr, "%s: %s: %s\n", prog_name, msg,
			detail + same_subject(msg, detail));
	else
		fprintf(stderr, "%s: %s: %s\n", prog_name, msg,
			strerror(err < 0 ? -err : err));
}

int usage_error(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(stderr, "", fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", cli->cmd);
	return EXIT_USAGE;
}

void print_version(void)
{
	printf("%s from snapcow %s\n", prog_name, PACKAGE_VERSION);
}

bool flush_stdout(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return true;
	if (errno != EPIPE)
		error_msg("write error on standard output: %s",
			  strerror(errno));
	return false;
}

int finish(int rc)
{
	/* A full disk or closed pipe must not look like success. */
	if (!flush_stdout())
		return rc ? rc : EXIT_FAIL;
	return rc;
}

/* The size footer belongs to commands with an option taking a SIZE. */
static bool takes_size(const struct poptOption *o)
{
	for (; o->longName || o->shortName || o->arg; o++)
		if (o->argDescrip && !strcmp(o->argDescrip, "SIZE"))
			return true;
	return false;
}

static void print_help(poptContext ctx, const struct cli *cli,
		       const struct poptOption *options)
{
	poptPrintHelp(ctx, stdout, 0);
	printf("\n%s\n", cli->summary);
	if (cli->details)
		printf("\n%s", cli->details);
	if (!takes_size(options))
		return;
	printf("\nSizes take the suffixes K, M, G, T, P, E in either case "
	       "(powers of 1024,\noptionally followed by iB) or s (512-byte "
	       "sectors): 4096, 4K, 4k, 4KiB\nand 8s are one size.\n");
}

/*
 * popt overwrites the value of a string option given twice without
 * freeing the first: such options return OPT_STRING, and the value each
 * one replaced is freed here.
 */
struct string_slot {
	char **arg;
	char *seen;
};

#define MAX_STRING_OPTS	16

static size_t string_slots(const struct poptOption *o,
			   struct string_slot *slots)
{
	size_t n = 0;

	for (; o->longName || o->shortName || o->arg; o++) {
		if ((o->argInfo & POPT_ARG_MASK) != POPT_ARG_STRING ||
		    !o->arg || n == MAX_STRING_OPTS)
			continue;
		slots[n].arg = o->arg;
		slots[n++].seen = *(char **)o->arg;
	}
	return n;
}

static void free_replaced(struct string_slot *slots, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (*slots[i].arg == slots[i].seen)
			continue;
		free(slots[i].seen);
		slots[i].seen = *slots[i].arg;
	}
}

int cli_parse(poptContext ctx, const struct cli *cli,
	      const struct poptOption *options)
{
	struct string_slot slots[MAX_STRING_OPTS];
	size_t nslots = string_slots(options, slots);
	int rc;

	poptSetOtherOptionHelp(ctx, cli->args);
	while ((rc = poptGetNextOpt(ctx)) > 0) {
		switch (rc) {
		case OPT_STRING:
			free_replaced(slots, nslots);
			break;
		case OPT_HELP:
			print_help(ctx, cli, options);
			return EXIT_OK;
		case OPT_USAGE:
			poptPrintUsage(ctx, stdout, 0);
			return EXIT_OK;
		case OPT_VERSION:
			print_version();
			return EXIT_OK;
		case OPT_QUIET:
			verbosity = -1;
			break;
		case OPT_VERBOSE:
			if (verbosity >= 0)
				verbosity++;
			break;
		}
	}
	if (rc < -1)
		return usage_error(cli, "%s: %s",
				   poptBadOption(ctx, POPT_BADOPTION_NOALIAS),
				   poptStrerror(rc));
	return -1;
}

const char **cli_args(poptContext ctx, int *n)
{
	const char **args = poptGetArgs(ctx);
	int i = 0;

	while (args && args[i])
		i++;
	*n = i;
	return args;
}

int cli_parse_args(poptContext ctx, const struct cli *cli,
		   const struct poptOption *options, int want,
		   const char *expected, const char ***args)
{
	int rc = cli_parse(ctx, cli, options), n;

	if (rc >= 0)
		return rc;
	*args = cli_args(ctx, &n);
	if (n == want)
		return -1;
	return usage_error(cli, n > want ? "too many arguments" :
			   "expected %s", expected);
}

static int suffix_shift(const char *s, unsigned int *shift)
{
	static const char units[] = "KMGTPE";
	const char *u;

	if (!*s) {
		*shift = 0;
		return 0;
	}
	if (!strcmp(s, "s") || !strcmp(s, "S")) {
		*shift = SNAPCOW_SECTOR_SHIFT;
		return 0;
	}
	u = strchr(units, toupper((unsigned char)*s));
	if (!u || !*u)
		return -EINVAL;
	if (s[1] && strcmp(s + 1, "iB"))
		return -EINVAL;
	*shift = 10 * (unsigned int)(u - units + 1);
	return 0;
}

int parse_u64(const char *s, uint64_t *v)
{
	unsigned long long n;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || *end)
		return errno ? -errno : -EINVAL;
	*v = n;
	return 0;
}

int parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	unsigned int shift;
	char *end;

	/* strtoull accepts "-1" and leading blanks: we do not. */
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -errno;
	if (suffix_shift(end, &shift) < 0)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*bytes = (uint64_t)v << shift;
	return 0;
}

int parse_sectors(const char *s, uint64_t *sectors)
{
	uint64_t bytes;
	int r = parse_size(s, &bytes);

	if (r < 0)
		return r;
	if (bytes % SNAPCOW_SECTOR_SIZE)
		return -EDOM;
	*sectors = bytes >> SNAPCOW_SECTOR_SHIFT;
	return 0;
}

int cli_chunk_size(const struct cli *cli, const char *dev, const char *arg,
		   uint32_t def, uint32_t *cs)
{
	uint64_t sectors;
	int r;

	if (!arg) {
		*cs = def;
		return 0;
	}
	r = parse_sectors(arg, &sectors);
	if (r == -EDOM) {
		error_msg("%s: chunk size %s refused: not a whole number of "
			  "512-byte sectors", dev, arg);
		return EXIT_FAIL;
	}
	if (r < 0)
		return usage_error(cli, "--chunk-size %s: not a size", arg);
	if (sectors > SNAPCOW_MAX_CHUNK_SECTORS) {
		error_msg("%s: chunk size %s refused: more than the kernel's "
			  "maximum of %u sectors", dev, arg,
			  SNAPCOW_MAX_CHUNK_SECTORS);
		return EXIT_FAIL;
	}
	*cs = (uint32_t)sectors;
	return 0;
}

int parse_byte(const char *s, uint8_t *byte)
{
	unsigned long v;
	char *end;
	int base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!isxdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end || v > 255)
		return -EINVAL;
	*byte = (uint8_t)v;
	return 0;
}

const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

const char *format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB" };
	double v = (double)bytes;
	unsigned int i = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
		return buf;
	}
	for (v /= 1024; v >= 1024 && i + 1 < sizeof(units) / sizeof(*units);
	     v /= 1024)
		i++;
	snprintf(buf, len, "%.1f %s", v, units[i]);
	return buf;
}

/*
 * SNAPCOW_FAULT_INJECT=crash:N|fail:N lets the test suites stop a tool at
 * its Nth write to each device, to prove the on-disk commit order.
 */
static int fault_hook(struct snapcow_dev *dev)
{
	const char *env = getenv(FAULT_ENV);
	enum snapcow_fault mode;
	unsigned long long n;
	const char *num;
	char *end;

	if (!env || !*env)
		return 0;
	if (!strncmp(env, "crash:", 6))
		mode = SNAPCOW_FAULT_CRASH;
	else if (!strncmp(env, "fail:", 5))
		mode = SNAPCOW_FAULT_FAIL;
	else
		goto bad;
	num = strchr(env, ':') + 1;
	if (!isdigit((unsigned char)*num))
		goto bad;
	errno = 0;
	n = strtoull(num, &end, 10);
	if (errno || *end)
		goto bad;
	snapcow_dev_inject_fault(dev, mode, n);
	verbose_msg("%s: %s=%s armed", snapcow_dev_path(dev), FAULT_ENV, env);
	return 0;
bad:
	error_msg("%s=%s: expected crash:N or fail:N", FAULT_ENV, env);
	return -EINVAL;
}

int open_dev(const char *path, unsigned int flags, struct snapcow_dev **devp)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	int r = snapcow_dev_open_err(path, flags, devp, err, sizeof(err));

	/* The library says what the path is and what is needed. */
	if (r == -ENODEV && *err) {
		error_msg("%s", err);
		*devp = NULL;
		return r;
	}
	if (r < 0) {
		error_msg("%s: cannot open%s: %s", path,
			  flags & SNAPCOW_DEV_WRITE ? " for writing" : "",
			  strerror(-r));
		*devp = NULL;
		return r;
	}
	if (flags & SNAPCOW_DEV_WRITE) {
		r = fault_hook(*devp);
		if (r < 0) {
			snapcow_dev_close(*devp);
			*devp = NULL;
		}
	}
	return r;
}

int check_distinct(struct snapcow_dev *a, const char *a_role,
		   struct snapcow_dev *b, const char *b_role, const char *rule)
{
	char chain[2048];
	int r = snapcow_dev_shares_storage(a, b, chain, sizeof(chain));

	if (r == 0)
		return 0;
	if (r < 0) {
		error_msg("cannot tell whether %s (%s) and %s (%s) share "
			  "storage: %s", snapcow_dev_path(a), a_role,
			  snapcow_dev_path(b), b_role, chain);
		return r;
	}
	error_msg("%s (%s) and %s (%s) share storage: %s: %s",
		  snapcow_dev_path(a), a_role, snapcow_dev_path(b), b_role,
		  chain, rule);
	return -EINVAL;
}

int check_paths_distinct(const char *a, const char *a_role, const char *b,
			 const char *b_role, const char *rule)
{
	struct snapcow_dev *da = NULL, *db = NULL;
	int r;

	r = open_dev(a, 0, &da);
	r = r ?: open_dev(b, 0, &db);
	r = r ?: check_distinct(da, a_role, db, b_role, rule);
	snapcow_dev_close(db);
	snapcow_dev_close(da);
	return r;
}

int load_store(struct snapcow_dev *cow, uint32_t chunk_sectors,
	       unsigned int flags, struct snapcow_store **sp)
{
	struct snapcow_store_info info;
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	int r;

	r = snapcow_store_load(cow, chunk_sectors, flags, sp, err,
			       sizeof(err));
	if (r < 0) {
		lib_error(r, err, "%s: cannot load the COW",
			  snapcow_dev_path(cow));
		return r;
	}
	snapcow_store_get_info(*sp, &info);
	/* The kernel warns the same way when the header wins. */
	if (chunk_sectors && info.state != SNAPCOW_STATE_NEW &&
	    info.chunk_size != chunk_sectors)
		warn_msg("%s: chunk size %" PRIu32 " sectors (%" PRIu64
			 " bytes) in the COW header overrides the given %"
			 PRIu32 " sectors (%" PRIu64 " bytes)",
			 snapcow_dev_path(cow), info.chunk_size,
			 (uint64_t)info.chunk_size << SNAPCOW_SECTOR_SHIFT,
			 chunk_sectors,
			 (uint64_t)chunk_sectors << SNAPCOW_SECTOR_SHIFT);
	return 0;
}

void progress_init(struct progress *p, const char *label, bool want)
{
	p->enabled = want && verbosity >= 0 && isatty(STDERR_FILENO);
	p->label = label;
	p->last = -1;
}

void progress_update(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	char a[32], b[32];
	int permille, bar;

	if (!p->enabled || !total)
		return;
	permille = done >= total ? 1000 : (int)(done * 1000 / total);
	/* Redraw once per 0.1%: a terminal is slower than the copy. */
	if (permille == p->last)
		return;
	p->last = permille;
	bar = permille * 40 / 1000;
	fprintf(stderr, "\r%s [%.*s%*s] %3d.%d%% %s / %s", p->label, bar,
		"########################################", 40 - bar, "",
		permille / 10, permille % 10, format_size(done, a, sizeof(a)),
		format_size(total, b, sizeof(b)));
	fflush(stderr);
}

void progress_done(struct progress *p)
{
	if (p->enabled && p->last >= 0)
		fputc('\n', stderr);
	p->last = -1;
}

int print_json(struct json_object *o)
{
	const char *text = NULL;
	int r = 0;

	/* File names are bytes: the document must still be UTF-8. */
	if (snapcow_json_utf8(o) == 0)
		text = json_object_to_json_string_ext(o,
				JSON_C_TO_STRING_PRETTY |
				JSON_C_TO_STRING_SPACED |
				JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text || puts(text) == EOF) {
		error_msg("cannot write the JSON document: %s",
			  strerror(errno));
		r = -EIO;
	}
	json_object_put(o);
	return r;
}

int json_dm_line(struct json_object *o, const char *dm_name,
		 const char *target, uint64_t start, uint64_t length)
{
	int r = snapcow_field_add_str(o, SNAPCOW_F_DM_NAME, dm_name);

	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_TARGET, target);
	r = r ?: snapcow_field_add_u64(o, SNAPCOW_F_START_SECTOR, start);
	return r ?: snapcow_field_add_u64(o, SNAPCOW_F_LENGTH_SECTORS, length);
}

int json_failed(struct json_object *o)
{
	json_object_put(o);
	error_msg("cannot build the JSON document: %s", strerror(ENOMEM));
	return -ENOMEM;
}

const char *undo_file_name(const char *tool, const char *cow, char *buf,
			   size_t len)
{
	const char *base = strrchr(cow, '/');
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	base = base ? base + 1 : cow;
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S",
		 localtime_r(&now, &tm));
	snprintf(buf, len, "%s-undo-%s-%s.bin", tool, *base ? base : "cow",
		 stamp);
	return buf;
}
