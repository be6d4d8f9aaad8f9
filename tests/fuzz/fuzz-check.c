// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: the checker, repair and undo, all in memory (the COW
 * and the undo file are memory devices).  Invariants beyond "no crash":
 * a check never writes, after a repair no fixable error is left, and the
 * undo file puts back every byte the repair changed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define MAX_INPUT (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct snapcow_check *check(struct snapcow_dev *dev)
{
	struct snapcow_check *c = NULL;
	char err[SNAPCOW_ERRBUF_SIZE];

	if (snapcow_check(dev, NULL, &c, err, sizeof(err)) < 0)
		return NULL;
	return c;
}

static void assert_no_fixable_error(const struct snapcow_check *c)
{
	const struct snapcow_finding *f;
	size_t i, n = snapcow_check_findings(c, &f);

	for (i = 0; i < n; i++) {
		const struct snapcow_rule *r = snapcow_rule_get(f[i].rule);

		if (r->severity >= SNAPCOW_SEV_ERROR && f[i].fixable) {
			fprintf(stderr, "left after repair: %s %s\n", r->code,
				f[i].text);
			abort();
		}
	}
}

/* Repair into a memory undo file, check again, then undo. */
static void repair_and_undo(struct snapcow_check *c, struct snapcow_dev *dev,
			    const uint8_t *data, const unsigned char *buf,
			    size_t size)
{
	/* Every chunk saved is a distinct chunk of the COW, >= 512 bytes. */
	size_t usize = size + size / 16 + 4096;
	unsigned char *ubuf = calloc(1, usize);
	struct snapcow_dev *undo;
	struct snapcow_check *again;
	char err[SNAPCOW_ERRBUF_SIZE];
	int r;

	if (!ubuf || snapcow_dev_open_memory(ubuf, usize, true, "undo", &undo))
		abort();
	r = snapcow_check_repair_dev(c, undo, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "repair failed: %s\n", err);
		abort();
	}
	if (r > 0) {
		again = check(dev);
		if (again)
			assert_no_fixable_error(again);
		snapcow_check_free(again);
		r = snapcow_check_undo_dev(dev, undo, err, sizeof(err));
		if (r < 0 || memcmp(buf, data, size)) {
			fprintf(stderr, "undo did not restore the COW: %s\n",
				r < 0 ? err : "bytes differ");
			abort();
		}
	}
	snapcow_dev_close(undo);
	free(ubuf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapcow_dev *dev;
	struct snapcow_check *c;
	unsigned char *buf;

	if (size > MAX_INPUT)
		return 0;
	buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	if (snapcow_dev_open_memory(buf, size, true, "fuzz", &dev))
		abort();
	c = check(dev);
	if (c && memcmp(buf, data, size)) {
		fprintf(stderr, "a check wrote to the COW\n");
		abort();
	}
	if (c)
		repair_and_undo(c, dev, data, buf, size);
	snapcow_check_free(c);
	snapcow_dev_close(dev);
	free(buf);
	return 0;
}
