// SPDX-License-Identifier: GPL-2.0-or-later
/* The LUNs snapcowd serves (see lun.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "log.h"
#include "lun.h"
#include "tcmu.h"

static void lun_drain(struct luns *ls, struct lun *l);
static bool lun_gone(struct luns *ls, struct lun *l);

static struct lun *lun_find(struct luns *ls, int minor)
{
	struct lun *l;

	for (l = ls->list; l; l = l->next)
		if (l->uio.minor == minor)
			return l;
	return NULL;
}

/* Nothing may run against the backend once it is closed. */
static void lun_free(struct lun *l)
{
	pool_ring_destroy(&l->pr);
	if (l->dev) {
		int r = device_flush(l->dev);

		if (r)
			log_err("%s: flush on release: %s", l->dev->name,
				strerror(-r));
		device_close(l->dev);
	}
	uio_close(&l->uio);
	free(l);
}

/*
 * A previous daemon may have left commands in the ring, some half done.
 * Block new commands, have the kernel fail the old ones with BUSY (the
 * initiator retries them: none was acknowledged) and zero the ring; the
 * caller unblocks once it serves the ring.  On a device still being
 * enabled these fail (nothing to recover): that is fine.
 */
static bool lun_recover(struct lun *l)
{
	int r;

	r = uio_action(&l->uio, "block_dev", "1");
	if (r) {
		log_debug("%s: block_dev: %s (not recovering)", l->uio.configfs,
			  strerror(-r));
		return false;
	}
	r = uio_action(&l->uio, "reset_ring", "1");
	if (r)
		log_err("%s: reset_ring: %s", l->uio.configfs, strerror(-r));
	else
		log_info("user_%u/%s: ring reset (block_dev, reset_ring)",
			 l->uio.id.hba, l->uio.id.name);
	return true;
}

static void lun_params(struct lun *l, struct device_params *prm, char *name,
		       size_t len)
{
	uint64_t v;

	snprintf(name, len, "user_%u/%s", l->uio.id.hba, l->uio.id.name);
	prm->name = name;
	prm->block_size = 512;
	if (!uio_attr_u64(&l->uio, "attrib/hw_block_size", &v) && v)
		prm->block_size = (uint32_t)v;
	prm->dev_size = 0;
	if (!uio_attr_u64(&l->uio, "attrib/dev_size", &v))
		prm->dev_size = v;
	prm->max_sectors = 0;
	if (!uio_attr_u64(&l->uio, "attrib/hw_max_sectors", &v))
		prm->max_sectors = (uint32_t)v;
}

/* Called by a worker with the ring's lock held: answers are published. */
static void lun_kick(void *arg)
{
	struct lun *l = arg;

	if (uio_kick(&l->uio))
		log_err("%s: kick: %s", l->dev->name, strerror(errno));
}

static int lun_open(struct luns *ls, struct lun *l, int minor, bool recover)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct device_params prm;
	char name[300], err[PATH_MAX + 256];
	bool blocked = false;
	int r;

	r = uio_parse_name(l->uio.uio_name, &l->uio.id);
	if (r)
		return 1;
	if (strcmp(l->uio.id.subtype, UIO_SUBTYPE))
		return 1;
	snprintf(l->uio.configfs, sizeof(l->uio.configfs),
		 "/sys/kernel/config/target/core/user_%u/%s", l->uio.id.hba,
		 l->uio.id.name);
	if (recover)
		blocked = lun_recover(l);
	r = uio_open(&l->uio, minor, err, sizeof(err));
	if (!r) {
		lun_params(l, &prm, name, sizeof(name));
		r = device_open(ls->policy, l->uio.id.cfgstring, &prm, &l->dev,
				err, sizeof(err));
	}
	if (!r)
		r = pool_ring_init(&l->pr, ls->pool, &l->uio.ring,
				   &device_ring_ops, l->dev, lun_kick, l);
	if (!r) {
		ev.data.ptr = l;
		if (epoll_ctl(ls->epfd, EPOLL_CTL_ADD, l->uio.fd, &ev) < 0)
			r = -errno;
	}
	if (blocked && uio_action(&l->uio, "block_dev", "0"))
		log_err("%s: could not unblock", l->uio.configfs);
	if (r) {
		log_err("uio%d (%s): refused: %s", minor, l->uio.uio_name, err);
		return r;
	}
	log_info("%s: serving %s (%" PRIu64 " blocks of %u bytes, uio%d)",
		 l->dev->name, l->uio.id.cfgstring, l->dev->disk.blocks,
		 l->dev->disk.block_size, minor);
	return 0;
}

