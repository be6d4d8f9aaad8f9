/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * In-memory exception table.
 *
 * The map is a sorted array of 16-byte runs: the first old chunk, and the
 * first new chunk (56 bits, as the kernel's dm_chunk_number) packed with
 * the run length less one (8 bits, as DM_CHUNK_CONSECUTIVE_BITS).
 * A random COW costs 16 bytes an exception; a sequential one, whose new
 * chunks only break their run at each metadata area, costs almost nothing.
 *
 * Bulk load appends records into segments that grow to a fixed size, so
 * loading never holds a doubled array.  Build copies them into one array
 * (freeing each segment once copied), sorts it stably with a quarter-size
 * scratch buffer and compacts it into runs in place: peak 20 bytes an
 * exception plus one segment.
 *
 * Online inserts extend a neighbouring run when they can, and otherwise go
 * to a small sorted side array merged into the main one once it holds
 * about sqrt(2 n) runs, so an insert costs O(sqrt n) amortised instead of
 * O(n).  Removals trim runs in place and turn emptied runs into
 * tombstones, dropped at the next merge.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

#define NEW_BITS	56
#define NEW_MASK	((UINT64_C(1) << NEW_BITS) - 1)
#define RUN_MAX		(UINT64_C(1) << (64 - NEW_BITS))
/* No live run has all bits set: its new chunks would pass 2^56. */
#define TOMBSTONE	UINT64_MAX

#define SEG_MIN		256u
#define SEG_MAX		65536u		/* records: 1 MiB */
#define SIDE_MIN	256u
#define SMALL_SORT	32u
#define RADIX_BITS	11
#define RADIX_SIZE	(1u << RADIX_BITS)
#define RADIX_DIGITS	((64 + RADIX_BITS - 1) / RADIX_BITS)
#define NONE		SIZE_MAX

/* A run, or during bulk load a record: new chunk < 2^56 is a run of 1. */
struct sc_run {
	uint64_t old;
	uint64_t v;
};

struct sc_seg {
	struct sc_run *recs;
	size_t len;
	size_t cap;
};

struct sc_table {
	struct sc_run *runs;	/* sorted by old; may hold tombstones */
	size_t nruns;
	size_t ntomb;
	struct sc_run *side;	/* sorted by old, disjoint from runs */
	size_t nside;
	size_t side_cap;
	uint64_t count;
	struct sc_seg *segs;	/* bulk load, in append order */
	size_t nsegs;
	size_t segs_cap;
	uint64_t pending;
	bool built;
};

static inline uint64_t run_new(const struct sc_run *r)
{
	return r->v & NEW_MASK;
}

static inline uint64_t run_len(const struct sc_run *r)
{
	return (r->v >> NEW_BITS) + 1;
}

static inline bool run_dead(const struct sc_run *r)
{
	return r->v == TOMBSTONE;
}

static inline void run_set(struct sc_run *r, uint64_t old, uint64_t new_chunk,
			   uint64_t len)
{
	r->old = old;
	r->v = new_chunk | ((len - 1) << NEW_BITS);
}

/* @x lies in @r, written so that a run ending at 2^64 - 1 cannot wrap. */
static inline bool run_has(const struct sc_run *r, uint64_t x)
{
	return x >= r->old && x - r->old < run_len(r);
}

/* @b continues @a in both old and new chunks, and the sum fits one run. */
static bool run_joins(const struct sc_run *a, const struct sc_run *b)
{
	uint64_t len = run_len(a);

	return b->old - a->old == len && b->old > a->old &&
	       run_new(b) - run_new(a) == len &&
	       len + run_len(b) <= RUN_MAX;
}

struct sc_table *sc_table_new(void)
{
	return calloc(1, sizeof(struct sc_table));
}

static void free_segs(struct sc_table *t)
{
	for (size_t i = 0; i < t->nsegs; i++)
		free(t->segs[i].recs);
	free(t->segs);
	t->segs = NULL;
	t->nsegs = 0;
	t->segs_cap = 0;
	t->pending = 0;
}

void sc_table_free(struct sc_table *t)
{
	if (!t)
		return;
	free_segs(t);
	free(t->runs);
	free(t->side);
	free(t);
}

/* -------------------------------------------------------------- bulk load */

/* Segments double up to SEG_MAX: small tables stay small, big ones never
 * reallocate what they already hold. */
static struct sc_seg *seg_room(struct sc_table *t)
{
	struct sc_seg *s = t->nsegs ? &t->segs[t->nsegs - 1] : NULL;
	size_t cap = s ? s->cap * 2 : SEG_MIN;

	if (s && s->len < s->cap)
		return s;
	if (t->nsegs == t->segs_cap) {
		size_t n = t->segs_cap ? 2 * t->segs_cap : 8;
		struct sc_seg *segs = realloc(t->segs, n * sizeof(*segs));

		if (!segs)
			return NULL;
		t->segs = segs;
		t->segs_cap = n;
	}
	if (cap > SEG_MAX)
		cap = SEG_MAX;
	s = &t->segs[t->nsegs];
	s->recs = malloc(cap * sizeof(*s->recs));
	if (!s->recs)
		return NULL;
	s->len = 0;
	s->cap = cap;
	t->nsegs++;
	return s;
}

int sc_table_append(struct sc_table *t, uint64_t old_chunk, uint64_t new_chunk)
{
	struct sc_seg *s;

	if (t->built)
		return -EINVAL;
	if (new_chunk > NEW_MASK)
		return -ERANGE;
	s = seg_room(t);
	if (!s)
		return -ENOMEM;
	s->recs[s->len].old = old_chunk;
	s->recs[s->len].v = new_chunk;
	s->len++;
	t->pending++;
	return 0;
}

static void insertion_sort(struct sc_run *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct sc_run x = a[i];
		size_t j = i;

		for (; j > 0 && a[j - 1].old > x.old; j--)
			a[j] = a[j - 1];
		a[j] = x;
	}
}

