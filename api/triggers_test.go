package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/clusterd/clusterd/api"
	"github.com/clusterd/clusterd/dispatch"
	"github.com/clusterd/clusterd/internal/contract"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/runner"
	"github.com/clusterd/clusterd/schema"
	"github.com/clusterd/clusterd/store"
	"github.com/clusterd/clusterd/telemetry"
	"github.com/clusterd/clusterd/triggers"
)

// triggerContract returns the contract (internal/contract) parsed, and as
// a raw JSON tree.
func triggerContract(t *testing.T) (*openapi3.T, map[string]any) {
	t.Helper()
	doc, err := contract.Doc()
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(contract.JSON(), &raw); err != nil {
		t.Fatal(err)
	}
	return doc, raw
}

// checkContract validates a response body against a component schema of
// the contract.
func checkContract(t *testing.T, name string, body []byte) {
	t.Helper()
	doc, _ := triggerContract(t)
	ref := doc.Components.Schemas[name]
	if ref == nil {
		t.Fatalf("no schema %s in the contract", name)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: not JSON: %s", name, body)
	}
	if err := ref.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		t.Fatalf("response does not match the contract's %s: %v\n%s", name, err, body)
	}
}

const (
	triggerModel   = "shared__clusters__triggers__models__TriggerModel"
	triggerList    = "shared__clusters__triggers__models__ListTriggersResponse"
	triggerHistory = "shared__clusters__triggers__models__TriggerHistoryResponse"
)

// fakeClock is the trigger scheduler's clock in these tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// trigEnv is env with a trigger scheduler on a fake clock, ticked by the
// test, and its metrics on the served registry.
type trigEnv struct {
	*env
	clock *fakeClock
	sched *triggers.Scheduler
}

var epoch = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func newTriggerEnv(t *testing.T) *trigEnv {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := telemetry.New(reg)
	bm, err := dispatch.New(dispatch.Options{Mode: dispatch.ModeCPU})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	run := runner.New(runner.Config{Store: st, Backends: bm, Metrics: m, Logger: log, Poll: 20 * time.Millisecond})
	if err := run.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: epoch}
	sched := triggers.New(triggers.Config{Store: st, Clock: clock, MaxFailures: 2, Wake: run.Wake, Metrics: telemetry.NewTriggerMetrics(reg), Logger: log})
	srv := api.New(api.Config{Store: st, Runner: run, Backends: bm, Metrics: m, Gatherer: reg, Logger: log, MaxBodyBytes: 8 << 20, Triggers: sched})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		run.Stop(context.Background())
		st.Close()
	})
	return &trigEnv{env: &env{t: t, url: hs.URL, store: st, runner: run}, clock: clock, sched: sched}
}

// trigger is the part of a TriggerModel the tests read.
type trigger struct {
	TriggerID           string         `json:"trigger_id"`
	ClusterID           *string        `json:"cluster_id"`
	TriggerType         string         `json:"trigger_type"`
	Status              string         `json:"status"`
	ScheduleConfig      map[string]any `json:"schedule_config"`
	ExecutionConfig     map[string]any `json:"execution_config"`
	Description         *string        `json:"description"`
	NextScheduledAt     *time.Time     `json:"next_scheduled_at"`
	LastTriggeredAt     *time.Time     `json:"last_triggered_at"`
	ExecutionCount      int            `json:"execution_count"`
	ConsecutiveFailures int            `json:"consecutive_failures"`
	LastExecutionStatus *string        `json:"last_execution_status"`
	LastExecutionJobID  *string        `json:"last_execution_job_id"`
	PausedReason        *string        `json:"paused_reason"`
	OwnCluster          bool           `json:"cluster_created_by_trigger"`
}

