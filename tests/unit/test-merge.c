/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lib/merge.c on memory devices: a merge leaves the origin equal, byte
 * for byte, to the snapshot's image before it; steps follow the kernel's
 * order (last record first, runs within an area); the status line ends
 * as "2*cs/size 2*cs"; other snapshots keep their images; the backup
 * exports the origin as it was.  A crash after any write to any device,
 * then a fresh load and a second merge, ends in the same place.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "snapcow.h"
#include "memdev.h"
#include "tap.h"

#define KIB 1024u

static char errbuf[SNAPCOW_ERRBUF_SIZE];

static struct snapcow_store *load(struct memdev *m, unsigned int flags)
{
	struct snapcow_store *s = NULL;

	if (snapcow_store_load(m->dev, 0, flags, &s, errbuf, sizeof(errbuf)))
		printf("# load %s: %s\n", snapcow_dev_path(m->dev), errbuf);
	return s;
}

static struct memdev *formatted(uint64_t size, uint32_t cs, const char *name)
{
	struct memdev *m = memdev_new(size, name);

	if (snapcow_store_format(m->dev, cs, errbuf, sizeof(errbuf)))
		printf("# format: %s\n", errbuf);
	return m;
}

static unsigned char pattern(uint64_t off)
{
	return (unsigned char)((off * 7) ^ (off >> 9) ^ (off >> 17));
}

static struct memdev *origin_new(uint64_t size)
{
	struct memdev *o = memdev_new(size, "origin");

	for (uint64_t i = 0; i < size; i++)
		o->buf[i] = pattern(i);
	return o;
}

static unsigned char *image(struct memdev *o, struct snapcow_store *s)
{
	unsigned char *img = malloc(o->size);

	if (snapcow_snapshot_read(o->dev, s, img, o->size, 0, errbuf,
				  sizeof(errbuf))) {
		printf("# snapshot_read: %s\n", errbuf);
		memset(img, 0, o->size);
	}
	return img;
}

static bool same_bytes(const unsigned char *a, const unsigned char *b,
		       uint64_t len, const char *what)
{
	for (uint64_t i = 0; i < len; i++)
		if (a[i] != b[i]) {
			printf("# %s: first difference at byte %llu\n", what,
			       (unsigned long long)i);
			return false;
		}
	return true;
}

static bool status_is(struct snapcow_store *s, const char *want)
{
	char buf[64];

	snapcow_status_line(s, buf, sizeof(buf));
	if (strcmp(buf, want))
		printf("# status '%s', expected '%s'\n", buf, want);
	return !strcmp(buf, want);
}

static void status_done(char *buf, size_t len, const struct memdev *cow,
			uint32_t cs)
{
	snprintf(buf, len, "%llu/%llu %llu", 2ull * cs,
		 (unsigned long long)(cow->size / 512), 2ull * cs);
}

/* ------------------------------------------------------- a scenario */

/*
 * An origin, the snapshot to merge, another snapshot (twice the chunk
 * size) taken three quarters through the workload, and a fresh backup.
 */
enum { DEV_ORIGIN, DEV_COW, DEV_BACKUP, DEV_OTHER, NDEVS };

struct scenario {
	uint32_t cs;
	struct memdev *dev[NDEVS];
	unsigned char *expect;		/* the snapshot image: final origin */
	unsigned char *pre;		/* the origin before the merge */
	unsigned char *other_img;
};

