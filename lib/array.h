/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SNAPCOW_ARRAY_H
#define SNAPCOW_ARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Make room in the array *@p of *@cap elements of @size bytes for @need
 * of them, doubling from 64: 0 or -ENOMEM (the array is left as it was).
 */
int sc_grow(void **p, size_t *cap, size_t need, size_t size);
/* Sort in place: an MSD radix sort that needs no second array. */
void sc_sort_u64(uint64_t *v, size_t n);
/* Sort and drop repeats; returns how many stay. */
size_t sc_sort_unique_u64(uint64_t *v, size_t n);
/* Whether the sorted @v holds @key. */
bool sc_bsearch_u64(const uint64_t *v, size_t n, uint64_t key);

#endif /* SNAPCOW_ARRAY_H */
