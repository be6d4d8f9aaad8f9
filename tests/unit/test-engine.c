/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lib/engine.c on memory devices: origin writes copy on write, snapshot
 * reads see the point-in-time image, snapshot writes go to the COW only,
 * overflow invalidates (or not, for PO tables), and a seeded random model
 * test compares every byte of every snapshot image with a plain reference
 * kept in the test, after reloading the stores from their devices.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "snapcow.h"
#include "memdev.h"
#include "tap.h"

#define KIB 1024u

static char errbuf[SNAPCOW_ERRBUF_SIZE];

static struct snapcow_store *load(struct memdev *m, uint32_t table_cs,
				  unsigned int flags)
{
	struct snapcow_store *s = NULL;
	int r;

	r = snapcow_store_load(m->dev, table_cs, flags, &s, errbuf,
			       sizeof(errbuf));
	if (r) {
		printf("# load: %d: %s\n", r, errbuf);
		return NULL;
	}
	return s;
}

static struct memdev *formatted(uint64_t size, uint32_t cs)
{
	struct memdev *m = memdev_new(size, "cow");

	if (snapcow_store_format(m->dev, cs, errbuf, sizeof(errbuf)))
		printf("# format: %s\n", errbuf);
	return m;
}

/* A pattern that differs in every byte of a chunk and between chunks. */
static unsigned char pattern(uint64_t off)
{
	return (unsigned char)((off * 7) ^ (off >> 9) ^ (off >> 17));
}

static struct memdev *origin_new(uint64_t size)
{
	struct memdev *o = memdev_new(size, "origin");

	for (uint64_t i = 0; i < size; i++)
		o->buf[i] = pattern(i);
	return o;
}

static bool is_pattern(const unsigned char *p, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern(off + i))
			return false;
	return true;
}

/* The snapshot image through the engine, compared with @ref. */
static bool image_is(struct memdev *origin, struct snapcow_store *s,
		     const unsigned char *ref)
{
	unsigned char *img = malloc(origin->size);
	bool same;
	int r;

	r = snapcow_snapshot_read(origin->dev, s, img, origin->size, 0, errbuf,
				  sizeof(errbuf));
	same = !r && !memcmp(img, ref, origin->size);
	if (r)
		printf("# snapshot_read: %d: %s\n", r, errbuf);
	else if (!same)
		for (uint64_t i = 0; i < origin->size; i++)
			if (img[i] != ref[i]) {
				printf("# first difference at byte %llu\n",
				       (unsigned long long)i);
				break;
			}
	free(img);
	return same;
}

/* ---------------------------------------------------- origin writes */

static void test_origin_write_copies(void)
{
	struct memdev *o = origin_new(64 * KIB), *c = formatted(1024 * KIB, 8);
	struct snapcow_store *s = load(c, 8, SNAPCOW_STORE_WRITE);
	struct snapcow_store *snaps[1] = { s };
	unsigned char data[4096];
	uint64_t nc;

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	memset(data, 0xee, sizeof(data));
	ok_eq(snapcow_origin_write(o->dev, snaps, 1, data, 4096, 3 * 4096,
				   errbuf, sizeof(errbuf)), 0,
	      "write chunk 3: %s", errbuf);
	ok(snapcow_store_lookup(s, 3, &nc) == 1 && nc == 2, "3 -> 2");
	ok(is_pattern(c->buf + 2 * 4096, 3 * 4096, 4096),
	   "COW chunk 2 holds the old chunk 3");
	ok(all_bytes(o->buf + 3 * 4096, 4096, 0xee), "origin written");
	ok(is_pattern(o->buf, 0, 3 * 4096) &&
	   is_pattern(o->buf + 4 * 4096, 4 * 4096, 12 * 4096),
	   "rest of origin untouched");
	ok_eq(get_le(c->buf + 4096, 8), 3, "record old, committed");
	ok_eq(get_le(c->buf + 4096 + 8, 8), 2, "record new");
	ok(all_bytes(c->buf + 3 * 4096, c->size - 3 * 4096, 0),
	   "nothing else on the COW");
	snapcow_store_free(s);
out:
	memdev_free(o);
	memdev_free(c);
}

/* The origin is written only after the exception is on disk. */
static void test_origin_write_order(void)
{
	struct memdev *o = origin_new(64 * KIB), *c = formatted(1024 * KIB, 8);
	struct snapcow_store *s = load(c, 8, SNAPCOW_STORE_WRITE);
	struct snapcow_store *snaps[1] = { s };
	unsigned char data[10];
	uint64_t w = memdev_writes(c);

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	memset(data, 0xee, sizeof(data));
	/* Data write w+1 then area w+2: fail the area. */
	snapcow_dev_inject_fault(c->dev, SNAPCOW_FAULT_FAIL, w + 2);
	ok_eq(snapcow_origin_write(o->dev, snaps, 1, data, 10, 5000, errbuf,
				   sizeof(errbuf)), -EIO,
	      "commit fails");
	ok(strstr(errbuf, "injected"), "message: %s", errbuf);
	/* It is the caller's alone: no handle's message is rewritten. */
	ok(!*snapcow_dev_error(o->dev) && !*snapcow_store_error(s),
	   "origin and store keep no copy");
	ok(is_pattern(o->buf, 0, o->size), "origin untouched");
	ok_eq(memdev_writes(o), 0, "no origin write");
	snapcow_store_free(s);
out:
	memdev_free(o);
	memdev_free(c);
}

