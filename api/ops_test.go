package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/internal/contract"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/runner"
	"github.com/clusterd/clusterd/store"
)

// conform checks a response body against the contract's schema and decodes
// it strictly into v (a field the Go type lacks is an error), so both the
// contract and clusterd's own types hold.
func conform(t *testing.T, schemaName string, body []byte, v any) {
	t.Helper()
	if err := contract.Validate(schemaName, body); err != nil {
		t.Fatalf("response does not match the contract's %s: %v\n%s", schemaName, err, body)
	}
	if v == nil {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %s: %v\n%s", schemaName, err, body)
	}
}

// expect does a request that must answer want and returns the body.
func (e *env) expect(want int, method, path string, body any, headers ...string) []byte {
	e.t.Helper()
	code, out := e.call(method, path, body, headers...)
	if code != want {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, path, code, want, out)
	}
	return out
}

// checkLocs asserts a 422 whose problems are at exactly the locs given.
func checkLocs(t *testing.T, code int, body []byte, locs ...string) {
	t.Helper()
	checkError(t, code, body, http.StatusUnprocessableEntity, "")
	var v api422
	json.Unmarshal(body, &v)
	var got []string
	for _, d := range v.Detail {
		parts := make([]string, len(d.Loc))
		for i, p := range d.Loc {
			parts[i] = fmt.Sprint(p)
		}
		got = append(got, strings.Join(parts, "."))
	}
	sort.Strings(got)
	sort.Strings(locs)
	if !slices.Equal(got, locs) {
		t.Fatalf("422 at %v, want %v: %s", got, locs, body)
	}
}

type api422 struct {
	Detail []struct {
		Loc []any `json:"loc"`
	} `json:"detail"`
}

// taskList is ListTasksResponse with clusterd's extra total_count and
// stats.
type taskList struct {
	Results    []model.TaskResponse `json:"results"`
	Pagination struct {
		Total        int     `json:"total"`
		Page         int     `json:"page"`
		PageSize     int     `json:"page_size"`
		TotalPages   int     `json:"total_pages"`
		NextPage     *string `json:"next_page"`
		PreviousPage *string `json:"previous_page"`
		NextCursor   *string `json:"next_cursor"`
	} `json:"pagination"`
	TotalCount int `json:"total_count"`
	Stats      any `json:"stats"`
}

func (e *env) tasks(query string, body any) taskList {
	e.t.Helper()
	out := e.ok("POST", "/v1/tasks/list"+query, body, nil)
	var l taskList
	conform(e.t, "ListTasksResponse", out, &l)
	for _, r := range l.Results {
		conform(e.t, "TaskResponse", mustJSON(r), nil)
	}
	return l
}

func taskIDs(l taskList) []string {
	out := []string{}
	for _, r := range l.Results {
		out = append(out, r.TaskID)
	}
	sort.Strings(out)
	return out
}

func sorted(ids ...string) []string {
	out := append([]string{}, ids...)
	sort.Strings(out)
	return out
}

type taskRef struct {
	TaskID string            `json:"task_id"`
	Data   map[string]string `json:"additional_data"`
}

