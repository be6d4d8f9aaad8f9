/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SNAPCOW_STORE_H
#define SNAPCOW_STORE_H

#include "snapcow.h"
#include "table.h"

/*
 * A loaded persistent exception store: the kernel's struct pstore plus
 * the completed-exception table.
 */
struct snapcow_store {
	struct snapcow_dev *cow;
	unsigned int flags;
	enum snapcow_state state;
	struct snapcow_header hdr;
	uint32_t cs;			/* chunk size in sectors */
	uint64_t chunk_bytes;
	uint64_t epa;			/* exceptions per area */
	uint64_t cow_chunks;		/* whole chunks on the device */
	uint64_t exceptions;		/* records on the list */
	uint64_t duplicates;		/* records whose old chunk repeats */
	uint64_t current_area;
	uint64_t current_committed;
	uint64_t next_free;
	bool dirty;			/* area holds uncommitted records */
	unsigned char *area;		/* current area, one chunk */
	struct sc_table *table;
	char err[SNAPCOW_ERRBUF_SIZE];
};

int sc_store_errf(struct snapcow_store *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Read metadata area @area into @buf (one chunk). */
int sc_store_read_area(struct snapcow_store *s, uint64_t area, void *buf);
uint64_t sc_store_area_offset(const struct snapcow_store *s, uint64_t area);
/*
 * Write the current area as the kernel's area_io(REQ_PREFLUSH | REQ_FUA):
 * flush what came before (data the records name), write, flush.  @what
 * ("committing", "merging") goes into the error message.
 */
int sc_store_write_area(struct snapcow_store *s, const char *what);

/*
 * The writing half for the engine (store-write.c), which serialises
 * calls per store itself and wants each message in its caller's buffer:
 * format a NEW store; take the next free chunk (-ENOSPC, no message, when
 * full); put a record in the current area, committing it when it fills;
 * commit (-ENOSPC when the next area does not fit, without invalidating);
 * write the header with valid 0; mark the in-memory store invalid.
 */
int sc_store_format_new(struct snapcow_store *s, char *err, size_t errlen);
int sc_store_alloc_chunk(struct snapcow_store *s, uint64_t *new_chunk);
int sc_store_append(struct snapcow_store *s, uint64_t old_chunk,
		    uint64_t new_chunk, char *err, size_t errlen);
int sc_store_write_area_to(struct snapcow_store *s, const char *what,
			   char *err, size_t errlen);
int sc_store_commit_to(struct snapcow_store *s, char *err, size_t errlen);
int sc_store_write_invalid(struct snapcow_store *s, char *err,
			   size_t errlen);
void sc_store_mark_invalid(struct snapcow_store *s);

/*
 * Load (store-dups.c): remap each of the @n duplicated origin chunks
 * @olds (sorted in place) to the record the kernel serves.
 */
int sc_store_resolve_dups(struct snapcow_store *s, uint64_t *olds, size_t n);

/*
 * Merge (store-merge.c), in batches: begin at the list's end; peek the
 * run ending at the last record not yet taken (its length, 0 when none
 * is left); take it once the caller has copied it to the origin; commit
 * every taken record durably once the caller has flushed the origin.
 * Free the batch whatever happened.
 */
struct sc_batch_area {
	uint64_t index;			/* metadata area number */
	uint64_t committed;		/* records in it when read */
	uint64_t kept;			/* records left: the rest are taken */
	unsigned char *buf;		/* its records, taken ones zeroed */
};

struct sc_batch_run {
	uint64_t first_old;
	uint64_t count;
};

struct sc_merge_batch {
	struct sc_batch_area *areas;	/* [0] the current area, then back */
	size_t nareas, areas_cap;
	struct sc_batch_run *runs;	/* taken, to forget after the commit */
	size_t nruns, runs_cap;
	uint64_t records;		/* taken */
};

int sc_store_batch_begin(struct snapcow_store *s, struct sc_merge_batch *b);
int sc_store_batch_peek(struct snapcow_store *s, struct sc_merge_batch *b,
			uint64_t *last_old, uint64_t *last_new);
int sc_store_batch_take(struct snapcow_store *s, struct sc_merge_batch *b,
			uint64_t first_old, uint64_t n);
int sc_store_batch_commit(struct snapcow_store *s, struct sc_merge_batch *b);
void sc_store_batch_free(struct sc_merge_batch *b);

/*
 * Merge (merge-backup.c): 0 when every chunk backup @b holds is one this
 * merge of @s into @origin overwrote or is about to, with the origin
 * holding the backup's copy or merged data there; else -EINVAL and the
 * chunk and its offsets in @err.
 */
int sc_merge_prove_backup(struct snapcow_store *s, struct snapcow_dev *origin,
			  struct snapcow_store *b, char *err, size_t errlen);

#endif /* SNAPCOW_STORE_H */
