/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snapcowd's data path against raw I/O on the same files in the same
 * run: 4 KiB random I/O through the fake kernel ring (tests/unit/
 * fakering.h), the daemon's ring, pool, device and SCSI code and its
 * backends, at queue depth 1 and 16.  Prints every figure as IOPS and
 * every ratio on a line of its own; it never asserts.
 *
 *	bench-daemon [-d DIR] [-m ORIGIN_MIB] [-n IOS] [-w WORKERS] [-p] [-U]
 *
 * Baselines (threads, one I/O in flight each, on the origin file): raw
 * pread, raw pwrite, raw pwrite+fdatasync.  Cases, each with the daemon
 * running commands as snapcowd does (io_uring: no-data commands and
 * direct reads and writes on the main thread, the rest on a pool of
 * WORKERS threads), with the pool alone (--no-io-uring) and, for the
 * origin without snapshots, with no workers (each command on the main
 * thread), with the io_uring / pool and pool / no workers ratios; -U
 * leaves io_uring out, -p turns the adaptive poll on (--poll):
 *
 *  origin=P             reads / raw pread, writes / raw pwrite, FUA
 *                       writes / raw pwrite+fdatasync
 *  origin=P;cow=C       first writes to chunks not copied since the
 *                       snapshot (copy into C, durable commit) / raw
 *                       pwrite and / raw pwrite+fdatasync; rewrites of
 *                       those chunks / raw pwrite (goal >= 0.9)
 *  snapshot=C;origin=P  random reads over the image / raw pread
 *                       (goal >= 0.9)
 *
 * A backend that device_open() refuses with EOPNOTSUPP prints "skipped:
 * backend not available".  Each depth starts from a freshly formatted C.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "snapcow.h"
#include "cfgstring.h"
#include "device.h"
#include "fakering.h"
#include "loop.h"
#include "pool.h"
#include "shared.h"
#include "bench-util.h"

#define IO		4096u
#define CS		8u		/* 4 KiB chunks */
#define MAX_DEPTH	16u

struct bench {
	char dir[PATH_MAX];
	char origin[PATH_MAX + 32];
	char cow[PATH_MAX + 32];
	uint64_t origin_bytes, cow_bytes, nchunks;
	uint64_t ios;			/* per figure; durable ones: ios / 10 */
	unsigned int workers;
	bool uring;			/* -U: no io_uring line */
	bool poll;			/* -p: poll before sleeping */
	uint64_t *chunks;		/* the origin's chunks, shuffled */
	struct policy policy;
	int fd;				/* raw baselines on the origin file */
};

/* OP_TUR: TEST UNIT READY, no data: the ring's round trip alone. */
enum op { OP_READ, OP_WRITE, OP_WRITE_SYNC, OP_TUR };

/* ---- raw baselines: one thread per I/O in flight ---- */

struct raw_worker {
	struct bench *b;
	enum op op;
	unsigned int id, depth;
	uint64_t ios;
	int result;
	pthread_t t;
};

static int raw_one(struct raw_worker *w, void *buf, uint64_t i,
		   uint64_t *rng)
{
	struct bench *b = w->b;
	uint64_t off;

	if (w->op == OP_READ) {
		off = next_rand(rng) % b->nchunks * IO;
		return pread(b->fd, buf, IO, (off_t)off) == IO ? 0 : -EIO;
	}
	off = b->chunks[(i * w->depth + w->id) % b->nchunks] * IO;
	if (pwrite(b->fd, buf, IO, (off_t)off) != IO)
		return -EIO;
	return w->op == OP_WRITE_SYNC && fdatasync(b->fd) ? -errno : 0;
}

static void *raw_main(void *arg)
{
	struct raw_worker *w = arg;
	uint64_t rng = 7 + w->id * 131;
	void *buf;

	if (posix_memalign(&buf, IO, IO)) {
		w->result = -ENOMEM;
		return NULL;
	}
	memset(buf, 0x5a + (int)w->id, IO);
	for (uint64_t i = 0; i < w->ios / w->depth && !w->result; i++)
		w->result = raw_one(w, buf, i, &rng);
	free(buf);
	return NULL;
}

