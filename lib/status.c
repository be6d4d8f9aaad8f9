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

#include "fields.h"
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

static int add_usage(struct json_object *o, unsigned int id, uint64_t v,
		     bool known)
{
	return known ? snapcow_field_add_u64(o, id, v) :
		       snapcow_field_add_null(o, id);
}

static int fill_usage(struct json_object *o,
		      const struct snapcow_store_info *info)
{
	/* The kernel does not read the exceptions of an invalid COW. */
	bool loaded = info->state != SNAPCOW_STATE_INVALID;
	int r = 0;

	r = r ?: add_usage(o, SNAPCOW_F_EXCEPTION_COUNT, info->exceptions,
			   loaded);
	r = r ?: add_usage(o, SNAPCOW_F_AREA_COUNT, info->areas, loaded);
	r = r ?: add_usage(o, SNAPCOW_F_CURRENT_AREA, info->current_area,
			   loaded);
	r = r ?: add_usage(o, SNAPCOW_F_NEXT_FREE_CHUNK, info->next_free,
			   loaded);
	r = r ?: add_usage(o, SNAPCOW_F_SECTORS_ALLOCATED,
			   info->sectors_allocated, loaded);
	r = r ?: snapcow_field_add_u64(o, SNAPCOW_F_COW_SECTORS,
				       info->cow_sectors);
	r = r ?: add_usage(o, SNAPCOW_F_METADATA_SECTORS,
			   info->metadata_sectors, loaded);
	if (r)
		return r;
	if (!loaded)
		return snapcow_field_add_null(o, SNAPCOW_F_PERCENT_USED);
	return snapcow_field_add_number(o, SNAPCOW_F_PERCENT_USED,
					percent_used(info->sectors_allocated,
						     info->cow_sectors,
						     info->metadata_sectors), 2);
}

static int fill_ima(struct json_object *o, const struct snapcow_store *s,
		    const struct snapcow_dev *origin)
{
	char ima[8 * PATH_MAX + 256];
	int r;

	if (!origin)
		return snapcow_field_add_null(o, SNAPCOW_F_IMA);
	r = snapcow_status_ima(s, snapcow_dev_name(origin), ima, sizeof(ima));
	if (r < 0)
		return r;
	return snapcow_field_add_str(o, SNAPCOW_F_IMA, ima);
}

static int fill_status(struct json_object *o, const struct snapcow_store *s,
		       const struct snapcow_dev *origin)
{
	struct snapcow_store_info info;
	char line[64];
	int r = 0;

	snapcow_store_get_info(s, &info);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_COW,
				snapcow_dev_path(snapcow_store_dev(s)));
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_ORIGIN,
				origin ? snapcow_dev_path(origin) : NULL);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_STATE,
				       snapcow_state_name(info.state));
	r = r ?: snapcow_field_add_bool(o, SNAPCOW_F_VALID,
					info.state != SNAPCOW_STATE_INVALID);
	/* get_info describes a new COW as the kernel will format it. */
	r = r ?: snapcow_field_add_u64(o, SNAPCOW_F_VERSION, info.version);
	r = r ?: snapcow_field_add_u64(o, SNAPCOW_F_CHUNK_SIZE_BYTES,
			(uint64_t)info.chunk_size << SNAPCOW_SECTOR_SHIFT);
	r = r ?: snapcow_field_add_u64(o, SNAPCOW_F_CHUNK_SIZE_SECTORS,
				       info.chunk_size);
	r = r ?: snapcow_field_add_u64(o, SNAPCOW_F_EXCEPTIONS_PER_AREA,
				       info.exceptions_per_area);
	r = r ?: fill_usage(o, &info);
	if (r)
		return r;
	r = snapcow_status_line(s, line, sizeof(line));
	if (r < 0)
		return r;
	r = snapcow_field_add_str(o, SNAPCOW_F_STATUS, line);
	return r ?: fill_ima(o, s, origin);
}

SNAPCOW_EXPORT
struct json_object *snapcow_status_json(const struct snapcow_store *s,
					const struct snapcow_dev *origin)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (fill_status(o, s, origin) < 0 || snapcow_json_utf8(o) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* ---------------------------------------------------------------- list */

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
	row->state = snapcow_state_name(info->state);
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
	row->state = snapcow_state_name(st->state);
	row->has_usage = st->has_usage;
	row->sectors_allocated = st->sectors_allocated;
	row->cow_sectors = st->cow_sectors;
	row->metadata_sectors = st->metadata_sectors;
}

static int fill_row(struct json_object *o, const struct snapcow_list_row *row)
{
	uint64_t cs = row->chunk_sectors;
	bool u = row->has_usage;
	int r = 0;

	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_KIND, row->kind);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_NAME, row->name);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_DM_NAME, row->dm_name);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_VOL, row->vol);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_ORIGIN_VOL,
				       row->origin_vol);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_ORIGIN, row->origin);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_COW, row->cow);
	r = r ?: add_usage(o, SNAPCOW_F_CHUNK_SIZE_SECTORS, cs, cs);
	r = r ?: snapcow_field_add_u64(o, SNAPCOW_F_CHUNK_SIZE_BYTES,
				       cs << SNAPCOW_SECTOR_SHIFT);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_STATE, row->state);
	r = r ?: snapcow_field_add_str(o, SNAPCOW_F_STATUS, row->line);
	r = r ?: add_usage(o, SNAPCOW_F_SECTORS_ALLOCATED,
			       row->sectors_allocated, u);
	r = r ?: add_usage(o, SNAPCOW_F_COW_SECTORS, row->cow_sectors, u);
	r = r ?: add_usage(o, SNAPCOW_F_METADATA_SECTORS,
			       row->metadata_sectors, u);
	if (r || !u)
		return r ?: snapcow_field_add_null(o, SNAPCOW_F_PERCENT_USED);
	return snapcow_field_add_number(o, SNAPCOW_F_PERCENT_USED,
					percent_used(row->sectors_allocated,
						     row->cow_sectors,
						     row->metadata_sectors), 2);
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
