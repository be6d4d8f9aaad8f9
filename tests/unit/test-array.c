/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lib/array.c: the library's one sort and one growable array, checked
 * against a plain insertion sort and by hand.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "memdev.h"
#include "tap.h"

static bool sorted(const uint64_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (v[i - 1] > v[i])
			return false;
	return true;
}

/* Same multiset: sort a copy the slow way and compare. */
static bool same_keys(const uint64_t *v, const uint64_t *orig, size_t n)
{
	uint64_t *w = malloc((n ? n : 1) * sizeof(*w));
	bool same;

	memcpy(w, orig, n * sizeof(*w));
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && w[j - 1] > w[j]; j--) {
			uint64_t t = w[j];

			w[j] = w[j - 1];
			w[j - 1] = t;
		}
	same = !memcmp(v, w, n * sizeof(*w));
	free(w);
	return same;
}

static void test_sort(void)
{
	/* Small (insertion), radix sized, wide and narrow key ranges. */
	static const size_t sizes[] = { 0, 1, 2, 47, 48, 49, 1000, 5000 };
	static const uint64_t masks[] = { 1, 255, 0xffff, UINT64_MAX };
	struct prng rng;

	prng_seed(&rng, 12);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
		for (size_t m = 0; m < sizeof(masks) / sizeof(*masks); m++) {
			size_t n = sizes[s];
			uint64_t *v = malloc((n ? n : 1) * sizeof(*v));
			uint64_t *orig = malloc((n ? n : 1) * sizeof(*v));

			for (size_t i = 0; i < n; i++)
				v[i] = orig[i] = prng_next(&rng) & masks[m];
			sc_sort_u64(v, n);
			ok(sorted(v, n) && same_keys(v, orig, n),
			   "%zu keys under %#llx", n,
			   (unsigned long long)masks[m]);
			free(v);
			free(orig);
		}
	}
}

static void test_sort_unique(void)
{
	uint64_t v[] = { 9, 3, UINT64_MAX, 3, 0, 9, 9, 1 << 20, 0 };
	static const uint64_t want[] = { 0, 3, 9, 1 << 20, UINT64_MAX };
	size_t n = sc_sort_unique_u64(v, sizeof(v) / sizeof(*v));

	ok_eq(n, 5, "five distinct");
	ok(!memcmp(v, want, sizeof(want)), "in order");
	ok_eq(sc_sort_unique_u64(v, 0), 0, "empty");
	ok(sc_bsearch_u64(want, 5, 0), "finds the first");
	ok(sc_bsearch_u64(want, 5, UINT64_MAX), "finds the last");
	ok(sc_bsearch_u64(want, 5, 1 << 20), "finds one inside");
	ok(!sc_bsearch_u64(want, 5, 4), "not 4");
	ok(!sc_bsearch_u64(want, 0, 0), "nothing in an empty set");
}

static void test_grow(void)
{
	uint32_t *v = NULL;
	size_t cap = 0;

	ok_eq(sc_grow((void **)&v, &cap, 1, sizeof(*v)), 0, "first");
	ok_eq(cap, 64, "starts at 64");
	ok_eq(sc_grow((void **)&v, &cap, 64, sizeof(*v)), 0, "fits");
	ok_eq(cap, 64, "no change");
	v[63] = 7;
	ok_eq(sc_grow((void **)&v, &cap, 65, sizeof(*v)), 0, "one more");
	ok_eq(cap, 128, "doubled");
	ok_eq(sc_grow((void **)&v, &cap, 1000, sizeof(*v)), 0, "many more");
	ok_eq(cap, 1024, "doubled to fit");
	ok_eq(v[63], 7, "kept");
	ok_eq(sc_grow((void **)&v, &cap, SIZE_MAX / 2, 16), -ENOMEM,
	      "too large");
	ok_eq(cap, 1024, "left as it was");
	free(v);
}

int main(void)
{
	plan(3);
	run(test_sort);
	run(test_sort_unique);
	run(test_grow);
	return done();
}
