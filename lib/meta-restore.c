// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Restore a COW's metadata from a dump (see snapcow.h).  The dump's
 * records are laid out in an image of the COW: an anonymous mapping of
 * the device's size, of which only the header chunk and the areas are
 * ever touched, so it costs the metadata's size, not the device's.  The
 * checker judges the image as it judges a device, so a restore refuses
 * exactly what snapcheck reports as an error, in snapcheck's words; the
 * writing is a repair's (rewrite.c).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "rewrite.h"
#include "util.h"

struct snapcow_restore {
	struct snapcow_dev *cow;
	struct snapcow_header hdr;	/* as the dump has it */
	uint32_t cs;
	uint64_t chunk_bytes;
	uint64_t epa;
	uint64_t cow_chunks;
	unsigned char *map;		/* the image, the device's size */
	size_t map_len;
	struct snapcow_dev *img;
	uint64_t n;			/* records added */
	bool checked;
	char err[SNAPCOW_ERRBUF_SIZE];
};

static int header_check(const struct snapcow_header *hdr,
			struct snapcow_dev *cow, char *err, size_t errlen)
{
	uint64_t bytes = snapcow_dev_size(cow);
	const char *why;

	if (hdr->magic != SNAPCOW_MAGIC)
		return sc_errf(err, errlen, -EINVAL,
			       "header: magic 0x%08x is not a snapshot COW's (0x%08x)",
			       hdr->magic, SNAPCOW_MAGIC);
	if (hdr->version != SNAPCOW_DISK_VERSION)
		return sc_errf(err, errlen, -EINVAL,
			       "header: version %u is not supported (only %u)",
			       hdr->version, SNAPCOW_DISK_VERSION);
	if (snapcow_chunk_size_check(hdr->chunk_size,
				     snapcow_dev_block_size(cow), &why))
		return sc_errf(err, errlen, -EINVAL,
			       "header: chunk size %u sectors: %s (%s: %u-byte logical blocks)",
			       hdr->chunk_size, why, snapcow_dev_path(cow),
			       snapcow_dev_block_size(cow));
	if (bytes < snapcow_cow_min_bytes(hdr->chunk_size))
		return sc_errf(err, errlen, -EINVAL,
			       "%s: %llu bytes cannot hold a header, a metadata area and a data chunk of %llu bytes",
			       snapcow_dev_path(cow), (unsigned long long)bytes,
			       (unsigned long long)snapcow_chunk_offset(
					hdr->chunk_size, 1));
	return 0;
}

/* The image: zero but for what restore puts in; no memory until then. */
static int image_map(struct snapcow_restore *m, char *err, size_t errlen)
{
	uint64_t bytes = snapcow_dev_size(m->cow);
	struct snapcow_header valid = m->hdr;
	void *p;
	int r;

	if (bytes > SIZE_MAX)
		return sc_errf(err, errlen, -EFBIG, "%s: too big to map",
			       snapcow_dev_path(m->cow));
	p = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return sc_errf(err, errlen, -errno,
			       "cannot map a %llu-byte image: %s",
			       (unsigned long long)bytes, strerror(errno));
	m->map = p;
	m->map_len = (size_t)bytes;
	r = snapcow_dev_open_memory(p, bytes, true, snapcow_dev_path(m->cow),
				    &m->img);
	if (r)
		return sc_errf(err, errlen, r, "out of memory");
	/* Checked as valid: the rules look at an invalid COW's header only. */
	valid.valid = 1;
	snapcow_header_encode(&valid, m->map);
	return 0;
}

SNAPCOW_EXPORT
int snapcow_restore_new(struct snapcow_dev *cow,
			const struct snapcow_header *hdr,
			struct snapcow_restore **rp, char *err, size_t errlen)
{
	struct snapcow_restore *m;
	int r;

	*rp = NULL;
	r = header_check(hdr, cow, err, errlen);
	if (r)
		return r;
	m = calloc(1, sizeof(*m));
	if (!m)
		return sc_errf(err, errlen, -ENOMEM, "out of memory");
	m->cow = cow;
	m->hdr = *hdr;
	m->cs = hdr->chunk_size;
	m->chunk_bytes = snapcow_chunk_offset(m->cs, 1);
	m->epa = snapcow_exceptions_per_area(m->cs);
	m->cow_chunks = snapcow_dev_size(cow) / m->chunk_bytes;
	r = image_map(m, err, errlen);
	if (r) {
		snapcow_restore_free(m);
		return r;
	}
	*rp = m;
	return 0;
}

SNAPCOW_EXPORT
void snapcow_restore_free(struct snapcow_restore *m)
{
	if (!m)
		return;
	snapcow_dev_close(m->img);
	if (m->map)
		munmap(m->map, m->map_len);
	free(m);
}

