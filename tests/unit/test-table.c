/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lib/table.c against a brute-force reference: a plain array indexed by
 * old chunk.  Random cases are seeded, so a failure reproduces.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "tap.h"

#define UNMAPPED	UINT64_MAX
#define NEW_LIMIT	(UINT64_C(1) << 56)

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: fast, and the same sequence on every host. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

/* ------------------------------------------------------------ reference */

struct ref {
	uint64_t *map;		/* new chunk per old chunk, or UNMAPPED */
	uint64_t size;
	uint64_t count;
};

static void ref_init(struct ref *r, uint64_t size)
{
	r->map = malloc(size * sizeof(*r->map));
	for (uint64_t i = 0; i < size; i++)
		r->map[i] = UNMAPPED;
	r->size = size;
	r->count = 0;
}

/* What foreach reported, replayed onto a second array. */
struct seen {
	const struct ref *ref;
	uint64_t *map;
	uint64_t next_old;	/* runs must rise and not touch */
	uint64_t next_new;
	uint64_t calls;
	uint64_t total;
	bool bad_order;
	bool unmerged;
	bool out_of_range;
};

static int seen_run(void *ctx, uint64_t old_chunk, uint64_t new_chunk,
		    uint64_t count)
{
	struct seen *s = ctx;

	if (s->calls && old_chunk < s->next_old)
		s->bad_order = true;
	if (s->calls && old_chunk == s->next_old && new_chunk == s->next_new)
		s->unmerged = true;
	if (old_chunk >= s->ref->size || count > s->ref->size - old_chunk ||
	    !count) {
		s->out_of_range = true;
		return 0;
	}
	for (uint64_t i = 0; i < count; i++)
		s->map[old_chunk + i] = new_chunk + i;
	s->next_old = old_chunk + count;
	s->next_new = new_chunk + count;
	s->calls++;
	s->total += count;
	return 0;
}

/* Every lookup, the count and the foreach walk agree with @r. */
static void check_ref(const struct sc_table *t, const struct ref *r)
{
	struct seen s = { .ref = r };
	uint64_t bad_lookups = 0, got;

	for (uint64_t i = 0; i < r->size; i++) {
		int found = sc_table_lookup(t, i, &got);

		if (found != (r->map[i] != UNMAPPED) ||
		    (found && got != r->map[i]))
			bad_lookups++;
	}
	ok_eq(bad_lookups, 0, "lookups disagree with the reference");
	ok(!sc_table_lookup(t, r->size, NULL), "nothing past the domain");
	ok_eq(sc_table_count(t), r->count, "count");

	s.map = malloc(r->size * sizeof(*s.map));
	for (uint64_t i = 0; i < r->size; i++)
		s.map[i] = UNMAPPED;
	ok_eq(sc_table_foreach(t, seen_run, &s), 0, "foreach");
	ok(!s.bad_order, "foreach in old-chunk order");
	ok(!s.unmerged, "adjacent consecutive runs reported as one");
	ok(!s.out_of_range, "foreach stays in the domain");
	ok_eq(s.total, r->count, "foreach total");
	ok(!memcmp(s.map, r->map, r->size * sizeof(*s.map)),
	   "foreach reports the reference's mapping");
	free(s.map);
}

struct dups {
	const struct ref *ref;
	uint64_t calls;
	uint64_t wrong;
	uint64_t last_old, last_kept, last_dropped;
};

static void dup_cb(void *ctx, uint64_t old_chunk, uint64_t kept_new,
		   uint64_t dropped_new)
{
	struct dups *d = ctx;

	d->calls++;
	d->last_old = old_chunk;
	d->last_kept = kept_new;
	d->last_dropped = dropped_new;
	if (d->ref && (old_chunk >= d->ref->size ||
		       d->ref->map[old_chunk] != kept_new))
		d->wrong++;
}

/* -------------------------------------------------------------- tests */

