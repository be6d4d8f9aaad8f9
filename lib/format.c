// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The on-disk format of the persistent exception store
 * (drivers/md/dm-snap-persistent.c): a header in chunk 0, then metadata
 * areas of {le64 old_chunk, le64 new_chunk} records, each followed by the
 * exceptions_per_area data chunks it describes.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "snapcow.h"
#include "util.h"

SNAPCOW_EXPORT
uint64_t snapcow_exceptions_per_area(uint32_t chunk_sectors)
{
	return (uint64_t)chunk_sectors * SNAPCOW_SECTOR_SIZE /
	       SNAPCOW_RECORD_SIZE;
}

SNAPCOW_EXPORT
uint64_t snapcow_area_chunk(uint32_t chunk_sectors, uint64_t area)
{
	uint64_t stride = snapcow_exceptions_per_area(chunk_sectors) + 1;

	return SNAPCOW_HEADER_CHUNKS + area * stride;
}

SNAPCOW_EXPORT
bool snapcow_chunk_is_metadata(uint32_t chunk_sectors, uint64_t chunk)
{
	uint64_t stride = snapcow_exceptions_per_area(chunk_sectors) + 1;

	return chunk == 0 || chunk % stride == SNAPCOW_HEADER_CHUNKS;
}

SNAPCOW_EXPORT
uint64_t snapcow_chunk_area(uint32_t chunk_sectors, uint64_t chunk)
{
	uint64_t stride = snapcow_exceptions_per_area(chunk_sectors) + 1;

	return (chunk - SNAPCOW_HEADER_CHUNKS) / stride;
}

SNAPCOW_EXPORT
uint64_t snapcow_chunk_offset(uint32_t chunk_sectors, uint64_t chunk)
{
	return chunk * chunk_sectors * SNAPCOW_SECTOR_SIZE;
}

SNAPCOW_EXPORT
uint64_t snapcow_area_offset(uint32_t chunk_sectors, uint64_t area)
{
	return snapcow_chunk_offset(chunk_sectors,
				    snapcow_area_chunk(chunk_sectors, area));
}

SNAPCOW_EXPORT
int snapcow_chunk_extent(uint32_t chunk_sectors, uint64_t dev_bytes,
			 uint64_t chunk, uint64_t *offset, uint64_t *len)
{
	uint64_t bytes = (uint64_t)chunk_sectors * SNAPCOW_SECTOR_SIZE;

	if (!bytes || chunk >= dev_bytes / bytes + (dev_bytes % bytes != 0))
		return -ERANGE;
	*offset = chunk * bytes;
	*len = MIN(bytes, dev_bytes - *offset);
	return 0;
}

/* The kernel's test (chunk % stride == 1) leaves chunk 0 alone. */
SNAPCOW_EXPORT
uint64_t snapcow_skip_metadata(uint32_t chunk_sectors, uint64_t chunk)
{
	return chunk && snapcow_chunk_is_metadata(chunk_sectors, chunk) ?
	       chunk + 1 : chunk;
}

SNAPCOW_EXPORT
uint64_t snapcow_data_chunks_below(uint32_t chunk_sectors, uint64_t chunks)
{
	uint64_t stride = snapcow_exceptions_per_area(chunk_sectors) + 1;

	if (chunks <= SNAPCOW_HEADER_CHUNKS)
		return 0;
	/* Areas at chunks 1, 1 + stride, ... below @chunks. */
	return chunks - SNAPCOW_HEADER_CHUNKS -
	       ((chunks - SNAPCOW_HEADER_CHUNKS - 1) / stride + 1);
}

SNAPCOW_EXPORT
uint64_t snapcow_areas_on_device(uint32_t chunk_sectors, uint64_t chunks)
{
	uint64_t stride = snapcow_exceptions_per_area(chunk_sectors) + 1;

	if (chunks <= SNAPCOW_HEADER_CHUNKS)
		return 0;
	return (chunks - SNAPCOW_HEADER_CHUNKS + stride - 1) / stride;
}

SNAPCOW_EXPORT
uint64_t snapcow_metadata_sectors(uint32_t chunk_sectors,
				  uint64_t current_area)
{
	return (current_area + 1 + SNAPCOW_HEADER_CHUNKS) * chunk_sectors;
}

