/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snapctl merge's engine (snapcow_merge) against a plain copy of the
 * same chunks in the same run: for each run of consecutive chunks, one
 * pread from the COW and one pwrite to the origin, then one fsync of the
 * origin at the end.  Printed as ratios of wall time (plain / merge, so
 * 1.0 is copy speed); it never asserts.
 *
 *	bench-merge [-d DIR]
 *
 * Two COWs with 4 KiB chunks, records in the kernel's allocation order:
 *  scattered  6,114 exceptions in 1,181 runs of 1 to 9 chunks at random
 *             places of a 256 MiB origin (as measured on a kernel-made
 *             COW)                                         goal >= 0.5
 *  long runs  24 runs of 2 MiB                             goal >= 0.8
 * Each merge starts from a fresh copy of the COW (the origin is
 * rewritten with the same bytes); best of three.  The merge is timed
 * with the default batch and with --batch 1 (every run committed on its
 * own, as the kernel does).  Files live in DIR (default $TMPDIR or
 * /tmp): on tmpfs the flushes are free.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapcow.h"
#include "bench-util.h"

#define CS 8u				/* 4 KiB chunks */
#define CHUNK ((uint64_t)CS * 512)
#define ORIGIN_BYTES ((uint64_t)256 << 20)
#define COW_BYTES ((uint64_t)64 << 20)
#define TRIES 3

struct scene {
	const char *name;
	uint64_t runs;
	unsigned int min_len, max_len;	/* chunks per run */
	double goal;
};

struct files {
	char origin[4096], master[4096], cow[4096];
};

static char err[SNAPCOW_ERRBUF_SIZE];

static int die(const char *what, int r)
{
	fprintf(stderr, "bench-merge: %s: %s %s\n", what, strerror(-r), err);
	exit(1);
}

/* Non-overlapping runs at random origin chunks, kernel allocation order. */
static void make_cow(const struct files *f, const struct scene *sc)
{
	uint64_t seed = 4242, chunks = ORIGIN_BYTES / CHUNK, stride;
	unsigned char *buf = malloc(sc->max_len * CHUNK);
	struct snapcow_store *s;
	struct snapcow_dev *cow;
	uint64_t i, k, old, nc;
	int r;

	memset(buf, 0x5c, sc->max_len * CHUNK);
	r = fill_file(f->master, COW_BYTES, 0);
	r = r ?: snapcow_dev_open(f->master, SNAPCOW_DEV_WRITE, &cow);
	r = r ?: snapcow_store_format(cow, CS, err, sizeof(err));
	r = r ?: snapcow_store_load(cow, 0, SNAPCOW_STORE_WRITE, &s, err,
				    sizeof(err));
	if (r || !buf)
		die("making the COW", r ?: -ENOMEM);
	stride = chunks / sc->runs;
	for (i = 0; i < sc->runs; i++) {
		unsigned int len = sc->min_len + (unsigned int)(next_rand(&seed) %
				   (sc->max_len - sc->min_len + 1));

		old = i * stride + next_rand(&seed) % (stride - len);
		for (k = 0; k < len; k++) {
			r = snapcow_store_alloc(s, &nc);
			r = r ?: snapcow_dev_write(cow, buf, CHUNK, nc * CHUNK);
			r = r ?: snapcow_store_add(s, old + k, nc);
			if (r)
				die("adding an exception", r);
		}
	}
	r = snapcow_store_commit(s);
	if (r)
		die("committing", r);
	snapcow_store_free(s);
	snapcow_dev_close(cow);
	free(buf);
}

static void copy_file(const char *from, const char *to)
{
	char *buf = malloc(1 << 20);
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT |
						   O_TRUNC, 0600);
	ssize_t n;

	if (in < 0 || out < 0 || !buf)
		die("copying the COW", -errno);
	while ((n = read(in, buf, 1 << 20)) > 0)
		if (write(out, buf, (size_t)n) != n)
			die("copying the COW", -EIO);
	if (fsync(out))
		die("copying the COW", -errno);
	close(in);
	close(out);
	free(buf);
}

struct plain {
	int cow, origin;
	unsigned char *buf;
	uint64_t runs;
};

static int plain_run(void *ctx, uint64_t old_chunk, uint64_t new_chunk,
		     uint64_t count)
{
	struct plain *p = ctx;
	size_t len = (size_t)(count * CHUNK);

	if (pread(p->cow, p->buf, len, (off_t)(new_chunk * CHUNK)) !=
	    (ssize_t)len ||
	    pwrite(p->origin, p->buf, len, (off_t)(old_chunk * CHUNK)) !=
	    (ssize_t)len)
		return -EIO;
	p->runs++;
	return 0;
}

