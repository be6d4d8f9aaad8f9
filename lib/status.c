// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Status reports of a COW: the kernel's status line, its IMA measurement
 * string and a JSON document for scripts.  Everything here is derived
 * from snapcow_store_get_info() so that the three never disagree.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "snapcow.h"
#include "util.h"

/* dm-snap.c reports this version for the snapshot target in kernel 6.1. */
#define SNAPSHOT_TARGET_VERSION	"1.16.0"

static int finish_print(int n, size_t len)
{
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len)
		return -ENOSPC;
	return n;
}

SNAPCOW_EXPORT
int snapcow_status_line_info(const struct snapcow_store_info *info, char *buf,
			     size_t len)
{
	int n;

	/*
	 * "Merge failed" and "Overflow" are states of a live target; an
	 * offline COW is either invalidated on disk or reports its usage.
	 * A new COW reports what the kernel shows right after formatting
	 * it on activation, which get_info already describes.
	 */
	if (info->state == SNAPCOW_STATE_INVALID)
		n = snprintf(buf, len, "Invalid");
	else
		n = snprintf(buf, len, "%llu/%llu %llu",
			     (unsigned long long)info->sectors_allocated,
			     (unsigned long long)info->cow_sectors,
			     (unsigned long long)info->metadata_sectors);
	return finish_print(n, len);
}

SNAPCOW_EXPORT
int snapcow_status_line(const struct snapcow_store *s, char *buf, size_t len)
{
	struct snapcow_store_info info;

	snapcow_store_get_info(s, &info);
	return snapcow_status_line_info(&info, buf, len);
}

/*
 * dm-ima.c puts a backslash before \ , ; = in a device's name, so a
 * reader that splits on them unescaped still copes; a file path can hold
 * any byte, so here no escape can produce a separator at all: every byte
 * outside '!'..'~', the backslash and the three separators become \xHH.
 * Block devices are "major:minor", as in the kernel, and pass unchanged.
 */
static bool ima_plain(unsigned char c)
{
	return c > ' ' && c <= '~' && !strchr("\\,;=", c);
}

static char *ima_escape(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	char *out = malloc(4 * strlen(name) + 1), *q = out;

	if (!out)
		return NULL;
	for (; *p; p++) {
		if (ima_plain(*p))
			*q++ = (char)*p;
		else
			q += sprintf(q, "\\x%02x", *p);
	}
	*q = 0;
	return out;
}

SNAPCOW_EXPORT
int snapcow_status_ima(const struct snapcow_store *s, const char *origin_name,
		       char *buf, size_t len)
{
	char *origin, *cow;
	int n = -ENOMEM;

	if (!origin_name)
		return -EINVAL;
	origin = ima_escape(origin_name);
	cow = ima_escape(snapcow_dev_name(snapcow_store_dev(s)));
	if (!origin || !cow)
		goto out;
	/* A live target never overflows or fails a merge while offline. */
	n = finish_print(snprintf(buf, len,
		     "target_name=snapshot,target_version="
		     SNAPSHOT_TARGET_VERSION
		     ",snap_origin_name=%s,snap_cow_name=%s,snap_valid=%c"
		     ",snap_merge_failed=n,snapshot_overflowed=n;",
		     origin, cow, snapcow_store_valid(s) ? 'y' : 'n'), len);
out:
	free(origin);
	free(cow);
	return n;
}

static const char *state_name(enum snapcow_state state)
{
	switch (state) {
	case SNAPCOW_STATE_NEW:
		return "new";
	case SNAPCOW_STATE_VALID:
		return "valid";
	case SNAPCOW_STATE_INVALID:
		return "invalid";
	case SNAPCOW_STATE_UNKNOWN:
		break;
	}
	return "unknown";
}

/*
 * json-c turns a NULL value into JSON null, so a failed allocation would
 * silently become null: tell the two apart by what we asked for.
 */
