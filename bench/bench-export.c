/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snapctl export's engine (snapcow_export) against cp --sparse=always of
 * the origin in the same run, as ratios of wall time (cp / export, so
 * 1.0 is cp's speed); it never asserts.
 *
 *	bench-export [-d DIR] [-m ORIGIN_MIB]
 *
 * A 1 GiB origin (default) with 10% of its 4 KiB chunks saved in the
 * COW (scattered, kernel allocation order), exported to a file the bench
 * removes first, as snapctl export does with a new OUT:
 *  allocated  every origin byte written (non-zero)         goal >= 0.8
 *  sparse     the origin a sparse file, 10% of it data     (no goal)
 * Export makes its output durable (one flush at the end); cp does not,
 * so "cp + fsync" (cp, then fsync of its output) is printed too.  The
 * output's allocated size shows whether holes were kept.  Best of three,
 * warm cache, each run after a sync(), so none pays for the one before.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "snapcow.h"
#include "bench-util.h"

#define CS 8u				/* 4 KiB chunks */
#define CHUNK ((uint64_t)CS * 512)
#define TRIES 3

struct files {
	char origin[4096], cow[4096], out[4096];
	uint64_t origin_bytes;
};

static char err[SNAPCOW_ERRBUF_SIZE];

static void die(const char *what, int r)
{
	fprintf(stderr, "bench-export: %s: %s %s\n", what, strerror(-r), err);
	exit(1);
}

/* 10% of the chunks, every byte 0x5c in the COW. */
static void make_cow(const struct files *f)
{
	uint64_t chunks = f->origin_bytes / CHUNK, nc, *order;
	uint64_t cow_bytes = chunks / 10 * CHUNK * 11 / 10 + (1 << 20);
	unsigned char buf[CHUNK];
	struct snapcow_store *s;
	struct snapcow_dev *cow;
	int r;

	memset(buf, 0x5c, sizeof(buf));
	order = malloc(chunks * sizeof(*order));
	if (!order)
		die("memory", -ENOMEM);
	shuffle(order, chunks);
	r = fill_file(f->cow, cow_bytes, 0);
	r = r ?: snapcow_dev_open(f->cow, SNAPCOW_DEV_WRITE, &cow);
	r = r ?: snapcow_store_format(cow, CS, err, sizeof(err));
	r = r ?: snapcow_store_load(cow, 0, SNAPCOW_STORE_WRITE, &s, err,
				    sizeof(err));
	if (r)
		die("making the COW", r);
	for (uint64_t i = 0; i < chunks / 10 && !r; i++) {
		r = snapcow_store_alloc(s, &nc);
		r = r ?: snapcow_dev_write(cow, buf, CHUNK, nc * CHUNK);
		r = r ?: snapcow_store_add(s, order[i], nc);
	}
	r = r ?: snapcow_store_commit(s);
	if (r)
		die("adding exceptions", r);
	snapcow_store_free(s);
	snapcow_dev_close(cow);
	free(order);
}

/* Sparse: every tenth MiB written, the rest holes. */
static void make_origin(const struct files *f, bool sparse)
{
	static unsigned char mib[1 << 20];
	int fd;

	if (!sparse) {
		if (fill_file(f->origin, f->origin_bytes, 0x11))
			die("making the origin", -EIO);
		return;
	}
	memset(mib, 0x11, sizeof(mib));
	fd = open(f->origin, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)f->origin_bytes))
		die("making the origin", -errno);
	for (uint64_t off = 0; off < f->origin_bytes; off += 10 << 20)
		if (pwrite(fd, mib, sizeof(mib), (off_t)off) != sizeof(mib))
			die("making the origin", -EIO);
	if (fsync(fd))
		die("making the origin", -errno);
	close(fd);
}

