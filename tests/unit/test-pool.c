/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon/pool.c against a fake kernel (fakering.h): commands of one LUN
 * run by worker threads through device.c and scsi.c on a "gate" backend,
 * an image in memory whose I/O to chosen blocks waits until the test
 * opens the gate.  So the test knows which commands are running, and
 * proves: 64 commands of one LUN inside the backend at once, answered in
 * the order the test releases them (not the ring's), wrap-around and PAD
 * entries while others are outstanding (their data buffers stay valid),
 * each answer exactly once with its status, malformed entries failed with
 * sense while others run, a TMR that aborts nothing, a broken ring whose
 * taken commands are still answered, draining (what LUN removal does)
 * returning only once every command is answered, and a lone command on
 * an idle pool run by the serving thread itself, but not while any other
 * command (of any LUN) is queued or running.
 *
 * Waits are bounded (WAIT_S) only so that a bug fails instead of hanging;
 * no assertion depends on timing.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device.h"
#include "fakering.h"
#include "pool.h"
#include "tap.h"

#define BS		512u
#define BLOCKS		4096u
#define WAIT_S		30

/* The gate backend and what the test sees of it. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static uint8_t image[BLOCKS * BS];
static bool held[BLOCKS];		/* I/O starting at this block waits */
static unsigned int running, entered, finished, max_running, kicks;
static pthread_t last_runner;		/* the thread in gate_enter last */

static struct fakering fk;
static struct ring ring;
static struct pool *pool;
static struct pool_ring pr;

/*
 * Wait until *@v == @want (or, with @differ, until it is not), at most
 * WAIT_S; false when it did not happen.
 */
static bool wait_count(const unsigned int *v, unsigned int want, bool differ)
{
	struct timespec ts;
	bool hit;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_S;
	pthread_mutex_lock(&mu);
	while ((*v == want) == differ && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&cv, &mu, &ts);
	hit = (*v == want) != differ;
	pthread_mutex_unlock(&mu);
	return hit;
}

static bool wait_running(unsigned int n)
{
	return wait_count(&running, n, false);
}

static void gate_enter(uint64_t off)
{
	pthread_mutex_lock(&mu);
	running++;
	entered++;
	last_runner = pthread_self();
	if (running > max_running)
		max_running = running;
	pthread_cond_broadcast(&cv);
	while (held[off / BS])
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

static void gate_leave(void)
{
	pthread_mutex_lock(&mu);
	running--;
	finished++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static int gate_io(const struct iovec *iov, int cnt, uint64_t off,
		   uint64_t len, bool write)
{
	uint64_t pos = off;
	int i;

	gate_enter(off);
	for (i = 0; i < cnt && pos < off + len; i++) {
		size_t n = iov[i].iov_len;

		if (n > off + len - pos)
			n = off + len - pos;
		if (write)
			memcpy(image + pos, iov[i].iov_base, n);
		else
			memcpy(iov[i].iov_base, image + pos, n);
		pos += n;
	}
	gate_leave();
	return 0;
}

static int gate_read(struct device *d, const struct iovec *iov, int cnt,
		     uint64_t off, uint64_t len)
{
	(void)d;
	return gate_io(iov, cnt, off, len, false);
}

static int gate_write(struct device *d, const struct iovec *iov, int cnt,
		      uint64_t off, uint64_t len, bool fua)
{
	(void)d;
	(void)fua;
	return gate_io(iov, cnt, off, len, true);
}

static int gate_flush(struct device *d)
{
	(void)d;
	return 0;
}

static uint64_t gate_size(struct device *d)
{
	(void)d;
	return sizeof(image);
}

static void gate_close(struct device *d)
{
	(void)d;
}

static const struct device_ops gate_ops = {
	.read = gate_read,
	.write = gate_write,
	.flush = gate_flush,
	.size = gate_size,
	.close = gate_close,
};

static struct device gate_dev = {
	.ops = &gate_ops,
	.write_back = true,
	.name = "user_0/gate",
	.disk = {
		.blocks = BLOCKS,
		.block_size = BS,
		.max_xfer_blocks = 128,
		.write_cache = true,
		.vendor = "SNAPCOW",
		.product = "gate",
		.revision = "0001",
		.serial = "0",
	},
};

/* Called by a worker, under the ring's lock, when cmd_tail moved. */
static void test_kick(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	kicks++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void hold(uint32_t lba, bool on)
{
	pthread_mutex_lock(&mu);
	held[lba] = on;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static unsigned int count(const unsigned int *v)
{
	unsigned int n;

	pthread_mutex_lock(&mu);
	n = *v;
	pthread_mutex_unlock(&mu);
	return n;
}

/* A fresh ring of @cmdr_size bytes served by a pool of @workers. */
static bool setup(uint32_t cmdr_size, unsigned int workers)
{
	memset(held, 0, sizeof(held));
	running = entered = finished = max_running = kicks = 0;
	if (fk_init(&fk, cmdr_size) || ring_attach(&ring, fk.mem, fk.size))
		return false;
	if (pool_new(workers, &pool))
		return false;
	return !pool_ring_init(&pr, pool, &ring, &device_ring_ops, &gate_dev,
			       test_kick, NULL);
}

static void teardown(void)
{
	pool_ring_destroy(&pr);
	pool_free(pool);
	pool = NULL;
	fk_free(&fk);
}

static void cdb10(uint8_t *c, uint8_t op, uint32_t lba, uint16_t n)
{
	memset(c, 0, 10);
	c[0] = op;
	c[2] = (uint8_t)(lba >> 24);
	c[3] = (uint8_t)(lba >> 16);
	c[4] = (uint8_t)(lba >> 8);
	c[5] = (uint8_t)lba;
	c[7] = (uint8_t)(n >> 8);
	c[8] = (uint8_t)n;
}

/* Queue a one-block READ(10) or WRITE(10) (of @out) as command @id. */
static int queue_io(uint16_t id, uint8_t op, uint32_t lba, const void *out)
{
	uint8_t cdb[10];

	cdb10(cdb, op, lba, 1);
	return fk_queue(&fk, id, cdb, 10, out, BS);
}

static struct fk_result *res(uint16_t id)
{
	return &fk.res[id % FK_MAX_ID];
}

/* Reap answers until @id's is there (bounded); false when it is not. */
static bool wait_answer(uint16_t id)
{
	unsigned int seen;

	for (;;) {
		seen = count(&kicks);
		fk_reap(&fk);
		if (res(id)->done)
			return true;
		if (!wait_count(&kicks, seen, true))
			return false;
	}
}

static bool answered(uint16_t id, uint8_t status)
{
	return res(id)->done && res(id)->times == 1 &&
	       res(id)->status == status;
}

static void pattern(uint8_t *b, uint32_t seed)
{
	uint32_t i;

	for (i = 0; i < BS; i++)
		b[i] = (uint8_t)(seed * 31 + i * 7);
}

/*
 * 64 writes of one LUN, all inside the backend at once, then released
 * last to first: each answer arrives alone, in the release order.
 */
static void test_64_parallel(void)
{
	uint8_t out[BS];
	uint32_t tail0;
	int i, j, early = 0, wrong = 0, good = 0;

	ok(setup(64 * 1024, 64), "ring and 64 workers");
	for (i = 0; i < 64; i++) {
		hold((uint32_t)i * 8, true);
		pattern(out, (uint32_t)i);
		ok_eq(queue_io((uint16_t)(100 + i), 0x2a, (uint32_t)i * 8, out),
		      0, "queue %d", i);
	}
	tail0 = fk_tail(&fk);
	ok_eq(pool_ring_serve(&pr), 64, "64 entries taken");
	ok(wait_running(64), "64 commands in the backend at once: %u",
	   count(&running));
	ok_eq(fk_reap(&fk), 0, "none answered while held");
	ok_eq(fk_tail(&fk), tail0, "cmd_tail unmoved");
	for (i = 63; i >= 0; i--) {
		hold((uint32_t)i * 8, false);
		if (!wait_answer((uint16_t)(100 + i))) {
			ok(0, "answer to %d", 100 + i);
			break;
		}
		for (j = 0; j < i; j++)
			early += res((uint16_t)(100 + j))->done;
	}
	ok_eq(early, 0, "each answer came only once its command was released");
	for (i = 0; i < 64; i++) {
		good += answered((uint16_t)(100 + i), SCSI_GOOD);
		pattern(out, (uint32_t)i);
		wrong += memcmp(image + (size_t)i * 8 * BS, out, BS) != 0;
	}
	ok_eq(good, 64, "64 GOOD answers, each once");
	ok_eq(wrong, 0, "every write landed");
	ok_eq(count(&max_running), 64, "never more than taken");
	ok_eq(fk_tail(&fk), fk.head, "cmd_tail caught up with cmd_head");
	teardown();
}

/*
 * Four reads held while 300 other commands go round a small ring (PAD
 * entries, wrap-around) and a TMR names the held ones: the held reads
 * then return their blocks intact through their own data buffers.
 */
static void test_wrap_while_held(void)
{
	uint8_t out[BS], in[BS];
	unsigned int pads0, wraps0;
	int i, good = 0, data = 0, free_good = 0;
	uint16_t ids[4] = { 1, 2, 3, 4 };

	ok(setup(2000, 8), "2000 byte ring, 8 workers");
	for (i = 0; i < 4; i++) {
		pattern(image + (size_t)(1000 + i) * BS, 1000 + (uint32_t)i);
		hold(1000 + (uint32_t)i, true);
		ok_eq(queue_io(ids[i], 0x28, 1000 + (uint32_t)i, NULL), 0,
		      "queue held read %d", i);
	}
	ok_eq(pool_ring_serve(&pr), 4, "held reads taken");
	ok(wait_running(4), "4 held in the backend");
	pads0 = fk.pads;
	wraps0 = fk.wraps;
	for (i = 0; i < 300; i++) {
		uint16_t id = (uint16_t)(10 + i % 100);
		uint8_t op = i % 2 ? 0x28 : 0x2a;

		pattern(out, (uint32_t)i);
		if (queue_io(id, op, 2000 + (uint32_t)i % 64, out)) {
			ok(0, "queue %d", i);
			break;
		}
		pool_ring_serve(&pr);
		if (!wait_answer(id)) {
			ok(0, "answer %d", i);
			break;
		}
		free_good += answered(id, SCSI_GOOD);
		res(id)->times = 0;
	}
	ok_eq(free_good, 300, "300 commands answered past the held ones");
	ok(fk.wraps - wraps0 >= 2, "the ring wrapped %u times",
	   fk.wraps - wraps0);
	ok(fk.pads > pads0, "PAD entries: %u", fk.pads - pads0);
	fk_queue_tmr(&fk, TCMU_TMR_ABORT_TASK, ids, 4);
	ok_eq(pool_ring_serve(&pr), 1, "TMR taken");
	ok_eq(count(&running), 4, "the held reads still run (not aborted)");
	for (i = 0; i < 4; i++) {
		ok(!res(ids[i])->done, "held %d unanswered", i);
		hold(1000 + (uint32_t)i, false);
	}
	for (i = 0; i < 4; i++) {
		ok(wait_answer(ids[i]), "held %d answered", i);
		good += answered(ids[i], SCSI_GOOD);
		fk_gather(&fk, ids[i], in, BS);
		pattern(out, 1000 + (uint32_t)i);
		data += memcmp(in, out, BS) == 0;
	}
	ok_eq(good, 4, "held reads GOOD, once each");
	ok_eq(data, 4, "their buffers survived the wraps");
	teardown();
}

static bool sense_is(uint16_t id, uint8_t key, uint8_t asc)
{
	return answered(id, SCSI_CHECK_CONDITION) &&
	       (res(id)->sense[2] & 0x0f) == key && res(id)->sense[12] == asc;
}

/* Malformed entries and refused CDBs fail at once; held ones go on. */
static void test_malformed_while_held(void)
{
	struct iovec iov = { 0 };
	uint8_t cdb[10], out[BS];
	int i;

	ok(setup(8192, 4), "ring, 4 workers");
	for (i = 0; i < 3; i++) {
		hold(50 + (uint32_t)i, true);
		pattern(out, 50 + (uint32_t)i);
		queue_io((uint16_t)(1 + i), 0x2a, 50 + (uint32_t)i, out);
	}
	ok_eq(pool_ring_serve(&pr), 3, "held writes taken");
	ok(wait_running(3), "3 held in the backend");
	iov.iov_base = (void *)(uintptr_t)(fk.cmdr_off + 64);
	iov.iov_len = BS;
	cdb10(cdb, 0x2a, 60, 1);
	ok_eq(fk_queue_raw(&fk, 20, cdb, 10, NULL, 0, &iov, 1), 0,
	      "iovec inside the command ring");
	queue_io(21, 0x2a, BLOCKS, out);	/* past the last block */
	cdb10(cdb, 0xee, 0, 0);
	fk_queue(&fk, 22, cdb, 10, NULL, 0);	/* unknown opcode */
	ok_eq(pool_ring_serve(&pr), 3, "3 more taken");
	ok(wait_answer(20) && wait_answer(21) && wait_answer(22),
	   "refusals answered");
	ok(sense_is(20, SCSI_SK_HARDWARE_ERROR, 0x44),
	   "malformed: HARDWARE ERROR, INTERNAL TARGET FAILURE");
	ok(sense_is(21, SCSI_SK_ILLEGAL_REQUEST, 0x21), "LBA OUT OF RANGE");
	ok(sense_is(22, SCSI_SK_ILLEGAL_REQUEST, 0x20), "INVALID OPCODE");
	ok_eq(count(&running), 3, "held writes still running");
	for (i = 0; i < 3; i++) {
		ok(!res((uint16_t)(1 + i))->done, "held %d unanswered", i);
		hold(50 + (uint32_t)i, false);
	}
	for (i = 0; i < 3; i++)
		ok(wait_answer((uint16_t)(1 + i)) &&
		   answered((uint16_t)(1 + i), SCSI_GOOD), "held %d GOOD", i);
	ok(image[60 * BS] == 0, "the malformed write wrote nothing");
	teardown();
}

/* Releases the held commands once the main thread waits in the drain. */
static void *releaser(void *arg)
{
	struct timespec ts = { 0, 1000000 };
	unsigned int draining = 0;
	int i, tries;

	(void)arg;
	for (tries = 0; tries < WAIT_S * 1000 && !draining; tries++) {
		pthread_mutex_lock(&pr.lock);
		draining = pr.draining;
		pthread_mutex_unlock(&pr.lock);
		if (!draining)
			nanosleep(&ts, NULL);
	}
	for (i = 0; i < 8; i++)
		hold(200 + (uint32_t)i, false);
	return NULL;
}

/*
 * LUN removal: pool_ring_destroy() returns only once every command taken
 * is answered; the released commands are the ones that were held.
 */
static void test_drain(void)
{
	uint8_t out[BS];
	pthread_t t;
	unsigned int done_at_return;
	int i, good = 0;

	ok(setup(8192, 8), "ring, 8 workers");
	for (i = 0; i < 8; i++) {
		hold(200 + (uint32_t)i, true);
		pattern(out, (uint32_t)i);
		queue_io((uint16_t)(1 + i), 0x2a, 200 + (uint32_t)i, out);
	}
	ok_eq(pool_ring_serve(&pr), 8, "8 taken");
	ok(wait_running(8), "8 held in the backend");
	ok_eq(pthread_create(&t, NULL, releaser, NULL), 0, "releaser");
	pool_ring_destroy(&pr);
	done_at_return = count(&finished);
	pthread_join(t, NULL);
	ok_eq(done_at_return, 8, "drained: every command finished first");
	fk_reap(&fk);
	for (i = 0; i < 8; i++)
		good += answered((uint16_t)(1 + i), SCSI_GOOD);
	ok_eq(good, 8, "and answered, once each");
	teardown();
}

/*
 * Two LUNs on one pool: draining one waits for its own commands only,
 * while the other's command stays held; both are answered in their own
 * rings.
 */
static void test_two_luns(void)
{
	struct fakering fk2;
	struct ring ring2;
	struct pool_ring pr2;
	uint8_t cdb[10], out[BS];
	int good = 0;

	ok(setup(8192, 4), "ring, 4 workers");
	ok(fk_init(&fk2, 8192) == 0, "second ring");
	ok_eq(ring_attach(&ring2, fk2.mem, fk2.size), 0, "attached");
	ok_eq(pool_ring_init(&pr2, pool, &ring2, &device_ring_ops, &gate_dev,
			     test_kick, NULL), 0, "on the same pool");
	hold(400, true);
	hold(402, true);
	pattern(out, 400);
	cdb10(cdb, 0x2a, 400, 1);
	fk_queue(&fk2, 5, cdb, 10, out, BS);
	cdb10(cdb, 0x2a, 402, 1);
	fk_queue(&fk2, 6, cdb, 10, out, BS);
	ok_eq(pool_ring_serve(&pr2), 2, "second LUN: 2 held writes taken");
	ok(wait_running(2), "held in the backend");
	/* Alone in its ring, but the pool is busy: a worker runs it. */
	pattern(out, 401);
	queue_io(5, 0x2a, 401, out);
	ok_eq(pool_ring_serve(&pr), 1, "first LUN: write taken");
	pool_ring_quiesce(&pr);
	fk_reap(&fk);
	ok(answered(5, SCSI_GOOD), "first LUN drained and answered");
	ok(!pthread_equal(last_runner, pthread_self()), "by a worker");
	ok(memcmp(image + 401 * BS, out, BS) == 0, "its write landed");
	ok_eq(count(&running), 2, "the other LUN's commands still run");
	ok_eq(fk_reap(&fk2), 0, "and are unanswered");
	hold(400, false);
	hold(402, false);
	pool_ring_destroy(&pr2);
	ok_eq(fk_reap(&fk2), 2, "answered in their own ring once drained");
	good += fk2.res[5].status == SCSI_GOOD && fk2.res[5].times == 1;
	good += fk2.res[6].status == SCSI_GOOD && fk2.res[6].times == 1;
	ok_eq(good, 2, "GOOD, once each");
	fk_free(&fk2);
	teardown();
}

/*
 * Queue depth 1: a lone command on an idle pool runs on the serving
 * thread and is answered when pool_ring_serve() returns; two at once go
 * to the workers.
 */
/* A ring that breaks: what was taken before the break is answered. */
static void test_broken_while_held(void)
{
	struct tcmu_cmd_entry_hdr hdr = { 0 };
	uint8_t out[BS];

	ok(setup(4096, 2), "ring, 2 workers");
	hold(7, true);
	pattern(out, 7);
	queue_io(1, 0x2a, 7, out);
	hdr.len_op = tcmu_len_op(0, TCMU_OP_CMD);
	memcpy(fk.mem + fk.cmdr_off + fk.head, &hdr, sizeof(hdr));
	fk_publish(&fk, 64);
	ok_eq(pool_ring_serve(&pr), -EIO, "zero-length entry breaks the ring");
	ok(wait_running(1), "the command before it runs");
	ok_eq(pool_ring_serve(&pr), -EIO, "stays broken");
	hold(7, false);
	pool_ring_quiesce(&pr);
	fk_reap(&fk);
	ok(answered(1, SCSI_GOOD), "and is answered");
	ok(memcmp(image + 7 * BS, out, BS) == 0, "its write landed");
	teardown();
}

/* No workers: ring_serve on the caller's thread, answered on return. */
static void test_synchronous(void)
{
	uint8_t out[BS];
	int i, good = 0;

	ok(setup(8192, 0), "ring, no workers");
	ok_eq(pool_workers(pool), 0, "0 workers");
	for (i = 0; i < 10; i++) {
		pattern(out, 300 + (uint32_t)i);
		queue_io((uint16_t)(1 + i), 0x2a, 300 + (uint32_t)i, out);
	}
	ok_eq(pool_ring_serve(&pr), 10, "10 served");
	ok_eq(kicks, 1, "one kick");
	ok_eq(fk_reap(&fk), 10, "all answered on return");
	for (i = 0; i < 10; i++)
		good += answered((uint16_t)(1 + i), SCSI_GOOD);
	ok_eq(good, 10, "GOOD, once each");
	ok_eq(max_running, 1, "one at a time");
	teardown();
}

int main(void)
{
	plan(7);
	run(test_64_parallel);
	run(test_wrap_while_held);
	run(test_malformed_while_held);
	run(test_drain);
	run(test_two_luns);
	run(test_broken_while_held);
	run(test_synchronous);
	return done();
}
