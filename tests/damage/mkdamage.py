#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Damage corpus for snapcheck.

Writes a good COW laid out as the kernel writes one (or takes good images
with --from), then one damaged copy per snapcheck rule, plus random bit
flips and truncations, and a manifest: one line per image,

    name<TAB>expected codes (comma separated, "-" for none, "*" for any)
    <TAB>exit status of "snapcheck -n"<TAB>extra snapcheck arguments

Usage: mkdamage.py OUTDIR [--from IMAGE ...] [--seed N] [--random N]
"""
import argparse
import os
import random
import struct

MAGIC = 0x70416E53
CS = 8                      # sectors: 4 KiB chunks
CB = CS * 512
EPA = CB // 16


def area_chunk(a, epa=EPA):
    return 1 + a * (epa + 1)


def is_meta(c, epa=EPA):
    return c == 0 or c % (epa + 1) == 1


class Cow:
    """A COW image in memory: header, areas of records, data chunks."""

    def __init__(self, chunks, nrec, rng, cs=CS):
        self.cs = cs
        self.cb = cs * 512
        self.epa = self.cb // 16
        self.buf = bytearray(chunks * self.cb)
        struct.pack_into("<IIII", self.buf, 0, MAGIC, 1, 1, cs)
        olds = rng.sample(range(0, nrec * 4), nrec)
        nxt = 2
        self.recs = []
        for i in range(nrec):
            self.put(i, olds[i], nxt)
            self.recs.append((olds[i], nxt))
            nxt += 1
            if is_meta(nxt, self.epa):
                nxt += 1

    def off(self, g):
        a, s = divmod(g, self.epa)
        return area_chunk(a, self.epa) * self.cb + s * 16

    def put(self, g, old, new):
        struct.pack_into("<QQ", self.buf, self.off(g), old, new)

    def get(self, g):
        return struct.unpack_from("<QQ", self.buf, self.off(g))

    def header(self, magic=None, valid=None, version=None, cs=None):
        h = list(struct.unpack_from("<IIII", self.buf, 0))
        for i, v in enumerate((magic, valid, version, cs)):
            if v is not None:
                h[i] = v
        struct.pack_into("<IIII", self.buf, 0, *h)


def good(rng, nrec=40, chunks=600):
    return Cow(chunks, nrec, rng)


def cases(rng):
    """(name, image bytes, codes, -n exit, extra args)"""
    out = []

    def add(name, cow_or_buf, codes, rc=4, args=""):
        b = cow_or_buf.buf if isinstance(cow_or_buf, Cow) else cow_or_buf
        out.append((name, bytes(b), codes, rc, args))

    add("good", good(rng), "-", 0)
    c = good(rng); c.header(magic=0xDEADBEEF)
    add("header-magic", c, "SC001")
    c = good(rng); c.header(version=2)
    add("header-version", c, "SC002")
    c = good(rng); c.header(cs=12)
    add("header-chunk-size", c, "SC003")
    add("device-too-small", good(rng).buf[:1024], "SC004")
    c = good(rng); c.header(valid=0)
    add("header-invalid", c, "SC005", 0)
    c = good(rng); c.buf[100] = 0x5A
    add("header-garbage", c, "SC006", 0)
    c = good(rng); c.header(magic=0)
    add("new-over-live", c, "SC007")
    add("new-cow", bytearray(600 * CB), "SC008", 0)
    c = good(rng); o, _ = c.get(3); c.put(3, o, area_chunk(1))
    add("new-in-metadata", c, "SC010,SC020")
    c = good(rng); o, _ = c.get(3); c.put(3, o, 10 ** 6)
    add("new-past-end", c, "SC011,SC020")
    c = good(rng); o2, _ = c.get(2); _, n5 = c.get(5); c.put(5, o2, n5)
    add("dup-old", c, "SC012")
    c = good(rng); _, n4 = c.get(4); o6, _ = c.get(6); c.put(6, o6, n4)
    add("shared-new", c, "SC013,SC020")
    c = good(rng); _, n7 = c.get(7); c.put(7, 10 ** 9, n7)
    add("old-past-origin", c, "SC014,SC020", 4,
        "--origin=@ORIGIN@")
    c = good(rng); c.put(len(c.recs) + 2, 77, 500)
    add("stale-tail", c, "SC015")
    c = good(rng, nrec=EPA + 10)
    o, _ = c.get(100); c.put(100, o, 0)
    add("list-truncated", c, "SC016,SC018")
    c = Cow(2 + EPA, EPA, rng)
    add("end-past-device", c, "SC017")
    c = good(rng); c.put(EPA + 3, 5, 300)
    add("stale-area", c, "SC018", 0)
    c = good(rng, nrec=5)
    for g in range(5):
        o, _ = c.get(g); c.put(g, o, 10 ** 6 + g)
    add("nothing-left", c, "SC011,SC019")
    c = good(rng)
    # Out-of-order commit before 3.13: chunk 4 was allocated, never
    # committed; later records go on from 5.
    for g in range(2, len(c.recs)):
        o, n = c.get(g); c.put(g, o, n + 1)
    add("leaked-chunks", c, "SC020", 0)
    # The kernel model: a later duplicate that extends an earlier run
    # wins (see lib/check-kmodel.c); the check must keep it.
    c = good(rng)
    c.put(0, 1000, 2); c.put(1, 1001, 50); c.put(2, 1001, 3)
    add("dup-old-later-wins", c, "SC012,SC020")
    return out


def damage_random(rng, img, n):
    out = []
    for i in range(n):
        b = bytearray(img)
        kind = rng.choice(("flip", "flip", "truncate", "area"))
        if kind == "flip":
            for _ in range(rng.randint(1, 8)):
                p = rng.randrange(0, min(len(b), 4 * CB))
                b[p] ^= 1 << rng.randrange(8)
        elif kind == "truncate":
            b = b[:rng.randrange(0, len(b))]
        else:
            p = CB + rng.randrange(0, CB - 16)
            b[p:p + 16] = rng.randbytes(16)
        out.append(("random-%s-%03d" % (kind, i), bytes(b), "*", -1, ""))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--from", dest="images", action="append", default=[],
                    help="good COW images to damage at random as well")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--random", type=int, default=40)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.outdir, exist_ok=True)
    all_cases = cases(rng)
    all_cases += damage_random(rng, all_cases[0][1], a.random)
    for path in a.images:
        with open(path, "rb") as f:
            img = f.read()
        base = os.path.basename(path)
        all_cases.append((base + "-as-is", img, "*", -1, ""))
        all_cases += [(base + "-" + n, b, c, rc, x) for n, b, c, rc, x in
                      damage_random(rng, img, a.random)]
    with open(os.path.join(a.outdir, "origin.img"), "wb") as f:
        f.truncate(4 * 40 * CB)
    with open(os.path.join(a.outdir, "MANIFEST"), "w") as m:
        for name, img, codes, rc, extra in all_cases:
            with open(os.path.join(a.outdir, name + ".img"), "wb") as f:
                f.write(img)
            m.write("%s\t%s\t%d\t%s\n" % (name, codes, rc, extra))


if __name__ == "__main__":
    main()
