#!/usr/bin/python3
"""Writes the scikit-learn AgglomerativeClustering reference files the
agglomerative tests compare against.

Run with Debian's python3-sklearn (scikit-learn 1.2.1, SciPy 1.10) from this
directory:
    /usr/bin/python3 make_reference.py
Writes DATA.npy.gz for each data set (float32), CASE.labels.npy.gz for each
case (scikit-learn's labels_, int32) and cases.json (each case's data set,
parameters and n_clusters_).
"""
import gzip
import io
import json
import warnings
import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.datasets import load_digits, make_blobs, make_moons


def save(path, arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(buf.getvalue())


data = {}
cases = {}


def dataset(name, x):
    # Multiples of 1/256 have short mantissas: the files compress well.
    x = np.ascontiguousarray(np.round(np.asarray(x, dtype=np.float64) * 256) / 256, dtype=np.float32)
    save(name + ".npy.gz", x)
    data[name] = x


def case(name, data_name, linkage, metric="euclidean", n_clusters=None, distance_threshold=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ac = AgglomerativeClustering(n_clusters=n_clusters, distance_threshold=distance_threshold,
                                     linkage=linkage, metric=metric).fit(data[data_name])
    save(name + ".labels.npy.gz", ac.labels_.astype(np.int32))
    cases[name] = {"data": data_name, "linkage": linkage, "metric": metric, "n_clusters": n_clusters,
                   "distance_threshold": distance_threshold, "n_clusters_": int(ac.n_clusters_)}
    print(name, cases[name])


if __name__ == "__main__":
    rng = np.random.default_rng(7)
    x, _ = make_blobs(n_samples=500, centers=5, cluster_std=1.1, random_state=2)
    dataset("blobs2d", np.vstack([x, rng.uniform(x.min(0), x.max(0), size=(40, 2))]))
    x, _ = make_moons(n_samples=400, noise=0.06, random_state=1)
    dataset("moons", x)
    # Small integers: duplicate points and many equal distances, where the
    # merge order depends on exact tie-breaking.
    dataset("grid3d_ties", rng.integers(0, 5, size=(400, 3)) + 7 * rng.integers(0, 2, size=(400, 1)))
    dataset("digits64d_ties", load_digits().data[:400])
    topics = rng.normal(size=(6, 16))
    lab = rng.integers(0, 6, size=450)
    dataset("topics16d", topics[lab] + 0.6 * rng.normal(size=(450, 16)))

    for linkage in ["ward", "complete", "average", "single"]:
        case(f"blobs2d_{linkage}", "blobs2d", linkage, n_clusters=5)
        case(f"grid3d_ties_{linkage}", "grid3d_ties", linkage, n_clusters=9)
        case(f"digits64d_ties_{linkage}", "digits64d_ties", linkage, n_clusters=10)
    case("moons_single", "moons", "single", n_clusters=2)
    case("moons_average_k7", "moons", "average", n_clusters=7)
    for linkage in ["complete", "average", "single"]:
        case(f"topics16d_cosine_{linkage}", "topics16d", linkage, metric="cosine", n_clusters=6)
    case("blobs2d_ward_threshold", "blobs2d", "ward", distance_threshold=6.0)
    case("grid3d_ties_single_threshold", "grid3d_ties", "single", distance_threshold=1.0)
    case("topics16d_cosine_average_threshold", "topics16d", "average", metric="cosine", distance_threshold=0.5)
    case("digits64d_ties_complete_threshold", "digits64d_ties", "complete", distance_threshold=40.0)
    with open("cases.json", "w") as f:
        json.dump(cases, f, indent=1, sort_keys=True)