static void test_origin_write_repeat(void)
{
	struct memdev *o = origin_new(64 * KIB), *c = formatted(1024 * KIB, 8);
	struct snapcow_store *s = load(c, 8, SNAPCOW_STORE_WRITE);
	struct snapcow_store *snaps[1] = { s };
	struct snapcow_store_info info;
	unsigned char data[4096];
	uint64_t w;

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	memset(data, 1, sizeof(data));
	ok_eq(snapcow_origin_write(o->dev, snaps, 1, data, 4096, 3 * 4096,
				   errbuf, sizeof(errbuf)), 0,
	      "first");
	w = memdev_writes(c);
	memset(data, 2, sizeof(data));
	ok_eq(snapcow_origin_write(o->dev, snaps, 1, data, 100, 3 * 4096 + 7,
				   errbuf, sizeof(errbuf)),
	      0, "second");
	ok_eq(memdev_writes(c), w, "no second copy");
	snapcow_store_get_info(s, &info);
	ok_eq(info.exceptions, 1, "one exception");
	ok_eq(info.next_free, 3, "one chunk used");
	ok(is_pattern(c->buf + 2 * 4096, 3 * 4096, 4096),
	   "COW keeps the original, not the first write");
	ok(all_bytes(o->buf + 3 * 4096 + 7, 100, 2) &&
	   all_bytes(o->buf + 3 * 4096, 7, 1), "origin has both writes");
	snapcow_store_free(s);
out:
	memdev_free(o);
	memdev_free(c);
}

static void test_origin_write_partial(void)
{
	struct memdev *o = origin_new(64 * KIB), *c = formatted(1024 * KIB, 8);
	struct snapcow_store *s = load(c, 8, SNAPCOW_STORE_WRITE);
	struct snapcow_store *snaps[1] = { s };
	unsigned char data[200], back[4096 * 2];
	uint64_t nc;

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	memset(data, 0x3c, sizeof(data));
	/* 200 bytes across the boundary of chunks 5 and 6. */
	ok_eq(snapcow_origin_write(o->dev, snaps, 1, data, 200,
				   6 * 4096 - 100, errbuf, sizeof(errbuf)), 0,
	      "write");
	ok(snapcow_store_lookup(s, 5, &nc) == 1 && nc == 2, "5 -> 2");
	ok(snapcow_store_lookup(s, 6, &nc) == 1 && nc == 3, "6 -> 3");
	ok(snapcow_store_lookup(s, 4, &nc) == 0, "4 not copied");
	ok(snapcow_store_lookup(s, 7, &nc) == 0, "7 not copied");
	ok(is_pattern(c->buf + 2 * 4096, 5 * 4096, 2 * 4096),
	   "whole chunks copied");
	ok(is_pattern(o->buf + 5 * 4096, 5 * 4096, 4096 - 100) &&
	   all_bytes(o->buf + 6 * 4096 - 100, 200, 0x3c) &&
	   is_pattern(o->buf + 6 * 4096 + 100, 6 * 4096 + 100, 4096 - 100),
	   "origin: only the range changed");
	ok_eq(snapcow_snapshot_read(o->dev, s, back, sizeof(back), 5 * 4096,
				    errbuf, sizeof(errbuf)),
	      0, "read back");
	ok(is_pattern(back, 5 * 4096, sizeof(back)), "snapshot unchanged");
	snapcow_store_free(s);
out:
	memdev_free(o);
	memdev_free(c);
}

