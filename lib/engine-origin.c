// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The concurrent engine's origin object: the origin device and its
 * snapshots (descending chunk size, as the kernel's 2009 fix orders
 * them), adding and removing a snapshot at one point in the command
 * stream, and the hashed table of chunks in use (being copied, or read
 * from the origin by a snapshot read).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"
#include "engine.h"
#include "util.h"

int eng_check_range(const struct snapcow_origin *o, size_t len,
		    uint64_t offset, char *err, size_t errlen)
{
	if (offset > o->size || len > o->size - offset)
		return sc_errf(err, errlen, -ENOSPC,
			       "%s: I/O of %zu bytes at offset %llu is past the origin's end (%llu bytes)",
			       snapcow_dev_path(o->dev), len,
			       (unsigned long long)offset,
			       (unsigned long long)o->size);
	return 0;
}

void eng_wait(struct snapcow_origin *o)
{
	pthread_cond_wait(&o->cond, &o->lock);
}

void eng_wake(struct snapcow_origin *o)
{
	pthread_cond_broadcast(&o->cond);
}

bool eng_lookup(const struct eng_snap *sn, uint64_t chunk,
		uint64_t *new_chunk)
{
	return sc_table_lookup(sn->s->table, chunk, new_chunk) == 1;
}

/* Bytes of chunk @chunk that lie on the origin (the last may be short). */
uint64_t eng_chunk_span(const struct snapcow_origin *o,
			const struct eng_snap *sn, uint64_t chunk)
{
	uint64_t start = chunk * sn->chunk_bytes;

	return MIN(sn->chunk_bytes, o->size - start);
}

static unsigned int eng_hash(const struct eng_snap *sn, uint64_t chunk)
{
	uint64_t h = (chunk ^ (uintptr_t)sn) * UINT64_C(0x9e3779b97f4a7c15);

	return (unsigned int)(h >> 32) % ENG_BUCKETS;
}

struct eng_chunk *eng_chunk_find(struct snapcow_origin *o,
				 const struct eng_snap *sn, uint64_t chunk)
{
	struct eng_chunk *e = o->buckets[eng_hash(sn, chunk)];

	while (e && (e->snap != sn || e->chunk != chunk))
		e = e->next;
	return e;
}

struct eng_chunk *eng_chunk_get(struct snapcow_origin *o, struct eng_snap *sn,
				uint64_t chunk)
{
	struct eng_chunk *e = eng_chunk_find(o, sn, chunk);
	unsigned int h;

	if (e)
		return e;
	/* Every read from the origin takes one: recycle them. */
	e = o->spare;
	if (e) {
		o->spare = e->next;
		o->nspare--;
	} else {
		e = malloc(sizeof(*e));
		if (!e)
			return NULL;
	}
	memset(e, 0, sizeof(*e));
	h = eng_hash(sn, chunk);
	e->snap = sn;
	e->chunk = chunk;
	e->next = o->buckets[h];
	o->buckets[h] = e;
	return e;
}

/* Drop the entry once nothing holds it. */
void eng_chunk_put(struct snapcow_origin *o, struct eng_chunk *ent)
{
	struct eng_chunk **pp = &o->buckets[eng_hash(ent->snap, ent->chunk)];

	if (ent->readers || ent->pe)
		return;
	while (*pp != ent)
		pp = &(*pp)->next;
	*pp = ent->next;
	if (o->nspare < ENG_SPARE) {
		ent->next = o->spare;
		o->spare = ent;
		o->nspare++;
		return;
	}
	free(ent);
}

struct eng_snap *eng_find_snap(struct snapcow_origin *o,
			       const struct snapcow_store *s)
{
	for (unsigned int i = 0; i < o->nsnaps; i++)
		if (o->snaps[i]->s == s)
			return o->snaps[i];
	return NULL;
}

SNAPCOW_EXPORT
int snapcow_origin_new(struct snapcow_dev *origin, struct snapcow_origin **op,
		       char *err, size_t errlen)
{
	struct snapcow_origin *o = calloc(1, sizeof(*o));
	pthread_mutexattr_t attr;

	*op = NULL;
	if (!o)
		return sc_errf(err, errlen, -ENOMEM, "out of memory");
	o->dev = origin;
	o->size = snapcow_dev_size(origin);
	/*
	 * Held for table lookups only: spinning a little beats sleeping in
	 * the kernel when many workers read at once.
	 */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&o->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	pthread_cond_init(&o->cond, NULL);
	*op = o;
	return 0;
}

SNAPCOW_EXPORT
void snapcow_origin_free(struct snapcow_origin *o)
{
	if (!o)
		return;
	for (unsigned int i = 0; i < o->nsnaps; i++)
		free(o->snaps[i]);
	for (unsigned int b = 0; b < ENG_BUCKETS; b++)
		while (o->buckets[b]) {
			struct eng_chunk *e = o->buckets[b];

			o->buckets[b] = e->next;
			free(e);
		}
	while (o->spare) {
		struct eng_chunk *e = o->spare;

		o->spare = e->next;
		free(e);
	}
	free(o->snaps);
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->lock);
	free(o);
}

/* Stop origin writes at this point of the stream; the lock is held. */
static void eng_quiesce(struct snapcow_origin *o)
{
	while (o->quiescing)
		eng_wait(o);
	o->quiescing = true;
	while (o->writers)
		eng_wait(o);
}

static void eng_resume(struct snapcow_origin *o)
{
	o->quiescing = false;
	eng_wake(o);
}

