// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The checker's walk: the exception list read the way the kernel loads
 * it, area after area with read-ahead, every record held against the
 * range rules, the current area's tail and the area after it checked for
 * records a later commit would make live.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "check.h"
#include "util.h"

/* --------------------------------------------------------- records */

static int check_record(struct snapcow_check *c, const struct sc_rec *rec)
{
	uint64_t n = rec->new_chunk;
	uint64_t *w;
	int r;

	if (snapcow_chunk_is_metadata(c->cs, n)) {
		r = sc_check_problem(c, SNAPCOW_RULE_NEW_IN_METADATA, rec, 1, true,
				     "origin chunk %llu -> COW chunk %llu, %s",
				     (unsigned long long)rec->old_chunk,
				     (unsigned long long)n,
				     n ? "a metadata area" : "the header");
		return r;
	}
	if (n >= c->cow_chunks) {
		r = sc_check_problem(c, SNAPCOW_RULE_NEW_PAST_END, rec, 1, true,
				     "origin chunk %llu -> COW chunk %llu of %llu",
				     (unsigned long long)rec->old_chunk,
				     (unsigned long long)n,
				     (unsigned long long)c->cow_chunks);
		return r;
	}
	if (c->origin_chunks && rec->old_chunk >= c->origin_chunks) {
		r = sc_check_problem(c, SNAPCOW_RULE_OLD_PAST_ORIGIN, rec, 1, true,
				     "origin chunk %llu of %llu -> COW chunk %llu",
				     (unsigned long long)rec->old_chunk,
				     (unsigned long long)c->origin_chunks,
				     (unsigned long long)n);
		return r;
	}
	c->good_records++;
	c->good_next_free = MAX(c->good_next_free, n + 1);
	w = &c->owned[n / 64];
	if (*w & (UINT64_C(1) << (n % 64))) {
		r = sc_grow((void **)&c->shared, &c->cap_shared, c->nshared + 1,
			 sizeof(*c->shared));
		if (r)
			return sc_check_errf(c, r, "out of memory");
		c->shared[c->nshared++] = n;
	}
	*w |= UINT64_C(1) << (n % 64);
	return sc_check_push_old(c, rec->old_chunk);
}

/*
 * After the list's end, the kernel keeps the rest of the area in memory
 * and writes it back with the next commit: a non-zero new_chunk there
 * turns live.  A tail with no zero at all looks like a full area whose
 * record was zeroed: the list was cut.
 */
static int check_tail(struct snapcow_check *c, const void *buf, uint64_t area,
		      uint64_t end)
{
	struct snapcow_record rec;
	struct sc_rec pos;
	uint64_t i, live = 0, first = 0;
	unsigned int rule;

	for (i = end + 1; i < c->epa; i++) {
		snapcow_record_decode(buf, i, &rec);
		if (!rec.new_chunk)
			continue;
		if (!live++)
			first = i;
	}
	if (!live)
		return 0;
	rule = live == c->epa - end - 1 ? SNAPCOW_RULE_LIST_TRUNCATED :
					   SNAPCOW_RULE_STALE_TAIL;
	snapcow_record_decode(buf, first, &rec);
	pos.old_chunk = rec.old_chunk;
	pos.new_chunk = rec.new_chunk;
	pos.g = area * c->epa + first;
	return sc_check_problem(c, rule, &pos, live, true,
				"%llu record%s after the end at slot %llu",
				(unsigned long long)live, live == 1 ? "" : "s",
				(unsigned long long)end);
}


static int read_area(struct snapcow_check *c, uint64_t area, void *buf)
{
	int r = snapcow_dev_read(c->cow, buf, c->chunk_bytes,
				 sc_check_area_offset(c, area));

	if (r)
		return sc_check_errf(c, r, "%s", snapcow_dev_error(c->cow));
	return 0;
}

void sc_check_progress(struct snapcow_check *c, uint64_t done)
{
	if (c->opts.progress)
		c->opts.progress(c->opts.ctx, MIN(done, c->progress_total),
				 c->progress_total);
}

/*
 * The list's length is only known at its end: for the progress bar,
 * guess it by bisecting for the first area whose first record is zero,
 * as areas fill in order.  A handful of reads, only with a progress bar.
 */