// do sends a trigger request, checks the status and the body against the
// contract's schema, and decodes it into out.
func (e *trigEnv) do(method, path string, body any, status int, schemaName string, out any) []byte {
	e.t.Helper()
	code, raw := e.call(method, path, body)
	if code != status {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, path, code, status, raw)
	}
	if schemaName != "" {
		checkContract(e.t, schemaName, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return raw
}

func (e *trigEnv) create(body map[string]any) trigger {
	e.t.Helper()
	var tr trigger
	e.do("POST", "/v1/clusters/triggers", body, http.StatusCreated, triggerModel, &tr)
	return tr
}

// smallCollection loads n 8-d documents around 3 centres.
func (e *trigEnv) smallCollection(name string, n int) {
	e.t.Helper()
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": name}, nil)
	e.ok("POST", "/v1/collections/"+name+"/documents", map[string]any{"documents": blobDocs(n, 8, 3, 5)}, nil)
}

// TestTriggerContractExamples: every request example of the contract's
// CreateTriggerRequest is accepted as is, and every answer is a TriggerModel.
func TestTriggerContractExamples(t *testing.T) {
	e := newTriggerEnv(t)
	_, raw := triggerContract(t)
	schemas := raw["components"].(map[string]any)["schemas"].(map[string]any)
	examples := schemas["shared__clusters__triggers__models__CreateTriggerRequest"].(map[string]any)["examples"].([]any)
	if len(examples) != 5 {
		t.Fatalf("%d examples in the contract", len(examples))
	}
	e.smallCollection("col_abc123", 60)
	e.smallCollection("col_products", 60)
	e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"col_abc123"}, "cluster_name": "cluster_xyz789",
		"vector_config": map[string]any{"clustering_method": "kmeans"}}, nil)
	var col struct {
		ID string `json:"collection_id"`
	}
	e.ok("GET", "/v1/collections/col_abc123", nil, &col)
	for i, ex := range examples {
		tr := e.create(ex.(map[string]any))
		want := ex.(map[string]any)
		if tr.TriggerType != want["trigger_type"] || tr.Status != "active" || *tr.Description != want["description"] || tr.ClusterID == nil {
			t.Errorf("example %d: %+v", i, tr)
		}
		switch tr.TriggerType {
		case "cron":
			if tr.ScheduleConfig["timezone"] != "UTC" || tr.NextScheduledAt == nil || !tr.NextScheduledAt.Equal(epoch.Add(2*time.Hour)) {
				t.Errorf("cron example: %+v", tr)
			}
			if !tr.OwnCluster || tr.ExecutionConfig["config"].(map[string]any)["min_cluster_size"] != 2.0 {
				t.Errorf("cron example's execution_config is not echoed: %v", tr.ExecutionConfig)
			}
		case "event":
			if tr.ScheduleConfig["collection_id"] != col.ID || tr.NextScheduledAt != nil {
				t.Errorf("event example: %+v", tr)
			}
		case "conditional":
			if tr.ScheduleConfig["metric"] != "cosine_drift" || !tr.NextScheduledAt.Equal(epoch.Add(time.Hour)) {
				t.Errorf("conditional example: %+v", tr)
			}
		case "interval":
			if want["cluster_id"] != nil {
				// A reference: the cluster's definition, rendered.
				cfg := tr.ExecutionConfig["config"].(map[string]any)
				if tr.OwnCluster || cfg["algorithm"] != "kmeans" || cfg["n_clusters"] != 8.0 || !tr.NextScheduledAt.Equal(epoch) {
					t.Errorf("cluster reference example: %+v", tr)
				}
			}
		}
	}
	// The cluster made for an execution_config is an ordinary cluster.
	var tr trigger
	e.do("POST", "/v1/clusters/triggers/list", map[string]any{"trigger_type": "cron"}, http.StatusOK, "", &struct {
		Results []*trigger `json:"results"`
	}{Results: []*trigger{&tr}})
	var cl struct {
		ClusterID       string          `json:"cluster_id"`
		Algorithm       string          `json:"algorithm"`
		AlgorithmParams map[string]any  `json:"algorithm_params"`
		Metadata        json.RawMessage `json:"metadata"`
	}
	e.ok("GET", "/v1/clusters/"+*tr.ClusterID, nil, &cl)
	if cl.Algorithm != "kmeans" || cl.AlgorithmParams["n_clusters"] != 5.0 || !strings.Contains(string(cl.Metadata), tr.TriggerID) {
		t.Errorf("the cron trigger's cluster: %+v", cl)
	}
}

