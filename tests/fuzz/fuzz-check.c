// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: the checker and repair on a memory-backed COW.
 * Invariants beyond "no crash": a check never writes, and after a repair
 * no fixable error is left.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

#define MAX_INPUT (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char undo_path[64];

static struct snapcow_check *check(unsigned char *buf, size_t size,
				   struct snapcow_dev **dev)
{
	struct snapcow_check *c = NULL;
	char err[SNAPCOW_ERRBUF_SIZE];

	if (snapcow_dev_open_memory(buf, size, true, "fuzz", dev))
		abort();
	if (snapcow_check(*dev, NULL, &c, err, sizeof(err)) < 0) {
		snapcow_dev_close(*dev);
		return NULL;
	}
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapcow_dev *dev;
	struct snapcow_check *c;
	unsigned char *buf;
	char err[SNAPCOW_ERRBUF_SIZE];
	int r;

	if (size > MAX_INPUT)
		return 0;
	if (!undo_path[0])
		snprintf(undo_path, sizeof(undo_path), "/tmp/fuzz-undo-%d",
			 (int)getpid());
	buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	c = check(buf, size, &dev);
	if (c && memcmp(buf, data, size))
		abort();
	if (c) {
		r = snapcow_check_repair(c, undo_path, err, sizeof(err));
		snapcow_check_free(c);
		snapcow_dev_close(dev);
		if (r > 0 && (c = check(buf, size, &dev))) {
			assert_no_fixable_error(c);
			snapcow_check_free(c);
			snapcow_dev_close(dev);
		}
	}
	unlink(undo_path);
	free(buf);
	return 0;
}
