// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Snapshot reads and writes, as the kernel's snapshot_map: a chunk being
 * copied is waited for (the 2008 fix: a read never returns an origin
 * write that raced with its copy); a chunk read from the origin is
 * counted, so that an origin write does not overwrite it under the read;
 * a write to a chunk with no exception allocates one, filling it from the
 * origin unless the write covers the whole chunk.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"
#include "engine.h"
#include "util.h"

/* Lock held.  Registers the caller as a user of the snapshot. */
static int eng_snap_enter(struct snapcow_origin *o,
			  const struct snapcow_store *s, bool write,
			  struct eng_snap **snp, char *err, size_t errlen)
{
	struct eng_snap *sn = eng_find_snap(o, s);

	if (!sn)
		return sc_errf(err, errlen, -ENODEV, "%s: not a snapshot of %s",
			       snapcow_dev_path(s->cow),
			       snapcow_dev_path(o->dev));
	if (write && !sn->writable)
		return sc_errf(err, errlen, -EBADF,
			       "%s: store loaded read-only",
			       snapcow_dev_path(s->cow));
	sn->users++;
	*snp = sn;
	return 0;
}

static void eng_snap_leave(struct snapcow_origin *o, struct eng_snap *sn)
{
	if (!--sn->users)
		eng_wake(o);
	pthread_mutex_unlock(&o->lock);
}

/*
 * Lock held: wait until @chunk is not being copied and the snapshot is
 * settled.  Invalid snapshots fail reads with -EIO and writes with
 * -EROFS (DATA PROTECT).
 */
static int eng_snap_wait_chunk(struct snapcow_origin *o, struct eng_snap *sn,
			       uint64_t chunk, bool write, char *err,
			       size_t errlen)
{
	struct eng_chunk *ent;

	for (;;) {
		eng_wait_settled(o, sn);
		if (sn->state != ENG_LIVE)
			return sc_errf(err, errlen, write ? -EROFS : -EIO,
				       "%s: snapshot is invalid",
				       snapcow_dev_path(sn->s->cow));
		ent = eng_chunk_find(o, sn, chunk);
		if (!ent || !ent->pe)
			return 0;
		o->stats.waits++;
		eng_wait(o);
	}
}

static int eng_read_cow(struct snapcow_origin *o, struct eng_snap *sn,
			void *p, size_t n, uint64_t at, char *err,
			size_t errlen)
{
	int r;

	pthread_mutex_unlock(&o->lock);
	r = snapcow_dev_read(sn->s->cow, p, n, at);
	pthread_mutex_lock(&o->lock);
	if (r)
		return sc_errf(err, errlen, r, "reading COW: %s",
			       sc_dev_last_error());
	return 0;
}

/* Count the read on every chunk of the run it takes from the origin. */
static size_t eng_hold_run(struct snapcow_origin *o, struct eng_snap *sn,
			   size_t len, uint64_t offset)
{
	uint64_t cb = sn->chunk_bytes, nc;
	size_t n = 0;

	while (n < len) {
		uint64_t c = (offset + n) / cb;
		struct eng_chunk *ent;

		/* The first chunk was checked by the caller. */
		if (n) {
			ent = eng_chunk_find(o, sn, c);
			if ((ent && ent->pe) || eng_lookup(sn, c, &nc))
				break;
		}
		ent = eng_chunk_get(o, sn, c);
		if (!ent)
			break;
		ent->readers++;
		n += MIN(len - n, cb - (offset + n) % cb);
	}
	return n;
}

static void eng_drop_run(struct snapcow_origin *o, struct eng_snap *sn,
			 size_t n, uint64_t offset)
{
	uint64_t cb = sn->chunk_bytes;
	uint64_t last = (offset + n - 1) / cb;

	for (uint64_t c = offset / cb; c <= last; c++) {
		struct eng_chunk *ent = eng_chunk_find(o, sn, c);

		/* An origin write waits for the last reader. */
		if (!--ent->readers && ent->pe)
			eng_wake(o);
		eng_chunk_put(o, ent);
	}
}

