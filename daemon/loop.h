/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The event loop's wait, with a short adaptive poll first: while
 * commands come back to back (the gap between an answer and the next
 * command shorter than LOOP_POLL_NS), the loop watches the rings'
 * cmd_head and the io_uring's completions in memory for up to that long
 * before it sleeps in epoll, which saves the kernel -> daemon wake-up.
 * Each poll that finds nothing halves the next one; a sleep longer than
 * LOOP_POLL_NS leaves polling off until a short one: an idle daemon
 * never polls (0% CPU).  The kernel still raises its uio event for every
 * command and the daemon still answers through cmd_tail and a kick:
 * polling only decides when to look.  Off by default (snapcowd --poll):
 * on a 2-core host the spinning thread took the CPU the fake kernel and
 * io_uring's workers needed (bench/README).
 */
#ifndef SNAPCOWD_LOOP_H
#define SNAPCOWD_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#define LOOP_POLL_NS	50000u

struct loop_poll {
	bool enabled;		/* off: epoll_wait alone */
	uint32_t budget_ns;	/* the next poll; 0: none */
	uint64_t polls, hits;	/* for tests and the bench */
};

/*
 * epoll_wait(@epfd, @evs, @max, @timeout_ms), after polling @ready(@arg)
 * for up to @lp's budget.  Returns what epoll_wait returns.
 */
int loop_wait(struct loop_poll *lp, int epfd, struct epoll_event *evs,
	      int max, int timeout_ms, bool (*ready)(void *arg), void *arg);

#endif /* SNAPCOWD_LOOP_H */
