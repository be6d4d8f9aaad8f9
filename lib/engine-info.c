// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the concurrent engine tells about a snapshot it serves: the
 * store's info, its counters and its status document, each read under
 * the origin's lock.  Workers commit exceptions meanwhile; without the
 * lock a reader could see an exception counted but not yet allocated.
 */
#include "config.h"

#include <errno.h>

#include "engine.h"
#include "util.h"

SNAPCOW_EXPORT
int snapcow_origin_snapshot_info(struct snapcow_origin *o,
				 const struct snapcow_store *s,
				 struct snapcow_store_info *info,
				 struct snapcow_snap_stats *stats)
{
	struct eng_snap *sn;

	pthread_mutex_lock(&o->lock);
	sn = eng_find_snap(o, s);
	if (sn && info)
		snapcow_store_get_info(s, info);
	if (sn && stats)
		*stats = sn->stats;
	pthread_mutex_unlock(&o->lock);
	return sn ? 0 : -ENODEV;
}

SNAPCOW_EXPORT
struct json_object *snapcow_origin_status_json(struct snapcow_origin *o,
					       const struct snapcow_store *s,
					       const struct snapcow_dev *origin)
{
	struct json_object *j = NULL;

	pthread_mutex_lock(&o->lock);
	if (eng_find_snap(o, s))
		j = snapcow_status_json(s, origin);
	pthread_mutex_unlock(&o->lock);
	return j;
}
