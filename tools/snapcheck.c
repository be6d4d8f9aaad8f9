// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapcheck: fsck for a dm-snapshot persistent COW device.  The rules and
 * the repair live in lib/ (check.c, repair.c); this prints findings,
 * chooses the undo file and maps the outcome to fsck(8) exit codes.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common.h"
#include "fields.h"

/* fsck(8) */
enum {
	FSCK_OK = 0,
	FSCK_CORRECTED = 1,
	FSCK_UNCORRECTED = 4,
	FSCK_OPERATIONAL = 8,
	FSCK_USAGE = 16,
};

struct opts {
	int dry_run;
	int repair;
	int json;
	char *origin;		/* popt strdup()s these */
	char *backup;
	char *undo;
	const char *cow;
};

static const struct cli cli = {
	.cmd = "snapcheck",
	.args = "COW",
	.summary = "Check a dm-snapshot COW device and, with -y, repair it.",
	.details =
	"Exit status (fsck(8)): 0 clean, 1 errors corrected, 4 errors left\n"
	"uncorrected, 8 operational error, 16 usage error.\n"
	"A repair first writes an undo file (--backup FILE, or\n"
	"snapcheck-undo-<name>-<time>.bin in the current directory);\n"
	"'snapcheck --undo FILE COW' puts the device back as it was.\n"
	"See snapcheck(8) for every rule code.\n",
};

static bool has_errors(const struct snapcow_check_summary *s)
{
	return snapcow_check_errors(s) != 0;
}

/* What a finding's fix tag says: before -y, after it, or after a failure. */
enum fix_tag {
	TAG_WOULD,
	TAG_FIXED,
	TAG_NOT_FIXED,
};

static void print_finding(const char *dev, const struct snapcow_finding *f,
			  enum fix_tag tag)
{
	static const char *const tags[] = {
		[TAG_WOULD] = "-y would ",
		[TAG_FIXED] = "fixed: ",
		[TAG_NOT_FIXED] = "not fixed: ",
	};
	const struct snapcow_rule *rule = snapcow_rule_get(f->rule);
	bool fix = f->fixable && rule->fix;

	if (verbosity < 0 && rule->severity < SNAPCOW_SEV_ERROR)
		return;
	printf("%s: %s %s: %s: ", dev, rule->code, rule->name,
	       snapcow_severity_name(rule->severity));
	if (f->area != SNAPCOW_NO_POS)
		printf("area %" PRIu64 " slot %" PRIu64 " offset %" PRIu64 ": ",
		       f->area, f->slot, f->offset);
	printf("%s: %s", rule->message, f->text);
	if (fix)
		printf(" [%s%s]", tags[tag], rule->fix);
	putchar('\n');
}

static void print_counts(const char *dev,
			 const struct snapcow_check_summary *s)
{
	uint64_t errors = snapcow_check_errors(s);
	uint64_t warnings = s->by_severity[SNAPCOW_SEV_WARNING];

	printf("%s: %" PRIu64 " error%s, %" PRIu64 " warning%s, %" PRIu64
	       " fixable\n", dev, errors, plural(errors), warnings,
	       plural(warnings), s->fixable);
}

static void print_summary(const char *dev, const struct snapcow_check *c)
{
	struct snapcow_check_summary s;
	unsigned int i;
	uint64_t more = 0;
	const struct snapcow_finding *f;
	size_t nf = snapcow_check_findings(c, &f);

	snapcow_check_get_summary(c, &s);
	for (i = 0; i < SNAPCOW_RULE_COUNT; i++)
		more += snapcow_check_rule_count(c, i);
	if (more > nf)
		printf("%s: %" PRIu64 " more finding%s not shown\n", dev,
		       more - nf, plural(more - nf));
	if (verbosity < 0)
		return;
	printf("%s: %s, chunk size %" PRIu32 " sectors%s, %" PRIu64
	       " exception%s in %" PRIu64 " area%s, next free chunk %" PRIu64
	       ", %" PRIu64 "/%" PRIu64 " sectors allocated, %" PRIu64
	       " metadata, %" PRIu64 " leaked chunk%s\n", dev,
	       snapcow_state_name(s.state), s.chunk_size,
	       s.chunk_size_inferred ? " (inferred)" : "", s.exceptions,
	       plural(s.exceptions), s.areas, plural(s.areas), s.next_free,
	       s.sectors_allocated, s.cow_sectors, s.metadata_sectors,
	       s.leaked_chunks, plural(s.leaked_chunks));
	print_counts(dev, &s);
}

static void print_text(const char *dev, const struct snapcow_check *c,
		       enum fix_tag tag)
{
	const struct snapcow_finding *f;
	size_t i, n = snapcow_check_findings(c, &f);

