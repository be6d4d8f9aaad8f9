// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Do two devices share storage?  Each device is resolved, through sysfs,
 * down to the byte ranges of the files, disks and memory it finally
 * reaches ("extents"); two devices share storage when an extent of one
 * overlaps an extent of the other.  Every step down is kept as a clause,
 * so that a refusal can show the chain that proves it.
 *
 * Steps followed:
 *  - a partition (sysfs partition, start, size) is a range of its disk;
 *  - a loop device (sysfs loop/backing_file and loop/offset; its size
 *    already honours sizelimit) is a range of its backing file, or of
 *    its backing block device (loop over loop);
 *  - a device-mapper linear target maps a range onto a range of another
 *    device, read from the live table, so two LVs on one PV at disjoint
 *    ranges do not share storage;
 *  - any other dm target, md, and any other device with slaves/ is taken
 *    to use the whole of every slave.  That is conservative: modelling
 *    stripes, mirrors, snapshots or thin pools would only permit unusual
 *    pairs, and a wrong model would permit a pair that destroys data.
 *
 * holders/ are the same edges seen from below: walking down from both
 * devices to what they finally reach finds every sharing, so holders are
 * never read.  A regular file against the block device holding its file
 * system is not followed: a device opened for writing is opened O_EXCL,
 * which the kernel refuses while a file system is mounted on it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "array.h"
#include "dev-storage.h"
#include "util.h"

/* Beyond these, something is wrong with the tree, not with the stack. */
#define WALK_MAX_DEPTH		16
#define WALK_MAX_EXTENTS	1024
#define NO_END			UINT64_MAX

struct extent {
	enum sc_store_kind kind;
	uint64_t dev, ino;
	uint64_t start, end;	/* bytes, end exclusive */
	char *how;		/* the steps from the top device; NULL: none */
	char *name;		/* what is reached */
	int depth;		/* steps in @how */
};

struct walk {
	const struct sc_storage_env *env;
	struct extent *v;
	size_t n, cap;
	char *err;
	size_t errlen;
};

/* A byte range of one node being resolved. */
struct span {
	const char *name;	/* the node, as the chain names it */
	uint64_t start, end;
	const char *how;	/* the steps so far; NULL at the top */
	int depth;
};

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > NO_END - b ? NO_END : a + b;
}

/* "A..B" (inclusive), or "A.." for a range that has no end. */
static const char *range_str(char *buf, size_t len, uint64_t start,
			     uint64_t end)
{
	if (end == NO_END)
		snprintf(buf, len, "%" PRIu64 "..", start);
	else
		snprintf(buf, len, "%" PRIu64 "..%" PRIu64, start, end - 1);
	return buf;
}

/* @how followed by one more step; NULL when out of memory. */
static char * __attribute__((format(printf, 2, 3)))
how_add(const char *how, const char *fmt, ...)
{
	char *step, *s;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&step, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if (!how)
		return step;
	n = asprintf(&s, "%s, %s", how, step);
	free(step);
	return n < 0 ? NULL : s;
}

static int extent_add(struct walk *w, const struct extent *e)
{
	struct extent *v;

	if (e->start >= e->end)
		return 0;
	if (w->n == WALK_MAX_EXTENTS)
		return sc_errf(w->err, w->errlen, -E2BIG, "%s: reaches more "
			       "than %d separate ranges", e->name,
			       WALK_MAX_EXTENTS);
	if (sc_grow((void **)&w->v, &w->cap, w->n + 1, sizeof(*w->v)))
		return sc_errf(w->err, w->errlen, -ENOMEM, "out of memory");
	v = &w->v[w->n];
	*v = *e;
	v->how = e->how ? strdup(e->how) : NULL;
	v->name = strdup(e->name);
	if ((e->how && !v->how) || !v->name) {
		free(v->how);
		free(v->name);
		return sc_errf(w->err, w->errlen, -ENOMEM, "out of memory");
	}
	w->n++;
	return 0;
}

static void walk_free(struct walk *w)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		free(w->v[i].how);
		free(w->v[i].name);
	}
	free(w->v);
}

