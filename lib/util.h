/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SNAPCOW_UTIL_H
#define SNAPCOW_UTIL_H

#include <endian.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

/*
 * Little-endian integers of @bytes (at most 8) bytes on disk, at any
 * alignment: the low bytes of a little-endian 64-bit value, whatever the
 * host's byte order.
 */
static inline uint64_t sc_get_le(const unsigned char *p, unsigned int bytes)
{
	uint64_t v = 0;

	memcpy(&v, p, bytes);
	return le64toh(v);
}

static inline void sc_put_le(unsigned char *p, unsigned int bytes,
			     uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, bytes);
}

#endif /* SNAPCOW_UTIL_H */
