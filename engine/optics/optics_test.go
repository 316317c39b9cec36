package optics

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/engine/internal/reftest"
	"github.com/clusterd/clusterd/internal/ari"
	"github.com/clusterd/clusterd/kernels"
)

// reference cases written by engine/testdata/make_algos_reference.py
// (scikit-learn 1.2.1's OPTICS on the float64 conversion of the data).
type refCase struct {
	Name   string         `json:"name"`
	Data   string         `json:"data"`
	Params map[string]any `json:"params"`
}

func params(t *testing.T, m map[string]any) Params {
	p := DefaultParams()
	for k, v := range m {
		switch k {
		case "min_samples":
			p.MinSamples = int(v.(float64))
		case "max_eps":
			p.MaxEps = v.(float64)
		case "metric":
			p.Metric = v.(string)
		case "cluster_method":
			p.Method = v.(string)
		case "eps":
			p.Eps = v.(float64)
		case "xi":
			p.Xi = v.(float64)
		case "predecessor_correction":
			p.PredecessorCorrection = v.(bool)
		case "min_cluster_size":
			p.MinClusterSize = v.(float64)
		default:
			t.Fatalf("parameter %s", k)
		}
	}
	return p
}

// TestAgainstScikitLearn: the same ordering, core and reachability
// distances within 1e-5 (relative, with an absolute floor of 1e-12), and
// the same labels, for both extractions, the Euclidean (minkowski and
// euclidean) and cosine metrics (zero vectors included), max_eps, xi,
// min_cluster_size as a fraction and predecessor_correction off.
//
// That holds wherever scikit-learn computes exact distances: metric
// minkowski up to 15 dimensions (its k-d tree and SciPy's cdist). With
// metric "euclidean" or "cosine", or above 15 dimensions, scikit-learn
// measures core distances or reachabilities through BLAS products, whose
// last-bit rounding breaks the many exact ties of a reachability plot
// (every point within a core distance gets that distance) in an order no
// other implementation can reproduce: scikit-learn's own euclidean and
// minkowski runs of blobs8d_euclidean differ in ordering at position 6 and
// in reachability by up to 0.17. For those cases the test requires the
// core distances within 1e-5, at least 95% of the reachabilities within
// 1e-5 and an adjusted Rand index of the labels of at least 0.99.
func TestAgainstScikitLearn(t *testing.T) {
	raw, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct{ Cases []refCase }
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 10 {
		t.Fatalf("%d cases", len(ref.Cases))
	}
	be := cpu.New(cpu.Options{})
	for _, c := range ref.Cases {
		t.Run(c.Name, func(t *testing.T) {
			x, n, d := reftest.Matrix(t, filepath.Join("testdata", c.Data+".npy.gz"))
			ds, err := be.Upload(x, n, d)
			if err != nil {
				t.Fatal(err)
			}
			defer ds.Close()
			res, err := Fit(context.Background(), be, ds, x, params(t, c.Params))
			if err != nil {
				t.Fatal(err)
			}
			base := filepath.Join("testdata", c.Name)
			metric, _ := c.Params["metric"].(string)
			if (metric != "" && metric != "minkowski") || d > 15 {
				compareTies(t, res, base)
				return
			}
			if want := reftest.Int32s(t, base+".ordering.npy.gz"); !slices.Equal(res.Ordering, want) {
				t.Errorf("ordering differs at %d", firstDiff(res.Ordering, want))
			}
			for _, f := range []struct {
				name string
				got  []float64
			}{{"reachability", res.Reachability}, {"core", res.CoreDistances}} {
				want := floats(t, base+"."+f.name+".npy.gz")
				for i := range want {
					if !close(f.got[i], want[i]) {
						t.Errorf("%s[%d] = %v, scikit-learn's %v", f.name, i, f.got[i], want[i])
						break
					}
				}
			}
			if want := reftest.Int32s(t, base+".labels.npy.gz"); !slices.Equal(res.Labels, want) {
				t.Errorf("labels differ at %d", firstDiff(res.Labels, want))
			}
		})
	}
}

// compareTies is the comparison for the cases where scikit-learn's BLAS
// rounding orders the ties (see TestAgainstScikitLearn).
func compareTies(t *testing.T, res *Result, base string) {
	want := floats(t, base+".core.npy.gz")
	for i := range want {
		if !close(res.CoreDistances[i], want[i]) {
			t.Fatalf("core[%d] = %v, scikit-learn's %v", i, res.CoreDistances[i], want[i])
		}
	}
	want = floats(t, base+".reachability.npy.gz")
	bad := 0
	for i := range want {
		if !close(res.Reachability[i], want[i]) {
			bad++
		}
	}
	if bad*20 > len(want) {
		t.Errorf("%d of %d reachabilities differ", bad, len(want))
	}
	if a := ari.Index(res.Labels, reftest.Int32s(t, base+".labels.npy.gz")); a < 0.99 {
		t.Errorf("adjusted Rand index %.4f", a)
	}
}

func close(a, b float64) bool {
	if math.IsInf(a, 1) || math.IsInf(b, 1) {
		return a == b
	}
	return math.Abs(a-b) <= 1e-5*math.Abs(b)+1e-12
}

func firstDiff(a, b []int32) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func floats(t *testing.T, path string) []float64 { return reftest.Float64File(t, path) }

// TestParams: invalid parameters are refused.
func TestParams(t *testing.T) {
	be := cpu.New(cpu.Options{})
	x := []float32{0, 1, 2, 3, 4}
	ds, _ := be.Upload(x, 5, 1)
	for _, p := range []Params{
		{MinSamples: 6, MaxEps: math.Inf(1), Metric: Euclidean, Method: Xi, Xi: 0.05},
		{MinSamples: 2, MaxEps: 1, Metric: Euclidean, Method: DBSCAN, Eps: 2, Xi: 0.05},
		{MinSamples: 2, MaxEps: math.Inf(1), Metric: "manhattan", Method: Xi},
		{MinSamples: 2, MaxEps: math.Inf(1), Metric: Euclidean, Method: Xi, MinClusterSize: 6},
	} {
		if _, err := Fit(context.Background(), be, ds, x, p); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}

// plainBackend hides the CPU backend's kernels.SubsetAssigner, as a backend
// without it would be.
type plainBackend struct{ kernels.Backend }

// TestWithoutSubsetAssigner: the main loop's fallback through
// Backend.Distances gives the same ordering.
func TestWithoutSubsetAssigner(t *testing.T) {
	be := cpu.New(cpu.Options{})
	x, n, d := reftest.Matrix(t, filepath.Join("testdata", "noisy2d.npy.gz"))
	var out [2]*Result
	for i, b := range []kernels.Backend{be, plainBackend{be}} {
		ds, err := b.Upload(x, n, d)
		if err != nil {
			t.Fatal(err)
		}
		if out[i], err = Fit(context.Background(), b, ds, x, DefaultParams()); err != nil {
			t.Fatal(err)
		}
		ds.Close()
	}
	if !slices.Equal(out[0].Ordering, out[1].Ordering) || !slices.Equal(out[0].Labels, out[1].Labels) {
		t.Fatal("the Distances path orders differently")
	}
}
