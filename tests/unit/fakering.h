/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake target_core_user for daemon tests: one malloc'd region holding
 * the mailbox, the command ring and the data area, laid out and filled as
 * drivers/target/target_core_user.c does (entry sizes, PAD before the
 * end of the ring, the CDB after the iovecs, iovec bases as offsets from
 * the mailbox), and the kernel's completion walk from its last cleaned
 * slot to cmd_tail.  Under ASan any access past the region is caught.
 *
 * Each command id owns a fixed piece of the data area (FK_SLOT bytes),
 * handed out as FK_BLOCK sized iovecs in reverse block order, so that
 * scatter/gather is exercised with non-contiguous buffers.
 */
#ifndef SNAPCOW_FAKERING_H
#define SNAPCOW_FAKERING_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tcmu.h"

#define FK_BLOCK	4096u
#define FK_SLOTS	128u
#define FK_SLOT		(64u * 1024u)
#define FK_MAX_ID	1024u

struct fk_result {
	bool done;
	int times;		/* answers seen for this id */
	uint8_t status;
	uint8_t sense[TCMU_SENSE_BUFFERSIZE];
};

struct fakering {
	uint8_t *mem;
	size_t size;
	uint32_t cmdr_off, cmdr_size;
	uint64_t data_off;
	uint32_t head;		/* kernel's copy of cmd_head */
	uint32_t cleaned;	/* kernel's last cleaned slot */
	unsigned int pads, wraps, broken;
	struct fk_result res[FK_MAX_ID];
};

static inline struct tcmu_mailbox *fk_mb(struct fakering *fk)
{
	return (struct tcmu_mailbox *)(void *)fk->mem;
}

static inline int fk_init(struct fakering *fk, uint32_t cmdr_size)
{
	memset(fk, 0, sizeof(*fk));
	fk->cmdr_off = 128;	/* sizeof(struct tcmu_mailbox), cacheline */
	fk->cmdr_size = cmdr_size;
	fk->data_off = fk->cmdr_off + cmdr_size;
	fk->size = fk->data_off + (size_t)FK_SLOTS * FK_SLOT;
	fk->mem = calloc(1, fk->size);
	if (!fk->mem)
		return -1;
	fk_mb(fk)->version = TCMU_MAILBOX_VERSION;
	fk_mb(fk)->flags = TCMU_MAILBOX_FLAG_CAP_OOOC |
			   TCMU_MAILBOX_FLAG_CAP_READ_LEN |
			   TCMU_MAILBOX_FLAG_CAP_TMR;
	fk_mb(fk)->cmdr_off = fk->cmdr_off;
	fk_mb(fk)->cmdr_size = cmdr_size;
	return 0;
}

static inline void fk_free(struct fakering *fk)
{
	free(fk->mem);
	fk->mem = NULL;
}

static inline uint8_t *fk_data(struct fakering *fk, uint16_t id)
{
	return fk->mem + fk->data_off + (size_t)(id % FK_SLOTS) * FK_SLOT;
}

static inline uint32_t fk_tail(struct fakering *fk)
{
	return __atomic_load_n(&fk_mb(fk)->cmd_tail, __ATOMIC_ACQUIRE);
}

static inline uint32_t fk_free_space(struct fakering *fk)
{
	uint32_t used = (fk->head + fk->cmdr_size - fk->cleaned) %
			fk->cmdr_size;

	return fk->cmdr_size - used - 1;
}

static inline uint32_t fk_round8(uint64_t n)
{
	return (uint32_t)((n + 7) & ~7ull);
}

/* Room for @len bytes before the end, or a PAD entry and a wrap. */
static inline int fk_reserve(struct fakering *fk, uint32_t len)
{
	uint32_t to_end = fk->cmdr_size - fk->head;
	struct tcmu_cmd_entry_hdr hdr = { 0 };

	if (len > to_end) {
		if (fk_free_space(fk) < to_end + len)
			return -1;
		hdr.len_op = tcmu_len_op(to_end, TCMU_OP_PAD);
		memcpy(fk->mem + fk->cmdr_off + fk->head, &hdr, sizeof(hdr));
		fk->head = 0;
		fk->pads++;
		fk->wraps++;
	}
	return fk_free_space(fk) < len ? -1 : 0;
}

static inline void fk_publish(struct fakering *fk, uint32_t len)
{
	fk->head = (fk->head + len) % fk->cmdr_size;
	if (!fk->head)
		fk->wraps++;
	__atomic_store_n(&fk_mb(fk)->cmd_head, fk->head, __ATOMIC_RELEASE);
}

/*
 * Queue a command as the kernel does: @data_len bytes of @id's data
 * slot as iovecs, @out copied in first (writes).  @iov_override, when
 * not NULL, replaces the iovecs (malformed-entry tests).
 */
