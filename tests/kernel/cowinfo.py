#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""cowinfo.py: a small, independent model of the dm-snapshot persistent COW
format (see DESIGN.md), written from the kernel's dm-snap-persistent.c and
kept apart from lib/ on purpose: the kernel suites use it to cross-check
both the kernel's artefacts and snapcow's tools, so a misreading shared by
lib/ and the tests cannot pass unnoticed.

Subcommands (snapctl/snapdump-like, enough for the harness):
  status COW                       kernel-format status line
  dump [--json] COW                exceptions; JSON like snapdump --json
  export ORIGIN COW OUT            the snapshot's point-in-time image
  create --chunk-size SIZE COW     format a COW as the kernel would
  write [--fill B|--input F] [--length N] ORIGIN COW OFFSET
                                   an origin write, copy-on-write first
"""

import argparse
import json
import os
import struct
import sys

SECTOR = 512
MAGIC = 0x70416E53
HDR_FMT = "<IIII"  # magic, valid, version, chunk_size (sectors)
REC = struct.Struct("<QQ")  # old_chunk, new_chunk


def dev_size(f):
    """Size in bytes of an open file or block device."""
    return os.lseek(f.fileno(), 0, os.SEEK_END)


class Cow:
    """A loaded COW: header fields, exceptions in on-disk order and the
    store's cursor (current area, committed records, next free chunk)."""

    def __init__(self, path, writable=False):
        self.f = open(path, "r+b" if writable else "rb")
        self.size = dev_size(self.f)
        self.f.seek(0)
        hdr = self.f.read(16)
        if len(hdr) < 16:
            raise ValueError("COW shorter than a header")
        self.magic, self.valid, self.version, self.cs = struct.unpack(HDR_FMT, hdr)
        self.exceptions = []  # (old, new, area, slot)
        self.current_area = 0
        self.committed = 0
        self.next_free = 2
        if self.magic == 0:
            return
        if self.magic != MAGIC:
            raise ValueError("bad magic 0x%08x" % self.magic)
        if self.cs == 0 or self.cs & (self.cs - 1):
            raise ValueError("bad chunk size %d" % self.cs)
        self.chunk_bytes = self.cs * SECTOR
        self.epa = self.chunk_bytes // REC.size
        if not self.valid:
            # The kernel does not even read an invalid COW's exceptions.
            return
        self._read_exceptions()

    def area_location(self, area):
        return 1 + area * (self.epa + 1)

    def _read_exceptions(self):
        # Like read_exceptions(): walk areas until one is not full; the
        # list ends at the first record whose new_chunk is 0.
        area = 0
        while True:
            self.f.seek(self.area_location(area) * self.chunk_bytes)
            buf = self.f.read(self.chunk_bytes)
            if len(buf) < self.chunk_bytes:
                # Past the device end: the kernel would fail the read.
                raise ValueError("area %d beyond the COW end" % area)
            full = True
            for slot in range(self.epa):
                old, new = REC.unpack_from(buf, slot * REC.size)
                if new == 0:
                    self.committed = slot
                    full = False
                    break
                self.exceptions.append((old, new, area, slot))
                if self.next_free <= new:
                    self.next_free = new + 1
            if not full:
                break
            area += 1
        self.current_area = area
        self._skip_metadata()

    def _skip_metadata(self):
        if self.next_free % (self.epa + 1) == 1:
            self.next_free += 1

    def status(self):
        """The line dm-snapshot's status shows after 'snapshot '."""
        if self.magic == 0:
            return None
        if not self.valid:
            return "Invalid"
        sectors = self.size // SECTOR
        return "%d/%d %d" % (self.next_free * self.cs, sectors,
                             (self.current_area + 2) * self.cs)

    def mapping(self):
        """old_chunk -> new_chunk; a later record for a chunk wins, as in
        the kernel's table (it is a corruption either way)."""
        return {old: new for old, new, _, _ in self.exceptions}

    # --- writing, as the kernel's persistent store does it ------------

    def _write_area(self):
        recs = bytearray(self.chunk_bytes)
        for old, new, area, slot in self.exceptions:
            if area == self.current_area:
                REC.pack_into(recs, slot * REC.size, old, new)
        self.f.seek(self.area_location(self.current_area) * self.chunk_bytes)
        self.f.write(recs)
        self.f.flush()
        os.fsync(self.f.fileno())

    def add_exception(self, old, data):
        """Allocate a chunk for origin chunk 'old', store 'data' in it and
        commit the record (COW data before the record, as the kernel)."""
        if self.size < (self.next_free + 1) * self.chunk_bytes:
            raise OSError("COW full")
        new = self.next_free
        self.next_free += 1
        self._skip_metadata()
        self.f.seek(new * self.chunk_bytes)
        self.f.write(data)
        self.f.flush()
        os.fsync(self.f.fileno())
        self.exceptions.append((old, new, self.current_area, self.committed))
        self.committed += 1
        if self.committed == self.epa:
            # Zero the next area first so a reader always finds an end.
            nxt = self.area_location(self.current_area + 1)
            self.f.seek(nxt * self.chunk_bytes)
            self.f.write(bytes(self.chunk_bytes))
            self._write_area()
            self.current_area += 1
            self.committed = 0
        else:
            self._write_area()