/* IOPS, or a negative errno. */
static double raw_run(struct bench *b, enum op op, unsigned int depth,
		      uint64_t ios)
{
	struct raw_worker w[MAX_DEPTH];
	unsigned int i;
	double t0;
	int r = 0;

	t0 = now();
	for (i = 0; i < depth; i++) {
		w[i] = (struct raw_worker){ .b = b, .op = op, .id = i,
					    .depth = depth, .ios = ios };
		pthread_create(&w[i].t, NULL, raw_main, &w[i]);
	}
	for (i = 0; i < depth; i++) {
		pthread_join(w[i].t, NULL);
		if (w[i].result)
			r = w[i].result;
	}
	return r ? r : (double)(ios / depth * depth) / (now() - t0);
}

/* ---- the daemon's path: fake kernel, ring, pool, device ---- */

/*
 * The kernel (the bench's thread) and the daemon's main thread are two
 * threads, as they are for real: the kernel queues commands and raises
 * a uio event (an eventfd the daemon's epoll watches, as the uio fd);
 * the daemon thread waits as snapcowd's loop does (loop_wait: adaptive
 * poll, then epoll), takes what the ring holds (pool_ring_serve) and
 * reaps the io_uring; answers kick the kernel.  So no workers costs a
 * thread switch each way too.
 */
struct lun_bench {
	struct fakering fk;
	struct ring ring;
	struct pool *pool;
	struct pool_ring pr;
	struct device *dev;
	struct loop_poll lp;
	int efd;			/* kernel -> daemon events */
	int epfd;
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* kicks */
	unsigned int kicks;		/* daemon -> kernel */
	bool stop, started;
	pthread_t daemon;
};

/* How the daemon runs commands. */
enum mode { MODE_URING, MODE_POOL, MODE_NONE };

static const char *const mode_name[] = {
	[MODE_URING] = "io_uring",
	[MODE_POOL] = "pool",
	[MODE_NONE] = "no workers",
};

static void bench_kick(void *arg)
{
	struct lun_bench *lb = arg;

	pthread_mutex_lock(&lb->mu);
	lb->kicks++;
	pthread_cond_signal(&lb->cv);
	pthread_mutex_unlock(&lb->mu);
}

static void uio_event(struct lun_bench *lb)
{
	uint64_t one = 1;

	if (write(lb->efd, &one, sizeof(one)) != sizeof(one))
		abort();
}

static bool daemon_ready(void *arg)
{
	struct lun_bench *lb = arg;

	return ring_has_new(&lb->ring) || pool_ready(lb->pool);
}

/* The daemon's main thread: snapcowd's loop for one LUN. */
static void *daemon_main(void *arg)
{
	struct lun_bench *lb = arg;
	struct epoll_event evs[4];
	uint64_t v;
	int i, n;

	while (!__atomic_load_n(&lb->stop, __ATOMIC_ACQUIRE)) {
		n = loop_wait(&lb->lp, lb->epfd, evs, 4, -1, daemon_ready,
			      lb);
		for (i = 0; i < n; i++) {
			if (evs[i].data.u32) {
				pool_reap(lb->pool);
				continue;
			}
			if (read(lb->efd, &v, sizeof(v)) < 0)
				continue;
			if (pool_ring_serve(&lb->pr) < 0)
				fprintf(stderr, "bench-daemon: ring broken: %s\n",
					lb->ring.why);
		}
	}
	return NULL;
}

