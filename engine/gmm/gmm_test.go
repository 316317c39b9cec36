package gmm

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/clusterd/clusterd/engine/internal/reftest"
	"github.com/clusterd/clusterd/internal/ari"
)

// stripes is a Seeder for the cases whose initial parameters are all given
// (the k-means responsibilities are then replaced and only their shape
// matters).
type stripes struct{ n int }

func (s stripes) KMeansLabels(_ context.Context, k int, _ int64) ([]int32, error) {
	l := make([]int32, s.n)
	for i := range l {
		l[i] = int32(i % k)
	}
	return l, nil
}

func (s stripes) KMeansPlusPlus(_ context.Context, k int, _ int64) ([]int, error) {
	r := make([]int, k)
	for i := range r {
		r[i] = i
	}
	return r, nil
}

type refCase struct {
	Name       string         `json:"name"`
	Data       string         `json:"data"`
	Params     map[string]any `json:"params"`
	LowerBound float64        `json:"lower_bound"`
	NIter      int            `json:"n_iter"`
	Error      string         `json:"error"`
}

func cases(t *testing.T) []refCase {
	raw, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct{ Cases []refCase }
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	return ref.Cases
}

func flatten(v any) []float64 {
	switch x := v.(type) {
	case float64:
		return []float64{x}
	case []any:
		var out []float64
		for _, e := range x {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return nil
}

// TestGivenInitialParameters: from the same weights_init, means_init and
// precisions_init, EM reaches scikit-learn 1.2.1's weights, means,
// covariances and lower bound within 1e-4 relative, in the same number of
// iterations, for every covariance type, and predicts the same labels.
func TestGivenInitialParameters(t *testing.T) {
	checked := 0
	for _, c := range cases(t) {
		if c.Params["weights_init"] == nil {
			continue
		}
		checked++
		t.Run(c.Name, func(t *testing.T) {
			x, n, d := reftest.Matrix(t, filepath.Join("testdata", c.Data+".npy.gz"))
			p := DefaultParams()
			p.NComponents = int(c.Params["n_components"].(float64))
			p.CovType = c.Params["covariance_type"].(string)
			p.Tol, p.MaxIter = c.Params["tol"].(float64), int(c.Params["max_iter"].(float64))
			p.WeightsInit, p.MeansInit, p.PrecisionsInit = flatten(c.Params["weights_init"]), flatten(c.Params["means_init"]), flatten(c.Params["precisions_init"])
			res, err := Fit(context.Background(), x, n, d, p, stripes{n})
			if err != nil {
				t.Fatal(err)
			}
			m := res.Model
			base := filepath.Join("testdata", c.Name)
			for _, f := range []struct {
				name string
				got  []float64
			}{{"weights", m.Weights}, {"means", m.Means}, {"covariances", m.Covariances}} {
				want := reftest.Float64File(t, base+"."+f.name+".npy.gz")
				if len(want) != len(f.got) {
					t.Fatalf("%s: %d values, scikit-learn's %d", f.name, len(f.got), len(want))
				}
				scale := 0.0
				for _, v := range want {
					scale = max(scale, math.Abs(v))
				}
				for i := range want {
					if math.Abs(f.got[i]-want[i]) > 1e-4*max(math.Abs(want[i]), 1e-3*scale) {
						t.Fatalf("%s[%d] = %v, scikit-learn's %v", f.name, i, f.got[i], want[i])
					}
				}
			}
			if math.Abs(m.LowerBound-c.LowerBound) > 1e-4*math.Abs(c.LowerBound) {
				t.Errorf("lower bound %v, scikit-learn's %v", m.LowerBound, c.LowerBound)
			}
			if m.NIter != c.NIter {
				t.Errorf("%d iterations, scikit-learn's %d", m.NIter, c.NIter)
			}
			if want := reftest.Int32s(t, base+".labels.npy.gz"); !slices.Equal(res.Labels, want) {
				t.Errorf("labels differ (ARI %.4f)", ari.Index(res.Labels, want))
			}
		})
	}
	if checked != 8 {
		t.Errorf("%d cases with given initial parameters, want 8", checked)
	}
}

// TestSingularCovariance: collapsed components without regularisation are
// refused with scikit-learn's message, which suggests reg_covar.
func TestSingularCovariance(t *testing.T) {
	for _, c := range cases(t) {
		if c.Error == "" {
			continue
		}
		x, n, d := reftest.Matrix(t, filepath.Join("testdata", c.Data+".npy.gz"))
		p := DefaultParams()
		p.NComponents, p.RegCovar, p.Init = 3, 0, InitRandomFromData
		_, err := Fit(context.Background(), x, n, d, p, stripes{n})
		if !errors.Is(err, ErrSingular) {
			t.Fatalf("error %v, want ErrSingular", err)
		}
		if err.Error()+"." != c.Error {
			t.Errorf("message %q, scikit-learn's %q", err, c.Error)
		}
		return
	}
	t.Fatal("no collapsed case")
}
