/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The event loop's adaptive poll (daemon/loop.c): it polls while events
 * come back to back, and an idle loop burns no CPU (the thread's
 * utime + stime in /proc/self/task/TID/stat, in clock ticks, over an
 * idle wait of 300 ms).  No time is asserted but that idle CPU.
 */
#include "config.h"

#include <pthread.h>
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

/* Events 20 us apart: back to back for the loop. */
static void *poster(void *arg)
{
	uint64_t one = 1;

	(void)arg;
	for (int i = 0; i < 2000; i++) {
		__atomic_store_n(&posted, 1, __ATOMIC_RELEASE);
		if (write(efd, &one, sizeof(one)) != sizeof(one))
			abort();
		usleep(20);
	}
	return NULL;
}

static void test_poll_then_idle(void)
{
	struct loop_poll lp = { .enabled = true };
	struct epoll_event ev = { .events = EPOLLIN }, evs[4];
	unsigned long long t0, t1;
	pthread_t th;
	uint64_t v;
	int epfd = epoll_create1(0), n, got = 0;

	efd = eventfd(0, EFD_NONBLOCK);
	ok(epfd >= 0 && efd >= 0 && !epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev),
	   "epoll and eventfd");
	pthread_create(&th, NULL, poster, NULL);
	while (got < 1000) {
		n = loop_wait(&lp, epfd, evs, 4, 1000, ready, NULL);
		if (n <= 0)
			break;
		__atomic_store_n(&posted, 0, __ATOMIC_RELEASE);
		if (read(efd, &v, sizeof(v)) == sizeof(v))
			got++;
	}
	pthread_join(th, NULL);
	while (read(efd, &v, sizeof(v)) == sizeof(v))
		;
	__atomic_store_n(&posted, 0, __ATOMIC_RELEASE);
	ok(got >= 1000, "%d events taken", got);
	printf("# %llu polls, %llu found work before the sleep\n",
	       (unsigned long long)lp.polls, (unsigned long long)lp.hits);
	ok(lp.polls > 0, "events 20 us apart: the loop polled");
	t0 = thread_ticks();
	n = loop_wait(&lp, epfd, evs, 4, 300, ready, NULL);
	t1 = thread_ticks();
	ok_eq(n, 0, "idle: the wait timed out");
	printf("# idle 300 ms: %llu ticks of CPU (%ld per second)\n", t1 - t0,
	       sysconf(_SC_CLK_TCK));
	ok(t1 - t0 <= 1, "idle: no CPU burnt (%llu ticks in 300 ms)",
	   t1 - t0);
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