static int epoll_add(int epfd, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Serve @cfg through a fresh fake ring, the daemon running as @mode. */
static int lun_start(struct bench *b, struct lun_bench *lb, const char *cfg,
		     enum mode mode)
{
	struct device_params prm = { .name = "bench/lun", .block_size = 512 };
	char err[PATH_MAX + 256];
	int r;

	memset(lb, 0, sizeof(*lb));
	lb->efd = lb->epfd = -1;
	lb->lp.enabled = b->poll;
	pthread_mutex_init(&lb->mu, NULL);
	pthread_cond_init(&lb->cv, NULL);
	r = device_open(&b->policy, cfg, &prm, &lb->dev, err, sizeof(err));
	if (r) {
		if (r != -EOPNOTSUPP)
			fprintf(stderr, "bench-daemon: %s\n", err);
		return r;
	}
	if (fk_init(&lb->fk, 64 * 1024))
		return -ENOMEM;
	lb->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	lb->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lb->efd < 0 || lb->epfd < 0)
		return -errno;
	r = ring_attach(&lb->ring, lb->fk.mem, lb->fk.size);
	r = r ?: pool_new(mode == MODE_NONE ? 0 : b->workers, &lb->pool);
	if (!r && mode == MODE_URING)
		r = pool_use_uring(lb->pool, POOL_URING_ENTRIES);
	r = r ?: epoll_add(lb->epfd, lb->efd, 0);
	if (!r && mode == MODE_URING)
		r = epoll_add(lb->epfd, pool_event_fd(lb->pool), 1);
	r = r ?: pool_ring_init(&lb->pr, lb->pool, &lb->ring,
				&device_ring_ops, lb->dev, bench_kick, lb);
	r = r ?: -pthread_create(&lb->daemon, NULL, daemon_main, lb);
	lb->started = !r;
	return r;
}

static void lun_stop(struct lun_bench *lb)
{
	if (lb->started) {
		__atomic_store_n(&lb->stop, true, __ATOMIC_RELEASE);
		uio_event(lb);
		pthread_join(lb->daemon, NULL);
	}
	pool_ring_destroy(&lb->pr);
	pool_free(lb->pool);
	if (lb->dev)
		device_close(lb->dev);
	fk_free(&lb->fk);
	if (lb->efd >= 0)
		close(lb->efd);
	if (lb->epfd >= 0)
		close(lb->epfd);
	pthread_cond_destroy(&lb->cv);
	pthread_mutex_destroy(&lb->mu);
}

/* READ(10), WRITE(10), or WRITE(10) with FUA for OP_WRITE_SYNC. */
static void cdb_rw(uint8_t *c, enum op op, uint64_t off)
{
	uint32_t lba = (uint32_t)(off / 512);

	memset(c, 0, 10);
	c[0] = op == OP_READ ? 0x28 : 0x2a;
	c[1] = op == OP_WRITE_SYNC ? 0x08 : 0;
	c[2] = (uint8_t)(lba >> 24);
	c[3] = (uint8_t)(lba >> 16);
	c[4] = (uint8_t)(lba >> 8);
	c[5] = (uint8_t)lba;
	c[8] = IO / 512;
}

struct lun_run {
	struct bench *b;
	struct lun_bench *lb;
	enum op op;
	uint64_t ios, issued, done;
	uint64_t rng;
	uint8_t buf[IO];
};

/* The kernel's side: put command @id (one 4 KiB I/O) in the ring. */
static int lun_issue(struct lun_run *lr, uint16_t id)
{
	struct bench *b = lr->b;
	uint8_t cdb[10];
	uint64_t off;

	lr->issued++;
	if (lr->op == OP_TUR) {
		memset(cdb, 0, 6);
		return fk_queue(&lr->lb->fk, id, cdb, 6, NULL, 0);
	}
	off = lr->op != OP_READ ? b->chunks[(lr->issued - 1) % b->nchunks] * IO :
				  next_rand(&lr->rng) % b->nchunks * IO;
	cdb_rw(cdb, lr->op, off);
	return fk_queue(&lr->lb->fk, id, cdb, 10,
			lr->op != OP_READ ? lr->buf : NULL, IO);
}

