// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapcheck's library half: the kernel model of duplicate records, the
 * rules on memory-backed COWs, and a crash after every write of a repair.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "memdev.h"
#include "tap.h"

#define CS	8u			/* 4 KiB chunks */
#define CB	(CS * 512u)
#define EPA	(CB / 16u)
#define CHUNKS	1200u

static unsigned char *cow_new(unsigned int nrec)
{
	unsigned char *buf = calloc(CHUNKS, CB);
	struct snapcow_header h = { SNAPCOW_MAGIC, 1, 1, CS };
	uint64_t next = 2;

	snapcow_header_encode(&h, buf);
	for (unsigned int g = 0; g < nrec; g++) {
		struct snapcow_record r = { 7 * g + 3, next++ };
		uint64_t area = g / EPA;

		snapcow_record_encode(buf + snapcow_area_chunk(CS, area) * CB,
				      g % EPA, &r);
		if (snapcow_chunk_is_metadata(CS, next))
			next++;
	}
	return buf;
}

static void put(unsigned char *buf, uint64_t g, uint64_t old, uint64_t new)
{
	struct snapcow_record r = { old, new };

	snapcow_record_encode(buf + snapcow_area_chunk(CS, g / EPA) * CB,
			      g % EPA, &r);
}

static struct snapcow_check *check_mem(unsigned char *buf, bool rw,
				       struct snapcow_dev **devp)
{
	struct snapcow_check *c = NULL;
	char err[256];

	snapcow_dev_open_memory(buf, (uint64_t)CHUNKS * CB, rw, "mem", devp);
	ok(!snapcow_check(*devp, NULL, &c, err, sizeof(err)), "%s", err);
	return c;
}

static uint64_t errors(struct snapcow_check *c)
{
	struct snapcow_check_summary s;

	snapcow_check_get_summary(c, &s);
	return snapcow_check_errors(&s);
}

static void test_kmodel(void)
{
	/* Plain duplicate: the later one lands behind, the first wins. */
	struct sc_rec a[] = { { 10, 100, 0 }, { 10, 200, 1 } };
	/* Later one extends a run that precedes the earlier: it wins. */
	struct sc_rec b[] = { { 1000, 2, 0 }, { 1001, 30, 1 },
			      { 1001, 3, 2 } };
	/* "Insert before" into an entry behind the earlier: first wins. */
	struct sc_rec d[] = { { 12, 102, 0 }, { 11, 500, 1 },
			      { 11, 101, 2 } };
	uint64_t n = 0;

	ok(sc_kmodel_lookup(a, 2, 10, &n) == 1 && n == 100, "a: %llu",
	   (unsigned long long)n);
	ok(sc_kmodel_lookup(b, 3, 1001, &n) == 1 && n == 3, "b: %llu",
	   (unsigned long long)n);
	ok(sc_kmodel_lookup(b, 3, 1000, &n) == 1 && n == 2, "b0");
	ok(sc_kmodel_lookup(d, 3, 11, &n) == 1 && n == 500, "d: %llu",
	   (unsigned long long)n);
	ok(sc_kmodel_lookup(d, 3, 13, &n) == 0, "d: 13 unmapped");
}

static void test_rules(void)
{
	unsigned char *buf = cow_new(40);
	struct snapcow_dev *dev;
	struct snapcow_check *c = check_mem(buf, false, &dev);

	ok(c && errors(c) == 0, "good COW has errors");
	snapcow_check_free(c);
	snapcow_dev_close(dev);
	put(buf, 5, 7 * 2 + 3, 7);	/* old of record 2, own chunk */
	put(buf, 9, 99, 100000);
	c = check_mem(buf, false, &dev);
	ok_eq(snapcow_check_rule_count(c, SNAPCOW_RULE_DUP_OLD), 1, "dup");
	ok_eq(snapcow_check_rule_count(c, SNAPCOW_RULE_NEW_PAST_END), 1,
	      "past end");
	ok(snapcow_check_rule_count(c, SNAPCOW_RULE_COUNT) == 0, "bad id");
	for (unsigned int i = 0; i < SNAPCOW_RULE_COUNT; i++)
		ok(snapcow_rule_get(i)->code && snapcow_rule_get(i)->name,
		   "rule %u has no code", i);
	/* A fix the table promises is a fix the plan makes, and no other. */
	for (unsigned int i = 0; i < SNAPCOW_RULE_COUNT; i++)
		ok(!snapcow_rule_get(i)->fix == (sc_rule_plan(i) == SC_PLAN_NONE),
		   "rule %s: fix text and plan disagree",
		   snapcow_rule_get(i)->code);
	snapcow_check_free(c);
	snapcow_dev_close(dev);
	free(buf);
}

/* A damaged COW whose repair compacts three areas and fixes the header. */
static unsigned char *cow_damaged(void)
{
	unsigned char *buf = cow_new(3 * EPA + 20);

	put(buf, 3, 5, 999999);
	put(buf, EPA + 7, 7 * 2 + 3, 3000);	/* dup of record 2 */
	buf[0] ^= 0xff;				/* magic */
	return buf;
}

