// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The checker's collisions: two records for one origin chunk (SC012) and
 * two origin chunks sharing one COW chunk (SC013).  The walk keeps the
 * old chunk of each in-range record (8 bytes, in segments, in buckets by
 * a hash); they are then gathered bucket by bucket and radix-sorted in
 * place to find duplicates.  Only when duplicates turn up is the list
 * read a second time to find out where they are, and the kernel's lookup
 * model (kmodel.c) decides which record of a duplicate it serves.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "array.h"
#include "util.h"

/* Segments of old chunks grow from 64 keys to 512 KiB. */
#define SC_SEG_MIN	64u
#define SC_SEG_MAX	65536u

struct sc_u64s {
	uint64_t *v;
	size_t n;
	size_t cap;
};

/* ------------------------------------------------------ old chunks */

/*
 * Old chunks are kept in SC_OLD_BUCKETS buckets by a hash of the key, so
 * equal keys share a bucket and each bucket can be sorted alone, in the
 * cache, with no array of every key: 8 bytes an exception (each written
 * once, to memory the kernel hands out once) plus the largest bucket
 * while it is sorted.
 */
static inline unsigned int old_bucket(uint64_t old_chunk)
{
	return (unsigned int)((old_chunk * UINT64_C(0x9e3779b97f4a7c15)) >>
			      (64 - SC_OLD_BUCKET_BITS));
}

int sc_check_push_old(struct snapcow_check *c, uint64_t old_chunk)
{
	struct sc_keys *k = &c->olds[old_bucket(old_chunk)];
	uint64_t *seg;
	int r;

	if (k->nsegs && k->len < k->cap) {
		k->segs[k->nsegs - 1][k->len++] = old_chunk;
		k->n++;
		return 0;
	}
	r = sc_grow((void **)&k->segs, &k->cap_segs, k->nsegs + 1,
		 sizeof(*k->segs));
	if (r)
		return sc_check_errf(c, r, "out of memory");
	k->cap = k->nsegs ? MIN(k->cap * 2, SC_SEG_MAX) : SC_SEG_MIN;
	seg = malloc(k->cap * sizeof(*seg));
	if (!seg)
		return sc_check_errf(c, -ENOMEM, "out of memory");
	k->segs[k->nsegs++] = seg;
	seg[0] = old_chunk;
	k->len = 1;
	k->n++;
	return 0;
}

static void free_keys(struct sc_keys *k)
{
	size_t i;

	for (i = 0; i < k->nsegs; i++)
		free(k->segs[i]);
	free(k->segs);
	memset(k, 0, sizeof(*k));
}

void sc_check_free_olds(struct snapcow_check *c)
{
	unsigned int b;

	if (!c->olds)
		return;
	for (b = 0; b < SC_OLD_BUCKETS; b++)
		free_keys(&c->olds[b]);
	free(c->olds);
	c->olds = NULL;
}

/* Copy a bucket's keys to @v, freeing its segments; returns their count. */
static size_t gather_keys(struct sc_keys *k, uint64_t *v)
{
	size_t i, cap = SC_SEG_MIN, off = 0, len, n = k->n;

	for (i = 0; i < k->nsegs; i++, cap = MIN(cap * 2, SC_SEG_MAX)) {
		len = i + 1 == k->nsegs ? k->len : cap;
		memcpy(v + off, k->segs[i], len * sizeof(*v));
		off += len;
	}
	free_keys(k);
	return n;
}

/* Append the keys @v holds more than once (sorted) to @d. */
static int find_dups(struct snapcow_check *c, const uint64_t *v, size_t n,
		     struct sc_u64s *d)
{
	size_t i;
	int r;

	for (i = 1; i < n; i++) {
		if (v[i] != v[i - 1] || (i > 1 && v[i - 2] == v[i]))
			continue;
		r = sc_grow((void **)&d->v, &d->cap, d->n + 1, sizeof(*d->v));
		if (r)
			return sc_check_errf(c, r, "out of memory");
		d->v[d->n++] = v[i];
	}
	return 0;
}

/* The old chunks found more than once, sorted; the buckets are freed. */
static int olds_dups(struct snapcow_check *c, struct sc_u64s *d)
{
	size_t maxb = 0, n;
	unsigned int b;
	uint64_t *v;
	int r = 0;

	for (b = 0; b < SC_OLD_BUCKETS; b++)
		maxb = MAX(maxb, c->olds[b].n);
	v = malloc((maxb ? maxb : 1) * sizeof(*v));
	if (!v)
		r = sc_check_errf(c, -ENOMEM, "out of memory");
	for (b = 0; b < SC_OLD_BUCKETS && !r; b++) {
		n = gather_keys(&c->olds[b], v);
		sc_sort_u64(v, n);
		r = find_dups(c, v, n, d);
	}
	free(v);
	sc_check_free_olds(c);
	if (!r)
		d->n = sc_sort_unique_u64(d->v, d->n);
	return r;
}


/* ------------------------------------------------------- collisions */

struct sc_recs {
	struct sc_rec *v;
	size_t n;
	size_t cap;
};

static int recs_push(struct sc_recs *rs, const struct sc_rec *rec)
{
	int r = sc_grow((void **)&rs->v, &rs->cap, rs->n + 1, sizeof(*rs->v));

	if (!r)
		rs->v[rs->n++] = *rec;
	return r;
}

struct collisions {
	const struct snapcow_check *c;
	const uint64_t *windows;	/* of duplicated old chunks, sorted */
	size_t nwin;
	struct sc_recs *win;
	struct sc_recs *shr;
};

