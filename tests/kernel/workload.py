#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""workload.py: seeded, reproducible I/O for the kernel suites (runs in the
guest, next to real dm devices).

  gen FILE BYTES SEED
      fill FILE with seeded pseudo-random bytes
  run --origin DEV --snap DEV --image FILE --chunk-sectors N --seed S
      --ops N [--snap-share P] --out DIR
      interleaved random origin and snapshot writes through the dm devices
      with O_DIRECT (so partial-chunk bios really reach dm-snapshot), one at
      a time; FILE is the origin's content before the first write. Writes
      to DIR:
        chunks.txt         old chunks in the order of first touch
        ops.txt            the writes: 'o|s OFFSET LENGTH'
        model-origin.sha256, model-snap.sha256   expected contents
  chunks DEV CHUNK_BYTES FIRST LAST
      one direct write of 0xee per chunk FIRST..LAST (one process: python
      starts slowly under TCG); prints 'CHUNK 0' or 'CHUNK ERRNO-NAME'
  disk DEV IMAGE SEED OPS OUT [PAUSE_AT PAUSE_FILE [PAUSE_MODEL]]
      seeded O_DIRECT writes (4 KiB to 128 KiB, one in 8 also O_DSYNC,
      i.e. FUA) to one disk whose content before the first write is
      IMAGE; each write is logged to OUT/acked.txt once it returned;
      OUT/model.sha256 is the expected content.  After PAUSE_AT writes it
      creates PAUSE_FILE and goes on (a test kills the server then); with
      PAUSE_MODEL it first writes the model's sha256 at that point there,
      and waits until the test removes PAUSE_FILE (a live snapshot is
      taken then: it must read that model)
  hash CHUNK_BYTES DEV OUT [DEV OUT...]
      read DEV (O_DIRECT) and write 'TOTAL_SHA256' then one sha256 per
      chunk to OUT