/* The first line of sysfs file @dir/@file, without its newline. */
static int sysfs_read(const char *dir, const char *file, char *buf,
		      size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

static int sysfs_u64(const char *dir, const char *file, uint64_t *v)
{
	char buf[32], *end;
	int r = sysfs_read(dir, file, buf, sizeof(buf));

	if (r)
		return r;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	return errno || end == buf || *end ? -EINVAL : 0;
}

static bool sysfs_has(const char *dir, const char *file)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

static int sysfs_fail(struct walk *w, const char *dir, const char *file,
		      int r)
{
	return sc_errf(w->err, w->errlen, r, "%s/%s: cannot read: %s", dir,
		       file, strerror(-r));
}

static int node_rdev(struct walk *w, const char *dir, uint64_t *rdev)
{
	unsigned int ma, mi;
	char buf[32], c;
	int r = sysfs_read(dir, "dev", buf, sizeof(buf));

	if (r)
		return sysfs_fail(w, dir, "dev", r);
	if (sscanf(buf, "%u:%u%c", &ma, &mi, &c) != 2)
		return sysfs_fail(w, dir, "dev", -EINVAL);
	*rdev = makedev(ma, mi);
	return 0;
}

/* The end of @sp clipped to the node's size (sysfs size, in sectors). */
static uint64_t node_clip(const char *dir, const struct span *sp)
{
	uint64_t sectors;

	if (sysfs_u64(dir, "size", &sectors))
		return sp->end;
	return MIN(sp->end, sectors << SNAPCOW_SECTOR_SHIFT);
}

/* The sysfs directory of block device @rdev; -ENOENT when none. */
static int rdev_dir(struct walk *w, uint64_t rdev, char *dir)
{
	char link[PATH_MAX];

	snprintf(link, sizeof(link), "%s/dev/block/%u:%u", w->env->sysfs,
		 major(rdev), minor(rdev));
	return realpath(link, dir) ? 0 : -errno;
}

/* "/dev/KNAME" for a sysfs node directory. */
static void node_name(const char *dir, char *name, size_t len)
{
	const char *base = strrchr(dir, '/');

	int n = snprintf(name, len, "/dev/%s", base ? base + 1 : dir);

	/* Kernel names are short; a cut one still names the device. */
	if (n < 0 || (size_t)n >= len)
		name[len - 1] = '\0';
}

/*
 * Every node a walk passes is an extent too, not only the files and
 * disks at the bottom: a match found high up ("/dev/loop2 is a loop
 * device over /dev/loop1, which is /dev/loop1") is the shorter proof.
 */
static int node_extent(struct walk *w, const char *dir,
		       const struct span *sp)
{
	struct extent e = {
		.kind = SC_STORE_BLOCK, .start = sp->start,
		.end = node_clip(dir, sp), .how = (char *)sp->how,
		.name = (char *)sp->name, .depth = sp->depth,
	};
	int r = node_rdev(w, dir, &e.dev);

	return r ? r : extent_add(w, &e);
}

static int walk_node(struct walk *w, const char *dir, const struct span *sp);

/* Block device @rdev; a leaf when sysfs does not know it. */
static int walk_rdev(struct walk *w, uint64_t rdev, const struct span *sp)
{
	char dir[PATH_MAX];
	struct extent e = {
		.kind = SC_STORE_BLOCK, .dev = rdev, .start = sp->start,
		.end = sp->end, .how = (char *)sp->how,
		.name = (char *)sp->name, .depth = sp->depth,
	};
	int r = rdev_dir(w, rdev, dir);

	if (r == -ENOENT)
		return extent_add(w, &e);
	if (r)
		return sc_errf(w->err, w->errlen, r, "%s (%u:%u): cannot find "
			       "it in %s: %s", sp->name, major(rdev),
			       minor(rdev), w->env->sysfs, strerror(-r));
	return walk_node(w, dir, sp);
}

/* Walk @dir, reached from @sp by the step @how (consumed). */
static int walk_step(struct walk *w, const char *dir, const char *name,
		     uint64_t start, uint64_t end, char *how,
		     const struct span *sp)
{
	struct span sub = { name, start, end, how, sp->depth + 1 };
	int r;

	if (!how)
		return sc_errf(w->err, w->errlen, -ENOMEM, "out of memory");
	r = walk_node(w, dir, &sub);
	free(how);
	return r;
}

static int walk_partition(struct walk *w, const char *dir,
			  const struct span *sp)
{
	char up[PATH_MAX], disk[PATH_MAX], name[PATH_MAX], rs[48];
	uint64_t start, size, part, end;
	int r;

	r = sysfs_u64(dir, "partition", &part);
	r = r ?: sysfs_u64(dir, "start", &start);
	r = r ?: sysfs_u64(dir, "size", &size);
	if (r)
		return sysfs_fail(w, dir, "partition, start or size", r);
	snprintf(up, sizeof(up), "%s/..", dir);
	if (!realpath(up, disk))
		return sysfs_fail(w, dir, "..", -errno);
	node_name(disk, name, sizeof(name));
	start <<= SNAPCOW_SECTOR_SHIFT;
	size <<= SNAPCOW_SECTOR_SHIFT;
	end = MIN(sp->end, size);
	return walk_step(w, disk, name, start + sp->start, start + end,
			 how_add(sp->how, "%s is partition %" PRIu64 " of %s "
				 "(bytes %s)", sp->name, part, name,
				 range_str(rs, sizeof(rs), start,
					   start + size)), sp);
}

/* A loop device over a regular file: an extent of that file. */
static int loop_file(struct walk *w, const struct stat *st,
		     const char *file, uint64_t start, uint64_t end,
		     const char *how, int depth)
{
	struct extent e = {
		.kind = SC_STORE_FILE, .dev = st->st_dev, .ino = st->st_ino,
		.start = start, .end = end, .how = (char *)how,
		.name = (char *)file, .depth = depth,
	};

	return extent_add(w, &e);
}

static int walk_loop(struct walk *w, const char *dir, const struct span *sp)
{
	char file[PATH_MAX], limit_s[48] = "";
	uint64_t off, limit = 0, end = node_clip(dir, sp);
	struct stat st;
	char *how;
	int r;

	r = sysfs_read(dir, "loop/backing_file", file, sizeof(file));
	r = r ?: sysfs_u64(dir, "loop/offset", &off);
	if (r)
		return sysfs_fail(w, dir, "loop/backing_file or offset", r);
	if (!sysfs_u64(dir, "loop/sizelimit", &limit) && limit)
		snprintf(limit_s, sizeof(limit_s), ", sizelimit %" PRIu64,
			 limit);
	/*
	 * Deleted, or outside our mount namespace: no path we were given
	 * can reach it, so the loop device is storage of its own.
	 */
	if (stat(file, &st) < 0 ||
	    !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		return 0;
	how = how_add(sp->how, "%s is a loop device over %s (offset %" PRIu64
		      "%s)", sp->name, file, off, limit_s);
	if (!how)
		return sc_errf(w->err, w->errlen, -ENOMEM, "out of memory");
	if (S_ISREG(st.st_mode)) {
		r = loop_file(w, &st, file, sat_add(off, sp->start),
			      sat_add(off, end), how, sp->depth + 1);
	} else {
		struct span sub = { file, sat_add(off, sp->start),
				    sat_add(off, end), how, sp->depth + 1 };

		r = walk_rdev(w, st.st_rdev, &sub);
	}
	free(how);
	return r;
}

struct dm_ctx {
	struct walk *w;
	const char *dir;
	const struct span *sp;
	const char *label;	/* "/dev/dm-2 (dm vg-lv)" */
	bool whole;		/* the slaves were walked whole already */
	int r;
};

static int walk_slaves(struct walk *w, const char *dir,
		       const struct span *sp, const char *label);

static int dm_linear(struct dm_ctx *c, uint64_t ts, uint64_t lo,
		     uint64_t hi, const char *params)
{
	char tdir[PATH_MAX], tname[PATH_MAX], rs[48], ts_s[48];
	struct span sub = { tname, 0, 0, NULL, c->sp->depth + 1 };
	unsigned long long off;
	unsigned int ma, mi;
	uint64_t rdev;
	char x, *how;
	int r;

	if (sscanf(params, "%u:%u %llu%c", &ma, &mi, &off, &x) != 3)
		return sc_errf(c->w->err, c->w->errlen, -EINVAL, "%s: linear "
			       "target \"%s\": not MAJ:MIN OFFSET",
			       c->label, params);
	rdev = makedev(ma, mi);
	if (rdev_dir(c->w, rdev, tdir))
		snprintf(tname, sizeof(tname), "%u:%u", ma, mi);
	else
		node_name(tdir, tname, sizeof(tname));
	sub.start = ((uint64_t)off << SNAPCOW_SECTOR_SHIFT) + (lo - ts);
	sub.end = sub.start + (hi - lo);
	how = how_add(c->sp->how, "%s maps bytes %s linearly onto bytes %s "
		      "of %s", c->label, range_str(rs, sizeof(rs), lo, hi),
		      range_str(ts_s, sizeof(ts_s), sub.start, sub.end),
		      tname);
	if (!how)
		return sc_errf(c->w->err, c->w->errlen, -ENOMEM,
			       "out of memory");
	sub.how = how;
	r = walk_rdev(c->w, rdev, &sub);
	free(how);
	return r;
}

static int dm_target(void *ctx, uint64_t start, uint64_t length,
		     const char *type, const char *params)
{
	struct dm_ctx *c = ctx;
	uint64_t ts = start << SNAPCOW_SECTOR_SHIFT;
	uint64_t te = ts + (length << SNAPCOW_SECTOR_SHIFT);
	uint64_t lo = MAX(ts, c->sp->start), hi = MIN(te, c->sp->end);
	char label[PATH_MAX + 64];

	/* zero and error targets reach no storage at all. */
	if (lo >= hi || !strcmp(type, "zero") || !strcmp(type, "error"))
		return 0;
	if (!strcmp(type, "linear"))
		c->r = dm_linear(c, ts, lo, hi, params ? params : "");
	else if (!c->whole) {
		c->whole = true;
		snprintf(label, sizeof(label), "%s, a %s target,", c->label,
			 type);
		c->r = walk_slaves(c->w, c->dir, c->sp, label);
	}
	return c->r;
}

static int walk_dm(struct walk *w, const char *dir, const struct span *sp)
{
	char dmname[256], label[PATH_MAX + 300];
	struct dm_ctx c = { w, dir, sp, label, false, 0 };
	uint64_t rdev;
	int r;

	if (!walk_slaves(w, dir, sp, NULL))
		return 0;
	r = sysfs_read(dir, "dm/name", dmname, sizeof(dmname));
	r = r ?: node_rdev(w, dir, &rdev);
	if (r)
		return r;
	snprintf(label, sizeof(label), "%s (dm %s)", sp->name, dmname);
	r = w->env->dm_table ? w->env->dm_table(major(rdev), minor(rdev),
						dm_target, &c) : -ENOSYS;
	if (c.r)
		return c.r;
	if (r == 0)
		return 0;
	/* No table to map precisely: the whole of every slave. */
	snprintf(label, sizeof(label), "%s (dm %s, table unreadable: %s)",
		 sp->name, dmname, strerror(-r));
	return walk_slaves(w, dir, sp, label);
}

static int slave_filter(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/*
 * Walk the whole of every slave of @dir as a step of @label.  With no
 * label, only count them: 1 when there is at least one.
 */
static int walk_slaves(struct walk *w, const char *dir,
		       const struct span *sp, const char *label)
{
	char path[PATH_MAX], sdir[PATH_MAX], name[PATH_MAX];
	struct dirent **list;
	int i, n, r = 0;

	snprintf(path, sizeof(path), "%s/slaves", dir);
	n = scandir(path, &list, slave_filter, alphasort);
	if (n < 0)
		return label ? sysfs_fail(w, dir, "slaves", -errno) : 0;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/slaves/%s", dir,
			 list[i]->d_name);
		if (!label || r)
			continue;
		if (!realpath(path, sdir)) {
			r = sysfs_fail(w, dir, list[i]->d_name, -errno);
			continue;
		}
		node_name(sdir, name, sizeof(name));
		r = walk_step(w, sdir, name, 0, NO_END,
			      how_add(sp->how, "%s is taken to use all of %s",
				      label, name), sp);
	}
	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return label ? r : n > 0;
}

static int walk_node(struct walk *w, const char *dir, const struct span *sp)
{
	char label[PATH_MAX + 32];
	int r;

	if (sp->depth > WALK_MAX_DEPTH)
		return sc_errf(w->err, w->errlen, -ELOOP, "%s: devices "
			       "stacked more than %d deep", sp->name,
			       WALK_MAX_DEPTH);
	if (sp->start >= sp->end)
		return 0;
	r = node_extent(w, dir, sp);
	if (r)
		return r;
	if (sysfs_has(dir, "partition"))
		return walk_partition(w, dir, sp);
	if (sysfs_has(dir, "loop/backing_file"))
		return walk_loop(w, dir, sp);
	if (sysfs_has(dir, "dm/name"))
		return walk_dm(w, dir, sp);
	if (!walk_slaves(w, dir, sp, NULL))
		return 0;
	/* md and anything else stacked: the whole of every slave. */
	snprintf(label, sizeof(label), "%s (%s)", sp->name,
		 sysfs_has(dir, "md") ? "md" : "stacked");
	return walk_slaves(w, dir, sp, label);
}

static int walk_top(struct walk *w, const struct sc_storage_id *id)
{
	struct extent e = {
		.kind = id->kind, .dev = id->dev, .ino = id->ino,
		.name = (char *)id->path,
	};
	struct span sp = { id->path, 0, id->size, NULL, 0 };

	switch (id->kind) {
	case SC_STORE_BLOCK:
		return walk_rdev(w, id->dev, &sp);
	case SC_STORE_MEM:
		/* Addresses: buffers that overlap in memory share storage. */
		e.ino = 0;
		e.start = id->ino;
		e.end = sat_add(id->ino, id->size);
		return extent_add(w, &e);
	case SC_STORE_FILE:
	default:
		/* Every byte: a writer may grow the file (export OUT). */
		e.end = NO_END;
		return extent_add(w, &e);
	}
}

static int report_same(const struct extent *x, const char *pa,
		       const char *pb, char *chain, size_t len)
{
	if (x->kind == SC_STORE_FILE)
		return sc_errf(chain, len, 1, "%s and %s are the same device "
			       "(inode %" PRIu64 " on %u:%u)", pa, pb, x->ino,
			       major(x->dev), minor(x->dev));
	if (x->kind == SC_STORE_BLOCK)
		return sc_errf(chain, len, 1, "%s and %s are the same device "
			       "(%u:%u)", pa, pb, major(x->dev),
			       minor(x->dev));
	return sc_errf(chain, len, 1, "%s and %s are the same device (one "
		       "memory buffer)", pa, pb);
}

static int report(const struct extent *x, const struct extent *y,
		  const char *pa, const char *pb, char *chain, size_t len)
{
	uint64_t lo = MAX(x->start, y->start), hi = MIN(x->end, y->end);
	char rs[48];

	range_str(rs, sizeof(rs), lo, hi);
	if (!x->how && !y->how)
		return report_same(x, pa, pb, chain, len);
	if (!x->how)
		return sc_errf(chain, len, 1, "%s, which is %s (bytes %s)",
			       y->how, pa, rs);
	if (!y->how)
		return sc_errf(chain, len, 1, "%s, which is %s (bytes %s)",
			       x->how, pb, rs);
	return sc_errf(chain, len, 1, "%s; %s; both reach bytes %s of %s",
		       x->how, y->how, rs, x->name);
}

static bool overlap(const struct extent *x, const struct extent *y)
{
	return x->kind == y->kind && x->dev == y->dev && x->ino == y->ino &&
	       MAX(x->start, y->start) < MIN(x->end, y->end);
}

int sc_storage_shared(const struct sc_storage_env *env,
		      const struct sc_storage_id *a,
		      const struct sc_storage_id *b, char *chain, size_t len)
{
	struct walk wa = { .env = env, .err = chain, .errlen = len };
	struct walk wb = wa;
	const struct extent *x = NULL, *y = NULL;
	size_t i, j;
	int r;

	r = walk_top(&wa, a);
	r = r ?: walk_top(&wb, b);
	if (r)
		goto out;
	/* The shortest proof: the match with the fewest steps. */
	for (i = 0; i < wa.n; i++)
		for (j = 0; j < wb.n; j++)
			if (overlap(&wa.v[i], &wb.v[j]) &&
			    (!x || wa.v[i].depth + wb.v[j].depth <
				   x->depth + y->depth)) {
				x = &wa.v[i];
				y = &wb.v[j];
			}
	if (x)
		r = report(x, y, a->path, b->path, chain, len);
	else if (chain && len)
		chain[0] = '\0';
out:
	walk_free(&wa);
	walk_free(&wb);
	return r;
}

SNAPCOW_EXPORT
int snapcow_dev_shares_storage(const struct snapcow_dev *a,
			       const struct snapcow_dev *b, char *chain,
			       size_t len)
{
	static const struct sc_storage_env env = { "/sys", sc_dm_table };
	struct sc_storage_id ia, ib;

	sc_dev_storage_id(a, &ia);
	sc_dev_storage_id(b, &ib);
	return sc_storage_shared(&env, &ia, &ib, chain, len);
}

int sc_storage_refuse(const struct snapcow_dev *a, const char *a_role,
		      const struct snapcow_dev *b, const char *b_role,
		      const char *rule, char *err, size_t errlen)
{
	char chain[1024];
	int r = snapcow_dev_shares_storage(a, b, chain, sizeof(chain));

	if (r < 0)
		return sc_errf(err, errlen, r, "cannot tell whether %s (%s) "
			       "and %s (%s) share storage: %s",
			       snapcow_dev_path(a), a_role,
			       snapcow_dev_path(b), b_role, chain);
	if (r == 0)
		return 0;
	return sc_errf(err, errlen, -EINVAL, "%s (%s) and %s (%s) share "
		       "storage: %s: %s", snapcow_dev_path(a), a_role,
		       snapcow_dev_path(b), b_role, chain, rule);
}