SNAPCOW_EXPORT
uint64_t snapcow_cow_min_bytes(uint32_t chunk_sectors)
{
	/* The header, the first area and one data chunk. */
	return snapcow_chunk_offset(chunk_sectors, SNAPCOW_HEADER_CHUNKS + 2);
}

SNAPCOW_EXPORT
uint64_t snapcow_cow_capacity(uint32_t chunk_sectors, uint64_t cow_bytes)
{
	uint64_t epa = snapcow_exceptions_per_area(chunk_sectors);
	uint64_t chunks, areas, data;

	if (!epa)
		return 0;
	if (cow_bytes < snapcow_cow_min_bytes(chunk_sectors))
		return 0;
	chunks = cow_bytes / ((uint64_t)chunk_sectors * SNAPCOW_SECTOR_SIZE);
	/* Areas whose chunk lies whole on the device; the rest is data. */
	areas = (chunks - SNAPCOW_HEADER_CHUNKS + epa) / (epa + 1);
	data = chunks - SNAPCOW_HEADER_CHUNKS - areas;
	/* Full areas and no room for the next: its zeroing fails. */
	return data == areas * epa ? data - 1 : data;
}

/*
 * The kernel's rules (dm_exception_store_set_chunk_size): a power of two,
 * a multiple of the device's logical block size, not above INT_MAX bytes.
 */
SNAPCOW_EXPORT
int snapcow_chunk_size_check(uint32_t chunk_sectors, unsigned int block_size,
			     const char **why)
{
	const char *dummy;

	if (!why)
		why = &dummy;
	if (!chunk_sectors) {
		*why = "chunk size is zero";
		return -EINVAL;
	}
	if (chunk_sectors & (chunk_sectors - 1)) {
		*why = "chunk size is not a power of two";
		return -EINVAL;
	}
	if (chunk_sectors > SNAPCOW_MAX_CHUNK_SECTORS) {
		*why = "chunk size is above the kernel's limit of 1 GiB";
		return -EINVAL;
	}
	if (block_size && ((uint64_t)chunk_sectors * SNAPCOW_SECTOR_SIZE) %
			  block_size) {
		*why = "chunk size is not a multiple of the logical block size";
		return -EINVAL;
	}
	*why = NULL;
	return 0;
}

SNAPCOW_EXPORT
void snapcow_header_encode(const struct snapcow_header *hdr, void *buf)
{
	unsigned char *p = buf;

	sc_put_le(p + 0, 4, hdr->magic);
	sc_put_le(p + 4, 4, hdr->valid);
	sc_put_le(p + 8, 4, hdr->version);
	sc_put_le(p + 12, 4, hdr->chunk_size);
}

SNAPCOW_EXPORT
void snapcow_header_decode(const void *buf, struct snapcow_header *hdr)
{
	const unsigned char *p = buf;

	hdr->magic = (uint32_t)sc_get_le(p + 0, 4);
	hdr->valid = (uint32_t)sc_get_le(p + 4, 4);
	hdr->version = (uint32_t)sc_get_le(p + 8, 4);
	hdr->chunk_size = (uint32_t)sc_get_le(p + 12, 4);
}

SNAPCOW_EXPORT
int snapcow_header_read(struct snapcow_dev *cow, struct snapcow_header *hdr)
{
	/* Its first sector: chunk 0 of any chunk size holds it whole. */
	unsigned char buf[SNAPCOW_SECTOR_SIZE];
	int r = snapcow_dev_read(cow, buf, sizeof(buf), 0);

	if (r)
		return r;
	snapcow_header_decode(buf, hdr);
	return 0;
}

SNAPCOW_EXPORT
void snapcow_record_decode(const void *area, uint64_t slot,
			   struct snapcow_record *rec)
{
	const unsigned char *p = (const unsigned char *)area +
				 slot * SNAPCOW_RECORD_SIZE;

	rec->old_chunk = sc_get_le(p, 8);
	rec->new_chunk = sc_get_le(p + 8, 8);
}

SNAPCOW_EXPORT
void snapcow_record_encode(void *area, uint64_t slot,
			   const struct snapcow_record *rec)
{
	unsigned char *p = (unsigned char *)area + slot * SNAPCOW_RECORD_SIZE;

	sc_put_le(p, 8, rec->old_chunk);
	sc_put_le(p + 8, 8, rec->new_chunk);
}
