// SPDX-License-Identifier: GPL-2.0-or-later
/* The uio side of a TCMU device (see uio.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uio.h"

#define SYS_UIO		"/sys/class/uio"
#define CONFIGFS_CORE	"/sys/kernel/config/target/core"

int uio_parse_name(const char *s, struct uio_name *id)
{
	const char *p, *slash;
	char *end;

	memset(id, 0, sizeof(*id));
	if (strncmp(s, "tcm-user/", 9))
		return -EINVAL;
	p = s + 9;
	id->hba = (unsigned int)strtoul(p, &end, 10);
	if (end == p || *end != '/')
		return -EINVAL;
	p = end + 1;
	slash = strchr(p, '/');
	if (!slash || slash == p || (size_t)(slash - p) >= sizeof(id->name))
		return -EINVAL;
	memcpy(id->name, p, slash - p);
	p = slash + 1;
	slash = strchr(p, '/');
	if (!slash) {
		/* No cfgstring: "tcm-user/<hba>/<name>/<subtype>" or less. */
		snprintf(id->subtype, sizeof(id->subtype), "%s", p);
		id->cfgstring = p + strlen(p);
		return 0;
	}
	if ((size_t)(slash - p) >= sizeof(id->subtype))
		return -EINVAL;
	memcpy(id->subtype, p, slash - p);
	id->cfgstring = slash + 1;
	return 0;
}

static int read_line(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		r = -errno;
	else
		buf[n] = '\0';
	close(fd);
	if (!r)
		buf[strcspn(buf, "\n")] = '\0';
	return r;
}

int uio_read_name(int minor, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), SYS_UIO "/uio%d/name", minor);
	return read_line(path, buf, len);
}

int uio_scan(int (*fn)(void *arg, int minor, const char *name), void *arg)
{
	char name[4096];
	struct dirent *e;
	DIR *dir;
	int r = 0, minor;

	dir = opendir(SYS_UIO);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while (!r && (e = readdir(dir))) {
		if (sscanf(e->d_name, "uio%d", &minor) != 1)
			continue;
		if (uio_read_name(minor, name, sizeof(name)))
			continue;	/* removed while we looked */
		r = fn(arg, minor, name);
	}
	closedir(dir);
	return r;
}

static int uio_map_size(int minor, size_t *size)
{
	char path[96], buf[64];
	unsigned long long v;
	int r;

	snprintf(path, sizeof(path), SYS_UIO "/uio%d/maps/map0/size", minor);
	r = read_line(path, buf, sizeof(buf));
	if (r)
		return r;
	if (sscanf(buf, "%llx", &v) != 1 || !v)
		return -EINVAL;
	*size = (size_t)v;
	return 0;
}

int uio_open(struct uio_dev *u, int minor, char *err, size_t len)
{
	char path[64];
	int r;

	u->minor = minor;
	u->fd = -1;
	u->map = MAP_FAILED;
	r = uio_parse_name(u->uio_name, &u->id);
	if (r) {
		snprintf(err, len, "uio%d: '%s' is not a tcm-user device",
			 minor, u->uio_name);
		return r;
	}
	snprintf(u->configfs, sizeof(u->configfs), CONFIGFS_CORE "/user_%u/%s",
		 u->id.hba, u->id.name);
	r = uio_map_size(minor, &u->map_size);
	if (r) {
		snprintf(err, len, "uio%d: map0 size: %s", minor, strerror(-r));
		return r;
	}
	snprintf(path, sizeof(path), "/dev/uio%d", minor);
	u->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (u->fd < 0) {
		r = -errno;
		snprintf(err, len, "%s: %s%s", path, strerror(errno),
			 errno == EBUSY ? " (served by another process)" : "");
		return r;
	}
	u->map = mmap(NULL, u->map_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      u->fd, 0);
	if (u->map == MAP_FAILED) {
		r = -errno;
		snprintf(err, len, "%s: mmap of %zu bytes: %s", path,
			 u->map_size, strerror(errno));
		return r;
	}
	r = ring_attach(&u->ring, u->map, u->map_size);
	if (r)
		snprintf(err, len, "%s: %s", path, u->ring.why);
	return r;
}

void uio_close(struct uio_dev *u)
{
	if (u->map != MAP_FAILED && u->map)
		munmap(u->map, u->map_size);
	u->map = MAP_FAILED;
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

int uio_ack(struct uio_dev *u)
{
	uint32_t events;

	/* Non-blocking: a spurious wake-up finds nothing and moves on. */
	if (read(u->fd, &events, sizeof(events)) < 0 && errno == EIO)
		return -EIO;
	return 0;
}

int uio_kick(struct uio_dev *u)
{
	uint32_t one = 1;

	if (write(u->fd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	return 0;
}

int uio_attr_u64(const struct uio_dev *u, const char *attr, uint64_t *val)
{
	char path[640], buf[64], *end;
	int r;

	snprintf(path, sizeof(path), "%s/%s", u->configfs, attr);
	r = read_line(path, buf, sizeof(buf));
	if (r)
		return r;
	errno = 0;
	*val = strtoull(buf, &end, 0);
	if (errno || end == buf)
		return -EINVAL;
	return 0;
}

int uio_action(const struct uio_dev *u, const char *action, const char *val)
{
	char path[640];
	ssize_t n;
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/action/%s", u->configfs, action);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		r = -errno;
	close(fd);
	return r;
}
