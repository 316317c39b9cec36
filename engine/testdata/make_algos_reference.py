#!/usr/bin/python3
"""Writes the scikit-learn references of the Gaussian mixture, spectral
clustering, mean shift and OPTICS tests (engine/{gmm,spectral,meanshift,
optics}/testdata) and of the zero-vector tests (engine/testdata).

Run with Debian's python3-sklearn (scikit-learn 1.2.1) from this directory:
    /usr/bin/python3 make_algos_reference.py
Data are float32 (what clusterd clusters); scikit-learn fits their float64
conversion, as clusterd computes in float64. Each directory gets its data
(.npy.gz), the reference outputs (.npy.gz) and cases.json describing every
case: the parameters and the files to compare with.
"""
import gzip
import io
import json
import os

import numpy as np
import sklearn
from sklearn.cluster import DBSCAN, OPTICS, AgglomerativeClustering, MeanShift, SpectralClustering
from sklearn.datasets import load_digits, make_blobs
from sklearn.metrics.pairwise import cosine_distances
from sklearn.mixture import GaussianMixture

HERE = os.path.dirname(os.path.abspath(__file__))


def save(directory, name, a):
    buf = io.BytesIO()
    np.save(buf, a)
    with gzip.GzipFile(os.path.join(directory, name + ".npy.gz"), "wb", mtime=0) as f:
        f.write(buf.getvalue())


def data(directory, name, x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    save(directory, name, x)
    return x.astype(np.float64)


def blobs(n, d, centers, std, seed):
    x, _ = make_blobs(n_samples=n, n_features=d, centers=centers, cluster_std=std, random_state=seed)
    return x


def gmm_refs():
    out = os.path.join(HERE, "..", "gmm", "testdata")
    cases = []
    sets = {"blobs": blobs(600, 4, 4, 0.8, 3), "overlap": blobs(800, 5, 5, 2.5, 11)}
    for dname, raw in sets.items():
        x = data(out, dname, raw)
        k = 4 if dname == "blobs" else 5
        d = x.shape[1]
        rng = np.random.default_rng(5)
        # Initial parameters given: deterministic EM from the same start.
        means0 = x[rng.choice(len(x), k, replace=False)]
        weights0 = np.full(k, 1.0 / k)
        for ct in ["full", "tied", "diag", "spherical"]:
            var = x.var(axis=0).mean()
            prec = {"full": np.array([np.eye(d) / var] * k), "tied": np.eye(d) / var,
                    "diag": np.full((k, d), 1 / var), "spherical": np.full(k, 1 / var)}[ct]
            g = GaussianMixture(k, covariance_type=ct, weights_init=weights0, means_init=means0,
                                precisions_init=prec, tol=1e-6, max_iter=500, reg_covar=1e-6).fit(x)
            name = f"{dname}_{ct}_given"
            save(out, name + ".weights", g.weights_)
            save(out, name + ".means", g.means_)
            save(out, name + ".covariances", np.asarray(g.covariances_, dtype=np.float64).reshape(-1))
            save(out, name + ".labels", g.predict(x).astype(np.int32))
            cases.append({"name": name, "data": dname, "params": {
                "n_components": k, "covariance_type": ct, "tol": 1e-6, "max_iter": 500,
                "weights_init": weights0.tolist(), "means_init": means0.tolist(), "precisions_init": prec.tolist()},
                "lower_bound": float(g.lower_bound_), "n_iter": int(g.n_iter_)})
        # Seeded initialisations: the median final lower bound over seeds 1-7.
        for init in ["kmeans", "k-means++", "random", "random_from_data"]:
            for ct in ["full", "diag"]:
                lbs = [float(GaussianMixture(k, covariance_type=ct, init_params=init, random_state=s).fit(x).lower_bound_)
                       for s in range(1, 8)]
                cases.append({"name": f"{dname}_{ct}_{init}_seeds", "data": dname,
                              "params": {"n_components": k, "covariance_type": ct, "init_params": init},
                              "seeds": list(range(1, 8)), "lower_bounds": lbs, "median": float(np.median(lbs))})
    # random initialisations draw from numpy's RandomState as clusterd does:
    # the same starts, so the same fits, n_init 3 included.
    x = data(out, "overlap", sets["overlap"])
    for ct in ["full", "tied", "diag", "spherical"]:
        g = GaussianMixture(5, covariance_type=ct, init_params="random", n_init=3, random_state=0).fit(x)
        cases.append({"name": f"overlap_{ct}_random_exact", "data": "overlap",
                      "params": {"n_components": 5, "covariance_type": ct, "init_params": "random", "n_init": 3, "random_state": 0},
                      "exact_lower_bound": float(g.lower_bound_), "n_iter": int(g.n_iter_)})
    # A collapsed component: duplicated points with no regularisation.
    x = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]]), 10, axis=0)
    data(out, "collapsed", x)
    try:
        GaussianMixture(3, reg_covar=0, random_state=0).fit(x)
        raise SystemExit("expected scikit-learn to fail on the collapsed data")
    except ValueError as e:
        cases.append({"name": "collapsed", "data": "collapsed", "params": {"n_components": 3, "reg_covar": 0},
                      "error": str(e)})
    json.dump({"sklearn": sklearn.__version__, "cases": cases}, open(os.path.join(out, "cases.json"), "w"), indent=1)