static int eng_read_origin(struct snapcow_origin *o, struct eng_snap *sn,
			   unsigned char *p, size_t len, uint64_t offset,
			   size_t *done, char *err, size_t errlen)
{
	size_t n = eng_hold_run(o, sn, len, offset);
	int r;

	if (!n)
		return sc_errf(err, errlen, -ENOMEM, "out of memory");
	pthread_mutex_unlock(&o->lock);
	r = snapcow_dev_read(o->dev, p, n, offset);
	pthread_mutex_lock(&o->lock);
	eng_drop_run(o, sn, n, offset);
	if (r)
		return sc_errf(err, errlen, r, "reading origin: %s",
			       sc_dev_last_error());
	*done = n;
	return 0;
}

static int eng_read_piece(struct snapcow_origin *o, struct eng_snap *sn,
			  unsigned char *p, size_t len, uint64_t offset,
			  size_t *done, char *err, size_t errlen)
{
	uint64_t cb = sn->chunk_bytes, chunk = offset / cb, nc;
	int r;

	r = eng_snap_wait_chunk(o, sn, chunk, false, err, errlen);
	if (r)
		return r;
	if (!eng_lookup(sn, chunk, &nc))
		return eng_read_origin(o, sn, p, len, offset, done, err,
				       errlen);
	*done = MIN(len, cb - offset % cb);
	return eng_read_cow(o, sn, p, *done, nc * cb + offset % cb, err,
			    errlen);
}

SNAPCOW_EXPORT
int snapcow_snap_pread(struct snapcow_origin *o, struct snapcow_store *s,
		       void *buf, size_t len, uint64_t offset, char *err,
		       size_t errlen)
{
	unsigned char *p = buf;
	struct eng_snap *sn;
	size_t n = 0;
	int r;

	r = eng_check_range(o, len, offset, err, errlen);
	if (r)
		return r;
	pthread_mutex_lock(&o->lock);
	r = eng_snap_enter(o, s, false, &sn, err, errlen);
	if (r) {
		pthread_mutex_unlock(&o->lock);
		return r;
	}
	/* Each piece waits for its chunk's copy. */
	while (!r && len) {
		r = eng_read_piece(o, sn, p, len, offset, &n, err, errlen);
		p += n;
		offset += n;
		len -= n;
	}
	eng_snap_leave(o, sn);
	return r;
}

/* Lock dropped: the new chunk's contents, then its commit. */
static int eng_fill_new(struct snapcow_origin *o, struct eng_pending *pe,
			const void *data, size_t n, uint64_t within,
			char *err, size_t errlen)
{
	struct eng_snap *sn = pe->snap;
	uint64_t span = eng_chunk_span(o, sn, pe->old_chunk);
	uint64_t at = pe->new_chunk * sn->chunk_bytes;
	unsigned char *buf;
	int r;

	/* A write covering the chunk needs no copy of the origin. */
	if (n == span) {
		r = snapcow_dev_write(sn->s->cow, data, n, at);
		goto out;
	}
	buf = malloc(span);
	if (!buf)
		return sc_errf(err, errlen, -ENOMEM, "out of memory");
	r = snapcow_dev_read(o->dev, buf, span,
			     pe->old_chunk * sn->chunk_bytes);
	if (!r) {
		memcpy(buf + within, data, n);
		r = snapcow_dev_write(sn->s->cow, buf, span, at);
	}
	free(buf);
out:
	if (r)
		return sc_errf(err, errlen, r,
			       "filling COW chunk %llu for origin chunk %llu: %s",
			       (unsigned long long)pe->new_chunk,
			       (unsigned long long)pe->old_chunk,
			       sc_dev_last_error());
	return 0;
}

