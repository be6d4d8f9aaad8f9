// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * snapcow_export: the snapshot's point-in-time image, written in order
 * through the engine's snapshot read, so the tools read it exactly as
 * the daemon serves it.  With SNAPCOW_EXPORT_SPARSE the image keeps the
 * origin's holes: origin holes with no snapshot chunk are not read, and
 * blocks of zeros are not written.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"
#include "engine.h"
#include "store.h"
#include "util.h"

/*
 * 128 KiB, as cp's buffer: the read's copy and the write's copy of a
 * block stay in the CPU's cache (1 MiB blocks made export half as fast
 * as cp on an allocated origin).
 */
#define EXPORT_BLOCK_BYTES	((uint64_t)128 << 10)
/*
 * Written-back behind the copy, so the final flush waits for little:
 * without it, the flush of a 1 GiB image cost as much as half the copy.
 */
#define EXPORT_WRITEBACK_BYTES	((uint64_t)8 << 20)
/* Holes are made in file system blocks. */
#define EXPORT_ZERO_BYTES	4096u

struct export {
	struct snapcow_origin *o;
	struct snapcow_store *s;
	struct snapcow_dev *origin, *out;
	bool sparse;
	unsigned char *buf;
	uint64_t block, size;
	uint64_t next_data;		/* of the origin, from next_data_at */
	uint64_t next_data_at;		/* UINT64_MAX: not asked yet */
	char *err;
	size_t errlen;
};

static bool all_zero(const unsigned char *p, size_t n)
{
	return !p[0] && !memcmp(p, p + 1, n - 1);
}

/* A hole of the origin that the snapshot lays no chunk over. */
static bool export_skips(struct export *e, uint64_t offset, uint64_t n)
{
	uint64_t cb = e->s->chunk_bytes, c, dummy;

	if (!e->sparse)
		return false;
	if (e->next_data < offset || e->next_data_at > offset) {
		e->next_data = snapcow_dev_next_data(e->origin, offset);
		e->next_data_at = offset;
	}
	if (e->next_data < offset + n)
		return false;
	for (c = offset / cb; c <= (offset + n - 1) / cb; c++)
		if (snapcow_store_lookup(e->s, c, &dummy))
			return false;
	return true;
}

static int export_write(struct export *e, size_t from, size_t len,
			uint64_t offset)
{
	int r = snapcow_dev_write(e->out, e->buf + from, len, offset + from);

	if (r)
		return sc_errf(e->err, e->errlen, r, "writing image: %s",
			       snapcow_dev_error(e->out));
	return 0;
}

/* Sparse: only the runs of blocks that are not all zero. */
static int export_put(struct export *e, size_t n, uint64_t offset)
{
	size_t at, step, run = 0;
	int r = 0;

	if (!e->sparse)
		return export_write(e, 0, n, offset);
	for (at = 0; at < n && !r; at += step) {
		step = MIN(EXPORT_ZERO_BYTES, n - at);
		if (!all_zero(e->buf + at, step))
			continue;
		if (at > run)
			r = export_write(e, run, at - run, offset);
		run = at + step;
	}
	if (!r && n > run)
		r = export_write(e, run, n - run, offset);
	return r;
}

static int export_blocks(struct export *e, snapcow_progress_fn progress,
			 void *ctx)
{
	uint64_t offset;
	size_t n;
	int r = 0;

	for (offset = 0; offset < e->size && !r; offset += n) {
		n = (size_t)MIN(e->block, e->size - offset);
		if (!export_skips(e, offset, n)) {
			r = snapcow_snap_pread(e->o, e->s, e->buf, n, offset,
					       e->err, e->errlen);
			r = r ?: export_put(e, n, offset);
		}
		if (!r && (offset + n) % EXPORT_WRITEBACK_BYTES == 0)
			snapcow_dev_start_writeback(e->out, offset + n -
						    EXPORT_WRITEBACK_BYTES,
						    EXPORT_WRITEBACK_BYTES);
		if (!r && progress)
			progress(ctx, offset + n, e->size);
	}
	if (r)
		return r;
	r = snapcow_dev_flush(e->out);
	if (r)
		return sc_errf(e->err, e->errlen, r, "%s",
			       snapcow_dev_error(e->out));
	return 0;
}

SNAPCOW_EXPORT
int snapcow_export(struct snapcow_dev *origin, struct snapcow_store *s,
		   struct snapcow_dev *out, unsigned int flags,
		   snapcow_progress_fn progress, void *ctx, char *err,
		   size_t errlen)
{
	struct export e = {
		.s = s, .origin = origin, .out = out,
		.sparse = flags & SNAPCOW_EXPORT_SPARSE,
		.block = MAX(s->chunk_bytes, EXPORT_BLOCK_BYTES),
		.size = snapcow_dev_size(origin), .err = err,
		.errlen = errlen,
		/* Nothing known of the origin's holes yet. */
		.next_data_at = UINT64_MAX,
	};
	int r;

	if (snapcow_dev_size(out) < e.size)
		return sc_errf(err, errlen, -ENOSPC,
			       "%s: %llu bytes is smaller than the origin (%llu bytes)",
			       snapcow_dev_path(out),
			       (unsigned long long)snapcow_dev_size(out),
			       (unsigned long long)e.size);
	e.buf = malloc(e.block);
	if (!e.buf)
		return sc_errf(err, errlen, -ENOMEM, "out of memory");
	r = sc_offline_origin(origin, &s, 1, false, &e.o, err, errlen);
	if (!r) {
		r = export_blocks(&e, progress, ctx);
		snapcow_origin_free(e.o);
	}
	free(e.buf);
	return r;
}
