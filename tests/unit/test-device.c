/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's data path without a kernel: fake ring (fakering.h) ->
 * ring.c -> device.c -> scsi.c -> the plain backend on an image file.
 * Checks what the LUN says about itself (capacity, write cache), that
 * writes land (and FUA and SYNCHRONIZE CACHE flush), the sense of
 * refused commands, and the refusals of device_open.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapcow.h"
#include "device.h"
#include "fakering.h"
#include "tap.h"

#define SIZE	(1u << 20)
#define BS	512u

static char dir[64], img[96];
static struct policy policy;
static struct device *dev;
static struct fakering fk;
static struct ring ring;
static uint16_t next_id = 1;
static char err[PATH_MAX + 256];

static uint16_t submit(const uint8_t *cdb, size_t len, const void *out,
		       uint32_t data_len)
{
	uint16_t id = next_id++;
	bool kick;

	if (fk_queue(&fk, id, cdb, len, out, data_len))
		return 0;
	ring_serve(&ring, &device_ring_ops, dev, &kick);
	fk_reap(&fk);
	return id;
}

static struct fk_result *res(uint16_t id)
{
	return &fk.res[id % FK_MAX_ID];
}

static bool sense_is(uint16_t id, uint8_t key, uint8_t asc)
{
	return res(id)->done && res(id)->status == SCSI_CHECK_CONDITION &&
	       (res(id)->sense[2] & 0x0f) == key && res(id)->sense[12] == asc;
}

static void cdb10(uint8_t *c, uint8_t op, uint32_t lba, uint16_t n,
		  uint8_t flags)
{
	memset(c, 0, 10);
	c[0] = op;
	c[1] = flags;
	c[2] = lba >> 24;
	c[3] = lba >> 16;
	c[4] = lba >> 8;
	c[5] = lba;
	c[7] = n >> 8;
	c[8] = n;
}

static uint64_t flushes(void)
{
	struct snapcow_dev_stats st;

	snapcow_dev_get_stats(dev->priv, &st);
	return st.flushes;
}

static void test_open(void)
{
	struct device_params prm = { .name = "user_1/t", .block_size = BS };
	struct device *second = NULL;
	char cfg[256];
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/test-device.XXXXXX");
	ok(mkdtemp(dir) != NULL, "tmp dir");
	snprintf(img, sizeof(img), "%s/origin.img", dir);
	fd = open(img, O_CREAT | O_RDWR, 0644);
	ok(fd >= 0 && ftruncate(fd, SIZE) == 0, "image");
	close(fd);
	ok_eq(policy_allow(&policy, dir, err, sizeof(err)), 0, "%s", err);
	snprintf(cfg, sizeof(cfg), "origin=%s", img);
	prm.dev_size = 2 * SIZE;
	ok_eq(device_open(&policy, cfg, &prm, &dev, err, sizeof(err)),
	      -EINVAL, "dev_size past the image");
	ok(strcmp(err, "user_1/t: dev_size 2097152 exceeds the origin's 1048576 bytes") == 0,
	   "%s", err);
	prm.dev_size = 0;
	ok_eq(device_open(&policy, cfg, &prm, &dev, err, sizeof(err)), 0,
	      "%s", err);
	ok_eq(dev->disk.blocks, SIZE / BS, "blocks");
	ok(dev->disk.write_cache, "write-back: page cache");
	ok_eq(device_open(&policy, cfg, &prm, &second, err, sizeof(err)),
	      -EBUSY, "held exclusively");
	snprintf(cfg, sizeof(cfg), "origin=%s;cow=%s", img, img);
	ok_eq(device_open(&policy, cfg, &prm, &second, err, sizeof(err)),
	      -EOPNOTSUPP, "snapshots not yet");
	ok(fk_init(&fk, 64 * 1024) == 0, "fake ring");
	ok_eq(ring_attach(&ring, fk.mem, fk.size), 0, "attach");
}

static void test_capacity(void)
{
	uint8_t cdb[16] = { 0x9e, 0x10 }, buf[32];
	uint16_t id;

	cdb[13] = 32;
	id = submit(cdb, 16, NULL, 32);
	ok(res(id)->done && res(id)->status == SCSI_GOOD, "READ CAPACITY(16)");
	fk_gather(&fk, id, buf, 32);
	ok_eq(buf[6] << 8 | buf[7], SIZE / BS - 1, "last LBA");
	ok_eq(buf[10] << 8 | buf[11], BS, "block size");
}

