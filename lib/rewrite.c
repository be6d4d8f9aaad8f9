// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Rewrite metadata chunks the safe way (see rewrite.h): a plan run once
 * to find the chunks that change and save their old contents into the
 * undo file, flushed and named durably before the device is touched,
 * then once more to write them in the plan's order, each flushed before
 * the next.  The undo file's encoding is undo.c's.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "dev-storage.h"
#include "rewrite.h"
#include "undo.h"
#include "util.h"

static int rw_errf(const struct sc_rewrite *w, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int rw_errf(const struct sc_rewrite *w, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->err, w->errlen, fmt, ap);
	va_end(ap);
	return err;
}

static int read_chunk(const struct sc_rewrite *w, void *buf, uint64_t offset)
{
	int r = snapcow_dev_read(w->cow, buf, w->chunk_bytes, offset);

	if (r)
		return rw_errf(w, r, "%s", snapcow_dev_error(w->cow));
	return 0;
}

/* ------------------------------------------------------------ undo */

struct undo_plan {
	const struct sc_rewrite *w;
	struct sc_undo_ent *v;
	size_t n;
	size_t cap;
	unsigned char *buf;	/* one chunk */
};

/* Pass 1: which chunks change, and their checksums before and after. */
static int collect_fn(void *ctx, uint64_t offset, const void *buf)
{
	struct undo_plan *p = ctx;
	const struct sc_rewrite *w = p->w;
	struct sc_undo_ent *e;
	int r = read_chunk(w, p->buf, offset);

	if (r)
		return r;
	if (!memcmp(p->buf, buf, w->chunk_bytes))
		return 0;
	if (sc_grow((void **)&p->v, &p->cap, p->n + 1, sizeof(*p->v)))
		return rw_errf(w, -ENOMEM, "out of memory");
	e = &p->v[p->n++];
	e->offset = offset;
	e->len = w->chunk_bytes;
	e->old_sum = sc_undo_sum(p->buf, w->chunk_bytes);
	e->new_sum = sc_undo_sum(buf, w->chunk_bytes);
	return 0;
}

static int undo_write_table(struct snapcow_dev *u, const struct undo_plan *p,
			    uint64_t table_off, uint64_t *table_sum)
{
	unsigned char ent[SC_UNDO_ENT_SIZE];
	uint64_t h = SC_UNDO_SUM_INIT;
	size_t i;
	int r;

	for (i = 0; i < p->n; i++) {
		sc_undo_encode_ent(ent, &p->v[i]);
		h = sc_undo_sum_more(h, ent, sizeof(ent));
		r = snapcow_dev_write(u, ent, sizeof(ent),
				      table_off + i * SC_UNDO_ENT_SIZE);
		if (r)
			return r;
	}
	*table_sum = h;
	return 0;
}

/*
 * In undo.h's layout, the header written last, so that a file cut short
 * never looks complete.
 */
static int undo_fill(struct snapcow_dev *u, struct undo_plan *p)
{
	const struct sc_rewrite *w = p->w;
	struct sc_undo_hdr h = { .n = p->n,
				 .dev_size = snapcow_dev_size(w->cow),
				 .chunk_bytes = w->chunk_bytes };
	unsigned char hdr[SC_UNDO_HDR_SIZE];
	uint64_t off = SC_UNDO_HDR_SIZE;
	size_t i;
	int r;

	for (i = 0; i < p->n; i++) {
		r = read_chunk(w, p->buf, p->v[i].offset);
		if (r)
			return r;
		if (sc_undo_sum(p->buf, w->chunk_bytes) != p->v[i].old_sum)
			return rw_errf(w, -ESTALE,
				       "%s: offset %llu changed while checking",
				       snapcow_dev_path(w->cow),
				       (unsigned long long)p->v[i].offset);
		r = snapcow_dev_write(u, p->buf, w->chunk_bytes, off);
		if (r)
			return r;
		off += w->chunk_bytes;
	}
	h.table_off = off;
	r = undo_write_table(u, p, off, &h.table_sum);
	if (!r)
		r = snapcow_dev_flush(u);
	sc_undo_encode_header(hdr, &h);
	if (!r)
		r = snapcow_dev_write(u, hdr, sizeof(hdr), 0);
	if (!r)
		r = snapcow_dev_flush(u);
	return r;
}

