/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Crash injection through the concurrent engine: a seeded workload of
 * origin writes, snapshot writes and snapshot reads (one thread, so that
 * every write index is reached in a known order, then four threads) runs
 * with the device layer "crashing" (every write after the Nth lost) or
 * failing one write, on either COW or on the origin, for every N the
 * workload reaches.  After each run the stores are reloaded from their
 * bytes: every acknowledged write must be there (origin and snapshots),
 * a snapshot is either intact or durably invalid (never silently wrong),
 * and the checker finds nothing else.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapcow.h"
#include "memdev.h"
#include "tap.h"

#define KIB 1024u
#define NSNAPS 2
#define OPS_PER_THREAD 24
#define MAX_LEN 9000u

static const uint32_t css[NSNAPS] = { 1, 8 };	/* 512 B: 32 per area */

struct dev_model {
	struct memdev *m;
	unsigned char *ref;	/* what acknowledged writes left */
	unsigned char *unsure;	/* bytes a failed write may have changed */
	pthread_mutex_t lock;	/* serialises overlapping test I/O */
};

struct crash_run {
	uint64_t size;
	struct dev_model origin;
	struct dev_model snaps[NSNAPS];
	struct snapcow_store *s[NSNAPS];
	struct snapcow_origin *eng;
	unsigned int threads;
	atomic_ulong bad_reads;
};

static struct memdev *base_origin, *base_cow[NSNAPS];

static void make_bases(uint64_t size)
{
	char err[SNAPCOW_ERRBUF_SIZE];

	base_origin = memdev_new(size, "origin");
	for (uint64_t i = 0; i < size; i++)
		base_origin->buf[i] = (unsigned char)(i * 13 + (i >> 9));
	for (int k = 0; k < NSNAPS; k++) {
		uint64_t cb = css[k] * 512u, chunks = size / cb + 1;

		base_cow[k] = memdev_new((chunks + chunks / (cb / 16) + 4) * cb,
					 "cow");
		if (snapcow_store_format(base_cow[k]->dev, css[k], err,
					 sizeof(err)))
			abort();
	}
}

static void model_init(struct dev_model *d, struct memdev *m,
		       const unsigned char *image, uint64_t size)
{
	d->m = m;
	d->ref = malloc(size);
	memcpy(d->ref, image, size);
	d->unsure = calloc(size, 1);
	pthread_mutex_init(&d->lock, NULL);
}

static void model_fini(struct dev_model *d)
{
	memdev_free(d->m);
	free(d->ref);
	free(d->unsure);
	pthread_mutex_destroy(&d->lock);
}

static void model_write(struct dev_model *d, const unsigned char *data,
			uint64_t off, uint64_t len, int r)
{
	memcpy(d->ref + off, data, len);
	memset(d->unsure + off, r != 0, len);
}

/* Equal wherever no failed write may have left its mark. */
static bool model_same(const struct dev_model *d, const unsigned char *img,
		       uint64_t off, uint64_t len)
{
	for (uint64_t i = off; i < off + len; i++)
		if (!d->unsure[i] && img[i - off] != d->ref[i])
			return false;
	return true;
}

struct worker {
	struct crash_run *cr;
	unsigned int id;
	pthread_t t;
};

