// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The device layer: every byte snapcow reads or writes goes through here,
 * so that sizes, exclusivity, flushing and fault injection live in one
 * place.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <blkid.h>

#include "dev.h"
#include "dev-storage.h"
#include "util.h"

struct snapcow_dev {
	int fd;			/* -1 for a memory device */
	unsigned char *mem;
	uint64_t size;
	unsigned int block_size;
	bool is_block;
	bool writable;
	bool created;		/* made by this open: discard removes it */
	dev_t rdev;		/* block devices */
	dev_t st_dev;		/* regular files: identity is (st_dev, ino) */
	ino_t ino;
	char *path;
	char name[64];
	enum snapcow_fault fault;
	uint64_t fault_at;
	uint64_t write_attempts;	/* counts failed writes too */
	struct snapcow_dev_stats stats;
	char err[SNAPCOW_ERRBUF_SIZE];
};

/*
 * The engine calls a device from many threads: each thread keeps its own
 * last message (sc_dev_last_error), and the handle's copy, which the
 * single-threaded tools read, is written under a lock.
 */
static _Thread_local char dev_last_err[SNAPCOW_ERRBUF_SIZE];
static pthread_mutex_t dev_err_lock = PTHREAD_MUTEX_INITIALIZER;

int sc_dev_errf(struct snapcow_dev *dev, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dev_last_err, sizeof(dev_last_err), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&dev_err_lock);
	memcpy(dev->err, dev_last_err, sizeof(dev->err));
	pthread_mutex_unlock(&dev_err_lock);
	return err;
}

const char *sc_dev_last_error(void)
{
	return dev_last_err;
}