static void estimate_areas(struct snapcow_check *c, void *buf)
{
	uint64_t lo = 0, hi = snapcow_areas_on_device(c->cs, c->cow_chunks);
	struct snapcow_record rec;

	while (lo + 1 < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (snapcow_dev_read(c->cow, buf, SNAPCOW_RECORD_SIZE,
				     sc_check_area_offset(c, mid)))
			break;
		snapcow_record_decode(buf, 0, &rec);
		if (rec.new_chunk)
			lo = mid;
		else
			hi = mid;
	}
	c->progress_total = (lo + 2) * c->chunk_bytes;
}

/* Returns 1 when the area is full (the list goes on), 0 at its end. */
static int walk_area(struct snapcow_check *c, uint64_t area, const void *buf)
{
	struct snapcow_record rec;
	struct sc_rec pos;
	uint64_t i;
	int r;

	for (i = 0; i < c->epa; i++) {
		snapcow_record_decode(buf, i, &rec);
		if (!rec.new_chunk) {
			c->current_committed = i;
			return check_tail(c, buf, area, i);
		}
		c->exceptions++;
		if (c->next_free <= rec.new_chunk)
			c->next_free = rec.new_chunk + 1;
		pos.old_chunk = rec.old_chunk;
		pos.new_chunk = rec.new_chunk;
		pos.g = area * c->epa + i;
		r = check_record(c, &pos);
		if (r)
			return r;
	}
	c->current_committed = c->epa;
	return 1;
}

static int end_past_device(struct snapcow_check *c, uint64_t area)
{
	struct sc_rec pos = { 0, 0, area * c->epa - 1 };
	int r;

	c->end_past_device = true;
	c->current_committed = 0;
	r = sc_check_problem(c, SNAPCOW_RULE_END_PAST_DEVICE, &pos, 1, true,
			     "area %llu would start at chunk %llu of %llu",
			     (unsigned long long)area,
			     (unsigned long long)snapcow_area_chunk(c->cs, area),
			     (unsigned long long)c->cow_chunks);
	return r;
}

/* The areas come from the reader thread (check-reader.c), in order. */
static int walk_areas(struct snapcow_check *c, struct sc_area_reader *rd)
{
	const void *area_buf;
	uint64_t area;
	int r;

	for (area = 0;; area++) {
		c->current_area = area;
		if (!sc_check_area_on_device(c, area))
			return end_past_device(c, area);
		if (area % 64 == 0)
			sc_check_progress(c, (area + 1) * c->chunk_bytes);
		r = sc_area_reader_get(rd, area, &area_buf);
		if (r)
			return r;
		r = walk_area(c, area, area_buf);
		sc_area_reader_release(rd);
		if (r <= 0)
			return r;
	}
}

int sc_check_walk(struct snapcow_check *c, void *buf)
{
	struct sc_area_reader *rd;
	int r;

	c->next_free = SNAPCOW_HEADER_CHUNKS + 1;
	if (c->opts.progress)
		estimate_areas(c, buf);
	r = sc_area_reader_start(c, snapcow_areas_on_device(c->cs,
							    c->cow_chunks),
				 &rd);
	if (r)
		return r;
	r = walk_areas(c, rd);
	sc_area_reader_stop(rd);
	return r;
}

/* The kernel zeroes an area before its first use; this one was not yet. */
int sc_check_next_area(struct snapcow_check *c, void *buf)
{
	struct snapcow_record rec;
	uint64_t area = c->current_area + 1, i, live = 0;
	int r;

	if (c->end_past_device || !sc_check_area_on_device(c, area))
		return 0;
	r = read_area(c, area, buf);
	if (r)
		return r;
	for (i = 0; i < c->epa; i++) {
		snapcow_record_decode(buf, i, &rec);
		if (sc_check_rec_in_data(c, rec.new_chunk))
			live++;
	}
	if (!live)
		return 0;
	return sc_check_problem(c, SNAPCOW_RULE_STALE_AREA, NULL, live, true,
				"area %llu (offset %llu): %llu live-looking record%s",
				(unsigned long long)area,
				(unsigned long long)sc_check_area_offset(c, area),
				(unsigned long long)live, live == 1 ? "" : "s");
}

