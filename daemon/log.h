/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snapcowd's log: one line per event on stderr, with a syslog priority
 * prefix ("<3>") that journald turns into the entry's priority.
 */
#ifndef SNAPCOWD_LOG_H
#define SNAPCOWD_LOG_H

#include <syslog.h>

extern int log_level;	/* LOG_INFO, or LOG_DEBUG with --verbose */

void logmsg(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)	logmsg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	logmsg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	logmsg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	logmsg(LOG_DEBUG, __VA_ARGS__)

#endif /* SNAPCOWD_LOG_H */