static void one_op(struct crash_run *cr, struct prng *rng,
		   unsigned char *data)
{
	char err[SNAPCOW_ERRBUF_SIZE];
	uint64_t kind = prng_below(rng, 10), k = prng_below(rng, NSNAPS);
	uint64_t len = 1 + prng_below(rng, MAX_LEN), off;
	struct dev_model *d = kind < 5 ? &cr->origin : &cr->snaps[k];
	int r;

	if (prng_below(rng, 4) == 0)
		len = 4096;
	off = prng_below(rng, cr->size - len + 1);
	if (len == 4096)
		off -= off % 4096;
	prng_fill(rng, data, len);
	pthread_mutex_lock(&d->lock);
	if (kind < 5) {
		r = snapcow_origin_pwrite(cr->eng, data, len, off, 0, err,
					  sizeof(err));
		model_write(d, data, off, len, r);
	} else if (kind < 8) {
		r = snapcow_snap_pwrite(cr->eng, cr->s[k], data, len, off, 0,
					err, sizeof(err));
		model_write(d, data, off, len, r);
	} else {
		r = snapcow_snap_pread(cr->eng, cr->s[k], data, len, off, err,
				       sizeof(err));
		if (!r && !model_same(d, data, off, len))
			atomic_fetch_add(&cr->bad_reads, 1);
	}
	pthread_mutex_unlock(&d->lock);
}

/*
 * Whole-device locks keep the model exact: the point is the crash, and
 * the engine's own interleavings are the threaded model test's job.
 * Four threads still overlap origin and snapshot I/O.
 */
static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	unsigned char *data = malloc(MAX_LEN);
	struct prng rng;

	prng_seed(&rng, 77 + wk->id);
	for (int i = 0; i < OPS_PER_THREAD * 4 / (int)wk->cr->threads; i++)
		one_op(wk->cr, &rng, data);
	free(data);
	return NULL;
}

static void run_init(struct crash_run *cr, uint64_t size,
		     unsigned int threads)
{
	char err[SNAPCOW_ERRBUF_SIZE];

	memset(cr, 0, sizeof(*cr));
	cr->size = size;
	cr->threads = threads;
	model_init(&cr->origin, memdev_clone(base_origin, "origin"),
		   base_origin->buf, size);
	if (snapcow_origin_new(cr->origin.m->dev, &cr->eng, err, sizeof(err)))
		abort();
	for (int k = 0; k < NSNAPS; k++) {
		model_init(&cr->snaps[k], memdev_clone(base_cow[k], "cow"),
			   base_origin->buf, size);
		if (snapcow_store_load(cr->snaps[k].m->dev, 0,
				       SNAPCOW_STORE_WRITE, &cr->s[k], err,
				       sizeof(err)) ||
		    snapcow_origin_add_snapshot(cr->eng, cr->s[k], err,
						sizeof(err)))
			abort();
	}
}

static void run_workload(struct crash_run *cr)
{
	struct worker wk[4];

	for (unsigned int i = 0; i < cr->threads; i++) {
		wk[i] = (struct worker){ .cr = cr, .id = i };
		pthread_create(&wk[i].t, NULL, worker_main, &wk[i]);
	}
	for (unsigned int i = 0; i < cr->threads; i++)
		pthread_join(wk[i].t, NULL);
	snapcow_origin_free(cr->eng);
	for (int k = 0; k < NSNAPS; k++)
		snapcow_store_free(cr->s[k]);
}

static void run_fini(struct crash_run *cr)
{
	model_fini(&cr->origin);
	for (int k = 0; k < NSNAPS; k++)
		model_fini(&cr->snaps[k]);
}

static struct memdev *target_dev(struct crash_run *cr, int target)
{
	return target < NSNAPS ? cr->snaps[target].m : cr->origin.m;
}

/* Intact, or durably invalid (then only that finding); clean check. */
static bool snapshot_survived(struct crash_run *cr, int k, bool *invalid)
{
	struct snapcow_check_opts opts = { .origin_bytes = cr->size };
	struct dev_model *d = &cr->snaps[k];
	const struct snapcow_finding *f;
	char err[SNAPCOW_ERRBUF_SIZE];
	struct snapcow_store *s = NULL;
	struct snapcow_check *c;
	unsigned char *img;
	bool good = false;
	size_t nf;

	*invalid = false;
	memdev_reopen(d->m, false);
	if (snapcow_store_load(d->m->dev, 0, 0, &s, err, sizeof(err)))
		return false;
	*invalid = !snapcow_store_valid(s);
	img = malloc(cr->size);
	if (*invalid || (!snapcow_snapshot_read(cr->origin.m->dev, s, img,
						cr->size, 0, err,
						sizeof(err)) &&
			 model_same(d, img, 0, cr->size)))
		good = true;
	free(img);
	snapcow_store_free(s);
	if (snapcow_check(d->m->dev, &opts, &c, err, sizeof(err)))
		return false;
	nf = snapcow_check_findings(c, &f);
	if (nf > (size_t)*invalid ||
	    (nf && f[0].rule != SNAPCOW_RULE_HEADER_INVALID))
		good = false;
	snapcow_check_free(c);
	return good;
}

