// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Served LUNs (see device.h): open what the cfgstring names, describe it
 * to the SCSI decoder, run the decoder's data commands on the backend.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapcow.h"
#include "device.h"
#include "log.h"

/* FNV-1a: a stable serial and NAA from the LUN's name. */
static uint64_t hash64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ull;
	return h;
}

static void device_describe(struct device *d, const struct device_params *prm,
			    uint64_t bytes)
{
	struct scsi_disk *k = &d->disk;
	uint64_t h = hash64(d->name);
	int i;

	k->block_size = prm->block_size;
	k->blocks = bytes / prm->block_size;
	k->max_xfer_blocks = prm->max_sectors ? prm->max_sectors : 128;
	k->write_cache = d->write_back;
	k->read_only = false;
	snprintf(k->vendor, sizeof(k->vendor), "SNAPCOW");
	snprintf(k->product, sizeof(k->product), "%s", d->ops->kind);
	snprintf(k->revision, sizeof(k->revision), "0001");
	/* The serial names the LUN, so a restart keeps the disk's identity. */
	snprintf(k->serial, sizeof(k->serial), "%016" PRIx64, h);
	/* NAA 6, LIO's OUI 00:14:05 as LIO's own backstores, then the hash. */
	k->naa[0] = 0x60;
	k->naa[1] = 0x01;
	k->naa[2] = 0x40;
	k->naa[3] = 0x50;
	for (i = 0; i < 8; i++)
		k->naa[4 + i] = (uint8_t)(h >> (56 - 8 * i));
	memset(k->naa + 12, 0, 4);
}

/* @have: the origin's bytes. */
static int device_check_size(struct device *d, const struct device_params *prm,
			     uint64_t have, uint64_t *bytes, char *err,
			     size_t len)
{
	if (!prm->block_size || prm->block_size % 512 ||
	    prm->block_size > 65536) {
		snprintf(err, len, "%s: block size %u not served", d->name,
			 prm->block_size);
		return -EINVAL;
	}
	*bytes = prm->dev_size ? prm->dev_size : have;
	if (*bytes > have) {
		snprintf(err, len,
			 "%s: dev_size %" PRIu64 " exceeds the origin's %" PRIu64 " bytes",
			 d->name, *bytes, have);
		return -EINVAL;
	}
	if (*bytes % prm->block_size || !*bytes) {
		snprintf(err, len,
			 "%s: size %" PRIu64 " is not a positive multiple of the block size %u",
			 d->name, *bytes, prm->block_size);
		return -EINVAL;
	}
	return 0;
}

/* Looked at before anything is held, formatted or attached. */
static int origin_bytes(const struct device *d, const char *path,
			uint64_t *bytes, char *err, size_t len)
{
	struct snapcow_dev *dev;
	char why[PATH_MAX + 128];
	int r;

	r = snapcow_dev_open_err(path, 0, &dev, why, sizeof(why));
	if (r) {
		snprintf(err, len, "%s: origin %s", d->name, why);
		return r;
	}
	*bytes = snapcow_dev_size(dev);
	snapcow_dev_close(dev);
	return 0;
}

int device_open(const struct policy *policy, const char *cfgstring,
		const struct device_params *prm, struct device **out,
		char *err, size_t len)
{
	struct snapcow_cfgstring *cfg;
	struct device *d;
	uint64_t have, bytes;
	int r;

	*out = NULL;
	cfg = calloc(1, sizeof(*cfg));
	d = calloc(1, sizeof(*d));
	if (!cfg || !d) {
		r = -ENOMEM;
		goto fail;
	}
	snprintf(d->name, sizeof(d->name), "%s", prm->name);
	d->cfgstring = strdup(cfgstring);
	r = d->cfgstring ? cfgstring_parse(policy, cfgstring, cfg, err, len) :
			   -ENOMEM;
	if (r)
		goto fail;
	r = origin_bytes(d, cfg->origin, &have, err, len);
	r = r ?: device_check_size(d, prm, have, &bytes, err, len);
	if (r)
		goto fail;
	if (cfg->snapshot[0])
		r = snapshot_lun_open(d, cfg, err, len);
	else
		r = origin_lun_open(d, cfg, err, len);
	if (r)
		goto fail;
	device_describe(d, prm, bytes);
	free(cfg);
	*out = d;
	return 0;
fail:
	free(cfg);
	device_close(d);
	return r;
}

void device_close(struct device *d)
{
	if (!d)
		return;
	if (d->ops)
		d->ops->close(d);
	free(d->cfgstring);
	free(d);
}

int device_flush(struct device *d)
{
	return d->ops->flush(d);
}

