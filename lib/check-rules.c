// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * snapcheck's problem table, in the manner of e2fsck's problem.c: every
 * problem is one row, with what its fix does to the COW (the plan).
 * sc_check_problem() (check.c) reports a finding and plans its fix from
 * the row in one call, as e2fsck's fix_problem() does; sc_check_action()
 * alone decides whether a finding is only reported or also fixed.  Codes
 * are stable: a retired rule keeps its code and a new one takes a fresh
 * number.
 */
#include "config.h"

#include "check.h"
#include "util.h"

/*
 * Each row: the public rule, and the plan its fix adds to the repair
 * (NONE exactly when the rule has no fix).
 */
static const struct sc_rule_row rules[SNAPCOW_RULE_COUNT] = {
	[SNAPCOW_RULE_HEADER_MAGIC] = {
		{
			"SC001", "header-magic", SNAPCOW_SEV_ERROR,
			"header magic is not a snapshot COW's",
			"rewrite the header with the chunk size inferred from the areas",
		},
		SC_PLAN_HEADER,
	},
	[SNAPCOW_RULE_HEADER_VERSION] = {
		{
			"SC002", "header-version", SNAPCOW_SEV_ERROR,
			"header version is not 1: the kernel refuses the COW",
			"rewrite the header with version 1",
		},
		SC_PLAN_HEADER,
	},
	[SNAPCOW_RULE_HEADER_CHUNK_SIZE] = {
		{
			"SC003", "header-chunk-size", SNAPCOW_SEV_ERROR,
			"header chunk size is one the kernel refuses, or not the "
			"one the areas were written with",
			"rewrite the header with the chunk size inferred from the areas",
		},
		SC_PLAN_HEADER,
	},
	[SNAPCOW_RULE_DEVICE_TOO_SMALL] = {
		{
			"SC004", "device-too-small", SNAPCOW_SEV_FATAL,
			"device cannot hold a header, an area and a data chunk",
			NULL,
		},
		SC_PLAN_NONE,
	},
	[SNAPCOW_RULE_HEADER_INVALID] = {
		{
			"SC005", "header-invalid", SNAPCOW_SEV_WARNING,
			"snapshot is marked invalid: the kernel reads no exceptions",
			NULL,
		},
		SC_PLAN_NONE,
	},
	[SNAPCOW_RULE_HEADER_GARBAGE] = {
		{
			"SC006", "header-garbage", SNAPCOW_SEV_WARNING,
			"header chunk holds non-zero bytes past the header",
			"zero the header chunk past the header",
		},
		SC_PLAN_HEADER,
	},
	[SNAPCOW_RULE_NEW_OVER_LIVE] = {
		{
			"SC007", "new-over-live", SNAPCOW_SEV_ERROR,
			"magic is 0 over live-looking areas: activation would reformat and lose them",
			"write a header with the chunk size inferred from the areas",
		},
		SC_PLAN_HEADER,
	},
	[SNAPCOW_RULE_NEW_COW] = {
		{
			"SC008", "new-cow", SNAPCOW_SEV_INFO,
			"new COW: the kernel formats it on activation",
			NULL,
		},
		SC_PLAN_NONE,
	},
	[SNAPCOW_RULE_NEW_IN_METADATA] = {
		{
			"SC010", "new-in-metadata", SNAPCOW_SEV_ERROR,
			"record points into the header or a metadata area",
			"drop the record",
		},
		SC_PLAN_DROP_RECORD,
	},
	[SNAPCOW_RULE_NEW_PAST_END] = {
		{
			"SC011", "new-past-end", SNAPCOW_SEV_ERROR,
			"record points past the end of the device",
			"drop the record",
		},
		SC_PLAN_DROP_RECORD,
	},
	[SNAPCOW_RULE_DUP_OLD] = {
		{
			"SC012", "dup-old", SNAPCOW_SEV_ERROR,
			"two records for one origin chunk",
			"keep the record the kernel serves, drop the others",
		},
		SC_PLAN_DROP_RECORD,
	},
	[SNAPCOW_RULE_SHARED_NEW] = {
		{
			"SC013", "shared-new", SNAPCOW_SEV_ERROR,
			"two origin chunks share one COW chunk",
			"keep the first record, drop the later ones",
		},
		SC_PLAN_DROP_RECORD,
	},
	[SNAPCOW_RULE_OLD_PAST_ORIGIN] = {
		{
			"SC014", "old-past-origin", SNAPCOW_SEV_ERROR,
			"record's origin chunk is past the end of the origin",
			"drop the record",
		},
		SC_PLAN_DROP_RECORD,
	},
	[SNAPCOW_RULE_STALE_TAIL] = {
		{
			"SC015", "stale-tail", SNAPCOW_SEV_ERROR,
			"records after the list end in the current area would become live on the next commit",
			"zero the records after the list end",
		},
		SC_PLAN_ZERO_TAIL,
	},
	[SNAPCOW_RULE_LIST_TRUNCATED] = {
		{
			"SC016", "list-truncated", SNAPCOW_SEV_ERROR,
			"zero record inside a full-looking area: the records after it are lost",
			"zero the unreachable records after the list end",
		},
		SC_PLAN_ZERO_TAIL,
	},
	[SNAPCOW_RULE_END_PAST_DEVICE] = {
		{
			"SC017", "end-past-device", SNAPCOW_SEV_ERROR,
			"last area is full and the next one is past the device: activation fails",
			"drop the last record so that the list ends inside its area",
		},
		SC_PLAN_DROP_RECORD,
	},
	[SNAPCOW_RULE_STALE_AREA] = {
		{
			"SC018", "stale-area", SNAPCOW_SEV_WARNING,
			"area after the list end holds live-looking records (the kernel zeroes it before use)",
			"zero the area",
		},
		SC_PLAN_ZERO_NEXT_AREA,
	},
	[SNAPCOW_RULE_NOTHING_LEFT] = {
		{
			"SC019", "nothing-left", SNAPCOW_SEV_ERROR,
			"no trustworthy record is left",
			"mark the snapshot invalid",
		},
		SC_PLAN_INVALIDATE,
	},
	[SNAPCOW_RULE_LEAKED_CHUNKS] = {
		{
			"SC020", "leaked-chunks", SNAPCOW_SEV_WARNING,
			"chunks below next_free that no record owns (out-of-order commits before Linux 3.13)",
			NULL,
		},
		SC_PLAN_NONE,
	},
};

SNAPCOW_EXPORT
const struct snapcow_rule *snapcow_rule_get(unsigned int id)
{
	return id < SNAPCOW_RULE_COUNT ? &rules[id].rule : NULL;
}

SNAPCOW_EXPORT
const char *snapcow_severity_name(enum snapcow_severity sev)
{
	static const char *const names[] = {
		"info", "warning", "error", "fatal",
	};

	return (unsigned int)sev < ARRAY_SIZE(names) ? names[sev] : "?";
}

enum sc_plan sc_rule_plan(unsigned int id)
{
	return rules[id].plan;
}

/*
 * A finding is fixed when sc_check_problem() planned its fix (the rule
 * has one and this instance can be fixed: a header needs an inferred
 * chunk size, for one) and the caller asked for repair.
 */
enum sc_action sc_check_action(const struct snapcow_finding *f, bool repair)
{
	return repair && f->fixable ? SC_FIX : SC_REPORT;
}
