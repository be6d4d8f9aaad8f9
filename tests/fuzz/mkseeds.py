#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Seed corpus for fuzz-check: small COWs (512-byte and 4 KiB chunks),
good and with one damage of each kind, from tests/damage/mkdamage.py."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "damage"))
import mkdamage  # noqa: E402


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "seeds"
    os.makedirs(out, exist_ok=True)
    rng = mkdamage.random.Random(1)
    for name, img, _, _, _ in mkdamage.cases(rng):
        if len(img) <= (4 << 20):
            with open(os.path.join(out, name), "wb") as f:
                f.write(img)
    # Tiny ones with 512-byte chunks, so mutations reach every area.
    for n in (0, 1, 5, 31, 32, 40):
        c = mkdamage.Cow(80, n, rng, cs=1)
        with open(os.path.join(out, "cs1-%d" % n), "wb") as f:
            f.write(c.buf)


if __name__ == "__main__":
    main()
