// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Offline snapshot merge, step for step what dm-snap.c's
 * snapshot_merge_next_chunks() and merge_callback() do: take the run at
 * the list's end (store-merge.c), write it to the origin through the
 * engine, so that every other snapshot of the origin (and the undo
 * backup) copies out what is overwritten first, flush the origin, then
 * commit the merge in the COW.  Nothing is dropped from the COW before
 * the origin holds it durably, so a merge stopped anywhere resumes.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"
#include "dev-storage.h"
#include "store.h"
#include "util.h"

/* Big enough for few syscalls, small enough for a run of 65536 chunks. */
#define MERGE_BUF_BYTES	((uint64_t)1 << 20)

struct merge {
	struct snapcow_dev *origin;
	struct snapcow_store *s;
	const struct snapcow_merge_opts *opts;
	struct snapcow_store **snaps;	/* others, then the backup */
	unsigned int nsnaps;
	unsigned char *buf;
	uint64_t buf_bytes;
	uint64_t total;			/* records at the start */
	struct snapcow_merge_result res;
	char *err;			/* the caller's */
	size_t errlen;
};

SNAPCOW_EXPORT
uint64_t snapcow_merge_backup_bytes(const struct snapcow_store *s)
{
	uint64_t chunks = s->exceptions;
	/* A full last area needs the next one zeroed on the device. */
	uint64_t n = MAX(chunks + chunks / s->epa + 3, 3);

	while (snapcow_cow_capacity(s->cs, n * s->chunk_bytes) < chunks)
		n++;
	return n * s->chunk_bytes;
}

static int merge_distinct(struct merge *m, struct snapcow_dev *dev,
			  const char *role)
{
	struct snapcow_store *s = m->s;
	char msg[SNAPCOW_ERRBUF_SIZE];
	int r;

	r = sc_storage_refuse(dev, role, m->origin, "origin", "a merge "
			      "writes the origin", msg, sizeof(msg));
	r = r ?: sc_storage_refuse(dev, role, s->cow, "COW being merged",
				   "a merge writes the COW", msg,
				   sizeof(msg));
	return r ? sc_errf(m->err, m->errlen, r, "%s", msg) : 0;
}

struct need_ctx {
	const struct snapcow_store *backup;
	uint64_t need;
};

static int count_unsaved(void *ctx, uint64_t old_chunk, uint64_t new_chunk,
			 uint64_t count)
{
	struct need_ctx *nc = ctx;
	uint64_t c, dummy;

	(void)new_chunk;
	for (c = old_chunk; c - old_chunk < count; c++)
		if (!snapcow_store_lookup(nc->backup, c, &dummy))
			nc->need++;
	return 0;
}

/* Allocate @need chunks on paper, as snapcow_store_alloc and commit do. */
static bool backup_has_room(const struct snapcow_store *b, uint64_t need)
{
	uint64_t sectors = snapcow_dev_size(b->cow) >> SNAPCOW_SECTOR_SHIFT;
	uint64_t nf = b->next_free, used = b->current_committed;
	uint64_t area = b->current_area;

	for (; need; need--) {
		if ((nf + 1) * b->cs > sectors)
			return false;
		nf = snapcow_skip_metadata(b->cs, nf + 1);
		if (++used < b->epa)
			continue;
		if (snapcow_area_chunk(b->cs, ++area) >= b->cow_chunks)
			return false;
		used = 0;
	}
	return true;
}

static int merge_check_backup(struct merge *m, struct snapcow_store *b)
{
	struct snapcow_store *s = m->s;
	struct need_ctx nc = { b, 0 };
	int r = merge_distinct(m, b->cow, "backup");

	if (r)
		return r;
	if (b->state == SNAPCOW_STATE_INVALID || !(b->flags &
						   SNAPCOW_STORE_WRITE))
		return sc_errf(m->err, m->errlen, -EINVAL,
			       "%s: backup is %s", snapcow_dev_path(b->cow),
			       b->state == SNAPCOW_STATE_INVALID ?
			       "invalid" : "loaded read-only");
	if (b->cs != s->cs)
		return sc_errf(m->err, m->errlen, -EINVAL,
			       "%s: backup chunk size %u sectors differs from the snapshot's %u sectors",
			       snapcow_dev_path(b->cow), b->cs, s->cs);
	r = sc_merge_prove_backup(s, m->origin, b, m->err, m->errlen);
	if (r)
		return r;
	sc_table_foreach(s->table, count_unsaved, &nc);
	if (!backup_has_room(b, nc.need))
		return sc_errf(m->err, m->errlen, -ENOSPC,
			       "%s: backup cannot hold the %llu chunks the merge overwrites (needs %llu bytes when new)",
			       snapcow_dev_path(b->cow),
			       (unsigned long long)nc.need,
			       (unsigned long long)snapcow_merge_backup_bytes(s));
	return 0;
}