static int repair_mem(unsigned char *buf, uint64_t crash_at, const char *undo)
{
	struct snapcow_dev *dev;
	struct snapcow_check *c = check_mem(buf, true, &dev);
	char err[256];
	int r;

	/* A repair never writes its undo file over another one. */
	unlink(undo);
	if (crash_at != UINT64_MAX)
		snapcow_dev_inject_fault(dev, SNAPCOW_FAULT_CRASH, crash_at);
	r = snapcow_check_repair(c, undo, err, sizeof(err));
	snapcow_check_free(c);
	snapcow_dev_close(dev);
	return r;
}

/*
 * The header's chunk size changed to another valid one (2 and 4 KiB, 8
 * KiB): the areas say 4 KiB.  The repair rewrites the header and keeps
 * every record: the COW comes back byte for byte.
 */
static void test_header_chunk_size_changed(void)
{
	static const uint32_t wrong[] = { 4, 16, 64 };
	unsigned char *good = cow_new(3 * EPA + 20);
	size_t size = (size_t)CHUNKS * CB;
	unsigned char *buf = malloc(size);
	char undo[] = "/tmp/test-check-undo-XXXXXX";
	int fd = mkstemp(undo);

	close(fd);
	for (unsigned int i = 0; i < 3; i++) {
		struct snapcow_check_summary sum;
		struct snapcow_dev *dev;
		struct snapcow_check *c;

		memcpy(buf, good, size);
		buf[12] = (unsigned char)wrong[i];
		c = check_mem(buf, false, &dev);
		ok_eq(snapcow_check_rule_count(c,
				SNAPCOW_RULE_HEADER_CHUNK_SIZE), 1,
		      "cs %u: SC003", wrong[i]);
		snapcow_check_get_summary(c, &sum);
		ok(sum.chunk_size == CS && sum.chunk_size_inferred &&
		   sum.exceptions == 3 * EPA + 20,
		   "cs %u: inferred %u, %llu records", wrong[i],
		   sum.chunk_size, (unsigned long long)sum.exceptions);
		snapcow_check_free(c);
		snapcow_dev_close(dev);
		ok(repair_mem(buf, UINT64_MAX, undo) == 1, "cs %u: one write",
		   wrong[i]);
		ok(!memcmp(buf, good, size), "cs %u: back byte for byte",
		   wrong[i]);
	}
	/* An empty COW's header is believed: nothing says otherwise. */
	memcpy(buf, good, size);
	memset(buf + CB, 0, CB);
	buf[12] = 16;
	{
		struct snapcow_dev *dev;
		struct snapcow_check *c = check_mem(buf, false, &dev);

		ok_eq(snapcow_check_rule_count(c,
				SNAPCOW_RULE_HEADER_CHUNK_SIZE), 0,
		      "empty: header believed");
		snapcow_check_free(c);
		snapcow_dev_close(dev);
	}
	unlink(undo);
	free(buf);
	free(good);
}

static void test_crash_every_write(void)
{
	size_t size = (size_t)CHUNKS * CB;
	unsigned char *orig = cow_damaged(), *buf = malloc(size);
	char undo[] = "/tmp/test-check-undo-XXXXXX";
	struct snapcow_dev *dev;
	struct snapcow_check *c;
	int fd = mkstemp(undo), writes;
	char err[256];

	close(fd);
	memcpy(buf, orig, size);
	writes = repair_mem(buf, UINT64_MAX, undo);
	ok(writes >= 5, "writes %d", writes);
	c = check_mem(buf, false, &dev);
	ok_eq(errors(c), 0, "clean after repair");
	snapcow_check_free(c);
	snapcow_dev_close(dev);
	for (int n = 0; n < writes; n++) {
		memcpy(buf, orig, size);
		ok(repair_mem(buf, (uint64_t)n, undo) < 0, "crash %d", n);
		/* Undo from the crashed state gives back the original. */
		snapcow_dev_open_memory(buf, size, true, "mem", &dev);
		unsigned char *crashed = malloc(size);

		memcpy(crashed, buf, size);
		ok(snapcow_check_undo(dev, undo, err, sizeof(err)) >= 0,
		   "undo %d: %s", n, err);
		ok(!memcmp(buf, orig, size), "undo %d differs", n);
		snapcow_dev_close(dev);
		/* And the crashed state repairs to clean. */
		memcpy(buf, crashed, size);
		free(crashed);
		ok(repair_mem(buf, UINT64_MAX, undo) >= 0, "re-repair %d", n);
		c = check_mem(buf, false, &dev);
		ok_eq(errors(c), 0, "crash %d: errors after re-repair", n);
		snapcow_check_free(c);
		snapcow_dev_close(dev);
	}
	unlink(undo);
	free(buf);
	free(orig);
}

