/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What snapcowd serves, as the JSON documents `snapctl list` and
 * `snapctl status --served` print: built from the shared registry
 * (shared.h) and libsnapcow's status code, so a served snapshot's
 * document is the offline `snapctl status --json` document of its COW
 * plus the counters below.  Main thread only (the registry's rule).
 *
 * VOL is a LUN's backstore name (configfs user_N/VOL; "user_N/VOL" is
 * taken too).  Counters, under "counters": read_count, write_count and
 * error_count are VOL's SCSI READ and WRITE commands and its failed
 * commands (atomics of the LUN's workers); copy_count and commit_count
 * are the engine's chunks copied into the snapshot's COW and its area
 * writes.
 */
#ifndef SNAPCOWD_SERVED_H
#define SNAPCOWD_SERVED_H

#include <stddef.h>

/* Why a status request is refused (the D-Bus error names them). */
enum served_refusal {
	SERVED_NO_DEVICE = 1,	/* no LUN called VOL */
	SERVED_NO_SNAPSHOT,	/* VOL serves no such snapshot */
	SERVED_AMBIGUOUS,	/* an origin with several: --cow needed */
};

/*
 * Every snapshot served, one `snapctl list` row each (kind "served"),
 * ordered by COW path: a JSON array in *@out (free() it).  0 or -ENOMEM.
 */
int served_list_json(char **out);
/*
 * The status document of VOL's snapshot: a snapshot LUN's COW, or the
 * origin LUN's COW @cow ("": its only one).  0 with *@out (free() it), a
 * positive enum served_refusal with @err saying why, or -ENOMEM.
 */
int served_status_json(const char *vol, const char *cow, char **out,
		       char *err, size_t len);
/* Snapshots served: the rows served_list_json() gives. */
unsigned int served_count(void);

#endif /* SNAPCOWD_SERVED_H */
