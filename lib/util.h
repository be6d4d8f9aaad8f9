/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SNAPCOW_UTIL_H
#define SNAPCOW_UTIL_H

#include <stdarg.h>
#include <stdio.h>

#define SNAPCOW_EXPORT __attribute__((visibility("default")))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Format a message into a caller's error buffer; returns @err. */
static inline int __attribute__((format(printf, 4, 5)))
sc_errf(char *buf, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	if (!buf || !len)
		return err;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return err;
}

#endif /* SNAPCOW_UTIL_H */
