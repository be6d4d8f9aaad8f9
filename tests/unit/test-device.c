/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's data path without a kernel: fake ring (fakering.h) ->
 * ring.c -> device.c -> scsi.c -> the origin and snapshot backends on
 * image files.  Checks what a LUN says about itself (capacity, write
 * cache, product), that writes land (and FUA and SYNCHRONIZE CACHE
 * flush), the sense of refused commands, every refusal of device_open
 * with its message, how LUNs share an origin and its COWs (an origin
 * write reaches a snapshot LUN as a copy), DATA PROTECT for an invalid
 * or full snapshot, and the exclusive holds and their release.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "snapcow.h"
#include "device.h"
#include "shared.h"
#include "fakelun.h"
#include "memdev.h"
#include "tap.h"

#define SIZE	(1u << 20)
#define BS	512u
#define CS	4096u		/* the COWs' chunk size here */

static char dir[64], img[96];
static struct policy policy;
static struct fakelun org;
static char err[PATH_MAX + 512];
static char cfg[1024];

static void path_of(char *buf, size_t len, const char *file)
{
	snprintf(buf, len, "%s/%s", dir, file);
}

static void write_file(const char *file, const void *buf, size_t len,
		       size_t size)
{
	char p[128];
	int fd;

	path_of(p, sizeof(p), file);
	fd = open(p, O_CREAT | O_TRUNC | O_RDWR, 0644);
	if (fd < 0 || ftruncate(fd, size) || (len &&
	    pwrite(fd, buf, len, 0) != (ssize_t)len))
		abort();
	close(fd);
}

static void read_file(const char *file, void *buf, size_t len, off_t off)
{
	char p[128];
	int fd;

	path_of(p, sizeof(p), file);
	fd = open(p, O_RDONLY);
	if (fd < 0 || pread(fd, buf, len, off) != (ssize_t)len)
		abort();
	close(fd);
}

/* A COW as snapctl create writes it: header, zeroed first area. */
static void make_cow(const char *file, size_t size, uint32_t valid)
{
	unsigned char *buf = calloc(1, 2 * CS);

	raw_header(buf, SNAPCOW_MAGIC, valid, 1, CS / BS);
	write_file(file, buf, 2 * CS, size);
	free(buf);
}

static int lun_open(struct fakelun *l, const char *name, const char *cs)
{
	return fakelun_open(l, &policy, name, cs, err, sizeof(err));
}

static uint16_t lun_submit(struct fakelun *l, const uint8_t *cdb, size_t len,
			   const void *out, uint32_t data_len)
{
	uint16_t id = fakelun_queue(l, cdb, len, out, data_len);

	fakelun_serve(l);
	fakelun_reap(l);
	return id;
}

static bool lun_sense(struct fakelun *l, uint16_t id, uint8_t key,
		      uint8_t asc, uint8_t ascq)
{
	const uint8_t *s = fakelun_res(l, id)->sense;

	return fakelun_res(l, id)->done &&
	       fakelun_res(l, id)->status == SCSI_CHECK_CONDITION &&
	       s[0] == 0x70 && (s[2] & 0x0f) == key && s[7] == 10 &&
	       s[12] == asc && s[13] == ascq;
}

static uint16_t submit(const uint8_t *cdb, size_t len, const void *out,
		       uint32_t data_len)
{
	return lun_submit(&org, cdb, len, out, data_len);
}

static struct fk_result *res(uint16_t id)
{
	return fakelun_res(&org, id);
}

static bool sense_is(uint16_t id, uint8_t key, uint8_t asc)
{
	return res(id)->done && res(id)->status == SCSI_CHECK_CONDITION &&
	       (res(id)->sense[2] & 0x0f) == key && res(id)->sense[12] == asc;
}

/* WRITE(10) of @n blocks at @lba: the command id. */
static uint16_t lun_write(struct fakelun *l, uint32_t lba, uint16_t n,
			  const void *buf)
{
	uint8_t cdb[10];

	cdb10(cdb, 0x2a, lba, n, 0);
	return lun_submit(l, cdb, 10, buf, n * BS);
}

/* READ(10) of @n blocks at @lba into @buf: the command id. */
static uint16_t lun_read(struct fakelun *l, uint32_t lba, uint16_t n,
			 void *buf)
{
	uint8_t cdb[10];
	uint16_t id;

	cdb10(cdb, 0x28, lba, n, 0);
	id = lun_submit(l, cdb, 10, NULL, n * BS);
	if (fakelun_good(l, id))
		fk_gather(&l->fk, id, buf, n * BS);
	return id;
}