// problems returns a 422's (loc, type) pairs, sorted.
func problems(t *testing.T, code int, body []byte) []string {
	t.Helper()
	checkError(t, code, body, http.StatusUnprocessableEntity, "detail")
	var v struct {
		Detail []struct {
			Loc  []any  `json:"loc"`
			Type string `json:"type"`
		} `json:"detail"`
	}
	json.Unmarshal(body, &v)
	var out []string
	for _, d := range v.Detail {
		parts := make([]string, len(d.Loc))
		for i, p := range d.Loc {
			parts[i] = fmt.Sprint(p)
		}
		out = append(out, strings.Join(parts, ".")+" "+d.Type)
	}
	sort.Strings(out)
	return out
}

func TestTriggerValidation(t *testing.T) {
	e := newTriggerEnv(t)
	e.smallCollection("one", 30)
	e.smallCollection("two", 30)
	e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"one"}, "cluster_name": "c1",
		"vector_config": map[string]any{"clustering_method": "kmeans"}}, nil)
	e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"one"}, "cluster_name": "pca",
		"vector_config": map[string]any{"clustering_method": "kmeans", "preprocessing_steps": []any{map[string]any{"method": "pca", "n_components": 2}}}}, nil)
	ec := func(cols []any, cfg map[string]any) map[string]any {
		return map[string]any{"collection_ids": cols, "config": cfg}
	}
	for _, tc := range []struct {
		name string
		body any
		want []string
	}{
		{"empty", map[string]any{}, []string{"body.execution_config missing", "body.schedule_config missing", "body.trigger_type missing"}},
		{"cron", map[string]any{"trigger_type": "cron", "schedule_config": map[string]any{"cron_expression": "61 * * * *", "timezone": "Mars/Base", "interval_seconds": 5}, "cluster_id": "nope"},
			[]string{"body.cluster_id value_error", "body.schedule_config.cron_expression value_error", "body.schedule_config.interval_seconds extra_forbidden", "body.schedule_config.timezone value_error"}},
		{"interval and execution_config", map[string]any{"trigger_type": "interval", "schedule_config": map[string]any{"interval_seconds": 0, "start_immediately": "yes"},
			"status": "sleeping", "execution_config": ec([]any{}, map[string]any{"algorithm": "kmeans", "n_clusters": 0, "bogus": 1})},
			[]string{"body.execution_config.collection_ids too_short", "body.execution_config.config.bogus extra_forbidden", "body.execution_config.config.n_clusters greater_than_equal",
				"body.schedule_config.interval_seconds greater_than_equal", "body.schedule_config.start_immediately bool_type", "body.status enum"}},
		{"event", map[string]any{"trigger_type": "event", "schedule_config": map[string]any{"cooldown_seconds": -1, "collection_id": "nope", "event_type": "documents_deleted"}, "cluster_id": "c1"},
			[]string{"body.schedule_config.collection_id value_error", "body.schedule_config.cooldown_seconds greater_than_equal", "body.schedule_config.event_threshold missing", "body.schedule_config.event_type enum"}},
		{"event without a collection over two", map[string]any{"trigger_type": "event", "schedule_config": map[string]any{"event_threshold": 5},
			"execution_config": ec([]any{"one", "two"}, map[string]any{"algorithm": "kmeans", "n_clusters": 3})},
			[]string{"body.schedule_config.collection_id missing"}},
		{"drift metric", map[string]any{"trigger_type": "conditional", "schedule_config": map[string]any{"condition_type": "drift", "metric": "silhouette_score", "threshold": 0.3}, "cluster_id": "c1"},
			[]string{"body.schedule_config.metric value_error"}},
		{"quality threshold", map[string]any{"trigger_type": "conditional", "schedule_config": map[string]any{"condition_type": "quality", "threshold": 2, "check_interval_seconds": 0}, "cluster_id": "c1"},
			[]string{"body.schedule_config.check_interval_seconds greater_than_equal", "body.schedule_config.threshold value_error"}},
		{"drift on a pca cluster", map[string]any{"trigger_type": "conditional", "schedule_config": map[string]any{"condition_type": "drift", "threshold": 0.3}, "cluster_id": "pca"},
			[]string{"body.schedule_config.condition_type value_error"}},
		{"both", map[string]any{"trigger_type": "interval", "schedule_config": map[string]any{"interval_seconds": 60}, "cluster_id": "c1",
			"execution_config": ec([]any{"one"}, map[string]any{"algorithm": "kmeans"})}, []string{"body.execution_config value_error"}},
		{"execution_config semantics", map[string]any{"trigger_type": "interval", "schedule_config": map[string]any{"interval_seconds": 60},
			"execution_config": ec([]any{"one", "ghost"}, map[string]any{"algorithm": "kmedoids", "feature_uris": []any{"nope"}})},
			[]string{"body.execution_config.collection_ids.1 value_error", "body.execution_config.config.algorithm enum", "body.execution_config.config.feature_uris.0 value_error"}},
		{"algorithm twice", map[string]any{"trigger_type": "interval", "schedule_config": map[string]any{"interval_seconds": 60},
			"execution_config": ec([]any{"one"}, map[string]any{"algorithm": "kmeans", "clustering_method": "hdbscan"})},
			[]string{"body.execution_config.config.clustering_method value_error"}},
		{"attribute_based", map[string]any{"trigger_type": "interval", "schedule_config": map[string]any{"interval_seconds": 60},
			"execution_config": ec([]any{"one"}, map[string]any{"algorithm": "attribute_based"})},
			[]string{"body.execution_config.config.algorithm value_error"}},
		{"no algorithm", map[string]any{"trigger_type": "interval", "schedule_config": map[string]any{"interval_seconds": 60},
			"execution_config": ec([]any{"one"}, map[string]any{"n_clusters": 3, "algorithm_params": map[string]any{"n_clusters": 4}})},
			[]string{"body.execution_config.config.algorithm missing", "body.execution_config.config.n_clusters value_error"}},
		{"unknown trigger type", map[string]any{"trigger_type": "weekly", "schedule_config": map[string]any{"x": 1}, "cluster_id": "c1"}, []string{"body.trigger_type enum"}},
		{"not JSON", "{", []string{"body json_invalid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.call("POST", "/v1/clusters/triggers", tc.body)
			if got := problems(t, code, body); strings.Join(got, "; ") != strings.Join(tc.want, "; ") {
				t.Errorf("\n got %v\nwant %v\n%s", got, tc.want, body)
			}
		})
	}
	// A flat key also given in algorithm_params.
	code, body := e.call("POST", "/v1/clusters/triggers", map[string]any{"trigger_type": "interval", "schedule_config": map[string]any{"interval_seconds": 60},
		"execution_config": ec([]any{"one"}, map[string]any{"algorithm": "kmeans", "n_clusters": 3, "algorithm_params": map[string]any{"n_clusters": 4}})})
	if got := problems(t, code, body); strings.Join(got, ";") != "body.execution_config.config.n_clusters value_error" {
		t.Errorf("twice: %v", got)
	}
	// "hierarchical" is agglomerative, and min_cluster_size is accepted without effect where the algorithm has none.
	tr := e.create(map[string]any{"trigger_type": "interval", "schedule_config": map[string]any{"interval_seconds": 60},
		"execution_config": ec([]any{"one"}, map[string]any{"algorithm": "hierarchical", "n_clusters": 3, "min_cluster_size": 4})})
	var cl struct {
		Algorithm string `json:"algorithm"`
	}
	e.ok("GET", "/v1/clusters/"+*tr.ClusterID, nil, &cl)
	if cl.Algorithm != "agglomerative" {
		t.Errorf("hierarchical became %s", cl.Algorithm)
	}
	// Lists, history and patches validate too.
	code, body = e.call("POST", "/v1/clusters/triggers/list", map[string]any{"sort_by": "nope", "direction": "up", "limit": 0, "status": "asleep"})
	if got := problems(t, code, body); strings.Join(got, "; ") != "body.direction value_error; body.limit greater_than_equal; body.sort_by value_error; body.status enum" {
		t.Errorf("list: %v", got)
	}
	code, body = e.call("POST", "/v1/clusters/triggers/"+tr.TriggerID+"/history", map[string]any{"status_filter": "done", "offset": -1})
	if got := problems(t, code, body); strings.Join(got, "; ") != "body.offset greater_than_equal; body.status_filter value_error" {
		t.Errorf("history: %v", got)
	}
	code, body = e.call("PATCH", "/v1/clusters/triggers/"+tr.TriggerID, map[string]any{"trigger_type": "cron", "cluster_id": "c1",
		"schedule_config": map[string]any{"cron_expression": "0 * * * *"}, "status": "zzz"})
	want := "body.cluster_id extra_forbidden; body.schedule_config.cron_expression extra_forbidden; body.schedule_config.interval_seconds missing; body.status enum; body.trigger_type extra_forbidden"
	if got := problems(t, code, body); strings.Join(got, "; ") != want {
		t.Errorf("patch:\n got %v\nwant %v", got, want)
	}
	code, body = e.call("PATCH", "/v1/clusters/triggers/trg_nope", map[string]any{})
	checkError(t, code, body, http.StatusNotFound, "trigger_not_found")
}

