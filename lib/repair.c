// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Repair.  A repair is a list of whole metadata chunks to write,
 * produced by one generator (plan_emit) that is run twice: first to save
 * the old contents of every chunk that will change into the undo file
 * (flushed before anything else is written), then to write them.
 *
 * Order matters for a crash at any write: areas are rewritten in
 * ascending order, each flushed before the next, so the list on disk is
 * always a compacted prefix followed by the old records (at worst some
 * records twice, which a new check finds and repairs); the header goes
 * last, so a COW whose header was broken stays refused by the kernel
 * until its areas are sound.  The two passes and the undo file are
 * rewrite.c's; its format and the call that puts its contents back are
 * undo.c's.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rewrite.h"
#include "util.h"

/* ------------------------------------------------------------ plan */

struct emitter {
	struct snapcow_check *c;
	sc_chunk_fn fn;
	void *ctx;
	unsigned char *in;
	unsigned char *out;
	uint64_t out_area;
	uint64_t out_slot;
	size_t next_drop;
};

static int emit_out(struct emitter *e)
{
	int r = e->fn(e->ctx, sc_check_area_offset(e->c, e->out_area),
		      e->out);

	memset(e->out, 0, e->c->chunk_bytes);
	e->out_area++;
	e->out_slot = 0;
	return r;
}

static bool dropped(struct emitter *e, uint64_t g)
{
	const struct snapcow_check *c = e->c;

	while (e->next_drop < c->ndrops && c->drops[e->next_drop] < g)
		e->next_drop++;
	return e->next_drop < c->ndrops && c->drops[e->next_drop] == g;
}

/* The last area holding records, before the repair. */
static uint64_t last_list_area(const struct snapcow_check *c)
{
	return c->end_past_device ? c->current_area - 1 : c->current_area;
}

static uint64_t first_changed_area(const struct snapcow_check *c)
{
	uint64_t first = c->fix_tail ? c->current_area : UINT64_MAX;

	if (c->ndrops)
		first = MIN(first, c->drops[0] / c->epa);
	return first;
}

static int compact_area(struct emitter *e, uint64_t area)
{
	struct snapcow_check *c = e->c;
	struct snapcow_record rec;
	uint64_t n, i;
	int r;

	r = snapcow_dev_read(c->cow, e->in, c->chunk_bytes,
			     sc_check_area_offset(c, area));
	if (r)
		return sc_check_errf(c, r, "%s", snapcow_dev_error(c->cow));
	n = area == c->current_area ? c->current_committed : c->epa;
	for (i = 0; i < n; i++) {
		if (dropped(e, area * c->epa + i))
			continue;
		snapcow_record_decode(e->in, i, &rec);
		snapcow_record_encode(e->out, e->out_slot++, &rec);
		if (e->out_slot == c->epa) {
			r = emit_out(e);
			if (r)
				return r;
		}
	}
	return 0;
}

/*
 * Rewrite the list from the first area that changes: kept records move
 * up, the new end area gets its zero record, and the areas the list no
 * longer reaches (and a stale next area) are zeroed.
 */
static int emit_list(struct emitter *e)
{
	struct snapcow_check *c = e->c;
	uint64_t first = first_changed_area(c), last = last_list_area(c);
	uint64_t area, zero_to;
	int r = 0;

	if (first != UINT64_MAX) {
		e->out_area = first;
		for (area = first; area <= last && !r; area++)
			r = compact_area(e, area);
		if (!r)
			r = emit_out(e);	/* the end: zeroes after it */
		zero_to = last + (c->fix_next_area ? 1 : 0);
	} else if (c->fix_next_area) {
		e->out_area = c->current_area + 1;
		zero_to = e->out_area;
	} else {
		return 0;
	}
	for (area = e->out_area; area <= zero_to && !r; area++)
		if (snapcow_area_chunk(c->cs, area) < c->cow_chunks)
			r = c->fix_next_area || area <= last ?
			    e->fn(e->ctx, sc_check_area_offset(c, area),
				  e->out) : 0;
	return r;
}

static int emit_header(struct emitter *e)
{
	struct snapcow_check *c = e->c;
	struct snapcow_header hdr = {
		.magic = SNAPCOW_MAGIC,
		/*
		 * A snapshot the kernel invalidated stays invalid: setting
		 * valid would make the kernel read records nobody checked.
		 */
		.valid = c->invalidate ||
			 c->state == SNAPCOW_STATE_INVALID ? 0 : 1,
		.version = SNAPCOW_DISK_VERSION,
		.chunk_size = c->cs,
	};

	if (!c->fix_header && !c->invalidate)
		return 0;
	/* As the kernel's write_header: the whole chunk, zero past it. */
	memset(e->out, 0, c->chunk_bytes);
	snapcow_header_encode(&hdr, e->out);
	return e->fn(e->ctx, 0, e->out);
}