static uint64_t flushes(void)
{
	struct shared_ref *ref = org.dev->priv;
	struct snapcow_dev_stats st;

	snapcow_dev_get_stats(ref->so->dev, &st);
	return st.flushes;
}

/* 0 when @file can be opened exclusively now, else -errno. */
static int excl(const char *file)
{
	struct snapcow_dev *d;
	char p[128];
	int r;

	path_of(p, sizeof(p), file);
	r = snapcow_dev_open(p, SNAPCOW_DEV_WRITE | SNAPCOW_DEV_EXCL, &d);
	if (!r)
		snapcow_dev_close(d);
	return r;
}

/* The chain the library gives for two names of one file. */
static void same_chain(char *buf, size_t len, const char *a, const char *b)
{
	char pa[128], pb[128];
	struct stat st;

	path_of(pa, sizeof(pa), a);
	path_of(pb, sizeof(pb), b);
	if (stat(pa, &st))
		abort();
	snprintf(buf, len,
		 "%s and %s are the same device (inode %" PRIu64 " on %u:%u)",
		 pa, pb, (uint64_t)st.st_ino, major(st.st_dev),
		 minor(st.st_dev));
}

static void setup_files(void)
{
	static unsigned char buf[SIZE];
	struct prng rng;
	unsigned char *bad = calloc(1, 2 * CS);
	char a[128], b[128];

	prng_seed(&rng, 7);
	prng_fill(&rng, buf, sizeof(buf));
	write_file("p.img", buf, sizeof(buf), SIZE);
	write_file("q.img", buf, sizeof(buf), SIZE);
	write_file("c1.img", NULL, 0, SIZE);	/* new: formatted when served */
	make_cow("c2.img", SIZE, 1);
	make_cow("inv.img", SIZE, 0);		/* invalidated */
	make_cow("small.img", 4 * CS, 1);	/* two data chunks */
	/* Area 0's first record points at COW chunk 1000 of 16. */
	raw_header(bad, SNAPCOW_MAGIC, 1, 1, CS / BS);
	raw_record(bad, CS / BS, 1, 0, 5, 1000);
	write_file("bad.img", bad, 2 * CS, 16 * CS);
	free(bad);
	path_of(a, sizeof(a), "p.img");
	path_of(b, sizeof(b), "p-link.img");
	if (link(a, b))
		abort();
	path_of(a, sizeof(a), "c2.img");
	path_of(b, sizeof(b), "c2-link.img");
	if (link(a, b))
		abort();
}

static void test_open(void)
{
	struct device_params prm = { .name = "user_1/t", .block_size = BS };
	struct fakelun second;
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/test-device.XXXXXX");
	ok(mkdtemp(dir) != NULL, "tmp dir");
	snprintf(img, sizeof(img), "%s/origin.img", dir);
	fd = open(img, O_CREAT | O_RDWR, 0644);
	ok(fd >= 0 && ftruncate(fd, SIZE) == 0, "image");
	close(fd);
	setup_files();
	ok_eq(policy_allow(&policy, dir, err, sizeof(err)), 0, "%s", err);
	snprintf(cfg, sizeof(cfg), "origin=%s", img);
	prm.dev_size = 2 * SIZE;
	ok_eq(device_open(&policy, cfg, &prm, &org.dev, err, sizeof(err)),
	      -EINVAL, "dev_size past the image");
	ok(strcmp(err, "user_1/t: dev_size 2097152 exceeds the origin's 1048576 bytes") == 0,
	   "%s", err);
	ok_eq(excl("origin.img"), 0, "a refused LUN holds nothing");
	ok_eq(lun_open(&org, "user_1/t", cfg), 0, "%s", err);
	ok_eq(org.dev->disk.blocks, SIZE / BS, "blocks");
	ok(org.dev->disk.write_cache, "write-back: page cache");
	ok(strcmp(org.dev->disk.product, "origin") == 0, "%s",
	   org.dev->disk.product);
	ok_eq(excl("origin.img"), -EBUSY, "held exclusively");
	ok_eq(lun_open(&second, "user_1/t2", cfg), -EBUSY, "one LUN");
	snprintf(cfg, sizeof(cfg),
		 "user_1/t2: origin %s is already served by user_1/t: one LUN per origin",
		 img);
	ok(strcmp(err, cfg) == 0, "%s", err);
}

static void test_capacity(void)
{
	uint8_t cdb[16] = { 0x9e, 0x10 }, buf[32];
	uint16_t id;

	cdb[13] = 32;
	id = submit(cdb, 16, NULL, 32);
	ok(res(id)->done && res(id)->status == SCSI_GOOD, "READ CAPACITY(16)");
	fk_gather(&org.fk, id, buf, 32);
	ok_eq(buf[6] << 8 | buf[7], SIZE / BS - 1, "last LBA");
	ok_eq(buf[10] << 8 | buf[11], BS, "block size");
}