/* Reap answers, check them, refill the ring; the number reaped or -EIO. */
static int lun_reap(struct lun_run *lr, unsigned int depth)
{
	struct fakering *fk = &lr->lb->fk;
	bool queued = false;
	uint16_t id;
	int n = 0;

	if (!fk_reap(fk))
		return 0;
	for (id = 0; id < depth; id++) {
		struct fk_result *res = &fk->res[id];

		if (!res->done)
			continue;
		res->done = false;
		if (res->status) {
			fprintf(stderr, "bench-daemon: %s: status 0x%02x, sense %x/%02x/%02x\n",
				lr->lb->dev->name, res->status,
				res->sense[2] & 0x0f, res->sense[12],
				res->sense[13]);
			return -EIO;
		}
		n++;
		lr->done++;
		if (lr->issued < lr->ios) {
			if (lun_issue(lr, id))
				return -EIO;
			queued = true;
		}
	}
	if (queued)
		uio_event(lr->lb);
	return n;
}

/* Wait for a kick other than @seen. */
static void lun_wait(struct lun_bench *lb, unsigned int seen)
{
	pthread_mutex_lock(&lb->mu);
	while (lb->kicks == seen)
		pthread_cond_wait(&lb->cv, &lb->mu);
	pthread_mutex_unlock(&lb->mu);
}

/* IOPS of @ios 4 KiB commands, @depth in flight, or a negative errno. */
static double lun_run(struct bench *b, struct lun_bench *lb, enum op op,
		      unsigned int depth, uint64_t ios)
{
	struct lun_run *lr = calloc(1, sizeof(*lr));
	unsigned int seen;
	double t0, iops = -EIO;
	uint16_t id;
	int n;

	if (!lr)
		return -ENOMEM;
	*lr = (struct lun_run){ .b = b, .lb = lb, .op = op, .ios = ios,
				.rng = 99 };
	memset(lr->buf, 0xc3, IO);
	t0 = now();
	for (id = 0; id < depth; id++)
		if (lun_issue(lr, id))
			goto out;
	uio_event(lb);
	while (lr->done < ios) {
		pthread_mutex_lock(&lb->mu);
		seen = lb->kicks;
		pthread_mutex_unlock(&lb->mu);
		n = lun_reap(lr, depth);
		if (n < 0)
			goto out;
		if (!n)
			lun_wait(lb, seen);
	}
	iops = (double)ios / (now() - t0);
out:
	free(lr);
	return iops;
}

/* ---- figures ---- */

static void print_iops(unsigned int depth, const char *what, double iops)
{
	printf("qd%-2u %-46s %9.0f IOPS\n", depth, what, iops);
}

static void print_ratio(unsigned int depth, const char *what,
			const char *base, double iops, double raw,
			const char *goal)
{
	printf("qd%-2u %-26s / %-19s %9.0f / %9.0f IOPS = %5.2f%s\n", depth,
	       what, base, iops, raw, iops / raw, goal);
}

static void print_skip(unsigned int depth, const char *what)
{
	printf("qd%-2u %-26s skipped: backend not available\n", depth, what);
}

struct raw {
	double read, write, write_sync;
};

/*
 * TEST UNIT READY moves no data: its IOPS are the fake kernel's and the
 * daemon's round trip (an event each way).  A command that adds one raw
 * I/O to that round trip can reach at most 1 / (1 + raw / round trip)
 * of the raw I/O rate: the ceiling of the ratios at this depth.
 */
static void print_bound(unsigned int depth, enum mode m, double tur,
			const struct raw *raw)
{
	char what[64];

	if (tur < 0)
		return;
	snprintf(what, sizeof(what), "TEST UNIT READY %s (round trip)",
		 mode_name[m]);
	print_iops(depth, what, tur);
	printf("qd%-2u ceiling %-10s one I/O + round trip: about %.2f of raw pread, %.2f of raw pwrite\n",
	       depth, mode_name[m], 1 / (1 + raw->read / tur),
	       1 / (1 + raw->write / tur));
}

/* Figures with no goal in issue 7: the plain path, for reference. */
#define REF "  (no goal)"

/* The modes to compare: io_uring first unless -U. */
static unsigned int bench_modes(const struct bench *b, enum mode *m,
				bool none)
{
	unsigned int n = 0;

	if (b->uring)
		m[n++] = MODE_URING;
	m[n++] = MODE_POOL;
	if (none)
		m[n++] = MODE_NONE;
	return n;
}

