// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapdump's exception listing: a COW of N exceptions (bench-cow.h),
 * then `snapdump --exceptions` (text, the baseline) and `snapdump --json
 * --exceptions`, each run by the real tool with its output thrown away,
 * alternating, best of three wall times.  Prints JSON / text wall time
 * (goal <= 3) and each run's peak RSS (the child's maxrss; goal for
 * JSON < 64 MiB, whatever N: the listing is streamed).
 * Usage: bench-dump [-f FILE] [-x SNAPDUMP] [EXCEPTIONS]
 * Default 1000000 exceptions, ../tools/snapdump.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "bench-cow.h"
#include "bench-util.h"

#define RUNS	3

struct run {
	double best;		/* seconds */
	long maxrss;		/* KiB, the largest of the runs */
};

/* One snapdump run, stdout to /dev/null; 0 or -1. */
static int run_once(const char *tool, const char *cow, bool json,
		    struct run *res)
{
	struct rusage ru;
	double t = now();
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		if (json)
			execl(tool, tool, "--json", "--exceptions", cow,
			      (char *)NULL);
		else
			execl(tool, tool, "--exceptions", cow, (char *)NULL);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "bench-dump: %s failed\n", tool);
		return -1;
	}
	t = now() - t;
	if (!res->best || t < res->best)
		res->best = t;
	if (ru.ru_maxrss > res->maxrss)
		res->maxrss = ru.ru_maxrss;
	return 0;
}

static void report(const char *what, const struct run *r)
{
	printf("  %-5s %8.3f s  peak RSS %7.1f MiB\n", what, r->best,
	       r->maxrss / 1024.0);
}

int main(int argc, char **argv)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	const char *tool = "../tools/snapdump", *file = NULL;
	struct run text = { 0 }, json = { 0 };
	uint64_t n = 1000000;
	char path[4096];
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f") && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(argv[i], "-x") && i + 1 < argc)
			tool = argv[++i];
		else if (argv[i][0] >= '0' && argv[i][0] <= '9')
			n = strtoull(argv[i], NULL, 10);
		else {
			fprintf(stderr, "usage: bench-dump [-f FILE] "
				"[-x SNAPDUMP] [EXCEPTIONS]\n");
			return 2;
		}
	}
	snprintf(path, sizeof(path), "%s/bench-dump.%d.cow", dir,
		 (int)getpid());
	if (!file)
		file = path;
	if (make_cow(file, n, 40)) {
		fprintf(stderr, "bench-dump: %s: %s\n", file, strerror(errno));
		return 1;
	}
	/* A first text run warms the cache for both. */
	i = run_once(tool, file, false, &text);
	memset(&text, 0, sizeof(text));
	for (int k = 0; k < RUNS && !i; k++)
		i = run_once(tool, file, false, &text) ?:
		    run_once(tool, file, true, &json);
	if (file == path)
		unlink(path);
	if (i)
		return 1;
	printf("bench-dump: snapdump --exceptions of %llu exceptions "
	       "(4 KiB chunks) to /dev/null, best of %d\n",
	       (unsigned long long)n, RUNS);
	report("text", &text);
	report("JSON", &json);
	printf("  JSON / text wall time      %6.2f  (goal <= 3)\n",
	       json.best / text.best);
	printf("  JSON peak RSS              %6.1f MiB  (goal < 64 MiB)\n",
	       json.maxrss / 1024.0);
	printf("  JSON / text peak RSS       %6.2f\n",
	       (double)json.maxrss / (double)text.maxrss);
	return 0;
}