/* Counters are shared by the engine's threads. */
static void dev_count(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static struct snapcow_dev *dev_alloc(const char *path)
{
	struct snapcow_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	dev->fd = -1;
	dev->path = strdup(path);
	if (!dev->path) {
		free(dev);
		return NULL;
	}
	return dev;
}

static int dev_lock_file(struct snapcow_dev *dev)
{
	/*
	 * O_EXCL only means "exclusive" for block devices; a regular file
	 * gets an advisory lock that every snapcow tool honours.
	 */
	if (flock(dev->fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	return errno == EWOULDBLOCK ? -EBUSY : -errno;
}

static int dev_probe_geometry(struct snapcow_dev *dev, const struct stat *st)
{
	uint64_t bytes;
	int ssz;

	if (!dev->is_block) {
		dev->size = (uint64_t)st->st_size;
		dev->block_size = SNAPCOW_SECTOR_SIZE;
		dev->st_dev = st->st_dev;
		dev->ino = st->st_ino;
		snprintf(dev->name, sizeof(dev->name), "%s", dev->path);
		return 0;
	}
	if (ioctl(dev->fd, BLKGETSIZE64, &bytes) < 0)
		return -errno;
	if (ioctl(dev->fd, BLKSSZGET, &ssz) < 0)
		return -errno;
	dev->size = bytes;
	dev->block_size = (unsigned int)ssz;
	dev->rdev = st->st_rdev;
	snprintf(dev->name, sizeof(dev->name), "%u:%u",
		 major(st->st_rdev), minor(st->st_rdev));
	return 0;
}

/*
 * What @st is, for a path that is neither a regular file nor a block
 * device: said in the message, with what would do instead, because
 * strerror(ENODEV) ("No such device") names neither.
 */
static const char *dev_kind(const struct stat *st, char *buf, size_t len)
{
	if (S_ISDIR(st->st_mode))
		return "a directory";
	if (S_ISCHR(st->st_mode)) {
		snprintf(buf, len, "a character device (%u:%u)",
			 major(st->st_rdev), minor(st->st_rdev));
		return buf;
	}
	if (S_ISFIFO(st->st_mode))
		return "a FIFO";
	if (S_ISSOCK(st->st_mode))
		return "a socket";
	return "not a regular file";
}

static int dev_wrong_type(const char *path, const struct stat *st,
			  char *err, size_t errlen)
{
	char kind[64];

	return sc_errf(err, errlen, -ENODEV, "%s: is %s; snapcow needs a "
		       "regular file or a block device", path,
		       dev_kind(st, kind, sizeof(kind)));
}

static bool dev_usable(const struct stat *st)
{
	return S_ISBLK(st->st_mode) || S_ISREG(st->st_mode);
}

/*
 * Open the path, creating a regular file only when @create and nothing
 * is there: O_EXCL tells us whether this open made it, so that a refused
 * command can take it away again.  Never O_TRUNC: opening changes no
 * byte and no size; sizing is the caller's, once nothing can refuse.
 */
static int dev_open_path(struct snapcow_dev *dev, int oflags, bool create)
{
	int tries;

	for (tries = 0; tries < 3; tries++) {
		if (create) {
			dev->fd = open(dev->path, oflags | O_CREAT | O_EXCL,
				       0644);
			if (dev->fd >= 0) {
				dev->created = true;
				return 0;
			}
			if (errno != EEXIST)
				return -errno;
		}
		dev->fd = open(dev->path, oflags);
		/* Removed between the two opens: try to create it again. */
		if (dev->fd >= 0 || errno != ENOENT || !create)
			break;
	}
	return dev->fd < 0 ? -errno : 0;
}

static int dev_open_fd(struct snapcow_dev *dev, unsigned int flags,
		       char *err, size_t errlen)
{
	int oflags = O_CLOEXEC;
	struct stat st;
	int r;

	oflags |= (flags & SNAPCOW_DEV_WRITE) ? O_RDWR : O_RDONLY;
	if (stat(dev->path, &st) == 0) {
		/* Before open(): a FIFO would block it, a directory fail. */
		if (!dev_usable(&st))
			return dev_wrong_type(dev->path, &st, err, errlen);
		if (S_ISBLK(st.st_mode) && (flags & SNAPCOW_DEV_EXCL))
			oflags |= O_EXCL;
	}
	r = dev_open_path(dev, oflags, flags & SNAPCOW_DEV_CREATE);
	if (r)
		return sc_errf(err, errlen, r, "%s: %s", dev->path,
			       strerror(-r));
	return 0;
}

/* Remove the file this handle created, if its name still leads there. */
static void dev_unlink_created(struct snapcow_dev *dev)
{
	struct stat fst, pst;

	if (!dev->created || dev->fd < 0 || fstat(dev->fd, &fst) < 0 ||
	    stat(dev->path, &pst) < 0)
		return;
	if (fst.st_dev == pst.st_dev && fst.st_ino == pst.st_ino)
		unlink(dev->path);
}

SNAPCOW_EXPORT
int snapcow_dev_open_err(const char *path, unsigned int flags,
			 struct snapcow_dev **devp, char *err, size_t errlen)
{
	struct snapcow_dev *dev;
	struct stat st;
	int r;

	*devp = NULL;
	dev = dev_alloc(path);
	if (!dev)
		return sc_errf(err, errlen, -ENOMEM, "%s: %s", path,
			       strerror(ENOMEM));
	r = dev_open_fd(dev, flags, err, errlen);
	if (r)
		goto fail;
	if (fstat(dev->fd, &st) < 0) {
		r = sc_errf(err, errlen, -errno, "%s: %s", path,
			    strerror(errno));
		goto fail;
	}
	/* Replaced between stat() and open(). */
	if (!dev_usable(&st)) {
		r = dev_wrong_type(path, &st, err, errlen);
		goto fail;
	}
	dev->is_block = S_ISBLK(st.st_mode);
	dev->writable = flags & SNAPCOW_DEV_WRITE;
	if (!dev->is_block && (flags & SNAPCOW_DEV_EXCL)) {
		r = dev_lock_file(dev);
		if (r)
			goto fail_errno;
	}
	r = dev_probe_geometry(dev, &st);
	if (r)
		goto fail_errno;
	*devp = dev;
	return 0;
fail_errno:
	sc_errf(err, errlen, r, "%s: %s", path, strerror(-r));
fail:
	snapcow_dev_discard(dev);
	return r;
}

SNAPCOW_EXPORT
int snapcow_dev_open(const char *path, unsigned int flags,
		     struct snapcow_dev **devp)
{
	return snapcow_dev_open_err(path, flags, devp, NULL, 0);
}

SNAPCOW_EXPORT
int snapcow_dev_open_memory(void *buf, uint64_t size, bool writable,
			    const char *name, struct snapcow_dev **devp)
{
	struct snapcow_dev *dev = dev_alloc(name ? name : "memory");

	*devp = NULL;
	if (!dev)
		return -ENOMEM;
	dev->mem = buf;
	dev->size = size;
	dev->block_size = SNAPCOW_SECTOR_SIZE;
	dev->writable = writable;
	/* A unique identity, so that two memory devices are never "same". */
	dev->ino = (ino_t)(uintptr_t)buf;
	snprintf(dev->name, sizeof(dev->name), "%s", dev->path);
	*devp = dev;
	return 0;
}

SNAPCOW_EXPORT
void snapcow_dev_close(struct snapcow_dev *dev)
{
	if (!dev)
		return;
	if (dev->fd >= 0)
		close(dev->fd);
	free(dev->path);
	free(dev);
}

SNAPCOW_EXPORT
void snapcow_dev_discard(struct snapcow_dev *dev)
{
	if (!dev)
		return;
	dev_unlink_created(dev);
	snapcow_dev_close(dev);
}

SNAPCOW_EXPORT
bool snapcow_dev_created(const struct snapcow_dev *dev)
{
	return dev->created;
}

SNAPCOW_EXPORT
const char *snapcow_dev_path(const struct snapcow_dev *dev)
{
	return dev->path;
}

SNAPCOW_EXPORT
const char *snapcow_dev_name(const struct snapcow_dev *dev)
{
	/* A path is never cut to fit: the IMA string and JSON name it. */
	return dev->is_block ? dev->name : dev->path;
}

SNAPCOW_EXPORT
bool snapcow_dev_is_block(const struct snapcow_dev *dev)
{
	return dev->is_block;
}

SNAPCOW_EXPORT
bool snapcow_dev_is_writable(const struct snapcow_dev *dev)
{
	return dev->writable;
}

SNAPCOW_EXPORT
uint64_t snapcow_dev_size(const struct snapcow_dev *dev)
{
	return dev->size;
}

SNAPCOW_EXPORT
unsigned int snapcow_dev_block_size(const struct snapcow_dev *dev)
{
	return dev->block_size;
}

SNAPCOW_EXPORT
bool snapcow_dev_same(const struct snapcow_dev *a, const struct snapcow_dev *b)
{
	if (a->is_block != b->is_block)
		return false;
	if (a->is_block)
		return a->rdev == b->rdev;
	if (a->mem || b->mem)
		return a->mem == b->mem;
	return a->st_dev == b->st_dev && a->ino == b->ino;
}

void sc_dev_storage_id(const struct snapcow_dev *dev,
		       struct sc_storage_id *id)
{
	id->path = dev->path;
	id->size = dev->size;
	if (dev->mem) {
		id->kind = SC_STORE_MEM;
		id->dev = 0;
		id->ino = (uint64_t)(uintptr_t)dev->mem;
	} else if (dev->is_block) {
		id->kind = SC_STORE_BLOCK;
		id->dev = dev->rdev;
		id->ino = 0;
	} else {
		id->kind = SC_STORE_FILE;
		id->dev = dev->st_dev;
		id->ino = dev->ino;
	}
}

static int dev_check_range(struct snapcow_dev *dev, size_t len,
			   uint64_t offset, const char *what)
{
	if (offset > dev->size || len > dev->size - offset)
		return sc_dev_errf(dev, -ENOSPC,
				   "%s: %s of %zu bytes at offset %llu is past the device end (%llu bytes)",
				   dev->path, what, len,
				   (unsigned long long)offset,
				   (unsigned long long)dev->size);
	return 0;
}

SNAPCOW_EXPORT
int snapcow_dev_read(struct snapcow_dev *dev, void *buf, size_t len,
		     uint64_t offset)
{
	unsigned char *p = buf;
	size_t done = 0;
	int r;

	r = dev_check_range(dev, len, offset, "read");
	if (r)
		return r;
	dev_count(&dev->stats.reads, 1);
	dev_count(&dev->stats.bytes_read, len);
	if (dev->mem) {
		memcpy(buf, dev->mem + offset, len);
		return 0;
	}
	while (done < len) {
		ssize_t n = pread(dev->fd, p + done, len - done,
				  (off_t)(offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sc_dev_errf(dev, -errno,
					   "%s: read at offset %llu failed: %s",
					   dev->path,
					   (unsigned long long)(offset + done),
					   strerror(errno));
		if (n == 0)
			return sc_dev_errf(dev, -EIO,
					   "%s: unexpected end of device at offset %llu",
					   dev->path,
					   (unsigned long long)(offset + done));
		done += (size_t)n;
	}
	return 0;
}

/* Fault injection: decide the fate of the write about to happen. */
static int dev_fault_gate(struct snapcow_dev *dev, uint64_t offset)
{
	uint64_t nth = __atomic_add_fetch(&dev->write_attempts, 1,
					  __ATOMIC_SEQ_CST);

	switch (dev->fault) {
	case SNAPCOW_FAULT_FAIL:
		if (nth != dev->fault_at)
			return 0;
		break;
	case SNAPCOW_FAULT_CRASH:
		if (nth <= dev->fault_at)
			return 0;
		break;
	default:
		return 0;
	}
	return sc_dev_errf(dev, -EIO,
			   "%s: write %llu at offset %llu failed (injected %s)",
			   dev->path, (unsigned long long)nth,
			   (unsigned long long)offset,
			   dev->fault == SNAPCOW_FAULT_FAIL ? "failure" : "crash");
}

SNAPCOW_EXPORT
int snapcow_dev_write(struct snapcow_dev *dev, const void *buf, size_t len,
		      uint64_t offset)
{
	const unsigned char *p = buf;
	size_t done = 0;
	int r;

	if (!dev->writable)
		return sc_dev_errf(dev, -EBADF, "%s: device is open read-only",
				   dev->path);
	r = dev_check_range(dev, len, offset, "write");
	if (r)
		return r;
	r = dev_fault_gate(dev, offset);
	if (r)
		return r;
	dev_count(&dev->stats.writes, 1);
	dev_count(&dev->stats.bytes_written, len);
	if (dev->mem) {
		memcpy(dev->mem + offset, buf, len);
		return 0;
	}
	while (done < len) {
		ssize_t n = pwrite(dev->fd, p + done, len - done,
				   (off_t)(offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return sc_dev_errf(dev, n < 0 ? -errno : -EIO,
					   "%s: write at offset %llu failed: %s",
					   dev->path,
					   (unsigned long long)(offset + done),
					   n < 0 ? strerror(errno) : "no progress");
		done += (size_t)n;
	}
	return 0;
}

/*
 * The fd a caller may move @len bytes at @offset through itself
 * (engine-direct.c), counted as a read or a write; -EAGAIN for a memory
 * device, one with a fault injected (the writes must be counted and
 * gated here) or a range the calls above would refuse.
 */
int sc_dev_direct_fd(struct snapcow_dev *dev, bool write, size_t len,
		     uint64_t offset)
{
	if (dev->mem || dev->fault != SNAPCOW_FAULT_NONE ||
	    (write && !dev->writable) || offset > dev->size ||
	    len > dev->size - offset)
		return -EAGAIN;
	if (write) {
		dev_count(&dev->stats.writes, 1);
		dev_count(&dev->stats.bytes_written, len);
	} else {
		dev_count(&dev->stats.reads, 1);
		dev_count(&dev->stats.bytes_read, len);
	}
	return dev->fd;
}

SNAPCOW_EXPORT
int snapcow_dev_flush(struct snapcow_dev *dev)
{
	if (dev->fault == SNAPCOW_FAULT_CRASH &&
	    __atomic_load_n(&dev->write_attempts, __ATOMIC_SEQ_CST) >
	    dev->fault_at)
		return sc_dev_errf(dev, -EIO, "%s: flush after injected crash",
				   dev->path);
	dev_count(&dev->stats.flushes, 1);
	if (dev->mem || !dev->writable)
		return 0;
	if (fdatasync(dev->fd) < 0)
		return sc_dev_errf(dev, -errno, "%s: flush failed: %s",
				   dev->path, strerror(errno));
	return 0;
}

/* The folder holding @path's name: "." for a bare name. */
static char *dev_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

SNAPCOW_EXPORT
int snapcow_dev_sync_name(struct snapcow_dev *dev)
{
	char *dir;
	int fd, r = 0;

	if (dev->mem || dev->is_block)
		return 0;
	dir = dev_dir_of(dev->path);
	if (!dir)
		return sc_dev_errf(dev, -ENOMEM, "%s: out of memory",
				   dev->path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		r = sc_dev_errf(dev, -errno, "%s: cannot sync the directory holding %s: %s",
				dir, dev->path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
	return r;
}

SNAPCOW_EXPORT
int snapcow_dev_resize(struct snapcow_dev *dev, uint64_t size)
{
	if (dev->is_block || dev->mem)
		return sc_dev_errf(dev, -ENOTTY,
				   "%s: only a regular file can be resized",
				   dev->path);
	if (!dev->writable)
		return sc_dev_errf(dev, -EBADF, "%s: device is open read-only",
				   dev->path);
	if (ftruncate(dev->fd, (off_t)size) < 0)
		return sc_dev_errf(dev, -errno, "%s: cannot set size %llu: %s",
				   dev->path, (unsigned long long)size,
				   strerror(errno));
	dev->size = size;
	return 0;
}

SNAPCOW_EXPORT
int snapcow_dev_drop_cache(struct snapcow_dev *dev)
{
	int r;

	if (dev->mem)
		return 0;
	r = posix_fadvise(dev->fd, 0, 0, POSIX_FADV_DONTNEED);
	if (r)
		return sc_dev_errf(dev, -r, "%s: posix_fadvise: %s",
				   dev->path, strerror(r));
	return 0;
}

SNAPCOW_EXPORT
int snapcow_dev_readahead(struct snapcow_dev *dev, uint64_t offset,
			  uint64_t len)
{
	int r;

	if (dev->mem || !len)
		return 0;
	r = posix_fadvise(dev->fd, (off_t)offset, (off_t)len,
			  POSIX_FADV_WILLNEED);
	if (r)
		return sc_dev_errf(dev, -r, "%s: posix_fadvise: %s",
				   dev->path, strerror(r));
	return 0;
}

SNAPCOW_EXPORT
void snapcow_dev_start_writeback(struct snapcow_dev *dev, uint64_t offset,
				 uint64_t len)
{
	if (!dev->mem && len)
		(void)sync_file_range(dev->fd, (off64_t)offset, (off64_t)len,
				      SYNC_FILE_RANGE_WRITE);
}

SNAPCOW_EXPORT
uint64_t snapcow_dev_next_data(struct snapcow_dev *dev, uint64_t offset)
{
	off_t data;

	if (dev->mem || dev->is_block || offset >= dev->size)
		return offset;
	data = lseek(dev->fd, (off_t)offset, SEEK_DATA);
	if (data >= 0)
		return MIN((uint64_t)data, dev->size);
	/* ENXIO: holes to the end; anything else: no hole information. */
	return errno == ENXIO ? dev->size : offset;
}

SNAPCOW_EXPORT
int snapcow_dev_probe(struct snapcow_dev *dev, char *type, size_t len)
{
	const char *value = NULL;
	blkid_probe pr;
	int r;

	if (dev->mem)
		return 0;
	pr = blkid_new_probe();
	if (!pr)
		return -ENOMEM;
	r = blkid_probe_set_device(pr, dev->fd, 0, 0);
	if (r) {
		r = sc_dev_errf(dev, -EIO, "%s: libblkid cannot probe",
				dev->path);
		goto out;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
	r = blkid_do_safeprobe(pr);
	if (r == 1) {
		r = 0;
		goto out;
	}
	if (r == -2) {
		/* Ambivalent: several signatures; still "something is here". */
		snprintf(type, len, "ambivalent");
		r = 1;
		goto out;
	}
	if (r < 0) {
		r = sc_dev_errf(dev, -EIO, "%s: libblkid probe failed",
				dev->path);
		goto out;
	}
	if (!blkid_probe_lookup_value(pr, "TYPE", &value, NULL) ||
	    !blkid_probe_lookup_value(pr, "PTTYPE", &value, NULL))
		snprintf(type, len, "%s", value);
	else
		snprintf(type, len, "unknown");
	r = 1;
out:
	blkid_free_probe(pr);
	return r;
}

SNAPCOW_EXPORT
const char *snapcow_dev_error(const struct snapcow_dev *dev)
{
	return dev->err;
}

SNAPCOW_EXPORT
void snapcow_dev_inject_fault(struct snapcow_dev *dev, enum snapcow_fault mode,
			      uint64_t nth_write)
{
	dev->fault = mode;
	dev->fault_at = nth_write;
}

SNAPCOW_EXPORT
void snapcow_dev_get_stats(const struct snapcow_dev *dev,
			   struct snapcow_dev_stats *stats)
{
	const struct snapcow_dev_stats *st = &dev->stats;

	stats->reads = __atomic_load_n(&st->reads, __ATOMIC_RELAXED);
	stats->writes = __atomic_load_n(&st->writes, __ATOMIC_RELAXED);
	stats->flushes = __atomic_load_n(&st->flushes, __ATOMIC_RELAXED);
	stats->bytes_read = __atomic_load_n(&st->bytes_read, __ATOMIC_RELAXED);
	stats->bytes_written = __atomic_load_n(&st->bytes_written,
					       __ATOMIC_RELAXED);
}