static void test_empty(void)
{
	struct sc_table *t = sc_table_new();
	struct ref r;
	uint64_t got = 7;

	ok(t != NULL, "new");
	ok_eq(sc_table_build(t, NULL, NULL), 0, "build of nothing");
	ok_eq(sc_table_lookup(t, 0, &got), 0, "empty lookup");
	ok_eq(got, 7, "lookup leaves *new_chunk alone when unmapped");
	ok(sc_table_bytes(t) > 0, "the handle counts");
	ref_init(&r, 16);
	check_ref(t, &r);
	free(r.map);
	sc_table_free(t);
	sc_table_free(NULL);
}

/*
 * Random records with many duplicates and short runs, in sizes that take
 * the insertion sort, one radix quarter and several quarters.
 */
static void build_random(uint64_t n, uint64_t domain, uint64_t seed)
{
	struct sc_table *t = sc_table_new();
	struct ref r;
	struct dups d = { .ref = &r };
	uint64_t expect_dups = 0;

	rng_state = seed;
	ref_init(&r, domain);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t old = rnd() % domain;
		/* Half the time continue a run, so runs form. */
		uint64_t new_chunk = rnd() % 2 ? old + 1000 :
						 rnd() % NEW_LIMIT;

		if (r.map[old] == UNMAPPED) {
			r.map[old] = new_chunk;
			r.count++;
		} else {
			expect_dups++;
		}
		ok_eq(sc_table_append(t, old, new_chunk), 0, "append");
	}
	ok_eq(sc_table_lookup(t, 0, NULL) + sc_table_count(t), 0,
	      "nothing visible before build");
	ok_eq(sc_table_build(t, dup_cb, &d), 0, "build");
	ok_eq(d.calls, expect_dups, "every later duplicate reported");
	ok_eq(d.wrong, 0, "duplicates name the first appended as kept");
	check_ref(t, &r);
	free(r.map);
	sc_table_free(t);
}

static void test_build_random(void)
{
	build_random(10, 8, 1);
	build_random(1000, 3000, 2);
	build_random(20000, 30000, 3);
	build_random(300000, 200000, 4);
}

/* Keys spread over 64 bits take every radix pass; compare with qsort. */
struct rec {
	uint64_t old, new_chunk, seq;
};

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->old != y->old)
		return x->old < y->old ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void test_build_wide_keys(void)
{
	const uint64_t n = 50000;
	struct rec *v = malloc(n * sizeof(*v));
	struct sc_table *t = sc_table_new();
	struct dups d = { 0 };
	uint64_t wrong = 0, got, distinct = 0;

	rng_state = 5;
	for (uint64_t i = 0; i < n; i++) {
		/* Reuse some keys so that duplicates cross quarters. */
		v[i].old = i > 100 && rnd() % 10 == 0 ? v[rnd() % i].old :
							rnd();
		v[i].new_chunk = rnd() % NEW_LIMIT;
		v[i].seq = i;
		sc_table_append(t, v[i].old, v[i].new_chunk);
	}
	ok_eq(sc_table_build(t, dup_cb, &d), 0, "build");
	qsort(v, n, sizeof(*v), rec_cmp);
	for (uint64_t i = 0; i < n; i++) {
		if (i && v[i].old == v[i - 1].old)
			continue;
		distinct++;
		if (sc_table_lookup(t, v[i].old, &got) != 1 ||
		    got != v[i].new_chunk)
			wrong++;
	}
	ok_eq(wrong, 0, "first appended wins for every key");
	ok_eq(sc_table_count(t), distinct, "count");
	ok_eq(d.calls, n - distinct, "duplicates");
	free(v);
	sc_table_free(t);
}

