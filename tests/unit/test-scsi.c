/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon/scsi*.c: every response byte, every sense, allocation-length
 * truncation, boundary LBAs, big disks and 4096-byte blocks, data spread
 * over several iovecs, and seeded random CDBs that must never touch
 * memory outside the iovecs (run it under ASan).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scsi.h"
#include "tap.h"

#define CDB(...)	((const uint8_t[]){ __VA_ARGS__ }), \
			sizeof((const uint8_t[]){ __VA_ARGS__ })
#define FILL		0xa5
#define BUF_SIZE	8192

static uint8_t data[BUF_SIZE];
static uint8_t sense[SCSI_SENSE_SIZE];
static struct scsi_io io;

static struct scsi_disk disk512(void)
{
	struct scsi_disk d = {
		.blocks = 0x200000,
		.block_size = 512,
		.max_xfer_blocks = 2048,
		.write_cache = true,
		.vendor = "SNAPCOW",
		.product = "snapcow origin",
		.revision = "0.1",
		.serial = "a1b2c3d4",
		.naa = { 0x60, 0x01, 0x40, 0x50, 0x11, 0x22, 0x33, 0x44,
			 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc },
		.granularity_blocks = 16,
	};
	return d;
}

/* Runs @cdb with one iovec of @len bytes over data[], pre-filled. */
static int run_len(const struct scsi_disk *d, const uint8_t *cdb,
		   size_t cdb_len, size_t len)
{
	struct iovec iov = { .iov_base = data, .iov_len = len };

	memset(data, FILL, sizeof(data));
	memset(sense, FILL, sizeof(sense));
	memset(&io, FILL, sizeof(io));
	return scsi_decode(d, cdb, cdb_len, &iov, 1, &io, sense);
}

static int exec(const struct scsi_disk *d, const uint8_t *cdb,
	       size_t cdb_len)
{
	return run_len(d, cdb, cdb_len, 4096);
}