static void workload(struct scenario *sc, uint64_t seed, int ops)
{
	struct memdev *o = sc->dev[DEV_ORIGIN];
	struct snapcow_store *snaps[2] = {
		load(sc->dev[DEV_COW], SNAPCOW_STORE_WRITE), NULL
	};
	unsigned char data[9000];
	struct prng rng;

	prng_seed(&rng, seed);
	for (int i = 0; i < ops && snaps[0]; i++) {
		uint64_t len = 1 + prng_below(&rng, prng_below(&rng, 3) ?
					      700 : sizeof(data));
		uint64_t off = prng_below(&rng, o->size - len + 1);
		int r;

		if (i == ops * 3 / 4)
			snaps[1] = load(sc->dev[DEV_OTHER],
					SNAPCOW_STORE_WRITE);
		prng_fill(&rng, data, len);
		if (prng_below(&rng, 3))
			r = snapcow_origin_write(o->dev, snaps, 1 + !!snaps[1],
						 data, len, off, errbuf, sizeof(errbuf));
		else
			r = snapcow_snapshot_write(o->dev, snaps[0], data, len,
						   off, errbuf, sizeof(errbuf));
		if (r)
			printf("# workload op %d: %d\n", i, r);
	}
	sc->expect = image(o, snaps[0]);
	sc->other_img = image(o, snaps[1]);
	sc->pre = malloc(o->size);
	memcpy(sc->pre, o->buf, o->size);
	sc->dev[DEV_BACKUP] = formatted(snapcow_merge_backup_bytes(snaps[0]),
					sc->cs, "backup");
	snapcow_store_free(snaps[0]);
	snapcow_store_free(snaps[1]);
}

static void scenario_new(struct scenario *sc, uint32_t cs, uint64_t osize,
			 uint64_t seed, int ops)
{
	memset(sc, 0, sizeof(*sc));
	sc->cs = cs;
	sc->dev[DEV_ORIGIN] = origin_new(osize);
	sc->dev[DEV_COW] = formatted(2 * osize + 64 * KIB, cs, "cow");
	sc->dev[DEV_OTHER] = formatted(2 * osize + 64 * KIB, 2 * cs, "other");
	workload(sc, seed, ops);
}

static void scenario_clone(struct scenario *dst, const struct scenario *src)
{
	*dst = *src;
	for (int d = 0; d < NDEVS; d++)
		dst->dev[d] = memdev_clone(src->dev[d], snapcow_dev_path(
						   src->dev[d]->dev));
}

static void scenario_free_devs(struct scenario *sc)
{
	for (int d = 0; d < NDEVS; d++)
		memdev_free(sc->dev[d]);
}

static void scenario_free(struct scenario *sc)
{
	scenario_free_devs(sc);
	free(sc->expect);
	free(sc->pre);
	free(sc->other_img);
}

/* opts.batch_bytes of every scenario merge: 0 is the library's default. */
static uint64_t scenario_batch_bytes;

/* Load everything afresh, as a new snapctl run would, and merge. */
static int scenario_merge(struct scenario *sc, uint64_t max_steps,
			  struct snapcow_merge_result *res)
{
	struct snapcow_store *s = load(sc->dev[DEV_COW], SNAPCOW_STORE_WRITE);
	struct snapcow_store *b = load(sc->dev[DEV_BACKUP],
				       SNAPCOW_STORE_WRITE);
	struct snapcow_store *other = load(sc->dev[DEV_OTHER],
					   SNAPCOW_STORE_WRITE);
	struct snapcow_merge_opts opts = {
		.others = &other, .nothers = 1, .backup = b,
		.max_steps = max_steps, .batch_bytes = scenario_batch_bytes,
	};
	int r = -ENOMEM;

	if (s && b && other)
		r = snapcow_merge(sc->dev[DEV_ORIGIN]->dev, s, &opts, res,
				  errbuf, sizeof(errbuf));
	snapcow_store_free(s);
	snapcow_store_free(b);
	snapcow_store_free(other);
	return r;
}

