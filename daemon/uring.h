/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_uring for the data path (liburing): a read or write of a command's
 * iovecs straight from or to the ring's data area (no copy), and for a
 * FUA write a linked fdatasync, submitted and completed by the thread
 * that serves the rings: a command costs no worker wake-up.  One ring
 * per process, used by one thread only.  Built without liburing, or
 * where io_uring_queue_init fails (EPERM in a container, the
 * io_uring_disabled sysctl), uring_new fails and the pool runs all.
 */
#ifndef SNAPCOWD_URING_H
#define SNAPCOWD_URING_H

#include <stdbool.h>
#include <sys/uio.h>

#include "ring.h"

struct uring;

/* Room for @entries I/Os in flight.  0, or -errno (-ENOSYS: not built). */
int uring_new(unsigned int entries, struct uring **out);
void uring_free(struct uring *u);
/* Readable when completions wait (an eventfd), for epoll. */
int uring_event_fd(const struct uring *u);

/*
 * Queue @io (its data from or to @iov) for the next uring_submit().
 * -EBUSY: no room now (the caller runs it elsewhere).
 */
int uring_queue(struct uring *u, const struct iovec *iov, int cnt,
		struct ring_io *io);
/* Hand what is queued to the kernel; -errno when it took none. */
int uring_submit(struct uring *u);
/* I/Os queued or in flight. */
unsigned int uring_busy(const struct uring *u);
/* Completions are waiting (polling, no system call). */
bool uring_ready(struct uring *u);

/*
 * Call @done for every I/O finished, with its result: 0, -errno, or
 * -EAGAIN when it moved less than asked (to be run again elsewhere).
 * @wait: block until one has finished first.  Returns how many.
 */
unsigned int uring_reap(struct uring *u, bool wait,
			void (*done)(struct ring_io *io, int res, void *arg),
			void *arg);

#endif /* SNAPCOWD_URING_H */