static void test_duplicates(void)
{
	struct sc_table *t = sc_table_new();
	struct dups d = { 0 };
	uint64_t got = 0;

	sc_table_append(t, 5, 100);
	sc_table_append(t, 6, 101);
	sc_table_append(t, 5, 200);
	sc_table_build(t, dup_cb, &d);
	ok_eq(d.calls, 1, "one duplicate");
	ok_eq(d.last_old, 5, "its old chunk");
	ok_eq(d.last_kept, 100, "the first appended is kept");
	ok_eq(d.last_dropped, 200, "the later one is dropped");
	ok(sc_table_lookup(t, 5, &got) && got == 100, "5 -> 100");
	ok_eq(sc_table_count(t), 2, "count");
	sc_table_free(t);

	/* Without a callback, duplicates are dropped silently. */
	t = sc_table_new();
	sc_table_append(t, 9, 1);
	sc_table_append(t, 9, 2);
	sc_table_append(t, 9, 3);
	ok_eq(sc_table_build(t, NULL, NULL), 0, "build without callback");
	ok(sc_table_lookup(t, 9, &got) && got == 1, "9 -> 1");
	ok_eq(sc_table_count(t), 1, "count");
	sc_table_free(t);

	/* A duplicate of a run's last chunk names that chunk's mapping. */
	t = sc_table_new();
	d.calls = 0;
	sc_table_append(t, 20, 30);
	sc_table_append(t, 21, 31);
	sc_table_append(t, 22, 32);
	sc_table_append(t, 21, 77);
	sc_table_build(t, dup_cb, &d);
	ok_eq(d.calls, 1, "one duplicate");
	ok_eq(d.last_kept, 31, "kept new chunk inside a run");
	ok_eq(d.last_dropped, 77, "dropped");
	sc_table_free(t);
}

struct one_run {
	uint64_t calls, old, new_chunk, count;
};

static int one_run_cb(void *ctx, uint64_t old_chunk, uint64_t new_chunk,
		      uint64_t count)
{
	struct one_run *o = ctx;

	if (!o->calls++) {
		o->old = old_chunk;
		o->new_chunk = new_chunk;
		o->count = count;
	}
	return 0;
}

/* Shuffled consecutive records fold into one run, stored in a few bytes. */
static void test_runs_merge(void)
{
	const uint64_t n = 5000;
	uint64_t *perm = malloc(n * sizeof(*perm));
	struct sc_table *t = sc_table_new();
	struct one_run o = { 0 };

	for (uint64_t i = 0; i < n; i++)
		perm[i] = i;
	rng_state = 6;
	for (uint64_t i = n - 1; i > 0; i--) {
		uint64_t j = rnd() % (i + 1), x = perm[i];

		perm[i] = perm[j];
		perm[j] = x;
	}
	for (uint64_t i = 0; i < n; i++)
		sc_table_append(t, 1000 + perm[i], 2 + perm[i]);
	sc_table_build(t, NULL, NULL);
	sc_table_foreach(t, one_run_cb, &o);
	ok_eq(o.calls, 1, "one run");
	ok_eq(o.old, 1000, "run start");
	ok_eq(o.new_chunk, 2, "run new start");
	ok_eq(o.count, n, "run length");
	ok(sc_table_bytes(t) < 512, "one run is small: %zu bytes",
	   sc_table_bytes(t));
	free(perm);
	sc_table_free(t);
}

/* A run longer than one entry holds is split and reported whole. */
static void test_run_limit(void)
{
	const uint64_t n = 200000;
	struct sc_table *t = sc_table_new();
	struct one_run o = { 0 };
	uint64_t got;
	const uint64_t probe[] = { 0, 255, 256, 257, 65535, 65536, n - 1 };

	for (uint64_t i = 0; i < n; i++)
		sc_table_append(t, 10 + i, 20 + i);
	sc_table_build(t, NULL, NULL);
	for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++)
		ok(sc_table_lookup(t, 10 + probe[i], &got) &&
		   got == 20 + probe[i], "lookup %llu",
		   (unsigned long long)probe[i]);
	ok(!sc_table_lookup(t, 10 + n, NULL), "past the run");
	ok(!sc_table_lookup(t, 9, NULL), "before the run");
	sc_table_foreach(t, one_run_cb, &o);
	ok_eq(o.calls, 1, "reported as one run");
	ok_eq(o.count, n, "whole length");
	/* Entries hold 256 chunks each, as the kernel's consecutive count. */
	ok(sc_table_bytes(t) < n / 10, "under 0.1 byte an exception: %zu",
	   sc_table_bytes(t));
	ok_eq(sc_table_count(t), n, "count");
	sc_table_free(t);
}