/* The end state, read back from the devices only. */
static bool scenario_verify(struct scenario *sc, const char *when)
{
	struct memdev *o = sc->dev[DEV_ORIGIN];
	struct snapcow_store *s = load(sc->dev[DEV_COW], 0);
	struct snapcow_store *b = load(sc->dev[DEV_BACKUP], 0);
	struct snapcow_store *other = load(sc->dev[DEV_OTHER], 0);
	struct snapcow_store_info info;
	unsigned char *bimg = NULL, *oimg = NULL;
	char want[64];
	bool good = s && b && other;

	if (!good)
		goto out;
	status_done(want, sizeof(want), sc->dev[DEV_COW], sc->cs);
	snapcow_store_get_info(s, &info);
	bimg = image(o, b);
	oimg = image(o, other);
	good = same_bytes(o->buf, sc->expect, o->size, "origin") &&
	       status_is(s, want) && info.exceptions == 0 &&
	       same_bytes(bimg, sc->pre, o->size, "backup image") &&
	       same_bytes(oimg, sc->other_img, o->size, "other image");
	if (!good)
		printf("# %s: wrong end state\n", when);
out:
	free(bimg);
	free(oimg);
	snapcow_store_free(s);
	snapcow_store_free(b);
	snapcow_store_free(other);
	return good;
}

/* ------------------------------------------------------------- tests */

static void check_random_merge(uint32_t cs, uint64_t osize, uint64_t seed)
{
	struct scenario sc;
	struct snapcow_merge_result res;
	struct snapcow_store *s;
	struct snapcow_store_info info;

	scenario_new(&sc, cs, osize, seed, 400);
	s = load(sc.dev[DEV_COW], 0);
	ok(s != NULL, "load");
	if (!s)
		goto out;
	snapcow_store_get_info(s, &info);
	snapcow_store_free(s);
	ok(info.exceptions > 50, "cs %u: %llu exceptions", cs,
	   (unsigned long long)info.exceptions);
	ok(cs > 1 || info.areas > 1, "cs %u: %llu areas", cs,
	   (unsigned long long)info.areas);
	ok(memcmp(sc.expect, sc.pre, osize), "the merge has work to do");
	ok_eq(scenario_merge(&sc, 0, &res), 0, "cs %u: merge", cs);
	ok(res.complete, "complete");
	ok_eq(res.chunks, info.exceptions, "every record merged");
	ok(res.steps <= res.chunks && res.steps > 0, "%llu steps",
	   (unsigned long long)res.steps);
	ok(scenario_verify(&sc, "after merge"), "cs %u: end state", cs);
	/* A second merge finds nothing to do and writes nothing. */
	ok_eq(scenario_merge(&sc, 0, &res), 0, "again");
	ok(res.complete && !res.chunks && !res.steps, "nothing left");
out:
	scenario_free(&sc);
}

static void test_random_512(void)
{
	check_random_merge(1, 96 * KIB, 11);
}

static void test_random_4k(void)
{
	/* A short last chunk: only its bytes on the origin are copied. */
	check_random_merge(8, 300 * KIB + 1536, 12);
}

/* --------------------------------------------- kernel order, by hand */

struct step_log {
	uint64_t v[16][3];
	int n;
};

static int log_step(void *ctx, uint64_t old_chunk, uint64_t new_chunk,
		    uint64_t count)
{
	struct step_log *l = ctx;

	if (l->n < 16) {
		l->v[l->n][0] = old_chunk;
		l->v[l->n][1] = new_chunk;
		l->v[l->n][2] = count;
	}
	l->n++;
	return 0;
}

/*
 * 512-byte chunks, epa 32: area 0 (chunk 1) is full, area 1 (chunk 34)
 * holds 4 records.  Runs: {10,11,12}, {50}, {5,6}, {106..131}; then in
 * area 1 {132,133}, {0,1}.
 */
static struct memdev *order_cow(void)
{
	struct memdev *c = memdev_new(80 * 512, "cow");
	uint64_t olds[32] = { 10, 11, 12, 50, 5, 6 };

