/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snapcowd's status object (daemon/dbus-status.c) on a private bus:
 * an origin LUN and its snapshot LUN, opened as the daemon opens them
 * (fakelun.h) and given a known workload, then ListDevices, GetDevice
 * and Version as snapctl calls them, compared byte for byte with the
 * rows and documents expected, the status document against the offline
 * document of the same COW once the LUNs are closed, and the refusals.
 * With --serve DIR it sets the same LUNs up in DIR and serves them on
 * DBUS_SYSTEM_BUS_ADDRESS until SIGTERM, for tests/list.bats.  Skips when
 * dbus-daemon is not installed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "snapcow.h"
#include "dbus-status.h"
#include "fakelun.h"
#include "tap.h"
#include "testbus.h"

#define BS 512u

static char top[PATH_MAX], img[PATH_MAX + 16], cow[PATH_MAX + 16];
static char err[PATH_MAX + 512];
static struct policy policy;
static struct fakelun ovol, svol;
static atomic_int server_state;		/* 0 starting, 1 up, -1 failed */
static atomic_int stop_server;

static void make_file(const char *path, off_t size)
{
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);

	if (fd < 0 || ftruncate(fd, size))
		exit(1);
	close(fd);
}

static bool io(struct fakelun *l, uint8_t op, uint32_t lba, uint16_t n)
{
	static uint8_t buf[64 * BS];
	uint8_t cdb[10];

	memset(buf, 0xa5, sizeof(buf));
	cdb10(cdb, op, lba, n, 0);
	return fakelun_good(l, fakelun_run(l, cdb, 10, op == 0x2a ? buf : NULL,
					   n * BS));
}

/*
 * In @dir: a 1 MiB origin, a new 1 MiB COW (16 KiB chunks once the
 * daemon formats it), ovol serving both, svol the snapshot.  Writes to
 * chunks 0 and 2 copy two chunks (two commits), a third write lands in
 * chunk 0 again; one read on each LUN.
 */
static int setup_luns(const char *dir)
{
	char cfg[2 * PATH_MAX + 64];
	bool good;

	snprintf(img, sizeof(img), "%s/a.img", dir);
	snprintf(cow, sizeof(cow), "%s/s.cow", dir);
	make_file(img, 1 << 20);
	make_file(cow, 1 << 20);
	if (policy_allow(&policy, dir, err, sizeof(err)))
		return -1;
	snprintf(cfg, sizeof(cfg), "origin=%s;cow=%s", img, cow);
	if (fakelun_open(&ovol, &policy, "user_0/ovol", cfg, err, sizeof(err)))
		return -1;
	snprintf(cfg, sizeof(cfg), "snapshot=%s;origin=%s", cow, img);
	if (fakelun_open(&svol, &policy, "user_0/svol", cfg, err, sizeof(err)))
		return -1;
	good = io(&ovol, 0x2a, 0, 1) && io(&ovol, 0x2a, 64, 2) &&
	       io(&ovol, 0x2a, 1, 1) && io(&svol, 0x28, 0, 1) &&
	       io(&ovol, 0x28, 0, 1);
	return good ? 0 : -1;
}

/* Until stop_server (or SIGTERM in --serve), on the calling thread. */
static int serve_loop(void)
{
	struct dbus_status *d;
	char why[256];

	if (dbus_status_open(&d, why, sizeof(why))) {
		printf("# server: %s\n", why);
		server_state = -1;
		return -1;
	}
	server_state = 1;
	while (!stop_server) {
		struct pollfd p = { .fd = dbus_status_fd(d), .events = POLLIN };

		poll(&p, 1, 50);
		if (dbus_status_process(d) < 0)
			break;
	}
	dbus_status_close(d);
	return 0;
}

static void *serve(void *arg)
{
	(void)arg;
	serve_loop();
	return NULL;
}

