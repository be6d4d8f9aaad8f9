/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The TCMU command ring over a memory region: mailbox, command ring and
 * data area as target_core_user lays them out (linux/target_core_user.h).
 * No file descriptors and no mmap here, so that a test can hand it a
 * region in memory and play the kernel's part.
 *
 * The kernel is trusted to own the ring, but every offset and length read
 * from the region is checked before use: a malformed command fails with
 * sense, a malformed ring stops the device; neither touches memory outside
 * the region.
 */
#ifndef SNAPCOWD_RING_H
#define SNAPCOWD_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Longest CDB the kernel can put in an entry: variable length, 8 + 255. */
#define RING_CDB_MAX		264
/* Most iovecs one command may carry (the data area is at most 1 GiB). */
#define RING_IOV_MAX		(1u << 18)
#define RING_IOV_INLINE		16u
#define RING_TMR_IDS_MAX	256
/* Sense bytes in a response (TCMU_SENSE_BUFFERSIZE). */
#define RING_SENSE_SIZE		96

struct ring {
	uint8_t *base;		/* start of the mapping: the mailbox */
	size_t size;		/* bytes mapped */
	uint32_t cmdr_off;	/* copied once: the kernel never moves them */
	uint32_t cmdr_size;
	uint64_t data_off;	/* data area: [data_off, size) */
	uint16_t flags;		/* TCMU_MAILBOX_FLAG_* */
	uint32_t parsed;	/* next entry to read */
	uint32_t done;		/* next slot to answer in; cmd_tail */
	uint32_t pending;	/* commands read but not answered yet */
	bool broken;		/* the ring itself made no sense: stopped */
	char why[160];		/* what broke it */
};

enum ring_kind {
	RING_NONE,		/* nothing new between cmd_tail and cmd_head */
	RING_CMD,
	RING_TMR,
};

/* One command, copied out of its entry. */
struct ring_cmd {
	uint16_t cmd_id;
	uint8_t cdb[RING_CDB_MAX];
	size_t cdb_len;
	struct iovec *iov;	/* pointers into the data area, checked */
	int iov_cnt;
	int bad;		/* non-zero: malformed entry, fail it */
	/* TMR: what the kernel tells about its aborts */
	uint8_t tmr_type;
	uint32_t tmr_cnt;
	uint16_t tmr_ids[RING_TMR_IDS_MAX];
	/* @iov when it fits: most commands need no allocation. */
	struct iovec iov_inline[RING_IOV_INLINE];
};

/* Reasons for a malformed command (ring_cmd.bad). */
enum ring_bad {
	RING_BAD_NONE,
	RING_BAD_CDB,		/* cdb_off or CDB length outside the entry */
	RING_BAD_IOV_COUNT,	/* iovec array does not fit the entry */
	RING_BAD_IOV_RANGE,	/* an iovec outside the data area */
	RING_BAD_BIDI,		/* bidirectional or DIF data: not served */
};

/*
 * Take a region: check the mailbox version and the ring's geometry.
 * Returns 0 or -EINVAL with @r->why set.  Starts at the kernel's cmd_tail.
 */
int ring_attach(struct ring *r, void *base, size_t size);

/*
 * The next entry, or RING_NONE.  A command comes back with its CDB and
 * iovecs copied (cmd->iov points into @cmd itself when they fit, so a
 * ring_cmd is never copied by value; else it is malloc'd; either way
 * ring_cmd_release()); a malformed one with cmd->bad set, to be answered
 * with ring_bad_sense().  Returns -EIO once the ring is broken.
 */
int ring_next(struct ring *r, struct ring_cmd *cmd);
void ring_cmd_release(struct ring_cmd *cmd);

/*
 * Answer @cmd: the response goes into the oldest unanswered command slot
 * (the kernel reads the cmd_id from the slot, so answers may come in any
 * order).  ring_publish() then moves cmd_tail; the caller kicks.
 */
void ring_complete(struct ring *r, uint16_t cmd_id, uint8_t status,
		   const uint8_t *sense, size_t sense_len);
/* Returns true when cmd_tail moved. */
bool ring_publish(struct ring *r);

/*
 * A command's data moved without a worker (pool.h: io_uring): @len bytes
 * at @offset of @fd to or from the command's iovecs, then, for @fua, a
 * flush of @fd.  @priv is the ring_ops' own, from fast to fast_end.
 */
struct ring_io {
	bool writes_ok;		/* set by the caller: a write may go too */
	int fd;
	bool write;
	bool fua;
	uint64_t offset;
	uint64_t len;
	unsigned int parts;	/* the I/O's, while in flight */
	int res;
	_Alignas(8) unsigned char priv[128];
};

/* What ring_ops.fast says about a command. */
enum ring_fast {
	RING_FAST_WORKER,	/* run it on a worker (ring_ops.cmd) */
	RING_FAST_DONE,		/* answered: no data to move, or refused */
	RING_FAST_IO,		/* move ring_io's data, then fast_end */
};

/* What the owner of a ring does with its entries (ring_serve). */
struct ring_ops {
	/* Run a well-formed command; returns the SAM status, fills @sense. */
	uint8_t (*cmd)(void *ctx, const struct ring_cmd *cmd, uint8_t *sense);
	/* Told about a malformed command before it fails (may be NULL). */
	void (*bad)(void *ctx, const struct ring_cmd *cmd);
	/* Told about a TMR entry (may be NULL). */
	void (*tmr)(void *ctx, const struct ring_cmd *cmd);
	/*
	 * What needs no worker (may be NULL: all do): a command that moves
	 * no data is answered here (*@status, @sense), a read or write the
	 * backend can hand over is described in @io.  Never blocks.
	 */
	enum ring_fast (*fast)(void *ctx, const struct ring_cmd *cmd,
			       uint8_t *status, uint8_t *sense,
			       struct ring_io *io);
	/*
	 * @io is done: @res 0 or -errno; returns the status, fills @sense.
	 * @cancel: it did not run, it goes to a worker; nothing answered.
	 */
	uint8_t (*fast_end)(void *ctx, const struct ring_cmd *cmd,
			    struct ring_io *io, int res, bool cancel,
			    uint8_t *sense);
};

/* Something new between what was taken and cmd_head (polling). */
bool ring_has_new(struct ring *r);

/*
 * The answer to a command entry: @ops->cmd's status for a well-formed
 * one, CHECK CONDITION with ring_bad_sense() for a malformed one (told
 * to @ops->bad).  Fills @sense; touches no ring, so any thread may run it.
 */
uint8_t ring_run(const struct ring_ops *ops, void *ctx,
		 const struct ring_cmd *cmd, uint8_t sense[RING_SENSE_SIZE]);
/* ring_complete() with @cmd's id, and the sense when @status is not GOOD. */
void ring_answer(struct ring *r, const struct ring_cmd *cmd, uint8_t status,
		 const uint8_t sense[RING_SENSE_SIZE]);

/*
 * Run every new entry synchronously, answer it and move cmd_tail.  Sets
 * @kick when the kernel must be told.  Returns the number of entries
 * handled, or -EIO when the ring broke (what was answered is published).
 */
int ring_serve(struct ring *r, const struct ring_ops *ops, void *ctx,
	       bool *kick);

/* Sense for a malformed command: HARDWARE ERROR, INTERNAL TARGET FAILURE. */
void ring_bad_sense(uint8_t sense[RING_SENSE_SIZE]);

/* The CDB length the kernel copied for this opcode (SCSI group code). */
size_t ring_cdb_len(const uint8_t *cdb, size_t avail);

#endif /* SNAPCOWD_RING_H */
