package agglomerative

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/engine/internal/reftest"
	"github.com/clusterd/clusterd/internal/ari"
	"github.com/clusterd/clusterd/kernels"
)

type refCase struct {
	Data              string   `json:"data"`
	Linkage           string   `json:"linkage"`
	Metric            string   `json:"metric"`
	NClusters         *int     `json:"n_clusters"`
	DistanceThreshold *float64 `json:"distance_threshold"`
	Found             int      `json:"n_clusters_"`
}

func upload(t testing.TB, x []float32, n, d int) (kernels.Backend, kernels.Dataset) {
	t.Helper()
	be := cpu.New(cpu.Options{})
	ds, err := be.Upload(x, n, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return be, ds
}

// TestMatchesScikitLearn compares labels with scikit-learn 1.2.1's
// AgglomerativeClustering on the cases of testdata/make_reference.py: every
// linkage on blobs, on integer points with duplicates and on the digits
// (many equal distances), single linkage on moons, the cosine metric, and
// cuts by distance_threshold (one of them exactly at merge distances).
// Labels must be identical, numbering included.
func TestMatchesScikitLearn(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases map[string]refCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c := cases[name]
		t.Run(name, func(t *testing.T) {
			x, n, d := reftest.Matrix(t, filepath.Join("testdata", c.Data+".npy.gz"))
			want := reftest.Int32s(t, filepath.Join("testdata", name+".labels.npy.gz"))
			be, ds := upload(t, x, n, d)
			p := Params{Linkage: c.Linkage, Metric: c.Metric, DistanceThreshold: c.DistanceThreshold}
			if c.NClusters != nil {
				p.NClusters = *c.NClusters
			}
			res, err := Fit(context.Background(), be, ds, x, p)
			if err != nil {
				t.Fatal(err)
			}
			if res.NumClusters != c.Found {
				t.Errorf("%d clusters, scikit-learn %d", res.NumClusters, c.Found)
			}
			if !slices.Equal(res.Labels, want) {
				t.Errorf("labels differ from scikit-learn's (ARI %.6f)", ari.Index(res.Labels, want))
			}
		})
	}
}

func TestValidate(t *testing.T) {
	thr := 1.0
	neg := -1.0
	for _, c := range []struct {
		p   Params
		msg string
	}{
		{Params{NClusters: 2, DistanceThreshold: &thr, Linkage: Ward, Metric: Euclidean}, "both set"},
		{Params{Linkage: Ward, Metric: Euclidean}, "neither"},
		{Params{DistanceThreshold: &neg, Linkage: Ward, Metric: Euclidean}, "distance_threshold -1"},
		{Params{NClusters: 2, Linkage: "median", Metric: Euclidean}, `linkage "median"`},
		{Params{NClusters: 2, Linkage: Ward, Metric: Cosine}, "ward linkage needs the euclidean metric"},
		{Params{NClusters: 2, Linkage: Average, Metric: "l1"}, `metric "l1"`},
	} {
		err := c.p.Validate()
		if !errors.Is(err, ErrParams) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%+v: error %v, want ErrParams with %q", c.p, err, c.msg)
		}
	}
}

func TestLimitsAndZeroVectors(t *testing.T) {
	x := make([]float32, (MaxPoints+1)*1)
	for i := range x {
		x[i] = float32(i)
	}
	be, ds := upload(t, x, MaxPoints+1, 1)
	if _, err := Fit(context.Background(), be, ds, x, Params{NClusters: 2, Linkage: Average, Metric: Euclidean}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error %v, want ErrTooLarge", err)
	}
	// A zero vector is at cosine distance 1 from every point (scikit-learn's
	// cosine_distances): A, B (nearly parallel) and C (at 0.9 from B) merge
	// first, the zero vector Z last.
	z := []float32{1, 0, 1, 0.1, 0, 0, 0, 1}
	be, ds = upload(t, z, 4, 2)
	res, err := Fit(context.Background(), be, ds, z, Params{NClusters: 2, Linkage: Average, Metric: Cosine})
	if err != nil {
		t.Fatal(err)
	}
	if l := res.Labels; l[0] != l[1] || l[1] != l[3] || l[2] == l[0] {
		t.Fatalf("labels %v, want the zero vector (row 2) alone", l)
	}
	z = z[:6]
	be, ds = upload(t, z, 3, 2)
	if _, err := Fit(context.Background(), be, ds, z, Params{NClusters: 4, Linkage: Average, Metric: Euclidean}); !errors.Is(err, ErrParams) {
		t.Fatalf("error %v, want ErrParams for 4 clusters of 3 points", err)
	}
}
