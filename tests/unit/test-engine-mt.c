/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The concurrent engine under threads, on memory devices: N threads issue
 * seeded random I/O (partial, whole-chunk, chunk-crossing) to an origin
 * and two snapshots of different chunk sizes, one taken and one dropped
 * while the others run, checked against a plain in-memory model; then
 * the stores are reloaded from their bytes, must equal the model's
 * images, commit in allocation order and check clean.
 *
 * Overlapping I/O to one device is serialised by the test (per-sector
 * range locks), so the model is exact whatever the schedule; I/O to
 * different devices is never serialised: a snapshot read racing an origin
 * write to the same bytes must still return the snapshot's image.
 *
 * Usage: test-engine-mt [OPS [THREADS [SEED]]]; without arguments, 150000
 * ops on 8 threads, then 40000 on 32 (queue depth 32).
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
#define MAX_IO (3 * 16 * KIB)

/* ------------------------------------------------- range locks */

struct rlock {
	pthread_mutex_t m;
	pthread_cond_t c;
	unsigned char *busy;	/* per 512-byte sector */
};

static void rlock_init(struct rlock *l, uint64_t size)
{
	pthread_mutex_init(&l->m, NULL);
	pthread_cond_init(&l->c, NULL);
	l->busy = calloc(size / 512 + 1, 1);
}

static void rlock_fini(struct rlock *l)
{
	free(l->busy);
	pthread_cond_destroy(&l->c);
	pthread_mutex_destroy(&l->m);
}

static bool rlock_free_range(struct rlock *l, uint64_t a, uint64_t b)
{
	for (uint64_t s = a; s <= b; s++)
		if (l->busy[s])
			return false;
	return true;
}

static void rlock_take(struct rlock *l, uint64_t off, uint64_t len)
{
	uint64_t a = off / 512, b = (off + (len ? len : 1) - 1) / 512;

	pthread_mutex_lock(&l->m);
	while (!rlock_free_range(l, a, b))
		pthread_cond_wait(&l->c, &l->m);
	memset(l->busy + a, 1, b - a + 1);
	pthread_mutex_unlock(&l->m);
}

static void rlock_give(struct rlock *l, uint64_t off, uint64_t len)
{
	uint64_t a = off / 512, b = (off + (len ? len : 1) - 1) / 512;

	pthread_mutex_lock(&l->m);
	memset(l->busy + a, 0, b - a + 1);
	pthread_cond_broadcast(&l->c);
	pthread_mutex_unlock(&l->m);
}

/* ------------------------------------------------------ the model */

#define NSNAPS 2

struct msnap {
	uint32_t cs;
	struct memdev *cow;
	struct snapcow_store *s;
	unsigned char *ref;
	struct rlock lk;
	atomic_int active;
};

struct world {
	uint64_t size;
	struct memdev *o;
	struct snapcow_origin *eng;
	unsigned char *oref;
	struct rlock olk;
	struct msnap snaps[NSNAPS];
	uint64_t ops_per_thread;
	uint64_t seed;
	uint64_t add_at, remove_at;	/* thread 0's op numbers */
	atomic_ulong failures;
	atomic_ulong mismatches;
	atomic_ulong counts[6];
	pthread_mutex_t msg_lock;
	char first_msg[SNAPCOW_ERRBUF_SIZE + 64];
};

enum { OP_OWRITE, OP_OREAD, OP_SWRITE, OP_SREAD, OP_FLUSH, OP_KINDS };

static void record_failure(struct world *w, const char *what, int r,
			   const char *msg)
{
	if (atomic_fetch_add(&w->failures, 1))
		return;
	pthread_mutex_lock(&w->msg_lock);
	snprintf(w->first_msg, sizeof(w->first_msg), "%s: %d: %s", what, r,
		 msg);
	pthread_mutex_unlock(&w->msg_lock);
}

static struct snapcow_store *load_store(struct memdev *m, uint32_t cs,
				       unsigned int flags)
{
	char err[SNAPCOW_ERRBUF_SIZE];
	struct snapcow_store *s = NULL;

	if (snapcow_store_load(m->dev, cs, flags, &s, err, sizeof(err))) {
		printf("# load: %s\n", err);
		return NULL;
	}
	return s;
}