// TestTasks: the task list with its status mapping, filters, paging and
// every response valid under the contract; Kill Task on a processing, a
// pending and a finished task.
func TestTasks(t *testing.T) {
	e := newEnv(t, envOpts{})
	fast := e.setup("t", blobDocs(2000, 8, 4, 7), `{"n_clusters":4}`)
	var done, failed, slowRun, pending taskRef
	e.ok("POST", "/v1/clusters/"+fast+"/execute", nil, &done)
	e.wait(fast)
	// A cluster of an empty collection fails: too few documents.
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "empty"}, nil)
	var emptyCl struct {
		ClusterID string `json:"cluster_id"`
	}
	e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"empty"}, "vector_config": map[string]any{"clustering_method": "kmeans"}}, &emptyCl)
	e.ok("POST", "/v1/clusters/"+emptyCl.ClusterID+"/execute", nil, &failed)
	e.wait(emptyCl.ClusterID)
	// A slow run keeps the worker busy, so the next one stays pending.
	var slow struct {
		ClusterID string `json:"cluster_id"`
	}
	e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"t"}, "vector_config": map[string]any{"clustering_method": "kmeans",
		"algorithm_params": json.RawMessage(`{"n_clusters":60,"n_init":1000,"tol":0}`)}}, &slow)
	e.ok("POST", "/v1/clusters/"+slow.ClusterID+"/execute", nil, &slowRun)
	e.ok("POST", "/v1/clusters/"+slow.ClusterID+"/execute", nil, &pending)
	e.waitStatus(slow.ClusterID, slowRun.Data["run_id"], "processing")

	all := e.tasks("", nil)
	if got := taskIDs(all); !slices.Equal(got, sorted(done.TaskID, failed.TaskID, slowRun.TaskID, pending.TaskID)) || all.Pagination.Total != 4 {
		t.Fatalf("all tasks: %v (total %d)", got, all.Pagination.Total)
	}
	if all.Results[0].TaskID != pending.TaskID {
		t.Errorf("newest first: got %s first", all.Results[0].TaskID)
	}
	for _, r := range all.Results {
		if r.TaskType != model.TaskTypeClusterBuild {
			t.Errorf("task_type %s", r.TaskType)
		}
	}
	for _, c := range []struct {
		name string
		body any
		want []string
	}{
		{"PENDING", map[string]any{"status": "PENDING"}, []string{pending.TaskID}},
		{"PROCESSING", map[string]any{"status": "PROCESSING"}, []string{slowRun.TaskID}},
		{"IN_PROGRESS", map[string]any{"status": "IN_PROGRESS"}, []string{slowRun.TaskID}},
		{"COMPLETED", map[string]any{"status": "COMPLETED"}, []string{done.TaskID}},
		{"FAILED", map[string]any{"status": "FAILED"}, []string{failed.TaskID}},
		{"ARCHIVED", map[string]any{"status": "ARCHIVED"}, []string{}},
		{"type", map[string]any{"task_type": "engine_cluster_build", "status": nil, "filters": nil, "sort": nil, "search": nil}, taskIDs(all)},
		{"other type", map[string]any{"task_type": "api_buckets_batches_process"}, []string{}},
		{"filter cluster", map[string]any{"filters": map[string]any{"AND": []any{map[string]any{"field": "cluster_id", "operator": "eq", "value": slow.ClusterID}}}},
			sorted(slowRun.TaskID, pending.TaskID)},
		{"filter status", map[string]any{"filters": map[string]any{"OR": []any{map[string]any{"field": "status", "value": "FAILED"}, map[string]any{"field": "status", "value": "COMPLETED"}}}},
			sorted(done.TaskID, failed.TaskID)},
		{"search", map[string]any{"search": "NO VECTORS"}, []string{failed.TaskID}},
	} {
		if got := taskIDs(e.tasks("", c.body)); !slices.Equal(got, sorted(c.want...)) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// Paging: two pages of two, the second by cursor.
	p1 := e.tasks("?limit=2", map[string]any{"sort": map[string]any{"field": "created_at", "direction": "asc"}})
	if len(p1.Results) != 2 || p1.Results[0].TaskID != done.TaskID || p1.Pagination.NextCursor == nil || p1.Pagination.TotalPages != 2 {
		t.Fatalf("page 1: %+v", p1)
	}
	p2 := e.tasks("?limit=2&cursor="+*p1.Pagination.NextCursor, map[string]any{"sort": map[string]any{"field": "created_at", "direction": "asc"}})
	if len(p2.Results) != 2 || p2.Results[1].TaskID != pending.TaskID || p2.Pagination.NextCursor != nil {
		t.Fatalf("page 2: %+v", p2)
	}

	// Kill the pending task: canceled at once.
	body := e.ok("DELETE", "/v1/tasks/"+pending.TaskID, nil, nil)
	var del model.GenericDeleteResponse
	conform(t, "GenericDeleteResponse", body, &del)
	if !del.Success || !strings.Contains(del.Message, "canceled") {
		t.Fatalf("kill pending: %+v", del)
	}
	// Kill the processing task: the answer comes when it stopped.
	body = e.ok("DELETE", "/v1/tasks/"+slowRun.TaskID, nil, nil)
	conform(t, "GenericDeleteResponse", body, &del)
	if !del.Success {
		t.Fatalf("kill processing: %+v", del)
	}
	for _, id := range []string{pending.TaskID, slowRun.TaskID} {
		var task model.TaskResponse
		conform(t, "TaskResponse", e.ok("GET", "/v1/tasks/"+id, nil, nil), &task)
		if task.Status != "CANCELED" {
			t.Errorf("killed task %s is %s", id, task.Status)
		}
	}
	if got := taskIDs(e.tasks("", map[string]any{"status": "CANCELED"})); !slices.Equal(got, sorted(pending.TaskID, slowRun.TaskID)) {
		t.Errorf("CANCELED: %v", got)
	}
	if got := taskIDs(e.tasks("", map[string]any{"status": "FAILED"})); !slices.Equal(got, []string{failed.TaskID}) {
		t.Errorf("FAILED excludes canceled: %v", got)
	}
	// A finished task cannot be killed; an unknown one is not found.
	code, out := e.call("DELETE", "/v1/tasks/"+done.TaskID, nil)
	checkError(t, code, out, http.StatusConflict, "task_already_finished")
	code, out = e.call("DELETE", "/v1/tasks/task_nope", nil)
	checkError(t, code, out, http.StatusNotFound, "task_not_found")
	// Another namespace sees none of them.
	if l := e.tasks("", nil); len(l.Results) != 4 {
		t.Fatalf("%d tasks", len(l.Results))
	}
	out = e.ok("POST", "/v1/tasks/list", nil, nil, "X-Namespace", "elsewhere")
	var other taskList
	conform(t, "ListTasksResponse", out, &other)
	if len(other.Results) != 0 {
		t.Fatalf("another namespace lists %d tasks", len(other.Results))
	}
	code, out = e.call("DELETE", "/v1/tasks/"+done.TaskID, nil, "X-Namespace", "elsewhere")
	checkError(t, code, out, http.StatusNotFound, "task_not_found")

	// Every problem of a bad request in one 422.
	code, out = e.call("POST", "/v1/tasks/list", map[string]any{"status": "DONE", "task_type": "x",
		"filters": map[string]any{"AND": []any{map[string]any{"field": "run_status", "value": "x"}}}, "sort": map[string]any{"field": "nope"}})
	checkLocs(t, code, out, "body.status", "body.task_type", "body.filters.AND.0.field", "body.sort.field")
	code, out = e.call("POST", "/v1/tasks/list?limit=0", nil)
	checkLocs(t, code, out, "query.limit")
}

