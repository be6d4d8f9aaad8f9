/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SCSI block-device emulation for snapcowd: pure functions over one
 * command, no I/O and no TCMU knowledge, so that every opcode is
 * unit-tested without a kernel.
 *
 * The ring code hands a CDB and the command's data buffer (iovecs) to
 * scsi_decode().  Commands answered from the disk's description alone
 * (INQUIRY, READ CAPACITY, MODE SENSE, ...) are completed there: their
 * data is copied into the iovecs and the SAM status returned.  Commands
 * that move data (READ, WRITE) or flush (SYNCHRONIZE CACHE) come back as
 * a struct scsi_io for the device layer to run; the device layer then
 * calls scsi_io_status() with the errno it got, which builds the sense.
 */
#ifndef SNAPCOWD_SCSI_H
#define SNAPCOWD_SCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* SAM status codes. */
#define SCSI_GOOD			0x00
#define SCSI_CHECK_CONDITION		0x02

/* Sense keys. */
#define SCSI_SK_NO_SENSE		0x0
#define SCSI_SK_NOT_READY		0x2
#define SCSI_SK_MEDIUM_ERROR		0x3
#define SCSI_SK_HARDWARE_ERROR		0x4
#define SCSI_SK_ILLEGAL_REQUEST		0x5
#define SCSI_SK_UNIT_ATTENTION		0x6
#define SCSI_SK_DATA_PROTECT		0x7
#define SCSI_SK_ABORTED_COMMAND		0xb

/* Additional sense codes (ASC << 8 | ASCQ) the emulation sets. */
#define SCSI_ASC_WRITE_ERROR		0x0c00
#define SCSI_ASC_UNRECOVERED_READ	0x1100
#define SCSI_ASC_PARAM_LIST_LENGTH	0x1a00
#define SCSI_ASC_INVALID_OPCODE		0x2000
#define SCSI_ASC_LBA_OUT_OF_RANGE	0x2100
#define SCSI_ASC_INVALID_FIELD_CDB	0x2400
#define SCSI_ASC_INVALID_FIELD_PARAM	0x2600
#define SCSI_ASC_WRITE_PROTECTED	0x2700
#define SCSI_ASC_SPACE_ALLOC_FAILED_WP	0x2707
#define SCSI_ASC_SAVING_NOT_SUPPORTED	0x3900
#define SCSI_ASC_INTERNAL_FAILURE	0x4400

/* The sense buffer TCMU carries (TCMU_SENSE_BUFFERSIZE). */
#define SCSI_SENSE_SIZE			96

/* What the LUN is: set by the device layer, read by the decoder. */
struct scsi_disk {
	uint64_t blocks;		/* logical blocks */
	uint32_t block_size;		/* bytes: 512 or 4096 */
	uint32_t max_xfer_blocks;	/* VPD 0xb0; from the ring's data area */
	bool write_cache;		/* WCE in the caching mode page */
	bool read_only;			/* WP in MODE SENSE; writes: DATA PROTECT */
	char vendor[9];			/* INQUIRY, space padded on output */
	char product[17];
	char revision[5];
	char serial[64];		/* VPD 0x80 */
	uint8_t naa[16];		/* VPD 0x83: NAA IEEE registered extended */
	/*
	 * VPD 0xb0 optimal transfer length granularity: the COW chunk in
	 * blocks, so initiators align I/O to chunks; 0 (or more than the
	 * field's 0xffff) is not reported.
	 */
	uint32_t granularity_blocks;
};

enum scsi_io_kind {
	SCSI_IO_NONE,			/* completed by scsi_decode */
	SCSI_IO_READ,
	SCSI_IO_WRITE,
	SCSI_IO_FLUSH,			/* SYNCHRONIZE CACHE */
};

/* A data command for the device layer. */
struct scsi_io {
	enum scsi_io_kind kind;
	uint64_t offset;		/* bytes */
	uint64_t length;		/* bytes; 0 for FLUSH */
	bool fua;			/* WRITE with FUA: durable before status */
	/*
	 * SCSI_IO_NONE: bytes of data-in the command wrote at the start of
	 * the iovecs (TCMU's read_len); scsi_decode zeroes the rest of them,
	 * so no stale data-area bytes reach the initiator.
	 */
	size_t data_in;
};

/*
 * Decode @cdb for @disk.  Returns the SAM status when the command is
 * complete (io->kind == SCSI_IO_NONE; @sense filled on CHECK CONDITION),
 * or SCSI_GOOD with io->kind set when the device layer must do the I/O
 * described by @io into or out of @iov (whose total length was checked
 * against the transfer length).  Never reads or writes outside @iov.
 *
 * Data-in answers are cut at the allocation length and at the iovecs'
 * end (io->data_in says how much was written).  Iovecs too short for a
 * READ, WRITE or MODE SELECT transfer are a malformed ring entry:
 * HARDWARE ERROR, INTERNAL TARGET FAILURE.  A @cdb_len shorter than the
 * opcode's CDB: ILLEGAL REQUEST, INVALID FIELD IN CDB.  Safe to call
 * from several threads at once (no state).
 */
int scsi_decode(const struct scsi_disk *disk, const uint8_t *cdb,
		size_t cdb_len, const struct iovec *iov, int iov_cnt,
		struct scsi_io *io, uint8_t sense[SCSI_SENSE_SIZE]);

/*
 * The status for a finished data command: 0 is GOOD; -EROFS gives DATA
 * PROTECT (write protected: an invalidated snapshot); -ENOSPC gives
 * DATA PROTECT / SPACE ALLOCATION FAILED WRITE PROTECT; any other error
 * MEDIUM ERROR (read: unrecovered read error, write: write error).
 */
int scsi_io_status(const struct scsi_io *io, int err,
		   uint8_t sense[SCSI_SENSE_SIZE]);

/* Fixed-format sense data (response code 0x70). */
void scsi_sense_set(uint8_t sense[SCSI_SENSE_SIZE], uint8_t key,
		    uint8_t asc, uint8_t ascq);

/*
 * ILLEGAL REQUEST with @asc/@ascq and a sense-key specific field
 * pointer: byte @byte of the CDB (@in_cdb) or of the parameter list,
 * bit @bit (0-7; -1 for the whole byte).
 */
void scsi_sense_field(uint8_t sense[SCSI_SENSE_SIZE], uint8_t asc,
		      uint8_t ascq, bool in_cdb, uint16_t byte, int bit);

/* Bytes across an iovec array; copies clamp to it. */
size_t scsi_iov_length(const struct iovec *iov, int iov_cnt);
size_t scsi_iov_copy_to(const struct iovec *iov, int iov_cnt,
			const void *buf, size_t len);
size_t scsi_iov_copy_from(const struct iovec *iov, int iov_cnt, void *buf,
			  size_t len);

#endif /* SNAPCOWD_SCSI_H */