static double time_export(const struct files *f)
{
	struct snapcow_dev *origin, *cow, *out;
	struct snapcow_store *s;
	double t;
	int r;

	unlink(f->out);
	sync();
	t = now();
	r = snapcow_dev_open(f->origin, 0, &origin);
	r = r ?: snapcow_dev_open(f->cow, 0, &cow);
	r = r ?: snapcow_store_load(cow, 0, 0, &s, err, sizeof(err));
	r = r ?: snapcow_dev_open(f->out, SNAPCOW_DEV_WRITE |
				  SNAPCOW_DEV_CREATE, &out);
	r = r ?: snapcow_dev_resize(out, f->origin_bytes);
	r = r ?: snapcow_export(origin, s, out, SNAPCOW_EXPORT_SPARSE,
				NULL, NULL, err, sizeof(err));
	if (r)
		die("export", r);
	snapcow_dev_close(out);
	t = now() - t;
	snapcow_store_free(s);
	snapcow_dev_close(cow);
	snapcow_dev_close(origin);
	return t;
}

static double time_cp(const struct files *f, bool durable)
{
	double t;
	pid_t pid;
	int status, fd;

	unlink(f->out);
	sync();
	t = now();
	pid = fork();
	if (!pid) {
		execlp("cp", "cp", "--sparse=always", f->origin, f->out,
		       (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || status)
		die("cp", -EIO);
	if (durable) {
		fd = open(f->out, O_WRONLY);
		if (fd < 0 || fsync(fd))
			die("fsync", -errno);
		close(fd);
	}
	return now() - t;
}

static uint64_t allocated_mib(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (uint64_t)st.st_blocks * 512 >> 20;
}

static void bench_origin(struct files *f, bool sparse)
{
	double cp = 1e9, cps = 1e9, ex = 1e9, x;
	const char *name = sparse ? "sparse" : "allocated";
	uint64_t cp_mib, ex_mib;

	make_origin(f, sparse);
	for (int i = 0; i < TRIES; i++) {
		x = time_cp(f, false);
		cp = x < cp ? x : cp;
		x = time_cp(f, true);
		cps = x < cps ? x : cps;
		cp_mib = allocated_mib(f->out);
		x = time_export(f);
		ex = x < ex ? x : ex;
		ex_mib = allocated_mib(f->out);
	}
	printf("%-9s cp %6.0f ms  cp + fsync %6.0f ms  export %6.0f ms  "
	       "allocated: cp %llu MiB, export %llu MiB\n", name, cp * 1e3,
	       cps * 1e3, ex * 1e3, (unsigned long long)cp_mib,
	       (unsigned long long)ex_mib);
	printf("%-9s export / cp          %.2f  %s\n", name, cp / ex,
	       sparse ? "(no goal)" : "(goal >= 0.8)");
	printf("%-9s export / cp + fsync  %.2f  (no goal)\n", name, cps / ex);
}

int main(int argc, char **argv)
{
	const char *dir = getenv("TMPDIR") ?: "/tmp";
	struct files f = { .origin_bytes = (uint64_t)1 << 30 };
	int opt;

	while ((opt = getopt(argc, argv, "d:m:")) != -1) {
		if (opt == 'd') {
			dir = optarg;
		} else if (opt == 'm') {
			f.origin_bytes = strtoull(optarg, NULL, 10) << 20;
		} else {
			fprintf(stderr, "usage: bench-export [-d DIR] [-m ORIGIN_MIB]\n");
			return 2;
		}
	}
	snprintf(f.origin, sizeof(f.origin), "%s/bench-export.origin", dir);
	snprintf(f.cow, sizeof(f.cow), "%s/bench-export.cow", dir);
	snprintf(f.out, sizeof(f.out), "%s/bench-export.out", dir);
	printf("bench-export: %llu MiB origin, 10%% of its 4 KiB chunks in "
	       "the COW, in %s, best of %d; ratio = cp time / export time\n",
	       (unsigned long long)(f.origin_bytes >> 20), dir, TRIES);
	make_cow(&f);
	bench_origin(&f, false);
	bench_origin(&f, true);
	unlink(f.origin);
	unlink(f.cow);
	unlink(f.out);
	return 0;
}
