// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * INQUIRY: the standard data and the vital product data pages a Linux
 * initiator reads when a LUN attaches (0x00, 0x80, 0x83, 0xb0, 0xb1,
 * 0xb2).
 */
#include <string.h>

#include "scsi-priv.h"

#define PERIPHERAL_DISK		0x00	/* qualifier 0, direct access */

/* Space-padded printable ASCII: what the T10 text fields require. */
static void put_ascii(uint8_t *dst, const char *src, size_t src_size,
		      size_t width)
{
	size_t len = strnlen(src, src_size);

	for (size_t i = 0; i < width; i++) {
		char ch = i < len ? src[i] : ' ';

		dst[i] = ch >= 0x20 && ch < 0x7f ? (uint8_t)ch : ' ';
	}
}

static int inquiry_std(struct scsi_cmd *c, uint16_t alloc)
{
	const struct scsi_disk *d = c->disk;
	uint8_t buf[66] = { 0 };

	buf[0] = PERIPHERAL_DISK;
	buf[2] = 0x06;			/* SPC-4 */
	buf[3] = 0x12;			/* HISUP, response data format 2 */
	buf[4] = sizeof(buf) - 5;
	buf[7] = 0x02;			/* CMDQUE: the ring is a queue */
	put_ascii(buf + 8, d->vendor, sizeof(d->vendor), 8);
	put_ascii(buf + 16, d->product, sizeof(d->product), 16);
	put_ascii(buf + 32, d->revision, sizeof(d->revision), 4);
	/* Version descriptors: SAM-5, SPC-4, SBC-3. */
	put_be16(buf + 58, 0x00a0);
	put_be16(buf + 60, 0x0460);
	put_be16(buf + 62, 0x04c0);
	return scsi_reply(c, buf, sizeof(buf), alloc);
}

static const uint8_t vpd_pages[] = { 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2 };

/* The VPD header; the caller fills the page length. */
static void vpd_header(uint8_t *buf, uint8_t page)
{
	buf[0] = PERIPHERAL_DISK;
	buf[1] = page;
}

static size_t vpd_supported(const struct scsi_disk *d, uint8_t *buf)
{
	(void)d;
	memcpy(buf + 4, vpd_pages, sizeof(vpd_pages));
	return 4 + sizeof(vpd_pages);
}

static size_t vpd_serial(const struct scsi_disk *d, uint8_t *buf)
{
	size_t len = strnlen(d->serial, sizeof(d->serial));

	put_ascii(buf + 4, d->serial, sizeof(d->serial), len);
	return 4 + len;
}

static bool naa_set(const struct scsi_disk *d)
{
	for (size_t i = 0; i < sizeof(d->naa); i++)
		if (d->naa[i])
			return true;
	return false;
}

/*
 * Device identification: the NAA designator when the device layer gave
 * one, and always a T10 vendor id one (vendor, then the unit serial,
 * or the NAA in hex while the serial is not known yet), both with
 * association to the logical unit.
 */
static size_t vpd_devid(const struct scsi_disk *d, uint8_t *buf)
{
	static const char hex[] = "0123456789abcdef";
	size_t off = 4, serial = strnlen(d->serial, sizeof(d->serial));
	uint8_t *t10;

	if (naa_set(d)) {
		buf[off] = 0x01;		/* binary */
		buf[off + 1] = 0x03;		/* LU, NAA */
		buf[off + 3] = sizeof(d->naa);
		memcpy(buf + off + 4, d->naa, sizeof(d->naa));
		off += 4 + sizeof(d->naa);
	}
	t10 = buf + off;
	t10[0] = 0x02;				/* ASCII */
	t10[1] = 0x01;				/* LU, T10 vendor id */
	put_ascii(t10 + 4, d->vendor, sizeof(d->vendor), 8);
	if (serial) {
		put_ascii(t10 + 12, d->serial, sizeof(d->serial), serial);
	} else {
		for (size_t i = 0; i < sizeof(d->naa); i++) {
			t10[12 + 2 * i] = (uint8_t)hex[d->naa[i] >> 4];
			t10[13 + 2 * i] = (uint8_t)hex[d->naa[i] & 15];
		}
		serial = 2 * sizeof(d->naa);
	}
	t10[3] = (uint8_t)(8 + serial);
	return off + 4 + 8 + serial;
}

static size_t vpd_block_limits(const struct scsi_disk *d, uint8_t *buf)
{
	if (d->granularity_blocks <= 0xffff)
		put_be16(buf + 6, (uint16_t)d->granularity_blocks);
	put_be32(buf + 8, d->max_xfer_blocks);
	/* No UNMAP, no WRITE SAME, no COMPARE AND WRITE: all zero. */
	return 64;
}

static size_t vpd_characteristics(const struct scsi_disk *d, uint8_t *buf)
{
	(void)d;
	put_be16(buf + 4, 0x0001);	/* non-rotating medium */
	return 64;
}

/* Logical block provisioning: none (LBPME is 0 in READ CAPACITY). */
static size_t vpd_provisioning(const struct scsi_disk *d, uint8_t *buf)
{
	(void)d;
	buf[4] = 0;		/* no threshold */
	buf[5] = 0;		/* no LBPU, LBPWS, LBPWS10, LBPRZ, ANC_SUP */
	buf[6] = 0;		/* provisioning type: fully provisioned */
	return 8;
}

static int inquiry_vpd(struct scsi_cmd *c, uint8_t page, uint16_t alloc)
{
	static size_t (*const fill[])(const struct scsi_disk *, uint8_t *) = {
		vpd_supported, vpd_serial, vpd_devid,
		vpd_block_limits, vpd_characteristics, vpd_provisioning,
	};
	uint8_t buf[256] = { 0 };
	size_t len;

	for (size_t i = 0; i < sizeof(vpd_pages); i++) {
		if (vpd_pages[i] != page)
			continue;
		vpd_header(buf, page);
		len = fill[i](c->disk, buf);
		put_be16(buf + 2, (uint16_t)(len - 4));
		return scsi_reply(c, buf, len, alloc);
	}
	return scsi_bad_cdb(c, 2, -1);
}

int scsi_inquiry(struct scsi_cmd *c)
{
	uint16_t alloc = get_be16(c->cdb + 3);

	if (c->cdb[1] & 0x01)
		return inquiry_vpd(c, c->cdb[2], alloc);
	/* Without EVPD, PAGE CODE must be zero. */
	if (c->cdb[2])
		return scsi_bad_cdb(c, 2, -1);
	return inquiry_std(c, alloc);
}
