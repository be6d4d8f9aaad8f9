// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Worker threads running ring commands (see pool.h).  One FIFO of jobs
 * for every ring; a job is one command copied out of its entry.  A ring's
 * lock covers its struct ring (ring_next on the main thread, ring_complete
 * and ring_publish on the workers), its in-flight count and its spare
 * jobs.  The pool's lock covers the FIFO.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "uring.h"

struct pool_job {
	struct pool_ring *pr;
	struct pool_job *next;
	struct ring_io io;	/* its data through the pool's io_uring */
	struct ring_cmd cmd;
};

/*
 * Wake-ups are chained: a push wakes one idle worker unless a wake-up is
 * already on its way, and a worker that takes a job while more wait wakes
 * the next.  Short commands (the page cache) then run on few threads with
 * few context switches; slow ones still spread over every worker.
 */
struct pool {
	pthread_mutex_t lock;
	pthread_cond_t work;		/* a job was queued, or stopping */
	struct pool_job *head, **tail;
	bool stopping;
	bool waking;			/* a signalled worker has not run yet */
	unsigned int idle;		/* workers waiting for a job */
	/* The serving thread's own: */
	struct uring *uring;		/* NULL: every command on a worker */
	unsigned int queued;		/* I/Os queued, not submitted yet */
	unsigned int uring_writes;	/* writes on the io_uring */
	struct pool_ring *kick_due;	/* rings it answered in, to kick */
	unsigned int n;
	pthread_t threads[];
};

/* Under the pool's lock: one more worker, if one sleeps and none wakes. */
static void pool_wake_one(struct pool *p)
{
	if (p->idle && !p->waking) {
		p->waking = true;
		pthread_cond_signal(&p->work);
	}
}

/* Under the ring's lock: the answer, cmd_tail, and the kernel told. */
static void pool_answer(struct pool_ring *pr, const struct ring_cmd *cmd,
			uint8_t status, const uint8_t *sense)
{
	ring_answer(pr->ring, cmd, status, sense);
	if (ring_publish(pr->ring))
		pr->kick(pr->kick_arg);
}

/*
 * Answer @job; the job goes back to its ring's spares.  The ring is not
 * gone before inflight reaches 0, which happens last.  @kick_now: a
 * worker kicks at once; the serving thread kicks once per batch
 * (pool_kick_due), for every answer it wrote meanwhile.
 */
static void pool_done(struct pool_job *job, uint8_t status,
		      const uint8_t *sense, bool kick_now)
{
	struct pool_ring *pr = job->pr;

	pthread_mutex_lock(&pr->lock);
	if (kick_now) {
		pool_answer(pr, &job->cmd, status, sense);
	} else {
		ring_answer(pr->ring, &job->cmd, status, sense);
		if (!pr->kick_due) {
			pr->kick_due = true;
			pr->kick_next = pr->pool->kick_due;
			pr->pool->kick_due = pr;
		}
	}
	ring_cmd_release(&job->cmd);
	job->next = pr->spare;
	pr->spare = job;
	if (!--pr->inflight && pr->draining)
		pthread_cond_broadcast(&pr->idle);
	/* From here @pr may be gone: its owner saw inflight reach 0. */
	pthread_mutex_unlock(&pr->lock);
}

/* Run @job on this worker and answer it. */
static void pool_run(struct pool_job *job)
{
	struct pool_ring *pr = job->pr;
	uint8_t sense[RING_SENSE_SIZE];
	uint8_t status;

	status = ring_run(pr->ops, pr->ctx, &job->cmd, sense);
	pool_done(job, status, sense, true);
}

static void *pool_worker(void *arg)
{
	struct pool *p = arg;
	struct pool_job *job;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->head && !p->stopping) {
			p->idle++;
			pthread_cond_wait(&p->work, &p->lock);
			p->idle--;
			p->waking = false;
		}
		job = p->head;
		if (!job)
			break;
		p->head = job->next;
		if (!p->head)
			p->tail = &p->head;
		else
			pool_wake_one(p);
		pthread_mutex_unlock(&p->lock);
		pool_run(job);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void pool_push(struct pool *p, struct pool_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&p->lock);
	*p->tail = job;
	p->tail = &job->next;
	pool_wake_one(p);
	pthread_mutex_unlock(&p->lock);
}

