/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lib/dev.c: a path that is neither a regular file nor a block device is
 * refused with a message saying what it is and what is needed, before
 * open() (which a FIFO would block).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapcow.h"
#include "tap.h"

#define NEEDED "; snapcow needs a regular file or a block device"

static void expect(const char *path, unsigned int flags, const char *want)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	struct snapcow_dev *dev = (void *)1;
	int r = snapcow_dev_open_err(path, flags, &dev, err, sizeof(err));

	ok_eq(r, -ENODEV, "%s", path);
	ok(dev == NULL, "%s: no handle", path);
	ok(!strcmp(err, want), "%s: \"%s\", expected \"%s\"", path, err,
	   want);
}

static void test_wrong_types(void)
{
	char dir[] = "/tmp/snapcow-test-dev.XXXXXX", fifo[64];

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	expect(dir, 0, strcat(strcpy((char[128]){ 0 }, dir),
			      ": is a directory" NEEDED));
	expect(dir, SNAPCOW_DEV_WRITE | SNAPCOW_DEV_EXCL,
	       strcat(strcpy((char[128]){ 0 }, dir),
		      ": is a directory" NEEDED));
	expect("/dev/null", 0,
	       "/dev/null: is a character device (1:3)" NEEDED);
	expect("/dev/zero", SNAPCOW_DEV_WRITE,
	       "/dev/zero: is a character device (1:5)" NEEDED);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ok(mkfifo(fifo, 0600) == 0, "mkfifo");
	/* Would block in open() if the type were checked after it. */
	expect(fifo, 0, strcat(strcpy((char[128]){ 0 }, fifo),
			       ": is a FIFO" NEEDED));
	unlink(fifo);
	rmdir(dir);
}

static void test_missing(void)
{
	char err[SNAPCOW_ERRBUF_SIZE] = "";
	struct snapcow_dev *dev;

	ok_eq(snapcow_dev_open_err("/nonexistent/x", 0, &dev, err,
				   sizeof(err)), -ENOENT, "missing");
	ok(!strcmp(err, "/nonexistent/x: No such file or directory"), "%s",
	   err);
	/* The old entry point still answers with the errno alone. */
	ok_eq(snapcow_dev_open("/dev/null", 0, &dev), -ENODEV, "plain");
}

int main(void)
{
	plan(2);
	run(test_wrong_types);
	run(test_missing);
	return done();
}
