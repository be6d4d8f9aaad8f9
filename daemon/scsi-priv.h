/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by the scsi*.c files only: one command being decoded, the
 * opcode table entry, big-endian field access and the data-in reply.
 */
#ifndef SNAPCOWD_SCSI_PRIV_H
#define SNAPCOWD_SCSI_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi.h"

struct scsi_cmd {
	const struct scsi_disk *disk;
	const uint8_t *cdb;
	const struct iovec *iov;
	int iov_cnt;
	struct scsi_io *io;
	uint8_t *sense;
};

/*
 * One supported command.  usage[] is what REPORT SUPPORTED OPERATION
 * CODES returns as the CDB usage data (opcode, service action, then a
 * bit per CDB bit the command takes) and also the mask of bits the
 * decoder accepts: a bit outside it is INVALID FIELD IN CDB.
 */
struct scsi_op {
	uint8_t opcode;
	uint8_t sa;			/* valid when has_sa */
	bool has_sa;
	uint8_t cdb_size;
	uint8_t usage[16];
	int (*run)(struct scsi_cmd *c);
};

/* The CDB's control byte: NACA is the one bit we check (no ACA). */
#define SCSI_CONTROL_NACA	0x04

extern const struct scsi_op scsi_ops[];
extern const size_t scsi_ops_count;

const struct scsi_op *scsi_op_find(uint8_t opcode, bool *opcode_known,
				   uint8_t sa);
bool scsi_op_has_sa(uint8_t opcode);

/* Completes a data-in command: @len bytes of @buf, cut at @alloc. */
int scsi_reply(struct scsi_cmd *c, const void *buf, size_t len,
	       uint64_t alloc);
int scsi_fail(struct scsi_cmd *c, uint8_t key, uint8_t asc, uint8_t ascq);
int scsi_bad_cdb(struct scsi_cmd *c, uint16_t byte, int bit);

/* Handlers. */
int scsi_inquiry(struct scsi_cmd *c);
int scsi_mode_sense(struct scsi_cmd *c);
int scsi_mode_select(struct scsi_cmd *c);
int scsi_report_opcodes(struct scsi_cmd *c);
int scsi_read_write(struct scsi_cmd *c);
int scsi_sync_cache(struct scsi_cmd *c);
int scsi_verify(struct scsi_cmd *c);

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

#endif /* SNAPCOWD_SCSI_PRIV_H */
