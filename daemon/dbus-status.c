// SPDX-License-Identifier: GPL-2.0-or-later
/* snapcowd's status object on the system bus (see dbus-status.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <systemd/sd-bus.h>

#include "dbus-status.h"
#include "log.h"
#include "served.h"

struct dbus_status {
	sd_bus *bus;
	sd_bus_slot *slot;
};

static const char *const refusal_error[] = {
	[SERVED_NO_DEVICE] = STATUS_ERROR ".NoSuchDevice",
	[SERVED_NO_SNAPSHOT] = STATUS_ERROR ".NoSuchSnapshot",
	[SERVED_AMBIGUOUS] = STATUS_ERROR ".Ambiguous",
};

static int reply_text(sd_bus_message *m, sd_bus_error *error, int r,
		      char *text, const char *why)
{
	if (r > 0)
		r = sd_bus_error_set(error, refusal_error[r], why);
	else if (r == 0)
		r = sd_bus_reply_method_return(m, "s", text);
	free(text);
	return r;
}

static int method_list(sd_bus_message *m, void *userdata,
		       sd_bus_error *error)
{
	char *text;
	int r;

	(void)userdata;
	r = served_list_json(&text);
	return reply_text(m, error, r, text, NULL);
}

static int method_get(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *vol, *cow;
	char why[PATH_MAX + 512], *text = NULL;
	int r;

	(void)userdata;
	r = sd_bus_message_read(m, "ss", &vol, &cow);
	if (r < 0)
		return r;
	r = served_status_json(vol, cow, &text, why, sizeof(why));
	log_debug("D-Bus GetDevice('%s', '%s'): %s", vol, cow,
		  r ? why : "sent");
	return reply_text(m, error, r, text, why);
}

static int get_version(sd_bus *bus, const char *path, const char *interface,
		       const char *property, sd_bus_message *reply,
		       void *userdata, sd_bus_error *error)
{
	(void)bus, (void)path, (void)interface, (void)property;
	(void)userdata, (void)error;
	return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

/* Callers are restricted by the bus policy (snapcowd-dbus.conf). */
static const sd_bus_vtable status_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Version", "s", get_version, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_METHOD("ListDevices", "", "s", method_list,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("GetDevice", "ss", "s", method_get,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

int dbus_status_open(struct dbus_status **out, char *err, size_t len)
{
	struct dbus_status *s;
	const char *step = "no system bus";
	int r;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = sd_bus_open_system(&s->bus);
	if (r >= 0) {
		step = "exporting " STATUS_PATH;
		r = sd_bus_add_object_vtable(s->bus, &s->slot, STATUS_PATH,
					     STATUS_INTERFACE, status_vtable,
					     s);
	}
	if (r >= 0) {
		step = "cannot own " STATUS_SERVICE;
		r = sd_bus_request_name(s->bus, STATUS_SERVICE, 0);
	}
	if (r < 0) {
		snprintf(err, len, "D-Bus: %s: %s", step, strerror(-r));
		dbus_status_close(s);
		return r;
	}
	*out = s;
	return 0;
}

void dbus_status_close(struct dbus_status *s)
{
	if (!s)
		return;
	sd_bus_slot_unref(s->slot);
	sd_bus_flush_close_unref(s->bus);
	free(s);
}

int dbus_status_fd(struct dbus_status *s)
{
	return sd_bus_get_fd(s->bus);
}

unsigned int dbus_poll_events(struct sd_bus *bus)
{
	int ev = sd_bus_get_events(bus);
	unsigned int e = 0;

	if (ev > 0 && (ev & POLLIN))
		e |= EPOLLIN;
	if (ev > 0 && (ev & POLLOUT))
		e |= EPOLLOUT;
	return e ? e : EPOLLIN;
}

unsigned int dbus_status_events(struct dbus_status *s)
{
	return dbus_poll_events(s->bus);
}

int dbus_bus_process(struct sd_bus *bus)
{
	int r;

	do
		r = sd_bus_process(bus, NULL);
	while (r > 0);
	return r;
}

int dbus_status_process(struct dbus_status *s)
{
	return dbus_bus_process(s->bus);
}
