/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The model test of issue 7: random reads and writes through fake rings
 * (fakelun.h) against an origin LUN (origin=P;cow=C1;cow=C2, C1 with
 * 4 KiB chunks, C2 new and formatted by the engine with 16 KiB ones, so
 * that origin writes copy in descending chunk-size order) and the two
 * snapshot LUNs, compared with an in-memory model: the origin's image
 * and each snapshot's.
 *
 * 8 to 32 commands are queued on the three rings before they are
 * served, each ring on its own thread at once, as snapcowd serves LUNs:
 * origin writes run together with snapshot reads and writes of the same
 * chunks (the snapshot must read the old data), half of the commands in
 * a hot spot of 256 KiB so that they meet while chunks are being copied.
 * Within one LUN no two commands in flight overlap when one of them
 * writes (initiators do not do that; its result is undefined).  Sizes
 * 512 B..32 KiB, anywhere, so commands cross chunks; some writes are
 * FUA, some commands SYNCHRONIZE CACHE; every command must succeed.
 *
 * The run is cut into epochs: at the end of each the LUNs are closed,
 * the origin file must equal the model, both COWs must check clean with
 * the library's checker (what snapcheck -n runs) and snapcow_export of
 * each must equal the model's snapshot image; then fresh COWs are
 * served again (snapshots taken now), the LUNs opened in another order.
 *
 * Built twice: test-device-model serves each ring with ring_serve(),
 * test-device-model-uring through a pool of 4 workers with an io_uring,
 * as snapcowd does (direct reads and writes from the serving thread,
 * copies and commits on the workers), 300000 commands by default.
 *
 * SNAPCOW_MODEL_OPS (default 1000000) and SNAPCOW_MODEL_SEED (default:
 * from the clock) set the run; the seed is printed.  Files live in
 * /dev/shm when it is there, else $TMPDIR.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "snapcow.h"
#include "device.h"
#include "shared.h"
#include "fakelun.h"
#include "memdev.h"
#include "tap.h"

#define BS		512u
#define ORIGIN_BYTES	(4u << 20)
#define COW_BYTES	(5u << 20)	/* room for a copy of every chunk */
#define BLOCKS		(ORIGIN_BYTES / BS)
#define MAX_BLOCKS	64u		/* 32 KiB */
#define QD		32u
#define EPOCHS		40u
#define HOT_BLOCKS	512u		/* 256 KiB: half the commands */
#define NLUNS		3		/* origin, snapshot of C1, of C2 */
#ifdef MODEL_URING
#define MODEL_OPS	300000u
#else
#define MODEL_OPS	1000000u
#endif

struct cmd {
	int lun;
	uint16_t id;
	uint8_t op;			/* 0x28, 0x2a, 0x35 */
	uint32_t lba, blocks;
};

static char dir[256], err[PATH_MAX + 512];
static struct policy policy;
static struct fakelun luns[NLUNS];
static uint8_t *model[NLUNS];		/* origin, snapshot 1, snapshot 2 */
static uint8_t *out, *in;
static struct prng rng;
static uint64_t write_seq;
static uint64_t origin_writes;		/* this epoch */
static uint32_t hot;			/* this epoch's hot spot */

/* Each ring served by its own thread, one batch at a time. */
static pthread_barrier_t start, end;
static bool stopping;

static void *server(void *arg)
{
	struct fakelun *l = arg;

	for (;;) {
		pthread_barrier_wait(&start);
		if (stopping)
			return NULL;
		fakelun_serve(l);
		pthread_barrier_wait(&end);
	}
}

static void path_of(char *buf, size_t len, const char *file)
{
	snprintf(buf, len, "%s/%s", dir, file);
}

/* A new file of @size bytes holding @len bytes of @buf at 0. */
static void write_file(const char *file, const void *buf, size_t len,
		       size_t size)
{
	char p[PATH_MAX + 16];
	int fd;

	path_of(p, sizeof(p), file);
	fd = open(p, O_CREAT | O_TRUNC | O_RDWR, 0644);
	if (fd < 0 || ftruncate(fd, size) ||
	    (len && pwrite(fd, buf, len, 0) != (ssize_t)len))
		abort();
	close(fd);
}