/* @what as @m / @base. */
static void print_case(unsigned int depth, const char *what, enum mode m,
		       const char *base, double iops, double raw,
		       const char *goal)
{
	char w[64];

	snprintf(w, sizeof(w), "%s %s", what, mode_name[m]);
	print_ratio(depth, w, base, iops, raw, goal);
}

static void print_vs(unsigned int depth, const char *what, enum mode a,
		     enum mode base, const double *v)
{
	char w[64], bw[32];

	snprintf(w, sizeof(w), "%s %s", what, mode_name[a]);
	snprintf(bw, sizeof(bw), "%s", mode_name[base]);
	print_ratio(depth, w, bw, v[a], v[base], REF);
}

static int bench_plain(struct bench *b, unsigned int depth,
		       const struct raw *raw)
{
	char cfg[2 * PATH_MAX];
	struct lun_bench lb;
	double rd[3], wr[3], fua[3], tur[3];
	enum mode m[3];
	unsigned int n = bench_modes(b, m, true), i;
	int r;

	snprintf(cfg, sizeof(cfg), "origin=%s", b->origin);
	for (i = 0; i < n; i++) {
		enum mode k = m[i];

		r = lun_start(b, &lb, cfg, k);
		tur[k] = r ? r : lun_run(b, &lb, OP_TUR, depth, b->ios);
		rd[k] = r ? r : lun_run(b, &lb, OP_READ, depth, b->ios);
		wr[k] = rd[k] < 0 ? -EIO :
			lun_run(b, &lb, OP_WRITE, depth, b->ios);
		fua[k] = wr[k] < 0 ? -EIO :
			 lun_run(b, &lb, OP_WRITE_SYNC, depth, b->ios / 10);
		lun_stop(&lb);
		if (fua[k] < 0)
			return -EIO;
		print_case(depth, "origin=P read ", k, "raw pread", rd[k],
			   raw->read, REF);
		print_case(depth, "origin=P write", k, "raw pwrite", wr[k],
			   raw->write, REF);
		print_case(depth, "origin=P FUA  ", k, "raw pwrite+fdatasync",
			   fua[k], raw->write_sync, REF);
		print_bound(depth, k, tur[k], raw);
	}
	for (i = 0; i + 1 < n; i++) {
		print_vs(depth, "read ", m[i], m[n - 1], rd);
		print_vs(depth, "write", m[i], m[n - 1], wr);
		print_vs(depth, "FUA  ", m[i], m[n - 1], fua);
	}
	if (n == 3) {
		print_vs(depth, "read ", m[0], m[1], rd);
		print_vs(depth, "write", m[0], m[1], wr);
		print_vs(depth, "FUA  ", m[0], m[1], fua);
	}
	return 0;
}

/* The engine's counters for the origin a COW backend serves. */
static void lun_stats(struct lun_bench *lb, struct snapcow_engine_stats *st)
{
	const struct shared_ref *ref = lb->dev->priv;

	snapcow_origin_get_stats(ref->so->eng, st);
}

/* A freshly formatted COW: the snapshot is taken now. */
static int cow_format(struct bench *b)
{
	char err[SNAPCOW_ERRBUF_SIZE];
	struct snapcow_dev *cow;
	int r;

	r = fill_file(b->cow, b->cow_bytes, 0);
	if (!r)
		r = snapcow_dev_open(b->cow, SNAPCOW_DEV_WRITE, &cow);
	if (r)
		return r;
	r = snapcow_store_format(cow, CS, err, sizeof(err));
	if (r)
		fprintf(stderr, "bench-daemon: %s: %s\n", b->cow, err);
	snapcow_dev_close(cow);
	return r;
}

#define FIRST	"origin=P;cow=C first write"
#define REWRITE	"origin=P;cow=C rewrite"
#define SNAPRD	"snapshot=C;origin=P read"

struct cow_figs {
	double first[3], rewrite[3], rd[3];
};

/* First writes and rewrites through the origin LUN, as @m. */
static int bench_origin_cow(struct bench *b, unsigned int depth,
			    const struct raw *raw, enum mode m,
			    struct cow_figs *f)
{
	char cfg[3 * PATH_MAX], what[64];
	struct lun_bench lb;
	struct snapcow_engine_stats st = { 0 };
	uint64_t nfirst = b->ios / 10;
	int r;