// TestAnalytics: execution history and failure analysis over real runs,
// one per failure kind a run's data or definition can cause; responses
// valid under the contract.
func TestAnalytics(t *testing.T) {
	e := newEnv(t, envOpts{})
	docs := blobDocs(600, 8, 4, 11)
	fast := e.setup("a", docs, `{"n_clusters":4}`)
	for range 3 {
		e.ok("POST", "/v1/clusters/"+fast+"/execute", nil, nil)
		e.wait(fast)
	}
	create := func(collection string, vc map[string]any) string {
		var cl struct {
			ClusterID string `json:"cluster_id"`
		}
		e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{collection}, "vector_config": vc}, &cl)
		return cl.ClusterID
	}
	// Clusters made while their collections were empty (nothing to check
	// against yet), which then fail when run.
	for _, name := range []string{"empty", "one", "gone", "few", "other", "two"} {
		e.ok("POST", "/v1/collections", map[string]any{"collection_name": name}, nil)
	}
	kmeans := map[string]any{"clustering_method": "kmeans"}
	failing := map[string]string{
		create("empty", kmeans): runner.FailureInsufficientData,
		create("one", kmeans):   runner.FailureInsufficientData,
		create("two", kmeans):   runner.FailureInvalidConfiguration,
		create("gone", kmeans):  runner.FailureMissingCollection,
		create("few", map[string]any{"clustering_method": "kmeans", "algorithm_params": map[string]any{"n_clusters": 50}}): runner.FailureInvalidParameters,
		create("other", map[string]any{"clustering_method": "kmeans", "feature_uris": []string{"missing_feature"}}):        runner.FailureMissingFeature,
	}
	e.ok("DELETE", "/v1/collections/gone", nil, nil)
	e.ok("POST", "/v1/collections/few/documents", map[string]any{"documents": docs[:10]}, nil)
	e.ok("POST", "/v1/collections/other/documents", map[string]any{"documents": docs[:10]}, nil)
	e.ok("POST", "/v1/collections/one/documents", map[string]any{"documents": docs[:1]}, nil)
	two := blobDocs(10, 4, 2, 12)
	for _, d := range two {
		f := d["features"].(map[string]any)
		f["emb2"] = f["emb"]
	}
	e.ok("POST", "/v1/collections/two/documents", map[string]any{"documents": two}, nil)
	for cid, kind := range failing {
		e.ok("POST", "/v1/clusters/"+cid+"/execute", nil, nil)
		if res := e.wait(cid); res.Status != "failed" {
			t.Fatalf("%s run: %v", kind, res)
		}
		body := e.ok("GET", "/v1/analytics/clusters/"+cid+"/failures", nil, nil)
		var fa model.FailureAnalysisResponse
		conform(t, "api__analytics__clusters__models__FailureAnalysisResponse", body, &fa)
		if fa.TotalFailures != 1 || len(fa.Failures) != 1 || fa.Failures[0].ErrorType != kind || fa.Failures[0].ErrorMessage == "" {
			t.Errorf("%s: %s", kind, body)
		}
		body = e.ok("GET", "/v1/analytics/clusters/"+cid+"/execution-history", nil, nil)
		var h model.ExecutionHistoryResponse
		conform(t, "ExecutionHistoryResponse", body, &h)
		if h.Summary.Failed != 1 || h.Summary.FailuresByType[kind] != 1 || h.Summary.SuccessRate == nil || *h.Summary.SuccessRate != 0 ||
			h.Summary.AvgDurationSeconds != nil || len(h.Results) != 1 || h.Results[0].Algorithm != "kmeans" || h.Results[0].Status != "failed" {
			t.Errorf("%s history: %s", kind, body)
		}
	}

	// A pending run canceled (the runner is stopped so it stays pending).
	if err := e.runner.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	var canceled taskRef
	e.ok("POST", "/v1/clusters/"+fast+"/execute", nil, &canceled)
	e.ok("DELETE", "/v1/tasks/"+canceled.TaskID, nil, nil)
	var queued taskRef
	e.ok("POST", "/v1/clusters/"+fast+"/execute", nil, &queued)

	body := e.ok("GET", "/v1/analytics/clusters/"+fast+"/execution-history?hours=1&limit=2", nil, nil)
	var h model.ExecutionHistoryResponse
	conform(t, "ExecutionHistoryResponse", body, &h)
	s := h.Summary
	if h.ClusterID != fast || len(h.Results) != 2 || h.Results[0].ExecutionID != queued.Data["run_id"] || h.Results[0].Status != "pending" ||
		h.Results[0].DurationSeconds != 0 || h.Results[1].ExecutionID != canceled.Data["run_id"] || h.Results[1].Status != "failed" {
		t.Fatalf("history results: %s", body)
	}
	if s.TotalExecutions != 5 || s.Completed != 3 || s.Canceled != 1 || s.Pending != 1 || s.Failed != 0 || s.Processing != 0 ||
		s.SuccessRate == nil || *s.SuccessRate != 1 || s.AvgNumClusters == nil || *s.AvgNumClusters != 4 || s.AvgNumDocuments == nil || *s.AvgNumDocuments != 600 ||
		s.TotalDocumentsClustered != 1800 || s.Algorithms["kmeans"] != 5 || s.FailuresByType[runner.FailureCanceled] != 1 || s.LastExecutionAt == nil {
		t.Fatalf("summary: %s", body)
	}
	if !(*s.P50DurationSeconds > 0 && *s.P50DurationSeconds <= *s.P95DurationSeconds && *s.P95DurationSeconds <= *s.MaxDurationSeconds) {
		t.Fatalf("durations: %s", body)
	}
	if got := h.TimeRange.End.Sub(h.TimeRange.Start.Time).Hours(); got != 1 {
		t.Fatalf("time range of %v hours", got)
	}
	body = e.ok("GET", "/v1/analytics/clusters/"+fast+"/failures", nil, nil)
	var fa model.FailureAnalysisResponse
	conform(t, "api__analytics__clusters__models__FailureAnalysisResponse", body, &fa)
	if fa.TotalFailures != 1 || fa.Failures[0].ErrorType != runner.FailureCanceled || fa.Failures[0].ExecutionID != canceled.Data["run_id"] {
		t.Fatalf("failures: %s", body)
	}
	// By name too; in another namespace the cluster does not exist.
	e.ok("GET", "/v1/analytics/clusters/a-clusters/failures?hours=720", nil, nil)
	code, out := e.call("GET", "/v1/analytics/clusters/"+fast+"/failures", nil, "X-Namespace", "elsewhere")
	checkError(t, code, out, http.StatusNotFound, "cluster_not_found")

	// Query bounds: every problem in one 422, before the cluster is looked up.
	for _, c := range []struct {
		path string
		locs []string
	}{
		{"/v1/analytics/clusters/nope/execution-history?hours=0&limit=1001", []string{"query.hours", "query.limit"}},
		{"/v1/analytics/clusters/" + fast + "/execution-history?hours=721", []string{"query.hours"}},
		{"/v1/analytics/clusters/" + fast + "/execution-history?limit=x", []string{"query.limit"}},
		{"/v1/analytics/clusters/" + fast + "/failures?hours=-1", []string{"query.hours"}},
	} {
		code, out := e.call("GET", c.path, nil)
		checkLocs(t, code, out, c.locs...)
	}
	e.ok("GET", "/v1/analytics/clusters/"+fast+"/execution-history?hours=720&limit=1000", nil, nil)
	e.ok("GET", "/v1/analytics/clusters/"+fast+"/execution-history?hours=1&limit=1", nil, nil)
}

