// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One pass over the exception list as it is on the device, area by
 * area, for whoever needs the records again after the load: the kernel
 * keeps no copy of them either.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "list.h"
#include "util.h"

static int list_visit(const unsigned char *buf, uint64_t area, uint64_t epa,
		      uint64_t n, sc_list_fn fn, void *ctx)
{
	struct snapcow_record rec;
	struct sc_rec x;
	uint64_t i;
	int r = 0;

	for (i = 0; i < n && !r; i++) {
		snapcow_record_decode(buf, i, &rec);
		x.old_chunk = rec.old_chunk;
		x.new_chunk = rec.new_chunk;
		x.g = area * epa + i;
		r = fn(ctx, &x);
	}
	return r;
}

int sc_list_walk(struct snapcow_dev *cow, uint32_t cs, uint64_t last_area,
		 uint64_t last_count, bool all_slots, sc_list_fn fn,
		 void *ctx, char *err, size_t errlen)
{
	uint64_t epa = snapcow_exceptions_per_area(cs);
	uint64_t bytes = snapcow_chunk_offset(cs, 1);
	uint64_t chunks = snapcow_dev_size(cow) / bytes;
	uint64_t area, n;
	unsigned char *buf = malloc(bytes);
	int r = 0;

	if (!buf)
		return sc_errf(err, errlen, -ENOMEM, "out of memory");
	for (area = 0; area <= last_area && !r; area++) {
		n = all_slots || area < last_area ? epa : last_count;
		if (!n || snapcow_area_chunk(cs, area) >= chunks)
			break;
		r = snapcow_dev_read(cow, buf, bytes,
				     snapcow_area_offset(cs, area));
		if (r) {
			sc_errf(err, errlen, r, "%s: metadata area %llu: %s",
				snapcow_dev_path(cow),
				(unsigned long long)area,
				snapcow_dev_error(cow));
			break;
		}
		r = list_visit(buf, area, epa, n, fn, ctx);
	}
	free(buf);
	return r;
}
