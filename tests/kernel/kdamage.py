#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""kdamage.py: snapcheck's damage kinds applied to a COW the kernel wrote.

  kdamage.py COW OUTDIR

tests/damage/mkdamage.py builds its named cases on its own small image
(--from only adds random damage); this applies the same kinds, with the
same expected codes, to a real kernel-made COW: several areas, records in
the kernel's allocation order, the current area partly filled. Writes
OUTDIR/NAME.img and OUTDIR/MANIFEST in mkdamage's format:

    name<TAB>codes<TAB>exit status of "snapcheck -n"<TAB>extra arguments

(@ORIGIN@ in the arguments stands for the origin image.)
"""
import os
import struct
import sys

MAGIC = 0x70416E53
REC = struct.Struct("<QQ")


class Cow:
    def __init__(self, buf):
        self.buf = bytearray(buf)
        magic, valid, version, self.cs = struct.unpack_from("<IIII", buf, 0)
        if magic != MAGIC or not valid or version != 1:
            raise SystemExit("kdamage: not a valid COW")
        self.cb = self.cs * 512
        self.epa = self.cb // 16
        self.chunks = len(buf) // self.cb
        self.recs = []
        g = 0
        while True:
            old, new = self.get(g)
            if new == 0:
                break
            self.recs.append((old, new))
            g += 1
        self.n = g

    def area_chunk(self, a):
        return 1 + a * (self.epa + 1)

    def is_meta(self, c):
        return c == 0 or c % (self.epa + 1) == 1

    def off(self, g):
        a, s = divmod(g, self.epa)
        return self.area_chunk(a) * self.cb + s * 16

    def get(self, g):
        return REC.unpack_from(self.buf, self.off(g))

    def put(self, g, old, new):
        REC.pack_into(self.buf, self.off(g), old, new)

    def header(self, **kw):
        h = list(struct.unpack_from("<IIII", self.buf, 0))
        for i, k in enumerate(("magic", "valid", "version", "cs")):
            if k in kw:
                h[i] = kw[k]
        struct.pack_into("<IIII", self.buf, 0, *h)

    def copy(self):
        c = Cow.__new__(Cow)
        c.__dict__.update(self.__dict__)
        c.buf = bytearray(self.buf)
        return c


def cases(base):
    n, epa = base.n, base.epa
    cur = n // epa                      # the area holding the list's end
    used = n % epa
    # The kinds below need what a kernel-made COW of a few areas has: a
    # full area 0, room after the end in the current area, a free area
    # after it on the device, and free data chunks past the highest.
    assert n > epa + 10 and 3 <= used <= epa - 3, (n, epa)
    assert base.area_chunk(cur + 1) < base.chunks
    top = max(nw for _, nw in base.recs)
    free = [c for c in range(top + 1, base.chunks) if not base.is_meta(c)]
    assert len(free) >= 2
    olds = {o for o, _ in base.recs}
    out = []

    def add(name, c, codes, rc=4, args=""):
        out.append((name, bytes(c.buf if isinstance(c, Cow) else c),
                    codes, rc, args))

    def kind(name, codes, rc=4, args=""):
        def deco(f):
            c = base.copy()
            f(c)
            add(name, c, codes, rc, args)
        return deco

    add("good", base, "-", 0)
    kind("header-magic", "SC001")(lambda c: c.header(magic=0xDEADBEEF))
    kind("header-version", "SC002")(lambda c: c.header(version=2))
    kind("header-chunk-size", "SC003")(lambda c: c.header(cs=12))
    add("device-too-small", base.buf[:1024], "SC004")
    kind("header-invalid", "SC005", 0)(lambda c: c.header(valid=0))

    @kind("header-garbage", "SC006", 0)
    def _(c):
        c.buf[100] = 0x5A

    kind("new-over-live", "SC007")(lambda c: c.header(magic=0))

    @kind("new-in-metadata", "SC010,SC020")
    def _(c):
        c.put(3, c.get(3)[0], c.area_chunk(1))

    @kind("new-past-end", "SC011,SC020")
    def _(c):
        c.put(3, c.get(3)[0], 10 ** 6)

    @kind("dup-old", "SC012")
    def _(c):
        c.put(5, c.get(2)[0], c.get(5)[1])

    @kind("shared-new", "SC013,SC020")
    def _(c):
        c.put(6, c.get(6)[0], c.get(4)[1])

    @kind("old-past-origin", "SC014,SC020", 4, "--origin=@ORIGIN@")
    def _(c):
        c.put(7, 10 ** 9, c.get(7)[1])

    @kind("stale-tail", "SC015")
    def _(c):
        c.put(n + 2, 77, free[0])

    # Cut the list in full area 0: what follows is lost to the kernel,
    # and area 1 now lies after the list's end.
    @kind("list-truncated", "SC016,SC018")
    def _(c):
        c.put(100, c.get(100)[0], 0)

    # Only area 0 (full) is left and the device ends where area 1 would
    # start: the kernel fails reading it.
    @kind("end-past-device", "SC017")
    def _(c):
        for g in range(epa, n):
            c.put(g, 0, 0)
        c.buf = c.buf[:c.area_chunk(1) * c.cb]

    @kind("stale-area", "SC018", 0)
    def _(c):
        c.put((cur + 1) * epa + 3, 5, free[0])

    # Every record past the device's end (never on a metadata chunk's
    # number, which would be SC010 instead).
    @kind("nothing-left", "SC011,SC019")
    def _(c):
        v = 10 ** 6
        for g in range(n):
            while c.is_meta(v):
                v += 1
            c.put(g, c.get(g)[0], v)
            v += 1

    # Out-of-order commit before 3.13: the current area's third record's
    # chunk was allocated and never committed; later ones go on past it.
    @kind("leaked-chunks", "SC020", 0)
    def _(c):
        for g in range(cur * epa + 2, n):
            o, nw = c.get(g)
            c.put(g, o, nw + 1)

    # The kernel model's later-wins duplicate (check-kmodel.c) in a hash
    # window of its own: (X -> a), (X+1 -> b), (X+1 -> a+1); the kernel
    # serves a+1 for X+1. b is a free chunk, so the chunks up to it leak.
    @kind("dup-old-later-wins", "SC012,SC020")
    def _(c):
        x = 1 << 30
        assert x not in olds and x + 1 not in olds
        a = c.get(0)[1]
        assert c.get(1)[1] == a + 1
        c.put(0, x, a)
        c.put(1, x + 1, free[1])
        c.put(2, x + 1, a + 1)
    return out


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 16
    with open(argv[1], "rb") as f:
        base = Cow(f.read())
    os.makedirs(argv[2], exist_ok=True)
    with open(os.path.join(argv[2], "MANIFEST"), "w") as m:
        for name, img, codes, rc, extra in cases(base):
            with open(os.path.join(argv[2], name + ".img"), "wb") as f:
                f.write(img)
            m.write("%s\t%s\t%d\t%s\n" % (name, codes, rc, extra))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
