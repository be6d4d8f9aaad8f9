// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapctl list: every live snapshot on the machine, those activated with
 * device-mapper (snapctl activate: dm uuid SNAPCOW-NAME-snap) and those
 * snapcowd serves (asked over D-Bus).  One row each, built by the
 * library (snapcow_list_row_json) for both kinds, so the text table and
 * the JSON document show the same facts.
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

#include "fields.h"
#include "common.h"
#include "table-out.h"
#include "snapctl.h"

static const struct cli cli = {
	.cmd = "snapctl list",
	.args = "[OPTION...]",
	.summary = "List every live snapshot: activated with device-mapper "
		   "(kind dm) or served by\nsnapcowd (kind served).",
	.details = "NAME: the active origin (dm, activate's NAME) or the VOL "
		   "'snapctl status\n--served' takes (served). Device-mapper "
		   "needs root; without snapcowd on the\nsystem bus no served "
		   "device is listed (-v says so).\n",
};

static int add_dm_rows(struct json_object *rows)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	struct snapcow_dm_snapshot *l;
	struct json_object *j;
	size_t n, i;
	int r;

	r = snapcow_dm_list(&l, &n, err, sizeof(err));
	if (r < 0) {
		lib_error(r, err, "cannot list the device-mapper snapshots");
		return r;
	}
	for (i = 0; !r && i < n; i++) {
		struct snapcow_list_row row = {
			.kind = "dm",
			.name = l[i].name[0] ? l[i].name : NULL,
			.dm_name = l[i].status.device,
			.origin = l[i].origin,
			.cow = l[i].cow,
		};

		snapcow_list_row_dm(&row, &l[i]);
		j = snapcow_list_row_json(&row);
		if (!j || json_object_array_add(rows, j) < 0) {
			json_object_put(j);
			r = -ENOMEM;
		}
	}
	free(l);
	if (r)
		error_msg("cannot list: %s", strerror(-r));
	return r;
}

static int add_served_rows(struct json_object *rows)
{
	struct json_object *served;
	size_t i;
	int r;

	r = served_list(&served);
	if (r < 0)
		return r;
	for (i = 0; i < json_object_array_length(served); i++)
		json_object_array_add(rows, json_object_get(
			json_object_array_get_idx(served, i)));
	json_object_put(served);
	return 0;
}

static const char *field(struct json_object *row, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(row, key, &v) || !v)
		return "-";
	return json_object_get_string(v);
}

/* "8K", "1M": a chunk size is a power of two. */
static const char *chunk_text(struct json_object *row, char *buf, size_t len)
{
	struct json_object *v;
	uint64_t b;

	if (!json_object_object_get_ex(row, "chunk_size_bytes", &v) || !v)
		return "-";
	b = (uint64_t)json_object_get_int64(v);
	if (b >= 1048576 && !(b % 1048576))
		snprintf(buf, len, "%" PRIu64 "M", b / 1048576);
	else if (b >= 1024 && !(b % 1024))
		snprintf(buf, len, "%" PRIu64 "K", b / 1024);
	else
		snprintf(buf, len, "%" PRIu64, b);
	return buf;
}

enum {
	C_KIND, C_NAME, C_DM_NAME, C_VOL, C_ORIGIN_VOL, C_ORIGIN, C_COW,
	C_CHUNK, C_STATE, C_USE, C_STATUS, NCOLS
};

static const struct tout_col cols[NCOLS] = {
	[C_KIND] = { "KIND", SCOLS_JSON_STRING, false },
	[C_NAME] = { "NAME", SCOLS_JSON_STRING, false },
	[C_DM_NAME] = { "DM_NAME", SCOLS_JSON_STRING, false },
	[C_VOL] = { "VOL", SCOLS_JSON_STRING, false },
	[C_ORIGIN_VOL] = { "ORIGIN_VOL", SCOLS_JSON_STRING, false },
	[C_ORIGIN] = { "ORIGIN", SCOLS_JSON_STRING, false },
	[C_COW] = { "COW", SCOLS_JSON_STRING, false },
	[C_CHUNK] = { "CHUNK", SCOLS_JSON_STRING, true },
	[C_STATE] = { "STATE", SCOLS_JSON_STRING, false },
	[C_USE] = { "USE%", SCOLS_JSON_NUMBER, true },
	[C_STATUS] = { "STATUS", SCOLS_JSON_STRING, false },
};

#define DEFAULT_COLS "KIND,NAME,ORIGIN,COW,CHUNK,USE%,STATUS"

static void row_cells(struct json_object *row, const char **cell,
		      char *chunk, size_t len)
{
	cell[C_KIND] = field(row, "kind");
	cell[C_NAME] = field(row, "name");
	cell[C_DM_NAME] = field(row, "dm_name");
	cell[C_VOL] = field(row, "vol");
	cell[C_ORIGIN_VOL] = field(row, "origin_vol");
	cell[C_ORIGIN] = field(row, "origin");
	cell[C_COW] = field(row, "cow");
	cell[C_CHUNK] = chunk_text(row, chunk, len);
	cell[C_STATE] = field(row, "state");
	cell[C_USE] = field(row, "percent_used");
	cell[C_STATUS] = field(row, "status");
}

/* A header and one line per row; nothing at all when there is none. */
static int print_table(struct json_object *rows, struct tout *t)
{
	size_t n = json_object_array_length(rows), i;
	const char *cell[NCOLS];
	char chunk[32];
	int r = 0;

	if (!n)
		return 0;
	for (i = 0; !r && i < n; i++) {
		row_cells(json_object_array_get_idx(rows, i), cell, chunk,
			  sizeof(chunk));
		r = tout_add(t, cell);
	}
	return r ?: tout_print(t);
}

static int run(bool json, struct tout *t)
{
	struct json_object *rows = json_object_new_array(), *doc;
	int r;

	if (!rows)
		return -ENOMEM;
	r = add_dm_rows(rows);
	r = r ?: add_served_rows(rows);
	if (r < 0 || !json) {
		r = r ?: print_table(rows, t);
		json_object_put(rows);
		return r;
	}
	doc = json_object_new_object();
	if (!doc || snapcow_field_add(doc, SNAPCOW_F_SNAPSHOTS, rows) < 0) {
		if (!doc)
			json_object_put(rows);
		json_object_put(doc);
		error_msg("cannot build the JSON list: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	return print_json(doc);
}

int cmd_list(int argc, const char **argv)
{
	struct tout_opts to = { 0 };
	struct tout t = { 0 };
	int json = 0, n, rc;
	struct poptOption options[] = {
		{ "json", 'j', POPT_ARG_NONE, &json, 0,
		  "print a JSON document (see snapctl(8))", NULL },
		TOUT_TEXT_OPTIONS(to),
		COMMON_OPTIONS,
		POPT_TABLEEND
	};
	poptContext ctx = poptGetContext(NULL, argc, argv, options, 0);

	rc = cli_parse(ctx, &cli, options);
	if (rc >= 0)
		goto out;
	cli_args(ctx, &n);
	if (n) {
		rc = usage_error(&cli, "list takes no arguments");
		goto out;
	}
	if (json && (to.output || to.noheadings || to.raw)) {
		rc = usage_error(&cli, "--json takes no --output, "
				 "--noheadings or --raw");
		goto out;
	}
	if (tout_init(&t, "snapshots", cols, NCOLS, DEFAULT_COLS, &to, NULL,
		      stdout) < 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	rc = run(json, &t) < 0 ? EXIT_FAIL : EXIT_OK;
	tout_free(&t);
out:
	free(to.output);
	poptFreeContext(ctx);
	return rc;
}