/* MODE SENSE(6), DBD, caching page: WCE as the device says. */
static int wce(void)
{
	uint8_t cdb[6] = { 0x1a, 0x08, 0x08, 0, 64, 0 }, buf[64];
	uint16_t id = submit(cdb, 6, NULL, 64);

	if (!res(id)->done || res(id)->status != SCSI_GOOD)
		return -1;
	fk_gather(&org.fk, id, buf, 64);
	if (buf[3] != 0 || (buf[4] & 0x3f) != 0x08)
		return -2;
	return !!(buf[4 + 2] & 0x04);
}

static void test_write_cache(void)
{
	ok_eq(wce(), 1, "WCE set: writes sit in the page cache");
	device_set_write_back(org.dev, false);
	ok_eq(wce(), 0, "write-through: WCE clear");
	device_set_write_back(org.dev, true);
	ok_eq(wce(), 1, "back to write-back");
}

static void test_io(void)
{
	static uint8_t out[16 * BS], in[16 * BS], file[16 * BS];
	uint8_t cdb[16];
	uint64_t f0;
	uint16_t id;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 3);
	f0 = flushes();
	cdb10(cdb, 0x2a, 100, 16, 0);
	id = submit(cdb, 10, out, sizeof(out));
	ok(res(id)->done && res(id)->status == SCSI_GOOD, "WRITE(10)");
	ok_eq(flushes(), f0, "no flush without FUA");
	cdb10(cdb, 0x2a, 200, 16, 0x08);
	id = submit(cdb, 10, out, sizeof(out));
	ok(res(id)->done && res(id)->status == SCSI_GOOD, "WRITE(10) FUA");
	ok_eq(flushes(), f0 + 1, "FUA flushed");
	cdb10(cdb, 0x35, 0, 0, 0);
	id = submit(cdb, 10, NULL, 0);
	ok(res(id)->done && res(id)->status == SCSI_GOOD, "SYNCHRONIZE CACHE");
	ok_eq(flushes(), f0 + 2, "flushed");
	device_set_write_back(org.dev, false);
	ok_eq(flushes(), f0 + 3, "the cache flushed before write-through");
	cdb10(cdb, 0x2a, 300, 1, 0);
	id = submit(cdb, 10, out, BS);
	ok(res(id)->done && res(id)->status == SCSI_GOOD, "write-through");
	ok_eq(flushes(), f0 + 4, "write-through flushes every write");
	device_set_write_back(org.dev, true);
	memset(cdb, 0, 16);
	cdb[0] = 0x88;
	cdb[9] = 200;
	cdb[13] = 16;
	id = submit(cdb, 16, NULL, sizeof(in));
	ok(res(id)->done && res(id)->status == SCSI_GOOD, "READ(16)");
	fk_gather(&org.fk, id, in, sizeof(in));
	ok(memcmp(in, out, sizeof(in)) == 0, "read returns the write");
	fd = open(img, O_RDONLY);
	ok(pread(fd, file, sizeof(file), 100 * BS) == sizeof(file) &&
	   memcmp(file, out, sizeof(file)) == 0, "image holds the write");
	close(fd);
}

static void test_refused(void)
{
	static uint8_t out[8 * BS];
	uint8_t cdb[16];
	uint16_t id;

	cdb10(cdb, 0x2a, SIZE / BS - 4, 8, 0);
	id = submit(cdb, 10, out, sizeof(out));
	ok(sense_is(id, SCSI_SK_ILLEGAL_REQUEST, 0x21), "past the end");
	cdb10(cdb, 0x2a, 0, 8, 0);
	id = submit(cdb, 10, out, BS);
	ok(sense_is(id, SCSI_SK_HARDWARE_ERROR, 0x44),
	   "data shorter than the CDB");
	memset(cdb, 0, 16);
	cdb[0] = 0xc0;	/* vendor specific */
	id = submit(cdb, 16, NULL, 0);
	ok(sense_is(id, SCSI_SK_ILLEGAL_REQUEST, 0x20), "unknown opcode");
	ok_eq(org.dev->errors, 0, "no I/O error logged");
}

/* Open @cs as LUN @name; it must fail with @r and exactly @want. */
static void refused(const char *name, const char *cs, int r,
		    const char *want)
{
	struct fakelun l;

	ok_eq(lun_open(&l, name, cs), r, "%s: %s", cs, err);
	ok(strcmp(err, want) == 0, "\n#  got  %s\n#  want %s", err, want);
}

