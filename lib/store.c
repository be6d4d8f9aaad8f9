// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Loading and querying a persistent exception store, as the kernel's
 * persistent_read_metadata() does on activation.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "list.h"
#include "store.h"
#include "util.h"

int sc_store_errf(struct snapcow_store *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return err;
}

uint64_t sc_store_area_offset(const struct snapcow_store *s, uint64_t area)
{
	return snapcow_area_offset(s->cs, area);
}

int sc_store_read_area(struct snapcow_store *s, uint64_t area, void *buf)
{
	int r = snapcow_dev_read(s->cow, buf, s->chunk_bytes,
				 sc_store_area_offset(s, area));

	if (r)
		return sc_store_errf(s, r, "%s: metadata area %llu: %s",
				     snapcow_dev_path(s->cow),
				     (unsigned long long)area,
				     snapcow_dev_error(s->cow));
	return 0;
}

static int store_set_chunk_size(struct snapcow_store *s, uint32_t cs,
				const char *source)
{
	const char *why;

	if (snapcow_chunk_size_check(cs, snapcow_dev_block_size(s->cow),
				     &why))
		return sc_store_errf(s, -EINVAL,
				     "%s: %s chunk size %u sectors: %s (block size %u)",
				     snapcow_dev_path(s->cow), source, cs, why,
				     snapcow_dev_block_size(s->cow));
	s->cs = cs;
	s->chunk_bytes = (uint64_t)cs * SNAPCOW_SECTOR_SIZE;
	s->epa = snapcow_exceptions_per_area(cs);
	s->cow_chunks = snapcow_dev_size(s->cow) / s->chunk_bytes;
	return 0;
}

/*
 * Checked once the chunk size is final: a table's (or the default) chunk
 * size that the header overrides must not refuse a small COW.
 */
static int store_check_size(struct snapcow_store *s)
{
	if (snapcow_dev_size(s->cow) >= 2 * s->chunk_bytes)
		return 0;
	return sc_store_errf(s, -ENOSPC,
			     "%s: device of %llu bytes cannot hold a header and a metadata area of %llu bytes each",
			     snapcow_dev_path(s->cow),
			     (unsigned long long)snapcow_dev_size(s->cow),
			     (unsigned long long)s->chunk_bytes);
}

/*
 * The kernel reads chunk 0 with the table's chunk size; a header that
 * disagrees wins, and a table chunk size of 0 means "from the header, or
 * max(32 sectors, block size) for a new COW".
 */
static int store_read_header(struct snapcow_store *s, uint32_t table_cs)
{
	const char *path = snapcow_dev_path(s->cow);
	uint32_t dflt = MAX(32u, snapcow_dev_block_size(s->cow) >> 9);
	int r;

	r = store_set_chunk_size(s, table_cs ? table_cs : dflt, "table");
	if (r)
		return r;
	r = snapcow_header_read(s->cow, &s->hdr);
	if (r)
		return sc_store_errf(s, r, "%s", snapcow_dev_error(s->cow));
	if (s->hdr.magic == 0) {
		s->state = SNAPCOW_STATE_NEW;
		return store_check_size(s);
	}
	if (s->hdr.magic != SNAPCOW_MAGIC)
		return sc_store_errf(s, -ENXIO,
				     "%s: offset 0: magic 0x%08x is not a snapshot COW (expected 0x%08x, or 0 for a new one)",
				     path, s->hdr.magic, SNAPCOW_MAGIC);
	if (s->hdr.chunk_size != s->cs) {
		r = store_set_chunk_size(s, s->hdr.chunk_size, "header");
		if (r)
			return r;
	}
	if (s->hdr.version != SNAPCOW_DISK_VERSION)
		return sc_store_errf(s, -EINVAL,
				     "%s: offset 8: version %u is not supported (only %u)",
				     path, s->hdr.version, SNAPCOW_DISK_VERSION);
	s->state = s->hdr.valid ? SNAPCOW_STATE_VALID : SNAPCOW_STATE_INVALID;
	return store_check_size(s);
}

/* persistent_prepare_exception's skip_metadata(). */
static void store_skip_metadata(struct snapcow_store *s)
{
	s->next_free = snapcow_skip_metadata(s->cs, s->next_free);
}

/* Duplicated old chunks seen by sc_table_build(), for store-dups.c. */
struct store_dups {
	struct snapcow_store *s;
	uint64_t *olds;
	size_t n, cap;
	int err;
};

static void store_count_dup(void *ctx, uint64_t old_chunk, uint64_t kept,
			    uint64_t dropped)
{
	struct store_dups *d = ctx;

	(void)kept;
	(void)dropped;
	d->s->duplicates++;
	if (!d->err)
		d->err = sc_grow((void **)&d->olds, &d->cap, d->n + 1,
				 sizeof(*d->olds));
	if (!d->err)
		d->olds[d->n++] = old_chunk;
}