/*
 * Stable LSD radix sort of @a by old chunk through @tmp (as long as @a).
 * Digits on which every key agrees are skipped, so chunk numbers below
 * 2^33 take three passes.
 */
static int radix_sort(struct sc_run *a, struct sc_run *tmp, size_t n)
{
	size_t (*cnt)[RADIX_SIZE] = calloc(RADIX_DIGITS, sizeof(*cnt));
	struct sc_run *src = a, *dst = tmp;

	if (!cnt)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		for (unsigned int d = 0; d < RADIX_DIGITS; d++)
			cnt[d][(a[i].old >> (d * RADIX_BITS)) &
			       (RADIX_SIZE - 1)]++;
	for (unsigned int d = 0; d < RADIX_DIGITS; d++) {
		unsigned int shift = d * RADIX_BITS;
		size_t sum = 0;

		if (cnt[d][(a[0].old >> shift) & (RADIX_SIZE - 1)] == n)
			continue;
		for (unsigned int b = 0; b < RADIX_SIZE; b++) {
			size_t c = cnt[d][b];

			cnt[d][b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[cnt[d][(src[i].old >> shift) &
				   (RADIX_SIZE - 1)]++] = src[i];
		struct sc_run *swap = src;

		src = dst;
		dst = swap;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
	free(cnt);
	return 0;
}

/*
 * Merge sorted a[0, m) with the sorted a[m, m + k), which came later, from
 * the back through @tmp (k long).  On equal keys the later part lands
 * later, keeping the sort stable.
 */
static void merge_back(struct sc_run *a, size_t m, size_t k,
		       struct sc_run *tmp)
{
	size_t i = m, j = k, w = m + k;

	memcpy(tmp, a + m, k * sizeof(*a));
	while (j > 0) {
		if (i > 0 && a[i - 1].old > tmp[j - 1].old)
			a[--w] = a[--i];
		else
			a[--w] = tmp[--j];
	}
}

/* A sequential copy comes off the disk already sorted. */
static bool is_sorted(const struct sc_run *a, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (a[i - 1].old > a[i].old)
			return false;
	return true;
}

/*
 * Sort in quarters, then merge each quarter onto the sorted prefix: the
 * scratch buffer is n/4 long and the extra merging costs 1.25 n moves.
 */
static int stable_sort(struct sc_run *a, size_t n)
{
	size_t q = (n + 3) / 4;
	struct sc_run *tmp;
	int r = 0;

	if (n <= SMALL_SORT) {
		insertion_sort(a, n);
		return 0;
	}
	if (is_sorted(a, n))
		return 0;
	tmp = malloc(q * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	for (size_t off = 0; off < n && !r; off += q) {
		size_t k = n - off < q ? n - off : q;

		r = radix_sort(a + off, tmp, k);
		if (!r && off)
			merge_back(a, off, k, tmp);
	}
	free(tmp);
	return r;
}

/*
 * One array of every record in append order.  It grows a segment at a
 * time as each segment is freed, so the records are never held twice
 * (glibc grows large blocks with mremap, without copying).
 */
static struct sc_run *gather(struct sc_table *t)
{
	struct sc_run *a = NULL;
	size_t off = 0;

	for (size_t i = 0; i < t->nsegs; i++) {
		struct sc_seg *s = &t->segs[i];
		struct sc_run *grown = realloc(a, (off + s->len) * sizeof(*a));

		if (!grown)
			goto fail;
		a = grown;
		memcpy(a + off, s->recs, s->len * sizeof(*a));
		off += s->len;
		free(s->recs);
		s->recs = NULL;
		s->cap = 0;
	}
	free_segs(t);
	return a;
fail:
	/*
	 * Putting records back would need memory too; a failed build leaves
	 * an empty table, which the caller drops anyway.
	 */
	free(a);
	free_segs(t);
	return NULL;
}

/* Sorted records into runs, in place; later duplicates reported. */
static size_t compact_sorted(struct sc_run *a, size_t n, sc_dup_fn dup,
			     void *ctx)
{
	size_t w = 0;

	for (size_t i = 1; i < n; i++) {
		struct sc_run *r = &a[w];
		uint64_t last = r->old + run_len(r) - 1;

		if (a[i].old == last) {
			if (dup)
				dup(ctx, last, run_new(r) + run_len(r) - 1,
				    a[i].v);
			continue;
		}
		if (run_joins(r, &a[i]))
			r->v += UINT64_C(1) << NEW_BITS;
		else
			a[++w] = a[i];
	}
	return n ? w + 1 : 0;
}

int sc_table_build(struct sc_table *t, sc_dup_fn dup, void *ctx)
{
	struct sc_run *a, *shrunk;
	size_t n = t->pending, w;
	int r;

	if (t->built)
		return n ? -EINVAL : 0;
	if (!n) {
		t->built = true;
		return 0;
	}
	a = gather(t);
	if (!a)
		return -ENOMEM;
	r = stable_sort(a, n);
	if (r) {
		free(a);
		return r;
	}
	w = compact_sorted(a, n, dup, ctx);
	t->count = 0;
	for (size_t i = 0; i < w; i++)
		t->count += run_len(&a[i]);
	/* A failed shrink keeps the larger block, which is still valid. */
	shrunk = realloc(a, w * sizeof(*a));
	t->runs = shrunk ? shrunk : a;
	t->nruns = w;
	t->built = true;
	return 0;
}

/* ---------------------------------------------------------------- lookup */

/* Index of the last run starting at or before @x, or NONE. */
static size_t find_pred(const struct sc_run *a, size_t n, uint64_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a[mid].old <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : NONE;
}

/*
 * A tombstone found as predecessor means "unmapped": every live run
 * before it ends before the tombstone's old chunk (see extend_run()).
 */
static const struct sc_run *find_in(const struct sc_run *a, size_t n,
				    uint64_t x)
{
	size_t i = find_pred(a, n, x);

	if (i == NONE || run_dead(&a[i]) || !run_has(&a[i], x))
		return NULL;
	return &a[i];
}

int sc_table_lookup(const struct sc_table *t, uint64_t old_chunk,
		    uint64_t *new_chunk)
{
	const struct sc_run *r = find_in(t->runs, t->nruns, old_chunk);

	if (!r)
		r = find_in(t->side, t->nside, old_chunk);
	if (!r)
		return 0;
	if (new_chunk)
		*new_chunk = run_new(r) + (old_chunk - r->old);
	return 1;
}

uint64_t sc_table_count(const struct sc_table *t)
{
	return t->count;
}

size_t sc_table_bytes(const struct sc_table *t)
{
	size_t bytes = sizeof(*t) + t->nruns * sizeof(struct sc_run) +
		       t->side_cap * sizeof(struct sc_run) +
		       t->segs_cap * sizeof(struct sc_seg);

	for (size_t i = 0; i < t->nsegs; i++)
		bytes += t->segs[i].cap * sizeof(struct sc_run);
	return bytes;
}

/* ---------------------------------------------------------------- insert */

/*
 * Grow a run by @x at either end.  The predecessor may only grow into @x
 * because the next entry starts after @x; so no tombstone ever sits after
 * a live run whose chunks reach it, which find_in() relies on.
 */
static bool extend_run(struct sc_run *a, size_t n, uint64_t x,
		       uint64_t new_chunk)
{
	size_t i = find_pred(a, n, x);
	size_t j = i == NONE ? 0 : i + 1;
	struct sc_run *r;

	if (i != NONE && !run_dead(&a[i])) {
		r = &a[i];
		if (x - r->old == run_len(r) &&
		    new_chunk - run_new(r) == run_len(r) &&
		    run_len(r) < RUN_MAX) {
			r->v += UINT64_C(1) << NEW_BITS;
			return true;
		}
	}
	if (j < n && !run_dead(&a[j]) && x != UINT64_MAX) {
		r = &a[j];
		if (r->old == x + 1 && run_new(r) == new_chunk + 1 &&
		    run_len(r) < RUN_MAX) {
			run_set(r, x, new_chunk, run_len(r) + 1);
			return true;
		}
	}
	return false;
}

/* A tombstone just before @x can take it without moving anything. */
static bool reuse_tombstone(struct sc_table *t, uint64_t x,
			    uint64_t new_chunk)
{
	size_t i = find_pred(t->runs, t->nruns, x);

	if (i == NONE || !run_dead(&t->runs[i]))
		return false;
	run_set(&t->runs[i], x, new_chunk, 1);
	t->ntomb--;
	return true;
}

static size_t side_limit(const struct sc_table *t)
{
	/* sqrt(2 n) balances the side insert's memmove against merging. */
	size_t n = 2 * t->nruns, s = SIDE_MIN;

	while (s * s < n)
		s *= 2;
	return s;
}

static int side_insert(struct sc_table *t, const struct sc_run *run)
{
	size_t i = find_pred(t->side, t->nside, run->old);

	i = i == NONE ? 0 : i + 1;
	if (t->nside == t->side_cap) {
		size_t cap = t->side_cap ? 2 * t->side_cap : 16;
		struct sc_run *side = realloc(t->side, cap * sizeof(*side));

		if (!side)
			return -ENOMEM;
		t->side = side;
		t->side_cap = cap;
	}
	memmove(t->side + i + 1, t->side + i,
		(t->nside - i) * sizeof(*run));
	t->side[i] = *run;
	t->nside++;
	return 0;
}

/* Join adjacent runs and drop tombstones, in place. */
static size_t compact_runs(struct sc_run *a, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		if (run_dead(&a[i]))
			continue;
		if (w && run_joins(&a[w - 1], &a[i]))
			a[w - 1].v += run_len(&a[i]) << NEW_BITS;
		else
			a[w++] = a[i];
	}
	return w;
}

/* Fold the side array into the main one (and drop tombstones): O(n). */
static int merge_side(struct sc_table *t)
{
	size_t n = t->nruns + t->nside, i = t->nruns, j = t->nside;
	struct sc_run *a = t->runs;

	if (t->nside) {
		a = realloc(t->runs, n * sizeof(*a));
		if (!a)
			return -ENOMEM;
		t->runs = a;
	}
	while (j > 0) {
		if (i > 0 && a[i - 1].old > t->side[j - 1].old)
			a[--n] = a[--i];
		else
			a[--n] = t->side[--j];
	}
	n = compact_runs(a, t->nruns + t->nside);
	t->nruns = n;
	t->ntomb = 0;
	t->nside = 0;
	if (t->side_cap > side_limit(t)) {
		free(t->side);
		t->side = NULL;
		t->side_cap = 0;
	}
	if (!n) {
		free(t->runs);
		t->runs = NULL;
		return 0;
	}
	/* Shrinking only gives memory back; keep the block if it fails. */
	a = realloc(t->runs, n * sizeof(*a));
	if (a)
		t->runs = a;
	return 0;
}

static int make_ready(struct sc_table *t)
{
	if (t->built)
		return 0;
	if (t->pending)
		return -EINVAL;
	t->built = true;
	return 0;
}

int sc_table_insert(struct sc_table *t, uint64_t old_chunk, uint64_t new_chunk)
{
	struct sc_run run;
	int r = make_ready(t);

	if (r)
		return r;
	if (new_chunk > NEW_MASK)
		return -ERANGE;
	if (sc_table_lookup(t, old_chunk, NULL))
		return -EEXIST;
	if (extend_run(t->runs, t->nruns, old_chunk, new_chunk) ||
	    extend_run(t->side, t->nside, old_chunk, new_chunk) ||
	    reuse_tombstone(t, old_chunk, new_chunk)) {
		t->count++;
		return 0;
	}
	run_set(&run, old_chunk, new_chunk, 1);
	r = side_insert(t, &run);
	if (r)
		return r;
	t->count++;
	if (t->nside > side_limit(t))
		return merge_side(t);
	return 0;
}

/* ---------------------------------------------------------------- remove */

/*
 * Cut [first, last] out of @r; returns the chunks removed.  A run cut in
 * the middle keeps its head and leaves its tail in @tail, setting @split.
 */
static uint64_t cut_run(struct sc_run *r, uint64_t first, uint64_t last,
			struct sc_run *tail, bool *split)
{
	uint64_t len = run_len(r), end = r->old + len - 1;
	uint64_t from = first > r->old ? first : r->old;
	uint64_t to = last < end ? last : end;
	uint64_t new_chunk = run_new(r);

	if (from > to)
		return 0;
	if (from == r->old && to == end) {
		r->v = TOMBSTONE;
		return len;
	}
	if (from == r->old) {
		run_set(r, to + 1, new_chunk + (to + 1 - r->old), end - to);
		return to - from + 1;
	}
	if (to < end) {
		run_set(tail, to + 1, new_chunk + (to + 1 - r->old), end - to);
		*split = true;
	}
	run_set(r, r->old, new_chunk, from - r->old);
	return to - from + 1;
}

static uint64_t remove_main(struct sc_table *t, uint64_t first, uint64_t last,
			    struct sc_run *tail, bool *split)
{
	size_t i = find_pred(t->runs, t->nruns, first);
	uint64_t removed = 0;

	for (i = i == NONE ? 0 : i; i < t->nruns && t->runs[i].old <= last;
	     i++) {
		struct sc_run *r = &t->runs[i];

		if (run_dead(r))
			continue;
		removed += cut_run(r, first, last, tail, split);
		if (run_dead(r))
			t->ntomb++;
		if (*split)
			break;	/* the range lay inside this run */
	}
	return removed;
}

/* The side array is small: close the gaps at once. */
static uint64_t remove_side(struct sc_table *t, uint64_t first, uint64_t last,
			    struct sc_run *tail, bool *split)
{
	size_t i = find_pred(t->side, t->nside, first), w;
	uint64_t removed = 0;

	i = i == NONE ? 0 : i;
	for (w = i; i < t->nside; i++) {
		struct sc_run *r = &t->side[i];

		if (r->old <= last && !*split)
			removed += cut_run(r, first, last, tail, split);
		if (!run_dead(r))
			t->side[w++] = *r;
	}
	t->nside = w;
	return removed;
}

int sc_table_remove(struct sc_table *t, uint64_t old_chunk, uint64_t count)
{
	uint64_t last;
	struct sc_run tail;
	bool split = false;
	int r = make_ready(t);

	if (r || !count)
		return r;
	last = count - 1 > UINT64_MAX - old_chunk ? UINT64_MAX :
						     old_chunk + count - 1;
	t->count -= remove_main(t, old_chunk, last, &tail, &split);
	if (!split)
		t->count -= remove_side(t, old_chunk, last, &tail, &split);
	if (split) {
		r = side_insert(t, &tail);
		if (r)
			return r;
	}
	if (t->nside > side_limit(t) ||
	    (t->ntomb > SIDE_MIN && t->ntomb > t->nruns / 2))
		return merge_side(t);
	return 0;
}

/* --------------------------------------------------------------- foreach */

struct walk {
	struct sc_run cur;
	uint64_t cur_len;
	bool have;
	sc_run_fn fn;
	void *ctx;
};

/* Report runs joined across the 64 Ki limit and the two arrays. */
static int walk_push(struct walk *w, const struct sc_run *r)
{
	uint64_t len = run_len(r);
	int ret;

	if (w->have && r->old - w->cur.old == w->cur_len &&
	    r->old > w->cur.old &&
	    run_new(r) - run_new(&w->cur) == w->cur_len) {
		w->cur_len += len;
		return 0;
	}
	if (w->have) {
		ret = w->fn(w->ctx, w->cur.old, run_new(&w->cur), w->cur_len);
		if (ret)
			return ret;
	}
	w->cur = *r;
	w->cur_len = len;
	w->have = true;
	return 0;
}

int sc_table_foreach(const struct sc_table *t, sc_run_fn fn, void *ctx)
{
	struct walk w = { .fn = fn, .ctx = ctx };
	size_t i = 0, j = 0;
	int ret;

	while (i < t->nruns || j < t->nside) {
		const struct sc_run *r;

		if (i < t->nruns && run_dead(&t->runs[i])) {
			i++;
			continue;
		}
		if (j >= t->nside ||
		    (i < t->nruns && t->runs[i].old < t->side[j].old))
			r = &t->runs[i++];
		else
			r = &t->side[j++];
		ret = walk_push(&w, r);
		if (ret)
			return ret;
	}
	if (!w.have)
		return 0;
	return fn(ctx, w.cur.old, run_new(&w.cur), w.cur_len);
}