/* An sc_plan_fn (rewrite.h): @plan is the check. */
static int plan_emit(void *plan, sc_chunk_fn fn, void *ctx)
{
	struct snapcow_check *c = plan;
	struct emitter e = { .c = c, .fn = fn, .ctx = ctx };
	int r = 0;

	e.in = malloc(c->chunk_bytes);
	e.out = calloc(1, c->chunk_bytes);
	if (!e.in || !e.out) {
		r = sc_check_errf(c, -ENOMEM, "out of memory");
		goto out;
	}
	/* An invalid snapshot's records are never read: leave them. */
	if (!c->invalidate && c->state != SNAPCOW_STATE_INVALID)
		r = emit_list(&e);
	if (!r)
		r = emit_header(&e);
out:
	free(e.in);
	free(e.out);
	return r;
}

static bool is_dropped(const struct snapcow_check *c, uint64_t g)
{
	size_t lo = 0, hi = c->ndrops;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->drops[mid] == g)
			return true;
		if (c->drops[mid] < g)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Insert @g into the sorted drop list. */
static int add_drop_sorted(struct snapcow_check *c, uint64_t g)
{
	size_t i;
	int r = sc_check_drop(c, g);

	if (r)
		return r;
	for (i = c->ndrops - 1; i > 0 && c->drops[i - 1] > g; i--)
		c->drops[i] = c->drops[i - 1];
	c->drops[i] = g;
	return 0;
}

/*
 * When the kept records fill their last area exactly and the next area
 * is past the device, the list would have no end: drop one more.
 */
static int plan_fix_end(struct snapcow_check *c)
{
	uint64_t first = first_changed_area(c), last = last_list_area(c);
	uint64_t total, kept, g;
	size_t i;

	if (first == UINT64_MAX || c->invalidate)
		return 0;
	total = last * c->epa + (c->end_past_device ? c->epa :
						       c->current_committed);
	for (;;) {
		kept = total - first * c->epa;
		for (i = 0; i < c->ndrops; i++)
			kept -= c->drops[i] >= first * c->epa;
		if (!kept || snapcow_area_chunk(c->cs, first + kept / c->epa) <
			     c->cow_chunks)
			return 0;
		for (g = total - 1; is_dropped(c, g); g--)
			;
		if (add_drop_sorted(c, g))
			return -ENOMEM;
	}
}

static bool needs_repair(const struct snapcow_check *c)
{
	size_t i;

	for (i = 0; i < c->nf; i++)
		if (sc_check_action(&c->f[i], true) == SC_FIX)
			return true;
	return false;
}

/*
 * Plan, save the undo file (to @undo_path, or else @undo_dev), then
 * write.  Returns the chunks written or -errno with c->err set.
 */
static int repair(struct snapcow_check *c, const char *undo_path,
		  struct snapcow_dev *undo_dev)
{
	struct sc_rewrite w = {
		.cow = c->cow, .chunk_bytes = c->chunk_bytes,
		.plan = plan_emit, .plan_ctx = c,
		.progress = c->opts.progress, .progress_ctx = c->opts.ctx,
		.err = c->err, .errlen = sizeof(c->err),
	};
	int r = plan_fix_end(c);

	return r ? r : sc_rewrite(&w, undo_path, undo_dev);
}

static int repair_entry(struct snapcow_check *c, const char *undo_path,
			struct snapcow_dev *undo_dev, char *err, size_t errlen)
{
	int r;

	c->err[0] = '\0';
	if (!needs_repair(c) || !c->cs)
		return 0;
	if (!snapcow_dev_is_writable(c->cow))
		return sc_errf(err, errlen, -EBADF, "%s: opened read-only",
			       snapcow_dev_path(c->cow));
	if (!undo_path && !undo_dev)
		return sc_errf(err, errlen, -EINVAL,
			       "a repair needs an undo file");
	if (undo_dev && !snapcow_dev_is_writable(undo_dev))
		return sc_errf(err, errlen, -EBADF, "%s: opened read-only",
			       snapcow_dev_path(undo_dev));
	r = repair(c, undo_path, undo_dev);
	if (r < 0)
		return sc_errf(err, errlen, r, "%s", c->err[0] ? c->err :
			       strerror(-r));
	return r;
}

SNAPCOW_EXPORT
int snapcow_check_repair(struct snapcow_check *c, const char *undo_path,
			 char *err, size_t errlen)
{
	if (!undo_path)
		return sc_errf(err, errlen, -EINVAL,
			       "a repair needs an undo file");
	return repair_entry(c, undo_path, NULL, err, errlen);
}

SNAPCOW_EXPORT
int snapcow_check_repair_dev(struct snapcow_check *c, struct snapcow_dev *undo,
			     char *err, size_t errlen)
{
	if (!undo)
		return sc_errf(err, errlen, -EINVAL,
			       "a repair needs an undo file");
	return repair_entry(c, NULL, undo, err, errlen);
}