"""

import hashlib
import mmap
import os
import random
import sys
import time

SECTOR = 512


def gen(path, size, seed):
    rng = random.Random(seed)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(rng.randbytes(n))
            left -= n


def aligned(n):
    """A page-aligned buffer (O_DIRECT needs aligned memory)."""
    return mmap.mmap(-1, max(n, mmap.PAGESIZE))


def pwrite_direct(fd, data, off):
    buf = aligned(len(data))
    buf[:len(data)] = data
    view = memoryview(buf)[:len(data)]
    done = os.pwrite(fd, view, off)
    view.release()
    buf.close()
    if done != len(data):
        raise OSError("short write at %d" % off)


def run(opts):
    cs = int(opts["chunk-sectors"])
    cb = cs * SECTOR
    rng = random.Random(int(opts["seed"]))
    ops = int(opts["ops"])
    snap_share = float(opts.get("snap-share", "0.4"))
    out = opts["out"]
    with open(opts["image"], "rb") as f:
        origin = bytearray(f.read())
    snap = bytearray(origin)
    size = len(origin)
    nchunks = size // cb
    touched = {}
    order = []
    ofd = os.open(opts["origin"], os.O_RDWR | os.O_DIRECT)
    sfd = os.open(opts["snap"], os.O_RDWR | os.O_DIRECT)
    log = open(os.path.join(out, "ops.txt"), "w")
    for _ in range(ops):
        kind = "s" if rng.random() < snap_share else "o"
        # Mostly fresh chunks (to fill many metadata areas), sometimes
        # one already preserved (no new exception must appear).
        if order and rng.random() < 0.2:
            chunk = rng.choice(order)
        else:
            chunk = rng.randrange(nchunks)
        # Lengths: one sector, a few sectors, a whole chunk, or a run
        # that crosses into the next chunk; offsets sector-aligned.
        r = rng.random()
        if r < 0.3:
            length = SECTOR
        elif r < 0.6:
            length = SECTOR * rng.randint(2, min(64, 2 * cs))
        elif r < 0.8:
            length = cb
        else:
            length = SECTOR * rng.randint(1, min(2 * cs, 256))
        start = chunk * cb + SECTOR * rng.randrange(cs)
        if r >= 0.6 and r < 0.8:
            start = chunk * cb
        start = min(start, size - length)
        data = rng.randbytes(length)
        fd = sfd if kind == "s" else ofd
        pwrite_direct(fd, data, start)
        for c in range(start // cb, (start + length - 1) // cb + 1):
            if c not in touched:
                touched[c] = len(order)
                order.append(c)
        if kind == "s":
            snap[start:start + length] = data
        else:
            origin[start:start + length] = data
        log.write("%s %d %d\n" % (kind, start, length))
    log.close()
    os.close(ofd)
    os.close(sfd)
    with open(os.path.join(out, "chunks.txt"), "w") as f:
        for c in order:
            f.write("%d\n" % c)
    for name, buf in (("origin", origin), ("snap", snap)):
        with open(os.path.join(out, "model-%s.sha256" % name), "w") as f:
            f.write(hashlib.sha256(buf).hexdigest() + "\n")


def hash_dev(dev, chunk_bytes, out):
    fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    total = hashlib.sha256()
    lines = []
    # Big reads (few syscalls: they are slow under TCG), hashed per chunk.
    step = max(chunk_bytes, 1 << 20)
    buf = aligned(step)
    while True:
        n = os.readv(fd, [buf])
        if n <= 0:
            break
        data = buf[:n]
        total.update(data)
        for i in range(0, n, chunk_bytes):
            lines.append(hashlib.sha256(data[i:i + chunk_bytes]).hexdigest())
    os.close(fd)
    with open(out, "w") as f:
        f.write(total.hexdigest() + "\n")
        f.write("\n".join(lines) + "\n")


def write_chunks(dev, chunk_bytes, first, last):
    import errno
    fd = os.open(dev, os.O_WRONLY | os.O_DIRECT)
    buf = aligned(chunk_bytes)
    buf[:chunk_bytes] = b"\xee" * chunk_bytes
    view = memoryview(buf)[:chunk_bytes]
    for c in range(first, last + 1):
        try:
            os.pwrite(fd, view, c * chunk_bytes)
            res = "0"
        except OSError as e:
            res = errno.errorcode.get(e.errno, str(e.errno))
        print("%d %s" % (c, res), flush=True)
    view.release()
    os.close(fd)


def pause(pause_file, pause_model, model):
    if pause_model:
        with open(pause_model, "w") as f:
            f.write(hashlib.sha256(model).hexdigest() + "\n")
    open(pause_file, "w").close()
    while pause_model and os.path.exists(pause_file):
        time.sleep(0.05)


def disk(dev, image, seed, ops, out, pause_at=-1, pause_file=None,
         pause_model=None):
    rng = random.Random(seed)
    with open(image, "rb") as f:
        model = bytearray(f.read())
    size = len(model)
    fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
    sfd = os.open(dev, os.O_RDWR | os.O_DIRECT | os.O_DSYNC)
    log = open(os.path.join(out, "acked.txt"), "w")
    for i in range(ops):
        if i == pause_at:
            pause(pause_file, pause_model, model)
        length = 4096 * rng.randint(1, 32)
        start = 4096 * rng.randrange((size - length) // 4096 + 1)
        data = rng.randbytes(length)
        fua = rng.random() < 0.125
        pwrite_direct(sfd if fua else fd, data, start)
        model[start:start + length] = data
        log.write("%d %d %d\n" % (start, length, int(fua)))
        log.flush()
    os.close(fd)
    os.close(sfd)
    log.close()
    with open(os.path.join(out, "model.sha256"), "w") as f:
        f.write(hashlib.sha256(model).hexdigest() + "\n")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 16
    cmd = argv[1]
    if cmd == "gen":
        gen(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "run":
        opts = {}
        rest = argv[2:]
        while rest:
            if not rest[0].startswith("--") or len(rest) < 2:
                print("workload: bad option %s" % rest[0], file=sys.stderr)
                return 16
            opts[rest[0][2:]] = rest[1]
            rest = rest[2:]
        run(opts)
    elif cmd == "chunks":
        write_chunks(argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
    elif cmd == "disk":
        extra = argv[7:10] if len(argv) > 8 else [-1, None]
        disk(argv[2], argv[3], int(argv[4]), int(argv[5]), argv[6],
             int(extra[0]), *extra[1:])
    elif cmd == "hash":
        # Several devices per call: each python start costs ~1 s in TCG.
        for dev, out in zip(argv[3::2], argv[4::2]):
            hash_dev(dev, int(argv[2]), out)
    else:
        print("workload: unknown command %s" % cmd, file=sys.stderr)
        return 16
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
