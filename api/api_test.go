package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clusterd/clusterd/api"
	"github.com/clusterd/clusterd/dispatch"
	"github.com/clusterd/clusterd/internal/seedschema"
	"github.com/clusterd/clusterd/llm"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/runner"
	"github.com/clusterd/clusterd/store"
	"github.com/clusterd/clusterd/telemetry"
)

// env is a running server over a real SQLite store in a temporary directory.
type env struct {
	t      *testing.T
	url    string
	store  *store.Store
	runner *runner.Runner
	key    string
}

type envOpts struct {
	keys     string
	llm      *llm.Labeler
	backends *dispatch.Manager
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := telemetry.New(reg)
	bm := o.backends
	if bm == nil {
		if bm, err = dispatch.New(dispatch.Options{Mode: dispatch.ModeCPU}); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	run := runner.New(runner.Config{Store: st, Backends: bm, Metrics: m, Logger: log, Poll: 20 * time.Millisecond, LLM: o.llm})
	if err := run.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	keys, err := api.ParseAPIKeys(o.keys)
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{Store: st, Runner: run, Backends: bm, Metrics: m, Gatherer: reg, Logger: log, APIKeys: keys, MaxBodyBytes: 8 << 20})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		run.Stop(context.Background())
		st.Close()
	})
	e := &env{t: t, url: hs.URL, store: st, runner: run}
	if len(keys) > 0 {
		e.key = keys[0].Key
	}
	return e
}

// call does a request and returns the status and body. body may be a
// string, []byte or a value marshalled as JSON.
func (e *env) call(method, path string, body any, headers ...string) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		r = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.url+path, r)
	if r != nil {
		req.Header.Set("Content-Type", ct)
	}
	if e.key != "" {
		req.Header.Set("Authorization", "Bearer "+e.key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// ok does a request that must succeed and decodes its JSON into v (if non-nil).
func (e *env) ok(method, path string, body any, v any, headers ...string) []byte {
	e.t.Helper()
	code, out := e.call(method, path, body, headers...)
	if code != http.StatusOK {
		e.t.Fatalf("%s %s: %d %s", method, path, code, out)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, out)
		}
	}
	return out
}

// checkError asserts an error response's status and that its body matches
// the seed's schema for it (ErrorResponse, or HTTPValidationError for 422).
func checkError(t *testing.T, code int, body []byte, want int, contains string) {
	t.Helper()
	if code != want {
		t.Fatalf("status %d, want %d: %s", code, want, body)
	}
	schema := "ErrorResponse"
	if code == http.StatusUnprocessableEntity {
		schema = "HTTPValidationError"
	}
	if err := seedschema.Validate(schema, body); err != nil {
		t.Fatalf("%d body does not match the seed's %s: %v\n%s", code, schema, err, body)
	}
	if !strings.Contains(string(body), contains) {
		t.Fatalf("body %s does not contain %q", body, contains)
	}
}

// checkExecution validates an execution against the seed's schema.
func checkExecution(t *testing.T, body []byte) {
	t.Helper()
	if err := seedschema.Validate("ClusterExecutionResult", body); err != nil {
		t.Fatalf("execution does not match the seed's ClusterExecutionResult: %v\n%s", err, body)
	}
}

// blobDocs makes n documents around k separated centres in d dimensions.
func blobDocs(n, d, k int, seed uint64) []map[string]any {
	r := rand.New(rand.NewPCG(seed, 3))
	centres := make([][]float32, k)
	for j := range centres {
		centres[j] = make([]float32, d)
		for t := range centres[j] {
			centres[j][t] = float32(r.NormFloat64() * 8)
		}
	}
	words := []string{"alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"}
	docs := make([]map[string]any, n)
	for i := range docs {
		c := i % k
		v := make([]float32, d)
		for t := range v {
			v[t] = centres[c][t] + float32(r.NormFloat64())
		}
		docs[i] = map[string]any{"document_id": fmt.Sprintf("doc_%d", i), "features": map[string]any{"emb": v},
			"payload": map[string]any{"text": words[c%len(words)] + " document number " + fmt.Sprint(i), "group": c}}
	}
	return docs
}

// setup creates a collection with docs and a k-means cluster over it.
func (e *env) setup(name string, docs []map[string]any, params string) string {
	e.t.Helper()
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": name}, nil)
	for lo := 0; lo < len(docs); lo += 5000 {
		e.ok("POST", "/v1/collections/"+name+"/documents", map[string]any{"documents": docs[lo:min(len(docs), lo+5000)]}, nil)
	}
	var cl struct {
		ClusterID string `json:"cluster_id"`
	}
	e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{name}, "cluster_name": name + "-clusters",
		"vector_config": map[string]any{"clustering_method": "kmeans", "algorithm_params": json.RawMessage(params)}}, &cl)
	return cl.ClusterID
}

// wait polls the latest execution until it is completed or failed and
// returns it, checked against the seed's schema and decoded strictly (an
// unknown field fails the test) into the wire type.
func (e *env) wait(clusterID string) model.ExecutionResult {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		body := e.ok("GET", "/v1/clusters/"+clusterID+"/executions", nil, nil)
		checkExecution(e.t, body)
		res := decodeStrict[model.ExecutionResult](e.t, body)
		if res.Status == model.StatusCompleted || res.Status == model.StatusFailed {
			return res
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatal("run did not finish in 60 s")
	return model.ExecutionResult{}
}

// decodeStrict decodes a response into its wire type, refusing fields the
// type does not have (so a test notices when the two drift).
func decodeStrict[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %T: %v\n%s", v, err, body)
	}
	return v
}

// str reads an optional string ("" for nil).
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