	for (int i = 6; i < 32; i++)
		olds[i] = 100 + (uint64_t)i;
	raw_header(c->buf, SNAPCOW_MAGIC, 1, 1, 1);
	for (uint64_t i = 0; i < 32; i++)
		raw_record(c->buf, 1, 1, i, olds[i], 2 + i);
	raw_record(c->buf, 1, 34, 0, 132, 35);
	raw_record(c->buf, 1, 34, 1, 133, 36);
	raw_record(c->buf, 1, 34, 2, 0, 37);
	raw_record(c->buf, 1, 34, 3, 1, 38);
	/* Every data chunk says which it is. */
	for (uint64_t k = 2; k < 80; k++)
		if (k != 34)
			memset(c->buf + k * 512, (int)(0x80 | k), 512);
	return c;
}

static void test_kernel_order(void)
{
	static const uint64_t want[6][3] = {
		{ 0, 37, 2 }, { 132, 35, 2 }, { 106, 8, 26 },
		{ 5, 6, 2 }, { 50, 5, 1 }, { 10, 2, 3 },
	};
	struct memdev *o = origin_new(160 * 512), *c = order_cow();
	struct snapcow_store *s = load(c, SNAPCOW_STORE_WRITE);
	struct step_log log = { .n = 0 };
	struct snapcow_merge_opts opts = { .step = log_step, .ctx = &log };
	struct snapcow_merge_result res;
	unsigned char *expect;

	ok(s != NULL, "load");
	if (!s)
		goto out;
	expect = image(o, s);
	ok(status_is(s, "39/80 3"), "before");
	opts.max_steps = 1;
	ok_eq(snapcow_merge(o->dev, s, &opts, &res, errbuf, sizeof(errbuf)), 0,
	      "one step");
	ok(!res.complete && res.chunks == 2, "two chunks, not complete");
	ok(all_bytes(c->buf + 34 * 512 + 32, 32, 0), "slots 2, 3 zeroed");
	ok_eq(get_le(c->buf + 34 * 512 + 16, 8), 133, "slot 1 kept");
	/* area_location(1) + current_committed + 1 */
	ok(status_is(s, "37/80 3"), "after one step");
	opts.max_steps = 2;
	ok_eq(snapcow_merge(o->dev, s, &opts, &res, errbuf, sizeof(errbuf)), 0,
	      "two more steps");
	ok(status_is(s, "8/80 2"), "area 0 with 6 records");
	snapcow_store_free(s);
	/* What is on disk says the same. */
	s = load(c, SNAPCOW_STORE_WRITE);
	ok(s && status_is(s, "8/80 2"), "reloaded");
	opts.max_steps = 0;
	ok_eq(snapcow_merge(o->dev, s, &opts, &res, errbuf, sizeof(errbuf)), 0,
	      "the rest");
	ok(res.complete && res.chunks == 6 && res.steps == 3, "complete");
	ok(status_is(s, "2/80 2"), "after merge");
	ok_eq(log.n, 6, "steps");
	for (int i = 0; i < 6 && i < log.n; i++)
		ok(log.v[i][0] == want[i][0] && log.v[i][1] == want[i][1] &&
		   log.v[i][2] == want[i][2],
		   "step %d: %llu<-%llu x%llu", i,
		   (unsigned long long)log.v[i][0],
		   (unsigned long long)log.v[i][1],
		   (unsigned long long)log.v[i][2]);
	ok(same_bytes(o->buf, expect, o->size, "origin"), "origin = image");
	ok(all_bytes(o->buf + 106 * 512, 512, 0x80 | 8), "106 <- 8");
	ok(all_bytes(o->buf, 512, 0x80 | 37), "0 <- 37");
	ok(all_bytes(c->buf + 512, 512, 0), "area 0 all zero");
	ok(all_bytes(c->buf + 34 * 512, 512, 0), "area 1 all zero");
	free(expect);
	snapcow_store_free(s);
out:
	memdev_free(o);
	memdev_free(c);
}

/*
 * The six runs of both areas in one batch: the same runs in the same
 * order as the kernel's steps, the same end state, but two area writes
 * (one per area) instead of six; with a batch of 3 chunks, four:
 * {0,1}+{132,133}, {106..131}, {5,6}+{50}, {10,11,12}.
 */
