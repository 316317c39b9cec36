#!/usr/bin/python3
"""Writes scikit-learn KDTree layouts the kdtree tests compare against.

Run with Debian's python3-sklearn (scikit-learn 1.2.1) from this directory:
    /usr/bin/python3 make_reference.py
For each dataset NAME it writes NAME.npy.gz (float32 data) and
NAME.tree.npy.gz (int32: idx_array, then idx_start, idx_end, is_leaf for
every node) for KDTree(X, leaf_size=LEAF) with LEAF in the file name.
"""
import gzip
import io
import numpy as np
from sklearn.neighbors import KDTree


def save(path, arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(buf.getvalue())


def write(name, x, leaf):
    x = x.astype(np.float32)
    t = KDTree(x.astype(np.float64), leaf_size=leaf)
    _, idx, nodes, _ = t.get_arrays()
    flat = [idx.astype(np.int32)]
    for nd in nodes:
        flat.append(np.array([nd["idx_start"], nd["idx_end"], nd["is_leaf"]], dtype=np.int32))
    save(f"{name}.npy.gz", x)
    save(f"{name}.tree.npy.gz", np.concatenate(flat).astype(np.int32))


if __name__ == "__main__":
    rng = np.random.default_rng(3)
    write("gauss6_leaf40", rng.normal(size=(1200, 6)), 40)
    # Small integers: many equal coordinates, so the median split's ties
    # (broken by index) and the selection order matter.
    write("grid3_leaf10", rng.integers(0, 6, size=(1000, 3)), 10)
    write("line1_leaf5", np.repeat(rng.normal(size=(60, 1)), 5, axis=0), 5)
