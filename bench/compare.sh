#!/usr/bin/env bash
# Side by side on this machine, in one run: clusterd, FAISS and scikit-learn
# on the k-means workloads of the large-collections issue, mini-batch
# k-means against scikit-learn's, and W4 through the service; then markdown
# tables with times, objectives, ratios, peak memory and phases.
#
#   W1: 200,000 × 128, k = 256, separated blobs (centres N(0,1)·4)
#   W2: 100,000 × 768, k = 100, separated blobs (centres ·4)
#   W3: 200,000 × 96, k = 512, overlapping (centres ·1)
#   W4: 1,000,000 × 128, k = 1,000, overlapping (centres ·1.5)
#   all with unit noise, seeded (bench/peers.py gen); 20 iterations, n_init 1,
#   tol 0. FAISS trains on every point for W1–W3 and with its defaults (256·k
#   sampled points) for W4; scikit-learn's median objective over seeds 1–3 is
#   the reference of W1–W3, greedy k-means++ on every point (clusterd with
#   init_size = n, the seeding before the coreset) that of W4.
#   silhouette: exact, on the first 20,000 rows of W2 with clusterd's labels
#   mini-batch: W4, batch_size 1024, 3 passes, n_init 1, no early stop
#   service: W4 imported as .npy and as Parquet, then executed (go run
#   ./bench/service), against the CLI's wall time on the same file, then
#   the .npy imported again (every document replaced)
#
# It also measures OpenBLAS's SGEMM rate (numpy, 4096×1024 by 1024×1024) in
# the same run, clusterd's peak memory (GNU time's maximum resident set
# size) and the load average before and after (the machine may be shared).
#
# Usage: bench/compare.sh [WORKDIR]      (default bench/out; data are kept there)
# Needs Debian's python3-sklearn, python3-faiss and time, and the peers script
# (PEERS, default bench/peers.py, a copy of the shared tools' peers script).
# Extra flags for clusterd fit go in FIT_FLAGS (e.g. "--cpu-threads 2");
# SKIP_SERVICE=1 leaves the service out, SKIP_GREEDY=1 the W4 greedy
# reference, SKIP_MB=1 mini-batch; WORKLOADS picks workloads (name:k:faiss
# mode, e.g. "w1:256:all w4:1000:default").
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
[ -f "$W/w3.npy" ] || $PY "$PEERS" gen 200000 96 512 9 "$W/w3.npy" 1
[ -f "$W/w4.npy" ] || $PY "$PEERS" gen 1000000 128 1000 10 "$W/w4.npy" 1.5

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
simd=$(grep -q avx512f /proc/cpuinfo && echo AVX-512 || echo "AVX2, no AVX-512")
echo "machine: $(nproc) CPUs, $cpu ($simd); load average before: $load_before" >&2

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
jfield() { $PY -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; } # from a file (results are long)
calc() { $PY -c "print($1)"; }
# fit NAME OUT PARAMS [EXTRA FLAGS...]: clusterd fit with GNU time; leaves
# "$W/OUT.time" (seconds, peak KiB) and "$W/OUT.json".
fit() {
  local name=$1 out=$2 params=$3
  shift 3
  /usr/bin/time -f "%e %M" -o "$W/$out.time" "$W/clusterd" fit --input "$W/$name.npy" --params "$params" \
    --seed 1 --quiet --output "$W/$out.json" "$@" ${FIT_FLAGS:-}
}
phases() { $PY -c "import json,sys; p=json.load(open(sys.argv[1]))['stats']['phase_seconds']; print(', '.join(f'{k} {v:.2f}' for k, v in p.items() if v >= 0.005))" "$1"; }

# The process's own peak RSS (binary and runtime), on a 1,000 × 8 input.
$PY -c "import numpy as np; np.save('$W/tiny.npy', np.random.default_rng(0).normal(size=(1000, 8)).astype(np.float32))"
/usr/bin/time -f "%M" -o "$W/tiny.time" "$W/clusterd" fit --input "$W/tiny.npy" --params '{"n_clusters":4}' --quiet --output /dev/null
idle_mb=$(calc "$(cat "$W/tiny.time")*1024/1e6")