// templateList lists templates and checks the answer against the contract.
func (e *env) templateList(body any, headers ...string) model.ListTemplatesResponse {
	e.t.Helper()
	out := e.ok("POST", "/v1/templates/clusters", body, nil, headers...)
	var l model.ListTemplatesResponse
	conform(e.t, "ListTemplatesResponse", out, &l)
	for _, r := range l.Results {
		conform(e.t, "BaseTemplateModel", mustJSON(r), nil)
	}
	return l
}

func templateIDs(l model.ListTemplatesResponse) []string {
	out := []string{}
	for _, r := range l.Results {
		out = append(out, r.TemplateID)
	}
	return out
}

var systemIDs = []string{"tmpl_density_hdbscan", "tmpl_hierarchical_kmeans", "tmpl_large_scale_minibatch", "tmpl_topic_discovery_kmeans"}

// TestSystemTemplates: each built-in template is served as the contract
// says, instantiates through POST /v1/clusters' validation into a cluster
// whose definition is the template's configuration, and that cluster runs
// to completion and finds clusters.
func TestSystemTemplates(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "docs"}, nil)
	e.ok("POST", "/v1/collections/docs/documents", map[string]any{"documents": blobDocs(600, 8, 6, 21)}, nil)
	l := e.templateList(nil)
	if got := templateIDs(l); l.TotalCount != 4 || !slices.Equal(sorted(got...), systemIDs) {
		t.Fatalf("system templates: %v (%d)", got, l.TotalCount)
	}
	for _, tmpl := range l.Results {
		if tmpl.Scope != "system" || tmpl.InternalID != "system" || !tmpl.IsActive || !tmpl.IsPublic || tmpl.Mode != "config" || tmpl.CreatedBy != nil ||
			tmpl.TemplateType != "cluster" || len(tmpl.Requirements) == 0 || len(tmpl.UseCases) == 0 || tmpl.Category == nil || len(tmpl.Tags) == 0 {
			t.Errorf("%s: %+v", tmpl.TemplateID, tmpl)
		}
		var got model.TemplateResponse
		conform(t, "BaseTemplateModel", e.ok("GET", "/v1/templates/clusters/"+tmpl.TemplateID, nil, nil), &got)
		if !bytes.Equal(mustJSON(got), mustJSON(tmpl)) {
			t.Errorf("GET %s differs from the list's", tmpl.TemplateID)
		}
		var cfg map[string]json.RawMessage
		json.Unmarshal(tmpl.Configuration, &cfg)
		for _, k := range []string{"collection_ids", "cluster_name", "description", "metadata"} {
			if _, ok := cfg[k]; ok {
				t.Errorf("%s configuration has %s", tmpl.TemplateID, k)
			}
		}
		name := strings.TrimPrefix(tmpl.TemplateID, "tmpl_")
		out := e.expect(http.StatusCreated, "POST", "/v1/templates/clusters/"+tmpl.TemplateID+"/instantiate",
			map[string]any{"cluster_name": name, "collection_ids": []string{"docs"}, "description": nil})
		var inst model.InstantiatedClusterTemplateResponse
		conform(t, "InstantiatedClusterTemplateResponse", out, &inst)
		if inst.ClusterName != name || inst.TemplateID != tmpl.TemplateID || inst.Status != "created" || !strings.HasPrefix(inst.ClusterID, "clust_") {
			t.Fatalf("instantiate %s: %s", tmpl.TemplateID, out)
		}
		var cl model.ClusterMetadata
		e.ok("GET", "/v1/clusters/"+inst.ClusterID, nil, &cl)
		if cl.Description == nil || *cl.Description != tmpl.Description || cl.ClusterName != name {
			t.Errorf("%s: cluster name %q, description %v", tmpl.TemplateID, cl.ClusterName, cl.Description)
		}
		// The cluster's definition is the template's configuration.
		var def map[string]json.RawMessage
		clusterDef, _ := e.store.GetCluster(context.Background(), cl.NamespaceID, inst.ClusterID)
		json.Unmarshal(clusterDef.Config, &def)
		for k, v := range cfg {
			if !jsonEqual(def[k], v) {
				t.Errorf("%s: cluster's %s = %s, template's %s", tmpl.TemplateID, k, def[k], v)
			}
		}
		e.ok("POST", "/v1/clusters/"+inst.ClusterID+"/execute", nil, nil)
		res := e.wait(inst.ClusterID)
		if res.Status != "completed" || res.NumClusters < 2 {
			t.Errorf("%s run: status %v, %v clusters (%v)", tmpl.TemplateID, res.Status, res.NumClusters, str(res.ErrorMessage))
		}
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return bytes.Equal(mustJSON(x), mustJSON(y))
}

