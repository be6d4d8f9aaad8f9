/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The undo file (undo.c), written by repair.c.  Layout, integers
 * little-endian: a 64-byte header {"SNAPUNDO", le64 version 1, entries,
 * device bytes, chunk bytes, table offset, table sum, header sum}, the
 * old contents of each changed chunk in table order, then the table of
 * 32-byte entries {offset, length, old sum, new sum}.  Sums are FNV-1a.
 */
#ifndef SNAPCOW_UNDO_H
#define SNAPCOW_UNDO_H

#include "snapcow.h"

#define SC_UNDO_HDR_SIZE	64u
#define SC_UNDO_ENT_SIZE	32u
#define SC_UNDO_SUM_INIT	UINT64_C(0xcbf29ce484222325)

struct sc_undo_hdr {
	uint64_t n;			/* entries */
	uint64_t dev_size;		/* bytes of the device repaired */
	uint64_t chunk_bytes;
	uint64_t table_off;
	uint64_t table_sum;
};

/* One changed chunk: where, and its sums before and after the repair. */
struct sc_undo_ent {
	uint64_t offset;
	uint64_t len;
	uint64_t old_sum;
	uint64_t new_sum;
};

uint64_t sc_undo_sum(const void *buf, uint64_t len);
/* Go on summing after @h (SC_UNDO_SUM_INIT to start). */
uint64_t sc_undo_sum_more(uint64_t h, const void *buf, uint64_t len);
void sc_undo_encode_header(void *buf, const struct sc_undo_hdr *h);
/* -EBADMSG unless the magic, version and header sum hold. */
int sc_undo_decode_header(const void *buf, struct sc_undo_hdr *h);
void sc_undo_encode_ent(void *buf, const struct sc_undo_ent *e);
void sc_undo_decode_ent(const void *buf, struct sc_undo_ent *e);

#endif /* SNAPCOW_UNDO_H */
