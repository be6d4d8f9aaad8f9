/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snapcowd's data path against raw I/O on the same files in the same
 * run: 4 KiB random I/O through the fake kernel ring (tests/unit/
 * fakering.h), the daemon's ring, pool, device and SCSI code and its
 * backends, at queue depth 1 and 16.  Prints every figure as IOPS and
 * every ratio on a line of its own; it never asserts.
 *
 *	bench-daemon [-d DIR] [-m ORIGIN_MIB] [-n IOS] [-w WORKERS]
 *
 * Baselines (threads, one I/O in flight each, on the origin file): raw
 * pread, raw pwrite, raw pwrite+fdatasync.  Cases, each through the pool
 * of WORKERS threads (default the daemon's; 0: none) and, for the origin
 * without snapshots, also with no workers (each command on the daemon's
 * main thread), with the pool / no workers ratios:
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
#include <unistd.h>

#include "snapcow.h"
#include "cfgstring.h"
#include "device.h"
#include "fakering.h"
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
 * a uio event; the daemon thread takes them (pool_ring_serve); answers
 * kick the kernel.  So no workers costs a thread switch each way too.
 */
struct lun_bench {
	struct fakering fk;
	struct ring ring;
	struct pool *pool;
	struct pool_ring pr;
	struct device *dev;
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* kicks */
	pthread_cond_t ev_cv;		/* events, stop */
	unsigned int kicks;		/* daemon -> kernel */
	unsigned int events;		/* kernel -> daemon */
	bool stop, started;
	pthread_t daemon;
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
	pthread_mutex_lock(&lb->mu);
	lb->events++;
	pthread_cond_signal(&lb->ev_cv);
	pthread_mutex_unlock(&lb->mu);
}

/* The daemon's main thread: on each event, take what the ring holds. */
static void *daemon_main(void *arg)
{
	struct lun_bench *lb = arg;
	unsigned int seen = 0;

	pthread_mutex_lock(&lb->mu);
	while (!lb->stop) {
		if (lb->events == seen) {
			pthread_cond_wait(&lb->ev_cv, &lb->mu);
			continue;
		}
		seen = lb->events;
		pthread_mutex_unlock(&lb->mu);
		if (pool_ring_serve(&lb->pr) < 0)
			fprintf(stderr, "bench-daemon: ring broken: %s\n",
				lb->ring.why);
		pthread_mutex_lock(&lb->mu);
	}
	pthread_mutex_unlock(&lb->mu);
	return NULL;
}

/* Serve @cfg through a fresh fake ring and a pool of @workers. */
static int lun_start(struct bench *b, struct lun_bench *lb, const char *cfg,
		     unsigned int workers)
{
	struct device_params prm = { .name = "bench/lun", .block_size = 512 };
	char err[PATH_MAX + 256];
	int r;

	memset(lb, 0, sizeof(*lb));
	pthread_mutex_init(&lb->mu, NULL);
	pthread_cond_init(&lb->cv, NULL);
	pthread_cond_init(&lb->ev_cv, NULL);
	r = device_open(&b->policy, cfg, &prm, &lb->dev, err, sizeof(err));
	if (r) {
		if (r != -EOPNOTSUPP)
			fprintf(stderr, "bench-daemon: %s\n", err);
		return r;
	}
	if (fk_init(&lb->fk, 64 * 1024))
		return -ENOMEM;
	r = ring_attach(&lb->ring, lb->fk.mem, lb->fk.size);
	if (!r)
		r = pool_new(workers, &lb->pool);
	if (!r)
		r = pool_ring_init(&lb->pr, lb->pool, &lb->ring,
				   &device_ring_ops, lb->dev, bench_kick, lb);
	if (!r)
		r = -pthread_create(&lb->daemon, NULL, daemon_main, lb);
	lb->started = !r;
	return r;
}

static void lun_stop(struct lun_bench *lb)
{
	if (lb->started) {
		pthread_mutex_lock(&lb->mu);
		lb->stop = true;
		pthread_cond_signal(&lb->ev_cv);
		pthread_mutex_unlock(&lb->mu);
		pthread_join(lb->daemon, NULL);
	}
	pool_ring_destroy(&lb->pr);
	pool_free(lb->pool);
	if (lb->dev)
		device_close(lb->dev);
	fk_free(&lb->fk);
	pthread_cond_destroy(&lb->cv);
	pthread_cond_destroy(&lb->ev_cv);
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
static void print_bound(unsigned int depth, double tur, const struct raw *raw)
{
	if (tur < 0)
		return;
	print_iops(depth, "TEST UNIT READY (ring round trip)", tur);
	printf("qd%-2u ceiling, one I/O + round trip: about %.2f of raw pread, %.2f of raw pwrite\n",
	       depth, 1 / (1 + raw->read / tur), 1 / (1 + raw->write / tur));
}

/* Figures with no goal in issue 7: the plain path, for reference. */
#define REF "  (no goal)"

static int bench_plain(struct bench *b, unsigned int depth,
		       const struct raw *raw)
{
	char cfg[2 * PATH_MAX], what[64];
	struct lun_bench lb;
	double rd[2], wr[2], fua[2], tur = -EIO;
	unsigned int w[2] = { b->workers, 0 };
	int i, r;

	snprintf(cfg, sizeof(cfg), "origin=%s", b->origin);
	for (i = 0; i < 2; i++) {
		r = lun_start(b, &lb, cfg, w[i]);
		if (!r && !i)
			tur = lun_run(b, &lb, OP_TUR, depth, b->ios);
		rd[i] = r ? r : lun_run(b, &lb, OP_READ, depth, b->ios);
		wr[i] = rd[i] < 0 ? -EIO :
			lun_run(b, &lb, OP_WRITE, depth, b->ios);
		fua[i] = wr[i] < 0 ? -EIO :
			 lun_run(b, &lb, OP_WRITE_SYNC, depth, b->ios / 10);
		lun_stop(&lb);
		if (fua[i] < 0)
			return -EIO;
		snprintf(what, sizeof(what), "origin=P read  %2u workers",
			 w[i]);
		print_ratio(depth, what, "raw pread", rd[i], raw->read, REF);
		snprintf(what, sizeof(what), "origin=P write %2u workers",
			 w[i]);
		print_ratio(depth, what, "raw pwrite", wr[i], raw->write, REF);
		snprintf(what, sizeof(what), "origin=P FUA   %2u workers",
			 w[i]);
		print_ratio(depth, what, "raw pwrite+fdatasync", fua[i],
			    raw->write_sync, REF);
	}
	print_bound(depth, tur, raw);
	snprintf(what, sizeof(what), "read  %u workers", w[0]);
	print_ratio(depth, what, "0 workers", rd[0], rd[1], REF);
	snprintf(what, sizeof(what), "write %u workers", w[0]);
	print_ratio(depth, what, "0 workers", wr[0], wr[1], REF);
	snprintf(what, sizeof(what), "FUA   %u workers", w[0]);
	print_ratio(depth, what, "0 workers", fua[0], fua[1], REF);
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

static int bench_cow(struct bench *b, unsigned int depth,
		     const struct raw *raw)
{
	char cfg[3 * PATH_MAX];
	struct lun_bench lb;
	struct snapcow_engine_stats st = { 0 };
	double first, rewrite, rd;
	uint64_t nfirst = b->ios / 10;
	int r;

	r = cow_format(b);
	if (r)
		return r;
	snprintf(cfg, sizeof(cfg), "origin=%s;cow=%s", b->origin, b->cow);
	r = lun_start(b, &lb, cfg, b->workers);
	if (r == -EOPNOTSUPP) {
		print_skip(depth, FIRST);
		print_skip(depth, REWRITE);
	} else if (!r) {
		/* Chunks [0, nfirst) of the shuffled list: never copied. */
		first = lun_run(b, &lb, OP_WRITE, depth, nfirst);
		lun_stats(&lb, &st);
		rewrite = first < 0 ? first :
			  lun_run(b, &lb, OP_WRITE, depth, nfirst);
		if (first < 0 || rewrite < 0)
			r = -EIO;
	}
	lun_stop(&lb);
	if (r && r != -EOPNOTSUPP)
		return r;
	if (!r) {
		print_ratio(depth, FIRST, "raw pwrite", first, raw->write,
			    "  (goal >= 0.3)");
		print_ratio(depth, FIRST, "raw pwrite+fdatasync", first,
			    raw->write_sync, "  (no goal: 2 flushes per commit)");
		printf("qd%-2u %-26s %llu copies, %llu exceptions in %llu group commits (%.2f per commit)\n",
		       depth, FIRST, (unsigned long long)st.copies,
		       (unsigned long long)st.exceptions,
		       (unsigned long long)st.commits,
		       st.commits ? (double)st.exceptions / st.commits : 0.0);
		print_ratio(depth, REWRITE, "raw pwrite", rewrite, raw->write,
			    "  (goal >= 0.9)");
	}
	snprintf(cfg, sizeof(cfg), "snapshot=%s;origin=%s", b->cow,
		 b->origin);
	r = lun_start(b, &lb, cfg, b->workers);
	if (r == -EOPNOTSUPP) {
		print_skip(depth, SNAPRD);
	} else if (!r) {
		rd = lun_run(b, &lb, OP_READ, depth, b->ios);
		if (rd < 0)
			r = -EIO;
		else
			print_ratio(depth, SNAPRD, "raw pread", rd, raw->read,
				    "  (goal >= 0.9)");
	}
	lun_stop(&lb);
	return r == -EOPNOTSUPP ? 0 : r;
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
	fprintf(stderr, "usage: bench-daemon [-d DIR] [-m ORIGIN_MIB] [-n IOS] [-w WORKERS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct bench b = { .ios = 20000, .fd = -1,
			   .workers = POOL_WORKERS_DEFAULT };
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char tmpl[PATH_MAX];
	uint64_t mib = 64;
	int opt, r;

	while ((opt = getopt(argc, argv, "d:m:n:w:")) != -1) {
		if (opt == 'd')
			dir = optarg;
		else if (opt == 'm')
			mib = strtoull(optarg, NULL, 0);
		else if (opt == 'n')
			b.ios = strtoull(optarg, NULL, 0);
		else if (opt == 'w')
			b.workers = (unsigned int)strtoul(optarg, NULL, 0);
		else
			return usage();
	}
	if (!mib || b.ios < 160 || b.workers > POOL_WORKERS_MAX) {
		fprintf(stderr, "bench-daemon: -m must be > 0, -n >= 160, -w from 0 to %d\n",
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
	printf("bench-daemon: %llu MiB origin in %s, %llu commands of 4 KiB per figure (%llu for durable writes), %u workers\n",
	       (unsigned long long)mib, b.dir, (unsigned long long)b.ios,
	       (unsigned long long)b.ios / 10, b.workers);
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
