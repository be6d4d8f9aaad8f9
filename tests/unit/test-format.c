/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lib/format.c: on-disk encodings byte for byte and the area arithmetic,
 * with every expected number worked out by hand from the kernel's rules
 * (dm-snap-persistent.c), not from the library.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "snapcow.h"
#include "memdev.h"
#include "tap.h"

static void test_header_encode_bytes(void)
{
	static const unsigned char expect[16] = {
		0x53, 0x6e, 0x41, 0x70,		/* "SnAp" */
		0x01, 0x00, 0x00, 0x00,		/* valid */
		0x01, 0x00, 0x00, 0x00,		/* version */
		0x08, 0x00, 0x00, 0x00,		/* 8 sectors */
	};
	struct snapcow_header h = {
		.magic = SNAPCOW_MAGIC, .valid = 1, .version = 1,
		.chunk_size = 8,
	};
	unsigned char buf[32];

	memset(buf, 0xee, sizeof(buf));
	snapcow_header_encode(&h, buf);
	ok(!memcmp(buf, expect, 16), "header bytes");
	ok(all_bytes(buf + 16, 16, 0xee), "encode writes only 16 bytes");
	ok(!memcmp(buf, "SnAp", 4), "magic reads SnAp on disk");
}

static void test_header_encode_order(void)
{
	/* Distinct bytes in every field catch a swapped or big-endian one. */
	static const unsigned char expect[16] = {
		0x04, 0x03, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00,
		0xdd, 0xcc, 0xbb, 0xaa, 0x00, 0x00, 0x20, 0x00,
	};
	struct snapcow_header h = {
		.magic = 0x01020304, .valid = 0, .version = 0xaabbccdd,
		.chunk_size = 1u << 21,
	}, back;
	unsigned char buf[16];

	snapcow_header_encode(&h, buf);
	ok(!memcmp(buf, expect, 16), "field order and endianness");
	memset(&back, 0x55, sizeof(back));
	snapcow_header_decode(buf, &back);
	ok_eq(back.magic, 0x01020304, "magic");
	ok_eq(back.valid, 0, "valid");
	ok_eq(back.version, 0xaabbccddu, "version");
	ok_eq(back.chunk_size, 1u << 21, "chunk size");
}

static void test_header_decode(void)
{
	unsigned char buf[16] = {
		0x53, 0x6e, 0x41, 0x70, 0x00, 0x00, 0x00, 0x00,
		0x01, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
	};
	struct snapcow_header h;

	snapcow_header_decode(buf, &h);
	ok_eq(h.magic, SNAPCOW_MAGIC, "magic");
	ok_eq(h.valid, 0, "valid 0: invalidated");
	ok_eq(h.version, 1, "version");
	ok_eq(h.chunk_size, 128, "64 KiB chunks");
}

static void test_record_encode(void)
{
	unsigned char area[64];
	static const unsigned char expect[16] = {
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
		0x10, 0x0f, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 0x09,
	};
	struct snapcow_record r = {
		.old_chunk = UINT64_C(0x0102030405060708),
		.new_chunk = UINT64_C(0x090a0b0c0d0e0f10),
	};

	memset(area, 0xee, sizeof(area));
	snapcow_record_encode(area, 2, &r);
	ok(!memcmp(area + 32, expect, 16), "slot 2 at byte 32");
	ok(all_bytes(area, 32, 0xee), "slots 0 and 1 untouched");
	ok(all_bytes(area + 48, 16, 0xee), "slot 3 untouched");
}

static void test_record_decode(void)
{
	unsigned char area[48] = { 0 };
	struct snapcow_record r;

	put_le(area + 16, 8, 0);			/* old chunk 0 */
	put_le(area + 24, 8, 0xffffffffffffffffull);
	put_le(area + 32, 8, 258);
	put_le(area + 40, 8, 3);
	snapcow_record_decode(area, 1, &r);
	ok_eq(r.old_chunk, 0, "old chunk 0 is legal");
	ok_eq(r.new_chunk, UINT64_MAX, "all 64 bits");
	snapcow_record_decode(area, 2, &r);
	ok_eq(r.old_chunk, 258, "slot 2 old");
	ok_eq(r.new_chunk, 3, "slot 2 new");
	snapcow_record_decode(area, 0, &r);
	ok_eq(r.old_chunk, 0, "zero slot old");
	ok_eq(r.new_chunk, 0, "zero slot new: the list's end");
}

