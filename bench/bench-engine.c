/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The concurrent copy-on-write engine against raw I/O on the same files
 * in the same run: 4 KiB random I/O at queue depth 1 and 16 (threads,
 * one I/O in flight each), printed as ratios of IOPS.  It never asserts.
 *
 *	bench-engine [-d DIR] [-m ORIGIN_MIB] [-n IOS]
 *
 * Workloads (4 KiB chunks, one snapshot):
 *  first writes   origin writes to chunks never written since the
 *                 snapshot: copy into the COW, commit (COW flush, area
 *                 write, flush), then the origin write;  / raw pwrite
 *  rewrites       the same chunks again: no copy;       / raw pwrite
 *  snapshot reads random over the image (copied chunks from the COW,
 *                 the rest from the origin);            / raw pread
 * The files live in DIR (default $TMPDIR or /tmp): on tmpfs the flushes
 * are free and the ratios show the engine's CPU cost; on a disk they
 * show what the commits' flushes cost.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "snapcow.h"
#include "bench-util.h"

#define IO 4096u
#define CS 8u			/* 4 KiB chunks */

struct bench {
	char origin_path[4096];
	char cow_path[4096];
	uint64_t origin_bytes;
	uint64_t cow_bytes;
	uint64_t ios;			/* per workload and depth */
	int fd;				/* raw baseline on the origin file */
	struct snapcow_dev *origin;
	struct snapcow_dev *cow;
	struct snapcow_store *store;
	struct snapcow_origin *eng;
	uint64_t *chunks;		/* a permutation of the origin's */
};

enum work { RAW_WRITE, RAW_READ, FIRST_WRITE, REWRITE, SNAP_READ };

struct worker {
	struct bench *b;
	enum work work;
	unsigned int id, depth;
	uint64_t seed;
	int result;
	pthread_t t;
};

static int raw_io(struct bench *b, enum work w, void *buf, uint64_t off)
{
	ssize_t n = w == RAW_WRITE ? pwrite(b->fd, buf, IO, (off_t)off) :
				     pread(b->fd, buf, IO, (off_t)off);

	return n == IO ? 0 : -EIO;
}

static int one_io(struct worker *wk, uint64_t i, void *buf, uint64_t *rng)
{
	struct bench *b = wk->b;
	char err[SNAPCOW_ERRBUF_SIZE];
	uint64_t nchunks = b->origin_bytes / IO;
	/* Writes go to this worker's share of the permutation. */
	uint64_t off = b->chunks[(i * wk->depth + wk->id) % nchunks] * IO;
	uint64_t roff = next_rand(rng) % nchunks * IO;

	switch (wk->work) {
	case RAW_WRITE:
		return raw_io(b, RAW_WRITE, buf, off);
	case RAW_READ:
		return raw_io(b, RAW_READ, buf, roff);
	case FIRST_WRITE:
	case REWRITE:
		return snapcow_origin_pwrite(b->eng, buf, IO, off, 0, err,
					     sizeof(err));
	default:
		return snapcow_snap_pread(b->eng, b->store, buf, IO, roff, err,
					  sizeof(err));
	}
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	uint64_t rng = wk->seed | 1;
	void *buf;

	if (posix_memalign(&buf, IO, IO)) {
		wk->result = -ENOMEM;
		return NULL;
	}
	memset(buf, 0x5a + wk->id, IO);
	for (uint64_t i = 0; i < wk->b->ios / wk->depth && !wk->result; i++)
		wk->result = one_io(wk, i, buf, &rng);
	free(buf);
	return NULL;
}

/* IOPS of @w at @depth, or a negative errno. */
static double run(struct bench *b, enum work w, unsigned int depth)
{
	struct worker wk[16];
	double t0, t;
	int r = 0;

	for (unsigned int i = 0; i < depth; i++) {
		wk[i] = (struct worker){ .b = b, .work = w, .id = i,
					 .depth = depth, .seed = 7 + i * 131 };
	}
	t0 = now();
	for (unsigned int i = 0; i < depth; i++)
		pthread_create(&wk[i].t, NULL, worker_main, &wk[i]);
	for (unsigned int i = 0; i < depth; i++) {
		pthread_join(wk[i].t, NULL);
		if (wk[i].result)
			r = wk[i].result;
	}
	t = now() - t0;
	if (r)
		return r;
	return (double)(b->ios / depth * depth) / t;
}

/* A fresh snapshot of the origin on a freshly formatted COW. */
static int snapshot_open(struct bench *b)
{
	char err[SNAPCOW_ERRBUF_SIZE];
	int r;

	r = fill_file(b->cow_path, b->cow_bytes, 0);
	if (!r)
		r = snapcow_dev_open(b->cow_path, SNAPCOW_DEV_WRITE, &b->cow);
	if (!r)
		r = snapcow_store_format(b->cow, CS, err, sizeof(err));
	if (!r)
		r = snapcow_store_load(b->cow, CS, SNAPCOW_STORE_WRITE,
				       &b->store, err, sizeof(err));
	if (!r)
		r = snapcow_origin_new(b->origin, &b->eng, err, sizeof(err));
	if (!r)
		r = snapcow_origin_add_snapshot(b->eng, b->store, err,
						sizeof(err));
	if (r)
		fprintf(stderr, "bench-engine: %s: %s\n", b->cow_path,
			strerror(-r));
	return r;
}

