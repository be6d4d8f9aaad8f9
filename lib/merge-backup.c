// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Proof that a backup given to a resumed merge is this merge's: any COW
 * would load, and a merge that writes into another snapshot's COW
 * destroys that snapshot and the undo both.  The merge writes the origin
 * through the engine with the backup as a snapshot, so every chunk the
 * backup holds was copied from the origin just before the merge wrote
 * it.  For each such chunk c, whatever the crash point:
 *
 *  - c still on the COW's list (its run not committed yet): each sector
 *    of the origin holds the backup's copy (not written yet) or the COW's
 *    data (written; a torn write mixes the two sector by sector);
 *  - c no longer on the list (its run merged, the records zeroed): the
 *    origin holds data that a merged record's COW chunk still holds.
 *    Those chunks lie just past the list's end: the merged records were
 *    the list's tail, allocated after the records left (the window below
 *    also covers the few holes and out-of-order commits of old kernels).
 *    A duplicated record (snapcheck SC012) can leave c on the list with
 *    the data of a merged one: that case is tried the same way.
 *
 * Anything else is refused, naming the chunk and its offsets.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "util.h"

/* Chunks before the list's end and past the tail that the window adds. */
#define PROVE_SLACK	64u

struct prove_win {
	uint64_t h;
	uint64_t chunk_plus1;		/* 0: empty slot */
};

struct prove {
	struct snapcow_store *s;	/* the COW being merged */
	struct snapcow_store *b;	/* the backup */
	struct snapcow_dev *origin;
	uint64_t cb, osize, ochunks;
	uint64_t merged;		/* backup chunks not on the list */
	unsigned char *obuf, *bbuf, *cbuf;
	bool built;
	struct prove_win *win;		/* COW chunks near the end */
	uint64_t mask;
	uint64_t *pre;			/* hashes of the origin's tail */
	uint64_t lo, hi;
	char *err;			/* the merge's caller's */
	size_t errlen;
};

