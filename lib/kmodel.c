// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A userspace model of how the kernel's completed-exception table
 * resolves two records for one origin chunk (drivers/md/dm-snap.c,
 * dm_insert_exception and dm_lookup_exception; dm-exception-store.h for
 * the consecutive count kept in the top 8 bits of new_chunk).
 *
 * The table hashes old_chunk >> DM_CHUNK_CONSECUTIVE_BITS (8) into at
 * least 64 buckets, so a run can never cross a 256-chunk window and the
 * entries of one window keep the same relative order whatever other
 * windows share their bucket.  Modelling one window is therefore exact.
 *
 * What it shows: a later duplicate normally lands after the earlier
 * entry (the walk only stops at a larger old_chunk) and lookup returns
 * the first match, so the EARLIER record wins; but if the later record
 * extends an entry that sits before the earlier one in the bucket list
 * (old == e->old + count + 1 and new == e->new + count + 1), it is merged
 * into that run and the LATER record wins.
 */
#include "config.h"

#include <stdlib.h>

#include "kmodel.h"

#define KM_NUMBER_BITS	56
#define KM_NUMBER_MASK	((UINT64_C(1) << KM_NUMBER_BITS) - 1)

struct km_entry {
	uint64_t old_chunk;
	uint64_t new_chunk;	/* count in the top 8 bits, as the kernel */
};

static uint64_t km_count(const struct km_entry *e)
{
	return e->new_chunk >> KM_NUMBER_BITS;
}

/*
 * dm_insert_exception() with a non-zero hash_shift.  Unsigned wrap-around
 * is the kernel's own chunk_t arithmetic.  A count overflow is a BUG_ON
 * in the kernel; here it wraps.
 */
static void km_insert(struct km_entry *l, size_t *n, uint64_t old_chunk,
		      uint64_t new_chunk)
{
	uint64_t inc = UINT64_C(1) << KM_NUMBER_BITS;
	size_t i;

	for (i = 0; i < *n; i++) {
		struct km_entry *e = &l[i];
		uint64_t cnt = km_count(e);
		uint64_t num = e->new_chunk & KM_NUMBER_MASK;

		if (old_chunk == e->old_chunk + cnt + 1 &&
		    new_chunk == num + cnt + 1) {
			e->new_chunk += inc;
			return;
		}
		if (old_chunk == e->old_chunk - 1 && new_chunk == num - 1) {
			e->new_chunk += inc;
			e->old_chunk--;
			e->new_chunk--;
			return;
		}
		if (old_chunk < e->old_chunk)
			break;
	}
	/* head when empty, before e on a break, else behind the last. */
	for (size_t j = *n; j > i; j--)
		l[j] = l[j - 1];
	l[i].old_chunk = old_chunk;
	l[i].new_chunk = new_chunk;
	(*n)++;
}

int sc_kmodel_lookup(const struct sc_rec *recs, size_t n, uint64_t chunk,
		     uint64_t *new_chunk)
{
	struct km_entry *l = calloc(n ? n : 1, sizeof(*l));
	size_t len = 0, i;
	int found = 0;

	if (!l)
		return -1;
	for (i = 0; i < n; i++)
		km_insert(l, &len, recs[i].old_chunk, recs[i].new_chunk);
	for (i = 0; i < len; i++) {
		if (chunk >= l[i].old_chunk &&
		    chunk <= l[i].old_chunk + km_count(&l[i])) {
			*new_chunk = (l[i].new_chunk & KM_NUMBER_MASK) +
				     (chunk - l[i].old_chunk);
			found = 1;
			break;
		}
	}
	free(l);
	return found;
}
