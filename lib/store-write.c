// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Writing a persistent exception store: format, allocate, commit in
 * allocation order, invalidate.  The ordering rules are the kernel's:
 * COW data is flushed before the area that points at it is written, and
 * when an area fills, the next one is zeroed before the full one is
 * committed, so a reader always finds the list's end.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"
#include "store.h"
#include "util.h"

static int write_zero_chunk(struct snapcow_dev *cow, uint64_t chunk_bytes,
			    uint64_t offset)
{
	void *zero = calloc(1, chunk_bytes);
	int r;

	if (!zero)
		return -ENOMEM;
	r = snapcow_dev_write(cow, zero, chunk_bytes, offset);
	free(zero);
	return r;
}

SNAPCOW_EXPORT
int snapcow_store_format(struct snapcow_dev *cow, uint32_t chunk_sectors,
			 char *err, size_t errlen)
{
	const char *path = snapcow_dev_path(cow);
	struct snapcow_header hdr = {
		.magic = SNAPCOW_MAGIC,
		.valid = 1,
		.version = SNAPCOW_DISK_VERSION,
		.chunk_size = chunk_sectors,
	};
	uint64_t chunk_bytes = (uint64_t)chunk_sectors * SNAPCOW_SECTOR_SIZE;
	unsigned char *buf;
	const char *why;
	int r;

	if (snapcow_chunk_size_check(chunk_sectors,
				     snapcow_dev_block_size(cow), &why))
		return sc_errf(err, errlen, -EINVAL, "%s: %s (%u sectors)",
			       path, why, chunk_sectors);
	if (snapcow_dev_size(cow) < snapcow_cow_min_bytes(chunk_sectors))
		return sc_errf(err, errlen, -ENOSPC,
			       "%s: %llu bytes cannot hold a header, a metadata area and one data chunk of %llu bytes",
			       path, (unsigned long long)snapcow_dev_size(cow),
			       (unsigned long long)chunk_bytes);
	buf = calloc(1, chunk_bytes);
	if (!buf)
		return sc_errf(err, errlen, -ENOMEM, "out of memory");
	/* Area first: a crash in between leaves magic 0, still "new". */
	r = snapcow_dev_write(cow, buf, chunk_bytes, chunk_bytes);
	if (!r)
		r = snapcow_dev_flush(cow);
	snapcow_header_encode(&hdr, buf);
	if (!r)
		r = snapcow_dev_write(cow, buf, chunk_bytes, 0);
	if (!r)
		r = snapcow_dev_flush(cow);
	free(buf);
	if (r)
		return sc_errf(err, errlen, r, "%s", snapcow_dev_error(cow));
	return 0;
}

static int store_check_writable(struct snapcow_store *s)
{
	if (!(s->flags & SNAPCOW_STORE_WRITE))
		return sc_store_errf(s, -EBADF, "%s: store loaded read-only",
				     snapcow_dev_path(s->cow));
	if (s->state == SNAPCOW_STATE_INVALID)
		return sc_store_errf(s, -EIO, "%s: snapshot is invalid",
				     snapcow_dev_path(s->cow));
	return 0;
}

/* The kernel formats a new COW when it activates it; so do we. */
int sc_store_format_new(struct snapcow_store *s, char *err, size_t errlen)
{
	int r;

	r = snapcow_store_format(s->cow, s->cs, err, errlen);
	if (r)
		return r;
	s->hdr.magic = SNAPCOW_MAGIC;
	s->hdr.valid = 1;
	s->hdr.version = SNAPCOW_DISK_VERSION;
	s->hdr.chunk_size = s->cs;
	s->state = SNAPCOW_STATE_VALID;
	return 0;
}

int sc_store_alloc_chunk(struct snapcow_store *s, uint64_t *new_chunk)
{
	if ((s->next_free + 1) * s->cs >
	    snapcow_dev_size(s->cow) >> SNAPCOW_SECTOR_SHIFT)
		return -ENOSPC;
	*new_chunk = s->next_free++;
	s->next_free = snapcow_skip_metadata(s->cs, s->next_free);
	return 0;
}

SNAPCOW_EXPORT
int snapcow_store_alloc(struct snapcow_store *s, uint64_t *new_chunk)
{
	int r = store_check_writable(s);

	if (r)
		return r;
	if (s->state == SNAPCOW_STATE_NEW) {
		r = sc_store_format_new(s, s->err, sizeof(s->err));
		if (r)
			return r;
	}
	if (sc_store_alloc_chunk(s, new_chunk))
		return sc_store_errf(s, -ENOSPC,
				     "%s: COW is full (%llu chunks of %u sectors)",
				     snapcow_dev_path(s->cow),
				     (unsigned long long)s->cow_chunks, s->cs);
	return 0;
}

int sc_store_write_area_to(struct snapcow_store *s, const char *what,
			   char *err, size_t errlen)
{
	struct snapcow_dev *cow = s->cow;
	int r;

	/* PREFLUSH: data (and a zeroed next area) before the records. */
	r = snapcow_dev_flush(cow);
	if (!r)
		r = snapcow_dev_write(cow, s->area, s->chunk_bytes,
				      sc_store_area_offset(s, s->current_area));
	/* FUA: the records are durable when we return. */
	if (!r)
		r = snapcow_dev_flush(cow);
	if (r)
		return sc_errf(err, errlen, r, "%s: %s area %llu: %s",
			       snapcow_dev_path(cow), what,
			       (unsigned long long)s->current_area,
			       sc_dev_last_error());
	return 0;
}

