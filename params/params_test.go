package params_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/clusterd/clusterd/params"
	"github.com/clusterd/clusterd/schema"
)

// differences lists, per algorithm and parameter, the defaults that differ
// from scikit-learn's on purpose and why; every other default must equal
// scikit-learn's (testdata/sklearn_defaults.json, written by
// make_defaults.py from Debian's python3-sklearn 1.2.1).
var differences = map[string]string{
	"*.random_state":          "Mixpeek's default is 42 (reproducible runs); scikit-learn's None draws a seed (null here does too)",
	"*.n_jobs":                "Mixpeek's default is 1; clusterd ignores it",
	"kmeans.n_init":           "scikit-learn 1.2's \"warn\" means 10 (checked below)",
	"minibatch_kmeans.n_init": "scikit-learn 1.2's \"warn\" means 3 (checked below)",
	"dbscan.p":                "scikit-learn's None means p = 2 for minkowski; Mixpeek's default is 2",
	"agglomerative.affinity":  "scikit-learn 1.2's \"deprecated\" means euclidean unless metric is set; Mixpeek's default is euclidean",
	"optics.max_eps":          "scikit-learn's inf is written null here (no bound)",
	"agglomerative.metric":    "scikit-learn's None means affinity's value; clusterd's metric has no default for the same reason",
	"spectral.eigen_tol":      "Mixpeek's default is 0.0; scikit-learn 1.2's \"auto\" means 0 for arpack",
}

func TestDefaultsAreScikitLearns(t *testing.T) {
	raw, err := os.ReadFile("testdata/sklearn_defaults.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, alg := range []string{params.KMeans, params.MiniBatchKMeans, params.DBSCAN, params.Agglomerative,
		params.GaussianMixture, params.Spectral, params.MeanShift, params.OPTICS} {
		var sk map[string]any
		dec := json.NewDecoder(bytes.NewReader(ref[alg]))
		dec.UseNumber()
		if err := dec.Decode(&sk); err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		m := params.For(alg)
		completed, ps := m.Decode(nil, nil)
		if len(ps) > 0 {
			t.Fatalf("%s: the defaults do not validate: %v", alg, ps)
		}
		ours := schema.AsValues(completed)
		for _, f := range m.Fields {
			skv, inSklearn := sk[f.Name]
			if !inSklearn || f.Extension {
				continue
			}
			if _, ok := differences[alg+"."+f.Name]; ok {
				continue
			}
			if _, ok := differences["*."+f.Name]; ok {
				continue
			}
			compared++
			if !schema.Equal(ours[f.Name], skv) {
				t.Errorf("%s.%s: default %v, scikit-learn's %v", alg, f.Name, ours[f.Name], skv)
			}
		}
	}
	if compared < 60 {
		t.Errorf("only %d defaults compared", compared)
	}
	if v := schema.AsValues(must(params.KMeansParams.Decode(nil, nil))); v.Int("n_init") != 10 {
		t.Errorf("kmeans n_init %v", v["n_init"])
	}
	if v := schema.AsValues(must(params.MiniBatchKMeansParams.Decode(nil, nil))); v.Int("n_init") != 3 {
		t.Errorf("minibatch n_init %v", v["n_init"])
	}
}

func must(v any, ps schema.Problems) any {
	if len(ps) > 0 {
		panic(ps)
	}
	return v
}

// TestModelsAcceptTheirDefaults: every accepted-without-effect parameter has a
// reason, and the models validate what generated clients send (every field
// at its default).
func TestModelsAcceptTheirDefaults(t *testing.T) {
	for _, m := range params.Models() {
		completed, ps := m.Decode(nil, nil)
		if len(ps) > 0 {
			t.Errorf("%s: %v", m.Name, ps)
			continue
		}
		b, _ := json.Marshal(completed)
		if _, ps := m.Decode(b, nil); len(ps) > 0 {
			t.Errorf("%s: every field sent at its default is refused: %v", m.Name, ps)
		}
		for _, f := range m.Fields {
			if f.NoOp != "" && len(f.NoOp) < 20 {
				t.Errorf("%s.%s: no-op reason %q says too little", m.Name, f.Name, f.NoOp)
			}
		}
	}
}
