// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Origin writes, as the kernel's __origin_write: every chunk of the range
 * that a live snapshot has no exception for gets a pending exception in
 * each such snapshot (descending chunk size), all taken at once under the
 * lock so that no two writes ever copy one chunk; the copies run, their
 * records are committed, snapshot reads still reading those chunks from
 * the origin are waited for, and only then does the write reach the
 * origin.  A write that finds a chunk being copied waits and starts over.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"
#include "engine.h"
#include "util.h"

#define ENG_INLINE_PES 8u

struct eng_op {
	struct snapcow_origin *o;
	uint64_t offset;
	size_t len;
	struct eng_pending *pes;
	unsigned int npes;
	struct eng_pending inline_pes[ENG_INLINE_PES];
};

static void eng_range(const struct eng_op *op, const struct eng_snap *sn,
		      uint64_t *first, uint64_t *last)
{
	*first = op->offset / sn->chunk_bytes;
	*last = (op->offset + op->len - 1) / sn->chunk_bytes;
}

/* The most pending exceptions this write can need. */
static int eng_op_reserve(struct eng_op *op)
{
	struct snapcow_origin *o = op->o;
	uint64_t first, last, n = 0;

	for (unsigned int i = 0; i < o->nsnaps; i++) {
		eng_range(op, o->snaps[i], &first, &last);
		n += last - first + 1;
	}
	op->pes = op->inline_pes;
	if (n <= ENG_INLINE_PES)
		return 0;
	op->pes = calloc(n, sizeof(*op->pes));
	return op->pes ? 0 : -ENOMEM;
}

/* A snapshot that cannot take a copy: fine if it needs none. */
static int eng_check_mapped(struct eng_op *op, struct eng_snap *sn,
			    char *err, size_t errlen)
{
	uint64_t first, last, c, nc;

	eng_range(op, sn, &first, &last);
	for (c = first; c <= last; c++) {
		if (eng_lookup(sn, c, &nc))
			continue;
		if (!sn->writable)
			return sc_errf(err, errlen, -EBADF,
				       "%s: store loaded read-only: cannot preserve origin chunk %llu",
				       snapcow_dev_path(sn->s->cow),
				       (unsigned long long)c);
		return sc_errf(err, errlen, -EIO,
			       "%s: snapshot failed, origin chunk %llu cannot be preserved: %s",
			       snapcow_dev_path(sn->s->cow),
			       (unsigned long long)c, sn->commit_err);
	}
	return 0;
}

/* 1: waited for something, scan again; 0: nothing in the way. */
static int eng_scan(struct eng_op *op, char *err, size_t errlen)
{
	struct snapcow_origin *o = op->o;
	uint64_t first, last, c;
	int r;

	for (unsigned int i = 0; i < o->nsnaps; i++) {
		struct eng_snap *sn = o->snaps[i];
		struct eng_chunk *ent;

		if (sn->state == ENG_INVALIDATING) {
			eng_wait_settled(o, sn);
			return 1;
		}
		if (sn->state == ENG_INVALID)
			continue;
		eng_range(op, sn, &first, &last);
		for (c = first; c <= last; c++) {
			ent = eng_chunk_find(o, sn, c);
			if (ent && ent->pe) {
				o->stats.waits++;
				eng_wait(o);
				return 1;
			}
		}
		if (sn->state == ENG_FAILED || !sn->writable) {
			r = eng_check_mapped(op, sn, err, errlen);
			if (r)
				return r;
		}
	}
	return 0;
}

static void eng_rollback(struct eng_op *op)
{
	while (op->npes)
		eng_unalloc(op->o, &op->pes[--op->npes]);
}

/* -EAGAIN: a full snapshot was invalidated, scan again. */
static int eng_create(struct eng_op *op, char *err, size_t errlen)
{
	struct snapcow_origin *o = op->o;
	uint64_t first, last, c, nc;
	int r;

	for (unsigned int i = 0; i < o->nsnaps; i++) {
		struct eng_snap *sn = o->snaps[i];

		if (sn->state != ENG_LIVE || !sn->writable)
			continue;
		eng_range(op, sn, &first, &last);
		for (c = first; c <= last; c++) {
			if (eng_lookup(sn, c, &nc))
				continue;
			r = eng_alloc(o, sn, c, &op->pes[op->npes]);
			if (!r) {
				op->npes++;
				continue;
			}
			eng_rollback(op);
			if (r != -ENOSPC)
				return sc_errf(err, errlen, r, "out of memory");
			/* An origin write that finds no room invalidates. */
			eng_invalidate(o, sn);
			return -EAGAIN;
		}
	}
	return 0;
}

