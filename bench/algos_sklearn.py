#!/usr/bin/python3
"""scikit-learn's side of bench/algos.sh: fits one estimator on X.npy with
the same parameters clusterd gets and prints a JSON line with the seconds
of the fit alone, the labels' path and the estimator's figures.
Usage: algos_sklearn.py ALGORITHM X.npy PARAMS_JSON LABELS_OUT.npy"""
import json
import sys
import time

import numpy as np


def main():
    alg, path, params, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
    x = np.load(path).astype(np.float64)  # clusterd computes in float64 from float32 vectors too
    from sklearn.cluster import OPTICS, MeanShift, SpectralClustering
    from sklearn.mixture import GaussianMixture
    est = {"gaussian_mixture": GaussianMixture, "spectral": SpectralClustering,
           "mean_shift": MeanShift, "optics": OPTICS}[alg](**params)
    t = time.perf_counter()
    if alg == "gaussian_mixture":
        labels = est.fit_predict(x)
    else:
        labels = est.fit(x).labels_
    dt = time.perf_counter() - t
    np.save(out, np.asarray(labels, dtype=np.int32))
    res = {"seconds": dt, "clusters": int(len(set(labels.tolist()) - {-1}))}
    if alg == "gaussian_mixture":
        res["lower_bound"] = float(est.lower_bound_)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
