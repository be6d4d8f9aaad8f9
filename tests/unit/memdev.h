/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers for the C unit tests: memory-backed devices (the buffer stays
 * ours, so a test can look at every byte the library wrote and reload a
 * store after an injected crash), little-endian accessors written
 * independently of lib/format.c, and a deterministic PRNG so that every
 * randomized case reproduces from its seed.
 */
#ifndef SNAPCOW_TEST_MEMDEV_H
#define SNAPCOW_TEST_MEMDEV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapcow.h"

struct memdev {
	unsigned char *buf;
	uint64_t size;
	struct snapcow_dev *dev;
};

/* A zero-filled writable memory device of @size bytes. */
static inline struct memdev *memdev_new(uint64_t size, const char *name)
{
	struct memdev *m = calloc(1, sizeof(*m));

	if (!m)
		abort();
	m->buf = calloc(1, size ? size : 1);
	if (!m->buf)
		abort();
	m->size = size;
	if (snapcow_dev_open_memory(m->buf, size, true, name, &m->dev))
		abort();
	return m;
}

/* A second device on a copy of @src's bytes (crash images). */
static inline struct memdev *memdev_clone(const struct memdev *src,
					  const char *name)
{
	struct memdev *m = memdev_new(src->size, name);

	memcpy(m->buf, src->buf, src->size);
	return m;
}

/* Reopen the device on the same bytes: fresh stats, no fault. */
static inline void memdev_reopen(struct memdev *m, bool writable)
{
	snapcow_dev_close(m->dev);
	if (snapcow_dev_open_memory(m->buf, m->size, writable, "reopened",
				    &m->dev))
		abort();
}

static inline void memdev_free(struct memdev *m)
{
	if (!m)
		return;
	snapcow_dev_close(m->dev);
	free(m->buf);
	free(m);
}

static inline uint64_t memdev_writes(const struct memdev *m)
{
	struct snapcow_dev_stats st;

	snapcow_dev_get_stats(m->dev, &st);
	return st.writes;
}

static inline uint64_t memdev_reads(const struct memdev *m)
{
	struct snapcow_dev_stats st;

	snapcow_dev_get_stats(m->dev, &st);
	return st.reads;
}

/* Byte-by-byte little-endian, so as not to share code with lib/. */
static inline uint64_t get_le(const unsigned char *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = (v << 8) | p[n];
	return v;
}

static inline void put_le(unsigned char *p, unsigned int n, uint64_t v)
{
	for (unsigned int i = 0; i < n; i++, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

/* Write a header by hand: magic, valid, version, chunk size. */
static inline void raw_header(unsigned char *buf, uint32_t magic,
			      uint32_t valid, uint32_t version, uint32_t cs)
{
	put_le(buf + 0, 4, magic);
	put_le(buf + 4, 4, valid);
	put_le(buf + 8, 4, version);
	put_le(buf + 12, 4, cs);
}

/* Write record @slot of the area at chunk @area_chunk by hand. */
static inline void raw_record(unsigned char *buf, uint32_t cs,
			      uint64_t area_chunk, uint64_t slot,
			      uint64_t old_chunk, uint64_t new_chunk)
{
	unsigned char *p = buf + area_chunk * cs * 512 + slot * 16;

	put_le(p, 8, old_chunk);
	put_le(p + 8, 8, new_chunk);
}

static inline bool all_bytes(const unsigned char *p, size_t len,
			     unsigned char v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* xorshift64*: the same sequence on every host. */
struct prng {
	uint64_t s;
};

static inline void prng_seed(struct prng *r, uint64_t seed)
{
	r->s = seed ? seed : UINT64_C(0x9e3779b97f4a7c15);
}

static inline uint64_t prng_next(struct prng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * UINT64_C(2685821657736338717);
}

/* Uniform-enough in [0, n). */
static inline uint64_t prng_below(struct prng *r, uint64_t n)
{
	return n ? (prng_next(r) >> 11) % n : 0;
}

static inline void prng_fill(struct prng *r, unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(prng_next(r) >> 56);
}

#endif /* SNAPCOW_TEST_MEMDEV_H */