static void test_origin_last_partial_chunk(void)
{
	/* 10 whole chunks and 1536 bytes of an 11th. */
	uint64_t size = 10 * 4096 + 1536;
	struct memdev *o = origin_new(size), *c = memdev_new(256 * KIB, "cow");
	struct snapcow_store *s;
	struct snapcow_store *snaps[1];
	unsigned char data[10], back[1536];
	uint64_t nc;

	memset(c->buf, 0xcc, c->size);
	ok_eq(snapcow_store_format(c->dev, 8, errbuf, sizeof(errbuf)), 0,
	      "format");
	s = load(c, 8, SNAPCOW_STORE_WRITE);
	snaps[0] = s;
	ok(s != NULL, "loads");
	if (!s)
		goto out;
	memset(data, 0x42, sizeof(data));
	ok_eq(snapcow_origin_write(o->dev, snaps, 1, data, 10, size - 10,
				   errbuf, sizeof(errbuf)), 0,
	      "write the last 10 bytes");
	ok(snapcow_store_lookup(s, 10, &nc) == 1 && nc == 2, "10 -> 2");
	ok(is_pattern(c->buf + 2 * 4096, 10 * 4096, 1536),
	   "the 1536 bytes copied");
	ok(all_bytes(c->buf + 2 * 4096 + 1536, 4096 - 1536, 0xcc),
	   "no more than the origin holds");
	ok(all_bytes(o->buf + size - 10, 10, 0x42), "origin written");
	ok_eq(snapcow_snapshot_read(o->dev, s, back, 1536, 10 * 4096, errbuf,
				    sizeof(errbuf)), 0,
	      "read the tail");
	ok(is_pattern(back, 10 * 4096, 1536), "old tail");
	ok_eq(snapcow_origin_write(o->dev, snaps, 1, data, 10, size - 5, errbuf,
				   sizeof(errbuf)),
	      -ENOSPC, "past the origin's end");
	ok_eq(snapcow_snapshot_read(o->dev, s, back, 2, size - 1, errbuf,
				    sizeof(errbuf)), -ENOSPC,
	      "read past the end");
	/* A snapshot write covering the whole short chunk needs no copy. */
	snapcow_store_free(s);
out:
	memdev_free(o);
	memdev_free(c);
}

static void test_multiple_snapshots(void)
{
	struct memdev *o = origin_new(256 * KIB);
	struct memdev *ca = formatted(1024 * KIB, 8);	/* 4 KiB */
	struct memdev *cb = formatted(1024 * KIB, 128);	/* 64 KiB */
	struct memdev *cc = formatted(256 * KIB, 1);	/* 512 B */
	struct snapcow_store *snaps[3] = {
		load(ca, 0, SNAPCOW_STORE_WRITE),
		load(cb, 0, SNAPCOW_STORE_WRITE),
		load(cc, 0, SNAPCOW_STORE_WRITE),
	};
	unsigned char one = 0x99, *ref = malloc(o->size);
	uint64_t nc;

	memcpy(ref, o->buf, o->size);
	ok(snaps[0] && snaps[1] && snaps[2], "load");
	if (!snaps[0] || !snaps[1] || !snaps[2])
		goto out;
	ok_eq(snapcow_origin_write(o->dev, snaps, 3, &one, 1, 70000, errbuf,
				   sizeof(errbuf)), 0,
	      "one byte");
	/* 70000 is in 4 KiB chunk 17, 64 KiB chunk 1, 512 B chunk 136. */
	ok(snapcow_store_lookup(snaps[0], 17, &nc) == 1 && nc == 2, "A");
	ok(snapcow_store_lookup(snaps[1], 1, &nc) == 1 && nc == 2, "B");
	ok(snapcow_store_lookup(snaps[2], 136, &nc) == 1 && nc == 2, "C");
	ok(is_pattern(ca->buf + 2 * 4096, 17 * 4096, 4096), "A data");
	ok(is_pattern(cb->buf + 2 * 65536, 65536, 65536), "B data");
	ok(is_pattern(cc->buf + 2 * 512, 136 * 512, 512), "C data");
	ok_eq(o->buf[70000], 0x99, "origin");
	for (int i = 0; i < 3; i++)
		ok(image_is(o, snaps[i], ref), "snapshot %d image", i);
	/* An invalid snapshot is skipped; the others still copy. */
	ok_eq(snapcow_store_invalidate(snaps[1]), 0, "invalidate B");
	ok_eq(snapcow_origin_write(o->dev, snaps, 3, &one, 1, 200000, errbuf,
				   sizeof(errbuf)), 0,
	      "write with B invalid");
	ok(snapcow_store_lookup(snaps[0], 48, &nc) == 1 && nc == 3, "A 48");
	ok(snapcow_store_lookup(snaps[1], 3, &nc) == 0, "B untouched");
	ok(snapcow_store_lookup(snaps[2], 390, &nc) == 1 && nc == 3, "C 390");
	ok_eq(snapcow_snapshot_read(o->dev, snaps[1], &one, 1, 0, errbuf,
				    sizeof(errbuf)), -EIO,
	      "an invalid snapshot does not read");
out:
	for (int i = 0; i < 3; i++)
		snapcow_store_free(snaps[i]);
	free(ref);
	memdev_free(o);
	memdev_free(ca);
	memdev_free(cb);
	memdev_free(cc);
}

