// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapctl write: a write to the origin (or into the snapshot) done as the
 * kernel does it, through the library's engine.  Test suites use it to
 * put exceptions on a COW without a kernel.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "snapctl.h"

/* Big enough to amortise commits, small enough for --fill of a disk. */
#define PIECE_BYTES	(4u << 20)

static const struct cli cli = {
	.cmd = "snapctl write",
	.args = "[OPTION...] ORIGIN COW OFFSET",
	.summary = "Write to ORIGIN at byte OFFSET as the kernel does for a "
		   "snapshot-origin write:\nevery chunk the snapshot on COW "
		   "has no exception for is first copied to COW.\nWith "
		   "--snapshot, write into the snapshot instead (ORIGIN is "
		   "left untouched).",
	.details = "Data comes from --input FILE, --fill BYTE or standard "
		   "input (not a terminal).\nInput that is not a regular "
		   "file is read whole before anything is written.\nA COW "
		   "that fills up is invalidated, as the kernel does: a "
		   "warning after an\norigin write, an error (exit status "
		   "1) after a snapshot write.\nPass every other snapshot "
		   "of ORIGIN with --keep: an origin write copies\ninto "
		   "them too, as the kernel does.\n",
};

struct write_opts {
	char *input;
	char *fill;
	char *length;
	char *chunk;
	char **keep;		/* POPT_ARG_ARGV: strdup'd, NULL-ended */
	int snapshot;
};

/* Where the data comes from and how much of it there is. */
struct source {
	int fd;			/* -1 for --fill */
	uint8_t fill;
	uint64_t length;
	uint8_t *whole;		/* non-seekable input, read up front */
};

struct target {
	struct snapcow_dev *origin;
	struct snapcow_dev *cow;
	struct kept kept;		/* --keep */
	/* The COW's store, then the kept ones: every snapshot of ORIGIN. */
	struct snapcow_store **stores;
	bool snapshot;
};

static int read_full(int fd, void *buf, size_t len, size_t *got)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, (uint8_t *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	*got = done;
	return 0;
}

/*
 * A pipe cannot be checked for length before the first write, so it is
 * read whole: up to --length bytes, or one byte more than fits so that
 * an overlong input is refused before anything is written.
 */
static int slurp(struct source *src, const char *name, uint64_t room,
		 bool have_length)
{
	uint64_t want = have_length ? src->length : room + 1;
	size_t cap = 0, len = 0, got, req;
	uint8_t *p;
	int r;

	do {
		if (len == cap) {
			cap = cap ? 2 * cap : 65536;
			if (cap > want)
				cap = want;
			p = realloc(src->whole, cap ? cap : 1);
			if (!p) {
				error_msg("%s: cannot buffer %zu bytes: %s",
					  name, cap, strerror(ENOMEM));
				return -ENOMEM;
			}
			src->whole = p;
		}
		req = cap - len;
		r = read_full(src->fd, src->whole + len, req, &got);
		if (r < 0) {
			error_msg("%s: read error: %s", name, strerror(-r));
			return r;
		}
		len += got;
	} while (got == req && len < want);
	if (have_length && len < want) {
		error_msg("%s: ends after %zu byte%s, --length asks for %"
			  PRIu64, name, len, plural(len), want);
		return -EIO;
	}
	src->length = len;
	return 0;
}

static int open_input(const struct write_opts *o, struct source *src,
		      uint64_t room, bool have_length)
{
	const char *name = o->input ? o->input : "standard input";
	struct stat st;

	src->fd = o->input ? open(o->input, O_RDONLY | O_CLOEXEC) :
			     STDIN_FILENO;
	if (src->fd < 0 || fstat(src->fd, &st) < 0) {
		error_msg("%s: cannot open: %s", name, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode))
		return slurp(src, name, room, have_length);
	if (!have_length) {
		src->length = (uint64_t)st.st_size;
	} else if (src->length > (uint64_t)st.st_size) {
		error_msg("%s: holds %" PRIu64 " byte%s, --length asks for %"
			  PRIu64, name, (uint64_t)st.st_size,
			  plural((uint64_t)st.st_size), src->length);
		return -EINVAL;
	}
	return 0;
}

static int fill_piece(struct source *src, uint8_t *buf, size_t len,
		      uint64_t done, const char *name)
{
	size_t got;
	int r;

	if (src->fd < 0) {
		memset(buf, src->fill, len);
		return 0;
	}
	r = read_full(src->fd, buf, len, &got);
	if (r < 0 || got < len) {
		/* The file shrank under us, or read failed. */
		error_msg("%s: read error at byte %" PRIu64 ": %s", name,
			  done + got, r < 0 ? strerror(-r) : "short read");
		return r < 0 ? r : -EIO;
	}
	return 0;
}

