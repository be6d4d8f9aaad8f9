/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The engine's direct I/O (snapcow_direct_begin/end, what snapcowd's
 * io_uring path asks): which I/O may bypass the engine's calls, where its
 * data lives, and that what it holds holds: an origin write waits for a
 * snapshot read's hold on its chunk, and a chunk being copied is -EAGAIN
 * for every direct I/O.  Files in /dev/shm (else $TMPDIR): memory devices
 * never go direct.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapcow.h"
#include "memdev.h"
#include "tap.h"

#define CB	4096u			/* 4 KiB chunks */
#define ORIGIN	(64u * CB)
#define COWSZ	(128u * CB)

static char dir[256], opath[300], cpath[300];
static struct snapcow_dev *origin, *cow;
static struct snapcow_store *store;
static struct snapcow_origin *eng;
static char err[SNAPCOW_ERRBUF_SIZE];

static void fill(const char *path, size_t size, int byte)
{
	unsigned char *b = malloc(size);
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);

	if (!b || fd < 0)
		abort();
	memset(b, byte, size);
	if (pwrite(fd, b, size, 0) != (ssize_t)size)
		abort();
	close(fd);
	free(b);
}

static void setup(void)
{
	const char *base = access("/dev/shm", W_OK) ? getenv("TMPDIR") :
						    "/dev/shm";

	snprintf(dir, sizeof(dir), "%s/test-direct.XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(opath, sizeof(opath), "%s/origin", dir);
	snprintf(cpath, sizeof(cpath), "%s/cow", dir);
	fill(opath, ORIGIN, 0xaa);
	fill(cpath, COWSZ, 0);
	ok_eq(snapcow_dev_open(opath, SNAPCOW_DEV_WRITE, &origin), 0, "origin");
	ok_eq(snapcow_dev_open(cpath, SNAPCOW_DEV_WRITE, &cow), 0, "cow");
	ok_eq(snapcow_store_format(cow, CB / 512, err, sizeof(err)), 0, "%s",
	      err);
	ok_eq(snapcow_store_load(cow, CB / 512, SNAPCOW_STORE_WRITE, &store,
				 err, sizeof(err)), 0, "%s", err);
	ok_eq(snapcow_origin_new(origin, &eng, err, sizeof(err)), 0, "%s", err);
	ok_eq(snapcow_origin_add_snapshot(eng, store, err, sizeof(err)), 0,
	      "%s", err);
}

static void teardown(void)
{
	char cmd[300];

	snapcow_origin_free(eng);
	snapcow_store_free(store);
	snapcow_dev_close(cow);
	snapcow_dev_close(origin);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		abort();
}

static int opwrite(uint64_t chunk, int byte)
{
	unsigned char b[CB];

	memset(b, byte, sizeof(b));
	return snapcow_origin_pwrite(eng, b, CB, chunk * CB, 0, err,
				     sizeof(err));
}

/* The byte at the start of @d's data. */
static int direct_byte(const struct snapcow_direct *d)
{
	unsigned char c;

	return pread(d->fd, &c, 1, (off_t)d->offset) == 1 ? c : -1;
}

static void test_cases(void)
{
	struct snapcow_direct d;

	ok_eq(snapcow_direct_begin(eng, NULL, false, CB, 3 * CB, &d), 0,
	      "origin read: direct");
	ok(d.offset == 3 * CB && direct_byte(&d) == 0xaa, "at the origin");
	snapcow_direct_end(eng, &d);
	ok_eq(snapcow_direct_begin(eng, NULL, true, CB, 3 * CB, &d), -EAGAIN,
	      "origin write to a chunk not copied: the engine's call");
	ok_eq(opwrite(3, 0x33), 0, "first write copies: %s", err);
	ok_eq(snapcow_direct_begin(eng, NULL, true, CB, 3 * CB, &d), 0,
	      "origin write to a copied chunk: direct");
	ok(d.offset == 3 * CB, "at the origin");
	snapcow_direct_end(eng, &d);
	ok_eq(snapcow_direct_begin(eng, NULL, true, 2 * CB, 3 * CB, &d),
	      -EAGAIN, "origin write over a copied and a new chunk");
	ok_eq(snapcow_direct_begin(eng, store, false, 512, 3 * CB + 512, &d),
	      0, "snapshot read of a copied chunk: direct");
	ok(d.offset != 3 * CB + 512 && d.offset % CB == 512 &&
	   direct_byte(&d) == 0xaa, "in the COW, the old data");
	snapcow_direct_end(eng, &d);
	ok_eq(snapcow_direct_begin(eng, store, true, 512, 3 * CB, &d), 0,
	      "snapshot write to a copied chunk: direct, in the COW");
	snapcow_direct_end(eng, &d);
	ok_eq(snapcow_direct_begin(eng, store, true, 512, 5 * CB, &d),
	      -EAGAIN, "snapshot write to a chunk with no exception");
	ok_eq(snapcow_direct_begin(eng, store, false, CB, 5 * CB - 512, &d),
	      -EAGAIN, "snapshot read across two chunks");
	ok_eq(snapcow_direct_begin(eng, NULL, false, CB, ORIGIN, &d),
	      -EAGAIN, "past the end");
}

struct writer {
	uint64_t chunk;
	int r;
	bool done;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	w->r = opwrite(w->chunk, 0x77);
	__atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* A snapshot read from the origin holds the origin write that copies. */
static void test_hold(void)
{
	struct snapcow_direct d, d2;
	struct writer w = { .chunk = 9 };
	pthread_t th;
	int r = 0;

	ok_eq(snapcow_direct_begin(eng, store, false, CB, 9 * CB, &d), 0,
	      "snapshot read of a chunk not copied: direct");
	ok(d.offset == 9 * CB && direct_byte(&d) == 0xaa, "from the origin");
	pthread_create(&th, NULL, writer_main, &w);
	/*
	 * Until the writer has its pending exception a second read is
	 * still direct; however slow the machine, it comes (10 s at most).
	 */
	for (int i = 0; i < 1000; i++) {
		r = snapcow_direct_begin(eng, store, false, CB, 9 * CB, &d2);
		if (r)
			break;
		snapcow_direct_end(eng, &d2);
		usleep(10 * 1000);
	}
	ok_eq(r, -EAGAIN, "chunk being copied: snapshot read goes to the engine");
	ok(!__atomic_load_n(&w.done, __ATOMIC_ACQUIRE),
	   "the origin write waits for the read");
	ok_eq(snapcow_direct_begin(eng, NULL, true, CB, 9 * CB, &d2),
	      -EAGAIN, "chunk being copied: origin write goes to the engine");
	ok(direct_byte(&d) == 0xaa, "the held read still sees the old data");
	snapcow_direct_end(eng, &d);
	pthread_join(th, NULL);
	ok_eq(w.r, 0, "the origin write finished once released: %s", err);
	ok_eq(snapcow_direct_begin(eng, store, false, CB, 9 * CB, &d), 0,
	      "now copied: direct");
	ok(direct_byte(&d) == 0xaa, "the snapshot keeps the old data");
	snapcow_direct_end(eng, &d);
}

/* Memory devices and injected faults: always the engine's calls. */
static void test_not_direct(void)
{
	struct memdev *m = memdev_new(ORIGIN, "mem-origin");
	struct snapcow_origin *me;
	struct snapcow_direct d;

	ok_eq(snapcow_origin_new(m->dev, &me, err, sizeof(err)), 0, "%s", err);
	ok_eq(snapcow_direct_begin(me, NULL, false, CB, 0, &d), -EAGAIN,
	      "memory device");
	snapcow_origin_free(me);
	memdev_free(m);
	snapcow_dev_inject_fault(origin, SNAPCOW_FAULT_FAIL, 1000);
	ok_eq(snapcow_direct_begin(eng, NULL, false, CB, 0, &d), -EAGAIN,
	      "fault injected");
	snapcow_dev_inject_fault(origin, SNAPCOW_FAULT_NONE, 0);
}

int main(void)
{
	plan(4);
	run(setup);
	run(test_cases);
	run(test_hold);
	run(test_not_direct);
	teardown();
	return done();
}
