// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapcowd: the TCMU handler for user backstores of subtype snapcow.
 * One process for all devices, in the foreground (systemd Type=notify),
 * logging to stderr.  One epoll loop: signals (signalfd), TCM-USER
 * netlink events, and each served device's uio fd; the commands it takes
 * from the rings run on a pool of worker threads (pool.h).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <popt.h>
#include <systemd/sd-daemon.h>

#include "cfgstring.h"
#include "dbus.h"
#include "dbus-status.h"
#include "log.h"
#include "loop.h"
#include "lun.h"
#include "netlink.h"

#define DEFAULT_CONFIG	"/etc/snapcow/snapcowd.conf"

#define SNAPCOWD_XSTR(x)	#x
#define SNAPCOWD_STR(x)		SNAPCOWD_XSTR(x)

/* epoll tags for the fds that are not LUNs. */
static char tag_signal, tag_netlink, tag_dbus, tag_status, tag_uring;

struct options {
	char *config;		/* NULL: the default file */
	int verbose;
	int workers;		/* threads running commands; 0: main thread */
	int no_uring;		/* every command on the workers */
	int poll;		/* poll the rings before sleeping */
};

static int parse_workers(const char *s, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < 0 || n > POOL_WORKERS_MAX) {
		fprintf(stderr,
			"snapcowd: --workers %s: not a number from 0 to %d\n",
			s, POOL_WORKERS_MAX);
		return -EINVAL;
	}
	*out = (int)n;
	return 0;
}

static int parse_args(int argc, const char **argv, struct options *o,
		      struct policy *policy)
{
	char *allow = NULL, *workers = NULL, err[PATH_MAX + 128];
	struct poptOption table[] = {
		{ "config", 'c', POPT_ARG_STRING, &o->config, 'c',
		  "configuration file (default " DEFAULT_CONFIG ")", "FILE" },
		{ "allow", 'a', POPT_ARG_STRING, &allow, 'a',
		  "serve image files inside DIR (repeatable)", "DIR" },
		{ "workers", 'w', POPT_ARG_STRING, &workers, 'w',
		  "threads running commands (default "
		  SNAPCOWD_STR(POOL_WORKERS_DEFAULT) "; 0: one at a time)",
		  "N" },
		{ "no-io-uring", 0, POPT_ARG_NONE, &o->no_uring, 0,
		  "run every command on the worker threads (no io_uring)",
		  NULL },
		{ "poll", 0, POPT_ARG_NONE, &o->poll, 0,
		  "while commands come back to back, watch the rings for up to 50 us before sleeping",
		  NULL },
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
		} else if (c == 'w') {
			r = parse_workers(workers, &o->workers);
			free(workers);
			workers = NULL;
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

/* After a connection's messages: wait for what sd-bus wants next. */
static void bus_rearm(struct luns *ls, int fd, int r, unsigned int events,
		      void *tag, const char *name)
{
	struct epoll_event ev = { .events = events, .data.ptr = tag };

	if (r < 0) {
		log_err("D-Bus: %s: %s: no longer on the bus", name,
			strerror(-r));
		epoll_ctl(ls->epfd, EPOLL_CTL_DEL, fd, NULL);
		return;
	}
	epoll_ctl(ls->epfd, EPOLL_CTL_MOD, fd, &ev);
}

static void on_dbus(struct luns *ls, struct dbus_service *db)
{
	int r = dbus_service_process(db);

	bus_rearm(ls, dbus_service_fd(db), r, dbus_service_events(db),
		  &tag_dbus, DBUS_SERVICE);
}

static void on_status(struct luns *ls, struct dbus_status *st)
{
	int r = dbus_status_process(st);

	bus_rearm(ls, dbus_status_fd(st), r, dbus_status_events(st),
		  &tag_status, STATUS_SERVICE);
}

/* systemd's STATUS=, whenever the number of LUNs served changed. */
static void notify_count(const struct luns *ls)
{
	static unsigned int told = -1u;
	unsigned int n = lun_count(ls);

	if (n == told)
		return;
	sd_notifyf(0, "STATUS=serving %u device%s", n, n == 1 ? "" : "s");
	told = n;
}

/*
 * systemd's watchdog (WatchdogSec=): ping at half the interval, from the
 * loop that serves the rings, so a stuck loop gets the daemon restarted.
 * Returns the epoll timeout: -1 without a watchdog.
 */
static int watchdog_ping(void)
{
	static uint64_t interval_ms, last_ms;
	static int enabled = -1;
	struct timespec ts;
	uint64_t usec, now;

	if (enabled < 0) {
		enabled = sd_watchdog_enabled(0, &usec) > 0;
		interval_ms = enabled ? usec / 2000 : 0;
		if (enabled && !interval_ms)
			interval_ms = 1;
	}
	if (!enabled)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (now - last_ms >= interval_ms) {
		sd_notify(0, "WATCHDOG=1");
		last_ms = now;
	}
	return (int)interval_ms;
}

static int run(struct luns *ls, struct tnl *nl, struct dbus_service *db,
	       struct dbus_status *st, int sigfd, bool poll)
{
	struct loop_poll lp = { .enabled = poll };
	struct epoll_event evs[32];
	int i, n;

	for (;;) {
		n = loop_wait(&lp, ls->epfd, evs, 32, watchdog_ping(),
			      lun_ready, ls);
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
				notify_count(ls);
			} else if (p == &tag_dbus) {
				on_dbus(ls, db);
			} else if (p == &tag_status) {
				on_status(ls, st);
			} else if (p == &tag_uring) {
				pool_reap(ls->pool);
			} else {
				lun_serve(ls, p);
			}
		}
	}
}