static int collect_one(void *ctx, const struct sc_rec *rec)
{
	struct collisions *k = ctx;
	int r = 0;

	if (sc_bsearch_u64(k->windows, k->nwin,
			   sc_kmodel_window(rec->old_chunk)))
		r = recs_push(k->win, rec);
	if (!r && sc_bsearch_u64(k->c->shared, k->c->nshared,
				 rec->new_chunk))
		r = recs_push(k->shr, rec);
	return r;
}

/* Second pass: the records of the duplicated windows and shared chunks. */
static int collect(struct snapcow_check *c, const uint64_t *windows,
		   size_t nwin, struct sc_recs *win, struct sc_recs *shr)
{
	struct collisions k = { c, windows, nwin, win, shr };
	int r;

	r = sc_list_walk(c->cow, c->cs, c->current_area, c->current_committed,
			 false, collect_one, &k, c->err, sizeof(c->err));
	if (r == -ENOMEM)
		return sc_check_errf(c, r, "out of memory");
	return r;
}

static bool rec_good(const struct snapcow_check *c, const struct sc_rec *rec)
{
	return sc_check_rec_in_data(c, rec->new_chunk) &&
	       (!c->origin_chunks || rec->old_chunk < c->origin_chunks);
}

/* Keep the record whose data the kernel serves; see kmodel.c. */
static int resolve_dup(struct snapcow_check *c, const struct sc_recs *win,
		       uint64_t old_chunk)
{
	struct sc_recs w = { 0 };
	const struct sc_rec *keep = NULL;
	uint64_t served = 0;
	size_t i;
	int r = 0, found;

	for (i = 0; i < win->n && !r; i++)
		if (sc_kmodel_window(win->v[i].old_chunk) ==
		    sc_kmodel_window(old_chunk))
			r = recs_push(&w, &win->v[i]);
	found = r ? -1 : sc_kmodel_lookup(w.v, w.n, old_chunk, &served);
	if (found < 0) {
		free(w.v);
		return sc_check_errf(c, -ENOMEM, "out of memory");
	}
	for (i = 0; i < w.n; i++) {
		const struct sc_rec *x = &w.v[i];

		if (x->old_chunk != old_chunk || !rec_good(c, x))
			continue;
		if (!keep || (found && x->new_chunk == served &&
			      keep->new_chunk != served))
			keep = x;
	}
	for (i = 0; i < w.n && !r && keep; i++) {
		const struct sc_rec *x = &w.v[i];

		if (x->old_chunk != old_chunk || !rec_good(c, x) || x == keep)
			continue;
		r = sc_check_problem(c, SNAPCOW_RULE_DUP_OLD, x, 1, true,
				     "origin chunk %llu -> COW chunk %llu; the kernel serves COW chunk %llu (area %llu slot %llu)",
				     (unsigned long long)old_chunk,
				     (unsigned long long)x->new_chunk,
				     (unsigned long long)keep->new_chunk,
				     (unsigned long long)(keep->g / c->epa),
				     (unsigned long long)(keep->g % c->epa));
	}
	free(w.v);
	return r;
}

/* Same record twice is a duplicate, not a sharing: SC012 has it. */
static int resolve_shared(struct snapcow_check *c, const struct sc_recs *shr,
			  uint64_t new_chunk)
{
	const struct sc_rec *first = NULL;
	size_t i;
	int r = 0;

	for (i = 0; i < shr->n && !r; i++) {
		const struct sc_rec *x = &shr->v[i];

		if (x->new_chunk != new_chunk || !rec_good(c, x))
			continue;
		if (!first) {
			first = x;
			continue;
		}
		if (x->old_chunk == first->old_chunk)
			continue;
		r = sc_check_problem(c, SNAPCOW_RULE_SHARED_NEW, x, 1, true,
				     "origin chunks %llu (area %llu slot %llu) and %llu -> COW chunk %llu",
				     (unsigned long long)first->old_chunk,
				     (unsigned long long)(first->g / c->epa),
				     (unsigned long long)(first->g % c->epa),
				     (unsigned long long)x->old_chunk,
				     (unsigned long long)new_chunk);
	}
	return r;
}

/* @dups may be @olds: it is written behind where it is read. */
int sc_check_collisions(struct snapcow_check *c)
{
	struct sc_recs win = { 0 }, shr = { 0 };
	struct sc_u64s d = { 0 };
	uint64_t *dups, *windows;
	size_t nd, i;
	int r;

	r = olds_dups(c, &d);
	dups = d.v;
	nd = d.n;
	c->nshared = sc_sort_unique_u64(c->shared, c->nshared);
	if (r || (!nd && !c->nshared)) {
		free(dups);
		return r;
	}
	windows = malloc((nd + 1) * sizeof(*windows));
	if (!windows) {
		free(dups);
		return sc_check_errf(c, -ENOMEM, "out of memory");
	}
	for (i = 0; i < nd; i++)
		windows[i] = sc_kmodel_window(dups[i]);
	r = collect(c, windows, sc_sort_unique_u64(windows, nd), &win, &shr);
	for (i = 0; i < nd && !r; i++)
		r = resolve_dup(c, &win, dups[i]);
	for (i = 0; i < c->nshared && !r; i++)
		r = resolve_shared(c, &shr, c->shared[i]);
	free(win.v);
	free(shr.v);
	free(windows);
	free(dups);
	return r;
}

