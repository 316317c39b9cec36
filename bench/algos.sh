#!/usr/bin/env bash
# Side by side on this machine, in one run: clusterd and scikit-learn 1.2.1
# (Debian's python3-sklearn, OpenBLAS) on Gaussian mixture, spectral
# clustering, mean shift and OPTICS, then a markdown table with both times,
# their ratio, both peak memories (GNU time's maximum resident set size) and
# the adjusted Rand index between the two labellings.
#
#   A: 20,000 × 128, 8 blobs        B: 100,000 × 16, 8 blobs   (bench/peers.py gen)
#
# scikit-learn gets LIMIT seconds (default 600) per fit; when it does not
# finish, both are measured again on the first half of the rows, at most
# HALVINGS times (default 2), and the table says at which size.
#
# Usage: bench/algos.sh [WORKDIR] [ALGORITHMS]  (default bench/out; all four)
# Each algorithm's parameters are in PARAMS below, the same for both.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-bench/out}
ALGS=${2:-"gaussian_mixture spectral mean_shift optics"}
PY=${PY:-/usr/bin/python3}
LIMIT=${LIMIT:-600}
HALVINGS=${HALVINGS:-2}
mkdir -p "$W"
go build -o "$W/clusterd" ./cmd/clusterd
built=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo "+changes")
[ -f "$W/a.npy" ] || $PY bench/peers.py gen 20000 128 8 11 "$W/a.npy"
[ -f "$W/b.npy" ] || $PY bench/peers.py gen 100000 16 8 12 "$W/b.npy"

declare -A PARAMS=(
  [gaussian_mixture]='{"n_components":8,"covariance_type":"full","random_state":1}'
  [spectral]='{"n_clusters":8,"affinity":"nearest_neighbors","n_neighbors":10,"random_state":1}'
  [mean_shift]='{"bin_seeding":true}'
  [optics]='{"min_samples":10}'
)
field() { $PY -c "import json,sys; print(json.loads(sys.argv[1])$2)" "$1"; }
head_rows() { $PY -c "import numpy as np,sys; x=np.load(sys.argv[1]); np.save(sys.argv[2], x[:int(sys.argv[3])])" "$@"; }

rows=()
for alg in $ALGS; do
  p=${PARAMS[$alg]}
  for set in a b; do
    x="$W/$set.npy"
    halved=0
    n=$($PY -c "import numpy as np; print(np.load('$x', mmap_mode='r').shape[0])")
    d=$($PY -c "import numpy as np; print(np.load('$x', mmap_mode='r').shape[1])")
    while :; do
      echo "== $alg on $n × $d: scikit-learn (limit ${LIMIT}s)" >&2
      if timeout "$LIMIT" /usr/bin/time -f "%e %M" -o "$W/sk.time" $PY bench/algos_sklearn.py "$alg" "$x" "$p" "$W/sk.labels.npy" > "$W/sk.json"; then
        break
      fi
      echo "   scikit-learn did not finish in ${LIMIT}s" >&2
      rows+=("| $alg | $n × $d | > $LIMIT s (stopped) | | | | | |")
      [ "$halved" -ge "$HALVINGS" ] && continue 2
      halved=$((halved + 1))
      n=$((n / 2))
      head_rows "$W/$set.npy" "$W/$set.$n.npy" "$n"
      x="$W/$set.$n.npy"
    done
    sk=$(cat "$W/sk.json"); read -r sk_wall sk_kb < "$W/sk.time"
    echo "== $alg on $n × $d: clusterd" >&2
    /usr/bin/time -f "%e %M" -o "$W/cd.time" "$W/clusterd" fit --input "$x" --algorithm "$alg" --params "$p" --quiet \
      --output "$W/cd.json" --labels-out "$W/cd.labels.npy"
    read -r cd_wall cd_kb < "$W/cd.time"
    cd_fit=$(field "$(cat "$W/cd.json")" "['stats']['duration_seconds']")
    sk_fit=$(field "$sk" "['seconds']")
    ari=$($PY -c "import numpy as np; from sklearn.metrics import adjusted_rand_score as a; print(f'{a(np.load(\"$W/sk.labels.npy\"), np.load(\"$W/cd.labels.npy\")):.4f}')")
    extra=""
    if [ "$alg" = gaussian_mixture ]; then
      extra="lower bound $(field "$(cat "$W/cd.json")" "['stats']['lower_bound']" | cut -c1-9) vs $(field "$sk" "['lower_bound']" | cut -c1-9)"
    fi
    rows+=("| $alg | $n × $d | $($PY -c "print(f'{$cd_fit:.2f}')") s ($cd_wall s wall) | $($PY -c "print(f'{$sk_fit:.2f}')") s ($sk_wall s wall) | $($PY -c "print(f'{$cd_fit/$sk_fit:.3f}')") | $((cd_kb / 1000)) MB | $((sk_kb / 1000)) MB | $ari $extra |")
  done
done

echo
echo "clusterd $built vs scikit-learn $($PY -c 'import sklearn; print(sklearn.__version__)'), $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "| algorithm | data | clusterd fit (process wall) | scikit-learn fit (process wall) | time ratio | clusterd peak RSS | scikit-learn peak RSS | ARI between them |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
