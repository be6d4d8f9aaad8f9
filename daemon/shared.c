// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The registry of shared origins and COWs (see shared.h).  A LUN's add
 * runs its checks in the order the tools' writing verbs do: everything
 * that can refuse is looked at on read-only, unlocked handles first
 * (the LUN's own devices, then the rules against what is served), then
 * the new devices are held exclusively and the new COWs checked, and
 * only then does anything change (a new COW is formatted when the
 * engine takes it, as the kernel's activation does).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapcow.h"
#include "device.h"
#include "log.h"
#include "shared.h"

#define RULE_COW_ON_ORIGIN	"a snapshot's COW cannot live on its origin"
#define RULE_COW_ON_COW		"two snapshots cannot share a COW"
#define RULE_ONE_ROLE		"a served device has one role only"

/* Every origin served; main thread only. */
static struct shared_origin *origins;

/* One device a LUN names. */
struct want {
	const char *key;		/* "origin", "cow", "snapshot" */
	const char *path;
	struct snapcow_dev *probe;	/* read-only, not held */
	struct shared_cow *cow;		/* already attached to the origin */
	struct snapcow_dev *dev;	/* new: held exclusively */
	struct snapcow_store *store;	/* new COW: loaded */
};

struct attach {
	struct device *d;
	bool snapshot;
	bool reconfig;			/* origin LUN @d changes its COWs */
	struct want w[SNAPCOW_CFG_COWS_MAX + 1];	/* [0]: the origin */
	int n;
	struct shared_origin *so;	/* the origin's object when served */
	char *err;
	size_t len;
};

static int errf(struct attach *a, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The message, prefixed with the LUN's name. */
static int errf(struct attach *a, int r, const char *fmt, ...)
{
	int n = snprintf(a->err, a->len, "%s: ", a->d->name);
	va_list ap;

	if (n < 0 || (size_t)n >= a->len)
		return r;
	va_start(ap, fmt);
	vsnprintf(a->err + n, a->len - n, fmt, ap);
	va_end(ap);
	return r;
}

/* A LUN that serves @so, for messages. */
static const char *so_user(const struct shared_origin *so)
{
	const struct shared_cow *c;

	if (so->origin_lun)
		return so->origin_lun->name;
	for (c = so->cows; c; c = c->next)
		if (c->snap_lun)
			return c->snap_lun->name;
	return "?";
}

const struct shared_origin *shared_origins(void)
{
	return origins;
}

static const char *so_path(const struct shared_origin *so)
{
	return snapcow_dev_path(so->dev);
}

static struct shared_origin *find_origin(const struct snapcow_dev *dev)
{
	struct shared_origin *so;

	for (so = origins; so; so = so->next)
		if (snapcow_dev_same(so->dev, dev))
			return so;
	return NULL;
}

static struct shared_cow *find_cow(const struct snapcow_dev *dev,
				   struct shared_origin **owner)
{
	struct shared_origin *so;
	struct shared_cow *c;

	for (so = origins; so; so = so->next)
		for (c = so->cows; c; c = c->next)
			if (snapcow_dev_same(c->dev, dev)) {
				*owner = so;
				return c;
			}
	return NULL;
}

static bool want_is_new(const struct attach *a, int i)
{
	return i ? !a->w[i].cow : !a->so;
}

static const char *want_role(int i)
{
	return i ? "COW" : "origin";
}

static void want_release(struct want *w)
{
	snapcow_store_free(w->store);
	snapcow_dev_close(w->dev);
	snapcow_dev_close(w->probe);
	w->store = NULL;
	w->dev = NULL;
	w->probe = NULL;
}

static int probe_all(struct attach *a)
{
	char msg[PATH_MAX + 128];
	int i, r;

	for (i = 0; i < a->n; i++) {
		r = snapcow_dev_open_err(a->w[i].path, 0, &a->w[i].probe, msg,
					 sizeof(msg));
		if (r)
			return errf(a, r, "%s %s", a->w[i].key, msg);
	}
	return 0;
}

/* Refuse when @x and @y share storage, with the chain that proves it. */
static int distinct(struct attach *a, struct snapcow_dev *x,
		    const char *xrole, struct snapcow_dev *y,
		    const char *yrole, const char *rule)
{
	char chain[2048];
	int r = snapcow_dev_shares_storage(x, y, chain, sizeof(chain));

	if (!r)
		return 0;
	if (r < 0)
		return errf(a, r,
			    "cannot tell whether %s (%s) and %s (%s) share storage: %s",
			    snapcow_dev_path(x), xrole, snapcow_dev_path(y),
			    yrole, chain);
	return errf(a, -EINVAL, "%s (%s) and %s (%s) share storage: %s: %s",
		    snapcow_dev_path(x), xrole, snapcow_dev_path(y), yrole,
		    chain, rule);
}

static int check_within(struct attach *a)
{
	int i, j, r;

	for (i = 0; i < a->n; i++)
		for (j = i + 1; j < a->n; j++) {
			r = distinct(a, a->w[i].probe, want_role(i),
				     a->w[j].probe, want_role(j),
				     i ? RULE_COW_ON_COW : RULE_COW_ON_ORIGIN);
			if (r)
				return r;
		}
	return 0;
}

static int check_origin(struct attach *a)
{
	struct shared_origin *owner;
	struct want *w = &a->w[0];

	if (find_cow(w->probe, &owner))
		return errf(a, -EBUSY,
			    "origin %s is a COW of origin %s (served by %s): a COW cannot be an origin",
			    w->path, so_path(owner), so_user(owner));
	a->so = find_origin(w->probe);
	if (!a->snapshot && a->so && a->so->origin_lun &&
	    a->so->origin_lun != a->d)
		return errf(a, -EBUSY,
			    "origin %s is already served by %s: one LUN per origin",
			    w->path, a->so->origin_lun->name);
	return 0;
}

static int check_cow(struct attach *a, struct want *w)
{
	struct shared_origin *owner = NULL, *so;
	struct shared_cow *c;

	so = find_origin(w->probe);
	if (so)
		return errf(a, -EBUSY,
			    "%s %s is an origin served by %s: an origin cannot be a COW",
			    w->key, w->path, so_user(so));
	c = find_cow(w->probe, &owner);
	if (c && owner != a->so)
		return errf(a, -EBUSY,
			    "%s %s is a COW of origin %s (served by %s): a COW belongs to one origin",
			    w->key, w->path, so_path(owner), so_user(owner));
	w->cow = c;
	if (!a->snapshot)
		return 0;
	if (c && c->snap_lun)
		return errf(a, -EBUSY,
			    "snapshot %s is already served by %s: one LUN per snapshot",
			    w->path, c->snap_lun->name);
	if (!c && a->so && a->so->origin_lun)
		return errf(a, -EINVAL,
			    "snapshot %s: origin %s is served by %s without cow=%s: every origin write must reach a served snapshot (list it in the origin's cfgstring)",
			    w->path, so_path(a->so), a->so->origin_lun->name,
			    w->path);
	return 0;
}

/* An origin LUN lists every COW a snapshot LUN serves for its origin. */
static int check_listed(struct attach *a)
{
	const struct shared_cow *c;
	int i;

	if (a->snapshot || !a->so)
		return 0;
	for (c = a->so->cows; c; c = c->next) {
		if (!c->snap_lun)
			continue;
		for (i = 1; i < a->n && a->w[i].cow != c; i++)
			;
		if (i < a->n)
			continue;
		if (a->reconfig)
			return errf(a, -EBUSY,
				    "origin %s: cow=%s cannot be removed: %s serves it as a snapshot of this origin (remove that LUN first)",
				    a->w[0].path, snapcow_dev_path(c->dev),
				    c->snap_lun->name);
		return errf(a, -EINVAL,
			    "origin %s: cow=%s is missing: %s serves it as a snapshot of this origin, and every origin write must reach it",
			    a->w[0].path, snapcow_dev_path(c->dev),
			    c->snap_lun->name);
	}
	return 0;
}

/* A new device shares no storage with anything served. */
static int check_apart(struct attach *a, int i)
{
	const struct shared_origin *so;
	const struct shared_cow *c;
	char role[PATH_MAX + 64];
	int r;

	for (so = origins; so; so = so->next) {
		snprintf(role, sizeof(role), "origin served by %s",
			 so_user(so));
		r = distinct(a, a->w[i].probe, want_role(i), so->dev, role,
			     RULE_ONE_ROLE);
		for (c = so->cows; !r && c; c = c->next) {
			snprintf(role, sizeof(role), "COW of %s served by %s",
				 so_path(so), so_user(so));
			r = distinct(a, a->w[i].probe, want_role(i), c->dev,
				     role, RULE_ONE_ROLE);
		}
		if (r)
			return r;
	}
	return 0;
}

static int check_served(struct attach *a)
{
	int i, r;

	r = check_origin(a);
	for (i = 1; !r && i < a->n; i++)
		r = check_cow(a, &a->w[i]);
	r = r ?: check_listed(a);
	for (i = 0; !r && i < a->n; i++)
		if (want_is_new(a, i))
			r = check_apart(a, i);
	return r;
}

static int hold_new(struct attach *a)
{
	char msg[PATH_MAX + 128];
	struct want *w;
	int i, r;

	for (i = 0; i < a->n; i++) {
		w = &a->w[i];
		if (!want_is_new(a, i))
			continue;
		r = snapcow_dev_open_err(w->path,
					 SNAPCOW_DEV_WRITE | SNAPCOW_DEV_EXCL,
					 &w->dev, msg, sizeof(msg));
		if (r == -EBUSY)
			return errf(a, r, "%s %s: %s (held by another program)",
				    w->key, w->path, strerror(-r));
		if (r)
			return errf(a, r, "%s %s", w->key, msg);
	}
	return 0;
}

static const struct snapcow_finding *first_error(const struct snapcow_check *c)
{
	const struct snapcow_finding *f;
	size_t i, n = snapcow_check_findings(c, &f);

	for (i = 0; i < n; i++)
		if (snapcow_rule_get(f[i].rule)->severity >= SNAPCOW_SEV_ERROR)
			return &f[i];
	return NULL;
}

/* What snapcheck -n makes of it: no error may be left. */
static int check_clean(struct attach *a, struct want *w, uint64_t origin_bytes)
{
	struct snapcow_check_opts opts = { .origin_bytes = origin_bytes };
	struct snapcow_check_summary sum;
	const struct snapcow_finding *f;
	const struct snapcow_rule *rule;
	char msg[SNAPCOW_ERRBUF_SIZE] = "", where[96] = "";
	struct snapcow_check *c;
	uint64_t errors;
	int r;

	r = snapcow_check(w->dev, &opts, &c, msg, sizeof(msg));
	if (r < 0)
		return errf(a, r, "%s %s: cannot check: %s", w->key, w->path,
			    msg);
	snapcow_check_get_summary(c, &sum);
	errors = snapcow_check_errors(&sum);
	f = first_error(c);
	if (errors && f) {
		rule = snapcow_rule_get(f->rule);
		if (f->area != SNAPCOW_NO_POS)
			snprintf(where, sizeof(where),
				 "area %" PRIu64 " slot %" PRIu64 " offset %" PRIu64 ": ",
				 f->area, f->slot, f->offset);
		r = errf(a, -EUCLEAN,
			 "%s %s does not pass snapcheck -n: %" PRIu64 " error%s, the first: %s %s: %s%s: %s",
			 w->key, w->path, errors, errors == 1 ? "" : "s",
			 rule->code, rule->name, where, rule->message,
			 f->text);
	} else if (errors) {
		r = errf(a, -EUCLEAN, "%s %s does not pass snapcheck -n",
			 w->key, w->path);
	}
	snapcow_check_free(c);
	return r;
}

static int check_and_load(struct attach *a)
{
	uint64_t origin_bytes = snapcow_dev_size(a->w[0].probe);
	char msg[SNAPCOW_ERRBUF_SIZE] = "";
	struct want *w;
	int i, r;

	for (i = 1; i < a->n; i++) {
		w = &a->w[i];
		if (!want_is_new(a, i))
			continue;
		r = check_clean(a, w, origin_bytes);
		if (r)
			return r;
		/* PO: a snapshot write that finds it full fails, no more. */
		r = snapcow_store_load(w->dev, 0, SNAPCOW_STORE_WRITE |
				       SNAPCOW_STORE_OVERFLOW, &w->store, msg,
				       sizeof(msg));
		if (r)
			return errf(a, r, "%s %s: %s", w->key, w->path, msg);
	}
	return 0;
}

static struct shared_origin *origin_new(struct attach *a, int *r)
{
	char msg[SNAPCOW_ERRBUF_SIZE] = "";
	struct shared_origin *so = calloc(1, sizeof(*so));

	if (!so) {
		*r = errf(a, -ENOMEM, "out of memory");
		return NULL;
	}
	*r = snapcow_origin_new(a->w[0].dev, &so->eng, msg, sizeof(msg));
	if (*r) {
		*r = errf(a, *r, "origin %s: %s", a->w[0].path, msg);
		free(so);
		return NULL;
	}
	so->dev = a->w[0].dev;
	a->w[0].dev = NULL;
	return so;
}

static void origin_free(struct shared_origin *so)
{
	snapcow_origin_free(so->eng);
	snapcow_dev_close(so->dev);
	free(so);
}

/* Take the new COWs into @so's engine; all or none. */
static int add_cows(struct attach *a, struct shared_origin *so,
		    struct shared_cow **added)
{
	char msg[SNAPCOW_ERRBUF_SIZE] = "";
	struct shared_cow *c;
	int i, r = 0;

	*added = NULL;
	for (i = 1; !r && i < a->n; i++) {
		if (a->w[i].cow)
			continue;
		c = calloc(1, sizeof(*c));
		if (!c) {
			r = errf(a, -ENOMEM, "out of memory");
			break;
		}
		r = snapcow_origin_add_snapshot(so->eng, a->w[i].store, msg,
						sizeof(msg));
		if (r) {
			r = errf(a, r, "%s %s: %s", a->w[i].key, a->w[i].path,
				 msg);
			free(c);
			break;
		}
		c->dev = a->w[i].dev;
		c->store = a->w[i].store;
		a->w[i].dev = NULL;
		a->w[i].store = NULL;
		a->w[i].cow = c;
		c->next = *added;
		*added = c;
	}
	while (r && *added) {
		c = *added;
		*added = c->next;
		snapcow_origin_remove_snapshot(so->eng, c->store, msg,
					       sizeof(msg));
		snapcow_store_free(c->store);
		snapcow_dev_close(c->dev);
		free(c);
	}
	return r;
}

static void cows_prepend(struct shared_origin *so, struct shared_cow *added)
{
	struct shared_cow *last;

	for (last = added; last && last->next; last = last->next)
		;
	if (last) {
		last->next = so->cows;
		so->cows = added;
	}
}

static int join(struct attach *a, struct shared_ref *ref)
{
	struct shared_origin *so = a->so;
	struct shared_cow *added;
	int i, r;

	if (!so) {
		so = origin_new(a, &r);
		if (!so)
			return r;
	}
	r = add_cows(a, so, &added);
	if (r) {
		if (!a->so)
			origin_free(so);
		return r;
	}
	cows_prepend(so, added);
	if (a->snapshot) {
		a->w[1].cow->snap_lun = a->d;
		ref->cow = a->w[1].cow;
	} else {
		for (i = 1; i < a->n; i++)
			a->w[i].cow->listed = true;
		so->origin_lun = a->d;
		ref->cow = NULL;
	}
	so->luns++;
	if (!a->so) {
		so->next = origins;
		origins = so;
	}
	ref->so = so;
	return 0;
}

static void attach_init(struct attach *a, struct device *d,
			const struct snapcow_cfgstring *cfg, char *err, size_t len)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->d = d;
	a->err = err;
	a->len = len;
	a->snapshot = cfg->snapshot[0] != '\0';
	a->w[0].key = "origin";
	a->w[0].path = cfg->origin;
	if (a->snapshot) {
		a->w[1].key = "snapshot";
		a->w[1].path = cfg->snapshot;
		a->n = 2;
		return;
	}
	for (i = 0; i < cfg->n_cows; i++) {
		a->w[i + 1].key = "cow";
		a->w[i + 1].path = cfg->cows[i];
	}
	a->n = cfg->n_cows + 1;
}

int shared_attach(struct device *d, const struct snapcow_cfgstring *cfg,
		  struct shared_ref *ref, char *err, size_t len)
{
	struct attach a;
	int i, r;

	attach_init(&a, d, cfg, err, len);
	r = probe_all(&a);
	r = r ?: check_within(&a);
	r = r ?: check_served(&a);
	r = r ?: hold_new(&a);
	r = r ?: check_and_load(&a);
	r = r ?: join(&a, ref);
	for (i = 0; i < a.n; i++)
		want_release(&a.w[i]);
	return r;
}

static void cow_release(struct shared_origin *so, struct shared_cow *c)
{
	char msg[SNAPCOW_ERRBUF_SIZE] = "";
	int r;

	r = snapcow_origin_remove_snapshot(so->eng, c->store, msg,
					   sizeof(msg));
	if (r)
		log_err("releasing %s: %s", snapcow_dev_path(c->dev), msg);
	r = snapcow_dev_flush(c->dev);
	if (r)
		log_err("releasing %s: flush: %s", snapcow_dev_path(c->dev),
			strerror(-r));
	snapcow_store_free(c->store);
	snapcow_dev_close(c->dev);
	free(c);
}

/* What no LUN serves any more gets no copies and is let go. */
static void drop_unserved(struct shared_origin *so)
{
	struct shared_cow **pp = &so->cows, *c;

	while (*pp) {
		c = *pp;
		if (c->listed || c->snap_lun) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		cow_release(so, c);
	}
}

static void origin_release(struct shared_origin *so)
{
	struct shared_origin **pp = &origins;
	int r;

	while (*pp != so)
		pp = &(*pp)->next;
	*pp = so->next;
	r = snapcow_dev_flush(so->dev);
	if (r)
		log_err("releasing %s: flush: %s", so_path(so), strerror(-r));
	origin_free(so);
}

void shared_detach(struct shared_ref *ref)
{
	struct shared_origin *so = ref->so;
	struct shared_cow *c;

	if (!so)
		return;
	if (ref->cow) {
		ref->cow->snap_lun = NULL;
	} else {
		so->origin_lun = NULL;
		for (c = so->cows; c; c = c->next)
			c->listed = false;
	}
	drop_unserved(so);
	ref->so = NULL;
	ref->cow = NULL;
	if (!--so->luns)
		origin_release(so);
}

/* A reconfiguration keeps the origin: its new cfgstring names the same. */
static int check_same_origin(struct attach *a, const struct shared_ref *ref)
{
	if (a->snapshot)
		return errf(a, -EINVAL,
			    "new cfgstring names snapshot=%s: an origin LUN stays an origin LUN (only its cow= items can change)",
			    a->w[1].path);
	if (snapcow_dev_same(a->w[0].probe, ref->so->dev))
		return 0;
	return errf(a, -EINVAL,
		    "new cfgstring names origin %s, the LUN serves %s: only its cow= items can change",
		    a->w[0].path, so_path(ref->so));
}

/* The COWs now listed: new ones taken, the others no longer listed let go. */
static int relist(struct attach *a)
{
	struct shared_origin *so = a->so;
	struct shared_cow *added, *c;
	int i, r;

	r = add_cows(a, so, &added);
	if (r)
		return r;
	cows_prepend(so, added);
	for (c = so->cows; c; c = c->next)
		c->listed = false;
	for (i = 1; i < a->n; i++)
		a->w[i].cow->listed = true;
	drop_unserved(so);
	return 0;
}

int shared_reconfig(struct device *d, const struct snapcow_cfgstring *cfg,
		    const struct shared_ref *ref, char *err, size_t len)
{
	struct attach a;
	int i, r;

	attach_init(&a, d, cfg, err, len);
	a.reconfig = true;
	r = probe_all(&a);
	r = r ?: check_same_origin(&a, ref);
	r = r ?: check_within(&a);
	r = r ?: check_served(&a);
	r = r ?: hold_new(&a);
	r = r ?: check_and_load(&a);
	r = r ?: relist(&a);
	for (i = 0; i < a.n; i++)
		want_release(&a.w[i]);
	return r;
}
