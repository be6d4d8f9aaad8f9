// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Duplicate origin chunks on load: map each to the record the kernel
 * serves.
 *
 * sc_table_build() keeps the first record listed for an origin chunk.
 * The kernel usually serves that one too, but its completed-exception
 * table merges a record into a run of consecutive chunks listed before
 * it, so a later duplicate that extends such a run is the one it serves
 * (kmodel.c; tests/kernel/kernel-dup.bats shows it on Linux 6.1).
 * Duplicates are rare (only damage makes them), so they cost nothing
 * until one turns up: then the records of each duplicated chunk's hash
 * window are read again, the kernel model picks the winner, and the
 * table is corrected where it disagrees.  Export, snapshot reads and
 * merge then see the data the kernel would.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "array.h"
#include "kmodel.h"
#include "store.h"

struct dup_recs {
	const uint64_t *windows;	/* sorted */
	size_t nwin;
	struct sc_rec *v;
	size_t n;
	size_t cap;
};

/* Keep the live records whose old chunk lies in one of the windows. */
static int collect_one(void *ctx, const struct sc_rec *rec)
{
	struct dup_recs *d = ctx;
	int r;

	if (!sc_bsearch_u64(d->windows, d->nwin,
			    sc_kmodel_window(rec->old_chunk)))
		return 0;
	r = sc_grow((void **)&d->v, &d->cap, d->n + 1, sizeof(*d->v));
	if (!r)
		d->v[d->n++] = *rec;
	return r;
}

/* Remap @old_chunk to the COW chunk the kernel model serves. */
static int resolve_one(struct snapcow_store *s, const struct sc_rec *recs,
		       size_t n, struct sc_rec *scratch, uint64_t old_chunk)
{
	uint64_t served, kept;
	size_t m = 0;
	int found, r;

	for (size_t i = 0; i < n; i++)
		if (sc_kmodel_window(recs[i].old_chunk) ==
		    sc_kmodel_window(old_chunk))
			scratch[m++] = recs[i];
	found = sc_kmodel_lookup(scratch, m, old_chunk, &served);
	if (found < 0)
		return -ENOMEM;
	if (!found || sc_table_lookup(s->table, old_chunk, &kept) != 1 ||
	    kept == served)
		return 0;
	r = sc_table_remove(s->table, old_chunk, 1);
	if (!r)
		r = sc_table_insert(s->table, old_chunk, served);
	/* Served from past 2^56 chunks: keep the first, as the load does. */
	if (r == -ERANGE)
		r = sc_table_insert(s->table, old_chunk, kept);
	return r;
}

int sc_store_resolve_dups(struct snapcow_store *s, uint64_t *olds, size_t n)
{
	struct dup_recs d = { 0 };
	struct sc_rec *scratch = NULL;
	uint64_t *windows;
	size_t i;
	int r;

	n = sc_sort_unique_u64(olds, n);
	windows = malloc(n * sizeof(*windows));
	if (!windows)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		windows[i] = sc_kmodel_window(olds[i]);
	d.windows = windows;
	d.nwin = sc_sort_unique_u64(windows, n);
	r = sc_list_walk(s->cow, s->cs, s->current_area, s->current_committed,
			 false, collect_one, &d, s->err, sizeof(s->err));
	if (!r && d.n) {
		scratch = malloc(d.n * sizeof(*scratch));
		if (!scratch)
			r = -ENOMEM;
	}
	for (i = 0; i < n && !r; i++)
		r = resolve_one(s, d.v, d.n, scratch, olds[i]);
	free(scratch);
	free(d.v);
	free(windows);
	return r;
}
