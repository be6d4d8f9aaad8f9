// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The decoder's entry points: opcode dispatch and the CDB checks every
 * command shares, sense data, iovec copies, and the small commands
 * answered in a few bytes (TEST UNIT READY, REQUEST SENSE, READ
 * CAPACITY).  Larger families live in scsi-inquiry.c, scsi-mode.c,
 * scsi-opcodes.c and scsi-rw.c.
 */
#include <errno.h>
#include <string.h>

#include "scsi-priv.h"

void scsi_sense_set(uint8_t sense[SCSI_SENSE_SIZE], uint8_t key,
		    uint8_t asc, uint8_t ascq)
{
	memset(sense, 0, SCSI_SENSE_SIZE);
	sense[0] = 0x70;		/* current error, fixed format */
	sense[2] = key & 0x0f;
	sense[7] = 10;			/* additional length: up to byte 17 */
	sense[12] = asc;
	sense[13] = ascq;
}

void scsi_sense_field(uint8_t sense[SCSI_SENSE_SIZE], uint8_t asc,
		      uint8_t ascq, bool in_cdb, uint16_t byte, int bit)
{
	scsi_sense_set(sense, SCSI_SK_ILLEGAL_REQUEST, asc, ascq);
	sense[15] = 0x80;		/* SKSV */
	if (in_cdb)
		sense[15] |= 0x40;	/* C/D */
	if (bit >= 0 && bit < 8)
		sense[15] |= 0x08 | (uint8_t)bit;	/* BPV, bit pointer */
	put_be16(sense + 16, byte);
}

size_t scsi_iov_length(const struct iovec *iov, int iov_cnt)
{
	size_t total = 0;

	for (int i = 0; iov && i < iov_cnt; i++) {
		/* Malformed iovecs saturate rather than wrap. */
		if (iov[i].iov_len > SIZE_MAX - total)
			return SIZE_MAX;
		total += iov[i].iov_len;
	}
	return total;
}

size_t scsi_iov_copy_to(const struct iovec *iov, int iov_cnt,
			const void *buf, size_t len)
{
	const uint8_t *src = buf;
	size_t done = 0;

	for (int i = 0; iov && i < iov_cnt && done < len; i++) {
		size_t n = iov[i].iov_len;

		if (n > len - done)
			n = len - done;
		if (n)
			memcpy(iov[i].iov_base, src + done, n);
		done += n;
	}
	return done;
}

size_t scsi_iov_copy_from(const struct iovec *iov, int iov_cnt, void *buf,
			  size_t len)
{
	uint8_t *dst = buf;
	size_t done = 0;

	for (int i = 0; iov && i < iov_cnt && done < len; i++) {
		size_t n = iov[i].iov_len;

		if (n > len - done)
			n = len - done;
		if (n)
			memcpy(dst + done, iov[i].iov_base, n);
		done += n;
	}
	return done;
}

/* Zeroes the iovecs past their first @skip bytes. */
static void iov_zero_from(const struct iovec *iov, int iov_cnt, size_t skip)
{
	for (int i = 0; iov && i < iov_cnt; i++) {
		size_t n = iov[i].iov_len;

		if (skip >= n) {
			skip -= n;
			continue;
		}
		memset((uint8_t *)iov[i].iov_base + skip, 0, n - skip);
		skip = 0;
	}
}

int scsi_reply(struct scsi_cmd *c, const void *buf, size_t len,
	       uint64_t alloc)
{
	size_t n = len;

	if (alloc < n)
		n = (size_t)alloc;
	n = scsi_iov_copy_to(c->iov, c->iov_cnt, buf, n);
	iov_zero_from(c->iov, c->iov_cnt, n);
	c->io->data_in = n;
	return SCSI_GOOD;
}

int scsi_fail(struct scsi_cmd *c, uint8_t key, uint8_t asc, uint8_t ascq)
{
	scsi_sense_set(c->sense, key, asc, ascq);
	return SCSI_CHECK_CONDITION;
}

int scsi_bad_cdb(struct scsi_cmd *c, uint16_t byte, int bit)
{
	scsi_sense_field(c->sense, 0x24, 0x00, true, byte, bit);
	return SCSI_CHECK_CONDITION;
}

