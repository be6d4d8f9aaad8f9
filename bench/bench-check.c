// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapcheck speed: a COW of N exceptions (4 KiB chunks, sparse file,
 * records laid out as the kernel commits them: new chunks in allocation
 * order, origin chunks scattered), then
 *   (a) cold cache: check time / time to read the header and every area,
 *   (b) hot cache: CPU ns per exception,
 *   (c) peak memory per exception (maxrss of a child that checks,
 *       minus that of one that does not).
 * Usage: bench-check [EXCEPTIONS...] (default 1000000 10000000) [-f FILE]
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "check.h"

#define CS	8u
#define CB	(CS * 512u)
#define EPA	(CB / 16u)

static double now(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	return x;
}

static int make_cow(const char *path, uint64_t n)
{
	uint64_t areas = n / EPA + 1, next = 2, g = 0, a, s;
	unsigned char *buf = calloc(1, CB);
	struct snapcow_header h = { SNAPCOW_MAGIC, 1, 1, CS };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || !buf)
		return -1;
	if (ftruncate(fd, (off_t)(snapcow_area_chunk(CS, areas) + 2) * CB))
		return -1;
	snapcow_header_encode(&h, buf);
	if (pwrite(fd, buf, CB, 0) != CB)
		return -1;
	for (a = 0; a < areas; a++) {
		memset(buf, 0, CB);
		for (s = 0; s < EPA && g < n; s++, g++) {
			/* Distinct origin chunks: a bijection of g. */
			struct snapcow_record r = { mix(g) >> 20 << 20 | g,
						    next++ };

			snapcow_record_encode(buf, s, &r);
			if (snapcow_chunk_is_metadata(CS, next))
				next++;
		}
		if (pwrite(fd, buf, CB, (off_t)snapcow_area_chunk(CS, a) * CB) !=
		    CB)
			return -1;
	}
	fsync(fd);
	close(fd);
	free(buf);
	return 0;
}

static double read_floor(struct snapcow_dev *dev, uint64_t areas)
{
	unsigned char *buf = malloc(CB);
	double t = now(CLOCK_MONOTONIC);

	snapcow_dev_read(dev, buf, 512, 0);
	for (uint64_t a = 0; a < areas; a++)
		snapcow_dev_read(dev, buf, CB, snapcow_area_chunk(CS, a) * CB);
	free(buf);
	return now(CLOCK_MONOTONIC) - t;
}

static int run_check(struct snapcow_dev *dev, struct snapcow_check_summary *s)
{
	struct snapcow_check *c;
	char err[256];
	int r = snapcow_check(dev, NULL, &c, err, sizeof(err));

	if (r) {
		fprintf(stderr, "check: %s\n", err);
		return r;
	}
	snapcow_check_get_summary(c, s);
	snapcow_check_free(c);
	return 0;
}

/* Peak RSS of a child that checks, minus one that only opens: KiB. */
static long child_maxrss(const char *path, bool do_check)
{
	struct snapcow_check_summary s;
	struct snapcow_dev *dev;
	struct rusage ru;
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (snapcow_dev_open(path, 0, &dev))
			_exit(1);
		if (do_check && run_check(dev, &s))
			_exit(1);
		_exit(0);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
		return -1;
	return ru.ru_maxrss;
}

static int bench(const char *path, uint64_t n)
{
	struct snapcow_check_summary s;
	struct snapcow_dev *dev;
	double t_check, t_floor, cpu;
	long base, peak;

	if (make_cow(path, n) || snapcow_dev_open(path, 0, &dev)) {
		perror(path);
		return 1;
	}
	snapcow_dev_drop_cache(dev);
	t_floor = read_floor(dev, n / EPA + 1);
	snapcow_dev_drop_cache(dev);
	t_check = now(CLOCK_MONOTONIC);
	if (run_check(dev, &s))
		return 1;
	t_check = now(CLOCK_MONOTONIC) - t_check;
	/* Hot: cached, best of three. */
	cpu = 1e9;
	for (int i = 0; i < 3; i++) {
		double t = now(CLOCK_PROCESS_CPUTIME_ID);

		run_check(dev, &s);
		t = now(CLOCK_PROCESS_CPUTIME_ID) - t;
		cpu = t < cpu ? t : cpu;
	}
	base = child_maxrss(path, false);
	peak = child_maxrss(path, true);
	printf("%10llu exceptions: errors %llu; cold %.3f s / floor %.3f s = "
	       "%.2f (goal <= 1.3); hot %.1f ns/exception (goal <= 150); "
	       "peak %.1f bytes/exception (goal <= 24)\n",
	       (unsigned long long)s.exceptions,
	       (unsigned long long)(s.by_severity[SNAPCOW_SEV_ERROR]),
	       t_check, t_floor, t_check / t_floor, cpu * 1e9 / n,
	       (peak - base) * 1024.0 / n);
	snapcow_dev_close(dev);
	unlink(path);
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = "bench-check.cow";
	uint64_t sizes[8] = { 1000000, 10000000 };
	int n = 0, i, rc = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f") && i + 1 < argc)
			path = argv[++i];
		else if (n < 8)
			sizes[n++] = strtoull(argv[i], NULL, 10);
	}
	if (!n)
		n = 2;
	for (i = 0; i < n && !rc; i++)
		rc = bench(path, sizes[i]);
	return rc;
}
