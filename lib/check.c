// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The checker: read a COW the way the kernel loads it and hold every
 * byte of metadata against the rules in check-rules.c.  One streaming
 * pass over the areas, in order and with read-ahead, keeps the old chunk
 * of each in-range record (8 bytes, in segments) and one bit per COW
 * chunk; the old chunks are then gathered into one array (each segment
 * freed once copied) and radix-sorted in place to find duplicates.  Only
 * when duplicates turn up is the list read a second time to find out
 * where they are.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "check.h"
#include "util.h"

int sc_check_errf(struct snapcow_check *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return err;
}

uint64_t sc_check_area_offset(const struct snapcow_check *c, uint64_t area)
{
	return snapcow_area_offset(c->cs, area);
}

int sc_check_drop(struct snapcow_check *c, uint64_t g)
{
	int r = sc_grow((void **)&c->drops, &c->cap_drops, c->ndrops + 1,
			sizeof(*c->drops));

	if (r)
		return sc_check_errf(c, r, "out of memory");
	c->drops[c->ndrops++] = g;
	return 0;
}

/* Add the fix of @rule to the plan: what repair.c will do. */
static int plan_fix(struct snapcow_check *c, unsigned int rule,
		    const struct sc_rec *rec)
{
	switch (sc_rule_plan(rule)) {
	case SC_PLAN_NONE:
		break;
	case SC_PLAN_HEADER:
		c->fix_header = true;
		break;
	case SC_PLAN_DROP_RECORD:
		return sc_check_drop(c, rec->g);
	case SC_PLAN_ZERO_TAIL:
		c->fix_tail = true;
		break;
	case SC_PLAN_ZERO_NEXT_AREA:
		c->fix_next_area = true;
		break;
	case SC_PLAN_INVALIDATE:
		c->invalidate = true;
		break;
	}
	return 0;
}

void sc_check_unplan(struct snapcow_check *c)
{
	size_t i;

	c->fix_header = c->fix_tail = c->fix_next_area = c->invalidate = false;
	c->ndrops = 0;
	for (i = 0; i < c->nf; i++)
		c->f[i].fixable = false;
}

static int add_finding(struct snapcow_check *c, unsigned int rule,
		       const struct sc_rec *rec, uint64_t count, bool fixable,
		       const char *fmt, va_list ap)
{
	struct snapcow_finding *f;
	int r;

	r = sc_grow((void **)&c->f, &c->cap_f, c->nf + 1, sizeof(*c->f));
	if (r)
		return sc_check_errf(c, r, "out of memory");
	f = &c->f[c->nf++];
	memset(f, 0, sizeof(*f));
	f->rule = rule;
	f->count = count;
	f->fixable = fixable;
	f->area = f->slot = f->offset = SNAPCOW_NO_POS;
	if (rec) {
		f->area = rec->g / c->epa;
		f->slot = rec->g % c->epa;
		f->offset = sc_check_area_offset(c, f->area) +
			    f->slot * SNAPCOW_RECORD_SIZE;
		f->old_chunk = rec->old_chunk;
		f->new_chunk = rec->new_chunk;
	}
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	return 0;
}

int sc_check_problem(struct snapcow_check *c, unsigned int rule,
		     const struct sc_rec *rec, uint64_t count, bool fixable,
		     const char *fmt, ...)
{
	va_list ap;
	int r;

	fixable = fixable && sc_rule_plan(rule) != SC_PLAN_NONE;
	if (fixable) {
		r = plan_fix(c, rule, rec);
		if (r)
			return r;
	}
	if (++c->per_rule[rule] > SC_MAX_FINDINGS_PER_RULE)
		return 0;
	va_start(ap, fmt);
	r = add_finding(c, rule, rec, count, fixable, fmt, ap);
	va_end(ap);
	return r;
}

/* ------------------------------------------------------- allocation */

static uint64_t popcount_bits(const uint64_t *w, uint64_t nbits)
{
	uint64_t i, n = 0;

	for (i = 0; i < (nbits + 63) / 64; i++)
		n += (uint64_t)__builtin_popcountll(w[i]);
	return n;
}

static int check_leaks(struct snapcow_check *c)
{
	uint64_t nf, data;

	c->next_free = snapcow_skip_metadata(c->cs, c->next_free);
	/* Records a repair drops do not count: their chunks will be free. */
	nf = MIN(c->good_next_free, c->cow_chunks);
	data = snapcow_data_chunks_below(c->cs, nf);
	c->leaked = data - MIN(data, popcount_bits(c->owned, c->cow_chunks));
	if (!c->leaked)
		return 0;
	return sc_check_problem(c, SNAPCOW_RULE_LEAKED_CHUNKS, NULL, c->leaked,
				false, "%llu of %llu data chunks below chunk %llu",
				(unsigned long long)c->leaked,
				(unsigned long long)data, (unsigned long long)nf);
}