int lun_add(struct luns *ls, int minor, const char *name, bool recover)
{
	struct lun *l;
	int r;

	l = lun_find(ls, minor);
	if (l && !lun_gone(ls, l))
		return 0;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->uio.fd = -1;
	snprintf(l->uio.uio_name, sizeof(l->uio.uio_name), "%s", name);
	r = lun_open(ls, l, minor, recover);
	if (r) {
		lun_free(l);
		return r;
	}
	l->next = ls->list;
	ls->list = l;
	/* Commands queued before we opened raised no event: look now. */
	lun_drain(ls, l);
	return 0;
}

/* Take and run what the ring holds; stop polling a broken ring. */
static void lun_drain(struct luns *ls, struct lun *l)
{
	int r;

	if (l->stopped)
		return;
	r = pool_ring_serve(&l->pr);
	if (r == -EIO) {
		log_err("%s: command ring broken (%s): no longer served",
			l->dev->name, l->uio.ring.why);
		epoll_ctl(ls->epfd, EPOLL_CTL_DEL, l->uio.fd, NULL);
		l->stopped = true;
		/* What was taken before the break is still answered. */
		pool_ring_quiesce(&l->pr);
	}
}

static void lun_unlink(struct luns *ls, struct lun *l);

/*
 * The kernel unregistered the uio device before any REMOVED_DEVICE
 * reached us: its add failed after we accepted it (another daemon's
 * answer came first), or a removal the kernel does not wait for is under
 * way.  Either way, let go of the volumes now (and of the minor, which
 * the kernel reuses).  True when @l was so freed.
 */
static bool lun_gone(struct luns *ls, struct lun *l)
{
	if (l->stopped || uio_ack(&l->uio) != -EIO)
		return false;
	log_warn("%s: uio%d went away without a REMOVED_DEVICE: released (its enable got another daemon's answer, or it is being removed)",
		 l->dev->name, l->uio.minor);
	lun_unlink(ls, l);
	return true;
}

static bool lun_listed(const struct luns *ls, const struct lun *l)
{
	const struct lun *i;

	for (i = ls->list; i && i != l; i = i->next)
		;
	return i != NULL;
}

void lun_serve(struct luns *ls, struct lun *l)
{
	/*
	 * An earlier event of the same epoll batch may have freed @l: a
	 * REMOVED_DEVICE, or its uio gone, which another daemon's answer
	 * lets happen before we read the event.
	 */
	if (lun_listed(ls, l) && !lun_gone(ls, l))
		lun_drain(ls, l);
}

/* Out of the list and the epoll set, its commands answered, freed. */
static void lun_unlink(struct luns *ls, struct lun *l)
{
	struct lun **p;

	for (p = &ls->list; *p && *p != l; p = &(*p)->next)
		;
	if (*p)
		*p = l->next;
	epoll_ctl(ls->epfd, EPOLL_CTL_DEL, l->uio.fd, NULL);
	lun_free(l);
}

static void lun_remove(struct luns *ls, int minor)
{
	struct lun *l;

	for (l = ls->list; l; l = l->next) {
		if (l->uio.minor != minor)
			continue;
		lun_drain(ls, l);
		log_info("%s: removed", l->dev->name);
		lun_unlink(ls, l);
		return;
	}
}