/* Offset and length: partial, whole chunks, chunk-crossing. */
static void pick_range(struct world *w, struct prng *rng, uint64_t *off,
		       uint64_t *len)
{
	uint64_t kind = prng_below(rng, 10), cb;

	switch (kind) {
	case 0: case 1: case 2:		/* a few bytes anywhere */
		*len = 1 + prng_below(rng, 600);
		*off = prng_below(rng, w->size - *len + 1);
		break;
	case 3: case 4: case 5:		/* whole chunks of either size */
		cb = w->snaps[prng_below(rng, NSNAPS)].cs * 512u;
		*len = cb * (1 + prng_below(rng, 2));
		*off = prng_below(rng, w->size / cb - 1) * cb;
		break;
	case 6: case 7:			/* 4 KiB sector-aligned */
		*len = 4096;
		*off = prng_below(rng, (w->size - *len) / 512 + 1) * 512;
		break;
	default:			/* chunk-crossing, up to 48 KiB */
		*len = 1 + prng_below(rng, MAX_IO);
		*off = prng_below(rng, w->size - *len + 1);
		break;
	}
}

static void do_origin_write(struct world *w, struct prng *rng,
			    unsigned char *data)
{
	char err[SNAPCOW_ERRBUF_SIZE];
	uint64_t off, len;
	unsigned int flags;
	int r;

	pick_range(w, rng, &off, &len);
	prng_fill(rng, data, len);
	flags = prng_below(rng, 8) ? 0 : SNAPCOW_IO_FUA;
	rlock_take(&w->olk, off, len);
	r = snapcow_origin_pwrite(w->eng, data, len, off, flags, err,
				  sizeof(err));
	if (r)
		record_failure(w, "origin write", r, err);
	memcpy(w->oref + off, data, len);
	rlock_give(&w->olk, off, len);
}

static void do_origin_read(struct world *w, struct prng *rng,
			   unsigned char *data)
{
	char err[SNAPCOW_ERRBUF_SIZE];
	uint64_t off, len;
	int r;

	pick_range(w, rng, &off, &len);
	rlock_take(&w->olk, off, len);
	r = snapcow_origin_pread(w->eng, data, len, off, err, sizeof(err));
	if (r)
		record_failure(w, "origin read", r, err);
	else if (memcmp(data, w->oref + off, len))
		atomic_fetch_add(&w->mismatches, 1);
	rlock_give(&w->olk, off, len);
}

/* A snapshot that is taken, or NULL. */
static struct msnap *pick_snap(struct world *w, struct prng *rng)
{
	struct msnap *m = &w->snaps[prng_below(rng, NSNAPS)];

	return atomic_load(&m->active) ? m : NULL;
}

static void do_snap_io(struct world *w, struct prng *rng, unsigned char *data,
		       bool write)
{
	struct msnap *m = pick_snap(w, rng);
	char err[SNAPCOW_ERRBUF_SIZE];
	uint64_t off, len;
	int r;

	if (!m)
		return;
	pick_range(w, rng, &off, &len);
	if (write)
		prng_fill(rng, data, len);
	rlock_take(&m->lk, off, len);
	/* Dropped while we waited for the range. */
	if (!atomic_load(&m->active))
		goto out;
	if (write) {
		r = snapcow_snap_pwrite(w->eng, m->s, data, len, off,
					prng_below(rng, 8) ? 0 : SNAPCOW_IO_FUA,
					err, sizeof(err));
		memcpy(m->ref + off, data, len);
	} else {
		r = snapcow_snap_pread(w->eng, m->s, data, len, off, err,
				       sizeof(err));
		if (!r && memcmp(data, m->ref + off, len))
			atomic_fetch_add(&w->mismatches, 1);
	}
	if (r)
		record_failure(w, write ? "snapshot write" : "snapshot read", r,
			       err);
out:
	rlock_give(&m->lk, off, len);
}

