package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/clusterd/clusterd/artifacts"
	"github.com/clusterd/clusterd/internal/npy"
)

// TestEndToEnd loads 20,000 documents through real HTTP into a real SQLite
// file, clusters them, and reads the execution, its artifacts and both
// Parquet files.
func TestEndToEnd(t *testing.T) {
	e := newEnv(t, envOpts{})
	const n, k = 20000, 10
	cid := e.setup("e2e", blobDocs(n, 32, k, 1), `{"n_clusters":10,"n_init":2}`)

	if body := e.ok("GET", "/v1/clusters/"+cid+"/executions", nil, nil); string(body) != "null" {
		t.Fatalf("latest execution before any run: %s", body)
	}
	var task struct {
		TaskID         string            `json:"task_id"`
		Status         string            `json:"status"`
		TaskType       string            `json:"task_type"`
		AdditionalData map[string]string `json:"additional_data"`
	}
	e.ok("POST", "/v1/clusters/"+cid+"/execute", nil, &task)
	if task.Status != "PENDING" || task.TaskType != "engine_cluster_build" || task.AdditionalData["run_id"] == "" {
		t.Fatalf("task %+v", task)
	}
	res := e.wait(cid)
	runID := task.AdditionalData["run_id"]
	if res.Status != "completed" || res.RunID != runID || float64(res.NumPoints) != n || float64(res.NumClusters) != k {
		t.Fatalf("execution %v", res)
	}
	members := 0.0
	for _, c := range res.Centroids {
		members += float64(c.NumMembers)
	}
	if members != n || res.Metrics == nil || res.CompletedAt == nil {
		t.Fatalf("members %v metrics %v", members, res.Metrics)
	}
	e.ok("GET", "/v1/tasks/"+task.TaskID, nil, &task)
	if task.Status != "COMPLETED" {
		t.Fatalf("task status %s", task.Status)
	}
	checkExecution(t, e.ok("GET", "/v1/clusters/"+cid+"/executions/"+runID, nil, nil))

	var list struct {
		Results    []json.RawMessage
		Pagination map[string]any
		Stats      map[string]any
	}
	e.ok("POST", "/v1/clusters/"+cid+"/executions/list?include_total=true", map[string]any{"filters": map[string]any{"status": "completed"}}, &list)
	if len(list.Results) != 1 || list.Stats["total_executions"].(float64) != 1 || list.Stats["total_documents_clustered"].(float64) != n {
		t.Fatalf("list %+v", list)
	}
	checkExecution(t, list.Results[0])

	var arts struct {
		Centroids []map[string]any
		Members   []map[string]any
		Total     int `json:"total_members"`
	}
	e.ok("GET", "/v1/clusters/"+cid+"/executions/"+runID+"/artifacts?include_members=true&limit=50&projection_method=3d", nil, &arts)
	if len(arts.Centroids) != k || len(arts.Members) != 50 || arts.Total != n {
		t.Fatalf("artifacts: %d centroids, %d members, total %d", len(arts.Centroids), len(arts.Members), arts.Total)
	}
	for _, m := range arts.Members {
		if _, ok := m["z"]; !ok || m["distance_to_centroid"] == nil {
			t.Fatalf("member %v", m)
		}
	}
	var arts2 struct {
		Centroids []map[string]any
		Members   []map[string]any
	}
	e.ok("GET", "/v1/clusters/"+cid+"/artifacts", nil, &arts2)
	if _, ok := arts2.Centroids[0]["z"]; ok || len(arts2.Members) != 0 {
		t.Fatalf("2-D artifacts of the latest run: %v, %d members", arts2.Centroids[0], len(arts2.Members))
	}

	var data struct {
		Centroids []struct {
			CentroidVector []float32 `json:"centroid_vector"`
		}
		Members       []map[string]any
		TotalClusters int `json:"total_clusters"`
		TotalMembers  int `json:"total_members"`
	}
	e.ok("POST", "/v1/clusters/"+cid+"/executions/"+runID+"/data", map[string]any{"offset": 19990, "limit": 100}, &data)
	if data.TotalClusters != k || data.TotalMembers != n || len(data.Members) != 10 || len(data.Centroids[0].CentroidVector) != 32 {
		t.Fatalf("data: %d clusters %d members, page %d, vector %d", data.TotalClusters, data.TotalMembers, len(data.Members), len(data.Centroids[0].CentroidVector))
	}

	for _, file := range []string{"centroids.parquet", "members.parquet"} {
		body := e.ok("GET", "/v1/clusters/"+cid+"/executions/"+runID+"/artifacts/"+file, nil, nil)
		r := bytes.NewReader(body)
		switch file {
		case "centroids.parquet":
			rows, err := parquet.Read[artifacts.Centroid](r, int64(len(body)))
			if err != nil || len(rows) != k {
				t.Fatalf("%s: %d rows, %v", file, len(rows), err)
			}
		case "members.parquet":
			rows, err := parquet.Read[artifacts.Member](r, int64(len(body)))
			if err != nil || len(rows) != n || !strings.HasPrefix(rows[0].PointID, "doc_") {
				t.Fatalf("%s: %d rows, %v", file, len(rows), err)
			}
		}
	}
	code, body := e.call("GET", "/v1/clusters/"+cid+"/executions/"+runID+"/artifacts/../../x", nil)
	if code != http.StatusNotFound {
		t.Fatalf("path traversal: %d %s", code, body)
	}

	metrics := string(e.ok("GET", "/metrics", nil, nil))
	for _, want := range []string{`clusterd_points_assigned_total{backend="cpu"}`, `clusterd_distance_flops_total{backend="cpu"}`,
		`clusterd_run_duration_seconds_bucket{algorithm="kmeans",backend="cpu",status="completed"`,
		`clusterd_http_requests_total{code="200",method="GET",route="/v1/clusters/:cluster_id/executions"}`,
		`clusterd_runs_finished_total{status="completed"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestAllNoise: a density run that finds no cluster is a completed run with
// num_clusters 0, null metrics and every point in the noise entry.
func TestAllNoise(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "sparse"}, nil)
	e.ok("POST", "/v1/collections/sparse/documents", map[string]any{"documents": blobDocs(300, 8, 3, 8)}, nil)
	var cl struct {
		ClusterID string `json:"cluster_id"`
	}
	e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"sparse"},
		"vector_config": map[string]any{"clustering_method": "dbscan", "algorithm_params": map[string]any{"eps": 0.001}}}, &cl)
	e.ok("POST", "/v1/clusters/"+cl.ClusterID+"/execute", nil, nil)
	res := e.wait(cl.ClusterID)
	cents := res.Centroids
	if res.Status != "completed" || res.NumClusters != 0 || res.Metrics != nil || len(cents) != 1 {
		t.Fatalf("%v", res)
	}
	if c := cents[0]; c.ClusterID != "cl_-1" || c.NumMembers != 300 {
		t.Fatalf("noise entry %v", c)
	}
	var arts struct {
		Members []map[string]any
	}
	e.ok("GET", "/v1/clusters/"+cl.ClusterID+"/artifacts?include_members=true&limit=5", nil, &arts)
	if len(arts.Members) != 5 || arts.Members[0]["cluster_id"] != "cl_-1" || arts.Members[0]["distance_to_centroid"] != nil {
		t.Fatalf("members %v", arts.Members)
	}
}

// TestIdempotencyKey: a retried execute with the same key returns the first
// call's task and enqueues nothing.
func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t, envOpts{})
	cid := e.setup("idem", blobDocs(200, 4, 3, 2), `{"n_clusters":3}`)
	var a, b, c struct {
		TaskID string `json:"task_id"`
	}
	e.ok("POST", "/v1/clusters/"+cid+"/execute", nil, &a, "Idempotency-Key", "k-1")
	e.ok("POST", "/v1/clusters/"+cid+"/execute", nil, &b, "Idempotency-Key", "k-1")
	e.ok("POST", "/v1/clusters/"+cid+"/execute", nil, &c, "Idempotency-Key", "k-2")
	if a.TaskID != b.TaskID || a.TaskID == c.TaskID {
		t.Fatalf("tasks %s %s %s", a.TaskID, b.TaskID, c.TaskID)
	}
	e.wait(cid)
	var list struct{ Results []json.RawMessage }
	e.ok("POST", "/v1/clusters/"+cid+"/executions/list", nil, &list)
	if len(list.Results) != 2 {
		t.Fatalf("%d runs, want 2", len(list.Results))
	}
}

// TestDataProblemsFailTheRun: too few documents or a missing feature do not
// fail the execute call; the run ends failed with a clear message.
func TestDataProblemsFailTheRun(t *testing.T) {
	e := newEnv(t, envOpts{})
	cid := e.setup("tiny", blobDocs(1, 4, 1, 3), `{"n_clusters":1}`)
	e.ok("POST", "/v1/clusters/"+cid+"/execute", nil, nil)
	res := e.wait(cid)
	if res.Status != "failed" || str(res.ErrorMessage) != "Insufficient documents for clustering: need at least 2 documents, found 1" || res.Metrics != nil {
		t.Fatalf("%v", res)
	}
	// A feature the collection lacks is a 422 at create once the collection
	// has vectors; created before the vectors arrive, the run fails.
	code, body := e.call("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"tiny"},
		"vector_config": map[string]any{"clustering_method": "kmeans", "feature_uris": []string{"mixpeek://image@v1/clip"}}})
	if code != 422 || !strings.Contains(string(body), `"loc":["body","vector_config","feature_uris",0]`) || !strings.Contains(string(body), "(it has: emb)") {
		t.Fatalf("missing feature at create: %d %s", code, body)
	}
	var cl struct {
		ClusterID string `json:"cluster_id"`
	}
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "later"}, nil)
	e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"later"},
		"vector_config": map[string]any{"clustering_method": "kmeans", "feature_uris": []string{"mixpeek://image@v1/clip"}}}, &cl)
	e.ok("POST", "/v1/collections/later/documents", map[string]any{"documents": blobDocs(1, 4, 3, 5)}, nil)
	e.ok("POST", "/v1/clusters/"+cl.ClusterID+"/execute", nil, nil)
	res = e.wait(cl.ClusterID)
	if res.Status != "failed" || !strings.Contains(str(res.ErrorMessage), "Feature extractor 'mixpeek://image@v1/clip' not found") {
		t.Fatalf("%v", res)
	}
}

// TestNamespaces: another namespace's resources are 404 and absent from lists.
func TestNamespaces(t *testing.T) {
	e := newEnv(t, envOpts{})
	var col struct {
		CollectionID string `json:"collection_id"`
	}
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "mine"}, &col, "X-Namespace", "team-a")
	code, body := e.call("GET", "/v1/collections/"+col.CollectionID, nil, "X-Namespace", "team-b")
	checkError(t, code, body, 404, "collection_not_found")
	code, body = e.call("GET", "/v1/collections/"+col.CollectionID, nil)
	checkError(t, code, body, 404, "collection_not_found")
	var list struct{ Results []any }
	e.ok("POST", "/v1/collections/list", nil, &list, "X-Namespace", "team-b")
	if len(list.Results) != 0 {
		t.Fatalf("team-b sees %d collections", len(list.Results))
	}
	e.ok("POST", "/v1/collections/list", nil, &list, "X-Namespace", "team-a")
	if len(list.Results) != 1 {
		t.Fatalf("team-a sees %d collections", len(list.Results))
	}
	code, body = e.call("GET", "/v1/collections/list", nil, "X-Namespace", "ns_doesnotexist")
	checkError(t, code, body, 404, "namespace_not_found")
}

// TestAuth: keys are required when configured; a scoped key is forbidden
// outside its namespaces.
func TestAuth(t *testing.T) {
	e := newEnv(t, envOpts{keys: "secret-key-1,scoped-key-2=team-a"})
	code, body := e.call("POST", "/v1/collections/list", nil, "Authorization", "")
	checkError(t, code, body, 401, "missing_api_key")
	code, body = e.call("POST", "/v1/collections/list", nil, "Authorization", "Bearer wrong-key-0")
	checkError(t, code, body, 401, "invalid_api_key")
	e.ok("POST", "/v1/collections/list", nil, nil)
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "x"}, nil, "Authorization", "Bearer scoped-key-2", "X-Namespace", "team-a")
	e.ok("POST", "/v1/collections/list", nil, nil, "Authorization", "bearer scoped-key-2", "X-Namespace", "team-a") // the scheme is case-insensitive
	code, body = e.call("POST", "/v1/collections/list", nil, "Authorization", "Basic scoped-key-2")
	checkError(t, code, body, 401, "missing_api_key")
	code, body = e.call("POST", "/v1/collections/list", nil, "Authorization", "Bearer scoped-key-2", "X-Namespace", "team-b")
	checkError(t, code, body, 403, "namespace_forbidden")
	if code, _ := e.call("GET", "/healthz", nil, "Authorization", ""); code != 200 {
		t.Fatalf("/healthz needs no key: %d", code)
	}
}

// TestBadInput: each bad request gets the documented status and envelope,
// and nothing stored changes.
func TestBadInput(t *testing.T) {
	e := newEnv(t, envOpts{})
	cid := e.setup("base", blobDocs(50, 4, 2, 4), `{"n_clusters":2}`)
	e.ok("POST", "/v1/clusters/"+cid+"/execute", nil, nil)
	done := e.wait(cid)
	snapshot := func() string {
		var col map[string]any
		e.ok("GET", "/v1/collections/base", nil, &col)
		var cl map[string]any
		e.ok("GET", "/v1/clusters/"+cid, nil, &cl)
		var runs struct{ Results []json.RawMessage }
		e.ok("POST", "/v1/clusters/"+cid+"/executions/list", nil, &runs)
		doc := e.ok("GET", "/v1/collections/base/documents/doc_1", nil, nil)
		return fmt.Sprint(col["document_count"], col["features"], cl["cluster_name"], cl["metadata"], len(runs.Results), string(doc))
	}
	before := snapshot()
	big := `{"collection_name":"` + strings.Repeat("x", 9<<20) + `"}`
	cases := []struct {
		name, method, path string
		body               any
		headers            []string
		status             int
		contains           string
	}{
		{"malformed_json", "POST", "/v1/collections", `{"collection_name": "x"`, nil, 422, "json_invalid"},
		{"wrong_type", "POST", "/v1/collections", `{"collection_name": 5}`, nil, 422, `"loc":["body","collection_name"]`},
		{"unknown_field", "POST", "/v1/collections", `{"collection_name": "y", "colour": "red"}`, nil, 422, `"loc":["body","colour"],"msg":"Extra inputs are not permitted","type":"extra_forbidden"`},
		{"missing_required", "POST", "/v1/collections", `{}`, nil, 422, `"loc":["body","collection_name"],"msg":"Field required","type":"missing"`},
		{"empty_body", "POST", "/v1/collections", ``, nil, 422, `"type":"missing"`},
		{"duplicate_name", "POST", "/v1/collections", `{"collection_name":"base"}`, nil, 409, "collection_name_taken"},
		{"nested_unknown", "POST", "/v1/clusters", `{"collection_ids":["base"],"vector_config":{"clustering_method":"kmeans","n_clusters":3}}`, nil, 422, `"loc":["body","vector_config","n_clusters"]`},
		{"unknown_param", "POST", "/v1/clusters", `{"collection_ids":["base"],"vector_config":{"clustering_method":"kmeans","algorithm_params":{"n_clusterz":3}}}`, nil, 422, `"loc":["body","vector_config","algorithm_params","n_clusterz"]`},
		{"bad_param_value", "POST", "/v1/clusters", `{"collection_ids":["base"],"vector_config":{"clustering_method":"kmeans","algorithm_params":{"n_clusters":0}}}`, nil, 422, `"loc":["body","vector_config","algorithm_params","n_clusters"]`},
		{"hdbscan_min_cluster_size", "POST", "/v1/clusters", `{"collection_ids":["base"],"vector_config":{"clustering_method":"hdbscan","algorithm_params":{"min_cluster_size":1}}}`, nil, 422, `"loc":["body","vector_config","algorithm_params","min_cluster_size"]`},
		{"dbscan_eps", "POST", "/v1/clusters", `{"collection_ids":["base"],"vector_config":{"clustering_method":"dbscan","algorithm_params":{"eps":0}}}`, nil, 422, `"loc":["body","vector_config","algorithm_params","eps"]`},
		{"unknown_linkage", "POST", "/v1/clusters", `{"collection_ids":["base"],"vector_config":{"clustering_method":"agglomerative","algorithm_params":{"linkage":"centroid"}}}`, nil, 422, `"loc":["body","vector_config","algorithm_params","linkage"]`},
		{"ward_cosine", "POST", "/v1/clusters", `{"collection_ids":["base"],"vector_config":{"clustering_method":"agglomerative","algorithm_params":{"linkage":"ward","metric":"cosine"}}}`, nil, 422, `"vector_config","algorithm_params"`},
		{"both_cuts", "POST", "/v1/clusters", `{"collection_ids":["base"],"vector_config":{"clustering_method":"agglomerative","algorithm_params":{"n_clusters":3,"distance_threshold":1.5}}}`, nil, 422, `"vector_config","algorithm_params"`},
		{"unknown_method", "POST", "/v1/clusters", `{"collection_ids":["base"],"vector_config":{"clustering_method":"kmedoids"}}`, nil, 422, `"loc":["body","vector_config","clustering_method"]`},
		{"missing_method", "POST", "/v1/clusters", `{"collection_ids":["base"],"vector_config":{}}`, nil, 422, `"loc":["body","vector_config","clustering_method"],"msg":"Field required"`},
		{"no_collections", "POST", "/v1/clusters", `{"collection_ids":[],"vector_config":{"clustering_method":"kmeans"}}`, nil, 422, `"loc":["body","collection_ids"]`},
		{"unknown_collection", "POST", "/v1/clusters", `{"collection_ids":["nope"],"vector_config":{"clustering_method":"kmeans"}}`, nil, 422, `"loc":["body","collection_ids",0]`},
		{"pca_too_wide", "POST", "/v1/clusters", `{"collection_ids":["base"],"vector_config":{"clustering_method":"kmeans","preprocessing_steps":[{"method":"pca","n_components":5}]}}`, nil, 422, `"loc":["body","vector_config","preprocessing_steps",0,"n_components"]`},
		{"sample_too_small", "POST", "/v1/clusters", `{"collection_ids":["base"],"vector_config":{"clustering_method":"kmeans","sample_size":1}}`, nil, 422, `"loc":["body","vector_config","sample_size"]`},
		{"bad_filter", "POST", "/v1/clusters", `{"collection_ids":["base"],"filters":{"field":"payload.a\u0000b","operator":"eq","value":1},"vector_config":{"clustering_method":"kmeans"}}`, nil, 422, `"loc":["body","filters","field"]`},
		{"wrong_dimension", "POST", "/v1/collections/base/documents", `{"documents":[{"document_id":"n1","features":{"emb":[1,2,3,4]}},{"document_id":"n2","features":{"emb":[1,2,3]}}]}`, nil, 422, `"loc":["body","documents",1,"features","emb"]`},
		{"nan_literal", "POST", "/v1/collections/base/documents", `{"documents":[{"features":{"emb":[1,NaN,3,4]}}]}`, nil, 422, "json_invalid"},
		{"too_large_number", "POST", "/v1/collections/base/documents", `{"documents":[{"features":{"emb":[1,1e39,3,4]}}]}`, nil, 422, `"loc":["body","documents",0,"features","emb",1]`},
		{"payload_not_object", "POST", "/v1/collections/base/documents", `{"documents":[{"features":{"emb":[1,2,3,4]},"payload":[1]}]}`, nil, 422, `"loc":["body","documents",0,"payload"]`},
		{"huge_body", "POST", "/v1/collections", big, nil, 413, "PayloadTooLargeError"},
		{"wrong_content_type", "POST", "/v1/collections", `{"collection_name":"z"}`, []string{"Content-Type", "text/plain"}, 415, "UnsupportedMediaTypeError"},
		{"unknown_cluster", "GET", "/v1/clusters/clust_nope", nil, nil, 404, `"code":"cluster_not_found"`},
		{"unknown_run", "GET", "/v1/clusters/" + cid + "/executions/run_nope", nil, nil, 404, "run_not_found"},
		{"unknown_task", "GET", "/v1/tasks/task_nope", nil, nil, 404, "task_not_found"},
		{"unknown_document", "GET", "/v1/collections/base/documents/nope", nil, nil, 404, "document_not_found"},
		{"execute_unknown", "POST", "/v1/clusters/clust_nope/execute", nil, nil, 404, "cluster_not_found"},
		{"cancel_finished", "POST", "/v1/clusters/" + cid + "/executions/" + done.RunID + "/cancel", nil, nil, 409, "run_already_finished"},
		{"other_namespace", "GET", "/v1/clusters/" + cid, nil, []string{"X-Namespace", "elsewhere"}, 404, "cluster_not_found"},
		{"bad_limit", "POST", "/v1/clusters/list?limit=0", nil, nil, 422, `"loc":["query","limit"]`},
		{"bad_offset", "POST", "/v1/clusters/list?offset=20000", nil, nil, 422, `"loc":["query","offset"]`},
		{"bad_sort", "POST", "/v1/clusters/list", `{"sort":{"field":"colour"}}`, nil, 422, `"loc":["body","sort","field"]`},
		{"bad_operator", "POST", "/v1/clusters/" + cid + "/executions/list", `{"filters":{"field":"status","operator":"like","value":"x"}}`, nil, 422, `"loc":["body","filters","operator"]`},
		{"bad_projection", "GET", "/v1/clusters/" + cid + "/artifacts?projection_method=4d", nil, nil, 422, `"loc":["query","projection_method"]`},
		{"patch_bad_metadata", "PATCH", "/v1/clusters/" + cid, `{"metadata":[1]}`, nil, 422, `"loc":["body","metadata"]`},
		{"no_route", "GET", "/v1/nothing", nil, nil, 404, "route_not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := e.call(c.method, c.path, c.body, c.headers...)
			checkError(t, code, body, c.status, c.contains)
		})
	}
	if after := snapshot(); after != before {
		t.Fatalf("bad requests changed stored state:\nbefore %s\nafter  %s", before, after)
	}
}

// TestImport: NDJSON, .npy (with generated and given ids) and Parquet
// imports, and a bad file that imports nothing.
func TestImport(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "imp"}, nil)
	var nd bytes.Buffer
	for _, d := range blobDocs(300, 8, 3, 5) {
		b, _ := json.Marshal(d)
		nd.Write(append(b, '\n'))
	}
	var st map[string]any
	e.ok("POST", "/v1/collections/imp/documents/import", nd.Bytes(), &st, "Content-Type", "application/x-ndjson")
	if st["inserted"].(float64) != 300 {
		t.Fatalf("ndjson import %v", st)
	}
	// Re-importing the same ids updates, never duplicates.
	e.ok("POST", "/v1/collections/imp/documents/import?format=ndjson", nd.Bytes(), &st, "Content-Type", "application/octet-stream")
	if st["updated"].(float64) != 300 || st["inserted"].(float64) != 0 {
		t.Fatalf("re-import %v", st)
	}
	// A file with a bad line imports nothing.
	bad := append(append([]byte{}, nd.Bytes()...), []byte(`{"document_id":"z","features":{"emb":[1,2]}}`+"\n")...)
	code, body := e.call("POST", "/v1/collections/imp/documents/import", bad, "Content-Type", "application/x-ndjson")
	checkError(t, code, body, 422, `"loc":["body","line",301,"features","emb"]`)
	var col struct {
		DocumentCount int `json:"document_count"`
	}
	e.ok("GET", "/v1/collections/imp", nil, &col)
	if col.DocumentCount != 300 {
		t.Fatalf("%d documents after a failed import", col.DocumentCount)
	}

	// .npy with generated ids into a second feature.
	npyBytes := npyMatrix(t, 300, 5)
	e.ok("POST", "/v1/collections/imp/documents/import?feature=small&id_prefix=doc_", npyBytes, &st, "Content-Type", "application/x-npy")
	if st["updated"].(float64) != 300 {
		t.Fatalf("npy import %v", st)
	}
	var doc struct {
		Features map[string][]float32
		Payload  map[string]any
	}
	e.ok("GET", "/v1/collections/imp/documents/doc_7", nil, &doc)
	if len(doc.Features["emb"]) != 8 || len(doc.Features["small"]) != 5 || doc.Features["small"][0] != 7*5 || doc.Payload["text"] == nil {
		t.Fatalf("document after two imports: %+v", doc)
	}
	code, body = e.call("POST", "/v1/collections/imp/documents/import", npyBytes, "Content-Type", "application/x-npy")
	checkError(t, code, body, 422, `"loc":["query","feature"]`)
	code, body = e.call("POST", "/v1/collections/imp/documents/import?feature=small", npyBytes[:len(npyBytes)-7], "Content-Type", "application/x-npy")
	checkError(t, code, body, 422, "truncated")

	// Parquet: id column, list<float> vector, payload columns.
	type row struct {
		DocumentID string    `parquet:"document_id"`
		Vec        []float32 `parquet:"vec,list"`
		Title      string    `parquet:"title"`
	}
	var pq bytes.Buffer
	rows := []row{{"p1", []float32{1, 2, 3}, "first"}, {"p2", []float32{4, 5, 6}, "second"}}
	if err := parquet.Write(&pq, rows); err != nil {
		t.Fatal(err)
	}
	e.ok("POST", "/v1/collections/imp/documents/import?feature=tri", pq.Bytes(), &st, "Content-Type", "application/vnd.apache.parquet")
	e.ok("GET", "/v1/collections/imp/documents/p2", nil, &doc)
	if fmt.Sprint(doc.Features["tri"]) != "[4 5 6]" || doc.Payload["title"] != "second" {
		t.Fatalf("parquet document %+v", doc)
	}
	code, body = e.call("POST", "/v1/collections/imp/documents/import", []byte("x"), "Content-Type", "text/csv")
	checkError(t, code, body, 415, "unsupported_media_type")
}

// npyMatrix writes an n×d float32 .npy whose row i holds i·d … i·d+d−1.
func npyMatrix(t *testing.T, n, d int) []byte {
	t.Helper()
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(i)
	}
	var b bytes.Buffer
	if err := npy.WriteFloat32(&b, x, n, d); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
