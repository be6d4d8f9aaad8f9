// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapcheck speed.  A COW of N exceptions (4 KiB chunks, sparse file,
 * records laid out as the kernel commits them: new chunks in allocation
 * order, distinct origin chunks scattered over a 1 TiB origin), then, in
 * one run and against baselines of the same run:
 *   (a) cold cache: the check's wall time over the I/O floor, the time to
 *       read only the header and every metadata area, in order, through
 *       the same device layer and with the same read-ahead as the
 *       checker (also shown: the floor of plain reads, no read-ahead);
 *       posix_fadvise DONTNEED on the COW before every timed run; best
 *       of three of each, alternating;
 *   (b) hot cache: CPU (user + sys, getrusage) per exception over
 *       several checks after a warm-up;
 *   (c) peak memory per exception: a fresh process (this program, exec'd
 *       again) reports its maxrss growth across one check, measured from
 *       after it opened the COW;
 *   (d) the whole snapcheck -n process (../tools/.libs/snapcheck, as
 *       built, or $SNAPCHECK), output to /dev/null: warm, wall time per
 *       exception, best of five after a warm-up; cold (cache dropped
 *       first), wall time over (a)'s floor, best of three.
 * Usage: bench-check [-f FILE] [-b ORIGIN_BITS] [--big] [EXCEPTIONS...]
 * Default 1000000; --big adds 10000000 (about 160 MB of metadata).
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
#include "bench-cow.h"

#define COLD_RUNS	3
#define HOT_RUNS	5

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/*
 * The floor: the header, then every area in order, through the device
 * layer; with @ahead, the read-ahead window the checker uses.
 */
static double read_floor(struct snapcow_dev *dev, uint64_t areas, bool ahead)
{
	uint64_t a, ra = 0, win = ahead ? sc_readahead_areas(CB) : 0;
	unsigned char *buf = malloc(CB);
	double t = now();

	snapcow_dev_read(dev, buf, 512, 0);
	for (a = 0; a < areas; a++) {
		for (; ra < areas && ra < a + win; ra++)
			snapcow_dev_readahead(dev, snapcow_area_chunk(CS, ra) *
					      CB, CB);
		snapcow_dev_read(dev, buf, CB, snapcow_area_chunk(CS, a) * CB);
	}
	t = now() - t;
	free(buf);
	return t;
}

static int run_check(struct snapcow_dev *dev, struct snapcow_check_summary *s)
{
	struct snapcow_check *c;
	char err[SNAPCOW_ERRBUF_SIZE];
	int r = snapcow_check(dev, NULL, &c, err, sizeof(err));

	if (r) {
		fprintf(stderr, "check: %s\n", err);
		return r;
	}
	snapcow_check_get_summary(c, s);
	snapcow_check_free(c);
	return 0;
}