/* Refusals that need nothing served: the LUN's own devices. */
static void test_refused_alone(void)
{
	struct device_params big = {
		.name = "user_1/r", .block_size = BS, .dev_size = 2 * SIZE,
	};
	char want[2048], chain[512];
	unsigned char hdr[4096];
	struct device *d;

	snprintf(cfg, sizeof(cfg), "origin=%s/q.img;cow=%s/q.img", dir, dir);
	same_chain(chain, sizeof(chain), "q.img", "q.img");
	snprintf(want, sizeof(want),
		 "user_1/r: %s/q.img (origin) and %s/q.img (COW) share storage: %s: a snapshot's COW cannot live on its origin",
		 dir, dir, chain);
	refused("user_1/r", cfg, -EINVAL, want);
	snprintf(cfg, sizeof(cfg), "snapshot=%s/p.img;origin=%s/p-link.img",
		 dir, dir);
	same_chain(chain, sizeof(chain), "p-link.img", "p.img");
	snprintf(want, sizeof(want),
		 "user_1/r: %s/p-link.img (origin) and %s/p.img (COW) share storage: %s: a snapshot's COW cannot live on its origin",
		 dir, dir, chain);
	refused("user_1/r", cfg, -EINVAL, want);
	snprintf(cfg, sizeof(cfg), "origin=%s/q.img;cow=%s/c2.img;cow=%s/c2-link.img",
		 dir, dir, dir);
	same_chain(chain, sizeof(chain), "c2.img", "c2-link.img");
	snprintf(want, sizeof(want),
		 "user_1/r: %s/c2.img (COW) and %s/c2-link.img (COW) share storage: %s: two snapshots cannot share a COW",
		 dir, dir, chain);
	refused("user_1/r", cfg, -EINVAL, want);
	snprintf(cfg, sizeof(cfg), "origin=%s/q.img;cow=%s/c2.img;cow=%s/bad.img",
		 dir, dir, dir);
	snprintf(want, sizeof(want),
		 "user_1/r: cow %s/bad.img does not pass snapcheck -n: 2 errors, the first: SC011 new-past-end: area 0 slot 0 offset 4096: record points past the end of the device: origin chunk 5 -> COW chunk 1000 of 16",
		 dir);
	refused("user_1/r", cfg, -EUCLEAN, want);
	ok_eq(excl("q.img"), 0, "refused: origin not held");
	ok_eq(excl("c2.img"), 0, "refused: COW not held");
	ok_eq(excl("bad.img"), 0, "refused: bad COW not held");
	/* Refused for its size before the new COW is formatted. */
	snprintf(cfg, sizeof(cfg), "origin=%s/q.img;cow=%s/c1.img", dir, dir);
	ok_eq(device_open(&policy, cfg, &big, &d, err, sizeof(err)), -EINVAL,
	      "dev_size past the origin");
	ok(strcmp(err, "user_1/r: dev_size 2097152 exceeds the origin's 1048576 bytes") == 0,
	   "%s", err);
	read_file("c1.img", hdr, sizeof(hdr), 0);
	ok(all_bytes(hdr, sizeof(hdr), 0), "the new COW is left unwritten");
}

static void test_product(struct fakelun *l, const char *kind)
{
	ok(strcmp(l->dev->disk.product, kind) == 0, "%s",
	   l->dev->disk.product);
	ok_eq(l->dev->disk.blocks, SIZE / BS, "blocks: the origin's size");
}