rows=(); phase_rows=()
for w in ${WORKLOADS:-w1:256:all w2:100:all w3:512:all w4:1000:default}; do
  IFS=: read -r name k mode <<<"$w"; x="$W/$name.npy"
  echo "== $name: clusterd" >&2
  fit "$name" "$name" "{\"n_clusters\":$k,\"n_init\":1,\"max_iter\":20,\"tol\":0}" --labels-out "$W/$name.labels.npy"
  read -r cd_sec cd_kb < "$W/$name.time"
  res="$W/$name.json"
  cd_obj=$(jfield "$res" "['stats']['inertia']")
  cd_n=$(jfield "$res" "['stats']['iterations']")
  measured=$(calc "f'{$(jfield "$res" "['stats']['rows_measured']")/$(jfield "$res" "['num_points']"):.2f}'")
  seeding=$(jfield "$res" "['stats']['seeding']"); init=$(jfield "$res" "['stats']['init_sample_size']")
  size_mb=$(calc "__import__('os').path.getsize('$x')/1e6")
  if [ "$mode" = all ]; then
    echo "== $name: FAISS (every point)" >&2
    fa=$($PY "$PEERS" faiss "$x" "$k" 20)
    echo "== $name: scikit-learn, seeds $SEEDS" >&2
    objs=(); secs=()
    for s in $SEEDS; do r=$(sk "$x" "$k" "$s"); objs+=("$(field "$r" "['inertia']")"); secs+=("$(field "$r" "['seconds']")"); done
    ref=$(calc "__import__('statistics').median([${objs[*]/%/,}])")
    ref_what="scikit-learn median $(calc "f'{$ref:.4g}'"), seed 1 in $(calc "f'{${secs[0]}:.1f}'") s"
  else
    echo "== $name: FAISS (defaults: 256·k sampled points)" >&2
    fa=$($PY "$PEERS" faiss-default "$x" "$k" 20)
    if [ -z "${SKIP_GREEDY:-}" ]; then
      echo "== $name: clusterd with greedy k-means++ on every point (the reference)" >&2
      fit "$name" "$name.greedy" "{\"n_clusters\":$k,\"n_init\":1,\"max_iter\":20,\"tol\":0,\"init_size\":1000000000}"
      read -r gr_sec _ < "$W/$name.greedy.time"
      ref=$(jfield "$W/$name.greedy.json" "['stats']['inertia']")
      ref_what="greedy k-means++ on every point $(calc "f'{$ref:.4g}'") in $gr_sec s"
    else
      ref=1.338e8; ref_what="the issue's greedy k-means++ figure 1.338e8"
    fi
  fi
  fa_sec=$(field "$fa" "['seconds']"); fa_obj=$(field "$fa" "['inertia']")
  rows+=("| $name | $cd_sec s | $(calc "f'{$fa_sec:.2f}'") s | **$(calc "f'{$cd_sec/$fa_sec:.2f}'")** | $(calc "f'{$cd_obj:.4g}'") | $(calc "f'{$fa_obj:.4g}'") | $ref_what | **$(calc "f'{$cd_obj/$ref:.4f}'")** | $seeding from $init points; $cd_n iterations, $measured× n rows measured | $(calc "f'{$cd_kb*1024/1e6:.0f} MB = **{$cd_kb*1024/1e6/$size_mb:.2f}×** input, {($cd_kb*1024/1e6-$idle_mb)/$size_mb:.2f}× above the bare process ({$idle_mb:.0f} MB)'") |")
  phase_rows+=("| $name | $(phases "$W/$name.json") |")
done

if [ -z "${SKIP_MB:-}" ]; then
echo "== mini-batch k-means on W4: clusterd, then scikit-learn" >&2
fit w4 w4.mb '{"n_clusters":1000,"batch_size":1024,"max_iter":3,"n_init":1,"max_no_improvement":null,"tol":0}' --algorithm minibatch_kmeans
read -r mb_sec mb_kb < "$W/w4.mb.time"
mb_obj=$(jfield "$W/w4.mb.json" "['stats']['inertia']")
skmb=$($PY - "$W/w4.npy" <<'PY'
import json, sys, time, numpy as np
from sklearn.cluster import MiniBatchKMeans
x = np.load(sys.argv[1])
t = time.perf_counter()
km = MiniBatchKMeans(n_clusters=1000, batch_size=1024, max_iter=3, n_init=1, max_no_improvement=None, tol=0, random_state=1, init="k-means++").fit(x)
print(json.dumps({"seconds": time.perf_counter() - t, "inertia": float(km.inertia_), "steps": int(km.n_steps_)}))
PY
)
skmb_sec=$(field "$skmb" "['seconds']"); skmb_obj=$(field "$skmb" "['inertia']")
fi

