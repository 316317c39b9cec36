package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/clusterd/clusterd/llm"
)

// fakeOpenAI answers chat completions like OpenAI does, naming a cluster
// after the first word of its first representative document's text; it fails with
// HTTP 500 for prompts containing "marathon".
func fakeOpenAI(t *testing.T, calls *atomic.Int32) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-test-key" {
			http.Error(w, "bad request", 400)
			return
		}
		var req struct {
			Model    string
			Messages []struct{ Role, Content string }
		}
		json.NewDecoder(r.Body).Decode(&req)
		prompt := req.Messages[len(req.Messages)-1].Content
		if strings.Contains(prompt, "marathon") {
			http.Error(w, `{"error":{"message":"upstream overloaded"}}`, 500)
			return
		}
		word := "Topic"
		if i := strings.Index(prompt, "1. "); i >= 0 {
			// Without labeling_inputs each document is its payload's JSON.
			line, _, _ := strings.Cut(prompt[i+3:], "\n")
			var doc struct{ Text string }
			if json.Unmarshal([]byte(line), &doc) == nil && doc.Text != "" {
				line = doc.Text
			}
			word = strings.Fields(line)[0]
		}
		answer := `{"label": "All about ` + word + `", "summary": "Documents on ` + word + `.", "keywords": ["` + word + `"]}`
		json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": "```json\n" + answer + "\n```"}}}})
	}))
}

// TestLLMLabeling: clusters get the provider's labels; a cluster whose call
// fails keeps its TF-IDF label, the run still completes, and the failure is
// in llm_labeling_errors.
func TestLLMLabeling(t *testing.T) {
	var calls atomic.Int32
	srv := fakeOpenAI(t, &calls)
	defer srv.Close()
	lab, err := llm.New(llm.Config{OpenAIBaseURL: srv.URL + "/v1", OpenAIAPIKey: "sk-test-key", MaxRetries: 1, BackoffBase: 1, BackoffMax: 1})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOpts{llm: lab})
	docs := []map[string]any{}
	for i, text := range []string{"espresso beans", "espresso roast", "espresso grinder", "marathon pace", "marathon shoes", "marathon plan"} {
		v := []float32{0, 0}
		v[i/3] = 10 + float32(i%3)
		docs = append(docs, map[string]any{"document_id": string(rune('a' + i)), "features": map[string]any{"emb": v}, "payload": map[string]any{"text": text}})
	}
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "c"}, nil)
	e.ok("POST", "/v1/collections/c/documents", map[string]any{"documents": docs}, nil)
	var cl struct {
		ClusterID string `json:"cluster_id"`
	}
	e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"c"}, "llm_labeling": map[string]any{"enabled": true, "model_name": "gpt-4o-mini"},
		"vector_config": map[string]any{"clustering_method": "kmeans", "algorithm_params": map[string]any{"n_clusters": 2}}}, &cl)
	e.ok("POST", "/v1/clusters/"+cl.ClusterID+"/execute", nil, nil)
	res := e.wait(cl.ClusterID)
	if res.Status != "completed" {
		t.Fatalf("%v", res)
	}
	labels := map[string]string{}
	for _, c := range res.Centroids {
		labels[c.ClusterID] = str(c.Label)
	}
	var espresso, marathon string
	for id, l := range labels {
		if strings.Contains(strings.ToLower(l), "espresso") {
			espresso = id
		} else {
			marathon = id
		}
	}
	if labels[espresso] != "All about espresso" || !strings.Contains(labels[marathon], "Marathon") {
		t.Fatalf("labels %v", labels)
	}
	errs := res.LLMLabelingErrors
	if len(errs) != 1 {
		t.Fatalf("llm_labeling_errors %v", errs)
	}
	var entry struct {
		Error    string
		Clusters []string
	}
	if err := json.Unmarshal([]byte(errs[0]), &entry); err != nil || len(entry.Clusters) != 1 || entry.Clusters[0] != marathon || !strings.Contains(entry.Error, "HTTP 500") {
		t.Fatalf("llm_labeling_errors entry %s (%v)", errs[0], err)
	}
	if strings.Contains(string(mustJSON(res)), "sk-test-key") {
		t.Fatal("the API key leaked into the execution")
	}
}
