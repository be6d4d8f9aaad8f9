/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A private D-Bus for the daemon's bus tests: dbus-daemon --session on a
 * socket in the test's directory, given to sd-bus as the system bus
 * (DBUS_SYSTEM_BUS_ADDRESS), so no system bus and no root policy is
 * needed.
 */
#ifndef SNAPCOW_TESTBUS_H
#define SNAPCOW_TESTBUS_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Start it on @dir/bus: its pid, or -1 (no dbus-daemon installed). */
static inline pid_t testbus_start(const char *dir, char *addr, size_t len)
{
	int fds[2];
	ssize_t n;
	pid_t pid;

	if (access("/usr/bin/dbus-daemon", X_OK) || pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		char path[PATH_MAX + 32];

		snprintf(path, sizeof(path), "--address=unix:path=%s/bus", dir);
		dup2(fds[1], 1);
		execl("/usr/bin/dbus-daemon", "dbus-daemon", "--session",
		      "--nofork", "--print-address=1", path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], addr, len - 1);
	close(fds[0]);
	if (n <= 0)
		return -1;
	addr[n] = '\0';
	addr[strcspn(addr, "\n")] = '\0';
	setenv("DBUS_SYSTEM_BUS_ADDRESS", addr, 1);
	return pid;
}

static inline void testbus_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

#endif /* SNAPCOW_TESTBUS_H */
