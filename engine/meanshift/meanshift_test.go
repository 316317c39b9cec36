package meanshift

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
)

// TestAgainstScikitLearn: the same cluster centres (within 1e-4, relative
// to the bandwidth) in the same order and the same labels as scikit-learn
// 1.2.1's MeanShift (engine/testdata/make_algos_reference.py), with the
// bandwidth estimated (quantile 0.3) or given, bin seeding with
// min_bin_freq, cluster_all false and a max_iter that stops early, in 2, 6
// (k-d tree neighbourhoods) and 40 dimensions (backend distances).
func TestAgainstScikitLearn(t *testing.T) {
	raw, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Name      string         `json:"name"`
			Data      string         `json:"data"`
			Params    map[string]any `json:"params"`
			Bandwidth float64        `json:"bandwidth"`
			NIter     int            `json:"n_iter"`
		}
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 9 {
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
			p := DefaultParams()
			for k, v := range c.Params {
				switch k {
				case "bandwidth":
					p.Bandwidth = v.(float64)
				case "bin_seeding":
					p.BinSeeding = v.(bool)
				case "min_bin_freq":
					p.MinBinFreq = int(v.(float64))
				case "cluster_all":
					p.ClusterAll = v.(bool)
				case "max_iter":
					p.MaxIter = int(v.(float64))
				default:
					t.Fatalf("parameter %s", k)
				}
			}
			res, err := Fit(context.Background(), be, ds, x, p)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.Bandwidth-c.Bandwidth) > 1e-9*c.Bandwidth {
				t.Errorf("bandwidth %v, scikit-learn's %v", res.Bandwidth, c.Bandwidth)
			}
			base := filepath.Join("testdata", c.Name)
			want := reftest.Float64File(t, base+".centers.npy.gz")
			if len(res.Centers) != len(want) {
				t.Fatalf("%d centres, scikit-learn has %d", len(res.Centers)/d, len(want)/d)
			}
			for i := range want {
				if math.Abs(res.Centers[i]-want[i]) > 1e-4*c.Bandwidth {
					t.Fatalf("centre %d feature %d: %v, scikit-learn's %v", i/d, i%d, res.Centers[i], want[i])
				}
			}
			if wl := reftest.Int32s(t, base+".labels.npy.gz"); !slices.Equal(res.Labels, wl) {
				t.Error("labels differ")
			}
			if res.Iterations != c.NIter {
				t.Errorf("n_iter %d, scikit-learn's %d", res.Iterations, c.NIter)
			}
		})
	}
}

// TestNoCentre: seeds with no point within bandwidth are an error.
func TestNoCentre(t *testing.T) {
	be := cpu.New(cpu.Options{})
	x := []float32{0, 0, 1, 1}
	ds, _ := be.Upload(x, 2, 2)
	p := DefaultParams()
	p.Bandwidth, p.Seeds = 0.1, []float64{50, 50}
	if _, err := Fit(context.Background(), be, ds, x, p); err == nil {
		t.Fatal("no error")
	}
}
