/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsnapcow: read, check, write and merge the Linux dm-snapshot
 * persistent exception store ("COW device") in userspace.
 *
 * Conventions: functions return 0 (or a documented non-negative value) on
 * success and a negative errno on failure, with a message naming the
 * device, byte offset and rule broken in exactly one place:
 *  - a call on one handle (a dev, a store) keeps it in that handle, read
 *    with snapcow_dev_error() / snapcow_store_error();
 *  - a call that makes a handle (open, load, check), works on several
 *    (the engine, export, merge, repair) or on none (dm) writes it to the
 *    caller's @err of @errlen bytes (SNAPCOW_ERRBUF_SIZE is enough; NULL
 *    drops it) and copies no message into a handle.
 * A handle's message is its thread's business: code that shares a handle
 * between threads (the daemon, through the concurrent engine) always
 * passes its own buffer.  Nothing here prints or exits.  Sizes are in
 * 512-byte sectors unless a name says bytes.
 */
#ifndef SNAPCOW_H
#define SNAPCOW_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SNAPCOW_SECTOR_SHIFT		9
#define SNAPCOW_SECTOR_SIZE		512u
#define SNAPCOW_MAGIC			0x70416e53u	/* "SnAp" */
#define SNAPCOW_DISK_VERSION		1u
#define SNAPCOW_HEADER_CHUNKS		1u
/* The kernel refuses chunk sizes above INT_MAX >> SECTOR_SHIFT sectors. */
#define SNAPCOW_MAX_CHUNK_SECTORS	(1u << 21)
#define SNAPCOW_RECORD_SIZE		16u
#define SNAPCOW_ERRBUF_SIZE		512

/* ---------------------------------------------------------------- dev */

struct snapcow_dev;

enum snapcow_dev_flags {
	SNAPCOW_DEV_WRITE = 1 << 0,	/* open read-write */
	SNAPCOW_DEV_EXCL = 1 << 1,	/* O_EXCL (block) or flock (file) */
	/* Create a regular file if missing; no open ever truncates. */
	SNAPCOW_DEV_CREATE = 1 << 2,
};

enum snapcow_fault {
	SNAPCOW_FAULT_NONE,
	SNAPCOW_FAULT_FAIL,	/* the Nth write fails with -EIO */
	SNAPCOW_FAULT_CRASH,	/* writes after the Nth are lost: -EIO */
};

struct snapcow_dev_stats {
	uint64_t reads;
	uint64_t writes;
	uint64_t flushes;
	uint64_t bytes_read;
	uint64_t bytes_written;
};

int snapcow_dev_open(const char *path, unsigned int flags,
		     struct snapcow_dev **devp);
/*
 * The same, with the reason in @err: the path, the errno's text, or
 * what the path is when it is neither a regular file nor a block device
 * (-ENODEV: "is a directory; snapcow needs ...").
 */
int snapcow_dev_open_err(const char *path, unsigned int flags,
			 struct snapcow_dev **devp, char *err, size_t errlen);
/* A device backed by caller-owned memory (tests, fuzzing). */
int snapcow_dev_open_memory(void *buf, uint64_t size, bool writable,
			    const char *name, struct snapcow_dev **devp);
void snapcow_dev_close(struct snapcow_dev *dev);
/*
 * Close @dev and, when its open created the file (SNAPCOW_DEV_CREATE),
 * remove it again: what a refused command created must not outlive it.
 */
void snapcow_dev_discard(struct snapcow_dev *dev);
/* True when the open of @dev created its file. */
bool snapcow_dev_created(const struct snapcow_dev *dev);

const char *snapcow_dev_path(const struct snapcow_dev *dev);
/* "major:minor" for a block device, as the kernel prints it; else path. */
const char *snapcow_dev_name(const struct snapcow_dev *dev);
bool snapcow_dev_is_block(const struct snapcow_dev *dev);
bool snapcow_dev_is_writable(const struct snapcow_dev *dev);
uint64_t snapcow_dev_size(const struct snapcow_dev *dev);	/* bytes */
unsigned int snapcow_dev_block_size(const struct snapcow_dev *dev);
/* True when both handles name the same inode or block device. */
bool snapcow_dev_same(const struct snapcow_dev *a,
		      const struct snapcow_dev *b);
/*
 * Whether @a and @b reach a common byte of some storage: the same inode
 * or device, a loop device over the other (at any depth, honouring
 * offset and sizelimit), overlapping partitions of one disk, or
 * device-mapper and md devices stacked on it (linear targets mapped
 * exactly, any other target or md taken to use all of its devices).
 * Returns 1 with the chain that proves it in @chain ("/dev/loop3 is a
 * loop device over /tmp/cow.img (offset 0), which is cow.img (bytes
 * 0..4194303)"), 0 when they share nothing, or -errno with the reason in
 * @chain when the stacking cannot be read.
 */
int snapcow_dev_shares_storage(const struct snapcow_dev *a,
			       const struct snapcow_dev *b, char *chain,
			       size_t len);

int snapcow_dev_read(struct snapcow_dev *dev, void *buf, size_t len,
		     uint64_t offset);
int snapcow_dev_write(struct snapcow_dev *dev, const void *buf, size_t len,
		      uint64_t offset);
int snapcow_dev_flush(struct snapcow_dev *dev);
/*
 * Make the name of a regular file durable (fsync its directory), as a
 * new file needs once its data are flushed; a no-op for block devices.
 */
int snapcow_dev_sync_name(struct snapcow_dev *dev);
/* Set the size of a regular file (export targets); -ENOTTY otherwise. */
int snapcow_dev_resize(struct snapcow_dev *dev, uint64_t size);
/* Drop the page cache for the device (posix_fadvise DONTNEED). */
int snapcow_dev_drop_cache(struct snapcow_dev *dev);
/*
 * Start reading @len bytes at @offset into the page cache without
 * waiting (posix_fadvise WILLNEED); a hint, a no-op for memory devices.
 */
int snapcow_dev_readahead(struct snapcow_dev *dev, uint64_t offset,
			  uint64_t len);
/*
 * Start writing back @len bytes at @offset without waiting
 * (sync_file_range WRITE), so a long sequential write's final flush
 * does not find it all dirty; a hint, errors ignored.
 */