static void test_epa(void)
{
	ok_eq(snapcow_exceptions_per_area(1), 32, "512 B chunks");
	ok_eq(snapcow_exceptions_per_area(8), 256, "4 KiB chunks");
	ok_eq(snapcow_exceptions_per_area(16), 512, "8 KiB chunks");
	ok_eq(snapcow_exceptions_per_area(128), 4096, "64 KiB chunks");
	ok_eq(snapcow_exceptions_per_area(1024), 32768, "512 KiB chunks");
	ok_eq(snapcow_exceptions_per_area(1u << 21), 1u << 26,
	      "1 GiB chunks: no 32-bit overflow");
}

static void test_area_chunk(void)
{
	ok_eq(snapcow_area_chunk(8, 0), 1, "area 0");
	ok_eq(snapcow_area_chunk(8, 1), 258, "area 1");
	ok_eq(snapcow_area_chunk(8, 2), 515, "area 2");
	ok_eq(snapcow_area_chunk(1, 0), 1, "512 B: area 0");
	ok_eq(snapcow_area_chunk(1, 3), 100, "512 B: 1 + 3 * 33");
	ok_eq(snapcow_area_chunk(128, 1), 4098, "64 KiB: 1 + 4097");
	ok_eq(snapcow_area_chunk(1024, 2), 65539, "512 KiB: 1 + 2 * 32769");
	ok_eq(snapcow_area_chunk(8, UINT64_C(1) << 40),
	      1 + (UINT64_C(1) << 40) * 257, "64-bit area numbers");
}

