// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * MODE SENSE (6/10) and MODE SELECT (6/10): the caching page (0x08,
 * WCE as the store really behaves) and the control page (0x0a).  No
 * parameter can be changed or saved, so MODE SELECT accepts only
 * parameters equal to the current ones.
 */
#include <string.h>

#include "scsi-priv.h"

enum { PC_CURRENT, PC_CHANGEABLE, PC_DEFAULT, PC_SAVED };

#define PAGE_CACHING		0x08
#define PAGE_CONTROL		0x0a
#define PAGE_ALL		0x3f

#define DEVSPEC_WP		0x80
#define DEVSPEC_DPOFUA		0x10

/* Big enough for the largest mode data we build or accept. */
#define MODE_MAX		256

/* One page into @p; returns its length, 0 when the page is unknown. */
static size_t mode_page(const struct scsi_disk *d, int pc, uint8_t code,
			uint8_t *p)
{
	switch (code) {
	case PAGE_CACHING:
		memset(p, 0, 20);
		p[0] = PAGE_CACHING;
		p[1] = 20 - 2;
		if (pc != PC_CHANGEABLE && d->write_cache)
			p[2] = 0x04;		/* WCE */
		return 20;
	case PAGE_CONTROL:
		memset(p, 0, 12);
		p[0] = PAGE_CONTROL;
		p[1] = 12 - 2;
		if (pc != PC_CHANGEABLE) {
			p[2] = 0x02;		/* GLTSD: no log pages */
			p[3] = 0x10;		/* unrestricted reordering */
		}
		return 12;
	default:
		return 0;
	}
}

/* The block descriptor of MODE SENSE: short (8 bytes) or long (16). */
static size_t block_descriptor(const struct scsi_disk *d, bool longlba,
			       uint8_t *p)
{
	if (longlba) {
		memset(p, 0, 16);
		put_be64(p, d->blocks);
		put_be32(p + 12, d->block_size);
		return 16;
	}
	memset(p, 0, 8);
	put_be32(p, d->blocks > UINT32_MAX ? UINT32_MAX : (uint32_t)d->blocks);
	put_be32(p + 4, d->block_size & 0xffffff);
	return 8;
}

static int check_page(struct scsi_cmd *c, int pc, uint8_t page,
		      uint8_t subpage)
{
	if (pc == PC_SAVED) {
		scsi_sense_field(c->sense, 0x39, 0x00, true, 2, 7);
		return SCSI_CHECK_CONDITION;
	}
	if (page != PAGE_ALL && page != PAGE_CACHING && page != PAGE_CONTROL)
		return scsi_bad_cdb(c, 2, 5);
	/* No subpages: only "all pages and subpages" is also accepted. */
	if (subpage && !(page == PAGE_ALL && subpage == 0xff))
		return scsi_bad_cdb(c, 3, -1);
	return SCSI_GOOD;
}

int scsi_mode_sense(struct scsi_cmd *c)
{
	const struct scsi_disk *d = c->disk;
	bool ten = c->cdb[0] == 0x5a;
	bool dbd = c->cdb[1] & 0x08;
	bool longlba = ten && (c->cdb[1] & 0x10);
	int pc = c->cdb[2] >> 6;
	uint8_t page = c->cdb[2] & 0x3f;
	size_t hdr = ten ? 8 : 4, len = hdr, bdl = 0;
	uint8_t buf[MODE_MAX] = { 0 };
	int ret;

	ret = check_page(c, pc, page, c->cdb[3]);
	if (ret != SCSI_GOOD)
		return ret;
	if (!dbd)
		bdl = block_descriptor(d, longlba, buf + hdr);
	len += bdl;
	if (page == PAGE_ALL || page == PAGE_CACHING)
		len += mode_page(d, pc, PAGE_CACHING, buf + len);
	if (page == PAGE_ALL || page == PAGE_CONTROL)
		len += mode_page(d, pc, PAGE_CONTROL, buf + len);
	if (ten) {
		put_be16(buf, (uint16_t)(len - 2));
		buf[3] = DEVSPEC_DPOFUA | (d->read_only ? DEVSPEC_WP : 0);
		buf[4] = bdl == 16 ? 0x01 : 0x00;	/* LONGLBA */
		put_be16(buf + 6, (uint16_t)bdl);
		return scsi_reply(c, buf, len, get_be16(c->cdb + 7));
	}
	buf[0] = (uint8_t)(len - 1);
	buf[2] = DEVSPEC_DPOFUA | (d->read_only ? DEVSPEC_WP : 0);
	buf[3] = (uint8_t)bdl;
	return scsi_reply(c, buf, len, c->cdb[4]);
}

