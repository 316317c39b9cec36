#!/usr/bin/python3
"""Writes the scikit-learn DBSCAN reference files the dbscan tests compare against.

Run with Debian's python3-sklearn (scikit-learn 1.2.1) from this directory:
    /usr/bin/python3 make_reference.py
For each case NAME it writes NAME.npy.gz (the data, float32), NAME.labels.npy.gz
(scikit-learn's labels, int32) and adds NAME's parameters to cases.json.
Cases that scikit-learn computes in float32 (cosine) or in float64 with the
GEMM form (Euclidean above 15 dimensions) are checked to have no pair of
points whose distance lies within 1e-5 (cosine) or 1e-9 (Euclidean) of eps,
where those forms and clusterd's float64 difference form could disagree,
and the script reports how many border points touch more than one cluster
(the cases where scikit-learn's expansion order decides the label).
"""
import gzip
import io
import json
import numpy as np
from sklearn.cluster import DBSCAN
from sklearn.datasets import load_digits, make_blobs, make_moons
from sklearn.metrics import pairwise_distances


def save(path, arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(buf.getvalue())


cases = {}


def write(name, x, eps, min_samples, metric="euclidean"):
    # Multiples of 1/256 have short mantissas: the files compress well.
    x = np.ascontiguousarray(np.round(np.asarray(x) * 256) / 256, dtype=np.float32)
    d = pairwise_distances(x.astype(np.float64), metric=metric)
    margin = 1e-5 if metric == "cosine" else (1e-9 if x.shape[1] > 15 else 0)
    # Nudge eps up (0.1% at a time) until no distance is that close to it.
    while (np.abs(d - eps) < margin * eps).any():
        eps = round(eps * 1.001, 6)
    db = DBSCAN(eps=eps, min_samples=min_samples, metric=metric).fit(x)
    lab = db.labels_.astype(np.int32)
    core = np.zeros(len(x), bool)
    core[db.core_sample_indices_] = True
    within = d <= eps
    multi = 0
    for i in np.where(~core & (lab >= 0))[0]:
        if len(set(lab[within[i] & core])) > 1:
            multi += 1
    save(name + ".npy.gz", x)
    save(name + ".labels.npy.gz", lab)
    cases[name] = {"eps": eps, "min_samples": min_samples, "metric": metric, "n": len(x), "d": x.shape[1],
                   "clusters": int(lab.max() + 1), "noise": int((lab < 0).sum()), "core": int(core.sum()),
                   "border_multi_cluster": multi}
    print(name, cases[name])


if __name__ == "__main__":
    rng = np.random.default_rng(5)
    x, _ = make_blobs(n_samples=1200, centers=6, cluster_std=0.9, random_state=3)
    x = np.vstack([x, rng.uniform(x.min(0), x.max(0), size=(150, 2))])
    write("blobs2d", x, 0.37, 12)
    x, _ = make_moons(n_samples=800, noise=0.09, random_state=4)
    write("moons", x, 0.105, 8)
    # Small integers in 3-d: many duplicate points and equal distances
    # (squared distances are integers; eps² = 2.25 is not).
    x = rng.integers(0, 7, size=(900, 3)) + 9 * rng.integers(0, 2, size=(900, 1))
    write("grid3d_ties", x, 1.5, 25)
    x, _ = make_blobs(n_samples=700, n_features=20, centers=5, cluster_std=2.0, random_state=8)
    write("blobs20d", x, 10.0, 10)
    d = load_digits()
    write("digits64d_ties", d.data[:900], 21.5, 6)
    # Text-like directions for the cosine metric: topic vectors plus noise.
    topics = rng.normal(size=(8, 20))
    lab = rng.integers(0, 8, size=900)
    x = topics[lab] + 0.55 * rng.normal(size=(900, 20))
    x[:4] = 0  # zero vectors: distance 1 to everything under cosine
    write("topics20d_cosine", x, 0.17, 7, metric="cosine")
    with open("cases.json", "w") as f:
        json.dump(cases, f, indent=1, sort_keys=True)