/*
 * Reads and writes that need no copy through io_uring, from this thread;
 * where io_uring is not built or not allowed, the workers run them all
 * (*@why: the reason, logged once the daemon has started).
 */
static int start_uring(struct luns *ls, const struct options *o, int *why)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &tag_uring };

	*why = 0;
	if (o->no_uring || !o->workers)
		return 0;
	*why = pool_use_uring(ls->pool, POOL_URING_ENTRIES);
	if (*why)
		return 0;
	if (epoll_ctl(ls->epfd, EPOLL_CTL_ADD, pool_event_fd(ls->pool),
		      &ev) < 0)
		return -errno;
	return 0;
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

/* A bus connection's fd into the loop; 0 or -errno, logged. */
static int bus_watch(struct luns *ls, int fd, unsigned int events, void *tag)
{
	struct epoll_event ev = { .events = events, .data.ptr = tag };
	int r = 0;

	if (epoll_ctl(ls->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		log_err("D-Bus: epoll: %s", strerror(-r));
	}
	return r;
}

/*
 * On the system bus for targetcli, on its own or registered with
 * tcmu-runner.  Not fatal: without a bus (a minimal system) devices are
 * still served when configured through configfs.
 */
static struct dbus_service *start_dbus(struct luns *ls,
				       const struct policy *policy)
{
	struct dbus_service *db;
	char err[256];
	int r;

	r = dbus_service_open(&db, policy, err, sizeof(err));
	if (r) {
		log_warn("%s; targetcli will not list user:snapcow", err);
		return NULL;
	}
	if (bus_watch(ls, dbus_service_fd(db), dbus_service_events(db),
		      &tag_dbus)) {
		dbus_service_close(db);
		return NULL;
	}
	return db;
}

/* For snapctl list and status --served; not fatal either. */
static struct dbus_status *start_status(struct luns *ls)
{
	struct dbus_status *st;
	char err[256];

	if (dbus_status_open(&st, err, sizeof(err))) {
		log_warn("%s; snapctl list will not see this daemon", err);
		return NULL;
	}
	if (bus_watch(ls, dbus_status_fd(st), dbus_status_events(st),
		      &tag_status)) {
		dbus_status_close(st);
		return NULL;
	}
	log_info("D-Bus: %s owned, status object %s", STATUS_SERVICE,
		 STATUS_PATH);
	return st;
}

int main(int argc, const char **argv)
{
	struct policy policy = { 0 };
	struct options o = { .workers = POOL_WORKERS_DEFAULT };
	struct luns ls = { .policy = &policy, .epfd = -1 };
	struct tnl *nl = NULL;
	struct dbus_service *db = NULL;
	struct dbus_status *st = NULL;
	char err[PATH_MAX + 128];
	int sigfd = -1, no_uring = 0, r;

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
	r = sigfd < 0 ? sigfd : pool_new((unsigned int)o.workers, &ls.pool);
	if (r)
		log_err("starting %d worker threads: %s", o.workers,
			strerror(-r));
	else
		r = start_uring(&ls, &o, &no_uring);
	if (!r)
		r = start(&ls, &nl);
	if (r)
		goto out;
	if (no_uring)
		log_info("io_uring not available (%s): every command runs on the worker threads",
			 strerror(-no_uring));
	db = start_dbus(&ls, &policy);
	st = start_status(&ls);
	log_info("ready (%d allowed image director%s, %u worker thread%s%s)",
		 policy.n_allow, policy.n_allow == 1 ? "y" : "ies",
		 pool_workers(ls.pool), pool_workers(ls.pool) == 1 ? "" : "s",
		 pool_uring(ls.pool) ? ", io_uring" : "");
	sd_notify(0, "READY=1");
	notify_count(&ls);
	r = run(&ls, nl, db, st, sigfd, o.poll);
	sd_notify(0, "STOPPING=1");
out:
	lun_stop_all(&ls);
	pool_free(ls.pool);
	dbus_status_close(st);
	dbus_service_close(db);
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