// TestTriggerLifecycle: create, read, list, patch, pause, resume, fire
// through the queue, history, delete; every answer matches the contract.
func TestTriggerLifecycle(t *testing.T) {
	e := newTriggerEnv(t)
	e.smallCollection("docs", 90)
	var cl struct {
		ClusterID string `json:"cluster_id"`
	}
	e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"docs"}, "cluster_name": "topics",
		"vector_config": map[string]any{"clustering_method": "kmeans", "algorithm_params": map[string]any{"n_clusters": 3}}}, &cl)
	tr := e.create(map[string]any{"trigger_type": "interval", "schedule_config": map[string]any{"interval_seconds": 3600}, "cluster_id": "topics",
		"description": "hourly", "execution_config": nil, "status": "active"})
	if *tr.ClusterID != cl.ClusterID || !tr.NextScheduledAt.Equal(epoch.Add(time.Hour)) || tr.ScheduleConfig["start_immediately"] != false {
		t.Fatalf("created: %+v", tr)
	}
	e.clock.Add(time.Second)
	paused := e.create(map[string]any{"trigger_type": "cron", "schedule_config": map[string]any{"cron_expression": "@daily"}, "cluster_id": cl.ClusterID, "status": "paused"})
	if paused.NextScheduledAt != nil || *paused.PausedReason != "created paused" {
		t.Fatalf("created paused: %+v", paused)
	}
	e.do("GET", "/v1/clusters/triggers/"+tr.TriggerID, nil, http.StatusOK, triggerModel, nil)

	var list struct {
		Results       []trigger `json:"results"`
		Total         int       `json:"total"`
		Limit, Offset int
	}
	for _, tc := range []struct {
		body map[string]any
		want []string
	}{
		{map[string]any{}, []string{paused.TriggerID, tr.TriggerID}},
		{map[string]any{"direction": "asc"}, []string{tr.TriggerID, paused.TriggerID}},
		{map[string]any{"status": "active"}, []string{tr.TriggerID}},
		{map[string]any{"trigger_type": "cron", "cluster_id": "topics"}, []string{paused.TriggerID}},
		{map[string]any{"cluster_id": "other"}, nil},
		{map[string]any{"limit": 1, "offset": 1, "sort_by": "trigger_type", "direction": "asc", "cluster_id": nil, "status": nil, "trigger_type": nil}, []string{tr.TriggerID}},
	} {
		e.do("POST", "/v1/clusters/triggers/list", tc.body, http.StatusOK, triggerList, &list)
		var got []string
		for _, r := range list.Results {
			got = append(got, r.TriggerID)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("list %v: %v, want %v", tc.body, got, tc.want)
		}
	}
	if list.Total != 2 || list.Limit != 1 || list.Offset != 1 {
		t.Errorf("paging: %+v", list)
	}

	// Patch: the schedule takes effect at once, counted from now.
	e.clock.Add(10*time.Minute - time.Second)
	var got trigger
	e.do("PATCH", "/v1/clusters/triggers/"+tr.TriggerID, map[string]any{"description": "every 10 minutes", "schedule_config": map[string]any{"interval_seconds": 600}},
		http.StatusOK, triggerModel, &got)
	if *got.Description != "every 10 minutes" || !got.NextScheduledAt.Equal(epoch.Add(20*time.Minute)) || got.ScheduleConfig["interval_seconds"] != 600.0 {
		t.Fatalf("patched: %+v", got)
	}
	e.do("POST", "/v1/clusters/triggers/"+tr.TriggerID+"/pause", nil, http.StatusOK, triggerModel, &got)
	if got.Status != "paused" || got.NextScheduledAt != nil || *got.PausedReason != "paused by request" {
		t.Fatalf("paused: %+v", got)
	}
	e.clock.Add(time.Hour)
	if err := e.sched.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.do("POST", "/v1/clusters/triggers/"+tr.TriggerID+"/pause", nil, http.StatusOK, triggerModel, &got) // again: no change
	e.do("POST", "/v1/clusters/triggers/"+tr.TriggerID+"/resume", nil, http.StatusOK, triggerModel, &got)
	resumedAt := e.clock.Now()
	if got.Status != "active" || got.PausedReason != nil || !got.NextScheduledAt.Equal(resumedAt.Add(10*time.Minute)) || got.ExecutionCount != 0 {
		t.Fatalf("resumed: %+v", got)
	}

	// Fire: the run goes through the queue and the history follows it.
	e.clock.Add(10 * time.Minute)
	if err := e.sched.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.wait(cl.ClusterID)
	var hist struct {
		TriggerID  string `json:"trigger_id"`
		Executions []struct {
			JobID           string     `json:"job_id"`
			RunID           string     `json:"run_id"`
			Status          string     `json:"status"`
			TriggeredAt     time.Time  `json:"triggered_at"`
			ScheduledAt     *time.Time `json:"scheduled_at"`
			NumClusters     *int       `json:"num_clusters"`
			NumDocuments    *int       `json:"num_documents"`
			ExecutionTimeMS *int64     `json:"execution_time_ms"`
			Detail          string     `json:"detail"`
		} `json:"executions"`
		Total int `json:"total"`
	}
	e.do("POST", "/v1/clusters/triggers/"+tr.TriggerID+"/history", nil, http.StatusOK, triggerHistory, &hist)
	if hist.Total != 1 || hist.TriggerID != tr.TriggerID {
		t.Fatalf("history %+v", hist)
	}
	h := hist.Executions[0]
	if h.Status != "completed" || *h.NumClusters != 3 || *h.NumDocuments != 90 || h.ExecutionTimeMS == nil || !h.TriggeredAt.Equal(e.clock.Now()) ||
		!h.ScheduledAt.Equal(resumedAt.Add(10*time.Minute)) || h.Detail == "" {
		t.Fatalf("history item %+v", h)
	}
	var task struct {
		Status string            `json:"status"`
		Data   map[string]string `json:"additional_data"`
	}
	e.ok("GET", "/v1/tasks/"+h.JobID, nil, &task)
	if task.Status != "COMPLETED" || task.Data["run_id"] != h.RunID {
		t.Fatalf("the history's job: %+v", task)
	}
	if err := e.sched.Tick(context.Background()); err != nil { // settles the run on the trigger
		t.Fatal(err)
	}
	e.do("GET", "/v1/clusters/triggers/"+tr.TriggerID, nil, http.StatusOK, triggerModel, &got)
	if got.ExecutionCount != 1 || *got.LastExecutionStatus != "completed" || *got.LastExecutionJobID != h.JobID || !got.LastTriggeredAt.Equal(e.clock.Now()) {
		t.Fatalf("after firing: %+v", got)
	}
	for filter, n := range map[string]int{"completed": 1, "skipped": 0} {
		e.do("POST", "/v1/clusters/triggers/"+tr.TriggerID+"/history", map[string]any{"status_filter": filter, "limit": 10, "offset": 0}, http.StatusOK, triggerHistory, &hist)
		if hist.Total != n || len(hist.Executions) != n {
			t.Errorf("status_filter %s: %d", filter, hist.Total)
		}
	}
	metrics := string(e.ok("GET", "/metrics", nil, nil))
	for _, line := range []string{`clusterd_trigger_fires_total{trigger_type="interval"} 1`, `clusterd_trigger_skips_total{trigger_type="cron"} 0`} {
		if !strings.Contains(metrics, line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}

	// Delete: 204 without a body, then 404.
	code, body := e.call("DELETE", "/v1/clusters/triggers/"+tr.TriggerID, nil)
	if code != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("delete: %d %q", code, body)
	}
	for _, m := range []string{"GET", "DELETE"} {
		code, body = e.call(m, "/v1/clusters/triggers/"+tr.TriggerID, nil)
		checkError(t, code, body, http.StatusNotFound, "trigger_not_found")
	}
	code, body = e.call("POST", "/v1/clusters/triggers/"+tr.TriggerID+"/history", nil)
	checkError(t, code, body, http.StatusNotFound, "trigger_not_found")
	// Deleting the cluster deletes its remaining trigger.
	e.ok("DELETE", "/v1/clusters/"+cl.ClusterID, nil, nil)
	code, body = e.call("GET", "/v1/clusters/triggers/"+paused.TriggerID, nil)
	checkError(t, code, body, http.StatusNotFound, "trigger_not_found")
}