/* Origin LUN o (P; C1, C2) and snapshot LUN s1 (C1): what is refused. */
static void test_share_rules(struct fakelun *o, struct fakelun *s1)
{
	char want[2048];

	snprintf(cfg, sizeof(cfg), "origin=%s/p.img;cow=%s/c1.img;cow=%s/c2.img",
		 dir, dir, dir);
	ok_eq(lun_open(o, "user_1/o", cfg), 0, "%s", err);
	test_product(o, "origin");
	snprintf(cfg, sizeof(cfg), "snapshot=%s/c1.img;origin=%s/p.img", dir,
		 dir);
	ok_eq(lun_open(s1, "user_1/s1", cfg), 0, "%s", err);
	test_product(s1, "snapshot");

	snprintf(want, sizeof(want),
		 "user_1/r: snapshot %s/c1.img is already served by user_1/s1: one LUN per snapshot",
		 dir);
	refused("user_1/r", cfg, -EBUSY, want);
	snprintf(cfg, sizeof(cfg), "origin=%s/p-link.img;cow=%s/c1.img;cow=%s/c2.img",
		 dir, dir, dir);
	snprintf(want, sizeof(want),
		 "user_1/r: origin %s/p-link.img is already served by user_1/o: one LUN per origin",
		 dir);
	refused("user_1/r", cfg, -EBUSY, want);
	snprintf(cfg, sizeof(cfg), "origin=%s/p.img", dir);
	snprintf(want, sizeof(want),
		 "user_1/r: origin %s/p.img is already served by user_1/o: one LUN per origin",
		 dir);
	refused("user_1/r", cfg, -EBUSY, want);
	snprintf(cfg, sizeof(cfg), "snapshot=%s/inv.img;origin=%s/p.img", dir,
		 dir);
	snprintf(want, sizeof(want),
		 "user_1/r: snapshot %s/inv.img: origin %s/p.img is served by user_1/o without cow=%s/inv.img: every origin write must reach a served snapshot (list it in the origin's cfgstring)",
		 dir, dir, dir);
	refused("user_1/r", cfg, -EINVAL, want);
	snprintf(cfg, sizeof(cfg), "origin=%s/q.img;cow=%s/c2-link.img", dir,
		 dir);
	snprintf(want, sizeof(want),
		 "user_1/r: cow %s/c2-link.img is a COW of origin %s/p.img (served by user_1/o): a COW belongs to one origin",
		 dir, dir);
	refused("user_1/r", cfg, -EBUSY, want);
	snprintf(cfg, sizeof(cfg), "snapshot=%s/c1.img;origin=%s/q.img", dir,
		 dir);
	snprintf(want, sizeof(want),
		 "user_1/r: snapshot %s/c1.img is a COW of origin %s/p.img (served by user_1/o): a COW belongs to one origin",
		 dir, dir);
	refused("user_1/r", cfg, -EBUSY, want);
	snprintf(cfg, sizeof(cfg), "origin=%s/c1.img", dir);
	snprintf(want, sizeof(want),
		 "user_1/r: origin %s/c1.img is a COW of origin %s/p.img (served by user_1/o): a COW cannot be an origin",
		 dir, dir);
	refused("user_1/r", cfg, -EBUSY, want);
	snprintf(cfg, sizeof(cfg), "origin=%s/q.img;cow=%s/p-link.img", dir,
		 dir);
	snprintf(want, sizeof(want),
		 "user_1/r: cow %s/p-link.img is an origin served by user_1/o: an origin cannot be a COW",
		 dir);
	refused("user_1/r", cfg, -EBUSY, want);
	ok_eq(excl("q.img"), 0, "refusals hold nothing");
}

static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 13);
}

/* An origin write reaches the snapshot LUN as a copy of the old data. */
static void test_share_io(struct fakelun *o, struct fakelun *s1)
{
	static uint8_t old[3 * CS], in[3 * CS], out[3 * CS];
	struct shared_ref *ref = o->dev->priv;
	struct snapcow_engine_stats st;
	uint32_t lba = CS / BS * 5 - 1;		/* crosses chunks 4..7 */

	ok(ref->so == ((struct shared_ref *)s1->dev->priv)->so,
	   "one origin object");
	read_file("p.img", old, sizeof(old), (off_t)lba * BS);
	ok(fakelun_good(s1, lun_read(s1, lba, sizeof(in) / BS, in)) &&
	   memcmp(in, old, sizeof(in)) == 0, "snapshot reads the origin");
	fill(out, sizeof(out), 1);
	ok(fakelun_good(o, lun_write(o, lba, sizeof(out) / BS, out)),
	   "origin write");
	ok(fakelun_good(o, lun_read(o, lba, sizeof(in) / BS, in)) &&
	   memcmp(in, out, sizeof(in)) == 0, "origin reads the write");
	ok(fakelun_good(s1, lun_read(s1, lba, sizeof(in) / BS, in)) &&
	   memcmp(in, old, sizeof(in)) == 0, "snapshot keeps the old data");
	snapcow_origin_get_stats(ref->so->eng, &st);
	/* Chunks 4..7 of 4 KiB into C2, chunk 1 of 16 KiB into C1 (new). */
	ok_eq(st.copies, 4 + 1, "copied into both COWs");
	fill(out, sizeof(out), 99);
	ok(fakelun_good(s1, lun_write(s1, lba + 1, 2, out)), "snapshot write");
	ok(fakelun_good(s1, lun_read(s1, lba, 3, in)) &&
	   memcmp(in, old, BS) == 0 && memcmp(in + BS, out, 2 * BS) == 0,
	   "snapshot reads its write");
	ok(fakelun_good(o, lun_read(o, lba + 1, 2, in)) &&
	   memcmp(in, out, 2 * BS) != 0, "origin does not");
	ok_eq(o->dev->errors + s1->dev->errors, 0, "no I/O error");
}

