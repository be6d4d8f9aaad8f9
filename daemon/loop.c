// SPDX-License-Identifier: GPL-2.0-or-later
/* The event loop's wait with an adaptive poll (see loop.h). */
#include "config.h"

#include <time.h>

#include "loop.h"

static uint64_t loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* True when @ready turned true within the budget. */
static bool loop_poll(struct loop_poll *lp, bool (*ready)(void *arg),
		      void *arg)
{
	uint64_t end = loop_now_ns() + lp->budget_ns;

	lp->polls++;
	do {
		if (ready(arg)) {
			lp->hits++;
			lp->budget_ns = LOOP_POLL_NS;
			return true;
		}
		cpu_relax();
	} while (loop_now_ns() < end);
	lp->budget_ns /= 2;
	if (lp->budget_ns < LOOP_POLL_NS / 16)
		lp->budget_ns = 0;
	return false;
}

int loop_wait(struct loop_poll *lp, int epfd, struct epoll_event *evs,
	      int max, int timeout_ms, bool (*ready)(void *arg), void *arg)
{
	uint64_t slept;
	int n;

	if (lp->enabled && lp->budget_ns && loop_poll(lp, ready, arg)) {
		n = epoll_wait(epfd, evs, max, 0);
		if (n)
			return n;
	}
	slept = loop_now_ns();
	n = epoll_wait(epfd, evs, max, timeout_ms);
	slept = loop_now_ns() - slept;
	/* Back to back again: poll before the next sleep. */
	if (n > 0 && slept < LOOP_POLL_NS)
		lp->budget_ns = LOOP_POLL_NS;
	return n;
}
