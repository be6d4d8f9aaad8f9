// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The data path's io_uring (see uring.h).  Each I/O carries its
 * ring_io as user_data; a FUA write is two linked entries (the write,
 * then IORING_FSYNC_DATASYNC, which the kernel cancels when the write
 * fails or is short), so the flush follows the write without the thread
 * waiting for it.  The ring's own fd is what epoll watches: it is
 * readable while completions wait, so no eventfd and no extra read.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "uring.h"

#ifdef HAVE_LIBURING
#include <liburing.h>

struct uring {
	struct io_uring ring;
	unsigned int inflight;	/* entries submitted or queued */
	unsigned int room;	/* completions the CQ holds */
};

int uring_new(unsigned int entries, struct uring **out)
{
	struct uring *u = calloc(1, sizeof(*u));
	int r;

	*out = NULL;
	if (!u)
		return -ENOMEM;
	r = io_uring_queue_init(entries, &u->ring, 0);
	if (r < 0) {
		free(u);
		return r;
	}
	u->room = u->ring.cq.ring_entries;
	*out = u;
	return 0;
}

void uring_free(struct uring *u)
{
	if (!u)
		return;
	io_uring_queue_exit(&u->ring);
	free(u);
}

int uring_event_fd(const struct uring *u)
{
	return u->ring.ring_fd;
}

static void uring_prep(struct io_uring_sqe *sqe, const struct iovec *iov,
		       int cnt, const struct ring_io *io)
{
	if (cnt == 1 && io->write)
		io_uring_prep_write(sqe, io->fd, iov[0].iov_base,
				    (unsigned int)io->len, io->offset);
	else if (cnt == 1)
		io_uring_prep_read(sqe, io->fd, iov[0].iov_base,
				   (unsigned int)io->len, io->offset);
	else if (io->write)
		io_uring_prep_writev(sqe, io->fd, iov, (unsigned int)cnt,
				     io->offset);
	else
		io_uring_prep_readv(sqe, io->fd, iov, (unsigned int)cnt,
				    io->offset);
}

int uring_queue(struct uring *u, const struct iovec *iov, int cnt,
		struct ring_io *io)
{
	unsigned int parts = io->fua ? 2 : 1;
	struct io_uring_sqe *sqe;

	if (u->inflight + parts > u->room ||
	    io_uring_sq_space_left(&u->ring) < parts)
		return -EBUSY;
	io->parts = parts;
	io->res = 0;
	sqe = io_uring_get_sqe(&u->ring);
	uring_prep(sqe, iov, cnt, io);
	io_uring_sqe_set_data(sqe, io);
	if (io->fua) {
		sqe->flags |= IOSQE_IO_LINK;
		sqe = io_uring_get_sqe(&u->ring);
		io_uring_prep_fsync(sqe, io->fd, IORING_FSYNC_DATASYNC);
		io_uring_sqe_set_data(sqe, io);
	}
	u->inflight += parts;
	return 0;
}

int uring_submit(struct uring *u)
{
	int r;

	do
		r = io_uring_submit(&u->ring);
	while (r == -EINTR);
	return r < 0 ? r : 0;
}

unsigned int uring_busy(const struct uring *u)
{
	return u->inflight;
}

bool uring_ready(struct uring *u)
{
	return io_uring_cq_ready(&u->ring) > 0;
}

/* One entry's result into its I/O's: the first failure or short count. */
static void uring_account(struct ring_io *io, const struct io_uring_cqe *cqe,
			  bool data)
{
	int res = cqe->res;

	if (io->res)
		return;
	if (res == -EAGAIN || res == -EINTR ||
	    (data && res >= 0 && (uint64_t)res != io->len))
		io->res = -EAGAIN;	/* partly done: all again, elsewhere */
	else if (res < 0)
		io->res = res;
}

unsigned int uring_reap(struct uring *u, bool wait,
			void (*done)(struct ring_io *io, int res, void *arg),
			void *arg)
{
	struct io_uring_cqe *cqe;
	unsigned int n = 0;

	/* Only what the kernel has can complete: never wait on the rest. */
	if (wait && u->inflight > io_uring_sq_ready(&u->ring) &&
	    io_uring_wait_cqe(&u->ring, &cqe))
		return 0;
	while (!io_uring_peek_cqe(&u->ring, &cqe)) {
		struct ring_io *io = io_uring_cqe_get_data(cqe);
		/* A FUA write's first completion is its data's. */
		bool data = !io->fua || io->parts == 2;

		uring_account(io, cqe, data);
		io_uring_cqe_seen(&u->ring, cqe);
		u->inflight--;
		if (--io->parts)
			continue;
		done(io, io->res, arg);
		n++;
	}
	return n;
}

#else /* !HAVE_LIBURING */

int uring_new(unsigned int entries, struct uring **out)
{
	(void)entries;
	*out = NULL;
	return -ENOSYS;
}

void uring_free(struct uring *u)
{
	(void)u;
}

int uring_event_fd(const struct uring *u)
{
	(void)u;
	return -1;
}

int uring_queue(struct uring *u, const struct iovec *iov, int cnt,
		struct ring_io *io)
{
	(void)u;
	(void)iov;
	(void)cnt;
	(void)io;
	return -EBUSY;
}

int uring_submit(struct uring *u)
{
	(void)u;
	return -ENOSYS;
}

unsigned int uring_busy(const struct uring *u)
{
	(void)u;
	return 0;
}

bool uring_ready(struct uring *u)
{
	(void)u;
	return false;
}

unsigned int uring_reap(struct uring *u, bool wait,
			void (*done)(struct ring_io *io, int res, void *arg),
			void *arg)
{
	(void)u;
	(void)wait;
	(void)done;
	(void)arg;
	return 0;
}

#endif /* HAVE_LIBURING */