void snapcow_dev_start_writeback(struct snapcow_dev *dev, uint64_t offset,
				 uint64_t len);
/*
 * The first offset >= @offset that may hold data (SEEK_DATA on a regular
 * file; the device's size when only holes follow).  Block and memory
 * devices, and files whose file system cannot tell, are all data.
 */
uint64_t snapcow_dev_next_data(struct snapcow_dev *dev, uint64_t offset);

/*
 * libblkid probe.  Returns 1 and fills @type (e.g. "ext4",
 * "DM_snapshot_cow") when a signature is found, 0 when none, or -errno.
 */
int snapcow_dev_probe(struct snapcow_dev *dev, char *type, size_t len);

const char *snapcow_dev_error(const struct snapcow_dev *dev);
void snapcow_dev_inject_fault(struct snapcow_dev *dev, enum snapcow_fault mode,
			      uint64_t nth_write);
void snapcow_dev_get_stats(const struct snapcow_dev *dev,
			   struct snapcow_dev_stats *stats);

/* ------------------------------------------------------------- format */

struct snapcow_header {
	uint32_t magic;
	uint32_t valid;
	uint32_t version;
	uint32_t chunk_size;	/* sectors */
};

struct snapcow_record {
	uint64_t old_chunk;	/* origin chunk */
	uint64_t new_chunk;	/* COW chunk holding its old contents */
};

/* Records per metadata area for a chunk size: cs * 512 / 16. */
uint64_t snapcow_exceptions_per_area(uint32_t chunk_sectors);
/* Chunk holding metadata area @area: 1 + area * (epa + 1). */
uint64_t snapcow_area_chunk(uint32_t chunk_sectors, uint64_t area);
/* True for chunk 0 (header) and every metadata area chunk. */
bool snapcow_chunk_is_metadata(uint32_t chunk_sectors, uint64_t chunk);
/* Area that owns data chunk @chunk (undefined for metadata chunks). */
uint64_t snapcow_chunk_area(uint32_t chunk_sectors, uint64_t chunk);
/* Byte offset of chunk @chunk, and of metadata area @area. */
uint64_t snapcow_chunk_offset(uint32_t chunk_sectors, uint64_t chunk);
uint64_t snapcow_area_offset(uint32_t chunk_sectors, uint64_t area);
/*
 * Where chunk @chunk lies on a device of @dev_bytes: its byte offset and
 * length (a device's last chunk may be short).  -ERANGE when it starts
 * at or past the end.
 */
int snapcow_chunk_extent(uint32_t chunk_sectors, uint64_t dev_bytes,
			 uint64_t chunk, uint64_t *offset, uint64_t *len);
/*
 * The kernel's skip_metadata(): the chunk after an allocation lands on
 * @chunk, or the next one when @chunk is a metadata area.
 */
uint64_t snapcow_skip_metadata(uint32_t chunk_sectors, uint64_t chunk);
/* Data chunks among chunks 0 .. @chunks - 1 (no header, no area). */
uint64_t snapcow_data_chunks_below(uint32_t chunk_sectors, uint64_t chunks);
/* Metadata areas whose chunk lies among the first @chunks. */
uint64_t snapcow_areas_on_device(uint32_t chunk_sectors, uint64_t chunks);
/*
 * The kernel's status: metadata sectors in use while the list ends in
 * area @current_area, (current_area + 2) * cs.
 */
uint64_t snapcow_metadata_sectors(uint32_t chunk_sectors,
				  uint64_t current_area);
/* The smallest COW: header, one metadata area and one data chunk. */
uint64_t snapcow_cow_min_bytes(uint32_t chunk_sectors);
/*
 * Exceptions a COW of @cow_bytes holds before the kernel refuses the next
 * one: every data chunk whole on the device, less one when the areas
 * end full and the next area falls past the end (the kernel zeroes it
 * when the last area fills; that write fails and invalidates).
 */
uint64_t snapcow_cow_capacity(uint32_t chunk_sectors, uint64_t cow_bytes);

/* 0 when @cs is a chunk size the kernel accepts, else -EINVAL. */
int snapcow_chunk_size_check(uint32_t chunk_sectors, unsigned int block_size,
			     const char **why);

void snapcow_header_encode(const struct snapcow_header *hdr, void *buf);
void snapcow_header_decode(const void *buf, struct snapcow_header *hdr);
/* Read and decode the header of @cow; the message stays in @cow. */
int snapcow_header_read(struct snapcow_dev *cow, struct snapcow_header *hdr);
void snapcow_record_decode(const void *area, uint64_t slot,
			   struct snapcow_record *rec);
void snapcow_record_encode(void *area, uint64_t slot,
			   const struct snapcow_record *rec);

/* -------------------------------------------------------------- store */

struct snapcow_store;

enum snapcow_state {
	SNAPCOW_STATE_NEW,	/* magic 0: the kernel formats it on load */
	SNAPCOW_STATE_VALID,
	SNAPCOW_STATE_INVALID,	/* valid flag 0: exceptions are not read */
	SNAPCOW_STATE_UNKNOWN,	/* snapcheck: not a COW (wrong magic, no
				 * chunk size fits the areas, too small) */
	/* What only a live target reports (snapcow_dm_status). */
	SNAPCOW_STATE_MERGING,		/* snapshot-merge: "a/b m" */
	SNAPCOW_STATE_OVERFLOW,		/* "Overflow" */
	SNAPCOW_STATE_MERGE_FAILED,	/* "Merge failed" */
};

/*
 * The state's name in every report: "new", "valid", "invalid",
 * "unknown", "merging", "overflow", "merge_failed".
 */
const char *snapcow_state_name(enum snapcow_state state);

enum snapcow_store_flags {
	SNAPCOW_STORE_WRITE = 1 << 0,	/* allow allocation and commits */
	/*
	 * "PO" tables: a snapshot write that finds the COW full fails
	 * without invalidating the snapshot (overflow is memory-only).
	 */
	SNAPCOW_STORE_OVERFLOW = 1 << 1,
	/*
	 * Read the records of an invalid COW too, which the kernel never
	 * does (snapdump --metadata: a dump restores them); the state stays
	 * INVALID.  Only for reading the list back.
	 */
	SNAPCOW_STORE_ALL_RECORDS = 1 << 2,
};