/* MODE SENSE(6), DBD, caching page: WCE as the device says. */
static int wce(void)
{
	uint8_t cdb[6] = { 0x1a, 0x08, 0x08, 0, 64, 0 }, buf[64];
	uint16_t id = submit(cdb, 6, NULL, 64);

	if (!res(id)->done || res(id)->status != SCSI_GOOD)
		return -1;
	fk_gather(&fk, id, buf, 64);
	if (buf[3] != 0 || (buf[4] & 0x3f) != 0x08)
		return -2;
	return !!(buf[4 + 2] & 0x04);
}

static void test_write_cache(void)
{
	ok_eq(wce(), 1, "WCE set: writes sit in the page cache");
	device_set_write_back(dev, false);
	ok_eq(wce(), 0, "write-through: WCE clear");
	device_set_write_back(dev, true);
	ok_eq(wce(), 1, "back to write-back");
}

static void test_io(void)
{
	static uint8_t out[16 * BS], in[16 * BS], file[16 * BS];
	uint8_t cdb[16];
	uint64_t f0;
	uint16_t id;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 3);
	f0 = flushes();
	cdb10(cdb, 0x2a, 100, 16, 0);
	id = submit(cdb, 10, out, sizeof(out));
	ok(res(id)->done && res(id)->status == SCSI_GOOD, "WRITE(10)");
	ok_eq(flushes(), f0, "no flush without FUA");
	cdb10(cdb, 0x2a, 200, 16, 0x08);
	id = submit(cdb, 10, out, sizeof(out));
	ok(res(id)->done && res(id)->status == SCSI_GOOD, "WRITE(10) FUA");
	ok_eq(flushes(), f0 + 1, "FUA flushed");
	cdb10(cdb, 0x35, 0, 0, 0);
	id = submit(cdb, 10, NULL, 0);
	ok(res(id)->done && res(id)->status == SCSI_GOOD, "SYNCHRONIZE CACHE");
	ok_eq(flushes(), f0 + 2, "flushed");
	memset(cdb, 0, 16);
	cdb[0] = 0x88;
	cdb[9] = 200;
	cdb[13] = 16;
	id = submit(cdb, 16, NULL, sizeof(in));
	ok(res(id)->done && res(id)->status == SCSI_GOOD, "READ(16)");
	fk_gather(&fk, id, in, sizeof(in));
	ok(memcmp(in, out, sizeof(in)) == 0, "read returns the write");
	fd = open(img, O_RDONLY);
	ok(pread(fd, file, sizeof(file), 100 * BS) == sizeof(file) &&
	   memcmp(file, out, sizeof(file)) == 0, "image holds the write");
	close(fd);
}

static void test_refused(void)
{
	static uint8_t out[8 * BS];
	uint8_t cdb[16];
	uint16_t id;

	cdb10(cdb, 0x2a, SIZE / BS - 4, 8, 0);
	id = submit(cdb, 10, out, sizeof(out));
	ok(sense_is(id, SCSI_SK_ILLEGAL_REQUEST, 0x21), "past the end");
	cdb10(cdb, 0x2a, 0, 8, 0);
	id = submit(cdb, 10, out, BS);
	ok(sense_is(id, SCSI_SK_HARDWARE_ERROR, 0x44),
	   "data shorter than the CDB");
	memset(cdb, 0, 16);
	cdb[0] = 0xc0;	/* vendor specific */
	id = submit(cdb, 16, NULL, 0);
	ok(sense_is(id, SCSI_SK_ILLEGAL_REQUEST, 0x20), "unknown opcode");
	ok_eq(dev->errors, 0, "no I/O error logged");
}

int main(void)
{
	char cmd[96];

	plan(5);
	run(test_open);
	run(test_capacity);
	run(test_write_cache);
	run(test_io);
	run(test_refused);
	device_close(dev);
	policy_free(&policy);
	fk_free(&fk);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? 1 : done();
}