static int eng_write_full(struct snapcow_origin *o, struct eng_snap *sn,
			  char *err, size_t errlen)
{
	const char *path = snapcow_dev_path(sn->s->cow);

	/* PO: overflow is the write's failure, not the snapshot's. */
	if (sn->s->flags & SNAPCOW_STORE_OVERFLOW)
		return sc_errf(err, errlen, -ENOSPC, "%s: COW is full", path);
	eng_invalidate(o, sn);
	return sc_errf(err, errlen, -ENOSPC,
		       "%s: COW is full: snapshot invalidated", path);
}

static int eng_write_new(struct snapcow_origin *o, struct eng_snap *sn,
			 const void *data, size_t n, uint64_t offset,
			 char *err, size_t errlen)
{
	uint64_t chunk = offset / sn->chunk_bytes;
	struct eng_pending pe;
	int r;

	r = eng_alloc(o, sn, chunk, &pe);
	if (r == -ENOSPC)
		return eng_write_full(o, sn, err, errlen);
	if (r)
		return sc_errf(err, errlen, r, "out of memory");
	pthread_mutex_unlock(&o->lock);
	r = eng_fill_new(o, &pe, data, n, offset % sn->chunk_bytes, err,
			 errlen);
	pthread_mutex_lock(&o->lock);
	r = eng_complete(o, &pe, r, err, errlen);
	pe.ent->pe = NULL;
	eng_chunk_put(o, pe.ent);
	eng_wake(o);
	if (r == -ECANCELED)
		return sc_errf(err, errlen, -EROFS,
			       "%s: snapshot was invalidated",
			       snapcow_dev_path(sn->s->cow));
	return r;
}

/* Lock held.  *@inplace: the data went to an existing exception. */
static int eng_write_piece(struct snapcow_origin *o, struct eng_snap *sn,
			   const void *data, size_t n, uint64_t offset,
			   bool *inplace, char *err, size_t errlen)
{
	uint64_t cb = sn->chunk_bytes, nc;
	int r;

	r = eng_snap_wait_chunk(o, sn, offset / cb, true, err, errlen);
	if (r)
		return r;
	if (!eng_lookup(sn, offset / cb, &nc))
		return eng_write_new(o, sn, data, n, offset, err, errlen);
	*inplace = true;
	pthread_mutex_unlock(&o->lock);
	r = snapcow_dev_write(sn->s->cow, data, n, nc * cb + offset % cb);
	pthread_mutex_lock(&o->lock);
	if (r)
		return sc_errf(err, errlen, r, "writing COW: %s",
			       sc_dev_last_error());
	return 0;
}

/* Records are durable already; data written in place needs the flush. */
static int eng_snap_fua(struct snapcow_origin *o, struct eng_snap *sn,
			char *err, size_t errlen)
{
	int r;

	pthread_mutex_unlock(&o->lock);
	r = snapcow_dev_flush(sn->s->cow);
	pthread_mutex_lock(&o->lock);
	if (r)
		return sc_errf(err, errlen, r, "%s", sc_dev_last_error());
	return 0;
}

SNAPCOW_EXPORT
int snapcow_snap_pwrite(struct snapcow_origin *o, struct snapcow_store *s,
			const void *buf, size_t len, uint64_t offset,
			unsigned int flags, char *err, size_t errlen)
{
	const unsigned char *p = buf;
	bool inplace = false;
	struct eng_snap *sn;
	int r;

	r = eng_check_range(o, len, offset, err, errlen);
	if (r)
		return r;
	pthread_mutex_lock(&o->lock);
	r = eng_snap_enter(o, s, true, &sn, err, errlen);
	if (r) {
		pthread_mutex_unlock(&o->lock);
		return r;
	}
	/* Each piece waits for its chunk's copy. */
	while (!r && len) {
		size_t n = MIN(len, sn->chunk_bytes - offset % sn->chunk_bytes);

		r = eng_write_piece(o, sn, p, n, offset, &inplace, err,
				    errlen);
		p += n;
		offset += n;
		len -= n;
	}
	if (!r && inplace && (flags & SNAPCOW_IO_FUA))
		r = eng_snap_fua(o, sn, err, errlen);
	eng_snap_leave(o, sn);
	return r;
}
