// SPDX-License-Identifier: GPL-2.0-or-later
/* snapcowd's D-Bus service for targetcli (see dbus.h). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <systemd/sd-bus.h>

#include "dbus-register.h"
#include "dbus.h"
#include "dbus-status.h"
#include "log.h"

#define SUBTYPE_PREFIX	"snapcow/"

/* What `targetcli /backstores/user:snapcow help create` prints. */
static const char config_desc[] =
	"origin=PATH[;cow=COW]... serves PATH, copying each chunk into "
	"every COW before its first write; snapshot=COW;origin=PATH serves "
	"the snapshot kept in COW. Paths are absolute; ';' separates items "
	"(the kernel cuts the control string at ','). Image files only "
	"inside the directories snapcowd allows (--allow, "
	"/etc/snapcow/snapcowd.conf). See snapcowd(8).";

struct dbus_service {
	sd_bus *bus;
	sd_bus_slot *manager;
	sd_bus_slot *handler;
	struct dbus_register *reg;	/* registered with tcmu-runner */
	const struct policy *policy;
};

bool dbus_check_config(const struct policy *policy, const char *config,
		       char *reason, size_t len)
{
	struct snapcow_cfgstring *cfg;
	int r;

	if (strncmp(config, SUBTYPE_PREFIX, strlen(SUBTYPE_PREFIX))) {
		snprintf(reason, len,
			 "'%s' is not for snapcowd: it must start with '%s'",
			 config, SUBTYPE_PREFIX);
		return false;
	}
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		snprintf(reason, len, "%s", strerror(ENOMEM));
		return false;
	}
	r = cfgstring_parse(policy, config + strlen(SUBTYPE_PREFIX), cfg,
			    reason, len);
	free(cfg);
	if (!r)
		snprintf(reason, len, "success");
	return !r;
}

static int method_check_config(sd_bus_message *m, void *userdata,
			       sd_bus_error *error)
{
	struct dbus_service *d = userdata;
	char reason[PATH_MAX + 256];
	const char *config;
	bool ok;
	int r;

	(void)error;
	r = sd_bus_message_read(m, "s", &config);
	if (r < 0)
		return r;
	ok = dbus_check_config(d->policy, config, reason, sizeof(reason));
	log_debug("D-Bus CheckConfig '%s': %s", config, reason);
	return sd_bus_reply_method_return(m, "bs", ok, reason);
}

/* ConfigDesc: the same text for every caller. */
static int get_config_desc(sd_bus *bus, const char *path,
			   const char *interface, const char *property,
			   sd_bus_message *reply, void *userdata,
			   sd_bus_error *error)
{
	(void)bus, (void)path, (void)interface, (void)property;
	(void)userdata, (void)error;
	return sd_bus_message_append(reply, "s", config_desc);
}

static const sd_bus_vtable handler_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("ConfigDesc", "s", get_config_desc, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_METHOD("CheckConfig", "s", "bs", method_check_config,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

static int dbus_export(struct dbus_service *d, char *err, size_t len)
{
	int r;

	r = sd_bus_add_object_manager(d->bus, &d->manager, DBUS_ROOT);
	if (r >= 0)
		r = sd_bus_add_object_vtable(d->bus, &d->handler, DBUS_HANDLER,
					     DBUS_SERVICE, handler_vtable,
					     d);
	if (r < 0)
		snprintf(err, len, "D-Bus: exporting %s: %s", DBUS_HANDLER,
			 strerror(-r));
	return r;
}

/*
 * tcmu-runner owns the name: our objects under it would never be asked;
 * register with tcmu-runner instead.
 */
static int dbus_register_instead(struct dbus_service *d, char *err,
				 size_t len)
{
	d->handler = sd_bus_slot_unref(d->handler);
	d->manager = sd_bus_slot_unref(d->manager);
	return dbus_register_open(&d->reg, d->bus, handler_vtable, d,
				  config_desc, err, len);
}

int dbus_service_open(struct dbus_service **out, const struct policy *policy,
		      char *err, size_t len)
{
	struct dbus_service *d;
	int r;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->policy = policy;
	r = sd_bus_open_system(&d->bus);
	if (r < 0) {
		snprintf(err, len, "D-Bus: no system bus: %s", strerror(-r));
		goto fail;
	}
	r = dbus_export(d, err, len);
	if (r < 0)
		goto fail;
	r = sd_bus_request_name(d->bus, DBUS_SERVICE, 0);
	if (r == -EEXIST)
		r = dbus_register_instead(d, err, len);
	else if (r < 0)
		snprintf(err, len, "D-Bus: cannot own %s: %s", DBUS_SERVICE,
			 strerror(-r));
	else
		log_info("D-Bus: %s owned, handler %s", DBUS_SERVICE,
			 DBUS_HANDLER);
	if (r < 0)
		goto fail;
	*out = d;
	return 0;
fail:
	dbus_service_close(d);
	return r;
}

void dbus_service_close(struct dbus_service *d)
{
	if (!d)
		return;
	dbus_register_close(d->reg);
	sd_bus_slot_unref(d->handler);
	sd_bus_slot_unref(d->manager);
	sd_bus_flush_close_unref(d->bus);
	free(d);
}

int dbus_service_fd(struct dbus_service *d)
{
	return sd_bus_get_fd(d->bus);
}

unsigned int dbus_service_events(struct dbus_service *d)
{
	return dbus_poll_events(d->bus);
}

int dbus_service_process(struct dbus_service *d)
{
	return dbus_bus_process(d->bus);
}