// TestTemplates: templates made from clusters, their scopes and
// visibility, the list's filters, and instantiation's errors.
func TestTemplates(t *testing.T) {
	e := newEnv(t, envOpts{})
	docs := blobDocs(200, 8, 4, 31)
	cid := e.setup("src", docs, `{"n_clusters":4}`)
	e.ok("PATCH", "/v1/clusters/"+cid, map[string]any{"description": "four blobs", "metadata": map[string]any{"owner": "me"}}, nil)
	var cl model.ClusterMetadata
	e.ok("GET", "/v1/clusters/"+cid, nil, &cl)

	out := e.expect(http.StatusCreated, "POST", "/v1/templates/clusters/from-cluster/"+cid,
		map[string]any{"template_name": "Four blobs", "description": nil, "category": "mine", "tags": []string{"blobs", "kmeans"}, "is_public": false, "scope": "organization"})
	var created model.CreateTemplateFromResourceResponse
	conform(t, "CreateTemplateFromResourceResponse", out, &created)
	if created.TemplateName != "Four blobs" || created.Scope != "organization" || created.SourceResourceID != cid || created.TemplateType != "cluster" {
		t.Fatalf("created: %s", out)
	}
	var tmpl model.TemplateResponse
	conform(t, "BaseTemplateModel", e.ok("GET", "/v1/templates/clusters/"+created.TemplateID, nil, nil), &tmpl)
	if tmpl.InternalID != cl.NamespaceID || tmpl.Scope != "organization" || tmpl.IsPublic || tmpl.SourceResourceID == nil || *tmpl.SourceResourceID != cid ||
		!slices.Equal(tmpl.Tags, []string{"blobs", "kmeans"}) || tmpl.Category == nil || *tmpl.Category != "mine" || !strings.Contains(tmpl.Description, cid) {
		t.Fatalf("template: %+v", tmpl)
	}
	// Its configuration is the cluster's stored definition less the
	// cluster's own fields.
	stored, _ := e.store.GetCluster(context.Background(), cl.NamespaceID, cid)
	var def, cfg map[string]json.RawMessage
	json.Unmarshal(stored.Config, &def)
	json.Unmarshal(tmpl.Configuration, &cfg)
	for _, k := range []string{"collection_ids", "cluster_name", "description", "metadata"} {
		delete(def, k)
	}
	if !jsonEqual(mustJSON(def), mustJSON(cfg)) {
		t.Fatalf("configuration %s, want %s", tmpl.Configuration, mustJSON(def))
	}
	// A user template and a public one.
	for _, b := range []map[string]any{
		{"template_name": "Mine only", "scope": "user", "tags": []string{"blobs"}, "description": "for me"},
		{"template_name": "Shared", "scope": "public"},
	} {
		e.expect(http.StatusCreated, "POST", "/v1/templates/clusters/from-cluster/src-clusters", b)
	}
	code, out := e.call("POST", "/v1/templates/clusters/from-cluster/"+cid, map[string]any{"template_name": "x", "scope": "system"})
	checkError(t, code, out, http.StatusForbidden, "system_scope_forbidden")
	code, out = e.call("POST", "/v1/templates/clusters/from-cluster/clust_nope", map[string]any{"template_name": "x"})
	checkError(t, code, out, http.StatusNotFound, "cluster_not_found")
	code, out = e.call("POST", "/v1/templates/clusters/from-cluster/"+cid, map[string]any{"template_name": "", "scope": "team", "tags": "a", "extra": 1})
	checkLocs(t, code, out, "body.template_name", "body.scope", "body.tags", "body.extra")

	// Lists: filters, search, tags, scope, sort.
	byName := func(l model.ListTemplatesResponse) []string {
		out := []string{}
		for _, r := range l.Results {
			out = append(out, r.Name)
		}
		return out
	}
	all := e.templateList(map[string]any{})
	if all.TotalCount != 7 {
		t.Fatalf("%d templates: %v", all.TotalCount, byName(all))
	}
	if names := byName(all); !slices.IsSorted(names) {
		t.Errorf("not by name: %v", names)
	}
	for _, c := range []struct {
		name string
		body map[string]any
		want []string
	}{
		{"scope", map[string]any{"scope": "user"}, []string{"Mine only"}},
		{"category", map[string]any{"category": "density"}, []string{"Density clustering (HDBSCAN)"}},
		{"tags all", map[string]any{"tags": []string{"blobs", "kmeans"}}, []string{"Four blobs"}},
		{"search", map[string]any{"search": "MINI-BATCH"}, []string{"Large collections (mini-batch k-means)"}},
		{"search tag", map[string]any{"search": "outliers"}, []string{"Density clustering (HDBSCAN)"}},
		{"inactive", map[string]any{"is_active": false}, []string{}},
		{"filters", map[string]any{"filters": map[string]any{"AND": []any{map[string]any{"field": "tags", "operator": "eq", "value": "blobs"},
			map[string]any{"field": "scope", "operator": "ne", "value": "user"}}}}, []string{"Four blobs"}},
		{"filters in", map[string]any{"filters": map[string]any{"AND": []any{map[string]any{"field": "category", "operator": "in", "value": []string{"density", "hierarchical"}}}},
			"sort": map[string]any{"field": "name", "direction": "desc"}}, []string{"Hierarchical topics (k-means tree)", "Density clustering (HDBSCAN)"}},
		{"public", map[string]any{"filters": map[string]any{"AND": []any{map[string]any{"field": "is_public", "value": true}, map[string]any{"field": "internal_id", "operator": "ne", "value": "system"}}}},
			[]string{"Shared"}},
	} {
		if got := byName(e.templateList(c.body)); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	code, out = e.call("POST", "/v1/templates/clusters", map[string]any{"filters": map[string]any{"AND": []any{map[string]any{"field": "colour", "value": "x"},
		map[string]any{"field": "tags", "operator": "gt", "value": "x"}}}, "sort": map[string]any{"field": "size", "order": "asc"}, "scope": "team"})
	checkLocs(t, code, out, "body.filters.AND.0.field", "body.sort.field", "body.sort.order", "body.scope")
	code, out = e.call("POST", "/v1/templates/clusters", map[string]any{"filters": map[string]any{"AND": []any{map[string]any{"field": "name", "value": "x"},
		map[string]any{"field": "tags", "operator": "in", "value": "x"}}}})
	checkLocs(t, code, out, "body.filters.AND.1.value")

	// Another namespace sees the system and public templates only, and can
	// instantiate the public one on its own collection.
	other := []string{"X-Namespace", "other"}
	ol := e.templateList(nil, other...)
	if ol.TotalCount != 5 || slices.Contains(byName(ol), "Four blobs") || !slices.Contains(byName(ol), "Shared") {
		t.Fatalf("other namespace: %v", byName(ol))
	}
	code, out = e.call("GET", "/v1/templates/clusters/"+created.TemplateID, nil, other...)
	checkError(t, code, out, http.StatusNotFound, "template_not_found")
	var shared string
	for _, r := range ol.Results {
		if r.Name == "Shared" {
			shared = r.TemplateID
		}
	}
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "mine"}, nil, other...)
	e.ok("POST", "/v1/collections/mine/documents", map[string]any{"documents": docs}, nil, other...)
	e.expect(http.StatusCreated, "POST", "/v1/templates/clusters/"+shared+"/instantiate", map[string]any{"cluster_name": "copy", "collection_ids": []string{"mine"}}, other...)

	// Instantiation's errors: body, missing collection, taken name, and a
	// configuration that no longer fits (features) or validates.
	inst := "/v1/templates/clusters/" + created.TemplateID + "/instantiate"
	code, out = e.call("POST", inst, map[string]any{"collection_ids": []string{}})
	checkLocs(t, code, out, "body.cluster_name", "body.collection_ids")
	code, out = e.call("POST", inst, map[string]any{"cluster_name": "n", "collection_ids": []string{"src", "nope"}})
	checkLocs(t, code, out, "body.collection_ids.1")
	code, out = e.call("POST", inst, map[string]any{"cluster_name": "src-clusters", "collection_ids": []string{"src"}})
	checkError(t, code, out, http.StatusConflict, "cluster_name_taken")
	code, out = e.call("POST", "/v1/templates/clusters/tmpl_nope/instantiate", map[string]any{"cluster_name": "n", "collection_ids": []string{"src"}})
	checkError(t, code, out, http.StatusNotFound, "template_not_found")
	// minibatch's 50 clusters are more than the 20 documents of a small collection.
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "small"}, nil)
	e.ok("POST", "/v1/collections/small/documents", map[string]any{"documents": docs[:20]}, nil)
	code, out = e.call("POST", "/v1/templates/clusters/tmpl_large_scale_minibatch/instantiate", map[string]any{"cluster_name": "n", "collection_ids": []string{"small"}})
	checkLocs(t, code, out, "template.configuration.vector_config.algorithm_params.n_clusters")
	if _, err := e.store.CreateTemplate(context.Background(), store.Template{TemplateID: "tmpl_stale", NamespaceID: cl.NamespaceID, Name: "stale", Description: "d",
		Scope: "organization", IsActive: true, Configuration: json.RawMessage(`{"cluster_type":"vector","vector_config":{"clustering_method":"optics","algorithm_params":{"xi":2},"feature_uris":["emb","x"]}}`)}); err != nil {
		t.Fatal(err)
	}
	code, out = e.call("POST", "/v1/templates/clusters/tmpl_stale/instantiate", map[string]any{"cluster_name": "n", "collection_ids": []string{"src"}, "description": "mine"})
	checkLocs(t, code, out, "template.configuration.vector_config.algorithm_params.xi", "template.configuration.vector_config.feature_uris.1")

	// Routing: "from-cluster" is a static segment beside the template id.
	code, out = e.call("GET", "/v1/templates/clusters/from-cluster", nil)
	checkError(t, code, out, http.StatusNotFound, "template_not_found")
	code, out = e.call("POST", "/v1/templates/clusters/from-cluster/instantiate", map[string]any{"template_name": "x"})
	checkError(t, code, out, http.StatusNotFound, "cluster_not_found")
	e.expect(http.StatusCreated, "POST", "/v1/templates/clusters/tmpl_hierarchical_kmeans/instantiate", map[string]any{"cluster_name": "h", "collection_ids": []string{"src"}})
}

