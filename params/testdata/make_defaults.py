#!/usr/bin/python3
"""Writes sklearn_defaults.json: the constructor defaults of scikit-learn's
clustering estimators (Debian's python3-sklearn, 1.2.1), which params_test.go
compares with clusterd's parameter models. Run: /usr/bin/python3 make_defaults.py"""
import json
import sklearn
from sklearn.cluster import (DBSCAN, OPTICS, AgglomerativeClustering, KMeans,
                             MeanShift, MiniBatchKMeans, SpectralClustering)
from sklearn.mixture import GaussianMixture

estimators = {
    "kmeans": KMeans, "minibatch_kmeans": MiniBatchKMeans, "dbscan": DBSCAN,
    "agglomerative": AgglomerativeClustering, "gaussian_mixture": GaussianMixture,
    "spectral": SpectralClustering, "mean_shift": MeanShift, "optics": OPTICS,
}
out = {"sklearn_version": sklearn.__version__}
for name, cls in estimators.items():
    params = {}
    for k, v in cls().get_params().items():
        if isinstance(v, float) and v == float("inf"):
            v = "inf"
        elif not isinstance(v, (int, float, str, bool, type(None))):
            v = repr(v)
        params[k] = v
    out[name] = params
with open("sklearn_defaults.json", "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write("\n")
