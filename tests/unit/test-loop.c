/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The event loop's adaptive poll (daemon/loop.c): a poll that finds work
 * keeps its budget, empty ones use it up, and an idle loop burns no CPU (the thread's
 * utime + stime in /proc/self/task/TID/stat, in clock ticks, over an
 * idle wait of 300 ms).  No time is asserted but that idle CPU.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "loop.h"
#include "tap.h"

static int efd;
static unsigned int posted;

/* utime + stime of the calling thread, in clock ticks. */
static unsigned long long thread_ticks(void)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/stat",
		 (long)syscall(SYS_gettid));
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		abort();
	fclose(f);
	/* After "(comm) ": state is field 3, utime 14, stime 15. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		abort();
	return ut + st;
}

static bool ready(void *arg)
{
	(void)arg;
	return __atomic_load_n(&posted, __ATOMIC_ACQUIRE) != 0;
}

/*
 * The budget's rules, with no timing assumed: a poll that finds work
 * keeps the budget, each one that finds none halves it, down to none.
 */
static void test_poll_then_idle(void)
{
	struct loop_poll lp = { .enabled = true, .budget_ns = LOOP_POLL_NS };
	struct epoll_event ev = { .events = EPOLLIN }, evs[4];
	unsigned long long t0, t1;
	uint64_t one = 1, v;
	int epfd = epoll_create1(0), n, misses = 0;

	efd = eventfd(0, EFD_NONBLOCK);
	ok(epfd >= 0 && efd >= 0 && !epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev),
	   "epoll and eventfd");
	posted = 1;
	ok(write(efd, &one, sizeof(one)) == sizeof(one), "an event posted");
	n = loop_wait(&lp, epfd, evs, 4, 1000, ready, NULL);
	ok_eq(n, 1, "the event taken");
	ok_eq(lp.polls, 1, "work waiting: the loop polled");
	ok_eq(lp.hits, 1, "and found it before the sleep");
	ok_eq(lp.budget_ns, LOOP_POLL_NS, "a hit keeps the whole budget");
	ok(read(efd, &v, sizeof(v)) == sizeof(v), "the event read");
	posted = 0;
	while (lp.budget_ns && misses < 16) {
		ok_eq(loop_wait(&lp, epfd, evs, 4, 0, ready, NULL), 0,
		      "no work: nothing returned");
		misses++;
	}
	/* 50 us, 25, 12.5, 6.25, 3.125, then under a sixteenth: none. */
	ok_eq(misses, 5, "five empty polls bring the budget to none");
	ok_eq(lp.polls, 6, "each wait with a budget polled once");
	ok_eq(lp.hits, 1, "no more hits");
	t0 = thread_ticks();
	n = loop_wait(&lp, epfd, evs, 4, 300, ready, NULL);
	t1 = thread_ticks();
	ok_eq(n, 0, "idle: the wait timed out");
	printf("# idle 300 ms: %llu ticks of CPU (%ld per second)\n", t1 - t0,
	       sysconf(_SC_CLK_TCK));
	ok(t1 - t0 <= 1, "idle: no CPU burnt (%llu ticks in 300 ms)",
	   t1 - t0);
	ok_eq(lp.polls, 6, "idle: no poll without a budget");
	ok_eq(lp.budget_ns, 0, "after the idle wait: no poll before the next");
	close(efd);
	close(epfd);
}

static void test_off(void)
{
	struct loop_poll lp = { .enabled = false, .budget_ns = LOOP_POLL_NS };
	struct epoll_event evs[1];
	int epfd = epoll_create1(0);

	posted = 1;
	ok_eq(loop_wait(&lp, epfd, evs, 1, 10, ready, NULL), 0,
	      "polling off: epoll_wait alone");
	ok_eq(lp.polls, 0, "no poll");
	posted = 0;
	close(epfd);
}

int main(void)
{
	plan(2);
	run(test_poll_then_idle);
	run(test_off);
	return done();
}