static int device_run(struct device *d, const struct scsi_io *io,
		      const struct ring_cmd *cmd)
{
	switch (io->kind) {
	case SCSI_IO_READ:
		return d->ops->read(d, cmd->iov, cmd->iov_cnt, io->offset,
				    io->length);
	case SCSI_IO_WRITE:
		return d->ops->write(d, cmd->iov, cmd->iov_cnt, io->offset,
				     io->length, io->fua || !d->write_back);
	case SCSI_IO_FLUSH:
		return d->ops->flush(d);
	default:
		return 0;
	}
}

static void device_log_refusal(const struct device *d,
			       const struct ring_cmd *cmd, int status,
			       const uint8_t *sense)
{
	if (status != SCSI_GOOD)
		log_debug("%s: opcode 0x%02x: CHECK CONDITION %x/%02x/%02x",
			  d->name, cmd->cdb[0], sense[2] & 0x0f, sense[12],
			  sense[13]);
}

uint8_t device_cmd(void *ctx, const struct ring_cmd *cmd, uint8_t *sense)
{
	struct device *d = ctx;
	struct scsi_io io = { .kind = SCSI_IO_NONE };
	int status, r;

	__atomic_add_fetch(&d->cmds, 1, __ATOMIC_RELAXED);
	status = scsi_decode(&d->disk, cmd->cdb, cmd->cdb_len, cmd->iov,
			     cmd->iov_cnt, &io, sense);
	if (io.kind == SCSI_IO_NONE) {
		device_log_refusal(d, cmd, status, sense);
		return (uint8_t)status;
	}
	if (io.kind == SCSI_IO_READ)
		__atomic_add_fetch(&d->reads, 1, __ATOMIC_RELAXED);
	else if (io.kind == SCSI_IO_WRITE)
		__atomic_add_fetch(&d->writes, 1, __ATOMIC_RELAXED);
	r = device_run(d, &io, cmd);
	if (r) {
		__atomic_add_fetch(&d->errors, 1, __ATOMIC_RELAXED);
		log_err("%s: %s of %" PRIu64 " bytes at byte %" PRIu64
			" failed: %s", d->name,
			io.kind == SCSI_IO_READ ? "read" :
			io.kind == SCSI_IO_WRITE ? "write" : "flush",
			io.length, io.offset, strerror(-r));
	}
	return (uint8_t)scsi_io_status(&io, r, sense);
}

/* What device_fast keeps in a ring_io between the submit and the end. */
struct device_fast_io {
	struct scsi_io io;
	struct snapcow_direct dio;
};

_Static_assert(sizeof(struct device_fast_io) <=
	       sizeof(((struct ring_io *)0)->priv), "ring_io.priv too small");

static struct device_fast_io *fast_priv(struct ring_io *io)
{
	return (struct device_fast_io *)(void *)io->priv;
}

/* The iovecs hold exactly @len bytes: one readv or writev moves them. */
static bool iov_is(const struct ring_cmd *cmd, uint64_t len)
{
	uint64_t sum = 0;

	for (int i = 0; i < cmd->iov_cnt; i++)
		sum += cmd->iov[i].iov_len;
	return sum == len;
}

static void device_count_io(struct device *d, const struct scsi_io *io)
{
	__atomic_add_fetch(&d->cmds, 1, __ATOMIC_RELAXED);
	if (io->kind == SCSI_IO_READ)
		__atomic_add_fetch(&d->reads, 1, __ATOMIC_RELAXED);
	else if (io->kind == SCSI_IO_WRITE)
		__atomic_add_fetch(&d->writes, 1, __ATOMIC_RELAXED);
}

enum ring_fast device_fast(void *ctx, const struct ring_cmd *cmd,
			   uint8_t *status, uint8_t *sense,
			   struct ring_io *io)
{
	struct device *d = ctx;
	struct device_fast_io *f = fast_priv(io);
	bool write;

	f->io = (struct scsi_io){ .kind = SCSI_IO_NONE };
	*status = (uint8_t)scsi_decode(&d->disk, cmd->cdb, cmd->cdb_len,
				       cmd->iov, cmd->iov_cnt, &f->io, sense);
	if (f->io.kind == SCSI_IO_NONE) {
		device_count_io(d, &f->io);
		device_log_refusal(d, cmd, *status, sense);
		return RING_FAST_DONE;
	}
	write = f->io.kind == SCSI_IO_WRITE;
	if ((!write && f->io.kind != SCSI_IO_READ) || (write && !io->writes_ok) ||
	    !d->ops->direct ||
	    !f->io.length || !iov_is(cmd, f->io.length) ||
	    d->ops->direct(d, write, f->io.offset, f->io.length, &f->dio))
		return RING_FAST_WORKER;
	device_count_io(d, &f->io);
	io->fd = f->dio.fd;
	io->offset = f->dio.offset;
	io->len = f->io.length;
	io->write = write;
	io->fua = write && (f->io.fua || !d->write_back);
	return RING_FAST_IO;
}

