#!/usr/bin/python3
"""Writes the hdbscan package's test data.

Run from this directory with Debian's python3 (numpy 1.24):
    /usr/bin/python3 make_reference.py [REFERENCE_DIR]

1. Writes argsort.npy.gz: numpy's default (introsort) argsort of integer
   arrays with many equal values, which the package's sort emulation must
   reproduce, as one int32 vector of (n, values..., argsort...) records.
   This needs only numpy, so a clone regenerates it alone.
2. With REFERENCE_DIR, imports reference HDBSCAN results (inputs, parameters
   and labels, as REFERENCE.md describes them) from there as gzip-compressed
   .npy files; the two digits cases share one input, digits.npy.gz. The
   files here were imported once from the project's shared reference
   directory (shared/reference/hdbscan), made with the hdbscan library
   0.8.33, which Debian does not package, so they cannot be remade on this
   machine; REFERENCE.md is that directory's description, copied with them.
"""
import gzip
import io
import json
import os
import shutil
import sys
import numpy as np


def save(path, arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(buf.getvalue())


def copy_reference(src):
    for name in ["blobs2d", "blobs8d_eps", "moons", "digits_eom", "digits_leaf"]:
        x = np.load(os.path.join(src, name + ".npy"))
        data = "digits" if name.startswith("digits") else name
        save(data + ".npy.gz", x)
        save(name + ".labels.npy.gz", np.load(os.path.join(src, name + ".labels.npy")))
        shutil.copyfile(os.path.join(src, name + ".json"), name + ".json")


def argsort_cases():
    rng = np.random.default_rng(11)
    out = []
    for n in [1, 2, 17, 18, 40, 100, 257, 1000]:
        for levels in [2, 7, 1000000]:
            w = rng.integers(0, levels, size=n)
            out += [[n], w, np.argsort(w.astype(np.float64))]
    # A sorted and a reversed run with ties push introsort towards its
    # worst cases.
    for w in [np.repeat(np.arange(300), 3), np.repeat(np.arange(300), 3)[::-1].copy()]:
        out += [[len(w)], w, np.argsort(w.astype(np.float64))]
    save("argsort.npy.gz", np.concatenate([np.asarray(o, dtype=np.int32) for o in out]))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        copy_reference(sys.argv[1])
    argsort_cases()
