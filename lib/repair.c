// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Repair and undo.  A repair is a list of whole metadata chunks to write,
 * produced by one generator (plan_emit) that is run twice: first to save
 * the old contents of every chunk that will change into the undo file
 * (flushed before anything else is written), then to write them.
 *
 * Order matters for a crash at any write: areas are rewritten in
 * ascending order, each flushed before the next, so the list on disk is
 * always a compacted prefix followed by the old records (at worst some
 * records twice, which a new check finds and repairs); the header goes
 * last, so a COW whose header was broken stays refused by the kernel
 * until its areas are sound.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "check.h"
#include "dev-storage.h"
#include "util.h"

#define UNDO_MAGIC	"SNAPUNDO"
#define UNDO_VERSION	1u
#define UNDO_HDR_SIZE	64u
#define UNDO_ENT_SIZE	32u

typedef int (*emit_fn)(struct snapcow_check *c, void *ctx, uint64_t offset,
		       const void *buf);

/* FNV-1a: enough to tell whether a chunk is the one we saved. */
static uint64_t sum64(const void *buf, uint64_t len)
{
	const unsigned char *p = buf;
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	uint64_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	return h;
}

static void put64(unsigned char *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

/* ------------------------------------------------------------ plan */

struct emitter {
	struct snapcow_check *c;
	emit_fn fn;
	void *ctx;
	unsigned char *in;
	unsigned char *out;
	uint64_t out_area;
	uint64_t out_slot;
	size_t next_drop;
};

static int emit_out(struct emitter *e)
{
	int r = e->fn(e->c, e->ctx, sc_check_area_offset(e->c, e->out_area),
		      e->out);

	memset(e->out, 0, e->c->chunk_bytes);
	e->out_area++;
	e->out_slot = 0;
	return r;
}

static bool dropped(struct emitter *e, uint64_t g)
{
	const struct snapcow_check *c = e->c;

	while (e->next_drop < c->ndrops && c->drops[e->next_drop] < g)
		e->next_drop++;
	return e->next_drop < c->ndrops && c->drops[e->next_drop] == g;
}

/* The last area holding records, before the repair. */
static uint64_t last_list_area(const struct snapcow_check *c)
{
	return c->end_past_device ? c->current_area - 1 : c->current_area;
}

static uint64_t first_changed_area(const struct snapcow_check *c)
{
	uint64_t first = c->fix_tail ? c->current_area : UINT64_MAX;

	if (c->ndrops)
		first = MIN(first, c->drops[0] / c->epa);
	return first;
}

static int compact_area(struct emitter *e, uint64_t area)
{
	struct snapcow_check *c = e->c;
	struct snapcow_record rec;
	uint64_t n, i;
	int r;

	r = snapcow_dev_read(c->cow, e->in, c->chunk_bytes,
			     sc_check_area_offset(c, area));
	if (r)
		return sc_check_errf(c, r, "%s", snapcow_dev_error(c->cow));
	n = area == c->current_area ? c->current_committed : c->epa;
	for (i = 0; i < n; i++) {
		if (dropped(e, area * c->epa + i))
			continue;
		snapcow_record_decode(e->in, i, &rec);
		snapcow_record_encode(e->out, e->out_slot++, &rec);
		if (e->out_slot == c->epa) {
			r = emit_out(e);
			if (r)
				return r;
		}
	}
	return 0;
}

/*
 * Rewrite the list from the first area that changes: kept records move
 * up, the new end area gets its zero record, and the areas the list no
 * longer reaches (and a stale next area) are zeroed.
 */
static int emit_list(struct emitter *e)
{
	struct snapcow_check *c = e->c;
	uint64_t first = first_changed_area(c), last = last_list_area(c);
	uint64_t area, zero_to;
	int r = 0;

	if (first != UINT64_MAX) {
		e->out_area = first;
		for (area = first; area <= last && !r; area++)
			r = compact_area(e, area);
		if (!r)
			r = emit_out(e);	/* the end: zeroes after it */
		zero_to = last + (c->fix_next_area ? 1 : 0);
	} else if (c->fix_next_area) {
		e->out_area = c->current_area + 1;
		zero_to = e->out_area;
	} else {
		return 0;
	}
	for (area = e->out_area; area <= zero_to && !r; area++)
		if (snapcow_area_chunk(c->cs, area) < c->cow_chunks)
			r = c->fix_next_area || area <= last ?
			    e->fn(c, e->ctx, sc_check_area_offset(c, area),
				  e->out) : 0;
	return r;
}

static int emit_header(struct emitter *e)
{
	struct snapcow_check *c = e->c;
	struct snapcow_header hdr = {
		.magic = SNAPCOW_MAGIC,
		/*
		 * A snapshot the kernel invalidated stays invalid: setting
		 * valid would make the kernel read records nobody checked.
		 */
		.valid = c->invalidate ||
			 c->state == SNAPCOW_STATE_INVALID ? 0 : 1,
		.version = SNAPCOW_DISK_VERSION,
		.chunk_size = c->cs,
	};

	if (!c->fix_header && !c->invalidate)
		return 0;
	/* As the kernel's write_header: the whole chunk, zero past it. */
	memset(e->out, 0, c->chunk_bytes);
	snapcow_header_encode(&hdr, e->out);
	return e->fn(c, e->ctx, 0, e->out);
}

static int plan_emit(struct snapcow_check *c, emit_fn fn, void *ctx)
{
	struct emitter e = { .c = c, .fn = fn, .ctx = ctx };
	int r = 0;

	e.in = malloc(c->chunk_bytes);
	e.out = calloc(1, c->chunk_bytes);
	if (!e.in || !e.out) {
		r = sc_check_errf(c, -ENOMEM, "out of memory");
		goto out;
	}
	/* An invalid snapshot's records are never read: leave them. */
	if (!c->invalidate && c->state != SNAPCOW_STATE_INVALID)
		r = emit_list(&e);
	if (!r)
		r = emit_header(&e);
out:
	free(e.in);
	free(e.out);
	return r;
}

static bool is_dropped(const struct snapcow_check *c, uint64_t g)
{
	size_t lo = 0, hi = c->ndrops;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->drops[mid] == g)
			return true;
		if (c->drops[mid] < g)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Insert @g into the sorted drop list. */
static int add_drop_sorted(struct snapcow_check *c, uint64_t g)
{
	size_t i;
	int r = sc_check_drop(c, g);

	if (r)
		return r;
	for (i = c->ndrops - 1; i > 0 && c->drops[i - 1] > g; i--)
		c->drops[i] = c->drops[i - 1];
	c->drops[i] = g;
	return 0;
}

/*
 * When the kept records fill their last area exactly and the next area
 * is past the device, the list would have no end: drop one more.
 */
static int plan_fix_end(struct snapcow_check *c)
{
	uint64_t first = first_changed_area(c), last = last_list_area(c);
	uint64_t total, kept, g;
	size_t i;

	if (first == UINT64_MAX || c->invalidate)
		return 0;
	total = last * c->epa + (c->end_past_device ? c->epa :
						       c->current_committed);
	for (;;) {
		kept = total - first * c->epa;
		for (i = 0; i < c->ndrops; i++)
			kept -= c->drops[i] >= first * c->epa;
		if (!kept || snapcow_area_chunk(c->cs, first + kept / c->epa) <
			     c->cow_chunks)
			return 0;
		for (g = total - 1; is_dropped(c, g); g--)
			;
		if (add_drop_sorted(c, g))
			return -ENOMEM;
	}
}

/* ------------------------------------------------------------ undo */

struct undo_ent {
	uint64_t offset;
	uint64_t len;
	uint64_t old_sum;
	uint64_t new_sum;
};

struct undo_plan {
	struct undo_ent *v;
	size_t n;
	size_t cap;
	unsigned char *buf;	/* one chunk */
};

static int read_chunk(struct snapcow_check *c, void *buf, uint64_t offset)
{
	int r = snapcow_dev_read(c->cow, buf, c->chunk_bytes, offset);

	if (r)
		return sc_check_errf(c, r, "%s", snapcow_dev_error(c->cow));
	return 0;
}

/* Pass 1: which chunks change, and their checksums before and after. */
static int collect_fn(struct snapcow_check *c, void *ctx, uint64_t offset,
		      const void *buf)
{
	struct undo_plan *p = ctx;
	struct undo_ent *e;
	int r = read_chunk(c, p->buf, offset);

	if (r)
		return r;
	if (!memcmp(p->buf, buf, c->chunk_bytes))
		return 0;
	if (sc_grow((void **)&p->v, &p->cap, p->n + 1, sizeof(*p->v)))
		return sc_check_errf(c, -ENOMEM, "out of memory");
	e = &p->v[p->n++];
	e->offset = offset;
	e->len = c->chunk_bytes;
	e->old_sum = sum64(p->buf, c->chunk_bytes);
	e->new_sum = sum64(buf, c->chunk_bytes);
	return 0;
}

static int undo_write_table(struct snapcow_dev *u, const struct undo_plan *p,
			    uint64_t table_off, uint64_t *table_sum)
{
	unsigned char ent[UNDO_ENT_SIZE];
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	size_t i, k;
	int r;

	for (i = 0; i < p->n; i++) {
		put64(ent, p->v[i].offset);
		put64(ent + 8, p->v[i].len);
		put64(ent + 16, p->v[i].old_sum);
		put64(ent + 24, p->v[i].new_sum);
		for (k = 0; k < sizeof(ent); k++)
			h = (h ^ ent[k]) * UINT64_C(0x100000001b3);
		r = snapcow_dev_write(u, ent, sizeof(ent),
				      table_off + i * UNDO_ENT_SIZE);
		if (r)
			return r;
	}
	*table_sum = h;
	return 0;
}

static void undo_encode_header(unsigned char *h, uint64_t n, uint64_t dev,
			       uint64_t chunk, uint64_t table_off,
			       uint64_t table_sum)
{
	memset(h, 0, UNDO_HDR_SIZE);
	memcpy(h, UNDO_MAGIC, 8);
	put64(h + 8, UNDO_VERSION);
	put64(h + 16, n);
	put64(h + 24, dev);
	put64(h + 32, chunk);
	put64(h + 40, table_off);
	put64(h + 48, table_sum);
	put64(h + 56, sum64(h, 56));
}

/*
 * Layout: a 64-byte header, the old contents of each chunk in table
 * order, then the table of {offset, length, old sum, new sum}.  The
 * header is written last, so a file cut short never looks complete.
 */
static int undo_fill(struct snapcow_check *c, struct snapcow_dev *u,
		     struct undo_plan *p)
{
	unsigned char hdr[UNDO_HDR_SIZE];
	uint64_t off = UNDO_HDR_SIZE, table_sum = 0;
	size_t i;
	int r;

	for (i = 0; i < p->n; i++) {
		r = read_chunk(c, p->buf, p->v[i].offset);
		if (r)
			return r;
		if (sum64(p->buf, c->chunk_bytes) != p->v[i].old_sum)
			return sc_check_errf(c, -ESTALE,
					     "%s: offset %llu changed while checking",
					     snapcow_dev_path(c->cow),
					     (unsigned long long)p->v[i].offset);
		r = snapcow_dev_write(u, p->buf, c->chunk_bytes, off);
		if (r)
			return r;
		off += c->chunk_bytes;
	}
	r = undo_write_table(u, p, off, &table_sum);
	if (!r)
		r = snapcow_dev_flush(u);
	undo_encode_header(hdr, p->n, c->dev_bytes, c->chunk_bytes, off,
			   table_sum);
	if (!r)
		r = snapcow_dev_write(u, hdr, sizeof(hdr), 0);
	if (!r)
		r = snapcow_dev_flush(u);
	return r;
}

static uint64_t undo_bytes(const struct snapcow_check *c,
			   const struct undo_plan *p)
{
	return UNDO_HDR_SIZE + p->n * (c->chunk_bytes + UNDO_ENT_SIZE);
}

/* The undo file on a device the caller opened. */
static int undo_save_dev(struct snapcow_check *c, struct snapcow_dev *u,
			 struct undo_plan *p)
{
	uint64_t size = undo_bytes(c, p);
	char msg[SNAPCOW_ERRBUF_SIZE];
	int r;

	r = sc_storage_refuse(u, "undo file", c->cow, "COW", "the undo file "
			      "keeps what the repair overwrites", msg,
			      sizeof(msg));
	if (r)
		return sc_check_errf(c, r, "%s", msg);
	if (snapcow_dev_size(u) < size && snapcow_dev_resize(u, size))
		return sc_check_errf(c, -ENOSPC,
				     "%s: %llu bytes, the undo file needs %llu",
				     snapcow_dev_path(u),
				     (unsigned long long)snapcow_dev_size(u),
				     (unsigned long long)size);
	r = undo_fill(c, u, p);
	if (r && !c->err[0])
		sc_check_errf(c, r, "%s: writing the undo file: %s",
			      snapcow_dev_path(u), snapcow_dev_error(u));
	return r;
}

/*
 * An undo file is the only way back from a repair, and the file named
 * may be anybody's: never write over one that holds anything.
 */
static int undo_check_new(struct snapcow_check *c, struct snapcow_dev *u)
{
	char chain[SNAPCOW_ERRBUF_SIZE];

	if (snapcow_dev_shares_storage(u, c->cow, chain, sizeof(chain)) > 0)
		return sc_check_errf(c, -EINVAL,
				     "%s: the undo file shares storage with the COW: %s",
				     snapcow_dev_path(u), chain);
	if (snapcow_dev_created(u) || (!snapcow_dev_is_block(u) &&
				       !snapcow_dev_size(u)))
		return 0;
	return sc_check_errf(c, -EEXIST,
			     "%s: exists and holds %llu bytes: an undo file is only written to a new or empty file, never over another",
			     snapcow_dev_path(u),
			     (unsigned long long)snapcow_dev_size(u));
}

static int undo_save(struct snapcow_check *c, const char *path,
		     struct undo_plan *p)
{
	struct snapcow_dev *u;
	int r;

	r = snapcow_dev_open(path, SNAPCOW_DEV_WRITE | SNAPCOW_DEV_CREATE |
			     SNAPCOW_DEV_EXCL, &u);
	if (r)
		return sc_check_errf(c, r, "%s: cannot create the undo file: %s",
				     path, strerror(-r));
	r = undo_check_new(c, u);
	if (r) {
		snapcow_dev_discard(u);
		return r;
	}
	r = undo_save_dev(c, u, p);
	/*
	 * undo_fill flushed the file; a new file is only durable once its
	 * name is, and the device must not be touched before.
	 */
	if (!r && (r = snapcow_dev_sync_name(u)))
		sc_check_errf(c, r, "undo file: %s", snapcow_dev_error(u));
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
	unsigned char *buf;
	int written;
	uint64_t total;		/* chunks that change */
};

static int apply_fn(struct snapcow_check *c, void *ctx, uint64_t offset,
		    const void *buf)
{
	struct apply_ctx *a = ctx;
	int r = read_chunk(c, a->buf, offset);

	if (r)
		return r;
	if (!memcmp(a->buf, buf, c->chunk_bytes))
		return 0;
	r = snapcow_dev_write(c->cow, buf, c->chunk_bytes, offset);
	if (!r)
		r = snapcow_dev_flush(c->cow);
	if (r)
		return sc_check_errf(c, r, "%s", snapcow_dev_error(c->cow));
	a->written++;
	if (c->opts.progress)
		c->opts.progress(c->opts.ctx, a->written * c->chunk_bytes,
				 a->total * c->chunk_bytes);
	return 0;
}

static bool needs_repair(const struct snapcow_check *c)
{
	size_t i;

	for (i = 0; i < c->nf; i++)
		if (sc_check_action(&c->f[i], true) == SC_FIX)
			return true;
	return false;
}

/*
 * Plan, save the undo file (to @undo_path, or else @undo_dev), then
 * write.  Returns the chunks written or -errno with c->err set.
 */
static int repair(struct snapcow_check *c, const char *undo_path,
		  struct snapcow_dev *undo_dev)
{
	struct undo_plan p = { 0 };
	struct apply_ctx a = { 0 };
	int r;

	r = plan_fix_end(c);
	p.buf = malloc(c->chunk_bytes);
	a.buf = p.buf;
	if (!r && !p.buf)
		r = sc_check_errf(c, -ENOMEM, "out of memory");
	if (!r)
		r = plan_emit(c, collect_fn, &p);
	if (!r && p.n)
		r = undo_path ? undo_save(c, undo_path, &p) :
				undo_save_dev(c, undo_dev, &p);
	a.total = p.n;
	if (!r && p.n)
		r = plan_emit(c, apply_fn, &a);
	free(p.v);
	free(p.buf);
	return r ? r : a.written;
}

static int repair_entry(struct snapcow_check *c, const char *undo_path,
			struct snapcow_dev *undo_dev, char *err, size_t errlen)
{
	int r;

	c->err[0] = '\0';
	if (!needs_repair(c) || !c->cs)
		return 0;
	if (!snapcow_dev_is_writable(c->cow))
		return sc_errf(err, errlen, -EBADF, "%s: opened read-only",
			       snapcow_dev_path(c->cow));
	if (!undo_path && !undo_dev)
		return sc_errf(err, errlen, -EINVAL,
			       "a repair needs an undo file");
	if (undo_dev && !snapcow_dev_is_writable(undo_dev))
		return sc_errf(err, errlen, -EBADF, "%s: opened read-only",
			       snapcow_dev_path(undo_dev));
	r = repair(c, undo_path, undo_dev);
	if (r < 0)
		return sc_errf(err, errlen, r, "%s", c->err[0] ? c->err :
			       strerror(-r));
	return r;
}

SNAPCOW_EXPORT
int snapcow_check_repair(struct snapcow_check *c, const char *undo_path,
			 char *err, size_t errlen)
{
	if (!undo_path)
		return sc_errf(err, errlen, -EINVAL,
			       "a repair needs an undo file");
	return repair_entry(c, undo_path, NULL, err, errlen);
}

SNAPCOW_EXPORT
int snapcow_check_repair_dev(struct snapcow_check *c, struct snapcow_dev *undo,
			     char *err, size_t errlen)
{
	if (!undo)
		return sc_errf(err, errlen, -EINVAL,
			       "a repair needs an undo file");
	return repair_entry(c, NULL, undo, err, errlen);
}

/* ------------------------------------------------------------ undo */

struct undo_file {
	struct snapcow_dev *u;
	uint64_t n;
	uint64_t dev_size;
	uint64_t table_off;
	struct undo_ent *v;
};

static int undo_read_header(struct undo_file *f, char *err, size_t errlen)
{
	unsigned char h[UNDO_HDR_SIZE];
	const char *path = snapcow_dev_path(f->u);
	uint64_t usize = snapcow_dev_size(f->u), table_sum;
	int r = snapcow_dev_read(f->u, h, sizeof(h), 0);

	if (r)
		return sc_errf(err, errlen, r, "%s", snapcow_dev_error(f->u));
	if (memcmp(h, UNDO_MAGIC, 8) || get64(h + 8) != UNDO_VERSION ||
	    get64(h + 56) != sum64(h, 56))
		return sc_errf(err, errlen, -EBADMSG,
			       "%s: not a snapcheck undo file (or cut short)",
			       path);
	f->n = get64(h + 16);
	f->dev_size = get64(h + 24);
	f->table_off = get64(h + 40);
	table_sum = get64(h + 48);
	if (f->table_off > usize || f->n > (usize - f->table_off) /
					    UNDO_ENT_SIZE)
		return sc_errf(err, errlen, -EBADMSG, "%s: table out of range",
			       path);
	f->v = calloc(f->n + 1, sizeof(*f->v));
	if (!f->v)
		return sc_errf(err, errlen, -ENOMEM, "out of memory");
	unsigned char *t = malloc(f->n * UNDO_ENT_SIZE + 1);

	if (!t)
		return sc_errf(err, errlen, -ENOMEM, "out of memory");
	r = snapcow_dev_read(f->u, t, f->n * UNDO_ENT_SIZE, f->table_off);
	if (!r && sum64(t, f->n * UNDO_ENT_SIZE) != table_sum)
		r = -EBADMSG;
	for (uint64_t i = 0; !r && i < f->n; i++) {
		f->v[i].offset = get64(t + i * UNDO_ENT_SIZE);
		f->v[i].len = get64(t + i * UNDO_ENT_SIZE + 8);
		f->v[i].old_sum = get64(t + i * UNDO_ENT_SIZE + 16);
		f->v[i].new_sum = get64(t + i * UNDO_ENT_SIZE + 24);
	}
	free(t);
	if (r)
		return sc_errf(err, errlen, r, "%s: undo table is damaged",
			       path);
	return 0;
}

/* Every chunk must hold what we saved or what the repair wrote. */
static int undo_verify(struct undo_file *f, struct snapcow_dev *cow,
		       unsigned char *buf, uint64_t max_len, char *err,
		       size_t errlen)
{
	uint64_t i, data = UNDO_HDR_SIZE;
	int r;

	if (snapcow_dev_size(cow) != f->dev_size)
		return sc_errf(err, errlen, -ESTALE,
			       "%s: %llu bytes, the undo file is for a device of %llu",
			       snapcow_dev_path(cow),
			       (unsigned long long)snapcow_dev_size(cow),
			       (unsigned long long)f->dev_size);
	for (i = 0; i < f->n; i++) {
		const struct undo_ent *e = &f->v[i];
		uint64_t h;

		if (e->len > max_len || e->offset > f->dev_size ||
		    e->len > f->dev_size - e->offset)
			return sc_errf(err, errlen, -EBADMSG,
				       "undo entry %llu is out of range",
				       (unsigned long long)i);
		r = snapcow_dev_read(cow, buf, e->len, e->offset);
		if (r)
			return sc_errf(err, errlen, r, "%s",
				       snapcow_dev_error(cow));
		h = sum64(buf, e->len);
		if (h != e->old_sum && h != e->new_sum)
			return sc_errf(err, errlen, -ESTALE,
				       "%s: offset %llu holds neither the saved nor the repaired contents: refusing",
				       snapcow_dev_path(cow),
				       (unsigned long long)e->offset);
		r = snapcow_dev_read(f->u, buf, e->len, data);
		if (r || sum64(buf, e->len) != e->old_sum)
			return sc_errf(err, errlen, -EBADMSG,
				       "undo data of offset %llu is damaged",
				       (unsigned long long)e->offset);
		data += e->len;
	}
	return 0;
}

static int undo_apply(struct undo_file *f, struct snapcow_dev *cow,
		      unsigned char *buf, char *err, size_t errlen)
{
	uint64_t i, data = UNDO_HDR_SIZE;
	int r;

	for (i = 0; i < f->n; i++) {
		const struct undo_ent *e = &f->v[i];

		r = snapcow_dev_read(f->u, buf, e->len, data);
		if (!r)
			r = snapcow_dev_write(cow, buf, e->len, e->offset);
		if (!r)
			r = snapcow_dev_flush(cow);
		if (r)
			return sc_errf(err, errlen, r, "%s",
				       snapcow_dev_error(cow));
		data += e->len;
	}
	return (int)f->n;
}

SNAPCOW_EXPORT
int snapcow_check_undo_dev(struct snapcow_dev *cow, struct snapcow_dev *undo,
			   char *err, size_t errlen)
{
	struct undo_file f = { .u = undo };
	uint64_t max_len = (uint64_t)SNAPCOW_MAX_CHUNK_SECTORS *
			   SNAPCOW_SECTOR_SIZE;
	unsigned char *buf = NULL;
	int r;

	r = sc_storage_refuse(undo, "undo file", cow, "COW", "the undo file "
			      "is read while the COW is written", err, errlen);
	r = r ?: undo_read_header(&f, err, errlen);
	/* Every entry is one chunk of the same size as the first. */
	if (!r && f.n && f.v[0].len && f.v[0].len <= max_len)
		max_len = f.v[0].len;
	else if (!r && f.n)
		r = sc_errf(err, errlen, -EBADMSG, "%s: bad entry length",
			    snapcow_dev_path(undo));
	if (!r) {
		buf = malloc(f.n ? max_len : 1);
		if (!buf)
			r = sc_errf(err, errlen, -ENOMEM, "out of memory");
	}
	if (!r)
		r = undo_verify(&f, cow, buf, max_len, err, errlen);
	if (!r)
		r = undo_apply(&f, cow, buf, err, errlen);
	free(buf);
	free(f.v);
	return r;
}

SNAPCOW_EXPORT
int snapcow_check_undo(struct snapcow_dev *cow, const char *undo_path,
		       char *err, size_t errlen)
{
	struct snapcow_dev *u;
	int r;

	r = snapcow_dev_open(undo_path, 0, &u);
	if (r)
		return sc_errf(err, errlen, r, "%s: %s", undo_path,
			       strerror(-r));
	r = snapcow_check_undo_dev(cow, u, err, errlen);
	snapcow_dev_close(u);
	return r;
}
