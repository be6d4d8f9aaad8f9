// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The library's one growable array and one sort: the checker's per-bucket
 * old chunks, its findings and repair plan, and the loader's duplicated
 * chunks all use these.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "array.h"

/* Shorter ranges go to insertion sort. */
#define ARRAY_SORT_SMALL	48u

int sc_grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 64;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / size)
		return -ENOMEM;
	np = realloc(*p, ncap * size);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

static void insertion_sort_u64(uint64_t *v, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		uint64_t x = v[i];

		for (j = i; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/*
 * In-place MSD radix sort (American flag sort) on the 8-bit digit at
 * @shift; every key of @v agrees on the bits above it.  No scratch
 * buffer: the sets sorted may be as long as the exception list.
 */
static void radix_u64(uint64_t *v, size_t n, unsigned int shift)
{
	size_t cnt[256] = { 0 }, head[256], tail[256], sum = 0, i;
	unsigned int b, d;

	if (n <= ARRAY_SORT_SMALL) {
		insertion_sort_u64(v, n);
		return;
	}
	for (i = 0; i < n; i++)
		cnt[(v[i] >> shift) & 255]++;
	for (b = 0; b < 256; b++) {
		head[b] = sum;
		sum += cnt[b];
		tail[b] = sum;
	}
	for (b = 0; b < 256; b++) {
		while (head[b] < tail[b]) {
			uint64_t x = v[head[b]];

			/* Carry x to its bucket, picking up what was there. */
			while ((d = (x >> shift) & 255) != b) {
				uint64_t y = v[head[d]];

				v[head[d]++] = x;
				x = y;
			}
			v[head[b]++] = x;
		}
	}
	if (!shift)
		return;
	for (b = 0, sum = 0; b < 256; sum += cnt[b++])
		if (cnt[b] > 1)
			radix_u64(v + sum, cnt[b], shift >= 8 ? shift - 8 : 0);
}

void sc_sort_u64(uint64_t *v, size_t n)
{
	uint64_t any = 0, all = UINT64_MAX, diff;
	unsigned int top;
	size_t i;

	for (i = 0; i < n; i++) {
		any |= v[i];
		all &= v[i];
	}
	/* Start at the highest bit on which the keys differ. */
	diff = any & ~all;
	if (!diff)
		return;
	top = 63 - (unsigned int)__builtin_clzll(diff);
	radix_u64(v, n, top >= 7 ? top - 7 : 0);
}

bool sc_bsearch_u64(const uint64_t *v, size_t n, uint64_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] == key)
			return true;
		if (v[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

size_t sc_sort_unique_u64(uint64_t *v, size_t n)
{
	size_t i, j = 0;

	if (!n)
		return 0;
	sc_sort_u64(v, n);
	for (i = 1; i < n; i++)
		if (v[i] != v[j])
			v[++j] = v[i];
	return j + 1;
}
