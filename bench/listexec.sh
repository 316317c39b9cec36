#!/usr/bin/env bash
# Throughput and latency of the execution reads with wrk against a local
# server: GET …/executions (the latest run, served from memory) and
# POST …/executions/list (a page of 4 runs with stats), on a cluster of
# 40 centroids run 4 times (about 20 KB of result JSON per run).
#
# Usage: bench/listexec.sh [CLUSTERD_BINARY]   (default: go build ./cmd/clusterd)
# Needs wrk, curl and python3. WRK_FLAGS (default "-t2 -c16 -d10s").
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
bin=${1:-}
if [ -z "$bin" ]; then go build -o "$tmp/clusterd" ./cmd/clusterd; bin=$tmp/clusterd; fi
port=$((20000 + RANDOM % 20000))
URL=http://127.0.0.1:$port
"$bin" serve --data-dir "$tmp/data" --addr 127.0.0.1:$port --backend cpu --log-level warn 2> "$tmp/serve.log" &
pid=$!
for _ in $(seq 1 100); do curl -sf "$URL/readyz" > /dev/null && break; sleep 0.1; done
J=(-H 'Content-Type: application/json')
curl -sf "${J[@]}" -X POST "$URL/v1/collections" -d '{"collection_name": "docs"}' > /dev/null
python3 - > "$tmp/docs.ndjson" <<'PY'
import json, random
random.seed(1)
centres = [[random.gauss(0, 4) for _ in range(16)] for _ in range(40)]
for i in range(5000):
    c = centres[i % 40]
    print(json.dumps({"document_id": f"d{i}", "features": {"emb": [x + random.gauss(0, 1) for x in c]},
                      "payload": {"text": f"document {i} about topic {i % 40}"}}))
PY
curl -sf -H 'Content-Type: application/x-ndjson' --data-binary @"$tmp/docs.ndjson" "$URL/v1/collections/docs/documents/import" > /dev/null
curl -sf "${J[@]}" -X POST "$URL/v1/clusters" -d '{"collection_ids": ["docs"], "cluster_name": "topics",
  "vector_config": {"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 40}}}' > /dev/null
for _ in 1 2 3 4; do curl -sf -X POST "$URL/v1/clusters/topics/execute" > /dev/null; done
for _ in $(seq 1 600); do
  done=$(curl -sf "${J[@]}" -X POST "$URL/v1/clusters/topics/executions/list" -d '{}' | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(r["status"] in ("completed","failed") for r in d["results"]))')
  [ "$done" = 4 ] && break
  sleep 0.2
done
echo "latest execution: $(curl -sf "$URL/v1/clusters/topics/executions" | wc -c) bytes; list page: $(curl -sf "${J[@]}" -X POST "$URL/v1/clusters/topics/executions/list" -d '{}' | wc -c) bytes"
cat > "$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/json"
LUA
flags=${WRK_FLAGS:--t2 -c16 -d10s}
echo "== GET /v1/clusters/topics/executions"
wrk $flags --latency "$URL/v1/clusters/topics/executions" | grep -E "Requests/sec|^ +(50|99)%"
echo "== POST /v1/clusters/topics/executions/list"
wrk $flags --latency -s "$tmp/post.lua" "$URL/v1/clusters/topics/executions/list" | grep -E "Requests/sec|^ +(50|99)%"