/*
 * A record whose COW chunk does not lie whole on the device: the COW was
 * cut short (or the record is damaged).  The kernel activates it, then
 * fails every read of that chunk with EIO and reports more sectors
 * allocated than the device has; no loader serves or merges it.
 */
static int store_record_past_end(struct snapcow_store *s, uint64_t slot,
				 const struct snapcow_record *rec)
{
	uint64_t size = snapcow_dev_size(s->cow);

	return sc_store_errf(s, -ERANGE,
			     "%s: offset %llu (area %llu slot %llu): record %llu -> %llu: COW chunk %llu ends past the device end (%llu bytes, %llu whole chunks of %llu bytes): the COW was cut short or the record is damaged; the kernel fails every read of that chunk; run snapcheck",
			     snapcow_dev_path(s->cow),
			     (unsigned long long)(sc_store_area_offset(s,
					s->current_area) +
					slot * SNAPCOW_RECORD_SIZE),
			     (unsigned long long)s->current_area,
			     (unsigned long long)slot,
			     (unsigned long long)rec->old_chunk,
			     (unsigned long long)rec->new_chunk,
			     (unsigned long long)rec->new_chunk,
			     (unsigned long long)size,
			     (unsigned long long)s->cow_chunks,
			     (unsigned long long)s->chunk_bytes);
}

/* Insert one area's records; returns 1 when the area is full. */
static int store_insert_area(struct snapcow_store *s, const void *area)
{
	struct snapcow_record rec;
	uint64_t i;
	int r;

	for (i = 0; i < s->epa; i++) {
		snapcow_record_decode(area, i, &rec);
		/* new_chunk 0 is the header: the list ends here. */
		if (rec.new_chunk == 0) {
			s->current_committed = i;
			return 0;
		}
		if (rec.new_chunk >= s->cow_chunks)
			return store_record_past_end(s, i, &rec);
		if (s->next_free <= rec.new_chunk)
			s->next_free = rec.new_chunk + 1;
		r = sc_table_append(s->table, rec.old_chunk, rec.new_chunk);
		if (r)
			return sc_store_errf(s, r,
					     "%s: area %llu slot %llu: cannot record exception %llu -> %llu: %s",
					     snapcow_dev_path(s->cow),
					     (unsigned long long)s->current_area,
					     (unsigned long long)i,
					     (unsigned long long)rec.old_chunk,
					     (unsigned long long)rec.new_chunk,
					     strerror(-r));
		s->exceptions++;
	}
	s->current_committed = s->epa;
	return 1;
}

static bool store_area_on_device(const struct snapcow_store *s, uint64_t area)
{
	return snapcow_area_chunk(s->cs, area) < s->cow_chunks;
}

/*
 * The list reaches a metadata area that does not lie whole on the
 * device: the kernel's read of it fails (-EIO, "attempt to access beyond
 * end of device") and so does the activation.
 */
static int store_area_past_end(struct snapcow_store *s)
{
	return sc_store_errf(s, -EIO,
			     "%s: offset %llu: metadata area %llu (%llu bytes) ends past the device end (%llu bytes): the COW was cut short; the kernel fails to activate it (reading its metadata: EIO)",
			     snapcow_dev_path(s->cow),
			     (unsigned long long)sc_store_area_offset(s,
					s->current_area),
			     (unsigned long long)s->current_area,
			     (unsigned long long)s->chunk_bytes,
			     (unsigned long long)snapcow_dev_size(s->cow));
}

/* read_exceptions(): walk areas until one that is not full. */
static int store_read_exceptions(struct snapcow_store *s)
{
	int r;

	for (s->current_area = 0;; s->current_area++) {
		if (!store_area_on_device(s, s->current_area))
			return store_area_past_end(s);
		r = sc_store_read_area(s, s->current_area, s->area);
		if (r)
			return r;
		r = store_insert_area(s, s->area);
		if (r < 0)
			return r;
		if (r == 0)
			break;
	}
	store_skip_metadata(s);
	return 0;
}