static int eng_snap_new(struct snapcow_store *s, bool activate,
			struct eng_snap **snp, char *err, size_t errlen)
{
	bool writable = s->flags & SNAPCOW_STORE_WRITE;
	struct eng_snap *sn;
	int r;

	/* The kernel formats a new COW when the snapshot is activated. */
	if (s->state == SNAPCOW_STATE_NEW && writable && activate) {
		r = sc_store_format_new(s, err, errlen);
		if (r)
			return r;
	}
	sn = calloc(1, sizeof(*sn));
	if (!sn)
		return sc_errf(err, errlen, -ENOMEM, "out of memory");
	sn->s = s;
	sn->chunk_bytes = s->chunk_bytes;
	/* Not activated, a new COW is only read: it stays unwritten. */
	sn->writable = writable && s->state != SNAPCOW_STATE_NEW;
	sn->state = s->state == SNAPCOW_STATE_INVALID ? ENG_INVALID : ENG_LIVE;
	*snp = sn;
	return 0;
}

/* Insert keeping descending chunk size; equal sizes in arrival order. */
static int eng_insert_snap(struct snapcow_origin *o, struct eng_snap *sn)
{
	struct eng_snap **v;
	unsigned int i;

	v = realloc(o->snaps, (o->nsnaps + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	o->snaps = v;
	for (i = o->nsnaps; i > 0 && v[i - 1]->chunk_bytes < sn->chunk_bytes;
	     i--)
		v[i] = v[i - 1];
	v[i] = sn;
	o->nsnaps++;
	return 0;
}

SNAPCOW_EXPORT
int snapcow_origin_add_snapshot(struct snapcow_origin *o,
				struct snapcow_store *s, char *err,
				size_t errlen)
{
	return eng_add_snapshot(o, s, true, err, errlen);
}

int eng_add_snapshot(struct snapcow_origin *o, struct snapcow_store *s,
		     bool activate, char *err, size_t errlen)
{
	struct eng_snap *sn = NULL;
	int r;

	pthread_mutex_lock(&o->lock);
	eng_quiesce(o);
	if (eng_find_snap(o, s)) {
		r = sc_errf(err, errlen, -EEXIST,
			    "%s: already a snapshot of %s",
			    snapcow_dev_path(s->cow), snapcow_dev_path(o->dev));
		goto out;
	}
	/* No origin write is in flight: formatting here is in order. */
	pthread_mutex_unlock(&o->lock);
	r = eng_snap_new(s, activate, &sn, err, errlen);
	pthread_mutex_lock(&o->lock);
	if (r)
		goto out;
	r = eng_insert_snap(o, sn);
	if (r) {
		free(sn);
		r = sc_errf(err, errlen, r, "out of memory");
	}
out:
	eng_resume(o);
	pthread_mutex_unlock(&o->lock);
	return r;
}

SNAPCOW_EXPORT
int snapcow_origin_remove_snapshot(struct snapcow_origin *o,
				   struct snapcow_store *s, char *err,
				   size_t errlen)
{
	struct eng_snap *sn;
	unsigned int i;
	int r = 0;

	pthread_mutex_lock(&o->lock);
	eng_quiesce(o);
	sn = eng_find_snap(o, s);
	if (!sn) {
		r = sc_errf(err, errlen, -ENODEV, "%s: not a snapshot of %s",
			    snapcow_dev_path(s->cow), snapcow_dev_path(o->dev));
		goto out;
	}
	while (sn->users || sn->qhead || sn->committing ||
	       sn->state == ENG_INVALIDATING)
		eng_wait(o);
	for (i = 0; o->snaps[i] != sn; i++)
		;
	memmove(&o->snaps[i], &o->snaps[i + 1],
		(o->nsnaps - i - 1) * sizeof(*o->snaps));
	o->nsnaps--;
	free(sn);
out:
	eng_resume(o);
	pthread_mutex_unlock(&o->lock);
	return r;
}

SNAPCOW_EXPORT
int snapcow_origin_pread(struct snapcow_origin *o, void *buf, size_t len,
			 uint64_t offset, char *err, size_t errlen)
{
	int r = eng_check_range(o, len, offset, err, errlen);

	if (r)
		return r;
	r = snapcow_dev_read(o->dev, buf, len, offset);
	if (r)
		return sc_errf(err, errlen, r, "%s", sc_dev_last_error());
	return 0;
}

/* Flushes count as writers, so the list cannot change under them. */
static int eng_flush_all(struct snapcow_origin *o, char *err, size_t errlen)
{
	int r = snapcow_dev_flush(o->dev);

	for (unsigned int i = 0; !r && i < o->nsnaps; i++)
		if (o->snaps[i]->writable)
			r = snapcow_dev_flush(o->snaps[i]->s->cow);
	if (r)
		return sc_errf(err, errlen, r, "flush: %s",
			       sc_dev_last_error());
	return 0;
}

SNAPCOW_EXPORT
int snapcow_origin_flush(struct snapcow_origin *o, char *err, size_t errlen)
{
	int r;

	pthread_mutex_lock(&o->lock);
	while (o->quiescing)
		eng_wait(o);
	o->writers++;
	pthread_mutex_unlock(&o->lock);
	r = eng_flush_all(o, err, errlen);
	pthread_mutex_lock(&o->lock);
	if (!--o->writers)
		eng_wake(o);
	pthread_mutex_unlock(&o->lock);
	return r;
}

SNAPCOW_EXPORT
void snapcow_origin_get_stats(struct snapcow_origin *o,
			      struct snapcow_engine_stats *stats)
{
	pthread_mutex_lock(&o->lock);
	*stats = o->stats;
	pthread_mutex_unlock(&o->lock);
}
