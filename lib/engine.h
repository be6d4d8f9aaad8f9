/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The concurrent copy-on-write engine's insides, shared by its files:
 * engine-origin.c (the object, snapshots, quiesce, the chunk table),
 * engine-commit.c (pending exceptions: group commit in allocation order,
 * invalidation), engine-write.c (origin writes), engine-snap.c (snapshot
 * reads and writes) and engine.c (the offline tools' calls).
 *
 * One mutex per origin guards every in-memory structure below and the
 * stores' tables and allocation; it is never held across I/O.  Waiting is
 * on one condition variable per origin.
 */
#ifndef SNAPCOW_ENGINE_H
#define SNAPCOW_ENGINE_H

#include <pthread.h>

#include "snapcow.h"
#include "store.h"

enum eng_state {
	ENG_LIVE,
	ENG_INVALIDATING,	/* the header is being written: wait */
	ENG_INVALID,		/* durably invalid: skipped by origin writes */
	ENG_FAILED,		/* could not even be invalidated: refuse */
};

struct eng_pending;

struct eng_snap {
	struct snapcow_store *s;
	uint64_t chunk_bytes;
	enum eng_state state;
	bool writable;
	bool committing;		/* a group commit is writing */
	unsigned int users;		/* snapshot reads and writes */
	struct eng_pending *qhead;	/* in allocation order */
	struct eng_pending *qtail;
	struct snapcow_snap_stats stats;	/* this COW's share of o->stats */
	char commit_err[SNAPCOW_ERRBUF_SIZE];	/* the last failed commit */
};

/* The kernel's pending exception: a chunk being copied. */
enum pe_state { PE_COPYING, PE_COPIED, PE_COMMITTING, PE_DONE };

struct eng_pending {
	struct eng_pending *qnext;
	struct eng_snap *snap;
	struct eng_chunk *ent;
	uint64_t old_chunk;
	uint64_t new_chunk;
	enum pe_state state;
	int result;		/* 0 committed, -ECANCELED snapshot gone */
};

/* The lock table: one entry per (snapshot, chunk) in use. */
struct eng_chunk {
	struct eng_chunk *next;
	struct eng_snap *snap;
	uint64_t chunk;
	unsigned int readers;		/* snapshot reads from the origin */
	struct eng_pending *pe;		/* the copy in progress */
};

#define ENG_BUCKETS 1024u
#define ENG_SPARE 256u

struct snapcow_origin {
	struct snapcow_dev *dev;
	uint64_t size;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct eng_snap **snaps;	/* descending chunk size */
	unsigned int nsnaps;
	unsigned int writers;		/* origin writes and flushes */
	bool quiescing;
	struct eng_chunk *buckets[ENG_BUCKETS];
	struct eng_chunk *spare;	/* unused entries, for reuse */
	unsigned int nspare;
	struct snapcow_engine_stats stats;
};

/*
 * The offline tools' calls (engine.c, export.c): a private origin object
 * holding @snaps; @format: a new writable COW is formatted (writes), as
 * on activation.
 */
int sc_offline_origin(struct snapcow_dev *origin,
		      struct snapcow_store *const *snaps, unsigned int nsnaps,
		      bool format, struct snapcow_origin **op, char *err,
		      size_t errlen);
/* engine-origin.c */
/* @activate: format a new writable COW (else it is only read). */
int eng_add_snapshot(struct snapcow_origin *o, struct snapcow_store *s,
		     bool activate, char *err, size_t errlen);
int eng_check_range(const struct snapcow_origin *o, size_t len,
		    uint64_t offset, char *err, size_t errlen);
struct eng_snap *eng_find_snap(struct snapcow_origin *o,
			       const struct snapcow_store *s);
struct eng_chunk *eng_chunk_find(struct snapcow_origin *o,
				 const struct eng_snap *sn, uint64_t chunk);
struct eng_chunk *eng_chunk_get(struct snapcow_origin *o, struct eng_snap *sn,
				uint64_t chunk);
void eng_chunk_put(struct snapcow_origin *o, struct eng_chunk *ent);
void eng_wait(struct snapcow_origin *o);
void eng_wake(struct snapcow_origin *o);
bool eng_lookup(const struct eng_snap *sn, uint64_t chunk,
		uint64_t *new_chunk);
uint64_t eng_chunk_span(const struct snapcow_origin *o,
			const struct eng_snap *sn, uint64_t chunk);

/* engine-commit.c */
int eng_alloc(struct snapcow_origin *o, struct eng_snap *sn, uint64_t chunk,
	      struct eng_pending *pe);
void eng_unalloc(struct snapcow_origin *o, struct eng_pending *pe);
int eng_complete(struct snapcow_origin *o, struct eng_pending *pe,
		 int copy_result, char *err, size_t errlen);
void eng_invalidate(struct snapcow_origin *o, struct eng_snap *sn);
void eng_wait_settled(struct snapcow_origin *o, struct eng_snap *sn);

#endif /* SNAPCOW_ENGINE_H */