def parse_size(text):
    """Bytes from '4096', '4K', '1M' or sectors from '8s'."""
    text = text.strip()
    mult = {"s": SECTOR, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    if text and text[-1].lower() in mult:
        return int(text[:-1]) * mult[text[-1].lower()]
    return int(text)


def cmd_status(args):
    cow = Cow(args.cow)
    st = cow.status()
    if st is None:
        print("cowinfo: %s is not formatted" % args.cow, file=sys.stderr)
        return 1
    print(st)
    return 0


def cmd_dump(args):
    cow = Cow(args.cow)
    doc = {
        "magic": cow.magic,
        # snapcow-reports(7)'s keys: valid a bool, units in the names.
        "valid": bool(cow.valid),
        "version": cow.version,
        "chunk_size_sectors": cow.cs,
        "status": cow.status(),
        "exceptions": [
            {"old_chunk": o, "new_chunk": n, "area": a, "index": s}
            for o, n, a, s in cow.exceptions
        ],
    }
    if args.json:
        json.dump(doc, sys.stdout)
        print()
    else:
        for o, n, a, s in cow.exceptions:
            print("%d %d %d %d" % (o, n, a, s))
    return 0


def cmd_export(args):
    cow = Cow(args.cow)
    if cow.magic == 0 or not cow.valid:
        print("cowinfo: snapshot is not valid", file=sys.stderr)
        return 1
    cb = cow.chunk_bytes
    table = cow.mapping()
    with open(args.origin, "rb") as o, open(args.out, "wb") as out:
        size = dev_size(o)
        o.seek(0)
        chunk = 0
        while chunk * cb < size:
            n = min(cb, size - chunk * cb)
            if chunk in table:
                cow.f.seek(table[chunk] * cb)
                buf = cow.f.read(n)
            else:
                o.seek(chunk * cb)
                buf = o.read(n)
            out.write(buf)
            chunk += 1
    return 0


def cmd_create(args):
    cs_bytes = parse_size(args.chunk_size)
    if cs_bytes % SECTOR or cs_bytes & (cs_bytes - 1):
        print("cowinfo: bad chunk size", file=sys.stderr)
        return 16
    with open(args.cow, "r+b") as f:
        f.seek(0)
        if not args.force and f.read(4) == struct.pack("<I", MAGIC):
            print("cowinfo: already a COW (use --force)", file=sys.stderr)
            return 1
        f.seek(cs_bytes)  # area 0
        f.write(bytes(cs_bytes))
        f.seek(0)
        hdr = struct.pack(HDR_FMT, MAGIC, 1, 1, cs_bytes // SECTOR)
        f.write(hdr + bytes(cs_bytes - len(hdr)))
        f.flush()
        os.fsync(f.fileno())
    return 0


def cmd_write(args):
    cow = Cow(args.cow, writable=True)
    if cow.magic == 0 or not cow.valid:
        print("cowinfo: snapshot is not valid", file=sys.stderr)
        return 1
    off = parse_size(args.offset)
    if args.input:
        with open(args.input, "rb") as f:
            data = f.read()
        if args.length is not None:
            data = data[:parse_size(args.length)]
    else:
        data = bytes([int(args.fill, 0)]) * parse_size(args.length)
    cb = cow.chunk_bytes
    table = cow.mapping()
    with open(args.origin, "r+b") as o:
        first, last = off // cb, (off + len(data) - 1) // cb
        for chunk in range(first, last + 1):
            if chunk in table:
                continue
            o.seek(chunk * cb)
            cow.add_exception(chunk, o.read(cb).ljust(cb, b"\0"))
            table[chunk] = cow.exceptions[-1][1]
        o.seek(off)
        o.write(data)
        o.flush()
        os.fsync(o.fileno())
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("status")
    s.add_argument("cow")
    s.set_defaults(fn=cmd_status)
    s = sub.add_parser("dump")
    s.add_argument("--json", action="store_true")
    s.add_argument("--exceptions", action="store_true")
    s.add_argument("cow")
    s.set_defaults(fn=cmd_dump)
    s = sub.add_parser("export")
    s.add_argument("origin")
    s.add_argument("cow")
    s.add_argument("out")
    s.set_defaults(fn=cmd_export)
    s = sub.add_parser("create")
    s.add_argument("--chunk-size", required=True)
    s.add_argument("--force", action="store_true")
    s.add_argument("cow")
    s.add_argument("origin", nargs="?")
    s.set_defaults(fn=cmd_create)
    s = sub.add_parser("write")
    s.add_argument("--input")
    s.add_argument("--fill")
    s.add_argument("--length")
    s.add_argument("origin")
    s.add_argument("cow")
    s.add_argument("offset")
    s.set_defaults(fn=cmd_write)
    args = p.parse_args()
    try:
        return args.fn(args)
    except (OSError, ValueError) as e:
        print("cowinfo: %s" % e, file=sys.stderr)
        return 8


if __name__ == "__main__":
    sys.exit(main())