uint8_t device_fast_end(void *ctx, const struct ring_cmd *cmd,
			struct ring_io *io, int res, bool cancel,
			uint8_t *sense)
{
	struct device *d = ctx;
	struct device_fast_io *f = fast_priv(io);

	d->ops->direct_end(d, &f->dio);
	if (cancel) {
		/* The worker counts it again. */
		__atomic_sub_fetch(&d->cmds, 1, __ATOMIC_RELAXED);
		__atomic_sub_fetch(io->write ? &d->writes : &d->reads, 1,
				   __ATOMIC_RELAXED);
		return 0;
	}
	if (res) {
		__atomic_add_fetch(&d->errors, 1, __ATOMIC_RELAXED);
		log_err("%s: %s of %" PRIu64 " bytes at byte %" PRIu64
			" failed: %s", d->name, io->write ? "write" : "read",
			io->len, f->io.offset, strerror(-res));
	}
	(void)cmd;
	return (uint8_t)scsi_io_status(&f->io, res, sense);
}

void device_counters(const struct device *d, struct device_counters *c)
{
	c->reads = __atomic_load_n(&d->reads, __ATOMIC_RELAXED);
	c->writes = __atomic_load_n(&d->writes, __ATOMIC_RELAXED);
	c->errors = __atomic_load_n(&d->errors, __ATOMIC_RELAXED);
}

static void device_bad(void *ctx, const struct ring_cmd *cmd)
{
	struct device *d = ctx;
	static const char *const why[] = {
		[RING_BAD_CDB] = "CDB outside its entry",
		[RING_BAD_IOV_COUNT] = "iovec count does not fit the entry",
		[RING_BAD_IOV_RANGE] = "iovec outside the data area",
		[RING_BAD_BIDI] = "bidirectional or DIF data",
	};

	__atomic_add_fetch(&d->errors, 1, __ATOMIC_RELAXED);
	log_err("%s: malformed ring entry (cmd_id %u): %s", d->name,
		cmd->cmd_id, why[cmd->bad]);
}

static void device_tmr(void *ctx, const struct ring_cmd *cmd)
{
	struct device *d = ctx;

	/* A command is not aborted once taken: it finishes and is answered. */
	log_debug("%s: task management function %u for %u commands",
		  d->name, cmd->tmr_type, cmd->tmr_cnt);
}

const struct ring_ops device_ring_ops = {
	.cmd = device_cmd,
	.bad = device_bad,
	.tmr = device_tmr,
	.fast = device_fast,
	.fast_end = device_fast_end,
};

int device_reconfig(struct device *d, const struct policy *policy,
		    const char *cfgstring, char *err, size_t len)
{
	struct snapcow_cfgstring *cfg;
	char *copy;
	int r;

	if (!strcmp(cfgstring, d->cfgstring))
		return 0;
	if (!d->ops->reconfig) {
		snprintf(err, len,
			 "%s: new cfgstring '%s' refused: a %s LUN's cfgstring cannot change (only an origin LUN's cow= items can)",
			 d->name, cfgstring, d->ops->kind);
		return -EINVAL;
	}
	cfg = calloc(1, sizeof(*cfg));
	copy = strdup(cfgstring);
	if (!cfg || !copy) {
		snprintf(err, len, "%s: out of memory", d->name);
		r = -ENOMEM;
	} else {
		r = cfgstring_parse(policy, cfgstring, cfg, err, len);
		r = r ?: d->ops->reconfig(d, cfg, err, len);
	}
	if (!r) {
		free(d->cfgstring);
		d->cfgstring = copy;
		copy = NULL;
	}
	free(copy);
	free(cfg);
	return r;
}

int device_resize(struct device *d, uint64_t size, char *err, size_t len)
{
	struct device_params prm = {
		.name = d->name,
		.dev_size = size,
		.block_size = d->disk.block_size,
		.max_sectors = d->disk.max_xfer_blocks,
	};
	uint64_t bytes;
	int r;

	r = device_check_size(d, &prm, d->ops->size(d), &bytes, err, len);
	if (r)
		return r;
	d->disk.blocks = bytes / d->disk.block_size;
	return 0;
}

void device_set_write_back(struct device *d, bool on)
{
	int r;

	/* Write-through from now on: what the cache holds goes down first. */
	if (!on && d->write_back) {
		r = d->ops->flush(d);
		if (r)
			log_err("%s: flush before write-through: %s", d->name,
				strerror(-r));
	}
	d->write_back = on;
	d->disk.write_cache = on;
}