static void test_chunk_is_metadata(void)
{
	static const struct {
		uint64_t chunk;
		bool meta;
	} cases[] = {
		{ 0, true }, { 1, true }, { 2, false }, { 257, false },
		{ 258, true }, { 259, false }, { 514, false }, { 515, true },
		{ 516, false }, { 772, true }, { 773, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		ok(snapcow_chunk_is_metadata(8, cases[i].chunk) ==
		   cases[i].meta, "4 KiB chunk %llu",
		   (unsigned long long)cases[i].chunk);
	/* 512-byte chunks: stride 33. */
	ok(snapcow_chunk_is_metadata(1, 34), "512 B chunk 34");
	ok(snapcow_chunk_is_metadata(1, 67), "512 B chunk 67");
	ok(!snapcow_chunk_is_metadata(1, 33), "512 B chunk 33");
	ok(!snapcow_chunk_is_metadata(1, 35), "512 B chunk 35");
	/* Counting by brute force over the first areas. */
	uint64_t n = 0;

	for (uint64_t c = 0; c < 1 + 4 * 257; c++)
		n += snapcow_chunk_is_metadata(8, c);
	ok_eq(n, 5, "header and areas 0..3 in chunks 0..1028");
}

static void test_chunk_area(void)
{
	ok_eq(snapcow_chunk_area(8, 2), 0, "first data chunk");
	ok_eq(snapcow_chunk_area(8, 257), 0, "last data chunk of area 0");
	ok_eq(snapcow_chunk_area(8, 259), 1, "first of area 1");
	ok_eq(snapcow_chunk_area(8, 514), 1, "last of area 1");
	ok_eq(snapcow_chunk_area(8, 516), 2, "first of area 2");
	ok_eq(snapcow_chunk_area(1, 35), 1, "512 B chunks");
}

/*
 * Worked out by hand, and seen in the kernel (kernel-invalid.bats): 512-byte
 * chunks hold 32 records an area.  34 chunks: header, area 0, data 2..33;
 * the 32nd exception fills area 0 and area 1 (chunk 34) cannot be zeroed,
 * so 31 fit.  35 chunks: area 1 is chunk 34, 32 fit.
 */
static void test_cow_capacity(void)
{
	ok_eq(snapcow_cow_capacity(1, 34 * 512), 31, "34 chunks: 31");
	ok_eq(snapcow_cow_capacity(1, 34 * 512 + 511), 31, "and a bit: 31");
	ok_eq(snapcow_cow_capacity(1, 35 * 512), 32, "35 chunks: 32");
	ok_eq(snapcow_cow_capacity(1, 36 * 512), 33, "36 chunks: 33");
	ok_eq(snapcow_cow_capacity(1, 33 * 512), 31, "33 chunks: 31");
	ok_eq(snapcow_cow_capacity(1, 3 * 512), 1, "3 chunks: 1");
	ok_eq(snapcow_cow_capacity(1, 2 * 512), 0, "2 chunks: none");
	ok_eq(snapcow_cow_capacity(1, 0), 0, "empty");
	/* 4 KiB: 256 a record area; 258 chunks hold 255, 259 hold 256. */
	ok_eq(snapcow_cow_capacity(8, 258 * 4096), 255, "258 x 4K: 255");
	ok_eq(snapcow_cow_capacity(8, 259 * 4096), 256, "259 x 4K: 256");
	ok_eq(snapcow_cow_capacity(8, 1 << 20), 254, "1 MiB: 254");
	ok_eq(snapcow_cow_capacity(8, 2 * 258 * 4096 - 4096), 2 * 256 - 1,
	      "two full areas, no third: 511");
}

static void test_chunk_size_check(void)
{
	const char *why = (const char *)1;

	ok_eq(snapcow_chunk_size_check(0, 512, &why), -EINVAL, "zero");
	ok(why && strstr(why, "zero"), "why: %s", why ? why : "(null)");
	ok_eq(snapcow_chunk_size_check(3, 512, &why), -EINVAL, "3");
	ok(why && strstr(why, "power of two"), "why: %s",
	   why ? why : "(null)");
	ok_eq(snapcow_chunk_size_check(24, 512, &why), -EINVAL, "24");
	ok_eq(snapcow_chunk_size_check(1u << 22, 512, &why), -EINVAL,
	      "2^22 sectors");
	ok(why && strstr(why, "limit"), "why: %s", why ? why : "(null)");
	ok_eq(snapcow_chunk_size_check(1u << 31, 512, &why), -EINVAL,
	      "2^31 sectors");
	ok_eq(snapcow_chunk_size_check(1u << 21, 512, &why), 0, "2^21");
	ok(why == NULL, "why cleared on success");
	ok_eq(snapcow_chunk_size_check(1, 512, &why), 0, "512 B, 512 B LBS");
	/* 4096-byte logical blocks: 8 sectors is the least. */
	ok_eq(snapcow_chunk_size_check(4, 4096, &why), -EINVAL, "2 KiB");
	ok(why && strstr(why, "block size"), "why: %s",
	   why ? why : "(null)");
	ok_eq(snapcow_chunk_size_check(1, 4096, &why), -EINVAL, "512 B");
	ok_eq(snapcow_chunk_size_check(8, 4096, &why), 0, "4 KiB");
	ok_eq(snapcow_chunk_size_check(1024, 4096, &why), 0, "512 KiB");
	ok_eq(snapcow_chunk_size_check(8, 0, NULL), 0, "no block size, no why");
	ok_eq(snapcow_chunk_size_check(6, 0, NULL), -EINVAL, "NULL why");
}

static void test_chunk_extent(void)
{
	uint64_t off = 1, len = 1;

	ok_eq(snapcow_chunk_extent(8, 10 * 4096, 9, &off, &len), 0, "last");
	ok_eq(off, 9 * 4096, "its offset");
	ok_eq(len, 4096, "whole");
	ok_eq(snapcow_chunk_extent(8, 10 * 4096 + 100, 10, &off, &len), 0,
	      "short last chunk");
	ok_eq(off, 10 * 4096, "its offset");
	ok_eq(len, 100, "100 bytes");
	off = len = 7;
	ok_eq(snapcow_chunk_extent(8, 10 * 4096, 10, &off, &len), -ERANGE,
	      "past the end");
	ok(off == 7 && len == 7, "left alone");
	ok_eq(snapcow_chunk_extent(8, 0, 0, &off, &len), -ERANGE, "empty");
}

/*
 * The arithmetic of one chunk or area number, by hand: 4 KiB chunks
 * (8 sectors) have areas at chunks 1, 258, 515; 512-byte chunks at 1,
 * 34, 67, 100.
 */
#define CASE(fn, cs, arg, want, why) { fn, #fn, cs, arg, want, why }

static const struct {
	uint64_t (*fn)(uint32_t, uint64_t);
	const char *name;
	uint32_t cs;
	uint64_t arg, want;
	const char *why;
} arith[] = {
	CASE(snapcow_chunk_offset, 8, 0, 0, "chunk 0"),
	CASE(snapcow_chunk_offset, 8, 3, 3 * 4096, "4 KiB chunk 3"),
	CASE(snapcow_chunk_offset, 1, 35, 35 * 512, "512 B chunk 35"),
	CASE(snapcow_chunk_offset, 1u << 21, 5, UINT64_C(5) << 30,
	     "1 GiB chunks: 64-bit offsets"),
	CASE(snapcow_area_offset, 8, 0, 4096, "area 0: chunk 1"),
	CASE(snapcow_area_offset, 8, 1, 258 * 4096, "area 1: chunk 258"),
	CASE(snapcow_area_offset, 1, 3, 100 * 512, "512 B area 3: chunk 100"),
	/* persistent_prepare_exception's skip_metadata(). */
	CASE(snapcow_skip_metadata, 8, 2, 2, "2 stays"),
	CASE(snapcow_skip_metadata, 8, 257, 257, "257 stays"),
	CASE(snapcow_skip_metadata, 8, 258, 259, "area 1: 259"),
	CASE(snapcow_skip_metadata, 8, 515, 516, "area 2: 516"),
	CASE(snapcow_skip_metadata, 1, 34, 35, "512 B area 1: 35"),
	CASE(snapcow_skip_metadata, 8, 1, 2, "area 0: 2"),
	/* The kernel's test is chunk % stride == 1: chunk 0 stays. */
	CASE(snapcow_skip_metadata, 8, 0, 0, "0 stays"),
	CASE(snapcow_data_chunks_below, 8, 0, 0, "none"),
	CASE(snapcow_data_chunks_below, 8, 2, 0, "header and area 0"),
	CASE(snapcow_data_chunks_below, 8, 3, 1, "chunk 2"),
	CASE(snapcow_data_chunks_below, 8, 258, 256, "area 0's 256"),
	CASE(snapcow_data_chunks_below, 8, 259, 256, "and area 1"),
	CASE(snapcow_data_chunks_below, 8, 260, 257, "and chunk 259"),
	CASE(snapcow_data_chunks_below, 1, 35, 32, "512 B: 35 chunks"),
	CASE(snapcow_areas_on_device, 8, 1, 0, "header only"),
	CASE(snapcow_areas_on_device, 8, 2, 1, "area 0"),
	CASE(snapcow_areas_on_device, 8, 258, 1, "area 1 not yet"),
	CASE(snapcow_areas_on_device, 8, 259, 2, "area 1 at chunk 258"),
	CASE(snapcow_areas_on_device, 1, 100, 3, "512 B: 1, 34, 67"),
	CASE(snapcow_areas_on_device, 1, 101, 4, "and 100"),
	/* The kernel's status: (current_area + 2) * cs. */
	CASE(snapcow_metadata_sectors, 8, 0, 16, "area 0: 2 chunks"),
	CASE(snapcow_metadata_sectors, 8, 3, 40, "area 3: 5 chunks"),
	CASE(snapcow_metadata_sectors, 1, 0, 2, "512 B area 0"),
};

static void test_arithmetic(void)
{
	for (size_t i = 0; i < sizeof(arith) / sizeof(*arith); i++)
		ok_eq(arith[i].fn(arith[i].cs, arith[i].arg), arith[i].want,
		      "%s(%u, %llu): %s", arith[i].name, arith[i].cs,
		      (unsigned long long)arith[i].arg, arith[i].why);
}

static void test_data_chunks_counted(void)
{
	uint64_t n = 0;
	bool same = true;

	/* Brute force against snapcow_chunk_is_metadata. */
	for (uint64_t c = 0; c < 4 * 33 + 5; c++) {
		same &= snapcow_data_chunks_below(1, c) == n;
		n += !snapcow_chunk_is_metadata(1, c);
	}
	ok(same, "512 B: chunks 0..136 counted one by one");
}

static void test_cow_min_bytes(void)
{
	ok_eq(snapcow_cow_min_bytes(1), 3 * 512, "512 B: 3 chunks");
	ok_eq(snapcow_cow_min_bytes(8), 3 * 4096, "4 KiB: 3 chunks");
	ok_eq(snapcow_cow_capacity(8, snapcow_cow_min_bytes(8)), 1,
	      "holds one exception");
	ok_eq(snapcow_cow_capacity(8, snapcow_cow_min_bytes(8) - 1), 0,
	      "a byte less holds none");
}

static void test_header_read(void)
{
	struct memdev *m = memdev_new(4096, "cow");
	struct snapcow_header h;

	raw_header(m->buf, SNAPCOW_MAGIC, 1, 1, 8);
	memset(&h, 0x55, sizeof(h));
	ok_eq(snapcow_header_read(m->dev, &h), 0, "reads");
	ok(h.magic == SNAPCOW_MAGIC && h.valid == 1 && h.version == 1 &&
	   h.chunk_size == 8, "decoded");
	ok_eq(memdev_reads(m), 1, "one read");
	memdev_free(m);
	m = memdev_new(256, "tiny");
	ok_eq(snapcow_header_read(m->dev, &h), -ENOSPC, "256-byte device");
	ok(strstr(snapcow_dev_error(m->dev), "past the device end"),
	   "the device keeps the message: %s", snapcow_dev_error(m->dev));
	memdev_free(m);
}

int main(void)
{
	plan(16);
	run(test_header_encode_bytes);
	run(test_header_encode_order);
	run(test_header_decode);
	run(test_record_encode);
	run(test_record_decode);
	run(test_epa);
	run(test_area_chunk);
	run(test_chunk_is_metadata);
	run(test_chunk_area);
	run(test_cow_capacity);
	run(test_chunk_size_check);
	run(test_arithmetic);
	run(test_data_chunks_counted);
	run(test_chunk_extent);
	run(test_cow_min_bytes);
	run(test_header_read);
	return done();
}