static int eng_prepare(struct eng_op *op, char *err, size_t errlen)
{
	int r;

	do {
		r = eng_scan(op, err, errlen);
		if (!r)
			r = eng_create(op, err, errlen);
	} while (r == 1 || r == -EAGAIN);
	return r;
}

static int eng_copy_one(struct eng_op *op, struct eng_pending *pe, void *buf,
			char *err, size_t errlen)
{
	struct eng_snap *sn = pe->snap;
	uint64_t span = eng_chunk_span(op->o, sn, pe->old_chunk);
	int r;

	r = snapcow_dev_read(op->o->dev, buf, span,
			     pe->old_chunk * sn->chunk_bytes);
	if (!r)
		r = snapcow_dev_write(sn->s->cow, buf, span,
				      pe->new_chunk * sn->chunk_bytes);
	if (r)
		return sc_errf(err, errlen, r,
			       "copying origin chunk %llu to %s: %s",
			       (unsigned long long)pe->old_chunk,
			       snapcow_dev_path(sn->s->cow),
			       sc_dev_last_error());
	return 0;
}

/*
 * Copy every chunk first, then wait for the commits: an owner never
 * waits while a copy of its own is still to be done, so the queues of
 * all snapshots keep moving.
 */
static int eng_copy_all(struct eng_op *op, char *err, size_t errlen)
{
	struct snapcow_origin *o = op->o;
	uint64_t most = 0;
	int *res, r = 0, rc;
	void *buf;

	for (unsigned int i = 0; i < op->npes; i++)
		most = MAX(most, op->pes[i].snap->chunk_bytes);
	buf = malloc(most);
	res = calloc(op->npes, sizeof(*res));
	for (unsigned int i = 0; i < op->npes; i++)
		res[i] = buf && res ?
			 eng_copy_one(op, &op->pes[i], buf, err, errlen) :
			 sc_errf(err, errlen, -ENOMEM, "out of memory");
	pthread_mutex_lock(&o->lock);
	o->stats.copies += op->npes;
	for (unsigned int i = 0; i < op->npes; i++) {
		op->pes[i].snap->stats.copies++;
		rc = eng_complete(o, &op->pes[i], res ? res[i] : -ENOMEM,
				  r ? NULL : err, r ? 0 : errlen);
		if (rc && rc != -ECANCELED && !r)
			r = rc;
	}
	free(buf);
	free(res);
	return r;
}

/* Snapshot reads of these chunks from the origin end before it changes. */
static void eng_release(struct eng_op *op)
{
	struct snapcow_origin *o = op->o;

	for (unsigned int i = 0; i < op->npes; i++) {
		struct eng_chunk *ent = op->pes[i].ent;

		while (ent->readers)
			eng_wait(o);
		ent->pe = NULL;
		eng_chunk_put(o, ent);
	}
	eng_wake(o);
}

static int eng_origin_io(struct eng_op *op, const void *buf,
			 unsigned int flags, char *err, size_t errlen)
{
	struct snapcow_dev *dev = op->o->dev;
	int r;

	r = snapcow_dev_write(dev, buf, op->len, op->offset);
	if (!r && (flags & SNAPCOW_IO_FUA))
		r = snapcow_dev_flush(dev);
	if (r)
		return sc_errf(err, errlen, r, "%s", sc_dev_last_error());
	return 0;
}

static void eng_op_end(struct eng_op *op)
{
	struct snapcow_origin *o = op->o;

	pthread_mutex_lock(&o->lock);
	if (!--o->writers)
		eng_wake(o);
	pthread_mutex_unlock(&o->lock);
	if (op->pes != op->inline_pes)
		free(op->pes);
}

SNAPCOW_EXPORT
int snapcow_origin_pwrite(struct snapcow_origin *o, const void *buf,
			  size_t len, uint64_t offset, unsigned int flags,
			  char *err, size_t errlen)
{
	struct eng_op op = { .o = o, .offset = offset, .len = len };
	int r;

	r = eng_check_range(o, len, offset, err, errlen);
	if (r || !len)
		return r;
	pthread_mutex_lock(&o->lock);
	while (o->quiescing)
		eng_wait(o);
	o->writers++;
	r = eng_op_reserve(&op);
	if (r)
		r = sc_errf(err, errlen, r, "out of memory");
	else
		r = eng_prepare(&op, err, errlen);
	pthread_mutex_unlock(&o->lock);
	if (!r && op.npes) {
		r = eng_copy_all(&op, err, errlen);
		eng_release(&op);
		pthread_mutex_unlock(&o->lock);
	}
	if (!r)
		r = eng_origin_io(&op, buf, flags, err, errlen);
	eng_op_end(&op);
	return r;
}