struct snapcow_store_info {
	enum snapcow_state state;
	uint32_t version;
	uint32_t chunk_size;		/* sectors */
	uint64_t exceptions_per_area;
	uint64_t exceptions;		/* records on the list */
	uint64_t areas;			/* areas holding the list, >= 1 */
	uint64_t current_area;		/* area holding the list's end */
	uint64_t current_committed;	/* records in the current area */
	uint64_t next_free;		/* next chunk to allocate */
	uint64_t cow_sectors;		/* device size */
	uint64_t sectors_allocated;	/* next_free * cs, as the kernel */
	uint64_t metadata_sectors;	/* (current_area + 2) * cs */
};

/* A record as found on disk, with where it was found. */
struct snapcow_record_pos {
	uint64_t old_chunk;
	uint64_t new_chunk;
	uint64_t area;
	uint64_t slot;
	uint64_t offset;	/* byte offset of the record on the COW */
	bool past_end;		/* at or after the list's end: not live */
};

/*
 * Write a new COW: header (valid, version 1, @chunk_sectors) and a zeroed
 * first area, flushed.  Data chunks are not touched, as in the kernel.
 */
int snapcow_store_format(struct snapcow_dev *cow, uint32_t chunk_sectors,
			 char *err, size_t errlen);

/*
 * Load a COW as the kernel does on activation: header, then every area up
 * to the list's end.  @table_chunk_size is the table's chunk size (0 takes
 * it from the header); a new COW (magic 0) loads in state NEW with the
 * chunk size the kernel would use.  The store keeps @cow but does not own
 * it.  On failure *@sp is NULL and @err holds the reason.
 */
int snapcow_store_load(struct snapcow_dev *cow, uint32_t table_chunk_size,
		       unsigned int flags, struct snapcow_store **sp,
		       char *err, size_t errlen);
void snapcow_store_free(struct snapcow_store *s);

const char *snapcow_store_error(const struct snapcow_store *s);
struct snapcow_dev *snapcow_store_dev(const struct snapcow_store *s);
void snapcow_store_get_info(const struct snapcow_store *s,
			    struct snapcow_store_info *info);
uint32_t snapcow_store_chunk_size(const struct snapcow_store *s);
bool snapcow_store_valid(const struct snapcow_store *s);
/* Bytes used by the in-memory exception table. */
size_t snapcow_store_table_bytes(const struct snapcow_store *s);

/* 1 and *new_chunk when @old_chunk has an exception, 0 when not. */
int snapcow_store_lookup(const struct snapcow_store *s, uint64_t old_chunk,
			 uint64_t *new_chunk);

/*
 * Exceptions in old-chunk order, runs of consecutive chunks in one call:
 * old_chunk..old_chunk+count-1 live at new_chunk..new_chunk+count-1.
 * A non-zero return from @fn stops the walk and is returned.
 */
typedef int (*snapcow_run_fn)(void *ctx, uint64_t old_chunk,
			      uint64_t new_chunk, uint64_t count);
int snapcow_store_foreach_run(const struct snapcow_store *s,
			      snapcow_run_fn fn, void *ctx);

/*
 * Records in on-disk order, re-read from the device.  With
 * @past_end, every slot of every area up to the current one and the slots
 * after the list's end are visited too (for forensics).
 */
typedef int (*snapcow_record_fn)(void *ctx,
				 const struct snapcow_record_pos *rec);
int snapcow_store_foreach_record(struct snapcow_store *s, bool past_end,
				 snapcow_record_fn fn, void *ctx);

/*
 * Allocation, as persistent_prepare_exception: the next free chunk,
 * skipping metadata; -ENOSPC when the COW is full.
 */
int snapcow_store_alloc(struct snapcow_store *s, uint64_t *new_chunk);
/*
 * Add a completed exception to the in-memory area.  Exceptions must be
 * added in allocation order.  When the area fills, it is committed at once
 * (next area zeroed first).  Nothing is durable until snapcow_store_commit.
 */
int snapcow_store_add(struct snapcow_store *s, uint64_t old_chunk,
		      uint64_t new_chunk);
/* Flush COW data, then write the current area (PREFLUSH|FUA order). */
int snapcow_store_commit(struct snapcow_store *s);
/* Rewrite the header with valid = 0, as the kernel on overflow. */
int snapcow_store_invalidate(struct snapcow_store *s);

/* ------------------------------------------------------------- engine */

/*
 * The offline tools' single-threaded calls, made on a private origin
 * object of the concurrent engine below (one copy-on-write path); the
 * message goes to the caller's @err.
 * What the kernel does for an origin write: for every chunk touched that
 * a snapshot has no exception for, copy the origin chunk to that
 * snapshot's COW and commit; then write the origin.  A snapshot whose COW
 * is full is invalidated, as the kernel does.
 */
int snapcow_origin_write(struct snapcow_dev *origin,
			 struct snapcow_store *const *snaps, unsigned int nsnaps,
			 const void *buf, size_t len, uint64_t offset,
			 char *err, size_t errlen);
/* Read the snapshot's point-in-time image. */
int snapcow_snapshot_read(struct snapcow_dev *origin, struct snapcow_store *s,
			  void *buf, size_t len, uint64_t offset, char *err,
			  size_t errlen);
/* Write into the snapshot (the origin is untouched). */
int snapcow_snapshot_write(struct snapcow_dev *origin, struct snapcow_store *s,
			   const void *buf, size_t len, uint64_t offset,
			   char *err, size_t errlen);

typedef void (*snapcow_progress_fn)(void *ctx, uint64_t done, uint64_t total);
enum {
	/*
	 * @out reads as zeros (a regular file just cut to size): write
	 * only the blocks that are not all zero, and skip reading the
	 * origin's holes where the snapshot has no chunk, so the image
	 * keeps the origin's holes, as cp --sparse=always does.
	 */
	SNAPCOW_EXPORT_SPARSE = 1 << 0,
};

/* Write the snapshot image of @origin + @s to @out (origin's size). */
int snapcow_export(struct snapcow_dev *origin, struct snapcow_store *s,
		   struct snapcow_dev *out, unsigned int flags,
		   snapcow_progress_fn progress, void *ctx, char *err,
		   size_t errlen);

/* ------------------------------------------------ concurrent engine */