	r = cow_format(b);
	if (r)
		return r;
	snprintf(cfg, sizeof(cfg), "origin=%s;cow=%s", b->origin, b->cow);
	r = lun_start(b, &lb, cfg, m);
	if (!r) {
		/* Chunks [0, nfirst) of the shuffled list: never copied. */
		f->first[m] = lun_run(b, &lb, OP_WRITE, depth, nfirst);
		lun_stats(&lb, &st);
		f->rewrite[m] = f->first[m] < 0 ? f->first[m] :
			lun_run(b, &lb, OP_WRITE, depth, nfirst);
		if (f->first[m] < 0 || f->rewrite[m] < 0)
			r = -EIO;
	}
	lun_stop(&lb);
	if (r == -EOPNOTSUPP) {
		print_skip(depth, FIRST);
		print_skip(depth, REWRITE);
	}
	if (r)
		return r;
	print_case(depth, "first write", m, "raw pwrite", f->first[m],
		   raw->write, "  (goal >= 0.3)");
	print_case(depth, "first write", m, "raw pwrite+fdatasync",
		   f->first[m], raw->write_sync,
		   "  (no goal: 2 flushes per commit)");
	snprintf(what, sizeof(what), "first write %s", mode_name[m]);
	printf("qd%-2u %-26s %llu copies, %llu exceptions in %llu group commits (%.2f per commit)\n",
	       depth, what, (unsigned long long)st.copies,
	       (unsigned long long)st.exceptions,
	       (unsigned long long)st.commits,
	       st.commits ? (double)st.exceptions / st.commits : 0.0);
	print_case(depth, "rewrite", m, "raw pwrite", f->rewrite[m],
		   raw->write, "  (goal >= 0.9)");
	return 0;
}

/* Random reads over the snapshot's image, as @m. */
static int bench_snap_read(struct bench *b, unsigned int depth,
			   const struct raw *raw, enum mode m,
			   struct cow_figs *f)
{
	char cfg[3 * PATH_MAX];
	struct lun_bench lb;
	int r;

	snprintf(cfg, sizeof(cfg), "snapshot=%s;origin=%s", b->cow,
		 b->origin);
	r = lun_start(b, &lb, cfg, m);
	if (!r) {
		f->rd[m] = lun_run(b, &lb, OP_READ, depth, b->ios);
		if (f->rd[m] < 0)
			r = -EIO;
	}
	lun_stop(&lb);
	if (r == -EOPNOTSUPP)
		print_skip(depth, SNAPRD);
	if (r)
		return r;
	print_case(depth, "snapshot read", m, "raw pread", f->rd[m],
		   raw->read, "  (goal >= 0.9)");
	return 0;
}

static int bench_cow(struct bench *b, unsigned int depth,
		     const struct raw *raw)
{
	struct cow_figs f;
	enum mode m[2];
	unsigned int n = bench_modes(b, m, false), i;
	int r = 0;

	for (i = 0; !r && i < n; i++) {
		r = bench_origin_cow(b, depth, raw, m[i], &f);
		r = r ?: bench_snap_read(b, depth, raw, m[i], &f);
	}
	if (r)
		return r == -EOPNOTSUPP ? 0 : r;
	if (n == 2) {
		print_vs(depth, "first write", m[0], m[1], f.first);
		print_vs(depth, "rewrite", m[0], m[1], f.rewrite);
		print_vs(depth, "snapshot read", m[0], m[1], f.rd);
	}
	return 0;
}

static int bench_depth(struct bench *b, unsigned int depth)
{
	struct raw raw;
	int r;

	raw.read = raw_run(b, OP_READ, depth, b->ios);
	raw.write = raw_run(b, OP_WRITE, depth, b->ios);
	raw.write_sync = raw_run(b, OP_WRITE_SYNC, depth, b->ios / 10);
	if (raw.read < 0 || raw.write < 0 || raw.write_sync < 0)
		return -EIO;
	print_iops(depth, "raw pread", raw.read);
	print_iops(depth, "raw pwrite", raw.write);
	print_iops(depth, "raw pwrite+fdatasync", raw.write_sync);
	r = bench_plain(b, depth, &raw);
	if (!r)
		r = bench_cow(b, depth, &raw);
	return r;
}