int pool_new(unsigned int workers, struct pool **out)
{
	sigset_t all, old;
	struct pool *p;
	int r = 0;

	*out = NULL;
	if (workers > POOL_WORKERS_MAX)
		return -EINVAL;
	p = calloc(1, sizeof(*p) + workers * sizeof(p->threads[0]));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	p->tail = &p->head;
	/* Signals belong to the main thread's signalfd, never to a worker. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (p->n = 0; p->n < workers; p->n++) {
		r = pthread_create(&p->threads[p->n], NULL, pool_worker, p);
		if (r)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		pool_free(p);
		return -r;
	}
	*out = p;
	return 0;
}

void pool_free(struct pool *p)
{
	unsigned int i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	uring_free(p->uring);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

unsigned int pool_workers(const struct pool *p)
{
	return p ? p->n : 0;
}

int pool_use_uring(struct pool *p, unsigned int entries)
{
	if (!p->n)
		return -EINVAL;	/* no workers: every command runs here */
	return uring_new(entries, &p->uring);
}

bool pool_uring(const struct pool *p)
{
	return p && p->uring;
}

int pool_event_fd(const struct pool *p)
{
	return p && p->uring ? uring_event_fd(p->uring) : -1;
}

bool pool_ready(const struct pool *p)
{
	return p->uring && uring_ready(p->uring);
}

/* Publish and kick once for every ring answered in since the last. */
static void pool_kick_due(struct pool *p)
{
	struct pool_ring *pr;

	while ((pr = p->kick_due)) {
		p->kick_due = pr->kick_next;
		pthread_mutex_lock(&pr->lock);
		pr->kick_due = false;
		if (ring_publish(pr->ring))
			pr->kick(pr->kick_arg);
		pthread_mutex_unlock(&pr->lock);
	}
}

/* A finished io_uring I/O: answered, or run again on a worker. */
static void pool_io_done(struct ring_io *io, int res, void *arg)
{
	struct pool_job *job = (struct pool_job *)(void *)
		((char *)io - offsetof(struct pool_job, io));
	struct pool_ring *pr = job->pr;
	uint8_t sense[RING_SENSE_SIZE] = { 0 };
	uint8_t status;

	(void)arg;
	pr->uring_inflight--;
	if (io->write)
		pr->pool->uring_writes--;
	if (res == -EAGAIN) {
		pr->ops->fast_end(pr->ctx, &job->cmd, io, res, true, sense);
		pool_push(pr->pool, job);
		return;
	}
	status = pr->ops->fast_end(pr->ctx, &job->cmd, io, res, false, sense);
	pool_done(job, status, sense, false);
}

/* Submit what is queued, take what finished, kick: the serving thread. */
static void pool_flush(struct pool *p, bool wait)
{
	if (p->queued) {
		p->queued = 0;
		/* Refused (no room for completions): reap, then again. */
		if (uring_submit(p->uring) < 0) {
			p->queued = 1;
			wait = true;
		}
	}
	uring_reap(p->uring, wait, pool_io_done, p);
	pool_kick_due(p);
}

void pool_reap(struct pool *p)
{
	if (p->uring)
		pool_flush(p, false);
}

int pool_ring_init(struct pool_ring *pr, struct pool *p, struct ring *r,
		   const struct ring_ops *ops, void *ctx,
		   void (*kick)(void *arg), void *kick_arg)
{
	int e;

	memset(pr, 0, sizeof(*pr));
	e = pthread_mutex_init(&pr->lock, NULL);
	if (e)
		return -e;
	e = pthread_cond_init(&pr->idle, NULL);
	if (e) {
		pthread_mutex_destroy(&pr->lock);
		return -e;
	}
	pr->ring = r;
	pr->ops = ops;
	pr->ctx = ctx;
	pr->kick = kick;
	pr->kick_arg = kick_arg;
	pr->pool = p;
	return 0;
}

void pool_ring_destroy(struct pool_ring *pr)
{
	if (!pr->ring)
		return;
	pool_ring_quiesce(pr);
	while (pr->spare) {
		struct pool_job *job = pr->spare;

		pr->spare = job->next;
		free(job);
	}
	pthread_cond_destroy(&pr->idle);
	pthread_mutex_destroy(&pr->lock);
	memset(pr, 0, sizeof(*pr));
}

/* No workers (or no memory for a job): every command on this thread. */
static int pool_serve_here(struct pool_ring *pr)
{
	bool kick;
	int r;

	pthread_mutex_lock(&pr->lock);
	r = ring_serve(pr->ring, pr->ops, pr->ctx, &kick);
	if (kick)
		pr->kick(pr->kick_arg);
	pthread_mutex_unlock(&pr->lock);
	return r;
}

/*
 * The next entry into @job, under the ring's lock.  A well-formed
 * command counts as in flight from here; a malformed one is answered.
 */
