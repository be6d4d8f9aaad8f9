/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon/dbus.c on a private bus (a dbus-daemon this test starts, given
 * to sd-bus as DBUS_SYSTEM_BUS_ADDRESS): the objects targetcli looks
 * for, CheckConfig's verdicts with the cfgstring parser's exact reasons,
 * ConfigDesc, a second daemon refused the name, and targetcli's own
 * listing code (its UIBackstores._user_backstores, run by the system
 * python) finding `user:snapcow` and refusing a bad cfgstring with
 * snapcowd's message.  Skips when dbus-daemon is not installed.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "dbus-register.h"
#include "dbus.h"
#include "tap.h"
#include "testbus.h"

static char top[64], img[160], allowed[128];
static struct policy policy;
static pid_t bus_pid;
static atomic_int server_state;		/* 0 starting, 1 up, -1 failed */
static atomic_int stop_server;

static void *serve(void *arg)
{
	struct dbus_service *d;
	char err[256];

	(void)arg;
	if (dbus_service_open(&d, &policy, err, sizeof(err))) {
		printf("# server: %s\n", err);
		server_state = -1;
		return NULL;
	}
	server_state = 1;
	while (!stop_server) {
		struct pollfd p = { .fd = dbus_service_fd(d), .events = POLLIN };

		poll(&p, 1, 50);
		if (dbus_service_process(d) < 0)
			break;
	}
	dbus_service_close(d);
	return NULL;
}

static sd_bus *client(void)
{
	sd_bus *bus = NULL;

	if (sd_bus_open_system(&bus) < 0)
		return NULL;
	return bus;
}

/* CheckConfig(@config): 1 or 0 with @reason, -1 when the call failed. */
static int check_config(sd_bus *bus, const char *config, char *reason,
			size_t len)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *why;
	int ok, r;

	r = sd_bus_call_method(bus, DBUS_SERVICE, DBUS_HANDLER, DBUS_SERVICE,
			       "CheckConfig", &error, &reply, "s", config);
	if (r >= 0)
		r = sd_bus_message_read(reply, "bs", &ok, &why);
	if (r >= 0)
		snprintf(reason, len, "%s", why);
	else
		printf("# CheckConfig: %s\n", error.message ? error.message :
		       strerror(-r));
	sd_bus_error_free(&error);
	sd_bus_message_unref(reply);
	return r < 0 ? -1 : ok;
}

static void test_check_config(void)
{
	sd_bus *bus = client();
	char reason[512], cfg[256], want[512];

	ok(bus != NULL, "client on the private bus");
	if (!bus)
		return;
	snprintf(cfg, sizeof(cfg), "snapcow/origin=%s", img);
	ok_eq(check_config(bus, cfg, reason, sizeof(reason)), 1, "%s", reason);
	ok(!strcmp(reason, "success"), "%s", reason);

	ok_eq(check_config(bus, "snapcow/origin=tmp/a.img", reason,
			   sizeof(reason)), 0, "relative");
	ok(!strcmp(reason, "origin=tmp/a.img: paths must be absolute"),
	   "%s", reason);

	ok_eq(check_config(bus, "file/tmp/a.img", reason, sizeof(reason)), 0,
	      "another handler's");
	ok(!strcmp(reason, "'file/tmp/a.img' is not for snapcowd: it must start with 'snapcow/'"),
	   "%s", reason);

	snprintf(cfg, sizeof(cfg), "snapcow/origin=%s;colour=blue", img);
	ok_eq(check_config(bus, cfg, reason, sizeof(reason)), 0, "key");
	snprintf(want, sizeof(want), "unknown key 'colour'");
	ok(strstr(reason, want) != NULL, "%s", reason);
	sd_bus_flush_close_unref(bus);
}

static void test_config_desc(void)
{
	sd_bus *bus = client();
	sd_bus_error error = SD_BUS_ERROR_NULL;
	char *desc = NULL;
	int r;

	if (!bus) {
		ok(0, "client");
		return;
	}
	r = sd_bus_get_property_string(bus, DBUS_SERVICE, DBUS_HANDLER,
				       DBUS_SERVICE, "ConfigDesc", &error,
				       &desc);
	ok_eq(r, 0, "%s", error.message ? error.message : "");
	ok(desc && !strncmp(desc, "origin=PATH[;cow=COW]... serves PATH", 36),
	   "%s", desc ? desc : "(none)");
	free(desc);
	sd_bus_error_free(&error);
	sd_bus_flush_close_unref(bus);
}

