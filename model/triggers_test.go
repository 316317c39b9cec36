package model

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/schema"
)

func parse(t *testing.T, s string) map[string]any {
	t.Helper()
	v, err := schema.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

func TestTranslateExecutionConfig(t *testing.T) {
	at := schema.Path{"body", "execution_config"}
	for _, tc := range []struct {
		name, config, want string
	}{
		{"Mixpeek's k-means example: min_cluster_size has no effect on k-means", `{"algorithm":"kmeans","n_clusters":5,"min_cluster_size":2}`,
			`{"collection_ids":["c"],"vector_config":{"algorithm_params":{"n_clusters":5},"clustering_method":"kmeans"}}`},
		{"HDBSCAN keeps min_cluster_size", `{"algorithm":"hdbscan","min_cluster_size":10,"min_samples":5}`,
			`{"collection_ids":["c"],"vector_config":{"algorithm_params":{"min_cluster_size":10,"min_samples":5},"clustering_method":"hdbscan"}}`},
		{"hierarchical is agglomerative", `{"algorithm":"hierarchical","n_clusters":3,"linkage":"average"}`,
			`{"collection_ids":["c"],"vector_config":{"algorithm_params":{"linkage":"average","n_clusters":3},"clustering_method":"agglomerative"}}`},
		{"vector fields, filters and labeling go where they belong", `{"clustering_method":"kmeans","feature_uris":["emb"],"sample_size":100,"filters":{"payload.x":1},"llm_labeling":{"enabled":false},"algorithm_params":{"n_init":2},"n_clusters":4}`,
			`{"collection_ids":["c"],"filters":{"payload.x":1},"llm_labeling":{"enabled":false},"vector_config":{"algorithm_params":{"n_clusters":4,"n_init":2},"clustering_method":"kmeans","feature_uris":["emb"],"sample_size":100}}`},
	} {
		req, ps, _ := TranslateExecutionConfig([]any{"c"}, parse(t, tc.config), at)
		got, _ := json.Marshal(req)
		if len(ps) > 0 || string(got) != tc.want {
			t.Errorf("%s:\n got %s %v\nwant %s", tc.name, got, ps, tc.want)
		}
		if ps := CreateClusterRequestModel.Validate(req, nil); len(ps) > 0 {
			t.Errorf("%s: the cluster definition is invalid: %v", tc.name, ps)
		}
	}
	// Problems of the definition are moved back to the keys the client wrote.
	req, _, relocate := TranslateExecutionConfig([]any{"c"}, parse(t, `{"clustering_method":"kmeans","n_clusters":0,"filters":{"AND":5},"sample_size":1}`), at)
	var locs []string
	for _, p := range relocate(CreateClusterRequestModel.Validate(req, at)) {
		locs = append(locs, p.Loc.String())
	}
	want := "body.execution_config.config.filters.AND body.execution_config.config.n_clusters body.execution_config.config.sample_size"
	if got := strings.Join(sortStrings(locs), " "); got != want {
		t.Errorf("relocated:\n got %s\nwant %s", got, want)
	}
}

func sortStrings(s []string) []string {
	sort.Strings(s)
	return s
}

// TestExecutionConfigRoundTrip: a cluster rendered as an execution_config
// translates back to the same algorithm, parameters and features.
func TestExecutionConfigRoundTrip(t *testing.T) {
	def := `{"collection_ids":["c"],"vector_config":{"clustering_method":"kmeans","feature_uris":["emb"],
		"algorithm_params":{"n_clusters":4,"init":"k-means++","n_init":10,"max_iter":300,"tol":0.0001,"random_state":42,"algorithm":"lloyd","copy_x":true,"verbose":0,"init_size":null}}}`
	cfg, err := DecodeClusterConfig([]byte(def))
	if err != nil {
		t.Fatal(err)
	}
	ec := ExecutionConfigOf(cfg)
	if ec.Config["algorithm"] != "kmeans" || strings.Join(ec.CollectionIDs, ",") != "c" {
		t.Fatalf("rendered %+v", ec)
	}
	b, _ := json.Marshal(ec.Config)
	req, ps, _ := TranslateExecutionConfig([]any{"c"}, parse(t, string(b)), nil)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	back, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cfg2, err := DecodeClusterConfig(back)
	if err != nil {
		t.Fatal(err)
	}
	// k-means' no-op "algorithm" parameter is left out (it would clash with
	// the method's key) and comes back as its default.
	p1, _ := schema.Parse(cfg.VectorConfig.AlgorithmParams)
	p2, _ := schema.Parse(cfg2.VectorConfig.AlgorithmParams)
	if cfg2.VectorConfig.ClusteringMethod != "kmeans" || !schema.Equal(p1, p2) || strings.Join(cfg2.VectorConfig.FeatureURIs, ",") != "emb" {
		t.Errorf("round trip:\n%s\n%s", cfg.VectorConfig.AlgorithmParams, cfg2.VectorConfig.AlgorithmParams)
	}
}

func TestScheduleModels(t *testing.T) {
	for _, tc := range []struct {
		typ, in, want string
	}{
		{TriggerCron, `{"cron_expression":"0 2 * * *"}`, `{"cron_expression":"0 2 * * *","timezone":"UTC"}`},
		{TriggerInterval, `{"interval_seconds":60}`, `{"interval_seconds":60,"start_immediately":false}`},
		{TriggerEvent, `{"event_threshold":5}`, `{"collection_id":null,"cooldown_seconds":0,"event_threshold":5,"event_type":"documents_added"}`},
		{TriggerConditional, `{"condition_type":"quality","threshold":0.2}`, `{"check_interval_seconds":3600,"condition_type":"quality","metric":"silhouette_score","threshold":0.2}`},
		{TriggerConditional, `{"condition_type":"drift","threshold":0.2}`, `{"check_interval_seconds":3600,"condition_type":"drift","metric":"cosine_drift","threshold":0.2}`},
	} {
		v := parse(t, tc.in)
		if ps := ScheduleModel(tc.typ).Validate(v, nil); len(ps) > 0 {
			t.Errorf("%s: %v", tc.in, ps)
		}
		got, _ := json.Marshal(CompleteSchedule(tc.typ, v))
		if string(got) != tc.want {
			t.Errorf("%s completed: %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		typ, in, want string
	}{
		{TriggerCron, `{"cron_expression":"0 25 * * *","timezone":5}`, "cron_expression value_error; timezone string_type"},
		{TriggerConditional, `{"condition_type":"quality","metric":"davies_bouldin_index","threshold":-1}`, "threshold value_error"},
		{TriggerConditional, `{"condition_type":"quality","metric":"cosine_drift","threshold":0.5}`, "metric value_error"},
		{TriggerConditional, `{"condition_type":"drift","threshold":2.5}`, "threshold value_error"},
		{TriggerInterval, `{"interval_seconds":400000000}`, "interval_seconds less_than_equal"},
	} {
		var got []string
		for _, p := range ScheduleModel(tc.typ).Validate(parse(t, tc.in), nil) {
			got = append(got, p.Loc.String()+" "+p.Type)
		}
		if strings.Join(sortStrings(got), "; ") != tc.want {
			t.Errorf("%s: %v, want %s", tc.in, got, tc.want)
		}
	}
}
