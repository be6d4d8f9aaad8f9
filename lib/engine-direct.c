// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Direct I/O (snapcow.h): the engine decides and holds, the caller moves
 * the data with its own asynchronous I/O.  Each case holds exactly what
 * the engine's own call holds around its pread or pwrite, so the rules
 * stay the engine's: an origin write counts as a writer (a new snapshot
 * waits for it), a snapshot read from the origin counts as a reader of
 * its chunk (the origin write that copies the chunk waits for it), and
 * a chunk being copied is never touched: that is -EAGAIN, and the
 * engine's call waits for the copy.
 */
#include "config.h"

#include <errno.h>

#include "dev.h"
#include "engine.h"
#include "util.h"

enum direct_how {
	DIRECT_ORIGIN_READ,
	DIRECT_ORIGIN_WRITE,	/* o->writers held */
	DIRECT_SNAP_COW,	/* sn->users held */
	DIRECT_SNAP_ORIGIN,	/* sn->users and the chunk's readers held */
};

/* More chunks than this in one origin write: the engine's call. */
#define DIRECT_CHUNKS_MAX 64u

/* Lock held.  Every live snapshot has the range's chunks, none copying. */
static bool direct_all_copied(struct snapcow_origin *o, size_t len,
			      uint64_t offset)
{
	for (unsigned int i = 0; i < o->nsnaps; i++) {
		struct eng_snap *sn = o->snaps[i];
		uint64_t first = offset / sn->chunk_bytes;
		uint64_t last = (offset + len - 1) / sn->chunk_bytes;
		struct eng_chunk *ent;
		uint64_t nc;

		if (sn->state == ENG_INVALID)
			continue;
		if (sn->state != ENG_LIVE || last - first >= DIRECT_CHUNKS_MAX)
			return false;
		for (uint64_t c = first; c <= last; c++) {
			ent = eng_chunk_find(o, sn, c);
			if ((ent && ent->pe) || !eng_lookup(sn, c, &nc))
				return false;
		}
	}
	return true;
}

/* Lock held. */
static int direct_origin_write(struct snapcow_origin *o, size_t len,
			       uint64_t offset, struct snapcow_direct *d)
{
	int fd;

	if (o->quiescing || !direct_all_copied(o, len, offset))
		return -EAGAIN;
	fd = sc_dev_direct_fd(o->dev, true, len, offset);
	if (fd < 0)
		return fd;
	o->writers++;
	d->fd = fd;
	d->offset = offset;
	d->how = DIRECT_ORIGIN_WRITE;
	return 0;
}

/* Lock held.  One chunk of a live snapshot, not being copied. */
static int direct_snap(struct snapcow_origin *o, struct snapcow_store *s,
		       bool write, size_t len, uint64_t offset,
		       struct snapcow_direct *d)
{
	struct eng_snap *sn = eng_find_snap(o, s);
	struct eng_chunk *ent;
	uint64_t cb, chunk, nc;
	int fd;

	if (!sn || sn->state != ENG_LIVE || (write && !sn->writable))
		return -EAGAIN;
	cb = sn->chunk_bytes;
	chunk = offset / cb;
	if ((offset + len - 1) / cb != chunk)
		return -EAGAIN;
	ent = eng_chunk_find(o, sn, chunk);
	if (ent && ent->pe)
		return -EAGAIN;
	if (eng_lookup(sn, chunk, &nc)) {
		d->offset = nc * cb + offset % cb;
		fd = sc_dev_direct_fd(s->cow, write, len, d->offset);
		if (fd < 0)
			return fd;
		d->how = DIRECT_SNAP_COW;
	} else {
		/* A write here allocates an exception: the engine's call. */
		if (write)
			return -EAGAIN;
		fd = sc_dev_direct_fd(o->dev, false, len, offset);
		ent = fd < 0 ? NULL : eng_chunk_get(o, sn, chunk);
		if (!ent)
			return -EAGAIN;
		ent->readers++;
		d->offset = offset;
		d->hold = ent;
		d->how = DIRECT_SNAP_ORIGIN;
	}
	sn->users++;
	d->fd = fd;
	d->snap = sn;
	return 0;
}

SNAPCOW_EXPORT
int snapcow_direct_begin(struct snapcow_origin *o, struct snapcow_store *s,
			 bool write, size_t len, uint64_t offset,
			 struct snapcow_direct *d)
{
	int r;

	*d = (struct snapcow_direct){ .fd = -1 };
	if (!len || eng_check_range(o, len, offset, NULL, 0))
		return -EAGAIN;
	if (!s && !write) {
		/* Origin reads hold nothing in the engine either. */
		d->fd = sc_dev_direct_fd(o->dev, false, len, offset);
		d->offset = offset;
		d->how = DIRECT_ORIGIN_READ;
		return d->fd < 0 ? d->fd : 0;
	}
	pthread_mutex_lock(&o->lock);
	r = s ? direct_snap(o, s, write, len, offset, d) :
		direct_origin_write(o, len, offset, d);
	pthread_mutex_unlock(&o->lock);
	return r;
}

SNAPCOW_EXPORT
void snapcow_direct_end(struct snapcow_origin *o, struct snapcow_direct *d)
{
	struct eng_snap *sn = d->snap;
	struct eng_chunk *ent = d->hold;

	if (d->how == DIRECT_ORIGIN_READ)
		return;
	pthread_mutex_lock(&o->lock);
	if (d->how == DIRECT_ORIGIN_WRITE) {
		if (!--o->writers)
			eng_wake(o);
	} else {
		/* An origin write waits for the chunk's last reader. */
		if (ent && !--ent->readers && ent->pe)
			eng_wake(o);
		if (ent)
			eng_chunk_put(o, ent);
		if (!--sn->users)
			eng_wake(o);
	}
	pthread_mutex_unlock(&o->lock);
	d->hold = NULL;
	d->snap = NULL;
}
