/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SNAPCOW_DEV_H
#define SNAPCOW_DEV_H

#include <stdbool.h>

#include "snapcow.h"

/* Record a message in the device's error buffer and return @err. */
int sc_dev_errf(struct snapcow_dev *dev, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * The last message sc_dev_errf recorded in the calling thread, for any
 * device: what the engine's threads quote, since a handle's own buffer
 * may be rewritten by another thread.
 */
const char *sc_dev_last_error(void);
/* An fd for the caller's own I/O, counted; -EAGAIN when not possible. */
int sc_dev_direct_fd(struct snapcow_dev *dev, bool write, size_t len,
		     uint64_t offset);

#endif /* SNAPCOW_DEV_H */
