// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapcowd: the TCMU handler for user backstores of subtype snapcow.
 * One process for all devices, in the foreground (systemd Type=notify),
 * logging to stderr.  One epoll loop: signals (signalfd), TCM-USER
 * netlink events, and each served device's uio fd.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <popt.h>
#include <systemd/sd-daemon.h>

#include "cfgstring.h"
#include "log.h"
#include "lun.h"
#include "netlink.h"

#define DEFAULT_CONFIG	"/etc/snapcow/snapcowd.conf"

/* epoll tags for the two fds that are not LUNs. */
static char tag_signal, tag_netlink;

struct options {
	char *config;		/* NULL: the default file */
	int verbose;
};

static int parse_args(int argc, const char **argv, struct options *o,
		      struct policy *policy)
{
	char *allow = NULL, err[PATH_MAX + 128];
	struct poptOption table[] = {
		{ "config", 'c', POPT_ARG_STRING, &o->config, 'c',
		  "configuration file (default " DEFAULT_CONFIG ")", "FILE" },
		{ "allow", 'a', POPT_ARG_STRING, &allow, 'a',
		  "serve image files inside DIR (repeatable)", "DIR" },
		{ "verbose", 'v', POPT_ARG_NONE, &o->verbose, 0,
		  "log every device event and TMR", NULL },
		{ "version", 'V', POPT_ARG_NONE, NULL, 'V',
		  "print the version and exit", NULL },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc;
	int c, r = 0;

	pc = poptGetContext("snapcowd", argc, argv, table, 0);
	while (!r && (c = poptGetNextOpt(pc)) > 0) {
		if (c == 'a') {
			r = policy_allow(policy, allow, err, sizeof(err));
			if (r)
				fprintf(stderr, "snapcowd: --allow: %s\n", err);
			free(allow);
			allow = NULL;
		} else if (c == 'V') {
			printf("snapcowd %s\n", PACKAGE_VERSION);
			poptFreeContext(pc);
			exit(0);
		}
	}
	if (!r && c < -1) {
		fprintf(stderr, "snapcowd: %s: %s\n",
			poptBadOption(pc, POPT_BADOPTION_NOALIAS),
			poptStrerror(c));
		r = -EINVAL;
	}
	if (!r && poptPeekArg(pc)) {
		fprintf(stderr, "snapcowd: unexpected argument '%s'\n",
			poptPeekArg(pc));
		r = -EINVAL;
	}
	poptFreeContext(pc);
	return r;
}

static int setup_signals(int epfd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &tag_signal };
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return fd;
}

/* Returns true when the daemon must stop. */
static bool on_signal(int fd)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("signal %u: stopping", si.ssi_signo);
			return true;
		}
		log_info("signal %u ignored", si.ssi_signo);
	}
	return false;
}

static int run(struct luns *ls, struct tnl *nl, int sigfd)
{
	struct epoll_event evs[32];
	int i, n;

	for (;;) {
		n = epoll_wait(ls->epfd, evs, 32, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &tag_signal) {
				if (on_signal(sigfd))
					return 0;
			} else if (p == &tag_netlink) {
				tnl_dispatch(nl);
			} else {
				lun_serve(ls, p);
			}
		}
	}
}

static int start(struct luns *ls, struct tnl **nl)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &tag_netlink };
	char err[256];
	int r;

	/* Subscribe before the scan, so no device added meanwhile is missed. */
	r = tnl_open(nl, lun_event, ls, err, sizeof(err));
	if (r) {
		log_err("%s", err);
		return r;
	}
	if (epoll_ctl(ls->epfd, EPOLL_CTL_ADD, tnl_fd(*nl), &ev) < 0)
		return -errno;
	r = lun_scan(ls);
	if (r)
		log_err("scanning /sys/class/uio: %s", strerror(-r));
	return r;
}

int main(int argc, const char **argv)
{
	struct policy policy = { 0 };
	struct options o = { 0 };
	struct luns ls = { .policy = &policy, .epfd = -1 };
	struct tnl *nl = NULL;
	char err[PATH_MAX + 128];
	int sigfd = -1, r;

	if (parse_args(argc, argv, &o, &policy))
		return 2;
	if (o.verbose)
		log_level = LOG_DEBUG;
	r = policy_load(&policy, o.config ? o.config : DEFAULT_CONFIG,
			o.config != NULL, err, sizeof(err));
	if (r) {
		log_err("%s", err);
		goto out;
	}
	ls.epfd = epoll_create1(EPOLL_CLOEXEC);
	sigfd = ls.epfd < 0 ? -errno : setup_signals(ls.epfd);
	r = sigfd < 0 ? sigfd : start(&ls, &nl);
	if (r)
		goto out;
	log_info("ready (%d allowed image director%s)", policy.n_allow,
		 policy.n_allow == 1 ? "y" : "ies");
	sd_notify(0, "READY=1");
	r = run(&ls, nl, sigfd);
	sd_notify(0, "STOPPING=1");
out:
	lun_stop_all(&ls);
	tnl_close(nl);
	if (sigfd >= 0)
		close(sigfd);
	if (ls.epfd >= 0)
		close(ls.epfd);
	policy_free(&policy);
	free(o.config);
	if (r)
		log_err("exiting: %s", strerror(-r));
	return r ? 1 : 0;
}