// defaultsBody is a request as Mixpeek's generated clients send it: every
// property of the contract's schema, at its default (null where nullable
// without one, [] for a list with a default factory), the required ones
// taken from example.
func defaultsBody(t *testing.T, schemaName string, example map[string]any) map[string]any {
	t.Helper()
	s, err := contract.Schema(schemaName)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for name, p := range s.Properties {
		switch {
		case p.Value.Default != nil:
			out[name] = p.Value.Default
		case slices.Contains(s.Required, name):
			out[name] = example[name]
		case p.Value.Type.Is("array"): // a default_factory=list field
			out[name] = []any{}
		default:
			nullable := false
			for _, alt := range p.Value.AnyOf {
				nullable = nullable || alt.Value.Type.Is("null")
			}
			if !nullable {
				t.Fatalf("%s.%s has no default and is not nullable", schemaName, name)
			}
			out[name] = nil
		}
	}
	if err := contract.Validate(schemaName, mustJSON(out)); err != nil {
		t.Fatalf("defaults body of %s: %v", schemaName, err)
	}
	return out
}

// contractExamples are the contract's examples of a request schema.
func contractExamples(t *testing.T, schemaName string) []map[string]any {
	t.Helper()
	s, err := contract.Schema(schemaName)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, ex := range s.Examples {
		out = append(out, ex.(map[string]any))
	}
	return out
}

