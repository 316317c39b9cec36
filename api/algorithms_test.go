package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/clusterd/clusterd/artifacts"
	"github.com/clusterd/clusterd/engine/spectral"
)

// TestMixpeeksOtherAlgorithms: a cluster with each of gaussian_mixture,
// spectral, mean_shift and optics is created, runs and completes through
// the service; a mixture's members.parquet carries each member's
// probability; parameters out of range, or that the loaded documents
// cannot honour (a dense rbf affinity above its memory limit, more
// components than documents, seeds of another dimension), are a 422 at
// create naming the parameter.
func TestMixpeeksOtherAlgorithms(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.setup("algos", blobDocs(400, 6, 4, 9), `{"n_clusters":4}`)
	for _, c := range []struct{ method, params string }{
		{"gaussian_mixture", `{"n_components":4,"covariance_type":"diag"}`},
		{"spectral", `{"n_clusters":4,"affinity":"nearest_neighbors"}`},
		{"spectral", `{"n_clusters":4,"gamma":0.01,"assign_labels":"cluster_qr"}`},
		{"mean_shift", `{"bin_seeding":true}`},
		{"optics", `{"min_samples":10,"metric":"cosine"}`},
	} {
		var cl struct {
			ClusterID string `json:"cluster_id"`
		}
		e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"algos"}, "cluster_name": c.method + c.params,
			"vector_config": map[string]any{"clustering_method": c.method, "algorithm_params": json.RawMessage(c.params)}}, &cl)
		e.ok("POST", "/v1/clusters/"+cl.ClusterID+"/execute", nil, nil)
		res := e.wait(cl.ClusterID)
		if res.Status != "completed" {
			t.Fatalf("%s %s: %v %v", c.method, c.params, res.Status, str(res.ErrorMessage))
		}
		if n := len(res.Centroids); n < 2 {
			t.Errorf("%s %s: %d clusters", c.method, c.params, n)
		}
		if c.method != "gaussian_mixture" {
			continue
		}
		runID := res.RunID
		body := e.ok("GET", "/v1/clusters/"+cl.ClusterID+"/executions/"+runID+"/artifacts/members.parquet", nil, nil)
		rows, err := parquet.Read[artifacts.Member](bytes.NewReader(body), int64(len(body)))
		if err != nil || len(rows) != 400 {
			t.Fatalf("members.parquet: %d rows, %v", len(rows), err)
		}
		for _, m := range rows {
			if m.Probability == nil || *m.Probability <= 0.25 || *m.Probability > 1 {
				t.Fatalf("member %s: probability %v", m.PointID, m.Probability)
			}
		}
	}

	old := spectral.MaxDenseBytes
	spectral.MaxDenseBytes = 8 * 300 * 300 // a dense affinity of at most 300 points
	defer func() { spectral.MaxDenseBytes = old }()
	for _, c := range []struct {
		method, params, loc string
	}{
		{"spectral", `{"n_clusters":4}`, "body.vector_config.algorithm_params.affinity"},
		{"spectral", `{"affinity":"precomputed"}`, "body.vector_config.algorithm_params.affinity"},
		{"gaussian_mixture", `{"n_components":401}`, "body.vector_config.algorithm_params.n_components"},
		{"gaussian_mixture", `{"n_components":2,"weights_init":[0.5,0.6]}`, "body.vector_config.algorithm_params.weights_init"},
		{"gaussian_mixture", `{"tol":0}`, "body.vector_config.algorithm_params.tol"},
		{"mean_shift", `{"seeds":[[1,2]]}`, "body.vector_config.algorithm_params.seeds"},
		{"mean_shift", `{"min_bin_freq":0}`, "body.vector_config.algorithm_params.min_bin_freq"},
		{"optics", `{"xi":2}`, "body.vector_config.algorithm_params.xi"},
		{"optics", `{"min_samples":500}`, "body.vector_config.algorithm_params.min_samples"},
		{"optics", `{"metric":"manhattan"}`, "body.vector_config.algorithm_params.metric"},
	} {
		code, out := e.call("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"algos"}, "cluster_name": "bad" + c.params,
			"vector_config": map[string]any{"clustering_method": c.method, "algorithm_params": json.RawMessage(c.params)}})
		if code != http.StatusUnprocessableEntity {
			t.Errorf("%s %s: status %d: %s", c.method, c.params, code, out)
			continue
		}
		checkLocs(t, code, out, c.loc)
	}
}