/* C1: a formatted COW with 4 KiB chunks; C2: all zero (new). */
static void fresh_cows(void)
{
	unsigned char hdr[2 * 4096] = { 0 };

	raw_header(hdr, SNAPCOW_MAGIC, 1, 1, 8);
	write_file("c1.img", hdr, sizeof(hdr), COW_BYTES);
	write_file("c2.img", NULL, 0, COW_BYTES);
}

static int open_lun(int i)
{
	static const char *const names[NLUNS] = {
		"user_1/origin", "user_1/snap1", "user_1/snap2"
	};
	char cfg[4 * 256];

	if (i == 0)
		snprintf(cfg, sizeof(cfg),
			 "origin=%s/p.img;cow=%s/c1.img;cow=%s/c2.img", dir,
			 dir, dir);
	else
		snprintf(cfg, sizeof(cfg), "snapshot=%s/c%d.img;origin=%s/p.img",
			 dir, i, dir);
	return fakelun_open(&luns[i], &policy, names[i], cfg, err,
			    sizeof(err));
}

/*
 * Epoch @e: snapshots taken now, the LUNs opened in an order of its own:
 * the origin LUN first (snapshot LUNs join it), or snapshot LUNs first
 * (they hold the origin until the origin LUN lists their COWs).
 */
static void open_epoch(unsigned int e)
{
	static const int orders[3][NLUNS] = {
		{ 0, 1, 2 }, { 1, 0, 2 }, { 2, 1, 0 },
	};
	const int *order = orders[e % 3];
	int i;

	for (i = 0; i < NLUNS; i++)
		ok_eq(open_lun(order[i]), 0, "epoch %u LUN %d: %s", e,
		      order[i], err);
#ifdef MODEL_URING
	/* Direct reads and writes on io_uring, copies on 4 workers. */
	for (i = 0; i < NLUNS; i++)
		ok_eq(fakelun_use_pool(&luns[i], 4, true), 0,
		      "epoch %u LUN %d: pool with io_uring", e, i);
#endif
	memcpy(model[1], model[0], ORIGIN_BYTES);
	memcpy(model[2], model[0], ORIGIN_BYTES);
	hot = prng_below(&rng, BLOCKS - HOT_BLOCKS - MAX_BLOCKS);
}

static bool overlaps(const struct cmd *a, uint32_t lba, uint32_t blocks)
{
	return a->op != 0x35 && lba < a->lba + a->blocks &&
	       a->lba < lba + blocks;
}

/*
 * A range of @lun that no command in flight on it overlaps when either
 * writes; false when eight tries found none.
 */
static bool pick_range(const struct cmd *q, unsigned int n, int lun,
		       bool write, uint32_t *lba, uint32_t *blocks)
{
	for (int tries = 0; tries < 8; tries++) {
		bool clash = false;

		/* Mostly small, as file systems write; up to 32 KiB. */
		*blocks = 1 + prng_below(&rng, prng_below(&rng, 4) ?
						 8 : MAX_BLOCKS);
		if (prng_below(&rng, 2))
			*lba = prng_below(&rng, BLOCKS - *blocks + 1);
		else
			*lba = hot + prng_below(&rng, HOT_BLOCKS);
		for (unsigned int i = 0; i < n && !clash; i++)
			clash = q[i].lun == lun &&
				(write || q[i].op == 0x2a) &&
				overlaps(&q[i], *lba, *blocks);
		if (!clash)
			return true;
	}
	return false;
}

/* A write's data: words naming the write and their place in it. */
static void pattern(uint8_t *buf, size_t len)
{
	uint64_t tag = ++write_seq * UINT64_C(0x9e3779b97f4a7c15);

	for (size_t i = 0; i < len / 8; i++) {
		uint64_t w = tag + i;

		memcpy(buf + i * 8, &w, 8);
	}
}

static bool queue_one(struct cmd *q, unsigned int n)
{
	struct cmd *c = &q[n];
	unsigned int roll = prng_below(&rng, 100);
	uint8_t cdb[10];
	bool fua;

	c->lun = roll < 50 ? 0 : roll < 75 ? 1 : 2;
	roll = prng_below(&rng, 100);
	c->op = roll < 3 ? 0x35 : roll < 50 ? 0x2a : 0x28;
	c->lba = 0;
	c->blocks = 0;
	if (c->op != 0x35 && !pick_range(q, n, c->lun, c->op == 0x2a,
					 &c->lba, &c->blocks))
		return false;
	fua = c->op == 0x2a && !prng_below(&rng, 8);
	cdb10(cdb, c->op, c->lba, (uint16_t)c->blocks, fua ? 0x08 : 0);
	if (c->op == 0x2a) {
		origin_writes += c->lun == 0;
		pattern(out, c->blocks * BS);
		memcpy(model[c->lun] + (size_t)c->lba * BS, out,
		       c->blocks * BS);
	}
	c->id = fakelun_queue(&luns[c->lun], cdb, 10,
			      c->op == 0x2a ? out : NULL, c->blocks * BS);
	if (!c->id)
		abort();
	return true;
}

