/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The exception list re-read from the device (list.c): the one pass
 * over the areas shared by the store's record walk, the loader's
 * duplicate resolution and the checker's second look at collisions.
 */
#ifndef SNAPCOW_LIST_H
#define SNAPCOW_LIST_H

#include "snapcow.h"

/* A record with where it lives; g is its index on the list. */
struct sc_rec {
	uint64_t old_chunk;
	uint64_t new_chunk;
	uint64_t g;		/* area * epa + slot */
};

typedef int (*sc_list_fn)(void *ctx, const struct sc_rec *rec);

/*
 * Read the areas of @cow (chunk size @cs) from area 0 to @last_area,
 * which holds @last_count records, and call @fn for each record in list
 * order; with @all_slots, for every slot of those areas.  Areas past the
 * device's end are not read.  A non-zero return from @fn stops the walk
 * and is returned; a read that fails returns its -errno with the area
 * and the device's message in @err.
 */
int sc_list_walk(struct snapcow_dev *cow, uint32_t cs, uint64_t last_area,
		 uint64_t last_count, bool all_slots, sc_list_fn fn,
		 void *ctx, char *err, size_t errlen);

#endif /* SNAPCOW_LIST_H */
