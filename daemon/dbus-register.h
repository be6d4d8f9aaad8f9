/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snapcowd beside tcmu-runner on the system D-Bus.  When tcmu-runner
 * owns org.kernel.TCMUService1, targetcli asks it, not us, for the
 * handlers it lists; tcmu-runner then lists other daemons' handlers
 * that register with it (tcmu-runner's main.c, HandlerManager1):
 *
 *   - the handler owns org.kernel.TCMUService1.HandlerManager1.<subtype>
 *     and exports /org/kernel/TCMUService1/HandlerManager1/<subtype>
 *     with the interface org.kernel.TCMUService1 (ConfigDesc,
 *     CheckConfig), before registering;
 *   - it calls RegisterHandler(s subtype, s cfg_desc) -> (b, s) on
 *     /org/kernel/TCMUService1/HandlerManager1 (interface
 *     org.kernel.TCMUService1.HandlerManager1); tcmu-runner answers once
 *     it has seen the handler's name, then exports
 *     /org/kernel/TCMUService1/<subtype> itself and forwards each
 *     CheckConfig to the handler;
 *   - tcmu-runner forgets the handler when its name goes, and a new
 *     tcmu-runner knows nothing: we watch NameOwnerChanged of
 *     org.kernel.TCMUService1 and register again with each new owner.
 *
 * The registration changes nothing on the kernel side: tcmu-runner still
 * answers the netlink events of every subtype (see snapcowd(8), WITH
 * TCMU-RUNNER).
 */
#ifndef SNAPCOWD_DBUS_REGISTER_H
#define SNAPCOWD_DBUS_REGISTER_H

#include <stddef.h>

#include <systemd/sd-bus.h>

#define DBUS_REG_SUBTYPE	"snapcow"
#define DBUS_REG_NAME	"org.kernel.TCMUService1.HandlerManager1." \
			DBUS_REG_SUBTYPE
#define DBUS_REG_PATH	"/org/kernel/TCMUService1/HandlerManager1/" \
			DBUS_REG_SUBTYPE

struct dbus_register;

/*
 * On @bus: export @vtable (the org.kernel.TCMUService1 interface, called
 * with @userdata) at DBUS_REG_PATH, watch the owner of
 * org.kernel.TCMUService1, own DBUS_REG_NAME and call RegisterHandler
 * (its answer comes through the bus's event loop and is logged).
 * Returns 0 or -errno with @err saying why.
 */
int dbus_register_open(struct dbus_register **out, sd_bus *bus,
		       const sd_bus_vtable *vtable, void *userdata,
		       const char *cfg_desc, char *err, size_t len);
void dbus_register_close(struct dbus_register *r);

#endif /* SNAPCOWD_DBUS_REGISTER_H */
