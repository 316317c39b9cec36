package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/clusterd/clusterd/api"
	"github.com/clusterd/clusterd/model"
)

// slowParams makes a run that takes seconds: many restarts, no early stop.
const slowParams = `{"n_clusters":60,"n_init":200,"max_iter":300,"tol":0}`

// waitStatus polls a run until it has the status.
func (e *env) waitStatus(clusterID, runID, status string) model.ExecutionResult {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res := decodeStrict[model.ExecutionResult](e.t, e.ok("GET", "/v1/clusters/"+clusterID+"/executions/"+runID, nil, nil))
		if res.Status == status {
			return res
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("run %s never became %s", runID, status)
	return model.ExecutionResult{}
}

// TestCancel: a processing run stops promptly and a pending one at once;
// both end failed with "canceled" and their tasks say CANCELED.
func TestCancel(t *testing.T) {
	e := newEnv(t, envOpts{})
	cid := e.setup("slow", blobDocs(20000, 16, 60, 6), slowParams)
	var t1, t2 struct {
		TaskID string            `json:"task_id"`
		Data   map[string]string `json:"additional_data"`
	}
	e.ok("POST", "/v1/clusters/"+cid+"/execute", nil, &t1)
	e.ok("POST", "/v1/clusters/"+cid+"/execute", nil, &t2)
	run1, run2 := t1.Data["run_id"], t2.Data["run_id"]
	running := e.waitStatus(cid, run1, "processing")
	checkExecution(t, mustJSON(running))
	start := time.Now()
	body := e.ok("POST", "/v1/clusters/"+cid+"/executions/"+run1+"/cancel", nil, nil)
	checkExecution(t, body)
	res := decodeStrict[model.ExecutionResult](t, body)
	if res.Status != "failed" || str(res.ErrorMessage) != "canceled" {
		t.Fatalf("canceled processing run: %v", res)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("cancel took %v", el)
	}
	// The second run started after the first stopped; cancel it too.
	body = e.ok("POST", "/v1/clusters/"+cid+"/executions/"+run2+"/cancel", nil, nil)
	res = decodeStrict[model.ExecutionResult](t, body)
	if res.Status != "failed" || str(res.ErrorMessage) != "canceled" {
		t.Fatalf("second run: %v", res)
	}
	var task struct{ Status string }
	e.ok("GET", "/v1/tasks/"+t1.TaskID, nil, &task)
	if task.Status != "CANCELED" {
		t.Fatalf("task status %s", task.Status)
	}
	// A pending run (the worker is busy with a third run) is canceled at once.
	var t3, t4 struct {
		Data map[string]string `json:"additional_data"`
	}
	e.ok("POST", "/v1/clusters/"+cid+"/execute", nil, &t3)
	e.ok("POST", "/v1/clusters/"+cid+"/execute", nil, &t4)
	e.waitStatus(cid, t3.Data["run_id"], "processing")
	body = e.ok("POST", "/v1/clusters/"+cid+"/executions/"+t4.Data["run_id"]+"/cancel", nil, nil)
	res = decodeStrict[model.ExecutionResult](t, body)
	if res.Status != "failed" || str(res.ErrorMessage) != "canceled" || res.CompletedAt == nil {
		t.Fatalf("pending run: %v", res)
	}
	e.ok("POST", "/v1/clusters/"+cid+"/executions/"+t3.Data["run_id"]+"/cancel", nil, nil)
}

// TestDeleteCluster cancels the running run and removes runs and artifacts.
func TestDeleteCluster(t *testing.T) {
	e := newEnv(t, envOpts{})
	cid := e.setup("del", blobDocs(2000, 8, 4, 7), `{"n_clusters":4}`)
	var task struct {
		Data map[string]string `json:"additional_data"`
	}
	e.ok("POST", "/v1/clusters/"+cid+"/execute", nil, &task)
	e.wait(cid)
	runDir := e.store.RunDir(task.Data["run_id"])
	run, err := e.store.RunByID(context.Background(), task.Data["run_id"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.store.Dir(), "runs", run.ArtifactsKey(), "members.parquet")); err != nil {
		t.Fatal(err)
	}
	var slow struct {
		ClusterID string `json:"cluster_id"`
	}
	e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"del"}, "vector_config": map[string]any{"clustering_method": "kmeans", "algorithm_params": json.RawMessage(`{"n_clusters":60,"n_init":1000,"tol":0}`)}}, &slow)
	e.ok("POST", "/v1/clusters/"+slow.ClusterID+"/execute", nil, &task)
	e.waitStatus(slow.ClusterID, task.Data["run_id"], "processing")
	for _, id := range []string{cid, slow.ClusterID} {
		e.ok("DELETE", "/v1/clusters/"+id, nil, nil)
		code, body := e.call("GET", "/v1/clusters/"+id+"/executions", nil)
		checkError(t, code, body, 404, "cluster_not_found")
	}
	if _, err := os.Stat(runDir); !os.IsNotExist(err) {
		t.Fatalf("artifacts survived the delete: %v", err)
	}
	code, body := e.call("GET", "/v1/tasks/task_x", nil)
	checkError(t, code, body, 404, "task_not_found")
}

// TestOpenAPI: /openapi.json is a valid OpenAPI document that describes
// exactly the routes the router serves.
func TestOpenAPI(t *testing.T) {
	e := newEnv(t, envOpts{})
	body := e.ok("GET", "/openapi.json", nil, nil)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("invalid OpenAPI document: %v", err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	served := map[string]bool{}
	srv := api.New(api.Config{})
	for _, r := range srv.Routes() {
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		served[r.Method+" "+strings.Join(parts, "/")] = true
	}
	var missing, extra []string
	for r := range served {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !served[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("routes not documented: %v\ndocumented but not served: %v", missing, extra)
	}
	for _, name := range []string{"ClusterExecutionResult", "ErrorResponse", "HTTPValidationError", "CreateClusterRequest", "ArtifactsResponse"} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("schema %s missing", name)
		}
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.ok("GET", "/healthz", nil, nil)
	e.ok("GET", "/readyz", nil, nil)
	var st map[string]any
	e.ok("GET", "/v1/system/backends", nil, &st)
	if st["chosen"] != "cpu" || st["gpu_unavailable_reason"] == "" {
		t.Fatalf("%v", st)
	}
	code, _ := e.call("PUT", "/v1/clusters/x", nil)
	if code != http.StatusMethodNotAllowed {
		t.Fatalf("PUT: %d", code)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