// TestTriggerFailuresPauseViaAPI: the configured number of failed runs in
// a row pauses the trigger, and the API says why.
func TestTriggerFailuresPauseViaAPI(t *testing.T) {
	e := newTriggerEnv(t) // MaxFailures 2
	e.smallCollection("docs", 30)
	// Filters that no document matches: every run fails (no documents).
	tr := e.create(map[string]any{"trigger_type": "interval", "schedule_config": map[string]any{"interval_seconds": 60, "start_immediately": true},
		"execution_config": map[string]any{"collection_ids": []string{"docs"}, "config": map[string]any{"algorithm": "kmeans", "n_clusters": 2,
			"filters": map[string]any{"payload.group": 99}}}})
	for range 3 {
		if err := e.sched.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.wait(*tr.ClusterID)
		e.clock.Add(time.Minute)
	}
	var got trigger
	e.do("GET", "/v1/clusters/triggers/"+tr.TriggerID, nil, http.StatusOK, triggerModel, &got)
	if got.Status != "paused" || got.ConsecutiveFailures != 2 || got.ExecutionCount != 2 || got.PausedReason == nil ||
		!strings.HasPrefix(*got.PausedReason, "paused after 2 consecutive failed runs") {
		t.Fatalf("after failing runs: %+v", got)
	}
	e.do("POST", "/v1/clusters/triggers/"+tr.TriggerID+"/resume", nil, http.StatusOK, triggerModel, &got)
	if got.Status != "active" || got.ConsecutiveFailures != 0 {
		t.Fatalf("resumed: %+v", got)
	}
}

