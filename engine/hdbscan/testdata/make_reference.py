#!/usr/bin/python3
"""Writes the hdbscan package's test data.

Run from this directory with Debian's python3 (numpy 1.24):
    /usr/bin/python3 make_reference.py [SHARED_REFERENCE_DIR]

1. Copies the reference HDBSCAN results (hdbscan 0.8.33; inputs, parameters
   and labels from ../../../../shared/reference/hdbscan by default) as
   gzip-compressed .npy files, so the tests run on a clone without that
   directory. The two digits cases share one input, digits.npy.gz.
2. Writes argsort.npy.gz: numpy's default (introsort) argsort of integer
   arrays with many equal values, which the package's sort emulation must
   reproduce, as one int32 vector of (n, values..., argsort...) records.
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
    copy_reference(sys.argv[1] if len(sys.argv) > 1 else "../../../../shared/reference/hdbscan")
    argsort_cases()
