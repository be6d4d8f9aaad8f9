/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Rewriting metadata chunks with an undo file first (rewrite.c): what a
 * repair (repair.c) and a restore (meta-restore.c) share.  The caller's
 * plan emits every chunk it wants written, in write order; it is run
 * twice: once to save the old contents of the chunks that change into
 * the undo file (undo.h's layout, flushed, its name synced), then to
 * write them, each flushed before the next.  Chunks that already hold
 * what the plan emits are neither saved nor written.
 */
#ifndef SNAPCOW_REWRITE_H
#define SNAPCOW_REWRITE_H

#include "snapcow.h"

/* Where a plan sends each chunk: @buf holds the chunk's new contents. */
typedef int (*sc_chunk_fn)(void *sink, uint64_t offset, const void *buf);
/* Emit every chunk through @fn; -errno stops (the plan's message). */
typedef int (*sc_plan_fn)(void *plan, sc_chunk_fn fn, void *sink);

struct sc_rewrite {
	struct snapcow_dev *cow;	/* open for writing, exclusively */
	uint64_t chunk_bytes;
	sc_plan_fn plan;
	void *plan_ctx;
	snapcow_progress_fn progress;	/* optional: bytes written */
	void *progress_ctx;
	char *err;			/* the message, plan's or ours */
	size_t errlen;
};

/*
 * Save the undo file (to @undo_path, which must be new or an empty
 * regular file, or else to @undo_dev, opened for writing by the caller),
 * then write.  Returns the chunks written or -errno with @w->err set.
 */
int sc_rewrite(const struct sc_rewrite *w, const char *undo_path,
	       struct snapcow_dev *undo_dev);

#endif /* SNAPCOW_REWRITE_H */