/*
 * One object per origin, shared by every device that serves the origin
 * or one of its snapshots, called from any number of threads.  Each call
 * blocks until its I/O is done and puts its message, when it fails, in
 * the caller's @err (never in a shared buffer).  As the kernel's
 * dm-snapshot:
 *  - the first origin write to a chunk copies it into every snapshot
 *    lacking it, in descending chunk-size order, and reaches the origin
 *    only once those exceptions are committed;
 *  - a chunk being copied is locked: origin writes, snapshot reads and
 *    snapshot writes of it wait for the copy (a snapshot read never sees
 *    an origin write that raced with its copy; never two exceptions for
 *    one chunk); other chunks proceed in parallel;
 *  - exceptions are committed in allocation order, those ready together
 *    with one COW flush and one area write (group commit);
 *  - an origin write that finds a COW full invalidates that snapshot and
 *    goes on; reads of an invalid snapshot fail with -EIO, writes with
 *    -EROFS; a snapshot write that finds a "PO" COW full fails with
 *    -ENOSPC and the snapshot stays valid;
 *  - a copy or commit that fails invalidates the snapshot and fails the
 *    write that needed it (-EIO; the origin is left alone).  When even
 *    the invalidation cannot be written, the snapshot is failed: origin
 *    writes needing a copy into it fail too, so its image survives.
 * The stores stay the caller's; the origin object keeps pointers to them
 * (and to @origin) until they are removed or the object is freed.
 */
struct snapcow_origin;

enum snapcow_io_flags {
	SNAPCOW_IO_FUA = 1 << 0,	/* durable on return (SCSI FUA) */
};

struct snapcow_engine_stats {
	uint64_t copies;		/* chunks copied from the origin */
	uint64_t exceptions;		/* exceptions committed */
	uint64_t commits;		/* group commits (one area write each) */
	uint64_t waits;			/* I/O that waited for a chunk's copy */
	uint64_t invalidations;
};

int snapcow_origin_new(struct snapcow_dev *origin, struct snapcow_origin **op,
		       char *err, size_t errlen);
/* Nothing may be in flight; the devices and stores are not closed. */
void snapcow_origin_free(struct snapcow_origin *o);

/*
 * Take or drop a snapshot at one point in the command stream: origin
 * writes are quiesced meanwhile, so writes acknowledged before are in its
 * image and writes after it are copied.  A new (magic 0) writable COW is
 * formatted as the kernel's activation does.  Snapshots are kept in
 * descending chunk-size order.  Remove waits for the snapshot's I/O.
 */
int snapcow_origin_add_snapshot(struct snapcow_origin *o,
				struct snapcow_store *s, char *err,
				size_t errlen);
int snapcow_origin_remove_snapshot(struct snapcow_origin *o,
				   struct snapcow_store *s, char *err,
				   size_t errlen);

int snapcow_origin_pread(struct snapcow_origin *o, void *buf, size_t len,
			 uint64_t offset, char *err, size_t errlen);
/* @flags: enum snapcow_io_flags. */
int snapcow_origin_pwrite(struct snapcow_origin *o, const void *buf,
			  size_t len, uint64_t offset, unsigned int flags,
			  char *err, size_t errlen);
/* @s must have been added to @o (-ENODEV otherwise). */
int snapcow_snap_pread(struct snapcow_origin *o, struct snapcow_store *s,
		       void *buf, size_t len, uint64_t offset, char *err,
		       size_t errlen);
/* A write covering a whole chunk with no exception skips the origin. */
int snapcow_snap_pwrite(struct snapcow_origin *o, struct snapcow_store *s,
			const void *buf, size_t len, uint64_t offset,
			unsigned int flags, char *err, size_t errlen);
/*
 * Direct I/O, for a caller with asynchronous I/O of its own (snapcowd's
 * io_uring): the engine says where the data of one I/O lives and holds
 * what its own call would hold (a write against new snapshots, a chunk
 * read from the origin against the origin write that would copy it),
 * the caller moves the data through @fd at @offset, then ends it.  Only
 * for what needs no copy and no commit: an origin read; an origin write
 * whose chunks every live snapshot has already copied; a snapshot read
 * or write inside one chunk that is not being copied (a write only to a
 * chunk with an exception).  -EAGAIN for anything else (a copy to make
 * or wait for, a range across chunks, a snapshot being invalidated, a
 * device in memory or with a fault injected): use the calls above, which
 * wait, copy and report.  FUA: the caller flushes @fd (fdatasync) after
 * the write; SYNCHRONIZE CACHE stays snapcow_origin_flush().
 */
struct snapcow_direct {
	int fd;			/* where the data goes or comes from */
	uint64_t offset;	/* byte offset in @fd */
	/* The engine's: what it holds until snapcow_direct_end(). */
	void *hold;
	void *snap;
	unsigned int how;
};

/* @s: a snapshot of @o, NULL for the origin itself. */
int snapcow_direct_begin(struct snapcow_origin *o, struct snapcow_store *s,
			 bool write, size_t len, uint64_t offset,
			 struct snapcow_direct *d);
/* Once the data moved (or failed to): let go of what @d holds. */
void snapcow_direct_end(struct snapcow_origin *o, struct snapcow_direct *d);
/*
 * SYNCHRONIZE CACHE: every write acknowledged before the call is durable
 * when it returns (exceptions are committed before their writes are
 * acknowledged; this flushes the origin and every COW).
 */
int snapcow_origin_flush(struct snapcow_origin *o, char *err, size_t errlen);
void snapcow_origin_get_stats(struct snapcow_origin *o,
			      struct snapcow_engine_stats *stats);

struct json_object;

/* One snapshot's share of the engine's counters. */
struct snapcow_snap_stats {
	uint64_t copies;		/* chunks copied from the origin into it */
	uint64_t exceptions;		/* exceptions committed */
	uint64_t commits;		/* group commits (one area write each) */
};

/*
 * What a served snapshot looks like now, taken under the origin's lock so
 * that no commit is half seen: its store's info and counters (either may
 * be NULL).  0, or -ENODEV when @s is not a snapshot of @o.
 */
int snapcow_origin_snapshot_info(struct snapcow_origin *o,
				 const struct snapcow_store *s,
				 struct snapcow_store_info *info,
				 struct snapcow_snap_stats *stats);
