// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * TCM-USER generic netlink through libnl-genl-3 (see netlink.h).  Two
 * sockets: one subscribed to the "config" group, polled by the event
 * loop, and one for requests, each sent and acknowledged synchronously
 * (SET_FEATURES, the *_DONE answers), so that an acknowledgement is
 * never mistaken for an event.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "log.h"
#include "netlink.h"
#include "tcmu.h"

#define TCMU_FAMILY	"TCM-USER"
#define TCMU_GROUP	"config"
#define TCMU_NL_VERSION	2

struct tnl {
	struct nl_sock *ev;
	struct nl_sock *req;
	int family;
	tnl_handler fn;
	void *arg;
};

static struct nla_policy tcmu_policy[TCMU_ATTR_MAX + 1] = {
	[TCMU_ATTR_DEVICE] = { .type = NLA_STRING },
	[TCMU_ATTR_MINOR] = { .type = NLA_U32 },
	[TCMU_ATTR_DEV_CFG] = { .type = NLA_STRING },
	[TCMU_ATTR_DEV_SIZE] = { .type = NLA_U64 },
	[TCMU_ATTR_WRITECACHE] = { .type = NLA_U8 },
	[TCMU_ATTR_CMD_STATUS] = { .type = NLA_S32 },
	[TCMU_ATTR_DEVICE_ID] = { .type = NLA_U32 },
	[TCMU_ATTR_SUPP_KERN_CMD_REPLY] = { .type = NLA_U8 },
};