static void test_new_cow(void)
{
	/* An all-zero COW: the first copy formats it, as activation does. */
	struct memdev *o = origin_new(64 * KIB), *c = memdev_new(512 * KIB, "c");
	struct snapcow_store *s = load(c, 16, SNAPCOW_STORE_WRITE);
	struct snapcow_store *snaps[1] = { s };
	struct snapcow_store_info info;
	unsigned char b = 1;
	uint64_t nc;

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	ok_eq(snapcow_origin_write(o->dev, snaps, 1, &b, 1, 9000, errbuf,
				   sizeof(errbuf)), 0,
	      "write: %s", errbuf);
	ok(!memcmp(c->buf, "\x53\x6e\x41\x70\1\0\0\0\1\0\0\0\x10\0\0\0", 16),
	   "header written");
	ok(snapcow_store_lookup(s, 1, &nc) == 1 && nc == 2, "1 -> 2");
	ok(is_pattern(c->buf + 2 * 8192, 8192, 8192), "data");
	snapcow_store_free(s);
	s = load(c, 0, 0);
	ok(s != NULL, "reloads");
	if (!s)
		goto out;
	snapcow_store_get_info(s, &info);
	ok_eq(info.state, SNAPCOW_STATE_VALID, "valid");
	ok_eq(info.chunk_size, 16, "chunk size");
	ok_eq(info.exceptions, 1, "exception");
	snapcow_store_free(s);
out:
	memdev_free(o);
	memdev_free(c);
}

static void test_readonly_store(void)
{
	struct memdev *o = origin_new(64 * KIB), *c = formatted(512 * KIB, 8);
	struct snapcow_store *s = load(c, 0, 0);
	struct snapcow_store *snaps[1] = { s };
	unsigned char b = 1;

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	ok_eq(snapcow_origin_write(o->dev, snaps, 1, &b, 1, 100, errbuf,
				   sizeof(errbuf)), -EBADF,
	      "refused");
	ok(is_pattern(o->buf, 0, o->size), "origin untouched");
	ok_eq(snapcow_snapshot_write(o->dev, s, &b, 1, 100, errbuf,
				     sizeof(errbuf)), -EBADF,
	      "snapshot write refused");
	snapcow_store_free(s);
out:
	memdev_free(o);
	memdev_free(c);
}

/* --------------------------------------------------- snapshot I/O */

static void test_snapshot_read_pit(void)
{
	struct memdev *o = origin_new(64 * KIB), *c = formatted(512 * KIB, 8);
	struct snapcow_store *s = load(c, 8, SNAPCOW_STORE_WRITE);
	struct snapcow_store *snaps[1] = { s };
	unsigned char data[9000], back[20000];

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	memset(data, 0x11, sizeof(data));
	ok_eq(snapcow_origin_write(o->dev, snaps, 1, data, 9000, 4000, errbuf,
				   sizeof(errbuf)), 0,
	      "chunks 0..3");
	ok_eq(snapcow_origin_write(o->dev, snaps, 1, data, 1, 9 * 4096, errbuf,
				   sizeof(errbuf)), 0,
	      "chunk 9");
	/* Unaligned, across mapped and unmapped chunks. */
	ok_eq(snapcow_snapshot_read(o->dev, s, back, 20000, 3333, errbuf,
				    sizeof(errbuf)), 0, "read");
	ok(is_pattern(back, 3333, 20000), "point-in-time");
	ok_eq(snapcow_snapshot_read(o->dev, s, back, 1, 9 * 4096, errbuf,
				    sizeof(errbuf)), 0, "1 byte");
	ok(is_pattern(back, 9 * 4096, 1), "chunk 9");
	ok_eq(snapcow_snapshot_read(o->dev, s, back, 0, 64 * KIB, errbuf,
				    sizeof(errbuf)), 0,
	      "empty read at the end");
	ok(!is_pattern(o->buf + 4000, 4000, 1), "origin did change");
	snapcow_store_free(s);
out:
	memdev_free(o);
	memdev_free(c);
}

