#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write a dm-snapshot persistent COW image from a known exception list.

An independent writer: python3 and its standard library only, nothing of
snapcow.  It lays the image out as the kernel would after committing the
exceptions in allocation order (drivers/md/dm-snap-persistent.c):

  chunk 0          header: le32 magic 0x70416e53, valid, version, chunk
                   size (sectors); the rest of the chunk zero
  area a           at chunk 1 + a * (epa + 1), epa = cs * 512 / 16 records
                   of {le64 old_chunk, le64 new_chunk}; the list ends at
                   the first new_chunk 0; a full area continues in the next
  data chunks      allocated from 2, skipping every area chunk; each holds
                   a recognisable pattern naming its origin chunk
  next area        zeroed when the last one is exactly full

and prints what the kernel would report for it, derived here from those
rules: the status line, and on request the exception list and the status
fields as JSON.

Usage:
  mkcow.py --chunk-size SECTORS --size BYTES [--invalid] [--new]
           [--version N] [--magic HEX] [--fill BYTE]
           [--records OLD:NEW,...|--random N --seed S|--sequential N]
           [--exceptions-json FILE] [--status-json FILE] OUT
"""

import argparse
import json
import os
import random
import struct
import sys

SECTOR = 512
MAGIC = 0x70416E53
RECORD = 16


def fail(msg):
    print("mkcow.py: " + msg, file=sys.stderr)
    sys.exit(2)


def data_pattern(old_chunk, chunk_bytes):
    """16-byte units: 'COW!', le32 unit index, le64 origin chunk."""
    units = chunk_bytes // 16
    return b"".join(b"COW!" + struct.pack("<IQ", i, old_chunk)
                    for i in range(units))


class Layout:
    def __init__(self, cs, size):
        if cs <= 0 or cs & (cs - 1) or cs > 1 << 21:
            fail("chunk size %d is not a power of two up to 2^21" % cs)
        self.cs = cs
        self.chunk_bytes = cs * SECTOR
        self.epa = self.chunk_bytes // RECORD
        self.size = size
        self.sectors = size // SECTOR
        self.chunks = size // self.chunk_bytes

    def area_chunk(self, area):
        return 1 + area * (self.epa + 1)

    def is_metadata(self, chunk):
        return chunk == 0 or chunk % (self.epa + 1) == 1

    def allocate(self, olds):
        """persistent_prepare_exception() for each old chunk in turn."""
        recs = []
        next_free = 2
        for old in olds:
            if (next_free + 1) * self.cs > self.sectors:
                fail("COW full after %d exceptions" % len(recs))
            recs.append((old, next_free))
            next_free += 1
            if next_free % (self.epa + 1) == 1:
                next_free += 1
        return recs

    def report(self, recs, state):
        """The numbers the kernel would show, from DESIGN's rules."""
        n = len(recs)
        current_area = n // self.epa
        next_free = 2
        for _, new in recs:
            if next_free <= new:
                next_free = new + 1
        if next_free % (self.epa + 1) == 1:
            next_free += 1
        if state == "new":
            current_area, next_free, n = 0, 2, 0
        allocated = next_free * self.cs
        metadata = (current_area + 2) * self.cs
        if state == "invalid":
            line = "Invalid"
        else:
            line = "%d/%d %d" % (allocated, self.sectors, metadata)
        loaded = state != "invalid"

        def known(v):
            return v if loaded else None
        return {
            "state": state,
            "valid": state != "invalid",
            "version": 1,
            "chunk_size_sectors": self.cs,
            "chunk_size_bytes": self.chunk_bytes,
            "exceptions_per_area": self.epa,
            "exception_count": known(n),
            "area_count": known(current_area + 1),
            "current_area": known(current_area),
            "next_free_chunk": known(next_free),
            "sectors_allocated": known(allocated),
            "cow_sectors": self.sectors,
            "metadata_sectors": known(metadata),
            "status": line,
        }

    def exceptions(self, recs):
        out = []
        for i, (old, new) in enumerate(recs):
            area, index = divmod(i, self.epa)
            out.append({
                "old_chunk": old,
                "new_chunk": new,
                "area": area,
                "index": index,
            })
        return out