def spectral_refs():
    out = os.path.join(HERE, "..", "spectral", "testdata")
    cases = []
    sets = {
        # Separated blobs whose 10-nearest-neighbour graph is connected: on a
        # disconnected graph scikit-learn's shift-invert ARPACK misses part of
        # the repeated eigenvalue and finds the blobs only partly (an
        # adjusted Rand index of 0.82 with the truth for 6 disjoint blobs).
        "separated": (blobs(1500, 8, 6, 2.5, 30), 6, 0.02),
        "overlap": (blobs(1500, 6, 5, 2.2, 4), 5, 0.03),
        # Digits are whole numbers, whose many exactly tied distances
        # scikit-learn's parallel neighbour search breaks in an order that
        # depends on its thread count; a jitter of 1e-3 makes the neighbours
        # well defined.
        "digits": (load_digits().data + np.random.default_rng(2).uniform(0, 1e-3, (1797, 64)), 10, 0.001),
    }
    for dname, (raw, k, gamma) in sets.items():
        x = data(out, dname, raw)
        for affinity in ["rbf", "nearest_neighbors", "precomputed_nearest_neighbors"]:
            for assign in ["kmeans", "discretize", "cluster_qr"]:
                params = {"n_clusters": k, "affinity": affinity, "assign_labels": assign, "random_state": 0}
                if affinity == "rbf":
                    params["gamma"] = gamma
                else:
                    params["n_neighbors"] = 10
                fit_x = x
                if affinity == "precomputed_nearest_neighbors":
                    # The precomputed sparse graph of the vectors' Euclidean
                    # distances to their nearest neighbours (what clusterd
                    # reads the vectors as). A dense distance matrix would
                    # do too, but scikit-learn breaks its ties (digits have
                    # many) by argpartition, in no defined order.
                    from sklearn.neighbors import kneighbors_graph
                    fit_x = kneighbors_graph(x, 10, mode="distance", include_self=True)
                labels = SpectralClustering(**params).fit(fit_x).labels_
                name = f"{dname}_{affinity}_{assign}"
                save(out, name + ".labels", labels.astype(np.int32))
                cases.append({"name": name, "data": dname, "params": params,
                              "min_ari": 0.99 if dname == "separated" else 0.95})
    json.dump({"sklearn": sklearn.__version__, "cases": cases}, open(os.path.join(out, "cases.json"), "w"), indent=1)


def meanshift_refs():
    out = os.path.join(HERE, "..", "meanshift", "testdata")
    cases = []
    sets = {"blobs2d": blobs(500, 2, 5, 0.7, 8), "blobs6d": blobs(600, 6, 4, 1.0, 2),
            "blobs40d": blobs(400, 40, 3, 1.0, 5)}
    runs = [
        ("blobs2d", "default", {}),
        ("blobs2d", "bandwidth", {"bandwidth": 1.2}),
        ("blobs2d", "bins", {"bandwidth": 1.0, "bin_seeding": True, "min_bin_freq": 3}),
        ("blobs2d", "orphans", {"bandwidth": 0.8, "cluster_all": False}),
        ("blobs2d", "short", {"bandwidth": 1.5, "max_iter": 2}),
        ("blobs6d", "default", {}),
        ("blobs6d", "bins", {"bin_seeding": True}),
        ("blobs40d", "default", {}),
        ("blobs40d", "orphans", {"bandwidth": 7.0, "cluster_all": False}),
    ]
    xs = {k: data(out, k, v) for k, v in sets.items()}
    for dname, tag, params in runs:
        m = MeanShift(**params).fit(xs[dname])
        name = f"{dname}_{tag}"
        save(out, name + ".centers", m.cluster_centers_.astype(np.float64))
        save(out, name + ".labels", m.labels_.astype(np.int32))
        from sklearn.cluster import estimate_bandwidth
        bw = params.get("bandwidth") or float(estimate_bandwidth(xs[dname]))
        cases.append({"name": name, "data": dname, "params": params, "bandwidth": bw, "n_iter": int(m.n_iter_)})
    json.dump({"sklearn": sklearn.__version__, "cases": cases}, open(os.path.join(out, "cases.json"), "w"), indent=1)