	for (i = 0; i < n; i++)
		print_finding(dev, &f[i], tag);
	print_summary(dev, c);
}

/* A position or a record's chunk: null when the finding has none. */
static int json_pos(json_object *o, unsigned int id, bool known, uint64_t v)
{
	return known && v != SNAPCOW_NO_POS ? snapcow_field_add_u64(o, id, v) :
					      snapcow_field_add_null(o, id);
}

static json_object *json_finding(const struct snapcow_finding *f)
{
	const struct snapcow_rule *rule = snapcow_rule_get(f->rule);
	json_object *o = json_object_new_object();
	bool rec = f->area != SNAPCOW_NO_POS;
	int r = o ? 0 : -ENOMEM;

	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_CODE, rule->code);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_RULE, rule->name);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_SEVERITY,
				snapcow_severity_name(rule->severity));
	r = r ?: json_pos(o, SNAPCOW_F_AREA, true, f->area);
	r = r ?: json_pos(o, SNAPCOW_F_INDEX, true, f->slot);
	r = r ?: json_pos(o, SNAPCOW_F_OFFSET_BYTES, true, f->offset);
	r = r ?: json_pos(o, SNAPCOW_F_OLD_CHUNK, rec, f->old_chunk);
	r = r ?: json_pos(o, SNAPCOW_F_NEW_CHUNK, rec, f->new_chunk);
	r = r ?: snapcow_field_add_u64(o, SNAPCOW_F_AFFECTED_COUNT, f->count);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_MESSAGE, rule->message);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_DETAIL, f->text);
	r = r ?: snapcow_field_add_bool(o, SNAPCOW_F_FIXABLE, f->fixable);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_FIX,
				       f->fixable ? rule->fix : NULL);
	if (r) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int json_findings(json_object *doc, const struct snapcow_check *c)
{
	const struct snapcow_finding *f;
	size_t i, n = snapcow_check_findings(c, &f);
	json_object *arr = json_object_new_array();
	json_object *one;

	for (i = 0; arr && i < n; i++) {
		one = json_finding(&f[i]);
		if (!one || json_object_array_add(arr, one) < 0) {
			json_object_put(one);
			json_object_put(arr);
			arr = NULL;
		}
	}
	return arr ? snapcow_field_add(doc, SNAPCOW_F_FINDINGS, arr) : -ENOMEM;
}

/* The header's valid flag; null when there is no header to say. */
static int json_valid(json_object *o, enum snapcow_state state)
{
	if (state == SNAPCOW_STATE_UNKNOWN)
		return snapcow_field_add_null(o, SNAPCOW_F_VALID);
	return snapcow_field_add_bool(o, SNAPCOW_F_VALID,
				      state != SNAPCOW_STATE_INVALID);
}

static int json_numbers(json_object *o,
			const struct snapcow_check_summary *s)
{
	const struct snapcow_field_u64 rows[] = {
		{ SNAPCOW_F_EXCEPTION_COUNT, s->exceptions },
		{ SNAPCOW_F_AREA_COUNT, s->areas },
		{ SNAPCOW_F_CURRENT_AREA, s->current_area },
		{ SNAPCOW_F_CURRENT_RECORD_COUNT, s->current_committed },
		{ SNAPCOW_F_NEXT_FREE_CHUNK, s->next_free },
		{ SNAPCOW_F_COW_SECTORS, s->cow_sectors },
		{ SNAPCOW_F_SECTORS_ALLOCATED, s->sectors_allocated },
		{ SNAPCOW_F_METADATA_SECTORS, s->metadata_sectors },
		{ SNAPCOW_F_LEAKED_CHUNK_COUNT, s->leaked_chunks },
		{ SNAPCOW_F_DROP_RECORD_COUNT, s->records_to_drop },
		{ SNAPCOW_F_ERROR_COUNT, snapcow_check_errors(s) },
		{ SNAPCOW_F_WARNING_COUNT,
		  s->by_severity[SNAPCOW_SEV_WARNING] },
		{ SNAPCOW_F_INFO_COUNT, s->by_severity[SNAPCOW_SEV_INFO] },
		{ SNAPCOW_F_FIXABLE_COUNT, s->fixable },
	};

	return snapcow_field_add_u64s(o, rows, sizeof(rows) / sizeof(*rows));
}

