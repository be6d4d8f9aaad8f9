// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Duplicate origin chunks on load: map each to the record the kernel
 * serves.
 *
 * sc_table_build() keeps the first record listed for an origin chunk.
 * The kernel usually serves that one too, but its completed-exception
 * table merges a record into a run of consecutive chunks listed before
 * it, so a later duplicate that extends such a run is the one it serves
 * (check-kmodel.c; tests/kernel/kernel-dup.bats shows it on Linux 6.1).
 * Duplicates are rare (only damage makes them), so they cost nothing
 * until one turns up: then the records of each duplicated chunk's hash
 * window are read again, the kernel model picks the winner, and the
 * table is corrected where it disagrees.  Export, snapshot reads and
 * merge then see the data the kernel would.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "store.h"

/* dm-snap.c: persistent stores hash old_chunk >> DM_CHUNK_CONSECUTIVE_BITS. */
#define WINDOW_BITS 8

static int cmp_u64(const void *a, const void *b)
{
	const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort and drop repeats; returns the new length. */
static size_t sort_unique(uint64_t *v, size_t n)
{
	size_t w = 0;

	qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < n; i++)
		if (!w || v[w - 1] != v[i])
			v[w++] = v[i];
	return w;
}

static int push(struct sc_rec **v, size_t *n, size_t *cap,
		const struct sc_rec *rec)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct sc_rec *p = realloc(*v, c * sizeof(**v));

		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = *rec;
	return 0;
}

/* The live records whose old chunk lies in one of @windows, in list order. */
static int collect(struct snapcow_store *s, const uint64_t *windows,
		   size_t nwin, struct sc_rec **out, size_t *nout)
{
	unsigned char *buf = malloc(s->chunk_bytes);
	struct snapcow_record rec;
	struct sc_rec x;
	size_t cap = 0;
	uint64_t area, i, n, w;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (area = 0; area <= s->current_area && !r; area++) {
		if (snapcow_area_chunk(s->cs, area) >= s->cow_chunks)
			break;
		n = area == s->current_area ? s->current_committed : s->epa;
		if (!n)
			break;
		/* A separate buffer: s->area holds the current area. */
		r = sc_store_read_area(s, area, buf);
		for (i = 0; i < n && !r; i++) {
			snapcow_record_decode(buf, i, &rec);
			w = rec.old_chunk >> WINDOW_BITS;
			if (!bsearch(&w, windows, nwin, sizeof(w), cmp_u64))
				continue;
			x.old_chunk = rec.old_chunk;
			x.new_chunk = rec.new_chunk;
			x.g = area * s->epa + i;
			r = push(out, nout, &cap, &x);
		}
	}
	free(buf);
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
		if (recs[i].old_chunk >> WINDOW_BITS == old_chunk >> WINDOW_BITS)
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
	struct sc_rec *recs = NULL, *scratch = NULL;
	uint64_t *windows;
	size_t nrecs = 0, nwin, i;
	int r;

	n = sort_unique(olds, n);
	windows = malloc(n * sizeof(*windows));
	if (!windows)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		windows[i] = olds[i] >> WINDOW_BITS;
	nwin = sort_unique(windows, n);
	r = collect(s, windows, nwin, &recs, &nrecs);
	if (!r && nrecs) {
		scratch = malloc(nrecs * sizeof(*scratch));
		if (!scratch)
			r = -ENOMEM;
	}
	for (i = 0; i < n && !r; i++)
		r = resolve_one(s, recs, nrecs, scratch, olds[i]);
	free(scratch);
	free(recs);
	free(windows);
	return r;
}