static inline int fk_queue_raw(struct fakering *fk, uint16_t id,
			       const uint8_t *cdb, size_t cdb_len,
			       const void *out, uint32_t data_len,
			       const struct iovec *iov_override,
			       uint32_t iov_cnt_override)
{
	uint32_t nblk = (data_len + FK_BLOCK - 1) / FK_BLOCK;
	uint32_t cnt = iov_override ? iov_cnt_override : nblk;
	/* A lying count (more than 64) is stored with no iovecs at all. */
	uint32_t stored = iov_override ? (cnt > 64 ? 0 : cnt) : nblk;
	size_t iov_bytes = (size_t)stored * sizeof(struct iovec);
	uint64_t base_size = offsetof(struct tcmu_cmd_entry, req.iov) +
			     iov_bytes;
	struct tcmu_cmd_entry e;
	uint32_t base, len, i;
	uint8_t *ent;

	base = fk_round8(base_size > sizeof(e) ? base_size : sizeof(e));
	len = fk_round8((uint64_t)base + cdb_len);
	if (data_len > FK_SLOT || fk_reserve(fk, len))
		return -1;
	ent = fk->mem + fk->cmdr_off + fk->head;
	memset(&e, 0, sizeof(e));
	e.hdr.len_op = tcmu_len_op(len, TCMU_OP_CMD);
	e.hdr.cmd_id = id;
	e.req.iov_cnt = cnt;
	e.req.cdb_off = fk->cmdr_off + fk->head + base;
	memcpy(ent, &e, sizeof(e));
	if (iov_override) {
		memcpy(ent + offsetof(struct tcmu_cmd_entry, req.iov),
		       iov_override, iov_bytes);
	} else {
		for (i = 0; i < nblk; i++) {
			uint32_t blk = nblk - 1 - i;	/* reverse order */
			uint32_t off = i * FK_BLOCK;
			struct iovec v;

			v.iov_base = (void *)(uintptr_t)(fk->data_off +
				(size_t)(id % FK_SLOTS) * FK_SLOT +
				(size_t)blk * FK_BLOCK);
			v.iov_len = data_len - off < FK_BLOCK ?
				    data_len - off : FK_BLOCK;
			if (out)
				memcpy(fk->mem + (uintptr_t)v.iov_base,
				       (const uint8_t *)out + off, v.iov_len);
			memcpy(ent + offsetof(struct tcmu_cmd_entry,
					      req.iov) + i * sizeof(v),
			       &v, sizeof(v));
		}
	}
	memcpy(ent + base, cdb, cdb_len);
	fk->res[id % FK_MAX_ID].done = false;
	fk_publish(fk, len);
	return 0;
}

static inline int fk_queue(struct fakering *fk, uint16_t id,
			   const uint8_t *cdb, size_t cdb_len,
			   const void *out, uint32_t data_len)
{
	return fk_queue_raw(fk, id, cdb, cdb_len, out, data_len, NULL, 0);
}

/* Read back @len bytes of @id's data the way the iovecs laid them out. */
static inline void fk_gather(struct fakering *fk, uint16_t id, void *buf,
			     uint32_t len)
{
	uint32_t nblk = (len + FK_BLOCK - 1) / FK_BLOCK, i;

	for (i = 0; i < nblk; i++) {
		uint32_t blk = nblk - 1 - i;
		uint32_t n = len - i * FK_BLOCK < FK_BLOCK ?
			     len - i * FK_BLOCK : FK_BLOCK;

		memcpy((uint8_t *)buf + (size_t)i * FK_BLOCK,
		       fk_data(fk, id) + (size_t)blk * FK_BLOCK, n);
	}
}

static inline void fk_queue_tmr(struct fakering *fk, uint8_t type,
				const uint16_t *ids, uint32_t cnt)
{
	struct tcmu_tmr_entry t;
	uint32_t len = fk_round8(sizeof(t) + cnt * sizeof(uint16_t));
	uint8_t *ent;

	if (fk_reserve(fk, len))
		return;
	ent = fk->mem + fk->cmdr_off + fk->head;
	memset(&t, 0, sizeof(t));
	t.hdr.len_op = tcmu_len_op(len, TCMU_OP_TMR);
	t.tmr_type = type;
	t.cmd_cnt = cnt;
	memcpy(ent, &t, sizeof(t));
	if (cnt)
		memcpy(ent + sizeof(t), ids, cnt * sizeof(uint16_t));
	fk_publish(fk, len);
}

/*
 * The kernel's side of a kick: walk from the last cleaned slot to
 * cmd_tail, skip PAD and TMR, record each command slot's answer.
 * Returns the number of commands completed.
 */
static inline int fk_reap(struct fakering *fk)
{
	uint32_t tail = fk_tail(fk);
	int n = 0;

	while (fk->cleaned != tail) {
		uint8_t *ent = fk->mem + fk->cmdr_off + fk->cleaned;
		struct tcmu_cmd_entry e;
		struct fk_result *res;

		memcpy(&e.hdr, ent, sizeof(e.hdr));
		if (tcmu_hdr_get_op(e.hdr.len_op) == TCMU_OP_CMD) {
			memcpy(&e, ent, sizeof(e));
			res = &fk->res[e.hdr.cmd_id % FK_MAX_ID];
			res->done = true;
			res->times++;
			res->status = e.rsp.scsi_status;
			memcpy(res->sense, e.rsp.sense_buffer,
			       sizeof(res->sense));
			n++;
		}
		if (!tcmu_hdr_get_len(e.hdr.len_op)) {
			fk->broken++;
			break;
		}
		fk->cleaned = (fk->cleaned + tcmu_hdr_get_len(e.hdr.len_op)) %
			      fk->cmdr_size;
	}
	return n;
}

#endif /* SNAPCOW_FAKERING_H */
