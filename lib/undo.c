// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The undo file a repair writes before it changes anything (repair.c),
 * and putting back what it holds: its encoding, in one place, and the
 * checks that refuse an undo file that does not belong to the device.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dev-storage.h"
#include "undo.h"
#include "util.h"

#define UNDO_MAGIC	"SNAPUNDO"
#define UNDO_VERSION	1u

/* FNV-1a: enough to tell whether a chunk is the one we saved. */
uint64_t sc_undo_sum_more(uint64_t h, const void *buf, uint64_t len)
{
	const unsigned char *p = buf;
	uint64_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	return h;
}

uint64_t sc_undo_sum(const void *buf, uint64_t len)
{
	return sc_undo_sum_more(SC_UNDO_SUM_INIT, buf, len);
}

void sc_undo_encode_header(void *buf, const struct sc_undo_hdr *h)
{
	unsigned char *p = buf;

	memset(p, 0, SC_UNDO_HDR_SIZE);
	memcpy(p, UNDO_MAGIC, 8);
	sc_put_le(p + 8, 8, UNDO_VERSION);
	sc_put_le(p + 16, 8, h->n);
	sc_put_le(p + 24, 8, h->dev_size);
	sc_put_le(p + 32, 8, h->chunk_bytes);
	sc_put_le(p + 40, 8, h->table_off);
	sc_put_le(p + 48, 8, h->table_sum);
	sc_put_le(p + 56, 8, sc_undo_sum(p, 56));
}

int sc_undo_decode_header(const void *buf, struct sc_undo_hdr *h)
{
	const unsigned char *p = buf;

	if (memcmp(p, UNDO_MAGIC, 8) ||
	    sc_get_le(p + 8, 8) != UNDO_VERSION ||
	    sc_get_le(p + 56, 8) != sc_undo_sum(p, 56))
		return -EBADMSG;
	h->n = sc_get_le(p + 16, 8);
	h->dev_size = sc_get_le(p + 24, 8);
	h->chunk_bytes = sc_get_le(p + 32, 8);
	h->table_off = sc_get_le(p + 40, 8);
	h->table_sum = sc_get_le(p + 48, 8);
	return 0;
}

void sc_undo_encode_ent(void *buf, const struct sc_undo_ent *e)
{
	unsigned char *p = buf;

	sc_put_le(p, 8, e->offset);
	sc_put_le(p + 8, 8, e->len);
	sc_put_le(p + 16, 8, e->old_sum);
	sc_put_le(p + 24, 8, e->new_sum);
}

void sc_undo_decode_ent(const void *buf, struct sc_undo_ent *e)
{
	const unsigned char *p = buf;

	e->offset = sc_get_le(p, 8);
	e->len = sc_get_le(p + 8, 8);
	e->old_sum = sc_get_le(p + 16, 8);
	e->new_sum = sc_get_le(p + 24, 8);
}

/* ------------------------------------------------------------ restore */

struct undo_file {
	struct snapcow_dev *u;
	struct sc_undo_hdr h;
	struct sc_undo_ent *v;
};

/* The table of entries, checked against the header's sum. */
static int undo_read_table(struct undo_file *f)
{
	uint64_t n = f->h.n, i;
	unsigned char *t = malloc(n * SC_UNDO_ENT_SIZE + 1);
	int r;

	f->v = calloc(n + 1, sizeof(*f->v));
	if (!t || !f->v) {
		free(t);
		return -ENOMEM;
	}
	r = snapcow_dev_read(f->u, t, n * SC_UNDO_ENT_SIZE, f->h.table_off);
	if (!r && sc_undo_sum(t, n * SC_UNDO_ENT_SIZE) != f->h.table_sum)
		r = -EBADMSG;
	for (i = 0; !r && i < n; i++)
		sc_undo_decode_ent(t + i * SC_UNDO_ENT_SIZE, &f->v[i]);
	free(t);
	return r;
}

static int undo_read_header(struct undo_file *f, char *err, size_t errlen)
{
	unsigned char h[SC_UNDO_HDR_SIZE];
	const char *path = snapcow_dev_path(f->u);
	uint64_t usize = snapcow_dev_size(f->u);
	int r = snapcow_dev_read(f->u, h, sizeof(h), 0);

	if (r)
		return sc_errf(err, errlen, r, "%s", snapcow_dev_error(f->u));
	if (sc_undo_decode_header(h, &f->h))
		return sc_errf(err, errlen, -EBADMSG,
			       "%s: not a snapcheck undo file (or cut short)",
			       path);
	if (f->h.table_off > usize || f->h.n > (usize - f->h.table_off) /
					       SC_UNDO_ENT_SIZE)
		return sc_errf(err, errlen, -EBADMSG, "%s: table out of range",
			       path);
	r = undo_read_table(f);
	if (r == -ENOMEM)
		return sc_errf(err, errlen, r, "out of memory");
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
	uint64_t i, data = SC_UNDO_HDR_SIZE;
	int r;

	if (snapcow_dev_size(cow) != f->h.dev_size)
		return sc_errf(err, errlen, -ESTALE,
			       "%s: %llu bytes, the undo file is for a device of %llu",
			       snapcow_dev_path(cow),
			       (unsigned long long)snapcow_dev_size(cow),
			       (unsigned long long)f->h.dev_size);
	for (i = 0; i < f->h.n; i++) {
		const struct sc_undo_ent *e = &f->v[i];
		uint64_t h;

		if (e->len > max_len || e->offset > f->h.dev_size ||
		    e->len > f->h.dev_size - e->offset)
			return sc_errf(err, errlen, -EBADMSG,
				       "undo entry %llu is out of range",
				       (unsigned long long)i);
		r = snapcow_dev_read(cow, buf, e->len, e->offset);
		if (r)
			return sc_errf(err, errlen, r, "%s",
				       snapcow_dev_error(cow));
		h = sc_undo_sum(buf, e->len);
		if (h != e->old_sum && h != e->new_sum)
			return sc_errf(err, errlen, -ESTALE,
				       "%s: offset %llu holds neither the saved nor the repaired contents: refusing",
				       snapcow_dev_path(cow),
				       (unsigned long long)e->offset);
		r = snapcow_dev_read(f->u, buf, e->len, data);
		if (r || sc_undo_sum(buf, e->len) != e->old_sum)
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
	uint64_t i, data = SC_UNDO_HDR_SIZE;
	int r;

	for (i = 0; i < f->h.n; i++) {
		const struct sc_undo_ent *e = &f->v[i];

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
	return (int)f->h.n;
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
	if (!r && f.h.n && f.v[0].len && f.v[0].len <= max_len)
		max_len = f.v[0].len;
	else if (!r && f.h.n)
		r = sc_errf(err, errlen, -EBADMSG, "%s: bad entry length",
			    snapcow_dev_path(undo));
	if (!r) {
		buf = malloc(f.h.n ? max_len : 1);
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
