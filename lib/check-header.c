// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The checker's header pass: chunk 0 against the rules, and the chunk
 * size the areas were written with when the header's cannot be believed
 * (inferred from the longest run of plausible records in area 0).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "util.h"

/* Inference reads this much of each candidate area: 64 records. */
#define SC_INFER_BYTES	1024u

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
		if (!sc_check_rec_in_data(c, rec.new_chunk))
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
		return sc_check_problem(c, SNAPCOW_RULE_NEW_COW, NULL, 0, false,
					"offset 0: magic 0 and no records: a new COW");
	}
	r = sc_check_problem(c, zero ? SNAPCOW_RULE_NEW_OVER_LIVE :
				       SNAPCOW_RULE_HEADER_MAGIC,
			     NULL, 0, cs != 0, "offset 0: magic 0x%08x%s%s",
			     c->hdr.magic, zero ? " over live-looking areas" : "",
			     fit_text(cs, fit, sizeof(fit)));
	if (r || !cs)
		return r ? r : 0;
	set_cs(c, cs);
	c->cs_inferred = true;
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
	r = r ?: sc_check_problem(c, SNAPCOW_RULE_HEADER_CHUNK_SIZE, NULL, 0, true,
				  "offset 12: chunk size %u sectors, but the areas were written with %u sectors (%d records fit in area 0)",
				  hdr_cs, cs, score);
	if (r)
		return r;
	set_cs(c, cs);
	c->cs_inferred = true;
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
	r = sc_check_problem(c, SNAPCOW_RULE_HEADER_CHUNK_SIZE, NULL, 0, cs != 0,
			     "offset 12: chunk size %u sectors: %s%s",
			     c->hdr.chunk_size, why, fit_text(cs, fit, sizeof(fit)));
	if (r || !cs)
		return r ? r : 0;
	set_cs(c, cs);
	c->cs_inferred = true;
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
		r = sc_check_problem(c, SNAPCOW_RULE_HEADER_VERSION, NULL, 0, true,
				     "offset 8: version %u", c->hdr.version);
		if (r)
			return r;
	}
	c->state = c->hdr.valid ? SNAPCOW_STATE_VALID : SNAPCOW_STATE_INVALID;
	if (!c->hdr.valid)
		return sc_check_problem(c, SNAPCOW_RULE_HEADER_INVALID, NULL, 0,
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
	return sc_check_problem(c, SNAPCOW_RULE_HEADER_GARBAGE, NULL, bad, true,
				"offset %llu: %llu non-zero bytes past the header",
				(unsigned long long)first, (unsigned long long)bad);
}

int sc_check_header(struct snapcow_check *c)
{
	int r;

	if (c->dev_bytes < snapcow_cow_min_bytes(1)) {
		return sc_check_problem(c, SNAPCOW_RULE_DEVICE_TOO_SMALL, NULL, 0,
					false, "device of %llu bytes",
					(unsigned long long)c->dev_bytes);
	}
	r = snapcow_header_read(c->cow, &c->hdr);
	if (r)
		return sc_check_errf(c, r, "%s", snapcow_dev_error(c->cow));
	r = check_header_fields(c);
	if (r < 0)
		return r;
	/*
	 * Whatever else the header says (an invalid one too), a repair
	 * rewrites whole chunks: not even the header chunk fits.
	 */
	if (c->cs && c->dev_bytes < snapcow_cow_min_bytes(c->cs)) {
		sc_check_unplan(c);
		r = sc_check_problem(c, SNAPCOW_RULE_DEVICE_TOO_SMALL, NULL, 0,
				     false, "device of %llu bytes, chunks of %llu",
				     (unsigned long long)c->dev_bytes,
				     (unsigned long long)c->chunk_bytes);
		return r ? r : 0;
	}
	if (!r)
		return 0;
	r = check_header_garbage(c);
	if (r)
		return r;
	return c->state == SNAPCOW_STATE_VALID;
}