SNAPCOW_EXPORT
int snapcow_store_load(struct snapcow_dev *cow, uint32_t table_chunk_size,
		       unsigned int flags, struct snapcow_store **sp,
		       char *err, size_t errlen)
{
	struct store_dups dups = { 0 };
	struct snapcow_store *s;
	int r;

	*sp = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return sc_errf(err, errlen, -ENOMEM, "out of memory");
	s->cow = cow;
	s->flags = flags;
	s->next_free = SNAPCOW_HEADER_CHUNKS + 1;
	s->table = sc_table_new();
	if (!s->table) {
		r = sc_store_errf(s, -ENOMEM, "out of memory");
		goto fail;
	}
	if ((flags & SNAPCOW_STORE_WRITE) && !snapcow_dev_is_writable(cow)) {
		r = sc_store_errf(s, -EBADF, "%s: opened read-only",
				  snapcow_dev_path(cow));
		goto fail;
	}
	r = store_read_header(s, table_chunk_size);
	if (r)
		goto fail;
	s->area = calloc(1, s->chunk_bytes);
	if (!s->area) {
		r = sc_store_errf(s, -ENOMEM,
				  "cannot allocate a %llu-byte area buffer",
				  (unsigned long long)s->chunk_bytes);
		goto fail;
	}
	if (s->state == SNAPCOW_STATE_VALID ||
	    (s->state == SNAPCOW_STATE_INVALID &&
	     (flags & SNAPCOW_STORE_ALL_RECORDS))) {
		r = store_read_exceptions(s);
		if (r)
			goto fail;
	}
	dups.s = s;
	r = sc_table_build(s->table, store_count_dup, &dups);
	if (!r)
		r = dups.err;
	/* The table kept the first record; the kernel may serve another. */
	if (!r && dups.n)
		r = sc_store_resolve_dups(s, dups.olds, dups.n);
	free(dups.olds);
	if (r) {
		sc_store_errf(s, r, "%s: cannot build exception table: %s",
			      snapcow_dev_path(s->cow), strerror(-r));
		goto fail;
	}
	*sp = s;
	return 0;
fail:
	sc_errf(err, errlen, r, "%s", s->err);
	snapcow_store_free(s);
	return r;
}

SNAPCOW_EXPORT
void snapcow_store_free(struct snapcow_store *s)
{
	if (!s)
		return;
	sc_table_free(s->table);
	free(s->area);
	free(s);
}

SNAPCOW_EXPORT
const char *snapcow_store_error(const struct snapcow_store *s)
{
	return s->err;
}

SNAPCOW_EXPORT
struct snapcow_dev *snapcow_store_dev(const struct snapcow_store *s)
{
	return s->cow;
}

SNAPCOW_EXPORT
void snapcow_store_get_info(const struct snapcow_store *s,
			    struct snapcow_store_info *info)
{
	memset(info, 0, sizeof(*info));
	info->state = s->state;
	info->version = s->state == SNAPCOW_STATE_NEW ? SNAPCOW_DISK_VERSION :
							 s->hdr.version;
	info->chunk_size = s->cs;
	info->exceptions_per_area = s->epa;
	info->exceptions = s->exceptions;
	info->areas = s->current_area + 1;
	info->current_area = s->current_area;
	info->current_committed = s->current_committed;
	info->next_free = s->next_free;
	info->cow_sectors = snapcow_dev_size(s->cow) >> SNAPCOW_SECTOR_SHIFT;
	/* persistent_usage() */
	info->sectors_allocated = s->next_free * s->cs;
	info->metadata_sectors = snapcow_metadata_sectors(s->cs,
							  s->current_area);
}

SNAPCOW_EXPORT
uint32_t snapcow_store_chunk_size(const struct snapcow_store *s)
{
	return s->cs;
}

SNAPCOW_EXPORT
bool snapcow_store_valid(const struct snapcow_store *s)
{
	return s->state != SNAPCOW_STATE_INVALID;
}

SNAPCOW_EXPORT
size_t snapcow_store_table_bytes(const struct snapcow_store *s)
{
	return sc_table_bytes(s->table);
}

SNAPCOW_EXPORT
int snapcow_store_lookup(const struct snapcow_store *s, uint64_t old_chunk,
			 uint64_t *new_chunk)
{
	return sc_table_lookup(s->table, old_chunk, new_chunk);
}

SNAPCOW_EXPORT
int snapcow_store_foreach_run(const struct snapcow_store *s,
			      snapcow_run_fn fn, void *ctx)
{
	return sc_table_foreach(s->table, fn, ctx);
}

struct record_walk {
	const struct snapcow_store *s;
	snapcow_record_fn fn;
	void *ctx;
};

static int store_visit(void *ctx, const struct sc_rec *rec)
{
	const struct record_walk *w = ctx;
	const struct snapcow_store *s = w->s;
	struct snapcow_record_pos pos = {
		.old_chunk = rec->old_chunk,
		.new_chunk = rec->new_chunk,
		.area = rec->g / s->epa,
		.slot = rec->g % s->epa,
	};

	pos.offset = sc_store_area_offset(s, pos.area) +
		     pos.slot * SNAPCOW_RECORD_SIZE;
	pos.past_end = pos.area == s->current_area &&
		       pos.slot >= s->current_committed;
	return w->fn(w->ctx, &pos);
}

SNAPCOW_EXPORT
int snapcow_store_foreach_record(struct snapcow_store *s, bool past_end,
				 snapcow_record_fn fn, void *ctx)
{
	struct record_walk w = { s, fn, ctx };

	if (s->state != SNAPCOW_STATE_VALID &&
	    !(s->flags & SNAPCOW_STORE_ALL_RECORDS))
		return 0;
	return sc_list_walk(s->cow, s->cs, s->current_area,
			    s->current_committed, past_end, store_visit, &w,
			    s->err, sizeof(s->err));
}