static void test_snapshot_write(void)
{
	struct memdev *o = origin_new(64 * KIB), *c = formatted(512 * KIB, 8);
	struct snapcow_store *s = load(c, 8, SNAPCOW_STORE_WRITE);
	struct snapcow_store_info info;
	unsigned char data[4096], back[4096];
	uint64_t nc, r0;

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	/* Partial: chunk 4 is copied from the origin, then patched. */
	memset(data, 0x77, sizeof(data));
	ok_eq(snapcow_snapshot_write(o->dev, s, data, 50, 4 * 4096 + 10, errbuf,
				     sizeof(errbuf)), 0,
	      "partial");
	ok(snapcow_store_lookup(s, 4, &nc) == 1 && nc == 2, "4 -> 2");
	ok(is_pattern(c->buf + 2 * 4096, 4 * 4096, 10) &&
	   all_bytes(c->buf + 2 * 4096 + 10, 50, 0x77) &&
	   is_pattern(c->buf + 2 * 4096 + 60, 4 * 4096 + 60, 4096 - 60),
	   "COW chunk: origin plus the patch");
	ok(is_pattern(o->buf, 0, o->size), "origin untouched");
	ok_eq(get_le(c->buf + 4096, 8), 4, "committed");
	/* Full chunk: no origin read needed. */
	r0 = memdev_reads(o);
	memset(data, 0x78, sizeof(data));
	ok_eq(snapcow_snapshot_write(o->dev, s, data, 4096, 7 * 4096, errbuf,
				     sizeof(errbuf)), 0,
	      "full chunk");
	ok_eq(memdev_reads(o), r0, "origin not read");
	ok(snapcow_store_lookup(s, 7, &nc) == 1 && nc == 3, "7 -> 3");
	ok(all_bytes(c->buf + 3 * 4096, 4096, 0x78), "COW chunk 3");
	/* Existing exception: written in place, nothing allocated. */
	memset(data, 0x79, sizeof(data));
	ok_eq(snapcow_snapshot_write(o->dev, s, data, 5, 4 * 4096 + 8, errbuf,
				     sizeof(errbuf)), 0,
	      "in place");
	snapcow_store_get_info(s, &info);
	ok_eq(info.next_free, 4, "nothing allocated");
	ok_eq(info.exceptions, 2, "two exceptions");
	ok(is_pattern(c->buf + 2 * 4096, 4 * 4096, 8) &&
	   all_bytes(c->buf + 2 * 4096 + 8, 5, 0x79) &&
	   all_bytes(c->buf + 2 * 4096 + 13, 47, 0x77), "patched again");
	ok_eq(snapcow_snapshot_read(o->dev, s, back, 4096, 4 * 4096, errbuf,
				    sizeof(errbuf)), 0,
	      "read");
	ok(!memcmp(back, c->buf + 2 * 4096, 4096), "reads the COW");
	/* Across chunks 8 and 9 from the middle of 8. */
	memset(data, 0x7a, sizeof(data));
	ok_eq(snapcow_snapshot_write(o->dev, s, data, 4096, 8 * 4096 + 2048,
				     errbuf, sizeof(errbuf)),
	      0, "two chunks");
	ok(snapcow_store_lookup(s, 8, &nc) == 1 && nc == 4, "8 -> 4");
	ok(snapcow_store_lookup(s, 9, &nc) == 1 && nc == 5, "9 -> 5");
	ok(is_pattern(c->buf + 4 * 4096, 8 * 4096, 2048) &&
	   all_bytes(c->buf + 4 * 4096 + 2048, 4096, 0x7a) &&
	   is_pattern(c->buf + 5 * 4096 + 2048, 9 * 4096 + 2048, 2048),
	   "both halves");
	ok(is_pattern(o->buf, 0, o->size), "origin still untouched");
	snapcow_store_free(s);
out:
	memdev_free(o);
	memdev_free(c);
}

/* ---------------------------------------------------------- overflow */

static void test_overflow_origin_invalidates(void)
{
	/* 4 chunks of 4 KiB: header, area, data chunks 2 and 3. */
	struct memdev *o = origin_new(64 * KIB), *c = formatted(16 * KIB, 8);
	struct snapcow_store *s = load(c, 8, SNAPCOW_STORE_WRITE);
	struct snapcow_store *snaps[1] = { s };
	unsigned char b = 0x55;

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	ok_eq(snapcow_origin_write(o->dev, snaps, 1, &b, 1, 0, errbuf,
				   sizeof(errbuf)), 0, "chunk 0");
	ok_eq(snapcow_origin_write(o->dev, snaps, 1, &b, 1, 4096, errbuf,
				   sizeof(errbuf)), 0,
	      "chunk 1");
	ok(snapcow_store_valid(s), "still valid");
	ok_eq(snapcow_origin_write(o->dev, snaps, 1, &b, 1, 8192, errbuf,
				   sizeof(errbuf)), 0,
	      "chunk 2: the origin write goes on");
	ok(!snapcow_store_valid(s), "invalidated");
	ok_eq(o->buf[8192], 0x55, "origin written");
	ok_eq(get_le(c->buf + 4, 4), 0, "valid 0 on disk");
	ok_eq(snapcow_snapshot_read(o->dev, s, &b, 1, 0, errbuf,
				    sizeof(errbuf)), -EIO, "no reads");
	ok_eq(snapcow_origin_write(o->dev, snaps, 1, &b, 1, 12288, errbuf,
				   sizeof(errbuf)), 0,
	      "later writes skip it");
	snapcow_store_free(s);
out:
	memdev_free(o);
	memdev_free(c);
}

