// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * REPORT SUPPORTED OPERATION CODES (MAINTENANCE IN, service action
 * 0x0c): every command of the opcode table, or one with its CDB usage
 * map, optionally with a command timeouts descriptor (RCTD).
 */
#include <string.h>

#include "scsi-priv.h"

#define RCTD			0x80
#define SUPPORT_NONE		0x01	/* not supported */
#define SUPPORT_STANDARD	0x03	/* supported, as the standard says */

/*
 * Commands finish as fast as the store does: no nominal time, and the
 * recommended timeout is Linux's default for a disk command.
 */
#define TIMEOUT_RECOMMENDED	30

static size_t timeouts_descriptor(uint8_t *p)
{
	memset(p, 0, 12);
	put_be16(p, 10);			/* descriptor length */
	put_be32(p + 8, TIMEOUT_RECOMMENDED);
	return 12;
}

static int report_all(struct scsi_cmd *c, bool rctd, uint32_t alloc)
{
	uint8_t buf[4 + 32 * 20] = { 0 };
	size_t len = 4;

	for (size_t i = 0; i < scsi_ops_count; i++) {
		const struct scsi_op *op = &scsi_ops[i];
		uint8_t *p = buf + len;

		p[0] = op->opcode;
		put_be16(p + 2, op->has_sa ? op->sa : 0);
		p[5] = (rctd ? 0x02 : 0) | (op->has_sa ? 0x01 : 0);
		put_be16(p + 6, op->cdb_size);
		len += 8;
		if (rctd)
			len += timeouts_descriptor(buf + len);
	}
	put_be32(buf, (uint32_t)(len - 4));
	return scsi_reply(c, buf, len, alloc);
}

static int report_one(struct scsi_cmd *c, const struct scsi_op *op,
		      bool rctd, uint32_t alloc)
{
	uint8_t buf[4 + 16 + 12] = { 0 };
	size_t len = 4;

	if (!op) {
		buf[1] = SUPPORT_NONE;
		return scsi_reply(c, buf, len, alloc);
	}
	buf[1] = (rctd ? 0x80 : 0) | SUPPORT_STANDARD;
	put_be16(buf + 2, op->cdb_size);
	memcpy(buf + 4, op->usage, op->cdb_size);
	len += op->cdb_size;
	if (rctd)
		len += timeouts_descriptor(buf + len);
	return scsi_reply(c, buf, len, alloc);
}

int scsi_report_opcodes(struct scsi_cmd *c)
{
	bool rctd = c->cdb[2] & RCTD;
	int options = c->cdb[2] & 0x07;
	uint8_t opcode = c->cdb[3];
	uint16_t sa = get_be16(c->cdb + 4);
	uint32_t alloc = get_be32(c->cdb + 6);
	bool known, has_sa = scsi_op_has_sa(opcode);
	const struct scsi_op *op;

	switch (options) {
	case 0:
		return report_all(c, rctd, alloc);
	case 1:				/* opcode alone */
		if (has_sa)
			return scsi_bad_cdb(c, 2, 2);
		sa = 0;
		break;
	case 2:				/* opcode and service action */
		if (!has_sa && scsi_op_find(opcode, &known, 0))
			return scsi_bad_cdb(c, 2, 2);
		break;
	case 3:				/* service action if it has one */
		if (!has_sa)
			sa = 0;
		break;
	default:
		return scsi_bad_cdb(c, 2, 2);
	}
	op = sa > 0x1f ? NULL : scsi_op_find(opcode, &known, (uint8_t)sa);
	return report_one(c, op, rctd, alloc);
}