static int nl_errno(int nlerr)
{
	switch (-nlerr) {
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_PERM:
		return -EPERM;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_AGAIN:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

/* A request to the kernel, acknowledged before returning. */
static int tnl_request(struct tnl *t, uint8_t cmd,
		       int (*fill)(struct nl_msg *msg, const void *arg),
		       const void *arg)
{
	struct nl_msg *msg = nlmsg_alloc();
	int r;

	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, t->family, 0, 0,
			 cmd, TCMU_NL_VERSION) || fill(msg, arg) < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	r = nl_send_sync(t->req, msg);	/* frees msg */
	return r < 0 ? nl_errno(r) : 0;
}

static int fill_features(struct nl_msg *msg, const void *arg)
{
	(void)arg;
	return nla_put_u8(msg, TCMU_ATTR_SUPP_KERN_CMD_REPLY, 1);
}

struct done_args {
	uint32_t dev_id;
	int32_t status;
};

static int fill_done(struct nl_msg *msg, const void *arg)
{
	const struct done_args *a = arg;

	if (nla_put_s32(msg, TCMU_ATTR_CMD_STATUS, a->status) < 0)
		return -1;
	return nla_put_u32(msg, TCMU_ATTR_DEVICE_ID, a->dev_id);
}

static int done_cmd(int cmd)
{
	switch (cmd) {
	case TCMU_CMD_ADDED_DEVICE:
		return TCMU_CMD_ADDED_DEVICE_DONE;
	case TCMU_CMD_REMOVED_DEVICE:
		return TCMU_CMD_REMOVED_DEVICE_DONE;
	case TCMU_CMD_RECONFIG_DEVICE:
		return TCMU_CMD_RECONFIG_DEVICE_DONE;
	default:
		return 0;
	}
}

static void tnl_parse(struct nlattr **a, struct tnl_event *ev)
{
	ev->device = a[TCMU_ATTR_DEVICE] ? nla_get_string(a[TCMU_ATTR_DEVICE]) :
					   NULL;
	ev->minor = a[TCMU_ATTR_MINOR] ? (int)nla_get_u32(a[TCMU_ATTR_MINOR]) :
					 -1;
	ev->has_dev_id = a[TCMU_ATTR_DEVICE_ID] != NULL;
	ev->dev_id = ev->has_dev_id ? nla_get_u32(a[TCMU_ATTR_DEVICE_ID]) : 0;
	ev->dev_cfg = a[TCMU_ATTR_DEV_CFG] ?
		      nla_get_string(a[TCMU_ATTR_DEV_CFG]) : NULL;
	ev->has_dev_size = a[TCMU_ATTR_DEV_SIZE] != NULL;
	ev->dev_size = ev->has_dev_size ?
		       nla_get_u64(a[TCMU_ATTR_DEV_SIZE]) : 0;
	ev->write_cache = a[TCMU_ATTR_WRITECACHE] ?
			  nla_get_u8(a[TCMU_ATTR_WRITECACHE]) : -1;
}

static const char *cmd_name(int cmd)
{
	switch (cmd) {
	case TCMU_CMD_ADDED_DEVICE:
		return "ADDED_DEVICE";
	case TCMU_CMD_REMOVED_DEVICE:
		return "REMOVED_DEVICE";
	case TCMU_CMD_RECONFIG_DEVICE:
		return "RECONFIG_DEVICE";
	default:
		return "an unknown command";
	}
}

/*
 * The kernel took no answer from us: it waits for one answer per
 * command and takes the first.  ENODEV: nothing waited (the backstore
 * has nl_reply_supported=-1, or another TCMU daemon answered first:
 * tcmu-runner answers every subtype, ENOENT for ours, and an enable
 * then fails with its answer, not ours).  EINVAL: it waited for another
 * command.
 */
static void answer_refused(const struct tnl_event *ev, int status, int r)
{
	const char *dev = ev->device ? ev->device : "?";

	if (r == -ENODEV)
		log_warn("netlink: the kernel was not waiting for our answer to %s of %s (status %d): another TCMU daemon (tcmu-runner?) answered first, or the backstore has nl_reply_supported=-1; its result is not ours (snapcowd(8), WITH TCMU-RUNNER)",
			 cmd_name(ev->cmd), dev, status);
	else
		log_err("netlink: the kernel refused our answer to %s of %s (device id %u, status %d): %s",
			cmd_name(ev->cmd), dev, ev->dev_id, status,
			strerror(-r));
}

static int tnl_event(struct nl_msg *msg, void *arg)
{
	struct tnl *t = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *g = nlmsg_data(nlh);
	struct nlattr *a[TCMU_ATTR_MAX + 1];
	struct tnl_event ev = { 0 };
	struct done_args done;
	int r;

	if (nlh->nlmsg_type != t->family)
		return NL_SKIP;
	r = genlmsg_parse(nlh, 0, a, TCMU_ATTR_MAX, tcmu_policy);
	if (r < 0) {
		log_err("netlink: unparsable TCM-USER message: %s",
			nl_geterror(r));
		return NL_SKIP;
	}
	ev.cmd = g->cmd;
	tnl_parse(a, &ev);
	r = t->fn(t->arg, &ev);
	if (r > 0 || !done_cmd(ev.cmd))
		return NL_OK;
	if (!ev.has_dev_id) {
		log_err("netlink: event %d without a device id: no answer",
			ev.cmd);
		return NL_OK;
	}
	done.dev_id = ev.dev_id;
	done.status = r;
	r = tnl_request(t, (uint8_t)done_cmd(ev.cmd), fill_done, &done);
	if (r)
		answer_refused(&ev, done.status, r);
	return NL_OK;
}

static int tnl_setup(struct tnl *t, char *err, size_t len)
{
	int grp, r;

	t->ev = nl_socket_alloc();
	t->req = nl_socket_alloc();
	if (!t->ev || !t->req)
		return -ENOMEM;
	if ((r = genl_connect(t->ev)) < 0 || (r = genl_connect(t->req)) < 0) {
		snprintf(err, len, "netlink: %s", nl_geterror(r));
		return nl_errno(r);
	}
	t->family = genl_ctrl_resolve(t->req, TCMU_FAMILY);
	if (t->family < 0) {
		snprintf(err, len,
			 "netlink family %s not found: is target_core_user loaded (modprobe target_core_user)?",
			 TCMU_FAMILY);
		return -ENOENT;
	}
	grp = genl_ctrl_resolve_grp(t->req, TCMU_FAMILY, TCMU_GROUP);
	if (grp < 0) {
		snprintf(err, len, "netlink group %s/%s: %s", TCMU_FAMILY,
			 TCMU_GROUP, nl_geterror(grp));
		return nl_errno(grp);
	}
	nl_socket_disable_seq_check(t->ev);
	nl_socket_modify_cb(t->ev, NL_CB_VALID, NL_CB_CUSTOM, tnl_event, t);
	if ((r = nl_socket_add_membership(t->ev, grp)) < 0 ||
	    (r = nl_socket_set_nonblocking(t->ev)) < 0) {
		snprintf(err, len, "netlink subscription: %s",
			 nl_geterror(r));
		return nl_errno(r);
	}
	return 0;
}

int tnl_open(struct tnl **out, tnl_handler fn, void *arg, char *err,
	     size_t len)
{
	struct tnl *t = calloc(1, sizeof(*t));
	int r;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	t->fn = fn;
	t->arg = arg;
	r = tnl_setup(t, err, len);
	if (!r) {
		/* Subscribed first: no device added from now on is missed. */
		r = tnl_request(t, TCMU_CMD_SET_FEATURES, fill_features, NULL);
		if (r)
			snprintf(err, len, "netlink SET_FEATURES: %s",
				 strerror(-r));
	}
	if (r) {
		tnl_close(t);
		return r;
	}
	*out = t;
	return 0;
}

void tnl_close(struct tnl *t)
{
	if (!t)
		return;
	nl_socket_free(t->ev);
	nl_socket_free(t->req);
	free(t);
}

int tnl_fd(const struct tnl *t)
{
	return nl_socket_get_fd(t->ev);
}

int tnl_dispatch(struct tnl *t)
{
	int r;

	for (;;) {
		r = nl_recvmsgs_default(t->ev);
		if (r == -NLE_AGAIN)
			return 0;
		if (r < 0) {
			/* ENOBUFS: events were dropped; say so, keep going. */
			log_err("netlink: %s", nl_geterror(r));
			return nl_errno(r);
		}
	}
}
