#!/usr/bin/python3
"""Writes a folder of N generated RGB JPEG photos-like images (SIDE x SIDE, 10 class folders) for bench/scale.py.
Usage: scale_gen.py DIR N SIDE. Deterministic (seeded); skips the work when DIR already holds N images."""
import os, sys
from multiprocessing import Pool
import numpy as np
from PIL import Image

def write(args):
    root, start, stop, side = args
    rng = np.random.default_rng(start)
    y, x = np.mgrid[0:side, 0:side] / side
    for i in range(start, stop):
        c = i % 10
        base = np.stack([np.sin(x * (c + 1) * 3 + i) , np.cos(y * (c + 2) * 2 - i), np.sin((x + y) * (c + 3))], -1)
        img = ((base * 0.5 + 0.5) * 200 + rng.integers(0, 55, (side, side, 3))).clip(0, 255).astype(np.uint8)
        Image.fromarray(img).save(os.path.join(root, f"c{c}", f"{i:06d}.jpg"), quality=90)

def main():
    root, n, side = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    marker = os.path.join(root, ".complete")
    if os.path.exists(marker):
        return
    for c in range(10):
        os.makedirs(os.path.join(root, f"c{c}"), exist_ok=True)
    chunks = [(root, s, min(s + 1000, n), side) for s in range(0, n, 1000)]
    with Pool(2) as pool:
        pool.map(write, chunks)
    open(marker, "w").close()

if __name__ == "__main__":
    main()