static int engine_write(struct target *t, const void *buf, size_t len,
			uint64_t offset)
{
	char err[SNAPCOW_ERRBUF_SIZE];
	int r;

	if (t->snapshot)
		r = snapcow_snapshot_write(t->origin, t->stores[0], buf, len,
					   offset, err, sizeof(err));
	else
		r = snapcow_origin_write(t->origin, t->stores, 1 + t->kept.n,
					 buf, len, offset, err, sizeof(err));
	if (r < 0)
		lib_error(r, err, "%s: %s write of %zu byte%s at offset %"
			  PRIu64 " failed", snapcow_dev_path(t->cow),
			  t->snapshot ? "snapshot" : "origin", len,
			  plural(len), offset);
	return r;
}

static int write_all(struct target *t, struct source *src, uint64_t offset,
		     const char *name)
{
	uint64_t done = 0, n;
	uint8_t *buf;
	int r = 0;

	if (src->whole)
		return src->length ? engine_write(t, src->whole, src->length,
						  offset) : 0;
	buf = malloc(PIECE_BYTES);
	if (!buf) {
		error_msg("%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	while (done < src->length && !r) {
		/*
		 * Pieces end on PIECE_BYTES boundaries, so on chunk ones
		 * for chunks up to that size; a larger chunk split in two
		 * is copied out by the first piece, as the kernel would.
		 */
		n = PIECE_BYTES - (offset + done) % PIECE_BYTES;
		if (n > src->length - done)
			n = src->length - done;
		r = fill_piece(src, buf, n, done, name);
		r = r ?: engine_write(t, buf, n, offset + done);
		done += n;
	}
	free(buf);
	return r;
}

/* The COW's store followed by the kept ones, as the engine takes them. */
static int gather_stores(struct target *t)
{
	t->stores = calloc(1 + t->kept.n, sizeof(*t->stores));
	if (!t->stores) {
		error_msg("%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	memcpy(t->stores + 1, t->kept.stores, t->kept.n * sizeof(*t->stores));
	return 0;
}

/* Open the devices and load the stores as active snapshots would be. */
static int open_target(const char *origin_path, const char *cow_path,
		       char *const *keep, uint32_t cs, struct target *t)
{
	/*
	 * A snapshot write only reads the origin.  A new COW is formatted
	 * by the library on the first allocation, as on activation.
	 */
	unsigned int oflags = SNAPCOW_DEV_EXCL |
			      (t->snapshot ? 0 : SNAPCOW_DEV_WRITE);
	int r;

	/* Before the exclusive opens, which would only say "busy". */
	r = check_paths_distinct(origin_path, "origin", cow_path, "COW",
				 RULE_COW_ON_ORIGIN);
	r = r ?: kept_check_paths(origin_path, cow_path, NULL, keep);
	r = r ?: open_dev(origin_path, oflags, &t->origin);
	r = r ?: open_dev(cow_path, SNAPCOW_DEV_EXCL | SNAPCOW_DEV_WRITE,
			  &t->cow);
	r = r ?: check_distinct(t->origin, "origin", t->cow, "COW",
				RULE_COW_ON_ORIGIN);
	r = r ?: kept_open(&t->kept, keep, t->origin, t->cow);
	r = r ?: gather_stores(t);
	r = r ?: load_store(t->cow, cs, SNAPCOW_STORE_WRITE, &t->stores[0]);
	if (r < 0 || !t->snapshot || snapcow_store_valid(t->stores[0]))
		return r;
	error_msg("%s: snapshot is invalid: the kernel fails every I/O to it",
		  cow_path);
	return -EIO;
}

static void close_target(struct target *t)
{
	snapcow_store_free(t->stores ? t->stores[0] : NULL);
	free(t->stores);
	kept_close(&t->kept);
	snapcow_dev_close(t->cow);
	snapcow_dev_close(t->origin);
}

static int check_room(const char *origin, uint64_t len, uint64_t offset,
		      uint64_t size)
{
	if (len <= size - offset)
		return 0;
	error_msg("%s: writing %" PRIu64 " byte%s at offset %" PRIu64 " would "
		  "end past the origin's end (%" PRIu64 " bytes)", origin,
		  len, plural(len), offset, size);
	return -EINVAL;
}

static int run(const char **args, const struct write_opts *o,
	       struct source *src, uint64_t offset, uint32_t cs)
{
	const char *name = o->input ? o->input :
			   o->fill ? "--fill" : "standard input";
	struct target t = { .snapshot = o->snapshot };
	struct snapcow_store_info before, after;
	uint64_t size;
	int r;

	r = open_target(args[0], args[1], o->keep, cs, &t);
	if (r < 0)
		goto out;
	size = snapcow_dev_size(t.origin);
	if (offset > size) {
		error_msg("%s: offset %" PRIu64 " is past the origin's end (%"
			  PRIu64 " bytes)", args[0], offset, size);
		r = -EINVAL;
		goto out;
	}
	r = check_room(args[0], src->length, offset, size);
	if (r == 0 && src->fd >= 0) {
		r = open_input(o, src, size - offset, o->length != NULL);
		r = r ?: check_room(args[0], src->length, offset, size);
	}
	if (r < 0)
		goto out;
	snapcow_store_get_info(t.stores[0], &before);
	r = write_all(&t, src, offset, name);
	if (r < 0)
		goto out;
	snapcow_store_get_info(t.stores[0], &after);
	if (before.state != SNAPCOW_STATE_INVALID &&
	    after.state == SNAPCOW_STATE_INVALID)
		warn_msg("%s: COW full: snapshot invalidated, as the kernel "
			 "does on overflow", args[1]);
	verbose_msg("wrote %" PRIu64 " byte%s at offset %" PRIu64 " to the "
		    "%s; exceptions %" PRIu64 " -> %" PRIu64, src->length,
		    plural(src->length), offset,
		    o->snapshot ? "snapshot" : "origin", before.exceptions,
		    after.exceptions);
out:
	close_target(&t);
	return r;
}

static int parse_args(const char *off_arg, const struct write_opts *o,
		      struct source *src, uint64_t *offset)
{
	if (parse_size(off_arg, offset) < 0)
		return usage_error(&cli, "OFFSET %s: not a size", off_arg);
	if (o->length && parse_size(o->length, &src->length) < 0)
		return usage_error(&cli, "--length %s: not a size", o->length);
	if (o->input && o->fill)
		return usage_error(&cli, "--input and --fill exclude each "
				   "other");
	if (!o->fill && !o->input && isatty(STDIN_FILENO))
		return usage_error(&cli, "standard input is a terminal: the "
				   "data is read from standard input; redirect "
				   "it, or give --input FILE or --fill BYTE");
	if (!o->fill)
		return 0;
	if (parse_byte(o->fill, &src->fill) < 0)
		return usage_error(&cli, "--fill %s: not a byte (0-255 or "
				   "0x00-0xff)", o->fill);
	if (!o->length)
		return usage_error(&cli, "--fill needs --length");
	src->fd = -1;
	return 0;
}

int cmd_write(int argc, const char **argv)
{
	struct write_opts o = { 0 };
	struct source src = { .fd = STDIN_FILENO };
	const char **args;
	uint64_t offset;
	uint32_t cs;
	int n, rc;
	struct poptOption options[] = {
		{ "input", 'i', POPT_ARG_STRING, &o.input, OPT_STRING,
		  "read the data from FILE (default: standard input)",
		  "FILE" },
		{ "fill", 'f', POPT_ARG_STRING, &o.fill, OPT_STRING,
		  "write BYTE repeated --length times", "BYTE" },
		{ "length", 'l', POPT_ARG_STRING, &o.length, OPT_STRING,
		  "bytes to write (default: all of the input)", "SIZE" },
		{ "snapshot", 's', POPT_ARG_NONE, &o.snapshot, 0,
		  "write into the snapshot, not the origin", NULL },
		{ "chunk-size", 'c', POPT_ARG_STRING, &o.chunk, OPT_STRING,
		  "the table's chunk size (default: from the header)",
		  "SIZE" },
		KEEP_OPTION(&o.keep),
		COMMON_OPTIONS,
		POPT_TABLEEND
	};
	poptContext ctx = poptGetContext(NULL, argc, argv, options, 0);

	rc = cli_parse(ctx, &cli, options);
	if (rc >= 0)
		goto out;
	args = cli_args(ctx, &n);
	if (n != 3) {
		rc = usage_error(&cli, n > 3 ? "too many arguments" :
				 "expected ORIGIN COW OFFSET");
		goto out;
	}
	rc = parse_args(args[2], &o, &src, &offset);
	if (!rc && o.snapshot && o.keep)
		rc = usage_error(&cli, "--keep is for origin writes: a write "
				 "into the snapshot (--snapshot) changes no "
				 "other snapshot");
	rc = rc ?: cli_chunk_size(&cli, args[1], o.chunk, 0, &cs);
	if (rc)
		goto out;
	rc = run(args, &o, &src, offset, cs) < 0 ? EXIT_FAIL : EXIT_OK;
out:
	if (src.fd > STDIN_FILENO)
		close(src.fd);
	free(src.whole);
	free(o.input);
	free(o.fill);
	free(o.length);
	free(o.chunk);
	kept_free_paths(o.keep);
	poptFreeContext(ctx);
	return rc;
}
