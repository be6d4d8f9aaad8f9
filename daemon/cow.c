// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The copy-on-write backends: an origin LUN and a snapshot LUN, both
 * moving their data through libsnapcow's concurrent engine on the
 * origin object they share (shared.h), so that the daemon never copies
 * a chunk itself.  Called from any thread: each call uses only the
 * engine (thread-safe) and pointers that live as long as the LUN.
 *
 * Writes go through the page cache, so the LUN has a volatile write
 * cache: FUA is passed to the engine (durable on return) and SYNCHRONIZE
 * CACHE flushes the origin and every COW.  An invalid snapshot fails
 * reads with -EIO (MEDIUM ERROR) and writes with -EROFS (DATA PROTECT);
 * a snapshot write that finds its COW full fails with -ENOSPC (DATA
 * PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT) and the snapshot stays
 * valid (the kernel's "PO" snapshots).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "snapcow.h"
#include "device.h"
#include "log.h"
#include "shared.h"

static struct shared_ref *cow_ref(struct device *d)
{
	return d->priv;
}

static struct snapcow_origin *cow_eng(struct device *d)
{
	return cow_ref(d)->so->eng;
}

/*
 * The engine takes one buffer; the ring scatters.  A command whose data
 * is in more than one iovec is gathered into a buffer of the calling
 * thread's, kept between commands (freed when the thread exits), so
 * that no command allocates.  One memcpy beats one pread/pwrite per
 * iovec: a system call costs more than copying a 4 KiB block.
 */
static pthread_key_t flat_key;
static pthread_once_t flat_once = PTHREAD_ONCE_INIT;

struct flat_buf {
	size_t size;
	uint8_t data[];
};

static void flat_key_init(void)
{
	if (pthread_key_create(&flat_key, free))
		abort();
}

/* This thread's buffer of at least @len bytes; NULL when out of memory. */
static uint8_t *flat_buffer(uint64_t len)
{
	struct flat_buf *fb;

	pthread_once(&flat_once, flat_key_init);
	fb = pthread_getspecific(flat_key);
	if (fb && fb->size >= len)
		return fb->data;
	free(fb);
	pthread_setspecific(flat_key, NULL);
	fb = malloc(sizeof(*fb) + len);
	if (!fb || pthread_setspecific(flat_key, fb)) {
		free(fb);
		return NULL;
	}
	fb->size = len;
	return fb->data;
}

/*
 * @len bytes of @iov in one piece: its first iovec when that holds them
 * all, else this thread's buffer (filled from @iov for a write).  NULL
 * when out of memory.
 */
static void *flat_get(const struct iovec *iov, int cnt, uint64_t len,
		      bool fill)
{
	uint64_t done = 0;
	uint8_t *buf;
	int i;

	if (cnt >= 1 && iov[0].iov_len >= len)
		return iov[0].iov_base;
	buf = flat_buffer(len);
	for (i = 0; buf && fill && i < cnt && done < len; i++) {
		size_t n = iov[i].iov_len < len - done ? iov[i].iov_len :
							len - done;

		memcpy(buf + done, iov[i].iov_base, n);
		done += n;
	}
	return buf;
}

/* Done with @buf: a read's data in this thread's buffer goes to @iov. */
static void flat_put(const struct iovec *iov, int cnt, void *buf,
		     uint64_t len, bool copy_out)
{
	const uint8_t *p = buf;
	uint64_t done = 0;
	int i;

	if (cnt >= 1 && buf == iov[0].iov_base)
		return;
	for (i = 0; copy_out && i < cnt && done < len; i++) {
		size_t n = iov[i].iov_len < len - done ? iov[i].iov_len :
							len - done;

		memcpy(iov[i].iov_base, p + done, n);
		done += n;
	}
}

static int cow_failed(struct device *d, const char *what, int r,
		      const char *msg)
{
	log_err("%s: %s: %s", d->name, what, msg);
	return r;
}

enum cow_op { ORIGIN_READ, ORIGIN_WRITE, SNAP_READ, SNAP_WRITE };

static const char *const cow_op_name[] = {
	[ORIGIN_READ] = "origin read",
	[ORIGIN_WRITE] = "origin write",
	[SNAP_READ] = "snapshot read",
	[SNAP_WRITE] = "snapshot write",
};

/* One data command on the engine, through this thread's flat buffer. */
static int cow_io(struct device *d, enum cow_op op, const struct iovec *iov,
		  int cnt, uint64_t off, uint64_t len, bool fua)
{
	bool write = op == ORIGIN_WRITE || op == SNAP_WRITE;
	unsigned int flags = fua ? SNAPCOW_IO_FUA : 0;
	char msg[SNAPCOW_ERRBUF_SIZE];
	void *buf = flat_get(iov, cnt, len, write);
	int r;

	if (!buf)
		return -ENOMEM;
	switch (op) {
	case ORIGIN_READ:
		r = snapcow_origin_pread(cow_eng(d), buf, len, off, msg,
					 sizeof(msg));
		break;
	case ORIGIN_WRITE:
		r = snapcow_origin_pwrite(cow_eng(d), buf, len, off, flags,
					  msg, sizeof(msg));
		break;
	case SNAP_READ:
		r = snapcow_snap_pread(cow_eng(d), cow_ref(d)->cow->store, buf,
				       len, off, msg, sizeof(msg));
		break;
	default:
		r = snapcow_snap_pwrite(cow_eng(d), cow_ref(d)->cow->store,
					buf, len, off, flags, msg, sizeof(msg));
		break;
	}
	flat_put(iov, cnt, buf, len, !write && !r);
	return r ? cow_failed(d, cow_op_name[op], r, msg) : 0;
}

static int origin_read(struct device *d, const struct iovec *iov, int cnt,
		       uint64_t off, uint64_t len)
{
	return cow_io(d, ORIGIN_READ, iov, cnt, off, len, false);
}

static int origin_write(struct device *d, const struct iovec *iov, int cnt,
			uint64_t off, uint64_t len, bool fua)
{
	return cow_io(d, ORIGIN_WRITE, iov, cnt, off, len, fua);
}

static int snap_read(struct device *d, const struct iovec *iov, int cnt,
		     uint64_t off, uint64_t len)
{
	return cow_io(d, SNAP_READ, iov, cnt, off, len, false);
}

static int snap_write(struct device *d, const struct iovec *iov, int cnt,
		      uint64_t off, uint64_t len, bool fua)
{
	return cow_io(d, SNAP_WRITE, iov, cnt, off, len, fua);
}

/* Direct I/O (device_ops.direct): the origin's, or this snapshot's. */
static int cow_direct(struct device *d, bool write, uint64_t off,
		      uint64_t len, struct snapcow_direct *dio)
{
	struct shared_cow *c = cow_ref(d)->cow;

	return snapcow_direct_begin(cow_eng(d), c ? c->store : NULL, write,
				    len, off, dio);
}

static void cow_direct_end(struct device *d, struct snapcow_direct *dio)
{
	snapcow_direct_end(cow_eng(d), dio);
}

/* The origin and every COW: what a snapshot write touched is among them. */
static int cow_flush(struct device *d)
{
	char msg[SNAPCOW_ERRBUF_SIZE];
	int r = snapcow_origin_flush(cow_eng(d), msg, sizeof(msg));

	return r ? cow_failed(d, "flush", r, msg) : 0;
}

/* Both kinds are as large as the origin. */
static uint64_t cow_size(struct device *d)
{
	return snapcow_dev_size(cow_ref(d)->so->dev);
}

static int origin_reconfig(struct device *d, const struct snapcow_cfgstring *cfg,
			   char *err, size_t len)
{
	return shared_reconfig(d, cfg, cow_ref(d), err, len);
}

static void cow_close(struct device *d)
{
	shared_detach(cow_ref(d));
	free(d->priv);
	d->priv = NULL;
}

static const struct device_ops origin_ops = {
	.kind = "origin",
	.read = origin_read,
	.write = origin_write,
	.flush = cow_flush,
	.direct = cow_direct,
	.direct_end = cow_direct_end,
	.size = cow_size,
	.reconfig = origin_reconfig,
	.close = cow_close,
};

static const struct device_ops snapshot_ops = {
	.kind = "snapshot",
	.read = snap_read,
	.write = snap_write,
	.flush = cow_flush,
	.direct = cow_direct,
	.direct_end = cow_direct_end,
	.size = cow_size,
	.close = cow_close,
};

static int cow_open(struct device *d, const struct device_ops *ops,
		    const struct snapcow_cfgstring *cfg, char *err, size_t len)
{
	struct shared_ref *ref = calloc(1, sizeof(*ref));
	int r;

	if (!ref)
		return -ENOMEM;
	r = shared_attach(d, cfg, ref, err, len);
	if (r) {
		free(ref);
		return r;
	}
	d->ops = ops;
	d->priv = ref;
	d->write_back = true;
	return 0;
}

int origin_lun_open(struct device *d, const struct snapcow_cfgstring *cfg,
		    char *err, size_t len)
{
	return cow_open(d, &origin_ops, cfg, err, len);
}

int snapshot_lun_open(struct device *d, const struct snapcow_cfgstring *cfg,
		      char *err, size_t len)
{
	return cow_open(d, &snapshot_ops, cfg, err, len);
}