/* The undo file on a device the caller opened. */
static int undo_save_dev(struct snapcow_dev *u, struct undo_plan *p)
{
	const struct sc_rewrite *w = p->w;
	uint64_t size = SC_UNDO_HDR_SIZE +
			p->n * (w->chunk_bytes + SC_UNDO_ENT_SIZE);
	char msg[SNAPCOW_ERRBUF_SIZE];
	int r;

	r = sc_storage_refuse(u, "undo file", w->cow, "COW", "the undo file "
			      "keeps what the rewrite overwrites", msg,
			      sizeof(msg));
	if (r)
		return rw_errf(w, r, "%s", msg);
	if (snapcow_dev_size(u) < size && snapcow_dev_resize(u, size))
		return rw_errf(w, -ENOSPC,
			       "%s: %llu bytes, the undo file needs %llu",
			       snapcow_dev_path(u),
			       (unsigned long long)snapcow_dev_size(u),
			       (unsigned long long)size);
	w->err[0] = '\0';
	r = undo_fill(u, p);
	if (r && !w->err[0])
		rw_errf(w, r, "%s: writing the undo file: %s",
			snapcow_dev_path(u), snapcow_dev_error(u));
	return r;
}

/*
 * An undo file is the only way back from a rewrite, and the file named
 * may be anybody's: never write over one that holds anything.
 */
static int undo_check_new(const struct sc_rewrite *w, struct snapcow_dev *u)
{
	char chain[SNAPCOW_ERRBUF_SIZE];

	if (snapcow_dev_shares_storage(u, w->cow, chain, sizeof(chain)) > 0)
		return rw_errf(w, -EINVAL,
			       "%s: the undo file shares storage with the COW: %s",
			       snapcow_dev_path(u), chain);
	if (snapcow_dev_created(u) || (!snapcow_dev_is_block(u) &&
				       !snapcow_dev_size(u)))
		return 0;
	return rw_errf(w, -EEXIST,
		       "%s: exists and holds %llu bytes: an undo file is only written to a new or empty file, never over another",
		       snapcow_dev_path(u),
		       (unsigned long long)snapcow_dev_size(u));
}

static int undo_save(const char *path, struct undo_plan *p)
{
	const struct sc_rewrite *w = p->w;
	struct snapcow_dev *u;
	int r;

	r = snapcow_dev_open(path, SNAPCOW_DEV_WRITE | SNAPCOW_DEV_CREATE |
			     SNAPCOW_DEV_EXCL, &u);
	if (r)
		return rw_errf(w, r, "%s: cannot create the undo file: %s",
			       path, strerror(-r));
	r = undo_check_new(w, u);
	if (r) {
		snapcow_dev_discard(u);
		return r;
	}
	r = undo_save_dev(u, p);
	/*
	 * undo_fill flushed the file; a new file is only durable once its
	 * name is, and the device must not be touched before.
	 */
	if (!r && (r = snapcow_dev_sync_name(u)))
		rw_errf(w, r, "undo file: %s", snapcow_dev_error(u));
	/* The COW is untouched: leave no half-written undo file behind. */
	if (r && !snapcow_dev_created(u))
		snapcow_dev_resize(u, 0);
	if (r)
		snapcow_dev_discard(u);
	else
		snapcow_dev_close(u);
	return r;
}

/* ----------------------------------------------------------- apply */

struct apply_ctx {
	const struct sc_rewrite *w;
	unsigned char *buf;
	int written;
	uint64_t total;		/* chunks that change */
};

static int apply_fn(void *ctx, uint64_t offset, const void *buf)
{
	struct apply_ctx *a = ctx;
	const struct sc_rewrite *w = a->w;
	int r = read_chunk(w, a->buf, offset);

	if (r)
		return r;
	if (!memcmp(a->buf, buf, w->chunk_bytes))
		return 0;
	r = snapcow_dev_write(w->cow, buf, w->chunk_bytes, offset);
	if (!r)
		r = snapcow_dev_flush(w->cow);
	if (r)
		return rw_errf(w, r, "%s", snapcow_dev_error(w->cow));
	a->written++;
	if (w->progress)
		w->progress(w->progress_ctx, a->written * w->chunk_bytes,
			    a->total * w->chunk_bytes);
	return 0;
}

int sc_rewrite(const struct sc_rewrite *w, const char *undo_path,
	       struct snapcow_dev *undo_dev)
{
	struct undo_plan p = { .w = w };
	struct apply_ctx a = { .w = w };
	int r = 0;

	p.buf = malloc(w->chunk_bytes);
	a.buf = p.buf;
	if (!p.buf)
		r = rw_errf(w, -ENOMEM, "out of memory");
	if (!r)
		r = w->plan(w->plan_ctx, collect_fn, &p);
	if (!r && p.n)
		r = undo_path ? undo_save(undo_path, &p) :
				undo_save_dev(undo_dev, &p);
	a.total = p.n;
	if (!r && p.n)
		r = w->plan(w->plan_ctx, apply_fn, &a);
	free(p.v);
	free(p.buf);
	return r ? r : a.written;
}