/* Closing the origin LUN: the snapshot LUN keeps P and C1 held. */
static void test_release(struct fakelun *o, struct fakelun *s1)
{
	unsigned char hdr[16];
	char want[2048];

	ok_eq(excl("p.img"), -EBUSY, "origin held");
	ok_eq(excl("c1.img"), -EBUSY, "COW held");
	ok_eq(excl("c2.img"), -EBUSY, "COW held");
	fakelun_close(o);
	ok_eq(excl("c2.img"), 0, "C2 served by no LUN: released");
	ok_eq(excl("c1.img"), -EBUSY, "C1 still served by s1");
	ok_eq(excl("p.img"), -EBUSY, "P held for s1: nothing writes it");
	snprintf(cfg, sizeof(cfg), "origin=%s/p.img;cow=%s/c2.img", dir, dir);
	snprintf(want, sizeof(want),
		 "user_1/r: origin %s/p.img: cow=%s/c1.img is missing: user_1/s1 serves it as a snapshot of this origin, and every origin write must reach it",
		 dir, dir);
	refused("user_1/r", cfg, -EINVAL, want);
	snprintf(cfg, sizeof(cfg), "origin=%s/p.img", dir);
	refused("user_1/r", cfg, -EINVAL, want);
	ok_eq(excl("c2.img"), 0, "refused: C2 not held");
	snprintf(cfg, sizeof(cfg), "origin=%s/p.img;cow=%s/c1.img;cow=%s/c2.img",
		 dir, dir, dir);
	ok_eq(lun_open(o, "user_1/o2", cfg), 0, "listing C1: %s", err);
	ok_eq(excl("c2.img"), -EBUSY, "C2 held again");
	fakelun_close(s1);
	ok_eq(excl("c1.img"), -EBUSY, "C1 still listed by o2");
	fakelun_close(o);
	ok_eq(excl("p.img"), 0, "P released");
	ok_eq(excl("c1.img"), 0, "C1 released");
	ok_eq(excl("c2.img"), 0, "C2 released");
	read_file("c1.img", hdr, sizeof(hdr), 0);
	ok(get_le(hdr, 4) == SNAPCOW_MAGIC && get_le(hdr + 4, 4) == 1 &&
	   get_le(hdr + 8, 4) == 1 && get_le(hdr + 12, 4) == 32,
	   "the new COW was formatted as the kernel does: 16 KiB chunks");
	/* A snapshot of an origin no LUN serves holds that origin. */
	snprintf(cfg, sizeof(cfg), "snapshot=%s/c1.img;origin=%s/p.img", dir,
		 dir);
	ok_eq(lun_open(s1, "user_1/s1", cfg), 0, "%s", err);
	ok_eq(excl("p.img"), -EBUSY, "P held by the snapshot LUN");
	fakelun_close(s1);
	ok_eq(excl("p.img"), 0, "and released");
}

static void test_sharing(void)
{
	struct fakelun o, s1;

	test_share_rules(&o, &s1);
	test_share_io(&o, &s1);
	test_release(&o, &s1);
}

/* Invalid and full snapshots: DATA PROTECT, with the exact sense. */
static void test_data_protect(void)
{
	static uint8_t out[CS], in[CS];
	struct fakelun inv, sm;
	uint16_t id;

	snprintf(cfg, sizeof(cfg), "snapshot=%s/inv.img;origin=%s/q.img", dir,
		 dir);
	ok_eq(lun_open(&inv, "user_1/inv", cfg), 0, "invalid COW: %s", err);
	fill(out, sizeof(out), 3);
	id = lun_write(&inv, 8, 1, out);
	ok(lun_sense(&inv, id, SCSI_SK_DATA_PROTECT, 0x27, 0x00),
	   "write to an invalid snapshot: DATA PROTECT, WRITE PROTECTED");
	id = lun_read(&inv, 8, 1, in);
	ok(lun_sense(&inv, id, SCSI_SK_MEDIUM_ERROR, 0x11, 0x00),
	   "read: MEDIUM ERROR, UNRECOVERED READ ERROR");
	snprintf(cfg, sizeof(cfg), "snapshot=%s/small.img;origin=%s/q.img",
		 dir, dir);
	ok_eq(lun_open(&sm, "user_1/sm", cfg), 0, "%s", err);
	ok(fakelun_good(&sm, lun_write(&sm, 0, CS / BS, out)), "chunk 0");
	ok(fakelun_good(&sm, lun_write(&sm, 2 * CS / BS, CS / BS, out)),
	   "chunk 2");
	id = lun_write(&sm, 4 * CS / BS, CS / BS, out);
	ok(lun_sense(&sm, id, SCSI_SK_DATA_PROTECT, 0x27, 0x07),
	   "full: DATA PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT");
	ok(fakelun_good(&sm, lun_read(&sm, 2 * CS / BS, CS / BS, in)) &&
	   memcmp(in, out, CS) == 0, "the snapshot stays valid");
	ok_eq(inv.dev->errors, 2, "failed commands counted");
	fakelun_close(&sm);
	fakelun_close(&inv);
	ok_eq(excl("q.img"), 0, "released");
	ok_eq(excl("inv.img"), 0, "released");
}