/*
 * snapcow_status_json() of @s, built under the origin's lock (the same
 * document as the offline status).  NULL when out of memory or when @s
 * is not a snapshot of @o.
 */
struct json_object *snapcow_origin_status_json(struct snapcow_origin *o,
					       const struct snapcow_store *s,
					       const struct snapcow_dev *origin);

/* -------------------------------------------------------------- merge */

/*
 * Merge a snapshot back into its origin offline, as the kernel's
 * snapshot-merge target does: from the list's last record backwards, one
 * run of consecutive records (within an area) at a time, copied from the
 * COW to the origin, the origin flushed, then the records zeroed and the
 * area written with PREFLUSH|FUA.  Every step is durable on its own: a
 * merge stopped anywhere resumes, after a fresh load, from the records
 * still on disk (copying a run again is harmless).
 */
struct snapcow_merge_opts {
	/*
	 * Other snapshots of the origin: merge writes go through
	 * snapcow_origin_write(), so their images are kept.
	 */
	struct snapcow_store *const *others;
	unsigned int nothers;
	/*
	 * Optional undo: a snapshot of the origin as it was before the
	 * merge (loaded for writing, the merging store's chunk size).  The
	 * merge refuses to start unless every chunk it will overwrite fits
	 * (see snapcow_merge_backup_bytes), so it can never overflow.
	 */
	struct snapcow_store *backup;
	/* Called after each step with chunks merged / chunks at start. */
	snapcow_progress_fn progress;
	/*
	 * Called before each step's copy with the run about to be merged
	 * (origin chunks old_chunk.. from COW chunks new_chunk..); a
	 * non-zero return stops the merge and is returned.
	 */
	snapcow_run_fn step;
	void *ctx;			/* for progress and step */
	uint64_t max_steps;		/* 0: to the end; else stop after */
	/*
	 * Data copied to the origin between two commits (0: the default,
	 * SNAPCOW_MERGE_BATCH_BYTES): the runs of a batch cost one origin
	 * flush, one write per touched metadata area and one COW flush,
	 * instead of all three per run as in the kernel.
	 */
	uint64_t batch_bytes;
};

#define SNAPCOW_MERGE_BATCH_BYTES	((uint64_t)64 << 20)

struct snapcow_merge_result {
	uint64_t steps;			/* runs merged */
	uint64_t chunks;		/* records merged */
	uint64_t bytes;			/* written to the origin */
	bool complete;			/* the list is empty */
};

/*
 * Merge @s into @origin (both writable).  Returns 0 (with @res, which may
 * be NULL, filled in) or a negative errno with the reason in @err.  A NEW
 * or empty store is complete at once; an invalid one is refused
 * (-EINVAL), as the kernel refuses it.
 */
int snapcow_merge(struct snapcow_dev *origin, struct snapcow_store *s,
		  const struct snapcow_merge_opts *opts,
		  struct snapcow_merge_result *res, char *err, size_t errlen);
/*
 * Bytes a fresh backup COW (the chunk size of @s) needs to hold every
 * chunk a merge of @s overwrites: header, areas and data chunks, with
 * room the kernel would give (snapcow_cow_capacity), at least three.
 */
uint64_t snapcow_merge_backup_bytes(const struct snapcow_store *s);
/*
 * What snapcow_merge checks of opts->backup before it writes anything:
 * a distinct, valid, writable COW of @s's chunk size with room for the
 * merge and, when it holds chunks, the proof that it is this merge's
 * backup (each chunk one the merge overwrites, the origin holding the
 * backup's copy or merged data there).  0, or a negative errno with the
 * chunk and its offsets in @err.
 */
int snapcow_merge_check_backup(struct snapcow_dev *origin,
			       struct snapcow_store *s,
			       struct snapcow_store *backup, char *err,
			       size_t errlen);

/* ------------------------------------------------------------- status */

struct json_object;

/* The kernel's status line: "a/b m", "Invalid".  Returns length. */
int snapcow_status_line(const struct snapcow_store *s, char *buf,
			size_t len);
/* The same from a store's info (snapcow_origin_snapshot_info's). */
int snapcow_status_line_info(const struct snapcow_store_info *info, char *buf,
			     size_t len);
/*
 * Make every string in the JSON document @o valid UTF-8, in place: a
 * string that is not gets each byte starting no valid sequence replaced
 * by U+FFFD, and its exact bytes in hex in a sibling member "<key>_hex"
 * (in an array: a parallel array "<key>_hex", null where nothing was
 * replaced).  0 or -ENOMEM.  snapcow_status_json() calls it.
 */
int snapcow_json_utf8(struct json_object *o);
/*
 * The kernel's IMA measurement string for a snapshot target.  A name
 * has every byte outside '!'..'~' and each of \ , ; = written as \xHH,
 * so that no file name can forge or split a field.
 */
int snapcow_status_ima(const struct snapcow_store *s, const char *origin_name,
		       char *buf, size_t len);
/*
 * The status document (keys from the field table, see fields.h): a new
 * json-c object the caller puts.  @origin may be NULL (no IMA string).
 */
struct json_object *snapcow_status_json(const struct snapcow_store *s,
					const struct snapcow_dev *origin);

/* -------------------------------------------------------------- check */

/*
 * snapcheck's library half: an fsck for a COW device.  Every problem is a
 * rule in one table (stable code such as "SC011", a short name, a
 * severity, a message and what a repair does); a check produces findings
 * that name the rule, and where a record is concerned its area, slot and
 * byte offset.  Repair writes an undo file holding every metadata chunk it
 * changes before it changes anything.
 */

enum snapcow_severity {
	SNAPCOW_SEV_INFO,
	SNAPCOW_SEV_WARNING,	/* harmless to the kernel; exit code 0 */
	SNAPCOW_SEV_ERROR,
	SNAPCOW_SEV_FATAL,	/* the rest of the COW cannot be checked */
};

