#!/usr/bin/python3
# Copied from the project's shared tools (shared/tools/peers.py) so the benchmarks run
# from a clone alone; keep the two in step when the shared one changes.
"""Side-by-side peer timings for k-means and metrics on this machine.
Usage: peers.py gen N D K SEED OUT.npy [SCALE]  |  peers.py faiss|faiss-default X.npy K ITERS  |  peers.py sklearn X.npy K ITERS
       peers.py metrics X.npy LABELS.npy"""
import sys, time, json
import numpy as np

def gen(n, d, k, seed, out, scale=4.0):
    # Centres N(0,1)·scale (4: separated blobs; 1 or 1.5: overlapping), unit noise.
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)).astype(np.float32) * np.float32(scale)
    lab = rng.integers(0, k, size=n)
    x = centers[lab] + rng.normal(size=(n, d)).astype(np.float32)
    np.save(out, x.astype(np.float32)); np.save(out.replace('.npy', '.labels.npy'), lab.astype(np.int32))

def run_faiss(path, k, iters, sample=False):
    # sample=False trains on every point; sample=True keeps FAISS's default
    # max_points_per_centroid (256): it trains on 256·k sampled points.
    import faiss
    x = np.load(path)
    extra = {} if sample else {"max_points_per_centroid": 1 << 30}
    km = faiss.Kmeans(x.shape[1], k, niter=iters, seed=1, verbose=False, **extra)
    t = time.perf_counter(); km.train(x); _, lab = km.index.search(x, 1); dt = time.perf_counter() - t
    inertia = float(((x - km.centroids[lab[:, 0]]) ** 2).sum())
    print(json.dumps({"peer": "faiss-default" if sample else "faiss", "n": x.shape[0], "d": x.shape[1], "k": k, "iters": iters, "seconds": dt, "inertia": inertia}))

def run_sklearn(path, k, iters):
    from sklearn.cluster import KMeans
    x = np.load(path)
    t = time.perf_counter()
    km = KMeans(n_clusters=k, n_init=1, max_iter=iters, tol=0, init="k-means++", random_state=1, algorithm="lloyd").fit(x)
    dt = time.perf_counter() - t
    print(json.dumps({"peer": "sklearn", "n": x.shape[0], "d": x.shape[1], "k": k, "iters": km.n_iter_, "seconds": dt, "inertia": float(km.inertia_)}))

def metrics(path, labpath):
    from sklearn import metrics as m
    x = np.load(path); lab = np.load(labpath)
    out = {}
    for name, f in [("silhouette", m.silhouette_score), ("davies_bouldin", m.davies_bouldin_score), ("calinski_harabasz", m.calinski_harabasz_score)]:
        t = time.perf_counter(); v = float(f(x, lab)); out[name] = v; out[name + "_seconds"] = time.perf_counter() - t
    print(json.dumps(out))

if __name__ == "__main__":
    c = sys.argv[1]
    if c == "gen": gen(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], *map(float, sys.argv[7:8]))
    elif c == "faiss": run_faiss(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif c == "faiss-default": run_faiss(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sample=True)
    elif c == "sklearn": run_sklearn(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif c == "metrics": metrics(sys.argv[2], sys.argv[3])