SNAPCOW_EXPORT
int snapcow_merge_check_backup(struct snapcow_dev *origin,
			       struct snapcow_store *s,
			       struct snapcow_store *backup, char *err,
			       size_t errlen)
{
	struct merge m = { .origin = origin, .s = s, .err = err,
			   .errlen = errlen };

	return merge_check_backup(&m, backup);
}

static int merge_setup(struct merge *m)
{
	const struct snapcow_merge_opts *o = m->opts;
	struct snapcow_store *s = m->s;
	char msg[SNAPCOW_ERRBUF_SIZE];
	unsigned int i;
	int r;

	if (!snapcow_dev_is_writable(m->origin))
		return sc_errf(m->err, m->errlen, -EBADF,
			       "%s: origin opened read-only",
			       snapcow_dev_path(m->origin));
	r = sc_storage_refuse(m->origin, "origin", s->cow, "COW", "a merge "
			      "copies from the COW to the origin", msg,
			      sizeof(msg));
	if (r)
		return sc_errf(m->err, m->errlen, r, "%s", msg);
	m->snaps = calloc(o->nothers + 1u, sizeof(*m->snaps));
	m->buf_bytes = MAX(s->chunk_bytes, MERGE_BUF_BYTES);
	m->buf = malloc(m->buf_bytes);
	if (!m->snaps || !m->buf)
		return sc_errf(m->err, m->errlen, -ENOMEM, "out of memory");
	for (i = 0; i < o->nothers; i++) {
		r = merge_distinct(m, o->others[i]->cow, "other snapshot");
		if (r)
			return r;
		m->snaps[m->nsnaps++] = o->others[i];
	}
	if (!o->backup)
		return 0;
	r = merge_check_backup(m, o->backup);
	if (r)
		return r;
	m->snaps[m->nsnaps++] = o->backup;
	return 0;
}

/* dm-snap.c clips the copy at the origin's end; a COW chunk must exist. */
static int merge_check_run(struct merge *m, uint64_t old_chunk,
			   uint64_t new_chunk, uint64_t n)
{
	struct snapcow_store *s = m->s;
	uint64_t size = snapcow_dev_size(m->origin);

	if (old_chunk >= (size + s->chunk_bytes - 1) / s->chunk_bytes)
		return sc_errf(m->err, m->errlen, -ERANGE,
			       "%s: record %llu -> %llu: origin chunk past the origin's end (%llu bytes); run snapcheck",
			       snapcow_dev_path(s->cow),
			       (unsigned long long)old_chunk,
			       (unsigned long long)new_chunk,
			       (unsigned long long)size);
	if (new_chunk >= s->cow_chunks || n > s->cow_chunks - new_chunk)
		return sc_errf(m->err, m->errlen, -ERANGE,
			       "%s: record %llu -> %llu: COW chunk past the COW's end; run snapcheck",
			       snapcow_dev_path(s->cow),
			       (unsigned long long)old_chunk,
			       (unsigned long long)new_chunk);
	return 0;
}

static int merge_piece(struct merge *m, uint64_t src, uint64_t dst,
		       size_t len)
{
	struct snapcow_store *s = m->s;
	char msg[SNAPCOW_ERRBUF_SIZE];
	int r;

	r = snapcow_dev_read(s->cow, m->buf, len, src);
	if (r)
		return sc_errf(m->err, m->errlen, r, "reading COW: %s",
			       snapcow_dev_error(s->cow));
	r = snapcow_origin_write(m->origin, m->snaps, m->nsnaps, m->buf, len,
				 dst, msg, sizeof(msg));
	if (r)
		return sc_errf(m->err, m->errlen, r, "writing origin: %s",
			       msg);
	m->res.bytes += len;
	return 0;
}

/* Copy the run to the origin; only the bytes that lie on the origin. */
static int merge_copy(struct merge *m, uint64_t old_chunk, uint64_t new_chunk,
		      uint64_t n)
{
	uint64_t cb = m->s->chunk_bytes;
	uint64_t dst = old_chunk * cb, src = new_chunk * cb;
	uint64_t len = MIN(n * cb, snapcow_dev_size(m->origin) - dst);
	uint64_t done, piece;
	int r = 0;

	for (done = 0; done < len && !r; done += piece) {
		piece = MIN(m->buf_bytes, len - done);
		r = merge_piece(m, src + done, dst + done, piece);
	}
	return r;
}