/* One run: fault @mode at write @n of @target; true when all survived. */
static bool crash_once(unsigned int threads, int target,
		       enum snapcow_fault mode, uint64_t n, uint64_t *writes,
		       unsigned int *invalids)
{
	struct crash_run cr;
	bool good, invalid = false;

	run_init(&cr, base_origin->size, threads);
	snapcow_dev_inject_fault(target_dev(&cr, target)->dev, mode, n);
	run_workload(&cr);
	if (writes)
		*writes = memdev_writes(target_dev(&cr, target));
	good = !atomic_load(&cr.bad_reads) &&
	       model_same(&cr.origin, cr.origin.m->buf, 0, cr.size);
	for (int k = 0; k < NSNAPS; k++) {
		good = snapshot_survived(&cr, k, &invalid) && good;
		*invalids += invalid;
	}
	run_fini(&cr);
	return good;
}

static void crash_sweep(unsigned int threads, enum snapcow_fault mode)
{
	static const char *const names[NSNAPS + 1] = {
		"COW 512 B", "COW 4 KiB", "origin",
	};

	for (int target = 0; target <= NSNAPS; target++) {
		unsigned int invalids = 0;
		uint64_t total = 0, bad = 0, runs = 0;

		if (!crash_once(threads, target, SNAPCOW_FAULT_NONE, 0, &total,
				&invalids))
			bad++;
		ok_eq(invalids, 0, "%s: no fault, nothing invalid", names[target]);
		/* A few past the end: the schedule may differ a little. */
		for (uint64_t n = 0; n <= total + 4; n++, runs++)
			if (!crash_once(threads, target, mode, n, NULL,
					&invalids))
				bad++;
		printf("# %u thread%s, %s at each of %llu writes to %s: %llu bad, %u invalidated\n",
		       threads, threads > 1 ? "s" : "",
		       mode == SNAPCOW_FAULT_CRASH ? "crash" : "failure",
		       (unsigned long long)total, names[target],
		       (unsigned long long)bad, invalids);
		ok_eq(bad, 0, "%u thread%s, %s at each of %llu writes to %s (%u invalidated)",
		      threads, threads > 1 ? "s" : "",
		      mode == SNAPCOW_FAULT_CRASH ? "crash" : "failure",
		      (unsigned long long)total, names[target], invalids);
		ok(total > 20, "%s: %llu writes reached", names[target],
		   (unsigned long long)total);
		if (mode == SNAPCOW_FAULT_CRASH)
			ok(invalids == 0,
			   "%s: a crash never leaves an invalid snapshot",
			   names[target]);
	}
}

static void test_crash_one_thread(void)
{
	crash_sweep(1, SNAPCOW_FAULT_CRASH);
}

static void test_crash_four_threads(void)
{
	crash_sweep(4, SNAPCOW_FAULT_CRASH);
}

static void test_fail_one_write(void)
{
	crash_sweep(1, SNAPCOW_FAULT_FAIL);
}

int main(void)
{
	make_bases(96 * KIB + 512);
	plan(3);
	run(test_crash_one_thread);
	run(test_crash_four_threads);
	run(test_fail_one_write);
	memdev_free(base_origin);
	for (int k = 0; k < NSNAPS; k++)
		memdev_free(base_cow[k]);
	return done();
}
