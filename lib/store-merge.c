// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The exception store's half of a snapshot merge, as the kernel's
 * persistent_prepare_merge() and persistent_commit_merge() see the list:
 * merged from its end backwards, one run of consecutive records at a
 * time, never a run across an area boundary.  Unlike the kernel, which
 * commits every run on its own, a batch takes many runs (the caller
 * copies each to the origin), and commits them together once the caller
 * has flushed the origin: every touched area written, then one flush.
 *
 * Why the area writes need no order among themselves: the loader reads
 * areas until the first one that is not full, and stops inside an area
 * at its first zero record.  Whichever subset of the batch's area writes
 * reaches the disk, what loads is a prefix of the list as it was before
 * the batch; the records past the unmerged ones in that prefix were
 * merged into the (flushed) origin already, and merging them again
 * writes the same bytes.  So a merge stopped anywhere resumes.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "dev.h"
#include "store.h"
#include "util.h"

static int merge_check_store(struct snapcow_store *s)
{
	if (!(s->flags & SNAPCOW_STORE_WRITE))
		return sc_store_errf(s, -EBADF, "%s: store loaded read-only",
				     snapcow_dev_path(s->cow));
	if (s->state == SNAPCOW_STATE_INVALID)
		return sc_store_errf(s, -EINVAL,
				     "%s: snapshot is invalid: the kernel refuses to merge it",
				     snapcow_dev_path(s->cow));
	/* Records added since the load would be merged before they land. */
	if (s->dirty)
		return sc_store_errf(s, -EBUSY,
				     "%s: uncommitted exceptions: commit first",
				     snapcow_dev_path(s->cow));
	return 0;
}

static struct sc_batch_area *batch_cursor(struct sc_merge_batch *b)
{
	return &b->areas[b->nareas - 1];
}

static int batch_add_area(struct snapcow_store *s, struct sc_merge_batch *b,
			  uint64_t index, uint64_t committed)
{
	struct sc_batch_area *a;

	if (sc_grow((void **)&b->areas, &b->areas_cap, b->nareas + 1,
		    sizeof(*b->areas)))
		return sc_store_errf(s, -ENOMEM, "out of memory");
	a = &b->areas[b->nareas];
	a->buf = malloc(s->chunk_bytes);
	if (!a->buf)
		return sc_store_errf(s, -ENOMEM, "out of memory");
	a->index = index;
	a->committed = committed;
	a->kept = committed;
	b->nareas++;
	return 0;
}

void sc_store_batch_free(struct sc_merge_batch *b)
{
	size_t i;

	for (i = 0; i < b->nareas; i++)
		free(b->areas[i].buf);
	free(b->areas);
	free(b->runs);
	memset(b, 0, sizeof(*b));
}

/* Start a batch at the list's end: a private copy of the current area. */
int sc_store_batch_begin(struct snapcow_store *s, struct sc_merge_batch *b)
{
	int r = merge_check_store(s);

	memset(b, 0, sizeof(*b));
	if (r)
		return r;
	r = batch_add_area(s, b, s->current_area, s->current_committed);
	if (r)
		return r;
	memcpy(b->areas[0].buf, s->area, s->chunk_bytes);
	return 0;
}

/*
 * The kernel assumes an area it steps back into is full: the loader only
 * goes past an area when it is.
 */
static int batch_step_back(struct snapcow_store *s, struct sc_merge_batch *b)
{
	uint64_t index = batch_cursor(b)->index - 1;
	int r = batch_add_area(s, b, index, s->epa);

	return r ?: sc_store_read_area(s, index, batch_cursor(b)->buf);
}

/*
 * The run ending at the last record not yet taken: its length (> 0), 0
 * when nothing is left, or a negative errno.  A record whose chunks
 * would wrap below zero ends the run: the kernel would wrap, we do not.
 */
