/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snapcowd's own object on the system bus, for `snapctl list` and
 * `snapctl status --served` (snapcowd(8), "D-BUS INTERFACE"): the name
 * org.snapcow.Daemon1, owned beside org.kernel.TCMUService1 (and also
 * when tcmu-runner owns that one), object /org/snapcow/Daemon1,
 * interface org.snapcow.Daemon1:
 *   ListDevices() -> s     a JSON array: one `snapctl list` row for
 *                          every snapshot served
 *   GetDevice(s vol, s cow) -> s
 *                          VOL's status document (served.h); errors
 *                          org.snapcow.Daemon1.Error.NoSuchDevice,
 *                          .NoSuchSnapshot, .Ambiguous
 *   Version (s, const)     the daemon's version
 * JSON text rather than D-Bus structs: the document is built by the
 * library code the offline status uses, so both print the same bytes
 * and a field added there reaches snapctl without a second mapping.
 *
 * Its own connection, on the main thread: the fd goes into the epoll.
 */
#ifndef SNAPCOWD_DBUS_STATUS_H
#define SNAPCOWD_DBUS_STATUS_H

#include <stddef.h>

#define STATUS_SERVICE		"org.snapcow.Daemon1"
#define STATUS_PATH		"/org/snapcow/Daemon1"
#define STATUS_INTERFACE	"org.snapcow.Daemon1"
#define STATUS_ERROR		STATUS_INTERFACE ".Error"

struct dbus_status;
struct sd_bus;

/*
 * Connect to the system bus (DBUS_SYSTEM_BUS_ADDRESS when set), export
 * the object and claim the name.  0 or -errno with @err saying why.
 */
int dbus_status_open(struct dbus_status **out, char *err, size_t len);
void dbus_status_close(struct dbus_status *s);
int dbus_status_fd(struct dbus_status *s);
unsigned int dbus_status_events(struct dbus_status *s);
/* Run every queued message; 0 or -errno (the connection is gone). */
int dbus_status_process(struct dbus_status *s);

/* For any sd-bus connection: EPOLLIN / EPOLLOUT as @bus wants them. */
unsigned int dbus_poll_events(struct sd_bus *bus);
/* Every queued message of @bus; 0 or -errno. */
int dbus_bus_process(struct sd_bus *bus);

#endif /* SNAPCOWD_DBUS_STATUS_H */
