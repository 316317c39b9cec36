package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/config"
	"github.com/clusterd/clusterd/internal/ari"
	"github.com/clusterd/clusterd/internal/npy"
	"github.com/clusterd/clusterd/internal/pgtest"
	"github.com/clusterd/clusterd/internal/seedschema"
	"github.com/clusterd/clusterd/triggers"
)

var binary string

// TestMain builds the clusterd binary once; the tests run it as a user would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "clusterd-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "clusterd")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := pgtest.Main(m) // stops the PostgreSQL server a test started
	os.RemoveAll(dir)
	os.Exit(code)
}

// clusterd runs the binary and returns stdout, stderr and the exit status.
func clusterd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

const blobs = "../../engine/testdata/blobs.npy"

func TestFitNpy(t *testing.T) {
	dir := t.TempDir()
	labelsOut, output := filepath.Join(dir, "labels.npy"), filepath.Join(dir, "result.json")
	_, stderr, code := clusterd(t, "fit", "--input", blobs, "--algorithm", "kmeans",
		"--params", `{"n_clusters":8,"n_init":1,"max_iter":20,"tol":0}`, "--seed", "42", "--backend", "auto",
		"--labels-out", labelsOut, "--output", output)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "iteration") || !strings.Contains(stderr, "points/s") {
		t.Errorf("no progress on stderr:\n%s", stderr)
	}
	body, err := os.ReadFile(output)
	if err != nil {
		t.Fatal(err)
	}
	if err := seedschema.Validate("ClusterExecutionResult", body); err != nil {
		t.Fatalf("result does not match the seed's ClusterExecutionResult: %v\n%s", err, body)
	}
	var res struct {
		Status      string
		NumClusters int `json:"num_clusters"`
		NumPoints   int `json:"num_points"`
		Algorithm   string
		Backend     string
		Fallback    *string `json:"backend_fallback_reason"`
		Metrics     map[string]float64
		Stats       map[string]any
		Centroids   []map[string]any
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	if res.Status != "completed" || res.NumClusters != 8 || res.NumPoints != 3000 || res.Algorithm != "kmeans" || res.Backend != "cpu" {
		t.Fatalf("result: %+v", res)
	}
	if res.Fallback == nil || *res.Fallback == "" {
		t.Error("--backend auto on a machine without a GPU must record backend_fallback_reason")
	}
	for _, key := range []string{"iterations", "inertia", "n_init_used", "duration_seconds", "points_per_second", "metrics_sample_size", "seed", "parameters"} {
		if _, ok := res.Stats[key]; !ok {
			t.Errorf("stats has no %q", key)
		}
	}
	if res.Stats["seed"].(float64) != 42 || len(res.Centroids) != 8 {
		t.Errorf("seed %v, %d centroids", res.Stats["seed"], len(res.Centroids))
	}
	labels, err := npy.ReadInt32File(labelsOut)
	if err != nil {
		t.Fatal(err)
	}
	truth, _ := npy.ReadInt32File("../../engine/testdata/blobs.truth.npy")
	if a := ari.Index(labels, truth); a != 1 {
		t.Errorf("ARI %.4f against the ground truth", a)
	}
}

func TestFitNDJSON(t *testing.T) {
	dir := t.TempDir()
	x, n, d, err := npy.ReadMatrixFile(blobs)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for i := 0; i < n; i++ {
		doc := map[string]any{"document_id": fmt.Sprintf("doc_%d", i), "features": map[string]any{"emb": x[i*d : (i+1)*d]}, "payload": map[string]any{"text": "t"}}
		b, _ := json.Marshal(doc)
		buf.Write(append(b, '\n'))
	}
	in := filepath.Join(dir, "docs.ndjson")
	os.WriteFile(in, buf.Bytes(), 0o644)
	stdout, stderr, code := clusterd(t, "fit", "--input", in, "--feature", "emb", "--params", `{"n_clusters":8}`, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("--quiet printed: %s", stderr)
	}
	if err := seedschema.Validate("ClusterExecutionResult", []byte(stdout)); err != nil {
		t.Fatal(err)
	}
}