struct counter {
	uint64_t calls;
	uint64_t stop_at;
};

static int count_cb(void *ctx, uint64_t old_chunk, uint64_t new_chunk,
		    uint64_t count)
{
	struct counter *c = ctx;

	(void)old_chunk;
	(void)new_chunk;
	(void)count;
	return ++c->calls == c->stop_at ? 42 : 0;
}

/* Allocation order skips a metadata chunk every 256 (4 KiB chunks). */
static void test_metadata_skip(void)
{
	const uint64_t n = 256 * 40 + 10;
	struct sc_table *t = sc_table_new();
	struct counter c = { 0 };
	uint64_t next = 2;

	for (uint64_t i = 0; i < n; i++) {
		if (next % 257 == 1)
			next++;
		sc_table_append(t, 7 + i, next++);
	}
	sc_table_build(t, NULL, NULL);
	ok_eq(sc_table_foreach(t, count_cb, &c), 0, "foreach");
	ok_eq(c.calls, 41, "a run per area, the last one short");
	ok(sc_table_bytes(t) < 1024, "%zu bytes", sc_table_bytes(t));

	c.calls = 0;
	c.stop_at = 3;
	ok_eq(sc_table_foreach(t, count_cb, &c), 42, "stop value returned");
	ok_eq(c.calls, 3, "stopped at once");
	sc_table_free(t);
}

static void test_insert_basic(void)
{
	struct sc_table *t = sc_table_new();
	struct counter c = { 0 };
	uint64_t got;
	size_t bytes;

	sc_table_append(t, 100, 10);
	ok_eq(sc_table_insert(t, 1, 1), -EINVAL, "insert before build");
	sc_table_build(t, NULL, NULL);
	ok_eq(sc_table_append(t, 1, 1), -EINVAL, "append after build");
	bytes = sc_table_bytes(t);
	ok_eq(sc_table_insert(t, 101, 11), 0, "extend at the end");
	ok_eq(sc_table_insert(t, 99, 9), 0, "extend at the front");
	ok_eq(sc_table_bytes(t), bytes, "extending costs nothing");
	ok_eq(sc_table_insert(t, 100, 55), -EEXIST, "mapped");
	ok_eq(sc_table_insert(t, 50, 70), 0, "gap before");
	ok_eq(sc_table_insert(t, 50, 71), -EEXIST, "mapped in the side array");
	ok_eq(sc_table_insert(t, 51, 71), 0, "extend a side run");
	ok_eq(sc_table_insert(t, 103, 13), 0, "gap of one after");
	ok_eq(sc_table_insert(t, 102, 12), 0, "fill the gap");
	ok_eq(sc_table_insert(t, 7, NEW_LIMIT), -ERANGE, "new chunk >= 2^56");
	ok_eq(sc_table_insert(t, 7, NEW_LIMIT - 1), 0, "new chunk 2^56 - 1");
	ok_eq(sc_table_count(t), 8, "count");
	ok(sc_table_lookup(t, 102, &got) && got == 12, "102 -> 12");
	ok(sc_table_lookup(t, 51, &got) && got == 71, "51 -> 71");
	ok(!sc_table_lookup(t, 52, NULL), "52 unmapped");
	ok_eq(sc_table_foreach(t, count_cb, &c), 0, "foreach");
	ok_eq(c.calls, 3, "7, 50-51 and 99-103");
	sc_table_free(t);

	t = sc_table_new();
	ok_eq(sc_table_insert(t, 3, 4), 0, "insert into a never built table");
	ok(sc_table_lookup(t, 3, &got) && got == 4, "3 -> 4");
	ok_eq(sc_table_append(t, 1, 1), -EINVAL, "no append after insert");
	sc_table_free(t);

	t = sc_table_new();
	ok_eq(sc_table_append(t, 1, NEW_LIMIT), -ERANGE, "append range");
	ok_eq(sc_table_append(t, UINT64_MAX, 5), 0, "old chunk 2^64 - 1");
	ok_eq(sc_table_append(t, UINT64_MAX - 1, 4), 0, "and before it");
	sc_table_build(t, NULL, NULL);
	ok_eq(sc_table_insert(t, 0, 6), 0, "0 does not follow 2^64 - 1");
	ok(sc_table_lookup(t, UINT64_MAX, &got) && got == 5, "top chunk");
	ok(sc_table_lookup(t, 0, &got) && got == 6, "chunk 0");
	c.calls = 0;
	sc_table_foreach(t, count_cb, &c);
	ok_eq(c.calls, 2, "no wrap-around run");
	sc_table_free(t);
}

