// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pending exceptions and their commit, as dm-snapshot does it:
 *  - a chunk gets a COW chunk (allocation order = queue order) and a
 *    pending exception that locks it until the record is durable;
 *  - records are committed in allocation order (the kernel's 2013 fix):
 *    a copy that completes early waits for earlier allocations;
 *  - whoever finds the queue's head copied and no commit running becomes
 *    the committer for the whole copied prefix: one COW flush and one
 *    area write for all of them (the kernel batches in-flight commits);
 *  - a failed copy or commit invalidates the snapshot, as the kernel's
 *    __invalidate_snapshot; the header write never overlaps a commit.
 * Every function here is called, and returns, with the origin's lock held.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "util.h"

int eng_alloc(struct snapcow_origin *o, struct eng_snap *sn, uint64_t chunk,
	      struct eng_pending *pe)
{
	struct snapcow_store *s = sn->s;
	uint64_t next_free = s->next_free;
	struct eng_chunk *ent;
	int r;

	r = sc_store_alloc_chunk(s, &pe->new_chunk);
	if (r)
		return r;
	ent = eng_chunk_get(o, sn, chunk);
	if (!ent) {
		s->next_free = next_free;
		return -ENOMEM;
	}
	pe->qnext = NULL;
	pe->snap = sn;
	pe->ent = ent;
	pe->old_chunk = chunk;
	pe->state = PE_COPYING;
	pe->result = 0;
	ent->pe = pe;
	if (sn->qtail)
		sn->qtail->qnext = pe;
	else
		sn->qhead = pe;
	sn->qtail = pe;
	return 0;
}

static void eng_dequeue(struct eng_snap *sn, struct eng_pending *pe)
{
	struct eng_pending **pp = &sn->qhead, *prev = NULL;

	while (*pp != pe) {
		prev = *pp;
		pp = &(*pp)->qnext;
	}
	*pp = pe->qnext;
	if (sn->qtail == pe)
		sn->qtail = prev;
}

/*
 * Undo the latest allocation of its snapshot (nothing was allocated
 * since, as the lock was held): the chunk goes back to the free space.
 */
void eng_unalloc(struct snapcow_origin *o, struct eng_pending *pe)
{
	struct eng_snap *sn = pe->snap;

	eng_dequeue(sn, pe);
	sn->s->next_free = pe->new_chunk;
	pe->ent->pe = NULL;
	eng_chunk_put(o, pe->ent);
	pe->state = PE_DONE;
}

void eng_wait_settled(struct snapcow_origin *o, struct eng_snap *sn)
{
	while (sn->state == ENG_INVALIDATING)
		eng_wait(o);
}

/* The snapshot is INVALIDATING and ours to write. */
static void eng_invalidate_write(struct snapcow_origin *o, struct eng_snap *sn)
{
	char msg[SNAPCOW_ERRBUF_SIZE];
	int r;

	while (sn->committing)
		eng_wait(o);
	pthread_mutex_unlock(&o->lock);
	r = sc_store_write_invalid(sn->s, msg, sizeof(msg));
	pthread_mutex_lock(&o->lock);
	sc_store_mark_invalid(sn->s);
	sn->state = r ? ENG_FAILED : ENG_INVALID;
	if (r)
		snprintf(sn->commit_err, sizeof(sn->commit_err), "%s", msg);
	o->stats.invalidations++;
	eng_wake(o);
}

void eng_invalidate(struct snapcow_origin *o, struct eng_snap *sn)
{
	if (sn->state != ENG_LIVE) {
		eng_wait_settled(o, sn);
		return;
	}
	sn->state = ENG_INVALIDATING;
	eng_invalidate_write(o, sn);
}

/* Records for the batch, then one commit: outside the lock. */
static int eng_write_batch(struct eng_snap *sn, struct eng_pending *pe,
			   unsigned int n, char *msg, size_t len)
{
	int r = 0;

	/*
	 * Only the committer touches the area; qnext of all but the
	 * batch's last entry is stable (appends change the last one's).
	 */
	for (unsigned int i = 0; !r && i < n; i++) {
		r = sc_store_append(sn->s, pe->old_chunk, pe->new_chunk, msg,
				    len);
		if (i + 1 < n)
			pe = pe->qnext;
	}
	if (!r)
		r = sc_store_commit_to(sn->s, msg, len);
	return r;
}

static int eng_publish(struct eng_snap *sn, struct eng_pending *pe, int r,
		       char *msg, size_t len)
{
	int ri;

	sn->qhead = pe->qnext;
	if (!sn->qhead)
		sn->qtail = NULL;
	if (!r) {
		ri = sc_table_insert(sn->s->table, pe->old_chunk,
				     pe->new_chunk);
		if (ri)
			r = sc_errf(msg, len, -EIO,
				    "%s: exception %llu -> %llu committed but not mapped: %s",
				    snapcow_dev_path(sn->s->cow),
				    (unsigned long long)pe->old_chunk,
				    (unsigned long long)pe->new_chunk,
				    strerror(-ri));
	}
	pe->state = PE_DONE;
	pe->result = r;
	return r;
}

static void eng_commit_batch(struct snapcow_origin *o, struct eng_snap *sn)
{
	struct eng_pending *first = sn->qhead, *pe;
	char msg[SNAPCOW_ERRBUF_SIZE] = "";
	unsigned int n = 0;
	int r, bad = 0;

	for (pe = first; pe && pe->state == PE_COPIED; pe = pe->qnext) {
		pe->state = PE_COMMITTING;
		n++;
	}
	sn->committing = true;
	pthread_mutex_unlock(&o->lock);
	r = eng_write_batch(sn, first, n, msg, sizeof(msg));
	pthread_mutex_lock(&o->lock);
	for (unsigned int i = 0; i < n; i++)
		if (eng_publish(sn, sn->qhead, r, msg, sizeof(msg)))
			bad = -EIO;
	o->stats.commits++;
	sn->stats.commits++;
	if (!r) {
		o->stats.exceptions += n;
		sn->stats.exceptions += n;
	}
	sn->committing = false;
	if (r || bad) {
		snprintf(sn->commit_err, sizeof(sn->commit_err), "%s", msg);
		if (sn->state == ENG_LIVE) {
			sn->state = ENG_INVALIDATING;
			eng_invalidate_write(o, sn);
		}
	}
	eng_wake(o);
}

static int eng_copy_failed(struct snapcow_origin *o, struct eng_pending *pe,
			   int copy_result)
{
	struct eng_snap *sn = pe->snap;
	bool ours = sn->state == ENG_LIVE;

	/* Invalidating first: no commit may run past the hole. */
	if (ours)
		sn->state = ENG_INVALIDATING;
	eng_dequeue(sn, pe);
	pe->state = PE_DONE;
	pe->result = copy_result;
	if (ours)
		eng_invalidate_write(o, sn);
	else
		eng_wait_settled(o, sn);
	eng_wake(o);
	return copy_result;
}

/*
 * The copy for @pe is done (@copy_result): wait until its record is
 * durable.  Returns 0 when committed, -ECANCELED when the snapshot was
 * invalidated meanwhile (nothing to preserve any more), else an error
 * with @err saying why.
 */
int eng_complete(struct snapcow_origin *o, struct eng_pending *pe,
		 int copy_result, char *err, size_t errlen)
{
	struct eng_snap *sn = pe->snap;

	if (copy_result)
		return eng_copy_failed(o, pe, copy_result);
	pe->state = PE_COPIED;
	while (pe->state != PE_DONE) {
		if (sn->state == ENG_INVALIDATING) {
			eng_wait(o);
		} else if (sn->state != ENG_LIVE) {
			eng_dequeue(sn, pe);
			pe->state = PE_DONE;
			pe->result = sn->state == ENG_INVALID ? -ECANCELED :
								-EIO;
			eng_wake(o);
		} else if (!sn->committing && sn->qhead->state == PE_COPIED) {
			eng_commit_batch(o, sn);
		} else {
			eng_wait(o);
		}
	}
	if (pe->result && pe->result != -ECANCELED)
		sc_errf(err, errlen, pe->result,
			"%s: exception for origin chunk %llu not committed: %s",
			snapcow_dev_path(sn->s->cow),
			(unsigned long long)pe->old_chunk,
			sn->commit_err[0] ? sn->commit_err :
					    strerror(-pe->result));
	return pe->result;
}
