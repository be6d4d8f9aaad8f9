// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Walking the TCMU command ring (see ring.h).  Layout facts, from the
 * kernel's drivers/target/target_core_user.c:
 *
 *  - entries are 8-byte aligned and never wrap: when one does not fit
 *    before the end of the ring the kernel writes a PAD entry there;
 *  - a command entry is at least sizeof(struct tcmu_cmd_entry) long, so
 *    its slot can hold the response; its iovecs follow the header, and
 *    the CDB follows the iovecs inside the same entry (cdb_off, like the
 *    iovecs' bases, counts from the start of the mapping);
 *  - on a kick the kernel walks from its last cleaned slot to cmd_tail,
 *    skips PAD and TMR slots and completes the command whose cmd_id it
 *    finds in each command slot: answers may go into any unanswered
 *    command slot in order, which is what lets commands finish out of
 *    order.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "tcmu.h"

#define HDR_SIZE	sizeof(struct tcmu_cmd_entry_hdr)
#define IOV_OFF		offsetof(struct tcmu_cmd_entry, req.iov)
#define TMR_IDS_OFF	offsetof(struct tcmu_tmr_entry, cmd_ids)
#define MB_HEAD_OFF	offsetof(struct tcmu_mailbox, cmd_head)
#define MB_TAIL_OFF	offsetof(struct tcmu_mailbox, cmd_tail)

_Static_assert(RING_SENSE_SIZE == TCMU_SENSE_BUFFERSIZE,
	       "a response's sense buffer");

static uint32_t *mb_word(struct ring *r, size_t off)
{
	return (uint32_t *)(void *)(r->base + off);
}

static int ring_break(struct ring *r, const char *what, uint32_t at)
{
	r->broken = true;
	snprintf(r->why, sizeof(r->why), "%s at ring offset %u", what, at);
	return -EIO;
}

int ring_attach(struct ring *r, void *base, size_t size)
{
	struct tcmu_mailbox mb;
	uint32_t tail;

	memset(r, 0, sizeof(*r));
	r->base = base;
	r->size = size;
	if (size < MB_TAIL_OFF + sizeof(uint32_t)) {
		snprintf(r->why, sizeof(r->why),
			 "a %zu byte region cannot hold a mailbox", size);
		return -EINVAL;
	}
	memcpy(&mb, base, offsetof(struct tcmu_mailbox, cmd_head));
	if (mb.version != TCMU_MAILBOX_VERSION) {
		snprintf(r->why, sizeof(r->why),
			 "mailbox version %u, expected %u", mb.version,
			 TCMU_MAILBOX_VERSION);
		return -EINVAL;
	}
	if (mb.cmdr_off < MB_TAIL_OFF + sizeof(uint32_t) ||
	    mb.cmdr_off % TCMU_OP_ALIGN_SIZE ||
	    mb.cmdr_size < sizeof(struct tcmu_cmd_entry) ||
	    mb.cmdr_size % TCMU_OP_ALIGN_SIZE ||
	    (uint64_t)mb.cmdr_off + mb.cmdr_size > size) {
		snprintf(r->why, sizeof(r->why),
			 "command ring at %u, %u bytes, does not fit a %zu byte region",
			 mb.cmdr_off, mb.cmdr_size, size);
		return -EINVAL;
	}
	r->flags = mb.flags;
	r->cmdr_off = mb.cmdr_off;
	r->cmdr_size = mb.cmdr_size;
	r->data_off = (uint64_t)mb.cmdr_off + mb.cmdr_size;
	tail = __atomic_load_n(mb_word(r, MB_TAIL_OFF), __ATOMIC_ACQUIRE);
	if (tail >= r->cmdr_size || tail % TCMU_OP_ALIGN_SIZE) {
		snprintf(r->why, sizeof(r->why), "cmd_tail %u outside the ring",
			 tail);
		return -EINVAL;
	}
	r->parsed = tail;
	r->done = tail;
	return 0;
}

static uint32_t ring_advance(const struct ring *r, uint32_t pos, uint32_t len)
{
	return (uint32_t)(((uint64_t)pos + len) % r->cmdr_size);
}

static uint8_t *ring_entry(struct ring *r, uint32_t pos)
{
	return r->base + r->cmdr_off + pos;
}

static struct tcmu_cmd_entry_hdr ring_hdr(struct ring *r, uint32_t pos)
{
	struct tcmu_cmd_entry_hdr hdr;

	memcpy(&hdr, ring_entry(r, pos), sizeof(hdr));
	return hdr;
}

size_t ring_cdb_len(const uint8_t *cdb, size_t avail)
{
	static const uint8_t group_len[8] = { 6, 10, 10, 12, 16, 12, 10, 10 };

	if (avail < 1)
		return 0;
	if (cdb[0] == 0x7f)	/* VARIABLE LENGTH: additional length + 8 */
		return avail < 8 ? 0 : (size_t)cdb[7] + 8;
	return group_len[cdb[0] >> 5];
}

/* The CDB: inside this entry, its length from its opcode's group. */
static int ring_copy_cdb(struct ring *r, uint32_t pos, uint32_t len,
			 uint64_t cdb_off, struct ring_cmd *cmd)
{
	uint64_t start = (uint64_t)r->cmdr_off + pos;
	uint64_t end = start + len;
	const uint8_t *cdb;

	if (cdb_off < start + HDR_SIZE || cdb_off >= end)
		return RING_BAD_CDB;
	cdb = r->base + cdb_off;
	cmd->cdb_len = ring_cdb_len(cdb, end - cdb_off);
	if (!cmd->cdb_len || cmd->cdb_len > end - cdb_off ||
	    cmd->cdb_len > sizeof(cmd->cdb))
		return RING_BAD_CDB;
	memcpy(cmd->cdb, cdb, cmd->cdb_len);
	return RING_BAD_NONE;
}

/* The iovecs: each one wholly inside the data area. */
static int ring_copy_iov(struct ring *r, const uint8_t *ent, uint32_t cnt,
			 struct ring_cmd *cmd)
{
	struct iovec kiov;
	uint32_t i;

	if (!cnt)
		return RING_BAD_NONE;
	cmd->iov = cnt <= RING_IOV_INLINE ? cmd->iov_inline :
					    calloc(cnt, sizeof(*cmd->iov));
	if (!cmd->iov)
		return RING_BAD_IOV_COUNT;
	for (i = 0; i < cnt; i++) {
		uint64_t off, ilen;

		memcpy(&kiov, ent + IOV_OFF + i * sizeof(kiov), sizeof(kiov));
		off = (uint64_t)(uintptr_t)kiov.iov_base;
		ilen = kiov.iov_len;
		if (off < r->data_off || off > r->size ||
		    ilen > r->size - off)
			return RING_BAD_IOV_RANGE;
		cmd->iov[i].iov_base = r->base + off;
		cmd->iov[i].iov_len = ilen;
	}
	cmd->iov_cnt = (int)cnt;
	return RING_BAD_NONE;
}

static void ring_parse_cmd(struct ring *r, uint32_t pos, uint32_t len,
			   struct ring_cmd *cmd)
{
	const uint8_t *ent = ring_entry(r, pos);
	struct tcmu_cmd_entry e;
	uint64_t total;

	memcpy(&e, ent, sizeof(e));
	cmd->cmd_id = e.hdr.cmd_id;
	total = (uint64_t)e.req.iov_cnt + e.req.iov_bidi_cnt +
		e.req.iov_dif_cnt;
	if (total > RING_IOV_MAX ||
	    IOV_OFF + total * sizeof(struct iovec) > len) {
		cmd->bad = RING_BAD_IOV_COUNT;
		return;
	}
	cmd->bad = ring_copy_cdb(r, pos, len, e.req.cdb_off, cmd);
	if (cmd->bad)
		return;
	if (e.req.iov_bidi_cnt || e.req.iov_dif_cnt) {
		cmd->bad = RING_BAD_BIDI;
		return;
	}
	cmd->bad = ring_copy_iov(r, ent, e.req.iov_cnt, cmd);
	if (cmd->bad)
		ring_cmd_release(cmd);
}

static void ring_parse_tmr(struct ring *r, uint32_t pos, uint32_t len,
			   struct ring_cmd *cmd)
{
	const uint8_t *ent = ring_entry(r, pos);
	struct tcmu_tmr_entry t;
	uint32_t room = (len - TMR_IDS_OFF) / sizeof(uint16_t);

	memcpy(&t, ent, sizeof(t));
	cmd->cmd_id = t.hdr.cmd_id;
	cmd->tmr_type = t.tmr_type;
	cmd->tmr_cnt = t.cmd_cnt;
	if (cmd->tmr_cnt > room)
		cmd->tmr_cnt = room;
	if (cmd->tmr_cnt > RING_TMR_IDS_MAX)
		cmd->tmr_cnt = RING_TMR_IDS_MAX;
	memcpy(cmd->tmr_ids, ent + TMR_IDS_OFF,
	       cmd->tmr_cnt * sizeof(uint16_t));
}

/* Bytes from @from to @to going forward round the ring. */
static uint32_t ring_dist(const struct ring *r, uint32_t from, uint32_t to)
{
	return to >= from ? to - from : r->cmdr_size - from + to;
}

int ring_next(struct ring *r, struct ring_cmd *cmd)
{
	struct tcmu_cmd_entry_hdr hdr;
	uint32_t head, len, pos;

	memset(cmd, 0, offsetof(struct ring_cmd, tmr_ids));
	if (r->broken)
		return -EIO;
	head = __atomic_load_n(mb_word(r, MB_HEAD_OFF), __ATOMIC_ACQUIRE);
	if (head >= r->cmdr_size || head % TCMU_OP_ALIGN_SIZE)
		return ring_break(r, "cmd_head outside the ring", head);
	while (r->parsed != head) {
		pos = r->parsed;
		hdr = ring_hdr(r, pos);
		len = tcmu_hdr_get_len(hdr.len_op);
		if (!len || len > r->cmdr_size - pos ||
		    len > ring_dist(r, pos, head))
			return ring_break(r, "entry length out of bounds", pos);
		switch (tcmu_hdr_get_op(hdr.len_op)) {
		case TCMU_OP_PAD:
			r->parsed = ring_advance(r, pos, len);
			continue;
		case TCMU_OP_TMR:
			if (len < TMR_IDS_OFF)
				return ring_break(r, "short TMR entry", pos);
			ring_parse_tmr(r, pos, len, cmd);
			r->parsed = ring_advance(r, pos, len);
			return RING_TMR;
		case TCMU_OP_CMD:
			if (len < sizeof(struct tcmu_cmd_entry))
				return ring_break(r, "short command entry",
						  pos);
			ring_parse_cmd(r, pos, len, cmd);
			r->parsed = ring_advance(r, pos, len);
			r->pending++;
			return RING_CMD;
		default:
			return ring_break(r, "unknown entry opcode", pos);
		}
	}
	return RING_NONE;
}

bool ring_has_new(struct ring *r)
{
	return !r->broken &&
	       __atomic_load_n(mb_word(r, MB_HEAD_OFF), __ATOMIC_ACQUIRE) !=
	       r->parsed;
}

void ring_cmd_release(struct ring_cmd *cmd)
{
	if (cmd->iov != cmd->iov_inline)
		free(cmd->iov);
	cmd->iov = NULL;
	cmd->iov_cnt = 0;
}

/* Past PAD and TMR slots: the kernel needs no answer in them. */
static void ring_skip_unanswered(struct ring *r)
{
	struct tcmu_cmd_entry_hdr hdr;

	while (r->done != r->parsed) {
		hdr = ring_hdr(r, r->done);
		if (tcmu_hdr_get_op(hdr.len_op) == TCMU_OP_CMD)
			return;
		r->done = ring_advance(r, r->done,
				       tcmu_hdr_get_len(hdr.len_op));
	}
}

void ring_complete(struct ring *r, uint16_t cmd_id, uint8_t status,
		   const uint8_t *sense, size_t sense_len)
{
	struct tcmu_cmd_entry_hdr hdr;
	uint8_t *ent;
	uint8_t rsp[sizeof(((struct tcmu_cmd_entry *)0)->rsp)];

	ring_skip_unanswered(r);
	if (r->done == r->parsed || !r->pending)
		return;		/* more answers than commands: a caller bug */
	ent = ring_entry(r, r->done);
	hdr = ring_hdr(r, r->done);
	hdr.cmd_id = cmd_id;
	hdr.uflags = 0;
	memset(rsp, 0, sizeof(rsp));
	rsp[0] = status;
	if (sense) {
		if (sense_len > TCMU_SENSE_BUFFERSIZE)
			sense_len = TCMU_SENSE_BUFFERSIZE;
		memcpy(rsp + offsetof(struct tcmu_cmd_entry, rsp.sense_buffer) -
		       offsetof(struct tcmu_cmd_entry, rsp), sense, sense_len);
	}
	memcpy(ent + offsetof(struct tcmu_cmd_entry, rsp), rsp, sizeof(rsp));
	memcpy(ent, &hdr, sizeof(hdr));
	r->done = ring_advance(r, r->done, tcmu_hdr_get_len(hdr.len_op));
	r->pending--;
}

bool ring_publish(struct ring *r)
{
	uint32_t *tail = mb_word(r, MB_TAIL_OFF);

	ring_skip_unanswered(r);
	if (__atomic_load_n(tail, __ATOMIC_RELAXED) == r->done)
		return false;
	/* Responses are visible before the tail that hands them over. */
	__atomic_store_n(tail, r->done, __ATOMIC_RELEASE);
	return true;
}

void ring_bad_sense(uint8_t sense[RING_SENSE_SIZE])
{
	memset(sense, 0, RING_SENSE_SIZE);
	sense[0] = 0x70;	/* current, fixed format */
	sense[2] = 0x04;	/* HARDWARE ERROR */
	sense[7] = 10;		/* additional sense length */
	sense[12] = 0x44;	/* INTERNAL TARGET FAILURE */
	sense[13] = 0x00;
}

uint8_t ring_run(const struct ring_ops *ops, void *ctx,
		 const struct ring_cmd *cmd, uint8_t sense[RING_SENSE_SIZE])
{
	memset(sense, 0, RING_SENSE_SIZE);
	if (!cmd->bad)
		return ops->cmd(ctx, cmd, sense);
	ring_bad_sense(sense);
	if (ops->bad)
		ops->bad(ctx, cmd);
	return 0x02;	/* CHECK CONDITION */
}

void ring_answer(struct ring *r, const struct ring_cmd *cmd, uint8_t status,
		 const uint8_t sense[RING_SENSE_SIZE])
{
	ring_complete(r, cmd->cmd_id, status, status ? sense : NULL,
		      RING_SENSE_SIZE);
}

int ring_serve(struct ring *r, const struct ring_ops *ops, void *ctx,
	       bool *kick)
{
	uint8_t sense[RING_SENSE_SIZE];
	struct ring_cmd cmd;
	int kind, n = 0;

	while ((kind = ring_next(r, &cmd)) > 0) {
		n++;
		if (kind == RING_TMR) {
			if (ops->tmr)
				ops->tmr(ctx, &cmd);
			continue;
		}
		ring_answer(r, &cmd, ring_run(ops, ctx, &cmd, sense), sense);
		ring_cmd_release(&cmd);
	}
	*kick = ring_publish(r);
	return kind < 0 ? kind : n;
}