static void test_overflow_snapshot_write(void)
{
	static const unsigned int flags[2] = {
		SNAPCOW_STORE_WRITE | SNAPCOW_STORE_OVERFLOW,
		SNAPCOW_STORE_WRITE,
	};

	for (int i = 0; i < 2; i++) {
		struct memdev *o = origin_new(64 * KIB);
		struct memdev *c = formatted(16 * KIB, 8);
		struct snapcow_store *s = load(c, 8, flags[i]);
		unsigned char b = 0x66;
		uint64_t nc;

		ok(s != NULL, "loads");
		if (!s)
			goto next;
		ok_eq(snapcow_snapshot_write(o->dev, s, &b, 1, 0, errbuf,
					     sizeof(errbuf)), 0, "0");
		ok_eq(snapcow_snapshot_write(o->dev, s, &b, 1, 4096, errbuf,
					     sizeof(errbuf)), 0, "1");
		ok_eq(snapcow_snapshot_write(o->dev, s, &b, 1, 8192, errbuf,
					     sizeof(errbuf)), -ENOSPC,
		      "%s: full", i ? "P" : "PO");
		ok(snapcow_store_valid(s) == !i, "%s: %s", i ? "P" : "PO",
		   i ? "invalidated" : "still valid");
		/* The message says the snapshot is gone, and only then. */
		ok(!strcmp(errbuf, i ?
			   "cow: COW is full: snapshot invalidated" :
			   "cow: COW is full"),
		   "%s: message \"%s\"", i ? "P" : "PO", errbuf);
		ok_eq(get_le(c->buf + 4, 4), !i, "valid flag on disk");
		if (!i) {
			/* Existing exceptions still take writes. */
			ok_eq(snapcow_snapshot_write(o->dev, s, &b, 1, 4097,
						     errbuf, sizeof(errbuf)),
			      0, "PO: in place");
			ok(snapcow_store_lookup(s, 1, &nc) == 1 && nc == 3,
			   "1 -> 3");
			ok_eq(c->buf[3 * 4096 + 1], 0x66, "written");
		}
		ok(is_pattern(o->buf, 0, o->size), "origin untouched");
		snapcow_store_free(s);
next:
		memdev_free(o);
		memdev_free(c);
	}
}

/* ------------------------------------------------------------ export */

static void test_export(void)
{
	uint64_t size = 100 * KIB + 512;
	struct memdev *o = origin_new(size), *c = formatted(512 * KIB, 8);
	struct memdev *out = memdev_new(size, "out");
	struct memdev *small = memdev_new(size - 512, "small");
	struct snapcow_store *s = load(c, 8, SNAPCOW_STORE_WRITE);
	struct snapcow_store *snaps[1] = { s };
	unsigned char *ref = malloc(size), data[5000];
	struct prng rng;

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	memcpy(ref, o->buf, size);
	prng_seed(&rng, 42);
	for (int i = 0; i < 40; i++) {
		uint64_t len = 1 + prng_below(&rng, sizeof(data));
		uint64_t off = prng_below(&rng, size - len + 1);

		prng_fill(&rng, data, len);
		if (i % 3) {
			ok_eq(snapcow_origin_write(o->dev, snaps, 1, data, len,
						   off, errbuf, sizeof(errbuf)),
			      0, "origin write");
		} else {
			ok_eq(snapcow_snapshot_write(o->dev, s, data, len, off,
						     errbuf, sizeof(errbuf)),
			      0, "snapshot write");
			memcpy(ref + off, data, len);
		}
	}
	ok_eq(snapcow_export(o->dev, s, out->dev, 0, NULL, NULL, errbuf,
			     sizeof(errbuf)), 0, "export: %s",
	      errbuf);
	ok(!memcmp(out->buf, ref, size), "image equals the reference");
	ok_eq(snapcow_export(o->dev, s, small->dev, 0, NULL, NULL, errbuf,
			     sizeof(errbuf)), -ENOSPC,
	      "output too small");
	ok(all_bytes(small->buf, small->size, 0), "nothing written to it");
	snapcow_store_free(s);
out:
	free(ref);
	memdev_free(o);
	memdev_free(c);
	memdev_free(out);
	memdev_free(small);
}

/* ---------------------------------------------------- random model */

#define MODEL_SNAPS 3

struct model_snap {
	struct memdev *cow;
	struct snapcow_store *s;
	uint32_t cs;
	bool active;
	unsigned char *ref;	/* the snapshot's image */
	unsigned char *must;	/* chunks that must have an exception */
};

static struct snapcow_store *model_load(struct model_snap *m)
{
	struct snapcow_store *s = load(m->cow, m->cs, SNAPCOW_STORE_WRITE);

	if (!s)
		abort();
	return s;
}

static void model_mark(struct model_snap *m, uint64_t off, uint64_t len)
{
	uint64_t cb = m->cs * 512u;

	for (uint64_t c = off / cb; c <= (off + len - 1) / cb; c++)
		m->must[c] = 1;
}

struct order_check {
	uint64_t epa, prev, n;
	bool bad;
};

static int check_order(void *ctx, const struct snapcow_record_pos *rec)
{
	struct order_check *oc = ctx;
	uint64_t expect = oc->prev + 1;

	/* Committed in allocation order: +1, or +2 over an area. */
	if (expect % (oc->epa + 1) == 1)
		expect++;
	if (rec->new_chunk != expect)
		oc->bad = true;
	oc->prev = rec->new_chunk;
	oc->n++;
	return 0;
}

