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

/* Inference reads this much of each candidate area: 64 records. */
#define SC_INFER_BYTES	1024u
/* Segments of old chunks grow from 64 keys to 512 KiB. */
#define SC_SEG_MIN	64u
#define SC_SEG_MAX	65536u

struct sc_u64s {
	uint64_t *v;
	size_t n;
	size_t cap;
};

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

int sc_check_add(struct snapcow_check *c, unsigned int rule,
		 const struct sc_rec *rec, uint64_t count, bool fixable,
		 const char *fmt, ...)
{
	struct snapcow_finding *f;
	va_list ap;
	int r;

	if (++c->per_rule[rule] > SC_MAX_FINDINGS_PER_RULE)
		return 0;
	r = sc_grow((void **)&c->f, &c->cap_f, c->nf + 1, sizeof(*c->f));
	if (r)
		return sc_check_errf(c, r, "out of memory");
	f = &c->f[c->nf++];
	memset(f, 0, sizeof(*f));
	f->rule = rule;
	f->count = count;
	f->fixable = fixable && snapcow_rule_get(rule)->fix;
	f->area = f->slot = f->offset = SNAPCOW_NO_POS;
	if (rec) {
		f->area = rec->g / c->epa;
		f->slot = rec->g % c->epa;
		f->offset = sc_check_area_offset(c, f->area) +
			    f->slot * SNAPCOW_RECORD_SIZE;
		f->old_chunk = rec->old_chunk;
		f->new_chunk = rec->new_chunk;
	}
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
	return 0;
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

/* ------------------------------------------------------ old chunks */

/*
 * Old chunks are kept in SC_OLD_BUCKETS buckets by a hash of the key, so
 * equal keys share a bucket and each bucket can be sorted alone, in the
 * cache, with no array of every key: 8 bytes an exception (each written
 * once, to memory the kernel hands out once) plus the largest bucket
 * while it is sorted.
 */
static inline unsigned int old_bucket(uint64_t old_chunk)
{
	return (unsigned int)((old_chunk * UINT64_C(0x9e3779b97f4a7c15)) >>
			      (64 - SC_OLD_BUCKET_BITS));
}

static int push_old(struct snapcow_check *c, uint64_t old_chunk)
{
	struct sc_keys *k = &c->olds[old_bucket(old_chunk)];
	uint64_t *seg;
	int r;

	if (k->nsegs && k->len < k->cap) {
		k->segs[k->nsegs - 1][k->len++] = old_chunk;
		k->n++;
		return 0;
	}
	r = sc_grow((void **)&k->segs, &k->cap_segs, k->nsegs + 1,
		 sizeof(*k->segs));
	if (r)
		return sc_check_errf(c, r, "out of memory");
	k->cap = k->nsegs ? MIN(k->cap * 2, SC_SEG_MAX) : SC_SEG_MIN;
	seg = malloc(k->cap * sizeof(*seg));
	if (!seg)
		return sc_check_errf(c, -ENOMEM, "out of memory");
	k->segs[k->nsegs++] = seg;
	seg[0] = old_chunk;
	k->len = 1;
	k->n++;
	return 0;
}

static void free_keys(struct sc_keys *k)
{
	size_t i;

	for (i = 0; i < k->nsegs; i++)
		free(k->segs[i]);
	free(k->segs);
	memset(k, 0, sizeof(*k));
}

static void free_olds(struct snapcow_check *c)
{
	unsigned int b;

	if (!c->olds)
		return;
	for (b = 0; b < SC_OLD_BUCKETS; b++)
		free_keys(&c->olds[b]);
	free(c->olds);
	c->olds = NULL;
}

/* Copy a bucket's keys to @v, freeing its segments; returns their count. */
static size_t gather_keys(struct sc_keys *k, uint64_t *v)
{
	size_t i, cap = SC_SEG_MIN, off = 0, len, n = k->n;

	for (i = 0; i < k->nsegs; i++, cap = MIN(cap * 2, SC_SEG_MAX)) {
		len = i + 1 == k->nsegs ? k->len : cap;
		memcpy(v + off, k->segs[i], len * sizeof(*v));
		off += len;
	}
	free_keys(k);
	return n;
}

/* Append the keys @v holds more than once (sorted) to @d. */
static int find_dups(struct snapcow_check *c, const uint64_t *v, size_t n,
		     struct sc_u64s *d)
{
	size_t i;
	int r;

	for (i = 1; i < n; i++) {
		if (v[i] != v[i - 1] || (i > 1 && v[i - 2] == v[i]))
			continue;
		r = sc_grow((void **)&d->v, &d->cap, d->n + 1, sizeof(*d->v));
		if (r)
			return sc_check_errf(c, r, "out of memory");
		d->v[d->n++] = v[i];
	}
	return 0;
}

/* The old chunks found more than once, sorted; the buckets are freed. */
static int olds_dups(struct snapcow_check *c, struct sc_u64s *d)
{
	size_t maxb = 0, n;
	unsigned int b;
	uint64_t *v;
	int r = 0;

	for (b = 0; b < SC_OLD_BUCKETS; b++)
		maxb = MAX(maxb, c->olds[b].n);
	v = malloc((maxb ? maxb : 1) * sizeof(*v));
	if (!v)
		r = sc_check_errf(c, -ENOMEM, "out of memory");
	for (b = 0; b < SC_OLD_BUCKETS && !r; b++) {
		n = gather_keys(&c->olds[b], v);
		sc_sort_u64(v, n);
		r = find_dups(c, v, n, d);
	}
	free(v);
	free_olds(c);
	if (!r)
		d->n = sc_sort_unique_u64(d->v, d->n);
	return r;
}

/* ------------------------------------------------------- geometry */

static void set_cs(struct snapcow_check *c, uint32_t cs)
{
	c->cs = cs;
	c->chunk_bytes = (uint64_t)cs * SNAPCOW_SECTOR_SIZE;
	c->epa = snapcow_exceptions_per_area(cs);
	c->cow_chunks = c->dev_bytes / c->chunk_bytes;
	c->origin_chunks = c->opts.origin_bytes ?
			   (c->opts.origin_bytes + c->chunk_bytes - 1) /
			   c->chunk_bytes : 0;
}

static bool area_on_device(const struct snapcow_check *c, uint64_t area)
{
	return snapcow_area_chunk(c->cs, area) < c->cow_chunks;
}

static bool rec_in_data(const struct snapcow_check *c, uint64_t new_chunk)
{
	return new_chunk && new_chunk < c->cow_chunks &&
	       !snapcow_chunk_is_metadata(c->cs, new_chunk);
}

/*
 * Leading records of area 0 that a kernel could have written with @cs;
 * *@ends (when asked) says whether the list ends right after them (an end
 * record, or all that was read), as it does when @cs is the real one.
 */
static int infer_run(struct snapcow_check *c, uint32_t cs, int *score,
		     bool *ends)
{
	unsigned char buf[SC_INFER_BYTES];
	struct snapcow_record rec;
	uint64_t i, n;
	int r;

	*score = 0;
	set_cs(c, cs);
	if (c->cow_chunks < 3)
		return 0;
	n = MIN(c->epa, sizeof(buf) / SNAPCOW_RECORD_SIZE);
	r = snapcow_dev_read(c->cow, buf, n * SNAPCOW_RECORD_SIZE,
			     c->chunk_bytes);
	if (r)
		return sc_check_errf(c, r, "%s", snapcow_dev_error(c->cow));
	for (i = 0; i < n; i++) {
		snapcow_record_decode(buf, i, &rec);
		if (!rec_in_data(c, rec.new_chunk))
			break;
		/* The first allocation lies in area 0's data chunks. */
		if (i == 0 && rec.new_chunk > 1 + c->epa)
			break;
		(*score)++;
	}
	if (ends)
		*ends = i == n || !rec.new_chunk;
	return 0;
}

static int infer_score(struct snapcow_check *c, uint32_t cs, int *score)
{
	return infer_run(c, cs, score, NULL);
}

/*
 * The chunk size whose area 0 holds the longest run of plausible
 * records; the header's own field wins a tie.  0 when none does.
 */
static int infer_cs(struct snapcow_check *c, uint32_t hint, uint32_t *out)
{
	uint32_t bs = snapcow_dev_block_size(c->cow) / SNAPCOW_SECTOR_SIZE;
	uint32_t cs, best = 0;
	int best_score = 0, score, r;

	*out = 0;
	for (cs = MAX(bs, 1u); cs && cs <= SNAPCOW_MAX_CHUNK_SECTORS; cs <<= 1) {
		if (snapcow_cow_min_bytes(cs) > c->dev_bytes)
			break;
		r = infer_score(c, cs, &score);
		if (r)
			return r;
		if (score > best_score || (score && score == best_score &&
					   cs == hint)) {
			best = cs;
			best_score = score;
		}
	}
	*out = best;
	if (best)
		set_cs(c, best);
	else
		c->cs = 0;
	return 0;
}

/* ---------------------------------------------------------- header */

/* Returns 1 when the records can be walked, 0 when not, or -errno. */
/* "; areas fit a chunk size of 16 sectors (8192 bytes)", or why not. */
static const char *fit_text(uint32_t cs, char *buf, size_t len)
{
	if (!cs)
		return "; no chunk size fits the areas";
	snprintf(buf, len, "; areas fit a chunk size of %u sectors "
		 "(%llu bytes)", cs,
		 (unsigned long long)cs << SNAPCOW_SECTOR_SHIFT);
	return buf;
}

static int check_magic(struct snapcow_check *c)
{
	bool zero = c->hdr.magic == 0;
	char fit[80];
	uint32_t cs;
	int r;

	r = infer_cs(c, c->hdr.chunk_size, &cs);
	if (r)
		return r;
	if (zero && !cs) {
		c->state = SNAPCOW_STATE_NEW;
		return sc_check_add(c, SNAPCOW_RULE_NEW_COW, NULL, 0, false,
				    "offset 0: magic 0 and no records: a new COW");
	}
	r = sc_check_add(c, zero ? SNAPCOW_RULE_NEW_OVER_LIVE :
				   SNAPCOW_RULE_HEADER_MAGIC,
			 NULL, 0, cs != 0, "offset 0: magic 0x%08x%s%s",
			 c->hdr.magic, zero ? " over live-looking areas" : "",
			 fit_text(cs, fit, sizeof(fit)));
	if (r || !cs)
		return r ? r : 0;
	set_cs(c, cs);
	c->cs_inferred = true;
	c->fix_header = true;
	c->state = SNAPCOW_STATE_VALID;
	return 1;
}

/*
 * A valid chunk size in the header that the areas were not written with
 * (someone changed it): the header's area 0 holds no list that ends
 * cleanly, and another chunk size's area 0 holds a longer one.  Believing
 * the header would drop every record and zero the real area 0 as
 * "garbage" in its header chunk; the fix is the header.
 */
static int check_chunk_size_fits(struct snapcow_check *c)
{
	uint32_t hdr_cs = c->hdr.chunk_size, cs;
	int score, r;
	bool ends;

	r = infer_run(c, hdr_cs, &score, &ends);
	if (r || (score && ends))
		goto keep;
	r = infer_cs(c, hdr_cs, &cs);
	if (r || !cs || cs == hdr_cs)
		goto keep;
	r = infer_score(c, cs, &score);
	r = r ?: sc_check_add(c, SNAPCOW_RULE_HEADER_CHUNK_SIZE, NULL, 0, true,
			      "offset 12: chunk size %u sectors, but the areas were written with %u sectors (%d records fit in area 0)",
			      hdr_cs, cs, score);
	if (r)
		return r;
	set_cs(c, cs);
	c->cs_inferred = true;
	c->fix_header = true;
	return 1;
keep:
	set_cs(c, hdr_cs);
	return r ? r : 1;
}

static int check_chunk_size(struct snapcow_check *c)
{
	char fit[80];
	const char *why;
	uint32_t cs;
	int r;

	if (!snapcow_chunk_size_check(c->hdr.chunk_size,
				      snapcow_dev_block_size(c->cow), &why))
		return check_chunk_size_fits(c);
	r = infer_cs(c, 0, &cs);
	if (r)
		return r;
	r = sc_check_add(c, SNAPCOW_RULE_HEADER_CHUNK_SIZE, NULL, 0, cs != 0,
			 "offset 12: chunk size %u sectors: %s%s",
			 c->hdr.chunk_size, why, fit_text(cs, fit, sizeof(fit)));
	if (r || !cs)
		return r ? r : 0;
	set_cs(c, cs);
	c->cs_inferred = true;
	c->fix_header = true;
	return 1;
}

static int check_header_fields(struct snapcow_check *c)
{
	int r;

	if (c->hdr.magic != SNAPCOW_MAGIC)
		return check_magic(c);
	r = check_chunk_size(c);
	if (r <= 0)
		return r;
	if (c->hdr.version != SNAPCOW_DISK_VERSION) {
		r = sc_check_add(c, SNAPCOW_RULE_HEADER_VERSION, NULL, 0, true,
				 "offset 8: version %u", c->hdr.version);
		if (r)
			return r;
		c->fix_header = true;
	}
	c->state = c->hdr.valid ? SNAPCOW_STATE_VALID : SNAPCOW_STATE_INVALID;
	if (!c->hdr.valid)
		return sc_check_add(c, SNAPCOW_RULE_HEADER_INVALID, NULL, 0,
				    false, "offset 4: valid flag is 0");
	return 1;
}

/* Chunk 0 past the 16-byte header: the kernel writes it as zeroes. */
static int check_header_garbage(struct snapcow_check *c)
{
	unsigned char buf[65536];
	uint64_t off = 0, first = SNAPCOW_NO_POS, bad = 0;
	int r;

	while (off < c->chunk_bytes) {
		size_t len = MIN(sizeof(buf), c->chunk_bytes - off);
		size_t i = off ? 0 : 16;

		r = snapcow_dev_read(c->cow, buf, len, off);
		if (r)
			return sc_check_errf(c, r, "%s",
					     snapcow_dev_error(c->cow));
		for (; i < len; i++) {
			if (!buf[i])
				continue;
			if (first == SNAPCOW_NO_POS)
				first = off + i;
			bad++;
		}
		off += len;
	}
	if (!bad)
		return 0;
	c->fix_header = true;
	return sc_check_add(c, SNAPCOW_RULE_HEADER_GARBAGE, NULL, bad, true,
			    "offset %llu: %llu non-zero bytes past the header",
			    (unsigned long long)first, (unsigned long long)bad);
}

static int check_header(struct snapcow_check *c)
{
	int r;

	if (c->dev_bytes < snapcow_cow_min_bytes(1)) {
		return sc_check_add(c, SNAPCOW_RULE_DEVICE_TOO_SMALL, NULL, 0,
				    false, "device of %llu bytes",
				    (unsigned long long)c->dev_bytes);
	}
	r = snapcow_header_read(c->cow, &c->hdr);
	if (r)
		return sc_check_errf(c, r, "%s", snapcow_dev_error(c->cow));
	r = check_header_fields(c);
	if (r <= 0)
		return r;
	if (c->dev_bytes < snapcow_cow_min_bytes(c->cs)) {
		/* Not even the header chunk can be rewritten. */
		c->fix_header = false;
		for (size_t i = 0; i < c->nf; i++)
			c->f[i].fixable = false;
		r = sc_check_add(c, SNAPCOW_RULE_DEVICE_TOO_SMALL, NULL, 0,
				 false, "device of %llu bytes, chunks of %llu",
				 (unsigned long long)c->dev_bytes,
				 (unsigned long long)c->chunk_bytes);
		return r ? r : 0;
	}
	r = check_header_garbage(c);
	if (r)
		return r;
	return c->state == SNAPCOW_STATE_VALID;
}

/* --------------------------------------------------------- records */

static int check_record(struct snapcow_check *c, const struct sc_rec *rec)
{
	uint64_t n = rec->new_chunk;
	uint64_t *w;
	int r;

	if (snapcow_chunk_is_metadata(c->cs, n)) {
		r = sc_check_add(c, SNAPCOW_RULE_NEW_IN_METADATA, rec, 1, true,
				 "origin chunk %llu -> COW chunk %llu, %s",
				 (unsigned long long)rec->old_chunk,
				 (unsigned long long)n,
				 n ? "a metadata area" : "the header");
		return r ? r : sc_check_drop(c, rec->g);
	}
	if (n >= c->cow_chunks) {
		r = sc_check_add(c, SNAPCOW_RULE_NEW_PAST_END, rec, 1, true,
				 "origin chunk %llu -> COW chunk %llu of %llu",
				 (unsigned long long)rec->old_chunk,
				 (unsigned long long)n,
				 (unsigned long long)c->cow_chunks);
		return r ? r : sc_check_drop(c, rec->g);
	}
	if (c->origin_chunks && rec->old_chunk >= c->origin_chunks) {
		r = sc_check_add(c, SNAPCOW_RULE_OLD_PAST_ORIGIN, rec, 1, true,
				 "origin chunk %llu of %llu -> COW chunk %llu",
				 (unsigned long long)rec->old_chunk,
				 (unsigned long long)c->origin_chunks,
				 (unsigned long long)n);
		return r ? r : sc_check_drop(c, rec->g);
	}
	c->good_records++;
	c->good_next_free = MAX(c->good_next_free, n + 1);
	w = &c->owned[n / 64];
	if (*w & (UINT64_C(1) << (n % 64))) {
		r = sc_grow((void **)&c->shared, &c->cap_shared, c->nshared + 1,
			 sizeof(*c->shared));
		if (r)
			return sc_check_errf(c, r, "out of memory");
		c->shared[c->nshared++] = n;
	}
	*w |= UINT64_C(1) << (n % 64);
	return push_old(c, rec->old_chunk);
}

/*
 * After the list's end, the kernel keeps the rest of the area in memory
 * and writes it back with the next commit: a non-zero new_chunk there
 * turns live.  A tail with no zero at all looks like a full area whose
 * record was zeroed: the list was cut.
 */
static int check_tail(struct snapcow_check *c, const void *buf, uint64_t area,
		      uint64_t end)
{
	struct snapcow_record rec;
	struct sc_rec pos;
	uint64_t i, live = 0, first = 0;
	unsigned int rule;

	for (i = end + 1; i < c->epa; i++) {
		snapcow_record_decode(buf, i, &rec);
		if (!rec.new_chunk)
			continue;
		if (!live++)
			first = i;
	}
	if (!live)
		return 0;
	c->fix_tail = true;
	rule = live == c->epa - end - 1 ? SNAPCOW_RULE_LIST_TRUNCATED :
					   SNAPCOW_RULE_STALE_TAIL;
	snapcow_record_decode(buf, first, &rec);
	pos.old_chunk = rec.old_chunk;
	pos.new_chunk = rec.new_chunk;
	pos.g = area * c->epa + first;
	return sc_check_add(c, rule, &pos, live, true,
			    "%llu records after the end at slot %llu",
			    (unsigned long long)live, (unsigned long long)end);
}


static int read_area(struct snapcow_check *c, uint64_t area, void *buf)
{
	int r = snapcow_dev_read(c->cow, buf, c->chunk_bytes,
				 sc_check_area_offset(c, area));

	if (r)
		return sc_check_errf(c, r, "%s", snapcow_dev_error(c->cow));
	return 0;
}

/*
 * Keep the next areas in flight while this one is checked: the list is
 * read in order, one chunk every epa + 1, a stride the kernel's own
 * read-ahead does not follow.  Only a hint: errors are ignored.
 */
static void read_ahead(struct snapcow_check *c, uint64_t area)
{
	uint64_t end = area + 1 + sc_readahead_areas(c->chunk_bytes);

	c->ra_next = MAX(c->ra_next, area + 1);
	for (; c->ra_next < end && area_on_device(c, c->ra_next); c->ra_next++)
		snapcow_dev_readahead(c->cow,
				      sc_check_area_offset(c, c->ra_next),
				      c->chunk_bytes);
}

static void progress(struct snapcow_check *c, uint64_t done)
{
	if (c->opts.progress)
		c->opts.progress(c->opts.ctx, MIN(done, c->progress_total),
				 c->progress_total);
}

/*
 * The list's length is only known at its end: for the progress bar,
 * guess it by bisecting for the first area whose first record is zero,
 * as areas fill in order.  A handful of reads, only with a progress bar.
 */
static void estimate_areas(struct snapcow_check *c, void *buf)
{
	uint64_t lo = 0, hi = snapcow_areas_on_device(c->cs, c->cow_chunks);
	struct snapcow_record rec;

	while (lo + 1 < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (snapcow_dev_read(c->cow, buf, SNAPCOW_RECORD_SIZE,
				     sc_check_area_offset(c, mid)))
			break;
		snapcow_record_decode(buf, 0, &rec);
		if (rec.new_chunk)
			lo = mid;
		else
			hi = mid;
	}
	c->progress_total = (lo + 2) * c->chunk_bytes;
}

/* Returns 1 when the area is full (the list goes on), 0 at its end. */
static int walk_area(struct snapcow_check *c, uint64_t area, const void *buf)
{
	struct snapcow_record rec;
	struct sc_rec pos;
	uint64_t i;
	int r;

	for (i = 0; i < c->epa; i++) {
		snapcow_record_decode(buf, i, &rec);
		if (!rec.new_chunk) {
			c->current_committed = i;
			return check_tail(c, buf, area, i);
		}
		c->exceptions++;
		if (c->next_free <= rec.new_chunk)
			c->next_free = rec.new_chunk + 1;
		pos.old_chunk = rec.old_chunk;
		pos.new_chunk = rec.new_chunk;
		pos.g = area * c->epa + i;
		r = check_record(c, &pos);
		if (r)
			return r;
	}
	c->current_committed = c->epa;
	return 1;
}

static int end_past_device(struct snapcow_check *c, uint64_t area)
{
	struct sc_rec pos = { 0, 0, area * c->epa - 1 };
	int r;

	c->end_past_device = true;
	c->current_committed = 0;
	r = sc_check_add(c, SNAPCOW_RULE_END_PAST_DEVICE, &pos, 1, true,
			 "area %llu would start at chunk %llu of %llu",
			 (unsigned long long)area,
			 (unsigned long long)snapcow_area_chunk(c->cs, area),
			 (unsigned long long)c->cow_chunks);
	return r ? r : sc_check_drop(c, pos.g);
}

static int walk_list(struct snapcow_check *c, void *buf)
{
	uint64_t area;
	int r;

	c->next_free = SNAPCOW_HEADER_CHUNKS + 1;
	if (c->opts.progress)
		estimate_areas(c, buf);
	for (area = 0;; area++) {
		c->current_area = area;
		if (!area_on_device(c, area))
			return end_past_device(c, area);
		read_ahead(c, area);
		if (area % 64 == 0)
			progress(c, (area + 1) * c->chunk_bytes);
		r = read_area(c, area, buf);
		if (r)
			return r;
		r = walk_area(c, area, buf);
		if (r <= 0)
			return r;
	}
}

/* The kernel zeroes an area before its first use; this one was not yet. */
static int check_next_area(struct snapcow_check *c, void *buf)
{
	struct snapcow_record rec;
	uint64_t area = c->current_area + 1, i, live = 0;
	int r;

	if (c->end_past_device || !area_on_device(c, area))
		return 0;
	r = read_area(c, area, buf);
	if (r)
		return r;
	for (i = 0; i < c->epa; i++) {
		snapcow_record_decode(buf, i, &rec);
		if (rec_in_data(c, rec.new_chunk))
			live++;
	}
	if (!live)
		return 0;
	c->fix_next_area = true;
	return sc_check_add(c, SNAPCOW_RULE_STALE_AREA, NULL, live, true,
			    "area %llu (offset %llu): %llu live-looking records",
			    (unsigned long long)area,
			    (unsigned long long)sc_check_area_offset(c, area),
			    (unsigned long long)live);
}

/* ------------------------------------------------------- collisions */

struct sc_recs {
	struct sc_rec *v;
	size_t n;
	size_t cap;
};

static int recs_push(struct sc_recs *rs, const struct sc_rec *rec)
{
	int r = sc_grow((void **)&rs->v, &rs->cap, rs->n + 1, sizeof(*rs->v));

	if (!r)
		rs->v[rs->n++] = *rec;
	return r;
}

struct collisions {
	const struct snapcow_check *c;
	const uint64_t *windows;	/* of duplicated old chunks, sorted */
	size_t nwin;
	struct sc_recs *win;
	struct sc_recs *shr;
};

static int collect_one(void *ctx, const struct sc_rec *rec)
{
	struct collisions *k = ctx;
	int r = 0;

	if (sc_bsearch_u64(k->windows, k->nwin,
			   sc_kmodel_window(rec->old_chunk)))
		r = recs_push(k->win, rec);
	if (!r && sc_bsearch_u64(k->c->shared, k->c->nshared,
				 rec->new_chunk))
		r = recs_push(k->shr, rec);
	return r;
}

/* Second pass: the records of the duplicated windows and shared chunks. */
static int collect(struct snapcow_check *c, const uint64_t *windows,
		   size_t nwin, struct sc_recs *win, struct sc_recs *shr)
{
	struct collisions k = { c, windows, nwin, win, shr };
	int r;

	r = sc_list_walk(c->cow, c->cs, c->current_area, c->current_committed,
			 false, collect_one, &k, c->err, sizeof(c->err));
	if (r == -ENOMEM)
		return sc_check_errf(c, r, "out of memory");
	return r;
}

static bool rec_good(const struct snapcow_check *c, const struct sc_rec *rec)
{
	return rec_in_data(c, rec->new_chunk) &&
	       (!c->origin_chunks || rec->old_chunk < c->origin_chunks);
}

/* Keep the record whose data the kernel serves; see kmodel.c. */
static int resolve_dup(struct snapcow_check *c, const struct sc_recs *win,
		       uint64_t old_chunk)
{
	struct sc_recs w = { 0 };
	const struct sc_rec *keep = NULL;
	uint64_t served = 0;
	size_t i;
	int r = 0, found;

	for (i = 0; i < win->n && !r; i++)
		if (sc_kmodel_window(win->v[i].old_chunk) ==
		    sc_kmodel_window(old_chunk))
			r = recs_push(&w, &win->v[i]);
	found = r ? -1 : sc_kmodel_lookup(w.v, w.n, old_chunk, &served);
	if (found < 0) {
		free(w.v);
		return sc_check_errf(c, -ENOMEM, "out of memory");
	}
	for (i = 0; i < w.n; i++) {
		const struct sc_rec *x = &w.v[i];

		if (x->old_chunk != old_chunk || !rec_good(c, x))
			continue;
		if (!keep || (found && x->new_chunk == served &&
			      keep->new_chunk != served))
			keep = x;
	}
	for (i = 0; i < w.n && !r && keep; i++) {
		const struct sc_rec *x = &w.v[i];

		if (x->old_chunk != old_chunk || !rec_good(c, x) || x == keep)
			continue;
		r = sc_check_add(c, SNAPCOW_RULE_DUP_OLD, x, 1, true,
				 "origin chunk %llu -> COW chunk %llu; the kernel serves COW chunk %llu (area %llu slot %llu)",
				 (unsigned long long)old_chunk,
				 (unsigned long long)x->new_chunk,
				 (unsigned long long)keep->new_chunk,
				 (unsigned long long)(keep->g / c->epa),
				 (unsigned long long)(keep->g % c->epa));
		if (!r)
			r = sc_check_drop(c, x->g);
	}
	free(w.v);
	return r;
}

/* Same record twice is a duplicate, not a sharing: SC012 has it. */
static int resolve_shared(struct snapcow_check *c, const struct sc_recs *shr,
			  uint64_t new_chunk)
{
	const struct sc_rec *first = NULL;
	size_t i;
	int r = 0;

	for (i = 0; i < shr->n && !r; i++) {
		const struct sc_rec *x = &shr->v[i];

		if (x->new_chunk != new_chunk || !rec_good(c, x))
			continue;
		if (!first) {
			first = x;
			continue;
		}
		if (x->old_chunk == first->old_chunk)
			continue;
		r = sc_check_add(c, SNAPCOW_RULE_SHARED_NEW, x, 1, true,
				 "origin chunks %llu (area %llu slot %llu) and %llu -> COW chunk %llu",
				 (unsigned long long)first->old_chunk,
				 (unsigned long long)(first->g / c->epa),
				 (unsigned long long)(first->g % c->epa),
				 (unsigned long long)x->old_chunk,
				 (unsigned long long)new_chunk);
		if (!r)
			r = sc_check_drop(c, x->g);
	}
	return r;
}

/* @dups may be @olds: it is written behind where it is read. */
static int check_collisions(struct snapcow_check *c)
{
	struct sc_recs win = { 0 }, shr = { 0 };
	struct sc_u64s d = { 0 };
	uint64_t *dups, *windows;
	size_t nd, i;
	int r;

	r = olds_dups(c, &d);
	dups = d.v;
	nd = d.n;
	c->nshared = sc_sort_unique_u64(c->shared, c->nshared);
	if (r || (!nd && !c->nshared)) {
		free(dups);
		return r;
	}
	windows = malloc((nd + 1) * sizeof(*windows));
	if (!windows) {
		free(dups);
		return sc_check_errf(c, -ENOMEM, "out of memory");
	}
	for (i = 0; i < nd; i++)
		windows[i] = sc_kmodel_window(dups[i]);
	r = collect(c, windows, sc_sort_unique_u64(windows, nd), &win, &shr);
	for (i = 0; i < nd && !r; i++)
		r = resolve_dup(c, &win, dups[i]);
	for (i = 0; i < c->nshared && !r; i++)
		r = resolve_shared(c, &shr, c->shared[i]);
	free(win.v);
	free(shr.v);
	free(windows);
	free(dups);
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
	return sc_check_add(c, SNAPCOW_RULE_LEAKED_CHUNKS, NULL, c->leaked,
			    false, "%llu of %llu data chunks below chunk %llu",
			    (unsigned long long)c->leaked,
			    (unsigned long long)data, (unsigned long long)nf);
}

static int check_plan(struct snapcow_check *c)
{
	c->ndrops = sc_sort_unique_u64(c->drops, c->ndrops);
	if (!c->exceptions || c->ndrops < c->exceptions)
		return 0;
	c->invalidate = true;
	return sc_check_add(c, SNAPCOW_RULE_NOTHING_LEFT, NULL, c->exceptions,
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
	r = walk_list(c, buf);
	if (!r)
		r = check_next_area(c, buf);
	free(buf);
	if (!r)
		r = check_collisions(c);
	if (!r)
		r = check_leaks(c);
	/* The olds were only needed to find duplicates. */
	free_olds(c);
	if (!r)
		progress(c, c->progress_total);
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
	r = check_header(c);
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
	free_olds(c);
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
