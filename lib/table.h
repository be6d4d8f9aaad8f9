/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * In-memory exception table: origin chunk -> COW chunk.
 *
 * Runs of consecutive chunks (old and new both rising by one) are kept
 * once, as the kernel's dm_insert_exception combines them, so a COW
 * written sequentially costs almost nothing and a random one costs at
 * most 16 bytes an exception.
 */
#ifndef SNAPCOW_TABLE_H
#define SNAPCOW_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct sc_table;

struct sc_table *sc_table_new(void);
void sc_table_free(struct sc_table *t);

/*
 * Bulk load: append in any order (as records come off the disk), then
 * sc_table_build() once.  For an old chunk given more than once the
 * first appended wins (the kernel's lookup usually finds the first
 * inserted; the store corrects the exceptions, store-dups.c);
 * every later one is reported through @dup and dropped.
 */
int sc_table_append(struct sc_table *t, uint64_t old_chunk, uint64_t new_chunk);
typedef void (*sc_dup_fn)(void *ctx, uint64_t old_chunk, uint64_t kept_new,
			  uint64_t dropped_new);
int sc_table_build(struct sc_table *t, sc_dup_fn dup, void *ctx);

/*
 * Online insert after build (engine writes): -EEXIST when @old_chunk is
 * already mapped.  Amortised cheap; lookups stay O(log n).
 */
int sc_table_insert(struct sc_table *t, uint64_t old_chunk, uint64_t new_chunk);
/* Forget @count chunks from @old_chunk (merge); absent chunks ignored. */
int sc_table_remove(struct sc_table *t, uint64_t old_chunk, uint64_t count);

/* 1 and *new_chunk when mapped, 0 when not. */
int sc_table_lookup(const struct sc_table *t, uint64_t old_chunk,
		    uint64_t *new_chunk);

/* Exceptions, not runs. */
uint64_t sc_table_count(const struct sc_table *t);
/* Heap bytes held by the table. */
size_t sc_table_bytes(const struct sc_table *t);

/* Runs in old-chunk order; a non-zero return stops and is returned. */
typedef int (*sc_run_fn)(void *ctx, uint64_t old_chunk, uint64_t new_chunk,
			 uint64_t count);
int sc_table_foreach(const struct sc_table *t, sc_run_fn fn, void *ctx);

#endif /* SNAPCOW_TABLE_H */