int scsi_io_status(const struct scsi_io *io, int err,
		   uint8_t sense[SCSI_SENSE_SIZE])
{
	if (!err)
		return SCSI_GOOD;
	if (err == -EROFS)
		scsi_sense_set(sense, SCSI_SK_DATA_PROTECT, 0x27, 0x00);
	else if (err == -ENOSPC)
		scsi_sense_set(sense, SCSI_SK_DATA_PROTECT, 0x27, 0x07);
	else if (io && io->kind == SCSI_IO_READ)
		scsi_sense_set(sense, SCSI_SK_MEDIUM_ERROR, 0x11, 0x00);
	else
		scsi_sense_set(sense, SCSI_SK_MEDIUM_ERROR, 0x0c, 0x00);
	return SCSI_CHECK_CONDITION;
}

static int test_unit_ready(struct scsi_cmd *c)
{
	(void)c;
	return SCSI_GOOD;
}

/*
 * Sense is returned with every CHECK CONDITION (autosense), so nothing
 * is ever pending: the answer is always NO SENSE, in the format asked.
 */
static int request_sense(struct scsi_cmd *c)
{
	uint8_t buf[18] = { 0 };
	size_t len;

	if (c->cdb[1] & 0x01) {
		buf[0] = 0x72;		/* descriptor format, no descriptors */
		len = 8;
	} else {
		buf[0] = 0x70;
		buf[7] = 10;
		len = 18;
	}
	return scsi_reply(c, buf, len, c->cdb[4]);
}

static uint64_t last_lba(const struct scsi_disk *d)
{
	return d->blocks ? d->blocks - 1 : 0;
}

static int read_capacity10(struct scsi_cmd *c)
{
	uint64_t last = last_lba(c->disk);
	uint8_t buf[8];

	/* The LBA field is obsolete; SBC-3 allows it only with PMI. */
	if (!(c->cdb[8] & 0x01) && get_be32(c->cdb + 2))
		return scsi_bad_cdb(c, 2, -1);
	/* 0xffffffff sends the initiator to READ CAPACITY(16). */
	put_be32(buf, last > UINT32_MAX ? UINT32_MAX : (uint32_t)last);
	put_be32(buf + 4, c->disk->block_size);
	return scsi_reply(c, buf, sizeof(buf), sizeof(buf));
}

static int read_capacity16(struct scsi_cmd *c)
{
	uint8_t buf[32] = { 0 };

	put_be64(buf, last_lba(c->disk));
	put_be32(buf + 8, c->disk->block_size);
	/* No protection, one block per physical block, LBPME 0. */
	return scsi_reply(c, buf, sizeof(buf), get_be32(c->cdb + 10));
}

/* Sorted by opcode, then service action: REPORT SUPPORTED OPERATION
 * CODES lists them in this order. */
const struct scsi_op scsi_ops[] = {
	{ 0x00, 0, false, 6, { 0x00, 0, 0, 0, 0, 0 }, test_unit_ready },
	{ 0x03, 0, false, 6, { 0x03, 0x01, 0, 0, 0xff, 0 }, request_sense },
	{ 0x08, 0, false, 6, { 0x08, 0x1f, 0xff, 0xff, 0xff, 0 },
	  scsi_read_write },
	{ 0x0a, 0, false, 6, { 0x0a, 0x1f, 0xff, 0xff, 0xff, 0 },
	  scsi_read_write },
	{ 0x12, 0, false, 6, { 0x12, 0x01, 0xff, 0xff, 0xff, 0 },
	  scsi_inquiry },
	{ 0x15, 0, false, 6, { 0x15, 0x11, 0, 0, 0xff, 0 },
	  scsi_mode_select },
	{ 0x1a, 0, false, 6, { 0x1a, 0x08, 0xff, 0xff, 0xff, 0 },
	  scsi_mode_sense },
	{ 0x25, 0, false, 10,
	  { 0x25, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, 0 },
	  read_capacity10 },
	{ 0x28, 0, false, 10,
	  { 0x28, 0x1a, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0 },
	  scsi_read_write },
	{ 0x2a, 0, false, 10,
	  { 0x2a, 0x1a, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0 },
	  scsi_read_write },
	{ 0x2f, 0, false, 10,
	  { 0x2f, 0x10, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0 },
	  scsi_verify },
	{ 0x35, 0, false, 10,
	  { 0x35, 0x06, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0 },
	  scsi_sync_cache },
	{ 0x55, 0, false, 10,
	  { 0x55, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, 0 },
	  scsi_mode_select },
	{ 0x5a, 0, false, 10,
	  { 0x5a, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0 },
	  scsi_mode_sense },
	{ 0x88, 0, false, 16,
	  { 0x88, 0x1a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0x1f, 0 },
	  scsi_read_write },
	{ 0x8a, 0, false, 16,
	  { 0x8a, 0x1a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0x1f, 0 },
	  scsi_read_write },
	{ 0x8f, 0, false, 16,
	  { 0x8f, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0x1f, 0 },
	  scsi_verify },
	{ 0x91, 0, false, 16,
	  { 0x91, 0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0x1f, 0 },
	  scsi_sync_cache },
	{ 0x9e, 0x10, true, 16,
	  { 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
	    0, 0 },
	  read_capacity16 },
	{ 0xa3, 0x0c, true, 12,
	  { 0xa3, 0x0c, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0, 0 },
	  scsi_report_opcodes },
	{ 0xa8, 0, false, 12,
	  { 0xa8, 0x1a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0x1f, 0 },
	  scsi_read_write },
	{ 0xaa, 0, false, 12,
	  { 0xaa, 0x1a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0x1f, 0 },
	  scsi_read_write },
};

