/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lib/dev.c at open time: opening never changes a byte or a size, a
 * refused open leaves no file it created, and snapcow_dev_discard
 * removes only a file its own open created.  A refused command relies
 * on all three to leave every device as it found it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapcow.h"
#include "tap.h"

static char dir[] = "/tmp/snapcow-test-dev.XXXXXX";

/* In a static buffer: one call per statement. */
static const char *path_of(const char *name)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

static void put_file(const char *name, const char *data)
{
	int fd = open(path_of(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data))
		abort();
	close(fd);
}

static off_t size_of(const char *name)
{
	struct stat st;

	return stat(path_of(name), &st) < 0 ? -1 : st.st_size;
}

/* Create @name (path_of) for writing; an assertion when it fails. */
static int create(const char *name, struct snapcow_dev **dev)
{
	int r = snapcow_dev_open(path_of(name), SNAPCOW_DEV_WRITE |
				 SNAPCOW_DEV_CREATE, dev);

	ok_eq(r, 0, "create %s", name);
	return r;
}

static void test_open_never_truncates(void)
{
	struct snapcow_dev *dev;
	int r;

	put_file("data", "twelve bytes");
	r = snapcow_dev_open(path_of("data"), SNAPCOW_DEV_WRITE |
			     SNAPCOW_DEV_CREATE | SNAPCOW_DEV_EXCL, &dev);
	ok_eq(r, 0, "open an existing file with CREATE");
	if (r)
		return;
	ok(!snapcow_dev_created(dev), "an existing file was not created");
	ok_eq(snapcow_dev_size(dev), 12, "size as found");
	snapcow_dev_discard(dev);
	ok_eq(size_of("data"), 12, "discard keeps a file it did not create");
}

static void test_create_then_discard(void)
{
	struct snapcow_dev *dev;
	int r;

	r = snapcow_dev_open(path_of("new"), SNAPCOW_DEV_WRITE |
			     SNAPCOW_DEV_CREATE | SNAPCOW_DEV_EXCL, &dev);
	ok_eq(r, 0, "create a missing file");
	if (r)
		return;
	ok(snapcow_dev_created(dev), "created by this open");
	ok_eq(snapcow_dev_size(dev), 0, "created empty");
	snapcow_dev_discard(dev);
	ok_eq(size_of("new"), -1, "discard removes the file it created");

	r = snapcow_dev_open(path_of("kept"), SNAPCOW_DEV_WRITE |
			     SNAPCOW_DEV_CREATE, &dev);
	ok_eq(r, 0, "create another");
	if (!r)
		snapcow_dev_close(dev);
	ok_eq(size_of("kept"), 0, "close keeps it");
}

/* A name that leads elsewhere by discard time is not ours to remove. */
static void test_discard_checks_identity(void)
{
	struct snapcow_dev *dev;
	char from[256];
	int r;

	r = create("moved", &dev);
	if (r)
		return;
	put_file("other", "someone else's");
	snprintf(from, sizeof(from), "%s", path_of("other"));
	ok_eq(rename(from, path_of("moved")), 0, "replace it");
	snapcow_dev_discard(dev);
	ok_eq(size_of("moved"), 14, "the replacement survives");
}

static void test_refused_open_leaves_nothing(void)
{
	struct snapcow_dev *dev = NULL;
	int fd, r;

	/* Held by another open file description: EBUSY, nothing changes. */
	put_file("held", "held data");
	fd = open(path_of("held"), O_RDONLY);
	ok(fd >= 0 && flock(fd, LOCK_EX) == 0, "hold it");
	r = snapcow_dev_open(path_of("held"), SNAPCOW_DEV_WRITE |
			     SNAPCOW_DEV_CREATE | SNAPCOW_DEV_EXCL, &dev);
	ok_eq(r, -EBUSY, "a held file is busy");
	ok(!dev, "no handle");
	ok_eq(size_of("held"), 9, "and keeps its size");
	close(fd);

	r = snapcow_dev_open(path_of("nodir/x"), SNAPCOW_DEV_WRITE |
			     SNAPCOW_DEV_CREATE, &dev);
	ok_eq(r, -ENOENT, "no directory");
	ok_eq(size_of("nodir"), -1, "nothing made");

	r = snapcow_dev_open(dir, SNAPCOW_DEV_CREATE, &dev);
	ok(r < 0 && !dev, "a directory is no device: %d", r);
}

/* A new file's name is made durable by syncing the folder that holds it. */
static void test_sync_name(void)
{
	static unsigned char mem[512];
	struct snapcow_dev *dev;
	char sub[300];
	int r;

	if (!create("named", &dev)) {
		ok_eq(snapcow_dev_sync_name(dev), 0, "its folder syncs: %s",
		      snapcow_dev_error(dev));
		snapcow_dev_discard(dev);
	}
	/* A bare name lives in the current folder. */
	ok_eq(chdir(dir), 0, "chdir");
	r = snapcow_dev_open("bare", SNAPCOW_DEV_WRITE | SNAPCOW_DEV_CREATE,
			     &dev);
	ok_eq(r, 0, "create a bare name");
	if (!r) {
		ok_eq(snapcow_dev_sync_name(dev), 0, "\".\" syncs");
		snapcow_dev_discard(dev);
	}
	/* Its folder gone: the error names the folder and the file. */
	snprintf(sub, sizeof(sub), "%s", path_of("sub"));
	ok_eq(mkdir(sub, 0755), 0, "mkdir");
	if (!create("sub/f", &dev)) {
		unlink(path_of("sub/f"));
		rmdir(sub);
		ok_eq(snapcow_dev_sync_name(dev), -ENOENT, "folder removed");
		ok(strstr(snapcow_dev_error(dev), "cannot sync the directory") &&
		   strstr(snapcow_dev_error(dev), sub),
		   "message: %s", snapcow_dev_error(dev));
		snapcow_dev_close(dev);
	}
	ok_eq(snapcow_dev_open_memory(mem, sizeof(mem), true, "m", &dev), 0,
	      "memory device");
	ok_eq(snapcow_dev_sync_name(dev), 0, "no name to sync");
	snapcow_dev_close(dev);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 99;
	plan(5);
	run(test_open_never_truncates);
	run(test_create_then_discard);
	run(test_discard_checks_identity);
	run(test_refused_open_leaves_nothing);
	run(test_sync_name);
	unlink(path_of("data"));
	unlink(path_of("kept"));
	unlink(path_of("moved"));
	unlink(path_of("held"));
	rmdir(dir);
	return done();
}