// TestFitBadInput: bad arguments and bad input exit 2 with a one-line reason.
func TestFitBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	nan := write("nan.ndjson", `{"document_id":"a","features":{"e":[1,2]}}`+"\n"+`{"document_id":"b","features":{"e":[3,4]}}`+"\n"+`{"document_id":"c","features":{"e":[1e39,4]}}`+"\n")
	one := write("one.ndjson", `{"document_id":"a","features":{"e":[1,2]}}`+"\n")
	ragged := write("ragged.ndjson", `{"features":{"e":[1,2]}}`+"\n"+`{"features":{"e":[1]}}`+"\n")
	npyDir := "../../internal/npy/testdata/"
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"no_input", []string{"fit"}, "--input is required"},
		{"params_not_json", []string{"fit", "--input", blobs, "--params", "{n_clusters:3}"}, "--params is not valid JSON"},
		{"unknown_param", []string{"fit", "--input", blobs, "--params", `{"clusters":3}`}, "clusters: Extra inputs are not permitted"},
		{"k_zero", []string{"fit", "--input", blobs, "--params", `{"n_clusters":0}`}, "n_clusters: Input should be greater than or equal to 1"},
		{"k_too_big", []string{"fit", "--input", blobs, "--params", `{"n_clusters":3001}`}, "more than the 3000 points"},
		{"unknown_algorithm", []string{"fit", "--input", blobs, "--algorithm", "kmedians"}, "unknown clustering algorithm"},
		{"bad_backend", []string{"fit", "--input", blobs, "--backend", "tpu"}, "--backend must be auto, cpu or gpu"},
		{"gpu_missing", []string{"fit", "--input", blobs, "--backend", "gpu"}, "no usable GPU"},
		{"bad_seed", []string{"fit", "--input", blobs, "--seed", "x"}, "--seed must be"},
		{"missing_file", []string{"fit", "--input", filepath.Join(dir, "nope.npy")}, "no such file"},
		{"one_d", []string{"fit", "--input", npyDir + "f4_1d.npy"}, "need a 2-D array"},
		{"three_d", []string{"fit", "--input", npyDir + "f4_3d.npy"}, "need a 2-D array"},
		{"dtype", []string{"fit", "--input", npyDir + "i4_2d.npy"}, "unsupported dtype"},
		{"truncated", []string{"fit", "--input", npyDir + "f4_truncated.npy"}, "truncated"},
		{"empty", []string{"fit", "--input", npyDir + "f4_0x3.npy"}, "empty matrix"},
		{"infinite", []string{"fit", "--input", nan, "--params", `{"n_clusters":2}`}, `line 3`},
		{"one_point", []string{"fit", "--input", one}, "Insufficient documents for clustering: need at least 2 documents, found 1"},
		{"ragged", []string{"fit", "--input", ragged}, "dimension 1, earlier documents have 2"},
		{"unknown_command", []string{"fitt"}, "unknown command"},
		{"min_cluster_size", []string{"fit", "--input", blobs, "--algorithm", "hdbscan", "--params", `{"min_cluster_size":1}`}, "min_cluster_size"},
		{"eps", []string{"fit", "--input", blobs, "--algorithm", "dbscan", "--params", `{"eps":-1}`}, "eps"},
		{"linkage", []string{"fit", "--input", blobs, "--algorithm", "agglomerative", "--params", `{"linkage":"centroid"}`}, "linkage"},
		{"ward_cosine", []string{"fit", "--input", blobs, "--algorithm", "agglomerative", "--params", `{"linkage":"ward","metric":"cosine"}`}, "ward"},
		{"both_cuts", []string{"fit", "--input", blobs, "--algorithm", "agglomerative", "--params", `{"n_clusters":3,"distance_threshold":2}`}, "distance_threshold"},
		{"pca_too_wide", []string{"fit", "--input", blobs, "--pipeline", `{"preprocessing_steps":[{"method":"pca","n_components":17}]}`}, "n_components = 17 is more than the 16 dimensions"},
		{"sample_too_small", []string{"fit", "--input", blobs, "--pipeline", `{"sample_size":1}`}, "--pipeline.sample_size: Input should be greater than or equal to 2"},
		{"pipeline_unknown", []string{"fit", "--input", blobs, "--pipeline", `{"sample":5}`}, "--pipeline"},
		{"gmm_components", []string{"fit", "--input", blobs, "--algorithm", "gaussian_mixture", "--params", `{"n_components":3001}`}, "n_components = 3001 is more than the 3000 points"},
		{"gmm_covariance", []string{"fit", "--input", blobs, "--algorithm", "gaussian_mixture", "--params", `{"covariance_type":"block"}`}, "covariance_type"},
		{"gmm_singular", []string{"fit", "--input", blobs, "--algorithm", "gaussian_mixture", "--params", `{"n_components":8,"reg_covar":0,"init_params":"random_from_data"}`}, "increase reg_covar"},
		{"gmm_means_dim", []string{"fit", "--input", blobs, "--algorithm", "gaussian_mixture", "--params", `{"n_components":1,"means_init":[[1,2]]}`}, "means_init"},
		{"spectral_precomputed", []string{"fit", "--input", blobs, "--algorithm", "spectral", "--params", `{"affinity":"precomputed"}`}, "precomputed takes a user-supplied"},
		{"spectral_neighbors", []string{"fit", "--input", blobs, "--algorithm", "spectral", "--params", `{"affinity":"nearest_neighbors","n_neighbors":0}`}, "n_neighbors"},
		{"mean_shift_seeds", []string{"fit", "--input", blobs, "--algorithm", "mean_shift", "--params", `{"seeds":[[1,2]]}`}, "seeds are 2-dimensional; the vectors are 16-dimensional"},
		{"mean_shift_far", []string{"fit", "--input", blobs, "--algorithm", "mean_shift", "--params", `{"bandwidth":0.1,"seeds":[[100,100,100,100,100,100,100,100,100,100,100,100,100,100,100,100]]}`}, "bandwidth"},
		{"optics_xi", []string{"fit", "--input", blobs, "--algorithm", "optics", "--params", `{"xi":1.5}`}, "xi"},
		{"optics_eps", []string{"fit", "--input", blobs, "--algorithm", "optics", "--params", `{"cluster_method":"dbscan","eps":3,"max_eps":2}`}, "eps"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := clusterd(t, c.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr: %s", code, stderr)
			}
			if !strings.Contains(stderr, c.msg) {
				t.Errorf("stderr %q does not contain %q", stderr, c.msg)
			}
			// Progress lines may come first; the reason is the one last line.
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if last := lines[len(lines)-1]; !strings.Contains(last, c.msg) || !strings.HasPrefix(last, "clusterd") {
				t.Errorf("last line %q is not the reason", last)
			}
		})
	}
}