const size_t scsi_ops_count = sizeof(scsi_ops) / sizeof(scsi_ops[0]);

bool scsi_op_has_sa(uint8_t opcode)
{
	for (size_t i = 0; i < scsi_ops_count; i++)
		if (scsi_ops[i].opcode == opcode)
			return scsi_ops[i].has_sa;
	return false;
}

const struct scsi_op *scsi_op_find(uint8_t opcode, bool *opcode_known,
				   uint8_t sa)
{
	*opcode_known = false;
	for (size_t i = 0; i < scsi_ops_count; i++) {
		const struct scsi_op *op = &scsi_ops[i];

		if (op->opcode != opcode)
			continue;
		*opcode_known = true;
		if (!op->has_sa || op->sa == sa)
			return op;
	}
	return NULL;
}

/*
 * Every bit outside the usage map must be zero.  Byte 0 is the opcode;
 * in byte 1 of a service-action command only the bits above the
 * 5-bit SERVICE ACTION field are checked.  The control byte is left to
 * check_control().
 */
static int check_fields(struct scsi_cmd *c, const struct scsi_op *op)
{
	for (int i = 1; i < op->cdb_size - 1; i++) {
		uint8_t allowed = op->usage[i];
		uint8_t bad;

		if (i == 1 && op->has_sa)
			allowed = 0x1f;
		/*
		 * INQUIRY's byte 1 bits 7-5 are SCSI-2's LUN field: Linux
		 * fills it in the first INQUIRY of a LUN added before LUN 0
		 * told it the target's SCSI level (tcm_loop adds LUNs in the
		 * order targetcli restores them).  Obsolete: ignored.
		 */
		if (i == 1 && op->opcode == 0x12)
			allowed |= 0xe0;
		bad = c->cdb[i] & (uint8_t)~allowed;
		if (!bad)
			continue;
		for (int bit = 7; bit >= 0; bit--)
			if (bad & (1u << bit))
				return scsi_bad_cdb(c, (uint16_t)i, bit);
	}
	if (c->cdb[op->cdb_size - 1] & SCSI_CONTROL_NACA)
		return scsi_bad_cdb(c, (uint16_t)(op->cdb_size - 1), 2);
	return SCSI_GOOD;
}

int scsi_decode(const struct scsi_disk *disk, const uint8_t *cdb,
		size_t cdb_len, const struct iovec *iov, int iov_cnt,
		struct scsi_io *io, uint8_t sense[SCSI_SENSE_SIZE])
{
	struct scsi_cmd c = {
		.disk = disk, .cdb = cdb, .iov = iov, .io = io, .sense = sense,
		.iov_cnt = iov && iov_cnt > 0 ? iov_cnt : 0,
	};
	const struct scsi_op *op;
	bool known;
	int ret;

	memset(io, 0, sizeof(*io));
	io->kind = SCSI_IO_NONE;
	if (!cdb || !cdb_len)
		return scsi_fail(&c, SCSI_SK_ILLEGAL_REQUEST, 0x20, 0x00);
	op = scsi_op_find(cdb[0], &known, cdb_len > 1 ? cdb[1] & 0x1f : 0);
	if (!known)
		return scsi_fail(&c, SCSI_SK_ILLEGAL_REQUEST, 0x20, 0x00);
	if (!op)
		return scsi_bad_cdb(&c, 1, 4);
	/* A CDB cut short by the ring: its fields are not there to read. */
	if (cdb_len < op->cdb_size)
		return scsi_fail(&c, SCSI_SK_ILLEGAL_REQUEST, 0x24, 0x00);
	ret = check_fields(&c, op);
	if (ret != SCSI_GOOD)
		return ret;
	return op->run(&c);
}
