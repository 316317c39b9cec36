#!/usr/bin/env bash
# The README's walk-through, runnable: create a collection, load documents,
# create a cluster, execute it, poll, and read the execution and its
# artifacts. Needs a running `clusterd serve` at $CLUSTERD_URL and curl.
set -euo pipefail
URL=${CLUSTERD_URL:-http://127.0.0.1:8080}
J=(-H 'Content-Type: application/json')

# 1. A collection.
curl -sf "${J[@]}" -X POST "$URL/v1/collections" -d '{"collection_name": "articles"}'; echo

# 2. Documents: a 4-d embedding and some text each, three topics.
curl -sf "${J[@]}" -X POST "$URL/v1/collections/articles/documents" -d '{"documents": [
  {"document_id": "a1", "features": {"text_embedding": [0.9, 0.1, 0.0, 0.1]}, "payload": {"text": "espresso beans roasting guide"}},
  {"document_id": "a2", "features": {"text_embedding": [0.8, 0.2, 0.1, 0.0]}, "payload": {"text": "coffee roasting at home"}},
  {"document_id": "a3", "features": {"text_embedding": [0.9, 0.0, 0.1, 0.0]}, "payload": {"text": "best espresso coffee beans"}},
  {"document_id": "b1", "features": {"text_embedding": [0.0, 0.9, 0.1, 0.1]}, "payload": {"text": "marathon training plan"}},
  {"document_id": "b2", "features": {"text_embedding": [0.1, 0.8, 0.0, 0.2]}, "payload": {"text": "running shoes for a marathon"}},
  {"document_id": "b3", "features": {"text_embedding": [0.0, 0.9, 0.2, 0.1]}, "payload": {"text": "marathon running pace"}},
  {"document_id": "c1", "features": {"text_embedding": [0.1, 0.0, 0.9, 0.8]}, "payload": {"text": "python web framework tutorial"}},
  {"document_id": "c2", "features": {"text_embedding": [0.0, 0.1, 0.8, 0.9]}, "payload": {"text": "golang web server tutorial"}},
  {"document_id": "c3", "features": {"text_embedding": [0.1, 0.1, 0.9, 0.9]}, "payload": {"text": "web framework benchmarks"}}]}'; echo

# 3. A cluster over it: k-means with scikit-learn's parameter names.
curl -sf "${J[@]}" -X POST "$URL/v1/clusters" -d '{"collection_ids": ["articles"], "cluster_name": "topics",
  "vector_config": {"feature_uris": ["text_embedding"], "clustering_method": "kmeans", "algorithm_params": {"n_clusters": 3}}}'; echo

# 4. Execute: returns a task at once; the run goes through the queue.
curl -sf -X POST "$URL/v1/clusters/topics/execute"; echo

# 5. Poll the latest execution until it is completed (or failed).
for _ in $(seq 1 100); do
  status=$(curl -sf "$URL/v1/clusters/topics/executions" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
  echo "status: $status"
  [ "$status" = completed ] || [ "$status" = failed ] && break
  sleep 0.2
done

# 6. The execution: metrics, centroids with labels and keywords.
curl -sf "$URL/v1/clusters/topics/executions"; echo

# 7. Scatter-plot coordinates of the centroids and members.
curl -sf "$URL/v1/clusters/topics/artifacts?include_members=true&projection_method=2d"; echo

# 8. The members as Parquet.
run_id=$(curl -sf "$URL/v1/clusters/topics/executions" | sed -n 's/.*"run_id":"\(run_[a-z0-9]*\)".*/\1/p')
curl -sf -o "${TMPDIR:-/tmp}/members.parquet" "$URL/v1/clusters/topics/executions/$run_id/artifacts/members.parquet"
echo "members.parquet: $(wc -c < "${TMPDIR:-/tmp}/members.parquet") bytes"