// TestFitNewAlgorithms: gaussian_mixture, spectral, mean_shift and optics
// run through clusterd fit and find the 8 blobs (mean shift the modes its
// estimated bandwidth merges, OPTICS the blobs with noise around them).
func TestFitNewAlgorithms(t *testing.T) {
	truth, _ := npy.ReadInt32File("../../engine/testdata/blobs.truth.npy")
	for _, c := range []struct {
		alg, params string
		minARI      float64
	}{
		{"gaussian_mixture", `{"n_components":8,"covariance_type":"diag"}`, 0.99},
		{"spectral", `{"n_clusters":8,"affinity":"nearest_neighbors"}`, 0.99},
		{"mean_shift", `{"bandwidth":8}`, 0.99},
		{"optics", `{"min_samples":20}`, 0.5},
	} {
		t.Run(c.alg, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "labels.npy")
			stdout, stderr, code := clusterd(t, "fit", "--input", blobs, "--algorithm", c.alg, "--params", c.params, "--labels-out", out, "--quiet")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if err := seedschema.Validate("ClusterExecutionResult", []byte(stdout)); err != nil {
				t.Fatalf("result does not match the seed's ClusterExecutionResult: %v", err)
			}
			labels, err := npy.ReadInt32File(out)
			if err != nil {
				t.Fatal(err)
			}
			if a := ari.Index(labels, truth); a < c.minARI {
				t.Errorf("ARI %.4f against the ground truth, want ≥ %.2f", a, c.minARI)
			}
		})
	}
}

func TestFitNaNRowNamed(t *testing.T) {
	dir := t.TempDir()
	x := []float32{0, 0, 1, 1, 2, 2, 3, float32(math.NaN()), 4, 4}
	p := filepath.Join(dir, "nan.npy")
	if err := npy.WriteFile(p, func(w io.Writer) error { return npy.WriteFloat32(w, x, 5, 2) }); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := clusterd(t, "fit", "--input", p, "--params", `{"n_clusters":2}`)
	if code != 2 || !strings.Contains(stderr, "row 3: NaN at feature 1") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestMetricsCommand(t *testing.T) {
	stdout, stderr, code := clusterd(t, "metrics", "--input", blobs, "--labels", "../../engine/testdata/blobs.truth.npy")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var s map[string]float64
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	// scikit-learn 1.2.1 on the same labels (engine/testdata/blobs.json).
	if v := s["silhouette"]; v < 0.67034 || v > 0.67036 {
		t.Errorf("silhouette %v", v)
	}
}

// TestTriggerFailureDefault: the configuration's default is the
// scheduler's.
func TestTriggerFailureDefault(t *testing.T) {
	if got := config.Defaults().TriggerMaxFailures; got != triggers.DefaultMaxFailures {
		t.Errorf("config default %d, triggers.DefaultMaxFailures %d", got, triggers.DefaultMaxFailures)
	}
}
