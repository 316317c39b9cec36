#!/usr/bin/env bash
# Side by side on this machine, in one run: clusterd, FAISS and scikit-learn
# on the CPU-speed workloads, then a markdown table with times, objectives
# and ratios.
#
#   W1: 200,000 × 128, k = 256, 20 iterations, n_init 1, tol 0
#   W2: 100,000 × 768, k = 100, 20 iterations, n_init 1, tol 0
#   silhouette: exact, on the first 20,000 rows of W2 with clusterd's labels
#
# It also measures OpenBLAS's SGEMM rate (numpy, 4096×1024 by 1024×1024) in
# the same run, so the Lloyd iterations' rate can be compared with it, and
# clusterd's peak memory (GNU time's maximum resident set size).
#
# Usage: bench/compare.sh [WORKDIR]      (default bench/out; data are kept there)
# Needs Debian's python3-sklearn, python3-faiss and time, and the peers script
# (PEERS, default bench/peers.py, a copy of the shared tools' peers script). Extra flags for clusterd fit go in
# FIT_FLAGS (e.g. "--cpu-threads 2").
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-bench/out}
PY=${PY:-/usr/bin/python3}
PEERS=${PEERS:-bench/peers.py}
SEEDS=${SEEDS:-"1 2 3"}
mkdir -p "$W"
go build -o "$W/clusterd" ./cmd/clusterd

[ -f "$W/w1.npy" ] || $PY "$PEERS" gen 200000 128 256 7 "$W/w1.npy"
[ -f "$W/w2.npy" ] || $PY "$PEERS" gen 100000 768 100 8 "$W/w2.npy"

sgemm=$($PY - <<'PY'
import time, numpy as np
a = np.random.rand(4096, 1024).astype(np.float32); b = np.random.rand(1024, 1024).astype(np.float32)
a @ b
t = time.perf_counter(); r = 10
for _ in range(r): a @ b
print(f"{2 * 4096 * 1024 * 1024 * r / (time.perf_counter() - t) / 1e9:.1f}")
PY
)
echo "OpenBLAS SGEMM: $sgemm GFLOP/s" >&2

# sklearn's k-means++ Lloyd at the same budget for several seeds (peers.py
# fixes the seed to 1).
sk() {
  $PY - "$1" "$2" "$3" <<'PY'
import json, sys, time, numpy as np
from sklearn.cluster import KMeans
x = np.load(sys.argv[1]); k = int(sys.argv[2]); seed = int(sys.argv[3])
t = time.perf_counter()
km = KMeans(n_clusters=k, n_init=1, max_iter=20, tol=0, init="k-means++", random_state=seed, algorithm="lloyd").fit(x)
print(json.dumps({"seconds": time.perf_counter() - t, "inertia": float(km.inertia_), "iters": int(km.n_iter_)}))
PY
}
field() { $PY -c "import json,sys; print(json.loads(sys.argv[1])$2)" "$1"; }

rows=()
for w in w1:256 w2:100; do
  name=${w%%:*}; k=${w##*:}; x="$W/$name.npy"
  echo "== $name: clusterd" >&2
  /usr/bin/time -f "%e %M" -o "$W/$name.time" "$W/clusterd" fit --input "$x" --params "{\"n_clusters\":$k,\"n_init\":1,\"max_iter\":20,\"tol\":0}" \
    --seed 1 --quiet --output "$W/$name.json" --labels-out "$W/$name.labels.npy" ${FIT_FLAGS:-}
  read -r cd_sec cd_kb < "$W/$name.time"
  res=$(cat "$W/$name.json")
  cd_obj=$(field "$res" "['stats']['inertia']")
  cd_iter=$(field "$res" "['stats']['iteration_seconds']")
  cd_n=$(field "$res" "['stats']['iterations']")
  n=$(field "$res" "['num_points']"); d=$($PY -c "import numpy as np; print(np.load('$x', mmap_mode='r').shape[1])")
  gflops=$($PY -c "print(f'{2*$n*$k*$d*$cd_n/$cd_iter/1e9:.1f}')")
  echo "== $name: FAISS" >&2
  fa=$($PY "$PEERS" faiss "$x" "$k" 20)
  echo "== $name: scikit-learn, seeds $SEEDS" >&2
  sk_objs=(); sk_secs=()
  for s in $SEEDS; do r=$(sk "$x" "$k" "$s"); sk_objs+=("$(field "$r" "['inertia']")"); sk_secs+=("$(field "$r" "['seconds']")"); done
  sk_med=$($PY -c "import statistics,sys; print(statistics.median(map(float, sys.argv[1:])))" "${sk_objs[@]}")
  fa_sec=$(field "$fa" "['seconds']"); fa_obj=$(field "$fa" "['inertia']")
  size_mb=$($PY -c "import os; print(os.path.getsize('$x')/1e6)")
  fa_sec=$($PY -c "print(f'{$fa_sec:.2f}')"); sk0=$($PY -c "print(f'{${sk_secs[0]}:.2f}')")
  measured=$($PY -c "print(f'{100*$(field "$res" "['stats']['rows_measured']")/($n*$cd_n):.0f}')")
  rows+=("| $name | $cd_sec s | $fa_sec | $sk0 | $($PY -c "print(f'{$cd_sec/$fa_sec:.2f}')") | $cd_obj | $fa_obj | $sk_med | $($PY -c "print(f'{$cd_obj/$sk_med:.4f}')") | $gflops ($($PY -c "print(f'{100*$gflops/$sgemm:.0f}')")% of SGEMM; $cd_n iterations, $measured% of rows measured) | $($PY -c "print(f'{$cd_kb/1e3:.0f} MB = {$cd_kb/1e3/$size_mb:.2f}× input')") |")
done

echo "== silhouette: exact on the first 20,000 rows of W2" >&2
$PY -c "import numpy as np; np.save('$W/sil.npy', np.load('$W/w2.npy')[:20000]); np.save('$W/sil.labels.npy', np.load('$W/w2.labels.npy')[:20000])"
cs=$("$W/clusterd" metrics --input "$W/sil.npy" --labels "$W/sil.labels.npy")
ss=$($PY "$PEERS" metrics "$W/sil.npy" "$W/sil.labels.npy")
cs_v=$(field "$cs" "['silhouette']"); ss_v=$(field "$ss" "['silhouette']")
cs_t=$(field "$cs" "['silhouette_seconds']"); ss_t=$(field "$ss" "['silhouette_seconds']")

echo
echo "OpenBLAS SGEMM on this machine, same run: $sgemm GFLOP/s"
echo
echo "| workload | clusterd (wall, load included) | FAISS s | scikit-learn s (seed 1) | clusterd / FAISS | clusterd objective | FAISS objective | scikit-learn median objective (seeds $SEEDS) | clusterd / scikit-learn | Lloyd iterations, effective GFLOP/s (2·n·k·d per iteration) | clusterd peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "| exact silhouette, 20,000 × 768 | clusterd | scikit-learn | ratio |"
echo "|---|---|---|---|"
cs_t=$($PY -c "print(f'{$cs_t:.2f}')"); ss_t=$($PY -c "print(f'{$ss_t:.2f}')")
echo "| seconds | $cs_t | $ss_t | $($PY -c "print(f'{$cs_t/$ss_t:.2f}')") |"
echo "| value | $cs_v | $ss_v | relative difference $($PY -c "print(f'{abs($cs_v-$ss_v)/abs($ss_v):.1e}')") |"