/* Take snapshot 1 at one point of the origin's stream. */
static void take_snapshot(struct world *w, struct msnap *m)
{
	char err[SNAPCOW_ERRBUF_SIZE];
	int r;

	rlock_take(&w->olk, 0, w->size);
	r = snapcow_origin_add_snapshot(w->eng, m->s, err, sizeof(err));
	if (r)
		record_failure(w, "add snapshot", r, err);
	memcpy(m->ref, w->oref, w->size);
	atomic_store(&m->active, 1);
	rlock_give(&w->olk, 0, w->size);
}

/* Drop snapshot 0 while origin writes go on. */
static void drop_snapshot(struct world *w, struct msnap *m)
{
	char err[SNAPCOW_ERRBUF_SIZE];
	int r;

	unsigned char *img = malloc(w->size);

	rlock_take(&m->lk, 0, w->size);
	atomic_store(&m->active, 0);
	/* Its last image: afterwards the origin moves on without it. */
	r = snapcow_snap_pread(w->eng, m->s, img, w->size, 0, err,
			       sizeof(err));
	if (r)
		record_failure(w, "reading the dropped snapshot", r, err);
	else if (memcmp(img, m->ref, w->size))
		atomic_fetch_add(&w->mismatches, 1);
	free(img);
	r = snapcow_origin_remove_snapshot(w->eng, m->s, err, sizeof(err));
	if (r)
		record_failure(w, "remove snapshot", r, err);
	rlock_give(&m->lk, 0, w->size);
}

struct worker {
	struct world *w;
	unsigned int id;
	pthread_t t;
};

static void one_op(struct world *w, struct prng *rng, unsigned char *data)
{
	char err[SNAPCOW_ERRBUF_SIZE];
	uint64_t kind = prng_below(rng, 100);
	int r;

	if (kind < 35) {
		do_origin_write(w, rng, data);
		atomic_fetch_add(&w->counts[OP_OWRITE], 1);
	} else if (kind < 45) {
		do_origin_read(w, rng, data);
		atomic_fetch_add(&w->counts[OP_OREAD], 1);
	} else if (kind < 70) {
		do_snap_io(w, rng, data, true);
		atomic_fetch_add(&w->counts[OP_SWRITE], 1);
	} else if (kind < 99) {
		do_snap_io(w, rng, data, false);
		atomic_fetch_add(&w->counts[OP_SREAD], 1);
	} else {
		r = snapcow_origin_flush(w->eng, err, sizeof(err));
		if (r)
			record_failure(w, "flush", r, err);
		atomic_fetch_add(&w->counts[OP_FLUSH], 1);
	}
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct world *w = wk->w;
	unsigned char *data = malloc(MAX_IO);
	struct prng rng;

	prng_seed(&rng, w->seed * 1000003u + wk->id);
	for (uint64_t i = 0; i < w->ops_per_thread; i++) {
		if (wk->id == 0 && i == w->add_at)
			take_snapshot(w, &w->snaps[1]);
		if (wk->id == 0 && i == w->remove_at)
			drop_snapshot(w, &w->snaps[0]);
		one_op(w, &rng, data);
	}
	free(data);
	return NULL;
}

/* ---------------------------------------------------------- checks */

struct order_check {
	uint64_t epa, prev, n;
	bool bad;
};

static int check_order(void *ctx, const struct snapcow_record_pos *rec)
{
	struct order_check *oc = ctx;
	uint64_t expect = oc->prev + 1;

	if (expect % (oc->epa + 1) == 1)
		expect++;
	if (rec->new_chunk != expect)
		oc->bad = true;
	oc->prev = rec->new_chunk;
	oc->n++;
	return 0;
}

static bool image_equals(struct world *w, struct snapcow_store *s,
			 const unsigned char *ref)
{
	unsigned char *img = malloc(w->size);
	bool same;

	same = !snapcow_snapshot_read(w->o->dev, s, img, w->size, 0, NULL, 0) &&
	       !memcmp(img, ref, w->size);
	free(img);
	return same;
}

struct run_check {
	struct world *w;
	struct msnap *m;
	bool bad;
};