if [ -z "${SKIP_SERVICE:-}" ]; then
  echo "== W4 through the service (import .npy and Parquet, execute)" >&2
  go run ./bench/service -npy "$W/w4.npy" -clusterd "$W/clusterd" -work "$W" \
    -params '{"n_clusters":1000,"n_init":1,"max_iter":20,"tol":0,"random_state":1}' > "$W/service.json"
  svc="$W/service.json"
fi

echo "== silhouette: exact on the first 20,000 rows of W2" >&2
$PY -c "import numpy as np; np.save('$W/sil.npy', np.load('$W/w2.npy')[:20000]); np.save('$W/sil.labels.npy', np.load('$W/w2.labels.npy')[:20000])"
cs=$("$W/clusterd" metrics --input "$W/sil.npy" --labels "$W/sil.labels.npy")
ss=$($PY "$PEERS" metrics "$W/sil.npy" "$W/sil.labels.npy")
cs_v=$(field "$cs" "['silhouette']"); ss_v=$(field "$ss" "['silhouette']")
cs_t=$(field "$cs" "['silhouette_seconds']"); ss_t=$(field "$ss" "['silhouette_seconds']")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "Machine: $(nproc) CPUs, $cpu ($simd). Load average (1, 5, 15 min) before: $load_before; after: $load_after. OpenBLAS SGEMM in the same run: $sgemm GFLOP/s."
echo
echo "| workload | clusterd (wall, load included) | FAISS | clusterd / FAISS | clusterd objective | FAISS objective | reference objective | clusterd / reference | seeding and iterations | clusterd peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "| clusterd phases, seconds (stats.phase_seconds) | |"
echo "|---|---|"
printf '%s\n' "${phase_rows[@]}"
if [ -n "${skmb:-}" ]; then
echo
echo "| mini-batch k-means, W4, batch 1024, 3 passes | seconds | objective |"
echo "|---|---|---|"
echo "| clusterd | $mb_sec (peak RSS $(calc "f'{$mb_kb*1024/1e6:.0f}'") MB; phases: $(phases "$W/w4.mb.json")) | $(calc "f'{$mb_obj:.5g}'") |"
echo "| scikit-learn MiniBatchKMeans ($(field "$skmb" "['steps']") steps) | $(calc "f'{$skmb_sec:.2f}'") | $(calc "f'{$skmb_obj:.5g}'") |"
echo "| clusterd / scikit-learn | **$(calc "f'{$mb_sec/$skmb_sec:.2f}'")** | **$(calc "f'{$mb_obj/$skmb_obj:.4f}'")** |"
fi
if [ -n "${svc:-}" ]; then
  cli=$(cut -d' ' -f1 "$W/w4.time")
  echo
  echo "| W4 through the service | |"
  echo "|---|---|"
  for f in npy parquet; do
    echo "| import .$f ($(calc "f'{$(jfield "$svc" "['import_$f']['bytes']")/1e6:.0f}'") MB) | $(calc "f'{$(jfield "$svc" "['import_$f']['seconds']"):.2f}'") s = **$(calc "f'{$(jfield "$svc" "['import_$f']['mb_per_second']"):.0f}'") MB/s** |"
  done
  echo "| import .npy again, every document replaced (after the execution) | $(calc "f'{$(jfield "$svc" "['reimport_npy']['seconds']"):.2f}'") s = $(calc "f'{$(jfield "$svc" "['reimport_npy']['mb_per_second']"):.0f}'") MB/s |"
  ex=$(jfield "$svc" "['execute_seconds']")
  echo "| execute (POST …/execute until completed, artifacts and projections included) | $(calc "f'{$ex:.2f}'") s; the CLI on the same file: $cli s; **$(calc "f'{$ex/$cli:.2f}'")×** |"
  echo "| execution's phases (stats.phase_seconds) | $($PY -c "import json,sys; p=json.load(open(sys.argv[1]))['stats']['phase_seconds']; print(', '.join(f'{k} {v:.2f}' for k, v in p.items()))" "$W/service.json") |"
fi
echo
echo "| exact silhouette, 20,000 × 768 | clusterd | scikit-learn | ratio |"
echo "|---|---|---|---|"
cs_t=$(calc "f'{$cs_t:.2f}'"); ss_t=$(calc "f'{$ss_t:.2f}'")
echo "| seconds | $cs_t | $ss_t | $(calc "f'{$cs_t/$ss_t:.2f}'") |"
echo "| value | $cs_v | $ss_v | relative difference $(calc "f'{abs($cs_v-$ss_v)/abs($ss_v):.1e}'") |"
