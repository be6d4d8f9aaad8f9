/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A served LUN for daemon tests: a device opened by its cfgstring as
 * snapcowd opens it (device_open), with its own fake ring (fakering.h).
 * Commands are queued as the kernel queues them and served by ring.c,
 * so that everything between the ring and the backend runs as in the
 * daemon.
 */
#ifndef SNAPCOW_FAKELUN_H
#define SNAPCOW_FAKELUN_H

#include <stdint.h>
#include <string.h>

#include "device.h"
#include "fakering.h"
#include "pool.h"

struct fakelun {
	struct device *dev;
	struct fakering fk;
	struct ring ring;
	uint16_t next_id;
	struct pool *pool;	/* NULL: served by ring_serve() */
	struct pool_ring pr;
};

static inline void fakelun_kick(void *arg)
{
	(void)arg;
}

/*
 * Serve through a pool of @workers from now on, with an io_uring when
 * @uring (as snapcowd does).  0 or -errno (io_uring not available).
 */
static inline int fakelun_use_pool(struct fakelun *l, unsigned int workers,
				   bool uring)
{
	int r = pool_new(workers, &l->pool);

	if (!r && uring)
		r = pool_use_uring(l->pool, POOL_URING_ENTRIES);
	if (!r)
		r = pool_ring_init(&l->pr, l->pool, &l->ring,
				   &device_ring_ops, l->dev, fakelun_kick,
				   NULL);
	if (r) {
		pool_free(l->pool);
		l->pool = NULL;
	}
	return r;
}

/* device_open's result; on 0 the ring is ready too. */
static inline int fakelun_open(struct fakelun *l, const struct policy *p,
			       const char *name, const char *cfg, char *err,
			       size_t len)
{
	struct device_params prm = { .name = name, .block_size = 512 };
	int r;

	memset(l, 0, sizeof(*l));
	l->next_id = 1;
	err[0] = '\0';
	r = device_open(p, cfg, &prm, &l->dev, err, len);
	if (r)
		return r;
	if (fk_init(&l->fk, 64 * 1024) ||
	    ring_attach(&l->ring, l->fk.mem, l->fk.size))
		abort();
	return 0;
}

static inline void fakelun_close(struct fakelun *l)
{
	if (l->pool) {
		pool_ring_destroy(&l->pr);
		pool_free(l->pool);
		l->pool = NULL;
	}
	device_close(l->dev);
	fk_free(&l->fk);
	l->dev = NULL;
}

/* Queue a command; its id, or 0 when the ring has no room. */
static inline uint16_t fakelun_queue(struct fakelun *l, const uint8_t *cdb,
				     size_t len, const void *out,
				     uint32_t data_len)
{
	uint16_t id = l->next_id;

	/* 1..60000: never 0; ids in flight get distinct data slots. */
	l->next_id = l->next_id % 60000 + 1;
	return fk_queue(&l->fk, id, cdb, len, out, data_len) ? 0 : id;
}

/* Run what is queued (ring.c, device.c), as snapcowd on a kick. */
static inline void fakelun_serve(struct fakelun *l)
{
	bool kick;

	if (!l->pool) {
		ring_serve(&l->ring, &device_ring_ops, l->dev, &kick);
		return;
	}
	/* Everything taken, answered before the kernel's side looks. */
	pool_ring_serve(&l->pr);
	pool_ring_quiesce(&l->pr);
}

/* The kernel's side: collect the answers. */
static inline void fakelun_reap(struct fakelun *l)
{
	fk_reap(&l->fk);
}

static inline struct fk_result *fakelun_res(struct fakelun *l, uint16_t id)
{
	return &l->fk.res[id % FK_MAX_ID];
}

static inline bool fakelun_good(struct fakelun *l, uint16_t id)
{
	return id && fakelun_res(l, id)->done &&
	       fakelun_res(l, id)->status == SCSI_GOOD;
}

/* Queue one command, serve it and collect its answer: its id. */
static inline uint16_t fakelun_run(struct fakelun *l, const uint8_t *cdb,
				   size_t len, const void *out,
				   uint32_t data_len)
{
	uint16_t id = fakelun_queue(l, cdb, len, out, data_len);

	fakelun_serve(l);
	fakelun_reap(l);
	return id;
}

/* A 10-byte READ/WRITE/SYNCHRONIZE CACHE CDB. */
static inline void cdb10(uint8_t *c, uint8_t op, uint32_t lba, uint16_t n,
			 uint8_t flags)
{
	memset(c, 0, 10);
	c[0] = op;
	c[1] = flags;
	c[2] = lba >> 24;
	c[3] = lba >> 16;
	c[4] = lba >> 8;
	c[5] = lba;
	c[7] = n >> 8;
	c[8] = n;
}

#endif /* SNAPCOW_FAKELUN_H */
