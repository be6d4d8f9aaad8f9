// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lib/dev-storage.c against a fake sysfs tree built in a temporary
 * directory: partitions that overlap, loop devices at offsets with size
 * limits, dm linear targets, dm and md stacks taken whole, and memory
 * devices, which never reach sysfs.  The dm tables come from a table in
 * this file instead of libdevmapper.
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dev-storage.h"
#include "memdev.h"
#include "tap.h"

/* Every path here is short; a cut one would be a broken test. */
#define FMT(buf, ...)							\
	do {								\
		if ((size_t)snprintf(buf, sizeof(buf), __VA_ARGS__) >=	\
		    sizeof(buf))					\
			abort();					\
	} while (0)

static char root[PATH_MAX];
static char img[PATH_MAX];	/* a real file the fake loops are over */

/* The directories above @rel, under the root. */
static void mkdirs(const char *rel)
{
	char path[PATH_MAX], *p;

	FMT(path, "%s/%s", root, rel);
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
}

static void put(const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	mkdirs(rel);
	FMT(path, "%s/%s", root, rel);
	f = fopen(path, "w");
	if (!f)
		abort();
	fprintf(f, "%s\n", text);
	fclose(f);
}

static void link_to(const char *rel, const char *target)
{
	char path[PATH_MAX];

	mkdirs(rel);
	FMT(path, "%s/%s", root, rel);
	if (symlink(target, path))
		abort();
}

/* A node: devices/DIR with dev and size, and /dev/block/MAJ:MIN. */
static void node(const char *dir, unsigned int ma, unsigned int mi,
		 unsigned long long sectors)
{
	char rel[PATH_MAX], val[64], link[PATH_MAX];

	FMT(rel, "devices/%s/dev", dir);
	FMT(val, "%u:%u", ma, mi);
	put(rel, val);
	FMT(rel, "devices/%s/size", dir);
	FMT(val, "%llu", sectors);
	put(rel, val);
	FMT(rel, "dev/block/%u:%u", ma, mi);
	FMT(link, "%s/devices/%s", root, dir);
	link_to(rel, link);
}

static void part(const char *dir, unsigned int mi, int n,
		 unsigned long long start, unsigned long long sectors)
{
	char rel[PATH_MAX], val[32];

	node(dir, 8, mi, sectors);
	FMT(rel, "devices/%s/partition", dir);
	FMT(val, "%d", n);
	put(rel, val);
	FMT(rel, "devices/%s/start", dir);
	FMT(val, "%llu", start);
	put(rel, val);
}

static void loop(int n, unsigned long long off, unsigned long long limit,
		 unsigned long long sectors)
{
	char rel[PATH_MAX], val[32];

	FMT(rel, "virtual/block/loop%d", n);
	node(rel, 7, (unsigned int)n, sectors);
	FMT(rel, "devices/virtual/block/loop%d/loop/"
		 "backing_file", n);
	put(rel, img);
	FMT(rel, "devices/virtual/block/loop%d/loop/"
		 "offset", n);
	FMT(val, "%llu", off);
	put(rel, val);
	FMT(rel, "devices/virtual/block/loop%d/loop/"
		 "sizelimit", n);
	FMT(val, "%llu", limit);
	put(rel, val);
}

static void slave(const char *dir, const char *name, const char *target)
{
	char rel[PATH_MAX], link[PATH_MAX];

	FMT(rel, "devices/%s/slaves/%s", dir, name);
	FMT(link, "%s/devices/%s", root, target);
	link_to(rel, link);
}

/*
 * sda (8:0, 16 MiB): sda1 at 1 MiB, 2 MiB; sda2 at 2 MiB, 2 MiB
 * (overlaps sda1); sda3 at 4 MiB, 8 MiB.  sdb (8:16).
 * loop0..2 over img: 0 + 1 MiB, 1 MiB + 1 MiB, 512 KiB + 1 MiB; loop3
 * over a deleted file.
 * dm-0, dm-1: linear on sda3 at 0 and 1 MiB; dm-2: snapshot on sda3
 * and sdb; dm-3: dm-0's second half, then a zero target, which uses no
 * device; md0 on sdb.
 */
static void build_tree(void)
{
	char rel[64];

	node("pci/block/sda", 8, 0, 32768);
	part("pci/block/sda/sda1", 1, 1, 2048, 4096);
	part("pci/block/sda/sda2", 2, 2, 4096, 4096);
	part("pci/block/sda/sda3", 3, 3, 8192, 16384);
	node("pci/block/sdb", 8, 16, 8192);
	loop(0, 0, 0, 2048);
	loop(1, 1 << 20, 1 << 20, 2048);
	loop(2, 512 << 10, 0, 2048);
	loop(3, 0, 0, 2048);
	put("devices/virtual/block/loop3/loop/backing_file", "/gone (deleted)");
	for (int i = 0; i < 4; i++) {
		FMT(rel, "virtual/block/dm-%d", i);
		node(rel, 253, (unsigned int)i, 2048);
		FMT(rel, "devices/virtual/block/dm-%d/"
			 "dm/name", i);
		put(rel, i == 0 ? "vg-a" : i == 1 ? "vg-b" :
		    i == 2 ? "vg-snap" : "vg-c");
	}
	slave("virtual/block/dm-0", "sda3", "pci/block/sda/sda3");
	slave("virtual/block/dm-1", "sda3", "pci/block/sda/sda3");
	slave("virtual/block/dm-2", "sda3", "pci/block/sda/sda3");
	slave("virtual/block/dm-2", "sdb", "pci/block/sdb");
	slave("virtual/block/dm-3", "dm-0", "virtual/block/dm-0");
	node("virtual/block/md0", 9, 0, 8192);
	put("devices/virtual/block/md0/md/level", "raid1");
	slave("virtual/block/md0", "sdb", "pci/block/sdb");
}

