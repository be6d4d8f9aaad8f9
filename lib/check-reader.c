// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The checker's area reader: a thread that reads the metadata areas in
 * list order into a ring of buffers while the walk decodes the ones
 * before, so a cold check costs about the reading alone instead of the
 * reading plus the decoding.  The reader is the only thread that does
 * I/O on the COW while the walk runs, so the device layer needs no lock;
 * its error message is copied out with the failed area.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util.h"

struct sc_area_reader {
	struct snapcow_check *c;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned char *ring;		/* depth buffers of one chunk */
	uint64_t depth;
	uint64_t read;			/* areas read: 0 .. read - 1 */
	uint64_t released;		/* areas the walk is done with */
	uint64_t end;			/* first area not on the device */
	bool stop;
	int err;			/* reading area @read failed */
	char msg[SNAPCOW_ERRBUF_SIZE];
};

static unsigned char *slot(struct sc_area_reader *rd, uint64_t area)
{
	return rd->ring + (area % rd->depth) * rd->c->chunk_bytes;
}

/*
 * Keep the next areas in flight while this one is read: the list is
 * read in order, one chunk every epa + 1, a stride the kernel's own
 * read-ahead does not follow.  Only a hint: errors are ignored.
 */
static void read_ahead(struct snapcow_check *c, uint64_t area)
{
	uint64_t end = area + 1 + sc_readahead_areas(c->chunk_bytes);

	c->ra_next = MAX(c->ra_next, area + 1);
	for (; c->ra_next < end && sc_check_area_on_device(c, c->ra_next);
	     c->ra_next++)
		snapcow_dev_readahead(c->cow,
				      sc_check_area_offset(c, c->ra_next),
				      c->chunk_bytes);
}

/* Wait for a free buffer; false when told to stop. */
static bool reader_wait_room(struct sc_area_reader *rd)
{
	bool go;

	pthread_mutex_lock(&rd->lock);
	while (!rd->stop && rd->read - rd->released >= rd->depth)
		pthread_cond_wait(&rd->cond, &rd->lock);
	go = !rd->stop;
	pthread_mutex_unlock(&rd->lock);
	return go;
}

static void *reader_main(void *arg)
{
	struct sc_area_reader *rd = arg;
	struct snapcow_check *c = rd->c;
	uint64_t area;
	int r;

	for (area = 0; area < rd->end && reader_wait_room(rd); area++) {
		read_ahead(c, area);
		r = snapcow_dev_read(c->cow, slot(rd, area), c->chunk_bytes,
				     sc_check_area_offset(c, area));
		pthread_mutex_lock(&rd->lock);
		if (r) {
			rd->err = r;
			snprintf(rd->msg, sizeof(rd->msg), "%s",
				 snapcow_dev_error(c->cow));
		} else {
			rd->read++;
		}
		pthread_cond_broadcast(&rd->cond);
		pthread_mutex_unlock(&rd->lock);
		if (r)
			break;
	}
	return NULL;
}

int sc_area_reader_start(struct snapcow_check *c, uint64_t end,
			 struct sc_area_reader **rdp)
{
	struct sc_area_reader *rd = calloc(1, sizeof(*rd));
	int r;

	*rdp = NULL;
	if (!rd)
		return sc_check_errf(c, -ENOMEM, "out of memory");
	rd->c = c;
	rd->end = end;
	rd->depth = sc_readahead_areas(c->chunk_bytes);
	rd->ring = malloc(rd->depth * c->chunk_bytes);
	pthread_mutex_init(&rd->lock, NULL);
	pthread_cond_init(&rd->cond, NULL);
	r = rd->ring ? -pthread_create(&rd->thread, NULL, reader_main, rd) :
		       -ENOMEM;
	if (r) {
		free(rd->ring);
		free(rd);
		return sc_check_errf(c, r, "starting the area reader: %s",
				     strerror(-r));
	}
	*rdp = rd;
	return 0;
}

/*
 * Area @area (the one after the last released) in *@buf, or the read's
 * error (a negative errno, the message in the check).
 */
int sc_area_reader_get(struct sc_area_reader *rd, uint64_t area,
		       const void **buf)
{
	int err = 0;

	pthread_mutex_lock(&rd->lock);
	while (rd->read <= area && !rd->err)
		pthread_cond_wait(&rd->cond, &rd->lock);
	if (rd->read <= area)
		err = rd->err;
	pthread_mutex_unlock(&rd->lock);
	if (err)
		return sc_check_errf(rd->c, err, "%s", rd->msg);
	*buf = slot(rd, area);
	return 0;
}

void sc_area_reader_release(struct sc_area_reader *rd)
{
	pthread_mutex_lock(&rd->lock);
	rd->released++;
	pthread_cond_broadcast(&rd->cond);
	pthread_mutex_unlock(&rd->lock);
}

void sc_area_reader_stop(struct sc_area_reader *rd)
{
	if (!rd)
		return;
	pthread_mutex_lock(&rd->lock);
	rd->stop = true;
	pthread_cond_broadcast(&rd->cond);
	pthread_mutex_unlock(&rd->lock);
	pthread_join(rd->thread, NULL);
	pthread_mutex_destroy(&rd->lock);
	pthread_cond_destroy(&rd->cond);
	free(rd->ring);
	free(rd);
}
