/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A served LUN: what its cfgstring names, opened and held, described to
 * the SCSI decoder, and the backend that moves its data.  A backend is a
 * small ops table: an origin LUN and a snapshot LUN (cow.c) plug in the
 * same way, both on libsnapcow's engine through the origins and COWs
 * they share with other LUNs (shared.h).  Backends are called from any
 * thread; opening and closing LUNs happens on the main thread only.
 */
#ifndef SNAPCOWD_DEVICE_H
#define SNAPCOWD_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "snapcow.h"
#include "cfgstring.h"
#include "ring.h"
#include "scsi.h"

struct device;

struct device_ops {
	const char *kind;	/* SCSI product id: "origin", "snapshot" */
	/* Move @len bytes at byte @off into / out of @iov; 0 or -errno. */
	int (*read)(struct device *d, const struct iovec *iov, int cnt,
		    uint64_t off, uint64_t len);
	/* @fua: durable when it returns. */
	int (*write)(struct device *d, const struct iovec *iov, int cnt,
		     uint64_t off, uint64_t len, bool fua);
	/* Everything written so far is durable. */
	int (*flush)(struct device *d);
	/*
	 * Where @len bytes at byte @off may be moved without a worker (the
	 * engine's direct I/O, snapcow.h): 0 with @dio set, else -EAGAIN
	 * (then @read or @write).  May be NULL.
	 */
	int (*direct)(struct device *d, bool write, uint64_t off,
		      uint64_t len, struct snapcow_direct *dio);
	void (*direct_end)(struct device *d, struct snapcow_direct *dio);
	/* Bytes the backend can serve. */
	uint64_t (*size)(struct device *d);
	/* Serve @cfg from now on (NULL: a LUN whose cfgstring is fixed). */
	int (*reconfig)(struct device *d, const struct snapcow_cfgstring *cfg,
			char *err, size_t len);
	void (*close)(struct device *d);
};

struct device {
	const struct device_ops *ops;
	void *priv;
	struct scsi_disk disk;
	bool write_back;	/* writes sit in the page cache until flushed */
	char name[256];		/* "user_<hba>/<name>", for the log */
	char *cfgstring;
	/* Counted by concurrent workers: atomics (device_counters reads). */
	uint64_t cmds, errors;
	uint64_t reads, writes;	/* READ and WRITE commands that ran */
};

/* What snapctl status --served reports of a LUN, read atomically. */
struct device_counters {
	uint64_t reads;
	uint64_t writes;
	uint64_t errors;	/* failed data commands, malformed entries */
};

void device_counters(const struct device *d, struct device_counters *c);

/* What the kernel says about the LUN (configfs attributes). */
struct device_params {
	const char *name;
	uint64_t dev_size;	/* bytes; 0: the backend's size */
	uint32_t block_size;	/* hw_block_size */
	uint32_t max_sectors;	/* hw_max_sectors, in blocks; 0: default */
};

/*
 * Open what @cfgstring names, under @policy, for the LUN @prm.  Returns
 * 0 or -errno with @err naming the path, the size and the rule.
 */
int device_open(const struct policy *policy, const char *cfgstring,
		const struct device_params *prm, struct device **out,
		char *err, size_t len);
void device_close(struct device *d);

/* ring_ops.cmd: decode, run, build the status and sense. */
uint8_t device_cmd(void *d, const struct ring_cmd *cmd, uint8_t *sense);
/* ring_ops.fast and fast_end: the same, without a worker when it can. */
enum ring_fast device_fast(void *d, const struct ring_cmd *cmd,
			   uint8_t *status, uint8_t *sense,
			   struct ring_io *io);
uint8_t device_fast_end(void *d, const struct ring_cmd *cmd,
			struct ring_io *io, int res, bool cancel,
			uint8_t *sense);
extern const struct ring_ops device_ring_ops;

int device_flush(struct device *d);
/*
 * RECONFIG: a new cfgstring (an origin LUN's cow= items added or
 * removed; anything else is refused with -EINVAL), once the LUN's
 * commands are drained.  0 (then d->cfgstring is @cfgstring) or -errno
 * with @err; a refusal changes nothing.
 */
int device_reconfig(struct device *d, const struct policy *policy,
		    const char *cfgstring, char *err, size_t len);
/* RECONFIG: a new dev_size (bytes) or write-cache setting. */
int device_resize(struct device *d, uint64_t size, char *err, size_t len);
void device_set_write_back(struct device *d, bool on);

/*
 * The backends (cow.c): an origin LUN (origin=P[;cow=C]...) and a
 * snapshot LUN (snapshot=C;origin=P), on the shared origin object.
 */
int origin_lun_open(struct device *d, const struct snapcow_cfgstring *cfg,
		    char *err, size_t len);
int snapshot_lun_open(struct device *d, const struct snapcow_cfgstring *cfg,
		      char *err, size_t len);

#endif /* SNAPCOWD_DEVICE_H */