static void model_verify(struct memdev *o, struct model_snap *m, int k,
			 const char *when)
{
	struct snapcow_store_info info;
	struct order_check oc;
	uint64_t need = 0, cb = m->cs * 512u;
	uint64_t chunks = (o->size + cb - 1) / cb, nc;
	uint64_t missing = 0;

	snapcow_store_get_info(m->s, &info);
	for (uint64_t c = 0; c < chunks; c++) {
		need += m->must[c];
		if (m->must[c] && snapcow_store_lookup(m->s, c, &nc) != 1)
			missing++;
	}
	ok(image_is(o, m->s, m->ref), "%s: snapshot %d image", when, k);
	ok_eq(info.exceptions, need, "%s: snapshot %d exceptions", when, k);
	ok_eq(missing, 0, "%s: snapshot %d chunks without exception", when,
	      k);
	oc = (struct order_check){ info.exceptions_per_area, 1, 0, false };
	snapcow_store_foreach_record(m->s, false, check_order, &oc);
	ok(!oc.bad, "%s: snapshot %d in allocation order", when, k);
	ok_eq(oc.n, need, "%s: snapshot %d records", when, k);
	ok_eq(info.next_free, oc.n ? oc.prev + 1 +
	      ((oc.prev + 1) % (info.exceptions_per_area + 1) == 1) : 2,
	      "%s: snapshot %d next free", when, k);
}

static void test_random_model(void)
{
	/* Not a whole number of 8 KiB chunks: a short last chunk. */
	const uint64_t size = 300 * KIB + 1536;
	static const uint32_t css[MODEL_SNAPS] = { 1, 8, 16 };
	struct memdev *o = origin_new(size);
	struct model_snap ms[MODEL_SNAPS];
	unsigned char *data = malloc(3 * 8192), *back = malloc(3 * 8192);
	unsigned char *oref = malloc(size);
	struct prng rng;
	uint64_t ops = 0, owrites = 0, swrites = 0, reads = 0, reloads = 0;
	int bad = 0;

	prng_seed(&rng, 20240601);
	memcpy(oref, o->buf, size);
	for (int k = 0; k < MODEL_SNAPS; k++) {
		uint64_t chunks = size / (css[k] * 512u) + 1;
		uint64_t epa = css[k] * 512u / 16;
		uint64_t cow = (chunks + chunks / epa + 8) * css[k] * 512u;

		ms[k].cs = css[k];
		/* Snapshot 0 is formatted; 1 and 2 start as new COWs. */
		ms[k].cow = k ? memdev_new(cow, "cow") : formatted(cow, css[k]);
		ms[k].s = NULL;
		ms[k].active = false;
		ms[k].ref = malloc(size);
		ms[k].must = calloc(chunks, 1);
	}
	for (uint64_t i = 0; i < 6000 && !bad; i++) {
		struct snapcow_store *act[MODEL_SNAPS];
		unsigned int nact = 0;
		uint64_t kind = prng_below(&rng, 100), len, off;
		int k, r;

		/* Snapshots are taken at ops 0, 0 and 2000. */
		for (k = 0; k < MODEL_SNAPS; k++) {
			if (ms[k].active || (k == 2 && i < 2000))
				continue;
			ms[k].s = model_load(&ms[k]);
			ms[k].active = true;
			memcpy(ms[k].ref, oref, size);
		}
		for (k = 0; k < MODEL_SNAPS; k++)
			if (ms[k].active)
				act[nact++] = ms[k].s;
		len = 1 + prng_below(&rng, prng_below(&rng, 4) ? 600 :
					     3 * 8192);
		off = prng_below(&rng, size - len + 1);
		if (prng_below(&rng, 4) == 0)
			off -= off % 512;
		/* The active snapshots are always the first nact. */
		k = (int)prng_below(&rng, nact);
		ops++;
		if (kind < 50) {
			prng_fill(&rng, data, len);
			r = snapcow_origin_write(o->dev, act, nact, data, len,
						 off, errbuf, sizeof(errbuf));
			if (r) {
				ok(0, "op %llu: origin write: %s",
				   (unsigned long long)i,
				   errbuf);
				bad = 1;
			}
			memcpy(oref + off, data, len);
			for (k = 0; k < (int)nact; k++)
				model_mark(&ms[k], off, len);
			owrites++;
		} else if (kind < 80) {
			prng_fill(&rng, data, len);
			r = snapcow_snapshot_write(o->dev, ms[k].s, data, len,
						   off, errbuf, sizeof(errbuf));
			if (r) {
				ok(0, "op %llu: snapshot write: %s",
				   (unsigned long long)i,
				   errbuf);
				bad = 1;
			}
			memcpy(ms[k].ref + off, data, len);
			model_mark(&ms[k], off, len);
			swrites++;
		} else if (kind < 97) {
			r = snapcow_snapshot_read(o->dev, ms[k].s, back, len,
						  off, errbuf, sizeof(errbuf));
			if (r || memcmp(back, ms[k].ref + off, len)) {
				ok(0, "op %llu: snapshot %d read %llu+%llu",
				   (unsigned long long)i, k,
				   (unsigned long long)off,
				   (unsigned long long)len);
				bad = 1;
			}
			reads++;
		} else {
			/* What is on disk must be all there is. */
			snapcow_store_free(ms[k].s);
			ms[k].s = model_load(&ms[k]);
			reloads++;
		}
	}
	ok(!memcmp(o->buf, oref, size), "origin equals its reference");
	printf("# %llu ops: %llu origin writes, %llu snapshot writes, "
	       "%llu reads, %llu reloads\n", (unsigned long long)ops,
	       (unsigned long long)owrites, (unsigned long long)swrites,
	       (unsigned long long)reads, (unsigned long long)reloads);
	for (int k = 0; k < MODEL_SNAPS; k++) {
		struct memdev *out = memdev_new(size, "out");
		struct snapcow_store_info info;

		if (!ms[k].active) {
			ok(bad, "snapshot %d was never taken", k);
			goto free_snap;
		}
		model_verify(o, &ms[k], k, "in memory");
		snapcow_store_free(ms[k].s);
		ms[k].s = load(ms[k].cow, 0, 0);
		ok(ms[k].s != NULL, "reload %d", k);
		if (!ms[k].s)
			abort();
		snapcow_store_get_info(ms[k].s, &info);
		ok(info.areas > 1 || k, "snapshot %d crossed areas (%llu)", k,
		   (unsigned long long)info.areas);
		model_verify(o, &ms[k], k, "reloaded");
		ok_eq(snapcow_export(o->dev, ms[k].s, out->dev, 0, NULL, NULL,
				     errbuf, sizeof(errbuf)), 0,
		      "export %d", k);
		ok(!memcmp(out->buf, ms[k].ref, size), "export %d", k);
		snapcow_store_free(ms[k].s);
free_snap:
		memdev_free(out);
		memdev_free(ms[k].cow);
		free(ms[k].ref);
		free(ms[k].must);
	}
	free(data);
	free(back);
	free(oref);
	memdev_free(o);
}

