/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internals of the checker (check.c) and repair (repair.c).
 */
#ifndef SNAPCOW_CHECK_H
#define SNAPCOW_CHECK_H

#include "kmodel.h"
#include "snapcow.h"

enum sc_action {
	SC_REPORT,
	SC_FIX,
};

enum sc_action sc_check_action(const struct snapcow_finding *f, bool repair);

/* What a rule's fix adds to the repair plan. */
enum sc_plan {
	SC_PLAN_NONE,			/* the rule has no fix */
	SC_PLAN_HEADER,			/* rewrite chunk 0 */
	SC_PLAN_DROP_RECORD,		/* drop the finding's record */
	SC_PLAN_ZERO_TAIL,		/* zero the current area's tail */
	SC_PLAN_ZERO_NEXT_AREA,		/* zero the area after the list */
	SC_PLAN_INVALIDATE,		/* mark the snapshot invalid */
};

struct sc_rule_row {
	struct snapcow_rule rule;
	enum sc_plan plan;
};

enum sc_plan sc_rule_plan(unsigned int id);

/*
 * Read-ahead: areas requested (posix_fadvise WILLNEED) ahead of the one
 * being checked, so the device works while the CPU does; at most
 * SC_READAHEAD_BYTES in flight.
 */
#define SC_READAHEAD_AREAS	64u
#define SC_READAHEAD_BYTES	(8u << 20)

static inline uint64_t sc_readahead_areas(uint64_t chunk_bytes)
{
	uint64_t n = SC_READAHEAD_BYTES / chunk_bytes;

	return n < 1 ? 1 : n > SC_READAHEAD_AREAS ? SC_READAHEAD_AREAS : n;
}

/* Keys appended to growing segments: never copied while they come. */
struct sc_keys {
	uint64_t **segs;
	size_t nsegs;
	size_t cap_segs;
	size_t len;			/* keys in the last segment */
	size_t cap;			/* its size */
	size_t n;			/* keys in all */
};

#define SC_OLD_BUCKET_BITS	8u
#define SC_OLD_BUCKETS		(1u << SC_OLD_BUCKET_BITS)

/* Stored findings are capped; counts per rule are not. */
#define SC_MAX_FINDINGS_PER_RULE 1000

struct snapcow_check {
	struct snapcow_dev *cow;
	struct snapcow_check_opts opts;
	uint64_t dev_bytes;
	struct snapcow_header hdr;
	enum snapcow_state state;
	uint32_t cs;			/* 0: no usable chunk size */
	bool cs_inferred;
	uint64_t chunk_bytes;
	uint64_t epa;
	uint64_t cow_chunks;
	uint64_t origin_chunks;		/* 0: unknown */

	/* The list, as the kernel loads it. */
	bool walked;
	uint64_t exceptions;
	uint64_t current_area;
	uint64_t current_committed;
	uint64_t next_free;
	bool end_past_device;
	uint64_t ra_next;		/* first area not yet read ahead */
	uint64_t progress_total;	/* bytes of metadata expected */
	uint64_t leaked;
	uint64_t good_records;		/* records no range rule drops */
	uint64_t good_next_free;	/* one past their highest chunk */

	/*
	 * Per-exception state: old chunks of in-range records, in buckets
	 * by a hash (8 bytes an exception, no doubled array), and a bitmap.
	 */
	struct sc_keys *olds;		/* SC_OLD_BUCKETS */
	uint64_t *owned;		/* one bit per COW chunk */
	uint64_t *shared;		/* new chunks seen twice, sorted */
	size_t nshared;
	size_t cap_shared;

	/* Findings. */
	struct snapcow_finding *f;
	size_t nf;
	size_t cap_f;
	uint64_t per_rule[SNAPCOW_RULE_COUNT];

	/* The repair plan. */
	uint64_t *drops;		/* list indices (g), sorted, unique */
	size_t ndrops;
	size_t cap_drops;
	bool fix_tail;			/* zero the current area's tail */
	bool fix_next_area;		/* zero area current + 1 */
	bool fix_header;		/* rewrite chunk 0 */
	bool invalidate;

	char err[SNAPCOW_ERRBUF_SIZE];
};

int sc_check_errf(struct snapcow_check *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * The one call for a problem found (e2fsck's fix_problem): record the
 * finding of @rule (@fmt fills its text; @rec, when the finding is a
 * record, its position) and, when its rule has a fix and @fixable says
 * this instance can take it, add the fix to the repair plan.  The plan
 * is made for every instance, also past the stored findings' cap.
 */
int sc_check_problem(struct snapcow_check *c, unsigned int rule,
		     const struct sc_rec *rec, uint64_t count, bool fixable,
		     const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Add list index @g to the records a repair drops. */
int sc_check_drop(struct snapcow_check *c, uint64_t g);
/* Nothing can be fixed after all (the header chunk cannot be written). */
void sc_check_unplan(struct snapcow_check *c);
uint64_t sc_check_area_offset(const struct snapcow_check *c, uint64_t area);

static inline bool sc_check_area_on_device(const struct snapcow_check *c,
					   uint64_t area)
{
	return snapcow_area_chunk(c->cs, area) < c->cow_chunks;
}

/* @new_chunk is a data chunk on the device: neither 0 nor metadata. */
static inline bool sc_check_rec_in_data(const struct snapcow_check *c,
					uint64_t new_chunk)
{
	return new_chunk && new_chunk < c->cow_chunks &&
	       !snapcow_chunk_is_metadata(c->cs, new_chunk);
}

/* The passes, in the order snapcow_check() runs them. */
int sc_check_header(struct snapcow_check *c);		/* check-header.c */
int sc_check_walk(struct snapcow_check *c, void *buf);	/* check-walk.c */
/*
 * check-reader.c: a thread reading areas 0 .. @end - 1 in order ahead of
 * the walk; get area after area, release each when done with it.
 */
struct sc_area_reader;
int sc_area_reader_start(struct snapcow_check *c, uint64_t end,
			 struct sc_area_reader **rdp);
int sc_area_reader_get(struct sc_area_reader *rd, uint64_t area,
		       const void **buf);
void sc_area_reader_release(struct sc_area_reader *rd);
void sc_area_reader_stop(struct sc_area_reader *rd);
int sc_check_next_area(struct snapcow_check *c, void *buf);
void sc_check_progress(struct snapcow_check *c, uint64_t done);
int sc_check_push_old(struct snapcow_check *c, uint64_t old_chunk);
int sc_check_collisions(struct snapcow_check *c);	/* check-collisions.c */
void sc_check_free_olds(struct snapcow_check *c);

#endif /* SNAPCOW_CHECK_H */
