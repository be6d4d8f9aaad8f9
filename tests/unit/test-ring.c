/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon/ring.c against a fake kernel (fakering.h): real command entries
 * in a mailbox, ring and data area in memory, answered by a plain-file
 * backend, every answer checked: status and sense bytes, data read back,
 * the file's bytes, cmd_tail.  Covers PAD entries and wrap-around, 64
 * commands in flight, answers out of order, TMR entries, and malformed
 * entries (iovecs outside the data area or the region, lying iovec
 * counts, CDBs outside their entry, broken entry lengths).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ring.h"
#include "fakering.h"
#include "tap.h"

#define BLOCKS		2048u		/* 1 MiB file of 512-byte blocks */
#define BS		512u

static int backing_fd = -1;
static uint8_t model[BLOCKS * BS];
static int bad_seen, tmr_seen;
static uint16_t tmr_last_ids[4];
static uint32_t tmr_last_cnt;
static uint8_t tmr_last_type;

static void sense_fixed(uint8_t *sense, uint8_t key, uint8_t asc)
{
	sense[0] = 0x70;
	sense[2] = key;
	sense[7] = 10;
	sense[12] = asc;
}

/* A plain-file backend: READ(10) and WRITE(10), nothing else. */
static uint8_t plain_cmd(void *ctx, const struct ring_cmd *cmd,
			 uint8_t *sense)
{
	uint32_t lba = (uint32_t)cmd->cdb[2] << 24 | cmd->cdb[3] << 16 |
		       cmd->cdb[4] << 8 | cmd->cdb[5];
	uint32_t cnt = (uint32_t)cmd->cdb[7] << 8 | cmd->cdb[8];
	size_t have = 0;
	ssize_t n;
	int i;

	(void)ctx;
	if (cmd->cdb[0] != 0x28 && cmd->cdb[0] != 0x2a) {
		sense_fixed(sense, 0x05, 0x20);	/* INVALID OPCODE */
		return 0x02;
	}
	for (i = 0; i < cmd->iov_cnt; i++)
		have += cmd->iov[i].iov_len;
	if ((uint64_t)lba + cnt > BLOCKS) {
		sense_fixed(sense, 0x05, 0x21);	/* LBA OUT OF RANGE */
		return 0x02;
	}
	if (have != (size_t)cnt * BS) {
		sense_fixed(sense, 0x05, 0x24);	/* INVALID FIELD IN CDB */
		return 0x02;
	}
	if (cmd->cdb[0] == 0x28)
		n = preadv(backing_fd, cmd->iov, cmd->iov_cnt,
			   (off_t)lba * BS);
	else
		n = pwritev(backing_fd, cmd->iov, cmd->iov_cnt,
			    (off_t)lba * BS);
	if (n != (ssize_t)have) {
		sense_fixed(sense, 0x03, 0x11);
		return 0x02;
	}
	return 0;
}

static void plain_bad(void *ctx, const struct ring_cmd *cmd)
{
	(void)ctx;
	(void)cmd;
	bad_seen++;
}

static void plain_tmr(void *ctx, const struct ring_cmd *cmd)
{
	(void)ctx;
	tmr_seen++;
	tmr_last_type = cmd->tmr_type;
	tmr_last_cnt = cmd->tmr_cnt;
	memcpy(tmr_last_ids, cmd->tmr_ids, sizeof(tmr_last_ids));
}

static const struct ring_ops plain_ops = {
	.cmd = plain_cmd,
	.bad = plain_bad,
	.tmr = plain_tmr,
};

static void cdb10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t cnt)
{
	memset(cdb, 0, 10);
	cdb[0] = op;
	cdb[2] = lba >> 24;
	cdb[3] = lba >> 16;
	cdb[4] = lba >> 8;
	cdb[5] = lba;
	cdb[7] = cnt >> 8;
	cdb[8] = cnt;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void fill(uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)rnd();
}

static int reset_backing(void)
{
	char path[] = "/tmp/test-ring.XXXXXX";

	if (backing_fd >= 0)
		close(backing_fd);
	backing_fd = mkstemp(path);
	if (backing_fd < 0)
		return -1;
	unlink(path);
	memset(model, 0, sizeof(model));
	return ftruncate(backing_fd, sizeof(model));
}