int sc_store_write_area(struct snapcow_store *s, const char *what)
{
	return sc_store_write_area_to(s, what, s->err, sizeof(s->err));
}

/* A full area: the next one must be on the device and zeroed first. */
static int store_zero_next_area(struct snapcow_store *s, char *err,
				size_t errlen)
{
	uint64_t next = snapcow_area_chunk(s->cs, s->current_area + 1);
	int r;

	/* zero_disk_area() fails: the kernel invalidates. */
	if (!next || next >= s->cow_chunks)
		return sc_errf(err, errlen, -ENOSPC,
			       "%s: no room for metadata area %llu: snapshot invalidated",
			       snapcow_dev_path(s->cow),
			       (unsigned long long)s->current_area + 1);
	r = write_zero_chunk(s->cow, s->chunk_bytes,
			     sc_store_area_offset(s, s->current_area + 1));
	if (r)
		return sc_errf(err, errlen, r, "%s: zeroing metadata area %llu: %s",
			       snapcow_dev_path(s->cow),
			       (unsigned long long)s->current_area + 1,
			       sc_dev_last_error());
	return 0;
}

int sc_store_commit_to(struct snapcow_store *s, char *err, size_t errlen)
{
	bool full = s->current_committed == s->epa;
	int r;

	if (!s->dirty)
		return 0;
	if (full) {
		r = store_zero_next_area(s, err, errlen);
		if (r)
			return r;
	}
	r = sc_store_write_area_to(s, "committing", err, errlen);
	if (r)
		return r;
	s->dirty = false;
	if (full) {
		s->current_area++;
		s->current_committed = 0;
		memset(s->area, 0, s->chunk_bytes);
	}
	return 0;
}

SNAPCOW_EXPORT
int snapcow_store_commit(struct snapcow_store *s)
{
	int r = sc_store_commit_to(s, s->err, sizeof(s->err));

	if (r == -ENOSPC)
		snapcow_store_invalidate(s);
	return r;
}

int sc_store_append(struct snapcow_store *s, uint64_t old_chunk,
		    uint64_t new_chunk, char *err, size_t errlen)
{
	struct snapcow_record rec = { old_chunk, new_chunk };
	int r;

	/* A full area whose commit failed: commit it before adding more. */
	if (s->current_committed == s->epa) {
		r = sc_store_commit_to(s, err, errlen);
		if (r)
			return r;
	}
	snapcow_record_encode(s->area, s->current_committed++, &rec);
	s->exceptions++;
	s->dirty = true;
	if (s->current_committed == s->epa)
		return sc_store_commit_to(s, err, errlen);
	return 0;
}

SNAPCOW_EXPORT
int snapcow_store_add(struct snapcow_store *s, uint64_t old_chunk,
		      uint64_t new_chunk)
{
	int r = store_check_writable(s);

	if (r)
		return r;
	/* A full area whose commit failed: commit it before adding more. */
	if (s->current_committed == s->epa) {
		r = snapcow_store_commit(s);
		if (r)
			return r;
	}
	r = sc_table_insert(s->table, old_chunk, new_chunk);
	if (r)
		return sc_store_errf(s, r,
				     "%s: cannot add exception %llu -> %llu: %s",
				     snapcow_dev_path(s->cow),
				     (unsigned long long)old_chunk,
				     (unsigned long long)new_chunk,
				     r == -EEXIST ? "chunk already has one" :
						    strerror(-r));
	r = sc_store_append(s, old_chunk, new_chunk, s->err, sizeof(s->err));
	if (r == -ENOSPC)
		snapcow_store_invalidate(s);
	return r;
}

int sc_store_write_invalid(struct snapcow_store *s, char *err, size_t errlen)
{
	struct snapcow_header hdr = {
		.magic = SNAPCOW_MAGIC,
		.valid = 0,
		.version = SNAPCOW_DISK_VERSION,
		.chunk_size = s->cs,
	};
	unsigned char *buf;
	int r;

	if (!snapcow_dev_is_writable(s->cow))
		return sc_errf(err, errlen, -EBADF, "%s: opened read-only",
			       snapcow_dev_path(s->cow));
	/*
	 * The kernel's write_header() memsets the whole header chunk and
	 * writes it: the rest of chunk 0 ends up zero.
	 */
	buf = calloc(1, s->chunk_bytes);
	if (!buf)
		return sc_errf(err, errlen, -ENOMEM, "out of memory");
	snapcow_header_encode(&hdr, buf);
	r = snapcow_dev_write(s->cow, buf, s->chunk_bytes, 0);
	free(buf);
	if (!r)
		r = snapcow_dev_flush(s->cow);
	if (r)
		return sc_errf(err, errlen, r, "%s: invalidating: %s",
			       snapcow_dev_path(s->cow), sc_dev_last_error());
	return 0;
}

void sc_store_mark_invalid(struct snapcow_store *s)
{
	s->hdr.magic = SNAPCOW_MAGIC;
	s->hdr.valid = 0;
	s->hdr.version = SNAPCOW_DISK_VERSION;
	s->hdr.chunk_size = s->cs;
	s->state = SNAPCOW_STATE_INVALID;
}

SNAPCOW_EXPORT
int snapcow_store_invalidate(struct snapcow_store *s)
{
	int r = sc_store_write_invalid(s, s->err, sizeof(s->err));

	sc_store_mark_invalid(s);
	return r;
}