SNAPCOW_EXPORT
int snapcow_restore_add(struct snapcow_restore *m, uint64_t old_chunk,
			uint64_t new_chunk, char *err, size_t errlen)
{
	struct snapcow_record rec = { old_chunk, new_chunk };
	uint64_t area = m->n / m->epa;
	uint64_t chunk = snapcow_area_chunk(m->cs, area);

	if (!new_chunk)
		return sc_errf(err, errlen, -EINVAL,
			       "new_chunk 0 ends the list: the kernel would not read the records after it");
	if (chunk >= m->cow_chunks)
		return sc_errf(err, errlen, -EINVAL,
			       "its metadata area %llu (chunk %llu) is past the end of %s (%llu chunks)",
			       (unsigned long long)area,
			       (unsigned long long)chunk,
			       snapcow_dev_path(m->cow),
			       (unsigned long long)m->cow_chunks);
	snapcow_record_encode(m->map + snapcow_area_offset(m->cs, area),
			      m->n % m->epa, &rec);
	m->n++;
	m->checked = false;
	return 0;
}

SNAPCOW_EXPORT
uint64_t snapcow_restore_count(const struct snapcow_restore *m)
{
	return m->n;
}

static const struct snapcow_finding *first_error(struct snapcow_check *c)
{
	const struct snapcow_finding *f;
	size_t n = snapcow_check_findings(c, &f), i;

	for (i = 0; i < n; i++)
		if (snapcow_rule_get(f[i].rule)->severity >= SNAPCOW_SEV_ERROR)
			return &f[i];
	return NULL;
}

SNAPCOW_EXPORT
int snapcow_restore_check(struct snapcow_restore *m, uint64_t *index,
			  struct snapcow_record *rec, char *err,
			  size_t errlen)
{
	struct snapcow_check_opts opts = { 0 };
	const struct snapcow_finding *f;
	const struct snapcow_rule *rule;
	struct snapcow_check *c;
	int r;

	*index = SNAPCOW_NO_POS;
	r = snapcow_check(m->img, &opts, &c, err, errlen);
	if (r)
		return r;
	f = first_error(c);
	if (f) {
		rule = snapcow_rule_get(f->rule);
		if (f->area != SNAPCOW_NO_POS) {
			*index = f->area * m->epa + f->slot;
			snapcow_record_decode(m->map + snapcow_area_offset(
					m->cs, f->area), f->slot, rec);
		}
		r = sc_errf(err, errlen, -EINVAL, "%s %s: %s", rule->code,
			    rule->name, f->text);
	}
	snapcow_check_free(c);
	m->checked = !r;
	return r;
}

/*
 * An sc_plan_fn: the areas up to the one after the list's end (zero, so
 * that no stale record looks live there), then the header, valid as the
 * dump says.
 */
static int restore_plan(void *plan, sc_chunk_fn fn, void *sink)
{
	struct snapcow_restore *m = plan;
	uint64_t area, last = m->n / m->epa + 1;
	unsigned char *hdr;
	int r = 0;

	for (area = 0; area <= last && !r; area++)
		if (snapcow_area_chunk(m->cs, area) < m->cow_chunks)
			r = fn(sink, snapcow_area_offset(m->cs, area),
			       m->map + snapcow_area_offset(m->cs, area));
	if (r)
		return r;
	hdr = calloc(1, m->chunk_bytes);
	if (!hdr)
		return sc_errf(m->err, sizeof(m->err), -ENOMEM,
			       "out of memory");
	snapcow_header_encode(&m->hdr, hdr);
	r = fn(sink, 0, hdr);
	free(hdr);
	return r;
}

SNAPCOW_EXPORT
int snapcow_restore_write(struct snapcow_restore *m, const char *undo_path,
			  char *err, size_t errlen)
{
	struct sc_rewrite w = {
		.cow = m->cow, .chunk_bytes = m->chunk_bytes,
		.plan = restore_plan, .plan_ctx = m,
		.err = m->err, .errlen = sizeof(m->err),
	};
	struct snapcow_record rec;
	uint64_t index;
	int r;

	if (!m->checked) {
		r = snapcow_restore_check(m, &index, &rec, err, errlen);
		if (r)
			return r;
	}
	if (!snapcow_dev_is_writable(m->cow))
		return sc_errf(err, errlen, -EBADF, "%s: opened read-only",
			       snapcow_dev_path(m->cow));
	if (!undo_path)
		return sc_errf(err, errlen, -EINVAL,
			       "a restore needs an undo file");
	m->err[0] = '\0';
	r = sc_rewrite(&w, undo_path, NULL);
	if (r < 0)
		return sc_errf(err, errlen, r, "%s", m->err[0] ? m->err :
			       strerror(-r));
	return r;
}