static uint64_t hash_bytes(const unsigned char *p, uint64_t len)
{
	uint64_t h = 0x6a09e667f3bcc908ull ^ len, w, i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static int prove_read(struct prove *p, struct snapcow_dev *dev, void *buf,
		      uint64_t len, uint64_t off)
{
	int r = snapcow_dev_read(dev, buf, len, off);

	if (r)
		return sc_errf(p->err, p->errlen, r, "proving the backup: %s",
			       snapcow_dev_error(dev));
	return 0;
}

/* Bytes of origin chunk @c that lie on the origin. */
static uint64_t chunk_len(const struct prove *p, uint64_t c)
{
	return MIN(p->cb, p->osize - c * p->cb);
}

static void win_put(struct prove *p, uint64_t h, uint64_t chunk)
{
	uint64_t i = h & p->mask;

	while (p->win[i].chunk_plus1)
		i = (i + 1) & p->mask;
	p->win[i].h = h;
	p->win[i].chunk_plus1 = chunk + 1;
}

/*
 * The COW's data chunks around the list's end: from PROVE_SLACK before
 * it to past as many as the merged chunks (plus their areas) and
 * PROVE_SLACK more.
 */
static int win_build(struct prove *p)
{
	struct snapcow_store *s = p->s;
	uint64_t n = p->merged + p->merged / s->epa + 2 + 2 * PROVE_SLACK;
	uint64_t tail = p->osize % p->cb, x, cap = 1;
	int r;

	p->built = true;
	p->lo = s->next_free > PROVE_SLACK + 2 ? s->next_free - PROVE_SLACK : 2;
	p->hi = MAX(p->lo, MIN(s->cow_chunks, p->lo + n));
	while (cap < 2 * (p->hi - p->lo) + 2)
		cap <<= 1;
	p->win = calloc(cap, sizeof(*p->win));
	p->pre = calloc(p->hi - p->lo + 1, sizeof(*p->pre));
	if (!p->win || !p->pre)
		return sc_errf(p->err, p->errlen, -ENOMEM, "out of memory");
	p->mask = cap - 1;
	for (x = p->lo; x < p->hi; x++) {
		if (snapcow_chunk_is_metadata(s->cs, x))
			continue;
		r = prove_read(p, s->cow, p->cbuf, p->cb, x * p->cb);
		if (r)
			return r;
		win_put(p, hash_bytes(p->cbuf, p->cb), x);
		if (tail)
			p->pre[x - p->lo] = hash_bytes(p->cbuf, tail);
	}
	return 0;
}

static int win_verify(struct prove *p, uint64_t x, uint64_t len, bool *hit)
{
	int r = prove_read(p, p->s->cow, p->cbuf, len, x * p->cb);

	*hit = !r && !memcmp(p->cbuf, p->obuf, len);
	return r;
}

/* Does a COW chunk in the window hold the origin's chunk (in obuf)? */
static int win_match(struct prove *p, uint64_t len, bool *hit)
{
	uint64_t h = hash_bytes(p->obuf, len), i, x;
	int r = p->built ? 0 : win_build(p);

	*hit = false;
	if (r)
		return r;
	if (len < p->cb) {
		for (x = p->lo; x < p->hi && !*hit && !r; x++)
			if (p->pre[x - p->lo] == h &&
			    !snapcow_chunk_is_metadata(p->s->cs, x))
				r = win_verify(p, x, len, hit);
		return r;
	}
	for (i = h & p->mask; p->win[i].chunk_plus1 && !*hit && !r;
	     i = (i + 1) & p->mask)
		if (p->win[i].h == h)
			r = win_verify(p, p->win[i].chunk_plus1 - 1, len, hit);
	return r;
}

/* Each sector: the backup's copy or the COW's data (in bbuf, cbuf). */
static bool sectors_either(const struct prove *p, uint64_t len)
{
	uint64_t o;

	for (o = 0; o < len; o += SNAPCOW_SECTOR_SIZE) {
		uint64_t n = MIN(SNAPCOW_SECTOR_SIZE, len - o);

		if (memcmp(p->obuf + o, p->bbuf + o, n) &&
		    memcmp(p->obuf + o, p->cbuf + o, n))
			return false;
	}
	return true;
}

static int refuse(struct prove *p, uint64_t c, uint64_t bnew, const char *why)
{
	return sc_errf(p->err, p->errlen, -EINVAL,
		       "%s: backup holds origin chunk %llu (origin offset %llu, backup offset %llu), but %s: not the backup of this merge of %s; give --backup a new file",
		       snapcow_dev_path(p->b->cow), (unsigned long long)c,
		       (unsigned long long)(c * p->cb),
		       (unsigned long long)(bnew * p->cb), why,
		       snapcow_dev_path(p->s->cow));
}

static int prove_chunk(struct prove *p, uint64_t c, uint64_t bnew)
{
	uint64_t len, x;
	bool hit = false;
	int r;

	if (c >= p->ochunks)
		return refuse(p, c, bnew, "that chunk lies past the origin's end");
	len = chunk_len(p, c);
	r = prove_read(p, p->origin, p->obuf, len, c * p->cb);
	if (r)
		return r;
	if (snapcow_store_lookup(p->s, c, &x)) {
		r = prove_read(p, p->b->cow, p->bbuf, len, bnew * p->cb);
		r = r ?: prove_read(p, p->s->cow, p->cbuf, len, x * p->cb);
		if (r || sectors_either(p, len))
			return r;
	}
	r = win_match(p, len, &hit);
	if (r || hit)
		return r;
	return refuse(p, c, bnew, "the origin there holds neither the backup's copy nor data merged from the COW");
}

static int count_merged(void *ctx, uint64_t old_chunk, uint64_t new_chunk,
			uint64_t count)
{
	struct prove *p = ctx;
	uint64_t i, x;

	(void)new_chunk;
	for (i = 0; i < count; i++)
		if (!snapcow_store_lookup(p->s, old_chunk + i, &x))
			p->merged++;
	return 0;
}

static int prove_run(void *ctx, uint64_t old_chunk, uint64_t new_chunk,
		     uint64_t count)
{
	uint64_t i;
	int r = 0;

	for (i = 0; i < count && !r; i++)
		r = prove_chunk(ctx, old_chunk + i, new_chunk + i);
	return r;
}

int sc_merge_prove_backup(struct snapcow_store *s, struct snapcow_dev *origin,
			  struct snapcow_store *b, char *err, size_t errlen)
{
	struct prove p = { .s = s, .b = b, .origin = origin,
			   .cb = s->chunk_bytes, .err = err, .errlen = errlen };
	int r;

	if (!b->exceptions)
		return 0;
	p.osize = snapcow_dev_size(origin);
	p.ochunks = (p.osize + p.cb - 1) / p.cb;
	p.obuf = malloc(p.cb);
	p.bbuf = malloc(p.cb);
	p.cbuf = malloc(p.cb);
	if (!p.obuf || !p.bbuf || !p.cbuf) {
		r = sc_errf(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	sc_table_foreach(b->table, count_merged, &p);
	r = sc_table_foreach(b->table, prove_run, &p);
out:
	free(p.obuf);
	free(p.bbuf);
	free(p.cbuf);
	free(p.win);
	free(p.pre);
	return r;
}