def optics_refs():
    out = os.path.join(HERE, "..", "optics", "testdata")
    cases = []
    rng = np.random.default_rng(3)
    noisy = np.vstack([blobs(500, 2, 4, 0.5, 13), rng.uniform(-12, 12, size=(60, 2))])
    cos = blobs(400, 20, 4, 1.5, 9)
    cos[::37] = 0  # zero vectors
    sets = {"noisy2d": noisy, "blobs8d": blobs(600, 8, 5, 1.2, 6), "cosine20d": cos, "blobs40d": blobs(500, 40, 4, 1.0, 17)}
    runs = [
        ("noisy2d", "default", {}),
        ("noisy2d", "xi", {"min_samples": 10, "xi": 0.1, "min_cluster_size": 0.05}),
        ("noisy2d", "nocorrection", {"min_samples": 8, "predecessor_correction": False}),
        ("noisy2d", "dbscan", {"cluster_method": "dbscan", "eps": 0.7, "max_eps": 2.0}),
        ("noisy2d", "maxeps", {"max_eps": 1.0, "min_samples": 6}),
        ("blobs8d", "default", {}),
        ("blobs8d", "euclidean", {"metric": "euclidean", "min_samples": 7, "xi": 0.03}),
        ("blobs8d", "dbscan", {"cluster_method": "dbscan", "eps": 2.0}),
        ("cosine20d", "cosine", {"metric": "cosine", "min_samples": 6}),
        ("cosine20d", "cosine_dbscan", {"metric": "cosine", "cluster_method": "dbscan", "eps": 0.05}),
        ("blobs40d", "default", {"min_samples": 8}),
    ]
    xs = {k: data(out, k, v) for k, v in sets.items()}
    for dname, tag, params in runs:
        o = OPTICS(**params).fit(xs[dname])
        name = f"{dname}_{tag}"
        save(out, name + ".ordering", o.ordering_.astype(np.int32))
        save(out, name + ".reachability", o.reachability_)
        save(out, name + ".core", o.core_distances_)
        save(out, name + ".labels", o.labels_.astype(np.int32))
        cases.append({"name": name, "data": dname, "params": params})
    json.dump({"sklearn": sklearn.__version__, "cases": cases}, open(os.path.join(out, "cases.json"), "w"), indent=1)


def zero_vector_refs():
    """Cosine with zero vectors: scikit-learn's cosine_distances gives them
    similarity 0 (distance 1) to every point. AgglomerativeClustering
    itself refuses them (SciPy's NaN), so its reference is the same
    clustering on scikit-learn's precomputed cosine distances."""
    out = HERE
    x = blobs(300, 12, 3, 1.0, 31)
    x[::29] = 0
    x = data(out, "zerocos", x)
    refs = {"dbscan": DBSCAN(eps=0.02, min_samples=4, metric="cosine").fit(x).labels_,
            "optics": OPTICS(metric="cosine", min_samples=5).fit(x).labels_}
    dist = cosine_distances(x)
    for linkage in ["average", "complete", "single"]:
        refs["agglomerative_" + linkage] = AgglomerativeClustering(
            n_clusters=4, metric="precomputed", linkage=linkage).fit(dist).labels_
    for k, v in refs.items():
        save(out, "zerocos." + k, v.astype(np.int32))
    json.dump({"sklearn": sklearn.__version__, "zero_vectors": int((np.abs(x).sum(axis=1) == 0).sum())},
              open(os.path.join(out, "zerocos.json"), "w"), indent=1)


if __name__ == "__main__":
    gmm_refs()
    spectral_refs()
    meanshift_refs()
    optics_refs()
    zero_vector_refs()
