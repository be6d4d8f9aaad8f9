// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapcowd's status object, read over the system bus with sd-bus: the
 * rows of `snapctl list` (ListDevices) and the status document of a
 * served VOL (GetDevice), both JSON text built by the daemon with the
 * library's status code (snapcowd(8), "D-BUS INTERFACE").
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "common.h"
#include "snapctl.h"

#define STATUS_SERVICE		"org.snapcow.Daemon1"
#define STATUS_PATH		"/org/snapcow/Daemon1"
#define STATUS_INTERFACE	"org.snapcow.Daemon1"
#define DEFAULT_SYSTEM_BUS	"unix:path=/run/dbus/system_bus_socket"

/* The address sd-bus uses for the system bus, for messages. */
static const char *bus_address(void)
{
	const char *a = getenv("DBUS_SYSTEM_BUS_ADDRESS");

	return a && *a ? a : DEFAULT_SYSTEM_BUS;
}

static bool daemon_absent(const sd_bus_error *e)
{
	return sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
	       sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER);
}

/*
 * Call @method; the reply's JSON in *@out.  -ENOENT when no snapcowd is
 * on the bus (or no bus): reported unless @absent_ok.  Any other
 * failure is reported: the daemon's refusal as it says it.
 */
static int call(const char *method, const char *vol, const char *cow,
		bool absent_ok, struct json_object **out)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	sd_bus *bus = NULL;
	const char *text;
	int r;

	*out = NULL;
	r = sd_bus_open_system(&bus);
	if (r < 0) {
		if (!absent_ok)
			error_msg("cannot reach snapcowd: no system bus at %s: %s",
				  bus_address(), strerror(-r));
		return -ENOENT;
	}
	if (vol)
		r = sd_bus_call_method(bus, STATUS_SERVICE, STATUS_PATH,
				       STATUS_INTERFACE, method, &error,
				       &reply, "ss", vol, cow);
	else
		r = sd_bus_call_method(bus, STATUS_SERVICE, STATUS_PATH,
				       STATUS_INTERFACE, method, &error,
				       &reply, "");
	if (r < 0 && daemon_absent(&error)) {
		if (!absent_ok)
			error_msg("snapcowd is not running: nobody owns %s on "
				  "the system bus (%s)", STATUS_SERVICE,
				  bus_address());
		r = -ENOENT;
	} else if (r < 0 && sd_bus_error_has_name(&error, SD_BUS_ERROR_ACCESS_DENIED)) {
		error_msg("snapcowd: %s: %s (root only)", method,
			  error.message);
	} else if (r < 0) {
		error_msg("%s", error.message ? error.message : strerror(-r));
	} else if (sd_bus_message_read(reply, "s", &text) < 0 ||
		   !(*out = json_tokener_parse(text))) {
		error_msg("snapcowd: %s: not a JSON answer", method);
		r = -EPROTO;
	}
	sd_bus_error_free(&error);
	sd_bus_message_unref(reply);
	sd_bus_flush_close_unref(bus);
	return r < 0 ? r : 0;
}

int served_list(struct json_object **rows)
{
	int r = call("ListDevices", NULL, NULL, true, rows);

	if (r == -ENOENT) {
		verbose_msg("no snapcowd on the system bus (%s): no served "
			    "devices", bus_address());
		*rows = json_object_new_array();
		return *rows ? 0 : -ENOMEM;
	}
	return r;
}

int served_status(const char *vol, const char *cow, struct json_object **doc)
{
	return call("GetDevice", vol, cow ? cow : "", false, doc);
}