static bool file_matches_model(void)
{
	static uint8_t buf[sizeof(model)];

	if (pread(backing_fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		return false;
	return memcmp(buf, model, sizeof(buf)) == 0;
}

/* Serve once, as the daemon does on a uio event, then reap as the kernel. */
static int serve(struct ring *r, struct fakering *fk, bool *kick)
{
	int n = ring_serve(r, &plain_ops, NULL, kick);

	fk_reap(fk);
	return n;
}

static bool answered_good(struct fakering *fk, uint16_t id)
{
	struct fk_result *res = &fk->res[id % FK_MAX_ID];

	return res->done && res->status == 0;
}

static bool answered_sense(struct fakering *fk, uint16_t id, uint8_t key,
			   uint8_t asc)
{
	struct fk_result *res = &fk->res[id % FK_MAX_ID];
	uint8_t want[TCMU_SENSE_BUFFERSIZE] = { 0 };

	sense_fixed(want, key, asc);
	return res->done && res->status == 0x02 &&
	       memcmp(res->sense, want, sizeof(want)) == 0;
}

static void test_attach(void)
{
	struct fakering fk;
	struct ring r;

	ok(fk_init(&fk, 64 * 1024) == 0, "fake ring");
	fk_mb(&fk)->version = 1;
	ok_eq(ring_attach(&r, fk.mem, fk.size), -EINVAL, "version 1");
	ok(strstr(r.why, "mailbox version 1") != NULL, "why: %s", r.why);
	fk_mb(&fk)->version = TCMU_MAILBOX_VERSION;
	fk_mb(&fk)->cmdr_size = (uint32_t)fk.size;
	ok_eq(ring_attach(&r, fk.mem, fk.size), -EINVAL, "ring past region");
	fk_mb(&fk)->cmdr_size = fk.cmdr_size;
	fk_mb(&fk)->cmd_tail = 12;
	ok_eq(ring_attach(&r, fk.mem, fk.size), -EINVAL, "misaligned tail");
	fk_mb(&fk)->cmd_tail = 0;
	ok_eq(ring_attach(&r, fk.mem, 100), -EINVAL, "tiny region");
	ok_eq(ring_attach(&r, fk.mem, fk.size), 0, "good mailbox");
	ok_eq(r.data_off, fk.data_off, "data area offset");
	ok_eq(r.flags & TCMU_MAILBOX_FLAG_CAP_TMR, TCMU_MAILBOX_FLAG_CAP_TMR,
	      "flags");
	fk_free(&fk);
}

/* Write, then read back through scattered iovecs; tail follows head. */
static void test_write_read(void)
{
	static uint8_t out[16 * BS], in[16 * BS];
	struct fakering fk;
	struct ring r;
	uint8_t cdb[10];
	bool kick = false;

	reset_backing();
	ok(fk_init(&fk, 64 * 1024) == 0, "fake ring");
	ok_eq(ring_attach(&r, fk.mem, fk.size), 0, "attach");
	fill(out, sizeof(out));
	cdb10(cdb, 0x2a, 100, 16);
	fk_queue(&fk, 1, cdb, 10, out, sizeof(out));
	ok_eq(serve(&r, &fk, &kick), 1, "one command");
	ok(kick, "kick after an answer");
	ok(answered_good(&fk, 1), "write GOOD");
	memcpy(model + 100 * BS, out, sizeof(out));
	ok(file_matches_model(), "file holds the write");
	cdb10(cdb, 0x28, 100, 16);
	fk_queue(&fk, 2, cdb, 10, NULL, sizeof(in));
	ok_eq(serve(&r, &fk, &kick), 1, "one command");
	ok(answered_good(&fk, 2), "read GOOD");
	fk_gather(&fk, 2, in, sizeof(in));
	ok(memcmp(in, out, sizeof(in)) == 0, "read returns the write");
	ok_eq(fk_tail(&fk), fk.head, "cmd_tail caught up with cmd_head");
	ok_eq(serve(&r, &fk, &kick), 0, "nothing new");
	ok(!kick, "no kick without news");
	fk_free(&fk);
}

/*
 * A 1 KiB ring: hundreds of commands of 1 to 16 iovecs (128 to 312 byte
 * entries) one by one wrap it, with PAD entries.
 */
static void test_wrap_pad(void)
{
	static uint8_t out[128 * BS], in[128 * BS];
	struct fakering fk;
	struct ring r;
	uint8_t cdb[10];
	bool kick;
	uint16_t id = 0;
	int i, bad = 0;

	reset_backing();
	ok(fk_init(&fk, 1024) == 0, "fake ring of 1 KiB");
	ok_eq(ring_attach(&r, fk.mem, fk.size), 0, "attach");
	for (i = 0; i < 400; i++) {
		uint16_t cnt = 1 + rnd() % 128;
		uint32_t lba = rnd() % (BLOCKS - cnt);

		id = (uint16_t)(1 + i % 1000);
		if (i % 2 == 0) {
			fill(out, cnt * BS);
			cdb10(cdb, 0x2a, lba, cnt);
			if (fk_queue(&fk, id, cdb, 10, out, cnt * BS))
				bad++;
			memcpy(model + lba * BS, out, cnt * BS);
		} else {
			cdb10(cdb, 0x28, lba, cnt);
			if (fk_queue(&fk, id, cdb, 10, NULL, cnt * BS))
				bad++;
		}
		if (serve(&r, &fk, &kick) != 1 || !answered_good(&fk, id))
			bad++;
		if (i % 2 == 1) {
			fk_gather(&fk, id, in, cnt * BS);
			if (memcmp(in, model + lba * BS, cnt * BS))
				bad++;
		}
	}
	ok_eq(bad, 0, "every command answered GOOD with the model's data");
	ok(fk.pads >= 10, "PAD entries written: %u", fk.pads);
	ok(fk.wraps >= 20, "ring wrapped: %u", fk.wraps);
	ok(file_matches_model(), "file equals the model");
	ok_eq(fk_tail(&fk), fk.head, "tail at head");
	ok_eq(r.pending, 0, "nothing pending");
	fk_free(&fk);
}

/* 64 commands queued before one kick, across a wrap. */
static void test_64_in_flight(void)
{
	static uint8_t out[64][8 * BS], in[8 * BS];
	uint32_t lba[64];
	struct fakering fk;
	struct ring r;
	uint8_t cdb[10];
	bool kick;
	int i, good = 0, data_ok = 0, once = 0;

	reset_backing();
	/* 64 entries of 128 bytes from 5 KiB on: a 12 KiB ring wraps. */
	ok(fk_init(&fk, 12 * 1024) == 0, "fake ring");
	ok_eq(ring_attach(&r, fk.mem, fk.size), 0, "attach");
	/* Move head and tail near the end first. */
	for (i = 0; i < 40; i++) {
		cdb10(cdb, 0x28, 0, 1);
		fk_queue(&fk, 900, cdb, 10, NULL, BS);
		serve(&r, &fk, &kick);
	}
	for (i = 0; i < 32; i++) {
		lba[i] = (uint32_t)i * 64 + rnd() % 56;
		fill(out[i], sizeof(out[i]));
		cdb10(cdb, 0x2a, lba[i], 8);
		ok_eq(fk_queue(&fk, (uint16_t)(100 + i), cdb, 10, out[i],
			       sizeof(out[i])), 0, "queue write %d", i);
	}
	for (i = 32; i < 64; i++) {
		cdb10(cdb, 0x28, lba[i - 32], 8);
		ok_eq(fk_queue(&fk, (uint16_t)(100 + i), cdb, 10, NULL,
			       8 * BS), 0, "queue read %d", i);
	}
	ok(fk.wraps > 0, "the 64 commands wrap the ring");
	ok_eq(serve(&r, &fk, &kick), 64, "64 commands in one pass");
	ok(kick, "one kick");
	for (i = 0; i < 64; i++) {
		good += answered_good(&fk, (uint16_t)(100 + i));
		once += fk.res[100 + i].times == 1;
	}
	for (i = 32; i < 64; i++) {
		fk_gather(&fk, (uint16_t)(100 + i), in, sizeof(in));
		data_ok += memcmp(in, out[i - 32], sizeof(in)) == 0;
		memcpy(model + lba[i - 32] * BS, out[i - 32], sizeof(in));
	}
	ok_eq(good, 64, "all GOOD");
	ok_eq(once, 64, "each answered exactly once");
	ok_eq(data_ok, 32, "reads see the writes queued before them");
	ok(file_matches_model(), "file equals the model");
	fk_free(&fk);
}

/* Answers in another order than the commands: each id once, right status. */
static void test_out_of_order(void)
{
	uint8_t sense[TCMU_SENSE_BUFFERSIZE] = { 0 };
	struct ring_cmd cmd[3], none;
	struct fakering fk;
	struct ring r;
	uint8_t cdb[10];
	int i;

	ok(fk_init(&fk, 4096) == 0, "fake ring");
	ok_eq(ring_attach(&r, fk.mem, fk.size), 0, "attach");
	for (i = 0; i < 3; i++) {
		cdb10(cdb, 0x28, (uint32_t)i, 1);
		fk_queue(&fk, (uint16_t)(7 + i), cdb, 10, NULL, BS);
	}
	for (i = 0; i < 3; i++)
		ok_eq(ring_next(&r, &cmd[i]), RING_CMD, "entry %d", i);
	ok_eq(ring_next(&r, &none), RING_NONE, "no more");
	sense_fixed(sense, 0x03, 0x11);
	ring_complete(&r, cmd[2].cmd_id, 0x02, sense, sizeof(sense));
	ok(ring_publish(&r), "tail moves after the first answer");
	ok_eq(fk_reap(&fk), 1, "kernel completes one");
	ok(answered_sense(&fk, 9, 0x03, 0x11), "id 9 has its sense");
	ok(!fk.res[7].done && !fk.res[8].done, "7 and 8 still open");
	ring_complete(&r, cmd[0].cmd_id, 0, NULL, 0);
	ring_complete(&r, cmd[1].cmd_id, 0, NULL, 0);
	ok(ring_publish(&r), "tail moves");
	ok_eq(fk_reap(&fk), 2, "kernel completes two");
	ok(answered_good(&fk, 7) && answered_good(&fk, 8), "7 and 8 GOOD");
	ok_eq(fk.res[9].times, 1, "9 answered once");
	for (i = 0; i < 3; i++)
		ring_cmd_release(&cmd[i]);
	fk_free(&fk);
}

static void test_tmr(void)
{
	static const uint16_t ids[3] = { 41, 42, 43 };
	struct fakering fk;
	struct ring r;
	uint8_t cdb[10];
	bool kick;

	tmr_seen = 0;
	ok(fk_init(&fk, 4096) == 0, "fake ring");
	ok_eq(ring_attach(&r, fk.mem, fk.size), 0, "attach");
	cdb10(cdb, 0x28, 0, 1);
	fk_queue(&fk, 40, cdb, 10, NULL, BS);
	fk_queue_tmr(&fk, TCMU_TMR_ABORT_TASK, ids, 3);
	fk_queue(&fk, 44, cdb, 10, NULL, BS);
	ok_eq(serve(&r, &fk, &kick), 3, "two commands and a TMR");
	ok_eq(tmr_seen, 1, "TMR reported");
	ok_eq(tmr_last_type, TCMU_TMR_ABORT_TASK, "type");
	ok_eq(tmr_last_cnt, 3, "count");
	ok(tmr_last_ids[0] == 41 && tmr_last_ids[2] == 43, "ids");
	ok(answered_good(&fk, 40) && answered_good(&fk, 44), "both GOOD");
	ok_eq(fk_tail(&fk), fk.head, "tail past the TMR");
	/* A TMR alone at the end still moves the tail past it. */
	fk_queue_tmr(&fk, TCMU_TMR_LUN_RESET, NULL, 0);
	serve(&r, &fk, &kick);
	ok(kick && fk_tail(&fk) == fk.head, "lone TMR consumed");
	fk_free(&fk);
}

/* Queue a command with forged iovecs; expect HARDWARE ERROR, no I/O. */
static void check_forged(struct fakering *fk, struct ring *r, uint16_t id,
			 const struct iovec *iov, uint32_t cnt,
			 const char *what)
{
	uint8_t cdb[10];
	bool kick;
	int before = bad_seen;

	cdb10(cdb, 0x2a, 0, 8);
	ok_eq(fk_queue_raw(fk, id, cdb, 10, NULL, 0, iov, cnt), 0, "%s", what);
	ok_eq(serve(r, fk, &kick), 1, "%s: served", what);
	ok(answered_sense(fk, id, 0x04, 0x44), "%s: INTERNAL TARGET FAILURE",
	   what);
	ok_eq(bad_seen, before + 1, "%s: reported as malformed", what);
}

static void test_malformed(void)
{
	static uint8_t out[8 * BS];
	struct fakering fk;
	struct ring r;
	struct iovec iov[2];
	uint8_t cdb[10];
	bool kick;

	reset_backing();
	ok(fk_init(&fk, 8192) == 0, "fake ring");
	ok_eq(ring_attach(&r, fk.mem, fk.size), 0, "attach");
	/* base inside the command ring */
	iov[0].iov_base = (void *)(uintptr_t)(fk.cmdr_off + 64);
	iov[0].iov_len = 8 * BS;
	check_forged(&fk, &r, 1, iov, 1, "iovec in the command ring");
	/* runs past the end of the region */
	iov[0].iov_base = (void *)(uintptr_t)(fk.size - BS);
	iov[0].iov_len = 8 * BS;
	check_forged(&fk, &r, 2, iov, 1, "iovec past the region");
	/* base far outside, length wrapping 64 bits */
	iov[0].iov_base = (void *)(uintptr_t)fk.data_off;
	iov[0].iov_len = BS;
	iov[1].iov_base = (void *)(uintptr_t)(fk.data_off + BS);
	iov[1].iov_len = (size_t)-1;
	check_forged(&fk, &r, 3, iov, 2, "iovec length wrapping");
	iov[0].iov_base = (void *)(uintptr_t)(1ull << 63);
	iov[0].iov_len = BS;
	check_forged(&fk, &r, 4, iov, 1, "iovec base 2^63");
	/* more iovecs claimed than the entry holds */
	check_forged(&fk, &r, 5, iov, 0xffffffffu, "iov_cnt 2^32-1");
	check_forged(&fk, &r, 6, iov, 65, "iov_cnt past the entry");
	ok(file_matches_model(), "no malformed command wrote anything");

	/* a CDB outside its entry */
	cdb10(cdb, 0x28, 0, 1);
	fk_queue(&fk, 7, cdb, 10, NULL, BS);
	{
		uint8_t *ent = fk.mem + fk.cmdr_off +
			       (fk.head + fk.cmdr_size - 128) % fk.cmdr_size;
		uint64_t off = fk.size + 4096;

		memcpy(ent + offsetof(struct tcmu_cmd_entry, req.cdb_off),
		       &off, sizeof(off));
	}
	ok_eq(serve(&r, &fk, &kick), 1, "bad cdb_off served");
	ok(answered_sense(&fk, 7, 0x04, 0x44), "bad cdb_off fails");

	/* data length not matching the CDB: 8 blocks, one block of data */
	fill(out, sizeof(out));
	cdb10(cdb, 0x2a, 0, 8);
	fk_queue(&fk, 8, cdb, 10, out, BS);
	serve(&r, &fk, &kick);
	ok(answered_sense(&fk, 8, 0x05, 0x24), "short data: INVALID FIELD");
	ok(file_matches_model(), "nothing written");

	/* the ring still works after all that */
	cdb10(cdb, 0x2a, 10, 8);
	fk_queue(&fk, 9, cdb, 10, out, sizeof(out));
	serve(&r, &fk, &kick);
	ok(answered_good(&fk, 9), "good write after malformed ones");
	memcpy(model + 10 * BS, out, sizeof(out));
	ok(file_matches_model(), "and it landed");
	ok_eq(fk_tail(&fk), fk.head, "tail at head");
	fk_free(&fk);
}

/* Entry lengths that make no sense stop the ring, without a crash. */
static void test_broken_ring(void)
{
	struct tcmu_cmd_entry_hdr hdr = { 0 };
	struct fakering fk;
	struct ring r;
	uint8_t cdb[10];
	bool kick;

	ok(fk_init(&fk, 4096) == 0, "fake ring");
	ok_eq(ring_attach(&r, fk.mem, fk.size), 0, "attach");
	cdb10(cdb, 0x28, 0, 1);
	fk_queue(&fk, 1, cdb, 10, NULL, BS);
	hdr.len_op = tcmu_len_op(0, TCMU_OP_CMD);
	memcpy(fk.mem + fk.cmdr_off + fk.head, &hdr, sizeof(hdr));
	fk_publish(&fk, 64);
	ok_eq(ring_serve(&r, &plain_ops, NULL, &kick), -EIO, "zero length");
	ok(kick, "the command before it is still answered");
	fk_reap(&fk);
	ok(answered_good(&fk, 1), "id 1 GOOD");
	ok(strstr(r.why, "entry length") != NULL, "why: %s", r.why);
	ok_eq(ring_serve(&r, &plain_ops, NULL, &kick), -EIO, "stays broken");
	fk_free(&fk);

	ok(fk_init(&fk, 4096) == 0, "fake ring");
	ok_eq(ring_attach(&r, fk.mem, fk.size), 0, "attach");
	hdr.len_op = tcmu_len_op(8192, TCMU_OP_CMD);	/* past the ring */
	memcpy(fk.mem + fk.cmdr_off, &hdr, sizeof(hdr));
	fk_publish(&fk, 256);
	ok_eq(ring_serve(&r, &plain_ops, NULL, &kick), -EIO, "too long");
	fk_free(&fk);

	ok(fk_init(&fk, 4096) == 0, "fake ring");
	ok_eq(ring_attach(&r, fk.mem, fk.size), 0, "attach");
	hdr.len_op = tcmu_len_op(128, 5);	/* no such opcode */
	memcpy(fk.mem + fk.cmdr_off, &hdr, sizeof(hdr));
	fk_publish(&fk, 128);
	ok_eq(ring_serve(&r, &plain_ops, NULL, &kick), -EIO, "bad opcode");
	fk_free(&fk);

	ok(fk_init(&fk, 4096) == 0, "fake ring");
	ok_eq(ring_attach(&r, fk.mem, fk.size), 0, "attach");
	fk_mb(&fk)->cmd_head = 4100;		/* past the ring */
	ok_eq(ring_serve(&r, &plain_ops, NULL, &kick), -EIO, "head outside");
	ok(strstr(r.why, "cmd_head") != NULL, "why: %s", r.why);
	fk_free(&fk);
}

static void test_cdb_len(void)
{
	uint8_t cdb[16] = { 0 };

	cdb[0] = 0x00;
	ok_eq(ring_cdb_len(cdb, 16), 6, "group 0");
	cdb[0] = 0x2a;
	ok_eq(ring_cdb_len(cdb, 16), 10, "group 1");
	cdb[0] = 0x5a;
	ok_eq(ring_cdb_len(cdb, 16), 10, "group 2");
	cdb[0] = 0xa0;
	ok_eq(ring_cdb_len(cdb, 16), 12, "group 5");
	cdb[0] = 0x8a;
	ok_eq(ring_cdb_len(cdb, 16), 16, "group 4");
	cdb[0] = 0x7f;
	cdb[7] = 24;
	ok_eq(ring_cdb_len(cdb, 16), 32, "variable length");
	ok_eq(ring_cdb_len(cdb, 4), 0, "variable length, truncated");
	ok_eq(ring_cdb_len(cdb, 0), 0, "nothing");
}

int main(void)
{
	plan(9);
	run(test_attach);
	run(test_write_read);
	run(test_wrap_pad);
	run(test_64_in_flight);
	run(test_out_of_order);
	run(test_tmr);
	run(test_malformed);
	run(test_broken_ring);
	run(test_cdb_len);
	if (backing_fd >= 0)
		close(backing_fd);
	return done();
}