// TestTriggerRoutesBesideClusters: /v1/clusters/triggers… and
// /v1/clusters/:cluster_id… both route, a cluster called "triggers"
// included.
func TestTriggerRoutesBesideClusters(t *testing.T) {
	e := newTriggerEnv(t)
	e.smallCollection("docs", 30)
	var cl struct {
		ClusterID   string `json:"cluster_id"`
		ClusterName string `json:"cluster_name"`
	}
	e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"docs"}, "cluster_name": "triggers",
		"vector_config": map[string]any{"clustering_method": "kmeans", "algorithm_params": map[string]any{"n_clusters": 2}}}, &cl)
	e.ok("GET", "/v1/clusters/triggers", nil, &cl)
	if cl.ClusterName != "triggers" {
		t.Fatalf("GET /v1/clusters/triggers: %+v", cl)
	}
	e.ok("PATCH", "/v1/clusters/triggers", map[string]any{"description": "named triggers"}, nil)
	e.ok("POST", "/v1/clusters/"+cl.ClusterID+"/execute", nil, nil)
	e.wait(cl.ClusterID)
	e.ok("GET", "/v1/clusters/"+cl.ClusterID+"/executions", nil, nil)
	e.ok("POST", "/v1/clusters/list", map[string]any{}, nil)
	tr := e.create(map[string]any{"trigger_type": "interval", "schedule_config": map[string]any{"interval_seconds": 60}, "cluster_id": "triggers"})
	e.do("GET", "/v1/clusters/triggers/"+tr.TriggerID, nil, http.StatusOK, triggerModel, nil)
	e.do("POST", "/v1/clusters/triggers/list", nil, http.StatusOK, triggerList, nil)
	code, body := e.call("PUT", "/v1/clusters/triggers", nil)
	if code != http.StatusMethodNotAllowed {
		t.Errorf("PUT /v1/clusters/triggers: %d %s", code, body)
	}
	e.ok("DELETE", "/v1/clusters/triggers", nil, nil) // the cluster, with its trigger
	code, body = e.call("GET", "/v1/clusters/triggers/"+tr.TriggerID, nil)
	checkError(t, code, body, http.StatusNotFound, "trigger_not_found")
}