static void test_batch(void)
{
	static const struct {
		uint64_t batch_bytes, cow_writes, steps;
	} cases[] = { { 0, 2, 6 }, { 3 * 512, 4, 6 }, { 1, 6, 6 } };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct memdev *o = origin_new(160 * 512), *c = order_cow();
		struct snapcow_store *s = load(c, SNAPCOW_STORE_WRITE);
		struct snapcow_merge_opts opts = {
			.batch_bytes = cases[i].batch_bytes,
		};
		struct snapcow_merge_result res;
		unsigned char *expect = image(o, s);
		uint64_t w = memdev_writes(c);

		ok_eq(snapcow_merge(o->dev, s, &opts, &res, errbuf,
				    sizeof(errbuf)), 0, "batch %llu",
		      (unsigned long long)cases[i].batch_bytes);
		ok(res.complete && res.chunks == 36 &&
		   res.steps == cases[i].steps, "36 chunks in %llu steps",
		   (unsigned long long)res.steps);
		ok_eq(memdev_writes(c) - w, cases[i].cow_writes,
		      "area writes");
		ok(status_is(s, "2/80 2"), "after merge");
		ok(same_bytes(o->buf, expect, o->size, "origin"),
		   "origin = image");
		ok(all_bytes(c->buf + 512, 512, 0) &&
		   all_bytes(c->buf + 34 * 512, 512, 0), "areas all zero");
		free(expect);
		snapcow_store_free(s);
		memdev_free(o);
		memdev_free(c);
	}
}

/* A step callback that stops the merge: nothing is written for it. */
static int stop_step(void *ctx, uint64_t old_chunk, uint64_t new_chunk,
		     uint64_t count)
{
	(void)ctx;
	(void)old_chunk;
	(void)new_chunk;
	(void)count;
	return -ECANCELED;
}

/* ---------------------------------------------------------- refusals */

static void test_refusals(void)
{
	struct memdev *o = origin_new(160 * 512), *c = order_cow();
	struct memdev *small = formatted(8 * 512, 1, "small");
	struct memdev *big = formatted(64 * KIB, 8, "bigchunks");
	struct memdev *fresh = memdev_new(64 * KIB, "new");
	struct snapcow_store *s, *b;
	struct snapcow_merge_opts opts = { 0 };
	struct snapcow_merge_result res;
	uint64_t w = memdev_writes(small) + memdev_writes(big);

	/* Read-only store. */
	s = load(c, 0);
	ok_eq(snapcow_merge(o->dev, s, NULL, &res, errbuf, sizeof(errbuf)),
	      -EBADF, "read-only");
	snapcow_store_free(s);
	s = load(c, SNAPCOW_STORE_WRITE);
	/* Backup too small, wrong chunk size, or the COW itself. */
	b = load(small, SNAPCOW_STORE_WRITE);
	opts.backup = b;
	ok_eq(snapcow_merge(o->dev, s, &opts, &res, errbuf, sizeof(errbuf)),
	      -ENOSPC, "small backup");
	ok(strstr(errbuf, "backup cannot hold"), "%s", errbuf);
	snapcow_store_free(b);
	b = load(big, SNAPCOW_STORE_WRITE);
	opts.backup = b;
	ok_eq(snapcow_merge(o->dev, s, &opts, &res, errbuf, sizeof(errbuf)),
	      -EINVAL, "chunk size");
	snapcow_store_free(b);
	opts.backup = s;
	ok_eq(snapcow_merge(o->dev, s, &opts, &res, errbuf, sizeof(errbuf)),
	      -EINVAL, "backup = COW");
	opts.backup = NULL;
	opts.step = stop_step;
	ok_eq(snapcow_merge(o->dev, s, &opts, &res, errbuf, sizeof(errbuf)),
	      -ECANCELED, "stopped");
	ok_eq(memdev_writes(o) + memdev_writes(c) + memdev_writes(small) +
	      memdev_writes(big) - w, 0, "nothing written");
	snapcow_store_free(s);
	/* Invalid: the kernel refuses to merge it. */
	put_le(c->buf + 4, 4, 0);
	s = load(c, SNAPCOW_STORE_WRITE);
	ok_eq(snapcow_merge(o->dev, s, NULL, &res, errbuf, sizeof(errbuf)),
	      -EINVAL, "invalid");
	ok(strstr(errbuf, "invalid"), "%s", errbuf);
	ok(!res.complete, "not complete");
	snapcow_store_free(s);
	/* New (magic 0): nothing to merge, nothing written. */
	s = load(fresh, SNAPCOW_STORE_WRITE);
	w = memdev_writes(fresh);
	ok_eq(snapcow_merge(o->dev, s, NULL, &res, errbuf, sizeof(errbuf)), 0,
	      "new COW");
	ok(res.complete && !res.steps, "complete at once");
	ok_eq(memdev_writes(fresh) - w, 0, "new COW untouched");
	snapcow_store_free(s);
	ok_eq(memdev_writes(o), 0, "origin untouched");
	memdev_free(o);
	memdev_free(c);
	memdev_free(small);
	memdev_free(big);
	memdev_free(fresh);
}

