// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: the plain loader, as snapctl status and snapdump use
 * it, on a read-only memory device: load, every record (past the end
 * too), every run, and the status line, IMA string and JSON.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "snapcow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_record(void *ctx, const struct snapcow_record_pos *rec)
{
	(void)rec;
	++*(uint64_t *)ctx;
	return 0;
}

static int count_run(void *ctx, uint64_t old_chunk, uint64_t new_chunk,
		     uint64_t count)
{
	(void)old_chunk;
	(void)new_chunk;
	*(uint64_t *)ctx += count;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[SNAPCOW_ERRBUF_SIZE], line[256];
	struct snapcow_store *s = NULL;
	struct snapcow_dev *dev;
	struct json_object *j;
	uint64_t n = 0;
	void *buf;

	if (size > (4u << 20))
		return 0;
	buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	if (snapcow_dev_open_memory(buf, size, false, "fuzz", &dev))
		abort();
	if (!snapcow_store_load(dev, 0, 0, &s, err, sizeof(err))) {
		snapcow_store_foreach_record(s, false, count_record, &n);
		snapcow_store_foreach_record(s, true, count_record, &n);
		snapcow_store_foreach_run(s, count_run, &n);
		snapcow_status_line(s, line, sizeof(line));
		snapcow_status_ima(s, "253:11", line, sizeof(line));
		j = snapcow_status_json(s, NULL);
		json_object_put(j);
		snapcow_store_free(s);
	}
	snapcow_dev_close(dev);
	if (memcmp(buf, data, size))
		abort();
	free(buf);
	return 0;
}