static int json_summary(json_object *doc, const struct snapcow_check *c)
{
	struct snapcow_check_summary s;
	json_object *o = json_object_new_object();
	int r = o ? 0 : -ENOMEM;

	snapcow_check_get_summary(c, &s);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_STATE,
				       snapcow_state_name(s.state));
	r = r ?: json_valid(o, s.state);
	r = r ?: json_pos(o, SNAPCOW_F_CHUNK_SIZE_SECTORS, s.chunk_size,
			  s.chunk_size);
	r = r ?: snapcow_field_add_bool(o, SNAPCOW_F_CHUNK_SIZE_INFERRED,
					s.chunk_size_inferred);
	r = r ?: json_numbers(o, &s);
	if (r) {
		json_object_put(o);
		return r;
	}
	return snapcow_field_add(doc, SNAPCOW_F_SUMMARY, o);
}

/* The findings and summary of @c; NULL when out of memory. */
static json_object *json_check(const struct snapcow_check *c)
{
	json_object *o = json_object_new_object();

	if (o && (json_findings(o, c) < 0 || json_summary(o, c) < 0)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int json_after_repair(json_object *doc, const struct snapcow_check *c,
			     int written, const char *undo)
{
	json_object *rep = json_check(c);
	int r = rep ? 0 : -ENOMEM;

	r = r ?: snapcow_field_add_u64(rep, SNAPCOW_F_WRITTEN_CHUNK_COUNT,
				       (uint64_t)written);
	r = r ?: snapcow_field_add_str(rep, SNAPCOW_F_UNDO_FILE, undo);
	if (r) {
		json_object_put(rep);
		return r;
	}
	return snapcow_field_add(doc, SNAPCOW_F_AFTER_REPAIR, rep);
}

/* Print @doc with the exit code @rc in it, and put it: the exit code. */
static int print_check(json_object *doc, int rc)
{
	if (snapcow_field_add_u64(doc, SNAPCOW_F_EXIT_CODE, (uint64_t)rc) < 0) {
		json_failed(doc);
		return FSCK_OPERATIONAL;
	}
	return print_json(doc) < 0 ? FSCK_OPERATIONAL : rc;
}

/* A bar on stderr while @o's check (and a repair after it) runs. */
static int run_check(struct snapcow_dev *cow, const struct snapcow_check_opts
		     *o, struct snapcow_check **cp)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	struct progress *p = o->ctx;
	int r;

	p->label = "checking";
	r = snapcow_check(cow, o, cp, err, sizeof(err));
	progress_done(p);
	if (r < 0)
		lib_error(r, err, "%s: cannot check", snapcow_dev_path(cow));
	return r;
}

static int do_undo(const struct opts *o)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	struct snapcow_dev *cow;
	int r;

	if (open_dev(o->cow, SNAPCOW_DEV_WRITE | SNAPCOW_DEV_EXCL, &cow) < 0)
		return FSCK_OPERATIONAL;
	r = snapcow_check_undo(cow, o->undo, err, sizeof(err));
	snapcow_dev_close(cow);
	if (r < 0) {
		lib_error(r, err, "%s: cannot undo from %s", o->cow, o->undo);
		return FSCK_OPERATIONAL;
	}
	if (verbosity >= 0)
		printf("%s: restored %d chunk%s from %s\n", o->cow, r,
		       plural((uint64_t)r), o->undo);
	return FSCK_OK;
}

/* Repair, then check again: the exit code describes what is left. */
static int do_repair(const struct opts *o, struct snapcow_dev *cow,
		     const struct snapcow_check_opts *co,
		     struct snapcow_check **cp, json_object *doc)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "", name[4096];
	struct snapcow_check_summary s;
	const char *undo = o->backup;
	int r;

	if (!undo)
		undo = undo_file_name("snapcheck", o->cow, name, sizeof(name));
	((struct progress *)co->ctx)->label = "repairing";
	r = snapcow_check_repair(*cp, undo, err, sizeof(err));
	progress_done(co->ctx);
	/* Only now is it known whether the findings were fixed. */
	if (!doc)
		print_text(o->cow, *cp, r < 0 ? TAG_NOT_FIXED : TAG_FIXED);
	if (r < 0) {
		lib_error(r, err, "%s: repair failed", o->cow);
		return FSCK_OPERATIONAL;
	}
	if (r > 0 && !o->backup)
		fprintf(stderr, "%s: undo file: %s\n", prog_name, undo);
	snapcow_check_free(*cp);
	*cp = NULL;
	if (run_check(cow, co, cp) < 0)
		return FSCK_OPERATIONAL;
	snapcow_check_get_summary(*cp, &s);
	if (doc) {
		if (json_after_repair(doc, *cp, r, r ? undo : NULL) < 0) {
			json_failed(NULL);
			return FSCK_OPERATIONAL;
		}
	} else if (r > 0) {
		printf("%s: repaired: %d metadata chunk%s written\n", o->cow,
		       r, plural((uint64_t)r));
		print_text(o->cow, *cp, TAG_WOULD);
	}
	if (has_errors(&s))
		return FSCK_UNCORRECTED;
	return r > 0 ? FSCK_CORRECTED : FSCK_OK;
}