/* A method's text answer, or NULL with the D-Bus error in @ename/@emsg. */
static char *call(const char *method, const char *vol, const char *c,
		  char *ename, char *emsg, size_t len)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	sd_bus *bus = NULL;
	const char *text;
	char *out = NULL;
	int r;

	r = sd_bus_open_system(&bus);
	if (r >= 0 && vol)
		r = sd_bus_call_method(bus, STATUS_SERVICE, STATUS_PATH,
				       STATUS_INTERFACE, method, &error,
				       &reply, "ss", vol, c);
	else if (r >= 0)
		r = sd_bus_call_method(bus, STATUS_SERVICE, STATUS_PATH,
				       STATUS_INTERFACE, method, &error,
				       &reply, "");
	if (r >= 0 && sd_bus_message_read(reply, "s", &text) >= 0)
		out = strdup(text);
	snprintf(ename, len, "%s", error.name ? error.name : "");
	snprintf(emsg, len, "%s", error.message ? error.message : "");
	sd_bus_error_free(&error);
	sd_bus_message_unref(reply);
	sd_bus_flush_close_unref(bus);
	return out;
}

static char *svol_doc, *ovol_doc;

static void test_list(void)
{
	char name[256], msg[256], want[4 * PATH_MAX];
	char *text = call("ListDevices", NULL, NULL, name, msg, sizeof(msg));

	snprintf(want, sizeof(want),
		 "[{\"kind\":\"served\",\"name\":\"svol\",\"dm_name\":null,"
		 "\"vol\":\"svol\",\"origin_vol\":\"ovol\",\"origin\":\"%s\","
		 "\"cow\":\"%s\",\"chunk_size_sectors\":32,"
		 "\"chunk_size_bytes\":16384,\"state\":\"valid\","
		 "\"status\":\"128/2048 64\",\"sectors_allocated\":128,"
		 "\"cow_sectors\":2048,\"metadata_sectors\":64,"
		 "\"percent_used\":6.25}]", img, cow);
	ok(text && !strcmp(text, want), "got %s (%s)\n# want %s",
	   text ? text : "nothing", msg, want);
	free(text);
}

static void test_get(void)
{
	char name[256], msg[256], want[3 * PATH_MAX];
	const char *tail;

	svol_doc = call("GetDevice", "svol", "", name, msg, sizeof(msg));
	ovol_doc = call("GetDevice", "ovol", "", name, msg, sizeof(msg));
	ok(svol_doc && ovol_doc, "%s %s", name, msg);
	if (!svol_doc || !ovol_doc)
		return;
	tail = ",\"counters\":{\"read_count\":1,\"write_count\":0,"
	       "\"copy_count\":2,\"commit_count\":2,\"error_count\":0}}";
	ok(strlen(svol_doc) > strlen(tail) &&
	   !strcmp(svol_doc + strlen(svol_doc) - strlen(tail), tail),
	   "svol: %s", svol_doc);
	/* ovol's only snapshot is the same COW: its own reads and writes. */
	tail = ",\"counters\":{\"read_count\":1,\"write_count\":3,"
	       "\"copy_count\":2,\"commit_count\":2,\"error_count\":0}}";
	ok(strlen(ovol_doc) > strlen(tail) &&
	   !strcmp(ovol_doc + strlen(ovol_doc) - strlen(tail), tail),
	   "ovol: %s", ovol_doc);
	ok(strstr(svol_doc, "\"status\":\"128/2048 64\"") != NULL, "%s",
	   svol_doc);
	snprintf(want, sizeof(want),
		 "\"ima\":\"target_name=snapshot,target_version=1.16.0,"
		 "snap_origin_name=%s,", img);
	ok(strstr(svol_doc, want) != NULL, "%s in %s", want, svol_doc);
	free(ovol_doc);
	ovol_doc = call("GetDevice", "user_0/ovol", cow, name, msg,
			sizeof(msg));
	ok(ovol_doc && strstr(ovol_doc, "\"write_count\":3"), "%s",
	   ovol_doc ? ovol_doc : msg);
}

static void refused(const char *vol, const char *c, const char *want_name,
		    const char *want_msg)
{
	char name[256], msg[PATH_MAX + 256];
	char *text = call("GetDevice", vol, c, name, msg, sizeof(msg));

	ok(!text, "%s answered %s", vol, text);
	ok(!strcmp(name, want_name), "%s: %s", vol, name);
	ok(!strcmp(msg, want_msg), "%s: %s", vol, msg);
	free(text);
}

