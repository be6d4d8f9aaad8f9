// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Commands that address blocks: READ and WRITE (6/10/12/16), SYNCHRONIZE
 * CACHE (10/16) and VERIFY (10/16).  They are range-checked here and
 * handed to the device layer as a struct scsi_io.
 */
#include "scsi-priv.h"

/* Where a CDB keeps its LBA and length, by CDB size. */
struct scsi_range {
	uint64_t lba;
	uint32_t blocks;
	uint16_t len_byte;		/* for the sense field pointer */
};

static struct scsi_range cdb_range(const uint8_t *cdb)
{
	struct scsi_range r = { 0 };

	switch (cdb[0] >> 5) {
	case 0:				/* 6-byte: 21-bit LBA, 0 means 256 */
		r.lba = (uint64_t)(cdb[1] & 0x1f) << 16 | get_be16(cdb + 2);
		r.blocks = cdb[4] ? cdb[4] : 256;
		r.len_byte = 4;
		break;
	case 1:				/* 10-byte */
	case 2:
		r.lba = get_be32(cdb + 2);
		r.blocks = get_be16(cdb + 7);
		r.len_byte = 7;
		break;
	case 5:				/* 12-byte */
		r.lba = get_be32(cdb + 2);
		r.blocks = get_be32(cdb + 6);
		r.len_byte = 6;
		break;
	default:			/* 16-byte */
		r.lba = get_be64(cdb + 2);
		r.blocks = get_be32(cdb + 10);
		r.len_byte = 10;
		break;
	}
	return r;
}

/*
 * An LBA that does not exist is out of range even with no blocks to
 * move: the SBC text checks the address, not only the end.
 */
static bool in_range(const struct scsi_disk *d, uint64_t lba,
		     uint64_t blocks)
{
	return lba < d->blocks && blocks <= d->blocks - lba;
}

static int lba_out_of_range(struct scsi_cmd *c)
{
	return scsi_fail(c, SCSI_SK_ILLEGAL_REQUEST, 0x21, 0x00);
}

int scsi_read_write(struct scsi_cmd *c)
{
	const struct scsi_disk *d = c->disk;
	bool write = c->cdb[0] & 0x02;	/* 0x0a 0x2a 0x8a 0xaa */
	struct scsi_range r = cdb_range(c->cdb);
	uint64_t bytes;

	if (write && d->read_only)
		return scsi_fail(c, SCSI_SK_DATA_PROTECT, 0x27, 0x00);
	if (!in_range(d, r.lba, r.blocks))
		return lba_out_of_range(c);
	if (d->max_xfer_blocks && r.blocks > d->max_xfer_blocks)
		return scsi_bad_cdb(c, r.len_byte, -1);
	if (!r.blocks)
		return SCSI_GOOD;
	bytes = (uint64_t)r.blocks * d->block_size;
	/*
	 * The data buffer must hold the whole transfer: the ring handed us
	 * a command whose iovecs disagree with its CDB.
	 */
	if (scsi_iov_length(c->iov, c->iov_cnt) < bytes)
		return scsi_fail(c, SCSI_SK_HARDWARE_ERROR, 0x44, 0x00);
	c->io->kind = write ? SCSI_IO_WRITE : SCSI_IO_READ;
	c->io->offset = r.lba * d->block_size;
	c->io->length = bytes;
	/* FUA matters to writes only: reads always come from the store.
	 * DPO is a cache hint and is ignored. */
	c->io->fua = write && (c->cdb[0] >> 5) && (c->cdb[1] & 0x08);
	return SCSI_GOOD;
}

int scsi_sync_cache(struct scsi_cmd *c)
{
	struct scsi_range r = cdb_range(c->cdb);
	uint64_t blocks = r.blocks;

	/* NUMBER OF LOGICAL BLOCKS 0: through the last block. */
	if (!blocks && r.lba < c->disk->blocks)
		blocks = c->disk->blocks - r.lba;
	if (!in_range(c->disk, r.lba, blocks))
		return lba_out_of_range(c);
	/* IMMED may return early; completing the flush first is allowed. */
	c->io->kind = SCSI_IO_FLUSH;
	return SCSI_GOOD;
}

/*
 * BYTCHK 0 (the only form accepted) asks the medium to be readable;
 * the store has no media errors it could find without reading, so a
 * range check is the answer.
 */
int scsi_verify(struct scsi_cmd *c)
{
	struct scsi_range r = cdb_range(c->cdb);

	if (!in_range(c->disk, r.lba, r.blocks))
		return lba_out_of_range(c);
	return SCSI_GOOD;
}
