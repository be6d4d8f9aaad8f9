/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Commands in flight concurrently.  The main thread reads each ring's new
 * entries (ring_next) and queues its commands to one pool of worker
 * threads shared by every LUN; a worker runs the command (the ring's
 * ring_ops, device_cmd for a LUN) and answers it under the ring's lock:
 * ring_complete, ring_publish, kick.  The kernel reads the cmd_id from
 * each answered slot, so commands of one LUN finish in any order; the
 * data-area buffers of a command stay the kernel's until it is answered.
 *
 * No more commands are queued than the ring holds: the kernel puts no
 * more in it than fit, and each is taken out once.  Malformed entries are
 * answered at once by the main thread, TMR entries only logged: a command
 * that runs is not aborted, it finishes and is answered.
 *
 * Without an io_uring every command runs on a worker, also at queue
 * depth 1 (a thread wake-up more than running it on the main thread,
 * which would leave one slow disk stalling every device).  Jobs are reused from a per-ring
 * list, not allocated per command.
 *
 * With an io_uring (pool_use_uring), the thread that serves the rings
 * answers commands that move no data itself and submits the reads and
 * writes the backend can hand over (ring_ops.fast: no copy, no commit)
 * straight from or to the data area (one write at a time: see
 * POOL_URING_WRITES); it completes them too, one kick per ring per
 * batch.  Everything else still runs on a worker.
 *
 * A pool of 0 workers runs every command on the main thread, one at a
 * time, through ring_serve().
 */
#ifndef SNAPCOWD_POOL_H
#define SNAPCOWD_POOL_H

#include <pthread.h>
#include <stdbool.h>

#include "ring.h"

#define POOL_WORKERS_DEFAULT	16
#define POOL_WORKERS_MAX	1024
/* io_uring entries: two per FUA write; a full ring sends I/O to workers. */
#define POOL_URING_ENTRIES	256
/*
 * Writes on the io_uring at once, and only one that is alone in flight
 * on its ring; others go to the workers.  io_uring runs buffered writes
 * that cannot complete at once (ext4, tmpfs) on its own workers, one at
 * a time per file, and the serving thread completes them: at queue
 * depth 16 that was 0.6 of the pool on ext4; a lone write there saves
 * the pool's wake-up (about 2x at queue depth 1).
 */
#define POOL_URING_WRITES	1

struct pool;
struct pool_job;

/* One ring served through a pool. */
struct pool_ring {
	struct ring *ring;
	const struct ring_ops *ops;
	void *ctx;			/* for @ops */
	/* Tell the kernel cmd_tail moved; called with @lock held. */
	void (*kick)(void *arg);
	void *kick_arg;
	struct pool *pool;
	pthread_mutex_t lock;		/* the ring and the counts below */
	pthread_cond_t idle;		/* inflight fell to 0 */
	unsigned int inflight;		/* queued to the pool or running */
	unsigned int draining;		/* threads waiting for inflight 0 */
	struct pool_job *spare;		/* answered jobs, for reuse */
	/* The serving thread's own: */
	unsigned int uring_inflight;	/* of inflight, on the io_uring */
	bool kick_due;			/* answered, not kicked yet */
	struct pool_ring *kick_next;
};

/* Start @workers threads (0: none, synchronous).  0 or -errno. */
int pool_new(unsigned int workers, struct pool **out);
/* Run what is still queued, then stop and join the workers. */
void pool_free(struct pool *p);
unsigned int pool_workers(const struct pool *p);

/*
 * Move the data of commands the backend hands over (ring_ops.fast)
 * through an io_uring of @entries, submitted and completed by the
 * thread that serves the rings; the others still run on the workers.
 * 0, or -errno: io_uring not built or not allowed here (-EINVAL: a pool
 * of no workers).  Call before any ring is served.
 */
int pool_use_uring(struct pool *p, unsigned int entries);
bool pool_uring(const struct pool *p);
/* For epoll: readable when pool_reap() has work; -1 without io_uring. */
int pool_event_fd(const struct pool *p);
/* io_uring completions wait (polling, no system call). */
bool pool_ready(const struct pool *p);
/* Answer the finished io_uring I/Os; kick their rings once each. */
void pool_reap(struct pool *p);

/* Serve @r through @p; @ops and @ctx as for ring_serve(). */
int pool_ring_init(struct pool_ring *pr, struct pool *p, struct ring *r,
		   const struct ring_ops *ops, void *ctx,
		   void (*kick)(void *arg), void *kick_arg);
/* Waits for the ring's commands first; a zeroed pool_ring is a no-op. */
void pool_ring_destroy(struct pool_ring *pr);

/*
 * Take every new entry: queue commands, answer malformed ones, report
 * TMRs.  Returns the number of entries taken, or -EIO when the ring broke
 * (commands already queued still run and are answered).
 */
int pool_ring_serve(struct pool_ring *pr);

/*
 * Wait until every command taken from the ring is answered.  Only the
 * thread that calls pool_ring_serve() queues commands, so when it
 * quiesces nothing runs against the ring's device until it serves again.
 */
void pool_ring_quiesce(struct pool_ring *pr);

#endif /* SNAPCOWD_POOL_H */