/* Every command GOOD, every read the model's bytes; the first told. */
static void check_batch(const struct cmd *q, unsigned int n,
			uint64_t *mismatches, uint64_t *bad_status)
{
	for (unsigned int i = 0; i < n; i++) {
		const struct cmd *c = &q[i];
		const struct fk_result *r = fakelun_res(&luns[c->lun], c->id);
		size_t len = (size_t)c->blocks * BS;

		if (!fakelun_good(&luns[c->lun], c->id)) {
			if (!(*bad_status)++)
				printf("# LUN %d op 0x%02x lba %u: status %u\n",
				       c->lun, c->op, c->lba, r->status);
			continue;
		}
		if (c->op != 0x28)
			continue;
		fk_gather(&luns[c->lun].fk, c->id, in, len);
		if (memcmp(in, model[c->lun] + (size_t)c->lba * BS, len) &&
		    (*mismatches)++ < 10)
			printf("# LUN %d read of %u blocks at %u differs from the model\n",
			       c->lun, c->blocks, c->lba);
	}
}

static void run_batch(uint64_t *done, uint64_t *mismatches,
		      uint64_t *bad_status)
{
	struct cmd q[QD];
	unsigned int n = 0, want = QD / 4 + prng_below(&rng, QD - QD / 4 + 1);

	while (n < want && queue_one(q, n))
		n++;
	pthread_barrier_wait(&start);
	fakelun_serve(&luns[0]);
	pthread_barrier_wait(&end);
	for (int i = 0; i < NLUNS; i++)
		fakelun_reap(&luns[i]);
	check_batch(q, n, mismatches, bad_status);
	*done += n;
}

/* The library's checker (snapcheck -n): no finding at all. */
static void check_cow(struct snapcow_dev *cow, const char *name)
{
	struct snapcow_check_opts opts = { .origin_bytes = ORIGIN_BYTES };
	struct snapcow_check_summary sum;
	const struct snapcow_finding *f;
	struct snapcow_check *c;
	char msg[SNAPCOW_ERRBUF_SIZE] = "";
	size_t n;

	ok_eq(snapcow_check(cow, &opts, &c, msg, sizeof(msg)), 0, "%s: %s",
	      name, msg);
	snapcow_check_get_summary(c, &sum);
	n = snapcow_check_findings(c, &f);
	ok_eq(n, 0, "%s: clean (first: %s)", name, n ? f[0].text : "");
	ok_eq(sum.state, SNAPCOW_STATE_VALID, "%s valid", name);
	snapcow_check_free(c);
}

/* The COW's snapshot image, as snapctl export writes it. */
static void check_export(struct snapcow_dev *origin, int i)
{
	struct memdev *img = memdev_new(ORIGIN_BYTES, "export");
	struct snapcow_store *s;
	struct snapcow_dev *cow;
	char p[PATH_MAX + 16], name[16], msg[SNAPCOW_ERRBUF_SIZE] = "";

	snprintf(name, sizeof(name), "c%d.img", i);
	path_of(p, sizeof(p), name);
	ok_eq(snapcow_dev_open(p, 0, &cow), 0, "%s", p);
	check_cow(cow, name);
	ok_eq(snapcow_store_load(cow, 0, 0, &s, msg, sizeof(msg)), 0, "%s",
	      msg);
	ok_eq(snapcow_store_chunk_size(s), i == 1 ? 8 : 32, "%s chunk size",
	      name);
	ok_eq(snapcow_export(origin, s, img->dev, 0, NULL, NULL, msg,
			     sizeof(msg)), 0, "export: %s", msg);
	ok(memcmp(img->buf, model[i], ORIGIN_BYTES) == 0,
	   "%s: the export equals the model's snapshot image", name);
	snapcow_store_free(s);
	snapcow_dev_close(cow);
	memdev_free(img);
}

