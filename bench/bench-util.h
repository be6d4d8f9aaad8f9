/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the benches share: a monotonic clock, a seeded xorshift, a
 * shuffled list of chunks and files filled with one byte.
 */
#ifndef SNAPCOW_BENCH_UTIL_H
#define SNAPCOW_BENCH_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

/* 0 .. @n - 1 in a fixed random order. */
static inline void shuffle(uint64_t *v, uint64_t n)
{
	uint64_t s = 12345;

	for (uint64_t i = 0; i < n; i++)
		v[i] = i;
	for (uint64_t i = n - 1; i > 0; i--) {
		uint64_t j = next_rand(&s) % (i + 1), t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

/* Create or truncate @path to @size bytes of @byte, durable. */
static inline int fill_file(const char *path, uint64_t size, int byte)
{
	char *buf = malloc(1 << 20);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	int r = 0;

	if (fd < 0 || !buf) {
		r = fd < 0 ? -errno : -ENOMEM;
		free(buf);
		if (fd >= 0)
			close(fd);
		return r;
	}
	memset(buf, byte, 1 << 20);
	for (uint64_t off = 0; off < size && !r; off += 1 << 20)
		if (pwrite(fd, buf, 1 << 20, (off_t)off) != 1 << 20)
			r = -EIO;
	if (!r && fsync(fd))
		r = -errno;
	close(fd);
	free(buf);
	return r;
}

#endif /* SNAPCOW_BENCH_UTIL_H */