static int bad_param(struct scsi_cmd *c, size_t byte, int bit)
{
	scsi_sense_field(c->sense, 0x26, 0x00, false, (uint16_t)byte, bit);
	return SCSI_CHECK_CONDITION;
}

static int param_length_error(struct scsi_cmd *c)
{
	return scsi_fail(c, SCSI_SK_ILLEGAL_REQUEST, 0x1a, 0x00);
}

/* The highest bit where @a and @b differ (they do differ). */
static int diff_bit(uint8_t a, uint8_t b)
{
	int bit = 7;

	while (!((a ^ b) & (1u << bit)))
		bit--;
	return bit;
}

/* A block descriptor may restate the geometry, never change it. */
static int select_descriptor(struct scsi_cmd *c, const uint8_t *p,
			     size_t off, size_t bdl)
{
	const struct scsi_disk *d = c->disk;
	uint8_t cur[16];
	uint64_t blocks = bdl == 16 ? get_be64(p) : get_be32(p);
	uint64_t shown = bdl == 16 || d->blocks <= UINT32_MAX ?
			 d->blocks : UINT32_MAX;

	if (blocks && blocks != shown)
		return bad_param(c, off, -1);
	block_descriptor(d, bdl == 16, cur);
	for (size_t i = bdl == 16 ? 8 : 4; i < bdl; i++)
		if (p[i] != cur[i])
			return bad_param(c, off + i, diff_bit(p[i], cur[i]));
	return SCSI_GOOD;
}

static int select_page(struct scsi_cmd *c, const uint8_t *buf, size_t off,
		       size_t plen, size_t *next)
{
	uint8_t cur[MODE_MAX];
	size_t len, cur_len;

	if (plen - off < 2)
		return param_length_error(c);
	if (buf[off] & 0x40)			/* SPF: we have no subpages */
		return bad_param(c, off, 6);
	len = (size_t)buf[off + 1] + 2;
	if (len > plen - off)
		return param_length_error(c);
	cur_len = mode_page(c->disk, PC_CURRENT, buf[off] & 0x3f, cur);
	if (!cur_len)
		return bad_param(c, off, 5);
	if (len != cur_len)
		return bad_param(c, off + 1, -1);
	for (size_t i = 2; i < len; i++)
		if (buf[off + i] != cur[i])
			return bad_param(c, off + i,
					 diff_bit(buf[off + i], cur[i]));
	*next = off + len;
	return SCSI_GOOD;
}

int scsi_mode_select(struct scsi_cmd *c)
{
	bool ten = c->cdb[0] == 0x55;
	size_t plen = ten ? get_be16(c->cdb + 7) : c->cdb[4];
	size_t hdr = ten ? 8 : 4, bdl, off;
	uint8_t buf[MODE_MAX];
	int ret;

	if (c->cdb[1] & 0x01)			/* SP: nothing is saved */
		return scsi_bad_cdb(c, 1, 0);
	if (!plen)
		return SCSI_GOOD;
	if (!(c->cdb[1] & 0x10))		/* PF 0: vendor format */
		return scsi_bad_cdb(c, 1, 4);
	if (plen < hdr || plen > sizeof(buf))
		return param_length_error(c);
	if (scsi_iov_length(c->iov, c->iov_cnt) < plen)
		return scsi_fail(c, SCSI_SK_HARDWARE_ERROR, 0x44, 0x00);
	scsi_iov_copy_from(c->iov, c->iov_cnt, buf, plen);
	/* MODE DATA LENGTH and the device-specific byte are reserved here. */
	if (buf[ten ? 2 : 1])
		return bad_param(c, ten ? 2 : 1, -1);
	bdl = ten ? get_be16(buf + 6) : buf[3];
	if (bdl != 0 && bdl != (ten && (buf[4] & 0x01) ? 16u : 8u))
		return bad_param(c, ten ? 6 : 3, -1);
	if (bdl > plen - hdr)
		return param_length_error(c);
	if (bdl) {
		ret = select_descriptor(c, buf + hdr, hdr, bdl);
		if (ret != SCSI_GOOD)
			return ret;
	}
	for (off = hdr + bdl; off < plen;) {
		ret = select_page(c, buf, off, plen, &off);
		if (ret != SCSI_GOOD)
			return ret;
	}
	return SCSI_GOOD;
}
