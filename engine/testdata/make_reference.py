#!/usr/bin/python3
"""Writes the scikit-learn reference files the engine tests compare against.

Run with Debian's python3-sklearn (scikit-learn 1.2.1) from this directory:
    /usr/bin/python3 make_reference.py          (every file)
    /usr/bin/python3 make_reference.py large    (large_overlap only)
Outputs, for each dataset NAME:
    NAME.npy         the data, float32
    NAME.LABELING.npy labelings, int32: truth, noisy, random, withnoise
    NAME.json        scikit-learn's metrics on several labelings, its k-means++
                     objectives over seeds, and adjusted Rand indices.
and large_overlap.npy/.json: 40,000 points (more than clusterd seeds on
exactly) with scikit-learn's k-means++ objectives over seeds 1-7.
"""
import json
import numpy as np
import sklearn
from sklearn import metrics
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits, make_blobs


def labelings(y, k, rng):
    """Ground truth, a noisy copy (10% relabelled) and uniform random labels."""
    noisy = y.copy()
    flip = rng.random(len(y)) < 0.1
    noisy[flip] = rng.integers(0, k, flip.sum())
    rand = rng.integers(0, k, len(y))
    return {"truth": y, "noisy": noisy, "random": rand}


def scores(x, lab):
    return {
        "silhouette": float(metrics.silhouette_score(x, lab)),
        "davies_bouldin": float(metrics.davies_bouldin_score(x, lab)),
        "calinski_harabasz": float(metrics.calinski_harabasz_score(x, lab)),
    }


def write(name, x, y, k, max_iter, seeds=range(1, 8)):
    x = x.astype(np.float32)
    y = y.astype(np.int32)
    np.save(name + ".npy", x)
    rng = np.random.default_rng(0)
    out = {"sklearn": sklearn.__version__, "n": int(x.shape[0]), "d": int(x.shape[1]), "k": k,
           "metrics": {}, "kmeans": {}, "ari": []}
    for lname, lab in labelings(y, k, rng).items():
        np.save(f"{name}.{lname}.npy", lab.astype(np.int32))
        out["metrics"][lname] = scores(x, lab)
    # The same labels with every 7th point marked noise (-1): scikit-learn on
    # the other points is what clusterd must report.
    noisy = np.load(f"{name}.noisy.npy")
    keep = np.arange(len(y)) % 7 != 3
    withnoise = noisy.copy()
    withnoise[~keep] = -1
    np.save(f"{name}.withnoise.npy", withnoise.astype(np.int32))
    out["metrics"]["withnoise"] = scores(x[keep], noisy[keep])
    objectives = []
    for s in seeds:
        km = KMeans(n_clusters=k, init="k-means++", n_init=1, max_iter=max_iter, tol=0,
                    random_state=s, algorithm="lloyd").fit(x)
        objectives.append(float(km.inertia_))
    out["kmeans"] = {"n_clusters": k, "n_init": 1, "max_iter": max_iter, "tol": 0,
                     "objectives": objectives, "median": float(np.median(objectives))}
    # adjusted Rand index checks for clusterd's own implementation
    for a, b in [("truth", "noisy"), ("truth", "random"), ("noisy", "random")]:
        la, lb = np.load(f"{name}.{a}.npy"), np.load(f"{name}.{b}.npy")
        out["ari"].append({"a": a, "b": b, "ari": float(metrics.adjusted_rand_score(la, lb))})
    with open(name + ".json", "w") as f:
        json.dump(out, f, indent=1)


def write_kmeans(name, x, k, max_iter, seeds=range(1, 8)):
    """The data and scikit-learn's k-means++ objectives only (for data large
    enough that clusterd seeds from a coreset)."""
    x = x.astype(np.float32)
    np.save(name + ".npy", x)
    objectives = [float(KMeans(n_clusters=k, init="k-means++", n_init=1, max_iter=max_iter, tol=0,
                               random_state=s, algorithm="lloyd").fit(x).inertia_) for s in seeds]
    out = {"sklearn": sklearn.__version__, "n": int(x.shape[0]), "d": int(x.shape[1]), "k": k,
           "kmeans": {"n_clusters": k, "n_init": 1, "max_iter": max_iter, "tol": 0,
                      "objectives": objectives, "median": float(np.median(objectives))}}
    with open(name + ".json", "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["large"]:
        # Only the large files (the others are unchanged by this).
        x, _ = make_blobs(n_samples=40000, n_features=8, centers=48, cluster_std=3.0, random_state=13)
        write_kmeans("large_overlap", x, 48, 20)
        sys.exit(0)
    x, y = make_blobs(n_samples=3000, n_features=16, centers=8, cluster_std=1.5, random_state=7)
    write("blobs", x, y, 8, 20)
    x, y = make_blobs(n_samples=4000, n_features=8, centers=12, cluster_std=4.0, random_state=11)
    write("blobs_overlap", x, y, 12, 20)
    d = load_digits()
    write("digits", d.data, d.target, 10, 20)
    # PCA reference: scikit-learn's projection of digits on 5 components
    # (full SVD; component signs are arbitrary and compared up to sign).
    from sklearn.decomposition import PCA
    x = np.load("digits.npy")
    np.save("digits.pca5.npy", np.ascontiguousarray(PCA(n_components=5, svd_solver="full").fit_transform(x), dtype=np.float32))