// TestContractRequests: the contract's own request examples, and requests
// with every field at its default (as generated clients send them), work.
func TestContractRequests(t *testing.T) {
	e := newEnv(t, envOpts{})
	cid := e.setup("col_products", blobDocs(100, 8, 4, 41), `{"n_clusters":4}`)
	var task taskRef
	e.ok("POST", "/v1/clusters/"+cid+"/execute", nil, &task)
	e.wait(cid)

	e.tasks("", defaultsBody(t, "ListTasksRequest", nil))
	for _, ex := range contractExamples(t, "ListTemplatesRequest") {
		e.templateList(ex)
	}
	if l := e.templateList(defaultsBody(t, "ListTemplatesRequest", nil)); l.TotalCount != 4 {
		t.Fatalf("defaults: %d templates", l.TotalCount)
	}
	create := contractExamples(t, "CreateTemplateFromResourceRequest")
	if len(create) == 0 {
		t.Fatal("no CreateTemplateFromResourceRequest example")
	}
	var made model.CreateTemplateFromResourceResponse
	for _, body := range append(create, defaultsBody(t, "CreateTemplateFromResourceRequest", create[0])) {
		conform(t, "CreateTemplateFromResourceResponse", e.expect(http.StatusCreated, "POST", "/v1/templates/clusters/from-cluster/"+cid, body), &made)
	}
	inst := contractExamples(t, "InstantiateClusterTemplateRequest")
	if len(inst) == 0 {
		t.Fatal("no InstantiateClusterTemplateRequest example")
	}
	conform(t, "InstantiatedClusterTemplateResponse", e.expect(http.StatusCreated, "POST", "/v1/templates/clusters/"+made.TemplateID+"/instantiate", inst[0]), nil)
	body := defaultsBody(t, "InstantiateClusterTemplateRequest", inst[0])
	body["cluster_name"] = "second"
	conform(t, "InstantiatedClusterTemplateResponse", e.expect(http.StatusCreated, "POST", "/v1/templates/clusters/"+made.TemplateID+"/instantiate", body), nil)
}