enum snapcow_rule_id {
	SNAPCOW_RULE_HEADER_MAGIC,	/* SC001 */
	SNAPCOW_RULE_HEADER_VERSION,	/* SC002 */
	SNAPCOW_RULE_HEADER_CHUNK_SIZE,	/* SC003 */
	SNAPCOW_RULE_DEVICE_TOO_SMALL,	/* SC004 */
	SNAPCOW_RULE_HEADER_INVALID,	/* SC005 */
	SNAPCOW_RULE_HEADER_GARBAGE,	/* SC006 */
	SNAPCOW_RULE_NEW_OVER_LIVE,	/* SC007 */
	SNAPCOW_RULE_NEW_COW,		/* SC008 */
	SNAPCOW_RULE_NEW_IN_METADATA,	/* SC010 */
	SNAPCOW_RULE_NEW_PAST_END,	/* SC011 */
	SNAPCOW_RULE_DUP_OLD,		/* SC012 */
	SNAPCOW_RULE_SHARED_NEW,	/* SC013 */
	SNAPCOW_RULE_OLD_PAST_ORIGIN,	/* SC014 */
	SNAPCOW_RULE_STALE_TAIL,	/* SC015 */
	SNAPCOW_RULE_LIST_TRUNCATED,	/* SC016 */
	SNAPCOW_RULE_END_PAST_DEVICE,	/* SC017 */
	SNAPCOW_RULE_STALE_AREA,	/* SC018 */
	SNAPCOW_RULE_NOTHING_LEFT,	/* SC019 */
	SNAPCOW_RULE_LEAKED_CHUNKS,	/* SC020 */
	SNAPCOW_RULE_COUNT
};

struct snapcow_rule {
	const char *code;		/* "SC011": stable, never reused */
	const char *name;		/* "new-past-end" */
	enum snapcow_severity severity;
	const char *message;		/* what was found */
	const char *fix;		/* what -y does; NULL: never fixed */
};

/* The rule table row for @id, or NULL past the end. */
const struct snapcow_rule *snapcow_rule_get(unsigned int id);
const char *snapcow_severity_name(enum snapcow_severity sev);

#define SNAPCOW_NO_POS UINT64_MAX

struct snapcow_finding {
	unsigned int rule;		/* enum snapcow_rule_id */
	uint64_t area;			/* SNAPCOW_NO_POS when not a record */
	uint64_t slot;
	uint64_t offset;		/* byte offset on the COW */
	uint64_t old_chunk;
	uint64_t new_chunk;
	uint64_t count;			/* records or chunks concerned */
	bool fixable;			/* -y can fix this one */
	char text[160];			/* the message, with its numbers */
};

struct snapcow_check_opts {
	uint64_t origin_bytes;		/* 0: origin unknown */
	/*
	 * Optional, for check and repair: bytes of metadata read (check)
	 * or written (repair) so far, and the total expected.
	 */
	snapcow_progress_fn progress;
	void *ctx;			/* for progress */
};

struct snapcow_check_summary {
	enum snapcow_state state;
	uint32_t chunk_size;		/* sectors; 0 when none could be used */
	bool chunk_size_inferred;	/* from the area layout, not the header */
	uint64_t exceptions;		/* records on the list */
	uint64_t areas;
	uint64_t current_area;
	uint64_t current_committed;
	uint64_t next_free;		/* as the kernel computes it */
	uint64_t cow_sectors;
	uint64_t sectors_allocated;	/* next_free * cs */
	uint64_t metadata_sectors;	/* (current_area + 2) * cs */
	uint64_t leaked_chunks;
	uint64_t records_to_drop;	/* what -y would drop */
	uint64_t by_severity[4];	/* findings per enum snapcow_severity */
	uint64_t fixable;		/* findings -y can fix */
};

struct snapcow_check;

/*
 * Check the COW on @cow (read-only access is enough).  Returns 0 with
 * *@cp set, whatever was found, or a negative errno when the device could
 * not be read (then @err says why).  Memory: about 8 bytes per exception
 * (sorted in buckets of 1/256 of them) plus one bit per COW chunk.
 */
int snapcow_check(struct snapcow_dev *cow, const struct snapcow_check_opts *opts,
		  struct snapcow_check **cp, char *err, size_t errlen);
void snapcow_check_free(struct snapcow_check *c);
/* Findings in the order found; returns their number. */
size_t snapcow_check_findings(const struct snapcow_check *c,
			      const struct snapcow_finding **findings);
/* Findings of @rule, including those beyond the stored ones. */
uint64_t snapcow_check_rule_count(const struct snapcow_check *c,
				  unsigned int rule);
void snapcow_check_get_summary(const struct snapcow_check *c,
			       struct snapcow_check_summary *sum);
/* Findings of error or fatal severity: what `snapcheck -n` fails on. */
uint64_t snapcow_check_errors(const struct snapcow_check_summary *sum);

/*
 * Fix every fixable finding of @c on its device, which must be open for
 * writing (exclusively).  First writes @undo_path, which must be new or
 * an empty regular file (-EEXIST otherwise; a file this call created is
 * removed again when it fails before the device is written), holding
 * every metadata chunk that will change, flushed; then rewrites
 * areas in ascending order, each flushed before the next, and the header
 * last.  Returns the number of chunks written (0: nothing to do) or a
 * negative errno.  Check again afterwards: @c describes the old state.
 */
int snapcow_check_repair(struct snapcow_check *c, const char *undo_path,
			 char *err, size_t errlen);
/*
 * The same with the undo file on @undo, opened for writing by the caller
 * (a memory device for tests and fuzzing): written from offset 0 and
 * flushed, grown when it is a regular file; -ENOSPC when it is too small.
 * Syncing its directory is the caller's business.
 */
int snapcow_check_repair_dev(struct snapcow_check *c, struct snapcow_dev *undo,
			     char *err, size_t errlen);
/*
 * Put back what a repair changed, from its undo file.  Refuses (-ESTALE)
 * unless the device has the size recorded and every chunk recorded holds
 * either its old or its repaired contents.  Returns the chunks restored.
 */
int snapcow_check_undo(struct snapcow_dev *cow, const char *undo_path,
		       char *err, size_t errlen);
/* The same, reading the undo file from @undo. */
int snapcow_check_undo_dev(struct snapcow_dev *cow, struct snapcow_dev *undo,
			   char *err, size_t errlen);

/* ------------------------------------------------------------ restore */

/*
 * Write a COW's metadata back from a dump (snapdump --metadata, the
 * thin_restore of snapshots): the header and the records, in allocation
 * order, are laid out as the kernel writes them (areas filled in turn,
 * the area after a full one zeroed) in a sparse image of the COW, which
 * snapcow_check's rules judge before anything is written; then the
 * chunks that differ are rewritten as a repair does (undo file first,
 * areas in order, the header last).
 */