/* Each exception's COW chunk holds the model's image of its chunk. */
static int check_run(void *ctx, uint64_t old_chunk, uint64_t new_chunk,
		     uint64_t count)
{
	struct run_check *rc = ctx;
	uint64_t cb = rc->m->cs * 512u;

	for (uint64_t i = 0; i < count; i++) {
		uint64_t at = (old_chunk + i) * cb;
		uint64_t n = at + cb > rc->w->size ? rc->w->size - at : cb;

		if (memcmp(rc->m->cow->buf + (new_chunk + i) * cb,
			   rc->m->ref + at, n))
			rc->bad = true;
	}
	return 0;
}

/*
 * A snapshot dropped while the origin went on: its image was compared
 * when it was dropped; now its exceptions must still hold it.
 */
static void verify_snapshot(struct world *w, struct msnap *m, int k,
			    bool dropped)
{
	struct run_check rc = { w, m, false };
	struct snapcow_check_opts opts = { .origin_bytes = w->size };
	const struct snapcow_finding *f;
	char err[SNAPCOW_ERRBUF_SIZE];
	struct snapcow_store_info info;
	struct snapcow_store *s;
	struct snapcow_check *c;
	struct order_check oc;
	size_t nf;

	s = load_store(m->cow, 0, 0);
	ok(s != NULL, "snapshot %d reloads", k);
	if (!s)
		return;
	snapcow_store_get_info(s, &info);
	if (dropped) {
		snapcow_store_foreach_run(s, check_run, &rc);
		ok(!rc.bad && info.exceptions > 0,
		   "dropped snapshot %d: %llu exceptions hold the model", k,
		   (unsigned long long)info.exceptions);
	} else {
		ok(image_equals(w, s, m->ref),
		   "snapshot %d reloaded equals the model (%llu exceptions)",
		   k, (unsigned long long)info.exceptions);
	}
	oc = (struct order_check){ info.exceptions_per_area, 1, 0, false };
	snapcow_store_foreach_record(s, false, check_order, &oc);
	ok(!oc.bad && oc.n == info.exceptions,
	   "snapshot %d committed in allocation order", k);
	snapcow_store_free(s);
	ok_eq(snapcow_check(m->cow->dev, &opts, &c, err, sizeof(err)), 0,
	      "check %d: %s", k, err);
	nf = snapcow_check_findings(c, &f);
	ok_eq(nf, 0, "snapshot %d checks clean%s%s", k, nf ? ": " : "",
	      nf ? f[0].text : "");
	snapcow_check_free(c);
}

static void world_init(struct world *w, uint64_t ops, unsigned int nthreads,
		       uint64_t seed)
{
	static const uint32_t css[NSNAPS] = { 8, 32 };

	memset(w, 0, sizeof(*w));
	w->size = 16384 * KIB + 1536;
	w->o = memdev_new(w->size, "origin");
	for (uint64_t i = 0; i < w->size; i++)
		w->o->buf[i] = (unsigned char)(i * 131 + (i >> 12));
	w->oref = malloc(w->size);
	memcpy(w->oref, w->o->buf, w->size);
	rlock_init(&w->olk, w->size);
	pthread_mutex_init(&w->msg_lock, NULL);
	w->ops_per_thread = ops / nthreads;
	w->seed = seed;
	w->add_at = w->ops_per_thread / 4;
	w->remove_at = w->ops_per_thread * 9 / 10;
	for (int k = 0; k < NSNAPS; k++) {
		struct msnap *m = &w->snaps[k];
		uint64_t cb = css[k] * 512u, chunks = w->size / cb + 1;

		m->cs = css[k];
		/* Both new (magic 0): adding one formats it. */
		m->cow = memdev_new((chunks + chunks / (cb / 16) + 4) * cb,
				    k ? "cowB" : "cowA");
		m->s = load_store(m->cow, m->cs, SNAPCOW_STORE_WRITE);
		m->ref = malloc(w->size);
		rlock_init(&m->lk, w->size);
		if (!m->s)
			abort();
	}
}