/* GetManagedObjects lists the handler object with the interface. */
static void test_object_manager(void)
{
	sd_bus *bus = client();
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL;
	const char *path, *iface;
	int found = 0, r;

	if (!bus) {
		ok(0, "client");
		return;
	}
	r = sd_bus_call_method(bus, DBUS_SERVICE, DBUS_ROOT,
			       "org.freedesktop.DBus.ObjectManager",
			       "GetManagedObjects", &error, &m, NULL);
	ok(r >= 0, "%s", error.message ? error.message : "");
	if (r >= 0)
		r = sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}");
	while (r > 0 &&
	       (r = sd_bus_message_enter_container(m, 'e', "oa{sa{sv}}")) > 0) {
		sd_bus_message_read(m, "o", &path);
		sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
		while (sd_bus_message_enter_container(m, 'e', "sa{sv}") > 0) {
			sd_bus_message_read(m, "s", &iface);
			if (!strcmp(path, DBUS_HANDLER) &&
			    !strcmp(iface, DBUS_SERVICE))
				found++;
			sd_bus_message_skip(m, "a{sv}");
			sd_bus_message_exit_container(m);
		}
		sd_bus_message_exit_container(m);
		sd_bus_message_exit_container(m);
	}
	ok_eq(found, 1, "handler object listed once");
	sd_bus_message_unref(m);
	sd_bus_error_free(&error);
	sd_bus_flush_close_unref(bus);
}

/*
 * The name taken (here by the first snapcowd; on a real system by
 * tcmu-runner): the second registers instead and owns the handler name
 * tcmu-runner forwards CheckConfig to (the kernel suite kernel-coexist
 * runs the registration against tcmu-runner itself).
 */
static void test_name_taken(void)
{
	struct dbus_service *d = NULL;
	sd_bus *bus = client();
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	char err[256] = "";
	int r = -1;

	ok_eq(dbus_service_open(&d, &policy, err, sizeof(err)), 0, "%s", err);
	if (bus && d)
		r = sd_bus_call_method(bus, "org.freedesktop.DBus",
				       "/org/freedesktop/DBus",
				       "org.freedesktop.DBus", "GetNameOwner",
				       &error, &reply, "s", DBUS_REG_NAME);
	ok(r >= 0, "%s owned: %s", DBUS_REG_NAME,
	   error.message ? error.message : "yes");
	sd_bus_message_unref(reply);
	sd_bus_error_free(&error);
	sd_bus_flush_close_unref(bus);
	dbus_service_close(d);
}

/*
 * targetcli's own code: the backstore it would list, and CheckConfig as
 * its `create` calls it (through Gio, as targetcli does).
 */
static void test_targetcli(void)
{
	static const char script[] =
		"import sys\n"
		"from targetcli.ui_backstore import UIBackstores\n"
		"for name, iface, props in UIBackstores._user_backstores(None):\n"
		"    print('user:' + name)\n"
		"    ok, why = iface.CheckConfig('(s)', name + '/origin=rel.img')\n"
		"    print(ok, why)\n";
	char cmd[1024], out[512] = "";
	size_t n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -c \"%s\" 2>&1", script);
	p = popen(cmd, "r");
	if (p) {
		n = fread(out, 1, sizeof(out) - 1, p);
		pclose(p);
	}
	out[n] = '\0';
	ok(!strcmp(out, "user:snapcow\n"
			"False origin=rel.img: paths must be absolute\n"),
	   "targetcli saw: %s", out);
}

static void setup(void)
{
	char err[256];
	FILE *f;

	snprintf(top, sizeof(top), "/tmp/test-dbus.XXXXXX");
	if (!mkdtemp(top))
		exit(1);
	snprintf(allowed, sizeof(allowed), "%s/allowed", top);
	mkdir(allowed, 0755);
	snprintf(img, sizeof(img), "%s/a.img", allowed);
	f = fopen(img, "w");
	if (!f || policy_allow(&policy, allowed, err, sizeof(err)))
		exit(1);
	fclose(f);
}

static void cleanup(void)
{
	char cmd[128];

	testbus_stop(bus_pid);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (system(cmd))
		printf("# could not remove %s\n", top);
	policy_free(&policy);
}

int main(void)
{
	char addr[256];
	pthread_t th;
	int i;

	setup();
	bus_pid = testbus_start(top, addr, sizeof(addr));
	if (bus_pid < 0) {
		printf("1..0 # SKIP dbus-daemon not installed (apt-get install dbus)\n");
		cleanup();
		return 0;
	}
	pthread_create(&th, NULL, serve, NULL);
	for (i = 0; i < 1000 && !server_state; i++)
		usleep(10000);
	plan(5);
	run(test_check_config);
	run(test_config_desc);
	run(test_object_manager);
	run(test_name_taken);
	if (system("/usr/bin/python3 -c 'import targetcli.ui_backstore' "
		   ">/dev/null 2>&1"))
		printf("ok %d - test_targetcli # SKIP targetcli-fb (python3) "
		       "not installed\n", ++tap_number);
	else
		run(test_targetcli);
	stop_server = 1;
	pthread_join(th, NULL);
	cleanup();
	return done();
}
