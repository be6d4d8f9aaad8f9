/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The COW the snapcheck and snapdump benches read: N exceptions, 4 KiB
 * chunks, a sparse file, records laid out as the kernel commits them
 * (new chunks in allocation order, skipping metadata; distinct origin
 * chunks scattered over 2^bits chunks).  Public API only.
 */
#ifndef SNAPCOW_BENCH_COW_H
#define SNAPCOW_BENCH_COW_H

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapcow.h"

#define CS		8u
#define CB		(CS * 512u)
#define EPA		(CB / 16u)

/* A bijection of [0, 2^bits): multiply by odd numbers, xor-shift. */
static inline uint64_t scatter(uint64_t x, unsigned int bits)
{
	uint64_t mask = bits >= 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;

	x = (x * UINT64_C(0x9e3779b97f4a7c15)) & mask;
	x ^= x >> (bits / 2 + 1);
	x = (x * UINT64_C(0xff51afd7ed558ccd)) & mask;
	x ^= x >> (bits / 2 + 1);
	return x;
}

static inline int make_cow(const char *path, uint64_t n, unsigned int bits)
{
	uint64_t areas = n / EPA + 1, next = 2, g = 0, a, s;
	unsigned char *buf = calloc(1, CB);
	struct snapcow_header h = { SNAPCOW_MAGIC, 1, 1, CS };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	int r = -1;

	if (fd < 0 || !buf)
		goto out;
	if (ftruncate(fd, (off_t)(snapcow_area_chunk(CS, areas) + 2) * CB))
		goto out;
	snapcow_header_encode(&h, buf);
	if (pwrite(fd, buf, CB, 0) != CB)
		goto out;
	for (a = 0; a < areas; a++) {
		memset(buf, 0, CB);
		for (s = 0; s < EPA && g < n; s++, g++) {
			struct snapcow_record rec = { scatter(g, bits),
						      next++ };

			snapcow_record_encode(buf, s, &rec);
			if (snapcow_chunk_is_metadata(CS, next))
				next++;
		}
		if (pwrite(fd, buf, CB, (off_t)snapcow_area_chunk(CS, a) * CB) !=
		    CB)
			goto out;
	}
	r = fsync(fd);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

#endif /* SNAPCOW_BENCH_COW_H */
