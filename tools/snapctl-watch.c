// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapctl status --live --watch NAME: print the snapshot's live status
 * each time its usage or state changes, for monitoring, until the device
 * goes away; with --threshold PCT, exit 0 once usage reaches PCT so a
 * script can extend or drop the snapshot in time.
 *
 * It waits in the kernel's DM_DEV_WAIT (no busy loop): that returns at
 * once on the events dm-snapshot raises (invalidation, merge end).  Usage
 * grows without an event, so a timer (--interval) interrupts the wait
 * with SIGALRM and the status is read again, as dmeventd's snapshot
 * plugin polls on a timeout.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "common.h"
#include "snapctl.h"

static void on_alarm(int sig)
{
	(void)sig;
}

/* SIGALRM every @interval seconds, without SA_RESTART: it ends a wait. */
static int start_timer(double interval)
{
	struct sigaction sa;
	struct itimerval it;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) < 0)
		return -errno;
	it.it_interval.tv_sec = (time_t)interval;
	it.it_interval.tv_usec = (suseconds_t)((interval -
					       (double)it.it_interval.tv_sec) *
					      1e6);
	it.it_value = it.it_interval;
	return setitimer(ITIMER_REAL, &it, NULL) < 0 ? -errno : 0;
}

static bool changed(const struct snapcow_dm_status *a,
		    const struct snapcow_dm_status *b)
{
	return strcmp(a->line, b->line) || a->state != b->state ||
	       strcmp(a->target, b->target);
}

static bool reached(const struct snapcow_dm_status *st, double pct)
{
	return pct >= 0 && st->has_usage && st->cow_sectors &&
	       (double)st->sectors_allocated * 100.0 >=
	       pct * (double)st->cow_sectors;
}

/* @what: the message's start, "cannot read..." or "stopped watching". */
static int read_status(const char *name, const char *snap,
		       struct snapcow_dm_status *st, const char *what)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	int r = snapcow_dm_status(name, snap, st, err, sizeof(err));

	if (r < 0)
		lib_error(r, err, "%s %s", what, snap ?: name);
	return r;
}

int watch_live(const char *name, const char *snap, const struct watch_opts *o)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	struct snapcow_dm_status st, last;
	uint32_t event_nr;
	int r;

	r = read_status(name, snap, &last, "cannot read the live status of");
	r = r ?: print_live(&last, o->json);
	if (r < 0 || reached(&last, o->threshold))
		return r;
	r = start_timer(o->interval);
	if (r < 0) {
		error_msg("cannot start the --interval timer: %s",
			  strerror(-r));
		return r;
	}
	event_nr = last.event_nr;
	for (;;) {
		r = snapcow_dm_wait_event(name, snap, &event_nr, err,
					  sizeof(err));
		if (r < 0 && r != -EINTR) {
			lib_error(r, err, "stopped watching %s", snap ?: name);
			return r;
		}
		r = read_status(name, snap, &st, "stopped watching");
		if (r < 0)
			return r;
		if (!changed(&st, &last))
			continue;
		r = print_live(&st, o->json);
		if (r < 0 || reached(&st, o->threshold))
			return r;
		last = st;
	}
}