static int fake_table(unsigned int ma, unsigned int mi, sc_dm_target_fn fn,
		      void *ctx)
{
	static const struct {
		unsigned int minor;
		uint64_t start, len;
		const char *type, *params;
	} t[] = {
		{ 0, 0, 2048, "linear", "8:3 0" },
		{ 1, 0, 2048, "linear", "8:3 2048" },
		{ 2, 0, 2048, "snapshot", "8:3 8:16 P 8" },
		{ 3, 0, 1024, "linear", "253:0 1024" },
		{ 3, 1024, 1024, "zero", "" },
	};
	int r;

	if (ma != 253)
		return -ENXIO;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i].minor != mi)
			continue;
		r = fn(ctx, t[i].start, t[i].len, t[i].type, t[i].params);
		if (r)
			return r;
	}
	return 0;
}

static int no_table(unsigned int ma, unsigned int mi, sc_dm_target_fn fn,
		    void *ctx)
{
	(void)ma;
	(void)mi;
	(void)fn;
	(void)ctx;
	return -EACCES;
}

static struct sc_storage_env env = { root, fake_table };

static struct sc_storage_id blk(const char *path, unsigned int ma,
				unsigned int mi, uint64_t bytes)
{
	struct sc_storage_id id = {
		SC_STORE_BLOCK, makedev(ma, mi), 0, bytes, path,
	};

	return id;
}

static struct sc_storage_id file_id(void)
{
	struct stat st;
	struct sc_storage_id id = { SC_STORE_FILE, 0, 0, 0, "img" };

	if (stat(img, &st))
		abort();
	id.dev = st.st_dev;
	id.ino = st.st_ino;
	id.size = (uint64_t)st.st_size;
	return id;
}

static char chain[2048];

static int shared(struct sc_storage_id a, struct sc_storage_id b)
{
	int r = sc_storage_shared(&env, &a, &b, chain, sizeof(chain));
	int back = sc_storage_shared(&env, &b, &a, NULL, 0);

	/* The answer never depends on the order. */
	return r == back ? r : -100;
}

#define SDA	blk("/dev/sda", 8, 0, 16 << 20)
#define SDA1	blk("/dev/sda1", 8, 1, 2 << 20)
#define SDA2	blk("/dev/sda2", 8, 2, 2 << 20)
#define SDA3	blk("/dev/sda3", 8, 3, 8 << 20)
#define SDB	blk("/dev/sdb", 8, 16, 4 << 20)
#define LOOP(n)	blk("/dev/loop" #n, 7, n, 1 << 20)
#define DM(n)	blk("/dev/mapper/x" #n, 253, n, 1 << 20)
#define MD0	blk("/dev/md0", 9, 0, 4 << 20)

static void test_partitions(void)
{
	ok_eq(shared(SDA1, SDA2), 1, "overlapping partitions");
	ok(!strcmp(chain, "/dev/sda1 is partition 1 of /dev/sda (bytes "
		   "1048576..3145727); /dev/sda2 is partition 2 of /dev/sda "
		   "(bytes 2097152..4194303); both reach bytes "
		   "2097152..3145727 of /dev/sda"), "%s", chain);
	ok_eq(shared(SDA1, SDA3), 0, "disjoint partitions");
	ok(!chain[0], "no chain: %s", chain);
	ok_eq(shared(SDA3, SDA), 1, "a partition and its disk");
	ok(!strcmp(chain, "/dev/sda3 is partition 3 of /dev/sda (bytes "
		   "4194304..12582911), which is /dev/sda (bytes "
		   "4194304..12582911)"), "%s", chain);
	ok_eq(shared(SDA1, SDB), 0, "two disks");
	ok_eq(shared(SDA, blk("sda-again", 8, 0, 16 << 20)), 1, "one disk");
	ok(!strcmp(chain, "/dev/sda and sda-again are the same device "
		   "(8:0)"), "%s", chain);
}