int sc_store_batch_peek(struct snapcow_store *s, struct sc_merge_batch *b,
			uint64_t *last_old, uint64_t *last_new)
{
	struct snapcow_record rec;
	struct sc_batch_area *a;
	uint64_t n;
	int r;

	if (s->state == SNAPCOW_STATE_NEW)
		return 0;
	if (!batch_cursor(b)->kept) {
		if (!batch_cursor(b)->index)
			return 0;
		r = batch_step_back(s, b);
		if (r)
			return r;
	}
	a = batch_cursor(b);
	snapcow_record_decode(a->buf, a->kept - 1, &rec);
	*last_old = rec.old_chunk;
	*last_new = rec.new_chunk;
	for (n = 1; n < a->kept; n++) {
		snapcow_record_decode(a->buf, a->kept - 1 - n, &rec);
		if (n > *last_old || n > *last_new ||
		    rec.old_chunk != *last_old - n ||
		    rec.new_chunk != *last_new - n)
			break;
	}
	/* n <= epa <= 2^26: an int holds it. */
	return (int)n;
}

/* Take the @n records peek found (copied to the origin): zero them. */
int sc_store_batch_take(struct snapcow_store *s, struct sc_merge_batch *b,
			uint64_t first_old, uint64_t n)
{
	static const struct snapcow_record zero;
	struct sc_batch_area *a = batch_cursor(b);
	uint64_t i;

	if (!n || n > a->kept)
		return sc_store_errf(s, -EINVAL,
				     "%s: cannot merge %llu of %llu records",
				     snapcow_dev_path(s->cow),
				     (unsigned long long)n,
				     (unsigned long long)a->kept);
	if (sc_grow((void **)&b->runs, &b->runs_cap, b->nruns + 1,
		    sizeof(*b->runs)))
		return sc_store_errf(s, -ENOMEM, "out of memory");
	b->runs[b->nruns].first_old = first_old;
	b->runs[b->nruns++].count = n;
	for (i = 0; i < n; i++)
		snapcow_record_encode(a->buf, a->kept - 1 - i, &zero);
	a->kept -= n;
	b->records += n;
	return 0;
}

/* Write every area the batch zeroed records in, then one flush (FUA). */
static int batch_write_areas(struct snapcow_store *s,
			     const struct sc_merge_batch *b)
{
	const struct sc_batch_area *a;
	size_t i;
	int r;

	for (i = 0; i < b->nareas; i++) {
		a = &b->areas[i];
		if (a->kept == a->committed)
			continue;
		r = snapcow_dev_write(s->cow, a->buf, s->chunk_bytes,
				      sc_store_area_offset(s, a->index));
		if (r)
			return sc_store_errf(s, r, "%s: merging area %llu: %s",
					     snapcow_dev_path(s->cow),
					     (unsigned long long)a->index,
					     sc_dev_last_error());
	}
	r = snapcow_dev_flush(s->cow);
	if (r)
		return sc_store_errf(s, r, "%s: flushing merged areas: %s",
				     snapcow_dev_path(s->cow),
				     sc_dev_last_error());
	return 0;
}

/*
 * Drop the batch's records (merged into the origin, which the caller has
 * flushed) durably, then in memory: next_free then matches what is on
 * disk, so the status line is the kernel's.
 */
int sc_store_batch_commit(struct snapcow_store *s, struct sc_merge_batch *b)
{
	struct sc_batch_area *a = batch_cursor(b);
	size_t i;
	int r;

	if (!b->records)
		return 0;
	/* Stepped back into an area but took nothing from it yet. */
	if (a->kept == a->committed)
		a--;
	r = batch_write_areas(s, b);
	if (r)
		return r;
	s->current_area = a->index;
	s->current_committed = a->kept;
	memcpy(s->area, a->buf, s->chunk_bytes);
	s->exceptions -= MIN(b->records, s->exceptions);
	s->next_free = snapcow_area_chunk(s->cs, s->current_area) +
		       s->current_committed + 1;
	for (i = 0; i < b->nruns; i++) {
		r = sc_table_remove(s->table, b->runs[i].first_old,
				    b->runs[i].count);
		if (r)
			return sc_store_errf(s, r, "%s: forgetting merged chunks: %s",
					     snapcow_dev_path(s->cow),
					     strerror(-r));
	}
	return 0;
}