struct snapcow_restore;

/*
 * Start a restore of @hdr onto @cow (open for writing, exclusively):
 * -EINVAL with the reason in @err when the magic, version or chunk size
 * (against @cow's block size) is not one the kernel takes, or @cow is
 * too small for a header, an area and a data chunk.
 */
int snapcow_restore_new(struct snapcow_dev *cow,
			const struct snapcow_header *hdr,
			struct snapcow_restore **rp, char *err, size_t errlen);
void snapcow_restore_free(struct snapcow_restore *m);
/*
 * Append the next record.  -EINVAL when @new_chunk is 0 (it would end
 * the list) or the record's area lies past the device's end.
 */
int snapcow_restore_add(struct snapcow_restore *m, uint64_t old_chunk,
			uint64_t new_chunk, char *err, size_t errlen);
/* Records added so far. */
uint64_t snapcow_restore_count(const struct snapcow_restore *m);
/*
 * Judge the image with snapcheck's rules, the records as if the header
 * were valid: 0, or -EINVAL with the first error in @err ("SC012
 * dup-old: ...") and the record it is about: its index in *@index
 * (SNAPCOW_NO_POS when it is about no record) and itself in *@rec.
 */
int snapcow_restore_check(struct snapcow_restore *m, uint64_t *index,
			  struct snapcow_record *rec, char *err,
			  size_t errlen);
/*
 * Write what differs (check first): the undo file @undo_path (new or
 * empty; snapcow_check_undo replays it), then the areas up to the one
 * after the list's end, each flushed, then the header.  Returns the
 * chunks written (0: the COW already held the dump) or -errno.
 */
int snapcow_restore_write(struct snapcow_restore *m, const char *undo_path,
			  char *err, size_t errlen);

/* ---------------------------------------------------------- cfgstring */

/*
 * What snapcowd serves for one TCMU device: its configuration string,
 * after the "snapcow/" subtype (the kernel's dev_config attribute):
 *
 *	cfgstring := item [';' item]...
 *	item      := 'origin=' PATH | 'cow=' PATH | 'snapshot=' PATH
 *
 * ';' separates, as in tcmu-runner's handlers: the kernel cuts a configfs
 * control string at ','.  An origin LUN: origin= and any cow= (its
 * snapshots); a snapshot LUN: snapshot=COW and origin=.
 */
#define SNAPCOW_CFG_COWS_MAX	16

struct snapcow_cfgstring {
	char origin[PATH_MAX];
	char snapshot[PATH_MAX];	/* a snapshot's COW; "" for an origin */
	char cows[SNAPCOW_CFG_COWS_MAX][PATH_MAX];
	int n_cows;
};

/*
 * The grammar only (paths are taken as written): 0, or -errno with @err
 * naming the item and the rule it broke.
 */
int snapcow_cfgstring_parse(const char *s, struct snapcow_cfgstring *cfg,
			    char *err, size_t errlen);
/* @cfg as a cfgstring (origin or snapshot first); -ENAMETOOLONG. */
int snapcow_cfgstring_format(const struct snapcow_cfgstring *cfg, char *out,
			     size_t len);
/* Remove cow item @i; -ENOENT when there is none. */
int snapcow_cfgstring_drop_cow(struct snapcow_cfgstring *cfg, int i);

/* ----------------------------------------------------------------- dm */

/*
 * Live devices through libdevmapper (root, dm-mod and dm-snapshot).  A
 * pair called NAME is two devices: NAME, a snapshot-origin over the
 * origin (write the origin through it, or the snapshot misses the
 * writes), and NAME-snap, the snapshot.  Activation follows lvm2: the
 * snapshot is live before the origin is resumed, so the origin splits
 * writes at the chunk size.  Nodes appear under /dev/mapper; without
 * udev (or with DM_DISABLE_UDEV set) libdm creates them itself.  The
 * devices carry the uuid "SNAPCOW-<device name>"; deactivation removes
 * no other.  Messages name the device and the step that failed.  Safe
 * to call from several threads: libdm keeps process-wide state, so the
 * calls take one lock in turn; libdm's log function is borrowed during
 * each call and reset to libdm's default afterwards.
 */
#define SNAPCOW_DM_SNAP_SUFFIX	"-snap"

struct snapcow_dm_spec {
	const char *name;
	const char *origin;		/* block device */
	const char *cow;		/* block device */
	uint32_t chunk_sectors;		/* 0: as the header says */
	bool overflow;			/* "PO" rather than "P" */
};

struct snapcow_dm_status {
	char device[128];		/* "NAME-snap" */
	char target[32];		/* "snapshot" or "snapshot-merge" */
	uint64_t start;			/* sectors */
	uint64_t length;
	char line[128];			/* as dmsetup prints it */
	/*
	 * VALID or MERGING ("a/b m"), INVALID, OVERFLOW, MERGE_FAILED,
	 * or UNKNOWN for anything else.
	 */
	enum snapcow_state state;
	bool has_usage;			/* the three below are set */
	uint64_t sectors_allocated;
	uint64_t cow_sectors;
	uint64_t metadata_sectors;
	uint32_t event_nr;		/* the device's event counter */
};

/* A device's table line and identity, as `dmsetup table` and info. */
struct snapcow_dm_device {
	char dm_name[128];		/* NAME or NAME-snap */
	char target[32];		/* snapshot-origin, snapshot, ... */
	uint64_t start;			/* sectors */
	uint64_t length;
	char uuid[160];			/* "SNAPCOW-" and dm_name */
};

/* 0 when NAME makes valid device names, else -EINVAL and *@why. */
int snapcow_dm_name_check(const char *name, const char **why);
/* 0, or -ENODEV when there is no /dev/mapper/control. */
int snapcow_dm_available(char *err, size_t errlen);
/*
 * Create NAME and NAME-snap.  Refuses (-EEXIST) when either exists, and
 * leaves nothing behind when a step fails.
 */
int snapcow_dm_activate(const struct snapcow_dm_spec *spec, char *err,
			size_t errlen);
/*
 * What snapcow_dm_activate refuses, checked without creating anything:
 * the name, block devices, and neither NAME nor NAME-snap existing.
 */