static int add(struct json_object *o, const char *key, struct json_object *v,
	       bool want_null)
{
	if (!v && !want_null)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int add_u64(struct json_object *o, const char *key, uint64_t v,
		   bool known)
{
	if (!known)
		return add(o, key, NULL, true);
	return add(o, key, json_object_new_uint64(v), false);
}

static int add_str(struct json_object *o, const char *key, const char *v)
{
	if (!v)
		return add(o, key, NULL, true);
	return add(o, key, json_object_new_string(v), false);
}

/*
 * Percent used as lvs(8) computes snap_percent: a COW holding only its
 * metadata is 0, a full one 100, anything in between is never rounded to
 * either end so that "0.00" and "100.00" keep their meaning.
 */
static double percent_used(uint64_t allocated, uint64_t total,
			   uint64_t metadata)
{
	double pct;

	if (!total || allocated == metadata)
		return 0.0;
	if (allocated >= total)
		return 100.0;
	pct = (double)allocated * 100.0 / (double)total;
	if (pct < 0.01)
		return 0.01;
	if (pct > 99.99)
		return 99.99;
	return pct;
}

static int add_percent(struct json_object *o, uint64_t allocated,
		       uint64_t total, uint64_t metadata, bool known)
{
	char text[16];
	double pct;

	if (!known)
		return add(o, "percent_used", NULL, true);
	pct = percent_used(allocated, total, metadata);
	/* Serialise exactly two decimals rather than json-c's %.17g. */
	snprintf(text, sizeof(text), "%.2f", pct);
	return add(o, "percent_used", json_object_new_double_s(pct, text),
		   false);
}

static int fill_usage(struct json_object *o,
		      const struct snapcow_store_info *info)
{
	/* The kernel does not read the exceptions of an invalid COW. */
	bool loaded = info->state != SNAPCOW_STATE_INVALID;
	int r = 0;

	r = r ?: add_u64(o, "exceptions", info->exceptions, loaded);
	r = r ?: add_u64(o, "areas", info->areas, loaded);
	r = r ?: add_u64(o, "current_area", info->current_area, loaded);
	r = r ?: add_u64(o, "next_free_chunk", info->next_free, loaded);
	r = r ?: add_u64(o, "sectors_allocated", info->sectors_allocated,
			 loaded);
	r = r ?: add_u64(o, "total_sectors", info->cow_sectors, true);
	r = r ?: add_u64(o, "metadata_sectors", info->metadata_sectors, loaded);
	r = r ?: add_percent(o, info->sectors_allocated, info->cow_sectors,
			     info->metadata_sectors, loaded);
	return r;
}

static int fill_status(struct json_object *o, const struct snapcow_store *s,
		       const char *origin_name)
{
	struct snapcow_store_info info;
	char line[64], ima[8 * PATH_MAX + 256];
	uint32_t version;
	int r = 0;

	snapcow_store_get_info(s, &info);
	/* A new COW is described as the kernel will have formatted it. */
	version = info.state == SNAPCOW_STATE_NEW ? SNAPCOW_DISK_VERSION :
						    info.version;
	r = r ?: add_str(o, "state", state_name(info.state));
	r = r ?: add(o, "valid",
		     json_object_new_boolean(info.state !=
					     SNAPCOW_STATE_INVALID), false);
	r = r ?: add_u64(o, "version", version, true);
	r = r ?: add_u64(o, "chunk_size_bytes",
			 (uint64_t)info.chunk_size << SNAPCOW_SECTOR_SHIFT,
			 true);
	r = r ?: add_u64(o, "chunk_size_sectors", info.chunk_size, true);
	r = r ?: add_u64(o, "exceptions_per_area", info.exceptions_per_area,
			 true);
	r = r ?: fill_usage(o, &info);
	if (r)
		return r;
	r = snapcow_status_line(s, line, sizeof(line));
	if (r < 0)
		return r;
	r = add_str(o, "status", line);
	r = r ?: add_str(o, "cow_name", snapcow_dev_name(snapcow_store_dev(s)));
	r = r ?: add_str(o, "origin_name", origin_name);
	if (r || !origin_name)
		return r ?: add_str(o, "ima", NULL);
	r = snapcow_status_ima(s, origin_name, ima, sizeof(ima));
	if (r < 0)
		return r;
	return add_str(o, "ima", ima);
}

SNAPCOW_EXPORT
struct json_object *snapcow_status_json(const struct snapcow_store *s,
					const char *origin_name)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (fill_status(o, s, origin_name) < 0 || snapcow_json_utf8(o) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* ---------------------------------------------------------------- list */

SNAPCOW_EXPORT
const char *snapcow_dm_state_name(enum snapcow_dm_state state)
{
	switch (state) {
	case SNAPCOW_DM_VALID:
		return "valid";
	case SNAPCOW_DM_INVALID:
		return "invalid";
	case SNAPCOW_DM_OVERFLOW:
		return "overflow";
	case SNAPCOW_DM_MERGE_FAILED:
		return "merge_failed";
	case SNAPCOW_DM_UNKNOWN:
		break;
	}
	return "unknown";
}

SNAPCOW_EXPORT
int snapcow_list_row_info(struct snapcow_list_row *row,
			  const struct snapcow_store_info *info)
{
	bool loaded = info->state != SNAPCOW_STATE_INVALID;
	int r;

	r = snapcow_status_line_info(info, row->line, sizeof(row->line));
	if (r < 0)
		return r;
	row->chunk_sectors = info->chunk_size;
	row->state = state_name(info->state);
	row->has_usage = loaded;
	row->sectors_allocated = info->sectors_allocated;
	row->cow_sectors = info->cow_sectors;
	row->metadata_sectors = info->metadata_sectors;
	return 0;
}

SNAPCOW_EXPORT
void snapcow_list_row_dm(struct snapcow_list_row *row,
			 const struct snapcow_dm_snapshot *d)
{
	const struct snapcow_dm_status *st = &d->status;

	snprintf(row->line, sizeof(row->line), "%s", st->line);
	row->chunk_sectors = d->chunk_sectors;
	row->state = snapcow_dm_state_name(st->state);
	row->has_usage = st->has_usage;
	row->sectors_allocated = st->sectors_allocated;
	row->cow_sectors = st->total_sectors;
	row->metadata_sectors = st->metadata_sectors;
}

static int fill_row(struct json_object *o, const struct snapcow_list_row *row)
{
	uint64_t cs = row->chunk_sectors;
	bool u = row->has_usage;
	int r = 0;

	r = r ?: add_str(o, "kind", row->kind);
	r = r ?: add_str(o, "name", row->name);
	r = r ?: add_str(o, "dm_name", row->dm_name);
	r = r ?: add_str(o, "vol", row->vol);
	r = r ?: add_str(o, "origin_vol", row->origin_vol);
	r = r ?: add_str(o, "origin", row->origin);
	r = r ?: add_str(o, "cow", row->cow);
	r = r ?: add_u64(o, "chunk_size_sectors", cs, cs);
	r = r ?: add_u64(o, "chunk_size_bytes", cs << SNAPCOW_SECTOR_SHIFT,
			 cs);
	r = r ?: add_str(o, "state", row->state);
	r = r ?: add_str(o, "status", row->line);
	r = r ?: add_u64(o, "sectors_allocated", row->sectors_allocated, u);
	r = r ?: add_u64(o, "cow_sectors", row->cow_sectors, u);
	r = r ?: add_u64(o, "metadata_sectors", row->metadata_sectors, u);
	r = r ?: add_percent(o, row->sectors_allocated, row->cow_sectors,
			     row->metadata_sectors, u);
	return r;
}

SNAPCOW_EXPORT
struct json_object *snapcow_list_row_json(const struct snapcow_list_row *row)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (fill_row(o, row) < 0 || snapcow_json_utf8(o) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}