static bool all_equal(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void expect_data(const void *want, size_t n, size_t iov_len,
			const char *what)
{
	ok_eq(io.kind, SCSI_IO_NONE, "%s: completed", what);
	ok_eq(io.data_in, n, "%s: data_in", what);
	ok(memcmp(data, want, n) == 0, "%s: bytes", what);
	for (size_t i = 0; i < n; i++)
		if (data[i] != ((const uint8_t *)want)[i]) {
			ok_eq(data[i], ((const uint8_t *)want)[i],
			      "%s: byte %zu", what, i);
			break;
		}
	ok(all_equal(data + n, iov_len - n, 0), "%s: rest zeroed", what);
	ok(all_equal(data + iov_len, sizeof(data) - iov_len, FILL),
	   "%s: nothing past the iovec", what);
}

#define GOOD_DATA(st, want, n, what)					\
	do {								\
		ok_eq(st, SCSI_GOOD, "%s", what);			\
		expect_data(want, n, 4096, what);			\
	} while (0)

static void expect_sense(int st, uint8_t key, uint16_t asc,
			 const char *what)
{
	ok_eq(st, SCSI_CHECK_CONDITION, "%s: status", what);
	ok_eq(io.kind, SCSI_IO_NONE, "%s: no I/O", what);
	ok_eq(sense[0], 0x70, "%s: fixed format", what);
	ok_eq(sense[2], key, "%s: sense key", what);
	ok_eq(sense[7], 10, "%s: additional length", what);
	ok_eq(sense[12] << 8 | sense[13], asc, "%s: asc/ascq", what);
	ok(all_equal(sense + 18, SCSI_SENSE_SIZE - 18, 0),
	   "%s: tail of the sense buffer cleared", what);
}

/* INVALID FIELD IN CDB (or parameter list) with its field pointer. */
static void expect_field(int st, uint16_t asc, uint16_t byte, int bit,
			 const char *what)
{
	expect_sense(st, SCSI_SK_ILLEGAL_REQUEST, asc, what);
	ok_eq(sense[15], 0x80 | (asc == SCSI_ASC_INVALID_FIELD_PARAM ?
				 0 : 0x40) | (bit >= 0 ? 0x08 | bit : 0),
	      "%s: SKSV, C/D, BPV, bit", what);
	ok_eq(sense[16] << 8 | sense[17], byte, "%s: field byte", what);
}

#define BAD_CDB(st, byte, bit, what)					\
	expect_field(st, SCSI_ASC_INVALID_FIELD_CDB, byte, bit, what)

static void expect_plain(int st, uint8_t key, uint16_t asc,
			 const char *what)
{
	expect_sense(st, key, asc, what);
	ok(all_equal(sense + 14, 4, 0), "%s: no field pointer", what);
}

/* ------------------------------------------------------------ INQUIRY */

static const uint8_t std_inquiry[66] = {
	0x00, 0x00, 0x06, 0x12, 0x3d, 0x00, 0x00, 0x02,
	'S', 'N', 'A', 'P', 'C', 'O', 'W', ' ',
	's', 'n', 'a', 'p', 'c', 'o', 'w', ' ',
	'o', 'r', 'i', 'g', 'i', 'n', ' ', ' ',
	'0', '.', '1', ' ',
	[58] = 0x00, 0xa0, 0x04, 0x60, 0x04, 0xc0, 0x00, 0x00,
};

static void test_inquiry_standard(void)
{
	struct scsi_disk d = disk512();
	int st;

	st = exec(&d, CDB(0x12, 0, 0, 0, 0xff, 0));
	GOOD_DATA(st, std_inquiry, 66, "inquiry 255");
	st = exec(&d, CDB(0x12, 0, 0, 0x10, 0x00, 0));
	GOOD_DATA(st, std_inquiry, 66, "inquiry 4096");
	st = exec(&d, CDB(0x12, 0, 0, 0, 36, 0));
	GOOD_DATA(st, std_inquiry, 36, "inquiry 36");
	st = exec(&d, CDB(0x12, 0, 0, 0, 5, 0));
	GOOD_DATA(st, std_inquiry, 5, "inquiry 5");
	st = exec(&d, CDB(0x12, 0, 0, 0, 0, 0));
	GOOD_DATA(st, std_inquiry, 0, "inquiry 0");
	/* A data buffer smaller than the allocation length. */
	st = run_len(&d, CDB(0x12, 0, 0, 0, 0xff, 0), 20);
	ok_eq(st, SCSI_GOOD, "short buffer");
	expect_data(std_inquiry, 20, 20, "short buffer");

	BAD_CDB(exec(&d, CDB(0x12, 0, 0x80, 0, 0xff, 0)), 2, -1,
		"page code without EVPD");
	BAD_CDB(exec(&d, CDB(0x12, 0x02, 0, 0, 0xff, 0)), 1, 1, "CMDDT");
	BAD_CDB(exec(&d, CDB(0x12, 0x10, 0, 0, 0xff, 0)), 1, 4,
		"reserved byte 1");
	/* SCSI-2's LUN field (Linux probing LUN 1 of a new target). */
	st = exec(&d, CDB(0x12, 0x20, 0, 0, 0x24, 0));
	GOOD_DATA(st, std_inquiry, 0x24, "old LUN field ignored");
	st = exec(&d, CDB(0x12, 0xe1, 0x80, 0, 0xff, 0));
	ok_eq(st, SCSI_GOOD, "old LUN field with EVPD");
	BAD_CDB(exec(&d, CDB(0x12, 0, 0, 0, 0xff, 0x04)), 5, 2, "NACA");
	ok_eq(exec(&d, CDB(0x12, 0, 0, 0, 0xff, 0xc3)), SCSI_GOOD,
	      "vendor and link bits of the control byte ignored");
}

static void test_inquiry_strings(void)
{
	struct scsi_disk d = disk512();
	uint8_t want[66];
	int st;

	/* Unterminated full-width fields, control characters. */
	memcpy(d.vendor, "ABCDEFGHI", 9);
	memcpy(d.product, "0123456789abcdefX", 17);
	memcpy(d.revision, "r\t\x80z!", 5);
	memcpy(want, std_inquiry, sizeof(want));
	memcpy(want + 8, "ABCDEFGH0123456789abcdefr  z", 28);
	st = exec(&d, CDB(0x12, 0, 0, 0, 0xff, 0));
	GOOD_DATA(st, want, 66, "odd strings");

	memset(d.vendor, 0, sizeof(d.vendor));
	memset(d.product, 0, sizeof(d.product));
	memset(d.revision, 0, sizeof(d.revision));
	memset(want + 8, ' ', 28);
	st = exec(&d, CDB(0x12, 0, 0, 0, 0xff, 0));
	GOOD_DATA(st, want, 66, "empty strings");
}

static void test_vpd_basic(void)
{
	static const uint8_t pg00[] = {
		0x00, 0x00, 0x00, 0x06, 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2,
	};
	static const uint8_t pg80[] = {
		0x00, 0x80, 0x00, 0x08, 'a', '1', 'b', '2', 'c', '3', 'd', '4',
	};
	uint8_t pgb1[64] = { 0x00, 0xb1, 0x00, 0x3c, 0x00, 0x01 };
	uint8_t pgb2[8] = { 0x00, 0xb2, 0x00, 0x04 };
	struct scsi_disk d = disk512();
	int st;

	st = exec(&d, CDB(0x12, 0x01, 0x00, 0, 0xff, 0));
	GOOD_DATA(st, pg00, sizeof(pg00), "VPD 0x00");
	st = exec(&d, CDB(0x12, 0x01, 0x00, 0, 4, 0));
	GOOD_DATA(st, pg00, 4, "VPD 0x00 header only");
	st = exec(&d, CDB(0x12, 0x01, 0x80, 0, 0xff, 0));
	GOOD_DATA(st, pg80, sizeof(pg80), "VPD 0x80");
	st = exec(&d, CDB(0x12, 0x01, 0xb1, 0, 0xff, 0));
	GOOD_DATA(st, pgb1, sizeof(pgb1), "VPD 0xb1");
	st = exec(&d, CDB(0x12, 0x01, 0xb2, 0, 0xff, 0));
	GOOD_DATA(st, pgb2, sizeof(pgb2), "VPD 0xb2");
	st = exec(&d, CDB(0x12, 0x01, 0xb2, 0, 6, 0));
	GOOD_DATA(st, pgb2, 6, "VPD 0xb2 truncated");

	memset(d.serial, 0, sizeof(d.serial));
	st = exec(&d, CDB(0x12, 0x01, 0x80, 0, 0xff, 0));
	GOOD_DATA(st, ((const uint8_t[]){ 0x00, 0x80, 0, 0 }), 4,
		  "VPD 0x80 before the serial is known");

	BAD_CDB(exec(&d, CDB(0x12, 0x01, 0x81, 0, 0xff, 0)), 2, -1,
		"VPD 0x81");
	BAD_CDB(exec(&d, CDB(0x12, 0x01, 0x89, 0, 0xff, 0)), 2, -1,
		"VPD 0x89 (ATA information)");
	BAD_CDB(exec(&d, CDB(0x12, 0x01, 0xb3, 0, 0xff, 0)), 2, -1,
		"VPD 0xb3");
}

static void test_vpd_devid(void)
{
	static const uint8_t with_naa[] = {
		0x00, 0x83, 0x00, 0x28,
		0x01, 0x03, 0x00, 0x10,
		0x60, 0x01, 0x40, 0x50, 0x11, 0x22, 0x33, 0x44,
		0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc,
		0x02, 0x01, 0x00, 0x10,
		'S', 'N', 'A', 'P', 'C', 'O', 'W', ' ',
		'a', '1', 'b', '2', 'c', '3', 'd', '4',
	};
	static const uint8_t no_serial[] = {
		0x00, 0x83, 0x00, 0x40,
		0x01, 0x03, 0x00, 0x10,
		0x60, 0x01, 0x40, 0x50, 0x11, 0x22, 0x33, 0x44,
		0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc,
		0x02, 0x01, 0x00, 0x28,
		'S', 'N', 'A', 'P', 'C', 'O', 'W', ' ',
		'6', '0', '0', '1', '4', '0', '5', '0',
		'1', '1', '2', '2', '3', '3', '4', '4',
		'5', '5', '6', '6', '7', '7', '8', '8',
		'9', '9', 'a', 'a', 'b', 'b', 'c', 'c',
	};
	static const uint8_t no_naa[] = {
		0x00, 0x83, 0x00, 0x14,
		0x02, 0x01, 0x00, 0x10,
		'S', 'N', 'A', 'P', 'C', 'O', 'W', ' ',
		'a', '1', 'b', '2', 'c', '3', 'd', '4',
	};
	struct scsi_disk d = disk512();
	int st;

	st = exec(&d, CDB(0x12, 0x01, 0x83, 0, 0xff, 0));
	GOOD_DATA(st, with_naa, sizeof(with_naa), "VPD 0x83");
	st = exec(&d, CDB(0x12, 0x01, 0x83, 0, 10, 0));
	GOOD_DATA(st, with_naa, 10, "VPD 0x83 truncated");
	memset(d.serial, 0, sizeof(d.serial));
	st = exec(&d, CDB(0x12, 0x01, 0x83, 0, 0xff, 0));
	GOOD_DATA(st, no_serial, sizeof(no_serial), "VPD 0x83 no serial");
	d = disk512();
	memset(d.naa, 0, sizeof(d.naa));
	st = exec(&d, CDB(0x12, 0x01, 0x83, 0, 0xff, 0));
	GOOD_DATA(st, no_naa, sizeof(no_naa), "VPD 0x83 no NAA");

	/* The longest serial fits. */
	d = disk512();
	memset(d.serial, 'x', sizeof(d.serial) - 1);
	st = exec(&d, CDB(0x12, 0x01, 0x83, 0, 0xff, 0));
	ok_eq(st, SCSI_GOOD, "long serial");
	ok_eq(io.data_in, 4 + 20 + 4 + 8 + 63, "long serial: length");
	ok_eq(data[3], 20 + 4 + 8 + 63, "long serial: page length");
	ok_eq(data[27], 8 + 63, "long serial: designator length");
}

static void test_vpd_block_limits(void)
{
	uint8_t want[64] = {
		0x00, 0xb0, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x10,
		0x00, 0x00, 0x08, 0x00,
	};
	struct scsi_disk d = disk512();
	int st;

	st = exec(&d, CDB(0x12, 0x01, 0xb0, 0, 0xff, 0));
	GOOD_DATA(st, want, sizeof(want), "VPD 0xb0");
	st = exec(&d, CDB(0x12, 0x01, 0xb0, 0, 16, 0));
	GOOD_DATA(st, want, 16, "VPD 0xb0 truncated");

	d.granularity_blocks = 0xffff;
	d.max_xfer_blocks = 0x12345678;
	want[6] = 0xff, want[7] = 0xff;
	want[8] = 0x12, want[9] = 0x34, want[10] = 0x56, want[11] = 0x78;
	st = exec(&d, CDB(0x12, 0x01, 0xb0, 0, 0xff, 0));
	GOOD_DATA(st, want, sizeof(want), "VPD 0xb0 largest granularity");

	/* A chunk wider than the field is not reported at all. */
	d.granularity_blocks = 0x10000;
	d.max_xfer_blocks = 0;
	memset(want + 4, 0, 60);
	st = exec(&d, CDB(0x12, 0x01, 0xb0, 0, 0xff, 0));
	GOOD_DATA(st, want, sizeof(want), "VPD 0xb0 unreported");
}

/* ------------------------------------------------ capacity, TUR, sense */

static void test_read_capacity(void)
{
	struct scsi_disk d = disk512();
	uint8_t rc16[32] = { 0 };
	int st;

	st = exec(&d, CDB(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0));
	GOOD_DATA(st, ((const uint8_t[]){ 0x00, 0x1f, 0xff, 0xff,
					   0x00, 0x00, 0x02, 0x00 }), 8,
		  "READ CAPACITY(10)");
	st = exec(&d, CDB(0x25, 0, 0, 0, 0, 5, 0, 0, 1, 0));
	GOOD_DATA(st, ((const uint8_t[]){ 0x00, 0x1f, 0xff, 0xff,
					   0x00, 0x00, 0x02, 0x00 }), 8,
		  "READ CAPACITY(10) PMI");
	BAD_CDB(exec(&d, CDB(0x25, 0, 0, 0, 0, 5, 0, 0, 0, 0)), 2, -1,
		"LBA without PMI");
	BAD_CDB(exec(&d, CDB(0x25, 0x01, 0, 0, 0, 0, 0, 0, 0, 0)), 1, 0,
		"RELADR");
	BAD_CDB(exec(&d, CDB(0x25, 0, 0, 0, 0, 0, 0, 0, 2, 0)), 8, 1,
		"byte 8 reserved");
	st = run_len(&d, CDB(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0), 6);
	ok_eq(st, SCSI_GOOD, "RC10 short buffer");
	expect_data(((const uint8_t[]){ 0x00, 0x1f, 0xff, 0xff, 0, 0 }), 6,
		    6, "RC10 short buffer");

	/* 2^32 blocks: the last LBA still fits; one more does not. */
	d.blocks = UINT64_C(0x100000000);
	d.block_size = 4096;
	st = exec(&d, CDB(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0));
	GOOD_DATA(st, ((const uint8_t[]){ 0xff, 0xff, 0xff, 0xff,
					   0x00, 0x00, 0x10, 0x00 }), 8,
		  "RC10 2^32 blocks");
	d.blocks = UINT64_C(0x100000001);
	st = exec(&d, CDB(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0));
	GOOD_DATA(st, ((const uint8_t[]){ 0xff, 0xff, 0xff, 0xff,
					   0x00, 0x00, 0x10, 0x00 }), 8,
		  "RC10 2^32+1 blocks");

	d.blocks = UINT64_C(0x123456789a);
	memcpy(rc16, (const uint8_t[]){ 0, 0, 0, 0x12, 0x34, 0x56, 0x78,
					0x99, 0, 0, 0x10, 0 }, 12);
	st = exec(&d, CDB(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0,
			 0, 0, 0, 32, 0, 0));
	GOOD_DATA(st, rc16, 32, "READ CAPACITY(16)");
	st = exec(&d, CDB(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0,
			 0, 0, 0x10, 0, 0, 0));
	GOOD_DATA(st, rc16, 32, "RC16 alloc 4096");
	st = exec(&d, CDB(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0,
			 0, 0, 0, 12, 0, 0));
	GOOD_DATA(st, rc16, 12, "RC16 alloc 12");
	st = exec(&d, CDB(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0,
			 0, 0, 0, 0, 0, 0));
	GOOD_DATA(st, rc16, 0, "RC16 alloc 0");
	BAD_CDB(exec(&d, CDB(0x9e, 0x12, 0, 0, 0, 0, 0, 0, 0, 0,
			    0, 0, 0, 32, 0, 0)), 1, 4,
		"SERVICE ACTION IN(16) GET LBA STATUS");
	BAD_CDB(exec(&d, CDB(0x9e, 0x30, 0, 0, 0, 0, 0, 0, 0, 0,
			    0, 0, 0, 32, 0, 0)), 1, 5, "RC16 byte 1");
	BAD_CDB(exec(&d, CDB(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0,
			    0, 0, 0, 32, 1, 0)), 14, 0, "RC16 PMI");

	d.blocks = 0;
	st = exec(&d, CDB(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0));
	GOOD_DATA(st, ((const uint8_t[]){ 0, 0, 0, 0, 0, 0, 0x10, 0 }), 8,
		  "RC10 empty disk");
}

static void test_tur_request_sense(void)
{
	static const uint8_t fixed[18] = { 0x70, [7] = 10 };
	static const uint8_t desc[8] = { 0x72 };
	struct scsi_disk d = disk512();
	int st;

	st = exec(&d, CDB(0, 0, 0, 0, 0, 0));
	ok_eq(st, SCSI_GOOD, "TEST UNIT READY");
	ok_eq(io.kind, SCSI_IO_NONE, "TUR: no I/O");
	ok_eq(io.data_in, 0, "TUR: no data");
	BAD_CDB(exec(&d, CDB(0, 0, 0, 1, 0, 0)), 3, 0, "TUR reserved byte");

	st = exec(&d, CDB(0x03, 0, 0, 0, 0xfc, 0));
	GOOD_DATA(st, fixed, 18, "REQUEST SENSE fixed");
	st = exec(&d, CDB(0x03, 0, 0, 0, 8, 0));
	GOOD_DATA(st, fixed, 8, "REQUEST SENSE fixed truncated");
	st = exec(&d, CDB(0x03, 0x01, 0, 0, 0xfc, 0));
	GOOD_DATA(st, desc, 8, "REQUEST SENSE descriptor");
	BAD_CDB(exec(&d, CDB(0x03, 0, 1, 0, 0xfc, 0)), 2, 0,
		"REQUEST SENSE reserved");
}

static void test_io_status(void)
{
	struct scsi_io rd = { .kind = SCSI_IO_READ };
	struct scsi_io wr = { .kind = SCSI_IO_WRITE };
	struct scsi_io fl = { .kind = SCSI_IO_FLUSH };

	memset(&io, 0, sizeof(io));
	memset(sense, FILL, sizeof(sense));
	ok_eq(scsi_io_status(&wr, 0, sense), SCSI_GOOD, "GOOD");
	ok(all_equal(sense, sizeof(sense), FILL), "GOOD leaves sense");
	expect_plain(scsi_io_status(&wr, -EROFS, sense), SCSI_SK_DATA_PROTECT,
		     SCSI_ASC_WRITE_PROTECTED, "EROFS");
	expect_plain(scsi_io_status(&wr, -ENOSPC, sense),
		     SCSI_SK_DATA_PROTECT, SCSI_ASC_SPACE_ALLOC_FAILED_WP,
		     "ENOSPC");
	expect_plain(scsi_io_status(&rd, -EIO, sense), SCSI_SK_MEDIUM_ERROR,
		     SCSI_ASC_UNRECOVERED_READ, "read EIO");
	expect_plain(scsi_io_status(&wr, -EIO, sense), SCSI_SK_MEDIUM_ERROR,
		     SCSI_ASC_WRITE_ERROR, "write EIO");
	expect_plain(scsi_io_status(&fl, -EIO, sense), SCSI_SK_MEDIUM_ERROR,
		     SCSI_ASC_WRITE_ERROR, "flush EIO");
	expect_plain(scsi_io_status(&rd, -ENOMEM, sense),
		     SCSI_SK_MEDIUM_ERROR, SCSI_ASC_UNRECOVERED_READ,
		     "read ENOMEM");
}

/* --------------------------------------------------------- MODE SENSE */

/* Header (6), short block descriptor, caching (WCE), control. */
static const uint8_t ms6_all[44] = {
	0x2b, 0x00, 0x10, 0x08,
	0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
	0x08, 0x12, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0x0a, 0x0a, 0x02, 0x10, 0, 0, 0, 0, 0, 0, 0, 0,
};

static void test_mode_sense6(void)
{
	struct scsi_disk d = disk512();
	uint8_t want[44];
	int st;

	st = exec(&d, CDB(0x1a, 0, 0x3f, 0, 0xff, 0));
	GOOD_DATA(st, ms6_all, 44, "MODE SENSE(6) all");
	st = exec(&d, CDB(0x1a, 0, 0x3f, 0xff, 0xff, 0));
	GOOD_DATA(st, ms6_all, 44, "all pages and subpages");
	st = exec(&d, CDB(0x1a, 0, 0x3f, 0, 4, 0));
	GOOD_DATA(st, ms6_all, 4, "header only");
	st = exec(&d, CDB(0x1a, 0, 0x3f, 0, 0, 0));
	GOOD_DATA(st, ms6_all, 0, "alloc 0");

	/* Caching page, no block descriptor. */
	memcpy(want, ms6_all, 4);
	want[0] = 23, want[3] = 0;
	memcpy(want + 4, ms6_all + 12, 20);
	st = exec(&d, CDB(0x1a, 0x08, 0x08, 0, 0xff, 0));
	GOOD_DATA(st, want, 24, "caching, DBD");

	/* Control page with the descriptor. */
	memcpy(want, ms6_all, 12);
	want[0] = 23;
	memcpy(want + 12, ms6_all + 32, 12);
	st = exec(&d, CDB(0x1a, 0, 0x0a, 0, 0xff, 0));
	GOOD_DATA(st, want, 24, "control");

	/* Changeable: nothing. */
	memcpy(want, ms6_all, 44);
	memset(want + 14, 0, 18);
	memset(want + 34, 0, 10);
	st = exec(&d, CDB(0x1a, 0, 0x7f, 0, 0xff, 0));
	GOOD_DATA(st, want, 44, "changeable");
	st = exec(&d, CDB(0x1a, 0, 0xbf, 0, 0xff, 0));
	GOOD_DATA(st, ms6_all, 44, "default");
	expect_field(exec(&d, CDB(0x1a, 0, 0xff, 0, 0xff, 0)),
		     SCSI_ASC_SAVING_NOT_SUPPORTED, 2, 7, "saved");

	/* Write cache off, read-only, big disk. */
	d.write_cache = false;
	d.read_only = true;
	d.blocks = UINT64_C(1) << 33;
	memcpy(want, ms6_all, 44);
	want[2] = 0x90;
	memset(want + 4, 0xff, 4);
	want[14] = 0;
	st = exec(&d, CDB(0x1a, 0, 0x3f, 0, 0xff, 0));
	GOOD_DATA(st, want, 44, "WP, no WCE, clamped blocks");

	BAD_CDB(exec(&d, CDB(0x1a, 0, 0x1c, 0, 0xff, 0)), 2, 5, "page 0x1c");
	BAD_CDB(exec(&d, CDB(0x1a, 0, 0x00, 0, 0xff, 0)), 2, 5, "page 0");
	BAD_CDB(exec(&d, CDB(0x1a, 0, 0x08, 1, 0xff, 0)), 3, -1, "subpage");
	BAD_CDB(exec(&d, CDB(0x1a, 0, 0x3f, 1, 0xff, 0)), 3, -1,
		"all pages, subpage 1");
	BAD_CDB(exec(&d, CDB(0x1a, 0x10, 0x3f, 0, 0xff, 0)), 1, 4,
		"LLBAA in MODE SENSE(6)");
}

static void test_mode_sense10(void)
{
	static const uint8_t ms10_long[64] = {
		0x00, 0x36, 0x00, 0x10, 0x01, 0x00, 0x00, 0x10,
		0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x00,
		0x08, 0x12, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0,
		0x0a, 0x0a, 0x02, 0x10, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	struct scsi_disk d = disk512();
	uint8_t want[64];
	int st;

	/* Short descriptor: the 6-byte data behind a longer header. */
	memset(want, 0, sizeof(want));
	want[1] = 46, want[3] = 0x10, want[7] = 8;
	memcpy(want + 8, ms6_all + 4, 40);
	st = exec(&d, CDB(0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 0xff, 0));
	GOOD_DATA(st, want, 48, "MODE SENSE(10) all");
	st = exec(&d, CDB(0x5a, 0, 0x3f, 0, 0, 0, 0, 0x01, 0x00, 0));
	GOOD_DATA(st, want, 48, "MODE SENSE(10) alloc 256");
	st = exec(&d, CDB(0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 8, 0));
	GOOD_DATA(st, want, 8, "MODE SENSE(10) header");

	d.blocks = UINT64_C(0x100000000);
	d.block_size = 4096;
	st = exec(&d, CDB(0x5a, 0x10, 0x3f, 0, 0, 0, 0, 0, 0xff, 0));
	GOOD_DATA(st, ms10_long, 56, "LLBAA, 2^32 blocks of 4096");

	memset(want, 0, sizeof(want));
	want[1] = 26, want[3] = 0x10;
	memcpy(want + 8, ms6_all + 12, 20);
	st = exec(&d, CDB(0x5a, 0x18, 0x08, 0, 0, 0, 0, 0, 0xff, 0));
	GOOD_DATA(st, want, 28, "LLBAA with DBD");
	expect_field(exec(&d, CDB(0x5a, 0, 0xc8, 0, 0, 0, 0, 0, 0xff, 0)),
		     SCSI_ASC_SAVING_NOT_SUPPORTED, 2, 7, "saved (10)");
	BAD_CDB(exec(&d, CDB(0x5a, 0, 0x08, 0, 1, 0, 0, 0, 0xff, 0)), 4, 0,
		"MODE SENSE(10) reserved");
}

/* -------------------------------------------------------- MODE SELECT */

static int select_with(const struct scsi_disk *d, const uint8_t *cdb,
		       size_t cdb_len, const uint8_t *param, size_t len)
{
	struct iovec iov = { .iov_base = data, .iov_len = len };

	memset(data, FILL, sizeof(data));
	memcpy(data, param, len);
	memset(&io, FILL, sizeof(io));
	return scsi_decode(d, cdb, cdb_len, &iov, 1, &io, sense);
}

static void test_mode_select(void)
{
	struct scsi_disk d = disk512();
	uint8_t p[64];
	int st;

	/* What MODE SENSE says, with the reserved header bytes zero. */
	memcpy(p, ms6_all, 44);
	p[0] = 0, p[2] = 0;
	st = select_with(&d, CDB(0x15, 0x10, 0, 0, 44, 0), p, 44);
	ok_eq(st, SCSI_GOOD, "no change accepted");
	ok_eq(io.kind, SCSI_IO_NONE, "no change: no I/O");
	/* Without the descriptor, and only the caching page. */
	memcpy(p, (const uint8_t[]){ 0, 0, 0, 0 }, 4);
	memcpy(p + 4, ms6_all + 12, 20);
	ok_eq(select_with(&d, CDB(0x15, 0x10, 0, 0, 24, 0), p, 24),
	      SCSI_GOOD, "caching page alone");
	/* The block count 0 means "keep". */
	memcpy(p, ms6_all, 44);
	p[0] = 0, p[2] = 0;
	memset(p + 4, 0, 4);
	ok_eq(select_with(&d, CDB(0x15, 0x10, 0, 0, 44, 0), p, 44),
	      SCSI_GOOD, "block count 0");
	ok_eq(select_with(&d, CDB(0x15, 0x10, 0, 0, 0, 0), p, 0), SCSI_GOOD,
	      "empty parameter list");

	/* Turning the write cache off is refused at the WCE bit. */
	memcpy(p, ms6_all, 44);
	p[0] = 0, p[2] = 0, p[14] = 0;
	expect_field(select_with(&d, CDB(0x15, 0x10, 0, 0, 44, 0), p, 44),
		     SCSI_ASC_INVALID_FIELD_PARAM, 14, 2, "WCE change");
	p[14] = 0x04;
	p[10] = 0x10;
	expect_field(select_with(&d, CDB(0x15, 0x10, 0, 0, 44, 0), p, 44),
		     SCSI_ASC_INVALID_FIELD_PARAM, 10, 4, "block size change");
	p[10] = 0x02;
	p[7] = 0x01;
	expect_field(select_with(&d, CDB(0x15, 0x10, 0, 0, 44, 0), p, 44),
		     SCSI_ASC_INVALID_FIELD_PARAM, 4, -1, "capacity change");
	p[7] = 0;
	p[1] = 0x05;
	expect_field(select_with(&d, CDB(0x15, 0x10, 0, 0, 44, 0), p, 44),
		     SCSI_ASC_INVALID_FIELD_PARAM, 1, -1, "medium type");
	p[1] = 0;
	p[3] = 16;
	expect_field(select_with(&d, CDB(0x15, 0x10, 0, 0, 44, 0), p, 44),
		     SCSI_ASC_INVALID_FIELD_PARAM, 3, -1, "descriptor length");
	p[3] = 8;
	p[32] = 0x1c;
	expect_field(select_with(&d, CDB(0x15, 0x10, 0, 0, 44, 0), p, 44),
		     SCSI_ASC_INVALID_FIELD_PARAM, 32, 5, "unknown page");
	p[32] = 0x4a;
	expect_field(select_with(&d, CDB(0x15, 0x10, 0, 0, 44, 0), p, 44),
		     SCSI_ASC_INVALID_FIELD_PARAM, 32, 6, "subpage format");
	p[32] = 0x0a;
	p[33] = 0x09;
	expect_field(select_with(&d, CDB(0x15, 0x10, 0, 0, 44, 0), p, 44),
		     SCSI_ASC_INVALID_FIELD_PARAM, 33, -1, "page length");
	p[33] = 0x0a;
	expect_plain(select_with(&d, CDB(0x15, 0x10, 0, 0, 43, 0), p, 43),
		     SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAM_LIST_LENGTH,
		     "page cut short");
	expect_plain(select_with(&d, CDB(0x15, 0x10, 0, 0, 33, 0), p, 33),
		     SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAM_LIST_LENGTH,
		     "one byte of a page");
	expect_plain(select_with(&d, CDB(0x15, 0x10, 0, 0, 3, 0), p, 3),
		     SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAM_LIST_LENGTH,
		     "header cut short");
	expect_plain(select_with(&d, CDB(0x15, 0x10, 0, 0, 44, 0), p, 40),
		     SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_FAILURE,
		     "iovec shorter than the list");
	BAD_CDB(select_with(&d, CDB(0x15, 0x11, 0, 0, 44, 0), p, 44), 1, 0,
		"SP");
	BAD_CDB(select_with(&d, CDB(0x15, 0x00, 0, 0, 44, 0), p, 44), 1, 4,
		"PF 0");
	ok_eq(select_with(&d, CDB(0x15, 0x00, 0, 0, 0, 0), p, 0), SCSI_GOOD,
	      "PF 0 with nothing to select");

	/* MODE SELECT(10) with a long descriptor. */
	memset(p, 0, sizeof(p));
	p[4] = 0x01, p[7] = 16;
	p[13] = 0x20;
	p[22] = 0x02;
	memcpy(p + 24, ms6_all + 12, 20);
	st = select_with(&d, CDB(0x55, 0x10, 0, 0, 0, 0, 0, 0, 44, 0), p, 44);
	ok_eq(st, SCSI_GOOD, "MODE SELECT(10) long descriptor");
	p[22] = 0x10;
	expect_field(select_with(&d, CDB(0x55, 0x10, 0, 0, 0, 0, 0, 0, 44, 0),
				 p, 44),
		     SCSI_ASC_INVALID_FIELD_PARAM, 22, 4, "(10) block size");
	expect_plain(select_with(&d, CDB(0x55, 0x10, 0, 0, 0, 0, 0, 0x02, 0,
					 0), p, 44),
		     SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAM_LIST_LENGTH,
		     "(10) list too long");
}

/* ------------------------------------ REPORT SUPPORTED OPERATION CODES */

static const uint8_t all_ops[][4] = {
	/* opcode, service action, SERVACTV, CDB size */
	{ 0x00, 0x00, 0, 6 }, { 0x03, 0x00, 0, 6 }, { 0x08, 0x00, 0, 6 },
	{ 0x0a, 0x00, 0, 6 }, { 0x12, 0x00, 0, 6 }, { 0x15, 0x00, 0, 6 },
	{ 0x1a, 0x00, 0, 6 }, { 0x25, 0x00, 0, 10 }, { 0x28, 0x00, 0, 10 },
	{ 0x2a, 0x00, 0, 10 }, { 0x2f, 0x00, 0, 10 }, { 0x35, 0x00, 0, 10 },
	{ 0x55, 0x00, 0, 10 }, { 0x5a, 0x00, 0, 10 }, { 0x88, 0x00, 0, 16 },
	{ 0x8a, 0x00, 0, 16 }, { 0x8f, 0x00, 0, 16 }, { 0x91, 0x00, 0, 16 },
	{ 0x9e, 0x10, 1, 16 }, { 0xa3, 0x0c, 1, 12 }, { 0xa8, 0x00, 0, 12 },
	{ 0xaa, 0x00, 0, 12 },
};

#define N_OPS	(sizeof(all_ops) / sizeof(all_ops[0]))

static size_t build_all(uint8_t *want, bool rctd)
{
	size_t len = 4, step = rctd ? 20 : 8;

	memset(want, 0, 4 + N_OPS * 20);
	for (size_t i = 0; i < N_OPS; i++, len += step) {
		want[len] = all_ops[i][0];
		want[len + 3] = all_ops[i][1];
		want[len + 5] = (uint8_t)(all_ops[i][2] | (rctd ? 0x02 : 0));
		want[len + 7] = all_ops[i][3];
		if (rctd) {
			want[len + 9] = 10;
			want[len + 19] = 30;
		}
	}
	want[2] = (uint8_t)((len - 4) >> 8);
	want[3] = (uint8_t)(len - 4);
	return len;
}

static void test_report_opcodes_all(void)
{
	struct scsi_disk d = disk512();
	uint8_t want[4 + N_OPS * 20];
	size_t len;
	int st;

	len = build_all(want, false);
	ok_eq(len, 4 + 8 * 22, "22 commands");
	st = exec(&d, CDB(0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0));
	GOOD_DATA(st, want, len, "RSOC all");
	st = exec(&d, CDB(0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0));
	GOOD_DATA(st, want, 20, "RSOC all truncated");
	len = build_all(want, true);
	st = exec(&d, CDB(0xa3, 0x0c, 0x80, 0, 0, 0, 0, 0, 0x10, 0, 0, 0));
	GOOD_DATA(st, want, len, "RSOC all RCTD");

	/* Every listed command is accepted by the decoder. */
	for (size_t i = 0; i < N_OPS; i++) {
		uint8_t cdb[16] = { all_ops[i][0], all_ops[i][1] };

		st = exec(&d, cdb, all_ops[i][3]);
		ok(st == SCSI_GOOD || sense[12] != 0x20,
		   "opcode 0x%02x listed but unknown", cdb[0]);
	}
}

static void test_report_opcodes_one(void)
{
	static const uint8_t read10[14] = {
		0x00, 0x03, 0x00, 0x0a,
		0x28, 0x1a, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0x00,
	};
	static const uint8_t rc16[20] = {
		0x00, 0x03, 0x00, 0x10,
		0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
		0, 0,
	};
	static const uint8_t none[4] = { 0x00, 0x01, 0x00, 0x00 };
	struct scsi_disk d = disk512();
	uint8_t want[32] = { 0 };
	int st;

	st = exec(&d, CDB(0xa3, 0x0c, 1, 0x28, 0, 0, 0, 0, 0x02, 0, 0, 0));
	GOOD_DATA(st, read10, sizeof(read10), "one READ(10)");
	st = exec(&d, CDB(0xa3, 0x0c, 1, 0x28, 0, 0, 0, 0, 0, 6, 0, 0));
	GOOD_DATA(st, read10, 6, "one READ(10) truncated");
	st = exec(&d, CDB(0xa3, 0x0c, 1, 0x28, 0x12, 0x34, 0, 0, 2, 0, 0, 0));
	GOOD_DATA(st, read10, sizeof(read10), "option 1 ignores the SA");
	st = exec(&d, CDB(0xa3, 0x0c, 3, 0x28, 0, 5, 0, 0, 2, 0, 0, 0));
	GOOD_DATA(st, read10, sizeof(read10), "option 3 without SA");
	st = exec(&d, CDB(0xa3, 0x0c, 2, 0x9e, 0, 0x10, 0, 0, 2, 0, 0, 0));
	GOOD_DATA(st, rc16, sizeof(rc16), "one RC(16)");
	st = exec(&d, CDB(0xa3, 0x0c, 3, 0x9e, 0, 0x10, 0, 0, 2, 0, 0, 0));
	GOOD_DATA(st, rc16, sizeof(rc16), "option 3 RC(16)");
	st = exec(&d, CDB(0xa3, 0x0c, 2, 0x9e, 0, 0x12, 0, 0, 2, 0, 0, 0));
	GOOD_DATA(st, none, 4, "GET LBA STATUS unsupported");
	st = exec(&d, CDB(0xa3, 0x0c, 2, 0x9e, 0x01, 0x10, 0, 0, 2, 0, 0, 0));
	GOOD_DATA(st, none, 4, "service action 0x110");
	st = exec(&d, CDB(0xa3, 0x0c, 1, 0x42, 0, 0, 0, 0, 2, 0, 0, 0));
	GOOD_DATA(st, none, 4, "UNMAP unsupported");
	st = exec(&d, CDB(0xa3, 0x0c, 1, 0x93, 0, 0, 0, 0, 2, 0, 0, 0));
	GOOD_DATA(st, none, 4, "WRITE SAME(16) unsupported");
	st = exec(&d, CDB(0xa3, 0x0c, 2, 0x7f, 0, 9, 0, 0, 2, 0, 0, 0));
	GOOD_DATA(st, none, 4, "option 2, unknown opcode");

	memcpy(want, read10, sizeof(read10));
	want[1] = 0x83;
	want[15] = 10;
	want[25] = 30;
	st = exec(&d, CDB(0xa3, 0x0c, 0x81, 0x28, 0, 0, 0, 0, 2, 0, 0, 0));
	GOOD_DATA(st, want, 26, "one READ(10) RCTD");

	BAD_CDB(exec(&d, CDB(0xa3, 0x0c, 1, 0x9e, 0, 0x10, 0, 0, 2, 0, 0, 0)),
		2, 2, "option 1 for a service-action opcode");
	BAD_CDB(exec(&d, CDB(0xa3, 0x0c, 2, 0x28, 0, 0, 0, 0, 2, 0, 0, 0)),
		2, 2, "option 2 for READ(10)");
	BAD_CDB(exec(&d, CDB(0xa3, 0x0c, 4, 0x28, 0, 0, 0, 0, 2, 0, 0, 0)),
		2, 2, "option 4");
	BAD_CDB(exec(&d, CDB(0xa3, 0x0c, 0x40, 0, 0, 0, 0, 0, 2, 0, 0, 0)),
		2, 6, "byte 2 reserved");
	BAD_CDB(exec(&d, CDB(0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0)),
		10, 0, "byte 10 reserved");
	BAD_CDB(exec(&d, CDB(0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0)),
		1, 4, "REPORT TARGET PORT GROUPS");
}

/* ---------------------------------------------------------- READ/WRITE */

static void expect_io(int st, enum scsi_io_kind kind, uint64_t off,
		      uint64_t len, bool fua, const char *what)
{
	ok_eq(st, SCSI_GOOD, "%s: status", what);
	ok_eq(io.kind, kind, "%s: kind", what);
	ok_eq(io.offset, off, "%s: offset", what);
	ok_eq(io.length, len, "%s: length", what);
	ok_eq(io.fua, fua, "%s: fua", what);
	ok(all_equal(data, sizeof(data), FILL), "%s: data untouched", what);
}

static void expect_done(int st, const char *what)
{
	ok_eq(st, SCSI_GOOD, "%s: status", what);
	ok_eq(io.kind, SCSI_IO_NONE, "%s: no I/O", what);
}

static void test_read_write(void)
{
	struct scsi_disk d = disk512();
	int st;

	st = exec(&d, CDB(0x28, 0, 0, 0, 0x01, 0x00, 0, 0, 8, 0));
	expect_io(st, SCSI_IO_READ, 256 * 512, 4096, false, "READ(10)");
	st = exec(&d, CDB(0x28, 0x18, 0, 0, 0, 0, 0x1f, 0, 1, 0));
	expect_io(st, SCSI_IO_READ, 0, 512, false, "READ(10) DPO FUA");
	st = exec(&d, CDB(0x2a, 0, 0, 0x1f, 0xff, 0xf8, 0, 0, 8, 0));
	expect_io(st, SCSI_IO_WRITE, UINT64_C(0x1ffff8) * 512, 4096, false,
		  "WRITE(10) last blocks");
	st = exec(&d, CDB(0x2a, 0x08, 0, 0, 0, 2, 0, 0, 1, 0));
	expect_io(st, SCSI_IO_WRITE, 1024, 512, true, "WRITE(10) FUA");
	st = exec(&d, CDB(0x2a, 0x12, 0, 0, 0, 2, 0, 0, 1, 0));
	expect_io(st, SCSI_IO_WRITE, 1024, 512, false, "WRITE(10) DPO FUA_NV");
	st = exec(&d, CDB(0xaa, 0x08, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0));
	expect_io(st, SCSI_IO_WRITE, 1536, 1024, true, "WRITE(12) FUA");
	st = exec(&d, CDB(0xa8, 0, 0, 0x1f, 0xff, 0xff, 0, 0, 0, 1, 0, 0));
	expect_io(st, SCSI_IO_READ, UINT64_C(0x1fffff) * 512, 512, false,
		  "READ(12) last block");
	st = exec(&d, CDB(0x8a, 0x08, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0,
			 0));
	expect_io(st, SCSI_IO_WRITE, 9 * 512, 512, true, "WRITE(16) FUA");
	st = exec(&d, CDB(0x88, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0x1f,
			 0));
	expect_io(st, SCSI_IO_READ, 9 * 512, 512, false, "READ(16) group");

	/* 6-byte: a 21-bit LBA, and a length of 0 means 256 blocks. */
	st = run_len(&d, CDB(0x08, 0x01, 0x02, 0x03, 0, 0), 256 * 512);
	expect_io(st, SCSI_IO_READ, UINT64_C(0x10203) * 512, 256 * 512, false,
		  "READ(6) 256 blocks");
	st = exec(&d, CDB(0x0a, 0x1f, 0xff, 0xff, 1, 0));
	expect_io(st, SCSI_IO_WRITE, UINT64_C(0x1fffff) * 512, 512, false,
		  "WRITE(6) last block");
	BAD_CDB(exec(&d, CDB(0x0a, 0x20, 0, 0, 1, 0)), 1, 5,
		"WRITE(6) old LUN bits");

	/* Transfer length 0: nothing to do, but the LBA must exist. */
	expect_done(exec(&d, CDB(0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
		    "READ(10) length 0");
	expect_done(exec(&d, CDB(0x2a, 0x08, 0, 0x1f, 0xff, 0xff, 0, 0, 0, 0)),
		    "WRITE(10) length 0 at the last block");
	expect_plain(exec(&d, CDB(0x28, 0, 0, 0x20, 0, 0, 0, 0, 0, 0)),
		     SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE,
		     "length 0 past the end");

	expect_plain(exec(&d, CDB(0x28, 0, 0, 0x1f, 0xff, 0xff, 0, 0, 2, 0)),
		     SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE,
		     "READ(10) over the end");
	expect_plain(exec(&d, CDB(0x2a, 0, 0, 0x20, 0, 0, 0, 0, 1, 0)),
		     SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE,
		     "WRITE(10) at the capacity");
	expect_plain(exec(&d, CDB(0x88, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				 0xff, 0xff, 0, 0, 0, 2, 0, 0)),
		     SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE,
		     "READ(16) LBA + length wraps");
	expect_plain(exec(&d, CDB(0xa8, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
				 0, 0)),
		     SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE,
		     "READ(12) length beyond the disk");

	/* MAXIMUM TRANSFER LENGTH is enforced at the length field. */
	BAD_CDB(exec(&d, CDB(0x28, 0, 0, 0, 0, 0, 0, 0x08, 0x01, 0)), 7, -1,
		"READ(10) over the limit");
	BAD_CDB(exec(&d, CDB(0x8a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x01,
			    0, 0)), 10, -1, "WRITE(16) over the limit");
	expect_plain(run_len(&d, CDB(0x28, 0, 0, 0, 0, 0, 0, 0x08, 0x00, 0),
			     4096),
		     SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_FAILURE,
		     "the limit itself passes the limit check");

	/* The buffer must hold the transfer. */
	expect_plain(run_len(&d, CDB(0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0), 1023),
		     SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_FAILURE,
		     "iovec one byte short");
	st = run_len(&d, CDB(0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0), 1025);
	expect_io(st, SCSI_IO_READ, 0, 1024, false, "iovec one byte long");
	expect_plain(scsi_decode(&d, CDB(0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0),
				 NULL, 0, &io, sense),
		     SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_FAILURE,
		     "no iovec");

	/* Protection and reserved bits. */
	BAD_CDB(exec(&d, CDB(0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0)), 1, 5,
		"RDPROTECT");
	BAD_CDB(exec(&d, CDB(0x2a, 0x04, 0, 0, 0, 0, 0, 0, 1, 0)), 1, 2,
		"WRITE(10) byte 1 bit 2");
	BAD_CDB(exec(&d, CDB(0x28, 0, 0, 0, 0, 0, 0x20, 0, 1, 0)), 6, 5,
		"READ(10) byte 6");
	BAD_CDB(exec(&d, CDB(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0x04)), 9, 2,
		"READ(10) NACA");
}

static void test_read_only_big(void)
{
	struct scsi_disk d = disk512();
	int st;

	d.read_only = true;
	expect_plain(exec(&d, CDB(0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0)),
		     SCSI_SK_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED,
		     "WRITE(10) read-only");
	expect_plain(exec(&d, CDB(0x0a, 0, 0, 0, 1, 0)),
		     SCSI_SK_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED,
		     "WRITE(6) read-only");
	expect_plain(exec(&d, CDB(0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
		     SCSI_SK_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED,
		     "WRITE(12) of nothing, read-only");
	st = exec(&d, CDB(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0));
	expect_io(st, SCSI_IO_READ, 0, 512, false, "READ read-only");
	st = exec(&d, CDB(0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0));
	expect_io(st, SCSI_IO_FLUSH, 0, 0, false, "SYNC read-only");

	/* 2^40 blocks of 4096 bytes. */
	d = disk512();
	d.blocks = UINT64_C(1) << 40;
	d.block_size = 4096;
	st = exec(&d, CDB(0x8a, 0x08, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff,
			 0, 0, 0, 1, 0, 0));
	expect_io(st, SCSI_IO_WRITE, ((UINT64_C(1) << 40) - 1) * 4096, 4096,
		  true, "WRITE(16) last block of 4 PiB");
	expect_plain(exec(&d, CDB(0x88, 0, 0, 0, 0x01, 0, 0, 0, 0, 0,
				 0, 0, 0, 1, 0, 0)),
		     SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE,
		     "READ(16) at 2^40");
	st = exec(&d, CDB(0x28, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0));
	expect_io(st, SCSI_IO_READ, UINT64_C(0xffffffff) * 4096, 4096, false,
		  "READ(10) highest LBA it can address");
	expect_plain(run_len(&d, CDB(0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0), 8191),
		     SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_FAILURE,
		     "4096-byte blocks, short buffer");
}

static void test_sync_verify(void)
{
	struct scsi_disk d = disk512();
	int st;

	st = exec(&d, CDB(0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0));
	expect_io(st, SCSI_IO_FLUSH, 0, 0, false, "SYNC(10) all");
	st = exec(&d, CDB(0x35, 0x02, 0, 0x1f, 0xff, 0xff, 0, 0, 1, 0));
	expect_io(st, SCSI_IO_FLUSH, 0, 0, false, "SYNC(10) IMMED last");
	st = exec(&d, CDB(0x35, 0, 0, 0x1f, 0xff, 0xff, 0, 0, 0, 0));
	expect_io(st, SCSI_IO_FLUSH, 0, 0, false, "SYNC(10) last, to end");
	expect_plain(exec(&d, CDB(0x35, 0, 0, 0x1f, 0xff, 0xff, 0, 0, 2, 0)),
		     SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE,
		     "SYNC(10) over the end");
	expect_plain(exec(&d, CDB(0x35, 0, 0, 0x20, 0, 0, 0, 0, 0, 0)),
		     SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE,
		     "SYNC(10) at the capacity");
	st = exec(&d, CDB(0x91, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0,
			 0));
	expect_io(st, SCSI_IO_FLUSH, 0, 0, false, "SYNC(16) whole disk");
	expect_plain(exec(&d, CDB(0x91, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0x20, 0,
				 0, 0, 0)),
		     SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE,
		     "SYNC(16) over the end");
	BAD_CDB(exec(&d, CDB(0x91, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			    0)), 1, 0, "SYNC(16) byte 1 bit 0");

	expect_done(exec(&d, CDB(0x2f, 0, 0, 0, 0, 0, 0, 0, 8, 0)),
		    "VERIFY(10)");
	expect_done(exec(&d, CDB(0x2f, 0x10, 0, 0x1f, 0xff, 0xff, 0, 0, 1, 0)),
		    "VERIFY(10) DPO last block");
	expect_plain(exec(&d, CDB(0x2f, 0, 0, 0x1f, 0xff, 0xff, 0, 0, 2, 0)),
		     SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE,
		     "VERIFY(10) over the end");
	BAD_CDB(exec(&d, CDB(0x2f, 0x02, 0, 0, 0, 0, 0, 0, 8, 0)), 1, 1,
		"VERIFY BYTCHK 1");
	BAD_CDB(exec(&d, CDB(0x2f, 0x04, 0, 0, 0, 0, 0, 0, 8, 0)), 1, 2,
		"VERIFY BYTCHK 2");
	expect_done(exec(&d, CDB(0x8f, 0, 0, 0, 0, 0, 0, 0x1f, 0xff, 0xff,
				0, 0, 0, 1, 0, 0)), "VERIFY(16) last block");
	expect_plain(exec(&d, CDB(0x8f, 0, 0, 0, 0, 0, 0, 0x20, 0, 0,
				 0, 0, 0, 1, 0, 0)),
		     SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE,
		     "VERIFY(16) at the capacity");
}

static void test_unsupported(void)
{
	static const uint8_t opcodes[] = {
		0x01, 0x04, 0x1b, 0x1d, 0x1e, 0x2e, 0x34, 0x37, 0x3b, 0x3c,
		0x41, 0x42, 0x4d, 0x5e, 0x5f, 0x7f, 0x83, 0x84, 0x85, 0x89,
		0x8e, 0x93, 0xa0, 0xa1, 0xa2, 0xa4, 0xb5, 0xc0, 0xff,
	};
	struct scsi_disk d = disk512();

	for (size_t i = 0; i < sizeof(opcodes); i++) {
		uint8_t cdb[16] = { opcodes[i] };

		expect_plain(exec(&d, cdb, sizeof(cdb)),
			     SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE,
			     "unsupported opcode");
	}
	expect_plain(exec(&d, CDB(0x28)), SCSI_SK_ILLEGAL_REQUEST,
		     SCSI_ASC_INVALID_FIELD_CDB, "READ(10) cut at 1 byte");
	expect_plain(exec(&d, CDB(0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
		     SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_CDB,
		     "READ(16) cut at 10 bytes");
	expect_plain(exec(&d, NULL, 0), SCSI_SK_ILLEGAL_REQUEST,
		     SCSI_ASC_INVALID_OPCODE, "no CDB");
}

/* -------------------------------------------------------------- iovecs */

struct guarded {
	uint8_t *mem[6];
	struct iovec iov[6];
	int cnt;
};

/* Each iovec its own heap block, so ASan catches any overrun. */
static void guarded_make(struct guarded *g, const size_t *lens, int cnt)
{
	g->cnt = cnt;
	for (int i = 0; i < cnt; i++) {
		g->mem[i] = malloc(lens[i] ? lens[i] : 1);
		memset(g->mem[i], FILL, lens[i]);
		g->iov[i].iov_base = lens[i] ? g->mem[i] : NULL;
		g->iov[i].iov_len = lens[i];
	}
}

static size_t guarded_gather(const struct guarded *g, uint8_t *out)
{
	size_t n = 0;

	for (int i = 0; i < g->cnt; i++) {
		memcpy(out + n, g->mem[i], g->iov[i].iov_len);
		n += g->iov[i].iov_len;
	}
	return n;
}

static void guarded_free(struct guarded *g)
{
	for (int i = 0; i < g->cnt; i++)
		free(g->mem[i]);
}

static void test_iovecs(void)
{
	static const size_t split[] = { 5, 0, 7, 1, 40, 200 };
	static const size_t short_split[] = { 3, 0, 10, 2 };
	struct scsi_disk d = disk512();
	uint8_t out[300], src[300];
	struct guarded g;
	int st;

	/* INQUIRY across six iovecs, one of them empty. */
	guarded_make(&g, split, 6);
	st = scsi_decode(&d, CDB(0x12, 0, 0, 0, 0xff, 0), g.iov, g.cnt, &io,
			 sense);
	ok_eq(st, SCSI_GOOD, "split INQUIRY");
	ok_eq(io.data_in, 66, "split INQUIRY: data_in");
	ok_eq(scsi_iov_length(g.iov, g.cnt), 253, "split length");
	ok_eq(guarded_gather(&g, out), 253, "gathered");
	ok(memcmp(out, std_inquiry, 66) == 0, "split INQUIRY bytes");
	ok(all_equal(out + 66, 253 - 66, 0), "split INQUIRY zero tail");
	guarded_free(&g);

	/* Fifteen bytes of room: the response is cut there. */
	guarded_make(&g, short_split, 4);
	st = scsi_decode(&d, CDB(0x12, 0, 0, 0, 0xff, 0), g.iov, g.cnt, &io,
			 sense);
	ok_eq(st, SCSI_GOOD, "short split INQUIRY");
	ok_eq(io.data_in, 15, "short split: data_in");
	guarded_gather(&g, out);
	ok(memcmp(out, std_inquiry, 15) == 0, "short split bytes");
	/* A READ needing more than the iovecs hold fails untouched. */
	st = scsi_decode(&d, CDB(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0), g.iov,
			 g.cnt, &io, sense);
	ok_eq(st, SCSI_CHECK_CONDITION, "READ into 15 bytes");
	guarded_free(&g);

	/* The copy helpers on their own. */
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 1);
	guarded_make(&g, split, 6);
	ok_eq(scsi_iov_copy_to(g.iov, g.cnt, src, 300), 253, "copy_to clamps");
	memset(out, 0, sizeof(out));
	ok_eq(scsi_iov_copy_from(g.iov, g.cnt, out, 300), 253,
	      "copy_from clamps");
	ok(memcmp(out, src, 253) == 0, "round trip");
	memset(out, 0, sizeof(out));
	ok_eq(scsi_iov_copy_from(g.iov, 3, out, 300), 12, "three iovecs");
	ok(memcmp(out, src, 12) == 0, "three iovecs: bytes");
	guarded_free(&g);
	guarded_make(&g, split, 6);
	ok_eq(scsi_iov_copy_to(g.iov, g.cnt, src, 6), 6, "copy_to 6");
	ok_eq(g.mem[0][4], src[4], "first iovec");
	ok_eq(g.mem[2][0], src[5], "skips the empty iovec");
	ok_eq(g.mem[2][1], FILL, "stops after 6 bytes");
	guarded_free(&g);

	ok_eq(scsi_iov_length(NULL, 3), 0, "NULL iovecs");
	ok_eq(scsi_iov_length(g.iov, -1), 0, "negative count");
	{
		struct iovec huge[2] = {
			{ NULL, SIZE_MAX - 1 }, { NULL, 5 },
		};

		ok_eq(scsi_iov_length(huge, 2), SIZE_MAX, "saturates");
	}
}

/* ----------------------------------------- what Linux 6.1 sends at attach */

static void test_linux_attach(void)
{
	static const struct {
		uint8_t cdb[16];
		uint8_t len;
		size_t expect;		/* data_in */
	} seq[] = {
		{ { 0x00 }, 6, 0 },
		{ { 0x12, 0, 0, 0, 36 }, 6, 36 },
		{ { 0x12, 0, 0, 0, 66 }, 6, 66 },
		{ { 0x12, 1, 0x00, 0, 255 }, 6, 10 },
		{ { 0x12, 1, 0x80, 0, 255 }, 6, 12 },
		{ { 0x12, 1, 0x83, 0, 255 }, 6, 44 },
		{ { 0x9e, 0x10, [13] = 32 }, 16, 32 },
		{ { 0x1a, 0, 0x3f, 0, 4 }, 6, 4 },
		{ { 0x1a, 0, 0x3f, 0, 192 }, 6, 44 },
		{ { 0x1a, 0x08, 0x08, 0, 192 }, 6, 24 },
		{ { 0xa3, 0x0c, 1, 0x12, [8] = 2 }, 12, 10 },
		{ { 0xa3, 0x0c, 1, 0x93, [8] = 2 }, 12, 4 },
		{ { 0xa3, 0x0c, 1, 0x41, [8] = 2 }, 12, 4 },
		{ { 0xa3, 0x0c, 1, 0xa2, [8] = 2 }, 12, 4 },
		{ { 0xa3, 0x0c, 1, 0xb5, [8] = 2 }, 12, 4 },
		{ { 0x12, 1, 0xb0, 0, 64 }, 6, 64 },
		{ { 0x12, 1, 0xb1, 0, 64 }, 6, 64 },
		{ { 0x12, 1, 0xb2, 0, 64 }, 6, 8 },
		{ { 0x28, 0, 0, 0, 0, 0, 0, 0, 8 }, 10, 0 },
		{ { 0x35 }, 10, 0 },
	};
	struct scsi_disk d = disk512();

	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		int st = exec(&d, seq[i].cdb, seq[i].len);

		ok_eq(st, SCSI_GOOD, "attach command %zu (0x%02x)", i,
		      seq[i].cdb[0]);
		if (io.kind == SCSI_IO_NONE)
			ok_eq(io.data_in, seq[i].expect, "attach %zu", i);
	}
}

/* ------------------------------------------------------- random CDBs */

static uint64_t rng_state = 0x5ca1ab1e5eed;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static void random_disk(struct scsi_disk *d)
{
	static const uint64_t sizes[] = {
		0, 1, 255, 0x200000, UINT64_C(0xffffffff),
		UINT64_C(0x100000000), UINT64_C(1) << 40,
	};

	*d = disk512();
	d->blocks = sizes[rnd() % 7];
	d->block_size = rnd() & 1 ? 512 : 4096;
	d->max_xfer_blocks = (uint32_t)(rnd() % 3 ? rnd() % 4096 : 0);
	d->read_only = rnd() & 1;
	d->write_cache = rnd() & 1;
	d->granularity_blocks = (uint32_t)rnd();
	if (rnd() & 1)
		memset(d->serial, 0, sizeof(d->serial));
	if (rnd() & 1)
		memset(d->naa, 0, sizeof(d->naa));
}

/* Small LBAs and lengths in the block commands' fields, valid flags. */
static void plausible_io(uint8_t *cdb)
{
	uint64_t lba = rnd() % 300, len = rnd() % 5;

	switch (cdb[0]) {
	case 0x08: case 0x0a:
		cdb[1] = 0, cdb[2] = 0, cdb[3] = (uint8_t)lba;
		cdb[4] = (uint8_t)len;
		break;
	case 0x28: case 0x2a: case 0x2f: case 0x35:
		cdb[1] &= 0x18, cdb[5] = (uint8_t)lba, cdb[8] = (uint8_t)len;
		break;
	case 0xa8: case 0xaa:
		cdb[1] &= 0x18, cdb[5] = (uint8_t)lba, cdb[9] = (uint8_t)len;
		break;
	case 0x88: case 0x8a: case 0x8f: case 0x91:
		cdb[1] &= 0x18, cdb[9] = (uint8_t)lba, cdb[13] = (uint8_t)len;
		break;
	}
}

static void random_cdb(uint8_t *cdb, size_t *len)
{
	static const uint8_t common[] = {
		0x00, 0x03, 0x08, 0x0a, 0x12, 0x15, 0x1a, 0x25, 0x28, 0x2a,
		0x2f, 0x35, 0x55, 0x5a, 0x88, 0x8a, 0x8f, 0x91, 0x9e, 0xa3,
		0xa8, 0xaa,
	};
	uint64_t r = rnd();

	for (int i = 0; i < 16; i++) {
		uint64_t b = rnd();

		/* Mostly zero bytes, so that deep paths are reached. */
		cdb[i] = (uint8_t)(b % 4 ? 0 : b >> 8);
	}
	cdb[0] = r & 1 ? common[(r >> 8) % sizeof(common)] : (uint8_t)(r >> 16);
	if (cdb[0] == 0x9e && r & 2)
		cdb[1] = 0x10;
	if (cdb[0] == 0xa3 && r & 2)
		cdb[1] = 0x0c;
	if (cdb[0] == 0xa3)
		cdb[2] &= 0x87;
	*len = r & 4 ? (r >> 24) % 17 : 16;
	if (r & 8) {
		plausible_io(cdb);
		*len = 16;
	}
}

static void test_random(void)
{
	struct scsi_disk d;
	size_t lens[6], cdb_len;
	uint8_t cdb[16], *cdbp;
	unsigned good = 0, io_cmds = 0, checks = 0;
	struct guarded g;

	for (int n = 0; n < 200000; n++) {
		int cnt = (int)(rnd() % 7), st;
		size_t total;

		random_disk(&d);
		random_cdb(cdb, &cdb_len);
		for (int i = 0; i < cnt; i++)
			lens[i] = rnd() % 5 ? rnd() % 3000 : 0;
		guarded_make(&g, lens, cnt);
		total = scsi_iov_length(g.iov, g.cnt);
		/* An exact-size copy of the CDB: reads past it are caught. */
		cdbp = malloc(cdb_len ? cdb_len : 1);
		memcpy(cdbp, cdb, cdb_len);
		st = scsi_decode(&d, cdbp, cdb_len, g.iov, g.cnt, &io, sense);
		free(cdbp);
		if (st == SCSI_GOOD) {
			good++;
			ok(io.data_in <= total, "data_in within the iovecs");
		} else {
			checks++;
			ok_eq(st, SCSI_CHECK_CONDITION, "status");
			ok(sense[0] == 0x70 && sense[2] && sense[12],
			   "sense set for 0x%02x", cdb[0]);
		}
		if (io.kind == SCSI_IO_READ || io.kind == SCSI_IO_WRITE) {
			io_cmds++;
			ok(io.length && io.length <= total,
			   "transfer fits the iovecs");
			ok(io.offset + io.length <=
			   d.blocks * d.block_size, "transfer on the disk");
			ok(!(io.kind == SCSI_IO_WRITE && d.read_only),
			   "no write to a read-only disk");
		}
		guarded_free(&g);
	}
	printf("# random: %u good (%u I/O), %u check conditions\n", good,
	       io_cmds, checks);
	ok(good > 10000 && io_cmds > 1000 && checks > 10000,
	   "the random CDBs reach both outcomes");
}

int main(void)
{
	plan(20);
	run(test_inquiry_standard);
	run(test_inquiry_strings);
	run(test_vpd_basic);
	run(test_vpd_devid);
	run(test_vpd_block_limits);
	run(test_read_capacity);
	run(test_tur_request_sense);
	run(test_io_status);
	run(test_mode_sense6);
	run(test_mode_sense10);
	run(test_mode_select);
	run(test_report_opcodes_all);
	run(test_report_opcodes_one);
	run(test_read_write);
	run(test_read_only_big);
	run(test_sync_verify);
	run(test_unsupported);
	run(test_iovecs);
	run(test_linux_attach);
	run(test_random);
	return done();
}