void lun_stop_all(struct luns *ls)
{
	struct lun *l;

	/* Every ring's commands to the pool first: they run together. */
	for (l = ls->list; l; l = l->next)
		lun_drain(ls, l);
	while ((l = ls->list)) {
		ls->list = l->next;
		pool_ring_quiesce(&l->pr);
		log_info("%s: released", l->dev->name);
		lun_free(l);
	}
}

static int scan_one(void *arg, int minor, const char *name)
{
	int r = lun_add(arg, minor, name, true);

	/* A refused device is logged; the others are still served. */
	(void)r;
	return 0;
}

unsigned int lun_count(const struct luns *ls)
{
	const struct lun *l;
	unsigned int n = 0;

	for (l = ls->list; l; l = l->next)
		n++;
	return n;
}

bool lun_ready(void *arg)
{
	struct luns *ls = arg;
	struct lun *l;

	for (l = ls->list; l; l = l->next)
		if (!l->stopped && ring_has_new(&l->uio.ring))
			return true;
	return pool_ready(ls->pool);
}

int lun_scan(struct luns *ls)
{
	return uio_scan(scan_one, ls);
}

static bool event_ours(const struct tnl_event *ev, struct uio_name *id)
{
	return ev->device && !uio_parse_name(ev->device, id) &&
	       !strcmp(id->subtype, UIO_SUBTYPE);
}

/* A new dev_config: "snapcow/<cfgstring>", the subtype unchanged. */
static int lun_reconfig_cfg(struct luns *ls, struct lun *l, const char *dev_cfg)
{
	const size_t n = strlen(UIO_SUBTYPE);
	char err[PATH_MAX + 512], old[PATH_MAX];
	int r;

	if (strncmp(dev_cfg, UIO_SUBTYPE "/", n + 1)) {
		log_err("%s: new dev_config '%s' refused: the subtype must stay %s",
			l->dev->name, dev_cfg, UIO_SUBTYPE);
		return -EINVAL;
	}
	snprintf(old, sizeof(old), "%s", l->dev->cfgstring);
	r = device_reconfig(l->dev, ls->policy, dev_cfg + n + 1, err,
			    sizeof(err));
	if (r)
		log_err("new dev_config '%s' refused: %s", dev_cfg, err);
	else if (strcmp(old, l->dev->cfgstring))
		log_info("%s: now serving %s (was %s)", l->dev->name,
			 l->dev->cfgstring, old);
	return r;
}

static int lun_reconfig(struct luns *ls, struct lun *l,
			const struct tnl_event *ev)
{
	char err[256];
	int r;

	/*
	 * No command runs while the device changes under it, and none is
	 * taken from the ring until the kernel has its answer: a new
	 * snapshot takes effect at one point in the command stream.
	 */
	pool_ring_quiesce(&l->pr);
	if (ev->dev_cfg)
		return lun_reconfig_cfg(ls, l, ev->dev_cfg);
	if (ev->has_dev_size) {
		r = device_resize(l->dev, ev->dev_size, err, sizeof(err));
		if (r)
			log_err("%s", err);
		else
			log_info("%s: now %" PRIu64 " bytes", l->dev->name,
				 ev->dev_size);
		return r;
	}
	if (ev->write_cache >= 0) {
		device_set_write_back(l->dev, ev->write_cache);
		log_info("%s: write cache %s", l->dev->name,
			 ev->write_cache ? "on" : "off (write-through)");
	}
	return 0;
}

int lun_event(void *arg, const struct tnl_event *ev)
{
	struct luns *ls = arg;
	struct uio_name id;
	struct lun *l;

	if (!event_ours(ev, &id))
		return 1;
	switch (ev->cmd) {
	case TCMU_CMD_ADDED_DEVICE:
		if (ev->minor < 0)
			return -EINVAL;
		return lun_add(ls, ev->minor, ev->device, false);
	case TCMU_CMD_REMOVED_DEVICE:
		lun_remove(ls, ev->minor);
		return 0;
	case TCMU_CMD_RECONFIG_DEVICE:
		l = lun_find(ls, ev->minor);
		if (!l)
			return -ENODEV;
		return lun_reconfig(ls, l, ev);
	default:
		return 1;
	}
}
