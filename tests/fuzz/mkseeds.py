#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Seed corpus for the fuzz targets: small COWs, good and with one damage
of each kind from tests/damage/mkdamage.py, rebuilt with 512-byte chunks
(32 records an area) and few chunks, so that an input is at most 64 KiB
and mutations reach every area."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "damage"))
import mkdamage  # noqa: E402

MAX_SEED = 64 << 10


def small_cases(rng, cs, chunks):
    """mkdamage.cases() with chunk size cs and good COWs of chunks."""
    saved = (mkdamage.CS, mkdamage.CB, mkdamage.EPA, mkdamage.good,
             mkdamage.Cow.__init__.__defaults__)
    mkdamage.CS, mkdamage.CB = cs, cs * 512
    mkdamage.EPA = mkdamage.CB // 16
    mkdamage.Cow.__init__.__defaults__ = (cs,)
    epa = mkdamage.EPA

    def good(r, nrec=40, chunks=chunks):
        # Room for the list and one area after it (stale-area).
        need = mkdamage.area_chunk(nrec // epa + 1, epa) + 1
        return mkdamage.Cow(max(chunks, need), nrec, r, cs)

    mkdamage.good = good
    try:
        return mkdamage.cases(rng)
    finally:
        (mkdamage.CS, mkdamage.CB, mkdamage.EPA, mkdamage.good,
         mkdamage.Cow.__init__.__defaults__) = saved


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "seeds"
    os.makedirs(out, exist_ok=True)
    rng = mkdamage.random.Random(1)
    for cs, chunks in ((1, 120),):
        for name, img, _, _, _ in small_cases(rng, cs, chunks):
            if len(img) <= MAX_SEED:
                with open(os.path.join(out, "cs%d-%s" % (cs, name)),
                          "wb") as f:
                    f.write(img)
    # Found by fuzz-check: an invalid header with a bad version and a
    # 32 MiB chunk on an 8469-byte device; the version fix was planned
    # although the header chunk cannot be written.
    hdr = struct.pack("<IIII", 0x70416e53, 0, 0xcd01, 0x10000)
    with open(os.path.join(out, "huge-chunk-invalid"), "wb") as f:
        f.write(hdr + bytes(8469 - len(hdr)))
    # Tiny ones at every fill of the first areas.
    for n in (0, 1, 5, 31, 32, 40):
        c = mkdamage.Cow(80, n, rng, cs=1)
        with open(os.path.join(out, "cs1-fill-%d" % n), "wb") as f:
            f.write(c.buf)


if __name__ == "__main__":
    main()