static void close_epoch(unsigned int e)
{
	struct shared_ref *ref = luns[0].dev->priv;
	struct snapcow_engine_stats st;
	struct snapcow_dev *origin;
	char p[PATH_MAX + 16];
	uint8_t *file = malloc(ORIGIN_BYTES);

	snapcow_origin_get_stats(ref->so->eng, &st);
	printf("# epoch %u: %" PRIu64 " copies, %" PRIu64 " exceptions in %"
	       PRIu64 " commits, %" PRIu64 " waits for a copy\n", e, st.copies,
	       st.exceptions, st.commits, st.waits);
	/* The first origin write of an epoch finds both COWs empty. */
	ok(!origin_writes || st.copies >= 2, "%" PRIu64 " origin writes",
	   origin_writes);
	origin_writes = 0;
	for (int i = 0; i < NLUNS; i++)
		fakelun_close(&luns[i]);
	path_of(p, sizeof(p), "p.img");
	ok_eq(snapcow_dev_open(p, 0, &origin), 0, "%s", p);
	ok_eq(snapcow_dev_read(origin, file, ORIGIN_BYTES, 0), 0, "read");
	ok(memcmp(file, model[0], ORIGIN_BYTES) == 0,
	   "epoch %u: the origin equals the model", e);
	check_export(origin, 1);
	check_export(origin, 2);
	snapcow_dev_close(origin);
	free(file);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	struct stat st;

	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/dev/shm", W_OK) == 0)
		tmp = "/dev/shm";
	snprintf(dir, sizeof(dir), "%s/test-device-model.XXXXXX",
		 tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	if (policy_allow(&policy, dir, err, sizeof(err)))
		abort();
	for (int i = 0; i < NLUNS; i++)
		model[i] = malloc(ORIGIN_BYTES);
	out = malloc(MAX_BLOCKS * BS);
	in = malloc(MAX_BLOCKS * BS);
	if (!model[0] || !model[1] || !model[2] || !out || !in)
		abort();
	prng_fill(&rng, model[0], ORIGIN_BYTES);
	write_file("p.img", model[0], ORIGIN_BYTES, ORIGIN_BYTES);
}

static void test_model(void)
{
	const char *env = getenv("SNAPCOW_MODEL_OPS");
	uint64_t ops = env ? strtoull(env, NULL, 0) : MODEL_OPS;
	uint64_t done = 0, mismatches = 0, bad_status = 0;
	pthread_t th[NLUNS];

	setup();
	/* The origin's ring is served by this thread, the others by theirs. */
	pthread_barrier_init(&start, NULL, NLUNS);
	pthread_barrier_init(&end, NULL, NLUNS);
	for (int i = 1; i < NLUNS; i++)
		pthread_create(&th[i], NULL, server, &luns[i]);
	for (unsigned int e = 0; e < EPOCHS; e++) {
		fresh_cows();
		open_epoch(e);
		while (done < ops * (e + 1) / EPOCHS)
			run_batch(&done, &mismatches, &bad_status);
		close_epoch(e);
	}
	stopping = true;
	pthread_barrier_wait(&start);
	for (int i = 1; i < NLUNS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	pthread_barrier_destroy(&end);
	printf("# %" PRIu64 " commands, %" PRIu64 " of them writes\n", done,
	       write_seq);
	ok_eq(bad_status, 0, "every command GOOD");
	ok_eq(mismatches, 0, "every read equals the model");
	ok(done >= ops, "%" PRIu64 " commands", done);
}

int main(void)
{
	const char *env = getenv("SNAPCOW_MODEL_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
	char cmd[PATH_MAX + 16];

#ifdef MODEL_URING
	struct pool *probe;

	if (pool_new(1, &probe) || pool_use_uring(probe, 8)) {
		printf("1..0 # SKIP io_uring not available here (not built, or io_uring_setup refused)\n");
		pool_free(probe);
		return 0;
	}
	pool_free(probe);
#endif
	printf("# seed %" PRIu64 " (SNAPCOW_MODEL_SEED=%" PRIu64
	       " repeats this run)\n", seed, seed);
	prng_seed(&rng, seed);
	plan(1);
	run(test_model);
	policy_free(&policy);
	for (int i = 0; i < NLUNS; i++)
		free(model[i]);
	free(out);
	free(in);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? 1 : done();
}