/* Wall time of one snapcheck -n @path process, or -1. */
static double time_snapcheck(const char *path)
{
	const char *prog = getenv("SNAPCHECK");
	int status, null;
	double t = now();
	pid_t pid;

	if (!prog)
		prog = access("../tools/.libs/snapcheck", X_OK) ?
		       "../tools/snapcheck" : "../tools/.libs/snapcheck";
	pid = fork();
	if (pid == 0) {
		null = open("/dev/null", O_WRONLY);
		dup2(null, STDOUT_FILENO);
		setenv("LD_LIBRARY_PATH", "../lib/.libs", 0);
		execl(prog, prog, "-n", path, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -1;
	return now() - t;
}

static void bench_process(struct snapcow_dev *dev, const char *path,
			  uint64_t n, double t_floor)
{
	double warm = 1e9, cold = 1e9, t;
	int i;

	if (time_snapcheck(path) < 0) {
		printf("  (d) snapcheck process: skipped: cannot run snapcheck "
		       "(set SNAPCHECK)\n");
		return;
	}
	for (i = 0; i < 5; i++) {
		t = time_snapcheck(path);
		warm = t < warm ? t : warm;
	}
	for (i = 0; i < COLD_RUNS; i++) {
		snapcow_dev_drop_cache(dev);
		t = time_snapcheck(path);
		cold = t < cold ? t : cold;
	}
	printf("  (d) snapcheck -n process: warm %.1f ns/exception (goal "
	       "<= 100); cold %.3f s / floor = %.2f (goal <= 1.3)\n",
	       warm * 1e9 / n, cold, cold / t_floor);
}

/* In the exec'd child: maxrss growth across one check, in KiB. */
static int measure_child(const char *path)
{
	struct snapcow_check_summary s;
	struct snapcow_dev *dev;
	long base;

	if (snapcow_dev_open(path, 0, &dev))
		return 1;
	base = maxrss_kib();
	if (run_check(dev, &s))
		return 1;
	printf("%ld\n", maxrss_kib() - base);
	snapcow_dev_close(dev);
	return 0;
}

static long peak_kib(const char *self, const char *path)
{
	char line[64] = "";
	long kib = -1;
	int pfd[2], status;
	pid_t pid;
	FILE *f;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execl(self, self, "--measure", path, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	if (f && fgets(line, sizeof(line), f))
		kib = strtol(line, NULL, 10);
	if (f)
		fclose(f);
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -1;
	return kib;
}

static int bench(const char *self, const char *path, uint64_t n,
		 unsigned int bits)
{
	struct snapcow_check_summary s;
	struct snapcow_dev *dev;
	double t_check = 1e9, t_floor = 1e9, t_plain = 1e9, t, cpu;
	long kib;
	int i;

	if (make_cow(path, n, bits) || snapcow_dev_open(path, 0, &dev)) {
		perror(path);
		return 1;
	}
	for (i = 0; i < COLD_RUNS; i++) {
		snapcow_dev_drop_cache(dev);
		t = read_floor(dev, n / EPA + 1, true);
		t_floor = t < t_floor ? t : t_floor;
		snapcow_dev_drop_cache(dev);
		t = read_floor(dev, n / EPA + 1, false);
		t_plain = t < t_plain ? t : t_plain;
		snapcow_dev_drop_cache(dev);
		t = now();
		if (run_check(dev, &s))
			return 1;
		t = now() - t;
		t_check = t < t_check ? t : t_check;
	}
	if (s.exceptions != n || s.by_severity[SNAPCOW_SEV_ERROR]) {
		fprintf(stderr, "%s: %llu exceptions, %llu errors\n", path,
			(unsigned long long)s.exceptions,
			(unsigned long long)s.by_severity[SNAPCOW_SEV_ERROR]);
		return 1;
	}
	/* Hot: one warm-up, then CPU over HOT_RUNS checks. */
	run_check(dev, &s);
	cpu = cpu_seconds();
	for (i = 0; i < HOT_RUNS; i++)
		run_check(dev, &s);
	cpu = (cpu_seconds() - cpu) / HOT_RUNS;
	kib = peak_kib(self, path);
	printf("%10llu exceptions (origin 2^%u chunks):\n"
	       "  (a) cold: check %.3f s / floor %.3f s = %.2f (goal <= 1.3)\n"
	       "            [floor without read-ahead %.3f s: ratio %.2f]\n"
	       "  (b) hot:  %.1f ns CPU/exception (goal <= 150)\n"
	       "  (c) peak: %.1f bytes/exception (goal <= 24)\n",
	       (unsigned long long)n, bits, t_check, t_floor,
	       t_check / t_floor, t_plain, t_check / t_plain, cpu * 1e9 / n,
	       kib < 0 ? -1.0 : kib * 1024.0 / n);
	bench_process(dev, path, n, t_floor);
	snapcow_dev_close(dev);
	unlink(path);
	return 0;
}

/* --profile FILE N: make a COW of N exceptions and check it hot, 10 times. */
static int profile(const char *path, uint64_t n)
{
	struct snapcow_check_summary s;
	struct snapcow_dev *dev;
	int i;

	if (make_cow(path, n, 28) || snapcow_dev_open(path, 0, &dev))
		return 1;
	struct rusage a, b;

	getrusage(RUSAGE_SELF, &a);
	for (i = 0; i < 10; i++)
		if (run_check(dev, &s))
			return 1;
	getrusage(RUSAGE_SELF, &b);
	printf("user %.1f ns, sys %.1f ns, minor faults %.0f per exception\n",
	       ((b.ru_utime.tv_sec - a.ru_utime.tv_sec) * 1e9 +
		(b.ru_utime.tv_usec - a.ru_utime.tv_usec) * 1e3) / 10 / n,
	       ((b.ru_stime.tv_sec - a.ru_stime.tv_sec) * 1e9 +
		(b.ru_stime.tv_usec - a.ru_stime.tv_usec) * 1e3) / 10 / n,
	       (double)(b.ru_minflt - a.ru_minflt) / 10 / n);
	snapcow_dev_close(dev);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: bench-check [-f FILE] [-b ORIGIN_BITS] [--big] "
		"[EXCEPTIONS...]\n");
}

int main(int argc, char **argv)
{
	const char *path = "bench-check.cow";
	uint64_t sizes[8];
	unsigned int bits = 28;
	bool big = false;
	int n = 0, i, rc = 0;

	if (argc == 3 && !strcmp(argv[1], "--measure"))
		return measure_child(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "--profile"))
		return profile(argv[2], strtoull(argv[3], NULL, 10));
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f") && i + 1 < argc) {
			path = argv[++i];
		} else if (!strcmp(argv[i], "-b") && i + 1 < argc) {
			bits = (unsigned int)strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--big")) {
			big = true;
		} else if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] >= '0' && argv[i][0] <= '9' && n < 7) {
			sizes[n++] = strtoull(argv[i], NULL, 10);
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (bits < 8 || bits > 64) {
		usage(stderr);
		return 2;
	}
	if (!n)
		sizes[n++] = 1000000;
	if (big)
		sizes[n++] = 10000000;
	for (i = 0; i < n && !rc; i++) {
		if (bits < 64 && sizes[i] > UINT64_C(1) << bits) {
			fprintf(stderr, "%llu exceptions do not fit "
				"2^%u origin chunks\n",
				(unsigned long long)sizes[i], bits);
			return 2;
		}
		rc = bench("/proc/self/exe", path, sizes[i], bits);
	}
	return rc;
}