static int origin_size(const char *path, uint64_t *bytes)
{
	struct snapcow_dev *dev;

	if (open_dev(path, 0, &dev) < 0)
		return -1;
	*bytes = snapcow_dev_size(dev);
	snapcow_dev_close(dev);
	return 0;
}

static int do_check(const struct opts *o)
{
	struct snapcow_check_opts co = { 0 };
	struct snapcow_check_summary s;
	struct progress bar;
	struct snapcow_check *c = NULL;
	struct snapcow_dev *cow;
	json_object *doc = NULL;
	unsigned int flags = o->repair ? SNAPCOW_DEV_WRITE | SNAPCOW_DEV_EXCL :
					 0;
	int rc;

	if (o->origin && origin_size(o->origin, &co.origin_bytes) < 0)
		return FSCK_OPERATIONAL;
	/* Only on a terminal: never into a pipe or a log. */
	progress_init(&bar, "checking", true);
	co.progress = progress_update;
	co.ctx = &bar;
	if (open_dev(o->cow, flags, &cow) < 0)
		return FSCK_OPERATIONAL;
	if (run_check(cow, &co, &c) < 0) {
		snapcow_dev_close(cow);
		return FSCK_OPERATIONAL;
	}
	snapcow_check_get_summary(c, &s);
	rc = has_errors(&s) ? FSCK_UNCORRECTED : FSCK_OK;
	if (o->json) {
		doc = json_check(c);
		if (!doc ||
		    snapcow_field_add_str(doc, SNAPCOW_F_COW, o->cow) < 0) {
			json_failed(doc);
			rc = FSCK_OPERATIONAL;
			goto out;
		}
	} else if (!o->repair || !s.fixable) {
		print_text(o->cow, c, TAG_WOULD);
	}
	if (o->repair && s.fixable)
		rc = do_repair(o, cow, &co, &c, doc);
	if (doc)
		rc = print_check(doc, rc);
out:
	snapcow_check_free(c);
	snapcow_dev_close(cow);
	return rc;
}

int main(int argc, const char **argv)
{
	struct opts o = { 0 };
	struct poptOption options[] = {
		{ "dry-run", 'n', POPT_ARG_NONE, &o.dry_run, 0,
		  "check only: open read-only, never write", NULL },
		{ "repair", 'y', POPT_ARG_NONE, &o.repair, 0,
		  "fix what is safe to fix (undo file first)", NULL },
		{ "origin", '\0', POPT_ARG_STRING, &o.origin, 0,
		  "the origin device, to check origin chunks", "ORIGIN" },
		{ "json", '\0', POPT_ARG_NONE, &o.json, 0,
		  "print findings and a summary as JSON", NULL },
		{ "backup", '\0', POPT_ARG_STRING, &o.backup, 0,
		  "write the undo file of a repair here", "FILE" },
		{ "undo", '\0', POPT_ARG_STRING, &o.undo, 0,
		  "restore COW from the undo file FILE", "FILE" },
		COMMON_OPTIONS,
		POPT_TABLEEND
	};
	poptContext ctx;
	const char **args;
	int rc, n;

	prog_name = "snapcheck";
	ctx = poptGetContext(NULL, argc, argv, options, 0);
	rc = cli_parse(ctx, &cli, options);
	if (rc >= 0)
		goto out;
	args = cli_args(ctx, &n);
	if (n != 1) {
		rc = usage_error(&cli, "expected one COW device, got %d", n);
		goto out;
	}
	o.cow = args[0];
	if (o.dry_run && o.repair) {
		rc = usage_error(&cli, "-n and -y exclude each other");
		goto out;
	}
	if (o.undo && (o.dry_run || o.repair || o.backup || o.origin)) {
		rc = usage_error(&cli, "--undo takes no other mode");
		goto out;
	}
	/* Checked without -y, nothing would be saved where asked. */
	if (o.backup && !o.repair && !o.undo) {
		rc = usage_error(&cli, "--backup %s: only a repair (-y) "
				 "writes an undo file", o.backup);
		goto out;
	}
	rc = o.undo ? do_undo(&o) : do_check(&o);
out:
	poptFreeContext(ctx);
	free(o.origin);
	free(o.backup);
	free(o.undo);
	if (rc == EXIT_USAGE)
		rc = FSCK_USAGE;
	/*
	 * An unwritten report is an operational error, whatever the check
	 * found or fixed: nobody learnt it, so 1 or 4 may not be claimed.
	 */
	if (!flush_stdout())
		rc = FSCK_OPERATIONAL;
	return rc;
}