/*
 * Power loss on the COW after any write during origin writes: the origin
 * is never overwritten before its old data is durably recorded, so the
 * reloaded snapshot image is always the original origin.
 */
static void run_crash_sequence(struct memdev *o, struct memdev *cow,
			       struct memdev *cow2, uint64_t seed)
{
	struct snapcow_store *snaps[2] = {
		load(cow, 0, SNAPCOW_STORE_WRITE),
		load(cow2, 0, SNAPCOW_STORE_WRITE),
	};
	unsigned char data[3000];
	struct prng rng;

	prng_seed(&rng, seed);
	for (int i = 0; i < 40 && snaps[0] && snaps[1]; i++) {
		uint64_t len = 1 + prng_below(&rng, sizeof(data));
		uint64_t off = prng_below(&rng, o->size - len + 1);

		prng_fill(&rng, data, len);
		if (snapcow_origin_write(o->dev, snaps, 2, data, len, off,
					 errbuf, sizeof(errbuf)))
			break;
	}
	snapcow_store_free(snaps[0]);
	snapcow_store_free(snaps[1]);
}

static void test_crash_model(void)
{
	const uint64_t size = 48 * KIB;
	struct memdev *o0 = origin_new(size);
	struct memdev *base = formatted(200 * KIB, 1);
	struct memdev *base2 = formatted(200 * KIB, 8);
	struct memdev *o, *c, *c2;
	uint64_t total, n, bad = 0;

	o = memdev_clone(o0, "origin");
	c = memdev_clone(base, "cow");
	c2 = memdev_clone(base2, "cow2");
	run_crash_sequence(o, c, c2, 7);
	total = memdev_writes(c);
	ok(total > 50, "COW writes: %llu", (unsigned long long)total);
	memdev_free(o);
	memdev_free(c);
	memdev_free(c2);
	for (n = 0; n <= total; n++) {
		struct snapcow_store *s, *s2;

		o = memdev_clone(o0, "origin");
		c = memdev_clone(base, "cow");
		c2 = memdev_clone(base2, "cow2");
		snapcow_dev_inject_fault(c->dev, SNAPCOW_FAULT_CRASH, n);
		run_crash_sequence(o, c, c2, 7);
		memdev_reopen(c, false);
		s = load(c, 0, 0);
		s2 = load(c2, 0, 0);
		if (!s || !s2 || !image_is(o, s, o0->buf) ||
		    !image_is(o, s2, o0->buf)) {
			ok(0, "crash after COW write %llu",
			   (unsigned long long)n);
			bad++;
		}
		snapcow_store_free(s);
		snapcow_store_free(s2);
		memdev_free(o);
		memdev_free(c);
		memdev_free(c2);
	}
	ok_eq(bad, 0, "crash points with a wrong snapshot image");
	memdev_free(o0);
	memdev_free(base);
	memdev_free(base2);
}

int main(void)
{
	plan(15);
	run(test_origin_write_copies);
	run(test_origin_write_order);
	run(test_origin_write_repeat);
	run(test_origin_write_partial);
	run(test_origin_last_partial_chunk);
	run(test_multiple_snapshots);
	run(test_new_cow);
	run(test_readonly_store);
	run(test_snapshot_read_pit);
	run(test_snapshot_write);
	run(test_overflow_origin_invalidates);
	run(test_overflow_snapshot_write);
	run(test_export);
	run(test_random_model);
	run(test_crash_model);
	return done();
}
