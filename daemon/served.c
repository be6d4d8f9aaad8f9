// SPDX-License-Identifier: GPL-2.0-or-later
/* What snapcowd serves, as JSON (see served.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fields.h"
#include "snapcow.h"
#include "device.h"
#include "served.h"
#include "shared.h"

/* "user_1/vol" -> "vol": the backstore's name, as configfs has it. */
static const char *lun_vol(const struct device *d)
{
	const char *slash;

	if (!d)
		return NULL;
	slash = strrchr(d->name, '/');
	return slash ? slash + 1 : d->name;
}

static bool lun_is(const struct device *d, const char *vol)
{
	return d && (!strcmp(lun_vol(d), vol) || !strcmp(d->name, vol));
}

static const char *cow_path(const struct shared_cow *c)
{
	return snapcow_dev_path(c->dev);
}

static const char *origin_path(const struct shared_origin *so)
{
	return snapcow_dev_path(so->dev);
}

static struct json_object *served_row(const struct shared_origin *so,
				      const struct shared_cow *c)
{
	struct snapcow_list_row row = {
		.kind = "served",
		.vol = lun_vol(c->snap_lun),
		.origin_vol = c->listed ? lun_vol(so->origin_lun) : NULL,
		.origin = origin_path(so),
		.cow = cow_path(c),
	};
	struct snapcow_store_info info;

	/* What `status --served` takes: the snapshot's own LUN first. */
	row.name = row.vol ? row.vol : row.origin_vol;
	if (snapcow_origin_snapshot_info(so->eng, c->store, &info, NULL) ||
	    snapcow_list_row_info(&row, &info) < 0)
		return NULL;
	return snapcow_list_row_json(&row);
}

static int row_cmp(const void *a, const void *b)
{
	struct json_object *x = *(struct json_object *const *)a;
	struct json_object *y = *(struct json_object *const *)b;
	struct json_object *cx, *cy;

	json_object_object_get_ex(x, "cow", &cx);
	json_object_object_get_ex(y, "cow", &cy);
	return strcmp(json_object_get_string(cx), json_object_get_string(cy));
}

unsigned int served_count(void)
{
	const struct shared_origin *so;
	const struct shared_cow *c;
	unsigned int n = 0;

	for (so = shared_origins(); so; so = so->next)
		for (c = so->cows; c; c = c->next)
			n++;
	return n;
}

static char *json_text(struct json_object *j)
{
	const char *s = json_object_to_json_string_ext(j,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *out = s ? strdup(s) : NULL;

	json_object_put(j);
	return out;
}

int served_list_json(char **out)
{
	const struct shared_origin *so;
	const struct shared_cow *c;
	struct json_object *a = json_object_new_array(), *row;
	int r = 0;

	*out = NULL;
	for (so = shared_origins(); a && !r && so; so = so->next)
		for (c = so->cows; !r && c; c = c->next) {
			row = served_row(so, c);
			if (!row || json_object_array_add(a, row) < 0) {
				json_object_put(row);
				r = -ENOMEM;
			}
		}
	if (!a || r) {
		json_object_put(a);
		return -ENOMEM;
	}
	json_object_array_sort(a, row_cmp);
	*out = json_text(a);
	return *out ? 0 : -ENOMEM;
}

/* The snapshot VOL names: found (0) or a refusal with @err. */
struct pick {
	const struct shared_origin *so;
	const struct shared_cow *cow;
	const struct device *lun;
};

static int pick_in_origin(struct pick *p, const char *vol, const char *cow,
			  char *err, size_t len)
{
	const struct shared_cow *c;
	unsigned int n = 0;

	for (c = p->so->cows; c; c = c->next) {
		if (!c->listed || (*cow && strcmp(cow_path(c), cow)))
			continue;
		p->cow = c;
		n++;
	}
	if (n == 1)
		return 0;
	if (*cow) {
		snprintf(err, len, "%s: origin %s has no snapshot %s", vol,
			 origin_path(p->so), cow);
		return SERVED_NO_SNAPSHOT;
	}
	if (!n) {
		snprintf(err, len, "%s: origin %s is served with no snapshot",
			 vol, origin_path(p->so));
		return SERVED_NO_SNAPSHOT;
	}
	snprintf(err, len, "%s: origin %s has %u snapshots: name one with "
		 "--cow", vol, origin_path(p->so), n);
	return SERVED_AMBIGUOUS;
}

static int pick(struct pick *p, const char *vol, const char *cow, char *err,
		size_t len)
{
	const struct shared_origin *so;
	const struct shared_cow *c;

	memset(p, 0, sizeof(*p));
	for (so = shared_origins(); so; so = so->next) {
		p->so = so;
		if (lun_is(so->origin_lun, vol)) {
			p->lun = so->origin_lun;
			return pick_in_origin(p, vol, cow, err, len);
		}
		for (c = so->cows; c; c = c->next) {
			if (!lun_is(c->snap_lun, vol))
				continue;
			p->lun = c->snap_lun;
			p->cow = c;
			if (!*cow || !strcmp(cow_path(c), cow))
				return 0;
			snprintf(err, len, "%s: serves the snapshot in %s, "
				 "not %s", vol, cow_path(c), cow);
			return SERVED_NO_SNAPSHOT;
		}
	}
	snprintf(err, len, "%s: snapcowd serves no device of that name", vol);
	return SERVED_NO_DEVICE;
}

static struct json_object *counters(const struct pick *p)
{
	struct json_object *o = json_object_new_object();
	struct device_counters dc;
	struct snapcow_snap_stats st = { 0 };
	struct snapcow_field_u64 rows[5];
	int r;

	device_counters(p->lun, &dc);
	snapcow_origin_snapshot_info(p->so->eng, p->cow->store, NULL, &st);
	rows[0] = (struct snapcow_field_u64){ SNAPCOW_F_READ_COUNT, dc.reads };
	rows[1] = (struct snapcow_field_u64){ SNAPCOW_F_WRITE_COUNT,
					      dc.writes };
	rows[2] = (struct snapcow_field_u64){ SNAPCOW_F_COPY_COUNT,
					      st.copies };
	rows[3] = (struct snapcow_field_u64){ SNAPCOW_F_COMMIT_COUNT,
					      st.commits };
	rows[4] = (struct snapcow_field_u64){ SNAPCOW_F_ERROR_COUNT,
					      dc.errors };
	r = o ? snapcow_field_add_u64s(o, rows, 5) : -ENOMEM;
	if (r) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int served_status_json(const char *vol, const char *cow, char **out,
		       char *err, size_t len)
{
	struct json_object *doc, *cnt;
	struct pick p;
	int r;

	*out = NULL;
	r = pick(&p, vol, cow, err, len);
	if (r)
		return r;
	/* The IMA string names the devices snapcowd serves from. */
	doc = snapcow_origin_status_json(p.so->eng, p.cow->store, p.so->dev);
	cnt = doc ? counters(&p) : NULL;
	if (!cnt || snapcow_field_add(doc, SNAPCOW_F_COUNTERS, cnt) < 0) {
		if (!doc)
			json_object_put(cnt);
		json_object_put(doc);
		snprintf(err, len, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	*out = json_text(doc);
	return *out ? 0 : -ENOMEM;
}
