/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Exception table benchmark: memory and time per exception, each against
 * a naive baseline measured in the same run, so figures compare across
 * machines.  It prints and never asserts: a slow host must not fail it.
 *
 *	bench-table [-n EXCEPTIONS] [--big]
 *
 * Workloads: random old chunks (new chunks in allocation order, as the
 * kernel hands them out) and a sequential copy (old chunks consecutive).
 * --big adds 10,000,000 random exceptions.  Each workload runs in its own
 * child so that peak RSS belongs to it alone.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "table.h"

#if defined(__SANITIZE_ADDRESS__)
#define NO_MALLOC_HOOK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_MALLOC_HOOK 1
#endif
#endif

/* 4 KiB chunks: 256 exceptions per area, areas at 1, 258, 515, ... */
#define EPA		256u
#define LOOKUPS		1000000u
#define INSERTS		100000u

/* -------------------------------------------------- malloc accounting */

/*
 * glibc lets a program replace malloc; counting usable sizes gives the
 * table's true peak, which ru_maxrss only bounds from below.  Sanitizers
 * own malloc, so there only RSS is reported.
 */
static long long heap_live, heap_peak;

#ifndef NO_MALLOC_HOOK
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static void heap_add(void *p)
{
	if (!p)
		return;
	heap_live += (long long)malloc_usable_size(p);
	if (heap_live > heap_peak)
		heap_peak = heap_live;
}

static void heap_sub(void *p)
{
	if (p)
		heap_live -= (long long)malloc_usable_size(p);
}

void *malloc(size_t size)
{
	void *p = __libc_malloc(size);

	heap_add(p);
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p = __libc_calloc(n, size);

	heap_add(p);
	return p;
}

void *realloc(void *old, size_t size)
{
	void *p;

	/*
	 * Counted as the new size replacing the old: glibc shrinks in place
	 * and grows large blocks with mremap, never holding both.
	 */
	heap_sub(old);
	p = __libc_realloc(old, size);
	heap_add(p ? p : old);
	return p;
}

void free(void *p)
{
	heap_sub(p);
	__libc_free(p);
}
#endif

static void heap_reset(void)
{
	heap_live = 0;
	heap_peak = 0;
}

/* ------------------------------------------------------------ helpers */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

struct pair {
	uint64_t old;
	uint64_t new_chunk;
};

/* New chunks as the kernel allocates them: from 2, skipping metadata. */
static uint64_t next_new(uint64_t *next)
{
	if (*next % (EPA + 1) == 1)
		(*next)++;
	return (*next)++;
}

static struct pair *make_input(uint64_t n, bool random_old)
{
	struct pair *in = malloc(n * sizeof(*in));
	uint64_t next = 2;

	if (!in)
		return NULL;
	for (uint64_t i = 0; i < n; i++) {
		/* 2^32 chunks: a 16 TiB origin at 4 KiB. */
		in[i].old = random_old ? rnd() & UINT32_MAX : 1000 + i;
		in[i].new_chunk = next_new(&next);
	}
	return in;
}

/* Half the probes hit, half are random (nearly all misses). */
static uint64_t *make_probes(const struct pair *in, uint64_t n)
{
	uint64_t *p = malloc(LOOKUPS * sizeof(*p));

	if (!p)
		return NULL;
	for (uint64_t i = 0; i < LOOKUPS; i++)
		p[i] = i % 2 ? in[rnd() % n].old : rnd() & UINT32_MAX;
	return p;
}

/* ----------------------------------------------------------- baseline */

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	return x->old < y->old ? -1 : x->old > y->old;
}

/* Last index with keys[i] <= x, as the table's search does. */
static int base_lookup(const uint64_t *keys, const uint64_t *vals, size_t n,
		       uint64_t x, uint64_t *out)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (keys[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || keys[lo - 1] != x)
		return 0;
	*out = vals[lo - 1];
	return 1;
}

struct baseline {
	double fill_ns;		/* copying pairs into fresh memory */
	double sort_ns;		/* qsort of {old, new} pairs */
	double lookup_ns;	/* binary search of a sorted uint64 array */
	uint64_t hits;
};