/* The baseline: the store only lists the runs; the timer covers I/O. */
static double time_plain(const struct files *f, uint64_t *runs)
{
	struct plain p = { .buf = malloc(1 << 24) };
	struct snapcow_store *s;
	struct snapcow_dev *cow;
	double t;
	int r;

	copy_file(f->master, f->cow);
	r = snapcow_dev_open(f->cow, 0, &cow);
	r = r ?: snapcow_store_load(cow, 0, 0, &s, err, sizeof(err));
	if (r)
		die("loading", r);
	p.cow = open(f->cow, O_RDONLY);
	p.origin = open(f->origin, O_WRONLY);
	t = now();
	r = snapcow_store_foreach_run(s, plain_run, &p);
	if (r || fsync(p.origin))
		die("plain copy", r ?: -errno);
	t = now() - t;
	*runs = p.runs;
	close(p.cow);
	close(p.origin);
	free(p.buf);
	snapcow_store_free(s);
	snapcow_dev_close(cow);
	return t;
}

static double time_merge(const struct files *f, uint64_t batch_bytes,
			 uint64_t *steps)
{
	struct snapcow_merge_opts opts = { .batch_bytes = batch_bytes };
	struct snapcow_merge_result res;
	struct snapcow_dev *cow, *origin;
	struct snapcow_store *s;
	double t;
	int r;

	copy_file(f->master, f->cow);
	r = snapcow_dev_open(f->cow, SNAPCOW_DEV_WRITE, &cow);
	r = r ?: snapcow_dev_open(f->origin, SNAPCOW_DEV_WRITE, &origin);
	r = r ?: snapcow_store_load(cow, 0, SNAPCOW_STORE_WRITE, &s, err,
				    sizeof(err));
	if (r)
		die("loading", r);
	t = now();
	r = snapcow_merge(origin, s, &opts, &res, err, sizeof(err));
	if (r || !res.complete)
		die("merge", r ?: -EAGAIN);
	t = now() - t;
	*steps = res.steps;
	snapcow_store_free(s);
	snapcow_dev_close(origin);
	snapcow_dev_close(cow);
	return t;
}

static double best(double a, double b)
{
	return a < b ? a : b;
}

static void bench_scene(const struct files *f, const struct scene *sc)
{
	double plain = 1e9, merge = 1e9, kernel = 1e9;
	uint64_t runs = 0, steps = 0, ksteps = 0;

	make_cow(f, sc);
	for (int i = 0; i < TRIES; i++) {
		plain = best(plain, time_plain(f, &runs));
		merge = best(merge, time_merge(f, 0, &steps));
		kernel = best(kernel, time_merge(f, 1, &ksteps));
	}
	printf("%-10s %5llu runs  plain copy %7.1f ms  merge %7.1f ms  "
	       "--batch 1 %7.1f ms\n", sc->name, (unsigned long long)runs,
	       plain * 1e3, merge * 1e3, kernel * 1e3);
	printf("%-10s merge / plain copy      %.2f  (goal >= %.1f)\n",
	       sc->name, plain / merge, sc->goal);
	printf("%-10s --batch 1 / plain copy  %.2f  (no goal: the kernel's "
	       "commit per run)\n", sc->name, plain / kernel);
}

int main(int argc, char **argv)
{
	static const struct scene scenes[] = {
		{ "scattered", 1181, 1, 9, 0.5 },
		{ "long runs", 24, 512, 512, 0.8 },
	};
	const char *dir = getenv("TMPDIR") ?: "/tmp";
	struct files f;
	int opt;

	while ((opt = getopt(argc, argv, "d:")) != -1) {
		if (opt != 'd') {
			fprintf(stderr, "usage: bench-merge [-d DIR]\n");
			return 2;
		}
		dir = optarg;
	}
	snprintf(f.origin, sizeof(f.origin), "%s/bench-merge.origin", dir);
	snprintf(f.master, sizeof(f.master), "%s/bench-merge.master", dir);
	snprintf(f.cow, sizeof(f.cow), "%s/bench-merge.cow", dir);
	if (fill_file(f.origin, ORIGIN_BYTES, 0x11))
		die("making the origin", -errno);
	printf("bench-merge: 4 KiB chunks, 256 MiB origin in %s, best of %d; "
	       "ratio = plain copy time / merge time\n", dir, TRIES);
	for (size_t i = 0; i < sizeof(scenes) / sizeof(scenes[0]); i++)
		bench_scene(&f, &scenes[i]);
	unlink(f.origin);
	unlink(f.master);
	unlink(f.cow);
	return 0;
}
