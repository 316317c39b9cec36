package runner

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/llm"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/schema"
	"github.com/clusterd/clusterd/store"
)

// fakeChat is an OpenAI-compatible chat completions server that records
// each prompt and answers what answer says for it.
type fakeChat struct {
	mu      sync.Mutex
	prompts []string // user messages, in arrival order
	system  []string
	bodies  []map[string]any
}

func newFakeChat(t *testing.T, answer func(user string) string) (*fakeChat, *llm.Labeler) {
	f := &fakeChat{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if r.URL.Path != "/v1/chat/completions" || json.NewDecoder(r.Body).Decode(&body) != nil {
			http.Error(w, "bad request", 400)
			return
		}
		msgs := body["messages"].([]any)
		sys := msgs[0].(map[string]any)["content"].(string)
		user := msgs[1].(map[string]any)["content"].(string)
		f.mu.Lock()
		f.prompts, f.system, f.bodies = append(f.prompts, user), append(f.system, sys), append(f.bodies, body)
		f.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": body["model"],
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": answer(user)}}}})
	}))
	t.Cleanup(srv.Close)
	lab, err := llm.New(llm.Config{OpenAIBaseURL: srv.URL + "/v1", OpenAIAPIKey: "sk-runner-test", MaxRetries: -1, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	return f, lab
}

// promptOf returns the first prompt containing marker.
func (f *fakeChat) promptOf(marker string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.prompts {
		if strings.Contains(p, marker) {
			return p
		}
	}
	return ""
}

// labelFixture stores six documents in one collection and makes the
// engine result of two clusters over their "emb" vectors:
//
//	cl_0: rows 0–3 around (1, 0); by distance to it 0, 1, 2, 3. Row 1 is a
//	      near duplicate of row 0 (cosine 0.99995), rows 2 and 3 are not
//	      (cosine with row 0: 0.949 and 0.923; with each other 0.754).
//	cl_1: rows 4–5 around (0, 1).
func labelFixture(t *testing.T) (*store.Store, *dataset, *engine.Result) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenWith(store.Options{Dir: t.TempDir(), MapBytes: 1}) // runs map their vectors
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ns, err := st.ResolveNamespace(ctx, "", true)
	if err != nil {
		t.Fatal(err)
	}
	col, err := st.CreateCollection(ctx, ns.ID, "docs", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	emb := []float32{1, 0, 1, 0.01, 0.9, 0.3, 1.2, -0.5, 0, 1, 0.1, 1}
	payloads := []string{
		`{"text": "espresso beans roast", "content": {"title": "Espresso 101"}, "thumb": "https://img.example/e.jpg?w=1&h=2"}`,
		`{"text": "espresso beans grinder", "content": {"title": "Espresso 102"}}`,
		`{"text": "espresso crema", "content": {"title": "Crema"}}`,
		`{"text": "espresso shot", "content": {"title": "Shots"}}`,
		`{"text": "marathon pace plan", "content": {"title": "Pacing"}}`,
		`{"text": "marathon shoes", "content": {"title": 5}}`,
	}
	clip := [][]float32{{3, 4, 0}, {0, 0, 2}, {1, 1, 1}, {1, 0, 0}, nil, {0, 1, 0}}
	var docs []store.DocumentInput
	ids := []string{"d0", "d1", "d2", "d3", "d4", "d5"}
	for i, id := range ids {
		feats := map[string][]float32{"emb": emb[2*i : 2*i+2]}
		if clip[i] != nil {
			feats["clip"] = clip[i]
		}
		docs = append(docs, store.DocumentInput{ID: id, Features: feats, Payload: json.RawMessage(payloads[i])})
	}
	if _, err := st.Upsert(ctx, col.ID, &store.SliceSource{Docs: docs}); err != nil {
		t.Fatal(err)
	}
	data := &dataset{X: emb, N: 6, D: 2, IDs: ids, Sources: []source{{CollectionID: col.ID, Start: 0, End: 6}}}
	res := &engine.Result{Labels: []int32{0, 0, 0, 0, 1, 1}, NumClusters: 2,
		Clusters: []engine.Cluster{{Label: 0, ID: "cl_0", Members: 4, Centroid: []float32{1, 0}}, {Label: 1, ID: "cl_1", Members: 2, Centroid: []float32{0, 1}}},
		Vectors:  engine.Input{X: emb, N: 6, D: 2}}
	return st, data, res
}

// llmConfig completes an llm_labeling object with the contract's defaults.
func llmConfig(t *testing.T, raw string) *model.CreateClusterRequest {
	t.Helper()
	v, problems := model.LLMLabelingModel.Decode([]byte(raw), schema.Path{"llm_labeling"})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	var l model.LLMLabeling
	if err := schema.Into(v, &l); err != nil {
		t.Fatal(err)
	}
	return &model.CreateClusterRequest{LLMLabeling: &l}
}

// TestLLMLabelingInputs runs the runner's labeling against a fake LLM and
// checks what the prompts hold for each kind of labeling_inputs, the
// embedding dedup, and how answers reach the centroids.
func TestLLMLabelingInputs(t *testing.T) {
	labelAnswer := func(user string) string {
		if strings.Contains(user, "spresso") {
			return `{"label": "Coffee", "summary": "About coffee.", "keywords": ["coffee"]}`
		}
		return `{"label": "Running", "summary": "About running.", "keywords": ["running"]}`
	}
	cases := []struct {
		name   string
		config string
		answer func(user string) string
		// wantDocs are the document lines of cl_0's prompt.
		wantDocs string
		// wantHints is the keyword line of cl_0's prompt ("" for none).
		wantHints string
		wantLabel map[string]string
		wantMeta  map[string]map[string]any
		wantErrs  []string
	}{
		{
			name:   "whole payload",
			config: `{"enabled": true, "max_samples_per_cluster": 2}`,
			answer: labelAnswer,
			wantDocs: `1. {"text":"espresso beans roast","content":{"title":"Espresso 101"},"thumb":"https://img.example/e.jpg?w=1&h=2"}` + "\n" +
				`2. {"text":"espresso beans grinder","content":{"title":"Espresso 102"}}` + "\n",
			wantHints: "espresso",
			wantLabel: map[string]string{"cl_0": "Coffee", "cl_1": "Running"},
		},
		{
			name: "payload, literal and vector inputs",
			config: `{"enabled": true, "max_samples_per_cluster": 2, "labeling_inputs": {"input_mappings": [
				{"input_key": "title", "source_type": "payload", "path": "content.title"},
				{"input_key": "image_url", "source_type": "payload", "path": "thumb"},
				{"input_key": "lang", "source_type": "literal", "override": "en"},
				{"input_key": "clip", "source_type": "vector", "path": "features.clip"}]}}`,
			answer: labelAnswer,
			wantDocs: `1. {"title":"Espresso 101","image_url":"https://img.example/e.jpg?w=1&h=2","lang":"en","clip":{"dim":3,"norm":5,"head":[3,4,0]}}` + "\n" +
				`2. {"title":"Espresso 102","lang":"en","clip":{"dim":3,"norm":2,"head":[0,0,2]}}` + "\n",
			// TF-IDF reads the string values of the payload mappings: the
			// titles and the URL, not payload.text ("beans", "roast").
			wantHints: "espresso, crema, example, https, img, jpg, shots\n",
			wantLabel: map[string]string{"cl_0": "Coffee", "cl_1": "Running"},
		},
		{
			name: "embedding dedup fills up from the next candidates",
			config: `{"enabled": true, "max_samples_per_cluster": 2, "use_embedding_dedup": true, "embedding_similarity_threshold": 0.99,
				"labeling_inputs": {"input_mappings": [{"input_key": "title", "path": "content.title"}]}}`,
			answer:    labelAnswer,
			wantDocs:  `1. {"title":"Espresso 101"}` + "\n" + `2. {"title":"Crema"}` + "\n",
			wantHints: "espresso",
			wantLabel: map[string]string{"cl_0": "Coffee", "cl_1": "Running"},
		},
		{
			name: "embedding dedup with a low threshold keeps what it can",
			config: `{"enabled": true, "max_samples_per_cluster": 3, "use_embedding_dedup": true, "embedding_similarity_threshold": 0.9,
				"labeling_inputs": {"input_mappings": [{"input_key": "title", "path": "content.title"}]}}`,
			answer: labelAnswer,
			// Rows 1 (0.99995), 2 (0.949) and 3 (0.923) are all within 0.9 of row 0.
			wantDocs:  `1. {"title":"Espresso 101"}` + "\n",
			wantHints: "espresso",
			wantLabel: map[string]string{"cl_0": "Coffee", "cl_1": "Running"},
		},
		{
			name: "response_shape",
			config: `{"enabled": true, "max_samples_per_cluster": 1, "response_shape": {"type": "object",
				"properties": {"label": {"type": "string"}, "category": {"type": "string"}, "confidence": {"type": "number", "maximum": 1}},
				"required": ["label", "category", "confidence"]}}`,
			answer: func(user string) string {
				if strings.Contains(user, "spresso") {
					return `{"label": "Coffee", "category": "drinks", "confidence": 0.75}`
				}
				return `{"label": "Running", "category": "sport", "confidence": 2}`
			},
			wantDocs:  `1. {"text":"espresso beans roast","content":{"title":"Espresso 101"},"thumb":"https://img.example/e.jpg?w=1&h=2"}` + "\n",
			wantHints: "espresso",
			// cl_1's answer breaks the shape: it keeps its TF-IDF label.
			wantLabel: map[string]string{"cl_0": "Coffee", "cl_1": "Marathon, Pace, Plan"},
			wantMeta:  map[string]map[string]any{"cl_0": {"label": "Coffee", "category": "drinks", "confidence": json.Number("0.75")}},
			wantErrs:  []string{`{"error":"openai: invalid answer: the answer does not follow response_shape: jsonschema validation failed with 'mem:///response_shape.json#'; at '/confidence': maximum: got 2, want 1","clusters":["cl_1"]}`},
		},
		{
			name: "a vector input the collection lacks",
			config: `{"enabled": true, "max_samples_per_cluster": 1, "labeling_inputs": {"input_mappings": [
				{"input_key": "title", "path": "content.title"}, {"input_key": "v", "source_type": "vector", "path": "nope"}]}}`,
			answer:    labelAnswer,
			wantDocs:  `1. {"title":"Espresso 101"}` + "\n",
			wantHints: "espresso",
			wantLabel: map[string]string{"cl_0": "Coffee", "cl_1": "Running"},
		},
		{
			name: "no content",
			config: `{"enabled": true, "labeling_inputs": {"input_mappings": [
				{"input_key": "x", "path": "absent"}, {"input_key": "lang", "source_type": "literal", "override": "en"}]}}`,
			answer:    labelAnswer,
			wantLabel: map[string]string{},
			wantErrs:  []string{`{"error":"no representative documents or keywords to label from","clusters":["cl_0","cl_1"]}`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, data, res := labelFixture(t)
			f, lab := newFakeChat(t, tc.answer)
			r := &Runner{cfg: Config{Store: st, LLM: lab}}
			labels, errs, err := r.labelClusters(context.Background(), data, res, llmConfig(t, tc.config))
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "a vector input the collection lacks" {
				want := `{"clusters":["cl_0","cl_1"],"error":"labeling_inputs.input_mappings[1] (v): collection ` + data.Sources[0].CollectionID + `: Feature extractor 'nope' not found in collection ` + data.Sources[0].CollectionID + ` (it has: clip, emb)"}`
				tc.wantErrs = []string{want}
			}
			if !reflect.DeepEqual(errs, tc.wantErrs) {
				t.Errorf("llm_labeling_errors = %q\nwant %q", errs, tc.wantErrs)
			}
			got := map[string]string{}
			for id, l := range labels {
				if l.Label != nil {
					got[id] = *l.Label
				}
			}
			if !reflect.DeepEqual(got, tc.wantLabel) {
				t.Errorf("labels = %v, want %v", got, tc.wantLabel)
			}
			if tc.wantDocs != "" {
				p := f.promptOf("Espresso 101")
				if !strings.Contains(p, "Representative documents:\n"+tc.wantDocs+"\n") {
					t.Errorf("cl_0's prompt:\n%s\nwant documents:\n%s", p, tc.wantDocs)
				}
				if hints := "Keywords of the cluster (TF-IDF, as hints): "; !strings.Contains(p, hints+tc.wantHints) {
					t.Errorf("cl_0's prompt lacks the hint %q:\n%s", tc.wantHints, p)
				}
			}
			out := &model.ExecutionResult{Centroids: []model.ExecutionCentroid{{ClusterID: "cl_0"}, {ClusterID: "cl_1"}}}
			applyLabels(out, labels)
			for _, c := range out.Centroids {
				if want := tc.wantMeta[c.ClusterID]; !reflect.DeepEqual(c.Metadata, want) {
					t.Errorf("%s metadata = %v, want %v", c.ClusterID, c.Metadata, want)
				}
			}
		})
	}
}

// TestSamplerDedupOff checks that without use_embedding_dedup the most
// representative members are taken as they come, and that members with no
// content are passed over.
func TestSamplerDedupOff(t *testing.T) {
	st, data, res := labelFixture(t)
	cfg := llmConfig(t, `{"enabled": true, "max_samples_per_cluster": 3, "labeling_inputs": {"input_mappings": [{"input_key": "v", "source_type": "vector", "path": "clip"}]}}`)
	s, err := newSampler(st, data, res.Vectors, cfg.LLMLabeling)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.samples(context.Background(), []int{4, 0, 1})
	if err != nil {
		t.Fatal(err)
	}
	// Row 4 has no clip vector: skipped.
	want := []llm.Sample{{{Key: "v", Value: llm.Vector{3, 4, 0}}}, {{Key: "v", Value: llm.Vector{0, 0, 2}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("samples = %v, want %v", got, want)
	}
}

// TestMemberMeansMatchRepresentative: the one-pass means of disjoint
// clusters are bit for bit the per-cluster representative means; clusters
// that share rows (sub-clusters) get none.
func TestMemberMeansMatchRepresentative(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const n, d, k = 3000, 7, 11
	b := block{Name: "f", D: d, X: make([]float32, n*d)}
	for i := range b.X {
		b.X[i] = float32(rng.NormFloat64() * 100)
	}
	members := make([][]int, k+1) // the last cluster stays empty
	for i := 0; i < n; i++ {
		if j := rng.IntN(k + 3); j < k { // some rows are noise
			members[j] = append(members[j], i)
		}
	}
	means := memberMeans(b, members)
	if len(means) != len(members) {
		t.Fatalf("%d means for %d clusters", len(means), len(members))
	}
	for j, rows := range members {
		want := representative(b, rows, "mean", nil, engine.Input{})
		if !slices.Equal(means[j], want) {
			t.Fatalf("cluster %d: %v, want %v", j, means[j], want)
		}
	}
	shared := [][]int{{0, 1, 2}, {2, 3}}
	if m := memberMeans(b, shared); m != nil {
		t.Fatalf("clusters sharing a row got means %v", m)
	}
}