def write_image(path, lay, recs, args):
    fill = bytes([args.fill]) if args.fill is not None else None
    with open(path, "wb") as f:
        f.truncate(lay.size)
        if fill:
            step = 1 << 20
            for off in range(0, lay.size, step):
                f.seek(off)
                f.write(fill * min(step, lay.size - off))
        if args.new:
            # Only the magic decides: zero it and leave the rest.
            f.seek(0)
            f.write(b"\0" * 4)
            return

        def put(chunk, data):
            if (chunk + 1) * lay.chunk_bytes > lay.size:
                fail("chunk %d is past the device" % chunk)
            f.seek(chunk * lay.chunk_bytes)
            f.write(data)

        hdr = struct.pack("<IIII", args.magic, 0 if args.invalid else 1,
                          args.version, lay.cs)
        put(0, hdr + b"\0" * (lay.chunk_bytes - len(hdr)))
        for old, new in recs:
            if new < lay.chunks and not lay.is_metadata(new):
                put(new, data_pattern(old, lay.chunk_bytes))
        nareas = len(recs) // lay.epa + 1
        for area in range(nareas):
            buf = b"".join(struct.pack("<QQ", old, new) for old, new in
                           recs[area * lay.epa:(area + 1) * lay.epa])
            buf += b"\0" * (lay.chunk_bytes - len(buf))
            chunk = lay.area_chunk(area)
            if area == nareas - 1 and \
                    (chunk + 1) * lay.chunk_bytes > lay.size:
                # A full last area with no room after it: only a crafted
                # image looks like this (the kernel invalidates first).
                if not args.allow_end_past_device:
                    fail("the area after a full one is past the device")
                continue
            put(chunk, buf)


def parse_records(text):
    recs = []
    for item in text.split(","):
        if not item:
            continue
        old, _, new = item.partition(":")
        try:
            recs.append((int(old, 0), int(new, 0)))
        except ValueError:
            fail("bad record %r (OLD:NEW)" % item)
    return recs


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--chunk-size", type=int, required=True,
                   help="chunk size in 512-byte sectors")
    p.add_argument("--size", type=int, required=True, help="bytes")
    p.add_argument("--invalid", action="store_true")
    p.add_argument("--new", action="store_true",
                   help="magic 0: the kernel formats it on activation")
    p.add_argument("--version", type=int, default=1)
    p.add_argument("--magic", type=lambda s: int(s, 16), default=MAGIC)
    p.add_argument("--fill", type=lambda s: int(s, 0),
                   help="byte for every chunk the layout does not write")
    p.add_argument("--origin-chunks", type=int,
                   help="--random picks old chunks below this")
    p.add_argument("--allow-end-past-device", action="store_true")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--records", help="OLD:NEW,... in on-disk order")
    g.add_argument("--random", type=int, metavar="N")
    g.add_argument("--sequential", type=int, metavar="N")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--exceptions-json", metavar="FILE")
    p.add_argument("--status-json", metavar="FILE")
    p.add_argument("out")
    args = p.parse_args()

    lay = Layout(args.chunk_size, args.size)
    if lay.chunks < 3 and not args.new:
        fail("%d bytes hold fewer than 3 chunks" % args.size)
    if args.records is not None:
        recs = parse_records(args.records)
        for _, new in recs:
            if new == 0:
                fail("new chunk 0 would end the list")
    elif args.random is not None:
        rng = random.Random(args.seed)
        limit = args.origin_chunks or max(4 * args.random, 16)
        recs = lay.allocate(rng.sample(range(limit), args.random))
    elif args.sequential is not None:
        recs = lay.allocate(range(args.sequential))
    else:
        recs = []
    if args.new:
        recs = []

    write_image(args.out, lay, recs, args)
    state = "new" if args.new else "invalid" if args.invalid else "valid"
    report = lay.report(recs, state)
    if args.magic != MAGIC or args.version != 1:
        report = None
    if args.exceptions_json:
        with open(args.exceptions_json, "w") as f:
            # The kernel does not read an invalid COW's exceptions.
            json.dump(None if state == "invalid" else
                      lay.exceptions(recs), f, indent=2, sort_keys=True)
            f.write("\n")
    if args.status_json:
        with open(args.status_json, "w") as f:
            json.dump(report, f, indent=2, sort_keys=True)
            f.write("\n")
    if report:
        print(report["status"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
