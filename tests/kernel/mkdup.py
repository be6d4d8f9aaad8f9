#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""mkdup.py: COWs with two records for one origin chunk, for kernel-dup.bats.

  mkdup.py OUTDIR

Writes OUTDIR/origin.img (1040 chunks of 4 KiB; chunk c holds the text
"origin chunk c" over and over) and one COW per case (4 KiB chunks, 64
chunks; data chunk c holds "COW chunk c"), so every chunk the kernel
serves says where it came from. OUTDIR/CASES lists each case as
'NAME CHUNK WINNER': for origin chunk CHUNK, lib/check-kmodel.c expects
the kernel to serve COW chunk WINNER.
"""
import os
import struct
import sys

MAGIC = 0x70416E53
CS = 8
CB = CS * 512
COW_CHUNKS = 64
ORIGIN_BYTES = 1040 * CB     # just past chunk 1001: quick to read in TCG

# name: records in list order (area 0), and (chunk, winner).
CASES = {
    # Issue 4's case: the later (1001 -> 3) extends the run (1000 -> 2),
    # which sits before (1001 -> 30) in the hash bucket: later wins.
    "later-wins": ([(1000, 2), (1001, 30), (1001, 3)], (1001, 3)),
    # Plain duplicate: the later one lands behind the earlier and the
    # lookup finds the earlier first: earlier wins.
    "earlier-wins": ([(500, 2), (600, 3), (500, 4)], (500, 2)),
    # The run's first record comes after the earlier duplicate on disk but
    # sorts before it in the bucket: the later one still wins.
    "later-wins-sorted": ([(1001, 30), (1000, 2), (1001, 3)], (1001, 3)),
}


def fill(text, size):
    t = text.encode()
    return (t * (size // len(t) + 1))[:size]


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 16
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "origin.img"), "wb") as f:
        for c in range(ORIGIN_BYTES // CB):
            f.write(fill("origin chunk %d\n" % c, CB))
    with open(os.path.join(out, "CASES"), "w") as cases:
        for name, (recs, (chunk, winner)) in CASES.items():
            buf = bytearray(COW_CHUNKS * CB)
            struct.pack_into("<IIII", buf, 0, MAGIC, 1, 1, CS)
            for c in range(2, COW_CHUNKS):
                buf[c * CB:(c + 1) * CB] = fill("COW chunk %d\n" % c, CB)
            # Area 0 (chunk 1): the records, then zeros (the list's end).
            buf[CB:2 * CB] = bytes(CB)
            for i, (old, new) in enumerate(recs):
                struct.pack_into("<QQ", buf, CB + 16 * i, old, new)
            with open(os.path.join(out, name + ".img"), "wb") as f:
                f.write(buf)
            cases.write("%s %d %d\n" % (name, chunk, winner))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
