// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The offline tools' engine calls: each runs the concurrent engine on a
 * private origin object holding the stores it is given, so there is one
 * copy-on-write path for the tools and the daemon.  Each works on
 * several handles, so its message goes to the caller's buffer.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"
#include "engine.h"
#include "util.h"

int sc_offline_origin(struct snapcow_dev *origin,
			  struct snapcow_store *const *snaps,
			  unsigned int nsnaps, bool format,
			  struct snapcow_origin **op, char *err, size_t errlen)
{
	struct snapcow_origin *o;
	int r;

	r = snapcow_origin_new(origin, &o, err, errlen);
	if (r)
		return r;
	for (unsigned int i = 0; i < nsnaps; i++) {
		r = eng_add_snapshot(o, snaps[i], format, err, errlen);
		if (r) {
			snapcow_origin_free(o);
			return r;
		}
	}
	*op = o;
	return 0;
}

SNAPCOW_EXPORT
int snapcow_origin_write(struct snapcow_dev *origin,
			 struct snapcow_store *const *snaps, unsigned int nsnaps,
			 const void *buf, size_t len, uint64_t offset,
			 char *err, size_t errlen)
{
	struct snapcow_origin *o;
	int r;

	r = sc_offline_origin(origin, snaps, nsnaps, true, &o, err, errlen);
	if (r)
		return r;
	r = snapcow_origin_pwrite(o, buf, len, offset, 0, err, errlen);
	snapcow_origin_free(o);
	return r;
}

SNAPCOW_EXPORT
int snapcow_snapshot_read(struct snapcow_dev *origin, struct snapcow_store *s,
			  void *buf, size_t len, uint64_t offset, char *err,
			  size_t errlen)
{
	struct snapcow_origin *o;
	int r;

	r = sc_offline_origin(origin, &s, 1, false, &o, err, errlen);
	if (r)
		return r;
	r = snapcow_snap_pread(o, s, buf, len, offset, err, errlen);
	snapcow_origin_free(o);
	return r;
}

SNAPCOW_EXPORT
int snapcow_snapshot_write(struct snapcow_dev *origin, struct snapcow_store *s,
			   const void *data, size_t len, uint64_t offset,
			   char *err, size_t errlen)
{
	struct snapcow_origin *o;
	int r;

	r = sc_offline_origin(origin, &s, 1, true, &o, err, errlen);
	if (r)
		return r;
	/* The tools' writes are durable when they return. */
	r = snapcow_snap_pwrite(o, s, data, len, offset, SNAPCOW_IO_FUA, err,
				errlen);
	snapcow_origin_free(o);
	return r;
}