// TestTriggerModelsMatchContract: the request models declare every field
// of the contract's, with its default and whether it is required, and no
// field the contract lacks; the responses carry every property of the
// contract's models; the enums are the contract's.
func TestTriggerModelsMatchContract(t *testing.T) {
	_, raw := triggerContract(t)
	schemas := raw["components"].(map[string]any)["schemas"].(map[string]any)
	for _, tc := range []struct {
		ours   *schema.Schema
		theirs string
	}{
		{model.CreateTriggerRequest, "shared__clusters__triggers__models__CreateTriggerRequest"},
		{model.UpdateTriggerRequest, "shared__clusters__triggers__models__UpdateTriggerRequest"},
		{model.ListTriggersRequest, "shared__clusters__triggers__models__ListTriggersRequest"},
		{model.TriggerHistoryRequest, "TriggerHistoryRequest"},
		{model.TriggerExecutionConfig, "TriggerExecutionConfig"},
	} {
		c := schemas[tc.theirs].(map[string]any)
		props := c["properties"].(map[string]any)
		if tc.ours.Name != tc.theirs {
			t.Errorf("%s is called %s", tc.theirs, tc.ours.Name)
		}
		for name, p := range props {
			f := tc.ours.Field(name)
			if f == nil {
				t.Errorf("%s.%s is not declared", tc.theirs, name)
				continue
			}
			if def, ok := p.(map[string]any)["default"]; ok {
				b, _ := json.Marshal(def)
				want, _ := schema.Parse(b)
				if !f.HasDefault || !schema.Equal(want, f.Default) {
					t.Errorf("%s.%s: default %v, the contract's %v", tc.theirs, name, f.Default, def)
				}
			}
		}
		req := map[string]bool{}
		if list, ok := c["required"].([]any); ok {
			for _, r := range list {
				req[r.(string)] = true
			}
		}
		for _, f := range tc.ours.Fields {
			if _, ok := props[f.Name]; !ok && !f.Extension {
				t.Errorf("%s.%s is not the contract's and not marked an extension", tc.theirs, f.Name)
			}
			if f.Required != req[f.Name] {
				t.Errorf("%s.%s: required %v, the contract's %v", tc.theirs, f.Name, f.Required, req[f.Name])
			}
		}
	}
	for _, tc := range []struct {
		ours   any
		theirs string
	}{
		{model.TriggerResponse{}, triggerModel},
		{model.TriggerHistoryItem{}, "TriggerExecutionHistoryItem"},
		{model.ListTriggersResponse{}, triggerList},
		{model.TriggerHistoryResponse{}, triggerHistory},
	} {
		b, _ := json.Marshal(tc.ours)
		var keys map[string]any
		json.Unmarshal(b, &keys)
		for name := range schemas[tc.theirs].(map[string]any)["properties"].(map[string]any) {
			if _, ok := keys[name]; !ok {
				t.Errorf("%T lacks the contract's %s.%s", tc.ours, tc.theirs, name)
			}
		}
	}
	for name, ours := range map[string][]string{"shared__clusters__triggers__models__TriggerType": model.TriggerTypes, "shared__clusters__triggers__models__TriggerStatus": model.TriggerStatuses} {
		var theirs []string
		for _, v := range schemas[name].(map[string]any)["enum"].([]any) {
			theirs = append(theirs, v.(string))
		}
		if strings.Join(theirs, ",") != strings.Join(ours, ",") {
			t.Errorf("%s: %v, the contract's %v", name, ours, theirs)
		}
	}
}