/*
 * Random inserts, removals and lookups against the reference, enough to
 * fill the side array many times and pile up tombstones.
 */
static void mutate_random(uint64_t domain, uint64_t initial, uint64_t ops,
			  uint64_t seed)
{
	struct sc_table *t = sc_table_new();
	struct ref r;
	uint64_t next_new = 2, wrong = 0;

	rng_state = seed;
	ref_init(&r, domain);
	for (uint64_t i = 0; i < initial; i++) {
		uint64_t old = rnd() % domain;

		if (r.map[old] == UNMAPPED) {
			r.map[old] = next_new;
			r.count++;
		}
		sc_table_append(t, old, next_new++);
	}
	sc_table_build(t, NULL, NULL);
	for (uint64_t i = 0; i < ops; i++) {
		uint64_t old = rnd() % domain, kind = rnd() % 8;

		if (kind < 5) {
			/* Mostly sequential writes, as a copy would do. */
			int expect = r.map[old] == UNMAPPED ? 0 : -EEXIST;

			if (sc_table_insert(t, old, next_new) != expect)
				wrong++;
			if (!expect) {
				r.map[old] = next_new++;
				r.count++;
			}
		} else {
			uint64_t n = kind == 7 ? rnd() % 300 : rnd() % 4;

			sc_table_remove(t, old, n);
			for (uint64_t k = old; k < old + n && k < domain; k++)
				if (r.map[k] != UNMAPPED) {
					r.map[k] = UNMAPPED;
					r.count--;
				}
		}
		if (i % (ops / 4) == 0)
			check_ref(t, &r);
	}
	ok_eq(wrong, 0, "insert results");
	check_ref(t, &r);
	free(r.map);
	sc_table_free(t);
}

static void test_insert_random(void)
{
	mutate_random(2000, 0, 20000, 7);
	mutate_random(50000, 20000, 60000, 8);
	mutate_random(1000000, 0, 30000, 9);
}

static void test_insert_sequential(void)
{
	const uint64_t n = 150000;
	struct sc_table *t = sc_table_new();
	struct ref r;

	ref_init(&r, 5000 + n);
	sc_table_build(t, NULL, NULL);
	for (uint64_t i = 0; i < n; i++) {
		if (sc_table_insert(t, 5000 + i, 2 + i))
			break;
		r.map[5000 + i] = 2 + i;
	}
	r.count = n;
	check_ref(t, &r);
	ok(sc_table_bytes(t) < n / 10, "runs extended in place: %zu bytes",
	   sc_table_bytes(t));
	free(r.map);
	sc_table_free(t);
}