/* A backup that lost its undo data must stop the merge. */
static int merge_check_after(struct merge *m)
{
	struct snapcow_store *b = m->opts->backup;

	if (!b || b->state != SNAPCOW_STATE_INVALID)
		return 0;
	return sc_errf(m->err, m->errlen, -ENOSPC,
		       "%s: backup invalidated: merge stopped",
		       snapcow_dev_path(b->cow));
}

static bool merge_steps_left(const struct merge *m)
{
	return !m->opts->max_steps || m->res.steps < m->opts->max_steps;
}

/*
 * One snapshot_merge_next_chunks(): copy the run at the end of what the
 * batch has not taken yet to the origin, then take it.  1 taken, 0 none
 * left, or a negative errno.
 */
static int merge_run_one(struct merge *m, struct sc_merge_batch *b)
{
	const struct snapcow_merge_opts *o = m->opts;
	struct snapcow_store *s = m->s;
	uint64_t last_old, last_new, first_old, first_new, n;
	int r;

	r = sc_store_batch_peek(s, b, &last_old, &last_new);
	if (r <= 0)
		return r ? sc_errf(m->err, m->errlen, r, "%s", s->err) : 0;
	n = (uint64_t)r;
	first_old = last_old + 1 - n;
	first_new = last_new + 1 - n;
	r = merge_check_run(m, first_old, first_new, n);
	if (!r && o->step)
		r = o->step(o->ctx, first_old, first_new, n);
	r = r ?: merge_copy(m, first_old, first_new, n);
	r = r ?: merge_check_after(m);
	if (r)
		return r;
	r = sc_store_batch_take(s, b, first_old, n);
	if (r)
		return sc_errf(m->err, m->errlen, r, "%s", s->err);
	m->res.steps++;
	return 1;
}

/* merge_callback() for a whole batch: flush the origin, then commit. */
static int merge_commit(struct merge *m, struct sc_merge_batch *b, char *err,
			size_t errlen)
{
	const struct snapcow_merge_opts *o = m->opts;
	struct snapcow_store *s = m->s;
	int r;

	if (!b->records)
		return 0;
	r = snapcow_dev_flush(m->origin);
	if (r)
		return sc_errf(err, errlen, r, "flushing origin: %s",
			       snapcow_dev_error(m->origin));
	r = sc_store_batch_commit(s, b);
	if (r)
		return sc_errf(err, errlen, r, "%s", s->err);
	m->res.chunks += b->records;
	if (o->progress)
		o->progress(o->ctx, m->res.chunks, m->total);
	return 0;
}

/*
 * Runs until the batch holds opts->batch_bytes of copied data; a run
 * that fails stops the batch, and the runs before it are still
 * committed.  1 when a batch was committed, 0 at the end, or an errno.
 */
static int merge_batch(struct merge *m)
{
	struct snapcow_store *s = m->s;
	uint64_t limit = m->opts->batch_bytes ?: SNAPCOW_MERGE_BATCH_BYTES;
	char commit_err[SNAPCOW_ERRBUF_SIZE];
	struct sc_merge_batch b;
	int r, c;

	r = sc_store_batch_begin(s, &b);
	if (r) {
		sc_store_batch_free(&b);
		return sc_errf(m->err, m->errlen, r, "%s", s->err);
	}
	do
		r = merge_steps_left(m) ? merge_run_one(m, &b) : 0;
	while (r > 0 && b.records * s->chunk_bytes < limit);
	/* A failed run: the runs before it are committed, its message stays. */
	c = r < 0 ? merge_commit(m, &b, commit_err, sizeof(commit_err)) :
		    merge_commit(m, &b, m->err, m->errlen);
	if (!r && b.records)
		r = 1;
	sc_store_batch_free(&b);
	return r < 0 ? r : c ?: r;
}

static int merge_run(struct merge *m)
{
	int r;

	m->total = m->s->exceptions;
	do
		r = merge_batch(m);
	while (r > 0);
	return r;
}

SNAPCOW_EXPORT
int snapcow_merge(struct snapcow_dev *origin, struct snapcow_store *s,
		  const struct snapcow_merge_opts *opts,
		  struct snapcow_merge_result *res, char *err, size_t errlen)
{
	static const struct snapcow_merge_opts none;
	struct merge m = { .origin = origin, .s = s,
			   .opts = opts ? opts : &none, .err = err,
			   .errlen = errlen };
	int r;

	r = merge_setup(&m);
	r = r ?: merge_run(&m);
	m.res.complete = !r && (s->state == SNAPCOW_STATE_NEW ||
				(!s->current_area && !s->current_committed));
	free(m.buf);
	free(m.snaps);
	if (res)
		*res = m.res;
	return r;
}