/* A record past the origin's end or the COW's end stops the merge. */
static void test_bad_records(void)
{
	struct memdev *o = origin_new(100 * 512), *c = order_cow();
	struct snapcow_store *s = load(c, SNAPCOW_STORE_WRITE);
	struct snapcow_merge_result res;

	ok_eq(snapcow_merge(o->dev, s, NULL, &res, errbuf, sizeof(errbuf)),
	      -ERANGE, "132 past end");
	ok(strstr(errbuf, "past the origin's end"), "%s", errbuf);
	ok(res.chunks == 2, "the run before it merged");
	snapcow_store_free(s);
	memdev_free(o);
	memdev_free(c);
}

/* The origin's short last chunk: only its bytes are written. */
static void test_partial_last_chunk(void)
{
	uint64_t size = 10 * 4096 + 1536;
	struct memdev *o = origin_new(size), *c = formatted(64 * KIB, 8, "cow");
	struct snapcow_store *s = load(c, SNAPCOW_STORE_WRITE);
	unsigned char data[4096];

	memset(data, 0x5e, sizeof(data));
	ok_eq(snapcow_snapshot_write(o->dev, s, data, 1536, 10 * 4096, errbuf,
				     sizeof(errbuf)), 0,
	      "snapshot write");
	memset(c->buf + 2 * 4096 + 1536, 0xee, 4096 - 1536);
	ok_eq(snapcow_merge(o->dev, s, NULL, NULL, errbuf, sizeof(errbuf)), 0,
	      "merge: %s", errbuf);
	ok(all_bytes(o->buf + 10 * 4096, 1536, 0x5e), "tail merged");
	ok(status_is(s, "16/128 16"), "status");
	snapcow_store_free(s);
	memdev_free(o);
	memdev_free(c);
}

/* Stopped between steps (max_steps), resumed: the backup is kept. */
static void test_resume_keeps_backup(void)
{
	struct scenario sc;
	struct snapcow_merge_result res;
	struct snapcow_store *b;
	struct snapcow_store_info bi1 = { 0 }, bi2;
	uint64_t steps = 0;

	scenario_new(&sc, 8, 128 * KIB, 21, 200);
	for (int i = 0; i < 500; i++) {
		ok_eq(scenario_merge(&sc, 3, &res), 0, "three steps");
		steps += res.steps;
		if (res.complete)
			break;
		if (!i) {
			b = load(sc.dev[DEV_BACKUP], 0);
			snapcow_store_get_info(b, &bi1);
			snapcow_store_free(b);
		}
	}
	ok(res.complete, "complete after %llu steps",
	   (unsigned long long)steps);
	ok(steps > 6, "several runs");
	b = load(sc.dev[DEV_BACKUP], 0);
	snapcow_store_get_info(b, &bi2);
	snapcow_store_free(b);
	ok(bi2.exceptions >= bi1.exceptions, "backup grows");
	ok(scenario_verify(&sc, "resumed"), "end state");
	scenario_free(&sc);
}

