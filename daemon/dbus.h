/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snapcowd on the system D-Bus as targetcli expects a TCMU handler
 * daemon: the name org.kernel.TCMUService1, an ObjectManager at
 * /org/kernel/TCMUService1 and one object per handler
 * (/org/kernel/TCMUService1/snapcow) with the interface
 * org.kernel.TCMUService1: property ConfigDesc (s), method
 * CheckConfig(s "snapcow/<cfgstring>") -> (b ok, s reason).  tcmu-runner
 * provides the same interface for its handlers; targetcli lists a
 * `user:<subtype>` backstore for each object and refuses a `create` whose
 * CheckConfig says false, printing the reason.  When tcmu-runner owns the
 * name, snapcowd registers with it instead (dbus-register.h).
 *
 * sd-bus, on the main thread only: the fd goes into the daemon's epoll.
 */
#ifndef SNAPCOWD_DBUS_H
#define SNAPCOWD_DBUS_H

#include <stdbool.h>
#include <stddef.h>

#include "cfgstring.h"

#define DBUS_SERVICE	"org.kernel.TCMUService1"
#define DBUS_ROOT	"/org/kernel/TCMUService1"
#define DBUS_HANDLER	DBUS_ROOT "/snapcow"

struct dbus_service;

/*
 * Connect to the system bus (DBUS_SYSTEM_BUS_ADDRESS when set), export
 * the objects and claim the name; when another daemon (tcmu-runner) owns
 * it, register with that one instead.  Returns 0 or -errno with @err
 * saying why.  @policy is what CheckConfig applies.
 */
int dbus_service_open(struct dbus_service **out, const struct policy *policy,
		      char *err, size_t len);
void dbus_service_close(struct dbus_service *d);
/* The fd to poll, and the events to poll it for (EPOLLIN / EPOLLOUT). */
int dbus_service_fd(struct dbus_service *d);
unsigned int dbus_service_events(struct dbus_service *d);
/* Run every queued message; 0 or -errno (the connection is gone). */
int dbus_service_process(struct dbus_service *d);

/*
 * The CheckConfig verdict for @config ("snapcow/<cfgstring>"): true, or
 * false with @reason (the same message a device add would log).
 */
bool dbus_check_config(const struct policy *policy, const char *config,
		       char *reason, size_t len);

#endif /* SNAPCOWD_DBUS_H */
