/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's lookup model (kmodel.c), shared by the loader
 * (store-dups.c) and the checker: which of two records for one origin
 * chunk the kernel serves.
 */
#ifndef SNAPCOW_KMODEL_H
#define SNAPCOW_KMODEL_H

#include "list.h"

/*
 * dm-snap.c: persistent stores hash old_chunk >> DM_CHUNK_CONSECUTIVE_BITS,
 * so records can only interact within one window of 256 chunks.
 */
#define SC_KMODEL_WINDOW_BITS	8

static inline uint64_t sc_kmodel_window(uint64_t old_chunk)
{
	return old_chunk >> SC_KMODEL_WINDOW_BITS;
}

/*
 * The kernel's completed-exception table for the records of one hash
 * window, in list order: dm_insert_exception() for each, then
 * dm_lookup_exception().  Returns 1 and the COW chunk the kernel serves
 * for @chunk, 0 when it serves none, or -1 when out of memory.
 */
int sc_kmodel_lookup(const struct sc_rec *recs, size_t n, uint64_t chunk,
		     uint64_t *new_chunk);

#endif /* SNAPCOW_KMODEL_H */
