// SPDX-License-Identifier: GPL-2.0-or-later
/* snapcowd as a handler registered with tcmu-runner (see dbus-register.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbus-register.h"
#include "log.h"

#define RUNNER		"org.kernel.TCMUService1"
#define MANAGER_PATH	"/org/kernel/TCMUService1/HandlerManager1"
#define MANAGER_IFACE	"org.kernel.TCMUService1.HandlerManager1"

#define OWNER_MATCH \
	"type='signal',sender='org.freedesktop.DBus'," \
	"path='/org/freedesktop/DBus',interface='org.freedesktop.DBus'," \
	"member='NameOwnerChanged',arg0='" RUNNER "'"

struct dbus_register {
	sd_bus *bus;
	sd_bus_slot *object;	/* our handler object */
	sd_bus_slot *watch;	/* NameOwnerChanged of RUNNER */
	sd_bus_slot *call;	/* RegisterHandler in flight */
	const char *cfg_desc;
};

static int on_registered(sd_bus_message *m, void *userdata,
			 sd_bus_error *error)
{
	struct dbus_register *r = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	const char *why = "";
	int ok = 0;

	(void)error;
	r->call = sd_bus_slot_unref(r->call);
	if (!e && sd_bus_message_read(m, "bs", &ok, &why) < 0)
		why = "unreadable answer";
	if (e)
		why = e->message ? e->message : e->name;
	if (ok)
		log_info("D-Bus: registered with %s (tcmu-runner) as handler %s: targetcli lists user:%s",
			 RUNNER, DBUS_REG_NAME, DBUS_REG_SUBTYPE);
	else
		log_warn("D-Bus: RegisterHandler(%s) refused by %s: %s; targetcli will not list user:%s",
			 DBUS_REG_SUBTYPE, RUNNER, why, DBUS_REG_SUBTYPE);
	return 0;
}

static void register_handler(struct dbus_register *r)
{
	int e;

	r->call = sd_bus_slot_unref(r->call);
	e = sd_bus_call_method_async(r->bus, &r->call, RUNNER, MANAGER_PATH,
				     MANAGER_IFACE, "RegisterHandler",
				     on_registered, r, "ss", DBUS_REG_SUBTYPE,
				     r->cfg_desc);
	if (e < 0)
		log_warn("D-Bus: calling RegisterHandler on %s: %s", RUNNER,
			 strerror(-e));
}

/* A new tcmu-runner knows no handler: register with each new owner. */
static int on_owner_changed(sd_bus_message *m, void *userdata,
			    sd_bus_error *error)
{
	struct dbus_register *r = userdata;
	const char *name, *old, *owner;

	(void)error;
	if (sd_bus_message_read(m, "sss", &name, &old, &owner) < 0)
		return 0;
	if (!*owner) {
		log_warn("D-Bus: %s left the bus (tcmu-runner stopped?): no user:%s in targetcli until it is back",
			 name, DBUS_REG_SUBTYPE);
		return 0;
	}
	log_info("D-Bus: %s is now owned by %s (tcmu-runner restarted?): registering again",
		 name, owner);
	register_handler(r);
	return 0;
}

int dbus_register_open(struct dbus_register **out, sd_bus *bus,
		       const sd_bus_vtable *vtable, void *userdata,
		       const char *cfg_desc, char *err, size_t len)
{
	struct dbus_register *r = calloc(1, sizeof(*r));
	const char *what;
	int e;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->bus = bus;
	r->cfg_desc = cfg_desc;
	what = "exporting " DBUS_REG_PATH;
	e = sd_bus_add_object_vtable(bus, &r->object, DBUS_REG_PATH, RUNNER,
				     vtable, userdata);
	if (e >= 0) {
		what = "watching " RUNNER;
		e = sd_bus_add_match(bus, &r->watch, OWNER_MATCH,
				     on_owner_changed, r);
	}
	if (e >= 0) {
		what = "owning " DBUS_REG_NAME;
		e = sd_bus_request_name(bus, DBUS_REG_NAME, 0);
	}
	if (e < 0) {
		snprintf(err, len, "D-Bus: %s: %s", what, strerror(-e));
		dbus_register_close(r);
		return e;
	}
	log_info("D-Bus: %s is taken (tcmu-runner runs): %s owned, registering handler %s with it",
		 RUNNER, DBUS_REG_NAME, DBUS_REG_SUBTYPE);
	register_handler(r);
	*out = r;
	return 0;
}

void dbus_register_close(struct dbus_register *r)
{
	if (!r)
		return;
	sd_bus_slot_unref(r->call);
	sd_bus_slot_unref(r->watch);
	sd_bus_slot_unref(r->object);
	free(r);
}
