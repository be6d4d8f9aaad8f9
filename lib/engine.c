// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The copy-on-write engine: what dm-snapshot does for origin writes,
 * snapshot reads and snapshot writes, on devices we hold offline.
 * Single-threaded: callers serialise access to a store.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"
#include "store.h"
#include "util.h"

static int engine_check_range(struct snapcow_dev *origin, size_t len,
			      uint64_t offset)
{
	uint64_t size = snapcow_dev_size(origin);

	if (offset > size || len > size - offset)
		return sc_dev_errf(origin, -ENOSPC,
				   "%s: I/O of %zu bytes at offset %llu is past the origin's end (%llu bytes)",
				   snapcow_dev_path(origin), len,
				   (unsigned long long)offset,
				   (unsigned long long)size);
	return 0;
}

/* Bytes of chunk @chunk that lie on the origin (the last may be short). */
static uint64_t chunk_span(const struct snapcow_store *s,
			   struct snapcow_dev *origin, uint64_t chunk)
{
	uint64_t start = chunk * s->chunk_bytes;

	return MIN(s->chunk_bytes, snapcow_dev_size(origin) - start);
}

static int engine_store_err(struct snapcow_store *s, int r, const char *what,
			    struct snapcow_dev *dev)
{
	return sc_store_errf(s, r, "%s: %s", what, snapcow_dev_error(dev));
}

/* Copy origin chunk @chunk into a newly allocated COW chunk. */
static int copy_out_chunk(struct snapcow_store *s, struct snapcow_dev *origin,
			  uint64_t chunk, void *buf)
{
	uint64_t span = chunk_span(s, origin, chunk);
	uint64_t new_chunk;
	int r;

	r = snapcow_store_alloc(s, &new_chunk);
	if (r)
		return r;
	r = snapcow_dev_read(origin, buf, span, chunk * s->chunk_bytes);
	if (r)
		return engine_store_err(s, r, "copying origin chunk", origin);
	r = snapcow_dev_write(s->cow, buf, span, new_chunk * s->chunk_bytes);
	if (r)
		return engine_store_err(s, r, "copying to COW", s->cow);
	return snapcow_store_add(s, chunk, new_chunk);
}

/* Preserve every chunk of [offset, offset+len) that @s has not saved. */
static int origin_write_one(struct snapcow_store *s, struct snapcow_dev *origin,
			    size_t len, uint64_t offset)
{
	uint64_t first, last, chunk, dummy;
	void *buf;
	int r = 0;

	if (s->state == SNAPCOW_STATE_INVALID || !len)
		return 0;
	buf = malloc(s->chunk_bytes);
	if (!buf)
		return sc_store_errf(s, -ENOMEM, "out of memory");
	first = offset / s->chunk_bytes;
	last = (offset + len - 1) / s->chunk_bytes;
	for (chunk = first; chunk <= last; chunk++) {
		if (snapcow_store_lookup(s, chunk, &dummy))
			continue;
		r = copy_out_chunk(s, origin, chunk, buf);
		if (r)
			break;
	}
	free(buf);
	if (r == -ENOSPC) {
		/* An origin write that finds no room always invalidates. */
		snapcow_store_invalidate(s);
		return r;
	}
	if (r)
		return r;
	return snapcow_store_commit(s);
}

SNAPCOW_EXPORT
int snapcow_origin_write(struct snapcow_dev *origin,
			 struct snapcow_store *const *snaps, unsigned int nsnaps,
			 const void *buf, size_t len, uint64_t offset)
{
	unsigned int i;
	int r;

	r = engine_check_range(origin, len, offset);
	if (r)
		return r;
	for (i = 0; i < nsnaps; i++) {
		r = origin_write_one(snaps[i], origin, len, offset);
		/* A full snapshot is invalidated; the origin write goes on. */
		if (r && r != -ENOSPC)
			return sc_dev_errf(origin, r, "%s",
					   snapcow_store_error(snaps[i]));
	}
	return snapcow_dev_write(origin, buf, len, offset);
}

static int snapshot_check(struct snapcow_store *s, struct snapcow_dev *origin,
			  size_t len, uint64_t offset)
{
	int r = engine_check_range(origin, len, offset);

	if (r)
		return sc_store_errf(s, r, "%s", snapcow_dev_error(origin));
	if (s->state == SNAPCOW_STATE_INVALID)
		return sc_store_errf(s, -EIO, "%s: snapshot is invalid",
				     snapcow_dev_path(s->cow));
	return 0;
}

/* Bytes from @offset (up to @len) whose chunks have no exception. */
static size_t unmapped_span(const struct snapcow_store *s, size_t len,
			    uint64_t offset)
{
	size_t n = 0;
	uint64_t dummy;

	while (n < len) {
		uint64_t at = offset + n;

		if (snapcow_store_lookup(s, at / s->chunk_bytes, &dummy))
			break;
		n += MIN(len - n, s->chunk_bytes - at % s->chunk_bytes);
	}
	return n;
}