static void test_refusals(void)
{
	char want[2 * PATH_MAX + 128];

	refused("nope", "", STATUS_ERROR ".NoSuchDevice",
		"nope: snapcowd serves no device of that name");
	snprintf(want, sizeof(want), "ovol: origin %s has no snapshot /x.cow",
		 img);
	refused("ovol", "/x.cow", STATUS_ERROR ".NoSuchSnapshot", want);
	snprintf(want, sizeof(want), "svol: serves the snapshot in %s, not "
		 "/x.cow", cow);
	refused("svol", "/x.cow", STATUS_ERROR ".NoSuchSnapshot", want);
}

static void test_version(void)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus *bus = NULL;
	char *v = NULL;

	if (sd_bus_open_system(&bus) >= 0)
		sd_bus_get_property_string(bus, STATUS_SERVICE, STATUS_PATH,
					   STATUS_INTERFACE, "Version", &error,
					   &v);
	ok(v && !strcmp(v, PACKAGE_VERSION), "%s", v ? v : error.message);
	free(v);
	sd_bus_error_free(&error);
	sd_bus_flush_close_unref(bus);
}

/*
 * Once the LUNs are closed: the served document less its counters is
 * exactly the offline `snapctl status --json --origin IMG COW` document.
 */
static void test_same_as_offline(void)
{
	struct snapcow_dev *dev = NULL, *origin = NULL;
	struct snapcow_store *s = NULL;
	struct json_object *doc = NULL, *off = NULL;
	const char *a = "", *b = "";

	if (!svol_doc) {
		ok(0, "no document");
		return;
	}
	doc = json_tokener_parse(svol_doc);
	if (doc)
		json_object_object_del(doc, "counters");
	if (!snapcow_dev_open(cow, 0, &dev) &&
	    !snapcow_dev_open(img, 0, &origin) &&
	    !snapcow_store_load(dev, 0, 0, &s, err, sizeof(err)))
		off = snapcow_status_json(s, origin);
	if (doc && off) {
		a = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
		b = json_object_to_json_string_ext(off, JSON_C_TO_STRING_PLAIN);
	}
	ok(doc && off && !strcmp(a, b), "served %s\n# offline %s", a, b);
	json_object_put(doc);
	json_object_put(off);
	snapcow_store_free(s);
	snapcow_dev_close(origin);
	snapcow_dev_close(dev);
}

static void close_luns(void)
{
	fakelun_close(&svol);
	fakelun_close(&ovol);
}

static void on_term(int sig)
{
	(void)sig;
	stop_server = 1;
}

/* --serve DIR: for tests/list.bats, on the bus it was given. */
static int serve_mode(const char *dir)
{
	if (setup_luns(dir)) {
		fprintf(stderr, "test-dbus-status: %s\n", err);
		return 1;
	}
	signal(SIGTERM, on_term);
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("serving\n");
	serve_loop();
	close_luns();
	policy_free(&policy);
	return 0;
}

int main(int argc, char **argv)
{
	char addr[PATH_MAX + 64], cmd[PATH_MAX + 16];
	pthread_t th;
	pid_t bus;
	int i;

	if (argc == 3 && !strcmp(argv[1], "--serve"))
		return serve_mode(argv[2]);
	snprintf(top, sizeof(top), "/tmp/test-dbus-status.XXXXXX");
	if (!mkdtemp(top))
		return 1;
	bus = testbus_start(top, addr, sizeof(addr));
	if (bus < 0) {
		printf("1..0 # SKIP dbus-daemon not installed (apt-get install dbus)\n");
		return 0;
	}
	plan(5);
	if (setup_luns(top))
		printf("# setup: %s\n", err);
	pthread_create(&th, NULL, serve, NULL);
	for (i = 0; i < 1000 && !server_state; i++)
		usleep(10000);
	run(test_list);
	run(test_get);
	run(test_refusals);
	run(test_version);
	stop_server = 1;
	pthread_join(th, NULL);
	close_luns();
	run(test_same_as_offline);
	free(svol_doc);
	free(ovol_doc);
	testbus_stop(bus);
	policy_free(&policy);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (system(cmd))
		printf("# could not remove %s\n", top);
	return done();
}
