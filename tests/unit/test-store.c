/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lib/store.c and lib/store-write.c on memory devices: format, load, the
 * kernel's allocation and commit order, and what a crash after any write
 * leaves behind.  Images are built by hand (memdev.h writes bytes without
 * lib/format.c) and every expected number is worked out from the
 * kernel's rules in the comments.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "snapcow.h"
#include "store.h"
#include "memdev.h"
#include "tap.h"

#define KIB 1024u
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAGIC_BYTES "\x53\x6e\x41\x70"

static char errbuf[SNAPCOW_ERRBUF_SIZE];

static struct snapcow_store *load(struct memdev *m, uint32_t table_cs,
				  unsigned int flags)
{
	struct snapcow_store *s = NULL;
	int r;

	errbuf[0] = 0;
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

static int status_is(const struct snapcow_store *s, const char *expect)
{
	char line[128];

	if (snapcow_status_line(s, line, sizeof(line)) < 0)
		return 0;
	if (strcmp(line, expect)) {
		printf("# status \"%s\", expected \"%s\"\n", line, expect);
		return 0;
	}
	return 1;
}

/* alloc + add of one exception; data chunk gets @old's pattern. */
static int add_one(struct snapcow_store *s, struct memdev *m, uint64_t old,
		   uint64_t *newp)
{
	unsigned char chunk[512 * 8];
	uint32_t cs = snapcow_store_chunk_size(s);
	uint64_t new_chunk;
	int r;

	r = snapcow_store_alloc(s, &new_chunk);
	if (r)
		return r;
	memset(chunk, (int)(old & 0xff), sizeof(chunk));
	r = snapcow_dev_write(m->dev, chunk, cs * 512u, new_chunk * cs * 512u);
	if (r)
		return r;
	if (newp)
		*newp = new_chunk;
	return snapcow_store_add(s, old, new_chunk);
}

/* ------------------------------------------------------------ format */

static void test_format_bytes(void)
{
	struct memdev *m = memdev_new(1024 * KIB, "cow");
	struct snapcow_dev_stats st;
	int r;

	memset(m->buf, 0xaa, m->size);
	r = snapcow_store_format(m->dev, 8, errbuf, sizeof(errbuf));
	ok_eq(r, 0, "format: %s", errbuf);
	ok(!memcmp(m->buf, MAGIC_BYTES "\1\0\0\0\1\0\0\0\x08\0\0\0", 16),
	   "header bytes");
	ok(all_bytes(m->buf + 16, 4096 - 16, 0), "rest of chunk 0 zero");
	ok(all_bytes(m->buf + 4096, 4096, 0), "area 0 zeroed");
	ok(all_bytes(m->buf + 8192, m->size - 8192, 0xaa),
	   "data chunks untouched");
	snapcow_dev_get_stats(m->dev, &st);
	ok_eq(st.writes, 2, "header and area");
	ok_eq(st.bytes_written, 8192, "one chunk each");
	ok(st.flushes >= 2, "flushed");
	memdev_free(m);
}

static void test_format_refusals(void)
{
	struct memdev *m = memdev_new(3 * 4096 - 512, "small");

	memset(m->buf, 0x11, m->size);
	ok_eq(snapcow_store_format(m->dev, 8, errbuf, sizeof(errbuf)),
	      -ENOSPC, "two and a half chunks");
	ok(strstr(errbuf, "small"), "names the device: %s", errbuf);
	ok_eq(snapcow_store_format(m->dev, 3, errbuf, sizeof(errbuf)),
	      -EINVAL, "chunk size 3");
	ok(strstr(errbuf, "power of two"), "names the rule: %s", errbuf);
	ok_eq(snapcow_store_format(m->dev, 0, errbuf, sizeof(errbuf)),
	      -EINVAL, "chunk size 0");
	ok_eq(memdev_writes(m), 0, "nothing written");
	ok(all_bytes(m->buf, m->size, 0x11), "bytes unchanged");
	memdev_free(m);

	/* Exactly three chunks is enough: header, area, one data chunk. */
	m = memdev_new(3 * 4096, "three");
	ok_eq(snapcow_store_format(m->dev, 8, errbuf, sizeof(errbuf)), 0,
	      "three chunks: %s", errbuf);
	memdev_free(m);
}

/* -------------------------------------------------------------- load */

static void test_load_formatted(void)
{
	struct memdev *m = formatted(1024 * KIB, 8);
	struct snapcow_store_info info;
	struct snapcow_store *s = load(m, 8, 0);

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	snapcow_store_get_info(s, &info);
	ok_eq(info.state, SNAPCOW_STATE_VALID, "state");
	ok_eq(info.version, 1, "version");
	ok_eq(info.chunk_size, 8, "chunk size");
	ok_eq(info.exceptions_per_area, 256, "epa");
	ok_eq(info.exceptions, 0, "exceptions");
	ok_eq(info.areas, 1, "areas");
	ok_eq(info.current_area, 0, "current area");
	ok_eq(info.current_committed, 0, "committed");
	ok_eq(info.next_free, 2, "next free");
	ok_eq(info.cow_sectors, 2048, "1 MiB");
	ok_eq(info.sectors_allocated, 16, "2 * 8");
	ok_eq(info.metadata_sectors, 16, "(0 + 2) * 8");
	ok(snapcow_store_valid(s), "valid");
	ok(status_is(s, "16/2048 16"), "status line");
	ok_eq(memdev_writes(m), 2, "load writes nothing (2 from format)");
	snapcow_store_free(s);
out:
	memdev_free(m);
}

static void test_load_new(void)
{
	struct memdev *m = memdev_new(1024 * KIB, "new");
	struct snapcow_store_info info;
	struct snapcow_store *s;
	uint64_t c;

	/* Table chunk size 0 on a new COW: max(32, block size 512 >> 9). */
	s = load(m, 0, 0);
	ok(s != NULL, "loads");
	if (!s)
		goto out;
	snapcow_store_get_info(s, &info);
	ok_eq(info.state, SNAPCOW_STATE_NEW, "state");
	ok_eq(info.chunk_size, 32, "default chunk size");
	ok_eq(info.next_free, 2, "next free");
	ok_eq(info.version, 1, "version reported");
	ok_eq(info.exceptions, 0, "exceptions");
	ok_eq(info.sectors_allocated, 64, "2 * 32");
	ok_eq(info.metadata_sectors, 64, "(0 + 2) * 32");
	ok(status_is(s, "64/2048 64"), "status line");
	ok(snapcow_store_valid(s), "a new COW is not invalid");
	snapcow_store_free(s);

	/* Only the magic decides: junk elsewhere in chunk 0 and area 0. */
	raw_header(m->buf, 0, 0, 7, 99);
	raw_record(m->buf, 8, 1, 0, 5, 2);
	raw_record(m->buf, 8, 1, 1, 6, 3);
	memdev_reopen(m, true);
	s = load(m, 8, SNAPCOW_STORE_WRITE);
	ok(s != NULL, "loads with junk");
	if (!s)
		goto out;
	snapcow_store_get_info(s, &info);
	ok_eq(info.state, SNAPCOW_STATE_NEW, "magic 0 is new");
	ok_eq(info.chunk_size, 8, "table chunk size");
	ok_eq(info.exceptions, 0, "area 0 not read");
	ok_eq(memdev_reads(m), 1, "only the header was read");
	ok(snapcow_store_lookup(s, 5, &c) == 0, "no exception for 5");
	/* The first allocation formats it, as the kernel on activation. */
	ok_eq(snapcow_store_alloc(s, &c), 0, "alloc: %s",
	      snapcow_store_error(s));
	ok_eq(c, 2, "first chunk");
	ok(!memcmp(m->buf, MAGIC_BYTES "\1\0\0\0\1\0\0\0\x08\0\0\0", 16),
	   "header written");
	ok(all_bytes(m->buf + 16, 2 * 4096 - 16, 0),
	   "rest of chunk 0 and area 0 zeroed");
	snapcow_store_get_info(s, &info);
	ok_eq(info.state, SNAPCOW_STATE_VALID, "now valid");
	snapcow_store_free(s);
out:
	memdev_free(m);
}

static void test_load_bad_magic(void)
{
	static const uint32_t magics[] = {
		0x12345678, 0x536e4170 /* "pAnS": the magic byte-swapped */,
		0xffffffff, 1,
	};
	struct memdev *m = formatted(64 * KIB, 8);
	struct snapcow_store *s = (void *)1;

	for (size_t i = 0; i < sizeof(magics) / sizeof(*magics); i++) {
		put_le(m->buf, 4, magics[i]);
		errbuf[0] = 0;
		ok_eq(snapcow_store_load(m->dev, 0, 0, &s, errbuf,
					 sizeof(errbuf)), -ENXIO,
		      "magic 0x%08x", magics[i]);
		ok(s == NULL, "no store");
		ok(strstr(errbuf, "offset 0"), "message: %s", errbuf);
		ok(strstr(errbuf, "cow"), "names the device: %s", errbuf);
	}
	memdev_free(m);
}

static void test_load_version2(void)
{
	struct memdev *m = formatted(64 * KIB, 8);
	struct snapcow_store *s = (void *)1;

	put_le(m->buf + 8, 4, 2);
	ok_eq(snapcow_store_load(m->dev, 8, 0, &s, errbuf, sizeof(errbuf)),
	      -EINVAL, "version 2");
	ok(s == NULL, "no store");
	ok(strstr(errbuf, "version 2"), "message: %s", errbuf);
	put_le(m->buf + 8, 4, 0);
	ok_eq(snapcow_store_load(m->dev, 8, 0, &s, errbuf, sizeof(errbuf)),
	      -EINVAL, "version 0");
	memdev_free(m);
}

static void test_load_invalid(void)
{
	struct memdev *m = formatted(64 * KIB, 8);
	struct snapcow_store_info info;
	struct snapcow_store *s;
	uint64_t c;
	int visits = 0;

	put_le(m->buf + 4, 4, 0);
	raw_record(m->buf, 8, 1, 0, 5, 2);
	raw_record(m->buf, 8, 1, 1, 6, 3);
	memdev_reopen(m, true);
	s = load(m, 8, SNAPCOW_STORE_WRITE);
	ok(s != NULL, "loads");
	if (!s)
		goto out;
	snapcow_store_get_info(s, &info);
	ok_eq(info.state, SNAPCOW_STATE_INVALID, "state");
	ok_eq(info.exceptions, 0, "exceptions not read");
	ok_eq(memdev_reads(m), 1, "only the header was read");
	ok(!snapcow_store_valid(s), "not valid");
	ok(snapcow_store_lookup(s, 5, &c) == 0, "no lookup");
	ok(status_is(s, "Invalid"), "status line");
	ok_eq(snapcow_store_alloc(s, &c), -EIO, "no allocation");
	ok_eq(snapcow_store_add(s, 7, 4), -EIO, "no add");
	ok_eq(memdev_writes(m), 0, "nothing written");
	(void)visits;
	snapcow_store_free(s);
out:
	memdev_free(m);
}

static void test_chunk_size_header_wins(void)
{
	static const uint32_t tables[] = { 0, 8, 16, 32, 1 };
	struct memdev *m = formatted(256 * KIB, 16);
	struct snapcow_store_info info;
	struct snapcow_store *s;
	uint64_t c = 0;

	/* Area 0 of 8 KiB chunks is at byte 8192. */
	raw_record(m->buf, 16, 1, 0, 5, 2);
	for (size_t i = 0; i < sizeof(tables) / sizeof(*tables); i++) {
		s = load(m, tables[i], 0);
		ok(s != NULL, "table %u loads", tables[i]);
		if (!s)
			continue;
		snapcow_store_get_info(s, &info);
		ok_eq(info.chunk_size, 16, "table %u: header wins",
		      tables[i]);
		ok_eq(info.exceptions_per_area, 512, "epa of 8 KiB");
		ok_eq(info.exceptions, 1, "table %u: area read", tables[i]);
		ok(snapcow_store_lookup(s, 5, &c) == 1 && c == 2,
		   "table %u: 5 -> 2", tables[i]);
		ok_eq(info.next_free, 3, "next free");
		snapcow_store_free(s);
	}
	/* An invalid table chunk size is refused before reading. */
	s = (void *)1;
	ok_eq(snapcow_store_load(m->dev, 3, 0, &s, errbuf, sizeof(errbuf)),
	      -EINVAL, "table chunk size 3");
	ok(strstr(errbuf, "table"), "message: %s", errbuf);
	/* So is an invalid one in the header. */
	put_le(m->buf + 12, 4, 12);
	ok_eq(snapcow_store_load(m->dev, 8, 0, &s, errbuf, sizeof(errbuf)),
	      -EINVAL, "header chunk size 12");
	ok(strstr(errbuf, "header") && strstr(errbuf, "12"), "message: %s",
	   errbuf);
	memdev_free(m);
}

static void test_load_too_small(void)
{
	struct memdev *m = memdev_new(2 * 4096 - 512, "tiny");
	struct snapcow_store *s = (void *)1;

	ok_eq(snapcow_store_load(m->dev, 8, 0, &s, errbuf, sizeof(errbuf)),
	      -ENOSPC, "less than two chunks");
	ok(s == NULL, "no store");
	memdev_free(m);

	/*
	 * Four 4 KiB chunks: too small for two chunks of the default 16 KiB,
	 * but the header's chunk size is the one that counts.
	 */
	m = formatted(16 * KIB, 8);
	s = load(m, 0, 0);
	ok(s != NULL, "header chunk size decides: %s", errbuf);
	if (s)
		ok(status_is(s, "16/32 16"), "status");
	snapcow_store_free(s);
	/* A new COW needs room for the chunk size it will be given. */
	memset(m->buf, 0, m->size);
	s = (void *)1;
	ok_eq(snapcow_store_load(m->dev, 0, 0, &s, errbuf, sizeof(errbuf)),
	      -ENOSPC, "new, default 16 KiB chunks");
	ok(s == NULL, "no store");
	s = load(m, 8, 0);
	ok(s != NULL, "new, 4 KiB chunks from the table");
	snapcow_store_free(s);
	memdev_free(m);
}

static void test_load_readonly(void)
{
	struct memdev *m = formatted(64 * KIB, 8);
	struct snapcow_store *s = (void *)1;
	uint64_t c;

	memdev_reopen(m, false);
	ok_eq(snapcow_store_load(m->dev, 8, SNAPCOW_STORE_WRITE, &s, errbuf,
				 sizeof(errbuf)), -EBADF,
	      "write flag on a read-only device");
	s = load(m, 8, 0);
	ok(s != NULL, "read-only load");
	if (s) {
		ok_eq(snapcow_store_alloc(s, &c), -EBADF, "no alloc");
		ok_eq(snapcow_store_invalidate(s), -EBADF, "no invalidate");
		snapcow_store_free(s);
	}
	memdev_free(m);
}

/* --------------------------------------------------------- allocate */

static void test_alloc_skips_metadata(void)
{
	/* 512-byte chunks: epa 32, areas at 1, 34, 67, 100. */
	struct memdev *m = formatted(100 * 512, 1);
	struct snapcow_store *s = load(m, 1, SNAPCOW_STORE_WRITE);
	uint64_t expect = 2, c, n = 0;
	int r;

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	while ((r = snapcow_store_alloc(s, &c)) == 0) {
		if (expect % 33 == 1)
			expect++;
		ok_eq(c, expect, "allocation %llu", (unsigned long long)n);
		expect++;
		n++;
		if (n > 200)
			break;
	}
	ok_eq(r, -ENOSPC, "ends full");
	/* 2..33, 35..66, 68..99: (99 + 1) * 1 <= 100 sectors. */
	ok_eq(n, 96, "allocations");
	ok_eq(c, 99, "last chunk");
	ok(strstr(snapcow_store_error(s), "full"), "message: %s",
	   snapcow_store_error(s));
	ok(snapcow_store_valid(s), "alloc alone does not invalidate");
	ok_eq(memdev_writes(m), 2, "alloc writes nothing (2 from format)");
	snapcow_store_free(s);
out:
	memdev_free(m);
}

static void test_cow_full(void)
{
	/* 39 sectors: chunks 2 and 3 fit, (4 + 1) * 8 = 40 does not. */
	struct memdev *m = formatted(39 * 512, 8);
	struct snapcow_store *s = load(m, 8, SNAPCOW_STORE_WRITE);
	uint64_t c;

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	ok(status_is(s, "16/39 16"), "status of a partial last chunk");
	ok(snapcow_store_alloc(s, &c) == 0 && c == 2, "chunk 2");
	ok(snapcow_store_alloc(s, &c) == 0 && c == 3, "chunk 3");
	ok_eq(snapcow_store_alloc(s, &c), -ENOSPC, "full");
	ok_eq(snapcow_store_alloc(s, &c), -ENOSPC, "still full");
	snapcow_store_free(s);
	memdev_free(m);

	/* 40 sectors: chunk 4 fits exactly. */
	m = formatted(40 * 512, 8);
	s = load(m, 8, SNAPCOW_STORE_WRITE);
	ok(s != NULL, "loads");
	if (!s)
		goto out;
	ok(snapcow_store_alloc(s, &c) == 0 && c == 2, "chunk 2");
	ok(snapcow_store_alloc(s, &c) == 0 && c == 3, "chunk 3");
	ok(snapcow_store_alloc(s, &c) == 0 && c == 4, "chunk 4");
	ok_eq(snapcow_store_alloc(s, &c), -ENOSPC, "full");
	snapcow_store_free(s);
out:
	memdev_free(m);
}

/* ----------------------------------------------------------- commit */

static void test_add_commit_bytes(void)
{
	struct memdev *m = formatted(1024 * KIB, 8);
	struct snapcow_store *s = load(m, 8, SNAPCOW_STORE_WRITE);
	struct snapcow_store_info info;
	struct snapcow_dev_stats a, b;
	unsigned char expect[64] = { 0 };
	uint64_t c1, c2, c;

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	ok(snapcow_store_alloc(s, &c1) == 0 && c1 == 2, "chunk 2");
	ok_eq(snapcow_store_add(s, 100, c1), 0, "add 100");
	ok(snapcow_store_alloc(s, &c2) == 0 && c2 == 3, "chunk 3");
	ok_eq(snapcow_store_add(s, 0, c2), 0, "add 0 (legal)");
	ok_eq(memdev_writes(m), 2, "add writes nothing (2 from format)");
	ok(all_bytes(m->buf + 4096, 4096, 0), "area untouched before commit");
	snapcow_dev_get_stats(m->dev, &a);
	ok_eq(snapcow_store_commit(s), 0, "commit: %s",
	      snapcow_store_error(s));
	snapcow_dev_get_stats(m->dev, &b);
	ok_eq(b.writes - a.writes, 1, "one write");
	ok_eq(b.bytes_written - a.bytes_written, 4096, "the whole area");
	ok(b.flushes - a.flushes >= 2, "PREFLUSH and FUA");
	put_le(expect + 0, 8, 100);
	put_le(expect + 8, 8, 2);
	put_le(expect + 16, 8, 0);
	put_le(expect + 24, 8, 3);
	ok(!memcmp(m->buf + 4096, expect, 64), "record bytes at 4096");
	ok(all_bytes(m->buf + 4096 + 32, 4096 - 32, 0), "rest of area zero");
	ok(all_bytes(m->buf + 8192, m->size - 8192, 0), "data untouched");
	/* Nothing dirty: no write. */
	ok_eq(snapcow_store_commit(s), 0, "empty commit");
	ok_eq(memdev_writes(m), b.writes, "no write");
	ok(snapcow_store_lookup(s, 0, &c) == 1 && c == 3, "0 -> 3");
	ok(snapcow_store_lookup(s, 100, &c) == 1 && c == 2, "100 -> 2");
	ok_eq(snapcow_store_add(s, 100, 4), -EEXIST, "second exception");
	ok(strstr(snapcow_store_error(s), "already"), "message: %s",
	   snapcow_store_error(s));
	snapcow_store_get_info(s, &info);
	ok_eq(info.exceptions, 2, "refused add not counted");
	ok_eq(info.next_free, 4, "next free");
	ok(status_is(s, "32/2048 16"), "status 4*8/2048 (0+2)*8");
	snapcow_store_free(s);

	s = load(m, 0, 0);
	ok(s != NULL, "reloads");
	if (!s)
		goto out;
	snapcow_store_get_info(s, &info);
	ok_eq(info.exceptions, 2, "exceptions");
	ok_eq(info.current_committed, 2, "committed");
	ok_eq(info.next_free, 4, "next free");
	ok(snapcow_store_lookup(s, 0, &c) == 1 && c == 3, "0 -> 3");
	snapcow_store_free(s);
out:
	memdev_free(m);
}

static void test_fill_area_exactly(void)
{
	/* 512-byte chunks, epa 32; area 1 (chunk 34) holds junk first. */
	struct memdev *m = memdev_new(100 * 512, "cow");
	struct snapcow_store_info info;
	struct snapcow_store *s;
	uint64_t c, i;
	int r = 0;

	memset(m->buf + 34 * 512, 0xff, 512);
	ok_eq(snapcow_store_format(m->dev, 1, errbuf, sizeof(errbuf)), 0,
	      "format");
	s = load(m, 1, SNAPCOW_STORE_WRITE);
	ok(s != NULL, "loads");
	if (!s)
		goto out;
	for (i = 0; i < 31 && !r; i++) {
		r = add_one(s, m, 1000 + i, &c);
		if (!r)
			r = snapcow_store_commit(s);
	}
	ok_eq(r, 0, "31 exceptions: %s", snapcow_store_error(s));
	ok(all_bytes(m->buf + 34 * 512, 512, 0xff), "area 1 not yet zeroed");
	snapcow_store_get_info(s, &info);
	ok_eq(info.current_area, 0, "area 0");
	ok_eq(info.current_committed, 31, "31 committed");
	/* The 32nd fills the area: the add commits by itself. */
	ok_eq(add_one(s, m, 1031, &c), 0, "32nd: %s", snapcow_store_error(s));
	ok_eq(c, 33, "last data chunk of area 0");
	ok(all_bytes(m->buf + 34 * 512, 512, 0), "area 1 zeroed");
	ok_eq(get_le(m->buf + 512 + 31 * 16, 8), 1031, "slot 31 old");
	ok_eq(get_le(m->buf + 512 + 31 * 16 + 8, 8), 33, "slot 31 new");
	snapcow_store_get_info(s, &info);
	ok_eq(info.current_area, 1, "area 1");
	ok_eq(info.current_committed, 0, "empty");
	ok_eq(info.next_free, 35, "34 skipped");
	ok(status_is(s, "35/100 3"), "status (1 + 2) * 1");
	ok_eq(add_one(s, m, 2000, &c), 0, "next");
	ok_eq(c, 35, "first data chunk of area 1");
	ok_eq(snapcow_store_commit(s), 0, "commit");
	ok_eq(get_le(m->buf + 34 * 512, 8), 2000, "in area 1");
	snapcow_store_free(s);

	s = load(m, 0, 0);
	ok(s != NULL, "reloads");
	if (!s)
		goto out;
	snapcow_store_get_info(s, &info);
	ok_eq(info.exceptions, 33, "exceptions");
	ok_eq(info.areas, 2, "areas");
	ok_eq(info.current_area, 1, "current");
	ok_eq(info.current_committed, 1, "committed");
	ok_eq(info.next_free, 36, "next free");
	ok(status_is(s, "36/100 3"), "status");
	snapcow_store_free(s);
out:
	memdev_free(m);
}

/*
 * The full area must never reach the disk before the next area is zero:
 * with junk in every later area, fail exactly the write that zeroes
 * area 1 and look at what is left.
 */
static void test_fill_area_zero_fails(void)
{
	struct memdev *m = memdev_new(100 * 512, "cow");
	struct snapcow_store_info info;
	struct snapcow_store *s;
	uint64_t c, i, w;
	int r = 0;

	ok_eq(snapcow_store_format(m->dev, 1, errbuf, sizeof(errbuf)), 0,
	      "format");
	memset(m->buf + 34 * 512, 0xff, 512);
	memset(m->buf + 67 * 512, 0xff, 512);
	s = load(m, 1, SNAPCOW_STORE_WRITE);
	ok(s != NULL, "loads");
	if (!s)
		goto out;
	for (i = 0; i < 31 && !r; i++)
		r = add_one(s, m, 1000 + i, &c);
	if (!r)
		r = snapcow_store_commit(s);
	ok_eq(r, 0, "31 exceptions");
	/* Next: the data write, then the zeroing, then the area. */
	w = memdev_writes(m);
	snapcow_dev_inject_fault(m->dev, SNAPCOW_FAULT_FAIL, w + 2);
	r = add_one(s, m, 1031, &c);
	ok_eq(r, -EIO, "zeroing fails");
	ok(strstr(snapcow_store_error(s), "injected"), "message: %s",
	   snapcow_store_error(s));
	ok_eq(get_le(m->buf + 512 + 31 * 16 + 8, 8), 0,
	      "full area not written");
	ok(all_bytes(m->buf + 34 * 512, 512, 0xff), "area 1 as it was");
	/* A retry finishes the job (the failure was one write). */
	ok_eq(snapcow_store_commit(s), 0, "retry: %s",
	      snapcow_store_error(s));
	ok(all_bytes(m->buf + 34 * 512, 512, 0), "area 1 zeroed");
	ok_eq(get_le(m->buf + 512 + 31 * 16 + 8, 8), 33, "slot 31 written");
	snapcow_store_get_info(s, &info);
	ok_eq(info.current_area, 1, "moved on");
	snapcow_store_free(s);
out:
	memdev_free(m);
}

/* An add after a failed full-area commit must not overrun the area. */
static void test_add_after_failed_commit(void)
{
	struct memdev *m = formatted(100 * 512, 1);
	struct snapcow_store_info info;
	struct snapcow_store *s = load(m, 1, SNAPCOW_STORE_WRITE);
	uint64_t c, i, w;
	int r = 0;

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	for (i = 0; i < 31 && !r; i++)
		r = add_one(s, m, 1000 + i, &c);
	ok_eq(r, 0, "31 exceptions");
	w = memdev_writes(m);
	/* Data write w+1, zeroing w+2, area w+3: fail the area. */
	snapcow_dev_inject_fault(m->dev, SNAPCOW_FAULT_FAIL, w + 3);
	ok_eq(add_one(s, m, 1031, &c), -EIO, "area write fails");
	ok_eq(add_one(s, m, 1032, &c), 0, "next add: %s",
	      snapcow_store_error(s));
	ok_eq(snapcow_store_commit(s), 0, "commit");
	snapcow_store_free(s);
	s = load(m, 1, 0);
	ok(s != NULL, "reloads");
	if (!s)
		goto out;
	snapcow_store_get_info(s, &info);
	ok_eq(info.exceptions, 33, "all three areas' worth");
	ok_eq(info.current_area, 1, "area 1");
	ok_eq(info.current_committed, 1, "one in area 1");
	ok(snapcow_store_lookup(s, 1032, &c) == 1 && c == 35, "1032 -> 35");
	snapcow_store_free(s);
out:
	memdev_free(m);
}

/* The sequence the crash test replays: 75 exceptions over 3 areas. */
#define CRASH_EXCEPTIONS 75

static uint64_t crash_old(uint64_t i)
{
	return (i * 37 + 11) % 1000;	/* distinct for i < 1000 */
}

/* Run the sequence until a write fails; returns the exceptions acked. */
static uint64_t crash_run(struct memdev *m, uint64_t *attempted)
{
	struct snapcow_store *s = load(m, 1, SNAPCOW_STORE_WRITE);
	uint64_t acked = 0, i, c;
	int r = 0;

	*attempted = 0;
	if (!s)
		return 0;
	for (i = 0; i < CRASH_EXCEPTIONS && !r; i++) {
		*attempted = i + 1;
		r = add_one(s, m, crash_old(i), &c);
		/* Commit after every other one: pending records too. */
		if (!r && (i % 2 || i == CRASH_EXCEPTIONS - 1))
			r = snapcow_store_commit(s);
		if (!r && (i % 2 || i == CRASH_EXCEPTIONS - 1 ||
			   (i + 1) % 32 == 0))
			acked = i + 1;
	}
	snapcow_store_free(s);
	return acked;
}

struct prefix_check {
	uint64_t n;
	bool bad;
};

static int check_prefix(void *ctx, const struct snapcow_record_pos *rec)
{
	struct prefix_check *pc = ctx;
	/* Allocation order: 2..33, 35..66, 68.. */
	uint64_t expect = 2 + (pc->n / 32) * 33 + pc->n % 32;

	if (rec->old_chunk != crash_old(pc->n) || rec->new_chunk != expect) {
		printf("# record %llu: %llu -> %llu, expected %llu -> %llu\n",
		       (unsigned long long)pc->n,
		       (unsigned long long)rec->old_chunk,
		       (unsigned long long)rec->new_chunk,
		       (unsigned long long)crash_old(pc->n),
		       (unsigned long long)expect);
		pc->bad = true;
	}
	pc->n++;
	return 0;
}

static void test_crash_after_every_write(void)
{
	struct memdev *base = memdev_new(120 * 512, "cow");
	struct memdev *m;
	uint64_t total, attempted, acked, n, bad = 0;

	ok_eq(snapcow_store_format(base->dev, 1, errbuf, sizeof(errbuf)), 0,
	      "format");
	/* Junk in every area but the first: a missing end is visible. */
	for (n = 1; n < 4; n++)
		memset(base->buf + (1 + n * 33) * 512, 0xa5, 512);
	m = memdev_clone(base, "cow");
	acked = crash_run(m, &attempted);
	ok_eq(acked, CRASH_EXCEPTIONS, "the whole run without faults");
	total = memdev_writes(m);
	memdev_free(m);
	/* data + area every other one + 2 zeroings: about 75 + 38 + 2. */
	ok(total > CRASH_EXCEPTIONS + 30, "writes: %llu",
	   (unsigned long long)total);

	for (n = 0; n <= total; n++) {
		struct snapcow_store_info info;
		struct prefix_check pc = { 0, false };
		struct snapcow_store *s;
		uint64_t i, c;

		m = memdev_clone(base, "cow");
		snapcow_dev_inject_fault(m->dev, SNAPCOW_FAULT_CRASH, n);
		acked = crash_run(m, &attempted);
		memdev_reopen(m, false);
		s = load(m, 0, 0);
		if (!s) {
			ok(0, "crash after write %llu: not loadable",
			   (unsigned long long)n);
			bad++;
			memdev_free(m);
			continue;
		}
		snapcow_store_get_info(s, &info);
		snapcow_store_foreach_record(s, false, check_prefix, &pc);
		ok(info.state == SNAPCOW_STATE_VALID, "crash %llu: valid",
		   (unsigned long long)n);
		ok(!pc.bad, "crash %llu: a prefix in allocation order",
		   (unsigned long long)n);
		ok(info.exceptions >= acked && info.exceptions <= attempted,
		   "crash %llu: %llu exceptions, acked %llu, attempted %llu",
		   (unsigned long long)n,
		   (unsigned long long)info.exceptions,
		   (unsigned long long)acked, (unsigned long long)attempted);
		/* Every exception found points at its data. */
		for (i = 0; i < info.exceptions; i++) {
			if (snapcow_store_lookup(s, crash_old(i), &c) != 1 ||
			    !all_bytes(m->buf + c * 512, 512,
				       crash_old(i) & 0xff)) {
				ok(0, "crash %llu: exception %llu data",
				   (unsigned long long)n,
				   (unsigned long long)i);
				bad++;
				break;
			}
		}
		if (pc.bad || info.exceptions < acked)
			bad++;
		snapcow_store_free(s);
		memdev_free(m);
	}
	ok_eq(bad, 0, "crash points that lost or invented exceptions");
	memdev_free(base);
}

static void test_full_area_no_room_invalidates(void)
{
	/* 34 chunks: area 0 and its 32 data chunks; no room for area 1. */
	struct memdev *m = formatted(34 * 512, 1);
	struct snapcow_store *s = load(m, 1, SNAPCOW_STORE_WRITE);
	uint64_t i, c;
	int r = 0;

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	for (i = 0; i < 31 && !r; i++)
		r = add_one(s, m, i, &c);
	ok_eq(r, 0, "31 fit");
	/* zero_disk_area(ps, 1) fails in the kernel: invalidated. */
	ok_eq(add_one(s, m, 31, &c), -ENOSPC, "32nd");
	ok_eq(c, 33, "was given the last chunk");
	ok(!snapcow_store_valid(s), "invalidated");
	ok_eq(get_le(m->buf + 4, 4), 0, "valid 0 on disk");
	ok_eq(get_le(m->buf + 512, 8 * 2), 0, "area 0 never written");
	snapcow_store_free(s);
out:
	memdev_free(m);
}

/* -------------------------------------------------------- invalidate */

static void test_invalidate(void)
{
	struct memdev *m = formatted(64 * KIB, 8);
	struct snapcow_store *s = load(m, 8, SNAPCOW_STORE_WRITE);
	struct snapcow_store_info info;
	unsigned char area[4096];
	uint64_t c;

	ok(s != NULL, "loads");
	if (!s)
		goto out;
	ok_eq(add_one(s, m, 9, &c), 0, "add");
	ok_eq(snapcow_store_commit(s), 0, "commit");
	memcpy(area, m->buf + 4096, sizeof(area));
	/* Junk after the header: write_header memsets the chunk. */
	memset(m->buf + 16, 0x5a, 4096 - 16);
	ok_eq(snapcow_store_invalidate(s), 0, "invalidate: %s",
	      snapcow_store_error(s));
	ok(!memcmp(m->buf, MAGIC_BYTES "\0\0\0\0\1\0\0\0\x08\0\0\0", 16),
	   "header with valid 0");
	ok(all_bytes(m->buf + 16, 4096 - 16, 0),
	   "rest of chunk 0 zero, as the kernel's write_header");
	ok(!memcmp(m->buf + 4096, area, sizeof(area)), "area 0 kept");
	ok(!snapcow_store_valid(s), "invalid in memory");
	ok(status_is(s, "Invalid"), "status");
	ok_eq(snapcow_store_alloc(s, &c), -EIO, "no alloc");
	snapcow_store_free(s);
	s = load(m, 8, 0);
	ok(s != NULL, "reloads");
	if (!s)
		goto out;
	snapcow_store_get_info(s, &info);
	ok_eq(info.state, SNAPCOW_STATE_INVALID, "invalid on disk");
	snapcow_store_free(s);
out:
	memdev_free(m);
}

/* ------------------------------------------------------------- dev */

static void test_dev_faults(void)
{
	struct memdev *m = memdev_new(4096, "faulty");
	unsigned char b[16];
	struct snapcow_dev_stats st;

	memset(b, 1, sizeof(b));
	/* FAIL: exactly the Nth write (counted from open) fails. */
	snapcow_dev_inject_fault(m->dev, SNAPCOW_FAULT_FAIL, 2);
	ok_eq(snapcow_dev_write(m->dev, b, 16, 0), 0, "write 1");
	memset(b, 2, sizeof(b));
	ok_eq(snapcow_dev_write(m->dev, b, 16, 16), -EIO, "write 2 fails");
	ok(strstr(snapcow_dev_error(m->dev), "injected failure") &&
	   strstr(snapcow_dev_error(m->dev), "offset 16"),
	   "message: %s", snapcow_dev_error(m->dev));
	ok(all_bytes(m->buf + 16, 16, 0), "failed write left no bytes");
	memset(b, 3, sizeof(b));
	ok_eq(snapcow_dev_write(m->dev, b, 16, 32), 0, "write 3");
	ok_eq(snapcow_dev_flush(m->dev), 0, "flush");
	ok(all_bytes(m->buf, 16, 1) && all_bytes(m->buf + 32, 16, 3),
	   "writes 1 and 3 landed");
	snapcow_dev_get_stats(m->dev, &st);
	ok_eq(st.writes, 2, "successful writes counted");
	ok_eq(st.bytes_written, 32, "bytes");
	memdev_free(m);

	/* CRASH: writes after the Nth are lost, and so are flushes. */
	m = memdev_new(4096, "crashy");
	snapcow_dev_inject_fault(m->dev, SNAPCOW_FAULT_CRASH, 1);
	ok_eq(snapcow_dev_flush(m->dev), 0, "flush before the crash");
	ok_eq(snapcow_dev_write(m->dev, b, 16, 0), 0, "write 1");
	ok_eq(snapcow_dev_flush(m->dev), 0, "flush after write 1");
	ok_eq(snapcow_dev_write(m->dev, b, 16, 16), -EIO, "write 2");
	ok(strstr(snapcow_dev_error(m->dev), "injected crash"), "message: %s",
	   snapcow_dev_error(m->dev));
	ok_eq(snapcow_dev_write(m->dev, b, 16, 32), -EIO, "write 3");
	ok_eq(snapcow_dev_flush(m->dev), -EIO, "flush after the crash");
	ok(all_bytes(m->buf + 16, 4096 - 16, 0), "only write 1 landed");
	snapcow_dev_inject_fault(m->dev, SNAPCOW_FAULT_NONE, 0);
	ok_eq(snapcow_dev_write(m->dev, b, 16, 48), 0, "fault cleared");
	ok_eq(snapcow_dev_flush(m->dev), 0, "flush");
	/* CRASH at 0: nothing gets through. */
	snapcow_dev_close(m->dev);
	snapcow_dev_open_memory(m->buf, m->size, true, "c0", &m->dev);
	snapcow_dev_inject_fault(m->dev, SNAPCOW_FAULT_CRASH, 0);
	ok_eq(snapcow_dev_write(m->dev, b, 16, 64), -EIO, "crash at 0");
	memdev_free(m);

	/* Range and read-only. */
	m = memdev_new(4096, "ranges");
	ok_eq(snapcow_dev_write(m->dev, b, 2, 4095), -ENOSPC, "past end");
	ok(strstr(snapcow_dev_error(m->dev), "past the device end"),
	   "message: %s", snapcow_dev_error(m->dev));
	ok_eq(snapcow_dev_read(m->dev, b, 2, 4095), -ENOSPC, "read past end");
	ok_eq(snapcow_dev_read(m->dev, b, 1, UINT64_MAX), -ENOSPC,
	      "no offset overflow");
	ok_eq(snapcow_dev_write(m->dev, b, 1, 4095), 0, "last byte");
	ok_eq(snapcow_dev_size(m->dev), 4096, "size");
	ok_eq(snapcow_dev_block_size(m->dev), 512, "block size");
	ok(!snapcow_dev_is_block(m->dev), "not a block device");
	memdev_reopen(m, false);
	ok_eq(snapcow_dev_write(m->dev, b, 1, 0), -EBADF, "read-only");
	ok(!snapcow_dev_is_writable(m->dev), "not writable");
	memdev_free(m);
}

static void test_dev_same(void)
{
	struct memdev *a = memdev_new(4096, "a"), *b = memdev_new(4096, "b");
	struct snapcow_dev *a2;

	snapcow_dev_open_memory(a->buf, a->size, false, "a2", &a2);
	ok(snapcow_dev_same(a->dev, a2), "one buffer");
	ok(!snapcow_dev_same(a->dev, b->dev), "two buffers");
	ok(!strcmp(snapcow_dev_name(a->dev), "a"), "name");
	snapcow_dev_close(a2);
	memdev_free(a);
	memdev_free(b);
}

/* ---------------------------------------------------- what load reads */

static void test_duplicates(void)
{
	struct memdev *m = formatted(100 * 512, 1);
	struct snapcow_store_info info;
	struct snapcow_store *s;
	uint64_t c = 0;

	raw_record(m->buf, 1, 1, 0, 5, 2);
	raw_record(m->buf, 1, 1, 1, 6, 3);
	raw_record(m->buf, 1, 1, 2, 5, 4);
	raw_record(m->buf, 1, 1, 3, 6, 9);
	raw_record(m->buf, 1, 1, 4, 7, 5);
	s = load(m, 1, 0);
	ok(s != NULL, "loads: the kernel accepts duplicates");
	if (!s)
		goto out;
	snapcow_store_get_info(s, &info);
	ok_eq(info.exceptions, 5, "records on the list");
	ok_eq(s->duplicates, 2, "duplicates counted");
	ok(snapcow_store_lookup(s, 5, &c) == 1 && c == 2, "first wins: %llu",
	   (unsigned long long)c);
	ok(snapcow_store_lookup(s, 6, &c) == 1 && c == 3, "first wins: %llu",
	   (unsigned long long)c);
	ok_eq(info.next_free, 10, "one past the highest, 9");
	snapcow_store_free(s);
out:
	memdev_free(m);
}

/*
 * The kernel's table merges (1001 -> 3) into the run (1000 -> 2) listed
 * before (1001 -> 30), so it serves the LATER record (kmodel.c;
 * seen on Linux 6.1 in tests/kernel/kernel-dup.bats).  The store must
 * serve it too, or export and merge would differ from the kernel.
 */
static void test_duplicates_later_wins(void)
{
	struct memdev *m = formatted(100 * 512, 1);
	struct snapcow_store_info info;
	struct snapcow_store *s;
	uint64_t c = 0;

	raw_record(m->buf, 1, 1, 0, 1000, 2);
	raw_record(m->buf, 1, 1, 1, 1001, 30);
	raw_record(m->buf, 1, 1, 2, 1001, 3);
	/* Another window, and an earlier-wins duplicate in window 0. */
	raw_record(m->buf, 1, 1, 3, 7, 4);
	raw_record(m->buf, 1, 1, 4, 9, 5);
	raw_record(m->buf, 1, 1, 5, 7, 6);
	s = load(m, 1, 0);
	ok(s != NULL, "loads");
	if (!s)
		goto out;
	snapcow_store_get_info(s, &info);
	ok_eq(s->duplicates, 2, "duplicates counted");
	ok(snapcow_store_lookup(s, 1001, &c) == 1 && c == 3,
	   "later wins, as the kernel: 1001 -> %llu", (unsigned long long)c);
	ok(snapcow_store_lookup(s, 1000, &c) == 1 && c == 2, "1000 -> 2");
	ok(snapcow_store_lookup(s, 7, &c) == 1 && c == 4,
	   "earlier wins: 7 -> %llu", (unsigned long long)c);
	ok(snapcow_store_lookup(s, 9, &c) == 1 && c == 5, "9 -> 5");
	ok_eq(info.next_free, 31, "one past the highest, 30");
	snapcow_store_free(s);
out:
	memdev_free(m);
}

struct visit {
	uint64_t n, live, dead;
	struct snapcow_record_pos recs[64];
};

static int visit_rec(void *ctx, const struct snapcow_record_pos *rec)
{
	struct visit *v = ctx;

	if (v->n < 64)
		v->recs[v->n] = *rec;
	v->n++;
	if (rec->past_end)
		v->dead++;
	else
		v->live++;
	return 0;
}

static void test_records_past_end(void)
{
	struct memdev *m = formatted(100 * 512, 1);
	struct snapcow_store_info info;
	struct snapcow_store *s;
	struct visit v;
	uint64_t c;

	raw_record(m->buf, 1, 1, 0, 7, 2);
	raw_record(m->buf, 1, 1, 1, 8, 3);
	/* slot 2: 0/0, the end; then junk the kernel never reads */
	raw_record(m->buf, 1, 1, 3, 9, 40);
	raw_record(m->buf, 1, 1, 4, 10, 5);
	s = load(m, 1, SNAPCOW_STORE_WRITE);
	ok(s != NULL, "loads");
	if (!s)
		goto out;
	snapcow_store_get_info(s, &info);
	ok_eq(info.exceptions, 2, "two live");
	ok_eq(info.current_committed, 2, "end at slot 2");
	ok_eq(info.next_free, 4, "junk does not move next_free");
	ok(snapcow_store_lookup(s, 9, &c) == 0, "9 not mapped");
	ok(snapcow_store_lookup(s, 8, &c) == 1 && c == 3, "8 -> 3");

	memset(&v, 0, sizeof(v));
	ok_eq(snapcow_store_foreach_record(s, false, visit_rec, &v), 0,
	      "walk");
	ok_eq(v.n, 2, "live records only");
	ok_eq(v.dead, 0, "none past the end");
	ok(v.recs[1].old_chunk == 8 && v.recs[1].new_chunk == 3 &&
	   v.recs[1].slot == 1 && v.recs[1].area == 0 &&
	   v.recs[1].offset == 512 + 16, "second record and position");

	memset(&v, 0, sizeof(v));
	ok_eq(snapcow_store_foreach_record(s, true, visit_rec, &v), 0,
	      "walk all slots");
	ok_eq(v.n, 32, "every slot of area 0");
	ok_eq(v.live, 2, "live");
	ok_eq(v.dead, 30, "past the end");
	ok(v.recs[2].past_end && v.recs[2].new_chunk == 0, "slot 2 the end");
	ok(v.recs[3].past_end && v.recs[3].old_chunk == 9 &&
	   v.recs[3].new_chunk == 40 && v.recs[3].offset == 512 + 48,
	   "slot 3 junk shown");
	ok(!v.recs[0].past_end && !v.recs[1].past_end, "0 and 1 live");

	/*
	 * The kernel keeps the area it read (junk included) and writes it
	 * back on the next commit, so the junk after the new record comes
	 * alive: snapcheck's business, but the library must do the same.
	 */
	ok_eq(snapcow_store_add(s, 11, 4), 0, "add at slot 2");
	ok_eq(snapcow_store_commit(s), 0, "commit");
	ok_eq(get_le(m->buf + 512 + 48 + 8, 8), 40, "slot 3 written back");
	snapcow_store_free(s);
	s = load(m, 1, 0);
	ok(s != NULL, "reloads");
	if (!s)
		goto out;
	snapcow_store_get_info(s, &info);
	ok_eq(info.exceptions, 5, "slots 0..4 live now");
	ok_eq(info.next_free, 41, "one past 40");
	snapcow_store_free(s);
out:
	memdev_free(m);
}

/* Load @m cut to @size bytes: the error, with the message in errbuf. */
static int load_cut(struct memdev *m, uint64_t size)
{
	struct snapcow_store *s = NULL;
	struct memdev *cut = memdev_new(size, "cut");
	int r;

	memcpy(cut->buf, m->buf, MIN(size, m->size));
	errbuf[0] = 0;
	r = snapcow_store_load(cut->dev, 0, 0, &s, errbuf, sizeof(errbuf));
	snapcow_store_free(s);
	memdev_free(cut);
	return r;
}

/*
 * A COW cut short, as the kernel (6.1) takes it: a metadata area the list
 * reaches that is not whole on the device fails the activation (EIO);
 * a record whose chunk lies past the end is served as EIO with
 * "allocated > total" in the status.  Every loader refuses both.
 */
static void test_cut_short(void)
{
	/* 34 chunks of 512 bytes: area 0 full, area 1 would be chunk 34. */
	struct memdev *m = formatted(34 * 512, 1);
	struct snapcow_store *s;
	uint64_t i;

	for (i = 0; i < 32; i++)
		raw_record(m->buf, 1, 1, i, 100 + i, 2 + i);
	ok_eq(load_cut(m, 34 * 512), -EIO, "area 1 not on the device");
	ok(!strcmp(errbuf, "cut: offset 17408: metadata area 1 (512 bytes) "
		   "ends past the device end (17408 bytes): the COW was cut "
		   "short; the kernel fails to activate it (reading its "
		   "metadata: EIO)"), "%s", errbuf);
	ok_eq(load_cut(m, 34 * 512 + 511), -EIO, "area 1 cut in half");
	ok(strstr(errbuf, "offset 17408: metadata area 1"), "%s", errbuf);

	/* Area 0 not full: the list ends there, its data are cut. */
	raw_record(m->buf, 1, 1, 31, 0, 0);
	ok_eq(load_cut(m, 30 * 512 + 100), -ERANGE, "data cut short");
	ok(!strcmp(errbuf, "cut: offset 960 (area 0 slot 28): record 128 -> "
		   "30: COW chunk 30 ends past the device end (15460 bytes, "
		   "30 whole chunks of 512 bytes): the COW was cut short or "
		   "the record is damaged; the kernel fails every read of "
		   "that chunk; run snapcheck"), "%s", errbuf);
	ok_eq(load_cut(m, 2 * 512), -ERANGE, "all data cut");
	ok(strstr(errbuf, "offset 512 (area 0 slot 0): record 100 -> 2:"),
	   "%s", errbuf);
	s = load(m, 1, 0);
	ok(s && status_is(s, "33/34 2"), "whole: loads");
	snapcow_store_free(s);
	/* Every cut either refuses or reports no more than the device. */
	for (i = 1024; i <= 34 * 512; i += 100) {
		struct memdev *cut = memdev_new(i, "cut");
		struct snapcow_store_info info;

		bool over = false;

		memcpy(cut->buf, m->buf, i);
		s = NULL;
		if (!snapcow_store_load(cut->dev, 0, 0, &s, errbuf,
					sizeof(errbuf))) {
			snapcow_store_get_info(s, &info);
			over = info.sectors_allocated > info.cow_sectors;
		}
		snapcow_store_free(s);
		memdev_free(cut);
		if (over)
			break;
	}
	ok(i > 34 * 512, "no cut loads with allocated > total (%llu)",
	   (unsigned long long)i);
	memdev_free(m);
}

static void test_multi_area_load(void)
{
	/* 70 records in the kernel's layout: 32 + 32 + 6. */
	struct memdev *m = formatted(120 * 512, 1);
	struct snapcow_store_info info;
	struct snapcow_store *s;
	uint64_t i, n = 0, c;

	for (i = 0; i < 70; i++) {
		uint64_t area = i / 32, slot = i % 32;
		uint64_t new_chunk = 2 + area * 33 + slot;

		raw_record(m->buf, 1, 1 + area * 33, slot, 500 - i, new_chunk);
	}
	/* Area 2 must end with a zero slot; make area 3 junk. */
	memset(m->buf + 100 * 512, 0x77, 512);
	s = load(m, 0, 0);
	ok(s != NULL, "loads");
	if (!s)
		goto out;
	snapcow_store_get_info(s, &info);
	ok_eq(info.exceptions, 70, "exceptions");
	ok_eq(info.areas, 3, "areas");
	ok_eq(info.current_area, 2, "current");
	ok_eq(info.current_committed, 6, "committed");
	/* Highest new chunk: 2 + 2 * 33 + 5 = 73. */
	ok_eq(info.next_free, 74, "next free");
	ok(status_is(s, "74/120 4"), "status (2 + 2) * 1");
	for (i = 0; i < 70; i++)
		n += snapcow_store_lookup(s, 500 - i, &c) == 1 &&
		     c == 2 + (i / 32) * 33 + i % 32;
	ok_eq(n, 70, "every mapping");
	snapcow_store_free(s);
out:
	memdev_free(m);
}

struct runs {
	uint64_t n;
	uint64_t v[8][3];
};

static int collect_run(void *ctx, uint64_t old_chunk, uint64_t new_chunk,
		       uint64_t count)
{
	struct runs *r = ctx;

	if (r->n < 8) {
		r->v[r->n][0] = old_chunk;
		r->v[r->n][1] = new_chunk;
		r->v[r->n][2] = count;
	}
	r->n++;
	return 0;
}

static void test_foreach_run(void)
{
	struct memdev *m = formatted(100 * 512, 1);
	struct snapcow_store *s;
	struct runs r = { 0 };

	raw_record(m->buf, 1, 1, 0, 20, 2);
	raw_record(m->buf, 1, 1, 1, 10, 3);
	raw_record(m->buf, 1, 1, 2, 11, 4);
	raw_record(m->buf, 1, 1, 3, 12, 5);
	s = load(m, 1, 0);
	ok(s != NULL, "loads");
	if (!s)
		goto out;
	ok_eq(snapcow_store_foreach_run(s, collect_run, &r), 0, "walk");
	ok_eq(r.n, 2, "two runs");
	ok(r.v[0][0] == 10 && r.v[0][1] == 3 && r.v[0][2] == 3, "10..12");
	ok(r.v[1][0] == 20 && r.v[1][1] == 2 && r.v[1][2] == 1, "20");
	snapcow_store_free(s);
out:
	memdev_free(m);
}

int main(void)
{
	plan(27);
	run(test_format_bytes);
	run(test_format_refusals);
	run(test_load_formatted);
	run(test_load_new);
	run(test_load_bad_magic);
	run(test_load_version2);
	run(test_load_invalid);
	run(test_chunk_size_header_wins);
	run(test_load_too_small);
	run(test_load_readonly);
	run(test_alloc_skips_metadata);
	run(test_cow_full);
	run(test_add_commit_bytes);
	run(test_fill_area_exactly);
	run(test_fill_area_zero_fails);
	run(test_add_after_failed_commit);
	run(test_crash_after_every_write);
	run(test_full_area_no_room_invalidates);
	run(test_invalidate);
	run(test_dev_faults);
	run(test_dev_same);
	run(test_duplicates);
	run(test_duplicates_later_wins);
	run(test_records_past_end);
	run(test_cut_short);
	run(test_multi_area_load);
	run(test_foreach_run);
	return done();
}