int snapcow_dm_activate_check(const struct snapcow_dm_spec *spec, char *err,
			      size_t errlen);
/*
 * Remove every snapshot of NAME (with NAME suspended meanwhile), then
 * NAME.  -ENXIO when neither NAME nor NAME-snap exists, -EBUSY when one
 * is open, -EPERM when one was not made by snapcow.
 */
int snapcow_dm_deactivate(const char *name, char *err, size_t errlen);
/*
 * The devices snapcow_dm_activate made: @devs[0] is NAME (the origin),
 * @devs[1] NAME-snap.  -ENXIO when either does not exist.
 */
int snapcow_dm_devices(const char *name, struct snapcow_dm_device devs[2],
		       char *err, size_t errlen);
/*
 * Another snapshot of the active origin NAME (made by activate), as lvm2
 * adds one: the new snapshot's table created and resumed while the
 * origin is suspended.  @snap_name NULL takes the first free of
 * NAME-snap, NAME-snap2, ...; the name made is copied to @snap_name_out.
 * -EBUSY when NAME is merging, -EEXIST when the name is taken.
 */
struct snapcow_dm_snap_spec {
	const char *origin_name;
	const char *snap_name;
	const char *cow;		/* block device */
	uint32_t chunk_sectors;		/* the COW's: the caller decides */
	bool overflow;
};
int snapcow_dm_snapshot_add(const struct snapcow_dm_snap_spec *spec,
			    char *snap_name_out, size_t name_len, char *err,
			    size_t errlen);
/* Remove snapshot @snap of NAME, with NAME suspended meanwhile. */
int snapcow_dm_snapshot_remove(const char *name, const char *snap,
			       char *err, size_t errlen);
/*
 * Live merge of snapshot SNAP into the active origin NAME, as lvconvert
 * --merge (lib/dm-merge.c): start switches NAME to snapshot-merge (the
 * kernel's handover from SNAP) and removes SNAP; *@resumed when NAME was
 * already merging (a stopped run's steps are finished).  Follow it with
 * merge_status (NAME's target status: done when sectors_allocated ==
 * metadata_sectors), then merge_finish, which reloads NAME as a plain
 * origin (-EBUSY before the end).
 */
int snapcow_dm_merge_start(const char *name, const char *snap, bool *resumed,
			   char *err, size_t errlen);
int snapcow_dm_merge_status(const char *name, struct snapcow_dm_status *st,
			    char *err, size_t errlen);
int snapcow_dm_merge_finish(const char *name, char *err, size_t errlen);
/*
 * Activate NAME as a merging origin (snapshot-merge of spec->cow into
 * spec->origin): a merge stopped by deactivate or a reboot goes on.
 * A NULL @snap for merge_start then means "the merge NAME is running".
 */
int snapcow_dm_activate_merging(const struct snapcow_dm_spec *spec,
				char *err, size_t errlen);
/* The path of the block device under the active origin NAME. */
int snapcow_dm_origin_device(const char *name, char *path, size_t len,
			     char *err, size_t errlen);
/*
 * Wait until the event counter of NAME's snapshot @snap (NULL: NAME-snap,
 * activate's) passes *@event_nr (the
 * kernel's DM_DEV_WAIT: dm-snapshot raises an event when a snapshot is
 * invalidated or a merge ends, not when its usage grows), then set
 * *@event_nr to the new count.  A signal ends the wait with -EINTR.
 * -ENXIO when the device is gone.  Holds the dm layer's lock meanwhile:
 * for a single-threaded caller.
 */
int snapcow_dm_wait_event(const char *name, const char *snap,
			  uint32_t *event_nr, char *err, size_t errlen);
/*
 * The live status of the active origin NAME's snapshot @snap, which must
 * be one of its snapshots (-ENXIO, saying so, when not), or of NAME-snap
 * (activate's) when @snap is NULL; -ENXIO when it does not exist.
 */
int snapcow_dm_status(const char *name, const char *snap,
		      struct snapcow_dm_status *st, char *err, size_t errlen);

/* A snapshot snapcow put live, as the kernel has it now. */
struct snapcow_dm_snapshot {
	char name[128];			/* its active origin NAME ("": none) */
	char origin[PATH_MAX];		/* /dev/... (else "major:minor") */
	char cow[PATH_MAX];
	uint32_t chunk_sectors;		/* the table's */
	bool overflow;			/* "PO" */
	struct snapcow_dm_status status;	/* .device: its dm name */
};

/*
 * Every snapshot device snapcow made (dm uuid "SNAPCOW-<its name>", a
 * snapshot table: NAME-snap, NAME-snap2, ...), with the origin NAME
 * over the same device, by NAME then device name: *@list (free() it) of
 * *@n.  0 with none when device-mapper is not available; else -errno
 * with the reason in @err.
 */
int snapcow_dm_list(struct snapcow_dm_snapshot **list, size_t *n, char *err,
		    size_t errlen);

/* --------------------------------------------------------------- list */

/*
 * One row of `snapctl list`: a live snapshot, activated with
 * device-mapper (kind "dm") or served by snapcowd (kind "served").  The
 * caller sets the names (NULL: JSON null), then the rest from a store's
 * info or a dm snapshot.
 */
struct snapcow_list_row {
	const char *kind;		/* "dm" or "served" */
	const char *name;		/* dm: the origin NAME; served: a VOL */
	const char *dm_name;		/* the snapshot's dm device, or NULL */
	const char *vol;		/* the snapshot's LUN, NULL when none */
	const char *origin_vol;		/* the origin's LUN, NULL when none */
	const char *origin;
	const char *cow;
	uint32_t chunk_sectors;		/* 0: unknown */
	const char *state;
	char line[128];			/* the kernel's status line */
	bool has_usage;			/* the three below are known */
	uint64_t sectors_allocated;
	uint64_t cow_sectors;
	uint64_t metadata_sectors;
};

int snapcow_list_row_info(struct snapcow_list_row *row,
			  const struct snapcow_store_info *info);
void snapcow_list_row_dm(struct snapcow_list_row *row,
			 const struct snapcow_dm_snapshot *d);
/* The row as a JSON object (keys as above); NULL when out of memory. */
struct json_object *snapcow_list_row_json(const struct snapcow_list_row *row);

#ifdef __cplusplus
}
#endif

#endif /* SNAPCOW_H */