/* Repair and undo with the undo file on a memory device, as fuzzing does. */
static void test_undo_in_memory(void)
{
	size_t size = (size_t)CHUNKS * CB;
	unsigned char *orig = cow_damaged(), *buf = malloc(size);
	struct memdev *small = memdev_new(4096, "small");
	struct memdev *undo = memdev_new(size, "undo");
	struct snapcow_dev *dev;
	struct snapcow_check *c;
	char err[256];
	int r;

	memcpy(buf, orig, size);
	c = check_mem(buf, true, &dev);
	r = snapcow_check_repair_dev(c, small->dev, err, sizeof(err));
	ok_eq(r, -ENOSPC, "an undo device too small is refused: %s", err);
	ok(!memcmp(buf, orig, size), "and nothing was written");
	r = snapcow_check_repair_dev(c, undo->dev, err, sizeof(err));
	ok(r >= 5, "repair wrote %d chunks: %s", r, err);
	snapcow_check_free(c);
	snapcow_dev_close(dev);
	c = check_mem(buf, false, &dev);
	ok_eq(errors(c), 0, "clean after repair");
	snapcow_check_free(c);
	snapcow_dev_close(dev);
	snapcow_dev_open_memory(buf, size, true, "mem", &dev);
	r = snapcow_check_undo_dev(dev, undo->dev, err, sizeof(err));
	ok(r >= 5, "undo restored %d chunks: %s", r, err);
	ok(!memcmp(buf, orig, size), "undo gives back every byte");
	snapcow_dev_close(dev);
	memdev_free(small);
	memdev_free(undo);
	free(buf);
	free(orig);
}

/*
 * Many records (512-byte chunks, so the buckets outgrow insertion sort)
 * with known duplicates: every one is found, nothing else is.
 */
static void test_many_duplicates(void)
{
	const uint32_t cs = 1;
	const uint64_t epa = snapcow_exceptions_per_area(cs), n = 60000;
	uint64_t chunks = snapcow_area_chunk(cs, n / epa + 1) + 1;
	struct memdev *m = memdev_new(chunks * 512, "many");
	uint64_t *olds = malloc(n * sizeof(*olds)), next = 2, dups = 0;
	struct snapcow_check_summary sum;
	struct snapcow_check *c;
	struct prng rng;
	char err[256];

	prng_seed(&rng, 42);
	snapcow_header_encode(&(struct snapcow_header){ SNAPCOW_MAGIC, 1, 1,
							 cs }, m->buf);
	for (uint64_t g = 0; g < n; g++) {
		struct snapcow_record r;

		olds[g] = prng_next(&rng) >> 20;
		if (g && prng_below(&rng, 50) == 0) {
			olds[g] = olds[prng_below(&rng, g)];
			dups++;
		}
		r.old_chunk = olds[g];
		r.new_chunk = next++;
		if (snapcow_chunk_is_metadata(cs, next))
			next++;
		snapcow_record_encode(m->buf + snapcow_area_chunk(cs, g / epa) *
				      512, g % epa, &r);
	}
	ok(!snapcow_check(m->dev, NULL, &c, err, sizeof(err)), "%s", err);
	ok_eq(snapcow_check_rule_count(c, SNAPCOW_RULE_DUP_OLD), dups,
	      "every duplicated origin chunk found");
	ok_eq(errors(c), dups, "and no other error");
	/* More than the stored findings' cap: each one is still planned. */
	ok(dups > SC_MAX_FINDINGS_PER_RULE, "%llu duplicates",
	   (unsigned long long)dups);
	snapcow_check_get_summary(c, &sum);
	ok_eq(sum.records_to_drop, dups, "every duplicate dropped by -y");
	snapcow_check_free(c);
	memdev_free(m);
	free(olds);
}

struct progress_log {
	uint64_t calls;
	uint64_t last;
	uint64_t total;
	bool backwards;
};

static void progress_cb(void *ctx, uint64_t done, uint64_t total)
{
	struct progress_log *p = ctx;

	p->backwards |= done < p->last || done > total;
	p->calls++;
	p->last = done;
	p->total = total;
}

static void test_progress(void)
{
	unsigned char *buf = cow_new(3 * EPA + 20);
	struct progress_log log = { 0 };
	struct snapcow_check_opts o = { .progress = progress_cb, .ctx = &log };
	struct snapcow_check *c = NULL;
	struct snapcow_dev *dev;
	char err[256];

	snapcow_dev_open_memory(buf, (uint64_t)CHUNKS * CB, false, "mem", &dev);
	ok(!snapcow_check(dev, &o, &c, err, sizeof(err)), "%s", err);
	ok(log.calls >= 2 && !log.backwards, "progress moves forward");
	ok(log.total && log.last == log.total, "and ends at its total");
	ok_eq(log.total, 5 * (uint64_t)CB, "the list's areas, estimated");
	snapcow_check_free(c);
	snapcow_dev_close(dev);
	free(buf);
}

int main(void)
{
	plan(7);
	run(test_kmodel);
	run(test_rules);
	run(test_header_chunk_size_changed);
	run(test_crash_every_write);
	run(test_undo_in_memory);
	run(test_many_duplicates);
	run(test_progress);
	return done();
}