static int snapshot_read_piece(struct snapcow_dev *origin,
			       struct snapcow_store *s, unsigned char *p,
			       size_t len, uint64_t offset, size_t *done)
{
	uint64_t within = offset % s->chunk_bytes;
	uint64_t new_chunk;
	size_t n;
	int r;

	if (snapcow_store_lookup(s, offset / s->chunk_bytes, &new_chunk)) {
		n = MIN(len, s->chunk_bytes - within);
		r = snapcow_dev_read(s->cow, p, n,
				     new_chunk * s->chunk_bytes + within);
		if (r)
			return engine_store_err(s, r, "reading COW", s->cow);
	} else {
		/* Unchanged chunks in a row come from the origin at once. */
		n = unmapped_span(s, len, offset);
		r = snapcow_dev_read(origin, p, n, offset);
		if (r)
			return engine_store_err(s, r, "reading origin", origin);
	}
	*done = n;
	return 0;
}

SNAPCOW_EXPORT
int snapcow_snapshot_read(struct snapcow_dev *origin, struct snapcow_store *s,
			  void *buf, size_t len, uint64_t offset)
{
	unsigned char *p = buf;
	size_t n = 0;
	int r;

	r = snapshot_check(s, origin, len, offset);
	while (!r && len) {
		r = snapshot_read_piece(origin, s, p, len, offset, &n);
		p += n;
		offset += n;
		len -= n;
	}
	return r;
}

/* A snapshot write to a chunk with no exception yet. */
static int snapshot_write_new(struct snapcow_store *s,
			      struct snapcow_dev *origin, uint64_t chunk,
			      const void *data, size_t n, uint64_t within,
			      void *buf)
{
	uint64_t span = chunk_span(s, origin, chunk);
	uint64_t new_chunk;
	int r;

	r = snapcow_store_alloc(s, &new_chunk);
	if (r)
		return r;
	/* A write covering the chunk needs no copy of the origin. */
	if (n < span) {
		r = snapcow_dev_read(origin, buf, span,
				     chunk * s->chunk_bytes);
		if (r)
			return engine_store_err(s, r, "copying origin chunk",
						origin);
	}
	memcpy((unsigned char *)buf + within, data, n);
	r = snapcow_dev_write(s->cow, buf, span, new_chunk * s->chunk_bytes);
	if (r)
		return engine_store_err(s, r, "writing COW", s->cow);
	return snapcow_store_add(s, chunk, new_chunk);
}

static int snapshot_write_chunk(struct snapcow_store *s,
				struct snapcow_dev *origin, const void *data,
				size_t n, uint64_t offset, void *buf)
{
	uint64_t chunk = offset / s->chunk_bytes;
	uint64_t within = offset % s->chunk_bytes;
	uint64_t new_chunk;
	int r;

	if (!snapcow_store_lookup(s, chunk, &new_chunk))
		return snapshot_write_new(s, origin, chunk, data, n, within,
					  buf);
	r = snapcow_dev_write(s->cow, data, n,
			      new_chunk * s->chunk_bytes + within);
	if (r)
		return engine_store_err(s, r, "writing COW", s->cow);
	return 0;
}

SNAPCOW_EXPORT
int snapcow_snapshot_write(struct snapcow_dev *origin, struct snapcow_store *s,
			   const void *data, size_t len, uint64_t offset)
{
	const unsigned char *p = data;
	void *buf;
	int r;

	r = snapshot_check(s, origin, len, offset);
	if (r)
		return r;
	buf = malloc(s->chunk_bytes);
	if (!buf)
		return sc_store_errf(s, -ENOMEM, "out of memory");
	while (len) {
		size_t n = MIN(len, s->chunk_bytes - offset % s->chunk_bytes);

		r = snapshot_write_chunk(s, origin, p, n, offset, buf);
		if (r)
			break;
		p += n;
		offset += n;
		len -= n;
	}
	free(buf);
	if (r == -ENOSPC && !(s->flags & SNAPCOW_STORE_OVERFLOW))
		snapcow_store_invalidate(s);
	if (r)
		return r;
	/* Data written above is flushed before the records that name it. */
	r = snapcow_store_commit(s);
	if (!r)
		r = snapcow_dev_flush(s->cow);
	return r;
}

SNAPCOW_EXPORT
int snapcow_export(struct snapcow_dev *origin, struct snapcow_store *s,
		   struct snapcow_dev *out, snapcow_progress_fn progress,
		   void *ctx)
{
	uint64_t size = snapcow_dev_size(origin);
	uint64_t block = MAX(s->chunk_bytes, (uint64_t)1 << 20);
	uint64_t offset;
	void *buf;
	int r = 0;

	if (snapcow_dev_size(out) < size)
		return sc_store_errf(s, -ENOSPC,
				     "%s: %llu bytes is smaller than the origin (%llu bytes)",
				     snapcow_dev_path(out),
				     (unsigned long long)snapcow_dev_size(out),
				     (unsigned long long)size);
	buf = malloc(block);
	if (!buf)
		return sc_store_errf(s, -ENOMEM, "out of memory");
	for (offset = 0; offset < size && !r; offset += block) {
		size_t n = MIN(block, size - offset);

		r = snapcow_snapshot_read(origin, s, buf, n, offset);
		if (!r) {
			r = snapcow_dev_write(out, buf, n, offset);
			if (r)
				r = engine_store_err(s, r, "writing image", out);
		}
		if (progress)
			progress(ctx, offset + n, size);
	}
	free(buf);
	if (!r)
		r = snapcow_dev_flush(out);
	if (r && !s->err[0])
		sc_store_errf(s, r, "%s", snapcow_dev_error(out));
	return r;
}