/*
 * Crash after write N of device D (writes after it are lost), for every
 * N and every device; then load afresh, merge again and check.
 */
static void crash_all(const struct scenario *base, const char *name,
		      uint64_t batch_bytes)
{
	static const char *const devname[NDEVS] = {
		"origin", "cow", "backup", "other"
	};
	uint64_t total[NDEVS], runs = 0, bad = 0;
	struct scenario sc;
	/* One run per commit, as the kernel: many COW writes to crash at. */
	uint64_t cow_writes_min = batch_bytes == 1 ? 10 : 0;

	scenario_batch_bytes = batch_bytes;
	scenario_clone(&sc, base);
	ok_eq(scenario_merge(&sc, 0, NULL), 0, "%s: clean merge", name);
	for (int d = 0; d < NDEVS; d++)
		total[d] = memdev_writes(sc.dev[d]);
	ok(total[DEV_ORIGIN] > 10 && total[DEV_COW] > cow_writes_min &&
	   total[DEV_BACKUP] > 10 && total[DEV_OTHER] > 2,
	   "%s: writes %llu %llu %llu %llu", name,
	   (unsigned long long)total[0], (unsigned long long)total[1],
	   (unsigned long long)total[2], (unsigned long long)total[3]);
	scenario_free_devs(&sc);
	for (int d = 0; d < NDEVS; d++) {
		for (uint64_t n = 0; n < total[d]; n++) {
			int r;

			scenario_clone(&sc, base);
			snapcow_dev_inject_fault(sc.dev[d]->dev,
						 SNAPCOW_FAULT_CRASH, n);
			r = scenario_merge(&sc, 0, NULL);
			for (int k = 0; k < NDEVS; k++)
				memdev_reopen(sc.dev[k], true);
			if (!r || scenario_merge(&sc, 0, NULL) ||
			    !scenario_verify(&sc, devname[d])) {
				printf("# %s: crash after %s write %llu\n",
				       name, devname[d],
				       (unsigned long long)n);
				bad++;
			}
			runs++;
			scenario_free_devs(&sc);
		}
	}
	printf("# %s: %llu crash points\n", name, (unsigned long long)runs);
	ok_eq(bad, 0, "%s: crash points with a wrong end state", name);
	scenario_batch_bytes = 0;
}

static void test_crash_512(void)
{
	struct scenario base;

	scenario_new(&base, 1, 48 * KIB, 31, 120);
	crash_all(&base, "512 B, a run per commit", 1);
	crash_all(&base, "512 B, batches of 4 KiB", 4 * KIB);
	crash_all(&base, "512 B, one batch", 0);
	scenario_free(&base);
}

static void test_crash_4k(void)
{
	struct scenario base;

	scenario_new(&base, 8, 160 * KIB + 512, 32, 120);
	crash_all(&base, "4 KiB, a run per commit", 1);
	crash_all(&base, "4 KiB, one batch", 0);
	scenario_free(&base);
}

/* A backup of another origin at chunk @c, formatted with 512-byte chunks. */
static struct memdev *foreign_backup(uint64_t c)
{
	struct memdev *f = formatted(64 * KIB, 1, "foreign");
	struct memdev *o2 = memdev_new(160 * 512, "origin2");
	struct snapcow_store *b = load(f, SNAPCOW_STORE_WRITE);
	unsigned char data[512];

	memset(o2->buf, 0x11, o2->size);
	memset(data, 0x22, sizeof(data));
	if (snapcow_origin_write(o2->dev, &b, 1, data, sizeof(data), c * 512,
				 errbuf, sizeof(errbuf)))
		printf("# foreign: %s\n", errbuf);
	snapcow_store_free(b);
	memdev_free(o2);
	return f;
}

