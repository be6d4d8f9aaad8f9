// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The exception store's half of a snapshot merge, as the kernel's
 * persistent_prepare_merge() and persistent_commit_merge() do it: merge
 * from the list's end backwards, one run of consecutive records at a
 * time, and make every step durable on its own, so that a merge stopped
 * anywhere resumes from the records still on disk.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

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

/*
 * The kernel assumes an area it steps back into is full: the loader only
 * goes past an area when it is.
 */
static int merge_step_back(struct snapcow_store *s)
{
	int r = sc_store_read_area(s, s->current_area - 1, s->area);

	if (r)
		return r;
	s->current_area--;
	s->current_committed = s->epa;
	return 0;
}

/*
 * Returns the length of the run ending at the list's last record (> 0),
 * 0 when nothing is left, or a negative errno.  The run never leaves the
 * current area, as in the kernel.  A record whose chunks would wrap
 * below zero ends the run: the kernel would wrap, we do not.
 */
int sc_store_prepare_merge(struct snapcow_store *s, uint64_t *last_old,
			   uint64_t *last_new)
{
	struct snapcow_record rec;
	uint64_t n;
	int r = merge_check_store(s);

	if (r || s->state == SNAPCOW_STATE_NEW)
		return r;
	if (!s->current_committed) {
		if (!s->current_area)
			return 0;
		r = merge_step_back(s);
		if (r)
			return r;
	}
	snapcow_record_decode(s->area, s->current_committed - 1, &rec);
	*last_old = rec.old_chunk;
	*last_new = rec.new_chunk;
	for (n = 1; n < s->current_committed; n++) {
		snapcow_record_decode(s->area, s->current_committed - 1 - n,
				      &rec);
		if (n > *last_old || n > *last_new ||
		    rec.old_chunk != *last_old - n ||
		    rec.new_chunk != *last_new - n)
			break;
	}
	/* n <= epa <= 2^26: an int holds it. */
	return (int)n;
}

/*
 * Drop the last @n records (merged into the origin, which the caller has
 * flushed): zero them, write the area, forget the chunks.  next_free then
 * matches what is on disk, so the status line is the kernel's.
 */
int sc_store_commit_merge(struct snapcow_store *s, uint64_t n)
{
	static const struct snapcow_record zero;
	struct snapcow_record last;
	uint64_t i;
	int r;

	if (!n || n > s->current_committed)
		return sc_store_errf(s, -EINVAL,
				     "%s: cannot merge %llu of %llu records",
				     snapcow_dev_path(s->cow),
				     (unsigned long long)n,
				     (unsigned long long)s->current_committed);
	snapcow_record_decode(s->area, s->current_committed - 1, &last);
	for (i = 0; i < n; i++)
		snapcow_record_encode(s->area, s->current_committed - 1 - i,
				      &zero);
	r = sc_store_write_area(s, "merging");
	if (r)
		return r;
	s->current_committed -= n;
	s->exceptions -= MIN(n, s->exceptions);
	s->next_free = snapcow_area_chunk(s->cs, s->current_area) +
		       s->current_committed + 1;
	r = sc_table_remove(s->table, last.old_chunk + 1 - n, n);
	if (r)
		return sc_store_errf(s, r, "%s: forgetting merged chunks: %s",
				     snapcow_dev_path(s->cow), strerror(-r));
	return 0;
}