static void test_loops(void)
{
	ok_eq(shared(LOOP(0), LOOP(1)), 0, "disjoint ranges of one file");
	ok_eq(shared(LOOP(1), LOOP(2)), 1, "overlapping ranges");
	ok(!strncmp(chain, "/dev/loop1 is a loop device over /", 34), "%s",
	   chain);
	ok(strstr(chain, " (offset 1048576, sizelimit 1048576); /dev/loop2 "
		  "is a loop device over "), "%s", chain);
	ok(strstr(chain, " (offset 524288); both reach bytes "
		  "1048576..1572863 of "), "%s", chain);
	ok_eq(shared(file_id(), LOOP(1)), 1, "the file under a loop");
	ok(strstr(chain, " (offset 1048576, sizelimit 1048576), which is img "
		  "(bytes 1048576..2097151)"), "%s", chain);
	ok_eq(shared(LOOP(0), SDA), 0, "a loop and a disk");
	/* A deleted backing file: no path reaches it any more. */
	ok_eq(shared(LOOP(3), file_id()), 0, "deleted backing file");
	ok_eq(shared(LOOP(3), LOOP(0)), 0, "deleted and another");
	ok_eq(shared(LOOP(3), blk("again", 7, 3, 1 << 20)), 1, "itself");
}

static void test_dm(void)
{
	ok_eq(shared(DM(0), DM(1)), 0, "two LVs side by side on one PV");
	ok_eq(shared(DM(0), SDA3), 1, "an LV and its PV");
	ok(!strcmp(chain, "/dev/mapper/x0 (dm vg-a) maps bytes 0..1048575 "
		   "linearly onto bytes 0..1048575 of /dev/sda3, which is "
		   "/dev/sda3 (bytes 0..1048575)"), "%s", chain);
	ok_eq(shared(DM(1), SDA1), 0, "an LV and a partition before it");
	ok_eq(shared(DM(1), SDA), 1, "an LV and the disk under its PV");
	ok(strstr(chain, "which is /dev/sda (bytes 5242880..6291455)"),
	   "%s", chain);
	/* dm-3 maps only dm-0's second half; the rest is a zero target. */
	ok_eq(shared(DM(3), DM(1)), 0, "stacked linear, disjoint");
	ok_eq(shared(DM(3), SDA), 1, "stacked linear");
	ok(strstr(chain, "which is /dev/sda (bytes 4718592..5242879)"),
	   "%s", chain);
	ok_eq(shared(DM(2), DM(1)), 1, "a snapshot uses all of its devices");
	ok(strstr(chain, "/dev/mapper/x2 (dm vg-snap), a snapshot target, is "
		  "taken to use all of /dev/sda3"), "%s", chain);
	ok_eq(shared(DM(2), SDA1), 0, "but not a partition beside them");
	env.dm_table = no_table;
	ok_eq(shared(DM(0), DM(1)), 1, "no table: all of every slave");
	ok(strstr(chain, "(dm vg-a, table unreadable: Permission denied) is "
		  "taken to use all of /dev/sda3"), "%s", chain);
	env.dm_table = fake_table;
}

static void test_md(void)
{
	ok_eq(shared(MD0, SDB), 1, "md and its member");
	ok(!strcmp(chain, "/dev/md0 (md) is taken to use all of /dev/sdb, "
		   "which is /dev/sdb (bytes 0..4194303)"), "%s", chain);
	ok_eq(shared(MD0, SDA), 0, "md and another disk");
	ok_eq(shared(MD0, DM(2)), 1, "md and a snapshot on one member");
}

static void test_unknown_to_sysfs(void)
{
	/* A device sysfs does not list is storage of its own. */
	ok_eq(shared(blk("a", 1, 1, 4096), blk("b", 1, 2, 4096)), 0, "two");
	ok_eq(shared(blk("a", 1, 1, 4096), blk("b", 1, 1, 4096)), 1, "one");
}

static void test_memory(void)
{
	struct memdev *a = memdev_new(4096, "a"), *b = memdev_new(4096, "b");
	struct sc_storage_id ia, ib;
	struct snapcow_dev *a2;
	char c[256];

	snapcow_dev_open_memory(a->buf, a->size, false, "a2", &a2);
	ok_eq(snapcow_dev_shares_storage(a->dev, b->dev, c, sizeof(c)), 0,
	      "two buffers: %s", c);
	ok_eq(snapcow_dev_shares_storage(a->dev, a2, c, sizeof(c)), 1,
	      "one buffer");
	ok(!strcmp(c, "a and a2 are the same device (one memory buffer)"),
	   "%s", c);
	/* Never a look at sysfs, real or fake. */
	sc_dev_storage_id(a->dev, &ia);
	sc_dev_storage_id(b->dev, &ib);
	env.sysfs = "/nonexistent";
	ok_eq(shared(ia, ib), 0, "no sysfs needed");
	env.sysfs = root;
	snapcow_dev_close(a2);
	memdev_free(a);
	memdev_free(b);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(void)
{
	FILE *f;
	int rc;

	FMT(root, "%s/test-dev-storage.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(root))
		abort();
	FMT(img, "%s/img", root);
	f = fopen(img, "w");
	if (!f || ftruncate(fileno(f), 4 << 20))
		abort();
	fclose(f);
	build_tree();
	plan(6);
	run(test_partitions);
	run(test_loops);
	run(test_dm);
	run(test_md);
	run(test_unknown_to_sysfs);
	run(test_memory);
	rc = done();
	if (nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS))
		rc = 1;
	return rc;
}