static void snapshot_close(struct bench *b)
{
	snapcow_origin_free(b->eng);
	snapcow_store_free(b->store);
	snapcow_dev_close(b->cow);
	b->eng = NULL;
	b->store = NULL;
	b->cow = NULL;
}

static void print_ratio(const char *what, unsigned int depth, double iops,
			double raw)
{
	printf("%-15s QD%-3u %9.0f IOPS  raw %9.0f IOPS  ratio %.2f\n", what,
	       depth, iops, raw, iops / raw);
}

static int bench_depth(struct bench *b, unsigned int depth)
{
	struct snapcow_engine_stats st;
	double raw_w, raw_r, first, rewrite, sread;
	int r;

	r = snapshot_open(b);
	if (r)
		return r;
	raw_w = run(b, RAW_WRITE, depth);
	raw_r = run(b, RAW_READ, depth);
	first = run(b, FIRST_WRITE, depth);
	rewrite = run(b, REWRITE, depth);
	sread = run(b, SNAP_READ, depth);
	snapcow_origin_get_stats(b->eng, &st);
	snapshot_close(b);
	if (raw_w < 0 || raw_r < 0 || first < 0 || rewrite < 0 || sread < 0)
		return -EIO;
	print_ratio("first writes", depth, first, raw_w);
	print_ratio("rewrites", depth, rewrite, raw_w);
	print_ratio("snapshot reads", depth, sread, raw_r);
	printf("                QD%-3u %llu copies, %llu exceptions in %llu group commits (%.2f per commit)\n",
	       depth, (unsigned long long)st.copies,
	       (unsigned long long)st.exceptions,
	       (unsigned long long)st.commits,
	       st.commits ? (double)st.exceptions / (double)st.commits : 0.0);
	return 0;
}

static int bench_setup(struct bench *b, const char *dir, uint64_t mib)
{
	uint64_t nchunks;
	int r;

	b->origin_bytes = mib << 20;
	/* Every chunk, its share of areas, the header and spare. */
	b->cow_bytes = b->origin_bytes + b->origin_bytes / 256 + (1 << 20);
	snprintf(b->origin_path, sizeof(b->origin_path),
		 "%s/bench-engine-origin.%d", dir, (int)getpid());
	snprintf(b->cow_path, sizeof(b->cow_path), "%s/bench-engine-cow.%d",
		 dir, (int)getpid());
	nchunks = b->origin_bytes / IO;
	if (b->ios > nchunks)
		b->ios = nchunks;
	b->chunks = malloc(nchunks * sizeof(*b->chunks));
	if (!b->chunks)
		return -ENOMEM;
	shuffle(b->chunks, nchunks);
	r = fill_file(b->origin_path, b->origin_bytes, 0xa5);
	if (!r)
		r = snapcow_dev_open(b->origin_path, SNAPCOW_DEV_WRITE,
				     &b->origin);
	if (r)
		return r;
	b->fd = open(b->origin_path, O_RDWR | O_CLOEXEC);
	return b->fd < 0 ? -errno : 0;
}

int main(int argc, char **argv)
{
	struct bench b = { .ios = 20000, .fd = -1 };
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	uint64_t mib = 128;
	int opt, r;

	while ((opt = getopt(argc, argv, "d:m:n:")) != -1) {
		if (opt == 'd')
			dir = optarg;
		else if (opt == 'm')
			mib = strtoull(optarg, NULL, 0);
		else if (opt == 'n')
			b.ios = strtoull(optarg, NULL, 0);
		else {
			fprintf(stderr, "usage: bench-engine [-d DIR] [-m ORIGIN_MIB] [-n IOS]\n");
			return 2;
		}
	}
	if (!mib || b.ios < 16) {
		fprintf(stderr, "bench-engine: -m must be > 0 and -n >= 16\n");
		return 2;
	}
	r = bench_setup(&b, dir, mib);
	if (r) {
		fprintf(stderr, "bench-engine: %s: %s\n", dir, strerror(-r));
		goto out;
	}
	printf("bench-engine: %llu MiB origin in %s, %llu I/Os of 4 KiB per figure\n",
	       (unsigned long long)mib, dir, (unsigned long long)b.ios);
	r = bench_depth(&b, 1);
	if (!r)
		r = bench_depth(&b, 16);
out:
	if (b.fd >= 0)
		close(b.fd);
	snapcow_dev_close(b.origin);
	unlink(b.origin_path);
	unlink(b.cow_path);
	free(b.chunks);
	return r ? 1 : 0;
}