static int bench_setup(struct bench *b, uint64_t mib)
{
	char err[PATH_MAX + 128];
	int r;

	b->origin_bytes = mib << 20;
	/* Every chunk, its share of areas, the header and spare. */
	b->cow_bytes = b->origin_bytes + b->origin_bytes / 256 + (1 << 20);
	b->nchunks = b->origin_bytes / IO;
	if (b->ios > b->nchunks)
		b->ios = b->nchunks;
	snprintf(b->origin, sizeof(b->origin), "%s/origin.img", b->dir);
	snprintf(b->cow, sizeof(b->cow), "%s/cow.img", b->dir);
	b->chunks = malloc(b->nchunks * sizeof(*b->chunks));
	if (!b->chunks)
		return -ENOMEM;
	shuffle(b->chunks, b->nchunks);
	r = fill_file(b->origin, b->origin_bytes, 0xa5);
	if (r)
		return r;
	r = policy_allow(&b->policy, b->dir, err, sizeof(err));
	if (r) {
		fprintf(stderr, "bench-daemon: %s\n", err);
		return r;
	}
	b->fd = open(b->origin, O_RDWR | O_CLOEXEC);
	return b->fd < 0 ? -errno : 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: bench-daemon [-d DIR] [-m ORIGIN_MIB] [-n IOS] [-w WORKERS] [-p] [-U]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct bench b = { .ios = 20000, .fd = -1, .uring = true,
			   .workers = POOL_WORKERS_DEFAULT };
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char tmpl[PATH_MAX];
	uint64_t mib = 64;
	int opt, r;

	while ((opt = getopt(argc, argv, "d:m:n:w:pU")) != -1) {
		if (opt == 'd')
			dir = optarg;
		else if (opt == 'm')
			mib = strtoull(optarg, NULL, 0);
		else if (opt == 'n')
			b.ios = strtoull(optarg, NULL, 0);
		else if (opt == 'w')
			b.workers = (unsigned int)strtoul(optarg, NULL, 0);
		else if (opt == 'p')
			b.poll = true;
		else if (opt == 'U')
			b.uring = false;
		else
			return usage();
	}
	if (!mib || b.ios < 160 || !b.workers ||
	    b.workers > POOL_WORKERS_MAX) {
		fprintf(stderr, "bench-daemon: -m must be > 0, -n >= 160, -w from 1 to %d\n",
			POOL_WORKERS_MAX);
		return 2;
	}
	snprintf(tmpl, sizeof(tmpl), "%s/bench-daemon.XXXXXX", dir);
	if (!mkdtemp(tmpl) || !realpath(tmpl, b.dir)) {
		fprintf(stderr, "bench-daemon: %s: %s\n", tmpl,
			strerror(errno));
		return 1;
	}
	r = bench_setup(&b, mib);
	if (r) {
		fprintf(stderr, "bench-daemon: %s: %s\n", b.dir, strerror(-r));
		goto out;
	}
	printf("bench-daemon: %llu MiB origin in %s, %llu commands of 4 KiB per figure (%llu for durable writes), %u workers, polling %s\n",
	       (unsigned long long)mib, b.dir, (unsigned long long)b.ios,
	       (unsigned long long)b.ios / 10, b.workers,
	       b.poll ? "on (-p)" : "off");
	r = bench_depth(&b, 1);
	if (!r)
		r = bench_depth(&b, MAX_DEPTH);
	if (r)
		fprintf(stderr, "bench-daemon: %s\n", strerror(-r));
out:
	if (b.fd >= 0)
		close(b.fd);
	unlink(b.origin);
	unlink(b.cow);
	rmdir(b.dir);
	policy_free(&b.policy);
	free(b.chunks);
	return r ? 1 : 0;
}
