// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The plain backend: an origin served without snapshots, through
 * libsnapcow's device layer (exclusive hold: O_EXCL for a block device,
 * flock for a file, which every snapcow tool honours).  Writes go through
 * the page cache, so the LUN has a volatile write cache: SYNCHRONIZE
 * CACHE and FUA make them durable with fdatasync.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "snapcow.h"
#include "device.h"

static struct snapcow_dev *plain_dev(struct device *d)
{
	return d->priv;
}

static int plain_read(struct device *d, const struct iovec *iov, int cnt,
		      uint64_t off, uint64_t len)
{
	int i, r;

	for (i = 0; i < cnt && len; i++) {
		size_t n = iov[i].iov_len < len ? iov[i].iov_len : len;

		r = snapcow_dev_read(plain_dev(d), iov[i].iov_base, n, off);
		if (r)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

static int plain_write(struct device *d, const struct iovec *iov, int cnt,
		       uint64_t off, uint64_t len)
{
	int i, r;

	for (i = 0; i < cnt && len; i++) {
		size_t n = iov[i].iov_len < len ? iov[i].iov_len : len;

		r = snapcow_dev_write(plain_dev(d), iov[i].iov_base, n, off);
		if (r)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

static int plain_flush(struct device *d)
{
	return snapcow_dev_flush(plain_dev(d));
}

static uint64_t plain_size(struct device *d)
{
	return snapcow_dev_size(plain_dev(d));
}

static void plain_close(struct device *d)
{
	snapcow_dev_close(plain_dev(d));
	d->priv = NULL;
}

static const struct device_ops plain_ops = {
	.read = plain_read,
	.write = plain_write,
	.flush = plain_flush,
	.size = plain_size,
	.close = plain_close,
};

int plain_open(struct device *d, const char *path, char *err, size_t len)
{
	struct snapcow_dev *dev;
	int r;

	r = snapcow_dev_open(path, SNAPCOW_DEV_WRITE | SNAPCOW_DEV_EXCL, &dev);
	if (r) {
		snprintf(err, len, "origin %s: %s%s", path, strerror(-r),
			 r == -EBUSY ? " (held by another program)" : "");
		return r;
	}
	d->ops = &plain_ops;
	d->priv = dev;
	d->write_back = true;
	return 0;
}