/* device_reconfig on @l fails with @r and exactly @want, changing nothing. */
static void reconfig_refused(struct fakelun *l, const char *cs, int r,
			     const char *want)
{
	char before[1024];

	snprintf(before, sizeof(before), "%s", l->dev->cfgstring);
	ok_eq(device_reconfig(l->dev, &policy, cs, err, sizeof(err)), r,
	      "%s: %s", cs, err);
	ok(strcmp(err, want) == 0, "\n#  got  %s\n#  want %s", err, want);
	ok(strcmp(l->dev->cfgstring, before) == 0, "cfgstring kept: %s",
	   l->dev->cfgstring);
}

/* Origin LUN @l on Q now lists COWs @c1 and @c2 (each may be NULL). */
static int reconfig(struct fakelun *l, const char *c1, const char *c2)
{
	int n = snprintf(cfg, sizeof(cfg), "origin=%s/q.img", dir);

	if (c1)
		n += snprintf(cfg + n, sizeof(cfg) - n, ";cow=%s/%s", dir, c1);
	if (c2)
		snprintf(cfg + n, sizeof(cfg) - n, ";cow=%s/%s", dir, c2);
	return device_reconfig(l->dev, &policy, cfg, err, sizeof(err));
}

/* Refusals while L1 is served by snapshot LUN s: nothing changes. */
static void test_live_refused(struct fakelun *o, struct fakelun *s)
{
	char want[2048], chain[512];

	snprintf(cfg, sizeof(cfg), "origin=%s/q.img", dir);
	snprintf(want, sizeof(want),
		 "user_1/o: origin %s/q.img: cow=%s/l1.img cannot be removed: user_1/s serves it as a snapshot of this origin (remove that LUN first)",
		 dir, dir);
	reconfig_refused(o, cfg, -EBUSY, want);
	snprintf(cfg, sizeof(cfg), "origin=%s/p.img;cow=%s/l1.img", dir, dir);
	snprintf(want, sizeof(want),
		 "user_1/o: new cfgstring names origin %s/p.img, the LUN serves %s/q.img: only its cow= items can change",
		 dir, dir);
	reconfig_refused(o, cfg, -EINVAL, want);
	snprintf(cfg, sizeof(cfg), "snapshot=%s/l2.img;origin=%s/q.img", dir,
		 dir);
	snprintf(want, sizeof(want),
		 "user_1/o: new cfgstring names snapshot=%s/l2.img: an origin LUN stays an origin LUN (only its cow= items can change)",
		 dir);
	reconfig_refused(o, cfg, -EINVAL, want);
	snprintf(cfg, sizeof(cfg), "snapshot=%s/l2.img;origin=%s/q.img", dir,
		 dir);
	snprintf(want, sizeof(want),
		 "user_1/s: new cfgstring '%s' refused: a snapshot LUN's cfgstring cannot change (only an origin LUN's cow= items can)",
		 cfg);
	reconfig_refused(s, cfg, -EINVAL, want);
	snprintf(cfg, sizeof(cfg), "origin=%s/q.img;cow=%s/l1.img;cow=%s/bad.img",
		 dir, dir, dir);
	snprintf(want, sizeof(want),
		 "user_1/o: cow %s/bad.img does not pass snapcheck -n: 2 errors, the first: SC011 new-past-end: area 0 slot 0 offset 4096: record points past the end of the device: origin chunk 5 -> COW chunk 1000 of 16",
		 dir);
	reconfig_refused(o, cfg, -EUCLEAN, want);
	ok_eq(excl("bad.img"), 0, "refused: the bad COW is not held");
	snprintf(cfg, sizeof(cfg), "origin=%s/q.img;cow=%s/l1.img;cow=%s/q.img",
		 dir, dir, dir);
	same_chain(chain, sizeof(chain), "q.img", "q.img");
	snprintf(want, sizeof(want),
		 "user_1/o: %s/q.img (origin) and %s/q.img (COW) share storage: %s: a snapshot's COW cannot live on its origin",
		 dir, dir, chain);
	reconfig_refused(o, cfg, -EINVAL, want);
	snprintf(cfg, sizeof(cfg), "origin=%s/q.img;cow=%s/l1.img;cow=%s/c2.img",
		 dir, dir, dir);
	snprintf(want, sizeof(want),
		 "user_1/o: cow %s/c2.img is a COW of origin %s/p.img (served by user_1/p): a COW belongs to one origin",
		 dir, dir);
	reconfig_refused(o, cfg, -EBUSY, want);
}