static int run_baseline(const struct pair *in, uint64_t n,
			const uint64_t *probes, struct baseline *b)
{
	struct pair *v = malloc(n * sizeof(*v));
	uint64_t *keys = malloc(n * sizeof(*keys));
	uint64_t *vals = malloc(n * sizeof(*vals));
	double t0;
	uint64_t got = 0;

	if (!v || !keys || !vals) {
		free(v);
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	/* Appending can go no faster than first touch of its memory. */
	t0 = now_ns();
	memcpy(v, in, n * sizeof(*v));
	b->fill_ns = (now_ns() - t0) / n;
	t0 = now_ns();
	qsort(v, n, sizeof(*v), pair_cmp);
	b->sort_ns = (now_ns() - t0) / n;
	for (uint64_t i = 0; i < n; i++) {
		keys[i] = v[i].old;
		vals[i] = v[i].new_chunk;
	}
	free(v);
	b->hits = 0;
	t0 = now_ns();
	for (uint64_t i = 0; i < LOOKUPS; i++)
		b->hits += base_lookup(keys, vals, n, probes[i], &got);
	b->lookup_ns = (now_ns() - t0) / LOOKUPS;
	free(keys);
	free(vals);
	return 0;
}

/* ----------------------------------------------------------- the table */

struct result {
	uint64_t count;
	size_t bytes;
	long long heap_peak;
	long rss_kib;
	double append_ns, build_ns, lookup_ns, insert_ns;
	uint64_t hits;
	size_t bytes_after_inserts;
};

static int run_table(const struct pair *in, uint64_t n,
		     const uint64_t *probes, struct result *res)
{
	struct sc_table *t;
	long rss0 = maxrss_kib();
	double t0, t1;
	uint64_t got = 0, next = n * 2 + 2;
	int r = -ENOMEM;

	heap_reset();
	t = sc_table_new();
	if (!t)
		return -ENOMEM;
	t0 = now_ns();
	for (uint64_t i = 0; i < n; i++) {
		r = sc_table_append(t, in[i].old, in[i].new_chunk);
		if (r)
			goto out;
	}
	t1 = now_ns();
	r = sc_table_build(t, NULL, NULL);
	if (r)
		goto out;
	res->append_ns = (t1 - t0) / n;
	res->build_ns = (now_ns() - t1) / n;
	res->heap_peak = heap_peak;
	res->rss_kib = maxrss_kib() - rss0;
	res->count = sc_table_count(t);
	res->bytes = sc_table_bytes(t);

	res->hits = 0;
	t0 = now_ns();
	for (uint64_t i = 0; i < LOOKUPS; i++)
		res->hits += sc_table_lookup(t, probes[i], &got);
	res->lookup_ns = (now_ns() - t0) / LOOKUPS;

	/* Online writes after load: random chunks, new ones rising. */
	t0 = now_ns();
	for (uint64_t i = 0; i < INSERTS; i++) {
		r = sc_table_insert(t, rnd() & UINT32_MAX, next_new(&next));
		if (r && r != -EEXIST)
			goto out;
	}
	res->insert_ns = (now_ns() - t0) / INSERTS;
	res->bytes_after_inserts = sc_table_bytes(t);
	r = 0;
out:
	sc_table_free(t);
	return r;
}

static void report(const char *name, uint64_t n, const struct result *res,
		   const struct baseline *b)
{
	double per = (double)res->bytes / res->count;

	printf("%s: %" PRIu64 " exceptions appended, %" PRIu64 " kept\n",
	       name, n, res->count);
	printf("  table bytes/exception    %8.3f  (x%.3f of 16 B pairs)\n",
	       per, per / 16);
#ifndef NO_MALLOC_HOOK
	printf("  peak heap bytes/exc      %8.3f  (x%.3f of 16 B pairs)\n",
	       (double)res->heap_peak / n, res->heap_peak / 16.0 / n);
#endif
	printf("  peak RSS growth B/exc    %8.3f\n",
	       res->rss_kib * 1024.0 / n);
	printf("  append ns/exception      %8.2f  (x%.3f of filling fresh "
	       "pairs %.1f ns)\n", res->append_ns,
	       res->append_ns / b->fill_ns, b->fill_ns);
	printf("  build ns/exception       %8.2f  (x%.3f of qsort %.1f ns)\n",
	       res->build_ns, res->build_ns / b->sort_ns, b->sort_ns);
	printf("  lookup ns                %8.2f  (x%.3f of sorted array "
	       "%.1f ns)\n", res->lookup_ns, res->lookup_ns / b->lookup_ns,
	       b->lookup_ns);
	printf("  insert ns (%u random)  %8.2f  (x%.3f of a lookup), "
	       "then %.3f B/exc\n", INSERTS, res->insert_ns,
	       res->insert_ns / res->lookup_ns,
	       (double)res->bytes_after_inserts / (res->count + INSERTS));
	if (res->hits != b->hits)
		printf("  WARNING: %" PRIu64 " hits, baseline %" PRIu64 "\n",
		       res->hits, b->hits);
	fflush(stdout);
}

static int workload(const char *name, uint64_t n, bool random_old)
{
	struct pair *in = make_input(n, random_old);
	uint64_t *probes = in ? make_probes(in, n) : NULL;
	struct baseline b;
	struct result res;
	int r = -ENOMEM;

	if (!probes)
		goto out;
	/* The table first: the baseline's freed memory would hide its RSS. */
	r = run_table(in, n, probes, &res);
	if (r)
		goto out;
	r = run_baseline(in, n, probes, &b);
	if (r)
		goto out;
	report(name, n, &res, &b);
out:
	if (r)
		fprintf(stderr, "%s: %s\n", name, strerror(-r));
	free(probes);
	free(in);
	return r;
}

static int in_child(const char *name, uint64_t n, bool random_old)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (!pid)
		_exit(workload(name, n, random_old) ? 1 : 0);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: bench-table [-n EXCEPTIONS] [--big]\n");
}

int main(int argc, char **argv)
{
	uint64_t n = 1000000;
	bool big = false;
	int fail = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--big")) {
			big = true;
		} else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
			n = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!n) {
		usage(stderr);
		return 2;
	}
	fail |= in_child("random", n, true);
	fail |= in_child("consecutive", n, false);
	if (big)
		fail |= in_child("random-10M", 10000000, true);
	return fail ? 1 : 0;
}