static int check_plan(struct snapcow_check *c)
{
	c->ndrops = sc_sort_unique_u64(c->drops, c->ndrops);
	if (!c->exceptions || c->ndrops < c->exceptions)
		return 0;
	return sc_check_problem(c, SNAPCOW_RULE_NOTHING_LEFT, NULL, c->exceptions,
				true, "all %llu records are damaged",
				(unsigned long long)c->exceptions);
}

static int check_records(struct snapcow_check *c)
{
	unsigned char *buf = malloc(c->chunk_bytes);
	int r;

	c->owned = calloc(c->cow_chunks / 64 + 1, sizeof(*c->owned));
	c->olds = calloc(SC_OLD_BUCKETS, sizeof(*c->olds));
	if (!buf || !c->owned || !c->olds) {
		free(buf);
		return sc_check_errf(c, -ENOMEM,
				     "cannot allocate a bitmap of %llu chunks",
				     (unsigned long long)c->cow_chunks);
	}
	c->walked = true;
	r = sc_check_walk(c, buf);
	if (!r)
		r = sc_check_next_area(c, buf);
	free(buf);
	if (!r)
		r = sc_check_collisions(c);
	if (!r)
		r = check_leaks(c);
	/* The olds were only needed to find duplicates. */
	sc_check_free_olds(c);
	if (!r)
		sc_check_progress(c, c->progress_total);
	return r ? r : check_plan(c);
}

SNAPCOW_EXPORT
int snapcow_check(struct snapcow_dev *cow, const struct snapcow_check_opts *opts,
		  struct snapcow_check **cp, char *err, size_t errlen)
{
	struct snapcow_check *c = calloc(1, sizeof(*c));
	int r;

	*cp = NULL;
	if (!c)
		return sc_errf(err, errlen, -ENOMEM, "out of memory");
	c->cow = cow;
	/* Until the header says what it is: garbage is not "new". */
	c->state = SNAPCOW_STATE_UNKNOWN;
	if (opts)
		c->opts = *opts;
	c->dev_bytes = snapcow_dev_size(cow);
	r = sc_check_header(c);
	if (r > 0)
		r = check_records(c);
	if (r < 0) {
		sc_errf(err, errlen, r, "%s: %s", snapcow_dev_path(cow),
			c->err);
		snapcow_check_free(c);
		return r;
	}
	*cp = c;
	return 0;
}

SNAPCOW_EXPORT
void snapcow_check_free(struct snapcow_check *c)
{
	if (!c)
		return;
	sc_check_free_olds(c);
	free(c->owned);
	free(c->shared);
	free(c->f);
	free(c->drops);
	free(c);
}

SNAPCOW_EXPORT
size_t snapcow_check_findings(const struct snapcow_check *c,
			      const struct snapcow_finding **findings)
{
	*findings = c->f;
	return c->nf;
}

SNAPCOW_EXPORT
uint64_t snapcow_check_rule_count(const struct snapcow_check *c,
				  unsigned int rule)
{
	return rule < SNAPCOW_RULE_COUNT ? c->per_rule[rule] : 0;
}

SNAPCOW_EXPORT
uint64_t snapcow_check_errors(const struct snapcow_check_summary *s)
{
	return s->by_severity[SNAPCOW_SEV_ERROR] +
	       s->by_severity[SNAPCOW_SEV_FATAL];
}

SNAPCOW_EXPORT
void snapcow_check_get_summary(const struct snapcow_check *c,
			       struct snapcow_check_summary *s)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->state = c->state;
	s->chunk_size = c->cs;
	s->chunk_size_inferred = c->cs_inferred;
	s->cow_sectors = c->dev_bytes >> SNAPCOW_SECTOR_SHIFT;
	for (i = 0; i < SNAPCOW_RULE_COUNT; i++)
		s->by_severity[snapcow_rule_get(i)->severity] +=
			c->per_rule[i];
	for (i = 0; i < c->nf; i++)
		s->fixable += c->f[i].fixable;
	if (!c->walked)
		return;
	s->exceptions = c->exceptions;
	s->areas = c->current_area + 1;
	s->current_area = c->current_area;
	s->current_committed = c->current_committed;
	s->next_free = c->next_free;
	s->sectors_allocated = c->next_free * c->cs;
	s->metadata_sectors = snapcow_metadata_sectors(c->cs, c->current_area);
	s->leaked_chunks = c->leaked;
	s->records_to_drop = c->ndrops;
}