/*
 * A live snapshot: cow= added to a served origin LUN takes effect between
 * two writes; the new snapshot LUN reads what the origin held then.
 */
static void test_live_snapshot(void)
{
	static uint8_t x1[CS], x2[CS], in[CS], hdr[16];
	struct snapcow_engine_stats st0, st;
	struct fakelun o, s, p;

	write_file("l1.img", NULL, 0, SIZE);	/* new: formatted when taken */
	make_cow("l2.img", SIZE, 1);
	snprintf(cfg, sizeof(cfg), "origin=%s/p.img;cow=%s/c2.img", dir, dir);
	ok_eq(lun_open(&p, "user_1/p", cfg), 0, "another origin: %s", err);
	snprintf(cfg, sizeof(cfg), "origin=%s/q.img", dir);
	ok_eq(lun_open(&o, "user_1/o", cfg), 0, "%s", err);
	ok_eq(device_reconfig(o.dev, &policy, cfg, err, sizeof(err)), 0,
	      "the same cfgstring: nothing to do");
	fill(x1, sizeof(x1), 11);
	fill(x2, sizeof(x2), 22);
	ok(fakelun_good(&o, lun_write(&o, 8, CS / BS, x1)), "write before");
	ok_eq(reconfig(&o, "l1.img", NULL), 0,
	      "cow=l1 added: %s", err);
	ok(strcmp(o.dev->cfgstring, cfg) == 0, "%s", o.dev->cfgstring);
	ok_eq(excl("l1.img"), -EBUSY, "the new COW is held");
	read_file("l1.img", hdr, sizeof(hdr), 0);
	ok(get_le(hdr, 4) == SNAPCOW_MAGIC && get_le(hdr + 4, 4) == 1,
	   "the new COW was formatted");
	ok(fakelun_good(&o, lun_write(&o, 8, CS / BS, x2)), "write after");
	snprintf(cfg, sizeof(cfg), "snapshot=%s/l1.img;origin=%s/q.img", dir,
		 dir);
	ok_eq(lun_open(&s, "user_1/s", cfg), 0, "snapshot LUN: %s", err);
	ok(fakelun_good(&s, lun_read(&s, 8, CS / BS, in)) &&
	   memcmp(in, x1, CS) == 0, "the snapshot reads the write before");
	ok(fakelun_good(&o, lun_read(&o, 8, CS / BS, in)) &&
	   memcmp(in, x2, CS) == 0, "the origin reads the write after");
	test_live_refused(&o, &s);
	ok_eq(reconfig(&o, "l1.img", "l2.img"), 0, "cow=l2 added: %s", err);
	ok_eq(excl("l2.img"), -EBUSY, "L2 held");
	ok_eq(reconfig(&o, "l1.img", NULL), 0,
	      "cow=l2 removed: %s", err);
	ok_eq(excl("l2.img"), 0, "L2 released");
	ok_eq(s.dev->errors, 0, "no I/O error on the snapshot LUN");
	fakelun_close(&s);
	ok_eq(excl("l1.img"), -EBUSY, "L1 still listed by the origin LUN");
	snapcow_origin_get_stats(((struct shared_ref *)o.dev->priv)->so->eng,
				 &st0);
	ok_eq(reconfig(&o, NULL, NULL), 0, "cow=l1 removed: %s", err);
	ok_eq(excl("l1.img"), 0, "L1 released");
	ok(fakelun_good(&o, lun_write(&o, 32, CS / BS, x1)), "a new chunk");
	snapcow_origin_get_stats(((struct shared_ref *)o.dev->priv)->so->eng,
				 &st);
	ok_eq(st.copies, st0.copies, "no snapshot left to copy into");
	ok_eq(o.dev->errors, 0, "no I/O error on the origin LUN");
	fakelun_close(&o);
	fakelun_close(&p);
	ok_eq(excl("q.img"), 0, "released");
}

int main(void)
{
	char cmd[96];

	plan(9);
	run(test_open);
	run(test_capacity);
	run(test_write_cache);
	run(test_io);
	run(test_refused);
	run(test_refused_alone);
	run(test_sharing);
	run(test_data_protect);
	run(test_live_snapshot);
	fakelun_close(&org);
	policy_free(&policy);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? 1 : done();
}