/* Runs that grew to touch each other are joined when the side merges. */
static void test_insert_joins(void)
{
	const uint64_t n = 4000;
	struct sc_table *t = sc_table_new();
	struct counter c = { 0 };
	size_t before;

	sc_table_build(t, NULL, NULL);
	for (uint64_t i = 0; i < n; i += 2)
		sc_table_insert(t, i, 10 + i);
	for (uint64_t i = 1; i < n; i += 2)
		sc_table_insert(t, i, 10 + i);
	before = sc_table_bytes(t);
	ok(before >= 16 * n / 2, "one entry per pair: %zu bytes", before);
	for (uint64_t i = 0; i < 300; i++)
		sc_table_insert(t, 2 * n + 7 * i, 1);
	ok(sc_table_bytes(t) < before / 2, "joined: %zu bytes",
	   sc_table_bytes(t));
	sc_table_foreach(t, count_cb, &c);
	ok_eq(c.calls, 301, "one run and the singles");
	ok_eq(sc_table_count(t), n + 300, "count");
	sc_table_free(t);
}

static void test_remove(void)
{
	struct sc_table *t = sc_table_new();
	struct ref r;
	uint64_t got;

	ref_init(&r, 400);
	for (uint64_t i = 0; i < 100; i++) {
		sc_table_append(t, 100 + i, 1000 + i);
		r.map[100 + i] = 1000 + i;
	}
	r.count = 100;
	sc_table_build(t, NULL, NULL);

	ok_eq(sc_table_remove(t, 140, 10), 0, "split a run");
	for (uint64_t i = 140; i < 150; i++)
		r.map[i] = UNMAPPED;
	r.count -= 10;
	check_ref(t, &r);
	ok(sc_table_lookup(t, 150, &got) && got == 1050, "tail moved");

	ok_eq(sc_table_remove(t, 90, 15), 0, "trim the front");
	ok_eq(sc_table_remove(t, 195, 1000), 0, "trim the end");
	for (uint64_t i = 100; i < 105; i++)
		r.map[i] = UNMAPPED;
	for (uint64_t i = 195; i < 200; i++)
		r.map[i] = UNMAPPED;
	r.count -= 10;
	check_ref(t, &r);

	ok_eq(sc_table_remove(t, 300, 50), 0, "absent chunks");
	ok_eq(sc_table_remove(t, 120, 0), 0, "nothing");
	check_ref(t, &r);

	ok_eq(sc_table_remove(t, 0, UINT64_MAX), 0, "everything");
	ok_eq(sc_table_count(t), 0, "empty");
	for (uint64_t i = 0; i < 400; i++)
		r.map[i] = UNMAPPED;
	r.count = 0;
	check_ref(t, &r);

	ok_eq(sc_table_insert(t, 120, 5), 0, "reinsert after removal");
	ok(sc_table_lookup(t, 120, &got) && got == 5, "120 -> 5");
	ok_eq(sc_table_remove(t, UINT64_MAX, 10), 0, "range past 2^64");
	ok_eq(sc_table_count(t), 1, "count");
	free(r.map);
	sc_table_free(t);
}

/* The kernel's merge removes the list from its end, run by run. */
static void test_remove_all_runs(void)
{
	const uint64_t n = 3000;
	struct sc_table *t = sc_table_new();
	uint64_t left = 0;

	rng_state = 10;
	for (uint64_t i = 0; i < n; i++)
		sc_table_append(t, i * 5, 2 + i);
	sc_table_build(t, NULL, NULL);
	for (uint64_t i = n; i-- > 0;)
		sc_table_remove(t, i * 5, 1);
	for (uint64_t i = 0; i < n * 5; i++)
		left += sc_table_lookup(t, i, NULL);
	ok_eq(left, 0, "all gone");
	ok_eq(sc_table_count(t), 0, "count");
	ok(sc_table_bytes(t) < 16 * n / 2, "tombstones dropped: %zu bytes",
	   sc_table_bytes(t));
	sc_table_free(t);
}

int main(void)
{
	plan(13);
	run(test_empty);
	run(test_build_random);
	run(test_build_wide_keys);
	run(test_duplicates);
	run(test_runs_merge);
	run(test_run_limit);
	run(test_metadata_skip);
	run(test_insert_basic);
	run(test_insert_random);
	run(test_insert_sequential);
	run(test_insert_joins);
	run(test_remove);
	run(test_remove_all_runs);
	return done();
}