static int pool_take(struct pool_ring *pr, struct pool_job *job)
{
	uint8_t sense[RING_SENSE_SIZE];
	int kind;

	pthread_mutex_lock(&pr->lock);
	kind = ring_next(pr->ring, &job->cmd);
	if (kind == RING_CMD && job->cmd.bad) {
		pool_answer(pr, &job->cmd,
			    ring_run(pr->ops, pr->ctx, &job->cmd, sense),
			    sense);
		ring_cmd_release(&job->cmd);
	} else if (kind == RING_CMD) {
		/* Alone in flight: a write may take the io_uring. */
		job->io.writes_ok = !pr->inflight++;
	}
	pthread_mutex_unlock(&pr->lock);
	return kind;
}

/* A job for the next command: one of the ring's spares, else a new one. */
static struct pool_job *pool_job_get(struct pool_ring *pr)
{
	struct pool_job *job;

	pthread_mutex_lock(&pr->lock);
	job = pr->spare;
	if (job)
		pr->spare = job->next;
	pthread_mutex_unlock(&pr->lock);
	return job ? job : malloc(sizeof(*job));
}

static void pool_job_put(struct pool_ring *pr, struct pool_job *job)
{
	if (!job)
		return;
	pthread_mutex_lock(&pr->lock);
	job->next = pr->spare;
	pr->spare = job;
	pthread_mutex_unlock(&pr->lock);
}

/*
 * Without a worker when it can: a command that moves no data is answered
 * here, a read or write the backend hands over goes to the io_uring
 * (neither waits for a disk).  False: @job is for a worker.
 */
static bool pool_fast(struct pool_ring *pr, struct pool_job *job)
{
	struct pool *p = pr->pool;
	uint8_t sense[RING_SENSE_SIZE] = { 0 }, status = 0;
	enum ring_fast f;

	if (!p->uring || !pr->ops->fast)
		return false;
	job->io.writes_ok = job->io.writes_ok &&
			    p->uring_writes < POOL_URING_WRITES;
	f = pr->ops->fast(pr->ctx, &job->cmd, &status, sense, &job->io);
	if (f == RING_FAST_DONE) {
		pool_done(job, status, sense, false);
		return true;
	}
	if (f != RING_FAST_IO)
		return false;
	if (uring_queue(p->uring, job->cmd.iov, job->cmd.iov_cnt,
			&job->io)) {
		pr->ops->fast_end(pr->ctx, &job->cmd, &job->io, -EAGAIN, true,
				  sense);
		return false;
	}
	pr->uring_inflight++;
	p->queued++;
	if (job->io.write)
		p->uring_writes++;
	return true;
}

int pool_ring_serve(struct pool_ring *pr)
{
	struct pool_job *job = NULL;
	int kind, n = 0, r;

	if (!pool_workers(pr->pool))
		return pool_serve_here(pr);
	for (;;) {
		if (!job)
			job = pool_job_get(pr);
		if (!job) {
			r = pool_serve_here(pr);
			return r < 0 ? r : n + r;
		}
		kind = pool_take(pr, job);
		if (kind <= 0)
			break;
		n++;
		if (kind == RING_TMR) {
			/* Running commands are not aborted: they finish. */
			if (pr->ops->tmr)
				pr->ops->tmr(pr->ctx, &job->cmd);
		} else if (!job->cmd.bad) {
			/*
			 * Never run a command here that can wait for a
			 * disk: one slow or hung disk would stall every
			 * other device, netlink and signals.
			 */
			job->pr = pr;
			if (!pool_fast(pr, job))
				pool_push(pr->pool, job);
			job = NULL;
		}
	}
	pool_job_put(pr, job);
	/* Page-cache I/O often completes during the submit: answer it now. */
	pool_reap(pr->pool);
	return kind < 0 ? kind : n;
}

void pool_ring_quiesce(struct pool_ring *pr)
{
	pthread_mutex_lock(&pr->lock);
	pr->draining++;
	while (pr->inflight) {
		/*
		 * Only the serving thread quiesces: it reaps, every ring's
		 * I/O, since a worker of this ring may wait in the engine
		 * for what another ring's I/O holds (a chunk's reader).
		 */
		if (pr->pool->uring && uring_busy(pr->pool->uring)) {
			pthread_mutex_unlock(&pr->lock);
			pool_flush(pr->pool, true);
			pthread_mutex_lock(&pr->lock);
			continue;
		}
		pthread_cond_wait(&pr->idle, &pr->lock);
	}
	pr->draining--;
	pthread_mutex_unlock(&pr->lock);
}