static void world_free(struct world *w)
{
	for (int k = 0; k < NSNAPS; k++) {
		snapcow_store_free(w->snaps[k].s);
		memdev_free(w->snaps[k].cow);
		free(w->snaps[k].ref);
		rlock_fini(&w->snaps[k].lk);
	}
	rlock_fini(&w->olk);
	pthread_mutex_destroy(&w->msg_lock);
	free(w->oref);
	memdev_free(w->o);
}

static uint64_t arg_ops = 150000, arg_seed = 1;
static unsigned int arg_threads = 8;

static void test_threaded_model(void);

static void test_qd32(void)
{
	arg_ops = 40000;
	arg_threads = 32;
	arg_seed++;
	test_threaded_model();
}

static void test_threaded_model(void)
{
	struct worker *wk = calloc(arg_threads, sizeof(*wk));
	struct snapcow_engine_stats st;
	char err[SNAPCOW_ERRBUF_SIZE];
	unsigned char byte;
	struct world w;
	int r;

	printf("# %llu ops, %u threads, seed %llu\n",
	       (unsigned long long)arg_ops, arg_threads,
	       (unsigned long long)arg_seed);
	world_init(&w, arg_ops, arg_threads, arg_seed);
	r = snapcow_origin_new(w.o->dev, &w.eng, err, sizeof(err));
	ok_eq(r, 0, "origin object: %s", err);
	r = snapcow_origin_add_snapshot(w.eng, w.snaps[0].s, err, sizeof(err));
	ok_eq(r, 0, "snapshot 0 taken: %s", err);
	memcpy(w.snaps[0].ref, w.oref, w.size);
	atomic_store(&w.snaps[0].active, 1);
	for (unsigned int i = 0; i < arg_threads; i++) {
		wk[i] = (struct worker){ .w = &w, .id = i };
		pthread_create(&wk[i].t, NULL, worker_main, &wk[i]);
	}
	for (unsigned int i = 0; i < arg_threads; i++)
		pthread_join(wk[i].t, NULL);
	printf("# %u threads: %lu origin writes, %lu origin reads, %lu snapshot writes, %lu snapshot reads, %lu flushes\n",
	       arg_threads, atomic_load(&w.counts[OP_OWRITE]),
	       atomic_load(&w.counts[OP_OREAD]),
	       atomic_load(&w.counts[OP_SWRITE]),
	       atomic_load(&w.counts[OP_SREAD]),
	       atomic_load(&w.counts[OP_FLUSH]));
	snapcow_origin_get_stats(w.eng, &st);
	printf("# engine: %llu copies, %llu exceptions in %llu commits, %llu waits for a copy\n",
	       (unsigned long long)st.copies,
	       (unsigned long long)st.exceptions,
	       (unsigned long long)st.commits, (unsigned long long)st.waits);
	ok_eq(atomic_load(&w.failures), 0, "no I/O failed%s%s",
	      w.first_msg[0] ? ": " : "", w.first_msg);
	ok_eq(atomic_load(&w.mismatches), 0, "every read matched the model");
	ok(!memcmp(w.o->buf, w.oref, w.size), "origin equals the model");
	ok(image_equals(&w, w.snaps[1].s, w.snaps[1].ref),
	   "live snapshot 1 equals the model");
	r = snapcow_origin_remove_snapshot(w.eng, w.snaps[1].s, err,
					   sizeof(err));
	ok_eq(r, 0, "snapshot 1 dropped: %s", err);
	ok_eq(snapcow_snap_pread(w.eng, w.snaps[0].s, &byte, 1, 0, err,
				 sizeof(err)), -ENODEV,
	      "a dropped snapshot is not served");
	snapcow_origin_free(w.eng);
	for (int k = 0; k < NSNAPS; k++)
		verify_snapshot(&w, &w.snaps[k], k, k == 0);
	world_free(&w);
	free(wk);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		arg_ops = strtoull(argv[1], NULL, 0);
	if (argc > 2)
		arg_threads = (unsigned int)strtoul(argv[2], NULL, 0);
	if (argc > 3)
		arg_seed = strtoull(argv[3], NULL, 0);
	if (!arg_threads)
		arg_threads = 1;
	plan(argc > 1 ? 1 : 2);
	run(test_threaded_model);
	if (argc == 1)
		run(test_qd32);
	return done();
}