static int merge_with(struct memdev *o, struct memdev *c, struct memdev *bk,
		      uint64_t max_steps)
{
	struct snapcow_store *s = load(c, SNAPCOW_STORE_WRITE);
	struct snapcow_store *b = load(bk, SNAPCOW_STORE_WRITE);
	struct snapcow_merge_opts opts = { .backup = b,
					   .max_steps = max_steps };
	int r;

	errbuf[0] = '\0';
	r = snapcow_merge(o->dev, s, &opts, NULL, errbuf, sizeof(errbuf));
	snapcow_store_free(b);
	snapcow_store_free(s);
	return r;
}

/*
 * A resumed merge takes a backup only when it is this merge's: another
 * origin's snapshot is refused, with the chunk and its offsets, and
 * nothing is written; so is an interrupted merge's backup once the
 * origin no longer holds the merged data for a chunk it saved.
 */
static void test_foreign_backup(void)
{
	struct memdev *o = origin_new(160 * 512), *c = order_cow();
	struct memdev *f = foreign_backup(10), *g = foreign_backup(140);
	struct memdev *mine = formatted(64 * KIB, 1, "mine");
	uint64_t w = memdev_writes(f) + memdev_writes(g);

	ok_eq(merge_with(o, c, f, 0), -EINVAL, "chunk on the COW's list");
	ok(!strcmp(errbuf, "foreign: backup holds origin chunk 10 (origin "
		   "offset 5120, backup offset 1024), but the origin there "
		   "holds neither the backup's copy nor data merged from the "
		   "COW: not the backup of this merge of cow; give --backup "
		   "a new file"), "%s", errbuf);
	ok_eq(merge_with(o, c, g, 0), -EINVAL, "chunk not on the list");
	ok(strstr(errbuf, "backup holds origin chunk 140 (origin offset "
		  "71680, backup offset 1024), but the origin there holds "
		  "neither"), "%s", errbuf);
	ok_eq(memdev_writes(o) + memdev_writes(c) + memdev_writes(f) +
	      memdev_writes(g) - w, 0, "nothing written");
	/* Two steps: {0, 1} and {132, 133} merged and saved. */
	ok_eq(merge_with(o, c, mine, 2), 0, "two steps");
	ok_eq(merge_with(o, c, mine, 1), 0, "resumed: its own backup");
	o->buf[132 * 512 + 7] ^= 1;
	w = memdev_writes(o) + memdev_writes(c) + memdev_writes(mine);
	ok_eq(merge_with(o, c, mine, 0), -EINVAL, "origin changed since");
	ok(strstr(errbuf, "mine: backup holds origin chunk 132 (origin "
		  "offset 67584, backup offset 2048)"), "%s", errbuf);
	ok_eq(memdev_writes(o) + memdev_writes(c) + memdev_writes(mine) - w,
	      0, "nothing written");
	o->buf[132 * 512 + 7] ^= 1;
	ok_eq(merge_with(o, c, mine, 0), 0, "resumed to the end: %s", errbuf);
	memdev_free(o);
	memdev_free(c);
	memdev_free(f);
	memdev_free(g);
	memdev_free(mine);
}

static void test_backup_bytes(void)
{
	struct memdev *c = order_cow();
	struct snapcow_store *s = load(c, 0);

	/* 36 chunks + 2 areas + 2, of 512 bytes. */
	ok_eq(snapcow_merge_backup_bytes(s), 40 * 512, "backup size");
	snapcow_store_free(s);
	memdev_free(c);
}

int main(void)
{
	plan(12);
	run(test_random_512);
	run(test_random_4k);
	run(test_kernel_order);
	run(test_batch);
	run(test_refusals);
	run(test_bad_records);
	run(test_partial_last_chunk);
	run(test_resume_keeps_backup);
	run(test_foreign_backup);
	run(test_backup_bytes);
	run(test_crash_512);
	run(test_crash_4k);
	return done();
}
